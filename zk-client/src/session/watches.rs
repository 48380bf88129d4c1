//! The watch registry: which watch values wait on which server path, how notifications reach
//! them (Apache ZooKeeper's `ZKWatchManager.materialize` rules), reference counting so that a
//! server watch is removed only when its last local watcher is dropped, and the lists that
//! re-arm every watch on a new connection.

use std::collections::{BTreeMap, HashMap};

use zk_core::path::{parent, Chroot};
use zk_core::{ErrorCode, EventType, KeeperState, WatchedEvent, WatcherType};

use super::rearm::WatchLists;
use crate::error::Error;

use super::watch_kind::Class;
pub(crate) use super::watch_kind::{Sink, WatchKind, WatcherId};

#[derive(Debug)]
struct Watcher {
    path: String,
    kind: WatchKind,
    /// True once the server acknowledged the registration.
    armed: bool,
    /// Its events carry the server path as it is, chroot or not: the watch of
    /// `/zookeeper/config` (`getConfig`), which the Java client registers outside the chroot.
    unchrooted: bool,
    sink: Sink,
}

#[derive(Debug, Default)]
struct PathEntry {
    ids: Vec<WatcherId>,
    /// Per [`Class`]: the server may hold a watch of that class for this connection.
    on_server: [bool; 4],
}

/// The watch registry, keyed by server path (chroot included).
#[derive(Debug, Default)]
pub(crate) struct WatchRegistry {
    next_id: WatcherId,
    watchers: HashMap<WatcherId, Watcher>,
    paths: BTreeMap<String, PathEntry>,
    chroot: Option<Chroot>,
}

impl WatchRegistry {
    pub(crate) fn new(chroot: Option<Chroot>) -> WatchRegistry {
        WatchRegistry {
            chroot,
            ..Default::default()
        }
    }

