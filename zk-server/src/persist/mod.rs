//! Apache ZooKeeper 3.8's on-disk format: transaction logs, snapshots, epoch files, recovery.
//!
//! Files written here are read by Apache ZooKeeper and the other way round, byte for byte:
//! a data directory can move between zk-server and Apache ZooKeeper in both directions.
//!
//! | module | Apache ZooKeeper | what |
//! |---|---|---|
//! | [`TxnLog`] | `FileTxnLog` (write) | append, group-commit `sync`, preallocation, roll |
//! | [`scan_log_file`], [`TxnLogIter`] | `FileTxnLog.FileTxnIterator` | checked reading; torn tails |
//! | [`SnapshotWriter`], [`read_snapshot`] | `FileSnap`, `SerializeUtils`, `SnapStream` | snapshots |
//! | [`AclCache`] | `ReferenceCountedACLCache` | ACL ids with reference counts |
//! | [`read_epoch`], [`write_epoch`] | `QuorumPeer` epoch files | acceptedEpoch, currentEpoch |
//! | [`recover`] | `FileTxnSnapLog.restore` | newest valid snapshot + the log after it |
//! | [`truncate_log`], [`last_logged_zxid`] | `FileTxnLog.truncate`, `getLastLoggedZxid` | TRUNC |
//! | [`SnapScheduler`], [`purge`] | `SyncRequestProcessor`, `PurgeTxnLog` | when to snapshot, autopurge |
//! | [`dump_log`], [`dump_snapshot`] | `LogFormatter`, `SnapshotFormatter` | the operator tool's output |
//!
//! # How the server uses it
//!
//! 1. Start-up: [`recover`]`(&`[`DataDirs`]`::new(data_dir, data_log_dir))` returns the newest
//!    readable [`Snapshot`] and the [`TxnEntry`](zk_core::txn::TxnEntry)s after it (zk-core's log entry: header,
//!    record, digest). Build the tree from `snapshot.nodes` / `acls` / `sessions`, then apply
//!    every entry idempotently (the `tests` crate's `replay::ReplayTree` is a reference model of
//!    the exact rules, including the quirks Apache ZooKeeper has).
//!    Sessions restored this way must expire after their timeout unless their clients return.
//!    With no snapshot at all, write one of the empty tree first (Apache ZooKeeper writes
//!    `snapshot.0`), so that later logs never lack a base.
//! 2. Writes: one thread owns a [`TxnLog`]. For each queued transaction `append(header,
//!    body, digest)`; when the queue is empty (or 1000 are pending) `sync()`, then reply to
//!    all of them. The body is the transaction record encoded with `zk_core::jute`; the digest
//!    is the tree digest after applying it (3.8 logs one; `None` is accepted by 3.8 too).
//! 3. Snapshots: feed every logged transaction's size to [`SnapScheduler::record`]; when it says
//!    so, [`TxnLog::roll`], remember the last applied zxid Z, and on another thread write
//!    `SnapshotWriter::create(snap_dir, Z)` → `sessions` → `acl_cache` → `node`... → `finish`
//!    while writes go on. Then [`purge`] if autopurge is on.
//! 4. Ensembles: [`read_epoch`]/[`write_epoch`] for acceptedEpoch/currentEpoch (fsynced,
//!    atomic), [`truncate_log`] for TRUNC.
//!
//! # Durability contract
//!
//! A write may be acknowledged once [`TxnLog::sync`] has returned after its append. Recovery
//! returns every synced transaction; a transaction cut short by a crash is dropped whole (its
//! record fails its checksum and the file is truncated there). A damaged record followed by
//! valid ones is never skipped: recovery fails naming the file and the byte offset.

#![forbid(unsafe_code)]

mod acl_cache;
mod checksum;
mod dump;
mod epoch;
mod error;
mod files;
mod logiter;
mod logscan;
mod policy;
mod recovery;
mod snapshot;
mod snapshot_read;
mod truncate;
mod txnlog;

pub use acl_cache::{AclCache, OPEN_UNSAFE_ACL_ID};
pub use checksum::{adler32, node_digest, Adler32Stream, Crc32, DIGEST_VERSION};
pub use dump::{acl_str, describe_txn, dump_log, dump_snapshot, format_time};
pub use epoch::{
    is_updating_epoch, read_epoch, set_updating_epoch, write_epoch, ACCEPTED_EPOCH, CURRENT_EPOCH,
    UPDATING_EPOCH,
};
pub use error::{PersistError, Result};
pub use files::{
    fsync_dir, list, log_name, logs_from, snapshot_name, version_dir, write_atomic, zxid_from_name,
    LOG_PREFIX, SNAPSHOT_PREFIX, VERSION_DIR,
};
pub use logiter::{TornTail, TxnLogIter};
pub use logscan::{scan_log_bytes, scan_log_file, LogEnd, LogFileScan};
pub use policy::{purge, purge_plan, SnapScheduler, DEFAULT_SNAP_COUNT, DEFAULT_SNAP_SIZE_BYTES};
pub use recovery::{recover, DataDirs, Recovered};
pub use snapshot::{SnapDigest, SnapshotWriter, SNAPSHOT_DBID, SNAPSHOT_SYNC_EVERY};
pub use snapshot_read::{parse_snapshot, read_snapshot, SnapNode, Snapshot};
pub use truncate::{last_logged_zxid, truncate_log};
pub use txnlog::{
    encode_record, padded_size, TxnLog, TxnLogConfig, DEFAULT_PRE_ALLOC_SIZE, END_OF_RECORD,
    FILE_HEADER_LEN,
};

#[cfg(test)]
mod tests;
