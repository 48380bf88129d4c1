//! Which committed transaction carries each write's value. Workloads write unique values, so
//! a value names its write: this is how unknown-outcome writes are found, and how a write
//! applied twice or at the wrong zxid shows.

use std::collections::hash_map::Entry;

use crate::committed::Change;
use crate::hash::FxHashMap;
use crate::op::OpId;
use crate::violation::{Origin, Violation};

use super::Run;

/// No transaction (in `committed_at`).
const NONE: u32 = u32::MAX;

pub(super) struct Values<'h> {
    /// Every set's and create's data -> the write.
    by_data: FxHashMap<&'h [u8], usize>,
    /// Per operation: the index of the transaction that carries its value, or [`NONE`].
    committed_at: Vec<u32>,
}

/// The data a transaction writes at top level (multis are not searched).
fn written(change: &Change) -> Option<&[u8]> {
    match change {
        Change::SetData { data, .. } | Change::Create { data, .. } => Some(data),
        _ => None,
    }
}

impl<'h> Values<'h> {
    /// Indexes the history's values and finds their transactions.
    pub(super) fn index(run: &mut Run<'h, '_>) -> Values<'h> {
        let ops = run.history.ops();
        assert!(
            run.committed.txns().len() < NONE as usize,
            "at most 2^32 - 1 transactions"
        );
        let mut by_data = FxHashMap::with_capacity_and_hasher(ops.len(), Default::default());
        for (i, op) in ops.iter().enumerate() {
            let Some(data) = op.operation.data() else {
                continue;
            };
            match by_data.entry(data) {
                Entry::Vacant(e) => {
                    e.insert(i);
                }
                // The first keeps the value: the second cannot be told apart from it.
                Entry::Occupied(e) => run.out.push(Violation::DuplicateValue {
                    first: run.op_ref(*e.get()),
                    second: run.op_ref(i),
                }),
            }
        }
        let mut committed_at = vec![NONE; ops.len()];
        for (j, t) in run.committed.txns().iter().enumerate() {
            let Some(&i) = written(&t.change).and_then(|d| by_data.get(d)) else {
                continue;
            };
            match committed_at[i] {
                NONE => committed_at[i] = j as u32,
                first => run.out.push(Violation::AppliedTwice {
                    op: run.op_ref(i),
                    zxids: [run.committed.txns()[first as usize].zxid, t.zxid],
                }),
            }
        }
        Values {
            by_data,
            committed_at,
        }
    }

    /// The index of the transaction carrying operation `i`'s value.
    pub(super) fn committed_at(&self, i: usize) -> Option<usize> {
        match self.committed_at[i] {
            NONE => None,
            j => Some(j as usize),
        }
    }

    /// Where `data` came from, for a wrong read. Searches the committed history when no write
    /// of the history wrote it (only for violations, so rarely).
    pub(super) fn origin(&self, data: &[u8], run: &Run<'_, '_>) -> Origin {
        let txns = run.committed.txns();
        if let Some(&i) = self.by_data.get(data) {
            return match self.committed_at(i) {
                Some(j) => Origin::Committed(txns[j].zxid),
                None => Origin::Uncommitted(OpId(i)),
            };
        }
        fn carries(c: &Change, data: &[u8]) -> bool {
            match c {
                Change::Multi(subs) => subs.iter().any(|s| carries(s, data)),
                c => written(c) == Some(data),
            }
        }
        txns.iter()
            .find(|t| carries(&t.change, data))
            .map_or(Origin::Unwritten, |t| Origin::Committed(t.zxid))
    }
}
