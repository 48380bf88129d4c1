//! An ensemble's committed history and state, read back after a run with faults: the
//! members' transaction logs merged into one history without holes ([`merge_committed`]),
//! every member's tree read over the client protocol ([`read_tree`]), and how long writes
//! stopped after a fault ([`first_new_epoch_write`]).
//!
//! # Why merge
//!
//! One member's log is the whole committed history only when that member never synced by
//! SNAP: a SNAP leaves a hole before the snapshot it installs (the leader's log before it
//! is not sent), and the files before the hole may end with proposals that were never
//! committed (the member logged them, then a new leader that never had them sent a SNAP
//! rather than a TRUNC, which would have cut them). So [`merge_committed`] reads every
//! member's log files and:
//!
//! 1. keys every logged transaction by zxid; where two members logged the same zxid, the
//!    header and the record must be byte-for-byte the same (one leader per epoch proposes
//!    one transaction per zxid): a difference is an error;
//! 2. finds where each epoch ended: two entries of one member next to each other, the second
//!    of a newer epoch, show that the member went from the first's epoch to the second's
//!    through a sync with a leader whose history ended there. That holds for two entries of
//!    one file, and for the last entry of a file and the first of the next one, when no
//!    snapshot of the member lies between them (an Apache learner goes on in the same file
//!    after a SNAP's snapshot): stale proposals are cut by a TRUNC, and
//!    survive only before a SNAP, whose snapshot (newer than them, older than what follows)
//!    then lies in between. A SNAP's snapshot and the first entry after it are neighbours
//!    too (the learner logs what follows the leader's tree). Every such pair in every member
//!    must agree, and the newer epoch must start at counter 1; within an epoch such
//!    neighbours must be consecutive;
//! 3. keeps, of each epoch that ended, the transactions up to its end (the ones after it
//!    were never committed: counted as stale), and of the last epoch those up to the zxid
//!    the members converged to;
//! 4. returns the run of them without a hole that ends at the last one: from the database's
//!    start when the logs cover it, else from after the last hole, over a state the checker
//!    does not know. A hole is legitimate only as transactions that reached the members
//!    inside a SNAP's snapshot (a new leader's own proposals, committed by its NEWLEADER
//!    with a follower it sent a SNAP to, and its log wiped later): some member must hold a
//!    snapshot inside the hole, or the merge fails.
//!
//! The result is checked by zk-history like any committed history, which also checks that
//! it has no gap.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use zk_client::Client;
use zk_core::txn::TxnEntry;
use zk_core::{Stat, Zxid};
use zk_history::{CommittedHistory, History, Outcome, Reply};
use zk_server::persist::{list, scan_log_file, version_dir, LogEnd, LOG_PREFIX, SNAPSHOT_PREFIX};

use crate::history_support::txn_of;

/// What [`merge_committed`] found.
#[derive(Debug, Clone, Default)]
pub struct MergeReport {
    /// Transactions logged per member (all files, stale ones included).
    pub logged: BTreeMap<i64, usize>,
    /// Zxids logged by two members or more, compared byte for byte.
    pub overlapping: usize,
    /// Where each ended epoch ended (its last committed counter).
    pub epoch_ends: BTreeMap<u32, u32>,
    /// Logged transactions left out: after their epoch's end (never committed).
    pub stale: Vec<(i64, Zxid)>,
    /// When the logs do not hold the whole history: the first transaction of the part
    /// without a hole that ends at the last one (the history starts there, over an unknown
    /// state).
    pub cut_before: Option<Zxid>,
    /// The snapshot that holds the transactions of that hole.
    pub hole_snapshot: Option<Zxid>,
    /// Transactions in the merged history.
    pub merged: usize,
    /// Per member, entries it logged a second time, identical to its first copy, after its
    /// log went back (dropped before the merge): an Apache ZooKeeper 3.8.0 learner whose
    /// sync failed after it logged the leader's proposals (ZOOKEEPER-4394) has not applied
    /// them, reports its older last zxid at the next sync and logs them again.
    pub relogged: BTreeMap<i64, usize>,
}

