//! [`NodeMap`]: the znodes by path, sharded so that copying the whole map (for a snapshot) is a
//! few hundred pointer copies, and the cost of copy-on-write is paid one shard at a time by
//! the writes that follow.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::sync::Arc;

use super::node::DataNode;

/// Number of shards: a copy is `SHARDS` reference-count increments; after a copy, the first
/// write to each shard copies that shard (1/`SHARDS` of the nodes, the nodes themselves shared).
const SHARDS: usize = 256;

type Shard = HashMap<Arc<str>, Arc<DataNode>>;

/// Paths to nodes; `clone` is O(SHARDS), mutation copies a shared shard or node first.
#[derive(Debug, Clone)]
pub struct NodeMap {
    shards: Vec<Arc<Shard>>,
    hasher: RandomState,
    len: usize,
}

impl Default for NodeMap {
    fn default() -> Self {
        NodeMap::new()
    }
}

impl NodeMap {
    /// An empty map.
    pub fn new() -> NodeMap {
        NodeMap {
            shards: (0..SHARDS).map(|_| Arc::new(Shard::new())).collect(),
            hasher: RandomState::new(),
            len: 0,
        }
    }

    fn shard_of(&self, path: &str) -> usize {
        (self.hasher.hash_one(path) as usize) % SHARDS
    }

    /// The node at `path`.
    pub fn get(&self, path: &str) -> Option<&Arc<DataNode>> {
        self.shards[self.shard_of(path)].get(path)
    }

    /// The node at `path`, its shard made private first.
    pub fn get_mut(&mut self, path: &str) -> Option<&mut Arc<DataNode>> {
        let i = self.shard_of(path);
        Arc::make_mut(&mut self.shards[i]).get_mut(path)
    }

    /// True if there is a node at `path`.
    pub fn contains_key(&self, path: &str) -> bool {
        self.get(path).is_some()
    }

    /// Inserts or replaces the node at `path`; returns the old one.
    pub fn insert(&mut self, path: Arc<str>, node: Arc<DataNode>) -> Option<Arc<DataNode>> {
        let i = self.shard_of(&path);
        let old = Arc::make_mut(&mut self.shards[i]).insert(path, node);
        if old.is_none() {
            self.len += 1;
        }
        old
    }

    /// Removes the node at `path`.
    pub fn remove(&mut self, path: &str) -> Option<Arc<DataNode>> {
        let i = self.shard_of(path);
        if !self.shards[i].contains_key(path) {
            return None;
        }
        let old = Arc::make_mut(&mut self.shards[i]).remove(path);
        if old.is_some() {
            self.len -= 1;
        }
        old
    }

    /// Number of nodes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when there is no node.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Every path and node, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (&Arc<str>, &Arc<DataNode>)> {
        self.shards.iter().flat_map(|s| s.iter())
    }

    /// Reserves room for `n` more nodes, spread over the shards.
    pub fn reserve(&mut self, n: usize) {
        for s in &mut self.shards {
            Arc::make_mut(s).reserve(n / SHARDS + 1);
        }
    }
}
