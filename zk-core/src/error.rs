//! Errors of the codec, the framing and the path rules.

use thiserror::Error;

/// A payload that is not a valid jute encoding of the expected record.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The payload ended inside a field.
    #[error(
        "unexpected end of payload at offset {offset}: needed {needed} bytes, {remaining} remain"
    )]
    UnexpectedEof {
        /// Where the field started.
        offset: usize,
        /// Bytes the field needed.
        needed: usize,
        /// Bytes that remained.
        remaining: usize,
    },
    /// A length prefix that is negative (other than -1) or larger than the payload.
    #[error("unreasonable length {len} at offset {offset}")]
    BadLength {
        /// Where the length prefix started.
        offset: usize,
        /// The length read.
        len: i32,
    },
    /// Bytes left over after the record.
    #[error("{remaining} trailing bytes at offset {offset}")]
    TrailingBytes {
        /// Where the record ended.
        offset: usize,
        /// Bytes left over.
        remaining: usize,
    },
    /// An op code this protocol does not define, or one not allowed where it appeared.
    #[error("unexpected op code {0}")]
    BadOpCode(i32),
    /// A field value outside its enumeration (a create flag, a watch mode, ...).
    #[error("invalid value {value} for {field}")]
    BadValue {
        /// The field.
        field: &'static str,
        /// The value read.
        value: i64,
    },
    /// A length prefix above the reader's maximum (`BinaryInputArchive.checkLength`:
    /// jute.maxbuffer + extrasize on the quorum port), refused before anything is allocated.
    #[error("length {len} at offset {offset} exceeds the maximum of {max}")]
    TooLong {
        /// Where the length prefix (or count) started.
        offset: usize,
        /// The length (or element count) read.
        len: usize,
        /// The largest accepted.
        max: usize,
    },
    /// A quorum SNAP stream that does not end with the "BenWasHere" signature.
    #[error("bad snapshot signature at offset {offset}: {found:?}")]
    BadSignature {
        /// Where the signature string started.
        offset: usize,
        /// What was there instead (lossily decoded, at most the first bytes).
        found: String,
    },
    /// An election initial message address that is not `host:port`
    /// (`InitialMessage.parse`, "Badly formed address").
    #[error("badly formed address {address:?} at offset {offset}")]
    BadAddress {
        /// Where the address list started.
        offset: usize,
        /// The address.
        address: String,
    },
}

/// A frame that cannot be accepted.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum FrameError {
    /// The length prefix is negative.
    #[error("negative frame length {0}")]
    Negative(i32),
    /// The length prefix is 0 where frames are never empty (election frames).
    #[error("empty frame")]
    Empty,
    /// The length prefix exceeds the configured maximum (jute.maxbuffer).
    #[error("frame length {len} exceeds the maximum of {max}")]
    TooLong {
        /// The length read.
        len: usize,
        /// The maximum allowed.
        max: usize,
    },
}

/// A path that breaks Apache ZooKeeper's rules (`PathUtils.validatePath`).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("invalid path {path:?}: {reason}")]
pub struct PathError {
    /// The path as given.
    pub path: String,
    /// Why it is invalid, in `PathUtils`' words.
    pub reason: &'static str,
}
