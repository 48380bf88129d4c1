//! What the checker found wrong, each naming the operations and what was expected against
//! what was observed.

use std::fmt;

use zk_core::{ErrorCode, Zxid};

use crate::committed::Txn;
use crate::op::{Op, OpId, Reply};

/// An operation named in a violation: its id and a copy of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpRef {
    /// Its position in the history.
    pub id: OpId,
    /// The operation.
    pub op: Op,
}

impl fmt::Display for OpRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "op {} {}", self.id, self.op)
    }
}

/// Where the data a wrong read returned came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// A committed transaction wrote it, at this zxid.
    Committed(Zxid),
    /// This operation of the history tried to write it, but no transaction did.
    Uncommitted(OpId),
    /// Nothing wrote it.
    Unwritten,
}

/// One thing wrong with a history.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Violation {
    /// Committed zxids do not increase strictly (from the base).
    CommittedOutOfOrder {
        /// The transaction's index in the committed history.
        index: usize,
        /// Its zxid.
        zxid: Zxid,
        /// The zxid before it.
        previous: Zxid,
    },
    /// A zxid was skipped: a transaction is missing from the committed history.
    CommittedGap {
        /// The zxid after the gap.
        zxid: Zxid,
        /// The zxid before it.
        previous: Zxid,
    },
    /// A committed transaction cannot follow the state the ones before it make.
    CommittedInconsistent {
        /// The transaction.
        txn: Txn,
        /// Why.
        reason: String,
    },
    /// Two writes of the history carry the same data: the workload broke the checker's
    /// contract (every set and create writes a unique value).
    DuplicateValue {
        /// The first write.
        first: OpRef,
        /// The second.
        second: OpRef,
    },
    /// A write's value was committed by two transactions: it was applied twice.
    AppliedTwice {
        /// The write.
        op: OpRef,
        /// The two zxids.
        zxids: [Zxid; 2],
    },
    /// An acknowledged write (ok, or a definite error) is not in the committed history at its
    /// reply zxid.
    LostWrite {
        /// The write.
        op: OpRef,
        /// Where its value was committed instead, if anywhere.
        found_at: Option<Zxid>,
    },
    /// The transaction at a write's reply zxid is not that write (another path, data, kind,
    /// error code or session).
    WrongTxn {
        /// The write.
        op: OpRef,
        /// What was committed at its zxid.
        txn: Txn,
    },
    /// A write answered with a definite error, but its value was committed.
    FailedWriteApplied {
        /// The write.
        op: OpRef,
        /// Where its value was committed.
        zxid: Zxid,
    },
    /// A write's result is not what the model predicts from the committed transactions before
    /// it (a wrong version, an error where it should have succeeded, or the reverse).
    WrongResult {
        /// The write.
        op: OpRef,
        /// The zxid the write took effect at (its reply zxid, or where its value was
        /// committed for an unknown outcome).
        at: Zxid,
        /// What the model predicts.
        expected: Result<Reply, ErrorCode>,
    },
    /// A read does not return the state after every committed transaction up to its zxid.
    WrongRead {
        /// The read.
        op: OpRef,
        /// The state at its zxid: the data and version, or NoNode.
        expected: Result<Reply, ErrorCode>,
        /// Where the data it returned came from (`None` when it returned none).
        origin: Option<Origin>,
    },
    /// A read's zxid is beyond the end of the committed history (the history was cut short,
    /// or the server answered from state that was never committed).
    ReadBeyondHistory {
        /// The read.
        op: OpRef,
        /// The last committed zxid.
        last: Zxid,
    },
    /// Two acknowledged writes have the same reply zxid.
    DuplicateZxid {
        /// One write.
        first: OpRef,
        /// The other.
        second: OpRef,
    },
    /// `earlier` completed before `later` was invoked, yet `later` took effect at a zxid not
    /// after (for a read in linearizable mode: before) `earlier`'s.
    RealTimeOrder {
        /// The operation that completed first.
        earlier: OpRef,
        /// The operation invoked after it.
        later: OpRef,
    },
    /// On one session, `later` was issued after `earlier` but has a smaller reply zxid (or an
    /// equal one, for a write).
    SessionOrder {
        /// The operation issued first.
        earlier: OpRef,
        /// The operation issued after it.
        later: OpRef,
    },
}

struct ShowExpected<'a>(&'a Result<Reply, ErrorCode>);

impl fmt::Display for ShowExpected<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Ok(r) => write!(f, "{r}"),
            Err(c) => write!(f, "{c}"),
        }
    }
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use Violation as V;
        match self {
            V::CommittedOutOfOrder {
                index,
                zxid,
                previous,
            } => write!(
                f,
                "committed history out of order: txn [{index}] has zxid {zxid}, not after {previous}"
            ),
            V::CommittedGap { zxid, previous } => write!(
                f,
                "committed history has a gap: {zxid} follows {previous} (a transaction is missing)"
            ),
            V::CommittedInconsistent { txn, reason } => {
                write!(f, "committed history inconsistent at {txn}: {reason}")
            }
            V::DuplicateValue { first, second } => write!(
                f,
                "two writes carry the same data (the workload must write unique values): {first}; {second}"
            ),
            V::AppliedTwice { op, zxids } => write!(
                f,
                "write applied twice, at {} and {}: {op}",
                zxids[0], zxids[1]
            ),
            V::LostWrite {
                op,
                found_at: Some(z),
            } => write!(
                f,
                "acknowledged write committed at another zxid, {z}, than its reply's: {op}"
            ),
            V::LostWrite { op, found_at: None } => write!(
                f,
                "acknowledged write lost: no such transaction at its reply zxid: {op}"
            ),
            V::WrongTxn { op, txn } => write!(
                f,
                "the transaction at a write's reply zxid is another: {op}; committed {txn}"
            ),
            V::FailedWriteApplied { op, zxid } => write!(
                f,
                "write answered with an error, but its value was committed at {zxid}: {op}"
            ),
            V::WrongResult { op, at, expected } => write!(
                f,
                "wrong write result: {op}; the state before {at} gives {}",
                ShowExpected(expected)
            ),
            V::WrongRead {
                op,
                expected,
                origin,
            } => {
                let at = op.op.outcome.zxid().unwrap_or(Zxid::NONE);
                write!(
                    f,
                    "wrong read: {op}; the state at {at} is {}",
                    ShowExpected(expected)
                )?;
                match origin {
                    Some(Origin::Committed(z)) if *z > at => write!(
                        f,
                        "; the data read was committed later, at {z} (a read from the future)"
                    ),
                    Some(Origin::Committed(z)) => {
                        write!(f, "; the data read was committed at {z} (a stale read)")
                    }
                    Some(Origin::Uncommitted(id)) => write!(
                        f,
                        "; the data read was written by op {id}, which was never committed"
                    ),
                    Some(Origin::Unwritten) => f.write_str("; nothing ever wrote the data read"),
                    None => Ok(()),
                }
            }
            V::ReadBeyondHistory { op, last } => write!(
                f,
                "read beyond the committed history, which ends at {last}: {op}"
            ),
            V::DuplicateZxid { first, second } => {
                write!(f, "two writes share a reply zxid: {first}; {second}")
            }
            V::RealTimeOrder { earlier, later } => write!(
                f,
                "real-time order broken: {later} was invoked after {earlier} completed, yet its \
                 zxid is not after that one's (for a read in linearizable mode: is before it)"
            ),
            V::SessionOrder { earlier, later } => write!(
                f,
                "session order broken: {later} was issued after {earlier}, yet its zxid is \
                 smaller (or equal, for a write)"
            ),
        }
    }
}
