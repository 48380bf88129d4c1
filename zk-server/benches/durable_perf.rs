//! Durability measurements: a benchmark, not a test (it prints numbers; `cargo bench` builds
//! it in release):
//!
//! ```text
//! cargo bench -p zk-server --bench durable_perf [-- copy|latency]
//! ```
//!
//! - the engine stall of a snapshot: the cost of copying the tree (`DataTree::clone`) at 100k
//!   and 1M nodes;
//! - recovery of a 1,000,000-znode data directory through `Server::start`;
//! - p99 write latency with no snapshot and while snapshots of that tree are being written.

#[path = "../tests/common/mod.rs"]
mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use common::Client;
use zk_core::data::StatPersisted;
use zk_core::proto::SetDataRequest;
use zk_core::{Acl, Request, Zxid};
use zk_server::core::{DataNode, DataTree};
use zk_server::durable::write_snapshot;
use zk_server::{Server, ServerConfig};

/// A tree of `n` nodes: 1000 parents under `/b`, `n / 1000` children each, 32-byte data.
fn big_tree(n: usize) -> DataTree {
    let mut t = DataTree::new();
    let stat = |z: i64| StatPersisted {
        czxid: Zxid(z),
        mzxid: Zxid(z),
        pzxid: Zxid(z),
        ..StatPersisted::default()
    };
    let data = Bytes::from(vec![b'x'; 32]);
    let acl = t.intern_acl(&Acl::open_unsafe());
    t.insert_restored(
        "/b",
        DataNode::new(Some(data.clone()), acl.clone(), stat(1)),
    );
    let per = (n / 1000).max(1);
    for p in 0..1000 {
        let parent = format!("/b/p{p}");
        let mut s = stat(1);
        s.cversion = per as i32;
        t.insert_restored(&parent, DataNode::new(Some(data.clone()), acl.clone(), s));
        for c in 0..per {
            t.insert_restored(
                &format!("{parent}/c{c}"),
                DataNode::new(Some(data.clone()), acl.clone(), stat(1)),
            );
        }
    }
    t.set_last_zxid(Zxid(1));
    t
}

fn snapshot_copy_stall() {
    for n in [100_000, 1_000_000] {
        let t = big_tree(n);
        let started = Instant::now();
        let copy = t.clone();
        let took = started.elapsed();
        eprintln!(
            "copy of a {}-node tree (the engine stall at snapshot time): {took:?}",
            copy.node_count()
        );
    }
}

fn p99(mut v: Vec<Duration>) -> (Duration, Duration, usize) {
    v.sort();
    let n = v.len();
    (v[n / 2], v[n * 99 / 100], n)
}

/// Four clients doing setData for `secs`; returns every latency.
fn write_load(addr: std::net::SocketAddr, secs: u64) -> Vec<Duration> {
    let stop = Arc::new(AtomicBool::new(false));
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let stop = stop.clone();
            std::thread::spawn(move || {
                let mut c = Client::connect(addr).unwrap();
                let mut lat = Vec::new();
                let mut i = 0;
                while !stop.load(Ordering::Relaxed) {
                    let started = Instant::now();
                    c.call(Request::SetData(SetDataRequest {
                        path: format!("/b/p{t}/c{}", i % 100),
                        data: Some(Bytes::from_static(b"y")),
                        version: -1,
                    }))
                    .unwrap()
                    .unwrap();
                    lat.push(started.elapsed());
                    i += 1;
                }
                lat
            })
        })
        .collect();
    std::thread::sleep(Duration::from_secs(secs));
    stop.store(true, Ordering::Relaxed);
    threads
        .into_iter()
        .flat_map(|h| h.join().unwrap())
        .collect()
}

fn recovery_and_latency_at_one_million_nodes() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = ServerConfig::for_tests(dir.path());
    // DURABLE_PERF_NO_FSYNC=1: forceSync=no, to tell fsync contention from CPU contention.
    cfg.force_sync = std::env::var_os("DURABLE_PERF_NO_FSYNC").is_none();
    let t = big_tree(1_000_000);
    let started = Instant::now();
    write_snapshot(&dir.path().join("version-2"), &t).unwrap();
    eprintln!(
        "snapshot of {} nodes written in {:?}",
        t.node_count(),
        started.elapsed()
    );
    drop(t);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();

    cfg.snap_count = 1_000_000_000;
    let started = Instant::now();
    let rec =
        zk_server::persist::recover(&zk_server::persist::DataDirs::new(dir.path(), None)).unwrap();
    eprintln!("of which reading the snapshot: {:?}", started.elapsed());
    drop(rec);
    // Quiet and snapshot phases alternate, three pairs: the machine is shared, so one pair
    // alone says little.
    let mut ratios = Vec::new();
    for pair in 0..3 {
        cfg.snap_count = 1_000_000_000;
        let started = Instant::now();
        let server = rt.block_on(Server::start(cfg.clone())).unwrap();
        eprintln!(
            "Server::start over 1,000,001+ znodes (recovery): {:?}",
            started.elapsed()
        );
        let (p50, p99_quiet, n) = p99(write_load(server.addr(), 4));
        eprintln!("pair {pair}: no snapshot: {n} writes, p50 {p50:?}, p99 {p99_quiet:?}");
        rt.block_on(server.shutdown());

        // snapCount 2000: a snapshot is due every 1000..2000 writes, so one is nearly always
        // being written (the writer skips while the previous one runs).
        cfg.snap_count = 2000;
        let server = rt.block_on(Server::start(cfg.clone())).unwrap();
        let (p50, p99_snap, n) = p99(write_load(server.addr(), 6));
        let ratio = p99_snap.as_secs_f64() / p99_quiet.as_secs_f64();
        eprintln!(
            "pair {pair}: snapshots being written: {n} writes, p50 {p50:?}, p99 {p99_snap:?}; \
             ratio {ratio:.2}"
        );
        ratios.push(ratio);
        rt.block_on(server.shutdown());
    }
    ratios.sort_by(f64::total_cmp);
    eprintln!(
        "p99 ratio (snapshot / quiet), median of 3: {:.2}",
        ratios[1]
    );
}

/// Runs every measurement, or those named on the command line (`copy`, `latency`); cargo's
/// own `--bench` flag is ignored.
fn main() {
    let wanted: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let run = |name: &str| wanted.is_empty() || wanted.iter().any(|w| w == name);
    if run("copy") {
        snapshot_copy_stall();
    }
    if run("latency") {
        recovery_and_latency_at_one_million_nodes();
    }
}
