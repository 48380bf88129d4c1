//! The reverse direction: zk-server's persist module writes a data directory (a fuzzy snapshot
//! and two log files, in a dataLogDir apart from dataDir), and Apache ZooKeeper 3.8 starts on it
//! and serves exactly the expected tree: every path, data, stat and ACL, with no digest
//! mismatch and no checksum complaint in its log. Then it keeps writing on top, and zk-server
//! reads back what it wrote. Apache ZooKeeper's offline tools read zk-server's files too.

mod persist_common;

use bytes::Bytes;
use persist_common::txn_gen::build;
use persist_common::{walk, RawClient};
use tests::replay::ReplayTree;
use tests::{four_letter_word, ApacheZk};
use zk_core::data::Acl;
use zk_core::proto::CreateRequest;
use zk_core::{CreateMode, Request, Response, SessionId, Zxid};
use zk_server::persist::{
    encode_record, list, recover, scan_log_file, DataDirs, LogEnd, TxnLog, TxnLogConfig, LOG_PREFIX,
};

#[test]
fn apache_zookeeper_serves_a_data_dir_written_by_zk_server() {
    let root = tempfile::tempdir().unwrap();
    let data_dir = root.path().join("data");
    let log_root = root.path().join("txnlog");
    let dirs = DataDirs::new(&data_dir, Some(&log_root));
    let (s1, s2) = (
        SessionId(0x0100_0000_0000_0001),
        SessionId(0x0100_0000_0000_0002),
    );
    let g = build(s1, s2);
    let n = g.entries.len();

    // A fuzzy snapshot: named after txn k but holding the tree as of k + 3.
    let k = n / 2;
    let mut at = ReplayTree::new();
    for e in &g.entries[..k + 3] {
        at.apply(e).unwrap();
    }
    at.write_snapshot(&dirs.snap_dir, Zxid(k as i64)).unwrap();
    let mut log = TxnLog::open(
        &dirs.log_dir,
        TxnLogConfig {
            pre_alloc_size: 64 * 1024,
            ..Default::default()
        },
    )
    .unwrap();
    for (i, e) in g.entries.iter().enumerate() {
        if i == k + 5 {
            log.roll().unwrap();
        }
        log.append(&e.header, &e.record, e.digest.as_ref()).unwrap();
    }
    log.close().unwrap();

    // A crash left half of one more record at the end of the newest log: recovery truncates it
    // away, and Apache ZooKeeper starts on the repaired directory.
    let (_, newest) = list(&dirs.log_dir, LOG_PREFIX).unwrap().pop().unwrap();
    let end = match scan_log_file(&newest).unwrap().end {
        LogEnd::Clean { offset } => offset,
        other => panic!("{other:?}"),
    };
    let mut record = Vec::new();
    encode_record(b"a transaction that never finished", &mut record);
    let mut bytes = std::fs::read(&newest).unwrap();
    bytes[end as usize..end as usize + 20].copy_from_slice(&record[..20]);
    std::fs::write(&newest, &bytes).unwrap();
    let rec = recover(&dirs).unwrap();
    assert_eq!(
        rec.txns.len(),
        n - k,
        "every txn after the snapshot, none torn"
    );
    assert_eq!(std::fs::metadata(&newest).unwrap().len(), end, "truncated");

    let log_dir_line = format!("dataLogDir={}", log_root.display());
    let Some(mut zk) = tests::require_peer(
        ApacheZk::start_in(Some(&data_dir), &[&log_dir_line]),
        "Apache ZooKeeper 3.8",
    ) else {
        return;
    };
    let mut c = RawClient::connect(zk.addr(), 30_000);
    let served = walk(&mut c);
    let expected = &g.tree;
    assert_eq!(served.keys().cloned().collect::<Vec<_>>(), expected.paths());
    for (path, view) in &served {
        let node = expected.get(path).unwrap();
        assert_eq!(view.data, node.data, "{path} data");
        assert_eq!(view.stat, expected.stat(path).unwrap(), "{path} stat");
        let mut acl = expected.acls.get(node.acl).unwrap();
        for a in &mut acl {
            if a.id.scheme == "digest" {
                a.id.id = "admin:x".into();
            }
        }
        assert_eq!(view.acl, acl, "{path} acl");
    }
    assert_eq!(
        served["/app/e0"].stat.ephemeral_owner, s1,
        "s1's ephemerals restored"
    );
    assert!(
        !served.contains_key("/app/f0"),
        "closeSession deleted s2's ephemerals"
    );

    // Apache ZooKeeper continues the zxid sequence.
    let reply = c.call(Request::Create2(CreateRequest {
        path: "/after".into(),
        data: Some(Bytes::from_static(b"apache")),
        acl: Acl::open_unsafe(),
        flags: CreateMode::Persistent.flag(),
    }));
    let Ok(Response::Create2(created)) = reply else {
        panic!("{reply:?}")
    };
    assert!(created.stat.czxid.0 > n as i64);
    // Apache ZooKeeper compared the digest of our snapshot at its digest zxid and of every
    // replayed transaction against its own tree (its log is silent here: no slf4j binding).
    let mntr = four_letter_word(zk.addr(), "mntr").unwrap();
    assert!(mntr.contains("zk_digest_mismatches_count\t0\n"), "{mntr}");
    zk.stop();

    // And back: zk-server reads what Apache ZooKeeper wrote on top (its start-up snapshot and
    // the log of the last writes) and recovers the same tree plus /after.
    let rec = recover(&dirs).unwrap();
    let snap = rec.snapshot.as_ref().unwrap();
    assert!(
        snap.zxid.0 >= n as i64,
        "Apache ZooKeeper snapshotted at start-up: {}",
        snap.zxid
    );
    let mut tree = ReplayTree::from_snapshot(snap).unwrap();
    for t in &rec.txns {
        tree.apply(t).unwrap();
    }
    assert!(tree.get("/after").is_some());
    let mut paths = expected.paths();
    paths.push("/after".into());
    paths.sort();
    assert_eq!(tree.paths(), paths);
    for p in expected.paths().iter().filter(|p| *p != "/") {
        assert_eq!(tree.stat(p), expected.stat(p), "{p}");
        assert_eq!(
            tree.get(p).unwrap().data,
            expected.get(p).unwrap().data,
            "{p}"
        );
    }
}

