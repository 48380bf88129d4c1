//! Fencing and validity: what a holder of a lock or leadership can check.
//!
//! Curator's locks cannot stop a holder whose session silently expired from writing
//! (CURATOR-206, CURATOR-689). A [`Fence`] is the fix Curator's maintainers proposed: a
//! `check` op on the holder's own lock node, added to a multi, so the write commits only while
//! the node, and so the lock, still exists. A [`Validity`] tells the holder, according to the
//! framework's [`ErrorPolicy`](crate::ErrorPolicy), that it may no longer hold.

use tokio::sync::{broadcast, watch};
use tokio::task::AbortHandle;
use zk_client::{MultiBuilder, Version};

use crate::framework::Framework;

/// A check op guarding a write with a held lock or leadership.
///
/// ```no_run
/// # async fn f(mutex: zk_recipes::InterProcessMutex, fw: zk_recipes::Framework) -> zk_recipes::Result<()> {
/// use zk_client::Version;
/// mutex.acquire().await?;
/// let fence = mutex.fence().expect("held");
/// // Commits only if our lock node still exists.
/// let write = fw.client().multi();
/// fence.check(write).set_data("/counter", b"42", Version::Any).commit().await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fence {
    path: String,
    version: Version,
}

impl Fence {
    /// A fence on the lock node `client_path`, which must exist (any version).
    pub(crate) fn new(client_path: String) -> Fence {
        Fence {
            path: client_path,
            version: Version::Any,
        }
    }

    /// The lock node, as a client path (namespace applied).
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The version checked ([`Version::Any`]: only that the node exists).
    pub fn version(&self) -> Version {
        self.version
    }

    /// Adds the check op to `multi`.
    pub fn check(&self, multi: MultiBuilder) -> MultiBuilder {
        multi.check(&self.path, self.version)
    }
}

/// Turns false, once, when the connection state means the holder may have lost what it holds
/// (SUSPENDED or LOST under the standard error policy, LOST under the session policy), or when
/// it released.
#[derive(Debug, Clone)]
pub struct Validity {
    rx: watch::Receiver<bool>,
}

impl Validity {
    /// True while nothing suggests the hold was lost.
    pub fn is_valid(&self) -> bool {
        *self.rx.borrow()
    }

    /// Waits until the hold may be lost.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe.
    pub async fn lost(&self) {
        let mut rx = self.rx.clone();
        let _ = rx.wait_for(|v| !*v).await;
    }
}

/// The sender side of a [`Validity`]: a task on the framework's state events.
#[derive(Debug)]
pub(crate) struct ValidityTracker {
    tx: watch::Sender<bool>,
    task: AbortHandle,
}

impl ValidityTracker {
    /// Starts tracking now; invalid at once if the framework is in an error state.
    pub(crate) fn start(fw: &Framework) -> ValidityTracker {
        let policy = fw.error_policy();
        let mut events = fw.state_events();
        let initially = !fw
            .connection_state()
            .is_some_and(|s| policy.is_error_state(s));
        let (tx, _) = watch::channel(initially);
        let tx2 = tx.clone();
        let task = fw.spawn(async move {
            loop {
                match events.recv().await {
                    Ok(s) if !policy.is_error_state(s) => continue,
                    Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                    Err(broadcast::error::RecvError::Closed) => {}
                }
                tx2.send_replace(false);
                return;
            }
        });
        ValidityTracker {
            tx,
            task: task.abort_handle(),
        }
    }

    pub(crate) fn validity(&self) -> Validity {
        Validity {
            rx: self.tx.subscribe(),
        }
    }
}

impl Drop for ValidityTracker {
    fn drop(&mut self) {
        self.task.abort();
        self.tx.send_replace(false);
    }
}
