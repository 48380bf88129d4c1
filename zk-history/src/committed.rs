//! The server side of a run: every committed transaction in zxid order.

use std::fmt;

use zk_core::{ErrorCode, SessionId, Zxid};

use crate::op::ShowData;
use crate::violation::Violation;

/// What a committed transaction changed, as far as the checker's model needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// `setData` (also `reconfig`): the node's new data and new `Stat.version`.
    SetData {
        /// The node.
        path: String,
        /// Its new data.
        data: Vec<u8>,
        /// Its version after the write.
        version: i32,
    },
    /// `create`, `create2`, `createTTL`, `createContainer`: the new node and its data.
    Create {
        /// The node.
        path: String,
        /// Its data (null data as empty).
        data: Vec<u8>,
    },
    /// `delete`, `deleteContainer`.
    Delete {
        /// The node.
        path: String,
    },
    /// `error`: a failed write that still consumed a zxid.
    Error {
        /// Its error code.
        code: ErrorCode,
    },
    /// `multi`, decomposed: applied in order, all or nothing. A multi holding an
    /// [`Change::Error`] failed and changes nothing (Apache ZooKeeper logs a failed multi
    /// with an error record for each op). A `closeSession` that deletes ephemerals may be
    /// given as a multi of its deletes.
    Multi(Vec<Change>),
    /// Anything the model does not track: createSession, closeSession without ephemerals,
    /// setACL, check, ...
    Other,
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Change::SetData {
                path,
                data,
                version,
            } => write!(f, "setData {path} = {} version {version}", ShowData(data)),
            Change::Create { path, data } => write!(f, "create {path} = {}", ShowData(data)),
            Change::Delete { path } => write!(f, "delete {path}"),
            Change::Error { code } => write!(f, "error {code}"),
            Change::Multi(subs) => {
                f.write_str("multi [")?;
                for (i, s) in subs.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{s}")?;
                }
                f.write_str("]")
            }
            Change::Other => f.write_str("other"),
        }
    }
}

/// One committed transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Txn {
    /// Its zxid.
    pub zxid: Zxid,
    /// `TxnHeader.clientId`, when known: the session that asked for it.
    pub session_id: Option<SessionId>,
    /// What it changed.
    pub change: Change,
}

impl fmt::Display for Txn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "txn {}", self.zxid)?;
        if let Some(s) = self.session_id {
            write!(f, " (session {s})")?;
        }
        write!(f, " {}", self.change)
    }
}

/// Every committed transaction after a base zxid, in zxid order: from a member's transaction
/// log after a run, or from a simulator's memory.
///
/// [`CommittedHistory::from_start`] starts from an empty database (zxid 0: every node but the
/// root and `/zookeeper` absent). [`CommittedHistory::after`] starts from a state the checker
/// does not know (logs purged up to a snapshot): a node's state becomes known at the first
/// transaction that sets, creates or deletes it, and what is read before that is skipped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommittedHistory {
    base: Zxid,
    starts_empty: bool,
    txns: Vec<Txn>,
}

impl CommittedHistory {
    /// Every transaction since the database was created, which was empty.
    pub fn from_start(txns: Vec<Txn>) -> CommittedHistory {
        CommittedHistory {
            base: Zxid::ZERO,
            starts_empty: true,
            txns,
        }
    }

    /// Every transaction with a zxid greater than `base`, over a state the checker does not
    /// know.
    pub fn after(base: Zxid, txns: Vec<Txn>) -> CommittedHistory {
        CommittedHistory {
            base,
            starts_empty: false,
            txns,
        }
    }

    /// The zxid the history starts after.
    pub fn base(&self) -> Zxid {
        self.base
    }

    /// True when the state at the base is the empty database.
    pub fn starts_empty(&self) -> bool {
        self.starts_empty
    }

    /// The transactions, meant to be in zxid order (the checker checks it).
    pub fn txns(&self) -> &[Txn] {
        &self.txns
    }

    /// The transactions, to edit (tests that corrupt a history on purpose).
    pub fn txns_mut(&mut self) -> &mut Vec<Txn> {
        &mut self.txns
    }

    /// The last transaction's zxid, or the base when there is none.
    pub fn last_zxid(&self) -> Zxid {
        self.txns.last().map_or(self.base, |t| t.zxid)
    }
}

/// Checks that zxids increase strictly from the base and, with `contiguous`, that they have no
/// gap: within an epoch the counter goes up by one, and a new epoch starts at counter 1 (Zab
/// never skips a zxid; a gap means a lost transaction, ZOOKEEPER-4925).
pub(crate) fn check_order(c: &CommittedHistory, contiguous: bool, out: &mut Vec<Violation>) {
    let mut previous = c.base;
    for (index, t) in c.txns.iter().enumerate() {
        if t.zxid <= previous {
            out.push(Violation::CommittedOutOfOrder {
                index,
                zxid: t.zxid,
                previous,
            });
            continue;
        }
        let follows = if t.zxid.epoch() == previous.epoch() {
            t.zxid.counter() == previous.counter().wrapping_add(1)
        } else {
            t.zxid.counter() == 1
        };
        if contiguous && !follows {
            out.push(Violation::CommittedGap {
                zxid: t.zxid,
                previous,
            });
        }
        previous = t.zxid;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn txn(zxid: Zxid) -> Txn {
        Txn {
            zxid,
            session_id: None,
            change: Change::Other,
        }
    }

    #[test]
    fn order_and_gaps() {
        let ok = CommittedHistory::from_start(vec![
            txn(Zxid(1)),
            txn(Zxid(2)),
            txn(Zxid::new(2, 1)),
            txn(Zxid::new(2, 2)),
        ]);
        let mut v = Vec::new();
        check_order(&ok, true, &mut v);
        assert_eq!(v, []);

        let bad = CommittedHistory::from_start(vec![
            txn(Zxid(1)),
            txn(Zxid(3)),
            txn(Zxid(3)),
            txn(Zxid::new(1, 2)),
        ]);
        check_order(&bad, true, &mut v);
        assert_eq!(
            v,
            [
                Violation::CommittedGap {
                    zxid: Zxid(3),
                    previous: Zxid(1)
                },
                Violation::CommittedOutOfOrder {
                    index: 2,
                    zxid: Zxid(3),
                    previous: Zxid(3)
                },
                Violation::CommittedGap {
                    zxid: Zxid::new(1, 2),
                    previous: Zxid(3)
                },
            ]
        );
        v.clear();
        check_order(&bad, false, &mut v);
        assert_eq!(v.len(), 1, "only the repeated zxid without contiguity");
    }

    #[test]
    fn a_history_after_a_base_continues_from_it() {
        let c = CommittedHistory::after(Zxid(7), vec![txn(Zxid(8))]);
        let mut v = Vec::new();
        check_order(&c, true, &mut v);
        assert_eq!(v, []);
        assert_eq!(c.last_zxid(), Zxid(8));
        assert_eq!(
            CommittedHistory::after(Zxid(7), vec![]).last_zxid(),
            Zxid(7)
        );
    }
}
