//! A byte stream as a server reads it: frames with a small maximum length, the first a
//! ConnectRequest, every later one a RequestHeader and a body; and as a client reads it: a
//! ConnectResponse, then ReplyHeaders and notifications.
#![no_main]
use libfuzzer_sys::fuzz_target;
use zk_core::frame::FrameReader;
use zk_core::jute::{Decode, Reader};
use zk_core::message::Request;
use zk_core::proto::{
    ConnectRequest, ConnectResponse, ReplyHeader, RequestHeader, WatcherEvent,
};

fuzz_target!(|data: &[u8]| {
    let frames = FrameReader::new(4096);
    let mut rest = data;
    let mut first = true;
    while let Ok(Some((used, payload))) = frames.next_frame(rest) {
        assert!(used >= 4 && used <= rest.len());
        rest = &rest[used..];
        if std::mem::take(&mut first) {
            let _ = ConnectRequest::from_bytes(payload);
            let _ = ConnectResponse::from_bytes(payload);
            continue;
        }
        let mut r = Reader::new(payload);
        if let Ok(h) = RequestHeader::decode(&mut r) {
            let _ = Request::decode(h.op_type, &mut r);
        }
        let mut r = Reader::new(payload);
        if let Ok(h) = ReplyHeader::decode(&mut r) {
            if h.xid == -1 {
                let _ = WatcherEvent::decode(&mut r);
            }
        }
    }
});
