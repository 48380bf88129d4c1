//! [`Notification`]: the payload of an election frame, a Fast Leader Election vote
//! (`FastLeaderElection.buildMsg` writes it, `FastLeaderElection.Messenger.WorkerReceiver.run`
//! reads it), and [`ServerState`].

use bytes::Bytes;

use crate::error::DecodeError;
use crate::ids::Zxid;
use crate::jute::{Encode, Reader, WriteExt};

/// A peer's state (`QuorumPeer.ServerState`, sent as its ordinal).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ServerState {
    /// Electing a leader.
    Looking,
    /// Following the leader named in the vote.
    Following,
    /// Leading.
    Leading,
    /// Observing the leader named in the vote.
    Observing,
}

impl ServerState {
    /// The state for an ordinal, if it is one.
    pub fn from_i32(v: i32) -> Option<ServerState> {
        Some(match v {
            0 => ServerState::Looking,
            1 => ServerState::Following,
            2 => ServerState::Leading,
            3 => ServerState::Observing,
            _ => return None,
        })
    }

    /// The ordinal.
    pub fn as_i32(self) -> i32 {
        match self {
            ServerState::Looking => 0,
            ServerState::Following => 1,
            ServerState::Leading => 2,
            ServerState::Observing => 3,
        }
    }

    /// Apache ZooKeeper's name: `"LOOKING"`, `"FOLLOWING"`, `"LEADING"`, `"OBSERVING"`.
    pub fn name(self) -> &'static str {
        match self {
            ServerState::Looking => "LOOKING",
            ServerState::Following => "FOLLOWING",
            ServerState::Leading => "LEADING",
            ServerState::Observing => "OBSERVING",
        }
    }
}

/// `int state, long leader, long zxid, long electionEpoch, long peerEpoch, int version,
/// int configLength, byte[configLength] config`: 44 bytes plus the config text.
///
/// The sender's sid is not in it: it is the sid of the connection.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Notification {
    /// The sender's state.
    pub state: ServerState,
    /// The proposed (or known) leader's sid.
    pub leader: i64,
    /// That leader's last zxid, as of the election.
    pub zxid: Zxid,
    /// The election round (`logicalclock`).
    pub election_epoch: i64,
    /// The proposed leader's epoch.
    pub peer_epoch: i64,
    /// The notification version read: 2 for every 3.5+ sender, 0 for the old forms. Encoding
    /// always writes [`Notification::CURRENT_VERSION`].
    pub version: i32,
    /// The sender's committed config (`QuorumVerifier.toString()`, UTF-8); empty when the form
    /// has none.
    pub config: Bytes,
}

impl Notification {
    /// `Notification.CURRENT_VERSION`.
    pub const CURRENT_VERSION: i32 = 2;
    /// The length of the current form without its config.
    pub const HEADER_LEN: usize = 44;

    /// Decodes a payload as `WorkerReceiver.run` does, by its total length:
    /// - under 28 bytes: refused ("short response");
    /// - exactly 28: the pre-ZOOKEEPER-107 form, peerEpoch taken from the zxid's epoch;
    /// - exactly 40: peerEpoch read, the trailing int ignored, version 0;
    /// - otherwise peerEpoch and version read and, when the version is above 1, the config,
    ///   whose length must be in `0..=payload length` and present; bytes after it are ignored.
    ///
    /// A payload too short for what its length selects, and a state that is not one of the
    /// four, are errors: Apache skips such a message.
    pub fn decode(payload: &[u8]) -> Result<Notification, DecodeError> {
        let total = payload.len();
        if total < 28 {
            return Err(DecodeError::UnexpectedEof {
                offset: total,
                needed: 28 - total,
                remaining: 0,
            });
        }
        let mut r = Reader::new(payload);
        let state = r.read_i32()?;
        let leader = r.read_i64()?;
        let zxid = Zxid(r.read_i64()?);
        let election_epoch = r.read_i64()?;
        let (peer_epoch, version) = match total {
            // `ZxidUtils.getEpochFromZxid`: an arithmetic shift of the long.
            28 => (zxid.0 >> 32, 0),
            40 => (r.read_i64()?, 0),
            _ => (r.read_i64()?, r.read_i32()?),
        };
        let mut config = Bytes::new();
        if version > 1 {
            let offset = r.position();
            let len = r.read_i32()?;
            if len < 0 || len as usize > total {
                return Err(DecodeError::BadLength { offset, len });
            }
            config = Bytes::copy_from_slice(r.read_raw(len as usize)?);
        }
        let state = ServerState::from_i32(state).ok_or(DecodeError::BadValue {
            field: "state",
            value: state.into(),
        })?;
        Ok(Notification {
            state,
            leader,
            zxid,
            election_epoch,
            peer_epoch,
            version,
            config,
        })
    }

