//! The load the Apache ZooKeeper interop test drives: every node type, ACLs, updates,
//! deletes, multis (one failing), failed writes, three sessions (one closed).

use std::collections::BTreeMap;

use bytes::Bytes;
use std::net::SocketAddr;
use zk_core::data::{Acl, Id};
use zk_core::proto::*;
use zk_core::{CreateMode, OpCode, Perms, Request, Response, SessionId};

use super::RawClient;

pub(crate) fn create(path: &str, data: Option<&[u8]>, acl: Vec<Acl>, mode: CreateMode) -> Request {
    let req = CreateRequest {
        path: path.into(),
        data: data.map(Bytes::copy_from_slice),
        acl,
        flags: mode.flag(),
    };
    match mode {
        CreateMode::Container => Request::CreateContainer(req),
        _ => Request::Create2(req),
    }
}

fn create_ttl(path: &str, mode: CreateMode, ttl: i64) -> Request {
    Request::CreateTtl(CreateTtlRequest {
        path: path.into(),
        data: Some(Bytes::from_static(b"ttl")),
        acl: Acl::open_unsafe(),
        flags: mode.flag(),
        ttl,
    })
}

fn set(path: &str, data: &str) -> Request {
    Request::SetData(SetDataRequest {
        path: path.into(),
        data: Some(Bytes::from(data.to_string())),
        version: -1,
    })
}

fn delete(path: &str) -> Request {
    Request::Delete(DeleteRequest {
        path: path.into(),
        version: -1,
    })
}

