//! The tokio driver and the embedding API: [`Server::start`], [`Server::addr`],
//! [`Server::shutdown`], [`Server::kill`]; an ensemble member's [`MemberStatus`].

mod clients;
mod conn;
mod election_net;
mod engine;
mod ensemble;
mod logger;
mod peer_disk;
mod quorum_net;
mod tasks;

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};

use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use crate::config::ServerConfig;
use crate::core::{ConnId, Core, DataTree};
use crate::durable::{recover_tree, FileSink};
use crate::sink::{NullSink, TxnSink};

use crate::quorum::{Boot, ElectionTiming, Peer, PeerConfig, QuorumConfig, ServerState};
use conn::ConnLimits;
use election_net::ElectionNet;
use engine::Engine;
use ensemble::Ensemble;
use logger::Logger;
use peer_disk::{KillSwitch, PeerDisk};
use quorum_net::QuorumNet;
use tasks::{Tasks, TasksDone};

/// A running server.
#[derive(Debug)]
pub struct Server {
    addr: SocketAddr,
    shutdown: Arc<watch::Sender<bool>>,
    accept: JoinHandle<()>,
    engine: JoinHandle<()>,
    /// An ensemble member's parts (None standalone).
    member: Option<MemberParts>,
}

/// What a running ensemble member has besides a standalone server's tasks.
#[derive(Debug)]
struct MemberParts {
    status: watch::Receiver<MemberStatus>,
    /// Makes the disk thread abandon its queue ([`Server::kill`]).
    killed: KillSwitch,
    /// The election and quorum ports' tasks.
    tasks: TasksDone,
}

/// What an ensemble member reports of itself, updated as it changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct MemberStatus {
    /// LOOKING, LEADING, FOLLOWING or OBSERVING.
    pub state: ServerState,
    /// Whether it serves clients: a leader once a quorum synced with it, a learner once it
    /// synced with its leader (UPTODATE).
    pub serving: bool,
    /// The leader it follows or observes (itself when leading; None while looking).
    pub leader: Option<i64>,
    /// The zxid of the last transaction applied to its tree.
    pub last_zxid: zk_core::Zxid,
}

/// Counts connections per client IP (maxClientCnxns); the guard gives its slot back on drop.
#[derive(Debug, Clone, Default)]
struct PerIp(Arc<Mutex<HashMap<IpAddr, usize>>>);

struct IpSlot(PerIp, IpAddr);

impl PerIp {
    /// A slot for a connection from `ip`, if it has fewer than `max` (maxClientCnxns) and the
    /// server fewer than `max_total` (maxCnxns) in all; 0 means no limit.
    fn try_take(&self, ip: IpAddr, max: usize, max_total: usize) -> Option<IpSlot> {
        let mut m = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if max_total != 0 && m.values().sum::<usize>() >= max_total {
            return None;
        }
        let n = m.entry(ip).or_insert(0);
        if max != 0 && *n >= max {
            return None;
        }
        *n += 1;
        Some(IpSlot(self.clone(), ip))
    }
}

impl Drop for IpSlot {
    fn drop(&mut self) {
        let mut m = (self.0).0.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = m.get_mut(&self.1) {
            *n -= 1;
            if *n == 0 {
                m.remove(&self.1);
            }
        }
    }
}

