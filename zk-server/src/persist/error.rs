//! The error type of the persistence layer: every failure names the file, and corruption names
//! the byte offset where it was found.

use std::io;
use std::path::{Path, PathBuf};

/// A failure reading or writing the on-disk state.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PersistError {
    /// An I/O operation on `path` failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },
    /// The file holds bytes that are not a valid record, at `offset`. Recovery stops here: the
    /// data after this point cannot be trusted and must not be silently dropped.
    #[error("{} at byte {offset}: {reason}", path.display())]
    Corrupt {
        /// The damaged file.
        path: PathBuf,
        /// Where the bad record starts.
        offset: u64,
        /// What is wrong.
        reason: String,
    },
    /// No snapshot in the directory could be read, although there is something to recover.
    #[error("no valid snapshot in {}: {reason}", dir.display())]
    NoValidSnapshot {
        /// The snapshot directory.
        dir: PathBuf,
        /// Why (the snapshots tried and their errors, or "logs but no snapshot").
        reason: String,
    },
    /// The transaction log does not continue where the snapshot or the previous file ends.
    #[error("{}: transaction log gap: expected zxid 0x{expected:x}, found 0x{found:x}", path.display())]
    LogGap {
        /// The file holding the first transaction after the gap.
        path: PathBuf,
        /// The zxid that should have come next.
        expected: i64,
        /// The zxid found.
        found: i64,
    },
    /// The caller broke a rule of the API (for example, appended a zxid that is not increasing).
    #[error("{}: {reason}", path.display())]
    Misuse {
        /// The file or directory concerned.
        path: PathBuf,
        /// The broken rule.
        reason: String,
    },
}

/// The result type of the persistence layer.
pub type Result<T, E = PersistError> = std::result::Result<T, E>;

impl PersistError {
    /// An [`PersistError::Io`] for `path`.
    pub fn io(path: &Path, source: io::Error) -> PersistError {
        PersistError::Io {
            path: path.to_path_buf(),
            source,
        }
    }

    /// A [`PersistError::Corrupt`] for `path` at `offset`.
    pub fn corrupt(path: &Path, offset: u64, reason: impl Into<String>) -> PersistError {
        PersistError::Corrupt {
            path: path.to_path_buf(),
            offset,
            reason: reason.into(),
        }
    }
}

/// For callers whose interfaces speak `std::io` (a `TxnSink`-style hook): corruption becomes
/// `InvalidData`, misuse `InvalidInput`, I/O errors keep their kind; the message keeps the file
/// and offset.
impl From<PersistError> for io::Error {
    fn from(e: PersistError) -> io::Error {
        let kind = match &e {
            PersistError::Io { source, .. } => source.kind(),
            PersistError::Misuse { .. } => io::ErrorKind::InvalidInput,
            _ => io::ErrorKind::InvalidData,
        };
        io::Error::new(kind, e)
    }
}

/// Attaches a path to `std::io` results.
pub(crate) trait IoContext<T> {
    /// Maps an I/O error to [`PersistError::Io`] naming `path`.
    fn at(self, path: &Path) -> Result<T>;
}

impl<T> IoContext<T> for io::Result<T> {
    fn at(self, path: &Path) -> Result<T> {
        self.map_err(|e| PersistError::io(path, e))
    }
}
