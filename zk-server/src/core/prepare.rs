//! *Prepare*: validate a write request in Apache ZooKeeper's error precedence
//! (`PrepRequestProcessor.pRequest2Txn`) and build its transaction. Nothing here changes the
//! tree; multi sees the effects of its earlier ops through an overlay of change records.

use std::collections::HashMap;

use zk_core::data::StatPersisted;
use zk_core::ephemeral::{CONTAINER_OWNER, MAX_TTL_MS};
use zk_core::path::validate_path;
use zk_core::txn::{
    CheckVersionTxn, CreateContainerTxn, CreateTtlTxn, CreateTxn, DeleteTxn, ErrorTxn, SetAclTxn,
    SetDataTxn, TxnBody,
};
use zk_core::{Acl, CreateMode, ErrorCode, Id, OpCode, Perms, Request, SessionId, Zxid};

use super::acl::{fixup_acl, require, AclList};
use super::node::OwnerKind;
use super::pending::PendingChanges;
use super::tree::DataTree;

/// A node as prepare sees it (`ChangeRecord`).
#[derive(Debug, Clone)]
pub(crate) struct Rec {
    pub(crate) stat: StatPersisted,
    pub(crate) acl: AclList,
    pub(crate) child_count: i32,
}

/// Who is asking and under which zxid and time.
#[derive(Debug, Clone, Copy)]
pub struct PrepContext<'a> {
    /// The requesting session.
    pub session: SessionId,
    /// The connection's authenticated ids.
    pub ids: &'a [Id],
    /// The zxid assigned to the request.
    pub zxid: Zxid,
    /// The transaction time (wall clock, ms).
    pub time: i64,
    /// `zookeeper.extendedTypesEnabled`.
    pub extended_types: bool,
    /// zoo.cfg `reconfigEnabled`.
    pub reconfig_enabled: bool,
    /// The ensemble, on a leader (None standalone and on learners: a reconfig is then
    /// Unimplemented, as on Apache's standalone server).
    pub ensemble: Option<&'a super::reconfig::EnsembleView>,
    /// The `sasl` ACL scheme is configured (`authProvider.N=...SASLAuthenticationProvider`).
    pub sasl_scheme: bool,
    /// True for requests the server makes itself (the container reaper).
    pub internal: bool,
    /// `zookeeper.skipACL=yes`: no ACL is checked.
    pub skip_acl: bool,
}

/// Prepares write requests against a tree, the outstanding changes of transactions proposed
/// but not yet committed (a leader's pipeline), and the changes of the current multi.
pub struct Preparer<'a> {
    tree: &'a DataTree,
    pending: Option<&'a PendingChanges>,
    ctx: PrepContext<'a>,
    overlay: HashMap<String, Option<Rec>>,
}

fn check_version(current: i32, expected: i32) -> Result<i32, ErrorCode> {
    if expected != -1 && expected != current {
        return Err(ErrorCode::BadVersion);
    }
    Ok(current.wrapping_add(1))
}

/// `path.substring(0, lastIndexOf('/'))`, with the empty parent meaning `/`.
fn parent_of(path: &str) -> Result<&str, ErrorCode> {
    match path.rfind('/') {
        None => Err(ErrorCode::BadArguments),
        Some(0) => Ok("/"),
        Some(i) => Ok(&path[..i]),
    }
}

