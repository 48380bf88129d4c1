//! The engine of an ensemble member: owns the sans-IO [`Peer`], feeds it client events,
//! election notifications, quorum-link events, disk completions and time, and carries out
//! what it asks for. Client frames are released once the member's log is durable up to what
//! they reveal, as in standalone mode.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::sync::{mpsc, watch};

use crate::config::ServerConfig;
use crate::fourlw::{self, QuorumView};
use crate::quorum::disk::DiskDone;
use crate::quorum::leader::LeaderPhase;
use crate::quorum::{Notification, Peer, PeerOutput, ServerState};

use super::clients::Clients;
use super::election_net::ElectionNet;
use super::engine::{now_ms, ToEngine};
use super::peer_disk::PeerDisk;
use super::quorum_net::{LinkEvent, QuorumNet};
use super::MemberStatus;

/// Messages handled per wake-up before outputs are flushed.
const BATCH: usize = 256;

pub(crate) struct Ensemble {
    pub(crate) peer: Peer,
    pub(crate) cfg: ServerConfig,
    pub(crate) clients: Clients,
    pub(crate) disk: PeerDisk,
    pub(crate) disk_rx: mpsc::UnboundedReceiver<DiskDone>,
    pub(crate) election: ElectionNet,
    pub(crate) election_rx: mpsc::UnboundedReceiver<Notification>,
    pub(crate) quorum: QuorumNet,
    pub(crate) quorum_rx: mpsc::UnboundedReceiver<LinkEvent>,
    pub(crate) status: watch::Sender<MemberStatus>,
    pub(crate) client_addr: SocketAddr,
}

impl Ensemble {
    /// Runs until `stop` flips or the disk fails.
    pub(crate) async fn run(
        mut self,
        mut rx: mpsc::Receiver<ToEngine>,
        stop: std::sync::Arc<watch::Sender<bool>>,
    ) {
        let tick_ms = self.cfg.tick_time_ms.clamp(1, 2000);
        let now = now_ms();
        let first = (now / tick_ms as i64 + 1) * tick_ms as i64 - now;
        let mut sessions = tokio::time::interval_at(
            tokio::time::Instant::now() + Duration::from_millis(first.max(0) as u64),
            Duration::from_millis(tick_ms),
        );
        sessions.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let reap_every = Duration::from_millis(self.cfg.container_check_interval_ms.max(1));
        let mut reaper =
            tokio::time::interval_at(tokio::time::Instant::now() + reap_every, reap_every);
        let per_run = ((self.cfg.container_max_per_minute as u64 * reap_every.as_millis() as u64)
            / 60_000)
            .max(1) as usize;
        let mut shutdown = stop.subscribe();
        let mut fatal = false;
        loop {
            let wake = self.peer.poll_timeout().map(|t| {
                let d = (t - now_ms()).max(0) as u64;
                tokio::time::Instant::now() + Duration::from_millis(d)
            });
            let timer = async move {
                match wake {
                    Some(at) => tokio::time::sleep_until(at).await,
                    None => std::future::pending::<()>().await,
                }
            };
            tokio::select! {
                msg = rx.recv() => {
                    let Some(msg) = msg else { break };
                    self.handle(msg);
                    for _ in 0..BATCH {
                        match rx.try_recv() {
                            Ok(m) => self.handle(m),
                            Err(_) => break,
                        }
                    }
                }
                d = self.disk_rx.recv() => {
                    let Some(d) = d else { break };
                    if matches!(d, DiskDone::Failed(_)) {
                        fatal = true;
                    }
                    self.peer.disk_done(now_ms(), d);
                    while let Ok(d) = self.disk_rx.try_recv() {
                        fatal |= matches!(d, DiskDone::Failed(_));
                        self.peer.disk_done(now_ms(), d);
                    }
                }
                n = self.election_rx.recv() => {
                    let Some(n) = n else { break };
                    self.peer.election_message(now_ms(), n);
                }
                e = self.quorum_rx.recv() => {
                    let Some(e) = e else { break };
                    self.link_event(e);
                    for _ in 0..BATCH {
                        match self.quorum_rx.try_recv() {
                            Ok(e) => self.link_event(e),
                            Err(_) => break,
                        }
                    }
                }
                _ = timer => {
                    let delivered = self.election.have_delivered();
                    self.peer.set_delivery(delivered);
                    self.peer.tick(now_ms());
                }
                _ = sessions.tick() => self.peer.expire_sessions(now_ms()),
                _ = reaper.tick() => self.peer.reap(now_ms(), per_run),
                _ = shutdown.changed() => break,
            }
            self.outputs();
            if fatal {
                tracing::error!("stopping: the disk failed");
                break;
            }
        }
        self.clients.close_all();
        self.disk.stop();
        stop.send_replace(true);
    }

    fn link_event(&mut self, e: LinkEvent) {
        let now = now_ms();
        match e {
            LinkEvent::Accepted(l) => self.peer.quorum_accepted(now, l),
            LinkEvent::Connected(l) => self.peer.quorum_connected(now, l),
            LinkEvent::Message(l, m) => self.peer.quorum_message(now, l, m),
            LinkEvent::Closed(l) => self.peer.quorum_closed(now, l),
        }
    }

