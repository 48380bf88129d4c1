//! [`Client`]: a cheap handle on one ZooKeeper session.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::oneshot;
use zk_core::message::Request;
use zk_core::path::{validate_path, Chroot};
use zk_core::{SessionId, Zxid};

use crate::builder::ClientBuilder;
use crate::driver::{now, Shared};
use crate::error::{Error, Result};
use crate::session::{Hook, Reply};
use crate::state::{SessionState, StateStream};

/// A ZooKeeper client: a handle on one session, cheap to clone; every clone shares the
/// session, its connection and its watches.
///
/// Every operation queues its request when it is called, not when its future is first polled:
/// two calls made one after the other reach the server in that order, and many requests are in
/// flight at once on the one connection. Dropping an operation's future never cancels the
/// request (it may still be applied); it only discards the outcome.
///
/// The session is closed when [`Client::close`] is called or when the last clone is dropped.
#[derive(Debug, Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    shared: Arc<Shared>,
    chroot: Option<Chroot>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        let (tx, _rx) = oneshot::channel();
        self.shared.lock().close(now(), tx);
        self.shared.wake();
    }
}

/// A pending reply: the receiver of a queued request, or the error that kept it from being
/// queued.
pub(crate) type Call = Result<oneshot::Receiver<Result<Reply>>>;

impl Client {
    /// Connects with the default settings to `connect_string` (`"h1:2181,h2:2181/app"`: hosts,
    /// then an optional chroot) and waits for a session.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future drops the half-made client, which closes its session.
    pub async fn connect(connect_string: &str) -> Result<Client> {
        ClientBuilder::default().connect(connect_string).await
    }

    /// A builder for the other settings.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    pub(crate) fn from_shared(shared: Arc<Shared>, chroot: Option<Chroot>) -> Client {
        Client {
            inner: Arc::new(Inner { shared, chroot }),
        }
    }

    pub(crate) fn shared(&self) -> &Arc<Shared> {
        &self.inner.shared
    }

    /// The session's current state.
    pub fn state(&self) -> SessionState {
        self.shared().lock().state()
    }

    /// Every state transition from now on, starting with the current state.
    pub fn state_stream(&self) -> StateStream {
        self.shared().lock().subscribe()
    }

    /// The session id (0 before the first session is established).
    pub fn session_id(&self) -> SessionId {
        self.shared().lock().session_id()
    }

    /// The session password, which together with the id identifies the session.
    pub fn session_password(&self) -> Bytes {
        self.shared().lock().passwd()
    }

    /// The session timeout the server granted (the requested one before that).
    pub fn session_timeout(&self) -> Duration {
        self.shared().lock().negotiated_timeout()
    }

    /// The largest zxid seen in a reply (notifications and pings do not count).
    pub fn last_zxid(&self) -> Zxid {
        self.shared().lock().last_zxid()
    }

    /// The address of the server this client's session is connected to now; `None` while it
    /// is disconnected or (re)connecting. Changes when the client fails over to another
    /// member of the ensemble.
    pub fn connected_server(&self) -> Option<std::net::SocketAddr> {
        self.shared().lock().connected_server()
    }

    /// The chroot of the connect string, if any.
    pub fn chroot(&self) -> Option<&str> {
        self.inner.chroot.as_ref().map(Chroot::as_str)
    }

    /// How many requests wait for a reply or a connection.
    pub fn pending_requests(&self) -> usize {
        self.shared().lock().pending_requests()
    }

    /// Closes the session: ephemeral nodes go, watches end, and every later call fails with
    /// [`Error::Closed`]. Other clones are closed too.
    ///
    /// # Cancel safety
    ///
    /// The close is queued when called; dropping the future does not stop it.
    pub fn close(&self) -> impl std::future::Future<Output = Result<()>> + Send + 'static {
        let (tx, rx) = oneshot::channel();
        self.shared().lock().close(now(), tx);
        self.shared().wake();
        async move {
            match rx.await {
                Ok(Ok(_)) | Ok(Err(Error::Closed)) | Err(_) => Ok(()),
                Ok(Err(e)) => Err(e),
            }
        }
    }

    /// Ends the session on this side as if it had expired, without a word to the server:
    /// the state becomes [`SessionState::Expired`], every waiting request and watch fails with
    /// [`Error::SessionExpired`], and so does every later call. Other clones end too.
    ///
    /// This is Curator's simulated session expiration: an application that has decided the
    /// session is lost (it stayed disconnected for too long, whatever the client's own rule,
    /// see [`ClientBuilder::expiry_grace`]) moves its work to a new session, and the work
    /// still waiting on this one fails as it would on a real expiry. The server keeps the
    /// session, and its ephemeral nodes, until it expires it; to end it on the server, use
    /// [`Client::close`] while connected.
    pub fn expire_locally(&self) {
        self.shared().lock().expire_locally();
        self.shared().wake();
    }

    /// Validates a client path and maps it to the server path (chroot prepended).
    pub(crate) fn server_path(&self, path: &str, sequential: bool) -> Result<String> {
        validate_path(path, sequential)?;
        Ok(match &self.inner.chroot {
            Some(c) => c.prepend(path),
            None => path.to_owned(),
        })
    }

    pub(crate) fn chroot_ref(&self) -> Option<&Chroot> {
        self.inner.chroot.as_ref()
    }

    /// Queues `req` now and returns the receiver of its outcome.
    pub(crate) fn call(&self, req: &Request, hook: Hook) -> oneshot::Receiver<Result<Reply>> {
        let (tx, rx) = oneshot::channel();
        self.shared().lock().submit(now(), req, tx, hook);
        self.shared().wake();
        rx
    }

    /// Waits for the outcome of a call.
    pub(crate) async fn outcome(call: Call) -> Result<Reply> {
        call?.await.map_err(|_| Error::Closed)?
    }

    /// Sends `request` as it is and returns the `ReplyHeader.zxid` of its answer with the
    /// outcome, for history checkers (`zk-history`). The zxid is there whenever the server
    /// answered, also with an error code (a failed write, such as a BadVersion, is logged as
    /// an error transaction with its own zxid); it is `None` when no answer came (connection
    /// loss, timeout, expiry). The request's paths are sent as given: not validated, no chroot
    /// prepended. Set no watch with it: the client would not know the watch.
    ///
    /// # Cancel safety
    ///
    /// The request is queued when called; dropping the future discards the outcome only.
    pub fn request_with_zxid(
        &self,
        request: &Request,
    ) -> impl std::future::Future<Output = (Option<Zxid>, Result<zk_core::message::Response>)>
           + Send
           + 'static {
        let (tx, mut zxid) = oneshot::channel();
        let reply = self.call(request, Hook::ReplyZxid(tx));
        async move {
            let outcome = Client::outcome(Ok(reply)).await.map(|r| r.body);
            // The session sends the zxid just before the outcome, in the same step: it is here
            // now if the server answered.
            (zxid.try_recv().ok(), outcome)
        }
    }
}
