//! The quorum port's byte stream as a learner reads it (`QuorumStream`: packets, and the inline
//! snapshot after a SNAP packet), fed in pieces whose sizes the first byte picks, with a small
//! maximum length. Nothing may panic; the pieces must not change what is read; every packet
//! read must survive re-encoding.
#![no_main]
use libfuzzer_sys::fuzz_target;
use zk_core::jute::{Decode, Encode};
use zk_core::quorum::{QuorumItem, QuorumPacket, QuorumPacketReader, QuorumStream};

const MAX: usize = 4096;

/// Everything `QuorumStream` reads from `data` given whole, with the bytes consumed.
fn whole(data: &[u8]) -> (Vec<QuorumItem>, usize) {
    let mut s = QuorumStream::new(MAX);
    let mut at = 0;
    let mut out = Vec::new();
    while let Ok(Some((used, item))) = s.next_item(&data[at..]) {
        assert!(used > 0 && at + used <= data.len());
        at += used;
        out.push(item);
    }
    (out, at)
}

fuzz_target!(|input: &[u8]| {
    let Some((&piece, data)) = input.split_first() else {
        return;
    };
    let (items, used) = whole(data);
    // The same bytes in pieces of 1..=16 bytes give the same items.
    let step = 1 + (piece % 16) as usize;
    let mut s = QuorumStream::new(MAX);
    let mut buf = Vec::new();
    let mut got = Vec::new();
    for chunk in data[..used].chunks(step) {
        buf.extend_from_slice(chunk);
        while let Some((n, item)) = s
            .next_item(&buf)
            .expect("bytes that parse whole also parse in pieces")
        {
            buf.drain(..n);
            got.push(item);
        }
    }
    assert!(buf.is_empty());
    assert_eq!(got, items);
    for item in &items {
        if let QuorumItem::Packet(p) = item {
            let again = QuorumPacket::from_bytes(&p.to_bytes()).expect("re-encoded packet");
            assert_eq!(&again, p);
        }
    }
    let _ = QuorumPacketReader::new(MAX).next_packet(data);
});
