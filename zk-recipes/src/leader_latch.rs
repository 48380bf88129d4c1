//! [`LeaderLatch`]: Curator's leader election by latch.

use std::sync::{Arc, Mutex as StdMutex};
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;
use zk_core::path;

use crate::error::{Error, Result};
use crate::fence::Fence;
use crate::framework::Framework;
use crate::protected::OwnedNode;

mod task;

pub(crate) use task::participants;
use task::Shared;

const LATCH_NAME: &str = "latch-";

/// How a [`LeaderLatch`] tells its listeners about the leadership it gives up when closed
/// (`LeaderLatch.CloseMode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CloseMode {
    /// Listeners are not told (the default).
    #[default]
    Silent,
    /// Listeners see the change to "not leader".
    NotifyLeader,
}

/// A participant of an election: its id (the node's data) and whether it leads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Participant {
    /// The id, read from the node's data as UTF-8.
    pub id: String,
    /// True for the leader.
    pub is_leader: bool,
}

/// Leader election shared with Curator's `LeaderLatch` on the same path.
///
/// # Znode layout
///
/// Each participant has one node `<path>/_c_<uuid>-latch-<seq>` (EPHEMERAL_SEQUENTIAL, parents
/// as containers, data = the id in UTF-8, possibly empty). Children sort by what follows the
/// last `latch-`. The first is the leader, once it has checked that the node's
/// `ephemeralOwner` is its own session (CURATOR-696); every other participant watches its
/// predecessor with getData and re-lists when it is deleted.
///
/// # Connection loss
///
/// On SUSPENDED (standard error policy) or LOST the latch stops being leader at once. On
/// RECONNECTED it re-lists: if its node survived it may lead again; if the node is gone (the
/// session expired), it creates a new one. It never deletes its node on reconnect (the
/// CURATOR-620/653 races). Closing deletes the node (guaranteed delete); dropping the latch
/// without closing it stops the election and deletes the node in the background.
///
/// ```no_run
/// # async fn f(client: zk_client::Client) -> zk_recipes::Result<()> {
/// use std::time::Duration;
/// let latch = zk_recipes::LeaderLatch::new(client, "/master").await?;
/// if latch.await_leadership(Duration::from_secs(10)).await? {
///     // lead; watch latch.leadership() to learn when to stop
/// }
/// latch.close().await;
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct LeaderLatch {
    shared: Arc<Shared>,
    task: StdMutex<Option<JoinHandle<Option<OwnedNode>>>>,
    stop: watch::Sender<bool>,
}

/// Configures a [`LeaderLatch`].
#[derive(Debug)]
pub struct LeaderLatchBuilder {
    fw: Framework,
    path: String,
    id: String,
}

impl LeaderLatchBuilder {
    /// The participant id, stored in the node (default empty).
    pub fn id(mut self, id: impl Into<String>) -> Self {
        self.id = id.into();
        self
    }

    /// Starts the latch: creates its node, then runs the election in a background task.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future before it completes deletes the node it may have created.
    pub async fn start(self) -> Result<LeaderLatch> {
        path::validate_path(&self.path, false)
            .map_err(|e| Error::Client(zk_client::Error::InvalidPath(e)))?;
        let shared = Arc::new(Shared {
            fw: self.fw,
            path: self.path,
            id: self.id,
            leader: watch::channel(false).0,
            our_path: StdMutex::new(None),
        });
        let node = shared.create_node().await?;
        let (stop, stop_rx) = watch::channel(false);
        let s = shared.clone();
        let task = shared.fw.spawn(async move { s.run(node, stop_rx).await });
        Ok(LeaderLatch {
            shared,
            task: StdMutex::new(Some(task)),
            stop,
        })
    }
}

impl LeaderLatch {
    /// Joins the election at `path` with an empty id; the headline constructor.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future before it completes deletes the node it may have created.
    pub async fn new(client: impl Into<Framework>, path_: &str) -> Result<LeaderLatch> {
        Self::builder(client, path_).start().await
    }