    /// How many watch values are registered (armed or waiting for their reply).
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.watchers.len()
    }

    /// Registers a watcher whose request is about to be sent; it receives nothing until
    /// [`WatchRegistry::registered`] arms it.
    pub(crate) fn add_pending(&mut self, path: String, kind: WatchKind, sink: Sink) -> WatcherId {
        self.insert(path, kind, sink, false)
    }

    /// [`WatchRegistry::add_pending`] for a watch set outside the chroot (on
    /// `/zookeeper/config`): its events keep the server path, which is also the path the
    /// caller asked for.
    pub(crate) fn add_pending_unchrooted(
        &mut self,
        path: String,
        kind: WatchKind,
        sink: Sink,
    ) -> WatcherId {
        self.insert(path, kind, sink, true)
    }

    fn insert(&mut self, path: String, kind: WatchKind, sink: Sink, unchrooted: bool) -> WatcherId {
        self.next_id += 1;
        let id = self.next_id;
        self.paths.entry(path.clone()).or_default().ids.push(id);
        self.watchers.insert(
            id,
            Watcher {
                path,
                kind,
                armed: false,
                unchrooted,
                sink,
            },
        );
        id
    }

    /// The reply to the request that registers watcher `id` arrived with `code`. `exists`
    /// marks an exists request, whose watch is a data watch on success and an exist watch on
    /// NoNode. Returns a removal to send when the watcher was dropped meanwhile.
    pub(crate) fn registered(
        &mut self,
        id: WatcherId,
        code: ErrorCode,
        exists: bool,
        path: &str,
        kind: WatchKind,
    ) -> Option<(String, WatcherType)> {
        let set_on_server = match code {
            ErrorCode::Ok => true,
            ErrorCode::NoNode => exists,
            _ => false,
        };
        let kind = match (exists, code) {
            (true, ErrorCode::Ok) => WatchKind::Data,
            (true, _) => WatchKind::Exist,
            _ => kind,
        };
        if set_on_server {
            self.paths.entry(path.to_owned()).or_default().on_server[kind.class() as usize] = true;
        }
        match self.watchers.get_mut(&id) {
            Some(w) if set_on_server => {
                w.armed = true;
                w.kind = kind;
                None
            }
            Some(_) => {
                self.forget(id);
                None
            }
            // Dropped before the reply: the server holds a watch nobody wants.
            None => self.removal_if_unused(path, kind.class()),
        }
    }

    /// A watch value was dropped. Returns the removeWatches to send when it was the last
    /// watcher of its server table on that path and the server may hold the watch.
    pub(crate) fn dropped(&mut self, id: WatcherId) -> Option<(String, WatcherType)> {
        let w = self.forget(id)?;
        self.removal_if_unused(&w.path, w.kind.class())
    }

    fn forget(&mut self, id: WatcherId) -> Option<Watcher> {
        let w = self.watchers.remove(&id)?;
        if let Some(entry) = self.paths.get_mut(&w.path) {
            entry.ids.retain(|x| *x != id);
        }
        Some(w)
    }

    fn removal_if_unused(&mut self, path: &str, class: Class) -> Option<(String, WatcherType)> {
        let entry = self.paths.get_mut(path)?;
        let has = |c: Class| {
            entry
                .ids
                .iter()
                .any(|id| self.watchers.get(id).is_some_and(|w| w.kind.class() == c))
        };
        let in_use = has(class);
        // Apache ZooKeeper 3.8 keeps one watch per connection and path whatever its mode, in
        // the data table for every mode and in the child table for persistent ones: removing a
        // standard watch there would also remove a persistent watch on the same path. Leave the
        // standard watch (it fires once, to nobody) rather than break the persistent one.
        let shared_with_persistent = match class {
            Class::Data => has(Class::Persistent) || has(Class::Recursive),
            Class::Child => has(Class::Persistent),
            _ => false,
        };
        let mut out = None;
        if !in_use && !shared_with_persistent && entry.on_server[class as usize] {
            let wtype = match class {
                Class::Data => WatcherType::Data,
                Class::Child => WatcherType::Children,
                // Servers before 3.9 know only Children, Data and Any.
                _ if entry.ids.is_empty() => WatcherType::Any,
                Class::Persistent => WatcherType::Persistent,
                Class::Recursive => WatcherType::PersistentRecursive,
            };
            if wtype == WatcherType::Any {
                entry.on_server = [false; 4];
            } else {
                entry.on_server[class as usize] = false;
            }
            out = Some((path.to_owned(), wtype));
        }
        if entry.ids.is_empty() && entry.on_server == [false; 4] {
            self.paths.remove(path);
        }
        out
    }

    /// Delivers a notification (server path) to the watchers it concerns.
    pub(crate) fn dispatch(&mut self, event_type: EventType, server_path: &str) {
        use EventType::*;
        let (oneshot_kinds, fired): (&[WatchKind], &[Class]) = match event_type {
            NodeCreated | NodeDataChanged => (&[WatchKind::Data, WatchKind::Exist], &[Class::Data]),
            NodeChildrenChanged => (&[WatchKind::Child], &[Class::Child]),
            NodeDeleted => (
                &[WatchKind::Data, WatchKind::Exist, WatchKind::Child],
                &[Class::Data, Class::Child],
            ),
            _ => return,
        };
        let event = WatchedEvent {
            event_type,
            state: KeeperState::SyncConnected,
            path: self.client_path(server_path),
        };
        // A watch set outside the chroot hears of its own path, not a stripped one (under
        // the chroot `/zookeeper`, `/zookeeper/config` would otherwise read `/config`).
        let unchrooted_event = WatchedEvent {
            path: server_path.to_owned(),
            ..event.clone()
        };
        let mut targets = Vec::new();
        if let Some(entry) = self.paths.get_mut(server_path) {
            for class in fired {
                entry.on_server[*class as usize] = false;
            }
            for id in &entry.ids {
                if let Some(w) = self.watchers.get(id) {
                    if w.armed
                        && (oneshot_kinds.contains(&w.kind) || w.kind == WatchKind::Persistent)
                    {
                        targets.push(*id);
                    }
                }
            }
        }
        // Persistent-recursive watches on the node and its ancestors, never for child events:
        // a standard child watch on a descendant makes the server send those.
        if event_type != NodeChildrenChanged {
            let mut p = server_path;
            loop {
                if let Some(entry) = self.paths.get(p) {
                    for id in &entry.ids {
                        if let Some(w) = self.watchers.get(id) {
                            if w.armed && w.kind == WatchKind::PersistentRecursive {
                                targets.push(*id);
                            }
                        }
                    }
                }
                if p == "/" {
                    break;
                }
                p = parent(p);
            }
        }
        for id in targets {
            let unchrooted = self.watchers.get(&id).is_some_and(|w| w.unchrooted);
            let event = if unchrooted {
                unchrooted_event.clone()
            } else {
                event.clone()
            };
            self.deliver(id, event);
        }
        self.prune(server_path);
    }

    fn deliver(&mut self, id: WatcherId, event: WatchedEvent) {
        let oneshot = matches!(
            self.watchers.get(&id).map(|w| &w.sink),
            Some(Sink::Oneshot(_))
        );
        if oneshot {
            if let Some(w) = self.forget(id) {
                if let Sink::Oneshot(tx) = w.sink {
                    // The receiver may be gone; the watch value's drop will find nothing.
                    let _ = tx.send(Ok(event));
                }
            }
        } else if let Some(Watcher {
            sink: Sink::Stream(tx),
            ..
        }) = self.watchers.get(&id)
        {
            let _ = tx.send(event);
        }
    }

    fn prune(&mut self, path: &str) {
        if self
            .paths
            .get(path)
            .is_some_and(|e| e.ids.is_empty() && e.on_server == [false; 4])
        {
            self.paths.remove(path);
        }
    }

    /// A removeWatches of `wtype` on `server_path` asked by the user succeeded: the local
    /// watchers of that type learn it with a `*WatchRemoved` event and are dropped.
    pub(crate) fn removed_by_user(&mut self, server_path: &str, wtype: WatcherType) {
        let Some(entry) = self.paths.get_mut(server_path) else {
            return;
        };
        let kinds: &[WatchKind] = match wtype {
            WatcherType::Children => &[WatchKind::Child],
            WatcherType::Data => &[WatchKind::Data, WatchKind::Exist],
            WatcherType::Persistent => &[WatchKind::Persistent],
            WatcherType::PersistentRecursive => &[WatchKind::PersistentRecursive],
            WatcherType::Any => &[
                WatchKind::Data,
                WatchKind::Exist,
                WatchKind::Child,
                WatchKind::Persistent,
                WatchKind::PersistentRecursive,
            ],
        };
        for k in kinds {
            entry.on_server[k.class() as usize] = false;
        }
        let ids: Vec<WatcherId> = entry.ids.clone();
        let path = self.client_path(server_path);
        for id in ids {
            let Some((kind, unchrooted)) = self.watchers.get(&id).map(|w| (w.kind, w.unchrooted))
            else {
                continue;
            };
            if !kinds.contains(&kind) {
                continue;
            }
            let event_type = match kind {
                WatchKind::Data | WatchKind::Exist => EventType::DataWatchRemoved,
                WatchKind::Child => EventType::ChildWatchRemoved,
                _ => EventType::PersistentWatchRemoved,
            };
            if let Some(w) = self.forget(id) {
                let event = WatchedEvent {
                    event_type,
                    state: KeeperState::SyncConnected,
                    path: if unchrooted {
                        server_path.to_owned()
                    } else {
                        path.clone()
                    },
                };
                match w.sink {
                    Sink::Oneshot(tx) => drop(tx.send(Ok(event))),
                    Sink::Stream(tx) => drop(tx.send(event)),
                }
            }
        }
        self.prune(server_path);
    }

    /// The connection is gone, and with it every server-side watch. Armed watchers stay and are
    /// re-armed by [`WatchRegistry::rearm_lists`].
    pub(crate) fn connection_lost(&mut self) {
        for entry in self.paths.values_mut() {
            entry.on_server = [false; 4];
        }
        let empty: Vec<String> = self
            .paths
            .iter()
            .filter(|(_, e)| e.ids.is_empty())
            .map(|(p, _)| p.clone())
            .collect();
        for p in empty {
            self.paths.remove(&p);
        }
    }

    /// The watches to re-arm on a new connection: every armed watcher's path, once per kind.
    /// Marks them as held by the server.
    pub(crate) fn rearm_lists(&mut self) -> WatchLists {
        let mut lists = WatchLists::default();
        for (path, entry) in self.paths.iter_mut() {
            let mut kinds = [false; 5];
            for id in &entry.ids {
                if let Some(w) = self.watchers.get(id) {
                    if w.armed {
                        kinds[w.kind as usize] = true;
                        entry.on_server[w.kind.class() as usize] = true;
                    }
                }
            }
            let lists_by_kind = [
                &mut lists.data,
                &mut lists.exist,
                &mut lists.child,
                &mut lists.persistent,
                &mut lists.persistent_recursive,
            ];
            for (list, set) in lists_by_kind.into_iter().zip(kinds) {
                if set {
                    list.push(path.clone());
                }
            }
        }
        lists
    }

    /// The session ended with `err`: one-shot watches get it, watch streams end.
    pub(crate) fn terminate(&mut self, err: &Error) {
        for (_, w) in self.watchers.drain() {
            if let Sink::Oneshot(tx) = w.sink {
                let _ = tx.send(Err(err.clone()));
            }
        }
        self.paths.clear();
    }

    fn client_path(&self, server_path: &str) -> String {
        match &self.chroot {
            Some(c) => c.strip(server_path).to_owned(),
            None => server_path.to_owned(),
        }
    }
}

#[cfg(test)]
#[path = "watches_tests.rs"]
mod tests;
