//! The session state machine driven with scripted frames, some taken from
//! `shared/wire/zookeeper-3.8-java-client-tour.txt` (Apache ZooKeeper 3.8 answering the Java
//! client).

use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot};
use zk_core::frame::FrameReader;
use zk_core::jute::Encode;
use zk_core::message::{Request, Response};
use zk_core::proto::*;
use zk_core::{ErrorCode, EventType, OpCode, SessionId, Zxid};

use super::*;
use crate::error::Error;
use crate::state::SessionState;

/// The tour's ConnectResponse: session 0x100000e89350000, timeout 6000 ms, readOnly byte.
const TOUR_CONNECT_RESPONSE: &str =
    "00000000000017700100000e893500000000001001ef0887fada098547a467d2d304cf4c00";

fn config() -> SessionConfig {
    SessionConfig {
        session_timeout: Duration::from_millis(6000),
        read_only: false,
        chroot: None,
        request_timeout: None,
    }
}

fn session(now: Instant) -> Session {
    Session::new(
        config(),
        HostList::new(vec![("h1".into(), 1), ("h2".into(), 2)], 7),
        now,
    )
}

/// Splits the output into frame payloads.
fn frames(bytes: &[u8]) -> Vec<Vec<u8>> {
    let r = FrameReader::default();
    let mut out = Vec::new();
    let mut at = 0;
    while let Some((used, p)) = r.next_frame(&bytes[at..]).unwrap() {
        out.push(p.to_vec());
        at += used;
    }
    assert_eq!(at, bytes.len(), "output is whole frames");
    out
}

/// (xid, op code) of each request frame in the output.
fn requests(bytes: &[u8]) -> Vec<(i32, i32)> {
    frames(bytes)
        .iter()
        .map(|f| {
            let h = RequestHeader::from_bytes(&f[..8]).unwrap();
            (h.xid, h.op_type)
        })
        .collect()
}

fn reply(xid: i32, zxid: i64, err: i32, body: &[u8]) -> Vec<u8> {
    let mut f = ReplyHeader {
        xid,
        zxid: Zxid(zxid),
        err,
    }
    .to_bytes();
    f.extend_from_slice(body);
    f
}

fn connected(now: Instant) -> Session {
    let mut s = session(now);
    let _ = s.poll_connect(now, 0.0);
    s.handle_connected(now);
    s.take_transmit();
    let resp = hex::decode(TOUR_CONNECT_RESPONSE).unwrap();
    assert_eq!(s.handle_frame(now, &resp), Next::Continue);
    s
}

fn get_data(s: &mut Session, now: Instant, path: &str) -> oneshot::Receiver<Result<Reply, Error>> {
    let (tx, rx) = oneshot::channel();
    let req = Request::GetData(GetDataRequest {
        path: path.into(),
        watch: false,
    });
    s.submit(now, &req, tx, Hook::None);
    rx
}

#[test]
fn handshake_writes_connect_request_and_accepts_the_tour_response() {
    let now = Instant::now();
    let mut s = session(now);
    let ConnectAction::Connect { timeout, .. } = s.poll_connect(now, 0.0) else {
        panic!("a new session connects");
    };
    assert_eq!(timeout, Duration::from_millis(3000), "T / #hosts");
    s.handle_connected(now);
    let out = frames(&s.take_transmit());
    // Same bytes as the tour's first C>S frame except the timeout (6000 ms there too).
    assert_eq!(
        hex::encode(&out[0]),
        "000000000000000000000000000017700000000000000000000000100000000000000000000000000000000000"
    );
    let mut states = s.subscribe();
    let resp = hex::decode(TOUR_CONNECT_RESPONSE).unwrap();
    assert_eq!(s.handle_frame(now, &resp), Next::Continue);
    assert_eq!(s.session_id(), SessionId(0x0100000e89350000));
    assert_eq!(s.negotiated_timeout(), Duration::from_secs(6));
    assert_eq!(s.state(), SessionState::Connected);
    assert_eq!(
        states.rx_try(),
        [SessionState::Disconnected, SessionState::Connected]
    );
}

