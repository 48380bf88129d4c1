//! The handshake, call order and reply matching.

use std::time::{Duration, Instant};

use zk_core::{ErrorCode, SessionId, Zxid};

use super::*;
use crate::error::Error;
use crate::session::*;
use crate::state::SessionState;

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
fn reply_zxid_hook_gets_the_zxid_of_an_error_reply_before_the_outcome() {
    let now = Instant::now();
    let mut s = connected(now);
    let (tx, mut rx) = oneshot::channel();
    let (ztx, mut zrx) = oneshot::channel();
    let req = Request::Delete(DeleteRequest {
        path: "/a".into(),
        version: 3,
    });
    s.submit(now, &req, tx, Hook::ReplyZxid(ztx));
    s.take_transmit();
    let err = ErrorCode::BadVersion.as_i32();
    let _ = s.handle_frame(now, &reply(1, 0x2a, err, &[]));
    assert_eq!(zrx.try_recv(), Ok(Zxid(0x2a)));
    assert_eq!(rx.try_recv().unwrap(), Err(Error::BadVersion));
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

proptest::proptest! {
    /// Whatever a server sends, the session answers Continue or Disconnect and never panics;
    /// after a Disconnect every in-flight request has its answer.
    #[test]
    fn arbitrary_replies_never_panic(frames in proptest::collection::vec(
        (-5i32..3, proptest::prelude::any::<i64>(), proptest::prop_oneof![
            proptest::strategy::Just(0i32),
            proptest::strategy::Just(-101i32),
            proptest::prelude::any::<i32>()
        ], proptest::collection::vec(proptest::prelude::any::<u8>(), 0..80)),
        1..8)
    ) {
        let now = Instant::now();
        let mut s = connected(now);
        let mut rx = get_data(&mut s, now, "/a");
        let _rx2 = get_data(&mut s, now, "/b");
        for (xid, zxid, err, body) in &frames {
            let f = reply(*xid, *zxid, *err, body);
            if s.handle_frame(now, &f) == Next::Disconnect {
                s.handle_disconnected(now);
                proptest::prop_assert!(rx.try_recv().is_ok(), "the caller got an answer");
                break;
            }
        }
    }
}

#[test]
fn pending_requests_are_bounded() {
    let now = Instant::now();
    let mut s = session(now);
    let mut last = None;
    for _ in 0..=MAX_PENDING_REQUESTS {
        last = Some(get_data(&mut s, now, "/a"));
    }
    assert_eq!(s.pending_requests(), MAX_PENDING_REQUESTS);
    assert_eq!(last.unwrap().try_recv().unwrap(), Err(Error::Overloaded));
}
