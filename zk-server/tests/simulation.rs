//! Deterministic simulation of zk-server ensembles: every seed builds an ensemble of real
//! peers over model disks and a model network, runs clients against it while it injects
//! crashes (losing unsynced writes, tearing log tails), partitions, pauses and dropped
//! connections, then lets it heal and checks safety (one leader per epoch, one transaction
//! per zxid, committed transactions never lost, equal trees at equal zxids, the clients'
//! history linearizable by zxid) and liveness (a leader serves again and writes succeed).
//!
//! `ZK_SIM_SEEDS=a..b` (or a list `a,b,c`) runs other seeds; a failure prints its seed, and
//! `ZK_SIM_SEEDS=<seed>` replays it exactly.

#![allow(unreachable_pub)]

mod sim;

use sim::rng::Rng;
use sim::world::{SimConfig, World};

fn init_log() {
    if let Ok(f) = std::env::var("ZK_SIM_LOG") {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(f))
            .without_time()
            .with_target(false)
            .with_ansi(false)
            .with_writer(std::io::stderr)
            .try_init();
    }
}

fn run(seed: u64) -> Result<World, String> {
    init_log();
    let mut rng = Rng::new(seed);
    let cfg = SimConfig::from_seed(&mut rng);
    let mut w = World::new(seed, cfg);
    w.run();
    if w.failures.is_empty() {
        w.finish();
    }
    if w.failures.is_empty() {
        Ok(w)
    } else {
        Err(format!(
            "seed {seed} ({:?}):\n  {}",
            w.cfg,
            w.failures.join("\n  ")
        ))
    }
}

fn seeds(default: std::ops::RangeInclusive<u64>) -> Vec<u64> {
    match std::env::var("ZK_SIM_SEEDS") {
        Ok(s) if s.contains("..") => {
            let (a, b) = s.split_once("..").unwrap();
            (a.parse().unwrap()..=b.trim_start_matches('=').parse().unwrap()).collect()
        }
        Ok(s) => s.split(',').map(|x| x.trim().parse().unwrap()).collect(),
        Err(_) => default.collect(),
    }
}

#[test]
fn seeds_hold_safety_and_liveness() {
    let mut failed = Vec::new();
    let mut ops = 0;
    let mut txns = 0;
    let list = seeds(1..=200);
    for s in &list {
        match run(*s) {
            Ok(w) => {
                ops += w.history.len();
                txns += w.txns.len();
            }
            Err(e) => {
                eprintln!("{e}");
                failed.push(*s);
            }
        }
    }
    eprintln!(
        "{} seeds, {ops} client operations, {txns} transactions",
        list.len()
    );
    assert!(failed.is_empty(), "failing seeds: {failed:?}");
    assert!(ops > list.len(), "the clients did almost nothing");
}
