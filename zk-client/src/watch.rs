//! Watches as values: [`OneshotWatch`] (a future of one event) and [`PersistentWatch`] (a
//! stream of events), and the [`Client`] methods that set them.
//!
//! A watch value removes its server watch when dropped, if it was the last local watcher of
//! that kind on that path (the server keeps one watch per connection, path and kind, shared by
//! every local watcher). Watches survive reconnects: the client re-arms every one of them.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures::Stream;
use tokio::sync::{mpsc, oneshot};
use zk_core::message::{Request, Response};
use zk_core::proto::*;
use zk_core::{AddWatchMode, Stat, WatchedEvent, WatcherType};

use crate::client::Client;
use crate::config::CONFIG_NODE;
use crate::driver::{now, Shared};
use crate::error::{Error, Result};
use crate::ops::{data_of, unexpected};
use crate::session::{Hook, Sink, WatchKind, WatcherId};

/// Removes a watcher from the registry when its value is dropped.
#[derive(Debug)]
struct WatchGuard {
    shared: Arc<Shared>,
    id: WatcherId,
}

impl Drop for WatchGuard {
    fn drop(&mut self) {
        self.shared.lock().drop_watcher(now(), self.id);
        self.shared.wake();
    }
}

/// A one-shot watch: resolves to the first event on its node, then is done.
///
/// It resolves to an error when the session ends first ([`Error::SessionExpired`],
/// [`Error::Closed`], [`Error::AuthFailed`]). A connection loss does not end it: the watch is
/// re-armed on the next connection, and changes made meanwhile still fire it.
///
/// Dropping it removes the server watch when it is the last one on that path and kind.
#[derive(Debug)]
pub struct OneshotWatch {
    rx: oneshot::Receiver<Result<WatchedEvent>>,
    _guard: WatchGuard,
}

impl Future for OneshotWatch {
    type Output = Result<WatchedEvent>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.rx)
            .poll(cx)
            .map(|r| r.unwrap_or(Err(Error::Closed)))
    }
}

/// A persistent or persistent-recursive watch: a stream of events until it is dropped,
/// removed with [`Client::remove_watches`], or the session ends (then the stream ends).
///
/// Dropping it removes the server watch when it is the last one on that path and mode.
#[derive(Debug)]
pub struct PersistentWatch {
    rx: mpsc::UnboundedReceiver<WatchedEvent>,
    _guard: WatchGuard,
}

impl PersistentWatch {
    /// The next event, or `None` once the watch has ended.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: dropping the future loses no event.
    pub async fn next_event(&mut self) -> Option<WatchedEvent> {
        self.rx.recv().await
    }
}

impl Stream for PersistentWatch {
    type Item = WatchedEvent;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<WatchedEvent>> {
        self.rx.poll_recv(cx)
    }
}

impl Client {
    /// Registers a watcher and queues the request that arms it, both now.
    fn watching(
        &self,
        path: &str,
        kind: WatchKind,
        sink: Sink,
        make: impl FnOnce(String) -> Request,
    ) -> Result<(crate::client::Call, WatchGuard)> {
        let server_path = self.server_path(path, false)?;
        Ok(self.arm(server_path, kind, sink, make, false))
    }

    /// Registers a watcher on `server_path` (chroot already applied, or deliberately not:
    /// `unchrooted`) and queues the request that arms it.
    fn arm(
        &self,
        server_path: String,
        kind: WatchKind,
        sink: Sink,
        make: impl FnOnce(String) -> Request,
        unchrooted: bool,
    ) -> (crate::client::Call, WatchGuard) {
        let (tx, rx) = oneshot::channel();
        let id = {
            let mut s = self.shared().lock();
            let id = if unchrooted {
                s.add_unchrooted_watcher(server_path.clone(), kind, sink)
            } else {
                s.add_watcher(server_path.clone(), kind, sink)
            };
            let req = make(server_path.clone());
            let hook = Hook::Register {
                id,
                path: server_path,
                kind,
                exists: matches!(req, Request::Exists(_)),
            };
            s.submit(now(), &req, tx, hook);
            id
        };
        self.shared().wake();
        let guard = WatchGuard {
            shared: self.shared().clone(),
            id,
        };
        (Ok(rx), guard)
    }

