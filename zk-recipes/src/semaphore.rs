//! [`InterProcessSemaphoreV2`] and its leases, and [`InterProcessSemaphoreMutex`].

use std::sync::Mutex as StdMutex;
use std::time::{Duration, Instant};

use zk_client::CreateMode;
use zk_core::path;

use crate::error::{Error, Result};
use crate::fence::{Fence, Validity, ValidityTracker};
use crate::framework::Framework;
use crate::limits::WAITER_FAILURE_PAUSE;
use crate::lock_internals::{recv_state, wait_state_or};
use crate::mutex::InterProcessMutex;
use crate::protected::{create_protected, OwnedNode};
use crate::shared_count::SharedCount;

const LOCK_PARENT: &str = "locks";
const LEASE_PARENT: &str = "leases";
const LEASE_BASE_NAME: &str = "lease-";

/// Where a semaphore's maximum comes from. Every participant must agree on it.
#[derive(Debug, Clone)]
pub enum MaxLeases {
    /// A fixed number.
    Fixed(usize),
    /// The current value of a [`SharedCount`] (read on every check; waiters also watch it).
    Shared(SharedCount),
}

/// A counting semaphore shared with Curator's `InterProcessSemaphoreV2` on the same path.
///
/// # Znode layout
///
/// `<path>/locks` is an [`InterProcessMutex`] (`_c_<uuid>-lock-<seq>` nodes) that serializes
/// acquirers; `<path>/leases` holds one `_c_<uuid>-lease-<seq>` EPHEMERAL_SEQUENTIAL node per
/// lease. To acquire, a participant takes the mutex, creates its lease node, then lists the
/// leases (with a watch) until there are at most `max` of them, **still holding the mutex**
/// (so waiters are served in order), and finally releases the mutex.
///
/// # Connection loss
///
/// A lease node that vanished while waiting (session expired) makes the attempt start again
/// with a new node while the retry policy allows. A held [`Lease`] reports a possible loss
/// through [`Lease::validity`] and offers a [`Lease::fence`]. Closing or dropping a lease, a
/// timeout, an error or a dropped acquire future removes the lease node (guaranteed delete).
#[derive(Debug, Clone)]
pub struct InterProcessSemaphoreV2 {
    fw: Framework,
    path: String,
    max: MaxLeases,
    data: Option<Vec<u8>>,
}

/// One lease of a semaphore. Dropping it returns it (guaranteed delete in the background).
#[derive(Debug)]
pub struct Lease {
    node: OwnedNode,
    validity: ValidityTracker,
    fw: Framework,
}

impl Lease {
    /// The lease node's recipe path.
    pub fn node_path(&self) -> String {
        self.fw.unfix_path(self.node.path())
    }

    /// A check op on the lease node (see [`Fence`]).
    pub fn fence(&self) -> Fence {
        Fence::new(self.node.path().to_owned())
    }

    /// Turns false when the connection state says the lease may be lost.
    pub fn validity(&self) -> Validity {
        self.validity.validity()
    }

    /// Returns the lease: deletes its node (guaranteed delete; the first attempt's error is
    /// returned, retries continue in the background).
    ///
    /// # Cancel safety
    ///
    /// The delete is queued when called.
    pub async fn close(self) -> Result<()> {
        Ok(self.node.delete().await?)
    }
}

impl InterProcessSemaphoreV2 {
    /// A semaphore at `path` with a fixed maximum.
    pub fn new(fw: impl Into<Framework>, path_: &str, max_leases: usize) -> Result<Self> {
        Self::with_max(fw, path_, MaxLeases::Fixed(max_leases))
    }

    /// A semaphore at `path` whose maximum is `max`.
    pub fn with_max(fw: impl Into<Framework>, path_: &str, max: MaxLeases) -> Result<Self> {
        path::validate_path(path_, false)
            .map_err(|e| Error::Client(zk_client::Error::InvalidPath(e)))?;
        Ok(InterProcessSemaphoreV2 {
            fw: fw.into(),
            path: path_.to_owned(),
            max,
            data: None,
        })
    }

    /// Sets the data of lease nodes (`setNodeData`; default: the framework's default data).
    pub fn node_data(mut self, data: Vec<u8>) -> Self {
        self.data = Some(data);
        self
    }

