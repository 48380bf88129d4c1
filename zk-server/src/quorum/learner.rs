//! A follower's or an observer's side of Zab (`Learner`, `Follower`, `Observer`), sans-IO.
//!
//! Registration: connect to the leader's quorum port, FOLLOWERINFO / OBSERVERINFO, accept the
//! epoch of LEADERINFO (`acceptedEpoch` written before ACKEPOCH). Synchronization: DIFF, TRUNC
//! (the log is cut and the tree reloaded) or SNAP, then proposals and commits are held until
//! NEWLEADER, where the learner persists in the strict order: the snapshot (SNAP), every held
//! transaction, and only then `currentEpoch`, before it acknowledges NEWLEADER
//! (ZOOKEEPER-3911, 4646, 4685, 4785). UPTODATE starts the server. Broadcast: proposals are
//! logged and acknowledged once durable, commits applied strictly in order, PINGs answered with
//! the sessions the learner's clients touched.
//!
//! While a disk operation the sync depends on is in flight, later messages wait in order.

use super::verifier::QuorumVerifier;
use std::collections::VecDeque;

use zk_core::Zxid;

use super::ctx::{Ctx, ZabOut};
use super::disk::{DiskOp, EpochFile};
use super::zab::{LearnerInfo, LinkId, Txn, Zab, PROTOCOL_VERSION};
use crate::core::{CoreMode, DataTree};

/// The learner's phase.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LearnerPhase {
    /// Connecting to the leader.
    Connecting,
    /// Registered; waiting for LEADERINFO.
    Registering,
    /// Waiting for DIFF, TRUNC or SNAP.
    WaitSyncMode,
    /// Receiving the sync's transactions, up to NEWLEADER.
    Syncing,
    /// NEWLEADER acknowledged; waiting for UPTODATE.
    WaitUpToDate,
    /// Serving.
    Broadcast,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SyncMode {
    Diff,
    Trunc,
    Snap,
}

/// What the learner waits for from its disk before it reads on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Blocked {
    AcceptedEpoch,
    Truncate,
    NewLeader,
}

/// A follower or an observer.
#[derive(Debug)]
pub struct Learner {
    leader: i64,
    observer: bool,
    link: LinkId,
    phase: LearnerPhase,
    /// Read timeout (connect deadline while connecting).
    deadline: i64,
    /// When to try connecting again, if the last attempt failed.
    retry_at: Option<i64>,
    attempts: u32,
    new_epoch: u32,
    blocked: Option<Blocked>,
    inbox: VecDeque<Zab>,
    mode: Option<SyncMode>,
    snap: Option<Box<DataTree>>,
    /// Before NEWLEADER: the sync's transactions, and whether each is committed.
    held: Vec<(Txn, bool)>,
    /// Index into `held` before which every entry is committed: a COMMIT looks from here, so a
    /// DIFF of n transactions costs O(n), not O(n²).
    held_committed: usize,
    /// Logged, not yet committed (followers).
    pending: VecDeque<Txn>,
    /// Logged proposals whose ACK is due once durable.
    to_ack: VecDeque<Zxid>,
    acks_enabled: bool,
    last_queued: Zxid,
    /// NEWLEADER's config, activated at UPTODATE when it is newer than this member's.
    leader_config: Option<String>,
}

impl Learner {
    /// Starts following (or observing) `leader`: connects to its quorum port.
    pub(crate) fn start(cx: &mut Ctx<'_>, leader: i64, observer: bool, link: LinkId) -> Learner {
        cx.core.set_mode(cx.now, CoreMode::NotServing, 0);
        cx.out.push_back(ZabOut::Connect(link, leader));
        Learner {
            leader,
            observer,
            link,
            phase: LearnerPhase::Connecting,
            deadline: cx.now + cx.timing.init_ms(),
            retry_at: None,
            attempts: 1,
            new_epoch: 0,
            blocked: None,
            inbox: VecDeque::new(),
            mode: None,
            snap: None,
            held: Vec::new(),
            held_committed: 0,
            pending: VecDeque::new(),
            to_ack: VecDeque::new(),
            acks_enabled: false,
            last_queued: Zxid(0),
            leader_config: None,
        }
    }

    /// The leader's server id.
    pub fn leader(&self) -> i64 {
        self.leader
    }

    /// The phase.
    pub fn phase(&self) -> LearnerPhase {
        self.phase
    }

    /// The quorum link to the leader.
    pub(crate) fn link(&self) -> LinkId {
        self.link
    }

