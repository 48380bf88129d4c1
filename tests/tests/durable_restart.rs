//! zk-server keeps its data across `shutdown` + `start` on the same directory: data, stats,
//! ACLs, sequential counters and live sessions' ephemerals; restored sessions whose clients do
//! not come back expire; a torn log tail is truncated; a corrupt record in the middle of the
//! log stops start-up with an error naming the file and the offset.

mod persist_common;

use bytes::Bytes;
use persist_common::apache_load::create;
use persist_common::{walk, RawClient};
use std::time::{Duration, Instant};
use tests::raw::InProcessServer;
use zk_core::data::Acl;
use zk_core::proto::SetDataRequest;
use zk_core::{CreateMode, Request, Response};
use zk_server::persist::{list, scan_log_file, DataDirs, LOG_PREFIX, SNAPSHOT_PREFIX};
use zk_server::ServerConfig;

fn set(path: &str, data: &str) -> Request {
    Request::SetData(SetDataRequest {
        path: path.into(),
        data: Some(Bytes::copy_from_slice(data.as_bytes())),
        version: -1,
    })
}

fn created(r: Result<Response, zk_core::ErrorCode>) -> String {
    match r {
        Ok(Response::Create2(c)) => c.path,
        Ok(Response::Create(c)) => c.path,
        other => panic!("{other:?}"),
    }
}

#[test]
fn restart_keeps_data_stats_counters_and_ephemerals() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = ServerConfig::for_tests(dir.path());
    let srv = InProcessServer::start(cfg.clone()).unwrap();
    let mut a = RawClient::connect(srv.addr(), 30_000);
    let mut b = RawClient::connect(srv.addr(), 800);
    let open = Acl::open_unsafe;
    let p = CreateMode::Persistent;
    for r in [
        create("/app", Some(b"v0"), open(), p),
        create("/seq", None, open(), p),
        set("/app", "v1"),
        set("/app", "v2"),
        create("/app/child", Some(b""), Acl::read_unsafe(), p),
        create("/c", Some(b"c"), open(), CreateMode::Container),
        create("/c/x", Some(b"x"), open(), p),
        create("/eph", Some(b"a"), open(), CreateMode::Ephemeral),
    ] {
        a.call(r).unwrap();
    }
    for i in 0..3 {
        let path = created(a.call(create(
            "/seq/s-",
            None,
            open(),
            CreateMode::PersistentSequential,
        )));
        assert_eq!(path, format!("/seq/s-{i:010}"));
    }
    a.call(Request::Delete(zk_core::proto::DeleteRequest {
        path: "/seq/s-0000000001".into(),
        version: -1,
    }))
    .unwrap();
    b.call(create("/eph-b", None, open(), CreateMode::Ephemeral))
        .unwrap();
    let mut before = walk(&mut a);
    before.remove("/eph-b");
    drop(srv);

    let srv = InProcessServer::start(cfg.clone()).unwrap();
    let mut r = RawClient::connect(srv.addr(), 30_000);
    let mut after = walk(&mut r);
    after.remove("/eph-b");
    assert_eq!(before, after, "the tree after a restart");
    // The sequential counter is the parent's cversion: it goes on from 3.
    let next = created(r.call(create(
        "/seq/s-",
        None,
        open(),
        CreateMode::PersistentSequential,
    )));
    assert_eq!(next, "/seq/s-0000000003");
    // b's session was restored with its 800 ms timeout; b never comes back.
    let deadline = Instant::now() + Duration::from_secs(10);
    while walk(&mut r).contains_key("/eph-b") {
        assert!(
            Instant::now() < deadline,
            "a restored session never expired"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(walk(&mut r).contains_key("/eph"), "a's session lives on");
    drop(srv);

    // And once more: the expiry was logged too.
    let srv = InProcessServer::start(cfg).unwrap();
    let mut r = RawClient::connect(srv.addr(), 30_000);
    let t = walk(&mut r);
    assert!(!t.contains_key("/eph-b") && t.contains_key("/eph"));
    assert!(t.contains_key("/seq/s-0000000003"));
}

fn log_files(cfg: &ServerConfig) -> Vec<std::path::PathBuf> {
    let dirs = DataDirs::new(&cfg.data_dir, None);
    list(&dirs.log_dir, LOG_PREFIX)
        .unwrap()
        .into_iter()
        .map(|(_, p)| p)
        .collect()
}

fn write_nodes(cfg: &ServerConfig, n: usize) {
    let srv = InProcessServer::start(cfg.clone()).unwrap();
    let mut a = RawClient::connect(srv.addr(), 30_000);
    let reqs: Vec<Request> = (0..n)
        .map(|i| {
            create(
                &format!("/n{i}"),
                Some(b"x"),
                Acl::open_unsafe(),
                CreateMode::Persistent,
            )
        })
        .collect();
    assert!(a.pipeline(&reqs).iter().all(Result::is_ok));
    drop(srv);
}

#[test]
fn torn_tail_is_truncated_and_corrupt_middle_fails_naming_file_and_offset() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = ServerConfig::for_tests(dir.path());
    write_nodes(&cfg, 50);
    let logs = log_files(&cfg);
    let log = logs.last().unwrap().clone();
    let scan = scan_log_file(&log).unwrap();
    let (last_off, _) = *scan.entries.last().unwrap();
    // Tear the last record (the final create): its checksum no longer matches.
    let mut bytes = std::fs::read(&log).unwrap();
    bytes[last_off as usize + 20] ^= 0xff;
    std::fs::write(&log, &bytes).unwrap();
    let srv = InProcessServer::start(cfg.clone()).expect("a torn tail is truncated");
    let mut r = RawClient::connect(srv.addr(), 30_000);
    let t = walk(&mut r);
    assert!(t.contains_key("/n48"));
    assert!(!t.contains_key("/n49"), "the torn create is dropped whole");
    drop(srv);

    // Damage a record in the middle of the (first) log: start-up must refuse.
    let log = log_files(&cfg)[0].clone();
    let scan = scan_log_file(&log).unwrap();
    let (mid, _) = scan.entries[scan.entries.len() / 2];
    let mut bytes = std::fs::read(&log).unwrap();
    bytes[mid as usize + 20] ^= 0xff;
    std::fs::write(&log, &bytes).unwrap();
    let err = match InProcessServer::start(cfg) {
        Ok(_) => panic!("started over a corrupt log"),
        Err(e) => e.to_string(),
    };
    let name = log.file_name().unwrap().to_string_lossy().to_string();
    assert!(err.contains(&name), "{err}");
    assert!(err.contains(&mid.to_string()), "offset {mid} in: {err}");
}

#[test]
fn a_separate_data_log_dir_holds_the_logs() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = ServerConfig::for_tests(dir.path().join("data"));
    cfg.data_log_dir = Some(dir.path().join("txnlog"));
    write_nodes(&cfg, 20);
    let snaps = dir.path().join("data/version-2");
    let logs = dir.path().join("txnlog/version-2");
    assert!(!list(&snaps, SNAPSHOT_PREFIX).unwrap().is_empty());
    assert!(list(&snaps, LOG_PREFIX).unwrap().is_empty());
    assert!(!list(&logs, LOG_PREFIX).unwrap().is_empty());
    let srv = InProcessServer::start(cfg).unwrap();
    let mut r = RawClient::connect(srv.addr(), 30_000);
    let t = walk(&mut r);
    assert!((0..20).all(|i| t.contains_key(&format!("/n{i}"))));
}
