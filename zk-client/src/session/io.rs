//! The driver's side of [`Session`]: connection events, frames, timers, and output.

use std::time::Instant;

use super::*;

impl Session {
    /// What the driver should do next when it has no connection. `jitter` in `[0, 1)`.
    pub(crate) fn poll_connect(&mut self, now: Instant, jitter: f64) -> ConnectAction {
        if self.phase == Phase::Ended {
            return ConnectAction::Stop;
        }
        let ((host, port), not_before) = self.hosts.next_attempt(now, jitter);
        let mut timeout = self.connect_timeout();
        if let Some(expiry) = self.expiry_deadline() {
            timeout = timeout.min(expiry.saturating_duration_since(not_before));
        }
        ConnectAction::Connect {
            host,
            port,
            not_before,
            timeout,
        }
    }

    /// A connection attempt failed (refused, timed out, unresolvable).
    pub(crate) fn handle_connect_failed(&mut self, now: Instant) {
        // A move asked for while this attempt was under way: the attempt is over anyway.
        self.move_requested = false;
        self.hosts.failed();
        let _ = self.handle_timeout(now);
    }

    /// A TCP connection is up: write the ConnectRequest.
    pub(crate) fn handle_connected(&mut self, now: Instant) {
        if self.phase == Phase::Ended {
            return;
        }
        self.out.clear();
        let req = ConnectRequest {
            protocol_version: 0,
            last_zxid_seen: self.last_zxid,
            timeout_ms: self.cfg.session_timeout.as_millis().min(i32::MAX as u128) as i32,
            session_id: self.asked_session(),
            passwd: self.passwd.clone(),
            read_only: Some(self.cfg.read_only),
        };
        zk_core::frame::write_frame(&mut self.out, |w| zk_core::jute::Encode::encode(&req, w));
        self.phase = Phase::Handshaking { since: now };
        self.last_send = now;
        self.last_recv = now;
    }

    /// The connection is gone (closed, failed, or dropped by the driver after
    /// [`Next::Disconnect`]). Requests in flight fail with ConnectionLoss: their outcome is
    /// unknown. Queued requests wait for the next connection.
    pub(crate) fn handle_disconnected(&mut self, now: Instant) {
        self.out.clear();
        self.server = None;
        self.move_requested = false;
        match self.phase {
            Phase::Ended => return,
            Phase::Connected => self.hosts.lost(),
            Phase::Handshaking { .. } | Phase::Disconnected => self.hosts.failed(),
        }
        self.phase = Phase::Disconnected;
        if self.close_requested {
            // The closeSession may or may not have reached the server; either way we are done.
            self.end(SessionState::Closed);
            return;
        }
        for mut p in self.inflight.drain(..) {
            p.answer(Err(Error::ConnectionLoss));
            if let Hook::Register { id, .. } = p.hook {
                // Registration outcome unknown: forget the watcher (its call failed).
                let _ = self.watches.dropped(id);
            }
        }
        for w in self.auth_waiters.drain(..).flatten() {
            let _ = w.send(Err(Error::ConnectionLoss));
        }
        self.watches.connection_lost();
        self.state.set(SessionState::Disconnected);
        let _ = self.handle_timeout(now);
    }

