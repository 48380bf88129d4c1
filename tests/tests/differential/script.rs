// The differential script, shared verbatim by both runs (included by server_differential.rs).

const SUPER: &str = "super:test";

fn digest(user: &str, pw: &str) -> String {
    zk_core::auth::digest_id_for(user, pw)
}

fn script(r: &mut Runner) {
    r.connect(1);
    r.connect(2);
    basics(r);
    sequential_and_kinds(r);
    reads(r);
    writes_and_watches(r);
    acls(r);
    multis(r);
    persistent_watches(r);
    watch_removal(r);
    many_children(r);
    random_ops(r, 0x5eed, 260);
    random_findings(r);
    sessions(r);
    protocol_errors(r);
}

fn basics(r: &mut Runner) {
    r.call(0, create("/d", Some(b"x"), 0));
    r.call(0, create("/d", Some(b"x"), 0));
    r.call(0, create("/nope/x", None, 0));
    r.call(0, create("d", None, 0));
    r.call(0, create("/d/", None, 0));
    r.call(0, create("/d/bad\u{0}x", None, 0));
    r.call(0, create("/d/x/", None, 0));
    r.call(0, create("/d/.", None, 0));
    r.call(0, create("/d//x", None, 0));
    r.call(0, create("/d/f", None, 7));
    r.call(0, create("/d/f", None, -1));
    r.call(0, Request::Create(create_req("/d/f", None, vec![], 0)));
    r.call(0, Request::Create(create_req("/d/f", None, vec![acl(31, "world", "foo")], 0)));
    r.call(0, Request::Create(create_req("/d/f", None, Acl::creator_all(), 0)));
    r.call(0, Request::Create(create_req("/d/f", None, vec![acl(31, "nosuch", "x")], 0)));
    r.call(0, Request::Create(create_req("/d/f", None, vec![acl(31, "digest", "nocolon")], 0)));
    r.call(0, Request::Create(create_req("/d/f", None, vec![acl(31, "ip", "999.1.1.1")], 0)));
    r.call(0, Request::Create(create_req("/nope/f", None, vec![], 0)));
    r.call(0, create2("/d/n", None, 0));
    r.call(0, create2("/d/empty", Some(b""), 0));
    r.call(0, get("/d/n", false));
    r.call(0, get("/d/empty", false));
    r.call(0, create2("/d/e", Some(b"eph"), 1));
    r.call(0, create2("/d/e/x", None, 0));
    r.call(0, create2("/nope/e/x", None, 0));
    r.call(0, create2("/d/e", None, 0));
    r.call(0, exists("/d/e", false));
}

fn sequential_and_kinds(r: &mut Runner) {
    for _ in 0..3 {
        r.call(0, create("/d/s-", None, 2));
    }
    r.call(1, create2("/d/es-", Some(b"1"), 3));
    r.call(0, create("/d/", None, 2));
    r.call(0, delete("/d/s-0000000006", -1));
    r.call(0, create2("/d/s-", None, 2));
    r.call(0, Request::CreateContainer(create_req("/d/cont", Some(b"c"), Acl::open_unsafe(), 4)));
    r.call(0, Request::CreateContainer(create_req("/d/cont", Some(b"c"), Acl::open_unsafe(), 4)));
    r.call(0, create("/d/cont/child", None, 0));
    r.call(0, create("/d/c1", None, 4));
    r.call(0, exists("/d/c1", false));
    r.call(0, ttl("/d/ttl", 5, 60_000));
    r.call(0, ttl("/d/ttls-", 6, 1000));
    r.call(0, ttl("/d/ttl2", 0, 60_000));
    r.call(0, ttl("/d/ttl2", 5, 0));
    r.call(0, ttl("/d/ttl2", 5, -5));
    r.call(0, ttl("/d/ttl2", 1, 10));
    r.call(0, ttl("/d/ttl2", 4, 10));
    r.call(0, create("/d/ttl3", None, 5));
    r.call(0, create("/d/ttl3", None, 6));
    r.call(0, exists("/d/ttl", false));
    r.call(0, children2("/d", false));
}

