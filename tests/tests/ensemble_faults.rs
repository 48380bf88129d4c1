//! Faults on ensembles of `zk-server` processes under the register workload (sessions on a
//! connect string of every member, history recorded), then checks that nothing was lost:
//!
//! * 3 members: SIGKILL the leader, SIGKILL a follower, SIGSTOP the leader for longer than
//!   syncLimit then SIGCONT it, wipe a follower's data directory (its myid kept) and
//!   restart it, which must sync by SNAP (its log says so, and its data directory then holds
//!   a snapshot of the leader's tree);
//! * 5 voters and an observer: SIGKILL the leader and a follower at once (three of five keep
//!   the quorum), SIGSTOP the new leader, then SIGKILL the leader again.
//!
//! After each fault writes must resume within [`RESUME`] (liveness; how long they stopped
//! is printed, not asserted: performance is measured by benchmarks). At the end every member
//! converges to the same `srvr` Zxid and the same tree (every node's data and Stat read from
//! every member), no session expired (members fail one at a time with a quorum up, and the
//! session timeout is far above the failover time), every member exits cleanly on SIGTERM,
//! and the committed history, merged from every member's log (see `tests::ensemble_history`:
//! where logs overlap they must agree byte for byte), passes the history check.

use std::time::{Duration, Instant};

use tests::ensemble_history::{
    acknowledged_writes, first_new_epoch_write, merge_committed, read_tree, snapshots,
};
use tests::history_support::{read_committed, BackgroundLoad, RegisterWorkload};
use tests::process_ensemble::{srvr_zxid, zk_server_binary, Flavor, ProcessEnsemble};
use zk_core::Zxid;
use zk_history::{check, Options};

/// How long writes may stay unavailable after a fault.
const RESUME: Duration = Duration::from_secs(20);
/// How long the ensemble may take to serve again with every member.
const READY: Duration = Duration::from_secs(30);
/// syncLimit (5 ticks of 200 ms) in the members' config.
const SYNC_LIMIT: Duration = Duration::from_millis(1000);

/// A run: the ensemble, the workload in the background.
struct Run {
    ensemble: ProcessEnsemble,
    rt: tokio::runtime::Runtime,
    load: BackgroundLoad,
    /// (fault, how long until the next acknowledged write).
    gaps: Vec<(String, Duration)>,
}

impl Run {
    fn start(voters: usize, observers: usize) -> Run {
        let flavor = Flavor::ZkServer(zk_server_binary());
        // Snapshots only from SNAP syncs: the logs hold the whole history.
        let ensemble = ProcessEnsemble::start(flavor, voters, observers, &["snapCount=10000000"])
            .expect("serve");
        let rt = tests::two_worker_runtime();
        let mut w = RegisterWorkload::new(ensemble.connect_string());
        w.keys = 4;
        w.clients = 6;
        // Far above a failover (about a second), and short enough that a client connected
        // to a SIGSTOPped member gives up on it soon: a client hears nothing from a stopped
        // server and waits its read timeout (2/3 of the session timeout) before it moves on,
        // and a connection attempt to it waits a third of the session timeout.
        w.session_timeout = Duration::from_secs(15);
        let load = BackgroundLoad::start(&rt, w);
        let run = Run {
            ensemble,
            rt,
            load,
            gaps: Vec::new(),
        };
        run.more_writes(200);
        run
    }

    fn now(&self) -> u64 {
        self.load.now()
    }

    /// Waits until `n` more writes than now were acknowledged.
    fn more_writes(&self, n: usize) {
        self.load.more_writes(n, RESUME);
    }

    /// Waits for an acknowledged write of an epoch after `epoch` completed after `from`, and
    /// records how long it took as the gap after `fault`.
    fn resumed_after(&mut self, fault: &str, from: u64, epoch: u32) {
        let deadline = Instant::now() + RESUME;
        let resumed = loop {
            if let Some(t) = first_new_epoch_write(&self.load.recorder.history(), from, epoch) {
                break t;
            }
            assert!(
                Instant::now() < deadline,
                "{fault}: no write under a new leader within {RESUME:?}: {:?}",
                self.ensemble.modes()
            );
            std::thread::sleep(Duration::from_millis(10));
        };
        self.gaps
            .push((fault.to_string(), Duration::from_nanos(resumed - from)));
    }

    fn leader_epoch(&self, leader: i64) -> u32 {
        let srvr = self.ensemble.srvr(leader).expect("the leader answers");
        Zxid(srvr_zxid(&srvr).expect("a zxid")).epoch()
    }