    /// Proposals logged but not committed (replayed into the tree when the role ends, as
    /// `ZKDatabase.fastForwardDataBase` does).
    pub(crate) fn logged_uncommitted(&mut self) -> Vec<Txn> {
        self.pending.drain(..).collect()
    }

    fn stop(&mut self, cx: &mut Ctx<'_>, why: impl Into<String>) {
        let why = why.into();
        tracing::warn!(leader = self.leader, reason = %why, "no longer following");
        cx.out.push_back(ZabOut::Close(self.link));
        cx.out.push_back(ZabOut::Stop(why));
    }

    /// The connection to the leader is up.
    pub(crate) fn connected(&mut self, cx: &mut Ctx<'_>, link: LinkId) {
        if link != self.link || self.phase != LearnerPhase::Connecting {
            return;
        }
        let info = LearnerInfo {
            server_id: cx.my_id,
            protocol_version: PROTOCOL_VERSION,
            config_version: cx.ensemble.config_version,
        };
        let accepted_epoch = cx.disk.accepted_epoch;
        let m = if self.observer {
            Zab::ObserverInfo {
                accepted_epoch,
                info,
            }
        } else {
            Zab::FollowerInfo {
                accepted_epoch,
                info,
            }
        };
        cx.send(link, m);
        self.phase = LearnerPhase::Registering;
        self.deadline = cx.now + cx.timing.init_ms();
    }

    /// The connection to the leader failed or closed.
    pub(crate) fn closed(&mut self, cx: &mut Ctx<'_>, link: LinkId, next_link: LinkId) {
        if link != self.link {
            return;
        }
        // Apache ZooKeeper's leader opens its quorum port only once it leads, so a follower
        // that decided first is refused and tries again (`Learner.connectToLeader`). Members
        // here listen from start-up and close a link they accept while not leading yet: a
        // link that closes before the leader sent anything is that refusal, tried again alike
        // (in Registering, only a LEADERINFO moves on or blocks on the acceptedEpoch write).
        let refused = self.phase == LearnerPhase::Connecting
            || (self.phase == LearnerPhase::Registering && self.blocked.is_none());
        if refused && self.attempts < cx.timing.connect_attempts && cx.now < self.deadline {
            self.phase = LearnerPhase::Connecting;
            self.link = next_link;
            // The first retry comes soon: a follower that decided a few milliseconds before
            // its leader (every voter decides at once when all votes agree) is refused only
            // until the leader's listener is up.
            let delay = if self.attempts <= 1 {
                cx.timing.connect_retry_ms.min(10)
            } else {
                cx.timing.connect_retry_ms
            };
            self.retry_at = Some(cx.now + delay);
            return;
        }
        self.stop(cx, "connection to the leader lost");
    }

    /// A message from the leader.
    pub(crate) fn message(&mut self, cx: &mut Ctx<'_>, link: LinkId, m: Zab) {
        if link != self.link {
            return;
        }
        let t = cx.timing;
        self.deadline = cx.now
            + if matches!(
                self.phase,
                LearnerPhase::WaitUpToDate | LearnerPhase::Broadcast
            ) {
                t.sync_ms()
            } else {
                t.init_ms()
            };
        if self.blocked.is_some() {
            self.inbox.push_back(m);
            return;
        }
        self.handle(cx, m);
    }

    fn handle(&mut self, cx: &mut Ctx<'_>, m: Zab) {
        match self.phase {
            LearnerPhase::Connecting => {}
            LearnerPhase::Registering => self.registering(cx, m),
            LearnerPhase::WaitSyncMode => self.sync_mode(cx, m),
            LearnerPhase::Syncing => self.syncing(cx, m),
            LearnerPhase::WaitUpToDate | LearnerPhase::Broadcast => self.broadcast(cx, m),
        }
    }

    fn registering(&mut self, cx: &mut Ctx<'_>, m: Zab) {
        let Zab::LeaderInfo { epoch, .. } = m else {
            return self.stop(cx, format!("expected LEADERINFO, got {}", m.name()));
        };
        self.new_epoch = epoch;
        let accepted = cx.disk.accepted_epoch;
        if epoch > accepted {
            cx.disk_op(DiskOp::WriteEpoch {
                file: EpochFile::Accepted,
                epoch,
            });
            self.blocked = Some(Blocked::AcceptedEpoch);
        } else if epoch == accepted {
            self.ack_epoch(cx, -1);
        } else {
            self.stop(
                cx,
                format!("leader's epoch {epoch} is less than the accepted epoch {accepted}"),
            );
        }
    }