fn reads(r: &mut Runner) {
    r.call(0, create("/", None, 0));
    r.call(0, create2("/", None, 2));
    r.call(0, Request::GetAllChildrenNumber(GetAllChildrenNumberRequest { path: "/zookeeper".into() }));
    for timeout in [0, -5, 3999, 40001, i32::MAX] {
        let mut c = RawClient::open(r.addr).expect("open");
        let resp = c
            .handshake(&ConnectRequest {
                protocol_version: 7,
                last_zxid_seen: Zxid(0),
                timeout_ms: timeout,
                session_id: SessionId(0),
                passwd: vec![0u8; 16].into(),
                read_only: Some(true),
            })
            .expect("handshake");
        r.log.push(format!("timeout {timeout} -> {} ro={:?}", resp.timeout_ms, resp.read_only));
        r.sessions.push(resp.session_id);
        let _ = c.call(&Request::CloseSession);
    }
    r.call(0, exists("/", false));
    r.call(0, exists("/zookeeper", false));
    r.call(0, get("/zookeeper/config", false));
    r.call(0, get("/zookeeper/quota", false));
    r.call(0, children2("/zookeeper", false));
    r.call(0, get_acl("/zookeeper/config"));
    r.call(0, get_acl("/"));
    r.call(0, exists("/missing", false));
    r.call(0, exists("/bad\u{0}", false));
    r.call(0, exists("bad", false));
    r.call(0, get("/missing", false));
    r.call(0, get("bad", false));
    r.call(0, children("/missing", false));
    r.call(0, children2("/missing", false));
    r.call(0, get_acl("/missing"));
    r.call(0, Request::GetAllChildrenNumber(GetAllChildrenNumberRequest { path: "/".into() }));
    r.call(0, Request::GetAllChildrenNumber(GetAllChildrenNumberRequest { path: "/d".into() }));
    r.call(0, Request::GetAllChildrenNumber(GetAllChildrenNumberRequest { path: "/missing".into() }));
    for p in [None, Some(""), Some("/"), Some("/d"), Some("/d/e"), Some("/x")] {
        r.call(0, Request::GetEphemerals(GetEphemeralsRequest { prefix_path: p.map(String::from) }));
        r.call(1, Request::GetEphemerals(GetEphemeralsRequest { prefix_path: p.map(String::from) }));
    }
    r.call(0, Request::Sync(SyncRequest { path: "/d".into() }));
    r.call(0, Request::Sync(SyncRequest { path: "/missing".into() }));
    r.call(0, Request::WhoAmI);
    r.call(0, Request::Ping);
    r.call(0, Request::Reconfig(ReconfigRequest {
        joining_servers: Some("server.2=127.0.0.1:2888:3888;2181".into()),
        leaving_servers: None,
        new_members: None,
        cur_config_id: -1,
    }));
    r.call(0, get("/zookeeper/config", false));
    r.call(0, set("/zookeeper/config", b"x", -1));
    r.call(0, set("/zookeeper/quota", b"x", -1));
    r.call(0, delete("/zookeeper/quota", -1));
    r.call(0, delete("/zookeeper", -1));
    r.call(0, delete("/", -1));
}

fn writes_and_watches(r: &mut Runner) {
    r.call(0, get("/d", true));
    r.call(1, get("/d", true));
    r.call(1, exists("/d/new", true));
    r.call(2, children("/d", true));
    r.call(2, exists("/d/n", true));
    r.call(0, set("/d", b"v1", -1));
    r.call(0, set("/d", b"v2", 1));
    r.call(0, set("/d", b"v3", 7));
    r.call(0, set("/missing", b"v", -1));
    r.call(0, set("bad", b"v", -1));
    r.call(0, set("/d/", b"v", -1));
    r.call(0, Request::SetData(SetDataRequest { path: "/d/n".into(), data: None, version: 0 }));
    r.call(0, create("/d/new", Some(b"n"), 0));
    r.call(0, delete("/d", -1));
    r.call(0, delete("/missing", -1));
    r.call(0, delete("/missing/x", -1));
    r.call(0, delete("/d/new", 5));
    r.call(0, delete("bad", -1));
    r.call(0, delete("/d/new/", -1));
    r.call(1, get("/d/new", true));
    r.call(2, children("/d/new", true));
    r.call(0, delete("/d/new", 0));
    r.call(0, exists("/d/new", false));
    r.call(0, delete("/d/cont/child", -1));
    r.call(0, children2("/d/cont", false));
    r.call(0, exists("/d", true));
    r.call(0, set("/d", b"v4", -1));
    r.call(0, set("/d", b"v5", -1));
}

