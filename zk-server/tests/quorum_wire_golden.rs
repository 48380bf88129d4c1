//! Golden test of zk-server's quorum wire layer (`zk_server::quorum::wire`) over every record
//! that real Apache ZooKeeper 3.8.0 servers exchanged (the captures under
//! `zk-core/tests/golden/quorum`, copies of `shared/quorum/apache-3.8-quorum-*.txt`).
//!
//! * Every quorum packet goes through [`from_packet`], read from the side that sent it, and
//!   back through [`to_packet`]: the bytes must be the captured ones. The one deliberate
//!   difference: zk-server sends no `TxnDigest` (Apache's receiver reads an entry without one
//!   as "no digest"), so a PROPOSAL or INFORM that carried one must come back as the same
//!   bytes without its last 12, and decode to the same transaction.
//! * Each captured SNAP stream builds a tree with [`SnapBuilder`] holding exactly the captured
//!   sessions and nodes; [`snap_stream`] of that tree parses back into an equal tree (the
//!   order of children and the ACL ids may differ, so trees are compared, not bytes).
//! * Every election notification goes through [`notification_in`] and [`notification_out`]
//!   byte for byte; every initial message through zk-core's `InitialMessage` as the election
//!   driver writes it.

#[allow(dead_code)]
#[path = "../../zk-core/tests/golden_quorum/lines.rs"]
mod lines;

use std::collections::BTreeMap;

use lines::{parse_file, Record};
use zk_core::jute::{Decode, Encode};
use zk_core::quorum::{
    InitialMessage, Notification as WireNotification, QuorumPacket, SnapItem, SnapReader,
};
use zk_core::txn::TxnEntry;
use zk_core::{Acl, SessionId};
use zk_server::core::DataTree;
use zk_server::quorum::wire::{
    from_packet, notification_in, notification_out, snap_stream, to_packet, Side, SnapBuilder,
};
use zk_server::quorum::zab::Zab;
use zk_server::quorum::ToSend;

const DIR: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../zk-core/tests/golden/quorum"
);

/// What the checks covered, asserted at the end so a parser that skips lines fails.
#[derive(Default, Debug)]
struct Tally {
    /// Quorum packets by name.
    packets: BTreeMap<String, usize>,
    /// Of those, PROPOSAL/INFORM whose digest zk-server does not send.
    digest_dropped: usize,
    /// Notifications and initial messages.
    notifications: usize,
    inits: usize,
    /// SNAP streams, and the nodes in them.
    snaps: usize,
    snap_nodes: usize,
}

/// The initiator and acceptor of each `## conn N: KIND I>A ...` header: on the quorum port
/// the learner initiates and the leader accepts.
fn conn_ends(text: &str) -> BTreeMap<usize, (String, String)> {
    let mut out = BTreeMap::new();
    for line in text.lines() {
        let Some(rest) = line.strip_prefix("## conn ") else {
            continue;
        };
        let (n, rest) = rest.split_once(':').expect("conn header");
        let ends = rest.split_whitespace().nth(1).expect("I>A");
        let (i, a) = ends.split_once('>').expect("I>A");
        out.insert(n.trim().parse().expect("conn number"), (i.into(), a.into()));
    }
    out
}

fn check_packet(r: &Record, side: Side, t: &mut Tally) {
    let p = QuorumPacket::from_bytes(&r.bytes).unwrap_or_else(|e| panic!("{}: {e}", r.at));
    let m = from_packet(p.clone(), side).unwrap_or_else(|e| panic!("{}: {e}", r.at));
    assert_eq!(m.name(), r.name, "{}: decoded as another type", r.at);
    let back = to_packet(&m, side);
    let want = match &m {
        Zab::Proposal(txn) | Zab::Inform(txn) => {
            let entry = TxnEntry::decode(p.data_bytes()).expect("txn entry");
            // Decoded again, the transaction is the same.
            let again = from_packet(back.clone(), side).expect("re-decode");
            match again {
                Zab::Proposal(t2) | Zab::Inform(t2) => assert_eq!(&t2, txn, "{}", r.at),
                other => panic!("{}: came back as {}", r.at, other.name()),
            }
            if entry.digest.is_some() {
                t.digest_dropped += 1;
                let data = p.data_bytes();
                let mut p2 = p.clone();
                p2.data = Some(bytes::Bytes::copy_from_slice(&data[..data.len() - 12]));
                p2
            } else {
                p
            }
        }
        _ => p,
    };
    assert_eq!(
        hex::encode(back.to_bytes()),
        hex::encode(want.to_bytes()),
        "{}: {} re-encoded",
        r.at,
        r.name
    );
    *t.packets.entry(r.name.clone()).or_default() += 1;
}

