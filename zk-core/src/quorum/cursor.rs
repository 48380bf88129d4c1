//! A jute cursor for streams that arrive in pieces: running out of bytes is [`Stop::Incomplete`]
//! (wait for more), not an error, while a length that is invalid or over the maximum is an error
//! at once, before any byte of what it announces has arrived or been allocated.

use crate::data::{Acl, Id, StatPersisted};
use crate::error::DecodeError;
use crate::ids::Zxid;

/// Why a step of a parse did not produce its value.
#[derive(Debug)]
pub(crate) enum Stop {
    /// The buffer ends inside the record: parse again when more bytes are there.
    Incomplete,
    /// The bytes can never become a valid record.
    Invalid(DecodeError),
}

impl From<DecodeError> for Stop {
    fn from(e: DecodeError) -> Stop {
        Stop::Invalid(e)
    }
}

/// The result of a step.
pub(crate) type Step<T> = Result<T, Stop>;

/// Turns a whole parse into the streaming answer: `Ok(None)` when more bytes are needed.
pub(crate) fn streaming<T>(step: Step<T>) -> Result<Option<T>, DecodeError> {
    match step {
        Ok(v) => Ok(Some(v)),
        Err(Stop::Incomplete) => Ok(None),
        Err(Stop::Invalid(e)) => Err(e),
    }
}

/// Turns a parse of a buffer known to be whole into a plain result: running out of bytes is
/// then an error.
pub(crate) fn whole<T>(step: Step<T>, cursor: &Cursor<'_>) -> Result<T, DecodeError> {
    match step {
        Ok(v) => Ok(v),
        Err(Stop::Incomplete) => Err(DecodeError::UnexpectedEof {
            offset: cursor.pos,
            needed: 1,
            remaining: cursor.buf.len() - cursor.pos,
        }),
        Err(Stop::Invalid(e)) => Err(e),
    }
}

/// Big-endian jute primitives over a buffer that may hold only part of a record.
#[derive(Debug, Clone)]
pub(crate) struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
    max_len: usize,
}

impl<'a> Cursor<'a> {
    /// A cursor at the start of `buf` accepting lengths up to `max_len`.
    pub(crate) fn new(buf: &'a [u8], max_len: usize) -> Cursor<'a> {
        Cursor {
            buf,
            pos: 0,
            max_len,
        }
    }

    /// Bytes consumed so far.
    pub(crate) fn position(&self) -> usize {
        self.pos
    }

    pub(crate) fn take(&mut self, n: usize) -> Step<&'a [u8]> {
        if n > self.buf.len() - self.pos {
            return Err(Stop::Incomplete);
        }
        let out = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(out)
    }

