//! An ensemble of zk-server members inside one process, for tests and examples.
//!
//! [`Ensemble::builder`] starts N voters (and optional observers) on loopback, each an
//! ordinary ensemble member ([`Server::start`] over its own zoo.cfg and `dataDir/myid`) with
//! its own data directory: under a temp dir the ensemble owns (removed when it is dropped),
//! or under a base directory the caller gives (kept). Members talk to each other over TCP
//! as separate processes would, so killing one, restarting it on the same ports and data
//! directory, wiping its data, and waiting for the ensemble to serve again all behave as
//! with real processes, minus what only a process boundary gives (see [`Ensemble::kill`]).
//!
//! Ports: every member's config names every member's election and quorum ports, so they are
//! picked before any member starts: a block of free loopback ports outside the kernel's
//! ephemeral range (which no port-0 bind or outgoing connection can take meanwhile), and the
//! whole start is tried again on a new block when a bind still fails because another
//! ensemble or server took one of them.
//!
//! Timing: tickTime 200 ms, initLimit 10, syncLimit 5 by default (an election and sync take
//! a few hundred milliseconds), session timeouts up to 60 s; all configurable.
//!
//! ```
//! # #[tokio::main(flavor = "multi_thread", worker_threads = 2)]
//! # async fn main() -> std::io::Result<()> {
//! use std::time::Duration;
//! use zk_server::embedded::Ensemble;
//!
//! let mut ensemble = Ensemble::builder().voters(3).start().await?;
//! let leader = ensemble.ready(Duration::from_secs(30)).await?;
//! println!("member {leader} leads; clients connect to {}", ensemble.connect_string());
//!
//! // Kill the leader: the two others elect a new one among themselves.
//! ensemble.kill(leader).await?;
//! let next = ensemble.ready(Duration::from_secs(30)).await?;
//! assert_ne!(next, leader);
//!
//! // Back on the same ports and data directory: it syncs with the new leader.
//! ensemble.restart(leader).await?;
//! ensemble.ready_all(Duration::from_secs(30)).await?;
//! assert!(ensemble.status(leader).is_some_and(|s| s.serving));
//! ensemble.shutdown().await;
//! # Ok(()) }
//! ```

mod dir;
mod ports;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::config::ServerConfig;
use crate::quorum::ServerState;
use crate::server::{MemberStatus, Server};
use dir::BaseDir;

/// How many port blocks a start tries before giving up.
const START_ATTEMPTS: usize = 5;
/// How often the waits look at the members' status.
const POLL: Duration = Duration::from_millis(10);

/// How to start an [`Ensemble`]: see [`Ensemble::builder`].
#[derive(Debug, Clone)]
pub struct EnsembleBuilder {
    voters: usize,
    observers: usize,
    tick_time_ms: u64,
    init_limit: u32,
    sync_limit: u32,
    base_dir: Option<PathBuf>,
    extra: Vec<(String, String)>,
}

impl EnsembleBuilder {
    /// Voting members (participants): ids 1..=voters. Default 3.
    pub fn voters(mut self, n: usize) -> Self {
        self.voters = n;
        self
    }

    /// Observers, ids after the voters'. Default 0.
    pub fn observers(mut self, n: usize) -> Self {
        self.observers = n;
        self
    }

    /// tickTime (ms). Default 200.
    pub fn tick_time_ms(mut self, ms: u64) -> Self {
        self.tick_time_ms = ms;
        self
    }

    /// initLimit (ticks): connecting and syncing to a leader. Default 10.
    pub fn init_limit(mut self, ticks: u32) -> Self {
        self.init_limit = ticks;
        self
    }

    /// syncLimit (ticks): how far a learner may lag once synced. Default 5.
    pub fn sync_limit(mut self, ticks: u32) -> Self {
        self.sync_limit = ticks;
        self
    }

