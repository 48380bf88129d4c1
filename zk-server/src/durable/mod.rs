//! Durability: start-up recovery of a [`DataTree`] from Apache ZooKeeper's on-disk format, and
//! [`FileSink`], the [`TxnSink`](crate::TxnSink) that logs every transaction to
//! `version-2/log.*`, takes snapshots every snapCount transactions and purges old files.
//!
//! [`Server::start`](crate::Server::start) uses both; the same directory can be served by
//! Apache ZooKeeper 3.8 and by zk-server, in either order.

#![forbid(unsafe_code)]

mod sink;
mod snap;

use std::collections::HashMap;
use std::io;
use std::time::Instant;

use zk_core::SessionId;

use crate::config::ServerConfig;
use crate::core::acl::AclList;
use crate::core::{DataNode, DataTree};
use crate::persist::{recover, DataDirs, Recovered};

pub use sink::FileSink;
pub use snap::{write_snapshot, write_snapshot_paced};

/// The snapshot and log directories of `cfg` (`dataDir`, `dataLogDir`).
pub fn data_dirs(cfg: &ServerConfig) -> DataDirs {
    DataDirs::new(&cfg.data_dir, cfg.data_log_dir.as_deref())
}

/// Recovers the tree stored under `cfg`'s directories (creating them if missing): the newest
/// valid snapshot, then every logged transaction after it, replayed with Apache ZooKeeper's
/// rules (idempotent over a fuzzy snapshot). Without any snapshot (a new database, or logs
/// holding the whole history) a snapshot of the recovered tree is written first, as Apache
/// ZooKeeper writes `snapshot.0`, so later logs never lack a base.
///
/// # Errors
/// A corrupt record followed by valid ones, a gap in the log, a missing snapshot under a log
/// that does not start at the beginning, or an I/O error: the message names the file and, for
/// corruption, the byte offset. A torn tail of the newest log is truncated with a warning.
pub fn recover_tree(cfg: &ServerConfig) -> io::Result<DataTree> {
    let started = Instant::now();
    let dirs = data_dirs(cfg);
    for d in [&dirs.snap_dir, &dirs.log_dir] {
        std::fs::create_dir_all(d)
            .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", d.display())))?;
    }
    remove_unfinished_snapshots(&dirs.snap_dir);
    let rec = recover(&dirs)?;
    let had_snapshot = rec.snapshot.is_some();
    let n_txns = rec.txns.len();
    let tree = build_tree(rec)?;
    if !had_snapshot {
        let path = write_snapshot(&dirs.snap_dir, &tree)?;
        tracing::info!(file = %path.display(), "wrote the initial snapshot");
    }
    tracing::info!(
        nodes = tree.node_count(),
        replayed = n_txns,
        zxid = %tree.last_zxid(),
        elapsed_ms = started.elapsed().as_millis() as u64,
        "recovered the data tree"
    );
    Ok(tree)
}

/// [`recover_tree`] for an ensemble member: also the last `recent` transactions replayed, oldest
/// first, which seed the committed log a new leader DIFFs from.
///
/// # Errors
/// As [`recover_tree`].
pub fn recover_member(
    cfg: &ServerConfig,
    recent: usize,
) -> io::Result<(DataTree, Vec<crate::quorum::zab::Txn>)> {
    let started = Instant::now();
    let dirs = data_dirs(cfg);
    for d in [&dirs.snap_dir, &dirs.log_dir] {
        std::fs::create_dir_all(d)
            .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", d.display())))?;
    }
    remove_unfinished_snapshots(&dirs.snap_dir);
    let rec = recover(&dirs)?;
    let had_snapshot = rec.snapshot.is_some();
    let skip = rec.txns.len().saturating_sub(recent);
    let mut tail = Vec::new();
    for e in &rec.txns[skip..] {
        let body = e.body().map_err(|err| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "log record of zxid {} does not decode: {err}",
                    e.header.zxid
                ),
            )
        })?;
        tail.push(crate::quorum::zab::Txn {
            header: e.header.clone(),
            body,
        });
    }
    let tree = build_tree(rec)?;
    if !had_snapshot {
        write_snapshot(&dirs.snap_dir, &tree)?;
    }
    tracing::info!(
        nodes = tree.node_count(),
        zxid = %tree.last_zxid(),
        elapsed_ms = started.elapsed().as_millis() as u64,
        "recovered the data tree"
    );
    Ok((tree, tail))
}

/// Deletes `tmp.snapshot.*` files (and their `.nodes` spill files): snapshots a crash cut
/// short. They are never read (their names are not `snapshot.*`); this only frees the space.
fn remove_unfinished_snapshots(snap_dir: &std::path::Path) {
    let Ok(entries) = std::fs::read_dir(snap_dir) else {
        return;
    };
    for e in entries.flatten() {
        if e.file_name().to_string_lossy().starts_with("tmp.snapshot.") {
            tracing::warn!(file = %e.path().display(), "removing an unfinished snapshot");
            let _ = std::fs::remove_file(e.path());
        }
    }
}

/// Applies a recovered snapshot and log to a new tree (what [`recover_tree`] does after reading
/// the files).
///
/// # Errors
/// A node that references an ACL missing from the snapshot's map, or a log record that does not
/// decode.
pub fn build_tree(rec: Recovered) -> io::Result<DataTree> {
    let mut tree = DataTree::new();
    if let Some(snap) = rec.snapshot {
        tree = DataTree::empty();
        tree.reserve(snap.nodes.len());
        for (id, timeout) in &snap.sessions {
            tree.insert_session(*id, *timeout);
        }
        // Snapshot ACL id -> the tree's shared list.
        let mut by_id: HashMap<i64, AclList> = HashMap::new();
        for n in snap.nodes {
            let acl = match by_id.get(&n.acl) {
                Some(a) => a.clone(),
                None => {
                    let acl = snap.acls.get(n.acl).ok_or_else(|| {
                        io::Error::new(
                            io::ErrorKind::InvalidData,
                            format!(
                                "snapshot.{:x}: node {} references ACL {} missing from the ACL map",
                                snap.zxid.0, n.path, n.acl
                            ),
                        )
                    })?;
                    let acl = tree.intern_acl(&acl);
                    by_id.insert(n.acl, acl.clone());
                    acl
                }
            };
            let path = if n.path.is_empty() { "/" } else { &n.path };
            tree.insert_restored(path, DataNode::new(n.data, acl, n.stat));
        }
        tree.set_last_zxid(snap.zxid);
    }
    for t in &rec.txns {
        tree.replay(&t.header, &t.record).map_err(|e| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "log record of zxid {:#x} (type {}) does not decode: {e}",
                    t.header.zxid.0, t.header.txn_type
                ),
            )
        })?;
    }
    Ok(tree)
}

/// Sessions of a recovered tree (for logs and tests).
pub fn sessions_of(tree: &DataTree) -> Vec<(SessionId, i32)> {
    tree.sessions().iter().map(|(s, t)| (*s, *t)).collect()
}
