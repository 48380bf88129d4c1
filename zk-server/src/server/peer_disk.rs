//! The disk of an ensemble member: a thread that executes the peer's [`DiskOp`]s in order over
//! Apache ZooKeeper's on-disk format and answers with [`DiskDone`]s.
//!
//! Consecutive appends are written and then synced once (group commit); any other operation
//! first syncs what was appended before it, which is the ordering contract of
//! [`crate::quorum::disk`].

use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};

use tokio::sync::mpsc as tmpsc;
use zk_core::txn::{TxnEntry, TxnHeader};
use zk_core::Zxid;

use crate::config::ServerConfig;
use crate::core::DataTree;
use crate::durable::{data_dirs, recover_member, write_snapshot, FileSink};
use crate::persist::{
    list, read_epoch, truncate_log, write_epoch, TornTail, TxnLogIter, ACCEPTED_EPOCH,
    CURRENT_EPOCH, SNAPSHOT_PREFIX,
};
use crate::quorum::disk::{DiskDone, DiskOp, EpochFile};
use crate::quorum::zab::Txn;
use crate::sink::TxnSink;

/// The handle the ensemble engine submits operations through.
pub(crate) struct PeerDisk {
    tx: Option<mpsc::Sender<DiskOp>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// Set when the member is killed: the disk thread abandons every operation it has not
/// started (appends still in its buffer are not written out, nothing more is synced), as a
/// process killed by SIGKILL would.
pub(crate) type KillSwitch = Arc<AtomicBool>;

impl PeerDisk {
    /// Starts the disk thread over `cfg`'s directories; answers go to `done`. Once `killed`
    /// is set, the thread stops before its next operation.
    pub(crate) fn start(
        cfg: &ServerConfig,
        done: tmpsc::UnboundedSender<DiskDone>,
        killed: KillSwitch,
    ) -> io::Result<PeerDisk> {
        let sink = FileSink::open(cfg)?;
        let cfg = cfg.clone();
        let (tx, rx) = mpsc::channel::<DiskOp>();
        let thread = std::thread::Builder::new()
            .name("zk-peer-disk".into())
            .spawn(move || {
                let mut w = Worker {
                    cfg,
                    sink: Some(sink),
                    done,
                    unsynced: None,
                    body: Vec::new(),
                    killed,
                };
                if let Err(e) = w.run(rx) {
                    tracing::error!(error = %e, "the disk failed");
                    let _ = w.done.send(DiskDone::Failed(e.to_string()));
                }
            })?;
        Ok(PeerDisk {
            tx: Some(tx),
            thread: Some(thread),
        })
    }

    /// Queues an operation.
    pub(crate) fn submit(&self, op: DiskOp) {
        if let Some(tx) = &self.tx {
            let _ = tx.send(op);
        }
    }