fn acls(r: &mut Runner) {
    let alice = digest("alice", "pw");
    r.call(0, create_acl("/acl", vec![acl(1 | 2 | 16, "digest", &alice), acl(1, "world", "anyone")]));
    r.call(0, create_acl("/acl2", vec![acl(31, "digest", &alice)]));
    r.call(0, create_acl("/aclip", vec![acl(31, "ip", "127.0.0.1")]));
    r.call(0, create_acl("/aclnet", vec![acl(31, "ip", "127.0.0.0/8")]));
    r.call(0, create_acl("/aclother", vec![acl(31, "ip", "10.1.2.3"), acl(1, "ip", "10.0.0.0/8")]));
    r.call(0, create_acl("/acldup", vec![acl(31, "world", "anyone"), acl(31, "world", "anyone")]));
    r.call(0, get_acl("/acldup"));
    r.call(1, set("/acl", b"no", -1));
    r.call(1, get("/acl", false));
    r.call(1, get_acl("/acl"));
    r.call(1, get_acl("/acl2"));
    r.call(1, get("/acl2", false));
    r.call(1, exists("/acl2", false));
    r.call(1, children("/acl2", false));
    r.call(1, create("/acl2/c", None, 0));
    r.call(1, create("/acl/c", None, 0));
    r.call(1, delete("/acl2/c", -1));
    r.call(1, get("/aclip", false));
    r.call(1, get("/aclnet", false));
    r.call(1, get("/aclother", false));
    r.call(1, set_acl("/acl", Acl::open_unsafe(), -1));
    r.call(2, auth("digest", "alice:pw"));
    r.call(2, Request::WhoAmI);
    r.call(2, set("/acl", b"yes", -1));
    r.call(2, get_acl("/acl"));
    r.call(2, get("/acl2", false));
    r.call(2, create("/acl2/c", None, 0));
    r.call(2, create("/acl/c", None, 0));
    r.call(2, Request::Create2(create_req("/authacl", Some(b"a"), Acl::creator_all(), 0)));
    r.call(2, get_acl("/authacl"));
    r.call(2, set_acl("/acl", vec![acl(31, "digest", &alice)], 5));
    r.call(2, set_acl("/acl", vec![], -1));
    r.call(2, set_acl("/acl", vec![acl(31, "bad", "x")], -1));
    r.call(2, set_acl("/missing", Acl::open_unsafe(), -1));
    r.call(2, set_acl("bad", Acl::open_unsafe(), -1));
    r.call(2, set_acl("/acl", vec![acl(31, "digest", &alice), acl(1, "world", "anyone")], 0));
    r.call(2, set_acl("/acl", Acl::creator_all(), 1));
    r.call(1, get_acl("/acl"));
    r.call(2, auth("digest", "bob:pw2"));
    r.call(2, Request::WhoAmI);
    r.call(2, Request::Create2(create_req("/authacl2", Some(b"a"), Acl::creator_all(), 0)));
    r.call(2, get_acl("/authacl2"));
    r.call(1, auth("digest", "nocolon"));
    r.call(1, auth("digest", "a:b:c"));
    r.call(1, auth("digest", ""));
    r.call(1, Request::WhoAmI);
    r.call(1, auth("digest", SUPER));
    r.call(1, get("/acl2", false));
    r.call(1, get_acl("/acl2"));
    r.call(1, set("/aclother", b"super", -1));
    r.call(1, Request::WhoAmI);
    r.call(1, delete("/acl2/c", -1));
}

fn multis(r: &mut Runner) {
    r.call(0, Request::Multi(vec![
        create("/m", Some(b"m"), 0),
        create2("/m/a", None, 0),
        Request::CreateContainer(create_req("/m/c", None, Acl::open_unsafe(), 4)),
        ttl("/m/t", 5, 5000),
        set("/m", b"m2", 0),
        check("/m", 1),
        create("/m/s-", None, 2),
        delete("/m/a", -1),
    ]));
    r.call(0, Request::Multi(vec![
        create("/m/b", None, 0),
        check("/m", 9),
        set("/m", b"never", -1),
    ]));
    r.call(0, Request::Multi(vec![create("/m/b", None, 0), delete("/m/b", -1), delete("/m/b", -1)]));
    r.call(0, Request::Multi(vec![create("/m/e", None, 1), create("/m/e/x", None, 0)]));
    r.call(0, Request::Multi(vec![check("/missing", -1)]));
    r.call(0, Request::Multi(vec![check("/m", -1), set("/acl2", b"x", -1)]));
    r.call(0, Request::Multi(vec![create("/m/x", None, 0), create("/m/x", None, 0)]));
    r.call(0, Request::Multi(vec![]));
    r.call(0, Request::Multi(vec![delete("/m/c", -1), delete("/m/t", -1), delete("/m/s-0000000003", -1), delete("/m", -1)]));
    r.call(0, Request::MultiRead(vec![
        get("/d", false),
        children("/d", false),
        get("/missing", false),
        children("/missing", false),
        get("/acl2", false),
        children("/acl2", false),
    ]));
    r.call(0, Request::MultiRead(vec![]));
    r.call(1, get("/m", true));
    r.call(1, children("/", true));
    r.call(0, Request::Multi(vec![create("/m", Some(b"again"), 0), create("/m/z", None, 0), set("/m", b"z", -1)]));
    r.call(0, Request::Multi(vec![delete("/m/z", -1), delete("/m", -1)]));
}

