//! Property tests of the quorum and election records: everything round-trips through its
//! encoding; the streaming decoders give the same items however the bytes are cut, and need
//! every byte of an item before giving it; arbitrary bytes never make a decoder panic.

use bytes::Bytes;
use proptest::prelude::*;
use zk_core::data::{Acl, Id, StatPersisted};
use zk_core::jute::{Decode, Encode};
use zk_core::quorum::*;
use zk_core::{SessionId, Zxid};

fn s() -> impl Strategy<Value = String> {
    "[/a-z0-9é_.:-]{0,12}"
}
fn bytes(max: usize) -> impl Strategy<Value = Bytes> {
    proptest::collection::vec(any::<u8>(), 0..max).prop_map(Bytes::from)
}
fn id() -> impl Strategy<Value = Id> {
    (s(), s()).prop_map(|(scheme, id)| Id { scheme, id })
}
fn packet() -> impl Strategy<Value = QuorumPacket> {
    (
        prop_oneof![1..=19i32, any::<i32>()],
        any::<i64>(),
        proptest::option::of(bytes(64)),
        proptest::option::of(proptest::collection::vec(id(), 0..3)),
    )
        .prop_map(|(packet_type, zxid, data, authinfo)| QuorumPacket {
            packet_type,
            zxid: Zxid(zxid),
            data,
            authinfo,
        })
}
fn stat() -> impl Strategy<Value = StatPersisted> {
    (any::<[i64; 6]>(), any::<[i32; 3]>()).prop_map(|(l, i)| StatPersisted {
        czxid: Zxid(l[0]),
        mzxid: Zxid(l[1]),
        ctime: l[2],
        mtime: l[3],
        version: i[0],
        cversion: i[1],
        aversion: i[2],
        ephemeral_owner: l[4],
        pzxid: Zxid(l[5]),
    })
}
type Node = (String, Option<Bytes>, i64, StatPersisted);
/// Sessions, ACL map and nodes of a SNAP stream.
type Snapshot = (Vec<(SessionId, i32)>, Vec<(i64, Vec<Acl>)>, Vec<Node>);
fn snapshot() -> impl Strategy<Value = Snapshot> {
    let acl = (any::<i32>(), id()).prop_map(|(perms, id)| Acl { perms, id });
    let node_path = "(/[a-z0-9]{1,4}){1,3}";
    (
        proptest::collection::vec((any::<i64>(), any::<i32>()), 0..4)
            .prop_map(|v| v.into_iter().map(|(a, b)| (SessionId(a), b)).collect()),
        proptest::collection::vec((any::<i64>(), proptest::collection::vec(acl, 0..3)), 0..3),
        proptest::collection::vec(
            (
                node_path,
                proptest::option::of(bytes(16)),
                any::<i64>(),
                stat(),
            ),
            0..5,
        ),
    )
}
/// Cut points for feeding a stream: sizes of 1..=max.
fn cuts() -> impl Strategy<Value = Vec<usize>> {
    proptest::collection::vec(1..40usize, 1..20)
}

/// Feeds `bytes` in pieces of the sizes in `cuts` (cycled), draining items as they come.
fn feed<T>(
    bytes: &[u8],
    cuts: &[usize],
    mut next: impl FnMut(&[u8]) -> Option<(usize, T)>,
) -> Vec<T> {
    let mut buf = Vec::new();
    let mut out = Vec::new();
    let mut at = 0;
    for n in cuts.iter().cycle() {
        if at == bytes.len() {
            break;
        }
        let n = (*n).min(bytes.len() - at);
        buf.extend_from_slice(&bytes[at..at + n]);
        at += n;
        while let Some((used, item)) = next(&buf) {
            buf.drain(..used);
            out.push(item);
        }
    }
    assert!(buf.is_empty());
    out
}