fn run_java(class: &str, args: &[&std::path::Path]) -> String {
    let out = std::process::Command::new("java")
        .args(["-cp", tests::ZK_CLASSPATH, class])
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{class}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Apache ZooKeeper's own offline tools read zk-server's files: SnapshotFormatter a snapshot
/// written with derived ACL ids (`node_with_acl`), TxnLogToolkit a log.
#[test]
fn apache_tools_read_zk_server_files() {
    let installed = tests::peer::files_exist(&["/usr/share/java/zookeeper.jar"]);
    if tests::require_peer(installed, "Apache ZooKeeper 3.8's tools").is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let g = build(SessionId(7), SessionId(8));
    let tree = &g.tree;
    let mut w = zk_server::persist::SnapshotWriter::create(dir.path(), tree.last_zxid).unwrap();
    w.sessions(
        tree.sessions
            .iter()
            .map(|(s, t)| (*s, *t))
            .collect::<Vec<_>>(),
    )
    .unwrap();
    let mut stack = vec!["/".to_string()];
    while let Some(path) = stack.pop() {
        let n = tree.get(&path).unwrap();
        let acl = tree.acls.get(n.acl).unwrap();
        w.node_with_acl(&path, n.data.as_deref(), &acl, &n.stat)
            .unwrap();
        let base = if path == "/" { "" } else { path.as_str() };
        stack.extend(n.children.iter().map(|c| format!("{base}/{c}")));
    }
    let snap = w.finish(None).unwrap();
    let out = run_java("org.apache.zookeeper.server.SnapshotFormatter", &[&snap]);
    // Apache ZooKeeper's node map holds the root twice ("" and "/"), and counts both.
    assert!(
        out.contains(&format!("ZNode Details (count={}):", tree.len() + 1)),
        "{out}"
    );
    assert!(out.contains("/secure"), "{out}");

    let mut log = TxnLog::open(dir.path(), TxnLogConfig::default()).unwrap();
    for e in &g.entries {
        log.append(&e.header, &e.record, e.digest.as_ref()).unwrap();
    }
    log.close().unwrap();
    let out = run_java(
        "org.apache.zookeeper.server.persistence.TxnLogToolkit",
        &[&dir.path().join("log.1")],
    );
    assert!(
        out.contains(&format!("EOF reached after {} txns.", g.entries.len())),
        "{out}"
    );
}
