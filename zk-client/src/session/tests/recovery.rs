//! Reconnects, re-arming, expiry, timers, removal of dropped watches.

use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot};
use zk_core::jute::Encode;
use zk_core::message::Request;
use zk_core::proto::*;
use zk_core::{ErrorCode, EventType, OpCode, SessionId, Zxid};

use super::*;
use crate::error::Error;
use crate::session::*;
use crate::state::SessionState;

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
    // Attempts are bounded by the time left before local expiry: the last frame (t0) plus the
    // session timeout plus the grace.
    let expiry = t0 + Duration::from_secs(6) + GRACE;
    let ConnectAction::Connect { timeout, .. } =
        s.poll_connect(expiry - Duration::from_millis(500), 0.0)
    else {
        panic!("still connecting")
    };
    assert_eq!(timeout, Duration::from_millis(500));
    assert_eq!(s.poll_timeout(), Some(expiry));
    assert_eq!(s.handle_timeout(expiry), Next::Disconnect);
    assert_eq!(s.state(), SessionState::Expired);
}

#[test]
fn a_handshake_that_never_ends_leaves_time_to_resume_the_session() {
    let t0 = Instant::now();
    let mut s = connected(t0);
    s.handle_disconnected(t0);
    // A server that accepts the connection and never answers the ConnectRequest.
    let ConnectAction::Connect { timeout, .. } = s.poll_connect(t0, 0.0) else {
        panic!("reconnects")
    };
    assert_eq!(
        timeout,
        Duration::from_secs(2),
        "a third of the 6 s session"
    );
    s.handle_connected(t0);
    s.take_transmit();
    assert_eq!(s.poll_timeout(), Some(t0 + Duration::from_secs(2)));
    let t1 = t0 + Duration::from_secs(2);
    assert_eq!(s.handle_timeout(t1), Next::Disconnect);
    s.handle_disconnected(t1);
    assert_eq!(s.state(), SessionState::Disconnected);
    // The next attempt resumes the session well before it would expire.
    let ConnectAction::Connect { not_before, .. } = s.poll_connect(t1, 0.0) else {
        panic!("tries again")
    };
    assert!(not_before < t0 + Duration::from_secs(3));
    s.handle_connected(not_before);
    s.take_transmit();
    let resp = hex::decode(TOUR_CONNECT_RESPONSE).unwrap();
    assert_eq!(s.handle_frame(not_before, &resp), Next::Continue);
    assert_eq!(s.state(), SessionState::Connected);
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

/// Arms a watcher of `kind` on `path` with a successful reply at `zxid`.
fn arm(
    s: &mut Session,
    now: Instant,
    path: &str,
    kind: WatchKind,
    sink: Sink,
    zxid: i64,
) -> WatcherId {
    let id = s.add_watcher(path.into(), kind, sink);
    let (tx, _rx) = oneshot::channel();
    let req = Request::AddWatch(AddWatchRequest {
        path: path.into(),
        mode: 0,
    });
    let hook = Hook::Register {
        id,
        path: path.into(),
        kind,
        exists: false,
    };
    s.submit(now, &req, tx, hook);
    let xid = RequestHeader::from_bytes(&frames(&s.take_transmit())[0][..8])
        .unwrap()
        .xid;
    let _ = s.handle_frame(
        now,
        &reply(xid, zxid, 0, &ErrorResponse { err: 0 }.to_bytes()),
    );
    id
}

#[test]
fn persistent_watches_are_rearmed_with_set_watches2_and_dropped_ones_are_not() {
    let now = Instant::now();
    let mut s = connected(now);
    let (ptx, _prx) = mpsc::unbounded_channel();
    let (rtx, _rrx) = mpsc::unbounded_channel();
    let (dtx, _drx) = oneshot::channel();
    arm(
        &mut s,
        now,
        "/p",
        WatchKind::Persistent,
        Sink::Stream(ptx),
        0x20,
    );
    arm(
        &mut s,
        now,
        "/r",
        WatchKind::PersistentRecursive,
        Sink::Stream(rtx),
        0x21,
    );
    let gone = arm(&mut s, now, "/d", WatchKind::Data, Sink::Oneshot(dtx), 0x22);
    // A notification does not move last_zxid, even with a larger zxid (3.9 style).
    let note = WatcherEvent {
        event_type: EventType::NodeChildrenChanged.as_i32(),
        state: 3,
        path: "/p".into(),
    };
    let _ = s.handle_frame(now, &reply(-1, 0x99, 0, &note.to_bytes()));
    assert_eq!(s.last_zxid(), Zxid(0x22));
    s.handle_disconnected(now);
    // Dropped while disconnected: nothing to send now, nothing to re-arm later.
    s.drop_watcher(now, gone);
    assert!(s.transmit_is_empty());
    s.handle_connected(now);
    s.take_transmit();
    let _ = s.handle_frame(now, &hex::decode(TOUR_CONNECT_RESPONSE).unwrap());
    let out = frames(&s.take_transmit());
    assert_eq!(out.len(), 1);
    let h = RequestHeader::from_bytes(&out[0][..8]).unwrap();
    assert_eq!(h.op_type, OpCode::SetWatches2.as_i32());
    let sw = SetWatches2::from_bytes(&out[0][8..]).unwrap();
    assert_eq!(sw.relative_zxid, Zxid(0x22));
    assert!(sw.data_watches.is_empty());
    assert_eq!(sw.persistent_watches, ["/p"]);
    assert_eq!(sw.persistent_recursive_watches, ["/r"]);
}

#[test]
fn a_different_session_on_reconnect_counts_as_expiry() {
    let now = Instant::now();
    let mut s = connected(now);
    s.handle_disconnected(now);
    s.handle_connected(now);
    let other = ConnectResponse {
        timeout_ms: 6000,
        session_id: SessionId(0x77),
        passwd: bytes::Bytes::from_static(&[1; 16]),
        read_only: Some(false),
        ..Default::default()
    };
    assert_eq!(s.handle_frame(now, &other.to_bytes()), Next::Disconnect);
    assert_eq!(s.state(), SessionState::Expired);
    assert_eq!(s.session_id(), SessionId(0x0100000e89350000));
}

/// The ConnectRequest in the output.
fn connect_request(s: &mut Session) -> ConnectRequest {
    let out = frames(&s.take_transmit());
    ConnectRequest::from_bytes(&out[0]).unwrap()
}

#[test]
fn a_session_only_read_only_servers_answered_is_replaced_on_a_read_write_one() {
    // As the Java client (`seenRwServerBefore`): a read-only server's sessions are its own, so
    // a session no read-write server ever answered asks for a new one when it reconnects.
    let now = Instant::now();
    let mut cfg = config();
    cfg.read_only = true;
    let mut s = Session::new(
        cfg,
        HostList::new(vec![("h1".into(), 1), ("h2".into(), 2)], 7),
        now,
    );
    let mut states = s.subscribe();
    s.handle_connected(now);
    let req = connect_request(&mut s);
    assert_eq!(
        (req.session_id, req.read_only),
        (SessionId::NONE, Some(true))
    );
    let ro = ConnectResponse {
        timeout_ms: 6000,
        session_id: SessionId(0x77),
        passwd: bytes::Bytes::from_static(&[1; 16]),
        read_only: Some(true),
        ..Default::default()
    };
    assert_eq!(s.handle_frame(now, &ro.to_bytes()), Next::Continue);
    assert_eq!(s.state(), SessionState::ConnectedReadOnly);
    assert!(s.read_write_candidates().is_some_and(|c| c.len() == 1));
    s.handle_disconnected(now);
    s.handle_connected(now);
    assert_eq!(connect_request(&mut s).session_id, SessionId::NONE);
    let rw = ConnectResponse {
        session_id: SessionId(0x88),
        read_only: Some(false),
        ..ro.clone()
    };
    assert_eq!(s.handle_frame(now, &rw.to_bytes()), Next::Continue);
    assert_eq!(
        (s.state(), s.session_id),
        (SessionState::Connected, SessionId(0x88))
    );
    assert!(s.read_write_candidates().is_none());
    // From now on the session is the ensemble's: it is resumed, even on a read-only server.
    s.handle_disconnected(now);
    s.handle_connected(now);
    assert_eq!(connect_request(&mut s).session_id, SessionId(0x88));
    assert_eq!(
        states.rx_try(),
        [
            SessionState::Disconnected,
            SessionState::ConnectedReadOnly,
            SessionState::Disconnected,
            SessionState::Connected,
            SessionState::Disconnected,
        ]
    );
}

#[test]
fn a_read_write_server_found_takes_the_next_connection() {
    let mut h = HostList::new(vec![("a".into(), 1), ("b".into(), 2), ("c".into(), 3)], 3);
    let now = Instant::now();
    let (current, _) = h.next_attempt(now, 0.0);
    let others = h.others();
    assert_eq!(others.len(), 2);
    assert!(others.iter().all(|(_, host)| *host != current));
    let (index, wanted) = others[1].clone();
    h.prefer(index);
    h.lost();
    assert_eq!(
        h.next_attempt(now, 0.0).0,
        wanted,
        "the connection loss keeps the choice"
    );
}
