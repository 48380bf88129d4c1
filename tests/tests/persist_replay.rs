//! Recovery checked against the reference replay model ([`tests::replay::ReplayTree`]): snapshot
//! fallback, fuzzy snapshots (hand-made and simulated), Apache ZooKeeper's replay quirks, the
//! snapshot dump and single-byte snapshot damage. No server process is started.

#[path = "persist_replay/fuzzy.rs"]
mod fuzzy;

use std::fs;
use std::path::Path;

use bytes::Bytes;
use tests::replay::ReplayTree;
use zk_core::data::Acl;
use zk_core::jute::Encode;
use zk_core::txn::*;
use zk_core::{OpCode, SessionId, Zxid};
use zk_server::persist::{dump_snapshot, parse_snapshot, recover, DataDirs, TxnLog, TxnLogConfig};

fn header(zxid: i64, t: OpCode) -> TxnHeader {
    TxnHeader {
        client_id: SessionId(0x77),
        cxid: zxid as i32,
        zxid: Zxid(zxid),
        time: 1000 + zxid,
        txn_type: t.as_i32(),
    }
}

fn create(zxid: i64, path: &str, cversion: i32) -> TxnEntry {
    let body = CreateTxn {
        path: path.into(),
        data: Some(Bytes::from(format!("d{zxid}"))),
        acl: Acl::open_unsafe(),
        ephemeral: false,
        parent_cversion: cversion,
    };
    TxnEntry {
        header: header(zxid, OpCode::Create),
        record: body.to_bytes().into(),
        digest: None,
    }
}

/// `/n1 .. /nN` created at zxids 1..=N (the root's cversion counts them).
fn creates(n: i64) -> Vec<TxnEntry> {
    (1..=n)
        .map(|z| create(z, &format!("/n{z}"), z as i32))
        .collect()
}

fn write_log(dir: &Path, entries: &[TxnEntry]) {
    let config = TxnLogConfig {
        pre_alloc_size: 4096,
        ..TxnLogConfig::default()
    };
    let mut log = TxnLog::open(dir, config).unwrap();
    for e in entries {
        log.append(&e.header, &e.record, e.digest.as_ref()).unwrap();
    }
    log.close().unwrap();
}

#[test]
fn corrupt_newest_snapshot_falls_back_to_an_older_one() {
    let dir = tempfile::tempdir().unwrap();
    let dirs = DataDirs::new(dir.path(), None);
    let all = creates(20);
    let mut tree = ReplayTree::new();
    for e in &all[..5] {
        tree.apply(e).unwrap();
    }
    tree.write_snapshot(&dirs.snap_dir, tree.last_zxid).unwrap();
    for e in &all[5..15] {
        tree.apply(e).unwrap();
    }
    let newest = tree.write_snapshot(&dirs.snap_dir, tree.last_zxid).unwrap();
    write_log(&dirs.log_dir, &all);
    let mut bytes = fs::read(&newest).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x40;
    fs::write(&newest, &bytes).unwrap();

    let rec = recover(&dirs).unwrap();
    assert_eq!(rec.snapshot.as_ref().unwrap().zxid, Zxid(5));
    assert_eq!(rec.skipped_snapshots.len(), 1);
    assert_eq!(rec.skipped_snapshots[0].0, newest);
    assert_eq!(rec.txns.len(), 15);
    let mut back = ReplayTree::from_snapshot(rec.snapshot.as_ref().unwrap()).unwrap();
    for t in &rec.txns {
        back.apply(t).unwrap();
    }
    let mut full = ReplayTree::new();
    for e in &all {
        full.apply(e).unwrap();
    }
    assert_eq!(back.paths(), full.paths());
    assert_eq!(back.digest(), full.digest());
}