fn persistent_watches(r: &mut Runner) {
    r.call(0, create("/p", None, 0));
    r.call(1, add_watch("/p", 1));
    r.call(2, add_watch("/p", 0));
    r.call(2, add_watch("/p/a", 0));
    r.call(0, create("/p/a", Some(b"1"), 0));
    r.call(0, create("/p/a/b", Some(b"1"), 0));
    r.call(0, set("/p/a/b", b"2", -1));
    r.call(0, set("/p", b"2", -1));
    r.call(0, set("/p/a", b"2", -1));
    r.call(0, create("/p/a/b/c", None, 0));
    r.call(0, delete("/p/a/b/c", -1));
    r.call(0, delete("/p/a/b", -1));
    r.call(0, delete("/p/a", -1));
    r.call(0, create("/p/a", None, 0));
    r.call(0, create_acl("/p/secret", vec![acl(31, "digest", &digest("alice", "pw"))]));
    r.call(0, set_acl("/p", Acl::open_unsafe(), -1));
    r.call(1, check_watches("/p", 3));
    r.call(1, check_watches("/p", 1));
    r.call(1, check_watches("/p/a", 3));
    r.call(2, check_watches("/p", 2));
    r.call(1, add_watch("/p", 2));
    // Removing part of a persistent watch (3.8: the modes live in both managers).
    r.call(1, remove_watches("/p", 1));
    r.call(1, check_watches("/p", 2));
    r.call(1, check_watches("/p", 1));
    r.call(0, create("/p/after-remove", None, 0));
    r.call(1, remove_watches("/p", 2));
    r.call(1, check_watches("/p", 3));
    r.call(0, create("/p/after-remove2", None, 0));
    r.call(2, remove_watches("/p", 2));
    r.call(2, check_watches("/p", 1));
    r.call(0, set("/p", b"x", -1));
    r.call(0, create("/p/after-remove3", None, 0));
    r.call(2, remove_watches("/p", 3));
    r.call(2, check_watches("/p/a", 2));
    r.call(2, remove_watches("/p/a", 1));
    r.call(2, check_watches("/p/a", 3));
    r.call(1, add_watch("/p", 1));
    r.call(2, add_watch("/p", 0));
    // Modes interfere in 3.8: a standard watch overwrites the persistent mode of the entry.
    r.call(2, get("/p", true));
    r.call(0, set("/p", b"i1", -1));
    r.call(0, set("/p", b"i2", -1));
    r.call(0, create("/p/i", None, 0));
    r.call(2, children("/p", true));
    r.call(0, create("/p/j", None, 0));
    r.call(0, create("/p/k", None, 0));
    r.call(2, add_watch("/p", 0));
    r.call(1, get("/p/i", true));
    r.call(1, exists("/p/i/deep", true));
    r.call(0, create("/p/i/deep", None, 0));
    r.call(0, set("/p/i", b"x", -1));
    r.call(0, set("/p/i", b"y", -1));
    r.call(1, children("/p", true));
    r.call(0, delete("/p/i/deep", -1));
    r.call(0, delete("/p/i", -1));
    r.call(0, delete("/p/j", -1));
    r.call(1, add_watch("/p/k", 0));
    r.call(0, delete("/p/k", -1));
    r.call(0, create("/p/k", None, 0));
    r.call(1, check_watches("/p/k", 3));
    r.call(2, check_watches("/p/k", 1));
}

fn watch_removal(r: &mut Runner) {
    r.call(0, create("/w", None, 0));
    r.call(1, get("/w", true));
    r.call(1, children("/w", true));
    r.call(1, check_watches("/w", 1));
    r.call(1, check_watches("/w", 2));
    r.call(1, remove_watches("/w", 1));
    r.call(1, remove_watches("/w", 1));
    r.call(1, check_watches("/w", 3));
    r.call(1, remove_watches("/w", 3));
    r.call(1, remove_watches("/w", 3));
    r.call(1, remove_watches("/missing", 2));
    r.call(1, exists("/w/later", true));
    r.call(1, remove_watches("/w/later", 2));
    r.call(0, create("/w/later", None, 0));
    r.call(0, set("/w", b"x", -1));
    r.call(0, delete("/w/later", -1));
}

fn many_children(r: &mut Runner) {
    r.call(0, create("/many", None, 0));
    for i in 0..40 {
        r.call(0, create(&format!("/many/n{}", i * 7 % 40), Some(b"v"), 0));
    }
    r.call(0, children2("/many", false));
    for i in (0..40).step_by(3) {
        r.call(0, delete(&format!("/many/n{i}"), -1));
    }
    r.call(0, children("/many", false));
    for i in 0..12 {
        r.call(0, create("/many/q-", None, 2));
        r.call(0, create(&format!("/many/m{i}"), None, 1));
    }
    r.call(0, children2("/many", false));
    r.call(0, Request::GetAllChildrenNumber(GetAllChildrenNumberRequest { path: "/many".into() }));
    r.call(0, Request::GetEphemerals(GetEphemeralsRequest { prefix_path: Some("/many".into()) }));
}

/// A seeded pseudo-random mix of every data operation over a small path space, from three
/// sessions, with watches.
fn random_ops(r: &mut Runner, seed: u64, n: usize) {
    let mut s = seed;
    let mut next = |m: u64| {
        s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (s >> 33) % m
    };
    r.call(0, create("/r", None, 0));
    let names = ["/r/a", "/r/b", "/r/a/x", "/r/a/y", "/r/b/x", "/r/c"];
    for _ in 0..n {
        let c = next(3) as usize;
        let p = names[next(names.len() as u64) as usize];
        let v = next(4) as i32 - 1;
        let req = match next(12) {
            0 | 1 => create2(p, Some(b"r"), [0, 0, 1, 2][next(4) as usize]),
            2 => delete(p, v),
            3 => set(p, b"rs", v),
            4 => get(p, next(2) == 0),
            5 => exists(p, next(2) == 0),
            6 => children2(p, next(2) == 0),
            7 => Request::Multi(vec![create(p, None, 0), set(p, b"m", v), delete(p, -1)]),
            8 => Request::Multi(vec![check(p, v), create(&format!("{p}/mm"), None, 0)]),
            9 => set_acl(p, Acl::open_unsafe(), v),
            10 => Request::MultiRead(vec![get(p, false), children(p, false)]),
            _ => Request::GetAllChildrenNumber(GetAllChildrenNumberRequest { path: p.into() }),
        };
        r.call(c, req);
    }
    r.call(0, children2("/r", false));
}