/// Drops, from one member's files, each entry logged again after its log went back: the
/// entry must be byte for byte the member's first copy at that zxid. Returns the files and
/// how many entries were dropped.
///
/// # Errors
/// The log goes back to a zxid it does not hold, or holds something else at it.
fn drop_relogged(
    id: i64,
    files: Vec<Vec<TxnEntry>>,
) -> anyhow::Result<(Vec<Vec<TxnEntry>>, usize)> {
    let mut seen: BTreeMap<Zxid, TxnEntry> = BTreeMap::new();
    let mut dropped = 0;
    let mut out = Vec::with_capacity(files.len());
    for entries in files {
        let mut kept = Vec::with_capacity(entries.len());
        for e in entries {
            let z = e.header.zxid;
            let newest = seen.last_key_value().map(|(n, _)| *n);
            if newest.is_some_and(|n| z <= n) {
                match seen.get(&z) {
                    Some(first) if first.header == e.header && first.record == e.record => {
                        dropped += 1;
                        continue;
                    }
                    Some(_) => bail!("member {id}: logged {z} twice, differently"),
                    None => bail!(
                        "member {id}: {z} after {} in its log",
                        newest.expect("checked")
                    ),
                }
            }
            seen.insert(z, e.clone());
            kept.push(e);
        }
        out.push(kept);
    }
    Ok((out, dropped))
}

/// Every logged entry of one member, file by file, in file order.
fn member_files(data_log_dir: &Path) -> anyhow::Result<Vec<Vec<TxnEntry>>> {
    let dir = version_dir(data_log_dir);
    let mut files = Vec::new();
    let logs = list(&dir, LOG_PREFIX).with_context(|| format!("list {}", dir.display()))?;
    let newest = logs.len().saturating_sub(1);
    for (i, (_, path)) in logs.iter().enumerate() {
        let scan = scan_log_file(path).with_context(|| format!("read {}", path.display()))?;
        if let LogEnd::Torn { offset, reason } = &scan.end {
            if i != newest {
                bail!("{}: torn at {offset} ({reason})", path.display());
            }
        }
        files.push(scan.entries.into_iter().map(|(_, e)| e).collect());
    }
    Ok(files)
}