    fn ack_epoch(&mut self, cx: &mut Ctx<'_>, current: i32) {
        let last_zxid = cx.core.tree().last_zxid();
        cx.send(
            self.link,
            Zab::AckEpoch {
                last_zxid,
                current_epoch: current,
            },
        );
        self.phase = LearnerPhase::WaitSyncMode;
    }

    fn sync_mode(&mut self, cx: &mut Ctx<'_>, m: Zab) {
        match m {
            Zab::Diff(z) => {
                tracing::info!(zxid = %z, "synchronizing by DIFF");
                self.mode = Some(SyncMode::Diff);
                self.last_queued = cx.core.tree().last_zxid();
            }
            Zab::Snap { zxid, mut tree } => {
                tracing::info!(zxid = %zxid, nodes = tree.node_count(), "synchronizing by SNAP");
                tree.set_last_zxid(zxid);
                self.mode = Some(SyncMode::Snap);
                self.snap = Some(tree);
                self.last_queued = zxid;
            }
            Zab::Trunc(z) => {
                tracing::warn!(zxid = %z, "truncating the log to the leader's");
                self.mode = Some(SyncMode::Trunc);
                self.last_queued = z;
                cx.disk_op(DiskOp::Truncate { zxid: z });
                self.blocked = Some(Blocked::Truncate);
            }
            other => {
                return self.stop(
                    cx,
                    format!("expected DIFF, SNAP or TRUNC, got {}", other.name()),
                )
            }
        }
        self.phase = LearnerPhase::Syncing;
    }

    fn syncing(&mut self, cx: &mut Ctx<'_>, m: Zab) {
        match m {
            Zab::Proposal(t) => {
                if t.zxid() != self.last_queued.next() {
                    tracing::warn!(zxid = %t.zxid(), expected = %self.last_queued.next(), "proposal out of sequence");
                }
                self.last_queued = t.zxid();
                self.held.push((t, false));
            }
            Zab::Inform(t) => {
                self.last_queued = t.zxid();
                self.held.push((t, true));
            }
            Zab::InformAndActivate {
                txn,
                designated_leader,
            } => {
                self.activate(cx, &txn, designated_leader);
                self.syncing(cx, Zab::Inform(txn));
            }
            Zab::CommitAndActivate {
                zxid,
                designated_leader,
            } => {
                let txn = self.held[self.held_committed..]
                    .iter()
                    .find(|(t, c)| !*c && t.zxid() == zxid)
                    .map(|(t, _)| t.clone());
                if let Some(t) = txn {
                    self.activate(cx, &t, designated_leader);
                }
                self.syncing(cx, Zab::Commit(zxid));
            }
            Zab::Commit(z) => {
                // INFORMs arrive committed, so skip them (and anything committed before).
                while self.held.get(self.held_committed).is_some_and(|(_, c)| *c) {
                    self.held_committed += 1;
                }
                match self.held.get_mut(self.held_committed) {
                    Some((t, c)) if t.zxid() == z => {
                        *c = true;
                        self.held_committed += 1;
                    }
                    _ => self.stop(cx, format!("COMMIT {z} is not the next held proposal")),
                }
            }
            Zab::NewLeader { zxid, config } => {
                self.leader_config = Some(config);
                self.new_leader(cx, zxid)
            }
            Zab::UpToDate => self.stop(cx, "UPTODATE before NEWLEADER (pre-Zab-1.0 leader)"),
            // PINGs and anything else are not answered during the sync.
            _ => {}
        }
    }

