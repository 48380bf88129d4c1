//! Readable dumps of log and snapshot files for operators, in the spirit of Apache ZooKeeper's
//! `LogFormatter`/`TxnLogToolkit` and `SnapshotFormatter`.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::Path;

use zk_core::data::Acl;
use zk_core::txn::TxnBody;
use zk_core::OpCode;

use super::error::Result;
use super::logscan::{scan_log_file, LogEnd};
use super::snapshot_read::read_snapshot;

pub use crate::time_fmt::timestamp as format_time;

fn op_name(t: i32) -> String {
    OpCode::from_i32(t).map_or_else(|| format!("unknown({t})"), |o| o.name().to_string())
}

fn data_str(d: Option<&[u8]>) -> String {
    match d {
        None => "null".into(),
        Some(b) if b.iter().all(|c| (0x20..0x7f).contains(c)) => {
            format!("'{}'", String::from_utf8_lossy(b))
        }
        Some(b) => format!(
            "#{}",
            b.iter().map(|c| format!("{c:02x}")).collect::<String>()
        ),
    }
}

/// ACLs as zkCli prints them: `scheme:id:cdrwa`.
pub fn acl_str(acls: &[Acl]) -> String {
    let one = |a: &Acl| {
        let perms: String = [(4, 'c'), (8, 'd'), (1, 'r'), (2, 'w'), (16, 'a')]
            .iter()
            .filter(|(bit, _)| a.perms & bit != 0)
            .map(|(_, c)| *c)
            .collect();
        format!("{}:{}:{perms}", a.id.scheme, a.id.id)
    };
    format!("[{}]", acls.iter().map(one).collect::<Vec<_>>().join(", "))
}

/// A one-line description of a transaction record.
pub fn describe_txn(txn: &TxnBody) -> String {
    match txn {
        TxnBody::CreateSession(t) => format!("timeout={}", t.timeout_ms),
        TxnBody::CloseSession(t) => format!("paths2Delete={:?}", t.paths_to_delete),
        TxnBody::Create(t) => format!(
            "path={} data={} acl={} ephemeral={} parentCVersion={}",
            t.path,
            data_str(t.data.as_deref()),
            acl_str(&t.acl),
            t.ephemeral,
            t.parent_cversion
        ),
        TxnBody::CreateTtl(t) => format!(
            "path={} data={} acl={} parentCVersion={} ttl={}",
            t.path,
            data_str(t.data.as_deref()),
            acl_str(&t.acl),
            t.parent_cversion,
            t.ttl
        ),
        TxnBody::CreateContainer(t) => format!(
            "path={} data={} acl={} parentCVersion={}",
            t.path,
            data_str(t.data.as_deref()),
            acl_str(&t.acl),
            t.parent_cversion
        ),
        TxnBody::Delete(t) => format!("path={}", t.path),
        TxnBody::SetData(t) => format!(
            "path={} data={} version={}",
            t.path,
            data_str(t.data.as_deref()),
            t.version
        ),
        TxnBody::SetAcl(t) => format!(
            "path={} acl={} version={}",
            t.path,
            acl_str(&t.acl),
            t.version
        ),
        TxnBody::Check(t) => format!("path={} version={}", t.path, t.version),
        TxnBody::Error(t) => format!("err={}", t.err),
        TxnBody::Multi(subs) => {
            let parts: Vec<String> = subs
                .iter()
                .map(|(ty, t)| format!("{}: {}", op_name(*ty), describe_txn(t)))
                .collect();
            format!("[{}]", parts.join("; "))
        }
        other => format!("{other:?}"),
    }
}

