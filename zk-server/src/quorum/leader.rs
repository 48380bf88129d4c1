//! The leader's side of Zab (`Leader`, `LearnerHandler`), sans-IO.
//!
//! Discovery: learners register (FOLLOWERINFO / OBSERVERINFO); once the leader and a quorum of
//! voters have, the new epoch is one more than the largest accepted epoch among them; it is
//! written to `acceptedEpoch` and announced (LEADERINFO). A quorum of ACKEPOCHs ends
//! discovery and the leader writes `currentEpoch`. Synchronization: each learner gets a DIFF,
//! TRUNC or SNAP ([`super::plan`]), the outstanding proposals, then NEWLEADER; a quorum of
//! NEWLEADER ACKs (the leader's own once its `currentEpoch` is durable) starts the server and
//! every synced learner gets UPTODATE. Broadcast: proposals go to every follower, a quorum of
//! ACKs (the leader's own once its log is durable) commits them strictly in zxid order,
//! observers get INFORM at commit time. PINGs every half tick; a leader that cannot keep a
//! quorum of learners in sync stops.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use zk_core::Zxid;

use super::ctx::{Ctx, ZabOut};
use super::disk::{DiskOp, EpochFile};
use super::plan::{plan, SyncInputs, SyncOp, SyncPlan};
use super::verifier::QuorumVerifier;
use super::zab::{LinkId, Txn, Zab, PROTOCOL_VERSION};
use crate::core::CoreMode;

/// The leader's phase (`QuorumPeer.ZabState`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeaderPhase {
    /// Waiting for a quorum of voters to register (epoch proposal).
    Discovery,
    /// Waiting for a quorum of ACKEPOCHs.
    EpochAck,
    /// Waiting for a quorum of NEWLEADER ACKs.
    Synchronization,
    /// Serving.
    Broadcast,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum HState {
    /// Nothing received yet.
    WaitInfo,
    /// Registered; waiting for the epoch to be decided and written.
    WaitEpoch,
    /// LEADERINFO sent.
    WaitAckEpoch,
    /// ACKEPOCH received; waiting for the quorum of them.
    WaitEpochQuorum,
    /// Reading the on-disk log for a DIFF.
    WaitDisk(u64),
    /// NEWLEADER sent.
    WaitNewLeaderAck,
    /// NEWLEADER acknowledged; waiting for the leader to start serving.
    WaitStartup,
    /// UPTODATE sent: broadcast.
    Active,
}

#[derive(Debug)]
struct Handler {
    sid: i64,
    observer: bool,
    state: HState,
    /// Closed when nothing arrives before this (SO_TIMEOUT: initLimit, then syncLimit).
    read_deadline: i64,
    /// Counts as in sync until this (`tickOfNextAckDeadline`).
    ack_deadline: i64,
    /// Receives live broadcast traffic (`startForwarding` happened).
    forwarding: bool,
    /// Proposals sent and not acknowledged, with when (`SyncLimitCheck`).
    unacked: VecDeque<(Zxid, i64)>,
    /// ACKEPOCH's (currentEpoch, lastLoggedZxid).
    summary: (i32, Zxid),
    /// COMMITs held back between NEWLEADER and UPTODATE, sent right after UPTODATE.
    ///
    /// An Apache ZooKeeper 3.8 learner logs and forgets its held proposals at NEWLEADER
    /// (`Learner.syncWithLeader` clears `packetsNotCommitted`); a COMMIT that arrives next,
    /// before any new PROPOSAL, dereferences the empty queue's head and the sync fails with a
    /// NullPointerException (Learner.java:655 in 3.8.0, ZOOKEEPER-4394, fixed in 3.9.3 only).
    /// Apache's own leader triggers it whenever a proposal outstanding at sync time commits
    /// after NEWLEADER. After UPTODATE every learner commits in zxid order against the
    /// proposals it logged, so holding the COMMITs until then changes nothing else.
    held_commits: Vec<Zab>,
    /// PINGs sent on this link, and PINGs it sent back: a learner answers every PING with one,
    /// in order (`Learner.ping`), so its n-th answer answers the n-th PING.
    pings_sent: u64,
    pings_heard: u64,
}

impl Handler {
    /// A PING for this learner on `link`, counted (every PING sent must be, for the
    /// confirmation rounds).
    fn ping(&mut self, link: LinkId, zxid: Zxid) -> ZabOut {
        self.pings_sent += 1;
        ZabOut::Send(
            link,
            Zab::Ping {
                zxid,
                touches: Vec::new(),
            },
        )
    }
}

/// A leadership confirmation round (`quorumSync`): a PING to every voting follower; the
/// round is confirmed once a quorum (the leader included) answered its PING, which each of
/// them could only do while it still followed this leader, after the round started.
#[derive(Debug)]
struct Round {
    id: u64,
    /// (link, sid, answers needed on that link).
    need: Vec<(LinkId, i64, u64)>,
}

/// Confirmation rounds in flight at once; rounds asked for meanwhile start when one ends
/// (every sync that arrived meanwhile shares the next round). A round that can no longer be
/// confirmed (learners it needed disconnected) is dropped, and its syncs wait for the next
/// round, which starts once a quorum of voters is in broadcast.
const ROUNDS_IN_FLIGHT: usize = 2;

#[derive(Debug)]
struct Outstanding {
    txn: Txn,
    acks: BTreeSet<i64>,
    /// The voters of every config it needs a quorum of (`Proposal.qvAcksetPairs`): the
    /// current one, and the proposed one while a reconfig is in flight.
    quorums: Vec<BTreeSet<i64>>,
    /// For a reconfig, the config it installs.
    reconfig: Option<QuorumVerifier>,
}

impl Outstanding {
    /// `Proposal.hasAllQuorums`: a majority of every config's voters acknowledged it.
    fn has_all_quorums(&self) -> bool {
        self.quorums
            .iter()
            .all(|q| q.iter().filter(|s| self.acks.contains(s)).count() > q.len() / 2)
    }
}

/// The leader.
#[derive(Debug)]
pub struct Leader {
    phase: LeaderPhase,
    /// When the current quorum wait gives up (initLimit).
    wait_deadline: i64,
    /// The epoch being proposed: one more than the largest accepted epoch seen.
    candidate: u32,
    /// The decided epoch, once a quorum registered.
    epoch: Option<u32>,
    accepted_written: bool,
    connecting: BTreeSet<i64>,
    electing: BTreeSet<i64>,
    newleader_acks: BTreeSet<i64>,
    /// (currentEpoch, lastProcessedZxid) when leading started (`leaderStateSummary`).
    summary: (u32, Zxid),
    handlers: BTreeMap<LinkId, Handler>,
    outstanding: BTreeMap<Zxid, Outstanding>,
    next_ping: i64,
    ping_skip: bool,
    /// Confirmation rounds in flight, oldest first.
    rounds: VecDeque<Round>,
    /// The core asked for a round while [`ROUNDS_IN_FLIGHT`] were in flight.
    round_wanted: bool,
    /// A leadership transfer under way.
    transfer: Option<Transfer>,
    /// The config of a reconfig proposed and not yet committed (`lastSeenQuorumVerifier`
    /// while it differs from the current one).
    pending_config: Option<QuorumVerifier>,
    /// False once this leader committed a reconfig that designated another leader: it
    /// commits nothing more (`allowedToCommit`).
    allowed_to_commit: bool,
    /// The config of the last reconfig committed, current from that moment on (Apache's
    /// `processReconfig` in `tryToCommit`), while the peer has not installed it yet: the
    /// proposals made in between need its quorum, not the old one's.
    activated: Option<QuorumVerifier>,
}

