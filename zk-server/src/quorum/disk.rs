//! What a peer asks of its disk, and what the disk answers. The peer never touches files: it
//! emits [`DiskOp`]s in order and is told of their completion with [`DiskDone`]. The tokio
//! driver runs them on a thread over Apache ZooKeeper's on-disk format; the simulator keeps a
//! model disk that loses unsynced writes on a crash.
//!
//! Ordering contract (what the persistence order of Zab relies on): operations complete in the
//! order they were issued, and any operation other than [`DiskOp::Append`] first makes every
//! earlier append durable. Appends are synced in groups (group commit): [`DiskDone::Synced`]
//! says up to which zxid.

use std::collections::VecDeque;

use zk_core::Zxid;

use super::zab::Txn;
use crate::core::DataTree;

/// Which epoch file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EpochFile {
    /// `acceptedEpoch`: the last epoch a LEADERINFO was accepted for.
    Accepted,
    /// `currentEpoch`: the last epoch a NEWLEADER was acknowledged for.
    Current,
}

/// A disk operation, executed in order.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum DiskOp {
    /// Append a transaction to the log (zxids strictly increase).
    Append(Txn),
    /// Write an epoch file atomically and durably.
    WriteEpoch {
        /// The file.
        file: EpochFile,
        /// The epoch.
        epoch: u32,
    },
    /// Write a snapshot of `tree` (durable when answered), and start a new log file after it.
    Snapshot {
        /// The tree; its last zxid names the snapshot.
        tree: Box<DataTree>,
        /// True when the peer waits for it (a SNAP sync): answered with
        /// [`DiskDone::SnapshotWritten`]. False for a periodic snapshot, written in the
        /// background.
        wait: bool,
    },
    /// Drop every logged transaction after `zxid` (and any snapshot newer than it), then
    /// reload the tree from what remains: answered with [`DiskDone::Truncated`].
    Truncate {
        /// The last zxid to keep.
        zxid: Zxid,
    },
    /// Read the logged transactions from `from` (which must be logged itself) up to `until`,
    /// for a leader's DIFF; give up (answer None) when they take more than
    /// `snapshotSizeFactor` times the newest snapshot's size on disk. What was appended
    /// before is written out first; the read itself may run beside later operations (as
    /// Apache ZooKeeper's LearnerHandler reads the log beside the SyncRequestProcessor), so
    /// a learner's sync does not hold up the ensemble's writes.
    ReadLog {
        /// Matches the answer to the request.
        token: u64,
        /// The first zxid wanted (the learner's last).
        from: Zxid,
        /// The last zxid wanted: the oldest of the leader's committed log when it asked (that
        /// log has the rest). The read stops there, short of the log's tail.
        until: Zxid,
        /// `zookeeper.snapshotSizeFactor`: the size limit as a fraction of the newest
        /// snapshot's size (negative: disabled).
        size_factor: f64,
    },
    /// Answered once every earlier operation is complete and durable.
    Barrier {
        /// Matches the answer to the request.
        token: u64,
    },
}

/// The disk's answer.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum DiskDone {
    /// Every append up to this zxid is durable.
    Synced(Zxid),
    /// An epoch file was written.
    EpochWritten {
        /// The file.
        file: EpochFile,
        /// The epoch.
        epoch: u32,
    },
    /// A waited-for snapshot is durable.
    SnapshotWritten {
        /// Its zxid.
        zxid: Zxid,
    },
    /// The log was truncated; the tree as the disk now holds it.
    Truncated {
        /// The reloaded tree.
        tree: Box<DataTree>,
    },
    /// The transactions a [`DiskOp::ReadLog`] asked for, in order (None: not available).
    LogRead {
        /// The request's token.
        token: u64,
        /// The transactions from `from` on, `from` first.
        txns: Option<Vec<Txn>>,
    },
    /// A barrier was reached.
    Barrier {
        /// The barrier's token.
        token: u64,
    },
    /// The log has grown by snapCount transactions: the peer should hand over a snapshot
    /// (a [`DiskOp::Snapshot`] with `wait: false`).
    SnapshotWanted,
    /// The disk failed; nothing more will become durable. The peer stops.
    Failed(String),
}

