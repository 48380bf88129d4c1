//! The latch's background task: create, list, check ownership, watch the predecessor, and
//! act on connection states.

use std::sync::{Arc, Mutex as StdMutex};

use tokio::sync::{broadcast, watch};
use zk_client::CreateMode;
use zk_core::path;

use super::{Participant, LATCH_NAME};
use crate::error::{Error, Result};
use crate::framework::Framework;
use crate::limits::LATCH_FAILURE_PAUSE;
use crate::lock_internals::{recv_state, wait_state_or};
use crate::naming::sort_children;
use crate::protected::{create_protected, OwnedNode};
use crate::state::{ConnectionState, ErrorPolicy};

#[derive(Debug)]
pub(super) struct Shared {
    pub(super) fw: Framework,
    pub(super) path: String,
    pub(super) id: String,
    pub(super) leader: watch::Sender<bool>,
    /// Our node's client path, when we have one.
    pub(super) our_path: StdMutex<Option<String>>,
}

impl Shared {
    pub(super) fn our_path(&self) -> Option<String> {
        self.our_path
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub(super) fn take_path(&self) -> Option<String> {
        self.our_path
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
    }

    pub(super) fn set_leader(&self, v: bool) {
        self.leader.send_if_modified(|cur| {
            let changed = *cur != v;
            *cur = v;
            changed
        });
    }

    pub(super) async fn create_node(&self) -> Result<OwnedNode> {
        let p = path::join(&self.path, LATCH_NAME);
        let node = create_protected(
            &self.fw,
            &p,
            self.id.as_bytes(),
            CreateMode::EphemeralSequential,
        )
        .await?;
        *self.our_path.lock().unwrap_or_else(|e| e.into_inner()) = Some(node.path().to_owned());
        Ok(node)
    }

    /// `reset()`: not leader, old node deleted, no node until the next create.
    fn reset(&self, node: &mut Option<OwnedNode>) {
        self.set_leader(false);
        self.take_path();
        *node = None;
    }

    /// Runs the election until stopped; returns our node for the closer to delete. (If the
    /// task is aborted instead, dropping the node's guard queues its delete.)
    pub(super) async fn run(
        self: Arc<Self>,
        first: OwnedNode,
        mut stop: watch::Receiver<bool>,
    ) -> Option<OwnedNode> {
        let mut node = Some(first);
        let mut events = self.fw.state_events();
        tokio::select! {
            _ = stop.wait_for(|v| *v) => {}
            _ = self.elect(&mut node, &mut events) => {}
        }
        self.set_leader(false);
        self.take_path();
        node
    }

    /// One state event: leadership off per the error policy.
    fn on_state(&self, s: Option<ConnectionState>) {
        if let Some(s) = s {
            if self.fw.error_policy().is_error_state(s) {
                self.set_leader(false);
            }
        }
    }

    /// Awaits `fut` while still acting on connection states: a SUSPENDED that arrives while a
    /// request waits for a connection must end leadership at once, not after the request.
    async fn during<T>(
        &self,
        events: &mut broadcast::Receiver<ConnectionState>,
        fut: impl std::future::Future<Output = T>,
    ) -> T {
        tokio::pin!(fut);
        loop {
            tokio::select! {
                v = &mut fut => return v,
                s = recv_state(events) => self.on_state(s),
            }
        }
    }

    /// A request failed: a connection failure counts as SUSPENDED under the standard policy;
    /// under the session policy only the end of the session ends leadership.
    fn on_request_failure(&self, e: &zk_client::Error) {
        if e.is_terminal() || self.fw.error_policy() == ErrorPolicy::Standard {
            self.set_leader(false);
        }
    }

    /// True when the current connection state lets us lead.
    fn may_lead(&self) -> bool {
        !self
            .fw
            .connection_state()
            .is_some_and(|s| self.fw.error_policy().is_error_state(s))
    }

    async fn elect(
        &self,
        node: &mut Option<OwnedNode>,
        events: &mut broadcast::Receiver<ConnectionState>,
    ) {
        let latch_path = self.fw.fix_path(&self.path);
        loop {
            if self.fw.is_closed() {
                self.set_leader(false);
                return;
            }
            if node.is_none() {
                match self.create_node().await {
                    Ok(n) => *node = Some(n),
                    Err(e) => {
                        tracing::debug!(error = %e, "latch: create failed");
                        if matches!(e, Error::Client(ref c) if c.is_terminal())
                            && !self.fw.recreates_sessions()
                        {
                            return;
                        }
                        wait_state_or(events, LATCH_FAILURE_PAUSE).await;
                        continue;
                    }
                }
            }
            let Some(ours) = node.as_ref() else { continue };
            let client = self.fw.client();
            let listed = self.during(events, client.get_children(&latch_path)).await;
            let mut children = match listed {
                Ok(c) => c,
                Err(zk_client::Error::NoNode) => {
                    self.reset(node);
                    continue;
                }
                Err(e) => {
                    if e.is_terminal() && !self.fw.recreates_sessions() {
                        self.set_leader(false);
                        return;
                    }
                    self.on_request_failure(&e);
                    let s = tokio::time::timeout(LATCH_FAILURE_PAUSE, recv_state(events)).await;
                    self.on_state(s.ok().flatten());
                    continue;
                }
            };
            sort_children(&mut children, &[LATCH_NAME]);
            let Some(index) = children.iter().position(|c| c == ours.name()) else {
                self.reset(node);
                continue;
            };
            let watched = if index == 0 {
                let read = self
                    .during(events, client.get_data_and_watch(ours.path()))
                    .await;
                match read {
                    Ok((_, stat, w)) if stat.ephemeral_owner == client.session_id() => {
                        self.set_leader(self.may_lead());
                        Ok(w)
                    }
                    Ok(_) | Err(zk_client::Error::NoNode) => {
                        self.reset(node);
                        continue;
                    }
                    Err(e) => Err(e),
                }
            } else {
                self.set_leader(false);
                let pred = path::join(&latch_path, &children[index - 1]);
                match self.during(events, client.get_data_and_watch(&pred)).await {
                    Err(zk_client::Error::NoNode) => continue,
                    other => other.map(|(_, _, w)| w),
                }
            };
            match watched {
                Ok(w) => {
                    tokio::select! {
                        _ = w => {}
                        s = recv_state(events) => self.on_state(s),
                    }
                }
                Err(e) => {
                    self.on_request_failure(&e);
                    let s = tokio::time::timeout(LATCH_FAILURE_PAUSE, recv_state(events)).await;
                    self.on_state(s.ok().flatten());
                }
            }
        }
    }
}

/// The participants of an election at `path_` whose nodes carry `lock_name`, in order.
pub(crate) async fn participants(
    fw: &Framework,
    path_: &str,
    lock_name: &'static str,
) -> Result<Vec<Participant>> {
    let full = fw.fix_path(path_);
    let mut children = match fw
        .retry(|c| {
            let full = full.clone();
            async move { c.get_children(&full).await }
        })
        .await
    {
        Err(zk_client::Error::NoNode) => Vec::new(),
        other => other?,
    };
    sort_children(&mut children, &[lock_name]);
    let client = fw.client();
    let reads: Vec<_> = children
        .iter()
        .map(|c| client.get_data(&path::join(&full, c)))
        .collect();
    let mut out = Vec::new();
    for r in reads {
        match r.await {
            Ok((data, _)) => out.push(Participant {
                id: String::from_utf8_lossy(&data).into_owned(),
                is_leader: out.is_empty(),
            }),
            Err(zk_client::Error::NoNode) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(out)
}
