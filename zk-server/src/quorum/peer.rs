//! One ensemble member (`QuorumPeer`), sans-IO: the core, the election, and the Zab role it
//! plays, wired together.
//!
//! The peer looks for a leader (Fast Leader Election), then leads, follows or observes until
//! the role ends (the leader lost its quorum, the learner lost its leader, a protocol error),
//! and looks again. Before each election it waits for its disk to finish every write it was
//! given, then replays into the tree the proposals it logged but never saw committed, as
//! Apache ZooKeeper's `fastForwardDataBase` does: the tree it votes with is exactly what its
//! disk holds.
//!
//! Inputs are calls with the current time (`now_ms`, monotonic); outputs come out of
//! [`Peer::poll_output`]; [`Peer::poll_timeout`] says when to call [`Peer::tick`].

use std::collections::VecDeque;
use std::net::SocketAddr;

use zk_core::proto::ConnectRequest;
use zk_core::Zxid;

use super::ctx::{Ctx, DiskState, Ensemble, ZabOut, ZabTiming};
use super::disk::{CommittedLog, DiskDone, DiskOp};
use super::election::{Delivery, Election, ElectionTiming, Output as ElectionOutput};
use super::leader::Leader;
use super::learner::Learner;
use super::notification::{Notification, ToSend};
use super::verifier::QuorumVerifier;
use super::vote::ServerState;
use super::zab::{LinkId, Txn, Zab};
use crate::core::{ConnId, Core, CoreMode, Output, ToReplicate};

/// A member's settings.
#[derive(Debug, Clone)]
pub struct PeerConfig {
    /// myid.
    pub my_id: i64,
    /// The quorum configuration.
    pub verifier: QuorumVerifier,
    /// Zab's timing and limits.
    pub timing: ZabTiming,
    /// The election's timing.
    pub election: ElectionTiming,
    /// zoo.cfg `standaloneEnabled` (a reconfig must then leave at least 2 voters).
    pub standalone_enabled: bool,
    /// `zookeeper.multiAddress.enabled`.
    pub multi_address: bool,
}

/// What a member starts from: its recovered tree and epoch files.
#[derive(Debug)]
pub struct Boot {
    /// The tree recovered from the snapshot and the log.
    pub tree: crate::core::DataTree,
    /// `acceptedEpoch`.
    pub accepted_epoch: u32,
    /// `currentEpoch`.
    pub current_epoch: u32,
    /// The last transactions replayed at recovery (at most commitLogCount), oldest first:
    /// they seed the committed log, so a new leader can DIFF at once.
    pub recent: Vec<Txn>,
}

/// Something the driver must do.
#[derive(Debug)]
#[non_exhaustive]
pub enum PeerOutput {
    /// A client connection's output.
    Client(Output),
    /// Send an election notification.
    Election(ToSend),
    /// Connect to every member's election port (nothing could be delivered).
    ElectionConnectAll,
    /// Open a quorum link to `sid`.
    QuorumConnect {
        /// The link.
        link: LinkId,
        /// The member.
        sid: i64,
    },
    /// Send on a quorum link.
    QuorumSend {
        /// The link.
        link: LinkId,
        /// The message.
        msg: Zab,
    },
    /// Close a quorum link.
    QuorumClose {
        /// The link.
        link: LinkId,
    },
    /// A disk operation (in order).
    Disk(DiskOp),
    /// The member's state changed.
    State(ServerState),
    /// The member cannot go on (its disk failed).
    Fatal(String),
    /// A new config is active (a reconfig committed, or a newer config was learned): the
    /// driver dials members at its addresses and writes the dynamic config file.
    Config(QuorumVerifier),
}

/// The role being played.
#[derive(Debug)]
enum Role {
    /// Electing (or waiting for the disk before electing).
    Looking,
    Leading(Leader),
    Following(Learner),
    Observing(Learner),
}

