//! Start-up recovery (`FileTxnSnapLog.restore`): the newest valid snapshot, then the logged
//! transactions after it, handed to the caller as data to apply.

use std::path::{Path, PathBuf};

use zk_core::txn::TxnEntry;
use zk_core::Zxid;

use super::error::{PersistError, Result};
use super::files::{list, version_dir, LOG_PREFIX, SNAPSHOT_PREFIX};
use super::logiter::{TornTail, TxnLogIter};
use super::snapshot_read::{read_snapshot, Snapshot};

/// Where the files live: snapshots and epochs in `<dataDir>/version-2`, logs in
/// `<dataLogDir>/version-2` (the same directory when dataLogDir is not set).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataDirs {
    /// `<dataDir>/version-2`.
    pub snap_dir: PathBuf,
    /// `<dataLogDir>/version-2`.
    pub log_dir: PathBuf,
}

impl DataDirs {
    /// The directories for zoo.cfg's `dataDir` and optional `dataLogDir`.
    pub fn new(data_dir: &Path, data_log_dir: Option<&Path>) -> DataDirs {
        DataDirs {
            snap_dir: version_dir(data_dir),
            log_dir: version_dir(data_log_dir.unwrap_or(data_dir)),
        }
    }
}

/// What recovery found: apply `snapshot` (if any), then `txns` in order.
#[derive(Debug)]
pub struct Recovered {
    /// The newest readable snapshot; `None` for a new database.
    pub snapshot: Option<Snapshot>,
    /// Every logged transaction after the snapshot's zxid, in zxid order. Over a fuzzy
    /// snapshot some are already reflected in it: apply them idempotently.
    pub txns: Vec<TxnEntry>,
    /// Newer snapshots that could not be read, with why; they were skipped.
    pub skipped_snapshots: Vec<(PathBuf, PersistError)>,
}

impl Recovered {
    /// The last zxid of the recovered state: the last transaction's, else the snapshot's.
    pub fn last_zxid(&self) -> Zxid {
        self.txns
            .last()
            .map(|t| t.header.zxid)
            .or(self.snapshot.as_ref().map(|s| s.zxid))
            .unwrap_or(Zxid::ZERO)
    }
}

/// Recovers the on-disk state of `dirs`.
///
/// - Snapshots are tried newest first; one that fails to read (bad seal, truncated, bad header)
///   is skipped with a warning and the next older one is tried.
/// - Without any readable snapshot, a log that starts at the first zxid of epoch 0 or 1 is
///   replayed from an empty tree; any other log means history is missing: [`PersistError::NoValidSnapshot`]
///   (ZOOKEEPER-2325: never serve a partial tree as if it were empty).
/// - The logs after the snapshot are read with [`TxnLogIter`]: a torn tail in the newest file is
///   truncated with a warning, corruption anywhere else is an error naming file and offset.
/// - Within an epoch, zxids must follow each other without a gap, starting no later than the
///   snapshot's zxid + 1; otherwise [`PersistError::LogGap`].
pub fn recover(dirs: &DataDirs) -> Result<Recovered> {
    let snaps = list(&dirs.snap_dir, SNAPSHOT_PREFIX)?;
    let mut skipped = Vec::new();
    let mut snapshot = None;
    for (_, path) in snaps.iter().rev() {
        match read_snapshot(path) {
            Ok(s) => {
                snapshot = Some(s);
                break;
            }
            Err(e) => {
                tracing::warn!(file = %path.display(), error = %e, "skipping unreadable snapshot");
                skipped.push((path.clone(), e));
            }
        }
    }
    let from = snapshot.as_ref().map_or(Zxid::ZERO, |s| s.zxid);
    let mut txns = Vec::new();
    for entry in TxnLogIter::open(&dirs.log_dir, from, TornTail::Truncate)? {
        txns.push(entry?);
    }
    if snapshot.is_none() {
        let why = match txns.first() {
            None if skipped.is_empty() => None, // a new database
            None => Some("every snapshot is unreadable and no log holds the history".to_string()),
            // Only the very first epoch (0 standalone, 1 for a new ensemble) starts from nothing.
            Some(t) if t.header.zxid.counter() > 1 || t.header.zxid.epoch() > 1 => Some(format!(
                "{} log files but no readable snapshot, and the log starts at {}, not at the \
                 first zxid of the first epoch",
                list(&dirs.log_dir, LOG_PREFIX)?.len(),
                t.header.zxid
            )),
            Some(_) => None, // the log holds the whole history
        };
        if let Some(mut reason) = why {
            for (p, e) in &skipped {
                reason.push_str(&format!("; {}: {e}", p.display()));
            }
            return Err(PersistError::NoValidSnapshot {
                dir: dirs.snap_dir.clone(),
                reason,
            });
        }
    }
    check_continuity(dirs, from, &txns)?;
    Ok(Recovered {
        snapshot,
        txns,
        skipped_snapshots: skipped,
    })
}

fn check_continuity(dirs: &DataDirs, from: Zxid, txns: &[TxnEntry]) -> Result<()> {
    let mut prev = from;
    for t in txns {
        let z = t.header.zxid;
        let ok = if z.epoch() == prev.epoch() {
            z.0 == prev.0 + 1 || (prev == Zxid::ZERO && z.0 == 1)
        } else {
            z > prev
        };
        if !ok {
            return Err(PersistError::LogGap {
                path: dirs.log_dir.clone(),
                expected: prev.0 + 1,
                found: z.0,
            });
        }
        prev = z;
    }
    Ok(())
}
