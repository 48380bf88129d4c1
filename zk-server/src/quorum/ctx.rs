//! What the leader and learner state machines share with their peer: the core, the
//! committed log, the disk's state, the configuration, the outputs, and the clock.

use std::collections::{BTreeSet, VecDeque};

use zk_core::Zxid;

use super::disk::{CommittedLog, DiskOp};
use super::zab::{LinkId, Zab};
use crate::core::Core;

/// The ensemble as the state machines need it (addresses are the driver's business).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ensemble {
    /// Voting members (participants).
    pub voters: BTreeSet<i64>,
    /// Observers.
    pub observers: BTreeSet<i64>,
    /// The quorum configuration's text (`QuorumMaj.toString()`), sent with NEWLEADER and in
    /// election notifications.
    pub config_text: String,
    /// Its version.
    pub config_version: i64,
}

impl Ensemble {
    /// The ensemble of a config.
    pub fn of(qv: &super::verifier::QuorumVerifier) -> Ensemble {
        Ensemble {
            voters: qv.voters(),
            observers: qv.observers(),
            config_text: qv.to_qv_text(),
            config_version: qv.version(),
        }
    }

    /// True when `sids` hold a majority of the voters (`QuorumMaj.containsQuorum`).
    pub fn has_quorum<'a>(&self, sids: impl IntoIterator<Item = &'a i64>) -> bool {
        let n = sids
            .into_iter()
            .filter(|s| self.voters.contains(s))
            .collect::<BTreeSet<_>>()
            .len();
        n > self.voters.len() / 2
    }

    /// True for a voting member.
    pub fn is_voter(&self, sid: i64) -> bool {
        self.voters.contains(&sid)
    }

    /// True for any member.
    pub fn is_member(&self, sid: i64) -> bool {
        self.voters.contains(&sid) || self.observers.contains(&sid)
    }
}

/// Timing and limits (Apache ZooKeeper's names).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ZabTiming {
    /// tickTime (ms).
    pub tick_ms: i64,
    /// initLimit (ticks): connecting and syncing.
    pub init_limit: i64,
    /// syncLimit (ticks): how far a learner may lag.
    pub sync_limit: i64,
    /// `zookeeper.commitLogCount`: committed transactions kept in memory for DIFF.
    pub commit_log_count: usize,
    /// `zookeeper.snapshotSizeFactor` (negative: never DIFF from the on-disk log).
    pub snapshot_size_factor: f64,
    /// `zookeeper.forceSnapshotSync`.
    pub force_snapshot_sync: bool,
    /// Connection attempts a learner makes to its leader before it looks again.
    pub connect_attempts: u32,
    /// Delay between them (`zookeeper.leaderConnectDelayDuringRetryMs`).
    pub connect_retry_ms: i64,
    /// `readonlymode.enabled`: a member that has looked for a leader this long (ms; None:
    /// never) serves read-only clients until it finds one. zk-server waits max(1 s,
    /// tickTime / 2); Apache ZooKeeper waits max(2 s, tickTime), which with tickTime 2000
    /// leaves clients such as kazoo (whose retries back off to seconds) little time.
    pub read_only_after_ms: Option<i64>,
}

impl ZabTiming {
    /// Apache ZooKeeper's defaults for a tickTime, initLimit and syncLimit.
    pub fn new(tick_ms: i64, init_limit: i64, sync_limit: i64) -> ZabTiming {
        ZabTiming {
            tick_ms: tick_ms.max(1),
            init_limit: init_limit.max(1),
            sync_limit: sync_limit.max(1),
            commit_log_count: 500,
            snapshot_size_factor: 0.33,
            force_snapshot_sync: false,
            connect_attempts: 5,
            connect_retry_ms: 100,
            read_only_after_ms: None,
        }
    }

    /// `readonlymode.enabled`, after max(1 s, tickTime / 2) of looking.
    pub fn with_read_only_mode(mut self, on: bool) -> ZabTiming {
        self.read_only_after_ms = on.then_some((self.tick_ms / 2).max(1000));
        self
    }

    /// initLimit in ms.
    pub fn init_ms(&self) -> i64 {
        self.tick_ms * self.init_limit
    }

    /// syncLimit in ms.
    pub fn sync_ms(&self) -> i64 {
        self.tick_ms * self.sync_limit
    }
}

/// What a peer's Zab role emits (the peer adds its own outputs around them).
#[derive(Debug)]
#[non_exhaustive]
pub enum ZabOut {
    /// Send a message on a quorum link.
    Send(LinkId, Zab),
    /// Open a quorum link to server `sid`'s quorum address.
    Connect(LinkId, i64),
    /// Close a quorum link.
    Close(LinkId),
    /// A disk operation.
    Disk(DiskOp),
    /// The role started serving clients in this epoch (the peer refreshes its election vote,
    /// ZOOKEEPER-1732).
    Serving {
        /// The established epoch.
        epoch: u32,
    },
    /// The role ended; the peer looks for a leader again.
    Stop(String),
    /// A reconfig committed: the peer activates `config` (`QuorumPeer.processReconfig`),
    /// under which `designated_leader` leads.
    Activate {
        /// The new config.
        config: super::verifier::QuorumVerifier,
        /// Who leads under it.
        designated_leader: i64,
        /// The reconfig's zxid.
        zxid: Zxid,
    },
    /// The leader handed its leadership to `to`, which logged `zxid` (a no-op only it has):
    /// the peer steps down and votes for it first.
    Yield {
        /// The new leader's server id.
        to: i64,
        /// Its last logged zxid.
        zxid: Zxid,
    },
}

/// The disk as the peer last heard of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DiskState {
    /// `acceptedEpoch`.
    pub accepted_epoch: u32,
    /// `currentEpoch`.
    pub current_epoch: u32,
    /// The last zxid handed to the disk.
    pub last_appended: Zxid,
    /// The last zxid the disk reported durable.
    pub synced: Zxid,
}

/// The state machines' view of their peer for one input.
pub(crate) struct Ctx<'a> {
    pub(crate) now: i64,
    pub(crate) my_id: i64,
    pub(crate) core: &'a mut Core,
    pub(crate) log: &'a mut CommittedLog,
    pub(crate) disk: &'a mut DiskState,
    pub(crate) ensemble: &'a Ensemble,
    /// The current config with its addresses (the one `ensemble` summarises).
    pub(crate) verifier: &'a super::verifier::QuorumVerifier,
    pub(crate) timing: &'a ZabTiming,
    pub(crate) out: &'a mut VecDeque<ZabOut>,
    pub(crate) next_token: &'a mut u64,
}

impl Ctx<'_> {
    pub(crate) fn send(&mut self, link: LinkId, m: Zab) {
        self.out.push_back(ZabOut::Send(link, m));
    }

    pub(crate) fn disk_op(&mut self, op: DiskOp) {
        if let DiskOp::Append(t) = &op {
            assert!(
                t.zxid() > self.disk.last_appended,
                "append of zxid {} after {}",
                t.zxid(),
                self.disk.last_appended
            );
            self.disk.last_appended = t.zxid();
        }
        self.out.push_back(ZabOut::Disk(op));
    }

    pub(crate) fn token(&mut self) -> u64 {
        *self.next_token += 1;
        *self.next_token
    }
}
