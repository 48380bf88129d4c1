//! Measures the persistence layer on this machine (run with `cargo bench -p zk-server --bench
//! persist_recovery`):
//! - recovery of a 1,000,000-node snapshot (~100-byte data) plus a log tail;
//! - transaction log appends with one fsync per batch (group commit) at several batch sizes.

use std::time::Instant;

use zk_core::data::{Acl, StatPersisted};
use zk_core::jute::Encode;
use zk_core::txn::{SetDataTxn, TxnHeader};
use zk_core::{OpCode, SessionId, Zxid};
use zk_server::persist::{recover, AclCache, DataDirs, SnapshotWriter, TxnLog, TxnLogConfig};

const NODES: i64 = 1_000_000;

/// Latencies of append + sync of single txns for ~1.5 s, while `snapshot` (if given) is written
/// by another thread with 1M nodes.
fn sync_latencies(snapshot: Option<(&std::path::Path, u64)>) -> Vec<std::time::Duration> {
    let writer = snapshot.map(|(d, sync_every)| {
        let d = d.to_path_buf();
        std::thread::spawn(move || {
            let mut w = SnapshotWriter::create(&d, Zxid(1)).expect("create");
            w.sync_every(sync_every);
            w.sessions(Vec::new()).expect("sessions");
            w.acl_cache(&AclCache::new()).expect("acls");
            let data = [b'x'; 100];
            w.node("/", None, -1, &StatPersisted::default())
                .expect("root");
            for n in 0..NODES {
                w.node(
                    &format!("/n{n:07}"),
                    Some(&data),
                    -1,
                    &StatPersisted::default(),
                )
                .expect("node");
            }
            w.finish(None).expect("finish");
        })
    });
    let d = tempfile::tempdir().expect("tempdir");
    let mut log = TxnLog::open(d.path(), TxnLogConfig::default()).expect("log");
    let body = SetDataTxn {
        path: "/n0000001".into(),
        data: Some(vec![b'z'; 100].into()),
        version: 1,
    }
    .to_bytes();
    let mut out = Vec::new();
    let start = Instant::now();
    let mut i = 0i64;
    while start.elapsed().as_millis() < 1500 || writer.as_ref().is_some_and(|w| !w.is_finished()) {
        i += 1;
        let h = TxnHeader {
            client_id: SessionId(1),
            cxid: i as i32,
            zxid: Zxid(i),
            time: 0,
            txn_type: OpCode::SetData.as_i32(),
        };
        let t = Instant::now();
        log.append(&h, &body, None).expect("append");
        log.sync().expect("sync");
        out.push(t.elapsed());
    }
    if let Some(w) = writer {
        w.join().expect("snapshot thread");
    }
    out
}

