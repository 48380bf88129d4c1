//! Applying transactions to the data tree (`DataTree.processTxn`): deterministic, so replaying
//! the log rebuilds the tree.

use std::sync::Arc;

use bytes::Bytes;
use zk_core::data::StatPersisted;
use zk_core::path;
use zk_core::txn::{TxnBody, TxnHeader};
use zk_core::{Acl, ErrorCode, EventType, OpCode, Zxid};

use super::node::{DataNode, OwnerKind};
use super::tree::{DataTree, Trigger, TxnResult};

impl DataTree {
    /// Replays one logged transaction (recovery): decodes the body the header's type selects
    /// and applies it, firing no watches. Replaying a transaction already reflected in a fuzzy
    /// snapshot is harmless: it fails the same way Apache ZooKeeper's replay does.
    pub fn replay(
        &mut self,
        header: &TxnHeader,
        body: &[u8],
    ) -> Result<TxnResult, zk_core::DecodeError> {
        let body = TxnBody::decode(header.txn_type, body)?;
        Ok(self.apply(header, &body, &mut Vec::new()))
    }

    /// Applies one transaction, appending the watch triggers it causes to `triggers`.
    pub fn apply(
        &mut self,
        header: &TxnHeader,
        body: &TxnBody,
        triggers: &mut Vec<Trigger>,
    ) -> TxnResult {
        let result = self.apply_one(header, header.txn_type, body, triggers);
        if header.zxid > self.last_zxid {
            self.last_zxid = header.zxid;
        }
        result
    }

    fn apply_one(
        &mut self,
        h: &TxnHeader,
        txn_type: i32,
        body: &TxnBody,
        triggers: &mut Vec<Trigger>,
    ) -> TxnResult {
        let zxid = h.zxid;
        let res = match body {
            TxnBody::Create(t) => {
                let owner = if t.ephemeral { h.client_id.0 } else { 0 };
                self.create_node(
                    &t.path,
                    &t.data,
                    &t.acl,
                    owner,
                    t.parent_cversion,
                    zxid,
                    h.time,
                    // Replay of an op-1 create that finds the node still raises the parent's
                    // cversion (FileTxnSnapLog.processTransaction).
                    txn_type == OpCode::Create.as_i32(),
                    triggers,
                )
            }
            TxnBody::CreateContainer(t) => self.create_node(
                &t.path,
                &t.data,
                &t.acl,
                zk_core::ephemeral::CONTAINER_OWNER,
                t.parent_cversion,
                zxid,
                h.time,
                false,
                triggers,
            ),
            TxnBody::CreateTtl(t) => self.create_node(
                &t.path,
                &t.data,
                &t.acl,
                OwnerKind::ttl_owner(t.ttl),
                t.parent_cversion,
                zxid,
                h.time,
                false,
                triggers,
            ),
            TxnBody::Delete(t) => self
                .delete_node(&t.path, zxid, triggers)
                .map(|_| TxnResult::Deleted),
            TxnBody::SetData(t) => match self.node_mut(&t.path) {
                None => Err(ErrorCode::NoNode),
                Some(n) => {
                    let len = |d: &Option<Bytes>| d.as_ref().map_or(0, |d| d.len() as i64);
                    let diff = len(&t.data) - len(&n.data);
                    n.data = stored_data(&t.data);
                    n.stat.version = t.version;
                    n.stat.mtime = h.time;
                    n.stat.mzxid = zxid;
                    let stat = n.client_stat();
                    triggers.push(Trigger {
                        event: EventType::NodeDataChanged,
                        path: t.path.clone(),
                        acl: n.acl.clone(),
                    });
                    self.quota_data_changed(&t.path, diff);
                    Ok(TxnResult::SetData(stat))
                }
            },
            TxnBody::SetAcl(t) => {
                let acl = self.acls.intern(&t.acl);
                match self.node_mut(&t.path) {
                    None => Err(ErrorCode::NoNode),
                    Some(n) => {
                        n.acl = acl;
                        n.stat.aversion = t.version;
                        Ok(TxnResult::SetAcl(n.client_stat()))
                    }
                }
            }
            TxnBody::Check(_) => Ok(TxnResult::Checked),
            TxnBody::Error(e) => Ok(TxnResult::Error(ErrorCode::from_i32(e.err))),
            TxnBody::CreateSession(t) => {
                self.sessions.insert(h.client_id, t.timeout_ms);
                Ok(TxnResult::Session)
            }
            TxnBody::CloseSession(t) => {
                // The listed paths first (a delete of a node a fuzzy snapshot already lacks
                // still moves its parent's pzxid), then whatever the session still owns.
                for p in &t.paths_to_delete {
                    let _ = self.delete_node(p, zxid, triggers);
                }
                for p in self.ephemerals(h.client_id) {
                    let _ = self.delete_node(&p, zxid, triggers);
                }
                self.forget_ephemerals(h.client_id);
                self.sessions.remove(&h.client_id);
                Ok(TxnResult::Session)
            }
            TxnBody::Multi(subs) => Ok(self.apply_multi(h, subs, triggers)),
            // A record kind zk-core gained after this was written: nothing here knows how to
            // apply it, so it changes nothing and reports so.
            _ => Err(ErrorCode::Unimplemented),
        };
        res.unwrap_or_else(TxnResult::Error)
    }

