//! Reply bodies: the first byte picks the op code of the request being answered, the rest is the
//! body. A body that decodes must re-encode into bytes that decode to the same response.
#![no_main]
use libfuzzer_sys::fuzz_target;
use zk_core::jute::{Encode, Reader};
use zk_core::message::Response;
use zk_core::OpCode;

const OPS: &[i32] = &[
    1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 100, 101, 102, 103,
    104, 105, 106, 107, -11,
];

fuzz_target!(|data: &[u8]| {
    let Some((&first, body)) = data.split_first() else {
        return;
    };
    let op = OpCode::from_i32(OPS[first as usize % OPS.len()]).expect("listed op codes exist");
    if let Ok(resp) = Response::decode(op, &mut Reader::new(body)) {
        let bytes = resp.to_bytes();
        let again =
            Response::decode(op, &mut Reader::new(&bytes)).expect("re-encoded response decodes");
        assert_eq!(again, resp);
    }
});
