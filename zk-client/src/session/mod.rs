//! The sans-IO session state machine.
//!
//! [`Session`] owns everything a ZooKeeper session is, with no socket, no clock and no task:
//! xids, the requests not yet sent and those waiting for their reply (FIFO), the watch
//! registry, credentials to replay, the host list and the timers. The driver feeds it with
//! `handle_*(now, ...)` calls and drains what it produced with [`Session::take_transmit`] and
//! [`Session::poll_timeout`]; tests do the same with scripted frames.

mod hosts;
mod pending;
mod rearm;
mod rebalance;
mod watch_kind;
mod watches;

#[cfg(test)]
mod tests;

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::sync::oneshot;
use zk_core::jute::{Decode, Reader};
use zk_core::message::{Request, Response};
use zk_core::path::Chroot;
use zk_core::proto::{
    AuthPacket, ConnectRequest, ConnectResponse, RemoveWatchesRequest, ReplyHeader, WatcherEvent,
};
use zk_core::{ErrorCode, EventType, OpCode, SessionId, WatcherType, Zxid};

pub(crate) use hosts::HostList;
use pending::{encode_frame, Pending, XidCounter};
pub(crate) use pending::{Hook, Reply, ReplyTx};
use watches::WatchRegistry;
pub(crate) use watches::{Sink, WatchKind, WatcherId};

use crate::error::Error;
use crate::state::{SessionState, StateBroadcast, StateStream};

/// The notification xid.
const NOTIFICATION_XID: i32 = -1;
/// The ping xid, request and reply.
const PING_XID: i32 = -2;
/// The auth packet xid, request and reply.
const AUTH_XID: i32 = -4;
/// Apache ZooKeeper's client pings at least this often (`MAX_SEND_PING_INTERVAL`).
const MAX_PING_INTERVAL: Duration = Duration::from_secs(10);
/// The largest frame a server accepts (default `jute.maxbuffer`).
pub(crate) const MAX_FRAME: usize = 0xfffff;
/// The most requests one session keeps waiting (unsent plus in flight); more fail with
/// [`Error::Overloaded`] until some are answered.
pub(crate) const MAX_PENDING_REQUESTS: usize = 1 << 17;

/// What the session needs to know from the builder.
#[derive(Debug, Clone)]
pub(crate) struct SessionConfig {
    pub(crate) session_timeout: Duration,
    /// How long past the session timeout the client still waits for a server before it
    /// declares the session expired on its own (see [`Session::expiry_deadline`]).
    pub(crate) expiry_grace: Duration,
    pub(crate) read_only: bool,
    pub(crate) chroot: Option<Chroot>,
    pub(crate) request_timeout: Option<Duration>,
}

/// What the driver should do with its connection after an input.
#[must_use]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Next {
    /// Keep going.
    Continue,
    /// Close the connection (then call [`Session::handle_disconnected`]).
    Disconnect,
}

/// The driver's next connection attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ConnectAction {
    /// Connect to `host:port`, not before `not_before`, giving up after `timeout`.
    Connect {
        host: String,
        port: u16,
        not_before: Instant,
        timeout: Duration,
    },
    /// The session is over: stop.
    Stop,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// No connection.
    Disconnected,
    /// ConnectRequest written at `since`, waiting for the ConnectResponse.
    Handshaking { since: Instant },
    /// Serving requests.
    Connected,
    /// Terminal.
    Ended,
}

/// A credential, replayed on every connection.
#[derive(Debug)]
struct Credential {
    scheme: String,
    auth: Vec<u8>,
    /// The caller of `add_auth` made while disconnected, answered by the replay.
    waiter: Option<oneshot::Sender<Result<(), Error>>>,
}

