//! Transaction log files: golden bytes, rolls, torn tails, corruption.

use std::fs;
use std::path::Path;

use zk_core::jute::{Encode, WriteExt};
use zk_core::txn::*;
use zk_core::{OpCode, Zxid};

use super::*;

#[test]
fn log_file_golden_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let e = TxnEntry {
        header: header(1, OpCode::CreateSession),
        record: CreateSessionTxn { timeout_ms: 30_000 }.to_bytes().into(),
        digest: Some(TxnDigest {
            version: 2,
            tree_digest: 5,
        }),
    };
    write_log(dir.path(), std::slice::from_ref(&e));
    let got = fs::read(dir.path().join("log.1")).unwrap();
    let mut want = b"ZKLG".to_vec();
    want.put_i32(2);
    want.put_i64(0);
    let mut entry = Vec::new();
    e.header.encode(&mut entry);
    entry.put_i32(30_000);
    entry.put_i32(2);
    entry.put_i64(5);
    assert_eq!(entry.len(), 32 + 4 + 12);
    want.put_i64(adler32(&entry));
    want.put_i32(entry.len() as i32);
    want.extend_from_slice(&entry);
    want.push(b'B');
    want.resize(16 + PRE as usize, 0);
    assert_eq!(got, want);
}

#[test]
fn log_round_trip_across_rolls_and_preallocation() {
    let dir = tempfile::tempdir().unwrap();
    let all = creates(300);
    let mut log = TxnLog::open(dir.path(), config()).unwrap();
    for (i, e) in all.iter().enumerate() {
        if i == 100 || i == 200 {
            log.roll().unwrap();
        }
        log.append(&e.header, &e.record, None).unwrap();
        if i % 7 == 0 {
            log.sync().unwrap();
        }
    }
    assert!(
        log.append(&all[0].header, &all[0].record, None).is_err(),
        "zxids must increase"
    );
    log.close().unwrap();
    let names: Vec<String> = list(dir.path(), LOG_PREFIX)
        .unwrap()
        .iter()
        .map(|(_, p)| p.file_name().unwrap().to_string_lossy().into())
        .collect();
    assert_eq!(names, ["log.1", "log.65", "log.c9"]);
    for (_, p) in list(dir.path(), LOG_PREFIX).unwrap() {
        let len = fs::metadata(&p).unwrap().len();
        assert_eq!(
            len % PRE,
            16 % PRE,
            "{} is preallocated in blocks: {len}",
            p.display()
        );
        assert!(len > 16 + PRE, "100 records need more than one block");
    }
    assert_eq!(read_all(dir.path(), 0), all);
    let tail = read_all(dir.path(), 150);
    assert_eq!(tail.first().unwrap().header.zxid, Zxid(151));
    assert_eq!(tail.len(), 150);
}

/// The offset of each record of a log file.
fn offsets(path: &Path) -> Vec<u64> {
    scan_log_file(path)
        .unwrap()
        .entries
        .iter()
        .map(|(o, _)| *o)
        .collect()
}

#[test]
fn torn_tail_is_truncated_with_the_file_reused_afterwards() {
    let dir = tempfile::tempdir().unwrap();
    write_log(dir.path(), &creates(11));
    let path = dir.path().join("log.1");
    let last = offsets(&path)[10];
    // A write cut short: the last record's second half never reached the disk.
    let mut bytes = fs::read(&path).unwrap();
    for b in &mut bytes[last as usize + 20..last as usize + 60] {
        *b = 0;
    }
    fs::write(&path, &bytes).unwrap();
    let scan = scan_log_file(&path).unwrap();
    assert_eq!(scan.entries.len(), 10);
    assert!(matches!(scan.end, LogEnd::Torn { offset, .. } if offset == last));

    let snap_dir = tempfile::tempdir().unwrap();
    let dirs = DataDirs {
        snap_dir: snap_dir.path().into(),
        log_dir: dir.path().into(),
    };
    let rec = recover(&dirs).unwrap();
    assert_eq!(rec.txns.len(), 10);
    assert_eq!(rec.last_zxid(), Zxid(10));
    assert_eq!(
        fs::metadata(&path).unwrap().len(),
        last,
        "truncated at the torn record"
    );
    // The writer continues in a new file, and everything reads back.
    let e = create(11, "/n11", 11);
    write_log(dir.path(), std::slice::from_ref(&e));
    assert_eq!(read_all(dir.path(), 0).len(), 11);
}

#[test]
fn garbage_after_the_last_record_is_a_torn_tail() {
    let dir = tempfile::tempdir().unwrap();
    write_log(dir.path(), &creates(3));
    let path = dir.path().join("log.1");
    let end = match scan_log_file(&path).unwrap().end {
        LogEnd::Clean { offset } => offset as usize,
        other => panic!("{other:?}"),
    };
    let mut bytes = fs::read(&path).unwrap();
    bytes[end..end + 12].copy_from_slice(&[0, 0, 0, 0, 0x12, 0x34, 0, 0, 0, 0, 0, 40]);
    fs::write(&path, &bytes).unwrap();
    let scan = scan_log_file(&path).unwrap();
    assert_eq!(scan.entries.len(), 3);
    assert!(matches!(scan.end, LogEnd::Torn { offset, .. } if offset as usize == end));
}