impl<'a> Preparer<'a> {
    /// A preparer with no pending changes.
    pub fn new(tree: &'a DataTree, ctx: PrepContext<'a>) -> Preparer<'a> {
        Preparer {
            tree,
            pending: None,
            ctx,
            overlay: HashMap::new(),
        }
    }

    /// A preparer that sees `pending` (the outstanding changes) over the tree.
    pub fn with_pending(
        tree: &'a DataTree,
        pending: &'a PendingChanges,
        ctx: PrepContext<'a>,
    ) -> Preparer<'a> {
        Preparer {
            tree,
            pending: Some(pending),
            ctx,
            overlay: HashMap::new(),
        }
    }

    /// The change records of the request just prepared (empty when it failed), to add to the
    /// outstanding changes under its zxid.
    pub(crate) fn into_changes(self) -> HashMap<String, Option<Rec>> {
        self.overlay
    }

    /// `checkACL`, unless ACLs are skipped.
    fn require(&self, acl: &[Acl], perm: Perms, ids: &[Id]) -> Result<(), ErrorCode> {
        if self.ctx.skip_acl {
            return Ok(());
        }
        require(acl, perm, ids)
    }

    fn record(&self, path: &str) -> Result<Rec, ErrorCode> {
        if let Some(r) = self.overlay.get(path) {
            return r.clone().ok_or(ErrorCode::NoNode);
        }
        if let Some(r) = self.pending.and_then(|p| p.get(path)) {
            return r.clone().ok_or(ErrorCode::NoNode);
        }
        let n = self.tree.node(path).ok_or(ErrorCode::NoNode)?;
        Ok(Rec {
            stat: n.stat.clone(),
            acl: n.acl.clone(),
            child_count: n.num_children() as i32,
        })
    }

    /// Prepares a single write (or a multi): returns the header type and body. Failures become
    /// `(error, ErrorTxn)`, as Apache ZooKeeper logs them.
    pub fn prepare(&mut self, req: &Request) -> (i32, TxnBody) {
        if let Request::Multi(ops) = req {
            return self.multi(ops);
        }
        match self.op(req) {
            Ok(b) => (req.op_code().as_i32(), b),
            Err(e) => (
                OpCode::Error.as_i32(),
                TxnBody::Error(ErrorTxn { err: e.as_i32() }),
            ),
        }
    }

    fn multi(&mut self, ops: &[Request]) -> (i32, TxnBody) {
        let mut subs = Vec::with_capacity(ops.len());
        let mut failed = false;
        for op in ops {
            if failed {
                subs.push((
                    OpCode::Error.as_i32(),
                    TxnBody::Error(ErrorTxn {
                        err: ErrorCode::RuntimeInconsistency.as_i32(),
                    }),
                ));
                continue;
            }
            let Some(op) = multi_create_as_apache(op) else {
                // A create record typed createTTL by its flags: Apache ZooKeeper's prepare
                // casts it to CreateTTLRequest and fails the whole multi with MarshallingError.
                self.overlay.clear();
                return (
                    OpCode::Error.as_i32(),
                    TxnBody::Error(ErrorTxn {
                        err: ErrorCode::MarshallingError.as_i32(),
                    }),
                );
            };
            let op = op.as_ref();
            match self.op(op) {
                Ok(b) => {
                    // MultiOperationRecord turns create2 into a plain create (Op.create), and
                    // that is the type Apache ZooKeeper logs; its replay rejects type create2
                    // inside a multi and would skip the whole multi.
                    let ty = match op.op_code() {
                        OpCode::Create2 => OpCode::Create,
                        other => other,
                    };
                    subs.push((ty.as_i32(), b))
                }
                Err(e) => {
                    failed = true;
                    self.overlay.clear();
                    subs.push((
                        OpCode::Error.as_i32(),
                        TxnBody::Error(ErrorTxn { err: e.as_i32() }),
                    ));
                }
            }
        }
        (OpCode::Multi.as_i32(), TxnBody::Multi(subs))
    }

    fn op(&mut self, req: &Request) -> Result<TxnBody, ErrorCode> {
        match req {
            Request::Create(r) | Request::Create2(r) | Request::CreateContainer(r) => {
                self.create(req.op_code(), &r.path, &r.data, &r.acl, r.flags, -1)
            }
            Request::CreateTtl(r) => {
                self.create(req.op_code(), &r.path, &r.data, &r.acl, r.flags, r.ttl)
            }
            Request::Delete(r) => self.delete(&r.path, Some(r.version)),
            // Apache ZooKeeper 3.8 refuses deleteContainer from clients with BadArguments.
            Request::DeleteContainer(r) if !self.ctx.internal => {
                let _ = r;
                Err(ErrorCode::BadArguments)
            }
            Request::DeleteContainer(r) => self.delete(&r.path, None),
            Request::SetData(r) => {
                validate_path(&r.path, false).map_err(|_| ErrorCode::BadArguments)?;
                let mut rec = self.record(&r.path)?;
                self.require(&rec.acl, Perms::WRITE, self.ctx.ids)?;
                let version = check_version(rec.stat.version, r.version)?;
                rec.stat.version = version;
                rec.stat.mzxid = self.ctx.zxid;
                rec.stat.mtime = self.ctx.time;
                self.overlay.insert(r.path.clone(), Some(rec));
                Ok(TxnBody::SetData(SetDataTxn {
                    path: r.path.clone(),
                    data: r.data.clone(),
                    version,
                }))
            }
            Request::SetAcl(r) => {
                validate_path(&r.path, false).map_err(|_| ErrorCode::BadArguments)?;
                let acl = fixup_acl(&r.acl, self.ctx.ids, self.ctx.sasl_scheme)?;
                let mut rec = self.record(&r.path)?;
                self.require(&rec.acl, Perms::ADMIN, self.ctx.ids)?;
                let version = check_version(rec.stat.aversion, r.version)?;
                rec.stat.aversion = version;
                rec.acl = acl.as_slice().into();
                self.overlay.insert(r.path.clone(), Some(rec));
                Ok(TxnBody::SetAcl(SetAclTxn {
                    path: r.path.clone(),
                    acl,
                    version,
                }))
            }
            Request::Check(r) => {
                validate_path(&r.path, false).map_err(|_| ErrorCode::BadArguments)?;
                let rec = self.record(&r.path)?;
                self.require(&rec.acl, Perms::READ, self.ctx.ids)?;
                let version = check_version(rec.stat.version, r.version)?;
                Ok(TxnBody::Check(CheckVersionTxn {
                    path: r.path.clone(),
                    version,
                }))
            }
            Request::Reconfig(r) => {
                if !self.ctx.reconfig_enabled {
                    return Err(ErrorCode::ReconfigDisabled);
                }
                // Standalone mode: reconfiguration is not supported.
                let Some(view) = self.ctx.ensemble else {
                    tracing::warn!("reconfig on a server that does not lead an ensemble");
                    return Err(ErrorCode::Unimplemented);
                };
                let next = super::reconfig::next_config(view, r, self.ctx.zxid)?;
                let path = "/zookeeper/config";
                let mut rec = self.record(path)?;
                self.require(&rec.acl, Perms::WRITE, self.ctx.ids)?;
                rec.stat.version = -1;
                rec.stat.mzxid = self.ctx.zxid;
                rec.stat.mtime = self.ctx.time;
                self.overlay.insert(path.to_owned(), Some(rec));
                Ok(TxnBody::SetData(SetDataTxn {
                    path: path.to_owned(),
                    data: Some(next.to_qv_text().into_bytes().into()),
                    version: -1,
                }))
            }
            _ => Err(ErrorCode::Unimplemented),
        }
    }

    fn create(
        &mut self,
        op: OpCode,
        path: &str,
        data: &Option<bytes::Bytes>,
        acl: &[Acl],
        flags: i32,
        ttl: i64,
    ) -> Result<TxnBody, ErrorCode> {
        let mode = CreateMode::from_flag(flags).ok_or(ErrorCode::BadArguments)?;
        if mode.is_ttl() && !self.ctx.extended_types {
            return Err(ErrorCode::Unimplemented);
        }
        let ttl_ok = if mode.is_ttl() {
            ttl > 0 && ttl <= MAX_TTL_MS
        } else {
            ttl < 0
        };
        if !ttl_ok {
            return Err(ErrorCode::BadArguments);
        }
        if path.contains('\0') {
            return Err(ErrorCode::BadArguments);
        }
        let parent_path = parent_of(path)?.to_owned();
        let acl = fixup_acl(acl, self.ctx.ids, self.ctx.sasl_scheme)?;
        let mut parent = self.record(&parent_path)?;
        self.require(&parent.acl, Perms::CREATE, self.ctx.ids)?;
        let full = if mode.is_sequential() {
            format!(
                "{path}{}",
                zk_core::path::sequential_suffix(parent.stat.cversion)
            )
        } else {
            path.to_owned()
        };
        validate_path(&full, false).map_err(|_| ErrorCode::BadArguments)?;
        if self.record(&full).is_ok() {
            return Err(ErrorCode::NodeExists);
        }
        if matches!(
            OwnerKind::of(parent.stat.ephemeral_owner),
            OwnerKind::Ephemeral(_)
        ) {
            return Err(ErrorCode::NoChildrenForEphemerals);
        }
        let parent_cversion = parent.stat.cversion.wrapping_add(1);
        let owner = match op {
            OpCode::CreateContainer => CONTAINER_OWNER,
            OpCode::CreateTtl => OwnerKind::ttl_owner(ttl),
            _ if mode.is_ephemeral() => self.ctx.session.0,
            _ => 0,
        };
        parent.child_count += 1;
        parent.stat.cversion = parent_cversion;
        parent.stat.pzxid = self.ctx.zxid;
        self.overlay.insert(parent_path, Some(parent));
        let z = self.ctx.zxid;
        self.overlay.insert(
            full.clone(),
            Some(Rec {
                stat: StatPersisted {
                    czxid: z,
                    mzxid: z,
                    ctime: self.ctx.time,
                    mtime: self.ctx.time,
                    version: 0,
                    cversion: 0,
                    aversion: 0,
                    ephemeral_owner: owner,
                    pzxid: z,
                },
                acl: acl.as_slice().into(),
                child_count: 0,
            }),
        );
        Ok(match op {
            OpCode::CreateContainer => TxnBody::CreateContainer(CreateContainerTxn {
                path: full,
                data: data.clone(),
                acl,
                parent_cversion,
            }),
            OpCode::CreateTtl => TxnBody::CreateTtl(CreateTtlTxn {
                path: full,
                data: data.clone(),
                acl,
                parent_cversion,
                ttl,
            }),
            _ => TxnBody::Create(CreateTxn {
                path: full,
                data: data.clone(),
                acl,
                ephemeral: mode.is_ephemeral(),
                parent_cversion,
            }),
        })
    }

    /// delete (`version` given) and deleteContainer (`version` None).
    fn delete(&mut self, path: &str, version: Option<i32>) -> Result<TxnBody, ErrorCode> {
        if path.contains('\0') || DataTree::is_special(path) {
            return Err(ErrorCode::BadArguments);
        }
        let parent_path = parent_of(path)?.to_owned();
        let mut parent;
        match version {
            Some(v) => {
                parent = self.record(&parent_path)?;
                self.require(&parent.acl, Perms::DELETE, self.ctx.ids)?;
                let node = self.record(path)?;
                check_version(node.stat.version, v)?;
                if node.child_count > 0 {
                    return Err(ErrorCode::NotEmpty);
                }
            }
            None => {
                let node = self.record(path)?;
                if node.child_count > 0 {
                    return Err(ErrorCode::NotEmpty);
                }
                if matches!(
                    OwnerKind::of(node.stat.ephemeral_owner),
                    OwnerKind::Ephemeral(_)
                ) {
                    return Err(ErrorCode::BadVersion);
                }
                parent = self.record(&parent_path)?;
            }
        }
        parent.child_count -= 1;
        parent.stat.pzxid = self.ctx.zxid;
        self.overlay.insert(parent_path, Some(parent));
        self.overlay.insert(path.to_owned(), None);
        Ok(TxnBody::Delete(DeleteTxn {
            path: path.to_owned(),
        }))
    }
}

