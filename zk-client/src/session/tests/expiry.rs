//! The client-side expiry rule: with no server heard from, the session ends locally only
//! after the session timeout plus the grace (an ensemble electing a leader expires nothing,
//! and its new leader re-arms every session), while Disconnected comes at once and a
//! server's "expired" answer still ends the session at once.

use super::*;

const TIMEOUT: Duration = Duration::from_secs(6);

fn lost_at(t0: Instant) -> (Session, crate::state::StateStream) {
    let mut s = connected(t0);
    let states = s.subscribe();
    s.handle_disconnected(t0);
    (s, states)
}

#[test]
fn disconnected_at_once_expired_only_after_the_timeout_plus_the_grace() {
    let t0 = Instant::now();
    let (mut s, mut states) = lost_at(t0);
    assert_eq!(s.state(), SessionState::Disconnected, "reported promptly");
    // Every attempt fails while the ensemble elects a leader.
    s.handle_connect_failed(t0 + Duration::from_secs(1));
    assert_eq!(s.handle_timeout(t0 + TIMEOUT), Next::Continue);
    assert_eq!(
        s.state(),
        SessionState::Disconnected,
        "the ensemble may still keep the session at the session timeout"
    );
    let expiry = t0 + TIMEOUT + GRACE;
    assert_eq!(s.poll_timeout(), Some(expiry));
    assert_eq!(
        s.handle_timeout(expiry - Duration::from_millis(1)),
        Next::Continue
    );
    assert_eq!(s.state(), SessionState::Disconnected);
    assert_eq!(s.handle_timeout(expiry), Next::Disconnect);
    assert_eq!(s.state(), SessionState::Expired);
    assert_eq!(s.poll_connect(expiry, 0.0), ConnectAction::Stop);
    assert_eq!(
        states.rx_try(),
        [
            SessionState::Connected,
            SessionState::Disconnected,
            SessionState::Expired
        ]
    );
}

/// A new leader re-armed the session: reconnecting after the session timeout (within the
/// grace) resumes the same session, with its ephemerals and watches.
#[test]
fn a_session_resumed_after_the_timeout_within_the_grace_lives_on() {
    let t0 = Instant::now();
    let (mut s, mut states) = lost_at(t0);
    let mut queued = get_data(&mut s, t0, "/x");
    let t1 = t0 + TIMEOUT + GRACE / 2;
    // The driver runs the timers before each attempt.
    assert_eq!(s.handle_timeout(t1), Next::Continue);
    let ConnectAction::Connect { timeout, .. } = s.poll_connect(t1, 0.0) else {
        panic!("still connecting at {t1:?}")
    };
    assert!(timeout <= GRACE / 2, "{timeout:?}");
    s.handle_connected(t1);
    let hello = frames(&s.take_transmit());
    let req = ConnectRequest::from_bytes(&hello[0]).unwrap();
    assert_eq!(req.session_id, s.session_id(), "resumes the same session");
    let resp = hex::decode(TOUR_CONNECT_RESPONSE).unwrap();
    assert_eq!(s.handle_frame(t1, &resp), Next::Continue);
    assert_eq!(s.state(), SessionState::Connected);
    // The request queued while disconnected goes out now.
    assert_eq!(requests(&s.take_transmit()), [(1, 4)]);
    assert!(queued.try_recv().is_err(), "still waiting for its reply");
    assert_eq!(
        states.rx_try(),
        [
            SessionState::Connected,
            SessionState::Disconnected,
            SessionState::Connected
        ]
    );
    // Hearing from the server pushed local expiry out again.
    assert_eq!(s.handle_timeout(t0 + TIMEOUT + GRACE), Next::Continue);
    assert!(s.state().is_connected());
}

/// The fast path: a server that answers "expired" ends the session at once, also within the
/// grace.
#[test]
fn a_server_answer_within_the_grace_still_expires_at_once() {
    let t0 = Instant::now();
    let (mut s, _states) = lost_at(t0);
    let t1 = t0 + TIMEOUT + Duration::from_millis(100);
    assert_eq!(s.handle_timeout(t1), Next::Continue);
    s.handle_connected(t1);
    s.take_transmit();
    let expired = ConnectResponse {
        passwd: bytes::Bytes::from_static(&[0; 16]),
        read_only: Some(false),
        ..Default::default()
    };
    assert_eq!(s.handle_frame(t1, &expired.to_bytes()), Next::Disconnect);
    assert_eq!(s.state(), SessionState::Expired);
}

/// The grace is the builder's: zero gives up at the session timeout.
#[test]
fn a_zero_grace_expires_at_the_session_timeout() {
    let t0 = Instant::now();
    let mut s = Session::new(
        SessionConfig {
            expiry_grace: Duration::ZERO,
            ..config()
        },
        HostList::new(vec![("h1".into(), 1)], 7),
        t0,
    );
    let _ = s.poll_connect(t0, 0.0);
    s.handle_connected(t0);
    s.take_transmit();
    let resp = hex::decode(TOUR_CONNECT_RESPONSE).unwrap();
    assert_eq!(s.handle_frame(t0, &resp), Next::Continue);
    s.handle_disconnected(t0);
    assert_eq!(s.poll_timeout(), Some(t0 + TIMEOUT));
    assert_eq!(s.handle_timeout(t0 + TIMEOUT), Next::Disconnect);
    assert_eq!(s.state(), SessionState::Expired);
}

/// No session yet: nothing to expire, however long the first connection takes.
#[test]
fn no_local_expiry_before_a_session_exists() {
    let t0 = Instant::now();
    let mut s = session(t0);
    assert_eq!(s.poll_timeout(), None);
    s.handle_connect_failed(t0 + TIMEOUT + GRACE);
    assert_eq!(s.state(), SessionState::Disconnected);
}

/// The application's own verdict (Curator's simulated expiration): Expired at once, once;
/// what waits fails with SessionExpired, and the driver stops.
#[test]
fn expire_locally_ends_the_session_as_expired() {
    let t0 = Instant::now();
    let (mut s, mut states) = lost_at(t0);
    let mut queued = get_data(&mut s, t0, "/x");
    s.expire_locally();
    s.expire_locally();
    assert_eq!(queued.try_recv().unwrap(), Err(Error::SessionExpired));
    assert_eq!(s.poll_connect(t0, 0.0), ConnectAction::Stop);
    let mut later = get_data(&mut s, t0, "/y");
    assert_eq!(later.try_recv().unwrap(), Err(Error::SessionExpired));
    assert_eq!(
        states.rx_try(),
        [
            SessionState::Connected,
            SessionState::Disconnected,
            SessionState::Expired
        ]
    );
}