    /// Acquires one lease, waiting as long as it takes.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future deletes the nodes it created (in the background).
    pub async fn acquire(&self) -> Result<Lease> {
        let v = self.acquire_many(1, None).await?;
        v.and_then(|mut v| v.pop()).ok_or(Error::Closed)
    }

    /// Acquires one lease within `timeout`; `None` when the time ran out.
    ///
    /// # Cancel safety
    ///
    /// As [`InterProcessSemaphoreV2::acquire`].
    pub async fn try_acquire(&self, timeout: Duration) -> Result<Option<Lease>> {
        Ok(self
            .acquire_many(1, Some(timeout))
            .await?
            .and_then(|mut v| v.pop()))
    }

    /// Acquires `qty` leases, one at a time, within `timeout` if given; on a timeout or an
    /// error every lease taken so far is returned.
    ///
    /// # Cancel safety
    ///
    /// As [`InterProcessSemaphoreV2::acquire`].
    pub async fn acquire_many(
        &self,
        qty: usize,
        timeout: Option<Duration>,
    ) -> Result<Option<Vec<Lease>>> {
        if qty == 0 {
            return Err(Error::InvalidArgument("qty must be at least 1"));
        }
        let deadline = timeout.map(|t| Instant::now() + t);
        let mut leases = Vec::with_capacity(qty);
        let start = Instant::now();
        let mut retries = 0;
        while leases.len() < qty {
            match self.acquire_one(deadline).await {
                Ok(Some(l)) => leases.push(l),
                // Dropping `leases` returns them.
                Ok(None) => return Ok(None),
                Err(Error::NodeVanished(p)) => {
                    let sleep = self.fw.retry_policy().next_sleep(
                        retries,
                        start.elapsed(),
                        &mut rand::thread_rng(),
                    );
                    match sleep {
                        Some(d) => tokio::time::sleep(d).await,
                        None => return Err(Error::NodeVanished(p)),
                    }
                    retries += 1;
                }
                Err(e) => return Err(e),
            }
        }
        Ok(Some(leases))
    }

    async fn max_leases(&self) -> Result<usize> {
        Ok(match &self.max {
            MaxLeases::Fixed(n) => *n,
            MaxLeases::Shared(c) => c.count().await?.max(0) as usize,
        })
    }

    /// `internalAcquire1Lease`.
    async fn acquire_one(&self, deadline: Option<Instant>) -> Result<Option<Lease>> {
        let lock = InterProcessMutex::new(&self.fw, &path::join(&self.path, LOCK_PARENT))?;
        let locked = match deadline {
            Some(d) => {
                lock.try_acquire(d.saturating_duration_since(Instant::now()))
                    .await?
            }
            None => lock.acquire().await.map(|_| true)?,
        };
        if !locked {
            return Ok(None);
        }
        let r = self.lease_under_lock(deadline).await;
        // Released on every path; a failure here only delays the next acquirer until the
        // background delete succeeds.
        let _ = lock.release().await;
        r
    }

    async fn lease_under_lock(&self, deadline: Option<Instant>) -> Result<Option<Lease>> {
        let leases = path::join(&self.path, LEASE_PARENT);
        let data = self.data.as_deref().unwrap_or(self.fw.default_data());
        let node = create_protected(
            &self.fw,
            &path::join(&leases, LEASE_BASE_NAME),
            data,
            CreateMode::EphemeralSequential,
        )
        .await?;
        let full = self.fw.fix_path(&leases);
        let mut events = self.fw.state_events();
        let wait = async {
            loop {
                let client = self.fw.client();
                let (children, w) = match client.get_children_and_watch(&full).await {
                    Ok((c, _, w)) => (c, Some(w)),
                    Err(zk_client::Error::NoNode) => (Vec::new(), None),
                    Err(e) if e.is_retryable() => {
                        wait_state_or(&mut events, WAITER_FAILURE_PAUSE).await;
                        continue;
                    }
                    Err(e) => return Err(Error::from(e)),
                };
                if !children.iter().any(|c| c == node.name()) {
                    return Err(Error::NodeVanished(node.path().to_owned()));
                }
                let (max, count_watch) = match &self.max {
                    MaxLeases::Fixed(n) => (*n, None),
                    MaxLeases::Shared(c) => {
                        let (v, w) = c.count_and_watch().await?;
                        (v.max(0) as usize, Some(w))
                    }
                };
                if children.len() <= max {
                    return Ok(());
                }
                tokio::select! {
                    _ = async { if let Some(w) = w { let _ = w.await; } else { std::future::pending::<()>().await } } => {}
                    _ = async { if let Some(w) = count_watch { let _ = w.await; } else { std::future::pending::<()>().await } } => {}
                    _ = recv_state(&mut events) => {}
                }
            }
        };
        let r = match deadline {
            Some(d) => match tokio::time::timeout_at(d.into(), wait).await {
                Ok(r) => r,
                Err(_) => return Ok(None),
            },
            None => wait.await,
        };
        r?;
        let validity = ValidityTracker::start(&self.fw);
        Ok(Some(Lease {
            node,
            validity,
            fw: self.fw.clone(),
        }))
    }

