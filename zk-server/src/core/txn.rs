//! Transactions: a [`TxnHeader`] plus the body that the header's type selects, exactly the
//! records Apache ZooKeeper writes to its log (`org.apache.zookeeper.txn`).

use bytes::Bytes;
use zk_core::jute::{Decode, Encode, Reader};
use zk_core::txn::{
    CheckVersionTxn, CloseSessionTxn, CreateContainerTxn, CreateSessionTxn, CreateTtlTxn,
    CreateTxn, DeleteTxn, ErrorTxn, MultiTxn, SetAclTxn, SetDataTxn, Txn, TxnHeader,
};
use zk_core::{DecodeError, OpCode};

/// The body of a transaction; which record it is follows from the header's type.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TxnBody {
    /// create (1) and create2 (15).
    Create(CreateTxn),
    /// createContainer (19).
    CreateContainer(CreateContainerTxn),
    /// createTTL (21).
    CreateTtl(CreateTtlTxn),
    /// delete (2) and deleteContainer (20).
    Delete(DeleteTxn),
    /// setData (5) and reconfig (16).
    SetData(SetDataTxn),
    /// setACL (7).
    SetAcl(SetAclTxn),
    /// check (13), inside a multi only.
    Check(CheckVersionTxn),
    /// A failed request (-1).
    Error(ErrorTxn),
    /// createSession (-10).
    CreateSession(CreateSessionTxn),
    /// closeSession (-11).
    CloseSession(CloseSessionTxn),
    /// multi (14): each sub-transaction with its own type.
    Multi(Vec<(i32, TxnBody)>),
}

impl TxnBody {
    /// Decodes the body of a transaction of type `txn_type` (a header's `type`).
    pub fn decode(txn_type: i32, buf: &[u8]) -> Result<TxnBody, DecodeError> {
        let op = OpCode::from_i32(txn_type).ok_or(DecodeError::BadOpCode(txn_type))?;
        Ok(match op {
            OpCode::Create | OpCode::Create2 => TxnBody::Create(CreateTxn::from_bytes(buf)?),
            OpCode::CreateContainer => {
                TxnBody::CreateContainer(CreateContainerTxn::from_bytes(buf)?)
            }
            OpCode::CreateTtl => TxnBody::CreateTtl(CreateTtlTxn::from_bytes(buf)?),
            OpCode::Delete | OpCode::DeleteContainer => {
                TxnBody::Delete(DeleteTxn::from_bytes(buf)?)
            }
            OpCode::SetData | OpCode::Reconfig => TxnBody::SetData(SetDataTxn::from_bytes(buf)?),
            OpCode::SetAcl => TxnBody::SetAcl(SetAclTxn::from_bytes(buf)?),
            OpCode::Check => TxnBody::Check(CheckVersionTxn::from_bytes(buf)?),
            OpCode::Error => TxnBody::Error(ErrorTxn::from_bytes(buf)?),
            OpCode::CreateSession => TxnBody::CreateSession(CreateSessionTxn::from_bytes(buf)?),
            OpCode::CloseSession => {
                // Apache ZooKeeper writes an empty body when closeSessionTxn is disabled.
                if buf.is_empty() {
                    TxnBody::CloseSession(CloseSessionTxn {
                        paths_to_delete: Vec::new(),
                    })
                } else {
                    TxnBody::CloseSession(CloseSessionTxn::from_bytes(buf)?)
                }
            }
            OpCode::Multi => {
                let multi = MultiTxn::decode(&mut Reader::new(buf))?;
                let mut subs = Vec::with_capacity(multi.txns.len());
                for t in multi.txns {
                    subs.push((t.txn_type, TxnBody::decode(t.txn_type, &t.data)?));
                }
                TxnBody::Multi(subs)
            }
            _ => return Err(DecodeError::BadOpCode(txn_type)),
        })
    }
}

impl Encode for TxnBody {
    fn encode(&self, w: &mut Vec<u8>) {
        match self {
            TxnBody::Create(t) => t.encode(w),
            TxnBody::CreateContainer(t) => t.encode(w),
            TxnBody::CreateTtl(t) => t.encode(w),
            TxnBody::Delete(t) => t.encode(w),
            TxnBody::SetData(t) => t.encode(w),
            TxnBody::SetAcl(t) => t.encode(w),
            TxnBody::Check(t) => t.encode(w),
            TxnBody::Error(t) => t.encode(w),
            TxnBody::CreateSession(t) => t.encode(w),
            TxnBody::CloseSession(t) => t.encode(w),
            TxnBody::Multi(subs) => MultiTxn {
                txns: subs
                    .iter()
                    .map(|(ty, b)| Txn {
                        txn_type: *ty,
                        data: Bytes::from(b.to_bytes()),
                    })
                    .collect(),
            }
            .encode(w),
        }
    }
}

/// One logged transaction: header and body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedTxn {
    /// The header (session, cxid, zxid, time, type).
    pub header: TxnHeader,
    /// The body selected by `header.txn_type`.
    pub body: TxnBody,
}

#[cfg(test)]
mod tests {
    use super::*;
    use zk_core::{Acl, Zxid};

    #[test]
    fn multi_round_trips() {
        let body = TxnBody::Multi(vec![
            (
                1,
                TxnBody::Create(CreateTxn {
                    path: "/a".into(),
                    data: None,
                    acl: Acl::open_unsafe(),
                    ephemeral: false,
                    parent_cversion: 1,
                }),
            ),
            (-1, TxnBody::Error(ErrorTxn { err: -2 })),
        ]);
        let bytes = body.to_bytes();
        assert_eq!(TxnBody::decode(14, &bytes).unwrap(), body);
        let _ = Zxid(1);
    }
}
