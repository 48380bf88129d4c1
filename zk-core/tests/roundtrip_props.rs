//! Property tests: every record, request and response round-trips through encode and decode,
//! and decoding arbitrary bytes never panics.

use bytes::Bytes;
use proptest::prelude::*;
use zk_core::data::{Acl, ClientInfo, Id, Stat, StatPersisted};
use zk_core::jute::{Decode, Encode, Reader};
use zk_core::message::{MultiResult, Request, Response};
use zk_core::proto::*;
use zk_core::txn::*;
use zk_core::{ErrorCode, OpCode, SessionId, Zxid};

fn s() -> impl Strategy<Value = String> {
    "[/a-z0-9é_.-]{0,12}"
}
fn data() -> impl Strategy<Value = Option<Bytes>> {
    proptest::option::of(proptest::collection::vec(any::<u8>(), 0..24).prop_map(Bytes::from))
}
fn bytes() -> impl Strategy<Value = Bytes> {
    proptest::collection::vec(any::<u8>(), 0..24).prop_map(Bytes::from)
}
fn strings() -> impl Strategy<Value = Vec<String>> {
    proptest::collection::vec(s(), 0..4)
}
fn zxid() -> impl Strategy<Value = Zxid> {
    any::<i64>().prop_map(Zxid)
}
fn acl() -> impl Strategy<Value = Acl> {
    (any::<i32>(), s(), s()).prop_map(|(perms, scheme, id)| Acl {
        perms,
        id: Id { scheme, id },
    })
}
fn acls() -> impl Strategy<Value = Vec<Acl>> {
    proptest::collection::vec(acl(), 0..3)
}
fn stat() -> impl Strategy<Value = Stat> {
    (
        (zxid(), zxid(), any::<i64>(), any::<i64>()),
        (any::<i32>(), any::<i32>(), any::<i32>(), any::<i64>()),
        (any::<i32>(), any::<i32>(), zxid()),
    )
        .prop_map(|((cz, mz, ct, mt), (v, cv, av, eo), (dl, nc, pz))| Stat {
            czxid: cz,
            mzxid: mz,
            ctime: ct,
            mtime: mt,
            version: v,
            cversion: cv,
            aversion: av,
            ephemeral_owner: SessionId(eo),
            data_length: dl,
            num_children: nc,
            pzxid: pz,
        })
}
fn create() -> impl Strategy<Value = CreateRequest> {
    (s(), data(), acls(), 0..7i32).prop_map(|(path, data, acl, flags)| CreateRequest {
        path,
        data,
        acl,
        flags,
    })
}

fn write_op() -> impl Strategy<Value = Request> {
    prop_oneof![
        create().prop_map(Request::Create),
        create().prop_map(Request::Create2),
        create().prop_map(Request::CreateContainer),
        (create(), any::<i64>()).prop_map(|(c, ttl)| Request::CreateTtl(CreateTtlRequest {
            path: c.path,
            data: c.data,
            acl: c.acl,
            flags: c.flags,
            ttl
        })),
        (s(), any::<i32>())
            .prop_map(|(path, version)| Request::Delete(DeleteRequest { path, version })),
        (s(), data(), any::<i32>()).prop_map(|(path, data, version)| Request::SetData(
            SetDataRequest {
                path,
                data,
                version
            }
        )),
        (s(), any::<i32>())
            .prop_map(|(path, version)| Request::Check(CheckVersionRequest { path, version })),
    ]
}

fn read_op() -> impl Strategy<Value = Request> {
    prop_oneof![
        (s(), any::<bool>())
            .prop_map(|(path, watch)| Request::GetData(GetDataRequest { path, watch })),
        (s(), any::<bool>())
            .prop_map(|(path, watch)| Request::GetChildren(GetChildrenRequest { path, watch })),
    ]
}