/// One ensemble member.
#[derive(Debug)]
pub struct Peer {
    cfg: PeerConfig,
    ensemble: Ensemble,
    core: Core,
    log: CommittedLog,
    disk: DiskState,
    election: Election,
    role: Role,
    /// Waiting for this barrier before the election starts, with the proposals to replay.
    draining: Option<(u64, Vec<Txn>)>,
    zout: VecDeque<ZabOut>,
    out: VecDeque<PeerOutput>,
    next_link: u64,
    next_token: u64,
    delivery: Delivery,
    fatal: bool,
    /// When the last election started, and how long the last one took (ms).
    election_started: i64,
    last_election_ms: i64,
    /// `readonlymode.enabled`: when a looking member starts serving read-only clients.
    read_only_at: Option<i64>,
    /// The next election's first vote, when this member handed its leadership over: the new
    /// leader and its last logged zxid.
    vote_for: Option<(i64, Zxid)>,
    /// The config changed since the election was made: the next one is made anew.
    config_changed: bool,
}

impl Peer {
    /// A member over its recovered state; it starts looking for a leader at once.
    pub fn new(cfg: PeerConfig, core: Core, boot: Boot, now_ms: i64) -> Peer {
        let ensemble = Ensemble::of(&cfg.verifier);
        let mut core = core;
        core.set_mode(now_ms, CoreMode::NotServing, 0);
        core.replace_tree(boot.tree);
        // The config node as the config files say, unless the recovered log holds a newer
        // reconfig (never activated here: the member crashed first); the tree keeps that one,
        // and a leader elected with it activates it (`Leader::start`).
        if core.newer_logged_config(ensemble.config_version).is_none() {
            core.set_config_node(&ensemble.config_text, ensemble.config_version, now_ms);
        }
        let mut log = CommittedLog::new(cfg.timing.commit_log_count);
        for t in boot.recent {
            log.push_replayed(t);
        }
        let last = core.tree().last_zxid();
        let election = Election::new(cfg.my_id, &cfg.verifier, cfg.election);
        let mut p = Peer {
            cfg,
            ensemble,
            core,
            log,
            disk: DiskState {
                accepted_epoch: boot.accepted_epoch,
                current_epoch: boot.current_epoch,
                last_appended: last,
                synced: last,
            },
            election,
            role: Role::Looking,
            draining: None,
            zout: VecDeque::new(),
            out: VecDeque::new(),
            next_link: LinkId::OUTGOING,
            next_token: 0,
            delivery: Delivery::Delivered,
            fatal: false,
            election_started: now_ms,
            last_election_ms: 0,
            read_only_at: None,
            vote_for: None,
            config_changed: false,
        };
        p.start_election(now_ms);
        p.pump(now_ms);
        p
    }

    /// Hands leadership to `target` (None: the most up-to-date voting follower): the `ydld`
    /// four-letter word. Returns the answer to print.
    pub fn yield_leadership(&mut self, now_ms: i64, target: Option<i64>) -> String {
        let mut answer = String::new();
        let leader = self.leader();
        self.with_role(now_ms, |role, cx| {
            answer = match role {
                Role::Leading(l) => match l.transfer(cx, target) {
                    Ok(to) => format!("Handing leadership over to server {to}\n"),
                    Err(why) => format!("Leadership not handed over: {why}\n"),
                },
                _ => match leader {
                    Some(l) => format!("This server is not the leader: server {l} is\n"),
                    None => "This server is not the leader: there is none\n".to_string(),
                },
            };
        });
        self.pump(now_ms);
        answer
    }

    /// The core (tree, sessions, connections).
    pub fn core(&self) -> &Core {
        &self.core
    }

    /// The member's id.
    pub fn my_id(&self) -> i64 {
        self.cfg.my_id
    }

    /// The state: LOOKING, LEADING, FOLLOWING or OBSERVING.
    pub fn state(&self) -> ServerState {
        match self.role {
            Role::Looking => ServerState::Looking,
            Role::Leading(_) => ServerState::Leading,
            Role::Following(_) => ServerState::Following,
            Role::Observing(_) => ServerState::Observing,
        }
    }

    /// True while the member serves clients as part of a quorum.
    pub fn serving(&self) -> bool {
        matches!(self.core.mode(), CoreMode::Leader | CoreMode::Learner)
    }

    /// True while the member, looking for a quorum, serves read-only clients
    /// (`readonlymode.enabled`).
    pub fn read_only(&self) -> bool {
        self.core.mode() == CoreMode::ReadOnly
    }

