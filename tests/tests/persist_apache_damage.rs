//! Damaged and compressed data directories written by Apache ZooKeeper 3.8: a corrupt newest
//! snapshot falls back to an older one, a torn log tail is truncated, a corrupt record in the
//! middle of the log stops recovery naming the file and offset, gzip snapshots are read, and
//! autopurge deletes what Apache ZooKeeper's PurgeTxnLog deletes.

mod persist_common;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use bytes::Bytes;
use persist_common::{walk, NodeView, RawClient};
use std::collections::BTreeMap;
use tests::replay::ReplayTree;
use tests::ApacheZk;
use zk_core::data::Acl;
use zk_core::proto::*;
use zk_core::{CreateMode, Request};
use zk_server::persist::{
    list, read_snapshot, recover, scan_log_file, DataDirs, LogEnd, PersistError, LOG_PREFIX,
    SNAPSHOT_PREFIX,
};

fn create(path: &str) -> Request {
    Request::Create2(CreateRequest {
        path: path.into(),
        data: Some(Bytes::from(path.to_string())),
        acl: Acl::open_unsafe(),
        flags: CreateMode::Persistent.flag(),
    })
}

fn set(path: &str, v: usize) -> Request {
    Request::SetData(SetDataRequest {
        path: path.into(),
        data: Some(Bytes::from(format!("v{v}"))),
        version: -1,
    })
}

/// Runs Apache ZooKeeper with `extra` settings on `data`, writes 300 nodes and 700 updates,
/// waits until every snapshot file is complete (`done` says which count), stops it, and returns
/// the tree it served; `None` when the test is to be skipped ([`tests::require_peer`]).
fn apache_writes(
    data: &std::path::Path,
    extra: &[&str],
    done: impl Fn(&[PathBuf]) -> bool,
) -> Option<BTreeMap<String, NodeView>> {
    let mut zk = tests::require_peer(
        ApacheZk::start_in(Some(data), extra),
        "Apache ZooKeeper 3.8",
    )?;
    let mut c = RawClient::connect(zk.addr(), 30_000);
    let mut reqs: Vec<Request> = (0..300).map(|i| create(&format!("/d{i}"))).collect();
    reqs.extend((0..700).map(|i| set(&format!("/d{}", i % 300), i)));
    assert!(c.pipeline(&reqs).iter().all(|r| r.is_ok()));
    let served = walk(&mut c);
    let snap_dir = DataDirs::new(data, None).snap_dir;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let snaps: Vec<PathBuf> = list(&snap_dir, SNAPSHOT_PREFIX)
            .unwrap()
            .into_iter()
            .map(|(_, p)| p)
            .collect();
        if done(&snaps) && snaps.iter().all(|p| read_snapshot(p).is_ok()) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "snapshots never completed: {snaps:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    zk.stop();
    Some(served)
}

fn recovered_tree(dirs: &DataDirs) -> Result<ReplayTree, PersistError> {
    let rec = recover(dirs)?;
    let mut tree = ReplayTree::from_snapshot(rec.snapshot.as_ref().unwrap()).unwrap();
    for t in &rec.txns {
        tree.apply(t).unwrap();
    }
    Ok(tree)
}

fn assert_same(tree: &ReplayTree, served: &BTreeMap<String, NodeView>) {
    assert_eq!(tree.paths(), served.keys().cloned().collect::<Vec<_>>());
    for (path, view) in served {
        assert_eq!(tree.stat(path).unwrap(), view.stat, "{path}");
        assert_eq!(tree.get(path).unwrap().data, view.data, "{path}");
    }
}