fn request() -> impl Strategy<Value = Request> {
    prop_oneof![
        write_op(),
        read_op(),
        proptest::collection::vec(write_op(), 0..4).prop_map(Request::Multi),
        proptest::collection::vec(read_op(), 0..4).prop_map(Request::MultiRead),
        (s(), any::<bool>())
            .prop_map(|(path, watch)| Request::Exists(ExistsRequest { path, watch })),
        (s(), any::<bool>())
            .prop_map(|(path, watch)| Request::GetChildren2(GetChildren2Request { path, watch })),
        s().prop_map(|path| Request::GetAcl(GetAclRequest { path })),
        (s(), acls(), any::<i32>())
            .prop_map(|(path, acl, version)| Request::SetAcl(SetAclRequest { path, acl, version })),
        s().prop_map(|path| Request::Sync(SyncRequest { path })),
        Just(Request::Ping),
        Just(Request::WhoAmI),
        Just(Request::CloseSession),
        (
            proptest::option::of(s()),
            proptest::option::of(s()),
            proptest::option::of(s()),
            any::<i64>()
        )
            .prop_map(|(j, l, n, c)| Request::Reconfig(ReconfigRequest {
                joining_servers: j,
                leaving_servers: l,
                new_members: n,
                cur_config_id: c
            })),
        (s(), any::<i32>()).prop_map(|(path, t)| Request::CheckWatches(CheckWatchesRequest {
            path,
            watcher_type: t
        })),
        (s(), any::<i32>()).prop_map(|(path, t)| Request::RemoveWatches(RemoveWatchesRequest {
            path,
            watcher_type: t
        })),
        s().prop_map(|path| Request::DeleteContainer(DeleteContainerRequest { path })),
        (any::<i32>(), s(), bytes()).prop_map(|(auth_type, scheme, auth)| Request::Auth(
            AuthPacket {
                auth_type,
                scheme,
                auth
            }
        )),
        (zxid(), strings(), strings(), strings()).prop_map(|(z, d, e, c)| Request::SetWatches(
            SetWatches {
                relative_zxid: z,
                data_watches: d,
                exist_watches: e,
                child_watches: c
            }
        )),
        (
            zxid(),
            strings(),
            strings(),
            strings(),
            strings(),
            strings()
        )
            .prop_map(|(z, d, e, c, p, pr)| Request::SetWatches2(SetWatches2 {
                relative_zxid: z,
                data_watches: d,
                exist_watches: e,
                child_watches: c,
                persistent_watches: p,
                persistent_recursive_watches: pr
            })),
        data().prop_map(|token| Request::Sasl(GetSaslRequest { token })),
        proptest::option::of(s())
            .prop_map(|prefix_path| Request::GetEphemerals(GetEphemeralsRequest { prefix_path })),
        s().prop_map(|path| Request::GetAllChildrenNumber(GetAllChildrenNumberRequest { path })),
        (s(), any::<i32>())
            .prop_map(|(path, mode)| Request::AddWatch(AddWatchRequest { path, mode })),
    ]
}

fn error_code() -> impl Strategy<Value = ErrorCode> {
    any::<i32>().prop_map(ErrorCode::from_i32)
}

fn multi_result() -> impl Strategy<Value = MultiResult> {
    prop_oneof![
        s().prop_map(MultiResult::Create),
        (s(), stat()).prop_map(|(path, stat)| MultiResult::Create2(Create2Response { path, stat })),
        Just(MultiResult::Delete),
        stat().prop_map(MultiResult::SetData),
        Just(MultiResult::Check),
        (data(), stat())
            .prop_map(|(data, stat)| MultiResult::GetData(GetDataResponse { data, stat })),
        strings().prop_map(MultiResult::GetChildren),
        error_code().prop_map(MultiResult::Error),
    ]
}

/// A response together with an op code whose reply has that shape.
fn response() -> impl Strategy<Value = (OpCode, Response)> {
    prop_oneof![
        Just((OpCode::Delete, Response::Empty)),
        s().prop_map(|path| (OpCode::Create, Response::Create(CreateResponse { path }))),
        (s(), stat()).prop_map(|(path, stat)| (
            OpCode::Create2,
            Response::Create2(Create2Response { path, stat })
        )),
        stat().prop_map(|stat| (OpCode::Exists, Response::Exists(ExistsResponse { stat }))),
        (data(), stat()).prop_map(|(data, stat)| (
            OpCode::GetData,
            Response::GetData(GetDataResponse { data, stat })
        )),
        stat().prop_map(|stat| (OpCode::SetData, Response::SetData(SetDataResponse { stat }))),
        (acls(), stat()).prop_map(|(acl, stat)| (
            OpCode::GetAcl,
            Response::GetAcl(GetAclResponse { acl, stat })
        )),
        stat().prop_map(|stat| (OpCode::SetAcl, Response::SetAcl(SetAclResponse { stat }))),
        strings().prop_map(|children| (
            OpCode::GetChildren,
            Response::GetChildren(GetChildrenResponse { children })
        )),
        (strings(), stat()).prop_map(|(children, stat)| (
            OpCode::GetChildren2,
            Response::GetChildren2(GetChildren2Response { children, stat })
        )),
        s().prop_map(|path| (OpCode::Sync, Response::Sync(SyncResponse { path }))),
        proptest::collection::vec(multi_result(), 0..5)
            .prop_map(|r| (OpCode::Multi, Response::Multi(r))),
        data().prop_map(|token| (OpCode::Sasl, Response::Sasl(SetSaslResponse { token }))),
        strings().prop_map(|ephemerals| (
            OpCode::GetEphemerals,
            Response::GetEphemerals(GetEphemeralsResponse { ephemerals })
        )),
        any::<i32>().prop_map(|total_number| (
            OpCode::GetAllChildrenNumber,
            Response::GetAllChildrenNumber(GetAllChildrenNumberResponse { total_number })
        )),
        Just((
            OpCode::AddWatch,
            Response::AddWatch(ErrorResponse { err: 0 })
        )),
        proptest::collection::vec((s(), s()), 0..3).prop_map(|v| (
            OpCode::WhoAmI,
            Response::WhoAmI(WhoAmIResponse {
                client_info: v
                    .into_iter()
                    .map(|(auth_scheme, user)| ClientInfo { auth_scheme, user })
                    .collect()
            })
        )),
    ]
}

