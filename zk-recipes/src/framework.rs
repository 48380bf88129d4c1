//! [`Framework`]: a zk-client session with Curator's framework around it: retry policy,
//! connection states, error policy, namespace, parents as containers, protected creation and
//! guaranteed delete.

use std::fmt;
use std::future::Future;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use tokio::runtime::Handle;
use tokio::sync::{broadcast, watch};
use zk_client::{Client, ClientBuilder, SessionId};

use crate::limits::{DEFAULT_RETRY_BASE, DEFAULT_RETRY_COUNT, STATE_EVENT_CAPACITY};
use crate::retry::{is_retryable, ExponentialBackoffRetry, RetryPolicy};

mod cleanup;
mod session_task;

use crate::state::{ConnectionState, ConnectionStateMachine, ErrorPolicy};
pub(crate) use cleanup::mkdirs;
use session_task::state_task;

/// A ZooKeeper session with Curator's framework around it (`CuratorFramework`). Cheap to
/// clone; every recipe holds one.
///
/// Every path a recipe or a [`Framework`] method takes or returns is relative to the
/// namespace, if one is set. [`crate::Fence`] paths and [`Framework::client`] are not: they
/// are the client's own paths.
///
/// # Connection states
///
/// A background task maps the client's session states to Curator's
/// [`ConnectionState`]s (Connected → CONNECTED the first time, RECONNECTED after;
/// Disconnected → SUSPENDED; ConnectedReadOnly → READ_ONLY; Expired or AuthFailed → LOST) and
/// raises LOST itself when a suspension lasts the negotiated session timeout
/// (`simulatedSessionExpirationPercent`, 100 by default). Recipes read them from
/// [`Framework::state_events`] and judge them with the [`ErrorPolicy`].
///
/// # Sessions
///
/// zk-client ends for good when its session expires. Built with
/// [`FrameworkBuilder::connect`], the framework then opens a new session (as Curator does) and
/// publishes RECONNECTED; recipes notice their ephemeral nodes are gone and start again. Built
/// from an existing [`Client`] ([`Framework::new`], `From<Client>`), it cannot, and its recipes
/// stop after LOST.
///
/// # Retries
///
/// [`Framework::retry`] retries connection loss and timeouts (and, when sessions are
/// re-created, session expiry) per the [`RetryPolicy`]; every other error is an outcome and is
/// returned at once.
#[derive(Clone)]
pub struct Framework {
    inner: Arc<Inner>,
}

struct Inner {
    client: RwLock<Client>,
    reconnect: Option<(String, ClientBuilder)>,
    namespace: Option<String>,
    retry: Arc<dyn RetryPolicy>,
    error_policy: ErrorPolicy,
    default_data: Vec<u8>,
    events: broadcast::Sender<ConnectionState>,
    state: watch::Sender<Option<ConnectionState>>,
    closed: watch::Sender<bool>,
    runtime: Handle,
}

impl fmt::Debug for Framework {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Framework")
            .field("namespace", &self.inner.namespace)
            .field("state", &*self.inner.state.borrow())
            .finish_non_exhaustive()
    }
}

impl From<Client> for Framework {
    fn from(client: Client) -> Framework {
        Framework::new(client)
    }
}

impl From<&Client> for Framework {
    fn from(client: &Client) -> Framework {
        Framework::new(client.clone())
    }
}

impl From<&Framework> for Framework {
    fn from(fw: &Framework) -> Framework {
        fw.clone()
    }
}

/// Configures a [`Framework`] (`CuratorFrameworkFactory.builder()`).
#[derive(Debug, Clone)]
pub struct FrameworkBuilder {
    namespace: Option<String>,
    retry: Arc<dyn RetryPolicy>,
    error_policy: ErrorPolicy,
    default_data: Vec<u8>,
    simulated_expiration_percent: u32,
    client: ClientBuilder,
}

impl Default for FrameworkBuilder {
    fn default() -> Self {
        FrameworkBuilder {
            namespace: None,
            retry: Arc::new(ExponentialBackoffRetry::new(
                DEFAULT_RETRY_BASE,
                DEFAULT_RETRY_COUNT,
            )),
            error_policy: ErrorPolicy::Standard,
            default_data: Vec::new(),
            simulated_expiration_percent: 100,
            client: ClientBuilder::default(),
        }
    }
}

impl FrameworkBuilder {
    /// Prefixes every recipe path with `/namespace` (no leading slash, like Curator).
    pub fn namespace(mut self, namespace: &str) -> Self {
        let ns = namespace.trim_matches('/');
        self.namespace = (!ns.is_empty()).then(|| format!("/{ns}"));
        self
    }

