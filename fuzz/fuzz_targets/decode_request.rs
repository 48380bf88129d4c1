//! Request bodies: the first 4 bytes pick the op code, the rest is the body. A body that decodes
//! must re-encode into bytes that decode to the same request.
#![no_main]
use libfuzzer_sys::fuzz_target;
use zk_core::jute::{Encode, Reader};
use zk_core::message::Request;

fuzz_target!(|data: &[u8]| {
    if data.len() < 4 {
        return;
    }
    let op = i32::from_be_bytes([data[0], data[1], data[2], data[3]]);
    if let Ok(req) = Request::decode(op, &mut Reader::new(&data[4..])) {
        let bytes = req.to_bytes();
        let again = Request::decode(req.op_code().as_i32(), &mut Reader::new(&bytes))
            .expect("re-encoded request decodes");
        assert_eq!(again, req);
    }
});
