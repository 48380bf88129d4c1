//! Fast Leader Election as a sans-IO state machine: Apache ZooKeeper 3.8's
//! `FastLeaderElection.lookForLeader` and its receiver thread, with time passed in as `now_ms`
//! and messages in and out as values.
//!
//! An [`Election`] lives as long as Apache's `FastLeaderElection` instance: through every round
//! the peer runs ([`Election::start`] each time it turns LOOKING) and, between rounds, as the
//! responder that answers LOOKING peers (the [`responder`] module). Its logicalclock is
//! kept across rounds and, as in Apache, is not persisted.
//!
//! Driving it:
//! - feed every notification from the election port to [`Election::handle_notification`];
//! - call [`Election::handle_timeout`] when [`Election::poll_timeout`]'s deadline passes, saying
//!   whether the connection manager has delivered ([`Delivery`], `haveDelivered()`);
//! - after each call drain [`Election::poll_output`]: [`Output::Send`] notifications,
//!   [`Output::ConnectAll`], [`Output::Decided`] once per round, [`Output::Restart`].
//!
//! A voter's messages to itself never leave: they are looped back into its receive queue and
//! handled like any other (Apache's `QuorumCnxManager.toSend` to one's own sid), so they are not
//! among the outputs.
//!
//! After a decision the election loop is idle: timeouts are ignored and notifications only get
//! the replies of the receiver thread, until the next [`Election::start`]. After
//! [`Output::Restart`] every input is ignored: the peer builds a new `Election` (Apache starts a
//! new `FastLeaderElection`, logicalclock 0).
//!
//! Not modelled: the two-member oracle (`QuorumOracleMaj`), hierarchical quorums, and a second
//! ("next", reconfig) config next to the current one in `getCurrentAndNextConfigVoters` and
//! `getVoteTracker`. Unknown state ordinals cannot be expressed as a [`Notification`]: the
//! driver drops them (Apache still answers such a message from a non-voter).

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use zk_core::Zxid;

use super::notification::{Notification, ToSend};
use super::responder::{self, PeerView};
use super::verifier::QuorumVerifier;
use super::vote::{RecordedVote, ServerState, Vote};

/// The election's timers (Apache: `zookeeper.fastleader.minNotificationInterval`,
/// `zookeeper.fastleader.maxNotificationInterval`, and the fixed `finalizeWait`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ElectionTiming {
    /// The first wait for a notification before re-sending (ms).
    pub min_notification_interval_ms: i64,
    /// The longest wait; each empty wait doubles the next up to this (ms).
    pub max_notification_interval_ms: i64,
    /// The quiet time that confirms a quorum's vote (ms).
    pub finalize_wait_ms: i64,
    /// Decide without the finalize wait once every voter votes for my proposal (zk-server's
    /// shortcut; false: Apache ZooKeeper's timing exactly).
    pub decide_when_unanimous: bool,
}

impl Default for ElectionTiming {
    fn default() -> Self {
        ElectionTiming {
            min_notification_interval_ms: 200,
            max_notification_interval_ms: 60_000,
            finalize_wait_ms: 200,
            decide_when_unanimous: true,
        }
    }
}

/// Whether the connection manager has delivered (`QuorumCnxManager.haveDelivered()`: some
/// peer's send queue is empty). An empty wait re-sends the notifications if so, else asks the
/// driver to connect to everyone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// At least one peer's send queue is empty.
    Delivered,
    /// Every send queue still holds a message (or there is none).
    Undelivered,
}

/// The outcome of a round.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    /// The elected leader.
    pub leader: i64,
    /// The final vote (Apache's `currentVote`): what the responder reports from now on.
    pub vote: Vote,
    /// LEADING, FOLLOWING or OBSERVING.
    pub state: ServerState,
}

/// Something for the driver to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// Send this notification to its recipient.
    Send(ToSend),
    /// Connect to every known peer (`QuorumCnxManager.connectAll`): nothing was delivered.
    ConnectAll,
    /// The round is over: move to the decided state.
    Decided(Decision),
    /// A peer's notification carried this config, with a higher version than mine and not
    /// `QuorumMaj.equals` to it, while LOOKING: Apache's receiver shuts the election down and
    /// the peer starts a new one. With reconfig off (zk-server's case) Apache keeps its own
    /// config, so a peer that keeps advertising such a config keeps restarting elections; our
    /// members always advertise version 0 unless configured otherwise.
    Restart(QuorumVerifier),
}

/// Notifications the receive queue holds at most (`QuorumCnxManager.RECV_CAPACITY`); the oldest
/// is dropped when it is full.
pub const RECV_CAPACITY: usize = 100;

/// Outputs not yet drained at most: a driver that never drains is a bug.
const MAX_PENDING_OUTPUTS: usize = 16 * 1024;

/// Where the current round's loop is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Waiting up to `notTimeout` for the next notification.
    Polling { deadline_ms: i64 },
    /// A quorum agrees with the proposal: waiting `finalizeWait` for a better vote.
    Finalizing { deadline_ms: i64 },
}

/// The state of one `lookForLeader` call.
#[derive(Debug, Clone)]
struct Round {
    /// Votes of this round by sender (`recvset`).
    recvset: BTreeMap<i64, RecordedVote>,
    /// FOLLOWING/LEADING votes of any round by sender (`outofelection`).
    outofelection: BTreeMap<i64, RecordedVote>,
    /// The current wait for a notification (`notTimeout`).
    not_timeout_ms: i64,
    phase: Phase,
    /// My initial vote's zxid and epoch (`getInitLastLoggedZxid`, `getPeerEpoch`).
    init_zxid: Zxid,
    init_epoch: i64,
}

/// One member's Fast Leader Election (see the module docs).
#[derive(Debug, Clone)]
pub struct Election {
    my_id: i64,
    verifier: QuorumVerifier,
    config_text: Arc<str>,
    timing: ElectionTiming,
    /// `QuorumPeer.getPeerState()`.
    state: ServerState,
    logicalclock: i64,
    /// `proposedLeader`, `proposedZxid`, `proposedEpoch` (the round field is unused).
    proposal: Vote,
    /// `QuorumPeer.currentVote`.
    current_vote: Option<Vote>,
    /// The receive queue (`recvqueue`).
    queue: VecDeque<Notification>,
    round: Option<Round>,
    stopped: bool,
    outputs: VecDeque<Output>,
}

