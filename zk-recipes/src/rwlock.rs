//! [`InterProcessReadWriteLock`]: Curator's re-entrant read-write lock.

use std::sync::Arc;

use crate::error::Result;
use crate::framework::Framework;
use crate::lock_internals::{Decision, LockDriver, StandardDriver};
use crate::mutex::InterProcessMutex;

/// The read lock's node name.
pub const READ_LOCK_NAME: &str = "__READ__";
/// The write lock's node name (the same length as the read one, as Curator requires).
pub const WRITE_LOCK_NAME: &str = "__WRIT__";
const SORT_NAMES: &[&str] = &[READ_LOCK_NAME, WRITE_LOCK_NAME];

/// A read-write lock shared with Curator's `InterProcessReadWriteLock` on the same path.
///
/// # Znode layout
///
/// Writers create `<path>/_c_<uuid>-__WRIT__<seq>`, readers `<path>/_c_<uuid>-__READ__<seq>`
/// (EPHEMERAL_SEQUENTIAL, parents as containers). Children sort by their sequence (both names
/// stripped). A writer holds the lock when it is first of all children and watches its
/// immediate predecessor; a reader holds it when no writer precedes it and otherwise watches
/// the **first** writer, so queued readers wake together.
///
/// # Downgrade
///
/// A handle holding the write lock may take the read lock (granted at once): its read node is
/// a plain EPHEMERAL `_c_<uuid>-__READ__<writer's seq>`. Releasing the write lock then leaves
/// the read lock held.
///
/// # Connection loss
///
/// As [`InterProcessMutex`]: waiters re-list on every state change; holders keep their node
/// and learn of a possible loss from `validity()`; every node is removed by a guaranteed
/// delete on release, timeout, error or a dropped acquire.
#[derive(Debug)]
pub struct InterProcessReadWriteLock {
    write: Arc<InterProcessMutex>,
    read: InterProcessMutex,
}

/// `ReadLock`'s `getsTheLock`.
#[derive(Debug)]
struct ReadDriver {
    write: Arc<InterProcessMutex>,
}

impl LockDriver for ReadDriver {
    fn sort_names(&self) -> &'static [&'static str] {
        SORT_NAMES
    }

    fn decide(&self, children: &[String], our_name: &str, _: usize) -> Option<Decision> {
        if self.write.is_acquired_in_this_process() {
            return Some(Decision {
                acquired: true,
                watch: None,
            });
        }
        let (our_index, first_write) = read_indexes(children, our_name);
        let our_index = our_index?;
        Some(match first_write {
            Some(w) if w < our_index => Decision {
                acquired: false,
                watch: Some(children[w].clone()),
            },
            _ => Decision {
                acquired: true,
                watch: None,
            },
        })
    }
}

/// Our index (the first child starting with our name, scanning stops there) and the first
/// writer's index before it.
fn read_indexes(children: &[String], our_name: &str) -> (Option<usize>, Option<usize>) {
    let mut first_write = None;
    for (i, c) in children.iter().enumerate() {
        if c.contains(WRITE_LOCK_NAME) {
            first_write.get_or_insert(i);
        } else if c.starts_with(our_name) {
            return (Some(i), first_write);
        }
    }
    (None, first_write)
}

impl InterProcessReadWriteLock {
    /// A read-write lock on `path`; node data is the framework's default data.
    pub fn new(fw: impl Into<Framework>, path_: &str) -> Result<Self> {
        Self::with_data(fw, path_, None)
    }

    /// Like [`InterProcessReadWriteLock::new`], with `data` in both kinds of node.
    pub fn with_data(fw: impl Into<Framework>, path_: &str, data: Option<Vec<u8>>) -> Result<Self> {
        let fw = fw.into();
        let write = Arc::new(InterProcessMutex::with_driver(
            fw.clone(),
            path_,
            WRITE_LOCK_NAME,
            data.clone(),
            Arc::new(StandardDriver { names: SORT_NAMES }),
            1,
            None,
        )?);
        let read = InterProcessMutex::with_driver(
            fw,
            path_,
            READ_LOCK_NAME,
            data,
            Arc::new(ReadDriver {
                write: write.clone(),
            }),
            usize::MAX,
            Some(write.clone()),
        )?;
        Ok(InterProcessReadWriteLock { write, read })
    }

    /// The read lock (shared among readers, excluded by a writer queued before it).
    pub fn read_lock(&self) -> &InterProcessMutex {
        &self.read
    }

    /// The write lock (exclusive).
    pub fn write_lock(&self) -> &InterProcessMutex {
        &self.write
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(x: &[&str]) -> Vec<String> {
        x.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn readers_wait_only_for_earlier_writers() {
        let c = v(&["r1-__READ__1", "w2-__WRIT__2", "r3-__READ__3"]);
        assert_eq!(read_indexes(&c, "r1-__READ__1"), (Some(0), None));
        assert_eq!(read_indexes(&c, "r3-__READ__3"), (Some(2), Some(1)));
        assert_eq!(read_indexes(&c, "zz"), (None, Some(1)));
    }
}
