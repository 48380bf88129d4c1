//! Requests that Apache ZooKeeper 3.8 answers with silence (a top-level `check` whose version
//! matches) must still free their in-flight slot: a connection that sends more of them than
//! the per-connection limit keeps being served, as Apache ZooKeeper keeps serving it.

mod common;

use std::io::Write;

use zk_core::frame::write_frame;
use zk_core::jute::{Decode, Encode, Reader};
use zk_core::proto::{CheckVersionRequest, GetDataRequest, ReplyHeader, RequestHeader};
use zk_core::{OpCode, Request, Response};
use zk_server::{Server, ServerConfig};

fn frame(xid: i32, req: &Request) -> Vec<u8> {
    let mut out = Vec::new();
    write_frame(&mut out, |w| {
        RequestHeader {
            xid,
            op_type: req.op_code().as_i32(),
        }
        .encode(w);
        req.encode(w);
    });
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passing_checks_beyond_the_in_flight_limit_do_not_wedge_the_connection() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = ServerConfig::for_tests(dir.path());
    cfg.max_outstanding_per_connection = 100;
    let server = Server::start_in_memory(cfg).await.unwrap();
    let addr = server.addr();
    let result = tokio::task::spawn_blocking(move || {
        let mut c = common::Client::connect(addr).unwrap();
        c.call(common::create("/c", "x")).unwrap().unwrap();
        // 1,000 checks that pass (no answer each), then a read: more silent requests than the
        // 100 in-flight slots; before the fix the read was never answered.
        let check = Request::Check(CheckVersionRequest {
            path: "/c".into(),
            version: 0,
        });
        let mut batch = Vec::new();
        for xid in 1000..2000 {
            batch.extend(frame(xid, &check));
        }
        let get = Request::GetData(GetDataRequest {
            path: "/c".into(),
            watch: false,
        });
        batch.extend(frame(5000, &get));
        let mut s = c.into_stream();
        s.set_read_timeout(Some(std::time::Duration::from_secs(20)))
            .unwrap();
        // Written from another thread: the server stops reading at the limit until slots
        // free, so one blocking write of the whole batch could wait on our own reads.
        let mut w = s.try_clone().unwrap();
        let writer = std::thread::spawn(move || w.write_all(&batch));
        loop {
            let p = common::read_frame(&mut s).expect("the read is answered");
            let mut r = Reader::new(&p);
            let h = ReplyHeader::decode(&mut r).unwrap();
            assert_ne!(h.xid / 1000, 1, "a passing check was answered: {h:?}");
            if h.xid == 5000 {
                assert_eq!(h.err, 0);
                let resp = Response::decode(OpCode::GetData, &mut r).unwrap();
                writer.join().unwrap().unwrap();
                return resp;
            }
        }
    })
    .await
    .unwrap();
    match result {
        Response::GetData(g) => assert_eq!(g.data.as_deref(), Some(&b"x"[..])),
        other => panic!("{other:?}"),
    }
    server.shutdown().await;
}

/// A client that asks for large replies and stops reading is closed once what waits for its
/// socket exceeds `zookeeper.maxQueuedBytesPerConnection`; other clients go on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_that_does_not_read_is_closed_at_the_queued_bytes_limit() {
    use std::io::Read;
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = ServerConfig::for_tests(dir.path());
    cfg.max_queued_bytes_per_connection = 4 << 20;
    let server = Server::start_in_memory(cfg).await.unwrap();
    let addr = server.addr();
    tokio::task::spawn_blocking(move || {
        let mut c = common::Client::connect(addr).unwrap();
        let big = "x".repeat(512 * 1024);
        c.call(common::create("/big", &big)).unwrap().unwrap();
        let get = Request::GetData(GetDataRequest {
            path: "/big".into(),
            watch: false,
        });
        let mut s = c.into_stream();
        // 400 reads of 512 KiB (200 MiB) the client does not read: far beyond the socket
        // buffers and the 4 MiB limit.
        let mut batch = Vec::new();
        for xid in 1..=400 {
            batch.extend(frame(xid, &get));
        }
        let mut w = s.try_clone().unwrap();
        let writer = std::thread::spawn(move || {
            let _ = w.write_all(&batch);
        });
        std::thread::sleep(std::time::Duration::from_secs(2));
        // Another client is served meanwhile.
        let mut other = common::Client::connect(addr).unwrap();
        let got = other
            .call(Request::GetData(GetDataRequest {
                path: "/big".into(),
                watch: false,
            }))
            .unwrap()
            .unwrap();
        assert!(matches!(got, Response::GetData(_)));
        // The first one gets what was buffered, then the end of the connection: far fewer
        // than the 400 replies it asked for.
        s.set_read_timeout(Some(std::time::Duration::from_secs(30)))
            .unwrap();
        let mut total = 0usize;
        let mut buf = vec![0u8; 1 << 20];
        loop {
            match s.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => total += n,
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => break,
                Err(e) => panic!("the connection was not closed: {e}"),
            }
        }
        assert!(
            total < 100 * 512 * 1024,
            "{total} bytes arrived: the queue was not bounded"
        );
        let _ = writer.join();
    })
    .await
    .unwrap();
    server.shutdown().await;
}
