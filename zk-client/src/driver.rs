//! The tokio driver: one task per client that owns the socket and feeds the sans-IO
//! [`Session`] with bytes and time.
//!
//! The session lives behind a mutex shared with the [`Client`](crate::Client) handles, which
//! queue their frames synchronously (that is what fixes request order at call time) and wake
//! the driver. The driver connects, reads frames, writes everything queued in one batch, and
//! runs the timers.

use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use bytes::{Buf, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use zk_core::frame::FrameReader;

use crate::session::{ConnectAction, Next, Session, MAX_FRAME};

/// The session and the driver's wake-up line, shared by the driver and every handle.
#[derive(Debug)]
pub(crate) struct Shared {
    session: Mutex<Session>,
    wake: mpsc::Sender<()>,
}

impl Shared {
    /// Wraps a session; the receiver goes to [`run`].
    pub(crate) fn new(session: Session) -> (Arc<Shared>, mpsc::Receiver<()>) {
        let (wake, rx) = mpsc::channel(1);
        (
            Arc::new(Shared {
                session: Mutex::new(session),
                wake,
            }),
            rx,
        )
    }

    /// Locks the session. A panic while holding the lock leaves the session usable (every
    /// mutation is completed before a callback could panic), so poisoning is ignored.
    pub(crate) fn lock(&self) -> MutexGuard<'_, Session> {
        self.session.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Tells the driver that the session has something new (output, timers, close).
    pub(crate) fn wake(&self) {
        // A full channel already holds a wake-up; that is enough.
        let _ = self.wake.try_send(());
    }
}

/// The current time as the session sees it (tokio's clock, so paused-time tests work).
pub(crate) fn now() -> Instant {
    tokio::time::Instant::now().into_std()
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(tokio::time::Instant::from_std(d)).await,
        None => std::future::pending().await,
    }
}

/// Drives the session until it ends.
pub(crate) async fn run(shared: Arc<Shared>, mut wake_rx: mpsc::Receiver<()>) {
    loop {
        let action = shared.lock().poll_connect(now(), rand::random::<f64>());
        let ConnectAction::Connect {
            host,
            port,
            not_before,
            timeout,
        } = action
        else {
            return;
        };
        let pause = tokio::time::sleep_until(tokio::time::Instant::from_std(not_before));
        if with_timers(&shared, &mut wake_rx, pause).await.is_none() {
            return;
        }
        let attempt = tokio::time::timeout(timeout, connect(host.clone(), port));
        let stream = match with_timers(&shared, &mut wake_rx, attempt).await {
            None => return,
            Some(Ok(Ok(s))) => s,
            Some(other) => {
                tracing::debug!("connecting to {host}:{port} failed: {other:?}");
                shared.lock().handle_connect_failed(now());
                continue;
            }
        };
        tracing::debug!("connected to {host}:{port}");
        {
            let mut session = shared.lock();
            session.handle_connected(now());
            session.set_server(stream.peer_addr().ok());
        }
        serve(&shared, &mut wake_rx, stream).await;
        shared.lock().handle_disconnected(now());
    }
}

async fn connect(host: String, port: u16) -> std::io::Result<TcpStream> {
    let mut last = None;
    for addr in tokio::net::lookup_host((host.as_str(), port)).await? {
        match TcpStream::connect(addr).await {
            Ok(s) => {
                s.set_nodelay(true)?;
                return Ok(s);
            }
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| std::io::Error::other("host resolved to no address")))
}

/// Runs `fut` while keeping the session's timers (request timeouts, client-side expiry).
/// `None` when the session ended meanwhile.
async fn with_timers<F: Future>(
    shared: &Shared,
    wake_rx: &mut mpsc::Receiver<()>,
    fut: F,
) -> Option<F::Output> {
    tokio::pin!(fut);
    loop {
        let deadline = {
            let s = shared.lock();
            if s.is_ended() {
                return None;
            }
            s.poll_timeout()
        };
        tokio::select! {
            out = &mut fut => return Some(out),
            _ = sleep_until(deadline) => {
                let _ = shared.lock().handle_timeout(now());
            }
            _ = wake_rx.recv() => {}
        }
    }
}