    /// Keeps the members' files under `dir` (`dir/member-N/`), left in place when the
    /// ensemble is dropped; a member whose directory already holds data recovers it.
    pub fn base_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.base_dir = Some(dir.into());
        self
    }

    /// Adds a zoo.cfg line `key=value` to every member's config (after the defaults, so it
    /// wins), e.g. `("snapCount", "1000")` or `("maxSessionTimeout", "120000")`.
    pub fn config(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.extra.push((key.into(), value.into()));
        self
    }

    /// Starts every member and returns at once (the members elect a leader in the
    /// background: see [`Ensemble::ready`]).
    ///
    /// # Errors
    /// Fewer than two voters, a directory that cannot be written, a member that does not
    /// start, or no free port block in a few attempts.
    ///
    /// # Cancel safety
    /// Not cancel safe: members started before the future was dropped stop (they are
    /// dropped), but may still be finishing in the background.
    pub async fn start(self) -> io::Result<Ensemble> {
        if self.voters < 2 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "an ensemble needs at least two voters (one runs standalone)",
            ));
        }
        let base = match &self.base_dir {
            Some(d) => BaseDir::given(d)?,
            None => BaseDir::temp()?,
        };
        let mut ensemble = Ensemble {
            members: BTreeMap::new(),
            base,
        };
        let n = self.voters + self.observers;
        let width = u16::try_from(3 * n).map_err(|_| io::Error::other("too many members"))?;
        let mut clashes = Vec::new();
        for _ in 0..START_ATTEMPTS {
            let first = ports::free_block(width)?;
            ensemble.members = self.members(ensemble.base.path(), first)?;
            match ensemble.start_all().await {
                Ok(()) => return Ok(ensemble),
                Err(e) if e.kind() == io::ErrorKind::AddrInUse => {
                    tracing::info!(error = %e, "a port was taken meanwhile: starting again on other ports");
                    ensemble.kill_all().await;
                    clashes.push(e.to_string());
                }
                Err(e) => {
                    ensemble.kill_all().await;
                    return Err(e);
                }
            }
        }
        Err(io::Error::new(
            io::ErrorKind::AddrInUse,
            format!(
                "no free ports in {START_ATTEMPTS} attempts: {}",
                clashes.join("; ")
            ),
        ))
    }

    /// The members' configs on the port block from `first`: member i (from 0) has client
    /// port `first + 3i`, quorum port `+1`, election port `+2`. Writes each member's zoo.cfg
    /// and myid.
    fn members(&self, base: &Path, first: u16) -> io::Result<BTreeMap<i64, Member>> {
        let n = self.voters + self.observers;
        let port = |i: usize, k: usize| first + (3 * i + k) as u16;
        let mut servers = String::new();
        for i in 0..n {
            let kind = if i < self.voters {
                "participant"
            } else {
                "observer"
            };
            let _ = writeln!(
                servers,
                "server.{}=127.0.0.1:{}:{}:{kind};127.0.0.1:{}",
                i + 1,
                port(i, 1),
                port(i, 2),
                port(i, 0)
            );
        }
        let mut members = BTreeMap::new();
        for i in 0..n {
            let id = (i + 1) as i64;
            let dir = base.join(format!("member-{id}"));
            let data = dir.join("data");
            std::fs::create_dir_all(&data)?;
            std::fs::write(data.join("myid"), format!("{id}\n"))?;
            let mut text = format!(
                "# member {id} of an embedded ensemble\n\
                 tickTime={}\ninitLimit={}\nsyncLimit={}\ndataDir={}\n\
                 clientPort={}\nclientPortAddress=127.0.0.1\n\
                 maxClientCnxns=0\nmaxSessionTimeout=60000\n4lw.commands.whitelist=*\n\
                 electionPortBindRetry=1\nadmin.enableServer=false\n",
                self.tick_time_ms,
                self.init_limit,
                self.sync_limit,
                data.display(),
                port(i, 0)
            );
            text.push_str(&servers);
            for (k, v) in &self.extra {
                let _ = writeln!(text, "{k}={v}");
            }
            let file = dir.join("zoo.cfg");
            std::fs::write(&file, &text)?;
            let cfg = ServerConfig::parse(&text, &file.display().to_string())
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e.to_string()))?;
            members.insert(
                id,
                Member {
                    cfg,
                    client: SocketAddr::from((Ipv4Addr::LOCALHOST, port(i, 0))),
                    observer: i >= self.voters,
                    server: None,
                },
            );
        }
        Ok(members)
    }
}

/// One member: its config (fixed for the ensemble's life) and its server while it runs.
#[derive(Debug)]
struct Member {
    cfg: ServerConfig,
    client: SocketAddr,
    observer: bool,
    server: Option<Server>,
}

