//! Checks of single records: each decodes with zk-core's types into the fields its line and
//! comment state, and re-encodes byte for byte.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use zk_core::data::Id;
use zk_core::jute::{Decode, Encode, Reader};
use zk_core::message::Request;
use zk_core::quorum::*;
use zk_core::txn::{TxnBody, TxnEntry};

use super::lines::{comment_field, list, num, paren_num, Record};

/// What was checked, counted.
#[derive(Debug, Default)]
pub(crate) struct Tally {
    /// Record lines by kind and name (`E init`, `Q PROPOSAL`, `Q SNAP.node`, `C req`, ...).
    pub(crate) lines: BTreeMap<String, usize>,
    /// Txn entries decoded from PROPOSAL and INFORM data.
    pub(crate) entries: usize,
    /// Of them, error txns (type -1), which carry no digest.
    pub(crate) error_txns: usize,
    /// Header types of the entries, and types inside multis.
    pub(crate) txn_types: BTreeSet<i32>,
    pub(crate) multi_op_types: BTreeSet<i32>,
    /// INFORMs whose data equals the PROPOSAL of the same zxid.
    pub(crate) informs_matched: usize,
    /// REQUEST bodies decoded as client request records.
    pub(crate) request_records: usize,
    /// PING replies that carried touches.
    pub(crate) touch_replies: usize,
    /// SNAP streams decoded, and their items.
    pub(crate) snaps: usize,
    pub(crate) snap_items: usize,
    /// Per-direction streams read in random chunks, and the items they gave.
    pub(crate) quorum_streams: usize,
    pub(crate) quorum_stream_items: usize,
    pub(crate) election_streams: usize,
    pub(crate) election_stream_items: usize,
}

impl Tally {
    pub(crate) fn line(&mut self, r: &Record) {
        *self
            .lines
            .entry(format!("{} {}", r.kind, r.name))
            .or_default() += 1;
    }
}

/// `-65536(V1)` -> -65536; `-103(BADVERSION)` -> -103.
fn lead_num(v: &str) -> i64 {
    num(v.split('(').next().unwrap_or(v))
}

pub(crate) fn check_init(r: &Record) {
    let (used, msg) = InitialMessage::parse(&r.bytes)
        .unwrap_or_else(|e| panic!("{}: {e}", r.at))
        .unwrap_or_else(|| panic!("{}: incomplete", r.at));
    assert_eq!(used, r.bytes.len(), "{}", r.at);
    assert_eq!(lead_num(&r.need("protocolVersion")), PROTOCOL_VERSION_V1);
    assert_eq!(msg.protocol, ElectionProtocol::V1, "{}", r.at);
    assert_eq!(msg.sid, num(&r.need("sid")), "{}", r.at);
    assert_eq!(msg.sid, r.src_sid(), "{}: the initiator's own sid", r.at);
    assert_eq!(msg.addresses, [r.need("electionAddr")], "{}", r.at);
    assert_eq!(msg.to_bytes(), r.bytes, "{}: re-encoded", r.at);
}

pub(crate) fn check_notif(r: &Record) -> Notification {
    let n = Notification::decode(&r.bytes).unwrap_or_else(|e| panic!("{}: {e}", r.at));
    assert_eq!(n.state.name(), r.need("state"), "{}", r.at);
    assert_eq!(n.leader, num(&r.need("leader")), "{}", r.at);
    assert_eq!(n.zxid.0, num(&r.need("zxid")), "{}", r.at);
    assert_eq!(n.election_epoch, num(&r.need("electionEpoch")), "{}", r.at);
    assert_eq!(n.peer_epoch, num(&r.need("peerEpoch")), "{}", r.at);
    assert_eq!(i64::from(n.version), num(&r.need("version")), "{}", r.at);
    assert_eq!(n.config_text(), r.need("config"), "{}", r.at);
    assert_eq!(r.bytes.len(), Notification::HEADER_LEN + n.config.len());
    assert_eq!(n.to_bytes(), r.bytes, "{}: re-encoded", r.at);
    n
}

