//! The master-worker system of the ZooKeeper book (Junqueira and Reed, chapter 4), with
//! failures injected part-way through.
//!
//! # Znode layout (under [`Config::root`], `/` by default)
//!
//! | path | kind | who writes it |
//! |---|---|---|
//! | `/master` | container; its data is the leader's id | masters ([`zk_recipes::LeaderLatch`] on `/master`) |
//! | `/workers/<worker>` | ephemeral | each worker, while alive |
//! | `/assign/<worker>/<task>` | persistent, data = the task | the leading master |
//! | `/tasks/task-NNNNNNNNNN` | persistent sequential, data = the task | the client; the master moves it |
//! | `/status/task-NNNNNNNNNN` | persistent, data = the result | the worker that finished it |
//!
//! # Why every task completes exactly once
//!
//! - The master moves a task with one multi: (fence check, create `/assign/w/t`, delete
//!   `/tasks/t`). The fence is a check on the master's latch node, so a master that lost its
//!   leadership cannot move anything: a task is in `/tasks` or in one worker's assignments, never
//!   both, never lost.
//! - When a worker's ephemeral node disappears, the master moves each of its assignments back to
//!   `/tasks` with the same kind of multi, and assigns them again.
//! - A worker finishes a task with one multi: (create `/status/t`, delete `/assign/w/t`). The
//!   create is create-if-absent: if a status exists (the task ran twice, because a worker died
//!   between running it and reporting), the second run is dropped and counted as a duplicate,
//!   never as a completion. If the assignment was moved away, nothing is written.
//!
//! So completions == tasks, and every task has exactly one status, whatever is killed when.

mod client;
mod config;
mod master;
mod member;
mod process;
mod progress;
mod proxy;
mod stats;
mod worker;

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use zk_client::{Client, CreateMode, Error, Version};

pub use config::{Config, KillMode};
pub use progress::Progress;
pub use stats::{MemberFailover, Stats, Summary};

/// The paths of the layout under one root.
#[derive(Debug, Clone)]
pub(crate) struct Paths {
    root: String,
}

impl Paths {
    fn new(root: &str) -> Paths {
        Paths {
            root: root.trim_end_matches('/').to_owned(),
        }
    }

    pub(crate) fn master(&self) -> String {
        format!("{}/master", self.root)
    }
    pub(crate) fn workers(&self) -> String {
        format!("{}/workers", self.root)
    }
    pub(crate) fn worker(&self, w: &str) -> String {
        format!("{}/workers/{w}", self.root)
    }
    pub(crate) fn assign(&self) -> String {
        format!("{}/assign", self.root)
    }
    pub(crate) fn assign_of(&self, w: &str) -> String {
        format!("{}/assign/{w}", self.root)
    }
    pub(crate) fn assignment(&self, w: &str, t: &str) -> String {
        format!("{}/assign/{w}/{t}", self.root)
    }
    pub(crate) fn tasks(&self) -> String {
        format!("{}/tasks", self.root)
    }
    pub(crate) fn task(&self, t: &str) -> String {
        format!("{}/tasks/{t}", self.root)
    }
    pub(crate) fn status(&self) -> String {
        format!("{}/status", self.root)
    }
    pub(crate) fn status_of(&self, t: &str) -> String {
        format!("{}/status/{t}", self.root)
    }
}

/// Creates `path` if absent.
pub(crate) async fn ensure(client: &Client, path: &str) -> Result<(), Error> {
    match client.create(path, b"", CreateMode::Persistent).await {
        Ok(_) | Err(Error::NodeExists) => Ok(()),
        Err(e) => Err(e),
    }
}

