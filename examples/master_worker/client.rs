//! The application's client: submits tasks as sequential znodes and waits for their statuses.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use futures::stream::{FuturesUnordered, StreamExt};
use zk_client::{Client, CreateMode, Error};

use super::{connect, Config, Paths, Progress, Stats};

/// The submitting client: its own session.
#[derive(Debug)]
pub(crate) struct Submitter {
    client: Client,
    paths: Paths,
    stats: Arc<Stats>,
}

impl Submitter {
    pub(crate) async fn connect(
        hosts: &str,
        cfg: &Config,
        paths: &Paths,
        stats: Arc<Stats>,
    ) -> anyhow::Result<Submitter> {
        Ok(Submitter {
            client: connect(hosts, cfg.session_timeout).await?,
            paths: paths.clone(),
            stats,
        })
    }

    /// Creates `count` tasks `/tasks/task-NNNNNNNNNN`, each holding a number for the job, and
    /// returns their names.
    pub(crate) async fn submit(&self, count: usize) -> anyhow::Result<Vec<String>> {
        // Pipelined: every create is queued before the first reply is awaited.
        let creates: Vec<_> = (0..count)
            .map(|i| {
                let n = 1_000 + (i as u64) * 7_919 % 100_000;
                self.client.create(
                    &format!("{}/task-", self.paths.tasks()),
                    n.to_string().as_bytes(),
                    CreateMode::PersistentSequential,
                )
            })
            .collect();
        let mut names = Vec::with_capacity(count);
        for c in creates {
            let (path, _) = c.await?;
            let name = path.rsplit('/').next().unwrap_or_default().to_owned();
            names.push(name);
            self.stats.submitted.fetch_add(1, Ordering::Relaxed);
        }
        Ok(names)
    }

    /// Waits until every task has a status; returns how many it saw.
    pub(crate) async fn wait_all(
        &self,
        names: &[String],
        _progress: &Progress,
    ) -> anyhow::Result<usize> {
        let mut waits: FuturesUnordered<_> = names
            .iter()
            .map(|t| self.wait_one(self.paths.status_of(t)))
            .collect();
        let mut seen = 0;
        while let Some(r) = waits.next().await {
            r?;
            seen += 1;
            Stats::add(&self.stats.completions);
        }
        Ok(seen)
    }

    /// Waits for one status node, with an exists watch (re-checked now and then). A lost
    /// connection (the member it used died) is retried on the next one.
    async fn wait_one(&self, status: String) -> Result<(), Error> {
        loop {
            let (stat, watch) = match self.client.exists_and_watch(&status).await {
                Ok(x) => x,
                Err(e) if e.is_terminal() => return Err(e),
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            if stat.is_some() {
                return Ok(());
            }
            tokio::select! {
                _ = watch => {}
                _ = tokio::time::sleep(Duration::from_secs(2)) => {}
            }
        }
    }

    /// The server its session is connected to now.
    pub(crate) fn server(&self) -> Option<std::net::SocketAddr> {
        self.client.connected_server()
    }

    /// Its session.
    pub(crate) fn session_id(&self) -> zk_core::SessionId {
        self.client.session_id()
    }

    pub(crate) async fn close(&self) {
        let _ = self.client.close().await;
    }
}
