//! Whole request and response bodies, keyed by op code, and the multi framing.
//!
//! A request frame is a [`RequestHeader`] followed by the body its
//! op code names; [`Request::decode`] reads that body. A reply frame is a
//! [`ReplyHeader`] followed, only when `err == 0`, by the body of the
//! request's op code; [`Response::decode`] reads it.

use crate::data::Stat;
use crate::error::DecodeError;
use crate::error_code::ErrorCode;
use crate::jute::{Decode, Encode, Reader};
use crate::opcode::OpCode;
use crate::proto::*;

/// A request body, one variant per op code that a client may send.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
#[allow(missing_docs)]
pub enum Request {
    Create(CreateRequest),
    Create2(CreateRequest),
    CreateContainer(CreateRequest),
    CreateTtl(CreateTtlRequest),
    Delete(DeleteRequest),
    Exists(ExistsRequest),
    GetData(GetDataRequest),
    SetData(SetDataRequest),
    GetAcl(GetAclRequest),
    SetAcl(SetAclRequest),
    GetChildren(GetChildrenRequest),
    GetChildren2(GetChildren2Request),
    Sync(SyncRequest),
    Ping,
    /// Only valid inside a multi; top-level it is Unimplemented.
    Check(CheckVersionRequest),
    /// An atomic write transaction: create*, delete, setData and check ops.
    Multi(Vec<Request>),
    /// A batch of independent reads: getData and getChildren ops.
    MultiRead(Vec<Request>),
    Reconfig(ReconfigRequest),
    CheckWatches(CheckWatchesRequest),
    RemoveWatches(RemoveWatchesRequest),
    DeleteContainer(DeleteContainerRequest),
    Auth(AuthPacket),
    SetWatches(SetWatches),
    Sasl(GetSaslRequest),
    GetEphemerals(GetEphemeralsRequest),
    GetAllChildrenNumber(GetAllChildrenNumberRequest),
    SetWatches2(SetWatches2),
    AddWatch(AddWatchRequest),
    WhoAmI,
    CloseSession,
}

impl Request {
    /// The op code that carries this body.
    pub fn op_code(&self) -> OpCode {
        use Request::*;
        match self {
            Create(_) => OpCode::Create,
            Create2(_) => OpCode::Create2,
            CreateContainer(_) => OpCode::CreateContainer,
            CreateTtl(_) => OpCode::CreateTtl,
            Delete(_) => OpCode::Delete,
            Exists(_) => OpCode::Exists,
            GetData(_) => OpCode::GetData,
            SetData(_) => OpCode::SetData,
            GetAcl(_) => OpCode::GetAcl,
            SetAcl(_) => OpCode::SetAcl,
            GetChildren(_) => OpCode::GetChildren,
            GetChildren2(_) => OpCode::GetChildren2,
            Sync(_) => OpCode::Sync,
            Ping => OpCode::Ping,
            Check(_) => OpCode::Check,
            Multi(_) => OpCode::Multi,
            MultiRead(_) => OpCode::MultiRead,
            Reconfig(_) => OpCode::Reconfig,
            CheckWatches(_) => OpCode::CheckWatches,
            RemoveWatches(_) => OpCode::RemoveWatches,
            DeleteContainer(_) => OpCode::DeleteContainer,
            Auth(_) => OpCode::Auth,
            SetWatches(_) => OpCode::SetWatches,
            Sasl(_) => OpCode::Sasl,
            GetEphemerals(_) => OpCode::GetEphemerals,
            GetAllChildrenNumber(_) => OpCode::GetAllChildrenNumber,
            SetWatches2(_) => OpCode::SetWatches2,
            AddWatch(_) => OpCode::AddWatch,
            WhoAmI => OpCode::WhoAmI,
            CloseSession => OpCode::CloseSession,
        }
    }

