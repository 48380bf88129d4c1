//! The core as a member of an ensemble: writes go through the replication layer instead of
//! being applied at once.
//!
//! - Leader (`PrepRequestProcessor` → `ProposalRequestProcessor`): a write is prepared against
//!   the committed tree plus the outstanding changes, given the next zxid and handed out as
//!   [`ToReplicate::Propose`]; the replication layer calls [`Core::commit`] once a quorum
//!   acknowledged it. Forwarded requests from learners ([`Core::forwarded`]) take the same path.
//! - Learner (`FollowerRequestProcessor`): writes, syncs, createSession and closeSession go out
//!   as [`ToReplicate::Forward`]; committed transactions come back through [`Core::commit`].
//! - Both (`CommitProcessor`): a committed transaction of a local session answers the request
//!   at the head of that session's queue, then the reads queued behind it run.

use zk_core::jute::{Encode, Reader};
use zk_core::proto::ConnectResponse;
use zk_core::txn::{CloseSessionTxn, CreateSessionTxn, ErrorTxn, TxnHeader};
use zk_core::{ErrorCode, Id, OpCode, Request, SessionId, Zxid};

use super::pipeline::{
    CoreMode, ForwardedRequest, LeaderSync, PendingConnect, Queued, QueuedKind, SyncWaiter,
    ToReplicate,
};
use super::prepare::{PrepContext, Preparer};
use super::session::{session_passwd, SessionTracker};
use super::state::{Core, Output};
use super::tree::TxnResult;
use super::watch::ConnId;
use zk_core::txn::TxnBody;

/// The path of the sync a learner forwards as a linearizable read's barrier with nothing of
/// its session ahead: its leader waits only for what it committed (see `queue_sync`).
const BARRIER_PATH: &str = "";

/// True for the op codes an ensemble member cannot answer alone: writes, check, sync,
/// closeSession (`FollowerRequestProcessor`'s forwarded types).
pub(crate) fn replicates(op: i32) -> bool {
    matches!(
        OpCode::from_i32(op),
        Some(
            OpCode::Create
                | OpCode::Create2
                | OpCode::CreateTtl
                | OpCode::CreateContainer
                | OpCode::Delete
                | OpCode::DeleteContainer
                | OpCode::SetData
                | OpCode::SetAcl
                | OpCode::Reconfig
                | OpCode::Multi
                | OpCode::Check
                | OpCode::Sync
                | OpCode::CloseSession
        )
    )
}

/// True for the op codes that read the tree (what `linearizableReads` puts behind a quorum
/// sync): getData, exists, getChildren(2), getACL, getAllChildrenNumber, getEphemerals and
/// multiRead.
pub(crate) fn reads_state(op: i32) -> bool {
    matches!(
        OpCode::from_i32(op),
        Some(
            OpCode::GetData
                | OpCode::Exists
                | OpCode::GetChildren
                | OpCode::GetChildren2
                | OpCode::GetAcl
                | OpCode::GetAllChildrenNumber
                | OpCode::GetEphemerals
                | OpCode::MultiRead
        )
    )
}

/// The request a write's body decodes to, with the multi rule of the standalone path (a multi
/// holds only write ops).
fn decode_write(op: i32, body: &[u8]) -> Option<Request> {
    let req = Request::decode(op, &mut Reader::new(body)).ok()?;
    match &req {
        Request::Multi(ops) if !ops.iter().all(|o| o.op_code().is_write()) => None,
        _ => Some(req),
    }
}

impl Core {
    /// The processing mode.
    pub fn mode(&self) -> CoreMode {
        self.mode
    }

    /// Switches the processing mode. Leaving a serving mode closes every client connection
    /// and forgets every pending request, as Apache ZooKeeper shuts its server down on a role
    /// change (clients resume their sessions on another member). Entering leader or learner
    /// mode re-tracks the tree's sessions from `now_ms` (a new leader gives every session a
    /// fresh timeout); the leader's zxids continue from `epoch << 32`.
    pub fn set_mode(&mut self, now_ms: i64, mode: CoreMode, epoch: u32) {
        if self.mode != CoreMode::Standalone || mode != CoreMode::Standalone {
            let mut conns: Vec<ConnId> = self.conns.keys().copied().collect();
            conns.sort();
            for c in conns {
                self.disconnected(c);
                self.close(c);
            }
        }
        self.pipe.clear();
        self.mode = mode;
        if matches!(
            mode,
            CoreMode::Leader | CoreMode::Learner | CoreMode::ReadOnly
        ) {
            let mut t = SessionTracker::new(self.cfg.tick_time_ms, now_ms, self.cfg.server_id);
            for (id, timeout) in self.tree.sessions() {
                t.add(*id, *timeout, now_ms);
            }
            self.sessions = t;
        }
        if mode == CoreMode::Leader {
            // `Leader.startZkServer`: the tree's last processed zxid becomes `epoch << 32`.
            let start = Zxid::new(epoch, 0).max(self.tree.last_zxid());
            self.tree.set_last_zxid(start);
            self.pipe.last_proposed = start;
        }
    }