impl Election {
    /// A member's election over `verifier`: LOOKING, not started. Whether it may lead comes
    /// from the config (a voter, or an observer that never proposes itself).
    ///
    /// # Panics
    ///
    /// If a timer of `timing` is not positive or the maximum interval is below the minimum.
    pub fn new(my_id: i64, verifier: &QuorumVerifier, timing: ElectionTiming) -> Election {
        assert!(timing.min_notification_interval_ms > 0);
        assert!(timing.max_notification_interval_ms >= timing.min_notification_interval_ms);
        assert!(timing.finalize_wait_ms > 0);
        Election {
            my_id,
            verifier: verifier.clone(),
            config_text: Arc::from(verifier.to_qv_text()),
            timing,
            state: ServerState::Looking,
            logicalclock: 0,
            // FastLeaderElection.starter: proposedLeader = proposedZxid = -1.
            proposal: Vote {
                leader: -1,
                zxid: Zxid(-1),
                election_epoch: -1,
                peer_epoch: 0,
            },
            current_vote: None,
            queue: VecDeque::new(),
            round: None,
            stopped: false,
            outputs: VecDeque::new(),
        }
    }

    /// Starts a round (`lookForLeader`): logicalclock + 1, my initial vote (a voter: my id,
    /// `last_logged_zxid`, `current_epoch`; anyone else `Long.MIN_VALUE` for all three) sent to
    /// every voter, myself included. Ignored while a round is running or after a restart.
    pub fn start(&mut self, now_ms: i64, last_logged_zxid: Zxid, current_epoch: i64) {
        let participant = self.is_participant();
        let (init_zxid, init_epoch) = if participant {
            (last_logged_zxid, current_epoch)
        } else {
            (Zxid(i64::MIN), i64::MIN)
        };
        let first = Vote {
            leader: if participant { self.my_id } else { i64::MIN },
            zxid: init_zxid,
            election_epoch: -1,
            peer_epoch: init_epoch,
        };
        self.begin_round(
            now_ms,
            last_logged_zxid,
            current_epoch,
            first,
            (init_zxid, init_epoch),
        );
    }

    /// Starts a round as [`Election::start`] does, but with a first vote for `leader` (whose
    /// last logged zxid is `zxid`, in my epoch) instead of myself: a leader that handed its
    /// leadership over. Later rounds start from my own vote again, so a new leader that
    /// died before leading is not voted for forever.
    pub fn start_voting_for(
        &mut self,
        now_ms: i64,
        last_logged_zxid: Zxid,
        current_epoch: i64,
        leader: i64,
        zxid: Zxid,
    ) {
        if !self.is_participant() || !self.verifier.is_voter(leader) {
            return self.start(now_ms, last_logged_zxid, current_epoch);
        }
        let first = Vote {
            leader,
            zxid,
            election_epoch: -1,
            peer_epoch: current_epoch,
        };
        let init = (last_logged_zxid, current_epoch);
        // One round ahead of the others (who start theirs when they see me step down): each
        // of them then hears my vote as a newer round's, joins it with the better vote, and
        // tells everyone. In the same round, a member that answered my first notifications
        // while it still followed me would hear the better vote only once its wait timed
        // out.
        self.logicalclock += 1;
        self.begin_round(now_ms, last_logged_zxid, current_epoch, first, init);
    }

    /// A round with `first` as the proposal and `init` (zxid, epoch) as my own vote.
    fn begin_round(
        &mut self,
        now_ms: i64,
        last_logged_zxid: Zxid,
        current_epoch: i64,
        first: Vote,
        (init_zxid, init_epoch): (Zxid, i64),
    ) {
        if self.stopped || self.round.is_some() {
            tracing::warn!(
                my_id = self.my_id,
                "start ignored: a round is running or stopped"
            );
            return;
        }
        self.state = ServerState::Looking;
        // QuorumPeer.startLeaderElection: the vote reported before the first decision.
        self.current_vote.get_or_insert(Vote {
            leader: self.my_id,
            zxid: last_logged_zxid,
            election_epoch: -1,
            peer_epoch: current_epoch,
        });
        self.logicalclock += 1;
        self.proposal = first;
        let not_timeout_ms = self.timing.min_notification_interval_ms;
        self.round = Some(Round {
            recvset: BTreeMap::new(),
            outofelection: BTreeMap::new(),
            not_timeout_ms,
            phase: Phase::Polling {
                deadline_ms: now_ms + not_timeout_ms,
            },
            init_zxid,
            init_epoch,
        });
        self.send_notifications();
        self.run(now_ms);
    }

    /// A notification from the election port (or any time: the receiver thread always runs).
    pub fn handle_notification(&mut self, now_ms: i64, n: Notification) {
        if self.stopped {
            return;
        }
        self.receive(n);
        self.run(now_ms);
    }

    /// The deadline of [`poll_timeout`](Self::poll_timeout) passed (earlier calls are ignored).
    pub fn handle_timeout(&mut self, now_ms: i64, delivery: Delivery) {
        let Some(round) = self.round.as_mut() else {
            return;
        };
        match round.phase {
            Phase::Polling { deadline_ms } if now_ms >= deadline_ms => {
                round.not_timeout_ms =
                    (round.not_timeout_ms * 2).min(self.timing.max_notification_interval_ms);
                round.phase = Phase::Polling {
                    deadline_ms: now_ms + round.not_timeout_ms,
                };
                match delivery {
                    Delivery::Delivered => self.send_notifications(),
                    Delivery::Undelivered => self.push(Output::ConnectAll),
                }
                self.run(now_ms);
            }
            Phase::Finalizing { deadline_ms } if now_ms >= deadline_ms => {
                // 200 ms without a better vote: the quorum's vote stands.
                self.decide(self.proposal());
            }
            _ => {}
        }
    }

    /// When [`handle_timeout`](Self::handle_timeout) is due; None when no round is running.
    pub fn poll_timeout(&self) -> Option<i64> {
        self.round.as_ref().map(|r| match r.phase {
            Phase::Polling { deadline_ms } | Phase::Finalizing { deadline_ms } => deadline_ms,
        })
    }

    /// The next thing to do.
    #[must_use]
    pub fn poll_output(&mut self) -> Option<Output> {
        self.outputs.pop_front()
    }

    /// After syncing with the new leader (`Learner.syncWithLeader`, `Leader.startZkServer`):
    /// report `new_epoch` as the decided vote's peerEpoch from now on (ZOOKEEPER-1732), so that
    /// joiners see every member agree on (leader, peerEpoch).
    pub fn update_election_vote(&mut self, new_epoch: i64) {
        if let Some(v) = self.current_vote.as_mut() {
            v.peer_epoch = new_epoch;
        }
    }

    /// My sid.
    pub fn my_id(&self) -> i64 {
        self.my_id
    }

    /// My state.
    pub fn state(&self) -> ServerState {
        self.state
    }