    /// The path this request names, if it names one.
    pub fn path(&self) -> Option<&str> {
        use Request::*;
        Some(match self {
            Create(r) | Create2(r) | CreateContainer(r) => &r.path,
            CreateTtl(r) => &r.path,
            Delete(r) => &r.path,
            Exists(r) => &r.path,
            GetData(r) => &r.path,
            SetData(r) => &r.path,
            GetAcl(r) => &r.path,
            SetAcl(r) => &r.path,
            GetChildren(r) => &r.path,
            GetChildren2(r) => &r.path,
            Sync(r) => &r.path,
            Check(r) => &r.path,
            CheckWatches(r) => &r.path,
            RemoveWatches(r) => &r.path,
            DeleteContainer(r) => &r.path,
            GetAllChildrenNumber(r) => &r.path,
            AddWatch(r) => &r.path,
            _ => return None,
        })
    }

    /// Reads the body of a request whose header carried `op_type`.
    ///
    /// An op code the protocol does not define is [`DecodeError::BadOpCode`]; so are the
    /// server-only codes (notification, createSession, error).
    pub fn decode(op_type: i32, r: &mut Reader<'_>) -> Result<Request, DecodeError> {
        let op = OpCode::from_i32(op_type).ok_or(DecodeError::BadOpCode(op_type))?;
        Ok(match op {
            OpCode::Create => Request::Create(Decode::decode(r)?),
            OpCode::Create2 => Request::Create2(Decode::decode(r)?),
            OpCode::CreateContainer => Request::CreateContainer(Decode::decode(r)?),
            OpCode::CreateTtl => Request::CreateTtl(Decode::decode(r)?),
            OpCode::Delete => Request::Delete(Decode::decode(r)?),
            OpCode::Exists => Request::Exists(Decode::decode(r)?),
            OpCode::GetData => Request::GetData(Decode::decode(r)?),
            OpCode::SetData => Request::SetData(Decode::decode(r)?),
            OpCode::GetAcl => Request::GetAcl(Decode::decode(r)?),
            OpCode::SetAcl => Request::SetAcl(Decode::decode(r)?),
            OpCode::GetChildren => Request::GetChildren(Decode::decode(r)?),
            OpCode::GetChildren2 => Request::GetChildren2(Decode::decode(r)?),
            OpCode::Sync => Request::Sync(Decode::decode(r)?),
            OpCode::Ping => Request::Ping,
            OpCode::Check => Request::Check(Decode::decode(r)?),
            OpCode::Multi | OpCode::MultiRead => decode_multi(op, r)?,
            OpCode::Reconfig => Request::Reconfig(Decode::decode(r)?),
            OpCode::CheckWatches => Request::CheckWatches(Decode::decode(r)?),
            OpCode::RemoveWatches => Request::RemoveWatches(Decode::decode(r)?),
            OpCode::DeleteContainer => Request::DeleteContainer(Decode::decode(r)?),
            OpCode::Auth => Request::Auth(Decode::decode(r)?),
            OpCode::SetWatches => Request::SetWatches(Decode::decode(r)?),
            OpCode::Sasl => Request::Sasl(Decode::decode(r)?),
            OpCode::GetEphemerals => Request::GetEphemerals(Decode::decode(r)?),
            OpCode::GetAllChildrenNumber => Request::GetAllChildrenNumber(Decode::decode(r)?),
            OpCode::SetWatches2 => Request::SetWatches2(Decode::decode(r)?),
            OpCode::AddWatch => Request::AddWatch(Decode::decode(r)?),
            OpCode::WhoAmI => Request::WhoAmI,
            OpCode::CloseSession => Request::CloseSession,
            OpCode::Notification | OpCode::CreateSession | OpCode::Error => {
                return Err(DecodeError::BadOpCode(op_type))
            }
        })
    }
}

