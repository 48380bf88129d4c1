//! The master-worker example runs to completion with its failures injected, and every task
//! completes exactly once: one status node per task, completions == tasks. On its default
//! embedded 3-member ensemble the zk-server member under the client is killed too: every
//! session on it moves to another member with its id, and the member rejoins.

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
    check_member(s, cfg);
}

/// The member kill: with an embedded ensemble of 3 or more, the client's member was killed,
/// every session on it moved with its id, and it rejoined; otherwise none was killed.
fn check_member(s: &Summary, cfg: &Config) {
    let text = s.to_string();
    let embedded_members = if cfg.connect.is_some() {
        0
    } else {
        cfg.members
    };
    if embedded_members < 3 || !cfg.kill_member {
        assert!(s.member.is_none(), "{text}");
        assert!(text.contains("  member killed  none\n"), "{text}");
        assert!(s.member_failed_over());
        return;
    }
    assert!(
        text.contains(&format!(
            "  ensemble       an embedded {embedded_members}-member zk-server ensemble\n"
        )),
        "{text}"
    );
    let m = s.member.as_ref().expect("a member was killed");
    assert!(m.role == "leader" || m.role == "follower", "{m:?}");
    assert!(m.sessions >= 1, "the client's session at least: {m:?}");
    let moved = m
        .failover
        .expect("every session moved off the killed member");
    assert!(m.sessions_kept, "sessions kept their ids: {m:?}");
    // Well inside the session timeout: no session on it expired.
    assert!(moved < cfg.session_timeout, "{moved:?}");
    assert!(m.rejoined.is_some(), "the member served again: {m:?}");
    assert!(
        m.role_after == "follower" || m.role_after == "leader",
        "{m:?}"
    );
    assert!(s.member_failed_over());
    assert!(
        text.contains(&format!("  member killed  zk-server member {} (", m.id)),
        "{text}"
    );
    assert!(
        text.contains("  sessions moved all to other members in "),
        "{text}"
    );
    assert!(
        text.contains("  member rejoin  restarted, synced and serving as "),
        "{text}"
    );
    assert!(
        s.events
            .iter()
            .any(|e| e.starts_with(&format!("killed zk-server member {}", m.id))),
        "{:?}",
        s.events
    );
}

/// The default: on an embedded 3-member ensemble, the master and the worker crash (their
/// connections go silent, so the ensemble expires their sessions) and the client's member is
/// killed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_ensemble_master_worker_and_member_crash() {
    let cfg = config(40, 3, 3, 1);
    assert_eq!(cfg.members, 3, "the default is a 3-member ensemble");
    assert!(cfg.kill_member);
    let summary = run(&cfg).await.expect("the run completes");
    check(&summary, &cfg);
}

/// One standalone embedded zk-server (`--members 1`): no member to kill.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_server_master_and_worker_crash() {
    let cfg = Config {
        members: 1,
        ..config(40, 3, 3, 1)
    };
    let summary = run(&cfg).await.expect("the run completes");
    check(&summary, &cfg);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_ensemble_two_workers_killed_two_masters_clean_exit() {
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
