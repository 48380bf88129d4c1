//! Session payloads between learners and the leader: REVALIDATE (a client's session moving to a
//! learner, `Learner.validateSession` / `LearnerHandler.run`) and the touch table of a learner's
//! PING reply (`Learner.ping` / `LearnerHandler.run` case PING).

use crate::error::DecodeError;
use crate::ids::SessionId;
use crate::jute::{Encode, Reader, WriteExt};

/// The data of a learner's REVALIDATE: `long sessionId, int timeout`. The packet's zxid is -1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RevalidateRequest {
    /// The session the client presented.
    pub session_id: SessionId,
    /// The timeout it asked for.
    pub timeout_ms: i32,
}

impl RevalidateRequest {
    /// Reads the payload (the leader's `DataInputStream` reads; trailing bytes are ignored).
    pub fn decode(data: &[u8]) -> Result<RevalidateRequest, DecodeError> {
        let mut r = Reader::new(data);
        Ok(RevalidateRequest {
            session_id: SessionId(r.read_i64()?),
            timeout_ms: r.read_i32()?,
        })
    }
}

impl Encode for RevalidateRequest {
    fn encode(&self, w: &mut Vec<u8>) {
        w.put_i64(self.session_id.0);
        w.put_i32(self.timeout_ms);
    }
}

/// The data of the leader's REVALIDATE reply: `long sessionId, boolean valid` (9 bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RevalidateReply {
    /// The session asked about.
    pub session_id: SessionId,
    /// True if it is a live global session, now owned by the asking learner.
    pub valid: bool,
}

impl RevalidateReply {
    /// Reads the payload; any non-zero byte is true, as Java's `readBoolean`.
    pub fn decode(data: &[u8]) -> Result<RevalidateReply, DecodeError> {
        let mut r = Reader::new(data);
        Ok(RevalidateReply {
            session_id: SessionId(r.read_i64()?),
            valid: r.read_bool()?,
        })
    }
}

impl Encode for RevalidateReply {
    fn encode(&self, w: &mut Vec<u8>) {
        w.put_i64(self.session_id.0);
        w.put_bool(self.valid);
    }
}

/// The data of a learner's PING reply: its touch table, `(long sessionId, int timeoutMs)` pairs
/// concatenated with no count. With no touches it is an empty buffer, not null: put
/// `Some(empty)` in the packet.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct PingTouches {
    /// The sessions touched since the last PING, with their timeouts.
    pub touches: Vec<(SessionId, i32)>,
}

impl PingTouches {
    /// One pair's encoded length.
    pub const PAIR_LEN: usize = 12;

    /// Reads the pairs until the payload is exhausted (null data reads as empty). A partial
    /// pair at the end is an error: Apache's leader hits EOF there and drops the learner.
    pub fn decode(data: &[u8]) -> Result<PingTouches, DecodeError> {
        if data.len() % Self::PAIR_LEN != 0 {
            let whole = data.len() / Self::PAIR_LEN * Self::PAIR_LEN;
            return Err(DecodeError::UnexpectedEof {
                offset: whole,
                needed: Self::PAIR_LEN,
                remaining: data.len() - whole,
            });
        }
        let mut r = Reader::new(data);
        let mut touches = Vec::with_capacity(data.len() / Self::PAIR_LEN);
        while !r.is_empty() {
            touches.push((SessionId(r.read_i64()?), r.read_i32()?));
        }
        Ok(PingTouches { touches })
    }
}

impl Encode for PingTouches {
    fn encode(&self, w: &mut Vec<u8>) {
        for (id, timeout_ms) in &self.touches {
            w.put_i64(id.0);
            w.put_i32(*timeout_ms);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn revalidate_golden() {
        // QUORUM.md §3.2, verified against capture: request and both replies.
        let req = RevalidateRequest {
            session_id: SessionId(0x0100_0038_8644_0001),
            timeout_ms: 10_000,
        };
        let wire = req.to_bytes();
        assert_eq!(wire, [1, 0, 0, 0x38, 0x86, 0x44, 0, 1, 0, 0, 0x27, 0x10]);
        assert_eq!(RevalidateRequest::decode(&wire).unwrap(), req);
        let rep = RevalidateReply {
            session_id: req.session_id,
            valid: true,
        };
        assert_eq!(rep.to_bytes().len(), 9);
        assert_eq!(RevalidateReply::decode(&rep.to_bytes()).unwrap(), rep);
        assert!(RevalidateReply::decode(&wire[..8]).is_err());
    }

    #[test]
    fn touches() {
        assert_eq!(PingTouches::default().to_bytes(), Vec::<u8>::new());
        assert_eq!(PingTouches::decode(&[]).unwrap(), PingTouches::default());
        let t = PingTouches {
            touches: vec![
                (SessionId(0x0100_0038_0c00_0000), 10_000),
                (SessionId(2), 3),
            ],
        };
        let wire = t.to_bytes();
        assert_eq!(wire.len(), 24);
        assert_eq!(PingTouches::decode(&wire).unwrap(), t);
        assert!(matches!(
            PingTouches::decode(&wire[..23]),
            Err(DecodeError::UnexpectedEof { offset: 12, .. })
        ));
    }
}
