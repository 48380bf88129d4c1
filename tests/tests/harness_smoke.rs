//! The harness itself: Apache ZooKeeper starts on its port and answers four-letter words, and
//! the external-peer policy fails under CI and skips loudly outside.

use tests::{four_letter_word, ApacheZk};

#[test]
fn apache_zookeeper_starts_and_answers_srvr() {
    let Some(zk) = tests::require_peer(ApacheZk::start(&[]), "Apache ZooKeeper 3.8") else {
        return;
    };
    let srvr = four_letter_word(zk.addr(), "srvr").unwrap();
    assert!(srvr.starts_with("Zookeeper version: 3.8"), "{srvr}");
    assert!(srvr.contains("Mode: standalone"), "{srvr}");
}

/// Set in the child run of [`a_missing_peer_fails_under_ci_and_skips_loudly_outside`].
const POLICY_CHILD: &str = "ZK_TESTS_PEER_POLICY_CHILD";

/// The policy of [`tests::require_peer`], end to end: this test runs itself again as a child
/// that needs a peer program that does not exist. Under CI (`CI=1`, `CI=true`) the child fails
/// with the reason; outside CI (unset, `0`) it passes, having printed the skip banner.
#[test]
fn a_missing_peer_fails_under_ci_and_skips_loudly_outside() {
    const NAME: &str = "a_missing_peer_fails_under_ci_and_skips_loudly_outside";
    if std::env::var_os(POLICY_CHILD).is_some() {
        let peer = tests::peer::command_runs("/nonexistent/zk-peer", &["--version"]);
        assert!(tests::require_peer(peer, "a peer that does not exist").is_none());
        return;
    }
    let exe = std::env::current_exe().expect("current_exe");
    for (ci, fails) in [
        (Some("1"), true),
        (Some("true"), true),
        (None, false),
        (Some("0"), false),
    ] {
        let mut child = std::process::Command::new(&exe);
        child
            .args(["--exact", NAME, "--nocapture", "--test-threads", "1"])
            .env(POLICY_CHILD, "1");
        match ci {
            Some(v) => child.env(tests::peer::CI_VAR, v),
            None => child.env_remove(tests::peer::CI_VAR),
        };
        let out = child.output().expect("run the child");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(!out.status.success(), fails, "CI={ci:?}:\n{stderr}");
        assert!(
            stderr.contains("a peer that does not exist")
                && stderr.contains("/nonexistent/zk-peer"),
            "CI={ci:?}: the reason is given:\n{stderr}"
        );
        if !fails {
            assert!(stderr.contains("SKIPPED"), "a loud skip:\n{stderr}");
        }
    }
}

/// The "nothing left behind" helper asserts on the real result: a missing parent (a reaped
/// container) is an empty list, but a read that fails panics instead of passing for one.
#[tokio::test]
async fn children_left_tells_a_missing_node_from_a_failed_read() {
    use tests::recipes_support::children_left;
    let dir = tests::fresh_data_dir("children-left");
    let server = zk_server::Server::start(zk_server::ServerConfig::for_tests(&dir))
        .await
        .unwrap();
    let client = zk_client::Client::connect(&server.addr().to_string())
        .await
        .unwrap();
    assert!(children_left(&client, "/missing").await.is_empty());
    client
        .create("/left", b"", zk_client::CreateMode::Persistent)
        .await
        .unwrap();
    client
        .create("/left/x", b"", zk_client::CreateMode::Persistent)
        .await
        .unwrap();
    assert_eq!(children_left(&client, "/left").await, ["x"]);
    client.close().await.unwrap();
    let failed = tokio::spawn(async move { children_left(&client, "/left").await }).await;
    let panic = failed.expect_err("a failed read panics");
    assert!(panic.is_panic());
    server.shutdown().await;
    let _ = std::fs::remove_dir_all(dir);
}
