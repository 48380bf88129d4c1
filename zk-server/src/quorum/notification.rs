//! Election messages as values (`FastLeaderElection.Notification` and `ToSend`), independent of
//! the wire: the driver converts them from and to zk-core's notification record, and supplies
//! the sender's sid from the connection (it is not in the payload).

use std::sync::Arc;

use zk_core::Zxid;

use super::vote::{RecordedVote, ServerState, Vote};

/// The notification format version Apache 3.5+ sends (`Notification.CURRENTVERSION`).
pub const CURRENT_VERSION: i32 = 2;

/// A received notification (`FastLeaderElection.Notification`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    /// The sender's sid (from the connection's initial message).
    pub from: i64,
    /// The sender's state.
    pub state: ServerState,
    /// The leader it proposes or follows.
    pub leader: i64,
    /// That leader's zxid.
    pub zxid: Zxid,
    /// The sender's round (its logicalclock, or the round of its decided vote).
    pub election_epoch: i64,
    /// The proposed leader's epoch.
    pub peer_epoch: i64,
    /// The format version: 0 for the 28- and 40-byte forms, else the payload's.
    pub version: i32,
    /// The QV text of the sender's config (present from version 2 on).
    pub config: Option<String>,
}

impl Notification {
    /// The vote it carries.
    pub fn vote(&self) -> Vote {
        Vote {
            leader: self.leader,
            zxid: self.zxid,
            election_epoch: self.election_epoch,
            peer_epoch: self.peer_epoch,
        }
    }

    /// A LOOKING notification of `vote` from `from`, with `config` (version 2): what a peer
    /// sends when its proposal changes.
    pub fn looking(from: i64, vote: Vote, config: Option<String>) -> Notification {
        Notification::with_state(from, ServerState::Looking, vote, config)
    }

    /// A notification of `vote` in `state` from `from`, version 2.
    pub fn with_state(
        from: i64,
        state: ServerState,
        vote: Vote,
        config: Option<String>,
    ) -> Notification {
        Notification {
            from,
            state,
            leader: vote.leader,
            zxid: vote.zxid,
            election_epoch: vote.election_epoch,
            peer_epoch: vote.peer_epoch,
            version: CURRENT_VERSION,
            config,
        }
    }

    /// The vote as a LOOKING notification is recorded (`new Vote(leader, zxid, electionEpoch,
    /// peerEpoch)`: state LOOKING, version 0).
    pub(crate) fn as_looking_record(&self) -> RecordedVote {
        RecordedVote {
            vote: self.vote(),
            state: ServerState::Looking,
            version: 0,
        }
    }
}

/// A notification to send (`FastLeaderElection.ToSend`); the driver frames it with
/// `version` = [`CURRENT_VERSION`] and `config`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToSend {
    /// The recipient's sid.
    pub to: i64,
    /// My state.
    pub state: ServerState,
    /// The leader I propose or follow.
    pub leader: i64,
    /// That leader's zxid.
    pub zxid: Zxid,
    /// The round.
    pub election_epoch: i64,
    /// The leader's epoch.
    pub peer_epoch: i64,
    /// My config's QV text (`QuorumVerifier.toString()`), shared by every message.
    pub config: Arc<str>,
}

impl ToSend {
    /// A message of `vote` in `state` to `to`.
    pub fn new(to: i64, state: ServerState, vote: Vote, config: Arc<str>) -> ToSend {
        ToSend {
            to,
            state,
            leader: vote.leader,
            zxid: vote.zxid,
            election_epoch: vote.election_epoch,
            peer_epoch: vote.peer_epoch,
            config,
        }
    }

    /// The vote it carries.
    pub fn vote(&self) -> Vote {
        Vote {
            leader: self.leader,
            zxid: self.zxid,
            election_epoch: self.election_epoch,
            peer_epoch: self.peer_epoch,
        }
    }

    /// The notification `to` receives from `from` (what an in-memory network delivers).
    pub fn received_from(&self, from: i64) -> Notification {
        Notification::with_state(from, self.state, self.vote(), Some(self.config.to_string()))
    }
}
