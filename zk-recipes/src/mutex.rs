//! [`InterProcessMutex`]: Curator's re-entrant distributed mutex.

use std::sync::{Arc, Mutex as StdMutex};
use std::time::{Duration, Instant};

use zk_client::Version;
use zk_core::path;

use crate::error::{Error, Result};
use crate::fence::{Fence, Validity, ValidityTracker};
use crate::framework::Framework;
use crate::lock_internals::{LockDriver, LockInternals, StandardDriver};
use crate::naming::fix_for_sorting;
use crate::protected::OwnedNode;

const DRIVER: StandardDriver = StandardDriver { names: &["lock-"] };

/// A re-entrant mutex shared with Curator's `InterProcessMutex` on the same path.
///
/// # Znode layout
///
/// Each attempt creates `<path>/_c_<uuid>-lock-<seq>` (EPHEMERAL_SEQUENTIAL, parents as
/// containers, data = the framework's default data or [`InterProcessMutex::with_data`]).
/// Every child of `<path>` is a contender, sorted by what follows the last `lock-`. The first
/// holds the lock; each other contender sets a getData watch on its immediate predecessor
/// only.
///
/// # Re-entrancy
///
/// Per handle (Curator: per thread): acquiring a held handle again only counts; the node goes
/// when the count drops to zero. Concurrent `acquire` calls on one handle are serialized, and
/// the second one then *re-enters*: a handle does not exclude the tasks that share it. Give
/// each task that must be excluded from the others its own handle.
///
/// Dropping a held handle deletes its node (guaranteed delete in the background).
///
/// # Connection loss
///
/// While waiting, any connection-state change makes it re-list; if our node vanished (the
/// session expired), a new attempt starts while the retry policy allows. A holder keeps its
/// node through SUSPENDED (as Curator), but [`InterProcessMutex::validity`] turns false per
/// the error policy, and [`InterProcessMutex::fence`] lets a write commit only while the node
/// exists. Release, a timeout, an error, or dropping an `acquire` future deletes our node
/// with a guaranteed delete: no node is left behind while the client lives.
#[derive(Debug)]
pub struct InterProcessMutex {
    internals: LockInternals,
    driver: Arc<dyn LockDriver>,
    /// For a read lock: the write lock of the same handle (a held write lock grants reads and
    /// names the read node after the writer's sequence).
    downgrade_from: Option<Arc<InterProcessMutex>>,
    acquiring: tokio::sync::Mutex<()>,
    held: StdMutex<Option<Held>>,
}

#[derive(Debug)]
struct Held {
    node: OwnedNode,
    count: u32,
    validity: ValidityTracker,
}

impl InterProcessMutex {
    /// A mutex on `path` (a recipe path). Nothing is sent until [`InterProcessMutex::acquire`].
    pub fn new(fw: impl Into<Framework>, path_: &str) -> Result<InterProcessMutex> {
        Self::with_driver(fw.into(), path_, "lock-", None, Arc::new(DRIVER), 1, None)
    }

    /// Like [`InterProcessMutex::new`], with `data` in the lock node (LeaderSelector writes its
    /// id there).
    pub fn with_data(fw: impl Into<Framework>, path_: &str, data: Vec<u8>) -> Result<Self> {
        Self::with_driver(
            fw.into(),
            path_,
            "lock-",
            Some(data),
            Arc::new(DRIVER),
            1,
            None,
        )
    }

    pub(crate) fn with_driver(
        fw: Framework,
        path_: &str,
        lock_name: &'static str,
        data: Option<Vec<u8>>,
        driver: Arc<dyn LockDriver>,
        max_leases: usize,
        downgrade_from: Option<Arc<InterProcessMutex>>,
    ) -> Result<Self> {
        path::validate_path(path_, false)
            .map_err(|e| Error::Client(zk_client::Error::InvalidPath(e)))?;
        Ok(InterProcessMutex {
            internals: LockInternals {
                fw,
                base: path_.to_owned(),
                lock_name,
                max_leases,
                data,
            },
            driver,
            downgrade_from,
            acquiring: tokio::sync::Mutex::new(()),
            held: StdMutex::new(None),
        })
    }

    fn held(&self) -> std::sync::MutexGuard<'_, Option<Held>> {
        // A poisoned lock means a panic in a few lines of bookkeeping; the data is consistent.
        self.held.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Acquires the lock, waiting as long as it takes.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future before it completes leaves the lock not acquired and deletes our
    /// node in the background.
    pub async fn acquire(&self) -> Result<()> {
        match self.acquire_until(None).await? {
            true => Ok(()),
            false => Err(Error::Closed),
        }
    }

    /// Acquires the lock within `timeout`; false when the time ran out.
    ///
    /// # Cancel safety
    ///
    /// As [`InterProcessMutex::acquire`].
    pub async fn try_acquire(&self, timeout: Duration) -> Result<bool> {
        self.acquire_until(Some(Instant::now() + timeout)).await
    }

