//! [`SnapReader`]: decodes the inline SNAP stream item by item as its bytes arrive, as a
//! learner reads it (`Learner.syncWithLeader` → `ZKDatabase.deserializeSnapshot`:
//! `SerializeUtils.deserializeSnapshot`, `ReferenceCountedACLCache.deserialize`,
//! `DataTree.deserialize`). [`SnapWriter`](super::SnapWriter) documents the layout.

use bytes::Bytes;

use crate::data::{Acl, StatPersisted};
use crate::error::DecodeError;
use crate::ids::SessionId;

use super::cursor::{streaming, Cursor, Step, Stop, MIN_ACL_LEN};
use super::snap::{END_OF_NODES, SNAP_SIGNATURE};
use super::DEFAULT_MAX_LEN;

/// One item of a SNAP stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SnapItem {
    /// A session of the session table.
    Session {
        /// The session.
        session_id: SessionId,
        /// Its negotiated timeout.
        timeout_ms: i32,
    },
    /// An entry of the ACL map.
    AclEntry {
        /// The index nodes refer to it by.
        index: i64,
        /// The ACL list.
        acl: Vec<Acl>,
    },
    /// A node; parents come before their children.
    Node {
        /// The path as the stream has it: `""` for the root.
        path: String,
        /// The data; `None` is null.
        data: Option<Bytes>,
        /// The ACL map index (-1: OPEN_ACL_UNSAFE, never in the map).
        acl: i64,
        /// The persisted stat.
        stat: StatPersisted,
    },
    /// The end of the nodes and a valid signature: the stream is over.
    End,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    SessionCount,
    Sessions(u32),
    AclCount,
    Acls(u32),
    Nodes,
    Done,
}

/// Decodes a SNAP stream incrementally.
///
/// Sans-IO, like [`QuorumPacketReader`](super::QuorumPacketReader): give
/// [`next_item`](SnapReader::next_item) the bytes that have arrived; it returns one item and
/// how many bytes it took (the counts before the first session and the first ACL entry are
/// consumed with it), or `Ok(None)` when more bytes are needed, or an error. Every length is
/// bounded by the maximum before anything is allocated; negative counts, a null ACL list
/// (Apache's learner throws on one) or a null path, and a signature other than "BenWasHere" are
/// errors. Nothing checks that parents precede children: the tree being built does.
#[derive(Debug, Clone)]
pub struct SnapReader {
    max_len: usize,
    stage: Stage,
}

impl Default for SnapReader {
    fn default() -> Self {
        SnapReader::new(DEFAULT_MAX_LEN)
    }
}

impl SnapReader {
    /// A reader at the start of a stream, accepting lengths up to `max_len` bytes.
    pub fn new(max_len: usize) -> SnapReader {
        SnapReader {
            max_len,
            stage: Stage::SessionCount,
        }
    }

    /// True once [`SnapItem::End`] has been returned.
    pub fn is_done(&self) -> bool {
        self.stage == Stage::Done
    }

    /// Decodes the next item from the start of `buf`. After [`SnapItem::End`] it always
    /// returns `Ok(None)`: the bytes after the stream are quorum packets again.
    pub fn next_item(&mut self, buf: &[u8]) -> Result<Option<(usize, SnapItem)>, DecodeError> {
        let mut c = Cursor::new(buf, self.max_len);
        let mut stage = self.stage;
        let item = streaming(Self::parse(&mut c, &mut stage))?;
        // Commit the new stage only with a whole item, so a partial one is parsed again.
        Ok(item.map(|item| {
            self.stage = stage;
            (c.position(), item)
        }))
    }

    fn parse(c: &mut Cursor<'_>, stage: &mut Stage) -> Step<SnapItem> {
        loop {
            match *stage {
                Stage::SessionCount => *stage = Stage::Sessions(Self::count(c)?),
                Stage::Sessions(0) => *stage = Stage::AclCount,
                Stage::Sessions(left) => {
                    let session_id = SessionId(c.i64()?);
                    let timeout_ms = c.i32()?;
                    *stage = Stage::Sessions(left - 1);
                    return Ok(SnapItem::Session {
                        session_id,
                        timeout_ms,
                    });
                }
                Stage::AclCount => *stage = Stage::Acls(Self::count(c)?),
                Stage::Acls(0) => *stage = Stage::Nodes,
                Stage::Acls(left) => {
                    let index = c.i64()?;
                    let offset = c.position();
                    let n = c
                        .count(MIN_ACL_LEN)?
                        .ok_or(DecodeError::BadLength { offset, len: -1 })?;
                    let mut acl = Vec::with_capacity(c.capacity(n, MIN_ACL_LEN));
                    for _ in 0..n {
                        acl.push(c.acl()?);
                    }
                    *stage = Stage::Acls(left - 1);
                    return Ok(SnapItem::AclEntry { index, acl });
                }
                Stage::Nodes => {
                    let offset = c.position();
                    let path = c
                        .ustring()?
                        .ok_or(DecodeError::BadLength { offset, len: -1 })?;
                    if path == END_OF_NODES {
                        Self::signature(c)?;
                        *stage = Stage::Done;
                        return Ok(SnapItem::End);
                    }
                    let data = c.buffer()?.map(Bytes::copy_from_slice);
                    let acl = c.i64()?;
                    let stat = c.stat_persisted()?;
                    return Ok(SnapItem::Node {
                        path,
                        data,
                        acl,
                        stat,
                    });
                }
                Stage::Done => return Err(Stop::Incomplete),
            }
        }
    }