#[test]
fn connect_response_without_read_only_byte_is_accepted() {
    let now = Instant::now();
    let mut s = session(now);
    s.handle_connected(now);
    let resp = hex::decode(&TOUR_CONNECT_RESPONSE[..TOUR_CONNECT_RESPONSE.len() - 2]).unwrap();
    assert_eq!(s.handle_frame(now, &resp), Next::Continue);
    assert_eq!(s.state(), SessionState::Connected);
}

#[test]
fn requests_wait_for_the_handshake_and_keep_call_order() {
    let now = Instant::now();
    let mut s = session(now);
    let _a = get_data(&mut s, now, "/a");
    let _b = get_data(&mut s, now, "/b");
    s.handle_connected(now);
    assert_eq!(
        frames(&s.take_transmit()).len(),
        1,
        "only the ConnectRequest"
    );
    let resp = hex::decode(TOUR_CONNECT_RESPONSE).unwrap();
    let _ = s.handle_frame(now, &resp);
    let _c = get_data(&mut s, now, "/c");
    assert_eq!(requests(&s.take_transmit()), [(1, 4), (2, 4), (3, 4)]);
}

#[test]
fn replies_match_fifo_and_special_xids_do_not() {
    let now = Instant::now();
    let mut s = connected(now);
    let mut a = get_data(&mut s, now, "/tour");
    let mut b = get_data(&mut s, now, "/missing");
    s.take_transmit();
    // A ping reply and a notification (3.8: zxid -1) in between change nothing in the FIFO
    // and do not move last_zxid.
    let _ = s.handle_frame(now, &reply(-2, 0x40, 0, &[]));
    let note =
        hex::decode("ffffffffffffffffffffffff000000000000000300000003000000052f746f7572").unwrap();
    let _ = s.handle_frame(now, &note);
    assert_eq!(s.last_zxid(), Zxid(0));
    // The tour's getdata_watch reply (xid 0x1a there; 1 here).
    let mut body = hex::decode("00000004726f6f7400000000000000020000000000000002000001a20109c47d000001a20109c47d000000000000000600000000000000000000000000000004000000060000000000000008").unwrap();
    let mut frame = reply(1, 0xb, 0, &[]);
    frame.append(&mut body);
    assert_eq!(s.handle_frame(now, &frame), Next::Continue);
    let Reply { zxid, body } = a.try_recv().unwrap().unwrap();
    assert_eq!(zxid, Zxid(0xb));
    let Response::GetData(r) = body else {
        panic!("a getData body")
    };
    assert_eq!(r.data.as_deref(), Some(&b"root"[..]));
    assert_eq!(s.last_zxid(), Zxid(0xb));
    let _ = s.handle_frame(now, &reply(2, 0xc, ErrorCode::NoNode.as_i32(), &[]));
    assert_eq!(b.try_recv().unwrap(), Err(Error::NoNode));
    assert_eq!(s.last_zxid(), Zxid(0xc));
}

#[test]
fn out_of_order_xid_drops_the_connection_and_fails_in_flight_requests() {
    let now = Instant::now();
    let mut s = connected(now);
    let mut a = get_data(&mut s, now, "/a");
    s.take_transmit();
    assert_eq!(s.handle_frame(now, &reply(9, 1, 0, &[])), Next::Disconnect);
    s.handle_disconnected(now);
    assert_eq!(a.try_recv().unwrap(), Err(Error::ConnectionLoss));
    assert_eq!(s.state(), SessionState::Disconnected);
}

