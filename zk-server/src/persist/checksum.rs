//! The checksums of the on-disk format: Adler32 (`java.util.zip.Adler32`) seals log records and
//! snapshots; CRC32 (`java.util.zip.CRC32`) is the per-node hash of the 3.6+ tree digest
//! (`DigestCalculator`, digest version 2).

use zk_core::data::StatPersisted;

/// Adler32 of `bytes`, as Apache ZooKeeper stores it: widened to a Java `long`.
pub fn adler32(bytes: &[u8]) -> i64 {
    let mut a = adler::Adler32::new();
    a.write_slice(bytes);
    i64::from(a.checksum())
}

/// A running Adler32 over a stream (`CheckedOutputStream` / `CheckedInputStream`).
#[derive(Debug, Clone, Default)]
pub struct Adler32Stream(adler::Adler32);

impl Adler32Stream {
    /// Adds bytes to the checksum.
    pub fn update(&mut self, bytes: &[u8]) {
        self.0.write_slice(bytes);
    }

    /// The checksum of everything so far, as a Java `long`.
    pub fn value(&self) -> i64 {
        i64::from(self.0.checksum())
    }
}

const fn crc32_table() -> [u32; 256] {
    let mut table = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 {
                0xedb8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
            k += 1;
        }
        table[i] = c;
        i += 1;
    }
    table
}

static CRC32_TABLE: [u32; 256] = crc32_table();

/// A running CRC32 (IEEE 802.3, the polynomial of `java.util.zip.CRC32`).
#[derive(Debug, Clone, Copy)]
pub struct Crc32(u32);

impl Default for Crc32 {
    fn default() -> Self {
        Crc32(0xffff_ffff)
    }
}

impl Crc32 {
    /// Adds bytes to the checksum.
    pub fn update(&mut self, bytes: &[u8]) {
        let mut c = self.0;
        for &b in bytes {
            c = CRC32_TABLE[((c ^ u32::from(b)) & 0xff) as usize] ^ (c >> 8);
        }
        self.0 = c;
    }

    /// The checksum of everything so far.
    pub fn value(&self) -> u32 {
        !self.0
    }
}

/// The digest version Apache ZooKeeper 3.6-3.9 writes (`DigestCalculator.DIGEST_VERSION`).
pub const DIGEST_VERSION: i32 = 2;

/// One node's contribution to the tree digest (`DigestCalculator.calculateDigest`).
///
/// Nodes under `/zookeeper/` count 0; the root is hashed under the path "" (as is "/"). The tree
/// digest is the wrapping sum of every node's contribution.
pub fn node_digest(path: &str, data: Option<&[u8]>, stat: &StatPersisted) -> i64 {
    if path.starts_with("/zookeeper/") {
        return 0;
    }
    let path = if path == "/" { "" } else { path };
    let mut b = [0u8; 60];
    let fields: [&[u8]; 9] = [
        &stat.czxid.0.to_be_bytes(),
        &stat.mzxid.0.to_be_bytes(),
        &stat.pzxid.0.to_be_bytes(),
        &stat.ctime.to_be_bytes(),
        &stat.mtime.to_be_bytes(),
        &stat.version.to_be_bytes(),
        &stat.cversion.to_be_bytes(),
        &stat.aversion.to_be_bytes(),
        &stat.ephemeral_owner.to_be_bytes(),
    ];
    let mut at = 0;
    for f in fields {
        b[at..at + f.len()].copy_from_slice(f);
        at += f.len();
    }
    let mut crc = Crc32::default();
    crc.update(path.as_bytes());
    if let Some(d) = data {
        crc.update(d);
    }
    crc.update(&b);
    i64::from(crc.value())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adler32_known_values() {
        // Reference values of java.util.zip.Adler32.
        assert_eq!(adler32(b""), 1);
        assert_eq!(adler32(b"Wikipedia"), 0x11E6_0398);
    }

    #[test]
    fn crc32_known_values() {
        let mut c = Crc32::default();
        c.update(b"123456789");
        assert_eq!(c.value(), 0xCBF4_3926);
        let mut s = Adler32Stream::default();
        s.update(b"Wiki");
        s.update(b"pedia");
        assert_eq!(s.value(), adler32(b"Wikipedia"));
    }

    #[test]
    fn zookeeper_subtree_does_not_count() {
        let st = StatPersisted::default();
        assert_eq!(node_digest("/zookeeper/quota", None, &st), 0);
        assert_ne!(node_digest("/zookeeper", None, &st), 0);
        assert_eq!(node_digest("/", None, &st), node_digest("", None, &st));
    }
}