/// A ZooKeeper session, without IO.
#[derive(Debug)]
pub(crate) struct Session {
    cfg: SessionConfig,
    phase: Phase,
    state: StateBroadcast,
    session_id: SessionId,
    passwd: Bytes,
    negotiated: Duration,
    last_zxid: Zxid,
    xids: XidCounter,
    unsent: VecDeque<Pending>,
    inflight: VecDeque<Pending>,
    credentials: Vec<Credential>,
    auth_waiters: VecDeque<Option<oneshot::Sender<Result<(), Error>>>>,
    watches: WatchRegistry,
    hosts: HostList,
    out: Vec<u8>,
    last_send: Instant,
    last_recv: Instant,
    /// When a server was last heard from, once a session exists (client-side expiry, see
    /// [`Session::expiry_deadline`]).
    last_heard: Option<Instant>,
    close_requested: bool,
    /// The address of the server the connection under way or up goes to.
    server: Option<std::net::SocketAddr>,
    /// A read-write server answered this session once (`seenRwServerBefore`). Until then a
    /// session comes only from read-only servers, which keep it to themselves: a reconnection
    /// asks for a new one.
    seen_rw: bool,
    /// A new host list moves the session: the driver drops the connection under way
    /// ([`Session::take_move`]) and the next attempt goes where the list's rebalancing says.
    move_requested: bool,
}

impl Session {
    /// A session not yet connected.
    pub(crate) fn new(cfg: SessionConfig, hosts: HostList, now: Instant) -> Session {
        Session {
            negotiated: cfg.session_timeout,
            watches: WatchRegistry::new(cfg.chroot.clone()),
            cfg,
            phase: Phase::Disconnected,
            state: StateBroadcast::new(SessionState::Disconnected),
            session_id: SessionId::NONE,
            passwd: Bytes::from_static(&[0; 16]),
            last_zxid: Zxid::ZERO,
            xids: XidCounter::default(),
            unsent: VecDeque::new(),
            inflight: VecDeque::new(),
            credentials: Vec::new(),
            auth_waiters: VecDeque::new(),
            hosts,
            out: Vec::new(),
            last_send: now,
            last_recv: now,
            last_heard: None,
            close_requested: false,
            server: None,
            seen_rw: false,
            move_requested: false,
        }
    }

    /// Uses an existing session instead of asking for a new one.
    pub(crate) fn resume(&mut self, session_id: SessionId, passwd: Bytes) {
        self.session_id = session_id;
        self.passwd = passwd;
        self.seen_rw = true;
    }

    /// The session id a handshake asks for: ours, unless only read-only servers ever answered
    /// (their sessions are local to them).
    fn asked_session(&self) -> SessionId {
        if self.seen_rw {
            self.session_id
        } else {
            SessionId::NONE
        }
    }

    /// While connected to a read-only server: the other hosts, to look for a read-write one
    /// (`pingRwServer`), with their places in the host list.
    pub(crate) fn read_write_candidates(&self) -> Option<Vec<(usize, (String, u16))>> {
        (self.phase == Phase::Connected && self.state() == SessionState::ConnectedReadOnly)
            .then(|| self.hosts.others())
    }

    /// A read-write server answered at `index` of the host list: the next connection goes
    /// there (the driver drops the read-only one).
    pub(crate) fn found_read_write(&mut self, index: usize) {
        tracing::info!(
            index,
            "a read-write server answered; moving the session there"
        );
        self.hosts.prefer(index);
    }

    /// Replaces the host list (`updateServerList`), shuffled with `seed`, and returns true when
    /// the session moves to another server: its server is not in the new list, or the list
    /// grew and this session is one of those that leave for a new server (see
    /// `rebalance`). The session stays the same: the next connection resumes it. A connection
    /// that is up is dropped ([`Session::take_move`]), and the requests in flight on it fail
    /// with ConnectionLoss, as in the Java client.
    pub(crate) fn update_hosts(&mut self, hosts: Vec<(String, u16)>, seed: u64) -> bool {
        if self.phase == Phase::Ended {
            return false;
        }
        let up = matches!(self.phase, Phase::Connected | Phase::Handshaking { .. });
        let in_flight = self.hosts.attempt_in_flight();
        let update = self
            .hosts
            .update(hosts, up, self.server.filter(|_| up), seed);
        tracing::info!(
            moving = update.moving,
            hosts = self.hosts.len(),
            "host list updated"
        );
        if update.leave_connection && (up || in_flight) {
            self.move_requested = true;
        }
        update.moving
    }

    /// True once after [`Session::update_hosts`] asked to leave the connection under way:
    /// the driver drops it (or the one its attempt opens), then reports
    /// [`Session::handle_disconnected`].
    #[must_use]
    pub(crate) fn take_move(&mut self) -> bool {
        std::mem::take(&mut self.move_requested)
    }

