//! [`LearnerInfo`]: the data of FOLLOWERINFO and OBSERVERINFO (`zookeeper.jute`
//! `LearnerInfo`, sent by `Learner.registerWithLeader`, read by `LearnerHandler.run`).

use crate::jute::{Encode, WriteExt};

/// `LearnerInfo { long serverid; int protocolVersion; long configVersion }`, 20 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LearnerInfo {
    /// The learner's myid.
    pub server_id: i64,
    /// The Zab protocol version: [`LearnerInfo::PROTOCOL_VERSION`] since 3.4; below it the
    /// leader takes the pre-Zab-1.0 path (no LEADERINFO/ACKEPOCH).
    pub protocol_version: i32,
    /// The version of the learner's last committed config; a leader with an older config
    /// drops the learner ("Follower is ahead of the leader").
    pub config_version: i64,
}

impl LearnerInfo {
    /// The protocol version every 3.4+ learner sends (`0x10000`).
    pub const PROTOCOL_VERSION: i32 = 0x10000;
    /// The encoded length.
    pub const LEN: usize = 20;

    /// What `LearnerHandler.run` reads from a FOLLOWERINFO/OBSERVERINFO payload, positionally
    /// and leniently: the sid if there are at least 8 bytes, the protocol version if at least
    /// 12, the config version if at least 20; bytes after 20 are ignored.
    ///
    /// A field that is absent keeps `LearnerHandler`'s initial value: sid 0, protocol version
    /// `0x1` (pre-Zab-1.0), and config version 0, which passes the "ahead" check exactly as
    /// Apache's skipping it does. A null payload is the caller's case (Apache then assigns the
    /// sid from a decreasing negative counter).
    pub fn decode_lenient(data: &[u8]) -> LearnerInfo {
        let long = |at: usize| {
            data.get(at..at + 8).map(|b| {
                let mut a = [0u8; 8];
                a.copy_from_slice(b);
                i64::from_be_bytes(a)
            })
        };
        let int = |at: usize| {
            data.get(at..at + 4)
                .map(|b| i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
        };
        LearnerInfo {
            server_id: long(0).unwrap_or(0),
            protocol_version: int(8).unwrap_or(0x1),
            config_version: long(12).unwrap_or(0),
        }
    }
}

impl Encode for LearnerInfo {
    fn encode(&self, w: &mut Vec<u8>) {
        w.put_i64(self.server_id);
        w.put_i32(self.protocol_version);
        w.put_i64(self.config_version);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn golden_and_lenient() {
        let info = LearnerInfo {
            server_id: 2,
            protocol_version: LearnerInfo::PROTOCOL_VERSION,
            config_version: 0,
        };
        let wire = info.to_bytes();
        // QUORUM.md §3.3, verified against capture.
        assert_eq!(
            wire,
            [0, 0, 0, 0, 0, 0, 0, 2, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]
        );
        assert_eq!(wire.len(), LearnerInfo::LEN);
        assert_eq!(LearnerInfo::decode_lenient(&wire), info);
        let short = LearnerInfo::decode_lenient(&wire[..12]);
        assert_eq!((short.server_id, short.protocol_version), (2, 0x10000));
        assert_eq!(short.config_version, 0);
        let sid_only = LearnerInfo::decode_lenient(&wire[..11]);
        assert_eq!((sid_only.server_id, sid_only.protocol_version), (2, 1));
        assert_eq!(LearnerInfo::decode_lenient(&[1, 2, 3]).server_id, 0);
        let mut longer = wire.clone();
        longer.extend_from_slice(&[9; 5]);
        assert_eq!(LearnerInfo::decode_lenient(&longer), info);
    }
}
