//! `ReferenceCountedACLCache`: nodes store an `i64` reference to an ACL list; the snapshot holds
//! the map from reference to list. Ids start at 1 and grow; `-1` stands for
//! `OPEN_ACL_UNSAFE` without an entry in the map.
//!
//! Snapshot layout: `int count; count * { long id; vector<ACL> acls }`.

use std::collections::{BTreeMap, HashMap};

use zk_core::data::Acl;
use zk_core::jute::{Decode, Encode, Reader, WriteExt};
use zk_core::DecodeError;

/// The reference that means `OPEN_ACL_UNSAFE` with no map entry (`OPEN_UNSAFE_ACL_ID`).
pub const OPEN_UNSAFE_ACL_ID: i64 = -1;

/// A reference-counted map between ACL lists and their ids.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AclCache {
    by_id: BTreeMap<i64, Vec<Acl>>,
    by_acl: HashMap<Vec<Acl>, i64>,
    refs: HashMap<i64, u64>,
    max_id: i64,
}

impl AclCache {
    /// An empty cache.
    pub fn new() -> AclCache {
        AclCache::default()
    }

    /// The id for `acls`, allocating one if new, and counts one more use (`convertAcls`).
    pub fn intern(&mut self, acls: &[Acl]) -> i64 {
        let id = match self.by_acl.get(acls) {
            Some(&id) => id,
            None => {
                self.max_id += 1;
                let id = self.max_id;
                self.by_id.insert(id, acls.to_vec());
                self.by_acl.insert(acls.to_vec(), id);
                id
            }
        };
        self.add_usage(id);
        id
    }

    /// The ACL list of `id`; `-1` is `OPEN_ACL_UNSAFE` (`convertLong`).
    pub fn get(&self, id: i64) -> Option<Vec<Acl>> {
        if id == OPEN_UNSAFE_ACL_ID {
            return Some(Acl::open_unsafe());
        }
        self.by_id.get(&id).cloned()
    }

    /// Counts one more use of `id`; unknown ids are ignored, as Apache ZooKeeper ignores them.
    pub fn add_usage(&mut self, id: i64) {
        if id != OPEN_UNSAFE_ACL_ID && self.by_id.contains_key(&id) {
            *self.refs.entry(id).or_insert(0) += 1;
        }
    }

    /// Counts one use less; the entry goes when no node uses it.
    pub fn remove_usage(&mut self, id: i64) {
        let Some(n) = self.refs.get_mut(&id) else {
            return;
        };
        *n = n.saturating_sub(1);
        if *n == 0 {
            self.refs.remove(&id);
            if let Some(acls) = self.by_id.remove(&id) {
                self.by_acl.remove(&acls);
            }
        }
    }

    /// Drops entries no node uses (`purgeUnused`, run after a snapshot is loaded).
    pub fn purge_unused(&mut self) {
        let unused: Vec<i64> = self
            .by_id
            .keys()
            .filter(|id| self.refs.get(id).copied().unwrap_or(0) == 0)
            .copied()
            .collect();
        for id in unused {
            if let Some(acls) = self.by_id.remove(&id) {
                self.by_acl.remove(&acls);
            }
        }
    }

    /// Adds an entry read from a snapshot, with no uses yet.
    pub fn insert(&mut self, id: i64, acls: Vec<Acl>) {
        self.max_id = self.max_id.max(id);
        self.by_acl.insert(acls.clone(), id);
        self.by_id.insert(id, acls);
    }

    /// The entries, by id.
    pub fn entries(&self) -> impl Iterator<Item = (i64, &[Acl])> {
        self.by_id.iter().map(|(id, a)| (*id, a.as_slice()))
    }

    /// The number of uses of `id`.
    pub fn usage(&self, id: i64) -> u64 {
        self.refs.get(&id).copied().unwrap_or(0)
    }

    /// The number of entries.
    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    /// True when there are no entries.
    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }
}

impl Encode for AclCache {
    fn encode(&self, w: &mut Vec<u8>) {
        w.put_i32(self.by_id.len() as i32);
        for (id, acls) in &self.by_id {
            w.put_i64(*id);
            acls.encode(w);
        }
    }
}

impl Decode for AclCache {
    /// Reads the map; uses are counted as nodes are read. A null ACL vector is refused, as
    /// Apache ZooKeeper refuses it.
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let mut cache = AclCache::new();
        let count = r.read_i32()?;
        if count < 0 || count as usize > r.remaining() {
            return Err(DecodeError::BadLength {
                offset: r.position() - 4,
                len: count,
            });
        }
        for _ in 0..count {
            let id = r.read_i64()?;
            let at = r.position();
            if r.rest().starts_with(&[0xff, 0xff, 0xff, 0xff]) {
                return Err(DecodeError::BadLength {
                    offset: at,
                    len: -1,
                });
            }
            let acls: Vec<Acl> = r.read_vec()?;
            cache.insert(id, acls);
        }
        Ok(cache)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use zk_core::data::Id;
    use zk_core::Perms;

    #[test]
    fn ids_are_shared_counted_and_freed() {
        let mut c = AclCache::new();
        let a = c.intern(&Acl::open_unsafe());
        let b = c.intern(&Acl::open_unsafe());
        assert_eq!((a, b), (1, 1));
        assert_eq!(c.usage(1), 2);
        let digest = vec![Acl::new(Perms::ALL, Id::new("digest", "u:x"))];
        assert_eq!(c.intern(&digest), 2);
        c.remove_usage(2);
        assert!(c.get(2).is_none());
        assert_eq!(c.intern(&digest), 3, "ids are never reused");
        assert_eq!(c.get(-1), Some(Acl::open_unsafe()));
    }

    #[test]
    fn golden_bytes() {
        let mut c = AclCache::new();
        c.intern(&Acl::open_unsafe());
        let bytes = c.to_bytes();
        let mut want = vec![0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1];
        want.extend_from_slice(&Acl::open_unsafe()[0].to_bytes());
        assert_eq!(bytes, want);
        let back = AclCache::from_bytes(&bytes).unwrap();
        assert_eq!(back.get(1), Some(Acl::open_unsafe()));
        assert_eq!(back.usage(1), 0);
    }
}