    /// Stops the thread once it has done what was submitted.
    pub(crate) fn stop(&mut self) {
        self.tx.take();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for PeerDisk {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Appends synced together at most (`zookeeper.maxBatchSize`).
const MAX_BATCH: usize = 1000;

struct Worker {
    cfg: ServerConfig,
    sink: Option<FileSink>,
    done: tmpsc::UnboundedSender<DiskDone>,
    /// The last zxid appended and not yet synced.
    unsynced: Option<Zxid>,
    body: Vec<u8>,
    killed: KillSwitch,
}

impl Worker {
    fn sink(&mut self) -> io::Result<&mut FileSink> {
        self.sink
            .as_mut()
            .ok_or_else(|| io::Error::other("the transaction log is closed"))
    }

    fn killed(&self) -> bool {
        self.killed.load(Ordering::Acquire)
    }

    fn run(&mut self, rx: mpsc::Receiver<DiskOp>) -> io::Result<()> {
        while let Ok(op) = rx.recv() {
            let mut next = Some(op);
            let mut batch = 0;
            while let Some(op) = next.take() {
                if self.killed() {
                    self.abandon();
                    return Ok(());
                }
                match op {
                    DiskOp::Append(t) => {
                        self.append(&t.header, &t)?;
                        batch += 1;
                        if batch >= MAX_BATCH {
                            self.sync()?;
                            batch = 0;
                        }
                    }
                    other => {
                        self.sync()?;
                        batch = 0;
                        self.other(other)?;
                    }
                }
                // Group commit: keep appending while more work is queued.
                next = rx.try_recv().ok();
            }
            if self.killed() {
                self.abandon();
                return Ok(());
            }
            self.sync()?;
        }
        if self.killed() {
            self.abandon();
            return Ok(());
        }
        self.sync()?;
        if let Some(s) = self.sink.as_mut() {
            s.finish_snapshot();
        }
        Ok(())
    }

    /// Killed: drops the log without writing out what is buffered or syncing anything. A
    /// background snapshot still finishes (it is written to a temporary file and renamed,
    /// so a crash could only have left that temporary file).
    fn abandon(&mut self) {
        tracing::warn!("killed: abandoning the disk's queue and unsynced appends");
        self.unsynced = None;
        self.sink.take();
    }

    fn append(&mut self, header: &TxnHeader, t: &Txn) -> io::Result<()> {
        self.body.clear();
        zk_core::jute::Encode::encode(&t.body, &mut self.body);
        let body = std::mem::take(&mut self.body);
        let r = self.sink()?.append(header, &body);
        self.body = body;
        r?;
        self.unsynced = Some(header.zxid);
        Ok(())
    }

    fn sync(&mut self) -> io::Result<()> {
        let Some(z) = self.unsynced.take() else {
            return Ok(());
        };
        let sink = self.sink()?;
        sink.sync()?;
        let due = sink.snapshot_due();
        let _ = self.done.send(DiskDone::Synced(z));
        if due {
            let _ = self.done.send(DiskDone::SnapshotWanted);
        }
        Ok(())
    }

    fn other(&mut self, op: DiskOp) -> io::Result<()> {
        let dirs = data_dirs(&self.cfg);
        let version_dir = dirs.snap_dir.clone();
        match op {
            DiskOp::Append(_) => unreachable!("appends are handled by run"),
            DiskOp::WriteEpoch { file, epoch } => {
                let name = match file {
                    EpochFile::Accepted => ACCEPTED_EPOCH,
                    EpochFile::Current => CURRENT_EPOCH,
                };
                write_epoch(&version_dir, name, i64::from(epoch)).map_err(io::Error::other)?;
                let _ = self.done.send(DiskDone::EpochWritten { file, epoch });
            }
            DiskOp::Snapshot { tree, wait: true } => {
                let zxid = tree.last_zxid();
                self.sink()?.finish_snapshot();
                let path = write_snapshot(&dirs.snap_dir, &tree).map_err(io::Error::other)?;
                // The next append starts a new log file after the snapshot.
                self.sink()?.roll_log()?;
                tracing::info!(file = %path.display(), "wrote the snapshot of a SNAP sync");
                let _ = self.done.send(DiskDone::SnapshotWritten { zxid });
            }
            DiskOp::Snapshot { tree, wait: false } => {
                self.sink()?.snapshot_owned(tree)?;
            }
            DiskOp::Truncate { zxid } => {
                if let Some(mut s) = self.sink.take() {
                    s.finish_snapshot();
                }
                let deleted = truncate_log(&dirs.log_dir, zxid).map_err(io::Error::other)?;
                // A snapshot newer than the truncation point holds truncated transactions.
                for (z, p) in list(&dirs.snap_dir, SNAPSHOT_PREFIX).map_err(io::Error::other)? {
                    if z > zxid {
                        tracing::warn!(file = %p.display(), "removing a snapshot newer than the truncation point");
                        std::fs::remove_file(&p)?;
                    }
                }
                tracing::warn!(zxid = %zxid, removed_files = deleted.len(), "truncated the log");
                let (tree, _) = recover_member(&self.cfg, 0)?;
                self.sink = Some(FileSink::open(&self.cfg)?);
                let _ = self.done.send(DiskDone::Truncated {
                    tree: Box::new(tree),
                });
            }
            DiskOp::ReadLog {
                token,
                from,
                until,
                size_factor,
            } => {
                // Beside the appends that follow: everything up to `until` is written out
                // (run synced before this operation), and the log is only appended to.
                let (cfg, done) = (self.cfg.clone(), self.done.clone());
                std::thread::Builder::new()
                    .name("zk-log-reader".into())
                    .spawn(move || {
                        let txns = read_log(&cfg, from, until, size_factor);
                        let _ = done.send(DiskDone::LogRead { token, txns });
                    })?;
            }
            DiskOp::Barrier { token } => {
                let _ = self.done.send(DiskDone::Barrier { token });
            }
        }
        Ok(())
    }
}

/// `ZKDatabase.getProposalsFromTxnLog`: the logged transactions from `from` to `until`, if
/// `from` itself is logged and they take no more than `size_factor` times the newest snapshot.
fn read_log(cfg: &ServerConfig, from: Zxid, until: Zxid, size_factor: f64) -> Option<Vec<Txn>> {
    if size_factor < 0.0 {
        return None;
    }
    let dirs = data_dirs(cfg);
    let limit = if size_factor > 0.0 {
        let snaps = list(&dirs.snap_dir, SNAPSHOT_PREFIX).ok()?;
        let size = snaps
            .last()
            .and_then(|(_, p)| std::fs::metadata(p).ok())
            .map_or(0, |m| m.len());
        Some((size as f64 * size_factor) as u64)
    } else {
        None
    };
    let iter = TxnLogIter::open(&dirs.log_dir, Zxid(from.0 - 1), TornTail::Keep).ok()?;
    let mut out = Vec::new();
    let mut bytes = 0u64;
    for e in iter {
        let e: TxnEntry = e.ok()?;
        if out.is_empty() && e.header.zxid != from {
            // Not strictly the next transaction after the learner's: cannot DIFF from here.
            return None;
        }
        bytes += e.record.len() as u64 + 28;
        if limit.is_some_and(|l| bytes > l) {
            tracing::info!(
                bytes,
                "the log to send exceeds snapshotSizeFactor: SNAP instead"
            );
            return None;
        }
        let body = e.body().ok()?;
        let zxid = e.header.zxid;
        out.push(Txn {
            header: e.header,
            body,
        });
        if zxid >= until {
            break;
        }
    }
    let snaps: Vec<Zxid> = list(&dirs.snap_dir, SNAPSHOT_PREFIX)
        .ok()?
        .into_iter()
        .map(|(z, _)| z)
        .collect();
    out.truncate(crate::quorum::plan::log_run(&out, from, &snaps));
    (!out.is_empty()).then_some(out)
}

/// The epoch files of a member at start-up (`QuorumPeer.loadDataBase`): a missing file is
/// created from the epoch of the last zxid; acceptedEpoch may not be below currentEpoch.
///
/// One difference from Apache ZooKeeper: when the log holds transactions of a newer epoch than
/// currentEpoch (a learner crashed between persisting the transactions of a sync and writing
/// currentEpoch, and no `currentEpoch.tmp` survived) Apache refuses to start; zk-server takes the
/// epoch of the last zxid, which is safe because acceptedEpoch already covers it (the learner
/// accepted that epoch before it logged any of its transactions), and says so.
///
/// # Errors
/// The files cannot be read or written, or acceptedEpoch is below currentEpoch.
pub(crate) fn load_epochs(cfg: &ServerConfig, tree: &DataTree) -> io::Result<(u32, u32)> {
    let dir = data_dirs(cfg).snap_dir;
    std::fs::create_dir_all(&dir)?;
    let of_zxid = tree.last_zxid().epoch();
    let read = |name: &str| read_epoch(&dir, name).map_err(io::Error::other);
    let mut current = match read(CURRENT_EPOCH)? {
        Some(e) => e,
        None => {
            write_epoch(&dir, CURRENT_EPOCH, i64::from(of_zxid)).map_err(io::Error::other)?;
            i64::from(of_zxid)
        }
    };
    let accepted = match read(ACCEPTED_EPOCH)? {
        Some(e) => e,
        None => {
            write_epoch(&dir, ACCEPTED_EPOCH, i64::from(of_zxid)).map_err(io::Error::other)?;
            i64::from(of_zxid)
        }
    };
    if i64::from(of_zxid) > current {
        let tmp = read(&format!("{CURRENT_EPOCH}.tmp")).ok().flatten();
        let adopted = tmp.unwrap_or(i64::from(of_zxid)).max(i64::from(of_zxid));
        if accepted < adopted {
            return Err(io::Error::other(format!(
                "the current epoch {current} is older than the last zxid {} and the accepted \
                 epoch {accepted} does not cover it",
                tree.last_zxid()
            )));
        }
        tracing::warn!(
            current,
            adopted,
            "currentEpoch is older than the last logged zxid: adopting the zxid's epoch"
        );
        write_epoch(&dir, CURRENT_EPOCH, adopted).map_err(io::Error::other)?;
        current = adopted;
    }
    if accepted < current {
        return Err(io::Error::other(format!(
            "the accepted epoch {accepted} is less than the current epoch {current}"
        )));
    }
    Ok((accepted as u32, current as u32))
}
