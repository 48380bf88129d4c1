//! The jute binary encoding (`BinaryOutputArchive` / `BinaryInputArchive`).
//!
//! Every integer is big-endian two's complement; `ustring` and `buffer` are an `int32` length
//! followed by that many bytes, with `-1` meaning null; `vector<T>` is an `int32` count followed by
//! the elements; a nested record is its fields concatenated.
//!
//! Decoding never trusts a length: every length is checked against the bytes that remain and
//! against the reader's maximum before anything is allocated, so no input makes a decoder
//! allocate without bound, panic or loop.

use bytes::Bytes;

use crate::error::DecodeError;

/// Apache ZooKeeper's default `jute.maxbuffer`: 0xfffff bytes (1 MiB - 1).
pub const DEFAULT_MAX_BUFFER: usize = 0xfffff;

/// A cursor over one jute-encoded payload.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    /// A reader positioned at the start of `buf`.
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    /// Bytes not yet consumed.
    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// True when every byte has been consumed.
    pub fn is_empty(&self) -> bool {
        self.remaining() == 0
    }

    /// How many bytes have been consumed.
    pub fn position(&self) -> usize {
        self.pos
    }

    /// The bytes not yet consumed, without consuming them.
    pub fn rest(&self) -> &'a [u8] {
        &self.buf[self.pos..]
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        if n > self.remaining() {
            return Err(DecodeError::UnexpectedEof {
                offset: self.pos,
                needed: n,
                remaining: self.remaining(),
            });
        }
        let out = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(out)
    }

    /// Reads `n` raw bytes (a fixed-size field, or what a length read elsewhere announced).
    pub fn read_raw(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        self.take(n)
    }

    /// Reads a jute `byte`.
    pub fn read_u8(&mut self) -> Result<u8, DecodeError> {
        Ok(self.take(1)?[0])
    }

    /// Reads a jute `boolean`: any non-zero byte is true, as Java's `readBoolean`.
    pub fn read_bool(&mut self) -> Result<bool, DecodeError> {
        Ok(self.read_u8()? != 0)
    }

    /// Reads a jute `int`.
    pub fn read_i32(&mut self) -> Result<i32, DecodeError> {
        let b = self.take(4)?;
        Ok(i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// Reads a jute `long`.
    pub fn read_i64(&mut self) -> Result<i64, DecodeError> {
        let b = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(i64::from_be_bytes(a))
    }

    /// Reads a length prefix; `Ok(None)` for `-1` (null).
    fn read_len(&mut self) -> Result<Option<usize>, DecodeError> {
        let offset = self.pos;
        let len = self.read_i32()?;
        if len == -1 {
            return Ok(None);
        }
        if len < 0 {
            return Err(DecodeError::BadLength { offset, len });
        }
        Ok(Some(len as usize))
    }

    /// Reads a jute `buffer`; `None` is the null buffer (length -1), distinct from empty.
    pub fn read_buffer(&mut self) -> Result<Option<&'a [u8]>, DecodeError> {
        match self.read_len()? {
            None => Ok(None),
            Some(n) => self.take(n).map(Some),
        }
    }

    /// Reads a jute `ustring`. Invalid UTF-8 is replaced as Java's decoder replaces it; a null
    /// string reads as `None`.
    pub fn read_ustring_opt(&mut self) -> Result<Option<String>, DecodeError> {
        Ok(self
            .read_buffer()?
            .map(|b| String::from_utf8_lossy(b).into_owned()))
    }

    /// Reads a jute `ustring`, a null string reading as empty.
    pub fn read_ustring(&mut self) -> Result<String, DecodeError> {
        Ok(self.read_ustring_opt()?.unwrap_or_default())
    }

    /// Reads a jute `vector<T>`; a null vector (count -1) reads as empty.
    pub fn read_vec<T: Decode>(&mut self) -> Result<Vec<T>, DecodeError> {
        let Some(count) = self.read_len()? else {
            return Ok(Vec::new());
        };
        // Every element takes at least one byte, so a count beyond the remaining bytes is a lie:
        // refuse it before allocating.
        if count > self.remaining() {
            return Err(DecodeError::BadLength {
                offset: self.pos - 4,
                len: count as i32,
            });
        }
        let mut out = Vec::with_capacity(count);
        for _ in 0..count {
            out.push(T::decode(self)?);
        }
        Ok(out)
    }

    /// Fails unless every byte has been consumed.
    pub fn finish(&self) -> Result<(), DecodeError> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(DecodeError::TrailingBytes {
                offset: self.pos,
                remaining: self.remaining(),
            })
        }
    }
}

/// Writes jute primitives onto a byte vector.
pub trait WriteExt {
    /// Writes a jute `byte`.
    fn put_u8_(&mut self, v: u8);
    /// Writes a jute `boolean` as 0 or 1.
    fn put_bool(&mut self, v: bool);
    /// Writes a jute `int`.
    fn put_i32(&mut self, v: i32);
    /// Writes a jute `long`.
    fn put_i64(&mut self, v: i64);
    /// Writes a jute `buffer`, `None` as the null buffer.
    fn put_buffer(&mut self, v: Option<&[u8]>);
    /// Writes a jute `ustring`.
    fn put_ustring(&mut self, v: &str);
}

impl WriteExt for Vec<u8> {
    fn put_u8_(&mut self, v: u8) {
        self.push(v);
    }
    fn put_bool(&mut self, v: bool) {
        self.push(v as u8);
    }
    fn put_i32(&mut self, v: i32) {
        self.extend_from_slice(&v.to_be_bytes());
    }
    fn put_i64(&mut self, v: i64) {
        self.extend_from_slice(&v.to_be_bytes());
    }
    fn put_buffer(&mut self, v: Option<&[u8]>) {
        match v {
            None => self.put_i32(-1),
            Some(b) => {
                self.put_i32(b.len() as i32);
                self.extend_from_slice(b);
            }
        }
    }
    fn put_ustring(&mut self, v: &str) {
        self.put_buffer(Some(v.as_bytes()));
    }
}

