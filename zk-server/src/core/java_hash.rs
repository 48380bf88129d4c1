//! Iteration order of a Java `HashSet<String>`, so that children and ephemeral lists come out in
//! the order Apache ZooKeeper sends them.
//!
//! Java's `HashMap` puts a key in bucket `spread(hashCode) & (capacity - 1)`, keeps insertion order
//! inside a bucket (resizing splits buckets without reordering) and never shrinks its table. We
//! keep each member's insertion sequence and the largest capacity reached, and sort by (bucket,
//! sequence) when listing. Buckets that Java would turn into trees (more than 8 entries in a table
//! of 64 or more) are the one case this does not model; the order is still deterministic.

use std::collections::HashMap;
use std::sync::Arc;

/// `String.hashCode()` over UTF-16 code units.
pub fn java_string_hash(s: &str) -> i32 {
    let mut h: i32 = 0;
    for unit in s.encode_utf16() {
        h = h.wrapping_mul(31).wrapping_add(unit as i32);
    }
    h
}

fn spread(h: i32) -> u32 {
    let h = h as u32;
    h ^ (h >> 16)
}

/// Members per shard before a set doubles its shard count.
const SHARD_TARGET: usize = 1024;

type Shard = HashMap<Box<str>, u64>;

/// A cheap, fixed hash that picks a member's shard (independent of the Java order).
fn shard_hash(s: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
    }
    h ^ (h >> 29)
}

/// A set of strings that lists its members in Java `HashSet` order.
///
/// Members are split over shared shards (`Arc`), as the tree's node map is, so that copying a
/// set with a million members (a parent node or a session's ephemerals, when the tree is
/// copied for a snapshot) is a few hundred pointer copies, and the writes that follow copy
/// only the shards they change.
#[derive(Debug, Clone)]
pub struct JavaHashSet {
    /// A power-of-two number of shards; member -> insertion sequence.
    shards: Vec<Arc<Shard>>,
    len: usize,
    next_seq: u64,
    capacity: usize,
}

impl PartialEq for JavaHashSet {
    fn eq(&self, other: &Self) -> bool {
        self.len == other.len
            && self.next_seq == other.next_seq
            && self.capacity == other.capacity
            && self.entries().all(|(k, seq)| other.seq_of(k) == Some(seq))
    }
}

impl Eq for JavaHashSet {}

impl JavaHashSet {
    /// An empty set whose Java counterpart was created with `new HashSet<>(initial_capacity)`.
    pub fn with_capacity(initial_capacity: usize) -> JavaHashSet {
        JavaHashSet {
            shards: vec![Arc::new(Shard::new())],
            len: 0,
            next_seq: 0,
            capacity: initial_capacity.max(1).next_power_of_two(),
        }
    }

    fn shard_of(&self, s: &str) -> usize {
        (shard_hash(s) as usize) & (self.shards.len() - 1)
    }

    fn seq_of(&self, s: &str) -> Option<u64> {
        self.shards[self.shard_of(s)].get(s).copied()
    }

    fn entries(&self) -> impl Iterator<Item = (&str, u64)> {
        self.shards
            .iter()
            .flat_map(|sh| sh.iter().map(|(k, v)| (&**k, *v)))
    }

    /// Number of members.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// True when `s` is a member.
    pub fn contains(&self, s: &str) -> bool {
        self.seq_of(s).is_some()
    }

    /// Adds `s`; returns false when it was already present.
    pub fn insert(&mut self, s: &str) -> bool {
        let i = self.shard_of(s);
        if self.shards[i].contains_key(s) {
            return false;
        }
        Arc::make_mut(&mut self.shards[i]).insert(s.into(), self.next_seq);
        self.next_seq += 1;
        self.len += 1;
        // Java resizes when the size exceeds 0.75 * capacity.
        while self.len * 4 > self.capacity * 3 {
            self.capacity *= 2;
        }
        if self.len > SHARD_TARGET * self.shards.len() {
            self.split();
        }
        true
    }

    /// Doubles the number of shards (amortized: each doubling moves every member once).
    fn split(&mut self) {
        let n = self.shards.len() * 2;
        let mut shards: Vec<Shard> = (0..n).map(|_| Shard::with_capacity(SHARD_TARGET)).collect();
        for sh in self.shards.drain(..) {
            let sh = Arc::try_unwrap(sh).unwrap_or_else(|shared| (*shared).clone());
            for (k, v) in sh {
                let j = (shard_hash(&k) as usize) & (n - 1);
                shards[j].insert(k, v);
            }
        }
        self.shards = shards.into_iter().map(Arc::new).collect();
    }

    /// Removes `s`; returns false when it was absent.
    pub fn remove(&mut self, s: &str) -> bool {
        let i = self.shard_of(s);
        if !self.shards[i].contains_key(s) {
            return false;
        }
        Arc::make_mut(&mut self.shards[i]).remove(s);
        self.len -= 1;
        true
    }

