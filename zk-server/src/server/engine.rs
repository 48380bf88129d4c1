//! The engine task: owns the sans-IO [`Core`], feeds it connection events with the wall clock,
//! sends applied transactions to the log thread and releases outgoing frames once the log is
//! durable up to the zxid each frame may reveal.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tokio::sync::{mpsc, oneshot, watch};
use zk_core::proto::ConnectRequest;

use crate::config::ServerConfig;
use crate::core::{ConnId, Core, Output};
use crate::fourlw::{self, DriverStats};

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
        reply: oneshot::Sender<String>,
    },
    Closed {
        conn: ConnId,
    },
}

pub(crate) struct Engine {
    core: Core,
    cfg: ServerConfig,
    conns: HashMap<ConnId, mpsc::UnboundedSender<ToConn>>,
    held: VecDeque<Output>,
    synced: i64,
    logger: Logger,
    synced_rx: watch::Receiver<Synced>,
    outstanding: usize,
    /// Arrival times of each connection's unanswered requests, oldest first.
    arrivals: HashMap<ConnId, VecDeque<Instant>>,
    latency: Latency,
}

/// Request latency statistics (srvr, mntr).
#[derive(Debug, Default, Clone, Copy)]
struct Latency {
    min_ms: u64,
    max_ms: u64,
    total_ms: u64,
    count: u64,
}

impl Latency {
    fn record(&mut self, ms: u64) {
        self.min_ms = if self.count == 0 {
            ms
        } else {
            self.min_ms.min(ms)
        };
        self.max_ms = self.max_ms.max(ms);
        self.total_ms += ms;
        self.count += 1;
    }
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
        Engine {
            core,
            cfg,
            conns: HashMap::new(),
            held: VecDeque::new(),
            synced,
            logger,
            synced_rx,
            outstanding: 0,
            arrivals: HashMap::new(),
            latency: Latency::default(),
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
        for tx in self.conns.values() {
            let _ = tx.send(ToConn::Close);
        }
        self.logger.stop();
        stop.send_replace(true);
    }

    fn handle(&mut self, msg: ToEngine) {
        let now = now_ms();
        match msg {
            ToEngine::Accept { conn, remote, tx } => {
                self.conns.insert(conn, tx);
                self.core.accept(now, conn, remote);
            }
            ToEngine::Connect { conn, req } => self.core.connect(now, conn, &req),
            ToEngine::Request {
                conn,
                xid,
                op,
                body,
            } => {
                self.outstanding += 1;
                self.arrivals
                    .entry(conn)
                    .or_default()
                    .push_back(Instant::now());
                self.core.request(now, conn, xid, op, &body);
            }
            ToEngine::FourLetter { cmd, reply } => {
                let l = self.latency;
                let d = DriverStats {
                    outstanding: self.outstanding,
                    min_latency_ms: l.min_ms,
                    avg_latency_ms: if l.count == 0 {
                        0.0
                    } else {
                        l.total_ms as f64 / l.count as f64
                    },
                    max_latency_ms: l.max_ms,
                };
                let _ = reply.send(fourlw::run(cmd, &self.core, &self.cfg, now, d));
            }
            ToEngine::Closed { conn } => {
                self.conns.remove(&conn);
                if let Some(q) = self.arrivals.remove(&conn) {
                    self.outstanding = self.outstanding.saturating_sub(q.len());
                }
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
            self.held.push_back(o);
        }
        let mut batches: HashMap<ConnId, (Vec<u8>, usize)> = HashMap::new();
        let mut order: Vec<ConnId> = Vec::new();
        while let Some(front) = self.held.front() {
            if let Output::Send { zxid, .. } = front {
                if zxid.0 > self.synced {
                    break;
                }
            }
            let Some(o) = self.held.pop_front() else {
                break;
            };
            match o {
                Output::Send {
                    conn, frame, reply, ..
                } => {
                    let b = batches.entry(conn).or_insert_with(|| {
                        order.push(conn);
                        (Vec::new(), 0)
                    });
                    b.0.extend_from_slice(&frame);
                    if reply {
                        b.1 += 1;
                        if let Some(t) = self.arrivals.get_mut(&conn).and_then(VecDeque::pop_front)
                        {
                            self.outstanding = self.outstanding.saturating_sub(1);
                            self.latency.record(t.elapsed().as_millis() as u64);
                        }
                    }
                }
                Output::Silent { conn } => {
                    // No frame, but the request is over: free its slot as a reply would.
                    let b = batches.entry(conn).or_insert_with(|| {
                        order.push(conn);
                        (Vec::new(), 0)
                    });
                    b.1 += 1;
                    if let Some(t) = self.arrivals.get_mut(&conn).and_then(VecDeque::pop_front) {
                        self.outstanding = self.outstanding.saturating_sub(1);
                        self.latency.record(t.elapsed().as_millis() as u64);
                    }
                }
                Output::Close { conn } => {
                    if let Some((buf, n)) = batches.remove(&conn) {
                        self.deliver(conn, ToConn::Frames(buf, n));
                    }
                    self.deliver(conn, ToConn::Close);
                }
            }
        }
        for conn in order {
            if let Some((buf, n)) = batches.remove(&conn) {
                self.deliver(conn, ToConn::Frames(buf, n));
            }
        }
    }

    fn deliver(&mut self, conn: ConnId, m: ToConn) {
        if let Some(tx) = self.conns.get(&conn) {
            let _ = tx.send(m);
        }
    }
}