    async fn acquire_until(&self, deadline: Option<Instant>) -> Result<bool> {
        let _serial = match deadline {
            Some(d) => match tokio::time::timeout_at(d.into(), self.acquiring.lock()).await {
                Ok(g) => g,
                Err(_) => return Ok(false),
            },
            None => self.acquiring.lock().await,
        };
        if let Some(h) = self.held().as_mut() {
            h.count += 1;
            return Ok(true);
        }
        let node_override = self.downgrade_from.as_ref().and_then(|w| {
            let writer = w.lock_node()?;
            let name = zk_core::path::node_name(&writer);
            let seq = fix_for_sorting(name, w.internals.lock_name);
            Some((
                format!("{}{seq}", self.internals.lock_name),
                zk_client::CreateMode::Ephemeral,
            ))
        });
        let attempt = self
            .internals
            .attempt_lock(&*self.driver, deadline, node_override);
        let Some(node) = attempt.await? else {
            return Ok(false);
        };
        let validity = ValidityTracker::start(&self.internals.fw);
        *self.held() = Some(Held {
            node,
            count: 1,
            validity,
        });
        Ok(true)
    }

    /// Releases one hold; the last one deletes our node (guaranteed delete: if the first
    /// attempt fails, the error is returned and the delete goes on in the background).
    ///
    /// # Cancel safety
    ///
    /// The release is decided and the delete queued when called.
    pub async fn release(&self) -> Result<()> {
        let node = {
            let mut held = self.held();
            let Some(h) = held.as_mut() else {
                return Err(Error::NotHeld("InterProcessMutex::release"));
            };
            h.count -= 1;
            if h.count > 0 {
                return Ok(());
            }
            held.take().map(|h| h.node)
        };
        match node {
            Some(n) => Ok(n.delete().await?),
            None => Ok(()),
        }
    }

    /// True while this handle holds the lock.
    pub fn is_acquired_in_this_process(&self) -> bool {
        self.held().is_some()
    }

    /// Our lock node's recipe path while held.
    pub fn lock_node(&self) -> Option<String> {
        self.held()
            .as_ref()
            .map(|h| self.internals.fw.unfix_path(h.node.path()))
    }

    /// A check op on our lock node while held (see [`Fence`]).
    pub fn fence(&self) -> Option<Fence> {
        self.held()
            .as_ref()
            .map(|h| Fence::new(h.node.path().to_owned()))
    }

    /// While held: turns false when the connection state says we may have lost the lock.
    pub fn validity(&self) -> Option<Validity> {
        self.held().as_ref().map(|h| h.validity.validity())
    }

    /// The contenders' nodes, sorted, as recipe paths (`getParticipantNodes`).
    ///
    /// # Cancel safety
    ///
    /// Cancel safe (a read).
    pub async fn participant_nodes(&self) -> Result<Vec<String>> {
        let children = self.internals.sorted_children(&*self.driver).await?;
        Ok(children
            .iter()
            .map(|c| path::join(&self.internals.base, c))
            .collect())
    }
}

/// Curator's revocation request (`LockInternals.REVOKE_MESSAGE`), written into a holder's lock
/// node.
pub const REVOKE_MESSAGE: &[u8] = b"__REVOKE__";

impl InterProcessMutex {
    /// While held: waits until another process asks us to release, by writing
    /// [`REVOKE_MESSAGE`] into our lock node ([`attempt_revoke`], Curator's
    /// `Revoker.attemptRevoke`). Revocation is cooperative, as in Curator's `makeRevocable`:
    /// the lock is not taken away, the holder decides to release.
    ///
    /// [`Error::NotHeld`] when not held; a client error if our node vanished.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: dropping the future removes its watch.
    pub async fn revocation_requested(&self) -> Result<()> {
        let Some(p) = self.held().as_ref().map(|h| h.node.path().to_owned()) else {
            return Err(Error::NotHeld("InterProcessMutex::revocation_requested"));
        };
        let client = self.internals.fw.client();
        loop {
            let (data, _, watch) = client.get_data_and_watch(&p).await?;
            if data == REVOKE_MESSAGE {
                return Ok(());
            }
            watch.await?;
        }
    }
}

/// Asks the holder of the lock node `node_path` (a recipe path, such as one of
/// [`InterProcessMutex::participant_nodes`]) to release it (`Revoker.attemptRevoke`). A node
/// that no longer exists is not an error.
///
/// # Cancel safety
///
/// The write may be applied even if the future is dropped.
pub async fn attempt_revoke(fw: &Framework, node_path: &str) -> Result<()> {
    let full = fw.fix_path(node_path);
    match fw
        .client()
        .set_data(&full, REVOKE_MESSAGE, Version::Any)
        .await
    {
        Ok(_) | Err(zk_client::Error::NoNode) => Ok(()),
        Err(e) => Err(e.into()),
    }
}
