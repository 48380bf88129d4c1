//! [`FileSink`]: the transaction log, snapshots and autopurge behind the server's log thread.

use std::io;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{mpsc, Arc};
use std::thread::JoinHandle;
use std::time::Duration;

use zk_core::txn::TxnHeader;

use crate::config::ServerConfig;
use crate::core::DataTree;
use crate::persist::{purge, DataDirs, SnapScheduler, TxnLog, TxnLogConfig};
use crate::sink::TxnSink;

use super::{data_dirs, write_snapshot_paced};

/// A background snapshot sleeps this % of its working time, leaving CPU and, above all, disk
/// bandwidth to requests and the log's fsyncs: the snapshot's write-back otherwise delays the
/// log's fsyncs on the same disk. The snapshot takes 17 times as long (about 15 s for 1M
/// nodes; at most one runs at a time, and a clean shutdown finishes it at full speed).
/// Measured at 1M nodes (zk-server/benches/durable_perf.rs), p99 write latency while snapshots
/// are written against the quiet p99: ~7x with 100 %, ~5x with 400 %, ~1.2x with 1600 %.
const SNAPSHOT_PACE_PERCENT: u32 = 1600;

/// Logs transactions to `version-2/log.*` (Apache ZooKeeper's `FileTxnLog`), asks for a
/// snapshot every snapCount transactions (randomized as `SyncRequestProcessor` does), rolls the
/// log then, and writes the snapshot on a background thread while writes go on. With
/// `autopurge.purgeInterval` > 0 a timer thread keeps `autopurge.snapRetainCount` snapshots and
/// the logs they need.
///
/// `forceSync=no` makes `sync` skip fsync: **unsafe**, an OS crash or power loss can lose
/// acknowledged writes (a process crash cannot).
#[derive(Debug)]
pub struct FileSink {
    log: TxnLog,
    dirs: DataDirs,
    sched: SnapScheduler,
    seed: u64,
    due: bool,
    writer: Option<JoinHandle<()>>,
    /// The running snapshot's pace (see [`SNAPSHOT_PACE_PERCENT`]); 0 to hurry it.
    pace: Arc<AtomicU32>,
    _purger: Option<Purger>,
}