    /// Replaces the tree (a SNAP sync, or a reload after a TRUNC). Only while not serving.
    pub fn replace_tree(&mut self, tree: super::DataTree) {
        assert!(
            matches!(self.mode, CoreMode::NotServing),
            "the tree is replaced only while not serving"
        );
        self.tree = tree;
    }

    /// Leader: the zxid of the last proposal.
    pub fn last_proposed(&self) -> Zxid {
        self.pipe.last_proposed
    }

    /// Leader: outstanding (proposed, uncommitted) change records.
    pub fn pending_changes(&self) -> &super::PendingChanges {
        &self.pipe.pending
    }

    /// The next thing the replication layer must do.
    #[must_use]
    pub fn poll_replicate(&mut self) -> Option<ToReplicate> {
        self.pipe.out.pop_front()
    }

    /// Learner: the sessions touched since the last call, with their timeouts (the answer to
    /// the leader's PING).
    pub fn take_touches(&mut self) -> Vec<(SessionId, i32)> {
        let mut v: Vec<_> = self.pipe.touches.drain().collect();
        v.sort();
        v
    }

    /// Leader: a learner reports that its client used `session` (`LearnerHandler`'s PING case).
    /// Unknown or closing sessions are ignored.
    pub fn touch_session(&mut self, now_ms: i64, session: SessionId) -> bool {
        self.sessions.touch(session, now_ms)
    }

    /// Leader: a session reconnected through learner `owner` (REVALIDATE): valid when known
    /// and not closing; the learner becomes its owner (`checkIfValidGlobalSession`).
    pub fn revalidate(&mut self, now_ms: i64, session: SessionId, owner: i64) -> bool {
        if !self.sessions.touch(session, now_ms) {
            return false;
        }
        if let Some(s) = self.sessions.get_mut(session) {
            s.owner = Some(owner);
        }
        true
    }

    /// Learner: the leader answered a REVALIDATE: finish the oldest connect waiting for it.
    pub fn revalidated(&mut self, now_ms: i64, session: SessionId, valid: bool) {
        let Some(p) = self
            .pipe
            .revalidations
            .get_mut(&session)
            .and_then(|q| q.pop_front())
        else {
            tracing::warn!(%session, "REVALIDATE answer for a session nobody waits for");
            return;
        };
        if valid {
            if self.sessions.get(session).is_none() {
                self.sessions.add(session, p.timeout_ms, now_ms);
            }
            self.attach(session, p.conn, p.timeout_ms);
        }
        self.connect_response(p.conn, valid.then_some(session), p.timeout_ms, p.read_only);
    }

    /// Learner: the leader answered the oldest forwarded sync (SYNC packet).
    pub fn sync_answered(&mut self, now_ms: i64) {
        let Some(session) = self.pipe.syncs.pop_front() else {
            tracing::warn!("SYNC from the leader with no sync pending");
            return;
        };
        self.finish_sync(now_ms, session);
    }

    /// A new session or a resumed one in an ensemble (`connect` already checked the zxid and
    /// negotiated the timeout).
    pub(crate) fn replicated_connect(
        &mut self,
        now_ms: i64,
        conn: ConnId,
        session: SessionId,
        passwd: &[u8],
        timeout: i32,
        read_only: Option<bool>,
    ) {
        let pending = PendingConnect {
            conn,
            timeout_ms: timeout,
            read_only,
        };
        if session.0 == 0 {
            let id = self.sessions.next_id();
            match self.mode {
                CoreMode::Leader => {
                    self.sessions.add(id, timeout, now_ms);
                    if let Some(s) = self.sessions.get_mut(id) {
                        s.owner = Some(self.cfg.server_id);
                    }
                    let body = TxnBody::CreateSession(CreateSessionTxn {
                        timeout_ms: timeout,
                    });
                    self.propose(now_ms, id, 0, OpCode::CreateSession.as_i32(), body);
                }
                _ => {
                    let mut b = Vec::new();
                    timeout.encode(&mut b);
                    self.pipe
                        .out
                        .push_back(ToReplicate::Forward(ForwardedRequest {
                            session: id,
                            cxid: 0,
                            op: OpCode::CreateSession.as_i32(),
                            body: b,
                            authinfo: None,
                        }));
                }
            }
            self.pipe.connects.insert(id, pending);
            return;
        }
        let old = self.sessions.get(session).and_then(|s| s.conn);
        if let Some(old) = old.filter(|o| *o != conn) {
            self.disconnected(old);
            self.close(old);
        }
        if passwd != session_passwd(session).as_slice() {
            // A wrong password is refused here, without asking the leader.
            self.connect_response(conn, None, timeout, read_only);
            return;
        }
        match self.mode {
            CoreMode::Leader => {
                let own = self.cfg.server_id;
                let valid = self.revalidate(now_ms, session, own);
                if valid {
                    self.attach(session, conn, timeout);
                }
                self.connect_response(conn, valid.then_some(session), timeout, read_only);
            }
            _ => {
                self.pipe
                    .revalidations
                    .entry(session)
                    .or_default()
                    .push_back(pending);
                self.pipe.out.push_back(ToReplicate::Revalidate {
                    session,
                    timeout_ms: timeout,
                });
            }
        }
    }