/// A leadership transfer (`ydld`): proposals are frozen; once everything proposed is committed
/// and the target acknowledged all of it, the target alone gets a no-op proposal, and its ACK
/// of that makes the leader step down and vote for it: its last logged zxid is then the
/// ensemble's highest, so every member's vote goes to it.
#[derive(Debug, Clone, Copy)]
struct Transfer {
    target: i64,
    /// The no-op's zxid, once sent.
    noop: Option<Zxid>,
    /// Given up then (the leader steps down anyway: the no-op may have been sent).
    deadline: i64,
}

/// The config a reconfig transaction installs (its `SetDataTxn`'s data, QV text).
fn reconfig_config(txn: &Txn) -> Option<QuorumVerifier> {
    if txn.header.txn_type != zk_core::OpCode::Reconfig.as_i32() {
        return None;
    }
    let zk_core::txn::TxnBody::SetData(t) = &txn.body else {
        return None;
    };
    match QuorumVerifier::from_config_data(t.data.as_deref()) {
        Ok(qv) => Some(qv),
        Err(e) => {
            tracing::error!(error = %e, "a reconfig transaction whose config cannot be read");
            None
        }
    }
}

impl Leader {
    /// Starts leading (the election chose this peer).
    pub(crate) fn start(cx: &mut Ctx<'_>) -> Leader {
        cx.core.set_mode(cx.now, CoreMode::NotServing, 0);
        let mut l = Leader {
            phase: LeaderPhase::Discovery,
            wait_deadline: cx.now + cx.timing.init_ms(),
            candidate: cx.disk.accepted_epoch + 1,
            epoch: None,
            accepted_written: false,
            connecting: BTreeSet::from([cx.my_id]),
            electing: BTreeSet::new(),
            newleader_acks: BTreeSet::new(),
            summary: (cx.disk.current_epoch, cx.core.tree().last_zxid()),
            handlers: BTreeMap::new(),
            outstanding: BTreeMap::new(),
            next_ping: 0,
            ping_skip: true,
            rounds: VecDeque::new(),
            round_wanted: false,
            transfer: None,
            pending_config: None,
            allowed_to_commit: true,
            activated: None,
        };
        // A reconfig in the history this leader brings (logged, maybe never committed
        // before): its config is the last seen one, and NEWLEADER needs a quorum of it too.
        if let Some(qv) = cx.core.newer_logged_config(cx.ensemble.config_version) {
            tracing::info!(
                version = qv.version(),
                "leading with a newer config in the history"
            );
            l.pending_config = Some(qv);
        }
        l.check_epoch_quorum(cx);
        l
    }

    /// The phase.
    pub fn phase(&self) -> LeaderPhase {
        self.phase
    }

    /// The epoch, once decided.
    pub fn epoch(&self) -> Option<u32> {
        self.epoch
    }

    /// Sids of learners past NEWLEADER (`synced_followers`), and of every connected one.
    pub fn learners(&self) -> (Vec<i64>, Vec<i64>) {
        let all: Vec<i64> = self.handlers.values().map(|h| h.sid).collect();
        let synced = self
            .handlers
            .values()
            .filter(|h| matches!(h.state, HState::Active) && !h.observer)
            .map(|h| h.sid)
            .collect();
        (synced, all)
    }

    /// The leader and the followers (not observers) in broadcast whose acknowledgements are
    /// in time (`Leader.isQuorumSynced` counts these), and the version of the config a reconfig
    /// in flight proposed.
    pub(crate) fn reconfig_inputs(&self, now: i64, my_id: i64) -> (BTreeSet<i64>, Option<i64>) {
        let mut synced = BTreeSet::from([my_id]);
        for h in self.handlers.values() {
            if h.state == HState::Active && !h.observer && now <= h.ack_deadline {
                synced.insert(h.sid);
            }
        }
        (
            synced,
            self.pending_config.as_ref().map(QuorumVerifier::version),
        )
    }

    /// Every learner's link.
    pub(crate) fn links(&self) -> Vec<LinkId> {
        self.handlers.keys().copied().collect()
    }

    /// Proposals logged but not committed (replayed into the tree when the role ends).
    pub(crate) fn logged_uncommitted(&mut self) -> Vec<Txn> {
        std::mem::take(&mut self.outstanding)
            .into_values()
            .map(|o| o.txn)
            .collect()
    }

    /// Proposals awaiting a quorum.
    pub fn outstanding(&self) -> usize {
        self.outstanding.len()
    }

    /// A learner connected to the quorum port.
    pub(crate) fn accepted(&mut self, cx: &mut Ctx<'_>, link: LinkId) {
        let t = cx.timing;
        self.handlers.insert(
            link,
            Handler {
                sid: -1,
                observer: false,
                state: HState::WaitInfo,
                read_deadline: cx.now + t.init_ms(),
                ack_deadline: cx.now + t.init_ms() + t.sync_ms(),
                forwarding: false,
                unacked: VecDeque::new(),
                summary: (0, Zxid(0)),
                held_commits: Vec::new(),
                pings_sent: 0,
                pings_heard: 0,
            },
        );
    }

    /// A learner's connection went away.
    pub(crate) fn closed(&mut self, cx: &mut Ctx<'_>, link: LinkId) {
        if let Some(h) = self.handlers.remove(&link) {
            if matches!(h.state, HState::WaitDisk(_)) {
                cx.log.unpin();
            }
            tracing::info!(sid = h.sid, "learner disconnected");
        }
        let before = self.rounds.len();
        let handlers = &self.handlers;
        self.rounds.retain(|r| {
            let mut q = BTreeSet::from([cx.my_id]);
            for (l, sid, _) in &r.need {
                if handlers.contains_key(l) {
                    q.insert(*sid);
                }
            }
            cx.ensemble.has_quorum(&q)
        });
        if self.rounds.len() < before {
            self.round_wanted = true;
            self.try_start_round(cx);
        }
    }

    fn close(&mut self, cx: &mut Ctx<'_>, link: LinkId, why: &str) {
        if let Some(h) = self.handlers.get(&link) {
            tracing::warn!(sid = h.sid, why, "closing the learner's connection");
        }
        self.closed(cx, link);
        cx.out.push_back(ZabOut::Close(link));
    }

    fn stop(&mut self, cx: &mut Ctx<'_>, why: String) {
        tracing::warn!(reason = %why, "no longer leading");
        cx.out.push_back(ZabOut::Stop(why));
    }

