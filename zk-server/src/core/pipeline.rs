//! The replicated request pipeline's state (`CommitProcessor` + the leader's
//! `PrepRequestProcessor` + the learner's `FollowerRequestProcessor`): what a member of an
//! ensemble keeps between a request's arrival and the commit of its transaction.
//!
//! A session's requests are answered in order. A write (or a sync, or a closeSession) waits for
//! its commit; the session's reads that arrived after it wait behind it; reads of other
//! sessions do not wait. The head of a non-empty session queue is always a write-like entry.

use std::collections::{HashMap, VecDeque};

use zk_core::{Id, Request, SessionId, Zxid};

use super::pending::PendingChanges;
use super::watch::ConnId;
use zk_core::txn::TxnBody;
use zk_core::txn::TxnHeader;

/// How the core processes writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CoreMode {
    /// One server: a write is prepared, logged and applied at once.
    Standalone,
    /// The ensemble's leader: writes are prepared against the committed tree plus the
    /// outstanding changes, proposed, and applied when a quorum acknowledged them.
    Leader,
    /// A follower or an observer: writes, session creation and closing go to the leader;
    /// committed transactions come back and are applied in order.
    Learner,
    /// Not serving clients (looking for a leader, or syncing with one): connections are
    /// closed as they arrive.
    NotServing,
    /// `readonlymode.enabled` while no quorum is reachable (`ReadOnlyZooKeeperServer`):
    /// clients that allow read-only mode are served reads from this member's tree; writes,
    /// syncs and checks get NotReadOnly; new sessions are local to this member.
    ReadOnly,
}

/// A request that waits in its session's queue.
#[derive(Debug, Clone)]
pub(crate) struct Queued {
    pub(crate) conn: ConnId,
    pub(crate) xid: i32,
    pub(crate) kind: QueuedKind,
}

/// What a queued request is.
#[derive(Debug, Clone)]
pub(crate) enum QueuedKind {
    /// A write (also a top-level check) waiting for its transaction; the decoded request, when
    /// it decoded, builds the reply. `held` keeps the request body while a sync ahead of it in
    /// the session waits: it is proposed (or forwarded) only once that sync and the reads
    /// between were answered, so those reads cannot see it (a sync is answered out of band of
    /// the commits: a quorum sync after a confirmation round, a SYNC packet after whatever
    /// COMMITs its leader sent first).
    Write {
        op: i32,
        req: Option<Request>,
        held: Option<Vec<u8>>,
    },
    /// A closeSession waiting for its transaction (`held`: as a write's, not sent yet).
    Close { held: bool },
    /// A sync waiting for the leader: a client's (`path` is echoed in the reply), or (None)
    /// the barrier `linearizableReads` puts before a read, answered by nothing but the read.
    /// `held` keeps the request body while a held write is ahead of it (it is issued once that
    /// write is sent).
    Sync {
        path: Option<String>,
        held: Option<Vec<u8>>,
    },
    /// A request that changes nothing (read, ping, setWatches, ...), waiting behind a write.
    Read { op: i32, body: Vec<u8> },
}

impl QueuedKind {
    /// Entries that wait for the replication layer (everything but reads).
    pub(crate) fn waits(&self) -> bool {
        !matches!(self, QueuedKind::Read { .. })
    }

    /// A write or close held behind a sync, or a sync held behind such a write.
    pub(crate) fn held(&self) -> bool {
        matches!(
            self,
            QueuedKind::Write { held: Some(_), .. }
                | QueuedKind::Close { held: true }
                | QueuedKind::Sync { held: Some(_), .. }
        )
    }
}

/// A client request for the leader (`Learner.request`: the REQUEST packet).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForwardedRequest {
    /// The session.
    pub session: SessionId,
    /// The client's xid (cxid).
    pub cxid: i32,
    /// The op code.
    pub op: i32,
    /// The request record, without its RequestHeader.
    pub body: Vec<u8>,
    /// The connection's authenticated ids (None for createSession).
    pub authinfo: Option<Vec<Id>>,
}

