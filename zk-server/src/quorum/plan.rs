//! How a leader brings a learner up to date (`LearnerHandler.syncFollower` and
//! `queueCommittedProposals`): an empty DIFF, a TRUNC, a DIFF with the transactions the
//! learner lacks (from the in-memory committed log, or from the on-disk log followed by the
//! committed log), or a whole snapshot.

use zk_core::Zxid;

use super::zab::Txn;

/// The leader's decision for one learner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SyncPlan {
    /// Send `op` (DIFF or TRUNC), then a PROPOSAL + COMMIT pair for each transaction, then
    /// forward everything after `last`.
    Packets {
        /// DIFF(zxid) or TRUNC(zxid).
        op: SyncOp,
        /// The committed transactions the learner lacks, in order.
        txns: Vec<Txn>,
        /// The last zxid the learner will have once these are applied.
        last: Zxid,
    },
    /// Send the whole tree.
    Snap,
    /// The learner is older than the committed log: read the on-disk log from its zxid and
    /// plan again with it.
    ReadDisk,
}

/// The first packet of a DIFF or TRUNC sync.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncOp {
    /// DIFF: apply what follows.
    Diff(Zxid),
    /// TRUNC: drop everything logged after this zxid first.
    Trunc(Zxid),
}

/// The inputs of the decision.
#[derive(Debug, Clone, Copy)]
pub struct SyncInputs<'a, I> {
    /// The learner's last logged zxid (its ACKEPOCH).
    pub peer_last: Zxid,
    /// The leader tree's last processed zxid.
    pub last_processed: Zxid,
    /// The in-memory committed log, oldest first.
    pub committed: I,
    /// The on-disk log from `peer_last` on, once read (`None`: not read yet; `Some(&[])`:
    /// not available).
    pub disk: Option<&'a [Txn]>,
    /// `zookeeper.forceSnapshotSync`.
    pub force_snap: bool,
    /// Whether the on-disk log may be used (`snapshotSizeFactor` >= 0).
    pub txn_log_sync: bool,
}

/// What `queueCommittedProposals` builds up.
struct Queue {
    op: Option<SyncOp>,
    txns: Vec<Txn>,
}

/// Decides how to sync a learner.
pub fn plan<'a, I>(inp: SyncInputs<'a, I>) -> SyncPlan
where
    I: Iterator<Item = &'a Txn> + Clone,
{
    let peer = inp.peer_last;
    let lp = inp.last_processed;
    let new_epoch_zxid = peer.counter() == 0;
    let mut committed = inp.committed.clone().peekable();
    let (min, max) = match (committed.peek(), inp.committed.clone().last()) {
        (Some(a), Some(b)) => (a.zxid(), b.zxid()),
        _ => (lp, lp),
    };
    if inp.force_snap {
        return SyncPlan::Snap;
    }
    if lp == peer {
        return SyncPlan::Packets {
            op: SyncOp::Diff(peer),
            txns: Vec::new(),
            last: peer,
        };
    }
    if peer > max && !new_epoch_zxid {
        return SyncPlan::Packets {
            op: SyncOp::Trunc(max),
            txns: Vec::new(),
            last: max,
        };
    }
    let mut q = Queue {
        op: None,
        txns: Vec::new(),
    };
    if min <= peer && peer <= max {
        let last = queue(&mut q, inp.committed, peer, None, max);
        return finish(q, last);
    }
    if peer < min && inp.txn_log_sync {
        let Some(disk) = inp.disk else {
            return SyncPlan::ReadDisk;
        };
        // Only the run of the log that follows `peer` without a hole (a log continues after
        // a SNAP sync's snapshot with a gap the snapshot covered; a DIFF across it would
        // silently lose the transactions in between).
        let end = contiguous_run(disk, peer);
        let disk = &disk[..end];
        if disk.is_empty() {
            return SyncPlan::Snap;
        }
        let current = queue(&mut q, disk.iter(), peer, Some(min), max);
        if current < min {
            // A gap between the end of the on-disk log and the committed log.
            return SyncPlan::Snap;
        }
        let last = queue(&mut q, inp.committed, current, None, max);
        return finish(q, last);
    }
    SyncPlan::Snap
}

/// True when `next` directly follows `prev` in a history: the next counter of the same epoch,
/// or the first transaction of a later epoch.
pub fn follows(prev: Zxid, next: Zxid) -> bool {
    if next.epoch() == prev.epoch() {
        next.0 == prev.0 + 1
    } else {
        next.epoch() > prev.epoch() && next.counter() == 1
    }
}

/// How many of `txns` (sorted) to use: up to the first hole after `from`.
fn contiguous_run(txns: &[Txn], from: Zxid) -> usize {
    log_run(txns, from, &[])
}

