//! The SNAP stream decoder on arbitrary bytes, with a small maximum length: nothing may panic,
//! and the items it reads re-encode (with `SnapWriter`) to bytes that read back the same.
#![no_main]
use libfuzzer_sys::fuzz_target;
use zk_core::quorum::{SnapItem, SnapReader, SnapWriter};

fn read(data: &[u8]) -> Vec<SnapItem> {
    let mut r = SnapReader::new(4096);
    let mut at = 0;
    let mut out = Vec::new();
    while let Ok(Some((used, item))) = r.next_item(&data[at..]) {
        assert!(used > 0 && at + used <= data.len());
        at += used;
        out.push(item);
    }
    out
}

fuzz_target!(|data: &[u8]| {
    let items = read(data);
    if items.last() != Some(&SnapItem::End) {
        return;
    }
    let mut w = SnapWriter::new();
    let sessions: Vec<_> = items
        .iter()
        .filter_map(|i| match i {
            SnapItem::Session { session_id, timeout_ms } => Some((*session_id, *timeout_ms)),
            _ => None,
        })
        .collect();
    w.sessions(sessions);
    let acls: Vec<_> = items
        .iter()
        .filter_map(|i| match i {
            SnapItem::AclEntry { index, acl } => Some((*index, acl.as_slice())),
            _ => None,
        })
        .collect();
    w.acl_map(acls);
    for i in &items {
        if let SnapItem::Node { path, data, acl, stat } = i {
            w.node(path, data.as_deref(), *acl, stat);
        }
    }
    w.end();
    assert_eq!(read(w.bytes()), items);
});
