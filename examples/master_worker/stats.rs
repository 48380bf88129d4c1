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
}

impl Summary {
    /// True when every task completed exactly once.
    pub fn exactly_once(&self) -> bool {
        self.completions == self.tasks && self.statuses == self.tasks
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
        writeln!(f, "  time           {:.2} s", self.elapsed.as_secs_f64())?;
        write!(
            f,
            "  exactly once   {}",
            if self.exactly_once() { "yes" } else { "NO" }
        )
    }
}