    /// A message from a learner.
    pub(crate) fn message(&mut self, cx: &mut Ctx<'_>, link: LinkId, m: Zab) {
        let t = *cx.timing;
        let Some(h) = self.handlers.get_mut(&link) else {
            return;
        };
        let synced_phase = matches!(h.state, HState::WaitStartup | HState::Active);
        h.read_deadline = cx.now
            + if synced_phase {
                t.sync_ms()
            } else {
                t.init_ms()
            };
        if synced_phase {
            h.ack_deadline = cx.now + t.sync_ms();
        }
        let is_observer_info = matches!(m, Zab::ObserverInfo { .. });
        match (h.state, m) {
            (
                HState::WaitInfo,
                Zab::FollowerInfo {
                    accepted_epoch,
                    info,
                },
            )
            | (
                HState::WaitInfo,
                Zab::ObserverInfo {
                    accepted_epoch,
                    info,
                },
            ) => {
                let sid = info.server_id;
                // With reconfig, a server outside the config joins as a non-voting follower
                // (or an observer) until a reconfig adds it.
                if !cx.ensemble.is_member(sid) && !cx.core.config().reconfig_enabled {
                    return self.close(cx, link, "server id not in the configuration");
                }
                if info.config_version > cx.ensemble.config_version {
                    return self.close(cx, link, "learner has a later configuration");
                }
                if info.protocol_version < PROTOCOL_VERSION {
                    return self.close(cx, link, "pre-Zab-1.0 learners are not supported");
                }
                // A learner that reconnects replaces its old connection.
                let old: Vec<LinkId> = self
                    .handlers
                    .iter()
                    .filter(|(l, o)| **l != link && o.sid == sid)
                    .map(|(l, _)| *l)
                    .collect();
                for l in old {
                    self.close(cx, l, "the learner connected again");
                }
                let observer = is_observer_info || cx.ensemble.observers.contains(&sid);
                if let Some(h) = self.handlers.get_mut(&link) {
                    h.sid = sid;
                    h.observer = observer;
                    h.state = HState::WaitEpoch;
                }
                tracing::info!(sid, observer, accepted_epoch, "learner registered");
                self.epoch_to_propose(cx, sid, accepted_epoch);
            }
            (
                HState::WaitAckEpoch,
                Zab::AckEpoch {
                    last_zxid,
                    current_epoch,
                },
            ) => {
                h.summary = (current_epoch, last_zxid);
                h.state = HState::WaitEpochQuorum;
                self.epoch_acked(cx, link);
            }
            (HState::WaitNewLeaderAck, Zab::Ack(z)) => {
                let sid = h.sid;
                let Some(epoch) = self.epoch else { return };
                if z != Zxid::new(epoch, 0) {
                    // 3.8.0-3.8.4 learners may ACK proposals before NEWLEADER.
                    self.ack(cx, sid, z);
                    return;
                }
                h.state = HState::WaitStartup;
                h.read_deadline = cx.now + t.sync_ms();
                h.ack_deadline = cx.now + t.sync_ms();
                if !h.observer {
                    self.newleader_acks.insert(sid);
                }
                if self.phase == LeaderPhase::Broadcast {
                    self.up_to_date(cx, link);
                } else {
                    self.check_newleader_quorum(cx);
                }
            }
            (HState::WaitStartup | HState::Active, m) => {
                let sid = h.sid;
                self.broadcast_message(cx, link, sid, m);
            }
            (state, m) => {
                let why = format!("unexpected {} in state {state:?}", m.name());
                self.close(cx, link, &why);
            }
        }
    }

    fn broadcast_message(&mut self, cx: &mut Ctx<'_>, link: LinkId, sid: i64, m: Zab) {
        match m {
            Zab::Ack(z) => self.ack(cx, sid, z),
            Zab::Ping { touches, .. } => {
                for (s, _timeout) in touches {
                    cx.core.touch_session(cx.now, s);
                }
                if let Some(h) = self.handlers.get_mut(&link) {
                    h.pings_heard += 1;
                }
                self.check_rounds(cx);
            }
            Zab::Request(r) => {
                if self.phase == LeaderPhase::Broadcast {
                    let quorum = cx.ensemble.is_voter(sid)
                        && cx.ensemble.has_quorum(&BTreeSet::from([cx.my_id, sid]));
                    if quorum {
                        cx.core.forwarded_by_quorum(cx.now, sid, r);
                    } else {
                        cx.core.forwarded(cx.now, sid, r);
                    }
                }
            }
            Zab::Revalidate { session, .. } => {
                let valid = cx.core.revalidate(cx.now, session, sid);
                cx.send(link, Zab::RevalidateReply { session, valid });
            }
            other => tracing::debug!(sid, packet = other.name(), "ignored from a learner"),
        }
    }

    /// `getEpochToPropose`.
    fn epoch_to_propose(&mut self, cx: &mut Ctx<'_>, sid: i64, accepted: u32) {
        if let Some(e) = self.epoch {
            if accepted > e {
                // The member promised a newer epoch (to a leader that never established it)
                // and can never follow this one (it refuses an older epoch, rightly). Apache
                // ZooKeeper leaves it out until this leader fails; stepping down instead makes
                // the next election's epoch cover it, so the whole ensemble serves again.
                self.stop(
                    cx,
                    format!("member {sid} accepted epoch {accepted}, newer than this leader's {e}"),
                );
                return;
            }
        }
        if self.epoch.is_none() {
            if accepted >= self.candidate {
                self.candidate = accepted + 1;
            }
            if cx.ensemble.is_voter(sid) {
                self.connecting.insert(sid);
            }
            self.check_epoch_quorum(cx);
        }
        if self.accepted_written {
            self.leader_info_to_waiting(cx);
        }
    }

    fn check_epoch_quorum(&mut self, cx: &mut Ctx<'_>) {
        if self.epoch.is_none() && cx.ensemble.has_quorum(&self.connecting) {
            let e = self.candidate;
            tracing::info!(epoch = e, "new epoch decided");
            self.epoch = Some(e);
            // ZOOKEEPER-1783: with reconfig on, a config that never had a version gets the new
            // epoch's first zxid as its version (the last seen config), activated with the
            // epoch, so every member agrees on one version of it.
            if cx.core.config().reconfig_enabled
                && self.pending_config.is_none()
                && cx.ensemble.config_version == 0
            {
                self.pending_config = Some(cx.verifier.clone().with_version(Zxid::new(e, 0).0));
            }
            cx.disk_op(DiskOp::WriteEpoch {
                file: EpochFile::Accepted,
                epoch: e,
            });
        }
    }

    fn leader_info_to_waiting(&mut self, cx: &mut Ctx<'_>) {
        let Some(epoch) = self.epoch else { return };
        let waiting: Vec<LinkId> = self
            .handlers
            .iter()
            .filter(|(_, h)| h.state == HState::WaitEpoch)
            .map(|(l, _)| *l)
            .collect();
        for l in waiting {
            cx.send(
                l,
                Zab::LeaderInfo {
                    epoch,
                    protocol_version: PROTOCOL_VERSION,
                },
            );
            if let Some(h) = self.handlers.get_mut(&l) {
                h.state = HState::WaitAckEpoch;
            }
        }
    }