fn check_notification(r: &Record, t: &mut Tally) {
    let n = WireNotification::decode(&r.bytes).unwrap_or_else(|e| panic!("{}: {e}", r.at));
    let from = r.src_sid();
    let got = notification_in(from, n);
    assert_eq!(got.from, from);
    let to = r.dst.parse().expect("dst sid");
    let send = ToSend {
        to,
        state: got.state,
        leader: got.leader,
        zxid: got.zxid,
        election_epoch: got.election_epoch,
        peer_epoch: got.peer_epoch,
        config: got.config.clone().expect("a version-2 config").into(),
    };
    assert_eq!(
        hex::encode(notification_out(&send).to_bytes()),
        hex::encode(&r.bytes),
        "{}: notification re-encoded",
        r.at
    );
    t.notifications += 1;
}

fn check_init(r: &Record, t: &mut Tally) {
    let (used, m) = InitialMessage::parse(&r.bytes)
        .unwrap_or_else(|e| panic!("{}: {e}", r.at))
        .expect("whole");
    assert_eq!(used, r.bytes.len(), "{}", r.at);
    assert_eq!(m.sid, r.src_sid(), "{}", r.at);
    let [addr] = &m.addresses[..] else {
        panic!("{}: one address expected", r.at)
    };
    // What `election_net` writes for this member.
    let ours = InitialMessage::v1(m.sid, addr.clone()).to_bytes();
    assert_eq!(ours, r.bytes, "{}: initial message", r.at);
    t.inits += 1;
}

/// The tree of one SNAP stream (its parts' bytes concatenated) and the items it holds.
fn build(bytes: &[u8], at: &str) -> (DataTree, Vec<SnapItem>) {
    let mut reader = SnapReader::default();
    let mut builder = SnapBuilder::new();
    let mut items = Vec::new();
    let mut pos = 0;
    loop {
        let (used, item) = reader
            .next_item(&bytes[pos..])
            .unwrap_or_else(|e| panic!("{at}: {e}"))
            .unwrap_or_else(|| panic!("{at}: stream ends early"));
        pos += used;
        items.push(item.clone());
        if builder.add(item).unwrap_or_else(|e| panic!("{at}: {e}")) {
            break;
        }
    }
    assert_eq!(pos, bytes.len(), "{at}: bytes after the signature");
    (builder.finish(), items)
}

/// Every node of `a` is in `b` with the same data, ACL list, stat and children, and the
/// sessions are the same; and the other way round (by count).
fn assert_same_tree(a: &DataTree, b: &DataTree, at: &str) {
    assert_eq!(a.node_count(), b.node_count(), "{at}: node count");
    assert_eq!(a.sessions(), b.sessions(), "{at}: sessions");
    for (path, n) in a.iter() {
        let m = b
            .node(path)
            .unwrap_or_else(|| panic!("{at}: {path} missing"));
        assert_eq!(n.data, m.data, "{at}: data of {path}");
        assert_eq!(&n.acl[..], &m.acl[..], "{at}: ACL of {path}");
        assert_eq!(n.stat, m.stat, "{at}: stat of {path}");
        let mut c1 = n.children();
        let mut c2 = m.children();
        c1.sort();
        c2.sort();
        assert_eq!(c1, c2, "{at}: children of {path}");
    }
}

