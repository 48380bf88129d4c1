//! Apache ZooKeeper 3.8 writes a data directory under a bounded load of every node type, with
//! a small snapCount so that there are many log files and snapshots; then zk-server's persist
//! module reads every file and recovers the tree, which must equal what Apache ZooKeeper served:
//! same paths, data, stats and ACLs, the same sessions, and the same 3.6+ tree digest.

mod persist_common;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use persist_common::apache_load::load;
use persist_common::{walk, RawClient};
use tests::replay::ReplayTree;
use tests::ApacheZk;
use zk_core::data::Acl;
use zk_core::ephemeral::TTL_OWNER_MASK;
use zk_core::txn::{TxnBody, TxnEntry};
use zk_core::{OpCode, Zxid};
use zk_server::persist::{
    dump_log, dump_snapshot, list, read_snapshot, recover, scan_log_file, DataDirs, LogEnd,
    LOG_PREFIX, SNAPSHOT_PREFIX,
};

fn redact(mut acl: Acl) -> Acl {
    if acl.id.scheme == "digest" {
        let user = acl.id.id.split(':').next().unwrap_or_default().to_string();
        acl.id.id = format!("{user}:x");
    }
    acl
}

/// Applies `txns` to `tree` up to and including `until`.
fn replay_until(tree: &mut ReplayTree, txns: &[TxnEntry], until: Zxid) {
    let from = tree.last_zxid;
    for t in txns
        .iter()
        .filter(|t| t.header.zxid > from && t.header.zxid <= until)
    {
        tree.apply(t).unwrap();
    }
}