    /// NEWLEADER: persist the snapshot and every held transaction, install what is committed,
    /// then write currentEpoch; the ACK goes once it is durable.
    fn new_leader(&mut self, cx: &mut Ctx<'_>, zxid: Zxid) {
        if zxid != Zxid::new(self.new_epoch, 0) {
            return self.stop(cx, format!("NEWLEADER {zxid} for another epoch"));
        }
        if let Some(mut tree) = self.snap.take() {
            tree.set_config_node(&cx.ensemble.config_text, cx.ensemble.config_version, cx.now);
            cx.disk.last_appended = tree.last_zxid();
            cx.disk_op(DiskOp::Snapshot {
                tree: tree.clone(),
                wait: true,
            });
            let z = tree.last_zxid();
            cx.core.replace_tree(*tree);
            cx.log.clear();
            cx.log.note(super::disk::Journal::Installed(z));
        }
        let held = std::mem::take(&mut self.held);
        self.held_committed = 0;
        let mut committing = true;
        for (t, committed) in held {
            if t.zxid() > cx.disk.last_appended {
                cx.disk_op(DiskOp::Append(t.clone()));
            }
            if committed && !committing {
                return self.stop(cx, "a committed transaction after an uncommitted one");
            }
            if committed {
                // A fuzzy snapshot may already reflect it.
                if t.zxid() > cx.core.tree().last_zxid() {
                    cx.core.commit(cx.now, &t.header, &t.body);
                    cx.log.push(t);
                }
            } else {
                committing = false;
                if !self.observer {
                    self.to_ack.push_back(t.zxid());
                }
                self.pending.push_back(t);
            }
        }
        cx.disk_op(DiskOp::WriteEpoch {
            file: EpochFile::Current,
            epoch: self.new_epoch,
        });
        self.blocked = Some(Blocked::NewLeader);
    }

    fn broadcast(&mut self, cx: &mut Ctx<'_>, m: Zab) {
        match m {
            Zab::Proposal(t) if !self.observer => self.log_proposal(cx, t),
            Zab::Commit(z) if !self.observer => self.commit(cx, z),
            Zab::CommitAndActivate {
                zxid,
                designated_leader,
            } if !self.observer => {
                // Activated before the commit answers the client, as Apache's follower does.
                if let Some(t) = self.pending.front().filter(|t| t.zxid() == zxid).cloned() {
                    self.activate(cx, &t, designated_leader);
                }
                self.commit(cx, zxid);
            }
            Zab::InformAndActivate {
                txn,
                designated_leader,
            } => {
                if txn.zxid() > self.last_queued {
                    self.activate(cx, &txn, designated_leader);
                }
                self.broadcast(cx, Zab::Inform(txn));
            }
            Zab::Inform(t) => {
                if t.zxid() <= self.last_queued {
                    return;
                }
                self.last_queued = t.zxid();
                cx.disk_op(DiskOp::Append(t.clone()));
                cx.core.commit(cx.now, &t.header, &t.body);
                cx.log.push(t);
            }
            Zab::UpToDate if self.phase == LearnerPhase::WaitUpToDate => {
                let epoch = self.new_epoch;
                cx.send(self.link, Zab::Ack(Zxid::new(epoch, 0)));
                cx.core.set_mode(cx.now, CoreMode::Learner, epoch);
                self.phase = LearnerPhase::Broadcast;
                self.acks_enabled = true;
                self.deadline = cx.now + cx.timing.sync_ms();
                tracing::info!(
                    leader = self.leader,
                    epoch,
                    observer = self.observer,
                    "synced with the leader: serving"
                );
                cx.out.push_back(ZabOut::Serving { epoch });
                self.flush_acks(cx);
                self.activate_leader_config(cx);
            }
            Zab::Ping { zxid, .. } if self.phase == LearnerPhase::Broadcast => {
                let touches = cx.core.take_touches();
                cx.send(self.link, Zab::Ping { zxid, touches });
            }
            Zab::Sync if self.phase == LearnerPhase::Broadcast => cx.core.sync_answered(cx.now),
            Zab::RevalidateReply { session, valid } if self.phase == LearnerPhase::Broadcast => {
                cx.core.revalidated(cx.now, session, valid)
            }
            other => tracing::debug!(packet = other.name(), "ignored from the leader"),
        }
    }

    /// A reconfig committed: the peer activates its config (`QuorumPeer.processReconfig`).
    fn activate(&mut self, cx: &mut Ctx<'_>, t: &Txn, designated_leader: i64) {
        let zk_core::txn::TxnBody::SetData(body) = &t.body else {
            return self.stop(cx, format!("the reconfig {} is not a SetDataTxn", t.zxid()));
        };
        match QuorumVerifier::from_config_data(body.data.as_deref()) {
            Ok(config) => {
                cx.core.set_reconfig_answer(t.zxid(), config.to_qv_text());
                cx.out.push_back(ZabOut::Activate {
                    config,
                    designated_leader,
                    zxid: t.zxid(),
                })
            }
            Err(e) => self.stop(
                cx,
                format!("the reconfig {} has a bad config: {e}", t.zxid()),
            ),
        }
    }