/// True for the op codes allowed inside a multi (write) transaction.
fn is_multi_write_op(op: OpCode) -> bool {
    matches!(
        op,
        OpCode::Create
            | OpCode::Create2
            | OpCode::CreateTtl
            | OpCode::CreateContainer
            | OpCode::Delete
            | OpCode::SetData
            | OpCode::Check
    )
}

fn decode_multi(op: OpCode, r: &mut Reader<'_>) -> Result<Request, DecodeError> {
    let mut ops = Vec::new();
    let mut kind: Option<bool> = None; // Some(true) = writes, Some(false) = reads
    loop {
        let h = MultiHeader::decode(r)?;
        if h.done {
            break;
        }
        let sub = OpCode::from_i32(h.op_type).ok_or(DecodeError::BadOpCode(h.op_type))?;
        let is_write = if is_multi_write_op(sub) {
            true
        } else if matches!(sub, OpCode::GetData | OpCode::GetChildren) {
            false
        } else {
            return Err(DecodeError::BadOpCode(h.op_type));
        };
        // MultiOperationRecord refuses a record that mixes reads and writes.
        if *kind.get_or_insert(is_write) != is_write {
            return Err(DecodeError::BadOpCode(h.op_type));
        }
        ops.push(Request::decode(h.op_type, r)?);
    }
    Ok(match op {
        OpCode::MultiRead => Request::MultiRead(ops),
        _ => Request::Multi(ops),
    })
}

fn encode_multi(ops: &[Request], w: &mut Vec<u8>) {
    for op in ops {
        MultiHeader {
            op_type: op.op_code().as_i32(),
            done: false,
            err: -1,
        }
        .encode(w);
        op.encode(w);
    }
    MultiHeader {
        op_type: -1,
        done: true,
        err: -1,
    }
    .encode(w);
}

impl Encode for Request {
    fn encode(&self, w: &mut Vec<u8>) {
        use Request::*;
        match self {
            Create(r) | Create2(r) | CreateContainer(r) => r.encode(w),
            CreateTtl(r) => r.encode(w),
            Delete(r) => r.encode(w),
            Exists(r) => r.encode(w),
            GetData(r) => r.encode(w),
            SetData(r) => r.encode(w),
            GetAcl(r) => r.encode(w),
            SetAcl(r) => r.encode(w),
            GetChildren(r) => r.encode(w),
            GetChildren2(r) => r.encode(w),
            Sync(r) => r.encode(w),
            Check(r) => r.encode(w),
            Multi(ops) | MultiRead(ops) => encode_multi(ops, w),
            Reconfig(r) => r.encode(w),
            CheckWatches(r) => r.encode(w),
            RemoveWatches(r) => r.encode(w),
            DeleteContainer(r) => r.encode(w),
            Auth(r) => r.encode(w),
            SetWatches(r) => r.encode(w),
            Sasl(r) => r.encode(w),
            GetEphemerals(r) => r.encode(w),
            GetAllChildrenNumber(r) => r.encode(w),
            SetWatches2(r) => r.encode(w),
            AddWatch(r) => r.encode(w),
            Ping | WhoAmI | CloseSession => {}
        }
    }
}

/// One result of a multi or multiRead (`OpResult`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MultiResult {
    /// A create (op 1) result: the created path.
    Create(String),
    /// A create2, createContainer or createTTL result: path and Stat (typed 15 on the wire).
    Create2(Create2Response),
    /// A delete result.
    Delete,
    /// A setData result.
    SetData(Stat),
    /// A check result.
    Check,
    /// A getData result (multiRead).
    GetData(GetDataResponse),
    /// A getChildren result (multiRead).
    GetChildren(Vec<String>),
    /// A failed op, or an op of a failed transaction.
    Error(ErrorCode),
}

