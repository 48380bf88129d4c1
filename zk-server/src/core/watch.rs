//! The watch manager (`WatchManager` x2 in Apache ZooKeeper): one-shot data/exist and child
//! watches, persistent and persistent-recursive watches, all owned by connections.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use zk_core::{path, EventType};

/// A connection, as the sans-IO core names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnId(pub u64);

/// The kinds of server-side watch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum WatchKind {
    /// One-shot data or exist watch (getData, exists).
    Data,
    /// One-shot child watch (getChildren).
    Child,
    /// Persistent watch (addWatch mode 0): data and child events of one node.
    Persistent,
    /// Persistent-recursive watch (addWatch mode 1): data events of a node and its descendants.
    Recursive,
}

const KINDS: [WatchKind; 4] = [
    WatchKind::Data,
    WatchKind::Child,
    WatchKind::Persistent,
    WatchKind::Recursive,
];

/// A recipient of an event: the connection, and whether it only gets it through a recursive
/// watch on an ancestor (such recipients need READ on the changed node).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Recipient {
    /// The watching connection.
    pub conn: ConnId,
    /// True when the event reached it only through a recursive watch on an ancestor.
    pub via_ancestor: bool,
}

/// Every watch, by kind and path, with a per-connection index for cleanup.
#[derive(Debug, Default, Clone)]
pub struct WatchManager {
    tables: [HashMap<String, BTreeSet<ConnId>>; 4],
    by_conn: HashMap<ConnId, BTreeSet<(WatchKind, String)>>,
}

fn idx(kind: WatchKind) -> usize {
    kind as usize
}

impl WatchManager {
    /// An empty manager.
    pub fn new() -> WatchManager {
        WatchManager::default()
    }

    /// Adds a watch; returns false when it already existed.
    pub fn add(&mut self, conn: ConnId, kind: WatchKind, path: &str) -> bool {
        let added = self.tables[idx(kind)]
            .entry(path.to_owned())
            .or_default()
            .insert(conn);
        if added {
            self.by_conn
                .entry(conn)
                .or_default()
                .insert((kind, path.to_owned()));
        }
        added
    }

    /// True when `conn` holds a watch of `kind` on `path`.
    pub fn contains(&self, conn: ConnId, kind: WatchKind, path: &str) -> bool {
        self.tables[idx(kind)]
            .get(path)
            .is_some_and(|s| s.contains(&conn))
    }

    /// Removes a watch; returns false when it did not exist.
    pub fn remove(&mut self, conn: ConnId, kind: WatchKind, path: &str) -> bool {
        let t = &mut self.tables[idx(kind)];
        let Some(set) = t.get_mut(path) else {
            return false;
        };
        let removed = set.remove(&conn);
        if set.is_empty() {
            t.remove(path);
        }
        if removed {
            if let Some(s) = self.by_conn.get_mut(&conn) {
                s.remove(&(kind, path.to_owned()));
                if s.is_empty() {
                    self.by_conn.remove(&conn);
                }
            }
        }
        removed
    }

    /// Drops every watch of a connection (it closed).
    pub fn remove_conn(&mut self, conn: ConnId) {
        if let Some(watches) = self.by_conn.remove(&conn) {
            for (kind, p) in watches {
                let t = &mut self.tables[idx(kind)];
                if let Some(set) = t.get_mut(&p) {
                    set.remove(&conn);
                    if set.is_empty() {
                        t.remove(&p);
                    }
                }
            }
        }
    }

    fn take_oneshot(&mut self, kind: WatchKind, path: &str, out: &mut Vec<Recipient>) {
        if let Some(set) = self.tables[idx(kind)].remove(path) {
            for c in set {
                if let Some(s) = self.by_conn.get_mut(&c) {
                    s.remove(&(kind, path.to_owned()));
                    if s.is_empty() {
                        self.by_conn.remove(&c);
                    }
                }
                push(out, c, false);
            }
        }
    }

    fn peek(&self, kind: WatchKind, path: &str, via_ancestor: bool, out: &mut Vec<Recipient>) {
        if let Some(set) = self.tables[idx(kind)].get(path) {
            for c in set {
                push(out, *c, via_ancestor);
            }
        }
    }

