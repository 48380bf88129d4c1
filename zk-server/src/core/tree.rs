//! The data tree (`DataTree`): every znode, the ephemerals index, the session table, and the
//! deterministic application of transactions.
//!
//! [`DataTree::apply`] is the only way state changes. Replaying the same transactions in the same
//! order from the same starting tree rebuilds the same tree; this is how recovery works.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use bytes::Bytes;
use zk_core::data::StatPersisted;
use zk_core::path;
use zk_core::{Acl, ErrorCode, EventType, SessionId, Stat, Zxid};

use super::acl::{AclInterner, AclList};
use super::java_hash::JavaHashSet;
use super::node::{DataNode, OwnerKind};
use super::node_map::NodeMap;

/// The outcome of applying one transaction (`ProcessTxnResult`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TxnResult {
    /// A node was created.
    Created {
        /// The full path (with any sequence suffix).
        path: String,
        /// Its stat after creation.
        stat: Stat,
    },
    /// A node was deleted.
    Deleted,
    /// Data was set; the stat after the change.
    SetData(Stat),
    /// An ACL was set; the stat after the change.
    SetAcl(Stat),
    /// A version check inside a multi passed.
    Checked,
    /// The request failed with this code.
    Error(ErrorCode),
    /// A session was created or closed.
    Session,
    /// The per-op results of a multi.
    Multi(Vec<TxnResult>),
}

/// A watch trigger produced by applying a transaction, in Apache ZooKeeper's firing order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trigger {
    /// The event type.
    pub event: EventType,
    /// The node the event is about.
    pub path: String,
    /// That node's ACL when the event fired (the parent's for NodeChildrenChanged): 3.8 only
    /// delivers an event to connections with READ on it (ZOOKEEPER-4799, CVE-2024-23944).
    pub acl: AclList,
}

/// The znodes, the ephemerals by session, and the sessions with their timeouts.
///
/// Nodes and the shards of the node map are shared (`Arc`) and copied on write, so `clone` costs
/// a few hundred pointer copies whatever the size of the tree: a snapshot copy does not stall
/// the engine; the writes after it copy the shards and nodes they change, once each.
#[derive(Debug, Clone)]
pub struct DataTree {
    pub(super) nodes: NodeMap,
    ephemerals: HashMap<SessionId, JavaHashSet>,
    containers: BTreeSet<String>,
    ttls: BTreeSet<String>,
    pub(super) sessions: BTreeMap<SessionId, i32>,
    pub(super) last_zxid: Zxid,
    pub(super) acls: AclInterner,
    pub(super) quota: super::quota::QuotaPaths,
}

impl Default for DataTree {
    fn default() -> Self {
        Self::new()
    }
}

const SPECIAL: [&str; 4] = ["/", "/zookeeper", "/zookeeper/quota", "/zookeeper/config"];

impl DataTree {
    /// A tree without any node, not even `/`: the base a snapshot is loaded into.
    pub fn empty() -> DataTree {
        DataTree {
            nodes: NodeMap::new(),
            ephemerals: HashMap::new(),
            containers: BTreeSet::new(),
            ttls: BTreeSet::new(),
            sessions: BTreeMap::new(),
            last_zxid: Zxid(0),
            acls: AclInterner::default(),
            quota: Default::default(),
        }
    }

