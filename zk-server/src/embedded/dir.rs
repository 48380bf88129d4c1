//! Where an embedded ensemble keeps its members' files: a new directory under the system's
//! temp dir, removed when the ensemble is dropped (kept, and named on stderr, when the thread
//! is panicking, for the post-mortem of a failed test), or a directory the caller owns.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// The base directory of an ensemble.
#[derive(Debug)]
pub(crate) struct BaseDir {
    path: PathBuf,
    owned: bool,
}

impl BaseDir {
    /// A new, empty directory `zk-ensemble-<pid>-<n>-<nanos>` under the temp dir, removed on
    /// drop.
    pub(crate) fn temp() -> std::io::Result<BaseDir> {
        static N: AtomicU64 = AtomicU64::new(0);
        let tmp = std::env::temp_dir();
        for _ in 0..100 {
            let n = N.fetch_add(1, Ordering::Relaxed);
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.subsec_nanos());
            let path = tmp.join(format!("zk-ensemble-{}-{n}-{nanos}", std::process::id()));
            // `create_dir` fails if it exists: the directory is ours alone.
            match std::fs::create_dir(&path) {
                Ok(()) => return Ok(BaseDir { path, owned: true }),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(e),
            }
        }
        Err(std::io::Error::other(format!(
            "cannot create a new directory under {}",
            tmp.display()
        )))
    }

    /// `path` (created if missing), left in place on drop.
    pub(crate) fn given(path: &Path) -> std::io::Result<BaseDir> {
        std::fs::create_dir_all(path)?;
        Ok(BaseDir {
            path: path.to_path_buf(),
            owned: false,
        })
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for BaseDir {
    fn drop(&mut self) {
        if !self.owned {
            return;
        }
        if std::thread::panicking() {
            eprintln!("embedded ensemble: files kept in {}", self.path.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}
