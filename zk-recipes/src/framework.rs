//! [`Framework`]: a zk-client session with Curator's framework around it: retry policy,
//! connection states, error policy, namespace, parents as containers, protected creation and
//! guaranteed delete.

use std::fmt;
use std::future::Future;
use std::sync::{Arc, RwLock, Weak};
use std::time::{Duration, Instant};

use tokio::runtime::Handle;
use tokio::sync::{broadcast, watch};
use zk_client::{Client, ClientBuilder, SessionId, SessionState};
use zk_core::path;

use crate::retry::{is_retryable, ExponentialBackoffRetry, RetryPolicy};
use crate::state::{ConnectionState, ConnectionStateMachine, ErrorPolicy};

/// How many connection-state events a slow recipe may lag behind before it sees `Lagged`
/// (and then treats the gap as a suspension).
pub const STATE_EVENT_CAPACITY: usize = 64;
/// The longest pause between two attempts of a guaranteed delete.
pub const GUARANTEED_DELETE_MAX_PAUSE: Duration = Duration::from_secs(2);

/// A ZooKeeper session with Curator's framework around it (`CuratorFramework`). Cheap to
/// clone; every recipe holds one.
///
/// Every path a recipe or a [`Framework`] method takes or returns is relative to the
/// namespace, if one is set. [`crate::Fence`] paths and [`Framework::client`] are not: they
/// are the client's own paths.
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
            retry: Arc::new(ExponentialBackoffRetry::new(Duration::from_millis(100), 10)),
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

/// Follows the session states of the current client, publishes connection states, raises the
/// simulated LOST, and opens a new session after a LOST when the framework can.
async fn state_task(weak: Weak<Inner>, mut machine: ConnectionStateMachine) {
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
        let _ = old.close().await;
        let mut pause = Duration::from_millis(100);
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
                    pause = (pause * 2).min(Duration::from_secs(2));
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

    /// Every connection state published from now on. A receiver that falls more than
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

    /// Deletes `path` (any version) until it succeeds or the node is gone, in the background,
    /// retrying after connection failures for as long as the client lives
    /// (`delete().guaranteed()`). The delete is queued when this is called; the returned
    /// future (which need not be awaited) gives the first attempt's outcome.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future does not stop the background delete.
    pub fn guaranteed_delete(
        &self,
        p: &str,
    ) -> impl Future<Output = Result<(), zk_client::Error>> + Send + 'static {
        self.guaranteed_delete_client_path(self.fix_path(p))
    }

    pub(crate) fn guaranteed_delete_client_path(
        &self,
        full: String,
    ) -> impl Future<Output = Result<(), zk_client::Error>> + Send + 'static {
        let first = self.client().delete(&full, None);
        let (tx, rx) = tokio::sync::oneshot::channel();
        let fw = self.clone();
        self.spawn(async move {
            let mut tx = Some(tx);
            let mut attempt = Some(first);
            let mut pause = Duration::from_millis(50);
            loop {
                let fut = match attempt.take() {
                    Some(f) => f,
                    None => fw.client().delete(&full, None),
                };
                let r = match fut.await {
                    Err(zk_client::Error::NoNode) => Ok(()),
                    r => r,
                };
                let retry = matches!(&r, Err(e) if is_retryable(e, fw.recreates_sessions()));
                if let Some(tx) = tx.take() {
                    let _ = tx.send(r.clone());
                }
                if !retry || fw.is_closed() {
                    if let Err(e) = r {
                        tracing::debug!(path = %full, error = %e, "guaranteed delete stops");
                    }
                    return;
                }
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(GUARANTEED_DELETE_MAX_PAUSE);
            }
        });
        async move { rx.await.unwrap_or(Err(zk_client::Error::Closed)) }
    }

    /// Finds and deletes, in the background, every child of `parent` (client path) whose name
    /// starts with `prefix` (`FindAndDeleteProtectedNodeInBackground`).
    pub(crate) fn find_and_delete_protected(&self, parent: String, prefix: String) {
        let fw = self.clone();
        self.spawn(async move {
            let children = fw
                .retry(|c| {
                    let parent = parent.clone();
                    async move { c.get_children(&parent).await }
                })
                .await;
            for name in children.unwrap_or_default() {
                if name.starts_with(&prefix) {
                    drop(fw.guaranteed_delete_client_path(path::join(&parent, &name)));
                }
            }
        });
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

/// Creates `full` and its missing ancestors (containers or persistent), ignoring NodeExists.
pub(crate) async fn mkdirs(
    client: Client,
    full: String,
    containers: bool,
) -> Result<(), zk_client::Error> {
    let mode = if containers {
        zk_client::CreateMode::Container
    } else {
        zk_client::CreateMode::Persistent
    };
    let mut at = 0;
    while at < full.len() {
        let end = full[at + 1..].find('/').map_or(full.len(), |i| at + 1 + i);
        let prefix = &full[..end];
        match client.exists(prefix).await? {
            Some(_) => {}
            None => match client.create(prefix, b"", mode).await {
                Ok(_) | Err(zk_client::Error::NodeExists) => {}
                Err(e) => return Err(e),
            },
        }
        at = end;
    }
    Ok(())
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
