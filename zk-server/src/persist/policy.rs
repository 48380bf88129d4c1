//! When to snapshot (`SyncRequestProcessor.shouldSnapshot`) and what to purge
//! (`PurgeTxnLog`).

use std::path::{Path, PathBuf};

use zk_core::Zxid;

use super::error::{IoContext, Result};
use super::files::{list, logs_from, LOG_PREFIX, SNAPSHOT_PREFIX};

/// Apache ZooKeeper's default `snapCount`.
pub const DEFAULT_SNAP_COUNT: u64 = 100_000;
/// Apache ZooKeeper's default `zookeeper.snapSizeLimitInKb`, in bytes (4 GiB).
pub const DEFAULT_SNAP_SIZE_BYTES: u64 = 4 * 1024 * 1024 * 1024;

/// Decides when to roll the log and snapshot, randomized so that the servers of an ensemble do
/// not all snapshot at once. Sans-IO: the caller supplies random numbers.
///
/// A snapshot is due when the transactions logged since the last one exceed
/// `snapCount/2 + randRoll` (`randRoll` uniform in `[0, snapCount/2)`), or their bytes exceed
/// `snapSizeBytes/2 + randSize`. On `true`, the caller rolls the log, starts the snapshot (on
/// another thread; if one is still running, Apache ZooKeeper logs "Too busy to snap, skipping")
/// and calls [`SnapScheduler::reset`].
#[derive(Debug, Clone)]
pub struct SnapScheduler {
    snap_count: u64,
    snap_size_bytes: u64,
    rand_roll: u64,
    rand_size: u64,
    count: u64,
    size: u64,
}

impl SnapScheduler {
    /// A scheduler with `snapCount` and the size limit in bytes (0 disables the size rule);
    /// `random` seeds the first thresholds.
    pub fn new(snap_count: u64, snap_size_bytes: u64, random: u64) -> SnapScheduler {
        let mut s = SnapScheduler {
            snap_count: snap_count.max(2),
            snap_size_bytes,
            rand_roll: 0,
            rand_size: 0,
            count: 0,
            size: 0,
        };
        s.reset(random);
        s
    }

    /// Counts one logged transaction of `bytes`; true when a snapshot is due.
    pub fn record(&mut self, bytes: u64) -> bool {
        self.count += 1;
        self.size += bytes;
        self.count > self.snap_count / 2 + self.rand_roll
            || (self.snap_size_bytes > 0 && self.size > self.snap_size_bytes / 2 + self.rand_size)
    }

    /// Starts a new period after a snapshot, with new random thresholds from `random`.
    pub fn reset(&mut self, random: u64) {
        self.rand_roll = random % (self.snap_count / 2).max(1);
        let half = self.snap_size_bytes / 2;
        self.rand_size = if half > 0 {
            random.rotate_left(17) % half
        } else {
            0
        };
        self.count = 0;
        self.size = 0;
    }
}

/// The files autopurge deletes to keep the newest `retain` snapshots (at least 3, as
/// `autopurge.snapRetainCount`) and the logs they need.
///
/// Everything named with a zxid below the oldest kept snapshot goes, except the newest log
/// that starts at or before it: it may hold transactions after that snapshot.
pub fn purge_plan(snap_dir: &Path, log_dir: &Path, retain: usize) -> Result<Vec<PathBuf>> {
    let retain = retain.max(3);
    let snaps = list(snap_dir, SNAPSHOT_PREFIX)?;
    if snaps.len() <= retain {
        return Ok(Vec::new());
    }
    let oldest_kept: Zxid = snaps[snaps.len() - retain].0;
    let logs = list(log_dir, LOG_PREFIX)?;
    let needed = logs_from(&logs, oldest_kept).first().map(|(z, _)| *z);
    let mut out: Vec<PathBuf> = snaps
        .iter()
        .filter(|(z, _)| *z < oldest_kept)
        .map(|(_, p)| p.clone())
        .collect();
    out.extend(
        logs.iter()
            .filter(|(z, _)| *z < oldest_kept && Some(*z) != needed)
            .map(|(_, p)| p.clone()),
    );
    Ok(out)
}

/// Deletes what [`purge_plan`] lists; returns the deleted files.
pub fn purge(snap_dir: &Path, log_dir: &Path, retain: usize) -> Result<Vec<PathBuf>> {
    let plan = purge_plan(snap_dir, log_dir, retain)?;
    for p in &plan {
        std::fs::remove_file(p).at(p)?;
    }
    Ok(plan)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scheduler_fires_between_half_and_full_snap_count() {
        for seed in [0u64, 7, 49, 12345] {
            let mut s = SnapScheduler::new(100, 0, seed);
            let n = (1..=200).find(|_| s.record(10)).unwrap();
            assert!((51..=100).contains(&n), "seed {seed}: {n}");
        }
        let mut s = SnapScheduler::new(1_000_000, 1000, 3);
        assert!(!s.record(400));
        assert!((0..3).any(|_| s.record(400)));
    }

    #[test]
    fn purge_keeps_snapshots_and_the_logs_they_need() {
        let d = tempfile::tempdir().unwrap();
        for name in [
            "snapshot.10",
            "snapshot.20",
            "snapshot.30",
            "snapshot.40",
            "snapshot.50",
        ] {
            std::fs::write(d.path().join(name), b"").unwrap();
        }
        for name in ["log.1", "log.15", "log.25", "log.45"] {
            std::fs::write(d.path().join(name), b"").unwrap();
        }
        let mut gone: Vec<String> = purge(d.path(), d.path(), 3)
            .unwrap()
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        gone.sort();
        // Keeps snapshot.30/40/50, and log.25 (it holds the txns after 0x30).
        assert_eq!(gone, ["log.1", "log.15", "snapshot.10", "snapshot.20"]);
    }
}