/// A quorum packet line (not a SNAP part). `proposals` maps zxid -> PROPOSAL data of the file.
pub(crate) fn check_packet(r: &Record, t: &mut Tally, proposals: &mut HashMap<i64, Vec<u8>>) {
    let p = QuorumPacket::from_bytes(&r.bytes).unwrap_or_else(|e| panic!("{}: {e}", r.at));
    let kind = p.kind().unwrap_or_else(|| panic!("{}: unknown type", r.at));
    assert_eq!(kind.name(), r.name, "{}", r.at);
    assert_eq!(p.zxid.0, num(r.key("zxid")), "{}", r.at);
    assert_eq!(p.to_bytes(), r.bytes, "{}: re-encoded", r.at);
    check_authinfo(r, &p);
    let data = p.data_bytes();
    match kind {
        PacketType::Proposal | PacketType::Inform => {
            check_entry(r, &p, t);
            if kind == PacketType::Proposal {
                proposals.insert(p.zxid.0, data.to_vec());
            } else if let Some(prop) = proposals.get(&p.zxid.0) {
                assert_eq!(prop, data, "{}: INFORM = PROPOSAL bytes", r.at);
                t.informs_matched += 1;
            }
        }
        PacketType::Request => check_request(r, &p, t),
        PacketType::FollowerInfo | PacketType::ObserverInfo => {
            assert_eq!(data.len(), LearnerInfo::LEN, "{}", r.at);
            let info = LearnerInfo::decode_lenient(data);
            assert_eq!(info.server_id, r.src_sid(), "{}", r.at);
            assert_eq!(info.server_id, num(&r.need("serverid")), "{}", r.at);
            assert_eq!(
                i64::from(info.protocol_version),
                num(&r.need("protocolVersion"))
            );
            assert_eq!(info.protocol_version, LearnerInfo::PROTOCOL_VERSION);
            assert_eq!(
                info.config_version,
                num(&r.need("configVersion")),
                "{}",
                r.at
            );
            assert_eq!(info.to_bytes(), data, "{}", r.at);
        }
        PacketType::LeaderInfo => {
            let li = LeaderInfo::decode(data).unwrap();
            assert_eq!(
                li.protocol_version,
                LeaderInfo::PROTOCOL_VERSION,
                "{}",
                r.at
            );
            assert_eq!(
                i64::from(li.protocol_version),
                num(&r.need("protocolVersion"))
            );
            assert_eq!(p.zxid.counter(), 0, "{}: newEpoch << 32", r.at);
            assert_eq!(li.to_bytes(), data, "{}", r.at);
        }
        PacketType::AckEpoch => {
            let ae = AckEpoch::decode(data).unwrap();
            assert_eq!(
                i64::from(ae.current_epoch),
                num(&r.need("currentEpoch")),
                "{}",
                r.at
            );
            assert_eq!(ae.to_bytes(), data, "{}", r.at);
        }
        PacketType::NewLeader => {
            assert_eq!(String::from_utf8_lossy(data), r.need("config"), "{}", r.at);
            assert_eq!(p.zxid.counter(), 0, "{}: newEpoch << 32", r.at);
        }
        PacketType::Revalidate => check_revalidate(r, &p),
        PacketType::Ping => check_ping(r, &p, t),
        _ => {
            assert_eq!(p.data, None, "{}", r.at);
            assert_eq!(r.need("data"), "null", "{}", r.at);
        }
    }
}

fn check_authinfo(r: &Record, p: &QuorumPacket) {
    let want = r.need("authinfo");
    if want == "null" {
        assert_eq!(p.authinfo, None, "{}", r.at);
        return;
    }
    let ids: Vec<Id> = list(&want)
        .iter()
        .map(|s| {
            let (scheme, id) = s.split_once(':').unwrap();
            Id::new(scheme, id)
        })
        .collect();
    assert_eq!(p.authinfo.as_deref(), Some(&ids[..]), "{}", r.at);
}

fn check_entry(r: &Record, p: &QuorumPacket, t: &mut Tally) {
    let data = p.data_bytes();
    let e = TxnEntry::decode(data).unwrap_or_else(|err| panic!("{}: txn entry: {err}", r.at));
    assert_eq!(e.to_bytes(), data, "{}: entry re-encoded", r.at);
    let h = &e.header;
    assert_eq!(h.zxid, p.zxid, "{}", r.at);
    assert_eq!(h.client_id.0, num(&r.need("session")), "{}", r.at);
    assert_eq!(i64::from(h.cxid), num(&r.need("cxid")), "{}", r.at);
    assert_eq!(h.time, num(&r.need("time")), "{}", r.at);
    assert_eq!(
        i64::from(h.txn_type),
        paren_num(&r.need("type")),
        "{}",
        r.at
    );
    let body = e
        .body()
        .unwrap_or_else(|err| panic!("{}: txn body: {err}", r.at));
    assert_eq!(body.to_bytes(), &e.record[..], "{}: body re-encoded", r.at);
    t.entries += 1;
    t.txn_types.insert(h.txn_type);
    match &body {
        TxnBody::Error(err) => {
            assert_eq!(i64::from(err.err), lead_num(&r.need("err")), "{}", r.at);
            t.error_txns += 1;
        }
        TxnBody::Multi(ops) => t.multi_op_types.extend(ops.iter().map(|(ty, _)| *ty)),
        _ => {}
    }
    // The digest is on every txn but an error txn (QUORUM.md §3.3).
    assert_eq!(
        e.digest.is_some(),
        h.txn_type != -1,
        "{}: digest presence",
        r.at
    );
    match (&e.digest, r.comment.split_once("digest{")) {
        (Some(d), Some((_, rest))) => {
            assert_eq!(
                i64::from(d.version),
                num(&comment_field(rest, "version").unwrap())
            );
            assert_eq!(
                d.tree_digest,
                num(&comment_field(rest, "treeDigest").unwrap())
            );
        }
        (None, None) => {}
        (d, c) => panic!("{}: digest {d:?} but comment {c:?}", r.at),
    }
}

