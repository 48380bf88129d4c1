//! The engine task: owns the sans-IO [`Core`], feeds it connection events with the wall clock,
//! sends applied transactions to the log thread and releases outgoing frames once the log is
//! durable up to the zxid each frame may reveal.

use std::net::SocketAddr;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tokio::sync::{mpsc, oneshot, watch};
use zk_core::proto::ConnectRequest;

use crate::config::ServerConfig;
use crate::core::{ConnId, Core};
use crate::fourlw;

use super::clients::Clients;
use super::logger::{Logger, Synced};

/// The wall clock in milliseconds.
///
/// It is read once and then advanced by the monotonic clock, so a wall-clock jump cannot
/// expire every session at once.
pub(crate) fn now_ms() -> i64 {
    static START: std::sync::OnceLock<(i64, Instant)> = std::sync::OnceLock::new();
    let (wall, mono) = START.get_or_init(|| {
        let wall = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64);
        (wall, Instant::now())
    });
    wall + mono.elapsed().as_millis() as i64
}

/// What a connection task receives.
#[derive(Debug)]
pub(crate) enum ToConn {
    /// Bytes to write, and how many of them are replies to requests.
    Frames(Vec<u8>, usize),
    /// Flush, then close.
    Close,
}

/// What the engine receives.
#[derive(Debug)]
pub(crate) enum ToEngine {
    Accept {
        conn: ConnId,
        remote: SocketAddr,
        tx: mpsc::UnboundedSender<ToConn>,
        /// Bytes handed to the connection and not yet written to its socket.
        queued: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    },
    Connect {
        conn: ConnId,
        req: ConnectRequest,
    },
    Request {
        conn: ConnId,
        xid: i32,
        op: i32,
        body: Vec<u8>,
    },
    FourLetter {
        cmd: &'static str,
        /// What followed the word on its line (`ydld`'s target).
        arg: String,
        reply: oneshot::Sender<String>,
    },
    Closed {
        conn: ConnId,
    },
}

pub(crate) struct Engine {
    core: Core,
    cfg: ServerConfig,
    clients: Clients,
    synced: i64,
    logger: Logger,
    synced_rx: watch::Receiver<Synced>,
}

/// Messages handled per wake-up before the engine flushes (bounds latency under load).
const BATCH: usize = 256;

impl Engine {
    pub(crate) fn new(
        core: Core,
        cfg: ServerConfig,
        logger: Logger,
        synced_rx: watch::Receiver<Synced>,
    ) -> Engine {
        let synced = core.last_zxid().0;
        let max_queued = cfg.max_queued_bytes_per_connection;
        Engine {
            core,
            cfg,
            clients: Clients::new(max_queued),
            synced,
            logger,
            synced_rx,
        }
    }

    /// Runs until `stop` flips or every sender is gone; flips `stop` itself when it ends on its
    /// own (a failed log), so the listener and the connections stop too.
    pub(crate) async fn run(
        mut self,
        mut rx: mpsc::Receiver<ToEngine>,
        stop: std::sync::Arc<watch::Sender<bool>>,
    ) {
        let tick_ms = self.cfg.tick_time_ms.clamp(1, 2000);
        let tick = Duration::from_millis(tick_ms);
        // Wake at bucket boundaries (multiples of tickTime), where sessions expire, so a
        // session dies between T and T + tickTime after its last packet, as in Apache ZooKeeper.
        let now = now_ms();
        let first = (now / tick_ms as i64 + 1) * tick_ms as i64 - now;
        let mut ticker = tokio::time::interval_at(
            tokio::time::Instant::now() + Duration::from_millis(first.max(0) as u64),
            tick,
        );
        let mut shutdown = stop.subscribe();
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let reap_every = Duration::from_millis(self.cfg.container_check_interval_ms.max(1));
        let mut reaper =
            tokio::time::interval_at(tokio::time::Instant::now() + reap_every, reap_every);
        let per_run = ((self.cfg.container_max_per_minute as u64 * reap_every.as_millis() as u64)
            / 60_000)
            .max(1) as usize;
        loop {
            tokio::select! {
                msg = rx.recv() => {
                    let Some(msg) = msg else { break };
                    self.handle(msg);
                    for _ in 0..BATCH {
                        match rx.try_recv() {
                            Ok(m) => self.handle(m),
                            Err(_) => break,
                        }
                    }
                }
                _ = ticker.tick() => self.core.tick(now_ms()),
                _ = reaper.tick() => self.core.reap(now_ms(), per_run),
                r = self.synced_rx.changed() => {
                    if r.is_err() { break; }
                    let s = *self.synced_rx.borrow_and_update();
                    match s {
                        Synced::Upto(z) => self.synced = self.synced.max(z),
                        Synced::Failed => {
                            tracing::error!("stopping: the transaction log failed");
                            break;
                        }
                    }
                }
                _ = shutdown.changed() => break,
            }
            self.flush();
        }
        self.clients.close_all();
        self.logger.stop();
        stop.send_replace(true);
    }

    fn handle(&mut self, msg: ToEngine) {
        let now = now_ms();
        match msg {
            ToEngine::Accept {
                conn,
                remote,
                tx,
                queued,
            } => {
                self.clients.accept(conn, tx, queued);
                self.core.accept(now, conn, remote);
            }
            ToEngine::Connect { conn, req } => self.core.connect(now, conn, &req),
            ToEngine::Request {
                conn,
                xid,
                op,
                body,
            } => {
                self.clients.arrived(conn);
                self.core.request(now, conn, xid, op, &body);
            }
            ToEngine::FourLetter { cmd, reply, .. } => {
                let d = self.clients.stats();
                let _ = reply.send(fourlw::run(cmd, &self.core, &self.cfg, now, d));
            }
            ToEngine::Closed { conn } => {
                self.clients.closed(conn);
                self.core.disconnected(conn);
            }
        }
    }

    /// Logs new transactions and releases every frame the durable log now covers, one write
    /// per connection.
    fn flush(&mut self) {
        let txns = self.core.take_txns();
        if !txns.is_empty() {
            self.logger.submit(txns);
        }
        if self.logger.take_snapshot_request() {
            // A consistent copy between two batches: O(shards) pointer copies (see
            // `core::node_map`); the writes that follow copy what they change.
            self.logger
                .submit_snapshot(Box::new(self.core.tree().clone()));
        }
        while let Some(o) = self.core.poll_output() {
            self.clients.push(o);
        }
        let synced = self.synced;
        self.clients.flush(|z| z.0 <= synced);
    }
}
