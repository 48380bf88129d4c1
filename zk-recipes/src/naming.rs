//! Curator's node names: protection prefixes (`ProtectedUtils`) and the sort rule of lock
//! contenders (`StandardLockInternalsDriver.standardFixForSorting`).

use std::cmp::Ordering;

/// The protection prefix's start (`ProtectedUtils.PROTECTED_PREFIX`).
pub const PROTECTED_PREFIX: &str = "_c_";

/// Length of `_c_<uuid36>-`.
pub const PROTECTED_PREFIX_WITH_UUID_LEN: usize = 3 + 36 + 1;

/// A new protection id: a random UUID v4, lowercase with dashes, like
/// `java.util.UUID.randomUUID().toString()`.
pub fn new_protected_id() -> String {
    uuid::Uuid::new_v4().hyphenated().to_string()
}

/// `_c_<id>-`: the prefix of every node created with protection id `id`.
pub fn protected_prefix(id: &str) -> String {
    format!("{PROTECTED_PREFIX}{id}-")
}

/// True when `name` (a node name, not a path) carries a protection prefix.
pub fn is_protected(name: &str) -> bool {
    name.len() > PROTECTED_PREFIX_WITH_UUID_LEN
        && name.starts_with(PROTECTED_PREFIX)
        && name.as_bytes()[PROTECTED_PREFIX_WITH_UUID_LEN - 1] == b'-'
}

/// The protection id of a protected name.
pub fn protected_id(name: &str) -> Option<&str> {
    is_protected(name).then(|| &name[PROTECTED_PREFIX.len()..PROTECTED_PREFIX_WITH_UUID_LEN - 1])
}

/// The name without its protection prefix (`ProtectedUtils.normalize`).
pub fn normalize(name: &str) -> &str {
    if is_protected(name) {
        &name[PROTECTED_PREFIX_WITH_UUID_LEN..]
    } else {
        name
    }
}

/// The sort key of a contender: what follows the **last** `lock_name`, or the whole name when
/// it has none (`standardFixForSorting`).
pub fn fix_for_sorting<'a>(name: &'a str, lock_name: &str) -> &'a str {
    match name.rfind(lock_name) {
        Some(i) => &name[i + lock_name.len()..],
        None => name,
    }
}

/// The sort key with several lock names applied in order (the read-write lock strips
/// `__READ__`, then `__WRIT__`).
pub fn fix_for_sorting_all<'a>(mut name: &'a str, lock_names: &[&str]) -> &'a str {
    for l in lock_names {
        name = fix_for_sorting(name, l);
    }
    name
}

/// Java's `String.compareTo`: lexicographic over UTF-16 code units.
pub fn java_compare(a: &str, b: &str) -> Ordering {
    a.encode_utf16().cmp(b.encode_utf16())
}

/// Sorts contenders as Curator does: a stable sort on the key of [`fix_for_sorting_all`].
pub fn sort_children(children: &mut [String], lock_names: &[&str]) {
    children.sort_by(|a, b| {
        java_compare(
            fix_for_sorting_all(a, lock_names),
            fix_for_sorting_all(b, lock_names),
        )
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protected_names() {
        let id = new_protected_id();
        assert_eq!(id.len(), 36);
        assert_eq!(id, id.to_lowercase());
        assert_eq!(id.as_bytes()[14], b'4');
        let name = format!("{}lock-0000000007", protected_prefix(&id));
        assert!(is_protected(&name));
        assert_eq!(protected_id(&name), Some(id.as_str()));
        assert_eq!(normalize(&name), "lock-0000000007");
        assert!(!is_protected("lock-0000000007"));
        assert_eq!(normalize("lock-0000000007"), "lock-0000000007");
    }

    #[test]
    fn curator_sort_rule() {
        let mut c = vec![
            "_c_b0d1a0e2-0000-4000-8000-000000000000-lock-0000000010".to_string(),
            "_c_a0d1a0e2-0000-4000-8000-000000000000-lock-0000000002".to_string(),
            // kazoo's name has no "lock-": the whole name is its key, so it sorts last.
            "514e0c3a__lock__0000000001".to_string(),
            "_c_ffffffff-0000-4000-8000-000000000000-lock-0000000003".to_string(),
        ];
        sort_children(&mut c, &["lock-"]);
        assert!(c[0].ends_with("0002"));
        assert!(c[1].ends_with("0003"));
        assert!(c[2].ends_with("0010"));
        assert!(c[3].starts_with("514e"));
        // The last occurrence counts.
        assert_eq!(
            fix_for_sorting("x-lock-lock-0000000001", "lock-"),
            "0000000001"
        );
    }

    #[test]
    fn read_write_sort_rule() {
        let mut c = vec![
            "_c_1-__WRIT__0000000005".to_string(),
            "_c_2-__READ__0000000004".to_string(),
            "_c_3-__READ__0000000006".to_string(),
        ];
        sort_children(&mut c, &["__READ__", "__WRIT__"]);
        let keys: Vec<_> = c.iter().map(|s| &s[s.len() - 1..]).collect();
        assert_eq!(keys, ["4", "5", "6"]);
    }

    proptest::proptest! {
        /// Model: Curator-format names (any protection id, any lock name among the RW ones or
        /// `lock-`) sort exactly by their 10-digit sequence, whatever the ids.
        #[test]
        fn curator_names_sort_by_sequence(
            seqs in proptest::collection::hash_set(0i32..i32::MAX, 1..40),
            reads in proptest::collection::vec(proptest::bool::ANY, 40),
        ) {
            let mut names: Vec<String> = seqs
                .iter()
                .zip(&reads)
                .map(|(seq, read)| {
                    let kind = if *read { "__READ__" } else { "__WRIT__" };
                    format!("{}{kind}{}", protected_prefix(&new_protected_id()), crate::naming::tests::seq(*seq))
                })
                .collect();
            sort_children(&mut names, &["__READ__", "__WRIT__"]);
            let mut model: Vec<i32> = seqs.iter().copied().collect();
            model.sort();
            let got: Vec<i32> = names.iter().map(|n| zk_core::path::parse_sequence(n).unwrap()).collect();
            proptest::prop_assert_eq!(got, model);
            for n in &names {
                proptest::prop_assert!(is_protected(n));
                proptest::prop_assert_eq!(protected_id(n).map(str::len), Some(36));
            }
        }
    }

    fn seq(n: i32) -> String {
        zk_core::path::sequential_suffix(n)
    }

    #[test]
    fn java_order_is_utf16() {
        // A surrogate pair (0xD83D ...) sorts before U+FF61 in UTF-16, though after it in
        // UTF-8 byte order.
        assert_eq!(java_compare("\u{1F600}", "\u{FF61}"), Ordering::Less);
        assert_eq!("\u{1F600}".cmp("\u{FF61}"), Ordering::Greater);
    }
}
