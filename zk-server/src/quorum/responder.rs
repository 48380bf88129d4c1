//! What Apache's receiver thread (`FastLeaderElection.Messenger.WorkerReceiver.run`) does with
//! each notification, whatever the election loop is doing: answer it, hand it to the election
//! loop, or stop the election.
//!
//! 0. A config (format version 2+) with a higher version than mine that is not
//!    `QuorumMaj.equals` to mine, while I am LOOKING: Apache shuts the election down (with
//!    reconfig off the config itself is not adopted) and the peer starts a new one. The
//!    notification goes no further. A config that does not parse is ignored.
//! 1. Sender not a voter (an observer): reply with my current vote, my logicalclock as the
//!    round, my state.
//! 2. I am LOOKING: hand it to the election loop; if the sender is LOOKING in an older round,
//!    also reply with my proposal and my logicalclock.
//! 3. I am not LOOKING, the sender is: reply with my current (decided) vote and its round, in my
//!    state. This is how a joiner learns the leader (Apache's leader also reports the looking
//!    sid to its `Leader`, which matters only with `zookeeper.leader.maxTimeToWaitForEpoch`).
//! 4. Neither is LOOKING: nothing.

use std::sync::Arc;

use super::notification::{Notification, ToSend};
use super::verifier::QuorumVerifier;
use super::vote::{ServerState, Vote};

/// What the receiver thread knows about its own peer.
#[derive(Debug, Clone, Copy)]
pub struct PeerView<'a> {
    /// My state (`QuorumPeer.getPeerState()`).
    pub state: ServerState,
    /// `QuorumPeer.getCurrentVote()`: the last decided vote (peerEpoch refreshed after sync),
    /// or before the first decision the start-up vote (my id, last zxid, currentEpoch). None
    /// before the election has started.
    pub current_vote: Option<Vote>,
    /// The election's logicalclock.
    pub logicalclock: i64,
    /// The election's proposal (`getVote()`: leader, zxid, peerEpoch; the round is unused).
    pub proposal: Vote,
    /// My config.
    pub verifier: &'a QuorumVerifier,
    /// My config's QV text.
    pub config_text: &'a Arc<str>,
}

/// What to do with one notification.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Receipt {
    /// A reply to send now.
    pub reply: Option<ToSend>,
    /// Hand the notification to the election loop.
    pub enqueue: bool,
    /// The notification carried a newer config that differs from mine while I am LOOKING:
    /// stop this election (Apache: `shuttingDownLE`), as a new one must start.
    pub restart: Option<QuorumVerifier>,
}

/// Decides what the receiver thread does with `n` (see the module docs).
pub fn receive(me: &PeerView<'_>, n: &Notification) -> Receipt {
    if let Some(newer) = newer_different_config(me, n) {
        return Receipt {
            restart: Some(newer),
            ..Receipt::default()
        };
    }
    let reply = |state: ServerState, vote: Vote| {
        Some(ToSend::new(n.from, state, vote, Arc::clone(me.config_text)))
    };
    if !me.verifier.is_voter(n.from) {
        let reply = me.current_vote.and_then(|current| {
            reply(
                me.state,
                Vote {
                    election_epoch: me.logicalclock,
                    ..current
                },
            )
        });
        return Receipt {
            reply,
            ..Receipt::default()
        };
    }
    if me.state == ServerState::Looking {
        let stale = n.state == ServerState::Looking && n.election_epoch < me.logicalclock;
        let reply = stale
            .then(|| {
                reply(
                    me.state,
                    Vote {
                        election_epoch: me.logicalclock,
                        ..me.proposal
                    },
                )
            })
            .flatten();
        return Receipt {
            reply,
            enqueue: true,
            restart: None,
        };
    }
    if n.state == ServerState::Looking {
        return Receipt {
            reply: me.current_vote.and_then(|current| reply(me.state, current)),
            ..Receipt::default()
        };
    }
    Receipt::default()
}

/// Rule 0: the config `n` carries, when it makes a LOOKING peer restart its election.
fn newer_different_config(me: &PeerView<'_>, n: &Notification) -> Option<QuorumVerifier> {
    if n.version <= 1 {
        return None;
    }
    let text = n.config.as_deref()?;
    let received = match QuorumVerifier::parse_qv_text(text, true) {
        Ok(qv) => qv,
        Err(e) => {
            tracing::warn!(from = n.from, error = %e, "ignoring the config of a notification");
            return None;
        }
    };
    if received.version() <= me.verifier.version() {
        return None;
    }
    if me.state != ServerState::Looking {
        tracing::info!(
            from = n.from,
            version = received.version(),
            "newer config in a notification; not LOOKING, ignored"
        );
        return None;
    }
    (!received.quorum_maj_equals(me.verifier)).then_some(received)
}