/// A running ensemble of in-process members (see the [module docs](self)).
///
/// Dropping it kills every member without waiting; [`Ensemble::shutdown`] stops them
/// cleanly.
#[derive(Debug)]
pub struct Ensemble {
    members: BTreeMap<i64, Member>,
    // Dropped after the members.
    base: BaseDir,
}

impl Ensemble {
    /// 3 voters, no observer, tickTime 200 ms, initLimit 10, syncLimit 5, a temp dir.
    pub fn builder() -> EnsembleBuilder {
        EnsembleBuilder {
            voters: 3,
            observers: 0,
            tick_time_ms: 200,
            init_limit: 10,
            sync_limit: 5,
            base_dir: None,
            extra: Vec::new(),
        }
    }

    async fn start_all(&mut self) -> io::Result<()> {
        let ids: Vec<i64> = self.members.keys().copied().collect();
        for id in ids {
            self.restart(id).await?;
        }
        Ok(())
    }

    async fn kill_all(&mut self) {
        for m in self.members.values_mut() {
            if let Some(s) = m.server.take() {
                s.kill().await;
            }
        }
    }

    fn member(&self, id: i64) -> io::Result<&Member> {
        self.members.get(&id).ok_or_else(|| unknown(id))
    }

    fn member_mut(&mut self, id: i64) -> io::Result<&mut Member> {
        self.members.get_mut(&id).ok_or_else(|| unknown(id))
    }

    /// Every member's id, voters first (1..=voters), then observers.
    pub fn ids(&self) -> Vec<i64> {
        self.members.keys().copied().collect()
    }

    /// The voters' ids.
    pub fn voters(&self) -> Vec<i64> {
        self.members
            .iter()
            .filter(|(_, m)| !m.observer)
            .map(|(id, _)| *id)
            .collect()
    }

    /// The observers' ids.
    pub fn observers(&self) -> Vec<i64> {
        self.members
            .iter()
            .filter(|(_, m)| m.observer)
            .map(|(id, _)| *id)
            .collect()
    }

    /// Every member's client address, `127.0.0.1:PORT,...` (running or not: a client fails
    /// over between them).
    pub fn connect_string(&self) -> String {
        self.members
            .values()
            .map(|m| m.client.to_string())
            .collect::<Vec<_>>()
            .join(",")
    }

    /// A member's client address (the same across restarts). Panics on an unknown id.
    pub fn client_addr(&self, id: i64) -> SocketAddr {
        self.members[&id].client
    }

    /// A member's quorum (Zab) address; it listens there only while it leads. Panics on an
    /// unknown id.
    pub fn quorum_addr(&self, id: i64) -> SocketAddr {
        let port = self.members[&id].cfg.servers[&id].quorum_addr().port;
        SocketAddr::from((Ipv4Addr::LOCALHOST, port))
    }

    /// A member's election address. Panics on an unknown id.
    pub fn election_addr(&self, id: i64) -> SocketAddr {
        let port = self.members[&id].cfg.servers[&id].election_addr().port;
        SocketAddr::from((Ipv4Addr::LOCALHOST, port))
    }

    /// A member's config (its zoo.cfg is `config(id).config_file`). Panics on an unknown id.
    pub fn config(&self, id: i64) -> &ServerConfig {
        &self.members[&id].cfg
    }

    /// A member's data directory (with its `myid`). Panics on an unknown id.
    pub fn data_dir(&self, id: i64) -> &Path {
        &self.members[&id].cfg.data_dir
    }

    /// The directory holding every member's files.
    pub fn base_dir(&self) -> &Path {
        self.base.path()
    }

    /// A running member's server (None when it is stopped or unknown).
    pub fn server(&self, id: i64) -> Option<&Server> {
        self.members.get(&id)?.server.as_ref()
    }

    /// Whether a member runs.
    pub fn is_running(&self, id: i64) -> bool {
        self.server(id).is_some()
    }

    /// A running member's state (None when it is stopped or unknown).
    pub fn role(&self, id: i64) -> Option<ServerState> {
        self.status(id).map(|s| s.state)
    }

    /// A running member's status (None when it is stopped or unknown).
    pub fn status(&self, id: i64) -> Option<MemberStatus> {
        self.server(id)?.status()
    }

