//! Quota statistics (`DataTree`'s `pTrie` and `updateQuotaStat`): a node
//! `/zookeeper/quota/<path>/zookeeper_limits` puts `<path>` under quota, and every create,
//! delete and setData below it adds to the count and bytes kept in the data of
//! `/zookeeper/quota/<path>/zookeeper_stats` (its stat does not change). Creating the stats node
//! recounts the subtree. 3.8 enforces nothing by default (`zookeeper.enforceQuota` is off).

use std::collections::BTreeSet;
use std::sync::Arc;

use bytes::Bytes;

use super::tree::DataTree;

const QUOTA: &str = "/zookeeper/quota";
const LIMITS: &str = "zookeeper_limits";
const STATS: &str = "zookeeper_stats";

/// The paths under quota, as `PathTrie` keeps them: components without empty ones.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct QuotaPaths(BTreeSet<Vec<String>>);

fn components(path: &str) -> Vec<String> {
    path.split('/')
        .filter(|c| !c.trim().is_empty())
        .map(str::to_owned)
        .collect()
}

impl QuotaPaths {
    fn add(&mut self, path: &str) {
        let c = components(path);
        if !c.is_empty() {
            self.0.insert(c);
        }
    }

    /// `PathTrie.deletePath`: the node loses its quota; quotas below it stay.
    fn delete(&mut self, path: &str) {
        self.0.remove(&components(path));
    }

    /// `getMaxPrefixWithQuota`: the deepest quota path that is a prefix of `path`, never "/".
    fn max_prefix(&self, path: &str) -> Option<String> {
        if self.0.is_empty() {
            return None;
        }
        let c = components(path);
        (1..=c.len())
            .rev()
            .find(|&i| self.0.contains(&c[..i]))
            .map(|i| format!("/{}", c[..i].join("/")))
    }
}

/// Java's `String.split`: trailing empty strings dropped.
fn java_split<'a>(s: &'a str, sep: &[char]) -> Vec<&'a str> {
    let mut v: Vec<&str> = s.split(sep).collect();
    while v.last() == Some(&"") {
        v.pop();
    }
    v
}

/// `StatsTrack(String)`: `key=value` pairs separated by runs of ',' and ';'; `None` where
/// Java would throw.
fn parse_stats(data: &[u8]) -> Option<Vec<(String, i64)>> {
    let s = std::str::from_utf8(data).ok()?;
    if s.is_empty() {
        return Some(Vec::new());
    }
    let mut v = Vec::new();
    let pairs: Vec<&str> = java_split(s, &[',', ';'])
        .into_iter()
        .enumerate()
        // "[,;]+": a run of separators splits once (only a leading one leaves an empty pair).
        .filter(|(i, p)| *i == 0 || !p.is_empty())
        .map(|(_, p)| p)
        .collect();
    for pair in pairs {
        let kv = java_split(pair, &['=']);
        let (k, val) = (kv.first()?, kv.get(1)?);
        let val = if val.is_empty() {
            -1
        } else {
            val.parse().ok()?
        };
        match v.iter_mut().find(|(key, _): &&mut (String, i64)| key == k) {
            Some((_, x)) => *x = val,
            None => v.push((k.to_string(), val)),
        }
    }
    Some(v)
}

/// `StatsTrack.toString`: `count=N,bytes=M`, then, when there are other keys, `=` and
/// `;key=value` for each in order.
fn format_stats(stats: &[(String, i64)]) -> Bytes {
    let get = |k: &str| {
        stats
            .iter()
            .find(|(key, _)| key == k)
            .map_or(-1, |(_, v)| *v)
    };
    let mut out = format!("count={},bytes={}", get("count"), get("bytes"));
    let mut rest: Vec<&(String, i64)> = stats
        .iter()
        .filter(|(k, _)| k != "count" && k != "bytes")
        .collect();
    if !rest.is_empty() {
        out.push('=');
        rest.sort();
        for (k, v) in rest {
            out.push_str(&format!(";{k}={v}"));
        }
    }
    Bytes::from(out)
}

fn stats_path(quota_path: &str) -> String {
    format!("{QUOTA}{quota_path}/{STATS}")
}

impl DataTree {
    /// After `path` was created with `bytes` of data (`DataTree.createNode`).
    pub(super) fn quota_created(&mut self, path: &str, bytes: i64) {
        let parent = zk_core::path::parent(path);
        if let Some(trimmed) = parent.strip_prefix(QUOTA) {
            match zk_core::path::node_name(path) {
                LIMITS => self.quota.add(trimmed),
                STATS => self.recount_quota(trimmed),
                _ => {}
            }
        }
        if let Some(prefix) = self.quota.max_prefix(path) {
            self.update_quota_stat(&prefix, bytes, 1);
        }
    }