/// Divergences server_random_differential.rs found, kept as fixed cases. S1 is a super user by
/// now, S2 is alice (and bob), S0 has no auth.
fn random_findings(r: &mut Runner) {
    // Reads do not validate their path, and "" names the root (DataTree keeps it under "" and
    // "/"); getAllChildrenNumber("") counts the "/" key too.
    r.call(0, exists("", false));
    r.call(0, get("", false));
    r.call(0, children2("", false));
    r.call(0, get_acl(""));
    r.call(0, Request::GetAllChildrenNumber(GetAllChildrenNumberRequest { path: "".into() }));
    r.call(0, Request::GetAllChildrenNumber(GetAllChildrenNumberRequest { path: "/".into() }));
    r.call(0, Request::MultiRead(vec![get("", false), children("", false)]));
    // A multi rebuilds each create from its flags (Op.create): the container flag makes any
    // create record a createContainer (create2 result); a createTTL record without a TTL flag
    // is a plain create (ttl ignored).
    r.call(1, create("/rf", None, 0));
    r.call(1, Request::Multi(vec![create("/rf/c", Some(b"c"), 4), create2("/rf/p", None, 0)]));
    r.call(1, Request::Multi(vec![ttl("/rf/t0", 0, 100), ttl("/rf/t1", 1, -7), ttl("/rf/t3-", 3, 0)]));
    r.call(1, Request::Multi(vec![ttl("/rf/t4", 4, 100), ttl("/rf/t9", 9, 100)]));
    r.call(1, children2("/rf", false));
    // A create record with a TTL flag is typed createTTL without a TTL record: the whole multi
    // fails with MarshallingError, also after a successful op; not when an earlier op failed.
    r.call(1, Request::Multi(vec![create("/rf/m", None, 0), create("/rf/n", None, 5)]));
    r.call(1, Request::Multi(vec![create2("/rf/n", None, 6)]));
    r.call(1, Request::Multi(vec![delete("/rf/missing", -1), create("/rf/n", None, 5)]));
    r.call(1, exists("/rf/m", false));
    // A multiRead of writes fails in its read loop: MarshallingError with an empty result list;
    // one mixing reads and writes, or carrying a setACL, fails to deserialize: no body.
    r.call(1, Request::MultiRead(vec![create("/rf/mr", None, 0), delete("/rf/p", -1)]));
    r.call(1, Request::MultiRead(vec![get("/rf", false), create("/rf/mr", None, 0)]));
    r.call(1, Request::MultiRead(vec![get("/rf", false), set_acl("/rf", Acl::open_unsafe(), -1)]));
    r.call(1, Request::Multi(vec![create("/rf/mr", None, 0), set_acl("/rf", Acl::open_unsafe(), -1)]));
    r.call(1, exists("/rf/mr", false));
    // Events only reach connections with READ on the node's ACL as the event fires (the
    // parent's for NodeChildrenChanged), whatever the watch mode; the watch is consumed anyway.
    r.call(1, create("/rf/w", Some(b"w"), 0));
    r.call(1, create("/rf/w/k", None, 0));
    r.call(0, get("/rf/w", true));
    r.call(0, children("/rf/w", true));
    r.call(0, add_watch("/rf/w", 1));
    r.call(2, get("/rf/w", true));
    r.call(2, get("/rf/w/k", true));
    let alice = digest("alice", "pw");
    r.call(1, set_acl("/rf/w", vec![acl(30, "world", "anyone"), acl(1, "digest", &alice)], -1));
    r.call(1, set_acl("/rf/w/k", vec![acl(30, "world", "anyone")], -1));
    r.call(1, set("/rf/w", b"x", -1));
    r.call(1, create("/rf/w/j", None, 0));
    r.call(1, delete("/rf/w/k", -1));
    r.call(1, set_acl("/rf/w", Acl::open_unsafe(), -1));
    r.call(1, set("/rf/w", b"y", -1));
    r.call(0, check_watches("/rf/w", 2));
    r.call(0, remove_watches("/rf/w", 3));
    // checkWatches walks PathParentIterator: never a watch on "", an exception (-5) on a path
    // without '/', even with a watch on it; removeWatches does not walk.
    r.call(0, exists("", true));
    r.call(0, exists("rel", true));
    r.call(0, check_watches("", 2));
    r.call(0, check_watches("", 3));
    r.call(0, check_watches("rel", 2));
    r.call(0, check_watches("rel", 1));
    r.call(0, remove_watches("rel", 2));
    r.call(0, remove_watches("", 3));
    // A session's ephemerals come in the order of the HashSet clone getEphemerals iterates
    // (a table sized for the members), not of the set itself.
    r.call(2, create("/rd31", None, 0));
    r.call(2, create("/rd31/x", None, 0));
    r.call(2, create("/rd31/x/y0000000000", None, 1));
    r.call(2, create("/rd31/x0000000001", None, 1));
    r.call(2, Request::GetEphemerals(GetEphemeralsRequest { prefix_path: Some("/rd31".into()) }));
    // The session's set keeps its table size when emptied (until the session closes): after 13
    // ephemerals it has 32 buckets, which orders k0 and k107 (one bucket of the clone's 4).
    r.call(2, create("/eph", None, 0));
    for i in 0..13 {
        r.call(2, create(&format!("/eph/f{i}"), None, 1));
    }
    for i in 0..13 {
        r.call(2, delete(&format!("/eph/f{i}"), -1));
    }
    r.call(2, create("/eph/k0", None, 1));
    r.call(2, create("/eph/k107", None, 1));
    r.call(2, Request::GetEphemerals(GetEphemeralsRequest { prefix_path: Some("/eph".into()) }));
    // Quota statistics: writes below a path with a limits node update the data (only) of its
    // stats node; creating the stats node recounts the subtree.
    r.call(0, create("/zookeeper/quota/q", None, 0));
    r.call(0, create("/zookeeper/quota/q/zookeeper_limits", Some(b"count=10,bytes=1000"), 0));
    r.call(0, create("/q", Some(b"root"), 0));
    r.call(0, create("/zookeeper/quota/q/zookeeper_stats", Some(b"count=0,bytes=0"), 0));
    r.call(0, get("/zookeeper/quota/q/zookeeper_stats", false));
    r.call(0, create("/q/a", Some(b"xyz"), 0));
    r.call(0, get("/zookeeper/quota/q/zookeeper_stats", false));
    r.call(0, set("/q/a", b"abcdef", -1));
    r.call(0, get("/zookeeper/quota/q/zookeeper_stats", false));
    r.call(0, delete("/q/a", -1));
    r.call(0, get("/zookeeper/quota/q/zookeeper_stats", false));
    r.call(0, get("/zookeeper/quota/q/zookeeper_limits", false));
    // A nested quota takes the writes below it; deleting the outer limits node ends only the
    // outer quota. Stats with other keys are written back as StatsTrack formats them.
    r.call(0, create("/q/b", Some(b"bb"), 0));
    r.call(0, create("/zookeeper/quota/q/b", None, 0));
    r.call(0, create("/zookeeper/quota/q/b/zookeeper_limits", Some(b"count=-1,bytes=-1"), 0));
    r.call(0, create("/zookeeper/quota/q/b/zookeeper_stats", Some(b"count=9,bytes=9,zz=3"), 0));
    r.call(0, get("/zookeeper/quota/q/b/zookeeper_stats", false));
    r.call(0, create("/q/b/c", Some(b"ccc"), 0));
    r.call(0, create("/q/d", None, 0));
    r.call(0, get("/zookeeper/quota/q/b/zookeeper_stats", false));
    r.call(0, get("/zookeeper/quota/q/zookeeper_stats", false));
    r.call(0, set("/zookeeper/quota/q/b/zookeeper_stats", b"count=1,bytes=2,aa=1", -1));
    r.call(0, set("/q/b/c", b"c", -1));
    r.call(0, get("/zookeeper/quota/q/b/zookeeper_stats", false));
    r.call(0, delete("/zookeeper/quota/q/zookeeper_limits", -1));
    r.call(0, create("/q/b/e", Some(b"e"), 0));
    r.call(0, get("/zookeeper/quota/q/b/zookeeper_stats", false));
    r.call(0, get("/zookeeper/quota/q/zookeeper_stats", false));
    // whoAmI lists every id: one user authenticated with two passwords shows twice.
    r.call(0, auth("digest", "carol:one"));
    r.call(0, auth("digest", "carol:two"));
    r.call(0, auth("digest", "carol:one"));
    r.call(0, Request::WhoAmI);
}