    /// The retry policy (default: exponential backoff, 100 ms base, 10 retries).
    pub fn retry_policy(mut self, policy: impl RetryPolicy + 'static) -> Self {
        self.retry = Arc::new(policy);
        self
    }

    /// The error policy (default [`ErrorPolicy::Standard`]).
    pub fn error_policy(mut self, policy: ErrorPolicy) -> Self {
        self.error_policy = policy;
        self
    }

    /// The data of nodes a recipe creates without data of its own (Curator writes the local
    /// IP address; the default here is empty).
    pub fn default_data(mut self, data: Vec<u8>) -> Self {
        self.default_data = data;
        self
    }

    /// Curator's `simulatedSessionExpirationPercent` (default 100; 0 disables).
    pub fn simulated_expiration_percent(mut self, percent: u32) -> Self {
        self.simulated_expiration_percent = percent;
        self
    }

    /// Client settings used by [`FrameworkBuilder::connect`] for every session.
    pub fn client_builder(mut self, client: ClientBuilder) -> Self {
        self.client = client;
        self
    }

    /// Wraps an existing client. When its session ends the framework publishes LOST and its
    /// recipes stop: it cannot open a new session.
    ///
    /// Must be called inside a tokio runtime (it spawns the state task).
    pub fn build(self, client: Client) -> Framework {
        self.finish(client, None)
    }

    /// Connects to `connect_string`; when a session expires (or is declared lost after a
    /// suspension), the framework opens a new one, as Curator does.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future drops the half-made client, which closes its session.
    pub async fn connect(self, connect_string: &str) -> Result<Framework, zk_client::Error> {
        let client = self.client.clone().connect(connect_string).await?;
        let reconnect = Some((connect_string.to_owned(), self.client.clone()));
        Ok(self.finish(client, reconnect))
    }

    fn finish(self, client: Client, reconnect: Option<(String, ClientBuilder)>) -> Framework {
        let (events, _) = broadcast::channel(STATE_EVENT_CAPACITY);
        let inner = Arc::new(Inner {
            client: RwLock::new(client),
            reconnect,
            namespace: self.namespace,
            retry: self.retry,
            error_policy: self.error_policy,
            default_data: self.default_data,
            events,
            state: watch::channel(None).0,
            closed: watch::channel(false).0,
            runtime: Handle::current(),
        });
        let machine = ConnectionStateMachine::new(
            inner_client(&inner).session_timeout(),
            self.simulated_expiration_percent,
        );
        inner
            .runtime
            .spawn(state_task(Arc::downgrade(&inner), machine));
        Framework { inner }
    }
}

fn inner_client(inner: &Inner) -> Client {
    // A poisoned lock only means a panic happened while swapping; the client is still valid.
    inner
        .client
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .clone()
}

impl Framework {
    /// Wraps `client` with the default settings (see [`FrameworkBuilder::build`]).
    pub fn new(client: Client) -> Framework {
        FrameworkBuilder::default().build(client)
    }

    /// A builder for the other settings.
    pub fn builder() -> FrameworkBuilder {
        FrameworkBuilder::default()
    }

    /// The current client (a new one after the framework replaced an expired session).
    pub fn client(&self) -> Client {
        inner_client(&self.inner)
    }

    /// The current session id.
    pub fn session_id(&self) -> SessionId {
        self.client().session_id()
    }

    /// The namespace, as a path prefix (`/app`), if any.
    pub fn namespace(&self) -> Option<&str> {
        self.inner.namespace.as_deref()
    }

    /// The error policy recipes consult.
    pub fn error_policy(&self) -> ErrorPolicy {
        self.inner.error_policy
    }

    /// The retry policy.
    pub fn retry_policy(&self) -> &Arc<dyn RetryPolicy> {
        &self.inner.retry
    }

    /// The data recipes write when they have none of their own.
    pub fn default_data(&self) -> &[u8] {
        &self.inner.default_data
    }

    /// True when a session can be replaced after it expires.
    pub fn recreates_sessions(&self) -> bool {
        self.inner.reconnect.is_some()
    }

    /// The last connection state published (`None` before the first).
    pub fn connection_state(&self) -> Option<ConnectionState> {
        *self.inner.state.borrow()
    }

