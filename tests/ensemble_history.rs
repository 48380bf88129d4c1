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
//! 2. finds where each epoch ended: two entries next to each other in one file, the second
//!    of a newer epoch, show that the member went from the first's epoch to the second's
//!    through a sync with a leader whose history ended there (a TRUNC or a SNAP starts a new
//!    file, so stale proposals are never followed, in their file, by a newer epoch). Every
//!    such pair in every member must agree, and the newer epoch must start at counter 1;
//! 3. keeps, of each epoch that ended, the transactions up to its end (the ones after it
//!    were never committed: counted as stale), and of the last epoch those up to the zxid
//!    the members converged to.
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
    /// Transactions in the merged history.
    pub merged: usize,
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
/// disagree on where an epoch ended, or an epoch that ended shows no end in any file.
pub fn merge_committed(
    members: &[(i64, PathBuf)],
    last: Zxid,
) -> anyhow::Result<(CommittedHistory, MergeReport)> {
    let mut report = MergeReport::default();
    // zxid -> (the entry, the first member that logged it, the members that logged it)
    let mut by_zxid: BTreeMap<Zxid, (TxnEntry, i64, Vec<i64>)> = BTreeMap::new();
    let mut ends: BTreeMap<u32, (u32, i64)> = BTreeMap::new();
    for (id, dir) in members {
        let files = member_files(dir)?;
        let mut n = 0;
        for entries in &files {
            n += entries.len();
            for pair in entries.windows(2) {
                let (a, b) = (pair[0].header.zxid, pair[1].header.zxid);
                if b <= a {
                    bail!("member {id}: {b} after {a} in one log file");
                }
                if b.epoch() == a.epoch() {
                    if b != a.next() {
                        bail!("member {id}: a hole between {a} and {b} in one log file");
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
    let mut txns = Vec::new();
    for (z, (entry, first_id, _)) in &by_zxid {
        let committed = if *z > last {
            false
        } else if z.epoch() == last.epoch() {
            true
        } else {
            match ends.get(&z.epoch()) {
                Some((end, _)) => z.counter() <= *end,
                None => bail!(
                    "no log file shows where epoch {} ended (it holds {z}, before the last \
                     epoch {})",
                    z.epoch(),
                    last.epoch()
                ),
            }
        };
        if committed {
            txns.push(txn_of(entry)?);
        } else {
            report.stale.push((*first_id, *z));
        }
    }
    report.merged = txns.len();
    let history = match txns.first().map(|t| t.zxid) {
        Some(z) if z.counter() != 1 || z.epoch() > 1 => {
            CommittedHistory::after(Zxid(z.0 - 1), txns)
        }
        _ => CommittedHistory::from_start(txns),
    };
    Ok((history, report))
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
