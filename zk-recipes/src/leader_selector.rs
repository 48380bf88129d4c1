//! [`LeaderSelector`]: Curator's leader election by mutex, with a take-leadership future.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex as StdMutex};

use tokio::sync::{watch, Notify};
use tokio::task::JoinHandle;

use crate::error::{Error, Result};
use crate::fence::{Fence, Validity};
use crate::framework::Framework;
use crate::leader_latch::{participants, Participant};
use crate::limits::SELECTOR_FAILURE_PAUSE;
use crate::mutex::InterProcessMutex;

/// What a leader gets while it leads: a fence for its writes and the validity of its
/// leadership.
#[derive(Debug, Clone)]
pub struct Leadership {
    /// A check op on the leader's lock node.
    pub fence: Fence,
    /// Turns false when the connection state says leadership may be lost (the leader's future
    /// is dropped at the same moment).
    pub validity: Validity,
    /// The framework, to do the leader's work with.
    pub framework: Framework,
}

type TakeLeadership =
    Arc<dyn Fn(Leadership) -> Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync>;

/// Leader election shared with Curator's `LeaderSelector` on the same path: the leader runs a
/// future; when it completes, leadership is given up.
///
/// # Znode layout
///
/// Exactly an [`InterProcessMutex`] on `<path>`: nodes `_c_<uuid>-lock-<seq>` with the id as
/// UTF-8 data (the framework's default data when the id is empty). It is byte-identical to
/// Curator's `LeaderSelector`, and also excludes Curator `InterProcessMutex` users of the path.
///
/// # Connection loss
///
/// The take-leadership future is **dropped** (interrupted) as soon as the connection state is
/// an error under the framework's policy (SUSPENDED or LOST by default), like Curator's
/// `LeaderSelectorListenerAdapter` throwing `CancelLeadershipException`; then the mutex is
/// released. With auto-requeue the selector queues again; otherwise it waits for
/// [`LeaderSelector::requeue`]. [`LeaderSelector::interrupt_leadership`] drops the future on
/// demand.
pub struct LeaderSelector {
    shared: Arc<Shared>,
    task: StdMutex<Option<JoinHandle<()>>>,
}

impl std::fmt::Debug for LeaderSelector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LeaderSelector")
            .field("path", &self.shared.path)
            .field("id", &self.shared.id)
            .finish_non_exhaustive()
    }
}

struct Shared {
    fw: Framework,
    path: String,
    id: String,
    auto_requeue: AtomicBool,
    queued: AtomicBool,
    requeue: Notify,
    /// Bumped by each interrupt; a leader sees the bumps after its leadership began.
    interrupt: watch::Sender<u64>,
    leader: watch::Sender<bool>,
    stop: watch::Sender<bool>,
}

/// Configures a [`LeaderSelector`].
#[derive(Debug)]
pub struct LeaderSelectorBuilder {
    fw: Framework,
    path: String,
    id: String,
    auto_requeue: bool,
}

impl LeaderSelectorBuilder {
    /// The participant id, stored in the lock node.
    pub fn id(mut self, id: impl Into<String>) -> Self {
        self.id = id.into();
        self
    }

    /// Queue again after each leadership (`autoRequeue()`).
    pub fn auto_requeue(mut self, on: bool) -> Self {
        self.auto_requeue = on;
        self
    }

    /// Starts the selector: it queues for leadership and runs `take_leadership` each time it
    /// leads.
    pub fn start<F, Fut>(self, take_leadership: F) -> Result<LeaderSelector>
    where
        F: Fn(Leadership) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        zk_core::path::validate_path(&self.path, false)
            .map_err(|e| Error::Client(zk_client::Error::InvalidPath(e)))?;
        let shared = Arc::new(Shared {
            fw: self.fw,
            path: self.path,
            id: self.id,
            auto_requeue: AtomicBool::new(self.auto_requeue),
            queued: AtomicBool::new(true),
            requeue: Notify::new(),
            interrupt: watch::channel(0).0,
            leader: watch::channel(false).0,
            stop: watch::channel(false).0,
        });
        let f: TakeLeadership = Arc::new(move |l| Box::pin(take_leadership(l)));
        let s = shared.clone();
        let task = shared.fw.spawn(async move { s.run(f).await });
        Ok(LeaderSelector {
            shared,
            task: StdMutex::new(Some(task)),
        })
    }
}