    /// The bytes to write, in order. Everything queued so far is handed over in one batch.
    pub(crate) fn take_transmit(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.out)
    }

    /// True when there is nothing to write.
    pub(crate) fn transmit_is_empty(&self) -> bool {
        self.out.is_empty()
    }

    /// The earliest time [`Session::handle_timeout`] has something to do.
    pub(crate) fn poll_timeout(&self) -> Option<Instant> {
        let mut t: Option<Instant> = None;
        let mut min = |x: Instant| t = Some(t.map_or(x, |t| t.min(x)));
        match self.phase {
            Phase::Ended => return None,
            Phase::Handshaking { since } => min(since + self.connect_timeout()),
            Phase::Connected => {
                min(self.last_recv + self.read_timeout());
                min(self.last_send + self.ping_interval());
            }
            Phase::Disconnected => {}
        }
        if let Some(e) = self.expiry_deadline() {
            min(e);
        }
        // Deadlines grow with call order in both queues: the first waiting request of each
        // has the earliest one.
        if self.cfg.request_timeout.is_some() {
            for q in [&self.unsent, &self.inflight] {
                if let Some(d) = q
                    .iter()
                    .find(|p| p.reply.is_some())
                    .and_then(|p| p.deadline)
                {
                    min(d);
                }
            }
        }
        t
    }

    /// When the client declares the session expired on its own: no server heard from for the
    /// session timeout **plus** the expiry grace.
    ///
    /// The session timeout alone is too early. A server expires a session a timeout after it
    /// last heard from the client, but only while a leader serves: an ensemble that is
    /// electing a leader expires nothing, and Apache ZooKeeper's new leader gives every
    /// session a fresh timeout from when it starts leading. A session last heard from at `t`
    /// can therefore live until `t + election + timeout`. Giving up at `t + timeout` would
    /// abandon a session the ensemble still keeps, and its ephemerals (lock and latch nodes)
    /// would linger for another timeout while a new session competes with them. So the client
    /// waits for the grace as well (the worst election it allows for); a server that answers
    /// "expired" ends the session at once, whenever that comes.
    fn expiry_deadline(&self) -> Option<Instant> {
        self.last_heard
            .map(|h| h + self.negotiated + self.cfg.expiry_grace)
    }

    /// Runs the timers due at `now`: request timeouts, the handshake timeout, the read
    /// timeout, pings, and client-side session expiry.
    pub(crate) fn handle_timeout(&mut self, now: Instant) -> Next {
        if self.phase == Phase::Ended {
            return Next::Disconnect;
        }
        if self.expiry_deadline().is_some_and(|d| now >= d) {
            // No server heard from for the session timeout plus the grace: even an ensemble
            // that elected a new leader meanwhile (which re-arms every session) has expired
            // the session by now, or will before we can reach it.
            tracing::info!(
                session = %self.session_id,
                "session expired (no server heard from for the session timeout plus the grace)"
            );
            self.end(SessionState::Expired);
            return Next::Disconnect;
        }
        if self.cfg.request_timeout.is_some() {
            self.expire_requests(now);
        }
        match self.phase {
            Phase::Handshaking { since } if now >= since + self.connect_timeout() => {
                Next::Disconnect
            }
            Phase::Connected if now >= self.last_recv + self.read_timeout() => Next::Disconnect,
            Phase::Connected => {
                if now >= self.last_send + self.ping_interval() {
                    self.out
                        .extend_from_slice(&encode_frame(PING_XID, &Request::Ping));
                    self.last_send = now;
                }
                Next::Continue
            }
            _ => Next::Continue,
        }
    }

    /// Fails the requests whose deadline passed: unsent ones are dropped (never executed),
    /// in-flight ones keep their FIFO place but nobody waits for them any more.
    fn expire_requests(&mut self, now: Instant) {
        while self
            .unsent
            .front()
            .is_some_and(|p| p.deadline.is_some_and(|d| now >= d))
        {
            if let Some(mut p) = self.unsent.pop_front() {
                p.answer(Err(Error::Timeout));
                if let Hook::Register { id, .. } = p.hook {
                    let _ = self.watches.dropped(id);
                }
            }
        }
        for p in self.inflight.iter_mut() {
            match p.deadline {
                Some(d) if now >= d => p.answer(Err(Error::Timeout)),
                // Later requests have later deadlines.
                Some(_) => break,
                None => {}
            }
        }
    }

    /// One frame's payload (length prefix removed) arrived.
    pub(crate) fn handle_frame(&mut self, now: Instant, payload: &[u8]) -> Next {
        match self.phase {
            Phase::Ended => Next::Disconnect,
            Phase::Disconnected => Next::Disconnect,
            Phase::Handshaking { .. } => self.handle_connect_response(now, payload),
            Phase::Connected => {
                self.last_recv = now;
                self.last_heard = Some(now);
                match self.handle_reply(now, payload) {
                    Ok(next) => next,
                    Err(e) => {
                        tracing::warn!("malformed reply, dropping the connection: {e}");
                        Next::Disconnect
                    }
                }
            }
        }
    }

    fn handle_connect_response(&mut self, now: Instant, payload: &[u8]) -> Next {
        let resp = match ConnectResponse::decode(&mut Reader::new(payload)) {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!("malformed ConnectResponse: {e}");
                return Next::Disconnect;
            }
        };
        let asked = self.asked_session();
        let other_session = asked != SessionId::NONE && resp.session_id != asked;
        if resp.timeout_ms <= 0 || other_session {
            // A server never swaps sessions; a different id would silently lose the
            // ephemerals and watches of ours, so it counts as expiry too.
            tracing::info!(session = %self.session_id, "session expired (server answer)");
            self.end(SessionState::Expired);
            return Next::Disconnect;
        }
        if asked == SessionId::NONE && self.session_id != SessionId::NONE {
            tracing::info!(
                old = %self.session_id,
                new = %resp.session_id,
                "the read-only server's session is replaced by an ensemble session"
            );
        }
        if resp.read_only != Some(true) {
            self.seen_rw = true;
        }
        self.session_id = resp.session_id;
        self.passwd = resp.passwd;
        self.negotiated = std::time::Duration::from_millis(resp.timeout_ms as u64);
        self.phase = Phase::Connected;
        self.last_recv = now;
        self.last_heard = Some(now);
        self.hosts.connected();
        // Credentials first, then the watches, then what the callers queued.
        let creds: Vec<(String, Vec<u8>, Option<_>)> = self
            .credentials
            .iter_mut()
            .map(|c| (c.scheme.clone(), c.auth.clone(), c.waiter.take()))
            .collect();
        for (scheme, auth, waiter) in creds {
            self.write_auth(now, &scheme, &auth);
            self.auth_waiters.push_back(waiter);
        }
        let lists = self.watches.rearm_lists();
        for req in rearm::set_watches_requests(self.last_zxid, lists) {
            let xid = self.xids.next_xid();
            self.out.extend_from_slice(&encode_frame(xid, &req));
            self.inflight.push_back(Pending {
                xid,
                op: req.op_code(),
                frame: Vec::new(),
                reply: None,
                hook: Hook::None,
                deadline: None,
            });
        }
        self.flush_unsent(now);
        self.last_send = now;
        tracing::debug!(session = %self.session_id, timeout_ms = resp.timeout_ms, "session established");
        self.state.set(if resp.read_only == Some(true) {
            SessionState::ConnectedReadOnly
        } else {
            SessionState::Connected
        });
        Next::Continue
    }

    fn handle_reply(&mut self, now: Instant, payload: &[u8]) -> Result<Next, String> {
        let mut r = Reader::new(payload);
        let header = ReplyHeader::decode(&mut r).map_err(|e| e.to_string())?;
        match header.xid {
            PING_XID => return Ok(Next::Continue),
            NOTIFICATION_XID => {
                let ev = WatcherEvent::decode(&mut r).map_err(|e| e.to_string())?;
                match EventType::from_i32(ev.event_type) {
                    Some(t) => self.watches.dispatch(t, &ev.path),
                    None => tracing::warn!("unknown event type {}", ev.event_type),
                }
                return Ok(Next::Continue);
            }
            AUTH_XID => {
                let waiter = self.auth_waiters.pop_front().flatten();
                if header.err != 0 {
                    if let Some(w) = waiter {
                        let _ = w.send(Err(Error::AuthFailed));
                    }
                    self.end(SessionState::AuthFailed);
                    return Ok(Next::Disconnect);
                }
                if let Some(w) = waiter {
                    let _ = w.send(Ok(()));
                }
                return Ok(Next::Continue);
            }
            _ => {}
        }
        let Some(front) = self.inflight.front() else {
            return Err(format!("reply xid {} with nothing in flight", header.xid));
        };
        if front.xid != header.xid {
            return Err(format!(
                "xid out of order: got {}, expected {}",
                header.xid, front.xid
            ));
        }
        // Decode before taking the request off the queue: on a malformed body the request
        // stays in flight and fails with ConnectionLoss like the others.
        let code = ErrorCode::from_i32(header.err);
        let outcome = if code.is_ok() {
            let body = Response::decode(front.op, &mut r).map_err(|e| e.to_string())?;
            Ok(Reply {
                zxid: header.zxid,
                body,
            })
        } else {
            Err(Error::from_code(code))
        };
        let Some(mut p) = self.inflight.pop_front() else {
            return Err("the request in flight vanished".into());
        };
        if header.zxid.0 > 0 {
            self.last_zxid = header.zxid;
        }
        let mut next = Next::Continue;
        match std::mem::replace(&mut p.hook, Hook::None) {
            Hook::None => {}
            Hook::Register {
                id,
                path,
                kind,
                exists,
            } => {
                if let Some((path, wtype)) = self.watches.registered(id, code, exists, &path, kind)
                {
                    self.send_removal(now, path, wtype);
                }
            }
            Hook::UserRemove { path, wtype } => {
                if code.is_ok() {
                    self.watches.removed_by_user(&path, wtype);
                }
            }
            Hook::ReplyZxid(tx) => {
                let _ = tx.send(header.zxid);
            }
            Hook::Close => {
                p.answer(outcome);
                self.end(SessionState::Closed);
                return Ok(Next::Disconnect);
            }
        }
        p.answer(outcome);
        if self.phase == Phase::Ended {
            next = Next::Disconnect;
        }
        Ok(next)
    }
}

impl Session {
    /// True once the session reached a terminal state.
    pub(crate) fn is_ended(&self) -> bool {
        self.phase == Phase::Ended
    }
}