/// A value with a jute encoding.
pub trait Encode {
    /// Appends the encoding of `self` to `w`.
    fn encode(&self, w: &mut Vec<u8>);

    /// The encoding of `self` as a fresh vector.
    fn to_bytes(&self) -> Vec<u8> {
        let mut w = Vec::new();
        self.encode(&mut w);
        w
    }
}

/// A value that can be read from its jute encoding.
pub trait Decode: Sized {
    /// Reads one value from `r`.
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError>;

    /// Decodes one value that must fill `buf` exactly.
    fn from_bytes(buf: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(buf);
        let v = Self::decode(&mut r)?;
        r.finish()?;
        Ok(v)
    }
}

impl Encode for i32 {
    fn encode(&self, w: &mut Vec<u8>) {
        w.put_i32(*self)
    }
}
impl Decode for i32 {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        r.read_i32()
    }
}
impl Encode for i64 {
    fn encode(&self, w: &mut Vec<u8>) {
        w.put_i64(*self)
    }
}
impl Decode for i64 {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        r.read_i64()
    }
}
impl Encode for bool {
    fn encode(&self, w: &mut Vec<u8>) {
        w.put_bool(*self)
    }
}
impl Decode for bool {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        r.read_bool()
    }
}
impl Encode for String {
    fn encode(&self, w: &mut Vec<u8>) {
        w.put_ustring(self)
    }
}
impl Decode for String {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        r.read_ustring()
    }
}
impl Encode for Option<String> {
    fn encode(&self, w: &mut Vec<u8>) {
        w.put_buffer(self.as_deref().map(str::as_bytes))
    }
}
impl Decode for Option<String> {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        r.read_ustring_opt()
    }
}
/// A nullable jute `buffer`.
impl Encode for Option<Bytes> {
    fn encode(&self, w: &mut Vec<u8>) {
        w.put_buffer(self.as_deref())
    }
}
impl Decode for Option<Bytes> {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(r.read_buffer()?.map(Bytes::copy_from_slice))
    }
}
/// A jute `buffer` whose null form reads as empty.
impl Encode for Bytes {
    fn encode(&self, w: &mut Vec<u8>) {
        w.put_buffer(Some(self))
    }
}
impl Decode for Bytes {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(r.read_buffer()?
            .map(Bytes::copy_from_slice)
            .unwrap_or_default())
    }
}
impl<T: Encode> Encode for Vec<T> {
    fn encode(&self, w: &mut Vec<u8>) {
        w.put_i32(self.len() as i32);
        for v in self {
            v.encode(w);
        }
    }
}
impl<T: Decode> Decode for Vec<T> {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        r.read_vec()
    }
}

/// Defines a jute record: a struct whose encoding is its fields in order.
///
/// Field names are the snake_case forms of the names in Apache ZooKeeper's `zookeeper.jute`,
/// and the struct's doc names the record it mirrors; fields are documented there.
#[macro_export]
macro_rules! jute_record {
    ($(#[$m:meta])* pub struct $name:ident { $( $(#[$fm:meta])* pub $f:ident : $t:ty ),* $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, PartialEq, Eq, Default, Hash)]
        pub struct $name {
            $( $(#[$fm])* #[allow(missing_docs)] pub $f: $t, )*
        }
        impl $crate::jute::Encode for $name {
            #[allow(unused_variables)]
            fn encode(&self, w: &mut Vec<u8>) {
                $( $crate::jute::Encode::encode(&self.$f, w); )*
            }
        }
        impl $crate::jute::Decode for $name {
            #[allow(unused_variables)]
            fn decode(r: &mut $crate::jute::Reader<'_>) -> Result<Self, $crate::error::DecodeError> {
                Ok(Self { $( $f: $crate::jute::Decode::decode(r)?, )* })
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn null_and_empty_buffers_differ() {
        let mut w = Vec::new();
        None::<Bytes>.encode(&mut w);
        Some(Bytes::new()).encode(&mut w);
        assert_eq!(w, [0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0]);
        let mut r = Reader::new(&w);
        assert_eq!(Option::<Bytes>::decode(&mut r).unwrap(), None);
        assert_eq!(Option::<Bytes>::decode(&mut r).unwrap(), Some(Bytes::new()));
        assert!(r.is_empty());
    }

    #[test]
    fn lying_lengths_are_refused_before_allocating() {
        // A vector claiming 2^31-1 elements in an 8-byte payload.
        let buf = [0x7f, 0xff, 0xff, 0xff, 0, 0, 0, 1];
        assert!(matches!(
            Reader::new(&buf).read_vec::<i32>(),
            Err(DecodeError::BadLength { .. })
        ));
        let buf = [0x00, 0x00, 0x10, 0x00, 1];
        assert!(matches!(
            Reader::new(&buf).read_buffer(),
            Err(DecodeError::UnexpectedEof { .. })
        ));
        let buf = [0xff, 0xff, 0xff, 0xfe];
        assert!(matches!(
            Reader::new(&buf).read_buffer(),
            Err(DecodeError::BadLength { len: -2, .. })
        ));
    }

    #[test]
    fn booleans_read_any_nonzero_as_true() {
        assert!(Reader::new(&[7]).read_bool().unwrap());
        assert!(!Reader::new(&[0]).read_bool().unwrap());
    }
}
