//! The snapshot a leader streams inline after a SNAP packet (`SerializeUtils.serializeSnapshot`
//! via `ZKDatabase.serializeSnapshot`): [`SnapWriter`] encodes it.
//!
//! ```text
//! int count, count × (long sessionId, int timeoutMs)           sessions
//! int mapSize, mapSize × (long aclIndex, vector<ACL>)          ReferenceCountedACLCache
//! (ustring path, buffer data, long aclIndex, StatPersisted)*   DataTree.serializeNode, pre-order,
//!                                                              the root's path "" first
//! ustring "/"                                                  end of nodes
//! ustring "BenWasHere"                                         signature
//! ```
//!
//! Unlike a snapshot file there is no file header, checksum or digest.
//! [`SnapReader`](super::SnapReader) decodes it.

use crate::data::{Acl, StatPersisted};
use crate::ids::SessionId;
use crate::jute::{Encode, WriteExt};

/// The string that ends a SNAP stream (`Learner.syncWithLeader` checks it).
pub const SNAP_SIGNATURE: &str = "BenWasHere";

/// The path that ends the node list (`DataTree.serialize` writes it after the last node).
pub const END_OF_NODES: &str = "/";

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Stage {
    Sessions,
    AclMap,
    Nodes,
    Done,
}

/// Encodes a SNAP stream part by part, in the order the stream needs: [`sessions`], then
/// [`acl_map`], then every [`node`] parents first, then [`end`]. Calling them out of order, or
/// giving a table or list of more than `i32::MAX` entries, is a programming error and panics.
///
/// The bytes accumulate in the writer; a driver streaming a large tree takes them with
/// [`take_bytes`] as it goes.
///
/// [`sessions`]: SnapWriter::sessions
/// [`acl_map`]: SnapWriter::acl_map
/// [`node`]: SnapWriter::node
/// [`end`]: SnapWriter::end
/// [`take_bytes`]: SnapWriter::take_bytes
#[derive(Debug, Clone)]
pub struct SnapWriter {
    buf: Vec<u8>,
    stage: Stage,
}

impl Default for SnapWriter {
    fn default() -> Self {
        SnapWriter::new()
    }
}

impl SnapWriter {
    /// A writer at the start of a stream.
    pub fn new() -> SnapWriter {
        SnapWriter {
            buf: Vec::new(),
            stage: Stage::Sessions,
        }
    }

    fn advance(&mut self, from: Stage, to: Stage) {
        assert_eq!(self.stage, from, "SNAP stream parts out of order");
        self.stage = to;
    }

    /// The session table: every global session with its timeout.
    pub fn sessions<I>(&mut self, sessions: I)
    where
        I: IntoIterator<Item = (SessionId, i32)>,
        I::IntoIter: ExactSizeIterator,
    {
        self.advance(Stage::Sessions, Stage::AclMap);
        let it = sessions.into_iter();
        self.buf.put_i32(count(it.len()));
        for (id, timeout_ms) in it {
            self.buf.put_i64(id.0);
            self.buf.put_i32(timeout_ms);
        }
    }

    /// The ACL map (`ReferenceCountedACLCache.serialize`): index and list of every entry.
    pub fn acl_map<'a, I>(&mut self, entries: I)
    where
        I: IntoIterator<Item = (i64, &'a [Acl])>,
        I::IntoIter: ExactSizeIterator,
    {
        self.advance(Stage::AclMap, Stage::Nodes);
        let it = entries.into_iter();
        self.buf.put_i32(count(it.len()));
        for (index, acl) in it {
            self.buf.put_i64(index);
            self.buf.put_i32(count(acl.len()));
            for a in acl {
                a.encode(&mut self.buf);
            }
        }
    }

    /// One node. The root may be given as `"/"` or `""`; it is written as `""`, as Apache
    /// ZooKeeper does (a `"/"` would end the node list).
    pub fn node(&mut self, path: &str, data: Option<&[u8]>, acl: i64, stat: &StatPersisted) {
        assert_eq!(self.stage, Stage::Nodes, "SNAP stream parts out of order");
        let path = if path == END_OF_NODES { "" } else { path };
        self.buf.put_ustring(path);
        self.buf.put_buffer(data);
        self.buf.put_i64(acl);
        stat.encode(&mut self.buf);
    }

    /// The end of the node list and the signature.
    pub fn end(&mut self) {
        self.advance(Stage::Nodes, Stage::Done);
        self.buf.put_ustring(END_OF_NODES);
        self.buf.put_ustring(SNAP_SIGNATURE);
    }

    /// True once [`end`](SnapWriter::end) has been written.
    pub fn is_done(&self) -> bool {
        self.stage == Stage::Done
    }

    /// The bytes written and not yet taken.
    pub fn bytes(&self) -> &[u8] {
        &self.buf
    }

    /// Takes the bytes written so far, leaving the writer empty but at the same place in the
    /// stream.
    pub fn take_bytes(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.buf)
    }

    /// The bytes not yet taken.
    pub fn into_bytes(self) -> Vec<u8> {
        self.buf
    }
}

/// A jute count; more than `i32::MAX` elements cannot be encoded at all.
fn count(n: usize) -> i32 {
    i32::try_from(n).expect("a jute vector holds at most i32::MAX elements")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::Zxid;

    #[test]
    fn golden_small_stream() {
        let mut w = SnapWriter::new();
        w.sessions([(SessionId(0x0300_0038_0c22_0002), 20_000)]);
        let acl = Acl::read_unsafe();
        w.acl_map([(1, acl.as_slice())]);
        let stat = StatPersisted {
            pzxid: Zxid(0x1_0000_004b),
            cversion: 3,
            ..Default::default()
        };
        w.node("/", Some(b""), -1, &stat);
        w.end();
        assert!(w.is_done());
        let got = w.into_bytes();
        let want = concat!(
            "00000001030000380c22000200004e20", // the capture's SNAP.sessions (04)
            "00000001",                         // SNAP.aclmap
            "0000000000000001000000010000000100000005776f726c6400000006616e796f6e65",
            "0000000000000000ffffffffffffffff", // path "", data "", acl -1
            "0000000000000000000000000000000000000000000000000000000000000000", // zxids, times
            "0000000000000003000000000000000000000000", // version, cversion 3, aversion, owner
            "000000010000004b",                 // pzxid
            "000000012f",                       // "/"
            "0000000a42656e57617348657265",     // "BenWasHere"
        );
        let want: Vec<u8> = (0..want.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&want[i..i + 2], 16).unwrap())
            .collect();
        assert_eq!(got, want);
    }

    #[test]
    #[should_panic(expected = "out of order")]
    fn parts_in_order_only() {
        let mut w = SnapWriter::new();
        w.node("/a", None, -1, &StatPersisted::default());
    }

    #[test]
    fn take_bytes_keeps_the_place() {
        let mut w = SnapWriter::new();
        w.sessions(Vec::new());
        assert_eq!(w.take_bytes(), [0, 0, 0, 0]);
        w.acl_map(Vec::<(i64, &[Acl])>::new());
        assert_eq!(w.bytes(), [0, 0, 0, 0]);
    }
}
