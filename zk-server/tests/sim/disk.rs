//! A model disk: what survives a crash is exactly what was synced, plus a random prefix of
//! what was appended after the last sync (a torn log tail drops whole records). Operations
//! complete in order, one at a time, after a random delay.

use std::collections::{BTreeSet, VecDeque};

use zk_core::Zxid;
use zk_server::core::DataTree;
use zk_server::quorum::disk::{DiskDone, DiskOp, EpochFile};
use zk_server::quorum::plan::log_run;
use zk_server::quorum::zab::Txn;

use super::rng::Rng;

/// What is on the platter.
#[derive(Debug, Clone)]
pub struct Durable {
    /// Snapshots, oldest first, each with the zxids of the history it reflects.
    pub snapshots: Vec<(DataTree, BTreeSet<Zxid>)>,
    /// Logged transactions, in zxid order.
    pub log: Vec<Txn>,
    pub accepted_epoch: u32,
    pub current_epoch: u32,
}

impl Durable {
    pub fn new() -> Durable {
        Durable {
            snapshots: vec![(DataTree::new(), BTreeSet::new())],
            log: Vec::new(),
            accepted_epoch: 0,
            current_epoch: 0,
        }
    }

    /// The tree the disk holds: the newest snapshot, then the log after it (replayed as
    /// recovery does).
    pub fn load(&self) -> Result<(DataTree, Vec<Txn>, BTreeSet<Zxid>), String> {
        let (mut tree, mut lineage) = self
            .snapshots
            .last()
            .cloned()
            .unwrap_or_else(|| (DataTree::new(), BTreeSet::new()));
        let from = tree.last_zxid();
        let mut prev = from;
        let mut replayed = Vec::new();
        for t in self.log.iter().filter(|t| t.zxid() > from) {
            let z = t.zxid();
            let ok = if z.epoch() == prev.epoch() {
                z.0 == prev.0 + 1
            } else {
                z > prev
            };
            if !ok {
                return Err(format!("log gap: {prev} then {z}"));
            }
            tree.apply(&t.header, &t.body, &mut Vec::new());
            prev = z;
            lineage.insert(z);
            replayed.push(t.clone());
        }
        Ok((tree, replayed, lineage))
    }

    /// The epoch files as a member reads them at start-up (see `load_epochs`).
    pub fn epochs(&mut self, last: Zxid) -> Result<(u32, u32), String> {
        let of_zxid = last.epoch();
        if of_zxid > self.current_epoch {
            if self.accepted_epoch < of_zxid {
                return Err(format!(
                    "current epoch {} older than the log's {of_zxid} and not accepted",
                    self.current_epoch
                ));
            }
            self.current_epoch = of_zxid;
        }
        if self.accepted_epoch < self.current_epoch {
            return Err("accepted epoch below the current epoch".into());
        }
        Ok((self.accepted_epoch, self.current_epoch))
    }
}

/// The disk of one member.
#[derive(Debug)]
pub struct SimDisk {
    pub durable: Durable,
    queue: VecDeque<(DiskOp, BTreeSet<Zxid>)>,
    unsynced: Vec<Txn>,
    pub busy: bool,
    /// Appends since the last periodic snapshot, and how many trigger the next.
    since_snapshot: u64,
    snap_every: u64,
}

impl SimDisk {
    pub fn new(snap_every: u64) -> SimDisk {
        SimDisk {
            durable: Durable::new(),
            queue: VecDeque::new(),
            unsynced: Vec::new(),
            busy: false,
            since_snapshot: 0,
            snap_every,
        }
    }

    /// Queues an operation; a snapshot comes with the history it reflects.
    pub fn submit(&mut self, op: DiskOp, lineage: BTreeSet<Zxid>) {
        self.queue.push_back((op, lineage));
    }

    pub fn has_work(&self) -> bool {
        !self.queue.is_empty() || !self.unsynced.is_empty()
    }

