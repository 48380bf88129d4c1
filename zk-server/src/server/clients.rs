//! The client side of an engine: the connection tasks' channels, the outputs held until the
//! log is durable far enough, request latency and the in-flight count. Shared by the
//! standalone engine and the ensemble engine.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use tokio::sync::mpsc;

use crate::core::{ConnId, Output};
use crate::fourlw::DriverStats;

use super::engine::ToConn;

/// Request latency statistics (srvr, mntr).
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Latency {
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

/// The client connections of an engine and what waits to be sent to them.
#[derive(Debug)]
pub(crate) struct Clients {
    conns: HashMap<ConnId, (mpsc::UnboundedSender<ToConn>, Arc<AtomicUsize>)>,
    /// A connection whose unwritten bytes exceed this is closed (its client does not read).
    max_queued: usize,
    held: VecDeque<Output>,
    outstanding: usize,
    /// Arrival times of each connection's unanswered requests, oldest first.
    arrivals: HashMap<ConnId, VecDeque<Instant>>,
    latency: Latency,
}

impl Clients {
    /// No connections; a connection with more than `max_queued` bytes not yet written to its
    /// socket is closed.
    pub(crate) fn new(max_queued: usize) -> Clients {
        Clients {
            conns: HashMap::new(),
            max_queued: max_queued.max(1),
            held: VecDeque::new(),
            outstanding: 0,
            arrivals: HashMap::new(),
            latency: Latency::default(),
        }
    }

    /// A connection's task registered its channel and its count of unwritten bytes.
    pub(crate) fn accept(
        &mut self,
        conn: ConnId,
        tx: mpsc::UnboundedSender<ToConn>,
        queued: Arc<AtomicUsize>,
    ) {
        self.conns.insert(conn, (tx, queued));
    }

    /// A request arrived on `conn`.
    pub(crate) fn arrived(&mut self, conn: ConnId) {
        self.outstanding += 1;
        self.arrivals
            .entry(conn)
            .or_default()
            .push_back(Instant::now());
    }

    /// A connection's task ended.
    pub(crate) fn closed(&mut self, conn: ConnId) {
        self.conns.remove(&conn);
        if let Some(q) = self.arrivals.remove(&conn) {
            self.outstanding = self.outstanding.saturating_sub(q.len());
        }
    }

    /// Queues an output of the core.
    pub(crate) fn push(&mut self, o: Output) {
        self.held.push_back(o);
    }

    /// The statistics the four-letter words report.
    pub(crate) fn stats(&self) -> DriverStats {
        let l = self.latency;
        DriverStats {
            outstanding: self.outstanding,
            min_latency_ms: l.min_ms,
            avg_latency_ms: if l.count == 0 {
                0.0
            } else {
                l.total_ms as f64 / l.count as f64
            },
            max_latency_ms: l.max_ms,
            ..DriverStats::default()
        }
    }

    fn answered(&mut self, conn: ConnId) {
        match self.arrivals.get_mut(&conn).and_then(VecDeque::pop_front) {
            Some(t) => {
                self.outstanding = self.outstanding.saturating_sub(1);
                self.latency.record(t.elapsed().as_millis() as u64);
            }
            // A reply is the answer to a request that arrived on a connection still open: one
            // without a request means the core answered twice or invented an xid.
            None => assert!(
                !self.conns.contains_key(&conn),
                "a reply on {conn:?} that no request is waiting for"
            ),
        }
    }

    /// Releases every held output whose zxid `durable` says is safe to reveal, in order, one
    /// write per connection.
    pub(crate) fn flush(&mut self, durable: impl Fn(zk_core::Zxid) -> bool) {
        let mut batches: HashMap<ConnId, (Vec<u8>, usize)> = HashMap::new();
        let mut order: Vec<ConnId> = Vec::new();
        while let Some(front) = self.held.front() {
            if let Output::Send { zxid, .. } = front {
                if !durable(*zxid) {
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
                        self.answered(conn);
                    }
                }
                Output::Silent { conn } => {
                    // No frame, but the request is over: free its slot as a reply would.
                    let b = batches.entry(conn).or_insert_with(|| {
                        order.push(conn);
                        (Vec::new(), 0)
                    });
                    b.1 += 1;
                    self.answered(conn);
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
        let Some((tx, queued)) = self.conns.get(&conn) else {
            return;
        };
        if let ToConn::Frames(buf, _) = &m {
            let now = queued.fetch_add(buf.len(), Ordering::AcqRel) + buf.len();
            if now > self.max_queued {
                // The client does not read what it asked for (or is sent notifications faster
                // than it reads): close it rather than hold the frames without limit. It
                // reconnects, resumes its session and re-arms its watches.
                tracing::warn!(
                    ?conn,
                    queued = now,
                    limit = self.max_queued,
                    "closing a connection that does not read its replies"
                );
                let _ = tx.send(ToConn::Close);
                return;
            }
        }
        let _ = tx.send(m);
    }

    /// Tells every connection to close (the engine stops).
    pub(crate) fn close_all(&mut self) {
        for (tx, _) in self.conns.values() {
            let _ = tx.send(ToConn::Close);
        }
    }
}
