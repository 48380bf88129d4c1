//! kazoo's own test suite against a standalone zk-server.
//!
//! Debian's python3-kazoo 2.8 ships kazoo's tests (`kazoo/tests`) and their harness
//! (`kazoo/testing`), which starts "Apache ZooKeeper" by running
//! `java ... org.apache.zookeeper.server.quorum.QuorumPeerMain zoo.cfg` and stops it with
//! SIGTERM (restarting it in some tests). This test puts a `java` shim first in `PATH` that runs
//! the zk-server binary on that zoo.cfg instead (`tests::kazoo_support`), runs the suite with
//! pytest (Debian's python3-pytest; scripts/deps installs it and the suite's other needs) with a
//! standalone "cluster" (ZOOKEEPER_CLUSTER_SIZE=1), and asserts that every test passes except
//! the explicitly excluded ones below. `server_kazoo_cluster.rs` runs the same suite against a
//! 3-member ensemble, where the tests excluded here for needing one run.
//!
//! Apache ZooKeeper 3.8.0 baseline, same harness and cluster size, whole suite (this machine,
//! 2 shared cores): 469 passed, 7 failed, 3 skipped in 105 s. The 7 failures are the exclusions
//! marked "fails on Apache ZooKeeper 3.8 too"; the 3 skips are allowed below.

use std::time::Duration;

use tests::kazoo_support::{self, Suite, Target, ENVIRONMENT_SKIPS, MODULES};

/// Tests not run (pytest node ids, relative to kazoo/tests), each with the reason.
const EXCLUDED: &[(&str, &str)] = &[
    // Grows the client's host list to the 3 servers of the cluster and stops the first: needs a
    // 3-node ensemble (server_kazoo_cluster.rs runs them). Fail on Apache ZooKeeper 3.8
    // standalone too.
    (
        "test_client.py::TestClient::test_update_host_list",
        "needs a 3-node ensemble; fails on Apache ZooKeeper 3.8 standalone too",
    ),
    (
        "test_eventlet_handler.py::TestEventletClient::test_update_host_list",
        "needs a 3-node ensemble; fails on Apache ZooKeeper 3.8 standalone too",
    ),
    (
        "test_gevent_handler.py::TestGeventClient::test_update_host_list",
        "needs a 3-node ensemble; fails on Apache ZooKeeper 3.8 standalone too",
    ),
    // Dynamic reconfiguration: a standalone server answers Unimplemented (Apache ZooKeeper and
    // zk-server alike; server_differential.rs checks that answer byte for byte).
    (
        "test_client.py::TestReconfig",
        "reconfig needs a quorum (a leader); fails on Apache ZooKeeper 3.8 standalone too",
    ),
    // Stops servers 2 and 3 of the cluster and expects read-only mode.
    (
        "test_connection.py::TestReadOnlyMode",
        "needs a 3-node ensemble (read-only mode); fails on Apache ZooKeeper 3.8 standalone too",
    ),
];

/// At least this many tests must pass: the Apache baseline's 469 (which includes none of the
/// excluded tests), so a module that stops being collected or starts skipping is noticed.
const MIN_PASSED: usize = 469;

/// The whole run's limit; pytest-timeout ends the run when one test takes longer than
/// `PER_TEST_TIMEOUT_S` (the slowest kazoo test takes about 10 s against zk-server here).
const RUN_LIMIT: Duration = Duration::from_secs(420);
const PER_TEST_TIMEOUT_S: u32 = 60;

#[test]
fn kazoo_test_suite_passes_against_zk_server() {
    if tests::require_peer(
        kazoo_support::suite_tools(),
        "kazoo's test suite and its tools",
    )
    .is_none()
    {
        return;
    }
    let suite = Suite {
        target: Target::ZkServer(tests::zk_server_binary()),
        cluster_size: 1,
        select: MODULES.iter().map(|m| m.to_string()).collect(),
        deselect: EXCLUDED.iter().map(|(id, _)| id.to_string()).collect(),
        run_limit: RUN_LIMIT,
        per_test_timeout_s: PER_TEST_TIMEOUT_S,
    };
    let outcome = suite.run();
    eprintln!(
        "kazoo suite against zk-server: {}, {} excluded entries",
        outcome.counts(),
        EXCLUDED.len()
    );
    outcome.assert_passed("zk-server", ENVIRONMENT_SKIPS, MIN_PASSED);
}
