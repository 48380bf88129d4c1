//! zk-server's tokio driver: start-up time, four-letter words (formats checked against Apache
//! ZooKeeper's), connection limits, back-pressure, group commit and the rule that no reply
//! leaves before the sync covering it, session expiry, shutdown.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tests::raw::{InProcessServer, RawClient};
use tests::{four_letter_word, ApacheZk};
use zk_core::proto::{ConnectRequest, CreateRequest};
use zk_core::txn::TxnHeader;
use zk_core::{Acl, Request, SessionId, Zxid};
use zk_server::{ServerConfig, TxnSink};

fn cfg() -> ServerConfig {
    ServerConfig::for_tests(tests::fresh_data_dir("driver"))
}

fn create(path: &str) -> Request {
    Request::Create(CreateRequest {
        path: path.into(),
        data: Some(b"x".to_vec().into()),
        acl: Acl::open_unsafe(),
        flags: 0,
    })
}

#[test]
fn starts_quickly_and_shuts_down() {
    let t = Instant::now();
    let srv = InProcessServer::start(cfg()).unwrap();
    let mut c = RawClient::connect(srv.addr(), 4000).unwrap();
    let elapsed = t.elapsed();
    eprintln!("start + first session: {elapsed:?}");
    assert!(elapsed < Duration::from_millis(500), "{elapsed:?}");
    assert!(c.call(&Request::Ping).is_ok());
    let addr = srv.addr();
    drop(srv);
    assert!(
        c.call(&Request::Ping).is_err(),
        "connections are closed at shutdown"
    );
    assert!(TcpStream::connect_timeout(&addr, Duration::from_millis(500)).is_err());
}

fn keys(text: &str, sep: char) -> Vec<String> {
    text.lines()
        .filter_map(|l| l.split_once(sep).map(|(k, _)| k.trim().to_owned()))
        .collect()
}

#[test]
fn four_letter_words_match_apache_formats() {
    let srv = InProcessServer::start(cfg()).unwrap();
    let mut c = RawClient::connect(srv.addr(), 4000).unwrap();
    c.call(&Request::GetData(zk_core::proto::GetDataRequest {
        path: "/".into(),
        watch: true,
    }))
    .unwrap();
    let ours = |cmd: &str| four_letter_word(srv.addr(), cmd).unwrap();
    assert_eq!(ours("ruok"), "imok");
    assert_eq!(ours("isro"), "rw");
    let wchs = ours("wchs");
    assert_eq!(wchs, "1 connections watching 1 paths\nTotal watches:1\n");
    let mntr = ours("mntr");
    assert!(mntr.contains("zk_watch_count\t1\n"), "{mntr}");
    assert!(mntr.contains("zk_znode_count\t5\n"), "{mntr}");
    assert!(ours("wchc").contains("\t/\n"));
    assert!(ours("wchp").starts_with("/\n\t0x"));
    assert!(ours("dump").starts_with("SessionTracker dump:\n"));
    assert!(ours("cons").contains(",sid=0x"));
    if let Some(apache) = tests::require_peer(ApacheZk::start(&[]), "Apache ZooKeeper 3.8") {
        let theirs = |cmd: &str| four_letter_word(apache.addr(), cmd).unwrap();
        for cmd in ["srvr", "stat", "conf", "envi"] {
            let sep = if cmd == "conf" || cmd == "envi" {
                '='
            } else {
                ':'
            };
            let (a, o) = (theirs(cmd), ours(cmd));
            let ak: Vec<String> = keys(&a, sep)
                .into_iter()
                .filter(|k| !k.starts_with('/'))
                .collect();
            let ok: Vec<String> = keys(&o, sep)
                .into_iter()
                .filter(|k| !k.starts_with('/'))
                .collect();
            assert_eq!(ak, ok, "{cmd}:\napache:\n{a}\nours:\n{o}");
        }
        let apache_mntr = keys(&theirs("mntr"), '\t');
        for k in keys(&mntr, '\t') {
            assert!(apache_mntr.contains(&k), "mntr key {k} unknown to Apache");
        }
        assert_eq!(theirs("ruok"), ours("ruok"));
        assert_eq!(theirs("isro"), ours("isro"));
    }
}