    /// `waitForEpochAck` for a learner whose ACKEPOCH arrived.
    fn epoch_acked(&mut self, cx: &mut Ctx<'_>, link: LinkId) {
        if matches!(
            self.phase,
            LeaderPhase::Synchronization | LeaderPhase::Broadcast
        ) {
            self.start_sync(cx, link);
            return;
        }
        let Some(h) = self.handlers.get(&link) else {
            return;
        };
        let (cur, last) = h.summary;
        if cur != -1 {
            let (lcur, llast) = self.summary;
            let ahead =
                i64::from(cur) > i64::from(lcur) || (cur as i64 == lcur as i64 && last > llast);
            if ahead {
                return self.close(cx, link, "follower is ahead of the leader");
            }
            if last != Zxid(-1) && !h.observer {
                self.electing.insert(h.sid);
            }
        }
        self.check_epoch_ack_quorum(cx);
    }

    fn check_epoch_ack_quorum(&mut self, cx: &mut Ctx<'_>) {
        if self.phase != LeaderPhase::EpochAck || !cx.ensemble.has_quorum(&self.electing) {
            return;
        }
        let Some(epoch) = self.epoch else { return };
        self.phase = LeaderPhase::Synchronization;
        self.wait_deadline = cx.now + cx.timing.init_ms();
        cx.disk_op(DiskOp::WriteEpoch {
            file: EpochFile::Current,
            epoch,
        });
        let ready: Vec<LinkId> = self
            .handlers
            .iter()
            .filter(|(_, h)| h.state == HState::WaitEpochQuorum)
            .map(|(l, _)| *l)
            .collect();
        for l in ready {
            self.start_sync(cx, l);
        }
    }

    /// `syncFollower` + `startForwarding` + NEWLEADER.
    fn start_sync(&mut self, cx: &mut Ctx<'_>, link: LinkId) {
        self.sync_with(cx, link, None);
    }

    fn sync_with(&mut self, cx: &mut Ctx<'_>, link: LinkId, disk: Option<&[Txn]>) {
        let Some(epoch) = self.epoch else { return };
        let Some(h) = self.handlers.get(&link) else {
            return;
        };
        let peer_last = h.summary.1;
        let observer = h.observer;
        let lp = cx.core.tree().last_zxid();
        let decision = plan(SyncInputs {
            peer_last,
            last_processed: lp,
            committed: cx.log.entries(),
            disk,
            force_snap: cx.timing.force_snapshot_sync,
            txn_log_sync: cx.timing.snapshot_size_factor >= 0.0,
        });
        let last = match decision {
            SyncPlan::ReadDisk => {
                let token = cx.token();
                cx.log.pin();
                cx.disk_op(DiskOp::ReadLog {
                    token,
                    from: peer_last,
                    until: cx.log.range().map_or(lp, |(oldest, _)| oldest),
                    size_factor: cx.timing.snapshot_size_factor,
                });
                if let Some(h) = self.handlers.get_mut(&link) {
                    h.state = HState::WaitDisk(token);
                }
                return;
            }
            SyncPlan::Packets { op, txns, last } => {
                let first = match op {
                    SyncOp::Diff(z) => Zab::Diff(z),
                    SyncOp::Trunc(z) => Zab::Trunc(z),
                };
                tracing::info!(
                    sid = h.sid,
                    packet = first.name(),
                    txns = txns.len(),
                    peer = %peer_last,
                    "synchronizing learner"
                );
                cx.send(link, first);
                for t in txns {
                    let z = t.zxid();
                    cx.send(link, Zab::Proposal(t));
                    cx.send(link, Zab::Commit(z));
                }
                last
            }
            SyncPlan::Snap => {
                tracing::info!(sid = h.sid, peer = %peer_last, zxid = %lp, "synchronizing learner by SNAP");
                let tree = Box::new(cx.core.tree().clone());
                cx.send(link, Zab::Snap { zxid: lp, tree });
                lp
            }
        };
        // startForwarding: the outstanding proposals after what the learner will have (not
        // for observers), then live traffic.
        let mut unacked = VecDeque::new();
        if !observer {
            for (z, o) in self.outstanding.range(last.next()..) {
                cx.send(link, Zab::Proposal(o.txn.clone()));
                unacked.push_back((*z, cx.now));
            }
        }
        cx.send(
            link,
            Zab::NewLeader {
                zxid: Zxid::new(epoch, 0),
                config: self.pending_config.as_ref().map_or_else(
                    || cx.ensemble.config_text.clone(),
                    QuorumVerifier::to_qv_text,
                ),
            },
        );
        if let Some(h) = self.handlers.get_mut(&link) {
            h.forwarding = true;
            h.unacked = unacked;
            h.state = HState::WaitNewLeaderAck;
        }
    }

    /// The on-disk log a DIFF asked for.
    pub(crate) fn log_read(&mut self, cx: &mut Ctx<'_>, token: u64, txns: Option<Vec<Txn>>) {
        let Some(link) = self
            .handlers
            .iter()
            .find(|(_, h)| h.state == HState::WaitDisk(token))
            .map(|(l, _)| *l)
        else {
            return;
        };
        cx.log.unpin();
        let txns = txns.unwrap_or_default();
        self.sync_with(cx, link, Some(&txns));
    }

    fn check_newleader_quorum(&mut self, cx: &mut Ctx<'_>) {
        let pending_quorum = self
            .pending_config
            .as_ref()
            .is_none_or(|p| p.has_quorum(self.newleader_acks.iter().copied()));
        if self.phase != LeaderPhase::Synchronization
            || !cx.ensemble.has_quorum(&self.newleader_acks)
            || !pending_quorum
        {
            return;
        }
        let Some(epoch) = self.epoch else { return };
        tracing::info!(epoch, acks = ?self.newleader_acks, "quorum synced: serving");
        if let Some(qv) = self.pending_config.take() {
            // A reconfig this leader logged before it led, now committed with its history:
            // its config becomes active here, and on the learners at UPTODATE (NEWLEADER
            // carried it), as Apache's `Leader.lead` does with the last seen config.
            tracing::info!(
                version = qv.version(),
                "activating the config logged before leading"
            );
            cx.out.push_back(ZabOut::Activate {
                config: qv,
                designated_leader: cx.my_id,
                zxid: Zxid(0),
            });
        }
        self.phase = LeaderPhase::Broadcast;
        cx.core.set_mode(cx.now, CoreMode::Leader, epoch);
        self.next_ping = cx.now + cx.timing.tick_ms / 2;
        cx.out.push_back(ZabOut::Serving { epoch });
        let ready: Vec<LinkId> = self
            .handlers
            .iter()
            .filter(|(_, h)| h.state == HState::WaitStartup)
            .map(|(l, _)| *l)
            .collect();
        for l in ready {
            self.up_to_date(cx, l);
        }
    }

    fn up_to_date(&mut self, cx: &mut Ctx<'_>, link: LinkId) {
        cx.send(link, Zab::UpToDate);
        if let Some(h) = self.handlers.get_mut(&link) {
            h.state = HState::Active;
            h.ack_deadline = cx.now + cx.timing.sync_ms();
            for m in std::mem::take(&mut h.held_commits) {
                cx.out.push_back(ZabOut::Send(link, m));
            }
        }
        self.try_start_round(cx);
    }

