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

/// The marker a learner creates while it takes the snapshot of a sync and updates
/// currentEpoch (`QuorumPeer.UPDATING_EPOCH_FILENAME`, ZOOKEEPER-2354). Found at start-up, it
/// means the crash came in between: set currentEpoch to the epoch of the last zxid, then remove
/// the marker.
pub const UPDATING_EPOCH: &str = "updatingEpoch";

/// Creates (`true`) or removes (`false`) the [`UPDATING_EPOCH`] marker durably.
pub fn set_updating_epoch(snap_dir: &Path, updating: bool) -> Result<()> {
    let path = snap_dir.join(UPDATING_EPOCH);
    if updating {
        std::fs::create_dir_all(snap_dir).at(snap_dir)?;
        std::fs::File::create(&path).at(&path)?;
    } else {
        match std::fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(PersistError::io(&path, e)),
        }
    }
    super::files::fsync_dir(snap_dir)
}

/// True when the [`UPDATING_EPOCH`] marker exists.
pub fn is_updating_epoch(snap_dir: &Path) -> bool {
    snap_dir.join(UPDATING_EPOCH).exists()
}

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
        assert!(!is_updating_epoch(dir.path()));
        set_updating_epoch(dir.path(), true).unwrap();
        assert!(is_updating_epoch(dir.path()));
        set_updating_epoch(dir.path(), false).unwrap();
        set_updating_epoch(dir.path(), false).unwrap();
        assert!(!is_updating_epoch(dir.path()));
        std::fs::write(dir.path().join(CURRENT_EPOCH), "x").unwrap();
        assert!(read_epoch(dir.path(), CURRENT_EPOCH).is_err());
    }
}
