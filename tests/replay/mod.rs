//! A test oracle: a self-contained model of applying transactions to a data tree as Apache ZooKeeper replays
//! them at start-up (`FileTxnSnapLog.processTransaction`, `DataTree.processTxn`), with the
//! 3.6+ tree digest kept incrementally.
//!
//! The server core owns the real data tree; this model is the reference the persistence tests
//! (here and in `tests/persist_*.rs`) check against (its digest equals the `TxnDigest` Apache ZooKeeper logs after every txn).
//! Replay over a fuzzy snapshot is idempotent only with Apache ZooKeeper's exact rules:
//! - create (all four kinds): parent missing: skip. The ACL is interned first. Node exists:
//!   skip, except that op `create` (1, not create2) still raises the parent's cversion. The
//!   parent's cversion and pzxid change only if the record's parentCVersion is greater.
//! - delete: parent missing: skip. The parent's pzxid moves forward (if greater) even when the
//!   child is already gone; the child's own children stay in the node map until replaced.
//! - setData, setACL: absolute values from the record; a missing node is skipped.
//! - closeSession: delete the listed paths, then the ephemerals the session still owns.
//! - multi: nothing if any sub-transaction is an error, else each with the multi's header.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use bytes::Bytes;
use zk_core::data::{Acl, StatPersisted};
use zk_core::ephemeral::{CONTAINER_OWNER, TTL_OWNER_MASK};
use zk_core::txn::{TxnBody, TxnEntry, TxnHeader};
use zk_core::{DecodeError, OpCode, SessionId, Zxid};
use zk_server::persist::{node_digest, AclCache};

mod view;

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
        let txn = entry.body()?;
        self.apply_txn(&entry.header, entry.header.txn_type, &txn);
        self.last_zxid = self.last_zxid.max(entry.header.zxid);
        Ok(())
    }

    fn apply_txn(&mut self, h: &TxnHeader, txn_type: i32, txn: &TxnBody) {
        let zxid = h.zxid;
        match txn {
            TxnBody::CreateSession(t) => {
                self.sessions.insert(h.client_id, t.timeout_ms);
            }
            TxnBody::CloseSession(t) => {
                self.sessions.remove(&h.client_id);
                for p in &t.paths_to_delete {
                    self.delete(p, zxid);
                }
                let owned = self.ephemerals.remove(&h.client_id.0).unwrap_or_default();
                for p in owned {
                    self.delete(&p, zxid);
                }
            }
            TxnBody::Create(t) => {
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
            TxnBody::CreateContainer(t) => {
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
            TxnBody::CreateTtl(t) => {
                let owner = TTL_OWNER_MASK | t.ttl;
                self.create(&t.path, &t.data, &t.acl, owner, t.parent_cversion, h, false);
            }
            TxnBody::Delete(t) => self.delete(&t.path, zxid),
            TxnBody::SetData(t) => {
                self.update(&t.path, |n| {
                    n.data = t.data.clone();
                    n.stat.version = t.version;
                    n.stat.mzxid = zxid;
                    n.stat.mtime = h.time;
                });
            }
            TxnBody::SetAcl(t) => {
                if let Some(old) = self.nodes.get(&t.path).map(|n| n.acl) {
                    let id = self.acls.intern(&t.acl);
                    self.acls.remove_usage(old);
                    self.update(&t.path, |n| {
                        n.acl = id;
                        n.stat.aversion = t.version;
                    });
                }
            }
            TxnBody::Multi(subs) => {
                if subs.iter().any(|(_, t)| matches!(t, TxnBody::Error(_))) {
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
}
