//! The durability hook: every transaction goes to a [`TxnSink`] between prepare and reply.
//!
//! The driver appends each applied transaction, then calls [`TxnSink::sync`] once for a whole
//! batch (group commit). No reply or notification that reveals a transaction leaves before the
//! sync covering it returned. The sink runs on its own thread, so `sync` may block on fsync.

use std::io;
use std::sync::{Arc, Mutex};

use zk_core::txn::TxnHeader;

use crate::core::DataTree;

/// Where transactions are logged, in zxid order (the transaction log).
pub trait TxnSink: Send + 'static {
    /// Appends one transaction: its header and its encoded body (the record the header's type
    /// selects, as Apache ZooKeeper logs it).
    fn append(&mut self, header: &TxnHeader, body: &[u8]) -> io::Result<()>;

    /// Makes every appended transaction durable (fsync). Called once per batch of appends.
    fn sync(&mut self) -> io::Result<()>;

    /// Asked after each sync: true to be handed a snapshot soon (the snapCount policy lives in
    /// the sink). The default never asks.
    fn snapshot_due(&mut self) -> bool {
        false
    }

    /// A copy of the tree taken between two batches. Every transaction it reflects was appended
    /// and synced before this call; its last zxid is `tree.last_zxid()`.
    fn snapshot(&mut self, tree: &DataTree) -> io::Result<()> {
        let _ = tree;
        Ok(())
    }

    /// [`snapshot`](Self::snapshot) given the copy itself, which the sink may keep (e.g. to
    /// write it on another thread). The default lends it to `snapshot`.
    fn snapshot_owned(&mut self, tree: Box<DataTree>) -> io::Result<()> {
        self.snapshot(&tree)
    }
}

/// A sink that keeps nothing (tests, benchmarks of the in-memory path).
#[derive(Debug, Default, Clone, Copy)]
pub struct NullSink;

impl TxnSink for NullSink {
    fn append(&mut self, _header: &TxnHeader, _body: &[u8]) -> io::Result<()> {
        Ok(())
    }

    fn sync(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A sink that keeps every transaction in memory, shared with whoever holds a clone, and
/// counts syncs.
#[derive(Debug, Default, Clone)]
pub struct MemorySink {
    inner: Arc<Mutex<MemoryLog>>,
}

/// The contents of a [`MemorySink`].
#[derive(Debug, Default, Clone)]
pub struct MemoryLog {
    /// Appended transactions: header and body bytes.
    pub txns: Vec<(TxnHeader, Vec<u8>)>,
    /// How many appended transactions were covered by a sync.
    pub synced: usize,
    /// Number of sync calls.
    pub syncs: usize,
}

impl MemorySink {
    /// An empty sink.
    pub fn new() -> MemorySink {
        MemorySink::default()
    }

    /// A copy of what was logged so far.
    pub fn snapshot(&self) -> MemoryLog {
        // A poisoned lock only means a panicking test thread; the data is still usable.
        match self.inner.lock() {
            Ok(g) => g.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    fn with<R>(&self, f: impl FnOnce(&mut MemoryLog) -> R) -> R {
        match self.inner.lock() {
            Ok(mut g) => f(&mut g),
            Err(p) => f(&mut p.into_inner()),
        }
    }
}

impl TxnSink for MemorySink {
    fn append(&mut self, header: &TxnHeader, body: &[u8]) -> io::Result<()> {
        self.with(|l| l.txns.push((header.clone(), body.to_vec())));
        Ok(())
    }

    fn sync(&mut self) -> io::Result<()> {
        self.with(|l| {
            l.synced = l.txns.len();
            l.syncs += 1;
        });
        Ok(())
    }
}

impl<T: TxnSink + ?Sized> TxnSink for Box<T> {
    fn append(&mut self, header: &TxnHeader, body: &[u8]) -> io::Result<()> {
        (**self).append(header, body)
    }

    fn sync(&mut self) -> io::Result<()> {
        (**self).sync()
    }

    fn snapshot_due(&mut self) -> bool {
        (**self).snapshot_due()
    }

    fn snapshot(&mut self, tree: &DataTree) -> io::Result<()> {
        (**self).snapshot(tree)
    }

    fn snapshot_owned(&mut self, tree: Box<DataTree>) -> io::Result<()> {
        (**self).snapshot_owned(tree)
    }
}