    pub(crate) fn i32(&mut self) -> Step<i32> {
        let b = self.take(4)?;
        Ok(i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    pub(crate) fn i64(&mut self) -> Step<i64> {
        let b = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(i64::from_be_bytes(a))
    }

    pub(crate) fn zxid(&mut self) -> Step<Zxid> {
        self.i64().map(Zxid)
    }

    /// A `buffer`/`ustring` length: `None` for -1 (null); below -1 or above the maximum is an
    /// error, checked before the announced bytes are waited for.
    pub(crate) fn len(&mut self) -> Step<Option<usize>> {
        let offset = self.pos;
        let len = self.i32()?;
        if len == -1 {
            return Ok(None);
        }
        if len < 0 {
            return Err(Stop::Invalid(DecodeError::BadLength { offset, len }));
        }
        let len = len as usize;
        if len > self.max_len {
            return Err(Stop::Invalid(DecodeError::TooLong {
                offset,
                len,
                max: self.max_len,
            }));
        }
        Ok(Some(len))
    }

    pub(crate) fn buffer(&mut self) -> Step<Option<&'a [u8]>> {
        match self.len()? {
            None => Ok(None),
            Some(n) => self.take(n).map(Some),
        }
    }

    /// A `ustring`, invalid UTF-8 replaced as Java's decoder does.
    pub(crate) fn ustring(&mut self) -> Step<Option<String>> {
        Ok(self
            .buffer()?
            .map(|b| String::from_utf8_lossy(b).into_owned()))
    }

    /// A `vector` count: `None` for -1 (null). Below -1 is an error, and so is a count whose
    /// elements (each at least `min_element` bytes) could not fit in the maximum length: no
    /// record of that size is accepted anywhere, so no vector can hold that many.
    pub(crate) fn count(&mut self, min_element: usize) -> Step<Option<usize>> {
        let offset = self.pos;
        let count = self.i32()?;
        if count == -1 {
            return Ok(None);
        }
        if count < 0 {
            return Err(Stop::Invalid(DecodeError::BadLength { offset, len: count }));
        }
        let count = count as usize;
        let max = self.max_len / min_element.max(1);
        if count > max {
            return Err(Stop::Invalid(DecodeError::TooLong {
                offset,
                len: count,
                max,
            }));
        }
        Ok(Some(count))
    }

    /// A capacity to reserve for `count` elements: never more than the bytes at hand could
    /// hold, so a large count costs nothing until its elements arrive.
    pub(crate) fn capacity(&self, count: usize, min_element: usize) -> usize {
        count.min((self.buf.len() - self.pos) / min_element.max(1))
    }

    /// `Id { ustring scheme; ustring id }`; a null string reads as empty.
    pub(crate) fn id(&mut self) -> Step<Id> {
        let scheme = self.ustring()?.unwrap_or_default();
        let id = self.ustring()?.unwrap_or_default();
        Ok(Id { scheme, id })
    }

    /// `ACL { int perms; Id id }`.
    pub(crate) fn acl(&mut self) -> Step<Acl> {
        let perms = self.i32()?;
        let id = self.id()?;
        Ok(Acl { perms, id })
    }

    /// `StatPersisted`, 60 bytes.
    pub(crate) fn stat_persisted(&mut self) -> Step<StatPersisted> {
        Ok(StatPersisted {
            czxid: self.zxid()?,
            mzxid: self.zxid()?,
            ctime: self.i64()?,
            mtime: self.i64()?,
            version: self.i32()?,
            cversion: self.i32()?,
            aversion: self.i32()?,
            ephemeral_owner: self.i64()?,
            pzxid: self.zxid()?,
        })
    }
}

/// The smallest encoding of an `Id`: two empty strings.
pub(crate) const MIN_ID_LEN: usize = 8;
/// The smallest encoding of an `ACL`: perms and an `Id`.
pub(crate) const MIN_ACL_LEN: usize = 4 + MIN_ID_LEN;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_are_judged_before_their_bytes_arrive() {
        // 3 MiB announced, nothing after it: an error, not "incomplete".
        let mut c = Cursor::new(&[0x00, 0x30, 0x00, 0x00], 2 << 20);
        assert!(matches!(
            c.buffer(),
            Err(Stop::Invalid(DecodeError::TooLong { .. }))
        ));
        let mut c = Cursor::new(&[0xff, 0xff, 0xff, 0xfe], 100);
        assert!(matches!(
            c.buffer(),
            Err(Stop::Invalid(DecodeError::BadLength { len: -2, .. }))
        ));
        let mut c = Cursor::new(&[0, 0, 0, 5, 1, 2], 100);
        assert!(matches!(c.buffer(), Err(Stop::Incomplete)));
        let mut c = Cursor::new(&[0xff, 0xff, 0xff, 0xff], 100);
        assert!(matches!(c.buffer(), Ok(None)));
    }

    #[test]
    fn counts_are_bounded_by_the_maximum() {
        let mut c = Cursor::new(&[0, 0, 0, 13], 100);
        assert!(matches!(
            c.count(MIN_ID_LEN),
            Err(Stop::Invalid(DecodeError::TooLong {
                len: 13,
                max: 12,
                ..
            }))
        ));
        let mut c = Cursor::new(&[0, 0, 0, 12], 100);
        assert_eq!(c.count(MIN_ID_LEN).unwrap(), Some(12));
        assert_eq!(c.capacity(12, MIN_ID_LEN), 0, "nothing reserved yet");
        let mut c = Cursor::new(&[0x80, 0, 0, 0], 100);
        assert!(matches!(c.count(1), Err(Stop::Invalid(_))));
    }
}
