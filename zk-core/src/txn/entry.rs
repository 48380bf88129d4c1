//! [`TxnEntry`]: one whole transaction as Apache ZooKeeper serializes it for its log and for the
//! quorum's PROPOSAL and INFORM packets (`Util.marshallTxnEntry`, read back by
//! `SerializeUtils.deserializeTxn` into a `TxnLogEntry`).

use bytes::Bytes;

use crate::error::DecodeError;
use crate::jute::{Decode, Encode, Reader};

use super::{TxnBody, TxnDigest, TxnHeader};

/// The encoded size of a [`TxnDigest`]: `int version` + `long treeDigest`.
pub const DIGEST_LEN: usize = 12;

/// A transaction entry: `TxnHeader`, the transaction record, and since 3.6 an optional
/// `TxnDigest` (Apache ZooKeeper's `TxnLogEntry`).
///
/// The record is kept encoded, exactly the bytes that were read (empty for a closeSession
/// written without one), so an entry re-encodes byte for byte; [`TxnEntry::body`] decodes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxnEntry {
    /// The header: session, cxid, zxid, time, type.
    pub header: TxnHeader,
    /// The encoded transaction record that `header.txn_type` selects.
    pub record: Bytes,
    /// The tree digest after this transaction, when the writer recorded one.
    pub digest: Option<TxnDigest>,
}

impl TxnEntry {
    /// An entry whose record is `body` encoded.
    pub fn new(header: TxnHeader, body: &TxnBody, digest: Option<TxnDigest>) -> TxnEntry {
        TxnEntry {
            header,
            record: Bytes::from(body.to_bytes()),
            digest,
        }
    }

    /// Parses the bytes of one entry (a log record's checksummed bytes, a PROPOSAL's data).
    ///
    /// The record is decoded by its type to find where it ends, as
    /// `SerializeUtils.deserializeTxn` does; a digest follows when 12 bytes remain (older
    /// writers and some transactions have none). Anything else left over is an error.
    pub fn decode(buf: &[u8]) -> Result<TxnEntry, DecodeError> {
        let mut r = Reader::new(buf);
        let header = TxnHeader::decode(&mut r)?;
        let start = r.position();
        TxnBody::read(header.txn_type, &mut r)?;
        let record = Bytes::copy_from_slice(&buf[start..r.position()]);
        let digest = if r.remaining() >= DIGEST_LEN {
            Some(TxnDigest::decode(&mut r)?)
        } else {
            None
        };
        r.finish()?;
        Ok(TxnEntry {
            header,
            record,
            digest,
        })
    }

    /// The decoded transaction record.
    pub fn body(&self) -> Result<TxnBody, DecodeError> {
        TxnBody::decode(self.header.txn_type, &self.record)
    }
}

/// The entry's bytes: header, record, digest (`Util.marshallTxnEntry`).
impl Encode for TxnEntry {
    fn encode(&self, w: &mut Vec<u8>) {
        self.header.encode(w);
        w.extend_from_slice(&self.record);
        if let Some(d) = &self.digest {
            d.encode(w);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Acl;
    use crate::txn::{CloseSessionTxn, CreateTxn, DeleteTxn, ErrorTxn};
    use crate::{OpCode, SessionId, Zxid};

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
        let digest = TxnDigest {
            version: 2,
            tree_digest: 99,
        };
        let body = TxnBody::Create(create);
        let e = TxnEntry::new(header(OpCode::Create), &body, Some(digest));
        let w = e.to_bytes();
        // TxnHeader: clientId 8, cxid 4, zxid 8, time 8, type 4 = 32 bytes.
        assert_eq!(&w[..8], &0x1234i64.to_be_bytes());
        assert_eq!(&w[28..32], &1i32.to_be_bytes());
        // path "/a" (4+2), data "x" (4+1), acl vector (4+23), ephemeral (1), parentCVersion (4).
        assert_eq!(w.len(), 32 + 6 + 5 + 27 + 1 + 4 + DIGEST_LEN);
        assert_eq!(&w[w.len() - 12..w.len() - 8], &2i32.to_be_bytes());
        assert_eq!(TxnEntry::decode(&w).unwrap(), e);
        assert_eq!(e.body().unwrap(), body);
    }

    #[test]
    fn close_session_with_and_without_record() {
        let mut e = TxnEntry {
            header: header(OpCode::CloseSession),
            record: Bytes::new(),
            digest: Some(TxnDigest::default()),
        };
        for digest in [Some(TxnDigest::default()), None] {
            e.digest = digest;
            let w = e.to_bytes();
            assert_eq!(TxnEntry::decode(&w).unwrap(), e);
        }
        let paths = CloseSessionTxn {
            paths_to_delete: vec!["/e".into()],
        };
        e.record = paths.to_bytes().into();
        let w = e.to_bytes();
        assert_eq!(TxnEntry::decode(&w).unwrap(), e);
        assert_eq!(e.body().unwrap(), TxnBody::CloseSession(paths));
    }

    #[test]
    fn multi_decodes_sub_transactions() {
        let body = TxnBody::Multi(vec![
            (2, TxnBody::Delete(DeleteTxn { path: "/d".into() })),
            (-1, TxnBody::Error(ErrorTxn { err: -101 })),
        ]);
        let e = TxnEntry::new(header(OpCode::Multi), &body, None);
        let back = TxnEntry::decode(&e.to_bytes()).unwrap();
        assert_eq!(back, e);
        assert_eq!(back.body().unwrap(), body);
    }

    #[test]
    fn damaged_entries_are_errors() {
        let e = TxnEntry::new(
            header(OpCode::Delete),
            &TxnBody::Delete(DeleteTxn { path: "/d".into() }),
            None,
        );
        let mut w = e.to_bytes();
        assert!(TxnEntry::decode(&w[..w.len() - 1]).is_err());
        w.extend_from_slice(&[0; 5]);
        assert!(matches!(
            TxnEntry::decode(&w),
            Err(DecodeError::TrailingBytes { .. })
        ));
        assert!(TxnEntry::decode(&w[..20]).is_err());
    }
}
