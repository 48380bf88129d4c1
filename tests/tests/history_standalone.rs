//! The register workload against an in-process zk-server, checked by zk-history against the
//! server's own transaction log: every acknowledged write is in the log at its reply zxid,
//! every read returns the state at its zxid, and the orders hold. And a history corrupted on
//! purpose fails the check, naming the operation.

use std::time::Duration;

use tests::history_support::{read_committed, run_register, RegisterWorkload, WorkloadStats};
use zk_core::ErrorCode;
use zk_history::{
    check, CommittedHistory, History, OpId, Options, Outcome, Recorder, Reply, Violation,
};
use zk_server::{Server, ServerConfig};

/// Runs the workload for `duration` on a fresh server, stops it, reads its log back.
async fn run(duration: Duration, max_ops: usize) -> (History, CommittedHistory, WorkloadStats) {
    tests::init_tracing();
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(ServerConfig::for_tests(dir.path()))
        .await
        .unwrap();
    let mut workload = RegisterWorkload::new(server.addr().to_string());
    workload.duration = duration;
    workload.max_ops = max_ops;
    workload.keys = 4;
    let recorder = Recorder::monotonic();
    let stats = run_register(&workload, &recorder).await.unwrap();
    server.shutdown().await;
    let committed = read_committed(dir.path()).unwrap();
    (recorder.history(), committed, stats)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn register_workload_on_a_standalone_server_passes_the_check() {
    let (history, committed, stats) = run(Duration::from_secs(3), 200_000).await;
    assert!(
        committed.starts_empty(),
        "the log starts at the database's creation"
    );
    let report = check(&history, &committed, &Options::default()).unwrap_or_else(|v| panic!("{v}"));
    println!("{stats:?}\n{report}");
    assert_eq!(stats.unknown, 0, "no fault was injected");
    assert!(report.reads_checked > 200, "{report}");
    assert!(report.writes_checked > 200, "{report}");
    assert_eq!(
        report.skipped_before_start + report.skipped_unknown_state,
        0
    );
    let bad_versions = history
        .ops()
        .iter()
        .filter(|op| {
            matches!(
                op.outcome,
                Outcome::Error {
                    code: ErrorCode::BadVersion,
                    ..
                }
            )
        })
        .count();
    assert!(bad_versions > 0, "compare-and-sets conflicted");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corrupted_history_fails_the_check() {
    let (mut history, committed, _) = run(Duration::from_millis(1500), 100_000).await;
    check(&history, &committed, &Options::default()).unwrap_or_else(|v| panic!("{v}"));

    // Flip one read's value.
    let read = history
        .ops()
        .iter()
        .rposition(|op| {
            matches!(
                op.outcome,
                Outcome::Ok {
                    reply: Reply::Read { .. },
                    ..
                }
            )
        })
        .expect("a read");
    if let Outcome::Ok {
        reply: Reply::Read { data, .. },
        ..
    } = &mut history.ops_mut()[read].outcome
    {
        data.push(b'!');
    }
    let failure = check(&history, &committed, &Options::default()).unwrap_err();
    println!("{failure}");
    assert!(
        matches!(&failure.violations[..], [Violation::WrongRead { op, .. }] if op.id == OpId(read)),
        "{failure}"
    );

    // Lose the last acknowledged set from the log.
    let set = history
        .ops()
        .iter()
        .rposition(|op| {
            matches!(
                op.outcome,
                Outcome::Ok {
                    reply: Reply::Set { .. },
                    ..
                }
            )
        })
        .expect("a set");
    let zxid = history.ops()[set].outcome.zxid().unwrap();
    let mut lossy = committed.clone();
    lossy.txns_mut().retain(|t| t.zxid != zxid);
    let failure = check(&history, &lossy, &Options::default()).unwrap_err();
    assert!(
        failure
            .violations
            .iter()
            .any(|v| matches!(v, Violation::LostWrite { op, .. } if op.id == OpId(set))),
        "{failure}"
    );
}
