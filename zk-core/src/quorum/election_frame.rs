//! Election frames: after the initial message, both directions of an election connection carry
//! `int32 length` + payload, the length in `1..=PACKETMAXSIZE` (`QuorumCnxManager.SendWorker`
//! writes them, `RecvWorker.run` reads them and closes the connection on any other length).
//! Apache writes the length and the payload as two TCP segments: parse from a buffer.

use crate::error::FrameError;
use crate::frame::FrameReader;
use crate::jute::WriteExt;

/// `QuorumCnxManager.PACKETMAXSIZE`: the largest election payload, 512 KiB.
pub const PACKET_MAX_SIZE: usize = 512 * 1024;

/// Looks for one whole election frame at the start of `buf`: `Ok(Some((consumed, payload)))`,
/// `Ok(None)` when more bytes are needed, or an error for a length that is 0, negative or over
/// [`PACKET_MAX_SIZE`] (the connection should be closed).
pub fn next_election_frame(buf: &[u8]) -> Result<Option<(usize, &[u8])>, FrameError> {
    if buf.len() >= 4 && buf[..4] == [0; 4] {
        return Err(FrameError::Empty);
    }
    FrameReader::new(PACKET_MAX_SIZE).next_frame(buf)
}

/// Appends `payload` as one election frame.
///
/// # Panics
/// If `payload` is empty or longer than [`PACKET_MAX_SIZE`]: no peer would accept it.
pub fn write_election_frame(out: &mut Vec<u8>, payload: &[u8]) {
    assert!(
        !payload.is_empty() && payload.len() <= PACKET_MAX_SIZE,
        "an election frame holds 1..=524288 bytes, not {}",
        payload.len()
    );
    out.put_i32(payload.len() as i32);
    out.extend_from_slice(payload);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_and_bad_lengths() {
        let mut out = Vec::new();
        write_election_frame(&mut out, b"abc");
        assert_eq!(out, [0, 0, 0, 3, b'a', b'b', b'c']);
        assert_eq!(next_election_frame(&out[..6]), Ok(None));
        assert_eq!(next_election_frame(&out), Ok(Some((7, &b"abc"[..]))));
        assert_eq!(next_election_frame(&[0, 0, 0, 0]), Err(FrameError::Empty));
        assert_eq!(
            next_election_frame(&[0xff, 0xff, 0xff, 0xff]),
            Err(FrameError::Negative(-1))
        );
        assert!(matches!(
            next_election_frame(&[0, 8, 0, 1]),
            Err(FrameError::TooLong { len: 0x80001, .. })
        ));
        assert!(next_election_frame(&[0, 8, 0, 0]).unwrap().is_none());
    }
}