impl MultiResult {
    fn op_type(&self) -> i32 {
        match self {
            MultiResult::Create(_) => OpCode::Create.as_i32(),
            MultiResult::Create2(_) => OpCode::Create2.as_i32(),
            MultiResult::Delete => OpCode::Delete.as_i32(),
            MultiResult::SetData(_) => OpCode::SetData.as_i32(),
            MultiResult::Check => OpCode::Check.as_i32(),
            MultiResult::GetData(_) => OpCode::GetData.as_i32(),
            MultiResult::GetChildren(_) => OpCode::GetChildren.as_i32(),
            MultiResult::Error(_) => OpCode::Error.as_i32(),
        }
    }
}

/// A reply body, one variant per body shape.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
#[allow(missing_docs)]
pub enum Response {
    /// No body: delete, ping, auth, setWatches*, checkWatches, removeWatches, closeSession.
    Empty,
    Create(CreateResponse),
    /// create2, createContainer and createTTL.
    Create2(Create2Response),
    Exists(ExistsResponse),
    /// getData, and reconfig (the new config and the Stat of /zookeeper/config).
    GetData(GetDataResponse),
    SetData(SetDataResponse),
    GetAcl(GetAclResponse),
    SetAcl(SetAclResponse),
    GetChildren(GetChildrenResponse),
    GetChildren2(GetChildren2Response),
    Sync(SyncResponse),
    /// multi and multiRead.
    Multi(Vec<MultiResult>),
    Sasl(SetSaslResponse),
    GetEphemerals(GetEphemeralsResponse),
    GetAllChildrenNumber(GetAllChildrenNumberResponse),
    /// addWatch answers a 4-byte `ErrorResponse{0}`.
    AddWatch(ErrorResponse),
    WhoAmI(WhoAmIResponse),
}

impl Response {
    /// Reads the success body of a reply to a request of op code `op`.
    pub fn decode(op: OpCode, r: &mut Reader<'_>) -> Result<Response, DecodeError> {
        use OpCode::*;
        Ok(match op {
            Create => Response::Create(Decode::decode(r)?),
            Create2 | CreateContainer | CreateTtl => Response::Create2(Decode::decode(r)?),
            Exists => Response::Exists(Decode::decode(r)?),
            GetData | Reconfig => Response::GetData(Decode::decode(r)?),
            SetData => Response::SetData(Decode::decode(r)?),
            GetAcl => Response::GetAcl(Decode::decode(r)?),
            SetAcl => Response::SetAcl(Decode::decode(r)?),
            GetChildren => Response::GetChildren(Decode::decode(r)?),
            GetChildren2 => Response::GetChildren2(Decode::decode(r)?),
            Sync => Response::Sync(Decode::decode(r)?),
            Multi | MultiRead => Response::Multi(decode_multi_results(r)?),
            Sasl => Response::Sasl(Decode::decode(r)?),
            GetEphemerals => Response::GetEphemerals(Decode::decode(r)?),
            GetAllChildrenNumber => Response::GetAllChildrenNumber(Decode::decode(r)?),
            AddWatch => Response::AddWatch(Decode::decode(r)?),
            WhoAmI => Response::WhoAmI(Decode::decode(r)?),
            Delete | Ping | Auth | SetWatches | SetWatches2 | CheckWatches | RemoveWatches
            | CloseSession | DeleteContainer | Check | CreateSession | Error | Notification => {
                Response::Empty
            }
        })
    }
}

fn decode_multi_results(r: &mut Reader<'_>) -> Result<Vec<MultiResult>, DecodeError> {
    let mut out = Vec::new();
    loop {
        let h = MultiHeader::decode(r)?;
        if h.done {
            return Ok(out);
        }
        let op = OpCode::from_i32(h.op_type).ok_or(DecodeError::BadOpCode(h.op_type))?;
        out.push(match op {
            OpCode::Create => MultiResult::Create(CreateResponse::decode(r)?.path),
            OpCode::Create2 | OpCode::CreateContainer | OpCode::CreateTtl => {
                MultiResult::Create2(Decode::decode(r)?)
            }
            OpCode::Delete => MultiResult::Delete,
            OpCode::SetData => MultiResult::SetData(SetDataResponse::decode(r)?.stat),
            OpCode::Check => MultiResult::Check,
            OpCode::GetData => MultiResult::GetData(Decode::decode(r)?),
            OpCode::GetChildren => {
                MultiResult::GetChildren(GetChildrenResponse::decode(r)?.children)
            }
            OpCode::Error => MultiResult::Error(ErrorCode::from_i32(ErrorResponse::decode(r)?.err)),
            _ => return Err(DecodeError::BadOpCode(h.op_type)),
        });
    }
}

