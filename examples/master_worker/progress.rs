//! The live progress line: redrawn in place on a terminal, one line per tenth otherwise.

use std::io::{IsTerminal, Write};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

use super::Stats;

/// Prints progress on stderr; a disabled one prints nothing.
#[derive(Debug, Clone)]
pub struct Progress {
    enabled: bool,
    tty: bool,
    total: usize,
    last_tenth: Arc<Mutex<Option<usize>>>,
}

const WIDTH: usize = 30;

impl Progress {
    /// A progress display for `total` tasks.
    pub fn new(enabled: bool, total: usize) -> Progress {
        Progress {
            enabled,
            tty: std::io::stderr().is_terminal(),
            total: total.max(1),
            last_tenth: Arc::new(Mutex::new(None)),
        }
    }

    /// Prints a line of news above the live line.
    pub fn line(&self, text: &str) {
        if !self.enabled {
            return;
        }
        let mut err = std::io::stderr().lock();
        if self.tty {
            let _ = write!(err, "\r\x1b[2K");
        }
        let _ = writeln!(err, "{text}");
    }

    /// Redraws the live line from `stats`.
    pub fn update(&self, stats: &Stats) {
        if !self.enabled {
            return;
        }
        let done = stats.completions.load(Ordering::Relaxed);
        let filled = (done * WIDTH / self.total).min(WIDTH);
        let leader = stats
            .leader
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let text = format!(
            "[{}{}] {done}/{} done | {} queued | {} reassigned | {} failover(s) | leader {}",
            "#".repeat(filled),
            " ".repeat(WIDTH - filled),
            self.total,
            stats
                .assigned
                .load(Ordering::Relaxed)
                .saturating_sub(done + stats.reassignments.load(Ordering::Relaxed)),
            stats.reassignments.load(Ordering::Relaxed),
            stats.leaderships.load(Ordering::Relaxed).saturating_sub(1),
            if leader.is_empty() { "-" } else { &leader },
        );
        let mut err = std::io::stderr().lock();
        if self.tty {
            let _ = write!(err, "\r\x1b[2K{text}");
            let _ = err.flush();
        } else {
            let tenth = done * 10 / self.total;
            let mut last = self.last_tenth.lock().unwrap_or_else(|e| e.into_inner());
            if *last != Some(tenth) {
                *last = Some(tenth);
                let _ = writeln!(err, "{text}");
            }
        }
    }

    /// Ends the live line.
    pub fn finish(&self) {
        if self.enabled && self.tty {
            let _ = writeln!(std::io::stderr());
        }
    }
}