fn check_request(r: &Record, p: &QuorumPacket, t: &mut Tally) {
    let data = p.data_bytes();
    let f = ForwardedRequest::decode(data).unwrap();
    assert_eq!(f.to_bytes(), data, "{}", r.at);
    assert_eq!(p.zxid.0, -1, "{}", r.at);
    assert_eq!(f.session_id.0, num(&r.need("session")), "{}", r.at);
    assert_eq!(i64::from(f.cxid), num(&r.need("cxid")), "{}", r.at);
    assert_eq!(i64::from(f.op_type), paren_num(&r.need("type")), "{}", r.at);
    match f.op_type {
        -10 => {
            let timeout = Reader::new(&f.body).read_i32().unwrap();
            assert_eq!(f.body.len(), 4, "{}", r.at);
            assert_eq!(i64::from(timeout), num(&r.need("timeout")), "{}", r.at);
            assert_eq!(p.authinfo, None, "{}: createSession has no authinfo", r.at);
        }
        -11 => assert!(f.body.is_empty(), "{}", r.at),
        op => {
            let mut rd = Reader::new(&f.body);
            let req = Request::decode(op, &mut rd).unwrap_or_else(|e| panic!("{}: {e}", r.at));
            rd.finish().unwrap();
            assert_eq!(req.op_code().as_i32(), op, "{}", r.at);
            assert_eq!(req.to_bytes(), &f.body[..], "{}: request re-encoded", r.at);
            t.request_records += 1;
        }
    }
}

fn check_revalidate(r: &Record, p: &QuorumPacket) {
    let data = p.data_bytes();
    assert_eq!(p.zxid.0, -1, "{}", r.at);
    if r.field("timeout").is_some() {
        let q = RevalidateRequest::decode(data).unwrap();
        assert_eq!(data.len(), 12, "{}", r.at);
        assert_eq!(q.session_id.0, num(&r.need("session")), "{}", r.at);
        assert_eq!(i64::from(q.timeout_ms), num(&r.need("timeout")), "{}", r.at);
        assert_eq!(q.to_bytes(), data, "{}", r.at);
    } else {
        let a = RevalidateReply::decode(data).unwrap();
        assert_eq!(data.len(), 9, "{}", r.at);
        assert_eq!(a.session_id.0, num(&r.need("session")), "{}", r.at);
        assert_eq!(a.valid, r.need("valid") == "1", "{}", r.at);
        assert_eq!(a.to_bytes(), data, "{}", r.at);
    }
}

fn check_ping(r: &Record, p: &QuorumPacket, t: &mut Tally) {
    let Some(data) = &p.data else {
        assert_eq!(r.need("data"), "null", "{}: the leader's PING", r.at);
        return;
    };
    let touches = PingTouches::decode(data).unwrap();
    assert_eq!(touches.to_bytes(), &data[..], "{}", r.at);
    if r.field("data").as_deref() == Some("empty") {
        assert!(data.is_empty(), "{}: an empty buffer, not null", r.at);
        return;
    }
    let want: Vec<(i64, i64)> = list(&r.need("touches"))
        .iter()
        .map(|s| {
            let (id, to) = s.split_once(':').unwrap();
            (num(id), num(to))
        })
        .collect();
    let got: Vec<(i64, i64)> = touches
        .touches
        .iter()
        .map(|(id, to)| (id.0, i64::from(*to)))
        .collect();
    assert_eq!(got, want, "{}", r.at);
    t.touch_replies += 1;
}