    /// The round counter.
    pub fn logical_clock(&self) -> i64 {
        self.logicalclock
    }

    /// What I propose, in the current round.
    pub fn proposal(&self) -> Vote {
        Vote {
            election_epoch: self.logicalclock,
            ..self.proposal
        }
    }

    /// The vote the responder reports (the decided one once a round ends).
    pub fn current_vote(&self) -> Option<Vote> {
        self.current_vote
    }

    /// True after [`Output::Restart`]: build a new election.
    pub fn is_stopped(&self) -> bool {
        self.stopped
    }

    fn is_participant(&self) -> bool {
        self.verifier.is_voter(self.my_id)
    }

    fn push(&mut self, o: Output) {
        assert!(
            self.outputs.len() < MAX_PENDING_OUTPUTS,
            "election outputs are not drained"
        );
        self.outputs.push_back(o);
    }

    /// The receiver thread: replies, the receive queue, restarts.
    fn receive(&mut self, n: Notification) {
        let view = PeerView {
            state: self.state,
            current_vote: self.current_vote,
            logicalclock: self.logicalclock,
            proposal: self.proposal,
            verifier: &self.verifier,
            config_text: &self.config_text,
        };
        let receipt = responder::receive(&view, &n);
        if let Some(config) = receipt.restart {
            tracing::info!(
                my_id = self.my_id,
                from = n.from,
                "newer config: election restarts"
            );
            self.stopped = true;
            self.round = None;
            self.queue.clear();
            self.push(Output::Restart(config));
            return;
        }
        if let Some(reply) = receipt.reply {
            self.send(reply);
        }
        if receipt.enqueue {
            if self.queue.len() == RECV_CAPACITY {
                self.queue.pop_front();
            }
            self.queue.push_back(n);
        }
        debug_assert!(self.queue.len() <= RECV_CAPACITY);
    }

    /// Sends `m`; a message to myself is looped back into the receive path.
    fn send(&mut self, m: ToSend) {
        if m.to == self.my_id {
            let n = m.received_from(self.my_id);
            self.receive(n);
        } else {
            self.push(Output::Send(m));
        }
    }

    /// `sendNotifications`: my proposal, LOOKING, to every voter (ascending sid).
    fn send_notifications(&mut self) {
        let vote = self.proposal();
        let voters = self.verifier.voters();
        for sid in voters {
            let m = ToSend::new(
                sid,
                ServerState::Looking,
                vote,
                Arc::clone(&self.config_text),
            );
            self.send(m);
        }
    }

    /// The election loop over what the receive queue holds.
    fn run(&mut self, now_ms: i64) {
        while let Some(phase) = self.round.as_ref().map(|r| r.phase) {
            let Some(n) = self.queue.pop_front() else {
                return;
            };
            match phase {
                Phase::Polling { .. } => {
                    self.process(now_ms, n);
                    if let Some(round) = self.round.as_mut() {
                        if let Phase::Polling { .. } = round.phase {
                            // The next poll waits notTimeout from now.
                            round.phase = Phase::Polling {
                                deadline_ms: now_ms + round.not_timeout_ms,
                            };
                        }
                    }
                }
                Phase::Finalizing { .. } => {
                    let proposal = self.proposal;
                    if n.vote().beats(&proposal, &self.verifier) {
                        // A better vote: put it back (at the tail) and go on electing.
                        self.queue.push_back(n);
                        let round = self.round.as_mut().expect("round is running");
                        round.phase = Phase::Polling {
                            deadline_ms: now_ms + round.not_timeout_ms,
                        };
                    } else if self.joins_for_the_same_vote(&n) {
                        // A newer round already agreeing with my proposal (a member that
                        // started looking later, or a leader that handed over): Apache drops
                        // it and decides when its wait ends; zk-server joins that round, where
                        // every voter may already agree, and decides as soon as they all do.
                        let round = self.round.as_mut().expect("round is running");
                        round.phase = Phase::Polling {
                            deadline_ms: now_ms + round.not_timeout_ms,
                        };
                        self.process(now_ms, n);
                    } else {
                        // Not better: dropped, and the 200 ms wait starts again; but a vote
                        // of this round for my proposal is recorded (zk-server's shortcut:
                        // once every voter votes for it, nothing better can come).
                        if self.record_agreement(&n) {
                            self.decide(self.proposal());
                            return;
                        }
                        let round = self.round.as_mut().expect("round is running");
                        round.phase = Phase::Finalizing {
                            deadline_ms: now_ms + self.timing.finalize_wait_ms,
                        };
                    }
                }
            }
        }
    }

    /// While finalizing: records a LOOKING vote of this round from a voter, and says whether
    /// every voter now votes for my proposal.
    /// A LOOKING voter's notification of a newer round for exactly my proposal (with the
    /// unanimous shortcut on).
    fn joins_for_the_same_vote(&self, n: &Notification) -> bool {
        let v = n.vote();
        self.timing.decide_when_unanimous
            && n.state == ServerState::Looking
            && n.election_epoch > self.logicalclock
            && self.verifier.is_voter(n.from)
            && (v.leader, v.zxid, v.peer_epoch)
                == (
                    self.proposal.leader,
                    self.proposal.zxid,
                    self.proposal.peer_epoch,
                )
    }

    fn record_agreement(&mut self, n: &Notification) -> bool {
        if !self.timing.decide_when_unanimous
            || n.state != ServerState::Looking
            || n.election_epoch != self.logicalclock
            || !self.verifier.is_voter(n.from)
        {
            return false;
        }
        self.round_mut()
            .recvset
            .insert(n.from, n.as_looking_record());
        self.unanimous()
    }

    /// Every voter's vote of this round is for my proposal, so no better vote can come and
    /// there is nothing to wait `finalizeWait` for (zk-server's shortcut, unless
    /// [`ElectionTiming::decide_when_unanimous`] is off; Apache always waits).
    fn unanimous(&self) -> bool {
        let Some(round) = self
            .round
            .as_ref()
            .filter(|_| self.timing.decide_when_unanimous)
        else {
            return false;
        };
        let target = RecordedVote {
            vote: self.proposal(),
            state: ServerState::Looking,
            version: 0,
        };
        self.verifier.voters().iter().all(|v| {
            round
                .recvset
                .get(v)
                .is_some_and(|recorded| target.equals(recorded))
        })
    }

