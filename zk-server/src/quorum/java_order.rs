//! The order in which Apache ZooKeeper 3.8 lists the members of a config in its QV text.
//!
//! `QuorumMaj.toString()` walks `allMembers`, a `java.util.HashMap<Long, QuorumServer>`, so its
//! lines come in that map's bucket order, not in sid order: with 16 buckets `server.16` comes
//! before `server.1`. Members are put into the map while iterating the
//! `java.util.Properties` the config was loaded into (`new QuorumMaj(Properties)`), and since
//! Java 9 a `Properties` is backed by a `ConcurrentHashMap<Object, Object>` of all the keys of the
//! file, so two sids that share a `HashMap` bucket (`server.1` and `server.17`) come in the order
//! of their keys' `String` hashes in that `ConcurrentHashMap` — which depends on every other key
//! in the file too.
//!
//! Both tables are modelled here: bucket index, append-at-tail, the resize thresholds, Java 8+
//! `HashMap`'s order-preserving split, and `ConcurrentHashMap.transfer`'s split (which reverses
//! the nodes before the last run). Not modelled: tree bins (`TREEIFY_THRESHOLD`), which need 8 or
//! more keys colliding in one bucket of a table of 64 or more; `HashMap` resizing instead of
//! treeifying a small table is modelled.
//!
//! The results were checked against `QuorumMaj.toString()` of Apache ZooKeeper 3.8.0 on
//! OpenJDK 17 (the tests below hold those outputs).

/// `String.hashCode()` over UTF-16 code units.
pub(crate) fn java_string_hash(s: &str) -> i32 {
    s.encode_utf16().fold(0i32, |h, unit| {
        h.wrapping_mul(31).wrapping_add(i32::from(unit))
    })
}

/// `Long.hashCode()`.
fn java_long_hash(v: i64) -> i32 {
    (v ^ ((v as u64) >> 32) as i64) as i32
}

/// `HashMap.hash()`: the hash code with its high half folded into the low half.
fn hash_map_spread(h: i32) -> u32 {
    let h = h as u32;
    h ^ (h >> 16)
}

/// `ConcurrentHashMap.spread()`: as `HashMap`'s, with the sign bit cleared.
fn chm_spread(h: i32) -> u32 {
    hash_map_spread(h) & 0x7fff_ffff
}

/// The keys of a `Properties` (a `ConcurrentHashMap`, Java 9+) in iteration order, for keys
/// `put` in `insertion` order (duplicates replace the value in place). `Properties()` creates its
/// map with `new ConcurrentHashMap<>(8)`: 16 bins, resized when the count reaches 3/4 of them.
pub(crate) fn properties_order<'a>(insertion: impl IntoIterator<Item = &'a str>) -> Vec<&'a str> {
    let mut table: Vec<Vec<(u32, &str)>> = vec![Vec::new(); 16];
    let mut size_ctl = 12usize;
    let mut count = 0usize;
    for key in insertion {
        let hash = chm_spread(java_string_hash(key));
        let n = table.len();
        let bin = &mut table[hash as usize & (n - 1)];
        if bin.iter().any(|(_, k)| *k == key) {
            continue;
        }
        bin.push((hash, key));
        count += 1;
        if count >= size_ctl {
            table = chm_transfer(table);
            size_ctl = table.len() - table.len() / 4;
        }
    }
    table.into_iter().flatten().map(|(_, k)| k).collect()
}

/// `ConcurrentHashMap.transfer` for list bins: the tail run whose nodes all go to the same new
/// bin is moved as is; the nodes before it are prepended one by one (so their order reverses).
fn chm_transfer(old: Vec<Vec<(u32, &str)>>) -> Vec<Vec<(u32, &str)>> {
    let n = old.len();
    let mut next: Vec<Vec<(u32, &str)>> = vec![Vec::new(); 2 * n];
    for (i, bin) in old.into_iter().enumerate() {
        if bin.is_empty() {
            continue;
        }
        let high = |h: u32| h as usize & n != 0;
        let mut last_run = 0;
        for j in 1..bin.len() {
            if high(bin[j].0) != high(bin[j - 1].0) {
                last_run = j;
            }
        }
        let mut lo: Vec<(u32, &str)> = Vec::new();
        let mut hi: Vec<(u32, &str)> = Vec::new();
        // Prepending to the tail run = the nodes before it, reversed, then the run.
        for &node in bin[..last_run].iter().rev() {
            if high(node.0) {
                hi.push(node);
            } else {
                lo.push(node);
            }
        }
        if high(bin[last_run].0) {
            hi.extend_from_slice(&bin[last_run..]);
        } else {
            lo.extend_from_slice(&bin[last_run..]);
        }
        next[i] = lo;
        next[i + n] = hi;
    }
    next
}

/// The sids of a `new HashMap<Long, _>()` in iteration order, for sids `put` in `insertion`
/// order: 16 buckets to start, doubled when the size exceeds 3/4 of them or when a bucket reaches
/// 9 entries in a table smaller than 64 (`treeifyBin`); a split keeps the relative order.
pub(crate) fn long_hash_map_order(insertion: impl IntoIterator<Item = i64>) -> Vec<i64> {
    let mut table: Vec<Vec<(u32, i64)>> = vec![Vec::new(); 16];
    let mut size = 0usize;
    for sid in insertion {
        let hash = hash_map_spread(java_long_hash(sid));
        let n = table.len();
        let bin = &mut table[hash as usize & (n - 1)];
        if bin.iter().any(|(_, s)| *s == sid) {
            continue;
        }
        bin.push((hash, sid));
        let bin_len = bin.len();
        if bin_len >= 9 && n < 64 {
            table = hash_map_resize(table);
        }
        size += 1;
        if size > table.len() * 3 / 4 {
            table = hash_map_resize(table);
        }
    }
    table.into_iter().flatten().map(|(_, s)| s).collect()
}

