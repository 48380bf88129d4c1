//! [`ForwardedRequest`]: the data of REQUEST, a client write a learner forwards to the leader
//! (`Learner.request`, read by `LearnerHandler.run` case REQUEST).

use bytes::Bytes;

use crate::error::DecodeError;
use crate::ids::SessionId;
use crate::jute::{Encode, Reader, WriteExt};

/// `long sessionId, int cxid, int type`, then the client's request record without its
/// `RequestHeader`.
///
/// The body is the record bytes as the client sent them (`ZooKeeperServer.processPacket` slices
/// after the header): for createSession a 4-byte `int timeout`, for closeSession nothing, for
/// the other ops the request record that [`Request::decode`](crate::message::Request::decode)
/// reads with `op_type`. The client's auth ids travel in the packet's `authinfo`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ForwardedRequest {
    /// The client's session.
    pub session_id: SessionId,
    /// The client's xid (the txn header's cxid).
    pub cxid: i32,
    /// The op code.
    pub op_type: i32,
    /// The request record.
    pub body: Bytes,
}

impl ForwardedRequest {
    /// The length of the fixed fields before the body.
    pub const HEADER_LEN: usize = 16;

    /// Reads the payload: the fixed fields, then everything else is the body.
    pub fn decode(data: &[u8]) -> Result<ForwardedRequest, DecodeError> {
        let mut r = Reader::new(data);
        let session_id = SessionId(r.read_i64()?);
        let cxid = r.read_i32()?;
        let op_type = r.read_i32()?;
        Ok(ForwardedRequest {
            session_id,
            cxid,
            op_type,
            body: Bytes::copy_from_slice(r.rest()),
        })
    }
}

impl Encode for ForwardedRequest {
    fn encode(&self, w: &mut Vec<u8>) {
        w.put_i64(self.session_id.0);
        w.put_i32(self.cxid);
        w.put_i32(self.op_type);
        w.extend_from_slice(&self.body);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_session_golden() {
        // The capture's first REQUEST (02): createSession with timeout 10000.
        let req = ForwardedRequest {
            session_id: SessionId(0x0100_0038_0c00_0000),
            cxid: 0,
            op_type: -10,
            body: Bytes::from_static(&[0, 0, 0x27, 0x10]),
        };
        let wire = req.to_bytes();
        assert_eq!(
            wire,
            [1, 0, 0, 0x38, 0x0c, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xf6, 0, 0, 0x27, 0x10]
        );
        assert_eq!(ForwardedRequest::decode(&wire).unwrap(), req);
        let close = ForwardedRequest::decode(&wire[..16]).unwrap();
        assert!(close.body.is_empty());
        assert!(ForwardedRequest::decode(&wire[..15]).is_err());
    }
}