    /// A builder, to set the id.
    pub fn builder(client: impl Into<Framework>, path_: &str) -> LeaderLatchBuilder {
        LeaderLatchBuilder {
            fw: client.into(),
            path: path_.to_owned(),
            id: String::new(),
        }
    }

    /// True while this latch leads.
    pub fn has_leadership(&self) -> bool {
        *self.shared.leader.borrow()
    }

    /// Every change of leadership, as a `watch` receiver (`LeaderLatchListener`): `true` on
    /// `isLeader`, `false` on `notLeader`.
    pub fn leadership(&self) -> watch::Receiver<bool> {
        self.shared.leader.subscribe()
    }

    /// Every change of leadership as a stream (`true` on `isLeader`, `false` on
    /// `notLeader`), starting with the current value. It ends when the latch is dropped.
    pub fn leadership_stream(&self) -> impl futures::Stream<Item = bool> + Send + 'static {
        let rx = self.shared.leader.subscribe();
        futures::stream::unfold((rx, true), |(mut rx, first)| async move {
            if !first && rx.changed().await.is_err() {
                return None;
            }
            let v = *rx.borrow_and_update();
            Some((v, (rx, false)))
        })
    }

    /// Waits until this latch leads or `timeout` passes; true when it leads.
    /// [`Error::Closed`] once closed.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe.
    pub async fn await_leadership(&self, timeout: Duration) -> Result<bool> {
        let mut rx = self.shared.leader.subscribe();
        let mut stop = self.stop.subscribe();
        let wait = async move {
            tokio::select! {
                r = rx.wait_for(|v| *v) => r.map(|_| true).map_err(|_| Error::Closed),
                _ = stop.wait_for(|v| *v) => Err(Error::Closed),
            }
        };
        tokio::time::timeout(timeout, wait)
            .await
            .unwrap_or(Ok(false))
    }

    /// The participant id.
    pub fn id(&self) -> &str {
        &self.shared.id
    }

    /// Our node's recipe path, if it currently has one.
    pub fn our_path(&self) -> Option<String> {
        self.shared
            .our_path()
            .map(|p| self.shared.fw.unfix_path(&p))
    }

    /// While leading: a check op on our latch node (see [`Fence`]).
    pub fn fence(&self) -> Option<Fence> {
        if !self.has_leadership() {
            return None;
        }
        self.shared.our_path().map(Fence::new)
    }

    /// Every participant, in election order (`getParticipants`). Nodes that vanish while
    /// being read are skipped.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe (reads).
    pub async fn participants(&self) -> Result<Vec<Participant>> {
        participants(&self.shared.fw, &self.shared.path, LATCH_NAME).await
    }

    /// The leader (`getLeader`), if any.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe (reads).
    pub async fn leader(&self) -> Result<Option<Participant>> {
        Ok(self.participants().await?.into_iter().next())
    }

    /// Closes with [`CloseMode::Silent`].
    ///
    /// # Cancel safety
    ///
    /// The close happens when called; the future only waits for the node's delete.
    pub async fn close(&self) {
        self.close_with(CloseMode::Silent).await
    }

    /// Leaves the election: stops leading (telling listeners per `mode`) and deletes our
    /// node (guaranteed delete).
    ///
    /// # Cancel safety
    ///
    /// As [`LeaderLatch::close`].
    pub async fn close_with(&self, mode: CloseMode) {
        self.stop.send_replace(true);
        match mode {
            // Listeners hear of it only if we led (Curator's setLeadership(false)).
            CloseMode::NotifyLeader => self.shared.set_leader(false),
            CloseMode::Silent => {
                self.shared.leader.send_if_modified(|v| {
                    *v = false;
                    false
                });
            }
        }
        let task = self.task.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(t) = task {
            // The task hands back its node, if it has one, for us to delete.
            if let Ok(Some(node)) = t.await {
                let _ = node.delete().await;
            }
        }
    }
}

impl Drop for LeaderLatch {
    fn drop(&mut self) {
        self.stop.send_replace(true);
        if let Some(t) = self.task.lock().unwrap_or_else(|e| e.into_inner()).take() {
            t.abort();
        }
    }
}
