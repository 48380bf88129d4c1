//! How a node's stored `ephemeralOwner` encodes its kind (Apache ZooKeeper's `EphemeralType`):
//! 0 for a persistent node, a session id for an ephemeral, [`CONTAINER_OWNER`] for a container,
//! and [`TTL_OWNER_MASK`] ORed with the TTL for a TTL node. Snapshots and the data tree store
//! these values, so they are part of the on-disk format.

/// `EphemeralType.CONTAINER_EPHEMERAL_OWNER` (`0x8000000000000000`): the owner stored for
/// container nodes.
pub const CONTAINER_OWNER: i64 = i64::MIN;

/// `EphemeralType`'s `EXTENDED_MASK` (`0xff00000000000000`): the high byte that marks a TTL
/// node's stored owner; the TTL in milliseconds is in the low bits.
pub const TTL_OWNER_MASK: i64 = 0xff00_0000_0000_0000_u64 as i64;

/// The largest TTL a node may have, in milliseconds (`EphemeralType.TTL.maxValue()`,
/// `0xffffffffff`): the bits of an owner below the extended mask and its feature bits.
pub const MAX_TTL_MS: i64 = 0x00ff_ffff_ffff;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_do_not_overlap() {
        assert_eq!(CONTAINER_OWNER as u64, 0x8000_0000_0000_0000);
        assert_eq!(TTL_OWNER_MASK & MAX_TTL_MS, 0);
        assert_ne!(CONTAINER_OWNER & TTL_OWNER_MASK, TTL_OWNER_MASK);
    }
}
