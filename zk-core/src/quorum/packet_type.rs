//! [`PacketType`]: the `type` of a [`QuorumPacket`](super::QuorumPacket), Apache ZooKeeper's
//! `Leader` constants (`Leader.REQUEST` ... `Leader.INFORMANDACTIVATE`).

/// What a quorum packet is (`Leader.REQUEST` = 1 ... `Leader.INFORMANDACTIVATE` = 19).
///
/// A packet keeps its type as a raw `i32`, so an unknown one survives decoding; this enum names
/// the known ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PacketType {
    /// A write a learner forwards to the leader (`Leader.REQUEST`).
    Request,
    /// A transaction the leader proposes (`Leader.PROPOSAL`).
    Proposal,
    /// A learner's acknowledgement of a proposal, NEWLEADER or UPTODATE (`Leader.ACK`).
    Ack,
    /// The leader commits a zxid (`Leader.COMMIT`).
    Commit,
    /// Liveness, and the learner's session touches in its reply (`Leader.PING`).
    Ping,
    /// A session moving to a learner (`Leader.REVALIDATE`).
    Revalidate,
    /// The answer to a forwarded sync (`Leader.SYNC`).
    Sync,
    /// A committed transaction sent to an observer (`Leader.INFORM`).
    Inform,
    /// A commit of a reconfig (`Leader.COMMITANDACTIVATE`).
    CommitAndActivate,
    /// The end of the sync: the new epoch and its config (`Leader.NEWLEADER`).
    NewLeader,
    /// A follower's first packet (`Leader.FOLLOWERINFO`).
    FollowerInfo,
    /// The learner is in sync and may serve (`Leader.UPTODATE`).
    UpToDate,
    /// Sync by proposals (`Leader.DIFF`).
    Diff,
    /// Sync by truncating the learner's log (`Leader.TRUNC`).
    Trunc,
    /// Sync by a snapshot that follows in the stream (`Leader.SNAP`).
    Snap,
    /// An observer's first packet (`Leader.OBSERVERINFO`).
    ObserverInfo,
    /// The leader's proposed epoch (`Leader.LEADERINFO`).
    LeaderInfo,
    /// The learner's answer to LEADERINFO (`Leader.ACKEPOCH`).
    AckEpoch,
    /// An INFORM of a reconfig (`Leader.INFORMANDACTIVATE`).
    InformAndActivate,
}

/// Every known type with its number and Apache ZooKeeper's name for it.
const TABLE: [(PacketType, i32, &str); 19] = [
    (PacketType::Request, 1, "REQUEST"),
    (PacketType::Proposal, 2, "PROPOSAL"),
    (PacketType::Ack, 3, "ACK"),
    (PacketType::Commit, 4, "COMMIT"),
    (PacketType::Ping, 5, "PING"),
    (PacketType::Revalidate, 6, "REVALIDATE"),
    (PacketType::Sync, 7, "SYNC"),
    (PacketType::Inform, 8, "INFORM"),
    (PacketType::CommitAndActivate, 9, "COMMITANDACTIVATE"),
    (PacketType::NewLeader, 10, "NEWLEADER"),
    (PacketType::FollowerInfo, 11, "FOLLOWERINFO"),
    (PacketType::UpToDate, 12, "UPTODATE"),
    (PacketType::Diff, 13, "DIFF"),
    (PacketType::Trunc, 14, "TRUNC"),
    (PacketType::Snap, 15, "SNAP"),
    (PacketType::ObserverInfo, 16, "OBSERVERINFO"),
    (PacketType::LeaderInfo, 17, "LEADERINFO"),
    (PacketType::AckEpoch, 18, "ACKEPOCH"),
    (PacketType::InformAndActivate, 19, "INFORMANDACTIVATE"),
];

impl PacketType {
    /// The type for a wire number, if known.
    pub fn from_i32(v: i32) -> Option<PacketType> {
        TABLE.iter().find(|(_, n, _)| *n == v).map(|(t, _, _)| *t)
    }

    /// The wire number.
    pub fn as_i32(self) -> i32 {
        self.entry().1
    }

    /// Apache ZooKeeper's name (`LearnerHandler.packetToString`): `"PROPOSAL"`, `"ACKEPOCH"`, ...
    pub fn name(self) -> &'static str {
        self.entry().2
    }

    /// The type with this name, if known.
    pub fn from_name(name: &str) -> Option<PacketType> {
        TABLE
            .iter()
            .find(|(_, _, s)| *s == name)
            .map(|(t, _, _)| *t)
    }

    fn entry(self) -> &'static (PacketType, i32, &'static str) {
        // The table lists every variant in declaration order, so the discriminant indexes it.
        let e = &TABLE[self as usize];
        debug_assert_eq!(e.0, self);
        e
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_names() {
        for (i, (t, n, name)) in TABLE.iter().enumerate() {
            assert_eq!(*n as usize, i + 1);
            assert_eq!(PacketType::from_i32(*n), Some(*t));
            assert_eq!(t.as_i32(), *n);
            assert_eq!(t.name(), *name);
            assert_eq!(PacketType::from_name(name), Some(*t));
        }
        assert_eq!(PacketType::from_i32(0), None);
        assert_eq!(PacketType::from_i32(20), None);
        assert_eq!(PacketType::InformAndActivate.as_i32(), 19);
    }
}
