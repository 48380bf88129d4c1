//! The plain operations of [`Client`]: create, delete, exists, data, children, ACLs, sync,
//! and the session-level requests (getEphemerals, getAllChildrenNumber, whoAmI, addAuth).
//! Dynamic reconfiguration (getConfig, reconfig, updateServerList) is in `config`.
//!
//! Every method queues its request before returning, so calls reach the server in call order.
//! **Dropping a returned future** discards the outcome only: the request has been queued and
//! may still be applied.

use std::future::Future;

use bytes::Bytes;
use tokio::sync::oneshot;
use zk_core::data::ClientInfo;
use zk_core::message::{Request, Response};
use zk_core::path::Chroot;
use zk_core::proto::*;
use zk_core::{Acl, CreateMode, Stat};

use crate::client::Client;
use crate::create::CreateOptions;
use crate::driver::now;
use crate::error::{Error, Result};
use crate::session::Hook;
use crate::version::Version;

/// The node data of a reply (`null` data reads as empty).
pub(crate) fn data_of(data: Option<Bytes>) -> Bytes {
    data.unwrap_or_default()
}

pub(crate) fn unexpected(body: Response) -> Error {
    Error::Protocol(format!("unexpected reply body {body:?}"))
}

pub(crate) fn strip(chroot: &Option<Chroot>, server_path: &str) -> String {
    match chroot {
        Some(c) => c.strip(server_path).to_owned(),
        None => server_path.to_owned(),
    }
}

impl Client {
    /// Queues `req` at `path` (validated, chroot prepended) and maps the reply body.
    pub(crate) fn op<T, F>(
        &self,
        req: Result<Request>,
        map: F,
    ) -> impl Future<Output = Result<T>> + Send + 'static
    where
        F: FnOnce(Response) -> Result<T> + Send + 'static,
        T: Send + 'static,
    {
        let call = req.map(|r| self.call(&r, Hook::None));
        async move { map(Client::outcome(call).await?.body) }
    }

