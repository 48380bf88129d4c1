//! What a run counts while it goes ([`Stats`]) and reports at the end ([`Summary`]).

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::Progress;

/// Counters shared by every part of the run.
#[derive(Debug, Default)]
pub struct Stats {
    /// Tasks submitted.
    pub submitted: AtomicUsize,
    /// Tasks moved from `/tasks` to a worker.
    pub assigned: AtomicUsize,
    /// Jobs run (a task may run twice when its worker dies before reporting).
    pub executions: AtomicUsize,
    /// Tasks whose status the client saw: each is one task completed.
    pub completions: AtomicUsize,
    /// Statuses whose writer saw its write succeed (a worker killed right after writing never
    /// hears back, so this can be lower than `completions`).
    pub reported: AtomicUsize,
    /// Second runs whose status already existed, dropped.
    pub duplicates: AtomicUsize,
    /// Assignments of dead workers moved back to `/tasks`.
    pub reassignments: AtomicUsize,
    /// Times a master took leadership.
    pub leaderships: AtomicUsize,
    /// The leader's id.
    pub leader: Mutex<String>,
    /// When the active master was killed.
    pub master_killed_at: Mutex<Option<Instant>>,
    /// How long after the kill a backup took over.
    pub failover_time: Mutex<Option<Duration>>,
    /// When the last worker was killed.
    pub worker_killed_at: Mutex<Option<Instant>>,
    /// What happened, in order (kills, take-overs).
    pub events: Mutex<Vec<String>>,
    /// Set when the run is over: leadership handed on by the shutdown is not a failover.
    pub stopping: AtomicBool,
}

impl Stats {
    pub(crate) fn add(counter: &AtomicUsize) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn event(&self, progress: &Progress, text: String) {
        progress.line(&text);
        self.events
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(text);
    }
}

/// The outcome of a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    /// Tasks submitted.
    pub tasks: usize,
    /// Tasks completed: statuses the client saw, each counted once.
    pub completions: usize,
    /// Status nodes found at the end, each created once and never rewritten (version 0).
    pub statuses: usize,
    /// Status writes acknowledged to a live worker.
    pub reported: usize,
    /// Jobs run, duplicates included.
    pub executions: usize,
    /// Second runs dropped because the status existed.
    pub duplicates: usize,
    /// Assignments moved off dead workers.
    pub reassignments: usize,
    /// Leadership changes after the first leader.
    pub failovers: usize,
    /// From the master's kill to a backup's leadership.
    pub failover_time: Option<Duration>,
    /// Masters killed.
    pub masters_killed: usize,
    /// Workers killed.
    pub workers_killed: usize,
    /// Wall time.
    pub elapsed: Duration,
    /// What happened, in order.
    pub events: Vec<String>,
    /// Where the run ran: `an embedded 3-member zk-server ensemble`, `an embedded zk-server`,
    /// or the connect string.
    pub ensemble: String,
    /// The zk-server member killed under the clients, if one was.
    pub member: Option<MemberFailover>,
}

/// The killing of the zk-server member the application's client used, and what followed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberFailover {
    /// The member's id (its `myid`).
    pub id: i64,
    /// Its role when it was killed: `leader` or `follower`.
    pub role: String,
    /// Sessions connected to it when it was killed: the client's, and those of the masters
    /// and workers that happened to use it.
    pub sessions: usize,
    /// From the kill until every one of those sessions (still alive) was connected to
    /// another member.
    pub failover: Option<Duration>,
    /// Whether every moved session kept its id (no session expired or was replaced).
    pub sessions_kept: bool,
    /// From its restart until it served clients again, synced with the leader.
    pub rejoined: Option<Duration>,
    /// Its role after it rejoined.
    pub role_after: String,
}

impl Summary {
    /// True when every task completed exactly once.
    pub fn exactly_once(&self) -> bool {
        self.completions == self.tasks && self.statuses == self.tasks
    }

    /// True when no member was killed, or every session on it moved to another member with
    /// its id and the member served again after its restart.
    pub fn member_failed_over(&self) -> bool {
        self.member
            .as_ref()
            .is_none_or(|m| m.failover.is_some() && m.sessions_kept && m.rejoined.is_some())
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "summary")?;
        writeln!(f, "  tasks          {}", self.tasks)?;
        writeln!(
            f,
            "  completions    {} ({} status nodes, each written once; {} acknowledged to live workers)",
            self.completions, self.statuses, self.reported
        )?;
        writeln!(
            f,
            "  executions     {} ({} duplicate runs dropped)",
            self.executions, self.duplicates
        )?;
        writeln!(f, "  reassignments  {}", self.reassignments)?;
        writeln!(
            f,
            "  failovers      {} ({} master(s), {} worker(s) killed{})",
            self.failovers,
            self.masters_killed,
            self.workers_killed,
            match self.failover_time {
                Some(t) => format!("; a backup led {:.2} s after the kill", t.as_secs_f64()),
                None => String::new(),
            }
        )?;
        writeln!(f, "  ensemble       {}", self.ensemble)?;
        match &self.member {
            None => writeln!(f, "  member killed  none")?,
            Some(m) => {
                writeln!(
                    f,
                    "  member killed  zk-server member {} ({}) killed with {} session(s) on it, the client's among them",
                    m.id, m.role, m.sessions
                )?;
                writeln!(
                    f,
                    "  sessions moved {}",
                    match m.failover {
                        Some(t) => format!(
                            "all to other members in {:.2} s{}",
                            t.as_secs_f64(),
                            if m.sessions_kept {
                                ", each keeping its session"
                            } else {
                                ", but a session was lost"
                            }
                        ),
                        None => "NOT every session moved".to_owned(),
                    }
                )?;
                writeln!(
                    f,
                    "  member rejoin  {}",
                    match m.rejoined {
                        Some(t) => format!(
                            "restarted, synced and serving as {} {:.2} s later",
                            m.role_after,
                            t.as_secs_f64()
                        ),
                        None => "did NOT serve again".to_owned(),
                    }
                )?;
            }
        }
        writeln!(f, "  time           {:.2} s", self.elapsed.as_secs_f64())?;
        write!(
            f,
            "  exactly once   {}",
            if self.exactly_once() { "yes" } else { "NO" }
        )
    }
}
