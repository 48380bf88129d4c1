//! [`TxnBody`]: the transaction record a [`TxnHeader`](super::TxnHeader)'s type selects, as
//! Apache ZooKeeper's `SerializeUtils.deserializeTxn` and `DataTree.processTxn` choose it.

use crate::error::DecodeError;
use crate::jute::{Decode, Encode, Reader, WriteExt};
use crate::opcode::OpCode;

use super::{
    CheckVersionTxn, CloseSessionTxn, CreateContainerTxn, CreateSessionTxn, CreateTtlTxn,
    CreateTxn, DeleteTxn, ErrorTxn, MultiTxn, SetAclTxn, SetDataTxn, DIGEST_LEN,
};

/// The body of a transaction; which record it is follows from the header's type.
///
/// Several types share a record: `create` (1) and `create2` (15) a [`CreateTxn`], `delete` (2)
/// and `deleteContainer` (20) a [`DeleteTxn`], `setData` (5) and `reconfig` (16) a
/// [`SetDataTxn`]. A multi keeps each sub-transaction's own type beside its body.
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
    /// check (13), normally inside a multi only.
    Check(CheckVersionTxn),
    /// A failed request (-1) that still consumed a zxid.
    Error(ErrorTxn),
    /// createSession (-10): the negotiated timeout.
    CreateSession(CreateSessionTxn),
    /// closeSession (-11): the ephemerals to delete (empty when the writer had
    /// `zookeeper.closeSessionTxn.enabled=false` and wrote no record).
    CloseSession(CloseSessionTxn),
    /// multi (14): each sub-transaction with its own type. A multi never nests.
    Multi(Vec<(i32, TxnBody)>),
}

impl TxnBody {
    /// Decodes the record of a transaction of type `txn_type` (a header's `type`) that must fill
    /// `buf` exactly. A closeSession may have an empty `buf` (no record).
    pub fn decode(txn_type: i32, buf: &[u8]) -> Result<TxnBody, DecodeError> {
        let mut r = Reader::new(buf);
        let body = TxnBody::read(txn_type, &mut r)?;
        r.finish()?;
        Ok(body)
    }

    /// Reads the record of a transaction of type `txn_type` from `r`, leaving `r` just after it
    /// (where a log entry's optional digest starts).
    ///
    /// A closeSession record is present only with `closeSessionTxn.enabled` (the default);
    /// without it the entry ends at the header or carries just a 12-byte digest, so a
    /// closeSession whose record does not decode to exactly that end reads as an empty list and
    /// consumes nothing.
    pub fn read(txn_type: i32, r: &mut Reader<'_>) -> Result<TxnBody, DecodeError> {
        TxnBody::read_typed(txn_type, r, true)
    }