#[cfg(test)]
mod tests {
    use super::*;
    use zk_core::Zxid;

    const QV: &str =
        "server.1=h:1:2\nserver.2=h:3:4\nserver.3=h:5:6\nserver.4=h:7:8:observer\nversion=0";

    fn v(leader: i64, zxid: i64, election_epoch: i64, peer_epoch: i64) -> Vote {
        Vote {
            leader,
            zxid: Zxid(zxid),
            election_epoch,
            peer_epoch,
        }
    }

    struct Fixture {
        qv: QuorumVerifier,
        text: Arc<str>,
    }

    impl Fixture {
        fn new() -> Fixture {
            Fixture {
                qv: QuorumVerifier::parse_qv_text(QV, false).unwrap(),
                text: Arc::from(QV),
            }
        }

        fn view(&self, state: ServerState) -> PeerView<'_> {
            PeerView {
                state,
                current_vote: Some(v(3, 0, 1, 1)),
                logicalclock: 5,
                proposal: v(2, 7, -1, 1),
                verifier: &self.qv,
                config_text: &self.text,
            }
        }
    }

    fn from(sid: i64, state: ServerState, vote: Vote) -> Notification {
        Notification::with_state(sid, state, vote, Some(QV.into()))
    }

    #[test]
    fn an_observer_gets_my_current_vote_with_my_logicalclock() {
        let f = Fixture::new();
        for state in [ServerState::Looking, ServerState::Following] {
            let r = receive(
                &f.view(state),
                &from(4, ServerState::Looking, Vote::non_voter(1)),
            );
            let reply = r.reply.unwrap();
            assert_eq!((reply.to, reply.state), (4, state));
            assert_eq!(reply.vote(), v(3, 0, 5, 1));
            assert!(!r.enqueue);
        }
    }

    #[test]
    fn looking_enqueues_and_answers_an_older_round_with_the_proposal() {
        let f = Fixture::new();
        let me = f.view(ServerState::Looking);
        let r = receive(&me, &from(1, ServerState::Looking, v(1, 0, 4, 0)));
        assert!(r.enqueue);
        let reply = r.reply.unwrap();
        assert_eq!(reply.state, ServerState::Looking);
        assert_eq!(reply.vote(), v(2, 7, 5, 1));
        // Same or newer round, or a FOLLOWING sender: no reply.
        assert_eq!(
            receive(&me, &from(1, ServerState::Looking, v(1, 0, 5, 0))).reply,
            None
        );
        let r = receive(&me, &from(1, ServerState::Following, v(3, 0, 1, 1)));
        assert!(r.enqueue && r.reply.is_none());
    }

    #[test]
    fn decided_answers_a_looking_voter_with_the_decided_vote_and_its_round() {
        let f = Fixture::new();
        let r = receive(
            &f.view(ServerState::Leading),
            &from(2, ServerState::Looking, v(2, 9, 7, 1)),
        );
        let reply = r.reply.unwrap();
        assert_eq!(reply.state, ServerState::Leading);
        assert_eq!(reply.vote(), v(3, 0, 1, 1));
        assert!(!r.enqueue);
        // Two decided peers do not talk.
        let r = receive(
            &f.view(ServerState::Following),
            &from(2, ServerState::Leading, v(2, 9, 7, 1)),
        );
        assert_eq!(r, Receipt::default());
    }

    #[test]
    fn a_newer_different_config_restarts_only_a_looking_peer() {
        let f = Fixture::new();
        let newer = "server.1=h:1:2\nserver.2=h:3:4\nversion=100000000";
        let n =
            Notification::with_state(1, ServerState::Looking, v(1, 0, 5, 0), Some(newer.into()));
        let r = receive(&f.view(ServerState::Looking), &n);
        assert_eq!(r.restart.map(|q| q.version()), Some(0x1_0000_0000));
        assert!(r.reply.is_none() && !r.enqueue);
        // Not LOOKING: ignored, the notification is handled as usual.
        let r = receive(&f.view(ServerState::Following), &n);
        assert!(r.restart.is_none() && r.reply.is_some());
        // Same members under a newer version: equal, no restart.
        let same = QV.replace("version=0", "version=2");
        let n = Notification::with_state(1, ServerState::Looking, v(1, 0, 5, 0), Some(same));
        assert!(receive(&f.view(ServerState::Looking), &n).restart.is_none());
        // An unparsable config is ignored.
        let n =
            Notification::with_state(1, ServerState::Looking, v(1, 0, 5, 0), Some("x=1".into()));
        assert!(receive(&f.view(ServerState::Looking), &n).enqueue);
    }
}
