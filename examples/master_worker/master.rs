//! A master: competes for `/master` with a [`LeaderLatch`]; the leader assigns tasks to live
//! workers and moves the assignments of dead workers back to `/tasks`.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use zk_client::{Client, CreateMode, Error, Version};
use zk_recipes::{ErrorPolicy, Fence, Framework, LeaderLatch};

use super::process::Process;
use super::{ensure, Config, Paths, Progress, Stats};

/// How long a leader waits for a watch before it looks again anyway.
const RECHECK: Duration = Duration::from_millis(500);

/// One master process: its session and its task.
#[derive(Debug)]
pub(crate) struct Master {
    id: String,
    process: Process,
    leader: Arc<AtomicBool>,
}

struct Ctx {
    client: Client,
    paths: Paths,
    id: String,
    stats: Arc<Stats>,
    progress: Progress,
    leader: Arc<AtomicBool>,
}

impl Master {
    /// Connects and joins the election.
    pub(crate) async fn start(
        hosts: &str,
        cfg: &Config,
        paths: &Paths,
        id: String,
        stats: Arc<Stats>,
        progress: Progress,
    ) -> anyhow::Result<Master> {
        let (client, proxy) = Process::connect(hosts, cfg).await?;
        let leader = Arc::new(AtomicBool::new(false));
        // The session error policy: a master keeps its leadership while its session lives,
        // through a disconnection (its zk-server member dying, the client moving to another).
        // Curator's default drops it on every suspension; the fence on the latch node is what
        // keeps a master that lost its session from moving tasks either way.
        let fw = Framework::builder()
            .error_policy(ErrorPolicy::Session)
            .build(client.clone());
        let latch = LeaderLatch::builder(fw, &paths.master())
            .id(id.clone())
            .start()
            .await?;
        let ctx = Ctx {
            client: client.clone(),
            paths: paths.clone(),
            id: id.clone(),
            stats,
            progress,
            leader: leader.clone(),
        };
        let task = tokio::spawn(async move { ctx.run(latch).await });
        Ok(Master {
            id,
            process: Process::new(client, proxy, task),
            leader,
        })
    }

    pub(crate) fn id(&self) -> &str {
        &self.id
    }

    pub(crate) fn is_leader(&self) -> bool {
        self.leader.load(Ordering::Relaxed)
    }

    pub(crate) fn is_alive(&self) -> bool {
        self.process.is_alive()
    }

    pub(crate) fn process(&self) -> &Process {
        &self.process
    }

    /// Kills the master mid-step. In [`KillMode::Crash`](super::KillMode::Crash) its connection goes silent, so its latch
    /// node goes only when the server expires its session; in [`KillMode::Close`](super::KillMode::Close) it closes its
    /// session and the node goes at once. Either way a backup takes over.
    pub(crate) async fn kill(&mut self) {
        self.process.kill().await;
        self.leader.store(false, Ordering::Relaxed);
    }

    /// Stops it at the end of the run: a clean exit, unless it was killed already.
    pub(crate) async fn stop(&mut self) {
        self.process.stop().await;
    }
}

impl Ctx {
    async fn run(self, latch: LeaderLatch) {
        let mut leadership = latch.leadership();
        loop {
            while !*leadership.borrow_and_update() {
                if leadership.changed().await.is_err() {
                    return;
                }
            }
            if self.stats.stopping.load(Ordering::SeqCst) {
                return;
            }
            self.leader.store(true, Ordering::Relaxed);
            Stats::add(&self.stats.leaderships);
            *self.stats.leader.lock().unwrap_or_else(|e| e.into_inner()) = self.id.clone();
            let killed_at = *self
                .stats
                .master_killed_at
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            let after_kill = killed_at.map(|t| t.elapsed());
            if let Some(t) = after_kill {
                let mut slot = self
                    .stats
                    .failover_time
                    .lock()
                    .unwrap_or_else(|e| e.into_inner());
                slot.get_or_insert(t);
            }
            let _ = self
                .client
                .set_data(&self.paths.master(), self.id.as_bytes(), Version::Any)
                .await;
            let when = after_kill
                .map(|t| format!(", {:.2} s after the kill", t.as_secs_f64()))
                .unwrap_or_default();
            self.stats.event(
                &self.progress,
                format!(
                    "{} is the leader and wrote its id to {}{when}",
                    self.id,
                    self.paths.master()
                ),
            );
            while *leadership.borrow() {
                let fence = latch.fence();
                let watches = self.reconcile(fence.as_ref()).await;
                let (workers, tasks) = match watches {
                    Ok(w) => w,
                    Err(_) => {
                        tokio::time::sleep(RECHECK).await;
                        continue;
                    }
                };
                tokio::select! {
                    _ = workers => {}
                    _ = tasks => {}
                    _ = leadership.changed() => {}
                    _ = tokio::time::sleep(RECHECK) => {}
                }
            }
            self.leader.store(false, Ordering::Relaxed);
        }
    }