    /// Binds a session to its connection.
    pub(crate) fn attach(&mut self, session: SessionId, conn: ConnId, timeout: i32) {
        if let Some(s) = self.sessions.get_mut(session) {
            s.conn = Some(conn);
        }
        if let Some(c) = self.conns.get_mut(&conn) {
            c.session = Some(session);
            c.timeout_ms = timeout;
        }
    }

    /// Sends the ConnectResponse of a read-write server: the session, or (None) the expired
    /// answer (timeOut 0, session 0, a zero password) followed by a close. The readOnly byte
    /// goes back when the client sent one.
    pub(crate) fn connect_response(
        &mut self,
        conn: ConnId,
        session: Option<SessionId>,
        timeout: i32,
        read_only: Option<bool>,
    ) {
        self.send_connect_response(conn, session, timeout, read_only.map(|_| false));
    }

    /// Sends a ConnectResponse with the readOnly byte `ro` (see [`Core::connect_response`]).
    pub(crate) fn send_connect_response(
        &mut self,
        conn: ConnId,
        session: Option<SessionId>,
        timeout: i32,
        ro: Option<bool>,
    ) {
        let resp = match session {
            Some(sid) => ConnectResponse {
                protocol_version: 0,
                timeout_ms: timeout,
                session_id: sid,
                passwd: bytes::Bytes::copy_from_slice(&session_passwd(sid)),
                read_only: ro,
            },
            None => ConnectResponse {
                protocol_version: 0,
                timeout_ms: 0,
                session_id: SessionId(0),
                passwd: bytes::Bytes::from_static(&[0; 16]),
                read_only: ro,
            },
        };
        let mut f = Vec::new();
        zk_core::frame::write_frame(&mut f, |w| resp.encode(w));
        self.send(conn, f, false);
        if session.is_none() {
            self.close(conn);
        }
    }

    /// A request that needs the ensemble, from a local client.
    pub(crate) fn replicated(
        &mut self,
        now_ms: i64,
        conn: ConnId,
        session: SessionId,
        xid: i32,
        op: i32,
        body: &[u8],
    ) {
        if op == OpCode::Sync.as_i32() {
            let path = match Request::decode(op, &mut Reader::new(body)) {
                Ok(Request::Sync(r)) => r.path,
                _ => String::new(),
            };
            self.queue_sync(now_ms, conn, session, xid, Some(path), body.to_vec());
            return;
        }
        // Behind a sync (or a write held behind one) a write waits to be sent.
        let hold = self.pipe.queues.get(&session).is_some_and(|q| {
            q.iter()
                .any(|e| matches!(e.kind, QueuedKind::Sync { .. }) || e.kind.held())
        });
        let kind = if op == OpCode::CloseSession.as_i32() {
            QueuedKind::Close { held: hold }
        } else {
            QueuedKind::Write {
                op,
                req: decode_write(op, body),
                held: hold.then(|| body.to_vec()),
            }
        };
        self.pipe.push(session, Queued { conn, xid, kind });
        if !hold {
            self.send_write(now_ms, conn, session, xid, op, body);
        }
    }

