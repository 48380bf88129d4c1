//! [`check`]: a history against the committed transactions, in O((n + m) log(n + m)) for n
//! operations and m transactions, with no search.
//!
//! The reply zxids place every answered operation in the one total order of transactions, so
//! nothing has to be guessed: each read is compared with the model state at its zxid and each
//! write with the transaction at its zxid. The steps, each a sort and a pass:
//!
//! 1. the committed history alone: zxids increase (and, by default, have no gap);
//! 2. `values`: which transaction carries each write's (unique) value;
//! 3. [`classify`]: the zxid each operation took effect at, or none;
//! 4. `replay`: one sweep over operations sorted by zxid, merged with the transactions
//!    applied to the model;
//! 5. `order`: real-time order (sorted by completion and by invocation), per-session order
//!    (sorted by session then invocation), unique write zxids (sorted by zxid).

mod order;
mod replay;
mod values;

use zk_core::{ErrorCode, Zxid};

use crate::committed::{check_order, CommittedHistory};
use crate::op::{History, OpId, Outcome};
use crate::report::{Report, Violations};
use crate::violation::{OpRef, Violation};

/// What the checker may assume.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Options {
    /// Reads are linearizable (a future setting of the server): a read invoked after an
    /// operation completed must have a zxid at least that operation's. Off by default: a
    /// ZooKeeper read is served by the member holding the session and may be stale.
    pub linearizable_reads: bool,
    /// The committed history has every zxid (Zab's contiguity): within an epoch the counter
    /// goes up by one, and an epoch starts at counter 1. On by default.
    pub contiguous_zxids: bool,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            linearizable_reads: false,
            contiguous_zxids: true,
        }
    }
}

impl Options {
    /// Sets [`Options::linearizable_reads`].
    pub fn with_linearizable_reads(mut self, on: bool) -> Options {
        self.linearizable_reads = on;
        self
    }

    /// Sets [`Options::contiguous_zxids`].
    pub fn with_contiguous_zxids(mut self, on: bool) -> Options {
        self.contiguous_zxids = on;
        self
    }
}

/// Where an operation took effect in the zxid order, as far as the checks need.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Effect {
    /// Nowhere known: an unanswered read, or an unknown-outcome write that left no trace.
    Nothing,
    /// A read answered (with data or an error) at this zxid.
    Read(Zxid),
    /// A write answered at this zxid (ok, or an error logged as an error transaction).
    /// `replay` is false when the write was already reported lost, or is before the base.
    Acked { zxid: Zxid, replay: bool },
    /// An unknown-outcome write whose value was committed at this zxid.
    Committed(Zxid),
    /// A write refused without a transaction (NotReadOnly, ThrottledOp): answered at the
    /// server's last zxid, like a read.
    Refused(Zxid),
}

impl Effect {
    fn zxid(self) -> Option<Zxid> {
        match self {
            Effect::Nothing => None,
            Effect::Read(z)
            | Effect::Acked { zxid: z, .. }
            | Effect::Committed(z)
            | Effect::Refused(z) => Some(z),
        }
    }
}

/// Error codes a server answers a write with without logging a transaction.
fn unlogged(code: ErrorCode) -> bool {
    matches!(code, ErrorCode::NotReadOnly | ErrorCode::ThrottledOp)
}

/// Everything one check needs, borrowed.
struct Run<'h, 'c> {
    history: &'h History,
    committed: &'c CommittedHistory,
    options: &'h Options,
    effects: Vec<Effect>,
    report: Report,
    out: Vec<Violation>,
}

impl Run<'_, '_> {
    fn op_ref(&self, i: usize) -> OpRef {
        OpRef {
            id: OpId(i),
            op: self.history.ops()[i].clone(),
        }
    }
}