/// Deletes `path` and everything under it; absent is fine.
pub(crate) async fn remove_tree(client: &Client, path: &str) -> Result<(), Error> {
    let mut order = vec![path.to_owned()];
    let mut i = 0;
    while i < order.len() {
        match client.get_children(&order[i]).await {
            Ok(children) => {
                let parent = order[i].clone();
                order.extend(children.iter().map(|c| format!("{parent}/{c}")));
            }
            Err(Error::NoNode) => {}
            Err(e) => return Err(e),
        }
        i += 1;
    }
    for p in order.iter().rev() {
        match client.delete(p, Version::Any).await {
            Ok(()) | Err(Error::NoNode) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Connects a new client (one session per master, worker and the submitting client, as
/// separate processes would have).
pub(crate) async fn connect(hosts: &str, session_timeout: Duration) -> anyhow::Result<Client> {
    Client::builder()
        .session_timeout(session_timeout)
        .connect(hosts)
        .await
        .with_context(|| format!("connect to {hosts}"))
}

/// Runs the whole system once and returns its summary.
///
/// Starts an embedded ensemble of `cfg.members` zk-servers unless `cfg.connect` is set,
/// creates the layout (removing what a previous run left under the same root), starts the
/// masters and workers, submits the tasks, and once `cfg.kill_after` of the tasks completed
/// kills the active master, `cfg.kill_workers` workers and (`cfg.kill_member`, 3 or more
/// members) the zk-server member the client is connected to; once every session on that
/// member moved to another, starts it again. Then it waits for every status, checks them,
/// and stops everything it started.
///
/// # Cancel safety
///
/// Dropping the future aborts the run: the tasks it spawned stop with their sessions and the
/// embedded servers stop; nodes it created on an external ensemble stay.
pub async fn run(cfg: &Config) -> anyhow::Result<Summary> {
    anyhow::ensure!(cfg.tasks > 0, "--tasks must be at least 1");
    anyhow::ensure!(cfg.masters > 0, "--masters must be at least 1");
    anyhow::ensure!(
        !cfg.kill_master || cfg.masters > 1,
        "killing the master needs a backup: use --masters 2 or more, or --no-kill-master"
    );
    anyhow::ensure!(
        cfg.workers > cfg.kill_workers,
        "--workers must be more than the workers killed ({})",
        cfg.kill_workers
    );
    anyhow::ensure!(
        cfg.connect.is_some() || cfg.members != 2 || !cfg.kill_member,
        "a 2-member ensemble loses its quorum with a member: use --members 3 or more, or \
         --no-kill-member"
    );
    let mut ensemble =
        crate::embedded::Ensemble::start(cfg.connect.as_deref(), cfg.members).await?;
    let result = tokio::time::timeout(cfg.deadline, run_on(cfg, &mut ensemble)).await;
    ensemble.shutdown().await;
    result.map_err(|_| anyhow::anyhow!("the run did not finish within {:?}", cfg.deadline))?
}

/// How long the member failover and rejoin may take once the tasks are all done.
const MEMBER_WAIT: Duration = Duration::from_secs(30);

async fn run_on(cfg: &Config, ensemble: &mut crate::embedded::Ensemble) -> anyhow::Result<Summary> {
    let started = Instant::now();
    let hosts_owned = ensemble.connect_string().to_owned();
    let hosts = hosts_owned.as_str();
    let described = match ensemble.members() {
        0 => hosts.to_owned(),
        1 => "an embedded zk-server".to_owned(),
        n => format!("an embedded {n}-member zk-server ensemble"),
    };
    let kill_member = cfg.kill_member && ensemble.members() >= 3;
    let paths = Paths::new(&cfg.root);
    let progress = Progress::new(cfg.progress, cfg.tasks);
    let stats = Arc::new(Stats::default());

    let admin = connect(hosts, cfg.session_timeout).await?;
    if cfg.root != "/" {
        ensure(&admin, paths.root.as_str()).await?;
    }
    for p in [
        paths.tasks(),
        paths.status(),
        paths.assign(),
        paths.workers(),
        paths.master(),
    ] {
        remove_tree(&admin, &p).await?;
    }
    for p in [
        paths.tasks(),
        paths.status(),
        paths.assign(),
        paths.workers(),
    ] {
        ensure(&admin, &p).await?;
    }

    let mut masters = Vec::new();
    for i in 1..=cfg.masters {
        let id = format!("master-{i}");
        masters.push(
            master::Master::start(hosts, cfg, &paths, id, stats.clone(), progress.clone()).await?,
        );
    }
    let mut workers = Vec::new();
    for i in 1..=cfg.workers {
        let id = format!("worker-{i}");
        workers.push(
            worker::Worker::start(hosts, cfg, &paths, id, stats.clone(), progress.clone()).await?,
        );
    }

    let submitter = client::Submitter::connect(hosts, cfg, &paths, stats.clone()).await?;
    let names = submitter.submit(cfg.tasks).await?;
    progress.line(&format!(
        "submitted {} tasks to {} workers under {} masters",
        names.len(),
        cfg.workers,
        cfg.masters
    ));

    // The chaos: once enough tasks completed, kill the active master and some workers.
    let kill_at = ((cfg.tasks as f64) * cfg.kill_after).ceil() as usize;
    let mut masters_killed = 0;
    let mut workers_killed = 0;
    let mut member: Option<member::MemberKill> = None;
    let waiting = submitter.wait_all(&names, &progress);
    tokio::pin!(waiting);
    let confirmed: usize = loop {
        tokio::select! {
            done = &mut waiting => break done?,
            _ = tokio::time::sleep(Duration::from_millis(20)) => {}
        }
        progress.update(&stats);
        let completed = stats.completions.load(Ordering::Relaxed);
        let due = completed >= kill_at;
        if due && cfg.kill_master && masters_killed == 0 {
            if let Some(m) = masters.iter_mut().find(|m| m.is_leader() && m.is_alive()) {
                let id = m.id().to_owned();
                *stats
                    .master_killed_at
                    .lock()
                    .unwrap_or_else(|e| e.into_inner()) = Some(Instant::now());
                m.kill().await;
                masters_killed += 1;
                stats.event(
                    &progress,
                    format!("killed the active master {id} after {completed} completions"),
                );
            }
        }
        if due && workers_killed < cfg.kill_workers {
            // Kill the worker with the most work queued, so its tasks must move.
            let mut best: Option<(usize, usize)> = None;
            for (i, w) in workers.iter().enumerate().filter(|(_, w)| w.is_alive()) {
                let queued = admin
                    .get_children(&paths.assign_of(w.id()))
                    .await
                    .map(|c| c.len())
                    .unwrap_or(0);
                if best.is_none_or(|(_, q)| queued > q) {
                    best = Some((i, queued));
                }
            }
            if let Some((i, queued)) = best {
                let id = workers[i].id().to_owned();
                *stats
                    .worker_killed_at
                    .lock()
                    .unwrap_or_else(|e| e.into_inner()) = Some(Instant::now());
                workers[i].kill().await;
                workers_killed += 1;
                stats.event(
                    &progress,
                    format!("killed {id} with {queued} task(s) assigned"),
                );
            }
        }
        // Last, the zk-server member under the client (and whichever masters and workers
        // use it too): their sessions move to the other members.
        if due && kill_member && member.is_none() {
            member = member::MemberKill::start(
                ensemble, &submitter, &masters, &workers, &stats, &progress,
            )
            .await?;
        }
        if let Some(m) = &mut member {
            m.step(ensemble, &submitter, &masters, &workers, &stats, &progress)
                .await?;
        }
    };
    if let Some(m) = &mut member {
        let deadline = Instant::now() + MEMBER_WAIT;
        while !m.done() && Instant::now() < deadline {
            m.step(ensemble, &submitter, &masters, &workers, &stats, &progress)
                .await?;
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    progress.update(&stats);
    progress.finish();
    anyhow::ensure!(
        confirmed == names.len(),
        "the client saw {confirmed} statuses"
    );

    // Check: one status per task, nothing left in /tasks or in any assignment. The client
    // saw every status on its own session; the admin session may be on another member of an
    // ensemble, which a sync brings up to date first.
    admin.sync(&paths.status()).await?;
    let statuses = admin.get_children(&paths.status()).await?;
    let mut expected: Vec<String> = names.clone();
    expected.sort();
    let mut found = statuses.clone();
    found.sort();
    anyhow::ensure!(
        found == expected,
        "status nodes {found:?} differ from tasks {expected:?}"
    );
    for t in &found {
        let (data, stat) = admin.get_data(&paths.status_of(t)).await?;
        anyhow::ensure!(
            stat.version == 0,
            "status {t} was rewritten (version {}): {}",
            stat.version,
            String::from_utf8_lossy(&data)
        );
    }
    let left = admin.get_children(&paths.tasks()).await?;
    anyhow::ensure!(left.is_empty(), "tasks left unassigned: {left:?}");

    // The shutdown's session closes hand the leadership on once more: not a failover.
    stats.stopping.store(true, Ordering::SeqCst);
    let leaderships = stats.leaderships.load(Ordering::Relaxed);
    for m in &mut masters {
        m.stop().await;
    }
    for w in &mut workers {
        w.stop().await;
    }
    submitter.close().await;
    let _ = admin.close().await;

    let failover_time = *stats
        .failover_time
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    let events = stats
        .events
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    Ok(Summary {
        tasks: names.len(),
        completions: stats.completions.load(Ordering::Relaxed),
        statuses: statuses.len(),
        reported: stats.reported.load(Ordering::Relaxed),
        executions: stats.executions.load(Ordering::Relaxed),
        duplicates: stats.duplicates.load(Ordering::Relaxed),
        reassignments: stats.reassignments.load(Ordering::Relaxed),
        failovers: leaderships.saturating_sub(1),
        failover_time,
        masters_killed,
        workers_killed,
        elapsed: started.elapsed(),
        events,
        ensemble: described,
        member: member.map(|m| m.report()),
    })
}

/// The built-in job: the number of Collatz steps from `n` to 1, after `work` of simulated
/// effort.
pub(crate) async fn job(n: u64, work: Duration) -> u64 {
    tokio::time::sleep(work).await;
    let (mut n, mut steps) = (n.max(1), 0);
    while n != 1 {
        n = if n % 2 == 0 { n / 2 } else { 3 * n + 1 };
        steps += 1;
    }
    steps
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_under_root_and_slash() {
        let p = Paths::new("/");
        assert_eq!(p.master(), "/master");
        assert_eq!(p.assignment("w", "t"), "/assign/w/t");
        let p = Paths::new("/app/");
        assert_eq!(p.status_of("task-1"), "/app/status/task-1");
    }

    #[tokio::test]
    async fn the_job_counts_collatz_steps() {
        assert_eq!(job(27, Duration::ZERO).await, 111);
        assert_eq!(job(1, Duration::ZERO).await, 0);
    }
}
