//! One znode (`DataNode`): data, ACL, persisted stat and children.

use bytes::Bytes;
use zk_core::data::StatPersisted;
use zk_core::ephemeral::{CONTAINER_OWNER, MAX_TTL_MS, TTL_OWNER_MASK};
use zk_core::{SessionId, Stat};

use super::acl::AclList;
use super::java_hash::JavaHashSet;

/// What kind of node a stored ephemeral owner describes (`EphemeralType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OwnerKind {
    /// A persistent node (owner 0).
    Persistent,
    /// An ephemeral node owned by a session.
    Ephemeral(SessionId),
    /// A container node.
    Container,
    /// A TTL node with its TTL in milliseconds.
    Ttl(i64),
}

impl OwnerKind {
    /// Decodes a stored `ephemeralOwner`.
    pub fn of(owner: i64) -> OwnerKind {
        if owner == 0 {
            OwnerKind::Persistent
        } else if owner == CONTAINER_OWNER {
            OwnerKind::Container
        } else if owner & TTL_OWNER_MASK == TTL_OWNER_MASK {
            OwnerKind::Ttl(owner & !TTL_OWNER_MASK)
        } else {
            OwnerKind::Ephemeral(SessionId(owner))
        }
    }

    /// The stored encoding of a TTL node's owner.
    pub fn ttl_owner(ttl_ms: i64) -> i64 {
        TTL_OWNER_MASK | (ttl_ms & MAX_TTL_MS)
    }
}

/// A znode. Data is `None` for null data, which is not the same as empty data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataNode {
    /// The node's data; `None` is Java's null.
    pub data: Option<Bytes>,
    /// The node's ACL (shared with the other nodes that have the same one).
    pub acl: AclList,
    /// The persisted stat; `cversion` here counts child creations.
    pub stat: StatPersisted,
    /// Created with the first child, as Apache ZooKeeper's `DataNode` does, and kept after
    /// the last one goes (its capacity decides the listing order).
    children: Option<Box<JavaHashSet>>,
}

impl DataNode {
    /// A node with no children.
    pub fn new(data: Option<Bytes>, acl: AclList, stat: StatPersisted) -> DataNode {
        DataNode {
            data,
            acl,
            stat,
            children: None,
        }
    }

    /// Child names in Apache ZooKeeper's listing order.
    pub fn children(&self) -> Vec<String> {
        self.children.as_ref().map_or_else(Vec::new, |c| c.to_vec())
    }

    /// Child names in no particular order.
    pub fn children_iter(&self) -> impl Iterator<Item = &str> {
        self.children.iter().flat_map(|c| c.iter())
    }

    /// True if `name` is a child.
    pub fn has_child(&self, name: &str) -> bool {
        self.children.as_ref().is_some_and(|c| c.contains(name))
    }

    /// Number of children.
    pub fn num_children(&self) -> usize {
        self.children.as_ref().map_or(0, |c| c.len())
    }

    pub(crate) fn add_child(&mut self, name: &str) -> bool {
        self.children
            .get_or_insert_with(|| Box::new(JavaHashSet::with_capacity(8)))
            .insert(name)
    }

    pub(crate) fn remove_child(&mut self, name: &str) -> bool {
        self.children.as_mut().is_some_and(|c| c.remove(name))
    }

    /// The length of the data (0 for null).
    pub fn data_len(&self) -> i32 {
        self.data.as_ref().map_or(0, |d| d.len() as i32)
    }

    /// The kind of node its stored owner describes.
    pub fn owner_kind(&self) -> OwnerKind {
        OwnerKind::of(self.stat.ephemeral_owner)
    }

    /// The stat a client sees (`DataNode.copyStat`): visible cversion is
    /// `stored * 2 - numChildren`, and containers and TTL nodes show owner 0.
    pub fn client_stat(&self) -> Stat {
        let s = &self.stat;
        let n = self.num_children() as i32;
        let owner = match self.owner_kind() {
            OwnerKind::Ephemeral(sid) => sid,
            _ => SessionId(0),
        };
        Stat {
            czxid: s.czxid,
            mzxid: s.mzxid,
            ctime: s.ctime,
            mtime: s.mtime,
            version: s.version,
            cversion: s.cversion.wrapping_mul(2).wrapping_sub(n),
            aversion: s.aversion,
            ephemeral_owner: owner,
            data_length: self.data_len(),
            num_children: n,
            pzxid: s.pzxid,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owner_kinds() {
        assert_eq!(OwnerKind::of(0), OwnerKind::Persistent);
        assert_eq!(OwnerKind::of(CONTAINER_OWNER), OwnerKind::Container);
        assert_eq!(
            OwnerKind::of(OwnerKind::ttl_owner(60_000)),
            OwnerKind::Ttl(60_000)
        );
        assert_eq!(
            OwnerKind::of(0x0100_000e_8935_0000),
            OwnerKind::Ephemeral(SessionId(0x0100_000e_8935_0000))
        );
    }

    #[test]
    fn visible_cversion() {
        let mut n = DataNode::new(None, Vec::new().into(), StatPersisted::default());
        n.stat.cversion = 2;
        n.add_child("a");
        assert_eq!(n.client_stat().cversion, 3);
        assert_eq!(n.client_stat().num_children, 1);
    }
}