    fn apply_multi(
        &mut self,
        h: &TxnHeader,
        subs: &[(i32, TxnBody)],
        triggers: &mut Vec<Trigger>,
    ) -> TxnResult {
        let failed = subs.iter().any(|(_, b)| matches!(b, TxnBody::Error(_)));
        if failed {
            let mut post = false;
            let results = subs
                .iter()
                .map(|(_, b)| match b {
                    TxnBody::Error(e) => {
                        post = true;
                        TxnResult::Error(ErrorCode::from_i32(e.err))
                    }
                    _ if post => TxnResult::Error(ErrorCode::RuntimeInconsistency),
                    _ => TxnResult::Error(ErrorCode::Ok),
                })
                .collect();
            return TxnResult::Multi(results);
        }
        let results = subs
            .iter()
            .map(|(ty, b)| self.apply_one(h, *ty, b, triggers))
            .collect();
        TxnResult::Multi(results)
    }

    /// `DataTree.createNode` with replay's rules: a missing parent is NoNode; an existing child
    /// is NodeExists (after raising the parent's cversion if `adjust_on_exists`); the parent's
    /// cversion and pzxid only move forward.
    #[allow(clippy::too_many_arguments)]
    fn create_node(
        &mut self,
        path: &str,
        data: &Option<Bytes>,
        acl: &[Acl],
        owner: i64,
        parent_cversion: i32,
        zxid: Zxid,
        time: i64,
        adjust_on_exists: bool,
        triggers: &mut Vec<Trigger>,
    ) -> Result<TxnResult, ErrorCode> {
        let parent_path = path::parent(path).to_owned();
        let name = path::node_name(path);
        let parent = self
            .nodes
            .get(parent_path.as_str())
            .ok_or(ErrorCode::NoNode)?;
        let exists = parent.has_child(name) || path == "/";
        if exists && !adjust_on_exists {
            return Err(ErrorCode::NodeExists);
        }
        let cur = parent.stat.cversion;
        let cv = if parent_cversion == -1 {
            cur + 1
        } else {
            parent_cversion
        };
        let parent = self.node_mut(&parent_path).ok_or(ErrorCode::NoNode)?;
        let parent_acl = parent.acl.clone();
        if cv > parent.stat.cversion {
            parent.stat.cversion = cv;
            parent.stat.pzxid = zxid;
        }
        if exists {
            return Err(ErrorCode::NodeExists);
        }
        parent.add_child(name);
        // A node left in the map when replay deleted its parent (a fuzzy snapshot held the
        // parent's later incarnation) is replaced.
        if let Some(old) = self.nodes.remove(path) {
            self.unindex_owner(path, old.stat.ephemeral_owner);
        }
        let stat = StatPersisted {
            czxid: zxid,
            mzxid: zxid,
            ctime: time,
            mtime: time,
            version: 0,
            cversion: 0,
            aversion: 0,
            ephemeral_owner: owner,
            pzxid: zxid,
        };
        let acl = self.acls.intern(acl);
        let node = DataNode::new(stored_data(data), acl.clone(), stat);
        let client_stat = node.client_stat();
        self.nodes.insert(path.into(), Arc::new(node));
        self.index_owner(path, owner);
        self.quota_created(path, data.as_ref().map_or(0, |d| d.len() as i64));
        triggers.push(Trigger {
            event: EventType::NodeCreated,
            path: path.to_owned(),
            acl,
        });
        triggers.push(Trigger {
            event: EventType::NodeChildrenChanged,
            path: parent_path,
            acl: parent_acl,
        });
        Ok(TxnResult::Created {
            path: path.to_owned(),
            stat: client_stat,
        })
    }

    /// `DataTree.deleteNode`: the parent's pzxid moves forward even when the child is already
    /// gone (replay over a fuzzy snapshot), then the child goes if it is there.
    fn delete_node(
        &mut self,
        path: &str,
        zxid: Zxid,
        triggers: &mut Vec<Trigger>,
    ) -> Result<(), ErrorCode> {
        let parent_path = path::parent(path).to_owned();
        if path == "/" || !self.nodes.contains_key(parent_path.as_str()) {
            return Err(ErrorCode::NoNode);
        }
        let parent = self.node_mut(&parent_path).ok_or(ErrorCode::NoNode)?;
        let parent_acl = parent.acl.clone();
        parent.remove_child(path::node_name(path));
        if zxid > parent.stat.pzxid {
            parent.stat.pzxid = zxid;
        }
        let node = self.nodes.remove(path).ok_or(ErrorCode::NoNode)?;
        self.unindex_owner(path, node.stat.ephemeral_owner);
        self.quota_deleted(path, node.data.as_ref().map_or(0, |d| d.len() as i64));
        triggers.push(Trigger {
            event: EventType::NodeDeleted,
            path: path.to_owned(),
            acl: node.acl.clone(),
        });
        triggers.push(Trigger {
            event: EventType::NodeChildrenChanged,
            path: parent_path,
            acl: parent_acl,
        });
        Ok(())
    }
}

/// Data up to this size is copied into the tree rather than shared with the transaction.
const COPY_DATA_UP_TO: usize = 1024;

/// The data a node keeps. Sharing a transaction's buffer allocates a 24-byte reference count
/// beside it for the node's whole life; small data is cheaper copied into its own buffer.
fn stored_data(data: &Option<Bytes>) -> Option<Bytes> {
    match data {
        Some(d) if d.len() <= COPY_DATA_UP_TO => Some(Bytes::copy_from_slice(d)),
        other => other.clone(),
    }
}