    /// Creates a node with the open ACL and returns its path (with the sequence suffix for
    /// sequential modes) and Stat. TTL modes need [`Client::create_with`].
    ///
    /// Dropping the future does not cancel the create.
    pub fn create(
        &self,
        path: &str,
        data: &[u8],
        mode: CreateMode,
    ) -> impl Future<Output = Result<(String, Stat)>> + Send + 'static {
        self.create_with(path, data, &CreateOptions::new(mode))
    }

    /// Creates a node with explicit [`CreateOptions`] (ACL, TTL). Containers use
    /// createContainer, TTL nodes createTTL, others create2.
    ///
    /// Dropping the future does not cancel the create.
    pub fn create_with(
        &self,
        path: &str,
        data: &[u8],
        options: &CreateOptions,
    ) -> impl Future<Output = Result<(String, Stat)>> + Send + 'static {
        let req = self
            .server_path(path, options.mode.is_sequential())
            .and_then(|p| options.request(p, data));
        let chroot = self.chroot_ref().cloned();
        self.op(req, move |body| match body {
            Response::Create2(r) => Ok((strip(&chroot, &r.path), r.stat)),
            other => Err(unexpected(other)),
        })
    }

    /// Deletes a node at `version` ([`Version::Any`]: whatever its version).
    ///
    /// Dropping the future does not cancel the delete.
    pub fn delete(
        &self,
        path: &str,
        version: Version,
    ) -> impl Future<Output = Result<()>> + Send + 'static {
        let req = self.server_path(path, false).map(|path| {
            Request::Delete(DeleteRequest {
                path,
                version: version.as_i32(),
            })
        });
        self.op(req, |_| Ok(()))
    }

    /// The node's Stat, or `None` when it does not exist.
    ///
    /// Dropping the future discards the answer.
    pub fn exists(
        &self,
        path: &str,
    ) -> impl Future<Output = Result<Option<Stat>>> + Send + 'static {
        let req = self
            .server_path(path, false)
            .map(|path| Request::Exists(ExistsRequest { path, watch: false }));
        let fut = self.op(req, |body| match body {
            Response::Exists(r) => Ok(Some(r.stat)),
            other => Err(unexpected(other)),
        });
        async move {
            match fut.await {
                Err(Error::NoNode) => Ok(None),
                other => other,
            }
        }
    }

    /// The node's data and Stat. Null data reads as empty (see
    /// [`Client::get_data_nullable`] to tell them apart).
    ///
    /// Dropping the future discards the answer.
    pub fn get_data(
        &self,
        path: &str,
    ) -> impl Future<Output = Result<(Bytes, Stat)>> + Send + 'static {
        let fut = self.get_data_nullable(path);
        async move { fut.await.map(|(d, s)| (d.unwrap_or_default(), s)) }
    }

    /// The node's data, `None` for null data (a node created with no data by the Java
    /// client), and its Stat.
    ///
    /// Dropping the future discards the answer.
    pub fn get_data_nullable(
        &self,
        path: &str,
    ) -> impl Future<Output = Result<(Option<Bytes>, Stat)>> + Send + 'static {
        let req = self
            .server_path(path, false)
            .map(|path| Request::GetData(GetDataRequest { path, watch: false }));
        self.op(req, |body| match body {
            Response::GetData(r) => Ok((r.data, r.stat)),
            other => Err(unexpected(other)),
        })
    }

    /// Sets the node's data if its data version is `version` ([`Version::Any`]: whatever it
    /// is). Returns the new Stat.
    ///
    /// Dropping the future does not cancel the write.
    pub fn set_data(
        &self,
        path: &str,
        data: &[u8],
        version: Version,
    ) -> impl Future<Output = Result<Stat>> + Send + 'static {
        let req = self.server_path(path, false).map(|path| {
            Request::SetData(SetDataRequest {
                path,
                data: Some(Bytes::copy_from_slice(data)),
                version: version.as_i32(),
            })
        });
        self.op(req, |body| match body {
            Response::SetData(r) => Ok(r.stat),
            other => Err(unexpected(other)),
        })
    }

    /// The names of the node's children (in no particular order).
    ///
    /// Dropping the future discards the answer.
    pub fn get_children(
        &self,
        path: &str,
    ) -> impl Future<Output = Result<Vec<String>>> + Send + 'static {
        let req = self
            .server_path(path, false)
            .map(|path| Request::GetChildren(GetChildrenRequest { path, watch: false }));
        self.op(req, |body| match body {
            Response::GetChildren(r) => Ok(r.children),
            other => Err(unexpected(other)),
        })
    }

    /// The names of the node's children and the node's Stat (getChildren2).
    ///
    /// Dropping the future discards the answer.
    pub fn get_children_with_stat(
        &self,
        path: &str,
    ) -> impl Future<Output = Result<(Vec<String>, Stat)>> + Send + 'static {
        let req = self
            .server_path(path, false)
            .map(|path| Request::GetChildren2(GetChildren2Request { path, watch: false }));
        self.op(req, |body| match body {
            Response::GetChildren2(r) => Ok((r.children, r.stat)),
            other => Err(unexpected(other)),
        })
    }

    /// The node's ACL and Stat.
    ///
    /// Dropping the future discards the answer.
    pub fn get_acl(
        &self,
        path: &str,
    ) -> impl Future<Output = Result<(Vec<Acl>, Stat)>> + Send + 'static {
        let req = self
            .server_path(path, false)
            .map(|path| Request::GetAcl(GetAclRequest { path }));
        self.op(req, |body| match body {
            Response::GetAcl(r) => Ok((r.acl, r.stat)),
            other => Err(unexpected(other)),
        })
    }

    /// Sets the node's ACL if its ACL version (`Stat::aversion`) is `version`
    /// ([`Version::Any`]: whatever it is). Returns the new Stat.
    ///
    /// Dropping the future does not cancel the write.
    pub fn set_acl(
        &self,
        path: &str,
        acl: &[Acl],
        version: Version,
    ) -> impl Future<Output = Result<Stat>> + Send + 'static {
        let req = self.server_path(path, false).map(|path| {
            Request::SetAcl(SetAclRequest {
                path,
                acl: acl.to_vec(),
                version: version.as_i32(),
            })
        });
        self.op(req, |body| match body {
            Response::SetAcl(r) => Ok(r.stat),
            other => Err(unexpected(other)),
        })
    }

    /// Waits until the server this client talks to has caught up with the leader.
    ///
    /// Dropping the future discards the answer.
    pub fn sync(&self, path: &str) -> impl Future<Output = Result<()>> + Send + 'static {
        let req = self
            .server_path(path, false)
            .map(|path| Request::Sync(SyncRequest { path }));
        self.op(req, |_| Ok(()))
    }

    /// This session's ephemeral nodes whose path starts with `prefix` (`"/"` for all), as
    /// client paths: the chroot is prepended to the prefix and stripped from the results, and
    /// nodes outside the chroot are left out (Apache ZooKeeper's Java client does neither).
    ///
    /// Dropping the future discards the answer.
    pub fn get_ephemerals(
        &self,
        prefix: &str,
    ) -> impl Future<Output = Result<Vec<String>>> + Send + 'static {
        let chroot = self.chroot_ref().cloned();
        let prefix_path = match &chroot {
            Some(c) if prefix == "/" || prefix.is_empty() => c.as_str().to_owned(),
            Some(c) => c.prepend(prefix),
            None => prefix.to_owned(),
        };
        let req = Ok(Request::GetEphemerals(GetEphemeralsRequest {
            prefix_path: Some(prefix_path),
        }));
        self.op(req, move |body| match body {
            Response::GetEphemerals(r) => Ok(match &chroot {
                None => r.ephemerals,
                Some(c) => r
                    .ephemerals
                    .iter()
                    .filter(|p| {
                        p.as_str() == c.as_str()
                            || p.strip_prefix(c.as_str())
                                .is_some_and(|r| r.starts_with('/'))
                    })
                    .map(|p| c.strip(p).to_owned())
                    .collect(),
            }),
            other => Err(unexpected(other)),
        })
    }

    /// The number of descendants of the node (not counting itself).
    ///
    /// Dropping the future discards the answer.
    pub fn get_all_children_number(
        &self,
        path: &str,
    ) -> impl Future<Output = Result<i32>> + Send + 'static {
        let req = self
            .server_path(path, false)
            .map(|path| Request::GetAllChildrenNumber(GetAllChildrenNumberRequest { path }));
        self.op(req, |body| match body {
            Response::GetAllChildrenNumber(r) => Ok(r.total_number),
            other => Err(unexpected(other)),
        })
    }

    /// The identities this connection is authenticated as (whoAmI): always `ip`, plus every
    /// accepted credential.
    ///
    /// Dropping the future discards the answer.
    pub fn who_am_i(&self) -> impl Future<Output = Result<Vec<ClientInfo>>> + Send + 'static {
        self.op(Ok(Request::WhoAmI), |body| match body {
            Response::WhoAmI(r) => Ok(r.client_info),
            other => Err(unexpected(other)),
        })
    }

    /// Adds a credential to the connection (`"digest"`, `b"user:password"`). It is kept and
    /// replayed on every later connection. A refused credential ends the client in
    /// [`SessionState::AuthFailed`](crate::SessionState::AuthFailed), as in Apache
    /// ZooKeeper's client.
    ///
    /// Dropping the future does not cancel the authentication.
    pub fn add_auth(
        &self,
        scheme: &str,
        auth: &[u8],
    ) -> impl Future<Output = Result<()>> + Send + 'static {
        let (tx, rx) = oneshot::channel();
        self.shared()
            .lock()
            .add_auth(now(), scheme.to_owned(), auth.to_vec(), tx);
        self.shared().wake();
        async move { rx.await.map_err(|_| Error::Closed)? }
    }
}