    /// The members in Java iteration order.
    pub fn to_vec(&self) -> Vec<String> {
        let mask = (self.capacity - 1) as u32;
        let mut v: Vec<(u32, u64, &str)> = self
            .entries()
            .map(|(k, seq)| (spread(java_string_hash(k)) & mask, seq, k))
            .collect();
        v.sort_unstable();
        v.into_iter().map(|(_, _, k)| k.to_owned()).collect()
    }

    /// The members in the iteration order of this set's Java `clone()` (what
    /// `DataTree.getEphemerals(session)` returns, for getEphemerals and closeSession): a new
    /// table of `tableSizeFor(size / 0.75 + 1)` buckets, filled in this set's iteration order.
    pub fn to_vec_cloned(&self) -> Vec<String> {
        let n = self.len;
        let sized = (n as f32 / 0.75f32 + 1.0f32) as usize;
        let mask = (sized.max(1).next_power_of_two() - 1) as u32;
        let src_mask = (self.capacity - 1) as u32;
        let mut v: Vec<(u32, u32, u64, &str)> = self
            .entries()
            .map(|(k, seq)| {
                let h = spread(java_string_hash(k));
                (h & mask, h & src_mask, seq, k)
            })
            .collect();
        v.sort_unstable();
        v.into_iter().map(|(_, _, _, k)| k.to_owned()).collect()
    }

    /// Iterates the members in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.entries().map(|(k, _)| k)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_hash_matches_java() {
        assert_eq!(java_string_hash(""), 0);
        assert_eq!(java_string_hash("a"), 97);
        assert_eq!(java_string_hash("hello"), 99162322);
    }

    #[test]
    fn a_large_set_is_sharded_and_a_copy_is_independent() {
        let mut s = JavaHashSet::with_capacity(8);
        for i in 0..5000 {
            assert!(s.insert(&format!("n{i}")));
        }
        assert!(!s.insert("n42"));
        assert_eq!(s.len(), 5000);
        assert!(s.shards.len() >= 4, "{} shards", s.shards.len());
        let copy = s.clone();
        assert!(s.remove("n42"));
        assert!(!s.remove("n42"));
        assert!(s.insert("late"));
        assert!(copy.contains("n42") && !copy.contains("late"));
        assert!(!s.contains("n42") && s.contains("late"));
        assert_eq!(copy.len(), 5000);
        assert_eq!(s.len(), 5000);
        assert_ne!(copy, s);
        // Only the shards the writes touched were copied.
        let shared = s
            .shards
            .iter()
            .zip(&copy.shards)
            .filter(|(a, b)| Arc::ptr_eq(a, b))
            .count();
        assert!(shared >= s.shards.len() - 2);
        // The listing order does not depend on the sharding: a set built the same way in one
        // shard lists the same.
        let mut flat = JavaHashSet::with_capacity(8);
        for i in 0..5000 {
            flat.insert(&format!("n{i}"));
        }
        assert_eq!(flat, copy);
        let mut expected: Vec<(u32, usize, String)> = (0..5000)
            .map(|i| {
                let k = format!("n{i}");
                (spread(java_string_hash(&k)) & (8192 - 1), i, k)
            })
            .collect();
        expected.sort();
        assert_eq!(
            copy.to_vec(),
            expected.into_iter().map(|(_, _, k)| k).collect::<Vec<_>>()
        );
    }

    #[test]
    fn cloned_order_matches_apache_get_ephemerals() {
        // getEphemerals answers of Apache ZooKeeper 3.8.0 (server_random_differential seeds 31,
        // 113 and 169): the clone's smaller table orders them unlike the set itself.
        for (a, b) in [
            ("/rd31/x0000000001", "/rd31/x/y0000000000"),
            ("/rd113/a/b0000000004", "/rd113/a/x"),
            ("/rd169/e0000000003", "/rd169/x"),
        ] {
            for first in [a, b] {
                let mut s = JavaHashSet::with_capacity(16);
                s.insert(first);
                s.insert(if first == a { b } else { a });
                assert_eq!(s.to_vec_cloned(), [a, b]);
            }
        }
    }

    #[test]
    fn order_matches_apache_children_listing() {
        // getChildren("/tour") from the Java client tour against Apache ZooKeeper 3.8.0.
        let mut s = JavaHashSet::with_capacity(8);
        for c in ["p2", "e", "s-0000000002", "es-0000000003", "c", "ttl"] {
            s.insert(c);
        }
        assert_eq!(
            s.to_vec(),
            ["es-0000000003", "p2", "c", "e", "s-0000000002", "ttl"]
        );
        s.insert("later");
        s.insert("secure");
        assert_eq!(
            s.to_vec(),
            [
                "es-0000000003",
                "p2",
                "c",
                "later",
                "e",
                "secure",
                "s-0000000002",
                "ttl"
            ]
        );
    }
}
