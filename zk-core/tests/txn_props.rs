//! Property tests of whole transactions: every [`TxnBody`] kind (a multi of them included)
//! round-trips through its encoding, and through a [`TxnEntry`] with and without a digest;
//! arbitrary bytes never make the decoders panic.

use bytes::Bytes;
use proptest::prelude::*;
use zk_core::data::{Acl, Id};
use zk_core::jute::{Encode, Reader};
use zk_core::txn::*;
use zk_core::{SessionId, Zxid};

fn s() -> impl Strategy<Value = String> {
    "[/a-z0-9é_.-]{0,12}"
}
fn data() -> impl Strategy<Value = Option<Bytes>> {
    proptest::option::of(proptest::collection::vec(any::<u8>(), 0..24).prop_map(Bytes::from))
}
fn acls() -> impl Strategy<Value = Vec<Acl>> {
    let acl = (any::<i32>(), s(), s()).prop_map(|(perms, scheme, id)| Acl {
        perms,
        id: Id { scheme, id },
    });
    proptest::collection::vec(acl, 0..3)
}

/// A sub-transaction of a multi as Apache ZooKeeper writes one: (type, body).
fn op() -> impl Strategy<Value = (i32, TxnBody)> {
    prop_oneof![
        (
            s(),
            data(),
            acls(),
            any::<bool>(),
            any::<i32>(),
            prop_oneof![Just(1), Just(15)]
        )
            .prop_map(|(path, data, acl, ephemeral, parent_cversion, ty)| (
                ty,
                TxnBody::Create(CreateTxn {
                    path,
                    data,
                    acl,
                    ephemeral,
                    parent_cversion
                })
            )),
        (s(), data(), acls(), any::<i32>(), any::<i64>()).prop_map(
            |(path, data, acl, parent_cversion, ttl)| (
                21,
                TxnBody::CreateTtl(CreateTtlTxn {
                    path,
                    data,
                    acl,
                    parent_cversion,
                    ttl
                })
            )
        ),
        (s(), data(), acls(), any::<i32>()).prop_map(|(path, data, acl, parent_cversion)| (
            19,
            TxnBody::CreateContainer(CreateContainerTxn {
                path,
                data,
                acl,
                parent_cversion
            })
        )),
        (s(), prop_oneof![Just(2), Just(20)])
            .prop_map(|(path, ty)| (ty, TxnBody::Delete(DeleteTxn { path }))),
        (s(), data(), any::<i32>(), prop_oneof![Just(5), Just(16)]).prop_map(
            |(path, data, version, ty)| (
                ty,
                TxnBody::SetData(SetDataTxn {
                    path,
                    data,
                    version
                })
            )
        ),
        (s(), any::<i32>())
            .prop_map(|(path, version)| (13, TxnBody::Check(CheckVersionTxn { path, version }))),
        any::<i32>().prop_map(|err| (-1, TxnBody::Error(ErrorTxn { err }))),
    ]
}

/// Any top-level transaction: a single op, a session change or a multi.
fn txn() -> impl Strategy<Value = (i32, TxnBody)> {
    prop_oneof![
        4 => op(),
        1 => (s(), acls(), any::<i32>()).prop_map(|(path, acl, version)| (
            7,
            TxnBody::SetAcl(SetAclTxn { path, acl, version })
        )),
        1 => any::<i32>().prop_map(|timeout_ms| (
            -10,
            TxnBody::CreateSession(CreateSessionTxn { timeout_ms })
        )),
        1 => proptest::collection::vec(s(), 0..4).prop_map(|paths_to_delete| (
            -11,
            TxnBody::CloseSession(CloseSessionTxn { paths_to_delete })
        )),
        2 => proptest::collection::vec(op(), 0..5).prop_map(|subs| (14, TxnBody::Multi(subs))),
    ]
}

proptest! {
    #[test]
    fn bodies_and_entries_round_trip(
        (ty, body) in txn(),
        zxid in any::<i64>(),
        digest in proptest::option::of((any::<i32>(), any::<i64>())),
    ) {
        let bytes = body.to_bytes();
        prop_assert_eq!(TxnBody::decode(ty, &bytes).unwrap(), body.clone());
        let header = TxnHeader {
            client_id: SessionId(zxid ^ 0x55),
            cxid: zxid as i32,
            zxid: Zxid(zxid),
            time: zxid.wrapping_mul(3),
            txn_type: ty,
        };
        let digest = digest.map(|(version, tree_digest)| TxnDigest { version, tree_digest });
        let entry = TxnEntry::new(header, &body, digest);
        prop_assert_eq!(&entry.record[..], &bytes[..]);
        let wire = entry.to_bytes();
        prop_assert_eq!(wire.len(), 32 + bytes.len() + if entry.digest.is_some() { DIGEST_LEN } else { 0 });
        let back = TxnEntry::decode(&wire).unwrap();
        prop_assert_eq!(&back, &entry);
        prop_assert_eq!(back.body().unwrap(), body);
    }

    #[test]
    fn arbitrary_bytes_never_panic(ty in -12i32..23, bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let _ = TxnBody::decode(ty, &bytes);
        let _ = TxnBody::read(ty, &mut Reader::new(&bytes));
        if let Ok(e) = TxnEntry::decode(&bytes) {
            prop_assert_eq!(e.to_bytes(), bytes);
        }
    }
}