#[test]
fn whitelist_defaults_to_srvr() {
    let mut cfg = cfg();
    cfg.four_letter_whitelist = vec!["srvr".into()];
    let srv = InProcessServer::start(cfg).unwrap();
    assert_eq!(
        four_letter_word(srv.addr(), "ruok").unwrap(),
        "ruok is not executed because it is not in the whitelist.\n"
    );
    assert!(four_letter_word(srv.addr(), "srvr")
        .unwrap()
        .contains("Mode: standalone\n"));
}

#[test]
fn max_client_cnxns_per_ip() {
    let mut cfg = cfg();
    cfg.max_client_cnxns = 2;
    let srv = InProcessServer::start(cfg).unwrap();
    let _a = RawClient::connect(srv.addr(), 4000).unwrap();
    let _b = RawClient::connect(srv.addr(), 4000).unwrap();
    assert!(
        RawClient::connect(srv.addr(), 4000).is_err(),
        "third connection refused"
    );
    drop(_a);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        if RawClient::connect(srv.addr(), 4000).is_ok() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "a slot frees up when a connection closes"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn backpressure_keeps_fifo_and_bad_frames_close_only_their_connection() {
    let mut cfg = cfg();
    cfg.max_outstanding_per_connection = 2;
    let srv = InProcessServer::start(cfg).unwrap();
    let mut c = RawClient::connect(srv.addr(), 4000).unwrap();
    for i in 1..=300 {
        c.send(i, 1, &create(&format!("/n{i}"))).unwrap();
    }
    for i in 1..=300 {
        let r = c.recv().unwrap();
        assert_eq!((r.header.xid, r.header.err), (i, 0));
    }
    let mut bad = RawClient::connect(srv.addr(), 4000).unwrap();
    bad.send_raw(&(0x7fff_ffffi32).to_be_bytes()).unwrap();
    assert!(bad.recv().is_err());
    assert!(
        c.call(&Request::Ping).is_ok(),
        "other connections are untouched"
    );
}

/// A sink whose sync takes a while and remembers when it finished.
#[derive(Clone, Default)]
struct SlowSink {
    state: Arc<Mutex<(usize, usize, Option<Instant>)>>,
}

impl TxnSink for SlowSink {
    fn append(&mut self, _h: &TxnHeader, _b: &[u8]) -> std::io::Result<()> {
        self.state.lock().unwrap().0 += 1;
        Ok(())
    }
    fn sync(&mut self) -> std::io::Result<()> {
        std::thread::sleep(Duration::from_millis(50));
        let mut s = self.state.lock().unwrap();
        s.1 += 1;
        s.2 = Some(Instant::now());
        Ok(())
    }
}

#[test]
fn replies_wait_for_the_sync_and_writes_share_syncs() {
    let sink = SlowSink::default();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let server = rt
        .block_on(zk_server::Server::start_with(
            cfg(),
            zk_server::core::DataTree::new(),
            Box::new(sink.clone()),
        ))
        .unwrap();
    let mut c = RawClient::connect(server.addr(), 4000).unwrap();
    let replies = c.call(&create("/durable")).unwrap();
    let got = Instant::now();
    assert_eq!(replies.last().unwrap().header.err, 0);
    let synced_at = sink.state.lock().unwrap().2.expect("a sync happened");
    assert!(synced_at <= got, "the reply left after its sync");
    let before = sink.state.lock().unwrap().1;
    for i in 0..200 {
        c.send(100 + i, 1, &create(&format!("/g{i}"))).unwrap();
    }
    for i in 0..200 {
        assert_eq!(c.recv().unwrap().header.xid, 100 + i);
    }
    let (appended, syncs, _) = *sink.state.lock().unwrap();
    eprintln!(
        "{appended} txns appended, {} syncs for 200 pipelined writes",
        syncs - before
    );
    assert!(
        syncs - before < 100,
        "group commit: {} syncs",
        syncs - before
    );
    rt.block_on(server.shutdown());
}

#[test]
fn idle_sessions_expire_and_cannot_resume() {
    let srv = InProcessServer::start(cfg()).unwrap();
    let mut c = RawClient::connect(srv.addr(), 400).unwrap();
    assert_eq!(c.timeout_ms, 400);
    let (sid, pw) = (c.session_id, c.passwd.clone());
    c.call(&Request::Create(CreateRequest {
        path: "/eph".into(),
        data: None,
        acl: Acl::open_unsafe(),
        flags: 1,
    }))
    .unwrap();
    let t = Instant::now();
    assert!(
        c.recv().is_err(),
        "the server closes an expired session's connection"
    );
    eprintln!("expired after {:?}", t.elapsed());
    let mut d = RawClient::open(srv.addr()).unwrap();
    let r = d
        .handshake(&ConnectRequest {
            protocol_version: 0,
            last_zxid_seen: Zxid(0),
            timeout_ms: 400,
            session_id: sid,
            passwd: pw.into(),
            read_only: Some(false),
        })
        .unwrap();
    assert_eq!((r.timeout_ms, r.session_id), (0, SessionId(0)));
    let mut e = RawClient::connect(srv.addr(), 4000).unwrap();
    let r = e
        .call(&Request::Exists(zk_core::proto::ExistsRequest {
            path: "/eph".into(),
            watch: false,
        }))
        .unwrap();
    assert_eq!(
        r.last().unwrap().header.err,
        -101,
        "the ephemeral went with its session"
    );
}

#[test]
fn telnet_style_4lw_and_garbage_first_bytes() {
    let srv = InProcessServer::start(cfg()).unwrap();
    let mut s = TcpStream::connect(srv.addr()).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.write_all(b"\xff\xff\xff\xff").unwrap();
    let mut buf = Vec::new();
    assert_eq!(s.read_to_end(&mut buf).unwrap_or(0), 0);
    assert!(four_letter_word(srv.addr(), "srvr")
        .unwrap()
        .starts_with("Zookeeper version: 3.8.0"));
}

#[test]
fn container_reaper_runs_on_its_interval() {
    let mut cfg = cfg();
    cfg.container_check_interval_ms = 50;
    let srv = InProcessServer::start(cfg).unwrap();
    let mut c = RawClient::connect(srv.addr(), 4000).unwrap();
    let container = Request::CreateContainer(CreateRequest {
        path: "/cont".into(),
        data: None,
        acl: Acl::open_unsafe(),
        flags: 4,
    });
    assert_eq!(c.call(&container).unwrap().last().unwrap().header.err, 0);
    assert_eq!(
        c.call(&create("/cont/child"))
            .unwrap()
            .last()
            .unwrap()
            .header
            .err,
        0
    );
    let exists = Request::Exists(zk_core::proto::ExistsRequest {
        path: "/cont".into(),
        watch: true,
    });
    c.call(&exists).unwrap();
    c.call(&Request::Delete(zk_core::proto::DeleteRequest {
        path: "/cont/child".into(),
        version: -1,
    }))
    .unwrap();
    // The reaper deletes the now-empty container; the exists watch reports it.
    let r = c.recv().unwrap();
    let ev = r.event().expect("a notification");
    assert_eq!((ev.event_type, ev.path.as_str()), (2, "/cont"));
}

/// A sink that asks for a snapshot every 10 transactions and checks each one only reflects
/// synced transactions.
#[derive(Clone, Default)]
struct SnapSink {
    state: Arc<Mutex<SnapState>>,
}

#[derive(Default)]
struct SnapState {
    appended: Vec<i64>,
    synced_upto: i64,
    since_snapshot: usize,
    snapshots: Vec<(i64, usize)>,
}

impl TxnSink for SnapSink {
    fn append(&mut self, h: &TxnHeader, _b: &[u8]) -> std::io::Result<()> {
        let mut s = self.state.lock().unwrap();
        s.appended.push(h.zxid.0);
        s.since_snapshot += 1;
        Ok(())
    }
    fn sync(&mut self) -> std::io::Result<()> {
        let mut s = self.state.lock().unwrap();
        s.synced_upto = s.appended.last().copied().unwrap_or(0);
        Ok(())
    }
    fn snapshot_due(&mut self) -> bool {
        let mut s = self.state.lock().unwrap();
        if s.since_snapshot >= 10 {
            s.since_snapshot = 0;
            true
        } else {
            false
        }
    }
    fn snapshot(&mut self, tree: &zk_server::core::DataTree) -> std::io::Result<()> {
        let mut s = self.state.lock().unwrap();
        let z = tree.last_zxid().0;
        assert!(
            z <= s.synced_upto,
            "snapshot at {z} ahead of the synced log {}",
            s.synced_upto
        );
        s.snapshots.push((z, tree.node_count()));
        Ok(())
    }
}

#[test]
fn sinks_get_snapshots_of_synced_state() {
    let sink = SnapSink::default();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let server = rt
        .block_on(zk_server::Server::start_with(
            cfg(),
            zk_server::core::DataTree::new(),
            Box::new(sink.clone()),
        ))
        .unwrap();
    let mut c = RawClient::connect(server.addr(), 4000).unwrap();
    for i in 0..50 {
        assert_eq!(
            c.call(&create(&format!("/s{i}")))
                .unwrap()
                .last()
                .unwrap()
                .header
                .err,
            0
        );
    }
    rt.block_on(server.shutdown());
    let s = sink.state.lock().unwrap();
    assert!(s.snapshots.len() >= 3, "{:?}", s.snapshots);
    // zxid 1 created the session and each later zxid one node: a snapshot at z holds exactly
    // the four system nodes and z - 1 created ones, so it is consistent, not torn.
    for (z, nodes) in &s.snapshots {
        assert_eq!(*nodes as i64, 4 + z - 1, "snapshot at {z}");
    }
}

#[test]
fn random_bytes_from_many_connections_do_not_hurt_the_server() {
    let srv = InProcessServer::start(cfg()).unwrap();
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for round in 0..60 {
        let mut c = if round % 2 == 0 {
            RawClient::connect(srv.addr(), 4000).unwrap()
        } else {
            RawClient::open(srv.addr()).unwrap()
        };
        let mut bytes = Vec::new();
        for _ in 0..(next() % 6) {
            // A plausible frame: length, xid, an op code near the real ones, random body.
            let body_len = (next() % 40) as usize;
            let len = 8 + body_len as i32;
            bytes.extend_from_slice(&len.to_be_bytes());
            bytes.extend_from_slice(&(next() as i32).to_be_bytes());
            bytes.extend_from_slice(&((next() % 120) as i32 - 12).to_be_bytes());
            bytes.extend((0..body_len).map(|_| next() as u8));
        }
        bytes.extend((0..(next() % 16)).map(|_| next() as u8));
        let _ = c.send_raw(&bytes);
        c.set_read_timeout(Duration::from_millis(20)).unwrap();
        while c.recv().is_ok() {}
    }
    let mut ok = RawClient::connect(srv.addr(), 4000).unwrap();
    assert_eq!(
        ok.call(&create("/still-alive"))
            .unwrap()
            .last()
            .unwrap()
            .header
            .err,
        0
    );
    assert!(four_letter_word(srv.addr(), "ruok").unwrap() == "imok");
}

#[test]
fn a_dropped_server_stops_listening() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let server = rt.block_on(zk_server::Server::start(cfg())).unwrap();
    let addr = server.addr();
    assert!(TcpStream::connect(addr).is_ok());
    drop(server);
    let deadline = Instant::now() + Duration::from_secs(5);
    while TcpStream::connect_timeout(&addr, Duration::from_millis(100)).is_ok() {
        assert!(Instant::now() < deadline, "still listening after drop");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// A sink whose fsync fails.
struct FailingSink;

impl TxnSink for FailingSink {
    fn append(&mut self, _h: &TxnHeader, _b: &[u8]) -> std::io::Result<()> {
        Ok(())
    }
    fn sync(&mut self) -> std::io::Result<()> {
        Err(std::io::Error::other("disk on fire"))
    }
}

#[test]
fn a_failing_log_stops_the_server_without_acknowledging() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let server = rt
        .block_on(zk_server::Server::start_with(
            cfg(),
            zk_server::core::DataTree::new(),
            Box::new(FailingSink),
        ))
        .unwrap();
    // The handshake needs a createSession transaction, which can never become durable.
    let mut c = RawClient::open(server.addr()).unwrap();
    let r = c.handshake(&ConnectRequest {
        protocol_version: 0,
        last_zxid_seen: Zxid(0),
        timeout_ms: 4000,
        session_id: SessionId(0),
        passwd: vec![0u8; 16].into(),
        read_only: Some(false),
    });
    assert!(
        r.is_err(),
        "no answer that depends on an unsynced transaction"
    );
    rt.block_on(async {
        tokio::time::timeout(Duration::from_secs(5), server.stopped())
            .await
            .expect("server stopped");
        server.shutdown().await;
    });
}
