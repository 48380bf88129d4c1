//! Requests that change no state (`FinalRequestProcessor`'s read cases): exists, getData,
//! getChildren(2), getACL, getAllChildrenNumber, getEphemerals, sync, multiRead, whoAmI, and the
//! watch operations (addWatch, setWatches(2), checkWatches, removeWatches).

use zk_core::data::ClientInfo;
use zk_core::proto::{
    ErrorResponse, ExistsResponse, GetAclResponse, GetAllChildrenNumberResponse,
    GetChildren2Response, GetChildrenResponse, GetDataResponse, GetEphemeralsResponse, SetWatches2,
    SyncResponse, WhoAmIResponse,
};
use zk_core::{ErrorCode, EventType, MultiResult, Perms, Request, Response, SessionId, Zxid};

use super::acl::{check_acl, mask_digests, require};
use super::state::Core;
use super::watch::{ConnId, WatchKind, WatchTarget};

impl Core {
    fn ids(&self, conn: ConnId) -> Vec<zk_core::Id> {
        self.conns
            .get(&conn)
            .map(|c| c.ids.clone())
            .unwrap_or_default()
    }

    /// `checkACL`, unless `zookeeper.skipACL` is on.
    fn require(
        &self,
        acl: &[zk_core::Acl],
        perm: Perms,
        ids: &[zk_core::Id],
    ) -> Result<(), ErrorCode> {
        if self.cfg.skip_acl {
            return Ok(());
        }
        require(acl, perm, ids)
    }

    fn get_data(
        &mut self,
        conn: ConnId,
        path: &str,
        watch: bool,
    ) -> Result<GetDataResponse, ErrorCode> {
        let ids = self.ids(conn);
        let n = self.tree.node(path).ok_or(ErrorCode::NoNode)?;
        self.require(&n.acl, Perms::READ, &ids)?;
        let resp = GetDataResponse {
            data: n.data.clone(),
            stat: n.client_stat(),
        };
        if watch {
            self.watches.add(conn, WatchKind::Data, path);
        }
        Ok(resp)
    }

    fn get_children(
        &mut self,
        conn: ConnId,
        path: &str,
        watch: bool,
    ) -> Result<(Vec<String>, zk_core::Stat), ErrorCode> {
        let ids = self.ids(conn);
        let n = self.tree.node(path).ok_or(ErrorCode::NoNode)?;
        self.require(&n.acl, Perms::READ, &ids)?;
        let out = (n.children(), n.client_stat());
        if watch {
            self.watches.add(conn, WatchKind::Child, path);
        }
        Ok(out)
    }

    fn read_op(
        &mut self,
        conn: ConnId,
        session: SessionId,
        req: Request,
    ) -> Result<Response, ErrorCode> {
        Ok(match req {
            Request::Exists(r) => {
                if r.path.contains('\0') {
                    return Err(ErrorCode::BadArguments);
                }
                if r.watch {
                    self.watches.add(conn, WatchKind::Data, &r.path);
                }
                let n = self.tree.node(&r.path).ok_or(ErrorCode::NoNode)?;
                Response::Exists(ExistsResponse {
                    stat: n.client_stat(),
                })
            }
            Request::GetData(r) => Response::GetData(self.get_data(conn, &r.path, r.watch)?),
            Request::GetChildren(r) => {
                let (children, _) = self.get_children(conn, &r.path, r.watch)?;
                Response::GetChildren(GetChildrenResponse { children })
            }
            Request::GetChildren2(r) => {
                let (children, stat) = self.get_children(conn, &r.path, r.watch)?;
                Response::GetChildren2(GetChildren2Response { children, stat })
            }
            Request::GetAcl(r) => {
                let ids = self.ids(conn);
                let n = self.tree.node(&r.path).ok_or(ErrorCode::NoNode)?;
                self.require(&n.acl, Perms::READ | Perms::ADMIN, &ids)?;
                let acl = if self.cfg.skip_acl || check_acl(&n.acl, Perms::ADMIN, &ids) {
                    n.acl.to_vec()
                } else {
                    mask_digests(&n.acl)
                };
                Response::GetAcl(GetAclResponse {
                    acl,
                    stat: n.client_stat(),
                })
            }
            Request::GetAllChildrenNumber(r) => {
                let ids = self.ids(conn);
                let n = self.tree.node(&r.path).ok_or(ErrorCode::NoNode)?;
                self.require(&n.acl, Perms::READ, &ids)?;
                Response::GetAllChildrenNumber(GetAllChildrenNumberResponse {
                    total_number: self.tree.all_children_number(&r.path) as i32,
                })
            }
            Request::GetEphemerals(r) => {
                let prefix = r.prefix_path.unwrap_or_default();
                let all = prefix.trim().is_empty() || prefix.trim() == "/";
                let ephemerals = self
                    .tree
                    .ephemerals(session)
                    .into_iter()
                    .filter(|p| all || p.starts_with(&prefix))
                    .collect();
                Response::GetEphemerals(GetEphemeralsResponse { ephemerals })
            }
            Request::Sync(r) => Response::Sync(SyncResponse { path: r.path }),
            Request::MultiRead(ops) => {
                let mut results = Vec::with_capacity(ops.len());
                for op in ops {
                    results.push(match op {
                        Request::GetData(r) => match self.get_data(conn, &r.path, false) {
                            Ok(d) => MultiResult::GetData(d),
                            Err(e) => MultiResult::Error(e),
                        },
                        Request::GetChildren(r) => match self.get_children(conn, &r.path, false) {
                            Ok((c, _)) => MultiResult::GetChildren(c),
                            Err(e) => MultiResult::Error(e),
                        },
                        _ => MultiResult::Error(ErrorCode::Unimplemented),
                    });
                }
                Response::Multi(results)
            }
            Request::WhoAmI => {
                let ids = self.ids(conn);
                // One entry per id, without merging equal (scheme, user) pairs: two digests of
                // one user with different passwords are two ids (AuthUtil.getClientInfos).
                let infos: Vec<ClientInfo> = super::acl::java_order(&ids)
                    .into_iter()
                    .map(|i| ClientInfo {
                        auth_scheme: i.scheme.clone(),
                        user: if i.scheme == "digest" {
                            i.id.split(':').next().unwrap_or_default().to_owned()
                        } else {
                            i.id.clone()
                        },
                    })
                    .collect();
                Response::WhoAmI(WhoAmIResponse { client_info: infos })
            }
            Request::AddWatch(r) => {
                let kind = match r.mode {
                    0 => WatchKind::Persistent,
                    1 => WatchKind::Recursive,
                    _ => return Err(ErrorCode::MarshallingError),
                };
                self.watches.add(conn, kind, &r.path);
                Response::AddWatch(ErrorResponse { err: 0 })
            }
            Request::CheckWatches(r) => {
                self.watch_op(conn, &r.path, r.watcher_type, false)?;
                Response::Empty
            }
            Request::RemoveWatches(r) => {
                self.watch_op(conn, &r.path, r.watcher_type, true)?;
                Response::Empty
            }
            Request::SetWatches(s) => {
                self.set_watches(
                    conn,
                    SetWatches2 {
                        relative_zxid: s.relative_zxid,
                        data_watches: s.data_watches,
                        exist_watches: s.exist_watches,
                        child_watches: s.child_watches,
                        persistent_watches: vec![],
                        persistent_recursive_watches: vec![],
                    },
                );
                Response::Empty
            }
            Request::SetWatches2(s) => {
                self.set_watches(conn, s);
                Response::Empty
            }
            _ => return Err(ErrorCode::Unimplemented),
        })
    }

