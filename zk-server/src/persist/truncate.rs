//! Cutting the log back to a zxid (`FileTxnLog.truncate`, used by a follower on TRUNC) and
//! finding the last logged zxid (`FileTxnLog.getLastLoggedZxid`).

use std::fs::OpenOptions;
use std::path::{Path, PathBuf};

use zk_core::Zxid;

use super::error::{IoContext, PersistError, Result};
use super::files::{fsync_dir, list, LOG_PREFIX};
use super::logscan::scan_log_file;
use super::txnlog::FILE_HEADER_LEN;

/// Removes every logged transaction after `zxid`: the file holding it is cut right after its
/// record, later files are deleted. Returns the deleted files. Fails if no file can hold `zxid`
/// (every file starts after it), as Apache ZooKeeper refuses to truncate then.
///
/// Crash-safe in this order: the cut is fsynced before any later file is deleted, so a crash
/// leaves either the old log or a prefix of it that still ends at `zxid` or later.
pub fn truncate_log(log_dir: &Path, zxid: Zxid) -> Result<Vec<PathBuf>> {
    let logs = list(log_dir, LOG_PREFIX)?;
    let Some(keep) = logs.iter().rposition(|(z, _)| *z <= zxid) else {
        return Err(PersistError::Misuse {
            path: log_dir.to_path_buf(),
            reason: format!("no log file holds zxid {zxid}: cannot truncate to it"),
        });
    };
    let path = &logs[keep].1;
    let scan = scan_log_file(path)?;
    let cut = scan
        .entries
        .iter()
        .find(|(_, e)| e.header.zxid > zxid)
        .map(|(off, _)| *off);
    if let Some(cut) = cut {
        let f = OpenOptions::new().write(true).open(path).at(path)?;
        f.set_len(cut.max(FILE_HEADER_LEN)).at(path)?;
        f.sync_all().at(path)?;
    }
    let mut deleted = Vec::new();
    for (_, p) in logs.iter().skip(keep + 1).rev() {
        std::fs::remove_file(p).at(p)?;
        deleted.push(p.clone());
    }
    fsync_dir(log_dir)?;
    Ok(deleted)
}

/// The zxid of the last valid transaction in `log_dir`, if any.
pub fn last_logged_zxid(log_dir: &Path) -> Result<Option<Zxid>> {
    for (_, p) in list(log_dir, LOG_PREFIX)?.iter().rev() {
        if let Some((_, e)) = scan_log_file(p)?.entries.last() {
            return Ok(Some(e.header.zxid));
        }
    }
    Ok(None)
}
