//! One transaction log entry (`TxnLogEntry`): a `TxnHeader`, the transaction record and, since
//! 3.6, an optional `TxnDigest`; and the typed transaction records it may carry
//! (`SerializeUtils.deserializeTxn`).

use bytes::Bytes;
use zk_core::jute::{Decode, Encode, Reader};
use zk_core::txn::*;
use zk_core::{DecodeError, OpCode};

/// A log entry with its record still encoded. `body` is exactly the bytes of the transaction
/// record (empty for types without one), so entries round-trip byte for byte.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxnEntry {
    /// The header: session, cxid, zxid, time, type.
    pub header: TxnHeader,
    /// The encoded transaction record.
    pub body: Bytes,
    /// The tree digest after this transaction, when the writer recorded one.
    pub digest: Option<TxnDigest>,
}

/// A decoded transaction record, by `TxnHeader.type`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum LogTxn {
    /// `createSession`: the negotiated timeout.
    CreateSession(CreateSessionTxn),
    /// `closeSession`: the ephemerals to delete (empty when the writer had
    /// `closeSessionTxn.enabled=false` and wrote no record).
    CloseSession(CloseSessionTxn),
    /// `create` and `create2`.
    Create(CreateTxn),
    /// `createTTL`.
    CreateTtl(CreateTtlTxn),
    /// `createContainer`.
    CreateContainer(CreateContainerTxn),
    /// `delete` and `deleteContainer`.
    Delete(DeleteTxn),
    /// `setData` and `reconfig`.
    SetData(SetDataTxn),
    /// `setACL`.
    SetAcl(SetAclTxn),
    /// `check`, inside a multi.
    Check(CheckVersionTxn),
    /// `error`: a failed write that still consumed a zxid.
    Error(ErrorTxn),
    /// `multi`: each sub-transaction with its type.
    Multi(Vec<(i32, LogTxn)>),
}

impl LogTxn {
    /// Decodes the record of a transaction of type `txn_type` from `r`.
    pub fn decode(txn_type: i32, r: &mut Reader<'_>) -> Result<LogTxn, DecodeError> {
        use OpCode as O;
        let op = OpCode::from_i32(txn_type).ok_or(DecodeError::BadOpCode(txn_type))?;
        Ok(match op {
            O::CreateSession => LogTxn::CreateSession(Decode::decode(r)?),
            O::CloseSession => LogTxn::CloseSession(decode_close_session(r)?),
            O::Create | O::Create2 => LogTxn::Create(Decode::decode(r)?),
            O::CreateTtl => LogTxn::CreateTtl(Decode::decode(r)?),
            O::CreateContainer => LogTxn::CreateContainer(Decode::decode(r)?),
            O::Delete | O::DeleteContainer => LogTxn::Delete(Decode::decode(r)?),
            O::SetData | O::Reconfig => LogTxn::SetData(Decode::decode(r)?),
            O::SetAcl => LogTxn::SetAcl(Decode::decode(r)?),
            O::Check => LogTxn::Check(Decode::decode(r)?),
            O::Error => LogTxn::Error(Decode::decode(r)?),
            O::Multi => {
                let multi = MultiTxn::decode(r)?;
                let mut subs = Vec::with_capacity(multi.txns.len());
                for t in multi.txns {
                    let sub = LogTxn::decode(t.txn_type, &mut Reader::new(&t.data))?;
                    subs.push((t.txn_type, sub));
                }
                LogTxn::Multi(subs)
            }
            _ => return Err(DecodeError::BadOpCode(txn_type)),
        })
    }
}

/// A closeSession record is present only with `closeSessionTxn.enabled` (the default); without
/// it the entry may end at the header or carry just a 12-byte digest.
fn decode_close_session(r: &mut Reader<'_>) -> Result<CloseSessionTxn, DecodeError> {
    let mut probe = r.clone();
    match CloseSessionTxn::decode(&mut probe) {
        Ok(txn) if probe.remaining() == 0 || probe.remaining() == DIGEST_LEN => {
            *r = probe;
            Ok(txn)
        }
        _ => Ok(CloseSessionTxn::default()),
    }
}

/// The encoded size of a `TxnDigest`.
const DIGEST_LEN: usize = 12;

