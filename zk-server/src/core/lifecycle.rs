//! Session lifecycle in the core: the handshake (new session, resume, expired answer),
//! closeSession, expiry in tickTime buckets, and the container/TTL reaper.

use zk_core::proto::ConnectRequest;
use zk_core::txn::{CloseSessionTxn, CreateSessionTxn, TxnBody, TxnHeader};
use zk_core::{OpCode, Request, SessionId};

use super::pipeline::CoreMode;
use super::prepare::{PrepContext, Preparer};
use super::session::session_passwd;
use super::state::Core;
use super::watch::ConnId;

impl Core {
    /// Handles the first frame of a session connection.
    pub fn connect(&mut self, now_ms: i64, conn: ConnId, req: &ConnectRequest) {
        self.packets_received += 1;
        if self.mode == CoreMode::NotServing {
            // `ZooKeeperServer not running`: the connection is closed unanswered.
            self.close(conn);
            return;
        }
        if req.last_zxid_seen > self.tree.last_zxid() {
            tracing::info!(?conn, "client zxid ahead of server; closing");
            self.close(conn);
            return;
        }
        let timeout = req.timeout_ms.clamp(
            self.cfg.min_session_timeout_ms,
            self.cfg
                .max_session_timeout_ms
                .max(self.cfg.min_session_timeout_ms),
        );
        if matches!(self.mode, CoreMode::Leader | CoreMode::Learner) {
            self.replicated_connect(
                now_ms,
                conn,
                req.session_id,
                &req.passwd,
                timeout,
                req.read_only,
            );
            return;
        }
        // Read-only mode (`ReadOnlyZooKeeperServer`) serves only clients that allow it (the
        // others are closed unanswered, as Apache ZooKeeper does); a new session is local to
        // this member (never logged, it dies with read-only mode); an ensemble session
        // resumes here read-only (Apache ZooKeeper 3.8 refuses that, ZOOKEEPER-3863: its
        // clients could then never reach a read-only member).
        let read_only = self.mode == CoreMode::ReadOnly;
        if read_only && req.read_only != Some(true) {
            tracing::info!(
                ?conn,
                "refusing a client that does not allow read-only mode"
            );
            self.close(conn);
            return;
        }
        let sid = if req.session_id.0 == 0 {
            let sid = self.sessions.next_id();
            if !read_only {
                self.log_and_apply(
                    now_ms,
                    TxnHeader {
                        client_id: sid,
                        cxid: 0,
                        zxid: self.tree.last_zxid().next(),
                        time: now_ms,
                        txn_type: OpCode::CreateSession.as_i32(),
                    },
                    TxnBody::CreateSession(CreateSessionTxn {
                        timeout_ms: timeout,
                    }),
                );
            }
            self.sessions.add(sid, timeout, now_ms);
            Some(sid)
        } else {
            let sid = req.session_id;
            let old = self.sessions.get(sid).and_then(|s| s.conn);
            if let Some(old) = old.filter(|o| *o != conn) {
                self.disconnected(old);
                self.close(old);
            }
            let valid = self.sessions.get(sid).is_some_and(|s| !s.closing)
                && req.passwd.as_ref() == session_passwd(sid).as_slice();
            valid.then(|| {
                self.sessions.touch(sid, now_ms);
                sid
            })
        };
        if let Some(sid) = sid {
            self.attach(sid, conn, timeout);
        }
        let ro = if read_only {
            Some(true)
        } else {
            req.read_only.map(|_| false)
        };
        self.send_connect_response(conn, sid, timeout, ro);
    }

    /// Read-only mode's expiry: a local session expires here; an ensemble session is only
    /// kept (its leader, once there is one again, decides).
    fn read_only_expiry(&mut self, now_ms: i64) {
        for sid in self.sessions.expired(now_ms) {
            if self.tree.sessions().contains_key(&sid) {
                if let Some(s) = self.sessions.get_mut(sid) {
                    s.closing = false;
                }
                self.sessions.touch(sid, now_ms);
                continue;
            }
            tracing::info!(session = %sid, "read-only session expired");
            let conn = self.sessions.get(sid).and_then(|s| s.conn);
            self.sessions.remove(sid);
            if let Some(conn) = conn {
                self.disconnected(conn);
                self.close(conn);
            }
        }
    }

