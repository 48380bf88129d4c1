//! Votes and their order (`QuorumPeer.ServerState`, `Vote`, `FastLeaderElection.totalOrderPredicate`).

use zk_core::Zxid;

use super::verifier::QuorumVerifier;

/// A member's state (`QuorumPeer.ServerState`); the wire carries its ordinal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ServerState {
    /// Electing (ordinal 0).
    Looking,
    /// Following a leader (ordinal 1).
    Following,
    /// Leading (ordinal 2).
    Leading,
    /// Observing a leader (ordinal 3).
    Observing,
}

impl ServerState {
    /// The ordinal sent on the wire.
    pub fn ordinal(self) -> i32 {
        match self {
            ServerState::Looking => 0,
            ServerState::Following => 1,
            ServerState::Leading => 2,
            ServerState::Observing => 3,
        }
    }

    /// The state of a wire ordinal; Apache drops a notification with any other value.
    pub fn from_ordinal(n: i32) -> Option<ServerState> {
        match n {
            0 => Some(ServerState::Looking),
            1 => Some(ServerState::Following),
            2 => Some(ServerState::Leading),
            3 => Some(ServerState::Observing),
            _ => None,
        }
    }
}

/// A vote: who should lead, with that member's last zxid and epoch, in which election round.
///
/// This is the value part of Apache's `Vote`; [`RecordedVote`] adds the state and the format
/// version that `Vote.equals` looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Vote {
    /// The proposed (or elected) leader's sid (`Long.MIN_VALUE` in an observer's first vote).
    pub leader: i64,
    /// That leader's last logged zxid as of the election.
    pub zxid: Zxid,
    /// The election round (`logicalclock`) the vote belongs to.
    pub election_epoch: i64,
    /// The proposed leader's epoch (its currentEpoch); after sync, the new epoch (ZOOKEEPER-1732).
    pub peer_epoch: i64,
}

impl Vote {
    /// The vote of a member that cannot lead (an observer): every field `Long.MIN_VALUE` but
    /// the round.
    pub fn non_voter(election_epoch: i64) -> Vote {
        Vote {
            leader: i64::MIN,
            zxid: Zxid(i64::MIN),
            election_epoch,
            peer_epoch: i64::MIN,
        }
    }

    /// True when this vote's candidate beats `other`'s ([`total_order_predicate`]).
    pub fn beats(&self, other: &Vote, qv: &QuorumVerifier) -> bool {
        total_order_predicate(
            (self.leader, self.zxid, self.peer_epoch),
            (other.leader, other.zxid, other.peer_epoch),
            qv,
        )
    }
}

/// `FastLeaderElection.totalOrderPredicate(newId, newZxid, newEpoch, curId, curZxid, curEpoch)`:
/// the new candidate wins on a higher peerEpoch, then a higher zxid, then a higher sid. A
/// candidate of weight 0 never wins (never the case with majority quorums, where every id
/// weighs 1).
pub fn total_order_predicate(
    new: (i64, Zxid, i64),
    current: (i64, Zxid, i64),
    qv: &QuorumVerifier,
) -> bool {
    let (new_id, new_zxid, new_epoch) = new;
    let (cur_id, cur_zxid, cur_epoch) = current;
    if qv.weight(new_id) == 0 {
        return false;
    }
    (new_epoch, new_zxid, new_id) > (cur_epoch, cur_zxid, cur_id)
}

/// A vote as FastLeaderElection records it for a sender (in `recvset` / `outofelection`) and
/// compares it: Apache's `Vote` with its `state` and message `version`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RecordedVote {
    /// The vote.
    pub vote: Vote,
    /// The sender's state.
    pub state: ServerState,
    /// The notification format version (2 today; 0 for votes built without one).
    pub version: i32,
}

impl RecordedVote {
    /// `Vote.equals`: with a LOOKING side, leader, zxid, election epoch and peer epoch must all
    /// match; otherwise the leader must match, and the peer epoch too unless exactly one side
    /// has version > 0 (ZOOKEEPER-1732's rolling-upgrade rule). The zxid and the round of
    /// out-of-election votes are not compared (ZOOKEEPER-1805).
    pub fn equals(&self, other: &RecordedVote) -> bool {
        let (a, b) = (&self.vote, &other.vote);
        if self.state == ServerState::Looking || other.state == ServerState::Looking {
            return a == b;
        }
        if (self.version > 0) != (other.version > 0) {
            a.leader == b.leader
        } else {
            a.leader == b.leader && a.peer_epoch == b.peer_epoch
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn qv() -> QuorumVerifier {
        QuorumVerifier::parse_qv_text("server.1=a:1:2\nserver.2=b:1:2\nserver.3=c:1:2", false)
            .unwrap()
    }

    fn v(leader: i64, zxid: i64, election_epoch: i64, peer_epoch: i64) -> Vote {
        Vote {
            leader,
            zxid: Zxid(zxid),
            election_epoch,
            peer_epoch,
        }
    }

    #[test]
    fn state_ordinals_are_the_wire_values() {
        for s in [
            ServerState::Looking,
            ServerState::Following,
            ServerState::Leading,
            ServerState::Observing,
        ] {
            assert_eq!(ServerState::from_ordinal(s.ordinal()), Some(s));
        }
        assert_eq!(ServerState::Leading.ordinal(), 2);
        assert_eq!(ServerState::from_ordinal(4), None);
    }

    #[test]
    fn peer_epoch_then_zxid_then_sid() {
        let qv = qv();
        // Higher peerEpoch beats a higher zxid and sid.
        assert!(v(1, 5, 1, 2).beats(&v(3, 9, 1, 1), &qv));
        // Same epoch: higher zxid beats a higher sid.
        assert!(v(1, 9, 1, 1).beats(&v(3, 5, 1, 1), &qv));
        // Same epoch and zxid: higher sid.
        assert!(v(3, 5, 1, 1).beats(&v(2, 5, 1, 1), &qv));
        // Equal candidates: no change. The round does not matter.
        assert!(!v(3, 5, 1, 1).beats(&v(3, 5, 7, 1), &qv));
        // Anyone beats an observer's vote.
        assert!(v(1, 0, 1, 0).beats(&Vote::non_voter(1), &qv));
    }

    #[test]
    fn equality_with_a_looking_side_compares_everything() {
        let looking = |vote| RecordedVote {
            vote,
            state: ServerState::Looking,
            version: 0,
        };
        let following = RecordedVote {
            vote: v(3, 0, 1, 1),
            state: ServerState::Following,
            version: 2,
        };
        assert!(looking(v(3, 0, 1, 1)).equals(&following));
        assert!(!looking(v(3, 0, 2, 1)).equals(&following));
        assert!(!looking(v(3, 1, 1, 1)).equals(&following));
    }

    #[test]
    fn out_of_election_equality_ignores_zxid_and_round() {
        let rec = |vote, state, version| RecordedVote {
            vote,
            state,
            version,
        };
        let leading = rec(v(3, 0, 1, 1), ServerState::Leading, 2);
        assert!(leading.equals(&rec(v(3, 0x49, 4, 1), ServerState::Following, 2)));
        assert!(!leading.equals(&rec(v(3, 0, 1, 2), ServerState::Following, 2)));
        // Exactly one side with version > 0: only the leader is compared.
        assert!(leading.equals(&rec(v(3, 0, 1, 2), ServerState::Following, 0)));
        assert!(!leading.equals(&rec(v(2, 0, 1, 1), ServerState::Following, 0)));
    }
}