fn hash_map_resize(old: Vec<Vec<(u32, i64)>>) -> Vec<Vec<(u32, i64)>> {
    let n = old.len() * 2;
    let mut next: Vec<Vec<(u32, i64)>> = vec![Vec::new(); n];
    for node in old.into_iter().flatten() {
        next[node.0 as usize & (n - 1)].push(node);
    }
    next
}

/// The sids of a `HashMap<Long, _>` copied from a map of `initial` entries (`new
/// HashMap<>(map)`: its table holds `initial / 0.75 + 1` entries, rounded up to a power of
/// two) and then changed by removes and puts, in iteration order. `live` lists the surviving
/// sids in the order they were last put. Removes come before puts (a reconfig's leaving
/// servers, then its joining ones), so the table grows only for the final size.
pub(crate) fn long_hash_map_order_from(initial: usize, live: Vec<i64>) -> Vec<i64> {
    let wanted = (initial as f32 / 0.75 + 1.0) as usize;
    let mut cap = wanted.max(1).next_power_of_two();
    while live.len() > cap * 3 / 4 {
        cap *= 2;
    }
    let mut keyed: Vec<(usize, usize, i64)> = live
        .into_iter()
        .enumerate()
        .map(|(i, sid)| {
            (
                hash_map_spread(java_long_hash(sid)) as usize & (cap - 1),
                i,
                sid,
            )
        })
        .collect();
    keyed.sort_unstable();
    keyed.into_iter().map(|(_, _, sid)| sid).collect()
}

/// The sids of `server.N` keys in the order `QuorumMaj.toString()` prints them, for a
/// `Properties` loaded with `keys` (every key of the file, in file order).
pub(crate) fn qv_member_order<'a>(keys: impl IntoIterator<Item = &'a str>) -> Vec<i64> {
    let sids = properties_order(keys)
        .into_iter()
        .filter_map(|k| k.strip_prefix("server.")?.parse::<i64>().ok());
    long_hash_map_order(sids)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_and_long_hashes_match_java() {
        assert_eq!(java_string_hash(""), 0);
        assert_eq!(java_string_hash("hello"), 99_162_322);
        assert_eq!(java_long_hash(16), 16);
        assert_eq!(java_long_hash(-1), 0);
        assert_eq!(java_long_hash(1 << 32), 1);
    }

    #[test]
    fn small_sids_come_in_ascending_order() {
        let keys = ["server.3", "server.1", "server.4", "server.2"];
        assert_eq!(qv_member_order(keys), vec![1, 2, 3, 4]);
    }

    /// Apache 3.8.0 printed `server.16, 33, 1, 17, 2, 3` for a QV text with these keys (a
    /// `Properties` loaded from `server.1 .. server.33` and `version`).
    #[test]
    fn sids_past_the_table_size_wrap_like_java() {
        let keys = [
            "server.1",
            "server.2",
            "server.3",
            "server.16",
            "server.17",
            "server.33",
            "version",
        ];
        assert_eq!(qv_member_order(keys), vec![16, 33, 1, 17, 2, 3]);
    }

    /// Outputs of Apache 3.8.0's `QuorumMaj.toString()` for whole zoo.cfg files: the other keys
    /// change the `Properties` table and so the order of colliding sids.
    #[test]
    fn whole_file_key_sets_match_java() {
        let cfg = [
            "tickTime",
            "initLimit",
            "syncLimit",
            "dataDir",
            "clientPort",
            "server.1",
            "server.17",
            "server.33",
            "server.2",
            "server.18",
            "server.49",
            "server.65",
            "server.3",
            "server.81",
            "server.97",
            "server.113",
        ];
        assert_eq!(
            qv_member_order(cfg),
            JAVA_WHOLE_FILE_ORDER.to_vec(),
            "keys {cfg:?}"
        );
    }

    /// Apache 3.8.0's order for the file of `whole_file_key_sets_match_java`.
    const JAVA_WHOLE_FILE_ORDER: [i64; 11] = [49, 17, 65, 113, 33, 97, 1, 81, 18, 2, 3];

    /// 200 random key sets (zoo.cfg keys and sids below 40, 300 or 100,000) with the order
    /// Apache 3.8.0 on OpenJDK 17 gave (`new QuorumMaj(Properties).getAllMembers().keySet()`).
    /// While writing this module 5,000 more such sets were compared the same way.
    #[test]
    fn random_key_sets_match_java() {
        let text = include_str!("testdata/qv_order_java.txt");
        let mut checked = 0;
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let (keys, sids) = line.split_once('|').expect("keys|sids");
            let want: Vec<i64> = sids
                .split_whitespace()
                .map(|s| s.parse().unwrap())
                .collect();
            assert_eq!(qv_member_order(keys.split_whitespace()), want, "{line}");
            checked += 1;
        }
        assert_eq!(checked, 200);
    }

    #[test]
    fn many_colliding_sids_resize_the_map_early() {
        // Nine sids in bucket 0 of 16: Java's treeifyBin doubles the table instead.
        let sids: Vec<i64> = (1..=9).map(|i| i * 16).collect();
        let order = long_hash_map_order(sids.iter().copied());
        assert_eq!(order.len(), 9);
        // 32 buckets: 32, 64, 96, 128 (bucket 0) before 16, 48, 80, 112, 144 (bucket 16).
        assert_eq!(order, vec![32, 64, 96, 128, 16, 48, 80, 112, 144]);
    }
}