#[derive(Debug)]
struct Purger {
    stop: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Drop for Purger {
    fn drop(&mut self) {
        self.stop.take();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn next_random(seed: &mut u64) -> u64 {
    // xorshift64*: snapshot timing only needs to differ between servers and periods.
    *seed ^= *seed >> 12;
    *seed ^= *seed << 25;
    *seed ^= *seed >> 27;
    seed.wrapping_mul(0x2545_f491_4f6c_dd1d)
}

impl FileSink {
    /// A sink over `cfg`'s log directory (created if missing); recover first.
    ///
    /// # Errors
    /// The directory cannot be created, or the purge timer thread cannot be spawned.
    pub fn open(cfg: &ServerConfig) -> io::Result<FileSink> {
        let dirs = data_dirs(cfg);
        let log = TxnLog::open(
            &dirs.log_dir,
            TxnLogConfig {
                pre_alloc_size: cfg.pre_alloc_size_kb * 1024,
                force_sync: cfg.force_sync,
                dbid: 0,
            },
        )?;
        if !cfg.force_sync {
            tracing::warn!(
                "forceSync=no: the log is not fsynced; an OS crash can lose acknowledged writes"
            );
        }
        let mut seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0x9e37_79b9, |d| d.as_nanos() as u64)
            | 1;
        let first = next_random(&mut seed);
        let purger = if cfg.autopurge_purge_interval_h > 0 {
            Some(start_purger(
                dirs.clone(),
                cfg.autopurge_snap_retain_count.max(3) as usize,
                Duration::from_secs(u64::from(cfg.autopurge_purge_interval_h) * 3600),
            )?)
        } else {
            None
        };
        Ok(FileSink {
            log,
            dirs,
            sched: SnapScheduler::new(cfg.snap_count, 0, first),
            seed,
            due: false,
            writer: None,
            pace: Arc::new(AtomicU32::new(SNAPSHOT_PACE_PERCENT)),
            _purger: purger,
        })
    }

    /// Starts a new log file at the next append (after a snapshot of a SNAP sync).
    ///
    /// # Errors
    /// Writing out the current file's buffer failed.
    pub fn roll_log(&mut self) -> io::Result<()> {
        Ok(self.log.roll()?)
    }

    /// Waits for a background snapshot being written, at full speed.
    pub fn finish_snapshot(&mut self) {
        self.pace.store(0, Ordering::Relaxed);
        if let Some(h) = self.writer.take() {
            let _ = h.join();
        }
        self.pace.store(SNAPSHOT_PACE_PERCENT, Ordering::Relaxed);
    }

    fn writer_busy(&mut self) -> bool {
        match &self.writer {
            Some(h) if !h.is_finished() => true,
            Some(_) => {
                if let Some(h) = self.writer.take() {
                    let _ = h.join();
                }
                false
            }
            None => false,
        }
    }
}

fn start_purger(dirs: DataDirs, retain: usize, every: Duration) -> io::Result<Purger> {
    let (tx, rx) = mpsc::channel::<()>();
    let thread = std::thread::Builder::new()
        .name("zk-autopurge".into())
        .spawn(move || {
            // Runs every `every` until the sender is dropped.
            while let Err(mpsc::RecvTimeoutError::Timeout) = rx.recv_timeout(every) {
                match purge(&dirs.snap_dir, &dirs.log_dir, retain) {
                    Ok(gone) => tracing::info!(removed = gone.len(), "autopurge"),
                    Err(e) => tracing::warn!(error = %e, "autopurge failed"),
                }
            }
        })?;
    Ok(Purger {
        stop: Some(tx),
        thread: Some(thread),
    })
}

impl TxnSink for FileSink {
    fn append(&mut self, header: &TxnHeader, body: &[u8]) -> io::Result<()> {
        self.log.append(header, body, None)?;
        // Header (28 bytes) + body + record framing, as SyncRequestProcessor counts it.
        if self.sched.record(body.len() as u64 + 28) {
            self.due = true;
        }
        Ok(())
    }

    fn sync(&mut self) -> io::Result<()> {
        Ok(self.log.sync()?)
    }

    fn snapshot_due(&mut self) -> bool {
        if !self.due {
            return false;
        }
        self.due = false;
        let r = next_random(&mut self.seed);
        self.sched.reset(r);
        if self.writer_busy() {
            tracing::warn!("too busy to snap, skipping");
            return false;
        }
        // The next append starts a new log file, as Apache ZooKeeper rolls at snapshot time.
        if let Err(e) = self.log.roll() {
            tracing::error!(error = %e, "rolling the log failed");
        }
        true
    }

    fn snapshot(&mut self, tree: &DataTree) -> io::Result<()> {
        // Cheap: shards and nodes are shared until either side changes them.
        self.snapshot_owned(Box::new(tree.clone()))
    }

    fn snapshot_owned(&mut self, tree: Box<DataTree>) -> io::Result<()> {
        let dir: PathBuf = self.dirs.snap_dir.clone();
        let pace = self.pace.clone();
        let h = std::thread::Builder::new()
            .name("zk-snapshot".into())
            .spawn(move || {
                let started = std::time::Instant::now();
                match write_snapshot_paced(&dir, &tree, &pace) {
                    Ok(p) => tracing::info!(
                        file = %p.display(),
                        nodes = tree.node_count(),
                        elapsed_ms = started.elapsed().as_millis() as u64,
                        "snapshot written"
                    ),
                    Err(e) => tracing::error!(error = %e, "snapshot failed"),
                }
            })?;
        self.writer = Some(h);
        Ok(())
    }
}

impl Drop for FileSink {
    /// Waits for a snapshot being written (at full speed from here), so that a clean shutdown
    /// leaves no `tmp.` file.
    fn drop(&mut self) {
        self.pace.store(0, Ordering::Relaxed);
        if let Some(h) = self.writer.take() {
            let _ = h.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::persist::{list, SNAPSHOT_PREFIX};
    use zk_core::Zxid;

    #[test]
    fn the_purge_timer_keeps_the_newest_snapshots() {
        let dir = tempfile::tempdir().unwrap();
        let dirs = DataDirs::new(dir.path(), None);
        let mut t = DataTree::new();
        for z in 0..6 {
            t.set_last_zxid(Zxid(z * 10));
            super::super::write_snapshot(&dirs.snap_dir, &t).unwrap();
        }
        let purger = start_purger(dirs.clone(), 3, Duration::from_millis(20)).unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while list(&dirs.snap_dir, SNAPSHOT_PREFIX).unwrap().len() > 3 {
            assert!(std::time::Instant::now() < deadline, "never purged");
            std::thread::sleep(Duration::from_millis(10));
        }
        drop(purger); // stops and joins the timer thread
        let kept: Vec<Zxid> = list(&dirs.snap_dir, SNAPSHOT_PREFIX)
            .unwrap()
            .into_iter()
            .map(|(z, _)| z)
            .collect();
        assert_eq!(kept, vec![Zxid(30), Zxid(40), Zxid(50)]);
    }
}
