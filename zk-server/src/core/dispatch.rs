//! Request dispatch in the core: validity and decoding of request frames, then pings, auth,
//! closeSession, writes (prepare -> log -> apply -> reply) and reads.

use zk_core::frame::write_frame;
use zk_core::jute::{Encode, Reader};
use zk_core::proto::ReplyHeader;
use zk_core::txn::{TxnBody, TxnHeader};
use zk_core::{ErrorCode, OpCode, Request, Response, SessionId, Zxid};

use super::acl::authenticate;
use super::pipeline::{CoreMode, Queued, QueuedKind};
use super::prepare::{PrepContext, Preparer};
use super::state::Core;
use super::tree::TxnResult;
use super::watch::ConnId;

impl Core {
    /// Handles one request frame (after the handshake): `xid` and `op_type` from its header,
    /// `body` the rest.
    pub fn request(&mut self, now_ms: i64, conn: ConnId, xid: i32, op_type: i32, body: &[u8]) {
        self.packets_received += 1;
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        c.received += 1;
        let Some(session) = c.session else {
            self.close(conn);
            return;
        };
        if self.sessions.get(session).is_none_or(|s| s.closing) {
            // The session was closed or expired; its connection is on its way out.
            self.close(conn);
            return;
        }
        c.last_cxid = xid;
        c.last_op = OpCode::from_i32(op_type).map_or("UNKNOWN", |o| o.name());
        self.sessions.touch(session, now_ms);
        match self.mode {
            CoreMode::Standalone => {}
            CoreMode::NotServing => {
                self.close(conn);
                return;
            }
            CoreMode::ReadOnly => {
                if super::replicated::replicates(op_type) {
                    self.read_only_refusal(now_ms, conn, session, xid, op_type);
                    return;
                }
            }
            CoreMode::Leader | CoreMode::Learner => {
                if self.mode == CoreMode::Learner {
                    let timeout = self.sessions.get(session).map_or(0, |s| s.timeout_ms);
                    self.pipe.touches.insert(session, timeout);
                }
                if super::replicated::replicates(op_type) {
                    self.replicated(now_ms, conn, session, xid, op_type, body);
                    return;
                }
                if self.cfg.linearizable_reads && super::replicated::reads_state(op_type) {
                    self.linearizable_read(now_ms, conn, session, xid, op_type, body);
                    return;
                }
                let immediate =
                    op_type == OpCode::Auth.as_i32() || op_type == OpCode::Sasl.as_i32();
                if !immediate && self.pipe.busy(session) {
                    let kind = QueuedKind::Read {
                        op: op_type,
                        body: body.to_vec(),
                    };
                    self.pipe.push(session, Queued { conn, xid, kind });
                    return;
                }
            }
        }
        self.process(now_ms, conn, session, xid, op_type, body);
    }

    /// Processes a request now: in standalone mode every request, in an ensemble the requests
    /// that change nothing (reads, pings, auth, watch operations).
    pub(crate) fn process(
        &mut self,
        now_ms: i64,
        conn: ConnId,
        session: SessionId,
        xid: i32,
        op_type: i32,
        body: &[u8],
    ) {
        if op_type == OpCode::Check.as_i32() {
            // Apache ZooKeeper 3.8 prepares a top-level check like any write (it consumes a
            // zxid): a failed check is answered with its error, a passing one is never answered.
            match Request::decode(op_type, &mut Reader::new(body)) {
                Ok(req) => match self.write_txn(now_ms, conn, session, xid, &req) {
                    (zxid, TxnResult::Error(e)) => self.reply(now_ms, conn, xid, zxid, e, None),
                    _ => self.answered_silently(conn),
                },
                Err(e) => self.undecodable(now_ms, conn, session, xid, op_type, &e),
            }
            return;
        }
        let valid = OpCode::from_i32(op_type).is_some_and(|op| {
            !matches!(
                op,
                OpCode::Notification | OpCode::CreateSession | OpCode::Error
            )
        });
        if !valid {
            self.reply(now_ms, conn, xid, Zxid(-1), ErrorCode::Unimplemented, None);
            self.close(conn);
            return;
        }
        let decoded = Request::decode(op_type, &mut Reader::new(body));
        if let Ok(Request::MultiRead(ops)) = &decoded {
            let txn_kind = |o: &Request| {
                matches!(
                    o,
                    Request::Create(_)
                        | Request::Create2(_)
                        | Request::CreateContainer(_)
                        | Request::CreateTtl(_)
                        | Request::Delete(_)
                        | Request::SetData(_)
                        | Request::Check(_)
                )
            };
            if !ops.is_empty() && ops.iter().all(txn_kind) {
                // Only write ops: Apache ZooKeeper's MultiOperationRecord takes them (one kind),
                // then its multiRead loop fails on the first one after creating the response:
                // MarshallingError with an empty result list.
                self.multi_read_failed(conn, xid);
                return;
            }
        }
        let decoded = decoded.and_then(|r| {
            // multi carries only writes and multiRead only reads.
            let ok = match &r {
                Request::Multi(ops) => ops.iter().all(|o| o.op_code().is_write()),
                Request::MultiRead(ops) => ops.iter().all(|o| !o.op_code().is_write()),
                _ => true,
            };
            if ok {
                Ok(r)
            } else {
                Err(zk_core::DecodeError::BadOpCode(op_type))
            }
        });
        match decoded {
            Ok(req) => self.handle(now_ms, conn, session, xid, req),
            Err(e) => self.undecodable(now_ms, conn, session, xid, op_type, &e),
        }
    }

