//! Newtypes for zxids and session ids.

use std::fmt;

use crate::error::DecodeError;
use crate::jute::{Decode, Encode, Reader};

/// A ZooKeeper transaction id: the high 32 bits are the epoch, the low 32 bits a counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Zxid(pub i64);

impl Zxid {
    /// The zxid of an empty database.
    pub const ZERO: Zxid = Zxid(0);
    /// The "no zxid" marker (-1) that Apache ZooKeeper 3.8 puts in notification headers.
    pub const NONE: Zxid = Zxid(-1);

    /// Builds a zxid from an epoch and a counter.
    pub fn new(epoch: u32, counter: u32) -> Zxid {
        Zxid(((epoch as i64) << 32) | counter as i64)
    }

    /// The epoch: the high 32 bits.
    pub fn epoch(self) -> u32 {
        (self.0 as u64 >> 32) as u32
    }

    /// The counter: the low 32 bits.
    pub fn counter(self) -> u32 {
        self.0 as u32
    }

    /// The next zxid in the same epoch.
    pub fn next(self) -> Zxid {
        Zxid(self.0 + 1)
    }
}

impl fmt::Display for Zxid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "0x{:x}", self.0)
    }
}

/// A ZooKeeper session id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct SessionId(pub i64);

impl SessionId {
    /// The id a client sends to ask for a new session.
    pub const NONE: SessionId = SessionId(0);
}

impl fmt::Display for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "0x{:x}", self.0)
    }
}

macro_rules! i64_newtype_codec {
    ($t:ident) => {
        impl Encode for $t {
            fn encode(&self, w: &mut Vec<u8>) {
                self.0.encode(w)
            }
        }
        impl Decode for $t {
            fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
                Ok($t(r.read_i64()?))
            }
        }
    };
}
i64_newtype_codec!(Zxid);
i64_newtype_codec!(SessionId);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zxid_parts() {
        let z = Zxid::new(3, 7);
        assert_eq!(z.0, 0x3_0000_0007);
        assert_eq!((z.epoch(), z.counter()), (3, 7));
        assert_eq!(z.to_string(), "0x300000007");
        assert_eq!(Zxid::NONE.epoch(), u32::MAX);
    }
}
