//! Checks across records: each SNAP's parts decoded as one stream and re-encoded, and every
//! connection direction's bytes read back in random chunks, as a socket delivers them.

use zk_core::ids::SessionId;
use zk_core::jute::Encode;
use zk_core::quorum::*;

use super::checks::Tally;
use super::lines::{comment_field, feed, key_path, list, num, Record, Rng};

/// The parts of one SNAP stream (`SNAP.sessions` .. `SNAP.signature`), in order.
pub(crate) fn check_snap(parts: &[&Record], rng: &mut Rng, t: &mut Tally) {
    let at = &parts[0].at;
    let names: Vec<&str> = parts.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names.first(), Some(&"SNAP.sessions"), "{at}");
    assert_eq!(
        names[names.len() - 2..],
        ["SNAP.end", "SNAP.signature"],
        "{at}"
    );
    let bytes: Vec<u8> = parts.iter().flat_map(|r| r.bytes.iter().copied()).collect();
    let mut reader = SnapReader::default();
    let items = feed(&bytes, rng, 97, |buf| reader.next_item(buf).unwrap());
    assert!(reader.is_done(), "{at}");
    assert_eq!(items.last(), Some(&SnapItem::End), "{at}");

    // The items against the parts' keys and comments.
    let sessions: Vec<(SessionId, i32)> = items
        .iter()
        .filter_map(|i| match i {
            SnapItem::Session {
                session_id,
                timeout_ms,
            } => Some((*session_id, *timeout_ms)),
            _ => None,
        })
        .collect();
    let acls: Vec<(i64, &[zk_core::Acl])> = items
        .iter()
        .filter_map(|i| match i {
            SnapItem::AclEntry { index, acl } => Some((*index, acl.as_slice())),
            _ => None,
        })
        .collect();
    let nodes: Vec<&SnapItem> = items
        .iter()
        .filter(|i| matches!(i, SnapItem::Node { .. }))
        .collect();
    let head = parts[0];
    assert_eq!(sessions.len() as i64, num(head.key("count")), "{at}");
    let listed: Vec<(i64, i64)> = list(&head.need("sessions"))
        .iter()
        .map(|s| s.split_once(':').map(|(a, b)| (num(a), num(b))).unwrap())
        .collect();
    let decoded: Vec<(i64, i64)> = sessions
        .iter()
        .map(|(s, to)| (s.0, i64::from(*to)))
        .collect();
    assert_eq!(decoded, listed, "{at}");
    let acl_parts: Vec<&&Record> = parts.iter().filter(|r| r.name == "SNAP.acl").collect();
    let map = parts
        .iter()
        .find(|r| r.name == "SNAP.aclmap")
        .expect("SNAP.aclmap");
    assert_eq!(acls.len() as i64, num(map.key("count")), "{at}");
    assert_eq!(acls.len(), acl_parts.len(), "{at}");
    for ((index, acl), part) in acls.iter().zip(&acl_parts) {
        assert_eq!(*index, num(part.key("index")), "{}", part.at);
        let text: Vec<String> = acl
            .iter()
            .map(|a| format!("{}:{}:{}", a.id.scheme, a.id.id, a.perms))
            .collect();
        assert_eq!(text, list(&part.need("acl")), "{}", part.at);
    }
    let node_parts: Vec<&&Record> = parts.iter().filter(|r| r.name == "SNAP.node").collect();
    assert_eq!(nodes.len(), node_parts.len(), "{at}");
    for (item, part) in nodes.iter().zip(&node_parts) {
        let SnapItem::Node {
            path,
            data,
            acl,
            stat,
        } = item
        else {
            unreachable!()
        };
        assert_eq!(*path, key_path(part.key("path")), "{}", part.at);
        let shown = part.need("data");
        match data {
            None => assert_eq!(shown, "null", "{}", part.at),
            Some(d) => assert_eq!(String::from_utf8_lossy(d), shown, "{}", part.at),
        }
        assert_eq!(*acl, num(&part.need("acl")), "{}", part.at);
        let st = part.comment.split_once("stat{").expect("stat{").1;
        let f = |k: &str| num(&comment_field(st, k).unwrap_or_else(|| panic!("stat {k}")));
        assert_eq!(stat.czxid.0, f("czxid"), "{}", part.at);
        assert_eq!(stat.mzxid.0, f("mzxid"), "{}", part.at);
        assert_eq!(stat.mtime, f("mtime"), "{}", part.at);
        assert_eq!(i64::from(stat.cversion), f("cversion"), "{}", part.at);
        assert_eq!(i64::from(stat.aversion), f("aversion"), "{}", part.at);
        assert_eq!(stat.ephemeral_owner, f("ephemeralOwner"), "{}", part.at);
        assert_eq!(stat.pzxid.0, f("pzxid"), "{}", part.at);
    }
    assert_eq!(
        parts[parts.len() - 1].need("signature"),
        SNAP_SIGNATURE,
        "{at}"
    );

    // Re-encoded from the items, byte for byte.
    let mut w = SnapWriter::new();
    w.sessions(sessions.iter().copied());
    w.acl_map(acls.iter().copied());
    for n in &nodes {
        if let SnapItem::Node {
            path,
            data,
            acl,
            stat,
        } = n
        {
            w.node(path, data.as_deref(), *acl, stat);
        }
    }
    w.end();
    assert_eq!(w.into_bytes(), bytes, "{at}: SNAP re-encoded");
    t.snaps += 1;
    t.snap_items += items.len();
}