    /// UPTODATE: the leader's config, from NEWLEADER, when it is newer than this member's
    /// (a member that missed a reconfig while away learns it here; Apache's learner does the
    /// same at UPTODATE).
    fn activate_leader_config(&mut self, cx: &mut Ctx<'_>) {
        let Some(text) = self.leader_config.take() else {
            return;
        };
        if !cx.core.config().reconfig_enabled {
            return;
        }
        match QuorumVerifier::parse_qv_text(&text, true) {
            Ok(config) if config.version() > cx.ensemble.config_version => {
                cx.out.push_back(ZabOut::Activate {
                    config,
                    designated_leader: self.leader,
                    zxid: Zxid(0),
                })
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "the leader's config cannot be read"),
        }
    }

    fn log_proposal(&mut self, cx: &mut Ctx<'_>, t: Txn) {
        let z = t.zxid();
        let last = self.last_queued;
        if z <= last || (z.epoch() == last.epoch() && z != last.next()) {
            // A hole in the log would survive a restart (ZOOKEEPER-4925): sync again instead.
            return self.stop(cx, format!("proposal {z} does not follow {last}"));
        }
        self.last_queued = z;
        cx.disk_op(DiskOp::Append(t.clone()));
        self.to_ack.push_back(z);
        self.pending.push_back(t);
        self.flush_acks(cx);
    }

    fn commit(&mut self, cx: &mut Ctx<'_>, z: Zxid) {
        match self.pending.front() {
            Some(t) if t.zxid() == z => {}
            None => {
                tracing::warn!(zxid = %z, "COMMIT without its proposal; ignored");
                return;
            }
            Some(t) => {
                let why = format!("COMMIT {z} while the next pending proposal is {}", t.zxid());
                return self.stop(cx, why);
            }
        }
        if let Some(t) = self.pending.pop_front() {
            cx.core.commit(cx.now, &t.header, &t.body);
            cx.log.push(t);
        }
    }

    fn flush_acks(&mut self, cx: &mut Ctx<'_>) {
        if !self.acks_enabled {
            return;
        }
        while let Some(z) = self.to_ack.front().copied() {
            if z > cx.disk.synced {
                break;
            }
            self.to_ack.pop_front();
            cx.send(self.link, Zab::Ack(z));
        }
    }

    /// The disk made appends durable up to `cx.disk.synced`.
    pub(crate) fn synced(&mut self, cx: &mut Ctx<'_>) {
        self.flush_acks(cx);
    }

    /// An epoch file the learner asked for is durable.
    pub(crate) fn epoch_written(&mut self, cx: &mut Ctx<'_>, file: EpochFile, epoch: u32) {
        match (self.blocked, file) {
            (Some(Blocked::AcceptedEpoch), EpochFile::Accepted) => {
                let current = cx.disk.current_epoch as i32;
                cx.disk.accepted_epoch = epoch;
                self.blocked = None;
                self.ack_epoch(cx, current);
                self.unblocked(cx);
            }
            (Some(Blocked::NewLeader), EpochFile::Current) => {
                cx.disk.current_epoch = epoch;
                self.blocked = None;
                cx.send(self.link, Zab::Ack(Zxid::new(epoch, 0)));
                self.phase = LearnerPhase::WaitUpToDate;
                self.deadline = cx.now + cx.timing.sync_ms();
                self.unblocked(cx);
            }
            _ => {}
        }
    }

    /// The log was truncated and the tree reloaded from disk.
    pub(crate) fn truncated(&mut self, cx: &mut Ctx<'_>, mut tree: Box<DataTree>) {
        if self.blocked != Some(Blocked::Truncate) {
            return;
        }
        let z = self.last_queued;
        tree.set_last_zxid(z);
        cx.disk.last_appended = z;
        cx.disk.synced = cx.disk.synced.min(z);
        cx.core.replace_tree(*tree);
        cx.log.clear();
        cx.log.note(super::disk::Journal::Reloaded(z));
        self.blocked = None;
        self.unblocked(cx);
    }

    fn unblocked(&mut self, cx: &mut Ctx<'_>) {
        self.deadline = self.deadline.max(cx.now + cx.timing.sync_ms());
        while self.blocked.is_none() {
            let Some(m) = self.inbox.pop_front() else {
                return;
            };
            self.handle(cx, m);
        }
    }

    /// The next time the learner must act.
    pub(crate) fn deadline(&self) -> i64 {
        // While the disk works for the sync, the read timeout waits (the learner is not
        // reading, as Apache's learner thread blocks on its disk).
        let read = if self.blocked.is_some() {
            i64::MAX
        } else {
            self.deadline
        };
        self.retry_at.map_or(read, |r| r.min(read))
    }

