//! The election port (`QuorumCnxManager`): one TCP connection per pair of members, kept only
//! when the larger sid initiated it; an initial message (protocol V1, the sender's sid and
//! election address) in one write; then length-framed notifications both ways.
//!
//! Each member's outgoing queue holds one message: a newer one replaces an unsent older one,
//! and a new connection starts by sending the last message again (Apache's SendWorker does
//! both, and peers tolerate the duplicates). Anything that does not parse, or a sid that is not
//! in the configuration, closes that connection only.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use zk_core::jute::Encode;
use zk_core::quorum::{self as wire, ElectionProtocol, InitialMessage};

use crate::quorum::wire::{notification_in, notification_out};
use crate::quorum::{Notification, ToSend};

use super::tasks::Tasks;

/// How long a connection may take to be opened or to send its initial message.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);
/// Bytes read at a time.
const READ_CHUNK: usize = 16 * 1024;

struct Slot {
    /// The latest message, also re-sent when a connection comes (up).
    latest: watch::Sender<Option<Arc<Vec<u8>>>>,
    /// The connection currently used for this member, by id.
    conn: Option<u64>,
    dialing: bool,
}

impl Slot {
    /// A member with nothing to send and no connection yet.
    fn empty() -> Slot {
        Slot {
            latest: watch::channel(None).0,
            conn: None,
            dialing: false,
        }
    }
}

struct Shared {
    my_id: i64,
    my_addr: String,
    /// The other members' election addresses: the config's, and those of servers outside it
    /// that connected (a joiner, from its initial message), which must hear answers.
    peers: Mutex<BTreeMap<i64, SocketAddr>>,
    /// Whether a server outside the config may connect (reconfig enabled: a joiner), at the
    /// address its initial message names; otherwise such a connection is closed.
    accept_strangers: bool,
    slots: Mutex<BTreeMap<i64, Slot>>,
    next_conn: Mutex<u64>,
    inbound: mpsc::UnboundedSender<Notification>,
    /// Every task of this network stops with the member.
    tasks: Tasks,
}

/// The election network of one member.
#[derive(Clone)]
pub(crate) struct ElectionNet {
    shared: Arc<Shared>,
}

