//! Curator's connection states, the error policy, and the sans-IO machine that derives the
//! states from the client's session states and the clock.

use std::time::{Duration, Instant};

use zk_client::SessionState;

/// A connection state as Curator publishes it (`ConnectionState`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConnectionState {
    /// The first connection of the framework (published once).
    Connected,
    /// The connection dropped; the session may still live. Recipes must assume they may have
    /// lost what they hold (under [`ErrorPolicy::Standard`]).
    Suspended,
    /// Connected again after [`ConnectionState::Suspended`] or [`ConnectionState::Lost`].
    Reconnected,
    /// The session is gone: the server said it expired, or it has been suspended for the whole
    /// session timeout (raised locally, as Curator's simulated expiration).
    Lost,
    /// Connected to a read-only server.
    ReadOnly,
}

impl ConnectionState {
    /// True for the connected states (`CONNECTED`, `RECONNECTED`, `READ_ONLY`).
    pub fn is_connected(self) -> bool {
        matches!(
            self,
            ConnectionState::Connected | ConnectionState::Reconnected | ConnectionState::ReadOnly
        )
    }
}

/// Which connection states make a recipe give up what it holds
/// (`ConnectionStateErrorPolicy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ErrorPolicy {
    /// `StandardConnectionStateErrorPolicy`, the default: SUSPENDED and LOST.
    #[default]
    Standard,
    /// `SessionConnectionStateErrorPolicy`: only LOST. Tolerating SUSPENDED allows two holders
    /// during a partition (CURATOR-460); use it with fencing.
    Session,
}

impl ErrorPolicy {
    /// True when `state` means "no longer holds".
    pub fn is_error_state(self, state: ConnectionState) -> bool {
        match self {
            ErrorPolicy::Standard => {
                matches!(state, ConnectionState::Suspended | ConnectionState::Lost)
            }
            ErrorPolicy::Session => state == ConnectionState::Lost,
        }
    }
}

/// Maps session states to connection states (`CuratorFrameworkImpl.validateConnection`) and
/// raises LOST when a suspension lasts `session_timeout * percent / 100`
/// (`ConnectionStateManager.checkSessionExpiration`). No IO, no clock: time comes in.
#[derive(Debug, Clone)]
pub struct ConnectionStateMachine {
    current: Option<ConnectionState>,
    connected_once: bool,
    suspended_since: Option<Instant>,
    session_timeout: Duration,
    simulated_expiration_percent: u32,
}

impl ConnectionStateMachine {
    /// A machine for a session of `session_timeout`; `simulated_expiration_percent` is
    /// Curator's `simulatedSessionExpirationPercent` (100 by default, 0 disables).
    pub fn new(session_timeout: Duration, simulated_expiration_percent: u32) -> Self {
        ConnectionStateMachine {
            current: None,
            connected_once: false,
            suspended_since: None,
            session_timeout,
            simulated_expiration_percent,
        }
    }

    /// The last state published, if any.
    pub fn current(&self) -> Option<ConnectionState> {
        self.current
    }

    /// Updates the negotiated session timeout.
    pub fn set_session_timeout(&mut self, timeout: Duration) {
        self.session_timeout = timeout;
    }

    fn publish(&mut self, s: ConnectionState) -> Option<ConnectionState> {
        if self.current == Some(s) {
            return None;
        }
        self.current = Some(s);
        Some(s)
    }

    /// Feeds a session state; returns the connection state to publish, if any.
    #[must_use]
    pub fn on_session_state(&mut self, now: Instant, s: SessionState) -> Option<ConnectionState> {
        match s {
            SessionState::Connected | SessionState::ConnectedReadOnly => {
                self.suspended_since = None;
                let next = if s == SessionState::ConnectedReadOnly {
                    ConnectionState::ReadOnly
                } else if self.connected_once {
                    ConnectionState::Reconnected
                } else {
                    ConnectionState::Connected
                };
                self.connected_once = true;
                self.publish(next)
            }
            SessionState::Disconnected => {
                if !self.current.is_some_and(ConnectionState::is_connected) {
                    return None;
                }
                self.suspended_since = Some(now);
                self.publish(ConnectionState::Suspended)
            }
            SessionState::Expired | SessionState::AuthFailed => {
                self.suspended_since = None;
                self.publish(ConnectionState::Lost)
            }
            // Closed, and any state a newer client adds: the framework is going away.
            _ => None,
        }
    }