    /// The ensemble's configuration (the data and Stat of `/zookeeper/config`, as
    /// [`Client::get_config`]) and a watch that fires on its next change: the Java client's
    /// `getConfig(watcher, stat)`.
    ///
    /// The node is read outside the chroot, and the watch's event names it as
    /// `/zookeeper/config` whatever the chroot (a chroot of `/zookeeper` included). It is
    /// re-armed on every new connection like any other watch.
    ///
    /// # Cancel safety
    ///
    /// The request is queued when called. Dropping the future discards the answer and the
    /// watch (which is then removed from the server).
    pub fn get_config_and_watch(
        &self,
    ) -> impl Future<Output = Result<(Bytes, Stat, OneshotWatch)>> + Send + 'static {
        let (etx, erx) = oneshot::channel();
        let (call, guard) = self.arm(
            CONFIG_NODE.to_owned(),
            WatchKind::Data,
            Sink::Oneshot(etx),
            |path| Request::GetData(GetDataRequest { path, watch: true }),
            true,
        );
        async move {
            match Client::outcome(call).await?.body {
                Response::GetData(r) => Ok((
                    data_of(r.data),
                    r.stat,
                    OneshotWatch {
                        rx: erx,
                        _guard: guard,
                    },
                )),
                other => Err(unexpected(other)),
            }
        }
    }

    /// The node's data and Stat, and a watch that fires on its next change or deletion. Null
    /// data reads as empty (see [`Client::get_data_nullable_and_watch`]).
    ///
    /// Dropping the future discards the answer and the watch (which is then removed).
    pub fn get_data_and_watch(
        &self,
        path: &str,
    ) -> impl Future<Output = Result<(Bytes, Stat, OneshotWatch)>> + Send + 'static {
        let fut = self.get_data_nullable_and_watch(path);
        async move { fut.await.map(|(d, s, w)| (d.unwrap_or_default(), s, w)) }
    }

    /// [`Client::get_data_and_watch`] with null data as `None`.
    ///
    /// Dropping the future discards the answer and the watch (which is then removed).
    pub fn get_data_nullable_and_watch(
        &self,
        path: &str,
    ) -> impl Future<Output = Result<(Option<Bytes>, Stat, OneshotWatch)>> + Send + 'static {
        let (etx, erx) = oneshot::channel();
        let set = self.watching(path, WatchKind::Data, Sink::Oneshot(etx), |path| {
            Request::GetData(GetDataRequest { path, watch: true })
        });
        async move {
            let (call, guard) = set?;
            match Client::outcome(call).await?.body {
                Response::GetData(r) => Ok((
                    r.data,
                    r.stat,
                    OneshotWatch {
                        rx: erx,
                        _guard: guard,
                    },
                )),
                other => Err(unexpected(other)),
            }
        }
    }

    /// The node's Stat (`None` when it does not exist), and a watch that fires when it is
    /// created, changed or deleted. The watch is set in both cases.
    ///
    /// Dropping the future discards the answer and the watch (which is then removed).
    pub fn exists_and_watch(
        &self,
        path: &str,
    ) -> impl Future<Output = Result<(Option<Stat>, OneshotWatch)>> + Send + 'static {
        let (etx, erx) = oneshot::channel();
        let set = self.watching(path, WatchKind::Exist, Sink::Oneshot(etx), |path| {
            Request::Exists(ExistsRequest { path, watch: true })
        });
        async move {
            let (call, guard) = set?;
            let watch = |g| OneshotWatch { rx: erx, _guard: g };
            match Client::outcome(call).await {
                Ok(reply) => match reply.body {
                    Response::Exists(r) => Ok((Some(r.stat), watch(guard))),
                    other => Err(unexpected(other)),
                },
                Err(Error::NoNode) => Ok((None, watch(guard))),
                Err(e) => Err(e),
            }
        }
    }

    /// The node's children and Stat, and a watch that fires when a child is created or
    /// deleted, or the node is deleted.
    ///
    /// Dropping the future discards the answer and the watch (which is then removed).
    pub fn get_children_and_watch(
        &self,
        path: &str,
    ) -> impl Future<Output = Result<(Vec<String>, Stat, OneshotWatch)>> + Send + 'static {
        let (etx, erx) = oneshot::channel();
        let set = self.watching(path, WatchKind::Child, Sink::Oneshot(etx), |path| {
            Request::GetChildren2(GetChildren2Request { path, watch: true })
        });
        async move {
            let (call, guard) = set?;
            match Client::outcome(call).await?.body {
                Response::GetChildren2(r) => Ok((
                    r.children,
                    r.stat,
                    OneshotWatch {
                        rx: erx,
                        _guard: guard,
                    },
                )),
                other => Err(unexpected(other)),
            }
        }
    }

    /// Sets a persistent watch (events of the node itself: created, deleted, data changed,
    /// children changed) or a persistent-recursive one (created, deleted and data changed of
    /// the node and every descendant, with the changed node's path) and returns its stream.
    ///
    /// Dropping the future discards the watch (which is then removed).
    pub fn watch(
        &self,
        path: &str,
        mode: AddWatchMode,
    ) -> impl Future<Output = Result<PersistentWatch>> + Send + 'static {
        let (etx, erx) = mpsc::unbounded_channel();
        let kind = match mode {
            AddWatchMode::Persistent => WatchKind::Persistent,
            AddWatchMode::PersistentRecursive => WatchKind::PersistentRecursive,
        };
        let set = self.watching(path, kind, Sink::Stream(etx), |path| {
            Request::AddWatch(AddWatchRequest {
                path,
                mode: mode.as_i32(),
            })
        });
        async move {
            let (call, guard) = set?;
            Client::outcome(call).await?;
            Ok(PersistentWatch {
                rx: erx,
                _guard: guard,
            })
        }
    }

    /// Asks the server whether this connection holds a watch of `wtype` on the node
    /// ([`Error::NoWatcher`] if not). Types 4 and 5 need Apache ZooKeeper 3.9.
    ///
    /// Dropping the future discards the answer.
    pub fn check_watches(
        &self,
        path: &str,
        wtype: WatcherType,
    ) -> impl Future<Output = Result<()>> + Send + 'static {
        let call = self.server_path(path, false).map(|path| {
            self.call(
                &Request::CheckWatches(CheckWatchesRequest {
                    path,
                    watcher_type: wtype.as_i32(),
                }),
                Hook::None,
            )
        });
        async move { Client::outcome(call).await.map(|_| ()) }
    }

    /// Removes this connection's watches of `wtype` on the node, for every local watcher:
    /// one-shot watches resolve to a `DataWatchRemoved` or `ChildWatchRemoved` event,
    /// persistent ones yield `PersistentWatchRemoved` and end. [`Error::NoWatcher`] when the
    /// server had none.
    ///
    /// Dropping the future does not cancel the removal.
    pub fn remove_watches(
        &self,
        path: &str,
        wtype: WatcherType,
    ) -> impl Future<Output = Result<()>> + Send + 'static {
        let call = self.server_path(path, false).map(|server_path| {
            self.call(
                &Request::RemoveWatches(RemoveWatchesRequest {
                    path: server_path.clone(),
                    watcher_type: wtype.as_i32(),
                }),
                Hook::UserRemove {
                    path: server_path,
                    wtype,
                },
            )
        });
        async move { Client::outcome(call).await.map(|_| ()) }
    }
}