#[test]
fn reconnect_resumes_the_session_replays_auth_then_rearms_then_sends_queued() {
    let now = Instant::now();
    let mut s = connected(now);
    let (atx, _arx) = oneshot::channel();
    s.add_auth(now, "digest".into(), b"alice:secret".to_vec(), atx);
    let _ = s.handle_frame(now, &reply(-4, 0, 0, &[]));
    // A data watch on /tour, armed by its reply at zxid 0x13.
    let (etx, mut erx) = oneshot::channel();
    let id = s.add_watcher("/tour".into(), WatchKind::Data, Sink::Oneshot(etx));
    let (tx, _rx) = oneshot::channel();
    let req = Request::GetData(GetDataRequest {
        path: "/tour".into(),
        watch: true,
    });
    s.submit(
        now,
        &req,
        tx,
        Hook::Register {
            id,
            path: "/tour".into(),
            kind: WatchKind::Data,
            exists: false,
        },
    );
    let mut body = Vec::new();
    GetDataResponse::default().encode(&mut body);
    let _ = s.handle_frame(now, &reply(1, 0x13, 0, &body));
    let in_flight = get_data(&mut s, now, "/lost");
    s.take_transmit();
    s.handle_disconnected(now);
    let queued = get_data(&mut s, now, "/queued");
    assert!(
        s.transmit_is_empty(),
        "nothing is written while disconnected"
    );
    drop(in_flight);
    // Reconnect: same session id and password, last zxid 0x13.
    let ConnectAction::Connect { .. } = s.poll_connect(now, 0.0) else {
        panic!("reconnects")
    };
    s.handle_connected(now);
    let out = frames(&s.take_transmit());
    let req = ConnectRequest::from_bytes(&out[0]).unwrap();
    assert_eq!(req.session_id, SessionId(0x0100000e89350000));
    assert_eq!(req.last_zxid_seen, Zxid(0x13));
    assert_eq!(req.passwd.len(), 16);
    let resp = hex::decode(TOUR_CONNECT_RESPONSE).unwrap();
    let _ = s.handle_frame(now, &resp);
    let sent = requests(&s.take_transmit());
    assert_eq!(
        sent,
        [(-4, 100), (4, OpCode::SetWatches.as_i32()), (3, 4)],
        "auth, then SetWatches, then the queued request (its xid was taken at call time)"
    );
    // The SetWatches reply is consumed internally; then the queued one's.
    let _ = s.handle_frame(now, &reply(4, 0x14, 0, &[]));
    let _ = s.handle_frame(now, &reply(3, 0x14, ErrorCode::NoNode.as_i32(), &[]));
    let mut queued = queued;
    assert_eq!(queued.try_recv().unwrap(), Err(Error::NoNode));
    // An immediate NodeDataChanged from SetWatches reaches the watch.
    let note = reply(
        -1,
        -1,
        0,
        &WatcherEvent {
            event_type: 3,
            state: 3,
            path: "/tour".into(),
        }
        .to_bytes(),
    );
    let _ = s.handle_frame(now, &note);
    assert_eq!(
        erx.try_recv().unwrap().unwrap().event_type,
        EventType::NodeDataChanged
    );
}

#[test]
fn server_reported_expiry_is_terminal_and_reported_once() {
    let now = Instant::now();
    let mut s = connected(now);
    let mut states = s.subscribe();
    let mut queued = get_data(&mut s, now, "/x");
    s.take_transmit();
    s.handle_disconnected(now);
    let mut later = get_data(&mut s, now, "/y");
    s.handle_connected(now);
    let expired = ConnectResponse {
        passwd: bytes::Bytes::from_static(&[0; 16]),
        read_only: Some(false),
        ..Default::default()
    };
    assert_eq!(s.handle_frame(now, &expired.to_bytes()), Next::Disconnect);
    s.handle_disconnected(now);
    assert_eq!(queued.try_recv().unwrap(), Err(Error::ConnectionLoss));
    assert_eq!(later.try_recv().unwrap(), Err(Error::SessionExpired));
    assert_eq!(s.poll_connect(now, 0.0), ConnectAction::Stop);
    let mut after = get_data(&mut s, now, "/z");
    assert_eq!(after.try_recv().unwrap(), Err(Error::SessionExpired));
    assert_eq!(
        states.rx_try(),
        [
            SessionState::Connected,
            SessionState::Disconnected,
            SessionState::Expired
        ]
    );
}