    /// A session or ACL map count. Apache's loops treat a negative one as zero; it never writes
    /// one, so here it is an error.
    fn count(c: &mut Cursor<'_>) -> Step<u32> {
        let offset = c.position();
        let n = c.i32()?;
        u32::try_from(n).map_err(|_| Stop::Invalid(DecodeError::BadLength { offset, len: n }))
    }

    /// "BenWasHere", refused as soon as its length shows it cannot be.
    fn signature(c: &mut Cursor<'_>) -> Step<()> {
        let offset = c.position();
        let bad = |found: String| Stop::Invalid(DecodeError::BadSignature { offset, found });
        match c.len()? {
            Some(n) if n == SNAP_SIGNATURE.len() => {
                let b = c.take(n)?;
                if b == SNAP_SIGNATURE.as_bytes() {
                    Ok(())
                } else {
                    Err(bad(String::from_utf8_lossy(b).into_owned()))
                }
            }
            Some(n) => Err(bad(format!("<{n} bytes>"))),
            None => Err(bad("<null>".into())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jute::WriteExt;
    use crate::quorum::SnapWriter;

    fn stream() -> Vec<u8> {
        let mut w = SnapWriter::new();
        w.sessions([(SessionId(5), 4000), (SessionId(6), 6000)]);
        let open = Acl::open_unsafe();
        w.acl_map([(1, open.as_slice())]);
        w.node("/", Some(b""), -1, &StatPersisted::default());
        w.node("/a", None, 1, &StatPersisted::default());
        w.end();
        w.into_bytes()
    }

    fn read_all(buf: &[u8]) -> Vec<SnapItem> {
        let mut r = SnapReader::default();
        let mut at = 0;
        let mut out = Vec::new();
        while let Some((n, item)) = r.next_item(&buf[at..]).unwrap() {
            at += n;
            out.push(item);
        }
        assert!(r.is_done());
        assert_eq!(at, buf.len());
        out
    }

    #[test]
    fn items_in_order_and_byte_by_byte() {
        let buf = stream();
        let items = read_all(&buf);
        assert_eq!(items.len(), 2 + 1 + 2 + 1);
        assert!(matches!(&items[3], SnapItem::Node { path, .. } if path.is_empty()));
        assert_eq!(items[5], SnapItem::End);
        // Fed one byte at a time, the same items come out.
        let mut r = SnapReader::default();
        let mut pending = Vec::new();
        let mut got = Vec::new();
        for b in &buf {
            pending.push(*b);
            while let Some((n, item)) = r.next_item(&pending).unwrap() {
                pending.drain(..n);
                got.push(item);
            }
        }
        assert_eq!(got, items);
        assert!(pending.is_empty());
    }

    #[test]
    fn empty_tables() {
        let mut w = SnapWriter::new();
        w.sessions(Vec::new());
        w.acl_map(Vec::<(i64, &[Acl])>::new());
        w.end();
        assert_eq!(read_all(&w.into_bytes()), [SnapItem::End]);
    }

    #[test]
    fn bad_streams_are_errors() {
        let mut good = stream();
        let n = good.len();
        good[n - 1] = b'X';
        let mut r = SnapReader::default();
        let mut at = 0;
        let err = loop {
            match r.next_item(&good[at..]) {
                Ok(Some((used, _))) => at += used,
                Ok(None) => panic!("a bad signature must be an error"),
                Err(e) => break e,
            }
        };
        assert!(
            matches!(err, DecodeError::BadSignature { ref found, .. } if found == "BenWasHerX")
        );

        let mut neg = Vec::new();
        neg.put_i32(-1);
        assert!(SnapReader::default().next_item(&neg).is_err());
        let mut huge = Vec::new();
        huge.put_i32(0);
        huge.put_i32(1);
        huge.put_i64(1);
        huge.put_i32(i32::MAX);
        assert!(matches!(
            SnapReader::default().next_item(&huge),
            Err(DecodeError::TooLong { .. })
        ));
        let mut short_sig = Vec::new();
        short_sig.put_i32(0);
        short_sig.put_i32(0);
        short_sig.put_ustring("/");
        short_sig.put_i32(3);
        assert!(matches!(
            SnapReader::default().next_item(&short_sig),
            Err(DecodeError::BadSignature { .. })
        ));
    }
}