fn sessions(r: &mut Runner) {
    // Session 3 owns ephemerals that others watch, then closes.
    r.connect(3);
    r.call(3, create("/sess", None, 0));
    r.call(3, create("/sess/e1", None, 1));
    r.call(3, create("/sess/e2", None, 1));
    r.call(3, create("/sess/es-", None, 3));
    r.call(0, get("/sess/e1", true));
    r.call(0, children("/sess", true));
    r.call(1, exists("/sess/e2", true));
    r.call(3, Request::GetEphemerals(GetEphemeralsRequest { prefix_path: None }));
    r.call_closing(3, OpCode::CloseSession.as_i32(), Request::CloseSession);
    r.call(0, children2("/sess", false));
    // Resume session 0 on a new connection: the old one is closed, watches re-armed with
    // setWatches and setWatches2, missed events delivered.
    r.call(0, get("/sess", true));
    r.call(0, get("/d", true));
    let (sid, passwd, last) = {
        let c = r.client(0);
        (c.session_id, c.passwd.clone(), r.base)
    };
    let _ = last;
    let ping = r.client(1).call(&Request::Ping).expect("ping");
    let rel = ping.last().map_or(Zxid(0), |p| p.header.zxid);
    r.call(1, set("/d", b"while-away", -1));
    r.call(1, create("/sess/new", None, 0));
    let mut c = RawClient::open(r.addr).expect("open");
    let resp = c
        .handshake(&ConnectRequest {
            protocol_version: 0,
            last_zxid_seen: rel,
            timeout_ms: 30000,
            session_id: sid,
            passwd: passwd.clone().into(),
            read_only: Some(false),
        })
        .expect("resume");
    r.log.push(format!(
        "resume timeout={} same_session={} passwd={}",
        resp.timeout_ms,
        resp.session_id == sid,
        resp.passwd.len()
    ));
    // The old connection for session 0 must have been closed by the server.
    {
        let old = r.client(0);
        old.set_read_timeout(Duration::from_millis(500)).unwrap();
        let closed = old.is_closed();
        r.log.push(format!("old connection closed={closed}"));
    }
    r.clients[0] = Some(c);
    r.call(0, Request::SetWatches(SetWatches {
        relative_zxid: rel,
        data_watches: vec!["/d".into(), "/sess".into(), "/gone".into()],
        exist_watches: vec!["/sess/new".into(), "/sess/never".into()],
        child_watches: vec!["/sess".into(), "/d".into(), "/gone".into()],
    }));
    r.call(0, Request::SetWatches2(SetWatches2 {
        relative_zxid: rel,
        data_watches: vec!["/r".into()],
        exist_watches: vec![],
        child_watches: vec!["/r".into()],
        persistent_watches: vec!["/w".into()],
        persistent_recursive_watches: vec!["/sess".into()],
    }));
    r.call(1, create("/sess/never", None, 0));
    r.call(1, create("/w/p", None, 0));
    r.call(1, set("/w", b"pw", -1));
    r.call(1, create("/sess/never/deep", None, 0));
    // Resume with a wrong password, an unknown session, and a zxid from the future.
    for (session, pw, zxid) in [
        (sid, vec![1u8; 16], Zxid(0)),
        (SessionId(sid.0 ^ 0x7777), passwd.clone(), Zxid(0)),
        (sid, passwd.clone(), Zxid(rel.0 + 100_000)),
    ] {
        let mut c = RawClient::open(r.addr).expect("open");
        c.set_read_timeout(Duration::from_secs(3)).unwrap();
        match c.handshake(&ConnectRequest {
            protocol_version: 0,
            last_zxid_seen: zxid,
            timeout_ms: 30000,
            session_id: session,
            passwd: pw.into(),
            read_only: Some(false),
        }) {
            Ok(resp) => {
                let closed = c.is_closed();
                r.log.push(format!(
                    "bad resume: timeout={} sid={} passwd={:?} ro={:?} closed={closed}",
                    resp.timeout_ms, resp.session_id.0, resp.passwd, resp.read_only
                ));
            }
            Err(e) => r.log.push(format!("bad resume: no answer ({:?})", e.kind() == std::io::ErrorKind::UnexpectedEof)),
        }
    }
    // A wrong password still takes the session away from its current connection.
    if r.clients[0].as_mut().is_some_and(|c| c.call(&Request::Ping).is_err()) {
        r.log.push("session 0 connection closed by a bad resume".into());
        r.clients[0] = None;
    } else {
        r.log.push("session 0 connection kept".into());
    }
    // Old clients send no readOnly byte and get none back.
    let mut c = RawClient::open(r.addr).expect("open");
    let resp = c
        .handshake(&ConnectRequest {
            protocol_version: 0,
            last_zxid_seen: Zxid(0),
            timeout_ms: 1,
            session_id: SessionId(0),
            passwd: vec![0u8; 16].into(),
            read_only: None,
        })
        .expect("old client");
    r.log.push(format!("old client: timeout={} ro={:?}", resp.timeout_ms, resp.read_only));
    r.clients.push(Some(c));
    r.sessions.push(resp.session_id);
    let i = r.clients.len() - 1;
    r.call(i, create("/old", None, 1));
    r.call(i, exists("/old", false));
    // Close it now: its 4 s timeout must not expire at a timing-dependent point of the script.
    r.call_closing(i, OpCode::CloseSession.as_i32(), Request::CloseSession);
    r.connect(5.max(i + 1));
    let j = r.clients.len() - 1;
    r.call(j, Request::GetEphemerals(GetEphemeralsRequest { prefix_path: None }));
    r.connect(0);
}