    /// SIGKILLs the leader, waits for writes under the next one, restarts it.
    fn kill_leader(&mut self) -> i64 {
        let leader = self.ensemble.wait_ready(READY).unwrap();
        let epoch = self.leader_epoch(leader);
        let at = self.now();
        self.ensemble.kill(leader);
        self.resumed_after("SIGKILL of the leader", at, epoch);
        assert_ne!(self.ensemble.wait_ready(READY).unwrap(), leader);
        self.ensemble.restart(leader);
        self.ensemble.wait_all_serving(READY).unwrap();
        self.more_writes(100);
        leader
    }

    /// SIGKILLs a follower; writes go on; restarts it.
    fn kill_follower(&mut self) -> i64 {
        let leader = self.ensemble.wait_ready(READY).unwrap();
        let follower = self.follower_of(leader);
        let at = self.now();
        let before = self.load.acknowledged_writes();
        self.ensemble.kill(follower);
        self.more_writes(100);
        let history = self.load.recorder.history();
        // Epochs start at 1: any acknowledged write after the kill.
        let next = first_new_epoch_write(&history, at, 0).expect("writes went on");
        self.gaps.push((
            "SIGKILL of a follower".into(),
            Duration::from_nanos(next - at),
        ));
        assert!(acknowledged_writes(&history) >= before + 100);
        assert_eq!(self.ensemble.wait_ready(READY).unwrap(), leader);
        self.ensemble.restart(follower);
        self.ensemble.wait_all_serving(READY).unwrap();
        follower
    }

    /// SIGSTOPs the leader until a new one serves (and at least twice syncLimit), then
    /// SIGCONTs it: it must give up leading and follow the new leader.
    fn pause_leader(&mut self) -> i64 {
        let leader = self.ensemble.wait_ready(READY).unwrap();
        let epoch = self.leader_epoch(leader);
        let at = self.now();
        let paused = Instant::now();
        self.ensemble.pause(leader);
        self.resumed_after("SIGSTOP of the leader", at, epoch);
        let next = self.ensemble.wait_ready(READY).unwrap();
        assert_ne!(next, leader);
        while paused.elapsed() < 2 * SYNC_LIMIT {
            std::thread::sleep(Duration::from_millis(50));
        }
        self.ensemble.resume(leader);
        self.ensemble.wait_all_serving(READY).unwrap();
        let modes = self.ensemble.modes();
        if modes[&leader].as_deref() != Some("follower") {
            let log = self.ensemble.log(leader);
            let tail: Vec<&str> = log.lines().rev().take(40).collect();
            panic!(
                "the old leader {leader} does not follow: {modes:?}; its log ends with:\n{}",
                tail.into_iter().rev().collect::<Vec<_>>().join("\n")
            );
        }
        self.more_writes(100);
        leader
    }

    /// Some member following `leader`.
    fn follower_of(&self, leader: i64) -> i64 {
        self.ensemble
            .modes()
            .into_iter()
            .find(|(id, m)| *id != leader && m.as_deref() == Some("follower"))
            .map(|(id, _)| id)
            .expect("a follower")
    }

