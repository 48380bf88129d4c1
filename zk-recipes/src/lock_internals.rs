//! The core of Curator's locks (`LockInternals` + `StandardLockInternalsDriver`): one
//! protected EPHEMERAL_SEQUENTIAL node per attempt, all children sorted by the suffix after the
//! lock name, and a getData watch on the one node we wait for.

use std::time::{Duration, Instant};

use tokio::sync::broadcast;
use zk_client::CreateMode;
use zk_core::path;

use crate::error::{Error, Result};
use crate::framework::Framework;
use crate::limits::WAITER_FAILURE_PAUSE;
use crate::naming::sort_children;
use crate::protected::{create_protected, OwnedNode};

/// What a driver decided for one sorted list of children.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Decision {
    /// We hold the lock.
    pub(crate) acquired: bool,
    /// Otherwise, the child to watch.
    pub(crate) watch: Option<String>,
}

/// Decides, from the sorted children and our node's name, whether we hold the lock.
pub(crate) trait LockDriver: Send + Sync + std::fmt::Debug {
    /// The lock names stripped, in order, to get a child's sort key.
    fn sort_names(&self) -> &'static [&'static str];
    /// The decision; `None` when our node is not among the children.
    fn decide(&self, children: &[String], our_name: &str, max_leases: usize) -> Option<Decision>;
}

/// `StandardLockInternalsDriver.getsTheLock`: held when our index is below `max_leases`;
/// otherwise watch the node `max_leases` places before us.
#[derive(Debug, Clone, Copy)]
pub(crate) struct StandardDriver {
    pub(crate) names: &'static [&'static str],
}

impl LockDriver for StandardDriver {
    fn sort_names(&self) -> &'static [&'static str] {
        self.names
    }

    fn decide(&self, children: &[String], our_name: &str, max_leases: usize) -> Option<Decision> {
        let i = children.iter().position(|c| c == our_name)?;
        Some(if i < max_leases {
            Decision {
                acquired: true,
                watch: None,
            }
        } else {
            Decision {
                acquired: false,
                watch: Some(children[i - max_leases].clone()),
            }
        })
    }
}

/// One lock path with one driver.
#[derive(Debug)]
pub(crate) struct LockInternals {
    pub(crate) fw: Framework,
    /// The recipe path of the lock (`<p>`).
    pub(crate) base: String,
    /// The lock name (`lock-`, `__READ__`, ...).
    pub(crate) lock_name: &'static str,
    pub(crate) max_leases: usize,
    pub(crate) data: Option<Vec<u8>>,
}

impl LockInternals {
    /// Sorted children (names) of the lock path, by the driver's rule.
    pub(crate) async fn sorted_children(&self, driver: &dyn LockDriver) -> Result<Vec<String>> {
        let full = self.fw.fix_path(&self.base);
        let mut children = match self
            .fw
            .retry(|c| {
                let full = full.clone();
                async move { c.get_children(&full).await }
            })
            .await
        {
            Err(zk_client::Error::NoNode) => Vec::new(),
            other => other?,
        };
        sort_children(&mut children, driver.sort_names());
        Ok(children)
    }

