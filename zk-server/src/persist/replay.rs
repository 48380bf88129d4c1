//! A self-contained model of applying transactions to a data tree as Apache ZooKeeper replays
//! them at start-up (`FileTxnSnapLog.processTransaction`, `DataTree.processTxn`), with the
//! 3.6+ tree digest kept incrementally.
//!
//! The server core owns the real data tree; this model is the reference the persistence tests
//! (and the dump tool) check against: it shows exactly what idempotent replay over a fuzzy
//! snapshot means, and its digest must equal the `TxnDigest` Apache ZooKeeper logs.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use bytes::Bytes;
use zk_core::data::{Acl, Stat, StatPersisted};
use zk_core::txn::TxnHeader;
use zk_core::{DecodeError, OpCode, SessionId, Zxid};

use super::acl_cache::AclCache;
use super::checksum::{node_digest, DIGEST_VERSION};
use super::entry::{LogTxn, TxnEntry};
use super::error::Result;
use super::snapshot::{SnapDigest, SnapshotWriter};
use super::snapshot_read::Snapshot;

/// `EphemeralType.CONTAINER_EPHEMERAL_OWNER`.
pub const CONTAINER_OWNER: i64 = i64::MIN;
/// `EphemeralType` extended mask: the owner of a TTL node is this ORed with the TTL in ms.
pub const TTL_OWNER_MASK: i64 = 0xff00_0000_0000_0000_u64 as i64;

/// One node of the model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplayNode {
    /// The data; `None` is null.
    pub data: Option<Bytes>,
    /// The ACL reference.
    pub acl: i64,
    /// The persisted stat.
    pub stat: StatPersisted,
    /// Child names.
    pub children: BTreeSet<String>,
}

/// The data tree model: nodes by path ("/" is the root), ACL map, sessions, digest.
#[derive(Debug, Clone)]
pub struct ReplayTree {
    nodes: HashMap<String, ReplayNode>,
    ephemerals: BTreeMap<i64, BTreeSet<String>>,
    /// The ACL map.
    pub acls: AclCache,
    /// Live sessions and their timeouts.
    pub sessions: BTreeMap<SessionId, i32>,
    digest: i64,
    /// The last zxid applied (or the snapshot's).
    pub last_zxid: Zxid,
}

fn parent_and_name(path: &str) -> (&str, &str) {
    let i = path.rfind('/').unwrap_or(0);
    (if i == 0 { "/" } else { &path[..i] }, &path[i + 1..])
}

impl Default for ReplayTree {
    fn default() -> Self {
        ReplayTree::new()
    }
}

impl ReplayTree {
    /// The tree of a fresh Apache ZooKeeper: `/`, `/zookeeper`, `/zookeeper/quota` and
    /// `/zookeeper/config` (READ_ACL_UNSAFE, aversion -1).
    pub fn new() -> ReplayTree {
        let mut t = ReplayTree {
            nodes: HashMap::new(),
            ephemerals: BTreeMap::new(),
            acls: AclCache::new(),
            sessions: BTreeMap::new(),
            digest: 0,
            last_zxid: Zxid::ZERO,
        };
        let empty = Some(Bytes::new());
        for p in ["/", "/zookeeper", "/zookeeper/quota", "/zookeeper/config"] {
            t.insert(p, empty.clone(), -1, StatPersisted::default());
        }
        let acl = t.acls.intern(&Acl::read_unsafe());
        t.update("/zookeeper/config", |n| {
            n.acl = acl;
            n.stat.aversion = -1;
        });
        t
    }

    /// The tree a snapshot holds. Fails if a node comes before its parent.
    pub fn from_snapshot(snap: &Snapshot) -> Result<ReplayTree, String> {
        let mut t = ReplayTree {
            nodes: HashMap::with_capacity(snap.nodes.len()),
            ephemerals: BTreeMap::new(),
            acls: snap.acls.clone(),
            sessions: snap.sessions.iter().copied().collect(),
            digest: 0,
            last_zxid: snap.zxid,
        };
        for n in &snap.nodes {
            if n.path != "/" && !t.nodes.contains_key(parent_and_name(&n.path).0) {
                return Err(format!("node {} comes before its parent", n.path));
            }
            t.insert(&n.path, n.data.clone(), n.acl, n.stat.clone());
        }
        Ok(t)
    }