    fn read_typed(
        txn_type: i32,
        r: &mut Reader<'_>,
        top_level: bool,
    ) -> Result<TxnBody, DecodeError> {
        use OpCode as O;
        let op = OpCode::from_i32(txn_type).ok_or(DecodeError::BadOpCode(txn_type))?;
        Ok(match op {
            O::Create | O::Create2 => TxnBody::Create(Decode::decode(r)?),
            O::CreateContainer => TxnBody::CreateContainer(Decode::decode(r)?),
            O::CreateTtl => TxnBody::CreateTtl(Decode::decode(r)?),
            O::Delete | O::DeleteContainer => TxnBody::Delete(Decode::decode(r)?),
            O::SetData | O::Reconfig => TxnBody::SetData(Decode::decode(r)?),
            O::SetAcl => TxnBody::SetAcl(Decode::decode(r)?),
            O::Check => TxnBody::Check(Decode::decode(r)?),
            O::Error => TxnBody::Error(Decode::decode(r)?),
            O::CreateSession => TxnBody::CreateSession(Decode::decode(r)?),
            O::CloseSession => {
                let mut probe = r.clone();
                match CloseSessionTxn::decode(&mut probe) {
                    Ok(t) if probe.remaining() == 0 || probe.remaining() == DIGEST_LEN => {
                        *r = probe;
                        TxnBody::CloseSession(t)
                    }
                    _ => TxnBody::CloseSession(CloseSessionTxn::default()),
                }
            }
            // Apache ZooKeeper never nests a multi (its replay refuses one as "Invalid type of
            // op"); refusing it here also bounds the recursion.
            O::Multi if top_level => {
                let multi = MultiTxn::decode(r)?;
                let mut subs = Vec::with_capacity(multi.txns.len());
                for t in multi.txns {
                    let mut sub = Reader::new(&t.data);
                    let body = TxnBody::read_typed(t.txn_type, &mut sub, false)?;
                    sub.finish()?;
                    subs.push((t.txn_type, body));
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
            // `MultiTxn { vector<Txn> txns }`, each `Txn { int type; buffer data }` written in
            // place: the buffer's length is filled in after its record.
            TxnBody::Multi(subs) => {
                w.put_i32(subs.len() as i32);
                for (ty, body) in subs {
                    w.put_i32(*ty);
                    let at = w.len();
                    w.put_i32(0);
                    body.encode(w);
                    let len = (w.len() - at - 4) as i32;
                    w[at..at + 4].copy_from_slice(&len.to_be_bytes());
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;
    use crate::data::Acl;
    use crate::txn::Txn;

    fn create() -> CreateTxn {
        CreateTxn {
            path: "/a".into(),
            data: Some(Bytes::from_static(b"x")),
            acl: Acl::open_unsafe(),
            ephemeral: false,
            parent_cversion: 1,
        }
    }

    #[test]
    fn multi_round_trips_and_matches_the_record_encoding() {
        let body = TxnBody::Multi(vec![
            (1, TxnBody::Create(create())),
            (-1, TxnBody::Error(ErrorTxn { err: -2 })),
        ]);
        let bytes = body.to_bytes();
        let record = MultiTxn {
            txns: vec![
                Txn {
                    txn_type: 1,
                    data: create().to_bytes().into(),
                },
                Txn {
                    txn_type: -1,
                    data: ErrorTxn { err: -2 }.to_bytes().into(),
                },
            ],
        };
        assert_eq!(bytes, record.to_bytes());
        assert_eq!(TxnBody::decode(14, &bytes).unwrap(), body);
    }

    #[test]
    fn shared_records_and_unknown_types() {
        let c = create().to_bytes();
        for ty in [1, 15] {
            assert_eq!(TxnBody::decode(ty, &c).unwrap(), TxnBody::Create(create()));
        }
        let s = SetDataTxn {
            path: "/zookeeper/config".into(),
            data: Some(Bytes::from_static(b"server.1=...")),
            version: 3,
        };
        assert!(matches!(
            TxnBody::decode(16, &s.to_bytes()),
            Ok(TxnBody::SetData(_))
        ));
        assert_eq!(TxnBody::decode(4, &[]), Err(DecodeError::BadOpCode(4)));
        assert_eq!(TxnBody::decode(99, &[]), Err(DecodeError::BadOpCode(99)));
    }

    #[test]
    fn close_session_without_record() {
        let empty = TxnBody::CloseSession(CloseSessionTxn::default());
        assert_eq!(TxnBody::decode(-11, &[]).unwrap(), empty);
        // A record that does not decode is left unread, so an exact decode fails.
        assert!(TxnBody::decode(-11, &[0, 0, 0, 5]).is_err());
        let mut r = Reader::new(&[0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9]);
        assert_eq!(TxnBody::read(-11, &mut r).unwrap(), empty);
        assert_eq!(r.remaining(), 16, "a digest-like tail is not a record");
    }

    #[test]
    fn nested_multi_and_trailing_sub_bytes_are_refused() {
        let inner = TxnBody::Multi(Vec::new()).to_bytes();
        let mut outer = Vec::new();
        outer.put_i32(1);
        outer.put_i32(14);
        outer.put_buffer(Some(&inner));
        assert_eq!(TxnBody::decode(14, &outer), Err(DecodeError::BadOpCode(14)));
        let mut sub = ErrorTxn { err: -2 }.to_bytes();
        sub.push(0);
        let mut outer = Vec::new();
        outer.put_i32(1);
        outer.put_i32(-1);
        outer.put_buffer(Some(&sub));
        assert!(matches!(
            TxnBody::decode(14, &outer),
            Err(DecodeError::TrailingBytes { .. })
        ));
    }
}
