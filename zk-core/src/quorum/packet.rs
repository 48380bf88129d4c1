//! [`QuorumPacket`]: the one record of the quorum port (`zookeeper.jute`, module
//! `org.apache.zookeeper.server.quorum`), and [`QuorumPacketReader`], which splits packets off
//! the unframed byte stream a socket delivers.

use bytes::Bytes;

use crate::data::Id;
use crate::error::DecodeError;
use crate::ids::Zxid;
use crate::jute::{Decode, Encode, Reader, WriteExt};

use super::cursor::{streaming, whole, Cursor, Step, MIN_ID_LEN};
use super::{PacketType, DEFAULT_MAX_LEN};

/// `QuorumPacket { int type; long zxid; buffer data; vector<Id> authinfo }`.
///
/// `data` and `authinfo` keep Java's null (`None`, length -1) apart from empty. The type is kept
/// as its number so that a packet of an unknown type still decodes; [`QuorumPacket::kind`]
/// names it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct QuorumPacket {
    /// The packet type (`Leader.PROPOSAL`, ...); see [`PacketType`].
    pub packet_type: i32,
    /// The zxid the packet is about (its meaning depends on the type).
    pub zxid: Zxid,
    /// The payload; what it holds depends on the type.
    pub data: Option<Bytes>,
    /// The client's auth ids (REQUEST only; null elsewhere).
    pub authinfo: Option<Vec<Id>>,
}

impl QuorumPacket {
    /// A packet of a known type with null authinfo, as every type but REQUEST has.
    pub fn new(kind: PacketType, zxid: Zxid, data: Option<Bytes>) -> QuorumPacket {
        QuorumPacket {
            packet_type: kind.as_i32(),
            zxid,
            data,
            authinfo: None,
        }
    }

    /// The packet's type, if it is a known one.
    pub fn kind(&self) -> Option<PacketType> {
        PacketType::from_i32(self.packet_type)
    }

    /// The payload, null reading as empty.
    pub fn data_bytes(&self) -> &[u8] {
        self.data.as_deref().unwrap_or_default()
    }

    /// Parses one packet from the start of `c`.
    pub(crate) fn parse(c: &mut Cursor<'_>) -> Step<QuorumPacket> {
        let packet_type = c.i32()?;
        let zxid = c.zxid()?;
        let data = c.buffer()?.map(Bytes::copy_from_slice);
        let authinfo = match c.count(MIN_ID_LEN)? {
            None => None,
            Some(n) => {
                let mut ids = Vec::with_capacity(c.capacity(n, MIN_ID_LEN));
                for _ in 0..n {
                    ids.push(c.id()?);
                }
                Some(ids)
            }
        };
        Ok(QuorumPacket {
            packet_type,
            zxid,
            data,
            authinfo,
        })
    }
}

impl Encode for QuorumPacket {
    fn encode(&self, w: &mut Vec<u8>) {
        w.put_i32(self.packet_type);
        self.zxid.encode(w);
        w.put_buffer(self.data.as_deref());
        match &self.authinfo {
            None => w.put_i32(-1),
            Some(ids) => ids.encode(w),
        }
    }
}

/// Decodes a packet from a buffer that holds all of it; lengths are bounded by the bytes
/// there. A stream goes through [`QuorumPacketReader`] instead.
impl Decode for QuorumPacket {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let rest = r.rest();
        let mut c = Cursor::new(rest, rest.len());
        let packet = whole(QuorumPacket::parse(&mut c), &c)?;
        r.read_raw(c.position())?;
        Ok(packet)
    }
}

/// Splits [`QuorumPacket`]s off the quorum port's byte stream, which has no framing: the
/// records follow each other, share TCP segments and span them.
///
/// Sans-IO: the caller appends what the socket delivers to a buffer, calls
/// [`next_packet`](QuorumPacketReader::next_packet) until it returns `Ok(None)`, and drops the
/// consumed bytes. A buffer or string length below -1 or above the maximum, and an authinfo
/// count that could not fit in it, are errors as soon as the length is read (Apache's
/// `BinaryInputArchive.checkLength`); nothing is allocated for bytes that have not arrived.
/// After a SNAP packet the snapshot follows inline: see [`QuorumStream`](super::QuorumStream).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuorumPacketReader {
    max_len: usize,
}

impl Default for QuorumPacketReader {
    fn default() -> Self {
        QuorumPacketReader::new(DEFAULT_MAX_LEN)
    }
}

