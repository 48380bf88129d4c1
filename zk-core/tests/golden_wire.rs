//! Golden frames: every frame that the official Java and C clients and Apache ZooKeeper 3.8.0
//! exchanged in a tour of all operations (reconnect included) decodes into the right record and
//! re-encodes byte for byte.
//!
//! The files are copies of `shared/wire/*.txt`: one frame body per line, `C>S` or `S>C`, a
//! `## connection N` line before each new TCP connection.

use std::collections::{BTreeMap, HashMap};

use zk_core::jute::{Decode, Encode, Reader};
use zk_core::message::{Request, Response};
use zk_core::proto::{ConnectRequest, ConnectResponse, ReplyHeader, RequestHeader, WatcherEvent};
use zk_core::{ErrorCode, OpCode, WatchedEvent};

#[derive(Default, Debug)]
struct Tally {
    requests: BTreeMap<i32, usize>,
    replies_ok: BTreeMap<i32, usize>,
    replies_err: BTreeMap<i32, usize>,
    notifications: usize,
    connects: usize,
}

fn check_file(text: &str) -> Tally {
    let mut tally = Tally::default();
    let mut pending: HashMap<i32, OpCode> = HashMap::new();
    let mut fresh_c = false;
    let mut fresh_s = false;
    for (lineno, line) in text.lines().enumerate() {
        let lineno = lineno + 1;
        if line.starts_with("## connection") {
            fresh_c = true;
            fresh_s = true;
            pending.clear();
            continue;
        }
        let Some((dir, hex)) = line.split_once(' ') else {
            continue;
        };
        if dir != "C>S" && dir != "S>C" {
            continue;
        }
        let frame = hex::decode(hex).unwrap_or_else(|e| panic!("line {lineno}: bad hex: {e}"));
        let mut r = Reader::new(&frame);
        let mut re = Vec::new();
        if dir == "C>S" {
            if std::mem::take(&mut fresh_c) {
                let req = ConnectRequest::decode(&mut r).expect("ConnectRequest");
                assert!(
                    req.read_only.is_some(),
                    "line {lineno}: the Java/C clients send readOnly"
                );
                req.encode(&mut re);
                tally.connects += 1;
            } else {
                let h = RequestHeader::decode(&mut r).expect("RequestHeader");
                let req = Request::decode(h.op_type, &mut r)
                    .unwrap_or_else(|e| panic!("line {lineno}: op {}: {e}", h.op_type));
                assert_eq!(req.op_code().as_i32(), h.op_type, "line {lineno}");
                pending.insert(h.xid, req.op_code());
                *tally.requests.entry(h.op_type).or_default() += 1;
                h.encode(&mut re);
                req.encode(&mut re);
            }
        } else if std::mem::take(&mut fresh_s) {
            let resp = ConnectResponse::decode(&mut r).expect("ConnectResponse");
            assert!(resp.timeout_ms > 0, "line {lineno}");
            resp.encode(&mut re);
        } else {
            let h = ReplyHeader::decode(&mut r).expect("ReplyHeader");
            h.encode(&mut re);
            match h.xid {
                -1 => {
                    let ev = WatcherEvent::decode(&mut r).expect("WatcherEvent");
                    let typed = WatchedEvent::try_from(ev.clone()).expect("known event");
                    assert_eq!(typed.state, zk_core::KeeperState::SyncConnected);
                    assert_eq!(h.zxid.0, -1, "3.8 notifications carry zxid -1");
                    ev.encode(&mut re);
                    tally.notifications += 1;
                }
                -2 => {}
                xid => {
                    let op = pending
                        .remove(&xid)
                        .unwrap_or_else(|| panic!("line {lineno}: reply to unknown xid {xid}"));
                    let err = ErrorCode::from_i32(h.err);
                    assert!(
                        !matches!(err, ErrorCode::Unknown(_)),
                        "line {lineno}: {err}"
                    );
                    if err.is_ok() {
                        let resp = Response::decode(op, &mut r)
                            .unwrap_or_else(|e| panic!("line {lineno}: {op:?}: {e}"));
                        resp.encode(&mut re);
                        *tally.replies_ok.entry(op.as_i32()).or_default() += 1;
                    } else {
                        *tally.replies_err.entry(op.as_i32()).or_default() += 1;
                    }
                }
            }
        }
        assert!(
            r.is_empty(),
            "line {lineno}: {} bytes left over",
            r.remaining()
        );
        assert_eq!(re, frame, "line {lineno}: re-encoding differs");
    }
    tally
}

#[test]
fn java_client_tour_round_trips() {
    let t = check_file(include_str!("golden/zookeeper-3.8-java-client-tour.txt"));
    // Every op code of the tour was seen and answered.
    for op in [
        OpCode::Create,
        OpCode::Create2,
        OpCode::CreateContainer,
        OpCode::CreateTtl,
        OpCode::Exists,
        OpCode::GetData,
        OpCode::GetChildren,
        OpCode::GetChildren2,
        OpCode::SetData,
        OpCode::GetAcl,
        OpCode::SetAcl,
        OpCode::Auth,
        OpCode::WhoAmI,
        OpCode::Sync,
        OpCode::Multi,
        OpCode::MultiRead,
        OpCode::GetEphemerals,
        OpCode::GetAllChildrenNumber,
        OpCode::AddWatch,
        // The 3.8 Java client's removeWatches step goes out as checkWatches first.
        OpCode::CheckWatches,
        OpCode::SetWatches2,
        OpCode::Delete,
        OpCode::CloseSession,
    ] {
        assert!(
            t.requests.contains_key(&op.as_i32()),
            "no {op:?} request in {t:?}"
        );
    }
    assert_eq!(t.connects, 2, "the tour reconnects once");
    assert!(t.notifications >= 5, "{t:?}");
    assert!(t.replies_err.contains_key(&OpCode::Create.as_i32()));
    assert!(t.replies_ok.contains_key(&OpCode::Multi.as_i32()));
}

#[test]
fn c_client_cli_round_trips() {
    let t = check_file(include_str!("golden/zookeeper-3.8-c-client-cli_mt.txt"));
    assert!(t.requests.contains_key(&OpCode::Create.as_i32()));
    assert!(t.requests.contains_key(&OpCode::CloseSession.as_i32()));
    assert_eq!(t.connects, 1);
}