    /// Queues a sync (`path` None: a linearizable read's barrier) and issues it, unless a
    /// held write is ahead of it: then it is issued right after that write is sent, so that it
    /// covers it.
    fn queue_sync(
        &mut self,
        now_ms: i64,
        conn: ConnId,
        session: SessionId,
        xid: i32,
        path: Option<String>,
        body: Vec<u8>,
    ) {
        let (ahead, hold) = self.pipe.queues.get(&session).map_or((false, false), |q| {
            (!q.is_empty(), q.iter().any(|e| e.kind.held()))
        });
        let barrier = path.is_none();
        let held = hold.then(|| body.clone());
        let kind = QueuedKind::Sync { path, held };
        self.pipe.push(session, Queued { conn, xid, kind });
        if hold {
            return;
        }
        // A leader's tree holds every write acknowledged before now: a barrier with nothing
        // of its session ahead waits only for the confirmation round. A client's sync waits
        // for everything proposed (Apache's `processSync`), and so does a barrier behind its
        // session's own writes.
        let target = if barrier && !ahead {
            self.tree.last_zxid()
        } else {
            self.pipe.last_proposed
        };
        // A learner marks such a barrier (an empty path, which no validated client path is)
        // so its leader waits for what it has committed, not for everything it proposed: a
        // read must see every write acknowledged before it, and those are all committed.
        let body = if barrier && !ahead && self.mode != CoreMode::Leader {
            let mut b = Vec::new();
            zk_core::proto::SyncRequest {
                path: BARRIER_PATH.into(),
            }
            .encode(&mut b);
            b
        } else {
            body
        };
        self.issue_sync(now_ms, conn, session, xid, target, body);
    }

    /// Proposes (leader) or forwards (learner) a queued write or close.
    fn send_write(
        &mut self,
        now_ms: i64,
        conn: ConnId,
        session: SessionId,
        xid: i32,
        op: i32,
        body: &[u8],
    ) {
        match self.mode {
            CoreMode::Leader => {
                let ids = self.conn_ids(conn);
                let own = self.cfg.server_id;
                self.prepare_and_propose(now_ms, own, session, xid, op, body, &ids);
            }
            _ => self.forward(conn, session, xid, op, body.to_vec()),
        }
    }

    /// Learner: hands a local client's request to the leader (REQUEST), with the
    /// connection's authenticated ids.
    fn forward(&mut self, conn: ConnId, session: SessionId, xid: i32, op: i32, body: Vec<u8>) {
        let ids = self.conn_ids(conn);
        self.pipe
            .out
            .push_back(ToReplicate::Forward(ForwardedRequest {
                session,
                cxid: xid,
                op,
                body,
                authinfo: Some(ids),
            }));
    }

    /// Sends the writes held at the head of `session`'s queue, up to the next sync, and
    /// issues that sync if it was held too.
    fn release_held(&mut self, now_ms: i64, session: SessionId) {
        let mut send = Vec::new();
        let mut sync = None;
        if let Some(q) = self.pipe.queues.get_mut(&session) {
            for e in q.iter_mut() {
                match &mut e.kind {
                    QueuedKind::Sync { held, .. } => {
                        sync = held.take().map(|body| (e.conn, e.xid, body));
                        break;
                    }
                    QueuedKind::Write { op, held, .. } => {
                        if let Some(body) = held.take() {
                            send.push((e.conn, e.xid, *op, body));
                        }
                    }
                    QueuedKind::Close { held } => {
                        if std::mem::take(held) {
                            let op = OpCode::CloseSession.as_i32();
                            send.push((e.conn, e.xid, op, Vec::new()));
                        }
                    }
                    QueuedKind::Read { .. } => {}
                }
            }
        }
        for (conn, xid, op, body) in send {
            self.send_write(now_ms, conn, session, xid, op, &body);
        }
        if let Some((conn, xid, body)) = sync {
            let target = self.pipe.last_proposed;
            self.issue_sync(now_ms, conn, session, xid, target, body);
        }
    }

    /// The authenticated ids of a connection.
    fn conn_ids(&self, conn: ConnId) -> Vec<Id> {
        self.conns
            .get(&conn)
            .map(|c| c.ids.clone())
            .unwrap_or_default()
    }

    /// `linearizableReads`: a read waits behind a sync of its own (a barrier that answers
    /// nothing), so it is answered only from a tree that holds every write acknowledged
    /// before it arrived, by a leader a quorum still follows.
    pub(crate) fn linearizable_read(
        &mut self,
        now_ms: i64,
        conn: ConnId,
        session: SessionId,
        xid: i32,
        op: i32,
        body: &[u8],
    ) {
        let mut sync = Vec::new();
        zk_core::proto::SyncRequest { path: "/".into() }.encode(&mut sync);
        self.queue_sync(now_ms, conn, session, xid, None, sync);
        let kind = QueuedKind::Read {
            op,
            body: body.to_vec(),
        };
        self.pipe.push(session, Queued { conn, xid, kind });
    }

