//! [`ClientBuilder`]: session timeout, expiry grace, connection timeout, credentials,
//! read-only, request timeout.

use std::time::Duration;

use bytes::Bytes;
use tokio::sync::oneshot;
use zk_core::path::ConnectString;
use zk_core::SessionId;

use crate::client::Client;
use crate::driver::{self, now, Shared};
use crate::error::{Error, Result};
use crate::session::{HostList, Session, SessionConfig};
use crate::state::SessionState;

/// The session timeout asked for when none is set.
pub const DEFAULT_SESSION_TIMEOUT: Duration = Duration::from_secs(30);
/// How long [`ClientBuilder::connect`] waits for the first session when no timeout is set.
pub const DEFAULT_CONNECTION_TIMEOUT: Duration = Duration::from_secs(15);
/// How long past the session timeout a client that hears from no server waits before it
/// declares its session expired on its own, when no grace is set: 30 s, the longest an
/// Apache ZooKeeper ensemble with the default zoo.cfg (`tickTime=2000`, `syncLimit=5`,
/// `initLimit=10`) normally takes to have a new leader serving: a follower notices a lost
/// leader after `syncLimit * tickTime` (10 s), and a new leader waits up to
/// `initLimit * tickTime` (20 s) for its followers. See [`ClientBuilder::expiry_grace`].
pub const DEFAULT_EXPIRY_GRACE: Duration = Duration::from_secs(30);

/// Configures and connects a [`Client`].
///
/// ```no_run
/// # async fn f() -> Result<(), zk_client::Error> {
/// use std::time::Duration;
/// let client = zk_client::Client::builder()
///     .session_timeout(Duration::from_secs(10))
///     .auth("digest", b"user:secret".to_vec())
///     .connect("127.0.0.1:2181/app")
///     .await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct ClientBuilder {
    session_timeout: Duration,
    expiry_grace: Duration,
    connection_timeout: Duration,
    request_timeout: Option<Duration>,
    read_only: bool,
    auth: Vec<(String, Vec<u8>)>,
    session: Option<(SessionId, Bytes)>,
}

impl Default for ClientBuilder {
    fn default() -> Self {
        ClientBuilder {
            session_timeout: DEFAULT_SESSION_TIMEOUT,
            expiry_grace: DEFAULT_EXPIRY_GRACE,
            connection_timeout: DEFAULT_CONNECTION_TIMEOUT,
            request_timeout: None,
            read_only: false,
            auth: Vec::new(),
            session: None,
        }
    }
}

impl ClientBuilder {
    /// The session timeout to ask for; the server clamps it to its `[min, max]` (by default
    /// 2 to 20 ticks, 4 s to 40 s).
    pub fn session_timeout(mut self, timeout: Duration) -> Self {
        self.session_timeout = timeout;
        self
    }

    /// How long past the session timeout the client waits, hearing from no server, before it
    /// ends in [`SessionState::Expired`] on its own ([`DEFAULT_EXPIRY_GRACE`] when not set).
    ///
    /// **The rule.** A server that answers "expired" when the client reconnects ends the
    /// session at once. Without such an answer, the client declares the session expired only
    /// after no server was heard from for the negotiated session timeout plus this grace.
    /// The session timeout alone would be too early: an ensemble expires no session while it
    /// elects a leader, and Apache ZooKeeper's new leader gives every session a fresh timeout
    /// when it starts leading, so a session last heard from at `t` may live until
    /// `t + election time + timeout`. A client that gave up at `t + timeout` would abandon a
    /// session the ensemble still keeps, and its ephemeral nodes (lock and latch nodes) would
    /// linger for another timeout. Set the grace to the longest election the ensemble may
    /// take; `Duration::ZERO` gives up at the session timeout (right for a standalone server
    /// that does not restart).
    ///
    /// [`SessionState::Disconnected`] is still reported as soon as the connection is lost;
    /// the grace only delays the terminal state.
    pub fn expiry_grace(mut self, grace: Duration) -> Self {
        self.expiry_grace = grace;
        self
    }

