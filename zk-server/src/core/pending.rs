//! Outstanding changes (`ZooKeeperServer.outstandingChanges`): what a leader's proposed but not
//! yet committed transactions will do to the tree, so that a pipelined write is prepared against
//! the committed tree *plus* every write proposed before it, as Apache ZooKeeper's
//! `PrepRequestProcessor` does.
//!
//! Each record carries the zxid of the transaction that made it; when a transaction commits,
//! the records of every zxid up to it are dropped, unless a later record for the same path
//! replaced them.

use std::collections::{HashMap, VecDeque};

use zk_core::{SessionId, Zxid};

use super::node::OwnerKind;
use super::prepare::Rec;

/// The leader's outstanding change records, by path and in proposal order.
#[derive(Debug, Default, Clone)]
pub struct PendingChanges {
    /// The newest record of each path: its zxid, and the node (None: deleted).
    by_path: HashMap<String, (Zxid, Option<Rec>)>,
    /// Every record, oldest first (`outstandingChanges`).
    order: VecDeque<(Zxid, String, Option<Rec>)>,
}

impl PendingChanges {
    /// No outstanding changes.
    pub fn new() -> PendingChanges {
        PendingChanges::default()
    }

    /// The newest outstanding record of `path`: `Some(None)` when a pending delete removed it,
    /// `None` when no outstanding transaction touches it.
    pub(crate) fn get(&self, path: &str) -> Option<&Option<Rec>> {
        self.by_path.get(path).map(|(_, r)| r)
    }

    /// Records what the transaction of `zxid` changes. Zxids only grow.
    pub(crate) fn add(
        &mut self,
        zxid: Zxid,
        changes: impl IntoIterator<Item = (String, Option<Rec>)>,
    ) {
        for (path, rec) in changes {
            assert!(
                self.order.back().is_none_or(|(z, _, _)| *z <= zxid),
                "outstanding change of zxid {zxid} after a newer one"
            );
            self.order.push_back((zxid, path.clone(), rec.clone()));
            self.by_path.insert(path, (zxid, rec));
        }
    }

    /// The transaction of `zxid` was applied: its records and every older one go, unless a
    /// newer record replaced them (`FinalRequestProcessor`'s outstandingChanges clean-up).
    pub(crate) fn committed(&mut self, zxid: Zxid) {
        while let Some((z, _, _)) = self.order.front() {
            if *z > zxid {
                break;
            }
            let Some((z, path, _)) = self.order.pop_front() else {
                break;
            };
            if self
                .by_path
                .get(&path)
                .is_some_and(|(latest, _)| *latest == z)
            {
                self.by_path.remove(&path);
            }
        }
    }

    /// Applies the outstanding records to a session's ephemeral set, in order, as a
    /// closeSession is prepared: a pending delete removes a path, a pending create owned by the
    /// session adds it.
    pub(crate) fn ephemerals_of(
        &self,
        session: SessionId,
        set: &mut super::java_hash::JavaHashSet,
    ) {
        for (_, path, rec) in &self.order {
            match rec {
                None => {
                    set.remove(path);
                }
                Some(r) => {
                    if OwnerKind::of(r.stat.ephemeral_owner) == OwnerKind::Ephemeral(session) {
                        set.insert(path);
                    }
                }
            }
        }
    }

    /// Number of outstanding records.
    pub fn len(&self) -> usize {
        self.order.len()
    }

    /// True when no transaction is outstanding.
    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }

    /// Forgets everything (the leader stopped leading).
    pub fn clear(&mut self) {
        self.by_path.clear();
        self.order.clear();
    }
}