    fn insert(&mut self, path: &str, data: Option<Bytes>, acl: i64, stat: StatPersisted) {
        // A map put, as NodeHashMapImpl.put: a node left behind when replay deleted its parent
        // (a fuzzy snapshot held the parent's later incarnation) is replaced, digest and all.
        if let Some(old) = self.nodes.remove(path) {
            self.digest =
                self.digest
                    .wrapping_sub(node_digest(path, old.data.as_deref(), &old.stat));
            if let Some(set) = self.ephemerals.get_mut(&old.stat.ephemeral_owner) {
                set.remove(path);
            }
        }
        if path != "/" {
            let (parent, name) = parent_and_name(path);
            if let Some(p) = self.nodes.get_mut(parent) {
                p.children.insert(name.to_string());
            }
        }
        let owner = stat.ephemeral_owner;
        if owner != 0 && owner != CONTAINER_OWNER && owner & TTL_OWNER_MASK != TTL_OWNER_MASK {
            self.ephemerals
                .entry(owner)
                .or_default()
                .insert(path.to_string());
        }
        self.digest = self
            .digest
            .wrapping_add(node_digest(path, data.as_deref(), &stat));
        let node = ReplayNode {
            data,
            acl,
            stat,
            children: BTreeSet::new(),
        };
        self.nodes.insert(path.to_string(), node);
    }

    /// Changes a node, keeping the digest right. False if there is no such node.
    fn update(&mut self, path: &str, f: impl FnOnce(&mut ReplayNode)) -> bool {
        let Some(n) = self.nodes.get_mut(path) else {
            return false;
        };
        let before = node_digest(path, n.data.as_deref(), &n.stat);
        f(n);
        let after = node_digest(path, n.data.as_deref(), &n.stat);
        self.digest = self.digest.wrapping_sub(before).wrapping_add(after);
        true
    }

    /// Applies one logged transaction as replay does: creates of existing nodes and deletes of
    /// missing ones are skipped, so replaying over a fuzzy snapshot is idempotent.
    pub fn apply(&mut self, entry: &TxnEntry) -> Result<(), DecodeError> {
        let txn = entry.txn()?;
        self.apply_txn(&entry.header, entry.header.txn_type, &txn);
        self.last_zxid = self.last_zxid.max(entry.header.zxid);
        Ok(())
    }