    /// Timeouts: the read timeout (initLimit, then syncLimit) and connection retries.
    pub(crate) fn tick(&mut self, cx: &mut Ctx<'_>) {
        if let Some(at) = self.retry_at {
            if cx.now >= at {
                self.retry_at = None;
                self.attempts += 1;
                cx.out.push_back(ZabOut::Connect(self.link, self.leader));
            }
        }
        if self.blocked.is_some() {
            // The read timeout starts again once the disk answered.
            self.deadline = self.deadline.max(cx.now + cx.timing.init_ms());
        } else if cx.now > self.deadline {
            let why = if self.phase == LearnerPhase::Connecting {
                "could not connect to the leader"
            } else {
                "read from the leader timed out"
            };
            self.stop(cx, why);
        }
    }

    /// Forwards a client request or a revalidation to the leader.
    pub(crate) fn send_leader(&mut self, cx: &mut Ctx<'_>, m: Zab) {
        if self.phase == LearnerPhase::Broadcast {
            cx.send(self.link, m);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeSet, VecDeque};

    use zk_core::txn::{CreateTxn, TxnHeader};
    use zk_core::{Acl, SessionId};

    use super::*;
    use crate::core::{Core, CoreConfig};
    use crate::quorum::ctx::{DiskState, Ensemble, ZabTiming};
    use crate::quorum::disk::CommittedLog;

    struct Fixture {
        core: Core,
        log: CommittedLog,
        disk: DiskState,
        ensemble: Ensemble,
        verifier: crate::quorum::verifier::QuorumVerifier,
        timing: ZabTiming,
        out: VecDeque<ZabOut>,
        token: u64,
    }

    impl Fixture {
        fn new() -> Fixture {
            Fixture {
                core: Core::new(CoreConfig::default(), 0),
                log: CommittedLog::new(500),
                disk: DiskState {
                    accepted_epoch: 1,
                    current_epoch: 1,
                    last_appended: Zxid(0),
                    synced: Zxid(0),
                },
                ensemble: Ensemble {
                    voters: BTreeSet::from([1, 2, 3]),
                    observers: BTreeSet::new(),
                    config_text: "version=0".into(),
                    config_version: 0,
                },
                verifier: crate::quorum::verifier::QuorumVerifier::parse_qv_text(
                    "server.1=127.0.0.1:2001:3001\nserver.2=127.0.0.1:2002:3002\n\
                     server.3=127.0.0.1:2003:3003\nversion=0",
                    false,
                )
                .expect("a valid config"),
                timing: ZabTiming::new(100, 10, 5),
                out: VecDeque::new(),
                token: 0,
            }
        }

        fn cx(&mut self) -> Ctx<'_> {
            Ctx {
                now: 10,
                my_id: 2,
                core: &mut self.core,
                log: &mut self.log,
                disk: &mut self.disk,
                ensemble: &self.ensemble,
                verifier: &self.verifier,
                timing: &self.timing,
                out: &mut self.out,
                next_token: &mut self.token,
            }
        }

        fn drain(&mut self) -> Vec<ZabOut> {
            self.out.drain(..).collect()
        }
    }

    fn txn(e: u32, c: u32) -> Txn {
        Txn {
            header: TxnHeader {
                client_id: SessionId(1),
                cxid: c as i32,
                zxid: Zxid::new(e, c),
                time: 1,
                txn_type: 1,
            },
            body: zk_core::txn::TxnBody::Create(CreateTxn {
                path: format!("/n{e}-{c}"),
                data: None,
                acl: Acl::open_unsafe(),
                ephemeral: false,
                parent_cversion: -1,
            }),
        }
    }

