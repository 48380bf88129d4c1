//! The first bytes of an election connection (`InitialMessage.parse`): nothing may panic, no
//! prefix of a message parses as a whole one, and a parsed message re-encodes to one that
//! parses the same.
#![no_main]
use libfuzzer_sys::fuzz_target;
use zk_core::jute::Encode;
use zk_core::quorum::InitialMessage;

fuzz_target!(|data: &[u8]| {
    let Ok(Some((used, msg))) = InitialMessage::parse(data) else {
        return;
    };
    assert!(used <= data.len());
    assert_eq!(InitialMessage::parse(&data[..used - 1]), Ok(None));
    let wire = msg.to_bytes();
    assert_eq!(InitialMessage::parse(&wire), Ok(Some((wire.len(), msg))));
});
