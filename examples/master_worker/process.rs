//! What a master and a worker share: a session, reached directly or through a proxy that a
//! crash silences, and the task running on it; killing it as a crash or a clean exit, and
//! stopping it at the end of the run.

use tokio::task::JoinHandle;
use zk_client::Client;

use super::proxy::Proxy;
use super::{connect, Config, KillMode};

/// One simulated process: its session, its proxy (crash mode) and its task.
#[derive(Debug)]
pub(crate) struct Process {
    client: Client,
    proxy: Option<Proxy>,
    task: Option<JoinHandle<()>>,
}

impl Process {
    /// Opens the session as `cfg.kill_mode` asks: through a proxy of its own in crash mode (so
    /// a kill can make the connection go silent), directly otherwise.
    pub(crate) async fn connect(
        hosts: &str,
        cfg: &Config,
    ) -> anyhow::Result<(Client, Option<Proxy>)> {
        let proxy = match cfg.kill_mode {
            KillMode::Crash => Some(Proxy::start(hosts).await?),
            KillMode::Close => None,
        };
        let via = proxy.as_ref().map_or(hosts, |p| p.connect_string());
        let client = connect(via, cfg.session_timeout).await?;
        Ok((client, proxy))
    }

    /// A process running `task` on `client`.
    pub(crate) fn new(client: Client, proxy: Option<Proxy>, task: JoinHandle<()>) -> Process {
        Process {
            client,
            proxy,
            task: Some(task),
        }
    }

    /// The server its session is connected to now (through its proxy, if any); `None` while
    /// it reconnects, and once it is killed or stopped.
    pub(crate) fn server(&self) -> Option<std::net::SocketAddr> {
        if !self.is_alive() {
            return None;
        }
        let direct = self.client.connected_server()?;
        match &self.proxy {
            Some(p) => p.upstream(),
            None => Some(direct),
        }
    }

    /// Its session.
    pub(crate) fn session_id(&self) -> zk_core::SessionId {
        self.client.session_id()
    }

    /// True until it is killed or stopped.
    pub(crate) fn is_alive(&self) -> bool {
        self.task.is_some()
    }

    /// Kills it mid-step. In [`KillMode::Crash`] its connection goes silent, so its ephemeral
    /// nodes go only when the server expires its session; in [`KillMode::Close`] it closes its
    /// session and they go at once.
    pub(crate) async fn kill(&mut self) {
        // The connection goes first: nothing the dying task drops (a latch's node delete) may
        // reach the server, as nothing would from a crashed process.
        if let Some(p) = &self.proxy {
            p.crash().await;
        }
        if let Some(t) = self.task.take() {
            t.abort();
            let _ = t.await;
        }
        if self.proxy.is_none() {
            let _ = self.client.close().await;
        }
    }

    /// Stops it at the end of the run: a clean exit, unless it was killed already.
    pub(crate) async fn stop(&mut self) {
        if let Some(t) = self.task.take() {
            t.abort();
            let _ = t.await;
            let _ = self.client.close().await;
        }
    }
}
