//! Linearizable reads (`linearizableReads=true`), Jepsen-style: a 3-member ensemble of
//! zk-server processes under the register workload (gets, sets and compare-and-sets from
//! sessions spread over every member, every operation recorded), while members are SIGSTOPped
//! for longer than syncLimit and SIGCONTed, the leader every third time and a random member
//! otherwise. The committed history merged from the members' logs is then checked:
//!
//! * setting on: the history checker in linearizable-reads mode (a read invoked after any
//!   operation completed reflects at least that operation's state) finds nothing;
//! * setting off: the ordinary check passes (reads are sequentially consistent, as Apache
//!   ZooKeeper's), and the linearizable-reads check counts the stale reads it finds, which
//!   ZooKeeper's reads allow (printed: how many depends on the schedule's timing).
//!
//! `ZK_LINEARIZABLE_SEED=<n>` picks the schedule (the seed is printed);
//! `ZK_LINEARIZABLE_LONG=1` pauses 30 times instead of 6.

use std::time::{Duration, Instant};

use tests::history_support::{BackgroundLoad, RegisterWorkload, Rng};
use tests::process_ensemble::{zk_server_binary, Flavor, ProcessEnsemble};
use zk_history::{check, History, Options, Report, Violation};

/// How long writes may stay unavailable after a pause.
const RESUME: Duration = Duration::from_secs(20);
/// How long the ensemble may take to serve again with every member.
const READY: Duration = Duration::from_secs(30);
/// Longer than syncLimit (5 ticks of 200 ms): a paused leader is replaced, a paused follower
/// dropped.
const PAUSE: Duration = Duration::from_millis(1_500);

/// What one run found.
struct Outcome {
    report: Report,
    /// Reads that broke real-time order (the linearizable-reads check).
    stale: usize,
    history: History,
    pauses: Vec<(i64, bool)>,
}

fn stale_reads(history: &History, committed: &zk_history::CommittedHistory) -> usize {
    let strict = Options::default().with_linearizable_reads(true);
    match check(history, committed, &strict) {
        Ok(_) => 0,
        Err(v) => v
            .violations
            .iter()
            .filter(|v| matches!(v, Violation::RealTimeOrder { later, .. } if !later.op.operation.is_write()))
            .count(),
    }
}

fn run(linearizable: bool, seed: u64, pauses: usize) -> Outcome {
    let flavor = Flavor::ZkServer(zk_server_binary());
    let mut extra = vec!["snapCount=10000000"];
    if linearizable {
        extra.push("linearizableReads=true");
    }
    let mut ensemble = ProcessEnsemble::start(flavor, 3, 0, &extra).expect("serve");
    let rt = tests::two_worker_runtime();
    let mut w = RegisterWorkload::new(ensemble.connect_string());
    w.keys = 4;
    w.clients = 6;
    // A client of a stopped member waits 2/3 of this before it moves on.
    w.session_timeout = Duration::from_secs(6);
    w.seed = seed;
    let load = BackgroundLoad::start(&rt, w);
    load.more_writes(100, RESUME);
    let mut rng = Rng(seed);
    let mut done = Vec::new();
    for k in 0..pauses {
        let leader = ensemble.wait_ready(READY).unwrap();
        let ids = ensemble.ids();
        let victim = if k % 3 == 0 {
            leader
        } else {
            ids[rng.below(ids.len())]
        };
        ensemble.pause(victim);
        std::thread::sleep(PAUSE);
        ensemble.resume(victim);
        done.push((victim, victim == leader));
        ensemble.wait_all_serving(READY).unwrap();
        load.more_writes(50, RESUME);
    }
    let (stats, history) = load.finish(&rt);
    ensemble.wait_all_serving(READY).unwrap();
    let committed = ensemble.converge_and_stop(READY);
    assert_eq!(stats.expired, 0, "no session expired: {stats:?}");
    let opts = Options::default().with_linearizable_reads(linearizable);
    let report = check(&history, &committed, &opts).unwrap_or_else(|v| {
        panic!("linearizableReads={linearizable}, seed {seed}, pauses {done:?}: {v}")
    });
    let stale = stale_reads(&history, &committed);
    Outcome {
        report,
        stale,
        history,
        pauses: done,
    }
}

#[test]
fn sigstopped_members_leave_no_stale_read_with_linearizable_reads() {
    let seed: u64 = std::env::var("ZK_LINEARIZABLE_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3);
    let pauses = if std::env::var_os("ZK_LINEARIZABLE_LONG").is_some() {
        30
    } else {
        6
    };
    eprintln!("ZK_LINEARIZABLE_SEED={seed}, {pauses} pauses");
    let started = Instant::now();
    let on = run(true, seed, pauses);
    eprintln!(
        "linearizableReads=true: {} (pauses, member and whether it led: {:?}); stale reads: {}; \
         took {:?}",
        on.report,
        on.pauses,
        on.stale,
        started.elapsed()
    );
    assert_eq!(on.stale, 0);
    assert!(on.pauses.iter().any(|(_, led)| *led), "a leader was paused");
    assert!(on.report.reads_checked > 300, "{}", on.report);
    assert!(on.report.writes_checked > 300, "{}", on.report);

    let started = Instant::now();
    let off = run(false, seed, pauses);
    let reads = off
        .history
        .ops()
        .iter()
        .filter(|o| !o.operation.is_write())
        .count();
    eprintln!(
        "linearizableReads=false: {} (pauses: {:?}); stale reads (allowed): {} of {reads}; \
         took {:?}",
        off.report,
        off.pauses,
        off.stale,
        started.elapsed()
    );
    assert!(off.report.reads_checked > 300, "{}", off.report);
}