proptest! {
    #[test]
    fn packets_round_trip_and_stream(ps in proptest::collection::vec(packet(), 1..5), cuts in cuts()) {
        let mut wire = Vec::new();
        for p in &ps {
            let one = p.to_bytes();
            prop_assert_eq!(&QuorumPacket::from_bytes(&one).unwrap(), p);
            let reader = QuorumPacketReader::default();
            prop_assert_eq!(reader.next_packet(&one[..one.len() - 1]).unwrap(), None);
            wire.extend_from_slice(&one);
        }
        let reader = QuorumPacketReader::default();
        let got = feed(&wire, &cuts, |b| reader.next_packet(b).unwrap());
        prop_assert_eq!(got, ps);
    }

    #[test]
    fn snap_streams_round_trip((sessions, acls, nodes) in snapshot(), cuts in cuts()) {
        let mut w = SnapWriter::new();
        w.sessions(sessions.iter().copied());
        w.acl_map(acls.iter().map(|(i, a)| (*i, a.as_slice())));
        for (path, data, acl, stat) in &nodes {
            w.node(path, data.as_deref(), *acl, stat);
        }
        w.end();
        let wire = w.into_bytes();
        let mut r = SnapReader::default();
        let items = feed(&wire, &cuts, |b| r.next_item(b).unwrap());
        prop_assert!(r.is_done());
        let mut want: Vec<SnapItem> = sessions
            .iter()
            .map(|(session_id, timeout_ms)| SnapItem::Session { session_id: *session_id, timeout_ms: *timeout_ms })
            .collect();
        want.extend(acls.iter().map(|(index, acl)| SnapItem::AclEntry { index: *index, acl: acl.clone() }));
        want.extend(nodes.iter().map(|(path, data, acl, stat)| SnapItem::Node {
            path: path.clone(), data: data.clone(), acl: *acl, stat: stat.clone(),
        }));
        want.push(SnapItem::End);
        prop_assert_eq!(items, want);
    }

    #[test]
    fn notifications_round_trip(
        state in 0..4i32,
        longs in any::<[i64; 4]>(),
        config in bytes(300),
    ) {
        let n = Notification {
            state: ServerState::from_i32(state).unwrap(),
            leader: longs[0],
            zxid: Zxid(longs[1]),
            election_epoch: longs[2],
            peer_epoch: longs[3],
            version: Notification::CURRENT_VERSION,
            config,
        };
        let wire = n.to_bytes();
        prop_assert_eq!(wire.len(), 44 + n.config.len());
        prop_assert_eq!(Notification::decode(&wire).unwrap(), n.clone());
        let mut framed = Vec::new();
        write_election_frame(&mut framed, &wire);
        let (used, payload) = next_election_frame(&framed).unwrap().unwrap();
        prop_assert_eq!((used, payload), (framed.len(), &wire[..]));
    }

    #[test]
    fn initial_messages_round_trip(
        sid in any::<i64>(),
        v2 in any::<bool>(),
        hosts in proptest::collection::vec(("[a-z0-9.]{1,20}", any::<u16>()), 1..4),
    ) {
        let addresses: Vec<String> = hosts.iter().map(|(h, p)| format!("{h}:{p}")).collect();
        let protocol = if v2 { ElectionProtocol::V2 } else { ElectionProtocol::V1 };
        let m = InitialMessage { protocol, sid, addresses };
        let wire = m.to_bytes();
        for cut in 0..wire.len() {
            prop_assert_eq!(InitialMessage::parse(&wire[..cut]).unwrap(), None);
        }
        prop_assert_eq!(InitialMessage::parse(&wire).unwrap(), Some((wire.len(), m)));
        let old = InitialMessage { protocol: ElectionProtocol::Pre35, sid: sid & i64::MAX, addresses: Vec::new() };
        prop_assert_eq!(InitialMessage::parse(&old.to_bytes()).unwrap(), Some((8, old)));
    }

    #[test]
    fn payloads_round_trip(l in any::<[i64; 3]>(), i in any::<[i32; 3]>(), valid in any::<bool>(), body in bytes(40)) {
        let info = LearnerInfo { server_id: l[0], protocol_version: i[0], config_version: l[1] };
        prop_assert_eq!(LearnerInfo::decode_lenient(&info.to_bytes()), info);
        let li = LeaderInfo { protocol_version: i[1] };
        prop_assert_eq!(LeaderInfo::decode(&li.to_bytes()).unwrap(), li);
        let ae = AckEpoch { current_epoch: i[2] };
        prop_assert_eq!(AckEpoch::decode(&ae.to_bytes()).unwrap(), ae);
        let rq = RevalidateRequest { session_id: SessionId(l[2]), timeout_ms: i[0] };
        prop_assert_eq!(RevalidateRequest::decode(&rq.to_bytes()).unwrap(), rq);
        let rp = RevalidateReply { session_id: SessionId(l[2]), valid };
        prop_assert_eq!(RevalidateReply::decode(&rp.to_bytes()).unwrap(), rp);
        let touches = PingTouches { touches: vec![(SessionId(l[0]), i[0]), (SessionId(l[1]), i[1])] };
        prop_assert_eq!(PingTouches::decode(&touches.to_bytes()).unwrap(), touches);
        let fr = ForwardedRequest { session_id: SessionId(l[0]), cxid: i[0], op_type: i[1], body };
        prop_assert_eq!(ForwardedRequest::decode(&fr.to_bytes()).unwrap(), fr);
        let ca = CommitAndActivate { designated_leader: l[2] };
        prop_assert_eq!(CommitAndActivate::decode(&ca.to_bytes()).unwrap(), ca);
    }

    #[test]
    fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..300)) {
        let _ = QuorumPacketReader::new(64).next_packet(&data);
        let _ = QuorumPacket::from_bytes(&data);
        let mut stream = QuorumStream::new(128);
        let mut at = 0;
        while let Ok(Some((used, _))) = stream.next_item(&data[at..]) {
            at += used;
        }
        let mut snap = SnapReader::new(128);
        let mut at = 0;
        while let Ok(Some((used, _))) = snap.next_item(&data[at..]) {
            at += used;
        }
        let _ = Notification::decode(&data);
        let _ = InitialMessage::parse(&data);
        let _ = next_election_frame(&data);
        let _ = LearnerInfo::decode_lenient(&data);
        let _ = PingTouches::decode(&data);
        let _ = InformAndActivate::decode(&data);
    }
}