impl TxnEntry {
    /// The bytes that a log record checksums: header, record, digest (`Util.marshallTxnEntry`).
    pub fn encode(&self, w: &mut Vec<u8>) {
        self.header.encode(w);
        w.extend_from_slice(&self.body);
        if let Some(d) = &self.digest {
            d.encode(w);
        }
    }

    /// Parses the checksummed bytes of a log record. The record is decoded by its type to find
    /// where it ends; a digest follows when 12 bytes remain (older logs have none).
    pub fn decode(buf: &[u8]) -> Result<TxnEntry, DecodeError> {
        let mut r = Reader::new(buf);
        let header = TxnHeader::decode(&mut r)?;
        let start = r.position();
        LogTxn::decode(header.txn_type, &mut r)?;
        let body = Bytes::copy_from_slice(&buf[start..r.position()]);
        let digest = if r.remaining() >= DIGEST_LEN {
            Some(TxnDigest::decode(&mut r)?)
        } else {
            None
        };
        r.finish()?;
        Ok(TxnEntry {
            header,
            body,
            digest,
        })
    }

    /// The decoded transaction record.
    pub fn txn(&self) -> Result<LogTxn, DecodeError> {
        let mut r = Reader::new(&self.body);
        let t = LogTxn::decode(self.header.txn_type, &mut r)?;
        r.finish()?;
        Ok(t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use zk_core::{data::Acl, SessionId, Zxid};

    fn header(t: OpCode) -> TxnHeader {
        TxnHeader {
            client_id: SessionId(0x1234),
            cxid: 7,
            zxid: Zxid(0x1_0000_0005),
            time: 1_700_000_000_000,
            txn_type: t.as_i32(),
        }
    }

    #[test]
    fn create_entry_golden_and_round_trip() {
        let create = CreateTxn {
            path: "/a".into(),
            data: Some(Bytes::from_static(b"x")),
            acl: Acl::open_unsafe(),
            ephemeral: false,
            parent_cversion: 1,
        };
        let e = TxnEntry {
            header: header(OpCode::Create),
            body: create.to_bytes().into(),
            digest: Some(TxnDigest {
                version: 2,
                tree_digest: 99,
            }),
        };
        let mut w = Vec::new();
        e.encode(&mut w);
        // TxnHeader is 28 bytes: clientId 8, cxid 4, zxid 8, time 8... plus type 4 = 32.
        assert_eq!(&w[..8], &0x1234i64.to_be_bytes());
        assert_eq!(&w[28..32], &1i32.to_be_bytes());
        // path "/a" (4+2), data "x" (4+1), acl vector (4+23), ephemeral (1), parentCVersion (4).
        assert_eq!(w.len(), 32 + 6 + 5 + 27 + 1 + 4 + 12);
        assert_eq!(TxnEntry::decode(&w).unwrap(), e);
        assert_eq!(e.txn().unwrap(), LogTxn::Create(create));
    }

    #[test]
    fn close_session_with_and_without_record() {
        let mut e = TxnEntry {
            header: header(OpCode::CloseSession),
            body: Bytes::new(),
            digest: Some(TxnDigest::default()),
        };
        let mut w = Vec::new();
        e.encode(&mut w);
        assert_eq!(TxnEntry::decode(&w).unwrap(), e);
        e.body = CloseSessionTxn {
            paths_to_delete: vec!["/e".into()],
        }
        .to_bytes()
        .into();
        w.clear();
        e.encode(&mut w);
        assert_eq!(TxnEntry::decode(&w).unwrap(), e);
    }

    #[test]
    fn multi_decodes_sub_transactions() {
        let sub = |t: OpCode, b: Vec<u8>| Txn {
            txn_type: t.as_i32(),
            data: b.into(),
        };
        let multi = MultiTxn {
            txns: vec![
                sub(OpCode::Delete, DeleteTxn { path: "/d".into() }.to_bytes()),
                sub(OpCode::Error, ErrorTxn { err: -101 }.to_bytes()),
            ],
        };
        let e = TxnEntry {
            header: header(OpCode::Multi),
            body: multi.to_bytes().into(),
            digest: None,
        };
        let mut w = Vec::new();
        e.encode(&mut w);
        let back = TxnEntry::decode(&w).unwrap();
        assert_eq!(back, e);
        assert!(matches!(back.txn().unwrap(), LogTxn::Multi(v) if v.len() == 2));
    }
}