/// The last committed transactions, kept in memory for DIFF syncs
/// (`ZKDatabase.committedLog`, `zookeeper.commitLogCount`). Every transaction applied to the
/// tree goes here, whatever the role; while a sync reads the on-disk log it is pinned so that
/// the window it continues from stays.
#[derive(Debug, Clone)]
pub struct CommittedLog {
    entries: VecDeque<Txn>,
    cap: usize,
    pins: usize,
    /// When on (tests, the simulator): what happened to the tree, in order.
    journal: Option<Vec<Journal>>,
}

/// What happened to a member's tree (journaled for the simulator's checks).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Journal {
    /// A transaction known to be committed was applied.
    Committed(Txn),
    /// A logged transaction was replayed into the tree (not known to be committed).
    Replayed(Txn),
    /// The tree was replaced by the snapshot of a SNAP sync at this zxid.
    Installed(Zxid),
    /// The tree was reloaded from the disk after a truncation to this zxid.
    Reloaded(Zxid),
}

impl CommittedLog {
    /// An empty window of `cap` transactions.
    pub fn new(cap: usize) -> CommittedLog {
        CommittedLog {
            entries: VecDeque::new(),
            cap: cap.max(1),
            pins: 0,
            journal: None,
        }
    }

    /// Starts (or stops) journaling committed transactions.
    pub fn set_journal(&mut self, on: bool) {
        self.journal = on.then(Vec::new);
    }

    /// What was journaled since the last call.
    pub fn take_journal(&mut self) -> Vec<Journal> {
        self.journal
            .as_mut()
            .map(std::mem::take)
            .unwrap_or_default()
    }

    /// Journals a change of the tree (when journaling is on).
    pub fn note(&mut self, j: Journal) {
        if let Some(v) = self.journal.as_mut() {
            v.push(j);
        }
    }

    /// Adds a committed transaction applied to the tree. Zxids strictly increase.
    pub fn push(&mut self, txn: Txn) {
        if self.journal.is_some() {
            self.note(Journal::Committed(txn.clone()));
        }
        self.add(txn);
    }

    /// Adds a transaction replayed from the disk (logged proposals replayed when a role
    /// ends): not known to be committed.
    pub fn push_replayed(&mut self, txn: Txn) {
        if self.journal.is_some() {
            self.note(Journal::Replayed(txn.clone()));
        }
        self.add(txn);
    }

    fn add(&mut self, txn: Txn) {
        if let Some(last) = self.entries.back() {
            if txn.zxid() <= last.zxid() {
                // A replay of what the window already has (a fuzzy snapshot's overlap).
                return;
            }
        }
        self.entries.push_back(txn);
        self.trim();
    }

    fn trim(&mut self) {
        if self.pins == 0 {
            while self.entries.len() > self.cap {
                self.entries.pop_front();
            }
        }
    }

    /// Forgets everything (the tree was replaced by a snapshot or reloaded).
    pub fn clear(&mut self) {
        self.entries.clear();
    }

    /// Keeps the window from shrinking until [`unpin`](Self::unpin).
    pub fn pin(&mut self) {
        self.pins += 1;
    }

    /// Undoes one [`pin`](Self::pin).
    pub fn unpin(&mut self) {
        self.pins = self.pins.saturating_sub(1);
        self.trim();
    }

    /// The transactions, oldest first.
    pub fn entries(&self) -> impl Iterator<Item = &Txn> + Clone {
        self.entries.iter()
    }

    /// The oldest and newest zxid, if any.
    pub fn range(&self) -> Option<(Zxid, Zxid)> {
        Some((self.entries.front()?.zxid(), self.entries.back()?.zxid()))
    }

    /// Number of transactions held.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}