fn protocol_errors(r: &mut Runner) {
    let last = r.clients.len() - 1;
    // Top-level check: prepared like a write; failures are answered, a pass is not.
    r.call(last, check("/missing", -1));
    r.call(last, check("/d", 99));
    r.call(last, check("bad", -1));
    r.call(last, check("/acl2", -1));
    r.send_only(last, OpCode::Check.as_i32(), check("/d", -1));
    r.call(last, Request::Ping);
    r.call(last, exists("/d", false));
    // Unknown op codes: err -6, then the connection is closed.
    r.call_closing(last, 99, Request::Ping);
    r.connect(last);
    r.call_closing(last, 0, Request::Ping);
    r.connect(last);
    // Auth with an unknown scheme: AuthFailed, then closed.
    r.call_closing(last, OpCode::Auth.as_i32(), auth("nosuch", "x"));
    r.connect(last);
    for scheme in ["ip", "world", "sasl", "super", "auth", "x509"] {
        r.call_closing(last, OpCode::Auth.as_i32(), auth(scheme, "whatever"));
        if r.clients[last].is_none() {
            r.connect(last);
        }
        r.call(last, Request::WhoAmI);
    }
    r.call_closing(last, OpCode::Sasl.as_i32(), Request::Sasl(GetSaslRequest { token: Some(vec![].into()) }));
    if r.clients[last].is_none() {
        r.connect(last);
    }
    // deleteContainer from a client.
    r.call(last, Request::CreateContainer(create_req("/dc", None, Acl::open_unsafe(), 4)));
    r.call(last, create("/dc/x", None, 0));
    r.call(last, Request::DeleteContainer(DeleteContainerRequest { path: "/dc".into() }));
    r.call(last, delete("/dc/x", -1));
    r.call(last, Request::DeleteContainer(DeleteContainerRequest { path: "/dc".into() }));
    r.call(last, Request::DeleteContainer(DeleteContainerRequest { path: "/dc".into() }));
    r.call(last, create("/dce", None, 1));
    r.call(last, Request::DeleteContainer(DeleteContainerRequest { path: "/dce".into() }));
    // An oversize frame length closes only that connection.
    r.connect(last + 1);
    let big = (0x10_0000i32).to_be_bytes();
    let c = r.client(last + 1);
    c.send_raw(&big).unwrap();
    c.set_read_timeout(Duration::from_secs(5)).unwrap();
    let closed = c.is_closed();
    r.log.push(format!("oversize frame closed={closed}"));
    r.clients[last + 1] = None;
    let neg = (-5i32).to_be_bytes();
    r.connect(last + 1);
    let c = r.client(last + 1);
    c.send_raw(&neg).unwrap();
    let closed = c.is_closed();
    r.log.push(format!("negative frame closed={closed}"));
    r.clients[last + 1] = None;
    r.call(last, Request::Ping);
    r.call(last, exists("/dce", false));
    malformed(r, last);
    r.call_closing(last, OpCode::CloseSession.as_i32(), Request::CloseSession);
    r.call(0, exists("/dce", false));
}

