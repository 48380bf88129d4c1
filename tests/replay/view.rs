//! Building a [`ReplayTree`] (fresh or from a snapshot), reading it, and writing it back as a
//! snapshot.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use bytes::Bytes;
use zk_core::data::{Acl, Stat, StatPersisted};
use zk_core::{SessionId, Zxid};

use zk_server::persist::{AclCache, Result, SnapDigest, Snapshot, SnapshotWriter, DIGEST_VERSION};

use super::{parent_and_name, ReplayNode, ReplayTree};

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
