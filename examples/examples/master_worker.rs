//! The master-worker system of the ZooKeeper book, with a master and a worker killed
//! part-way through; every task still completes exactly once.
//!
//! ```text
//! cargo run --release --example master_worker -- [--connect HOSTS] [--tasks N] [--workers N]
//!     [--masters N] [--kill-workers N] [--no-kill-master] [--kill-mode crash|close]
//!     [--kill-after FRACTION] [--job-ms MS] [--session-timeout-ms MS] [--root PATH] [--quiet]
//! ```
//!
//! With no `--connect` it starts a zk-server in-process on a free loopback port.

#![forbid(unsafe_code)]

use std::time::Duration;

use anyhow::{bail, Context};
use examples::master_worker::{run, Config, KillMode};

const USAGE: &str =
    "usage: master_worker [--connect HOSTS] [--tasks N] [--workers N] [--masters N] \
[--kill-workers N] [--no-kill-master] [--kill-mode crash|close] [--kill-after FRACTION] \
[--job-ms MS] [--session-timeout-ms MS] [--root PATH] [--quiet]";

fn parse_args() -> anyhow::Result<Config> {
    let mut cfg = Config::default();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = |name: &str| {
            args.next()
                .with_context(|| format!("{name} needs a value\n{USAGE}"))
        };
        match a.as_str() {
            "--connect" => cfg.connect = Some(value("--connect")?),
            "--tasks" => cfg.tasks = value("--tasks")?.parse()?,
            "--workers" => cfg.workers = value("--workers")?.parse()?,
            "--masters" => cfg.masters = value("--masters")?.parse()?,
            "--kill-workers" => cfg.kill_workers = value("--kill-workers")?.parse()?,
            "--no-kill-master" => cfg.kill_master = false,
            "--kill-mode" => {
                cfg.kill_mode = match value("--kill-mode")?.as_str() {
                    "crash" => KillMode::Crash,
                    "close" => KillMode::Close,
                    other => bail!("--kill-mode is crash or close, not {other}"),
                }
            }
            "--session-timeout-ms" => {
                cfg.session_timeout = Duration::from_millis(value("--session-timeout-ms")?.parse()?)
            }
            "--kill-after" => cfg.kill_after = value("--kill-after")?.parse()?,
            "--job-ms" => cfg.job = Duration::from_millis(value("--job-ms")?.parse()?),
            "--root" => cfg.root = value("--root")?,
            "--quiet" => cfg.progress = false,
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other => bail!("unknown argument {other}\n{USAGE}"),
        }
    }
    Ok(cfg)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cfg = parse_args()?;
    println!(
        "master-worker: {} tasks, {} workers, {} masters, on {}",
        cfg.tasks,
        cfg.workers,
        cfg.masters,
        cfg.connect.as_deref().unwrap_or("an embedded zk-server")
    );
    let summary = run(&cfg).await?;
    println!("{summary}");
    if !summary.exactly_once() {
        bail!("some task did not complete exactly once");
    }
    Ok(())
}