impl ElectionNet {
    /// Binds `listen`, and delivers every notification received to `inbound`. `peers` are
    /// the election addresses of the other members; `my_addr` is what the initial message
    /// names as this member's election address.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn start(
        my_id: i64,
        listen: SocketAddr,
        my_addr: String,
        peers: BTreeMap<i64, SocketAddr>,
        inbound: mpsc::UnboundedSender<Notification>,
        bind_retries: u32,
        accept_strangers: bool,
        tasks: Tasks,
    ) -> std::io::Result<ElectionNet> {
        let mut tries = 0;
        let listener = loop {
            match TcpListener::bind(listen).await {
                Ok(l) => break l,
                Err(e) => {
                    tries += 1;
                    if bind_retries != 0 && tries >= bind_retries {
                        return Err(std::io::Error::new(
                            e.kind(),
                            format!("cannot bind the election port {listen}: {e}"),
                        ));
                    }
                    tracing::warn!(%listen, error = %e, "election port bind failed; retrying");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        };
        let slots = peers.keys().map(|sid| (*sid, Slot::empty())).collect();
        let net = ElectionNet {
            shared: Arc::new(Shared {
                my_id,
                my_addr,
                peers: Mutex::new(peers),
                accept_strangers,
                slots: Mutex::new(slots),
                next_conn: Mutex::new(1),
                inbound,
                tasks,
            }),
        };
        let n = net.clone();
        net.shared.tasks.spawn(async move {
            loop {
                match listener.accept().await {
                    Ok((s, remote)) => {
                        let n2 = n.clone();
                        n.shared
                            .tasks
                            .spawn(async move { n2.accepted(s, remote).await });
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "election accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                }
            }
        });
        Ok(net)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<i64, Slot>> {
        self.shared.slots.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn peers(&self) -> std::sync::MutexGuard<'_, BTreeMap<i64, SocketAddr>> {
        self.shared.peers.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Adds (or moves) member `sid`'s election address, with an empty slot for it.
    fn add_peer(&self, sid: i64, addr: SocketAddr) {
        self.peers().insert(sid, addr);
        self.lock().entry(sid).or_insert_with(Slot::empty);
    }

    /// A new config's members (a reconfig): new members get a slot, moved ones their new
    /// address. Members that left keep theirs until the member restarts (they may still
    /// connect as non-voting followers, and are answered like any server outside the config).
    pub(crate) fn set_members(&self, members: BTreeMap<i64, SocketAddr>) {
        for (sid, addr) in members {
            if sid != self.shared.my_id {
                self.add_peer(sid, addr);
            }
        }
    }

    /// Queues a notification (replacing an unsent older one) and makes sure a connection is
    /// on its way.
    pub(crate) fn send(&self, m: &ToSend) {
        let mut payload = Vec::new();
        notification_out(m).encode(&mut payload);
        let dial = {
            let mut slots = self.lock();
            let Some(slot) = slots.get_mut(&m.to) else {
                return;
            };
            slot.latest.send_replace(Some(Arc::new(payload)));
            let dial = slot.conn.is_none() && !slot.dialing;
            if dial {
                slot.dialing = true;
            }
            dial
        };
        if dial {
            let n = self.clone();
            let to = m.to;
            self.shared.tasks.spawn(async move { n.dial(to).await });
        }
    }

    /// Dials every member without a connection (`connectAll`).
    pub(crate) fn connect_all(&self) {
        let sids: Vec<i64> = self.peers().keys().copied().collect();
        for sid in sids {
            let dial = {
                let mut slots = self.lock();
                match slots.get_mut(&sid) {
                    Some(s) if s.conn.is_none() && !s.dialing => {
                        s.dialing = true;
                        true
                    }
                    _ => false,
                }
            };
            if dial {
                let n = self.clone();
                self.shared.tasks.spawn(async move { n.dial(sid).await });
            }
        }
    }

    /// True when some member's queue is empty (`haveDelivered`).
    pub(crate) fn have_delivered(&self) -> bool {
        self.lock().values().any(|s| s.conn.is_some())
    }

    async fn dial(&self, to: i64) {
        // A connection that broke while in use is dialed again once (see `run_with`).
        for _ in 0..2 {
            if !self.dial_once(to).await {
                return;
            }
        }
        if let Some(s) = self.lock().get_mut(&to) {
            s.dialing = false;
        }
    }

    /// One connection attempt to `to`, served until it breaks; true when it broke while in
    /// use with a notification to send (dial again).
    async fn dial_once(&self, to: i64) -> bool {
        let done = |n: &ElectionNet| {
            if let Some(s) = n.lock().get_mut(&to) {
                s.dialing = false;
            }
        };
        let Some(addr) = self.peers().get(&to).copied() else {
            done(self);
            return false;
        };
        let stream = match tokio::time::timeout(HANDSHAKE_TIMEOUT, TcpStream::connect(addr)).await {
            Ok(Ok(s)) => s,
            Ok(Err(e)) => {
                tracing::debug!(to, %addr, error = %e, "cannot open the election connection");
                done(self);
                return false;
            }
            Err(_) => {
                tracing::debug!(to, %addr, "election connection timed out");
                done(self);
                return false;
            }
        };
        let _ = stream.set_nodelay(true);
        let mut stream = stream;
        let mut init = Vec::new();
        InitialMessage::v1(self.shared.my_id, self.shared.my_addr.clone()).encode(&mut init);
        // One write: Apache's `InitialMessage.parse` reads the address with a single read.
        if stream.write_all(&init).await.is_err() {
            done(self);
            return false;
        }
        if to > self.shared.my_id {
            // The larger sid keeps the connection: it will dial back.
            let _ = stream.shutdown().await;
            done(self);
            return false;
        }
        // `run` registers the connection and ends the dialing in one step, so no second
        // dial starts in between.
        self.run(to, stream).await
    }

    async fn accepted(&self, mut s: TcpStream, remote: SocketAddr) {
        let _ = s.set_nodelay(true);
        let mut buf = Vec::new();
        let msg = tokio::time::timeout(HANDSHAKE_TIMEOUT, async {
            loop {
                match InitialMessage::parse(&buf) {
                    Ok(Some((used, m))) => {
                        buf.drain(..used);
                        return Ok(m);
                    }
                    Ok(None) => {}
                    Err(e) => return Err(e.to_string()),
                }
                let mut chunk = [0u8; 512];
                match s.read(&mut chunk).await {
                    Ok(0) | Err(_) => return Err("closed before its initial message".into()),
                    Ok(n) => buf.extend_from_slice(&chunk[..n]),
                }
            }
        })
        .await;
        let m = match msg {
            Ok(Ok(m)) => m,
            Ok(Err(e)) => {
                tracing::warn!(%remote, error = %e, "bad election handshake; closing");
                return;
            }
            Err(_) => {
                tracing::warn!(%remote, "no election handshake in time; closing");
                return;
            }
        };
        let sid = m.sid;
        if m.protocol == ElectionProtocol::Pre35 {
            tracing::warn!(%remote, sid, "a pre-3.5 election peer is not supported; closing");
            return;
        }
        let known = self.peers().contains_key(&sid);
        if !known {
            if sid == self.shared.my_id {
                tracing::warn!(%remote, "an election connection claims my own id; closing");
                return;
            }
            if !self.shared.accept_strangers {
                tracing::warn!(%remote, sid, "election connection from a server not in the configuration; closing");
                return;
            }
            // A server outside the config (a joiner before its reconfig): Apache's
            // QuorumCnxManager talks to it at the address its initial message names.
            let addr = m
                .addresses
                .first()
                .and_then(|a| std::net::ToSocketAddrs::to_socket_addrs(a.as_str()).ok())
                .and_then(|mut a| a.next());
            let Some(addr) = addr else {
                tracing::warn!(%remote, sid, "election connection from a server not in the configuration, with no usable address; closing");
                return;
            };
            tracing::info!(%remote, sid, %addr, "election connection from a server not in the configuration");
            self.add_peer(sid, addr);
        }
        if sid < self.shared.my_id {
            // Only connections from the larger sid survive: close, and dial back.
            drop(s);
            let n = self.clone();
            let dial = {
                let mut slots = self.lock();
                match slots.get_mut(&sid) {
                    Some(slot) if !slot.dialing => {
                        slot.dialing = true;
                        true
                    }
                    _ => false,
                }
            };
            if dial {
                n.dial(sid).await;
            }
            return;
        }
        if self.run_with(sid, s, buf).await {
            self.dial(sid).await;
        }
    }

    async fn run(&self, sid: i64, s: TcpStream) -> bool {
        self.run_with(sid, s, Vec::new()).await
    }

    /// Serves an established connection with `sid` until it breaks (or a newer one replaces
    /// it).
    /// Returns true when this connection was the one in use and broke with a notification to
    /// send: the caller dials again (marked dialing already).
    async fn run_with(&self, sid: i64, s: TcpStream, mut buf: Vec<u8>) -> bool {
        let id = {
            let mut n = self
                .shared
                .next_conn
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            *n += 1;
            *n
        };
        let mut latest = {
            let mut slots = self.lock();
            let Some(slot) = slots.get_mut(&sid) else {
                return false;
            };
            slot.conn = Some(id);
            slot.dialing = false;
            slot.latest.subscribe()
        };
        let remote = s
            .peer_addr()
            .map_or_else(|_| "?".to_owned(), |a| a.to_string());
        let (mut rd, mut wr) = s.into_split();
        let writer = async move {
            // A new connection first sends the last message again (`lastMessageSent`).
            latest.mark_changed();
            while latest.changed().await.is_ok() {
                let msg = latest.borrow_and_update().clone();
                let Some(m) = msg else { continue };
                let mut frame = Vec::with_capacity(m.len() + 4);
                wire::write_election_frame(&mut frame, &m);
                if wr.write_all(&frame).await.is_err() {
                    break;
                }
                tracing::trace!(to = sid, conn = id, bytes = m.len(), "notification written");
            }
        };
        let inbound = self.shared.inbound.clone();
        let reader = async {
            let mut chunk = vec![0u8; READ_CHUNK];
            loop {
                match wire::next_election_frame(&buf) {
                    Ok(Some((used, payload))) => {
                        match wire::Notification::decode(payload) {
                            Ok(n) => {
                                tracing::trace!(from = sid, conn = id, "notification read");
                                let _ = inbound.send(notification_in(sid, n));
                            }
                            Err(e) => {
                                tracing::debug!(sid, %remote, error = %e, "dropping a notification")
                            }
                        }
                        buf.drain(..used);
                        continue;
                    }
                    Ok(None) => {}
                    Err(e) => {
                        tracing::warn!(sid, %remote, error = %e, "bad election frame; closing");
                        return;
                    }
                }
                // Replaced by a newer connection: stop reading this one, once every whole
                // notification it brought was delivered (the peer may have sent them before
                // it saw the newer connection: they are its latest votes).
                if self.lock().get(&sid).is_some_and(|s| s.conn != Some(id)) {
                    return;
                }
                match rd.read(&mut chunk).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => buf.extend_from_slice(&chunk[..n]),
                }
            }
        };
        // Either half failing ends the connection (`RecvWorker.run` finishes its SendWorker);
        // both run in this task, which stops with the member.
        tokio::select! {
            _ = reader => {}
            _ = writer => {}
        }
        let mut slots = self.lock();
        match slots.get_mut(&sid) {
            Some(slot) if slot.conn == Some(id) => {
                slot.conn = None;
                // The connection in use broke: dial again at once (once), so the latest
                // notification reaches the peer without waiting for this member's next one.
                // A refused dial ends there; the next notification dials again.
                let redial = slot.latest.borrow().is_some() && !slot.dialing;
                if redial {
                    slot.dialing = true;
                }
                redial
            }
            _ => false,
        }
    }
}
