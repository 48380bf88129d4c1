//! Data tree and request-path micro-benchmarks: the server's CPU cost per request without IO.
//!
//! - `tree/*`: [`DataTree`] alone: lookup, and applying create / setData / delete
//!   transactions to a tree of 100,000 nodes.
//! - `core/*`: a whole request through the sans-IO [`Core`]: decode, prepare, apply, encode
//!   the reply frame (getData, exists, setData, create+delete), as the driver calls it.
//!
//! `cargo bench -p zk-server --bench tree`. Measurements, not tests: nothing here asserts time.
#![allow(missing_docs)]

use std::hint::black_box;
use std::net::SocketAddr;

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use zk_core::data::Acl;
use zk_core::jute::Encode;
use zk_core::proto::{
    ConnectRequest, CreateRequest, DeleteRequest, ExistsRequest, GetDataRequest, SetDataRequest,
};
use zk_core::txn::{CreateTxn, DeleteTxn, SetDataTxn, TxnBody, TxnHeader};
use zk_core::{OpCode, SessionId, Zxid};
use zk_server::core::{ConnId, Core, DataNode, DataTree, Output};
use zk_server::ServerConfig;

const NODES: usize = 100_000;

fn path(i: usize) -> String {
    format!("/bench/k{i:08}")
}

fn header(zxid: i64, op: OpCode) -> TxnHeader {
    TxnHeader {
        client_id: SessionId(1),
        cxid: 1,
        zxid: Zxid(zxid),
        time: 1,
        txn_type: op.as_i32(),
    }
}

fn tree_with(n: usize) -> DataTree {
    let mut t = DataTree::new();
    let mut triggers = Vec::new();
    let mut zxid = 1;
    let mut create = |t: &mut DataTree, p: String, zxid: i64| {
        let body = TxnBody::Create(CreateTxn {
            path: p,
            data: Some(Bytes::from(vec![b'x'; 100])),
            acl: Acl::open_unsafe(),
            ephemeral: false,
            parent_cversion: -1,
        });
        t.apply(&header(zxid, OpCode::Create), &body, &mut triggers);
    };
    create(&mut t, "/bench".into(), zxid);
    for i in 0..n {
        zxid += 1;
        create(&mut t, path(i), zxid);
    }
    t
}

fn bench_tree(c: &mut Criterion) {
    let mut t = tree_with(NODES);
    assert_eq!(t.node_count(), NODES + 5, "tree built");
    let mut g = c.benchmark_group("tree");
    g.throughput(Throughput::Elements(1));
    let mut i = 0usize;
    g.bench_function("lookup (100k nodes)", |b| {
        b.iter(|| {
            i = (i + 7919) % NODES;
            black_box(t.node(&path(i)).map(DataNode::data_len))
        })
    });
    let mut zxid = t.last_zxid().0;
    let mut triggers = Vec::new();
    let data = Bytes::from(vec![b'y'; 100]);
    g.bench_function("apply setData (100k nodes)", |b| {
        b.iter(|| {
            i = (i + 7919) % NODES;
            zxid += 1;
            triggers.clear();
            let body = TxnBody::SetData(SetDataTxn {
                path: path(i),
                data: Some(data.clone()),
                version: 1,
            });
            black_box(t.apply(&header(zxid, OpCode::SetData), &body, &mut triggers))
        })
    });
    let mut n = 0usize;
    g.bench_function("apply create+delete (100k nodes)", |b| {
        b.iter(|| {
            n += 1;
            let p = format!("/bench/new{n}");
            zxid += 1;
            triggers.clear();
            let body = TxnBody::Create(CreateTxn {
                path: p.clone(),
                data: Some(data.clone()),
                acl: Acl::open_unsafe(),
                ephemeral: false,
                parent_cversion: -1,
            });
            black_box(t.apply(&header(zxid, OpCode::Create), &body, &mut triggers));
            zxid += 1;
            let body = TxnBody::Delete(DeleteTxn { path: p });
            black_box(t.apply(&header(zxid, OpCode::Delete), &body, &mut triggers))
        })
    });
    g.finish();

    let mut g = c.benchmark_group("tree build");
    g.sample_size(10);
    g.throughput(Throughput::Elements(NODES as u64));
    g.bench_function("100k creates of 100 B", |b| b.iter(|| tree_with(NODES)));
    g.finish();
}

