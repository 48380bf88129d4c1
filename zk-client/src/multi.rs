//! Transactions ([`MultiBuilder`], opcode 14) and batched reads ([`MultiReadBuilder`],
//! opcode 22).

use std::future::Future;

use bytes::Bytes;
use zk_core::message::{MultiResult, Request, Response};
use zk_core::proto::*;
use zk_core::{CreateMode, ErrorCode, Stat};

use crate::client::Client;
use crate::create::CreateOptions;
use crate::error::{Error, Result};
use crate::ops::{data_of, strip, unexpected};
use crate::session::Hook;
use crate::version::Version;

/// The result of one op of a successful transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum OpResult {
    /// A create: the created path (client view) and its Stat.
    Create {
        /// The path, with the sequence suffix for sequential modes.
        path: String,
        /// The new node's Stat, when the server sends one (Apache ZooKeeper 3.8 answers a
        /// create2 inside a multi with a plain create result, without Stat; containers and
        /// TTL nodes always get one).
        stat: Option<Stat>,
    },
    /// A delete.
    Delete,
    /// A setData: the new Stat.
    SetData(Stat),
    /// A version check.
    Check,
}

/// An atomic transaction: every op is applied, or none is.
///
/// Build it with [`Client::multi`], then [`MultiBuilder::commit`]. A failure is reported as
/// [`Error::MultiFailed`] with the index of the first failing op and its error.
#[derive(Debug)]
#[must_use = "a transaction does nothing until committed"]
pub struct MultiBuilder {
    client: Client,
    ops: Vec<Request>,
    error: Option<Error>,
}

impl MultiBuilder {
    fn push(mut self, op: Result<Request>) -> Self {
        match op {
            Ok(op) => self.ops.push(op),
            Err(e) => {
                self.error.get_or_insert(e);
            }
        }
        self
    }

    /// Creates a node with the open ACL.
    pub fn create(self, path: &str, data: &[u8], mode: CreateMode) -> Self {
        self.create_with(path, data, &CreateOptions::new(mode))
    }

    /// Creates a node with explicit options.
    pub fn create_with(self, path: &str, data: &[u8], options: &CreateOptions) -> Self {
        let op = self
            .client
            .server_path(path, options.mode.is_sequential())
            .and_then(|p| options.request(p, data));
        self.push(op)
    }

    /// Deletes a node at `version` ([`Version::Any`]: whatever its version).
    pub fn delete(self, path: &str, version: Version) -> Self {
        let op = self.client.server_path(path, false).map(|path| {
            Request::Delete(DeleteRequest {
                path,
                version: version.as_i32(),
            })
        });
        self.push(op)
    }

    /// Sets a node's data if its data version is `version` ([`Version::Any`]: whatever it
    /// is).
    pub fn set_data(self, path: &str, data: &[u8], version: Version) -> Self {
        let op = self.client.server_path(path, false).map(|path| {
            Request::SetData(SetDataRequest {
                path,
                data: Some(Bytes::copy_from_slice(data)),
                version: version.as_i32(),
            })
        });
        self.push(op)
    }

    /// Requires the node to exist with data version `version` ([`Version::Any`]: existence
    /// only).
    pub fn check(self, path: &str, version: Version) -> Self {
        let op = self.client.server_path(path, false).map(|path| {
            Request::Check(CheckVersionRequest {
                path,
                version: version.as_i32(),
            })
        });
        self.push(op)
    }

    /// How many ops the transaction has.
    pub fn len(&self) -> usize {
        self.ops.len()
    }

