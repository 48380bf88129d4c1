//! [`InterProcessMultiLock`]: several mutexes taken as one.

use std::time::Duration;

use crate::error::Result;
use crate::fence::Fence;
use crate::framework::Framework;
use crate::mutex::InterProcessMutex;

/// Several [`InterProcessMutex`]es acquired in list order and released in reverse
/// (Curator's `InterProcessMultiLock`). There is no global order: every user must list the
/// paths in the same order, or they can deadlock.
///
/// # Znode layout
///
/// One `_c_<uuid>-lock-<seq>` node under each path, exactly as each mutex alone.
///
/// # Connection loss
///
/// As each [`InterProcessMutex`]. If one lock cannot be taken, the ones already taken are
/// released (their nodes deleted) before the error or timeout is returned.
#[derive(Debug)]
pub struct InterProcessMultiLock {
    locks: Vec<InterProcessMutex>,
}

impl InterProcessMultiLock {
    /// One mutex per path.
    pub fn new(fw: impl Into<Framework>, paths: &[&str]) -> Result<Self> {
        let fw = fw.into();
        let locks = paths
            .iter()
            .map(|p| InterProcessMutex::new(&fw, p))
            .collect::<Result<Vec<_>>>()?;
        Ok(InterProcessMultiLock { locks })
    }

    /// From existing mutexes (any lock kind built on [`InterProcessMutex`]).
    pub fn from_locks(locks: Vec<InterProcessMutex>) -> Self {
        InterProcessMultiLock { locks }
    }

    /// Acquires every lock, waiting as long as it takes.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future leaves the locks taken so far held by this handle; call
    /// [`InterProcessMultiLock::release`] (or drop the handle) to free them.
    pub async fn acquire(&self) -> Result<()> {
        for (i, l) in self.locks.iter().enumerate() {
            if let Err(e) = l.acquire().await {
                self.release_first(i).await;
                return Err(e);
            }
        }
        Ok(())
    }

    /// Acquires every lock, giving each one `timeout` (as Curator); false, with nothing held,
    /// when one of them timed out.
    ///
    /// # Cancel safety
    ///
    /// As [`InterProcessMultiLock::acquire`].
    pub async fn try_acquire(&self, timeout: Duration) -> Result<bool> {
        for (i, l) in self.locks.iter().enumerate() {
            match l.try_acquire(timeout).await {
                Ok(true) => {}
                Ok(false) => {
                    self.release_first(i).await;
                    return Ok(false);
                }
                Err(e) => {
                    self.release_first(i).await;
                    return Err(e);
                }
            }
        }
        Ok(true)
    }

    async fn release_first(&self, n: usize) {
        for l in self.locks[..n].iter().rev() {
            let _ = l.release().await;
        }
    }

    /// Releases every lock, in reverse order; returns the first error after trying them all.
    ///
    /// # Cancel safety
    ///
    /// Each release's delete is queued when reached; dropping the future may leave later
    /// (earlier-acquired) locks held.
    pub async fn release(&self) -> Result<()> {
        let mut first = None;
        for l in self.locks.iter().rev() {
            if let Err(e) = l.release().await {
                first.get_or_insert(e);
            }
        }
        match first {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// True when every lock is held by this handle.
    pub fn is_acquired_in_this_process(&self) -> bool {
        self.locks
            .iter()
            .all(InterProcessMutex::is_acquired_in_this_process)
    }

    /// One check op per lock, while all are held.
    pub fn fences(&self) -> Option<Vec<Fence>> {
        self.locks.iter().map(InterProcessMutex::fence).collect()
    }

    /// The mutexes.
    pub fn locks(&self) -> &[InterProcessMutex] {
        &self.locks
    }
}

impl From<Vec<InterProcessMutex>> for InterProcessMultiLock {
    fn from(locks: Vec<InterProcessMutex>) -> Self {
        Self::from_locks(locks)
    }
}