impl Encode for MultiResult {
    fn encode(&self, w: &mut Vec<u8>) {
        let err = match self {
            MultiResult::Error(e) => e.as_i32(),
            _ => 0,
        };
        MultiHeader {
            op_type: self.op_type(),
            done: false,
            err,
        }
        .encode(w);
        match self {
            MultiResult::Create(path) => path.encode(w),
            MultiResult::Create2(r) => r.encode(w),
            MultiResult::Delete | MultiResult::Check => {}
            MultiResult::SetData(stat) => stat.encode(w),
            MultiResult::GetData(r) => r.encode(w),
            MultiResult::GetChildren(c) => c.encode(w),
            MultiResult::Error(e) => ErrorResponse { err: e.as_i32() }.encode(w),
        }
    }
}

impl Encode for Response {
    fn encode(&self, w: &mut Vec<u8>) {
        match self {
            Response::Empty => {}
            Response::Create(r) => r.encode(w),
            Response::Create2(r) => r.encode(w),
            Response::Exists(r) => r.encode(w),
            Response::GetData(r) => r.encode(w),
            Response::SetData(r) => r.encode(w),
            Response::GetAcl(r) => r.encode(w),
            Response::SetAcl(r) => r.encode(w),
            Response::GetChildren(r) => r.encode(w),
            Response::GetChildren2(r) => r.encode(w),
            Response::Sync(r) => r.encode(w),
            Response::Multi(results) => {
                for res in results {
                    res.encode(w);
                }
                MultiHeader {
                    op_type: -1,
                    done: true,
                    err: -1,
                }
                .encode(w);
            }
            Response::Sasl(r) => r.encode(w),
            Response::GetEphemerals(r) => r.encode(w),
            Response::GetAllChildrenNumber(r) => r.encode(w),
            Response::AddWatch(r) => r.encode(w),
            Response::WhoAmI(r) => r.encode(w),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    #[test]
    fn multi_refuses_mixed_kinds() {
        let ops = vec![
            Request::Delete(DeleteRequest {
                path: "/a".into(),
                version: -1,
            }),
            Request::GetData(GetDataRequest {
                path: "/a".into(),
                watch: false,
            }),
        ];
        let bytes = Request::Multi(ops).to_bytes();
        assert!(Request::decode(14, &mut Reader::new(&bytes)).is_err());
    }

    #[test]
    fn multi_round_trips() {
        let req = Request::Multi(vec![
            Request::Create(CreateRequest {
                path: "/a".into(),
                data: Some(Bytes::from_static(b"x")),
                acl: crate::data::Acl::open_unsafe(),
                flags: 0,
            }),
            Request::Check(CheckVersionRequest {
                path: "/a".into(),
                version: 3,
            }),
        ]);
        let bytes = req.to_bytes();
        let mut r = Reader::new(&bytes);
        assert_eq!(Request::decode(14, &mut r).unwrap(), req);
        assert!(r.is_empty());
        let resp = Response::Multi(vec![
            MultiResult::Error(ErrorCode::Ok),
            MultiResult::Error(ErrorCode::BadVersion),
        ]);
        let bytes = resp.to_bytes();
        let mut r = Reader::new(&bytes);
        assert_eq!(Response::decode(OpCode::Multi, &mut r).unwrap(), resp);
        assert!(r.is_empty());
    }
}