#[test]
fn pings_read_timeout_and_client_side_expiry() {
    let t0 = Instant::now();
    let mut s = connected(t0);
    // Negotiated 6 s: read timeout 4 s, ping after 2 s idle.
    assert_eq!(s.poll_timeout(), Some(t0 + Duration::from_secs(2)));
    let t1 = t0 + Duration::from_secs(2);
    assert_eq!(s.handle_timeout(t1), Next::Continue);
    assert_eq!(requests(&s.take_transmit()), [(-2, 11)]);
    let t2 = t0 + Duration::from_secs(4);
    assert_eq!(
        s.handle_timeout(t2),
        Next::Disconnect,
        "nothing received for 2/3 T"
    );
    s.handle_disconnected(t2);
    assert_eq!(s.state(), SessionState::Disconnected);
    // Attempts are bounded by the time left before expiry.
    let ConnectAction::Connect { timeout, .. } =
        s.poll_connect(t0 + Duration::from_millis(5500), 0.0)
    else {
        panic!("still connecting")
    };
    assert_eq!(timeout, Duration::from_millis(500));
    assert_eq!(s.poll_timeout(), Some(t0 + Duration::from_secs(6)));
    assert_eq!(
        s.handle_timeout(t0 + Duration::from_secs(6)),
        Next::Disconnect
    );
    assert_eq!(s.state(), SessionState::Expired);
}

#[test]
fn auth_failure_ends_the_client() {
    let now = Instant::now();
    let mut s = connected(now);
    let (tx, mut rx) = oneshot::channel();
    s.add_auth(now, "digest".into(), b"bad".to_vec(), tx);
    let mut pending = get_data(&mut s, now, "/a");
    assert_eq!(
        requests(&s.take_transmit()),
        [(-4, 100), (1, 4)],
        "auth goes out at once, with xid -4"
    );
    assert_eq!(
        s.handle_frame(now, &reply(-4, 0, ErrorCode::AuthFailed.as_i32(), &[])),
        Next::Disconnect
    );
    assert_eq!(rx.try_recv().unwrap(), Err(Error::AuthFailed));
    assert_eq!(pending.try_recv().unwrap(), Err(Error::AuthFailed));
    assert_eq!(s.state(), SessionState::AuthFailed);
}

#[test]
fn dropping_the_last_watch_sends_remove_watches() {
    let now = Instant::now();
    let mut s = connected(now);
    let (etx, _erx) = mpsc::unbounded_channel();
    let id = s.add_watcher(
        "/r".into(),
        WatchKind::PersistentRecursive,
        Sink::Stream(etx),
    );
    let (tx, _rx) = oneshot::channel();
    let req = Request::AddWatch(AddWatchRequest {
        path: "/r".into(),
        mode: 1,
    });
    let hook = Hook::Register {
        id,
        path: "/r".into(),
        kind: WatchKind::PersistentRecursive,
        exists: false,
    };
    s.submit(now, &req, tx, hook);
    let _ = s.handle_frame(now, &reply(1, 5, 0, &ErrorResponse { err: 0 }.to_bytes()));
    s.take_transmit();
    s.drop_watcher(now, id);
    let out = frames(&s.take_transmit());
    assert_eq!(
        hex::encode(&out[0]),
        "0000000200000012000000022f7200000003",
        "removeWatches /r, type Any (the only watch on the path)"
    );
    // Its reply (even NoWatcher, if the watch fired meanwhile) is consumed internally.
    assert_eq!(
        s.handle_frame(now, &reply(2, 5, ErrorCode::NoWatcher.as_i32(), &[])),
        Next::Continue
    );
    assert_eq!(s.pending_requests(), 0);
}

#[test]
fn request_timeouts_fail_only_the_late_request() {
    let now = Instant::now();
    let mut cfg = config();
    cfg.request_timeout = Some(Duration::from_millis(100));
    let mut s = Session::new(cfg, HostList::new(vec![("h".into(), 1)], 1), now);
    let mut a = get_data(&mut s, now, "/a");
    assert_eq!(s.poll_timeout(), Some(now + Duration::from_millis(100)));
    let _ = s.handle_timeout(now + Duration::from_millis(100));
    assert_eq!(a.try_recv().unwrap(), Err(Error::Timeout));
    assert_eq!(
        s.pending_requests(),
        0,
        "an unsent request is dropped, never sent"
    );
}

trait TryAll {
    fn rx_try(&mut self) -> Vec<SessionState>;
}

impl TryAll for crate::state::StateStream {
    fn rx_try(&mut self) -> Vec<SessionState> {
        let mut out = Vec::new();
        while let Some(s) = futures::FutureExt::now_or_never(self.next_state()).flatten() {
            out.push(s);
        }
        out
    }
}
