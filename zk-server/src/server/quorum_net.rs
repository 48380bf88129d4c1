//! The quorum port: Zab links between a leader and its learners. Bare jute `QuorumPacket`s in
//! both directions, no framing; after a SNAP packet the snapshot follows inline. Each link is a
//! task that turns bytes into [`Zab`] messages and back; anything that does not parse closes
//! that link only.
//!
//! Only a leader listens, as in Apache ZooKeeper (whose `Leader` binds the quorum port when it
//! starts leading): while this member does not lead, the port is bound but not listening, so a
//! learner that decided on this member before this member decided itself is refused, and
//! retries (`Learner.connectToLeader`: 5 tries, 100 ms apart), instead of being accepted and
//! dropped, which sends it back to the election.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;
use zk_core::jute::Encode;
use zk_core::quorum::{PacketType, QuorumItem, QuorumStream};

use crate::quorum::wire::{from_packet, snap_stream, to_packet, Side, SnapBuilder};
use crate::quorum::zab::{LinkId, Zab};

/// Bytes read at a time.
const READ_CHUNK: usize = 64 * 1024;
/// SNAP stream chunks.
const SNAP_CHUNK: usize = 256 * 1024;
/// How long connecting to a leader may take (each attempt).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// The listen backlog of the quorum port (Apache's `ServerSocket` default is 50).
const BACKLOG: u32 = 128;

/// What a link reports to the engine.
#[derive(Debug)]
pub(crate) enum LinkEvent {
    /// A learner connected to this member's quorum port.
    Accepted(LinkId),
    /// A link this member opened is up.
    Connected(LinkId),
    /// A message arrived.
    Message(LinkId, Zab),
    /// The link closed (or could not be opened).
    Closed(LinkId),
}

enum LinkOut {
    Msg(Zab),
}

/// The quorum-port links of one member.
#[derive(Clone)]
pub(crate) struct QuorumNet {
    links: Arc<Mutex<HashMap<LinkId, mpsc::UnboundedSender<LinkOut>>>>,
    events: mpsc::UnboundedSender<LinkEvent>,
    addrs: Arc<BTreeMap<i64, SocketAddr>>,
    max_len: usize,
    /// True while this member leads: the port listens.
    listening: Arc<watch::Sender<bool>>,
    /// Every task of this member's quorum port, aborted at shutdown.
    tasks: Arc<Mutex<JoinSet<()>>>,
}

/// Binds `addr` without listening: the port is this member's, and connections to it are
/// refused.
fn reserve(addr: SocketAddr) -> std::io::Result<TcpSocket> {
    let s = if addr.is_ipv6() {
        TcpSocket::new_v6()?
    } else {
        TcpSocket::new_v4()?
    };
    s.set_reuseaddr(true)?;
    s.bind(addr)?;
    Ok(s)
}