#[test]
fn corruption_in_the_middle_is_a_hard_error_naming_file_and_offset() {
    let dir = tempfile::tempdir().unwrap();
    write_log(dir.path(), &creates(10));
    let path = dir.path().join("log.1");
    let at = offsets(&path)[4];
    let mut bytes = fs::read(&path).unwrap();
    bytes[at as usize + 30] ^= 0x01;
    fs::write(&path, &bytes).unwrap();
    let err = scan_log_file(&path).unwrap_err();
    match &err {
        PersistError::Corrupt {
            path: p, offset, ..
        } => {
            assert_eq!(p, &path);
            assert_eq!(*offset, at);
        }
        other => panic!("{other:?}"),
    }
    let msg = err.to_string();
    assert!(
        msg.contains("log.1") && msg.contains(&format!("byte {at}")),
        "{msg}"
    );
    let dirs = DataDirs {
        snap_dir: dir.path().join("none"),
        log_dir: dir.path().into(),
    };
    assert!(matches!(recover(&dirs), Err(PersistError::Corrupt { .. })));
    assert_eq!(fs::read(&path).unwrap(), bytes, "nothing truncated");
}

#[test]
fn torn_tail_in_an_older_file_is_a_hard_error() {
    let dir = tempfile::tempdir().unwrap();
    let all = creates(6);
    let mut log = TxnLog::open(dir.path(), config()).unwrap();
    for (i, e) in all.iter().enumerate() {
        if i == 3 {
            log.roll().unwrap();
        }
        log.append(&e.header, &e.record, None).unwrap();
    }
    log.close().unwrap();
    let path = dir.path().join("log.1");
    let last = offsets(&path)[2] as usize;
    let mut bytes = fs::read(&path).unwrap();
    bytes[last + 14] ^= 0xff;
    fs::write(&path, &bytes).unwrap();
    let err = TxnLogIter::open(dir.path(), Zxid(0), TornTail::Truncate)
        .unwrap()
        .find_map(|e| e.err())
        .unwrap();
    assert!(
        matches!(err, PersistError::Corrupt { offset, .. } if offset as usize == last),
        "{err}"
    );
}

#[test]
fn truncate_cuts_back_to_a_zxid_across_files() {
    let dir = tempfile::tempdir().unwrap();
    let all = creates(30);
    let mut log = TxnLog::open(dir.path(), config()).unwrap();
    for (i, e) in all.iter().enumerate() {
        if i == 10 || i == 20 {
            log.roll().unwrap();
        }
        log.append(&e.header, &e.record, None).unwrap();
    }
    log.close().unwrap();
    assert_eq!(last_logged_zxid(dir.path()).unwrap(), Some(Zxid(30)));
    let deleted = truncate_log(dir.path(), Zxid(15)).unwrap();
    assert_eq!(deleted.len(), 1);
    assert_eq!(read_all(dir.path(), 0), all[..15]);
    assert_eq!(last_logged_zxid(dir.path()).unwrap(), Some(Zxid(15)));
    // The writer continues after the cut, in a new file.
    write_log(dir.path(), &all[15..17]);
    assert_eq!(read_all(dir.path(), 0), all[..17]);
    assert!(
        truncate_log(dir.path(), Zxid(0)).is_err(),
        "no file holds zxid 0"
    );
}

/// Any single damaged byte (every position, two patterns) is caught: the scan yields exactly the records before the damaged
/// one and then either stops with a hard error at that record (valid records follow) or reports
/// a torn tail there (it was the last). Never a wrong record, never a silent skip.
#[test]
fn every_single_byte_corruption_is_caught() {
    let dir = tempfile::tempdir().unwrap();
    let all = creates(20);
    write_log(dir.path(), &all);
    let path = dir.path().join("log.1");
    let clean = fs::read(&path).unwrap();
    let offs = offsets(&path);
    let end = match scan_log_file(&path).unwrap().end {
        LogEnd::Clean { offset } => offset,
        other => panic!("{other:?}"),
    };
    for (at, flip) in (0..end as usize + 64).flat_map(|at| [(at, 0x01u8), (at, 0xff)]) {
        let mut bytes = clean.clone();
        bytes[at] ^= flip;
        let got = scan_log_bytes(&path, &bytes);
        if at < 8 {
            assert!(got.is_err(), "magic or version byte {at}");
            continue;
        }
        if at < 16 {
            // The dbid: Apache ZooKeeper does not check it either.
            assert_eq!(got.unwrap().entries.len(), 20);
            continue;
        }
        let rec = offs.iter().rposition(|&o| o as usize <= at).unwrap();
        let last = at as u64 >= end;
        match got {
            Err(PersistError::Corrupt { offset, .. }) => {
                assert!(
                    !last && rec + 1 < offs.len(),
                    "byte {at}: hard error only mid-log"
                );
                assert_eq!(offset, offs[rec], "byte {at}");
            }
            Ok(scan) if last => {
                assert_eq!(scan.entries.len(), 20, "byte {at} in the padding");
                assert!(matches!(scan.end, LogEnd::Torn { offset, .. } if offset == end));
            }
            Ok(scan) => {
                assert_eq!(rec, 19, "byte {at}: only the last record may be torn");
                assert_eq!(scan.entries.len(), 19);
                let got: Vec<&TxnEntry> = scan.entries.iter().map(|(_, e)| e).collect();
                assert!(got.iter().zip(&all).all(|(a, b)| *a == b));
                assert!(matches!(scan.end, LogEnd::Torn { offset, .. } if offset == offs[19]));
            }
            Err(other) => panic!("byte {at}: {other}"),
        }
    }
}

/// The writer lives on a dedicated thread (or in `spawn_blocking`), the snapshot writer on
/// another: both must move between threads.
#[test]
fn writers_are_send() {
    fn send<T: Send + 'static>() {}
    send::<TxnLog>();
    send::<SnapshotWriter>();
    send::<TxnLogIter>();
    send::<PersistError>();
}