    /// After `path`, which held `bytes` of data, was deleted (`DataTree.deleteNode`).
    pub(super) fn quota_deleted(&mut self, path: &str, bytes: i64) {
        let parent = zk_core::path::parent(path);
        if parent.starts_with("/zookeeper") && zk_core::path::node_name(path) == LIMITS {
            if let Some(trimmed) = parent.get(QUOTA.len()..) {
                self.quota.delete(trimmed);
            }
        }
        if let Some(prefix) = self.quota.max_prefix(path) {
            self.update_quota_stat(&prefix, -bytes, -1);
        }
    }

    /// After setData on `path` changed its size by `diff` bytes.
    pub(super) fn quota_data_changed(&mut self, path: &str, diff: i64) {
        if let Some(prefix) = self.quota.max_prefix(path) {
            self.update_quota_stat(&prefix, diff, 0);
        }
    }

    /// A restored limits node puts its path under quota again (`DataTree.setupQuota`).
    pub(super) fn quota_restored(&mut self, path: &str) {
        let parent = zk_core::path::parent(path);
        if let Some(trimmed) = parent.strip_prefix(QUOTA) {
            if zk_core::path::node_name(path) == LIMITS {
                self.quota.add(trimmed);
            }
        }
    }

    fn update_quota_stat(&mut self, prefix: &str, bytes: i64, count: i64) {
        let sp = stats_path(prefix);
        let Some(node) = self.node_mut(&sp) else {
            return;
        };
        let Some(mut stats) = parse_stats(node.data.as_deref().unwrap_or_default()) else {
            tracing::warn!(path = %sp, "unparsable quota stats left as they are");
            return;
        };
        for (k, d) in [("count", count), ("bytes", bytes)] {
            let cur = stats
                .iter()
                .find(|(key, _)| key == k)
                .map_or(-1, |(_, v)| *v);
            match stats.iter_mut().find(|(key, _)| key == k) {
                Some((_, v)) => *v = cur + d,
                None => stats.push((k.to_owned(), cur + d)),
            }
        }
        node.data = Some(format_stats(&stats));
    }

    /// `updateQuotaForPath`: the stats node gets the count and bytes of the whole subtree.
    fn recount_quota(&mut self, path: &str) {
        let (mut count, mut bytes) = (0i64, 0i64);
        let mut stack = vec![path.to_owned()];
        while let Some(p) = stack.pop() {
            let Some(n) = self.nodes.get(p.as_str()) else {
                continue;
            };
            count += 1;
            bytes += n.data.as_ref().map_or(0, |d| d.len() as i64);
            for c in n.children_iter() {
                stack.push(zk_core::path::join(&p, c));
            }
        }
        let sp = stats_path(path);
        if let Some(node) = self.nodes.get_mut(sp.as_str()) {
            Arc::make_mut(node).data = Some(Bytes::from(format!("count={count},bytes={bytes}")));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_prefix_and_delete_follow_path_trie() {
        let mut q = QuotaPaths::default();
        q.add("/a");
        q.add("/a/b");
        assert_eq!(q.max_prefix("/a/b/c").as_deref(), Some("/a/b"));
        assert_eq!(q.max_prefix("/a/x").as_deref(), Some("/a"));
        assert_eq!(q.max_prefix("/b"), None);
        // Deleting /a keeps the quota of /a/b below it.
        q.delete("/a");
        assert_eq!(q.max_prefix("/a/b/c").as_deref(), Some("/a/b"));
        assert_eq!(q.max_prefix("/a/x"), None);
    }

    #[test]
    fn stats_format_like_stats_track() {
        let s = parse_stats(b"bytes=5,zeta=1;;count=2,alpha=-1").unwrap();
        assert_eq!(&format_stats(&s)[..], b"count=2,bytes=5=;alpha=-1;zeta=1");
        let again = parse_stats(&format_stats(&s)).unwrap();
        assert_eq!(format_stats(&again), format_stats(&s));
        // Java's split drops the trailing empty value: kv[1] throws.
        assert_eq!(parse_stats(b"count"), None);
        assert_eq!(parse_stats(b"count=1,bytes="), None);
        assert_eq!(&format_stats(&[])[..], b"count=-1,bytes=-1");
    }
}
