//! Faults on a mixed ensemble of five voters (Apache ZooKeeper 3.8 members 1, 3 and 5,
//! zk-server members 2 and 4) under the register workload, on a schedule drawn from a seed:
//! SIGKILL the leader, SIGKILL a follower, SIGKILL the leader and a follower together,
//! SIGSTOP the leader past syncLimit, SIGSTOP a follower; at most two members are down at
//! once, so three of five always keep the quorum. After each fault writes must resume
//! within [`RESUME`] and the members come back; the schedule goes on until members of both
//! kinds have led at least once (killing the leader until they have).
//!
//! At the end every member converges to one zxid and the same tree, no session expired, and
//! the committed history merged from every member's log passes the history check.
//!
//! `ZK_MIXED_FAULT_SEED=<n>` picks the schedule (the seed is printed); `ZK_MIXED_FAULT_LONG=1`
//! runs 40 faults instead of 8.

mod mixed;

use std::time::{Duration, Instant};

use mixed::{voter, Ensemble, Kind, Mode};
use tests::history_support::{BackgroundLoad, RegisterWorkload, Rng};
use zk_history::{check, Options};

/// How long writes may stay unavailable after a fault.
const RESUME: Duration = Duration::from_secs(30);
/// tickTime and syncLimit of the members: a silent leader is given up after 2 s.
const TICK_MS: u32 = 500;
const SYNC_LIMIT: u32 = 4;

#[derive(Debug, Clone, Copy)]
enum Fault {
    KillLeader,
    KillFollower,
    KillLeaderAndFollower,
    PauseLeader,
    PauseFollower,
}

#[test]
fn seeded_kills_and_pauses_on_five_mixed_voters() {
    if tests::require_peer(mixed::apache_available(), "Apache ZooKeeper 3.8").is_none() {
        return;
    }
    let seed: u64 = std::env::var("ZK_MIXED_FAULT_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(7);
    let faults = if std::env::var_os("ZK_MIXED_FAULT_LONG").is_some() {
        40
    } else {
        8
    };
    eprintln!("ZK_MIXED_FAULT_SEED={seed}, {faults} faults");
    let started = Instant::now();
    let kinds = [Kind::Apache, Kind::Zk, Kind::Apache, Kind::Zk, Kind::Apache];
    let specs: Vec<_> = (1..=5).map(|s| voter(s, kinds[s as usize - 1])).collect();
    let mut ens = Ensemble::configured(
        "faults5",
        &specs,
        TICK_MS,
        SYNC_LIMIT,
        &["maxSessionTimeout=60000"],
    );
    let rt = ens.start_serving();
    let sids = ens.sids();

    let mut w = RegisterWorkload::new(ens.connect_string());
    w.keys = 4;
    w.clients = 5;
    // A client on a stopped member waits 2/3 of this before it moves on; far above a
    // failover.
    w.session_timeout = Duration::from_secs(15);
    let load = BackgroundLoad::start(&rt, w);
    let more_writes = |n: usize| load.more_writes(n, RESUME);
    more_writes(100);

    let mut rng = Rng(seed);
    let mut led: Vec<(i64, Kind)> = Vec::new();
    let mut done: Vec<(Fault, i64, Duration)> = Vec::new();
    let mut n = 0;
    loop {
        let leader = rt.block_on(ens.wait_serving(&sids));
        led.push((leader, ens.kind(leader)));
        let both =
            led.iter().any(|(_, k)| *k == Kind::Apache) && led.iter().any(|(_, k)| *k == Kind::Zk);
        if n >= faults && both {
            break;
        }
        assert!(n < faults + 10, "members of both kinds never led: {led:?}");
        let fault = if n >= faults {
            Fault::KillLeader
        } else {
            [
                Fault::KillLeader,
                Fault::KillFollower,
                Fault::KillLeaderAndFollower,
                Fault::PauseLeader,
                Fault::PauseFollower,
            ][rng.below(5)]
        };
        let followers: Vec<i64> = sids.iter().copied().filter(|s| *s != leader).collect();
        let follower = followers[rng.below(followers.len())];
        let at = Instant::now();
        let before = load.acknowledged_writes();
        let victims: Vec<i64> = match fault {
            Fault::KillLeader | Fault::PauseLeader => vec![leader],
            Fault::KillFollower | Fault::PauseFollower => vec![follower],
            Fault::KillLeaderAndFollower => vec![leader, follower],
        };
        let pause = matches!(fault, Fault::PauseLeader | Fault::PauseFollower);
        for v in &victims {
            if pause {
                ens.signal(*v, true);
            } else {
                ens.kill(*v);
            }
        }
        // Writes go on (under a new leader when the leader went), with members down.
        let up: Vec<i64> = sids
            .iter()
            .copied()
            .filter(|s| !victims.contains(s))
            .collect();
        let deadline = Instant::now() + RESUME;
        loop {
            let serving = up.iter().filter(|s| ens.mode(**s).is_some()).count();
            let leads = up.iter().any(|s| ens.mode(*s) == Some(Mode::Leader));
            if leads && serving >= 3 && load.acknowledged_writes() >= before + 50 {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "{fault:?} of {victims:?}: no writes within {RESUME:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        let resumed = at.elapsed();
        if pause {
            // Past syncLimit: the leader must have been given up.
            let past = Duration::from_millis(u64::from(2 * TICK_MS * SYNC_LIMIT));
            while at.elapsed() < past {
                std::thread::sleep(Duration::from_millis(50));
            }
            for v in &victims {
                ens.signal(*v, false);
            }
        } else {
            for v in &victims {
                ens.start(*v);
            }
        }
        rt.block_on(ens.wait_serving(&sids));
        more_writes(50);
        eprintln!("{fault:?} of {victims:?} (leader {leader}): 50 writes after {resumed:?}");
        done.push((fault, leader, resumed));
        n += 1;
    }

    let (stats, history) = load.finish(&rt);
    let (committed, merge) = ens.finish(&rt);
    let report = check(&history, &committed, &Options::default()).unwrap_or_else(|v| panic!("{v}"));
    eprintln!(
        "{stats:?}\n{merge:?}\n{report}\nleaders: {led:?}\nfaults: {done:?}\ntook {:?}",
        started.elapsed()
    );
    assert_eq!(stats.expired, 0, "no session expired: {stats:?}");
    assert!(report.writes_checked > 300, "{report}");
    assert!(report.reads_checked > 300, "{report}");
}
