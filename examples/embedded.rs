//! Where the examples run: zk-server started in-process on free loopback ports (one standalone
//! server, or an ensemble of members), or any ZooKeeper-compatible ensemble given with
//! `--connect HOSTS`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::Context;
use zk_server::quorum::ServerState;
use zk_server::{Server, ServerConfig};

/// The recipe examples' one option, `--connect HOSTS` (each example flattens it into its own
/// `clap` parser, which adds `--help`).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ConnectArg {
    /// The ensemble to use (`host:port[,host:port...][/chroot]`); without it, an embedded
    /// zk-server on a loopback port.
    #[arg(long, value_name = "HOSTS")]
    pub connect: Option<String>,
}

/// The tick of embedded servers: sessions between 1 s and 10 s (2 and 20 ticks), so a dead
/// client's ephemerals go within seconds.
const TICK_MS: u64 = 500;
/// How long an embedded ensemble may take to elect its first leader and sync every member.
const READY: Duration = Duration::from_secs(30);

/// The ensemble an example talks to. Stop it with [`Ensemble::shutdown`].
#[derive(Debug)]
pub struct Ensemble {
    backend: Backend,
    connect: String,
}

#[derive(Debug)]
enum Backend {
    /// `--connect`: nothing runs here.
    External,
    /// One standalone zk-server and its data directory, removed at shutdown.
    Single { server: Server, data_dir: PathBuf },
    /// An in-process ensemble of zk-server members (its temp dir goes with it).
    Members(zk_server::embedded::Ensemble),
}

impl Ensemble {
    /// Connects to `hosts` when given; otherwise starts one standalone zk-server in this
    /// process on 127.0.0.1 and an ephemeral port.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future drops a server being started.
    pub async fn start_or_connect(hosts: Option<&str>) -> anyhow::Result<Ensemble> {
        Ensemble::start(hosts, 1).await
    }

    /// Connects to `hosts` when given; otherwise starts `members` zk-servers in this process
    /// on loopback: one standalone server for 1, an ensemble of that many voting members
    /// otherwise (returned once a leader serves every member).
    ///
    /// # Errors
    /// `members` is 0, or a server does not start or elect within 30 s.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future drops the servers being started.
    pub async fn start(hosts: Option<&str>, members: usize) -> anyhow::Result<Ensemble> {
        if let Some(hosts) = hosts {
            return Ok(Ensemble {
                backend: Backend::External,
                connect: hosts.to_owned(),
            });
        }
        anyhow::ensure!(
            members > 0,
            "an embedded ensemble needs at least one member"
        );
        if members == 1 {
            // zk-server recovers whatever its data directory holds, so every embedded server
            // gets a new, empty one (several may run in one process, as in the tests).
            static STARTED: AtomicU64 = AtomicU64::new(0);
            let n = STARTED.fetch_add(1, Ordering::Relaxed);
            let dir = std::env::temp_dir().join(format!("zk-examples-{}-{n}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            let mut cfg = ServerConfig::for_tests(dir.clone());
            cfg.tick_time_ms = TICK_MS;
            let server = Server::start(cfg).await?;
            let connect = server.addr().to_string();
            return Ok(Ensemble {
                backend: Backend::Single {
                    server,
                    data_dir: dir,
                },
                connect,
            });
        }
        let ensemble = zk_server::embedded::Ensemble::builder()
            .voters(members)
            .tick_time_ms(TICK_MS)
            .start()
            .await
            .context("start the embedded ensemble")?;
        ensemble
            .ready_all(READY)
            .await
            .context("the embedded ensemble elects a leader")?;
        let connect = ensemble.connect_string();
        Ok(Ensemble {
            backend: Backend::Members(ensemble),
            connect,
        })
    }

    /// The connect string for clients.
    pub fn connect_string(&self) -> &str {
        &self.connect
    }

    /// True when the server (or every member) runs in this process.
    pub fn is_embedded(&self) -> bool {
        !matches!(self.backend, Backend::External)
    }

    /// How many members run in this process (0 for `--connect`).
    pub fn members(&self) -> usize {
        match &self.backend {
            Backend::External => 0,
            Backend::Single { .. } => 1,
            Backend::Members(e) => e.ids().len(),
        }
    }

    fn members_mut(&mut self) -> anyhow::Result<&mut zk_server::embedded::Ensemble> {
        match &mut self.backend {
            Backend::Members(e) => Ok(e),
            _ => anyhow::bail!("not an embedded ensemble of several members"),
        }
    }

    /// The embedded member whose client address is `addr`.
    pub fn member_at(&self, addr: SocketAddr) -> Option<i64> {
        match &self.backend {
            Backend::Members(e) => e.ids().into_iter().find(|id| e.client_addr(*id) == addr),
            _ => None,
        }
    }

    /// An embedded member's client address.
    pub fn client_addr(&self, id: i64) -> Option<SocketAddr> {
        match &self.backend {
            Backend::Members(e) if e.ids().contains(&id) => Some(e.client_addr(id)),
            _ => None,
        }
    }

    /// An embedded member's role now: `leader`, `follower`, `observer`, `looking`, or
    /// `down`.
    pub fn role(&self, id: i64) -> &'static str {
        let Backend::Members(e) = &self.backend else {
            return "down";
        };
        match e.status(id) {
            None => "down",
            Some(s) if !s.serving => "looking",
            Some(s) => match s.state {
                ServerState::Leading => "leader",
                ServerState::Following => "follower",
                ServerState::Observing => "observer",
                ServerState::Looking => "looking",
            },
        }
    }

    /// Whether an embedded member serves clients now.
    pub fn is_serving(&self, id: i64) -> bool {
        match &self.backend {
            Backend::Members(e) => e.status(id).is_some_and(|s| s.serving),
            _ => false,
        }
    }

    /// Kills an embedded member as a crash would (its connections are reset, nothing more
    /// reaches its disk).
    pub async fn kill_member(&mut self, id: i64) -> anyhow::Result<()> {
        Ok(self.members_mut()?.kill(id).await?)
    }

    /// Starts a killed member again on its ports and data directory: it recovers its files
    /// and syncs with the leader.
    pub async fn restart_member(&mut self, id: i64) -> anyhow::Result<()> {
        Ok(self.members_mut()?.restart(id).await?)
    }

    /// Stops what runs in this process, if anything.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future still stops the servers, maybe before they finished.
    pub async fn shutdown(self) {
        match self.backend {
            Backend::External => {}
            Backend::Single { server, data_dir } => {
                server.shutdown().await;
                let _ = std::fs::remove_dir_all(data_dir);
            }
            Backend::Members(e) => e.shutdown().await,
        }
    }
}
