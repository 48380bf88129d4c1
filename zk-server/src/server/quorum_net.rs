//! The quorum port: Zab links between a leader and its learners. Bare jute `QuorumPacket`s in
//! both directions, no framing; after a SNAP packet the snapshot follows inline. Each link is a
//! task that turns bytes into [`Zab`] messages and back; anything that does not parse closes
//! that link only.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use zk_core::jute::Encode;
use zk_core::quorum::{PacketType, QuorumItem, QuorumStream};

use crate::quorum::wire::{from_packet, snap_stream, to_packet, Side, SnapBuilder};
use crate::quorum::zab::{LinkId, Zab};

use super::tasks::Tasks;

/// Bytes read at a time.
const READ_CHUNK: usize = 64 * 1024;
/// SNAP stream chunks.
const SNAP_CHUNK: usize = 256 * 1024;
/// How long connecting to a leader may take (each attempt).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

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
    addrs: Arc<Mutex<BTreeMap<i64, SocketAddr>>>,
    max_len: usize,
    /// Every task of this network stops with the member.
    tasks: Tasks,
    /// Whether the member leads: the port listens only then.
    leading: Arc<watch::Sender<bool>>,
}

impl QuorumNet {
    /// Checks that `listen` can be bound, and reports link events to `events`. `addrs` are
    /// the members' quorum addresses. The port listens only while [`QuorumNet::set_leading`]
    /// says the member leads, as Apache ZooKeeper's `Leader` binds it when it starts leading
    /// and closes it when it stops: a learner that connects to a member that does not lead
    /// (yet) is refused, and tries again (`Learner.connectToLeader`), instead of being
    /// accepted and then dropped, which would end its role.
    pub(crate) async fn start(
        listen: SocketAddr,
        addrs: BTreeMap<i64, SocketAddr>,
        events: mpsc::UnboundedSender<LinkEvent>,
        max_len: usize,
        tasks: Tasks,
    ) -> std::io::Result<QuorumNet> {
        let bind_error = |e: std::io::Error| {
            std::io::Error::new(
                e.kind(),
                format!("cannot bind the quorum port {listen}: {e}"),
            )
        };
        drop(TcpListener::bind(listen).await.map_err(bind_error)?);
        let (leading, leading_rx) = watch::channel(false);
        let net = QuorumNet {
            links: Arc::new(Mutex::new(HashMap::new())),
            events,
            addrs: Arc::new(Mutex::new(addrs)),
            max_len,
            tasks,
            leading: Arc::new(leading),
        };
        let n = net.clone();
        net.tasks
            .spawn(async move { n.acceptor(listen, leading_rx).await });
        Ok(net)
    }

    /// Opens the quorum port while the member leads, closes it otherwise.
    pub(crate) fn set_leading(&self, leading: bool) {
        self.leading
            .send_if_modified(|l| std::mem::replace(l, leading) != leading);
    }

    /// Listens on `listen` while `leading` is true; every accepted connection becomes a link.
    async fn acceptor(&self, listen: SocketAddr, mut leading: watch::Receiver<bool>) {
        let mut next = 1u64;
        loop {
            if leading.wait_for(|l| *l).await.is_err() {
                return;
            }
            let listener = match TcpListener::bind(listen).await {
                Ok(l) => l,
                Err(e) => {
                    // Learners are refused meanwhile; the leader gives up at initLimit.
                    tracing::error!(%listen, error = %e, "cannot bind the quorum port; retrying");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            };
            loop {
                tokio::select! {
                    r = listener.accept() => match r {
                        Ok((s, remote)) => {
                            let link = LinkId(next);
                            next += 1;
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
                    gone = async { leading.wait_for(|l| !*l).await.is_err() } => {
                        if gone {
                            return;
                        }
                        // Not leading: the listener is dropped, the port closed. Links already
                        // accepted stay until the peer closes them.
                        break;
                    }
                }
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<LinkId, mpsc::UnboundedSender<LinkOut>>> {
        self.links.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A new config's quorum addresses (a reconfig).
    pub(crate) fn set_members(&self, members: BTreeMap<i64, SocketAddr>) {
        self.addrs
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend(members);
    }

    /// Opens a link to member `sid`'s quorum port.
    pub(crate) fn connect(&self, link: LinkId, sid: i64) {
        let n = self.clone();
        let addr = self
            .addrs
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&sid)
            .copied();
        let Some(addr) = addr else {
            let _ = self.events.send(LinkEvent::Closed(link));
            return;
        };
        self.tasks.spawn(async move {
            match tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(addr)).await {
                Ok(Ok(s)) => {
                    let _ = s.set_nodelay(true);
                    n.spawn_link(link, s, Side::FromLeader, Side::FromLearner);
                    let _ = n.events.send(LinkEvent::Connected(link));
                }
                _ => {
                    tracing::debug!(sid, %addr, "cannot connect to the leader's quorum port");
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
        self.tasks.spawn(async move {
            // The link ends when its reader does (the peer closed, or sent what cannot be
            // read) or when its writer does (the engine closed the link, or a write failed):
            // either way the socket closes, both halves.
            let why = tokio::select! {
                why = read_loop(rd, link, &remote, reads, &n.events, n.max_len) => why,
                _ = write_loop(wr, rx, writes) => "closed",
            };
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
