//! Transaction entries through zk-core's real decoders, as recovery and a follower read them:
//! `TxnEntry::decode` (header, record by type, optional digest) and `TxnBody::decode` of every
//! transaction type (create2 15 and reconfig 16 included) on the same bytes. Nothing may panic;
//! an entry re-encodes to the bytes it came from, and a body's encoding decodes back to it (not
//! always to the same bytes: a boolean may be any non-zero byte, a null string reads as empty).
#![no_main]
use libfuzzer_sys::fuzz_target;
use zk_core::jute::{Decode, Encode, Reader};
use zk_core::txn::{FileHeader, TxnBody, TxnEntry};

/// Every type `SerializeUtils.deserializeTxn` knows, plus check and two it does not.
const TYPES: [i32; 17] = [
    1, 2, 5, 7, 13, 14, 15, 16, 19, 20, 21, -1, -10, -11, 0, 4, 99,
];

fuzz_target!(|data: &[u8]| {
    let _ = FileHeader::decode(&mut Reader::new(data));
    if let Ok(entry) = TxnEntry::decode(data) {
        assert_eq!(entry.to_bytes(), data, "an entry re-encodes byte for byte");
        let body = entry.body().expect("a decoded entry's record decodes");
        assert_eq!(TxnBody::decode(entry.header.txn_type, &body.to_bytes()), Ok(body));
    }
    // The first byte picks a type to try on the rest, so every type sees arbitrary records.
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let txn_type = TYPES[pick as usize % TYPES.len()];
    if let Ok(body) = TxnBody::decode(txn_type, rest) {
        let again = TxnBody::decode(txn_type, &body.to_bytes());
        assert_eq!(again, Ok(body), "type {txn_type} round-trips");
    }
    let mut r = Reader::new(rest);
    if TxnBody::read(txn_type, &mut r).is_ok() {
        assert!(r.position() <= rest.len());
    }
});