/// Dumps a transaction log file, one line per transaction, and how the data ends.
pub fn dump_log(path: &Path) -> Result<String> {
    let scan = scan_log_file(path)?;
    let mut out = String::new();
    if let Some(h) = &scan.header {
        let _ = writeln!(
            out,
            "ZooKeeper Transactional Log File with dbid {} txnlog format version {}",
            h.dbid, h.version
        );
    }
    for (offset, e) in &scan.entries {
        let h = &e.header;
        let txn = e
            .body()
            .map(|t| describe_txn(&t))
            .unwrap_or_else(|err| format!("<{err}>"));
        let digest = e.digest.as_ref().map_or(String::new(), |d| {
            format!(" digest={}:{:#x}", d.version, d.tree_digest)
        });
        let _ = writeln!(
            out,
            "{} session {:#x} cxid {:#x} zxid {:#x} {} {}{} (offset {})",
            format_time(h.time),
            h.client_id.0,
            h.cxid,
            h.zxid.0,
            op_name(h.txn_type),
            txn,
            digest,
            offset
        );
    }
    match &scan.end {
        LogEnd::Clean { offset } => {
            let _ = writeln!(
                out,
                "EOF reached after {} txns (data ends at byte {offset}).",
                scan.entries.len()
            );
        }
        LogEnd::Torn { offset, reason } => {
            let _ = writeln!(
                out,
                "Torn tail after {} txns at byte {offset}: {reason}.",
                scan.entries.len()
            );
        }
    }
    Ok(out)
}

/// Dumps a snapshot: every node with its stat, then the sessions, as `SnapshotFormatter`.
pub fn dump_snapshot(path: &Path, with_data: bool) -> Result<String> {
    let snap = read_snapshot(path)?;
    let mut out = String::new();
    let mut children: HashMap<&str, usize> = HashMap::new();
    let mut ephemerals: HashMap<i64, usize> = HashMap::new();
    for n in &snap.nodes {
        if n.path != "/" {
            let i = n.path.rfind('/').unwrap_or(0);
            *children
                .entry(if i == 0 { "/" } else { &n.path[..i] })
                .or_default() += 1;
        }
        *ephemerals.entry(n.stat.ephemeral_owner).or_default() += 1;
    }
    let _ = writeln!(out, "ZNode Details (count={}):", snap.nodes.len());
    for n in &snap.nodes {
        let s = &n.stat;
        let _ = writeln!(out, "----\n{}", n.path);
        let _ = writeln!(
            out,
            "  cZxid = {:#016x}\n  ctime = {}",
            s.czxid.0,
            format_time(s.ctime)
        );
        let _ = writeln!(
            out,
            "  mZxid = {:#016x}\n  mtime = {}",
            s.mzxid.0,
            format_time(s.mtime)
        );
        let _ = writeln!(
            out,
            "  pZxid = {:#016x}\n  cversion = {}",
            s.pzxid.0, s.cversion
        );
        let _ = writeln!(
            out,
            "  dataVersion = {}\n  aclVersion = {}",
            s.version, s.aversion
        );
        let _ = writeln!(out, "  ephemeralOwner = {:#016x}", s.ephemeral_owner);
        let _ = writeln!(
            out,
            "  dataLength = {}",
            n.data.as_ref().map_or(0, |d| d.len())
        );
        let _ = writeln!(
            out,
            "  numChildren = {}\n  acl = {}",
            children.get(n.path.as_str()).unwrap_or(&0),
            n.acl
        );
        if with_data {
            let _ = writeln!(out, "  data = {}", data_str(n.data.as_deref()));
        }
    }
    let _ = writeln!(out, "----\nACL map (count={}):", snap.acls.len());
    for (id, acls) in snap.acls.entries() {
        let _ = writeln!(out, "{id}: {}", acl_str(acls));
    }
    let _ = writeln!(out, "----\nSession Details (sid, timeout, ephemeralCount):");
    for (sid, timeout) in &snap.sessions {
        let _ = writeln!(
            out,
            "{:#x}, {}, {}",
            sid.0,
            timeout,
            ephemerals.get(&sid.0).unwrap_or(&0)
        );
    }
    let _ = writeln!(out, "----\nLast zxid: {:#x}", snap.zxid.0);
    if let Some(d) = snap.digest {
        let _ = writeln!(
            out,
            "Digest: zxid {:#x} version {} value {:#x}",
            d.zxid.0, d.version, d.digest
        );
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn acls_as_zkcli_prints_them() {
        assert_eq!(acl_str(&Acl::open_unsafe()), "[world:anyone:cdrwa]");
        assert_eq!(acl_str(&Acl::read_unsafe()), "[world:anyone:r]");
    }
}
