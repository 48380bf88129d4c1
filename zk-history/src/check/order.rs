//! Order checks on the zxids operations took effect at: unique write zxids, real-time order,
//! per-session order. Each is a sort and a pass.

use zk_core::Zxid;

use crate::violation::Violation;

use super::{Effect, Run};

/// Acknowledged writes have pairwise different reply zxids.
pub(super) fn unique_write_zxids(run: &mut Run<'_, '_>) {
    let mut writes: Vec<(Zxid, usize)> = run
        .effects
        .iter()
        .enumerate()
        .filter_map(|(i, e)| match e {
            Effect::Acked { zxid, .. } => Some((*zxid, i)),
            _ => None,
        })
        .collect();
    writes.sort_unstable();
    for w in writes.windows(2) {
        if w[0].0 == w[1].0 {
            let v = Violation::DuplicateZxid {
                first: run.op_ref(w[0].1),
                second: run.op_ref(w[1].1),
            };
            run.out.push(v);
        }
    }
}

/// If `a` completed before `b` was invoked: a write `b` has a greater zxid than `a`'s (the
/// leader assigns zxids in order, and `a`'s state was committed before it completed); with
/// linearizable reads a read `b` has at least `a`'s zxid.
///
/// A read is placed at the state it saw: the last committed transaction at or below its reply
/// zxid (a new leader answers at `epoch << 32` before its first transaction, the same state as
/// its predecessor's last one).
///
/// Operations sorted by completion give, for each invocation time, the greatest zxid of
/// everything completed before it: one merge of the two sorted lists.
pub(super) fn real_time(run: &mut Run<'_, '_>) {
    let ops = run.history.ops();
    let txns = run.committed.txns();
    let base = run.committed.base();
    let state_at = |z: Zxid| match txns.partition_point(|t| t.zxid <= z) {
        0 => base.min(z),
        n => txns[n - 1].zxid,
    };
    let placed = |e: Effect| match e {
        Effect::Read(z) | Effect::Refused(z) => Some(state_at(z)),
        other => other.zxid(),
    };
    let mut done: Vec<(u64, Zxid, usize)> = Vec::new();
    let mut starts: Vec<(u64, usize)> = Vec::new();
    for (i, e) in run.effects.iter().enumerate() {
        let op = &ops[i];
        if let (Effect::Read(_) | Effect::Acked { .. } | Effect::Refused(_), Some(c)) =
            (*e, op.completed)
        {
            if let Some(z) = placed(*e) {
                done.push((c, z, i));
            }
        }
        let starts_here = match e {
            Effect::Acked { .. } | Effect::Committed(_) => true,
            Effect::Read(_) => run.options.linearizable_reads,
            Effect::Nothing | Effect::Refused(_) => false,
        };
        if starts_here {
            starts.push((op.invoked, i));
        }
    }
    done.sort_unstable();
    starts.sort_unstable();

    let mut latest: Option<(Zxid, usize)> = None;
    let mut k = 0;
    for (invoked, i) in starts {
        while let Some(&(completed, z, j)) = done.get(k) {
            if completed >= invoked {
                break;
            }
            if latest.is_none_or(|(lz, _)| z > lz) {
                latest = Some((z, j));
            }
            k += 1;
        }
        let Some((lz, j)) = latest else { continue };
        let e = run.effects[i];
        let Some(z) = placed(e) else { continue };
        let broken = match e {
            Effect::Read(_) => z < lz,
            _ => z <= lz,
        };
        if broken {
            let v = Violation::RealTimeOrder {
                earlier: run.op_ref(j),
                later: run.op_ref(i),
            };
            run.out.push(v);
        }
    }
}

/// On each session, in issue order (invocation time, then position), reply zxids never go
/// back, and a write's is greater than any before it (the server handles a session's
/// requests in order, and a write makes a new transaction). Unknown-outcome writes are left
/// out: after a connection loss their request may still be applied later.
pub(super) fn sessions(run: &mut Run<'_, '_>) {
    let ops = run.history.ops();
    let mut order: Vec<(u32, u64, usize)> = run
        .effects
        .iter()
        .enumerate()
        .filter(|(_, e)| {
            matches!(
                e,
                Effect::Read(_) | Effect::Acked { .. } | Effect::Refused(_)
            )
        })
        .map(|(i, _)| (ops[i].client.0, ops[i].invoked, i))
        .collect();
    order.sort_unstable();

    let mut latest: Option<(u32, Zxid, usize)> = None;
    for (client, _, i) in order {
        let e = run.effects[i];
        let Some(z) = e.zxid() else { continue };
        if let Some((c, lz, j)) = latest.filter(|l| l.0 == client) {
            let broken = match e {
                Effect::Acked { .. } => z <= lz,
                _ => z < lz,
            };
            if broken {
                let v = Violation::SessionOrder {
                    earlier: run.op_ref(j),
                    later: run.op_ref(i),
                };
                run.out.push(v);
            }
            if z <= lz {
                latest = Some((c, lz, j));
                continue;
            }
        }
        latest = Some((client, z, i));
    }
}
