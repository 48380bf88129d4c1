//! A side-by-side throughput/latency measurement of zk-server and Apache ZooKeeper 3.8 with
//! the same raw pipelined load: a benchmark, not a test. It prints its numbers:
//!
//! ```text
//! cargo bench -p tests --bench side_by_side
//! ```
//!
//! `ZK_BENCH_SKIP_APACHE=1` measures zk-server alone; `ZK_BENCH_CLIENTS` (4) and
//! `ZK_BENCH_WORKERS` (zk-server's tokio workers, 2) change the load and the server.
//!
//! zk-server runs with a sink that appends to a file and fsyncs each batch, so writes pay for
//! durability as Apache ZooKeeper's do (forceSync=yes).

use std::io::Write;
use std::net::SocketAddr;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use tests::raw::RawClient;
use tests::ApacheZk;
use zk_core::proto::{CreateRequest, GetDataRequest, SetDataRequest};
use zk_core::txn::TxnHeader;
use zk_core::{Acl, Request};

struct FsyncSink(std::io::BufWriter<std::fs::File>);

impl zk_server::TxnSink for FsyncSink {
    fn append(&mut self, h: &TxnHeader, body: &[u8]) -> std::io::Result<()> {
        self.0.write_all(&h.zxid.0.to_be_bytes())?;
        self.0.write_all(body)
    }
    fn sync(&mut self) -> std::io::Result<()> {
        self.0.flush()?;
        self.0.get_ref().sync_data()
    }
}

fn clients() -> usize {
    std::env::var("ZK_BENCH_CLIENTS")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(4)
}
const WINDOW: usize = 64;

fn load(addr: SocketAddr, write: bool, per_client: usize) -> (f64, Vec<Duration>) {
    let mut setup = RawClient::connect(addr, 30000).unwrap();
    for i in 0..clients() {
        let _ = setup.call(&Request::Create(CreateRequest {
            path: format!("/bench{i}"),
            data: Some(vec![7u8; 100].into()),
            acl: Acl::open_unsafe(),
            flags: 0,
        }));
    }
    let barrier = Arc::new(Barrier::new(clients() + 1));
    let handles: Vec<_> = (0..clients())
        .map(|i| {
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                let mut c = RawClient::connect(addr, 30000).unwrap();
                let path = format!("/bench{i}");
                let req = if write {
                    Request::SetData(SetDataRequest {
                        path,
                        data: Some(vec![1u8; 100].into()),
                        version: -1,
                    })
                } else {
                    Request::GetData(GetDataRequest { path, watch: false })
                };
                let op = req.op_code().as_i32();
                let mut sent_at = std::collections::VecDeque::new();
                let mut lat = Vec::with_capacity(per_client);
                barrier.wait();
                let (mut sent, mut got) = (0, 0);
                while got < per_client {
                    while sent < per_client && sent - got < WINDOW {
                        sent += 1;
                        c.send(sent as i32, op, &req).unwrap();
                        sent_at.push_back(Instant::now());
                    }
                    let r = c.recv().unwrap();
                    assert_eq!(r.header.err, 0);
                    got += 1;
                    lat.push(sent_at.pop_front().unwrap().elapsed());
                }
                lat
            })
        })
        .collect();
    barrier.wait();
    let t = Instant::now();
    let mut all = Vec::new();
    for h in handles {
        all.extend(h.join().unwrap());
    }
    let secs = t.elapsed().as_secs_f64();
    all.sort();
    ((clients() * per_client) as f64 / secs, all)
}

fn report(name: &str, (rate, lat): (f64, Vec<Duration>)) {
    let p = |q: f64| lat[((lat.len() as f64 * q) as usize).min(lat.len() - 1)];
    eprintln!(
        "{name:32} {rate:>10.0} ops/s  p50 {:>8.2?}  p99 {:>8.2?}",
        p(0.50),
        p(0.99)
    );
}

fn main() {
    let reads = 50_000;
    let writes = 10_000;
    if std::env::var("ZK_BENCH_SKIP_APACHE").is_err() {
        let apache =
            ApacheZk::start(&[]).expect("start Apache ZooKeeper (scripts/deps installs it)");
        let _ = load(apache.addr(), false, 5_000);
        report(
            "apache reads (pipelined)",
            load(apache.addr(), false, reads),
        );
        report("apache writes (fsync)", load(apache.addr(), true, writes));
    }
    let dir = std::env::temp_dir().join(format!("zk-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = std::fs::File::create(dir.join("log")).unwrap();
    let workers = std::env::var("ZK_BENCH_WORKERS")
        .ok()
        .and_then(|w| w.parse().ok())
        .unwrap_or(2);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()
        .unwrap();
    let mut cfg = zk_server::ServerConfig::for_tests(&dir);
    cfg.tick_time_ms = 2000;
    let server = rt
        .block_on(zk_server::Server::start_with(
            cfg,
            zk_server::core::DataTree::new(),
            Box::new(FsyncSink(std::io::BufWriter::new(file))),
        ))
        .unwrap();
    let _ = load(server.addr(), false, 5_000);
    report(
        "zk-server reads (pipelined)",
        load(server.addr(), false, reads),
    );
    report(
        "zk-server writes (fsync)",
        load(server.addr(), true, writes),
    );
    rt.block_on(server.shutdown());
    let _ = std::fs::remove_dir_all(&dir);
}