/// A core with one connected session, its handshake output drained.
fn core_with_session() -> (Core, ConnId) {
    let cfg = ServerConfig::for_tests("/nonexistent");
    let mut core = Core::with_tree(cfg.core_config(), tree_with(10_000), 0);
    let conn = ConnId(1);
    let remote: SocketAddr = "127.0.0.1:40000".parse().expect("literal address");
    core.accept(0, conn, remote);
    core.connect(
        0,
        conn,
        &ConnectRequest {
            protocol_version: 0,
            last_zxid_seen: Zxid(0),
            timeout_ms: 30_000,
            session_id: SessionId(0),
            passwd: Bytes::from(vec![0u8; 16]),
            read_only: Some(false),
        },
    );
    drain(&mut core);
    (core, conn)
}

fn drain(core: &mut Core) -> usize {
    let mut bytes = 0;
    while let Some(o) = core.poll_output() {
        if let Output::Send { frame, .. } = o {
            bytes += frame.len();
        }
    }
    let _ = core.take_txns();
    bytes
}

fn encoded<T: Encode>(r: &T) -> Vec<u8> {
    let mut w = Vec::new();
    r.encode(&mut w);
    w
}

fn bench_core(c: &mut Criterion) {
    let (mut core, conn) = core_with_session();
    let mut g = c.benchmark_group("core");
    g.throughput(Throughput::Elements(1));
    let gets: Vec<Vec<u8>> = (0..1024)
        .map(|i| {
            encoded(&GetDataRequest {
                path: path(i * 7 % 10_000),
                watch: false,
            })
        })
        .collect();
    let mut i = 0usize;
    let mut xid = 1;
    g.bench_function("getData request -> reply frame", |b| {
        b.iter(|| {
            i = (i + 1) % gets.len();
            xid += 1;
            core.request(1, conn, xid, OpCode::GetData.as_i32(), &gets[i]);
            black_box(drain(&mut core))
        })
    });
    let exists: Vec<Vec<u8>> = (0..1024)
        .map(|i| {
            encoded(&ExistsRequest {
                path: path(i * 7 % 10_000),
                watch: false,
            })
        })
        .collect();
    g.bench_function("exists request -> reply frame", |b| {
        b.iter(|| {
            i = (i + 1) % exists.len();
            xid += 1;
            core.request(1, conn, xid, OpCode::Exists.as_i32(), &exists[i]);
            black_box(drain(&mut core))
        })
    });
    let sets: Vec<Vec<u8>> = (0..1024)
        .map(|i| {
            encoded(&SetDataRequest {
                path: path(i * 7 % 10_000),
                data: Some(Bytes::from(vec![b'z'; 100])),
                version: -1,
            })
        })
        .collect();
    g.bench_function("setData request -> txn + reply frame", |b| {
        b.iter(|| {
            i = (i + 1) % sets.len();
            xid += 1;
            core.request(1, conn, xid, OpCode::SetData.as_i32(), &sets[i]);
            black_box(drain(&mut core))
        })
    });
    let mut n = 0u64;
    g.bench_function("create + delete requests -> txns + reply frames", |b| {
        b.iter(|| {
            n += 1;
            let p = format!("/bench/c{n}");
            xid += 1;
            let create = encoded(&CreateRequest {
                path: p.clone(),
                data: Some(Bytes::from(vec![b'z'; 100])),
                acl: Acl::open_unsafe(),
                flags: 0,
            });
            core.request(1, conn, xid, OpCode::Create.as_i32(), &create);
            xid += 1;
            let delete = encoded(&DeleteRequest {
                path: p,
                version: -1,
            });
            core.request(1, conn, xid, OpCode::Delete.as_i32(), &delete);
            black_box(drain(&mut core))
        })
    });
    g.finish();
}

criterion_group!(benches, bench_tree, bench_core);
criterion_main!(benches);