impl Server {
    /// Starts a durable server on `cfg.data_dir` / `cfg.data_log_dir` (created if missing):
    /// recovers the tree (newest valid snapshot + the logs after it), then logs every
    /// transaction there ([`FileSink`]) before replying.
    ///
    /// # Errors
    /// Recovery failed (the message names the file and offset), or the port is taken.
    ///
    /// # Cancel safety
    /// Cancel safe: recovery runs on a blocking thread and only reads (or writes the initial
    /// snapshot); nothing is served before the listener is bound.
    pub async fn start(cfg: ServerConfig) -> io::Result<Server> {
        if let Some(q) = cfg
            .quorum()
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e.to_string()))?
        {
            return Self::start_member(cfg, q).await;
        }
        let c = cfg.clone();
        let (tree, sink) = tokio::task::spawn_blocking(move || {
            let tree = recover_tree(&c)?;
            let sink = FileSink::open(&c)?;
            Ok::<_, io::Error>((tree, sink))
        })
        .await
        .map_err(io::Error::other)??;
        Self::start_with(cfg, tree, Box::new(sink)).await
    }

    /// Starts a server with an empty tree and no transaction log (writes are in memory only).
    ///
    /// # Cancel safety
    /// Cancel safe, as [`Server::start`].
    pub async fn start_in_memory(cfg: ServerConfig) -> io::Result<Server> {
        Self::start_with(cfg, DataTree::new(), Box::new(NullSink)).await
    }

    /// Starts a server over a recovered `tree`, logging every transaction to `sink` before any
    /// reply that depends on it is sent.
    ///
    /// # Cancel safety
    /// Cancel safe, as [`Server::start`].
    pub async fn start_with(
        cfg: ServerConfig,
        tree: DataTree,
        sink: Box<dyn TxnSink>,
    ) -> io::Result<Server> {
        let listener = TcpListener::bind(cfg.client_addr()).await?;
        let addr = listener.local_addr()?;
        let start_zxid = tree.last_zxid().0;
        let core = Core::with_tree(cfg.core_config(), tree, engine::now_ms());
        let (logger, synced) = Logger::start(sink, start_zxid)?;
        let (tx, rx) = mpsc::channel(cfg.global_outstanding_limit.max(1));
        let (shutdown, shutdown_rx) = watch::channel(false);
        let shutdown = Arc::new(shutdown);
        let engine =
            tokio::spawn(Engine::new(core, cfg.clone(), logger, synced).run(rx, shutdown.clone()));
        let accept = tokio::spawn(accept_loop(listener, cfg, tx, shutdown_rx));
        tracing::info!(%addr, "zk-server serving");
        Ok(Server {
            addr,
            shutdown,
            accept,
            engine,
            member: None,
        })
    }

    /// Starts one member of an ensemble (a config with `server.N` lines and a myid): recovers
    /// its data directory and epoch files, binds the client, election and quorum ports, and
    /// looks for a leader. Clients are served once the member has synced with a quorum.
    async fn start_member(cfg: ServerConfig, q: QuorumConfig) -> io::Result<Server> {
        let c = cfg.clone();
        let commit_log_count = cfg.commit_log_count;
        let (tree, recent, accepted, current) = tokio::task::spawn_blocking(move || {
            let (tree, recent) = crate::durable::recover_member(&c, commit_log_count)?;
            let (accepted, current) = peer_disk::load_epochs(&c, &tree)?;
            Ok::<_, io::Error>((tree, recent, accepted, current))
        })
        .await
        .map_err(io::Error::other)??;
        let client_addr = match &q.client_addr {
            Some(h) => resolve(h)?,
            None => cfg.client_addr(),
        };
        let listener = TcpListener::bind(client_addr).await?;
        let addr = listener.local_addr()?;
        let (election_addrs, quorum_addrs) = ensemble::member_addrs(&q.verifier)?;
        let me = q.me().clone();
        let my_addr = me
            .addrs
            .first()
            .ok_or_else(|| io::Error::other("this member has no address"))?;
        let any = |a: SocketAddr| {
            if q.quorum_listen_on_all_ips {
                SocketAddr::new(
                    if a.is_ipv6() {
                        IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED)
                    } else {
                        IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED)
                    },
                    a.port(),
                )
            } else {
                a
            }
        };
        let my_election = any(election_addrs[&q.my_id]);
        let my_quorum = any(quorum_addrs[&q.my_id]);
        let mut core_cfg = cfg.core_config();
        core_cfg.server_id = q.my_id;
        core_cfg.reconfig_enabled = q.reconfig_enabled;
        let now = engine::now_ms();
        let core = Core::new(core_cfg, now);
        let mut timing = crate::quorum::ctx::ZabTiming::new(
            q.tick_time_ms as i64,
            i64::from(q.init_limit),
            i64::from(q.sync_limit),
        );
        timing.commit_log_count = cfg.commit_log_count;
        timing.snapshot_size_factor = cfg.snapshot_size_factor;
        timing.force_snapshot_sync = cfg.force_snapshot_sync;
        let timing = timing.with_read_only_mode(cfg.read_only_mode);
        let peer_cfg = PeerConfig {
            my_id: q.my_id,
            verifier: q.verifier.clone(),
            timing,
            election: ElectionTiming::default(),
            standalone_enabled: cfg.standalone_enabled,
            multi_address: q.multi_address_enabled,
        };
        let (shutdown, shutdown_rx) = watch::channel(false);
        let shutdown = Arc::new(shutdown);
        // Every port task stops with the member; `tasks_done` sees the last one go.
        let (tasks, tasks_done) = Tasks::new(shutdown.subscribe());
        let killed = KillSwitch::default();
        let (disk_tx, disk_rx) = mpsc::unbounded_channel();
        let disk = PeerDisk::start(&cfg, disk_tx, killed.clone())?;
        let (el_tx, el_rx) = mpsc::unbounded_channel();
        let others: std::collections::BTreeMap<i64, SocketAddr> = election_addrs
            .iter()
            .filter(|(s, _)| **s != q.my_id)
            .map(|(s, a)| (*s, *a))
            .collect();
        let election = ElectionNet::start(
            q.my_id,
            my_election,
            my_addr.election().delimited(),
            others,
            el_tx,
            q.election_port_bind_retry,
            q.reconfig_enabled,
            tasks.clone(),
        )
        .await?;
        let (qtx, qrx) = mpsc::unbounded_channel();
        let quorum =
            QuorumNet::start(my_quorum, quorum_addrs, qtx, 2 * cfg.jute_max_buffer, tasks).await?;
        let boot = Boot {
            tree,
            accepted_epoch: accepted,
            current_epoch: current,
            recent,
        };
        let peer = Peer::new(peer_cfg, core, boot, now);
        let (status_tx, status_rx) = watch::channel(MemberStatus {
            state: peer.state(),
            serving: peer.serving(),
            leader: peer.leader(),
            last_zxid: peer.last_zxid(),
        });
        let (tx, rx) = mpsc::channel(cfg.global_outstanding_limit.max(1));
        let eng = Ensemble {
            peer,
            cfg: cfg.clone(),
            clients: clients::Clients::new(cfg.max_queued_bytes_per_connection),
            disk,
            disk_rx,
            election,
            election_rx: el_rx,
            quorum,
            quorum_rx: qrx,
            status: status_tx,
            client_addr: addr,
        };
        let engine = tokio::spawn(eng.run(rx, shutdown.clone()));
        let accept = tokio::spawn(accept_loop(listener, cfg, tx, shutdown_rx));
        tracing::info!(%addr, my_id = q.my_id, election = %my_election, quorum = %my_quorum, "zk-server ensemble member started");
        Ok(Server {
            addr,
            shutdown,
            accept,
            engine,
            member: Some(MemberParts {
                status: status_rx,
                killed,
                tasks: tasks_done,
            }),
        })
    }

    /// An ensemble member's state (LOOKING, LEADING, FOLLOWING, OBSERVING); None standalone.
    pub fn role(&self) -> Option<ServerState> {
        self.status().map(|s| s.state)
    }

    /// An ensemble member's status (state, serving, leader, last zxid); None standalone.
    pub fn status(&self) -> Option<MemberStatus> {
        self.member.as_ref().map(|m| *m.status.borrow())
    }

    /// Waits until this ensemble member's state satisfies `f` (returns at once standalone).
    ///
    /// # Cancel safety
    /// Cancel safe: it only watches a value.
    pub async fn wait_role(&self, f: impl Fn(ServerState) -> bool) {
        self.wait_status(|s| f(s.state)).await
    }

    /// Waits until this ensemble member's status satisfies `f` (returns at once standalone,
    /// and once the member stopped).
    ///
    /// # Cancel safety
    /// Cancel safe: it only watches a value.
    pub async fn wait_status(&self, f: impl Fn(&MemberStatus) -> bool) {
        if let Some(m) = &self.member {
            let mut r = m.status.clone();
            let _ = r.wait_for(|s| f(s)).await;
        }
    }

    /// Completes when the server stopped on its own (its transaction log failed) or was told
    /// to stop.
    ///
    /// # Cancel safety
    /// Cancel safe: it only watches a flag.
    pub async fn stopped(&self) {
        let mut rx = self.shutdown.subscribe();
        let _ = rx.wait_for(|s| *s).await;
    }

    /// The address clients connect to.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting, closes every connection and waits for the log to be flushed.
    ///
    /// # Cancel safety
    /// Not cancel safe: a dropped future still stops the server, but may return before the log
    /// thread finished.
    ///
    /// An ensemble member also waits until its election and quorum ports are closed, so that
    /// it can be started again on the same ports at once.
    pub async fn shutdown(mut self) {
        let _ = self.shutdown.send(true);
        let _ = (&mut self.accept).await;
        let _ = (&mut self.engine).await;
        if let Some(m) = self.member.as_mut() {
            m.tasks.wait().await;
        }
    }

    /// Stops the server abruptly, as far as a process can be killed from inside itself:
    /// the tasks stop where they are (queued requests, replies and quorum packets not yet
    /// written are dropped, connections reset), and an ensemble member's disk thread
    /// abandons what it has not started: appends still in its buffer are never written out
    /// and nothing more is synced. What was already written to files stays there (in the
    /// OS page cache, as after a SIGKILL of a process, not a power loss); the operation the
    /// disk thread is in the middle of, and a background snapshot, still finish. Returns once
    /// every task ended and the ports are closed (a standalone server's log thread finishes
    /// what it was given).
    ///
    /// # Cancel safety
    /// Not cancel safe: a dropped future still kills the server, but may return before its
    /// ports are closed.
    pub async fn kill(mut self) {
        self.signal_kill();
        let _ = (&mut self.accept).await;
        let _ = (&mut self.engine).await;
        if let Some(m) = self.member.as_mut() {
            m.tasks.wait().await;
        }
    }
}