    /// The member that leads and serves now (a quorum synced with it), if any; the one with
    /// the newest zxid if two think so for a moment.
    pub fn leader(&self) -> Option<i64> {
        self.members
            .keys()
            .filter_map(|id| Some((*id, self.status(*id)?)))
            .filter(|(_, s)| s.state == ServerState::Leading && s.serving)
            .max_by_key(|(_, s)| s.last_zxid)
            .map(|(id, _)| id)
    }

    /// The members serving under `leader` (the leader itself included).
    fn serving_under(&self, leader: i64) -> Vec<i64> {
        self.members
            .keys()
            .copied()
            .filter(|id| {
                self.status(*id)
                    .is_some_and(|s| s.serving && s.leader == Some(leader))
            })
            .collect()
    }

    /// The leader, when it serves with a quorum of voters serving under it.
    fn quorum_leader(&self) -> Option<i64> {
        let leader = self.leader()?;
        let voters = self.voters();
        let synced = self
            .serving_under(leader)
            .into_iter()
            .filter(|id| voters.contains(id))
            .count();
        (synced > voters.len() / 2).then_some(leader)
    }

    /// The leader, when every running member serves under it.
    fn all_leader(&self) -> Option<i64> {
        let leader = self.quorum_leader()?;
        let serving = self.serving_under(leader);
        self.members
            .iter()
            .filter(|(_, m)| m.server.is_some())
            .all(|(id, _)| serving.contains(id))
            .then_some(leader)
    }

    /// Each member's status, for messages.
    fn describe(&self) -> String {
        self.members
            .iter()
            .map(|(id, m)| match m.server.as_ref().and_then(Server::status) {
                Some(s) => format!(
                    "{id}: {:?}{} leader {:?} zxid {}",
                    s.state,
                    if s.serving { " serving" } else { "" },
                    s.leader,
                    s.last_zxid
                ),
                None => format!("{id}: down"),
            })
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// Polls `f` until it gives a value or `timeout` passes.
    async fn poll<T>(
        &self,
        timeout: Duration,
        what: &str,
        f: impl Fn(&Self) -> Option<T>,
    ) -> io::Result<T> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(v) = f(self) {
                return Ok(v);
            }
            if Instant::now() >= deadline {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("no {what} within {timeout:?}: {}", self.describe()),
                ));
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Waits until a leader serves with a quorum of voters (itself included) serving under
    /// it, and returns the leader's id.
    ///
    /// # Errors
    /// `TimedOut` after `timeout`, with every member's status in the message.
    ///
    /// # Cancel safety
    /// Cancel safe: it only looks.
    pub async fn ready(&self, timeout: Duration) -> io::Result<i64> {
        self.poll(timeout, "leader with a quorum", Self::quorum_leader)
            .await
    }

    /// Waits until every running member serves under one leader, and returns its id.
    ///
    /// # Errors
    /// `TimedOut` after `timeout`, with every member's status in the message.
    ///
    /// # Cancel safety
    /// Cancel safe: it only looks.
    pub async fn ready_all(&self, timeout: Duration) -> io::Result<i64> {
        self.poll(
            timeout,
            "leader serving every running member",
            Self::all_leader,
        )
        .await
    }

    /// Waits until member `id` serves clients.
    ///
    /// # Errors
    /// `TimedOut` after `timeout` (also when the member is not running).
    ///
    /// # Cancel safety
    /// Cancel safe: it only looks.
    pub async fn wait_serving(&self, id: i64, timeout: Duration) -> io::Result<()> {
        self.poll(timeout, &format!("member {id} serving"), |e| {
            e.status(id).filter(|s| s.serving).map(|_| ())
        })
        .await
    }

    /// Kills member `id`: what [`Server::kill`] does, the in-process counterpart of SIGKILL.
    /// Its tasks stop where they are and its connections are reset; its disk thread abandons
    /// what it had not started (buffered appends are never written, nothing more is synced);
    /// what it had already written to its files stays, as the OS keeps it after a process
    /// dies. It differs from SIGKILL in that the disk operation under way (an append batch,
    /// a snapshot) still completes before the kill returns. Returns once its ports are
    /// closed, so [`Ensemble::restart`] may follow at once.
    ///
    /// # Errors
    /// An unknown id, or a member that is not running.
    ///
    /// # Cancel safety
    /// Not cancel safe: see [`Server::kill`].
    pub async fn kill(&mut self, id: i64) -> io::Result<()> {
        let server = self.take_running(id)?;
        server.kill().await;
        Ok(())
    }