/// The first pause of the search for a read-write server, and the longest (the Java client's
/// `pingRwServer` backoff: 100 ms doubling to 60 s).
const RW_SEARCH_FIRST: std::time::Duration = std::time::Duration::from_millis(100);
const RW_SEARCH_MAX: std::time::Duration = std::time::Duration::from_secs(60);
/// How long one probe (connect, `isro`, answer) may take.
const RW_PROBE_LIMIT: std::time::Duration = std::time::Duration::from_secs(1);

/// Asks each host in turn, with a growing pause between passes, whether it is a read-write
/// server (the `isro` four-letter word answers `rw`); returns the first one's index.
async fn find_read_write(hosts: Vec<(usize, (String, u16))>) -> usize {
    if hosts.is_empty() {
        return std::future::pending().await;
    }
    let mut pause = RW_SEARCH_FIRST;
    loop {
        tokio::time::sleep(pause).await;
        for (index, (host, port)) in &hosts {
            let probe = async {
                let mut s = connect(host.clone(), *port).await?;
                s.write_all(b"isro").await?;
                let mut answer = Vec::new();
                s.read_to_end(&mut answer).await?;
                std::io::Result::Ok(answer)
            };
            if let Ok(Ok(answer)) = tokio::time::timeout(RW_PROBE_LIMIT, probe).await {
                if answer.starts_with(b"rw") {
                    return *index;
                }
            }
        }
        pause = (pause * 2).min(RW_SEARCH_MAX);
    }
}

/// Serves one connection until it closes or the session drops it. On a read-only server it
/// also looks for a read-write one and drops the connection when one answers.
async fn serve(shared: &Shared, wake_rx: &mut mpsc::Receiver<()>, stream: TcpStream) {
    let (mut rd, mut wr) = stream.into_split();
    let frames = FrameReader::new(MAX_FRAME);
    let mut rbuf = BytesMut::with_capacity(64 * 1024);
    let mut wbuf: Vec<u8> = Vec::new();
    let mut wpos = 0;
    let mut search: Option<std::pin::Pin<Box<dyn Future<Output = usize> + Send>>> = None;
    loop {
        if search.is_none() {
            if let Some(hosts) = shared.lock().read_write_candidates() {
                search = Some(Box::pin(find_read_write(hosts)));
            }
        }
        let deadline = {
            let mut s = shared.lock();
            if wpos == wbuf.len() {
                wbuf.clear();
                wpos = 0;
            }
            if !s.transmit_is_empty() {
                wbuf.extend_from_slice(&s.take_transmit());
            }
            if s.is_ended() {
                return;
            }
            if s.take_move() {
                tracing::info!("leaving this server for the new host list");
                return;
            }
            s.poll_timeout()
        };
        tokio::select! {
            r = rd.read_buf(&mut rbuf) => {
                match r {
                    Ok(0) | Err(_) => return,
                    Ok(_) => {}
                }
                let mut s = shared.lock();
                let t = now();
                loop {
                    let (used, next) = match frames.next_frame(&rbuf) {
                        Ok(Some((used, payload))) => (used, s.handle_frame(t, payload)),
                        Ok(None) => break,
                        Err(e) => {
                            tracing::warn!("bad frame from server: {e}");
                            return;
                        }
                    };
                    rbuf.advance(used);
                    if next == Next::Disconnect {
                        return;
                    }
                }
            }
            r = wr.write(&wbuf[wpos..]), if wpos < wbuf.len() => {
                match r {
                    Ok(n) if n > 0 => wpos += n,
                    _ => return,
                }
            }
            _ = wake_rx.recv() => {}
            _ = sleep_until(deadline) => {
                if shared.lock().handle_timeout(now()) == Next::Disconnect {
                    return;
                }
            }
            index = async { search.as_mut().expect("checked").await }, if search.is_some() => {
                shared.lock().found_read_write(index);
                return;
            }
        }
    }
}
