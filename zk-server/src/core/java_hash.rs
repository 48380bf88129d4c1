//! Iteration order of a Java `HashSet<String>`, so that children and ephemeral lists come out in
//! the order Apache ZooKeeper sends them.
//!
//! Java's `HashMap` puts a key in bucket `spread(hashCode) & (capacity - 1)`, keeps insertion order
//! inside a bucket (resizing splits buckets without reordering) and never shrinks its table. We
//! keep each member's insertion sequence and the largest capacity reached, and sort by (bucket,
//! sequence) when listing. Buckets that Java would turn into trees (more than 8 entries in a table
//! of 64 or more) are the one case this does not model; the order is still deterministic.

use std::collections::HashMap;

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

/// A set of strings that lists its members in Java `HashSet` order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JavaHashSet {
    members: HashMap<String, u64>,
    next_seq: u64,
    capacity: usize,
}

impl JavaHashSet {
    /// An empty set whose Java counterpart was created with `new HashSet<>(initial_capacity)`.
    pub fn with_capacity(initial_capacity: usize) -> JavaHashSet {
        JavaHashSet {
            members: HashMap::new(),
            next_seq: 0,
            capacity: initial_capacity.max(1).next_power_of_two(),
        }
    }

    /// Number of members.
    pub fn len(&self) -> usize {
        self.members.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    /// True when `s` is a member.
    pub fn contains(&self, s: &str) -> bool {
        self.members.contains_key(s)
    }

    /// Adds `s`; returns false when it was already present.
    pub fn insert(&mut self, s: &str) -> bool {
        if self.members.contains_key(s) {
            return false;
        }
        self.members.insert(s.to_owned(), self.next_seq);
        self.next_seq += 1;
        // Java resizes when the size exceeds 0.75 * capacity.
        while self.members.len() * 4 > self.capacity * 3 {
            self.capacity *= 2;
        }
        true
    }

    /// Removes `s`; returns false when it was absent.
    pub fn remove(&mut self, s: &str) -> bool {
        self.members.remove(s).is_some()
    }

    /// The members in Java iteration order.
    pub fn to_vec(&self) -> Vec<String> {
        let mask = (self.capacity - 1) as u32;
        let mut v: Vec<(u32, u64, &String)> = self
            .members
            .iter()
            .map(|(k, seq)| (spread(java_string_hash(k)) & mask, *seq, k))
            .collect();
        v.sort_unstable();
        v.into_iter().map(|(_, _, k)| k.clone()).collect()
    }

    /// The members in the iteration order of this set's Java `clone()` (what
    /// `DataTree.getEphemerals(session)` returns, for getEphemerals and closeSession): a new
    /// table of `tableSizeFor(size / 0.75 + 1)` buckets, filled in this set's iteration order.
    pub fn to_vec_cloned(&self) -> Vec<String> {
        let n = self.members.len();
        let sized = (n as f32 / 0.75f32 + 1.0f32) as usize;
        let mask = (sized.max(1).next_power_of_two() - 1) as u32;
        let src_mask = (self.capacity - 1) as u32;
        let mut v: Vec<(u32, u32, u64, &String)> = self
            .members
            .iter()
            .map(|(k, seq)| {
                let h = spread(java_string_hash(k));
                (h & mask, h & src_mask, *seq, k)
            })
            .collect();
        v.sort_unstable();
        v.into_iter().map(|(_, _, _, k)| k.clone()).collect()
    }

    /// Iterates the members in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.members.keys().map(String::as_str)
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