    /// Stops member `id` cleanly ([`Server::shutdown`]: connections closed, the disk's queue
    /// written and synced, ports closed).
    ///
    /// # Errors
    /// An unknown id, or a member that is not running.
    ///
    /// # Cancel safety
    /// Not cancel safe: see [`Server::shutdown`].
    pub async fn stop(&mut self, id: i64) -> io::Result<()> {
        let server = self.take_running(id)?;
        server.shutdown().await;
        Ok(())
    }

    fn take_running(&mut self, id: i64) -> io::Result<Server> {
        self.member_mut(id)?
            .server
            .take()
            .ok_or_else(|| io::Error::other(format!("member {id} is not running")))
    }

    /// Starts member `id` again, on its ports and data directory (it recovers what its disk
    /// holds and looks for the leader).
    ///
    /// # Errors
    /// An unknown id, a member already running, recovery failing, or one of its ports taken
    /// meanwhile (`AddrInUse`: the ports are fixed for the ensemble's life, as in every
    /// member's config).
    ///
    /// # Cancel safety
    /// Cancel safe as [`Server::start`]: dropped before it returns, the member stays down.
    pub async fn restart(&mut self, id: i64) -> io::Result<()> {
        let m = self.member(id)?;
        if m.server.is_some() {
            return Err(io::Error::other(format!("member {id} is already running")));
        }
        let server = Server::start(m.cfg.clone()).await?;
        if server.addr() != m.client {
            return Err(io::Error::other(format!(
                "member {id} serves on {} instead of {}",
                server.addr(),
                m.client
            )));
        }
        self.member_mut(id)?.server = Some(server);
        Ok(())
    }

    /// Deletes everything in a stopped member's data directory but its `myid`, as if its
    /// disk had been replaced: started again, it syncs from the leader by SNAP.
    ///
    /// # Errors
    /// An unknown id, a member that is running, or a file that cannot be removed.
    pub fn wipe(&mut self, id: i64) -> io::Result<()> {
        let m = self.member(id)?;
        if m.server.is_some() {
            return Err(io::Error::other(format!(
                "member {id} is running: stop or kill it before wiping its data"
            )));
        }
        let mut dirs = vec![m.cfg.data_dir.clone()];
        dirs.extend(m.cfg.data_log_dir.clone());
        for dir in dirs {
            for entry in std::fs::read_dir(&dir)? {
                let entry = entry?;
                if entry.file_name() == "myid" {
                    continue;
                }
                let path = entry.path();
                if entry.file_type()?.is_dir() {
                    std::fs::remove_dir_all(&path)?;
                } else {
                    std::fs::remove_file(&path)?;
                }
            }
        }
        Ok(())
    }

    /// Stops every running member cleanly, one after the other; the files stay, and members
    /// can be started again with [`Ensemble::restart`] (to read their files after a run).
    ///
    /// # Cancel safety
    /// Not cancel safe: members not yet stopped are killed when the ensemble is dropped.
    pub async fn stop_all(&mut self) {
        for m in self.members.values_mut() {
            if let Some(s) = m.server.take() {
                s.shutdown().await;
            }
        }
    }

    /// Stops every running member cleanly ([`Ensemble::stop_all`]), then removes the temp
    /// dir (a given base directory stays).
    ///
    /// # Cancel safety
    /// Not cancel safe: members not yet stopped are killed when the ensemble is dropped.
    pub async fn shutdown(mut self) {
        self.stop_all().await;
    }
}

impl Drop for Ensemble {
    /// Members still running are killed (their tasks told to stop, without waiting).
    fn drop(&mut self) {
        for m in self.members.values_mut() {
            if let Some(s) = m.server.take() {
                s.kill_now();
            }
        }
    }
}

fn unknown(id: i64) -> io::Error {
    io::Error::new(
        io::ErrorKind::NotFound,
        format!("no member {id} in this ensemble"),
    )
}