    // ---- accessors ----

    pub(crate) fn state(&self) -> SessionState {
        self.state.current()
    }

    /// The server of the connection, once its session is established on it.
    pub(crate) fn connected_server(&self) -> Option<std::net::SocketAddr> {
        match self.phase {
            Phase::Connected => self.server,
            _ => None,
        }
    }

    /// The driver's TCP connection goes to `addr` (recorded after
    /// [`Session::handle_connected`]).
    pub(crate) fn set_server(&mut self, addr: Option<std::net::SocketAddr>) {
        self.server = addr;
    }

    pub(crate) fn subscribe(&mut self) -> StateStream {
        self.state.subscribe()
    }

    pub(crate) fn session_id(&self) -> SessionId {
        self.session_id
    }

    pub(crate) fn passwd(&self) -> Bytes {
        self.passwd.clone()
    }

    pub(crate) fn last_zxid(&self) -> Zxid {
        self.last_zxid
    }

    pub(crate) fn negotiated_timeout(&self) -> Duration {
        self.negotiated
    }

    /// How many requests wait for a reply or for a connection.
    pub(crate) fn pending_requests(&self) -> usize {
        self.unsent.len() + self.inflight.len()
    }

    fn read_timeout(&self) -> Duration {
        self.negotiated * 2 / 3
    }

    fn ping_interval(&self) -> Duration {
        (self.read_timeout() / 2).min(MAX_PING_INTERVAL)
    }

    /// How long one attempt (TCP connect plus handshake) may take: the session timeout
    /// shared over the hosts, as Apache ZooKeeper's client does. When an established session
    /// is being resumed, at most a third of it, so that an attempt to a server that accepts
    /// the connection but never answers (Apache ZooKeeper 3.8 leaves such connections open
    /// while it starts up) still leaves time for another attempt before the session expires.
    fn connect_timeout(&self) -> Duration {
        let share = self.negotiated / self.hosts.len() as u32;
        if self.session_id == SessionId::NONE {
            share
        } else {
            share.min(self.negotiated / 3)
        }
    }

    // ---- calls from the API ----

    /// Queues `req`: its xid is taken now, so requests go out in call order. The outcome goes
    /// to `reply`.
    pub(crate) fn submit(&mut self, now: Instant, req: &Request, reply: ReplyTx, hook: Hook) {
        if self.phase == Phase::Ended || self.close_requested {
            let err = if self.phase == Phase::Ended {
                self.state().terminal_error()
            } else {
                Error::Closed
            };
            self.unhook(&hook);
            let _ = reply.send(Err(err));
            return;
        }
        if self.pending_requests() >= MAX_PENDING_REQUESTS {
            self.unhook(&hook);
            let _ = reply.send(Err(Error::Overloaded));
            return;
        }
        let xid = self.xids.next_xid();
        let frame = encode_frame(xid, req);
        if frame.len() - 4 > MAX_FRAME {
            self.unhook(&hook);
            let _ = reply.send(Err(Error::InvalidArgument(
                "request larger than the server's jute.maxbuffer",
            )));
            return;
        }
        self.unsent.push_back(Pending {
            xid,
            op: req.op_code(),
            frame,
            reply: Some(reply),
            hook,
            deadline: self.cfg.request_timeout.map(|t| now + t),
        });
        self.flush_unsent(now);
    }

    /// Registers a watcher that a request about to be submitted will arm.
    pub(crate) fn add_watcher(
        &mut self,
        server_path: String,
        kind: WatchKind,
        sink: Sink,
    ) -> WatcherId {
        self.watches.add_pending(server_path, kind, sink)
    }

    /// [`Session::add_watcher`] for a watch outside the chroot (`/zookeeper/config`): its
    /// events keep the server path.
    pub(crate) fn add_unchrooted_watcher(
        &mut self,
        server_path: String,
        kind: WatchKind,
        sink: Sink,
    ) -> WatcherId {
        self.watches.add_pending_unchrooted(server_path, kind, sink)
    }

    /// A watch value was dropped: remove the server watch if it was the last one.
    pub(crate) fn drop_watcher(&mut self, now: Instant, id: WatcherId) {
        if let Some((path, wtype)) = self.watches.dropped(id) {
            self.send_removal(now, path, wtype);
        }
    }

