//! kazoo's own test suite against a 3-member zk-server ensemble.
//!
//! kazoo's harness has a cluster mode (`ZOOKEEPER_CLUSTER_SIZE=3`): it writes one zoo.cfg per
//! member, with `server.N=localhost:<quorum>:<election>:participant` lines for all three,
//! `initLimit=4`, `syncLimit=2`, `peerType=participant` and a `myid` file, and starts the
//! members with the same `java ... QuorumPeerMain zoo.cfg` command as a standalone server. The
//! `java` shim of `tests::kazoo_support` hands each of those configs, unchanged, to the
//! zk-server binary, so the three zk-server processes elect a leader over Apache ZooKeeper
//! 3.8's own election and Zab protocols. Clients connect to any of the three (kazoo shuffles
//! the host list), so two thirds of the suite's sessions live on followers, whose writes,
//! syncs and session changes go through the leader. Some tests stop and restart members
//! mid-test: the first member for `test_update_host_list` and the request-queuing tests (the
//! client must carry on through the other two, or reconnect once the member is back),
//! members 2 and 3 for `TestReadOnlyMode`.
//!
//! The whole suite runs (under 2 minutes here, close to the standalone run's 90 s), with the
//! exclusions below; the tests `server_kazoo_suite.rs` excludes for needing a 3-node ensemble
//! must pass here ([`MUST_PASS`]).
//!
//! Apache ZooKeeper 3.8.0 baseline, the same harness with ZOOKEEPER_CLUSTER_SIZE=3, the whole
//! suite, nothing excluded (this machine, 2 shared cores): 475 passed, 1 failed, 3 skipped in
//! 125 to 139 s (two runs). The failure is `TestReadOnlyMode::test_read_only` (see
//! [`EXCLUDED`]); the skips are
//! [`ENVIRONMENT_SKIPS`]. `KAZOO_CLUSTER_AGAINST=apache cargo test -p tests --test
//! server_kazoo_cluster -- --nocapture` runs that baseline again (nothing is checked then
//! beyond the run finishing: it prints the counts and every test that did not pass).
//!
//! zk-server, same harness: 475 passed, 0 failed, 3 skipped is the expectation (debug build,
//! the one CI runs), with `TestReadOnlyMode` ([`EXCLUDED`]) deselected; it passed in 1 of 4
//! whole-suite runs and in every run of its module alone. `TestReconfig` (the reconfig op on
//! the ensemble: super-user check, bad input, an observer added and removed) passes.

use std::time::Duration;

use tests::kazoo_support::{self, Suite, Target, ENVIRONMENT_SKIPS, MODULES};

/// Tests not run against zk-server (pytest node ids, relative to kazoo/tests), each with the
/// reason.
const EXCLUDED: &[(&str, &str)] = &[
    // Passes alone and with the rest of test_connection.py (zk-server members go read-only
    // and resume the session there), but failed in 3 of 4 whole-suite runs: the test stops
    // members 2 and 3 right after the harness restarted the stopped ones, and the member
    // left can then be behind the zxid the session has seen, so it refuses the session
    // ("client zxid ahead of server"), as Apache ZooKeeper's read-only server does too. It
    // fails on Apache ZooKeeper 3.8's ensemble anyway (its read-only server refuses the
    // session's reconnection, ZOOKEEPER-3863). tests/tests/ensemble_read_only.rs covers
    // read-only mode on processes.
    (
        "test_connection.py::TestReadOnlyMode",
        "races the harness's restarts in the whole suite (the member left may be behind the \
         session and refuses it); fails on Apache ZooKeeper 3.8's ensemble too",
    ),
];

/// The tests `server_kazoo_suite.rs` excludes for needing a 3-node ensemble that pass on
/// Apache ZooKeeper 3.8's, and kazoo's reconfig tests: each must pass here.
const MUST_PASS: &[&str] = &[
    "test_client.py::TestReconfig::test_no_super_auth",
    "test_client.py::TestReconfig::test_add_remove_observer",
    "test_client.py::TestReconfig::test_bad_input",
    "test_client.py::TestClient::test_update_host_list",
    "test_eventlet_handler.py::TestEventletClient::test_update_host_list",
    "test_gevent_handler.py::TestGeventClient::test_update_host_list",
];

/// At least this many tests must pass: the Apache baseline's 475 (TestReadOnlyMode fails
/// there), so a module that stops being collected or starts skipping is noticed.
const MIN_PASSED: usize = 475;

/// The whole run's limit; pytest-timeout ends the run when one test takes longer than
/// `PER_TEST_TIMEOUT_S` (the slowest kazoo tests, which stop a member and sleep, take about
/// 10 s here).
const RUN_LIMIT: Duration = Duration::from_secs(600);
const PER_TEST_TIMEOUT_S: u32 = 60;

/// Set to `apache` to run the suite against Apache ZooKeeper 3.8's ensemble instead.
const AGAINST_ENV: &str = "KAZOO_CLUSTER_AGAINST";

#[test]
fn kazoo_test_suite_passes_against_a_zk_server_ensemble() {
    if tests::require_peer(
        kazoo_support::suite_tools(),
        "kazoo's test suite and its tools",
    )
    .is_none()
    {
        return;
    }
    let apache = std::env::var(AGAINST_ENV).is_ok_and(|v| v == "apache");
    let suite = Suite {
        target: if apache {
            Target::Apache
        } else {
            Target::ZkServer(tests::zk_server_binary())
        },
        cluster_size: 3,
        select: MODULES.iter().map(|m| m.to_string()).collect(),
        deselect: if apache {
            Vec::new()
        } else {
            EXCLUDED.iter().map(|(id, _)| id.to_string()).collect()
        },
        run_limit: RUN_LIMIT,
        per_test_timeout_s: PER_TEST_TIMEOUT_S,
    };
    let outcome = suite.run();
    if apache {
        eprintln!(
            "kazoo suite against Apache ZooKeeper 3.8's 3-member ensemble: {}",
            outcome.counts()
        );
        for (k, v) in outcome.results() {
            if k != "PASSED" {
                eprintln!("{k} {v}");
            }
        }
        assert!(
            outcome.status.is_some() && !outcome.results().is_empty(),
            "the run did not finish\n{}",
            outcome.context()
        );
        return;
    }
    eprintln!(
        "kazoo suite against a 3-member zk-server ensemble: {}, {} excluded entries",
        outcome.counts(),
        EXCLUDED.len()
    );
    outcome.assert_passed(
        "a 3-member zk-server ensemble",
        ENVIRONMENT_SKIPS,
        MIN_PASSED,
    );
    let results = outcome.results();
    for id in MUST_PASS {
        assert!(
            results
                .iter()
                .any(|(k, v)| k == "PASSED" && v.ends_with(&format!("kazoo/tests/{id}"))),
            "{id} did not pass\n{}",
            outcome.context()
        );
    }
}
