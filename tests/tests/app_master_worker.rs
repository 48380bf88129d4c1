//! The master-worker example runs to completion with its failures injected, and every task
//! completes exactly once: one status node per task, completions == tasks.

use std::time::Duration;

use examples::master_worker::{run, Config, KillMode, Summary};
use tests::ApacheZk;

fn config(tasks: usize, workers: usize, masters: usize, kill_workers: usize) -> Config {
    Config {
        tasks,
        workers,
        masters,
        kill_workers,
        kill_master: true,
        kill_after: 0.3,
        job: Duration::from_millis(20),
        progress: false,
        deadline: Duration::from_secs(60),
        ..Config::default()
    }
}

fn check(s: &Summary, cfg: &Config) {
    let text = s.to_string();
    println!("{text}");
    assert!(
        text.contains(&format!("  tasks          {}\n", cfg.tasks)),
        "{text}"
    );
    assert!(
        text.contains(&format!("  completions    {} (", cfg.tasks)),
        "{text}"
    );
    assert!(text.ends_with("  exactly once   yes"), "{text}");
    assert_eq!(s.tasks, cfg.tasks);
    assert_eq!(s.completions, cfg.tasks, "completions == tasks");
    assert_eq!(
        s.statuses, cfg.tasks,
        "one status node per task, each written once"
    );
    assert!(s.reported <= s.completions);
    assert!(s.exactly_once());
    assert_eq!(s.masters_killed, 1);
    assert_eq!(s.workers_killed, cfg.kill_workers);
    assert_eq!(s.failovers, 1, "a backup master took over once: {s}");
    let failover = s.failover_time.expect("failover time measured");
    if cfg.kill_mode == KillMode::Crash {
        // Only the session's expiry can hand the leadership on.
        assert!(failover >= cfg.session_timeout / 2, "{failover:?}");
    }
    assert!(s.reassignments >= 1, "the dead worker's tasks moved: {s}");
    assert!(s.executions >= s.reported);
    assert!(
        s.events
            .iter()
            .any(|e| e.starts_with("killed the active master")),
        "{:?}",
        s.events
    );
    assert!(
        s.events.iter().any(|e| e.contains("back to /tasks")),
        "{:?}",
        s.events
    );
}

/// The default: the master and the worker crash (their connections go silent), and the server
/// expires their sessions.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_server_master_and_worker_crash() {
    let cfg = config(40, 3, 3, 1);
    let summary = run(&cfg).await.expect("the run completes");
    check(&summary, &cfg);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_server_two_workers_killed_two_masters_clean_exit() {
    let cfg = Config {
        kill_mode: KillMode::Close,
        ..config(30, 4, 2, 2)
    };
    let summary = run(&cfg).await.expect("the run completes");
    check(&summary, &cfg);
}

/// `--connect`: the same system against Apache ZooKeeper 3.8, under a root of its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apache_zookeeper_via_connect() {
    let Some(zk) = tests::require_peer(ApacheZk::start(&[]), "Apache ZooKeeper 3.8") else {
        return;
    };
    let cfg = Config {
        connect: Some(zk.connect_string()),
        root: "/app".into(),
        session_timeout: Duration::from_secs(4),
        ..config(40, 3, 3, 1)
    };
    let summary = run(&cfg).await.expect("the run completes");
    check(&summary, &cfg);
}
