//! The framework's state task: session states in, connection states out, new sessions after
//! LOST.

use std::sync::Weak;
use std::time::Instant;

use zk_client::SessionState;

use super::{inner_client, Inner};
use crate::limits::{NEW_SESSION_FIRST_PAUSE, NEW_SESSION_MAX_PAUSE};
use crate::state::{ConnectionState, ConnectionStateMachine};

/// Follows the session states of the current client, publishes connection states, raises the
/// simulated LOST, and opens a new session after a LOST when the framework can.
pub(super) async fn state_task(weak: Weak<Inner>, mut machine: ConnectionStateMachine) {
    loop {
        let Some(inner) = weak.upgrade() else { return };
        let client = inner_client(&inner);
        let mut closed = inner.closed.subscribe();
        let can_reconnect = inner.reconnect.is_some();
        drop(inner);
        machine.set_session_timeout(client.session_timeout());
        let mut states = client.state_stream();
        drop(client);
        let publish = |s: ConnectionState| {
            if let Some(inner) = weak.upgrade() {
                tracing::debug!(state = ?s, "connection state");
                inner.state.send_replace(Some(s));
                let _ = inner.events.send(s);
            }
        };
        // Follow this session until it ends.
        loop {
            let deadline = machine.poll_timeout();
            tokio::select! {
                s = states.next_state() => match s {
                    Some(SessionState::Closed) | None => {
                        if *closed.borrow() || !can_reconnect { return; }
                        break;
                    }
                    Some(s) => {
                        if let Some(cs) = machine.on_session_state(Instant::now(), s) { publish(cs); }
                        if s.is_terminal() { break; }
                    }
                },
                _ = sleep_until_opt(deadline) => {
                    if let Some(cs) = machine.on_timeout(Instant::now()) {
                        publish(cs);
                        if can_reconnect { break; }
                    }
                }
                _ = closed.changed() => return,
            }
        }
        // The session is over: open a new one, if we can.
        let Some(inner) = weak.upgrade() else { return };
        let Some((connect, builder)) = inner.reconnect.clone() else {
            return;
        };
        let old = inner_client(&inner);
        drop(inner);
        // After a simulated LOST the old client may still be waiting for a server: end it as
        // expired (Curator's injectSessionExpiration), so what waits on it fails with
        // SessionExpired, which the recipes retry on the new session. (After a real expiry
        // this does nothing.)
        old.expire_locally();
        let mut pause = NEW_SESSION_FIRST_PAUSE;
        loop {
            if *closed.borrow() {
                return;
            }
            match builder.clone().connect(&connect).await {
                Ok(c) => {
                    let Some(inner) = weak.upgrade() else { return };
                    *inner.client.write().unwrap_or_else(|e| e.into_inner()) = c;
                    break;
                }
                Err(e) => {
                    tracing::debug!(error = %e, "new session failed; retrying");
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(NEW_SESSION_MAX_PAUSE);
                }
            }
        }
    }
}

async fn sleep_until_opt(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at.into()).await,
        None => std::future::pending().await,
    }
}
