//! The snapshot writer (`FileSnap.serialize`, `SerializeUtils.serializeSnapshot`,
//! `DataTree.serialize`).
//!
//! # File layout (Apache ZooKeeper 3.8, plain stream)
//!
//! ```text
//! FileHeader { int magic "ZKSN"; int version 2; long dbid -1 }
//! int sessionCount; sessionCount * { long id; int timeout }
//! int aclCount; aclCount * { long id; vector<ACL> acls }            (ReferenceCountedACLCache)
//! repeated: ustring path; buffer data; long acl; StatPersisted stat  (parents before children;
//!           the root is written with the path "")
//! ustring "/"                                                        (end of nodes)
//! long adler32 of every byte so far; ustring "/"                     (seal)
//! long zxid; int digestVersion; long digest                          (3.6+ ZxidDigest)
//! long adler32 of every byte so far; ustring "/"                     (second seal)
//! ```
//!
//! 3.9 may add `long lastProcessedZxid` and a third seal; [`read_snapshot`](super::read_snapshot)
//! accepts it, this writer writes 3.8's form, which 3.8 and 3.9 both read.
//!
//! # Fuzzy snapshots
//!
//! The writer takes nodes one at a time, so the server can feed it from its live tree while
//! writes continue: name the snapshot after the last zxid applied *before* it starts. Nodes
//! written later may already include changes of later zxids. Recovery replays the log from the
//! snapshot's zxid + 1, so every transaction must be idempotent on a tree that may already
//! contain it: a create of an existing node is skipped (but its ACL is still interned, since the
//! ACL map was written before the node), a delete of a missing node is skipped, setData and
//! setACL set absolute values from the record, and the parent's cversion/pzxid only move
//! forward (`parentCVersion > cversion`). The `tests` crate's `replay::ReplayTree` is the
//! reference.
//! The session table and ACL map are written first: the server should take both at the start.
//!
//! The file is written as `tmp.snapshot.<zxid>`, fsynced and renamed, so a crash never leaves a
//! partial file under a snapshot name.

use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use zk_core::data::{Acl, StatPersisted};
use zk_core::jute::{Encode, WriteExt};
use zk_core::txn::FileHeader;
use zk_core::{SessionId, Zxid};

use super::acl_cache::AclCache;
use super::checksum::{Adler32Stream, DIGEST_VERSION};
use super::error::{IoContext, PersistError, Result};
use super::files::{fsync_dir, snapshot_name};

/// How many bytes a snapshot writer writes between incremental write-backs: 8 MiB.
pub const SNAPSHOT_SYNC_EVERY: u64 = 8 << 20;

/// The dbid Apache ZooKeeper writes in snapshot headers.
pub const SNAPSHOT_DBID: i64 = -1;

/// The 3.6+ digest trailer (`DataTree.ZxidDigest`): the tree digest as of `zxid`. A `zxid` of 0
/// means "no digest" and readers skip the comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SnapDigest {
    /// The zxid the digest was taken at.
    pub zxid: Zxid,
    /// The digest algorithm version (2).
    pub version: i32,
    /// The tree digest: the wrapping sum of [`node_digest`](super::node_digest) over all nodes.
    pub digest: i64,
}

