//! The snapshot reader (`FileSnap.deserialize`, `SnapStream.checkSealIntegrity`).
//!
//! The whole file is read into memory (gunzipped for `snapshot.<zxid>.gz`, as written with
//! `zookeeper.snapshot.compression.method=gz`) and checked: header, sections, the Adler32 seal over every
//! byte before it, the 3.6+ digest trailer and its seal, and the 3.9 lastProcessedZxid section
//! when present. Node data is sliced from the file's buffer without copying.

use std::io::Read;
use std::path::Path;

use bytes::Bytes;
use zk_core::data::StatPersisted;
use zk_core::jute::{Decode, Reader};
use zk_core::txn::FileHeader;
use zk_core::{DecodeError, SessionId, Zxid};

use super::acl_cache::AclCache;
use super::checksum::Adler32Stream;
use super::error::{IoContext, PersistError, Result};
use super::files::{zxid_from_name, SNAPSHOT_PREFIX};
use super::snapshot::SnapDigest;

/// One node as a snapshot stores it (`DataNode` with its path).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapNode {
    /// The absolute path; the root is "/" (stored as "").
    pub path: String,
    /// The data; `None` is the null buffer.
    pub data: Option<Bytes>,
    /// The reference into the ACL map.
    pub acl: i64,
    /// The persisted stat.
    pub stat: StatPersisted,
}

/// A snapshot read and verified.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// The zxid in the file name: transactions after it are to be replayed from the log.
    pub zxid: Zxid,
    /// The file header (magic ZKSN, version 2, dbid -1).
    pub header: FileHeader,
    /// The session table: (id, timeout ms), in file order.
    pub sessions: Vec<(SessionId, i32)>,
    /// The ACL map; uses are counted for the nodes read.
    pub acls: AclCache,
    /// The nodes in file order: every parent before its children.
    pub nodes: Vec<SnapNode>,
    /// The digest trailer; `None` for pre-3.6 snapshots or the empty digest (zxid 0).
    pub digest: Option<SnapDigest>,
    /// The 3.9 lastProcessedZxid section, when present.
    pub last_processed_zxid: Option<Zxid>,
}

/// Reads and verifies one snapshot file. Any damage is a [`PersistError::Corrupt`] naming the
/// offset; the caller may fall back to an older snapshot.
pub fn read_snapshot(path: &Path) -> Result<Snapshot> {
    let zxid = path
        .file_name()
        .and_then(|n| n.to_str())
        .and_then(|n| zxid_from_name(n, SNAPSHOT_PREFIX))
        .ok_or_else(|| PersistError::corrupt(path, 0, "not named snapshot.<hex zxid>"))?;
    let raw = std::fs::read(path).at(path)?;
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    // SnapStream: the extension names the compression; the checksums cover the plain bytes.
    let buf = if name.ends_with(".gz") {
        let mut plain = Vec::with_capacity(raw.len() * 4);
        flate2::read::MultiGzDecoder::new(raw.as_slice())
            .read_to_end(&mut plain)
            .map_err(|e| PersistError::corrupt(path, 0, format!("gzip: {e}")))?;
        plain
    } else if name.ends_with(".snappy") {
        return Err(PersistError::corrupt(
            path,
            0,
            "snappy-compressed snapshots are not supported",
        ));
    } else {
        raw
    };
    parse_snapshot(path, zxid, &Bytes::from(buf))
}

