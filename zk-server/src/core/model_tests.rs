//! Model-based property tests of the data tree: random creates, deletes, setData and multis go
//! through prepare + apply and through a `BTreeMap` model; results and state must agree, and
//! replaying the logged transactions on a fresh tree must rebuild the same tree.

use std::collections::BTreeMap;

use proptest::prelude::*;
use zk_core::proto::{CreateRequest, DeleteRequest, SetDataRequest};
use zk_core::txn::{TxnBody, TxnHeader};
use zk_core::{Acl, ErrorCode, Id, Request, SessionId, Zxid};

use super::prepare::{PrepContext, Preparer};
use super::tree::{DataTree, TxnResult};

#[derive(Debug, Clone)]
enum Op {
    Create(usize, Option<Vec<u8>>, bool),
    Delete(usize, i32),
    Set(usize, Vec<u8>, i32),
    Multi(Vec<Op>),
}

const PATHS: [&str; 7] = ["/a", "/b", "/a/x", "/a/y", "/b/x", "/a/x/z", "/c/q"];

fn op() -> impl Strategy<Value = Op> {
    let leaf = prop_oneof![
        (
            0..PATHS.len(),
            proptest::option::of(proptest::collection::vec(any::<u8>(), 0..4)),
            any::<bool>()
        )
            .prop_map(|(p, d, e)| Op::Create(p, d, e)),
        (0..PATHS.len(), -1..3i32).prop_map(|(p, v)| Op::Delete(p, v)),
        (
            0..PATHS.len(),
            proptest::collection::vec(any::<u8>(), 0..4),
            -1..3i32
        )
            .prop_map(|(p, d, v)| Op::Set(p, d, v)),
    ];
    prop_oneof![
        4 => leaf.clone(),
        1 => proptest::collection::vec(leaf, 0..4).prop_map(Op::Multi),
    ]
}

fn request(op: &Op) -> Request {
    match op {
        Op::Create(p, d, e) => Request::Create(CreateRequest {
            path: PATHS[*p].into(),
            data: d.clone().map(Into::into),
            acl: Acl::open_unsafe(),
            flags: i32::from(*e),
        }),
        Op::Delete(p, v) => Request::Delete(DeleteRequest {
            path: PATHS[*p].into(),
            version: *v,
        }),
        Op::Set(p, d, v) => Request::SetData(SetDataRequest {
            path: PATHS[*p].into(),
            data: Some(d.clone().into()),
            version: *v,
        }),
        Op::Multi(ops) => Request::Multi(ops.iter().map(request).collect()),
    }
}

/// The model: path -> (data, version, ephemeral).
type Model = BTreeMap<String, (Option<Vec<u8>>, i32, bool)>;

fn parent(p: &str) -> &str {
    zk_core::path::parent(p)
}

/// Applies one op to the model; returns the error code.
fn model_apply(m: &mut Model, op: &Op) -> ErrorCode {
    match op {
        Op::Create(p, d, e) => {
            let p = PATHS[*p];
            let par = parent(p);
            if par != "/" && !m.contains_key(par) {
                return ErrorCode::NoNode;
            }
            if m.contains_key(p) {
                return ErrorCode::NodeExists;
            }
            if par != "/" && m[par].2 {
                return ErrorCode::NoChildrenForEphemerals;
            }
            m.insert(p.into(), (d.clone(), 0, *e));
            ErrorCode::Ok
        }
        Op::Delete(p, v) => {
            let p = PATHS[*p];
            let par = parent(p);
            if par != "/" && !m.contains_key(par) {
                return ErrorCode::NoNode;
            }
            let Some(n) = m.get(p) else {
                return ErrorCode::NoNode;
            };
            if *v != -1 && *v != n.1 {
                return ErrorCode::BadVersion;
            }
            if m.keys().any(|k| parent(k) == p && k != p) {
                return ErrorCode::NotEmpty;
            }
            m.remove(p);
            ErrorCode::Ok
        }
        Op::Set(p, d, v) => {
            let Some(n) = m.get_mut(PATHS[*p]) else {
                return ErrorCode::NoNode;
            };
            if *v != -1 && *v != n.1 {
                return ErrorCode::BadVersion;
            }
            n.0 = Some(d.clone());
            n.1 += 1;
            ErrorCode::Ok
        }
        Op::Multi(ops) => {
            let mut copy = m.clone();
            for o in ops {
                let e = model_apply(&mut copy, o);
                if e != ErrorCode::Ok {
                    return e;
                }
            }
            *m = copy;
            ErrorCode::Ok
        }
    }
}

fn first_error(r: &TxnResult) -> ErrorCode {
    match r {
        TxnResult::Error(e) => *e,
        TxnResult::Multi(rs) => rs
            .iter()
            .map(first_error)
            .find(|e| *e != ErrorCode::Ok)
            .unwrap_or(ErrorCode::Ok),
        _ => ErrorCode::Ok,
    }
}

/// Everything observable about a tree, in a canonical order.
pub(crate) fn canonical(t: &DataTree) -> Vec<String> {
    let mut v: Vec<String> = t
        .iter()
        .map(|(p, n)| {
            let mut c = n.children();
            c.sort();
            format!("{p} {:?} {:?} {:?} {c:?}", n.data, n.stat, n.acl)
        })
        .collect();
    v.sort();
    v.push(format!(
        "last={:?} sessions={:?}",
        t.last_zxid(),
        t.sessions()
    ));
    v
}

proptest! {
    #[test]
    fn tree_matches_model_and_replays(ops in proptest::collection::vec(op(), 1..60)) {
        let mut tree = DataTree::new();
        let mut model = Model::new();
        let mut log: Vec<(TxnHeader, TxnBody)> = Vec::new();
        let ids = [Id::new("ip", "127.0.0.1")];
        for (i, op) in ops.iter().enumerate() {
            let zxid = Zxid(i as i64 + 1);
            let ctx = PrepContext {
                session: SessionId(42),
                ids: &ids,
                zxid,
                time: 1000 + i as i64,
                extended_types: true,
                reconfig_enabled: false,
                ensemble: None,
                sasl_scheme: false,
                skip_acl: false,
                internal: false,
            };
            let req = request(op);
            let (txn_type, body) = Preparer::new(&tree, ctx).prepare(&req);
            let header = TxnHeader { client_id: SessionId(42), cxid: i as i32, zxid, time: ctx.time, txn_type };
            let result = tree.apply(&header, &body, &mut Vec::new());
            let expected = model_apply(&mut model, op);
            prop_assert_eq!(first_error(&result), expected, "op {:?}", op);
            log.push((header, body));
            for (p, (data, version, eph)) in &model {
                let n = tree.node(p).expect("model node exists in tree");
                prop_assert_eq!(n.data.as_deref(), data.as_deref());
                prop_assert_eq!(n.stat.version, *version);
                prop_assert_eq!(n.stat.ephemeral_owner != 0, *eph);
            }
            prop_assert_eq!(tree.node_count(), model.len() + 4);
        }
        // Replay: the same transactions rebuild the same tree.
        let mut replayed = DataTree::new();
        for (h, b) in &log {
            replayed.apply(h, b, &mut Vec::new());
        }
        prop_assert_eq!(canonical(&replayed), canonical(&tree));
        // And the encoded transactions decode to the same thing.
        for (h, b) in &log {
            let bytes = zk_core::jute::Encode::to_bytes(b);
            prop_assert_eq!(&TxnBody::decode(h.txn_type, &bytes).expect("decodes"), b);
        }
    }
}