    /// When [`ConnectionStateMachine::on_timeout`] should be called next, if ever.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.simulated_expiration_percent == 0 {
            return None;
        }
        let since = self.suspended_since?;
        let limit = self.session_timeout * self.simulated_expiration_percent / 100;
        Some(since + limit)
    }

    /// Raises the simulated LOST once the suspension has lasted long enough.
    #[must_use]
    pub fn on_timeout(&mut self, now: Instant) -> Option<ConnectionState> {
        match self.poll_timeout() {
            Some(at) if now >= at && self.current == Some(ConnectionState::Suspended) => {
                self.suspended_since = None;
                self.publish(ConnectionState::Lost)
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ConnectionState::*;

    #[test]
    fn maps_like_curator_and_connected_is_published_once() {
        let t0 = Instant::now();
        let mut m = ConnectionStateMachine::new(Duration::from_secs(10), 100);
        assert_eq!(m.on_session_state(t0, SessionState::Disconnected), None);
        assert_eq!(
            m.on_session_state(t0, SessionState::Connected),
            Some(Connected)
        );
        assert_eq!(
            m.on_session_state(t0, SessionState::Disconnected),
            Some(Suspended)
        );
        assert_eq!(
            m.on_session_state(t0, SessionState::Connected),
            Some(Reconnected)
        );
        assert_eq!(
            m.on_session_state(t0, SessionState::ConnectedReadOnly),
            Some(ReadOnly)
        );
        assert_eq!(m.on_session_state(t0, SessionState::Expired), Some(Lost));
        assert_eq!(m.on_session_state(t0, SessionState::Expired), None);
        // A new session after LOST is a RECONNECTED.
        assert_eq!(
            m.on_session_state(t0, SessionState::Connected),
            Some(Reconnected)
        );
    }

    #[test]
    fn lost_is_simulated_when_suspended_for_the_session_timeout() {
        let t0 = Instant::now();
        let mut m = ConnectionStateMachine::new(Duration::from_secs(10), 100);
        let _ = m.on_session_state(t0, SessionState::Connected);
        assert_eq!(m.poll_timeout(), None);
        let _ = m.on_session_state(t0, SessionState::Disconnected);
        assert_eq!(m.poll_timeout(), Some(t0 + Duration::from_secs(10)));
        assert_eq!(m.on_timeout(t0 + Duration::from_secs(9)), None);
        assert_eq!(m.on_timeout(t0 + Duration::from_secs(10)), Some(Lost));
        assert_eq!(m.poll_timeout(), None);
        // The client's own expiry afterwards is not published twice.
        assert_eq!(m.on_session_state(t0, SessionState::Expired), None);
    }

    #[test]
    fn reconnect_cancels_the_simulated_expiry_and_percent_scales_it() {
        let t0 = Instant::now();
        let mut m = ConnectionStateMachine::new(Duration::from_secs(9), 33);
        let _ = m.on_session_state(t0, SessionState::Connected);
        let _ = m.on_session_state(t0, SessionState::Disconnected);
        assert_eq!(
            m.poll_timeout(),
            Some(t0 + Duration::from_secs(9) * 33 / 100)
        );
        let _ = m.on_session_state(t0, SessionState::Connected);
        assert_eq!(m.on_timeout(t0 + Duration::from_secs(60)), None);
        let mut off = ConnectionStateMachine::new(Duration::from_secs(1), 0);
        let _ = off.on_session_state(t0, SessionState::Connected);
        let _ = off.on_session_state(t0, SessionState::Disconnected);
        assert_eq!(off.poll_timeout(), None);
    }

    #[test]
    fn error_policies() {
        assert!(ErrorPolicy::Standard.is_error_state(Suspended));
        assert!(ErrorPolicy::Standard.is_error_state(Lost));
        assert!(!ErrorPolicy::Session.is_error_state(Suspended));
        assert!(ErrorPolicy::Session.is_error_state(Lost));
        assert!(!ErrorPolicy::Standard.is_error_state(Reconnected));
    }
}
