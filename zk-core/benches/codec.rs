//! Codec micro-benchmarks: the hot records of a busy server and client.
#![allow(missing_docs)]

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use std::hint::black_box;
use zk_core::data::{Acl, Stat};
use zk_core::frame::{write_frame, FrameReader};
use zk_core::jute::{Decode, Encode, Reader};
use zk_core::message::{Request, Response};
use zk_core::proto::*;
use zk_core::OpCode;

fn get_data_request() -> Vec<u8> {
    let mut w = Vec::new();
    RequestHeader { xid: 7, op_type: 4 }.encode(&mut w);
    GetDataRequest {
        path: "/app/tasks/task-0000001234".into(),
        watch: true,
    }
    .encode(&mut w);
    w
}

fn bench(c: &mut Criterion) {
    let req = get_data_request();
    c.bench_function("decode getData request", |b| {
        b.iter(|| {
            let mut r = Reader::new(black_box(&req));
            let h = RequestHeader::decode(&mut r).unwrap();
            black_box(Request::decode(h.op_type, &mut r).unwrap())
        })
    });

    let mut group = c.benchmark_group("encode getData reply");
    for size in [0usize, 100, 4096] {
        let resp = Response::GetData(GetDataResponse {
            data: Some(Bytes::from(vec![7u8; size])),
            stat: Stat::default(),
        });
        group.throughput(Throughput::Elements(1));
        group.bench_with_input(BenchmarkId::from_parameter(size), &resp, |b, resp| {
            let mut out = Vec::with_capacity(8192);
            b.iter(|| {
                out.clear();
                write_frame(&mut out, |w| {
                    ReplyHeader {
                        xid: 7,
                        zxid: zk_core::Zxid(42),
                        err: 0,
                    }
                    .encode(w);
                    resp.encode(w);
                });
                black_box(out.len())
            })
        });
    }
    group.finish();

    let create = Request::Create2(CreateRequest {
        path: "/app/tasks/task-".into(),
        data: Some(Bytes::from(vec![1u8; 100])),
        acl: Acl::open_unsafe(),
        flags: 2,
    });
    let bytes = create.to_bytes();
    c.bench_function("decode create2 request (100 B)", |b| {
        b.iter(|| black_box(Request::decode(15, &mut Reader::new(black_box(&bytes))).unwrap()))
    });

    let children = Response::GetChildren(GetChildrenResponse {
        children: (0..1000).map(|i| format!("task-{i:010}")).collect(),
    });
    let bytes = children.to_bytes();
    c.bench_function("decode getChildren reply (1000 names)", |b| {
        b.iter(|| {
            black_box(
                Response::decode(OpCode::GetChildren, &mut Reader::new(black_box(&bytes))).unwrap(),
            )
        })
    });

    let mut stream = Vec::new();
    for _ in 0..1000 {
        write_frame(&mut stream, |w| w.extend_from_slice(&req));
    }
    c.bench_function("split 1000 frames", |b| {
        let fr = FrameReader::default();
        b.iter(|| {
            let mut rest = black_box(&stream[..]);
            let mut n = 0;
            while let Some((used, _)) = fr.next_frame(rest).unwrap() {
                rest = &rest[used..];
                n += 1;
            }
            black_box(n)
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