    /// Sends out the sync (or barrier) just queued for `session`: the leader waits for
    /// `target` to commit (and, for a quorum sync, for a confirmation round), a learner
    /// forwards it to the leader.
    fn issue_sync(
        &mut self,
        now_ms: i64,
        conn: ConnId,
        session: SessionId,
        xid: i32,
        target: Zxid,
        body: Vec<u8>,
    ) {
        match self.mode {
            CoreMode::Leader => {
                let round = self.sync_round();
                self.pipe.leader_syncs.push_back(LeaderSync {
                    target,
                    round,
                    waiter: SyncWaiter::Local(session),
                });
                self.release_syncs(now_ms);
            }
            _ => {
                self.pipe.syncs.push_back(session);
                self.forward(conn, session, xid, OpCode::Sync.as_i32(), body);
            }
        }
    }

    /// Leader: the confirmation round a sync arriving now needs (0 when syncs are not quorum
    /// syncs), asking for that round if nobody did yet.
    fn sync_round(&mut self) -> u64 {
        if !(self.cfg.quorum_sync || self.cfg.linearizable_reads) {
            return 0;
        }
        if !self.pipe.round_asked {
            self.pipe.round_asked = true;
            self.pipe.out.push_back(ToReplicate::ConfirmLeadership);
        }
        self.pipe.round_started + 1
    }

    /// Leader: the replication layer starts a leadership confirmation round now (it pings
    /// every follower); returns the round's id. Syncs that arrive from now on need a later
    /// round.
    pub fn leadership_round_started(&mut self) -> u64 {
        self.pipe.round_started += 1;
        self.pipe.round_asked = false;
        self.pipe.round_started
    }

    /// Leader: a quorum of voters answered round `round` (and so every round before it):
    /// this member led them after the round started.
    pub fn leadership_confirmed(&mut self, now_ms: i64, round: u64) {
        assert!(
            round <= self.pipe.round_started,
            "round {round} confirmed, but only {} started",
            self.pipe.round_started
        );
        if round > self.pipe.round_confirmed {
            self.pipe.round_confirmed = round;
            self.release_syncs(now_ms);
        }
    }

    /// Leader: a request forwarded by learner `learner` (REQUEST packet).
    pub fn forwarded(&mut self, now_ms: i64, learner: i64, req: ForwardedRequest) {
        self.forwarded_from(now_ms, learner, req, false);
    }

    /// Leader: a request forwarded by `learner`, a voter that makes a quorum with this leader
    /// (three voters). Its sync needs no confirmation round: the learner sent it after the
    /// client's request reached it, while following this leader, and with this leader (still
    /// leading when it answers) that is a quorum that followed this leader since then.
    pub fn forwarded_by_quorum(&mut self, now_ms: i64, learner: i64, req: ForwardedRequest) {
        self.forwarded_from(now_ms, learner, req, true);
    }

    fn forwarded_from(&mut self, now_ms: i64, learner: i64, req: ForwardedRequest, vouched: bool) {
        let ForwardedRequest {
            session,
            cxid,
            op,
            body,
            authinfo,
        } = req;
        if self.mode != CoreMode::Leader {
            return;
        }
        if op == OpCode::CreateSession.as_i32() {
            let timeout = zk_core::jute::Decode::decode(&mut Reader::new(&body)).unwrap_or(0i32);
            self.sessions.add(session, timeout, now_ms);
            if let Some(s) = self.sessions.get_mut(session) {
                s.owner = Some(learner);
            }
            let body = TxnBody::CreateSession(CreateSessionTxn {
                timeout_ms: timeout,
            });
            self.propose(now_ms, session, cxid, op, body);
            return;
        }
        if op == OpCode::Sync.as_i32() {
            let barrier = matches!(
                Request::decode(op, &mut Reader::new(&body)),
                Ok(Request::Sync(r)) if r.path == BARRIER_PATH
            );
            let target = if barrier {
                self.tree.last_zxid()
            } else {
                self.pipe.last_proposed
            };
            let round = if vouched { 0 } else { self.sync_round() };
            self.pipe.leader_syncs.push_back(LeaderSync {
                target,
                round,
                waiter: SyncWaiter::Learner(learner),
            });
            self.release_syncs(now_ms);
            return;
        }
        let ids = authinfo.unwrap_or_default();
        self.prepare_and_propose(now_ms, learner, session, cxid, op, &body, &ids);
    }

    /// Leader: the next zxid, or None when this epoch's counter is exhausted (a rollover is
    /// asked for) or proposals are frozen (a leadership transfer).
    fn next_zxid(&mut self) -> Option<Zxid> {
        if self.pipe.frozen {
            return None;
        }
        let next = self.pipe.last_proposed.next();
        if next.counter() >= self.cfg.max_zxid_counter {
            self.pipe.out.push_back(ToReplicate::Rollover);
            return None;
        }
        Some(next)
    }