    /// True when the transaction has no op.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    /// Sends the transaction (queued now) and returns one result per op. An empty transaction
    /// succeeds without being sent.
    ///
    /// Dropping the future does not cancel the transaction.
    pub fn commit(self) -> impl Future<Output = Result<Vec<OpResult>>> + Send + 'static {
        let call = match (self.error, self.ops.is_empty()) {
            (Some(e), _) => Some(Err(e)),
            (None, true) => None,
            (None, false) => Some(Ok(self.client.call(&Request::Multi(self.ops), Hook::None))),
        };
        let chroot = self.client.chroot_ref().cloned();
        async move {
            let Some(call) = call else {
                return Ok(Vec::new());
            };
            let results = match Client::outcome(call).await?.body {
                Response::Multi(r) => r,
                other => return Err(unexpected(other)),
            };
            if let Some((index, code)) = results.iter().enumerate().find_map(|(i, r)| match r {
                MultiResult::Error(c) if *c != ErrorCode::Ok => Some((i, *c)),
                _ => None,
            }) {
                return Err(Error::MultiFailed {
                    index,
                    source: Box::new(Error::from_code(code)),
                });
            }
            results
                .into_iter()
                .map(|r| match r {
                    MultiResult::Create(path) => Ok(OpResult::Create {
                        path: strip(&chroot, &path),
                        stat: None,
                    }),
                    MultiResult::Create2(c) => Ok(OpResult::Create {
                        path: strip(&chroot, &c.path),
                        stat: Some(c.stat),
                    }),
                    MultiResult::Delete => Ok(OpResult::Delete),
                    MultiResult::SetData(stat) => Ok(OpResult::SetData(stat)),
                    MultiResult::Check => Ok(OpResult::Check),
                    other => Err(Error::Protocol(format!(
                        "unexpected multi result {other:?}"
                    ))),
                })
                .collect()
        }
    }
}

/// The result of one read of a [`MultiReadBuilder`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReadResult {
    /// A getData: data (null data as empty) and Stat.
    Data(Bytes, Stat),
    /// A getChildren: the children's names.
    Children(Vec<String>),
}

/// A batch of independent reads sent as one request (multiRead, Apache ZooKeeper 3.6+). Each
/// read succeeds or fails on its own.
#[derive(Debug)]
#[must_use = "a batch does nothing until run"]
pub struct MultiReadBuilder {
    client: Client,
    ops: Vec<Request>,
    error: Option<Error>,
}

impl MultiReadBuilder {
    fn push(mut self, op: Result<Request>) -> Self {
        match op {
            Ok(op) => self.ops.push(op),
            Err(e) => {
                self.error.get_or_insert(e);
            }
        }
        self
    }

    /// Reads a node's data and Stat.
    pub fn get_data(self, path: &str) -> Self {
        let op = self
            .client
            .server_path(path, false)
            .map(|path| Request::GetData(GetDataRequest { path, watch: false }));
        self.push(op)
    }

    /// Lists a node's children.
    pub fn get_children(self, path: &str) -> Self {
        let op = self
            .client
            .server_path(path, false)
            .map(|path| Request::GetChildren(GetChildrenRequest { path, watch: false }));
        self.push(op)
    }

    /// Sends the batch (queued now); one result per read.
    ///
    /// Dropping the future discards the answers.
    pub fn run(self) -> impl Future<Output = Result<Vec<Result<ReadResult>>>> + Send + 'static {
        let call = match (self.error, self.ops.is_empty()) {
            (Some(e), _) => Some(Err(e)),
            (None, true) => None,
            (None, false) => Some(Ok(self
                .client
                .call(&Request::MultiRead(self.ops), Hook::None))),
        };
        async move {
            let Some(call) = call else {
                return Ok(Vec::new());
            };
            let results = match Client::outcome(call).await?.body {
                Response::Multi(r) => r,
                other => return Err(unexpected(other)),
            };
            Ok(results
                .into_iter()
                .map(|r| match r {
                    MultiResult::GetData(d) => Ok(ReadResult::Data(data_of(d.data), d.stat)),
                    MultiResult::GetChildren(c) => Ok(ReadResult::Children(c)),
                    MultiResult::Error(code) => Err(Error::from_code(code)),
                    other => Err(Error::Protocol(format!("unexpected read result {other:?}"))),
                })
                .collect())
        }
    }
}

impl Client {
    /// Starts a transaction.
    pub fn multi(&self) -> MultiBuilder {
        MultiBuilder {
            client: self.clone(),
            ops: Vec::new(),
            error: None,
        }
    }

    /// Starts a batch of reads.
    pub fn multi_read(&self) -> MultiReadBuilder {
        MultiReadBuilder {
            client: self.clone(),
            ops: Vec::new(),
            error: None,
        }
    }
}
