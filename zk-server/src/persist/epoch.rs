//! The `acceptedEpoch` and `currentEpoch` files of `<dataDir>/version-2`
//! (`QuorumPeer.readLongFromFile` / `writeLongToFile`): the decimal number, no newline,
//! replaced atomically (`AtomicFileWritingIdiom`: `<name>.tmp`, fsync, rename).

use std::path::Path;

use super::error::{IoContext, PersistError, Result};
use super::files::write_atomic;

/// The file of the epoch a peer last accepted a NEWEPOCH for.
pub const ACCEPTED_EPOCH: &str = "acceptedEpoch";
/// The file of the epoch a peer last acknowledged NEWLEADER for.
pub const CURRENT_EPOCH: &str = "currentEpoch";

/// Reads an epoch file in `snap_dir` (a `version-2` directory); `Ok(None)` when it does not
/// exist. Only the first line counts, as `BufferedReader.readLine` reads it.
pub fn read_epoch(snap_dir: &Path, name: &str) -> Result<Option<i64>> {
    let path = snap_dir.join(name);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(PersistError::io(&path, e)),
    };
    let line = text.lines().next().unwrap_or("");
    line.trim_end_matches('\r')
        .parse::<i64>()
        .map(Some)
        .map_err(|_| PersistError::corrupt(&path, 0, format!("found {line:?}, not an epoch")))
}

/// Writes an epoch file in `snap_dir` atomically and durably.
pub fn write_epoch(snap_dir: &Path, name: &str, epoch: i64) -> Result<()> {
    std::fs::create_dir_all(snap_dir).at(snap_dir)?;
    write_atomic(&snap_dir.join(name), epoch.to_string().as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_format() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(read_epoch(dir.path(), CURRENT_EPOCH).unwrap(), None);
        write_epoch(dir.path(), CURRENT_EPOCH, 5).unwrap();
        write_epoch(dir.path(), ACCEPTED_EPOCH, 6).unwrap();
        assert_eq!(std::fs::read(dir.path().join(CURRENT_EPOCH)).unwrap(), b"5");
        assert_eq!(read_epoch(dir.path(), CURRENT_EPOCH).unwrap(), Some(5));
        assert_eq!(read_epoch(dir.path(), ACCEPTED_EPOCH).unwrap(), Some(6));
        std::fs::write(dir.path().join(CURRENT_EPOCH), "7\n").unwrap();
        assert_eq!(read_epoch(dir.path(), CURRENT_EPOCH).unwrap(), Some(7));
        std::fs::write(dir.path().join(CURRENT_EPOCH), "x").unwrap();
        assert!(read_epoch(dir.path(), CURRENT_EPOCH).is_err());
    }
}