#[test]
fn fuzzy_snapshot_replay_is_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    let dirs = DataDirs::new(dir.path(), None);
    let mut all = creates(10);
    let del = |z: i64, p: &str| TxnEntry {
        header: header(z, OpCode::Delete),
        record: DeleteTxn { path: p.into() }.to_bytes().into(),
        digest: None,
    };
    let set = |z: i64, p: &str| TxnEntry {
        header: header(z, OpCode::SetData),
        record: SetDataTxn {
            path: p.into(),
            data: Some(Bytes::from_static(b"new")),
            version: 1,
        }
        .to_bytes()
        .into(),
        digest: None,
    };
    all.push(del(11, "/n3"));
    all.push(set(12, "/n4"));
    all.push(create(13, "/n3", 11));
    all.push(del(14, "/n5"));
    let mut live = ReplayTree::new();
    for e in &all {
        live.apply(e).unwrap();
    }
    // A snapshot that started after zxid 6 but saw every change up to 14: named 6.
    live.write_snapshot(&dirs.snap_dir, Zxid(6)).unwrap();
    write_log(&dirs.log_dir, &all);
    let rec = recover(&dirs).unwrap();
    assert_eq!(rec.txns.len(), 8);
    let mut back = ReplayTree::from_snapshot(rec.snapshot.as_ref().unwrap()).unwrap();
    for t in &rec.txns {
        back.apply(t).unwrap();
    }
    assert_eq!(back.paths(), live.paths());
    for p in live.paths() {
        assert_eq!(back.stat(&p), live.stat(&p), "{p}");
        assert_eq!(
            back.get(&p).unwrap().data,
            live.get(&p).unwrap().data,
            "{p}"
        );
    }
    assert_eq!(back.digest(), live.digest());
}

/// Regressions found against Apache ZooKeeper's fuzzy snapshots: a replayed delete whose node
/// the snapshot already missed still moves the parent's pzxid (`DataTree.deleteNode`), and a
/// replayed `create` (op 1) of an existing node still raises the parent's cversion.
#[test]
fn replay_quirks_of_data_tree() {
    let mut t = ReplayTree::new();
    t.apply(&create(1, "/a", 1)).unwrap();
    t.apply(&create(2, "/a/b", 1)).unwrap();
    let del = TxnEntry {
        header: header(3, OpCode::Delete),
        record: DeleteTxn {
            path: "/a/b".into(),
        }
        .to_bytes()
        .into(),
        digest: None,
    };
    t.apply(&del).unwrap();
    assert_eq!(t.get("/a").unwrap().stat.pzxid, Zxid(3));
    let mut fuzzy = ReplayTree::new();
    fuzzy.apply(&create(1, "/a", 1)).unwrap();
    fuzzy.apply(&del).unwrap(); // /a/b never seen: only the pzxid moves
    assert_eq!(fuzzy.get("/a").unwrap().stat.pzxid, Zxid(3));

    let mut again = create(4, "/a", 7);
    again.header.txn_type = OpCode::Create.as_i32();
    t.apply(&again).unwrap();
    assert_eq!(t.get("/").unwrap().stat.cversion, 7);
    assert_eq!(t.get("/").unwrap().stat.pzxid, Zxid(4));
    let mut again2 = create(5, "/a", 9);
    again2.header.txn_type = OpCode::Create2.as_i32();
    t.apply(&again2).unwrap();
    assert_eq!(
        t.get("/").unwrap().stat.cversion,
        7,
        "create2 does not adjust"
    );
}

/// Every single damaged byte of a snapshot makes it unreadable (so recovery falls back):
/// the seals cover every byte before them, and the file must end exactly after the last one.
#[test]
fn every_single_byte_snapshot_corruption_is_caught() {
    let dir = tempfile::tempdir().unwrap();
    let mut t = ReplayTree::new();
    for e in creates(5) {
        t.apply(&e).unwrap();
    }
    let path = t.write_snapshot(dir.path(), t.last_zxid).unwrap();
    let clean = bytes::Bytes::from(fs::read(&path).unwrap());
    assert!(parse_snapshot(&path, Zxid(5), &clean).is_ok());
    for at in 0..clean.len() {
        for flip in [0x01u8, 0x80] {
            let mut b = clean.to_vec();
            b[at] ^= flip;
            let r = parse_snapshot(&path, Zxid(5), &bytes::Bytes::from(b));
            assert!(r.is_err(), "byte {at} ^ {flip:#x} went unnoticed");
        }
    }
    let mut longer = clean.to_vec();
    longer.push(0);
    assert!(parse_snapshot(&path, Zxid(5), &bytes::Bytes::from(longer)).is_err());
    let shorter = clean.slice(..clean.len() - 1);
    assert!(parse_snapshot(&path, Zxid(5), &shorter).is_err());
}

#[test]
fn dump_tool_snapshot_output() {
    let dir = tempfile::tempdir().unwrap();
    let mut t = ReplayTree::new();
    t.apply(&creates(1)[0]).unwrap();
    let snap = t.write_snapshot(dir.path(), t.last_zxid).unwrap();
    let out = dump_snapshot(&snap, true).unwrap();
    assert!(out.starts_with("ZNode Details (count=5):"), "{out}");
    assert!(out.contains("/n1\n  cZxid = 0x00000000000001"), "{out}");
    assert!(out.contains("  data = 'd1'"), "{out}");
}
