//! Support for the zk-client integration suite: the [`TestServer`] abstraction the suite is
//! written against (so it runs against Apache ZooKeeper now and zk-server later), and a tiny
//! TCP proxy that can cut, refuse or partition connections.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

use crate::ApacheZk;

/// A ZooKeeper server the client suite can start, stop and restart.
///
/// Requirements: a server (standalone, or an ensemble whose connect string names every
/// member) on loopback ports, `zookeeper.extendedTypesEnabled` (TTL nodes), the super digest
/// `super:test`, and a restart that keeps the ports and the data (sessions included).
pub trait TestServer: Sized + Send + 'static {
    /// A name for messages.
    const NAME: &'static str;

    /// Starts a fresh server.
    fn start() -> impl Future<Output = Self> + Send;

    /// The client address (of one member, for an ensemble).
    fn addr(&self) -> SocketAddr;

    /// Stops the server (abruptly), then starts it again on the same port and data.
    fn restart(&mut self) -> impl Future<Output = ()> + Send;

    /// The connect string, `127.0.0.1:PORT` (every member's, for an ensemble).
    fn connect_string(&self) -> String {
        self.addr().to_string()
    }
}

/// Apache ZooKeeper 3.8 (Debian's package) as a [`TestServer`].
pub struct ApacheServer(Option<ApacheZk>);

impl TestServer for ApacheServer {
    const NAME: &'static str = "Apache ZooKeeper 3.8";

    async fn start() -> Self {
        let zk = tokio::task::spawn_blocking(|| ApacheZk::start(&[]))
            .await
            .expect("the start thread does not panic")
            .expect("start Apache ZooKeeper");
        ApacheServer(Some(zk))
    }

    fn addr(&self) -> SocketAddr {
        self.0.as_ref().expect("server present").addr()
    }

    async fn restart(&mut self) {
        let mut zk = self.0.take().expect("server present");
        let zk = tokio::task::spawn_blocking(move || {
            zk.restart().expect("restart Apache ZooKeeper");
            zk
        })
        .await
        .expect("the restart thread does not panic");
        self.0 = Some(zk);
    }
}

/// zk-server (in process, durable on a fresh data directory) as a [`TestServer`]: a loopback
/// port outside the ephemeral range ([`crate::ports::unassigned_port`]), TTL nodes on, the super digest `super:test`
/// ([`zk_server::ServerConfig::for_tests`]); restart = shutdown, then start again on the same
/// port and data directory (sessions and data are recovered from disk).
pub struct ZkServer {
    server: Option<zk_server::Server>,
    cfg: zk_server::ServerConfig,
}

impl TestServer for ZkServer {
    const NAME: &'static str = "zk-server";

    async fn start() -> Self {
        let mut cfg = zk_server::ServerConfig::for_tests(crate::fresh_data_dir("suite"));
        // A restart must get the same port back: take one outside the ephemeral range, which
        // no port-0 bind can take while the server is down, and another one on a clash.
        let mut last = None;
        for _ in 0..5 {
            cfg.client_port = crate::ports::unassigned_port();
            match zk_server::Server::start(cfg.clone()).await {
                Ok(server) => {
                    return ZkServer {
                        server: Some(server),
                        cfg,
                    }
                }
                Err(e) => last = Some(e),
            }
        }
        panic!("start zk-server: {last:?}");
    }

    fn addr(&self) -> SocketAddr {
        self.server.as_ref().expect("server present").addr()
    }