    /// Fires `event` on `path` and returns the connections to notify, each once. One-shot
    /// watches that fire are removed.
    pub fn trigger(&mut self, event: EventType, path: &str) -> Vec<Recipient> {
        let mut out = Vec::new();
        match event {
            EventType::NodeCreated | EventType::NodeDataChanged | EventType::NodeDeleted => {
                self.take_oneshot(WatchKind::Data, path, &mut out);
                self.peek(WatchKind::Persistent, path, false, &mut out);
                self.peek(WatchKind::Recursive, path, false, &mut out);
                let mut p = path;
                while p != "/" {
                    p = path::parent(p);
                    self.peek(WatchKind::Recursive, p, true, &mut out);
                }
                if event == EventType::NodeDeleted {
                    self.take_oneshot(WatchKind::Child, path, &mut out);
                }
            }
            EventType::NodeChildrenChanged => {
                self.take_oneshot(WatchKind::Child, path, &mut out);
                self.peek(WatchKind::Persistent, path, false, &mut out);
            }
            _ => {}
        }
        out
    }

    /// Watch-path pairs (mntr's `zk_watch_count`).
    pub fn watch_count(&self) -> usize {
        self.tables
            .iter()
            .flat_map(|t| t.values())
            .map(BTreeSet::len)
            .sum()
    }

    /// Distinct watched paths.
    pub fn path_count(&self) -> usize {
        let mut paths = BTreeSet::new();
        for t in &self.tables {
            paths.extend(t.keys());
        }
        paths.len()
    }

    /// Connections holding at least one watch.
    pub fn conn_count(&self) -> usize {
        self.by_conn.len()
    }

    /// Watched paths per connection (wchc).
    pub fn by_conn(&self) -> BTreeMap<ConnId, BTreeSet<String>> {
        self.by_conn
            .iter()
            .map(|(c, s)| (*c, s.iter().map(|(_, p)| p.clone()).collect()))
            .collect()
    }

    /// Watching connections per path (wchp).
    pub fn by_path(&self) -> BTreeMap<String, BTreeSet<ConnId>> {
        let mut m: BTreeMap<String, BTreeSet<ConnId>> = BTreeMap::new();
        for k in KINDS {
            for (p, s) in &self.tables[idx(k)] {
                m.entry(p.clone()).or_default().extend(s.iter().copied());
            }
        }
        m
    }
}

fn push(out: &mut Vec<Recipient>, conn: ConnId, via_ancestor: bool) {
    if let Some(r) = out.iter_mut().find(|r| r.conn == conn) {
        r.via_ancestor &= via_ancestor;
    } else {
        out.push(Recipient { conn, via_ancestor });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oneshot_fires_once() {
        let mut w = WatchManager::new();
        let c = ConnId(1);
        w.add(c, WatchKind::Data, "/a");
        assert_eq!(w.trigger(EventType::NodeDataChanged, "/a").len(), 1);
        assert!(w.trigger(EventType::NodeDataChanged, "/a").is_empty());
        assert_eq!(w.watch_count(), 0);
    }

    #[test]
    fn recursive_sees_descendants_but_not_child_events() {
        let mut w = WatchManager::new();
        let c = ConnId(1);
        w.add(c, WatchKind::Recursive, "/a");
        let r = w.trigger(EventType::NodeCreated, "/a/b/c");
        assert_eq!(
            r,
            vec![Recipient {
                conn: c,
                via_ancestor: true
            }]
        );
        assert!(w.trigger(EventType::NodeChildrenChanged, "/a").is_empty());
        assert_eq!(w.trigger(EventType::NodeDataChanged, "/a").len(), 1);
    }

    #[test]
    fn delete_notifies_each_connection_once() {
        let mut w = WatchManager::new();
        let c = ConnId(1);
        w.add(c, WatchKind::Data, "/a");
        w.add(c, WatchKind::Child, "/a");
        assert_eq!(w.trigger(EventType::NodeDeleted, "/a").len(), 1);
        assert_eq!(w.watch_count(), 0);
        w.add(c, WatchKind::Persistent, "/a");
        w.remove_conn(c);
        assert_eq!(w.watch_count(), 0);
    }
}
