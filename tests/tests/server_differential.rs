//! Differential test: one scripted sequence of several hundred operations, sent over raw frames
//! to Apache ZooKeeper 3.8 and to zk-server; every reply (error codes, bodies, stats, data,
//! children in order, notifications on every session, handshake answers, closed connections)
//! must match. zxids are compared as offsets from the first one, times are zeroed and session
//! ids are replaced by the index of the script's session that owns them.

use std::net::SocketAddr;
use std::time::Duration;

use tests::raw::RawClient;
use tests::ApacheZk;
use zk_core::jute::Encode;
use zk_core::proto::*;
use zk_core::{Acl, OpCode, Request, SessionId, Zxid};

#[path = "differential/runner.rs"]
mod runner;
use runner::*;

include!("differential/script.rs");

fn run(addr: SocketAddr) -> Vec<String> {
    let mut r = Runner::new(addr);
    r.connect(0);
    let ping = r.client(0).call(&Request::Ping).expect("ping");
    r.base = ping.last().map_or(0, |p| p.header.zxid.0);
    script(&mut r);
    r.log
}

#[test]
fn zk_server_answers_like_apache_zookeeper() {
    let apache = match ApacheZk::start(&[]) {
        Ok(z) => z,
        Err(e) => {
            eprintln!("skipping: {e}");
            return;
        }
    };
    let expected = run(apache.addr());
    drop(apache);
    let data_dir = tests::fresh_data_dir("diff");
    let mut cfg = zk_server::ServerConfig::for_tests(&data_dir);
    // Apache ZooKeeper's defaults: tickTime 2000, timeouts 4 s..40 s.
    cfg.tick_time_ms = 2000;
    cfg.min_session_timeout_ms = None;
    cfg.max_session_timeout_ms = None;
    let ours = tests::raw::InProcessServer::start(cfg).expect("start zk-server");
    let actual = run(ours.addr());
    drop(ours);
    let _ = std::fs::remove_dir_all(&data_dir);
    if let Ok(dir) = std::env::var("ZK_DIFF_DUMP") {
        let _ = std::fs::write(format!("{dir}/apache.log"), expected.join("\n"));
        let _ = std::fs::write(format!("{dir}/ours.log"), actual.join("\n"));
    }
    let ops = expected.iter().filter(|l| l.starts_with('>')).count();
    let mut mismatches = Vec::new();
    for (i, (e, a)) in expected.iter().zip(actual.iter()).enumerate() {
        if e != a {
            mismatches.push(format!("line {i}:\n  apache: {e}\n  ours:   {a}"));
        }
    }
    if expected.len() != actual.len() {
        mismatches.push(format!(
            "lengths differ: apache {} ours {}",
            expected.len(),
            actual.len()
        ));
    }
    eprintln!(
        "{ops} operations, {} observed lines, {} mismatches",
        expected.len(),
        mismatches.len()
    );
    if !mismatches.is_empty() {
        let context: Vec<String> = expected.iter().take(5).cloned().collect();
        let _ = context;
        panic!(
            "{}",
            mismatches
                .iter()
                .take(25)
                .cloned()
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
}