/// Checks `history` against `committed`.
///
/// The checks, each reported as its own [`Violation`]:
///
/// * the committed history: strictly increasing zxids from its base, gap-free by default
///   ([`Options::contiguous_zxids`]), and every transaction applicable to the state before it;
/// * nothing acknowledged lost: every write answered ok or with a definite error is the
///   transaction at its reply zxid (same path and value, or same error code; same session
///   when both are known), and a write's value is committed at most once, never for a write
///   that failed;
/// * the model replayed from the committed transactions reproduces every acknowledged write's
///   result: the version a set returned, BadVersion, NoNode, NodeExists, NotEmpty;
/// * every read with reply zxid Z returns exactly the model state after every transaction up
///   to Z (data and version, or NoNode); a read beyond the last transaction is a violation,
///   one at or below the base is skipped (counted in the [`Report`]);
/// * unknown-outcome writes may have happened or not; one whose value was committed is checked
///   like an acknowledged write at that transaction's zxid, except for session order (its
///   request may have been applied after the session's later ones);
/// * real-time order: an operation invoked after another completed takes effect at a greater
///   zxid if it is a write (and at least the same one if it is a read, with
///   [`Options::linearizable_reads`]); acknowledged writes have unique zxids;
/// * per-session order: in issue order, reply zxids never decrease, and a write's is greater
///   than everything before it on its session.
///
/// Cost: a few sorts and linear passes, O((n + m) log(n + m)) time and O(n + m) memory for n
/// operations and m transactions.
pub fn check(
    history: &History,
    committed: &CommittedHistory,
    options: &Options,
) -> Result<Report, Violations> {
    let mut run = Run {
        history,
        committed,
        options,
        effects: Vec::with_capacity(history.len()),
        report: Report {
            ops: history.len(),
            txns: committed.txns().len(),
            base: committed.base(),
            ..Report::default()
        },
        out: Vec::new(),
    };
    check_order(committed, options.contiguous_zxids, &mut run.out);
    let values = values::Values::index(&mut run);
    classify(&mut run, &values);
    replay::sweep(&mut run, &values);
    order::unique_write_zxids(&mut run);
    order::real_time(&mut run);
    order::sessions(&mut run);
    if run.out.is_empty() {
        Ok(run.report)
    } else {
        Err(Violations {
            violations: run.out,
            report: run.report,
        })
    }
}

/// Decides each operation's [`Effect`], reporting writes whose value is committed where it
/// must not be.
fn classify(run: &mut Run<'_, '_>, values: &values::Values<'_>) {
    let txns = run.committed.txns();
    let base = run.committed.base();
    let history = run.history;
    for (i, op) in history.ops().iter().enumerate() {
        let at = values.committed_at(i).map(|j| txns[j].zxid);
        let effect = match (&op.outcome, op.operation.is_write()) {
            (Outcome::Unknown, false) => Effect::Nothing,
            (Outcome::Ok { zxid, .. } | Outcome::Error { zxid, .. }, false) => Effect::Read(*zxid),
            (Outcome::Unknown, true) => match at {
                Some(z) => {
                    run.report.unknown_committed += 1;
                    Effect::Committed(z)
                }
                None => {
                    run.report.unknown_unmatched += 1;
                    Effect::Nothing
                }
            },
            (Outcome::Error { zxid, code }, true) => {
                if let Some(z) = at {
                    run.out.push(Violation::FailedWriteApplied {
                        op: run.op_ref(i),
                        zxid: z,
                    });
                }
                if unlogged(*code) {
                    Effect::Refused(*zxid)
                } else {
                    Effect::Acked {
                        zxid: *zxid,
                        replay: *zxid > base,
                    }
                }
            }
            (Outcome::Ok { zxid, .. }, true) => {
                let zxid = *zxid;
                let lost = op.operation.data().is_some() && at != Some(zxid);
                if zxid > base && lost {
                    run.out.push(Violation::LostWrite {
                        op: run.op_ref(i),
                        found_at: at,
                    });
                }
                Effect::Acked {
                    zxid,
                    replay: zxid > base && !lost,
                }
            }
        };
        if let Effect::Acked { zxid, .. } = effect {
            if zxid <= base {
                run.report.skipped_before_start += 1;
            }
        }
        run.effects.push(effect);
    }
    assert_eq!(run.effects.len(), history.len(), "one effect per operation");
}

#[cfg(test)]
mod tests;