impl QuorumNet {
    /// Binds `listen` (learners connect there while this member leads, see
    /// [`set_listening`](Self::set_listening)) and reports link events to `events`. `addrs`
    /// are the members' quorum addresses.
    pub(crate) async fn start(
        listen: SocketAddr,
        addrs: BTreeMap<i64, SocketAddr>,
        events: mpsc::UnboundedSender<LinkEvent>,
        max_len: usize,
    ) -> std::io::Result<QuorumNet> {
        let reserved = reserve(listen).map_err(|e| {
            std::io::Error::new(
                e.kind(),
                format!("cannot bind the quorum port {listen}: {e}"),
            )
        })?;
        let net = QuorumNet {
            links: Arc::new(Mutex::new(HashMap::new())),
            events,
            addrs: Arc::new(addrs),
            max_len,
            listening: Arc::new(watch::channel(false).0),
            tasks: Arc::new(Mutex::new(JoinSet::new())),
        };
        let n = net.clone();
        let want = net.listening.subscribe();
        net.spawn(async move { n.listen_loop(listen, reserved, want).await });
        Ok(net)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<LinkId, mpsc::UnboundedSender<LinkOut>>> {
        self.links.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs `f` as one of this port's tasks (reaping the finished ones).
    fn spawn(&self, f: impl Future<Output = ()> + Send + 'static) {
        let mut tasks = self.tasks.lock().unwrap_or_else(|p| p.into_inner());
        while tasks.try_join_next().is_some() {}
        tasks.spawn(f);
    }

    /// Listens while this member leads, and only then.
    pub(crate) fn set_listening(&self, on: bool) {
        self.listening
            .send_if_modified(|l| std::mem::replace(l, on) != on);
    }

    /// Stops listening and closes every link (the member stopped).
    pub(crate) fn shutdown(&self) {
        self.lock().clear();
        self.tasks
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .abort_all();
    }

    /// Holds the port: bound and refusing while `want` is false, listening and accepting
    /// while it is true.
    async fn listen_loop(
        &self,
        addr: SocketAddr,
        reserved: TcpSocket,
        mut want: watch::Receiver<bool>,
    ) {
        let mut reserved = Some(reserved);
        let mut next = 1u64;
        loop {
            if !*want.borrow_and_update() {
                if want.changed().await.is_err() {
                    return;
                }
                continue;
            }
            // The reservation must go before the listener binds the same port.
            drop(reserved.take());
            let listener = match reserve(addr).and_then(|s| s.listen(BACKLOG)) {
                Ok(l) => l,
                Err(e) => {
                    // Learners cannot reach this leader: it will not gather a quorum and
                    // looks again after initLimit, as Apache's does when its bind fails.
                    tracing::error!(%addr, error = %e, "cannot listen on the quorum port");
                    reserved = reserve(addr).ok();
                    if want.changed().await.is_err() {
                        return;
                    }
                    continue;
                }
            };
            tracing::debug!(%addr, "quorum port listening");
            self.accept_while_wanted(&listener, &mut want, &mut next)
                .await;
            drop(listener);
            tracing::debug!(%addr, "quorum port no longer listening");
            reserved = match reserve(addr) {
                Ok(s) => Some(s),
                Err(e) => {
                    tracing::warn!(%addr, error = %e, "cannot hold the quorum port");
                    None
                }
            };
        }
    }

    async fn accept_while_wanted(
        &self,
        listener: &TcpListener,
        want: &mut watch::Receiver<bool>,
        next: &mut u64,
    ) {
        loop {
            tokio::select! {
                r = listener.accept() => match r {
                    Ok((s, remote)) => {
                        let link = LinkId(*next);
                        *next += 1;
                        tracing::debug!(%remote, link = link.0, "learner connected");
                        let _ = s.set_nodelay(true);
                        self.spawn_link(link, s, Side::FromLearner, Side::FromLeader);
                        let _ = self.events.send(LinkEvent::Accepted(link));
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "quorum accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                },
                c = want.changed() => {
                    if c.is_err() || !*want.borrow_and_update() {
                        return;
                    }
                }
            }
        }
    }

    /// Opens a link to member `sid`'s quorum port.
    pub(crate) fn connect(&self, link: LinkId, sid: i64) {
        let n = self.clone();
        let Some(addr) = self.addrs.get(&sid).copied() else {
            let _ = self.events.send(LinkEvent::Closed(link));
            return;
        };
        self.spawn(async move {
            match tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(addr)).await {
                Ok(Ok(s)) => {
                    let _ = s.set_nodelay(true);
                    n.spawn_link(link, s, Side::FromLeader, Side::FromLearner);
                    let _ = n.events.send(LinkEvent::Connected(link));
                }
                Ok(Err(e)) => {
                    tracing::debug!(sid, %addr, error = %e, "cannot connect to the leader's quorum port");
                    let _ = n.events.send(LinkEvent::Closed(link));
                }
                Err(_) => {
                    tracing::debug!(sid, %addr, "connecting to the leader's quorum port timed out");
                    let _ = n.events.send(LinkEvent::Closed(link));
                }
            }
        });
    }

    /// Sends a message on a link (dropped if the link is gone).
    pub(crate) fn send(&self, link: LinkId, m: Zab) {
        if let Some(tx) = self.lock().get(&link) {
            let _ = tx.send(LinkOut::Msg(m));
        }
    }

    /// Closes a link (no `Closed` event follows).
    pub(crate) fn close(&self, link: LinkId) {
        self.lock().remove(&link);
    }

    fn spawn_link(&self, link: LinkId, s: TcpStream, reads: Side, writes: Side) {
        let remote = s
            .peer_addr()
            .map_or_else(|_| "?".to_owned(), |a| a.to_string());
        let (rd, wr) = s.into_split();
        let (tx, rx) = mpsc::unbounded_channel();
        self.lock().insert(link, tx);
        let n = self.clone();
        self.spawn(async move {
            let mut writer = tokio::spawn(write_loop(wr, rx, writes));
            // The link ends when its reader does (the peer closed, or sent what cannot be
            // read) or when its writer does (the engine closed the link, or a write failed).
            let why = tokio::select! {
                why = read_loop(rd, link, &remote, reads, &n.events, n.max_len) => why,
                _ = &mut writer => "closed",
            };
            writer.abort();
            // Report the end only if the engine did not close the link itself.
            if n.lock().remove(&link).is_some() {
                tracing::debug!(link = link.0, %remote, reason = why, "quorum link closed");
                let _ = n.events.send(LinkEvent::Closed(link));
            }
        });
    }
}

async fn read_loop(
    mut rd: OwnedReadHalf,
    link: LinkId,
    remote: &str,
    side: Side,
    events: &mpsc::UnboundedSender<LinkEvent>,
    max_len: usize,
) -> &'static str {
    let mut stream = QuorumStream::new(max_len);
    let mut buf: Vec<u8> = Vec::new();
    let mut snap: Option<(zk_core::Zxid, SnapBuilder)> = None;
    let mut chunk = vec![0u8; READ_CHUNK];
    loop {
        let mut start = 0;
        loop {
            match stream.next_item(&buf[start..]) {
                Ok(Some((used, item))) => {
                    start += used;
                    match item {
                        QuorumItem::Packet(p) => {
                            let is_snap = p.kind() == Some(PacketType::Snap);
                            if is_snap && side == Side::FromLearner {
                                // Only a leader sends a snapshot: do not read one from a
                                // learner (nothing would bound it).
                                tracing::warn!(link = link.0, %remote, "SNAP from a learner; closing");
                                return "SNAP from a learner";
                            }
                            let zxid = p.zxid;
                            match from_packet(p, side) {
                                Ok(_) if is_snap => snap = Some((zxid, SnapBuilder::new())),
                                Ok(m) => {
                                    if events.send(LinkEvent::Message(link, m)).is_err() {
                                        return "engine gone";
                                    }
                                }
                                Err(e) => {
                                    tracing::warn!(link = link.0, %remote, error = %e, "bad quorum packet; closing");
                                    return "bad packet";
                                }
                            }
                        }
                        QuorumItem::Snap(item) => {
                            let Some((_, b)) = snap.as_mut() else {
                                tracing::warn!(link = link.0, %remote, "snapshot data without SNAP; closing");
                                return "snapshot data without SNAP";
                            };
                            match b.add(item) {
                                Ok(false) => {}
                                Ok(true) => {
                                    let Some((zxid, b)) = snap.take() else {
                                        return "snapshot state lost";
                                    };
                                    let tree = Box::new(b.finish());
                                    let m = Zab::Snap { zxid, tree };
                                    if events.send(LinkEvent::Message(link, m)).is_err() {
                                        return "engine gone";
                                    }
                                }
                                Err(e) => {
                                    tracing::warn!(link = link.0, %remote, error = %e, "bad SNAP stream; closing");
                                    return "bad snapshot";
                                }
                            }
                        }
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    tracing::warn!(link = link.0, %remote, error = %e, "undecodable quorum stream; closing");
                    return "undecodable";
                }
            }
        }
        buf.drain(..start);
        match rd.read(&mut chunk).await {
            Ok(0) => return "eof",
            Err(_) => return "read error",
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
}

async fn write_loop(mut wr: OwnedWriteHalf, mut rx: mpsc::UnboundedReceiver<LinkOut>, side: Side) {
    let mut out = Vec::new();
    let mut pending: Option<Zab> = None;
    loop {
        let m = match pending.take() {
            Some(m) => m,
            None => match rx.recv().await {
                Some(LinkOut::Msg(m)) => m,
                None => return,
            },
        };
        if matches!(m, Zab::Snap { .. }) {
            if !write_snap(&mut wr, m, side).await {
                return;
            }
            continue;
        }
        // Batch what is queued into one write.
        out.clear();
        to_packet(&m, side).encode(&mut out);
        while out.len() < READ_CHUNK {
            match rx.try_recv() {
                Ok(LinkOut::Msg(next)) if matches!(next, Zab::Snap { .. }) => {
                    pending = Some(next);
                    break;
                }
                Ok(LinkOut::Msg(next)) => to_packet(&next, side).encode(&mut out),
                Err(_) => break,
            }
        }
        if wr.write_all(&out).await.is_err() {
            return;
        }
    }
}

/// The SNAP packet, then the snapshot, serialized on a blocking thread in chunks.
async fn write_snap(wr: &mut OwnedWriteHalf, m: Zab, side: Side) -> bool {
    let mut out = Vec::new();
    to_packet(&m, side).encode(&mut out);
    let Zab::Snap { tree, .. } = m else {
        return wr.write_all(&out).await.is_ok();
    };
    if wr.write_all(&out).await.is_err() {
        return false;
    }
    let (ctx, mut crx) = mpsc::channel::<Vec<u8>>(4);
    let producer = tokio::task::spawn_blocking(move || {
        snap_stream(&tree, SNAP_CHUNK, |c| ctx.blocking_send(c).is_ok());
    });
    while let Some(c) = crx.recv().await {
        if wr.write_all(&c).await.is_err() {
            producer.abort();
            return false;
        }
    }
    true
}