    /// A request that would change the ensemble's state, in read-only mode: NotReadOnly
    /// (`ReadOnlyRequestProcessor`), except that a local session's closeSession closes it.
    pub(crate) fn read_only_refusal(
        &mut self,
        now_ms: i64,
        conn: ConnId,
        session: SessionId,
        xid: i32,
        op: i32,
    ) {
        let zxid = self.tree.last_zxid();
        if op == OpCode::CloseSession.as_i32() && !self.tree.sessions().contains_key(&session) {
            self.sessions.remove(session);
            self.reply(now_ms, conn, xid, zxid, zk_core::ErrorCode::Ok, None);
            self.disconnected(conn);
            self.close(conn);
            return;
        }
        self.reply(
            now_ms,
            conn,
            xid,
            zxid,
            zk_core::ErrorCode::NotReadOnly,
            None,
        );
    }

    /// Logs and applies a closeSession (client request or expiry).
    pub(crate) fn close_session(&mut self, now_ms: i64, session: SessionId, cxid: i32) {
        self.sessions.set_closing(session);
        let paths = self.tree.ephemerals(session);
        let header = TxnHeader {
            client_id: session,
            cxid,
            zxid: self.tree.last_zxid().next(),
            time: now_ms,
            txn_type: OpCode::CloseSession.as_i32(),
        };
        self.log_and_apply(
            now_ms,
            header,
            TxnBody::CloseSession(CloseSessionTxn {
                paths_to_delete: paths,
            }),
        );
        self.sessions.remove(session);
    }

    /// Expires sessions whose time has come: each gets a closeSession transaction and its
    /// connection is closed.
    pub fn tick(&mut self, now_ms: i64) {
        match self.mode {
            CoreMode::Standalone => {}
            CoreMode::Leader => {
                // The leader expires sessions through the ensemble: a closeSession is proposed
                // and every member closes the connection when it commits.
                for sid in self.sessions.expired(now_ms) {
                    tracing::info!(session = %sid, "session expired");
                    self.propose_close(now_ms, sid);
                }
                return;
            }
            // Learners never expire sessions; the leader does.
            CoreMode::Learner | CoreMode::NotServing => return,
            CoreMode::ReadOnly => return self.read_only_expiry(now_ms),
        }
        for sid in self.sessions.expired(now_ms) {
            let conn = self.sessions.get(sid).and_then(|s| s.conn);
            tracing::info!(session = %sid, "session expired");
            self.close_session(now_ms, sid, 0);
            if let Some(conn) = conn {
                self.disconnected(conn);
                self.close(conn);
            }
        }
    }