    /// Leader: stops proposing (a leadership transfer): requests that need a transaction
    /// wait from now on, until the member steps down. Returns the last zxid proposed.
    pub fn freeze_proposals(&mut self) -> Zxid {
        self.pipe.frozen = true;
        self.pipe.last_proposed
    }

    /// Leader: the zxid a no-op transaction would take now, if the epoch has room for it.
    pub fn next_free_zxid(&self) -> Option<Zxid> {
        let next = self.pipe.last_proposed.next();
        (next.counter() < self.cfg.max_zxid_counter).then_some(next)
    }

    /// Leader: proposes a transaction built outside the preparer (sessions).
    fn propose(&mut self, now_ms: i64, session: SessionId, cxid: i32, op: i32, body: TxnBody) {
        let Some(zxid) = self.next_zxid() else {
            return;
        };
        self.pipe.last_proposed = zxid;
        let header = TxnHeader {
            client_id: session,
            cxid,
            zxid,
            time: now_ms,
            txn_type: op,
        };
        self.pipe
            .out
            .push_back(ToReplicate::Propose { header, body });
    }

    /// Leader: checks the session (`SessionTracker.checkSession`), prepares against the tree
    /// and the outstanding changes, and proposes the result (an error transaction when the
    /// request fails, so every request gets exactly one transaction).
    #[allow(clippy::too_many_arguments)]
    fn prepare_and_propose(
        &mut self,
        now_ms: i64,
        owner: i64,
        session: SessionId,
        cxid: i32,
        op: i32,
        body: &[u8],
        ids: &[Id],
    ) {
        let Some(zxid) = self.next_zxid() else {
            return;
        };
        let error = |e: ErrorCode| {
            (
                OpCode::Error.as_i32(),
                TxnBody::Error(ErrorTxn { err: e.as_i32() }),
            )
        };
        let (txn_type, txn) = if op == OpCode::CloseSession.as_i32() {
            self.prepare_close(zxid, session)
        } else if let Err(e) = self.check_session(session, owner) {
            error(e)
        } else {
            match decode_write(op, body) {
                None => error(ErrorCode::MarshallingError),
                Some(req) => {
                    let ctx = PrepContext {
                        session,
                        ids,
                        zxid,
                        time: now_ms,
                        extended_types: self.cfg.extended_types_enabled,
                        reconfig_enabled: self.cfg.reconfig_enabled,
                        ensemble: self.ensemble_view.as_ref(),
                        sasl_scheme: self.cfg.sasl_scheme,
                        skip_acl: self.cfg.skip_acl,
                        internal: false,
                    };
                    let mut p = Preparer::with_pending(&self.tree, &self.pipe.pending, ctx);
                    let (ty, txn) = p.prepare(&req);
                    if ty != OpCode::Error.as_i32() {
                        let changes = p.into_changes();
                        self.pipe.pending.add(zxid, changes);
                    }
                    (ty, txn)
                }
            }
        };
        self.pipe.last_proposed = zxid;
        let header = TxnHeader {
            client_id: session,
            cxid,
            zxid,
            time: now_ms,
            txn_type,
        };
        self.pipe
            .out
            .push_back(ToReplicate::Propose { header, body: txn });
    }

    /// `SessionTrackerImpl.checkSession`: the session must be live and not closing, and owned
    /// by the server the request came through (the first one to ask becomes the owner).
    fn check_session(&mut self, session: SessionId, owner: i64) -> Result<(), ErrorCode> {
        let Some(s) = self.sessions.get_mut(session) else {
            // `LeaderSessionTracker.checkSession`: with local sessions on, a session the
            // leader does not track that another server created (its id's top byte) is that
            // server's local session, and its writes go through.
            if self.cfg.local_sessions_enabled && session.0 >> 56 != self.cfg.server_id {
                return Ok(());
            }
            return Err(ErrorCode::SessionExpired);
        };
        if s.closing {
            return Err(ErrorCode::SessionExpired);
        }
        match s.owner {
            None => {
                s.owner = Some(owner);
                Ok(())
            }
            Some(o) if o == owner => Ok(()),
            Some(_) => Err(ErrorCode::SessionMoved),
        }
    }

