//! Reading the transactions after a zxid across all log files of a directory, in order.

use std::collections::VecDeque;
use std::fs::OpenOptions;
use std::path::{Path, PathBuf};

use zk_core::txn::TxnEntry;
use zk_core::Zxid;

use super::error::{IoContext, PersistError, Result};
use super::files::{fsync_dir, list, logs_from, LOG_PREFIX};
use super::logscan::{scan_log_file, LogEnd};
use super::txnlog::FILE_HEADER_LEN;

/// What to do with a torn tail in the newest log file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TornTail {
    /// Truncate the file where the damaged record starts (delete it if not even its header is
    /// whole), with a warning. What recovery does.
    Truncate,
    /// Leave the file alone (read-only tools); the warning is still logged.
    Keep,
}

/// An iterator over the transactions with zxid greater than `after`, across the log files of a
/// directory, checking each file as [`scan_log_file`] does.
///
/// A torn tail is accepted only in the newest file; anywhere else it means transactions are
/// missing in the middle of the history and is a hard error. Files are read one at a time.
#[derive(Debug)]
pub struct TxnLogIter {
    files: VecDeque<(Zxid, PathBuf)>,
    pending: VecDeque<TxnEntry>,
    after: Zxid,
    torn_tail: TornTail,
    failed: bool,
}

impl TxnLogIter {
    /// Opens the iterator over `log_dir` (a `version-2` directory) for transactions after `after`.
    pub fn open(log_dir: &Path, after: Zxid, torn_tail: TornTail) -> Result<TxnLogIter> {
        let all = list(log_dir, LOG_PREFIX)?;
        let files = logs_from(&all, after).iter().cloned().collect();
        Ok(TxnLogIter {
            files,
            pending: VecDeque::new(),
            after,
            torn_tail,
            failed: false,
        })
    }

    /// Loads the next file's entries into `pending`.
    fn load_next_file(&mut self) -> Result<bool> {
        let Some((_, path)) = self.files.pop_front() else {
            return Ok(false);
        };
        let scan = scan_log_file(&path)?;
        if let LogEnd::Torn { offset, reason } = &scan.end {
            let later_has_data = self
                .files
                .iter()
                .map(|(_, p)| scan_log_file(p))
                .any(|s| s.map(|s| !s.entries.is_empty()).unwrap_or(true));
            if later_has_data {
                return Err(PersistError::corrupt(
                    &path,
                    *offset,
                    format!("{reason}; later log files hold transactions"),
                ));
            }
            self.repair(&path, *offset, reason)?;
        }
        self.pending.extend(
            scan.entries
                .into_iter()
                .map(|(_, e)| e)
                .filter(|e| e.header.zxid > self.after),
        );
        Ok(true)
    }

    fn repair(&self, path: &Path, offset: u64, reason: &str) -> Result<()> {
        match self.torn_tail {
            TornTail::Keep => {
                tracing::warn!(file = %path.display(), offset, reason, "torn tail in transaction log (left in place)");
            }
            TornTail::Truncate if offset < FILE_HEADER_LEN => {
                tracing::warn!(file = %path.display(), offset, reason, "torn transaction log without a header: deleting it");
                std::fs::remove_file(path).at(path)?;
                if let Some(dir) = path.parent() {
                    fsync_dir(dir)?;
                }
            }
            TornTail::Truncate => {
                tracing::warn!(file = %path.display(), offset, reason, "torn tail in transaction log: truncating");
                let f = OpenOptions::new().write(true).open(path).at(path)?;
                f.set_len(offset).at(path)?;
                f.sync_all().at(path)?;
            }
        }
        Ok(())
    }
}

impl Iterator for TxnLogIter {
    type Item = Result<TxnEntry>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        loop {
            if let Some(e) = self.pending.pop_front() {
                return Some(Ok(e));
            }
            match self.load_next_file() {
                Ok(true) => continue,
                Ok(false) => return None,
                Err(e) => {
                    self.failed = true;
                    return Some(Err(e));
                }
            }
        }
    }
}