    fn unhook(&mut self, hook: &Hook) {
        if let Hook::Register { id, .. } = hook {
            let _ = self.watches.dropped(*id);
        }
    }

    fn send_removal(&mut self, now: Instant, path: String, wtype: WatcherType) {
        if self.phase != Phase::Connected {
            // The server watches went with the connection.
            return;
        }
        let req = Request::RemoveWatches(RemoveWatchesRequest {
            path,
            watcher_type: wtype.as_i32(),
        });
        let xid = self.xids.next_xid();
        self.unsent.push_back(Pending {
            xid,
            op: OpCode::RemoveWatches,
            frame: encode_frame(xid, &req),
            reply: None,
            hook: Hook::None,
            deadline: None,
        });
        self.flush_unsent(now);
    }

    /// Adds a credential, replayed on every later connection, and sends it now if connected.
    pub(crate) fn add_auth(
        &mut self,
        now: Instant,
        scheme: String,
        auth: Vec<u8>,
        waiter: oneshot::Sender<Result<(), Error>>,
    ) {
        if self.phase == Phase::Ended || self.close_requested {
            let _ = waiter.send(Err(self.state().terminal_error()));
            return;
        }
        if self.phase == Phase::Connected {
            self.write_auth(now, &scheme, &auth);
            self.auth_waiters.push_back(Some(waiter));
            self.credentials.push(Credential {
                scheme,
                auth,
                waiter: None,
            });
        } else {
            self.credentials.push(Credential {
                scheme,
                auth,
                waiter: Some(waiter),
            });
        }
    }

    fn write_auth(&mut self, now: Instant, scheme: &str, auth: &[u8]) {
        let req = Request::Auth(AuthPacket {
            auth_type: 0,
            scheme: scheme.to_owned(),
            auth: Bytes::copy_from_slice(auth),
        });
        self.out.extend_from_slice(&encode_frame(AUTH_XID, &req));
        self.last_send = now;
    }

    /// Ends the session here as expired, without telling a server (Curator's simulated
    /// expiration): what waits fails with SessionExpired. The server keeps the session until
    /// it expires it.
    pub(crate) fn expire_locally(&mut self) {
        if self.phase != Phase::Ended {
            tracing::info!(session = %self.session_id, "session declared expired by the application");
            self.end(SessionState::Expired);
        }
    }

    /// Closes the session: sends closeSession when connected, else ends at once.
    pub(crate) fn close(&mut self, now: Instant, reply: ReplyTx) {
        if self.phase == Phase::Ended {
            let _ = reply.send(Ok(Reply {
                zxid: self.last_zxid,
                body: Response::Empty,
            }));
            return;
        }
        if self.close_requested {
            let _ = reply.send(Err(Error::Closed));
            return;
        }
        if self.phase == Phase::Connected {
            self.submit(now, &Request::CloseSession, reply, Hook::Close);
            self.close_requested = true;
        } else {
            self.end(SessionState::Closed);
            let _ = reply.send(Ok(Reply {
                zxid: self.last_zxid,
                body: Response::Empty,
            }));
        }
    }

    /// Moves queued requests to the output when a connection is serving.
    fn flush_unsent(&mut self, now: Instant) {
        if self.phase != Phase::Connected {
            return;
        }
        while let Some(mut p) = self.unsent.pop_front() {
            self.out.append(&mut p.frame);
            self.inflight.push_back(p);
            self.last_send = now;
        }
    }

    /// Ends the session in terminal `state`: every waiting request and watch learns it.
    fn end(&mut self, state: SessionState) {
        if self.phase == Phase::Ended {
            return;
        }
        self.phase = Phase::Ended;
        self.state.set(state);
        let err = state.terminal_error();
        for mut p in self.inflight.drain(..).chain(self.unsent.drain(..)) {
            p.answer(Err(err.clone()));
        }
        for w in self.auth_waiters.drain(..).flatten() {
            let _ = w.send(Err(err.clone()));
        }
        for c in &mut self.credentials {
            if let Some(w) = c.waiter.take() {
                let _ = w.send(Err(err.clone()));
            }
        }
        self.watches.terminate(&err);
        self.out.clear();
    }
}

mod io;