/// A multi's create op as Apache ZooKeeper's `MultiOperationRecord` rebuilds it (`Op.create`):
/// the op type follows the flags (unknown flags count as persistent here and fail in prepare),
/// not the header. A create, create2 or createContainer record becomes createContainer for the
/// container flag and a plain create otherwise; a createTTL record stays createTTL only with a
/// TTL flag. `None` for a create record with a TTL flag: typed createTTL without a TTL record,
/// which Apache's prepare cannot cast.
pub(super) fn multi_create_as_apache(op: &Request) -> Option<std::borrow::Cow<'_, Request>> {
    use std::borrow::Cow;
    let mode = |flags| CreateMode::from_flag(flags).unwrap_or(CreateMode::Persistent);
    Some(match op {
        Request::Create(r) | Request::Create2(r) | Request::CreateContainer(r) => {
            match mode(r.flags) {
                m if m.is_ttl() => return None,
                CreateMode::Container => Cow::Owned(Request::CreateContainer(r.clone())),
                _ => Cow::Owned(Request::Create(r.clone())),
            }
        }
        Request::CreateTtl(r) if !mode(r.flags).is_ttl() => {
            let c = zk_core::proto::CreateRequest {
                path: r.path.clone(),
                data: r.data.clone(),
                acl: r.acl.clone(),
                flags: r.flags,
            };
            if mode(r.flags) == CreateMode::Container {
                Cow::Owned(Request::CreateContainer(c))
            } else {
                Cow::Owned(Request::Create(c))
            }
        }
        other => Cow::Borrowed(other),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use zk_core::proto::{CreateRequest, DeleteRequest};

    fn ctx(ids: &[Id]) -> PrepContext<'_> {
        PrepContext {
            session: SessionId(7),
            ids,
            zxid: Zxid(5),
            time: 1,
            extended_types: false,
            reconfig_enabled: false,
            ensemble: None,
            sasl_scheme: false,
            skip_acl: false,
            internal: false,
        }
    }

    fn create(path: &str, flags: i32) -> Request {
        Request::Create(CreateRequest {
            path: path.into(),
            data: None,
            acl: Acl::open_unsafe(),
            flags,
        })
    }

    /// `zookeeper.skipACL=yes`: the read-only /zookeeper/config takes a setData, and a
    /// reconfig needs no super user (what Apache's reconfig warns about).
    #[test]
    fn skip_acl_checks_nothing() {
        let tree = DataTree::new();
        let ids = [Id::new("ip", "127.0.0.1")];
        let set = Request::SetData(zk_core::proto::SetDataRequest {
            path: "/zookeeper/config".into(),
            data: None,
            version: -1,
        });
        let (ty, _) = Preparer::new(&tree, ctx(&ids)).prepare(&set);
        assert_eq!(ty, OpCode::Error.as_i32(), "NoAuth without skipACL");
        let skip = PrepContext {
            skip_acl: true,
            ..ctx(&ids)
        };
        let (ty, _) = Preparer::new(&tree, skip).prepare(&set);
        assert_eq!(ty, OpCode::SetData.as_i32());
    }

    #[test]
    fn create_precedence() {
        let tree = DataTree::new();
        let ids = [Id::new("ip", "127.0.0.1")];
        let mut p = Preparer::new(&tree, ctx(&ids));
        let err = |b: (i32, TxnBody)| match b.1 {
            TxnBody::Error(e) => e.err,
            _ => 0,
        };
        assert_eq!(err(p.prepare(&create("/a", 9))), -8);
        assert_eq!(err(p.prepare(&create("/a", 5))), -6);
        assert_eq!(err(p.prepare(&create("/x/y", 0))), -101);
        // A bad path under a missing parent is NoNode, not BadArguments.
        assert_eq!(err(p.prepare(&create("/x/y/", 0))), -101);
        assert_eq!(err(p.prepare(&create("/zookeeper", 0))), -110);
        let (ty, body) = p.prepare(&create("/s-", 2));
        assert_eq!(ty, 1);
        match body {
            TxnBody::Create(c) => assert_eq!(c.path, "/s-0000000000"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn multi_types_creates_by_their_flags() {
        let tree = DataTree::new();
        let ids = [Id::new("ip", "127.0.0.1")];
        let ttl = |path: &str, flags| {
            Request::CreateTtl(zk_core::proto::CreateTtlRequest {
                path: path.into(),
                data: None,
                acl: Acl::open_unsafe(),
                flags,
                ttl: 100,
            })
        };
        // Container flag on a create record: createContainer; createTTL record without a TTL
        // flag: plain create or createContainer, ttl ignored.
        let mut p = Preparer::new(&tree, ctx(&ids));
        let multi = Request::Multi(vec![create("/c", 4), ttl("/t", 0), ttl("/u", 4)]);
        let (ty, TxnBody::Multi(subs)) = p.prepare(&multi) else {
            panic!()
        };
        assert_eq!(ty, 14);
        let types: Vec<i32> = subs.iter().map(|s| s.0).collect();
        assert_eq!(types, [19, 1, 19]);
        // A TTL flag on a create record fails the whole multi with MarshallingError, unless an
        // earlier op already failed.
        let mut p = Preparer::new(&tree, ctx(&ids));
        let multi = Request::Multi(vec![create("/a", 0), create("/b", 5)]);
        assert_eq!(
            p.prepare(&multi),
            (-1, TxnBody::Error(ErrorTxn { err: -5 }))
        );
        let mut p = Preparer::new(&tree, ctx(&ids));
        let multi = Request::Multi(vec![create("/x/y", 0), create("/b", 6)]);
        let (ty, TxnBody::Multi(subs)) = p.prepare(&multi) else {
            panic!()
        };
        assert_eq!(ty, 14);
        assert_eq!(subs[0].1, TxnBody::Error(ErrorTxn { err: -101 }));
        assert_eq!(subs[1].1, TxnBody::Error(ErrorTxn { err: -2 }));
    }

    #[test]
    fn multi_sees_its_own_changes_and_rolls_back() {
        let tree = DataTree::new();
        let ids = [Id::new("ip", "127.0.0.1")];
        let mut p = Preparer::new(&tree, ctx(&ids));
        let multi = Request::Multi(vec![
            create("/m", 0),
            create("/m/c", 0),
            Request::Delete(DeleteRequest {
                path: "/m".into(),
                version: -1,
            }),
            create("/n", 0),
        ]);
        let (ty, body) = p.prepare(&multi);
        assert_eq!(ty, 14);
        let TxnBody::Multi(subs) = body else { panic!() };
        let types: Vec<i32> = subs.iter().map(|s| s.0).collect();
        assert_eq!(types, [1, 1, -1, -1]);
        assert_eq!(subs[2].1, TxnBody::Error(ErrorTxn { err: -111 }));
        assert_eq!(subs[3].1, TxnBody::Error(ErrorTxn { err: -2 }));
    }
}