    /// `attemptLock`: creates a node and waits until `driver` says we hold the lock, or the
    /// deadline passes (`Ok(None)`, node deleted). If our node vanishes, the whole attempt is
    /// retried with a new node while the retry policy allows.
    ///
    /// `node` replaces the create: a name and mode made by the caller (the read lock's
    /// downgrade).
    ///
    /// # Cancel safety
    ///
    /// Dropping the future deletes (guaranteed, in the background) any node it created.
    pub(crate) async fn attempt_lock(
        &self,
        driver: &dyn LockDriver,
        deadline: Option<Instant>,
        node: Option<(String, CreateMode)>,
    ) -> Result<Option<OwnedNode>> {
        let start = Instant::now();
        let mut retries = 0;
        loop {
            let attempt = async {
                let ours = match &node {
                    Some((name, mode)) => {
                        let p = path::join(&self.base, name);
                        create_protected(&self.fw, &p, self.data(), *mode).await?
                    }
                    None => {
                        let p = path::join(&self.base, self.lock_name);
                        create_protected(&self.fw, &p, self.data(), CreateMode::EphemeralSequential)
                            .await?
                    }
                };
                self.wait_for_lock(driver, &ours).await?;
                Ok::<_, Error>(ours)
            };
            let r = match deadline {
                Some(d) => match tokio::time::timeout_at(d.into(), attempt).await {
                    Ok(r) => r,
                    // The attempt's future is dropped here, and with it our node's guard.
                    Err(_) => return Ok(None),
                },
                None => attempt.await,
            };
            match r {
                Ok(ours) => return Ok(Some(ours)),
                Err(Error::NodeVanished(p)) => {
                    let sleep = self.fw.retry_policy().next_sleep(
                        retries,
                        start.elapsed(),
                        &mut rand::thread_rng(),
                    );
                    match sleep {
                        Some(d) if !self.fw.is_closed() => tokio::time::sleep(d).await,
                        _ => return Err(Error::NodeVanished(p)),
                    }
                    retries += 1;
                }
                Err(e) => return Err(e),
            }
        }
    }

    fn data(&self) -> &[u8] {
        self.data.as_deref().unwrap_or(self.fw.default_data())
    }

    /// `internalLockLoop`: re-lists until we hold the lock; waits on the predecessor's getData
    /// watch, waking on any connection-state change too.
    async fn wait_for_lock(&self, driver: &dyn LockDriver, ours: &OwnedNode) -> Result<()> {
        let mut events = self.fw.state_events();
        let mut closed = self.fw.closed_signal();
        loop {
            if self.fw.is_closed() {
                return Err(Error::Closed);
            }
            let children = self.sorted_children(driver).await?;
            let decision = driver
                .decide(&children, ours.name(), self.max_leases)
                .ok_or_else(|| Error::NodeVanished(ours.path().to_owned()))?;
            if decision.acquired {
                return Ok(());
            }
            let Some(watch) = decision.watch else {
                return Err(Error::InvalidArgument("driver gave neither lock nor watch"));
            };
            let target = self.fw.fix_path(&path::join(&self.base, &watch));
            match self.fw.client().get_data_and_watch(&target).await {
                Err(zk_client::Error::NoNode) => continue,
                Err(e) if e.is_retryable() => {
                    wait_state_or(&mut events, WAITER_FAILURE_PAUSE).await;
                }
                Err(e) => return Err(e.into()),
                Ok((_, _, w)) => {
                    tokio::select! {
                        _ = w => {}
                        _ = recv_state(&mut events) => {}
                        _ = closed.changed() => return Err(Error::Closed),
                    }
                }
            }
        }
    }
}

/// The next state event (a lag counts as one).
pub(crate) async fn recv_state(
    events: &mut broadcast::Receiver<crate::ConnectionState>,
) -> Option<crate::ConnectionState> {
    match events.recv().await {
        Ok(s) => Some(s),
        Err(broadcast::error::RecvError::Lagged(_)) => Some(crate::ConnectionState::Suspended),
        Err(broadcast::error::RecvError::Closed) => std::future::pending().await,
    }
}

/// Waits for a state event or `pause`, whichever comes first.
pub(crate) async fn wait_state_or(
    events: &mut broadcast::Receiver<crate::ConnectionState>,
    pause: Duration,
) {
    let _ = tokio::time::timeout(pause, recv_state(events)).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn standard_driver_watches_the_predecessor() {
        let d = StandardDriver { names: &["lock-"] };
        let c = names(&["a-lock-1", "b-lock-2", "c-lock-3"]);
        assert!(d.decide(&c, "a-lock-1", 1).unwrap().acquired);
        let x = d.decide(&c, "c-lock-3", 1).unwrap();
        assert_eq!(x.watch.as_deref(), Some("b-lock-2"));
        let y = d.decide(&c, "c-lock-3", 2).unwrap();
        assert_eq!(y.watch.as_deref(), Some("a-lock-1"));
        assert!(d.decide(&c, "b-lock-2", 2).unwrap().acquired);
        assert_eq!(d.decide(&c, "z", 1), None);
    }
}