/// The committed history of an ensemble from its members' logs (`(member id, data log dir)`),
/// up to `last`, the zxid every member converged to: see the module docs.
///
/// # Errors
/// A log cannot be read, two members logged different transactions at one zxid, two members
/// disagree on where an epoch ended, a member's log has a hole or goes backwards, or
/// committed transactions are in no log and under no snapshot.
pub fn merge_committed(
    members: &[(i64, PathBuf)],
    last: Zxid,
) -> anyhow::Result<(CommittedHistory, MergeReport)> {
    let mut report = MergeReport::default();
    // zxid -> (the entry, the first member that logged it, the members that logged it)
    let mut by_zxid: BTreeMap<Zxid, (TxnEntry, i64, Vec<i64>)> = BTreeMap::new();
    let mut ends: BTreeMap<u32, (u32, i64)> = BTreeMap::new();
    let mut all_snaps = Vec::new();
    for (id, dir) in members {
        let (files, relogged) = drop_relogged(*id, member_files(dir)?)?;
        if relogged > 0 {
            report.relogged.insert(*id, relogged);
        }
        let snaps = snapshots(dir)?;
        all_snaps.extend(snaps.iter().copied());
        let mut n = 0;
        let mut previous: Option<Zxid> = None;
        for entries in &files {
            n += entries.len();
            let Some(first) = entries.first() else {
                continue;
            };
            // The last entry of the previous file and the first of this one are neighbours
            // unless a snapshot (a SNAP sync) lies between them.
            let mut pairs: Vec<(Zxid, Zxid)> = previous
                .filter(|a| !snaps.iter().any(|s| a < s && *s < first.header.zxid))
                .map(|a| (a, first.header.zxid))
                .into_iter()
                .collect();
            // Within a file too: an Apache ZooKeeper learner does not start a new log file
            // after a SNAP's snapshot (zk-server does), so its file jumps over it.
            pairs.extend(
                entries
                    .windows(2)
                    .map(|p| (p[0].header.zxid, p[1].header.zxid))
                    .filter(|(a, b)| !snaps.iter().any(|s| a < s && s < b)),
            );
            previous = entries.last().map(|e| e.header.zxid);
            // A snapshot of a tree at a real transaction (not zxid 0, not a new epoch's
            // `epoch << 32` start) and the first entry logged after it.
            for snap in snaps.iter().filter(|s| s.counter() > 0) {
                let next = files
                    .iter()
                    .flatten()
                    .map(|e| e.header.zxid)
                    .filter(|z| z > snap)
                    .min();
                if let Some(b) = next.filter(|b| entries.iter().any(|e| e.header.zxid == *b)) {
                    if !snaps.iter().any(|s| snap < s && *s < b) {
                        pairs.push((*snap, b));
                    }
                }
            }
            for (a, b) in pairs {
                if b <= a {
                    bail!("member {id}: {b} after {a} in its log");
                }
                if b.epoch() == a.epoch() {
                    if b != a.next() {
                        bail!("member {id}: a hole between {a} and {b} in its log");
                    }
                    continue;
                }
                if b.counter() != 1 {
                    bail!("member {id}: epoch {} starts at {b}", b.epoch());
                }
                match ends.get(&a.epoch()) {
                    Some((end, by)) if *end != a.counter() => bail!(
                        "epoch {} ended at counter {end} for member {by} but at {a} for member {id}",
                        a.epoch()
                    ),
                    _ => {
                        ends.insert(a.epoch(), (a.counter(), *id));
                    }
                }
            }
            for e in entries {
                let z = e.header.zxid;
                match by_zxid.get_mut(&z) {
                    Some((first, first_id, ids)) => {
                        if first.header != e.header || first.record != e.record {
                            bail!(
                                "members {first_id} and {id} logged different transactions at \
                                 {z}: {:?} vs {:?}",
                                first.header,
                                e.header
                            );
                        }
                        if !ids.contains(id) {
                            ids.push(*id);
                        }
                    }
                    None => {
                        by_zxid.insert(z, (e.clone(), *id, vec![*id]));
                    }
                }
            }
        }
        report.logged.insert(*id, n);
    }
    report.overlapping = by_zxid.values().filter(|(_, _, ids)| ids.len() > 1).count();
    report.epoch_ends = ends.iter().map(|(e, (c, _))| (*e, *c)).collect();
    // Committed: the last epoch up to `last`, every other epoch up to its end. An epoch
    // whose end no log shows stays in for now; the run below cuts it off.
    let mut kept: Vec<(&Zxid, &TxnEntry)> = Vec::new();
    for (z, (entry, first_id, _)) in &by_zxid {
        let committed = *z <= last
            && (z.epoch() == last.epoch()
                || ends
                    .get(&z.epoch())
                    .is_none_or(|(end, _)| z.counter() <= *end));
        if committed {
            kept.push((z, entry));
        } else {
            report.stale.push((*first_id, *z));
        }
    }
    // The history is the run without a hole that ends at the last transaction: within an
    // epoch the counter goes up by one, and a new epoch starts at 1 right after the end of
    // the previous one (a known end). What no member logged (transactions that only reached
    // members as a SNAP's snapshot, or logs that were wiped) ends the run.
    let mut start = kept.len();
    while start > 0 {
        if start == kept.len() || joined(*kept[start - 1].0, *kept[start].0, &ends) {
            start -= 1;
        } else {
            break;
        }
    }
    // A hole is a run of committed transactions no member logged: they can only have
    // reached the members as a SNAP's snapshot (a leader that logged them alone, and
    // whose log was wiped later), so some member must hold a snapshot inside the hole.
    let first_of_history = Zxid::new(1, 1);
    let hole = if start > 0 {
        Some((*kept[start - 1].0, *kept[start].0))
    } else {
        kept.first()
            .map(|(z, _)| **z)
            .filter(|z| *z != first_of_history)
            .map(|z| (Zxid::ZERO, z))
    };
    if let Some((a, b)) = hole {
        let snap = all_snaps.iter().copied().find(|s| a < *s && *s < b);
        let Some(snap) = snap else {
            bail!(
                "committed transactions between {a} and {b} are in no member's log and \
                 under no snapshot"
            );
        };
        report.cut_before = Some(b);
        report.hole_snapshot = Some(snap);
    }
    let mut txns = Vec::new();
    for (_, entry) in &kept[start..] {
        txns.push(txn_of(entry)?);
    }
    report.merged = txns.len();
    let history = match txns.first().map(|t| t.zxid) {
        Some(z) if hole.is_some() => CommittedHistory::after(Zxid(z.0 - 1), txns),
        _ => CommittedHistory::from_start(txns),
    };
    Ok((history, report))
}

