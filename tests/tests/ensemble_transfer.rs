//! Leadership transfer (`ydld`, zk-server's four-letter word) on a 3-member ensemble of
//! zk-server processes under the register workload: the leader is asked, four times, to hand
//! its leadership to a named follower or to the most up-to-date one. Each time the new leader
//! must be the one named (or a follower of the old leader), writes must come back, and the
//! longest gap between two acknowledged writes around the handover is printed (the issue's
//! target is 200 ms on loopback; the assertion is looser, a debug build on a shared machine).
//! At the end: no session expired, the members converge, and the committed history merged
//! from their logs passes the history check.

use std::time::{Duration, Instant};

use tests::history_support::{BackgroundLoad, RegisterWorkload};
use tests::process_ensemble::{four_letter, srvr_mode, zk_server_binary, Flavor, ProcessEnsemble};
use zk_history::{check, History, Options, Outcome};

const READY: Duration = Duration::from_secs(30);
/// A handover must be done by then (writes back under the new leader).
const HANDOVER: Duration = Duration::from_secs(10);
/// The longest write gap accepted (the target, 200 ms, is reported, not asserted);
/// `ZK_TRANSFER_GAP_MS` sets another.
fn gap_limit() -> Duration {
    std::env::var("ZK_TRANSFER_GAP_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .map_or(Duration::from_secs(2), Duration::from_millis)
}

/// Completion times (ns on the load's clock) of acknowledged writes, sorted.
fn write_completions(h: &History) -> Vec<u64> {
    let mut t: Vec<u64> = h
        .ops()
        .iter()
        .filter(|o| o.operation.is_write() && matches!(o.outcome, Outcome::Ok { .. }))
        .filter_map(|o| o.completed)
        .collect();
    t.sort_unstable();
    t
}

/// The longest time without an acknowledged write in `[from, to]`.
fn longest_gap(h: &History, from: u64, to: u64) -> Duration {
    let t = write_completions(h);
    let mut last = from;
    let mut gap = 0;
    for c in t.into_iter().filter(|c| *c >= from && *c <= to) {
        gap = gap.max(c - last);
        last = c;
    }
    Duration::from_nanos(gap.max(to.saturating_sub(last)))
}

#[test]
fn leadership_moves_to_the_named_or_most_up_to_date_follower_in_a_blink() {
    let flavor = Flavor::ZkServer(zk_server_binary());
    let mut ens = ProcessEnsemble::start(flavor, 3, 0, &["snapCount=10000000"]).expect("serve");
    let rt = tests::two_worker_runtime();
    let mut w = RegisterWorkload::new(ens.connect_string());
    w.keys = 4;
    w.clients = 6;
    w.session_timeout = Duration::from_secs(10);
    let load = BackgroundLoad::start(&rt, w);
    load.more_writes(200, READY);

    let mut gaps = Vec::new();
    for k in 0..4 {
        let leader = ens.wait_ready(READY).unwrap();
        let followers: Vec<i64> = ens.ids().into_iter().filter(|i| *i != leader).collect();
        let named = (k % 2 == 0).then(|| followers[k / 2 % followers.len()]);
        let word = match named {
            Some(t) => format!("ydld {t}\n"),
            None => "ydld\n".to_string(),
        };
        let at = load.now();
        let answer = four_letter(ens.client_addr(leader), &word).expect("the leader answers");
        assert!(
            answer.starts_with("Handing leadership over to server"),
            "{answer}"
        );
        let deadline = Instant::now() + HANDOVER;
        let new_leader = loop {
            if let Ok(l) = ens.wait_ready(Duration::from_millis(100)) {
                if l != leader {
                    break l;
                }
            }
            assert!(
                Instant::now() < deadline,
                "no new leader: {:?}",
                ens.modes()
            );
        };
        if let Some(t) = named {
            assert_eq!(new_leader, t, "{answer}");
        } else {
            assert!(followers.contains(&new_leader));
        }
        load.more_writes(100, HANDOVER);
        let gap = longest_gap(&load.recorder.history(), at, load.now());
        eprintln!("{word:?} from {leader}: {new_leader} leads; writes stopped for {gap:?}");
        gaps.push(gap);
        ens.wait_all_serving(READY).unwrap();
    }
    // A follower is not the leader and says so; a bad argument is refused.
    let leader = ens.wait_ready(READY).unwrap();
    let follower = ens.ids().into_iter().find(|i| *i != leader).unwrap();
    let answer = four_letter(ens.client_addr(follower), "ydld\n").unwrap();
    assert_eq!(
        answer,
        format!("This server is not the leader: server {leader} is\n")
    );
    let answer = four_letter(ens.client_addr(leader), "ydld x\n").unwrap();
    assert!(answer.starts_with("Usage: ydld"), "{answer}");
    let answer = four_letter(ens.client_addr(leader), "ydld 9\n").unwrap();
    assert!(
        answer.contains("server 9 is not a voting follower"),
        "{answer}"
    );

    let (stats, history) = load.finish(&rt);
    ens.wait_all_serving(READY).unwrap();
    let modes: Vec<_> = ens
        .ids()
        .iter()
        .map(|id| ens.srvr(*id).and_then(|s| srvr_mode(&s).map(str::to_owned)))
        .collect();
    let committed = ens.converge_and_stop(READY);
    let report = check(&history, &committed, &Options::default()).unwrap_or_else(|v| panic!("{v}"));
    eprintln!("{stats:?}\n{report}\nmodes at the end: {modes:?}\nwrite gaps: {gaps:?}");
    assert_eq!(stats.expired, 0, "no session expired: {stats:?}");
    let limit = gap_limit();
    for g in &gaps {
        assert!(*g < limit, "writes stopped for {g:?}: {gaps:?}");
    }
}
