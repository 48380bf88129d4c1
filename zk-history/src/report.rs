//! What a check covered ([`Report`]) and, when it failed, every violation with it
//! ([`Violations`]).

use std::fmt;

use zk_core::Zxid;

use crate::violation::Violation;

/// What a check covered: how many operations each check judged, and what it had to skip.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// Operations in the history.
    pub ops: usize,
    /// Transactions in the committed history.
    pub txns: usize,
    /// The committed history's base zxid.
    pub base: Zxid,
    /// Reads compared with the model state at their zxid.
    pub reads_checked: usize,
    /// Acknowledged writes (ok or definite error) found in the committed history and
    /// compared with the model.
    pub writes_checked: usize,
    /// Writes with an unknown outcome whose value was committed (checked like acknowledged
    /// ones, at the zxid of that transaction).
    pub unknown_committed: usize,
    /// Writes with an unknown outcome that left no trace: their value was not committed, or
    /// they write none (deletes). Allowed.
    pub unknown_unmatched: usize,
    /// Operations at or before the committed history's base (reads below its start): skipped.
    pub skipped_before_start: usize,
    /// Reads and write results on nodes whose state the model does not know (after an unknown
    /// base, or the root and `/zookeeper`): skipped.
    pub skipped_unknown_state: usize,
    /// Definite errors the model does not predict (NoAuth, ...): their transaction is checked,
    /// their result is not.
    pub skipped_unmodeled: usize,
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} ops against {} committed txns after {}: {} reads and {} acknowledged writes \
             checked; unknown-outcome writes: {} committed, {} without trace",
            self.ops,
            self.txns,
            self.base,
            self.reads_checked,
            self.writes_checked,
            self.unknown_committed,
            self.unknown_unmatched
        )?;
        let skipped = [
            (
                self.skipped_before_start,
                "at or below the committed history's start",
            ),
            (self.skipped_unknown_state, "on nodes of unknown state"),
            (
                self.skipped_unmodeled,
                "with errors the model does not predict",
            ),
        ];
        for (n, why) in skipped {
            if n > 0 {
                write!(f, "; skipped {n} {why}")?;
            }
        }
        Ok(())
    }
}

/// A failed check: every violation, and the report of what was checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violations {
    /// Every violation found, committed-history problems first, then by check.
    pub violations: Vec<Violation>,
    /// What was checked.
    pub report: Report,
}

impl Violations {
    /// The most violations [`fmt::Display`] prints; the list holds them all.
    pub const SHOWN: usize = 50;
}

impl fmt::Display for Violations {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{} violations; {}", self.violations.len(), self.report)?;
        for (i, v) in self.violations.iter().take(Self::SHOWN).enumerate() {
            writeln!(f, "{:4}. {v}", i + 1)?;
        }
        if self.violations.len() > Self::SHOWN {
            writeln!(f, "  ... and {} more", self.violations.len() - Self::SHOWN)?;
        }
        Ok(())
    }
}

impl std::error::Error for Violations {}