impl Server {
    /// The kill without the wait: everything is told to stop at once.
    fn signal_kill(&self) {
        if let Some(m) = &self.member {
            m.killed.store(true, std::sync::atomic::Ordering::Release);
        }
        let _ = self.shutdown.send(true);
        self.engine.abort();
        self.accept.abort();
    }

    /// Kills the server without waiting for its tasks (for `Drop` impls).
    pub(crate) fn kill_now(self) {
        self.signal_kill();
    }
}

impl Drop for Server {
    /// A server dropped without [`Server::shutdown`] still stops: its tasks are told to finish
    /// (without waiting for them).
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
    }
}

async fn accept_loop(
    listener: TcpListener,
    cfg: ServerConfig,
    engine: mpsc::Sender<ToEngineAlias>,
    mut shutdown: watch::Receiver<bool>,
) {
    let per_ip = PerIp::default();
    let limits = ConnLimits {
        max_frame: cfg.jute_max_buffer,
        max_outstanding: cfg.max_outstanding_per_connection.max(1),
    };
    let mut next_id = 1u64;
    loop {
        tokio::select! {
            r = listener.accept() => {
                let (stream, remote) = match r {
                    Ok(x) => x,
                    Err(e) => {
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                        continue;
                    }
                };
                let Some(slot) = per_ip.try_take(remote.ip(), cfg.max_client_cnxns, cfg.max_cnxns) else {
                    tracing::warn!(%remote, "too many connections (maxClientCnxns / maxCnxns)");
                    drop(stream);
                    continue;
                };
                let conn = ConnId(next_id);
                next_id += 1;
                let engine = engine.clone();
                let mut stop = shutdown.clone();
                tokio::spawn(async move {
                    let _slot = slot;
                    tokio::select! {
                        _ = conn::serve(stream, conn, remote, engine, limits) => {}
                        _ = stop.wait_for(|s| *s) => {}
                    }
                });
            }
            _ = shutdown.changed() => break,
        }
    }
}

type ToEngineAlias = engine::ToEngine;

fn resolve(h: &crate::quorum::HostPort) -> io::Result<SocketAddr> {
    use std::net::ToSocketAddrs;
    (h.host.as_str(), h.port)
        .to_socket_addrs()?
        .next()
        .ok_or_else(|| io::Error::other(format!("cannot resolve {}", h.host)))
}