/// What the replication layer must do for the core.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ToReplicate {
    /// Leader: a prepared transaction to log and propose, in zxid order.
    Propose {
        /// Its header (the zxid is assigned).
        header: TxnHeader,
        /// Its body.
        body: TxnBody,
    },
    /// Learner: a request for the leader.
    Forward(ForwardedRequest),
    /// Learner: a session that reconnected here, to validate with the leader (REVALIDATE).
    Revalidate {
        /// The session.
        session: SessionId,
        /// The timeout the client negotiated.
        timeout_ms: i32,
    },
    /// Leader: the forwarded sync of this learner is answered now (SYNC packet).
    SyncDone {
        /// The learner's server id.
        learner: i64,
    },
    /// Leader: syncs wait for a quorum to confirm this leadership (`quorumSync`): start a
    /// confirmation round ([`crate::core::Core::leadership_round_started`]) as soon as
    /// possible, and report it with [`crate::core::Core::leadership_confirmed`].
    ConfirmLeadership,
    /// Leader: the zxid counter of this epoch is exhausted; a new election must start a new
    /// epoch (`XidRolloverException`).
    Rollover,
}

/// Who waits for a sync on the leader.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SyncWaiter {
    /// A client of the leader itself.
    Local(SessionId),
    /// A learner that forwarded a sync.
    Learner(i64),
}

/// A sync on the leader, waiting for its target zxid to commit and, for a quorum sync, for a
/// confirmation round of the leadership that started after it arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LeaderSync {
    /// The zxid proposed last when it arrived.
    pub(crate) target: Zxid,
    /// The confirmation round it needs (0: none).
    pub(crate) round: u64,
    /// Who waits.
    pub(crate) waiter: SyncWaiter,
}

/// A connect waiting for the ensemble (a new session's createSession, or a resumed session's
/// revalidation).
#[derive(Debug, Clone, Copy)]
pub(crate) struct PendingConnect {
    pub(crate) conn: ConnId,
    pub(crate) timeout_ms: i32,
    pub(crate) read_only: Option<bool>,
}

/// Everything the replicated pipeline keeps.
#[derive(Debug, Default)]
pub(crate) struct Pipeline {
    /// Each session's queued requests, in arrival order.
    pub(crate) queues: HashMap<SessionId, VecDeque<Queued>>,
    /// New sessions waiting for their createSession to commit.
    pub(crate) connects: HashMap<SessionId, PendingConnect>,
    /// Learner: resumed sessions waiting for the leader's REVALIDATE answer.
    pub(crate) revalidations: HashMap<SessionId, VecDeque<PendingConnect>>,
    /// Learner: forwarded syncs in the order the leader answers them.
    pub(crate) syncs: VecDeque<SessionId>,
    /// Leader: syncs waiting for the commit of the zxid proposed last when they arrived (and,
    /// for quorum syncs, for a confirmation round), in arrival order.
    pub(crate) leader_syncs: VecDeque<LeaderSync>,
    /// Leader: the last leadership confirmation round started (ids from 1).
    pub(crate) round_started: u64,
    /// Leader: the last round a quorum confirmed.
    pub(crate) round_confirmed: u64,
    /// Leader: a round was asked for ([`ToReplicate::ConfirmLeadership`]) and has not started.
    pub(crate) round_asked: bool,
    /// Leader: leadership is being handed over; nothing more is proposed (requests wait, and
    /// their connections close when the member steps down).
    pub(crate) frozen: bool,
    /// Leader: outstanding changes.
    pub(crate) pending: PendingChanges,
    /// Leader: the zxid of the last proposal.
    pub(crate) last_proposed: Zxid,
    /// Learner: sessions touched since the leader's last PING, with their timeouts.
    pub(crate) touches: HashMap<SessionId, i32>,
    /// What the replication layer must do, in order.
    pub(crate) out: VecDeque<ToReplicate>,
}

impl Pipeline {
    /// Forgets every pending request (the member stopped serving).
    pub(crate) fn clear(&mut self) {
        self.queues.clear();
        self.connects.clear();
        self.revalidations.clear();
        self.syncs.clear();
        self.leader_syncs.clear();
        self.round_started = 0;
        self.round_confirmed = 0;
        self.round_asked = false;
        self.frozen = false;
        self.pending.clear();
        self.touches.clear();
        self.out.clear();
    }

    /// True when `session` has a request waiting (a new request must queue behind it).
    pub(crate) fn busy(&self, session: SessionId) -> bool {
        self.queues.get(&session).is_some_and(|q| !q.is_empty())
    }

    /// Queues a request.
    pub(crate) fn push(&mut self, session: SessionId, q: Queued) {
        self.queues.entry(session).or_default().push_back(q);
    }
}