    fn handle(&mut self, msg: ToEngine) {
        let now = now_ms();
        match msg {
            ToEngine::Accept {
                conn,
                remote,
                tx,
                queued,
            } => {
                self.clients.accept(conn, tx, queued);
                self.peer.client_accept(now, conn, remote);
            }
            ToEngine::Connect { conn, req } => self.peer.client_connect(now, conn, &req),
            ToEngine::Request {
                conn,
                xid,
                op,
                body,
            } => {
                self.clients.arrived(conn);
                self.peer.client_request(now, conn, xid, op, &body);
            }
            ToEngine::FourLetter { cmd, reply, arg } if cmd == fourlw::YIELD => {
                let text = if !self.cfg.four_letter_allowed(cmd) {
                    format!("{cmd} is not executed because it is not in the whitelist.\n")
                } else {
                    match fourlw::yield_target(&arg) {
                        Ok(target) => self.peer.yield_leadership(now, target),
                        Err(why) => why,
                    }
                };
                let _ = reply.send(text);
            }
            ToEngine::FourLetter { cmd, reply, .. } => {
                let mut d = self.clients.stats();
                d.quorum = Some(self.view());
                let text = fourlw::run(cmd, self.peer.core(), &self.cfg, now, d);
                let _ = reply.send(text);
            }
            ToEngine::Closed { conn } => {
                self.clients.closed(conn);
                self.peer.client_closed(now, conn);
            }
        }
    }

    /// What the four-letter words report of the member's role.
    fn view(&self) -> QuorumView {
        let state = self.peer.state();
        let (synced, all) = self
            .peer
            .leader_state()
            .map(|l| l.learners())
            .unwrap_or_default();
        QuorumView {
            mode: match state {
                _ if self.peer.read_only() => "read-only",
                ServerState::Leading => "leader",
                ServerState::Following => "follower",
                ServerState::Observing => "observer",
                ServerState::Looking => "looking",
            },
            serving: self.peer.serving() || self.peer.read_only(),
            learners: all.len(),
            synced_followers: synced.len(),
            pending_syncs: self
                .peer
                .leader_state()
                .map_or(0, |l| usize::from(l.phase() != LeaderPhase::Broadcast)),
            election_time_ms: self.peer.last_election_ms(),
            my_id: self.peer.my_id(),
            client_addr: self.client_addr,
        }
    }

    /// A new config is active: dial its members at their addresses, and write it to disk as
    /// Apache ZooKeeper does (`zoo.cfg.dynamic.<version>`, and the static file pointing at
    /// it), so a restart starts from it.
    fn config_changed(&mut self, qv: &crate::quorum::QuorumVerifier) {
        match member_addrs(qv) {
            Ok((election, quorum)) => {
                self.election.set_members(election);
                self.quorum.set_members(quorum);
            }
            Err(e) => tracing::error!(error = %e, "a member of the new config cannot be resolved"),
        }
        if self.cfg.config_file.is_empty() {
            return;
        }
        if let Err(e) =
            crate::quorum::dynamic_file::write(&self.cfg.config_file, qv, self.peer.my_id())
        {
            tracing::error!(error = %e, "cannot write the new dynamic config file");
        }
    }

    fn outputs(&mut self) {
        while let Some(o) = self.peer.poll_output() {
            match o {
                PeerOutput::Client(c) => self.clients.push(c),
                PeerOutput::Election(m) => self.election.send(&m),
                PeerOutput::ElectionConnectAll => self.election.connect_all(),
                PeerOutput::QuorumConnect { link, sid } => self.quorum.connect(link, sid),
                PeerOutput::QuorumSend { link, msg } => self.quorum.send(link, msg),
                PeerOutput::QuorumClose { link } => self.quorum.close(link),
                PeerOutput::Disk(op) => self.disk.submit(op),
                // Published below with the rest of the status.
                PeerOutput::State(_) => {}
                PeerOutput::Fatal(why) => tracing::error!(reason = %why, "fatal"),
                PeerOutput::Config(qv) => self.config_changed(&qv),
            }
        }
        let status = MemberStatus {
            state: self.peer.state(),
            serving: self.peer.serving(),
            leader: self.peer.leader(),
            last_zxid: self.peer.last_zxid(),
        };
        self.quorum
            .set_leading(status.state == ServerState::Leading);
        self.status.send_if_modified(|s| {
            let changed = *s != status;
            *s = status;
            changed
        });
        // A frame may reveal a zxid up to what it carries; a leader's `epoch << 32` marker
        // reveals no more than what was last appended.
        let d = self.peer.disk_state();
        let need_cap = d.last_appended;
        let synced = d.synced;
        self.clients.flush(|z| z.min(need_cap) <= synced);
    }
}

/// The members' election and quorum addresses, resolved.
pub(crate) fn member_addrs(
    qv: &crate::quorum::QuorumVerifier,
) -> std::io::Result<(BTreeMap<i64, SocketAddr>, BTreeMap<i64, SocketAddr>)> {
    use std::net::ToSocketAddrs;
    let mut election = BTreeMap::new();
    let mut quorum = BTreeMap::new();
    for m in qv.members() {
        let Some(a) = m.addrs.first() else { continue };
        let resolve = |h: &crate::quorum::HostPort| -> std::io::Result<SocketAddr> {
            (h.host.as_str(), h.port)
                .to_socket_addrs()?
                .next()
                .ok_or_else(|| std::io::Error::other(format!("cannot resolve {}", h.host)))
        };
        election.insert(m.sid, resolve(&a.election())?);
        quorum.insert(m.sid, resolve(&a.quorum())?);
    }
    Ok((election, quorum))
}