    /// Every connection state published from now on. Each state is stored (see
    /// [`Framework::connection_state`]) before it is broadcast, so subscribing first and then
    /// reading the current state misses nothing. A receiver that falls more than
    /// [`STATE_EVENT_CAPACITY`] events behind gets `Lagged`.
    pub fn state_events(&self) -> broadcast::Receiver<ConnectionState> {
        self.inner.events.subscribe()
    }

    /// Waits until the framework is connected (CONNECTED, RECONNECTED or READ_ONLY), or the
    /// timeout passes; true when connected.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe.
    pub async fn block_until_connected(&self, timeout: Duration) -> bool {
        let mut rx = self.inner.state.subscribe();
        let connected = async move {
            rx.wait_for(|s| s.is_some_and(ConnectionState::is_connected))
                .await
                .is_ok()
        };
        matches!(tokio::time::timeout(timeout, connected).await, Ok(true))
    }

    /// True once [`Framework::close`] was called.
    pub fn is_closed(&self) -> bool {
        *self.inner.closed.borrow()
    }

    /// A receiver that changes to true when the framework is closed.
    pub(crate) fn closed_signal(&self) -> watch::Receiver<bool> {
        self.inner.closed.subscribe()
    }

    /// Closes the framework and its session: ephemeral nodes go, recipes stop.
    ///
    /// # Cancel safety
    ///
    /// The close is started when called.
    pub fn close(&self) -> impl Future<Output = ()> + Send + 'static {
        self.inner.closed.send_replace(true);
        let close = self.client().close();
        async move {
            let _ = close.await;
        }
    }

    /// The client path of a recipe path (namespace prepended).
    pub fn fix_path(&self, p: &str) -> String {
        fix_path(self.namespace(), p)
    }

    /// The recipe path of a client path (namespace removed).
    pub fn unfix_path(&self, p: &str) -> String {
        unfix_path(self.namespace(), p)
    }

    pub(crate) fn spawn<F>(&self, f: F) -> tokio::task::JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.inner.runtime.spawn(f)
    }

    /// Runs `op` with the current client until it succeeds, fails with a non-retryable error,
    /// or the retry policy gives up (`RetryLoop`).
    ///
    /// # Cancel safety
    ///
    /// Dropping the future stops retrying; an attempt already sent may still be applied.
    pub async fn retry<T, F, Fut>(&self, mut op: F) -> Result<T, zk_client::Error>
    where
        F: FnMut(Client) -> Fut,
        Fut: Future<Output = Result<T, zk_client::Error>>,
    {
        let start = Instant::now();
        let mut n = 0;
        loop {
            match op(self.client()).await {
                Err(e) if is_retryable(&e, self.recreates_sessions()) && !self.is_closed() => {
                    let sleep =
                        self.inner
                            .retry
                            .next_sleep(n, start.elapsed(), &mut rand::thread_rng());
                    match sleep {
                        Some(d) => tokio::time::sleep(d).await,
                        None => return Err(e),
                    }
                    n += 1;
                }
                other => return other,
            }
        }
    }

    /// Creates `path` and every missing ancestor as CONTAINER nodes with empty data
    /// (`ZKPaths.mkdirs(..., asContainers = true)`; `EnsureContainers`).
    ///
    /// # Cancel safety
    ///
    /// Dropping the future may leave some ancestors created.
    pub async fn ensure_path(&self, p: &str) -> Result<(), zk_client::Error> {
        let full = self.fix_path(p);
        self.retry(|c| mkdirs(c, full.clone(), true)).await
    }
}

fn fix_path(ns: Option<&str>, p: &str) -> String {
    match ns {
        Some(ns) if p == "/" => ns.to_owned(),
        Some(ns) => format!("{ns}{p}"),
        None => p.to_owned(),
    }
}

fn unfix_path(ns: Option<&str>, p: &str) -> String {
    match ns.and_then(|ns| p.strip_prefix(ns)) {
        Some("") => "/".to_owned(),
        Some(rest) if rest.starts_with('/') => rest.to_owned(),
        _ => p.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespace_paths() {
        assert_eq!(fix_path(Some("/app"), "/a/b"), "/app/a/b");
        assert_eq!(fix_path(Some("/app"), "/"), "/app");
        assert_eq!(fix_path(None, "/a"), "/a");
        assert_eq!(unfix_path(Some("/app"), "/app/a/b"), "/a/b");
        assert_eq!(unfix_path(Some("/app"), "/app"), "/");
        assert_eq!(unfix_path(Some("/app"), "/apple"), "/apple");
        assert_eq!(unfix_path(None, "/a"), "/a");
    }
}