fn main() {
    let dir = tempfile::tempdir().expect("tempdir");
    let dirs = DataDirs::new(dir.path(), None);

    let t = Instant::now();
    let mut acls = AclCache::new();
    let acl = acls.intern(&Acl::open_unsafe());
    let snap_zxid = Zxid(NODES + 1000);
    let mut w = SnapshotWriter::create(&dirs.snap_dir, snap_zxid).expect("create");
    w.sessions(vec![(SessionId(1), 30_000)]).expect("sessions");
    w.acl_cache(&acls).expect("acls");
    let stat = |z: i64| StatPersisted {
        czxid: Zxid(z),
        mzxid: Zxid(z),
        pzxid: Zxid(z),
        ctime: z,
        mtime: z,
        ..Default::default()
    };
    w.node("/", Some(b""), -1, &stat(0)).expect("root");
    let data = [b'x'; 100];
    let mut z = 0;
    for b in 0..1000 {
        z += 1;
        let parent = format!("/b{b:03}");
        w.node(&parent, Some(b"parent"), acl, &stat(z))
            .expect("node");
        for n in 0..(NODES / 1000) {
            z += 1;
            w.node(&format!("{parent}/n{n:04}"), Some(&data), acl, &stat(z))
                .expect("node");
        }
    }
    let path = w.finish(None).expect("finish");
    let size = std::fs::metadata(&path).expect("stat").len();
    println!(
        "wrote {} nodes, {:.1} MB snapshot in {:.2?}",
        z + 1,
        size as f64 / 1e6,
        t.elapsed()
    );

    // The same tree through node_with_acl (ACL lists, map derived, nodes spilled once).
    let t = Instant::now();
    let lists_dir = dir.path().join("lists");
    let mut w = SnapshotWriter::create(&lists_dir, snap_zxid).expect("create");
    w.sessions(vec![(SessionId(1), 30_000)]).expect("sessions");
    let open = Acl::open_unsafe();
    w.node_with_acl("/", Some(b""), &open, &stat(0))
        .expect("root");
    let mut z = 0;
    for b in 0..1000 {
        z += 1;
        let parent = format!("/b{b:03}");
        w.node_with_acl(&parent, Some(b"parent"), &open, &stat(z))
            .expect("node");
        for n in 0..(NODES / 1000) {
            z += 1;
            let path = format!("{parent}/n{n:04}");
            w.node_with_acl(&path, Some(&data), &open, &stat(z))
                .expect("node");
        }
    }
    w.finish(None).expect("finish");
    println!(
        "wrote the same snapshot with node_with_acl in {:.2?}",
        t.elapsed()
    );

    let mut log = TxnLog::open(&dirs.log_dir, TxnLogConfig::default()).expect("log");
    for i in 1..=10_000i64 {
        let h = TxnHeader {
            client_id: SessionId(1),
            cxid: i as i32,
            zxid: Zxid(snap_zxid.0 + i),
            time: i,
            txn_type: OpCode::SetData.as_i32(),
        };
        let body = SetDataTxn {
            path: format!("/b000/n{:04}", i % 1000),
            data: Some(vec![b'y'; 100].into()),
            version: 1,
        }
        .to_bytes();
        log.append(&h, &body, None).expect("append");
    }
    log.close().expect("sync");

    for round in 0..3 {
        let t = Instant::now();
        let rec = recover(&dirs).expect("recover");
        let took = t.elapsed();
        let nodes = rec.snapshot.as_ref().map_or(0, |s| s.nodes.len());
        println!(
            "recover #{round}: {nodes} nodes + {} txns in {took:.2?}",
            rec.txns.len()
        );
        if round == 2 {
            // Building the server's data tree from what recovery returned, and replaying the log
            // onto it: what start-up costs on top of reading the files.
            let t = Instant::now();
            let tree = zk_server::durable::build_tree(rec).expect("tree");
            assert!(tree.node_count() > 0);
            println!(
                "  + building the data tree and replaying the log onto it: {:.2?}",
                t.elapsed()
            );
        }
    }

    // Write latency (append + fsync of one txn) with and without a concurrent snapshot.
    for round in 0..2 {
        let idle = sync_latencies(None);
        let snap_a = dir.path().join(format!("snap-a{round}"));
        let sliced = sync_latencies(Some((&snap_a, zk_server::persist::SNAPSHOT_SYNC_EVERY)));
        let snap_b = dir.path().join(format!("snap-b{round}"));
        let at_end = sync_latencies(Some((&snap_b, 0)));
        let runs = [
            ("no snapshot", idle),
            (
                "during a 1M-node snapshot, written back every 8 MiB",
                sliced,
            ),
            ("during a 1M-node snapshot, one fsync at the end", at_end),
        ];
        for (name, mut v) in runs {
            v.sort();
            let p = |q: f64| v[((v.len() as f64 * q) as usize).min(v.len() - 1)];
            println!(
                "append+fsync latency #{round}, {name}: {} samples, p50 {:?}, p99 {:?}, max {:?}",
                v.len(),
                p(0.5),
                p(0.99),
                v[v.len() - 1]
            );
        }
    }

    for batch in [1usize, 10, 100, 1000] {
        let d = tempfile::tempdir().expect("tempdir");
        let mut log = TxnLog::open(d.path(), TxnLogConfig::default()).expect("log");
        let body = SetDataTxn {
            path: "/b000/n0001".into(),
            data: Some(vec![b'z'; 100].into()),
            version: 1,
        }
        .to_bytes();
        let total = 2000usize.max(batch * 20);
        let t = Instant::now();
        for i in 1..=total {
            let h = TxnHeader {
                client_id: SessionId(1),
                cxid: i as i32,
                zxid: Zxid(i as i64),
                time: 0,
                txn_type: OpCode::SetData.as_i32(),
            };
            log.append(&h, &body, None).expect("append");
            if i % batch == 0 {
                log.sync().expect("sync");
            }
        }
        let secs = t.elapsed().as_secs_f64();
        println!(
            "log: {total} appends, fsync every {batch}: {:.0} txn/s, {:.3} ms per fsync batch",
            total as f64 / secs,
            secs * 1000.0 / (total / batch) as f64
        );
    }
}
