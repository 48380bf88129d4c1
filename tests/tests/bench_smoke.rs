//! zk-bench smoke test: a ~2 s run of every operation kind against an in-process zk-server
//! completes requests and reports no errors. A check that the generator works, not a timed
//! assertion on speed.

use std::time::Duration;

use zk_server::bench::{run, BenchConfig, OpKind};
use zk_server::{Server, ServerConfig};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zk_bench_runs_against_zk_server() {
    let dir = std::env::temp_dir().join(format!("zk-bench-smoke-{}", std::process::id()));
    let server = Server::start(ServerConfig::for_tests(&dir)).await.unwrap();
    let cfg = BenchConfig {
        servers: server.addr().to_string(),
        sessions: 2,
        inflight: 8,
        mix: "get=40,exists=10,set=20,create=10,delete=10,multi=10"
            .parse()
            .unwrap(),
        keys: 100,
        duration: Duration::from_secs(2),
        warmup: Duration::from_millis(200),
        session_timeout: Duration::from_secs(4),
        ..BenchConfig::default()
    };
    // Bounded: a hung run fails the test instead of hanging CI.
    let report = tokio::time::timeout(Duration::from_secs(60), run(&cfg))
        .await
        .expect("zk-bench finished")
        .expect("zk-bench ran");
    assert!(report.ops > 0, "{}", report.to_text());
    assert_eq!(report.errors, 0, "{}", report.to_text());
    for kind in [OpKind::Get, OpKind::Set, OpKind::Create, OpKind::Multi] {
        let ops = report
            .per_op
            .iter()
            .find(|o| o.kind == kind)
            .map_or(0, |o| o.ops);
        assert!(
            ops > 0,
            "no {} completed: {}",
            kind.name(),
            report.to_text()
        );
    }
    assert!(report.p50_us <= report.p99_us && report.p99_us <= report.max_us);

    // Load mode: exactly `count` creates.
    let load = BenchConfig {
        mix: "create".parse().unwrap(),
        count: Some(500),
        root: "/zk-bench-load".into(),
        ..cfg
    };
    let report = run(&load).await.unwrap();
    assert_eq!(report.ops, 500, "{}", report.to_text());
    assert_eq!(report.errors, 0);
    server.shutdown().await;
    let _ = std::fs::remove_dir_all(dir);
}