/// How many of the logged `txns` (in zxid order) form one unbroken history from `from` on.
///
/// The zxids tell a hole inside an epoch, and a later epoch that does not start at counter 1.
/// They cannot tell a whole epoch missing: a member that synced by SNAP logs what follows the
/// snapshot right after what it logged before, and the snapshot covered the difference. So a
/// snapshot strictly between two consecutive entries is a hole too (a periodic snapshot's
/// zxid is a logged transaction's, not strictly between two). The leader's disk gives its
/// DIFF reads only the unbroken run.
pub fn log_run(txns: &[Txn], from: Zxid, snapshots: &[Zxid]) -> usize {
    let mut prev: Option<Zxid> = None;
    for (i, t) in txns.iter().enumerate() {
        let z = t.zxid();
        if z < from {
            continue;
        }
        if let Some(p) = prev {
            if !follows(p, z) || snapshots.iter().any(|s| p < *s && *s < z) {
                return i;
            }
        }
        prev = Some(z);
    }
    txns.len()
}

fn finish(q: Queue, last: Zxid) -> SyncPlan {
    match q.op {
        // No DIFF or TRUNC could be chosen (a TRUNC across epochs): fall back to SNAP.
        None => SyncPlan::Snap,
        Some(op) => SyncPlan::Packets {
            op,
            txns: q.txns,
            last,
        },
    }
}

/// `queueCommittedProposals`: queues the transactions in (`peer_last`, `max_zxid`], choosing
/// DIFF or TRUNC on the way; returns the last zxid queued. On a TRUNC that would cross an
/// epoch it stops with no op chosen.
fn queue<'a>(
    q: &mut Queue,
    itr: impl Iterator<Item = &'a Txn>,
    peer_last: Zxid,
    max_zxid: Option<Zxid>,
    last_committed: Zxid,
) -> Zxid {
    let new_epoch_zxid = peer_last.counter() == 0;
    let mut queued = peer_last;
    let mut prev = Zxid(-1);
    for t in itr {
        let z = t.zxid();
        if max_zxid.is_some_and(|m| z > m) {
            break;
        }
        if z < peer_last {
            prev = z;
            continue;
        }
        if q.op.is_none() {
            if z == peer_last {
                q.op = Some(SyncOp::Diff(last_committed));
                continue;
            }
            if new_epoch_zxid {
                q.op = Some(SyncOp::Diff(last_committed));
            } else if z > peer_last {
                if z.epoch() != peer_last.epoch() {
                    return queued;
                }
                q.op = Some(SyncOp::Trunc(prev));
            }
        }
        if z <= queued {
            continue;
        }
        q.txns.push(t.clone());
        queued = z;
    }
    if q.op.is_none() && new_epoch_zxid {
        q.op = Some(SyncOp::Diff(last_committed));
    }
    queued
}

#[cfg(test)]
mod tests {
    use super::*;
    use zk_core::txn::TxnBody;
    use zk_core::txn::{ErrorTxn, TxnHeader};
    use zk_core::SessionId;

    fn txn(e: u32, c: u32) -> Txn {
        Txn {
            header: TxnHeader {
                client_id: SessionId(1),
                cxid: 0,
                zxid: Zxid::new(e, c),
                time: 0,
                txn_type: -1,
            },
            body: TxnBody::Error(ErrorTxn { err: 0 }),
        }
    }

    fn p(peer: Zxid, lp: Zxid, log: &[Txn], disk: Option<&[Txn]>) -> SyncPlan {
        plan(SyncInputs {
            peer_last: peer,
            last_processed: lp,
            committed: log.iter(),
            disk,
            force_snap: false,
            txn_log_sync: true,
        })
    }

    fn zx(v: &SyncPlan) -> Vec<Zxid> {
        match v {
            SyncPlan::Packets { txns, .. } => txns.iter().map(Txn::zxid).collect(),
            _ => vec![],
        }
    }

    #[test]
    fn in_sync_is_an_empty_diff() {
        // Capture 01: DIFF(0) to a learner at 0 while the leader is at 0.
        let z = Zxid::new(1, 0x4c);
        assert_eq!(
            p(z, z, &[txn(1, 0x4b), txn(1, 0x4c)], None),
            SyncPlan::Packets {
                op: SyncOp::Diff(z),
                txns: vec![],
                last: z
            }
        );
    }

    #[test]
    fn inside_the_window_is_a_diff_of_the_rest_across_epochs() {
        // Capture 05: a peer at 0x10000004c got DIFF(0x200000006) and 6 epoch-2 pairs.
        let mut log: Vec<Txn> = (0x40..=0x4c).map(|c| txn(1, c)).collect();
        log.extend((1..=6).map(|c| txn(2, c)));
        let v = p(Zxid::new(1, 0x4c), Zxid::new(2, 6), &log, None);
        assert!(
            matches!(v, SyncPlan::Packets { op: SyncOp::Diff(z), last, .. } if z == Zxid::new(2, 6) && last == z)
        );
        assert_eq!(zx(&v), (1..=6).map(|c| Zxid::new(2, c)).collect::<Vec<_>>());
    }