fn check_snap(parts: &[&Record], t: &mut Tally) {
    let at = &parts[0].at;
    let bytes: Vec<u8> = parts.iter().flat_map(|r| r.bytes.iter().copied()).collect();
    let (tree, items) = build(&bytes, at);

    // The tree holds exactly the captured sessions and nodes.
    let mut acl_map: BTreeMap<i64, Vec<Acl>> = BTreeMap::new();
    let mut sessions: BTreeMap<SessionId, i32> = BTreeMap::new();
    let mut nodes = 0;
    for item in &items {
        match item {
            SnapItem::Session {
                session_id,
                timeout_ms,
            } => {
                sessions.insert(*session_id, *timeout_ms);
            }
            SnapItem::AclEntry { index, acl } => {
                acl_map.insert(*index, acl.clone());
            }
            SnapItem::Node {
                path,
                data,
                acl,
                stat,
            } => {
                nodes += 1;
                let p = if path.is_empty() { "/" } else { path.as_str() };
                let n = tree
                    .node(p)
                    .unwrap_or_else(|| panic!("{at}: {p} not in the tree"));
                assert_eq!(&n.data, data, "{at}: data of {p}");
                assert_eq!(&n.stat, stat, "{at}: stat of {p}");
                let want = if *acl == -1 {
                    Acl::open_unsafe()
                } else {
                    acl_map[acl].clone()
                };
                assert_eq!(&n.acl[..], &want[..], "{at}: ACL of {p}");
            }
            SnapItem::End => {}
        }
    }
    assert_eq!(tree.node_count(), nodes, "{at}: nodes");
    assert_eq!(tree.sessions(), &sessions, "{at}: sessions");

    // zk-server's own stream of that tree, in pieces, parses back to the same tree.
    let mut ours = Vec::new();
    snap_stream(&tree, 1000, |chunk| {
        ours.extend_from_slice(&chunk);
        true
    });
    let (again, _) = build(&ours, at);
    assert_same_tree(&tree, &again, at);
    assert_same_tree(&again, &tree, at);
    t.snaps += 1;
    t.snap_nodes += nodes;
}

fn check_file(name: &str, t: &mut Tally) {
    let text = std::fs::read_to_string(format!("{DIR}/{name}")).expect("golden file");
    let ends = conn_ends(&text);
    let records = parse_file(name, &text);
    // Each direction in order, so a SNAP's parts follow their packet.
    let mut directions: BTreeMap<(usize, String), Vec<&Record>> = BTreeMap::new();
    for r in records.iter().filter(|r| r.kind != 'C') {
        directions
            .entry((r.conn, r.src.clone()))
            .or_default()
            .push(r);
    }
    for ((conn, src), recs) in directions {
        let (_, acceptor) = &ends[&conn];
        let side = if &src == acceptor {
            Side::FromLeader
        } else {
            Side::FromLearner
        };
        let mut i = 0;
        while i < recs.len() {
            let r = recs[i];
            match (r.kind, r.name.as_str()) {
                ('E', "init") => check_init(r, t),
                ('E', "notif") => check_notification(r, t),
                ('E', other) => panic!("{}: unknown election record {other}", r.at),
                ('Q', n) if n.starts_with("SNAP.") => panic!("{}: stray SNAP part", r.at),
                ('Q', _) => {
                    check_packet(r, side, t);
                    if r.name == "SNAP" {
                        let start = i + 1;
                        let mut end = start;
                        while end < recs.len() && recs[end].name.starts_with("SNAP.") {
                            end += 1;
                        }
                        check_snap(&recs[start..end], t);
                        i = end;
                        continue;
                    }
                }
                _ => unreachable!(),
            }
            i += 1;
        }
    }
}

#[test]
fn wire_layer_over_the_apache_captures() {
    let mut names: Vec<String> = std::fs::read_dir(DIR)
        .expect("golden dir")
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("apache-3.8-quorum-") && n.ends_with(".txt"))
        .collect();
    names.sort();
    assert_eq!(names.len(), 9, "{names:?}");
    let mut t = Tally::default();
    for name in &names {
        check_file(name, &mut t);
    }
    // The record counts of the captures (their README, and zk-core's golden test).
    let want: BTreeMap<String, usize> = [
        ("ACK", 220),
        ("ACKEPOCH", 9),
        ("COMMIT", 202),
        ("DIFF", 6),
        ("FOLLOWERINFO", 8),
        ("INFORM", 17),
        ("LEADERINFO", 9),
        ("NEWLEADER", 9),
        ("OBSERVERINFO", 1),
        ("PING", 102),
        ("PROPOSAL", 202),
        ("REQUEST", 35),
        ("REVALIDATE", 4),
        ("SNAP", 2),
        ("SYNC", 2),
        ("TRUNC", 1),
        ("UPTODATE", 9),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    assert_eq!(t.packets, want);
    // Every PROPOSAL and INFORM but the 5 error txns carried a digest.
    assert_eq!(t.digest_dropped, 202 + 17 - 5);
    assert_eq!((t.inits, t.notifications), (22, 63));
    assert_eq!((t.snaps, t.snap_nodes), (2, 130));
}
