//! [`Core`]: the sans-IO server. It owns the data tree, the sessions and the watches, takes
//! connection events and request frames with the current time, and emits frames to send and
//! transactions to log. It never blocks, sleeps or reads a clock.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;

use zk_core::frame::write_frame;
use zk_core::jute::Encode;
use zk_core::proto::{ReplyHeader, WatcherEvent};
use zk_core::txn::{TxnBody, TxnHeader};
use zk_core::{ErrorCode, EventType, Id, KeeperState, Response, SessionId, Zxid};

use super::acl::check_acl;
use super::pipeline::{CoreMode, Pipeline};
use super::session::SessionTracker;
use super::tree::{DataTree, Trigger, TxnResult};
use super::watch::{ConnId, WatchManager};
use super::CoreConfig;

/// Something the driver must do, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Output {
    /// Write `frame` (length prefix included) on `conn` once every transaction up to `zxid` is
    /// durable. `reply` marks the answer to a request (as opposed to a notification or the
    /// handshake answer).
    Send {
        /// The connection.
        conn: ConnId,
        /// The whole frame.
        frame: Vec<u8>,
        /// The highest zxid whose effects the frame may reveal.
        zxid: Zxid,
        /// True for a request's reply.
        reply: bool,
    },
    /// Close `conn` after the frames queued before this.
    Close {
        /// The connection.
        conn: ConnId,
    },
    /// A request on `conn` finished without a reply frame (a top-level check that passed, as
    /// Apache ZooKeeper 3.8 answers it): its in-flight slot is free.
    Silent {
        /// The connection.
        conn: ConnId,
    },
}

/// Per-connection state and counters (for cons/stat).
#[derive(Debug, Clone)]
pub struct ConnState {
    /// The peer address.
    pub remote: SocketAddr,
    /// The session, once the handshake succeeded.
    pub session: Option<SessionId>,
    /// Authenticated ids: `ip:<addr>` first, then addauth results.
    pub ids: Vec<Id>,
    /// Negotiated timeout.
    pub timeout_ms: i32,
    /// Packets received.
    pub received: u64,
    /// Packets sent.
    pub sent: u64,
    /// When the connection was accepted (ms).
    pub established: i64,
    /// Last op name.
    pub last_op: &'static str,
    /// Last cxid.
    pub last_cxid: i32,
    /// Last zxid replied.
    pub last_zxid: Zxid,
    /// When the last reply was produced (ms).
    pub last_response: i64,
    /// The SASL exchange, once the client started one.
    pub sasl: Option<super::sasl::DigestMd5Server>,
}

/// The sans-IO ZooKeeper server.
#[derive(Debug)]
pub struct Core {
    pub(crate) cfg: CoreConfig,
    pub(crate) tree: DataTree,
    pub(crate) sessions: SessionTracker,
    pub(crate) watches: WatchManager,
    pub(crate) conns: HashMap<ConnId, ConnState>,
    pub(crate) out: VecDeque<Output>,
    txns: Vec<(TxnHeader, TxnBody)>,
    pub(crate) packets_received: u64,
    pub(crate) packets_sent: u64,
    pub(crate) started: i64,
    /// How writes are processed (standalone, or a member of an ensemble).
    pub(crate) mode: CoreMode,
    /// The replicated pipeline (unused standalone).
    pub(crate) pipe: Pipeline,
    /// SASL nonces handed out (each is derived from the configured entropy and this count).
    pub(crate) sasl_nonces: u64,
    /// The ensemble as a leader's reconfig sees it (None standalone and on learners).
    pub(crate) ensemble_view: Option<super::reconfig::EnsembleView>,
    /// A learner's answer to a reconfig it commits (see [`Core::set_reconfig_answer`]).
    reconfig_answer: Option<(Zxid, bytes::Bytes)>,
}

impl Core {
    /// A server with the initial tree.
    pub fn new(cfg: CoreConfig, now_ms: i64) -> Core {
        Core::with_tree(cfg, DataTree::new(), now_ms)
    }

    /// The ensemble a leader's reconfig starts from (the peer keeps it fresh while leading;
    /// None otherwise).
    pub fn set_ensemble_view(&mut self, view: Option<super::reconfig::EnsembleView>) {
        self.ensemble_view = view;
    }

