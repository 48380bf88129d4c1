//! A fast, non-cryptographic hasher for the checker's maps (the Fx hash of rustc and
//! Firefox). Keys are paths and data the workload chose, not an adversary's, so SipHash's
//! protection against flooding buys nothing, and its cost is a third of a check.

use std::hash::{BuildHasherDefault, Hasher};

/// A `HashMap` with [`FxHasher`].
pub(crate) type FxHashMap<K, V> = std::collections::HashMap<K, V, BuildHasherDefault<FxHasher>>;

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct FxHasher {
    hash: u64,
}

impl FxHasher {
    fn add(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(5) ^ word).wrapping_mul(SEED);
    }
}

impl Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.add(u64::from_le_bytes(w));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut w = [0u8; 8];
            w[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(w));
        }
    }

    fn write_u8(&mut self, i: u8) {
        self.add(i.into());
    }

    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }

    fn finish(&self) -> u64 {
        self.hash
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tails_and_lengths_change_the_hash() {
        let h = |b: &[u8]| {
            let mut s = FxHasher::default();
            std::hash::Hash::hash(b, &mut s);
            s.finish()
        };
        assert_ne!(h(b"v1"), h(b"v2"));
        assert_ne!(h(b""), h(b"\0"));
        assert_ne!(h(b"12345678a"), h(b"12345678b"));
    }
}
