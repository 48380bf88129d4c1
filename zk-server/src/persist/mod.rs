//! Apache ZooKeeper 3.8's on-disk format: transaction logs, snapshots, epoch files, recovery.
//!
//! Files written here are read by Apache ZooKeeper and the other way round, byte for byte:
//! a data directory can move between zk-server and Apache ZooKeeper in both directions.
//!
//! | module | Apache ZooKeeper | what |
//! |---|---|---|
//! | [`TxnLog`] | `FileTxnLog` (write) | append, group-commit `sync`, preallocation, roll |
//! | [`scan_log_file`], [`TxnLogIter`] | `FileTxnLog.FileTxnIterator` | checked reading; torn tails |
//! | [`TxnEntry`], [`LogTxn`] | `TxnLogEntry`, `SerializeUtils.deserializeTxn` | log entries |
//! | [`SnapshotWriter`], [`read_snapshot`] | `FileSnap`, `SerializeUtils`, `SnapStream` | snapshots |
//! | [`AclCache`] | `ReferenceCountedACLCache` | ACL ids with reference counts |
//! | [`read_epoch`], [`write_epoch`] | `QuorumPeer` epoch files | acceptedEpoch, currentEpoch |
//! | [`recover`] | `FileTxnSnapLog.restore` | newest valid snapshot + the log after it |
//! | [`SnapScheduler`], [`purge`] | `SyncRequestProcessor`, `PurgeTxnLog` | when to snapshot, autopurge |
//! | [`ReplayTree`] | `DataTree.processTxn` on replay | reference model of apply, tree digest |
//! | [`dump_log`], [`dump_snapshot`] | `LogFormatter`, `SnapshotFormatter` | the operator tool's output |
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
mod entry;
mod epoch;
mod error;
mod files;
mod logiter;
mod logscan;
mod policy;
mod recovery;
mod replay;
mod snapshot;
mod snapshot_read;
mod txnlog;

pub use acl_cache::{AclCache, OPEN_UNSAFE_ACL_ID};
pub use checksum::{adler32, node_digest, Adler32Stream, Crc32, DIGEST_VERSION};
pub use dump::{describe_txn, dump_log, dump_snapshot, format_time};
pub use entry::{LogTxn, TxnEntry};
pub use epoch::{read_epoch, write_epoch, ACCEPTED_EPOCH, CURRENT_EPOCH};
pub use error::{PersistError, Result};
pub use files::{
    fsync_dir, list, log_name, logs_from, snapshot_name, version_dir, write_atomic, zxid_from_name,
    LOG_PREFIX, SNAPSHOT_PREFIX, VERSION_DIR,
};
pub use logiter::{TornTail, TxnLogIter};
pub use logscan::{scan_log_bytes, scan_log_file, LogEnd, LogFileScan};
pub use policy::{purge, purge_plan, SnapScheduler, DEFAULT_SNAP_COUNT, DEFAULT_SNAP_SIZE_BYTES};
pub use recovery::{recover, DataDirs, Recovered};
pub use replay::{ReplayNode, ReplayTree, CONTAINER_OWNER, TTL_OWNER_MASK};
pub use snapshot::{SnapDigest, SnapshotWriter, SNAPSHOT_DBID, SNAPSHOT_SYNC_EVERY};
pub use snapshot_read::{parse_snapshot, read_snapshot, SnapNode, Snapshot};
pub use txnlog::{
    encode_record, padded_size, TxnLog, TxnLogConfig, DEFAULT_PRE_ALLOC_SIZE, END_OF_RECORD,
    FILE_HEADER_LEN,
};

#[cfg(test)]
mod tests;