    /// An epoch file the leader asked for is durable.
    pub(crate) fn epoch_written(&mut self, cx: &mut Ctx<'_>, file: EpochFile, epoch: u32) {
        if self.epoch != Some(epoch) {
            return;
        }
        match file {
            EpochFile::Accepted => {
                cx.disk.accepted_epoch = epoch;
                self.accepted_written = true;
                self.phase = LeaderPhase::EpochAck;
                self.wait_deadline = cx.now + cx.timing.init_ms();
                // The leader's own ACKEPOCH.
                self.electing.insert(cx.my_id);
                self.leader_info_to_waiting(cx);
                self.check_epoch_ack_quorum(cx);
            }
            EpochFile::Current => {
                cx.disk.current_epoch = epoch;
                self.newleader_acks.insert(cx.my_id);
                self.check_newleader_quorum(cx);
            }
        }
    }

    /// Proposes a transaction the core prepared.
    pub(crate) fn propose(&mut self, cx: &mut Ctx<'_>, txn: Txn) {
        let z = txn.zxid();
        let reconfig = reconfig_config(&txn);
        if let Some(qv) = &reconfig {
            tracing::info!(zxid = %z, version = qv.version(), "proposing a reconfiguration");
            self.pending_config = Some(qv.clone());
        }
        let mut quorums = vec![self.current_voters(cx)];
        if let Some(p) = &self.pending_config {
            quorums.push(p.voters());
        }
        cx.disk_op(DiskOp::Append(txn.clone()));
        for (l, h) in &mut self.handlers {
            if h.forwarding && !h.observer {
                cx.out
                    .push_back(ZabOut::Send(*l, Zab::Proposal(txn.clone())));
                h.unacked.push_back((z, cx.now));
            }
        }
        self.outstanding.insert(
            z,
            Outstanding {
                txn,
                acks: BTreeSet::new(),
                quorums,
                reconfig,
            },
        );
        self.try_commit(cx);
    }

    /// The leader's own log is durable up to `zxid`: its ACK of those proposals.
    pub(crate) fn synced(&mut self, cx: &mut Ctx<'_>, zxid: Zxid) {
        let me = cx.my_id;
        for (_, o) in self.outstanding.range_mut(..=zxid) {
            o.acks.insert(me);
        }
        self.try_commit(cx);
    }

    /// A learner's forwarded sync can be answered.
    pub(crate) fn sync_done(&mut self, cx: &mut Ctx<'_>, learner: i64) {
        if let Some((l, _)) = self
            .handlers
            .iter()
            .find(|(_, h)| h.sid == learner && h.state == HState::Active)
        {
            cx.send(*l, Zab::Sync);
        }
    }

    /// The core wants its syncs' leadership confirmed (`quorumSync`): starts a round now, or
    /// when one in flight ends.
    pub(crate) fn confirm_leadership(&mut self, cx: &mut Ctx<'_>) {
        self.round_wanted = true;
        self.try_start_round(cx);
    }

    /// Starts the round that was asked for, if there is room and a quorum of voters in
    /// broadcast could answer it.
    fn try_start_round(&mut self, cx: &mut Ctx<'_>) {
        if !self.round_wanted
            || self.phase != LeaderPhase::Broadcast
            || self.rounds.len() >= ROUNDS_IN_FLIGHT
        {
            return;
        }
        let mut active = BTreeSet::from([cx.my_id]);
        for h in self.handlers.values() {
            if h.state == HState::Active && !h.observer {
                active.insert(h.sid);
            }
        }
        if cx.ensemble.has_quorum(&active) {
            self.start_round(cx);
        }
    }

    /// Sends a round's PINGs and checks it at once (a leader that is a quorum by itself needs
    /// no answer).
    fn start_round(&mut self, cx: &mut Ctx<'_>) {
        self.round_wanted = false;
        let id = cx.core.leadership_round_started();
        let last = cx.core.last_proposed();
        let mut need = Vec::new();
        for (l, h) in &mut self.handlers {
            if h.state != HState::Active || h.observer || !cx.ensemble.is_voter(h.sid) {
                continue;
            }
            cx.out.push_back(h.ping(*l, last));
            need.push((*l, h.sid, h.pings_sent));
        }
        self.rounds.push_back(Round { id, need });
        self.check_rounds(cx);
    }

    /// Confirms the newest round a quorum answered (and every older one with it), then starts
    /// the round that was waiting for room.
    fn check_rounds(&mut self, cx: &mut Ctx<'_>) {
        let answered = |r: &Round, handlers: &BTreeMap<LinkId, Handler>| {
            let mut q = BTreeSet::from([cx.my_id]);
            for (l, sid, n) in &r.need {
                if handlers.get(l).is_some_and(|h| h.pings_heard >= *n) {
                    q.insert(*sid);
                }
            }
            cx.ensemble.has_quorum(&q)
        };
        let Some(done) = self
            .rounds
            .iter()
            .rposition(|r| answered(r, &self.handlers))
        else {
            return;
        };
        let id = self.rounds[done].id;
        self.rounds.drain(..=done);
        cx.core.leadership_confirmed(cx.now, id);
        self.try_start_round(cx);
    }

    /// Hands leadership to `target` (None: the most up-to-date voting follower, the one with
    /// the fewest proposals unacknowledged, the highest id among equals). Returns its id.
    ///
    /// # Errors
    /// Not serving, a transfer under way already, or no such follower in broadcast.
    pub(crate) fn transfer(
        &mut self,
        cx: &mut Ctx<'_>,
        target: Option<i64>,
    ) -> Result<i64, String> {
        if self.phase != LeaderPhase::Broadcast {
            return Err("the leader is not serving yet".into());
        }
        if let Some(t) = self.transfer {
            return Err(format!(
                "a leadership transfer to server {} is under way",
                t.target
            ));
        }
        let candidates: Vec<&Handler> = self
            .handlers
            .values()
            .filter(|h| h.state == HState::Active && !h.observer && cx.ensemble.is_voter(h.sid))
            .collect();
        let chosen = match target {
            Some(t) => candidates.iter().find(|h| h.sid == t).map(|h| h.sid),
            None => candidates
                .iter()
                .min_by_key(|h| (h.unacked.len(), std::cmp::Reverse(h.sid)))
                .map(|h| h.sid),
        };
        let Some(to) = chosen else {
            return Err(match target {
                Some(t) => format!("server {t} is not a voting follower in sync with the leader"),
                None => "no voting follower is in sync with the leader".into(),
            });
        };
        tracing::info!(to, "handing leadership over");
        cx.core.freeze_proposals();
        self.transfer = Some(Transfer {
            target: to,
            noop: None,
            deadline: cx.now + cx.timing.sync_ms(),
        });
        self.check_transfer(cx);
        Ok(to)
    }