    /// Writes the quorum config into `/zookeeper/config` (`initConfigInZKDatabase`).
    pub fn set_config_node(&mut self, text: &str, version: i64, now_ms: i64) {
        self.tree.set_config_node(text, version, now_ms);
    }

    /// A learner's answer to the reconfig committed at `zxid`: its own text of the config it
    /// activates (Apache's `FinalRequestProcessor` answers with the member's parsed config,
    /// whose lines may come in another order than the leader's stored text).
    pub fn set_reconfig_answer(&mut self, zxid: Zxid, text: String) {
        self.reconfig_answer = Some((zxid, bytes::Bytes::from(text)));
    }

    /// What a reconfig committed at `zxid` is answered with: the learner's text of it, or
    /// the data of `/zookeeper/config` (the leader's text).
    pub(crate) fn reconfig_answer(&self, zxid: Zxid) -> Option<bytes::Bytes> {
        match &self.reconfig_answer {
            Some((z, text)) if *z == zxid => Some(text.clone()),
            _ => self.config_data(),
        }
    }

    /// With reconfig on, the config `/zookeeper/config` holds when it is newer than
    /// `version` (the active config's): a reconfig logged, maybe committed, and not activated
    /// here yet (the member crashed first, or was a follower when its leader went).
    pub(crate) fn newer_logged_config(
        &self,
        version: i64,
    ) -> Option<crate::quorum::verifier::QuorumVerifier> {
        if !self.cfg.reconfig_enabled {
            return None;
        }
        let data = self.config_data();
        crate::quorum::verifier::QuorumVerifier::from_config_data(data.as_deref())
            .ok()
            .filter(|qv| qv.version() > version && !qv.voters().is_empty())
    }

    /// The data of `/zookeeper/config` (what a reconfig answers).
    pub(crate) fn config_data(&self) -> Option<bytes::Bytes> {
        self.tree
            .node("/zookeeper/config")
            .and_then(|n| n.data.clone())
    }

    /// The ensemble view last set.
    pub fn ensemble_view(&self) -> Option<&super::reconfig::EnsembleView> {
        self.ensemble_view.as_ref()
    }

    /// A server over a recovered tree; the tree's sessions are tracked again from `now_ms`, so
    /// they expire after their timeout unless their clients come back.
    pub fn with_tree(cfg: CoreConfig, tree: DataTree, now_ms: i64) -> Core {
        let mut sessions = SessionTracker::new(cfg.tick_time_ms, now_ms, cfg.server_id);
        for (id, t) in tree.sessions() {
            sessions.add(*id, *t, now_ms);
        }
        Core {
            cfg,
            tree,
            sessions,
            watches: WatchManager::new(),
            conns: HashMap::new(),
            out: VecDeque::new(),
            txns: Vec::new(),
            packets_received: 0,
            packets_sent: 0,
            started: now_ms,
            mode: CoreMode::Standalone,
            pipe: Pipeline::default(),
            sasl_nonces: 0,
            ensemble_view: None,
            reconfig_answer: None,
        }
    }

    /// The data tree.
    pub fn tree(&self) -> &DataTree {
        &self.tree
    }

    /// The configuration.
    pub fn config(&self) -> &CoreConfig {
        &self.cfg
    }

    /// The zxid of the last applied transaction.
    pub fn last_zxid(&self) -> Zxid {
        self.tree.last_zxid()
    }

    /// The next output, in order.
    #[must_use]
    pub fn poll_output(&mut self) -> Option<Output> {
        self.out.pop_front()
    }

    /// Transactions applied since the last call, in zxid order, to be logged.
    #[must_use]
    pub fn take_txns(&mut self) -> Vec<(TxnHeader, TxnBody)> {
        std::mem::take(&mut self.txns)
    }

    /// Registers a new connection.
    pub fn accept(&mut self, now_ms: i64, conn: ConnId, remote: SocketAddr) {
        self.conns.insert(
            conn,
            ConnState {
                remote,
                session: None,
                ids: vec![Id::new("ip", remote.ip().to_string())],
                timeout_ms: 0,
                received: 0,
                sent: 0,
                established: now_ms,
                last_op: "NA",
                last_cxid: -1,
                last_zxid: Zxid(-1),
                last_response: now_ms,
                sasl: None,
            },
        );
    }