    /// One notification taken from the queue by `lookForLeader`.
    fn process(&mut self, now_ms: i64, n: Notification) {
        tracing::trace!(
            my_id = self.my_id,
            round = self.logicalclock,
            from = n.from,
            state = ?n.state,
            leader = n.leader,
            zxid = %n.zxid,
            n_round = n.election_epoch,
            "notification"
        );
        if !(self.verifier.is_voter(n.from) && self.verifier.is_voter(n.leader)) {
            tracing::warn!(
                my_id = self.my_id,
                from = n.from,
                leader = n.leader,
                "ignoring a notification from or for a non-voter"
            );
            return;
        }
        match n.state {
            ServerState::Looking => self.process_looking(now_ms, n),
            ServerState::Observing => {}
            ServerState::Following | ServerState::Leading => self.process_decided(n),
        }
    }

    fn process_looking(&mut self, now_ms: i64, n: Notification) {
        let round = self.round.as_ref().expect("round is running");
        if round.init_zxid == Zxid(-1) || n.zxid == Zxid(-1) {
            return;
        }
        let (init_zxid, init_epoch) = (round.init_zxid, round.init_epoch);
        let participant = self.is_participant();
        if n.election_epoch > self.logicalclock {
            // A newer round: join it, starting again from the better of n's and my own vote.
            self.logicalclock = n.election_epoch;
            let init = Vote {
                leader: if participant { self.my_id } else { i64::MIN },
                zxid: init_zxid,
                election_epoch: -1,
                peer_epoch: init_epoch,
            };
            self.proposal = if n.vote().beats(&init, &self.verifier) {
                Vote {
                    election_epoch: -1,
                    ..n.vote()
                }
            } else {
                init
            };
            self.round_mut().recvset.clear();
            self.send_notifications();
        } else if n.election_epoch < self.logicalclock {
            return;
        } else if n.vote().beats(&self.proposal, &self.verifier) {
            self.proposal = Vote {
                election_epoch: -1,
                ..n.vote()
            };
            self.send_notifications();
        }
        let target = RecordedVote {
            vote: self.proposal(),
            state: ServerState::Looking,
            version: 0,
        };
        let round = self.round.as_mut().expect("round is running");
        round.recvset.insert(n.from, n.as_looking_record());
        if has_quorum_for(&self.verifier, &round.recvset, &target) {
            if self.unanimous() {
                self.decide(self.proposal());
                return;
            }
            self.round_mut().phase = Phase::Finalizing {
                deadline_ms: now_ms + self.timing.finalize_wait_ms,
            };
        }
    }

    /// `receivedFollowingNotification` (LEADING adds only the 2-member oracle, not modelled).
    fn process_decided(&mut self, n: Notification) {
        let recorded = RecordedVote {
            vote: n.vote(),
            state: n.state,
            version: n.version,
        };
        if n.election_epoch == self.logicalclock {
            // Apache records it with version 0 and compares against version n.version.
            let round = self.round_mut();
            round.recvset.insert(
                n.from,
                RecordedVote {
                    version: 0,
                    ..recorded
                },
            );
            let round = self.round.as_ref().expect("round is running");
            if has_quorum_for(&self.verifier, &round.recvset, &recorded)
                && self.check_leader(&round.recvset, n.leader, n.election_epoch)
            {
                self.decide(n.vote());
                return;
            }
        }
        // Joining an established ensemble: a quorum follows n.leader, which says it leads.
        let round = self.round_mut();
        round.outofelection.insert(n.from, recorded);
        let round = self.round.as_ref().expect("round is running");
        if has_quorum_for(&self.verifier, &round.outofelection, &recorded)
            && self.check_leader(&round.outofelection, n.leader, n.election_epoch)
        {
            self.logicalclock = n.election_epoch;
            self.decide(n.vote());
        }
    }

    /// `checkLeader`: another leader must have told me it is LEADING; if it is me, the round
    /// must be mine.
    fn check_leader(
        &self,
        votes: &BTreeMap<i64, RecordedVote>,
        leader: i64,
        election_epoch: i64,
    ) -> bool {
        if leader != self.my_id {
            votes
                .get(&leader)
                .is_some_and(|v| v.state == ServerState::Leading)
        } else {
            self.logicalclock == election_epoch
        }
    }

    fn round_mut(&mut self) -> &mut Round {
        self.round.as_mut().expect("round is running")
    }

    /// Ends the round with `vote` (`setPeerState` + `leaveInstance`).
    fn decide(&mut self, vote: Vote) {
        let state = if vote.leader == self.my_id {
            ServerState::Leading
        } else if self.verifier.observers().contains(&self.my_id) {
            ServerState::Observing
        } else {
            // A voter, or a server outside the config: a non-voting follower, as Apache's
            // learner type PARTICIPANT (a joiner before its reconfig, a member removed).
            ServerState::Following
        };
        self.state = state;
        self.current_vote = Some(vote);
        self.round = None;
        self.queue.clear();
        tracing::info!(
            my_id = self.my_id,
            leader = vote.leader,
            ?state,
            "election decided"
        );
        self.push(Output::Decided(Decision {
            leader: vote.leader,
            vote,
            state,
        }));
    }
}