    /// MarshallingError with an empty result list, for a multiRead of write ops.
    fn multi_read_failed(&mut self, conn: ConnId, xid: i32) {
        let mut f = Vec::new();
        write_frame(&mut f, |w| {
            ReplyHeader {
                xid,
                zxid: self.tree.last_zxid(),
                err: ErrorCode::MarshallingError.as_i32(),
            }
            .encode(w);
            Response::Multi(Vec::new()).encode(w);
        });
        self.send(conn, f, true);
    }

    /// A request whose body does not decode: MarshallingError, as Apache ZooKeeper answers it
    /// (a multi still consumes a zxid). A multiRead mixing reads and writes, or holding ops a
    /// multi cannot carry, fails in MultiOperationRecord before any response exists: no body.
    fn undecodable(
        &mut self,
        now_ms: i64,
        conn: ConnId,
        session: SessionId,
        xid: i32,
        op_type: i32,
        e: &zk_core::DecodeError,
    ) {
        tracing::debug!(?conn, %e, "undecodable request");
        let err = ErrorCode::MarshallingError;
        if op_type == OpCode::Multi.as_i32() {
            let zxid = self.tree.last_zxid().next();
            let header = TxnHeader {
                client_id: session,
                cxid: xid,
                zxid,
                time: now_ms,
                txn_type: OpCode::Error.as_i32(),
            };
            let body = TxnBody::Error(zk_core::txn::ErrorTxn { err: err.as_i32() });
            self.log_and_apply(now_ms, header, body);
            self.reply(now_ms, conn, xid, zxid, err, None);
        } else {
            let z = self.tree.last_zxid();
            self.reply(now_ms, conn, xid, z, err, None);
        }
    }

    /// A SASL token (`ZooKeeperServer.processSasl`). Without a SASL server the answer is a null
    /// token. A failed exchange is answered AuthFailed (with a null token) and the connection is
    /// closed; a completed one adds `sasl:<user>` (and `super` for `zookeeper.superUser`).
    fn sasl(&mut self, now_ms: i64, conn: ConnId, xid: i32, token: &[u8]) {
        let null = Response::Sasl(zk_core::proto::SetSaslResponse { token: None });
        let Some(users) = self.cfg.sasl_digest_users.as_ref() else {
            self.reply(now_ms, conn, xid, Zxid(0), ErrorCode::Ok, Some(&null));
            return;
        };
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        if c.sasl.is_none() {
            self.sasl_nonces += 1;
            let n = super::sasl::nonce(&self.cfg.entropy, self.sasl_nonces);
            c.sasl = Some(super::sasl::DigestMd5Server::new(n));
        }
        let Some(server) = c.sasl.as_mut() else {
            return;
        };
        match server.evaluate(token, users) {
            Ok(answer) => {
                if let Some(user) = server.authorized_id().map(str::to_owned) {
                    tracing::info!(?conn, user, "SASL authentication succeeded");
                    let mut new = vec![zk_core::Id::new("sasl", user.clone())];
                    if self.cfg.sasl_super_user.as_deref() == Some(user.as_str()) {
                        new.push(zk_core::Id::new("super", ""));
                    }
                    for i in new {
                        if !c.ids.contains(&i) {
                            c.ids.push(i);
                        }
                    }
                }
                let resp = Response::Sasl(zk_core::proto::SetSaslResponse {
                    token: answer.map(bytes::Bytes::from),
                });
                self.reply(now_ms, conn, xid, Zxid(0), ErrorCode::Ok, Some(&resp));
            }
            Err(e) => {
                tracing::warn!(?conn, error = %e, "SASL authentication failed; closing the connection");
                let mut f = Vec::new();
                write_frame(&mut f, |w| {
                    ReplyHeader {
                        xid,
                        zxid: Zxid(0),
                        err: ErrorCode::AuthFailed.as_i32(),
                    }
                    .encode(w);
                    null.encode(w);
                });
                self.send(conn, f, true);
                self.close(conn);
            }
        }
    }