    /// A connection went away: its watches go, its session stays until it expires.
    pub fn disconnected(&mut self, conn: ConnId) {
        self.watches.remove_conn(conn);
        if let Some(c) = self.conns.remove(&conn) {
            if let Some(sid) = c.session {
                if let Some(s) = self.sessions.get_mut(sid) {
                    if s.conn == Some(conn) {
                        s.conn = None;
                    }
                }
            }
        }
    }

    pub(crate) fn send(&mut self, conn: ConnId, frame: Vec<u8>, reply: bool) {
        let zxid = self.tree.last_zxid();
        if let Some(c) = self.conns.get_mut(&conn) {
            c.sent += 1;
        }
        self.packets_sent += 1;
        self.out.push_back(Output::Send {
            conn,
            frame,
            zxid,
            reply,
        });
    }

    pub(crate) fn close(&mut self, conn: ConnId) {
        self.out.push_back(Output::Close { conn });
    }

    /// Encodes and queues a reply.
    pub(crate) fn reply(
        &mut self,
        now_ms: i64,
        conn: ConnId,
        xid: i32,
        zxid: Zxid,
        err: ErrorCode,
        body: Option<&Response>,
    ) {
        let mut f = Vec::new();
        write_frame(&mut f, |w| {
            ReplyHeader {
                xid,
                zxid,
                err: err.as_i32(),
            }
            .encode(w);
            if let (true, Some(b)) = (err.is_ok(), body) {
                b.encode(w);
            }
        });
        if let Some(c) = self.conns.get_mut(&conn) {
            c.last_zxid = zxid;
            c.last_response = now_ms;
        }
        self.send(conn, f, true);
    }

    /// Appends a transaction to the log queue, applies it and fires its watches.
    pub(crate) fn log_and_apply(
        &mut self,
        _now_ms: i64,
        header: TxnHeader,
        body: TxnBody,
    ) -> TxnResult {
        // Invariant of the live path (not of replay): each transaction follows the last one.
        assert!(
            header.zxid > self.tree.last_zxid(),
            "transaction {} applied at last zxid {}",
            header.zxid,
            self.tree.last_zxid()
        );
        let mut triggers = Vec::new();
        let result = self.tree.apply(&header, &body, &mut triggers);
        if let TxnBody::CloseSession(_) = &body {
            self.check_closed(header.client_id);
        }
        self.txns.push((header, body));
        self.fire(&triggers);
        result
    }

    /// Sends the notifications for `triggers` (3.8: notification zxid is -1). Every watch, of
    /// any mode, is consumed, but its event only reaches connections with READ on the node's
    /// ACL as the event fired (`ServerCnxn.process(event, znodeAcl)`, ZOOKEEPER-4799).
    pub(crate) fn fire(&mut self, triggers: &[Trigger]) {
        for t in triggers {
            for r in self.watches.trigger(t.event, &t.path) {
                let readable = self.conns.get(&r.conn).is_none_or(|c| {
                    self.cfg.skip_acl || check_acl(&t.acl, zk_core::Perms::READ, &c.ids)
                });
                if !readable {
                    continue;
                }
                self.notify(r.conn, t.event, &t.path);
            }
        }
    }

    /// Invariant after a closeSession: the session owns no node any more and is gone from the
    /// tree's session table (a disagreement would leave ephemerals nobody can delete).
    pub(crate) fn check_closed(&self, session: SessionId) {
        assert!(
            self.tree.ephemerals(session).is_empty()
                && !self.tree.sessions().contains_key(&session),
            "session {session} still owns {:?} after its closeSession",
            self.tree.ephemerals(session)
        );
    }

    pub(crate) fn notify(&mut self, conn: ConnId, event: EventType, path: &str) {
        let mut f = Vec::new();
        write_frame(&mut f, |w| {
            ReplyHeader {
                xid: -1,
                zxid: Zxid(-1),
                err: 0,
            }
            .encode(w);
            WatcherEvent {
                event_type: event.as_i32(),
                state: KeeperState::SyncConnected.as_i32(),
                path: path.to_owned(),
            }
            .encode(w);
        });
        self.send(conn, f, false);
    }
}