    /// Moves a transfer on: once nothing is outstanding and the target acknowledged it all,
    /// the no-op goes to the target.
    fn check_transfer(&mut self, cx: &mut Ctx<'_>) {
        let Some(t) = self.transfer else { return };
        if t.noop.is_some() || !self.outstanding.is_empty() {
            return;
        }
        let Some((link, h)) = self.handlers.iter_mut().find(|(_, h)| h.sid == t.target) else {
            return self.stop(cx, format!("leadership transfer: server {} left", t.target));
        };
        if !h.unacked.is_empty() {
            return;
        }
        let Some(zxid) = cx.core.next_free_zxid() else {
            return self.stop(cx, "leadership transfer: the epoch is exhausted".into());
        };
        let noop = Txn {
            header: zk_core::txn::TxnHeader {
                client_id: zk_core::SessionId(0),
                cxid: 0,
                zxid,
                time: cx.now,
                txn_type: zk_core::OpCode::Error.as_i32(),
            },
            body: zk_core::txn::TxnBody::Error(zk_core::txn::ErrorTxn { err: 0 }),
        };
        h.unacked.push_back((zxid, cx.now));
        cx.out.push_back(ZabOut::Send(*link, Zab::Proposal(noop)));
        self.transfer = Some(Transfer {
            noop: Some(zxid),
            ..t
        });
    }

    /// `processAck`.
    fn ack(&mut self, cx: &mut Ctx<'_>, sid: i64, z: Zxid) {
        if z.counter() == 0 {
            return;
        }
        if let Some(h) = self.handlers.values_mut().find(|h| h.sid == sid) {
            while h.unacked.front().is_some_and(|(u, _)| *u <= z) {
                h.unacked.pop_front();
            }
        }
        if let Some(t) = self.transfer {
            if t.target == sid && t.noop == Some(z) {
                tracing::info!(to = sid, zxid = %z, "leadership handed over: stepping down");
                cx.out.push_back(ZabOut::Yield { to: sid, zxid: z });
                return;
            }
            if t.target == sid {
                self.check_transfer(cx);
            }
        }
        // Counted only in the configs where the sid votes (a non-voting follower's ACK counts
        // in none).
        if let Some(o) = self.outstanding.get_mut(&z) {
            o.acks.insert(sid);
            self.try_commit(cx);
        }
    }

    /// Commits, in zxid order, every proposal at the front that a quorum acknowledged.
    fn try_commit(&mut self, cx: &mut Ctx<'_>) {
        while let Some(entry) = self.outstanding.first_entry() {
            if !self.allowed_to_commit || !entry.get().has_all_quorums() {
                return;
            }
            let o = entry.remove();
            let txn = o.txn;
            let z = txn.zxid();
            let designated = o
                .reconfig
                .as_ref()
                .map(|qv| self.designated_leader(cx, qv, &o.acks, z));
            for (l, h) in &mut self.handlers {
                if !h.forwarding {
                    continue;
                }
                let m = match (h.observer, designated) {
                    (true, None) => Zab::Inform(txn.clone()),
                    (true, Some(d)) => Zab::InformAndActivate {
                        txn: txn.clone(),
                        designated_leader: d,
                    },
                    (false, None) => Zab::Commit(z),
                    (false, Some(d)) => Zab::CommitAndActivate {
                        zxid: z,
                        designated_leader: d,
                    },
                };
                if !h.observer && matches!(h.state, HState::WaitNewLeaderAck | HState::WaitStartup)
                {
                    h.held_commits.push(m);
                    continue;
                }
                cx.out.push_back(ZabOut::Send(*l, m));
            }
            cx.core.commit(cx.now, &txn.header, &txn.body);
            cx.log.push(txn);
            if let (Some(qv), Some(d)) = (o.reconfig, designated) {
                self.pending_config = None;
                self.activated = Some(qv.clone());
                tracing::info!(zxid = %z, version = qv.version(), designated = d, "reconfiguration committed");
                cx.out.push_back(ZabOut::Activate {
                    config: qv,
                    designated_leader: d,
                    zxid: z,
                });
                if d != cx.my_id {
                    // Another member leads under the new config: commit nothing more and
                    // hand over (the followers, told the same, look for it too).
                    self.allowed_to_commit = false;
                    cx.out.push_back(ZabOut::Yield { to: d, zxid: z });
                    return;
                }
            }
        }
        if self.transfer.is_some() {
            self.check_transfer(cx);
        }
    }

    /// The voters of the current config: the last reconfig committed, until the peer's
    /// config (`cx.ensemble`) is as new.
    fn current_voters(&mut self, cx: &Ctx<'_>) -> BTreeSet<i64> {
        match &self.activated {
            Some(qv) if qv.version() > cx.ensemble.config_version => qv.voters(),
            _ => {
                self.activated = None;
                cx.ensemble.voters.clone()
            }
        }
    }

    /// `Leader.getDesignatedLeader`: this leader if it votes in the new config (its quorum
    /// address is the driver's: a changed address is a new member line, handed over below);
    /// otherwise the new config's voter that acknowledged the reconfig and the most of the
    /// proposals after it, the highest sid among equals.
    fn designated_leader(
        &self,
        cx: &Ctx<'_>,
        qv: &QuorumVerifier,
        acks: &BTreeSet<i64>,
        zxid: Zxid,
    ) -> i64 {
        let me_same = qv.is_voter(cx.my_id)
            && match (qv.member(cx.my_id), cx.verifier.member(cx.my_id)) {
                (Some(new), Some(old)) => old.quorum_addr().same_as(&new.quorum_addr()),
                _ => true,
            };
        if me_same {
            return cx.my_id;
        }
        let mut candidates: BTreeSet<i64> = acks
            .iter()
            .copied()
            .filter(|s| *s != cx.my_id && qv.is_voter(*s))
            .collect();
        let Some(mut best) = candidates.iter().next_back().copied() else {
            return cx.my_id;
        };
        for (_, o) in self.outstanding.range(zxid.next()..) {
            candidates.retain(|s| o.acks.contains(s));
            match candidates.iter().next_back() {
                None => break,
                Some(s) => best = *s,
            }
            if candidates.len() == 1 {
                break;
            }
        }
        best
    }

    /// The next time the leader must act.
    pub(crate) fn deadline(&self) -> i64 {
        let mut d = if self.phase == LeaderPhase::Broadcast {
            self.next_ping
        } else {
            self.wait_deadline
        };
        if let Some(t) = self.transfer {
            d = d.min(t.deadline + 1);
        }
        for h in self.handlers.values() {
            d = d.min(h.read_deadline);
        }
        d
    }

