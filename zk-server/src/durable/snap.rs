//! Writing a snapshot of a [`DataTree`] in Apache ZooKeeper's format.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Instant;

use zk_core::path;

use crate::core::DataTree;
use crate::persist::{Result, SnapshotWriter};

/// Writes `snapshot.<tree.last_zxid()>` into `snap_dir`: the session table, the ACL map built
/// from the nodes written, and every node parent first (depth first from `/`, as Apache
/// ZooKeeper's `serializeNode`). Fsynced and renamed into place; returns its path.
///
/// # Errors
/// I/O errors, naming the file.
pub fn write_snapshot(snap_dir: &Path, tree: &DataTree) -> Result<PathBuf> {
    write_snapshot_paced(snap_dir, tree, &AtomicU32::new(0))
}

/// Nodes serialized between two pauses of a paced snapshot.
const PACE_CHUNK: u64 = 8192;

/// [`write_snapshot`], pausing after every chunk of nodes for `pace_percent` % of the time the
/// chunk took (0: no pause), so that a background snapshot leaves CPU and disk bandwidth to
/// the request path. `pace_percent` is read at every chunk: setting it to 0 finishes the
/// snapshot at full speed (at shutdown).
///
/// # Errors
/// I/O errors, naming the file.
pub fn write_snapshot_paced(
    snap_dir: &Path,
    tree: &DataTree,
    pace_percent: &AtomicU32,
) -> Result<PathBuf> {
    let mut w = SnapshotWriter::create(snap_dir, tree.last_zxid())?;
    let mut chunk_start = Instant::now();
    w.sessions(tree.sessions().iter().map(|(s, t)| (*s, *t)))?;
    let mut stack: Vec<String> = vec!["/".to_owned()];
    while let Some(p) = stack.pop() {
        let Some(node) = tree.node(&p) else { continue };
        w.node_with_acl(&p, node.data.as_deref(), &node.acl, &node.stat)?;
        if w.node_count() % PACE_CHUNK == 0 {
            let pace = pace_percent.load(Ordering::Relaxed);
            if pace > 0 {
                std::thread::sleep(chunk_start.elapsed() * pace / 100);
            }
            chunk_start = Instant::now();
        }
        for c in node.children_iter() {
            stack.push(path::join(&p, c));
        }
    }
    w.finish(None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use zk_core::txn::{CreateTxn, TxnBody, TxnHeader};
    use zk_core::{Acl, OpCode, SessionId, Zxid};

    fn create(tree: &mut DataTree, zxid: i64, path: &str) {
        let h = TxnHeader {
            client_id: SessionId(1),
            cxid: 1,
            zxid: Zxid(zxid),
            time: 1,
            txn_type: OpCode::Create.as_i32(),
        };
        let body = TxnBody::Create(CreateTxn {
            path: path.into(),
            data: Some(Bytes::from_static(b"x")),
            acl: Acl::open_unsafe(),
            ephemeral: false,
            parent_cversion: -1,
        });
        tree.apply(&h, &body, &mut Vec::new());
    }

    #[test]
    fn a_copy_keeps_its_state_and_the_snapshot_has_the_latest() {
        let mut t = DataTree::new();
        create(&mut t, 1, "/p");
        let copy = t.clone();
        create(&mut t, 2, "/p/a");
        assert_eq!(copy.node("/p").unwrap().num_children(), 0);
        assert_eq!(t.node("/p").unwrap().num_children(), 1);
        let copy2 = t.clone();
        create(&mut t, 3, "/p/b");
        assert_eq!(copy2.node("/p").unwrap().num_children(), 1);
        let dir = tempfile::tempdir().unwrap();
        let path = write_snapshot(dir.path(), &t).unwrap();
        let s = crate::persist::read_snapshot(&path).unwrap();
        let p = s.nodes.iter().find(|n| n.path == "/p").unwrap();
        assert_eq!(p.stat.cversion, 2);
        assert_eq!(s.nodes.len(), 7);
    }
}
