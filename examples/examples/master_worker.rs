//! The master-worker system of the ZooKeeper book, with a master, a worker and the zk-server
//! member the client uses killed part-way through; every task still completes exactly once.
//!
//! ```text
//! cargo run --release --example master_worker -- [--connect HOSTS] [--members N]
//!     [--tasks N] [--workers N] [--masters N] [--kill-workers N] [--no-kill-master]
//!     [--no-kill-member] [--kill-mode crash|close] [--kill-after FRACTION] [--job-ms MS]
//!     [--session-timeout-ms MS] [--root PATH] [--quiet]
//! ```
//!
//! With no `--connect` it starts an ensemble of 3 zk-server members in-process on free
//! loopback ports.

#![forbid(unsafe_code)]

use std::time::Duration;

use anyhow::bail;
use clap::{Parser, ValueEnum};
use examples::master_worker::{run, Config, KillMode};

/// The master-worker system of the ZooKeeper book, with the active master, a worker and the
/// zk-server member the client is connected to killed part-way through; every task still
/// completes exactly once. Without --connect it starts an ensemble of zk-server members
/// in-process on loopback ports.
#[derive(Debug, Parser)]
#[command(name = "master_worker")]
struct Args {
    /// The ensemble to use (`host:port[,host:port...][/chroot]`); without it, an embedded
    /// zk-server ensemble.
    #[arg(long, value_name = "HOSTS")]
    connect: Option<String>,
    /// How many members the embedded ensemble has (1: a single standalone zk-server).
    #[arg(long, value_name = "N", default_value_t = Config::default().members as u64,
          value_parser = clap::value_parser!(u64).range(1..=9))]
    members: u64,
    /// How many tasks the client submits.
    #[arg(long, value_name = "N", default_value_t = Config::default().tasks)]
    tasks: usize,
    /// How many workers run.
    #[arg(long, value_name = "N", default_value_t = Config::default().workers)]
    workers: usize,
    /// How many masters compete.
    #[arg(long, value_name = "N", default_value_t = Config::default().masters)]
    masters: usize,
    /// How many workers to kill part-way through.
    #[arg(long, value_name = "N", default_value_t = Config::default().kill_workers)]
    kill_workers: usize,
    /// Do not kill the active master.
    #[arg(long)]
    no_kill_master: bool,
    /// Do not kill the zk-server member the client is connected to (with 3 or more embedded
    /// members it is killed, then started again once every session on it moved).
    #[arg(long)]
    no_kill_member: bool,
    /// How to kill: as a crash (the connection goes silent; the server expires the session)
    /// or as a clean exit (the session is closed).
    #[arg(long, value_enum, default_value_t = Kill::Crash)]
    kill_mode: Kill,
    /// When to kill: after this fraction of the tasks completed.
    #[arg(long, value_name = "FRACTION", default_value_t = Config::default().kill_after)]
    kill_after: f64,
    /// How long each task's job runs, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = Config::default().job.as_millis() as u64)]
    job_ms: u64,
    /// The session timeout asked for, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = Config::default().session_timeout.as_millis() as u64)]
    session_timeout_ms: u64,
    /// The prefix of every path (`/` for the book's layout).
    #[arg(long, value_name = "PATH", default_value_t = Config::default().root)]
    root: String,
    /// No live progress line on stderr.
    #[arg(long)]
    quiet: bool,
}

/// `--kill-mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Kill {
    /// The process stops and its connection goes silent.
    Crash,
    /// The process closes its session.
    Close,
}

impl Args {
    fn config(self) -> Config {
        Config {
            connect: self.connect,
            members: self.members as usize,
            kill_member: !self.no_kill_member,
            root: self.root,
            tasks: self.tasks,
            workers: self.workers,
            masters: self.masters,
            kill_master: !self.no_kill_master,
            kill_workers: self.kill_workers,
            kill_after: self.kill_after,
            kill_mode: match self.kill_mode {
                Kill::Crash => KillMode::Crash,
                Kill::Close => KillMode::Close,
            },
            job: Duration::from_millis(self.job_ms),
            session_timeout: Duration::from_millis(self.session_timeout_ms),
            progress: !self.quiet,
            ..Config::default()
        }
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cfg = Args::parse().config();
    println!(
        "master-worker: {} tasks, {} workers, {} masters, on {}",
        cfg.tasks,
        cfg.workers,
        cfg.masters,
        match (&cfg.connect, cfg.members) {
            (Some(hosts), _) => hosts.clone(),
            (None, 1) => "an embedded zk-server".to_owned(),
            (None, n) => format!("an embedded {n}-member zk-server ensemble"),
        }
    );
    let summary = run(&cfg).await?;
    println!("{summary}");
    if !summary.exactly_once() {
        bail!("some task did not complete exactly once");
    }
    if !summary.member_failed_over() {
        bail!("the sessions of the killed zk-server member did not all move, or it did not rejoin");
    }
    Ok(())
}