    /// Stops the load, waits for the members to converge, compares their trees, stops them
    /// (SIGTERM, clean exits) and checks the merged committed history. `wiped` members' own
    /// logs start at their SNAP.
    fn finish(self, wiped: &[i64], started: Instant) {
        let Run {
            mut ensemble,
            rt,
            load,
            gaps,
        } = self;
        let (stats, history) = load.finish(&rt);
        ensemble.wait_all_serving(READY).unwrap();
        let ids = ensemble.ids();
        let converged = |e: &ProcessEnsemble| -> Option<i64> {
            let zxids: Vec<Option<i64>> = ids
                .iter()
                .map(|id| e.srvr(*id).as_deref().and_then(srvr_zxid))
                .collect();
            let first = zxids[0]?;
            zxids.iter().all(|z| *z == Some(first)).then_some(first)
        };
        let wait_converged = |e: &ProcessEnsemble| -> i64 {
            let deadline = Instant::now() + READY;
            loop {
                if let Some(z) = converged(e) {
                    return z;
                }
                assert!(Instant::now() < deadline, "the members do not converge");
                std::thread::sleep(Duration::from_millis(20));
            }
        };
        wait_converged(&ensemble);
        let trees: Vec<_> = ids
            .iter()
            .map(|id| {
                let addr = ensemble.client_addr(*id).to_string();
                let tree = rt.block_on(async {
                    let c = zk_client::Client::connect(&addr).await.unwrap();
                    let tree = read_tree(&c).await.unwrap();
                    c.close().await.unwrap();
                    tree
                });
                (*id, tree)
            })
            .collect();
        for (id, tree) in &trees[1..] {
            assert_eq!(tree, &trees[0].1, "member {id} and member {}", trees[0].0);
        }
        assert!(trees[0].1.contains_key("/history/k3"), "the keys are there");
        // The readers' sessions were logged too.
        let last = Zxid(wait_converged(&ensemble));
        for id in &ids {
            assert!(
                ensemble.terminate(*id),
                "member {id} exits cleanly on SIGTERM"
            );
        }

        let dirs: Vec<_> = ids
            .iter()
            .map(|id| (*id, ensemble.data_dir(*id).to_path_buf()))
            .collect();
        let (committed, merge) = merge_committed(&dirs, last).expect("merge the logs");
        // One member's log alone, for the record: whole unless it ever synced by SNAP.
        let kept = ids.iter().find(|id| !wiped.contains(id)).unwrap();
        let alone = read_committed(ensemble.data_dir(*kept)).unwrap();
        // How each member synced, every time it did (from its log).
        let syncs: Vec<(i64, Vec<&str>)> = ids
            .iter()
            .map(|id| {
                let log = ensemble.log(*id);
                let modes = log
                    .lines()
                    .filter_map(|l| {
                        ["DIFF", "SNAP", "TRUNC"]
                            .into_iter()
                            .find(|m| l.contains(&format!("synchronizing by {m}")))
                            .or_else(|| l.contains("truncating the log").then_some("TRUNC"))
                    })
                    .collect();
                (*id, modes)
            })
            .collect();
        let report =
            check(&history, &committed, &Options::default()).unwrap_or_else(|v| panic!("{v}"));
        eprintln!(
            "{stats:?}\n{merge:?}\nsyncs: {syncs:?}\nmember {kept}'s log alone: {} txns, from \
             the start: {}\n{report}\nwrites stopped after each fault: {gaps:?}\ntook {:?}",
            alone.txns().len(),
            alone.starts_empty(),
            started.elapsed()
        );
        // A wiped member's log is gone; what only it logged reached the others inside a
        // SNAP's snapshot, and the merge (which checks that) starts after it.
        assert!(!wiped.is_empty() || committed.starts_empty(), "{merge:?}");
        assert_eq!(committed.last_zxid(), last, "{merge:?}");
        assert_eq!(stats.expired, 0, "no session expired: {stats:?}");
        assert!(merge.overlapping > 0, "{merge:?}");
        assert!(report.writes_checked > 500, "{report}");
        assert!(report.reads_checked > 500, "{report}");
    }
}

#[test]
fn kills_pauses_and_a_wiped_follower_on_three_processes() {
    let started = Instant::now();
    let mut run = Run::start(3, 0);
    run.kill_leader();
    run.kill_follower();
    run.pause_leader();

    // A follower loses its disk: it comes back empty and must be sent the leader's tree.
    let leader = run.ensemble.wait_ready(READY).unwrap();
    let wiped = run.follower_of(leader);
    assert!(run.ensemble.terminate(wiped));
    run.ensemble.wipe(wiped);
    assert_eq!(snapshots(run.ensemble.data_dir(wiped)).unwrap(), vec![]);
    let log_from = run.ensemble.log(wiped).len();
    run.ensemble.restart(wiped);
    run.ensemble.wait_all_serving(READY).unwrap();
    let log = run.ensemble.log(wiped)[log_from..].to_string();
    assert!(log.contains("synchronizing by SNAP"), "{log}");
    let snaps = snapshots(run.ensemble.data_dir(wiped)).unwrap();
    assert!(
        snaps.iter().any(|z| z.epoch() > 0),
        "the leader's tree was written as a snapshot: {snaps:?}"
    );
    run.more_writes(100);
    run.finish(&[wiped], started);
}

#[test]
fn two_members_down_at_once_on_five_voters_and_an_observer() {
    let started = Instant::now();
    let mut run = Run::start(5, 1);
    let leader = run.ensemble.wait_ready(READY).unwrap();
    let follower = run.follower_of(leader);
    let epoch = run.leader_epoch(leader);
    let at = run.now();
    run.ensemble.kill(leader);
    run.ensemble.kill(follower);
    run.resumed_after("SIGKILL of the leader and a follower", at, epoch);
    run.ensemble.restart(leader);
    run.ensemble.restart(follower);
    run.ensemble.wait_all_serving(READY).unwrap();
    run.more_writes(100);
    run.pause_leader();
    run.kill_leader();
    run.finish(&[], started);
}
