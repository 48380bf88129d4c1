//! Applying transactions to the data tree (`DataTree.processTxn`): deterministic, so replaying
//! the log rebuilds the tree.

use bytes::Bytes;
use zk_core::data::StatPersisted;
use zk_core::path;
use zk_core::txn::TxnHeader;
use zk_core::{Acl, ErrorCode, EventType, Zxid};

use super::node::{DataNode, OwnerKind};
use super::tree::{DataTree, Trigger, TxnResult};
use super::txn::TxnBody;

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
                    triggers,
                )
            }
            TxnBody::CreateContainer(t) => self.create_node(
                &t.path,
                &t.data,
                &t.acl,
                super::node::CONTAINER_OWNER,
                t.parent_cversion,
                zxid,
                h.time,
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
                triggers,
            ),
            TxnBody::Delete(t) => self
                .delete_node(&t.path, zxid, triggers)
                .map(|_| TxnResult::Deleted),
            TxnBody::SetData(t) => match self.nodes.get_mut(&t.path) {
                None => Err(ErrorCode::NoNode),
                Some(n) => {
                    n.data = t.data.clone();
                    n.stat.version = t.version;
                    n.stat.mtime = h.time;
                    n.stat.mzxid = zxid;
                    let stat = n.client_stat();
                    triggers.push(Trigger {
                        event: EventType::NodeDataChanged,
                        path: t.path.clone(),
                    });
                    Ok(TxnResult::SetData(stat))
                }
            },
            TxnBody::SetAcl(t) => match self.nodes.get_mut(&t.path) {
                None => Err(ErrorCode::NoNode),
                Some(n) => {
                    n.acl = t.acl.clone();
                    n.stat.aversion = t.version;
                    Ok(TxnResult::SetAcl(n.client_stat()))
                }
            },
            TxnBody::Check(_) => Ok(TxnResult::Checked),
            TxnBody::Error(e) => Ok(TxnResult::Error(ErrorCode::from_i32(e.err))),
            TxnBody::CreateSession(t) => {
                self.sessions.insert(h.client_id, t.timeout_ms);
                Ok(TxnResult::Session)
            }
            TxnBody::CloseSession(_) => {
                // The session's ephemerals as the tree knows them; the txn's list is the same set
                // as prepared, and deleting from the index keeps replay idempotent.
                for p in self.ephemerals(h.client_id) {
                    let _ = self.delete_node(&p, zxid, triggers);
                }
                self.sessions.remove(&h.client_id);
                Ok(TxnResult::Session)
            }
            TxnBody::Multi(subs) => Ok(self.apply_multi(h, subs, triggers)),
        };
        let _ = txn_type;
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
        triggers: &mut Vec<Trigger>,
    ) -> Result<TxnResult, ErrorCode> {
        let parent_path = path::parent(path).to_owned();
        let name = path::node_name(path);
        if self.nodes.contains_key(path) {
            return Err(ErrorCode::NodeExists);
        }
        let parent = self.nodes.get_mut(&parent_path).ok_or(ErrorCode::NoNode)?;
        parent.stat.cversion = if parent_cversion == -1 {
            parent.stat.cversion + 1
        } else {
            parent_cversion
        };
        parent.stat.pzxid = zxid;
        parent.add_child(name);
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
        let node = DataNode::new(data.clone(), acl.to_vec(), stat);
        let client_stat = node.client_stat();
        self.nodes.insert(path.to_owned(), node);
        self.index_owner(path, owner);
        triggers.push(Trigger {
            event: EventType::NodeCreated,
            path: path.to_owned(),
        });
        triggers.push(Trigger {
            event: EventType::NodeChildrenChanged,
            path: parent_path,
        });
        Ok(TxnResult::Created {
            path: path.to_owned(),
            stat: client_stat,
        })
    }

    fn delete_node(
        &mut self,
        path: &str,
        zxid: Zxid,
        triggers: &mut Vec<Trigger>,
    ) -> Result<(), ErrorCode> {
        let node = self.nodes.remove(path).ok_or(ErrorCode::NoNode)?;
        let parent_path = path::parent(path).to_owned();
        if let Some(parent) = self.nodes.get_mut(&parent_path) {
            parent.remove_child(path::node_name(path));
            parent.stat.pzxid = zxid;
        }
        self.unindex_owner(path, node.stat.ephemeral_owner);
        triggers.push(Trigger {
            event: EventType::NodeDeleted,
            path: path.to_owned(),
        });
        triggers.push(Trigger {
            event: EventType::NodeChildrenChanged,
            path: parent_path,
        });
        Ok(())
    }
}