#[test]
fn damaged_apache_data_dirs() {
    let data = tempfile::tempdir().unwrap();
    let Some(served) = apache_writes(data.path(), &["snapCount=100", "preAllocSize=16"], |s| {
        s.len() >= 3
    }) else {
        return;
    };
    let dirs = DataDirs::new(data.path(), None);
    assert_same(&recovered_tree(&dirs).unwrap(), &served);

    // 1. The newest snapshot is corrupt: recovery falls back to the one before and replays
    //    more of the log, reaching the same tree.
    let snaps = list(&dirs.snap_dir, SNAPSHOT_PREFIX).unwrap();
    let (_, newest) = snaps.last().unwrap();
    let mut bytes = std::fs::read(newest).unwrap();
    let at = bytes.len() / 3;
    bytes[at] ^= 0x5a;
    std::fs::write(newest, &bytes).unwrap();
    let rec = recover(&dirs).unwrap();
    assert_eq!(rec.skipped_snapshots.len(), 1);
    assert_eq!(&rec.skipped_snapshots[0].0, newest);
    assert_same(&recovered_tree(&dirs).unwrap(), &served);

    // 2. A torn tail: the newest log loses the end of its last record. Recovery truncates it
    //    there and returns everything before.
    let logs = list(&dirs.log_dir, LOG_PREFIX).unwrap();
    let (_, last_log) = logs.last().unwrap();
    let scan = scan_log_file(last_log).unwrap();
    let (last_off, last) = scan.entries.last().unwrap().clone();
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(last_log)
        .unwrap();
    f.set_len(last_off + 20).unwrap();
    drop(f);
    let rec = recover(&dirs).unwrap();
    assert_eq!(rec.last_zxid().0, last.header.zxid.0 - 1);
    assert_eq!(
        std::fs::metadata(last_log).unwrap().len(),
        last_off,
        "truncated at the torn record"
    );
    assert!(matches!(
        scan_log_file(last_log).unwrap().end,
        LogEnd::Clean { .. }
    ));

    // 3. A flipped byte in a record in the middle of an older log: a hard error naming the
    //    file and the record's offset, and nothing is truncated.
    let (_, mid_log) = &logs[logs.len() / 2];
    let victim = scan_log_file(mid_log).unwrap().entries[3].0;
    let mut bytes = std::fs::read(mid_log).unwrap();
    bytes[victim as usize + 40] ^= 0x01;
    std::fs::write(mid_log, &bytes).unwrap();
    // Recovery only reads the logs after the snapshot it loads: make it need this one.
    for (_, p) in list(&dirs.snap_dir, SNAPSHOT_PREFIX)
        .unwrap()
        .iter()
        .skip(1)
    {
        std::fs::remove_file(p).unwrap();
    }
    let err = match recover(&dirs) {
        Err(e) => e,
        Ok(r) => panic!("recovered {} txns past a corrupt record", r.txns.len()),
    };
    match &err {
        PersistError::Corrupt { path, offset, .. } => {
            assert_eq!(path, mid_log);
            assert_eq!(*offset, victim);
        }
        other => panic!("{other}"),
    }
    assert!(err.to_string().contains(&format!("byte {victim}")), "{err}");
    assert_eq!(std::fs::read(mid_log).unwrap(), bytes);
}

/// With `zookeeper.snapshot.compression.method=gz` Apache ZooKeeper writes
/// `snapshot.<zxid>.gz`; recovery reads those too.
#[test]
fn gzip_snapshots() {
    let data = tempfile::tempdir().unwrap();
    let gz = |s: &[PathBuf]| {
        s.iter()
            .filter(|p| p.to_string_lossy().ends_with(".gz"))
            .count()
            >= 2
    };
    let Some(served) = apache_writes(
        data.path(),
        &["snapCount=100", "snapshot.compression.method=gz"],
        gz,
    ) else {
        return;
    };
    let dirs = DataDirs::new(data.path(), None);
    let snaps = list(&dirs.snap_dir, SNAPSHOT_PREFIX).unwrap();
    assert!(
        snaps.last().unwrap().1.to_string_lossy().ends_with(".gz"),
        "{snaps:?}"
    );
    let rec = recover(&dirs).unwrap();
    let snap = rec.snapshot.as_ref().unwrap();
    assert_eq!(
        snap.zxid,
        snaps.last().unwrap().0,
        "the newest, gzip, snapshot was loaded"
    );
    assert!(snap.nodes.len() > 10);
    assert_same(&recovered_tree(&dirs).unwrap(), &served);
}

/// autopurge: `purge` deletes exactly what Apache ZooKeeper's own `PurgeTxnLog -n 3` deletes
/// from the same directory.
#[test]
fn purge_matches_apache_purge_txn_log() {
    let data = tempfile::tempdir().unwrap();
    if apache_writes(data.path(), &["snapCount=100", "preAllocSize=16"], |s| {
        s.len() >= 5
    })
    .is_none()
    {
        return;
    }
    let copy = tempfile::tempdir().unwrap();
    let names = |dir: &std::path::Path| -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir.join("version-2"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    };
    std::fs::create_dir_all(copy.path().join("version-2")).unwrap();
    for n in names(data.path()) {
        std::fs::copy(
            data.path().join("version-2").join(&n),
            copy.path().join("version-2").join(&n),
        )
        .unwrap();
    }
    let dirs = DataDirs::new(copy.path(), None);
    let deleted = zk_server::persist::purge(&dirs.snap_dir, &dirs.log_dir, 3).unwrap();
    assert!(!deleted.is_empty(), "something to purge");

    let status = std::process::Command::new("java")
        .args([
            "-cp",
            tests::ZK_CLASSPATH,
            "org.apache.zookeeper.server.PurgeTxnLog",
        ])
        .arg(data.path())
        .arg(data.path())
        .args(["-n", "3"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    assert_eq!(
        names(copy.path()),
        names(data.path()),
        "files kept by zk-server vs Apache"
    );
}
