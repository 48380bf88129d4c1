//! A worker: registers under `/workers`, watches `/assign/<worker>`, runs each task, and reports
//! with one transaction (create the status, delete the assignment).

use std::sync::Arc;
use std::time::Duration;

use zk_client::{Client, CreateMode, Error, Version};

use super::process::Process;
use super::{ensure, job, Config, Paths, Progress, Stats};

/// How long a worker waits for its watch before it looks again anyway.
const RECHECK: Duration = Duration::from_secs(1);

/// One worker process: its session and its task.
#[derive(Debug)]
pub(crate) struct Worker {
    id: String,
    process: Process,
}

struct Ctx {
    client: Client,
    paths: Paths,
    id: String,
    stats: Arc<Stats>,
    work: Duration,
}

/// What happened to one finished task.
#[derive(Debug, PartialEq, Eq)]
enum Report {
    /// The status was written: the task is complete.
    Completed,
    /// A status existed already (a previous run); this run was dropped.
    Duplicate,
    /// The assignment was moved away meanwhile; nothing was written.
    Moved,
}

impl Worker {
    /// Connects, registers `/workers/<id>` (ephemeral) and `/assign/<id>`, and starts working.
    pub(crate) async fn start(
        hosts: &str,
        cfg: &Config,
        paths: &Paths,
        id: String,
        stats: Arc<Stats>,
        _progress: Progress,
    ) -> anyhow::Result<Worker> {
        let (client, proxy) = Process::connect(hosts, cfg).await?;
        // The ephemeral node first: a master treats an /assign/<w> without /workers/<w> as a
        // dead worker's.
        client
            .create(&paths.worker(&id), b"idle", CreateMode::Ephemeral)
            .await?;
        ensure(&client, &paths.assign_of(&id)).await?;
        let ctx = Ctx {
            client: client.clone(),
            paths: paths.clone(),
            id: id.clone(),
            stats,
            work: cfg.job,
        };
        let task = tokio::spawn(async move { ctx.run().await });
        Ok(Worker {
            id,
            process: Process::new(client, proxy, task),
        })
    }

    pub(crate) fn id(&self) -> &str {
        &self.id
    }

    pub(crate) fn is_alive(&self) -> bool {
        self.process.is_alive()
    }

    pub(crate) fn process(&self) -> &Process {
        &self.process
    }

    /// Kills the worker mid-task. In [`KillMode::Crash`](super::KillMode::Crash) its connection goes silent and the
    /// server expires its session later; in [`KillMode::Close`](super::KillMode::Close) it closes its session.
    pub(crate) async fn kill(&mut self) {
        self.process.kill().await;
    }

    /// Stops it at the end of the run: a clean exit, unless it was killed already.
    pub(crate) async fn stop(&mut self) {
        self.process.stop().await;
    }
}

impl Ctx {
    async fn run(self) {
        let mine = self.paths.assign_of(&self.id);
        loop {
            let (mut tasks, _, watch) = match self.client.get_children_and_watch(&mine).await {
                Ok(x) => x,
                Err(e) if e.is_terminal() => return,
                Err(_) => {
                    tokio::time::sleep(RECHECK).await;
                    continue;
                }
            };
            tasks.sort();
            for t in tasks {
                match self.work_on(&t).await {
                    Ok(Some(Report::Completed)) => Stats::add(&self.stats.reported),
                    Ok(Some(Report::Duplicate)) => Stats::add(&self.stats.duplicates),
                    Ok(Some(Report::Moved)) | Ok(None) => {}
                    Err(e) if e.is_terminal() => return,
                    Err(_) => break,
                }
            }
            tokio::select! {
                _ = watch => {}
                _ = tokio::time::sleep(RECHECK) => {}
            }
        }
    }

    /// Runs one assigned task and reports it. `None` when the assignment was gone already.
    async fn work_on(&self, task: &str) -> Result<Option<Report>, Error> {
        let assignment = self.paths.assignment(&self.id, task);
        let data = match self.client.get_data(&assignment).await {
            Ok((d, _)) => d,
            Err(Error::NoNode) => return Ok(None),
            Err(e) => return Err(e),
        };
        let n: u64 = String::from_utf8_lossy(&data).trim().parse().unwrap_or(1);
        let steps = job(n, self.work).await;
        Stats::add(&self.stats.executions);
        let status = format!("done by {}: collatz({n}) = {steps} steps", self.id);
        let result = self
            .client
            .multi()
            .create(
                &self.paths.status_of(task),
                status.as_bytes(),
                CreateMode::Persistent,
            )
            .delete(&assignment, Version::Any)
            .commit()
            .await;
        match result {
            Ok(_) => Ok(Some(Report::Completed)),
            Err(Error::MultiFailed { index: 0, source }) if *source == Error::NodeExists => {
                // Completed before, by a run whose report we never saw: drop ours.
                match self.client.delete(&assignment, Version::Any).await {
                    Ok(()) | Err(Error::NoNode) => Ok(Some(Report::Duplicate)),
                    Err(e) => Err(e),
                }
            }
            Err(Error::MultiFailed { .. }) => Ok(Some(Report::Moved)),
            Err(e) => Err(e),
        }
    }
}