/// Whether `b` follows `a` in the history: the next counter, or the first of a later epoch
/// right after `a`'s epoch ended at `a`.
fn joined(a: Zxid, b: Zxid, ends: &BTreeMap<u32, (u32, i64)>) -> bool {
    b == a.next()
        || (b.epoch() > a.epoch()
            && b.counter() == 1
            && ends
                .get(&a.epoch())
                .is_some_and(|(end, _)| *end == a.counter()))
}

/// The zxids of the snapshots in a member's data directory.
pub fn snapshots(data_dir: &Path) -> anyhow::Result<Vec<Zxid>> {
    let dir = version_dir(data_dir);
    Ok(list(&dir, SNAPSHOT_PREFIX)?
        .into_iter()
        .map(|(z, _)| z)
        .collect())
}

/// A node as a client reads it.
pub type Node = (Vec<u8>, Stat);

/// Every node of the tree under `/` as the member behind `client` holds it (`/zookeeper`'s
/// subtree included), by path.
///
/// One field is the member's own: `/zookeeper/config`'s mtime, which each member sets to
/// its clock when it loads the configuration into its tree (as Apache ZooKeeper's
/// `ZKDatabase.initConfigInZKDatabase` does); it is read as 0.
///
/// # Errors
/// A read failed.
pub async fn read_tree(client: &Client) -> anyhow::Result<BTreeMap<String, Node>> {
    let mut tree = BTreeMap::new();
    let mut todo = vec!["/".to_string()];
    while let Some(path) = todo.pop() {
        let (data, stat) = client
            .get_data(&path)
            .await
            .with_context(|| format!("read {path}"))?;
        let children = client
            .get_children(&path)
            .await
            .with_context(|| format!("list {path}"))?;
        for c in children {
            todo.push(if path == "/" {
                format!("/{c}")
            } else {
                format!("{path}/{c}")
            });
        }
        let mut stat = stat;
        if path == "/zookeeper/config" {
            stat.mtime = 0;
        }
        tree.insert(path, (data.to_vec(), stat));
    }
    Ok(tree)
}

/// The first acknowledged write (a successful set or create) of a newer epoch than `epoch`,
/// completed after `after` (recorder ticks): how long after a fault writes resumed. Returns
/// its completion tick.
pub fn first_new_epoch_write(history: &History, after: u64, epoch: u32) -> Option<u64> {
    history
        .ops()
        .iter()
        .filter_map(|op| match &op.outcome {
            Outcome::Ok {
                zxid,
                reply: Reply::Set { .. } | Reply::Created,
            } if zxid.epoch() > epoch => op.completed.filter(|c| *c >= after),
            _ => None,
        })
        .min()
}

