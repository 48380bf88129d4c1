//! [`QuorumStream`]: what a learner reads from the leader, packets with the inline snapshot
//! after a SNAP packet (`Learner.syncWithLeader`), as one sequence of [`QuorumItem`]s.

use crate::error::DecodeError;

use super::{PacketType, QuorumPacket, QuorumPacketReader, SnapItem, SnapReader, DEFAULT_MAX_LEN};

/// One thing read from the quorum port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QuorumItem {
    /// A quorum packet.
    Packet(QuorumPacket),
    /// A part of the snapshot that follows a SNAP packet.
    Snap(SnapItem),
}

/// Reads the quorum port's stream: [`QuorumPacket`]s, and after a SNAP packet the snapshot's
/// items up to and including [`SnapItem::End`], then packets again.
///
/// The same sans-IO contract as [`QuorumPacketReader::next_packet`]. A leader reads from a
/// learner with a plain [`QuorumPacketReader`]: learners never send SNAP.
#[derive(Debug, Clone)]
pub struct QuorumStream {
    packets: QuorumPacketReader,
    snap: Option<SnapReader>,
}

impl Default for QuorumStream {
    fn default() -> Self {
        QuorumStream::new(DEFAULT_MAX_LEN)
    }
}

impl QuorumStream {
    /// A stream reader accepting buffer and string lengths up to `max_len` bytes.
    pub fn new(max_len: usize) -> QuorumStream {
        QuorumStream {
            packets: QuorumPacketReader::new(max_len),
            snap: None,
        }
    }

    /// True while a snapshot is being read.
    pub fn in_snapshot(&self) -> bool {
        self.snap.is_some()
    }

    /// The next packet or snapshot item at the start of `buf`, with the bytes it took;
    /// `Ok(None)` when more bytes are needed.
    pub fn next_item(&mut self, buf: &[u8]) -> Result<Option<(usize, QuorumItem)>, DecodeError> {
        if let Some(snap) = &mut self.snap {
            let Some((used, item)) = snap.next_item(buf)? else {
                return Ok(None);
            };
            if item == SnapItem::End {
                self.snap = None;
            }
            return Ok(Some((used, QuorumItem::Snap(item))));
        }
        let Some((used, packet)) = self.packets.next_packet(buf)? else {
            return Ok(None);
        };
        if packet.kind() == Some(PacketType::Snap) {
            self.snap = Some(SnapReader::new(self.packets.max_len()));
        }
        Ok(Some((used, QuorumItem::Packet(packet))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::StatPersisted;
    use crate::ids::Zxid;
    use crate::jute::Encode;
    use crate::quorum::SnapWriter;

    #[test]
    fn snapshot_between_packets() {
        let mut wire = QuorumPacket::new(PacketType::Snap, Zxid(9), None).to_bytes();
        let mut w = SnapWriter::new();
        w.sessions(Vec::new());
        w.acl_map(Vec::new());
        w.node("", None, -1, &StatPersisted::default());
        w.end();
        wire.extend_from_slice(w.bytes());
        QuorumPacket::new(PacketType::NewLeader, Zxid(1 << 32), None).encode(&mut wire);

        let mut s = QuorumStream::default();
        let mut at = 0;
        let mut kinds = Vec::new();
        while let Some((n, item)) = s.next_item(&wire[at..]).unwrap() {
            at += n;
            kinds.push(match item {
                QuorumItem::Packet(p) => p.kind().unwrap().name().to_string(),
                QuorumItem::Snap(SnapItem::Node { .. }) => "node".into(),
                QuorumItem::Snap(i) => format!("{i:?}"),
            });
        }
        assert_eq!(at, wire.len());
        assert_eq!(kinds, ["SNAP", "node", "End", "NEWLEADER"]);
        assert!(!s.in_snapshot());
    }
}
