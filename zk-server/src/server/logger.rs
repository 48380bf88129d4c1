//! The log thread: appends transactions to the [`TxnSink`] and syncs once per batch (group
//! commit), then publishes the synced zxid. It also hands the sink snapshots of the tree when
//! the sink asks for one.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};

use tokio::sync::watch;
use zk_core::jute::Encode;
use zk_core::txn::{TxnBody, TxnHeader};

use crate::core::DataTree;
use crate::sink::TxnSink;

/// How far the log is durable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Synced {
    /// Every transaction up to this zxid is durable.
    Upto(i64),
    /// The sink failed; nothing more will become durable.
    Failed,
}

enum LogMsg {
    Batch(Vec<(TxnHeader, TxnBody)>),
    Snapshot(Box<DataTree>),
}

/// The handle the engine uses to submit batches.
pub(crate) struct Logger {
    tx: Option<mpsc::Sender<LogMsg>>,
    thread: Option<std::thread::JoinHandle<()>>,
    snapshot_due: Arc<AtomicBool>,
}

/// Appends and syncs consecutive batches; returns the last zxid written, if any.
fn write_batches(
    sink: &mut dyn TxnSink,
    batches: &[Vec<(TxnHeader, TxnBody)>],
    body: &mut Vec<u8>,
) -> std::io::Result<Option<i64>> {
    let mut last = None;
    for (h, b) in batches.iter().flatten() {
        body.clear();
        b.encode(body);
        sink.append(h, body)?;
        last = Some(h.zxid.0);
    }
    if last.is_some() {
        sink.sync()?;
    }
    Ok(last)
}

impl Logger {
    /// Starts the log thread; `synced` starts at `start_zxid`.
    pub(crate) fn start(
        mut sink: Box<dyn TxnSink>,
        start_zxid: i64,
    ) -> std::io::Result<(Logger, watch::Receiver<Synced>)> {
        let (tx, rx) = mpsc::channel::<LogMsg>();
        let (wtx, wrx) = watch::channel(Synced::Upto(start_zxid));
        let snapshot_due = Arc::new(AtomicBool::new(false));
        let due = snapshot_due.clone();
        let thread = std::thread::Builder::new()
            .name("zk-txn-log".into())
            .spawn(move || {
                let mut body = Vec::new();
                let mut pending = rx.recv().ok();
                while let Some(msg) = pending.take() {
                    match msg {
                        LogMsg::Snapshot(tree) => {
                            // Every transaction the copy reflects was submitted, hence synced,
                            // before this message.
                            if let Err(e) = sink.snapshot_owned(tree) {
                                tracing::error!(error = %e, "snapshot failed");
                            }
                        }
                        LogMsg::Batch(first) => {
                            let mut batches = vec![first];
                            while let Ok(more) = rx.try_recv() {
                                match more {
                                    LogMsg::Batch(b) => batches.push(b),
                                    snap => {
                                        pending = Some(snap);
                                        break;
                                    }
                                }
                            }
                            match write_batches(sink.as_mut(), &batches, &mut body) {
                                Ok(Some(z)) => {
                                    if sink.snapshot_due() {
                                        due.store(true, Ordering::Release);
                                    }
                                    let _ = wtx.send(Synced::Upto(z));
                                }
                                Ok(None) => {}
                                Err(e) => {
                                    tracing::error!(error = %e, "transaction log failed; no more writes become durable");
                                    let _ = wtx.send(Synced::Failed);
                                    return;
                                }
                            }
                        }
                    }
                    if pending.is_none() {
                        pending = rx.recv().ok();
                    }
                }
            })?;
        Ok((
            Logger {
                tx: Some(tx),
                thread: Some(thread),
                snapshot_due,
            },
            wrx,
        ))
    }

    /// Queues a batch (in zxid order).
    pub(crate) fn submit(&self, batch: Vec<(TxnHeader, TxnBody)>) {
        if let Some(tx) = &self.tx {
            let _ = tx.send(LogMsg::Batch(batch));
        }
    }

    /// True once (per request) when the sink asked for a snapshot.
    pub(crate) fn take_snapshot_request(&self) -> bool {
        self.snapshot_due.swap(false, Ordering::AcqRel)
    }

    /// Queues a copy of the tree for the sink, after every batch submitted so far.
    pub(crate) fn submit_snapshot(&self, tree: Box<DataTree>) {
        if let Some(tx) = &self.tx {
            let _ = tx.send(LogMsg::Snapshot(tree));
        }
    }

    /// Stops the thread after it logged what was submitted.
    pub(crate) fn stop(&mut self) {
        self.tx.take();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Logger {
    fn drop(&mut self) {
        self.stop();
    }
}