    /// The container and TTL reaper (`ContainerManager`): deletes empty containers that had
    /// children and expired empty TTL nodes, at most `limit` of them.
    pub fn reap(&mut self, now_ms: i64, limit: usize) {
        let mut candidates = Vec::new();
        for p in self.tree.containers() {
            if let Some(n) = self.tree.node(p) {
                if n.num_children() == 0 && n.stat.cversion > 0 {
                    candidates.push(p.to_owned());
                }
            }
        }
        for p in self.tree.ttls() {
            if let Some(n) = self.tree.node(p) {
                if let super::node::OwnerKind::Ttl(ttl) = n.owner_kind() {
                    if n.num_children() == 0 && now_ms - n.stat.mtime > ttl {
                        candidates.push(p.to_owned());
                    }
                }
            }
        }
        match self.mode {
            CoreMode::Standalone => {}
            CoreMode::Leader => {
                for p in candidates.into_iter().take(limit) {
                    self.propose_reap(now_ms, p);
                }
                return;
            }
            CoreMode::Learner | CoreMode::NotServing | CoreMode::ReadOnly => return,
        }
        for p in candidates.into_iter().take(limit) {
            let req = Request::DeleteContainer(zk_core::proto::DeleteContainerRequest { path: p });
            let zxid = self.tree.last_zxid().next();
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
            let (txn_type, body) = Preparer::new(&self.tree, ctx).prepare(&req);
            let header = TxnHeader {
                client_id: SessionId(0),
                cxid: 0,
                zxid,
                time: now_ms,
                txn_type,
            };
            self.log_and_apply(now_ms, header, body);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{CoreConfig, Output};
    use super::*;
    use proptest::prelude::*;
    use zk_core::jute::Encode;
    use zk_core::jute::{Decode, Reader};
    use zk_core::proto::ConnectResponse;
    use zk_core::proto::{CreateRequest, GetDataRequest, ReplyHeader, WatcherEvent};
    use zk_core::{Acl, ErrorCode, Zxid};

    use super::super::DataTree;

    const ADDR: &str = "127.0.0.1:5000";

    fn new_session(core: &mut Core, now: i64, conn: ConnId) -> ConnectResponse {
        core.accept(now, conn, ADDR.parse().unwrap());
        core.connect(
            now,
            conn,
            &ConnectRequest {
                timeout_ms: 4000,
                passwd: vec![0; 16].into(),
                read_only: Some(false),
                ..Default::default()
            },
        );
        match core.poll_output() {
            Some(Output::Send { frame, .. }) => ConnectResponse::from_bytes(&frame[4..]).unwrap(),
            other => panic!("{other:?}"),
        }
    }

    fn send(core: &mut Core, now: i64, conn: ConnId, xid: i32, req: &Request) {
        core.request(now, conn, xid, req.op_code().as_i32(), &req.to_bytes());
    }

    /// Every frame queued so far: (conn, reply header, rest).
    fn frames(core: &mut Core) -> Vec<(ConnId, ReplyHeader, Vec<u8>)> {
        let mut v = Vec::new();
        while let Some(o) = core.poll_output() {
            if let Output::Send { conn, frame, .. } = o {
                let mut r = Reader::new(&frame[4..]);
                if let Ok(h) = ReplyHeader::decode(&mut r) {
                    v.push((conn, h, r.rest().to_vec()));
                }
            }
        }
        v
    }

    fn create(path: &str, flags: i32) -> Request {
        Request::Create(CreateRequest {
            path: path.into(),
            data: None,
            acl: Acl::open_unsafe(),
            flags,
        })
    }

    fn sasl(token: &[u8]) -> Request {
        Request::Sasl(zk_core::proto::GetSaslRequest {
            token: Some(token.to_vec().into()),
        })
    }

    fn sasl_token(body: &[u8]) -> Option<String> {
        let r = zk_core::proto::SetSaslResponse::decode(&mut Reader::new(body)).unwrap();
        r.token.map(|t| String::from_utf8(t.to_vec()).unwrap())
    }

    /// SASL DIGEST-MD5 (a JAAS `Server` section with DigestLoginModule, as kazoo's test harness
    /// configures): challenge, response, rspauth; the connection then holds `sasl:<user>` and
    /// passes `sasl` ACLs. A wrong password gets AuthFailed and the connection is closed.
    #[test]
    fn sasl_digest_md5_authenticates_and_failures_close_the_connection() {
        let users = [("jaasuser".to_string(), "jaas_password".to_string())];
        let cfg = CoreConfig {
            sasl_digest_users: Some(users.into_iter().collect()),
            sasl_scheme: true,
            ..CoreConfig::default()
        };
        let mut core = Core::new(cfg, 0);
        let (a, b, c) = (ConnId(1), ConnId(2), ConnId(3));
        new_session(&mut core, 0, a);
        new_session(&mut core, 0, b);
        new_session(&mut core, 0, c);
        send(&mut core, 1, a, 1, &sasl(b""));
        let f = frames(&mut core);
        assert_eq!((f[0].1.xid, f[0].1.err, f[0].1.zxid), (1, 0, Zxid(0)));
        let challenge = sasl_token(&f[0].2).expect("a challenge");
        let resp = super::super::sasl::tests::client_response(
            &challenge,
            "jaasuser",
            "jaas_password",
            "c1",
        );
        send(&mut core, 1, a, 2, &sasl(resp.as_bytes()));
        let f = frames(&mut core);
        assert_eq!((f[0].1.xid, f[0].1.err), (2, 0));
        assert!(sasl_token(&f[0].2).unwrap().starts_with("rspauth="));
        let acl = vec![Acl {
            perms: zk_core::Perms::ALL.0,
            id: zk_core::Id::new("sasl", "jaasuser"),
        }];
        let req = Request::Create(CreateRequest {
            path: "/s".into(),
            data: None,
            acl,
            flags: 0,
        });
        send(&mut core, 2, a, 3, &req);
        send(
            &mut core,
            2,
            a,
            4,
            &Request::GetData(GetDataRequest {
                path: "/s".into(),
                watch: false,
            }),
        );
        send(
            &mut core,
            2,
            b,
            1,
            &Request::GetData(GetDataRequest {
                path: "/s".into(),
                watch: false,
            }),
        );
        let errs: Vec<(ConnId, i32)> = frames(&mut core).iter().map(|f| (f.0, f.1.err)).collect();
        assert_eq!(errs, vec![(a, 0), (a, 0), (b, ErrorCode::NoAuth.as_i32())]);

        send(&mut core, 3, c, 1, &sasl(b""));
        let challenge = sasl_token(&frames(&mut core)[0].2).unwrap();
        let resp = super::super::sasl::tests::client_response(&challenge, "jaasuser", "nope", "c2");
        send(&mut core, 3, c, 2, &sasl(resp.as_bytes()));
        let mut out = Vec::new();
        while let Some(o) = core.poll_output() {
            out.push(o);
        }
        match &out[..] {
            [Output::Send { conn, frame, .. }, Output::Close { conn: closed }] => {
                assert_eq!((*conn, *closed), (c, c));
                let mut r = Reader::new(&frame[4..]);
                let h = ReplyHeader::decode(&mut r).unwrap();
                assert_eq!((h.xid, h.err), (2, ErrorCode::AuthFailed.as_i32()));
                assert_eq!(sasl_token(r.rest()), None);
            }
            other => panic!("{other:?}"),
        }
    }

    /// Without a JAAS server section a SASL token gets a null token, and without the SASL
    /// provider a `sasl` ACL is InvalidACL (Apache ZooKeeper's defaults).
    #[test]
    fn without_sasl_configured_tokens_get_null_and_sasl_acls_are_invalid() {
        let mut core = Core::new(CoreConfig::default(), 0);
        let a = ConnId(1);
        new_session(&mut core, 0, a);
        send(&mut core, 1, a, 1, &sasl(b""));
        let f = frames(&mut core);
        assert_eq!((f[0].1.xid, f[0].1.err), (1, 0));
        assert_eq!(sasl_token(&f[0].2), None);
        let req = Request::Create(CreateRequest {
            path: "/s".into(),
            data: None,
            acl: vec![Acl {
                perms: zk_core::Perms::ALL.0,
                id: zk_core::Id::new("sasl", "jaasuser"),
            }],
            flags: 0,
        });
        send(&mut core, 1, a, 2, &req);
        let f = frames(&mut core);
        assert_eq!(f[0].1.err, ErrorCode::InvalidAcl.as_i32());
    }

    #[test]
    fn expiry_deletes_ephemerals_fires_watches_and_refuses_resume() {
        let mut core = Core::new(CoreConfig::default(), 0);
        let (a, b) = (ConnId(1), ConnId(2));
        let ra = new_session(&mut core, 0, a);
        assert_eq!(ra.timeout_ms, 4000);
        new_session(&mut core, 0, b);
        send(&mut core, 0, a, 1, &create("/e", 1));
        send(
            &mut core,
            0,
            b,
            1,
            &Request::GetData(GetDataRequest {
                path: "/e".into(),
                watch: true,
            }),
        );
        frames(&mut core);
        // b keeps its session alive; a goes silent.
        send(&mut core, 5000, b, -2, &Request::Ping);
        core.tick(5000);
        assert!(
            core.tree().node("/e").is_some(),
            "not expired before timeout + tick"
        );
        core.tick(6000);
        assert!(core.tree().node("/e").is_none());
        let f = frames(&mut core);
        let ev = f
            .iter()
            .find(|(c, h, _)| *c == b && h.xid == -1)
            .expect("b notified");
        let ev = WatcherEvent::from_bytes(&ev.2).unwrap();
        assert_eq!((ev.event_type, ev.path.as_str()), (2, "/e"));
        let txns = core.take_txns();
        let last = txns.last().unwrap();
        assert_eq!(last.0.txn_type, OpCode::CloseSession.as_i32());
        // Resuming the expired session gets timeOut 0 and a close.
        let c = ConnId(3);
        core.accept(6000, c, ADDR.parse().unwrap());
        core.connect(
            6000,
            c,
            &ConnectRequest {
                timeout_ms: 4000,
                session_id: ra.session_id,
                passwd: ra.passwd.clone(),
                read_only: None,
                ..Default::default()
            },
        );
        match core.poll_output() {
            Some(Output::Send { frame, .. }) => {
                let r = ConnectResponse::from_bytes(&frame[4..]).unwrap();
                assert_eq!(
                    (r.timeout_ms, r.session_id, r.read_only),
                    (0, SessionId(0), None)
                );
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(core.poll_output(), Some(Output::Close { conn: c }));
    }

    #[test]
    fn zxid_ahead_is_closed_without_answer() {
        let mut core = Core::new(CoreConfig::default(), 0);
        core.accept(0, ConnId(1), ADDR.parse().unwrap());
        core.connect(
            0,
            ConnId(1),
            &ConnectRequest {
                last_zxid_seen: Zxid(5),
                timeout_ms: 4000,
                passwd: vec![0; 16].into(),
                ..Default::default()
            },
        );
        assert_eq!(core.poll_output(), Some(Output::Close { conn: ConnId(1) }));
    }

    #[test]
    fn reaper_deletes_used_containers_and_expired_ttls() {
        let cfg = CoreConfig {
            extended_types_enabled: true,
            ..CoreConfig::default()
        };
        let mut core = Core::new(cfg, 0);
        let a = ConnId(1);
        new_session(&mut core, 0, a);
        let cont = Request::CreateContainer(CreateRequest {
            path: "/c".into(),
            data: None,
            acl: Acl::open_unsafe(),
            flags: 4,
        });
        send(&mut core, 0, a, 1, &cont);
        send(&mut core, 0, a, 2, &create("/c/x", 0));
        send(&mut core, 0, a, 3, &create("/unused", 0));
        let ttl = Request::CreateTtl(zk_core::proto::CreateTtlRequest {
            path: "/t".into(),
            data: None,
            acl: Acl::open_unsafe(),
            flags: 5,
            ttl: 1000,
        });
        send(&mut core, 0, a, 4, &ttl);
        core.reap(500, 100);
        assert!(core.tree().node("/c").is_some() && core.tree().node("/t").is_some());
        send(
            &mut core,
            600,
            a,
            5,
            &Request::Delete(zk_core::proto::DeleteRequest {
                path: "/c/x".into(),
                version: -1,
            }),
        );
        core.reap(700, 100);
        assert!(
            core.tree().node("/c").is_none(),
            "empty container that had a child is reaped"
        );
        assert!(core.tree().node("/t").is_some());
        core.reap(1001, 100);
        assert!(
            core.tree().node("/t").is_none(),
            "expired TTL node is reaped"
        );
        assert!(core.tree().node("/unused").is_some());
        let types: Vec<i32> = core.take_txns().iter().map(|t| t.0.txn_type).collect();
        assert_eq!(
            types
                .iter()
                .filter(|t| **t == OpCode::DeleteContainer.as_i32())
                .count(),
            2
        );
    }

    #[test]
    fn replaying_the_log_rebuilds_the_tree_with_sessions() {
        let cfg = CoreConfig {
            extended_types_enabled: true,
            ..CoreConfig::default()
        };
        let mut core = Core::new(cfg, 0);
        let (a, b) = (ConnId(1), ConnId(2));
        new_session(&mut core, 0, a);
        new_session(&mut core, 0, b);
        send(&mut core, 1, a, 1, &create("/x", 0));
        send(&mut core, 2, a, 2, &create("/x/e", 1));
        send(&mut core, 3, b, 1, &create("/x/s-", 3));
        send(
            &mut core,
            4,
            b,
            2,
            &Request::Multi(vec![create("/y", 0), create("/y/c", 0)]),
        );
        send(
            &mut core,
            5,
            b,
            3,
            &Request::Multi(vec![create("/z", 0), create("/missing/c", 0)]),
        );
        send(&mut core, 6, a, 3, &Request::CloseSession);
        let txns = core.take_txns();
        let mut replayed = DataTree::new();
        for (h, body) in &txns {
            replayed.replay(h, &body.to_bytes()).unwrap();
        }
        assert_eq!(
            super::super::model_tests::canonical(&replayed),
            super::super::model_tests::canonical(core.tree())
        );
        assert_eq!(replayed.sessions().len(), 1);
        assert!(replayed.node("/x/e").is_none() && replayed.node("/z").is_none());
        // Replaying twice (a fuzzy snapshot followed by the log) changes nothing more.
        let once = super::super::model_tests::canonical(&replayed);
        for (h, body) in &txns {
            replayed.replay(h, &body.to_bytes()).unwrap();
        }
        let twice = super::super::model_tests::canonical(&replayed);
        assert_eq!(once.len(), twice.len());
    }

    proptest! {
        /// Arbitrary request frames never panic the core, and every request gets exactly one
        /// reply (or the connection is closed).
        #[test]
        fn arbitrary_frames_never_panic(frames in proptest::collection::vec((any::<i32>(), -12..110i32, proptest::collection::vec(any::<u8>(), 0..64)), 1..40)) {
            let mut core = Core::new(CoreConfig::default(), 0);
            let a = ConnId(1);
            new_session(&mut core, 0, a);
            for (i, (xid, op, body)) in frames.iter().enumerate() {
                core.request(i as i64, a, *xid, *op, body);
                core.tick(i as i64 * 1000);
                core.reap(i as i64, 10);
                while core.poll_output().is_some() {}
            }
        }
    }
}
