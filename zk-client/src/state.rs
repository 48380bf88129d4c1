//! The session's connection state, as a value and as a stream of every transition.

use std::pin::Pin;
use std::task::{Context, Poll};

use futures::Stream;
use tokio::sync::mpsc;

use crate::error::Error;

/// The state of a client's session.
///
/// `Connected` and `ConnectedReadOnly` come and go with the connection (`Disconnected` in
/// between); `Expired`, `AuthFailed` and `Closed` are terminal: the client does nothing more
/// and a new [`Client`](crate::Client) is needed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SessionState {
    /// Connected to a server that accepts writes.
    Connected,
    /// Connected to a read-only server (only when read-only is allowed).
    ConnectedReadOnly,
    /// Not connected; the client is looking for a server and the session may still live.
    Disconnected,
    /// The session expired: reported by a server, or decided by the client when no server
    /// was heard from for the session timeout. Terminal.
    Expired,
    /// A server refused the client's credentials. Terminal.
    AuthFailed,
    /// The client was closed. Terminal.
    Closed,
}

impl SessionState {
    /// True for `Connected` and `ConnectedReadOnly`.
    pub fn is_connected(self) -> bool {
        matches!(
            self,
            SessionState::Connected | SessionState::ConnectedReadOnly
        )
    }

    /// True for the states after which the client does nothing more.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            SessionState::Expired | SessionState::AuthFailed | SessionState::Closed
        )
    }

    /// The error a request gets in a terminal state.
    pub(crate) fn terminal_error(self) -> Error {
        match self {
            SessionState::Expired => Error::SessionExpired,
            SessionState::AuthFailed => Error::AuthFailed,
            _ => Error::Closed,
        }
    }
}

/// Every state transition of a session, starting with the state current when the stream was
/// made. Nothing is coalesced: a short disconnection shows as `Disconnected` then `Connected`.
/// The stream ends after a terminal state.
#[derive(Debug)]
pub struct StateStream {
    rx: mpsc::UnboundedReceiver<SessionState>,
}

impl StateStream {
    pub(crate) fn new(rx: mpsc::UnboundedReceiver<SessionState>) -> StateStream {
        StateStream { rx }
    }

    /// Waits for the next state. `None` once the stream has ended.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: dropping the future loses no state.
    pub async fn next_state(&mut self) -> Option<SessionState> {
        self.rx.recv().await
    }
}

impl Stream for StateStream {
    type Item = SessionState;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<SessionState>> {
        self.rx.poll_recv(cx)
    }
}

/// The subscribers of a session's state, kept by the session state machine.
#[derive(Debug)]
pub(crate) struct StateBroadcast {
    current: SessionState,
    subscribers: Vec<mpsc::UnboundedSender<SessionState>>,
}

impl StateBroadcast {
    pub(crate) fn new(initial: SessionState) -> StateBroadcast {
        StateBroadcast {
            current: initial,
            subscribers: Vec::new(),
        }
    }

    pub(crate) fn current(&self) -> SessionState {
        self.current
    }

    /// A new stream, which first yields the current state.
    pub(crate) fn subscribe(&mut self) -> StateStream {
        let (tx, rx) = mpsc::unbounded_channel();
        // The receiver is alive: it is in our hands.
        let _ = tx.send(self.current);
        if !self.current.is_terminal() {
            self.subscribers.push(tx);
        }
        StateStream::new(rx)
    }

    /// Moves to `next`, telling every subscriber; repeated states are not re-sent.
    pub(crate) fn set(&mut self, next: SessionState) {
        if self.current == next || self.current.is_terminal() {
            return;
        }
        self.current = next;
        self.subscribers.retain(|tx| tx.send(next).is_ok());
        if next.is_terminal() {
            self.subscribers.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_transition_is_seen_then_stream_ends() {
        let mut b = StateBroadcast::new(SessionState::Disconnected);
        let mut s = b.subscribe();
        b.set(SessionState::Connected);
        b.set(SessionState::Connected);
        b.set(SessionState::Disconnected);
        b.set(SessionState::Connected);
        b.set(SessionState::Expired);
        b.set(SessionState::Connected);
        let mut seen = Vec::new();
        while let Ok(st) = s.rx.try_recv() {
            seen.push(st);
        }
        use SessionState::*;
        assert_eq!(
            seen,
            [Disconnected, Connected, Disconnected, Connected, Expired]
        );
        assert_eq!(b.current(), Expired);
        assert!(s.rx.try_recv().is_err());
    }
}