    /// The config as text (Java decodes it as UTF-8, replacing invalid bytes).
    pub fn config_text(&self) -> String {
        String::from_utf8_lossy(&self.config).into_owned()
    }
}

/// The current 44+N form with version 2, whatever `version` says.
impl Encode for Notification {
    fn encode(&self, w: &mut Vec<u8>) {
        w.put_i32(self.state.as_i32());
        w.put_i64(self.leader);
        w.put_i64(self.zxid.0);
        w.put_i64(self.election_epoch);
        w.put_i64(self.peer_epoch);
        w.put_i32(Notification::CURRENT_VERSION);
        w.put_buffer(Some(&self.config));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vote() -> Notification {
        Notification {
            state: ServerState::Looking,
            leader: 3,
            zxid: Zxid(0),
            election_epoch: 1,
            peer_epoch: 0,
            version: 2,
            config: Bytes::from_static(b"server.3=h:1:2:participant\nversion=0"),
        }
    }

    #[test]
    fn current_form_round_trips() {
        let n = vote();
        let wire = n.to_bytes();
        assert_eq!(wire.len(), 44 + n.config.len());
        assert_eq!(&wire[..4], &[0, 0, 0, 0]);
        assert_eq!(&wire[36..40], &[0, 0, 0, 2]);
        assert_eq!(Notification::decode(&wire).unwrap(), n);
        let mut longer = wire.clone();
        longer.extend_from_slice(b"tail");
        assert_eq!(
            Notification::decode(&longer).unwrap(),
            n,
            "trailing bytes ignored"
        );
    }

    #[test]
    fn old_forms_by_length() {
        let wire = vote().to_bytes();
        assert!(Notification::decode(&wire[..27]).is_err());
        let mut old = wire[..28].to_vec();
        old[12..20].copy_from_slice(&0x5_0000_0007i64.to_be_bytes());
        let n28 = Notification::decode(&old).unwrap();
        assert_eq!((n28.peer_epoch, n28.version), (5, 0));
        assert!(n28.config.is_empty());
        let n40 = Notification::decode(&wire[..40]).unwrap();
        assert_eq!((n40.peer_epoch, n40.version), (0, 0));
        for len in [29, 35, 36, 39, 41, 43] {
            assert!(Notification::decode(&wire[..len]).is_err(), "length {len}");
        }
        // Version 1 at 44 bytes: no config read.
        let mut v1 = wire[..44].to_vec();
        v1[39] = 1;
        assert!(Notification::decode(&v1).unwrap().config.is_empty());
    }

    #[test]
    fn refusals() {
        let mut wire = vote().to_bytes();
        wire[3] = 4;
        assert!(matches!(
            Notification::decode(&wire),
            Err(DecodeError::BadValue {
                field: "state",
                value: 4
            })
        ));
        let mut wire = vote().to_bytes();
        let total = wire.len() as i32;
        wire[40..44].copy_from_slice(&(total + 1).to_be_bytes());
        assert!(matches!(
            Notification::decode(&wire),
            Err(DecodeError::BadLength { .. })
        ));
        wire[40..44].copy_from_slice(&(-1i32).to_be_bytes());
        assert!(Notification::decode(&wire).is_err());
        wire[40..44].copy_from_slice(&total.to_be_bytes());
        assert!(matches!(
            Notification::decode(&wire),
            Err(DecodeError::UnexpectedEof { .. })
        ));
    }
}
