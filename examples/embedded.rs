//! Where the examples run: an embedded zk-server started in-process on a free loopback port, or
//! any ZooKeeper-compatible ensemble given with `--connect HOSTS`.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

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

/// The ensemble an example talks to. Stop it with [`Ensemble::shutdown`].
#[derive(Debug)]
pub struct Ensemble {
    server: Option<Server>,
    connect: String,
    /// The embedded server's data directory, removed at shutdown.
    data_dir: Option<PathBuf>,
}

impl Ensemble {
    /// Connects to `hosts` when given; otherwise starts a zk-server in this process on
    /// 127.0.0.1 and an ephemeral port.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future drops a server being started.
    pub async fn start_or_connect(hosts: Option<&str>) -> anyhow::Result<Ensemble> {
        if let Some(hosts) = hosts {
            return Ok(Ensemble {
                server: None,
                connect: hosts.to_owned(),
                data_dir: None,
            });
        }
        // zk-server recovers whatever its data directory holds, so every embedded server gets a
        // new, empty one (several may run in one process, as in the tests).
        static STARTED: AtomicU64 = AtomicU64::new(0);
        let n = STARTED.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("zk-examples-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let mut cfg = ServerConfig::for_tests(dir.clone());
        // Sessions between 1 s and 10 s: a dead client's ephemerals go within seconds.
        cfg.tick_time_ms = 500;
        let server = Server::start(cfg).await?;
        let connect = server.addr().to_string();
        Ok(Ensemble {
            server: Some(server),
            connect,
            data_dir: Some(dir),
        })
    }

    /// The connect string for clients.
    pub fn connect_string(&self) -> &str {
        &self.connect
    }

    /// True when the server runs in this process.
    pub fn is_embedded(&self) -> bool {
        self.server.is_some()
    }

    /// Stops the embedded server, if any.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future still stops the server, maybe before it finished.
    pub async fn shutdown(self) {
        if let Some(server) = self.server {
            server.shutdown().await;
        }
        if let Some(dir) = self.data_dir {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}
