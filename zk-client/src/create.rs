//! [`CreateOptions`]: mode, ACL and TTL of a create, and the request each mode needs.

use std::time::Duration;

use bytes::Bytes;
use zk_core::ephemeral::MAX_TTL_MS;
use zk_core::message::Request;
use zk_core::proto::{CreateRequest, CreateTtlRequest};
use zk_core::{Acl, CreateMode};

use crate::error::{Error, Result};

/// How to create a node: its [`CreateMode`], its ACL (open to everyone by default) and, for
/// the TTL modes, its TTL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateOptions {
    /// The mode.
    pub mode: CreateMode,
    /// The ACL.
    pub acl: Vec<Acl>,
    /// The TTL, required by the TTL modes and refused by the others.
    pub ttl: Option<Duration>,
    /// Create the node with null data (Java's `null`, what zkCli.sh's `create /path` stores)
    /// instead of the bytes given, which may be empty.
    pub null_data: bool,
}

impl CreateOptions {
    /// Options for `mode` with the open ACL (`world:anyone`, every permission).
    pub fn new(mode: CreateMode) -> CreateOptions {
        CreateOptions {
            mode,
            acl: Acl::open_unsafe(),
            ttl: None,
            null_data: false,
        }
    }

    /// Creates the node with null data rather than the data passed to `create_with` (which
    /// must then be empty). Read back with [`Client::get_data_nullable`](crate::Client::get_data_nullable).
    pub fn null_data(mut self) -> CreateOptions {
        self.null_data = true;
        self
    }

    /// Sets the ACL.
    pub fn acl(mut self, acl: Vec<Acl>) -> CreateOptions {
        self.acl = acl;
        self
    }

    /// Sets the TTL (for [`CreateMode::PersistentWithTtl`] and
    /// [`CreateMode::PersistentSequentialWithTtl`]; the server must run with
    /// `zookeeper.extendedTypesEnabled=true`).
    pub fn ttl(mut self, ttl: Duration) -> CreateOptions {
        self.ttl = Some(ttl);
        self
    }

    /// The request for this create at `server_path`: createContainer (19) for containers,
    /// createTTL (21) for TTL modes, create2 (15) otherwise, so the reply always has a Stat.
    pub(crate) fn request(&self, server_path: String, data: &[u8]) -> Result<Request> {
        if self.null_data && !data.is_empty() {
            return Err(Error::InvalidArgument("null data with non-empty bytes"));
        }
        let data = (!self.null_data).then(|| Bytes::copy_from_slice(data));
        let acl = self.acl.clone();
        let flags = self.mode.flag();
        if self.mode.is_ttl() {
            let ttl = self
                .ttl
                .ok_or(Error::InvalidArgument("a TTL mode needs a TTL"))?;
            let ttl = ttl.as_millis();
            if ttl == 0 || ttl > MAX_TTL_MS as u128 {
                return Err(Error::InvalidArgument(
                    "a TTL is between 1 ms and 0xFFFFFFFFFF ms",
                ));
            }
            return Ok(Request::CreateTtl(CreateTtlRequest {
                path: server_path,
                data,
                acl,
                flags,
                ttl: ttl as i64,
            }));
        }
        if self.ttl.is_some() {
            return Err(Error::InvalidArgument("only the TTL modes take a TTL"));
        }
        let req = CreateRequest {
            path: server_path,
            data,
            acl,
            flags,
        };
        Ok(if self.mode.is_container() {
            Request::CreateContainer(req)
        } else {
            Request::Create2(req)
        })
    }
}

impl From<CreateMode> for CreateOptions {
    fn from(mode: CreateMode) -> Self {
        CreateOptions::new(mode)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use zk_core::OpCode;

    #[test]
    fn each_mode_gets_its_op_code() {
        let op = |o: CreateOptions| o.request("/a".into(), b"").map(|r| r.op_code());
        assert_eq!(op(CreateMode::Persistent.into()), Ok(OpCode::Create2));
        assert_eq!(
            op(CreateMode::EphemeralSequential.into()),
            Ok(OpCode::Create2)
        );
        assert_eq!(
            op(CreateMode::Container.into()),
            Ok(OpCode::CreateContainer)
        );
        let ttl = CreateOptions::new(CreateMode::PersistentWithTtl).ttl(Duration::from_secs(1));
        assert_eq!(op(ttl), Ok(OpCode::CreateTtl));
        assert!(op(CreateMode::PersistentSequentialWithTtl.into()).is_err());
        assert!(
            op(CreateOptions::new(CreateMode::Persistent).ttl(Duration::from_secs(1))).is_err()
        );
    }
}