    async fn restart(&mut self) {
        if let Some(s) = self.server.take() {
            s.shutdown().await;
        }
        let mut last = None;
        for _ in 0..50 {
            match zk_server::Server::start(self.cfg.clone()).await {
                Ok(s) => {
                    self.server = Some(s);
                    return;
                }
                Err(e) => last = Some(e),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("restart zk-server: {last:?}");
    }
}

impl Drop for ZkServer {
    fn drop(&mut self) {
        drop(self.server.take());
        let _ = std::fs::remove_dir_all(&self.cfg.data_dir);
    }
}

/// A TCP proxy in front of a server: [`TcpProxy::cut`] closes every connection,
/// [`TcpProxy::reject`] closes new connections at once, [`TcpProxy::partition`] holds every
/// byte until healed, [`TcpProxy::mute_replies`] drops what the server sends (requests still
/// reach it and are applied, their replies are lost).
pub struct TcpProxy {
    addr: SocketAddr,
    state: Arc<ProxyState>,
    accept: JoinHandle<()>,
}

struct ProxyState {
    upstream: SocketAddr,
    partition: tokio::sync::watch::Sender<bool>,
    reject: AtomicBool,
    mute: AtomicBool,
    conns: Mutex<Vec<JoinHandle<()>>>,
}

impl TcpProxy {
    /// Starts a proxy on a free loopback port forwarding to `upstream`.
    pub async fn start(upstream: SocketAddr) -> TcpProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let addr = listener.local_addr().expect("proxy address");
        let state = Arc::new(ProxyState {
            upstream,
            partition: tokio::sync::watch::Sender::new(false),
            reject: AtomicBool::new(false),
            mute: AtomicBool::new(false),
            conns: Mutex::new(Vec::new()),
        });
        let st = state.clone();
        let accept = tokio::spawn(async move {
            while let Ok((down, _)) = listener.accept().await {
                if st.reject.load(Ordering::SeqCst) {
                    drop(down);
                    continue;
                }
                let st2 = st.clone();
                let task = tokio::spawn(async move { pipe(st2, down).await });
                st.conns.lock().expect("not poisoned").push(task);
            }
        });
        TcpProxy {
            addr,
            state,
            accept,
        }
    }

    /// The proxy's address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Closes every current connection.
    pub fn cut(&self) {
        for t in self.state.conns.lock().expect("not poisoned").drain(..) {
            t.abort();
        }
    }

    /// Starts or stops closing new connections as soon as they are accepted.
    pub fn reject(&self, on: bool) {
        self.state.reject.store(on, Ordering::SeqCst);
    }

    /// Starts or heals a partition: while it lasts, bytes are held in both directions (as
    /// TCP keeps them until a partition heals), and delivered once it is healed.
    pub fn partition(&self, on: bool) {
        self.state.partition.send_replace(on);
    }

    /// Starts or stops dropping every byte from the server to the client.
    pub fn mute_replies(&self, on: bool) {
        self.state.mute.store(on, Ordering::SeqCst);
    }
}

impl Drop for TcpProxy {
    fn drop(&mut self) {
        self.accept.abort();
        self.cut();
    }
}

async fn pipe(st: Arc<ProxyState>, mut down: TcpStream) {
    let Ok(mut up) = TcpStream::connect(st.upstream).await else {
        let _ = down.shutdown().await;
        return;
    };
    let (mut dr, mut dw) = down.split();
    let (mut ur, mut uw) = up.split();
    let a = copy(&st, &mut dr, &mut uw, false);
    let b = copy(&st, &mut ur, &mut dw, true);
    tokio::select! {
        _ = a => {}
        _ = b => {}
    }
}

/// Copies one direction; `replies` marks the server-to-client one, which muting drops.
async fn copy<R, W>(st: &ProxyState, r: &mut R, w: &mut W, replies: bool)
where
    R: tokio::io::AsyncRead + Unpin,
    W: tokio::io::AsyncWrite + Unpin,
{
    use tokio::io::AsyncReadExt;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match r.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        let mut partition = st.partition.subscribe();
        if partition.wait_for(|on| !*on).await.is_err() {
            return;
        }
        if replies && st.mute.load(Ordering::SeqCst) {
            continue;
        }
        if w.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}

/// Runs `fut` with a time limit, panicking with `what` when it is exceeded.
/// Logs through `tracing` to the test's output when `RUST_LOG` is set.
pub async fn within<F: Future>(limit: Duration, what: &str, fut: F) -> F::Output {
    crate::init_tracing();
    match tokio::time::timeout(limit, fut).await {
        Ok(v) => v,
        Err(_) => panic!("timed out after {limit:?}: {what}"),
    }
}