    #[test]
    fn ahead_in_the_same_epoch_is_a_trunc() {
        // Capture 05b: ACKEPOCH 0x200000009 against a leader at 0x200000008: TRUNC(0x200000008).
        let log: Vec<Txn> = (1..=8).map(|c| txn(2, c)).collect();
        let v = p(Zxid::new(2, 9), Zxid::new(2, 8), &log, None);
        assert_eq!(
            v,
            SyncPlan::Packets {
                op: SyncOp::Trunc(Zxid::new(2, 8)),
                txns: vec![],
                last: Zxid::new(2, 8)
            }
        );
    }

    #[test]
    fn a_divergent_suffix_is_truncated_then_diffed_and_not_across_epochs() {
        // The peer logged (1,5) which the leader never had; the leader has (1,4), (1,6).
        let log = [txn(1, 4), txn(1, 6)];
        let v = p(Zxid::new(1, 5), Zxid::new(1, 6), &log, None);
        assert!(
            matches!(v, SyncPlan::Packets { op: SyncOp::Trunc(z), .. } if z == Zxid::new(1, 4))
        );
        assert_eq!(zx(&v), [Zxid::new(1, 6)]);
        // The same across an epoch boundary cannot be a TRUNC: SNAP.
        let log = [txn(1, 4), txn(2, 1)];
        assert_eq!(
            p(Zxid::new(1, 5), Zxid::new(2, 1), &log, None),
            SyncPlan::Snap
        );
    }

    #[test]
    fn an_empty_learner_or_one_older_than_the_logs_gets_a_snapshot() {
        let log: Vec<Txn> = (10..=20).map(|c| txn(1, c)).collect();
        assert_eq!(p(Zxid(0), Zxid::new(1, 20), &log, None), SyncPlan::ReadDisk);
        assert_eq!(
            p(Zxid(0), Zxid::new(1, 20), &log, Some(&[])),
            SyncPlan::Snap
        );
        let disk: Vec<Txn> = (3..=12).map(|c| txn(1, c)).collect();
        let v = p(Zxid::new(1, 3), Zxid::new(1, 20), &log, Some(&disk));
        assert_eq!(
            zx(&v),
            (4..=20).map(|c| Zxid::new(1, c)).collect::<Vec<_>>()
        );
        // A gap between the disk log and the window: SNAP.
        let disk: Vec<Txn> = (3..=8).map(|c| txn(1, c)).collect();
        assert_eq!(
            p(Zxid::new(1, 3), Zxid::new(1, 20), &log, Some(&disk)),
            SyncPlan::Snap
        );
    }

    #[test]
    fn a_hole_in_the_disk_log_is_not_diffed_across() {
        // Simulator seed 633: the leader's log held (1,0x26), then (2,0x47).. after a SNAP
        // sync; a DIFF from (1,0x26) must not skip (2,1)..(2,0x46).
        let log: Vec<Txn> = (0x47..=0x52).map(|c| txn(2, c)).collect();
        let mut disk = vec![txn(1, 0x26)];
        disk.extend(log.iter().cloned());
        assert_eq!(
            p(Zxid::new(1, 0x26), Zxid::new(2, 0x52), &log, Some(&disk)),
            SyncPlan::Snap
        );
        // A new epoch that starts at counter 1 is no hole.
        let log: Vec<Txn> = (1..=5).map(|c| txn(3, c)).collect();
        let disk = [txn(2, 7), txn(3, 1), txn(3, 2), txn(3, 3), txn(3, 4)];
        let v = p(Zxid::new(2, 7), Zxid::new(3, 5), &log[2..], Some(&disk));
        assert_eq!(zx(&v), (1..=5).map(|c| Zxid::new(3, c)).collect::<Vec<_>>());
        assert!(follows(Zxid::new(1, 9), Zxid::new(4, 1)));
        // Seed 942: (1,0x21).. then (3,1).. after a SNAP sync at (2,0x57): the snapshot
        // between them says epoch 2 is missing.
        let disk = [txn(1, 0x20), txn(1, 0x21), txn(3, 1), txn(3, 2)];
        assert_eq!(log_run(&disk, Zxid::new(1, 0x20), &[Zxid::new(2, 0x57)]), 2);
        assert_eq!(log_run(&disk, Zxid::new(1, 0x20), &[Zxid::new(1, 0x21)]), 4);
        assert!(!follows(Zxid::new(1, 9), Zxid::new(1, 11)));
    }

    #[test]
    fn a_new_epoch_zxid_is_never_truncated() {
        // A learner at (2, 0) (it synced by SNAP at the epoch start) with an older window.
        let log = [txn(1, 7), txn(3, 1), txn(3, 2)];
        let v = p(Zxid::new(2, 0), Zxid::new(3, 2), &log, None);
        assert!(matches!(
            v,
            SyncPlan::Packets {
                op: SyncOp::Diff(_),
                ..
            }
        ));
        assert_eq!(zx(&v), [Zxid::new(3, 1), Zxid::new(3, 2)]);
    }
}
