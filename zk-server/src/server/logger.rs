//! The log thread: appends transactions to the [`TxnSink`] and syncs once per batch (group
//! commit), then publishes the synced zxid.

use std::sync::mpsc;

use tokio::sync::watch;
use zk_core::jute::Encode;
use zk_core::txn::TxnHeader;

use crate::core::TxnBody;
use crate::sink::TxnSink;

/// How far the log is durable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Synced {
    /// Every transaction up to this zxid is durable.
    Upto(i64),
    /// The sink failed; nothing more will become durable.
    Failed,
}

/// The handle the engine uses to submit batches.
pub(crate) struct Logger {
    tx: Option<mpsc::Sender<Vec<(TxnHeader, TxnBody)>>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Logger {
    /// Starts the log thread; `synced` starts at `start_zxid`.
    pub(crate) fn start(
        mut sink: Box<dyn TxnSink>,
        start_zxid: i64,
    ) -> std::io::Result<(Logger, watch::Receiver<Synced>)> {
        let (tx, rx) = mpsc::channel::<Vec<(TxnHeader, TxnBody)>>();
        let (wtx, wrx) = watch::channel(Synced::Upto(start_zxid));
        let thread = std::thread::Builder::new()
            .name("zk-txn-log".into())
            .spawn(move || {
                let mut body = Vec::new();
                while let Ok(first) = rx.recv() {
                    let mut batches = vec![first];
                    while let Ok(more) = rx.try_recv() {
                        batches.push(more);
                    }
                    let mut last = None;
                    let res = (|| {
                        for (h, b) in batches.iter().flatten() {
                            body.clear();
                            b.encode(&mut body);
                            sink.append(h, &body)?;
                            last = Some(h.zxid.0);
                        }
                        sink.sync()
                    })();
                    match (res, last) {
                        (Ok(()), Some(z)) => {
                            let _ = wtx.send(Synced::Upto(z));
                        }
                        (Ok(()), None) => {}
                        (Err(e), _) => {
                            tracing::error!(error = %e, "transaction log failed; no more writes become durable");
                            let _ = wtx.send(Synced::Failed);
                            return;
                        }
                    }
                }
            })?;
        Ok((
            Logger {
                tx: Some(tx),
                thread: Some(thread),
            },
            wrx,
        ))
    }

    /// Queues a batch (in zxid order).
    pub(crate) fn submit(&self, batch: Vec<(TxnHeader, TxnBody)>) {
        if let Some(tx) = &self.tx {
            let _ = tx.send(batch);
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
