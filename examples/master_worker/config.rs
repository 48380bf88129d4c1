//! What a run does: [`Config`] and [`KillMode`].

use std::time::Duration;

/// How the demo kills a master or a worker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KillMode {
    /// As a crash: the process stops and its connection goes silent (each process reaches the
    /// ensemble through its own loopback proxy, which is cut). The server expires the session
    /// after the session timeout, and only then are its ephemeral nodes deleted.
    Crash,
    /// As a clean exit: the process closes its session, so its ephemeral nodes go at once.
    Close,
}

/// What to run.
#[derive(Debug, Clone)]
pub struct Config {
    /// The ensemble; `None` starts an embedded one of [`Config::members`] zk-servers.
    pub connect: Option<String>,
    /// How many zk-server members the embedded ensemble has (1: one standalone server).
    pub members: usize,
    /// Kill the embedded member the application's client is connected to, part-way through
    /// (with 3 or more members), and start it again once every session moved off it.
    pub kill_member: bool,
    /// The prefix of every path (`/` for the book's layout).
    pub root: String,
    /// How many tasks the client submits.
    pub tasks: usize,
    /// How many workers run.
    pub workers: usize,
    /// How many masters compete.
    pub masters: usize,
    /// Kill the active master part-way through.
    pub kill_master: bool,
    /// How many workers to kill part-way through.
    pub kill_workers: usize,
    /// When to kill: after this fraction of the tasks completed.
    pub kill_after: f64,
    /// How to kill.
    pub kill_mode: KillMode,
    /// How long each task's job runs.
    pub job: Duration,
    /// The session timeout asked for.
    pub session_timeout: Duration,
    /// Show a live progress line on stderr.
    pub progress: bool,
    /// Give up after this long.
    pub deadline: Duration,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            connect: None,
            members: 3,
            kill_member: true,
            root: "/".to_owned(),
            tasks: 100,
            workers: 4,
            masters: 3,
            kill_master: true,
            kill_workers: 1,
            kill_after: 0.3,
            kill_mode: KillMode::Crash,
            job: Duration::from_millis(100),
            session_timeout: Duration::from_secs(3),
            progress: true,
            deadline: Duration::from_secs(120),
        }
    }
}
