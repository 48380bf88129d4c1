//! The data directory layout (`Util.java`, `FileTxnSnapLog.java`): `<dir>/version-2/` holds
//! `log.<hex zxid of the first txn>` files (in dataLogDir) and `snapshot.<hex last zxid>` files,
//! `acceptedEpoch` and `currentEpoch` (in dataDir). Names use Java's `Long.toHexString`:
//! lowercase, no padding, no `0x`.

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

use zk_core::Zxid;

use super::error::{IoContext, Result};

/// The subdirectory of dataDir and dataLogDir that holds format version 2 files.
pub const VERSION_DIR: &str = "version-2";
/// The prefix of transaction log files.
pub const LOG_PREFIX: &str = "log";
/// The prefix of snapshot files.
pub const SNAPSHOT_PREFIX: &str = "snapshot";

/// `<dir>/version-2`.
pub fn version_dir(dir: &Path) -> PathBuf {
    dir.join(VERSION_DIR)
}

/// `log.<hex zxid>`.
pub fn log_name(zxid: Zxid) -> String {
    format!("{LOG_PREFIX}.{:x}", zxid.0 as u64)
}

/// `snapshot.<hex zxid>`.
pub fn snapshot_name(zxid: Zxid) -> String {
    format!("{SNAPSHOT_PREFIX}.{:x}", zxid.0 as u64)
}

/// The zxid in a file name `<prefix>.<hex>[.<anything>]`, as `Util.getZxidFromName` reads it
/// (the suffix is a compression extension such as `.gz`); `None` for any other name.
pub fn zxid_from_name(name: &str, prefix: &str) -> Option<Zxid> {
    let mut parts = name.split('.');
    if parts.next()? != prefix {
        return None;
    }
    let hex = parts.next()?;
    if hex.is_empty() || hex.len() > 16 {
        return None;
    }
    u64::from_str_radix(hex, 16).ok().map(|v| Zxid(v as i64))
}

/// The files `<prefix>.<hex>` of `dir`, sorted by zxid, oldest first. A missing directory has
/// none.
pub fn list(dir: &Path, prefix: &str) -> Result<Vec<(Zxid, PathBuf)>> {
    let mut out = Vec::new();
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(super::PersistError::io(dir, e)),
    };
    for entry in entries {
        let entry = entry.at(dir)?;
        if let Some(zxid) = entry
            .file_name()
            .to_str()
            .and_then(|n| zxid_from_name(n, prefix))
        {
            out.push((zxid, entry.path()));
        }
    }
    out.sort();
    Ok(out)
}

/// The log files needed to replay transactions after `zxid` (`Util.getLogFiles`): the newest file
/// that starts at or before `zxid`, and every later one. `logs` is sorted oldest first.
pub fn logs_from(logs: &[(Zxid, PathBuf)], zxid: Zxid) -> &[(Zxid, PathBuf)] {
    let start = logs.iter().rposition(|(z, _)| *z <= zxid).unwrap_or(0);
    &logs[start..]
}

/// fsyncs a directory, so that a create, rename or delete in it is durable.
pub fn fsync_dir(dir: &Path) -> Result<()> {
    File::open(dir).and_then(|d| d.sync_all()).at(dir)
}

/// Replaces `path` with `bytes` atomically (`AtomicFileWritingIdiom`): write `<path>.tmp`, fsync
/// it, rename it over `path`, fsync the directory. A crash leaves the old or the new content.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let mut f = File::create(&tmp).at(&tmp)?;
    f.write_all(bytes).at(&tmp)?;
    f.sync_all().at(&tmp)?;
    drop(f);
    fs::rename(&tmp, path).at(path)?;
    if let Some(dir) = path.parent() {
        fsync_dir(dir)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_java_long_to_hex_string() {
        assert_eq!(log_name(Zxid(1)), "log.1");
        assert_eq!(snapshot_name(Zxid::new(3, 0x1f)), "snapshot.30000001f");
        assert_eq!(log_name(Zxid(-1)), "log.ffffffffffffffff");
        assert_eq!(
            zxid_from_name("snapshot.30000001f", "snapshot"),
            Some(Zxid::new(3, 0x1f))
        );
        assert_eq!(
            zxid_from_name("snapshot.1f.gz", "snapshot"),
            Some(Zxid(0x1f))
        );
        assert_eq!(zxid_from_name("tmp.snapshot.1f", "snapshot"), None);
        assert_eq!(zxid_from_name("log.zz", "log"), None);
        assert_eq!(zxid_from_name("log.1", "snapshot"), None);
    }

    #[test]
    fn logs_from_keeps_the_file_containing_the_zxid() {
        let logs: Vec<(Zxid, PathBuf)> = [1, 100, 200]
            .iter()
            .map(|&z| (Zxid(z), PathBuf::from(format!("log.{z:x}"))))
            .collect();
        assert_eq!(logs_from(&logs, Zxid(150)).len(), 2);
        assert_eq!(logs_from(&logs, Zxid(100)).len(), 2);
        assert_eq!(logs_from(&logs, Zxid(0)).len(), 3);
        assert_eq!(logs_from(&logs, Zxid(500)).len(), 1);
    }

    #[test]
    fn atomic_write_replaces() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("currentEpoch");
        write_atomic(&p, b"1").unwrap();
        write_atomic(&p, b"2").unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"2");
        assert!(!dir.path().join("currentEpoch.tmp").exists());
    }
}