    /// Leader: a closeSession's transaction: the session's ephemerals as the tree and the
    /// outstanding changes have them, each recorded as a pending delete.
    fn prepare_close(&mut self, zxid: Zxid, session: SessionId) -> (i32, TxnBody) {
        self.sessions.set_closing(session);
        let mut set = self.tree.ephemeral_set(session);
        self.pipe.pending.ephemerals_of(session, &mut set);
        let paths = set.to_vec();
        self.pipe
            .pending
            .add(zxid, paths.iter().map(|p| (p.clone(), None)));
        (
            OpCode::CloseSession.as_i32(),
            TxnBody::CloseSession(CloseSessionTxn {
                paths_to_delete: paths,
            }),
        )
    }

    /// Leader: a session expired or a reaper deletion is due: propose it like a client
    /// request the server made itself.
    pub(crate) fn propose_close(&mut self, now_ms: i64, session: SessionId) {
        let Some(zxid) = self.next_zxid() else {
            return;
        };
        let (ty, body) = self.prepare_close(zxid, session);
        self.pipe.last_proposed = zxid;
        let header = TxnHeader {
            client_id: session,
            cxid: 0,
            zxid,
            time: now_ms,
            txn_type: ty,
        };
        self.pipe
            .out
            .push_back(ToReplicate::Propose { header, body });
    }

    /// Leader: proposes a deleteContainer of `path` (the container and TTL reaper).
    pub(crate) fn propose_reap(&mut self, now_ms: i64, path: String) {
        let Some(zxid) = self.next_zxid() else {
            return;
        };
        let req = Request::DeleteContainer(zk_core::proto::DeleteContainerRequest { path });
        let ctx = PrepContext {
            session: SessionId(0),
            ids: &[],
            zxid,
            time: now_ms,
            extended_types: self.cfg.extended_types_enabled,
            reconfig_enabled: self.cfg.reconfig_enabled,
            ensemble: None,
            sasl_scheme: self.cfg.sasl_scheme,
            skip_acl: self.cfg.skip_acl,
            internal: true,
        };
        let mut p = Preparer::with_pending(&self.tree, &self.pipe.pending, ctx);
        let (ty, body) = p.prepare(&req);
        if ty == OpCode::Error.as_i32() {
            // Changed since the reaper looked (a pending create under it): nothing to do.
            return;
        }
        let changes = p.into_changes();
        self.pipe.pending.add(zxid, changes);
        self.pipe.last_proposed = zxid;
        let header = TxnHeader {
            client_id: SessionId(0),
            cxid: 0,
            zxid,
            time: now_ms,
            txn_type: ty,
        };
        self.pipe
            .out
            .push_back(ToReplicate::Propose { header, body });
    }

    /// Applies a committed transaction (every member, in zxid order): the tree changes, the
    /// watches fire, and a local client's request it answers gets its reply, followed by the
    /// reads queued behind it.
    ///
    /// # Panics
    /// When `header.zxid` does not follow the last applied zxid: applying out of order would
    /// serve a wrong tree (a broken invariant of the replication layer).
    pub fn commit(&mut self, now_ms: i64, header: &TxnHeader, body: &TxnBody) -> TxnResult {
        assert!(
            header.zxid > self.tree.last_zxid(),
            "commit of zxid {} at last applied zxid {}",
            header.zxid,
            self.tree.last_zxid()
        );
        let mut triggers = Vec::new();
        let result = self.tree.apply(header, body, &mut triggers);
        self.fire(&triggers);
        if self.mode == CoreMode::Leader {
            self.pipe.pending.committed(header.zxid);
        }
        let session = header.client_id;
        match body {
            TxnBody::CreateSession(t) => {
                if self.sessions.get(session).is_none() {
                    self.sessions.add(session, t.timeout_ms, now_ms);
                }
                if self.mode == CoreMode::Learner {
                    self.pipe.touches.insert(session, t.timeout_ms);
                }
                if let Some(p) = self.pipe.connects.remove(&session) {
                    self.attach(session, p.conn, t.timeout_ms);
                    self.connect_response(p.conn, Some(session), t.timeout_ms, p.read_only);
                }
            }
            TxnBody::CloseSession(_) => {
                self.check_closed(session);
                let conn = self.sessions.get(session).and_then(|s| s.conn);
                self.sessions.remove(session);
                self.pipe.touches.remove(&session);
                let head = self.answer_head(now_ms, session, header, &result);
                // Every member closes its client's connection when the session closes
                // (expiry, or the client closed it through another member).
                let conn = head.or(conn);
                if let Some(c) = conn {
                    self.disconnected(c);
                    self.close(c);
                }
                self.pipe.queues.remove(&session);
            }
            _ => {
                self.answer_head(now_ms, session, header, &result);
            }
        }
        if self.mode == CoreMode::Leader {
            self.release_syncs(now_ms);
        }
        result
    }