    fn apply_txn(&mut self, h: &TxnHeader, txn_type: i32, txn: &LogTxn) {
        let zxid = h.zxid;
        match txn {
            LogTxn::CreateSession(t) => {
                self.sessions.insert(h.client_id, t.timeout_ms);
            }
            LogTxn::CloseSession(t) => {
                self.sessions.remove(&h.client_id);
                for p in &t.paths_to_delete {
                    self.delete(p, zxid);
                }
                let owned = self.ephemerals.remove(&h.client_id.0).unwrap_or_default();
                for p in owned {
                    self.delete(&p, zxid);
                }
            }
            LogTxn::Create(t) => {
                let owner = if t.ephemeral { h.client_id.0 } else { 0 };
                // Replay of a `create` (not create2) that finds the node adjusts the parent's
                // cversion anyway (DataTree.processTxn, "Adjusting parent cversion").
                let adjust = txn_type == OpCode::Create.as_i32();
                self.create(
                    &t.path,
                    &t.data,
                    &t.acl,
                    owner,
                    t.parent_cversion,
                    h,
                    adjust,
                );
            }
            LogTxn::CreateContainer(t) => {
                self.create(
                    &t.path,
                    &t.data,
                    &t.acl,
                    CONTAINER_OWNER,
                    t.parent_cversion,
                    h,
                    false,
                );
            }
            LogTxn::CreateTtl(t) => {
                let owner = TTL_OWNER_MASK | t.ttl;
                self.create(&t.path, &t.data, &t.acl, owner, t.parent_cversion, h, false);
            }
            LogTxn::Delete(t) => self.delete(&t.path, zxid),
            LogTxn::SetData(t) => {
                self.update(&t.path, |n| {
                    n.data = t.data.clone();
                    n.stat.version = t.version;
                    n.stat.mzxid = zxid;
                    n.stat.mtime = h.time;
                });
            }
            LogTxn::SetAcl(t) => {
                if let Some(old) = self.nodes.get(&t.path).map(|n| n.acl) {
                    let id = self.acls.intern(&t.acl);
                    self.acls.remove_usage(old);
                    self.update(&t.path, |n| {
                        n.acl = id;
                        n.stat.aversion = t.version;
                    });
                }
            }
            LogTxn::Multi(subs) => {
                if subs.iter().any(|(_, t)| matches!(t, LogTxn::Error(_))) {
                    return; // A failed multi changed nothing.
                }
                for (sub_type, sub) in subs {
                    self.apply_txn(h, *sub_type, sub);
                }
            }
            _ => {} // check, error: nothing to apply
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn create(
        &mut self,
        path: &str,
        data: &Option<Bytes>,
        acl: &[Acl],
        owner: i64,
        parent_cversion: i32,
        h: &TxnHeader,
        adjust_on_exists: bool,
    ) {
        let (parent, name) = parent_and_name(path);
        let Some(p) = self.nodes.get(parent) else {
            return; // NoNode: skipped on replay
        };
        let exists = p.children.contains(name);
        let cur = p.stat.cversion;
        // As Apache ZooKeeper: the ACL is interned before the existence check.
        let acl_id = self.acls.intern(acl);
        let cv = if parent_cversion == -1 {
            cur + 1
        } else {
            parent_cversion
        };
        if exists && !adjust_on_exists {
            return; // NodeExists: already in the fuzzy snapshot
        }
        self.update(parent, |p| {
            if cv > p.stat.cversion {
                p.stat.cversion = cv;
                p.stat.pzxid = h.zxid;
            }
        });
        if exists {
            return;
        }
        let stat = StatPersisted {
            czxid: h.zxid,
            mzxid: h.zxid,
            ctime: h.time,
            mtime: h.time,
            version: 0,
            cversion: 0,
            aversion: 0,
            ephemeral_owner: owner,
            pzxid: h.zxid,
        };
        self.insert(path, data.clone(), acl_id, stat);
    }

    /// `DataTree.deleteNode`: the parent's pzxid moves forward even when the child is already
    /// gone (a fuzzy snapshot may have missed it), then the child goes if it is there.
    fn delete(&mut self, path: &str, zxid: Zxid) {
        let (parent, name) = parent_and_name(path);
        if path == "/" || !self.nodes.contains_key(parent) {
            return;
        }
        self.update(parent, |p| {
            p.children.remove(name);
            if zxid > p.stat.pzxid {
                p.stat.pzxid = zxid;
            }
        });
        let Some(node) = self.nodes.remove(path) else {
            return;
        };
        self.digest = self
            .digest
            .wrapping_sub(node_digest(path, node.data.as_deref(), &node.stat));
        self.acls.remove_usage(node.acl);
        if let Some(set) = self.ephemerals.get_mut(&node.stat.ephemeral_owner) {
            set.remove(path);
        }
    }

    /// The node at `path`.
    pub fn get(&self, path: &str) -> Option<&ReplayNode> {
        self.nodes.get(path)
    }

    /// The client-visible `Stat` of the node at `path`, as `DataNode.copyStat` derives it: the
    /// stored cversion counts creates only, clients see `cversion * 2 - numChildren` (creates
    /// plus deletes); container and TTL owners read as 0.
    pub fn stat(&self, path: &str) -> Option<Stat> {
        let n = self.nodes.get(path)?;
        let s = &n.stat;
        let num_children = n.children.len() as i32;
        let owner = if s.ephemeral_owner < 0 {
            0
        } else {
            s.ephemeral_owner
        };
        Some(Stat {
            czxid: s.czxid,
            mzxid: s.mzxid,
            ctime: s.ctime,
            mtime: s.mtime,
            version: s.version,
            cversion: s.cversion.wrapping_mul(2).wrapping_sub(num_children),
            aversion: s.aversion,
            ephemeral_owner: SessionId(owner),
            data_length: n.data.as_ref().map_or(0, |d| d.len() as i32),
            num_children,
            pzxid: s.pzxid,
        })
    }

    /// Every path, sorted.
    pub fn paths(&self) -> Vec<String> {
        let mut v: Vec<String> = self.nodes.keys().cloned().collect();
        v.sort();
        v
    }

    /// The number of nodes.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// True when the tree has no nodes at all (not even the root).
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// The tree digest (`DataTree.getTreeDigest`).
    pub fn digest(&self) -> i64 {
        self.digest
    }

    /// Writes the tree as `snapshot.<name>` in `snap_dir`, parents first, with its digest as of
    /// `last_zxid`. `name` is normally `last_zxid`; an older `name` makes a fuzzy snapshot, as if
    /// the writes up to `last_zxid` had happened while it was being written.
    pub fn write_snapshot(&self, snap_dir: &Path, name: Zxid) -> Result<PathBuf> {
        let mut w = SnapshotWriter::create(snap_dir, name)?;
        w.sessions(
            self.sessions
                .iter()
                .map(|(s, t)| (*s, *t))
                .collect::<Vec<_>>(),
        )?;
        w.acl_cache(&self.acls)?;
        let mut stack = vec!["/".to_string()];
        while let Some(path) = stack.pop() {
            let Some(n) = self.nodes.get(&path) else {
                continue;
            };
            w.node(&path, n.data.as_deref(), n.acl, &n.stat)?;
            let base = if path == "/" { "" } else { path.as_str() };
            stack.extend(n.children.iter().rev().map(|c| format!("{base}/{c}")));
        }
        let digest = (self.last_zxid.0 > 0).then_some(SnapDigest {
            zxid: self.last_zxid,
            version: DIGEST_VERSION,
            digest: self.digest,
        });
        w.finish(digest)
    }
}
