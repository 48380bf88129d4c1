//! Writing a snapshot of a [`DataTree`] in Apache ZooKeeper's format.

use std::path::{Path, PathBuf};

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
    let mut w = SnapshotWriter::create(snap_dir, tree.last_zxid())?;
    w.sessions(tree.sessions().iter().map(|(s, t)| (*s, *t)))?;
    let mut stack: Vec<String> = vec!["/".to_owned()];
    while let Some(p) = stack.pop() {
        let Some(node) = tree.node(&p) else { continue };
        w.node_with_acl(&p, node.data.as_deref(), &node.acl, &node.stat)?;
        for c in node.children_iter() {
            stack.push(path::join(&p, c));
        }
    }
    w.finish(None)
}