impl SnapDigest {
    /// The "empty" digest Apache ZooKeeper writes when it has none.
    pub fn none() -> SnapDigest {
        SnapDigest {
            zxid: Zxid::ZERO,
            version: DIGEST_VERSION,
            digest: 0,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    Sessions,
    Acls,
    Nodes,
    /// Nodes given with their ACL lists, spilled until the map they need is known.
    Spilling,
}

/// The node section of a snapshot whose ACL map is built from the nodes themselves.
#[derive(Debug)]
struct Spill {
    path: PathBuf,
    out: BufWriter<File>,
    acls: AclCache,
}

/// Writes one snapshot, section by section: [`sessions`](Self::sessions), then either
/// [`acl_cache`](Self::acl_cache) and any number of [`node`](Self::node) (ACL ids, as Apache
/// ZooKeeper's tree keeps them), or any number of [`node_with_acl`](Self::node_with_acl) (ACL
/// lists; the map is derived), then [`finish`](Self::finish). Dropping it unfinished leaves only
/// `tmp.` files.
#[derive(Debug)]
pub struct SnapshotWriter {
    path: PathBuf,
    tmp: PathBuf,
    out: BufWriter<File>,
    crc: Adler32Stream,
    stage: Stage,
    nodes: u64,
    buf: Vec<u8>,
    unsynced: u64,
    sync_every: u64,
    spill: Option<Spill>,
}

impl SnapshotWriter {
    /// Starts `snapshot.<zxid>` in `snap_dir` (a `version-2` directory, created if missing),
    /// where `zxid` is the last transaction applied before the snapshot starts.
    pub fn create(snap_dir: &Path, zxid: Zxid) -> Result<SnapshotWriter> {
        std::fs::create_dir_all(snap_dir).at(snap_dir)?;
        let path = snap_dir.join(snapshot_name(zxid));
        // Not `snapshot.<zxid>.tmp`: Apache ZooKeeper would take that name for a snapshot.
        let tmp = snap_dir.join(format!("tmp.{}", snapshot_name(zxid)));
        let file = File::create(&tmp).at(&tmp)?;
        let mut w = SnapshotWriter {
            path,
            tmp,
            out: BufWriter::with_capacity(1 << 20, file),
            crc: Adler32Stream::default(),
            stage: Stage::Sessions,
            nodes: 0,
            buf: Vec::with_capacity(4096),
            unsynced: 0,
            sync_every: SNAPSHOT_SYNC_EVERY,
            spill: None,
        };
        FileHeader {
            magic: FileHeader::SNAP_MAGIC,
            version: FileHeader::VERSION,
            dbid: SNAPSHOT_DBID,
        }
        .encode(&mut w.buf);
        w.emit()?;
        Ok(w)
    }

    fn emit(&mut self) -> Result<()> {
        self.crc.update(&self.buf);
        self.out.write_all(&self.buf).at(&self.tmp)?;
        self.unsynced += self.buf.len() as u64;
        self.buf.clear();
        if self.sync_every > 0 && self.unsynced >= self.sync_every {
            // Write back in slices, so that the final fsync does not flush hundreds of MB at
            // once and stall the transaction log's fsyncs behind it.
            self.out.flush().at(&self.tmp)?;
            self.out.get_ref().sync_data().at(&self.tmp)?;
            self.unsynced = 0;
        }
        Ok(())
    }

    /// Writes back every `bytes` written (0: only at the end). The default,
    /// [`SNAPSHOT_SYNC_EVERY`], keeps the log's fsync latency low while a snapshot is written.
    pub fn sync_every(&mut self, bytes: u64) {
        self.sync_every = bytes;
    }

    fn require(&self, stage: Stage, what: &str) -> Result<()> {
        if self.stage == stage {
            Ok(())
        } else {
            Err(PersistError::Misuse {
                path: self.tmp.clone(),
                reason: format!(
                    "{what} written out of order (writer is at {:?})",
                    self.stage
                ),
            })
        }
    }

    /// Writes the session table: (session id, timeout in ms) pairs.
    pub fn sessions<I>(&mut self, sessions: I) -> Result<()>
    where
        I: IntoIterator<Item = (SessionId, i32)>,
        I::IntoIter: ExactSizeIterator,
    {
        self.require(Stage::Sessions, "the session table")?;
        let it = sessions.into_iter();
        self.buf.put_i32(it.len() as i32);
        for (id, timeout) in it {
            self.buf.put_i64(id.0);
            self.buf.put_i32(timeout);
        }
        self.emit()?;
        self.stage = Stage::Acls;
        Ok(())
    }

    /// Writes the ACL map.
    pub fn acl_cache(&mut self, acls: &AclCache) -> Result<()> {
        self.require(Stage::Acls, "the ACL map")?;
        acls.encode(&mut self.buf);
        self.emit()?;
        self.stage = Stage::Nodes;
        Ok(())
    }

    /// Writes one node. The root may be given as "/" or ""; every node's parent must come
    /// before it. `data` `None` is the null buffer, distinct from empty.
    pub fn node(
        &mut self,
        path: &str,
        data: Option<&[u8]>,
        acl: i64,
        stat: &StatPersisted,
    ) -> Result<()> {
        self.require(Stage::Nodes, "a node")?;
        self.buf.put_ustring(if path == "/" { "" } else { path });
        self.buf.put_buffer(data);
        self.buf.put_i64(acl);
        stat.encode(&mut self.buf);
        self.nodes += 1;
        self.emit()
    }

    /// Writes one node given with its ACL list instead of an id, for trees that keep ACL lists
    /// on their nodes. Call it instead of [`acl_cache`](Self::acl_cache) and
    /// [`node`](Self::node): the writer builds the ACL map from exactly the nodes written, so
    /// that every reference resolves even when ACLs change while a fuzzy snapshot is written
    /// (with a map copied up front, a node serialized later may reference an id the map lacks,
    /// and replay cannot repair it). The nodes are spilled to a temporary file until
    /// [`finish`](Self::finish) writes the map before them.
    pub fn node_with_acl(
        &mut self,
        path: &str,
        data: Option<&[u8]>,
        acl: &[Acl],
        stat: &StatPersisted,
    ) -> Result<()> {
        if self.stage == Stage::Acls {
            let mut name = self.tmp.as_os_str().to_owned();
            name.push(".nodes");
            let spill_path = PathBuf::from(name);
            let file = File::create(&spill_path).at(&spill_path)?;
            self.spill = Some(Spill {
                path: spill_path,
                out: BufWriter::with_capacity(1 << 20, file),
                acls: AclCache::new(),
            });
            self.stage = Stage::Spilling;
        }
        self.require(Stage::Spilling, "a node with its ACL list")?;
        // Invariant: `spill` is set whenever the stage is Spilling.
        let spill = self.spill.as_mut().expect("a spill file");
        let id = spill.acls.intern(acl);
        self.buf.put_ustring(if path == "/" { "" } else { path });
        self.buf.put_buffer(data);
        self.buf.put_i64(id);
        stat.encode(&mut self.buf);
        spill.out.write_all(&self.buf).at(&spill.path)?;
        self.buf.clear();
        self.nodes += 1;
        Ok(())
    }

    /// Writes the ACL map of the spilled nodes, then the nodes.
    fn unspill(&mut self) -> Result<()> {
        let Some(spill) = self.spill.take() else {
            return Ok(());
        };
        let Spill { path, out, acls } = spill;
        drop(
            out.into_inner()
                .map_err(|e| PersistError::io(&path, e.into_error()))?,
        );
        acls.encode(&mut self.buf);
        self.emit()?;
        let mut input = File::open(&path).at(&path)?;
        let mut chunk = vec![0u8; 1 << 20];
        loop {
            let n = input.read(&mut chunk).at(&path)?;
            if n == 0 {
                break;
            }
            self.buf.extend_from_slice(&chunk[..n]);
            self.emit()?;
        }
        std::fs::remove_file(&path).at(&path)?;
        self.stage = Stage::Nodes;
        Ok(())
    }

    /// Nodes written so far.
    pub fn node_count(&self) -> u64 {
        self.nodes
    }

    /// Ends the node list, seals, writes the digest trailer (`None` writes the empty digest)
    /// and its seal, fsyncs, and renames the file into place. Returns its path.
    pub fn finish(mut self, digest: Option<SnapDigest>) -> Result<PathBuf> {
        if self.stage == Stage::Spilling {
            self.unspill()?;
        }
        self.require(Stage::Nodes, "the end of the snapshot")?;
        self.buf.put_ustring("/");
        self.emit()?;
        self.seal()?;
        let d = digest.unwrap_or_else(SnapDigest::none);
        self.buf.put_i64(d.zxid.0);
        self.buf.put_i32(d.version);
        self.buf.put_i64(d.digest);
        self.emit()?;
        self.seal()?;
        self.out.flush().at(&self.tmp)?;
        self.out.get_ref().sync_all().at(&self.tmp)?;
        std::fs::rename(&self.tmp, &self.path).at(&self.path)?;
        if let Some(dir) = self.path.parent() {
            fsync_dir(dir)?;
        }
        Ok(self.path)
    }

    /// `SnapStream.sealStream`: the checksum of everything so far, then "/".
    fn seal(&mut self) -> Result<()> {
        let v = self.crc.value();
        self.buf.put_i64(v);
        self.buf.put_ustring("/");
        self.emit()
    }
}