impl QuorumPacketReader {
    /// A reader accepting buffer and string lengths up to `max_len` bytes.
    pub fn new(max_len: usize) -> QuorumPacketReader {
        QuorumPacketReader { max_len }
    }

    /// The largest buffer or string length accepted.
    pub fn max_len(&self) -> usize {
        self.max_len
    }

    /// Looks for one whole packet at the start of `buf`.
    ///
    /// `Ok(Some((consumed, packet)))` when it is all there; `Ok(None)` when more bytes are
    /// needed (nothing is consumed); an error when the bytes can never be a packet, after which
    /// the connection should be closed.
    pub fn next_packet(&self, buf: &[u8]) -> Result<Option<(usize, QuorumPacket)>, DecodeError> {
        let mut c = Cursor::new(buf, self.max_len);
        let packet = streaming(QuorumPacket::parse(&mut c))?;
        Ok(packet.map(|p| (c.position(), p)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ack_golden() {
        // QUORUM.md §3.1: ACK(zxid=0x100000001).
        let ack = QuorumPacket::new(PacketType::Ack, Zxid(0x1_0000_0001), None);
        let wire = ack.to_bytes();
        assert_eq!(
            wire,
            [0, 0, 0, 3, 0, 0, 0, 1, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]
        );
        assert_eq!(QuorumPacket::from_bytes(&wire).unwrap(), ack);
        assert_eq!(ack.kind(), Some(PacketType::Ack));
    }

    #[test]
    fn reader_waits_for_whole_packets() {
        let p = QuorumPacket {
            packet_type: 1,
            zxid: Zxid::NONE,
            data: Some(Bytes::from_static(b"abc")),
            authinfo: Some(vec![Id::new("ip", "127.0.0.1")]),
        };
        let mut stream = p.to_bytes();
        let one = stream.len();
        QuorumPacket {
            packet_type: 42,
            zxid: Zxid(7),
            data: Some(Bytes::new()),
            authinfo: Some(Vec::new()),
        }
        .encode(&mut stream);
        let r = QuorumPacketReader::default();
        for cut in 0..one {
            assert_eq!(r.next_packet(&stream[..cut]).unwrap(), None, "cut {cut}");
        }
        let (used, got) = r.next_packet(&stream).unwrap().unwrap();
        assert_eq!((used, &got), (one, &p));
        let (used2, got2) = r.next_packet(&stream[one..]).unwrap().unwrap();
        assert_eq!(used2, stream.len() - one);
        assert_eq!(got2.kind(), None, "unknown types are kept");
        assert_eq!(got2.data, Some(Bytes::new()), "empty is not null");
        assert_eq!(got2.authinfo, Some(Vec::new()));
    }

    #[test]
    fn reader_refuses_bad_lengths_early() {
        let r = QuorumPacketReader::new(1024);
        let mut head = Vec::new();
        head.put_i32(2);
        head.put_i64(5);
        let mut big = head.clone();
        big.put_i32(1025);
        assert!(matches!(
            r.next_packet(&big),
            Err(DecodeError::TooLong { len: 1025, .. })
        ));
        let mut neg = head.clone();
        neg.put_i32(-2);
        assert!(matches!(
            r.next_packet(&neg),
            Err(DecodeError::BadLength { len: -2, .. })
        ));
        let mut ids = head.clone();
        ids.put_i32(-1);
        ids.put_i32(i32::MAX);
        assert!(matches!(
            r.next_packet(&ids),
            Err(DecodeError::TooLong { .. })
        ));
        let mut ids = head;
        ids.put_i32(-1);
        ids.put_i32(-7);
        assert!(matches!(
            r.next_packet(&ids),
            Err(DecodeError::BadLength { len: -7, .. })
        ));
    }

    #[test]
    fn whole_buffer_decode_reports_truncation() {
        let wire =
            QuorumPacket::new(PacketType::Ping, Zxid(1), Some(Bytes::from_static(b"x"))).to_bytes();
        assert!(matches!(
            QuorumPacket::from_bytes(&wire[..wire.len() - 1]),
            Err(DecodeError::UnexpectedEof { .. })
        ));
        let mut longer = wire.clone();
        longer.push(0);
        assert!(matches!(
            QuorumPacket::from_bytes(&longer),
            Err(DecodeError::TrailingBytes { .. })
        ));
    }
}