impl LeaderSelector {
    /// A builder for a selector at `path`.
    pub fn builder(fw: impl Into<Framework>, path_: &str) -> LeaderSelectorBuilder {
        LeaderSelectorBuilder {
            fw: fw.into(),
            path: path_.to_owned(),
            id: String::new(),
            auto_requeue: false,
        }
    }

    /// True while the take-leadership future runs.
    pub fn has_leadership(&self) -> bool {
        *self.shared.leader.borrow()
    }

    /// Every change of leadership.
    pub fn leadership(&self) -> watch::Receiver<bool> {
        self.shared.leader.subscribe()
    }

    /// Queues for leadership again (when not auto-requeueing); no effect while queued.
    pub fn requeue(&self) {
        self.shared.queued.store(true, Ordering::SeqCst);
        self.shared.requeue.notify_one();
    }

    /// Sets auto-requeue.
    pub fn set_auto_requeue(&self, on: bool) {
        self.shared.auto_requeue.store(on, Ordering::SeqCst);
    }

    /// Drops the running take-leadership future, which gives up leadership.
    pub fn interrupt_leadership(&self) {
        self.shared.interrupt.send_modify(|n| *n += 1);
    }

    /// The participants in order; the first leads.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe (reads).
    pub async fn participants(&self) -> Result<Vec<Participant>> {
        participants(&self.shared.fw, &self.shared.path, "lock-").await
    }

    /// Stops: interrupts leadership, leaves the queue, deletes our node. When leading, the
    /// release's delete is awaited; when queued, the delete is queued on the session before
    /// this returns (a later request on the same session sees it applied) and retried in the
    /// background.
    ///
    /// # Cancel safety
    ///
    /// The stop is decided when called; the future waits for the task to end.
    pub async fn close(&self) {
        self.shared.stop.send_replace(true);
        let task = self.task.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(t) = task {
            let _ = t.await;
        }
    }
}

impl Drop for LeaderSelector {
    fn drop(&mut self) {
        self.shared.stop.send_replace(true);
        if let Some(t) = self.task.lock().unwrap_or_else(|e| e.into_inner()).take() {
            t.abort();
        }
    }
}

impl Shared {
    async fn run(self: Arc<Self>, f: TakeLeadership) {
        let mut stop = self.stop.subscribe();
        let data = if self.id.is_empty() {
            self.fw.default_data().to_vec()
        } else {
            self.id.as_bytes().to_vec()
        };
        let Ok(mutex) = InterProcessMutex::with_data(&self.fw, &self.path, data) else {
            return;
        };
        tokio::select! {
            _ = stop.wait_for(|v| *v) => {}
            _ = self.select_loop(&mutex, &f) => {}
        }
        self.leader.send_replace(false);
        if mutex.is_acquired_in_this_process() {
            let _ = mutex.release().await;
        }
    }

    async fn select_loop(&self, mutex: &InterProcessMutex, f: &TakeLeadership) {
        loop {
            if self.fw.is_closed() {
                return;
            }
            while !self.queued.load(Ordering::SeqCst) {
                self.requeue.notified().await;
            }
            if let Err(e) = mutex.acquire().await {
                tracing::debug!(error = %e, "leader selector: acquire failed");
                if matches!(e, Error::Client(ref c) if c.is_terminal())
                    && !self.fw.recreates_sessions()
                {
                    return;
                }
                tokio::time::sleep(SELECTOR_FAILURE_PAUSE).await;
                continue;
            }
            let (Some(fence), Some(validity)) = (mutex.fence(), mutex.validity()) else {
                continue;
            };
            let mut interrupted = self.interrupt.subscribe();
            interrupted.borrow_and_update();
            self.leader.send_replace(true);
            let leadership = Leadership {
                fence,
                validity: validity.clone(),
                framework: self.fw.clone(),
            };
            tokio::select! {
                _ = f(leadership) => {}
                _ = validity.lost() => tracing::debug!("leader selector: connection lost, leadership interrupted"),
                _ = interrupted.changed() => {}
            }
            // Dequeue before telling anyone leadership ended, so a `requeue` made by someone
            // who saw the end is not overwritten.
            if !self.auto_requeue.load(Ordering::SeqCst) {
                self.queued.store(false, Ordering::SeqCst);
            }
            self.leader.send_replace(false);
            // Connection failures are swallowed, as Curator's requeue does.
            let _ = mutex.release().await;
        }
    }
}