    /// Timeouts: quorum waits, learner read timeouts, pings and the in-sync check.
    pub(crate) fn tick(&mut self, cx: &mut Ctx<'_>) {
        let now = cx.now;
        if let Some(t) = self.transfer.filter(|t| now > t.deadline) {
            let why = format!("leadership transfer to server {} timed out", t.target);
            return self.stop(cx, why);
        }
        let late: Vec<LinkId> = self
            .handlers
            .iter()
            .filter(|(_, h)| now > h.read_deadline)
            .map(|(l, _)| *l)
            .collect();
        for l in late {
            self.close(cx, l, "read timed out");
        }
        if self.phase != LeaderPhase::Broadcast {
            if now > self.wait_deadline {
                let why = match self.phase {
                    LeaderPhase::Discovery => "timeout while waiting for epoch from quorum",
                    LeaderPhase::EpochAck => {
                        "timeout while waiting for epoch to be acked by quorum"
                    }
                    _ => "timeout while waiting for NEWLEADER to be acked by quorum",
                };
                self.stop(cx, why.to_owned());
            }
            return;
        }
        if now < self.next_ping {
            return;
        }
        self.next_ping = now + cx.timing.tick_ms / 2;
        if !self.ping_skip {
            let mut synced: BTreeSet<i64> = BTreeSet::from([cx.my_id]);
            for h in self.handlers.values() {
                if now <= h.ack_deadline && h.sid >= 0 {
                    synced.insert(h.sid);
                }
            }
            if !cx.ensemble.has_quorum(&synced) {
                let why =
                    format!("not sufficient followers synced, only synced with sids: {synced:?}");
                self.stop(cx, why);
                return;
            }
        }
        self.ping_skip = !self.ping_skip;
        let last = cx.core.last_proposed();
        let sync_ms = cx.timing.sync_ms();
        let mut stale = Vec::new();
        for (l, h) in &mut self.handlers {
            if h.state != HState::Active {
                continue;
            }
            if h.unacked.front().is_some_and(|(_, at)| now - at > sync_ms) {
                stale.push(*l);
                continue;
            }
            cx.out.push_back(h.ping(*l, last));
        }
        for l in stale {
            self.close(cx, l, "proposal not acknowledged within syncLimit");
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeSet, VecDeque};

    use super::*;
    use crate::core::{Core, CoreConfig};
    use crate::quorum::ctx::{DiskState, Ensemble, ZabTiming};
    use crate::quorum::disk::CommittedLog;
    use crate::quorum::zab::LearnerInfo;

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
                    accepted_epoch: 2,
                    current_epoch: 2,
                    last_appended: Zxid::new(2, 5),
                    synced: Zxid::new(2, 5),
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

        fn cx(&mut self, now: i64) -> Ctx<'_> {
            Ctx {
                now,
                my_id: 1,
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
    }

    fn info(sid: i64, accepted_epoch: u32) -> Zab {
        Zab::FollowerInfo {
            accepted_epoch,
            info: LearnerInfo {
                server_id: sid,
                protocol_version: PROTOCOL_VERSION,
                config_version: 0,
            },
        }
    }

    #[test]
    fn the_epoch_is_one_more_than_the_largest_accepted_and_written_before_leaderinfo() {
        let mut f = Fixture::new();
        let mut l = Leader::start(&mut f.cx(0));
        l.accepted(&mut f.cx(0), LinkId(1));
        l.message(&mut f.cx(1), LinkId(1), info(2, 4));
        assert_eq!(l.epoch(), Some(5));
        let outs: Vec<_> = f.out.drain(..).collect();
        assert!(
            matches!(
                &outs[..],
                [ZabOut::Disk(DiskOp::WriteEpoch {
                    file: EpochFile::Accepted,
                    epoch: 5
                })]
            ),
            "LEADERINFO waits for the durable acceptedEpoch: {outs:?}"
        );
        l.epoch_written(&mut f.cx(2), EpochFile::Accepted, 5);
        let outs: Vec<_> = f.out.drain(..).collect();
        assert!(matches!(
            &outs[..],
            [ZabOut::Send(LinkId(1), Zab::LeaderInfo { epoch: 5, .. })]
        ));
    }

    #[test]
    fn a_member_that_accepted_a_newer_epoch_makes_the_leader_step_down() {
        let mut f = Fixture::new();
        let mut l = Leader::start(&mut f.cx(0));
        l.accepted(&mut f.cx(0), LinkId(1));
        l.message(&mut f.cx(1), LinkId(1), info(2, 2));
        l.epoch_written(&mut f.cx(2), EpochFile::Accepted, 3);
        f.out.clear();
        // Member 3 accepted epoch 4 from a leader that never established it.
        l.accepted(&mut f.cx(3), LinkId(2));
        l.message(&mut f.cx(3), LinkId(2), info(3, 4));
        assert!(
            f.out.iter().any(|o| matches!(o, ZabOut::Stop(_))),
            "{:?}",
            f.out
        );
    }

    /// A leader of epoch 3 serving with followers 2 (link 1) and 3 (link 2).
    fn broadcasting(f: &mut Fixture, quorum_sync: bool) -> Leader {
        f.core = Core::new(
            CoreConfig {
                quorum_sync,
                ..CoreConfig::default()
            },
            0,
        );
        let mut l = Leader::start(&mut f.cx(0));
        for (link, sid) in [(1, 2), (2, 3)] {
            l.accepted(&mut f.cx(0), LinkId(link));
            l.message(&mut f.cx(0), LinkId(link), info(sid, 2));
        }
        l.epoch_written(&mut f.cx(0), EpochFile::Accepted, 3);
        for link in [1, 2] {
            let ack = Zab::AckEpoch {
                last_zxid: Zxid(0),
                current_epoch: 2,
            };
            l.message(&mut f.cx(0), LinkId(link), ack);
        }
        l.epoch_written(&mut f.cx(0), EpochFile::Current, 3);
        for link in [1, 2] {
            l.message(&mut f.cx(0), LinkId(link), Zab::Ack(Zxid::new(3, 0)));
        }
        assert_eq!(l.phase(), LeaderPhase::Broadcast);
        f.out.clear();
        l
    }

    /// A reconfig transaction installing `text` (QV text) at `zxid`.
    fn reconfig_txn(zxid: Zxid, text: &str) -> Txn {
        Txn {
            header: zk_core::txn::TxnHeader {
                client_id: zk_core::SessionId(9),
                cxid: 1,
                zxid,
                time: 0,
                txn_type: zk_core::OpCode::Reconfig.as_i32(),
            },
            body: zk_core::txn::TxnBody::SetData(zk_core::txn::SetDataTxn {
                path: "/zookeeper/config".into(),
                data: Some(text.as_bytes().to_vec().into()),
                version: -1,
            }),
        }
    }

    fn sent(f: &mut Fixture) -> Vec<(LinkId, Zab)> {
        f.out
            .drain(..)
            .filter_map(|o| match o {
                ZabOut::Send(l, m) => Some((l, m)),
                _ => None,
            })
            .collect()
    }

    /// Removing server 3 from {1, 2, 3}: the reconfig and what follows it need a quorum of
    /// both configs ({1, 3} is one of the old, not of the new), and its commit is a
    /// COMMITANDACTIVATE naming this leader, which stays.
    #[test]
    fn a_reconfig_needs_both_quorums_and_commits_with_activation() {
        let mut f = Fixture::new();
        let mut l = broadcasting(&mut f, false);
        let z = Zxid::new(3, 1);
        let next = "server.1=127.0.0.1:2001:3001\nserver.2=127.0.0.1:2002:3002\nversion=300000001";
        l.propose(&mut f.cx(1), reconfig_txn(z, next));
        l.synced(&mut f.cx(1), z);
        l.message(&mut f.cx(1), LinkId(2), Zab::Ack(z));
        assert_eq!(l.outstanding(), 1, "{{1, 3}} is no quorum of {{1, 2}}");
        sent(&mut f);
        l.message(&mut f.cx(2), LinkId(1), Zab::Ack(z));
        assert_eq!(l.outstanding(), 0);
        let out = std::mem::take(&mut f.out);
        let activations: Vec<(LinkId, i64)> = out
            .iter()
            .filter_map(|o| match o {
                ZabOut::Send(
                    link,
                    Zab::CommitAndActivate {
                        zxid,
                        designated_leader,
                    },
                ) => {
                    assert_eq!(*zxid, z);
                    Some((*link, *designated_leader))
                }
                _ => None,
            })
            .collect();
        assert_eq!(activations, [(LinkId(1), 1), (LinkId(2), 1)]);
        assert!(out.iter().any(|o| matches!(o,
            ZabOut::Activate { config, designated_leader: 1, zxid } if *zxid == z
                && config.voters() == BTreeSet::from([1, 2]))));
        assert!(!out.iter().any(|o| matches!(o, ZabOut::Yield { .. })));
    }

    /// Removing the leader (1): another voter of the new config is designated, the one that
    /// acknowledged the most after the reconfig, and the leader hands over and commits
    /// nothing more.
    #[test]
    fn a_leader_removed_designates_the_most_up_to_date_voter_and_hands_over() {
        let mut f = Fixture::new();
        let mut l = broadcasting(&mut f, false);
        let z = Zxid::new(3, 1);
        let next = "server.2=127.0.0.1:2002:3002\nserver.3=127.0.0.1:2003:3003\nversion=300000001";
        l.propose(&mut f.cx(1), reconfig_txn(z, next));
        let after = Txn {
            header: zk_core::txn::TxnHeader {
                zxid: z.next(),
                txn_type: zk_core::OpCode::Error.as_i32(),
                ..reconfig_txn(z, next).header
            },
            body: zk_core::txn::TxnBody::Error(zk_core::txn::ErrorTxn { err: 0 }),
        };
        l.propose(&mut f.cx(1), after);
        l.synced(&mut f.cx(1), z.next());
        // Server 3 (link 2) acknowledged both, server 2 only the reconfig.
        l.message(&mut f.cx(1), LinkId(2), Zab::Ack(z.next()));
        l.message(&mut f.cx(1), LinkId(2), Zab::Ack(z));
        assert_eq!(l.outstanding(), 2, "{{1, 3}} is no quorum of {{2, 3}}");
        f.out.clear();
        l.message(&mut f.cx(2), LinkId(1), Zab::Ack(z));
        let out = std::mem::take(&mut f.out);
        assert!(out.iter().any(|o| matches!(
            o,
            ZabOut::Send(
                _,
                Zab::CommitAndActivate {
                    designated_leader: 3,
                    ..
                }
            )
        )));
        assert!(out.iter().any(|o| matches!(o, ZabOut::Yield { to: 3, .. })));
        // The proposal after the reconfig is not committed by this leader.
        l.message(&mut f.cx(3), LinkId(1), Zab::Ack(z.next()));
        assert_eq!(l.outstanding(), 1);
    }

    fn pings(f: &mut Fixture) -> Vec<LinkId> {
        f.out
            .drain(..)
            .filter_map(|o| match o {
                ZabOut::Send(l, Zab::Ping { .. }) => Some(l),
                _ => None,
            })
            .collect()
    }

    fn answer(l: &mut Leader, f: &mut Fixture, link: u64) {
        let ping = Zab::Ping {
            zxid: Zxid::new(3, 0),
            touches: Vec::new(),
        };
        l.message(&mut f.cx(10), LinkId(link), ping);
    }

    #[test]
    fn a_confirmation_round_counts_only_answers_to_its_own_pings() {
        let mut f = Fixture::new();
        let mut l = broadcasting(&mut f, true);
        // A regular PING goes out and is not answered yet.
        l.tick(&mut f.cx(60));
        assert_eq!(pings(&mut f), [LinkId(1), LinkId(2)]);
        l.confirm_leadership(&mut f.cx(61));
        assert_eq!(pings(&mut f), [LinkId(1), LinkId(2)], "the round's PINGs");
        assert_eq!(f.core.pipe.round_started, 1);
        // Both followers answer the older PING: that says nothing about the round.
        answer(&mut l, &mut f, 1);
        answer(&mut l, &mut f, 2);
        assert_eq!(f.core.pipe.round_confirmed, 0);
        // One answer to the round's PING makes a quorum with the leader.
        answer(&mut l, &mut f, 2);
        assert_eq!(f.core.pipe.round_confirmed, 1);
    }

    #[test]
    fn a_leader_whose_followers_left_confirms_no_round() {
        let mut f = Fixture::new();
        let mut l = broadcasting(&mut f, true);
        l.closed(&mut f.cx(5), LinkId(1));
        l.closed(&mut f.cx(5), LinkId(2));
        l.confirm_leadership(&mut f.cx(6));
        assert!(pings(&mut f).is_empty());
        assert_eq!(f.core.pipe.round_confirmed, 0, "no quorum, no confirmation");
    }

    #[test]
    fn a_round_whose_learners_reconnected_is_dropped_and_the_next_one_confirms() {
        let mut f = Fixture::new();
        let mut l = broadcasting(&mut f, true);
        l.confirm_leadership(&mut f.cx(1));
        assert_eq!(pings(&mut f).len(), 2);
        // Follower 2 (link 1) goes away: follower 3 alone can still confirm the round.
        l.closed(&mut f.cx(2), LinkId(1));
        assert_eq!(f.core.pipe.round_started, 1, "the round still stands");
        // Follower 3 goes too: the round can never be confirmed, and no quorum is left to
        // start another one.
        l.closed(&mut f.cx(3), LinkId(2));
        assert_eq!(f.core.pipe.round_started, 1);
        // Follower 2 comes back on a new link; once it is in broadcast the next round starts.
        l.accepted(&mut f.cx(4), LinkId(3));
        l.message(&mut f.cx(4), LinkId(3), info(2, 3));
        let ack = Zab::AckEpoch {
            last_zxid: Zxid::new(3, 0),
            current_epoch: 3,
        };
        l.message(&mut f.cx(4), LinkId(3), ack);
        l.message(&mut f.cx(4), LinkId(3), Zab::Ack(Zxid::new(3, 0)));
        assert_eq!(
            f.core.pipe.round_started, 2,
            "a new round once a quorum is back"
        );
        assert_eq!(pings(&mut f), [LinkId(3)]);
        answer(&mut l, &mut f, 3);
        assert_eq!(f.core.pipe.round_confirmed, 2);
    }

    #[test]
    fn rounds_asked_for_while_two_are_in_flight_start_when_one_ends() {
        let mut f = Fixture::new();
        let mut l = broadcasting(&mut f, true);
        l.confirm_leadership(&mut f.cx(1));
        l.confirm_leadership(&mut f.cx(2));
        l.confirm_leadership(&mut f.cx(3));
        assert_eq!(pings(&mut f).len(), 4, "two rounds of two PINGs");
        assert_eq!(f.core.pipe.round_started, 2);
        answer(&mut l, &mut f, 1);
        assert_eq!(f.core.pipe.round_confirmed, 1);
        assert_eq!(f.core.pipe.round_started, 3, "the waiting round started");
        assert_eq!(pings(&mut f).len(), 2);
        answer(&mut l, &mut f, 1);
        answer(&mut l, &mut f, 1);
        assert_eq!(f.core.pipe.round_confirmed, 3);
    }
}
