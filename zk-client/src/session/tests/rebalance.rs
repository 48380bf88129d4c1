//! A new host list (`updateServerList`) moving the session: the connection is left, the
//! session resumed on a listed host.

use std::time::Instant;

use zk_core::SessionId;

use super::*;
use crate::error::Error;
use crate::session::*;

/// The host the scripted session is connected to.
fn connected_host(s: &Session) -> (String, u16) {
    // A connected session's failover list starts after its own host.
    let others = s.hosts.others();
    let all = [("h1".to_owned(), 1), ("h2".to_owned(), 2)];
    all.into_iter()
        .find(|h| !others.iter().any(|(_, o)| o == h))
        .unwrap()
}

#[test]
fn a_list_without_the_server_moves_the_session_and_keeps_it() {
    let now = Instant::now();
    let mut s = connected(now);
    let mine = connected_host(&s);
    let in_flight = get_data(&mut s, now, "/x");
    s.take_transmit();
    let new = vec![("h3".to_owned(), 3), ("h4".to_owned(), 4)];
    assert!(s.update_hosts(new.clone(), 11), "the session moves");
    assert!(s.take_move(), "the driver leaves the connection");
    assert!(!s.take_move(), "once");
    s.handle_disconnected(now);
    let mut in_flight = in_flight;
    assert_eq!(in_flight.try_recv().unwrap(), Err(Error::ConnectionLoss));
    let ConnectAction::Connect { host, port, .. } = s.poll_connect(now, 0.0) else {
        panic!("reconnects");
    };
    assert!(new.contains(&(host.clone(), port)), "{host}:{port}");
    assert_ne!((host, port), mine);
    // The same session is resumed there.
    s.handle_connected(now);
    let out = frames(&s.take_transmit());
    let req = ConnectRequest::from_bytes(&out[0]).unwrap();
    assert_eq!(req.session_id, SessionId(0x0100000e89350000));
    let resp = hex::decode(TOUR_CONNECT_RESPONSE).unwrap();
    assert_eq!(s.handle_frame(now, &resp), Next::Continue);
    assert_eq!(s.state(), SessionState::Connected);
}

#[test]
fn a_list_that_keeps_the_server_leaves_the_connection_alone() {
    let now = Instant::now();
    let mut s = connected(now);
    let mine = connected_host(&s);
    // The same size, the server kept: it stays whatever the draws.
    for seed in 0..20 {
        assert!(!s.update_hosts(vec![mine.clone(), ("h9".to_owned(), 9)], seed));
        assert!(!s.take_move());
    }
    assert_eq!(s.state(), SessionState::Connected);
}

#[test]
fn a_move_asked_while_disconnected_steers_the_next_attempt() {
    let now = Instant::now();
    let mut s = connected(now);
    s.handle_disconnected(now);
    assert!(s.update_hosts(vec![("h5".to_owned(), 5)], 1));
    // Nothing to leave: no connection is up.
    assert!(!s.take_move());
    let ConnectAction::Connect { host, port, .. } = s.poll_connect(now, 0.0) else {
        panic!("reconnects");
    };
    assert_eq!((host.as_str(), port), ("h5", 5));
}

#[test]
fn a_move_asked_during_an_attempt_leaves_the_connection_it_opens() {
    let now = Instant::now();
    let mut s = connected(now);
    s.handle_disconnected(now);
    let _ = s.poll_connect(now, 0.0);
    assert!(s.update_hosts(vec![("h5".to_owned(), 5)], 1));
    // The attempt fails: the move is over with it.
    s.handle_connect_failed(now);
    assert!(!s.take_move());
    let _ = s.poll_connect(now, 0.0);
    assert!(s.update_hosts(vec![("h6".to_owned(), 6)], 1));
    // The attempt connects: the driver leaves that connection at once.
    s.handle_connected(now);
    assert!(s.take_move());
    s.handle_disconnected(now);
    let ConnectAction::Connect { host, .. } = s.poll_connect(now, 0.0) else {
        panic!("reconnects");
    };
    assert_eq!(host, "h6");
}

#[test]
fn an_ended_session_ignores_a_new_list() {
    let now = Instant::now();
    let mut s = connected(now);
    s.expire_locally();
    assert!(!s.update_hosts(vec![("h5".to_owned(), 5)], 1));
    assert!(!s.take_move());
}
