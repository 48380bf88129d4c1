//! The watch managers, as Apache ZooKeeper 3.8 keeps them (`WatchManager` x2 +
//! `WatcherModeManager`): one manager for data events and one for child events. Each entry is a
//! (connection, path) pair with a mode: standard (one-shot), persistent or persistent-recursive.
//!
//! 3.8 semantics are kept on purpose, because clients see them: `addWatch` registers its mode in
//! both managers; a later standard watch on the same path overwrites the mode (the modes
//! "interfere"); a recursive entry fires for the path and its descendants, never for
//! NodeChildrenChanged; and a check answers yes when anyone watches the path in that manager.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use zk_core::{path, EventType};

/// A connection, as the sans-IO core names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnId(pub u64);

/// How a watch was registered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum WatchKind {
    /// One-shot data or exist watch (getData, exists): data manager, standard.
    Data,
    /// One-shot child watch (getChildren): child manager, standard.
    Child,
    /// addWatch mode 0: both managers, persistent.
    Persistent,
    /// addWatch mode 1: both managers, persistent-recursive.
    Recursive,
}

/// Which manager a check or removal addresses (`WatcherType` 1..3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WatchTarget {
    /// Children (1): the child manager.
    Children,
    /// Data (2): the data manager.
    Data,
    /// Any (3): both.
    Any,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Standard,
    Persistent,
    Recursive,
}

/// A recipient of an event: the connection, and whether it only gets it through a recursive
/// watch on an ancestor (such recipients need READ on the changed node).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Recipient {
    /// The watching connection.
    pub conn: ConnId,
    /// True when the event reached it only through a recursive watch on an ancestor.
    pub via_ancestor: bool,
}

/// One of the two managers.
#[derive(Debug, Default, Clone)]
struct Manager {
    table: HashMap<String, BTreeSet<ConnId>>,
    modes: HashMap<(ConnId, String), Mode>,
    by_conn: HashMap<ConnId, BTreeSet<String>>,
    recursive: usize,
}

impl Manager {
    fn set_mode(&mut self, conn: ConnId, path: &str, mode: Mode) {
        let key = (conn, path.to_owned());
        let old = if mode == Mode::Standard {
            self.modes.remove(&key)
        } else {
            self.modes.insert(key, mode)
        };
        if old == Some(Mode::Recursive) {
            self.recursive -= 1;
        }
        if mode == Mode::Recursive {
            self.recursive += 1;
        }
    }

    fn mode(&self, conn: ConnId, path: &str) -> Mode {
        self.modes
            .get(&(conn, path.to_owned()))
            .copied()
            .unwrap_or(Mode::Standard)
    }

    fn add(&mut self, conn: ConnId, path: &str, mode: Mode) {
        self.table.entry(path.to_owned()).or_default().insert(conn);
        self.by_conn
            .entry(conn)
            .or_default()
            .insert(path.to_owned());
        self.set_mode(conn, path, mode);
    }

    /// Removes the (conn, path) entry whatever its mode.
    fn remove(&mut self, conn: ConnId, path: &str) -> bool {
        let Some(paths) = self.by_conn.get_mut(&conn) else {
            return false;
        };
        if !paths.remove(path) {
            return false;
        }
        if paths.is_empty() {
            self.by_conn.remove(&conn);
        }
        if let Some(set) = self.table.get_mut(path) {
            set.remove(&conn);
            if set.is_empty() {
                self.table.remove(path);
            }
        }
        self.set_mode(conn, path, Mode::Standard);
        true
    }

    /// Apache ZooKeeper 3.8's `containsWatcher`: anyone watching `path` here, or this
    /// connection's own entry at `path` being recursive.
    fn contains(&self, conn: ConnId, path: &str) -> bool {
        self.table.contains_key(path) || self.mode(conn, path) == Mode::Recursive
    }

    fn remove_conn(&mut self, conn: ConnId) {
        for p in self.by_conn.remove(&conn).unwrap_or_default() {
            if let Some(set) = self.table.get_mut(&p) {
                set.remove(&conn);
                if set.is_empty() {
                    self.table.remove(&p);
                }
            }
            self.set_mode(conn, &p, Mode::Standard);
        }
    }

    /// `triggerWatch`: returns every selected connection (for suppression) in order.
    fn trigger(&mut self, event: EventType, path: &str) -> Vec<Recipient> {
        let mut out = Vec::new();
        let mut local = path;
        let mut at_parent = false;
        loop {
            if let Some(set) = self.table.get(local).cloned() {
                for conn in set {
                    match self.mode(conn, local) {
                        Mode::Recursive if event != EventType::NodeChildrenChanged => {
                            push(&mut out, conn, at_parent);
                        }
                        Mode::Recursive => {}
                        mode if !at_parent => {
                            push(&mut out, conn, false);
                            if mode == Mode::Standard {
                                self.remove(conn, local);
                            }
                        }
                        _ => {}
                    }
                }
            }
            if local == "/" || self.recursive == 0 {
                break;
            }
            local = path::parent(local);
            at_parent = true;
        }
        out
    }

    fn size(&self) -> usize {
        self.table.values().map(BTreeSet::len).sum()
    }
}

/// Every watch: the data manager and the child manager.
#[derive(Debug, Default, Clone)]
pub struct WatchManager {
    data: Manager,
    child: Manager,
}

fn push(out: &mut Vec<Recipient>, conn: ConnId, via_ancestor: bool) {
    if let Some(r) = out.iter_mut().find(|r| r.conn == conn) {
        r.via_ancestor &= via_ancestor;
    } else {
        out.push(Recipient { conn, via_ancestor });
    }
}