    /// Registers with a leader of epoch 2 and gets to the sync's first packet.
    fn registered(f: &mut Fixture) -> Learner {
        let link = LinkId(LinkId::OUTGOING);
        let mut l = Learner::start(&mut f.cx(), 1, false, link);
        l.connected(&mut f.cx(), link);
        l.message(
            &mut f.cx(),
            link,
            Zab::LeaderInfo {
                epoch: 2,
                protocol_version: PROTOCOL_VERSION,
            },
        );
        // acceptedEpoch first, ACKEPOCH only once it is durable.
        let outs = f.drain();
        assert!(
            !outs
                .iter()
                .any(|o| matches!(o, ZabOut::Send(_, Zab::AckEpoch { .. }))),
            "{outs:?}"
        );
        assert!(outs.iter().any(|o| matches!(
            o,
            ZabOut::Disk(DiskOp::WriteEpoch {
                file: EpochFile::Accepted,
                epoch: 2
            })
        )));
        l.epoch_written(&mut f.cx(), EpochFile::Accepted, 2);
        let outs = f.drain();
        assert!(outs.iter().any(|o| matches!(
            o,
            ZabOut::Send(
                _,
                Zab::AckEpoch {
                    current_epoch: 1,
                    ..
                }
            )
        )));
        l
    }

    #[test]
    fn newleader_is_acknowledged_only_after_the_transactions_then_current_epoch_are_durable() {
        let mut f = Fixture::new();
        let mut l = registered(&mut f);
        let link = l.link();
        l.message(&mut f.cx(), link, Zab::Diff(Zxid::new(1, 2)));
        for c in 1..=2 {
            l.message(&mut f.cx(), link, Zab::Proposal(txn(1, c)));
            l.message(&mut f.cx(), link, Zab::Commit(Zxid::new(1, c)));
        }
        // An outstanding proposal of the new epoch, not yet committed.
        l.message(&mut f.cx(), link, Zab::Proposal(txn(2, 1)));
        assert!(
            f.drain().is_empty(),
            "nothing is logged or answered before NEWLEADER"
        );
        l.message(
            &mut f.cx(),
            link,
            Zab::NewLeader {
                zxid: Zxid::new(2, 0),
                config: String::new(),
            },
        );
        let outs = f.drain();
        let kinds: Vec<String> = outs
            .iter()
            .map(|o| match o {
                ZabOut::Disk(DiskOp::Append(t)) => format!("append {}", t.zxid()),
                ZabOut::Disk(DiskOp::WriteEpoch { file, epoch }) => format!("{file:?} {epoch}"),
                other => format!("{other:?}"),
            })
            .collect();
        assert_eq!(
            kinds,
            [
                "append 0x100000001",
                "append 0x100000002",
                "append 0x200000001",
                "Current 2"
            ]
        );
        assert_eq!(
            f.core.tree().last_zxid(),
            Zxid::new(1, 2),
            "committed ones applied"
        );
        // The ACK of NEWLEADER waits for currentEpoch.
        l.epoch_written(&mut f.cx(), EpochFile::Current, 2);
        let outs = f.drain();
        assert!(
            matches!(&outs[..], [ZabOut::Send(_, Zab::Ack(z))] if *z == Zxid::new(2, 0)),
            "{outs:?}"
        );
        // UPTODATE: its ACK, then the proposal's once durable.
        l.message(&mut f.cx(), link, Zab::UpToDate);
        let outs = f.drain();
        assert!(matches!(&outs[0], ZabOut::Send(_, Zab::Ack(z)) if *z == Zxid::new(2, 0)));
        assert!(!outs
            .iter()
            .any(|o| matches!(o, ZabOut::Send(_, Zab::Ack(z)) if *z == Zxid::new(2, 1))));
        f.disk.synced = Zxid::new(2, 1);
        l.synced(&mut f.cx());
        let outs = f.drain();
        assert!(matches!(&outs[..], [ZabOut::Send(_, Zab::Ack(z))] if *z == Zxid::new(2, 1)));
    }

    #[test]
    fn commits_trailing_their_proposals_in_a_long_diff_mark_each_in_order() {
        let mut f = Fixture::new();
        let mut l = registered(&mut f);
        let link = l.link();
        let n = 20_000;
        l.message(&mut f.cx(), link, Zab::Diff(Zxid::new(1, n)));
        // The leader streams proposals ahead of their commits, as a busy one does.
        for c in 1..=n {
            l.message(&mut f.cx(), link, Zab::Proposal(txn(1, c)));
            if c > 3 {
                l.message(&mut f.cx(), link, Zab::Commit(Zxid::new(1, c - 3)));
            }
        }
        for c in n - 2..n {
            l.message(&mut f.cx(), link, Zab::Commit(Zxid::new(1, c)));
        }
        assert!(f.drain().is_empty());
        l.message(
            &mut f.cx(),
            link,
            Zab::NewLeader {
                zxid: Zxid::new(2, 0),
                config: String::new(),
            },
        );
        assert_eq!(
            f.core.tree().last_zxid(),
            Zxid::new(1, n - 1),
            "all but the last, uncommitted, proposal applied"
        );
        assert!(!f.drain().iter().any(|o| matches!(o, ZabOut::Stop(_))));
    }