    /// The initial tree: `/`, `/zookeeper`, `/zookeeper/quota` (empty data, open ACL) and
    /// `/zookeeper/config` (empty data, read-only ACL), attached without cversion bumps.
    pub fn new() -> DataTree {
        let mut t = DataTree::empty();
        let empty = || Some(Bytes::new());
        t.nodes.insert(
            "/".into(),
            Arc::new(DataNode::new(
                empty(),
                t.acls.intern(&Acl::open_unsafe()),
                StatPersisted::default(),
            )),
        );
        for (p, acl) in [
            ("/zookeeper", Acl::open_unsafe()),
            ("/zookeeper/quota", Acl::open_unsafe()),
            ("/zookeeper/config", Acl::read_unsafe()),
        ] {
            let mut stat = StatPersisted::default();
            if p == "/zookeeper/config" {
                // Apache ZooKeeper's config node starts with aversion -1.
                stat.aversion = -1;
            }
            let acl = t.acls.intern(&acl);
            t.nodes
                .insert(p.into(), Arc::new(DataNode::new(empty(), acl, stat)));
            if let Some(n) = t.node_mut(path::parent(p)) {
                n.add_child(path::node_name(p));
            }
        }
        t
    }

    /// Writes the quorum configuration into `/zookeeper/config` as a member of an ensemble
    /// does at start-up and after a SNAP (`ZKDatabase.initConfigInZKDatabase`): the text as
    /// data, version -1, mzxid the configuration's version (0 without reconfig), mtime `now`.
    pub fn set_config_node(&mut self, text: &str, version: i64, now_ms: i64) {
        if let Some(n) = self.node_mut("/zookeeper/config") {
            n.data = Some(Bytes::copy_from_slice(text.as_bytes()));
            n.stat.version = -1;
            n.stat.mzxid = Zxid(version);
            n.stat.mtime = now_ms;
        }
    }

    /// True for `/`, `/zookeeper`, `/zookeeper/quota` and `/zookeeper/config`, which cannot be
    /// deleted.
    pub fn is_special(path: &str) -> bool {
        SPECIAL.contains(&path)
    }

    /// The zxid of the last applied transaction.
    pub fn last_zxid(&self) -> Zxid {
        self.last_zxid
    }

    /// Sets the last zxid (used by recovery after loading a snapshot).
    pub fn set_last_zxid(&mut self, zxid: Zxid) {
        self.last_zxid = zxid;
    }

    /// The node at `path`. Like Apache ZooKeeper's `DataTree`, which keeps the root under both
    /// "" and "/", the empty path names the root (reads do not validate their path).
    pub fn node(&self, path: &str) -> Option<&DataNode> {
        let path = if path.is_empty() { "/" } else { path };
        self.nodes.get(path).map(|n| &**n)
    }

    /// The node at `path`, to change (copied first if a snapshot copy still shares it).
    pub(super) fn node_mut(&mut self, path: &str) -> Option<&mut DataNode> {
        self.nodes.get_mut(path).map(Arc::make_mut)
    }

    /// Makes room for `n` more nodes (recovery knows the count up front).
    pub fn reserve(&mut self, n: usize) {
        self.nodes.reserve(n);
    }

    /// Number of nodes, the four system nodes included.
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    /// Every node with its path, in no particular order (for snapshots).
    pub fn iter(&self) -> impl Iterator<Item = (&str, &DataNode)> {
        self.nodes.iter().map(|(p, n)| (&**p, &**n))
    }

    /// The shared ACL list equal to `acl` (nodes with equal ACLs share one).
    pub fn intern_acl(&mut self, acl: &[Acl]) -> AclList {
        self.acls.intern(acl)
    }

    /// Inserts a node as read from a snapshot, linking it to its parent if present. Ephemeral,
    /// container and TTL indexes are updated.
    pub fn insert_restored(&mut self, path: &str, node: DataNode) {
        if path != "/" {
            if let Some(p) = self.node_mut(path::parent(path)) {
                p.add_child(path::node_name(path));
            }
        }
        self.index_owner(path, node.stat.ephemeral_owner);
        self.nodes.insert(path.into(), Arc::new(node));
        self.quota_restored(path);
    }

    /// Sessions and their timeouts, as created and closed by the applied transactions.
    pub fn sessions(&self) -> &BTreeMap<SessionId, i32> {
        &self.sessions
    }

    /// Records a session restored from a snapshot.
    pub fn insert_session(&mut self, id: SessionId, timeout_ms: i32) {
        self.sessions.insert(id, timeout_ms);
    }