/// Acknowledged writes in `history` (successful sets and creates).
pub fn acknowledged_writes(history: &History) -> usize {
    history
        .ops()
        .iter()
        .filter(|op| {
            matches!(
                op.outcome,
                Outcome::Ok {
                    reply: Reply::Set { .. } | Reply::Created,
                    ..
                }
            )
        })
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;
    use zk_core::jute::Encode;
    use zk_core::txn::{SetDataTxn, TxnHeader};
    use zk_core::{OpCode, SessionId};
    use zk_server::persist::{TxnLog, TxnLogConfig};

    /// A member's data dir whose log files hold `files` (each a list of (epoch, counter,
    /// value)), with empty snapshot files named after `snaps`.
    fn member(root: &Path, id: i64, files: &[&[(u32, u32, &str)]], snaps: &[Zxid]) -> PathBuf {
        let dir = root.join(format!("m{id}"));
        let v2 = version_dir(&dir);
        let config = TxnLogConfig {
            pre_alloc_size: 0,
            ..TxnLogConfig::default()
        };
        let mut log = TxnLog::open(&v2, config).unwrap();
        for file in files {
            for (epoch, counter, value) in *file {
                let header = TxnHeader {
                    client_id: SessionId(1),
                    cxid: 0,
                    zxid: Zxid::new(*epoch, *counter),
                    time: 0,
                    txn_type: OpCode::SetData.as_i32(),
                };
                let mut body = Vec::new();
                SetDataTxn {
                    path: "/k".into(),
                    data: Some(bytes::Bytes::copy_from_slice(value.as_bytes())),
                    version: 0,
                }
                .encode(&mut body);
                log.append(&header, &body, None).unwrap();
            }
            log.roll().unwrap();
        }
        log.sync().unwrap();
        for s in snaps {
            std::fs::write(v2.join(zk_server::persist::snapshot_name(*s)), b"").unwrap();
        }
        dir
    }

    fn zxids(h: &CommittedHistory) -> Vec<Zxid> {
        h.txns().iter().map(|t| t.zxid).collect()
    }

    #[test]
    fn overlapping_logs_merge_and_stale_proposals_are_dropped() {
        let root = tempfile::tempdir().unwrap();
        // Member 1 led epoch 1 and logged (1,3) alone; it came back by SNAP at (2,1).
        let m1 = member(
            root.path(),
            1,
            &[&[(1, 1, "a"), (1, 2, "b"), (1, 3, "stale")], &[(2, 2, "d")]],
            &[Zxid::ZERO, Zxid::new(2, 1)],
        );
        // Member 2 followed throughout: epoch 1 ended at (1,2).
        let m2 = member(
            root.path(),
            2,
            &[&[(1, 1, "a"), (1, 2, "b"), (2, 1, "c"), (2, 2, "d")]],
            &[Zxid::ZERO],
        );
        let (h, report) = merge_committed(&[(1, m1), (2, m2)], Zxid::new(2, 2)).unwrap();
        assert!(h.starts_empty());
        assert_eq!(
            zxids(&h),
            [(1, 1), (1, 2), (2, 1), (2, 2)].map(|(e, c)| Zxid::new(e, c))
        );
        assert_eq!(report.stale, vec![(1, Zxid::new(1, 3))]);
        assert_eq!(report.epoch_ends.get(&1), Some(&2));
        assert_eq!(report.overlapping, 3);
        assert_eq!(report.cut_before, None);
    }

    #[test]
    fn a_log_that_went_back_and_logged_the_same_again_merges() {
        let root = tempfile::tempdir().unwrap();
        // A member whose log holds `first`, then a file (written aside: the log refuses to
        // go back) holding `again`.
        let went_back = |id: i64, first: &[(u32, u32, &str)], again: &[(u32, u32, &str)]| {
            let dir = member(root.path(), id, &[first], &[]);
            let aside = member(root.path(), id + 100, &[again], &[]);
            for (_, p) in list(&version_dir(&aside), LOG_PREFIX).unwrap() {
                std::fs::copy(&p, version_dir(&dir).join(p.file_name().unwrap())).unwrap();
            }
            dir
        };
        // As an Apache 3.8.0 learner after a failed sync: (2,1)..(2,2) logged twice.
        let m1 = went_back(
            1,
            &[(1, 1, "a"), (2, 1, "c"), (2, 2, "d")],
            &[(2, 1, "c"), (2, 2, "d"), (2, 3, "e")],
        );
        let m2 = member(
            root.path(),
            2,
            &[&[(1, 1, "a"), (2, 1, "c"), (2, 2, "d"), (2, 3, "e")]],
            &[],
        );
        let (h, report) = merge_committed(&[(1, m1), (2, m2)], Zxid::new(2, 3)).unwrap();
        assert_eq!(
            zxids(&h),
            [(1, 1), (2, 1), (2, 2), (2, 3)].map(|(e, c)| Zxid::new(e, c))
        );
        assert_eq!(report.relogged.get(&1), Some(&2));
        // Something else at a zxid the log went back to is an error.
        let m3 = went_back(3, &[(1, 1, "a"), (2, 1, "c")], &[(2, 1, "other")]);
        let err = merge_committed(&[(3, m3)], Zxid::new(2, 1)).unwrap_err();
        assert!(err.to_string().contains("twice, differently"), "{err}");
    }

    #[test]
    fn a_snap_inside_one_file_ends_no_epoch() {
        let root = tempfile::tempdir().unwrap();
        // As an Apache learner: (1,3) logged alone, then a SNAP at (2,1), same file.
        let m1 = member(
            root.path(),
            1,
            &[&[(1, 1, "a"), (1, 2, "b"), (1, 3, "stale"), (2, 2, "d")]],
            &[Zxid::ZERO, Zxid::new(2, 1)],
        );
        let m2 = member(
            root.path(),
            2,
            &[&[(1, 1, "a"), (1, 2, "b"), (2, 1, "c"), (2, 2, "d")]],
            &[Zxid::ZERO],
        );
        let (h, report) = merge_committed(&[(1, m1), (2, m2)], Zxid::new(2, 2)).unwrap();
        assert_eq!(
            zxids(&h),
            [(1, 1), (1, 2), (2, 1), (2, 2)].map(|(e, c)| Zxid::new(e, c))
        );
        assert_eq!(report.stale, vec![(1, Zxid::new(1, 3))]);
    }

    #[test]
    fn members_that_logged_different_transactions_at_one_zxid_fail() {
        let root = tempfile::tempdir().unwrap();
        let m1 = member(root.path(), 1, &[&[(1, 1, "a"), (1, 2, "b")]], &[]);
        let m2 = member(root.path(), 2, &[&[(1, 1, "a"), (1, 2, "other")]], &[]);
        let err = merge_committed(&[(1, m1), (2, m2)], Zxid::new(1, 2)).unwrap_err();
        assert!(
            err.to_string().contains("different transactions at"),
            "{err}"
        );
    }

    #[test]
    fn a_hole_in_one_member_s_log_without_a_snapshot_fails() {
        let root = tempfile::tempdir().unwrap();
        let m1 = member(root.path(), 1, &[&[(1, 1, "a")], &[(1, 3, "c")]], &[]);
        let err = merge_committed(&[(1, m1)], Zxid::new(1, 3)).unwrap_err();
        assert!(err.to_string().contains("a hole between"), "{err}");
    }

    #[test]
    fn disagreeing_epoch_ends_fail() {
        let root = tempfile::tempdir().unwrap();
        let m1 = member(root.path(), 1, &[&[(1, 1, "a"), (2, 1, "c")]], &[]);
        let m2 = member(
            root.path(),
            2,
            &[&[(1, 1, "a"), (1, 2, "b"), (2, 1, "c")]],
            &[],
        );
        let err = merge_committed(&[(1, m1), (2, m2)], Zxid::new(2, 1)).unwrap_err();
        assert!(err.to_string().contains("ended at counter"), "{err}");
    }

    #[test]
    fn a_hole_is_cut_off_only_under_a_snapshot() {
        let root = tempfile::tempdir().unwrap();
        // (1,3) and (1,4) are in no log (their leader's was wiped); member 2 received them
        // inside a SNAP at (1,4), member 1 was down.
        let m1 = member(root.path(), 1, &[&[(1, 1, "a"), (1, 2, "b")]], &[]);
        let m2 = member(
            root.path(),
            2,
            &[&[(1, 5, "e"), (1, 6, "f")]],
            &[Zxid::new(1, 4)],
        );
        let (h, report) = merge_committed(&[(1, m1.clone()), (2, m2)], Zxid::new(1, 6)).unwrap();
        assert!(!h.starts_empty());
        assert_eq!(h.base(), Zxid::new(1, 4));
        assert_eq!(zxids(&h), vec![Zxid::new(1, 5), Zxid::new(1, 6)]);
        assert_eq!(report.cut_before, Some(Zxid::new(1, 5)));
        assert_eq!(report.hole_snapshot, Some(Zxid::new(1, 4)));

        // Without the snapshot the hole is a loss.
        let m3 = member(root.path(), 3, &[&[(1, 5, "e"), (1, 6, "f")]], &[]);
        let err = merge_committed(&[(1, m1), (3, m3)], Zxid::new(1, 6)).unwrap_err();
        assert!(err.to_string().contains("no member's log"), "{err}");
    }
}