    /// Answers the head of `session`'s queue if `header` is its transaction; returns the
    /// connection it answered on.
    fn answer_head(
        &mut self,
        now_ms: i64,
        session: SessionId,
        header: &TxnHeader,
        result: &TxnResult,
    ) -> Option<ConnId> {
        let q = self.pipe.queues.get_mut(&session)?;
        let head = q.front()?;
        let is_head = head.xid == header.cxid
            && matches!(
                head.kind,
                QueuedKind::Close { held: false } | QueuedKind::Write { held: None, .. }
            );
        if !is_head {
            tracing::warn!(
                %session,
                cxid = header.cxid,
                expected = head.xid,
                "a committed transaction of a local session is not its next request"
            );
            return None;
        }
        let Queued { conn, xid, kind } = q.pop_front()?;
        let zxid = header.zxid;
        match kind {
            QueuedKind::Close { .. } => {
                self.reply(now_ms, conn, xid, zxid, ErrorCode::Ok, None);
            }
            QueuedKind::Write { op, req, .. } => {
                let check = op == OpCode::Check.as_i32();
                match (req, result.clone()) {
                    (_, TxnResult::Error(e)) => self.reply(now_ms, conn, xid, zxid, e, None),
                    // A top-level check that passed is never answered (Apache ZooKeeper 3.8).
                    _ if check => self.answered_silently(conn),
                    (Some(req), r) => {
                        let (err, resp) =
                            super::reply::write_response(&req, r, || self.reconfig_answer(zxid));
                        self.reply(now_ms, conn, xid, zxid, err, resp.as_ref());
                    }
                    (None, _) => {
                        self.reply(now_ms, conn, xid, zxid, ErrorCode::MarshallingError, None)
                    }
                }
            }
            QueuedKind::Sync { .. } | QueuedKind::Read { .. } => {
                unreachable!("checked above: the head waits for a transaction")
            }
        }
        self.drain(now_ms, session);
        Some(conn)
    }

    /// A request finished without a reply frame: its slot is released all the same.
    pub(crate) fn answered_silently(&mut self, conn: ConnId) {
        self.out.push_back(Output::Silent { conn });
    }

    /// Runs the reads at the head of `session`'s queue, up to its next waiting request.
    fn drain(&mut self, now_ms: i64, session: SessionId) {
        loop {
            let Some(q) = self.pipe.queues.get_mut(&session) else {
                return;
            };
            match q.front() {
                None => {
                    self.pipe.queues.remove(&session);
                    return;
                }
                Some(h) if h.kind.held() => return self.release_held(now_ms, session),
                Some(h) if h.kind.waits() => return,
                Some(_) => {}
            }
            let Some(Queued { conn, xid, kind }) = q.pop_front() else {
                return;
            };
            if let QueuedKind::Read { op, body } = kind {
                self.process(now_ms, conn, session, xid, op, &body);
            }
        }
    }

    /// Answers the sync at the head of `session`'s queue.
    fn finish_sync(&mut self, now_ms: i64, session: SessionId) {
        let Some(q) = self.pipe.queues.get_mut(&session) else {
            return;
        };
        if !matches!(q.front().map(|h| &h.kind), Some(QueuedKind::Sync { .. })) {
            tracing::warn!(%session, "a sync answer for a session whose next request is not a sync");
            return;
        }
        let Some(Queued {
            conn,
            xid,
            kind: QueuedKind::Sync { path, .. },
        }) = q.pop_front()
        else {
            return;
        };
        if let Some(path) = path {
            let zxid = self.tree.last_zxid();
            let resp = zk_core::Response::Sync(zk_core::proto::SyncResponse { path });
            self.reply(now_ms, conn, xid, zxid, ErrorCode::Ok, Some(&resp));
        }
        self.drain(now_ms, session);
    }

    /// Leader: answers, in arrival order, the syncs whose target zxid is committed
    /// (`Leader.processSync`) and whose confirmation round (if any) a quorum answered.
    fn release_syncs(&mut self, now_ms: i64) {
        let committed = self.tree.last_zxid();
        let confirmed = self.pipe.round_confirmed;
        while let Some(s) = self.pipe.leader_syncs.front() {
            if s.target > committed || s.round > confirmed {
                break;
            }
            let Some(s) = self.pipe.leader_syncs.pop_front() else {
                break;
            };
            match s.waiter {
                SyncWaiter::Local(session) => self.finish_sync(now_ms, session),
                SyncWaiter::Learner(sid) => self
                    .pipe
                    .out
                    .push_back(ToReplicate::SyncDone { learner: sid }),
            }
        }
    }
}