/// [`read_snapshot`] on bytes already read; `path` names them in errors.
pub fn parse_snapshot(path: &Path, zxid: Zxid, buf: &Bytes) -> Result<Snapshot> {
    let mut r = Reader::new(buf);
    let mut crc = Running::default();
    let bad = |r: &Reader<'_>, e: DecodeError| {
        PersistError::corrupt(path, r.position() as u64, e.to_string())
    };
    let header = FileHeader::decode(&mut r).map_err(|e| bad(&r, e))?;
    if header.magic != FileHeader::SNAP_MAGIC || header.version != FileHeader::VERSION {
        return Err(PersistError::corrupt(
            path,
            0,
            format!(
                "not a version 2 snapshot (magic {:#x}, version {})",
                header.magic, header.version
            ),
        ));
    }
    let sessions = read_sessions(&mut r).map_err(|e| bad(&r, e))?;
    let mut acls = AclCache::decode(&mut r).map_err(|e| bad(&r, e))?;
    let mut nodes = Vec::new();
    loop {
        let at = r.position();
        let p = r.read_ustring().map_err(|e| bad(&r, e))?;
        if p == "/" {
            break;
        }
        let node = read_node(&mut r, buf, p).map_err(|e| bad(&r, e))?;
        if node.path != "/" && !node.path.starts_with('/') {
            return Err(PersistError::corrupt(
                path,
                at as u64,
                format!("invalid node path {:?}", node.path),
            ));
        }
        acls.add_usage(node.acl);
        nodes.push(node);
    }
    acls.purge_unused();
    check_seal(path, buf, &mut crc, &mut r)?;
    let mut snap = Snapshot {
        zxid,
        header,
        sessions,
        acls,
        nodes,
        digest: None,
        last_processed_zxid: None,
    };
    if r.is_empty() {
        return Ok(snap); // A pre-3.6 snapshot.
    }
    let d = read_digest(&mut r).map_err(|e| bad(&r, e))?;
    check_seal(path, buf, &mut crc, &mut r)?;
    snap.digest = (d.zxid.0 > 0).then_some(d);
    if r.remaining() >= 8 {
        let z = r.read_i64().map_err(|e| bad(&r, e))?;
        check_seal(path, buf, &mut crc, &mut r)?;
        snap.last_processed_zxid = Some(Zxid(z));
    }
    if !r.is_empty() {
        return Err(PersistError::corrupt(
            path,
            r.position() as u64,
            format!("{} unexpected bytes after the last seal", r.remaining()),
        ));
    }
    Ok(snap)
}

fn read_sessions(r: &mut Reader<'_>) -> Result<Vec<(SessionId, i32)>, DecodeError> {
    let count = r.read_i32()?;
    if count < 0 || count as usize > r.remaining() / 12 {
        return Err(DecodeError::BadLength {
            offset: r.position() - 4,
            len: count,
        });
    }
    let mut out = Vec::with_capacity(count as usize);
    for _ in 0..count {
        out.push((SessionId(r.read_i64()?), r.read_i32()?));
    }
    Ok(out)
}

fn read_node(r: &mut Reader<'_>, buf: &Bytes, path: String) -> Result<SnapNode, DecodeError> {
    let start = r.position() + 4;
    let data = r.read_buffer()?.map(|d| buf.slice(start..start + d.len()));
    let acl = r.read_i64()?;
    let stat = StatPersisted::decode(r)?;
    let path = if path.is_empty() {
        "/".to_string()
    } else {
        path
    };
    Ok(SnapNode {
        path,
        data,
        acl,
        stat,
    })
}

fn read_digest(r: &mut Reader<'_>) -> Result<SnapDigest, DecodeError> {
    let zxid = Zxid(r.read_i64()?);
    let version = r.read_i32()?;
    let digest = if version < 2 {
        // Version 1 stored the digest as a hex string.
        let s = r.read_ustring_opt()?.unwrap_or_default();
        u64::from_str_radix(&s, 16).map(|v| v as i64).unwrap_or(0)
    } else {
        r.read_i64()?
    };
    Ok(SnapDigest {
        zxid,
        version,
        digest,
    })
}

/// A running checksum and how far into the buffer it has read.
#[derive(Default)]
struct Running(Adler32Stream, usize);

/// `checkSealIntegrity`: the Adler32 of every byte before the seal, then the string "/".
fn check_seal(path: &Path, buf: &[u8], crc: &mut Running, r: &mut Reader<'_>) -> Result<()> {
    let at = r.position();
    crc.0.update(&buf[crc.1..at]);
    let expected = crc.0.value();
    let stored = r
        .read_i64()
        .map_err(|e| PersistError::corrupt(path, at as u64, format!("seal missing: {e}")))?;
    let slash = r
        .read_ustring()
        .map_err(|e| PersistError::corrupt(path, at as u64, format!("seal missing: {e}")))?;
    crc.0.update(&buf[at..r.position()]);
    crc.1 = r.position();
    if stored != expected || slash != "/" {
        return Err(PersistError::corrupt(
            path,
            at as u64,
            format!("checksum seal mismatch: stored {stored:#x}, computed {expected:#x}"),
        ));
    }
    Ok(())
}
