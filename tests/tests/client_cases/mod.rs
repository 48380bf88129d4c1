//! The cases of the client suite, generic over the server.

#![allow(dead_code)]

mod core_ops;

pub(crate) use core_ops::*;

use std::time::Duration;

use tests::client_support::TestServer;
use zk_client::Client;

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
