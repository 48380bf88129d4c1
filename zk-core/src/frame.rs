//! Length-prefixed frames: `int32 length` (big-endian, excluding itself) + payload.

use crate::error::FrameError;
use crate::jute::DEFAULT_MAX_BUFFER;

/// Splits frames off a byte stream, refusing negative and oversize lengths.
#[derive(Debug, Clone, Copy)]
pub struct FrameReader {
    max_len: usize,
}

impl Default for FrameReader {
    fn default() -> Self {
        FrameReader::new(DEFAULT_MAX_BUFFER)
    }
}

impl FrameReader {
    /// A reader accepting payloads of at most `max_len` bytes (jute.maxbuffer).
    pub fn new(max_len: usize) -> FrameReader {
        FrameReader { max_len }
    }

    /// The maximum payload length.
    pub fn max_len(&self) -> usize {
        self.max_len
    }

    /// Checks a length prefix.
    pub fn check_len(&self, prefix: [u8; 4]) -> Result<usize, FrameError> {
        let len = i32::from_be_bytes(prefix);
        if len < 0 {
            return Err(FrameError::Negative(len));
        }
        let len = len as usize;
        if len > self.max_len {
            return Err(FrameError::TooLong {
                len,
                max: self.max_len,
            });
        }
        Ok(len)
    }

    /// Looks for one whole frame at the start of `buf`.
    ///
    /// Returns `Ok(Some((payload_range_end, payload)))`: the number of bytes the frame takes
    /// (prefix included) and its payload; `Ok(None)` when more bytes are needed; an error when the
    /// prefix is invalid, in which case the connection should be closed.
    pub fn next_frame<'a>(&self, buf: &'a [u8]) -> Result<Option<(usize, &'a [u8])>, FrameError> {
        if buf.len() < 4 {
            return Ok(None);
        }
        let len = self.check_len([buf[0], buf[1], buf[2], buf[3]])?;
        if buf.len() < 4 + len {
            return Ok(None);
        }
        Ok(Some((4 + len, &buf[4..4 + len])))
    }
}

/// Appends one frame to `out`: reserves the length prefix, lets `body` write the payload, then
/// fills the prefix in.
pub fn write_frame(out: &mut Vec<u8>, body: impl FnOnce(&mut Vec<u8>)) {
    let start = out.len();
    out.extend_from_slice(&[0; 4]);
    body(out);
    let len = (out.len() - start - 4) as i32;
    out[start..start + 4].copy_from_slice(&len.to_be_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames() {
        let mut out = Vec::new();
        write_frame(&mut out, |w| w.extend_from_slice(b"abc"));
        write_frame(&mut out, |_| {});
        let r = FrameReader::default();
        let (n, p) = r.next_frame(&out).unwrap().unwrap();
        assert_eq!((n, p), (7, &b"abc"[..]));
        let (n2, p2) = r.next_frame(&out[n..]).unwrap().unwrap();
        assert_eq!((n2, p2), (4, &b""[..]));
        assert_eq!(r.next_frame(&out[..6]).unwrap(), None);
    }

    #[test]
    fn bad_lengths() {
        let r = FrameReader::new(10);
        assert_eq!(
            r.next_frame(&[0xff, 0xff, 0xff, 0xff]),
            Err(FrameError::Negative(-1))
        );
        assert_eq!(
            r.next_frame(&[0, 0, 0, 11]),
            Err(FrameError::TooLong { len: 11, max: 10 })
        );
        assert!(FrameReader::default().next_frame(&[0, 0x10, 0, 0]).is_err());
    }
}
