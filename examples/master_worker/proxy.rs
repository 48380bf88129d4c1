//! A loopback TCP proxy in front of one simulated process, so the demo can crash it for real.
//!
//! A crashed process stops talking without closing its session. To get exactly that inside one
//! OS process, each master and worker reaches the ensemble through its own proxy. Crashing it
//! cuts every connection and refuses new ones: the server hears nothing more from the session
//! and expires it after the session timeout, which deletes its ephemeral nodes, as it would for
//! a process that died.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::copy_bidirectional;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use zk_core::path::ConnectString;

/// One process's way to the ensemble.
#[derive(Debug)]
pub(crate) struct Proxy {
    connect: String,
    dead: watch::Sender<bool>,
    task: JoinHandle<()>,
    /// One clone per open pipe.
    pipes: Arc<()>,
    /// The server the newest pipe reaches.
    upstream: Arc<Upstream>,
}

/// Which server the newest pipe goes to: (pipe number, its server's address).
#[derive(Debug, Default)]
struct Upstream {
    next: AtomicU64,
    current: Mutex<Option<(u64, SocketAddr)>>,
}

impl Upstream {
    fn set(&self, pipe: u64, addr: SocketAddr) {
        *self.current.lock().unwrap_or_else(|e| e.into_inner()) = Some((pipe, addr));
    }

    fn clear(&self, pipe: u64) {
        let mut current = self.current.lock().unwrap_or_else(|e| e.into_inner());
        if current.is_some_and(|(p, _)| p == pipe) {
            *current = None;
        }
    }
}

impl Proxy {
    /// Listens on 127.0.0.1 and forwards each connection to the hosts of `hosts`, in turn.
    pub(crate) async fn start(hosts: &str) -> anyhow::Result<Proxy> {
        let parsed = ConnectString::parse(hosts)?;
        anyhow::ensure!(!parsed.hosts.is_empty(), "no host in {hosts}");
        let upstream: Vec<String> = parsed
            .hosts
            .iter()
            .map(|(h, p)| format!("{h}:{p}"))
            .collect();
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr: SocketAddr = listener.local_addr()?;
        let chroot = parsed
            .chroot
            .map(|c| c.as_str().to_owned())
            .unwrap_or_default();
        let (dead, dead_rx) = watch::channel(false);
        let pipes = Arc::new(());
        let current = Arc::new(Upstream::default());
        let task = tokio::spawn(accept(
            listener,
            upstream,
            dead_rx,
            pipes.clone(),
            current.clone(),
        ));
        Ok(Proxy {
            connect: format!("{addr}{chroot}"),
            dead,
            task,
            pipes,
            upstream: current,
        })
    }

    /// The connect string that goes through this proxy.
    pub(crate) fn connect_string(&self) -> &str {
        &self.connect
    }

    /// The address of the server the newest open pipe reaches, if one is open.
    pub(crate) fn upstream(&self) -> Option<SocketAddr> {
        self.upstream
            .current
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .map(|(_, a)| a)
    }

    /// Cuts every connection and refuses new ones, for good. Returns once no byte can pass
    /// any more (or after a second).
    pub(crate) async fn crash(&self) {
        let _ = self.dead.send(true);
        let deadline = Instant::now() + Duration::from_secs(1);
        // The accept loop holds one clone; each open pipe another.
        while Arc::strong_count(&self.pipes) > 2 && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = self.dead.send(true);
        self.task.abort();
    }
}

async fn accept(
    listener: TcpListener,
    upstream: Vec<String>,
    dead: watch::Receiver<bool>,
    pipes: Arc<()>,
    current: Arc<Upstream>,
) {
    // Each process starts at a random member, as a client shuffles its connect string, so
    // the sessions spread over the ensemble.
    let mut next = rand::random::<u32>() as usize % upstream.len();
    loop {
        let Ok((client, _)) = listener.accept().await else {
            return;
        };
        if *dead.borrow() {
            // Refused: dropped at once.
            continue;
        }
        let target = upstream[next % upstream.len()].clone();
        next += 1;
        tokio::spawn(pipe(
            client,
            target,
            dead.clone(),
            pipes.clone(),
            current.clone(),
        ));
    }
}

async fn pipe(
    mut client: TcpStream,
    target: String,
    mut dead: watch::Receiver<bool>,
    _open: Arc<()>,
    current: Arc<Upstream>,
) {
    let Ok(mut server) = TcpStream::connect(&target).await else {
        return;
    };
    let number = current.next.fetch_add(1, Ordering::Relaxed);
    if let Ok(addr) = server.peer_addr() {
        current.set(number, addr);
    }
    tokio::select! {
        _ = copy_bidirectional(&mut client, &mut server) => {}
        _ = dead.wait_for(|d| *d) => {}
    }
    current.clear(number);
}