    /// A crash: pending operations are lost; a random prefix of the unsynced appends made it.
    pub fn crash(&mut self, rng: &mut Rng) {
        self.queue.clear();
        let keep = rng.below(self.unsynced.len() + 1);
        let kept: Vec<Txn> = self.unsynced.drain(..).take(keep).collect();
        self.durable.log.extend(kept);
        self.busy = false;
    }

    fn sync(&mut self, done: &mut Vec<DiskDone>) {
        if let Some(last) = self.unsynced.last().map(Txn::zxid) {
            self.durable.log.append(&mut self.unsynced);
            done.push(DiskDone::Synced(last));
            if self.since_snapshot >= self.snap_every {
                self.since_snapshot = 0;
                done.push(DiskDone::SnapshotWanted);
            }
        }
    }

    /// Does the next piece of work; returns its answers and how long it took (ms). Appends
    /// are grouped: they are synced when the queue holds no more appends.
    pub fn step(&mut self, rng: &mut Rng) -> (Vec<DiskDone>, i64) {
        let mut done = Vec::new();
        let Some((op, lineage)) = self.queue.pop_front() else {
            self.sync(&mut done);
            return (done, rng.range(1, 8));
        };
        let cost = match op {
            DiskOp::Append(t) => {
                if self
                    .unsynced
                    .last()
                    .or(self.durable.log.last())
                    .is_some_and(|l| l.zxid() >= t.zxid())
                {
                    done.push(DiskDone::Failed(format!(
                        "append of {} after a later zxid",
                        t.zxid()
                    )));
                }
                self.unsynced.push(t);
                self.since_snapshot += 1;
                if !matches!(self.queue.front(), Some((DiskOp::Append(_), _))) {
                    self.sync(&mut done);
                    rng.range(1, 6)
                } else {
                    0
                }
            }
            other => {
                self.sync(&mut done);
                self.other(other, lineage, &mut done);
                rng.range(1, 10)
            }
        };
        (done, cost)
    }

    fn other(&mut self, op: DiskOp, lineage: BTreeSet<Zxid>, done: &mut Vec<DiskDone>) {
        match op {
            DiskOp::WriteEpoch { file, epoch } => {
                match file {
                    EpochFile::Accepted => self.durable.accepted_epoch = epoch,
                    EpochFile::Current => self.durable.current_epoch = epoch,
                }
                done.push(DiskDone::EpochWritten { file, epoch });
            }
            DiskOp::Snapshot { tree, wait } => {
                let zxid = tree.last_zxid();
                self.durable.snapshots.push((*tree, lineage));
                self.durable.snapshots.sort_by_key(|t| t.0.last_zxid());
                if wait {
                    done.push(DiskDone::SnapshotWritten { zxid });
                }
            }
            DiskOp::Truncate { zxid } => {
                self.durable.log.retain(|t| t.zxid() <= zxid);
                self.durable.snapshots.retain(|t| t.0.last_zxid() <= zxid);
                if self.durable.snapshots.is_empty() {
                    self.durable
                        .snapshots
                        .push((DataTree::new(), BTreeSet::new()));
                }
                match self.durable.load() {
                    Ok((tree, _, _)) => done.push(DiskDone::Truncated {
                        tree: Box::new(tree),
                    }),
                    Err(e) => done.push(DiskDone::Failed(e)),
                }
            }
            DiskOp::ReadLog {
                token, from, until, ..
            } => {
                let pos = self.durable.log.iter().position(|t| t.zxid() == from);
                let snaps: Vec<Zxid> = self
                    .durable
                    .snapshots
                    .iter()
                    .map(|s| s.0.last_zxid())
                    .collect();
                let txns = pos.map(|p| {
                    let run = &self.durable.log[p..];
                    let end = run
                        .iter()
                        .position(|t| t.zxid() >= until)
                        .map_or(run.len(), |i| i + 1);
                    let run = &run[..end];
                    run[..log_run(run, from, &snaps)].to_vec()
                });
                done.push(DiskDone::LogRead { token, txns });
            }
            DiskOp::Barrier { token } => done.push(DiskDone::Barrier { token }),
            DiskOp::Append(_) => unreachable!(),
            _ => {}
        }
    }
}