/// Bodies no well-behaved client sends.
fn malformed(r: &mut Runner, i: usize) {
    // A multi with an invalid create flag, and one mixing reads and writes.
    r.call(i, Request::Multi(vec![create("/mf", None, 9)]));
    let mut body = Vec::new();
    MultiHeader { op_type: 1, done: false, err: -1 }.encode(&mut body);
    create_req("/mix", None, Acl::open_unsafe(), 0).encode(&mut body);
    MultiHeader { op_type: 4, done: false, err: -1 }.encode(&mut body);
    GetDataRequest { path: "/d".into(), watch: false }.encode(&mut body);
    MultiHeader { op_type: -1, done: true, err: -1 }.encode(&mut body);
    r.call_raw(i, 14, &body);
    r.call(i, exists("/mix", false));
    // A multi with a read op, a multiRead with a write op.
    let mut body = Vec::new();
    MultiHeader { op_type: 4, done: false, err: -1 }.encode(&mut body);
    GetDataRequest { path: "/d".into(), watch: false }.encode(&mut body);
    MultiHeader { op_type: -1, done: true, err: -1 }.encode(&mut body);
    r.call_raw(i, 14, &body);
    let mut body = Vec::new();
    MultiHeader { op_type: 1, done: false, err: -1 }.encode(&mut body);
    create_req("/mr", None, Acl::open_unsafe(), 0).encode(&mut body);
    MultiHeader { op_type: -1, done: true, err: -1 }.encode(&mut body);
    r.call_raw(i, 22, &body);
    // Trailing bytes after a getData body are ignored; a truncated one is not a getData.
    let mut body = GetDataRequest { path: "/d".into(), watch: false }.to_bytes();
    body.extend_from_slice(&[1, 2, 3]);
    r.call_raw(i, 4, &body);
    r.call(i, Request::Ping);
    r.call(i, check_watches("/d", 9));
    r.connect(i);
    r.call(i, remove_watches("/d", 0));
    r.connect(i);
    r.call(i, Request::GetEphemerals(GetEphemeralsRequest { prefix_path: Some("/d".into()) }));
    // setData with a null path is the same as an empty path: not valid.
    r.call_raw(i, 5, &[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
    r.connect(i);
    r.call_raw(i, 4, &[0, 0, 0, 2, b'/', b'd']);
    r.connect(i);
    r.call(i, Request::Ping);
}