#[test]
fn zk_server_reads_and_recovers_what_apache_zookeeper_wrote() {
    let data = tempfile::tempdir().unwrap();
    let Some(mut zk) = tests::require_peer(
        ApacheZk::start_in(
            Some(data.path()),
            &["snapCount=500", "preAllocSize=32", "forceSync=no"],
        ),
        "Apache ZooKeeper 3.8",
    ) else {
        return;
    };
    let (mut counts, live_sessions, closed) = load(zk.addr());
    let mut reader = RawClient::connect(zk.addr(), 30_000);
    *counts.entry(OpCode::CreateSession.as_i32()).or_default() += 1;
    let served = walk(&mut reader);
    assert!(served.len() > 2500, "{} nodes", served.len());
    let dirs = DataDirs::new(data.path(), None);
    // Snapshots are written by a background thread: wait until every one is complete.
    let deadline = Instant::now() + Duration::from_secs(30);
    while list(&dirs.snap_dir, SNAPSHOT_PREFIX)
        .unwrap()
        .iter()
        .any(|(_, p)| read_snapshot(p).is_err())
    {
        assert!(Instant::now() < deadline, "snapshots never completed");
        std::thread::sleep(Duration::from_millis(50));
    }
    zk.stop();

    // Every log file reads cleanly; together they hold every transaction, zxids 1, 2, 3, ...
    let logs = list(&dirs.log_dir, LOG_PREFIX).unwrap();
    assert!(logs.len() >= 5, "several log files: {}", logs.len());
    let mut all: Vec<TxnEntry> = Vec::new();
    for (zxid, p) in &logs {
        let scan = scan_log_file(p).unwrap();
        assert!(
            matches!(scan.end, LogEnd::Clean { .. }),
            "{}: {:?}",
            p.display(),
            scan.end
        );
        assert_eq!(
            scan.entries[0].1.header.zxid, *zxid,
            "named after its first zxid"
        );
        let len = std::fs::metadata(p).unwrap().len();
        // Preallocated in 32 KiB blocks; Apache pads at the channel position, which lags its
        // write buffer, so records may also run past the padding.
        assert!(len >= 32 * 1024, "{}: preallocated: {len}", p.display());
        all.extend(scan.entries.into_iter().map(|(_, e)| e));
    }
    for (i, e) in all.iter().enumerate() {
        assert_eq!(e.header.zxid, Zxid(i as i64 + 1));
        // 3.8 logs the tree digest after every txn but failed ones (error txns).
        let is_error = e.header.txn_type == OpCode::Error.as_i32();
        assert_eq!(e.digest.is_some(), !is_error, "{:?}", e.header);
        e.body().unwrap();
    }
    let mut by_type: BTreeMap<i32, usize> = BTreeMap::new();
    for e in &all {
        *by_type.entry(e.header.txn_type).or_default() += 1;
    }
    assert_eq!(
        by_type, counts,
        "logged txn types (type -> count) vs the load"
    );
    let closes: Vec<&TxnEntry> = all
        .iter()
        .filter(|e| e.header.txn_type == OpCode::CloseSession.as_i32())
        .collect();
    match closes[0].body().unwrap() {
        TxnBody::CloseSession(t) => assert_eq!(t.paths_to_delete.len(), 50),
        other => panic!("{other:?}"),
    }

    // The apply model replays the whole history from an empty tree and matches the digest
    // Apache ZooKeeper logged after every transaction, and the digest of every snapshot.
    let snaps: Vec<_> = list(&dirs.snap_dir, SNAPSHOT_PREFIX)
        .unwrap()
        .into_iter()
        .map(|(_, p)| read_snapshot(&p).unwrap())
        .collect();
    assert!(snaps.len() >= 5, "several snapshots: {}", snaps.len());
    let snap_digests: BTreeMap<Zxid, i64> = snaps
        .iter()
        .filter_map(|s| s.digest)
        .map(|d| (d.zxid, d.digest))
        .collect();
    let mut exact = ReplayTree::new();
    let mut checked = 0;
    for e in &all {
        exact.apply(e).unwrap();
        if let Some(d) = &e.digest {
            assert_eq!(exact.digest(), d.tree_digest, "digest after {:?}", e.header);
        }
        if let Some(d) = snap_digests.get(&e.header.zxid) {
            assert_eq!(exact.digest(), *d, "snapshot digest at {}", e.header.zxid);
            checked += 1;
        }
    }
    assert_eq!(checked, snap_digests.len());
    let last_digest = all.last().unwrap().digest.as_ref().unwrap().tree_digest;
    // Each snapshot is fuzzy (written while the load ran): replaying the log after its zxid
    // over it must still reach exactly the final tree.
    for snap in &snaps {
        let mut tree = ReplayTree::from_snapshot(snap).unwrap();
        replay_until(&mut tree, &all, Zxid(i64::MAX));
        assert_eq!(
            tree.digest(),
            last_digest,
            "replay over snapshot.{:x}",
            snap.zxid.0
        );
        assert_eq!(tree.paths(), exact.paths());
    }

    // Recovery: newest snapshot + log == the tree Apache ZooKeeper served, field by field.
    let rec = recover(&dirs).unwrap();
    assert!(rec.skipped_snapshots.is_empty());
    let mut tree = ReplayTree::from_snapshot(rec.snapshot.as_ref().unwrap()).unwrap();
    for t in &rec.txns {
        tree.apply(t).unwrap();
    }
    assert_eq!(rec.last_zxid(), all.last().unwrap().header.zxid);
    assert_eq!(tree.digest(), last_digest, "tree digest");
    assert_eq!(tree.paths(), served.keys().cloned().collect::<Vec<_>>());
    for (path, view) in &served {
        let node = tree.get(path).unwrap();
        assert_eq!(node.data, view.data, "{path} data");
        assert_eq!(tree.stat(path).unwrap(), view.stat, "{path} stat");
        // getACL shows digest ids with the hash redacted to "x" (3.8 hides them from clients).
        let stored: Vec<Acl> = tree
            .acls
            .get(node.acl)
            .unwrap()
            .into_iter()
            .map(redact)
            .collect();
        assert_eq!(stored, view.acl, "{path} acl");
    }
    let ttl = tree.get("/ttl/t7").unwrap().stat.ephemeral_owner;
    assert_eq!(ttl, TTL_OWNER_MASK | (3_600_000 + 7), "TTL owner encoding");
    assert_eq!(
        tree.get("/cont3").unwrap().stat.ephemeral_owner,
        i64::MIN,
        "container owner"
    );
    for s in &live_sessions {
        assert!(tree.sessions.contains_key(s), "session {s} restored");
    }
    assert!(!tree.sessions.contains_key(&closed));
    assert!(tree.sessions.contains_key(&reader.session_id));
    // The operator tool prints every file Apache ZooKeeper wrote.
    for (_, p) in logs
        .iter()
        .chain(list(&dirs.snap_dir, SNAPSHOT_PREFIX).unwrap().iter())
    {
        let out = if p.to_string_lossy().contains("snapshot.") {
            dump_snapshot(p, true)
        } else {
            dump_log(p)
        };
        assert!(out.unwrap().len() > 100);
    }
    let c_owned = served
        .values()
        .filter(|v| v.stat.ephemeral_owner == live_sessions[1])
        .count();
    assert_eq!(c_owned, 70, "C's ephemerals");
}
