//! The cases of the client suite, generic over the server.

#![allow(dead_code)]

mod chroot_auth;
mod core_ops;
mod expiry;
mod faults;
mod multi;
mod watches;

pub(crate) use chroot_auth::*;
pub(crate) use core_ops::*;
pub(crate) use expiry::*;
pub(crate) use faults::*;
pub(crate) use multi::*;
pub(crate) use watches::*;

use std::time::Duration;

use tests::client_support::{within, TcpProxy, TestServer};
use zk_client::{Client, SessionState, StateStream};

/// The limit for a whole case.
pub(crate) const CASE_LIMIT: Duration = Duration::from_secs(60);

/// Connects a client with a short session timeout.
pub(crate) async fn connect<S: TestServer>(server: &S, suffix: &str) -> Client {
    Client::builder()
        .session_timeout(Duration::from_secs(10))
        .connect(&format!("{}{suffix}", server.connect_string()))
        .await
        .unwrap_or_else(|e| panic!("connect to {}: {e}", S::NAME))
}

/// Waits (bounded) for the next state and checks it.
pub(crate) async fn expect_state(states: &mut StateStream, want: SessionState) {
    let got = within(Duration::from_secs(30), "state change", states.next_state()).await;
    assert_eq!(got, Some(want));
}

/// Connects a client through a proxy.
pub(crate) async fn via_proxy(proxy: &TcpProxy, timeout: Duration) -> Client {
    Client::builder()
        .session_timeout(timeout)
        .connect(&proxy.addr().to_string())
        .await
        .expect("connect through the proxy")
}