    fn handle(&mut self, now_ms: i64, conn: ConnId, session: SessionId, xid: i32, req: Request) {
        match req {
            Request::Ping => {
                let z = self.tree.last_zxid();
                self.reply(now_ms, conn, -2, z, ErrorCode::Ok, None);
            }
            Request::Auth(a) => {
                match authenticate(&a.scheme, &a.auth, self.cfg.super_digest.as_deref()) {
                    Some(ids) => {
                        if let Some(c) = self.conns.get_mut(&conn) {
                            for i in ids {
                                if !c.ids.contains(&i) {
                                    c.ids.push(i);
                                }
                            }
                        }
                        self.reply(now_ms, conn, xid, Zxid(0), ErrorCode::Ok, None);
                    }
                    None => {
                        self.reply(now_ms, conn, xid, Zxid(0), ErrorCode::AuthFailed, None);
                        self.close(conn);
                    }
                }
            }
            // A null token: Apache ZooKeeper's processSasl dereferences it before anything else,
            // and the exception closes the connection without an answer.
            Request::Sasl(zk_core::proto::GetSaslRequest { token: None }) => self.close(conn),
            Request::Sasl(zk_core::proto::GetSaslRequest { token: Some(t) }) => {
                self.sasl(now_ms, conn, xid, &t)
            }
            Request::CloseSession => {
                self.close_session(now_ms, session, xid);
                let z = self.tree.last_zxid();
                self.reply(now_ms, conn, xid, z, ErrorCode::Ok, None);
                self.close(conn);
            }
            Request::Create(_)
            | Request::Create2(_)
            | Request::CreateContainer(_)
            | Request::CreateTtl(_)
            | Request::Delete(_)
            | Request::DeleteContainer(_)
            | Request::SetData(_)
            | Request::SetAcl(_)
            | Request::Multi(_)
            | Request::Reconfig(_) => self.write(now_ms, conn, session, xid, &req),
            other => self.read(now_ms, conn, session, xid, other),
        }
    }

    /// Prepares, logs and applies a write, then queues its reply.
    fn write(&mut self, now_ms: i64, conn: ConnId, session: SessionId, xid: i32, req: &Request) {
        let (zxid, result) = self.write_txn(now_ms, conn, session, xid, req);
        let (err, resp) = super::reply::write_response(req, result, || self.config_data());
        self.reply(now_ms, conn, xid, zxid, err, resp.as_ref());
    }

    /// Prepares, logs and applies a write; returns its zxid and result.
    fn write_txn(
        &mut self,
        now_ms: i64,
        conn: ConnId,
        session: SessionId,
        xid: i32,
        req: &Request,
    ) -> (Zxid, TxnResult) {
        let zxid = self.tree.last_zxid().next();
        let ids = self
            .conns
            .get(&conn)
            .map(|c| c.ids.clone())
            .unwrap_or_default();
        let ctx = PrepContext {
            session,
            ids: &ids,
            zxid,
            time: now_ms,
            extended_types: self.cfg.extended_types_enabled,
            reconfig_enabled: self.cfg.reconfig_enabled,
            ensemble: None,
            sasl_scheme: self.cfg.sasl_scheme,
            skip_acl: self.cfg.skip_acl,
            internal: false,
        };
        let (txn_type, body) = Preparer::new(&self.tree, ctx).prepare(req);
        let header = TxnHeader {
            client_id: session,
            cxid: xid,
            zxid,
            time: now_ms,
            txn_type,
        };
        (zxid, self.log_and_apply(now_ms, header, body))
    }
}