    #[test]
    fn a_commit_that_skips_a_held_proposal_ends_the_sync() {
        let mut f = Fixture::new();
        let mut l = registered(&mut f);
        let link = l.link();
        l.message(&mut f.cx(), link, Zab::Diff(Zxid::new(1, 3)));
        for c in 1..=3 {
            l.message(&mut f.cx(), link, Zab::Proposal(txn(1, c)));
        }
        l.message(&mut f.cx(), link, Zab::Commit(Zxid::new(1, 1)));
        assert!(f.drain().is_empty());
        l.message(&mut f.cx(), link, Zab::Commit(Zxid::new(1, 3)));
        assert!(f.drain().iter().any(|o| matches!(o, ZabOut::Stop(_))));
    }

    #[test]
    fn a_snap_is_written_before_the_transactions_after_it() {
        let mut f = Fixture::new();
        let mut l = registered(&mut f);
        let link = l.link();
        let mut tree = crate::core::DataTree::new();
        tree.apply(&txn(1, 1).header, &txn(1, 1).body, &mut Vec::new());
        l.message(
            &mut f.cx(),
            link,
            Zab::Snap {
                zxid: Zxid::new(1, 1),
                tree: Box::new(tree),
            },
        );
        l.message(&mut f.cx(), link, Zab::Proposal(txn(1, 2)));
        l.message(&mut f.cx(), link, Zab::Commit(Zxid::new(1, 2)));
        l.message(
            &mut f.cx(),
            link,
            Zab::NewLeader {
                zxid: Zxid::new(2, 0),
                config: String::new(),
            },
        );
        let outs = f.drain();
        assert!(matches!(
            &outs[..],
            [
                ZabOut::Disk(DiskOp::Snapshot { wait: true, .. }),
                ZabOut::Disk(DiskOp::Append(_)),
                ZabOut::Disk(DiskOp::WriteEpoch {
                    file: EpochFile::Current,
                    ..
                })
            ]
        ));
        assert!(f.core.tree().node("/n1-1").is_some() && f.core.tree().node("/n1-2").is_some());
    }

    #[test]
    fn anything_but_diff_snap_or_trunc_first_ends_the_sync() {
        let mut f = Fixture::new();
        let mut l = registered(&mut f);
        let link = l.link();
        l.message(&mut f.cx(), link, Zab::Commit(Zxid::new(1, 1)));
        assert!(f.drain().iter().any(|o| matches!(o, ZabOut::Stop(_))));
    }

    #[test]
    fn a_commit_out_of_order_in_broadcast_ends_the_role() {
        let mut f = Fixture::new();
        let mut l = registered(&mut f);
        let link = l.link();
        l.message(&mut f.cx(), link, Zab::Diff(Zxid(0)));
        l.message(
            &mut f.cx(),
            link,
            Zab::NewLeader {
                zxid: Zxid::new(2, 0),
                config: String::new(),
            },
        );
        l.epoch_written(&mut f.cx(), EpochFile::Current, 2);
        l.message(&mut f.cx(), link, Zab::UpToDate);
        l.message(&mut f.cx(), link, Zab::Proposal(txn(2, 1)));
        l.message(&mut f.cx(), link, Zab::Proposal(txn(2, 2)));
        f.drain();
        l.message(&mut f.cx(), link, Zab::Commit(Zxid::new(2, 2)));
        assert!(f.drain().iter().any(|o| matches!(o, ZabOut::Stop(_))));
        // A proposal that skips a zxid within an epoch (ZOOKEEPER-4925) too.
        let mut f = Fixture::new();
        let mut l = registered(&mut f);
        l.message(&mut f.cx(), link, Zab::Diff(Zxid(0)));
        l.message(
            &mut f.cx(),
            link,
            Zab::NewLeader {
                zxid: Zxid::new(2, 0),
                config: String::new(),
            },
        );
        l.epoch_written(&mut f.cx(), EpochFile::Current, 2);
        l.message(&mut f.cx(), link, Zab::UpToDate);
        l.message(&mut f.cx(), link, Zab::Proposal(txn(2, 1)));
        l.message(&mut f.cx(), link, Zab::Proposal(txn(2, 3)));
        assert!(f.drain().iter().any(|o| matches!(o, ZabOut::Stop(_))));
    }
}
