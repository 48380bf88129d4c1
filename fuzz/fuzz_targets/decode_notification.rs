//! Election notifications by `WorkerReceiver`'s length table, on arbitrary payloads, and the
//! election framing: nothing may panic, and a decoded vote re-encodes (in the current form) to
//! a payload that decodes to the same vote.
#![no_main]
use libfuzzer_sys::fuzz_target;
use zk_core::jute::Encode;
use zk_core::quorum::{next_election_frame, Notification};

fuzz_target!(|data: &[u8]| {
    if let Ok(n) = Notification::decode(data) {
        let again = Notification::decode(&n.to_bytes()).expect("re-encoded vote");
        assert_eq!(again, Notification { version: Notification::CURRENT_VERSION, ..n });
    }
    let mut rest = data;
    while let Ok(Some((used, payload))) = next_election_frame(rest) {
        assert_eq!(used, payload.len() + 4);
        let _ = Notification::decode(payload);
        rest = &rest[used..];
    }
});