/// Runs the load; returns the expected count of each logged transaction type.
/// Writes the load on the server at `addr` (Apache ZooKeeper or zk-server).
pub(crate) fn load(addr: SocketAddr) -> (BTreeMap<i32, usize>, Vec<SessionId>, SessionId) {
    let open = Acl::open_unsafe;
    let mut a = RawClient::connect(addr, 30_000);
    let mut b = RawClient::connect(addr, 30_000);
    let mut c = RawClient::connect(addr, 40_000);
    let mut reqs: Vec<Request> = Vec::new();
    for top in ["/p", "/seq", "/eph", "/ttl", "/acl"] {
        reqs.push(create(top, Some(b"top"), open(), CreateMode::Persistent));
    }
    for i in 0..10 {
        reqs.push(create(
            &format!("/p/d{i}"),
            None,
            open(),
            CreateMode::Persistent,
        ));
        for j in 0..300 {
            let data = format!("value-{i}-{j}-{}", "x".repeat(40));
            reqs.push(create(
                &format!("/p/d{i}/n{j}"),
                Some(data.as_bytes()),
                open(),
                CreateMode::Persistent,
            ));
        }
    }
    for k in 0..200 {
        let data = (k % 2 == 1).then_some(&b"seq"[..]);
        reqs.push(create(
            "/seq/s-",
            data,
            open(),
            CreateMode::PersistentSequential,
        ));
    }
    for i in 0..10 {
        reqs.push(create(
            &format!("/cont{i}"),
            Some(b""),
            open(),
            CreateMode::Container,
        ));
        for j in 0..5 {
            reqs.push(create(
                &format!("/cont{i}/x{j}"),
                Some(b"c"),
                open(),
                CreateMode::Persistent,
            ));
        }
        reqs.push(delete(&format!("/cont{i}/x0")));
    }
    for k in 0..50 {
        reqs.push(create_ttl(
            &format!("/ttl/t{k}"),
            CreateMode::PersistentWithTtl,
            3_600_000 + k,
        ));
    }
    for _ in 0..10 {
        reqs.push(create_ttl(
            "/ttl/ts-",
            CreateMode::PersistentSequentialWithTtl,
            7_200_000,
        ));
    }
    let digest_acl = vec![
        Acl::new(
            Perms::ALL,
            Id::new("digest", "user:D/InIHSb7yEEbrWz8b9l71RjZJU="),
        ),
        Acl::new(Perms::READ, Id::anyone()),
    ];
    for k in 0..20 {
        reqs.push(create(
            &format!("/acl/a{k}"),
            Some(b"secret"),
            digest_acl.clone(),
            CreateMode::Persistent,
        ));
    }
    let ip_acl = vec![Acl::new(Perms::ALL, Id::new("ip", "127.0.0.1"))];
    for k in 0..10 {
        reqs.push(create(
            &format!("/acl/ip{k}"),
            Some(b"ip"),
            ip_acl.clone(),
            CreateMode::Persistent,
        ));
    }
    let rw = vec![Acl::new(Perms::READ | Perms::WRITE, Id::anyone())];
    for j in 0..50 {
        reqs.push(Request::SetAcl(SetAclRequest {
            path: format!("/p/d0/n{j}"),
            acl: rw.clone(),
            version: 0,
        }));
    }
    for i in 0..10 {
        for j in (0..300).step_by(3) {
            reqs.push(set(&format!("/p/d{i}/n{j}"), &format!("updated-{i}-{j}")));
            if j % 9 == 0 {
                reqs.push(set(&format!("/p/d{i}/n{j}"), ""));
            }
        }
    }
    for i in 0..10 {
        for j in (4..300).step_by(5) {
            reqs.push(delete(&format!("/p/d{i}/n{j}")));
        }
    }
    for k in 0..20 {
        reqs.push(Request::Multi(vec![
            create(
                &format!("/p/m{k}"),
                Some(b"multi"),
                open(),
                CreateMode::Persistent,
            ),
            set("/p/d1/n1", &format!("multi-{k}")),
            delete(&format!("/p/d2/n{}", 1 + 5 * k)),
            Request::Check(CheckVersionRequest {
                path: "/p".into(),
                version: -1,
            }),
        ]));
    }
    for k in 0..5 {
        reqs.push(Request::Multi(vec![
            create(&format!("/p/fail{k}"), None, open(), CreateMode::Persistent),
            Request::Check(CheckVersionRequest {
                path: "/p".into(),
                version: 12345,
            }),
        ]));
    }
    reqs.push(create("/p", None, open(), CreateMode::Persistent)); // NodeExists: an error txn
    reqs.push(delete("/p/nothing")); // NoNode: an error txn

    let mut counts: BTreeMap<i32, usize> = BTreeMap::new();
    *counts.entry(OpCode::CreateSession.as_i32()).or_default() += 3;
    let mut tally = |reqs: &[Request], replies: &[Result<Response, zk_core::ErrorCode>]| {
        for (req, rep) in reqs.iter().zip(replies) {
            let failed_multi = matches!(rep, Ok(Response::Multi(rs)) if rs.iter().any(|r| matches!(r, zk_core::MultiResult::Error(_))));
            let t = if rep.is_err() && req.op_code() != OpCode::Multi {
                OpCode::Error
            } else {
                req.op_code()
            };
            assert!(!failed_multi || t == OpCode::Multi);
            *counts.entry(t.as_i32()).or_default() += 1;
        }
    };
    let replies = a.pipeline(&reqs);
    let errors = replies.iter().filter(|r| r.is_err()).count();
    assert_eq!(errors, 2, "only the two planned failures");
    tally(&reqs, &replies);

    let mut eph = Vec::new();
    for k in 0..50 {
        eph.push(create(
            &format!("/eph/c{k}"),
            Some(b"c"),
            open(),
            CreateMode::Ephemeral,
        ));
    }
    for _ in 0..20 {
        eph.push(create(
            "/eph/cs-",
            Some(b"cs"),
            open(),
            CreateMode::EphemeralSequential,
        ));
    }
    let replies = c.pipeline(&eph);
    assert!(replies.iter().all(|r| r.is_ok()));
    tally(&eph, &replies);
    let eph_b: Vec<Request> = (0..50)
        .map(|k| {
            create(
                &format!("/eph/b{k}"),
                Some(b"b"),
                open(),
                CreateMode::Ephemeral,
            )
        })
        .collect();
    let replies = b.pipeline(&eph_b);
    assert!(replies.iter().all(|r| r.is_ok()));
    tally(&eph_b, &replies);
    let closed = b.session_id;
    b.close();
    *counts.entry(OpCode::CloseSession.as_i32()).or_default() += 1;
    // A and C stay open: their sessions and C's ephemerals must survive recovery.
    let live = vec![a.session_id, c.session_id];
    std::mem::forget(a);
    std::mem::forget(c);
    (counts, live, closed)
}
