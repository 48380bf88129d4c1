//! Transaction log entries: a TxnHeader followed by the record its type names, as recovery reads
//! them. Nothing may panic, and a multi's sub-transactions are decoded too.
#![no_main]
use libfuzzer_sys::fuzz_target;
use zk_core::jute::{Decode, Reader};
use zk_core::txn::*;

fn body(txn_type: i32, r: &mut Reader<'_>) {
    match txn_type {
        1 => drop(CreateTxn::decode(r)),
        2 | 20 => drop(DeleteTxn::decode(r)),
        5 => drop(SetDataTxn::decode(r)),
        7 => drop(SetAclTxn::decode(r)),
        13 => drop(CheckVersionTxn::decode(r)),
        19 => drop(CreateContainerTxn::decode(r)),
        21 => drop(CreateTtlTxn::decode(r)),
        -10 => drop(CreateSessionTxn::decode(r)),
        -11 => drop(CloseSessionTxn::decode(r)),
        -1 => drop(ErrorTxn::decode(r)),
        14 => {
            if let Ok(m) = MultiTxn::decode(r) {
                for t in m.txns {
                    if t.txn_type != 14 {
                        body(t.txn_type, &mut Reader::new(&t.data));
                    }
                }
            }
        }
        _ => {}
    }
}

fuzz_target!(|data: &[u8]| {
    let mut r = Reader::new(data);
    let _ = FileHeader::decode(&mut Reader::new(data));
    if let Ok(h) = TxnHeader::decode(&mut r) {
        body(h.txn_type, &mut r);
        let _ = TxnDigest::decode(&mut r);
    }
});
