//! Crash safety of the log writer: a child process appends transactions (multis among them)
//! with group commit and reports each synced zxid; it is SIGKILLed at a random moment, the last
//! file's unsynced tail is optionally cut at a random byte (a power loss mid-write), and
//! recovery must return every acknowledged transaction, whole, and nothing torn.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use bytes::Bytes;
use zk_core::jute::Encode;
use zk_core::txn::*;
use zk_core::{OpCode, SessionId, Zxid};
use zk_server::persist::{
    list, recover, scan_log_file, DataDirs, TxnLog, TxnLogConfig, LOG_PREFIX,
};

const CHILD_ENV: &str = "PERSIST_CRASH_CHILD_DIR";

fn entry_body(zxid: i64) -> (OpCode, Vec<u8>) {
    if zxid % 5 == 0 {
        let sub = |p: String| Txn {
            txn_type: OpCode::Create.as_i32(),
            data: CreateTxn {
                path: p,
                data: Some(Bytes::from(vec![b'm'; 300])),
                acl: vec![],
                ephemeral: false,
                parent_cversion: -1,
            }
            .to_bytes()
            .into(),
        };
        let multi = MultiTxn {
            txns: (0..4).map(|k| sub(format!("/m{zxid}-{k}"))).collect(),
        };
        (OpCode::Multi, multi.to_bytes())
    } else {
        let set = SetDataTxn {
            path: format!("/n{zxid}"),
            data: Some(Bytes::from(vec![b'd'; 100 + (zxid % 700) as usize])),
            version: 1,
        };
        (OpCode::SetData, set.to_bytes())
    }
}

/// The child: append batches of 1..=50 txns, sync, print the last synced zxid. Resumes after
/// the zxid recovery finds, as a restarted server would.
fn child(dir: &str) {
    let dirs = DataDirs::new(std::path::Path::new(dir), None);
    let start = recover(&dirs).expect("recover").last_zxid().0;
    let config = TxnLogConfig {
        pre_alloc_size: 16 * 1024,
        ..Default::default()
    };
    let mut log = TxnLog::open(&dirs.log_dir, config).expect("open");
    let mut zxid = start;
    let mut batch = 1;
    loop {
        for _ in 0..batch {
            zxid += 1;
            let (t, body) = entry_body(zxid);
            let h = TxnHeader {
                client_id: SessionId(1),
                cxid: zxid as i32,
                zxid: Zxid(zxid),
                time: zxid,
                txn_type: t.as_i32(),
            };
            log.append(&h, &body, None).expect("append");
            if zxid % 397 == 0 {
                log.roll().expect("roll");
            }
        }
        log.sync().expect("sync");
        println!("{zxid}");
        batch = batch % 50 + 1;
    }
}

#[test]
fn acknowledged_writes_survive_sigkill_and_torn_tails() {
    if let Ok(dir) = std::env::var(CHILD_ENV) {
        child(&dir);
        return;
    }
    let data = tempfile::tempdir().unwrap();
    let dirs = DataDirs::new(data.path(), None);
    let exe = std::env::current_exe().unwrap();
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15 ^ std::process::id() as u64;
    let mut rand = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut acked_total = 0;
    let mut torn = 0;
    for round in 0..6 {
        let mut proc = Command::new(&exe)
            .args([
                "--exact",
                "acknowledged_writes_survive_sigkill_and_torn_tails",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_ENV, data.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let out = BufReader::new(proc.stdout.take().unwrap());
        let kill_after = Duration::from_millis(100 + rand() % 400);
        let started = Instant::now();
        let mut acked = 0i64;
        for line in out.lines() {
            let line = line.unwrap();
            if let Ok(z) = line.trim().parse::<i64>() {
                acked = z;
            }
            if started.elapsed() > kill_after && acked > 0 {
                break;
            }
        }
        // Let the child run on unobserved for a moment: what it writes now is not acknowledged
        // to us, so it may be cut below.
        std::thread::sleep(Duration::from_millis(rand() % 30));
        proc.kill().unwrap();
        proc.wait().unwrap();
        assert!(acked > 0, "round {round}: the child acknowledged nothing");

        // Half the rounds: a power loss cuts the newest file inside the unacknowledged tail.
        let logs = list(&dirs.log_dir, LOG_PREFIX).unwrap();
        let (_, newest) = logs.last().unwrap();
        let scan = scan_log_file(newest).unwrap();
        if round % 2 == 1 {
            if let Some((off, _)) = scan.entries.iter().find(|(_, e)| e.header.zxid.0 > acked) {
                let end = std::fs::metadata(newest).unwrap().len();
                let cut = off + 1 + rand() % (end - off).min(2000);
                let f = std::fs::OpenOptions::new()
                    .write(true)
                    .open(newest)
                    .unwrap();
                f.set_len(cut).unwrap();
                torn += 1;
            }
        }

        let rec = recover(&dirs).unwrap();
        assert!(
            rec.last_zxid().0 >= acked,
            "round {round}: acked {acked}, recovered {}",
            rec.last_zxid()
        );
        for (i, t) in rec.txns.iter().enumerate() {
            assert_eq!(t.header.zxid, Zxid(i as i64 + 1), "contiguous");
            if let TxnBody::Multi(subs) = t.body().unwrap() {
                assert_eq!(subs.len(), 4, "a multi is whole or absent");
            }
        }
        acked_total = acked;
    }
    assert!(acked_total > 100, "the load made progress: {acked_total}");
    assert!(torn > 0, "at least one round cut a file mid-record");
}