/// `getVoteTracker(votes, target).hasAllQuorums()`: the senders whose vote `equals` target form
/// a quorum.
fn has_quorum_for(
    qv: &QuorumVerifier,
    votes: &BTreeMap<i64, RecordedVote>,
    target: &RecordedVote,
) -> bool {
    qv.has_quorum(
        votes
            .iter()
            .filter(|(_, v)| target.equals(v))
            .map(|(&sid, _)| sid),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quorum::notification::CURRENT_VERSION;
    use std::collections::VecDeque;

    /// Voters 1..=voters, then `observers` observers.
    fn qv(voters: i64, observers: i64) -> QuorumVerifier {
        let mut text = String::new();
        for sid in 1..=voters + observers {
            let kind = if sid > voters { ":observer" } else { "" };
            text.push_str(&format!(
                "server.{sid}=127.0.0.1:{}:{}{kind}\n",
                2000 + sid,
                3000 + sid
            ));
        }
        QuorumVerifier::parse_qv_text(&text, false).unwrap()
    }

    fn v(leader: i64, zxid: i64, election_epoch: i64, peer_epoch: i64) -> Vote {
        Vote {
            leader,
            zxid: Zxid(zxid),
            election_epoch,
            peer_epoch,
        }
    }

    fn n(from: i64, state: ServerState, vote: Vote) -> Notification {
        Notification::with_state(from, state, vote, None)
    }

    fn looking(from: i64, vote: Vote) -> Notification {
        n(from, ServerState::Looking, vote)
    }

    fn drain(e: &mut Election) -> Vec<Output> {
        std::iter::from_fn(|| e.poll_output()).collect()
    }

    /// (to, state, vote) of the Send outputs.
    fn sends(outputs: &[Output]) -> Vec<(i64, ServerState, Vote)> {
        outputs
            .iter()
            .filter_map(|o| match o {
                Output::Send(m) => Some((m.to, m.state, m.vote())),
                _ => None,
            })
            .collect()
    }

    fn decision(outputs: &[Output]) -> Option<Decision> {
        outputs.iter().find_map(|o| match o {
            Output::Decided(d) => Some(*d),
            _ => None,
        })
    }

    fn started(my_id: i64, qv: &QuorumVerifier, zxid: i64, epoch: i64) -> Election {
        let mut e = Election::new(my_id, qv, ElectionTiming::default());
        e.start(0, Zxid(zxid), epoch);
        e
    }

    #[test]
    fn start_sends_the_initial_vote_to_every_other_voter() {
        let qv = qv(3, 1);
        let mut e = started(1, &qv, 5, 2);
        let out = drain(&mut e);
        let want = v(1, 5, 1, 2);
        assert_eq!(
            sends(&out),
            [
                (2, ServerState::Looking, want),
                (3, ServerState::Looking, want)
            ]
        );
        let Output::Send(m) = &out[0] else { panic!() };
        assert_eq!(&*m.config, qv.to_qv_text());
        assert_eq!(e.logical_clock(), 1);
        assert_eq!(e.proposal(), want);
        assert_eq!(e.poll_timeout(), Some(200));
    }

    #[test]
    fn own_vote_counts_through_the_loopback() {
        // Sid 3 proposes itself; one more vote for 3 makes a quorum of 3 voters with its own.
        let mut e = started(3, &qv(3, 0), 0, 0);
        drain(&mut e);
        e.handle_notification(10, looking(1, v(3, 0, 1, 0)));
        assert!(drain(&mut e).is_empty());
        assert_eq!(e.poll_timeout(), Some(210), "finalize wait");
        e.handle_timeout(210, Delivery::Delivered);
        let d = decision(&drain(&mut e)).unwrap();
        assert_eq!(d.state, ServerState::Leading);
        assert_eq!(d.vote, v(3, 0, 1, 0));
        assert_eq!(e.state(), ServerState::Leading);
        assert_eq!(e.poll_timeout(), None);
    }

    #[test]
    fn a_better_vote_is_adopted_and_sent_on() {
        let mut e = started(1, &qv(3, 0), 0, 0);
        drain(&mut e);
        e.handle_notification(5, looking(2, v(2, 0, 1, 0)));
        let out = drain(&mut e);
        assert_eq!(
            sends(&out),
            [
                (2, ServerState::Looking, v(2, 0, 1, 0)),
                (3, ServerState::Looking, v(2, 0, 1, 0))
            ]
        );
        // 2's vote and my own (looped back) agree: a quorum of 3.
        assert_eq!(e.poll_timeout(), Some(205));
    }

    #[test]
    fn higher_peer_epoch_beats_higher_zxid_and_sid() {
        let mut e = started(3, &qv(3, 0), 0x5_0000_0009, 1);
        drain(&mut e);
        e.handle_notification(1, looking(1, v(1, 0x2_0000_0001, 1, 2)));
        assert_eq!(e.proposal(), v(1, 0x2_0000_0001, 1, 2));
    }

    #[test]
    fn higher_zxid_beats_higher_sid() {
        let mut e = started(3, &qv(3, 0), 7, 1);
        drain(&mut e);
        e.handle_notification(1, looking(1, v(1, 8, 1, 1)));
        assert_eq!(e.proposal().leader, 1);
        e.handle_notification(2, looking(2, v(2, 7, 1, 1)));
        assert_eq!(
            e.proposal().leader,
            1,
            "(2, zxid 7) does not beat (1, zxid 8)"
        );
    }

    #[test]
    fn equal_round_worse_vote_is_recorded_not_adopted() {
        let mut e = started(3, &qv(3, 0), 0, 0);
        drain(&mut e);
        e.handle_notification(1, looking(1, v(1, 0, 1, 0)));
        e.handle_notification(2, looking(2, v(2, 0, 1, 0)));
        assert!(sends(&drain(&mut e)).is_empty());
        assert_eq!(e.proposal().leader, 3);
        assert_eq!(e.poll_timeout(), Some(202), "no quorum: polling");
    }

    #[test]
    fn higher_round_restarts_from_the_better_of_its_vote_and_my_initial_vote() {
        let mut e = started(1, &qv(5, 0), 0, 0);
        e.handle_notification(1, looking(3, v(3, 0, 1, 0)));
        assert_eq!(e.proposal().leader, 3);
        drain(&mut e);
        // Round 2 from sid 2 voting for itself: compared with my *initial* vote (1), not 3.
        e.handle_notification(2, looking(2, v(2, 0, 2, 0)));
        assert_eq!(e.logical_clock(), 2);
        assert_eq!(e.proposal(), v(2, 0, 2, 0));
        let out = drain(&mut e);
        assert_eq!(sends(&out).len(), 4);
        assert!(sends(&out).iter().all(|s| s.2 == v(2, 0, 2, 0)));
        // Round 1's votes went with the old recvset: 2 and I are 2 of 5, still polling.
        assert_eq!(e.poll_timeout(), Some(202));
        e.handle_notification(3, looking(4, v(2, 0, 2, 0)));
        assert_eq!(e.poll_timeout(), Some(203), "finalizing on 1, 2, 4");
    }

    #[test]
    fn finalize_ignores_a_newer_round_with_a_worse_vote() {
        // Apache's finalize wait only asks whether the vote is better, whatever its round.
        let mut e = started(1, &qv(3, 0), 0, 0);
        e.handle_notification(1, looking(3, v(3, 0, 1, 0)));
        drain(&mut e);
        assert_eq!(e.poll_timeout(), Some(201), "1 and 3 agree on 3");
        e.handle_notification(2, looking(2, v(2, 0, 2, 0)));
        assert_eq!(e.logical_clock(), 1, "dropped");
        e.handle_timeout(202, Delivery::Delivered);
        assert_eq!(decision(&drain(&mut e)).unwrap().vote, v(3, 0, 1, 0));
    }

    #[test]
    fn higher_round_with_a_worse_vote_keeps_my_initial_vote() {
        let mut e = started(3, &qv(3, 0), 0, 0);
        drain(&mut e);
        e.handle_notification(1, looking(1, v(1, 0, 4, 0)));
        assert_eq!(e.logical_clock(), 4);
        assert_eq!(e.proposal(), v(3, 0, 4, 0));
        assert_eq!(sends(&drain(&mut e)).len(), 2);
    }

    #[test]
    fn lower_round_is_ignored_and_answered_with_my_proposal() {
        let mut e = started(1, &qv(3, 0), 0, 0);
        e.handle_notification(1, looking(3, v(3, 0, 3, 0)));
        drain(&mut e);
        e.handle_notification(2, looking(2, v(2, 9, 1, 5)));
        let out = drain(&mut e);
        assert_eq!(sends(&out), [(2, ServerState::Looking, v(3, 0, 3, 0))]);
        assert_eq!(e.proposal(), v(3, 0, 3, 0));
    }

    #[test]
    fn zxid_minus_one_is_ignored() {
        let mut e = started(1, &qv(3, 0), 0, 0);
        drain(&mut e);
        e.handle_notification(1, looking(2, v(2, -1, 1, 9)));
        assert_eq!(e.proposal().leader, 1);
        // With my own zxid -1 every LOOKING notification is ignored.
        let mut e = started(1, &qv(3, 0), -1, 0);
        drain(&mut e);
        e.handle_notification(1, looking(2, v(3, 5, 1, 9)));
        assert_eq!(e.proposal().leader, 1);
        assert!(drain(&mut e).is_empty());
    }

    #[test]
    fn votes_from_or_for_non_voters_are_ignored() {
        let qv = qv(3, 1);
        let mut e = started(1, &qv, 0, 0);
        drain(&mut e);
        // For a non-member leader.
        e.handle_notification(1, looking(2, v(9, 0, 1, 7)));
        assert_eq!(e.proposal().leader, 1);
        // From the observer: answered with my current vote (receiver rule 1), not counted.
        e.handle_notification(2, looking(4, Vote::non_voter(1)));
        let out = drain(&mut e);
        assert_eq!(sends(&out), [(4, ServerState::Looking, v(1, 0, 1, 0))]);
        // OBSERVING votes are ignored even from a voter.
        e.handle_notification(3, n(2, ServerState::Observing, v(3, 0, 1, 0)));
        assert!(drain(&mut e).is_empty());
        assert_eq!(e.proposal().leader, 1);
    }

    #[test]
    fn every_voter_agreeing_decides_without_the_finalize_wait() {
        let qv = qv(3, 0);
        let mut e = started(3, &qv, 5, 1);
        drain(&mut e);
        let mine = v(3, 5, 1, 1);
        e.handle_notification(11, looking(3, mine));
        e.handle_notification(12, looking(1, mine));
        assert!(
            decision(&drain(&mut e)).is_none(),
            "a quorum waits finalizeWait"
        );
        assert_eq!(e.poll_timeout(), Some(212));
        e.handle_notification(13, looking(2, mine));
        let d = decision(&drain(&mut e)).expect("every voter agrees: decided at once");
        assert_eq!((d.leader, d.state), (3, ServerState::Leading));
    }

    #[test]
    fn a_handed_over_leader_votes_for_its_successor_first_and_for_itself_later() {
        let qv = qv(3, 0);
        let mut e = Election::new(1, &qv, ElectionTiming::default());
        e.start_voting_for(0, Zxid(7), 1, 2, Zxid(8));
        let out = drain(&mut e);
        assert!(
            sends(&out)
                .iter()
                .all(|(_, _, vote)| vote.leader == 2 && vote.zxid == Zxid(8)),
            "{out:?}"
        );
        // A newer round (the successor died before leading) starts from my own vote again.
        e.handle_notification(5, looking(3, v(3, 6, 9, 1)));
        let out = drain(&mut e);
        assert!(
            sends(&out)
                .iter()
                .all(|(_, _, vote)| vote.leader == 1 && vote.zxid == Zxid(7)),
            "{out:?}"
        );
    }

    /// Three elections wired together, every message delivered at once (in a queue), none
    /// timing out: who decided what.
    fn exchange(es: &mut [Election]) -> Vec<Option<Decision>> {
        let mut decided = vec![None; es.len()];
        let mut queue: VecDeque<(usize, Notification)> = VecDeque::new();
        loop {
            for (i, e) in es.iter_mut().enumerate() {
                for o in drain(e) {
                    match o {
                        Output::Send(m) => {
                            let from = i as i64 + 1;
                            queue.push_back((m.to as usize - 1, m.received_from(from)));
                        }
                        Output::Decided(d) => decided[i] = Some(d),
                        _ => {}
                    }
                }
            }
            let Some((to, n)) = queue.pop_front() else {
                return decided;
            };
            es[to].handle_notification(1, n);
        }
    }

    #[test]
    fn a_handover_election_decides_without_waiting_when_every_vote_agrees() {
        let qv = qv(3, 0);
        let mut es: Vec<Election> = (1..=3)
            .map(|id| Election::new(id, &qv, ElectionTiming::default()))
            .collect();
        // Different rounds from earlier elections.
        for (i, rounds) in [(0, 4), (1, 2), (2, 3)] {
            for _ in 0..rounds {
                es[i].logicalclock += 1;
            }
        }
        es[0].start_voting_for(0, Zxid(7), 2, 3, Zxid(8));
        es[1].start(0, Zxid(7), 2);
        es[2].start(0, Zxid(8), 2);
        let d = exchange(&mut es);
        let got: Vec<_> = d.iter().map(|d| d.map(|d| (d.leader, d.state))).collect();
        assert_eq!(
            got,
            [
                Some((3, ServerState::Following)),
                Some((3, ServerState::Following)),
                Some((3, ServerState::Leading))
            ]
        );
    }

    #[test]
    fn finalize_discards_a_non_improving_notification_and_waits_again() {
        let mut e = started(3, &qv(5, 0), 0, 0);
        e.handle_notification(0, looking(1, v(3, 0, 1, 0)));
        e.handle_notification(0, looking(2, v(3, 0, 1, 0)));
        assert_eq!(e.poll_timeout(), Some(200));
        drain(&mut e);
        // Votes for 1 and 2 (worse than 3): dropped, and each time the wait starts again.
        e.handle_notification(150, looking(4, v(1, 0, 1, 0)));
        e.handle_notification(160, looking(5, v(2, 0, 1, 0)));
        assert_eq!(e.poll_timeout(), Some(360));
        e.handle_timeout(200, Delivery::Delivered);
        assert!(drain(&mut e).is_empty(), "not yet");
        e.handle_timeout(360, Delivery::Delivered);
        let d = decision(&drain(&mut e)).unwrap();
        assert_eq!((d.leader, d.state), (3, ServerState::Leading));
    }

    #[test]
    fn finalize_puts_back_an_improving_notification() {
        let mut e = started(1, &qv(5, 0), 0, 0);
        e.handle_notification(0, looking(3, v(3, 0, 1, 0)));
        e.handle_notification(0, looking(2, v(3, 0, 1, 0)));
        drain(&mut e);
        assert_eq!(
            e.poll_timeout(),
            Some(200),
            "1, 2, 3 agree on 3: finalizing"
        );
        e.handle_notification(100, looking(5, v(5, 0, 1, 0)));
        let out = drain(&mut e);
        assert!(decision(&out).is_none());
        assert_eq!(e.proposal().leader, 5);
        assert_eq!(sends(&out).len(), 4);
        assert!(sends(&out).iter().all(|s| s.2.leader == 5));
        assert_eq!(e.poll_timeout(), Some(300), "polling again");
    }

    #[test]
    fn finalize_drops_decided_notifications_too() {
        let mut e = started(3, &qv(3, 0), 0, 0);
        e.handle_notification(0, looking(1, v(3, 0, 1, 0)));
        // A FOLLOWING vote for 2 (worse than 3) during the wait: not even looked at.
        e.handle_notification(50, n(2, ServerState::Leading, v(2, 0, 1, 0)));
        e.handle_timeout(250, Delivery::Delivered);
        assert_eq!(decision(&drain(&mut e)).unwrap().leader, 3);
    }

    #[test]
    fn backoff_doubles_to_sixty_seconds_and_resends() {
        let mut e = started(1, &qv(3, 0), 0, 0);
        drain(&mut e);
        let mut now = 0;
        let mut waits = Vec::new();
        for _ in 0..11 {
            let deadline = e.poll_timeout().unwrap();
            waits.push(deadline - now);
            now = deadline;
            e.handle_timeout(now, Delivery::Delivered);
            assert_eq!(sends(&drain(&mut e)).len(), 2, "re-sent at {now}");
        }
        assert_eq!(
            waits,
            [200, 400, 800, 1600, 3200, 6400, 12800, 25600, 51200, 60000, 60000]
        );
    }

    #[test]
    fn early_timeouts_are_ignored() {
        let mut e = started(1, &qv(3, 0), 0, 0);
        drain(&mut e);
        e.handle_timeout(199, Delivery::Delivered);
        assert!(drain(&mut e).is_empty());
        assert_eq!(e.poll_timeout(), Some(200));
    }

    #[test]
    fn nothing_delivered_asks_to_connect_instead_of_resending() {
        let mut e = started(1, &qv(3, 0), 0, 0);
        drain(&mut e);
        e.handle_timeout(200, Delivery::Undelivered);
        assert_eq!(drain(&mut e), [Output::ConnectAll]);
        assert_eq!(e.poll_timeout(), Some(600));
    }

    #[test]
    fn joiner_decides_from_following_and_leading_replies() {
        // Capture 03: sid 2 restarts; 1 follows 3; both report the vote of the election that
        // formed the ensemble, peerEpoch refreshed to the new epoch 1.
        let mut e = started(2, &qv(3, 1), 0x1_0000_0049, 1);
        drain(&mut e);
        e.handle_notification(20, n(1, ServerState::Following, v(3, 0, 1, 1)));
        assert!(decision(&drain(&mut e)).is_none());
        e.handle_notification(21, n(3, ServerState::Leading, v(3, 0, 1, 1)));
        let d = decision(&drain(&mut e)).expect("decided at once, no finalize wait");
        assert_eq!(d.state, ServerState::Following);
        assert_eq!(d.vote, v(3, 0, 1, 1));
    }

    #[test]
    fn joining_needs_the_leaders_own_leading_reply() {
        let mut e = started(4, &qv(5, 0), 0, 0);
        drain(&mut e);
        for sid in [1, 2, 3] {
            e.handle_notification(1, n(sid, ServerState::Following, v(5, 0, 1, 1)));
        }
        assert!(decision(&drain(&mut e)).is_none(), "no word from 5");
        e.handle_notification(2, n(5, ServerState::Leading, v(5, 0, 1, 1)));
        assert_eq!(decision(&drain(&mut e)).unwrap().leader, 5);
    }

    #[test]
    fn joining_an_older_round_moves_the_logicalclock() {
        let mut e = Election::new(1, &qv(3, 0), ElectionTiming::default());
        e.start(0, Zxid(0), 0);
        e.handle_notification(0, looking(1, v(1, 0, 5, 0)));
        assert_eq!(e.logical_clock(), 5);
        drain(&mut e);
        e.handle_notification(1, n(2, ServerState::Following, v(3, 0, 2, 2)));
        e.handle_notification(2, n(3, ServerState::Leading, v(3, 0, 2, 2)));
        let d = decision(&drain(&mut e)).unwrap();
        assert_eq!(d.vote, v(3, 0, 2, 2));
        assert_eq!(e.logical_clock(), 2);
    }

    #[test]
    fn out_of_election_votes_must_agree_on_the_peer_epoch() {
        let mut e = started(1, &qv(3, 0), 0, 0);
        drain(&mut e);
        // The leader refreshed its peerEpoch (2), the follower not yet (1): not equal.
        e.handle_notification(1, n(3, ServerState::Leading, v(3, 0, 4, 2)));
        e.handle_notification(2, n(2, ServerState::Following, v(3, 0, 4, 1)));
        assert!(decision(&drain(&mut e)).is_none());
        e.handle_notification(3, n(2, ServerState::Following, v(3, 0, 4, 2)));
        assert_eq!(decision(&drain(&mut e)).unwrap().vote, v(3, 0, 4, 2));
    }

    #[test]
    fn same_round_following_votes_count_with_looking_ones() {
        // Round 1: 1 voted (3, 0, 1, 0) LOOKING, then 3 says it is LEADING in round 1.
        let mut e = started(2, &qv(3, 0), 0, 0);
        e.handle_notification(0, looking(1, v(3, 0, 1, 0)));
        drain(&mut e);
        assert_eq!(e.poll_timeout(), Some(200), "finalizing on 1, 2 for 3");
        e.handle_timeout(200, Delivery::Delivered);
        assert_eq!(
            decision(&drain(&mut e)).unwrap().state,
            ServerState::Following
        );
    }

    #[test]
    fn stale_looking_message_then_leading_reply() {
        // Capture 05: the joiner first sees a stale LOOKING message of round 2 from sid 2
        // (which leads), moves to round 2 and re-sends, then gets the real replies.
        let mut e = started(3, &qv(3, 0), 0x1_0000_004c, 1);
        drain(&mut e);
        e.handle_notification(1, looking(2, v(2, 0x1_0000_004c, 2, 1)));
        assert_eq!(e.logical_clock(), 2);
        assert_eq!(
            e.proposal(),
            v(3, 0x1_0000_004c, 2, 1),
            "my own vote is better"
        );
        assert_eq!(sends(&drain(&mut e)).len(), 2);
        e.handle_notification(2, n(1, ServerState::Following, v(2, 0x1_0000_004c, 2, 2)));
        e.handle_notification(3, n(2, ServerState::Leading, v(2, 0x1_0000_004c, 2, 2)));
        let d = decision(&drain(&mut e)).unwrap();
        assert_eq!((d.leader, d.state), (2, ServerState::Following));
    }

    #[test]
    fn duplicate_votes_do_not_change_the_outcome() {
        let mut e = started(3, &qv(3, 0), 0, 0);
        let dup = looking(1, v(3, 0, 1, 0));
        e.handle_notification(0, dup.clone());
        for t in [10, 20, 30] {
            e.handle_notification(t, dup.clone());
        }
        // The cold-start vote of 1 re-sent on reconnect (older, worse): dropped as well.
        e.handle_notification(40, looking(1, v(1, 0, 1, 0)));
        e.handle_timeout(240, Delivery::Delivered);
        assert_eq!(decision(&drain(&mut e)).unwrap().vote, v(3, 0, 1, 0));
    }

    #[test]
    fn observer_votes_min_value_and_learns_the_leader() {
        let qv = qv(3, 1);
        let mut e = started(4, &qv, 0x1_0000_0010, 1);
        let out = drain(&mut e);
        let min = Vote::non_voter(1);
        assert_eq!(
            sends(&out),
            [
                (1, ServerState::Looking, min),
                (2, ServerState::Looking, min),
                (3, ServerState::Looking, min)
            ]
        );
        // Capture 06: the voters answer (rule 1) with their decided votes.
        e.handle_notification(1, n(1, ServerState::Following, v(3, 0, 1, 1)));
        e.handle_notification(2, n(3, ServerState::Leading, v(3, 0, 1, 1)));
        let d = decision(&drain(&mut e)).unwrap();
        assert_eq!((d.leader, d.state), (3, ServerState::Observing));
    }

    #[test]
    fn observer_follows_looking_voters_but_never_proposes_itself() {
        let qv = qv(3, 1);
        let mut e = started(4, &qv, 0, 0);
        drain(&mut e);
        e.handle_notification(1, looking(2, v(2, 0, 1, 0)));
        assert_eq!(e.proposal(), v(2, 0, 1, 0));
        // It sends its new proposal to the voters only (not to itself: it is no voter).
        assert_eq!(sends(&drain(&mut e)).len(), 3);
        for sid in [1, 2, 3] {
            e.handle_notification(2, looking(sid, v(3, 0, 1, 0)));
        }
        e.handle_timeout(202, Delivery::Delivered);
        let d = decision(&drain(&mut e)).unwrap();
        assert_eq!((d.leader, d.state), (3, ServerState::Observing));
    }

    #[test]
    fn after_a_decision_the_responder_reports_the_refreshed_vote() {
        let mut e = started(3, &qv(3, 1), 0, 0);
        e.handle_notification(0, looking(1, v(3, 0, 1, 0)));
        e.handle_timeout(200, Delivery::Delivered);
        drain(&mut e);
        e.update_election_vote(1);
        e.handle_notification(300, looking(2, v(2, 0x1_0000_0049, 1, 1)));
        assert_eq!(
            sends(&drain(&mut e)),
            [(2, ServerState::Leading, v(3, 0, 1, 1))]
        );
        // Observers get my logicalclock as the round.
        e.handle_notification(301, looking(4, Vote::non_voter(1)));
        assert_eq!(
            sends(&drain(&mut e)),
            [(4, ServerState::Leading, v(3, 0, 1, 1))]
        );
        // Decided peers do not answer each other; timeouts do nothing.
        e.handle_notification(302, n(1, ServerState::Following, v(3, 0, 1, 1)));
        e.handle_timeout(10_000, Delivery::Delivered);
        assert!(drain(&mut e).is_empty());
        assert_eq!(e.poll_timeout(), None);
    }

    #[test]
    fn a_new_round_after_a_decision() {
        let mut e = started(3, &qv(3, 0), 0, 0);
        e.handle_notification(0, looking(1, v(3, 0, 1, 0)));
        e.handle_timeout(200, Delivery::Delivered);
        drain(&mut e);
        e.update_election_vote(1);
        // The leader is gone: LOOKING again with what was synced.
        e.start(1000, Zxid(0x1_0000_0004), 1);
        assert_eq!(e.logical_clock(), 2);
        assert_eq!(e.state(), ServerState::Looking);
        let out = drain(&mut e);
        assert!(sends(&out).iter().all(|s| s.2 == v(3, 0x1_0000_0004, 2, 1)));
        // Observers still hear the previous decided vote while I look.
        assert_eq!(e.current_vote(), Some(v(3, 0, 1, 1)));
        // A second start while looking changes nothing.
        e.start(1001, Zxid(9), 9);
        assert_eq!(e.logical_clock(), 2);
    }

    #[test]
    fn a_newer_different_config_stops_the_election() {
        let mut e = started(1, &qv(3, 0), 0, 0);
        drain(&mut e);
        let mut m = looking(2, v(2, 0, 1, 0));
        m.config = Some("server.1=a:1:2\nserver.2=b:1:2\nversion=1".into());
        e.handle_notification(1, m);
        let out = drain(&mut e);
        assert!(matches!(&out[..], [Output::Restart(qv)] if qv.version() == 1));
        assert!(e.is_stopped());
        assert_eq!(e.poll_timeout(), None);
        e.handle_notification(2, looking(3, v(3, 0, 1, 0)));
        e.start(3, Zxid(0), 0);
        assert!(drain(&mut e).is_empty());
    }

    #[test]
    fn notifications_before_start_wait_in_the_bounded_queue() {
        let mut e = Election::new(1, &qv(3, 0), ElectionTiming::default());
        for i in 0..150 {
            e.handle_notification(0, looking(2, v(2, i, 1, 0)));
        }
        assert!(drain(&mut e).is_empty());
        assert_eq!(e.queue.len(), RECV_CAPACITY);
        e.start(0, Zxid(0), 0);
        // The newest kept vote (zxid 149) wins.
        assert_eq!(e.proposal(), v(2, 149, 1, 0));
        assert_eq!(e.queue.len(), 0);
    }

    #[test]
    fn notification_version_is_two() {
        assert_eq!(looking(1, v(1, 0, 1, 0)).version, CURRENT_VERSION);
    }
}