    /// The lease nodes' names (`getParticipantNodes`).
    ///
    /// # Cancel safety
    ///
    /// Cancel safe (a read).
    pub async fn participant_nodes(&self) -> Result<Vec<String>> {
        let full = self.fw.fix_path(&path::join(&self.path, LEASE_PARENT));
        match self.fw.client().get_children(&full).await {
            Ok(c) => Ok(c),
            Err(zk_client::Error::NoNode) => Ok(Vec::new()),
            Err(e) => Err(e.into()),
        }
    }

    /// The current maximum.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe.
    pub async fn max(&self) -> Result<usize> {
        self.max_leases().await
    }
}

/// A non-re-entrant mutex shared with Curator's `InterProcessSemaphoreMutex`: a semaphore
/// with one lease. Acquiring it again on the same handle waits for itself, as in Curator:
/// use a timeout.
///
/// # Znode layout
///
/// As [`InterProcessSemaphoreV2`] with a maximum of 1: `<path>/locks/_c_<uuid>-lock-<seq>`
/// while acquiring, `<path>/leases/_c_<uuid>-lease-<seq>` while held.
///
/// # Connection loss
///
/// As [`InterProcessSemaphoreV2`]: the holder learns of a possible loss through
/// [`InterProcessSemaphoreMutex::validity`] and can fence writes; the lease node is deleted
/// on release, on drop of the handle, and after a failed or dropped acquire.
#[derive(Debug)]
pub struct InterProcessSemaphoreMutex {
    sem: InterProcessSemaphoreV2,
    lease: StdMutex<Option<Lease>>,
}

impl InterProcessSemaphoreMutex {
    /// A semaphore mutex at `path`.
    pub fn new(fw: impl Into<Framework>, path_: &str) -> Result<Self> {
        Ok(InterProcessSemaphoreMutex {
            sem: InterProcessSemaphoreV2::new(fw, path_, 1)?,
            lease: StdMutex::new(None),
        })
    }

    fn lease(&self) -> std::sync::MutexGuard<'_, Option<Lease>> {
        // A poisoned lock means a panic in a one-line critical section; the data is consistent.
        self.lease.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Acquires, waiting as long as it takes.
    ///
    /// # Cancel safety
    ///
    /// As [`InterProcessSemaphoreV2::acquire`].
    pub async fn acquire(&self) -> Result<()> {
        let l = self.sem.acquire().await?;
        *self.lease() = Some(l);
        Ok(())
    }

    /// Acquires within `timeout`; false when the time ran out.
    ///
    /// # Cancel safety
    ///
    /// As [`InterProcessSemaphoreV2::acquire`].
    pub async fn try_acquire(&self, timeout: Duration) -> Result<bool> {
        match self.sem.try_acquire(timeout).await? {
            Some(l) => {
                *self.lease() = Some(l);
                Ok(true)
            }
            None => Ok(false),
        }
    }

    /// Releases.
    ///
    /// # Cancel safety
    ///
    /// The delete is queued when called.
    pub async fn release(&self) -> Result<()> {
        let lease = self.lease().take();
        match lease {
            Some(l) => l.close().await,
            None => Err(Error::NotHeld("InterProcessSemaphoreMutex::release")),
        }
    }

    /// True while this handle holds it.
    pub fn is_acquired_in_this_process(&self) -> bool {
        self.lease().is_some()
    }

    /// A check op on our lease node while held.
    pub fn fence(&self) -> Option<Fence> {
        self.lease().as_ref().map(Lease::fence)
    }

    /// While held: turns false when the connection state says we may have lost it.
    pub fn validity(&self) -> Option<Validity> {
        self.lease().as_ref().map(Lease::validity)
    }
}