impl WatchManager {
    /// An empty manager.
    pub fn new() -> WatchManager {
        WatchManager::default()
    }

    /// Registers a watch.
    pub fn add(&mut self, conn: ConnId, kind: WatchKind, path: &str) {
        match kind {
            WatchKind::Data => self.data.add(conn, path, Mode::Standard),
            WatchKind::Child => self.child.add(conn, path, Mode::Standard),
            WatchKind::Persistent => {
                self.data.add(conn, path, Mode::Persistent);
                self.child.add(conn, path, Mode::Persistent);
            }
            WatchKind::Recursive => {
                self.data.add(conn, path, Mode::Recursive);
                self.child.add(conn, path, Mode::Recursive);
            }
        }
    }

    /// checkWatches, with Apache ZooKeeper 3.8's answer.
    pub fn contains(&self, conn: ConnId, target: WatchTarget, path: &str) -> bool {
        match target {
            WatchTarget::Children => self.child.contains(conn, path),
            WatchTarget::Data => self.data.contains(conn, path),
            WatchTarget::Any => self.child.contains(conn, path) || self.data.contains(conn, path),
        }
    }

    /// removeWatches: removes this connection's entry for `path` from the target manager(s),
    /// whatever its mode; false when there was none.
    pub fn remove(&mut self, conn: ConnId, target: WatchTarget, path: &str) -> bool {
        match target {
            WatchTarget::Children => self.child.remove(conn, path),
            WatchTarget::Data => self.data.remove(conn, path),
            WatchTarget::Any => {
                let c = self.child.remove(conn, path);
                let d = self.data.remove(conn, path);
                c || d
            }
        }
    }

    /// Drops every watch of a connection (it closed).
    pub fn remove_conn(&mut self, conn: ConnId) {
        self.data.remove_conn(conn);
        self.child.remove_conn(conn);
    }

    /// Fires `event` on `path` as `DataTree` does and returns the connections to notify, each
    /// once: created/changed go to the data manager; deleted to the data manager, then to the
    /// child manager for those not yet notified; children-changed to the child manager.
    pub fn trigger(&mut self, event: EventType, path: &str) -> Vec<Recipient> {
        match event {
            EventType::NodeCreated | EventType::NodeDataChanged => self.data.trigger(event, path),
            EventType::NodeDeleted => {
                let mut out = self.data.trigger(event, path);
                let seen: BTreeSet<ConnId> = out.iter().map(|r| r.conn).collect();
                for r in self.child.trigger(event, path) {
                    if !seen.contains(&r.conn) {
                        out.push(r);
                    }
                }
                out
            }
            EventType::NodeChildrenChanged => self.child.trigger(event, path),
            _ => Vec::new(),
        }
    }

    /// Watch entries in both managers (mntr's `zk_watch_count`).
    pub fn watch_count(&self) -> usize {
        self.data.size() + self.child.size()
    }

    /// Distinct watched paths.
    pub fn path_count(&self) -> usize {
        let mut paths: BTreeSet<&String> = self.data.table.keys().collect();
        paths.extend(self.child.table.keys());
        paths.len()
    }

    /// Connections holding at least one watch.
    pub fn conn_count(&self) -> usize {
        let mut conns: BTreeSet<&ConnId> = self.data.by_conn.keys().collect();
        conns.extend(self.child.by_conn.keys());
        conns.len()
    }

    /// Watched paths per connection (wchc).
    pub fn by_conn(&self) -> BTreeMap<ConnId, BTreeSet<String>> {
        let mut m: BTreeMap<ConnId, BTreeSet<String>> = BTreeMap::new();
        for mgr in [&self.data, &self.child] {
            for (c, paths) in &mgr.by_conn {
                m.entry(*c).or_default().extend(paths.iter().cloned());
            }
        }
        m
    }

    /// Watching connections per path (wchp).
    pub fn by_path(&self) -> BTreeMap<String, BTreeSet<ConnId>> {
        let mut m: BTreeMap<String, BTreeSet<ConnId>> = BTreeMap::new();
        for mgr in [&self.data, &self.child] {
            for (p, s) in &mgr.table {
                m.entry(p.clone()).or_default().extend(s.iter().copied());
            }
        }
        m
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
        // Removing the data part leaves the child part, which still hears deletions.
        assert!(w.remove(c, WatchTarget::Data, "/a"));
        assert!(w.trigger(EventType::NodeCreated, "/a/x").is_empty());
        assert_eq!(w.trigger(EventType::NodeDeleted, "/a/x").len(), 1);
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

    #[test]
    fn modes_interfere_and_checks_see_any_watcher() {
        let mut w = WatchManager::new();
        let (a, b) = (ConnId(1), ConnId(2));
        w.add(a, WatchKind::Persistent, "/p");
        // A later getData watch makes the data entry one-shot again (3.8 behaviour).
        w.add(a, WatchKind::Data, "/p");
        assert_eq!(w.trigger(EventType::NodeDataChanged, "/p").len(), 1);
        assert!(w.trigger(EventType::NodeDataChanged, "/p").is_empty());
        assert_eq!(w.trigger(EventType::NodeChildrenChanged, "/p").len(), 1);
        // checkWatches answers yes when any connection watches the path.
        w.add(b, WatchKind::Data, "/q");
        assert!(w.contains(a, WatchTarget::Data, "/q"));
        assert!(!w.contains(a, WatchTarget::Children, "/q"));
        assert!(!w.remove(a, WatchTarget::Data, "/q"));
    }
}
