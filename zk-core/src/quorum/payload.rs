//! Small packet payloads of the sync and reconfig steps: LEADERINFO, ACKEPOCH,
//! COMMITANDACTIVATE and INFORMANDACTIVATE.
//!
//! Apache ZooKeeper reads these with `ByteBuffer.wrap(data).getInt()` / `getLong()`, so a
//! decoder here reads the fields it needs from the front and ignores anything after them; a
//! payload too short for them is an error (Java's `BufferUnderflowException`).

use crate::error::DecodeError;
use crate::jute::{Encode, Reader, WriteExt};
use crate::txn::TxnEntry;

/// The data of LEADERINFO: `int protocolVersion` (`LearnerHandler.run` writes it,
/// `Learner.registerWithLeader` reads it). The packet's zxid is `newEpoch << 32`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LeaderInfo {
    /// The leader's Zab protocol version, [`LeaderInfo::PROTOCOL_VERSION`].
    pub protocol_version: i32,
}

impl LeaderInfo {
    /// The version a 3.4+ leader sends (`0x10000`).
    pub const PROTOCOL_VERSION: i32 = 0x10000;

    /// Reads the payload.
    pub fn decode(data: &[u8]) -> Result<LeaderInfo, DecodeError> {
        let protocol_version = Reader::new(data).read_i32()?;
        Ok(LeaderInfo { protocol_version })
    }
}

impl Encode for LeaderInfo {
    fn encode(&self, w: &mut Vec<u8>) {
        w.put_i32(self.protocol_version);
    }
}

/// The data of ACKEPOCH: `int currentEpoch`, or -1 when the proposed epoch equals the
/// learner's acceptedEpoch (`Learner.registerWithLeader`; the leader's `StateSummary`). The
/// packet's zxid is the learner's last logged zxid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AckEpoch {
    /// The learner's currentEpoch, or [`AckEpoch::ALREADY_ACCEPTED`].
    pub current_epoch: i32,
}

impl AckEpoch {
    /// The value a learner sends when it had already accepted the proposed epoch ("don't count
    /// me").
    pub const ALREADY_ACCEPTED: i32 = -1;

    /// Reads the payload.
    pub fn decode(data: &[u8]) -> Result<AckEpoch, DecodeError> {
        let current_epoch = Reader::new(data).read_i32()?;
        Ok(AckEpoch { current_epoch })
    }
}

impl Encode for AckEpoch {
    fn encode(&self, w: &mut Vec<u8>) {
        w.put_i32(self.current_epoch);
    }
}

/// The data of COMMITANDACTIVATE: `long designatedLeader`, the sid that leads under the new
/// config (`Leader.commitAndActivate`, read by `Follower.processPacket`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CommitAndActivate {
    /// The designated leader's sid.
    pub designated_leader: i64,
}

impl CommitAndActivate {
    /// Reads the payload.
    pub fn decode(data: &[u8]) -> Result<CommitAndActivate, DecodeError> {
        let designated_leader = Reader::new(data).read_i64()?;
        Ok(CommitAndActivate { designated_leader })
    }
}

impl Encode for CommitAndActivate {
    fn encode(&self, w: &mut Vec<u8>) {
        w.put_i64(self.designated_leader);
    }
}

/// The data of INFORMANDACTIVATE: `long designatedLeader` followed by the reconfig's txn entry,
/// the bytes a PROPOSAL would carry (`Leader.informAndActivate`, read by
/// `Observer.processPacket`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InformAndActivate {
    /// The designated leader's sid.
    pub designated_leader: i64,
    /// The reconfig transaction.
    pub entry: TxnEntry,
}

impl InformAndActivate {
    /// Reads the payload; everything after the sid is the txn entry.
    pub fn decode(data: &[u8]) -> Result<InformAndActivate, DecodeError> {
        let mut r = Reader::new(data);
        let designated_leader = r.read_i64()?;
        let entry = TxnEntry::decode(r.rest())?;
        Ok(InformAndActivate {
            designated_leader,
            entry,
        })
    }
}

impl Encode for InformAndActivate {
    fn encode(&self, w: &mut Vec<u8>) {
        w.put_i64(self.designated_leader);
        self.entry.encode(w);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{SessionId, Zxid};
    use crate::txn::{SetDataTxn, TxnBody, TxnDigest, TxnHeader};

    #[test]
    fn fixed_payloads() {
        let li = LeaderInfo {
            protocol_version: LeaderInfo::PROTOCOL_VERSION,
        };
        assert_eq!(li.to_bytes(), [0, 1, 0, 0]);
        assert_eq!(LeaderInfo::decode(&li.to_bytes()).unwrap(), li);
        let ae = AckEpoch {
            current_epoch: AckEpoch::ALREADY_ACCEPTED,
        };
        assert_eq!(ae.to_bytes(), [0xff; 4]);
        assert_eq!(AckEpoch::decode(&[0, 0, 0, 2, 9]).unwrap().current_epoch, 2);
        assert!(AckEpoch::decode(&[0, 0, 2]).is_err());
        let ca = CommitAndActivate {
            designated_leader: 3,
        };
        assert_eq!(CommitAndActivate::decode(&ca.to_bytes()).unwrap(), ca);
        assert!(CommitAndActivate::decode(&[0; 7]).is_err());
    }

    #[test]
    fn inform_and_activate_carries_an_entry() {
        let header = TxnHeader {
            client_id: SessionId(1),
            cxid: 2,
            zxid: Zxid(0x2_0000_0001),
            time: 3,
            txn_type: 16,
        };
        let body = TxnBody::SetData(SetDataTxn {
            path: "/zookeeper/config".into(),
            data: Some("server.1=h:1:2:participant\nversion=200000001".into()),
            version: -1,
        });
        let digest = Some(TxnDigest {
            version: 2,
            tree_digest: 5,
        });
        let ia = InformAndActivate {
            designated_leader: 1,
            entry: TxnEntry::new(header, &body, digest),
        };
        let wire = ia.to_bytes();
        assert_eq!(&wire[..8], &1i64.to_be_bytes());
        let back = InformAndActivate::decode(&wire).unwrap();
        assert_eq!(back, ia);
        assert_eq!(back.entry.body().unwrap(), body);
    }
}
