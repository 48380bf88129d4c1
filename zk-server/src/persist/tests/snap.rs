//! Snapshots: golden bytes, recovery rules, the dump tool.

use std::fs;

use zk_core::data::{Acl, StatPersisted};
use zk_core::jute::{Encode, WriteExt};
use zk_core::{SessionId, Zxid};

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
fn dump_tool_log_output() {
    let dir = tempfile::tempdir().unwrap();
    write_log(dir.path(), &creates(2));
    let out = dump_log(&dir.path().join("log.1")).unwrap();
    assert!(
        out.starts_with("ZooKeeper Transactional Log File with dbid 0 txnlog format version 2\n"),
        "{out}"
    );
    assert!(out.contains("zxid 0x2 create path=/n2 data='d2'"), "{out}");
    assert!(out.contains("EOF reached after 2 txns"), "{out}");
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