    /// checkWatches / removeWatches, with Apache ZooKeeper 3.8's watcher types (1..3; others
    /// fail to deserialize there, hence MarshallingError).
    fn watch_op(
        &mut self,
        conn: ConnId,
        path: &str,
        ty: i32,
        remove: bool,
    ) -> Result<(), ErrorCode> {
        let target = match ty {
            1 => WatchTarget::Children,
            2 => WatchTarget::Data,
            3 => WatchTarget::Any,
            _ => return Err(ErrorCode::MarshallingError),
        };
        if !remove {
            // 3.8's WatchManager.containsWatcher walks PathParentIterator: nothing for "", and
            // a path without '/' fails its substring (an exception: MarshallingError).
            if path.is_empty() {
                return Err(ErrorCode::NoWatcher);
            }
            if !path.contains('/') {
                return Err(ErrorCode::MarshallingError);
            }
        }
        let found = if remove {
            self.watches.remove(conn, target, path)
        } else {
            self.watches.contains(conn, target, path)
        };
        if found {
            Ok(())
        } else {
            Err(ErrorCode::NoWatcher)
        }
    }

    /// setWatches / setWatches2 (`DataTree.setWatches`): re-arms watches and fires the events
    /// missed since `relative_zxid`.
    fn set_watches(&mut self, conn: ConnId, s: SetWatches2) {
        let rel = s.relative_zxid;
        for p in s.data_watches {
            match self.tree.node(&p).map(|n| n.stat.mzxid) {
                None => self.notify(conn, EventType::NodeDeleted, &p),
                Some(m) if m > rel => self.notify(conn, EventType::NodeDataChanged, &p),
                Some(_) => {
                    self.watches.add(conn, WatchKind::Data, &p);
                }
            }
        }
        for p in s.exist_watches {
            if self.tree.node(&p).is_some() {
                self.notify(conn, EventType::NodeCreated, &p);
            } else {
                self.watches.add(conn, WatchKind::Data, &p);
            }
        }
        for p in s.child_watches {
            match self.tree.node(&p).map(|n| n.stat.pzxid) {
                None => self.notify(conn, EventType::NodeDeleted, &p),
                Some(z) if z > rel => self.notify(conn, EventType::NodeChildrenChanged, &p),
                Some(_) => {
                    self.watches.add(conn, WatchKind::Child, &p);
                }
            }
        }
        for p in s.persistent_watches {
            self.watches.add(conn, WatchKind::Persistent, &p);
        }
        for p in s.persistent_recursive_watches {
            self.watches.add(conn, WatchKind::Recursive, &p);
        }
    }

    /// Answers a request that does not change state.
    pub(crate) fn read(
        &mut self,
        now_ms: i64,
        conn: ConnId,
        session: SessionId,
        xid: i32,
        req: Request,
    ) {
        let result = self.read_op(conn, session, req);
        let zxid: Zxid = self.tree.last_zxid();
        match result {
            Ok(resp) => self.reply(now_ms, conn, xid, zxid, ErrorCode::Ok, Some(&resp)),
            Err(e) => self.reply(now_ms, conn, xid, zxid, e, None),
        }
    }
}
