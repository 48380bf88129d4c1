//! The register workload on a 3-member embedded ensemble (`zk_server::embedded::Ensemble`)
//! while its leader is killed and restarted twice: writes resume under a new leader, no
//! session expires, every member converges to the same zxid and the same tree, and the
//! committed history merged from the members' logs passes the history check. This also
//! tests the embedded API itself (ready, leader, kill, restart, statuses, shutdown).

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tests::ensemble_history::{
    acknowledged_writes, first_new_epoch_write, merge_committed, read_tree,
};
use tests::history_support::{run_register, RegisterWorkload};
use zk_core::Zxid;
use zk_history::{check, Options, Recorder};
use zk_server::embedded::Ensemble;
use zk_server::quorum::ServerState;

/// How long the ensemble may take to elect and sync.
const READY: Duration = Duration::from_secs(30);
/// How long writes may stay unavailable after a fault (liveness, not performance).
const RESUME: Duration = Duration::from_secs(20);

/// Polls `f` every 10 ms until it holds, for at most `limit`.
async fn until(limit: Duration, what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !f() {
        assert!(Instant::now() < deadline, "{what}: not within {limit:?}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leader_kills_under_the_register_workload_lose_nothing() {
    tests::init_tracing();
    let started = Instant::now();
    let mut ensemble = Ensemble::builder()
        .voters(3)
        // Snapshots only from SNAP syncs: the logs hold the whole history.
        .config("snapCount", "10000000")
        .start()
        .await
        .expect("start the ensemble");
    let first = ensemble.ready(READY).await.expect("a leader");
    assert_eq!(ensemble.leader(), Some(first));
    assert_eq!(ensemble.role(first), Some(ServerState::Leading));
    for id in ensemble.ids().into_iter().filter(|id| *id != first) {
        ensemble.wait_serving(id, READY).await.unwrap();
        assert_eq!(ensemble.role(id), Some(ServerState::Following));
    }

    let t0 = Instant::now();
    let recorder = Recorder::new(move || t0.elapsed().as_nanos() as u64);
    let mut workload = RegisterWorkload::new(ensemble.connect_string());
    workload.keys = 4;
    workload.clients = 6;
    workload.duration = Duration::from_secs(120);
    workload.max_ops = usize::MAX;
    workload.session_timeout = Duration::from_secs(30);
    let stop = Arc::clone(&workload.stop);
    let load = {
        let (w, r) = (workload.clone(), recorder.clone());
        tokio::spawn(async move { run_register(&w, &r).await })
    };
    let writes = |n: usize| {
        let r = recorder.clone();
        move || acknowledged_writes(&r.history()) >= n
    };
    until(RESUME, "writes under the first leader", writes(200)).await;

    let mut failovers = Vec::new();
    for round in 0..2 {
        let leader = ensemble.ready(READY).await.expect("a leader");
        let epoch = ensemble.status(leader).unwrap().last_zxid.epoch();
        let killed_at = t0.elapsed().as_nanos() as u64;
        ensemble.kill(leader).await.unwrap();
        assert!(!ensemble.is_running(leader));
        let r = recorder.clone();
        until(
            RESUME,
            &format!("round {round}: a write after the kill"),
            || first_new_epoch_write(&r.history(), killed_at, epoch).is_some(),
        )
        .await;
        let resumed = first_new_epoch_write(&recorder.history(), killed_at, epoch).unwrap();
        failovers.push(Duration::from_nanos(resumed - killed_at));
        let next = ensemble.ready(READY).await.expect("a new leader");
        assert_ne!(next, leader, "round {round}");
        ensemble
            .restart(leader)
            .await
            .expect("restart the old leader");
        ensemble
            .ready_all(READY)
            .await
            .expect("the old leader rejoins");
        assert_eq!(ensemble.role(leader), Some(ServerState::Following));
        let n = acknowledged_writes(&recorder.history());
        until(RESUME, "writes with the old leader back", writes(n + 100)).await;
    }
    stop.store(true, Ordering::Relaxed);
    let stats = load.await.unwrap().expect("the workload ran");

    // Every member converges to one zxid, then to one tree.
    ensemble.ready_all(READY).await.unwrap();
    let ids = ensemble.ids();
    let zxids = || -> Vec<Zxid> {
        ids.iter()
            .map(|id| ensemble.status(*id).unwrap().last_zxid)
            .collect()
    };
    let converged = || zxids().windows(2).all(|w| w[0] == w[1]);
    until(READY, "the members converge", converged).await;
    let mut trees = Vec::new();
    for id in &ids {
        let client = zk_client::Client::connect(&ensemble.client_addr(*id).to_string())
            .await
            .unwrap();
        trees.push((*id, read_tree(&client).await.unwrap()));
        client.close().await.unwrap();
    }
    for (id, tree) in &trees[1..] {
        assert_eq!(tree, &trees[0].1, "member {id} and member {}", trees[0].0);
    }
    assert!(trees[0].1.len() >= 4 + 1 + 2, "the keys are there");
    // The readers' sessions were logged too.
    until(READY, "the members converge again", converged).await;
    let last = zxids()[0];

    let dirs: Vec<_> = ids
        .iter()
        .map(|id| (*id, ensemble.data_dir(*id).to_path_buf()))
        .collect();
    ensemble.stop_all().await;
    let (committed, merge) = merge_committed(&dirs, last).expect("merge the logs");
    drop(ensemble);
    let history = recorder.history();
    let report = check(&history, &committed, &Options::default()).unwrap_or_else(|v| panic!("{v}"));
    eprintln!(
        "{stats:?}\n{merge:?}\n{report}\nwrite unavailability after each leader kill: \
         {failovers:?}\ntook {:?}",
        started.elapsed()
    );
    assert!(committed.starts_empty(), "{merge:?}");
    assert_eq!(stats.expired, 0, "no session expired: {stats:?}");
    assert!(report.writes_checked > 300, "{report}");
    assert!(report.reads_checked > 300, "{report}");
    assert!(merge.overlapping > 0, "{merge:?}");
}

/// A client reports the member it is connected to; when that member is killed it moves to
/// another with the same session, and reports the new member.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_names_its_member_and_moves_its_session_when_the_member_dies() {
    tests::init_tracing();
    let mut ensemble = Ensemble::builder().voters(3).start().await.unwrap();
    ensemble.ready_all(READY).await.unwrap();
    let client = zk_client::Client::builder()
        .session_timeout(Duration::from_secs(10))
        .connect(&ensemble.connect_string())
        .await
        .unwrap();
    client
        .create("/moved", b"x", zk_client::CreateMode::Ephemeral)
        .await
        .unwrap();
    let first = client.connected_server().expect("connected");
    let member = ensemble
        .ids()
        .into_iter()
        .find(|id| ensemble.client_addr(*id) == first)
        .unwrap_or_else(|| panic!("{first} is no member's client address"));
    let session = client.session_id();

    ensemble.kill(member).await.unwrap();
    let mut now = None;
    until(RESUME, "the client reconnects to another member", || {
        now = client.connected_server();
        now.is_some_and(|a| a != first)
    })
    .await;
    let now = now.unwrap();
    assert!(
        ensemble
            .ids()
            .iter()
            .any(|id| ensemble.client_addr(*id) == now),
        "{now} is no member's client address"
    );
    assert_eq!(
        client.session_id(),
        session,
        "the session moved, not replaced"
    );
    // Its ephemeral is still there, read through the new member.
    let (data, stat) = client.get_data("/moved").await.unwrap();
    assert_eq!(data.as_ref(), b"x");
    assert_eq!(stat.ephemeral_owner, session);
    client.close().await.unwrap();
    ensemble.shutdown().await;
}