    /// How long [`ClientBuilder::connect`] waits for the first session (and its credentials'
    /// replies) before failing with [`Error::Timeout`].
    pub fn connection_timeout(mut self, timeout: Duration) -> Self {
        self.connection_timeout = timeout;
        self
    }

    /// Fails a request with [`Error::Timeout`] when its reply has not come within `timeout`
    /// of the call (including time spent waiting for a connection). Off by default.
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = Some(timeout);
        self
    }

    /// Accepts read-only servers (the Java client's `canBeReadOnly`): a member without a
    /// quorum that runs with `readonlymode.enabled` then serves this session's reads (state
    /// [`SessionState::ConnectedReadOnly`]; writes fail with NotReadOnly), while the client
    /// looks for a read-write member in the background (the other hosts' `isro`, as the
    /// Java client's `pingRwServer`, every 100 ms at first, backing off to 60 s) and moves the
    /// session there when one answers. A session that only read-only members ever answered is
    /// theirs alone: on a read-write member the client gets a new session (a new id; what the
    /// read-only member kept for it is gone), as the Java client does.
    pub fn read_only(mut self, allowed: bool) -> Self {
        self.read_only = allowed;
        self
    }

    /// Adds a credential (for the digest scheme, `b"user:password"`), sent on every
    /// connection before any request.
    pub fn auth(mut self, scheme: impl Into<String>, auth: Vec<u8>) -> Self {
        self.auth.push((scheme.into(), auth));
        self
    }

    /// Resumes an existing session (from [`Client::session_id`] and
    /// [`Client::session_password`] of another client) instead of creating one. If the
    /// session is gone, connecting fails with [`Error::SessionExpired`].
    pub fn session(mut self, session_id: SessionId, password: Bytes) -> Self {
        self.session = Some((session_id, password));
        self
    }

    /// Connects to `connect_string` (`host:port,host:port/chroot`) and waits until a session
    /// is established and the credentials were accepted.
    ///
    /// Needs a tokio runtime: it spawns the driver task.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future drops the half-made client, which closes its session.
    pub async fn connect(self, connect_string: &str) -> Result<Client> {
        let cs = ConnectString::parse(connect_string)
            .map_err(|e| Error::ConnectString(e.to_string()))?;
        let cfg = SessionConfig {
            session_timeout: self.session_timeout,
            expiry_grace: self.expiry_grace,
            read_only: self.read_only,
            chroot: cs.chroot.clone(),
            request_timeout: self.request_timeout,
        };
        let t = now();
        let mut session = Session::new(cfg, HostList::new(cs.hosts, rand::random()), t);
        if let Some((id, passwd)) = self.session {
            session.resume(id, passwd);
        }
        let mut auth_replies = Vec::new();
        for (scheme, auth) in self.auth {
            let (tx, rx) = oneshot::channel();
            session.add_auth(t, scheme, auth, tx);
            auth_replies.push(rx);
        }
        let mut states = session.subscribe();
        let (shared, wake_rx) = Shared::new(session);
        tokio::spawn(driver::run(shared.clone(), wake_rx));
        let client = Client::from_shared(shared, cs.chroot);
        let established = async {
            while let Some(state) = states.next_state().await {
                if state.is_connected() {
                    break;
                }
                if state.is_terminal() {
                    return Err(state.terminal_error());
                }
            }
            for rx in auth_replies {
                rx.await.map_err(|_| Error::Closed)??;
            }
            match client.state() {
                SessionState::Connected | SessionState::ConnectedReadOnly => Ok(()),
                s if s.is_terminal() => Err(s.terminal_error()),
                // Connected, then lost before the credentials were answered: keep going; the
                // client reconnects on its own.
                _ => Ok(()),
            }
        };
        match tokio::time::timeout(self.connection_timeout, established).await {
            Ok(Ok(())) => Ok(client),
            Ok(Err(e)) => Err(e),
            Err(_) => Err(Error::Timeout),
        }
    }
}
