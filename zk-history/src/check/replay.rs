//! The sweep: operations sorted by the zxid they took effect at, merged with the committed
//! transactions applied one by one to the model. A write at zxid Z is judged on the state
//! before Z (against the transaction at Z), a read at Z on the state after Z.

use zk_core::{ErrorCode, Zxid};

use crate::committed::{Change, Txn};
use crate::model::{is_modeled, Model};
use crate::op::{Op, Operation, Outcome, Reply};
use crate::violation::Violation;

use super::values::Values;
use super::{Effect, Run};

/// Writes sort before reads at the same zxid.
const WRITE: u8 = 0;
const READ: u8 = 1;

/// The committed transactions, applied to the model in order.
struct Cursor<'c> {
    txns: &'c [Txn],
    next: usize,
    model: Model<'c>,
}

impl<'c> Cursor<'c> {
    /// Applies every transaction with a zxid below `limit` (`inclusive`: up to it).
    fn advance(&mut self, limit: Zxid, inclusive: bool, out: &mut Vec<Violation>) {
        while let Some(t) = self.txns.get(self.next) {
            if t.zxid > limit || (t.zxid == limit && !inclusive) {
                break;
            }
            if let Err(reason) = self.model.apply(&t.change) {
                out.push(Violation::CommittedInconsistent {
                    txn: t.clone(),
                    reason,
                });
            }
            self.next += 1;
        }
    }

    /// The next transaction, when it has zxid `z`.
    fn at(&self, z: Zxid) -> Option<&'c Txn> {
        self.txns.get(self.next).filter(|t| t.zxid == z)
    }
}

/// True when `t` is the transaction of write `op` with this outcome (an unknown outcome is
/// taken as success).
fn is_txn_of(op: &Op, t: &Txn) -> bool {
    if let (Some(a), Some(b)) = (op.session_id, t.session_id) {
        if a != b {
            return false;
        }
    }
    if let Outcome::Error { code, .. } = op.outcome {
        return t.change == Change::Error { code };
    }
    match (&op.operation, &t.change) {
        (
            Operation::Set { path, data, .. },
            Change::SetData {
                path: p, data: d, ..
            },
        )
        | (Operation::Create { path, data }, Change::Create { path: p, data: d }) => {
            path == p && data == d
        }
        (Operation::Delete { path, .. }, Change::Delete { path: p }) => path == p,
        _ => false,
    }
}

pub(super) fn sweep(run: &mut Run<'_, '_>, values: &Values<'_>) {
    let committed = run.committed;
    let (base, last) = (committed.base(), committed.last_zxid());
    let mut items = Vec::with_capacity(run.effects.len());
    for (i, e) in run.effects.iter().enumerate() {
        match *e {
            // A new leader reports `epoch << 32` as its last processed zxid until its first
            // proposal (`Leader.startZkServer`): that state is the one after the last
            // transaction of the earlier epochs, wherever the history ends.
            Effect::Read(z) if z > last && z.counter() == 0 && z.epoch() > last.epoch() => {
                items.push((last, READ, i))
            }
            Effect::Read(z) if z > last => {
                let v = Violation::ReadBeyondHistory {
                    op: run.op_ref(i),
                    last,
                };
                run.out.push(v);
            }
            Effect::Read(z) if z < base => run.report.skipped_before_start += 1,
            Effect::Read(z) => items.push((z, READ, i)),
            Effect::Acked { zxid, replay: true } | Effect::Committed(zxid) => {
                items.push((zxid, WRITE, i))
            }
            Effect::Acked { replay: false, .. } | Effect::Nothing | Effect::Refused(_) => {}
        }
    }
    items.sort_unstable();

    let mut cursor = Cursor {
        txns: committed.txns(),
        next: 0,
        model: Model::new(committed.starts_empty()),
    };
    let history = run.history;
    for (z, phase, i) in items {
        let op = &history.ops()[i];
        if phase == WRITE {
            cursor.advance(z, false, &mut run.out);
            write(run, &cursor, z, i, op);
        } else {
            cursor.advance(z, true, &mut run.out);
            read(run, &cursor, values, i, op);
        }
    }
    cursor.advance(Zxid(i64::MAX), true, &mut run.out);
}

/// Judges write `i` at `z` on the state before `z`.
fn write(run: &mut Run<'_, '_>, cursor: &Cursor<'_>, z: Zxid, i: usize, op: &Op) {
    let Some(t) = cursor.at(z) else {
        let v = Violation::LostWrite {
            op: run.op_ref(i),
            found_at: None,
        };
        run.out.push(v);
        return;
    };
    if !is_txn_of(op, t) {
        let v = Violation::WrongTxn {
            op: run.op_ref(i),
            txn: t.clone(),
        };
        run.out.push(v);
        return;
    }
    let acked = !matches!(op.outcome, Outcome::Unknown);
    if acked {
        run.report.writes_checked += 1;
    }
    let Some(expected) = cursor.model.predict(&op.operation) else {
        run.report.skipped_unknown_state += 1;
        return;
    };
    let right = match &op.outcome {
        Outcome::Unknown => expected.is_success(),
        Outcome::Error { code, .. } if !is_modeled(*code) => {
            run.report.skipped_unmodeled += 1;
            return;
        }
        o => expected.matches(o),
    };
    if !right {
        let v = Violation::WrongResult {
            op: run.op_ref(i),
            at: z,
            expected: expected.to_owned(),
        };
        run.out.push(v);
    }
}

/// Judges read `i` on the state at its zxid.
fn read(run: &mut Run<'_, '_>, cursor: &Cursor<'_>, values: &Values<'_>, i: usize, op: &Op) {
    if let Outcome::Error { code, .. } = op.outcome {
        if code != ErrorCode::NoNode {
            run.report.skipped_unmodeled += 1;
            return;
        }
    }
    let Some(expected) = cursor.model.predict(&op.operation) else {
        run.report.skipped_unknown_state += 1;
        return;
    };
    run.report.reads_checked += 1;
    if expected.matches(&op.outcome) {
        return;
    }
    let origin = match &op.outcome {
        Outcome::Ok {
            reply: Reply::Read { data, .. },
            ..
        } => Some(values.origin(data, run)),
        _ => None,
    };
    let v = Violation::WrongRead {
        op: run.op_ref(i),
        expected: expected.to_owned(),
        origin,
    };
    run.out.push(v);
}