    /// The leader this member follows or observes (itself when leading).
    pub fn leader(&self) -> Option<i64> {
        match &self.role {
            Role::Looking => None,
            Role::Leading(_) => Some(self.cfg.my_id),
            Role::Following(l) | Role::Observing(l) => Some(l.leader()),
        }
    }

    /// The leader state machine, when leading.
    pub fn leader_state(&self) -> Option<&Leader> {
        match &self.role {
            Role::Leading(l) => Some(l),
            _ => None,
        }
    }

    /// The epochs and the disk's progress.
    pub fn disk_state(&self) -> DiskState {
        self.disk
    }

    /// How long the last election took (ms).
    pub fn last_election_ms(&self) -> i64 {
        self.last_election_ms
    }

    /// The election (votes, round).
    pub fn election(&self) -> &Election {
        &self.election
    }

    /// The ensemble as this member sees it.
    pub fn ensemble(&self) -> &Ensemble {
        &self.ensemble
    }

    /// The next output.
    #[must_use]
    pub fn poll_output(&mut self) -> Option<PeerOutput> {
        self.out.pop_front()
    }

    /// When [`tick`](Self::tick) must be called next.
    pub fn poll_timeout(&self) -> Option<i64> {
        let role = match &self.role {
            Role::Looking => self.read_only_at,
            Role::Leading(l) => Some(l.deadline()),
            Role::Following(l) | Role::Observing(l) => Some(l.deadline()),
        };
        match (self.election.poll_timeout(), role) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Whether the election port delivered the last notifications (`haveDelivered`).
    pub fn set_delivery(&mut self, delivered: bool) {
        self.delivery = if delivered {
            Delivery::Delivered
        } else {
            Delivery::Undelivered
        };
    }

    /// Timers: the election's, the role's.
    pub fn tick(&mut self, now_ms: i64) {
        if self.election.poll_timeout().is_some_and(|t| now_ms >= t) {
            self.election.handle_timeout(now_ms, self.delivery);
        }
        self.with_role(now_ms, |role, cx| match role {
            Role::Leading(l) => l.tick(cx),
            Role::Following(l) | Role::Observing(l) => l.tick(cx),
            Role::Looking => {}
        });
        if matches!(self.role, Role::Looking) && self.read_only_at.is_some_and(|t| now_ms >= t) {
            self.read_only_at = None;
            if self.core.mode() == CoreMode::NotServing {
                tracing::info!(
                    my_id = self.cfg.my_id,
                    "no quorum: serving read-only clients"
                );
                self.core.set_mode(now_ms, CoreMode::ReadOnly, 0);
            }
        }
        self.pump(now_ms);
    }

    /// Session expiry (call at tickTime boundaries): only a leader expires sessions.
    pub fn expire_sessions(&mut self, now_ms: i64) {
        self.core.tick(now_ms);
        self.pump(now_ms);
    }

    /// The container and TTL reaper (only a leader reaps).
    pub fn reap(&mut self, now_ms: i64, limit: usize) {
        self.core.reap(now_ms, limit);
        self.pump(now_ms);
    }

    /// A client connected.
    pub fn client_accept(&mut self, now_ms: i64, conn: ConnId, remote: SocketAddr) {
        self.core.accept(now_ms, conn, remote);
        self.pump(now_ms);
    }

    /// A client's handshake.
    pub fn client_connect(&mut self, now_ms: i64, conn: ConnId, req: &ConnectRequest) {
        self.core.connect(now_ms, conn, req);
        self.pump(now_ms);
    }

    /// A client's request.
    pub fn client_request(&mut self, now_ms: i64, conn: ConnId, xid: i32, op: i32, body: &[u8]) {
        self.core.request(now_ms, conn, xid, op, body);
        self.pump(now_ms);
    }

    /// A client's connection went away.
    pub fn client_closed(&mut self, now_ms: i64, conn: ConnId) {
        self.core.disconnected(conn);
        self.pump(now_ms);
    }

    /// An election notification (any state: the receiver always answers).
    pub fn election_message(&mut self, now_ms: i64, n: Notification) {
        self.election.handle_notification(now_ms, n);
        self.pump(now_ms);
    }

    /// A learner connected to this member's quorum port.
    pub fn quorum_accepted(&mut self, now_ms: i64, link: LinkId) {
        if matches!(self.role, Role::Leading(_)) {
            self.with_role(now_ms, |role, cx| {
                if let Role::Leading(l) = role {
                    l.accepted(cx, link);
                }
            });
        } else {
            // Only a leader listens (Apache ZooKeeper's learners retry).
            self.out.push_back(PeerOutput::QuorumClose { link });
        }
        self.pump(now_ms);
    }

    /// A quorum link this member opened is up.
    pub fn quorum_connected(&mut self, now_ms: i64, link: LinkId) {
        self.with_role(now_ms, |role, cx| {
            if let Role::Following(l) | Role::Observing(l) = role {
                l.connected(cx, link);
            }
        });
        self.pump(now_ms);
    }

    /// A message on a quorum link.
    pub fn quorum_message(&mut self, now_ms: i64, link: LinkId, m: Zab) {
        self.with_role(now_ms, |role, cx| match role {
            Role::Leading(l) => l.message(cx, link, m),
            Role::Following(l) | Role::Observing(l) => l.message(cx, link, m),
            Role::Looking => {}
        });
        self.pump(now_ms);
    }

    /// A quorum link closed (or could not be opened).
    pub fn quorum_closed(&mut self, now_ms: i64, link: LinkId) {
        let next = LinkId(self.next_link);
        let mut used = false;
        self.with_role(now_ms, |role, cx| match role {
            Role::Leading(l) => l.closed(cx, link),
            Role::Following(l) | Role::Observing(l) => {
                l.closed(cx, link, next);
                used = l.link() == next;
            }
            Role::Looking => {}
        });
        if used {
            self.next_link += 1;
        }
        self.pump(now_ms);
    }

    /// A disk operation completed.
    pub fn disk_done(&mut self, now_ms: i64, done: DiskDone) {
        match done {
            DiskDone::Synced(z) => {
                if z > self.disk.synced {
                    self.disk.synced = z;
                }
                self.with_role(now_ms, |role, cx| match role {
                    Role::Leading(l) => l.synced(cx, z),
                    Role::Following(l) | Role::Observing(l) => l.synced(cx),
                    Role::Looking => {}
                });
            }
            DiskDone::EpochWritten { file, epoch } => {
                self.with_role(now_ms, |role, cx| match role {
                    Role::Leading(l) => l.epoch_written(cx, file, epoch),
                    Role::Following(l) | Role::Observing(l) => l.epoch_written(cx, file, epoch),
                    Role::Looking => {}
                })
            }
            DiskDone::SnapshotWritten { zxid } => {
                // A SNAP sync's snapshot holds the tree up to its zxid: that much is durable,
                // as if logged and synced. Without this, a learner that synced by SNAP held
                // every frame revealing the snapshot's zxid (ConnectResponses, replies) until
                // a later proposal was logged and synced.
                if zxid > self.disk.synced {
                    self.disk.synced = zxid;
                }
            }
            DiskDone::Truncated { tree } => self.with_role(now_ms, |role, cx| {
                if let Role::Following(l) | Role::Observing(l) = role {
                    l.truncated(cx, tree);
                }
            }),
            DiskDone::LogRead { token, txns } => self.with_role(now_ms, |role, cx| {
                if let Role::Leading(l) = role {
                    l.log_read(cx, token, txns);
                }
            }),
            DiskDone::Barrier { token } => {
                if self.draining.as_ref().is_some_and(|(t, _)| *t == token) {
                    // Everything handed to the disk before the barrier is durable.
                    self.disk.synced = self.disk.synced.max(self.disk.last_appended);
                    if let Some((_, replay)) = self.draining.take() {
                        self.fast_forward(now_ms, replay);
                        self.start_election(now_ms);
                    }
                }
            }
            DiskDone::SnapshotWanted => {
                let tree = Box::new(self.core.tree().clone());
                self.out
                    .push_back(PeerOutput::Disk(DiskOp::Snapshot { tree, wait: false }));
            }
            DiskDone::Failed(why) => {
                tracing::error!(reason = %why, "the disk failed: stopping");
                self.fatal = true;
                self.end_role(now_ms, format!("disk failed: {why}"));
                self.out.push_back(PeerOutput::Fatal(why));
            }
        }
        self.pump(now_ms);
    }

    fn with_role(&mut self, now_ms: i64, f: impl FnOnce(&mut Role, &mut Ctx<'_>)) {
        let mut cx = Ctx {
            now: now_ms,
            my_id: self.cfg.my_id,
            core: &mut self.core,
            log: &mut self.log,
            disk: &mut self.disk,
            ensemble: &self.ensemble,
            verifier: &self.cfg.verifier,
            timing: &self.cfg.timing,
            out: &mut self.zout,
            next_token: &mut self.next_token,
        };
        f(&mut self.role, &mut cx);
    }

    fn start_election(&mut self, now_ms: i64) {
        if self.fatal {
            return;
        }
        self.election_started = now_ms;
        if self.election.is_stopped() || self.config_changed {
            self.config_changed = false;
            self.election = Election::new(self.cfg.my_id, &self.cfg.verifier, self.cfg.election);
        }
        let last = self.core.tree().last_zxid();
        tracing::info!(my_id = self.cfg.my_id, zxid = %last, epoch = self.disk.current_epoch, "looking for a leader");
        self.out.push_back(PeerOutput::State(ServerState::Looking));
        let epoch = i64::from(self.disk.current_epoch);
        match self.vote_for.take() {
            Some((to, zxid)) => self
                .election
                .start_voting_for(now_ms, last, epoch, to, zxid),
            None => self.election.start(now_ms, last, epoch),
        }
        self.read_only_at = self.cfg.timing.read_only_after_ms.map(|d| now_ms + d);
    }

    /// Replays logged-but-uncommitted proposals into the tree (`fastForwardDataBase`).
    fn fast_forward(&mut self, now_ms: i64, txns: Vec<Txn>) {
        for t in txns {
            if t.zxid() > self.core.tree().last_zxid() && t.zxid() <= self.disk.synced {
                self.core.commit(now_ms, &t.header, &t.body);
                self.log.push_replayed(t);
            }
        }
    }

    /// Journals every transaction this member applies as committed (tests, the simulator).
    pub fn set_journal(&mut self, on: bool) {
        self.log.set_journal(on);
    }

    /// What happened to the tree since the last call (with [`set_journal`]).
    ///
    /// [`set_journal`]: Self::set_journal
    pub fn take_journal(&mut self) -> Vec<super::disk::Journal> {
        self.log.take_journal()
    }

    /// Ends the role: links close, clients are disconnected, and once the disk has done
    /// everything it was given the election starts.
    fn end_role(&mut self, now_ms: i64, why: String) {
        let role = std::mem::replace(&mut self.role, Role::Looking);
        let replay = match role {
            Role::Looking => return,
            Role::Leading(mut l) => {
                for link in l.links() {
                    self.out.push_back(PeerOutput::QuorumClose { link });
                }
                l.logged_uncommitted()
            }
            Role::Following(mut l) | Role::Observing(mut l) => {
                self.out
                    .push_back(PeerOutput::QuorumClose { link: l.link() });
                l.logged_uncommitted()
            }
        };
        tracing::info!(my_id = self.cfg.my_id, reason = %why, "role ended");
        self.core.set_mode(now_ms, CoreMode::NotServing, 0);
        self.next_token += 1;
        let token = self.next_token;
        self.out
            .push_back(PeerOutput::Disk(DiskOp::Barrier { token }));
        self.draining = Some((token, replay));
    }

    fn begin_role(&mut self, now_ms: i64, leader: i64, state: ServerState) {
        self.last_election_ms = now_ms - self.election_started;
        self.read_only_at = None;
        tracing::info!(
            my_id = self.cfg.my_id,
            leader,
            ?state,
            election_ms = self.last_election_ms,
            "election decided"
        );
        self.out.push_back(PeerOutput::State(state));
        let link = LinkId(self.next_link);
        let mut role = Role::Looking;
        self.with_role(now_ms, |_, cx| {
            role = match state {
                ServerState::Leading => Role::Leading(Leader::start(cx)),
                ServerState::Following => Role::Following(Learner::start(cx, leader, false, link)),
                ServerState::Observing => Role::Observing(Learner::start(cx, leader, true, link)),
                ServerState::Looking => Role::Looking,
            };
        });
        if matches!(role, Role::Following(_) | Role::Observing(_)) {
            self.next_link += 1;
        }
        self.role = role;
    }

    /// Moves everything between the core, the role, the election and the outputs until
    /// nothing is left to move.
    fn pump(&mut self, now_ms: i64) {
        loop {
            let mut moved = false;
            while let Some(r) = self.core.poll_replicate() {
                moved = true;
                self.replicate(now_ms, r);
            }
            while let Some(z) = self.zout.pop_front() {
                moved = true;
                match z {
                    ZabOut::Send(link, msg) => {
                        self.out.push_back(PeerOutput::QuorumSend { link, msg })
                    }
                    ZabOut::Connect(link, sid) => {
                        self.out.push_back(PeerOutput::QuorumConnect { link, sid })
                    }
                    ZabOut::Close(link) => self.out.push_back(PeerOutput::QuorumClose { link }),
                    ZabOut::Disk(op) => self.out.push_back(PeerOutput::Disk(op)),
                    ZabOut::Serving { epoch } => {
                        self.election.update_election_vote(i64::from(epoch));
                    }
                    ZabOut::Stop(why) => self.end_role(now_ms, why),
                    ZabOut::Activate {
                        config,
                        designated_leader,
                        zxid,
                    } => self.activate(now_ms, config, designated_leader, zxid),
                    ZabOut::Yield { to, zxid } => {
                        self.vote_for = Some((to, zxid));
                        self.end_role(now_ms, format!("leadership handed to server {to}"));
                    }
                }
            }
            while let Some(o) = self.core.poll_output() {
                moved = true;
                self.out.push_back(PeerOutput::Client(o));
            }
            while let Some(e) = self.election.poll_output() {
                moved = true;
                match e {
                    // A member's notification to itself is processed like any other
                    // (`QuorumCnxManager.toSend` puts it on its own receive queue).
                    ElectionOutput::Send(m) if m.to == self.cfg.my_id => {
                        let n = m.received_from(self.cfg.my_id);
                        self.election.handle_notification(now_ms, n);
                    }
                    ElectionOutput::Send(m) => self.out.push_back(PeerOutput::Election(m)),
                    ElectionOutput::ConnectAll => {
                        self.out.push_back(PeerOutput::ElectionConnectAll)
                    }
                    ElectionOutput::Decided(d) => {
                        if matches!(self.role, Role::Looking) && self.draining.is_none() {
                            self.begin_role(now_ms, d.leader, d.state);
                        }
                    }
                    ElectionOutput::Restart(qv) => {
                        if matches!(self.role, Role::Looking) && self.draining.is_none() {
                            // The election stopped: `start_election` makes it anew.
                            self.adopt_config(qv);
                            self.start_election(now_ms);
                        }
                    }
                }
            }
            if !moved {
                self.refresh_ensemble_view(now_ms);
                return;
            }
        }
    }

    /// Keeps the core's view of the ensemble (what a reconfig starts from) fresh while
    /// leading with reconfig enabled.
    fn refresh_ensemble_view(&mut self, now_ms: i64) {
        let view = match &self.role {
            Role::Leading(l) if self.core.config().reconfig_enabled => {
                let (synced, pending) = l.reconfig_inputs(now_ms, self.cfg.my_id);
                let current = self.cfg.verifier.version();
                let last_seen_version = pending.unwrap_or(current);
                let fresh = self.core.ensemble_view().is_some_and(|v| {
                    v.synced == synced
                        && v.last_seen_version == last_seen_version
                        && v.current.version() == current
                });
                if fresh {
                    return;
                }
                Some(crate::core::reconfig::EnsembleView {
                    current: self.cfg.verifier.clone(),
                    last_seen_version,
                    synced,
                    standalone_enabled: self.cfg.standalone_enabled,
                    multi_address: self.cfg.multi_address,
                })
            }
            _ if self.core.ensemble_view().is_none() => return,
            _ => None,
        };
        tracing::debug!(?view, "the ensemble as a reconfig sees it");
        self.core.set_ensemble_view(view);
    }

    /// Makes `qv` this member's config: membership, the election's next view, the driver's
    /// address book and dynamic config file.
    fn install_config(&mut self, qv: QuorumVerifier) {
        self.ensemble = Ensemble::of(&qv);
        self.cfg.verifier = qv.clone();
        self.config_changed = true;
        self.out.push_back(PeerOutput::Config(qv));
    }

    /// `QuorumPeer.processReconfig` for a committed reconfig (or a newer config the leader
    /// sent at NEWLEADER, `zxid` 0): the config becomes current; a member whose role changes
    /// (participant and observer) or whose leader changes (`designated`) ends its role and
    /// looks again, voting for the designated leader first. A member left out of the config
    /// stays as a non-voting follower of the same leader, as in Apache ZooKeeper: it still
    /// serves its clients, and its votes and acknowledgements no longer count.
    fn activate(&mut self, now_ms: i64, qv: QuorumVerifier, designated: i64, zxid: Zxid) {
        if !self.core.config().reconfig_enabled {
            return;
        }
        if qv.version() <= self.cfg.verifier.version() {
            return;
        }
        let me = self.cfg.my_id;
        tracing::info!(
            my_id = me,
            from = self.cfg.verifier.version(),
            to = qv.version(),
            voters = ?qv.voters(),
            observers = ?qv.observers(),
            designated,
            "activating a new configuration"
        );
        if zxid == Zxid(0) {
            self.core
                .set_config_node(&qv.to_qv_text(), qv.version(), now_ms);
        }
        let observer_now = qv.observers().contains(&me);
        self.install_config(qv);
        let role_change = match self.role {
            Role::Observing(_) => !observer_now,
            Role::Following(_) | Role::Leading(_) => observer_now,
            Role::Looking => false,
        };
        let leader_change =
            !matches!(self.role, Role::Looking) && self.leader() != Some(designated);
        if matches!(self.role, Role::Leading(_)) {
            // The leader hands over itself, after its COMMITANDACTIVATEs (`ZabOut::Yield`).
            return;
        }
        if role_change || leader_change {
            self.vote_for = (designated != me).then_some((designated, zxid));
            self.end_role(now_ms, "changes proposed in reconfig".into());
        }
    }

    /// `QuorumPeer.processReconfig` for the newer config a notification carried, before the
    /// election restarts (the responder restarts it only for a newer version that differs
    /// from this member's). With reconfig enabled an Apache leader re-versions a version-0
    /// config to `newEpoch << 32` (`Leader.lead`, ZOOKEEPER-1783) and every member adopts it,
    /// and a joiner learns the current members this way; without adopting it this member would
    /// restart at every notification, forever. With reconfig off Apache does not adopt either.
    fn adopt_config(&mut self, qv: QuorumVerifier) {
        if !self.core.config().reconfig_enabled || qv.version() <= self.cfg.verifier.version() {
            return;
        }
        tracing::info!(
            my_id = self.cfg.my_id,
            from = self.cfg.verifier.version(),
            to = qv.version(),
            "adopting a peer's newer config"
        );
        self.install_config(qv);
    }

    fn replicate(&mut self, now_ms: i64, r: ToReplicate) {
        match r {
            ToReplicate::Propose { header, body } => self.with_role(now_ms, |role, cx| {
                if let Role::Leading(l) = role {
                    l.propose(cx, Txn { header, body });
                }
            }),
            ToReplicate::Forward(f) => self.with_role(now_ms, |role, cx| {
                if let Role::Following(l) | Role::Observing(l) = role {
                    l.send_leader(cx, Zab::Request(f));
                }
            }),
            ToReplicate::Revalidate {
                session,
                timeout_ms,
            } => self.with_role(now_ms, |role, cx| {
                if let Role::Following(l) | Role::Observing(l) = role {
                    l.send_leader(
                        cx,
                        Zab::Revalidate {
                            session,
                            timeout_ms,
                        },
                    );
                }
            }),
            ToReplicate::SyncDone { learner } => self.with_role(now_ms, |role, cx| {
                if let Role::Leading(l) = role {
                    l.sync_done(cx, learner);
                }
            }),
            ToReplicate::ConfirmLeadership => self.with_role(now_ms, |role, cx| {
                if let Role::Leading(l) = role {
                    l.confirm_leadership(cx);
                }
            }),
            ToReplicate::Rollover => self.end_role(
                now_ms,
                "zxid counter exhausted: a new epoch must start".into(),
            ),
        }
    }

    /// The zxid of the last transaction in the tree.
    pub fn last_zxid(&self) -> Zxid {
        self.core.tree().last_zxid()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::{CoreConfig, DataTree};

    /// What an Apache 3.8 leader and follower with reconfigEnabled=true answer a member that
    /// joins after the leader re-versioned the static config (`Leader.lead`: version 0 becomes
    /// `newEpoch << 32`): LEADING/FOLLOWING with that config, which has no client addresses.
    fn apache_reply(from: i64, state: ServerState) -> Notification {
        Notification {
            from,
            state,
            leader: 3,
            zxid: Zxid(0),
            election_epoch: 1,
            peer_epoch: 1,
            version: 2,
            config: Some(
                "server.1=127.0.0.1:17121:17131:participant\n\
                 server.2=127.0.0.1:17122:17132:participant\n\
                 server.3=127.0.0.1:17123:17133:participant\n\
                 version=100000000"
                    .into(),
            ),
        }
    }

    /// Member 1 of that ensemble, as zk-server builds it from its zoo.cfg (its own entry has
    /// the static client address, as Apache's has).
    fn member(reconfig: bool) -> Peer {
        let dir = std::env::temp_dir().join(format!(
            "zk-peer-reconfig-{}-{reconfig}",
            std::process::id()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("myid"), "1\n").unwrap();
        let text = format!(
            "tickTime=2000\ninitLimit=10\nsyncLimit=5\nreconfigEnabled={reconfig}\n\
             dataDir={}\nclientPort=17111\nclientPortAddress=127.0.0.1\n\
             server.1=127.0.0.1:17121:17131\nserver.2=127.0.0.1:17122:17132\n\
             server.3=127.0.0.1:17123:17133\n",
            dir.display()
        );
        let cfg = crate::ServerConfig::parse(&text, "zoo.cfg").unwrap();
        let q = cfg.quorum().unwrap().unwrap();
        let _ = std::fs::remove_dir_all(&dir);
        let core = Core::new(
            CoreConfig {
                server_id: 1,
                reconfig_enabled: reconfig,
                ..CoreConfig::default()
            },
            0,
        );
        let boot = Boot {
            tree: DataTree::new(),
            accepted_epoch: 0,
            current_epoch: 0,
            recent: Vec::new(),
        };
        let cfg = PeerConfig {
            my_id: 1,
            verifier: q.verifier,
            timing: ZabTiming::new(2000, 10, 5),
            election: ElectionTiming::default(),
            standalone_enabled: true,
            multi_address: false,
        };
        Peer::new(cfg, core, boot, 0)
    }

    /// How many elections started (LOOKING announced) among the outputs so far.
    fn restarts(p: &mut Peer) -> usize {
        let mut n = 0;
        while let Some(o) = p.poll_output() {
            n += usize::from(matches!(o, PeerOutput::State(ServerState::Looking)));
        }
        n
    }

    #[test]
    fn a_re_versioned_config_is_adopted_once_with_reconfig_enabled() {
        let mut p = member(true);
        restarts(&mut p);
        for i in 0..5 {
            p.election_message(10 + i, apache_reply(3, ServerState::Leading));
            p.election_message(10 + i, apache_reply(2, ServerState::Following));
        }
        assert_eq!(restarts(&mut p), 1, "one restart, then the config is mine");
        assert_eq!(p.ensemble().config_version, 0x1_0000_0000);
        assert!(p.ensemble().config_text.ends_with("version=100000000"));
        // And the replies elect the leader they name.
        assert_eq!(p.state(), ServerState::Following);
        assert_eq!(p.leader(), Some(3));
    }

    #[test]
    fn without_reconfig_every_newer_config_restarts_the_election_as_in_apache() {
        let mut p = member(false);
        restarts(&mut p);
        for i in 0..3 {
            p.election_message(10 + i, apache_reply(3, ServerState::Leading));
        }
        assert_eq!(restarts(&mut p), 3);
        assert_eq!(p.ensemble().config_version, 0);
        assert_eq!(p.state(), ServerState::Looking);
    }
}
