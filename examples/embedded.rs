//! Where the examples run: an embedded zk-server started in-process on a free loopback port, or
//! any ZooKeeper-compatible ensemble given with `--connect HOSTS`.

use zk_server::{Server, ServerConfig};

/// The value of `--connect HOSTS` on the command line, if given (the recipe examples take only
/// that option).
pub fn connect_arg() -> anyhow::Result<Option<String>> {
    let mut args = std::env::args().skip(1);
    let mut connect = None;
    while let Some(a) = args.next() {
        match a.as_str() {
            "--connect" => {
                connect = Some(
                    args.next()
                        .ok_or_else(|| anyhow::anyhow!("--connect needs HOSTS"))?,
                )
            }
            other => anyhow::bail!("unknown argument {other}; usage: [--connect HOSTS]"),
        }
    }
    Ok(connect)
}

/// The ensemble an example talks to. Stop it with [`Ensemble::shutdown`].
#[derive(Debug)]
pub struct Ensemble {
    server: Option<Server>,
    connect: String,
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
            });
        }
        let dir = std::env::temp_dir().join(format!("zk-examples-{}", std::process::id()));
        let mut cfg = ServerConfig::for_tests(dir);
        // Sessions between 1 s and 10 s: a dead client's ephemerals go within seconds.
        cfg.tick_time_ms = 500;
        let server = Server::start(cfg).await?;
        let connect = server.addr().to_string();
        Ok(Ensemble {
            server: Some(server),
            connect,
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
    }
}