fn round_trip<T: Encode + Decode + PartialEq + std::fmt::Debug>(v: &T) {
    let bytes = v.to_bytes();
    assert_eq!(&T::from_bytes(&bytes).unwrap(), v);
}

proptest! {
    #[test]
    fn requests_round_trip(req in request()) {
        let bytes = req.to_bytes();
        let mut r = Reader::new(&bytes);
        let back = Request::decode(req.op_code().as_i32(), &mut r).unwrap();
        prop_assert!(r.is_empty());
        prop_assert_eq!(back, req);
    }

    #[test]
    fn responses_round_trip((op, resp) in response()) {
        let bytes = resp.to_bytes();
        let mut r = Reader::new(&bytes);
        let back = Response::decode(op, &mut r).unwrap();
        prop_assert!(r.is_empty());
        prop_assert_eq!(back, resp);
    }

    #[test]
    fn records_round_trip(st in stat(), a in acl(), z in zxid(), path in s(), d in data(), b in bytes(), ro in proptest::option::of(any::<bool>()), t in any::<i32>()) {
        round_trip(&st);
        round_trip(&a);
        round_trip(&StatPersisted { czxid: z, mzxid: st.mzxid, ctime: st.ctime, mtime: st.mtime, version: st.version, cversion: st.cversion, aversion: st.aversion, ephemeral_owner: st.ephemeral_owner.0, pzxid: st.pzxid });
        round_trip(&ConnectRequest { protocol_version: t, last_zxid_seen: z, timeout_ms: t, session_id: SessionId(z.0), passwd: b.clone(), read_only: ro });
        round_trip(&ConnectResponse { protocol_version: 0, timeout_ms: t, session_id: SessionId(z.0), passwd: b.clone(), read_only: ro });
        round_trip(&ReplyHeader { xid: t, zxid: z, err: t });
        round_trip(&RequestHeader { xid: t, op_type: t });
        round_trip(&WatcherEvent { event_type: t, state: t, path: path.clone() });
        round_trip(&TxnHeader { client_id: SessionId(z.0), cxid: t, zxid: z, time: z.0, txn_type: t });
        round_trip(&CreateTxn { path: path.clone(), data: d.clone(), acl: vec![a.clone()], ephemeral: ro.unwrap_or(false), parent_cversion: t });
        round_trip(&CreateTtlTxn { path: path.clone(), data: d.clone(), acl: vec![], parent_cversion: t, ttl: z.0 });
        round_trip(&CreateContainerTxn { path: path.clone(), data: d.clone(), acl: vec![a], parent_cversion: t });
        round_trip(&SetDataTxn { path: path.clone(), data: d, version: t });
        round_trip(&CloseSessionTxn { paths_to_delete: vec![path.clone(), path] });
        round_trip(&MultiTxn { txns: vec![Txn { txn_type: t, data: b }] });
        round_trip(&FileHeader { magic: FileHeader::LOG_MAGIC, version: 2, dbid: z.0 });
    }

    #[test]
    fn arbitrary_bytes_never_panic(op in -20i32..120, bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let _ = Request::decode(op, &mut Reader::new(&bytes));
        if let Some(op) = OpCode::from_i32(op) {
            let _ = Response::decode(op, &mut Reader::new(&bytes));
        }
        let _ = ConnectRequest::from_bytes(&bytes);
        let _ = ConnectResponse::from_bytes(&bytes);
    }
}