    /// One pass of the leader: recover dead workers' tasks, assign every pending task. Returns
    /// the watches on `/workers` and `/tasks` set on the way.
    async fn reconcile(
        &self,
        fence: Option<&Fence>,
    ) -> Result<(zk_client::OneshotWatch, zk_client::OneshotWatch), Error> {
        let p = &self.paths;
        let (workers, _, workers_watch) = self.client.get_children_and_watch(&p.workers()).await?;
        for owner in self.client.get_children(&p.assign()).await? {
            if !workers.contains(&owner) {
                self.recover(&owner, fence).await?;
            }
        }
        let (mut tasks, _, tasks_watch) = self.client.get_children_and_watch(&p.tasks()).await?;
        if workers.is_empty() || tasks.is_empty() {
            return Ok((workers_watch, tasks_watch));
        }
        let mut load = BTreeMap::new();
        for w in &workers {
            ensure(&self.client, &p.assign_of(w)).await?;
            let queued = match self.client.get_children(&p.assign_of(w)).await {
                Ok(c) => c.len(),
                Err(Error::NoNode) => continue,
                Err(e) => return Err(e),
            };
            load.insert(w.clone(), queued);
        }
        tasks.sort();
        for t in tasks {
            let Some(w) = load.iter().min_by_key(|(_, n)| **n).map(|(w, _)| w.clone()) else {
                break;
            };
            let data = match self.client.get_data(&p.task(&t)).await {
                Ok((d, _)) => d,
                Err(Error::NoNode) => continue,
                Err(e) => return Err(e),
            };
            if self
                .move_task(&p.task(&t), &p.assignment(&w, &t), &data, fence)
                .await?
            {
                Stats::add(&self.stats.assigned);
                *load.entry(w).or_default() += 1;
            }
        }
        Ok((workers_watch, tasks_watch))
    }

    /// Moves the assignments of a worker whose znode is gone back to `/tasks`.
    async fn recover(&self, owner: &str, fence: Option<&Fence>) -> Result<(), Error> {
        let p = &self.paths;
        let tasks = match self.client.get_children(&p.assign_of(owner)).await {
            Ok(t) => t,
            Err(Error::NoNode) => return Ok(()),
            Err(e) => return Err(e),
        };
        let mut moved = 0;
        for t in &tasks {
            let data = match self.client.get_data(&p.assignment(owner, t)).await {
                Ok((d, _)) => d,
                Err(Error::NoNode) => continue,
                Err(e) => return Err(e),
            };
            if self
                .move_task(&p.assignment(owner, t), &p.task(t), &data, fence)
                .await?
            {
                Stats::add(&self.stats.reassignments);
                moved += 1;
            }
        }
        // Someone may still write under it (a slow master): then it stays for the next pass.
        let _ = self.client.delete(&p.assign_of(owner), Version::Any).await;
        if moved > 0 {
            let killed_at = *self
                .stats
                .worker_killed_at
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            let when = killed_at
                .map(|t| format!(", {:.2} s after the kill", t.elapsed().as_secs_f64()))
                .unwrap_or_default();
            self.stats.event(
                &self.progress,
                format!(
                    "{} moved {moved} task(s) of dead {owner} back to /tasks{when}",
                    self.id
                ),
            );
        }
        Ok(())
    }

    /// Moves a task node from `from` to `to` in one transaction, fenced by the leadership.
    /// Returns false when the move lost a race (the task moved already, or leadership is gone).
    async fn move_task(
        &self,
        from: &str,
        to: &str,
        data: &[u8],
        fence: Option<&Fence>,
    ) -> Result<bool, Error> {
        let mut multi = self.client.multi();
        if let Some(f) = fence {
            multi = f.check(multi);
        }
        let result = multi
            .create(to, data, CreateMode::Persistent)
            .delete(from, Version::Any)
            .commit()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(Error::MultiFailed { .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }
}