    /// The ephemeral paths of a session, in Apache ZooKeeper's order.
    pub fn ephemerals(&self, session: SessionId) -> Vec<String> {
        self.ephemerals
            .get(&session)
            .map(JavaHashSet::to_vec_cloned)
            .unwrap_or_default()
    }

    /// A copy of a session's ephemeral set, keeping its Java iteration order
    /// (`DataTree.getEphemerals` clones the set).
    pub(crate) fn ephemeral_set(&self, session: SessionId) -> JavaHashSet {
        self.ephemerals
            .get(&session)
            .cloned()
            .unwrap_or_else(|| JavaHashSet::with_capacity(16))
    }

    /// Total number of ephemeral nodes.
    pub fn ephemeral_count(&self) -> usize {
        self.ephemerals.values().map(JavaHashSet::len).sum()
    }

    /// Drops a closed session's (empty) ephemeral set.
    pub(super) fn forget_ephemerals(&mut self, session: SessionId) {
        self.ephemerals.remove(&session);
    }

    /// Every session that owns ephemerals, with its paths.
    pub fn ephemerals_by_session(&self) -> Vec<(SessionId, Vec<String>)> {
        let mut v: Vec<_> = self
            .ephemerals
            .iter()
            .filter(|(_, set)| !set.is_empty())
            .map(|(s, set)| (*s, set.to_vec()))
            .collect();
        v.sort();
        v
    }

    /// Container node paths.
    pub fn containers(&self) -> impl Iterator<Item = &str> {
        self.containers.iter().map(String::as_str)
    }

    /// TTL node paths.
    pub fn ttls(&self) -> impl Iterator<Item = &str> {
        self.ttls.iter().map(String::as_str)
    }

    /// Number of descendants of `path` (not counting itself).
    pub fn all_children_number(&self, path: &str) -> usize {
        if path == "/" {
            return self.nodes.len().saturating_sub(1);
        }
        // Apache ZooKeeper counts the keys under `path + "/"`: for "" that is every key but
        // its own "" alias of the root, the root's "/" key included.
        if path.is_empty() {
            return self.nodes.len();
        }
        let mut count = 0;
        let mut stack = vec![path.to_owned()];
        while let Some(p) = stack.pop() {
            if let Some(n) = self.nodes.get(p.as_str()) {
                for c in n.children_iter() {
                    count += 1;
                    stack.push(path::join(&p, c));
                }
            }
        }
        count
    }

    /// Approximate bytes of data and paths (mntr's `zk_approximate_data_size`).
    pub fn approximate_data_size(&self) -> usize {
        self.nodes
            .iter()
            .map(|(p, n)| p.len() + n.data_len() as usize)
            .sum()
    }

    pub(super) fn index_owner(&mut self, path: &str, owner: i64) {
        match OwnerKind::of(owner) {
            OwnerKind::Ephemeral(sid) => {
                self.ephemerals
                    .entry(sid)
                    .or_insert_with(|| JavaHashSet::with_capacity(16))
                    .insert(path);
            }
            OwnerKind::Container => {
                self.containers.insert(path.to_owned());
            }
            OwnerKind::Ttl(_) => {
                self.ttls.insert(path.to_owned());
            }
            OwnerKind::Persistent => {}
        }
    }

    pub(super) fn unindex_owner(&mut self, path: &str, owner: i64) {
        match OwnerKind::of(owner) {
            OwnerKind::Ephemeral(sid) => {
                // Like DataTree's, the session's set stays (with its Java table size) until
                // the session closes, even when empty.
                if let Some(set) = self.ephemerals.get_mut(&sid) {
                    set.remove(path);
                }
            }
            OwnerKind::Container => {
                self.containers.remove(path);
            }
            OwnerKind::Ttl(_) => {
                self.ttls.remove(path);
            }
            OwnerKind::Persistent => {}
        }
    }
}
