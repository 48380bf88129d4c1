//! Migration both ways between Apache ZooKeeper 3.8 and zk-server on the same data directory:
//! one server writes (persistent, ephemeral, sequential, container and TTL nodes, ACLs,
//! thousands of nodes, multis, several logs and snapshots) and stops; the other starts on the
//! directory and must serve the same tree: every path's data, stat, ACL and children, compared
//! through the client protocol.

mod persist_common;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use persist_common::apache_load::load;
use persist_common::{walk, NodeView, RawClient};
use tests::raw::InProcessServer;
use tests::{four_letter_word, ApacheZk};
use zk_server::persist::{list, read_snapshot, DataDirs, LOG_PREFIX, SNAPSHOT_PREFIX};
use zk_server::ServerConfig;

fn assert_same(expected: &BTreeMap<String, NodeView>, actual: &BTreeMap<String, NodeView>) {
    let bad: Vec<String> = expected
        .iter()
        .filter(|(p, e)| actual.get(*p) != Some(e))
        .map(|(p, e)| match actual.get(p) {
            None => format!("{p}: missing"),
            Some(a) => format!("{p}: {:?} vs {:?}", e.stat, a.stat),
        })
        .chain(
            actual
                .keys()
                .filter(|p| !expected.contains_key(*p))
                .map(|p| format!("{p}: unexpected")),
        )
        .collect();
    assert!(
        bad.is_empty(),
        "{} differences:\n{}",
        bad.len(),
        bad.iter().take(30).cloned().collect::<Vec<_>>().join("\n")
    );
    assert_eq!(expected.len(), actual.len(), "node count");
    for (p, e) in expected {
        let a = actual
            .get(p)
            .unwrap_or_else(|| panic!("{p} missing after migration"));
        assert_eq!(e, a, "{p}");
    }
}

fn wait_snapshots_complete(dirs: &DataDirs) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while list(&dirs.snap_dir, SNAPSHOT_PREFIX)
        .unwrap()
        .iter()
        .any(|(_, p)| read_snapshot(p).is_err())
    {
        assert!(Instant::now() < deadline, "snapshots never completed");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn counts(dirs: &DataDirs) -> (usize, usize) {
    (
        list(&dirs.log_dir, LOG_PREFIX).unwrap().len(),
        list(&dirs.snap_dir, SNAPSHOT_PREFIX).unwrap().len(),
    )
}

#[test]
fn zk_server_serves_what_apache_zookeeper_wrote() {
    let data = tempfile::tempdir().unwrap();
    let Some(mut zk) = tests::require_peer(
        ApacheZk::start_in(Some(data.path()), &["snapCount=500"]),
        "Apache ZooKeeper 3.8",
    ) else {
        return;
    };
    load(zk.addr());
    let mut reader = RawClient::connect(zk.addr(), 30_000);
    let served = walk(&mut reader);
    assert!(served.len() > 2500, "{} nodes", served.len());
    let dirs = DataDirs::new(data.path(), None);
    wait_snapshots_complete(&dirs);
    zk.stop();
    let (logs, snaps) = counts(&dirs);
    assert!(logs >= 3 && snaps >= 2, "{logs} logs, {snaps} snapshots");

    let srv = InProcessServer::start(ServerConfig::for_tests(data.path())).unwrap();
    let mut r = RawClient::connect(srv.addr(), 30_000);
    assert_same(&served, &walk(&mut r));
    drop(srv);

    // Every one of Apache ZooKeeper's snapshots was written while the load ran (fuzzy):
    // recovering from each of them plus the logs after it reaches the same tree.
    // (The second newest and the middle one, to bound the test's time.)
    let total = list(&dirs.snap_dir, SNAPSHOT_PREFIX).unwrap().len();
    let mut checked = 1;
    for keep in [total - 1, total / 2] {
        let snaps = list(&dirs.snap_dir, SNAPSHOT_PREFIX).unwrap();
        for (_, newer) in &snaps[keep..] {
            std::fs::remove_file(newer).unwrap();
        }
        let srv = InProcessServer::start(ServerConfig::for_tests(data.path())).unwrap();
        let mut r = RawClient::connect(srv.addr(), 30_000);
        assert_same(&served, &walk(&mut r));
        checked += 1;
    }
    assert_eq!(checked, 3, "recovered from {checked} snapshots");
}

#[test]
fn apache_zookeeper_serves_what_zk_server_wrote() {
    let data = tempfile::tempdir().unwrap();
    let mut cfg = ServerConfig::for_tests(data.path());
    cfg.snap_count = 500;
    let srv = InProcessServer::start(cfg).unwrap();
    load(srv.addr());
    let mut reader = RawClient::connect(srv.addr(), 30_000);
    let served = walk(&mut reader);
    assert!(served.len() > 2500, "{} nodes", served.len());
    drop(srv); // a clean shutdown waits for a snapshot being written
    let dirs = DataDirs::new(data.path(), None);
    let (logs, snaps) = counts(&dirs);
    assert!(logs >= 3 && snaps >= 2, "{logs} logs, {snaps} snapshots");

    let Some(zk) = tests::require_peer(
        ApacheZk::start_in(Some(data.path()), &[]),
        "Apache ZooKeeper 3.8",
    ) else {
        return;
    };
    let mut r = RawClient::connect(zk.addr(), 30_000);
    assert_same(&served, &walk(&mut r));
    let mntr = four_letter_word(zk.addr(), "mntr").unwrap();
    assert!(mntr.contains("zk_digest_mismatches_count\t0\n"), "{mntr}");
}
