//! Snapshots: golden bytes, fallback, recovery rules, fuzzy replay, the dump tool.

use std::fs;

use bytes::Bytes;
use zk_core::data::{Acl, StatPersisted};
use zk_core::jute::{Encode, WriteExt};
use zk_core::txn::*;
use zk_core::{OpCode, SessionId, Zxid};

use super::*;

fn stat(zxid: i64) -> StatPersisted {
    StatPersisted {
        czxid: Zxid(zxid),
        mzxid: Zxid(zxid),
        pzxid: Zxid(zxid),
        ctime: 7,
        mtime: 8,
        ..Default::default()
    }
}

#[test]
fn snapshot_golden_bytes_and_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let mut acls = AclCache::new();
    let id = acls.intern(&Acl::open_unsafe());
    let mut w = SnapshotWriter::create(dir.path(), Zxid(0x2a)).unwrap();
    assert!(
        w.node("/", None, 0, &stat(0)).is_err(),
        "nodes need the session table first"
    );
    w.sessions(vec![(SessionId(9), 4000)]).unwrap();
    w.acl_cache(&acls).unwrap();
    w.node("/", Some(b""), -1, &stat(0)).unwrap();
    w.node("/a", Some(b"hi"), id, &stat(5)).unwrap();
    let digest = SnapDigest {
        zxid: Zxid(0x2a),
        version: 2,
        digest: 77,
    };
    let path = w.finish(Some(digest)).unwrap();
    assert_eq!(path.file_name().unwrap(), "snapshot.2a");

    let mut want = b"ZKSN".to_vec();
    want.put_i32(2);
    want.put_i64(-1);
    want.put_i32(1);
    want.put_i64(9);
    want.put_i32(4000);
    acls.encode(&mut want);
    want.put_ustring("");
    want.put_buffer(Some(b""));
    want.put_i64(-1);
    stat(0).encode(&mut want);
    want.put_ustring("/a");
    want.put_buffer(Some(b"hi"));
    want.put_i64(1);
    stat(5).encode(&mut want);
    want.put_ustring("/");
    want.put_i64(adler32(&want));
    want.put_ustring("/");
    want.put_i64(0x2a);
    want.put_i32(2);
    want.put_i64(77);
    want.put_i64(adler32(&want));
    want.put_ustring("/");
    let got = fs::read(&path).unwrap();
    assert_eq!(got, want);
    assert_eq!(
        &got[got.len() - 5..],
        &[0, 0, 0, 1, b'/'],
        "SnapStream.isValidSnapshot's check"
    );

    let snap = read_snapshot(&path).unwrap();
    assert_eq!(snap.zxid, Zxid(0x2a));
    assert_eq!(snap.sessions, vec![(SessionId(9), 4000)]);
    assert_eq!(snap.nodes.len(), 2);
    assert_eq!(snap.nodes[0].path, "/");
    assert_eq!(snap.nodes[1].data.as_deref(), Some(&b"hi"[..]));
    assert_eq!(snap.acls.usage(1), 1);
    assert_eq!(snap.digest, Some(digest));
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
fn logs_without_a_snapshot_must_hold_the_whole_history() {
    let dir = tempfile::tempdir().unwrap();
    let dirs = DataDirs::new(dir.path(), Some(&dir.path().join("txnlog")));
    assert!(recover(&dirs).unwrap().snapshot.is_none(), "a new database");
    write_log(&dirs.log_dir, &creates(4)[2..]);
    assert!(matches!(
        recover(&dirs),
        Err(PersistError::NoValidSnapshot { .. })
    ));
}

#[test]
fn fuzzy_snapshot_replay_is_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    let dirs = DataDirs::new(dir.path(), None);
    let mut all = creates(10);
    let del = |z: i64, p: &str| TxnEntry {
        header: header(z, OpCode::Delete),
        body: DeleteTxn { path: p.into() }.to_bytes().into(),
        digest: None,
    };
    let set = |z: i64, p: &str| TxnEntry {
        header: header(z, OpCode::SetData),
        body: SetDataTxn {
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

#[test]
fn dump_tool_output() {
    let dir = tempfile::tempdir().unwrap();
    write_log(dir.path(), &creates(2));
    let out = dump_log(&dir.path().join("log.1")).unwrap();
    assert!(
        out.starts_with("ZooKeeper Transactional Log File with dbid 0 txnlog format version 2\n"),
        "{out}"
    );
    assert!(out.contains("zxid 0x2 create path=/n2 data='d2'"), "{out}");
    assert!(out.contains("EOF reached after 2 txns"), "{out}");
    let mut t = ReplayTree::new();
    t.apply(&creates(1)[0]).unwrap();
    let snap = t.write_snapshot(dir.path(), t.last_zxid).unwrap();
    let out = dump_snapshot(&snap, true).unwrap();
    assert!(out.starts_with("ZNode Details (count=5):"), "{out}");
    assert!(out.contains("/n1\n  cZxid = 0x00000000000001"), "{out}");
    assert!(out.contains("  data = 'd1'"), "{out}");
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
        body: DeleteTxn {
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
fn node_with_acl_derives_the_map_and_cleans_up() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = SnapshotWriter::create(dir.path(), Zxid(9)).unwrap();
    w.sessions(Vec::new()).unwrap();
    w.node_with_acl("/", Some(b""), &Acl::open_unsafe(), &stat(0))
        .unwrap();
    w.node_with_acl("/r", None, &Acl::read_unsafe(), &stat(1))
        .unwrap();
    w.node_with_acl("/o", Some(b"x"), &Acl::open_unsafe(), &stat(2))
        .unwrap();
    assert!(
        w.acl_cache(&AclCache::new()).is_err(),
        "one way or the other"
    );
    let path = w.finish(None).unwrap();
    let names: Vec<String> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into())
        .collect();
    assert_eq!(names, ["snapshot.9"], "no temporary files left");
    let snap = read_snapshot(&path).unwrap();
    let ids: Vec<i64> = snap.nodes.iter().map(|n| n.acl).collect();
    assert_eq!(ids, [1, 2, 1]);
    assert_eq!(snap.acls.get(2), Some(Acl::read_unsafe()));
    assert_eq!(snap.acls.usage(1), 2);
    assert_eq!(snap.nodes[1].data, None);
}
