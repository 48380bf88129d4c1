//! Format tests across the module: golden files, torn tails, corruption, the dump tool. The
//! tests that check recovery against the replay model are in the `tests` crate
//! (`tests/persist_replay.rs`).

mod log;
mod snap;

use std::path::Path;

use bytes::Bytes;
use zk_core::data::Acl;
use zk_core::jute::Encode;
use zk_core::txn::*;
use zk_core::{OpCode, SessionId, Zxid};

use super::*;

pub(super) const PRE: u64 = 4096;

pub(super) fn config() -> TxnLogConfig {
    TxnLogConfig {
        pre_alloc_size: PRE,
        ..TxnLogConfig::default()
    }
}

pub(super) fn header(zxid: i64, t: OpCode) -> TxnHeader {
    TxnHeader {
        client_id: SessionId(0x77),
        cxid: zxid as i32,
        zxid: Zxid(zxid),
        time: 1000 + zxid,
        txn_type: t.as_i32(),
    }
}

pub(super) fn create(zxid: i64, path: &str, cversion: i32) -> TxnEntry {
    let body = CreateTxn {
        path: path.into(),
        data: Some(Bytes::from(format!("d{zxid}"))),
        acl: Acl::open_unsafe(),
        ephemeral: false,
        parent_cversion: cversion,
    };
    TxnEntry {
        header: header(zxid, OpCode::Create),
        record: body.to_bytes().into(),
        digest: None,
    }
}

/// `/n1 .. /nN` created at zxids 1..=N (the root's cversion counts them).
pub(super) fn creates(n: i64) -> Vec<TxnEntry> {
    (1..=n)
        .map(|z| create(z, &format!("/n{z}"), z as i32))
        .collect()
}

pub(super) fn write_log(dir: &Path, entries: &[TxnEntry]) {
    let mut log = TxnLog::open(dir, config()).unwrap();
    for e in entries {
        log.append(&e.header, &e.record, e.digest.as_ref()).unwrap();
    }
    log.close().unwrap();
}

pub(super) fn read_all(dir: &Path, after: i64) -> Vec<TxnEntry> {
    TxnLogIter::open(dir, Zxid(after), TornTail::Keep)
        .unwrap()
        .map(|e| e.unwrap())
        .collect()
}
