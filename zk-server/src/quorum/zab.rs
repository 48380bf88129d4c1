//! Zab's messages on the quorum port, typed (`Leader`'s packet types with their payloads
//! decoded). The tokio driver turns them into Apache ZooKeeper's `QuorumPacket` records and
//! back (`wire.rs`); the state machines and the simulator only see these.

use zk_core::txn::TxnHeader;
use zk_core::{SessionId, Zxid};

use crate::core::{DataTree, ForwardedRequest};
use zk_core::txn::TxnBody;

/// The Zab protocol version a learner and a leader announce (`0x10000`, Zab 1.0).
pub const PROTOCOL_VERSION: i32 = 0x10000;

/// A transaction in flight: a PROPOSAL's or an INFORM's txn entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Txn {
    /// Its header (session, cxid, zxid, leader time, type).
    pub header: TxnHeader,
    /// Its body.
    pub body: TxnBody,
}

impl Txn {
    /// The transaction's zxid.
    pub fn zxid(&self) -> Zxid {
        self.header.zxid
    }
}

/// A learner's self-description (`LearnerInfo`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LearnerInfo {
    /// The learner's server id.
    pub server_id: i64,
    /// Its Zab protocol version (`0x10000`).
    pub protocol_version: i32,
    /// The version of its quorum configuration.
    pub config_version: i64,
}

/// One quorum-port message, by `Leader`'s packet type.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Zab {
    /// 1: a client request a learner forwards.
    Request(ForwardedRequest),
    /// 2: a transaction the leader proposes.
    Proposal(Txn),
    /// 3: a learner acknowledges a zxid (a proposal, NEWLEADER or UPTODATE).
    Ack(Zxid),
    /// 4: the leader commits a zxid.
    Commit(Zxid),
    /// 5: the leader's liveness probe (zxid: its last proposal), and the learner's answer with
    /// the sessions its clients used since the last one.
    Ping {
        /// The zxid the leader sent, echoed.
        zxid: Zxid,
        /// Learner → leader: touched sessions and their timeouts.
        touches: Vec<(SessionId, i32)>,
    },
    /// 6, learner → leader: validate a session that reconnected to the learner.
    Revalidate {
        /// The session.
        session: SessionId,
        /// Its timeout.
        timeout_ms: i32,
    },
    /// 6, leader → learner: the answer.
    RevalidateReply {
        /// The session.
        session: SessionId,
        /// Whether it is live.
        valid: bool,
    },
    /// 7: the answer to a forwarded sync.
    Sync,
    /// 8: a committed transaction for an observer.
    Inform(Txn),
    /// 9: the leader commits a reconfig: the follower commits `zxid` (its logged reconfig
    /// proposal) and activates that config, with `designated_leader` leading under it.
    CommitAndActivate {
        /// The reconfig's zxid.
        zxid: Zxid,
        /// Who leads under the new config.
        designated_leader: i64,
    },
    /// 19: a committed reconfig for an observer, with the config to activate.
    InformAndActivate {
        /// The reconfig transaction.
        txn: Txn,
        /// Who leads under the new config.
        designated_leader: i64,
    },
    /// 10: the leader's epoch is established; the learner must persist and acknowledge.
    NewLeader {
        /// `newEpoch << 32`.
        zxid: Zxid,
        /// The leader's quorum configuration text.
        config: String,
    },
    /// 11: a follower registers (zxid: `acceptedEpoch << 32`).
    FollowerInfo {
        /// The follower's accepted epoch.
        accepted_epoch: u32,
        /// Its LearnerInfo.
        info: LearnerInfo,
    },
    /// 16: an observer registers.
    ObserverInfo {
        /// The observer's accepted epoch.
        accepted_epoch: u32,
        /// Its LearnerInfo.
        info: LearnerInfo,
    },
    /// 12: the learner is synchronized and may serve clients.
    UpToDate,
    /// 13: synchronization by the transactions that follow.
    Diff(Zxid),
    /// 14: drop every logged transaction after this zxid.
    Trunc(Zxid),
    /// 15: synchronization by a whole snapshot (inline on the wire after the packet).
    Snap {
        /// The zxid the snapshot reflects.
        zxid: Zxid,
        /// The snapshot.
        tree: Box<DataTree>,
    },
    /// 17: the epoch the leader proposes.
    LeaderInfo {
        /// The new epoch.
        epoch: u32,
        /// The leader's protocol version.
        protocol_version: i32,
    },
    /// 18: the learner accepted the epoch.
    AckEpoch {
        /// The learner's last logged zxid.
        last_zxid: Zxid,
        /// Its current epoch, or -1 when it had already accepted this epoch.
        current_epoch: i32,
    },
    /// A packet type the state machines do not act on (logged and ignored).
    Other {
        /// The packet type.
        packet_type: i32,
        /// Its zxid.
        zxid: Zxid,
    },
}

impl Zab {
    /// The packet's name as Apache ZooKeeper logs it.
    pub fn name(&self) -> &'static str {
        match self {
            Zab::Request(_) => "REQUEST",
            Zab::Proposal(_) => "PROPOSAL",
            Zab::Ack(_) => "ACK",
            Zab::Commit(_) => "COMMIT",
            Zab::Ping { .. } => "PING",
            Zab::Revalidate { .. } | Zab::RevalidateReply { .. } => "REVALIDATE",
            Zab::Sync => "SYNC",
            Zab::Inform(_) => "INFORM",
            Zab::CommitAndActivate { .. } => "COMMITANDACTIVATE",
            Zab::InformAndActivate { .. } => "INFORMANDACTIVATE",
            Zab::NewLeader { .. } => "NEWLEADER",
            Zab::FollowerInfo { .. } => "FOLLOWERINFO",
            Zab::ObserverInfo { .. } => "OBSERVERINFO",
            Zab::UpToDate => "UPTODATE",
            Zab::Diff(_) => "DIFF",
            Zab::Trunc(_) => "TRUNC",
            Zab::Snap { .. } => "SNAP",
            Zab::LeaderInfo { .. } => "LEADERINFO",
            Zab::AckEpoch { .. } => "ACKEPOCH",
            Zab::Other { .. } => "UNKNOWN",
        }
    }
}

/// A quorum-port connection, as the peer knows it. Ids the peer allocates for the connections
/// it opens have the top bit set; the driver numbers accepted connections below that.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LinkId(pub u64);

impl LinkId {
    /// The first id of the peer's own (outgoing) connections.
    pub const OUTGOING: u64 = 1 << 63;
}