/// How many SNAP items a part yields.
fn snap_items_of(r: &Record) -> usize {
    match r.name.as_str() {
        "SNAP.sessions" => num(r.key("count")) as usize,
        "SNAP.aclmap" | "SNAP.end" => 0,
        "SNAP.acl" | "SNAP.node" | "SNAP.signature" => 1,
        other => panic!("{}: not a SNAP part: {other}", r.at),
    }
}

/// One direction of a quorum connection: its records' bytes concatenated, read back through
/// [`QuorumStream`] in random chunks, give the same packets and snapshot items.
pub(crate) fn check_quorum_direction(records: &[&Record], rng: &mut Rng, t: &mut Tally) {
    let bytes: Vec<u8> = records
        .iter()
        .flat_map(|r| r.bytes.iter().copied())
        .collect();
    let mut stream = QuorumStream::default();
    let items = feed(&bytes, rng, 61, |buf| stream.next_item(buf).unwrap());
    assert!(!stream.in_snapshot(), "{}", records[0].at);
    let mut it = items.iter();
    for r in records {
        if r.name.starts_with("SNAP.") {
            for _ in 0..snap_items_of(r) {
                let item = it
                    .next()
                    .unwrap_or_else(|| panic!("{}: missing item", r.at));
                assert!(matches!(item, QuorumItem::Snap(_)), "{}: {item:?}", r.at);
            }
        } else {
            match it.next() {
                Some(QuorumItem::Packet(p)) => assert_eq!(p.to_bytes(), r.bytes, "{}", r.at),
                other => panic!("{}: expected a packet, got {other:?}", r.at),
            }
        }
    }
    assert!(it.next().is_none(), "{}: extra items", records[0].at);
    t.quorum_streams += 1;
    t.quorum_stream_items += items.len();
}

/// One direction of an election connection: the initial message (if this direction starts
/// with it) and the notifications as length-prefixed frames, read back in random chunks.
pub(crate) fn check_election_direction(records: &[&Record], rng: &mut Rng, t: &mut Tally) {
    let mut bytes = Vec::new();
    for r in records {
        match r.name.as_str() {
            "init" => bytes.extend_from_slice(&r.bytes),
            "notif" => write_election_frame(&mut bytes, &r.bytes),
            other => panic!("{}: {other} on the election port", r.at),
        }
    }
    let mut want_init = records[0].name == "init";
    assert!(
        records[1..].iter().all(|r| r.name == "notif"),
        "{}: an initial message only comes first",
        records[0].at
    );
    let items = feed(&bytes, rng, 53, |buf| {
        if want_init {
            let (used, m) = InitialMessage::parse(buf).unwrap()?;
            want_init = false;
            Some((used, m.to_bytes()))
        } else {
            let (used, payload) = next_election_frame(buf).unwrap()?;
            Some((used, payload.to_vec()))
        }
    });
    assert_eq!(items.len(), records.len(), "{}", records[0].at);
    for (got, r) in items.iter().zip(records) {
        assert_eq!(got, &r.bytes, "{}", r.at);
    }
    t.election_streams += 1;
    t.election_stream_items += items.len();
}
