//! Differential test: one scripted sequence of several hundred operations, sent over raw frames
//! to Apache ZooKeeper 3.8 and to zk-server; every reply (error codes, bodies, stats, data,
//! children in order, notifications on every session, handshake answers, closed connections)
//! must match. zxids are compared as offsets from the first one, times are zeroed and session
//! ids are replaced by the index of the script's session that owns them.

use std::net::SocketAddr;
use std::time::Duration;

use tests::raw::{RawClient, Reply};
use tests::ApacheZk;
use zk_core::data::Stat;
use zk_core::frame::write_frame;
use zk_core::jute::Encode;
use zk_core::proto::*;
use zk_core::{Acl, Id, MultiResult, OpCode, Perms, Request, Response, SessionId, Zxid};

struct Runner {
    addr: SocketAddr,
    clients: Vec<Option<RawClient>>,
    sessions: Vec<SessionId>,
    log: Vec<String>,
    base: i64,
}

fn zx(base: i64, z: Zxid) -> String {
    if z.0 <= 0 {
        format!("{}", z.0)
    } else {
        format!("+{}", z.0 - base)
    }
}

impl Runner {
    fn new(addr: SocketAddr) -> Runner {
        Runner {
            addr,
            clients: Vec::new(),
            sessions: Vec::new(),
            log: Vec::new(),
            base: 0,
        }
    }

    fn owner(&self, s: SessionId) -> String {
        if s.0 == 0 {
            return "0".into();
        }
        match self.sessions.iter().position(|x| *x == s) {
            Some(i) => format!("S{i}"),
            None => "S?".into(),
        }
    }

    fn stat(&self, s: &Stat) -> String {
        format!(
            "Stat(c{} m{} p{} v{} cv{} av{} eo{} dl{} nc{})",
            zx(self.base, s.czxid),
            zx(self.base, s.mzxid),
            zx(self.base, s.pzxid),
            s.version,
            s.cversion,
            s.aversion,
            self.owner(s.ephemeral_owner),
            s.data_length,
            s.num_children
        )
    }

    fn describe(&self, op: OpCode, r: &Reply) -> String {
        let h = &r.header;
        let mut s = format!("xid={} zxid={} err={}", h.xid, zx(self.base, h.zxid), h.err);
        if let Some(ev) = r.event() {
            return format!(
                "{s} event={} state={} path={}",
                ev.event_type, ev.state, ev.path
            );
        }
        if h.err != 0 {
            if !r.body.is_empty() {
                s.push_str(&format!(" extra={}", r.body.len()));
            }
            return s;
        }
        s.push_str(&format!(" len={}", r.body.len()));
        let body = match r.response(op) {
            None => format!("undecodable {:?}", r.body),
            Some(resp) => self.body(resp),
        };
        format!("{s} {body}")
    }

    fn body(&self, resp: Response) -> String {
        match resp {
            Response::Create2(c) => format!("create2 {} {}", c.path, self.stat(&c.stat)),
            Response::Exists(e) => format!("exists {}", self.stat(&e.stat)),
            Response::GetData(d) => format!("data {:?} {}", d.data, self.stat(&d.stat)),
            Response::SetData(d) => format!("setData {}", self.stat(&d.stat)),
            Response::SetAcl(d) => format!("setAcl {}", self.stat(&d.stat)),
            Response::GetAcl(a) => format!("acl {:?} {}", a.acl, self.stat(&a.stat)),
            Response::GetChildren2(c) => {
                format!("children2 {:?} {}", c.children, self.stat(&c.stat))
            }
            Response::GetEphemerals(e) => format!("ephemerals {:?}", e.ephemerals),
            Response::Sasl(t) => {
                // A SASL challenge's nonce is random: keep its length, mask its characters.
                let mut text = t.token.map(|b| String::from_utf8_lossy(&b).into_owned());
                if let Some(s) = text.as_mut() {
                    if let Some(start) = s.find("nonce=\"").map(|i| i + 7) {
                        if let Some(len) = s[start..].find('"') {
                            s.replace_range(start..start + len, &"#".repeat(len));
                        }
                    }
                }
                format!("sasl {text:?}")
            }
            Response::WhoAmI(w) => {
                let v: Vec<String> = w
                    .client_info
                    .iter()
                    .map(|c| format!("{}:{}", c.auth_scheme, c.user))
                    .collect();
                format!("whoami {v:?}")
            }
            Response::Multi(rs) => {
                let v: Vec<String> = rs
                    .into_iter()
                    .map(|m| match m {
                        MultiResult::Create2(c) => {
                            format!("create2 {} {}", c.path, self.stat(&c.stat))
                        }
                        MultiResult::SetData(st) => format!("setData {}", self.stat(&st)),
                        MultiResult::GetData(d) => {
                            format!("data {:?} {}", d.data, self.stat(&d.stat))
                        }
                        other => format!("{other:?}"),
                    })
                    .collect();
                format!("multi {v:?}")
            }
            other => format!("{other:?}"),
        }
    }

    fn client(&mut self, i: usize) -> &mut RawClient {
        self.clients[i].as_mut().expect("client slot is connected")
    }

    /// Connects slot `i` with a new session.
    fn connect(&mut self, i: usize) {
        let c = RawClient::connect(self.addr, 30000).expect("connect");
        while self.clients.len() <= i {
            self.clients.push(None);
        }
        if self.sessions.len() <= i {
            self.sessions.resize(i + 1, SessionId(0));
        }
        self.sessions[i] = c.session_id;
        self.log.push(format!(
            "S{i} connected timeout={} passwd={}",
            c.timeout_ms,
            c.passwd.len()
        ));
        self.clients[i] = Some(c);
    }

    /// Sends `req` from client `i` with op code `op`, logs every frame to its reply, and the
    /// notifications every other client got meanwhile.
    fn call_op(&mut self, i: usize, op: i32, req: Request) {
        self.call_inner(i, op, req, false);
    }

    /// Like [`Runner::call_op`], then checks whether the server closed the connection.
    fn call_closing(&mut self, i: usize, op: i32, req: Request) {
        self.call_inner(i, op, req, true);
    }

    /// Sends a request without waiting for an answer (Apache ZooKeeper never answers a
    /// passing top-level check).
    fn send_only(&mut self, i: usize, op: i32, req: Request) {
        self.log
            .push(format!("> S{i} op {op} {req:?} (no answer expected)"));
        let xid = self.client(i).next_xid();
        self.client(i).send(xid, op, &req).expect("send");
    }

    /// Sends a hand-made body under op code `op` and logs what comes back, including a close.
    fn call_raw(&mut self, i: usize, op: i32, body: &[u8]) {
        self.log
            .push(format!("> S{i} raw op {op} body {body:02x?}"));
        let xid = self.client(i).next_xid();
        let frame = raw_frame(|w| {
            w.extend_from_slice(&xid.to_be_bytes());
            w.extend_from_slice(&op.to_be_bytes());
            w.extend_from_slice(body);
        });
        self.client(i).send_raw(&frame).expect("send");
        let opc = OpCode::from_i32(op).unwrap_or(OpCode::Error);
        loop {
            match self.client(i).recv() {
                Ok(r) => {
                    let d = self.describe(opc, &r);
                    self.log.push(format!("  S{i} {d}"));
                    if r.header.xid == xid {
                        break;
                    }
                }
                Err(_) => {
                    self.log.push(format!("  S{i} closed"));
                    self.clients[i] = None;
                    return;
                }
            }
        }
        self.check_closed(i);
        self.drain_others(i);
    }

    fn call_inner(&mut self, i: usize, op: i32, req: Request, probe: bool) {
        let label = format!("S{i} {:?}", req)
            .chars()
            .take(160)
            .collect::<String>();
        self.log.push(format!("> {label}"));
        let xid = match req {
            Request::Ping => -2,
            Request::Auth(_) => -4,
            _ => self.client(i).next_xid(),
        };
        self.client(i).send(xid, op, &req).expect("send");
        let opc = OpCode::from_i32(op).unwrap_or(OpCode::Error);
        loop {
            match self.client(i).recv() {
                Ok(r) => {
                    let d = self.describe(opc, &r);
                    self.log.push(format!("  S{i} {d}"));
                    if r.header.xid == xid {
                        break;
                    }
                }
                Err(_) => {
                    self.log.push(format!("  S{i} closed"));
                    self.clients[i] = None;
                    return;
                }
            }
        }
        if probe {
            self.check_closed(i);
        }
        self.drain_others(i);
    }

    fn check_closed(&mut self, i: usize) {
        // A connection the server closes right after the reply (closeSession, -6, auth failure).
        let c = self.client(i);
        c.set_read_timeout(Duration::from_millis(150)).unwrap();
        let closed = c.is_closed();
        c.set_read_timeout(Duration::from_secs(10)).unwrap();
        if closed {
            self.log.push(format!("  S{i} closed"));
            self.clients[i] = None;
        }
    }

    fn drain_others(&mut self, i: usize) {
        for j in 0..self.clients.len() {
            if j == i || self.clients[j].is_none() {
                continue;
            }
            let frames = self.client(j).drain_notifications().unwrap_or_default();
            for r in frames {
                let d = self.describe(OpCode::Notification, &r);
                self.log.push(format!("  S{j} {d}"));
            }
        }
    }

    fn call(&mut self, i: usize, req: Request) {
        let op = req.op_code().as_i32();
        self.call_op(i, op, req);
    }
}

fn create_req(path: &str, data: Option<&[u8]>, acl: Vec<Acl>, flags: i32) -> CreateRequest {
    CreateRequest {
        path: path.into(),
        data: data.map(|d| d.to_vec().into()),
        acl,
        flags,
    }
}

fn create(path: &str, data: Option<&[u8]>, flags: i32) -> Request {
    Request::Create(create_req(path, data, Acl::open_unsafe(), flags))
}

fn create2(path: &str, data: Option<&[u8]>, flags: i32) -> Request {
    Request::Create2(create_req(path, data, Acl::open_unsafe(), flags))
}

fn create_acl(path: &str, acl: Vec<Acl>) -> Request {
    Request::Create2(create_req(path, Some(b"s"), acl, 0))
}

fn ttl(path: &str, flags: i32, ttl: i64) -> Request {
    Request::CreateTtl(CreateTtlRequest {
        path: path.into(),
        data: Some(b"t".to_vec().into()),
        acl: Acl::open_unsafe(),
        flags,
        ttl,
    })
}

fn get(path: &str, watch: bool) -> Request {
    Request::GetData(GetDataRequest {
        path: path.into(),
        watch,
    })
}

fn exists(path: &str, watch: bool) -> Request {
    Request::Exists(ExistsRequest {
        path: path.into(),
        watch,
    })
}

fn children(path: &str, watch: bool) -> Request {
    Request::GetChildren(GetChildrenRequest {
        path: path.into(),
        watch,
    })
}

fn children2(path: &str, watch: bool) -> Request {
    Request::GetChildren2(GetChildren2Request {
        path: path.into(),
        watch,
    })
}

fn set(path: &str, data: &[u8], version: i32) -> Request {
    Request::SetData(SetDataRequest {
        path: path.into(),
        data: Some(data.to_vec().into()),
        version,
    })
}

fn delete(path: &str, version: i32) -> Request {
    Request::Delete(DeleteRequest {
        path: path.into(),
        version,
    })
}

fn check(path: &str, version: i32) -> Request {
    Request::Check(CheckVersionRequest {
        path: path.into(),
        version,
    })
}

fn set_acl(path: &str, acl: Vec<Acl>, version: i32) -> Request {
    Request::SetAcl(SetAclRequest {
        path: path.into(),
        acl,
        version,
    })
}

fn get_acl(path: &str) -> Request {
    Request::GetAcl(GetAclRequest { path: path.into() })
}

fn auth(scheme: &str, cred: &str) -> Request {
    Request::Auth(AuthPacket {
        auth_type: 0,
        scheme: scheme.into(),
        auth: cred.as_bytes().to_vec().into(),
    })
}

fn add_watch(path: &str, mode: i32) -> Request {
    Request::AddWatch(AddWatchRequest {
        path: path.into(),
        mode,
    })
}

fn remove_watches(path: &str, ty: i32) -> Request {
    Request::RemoveWatches(RemoveWatchesRequest {
        path: path.into(),
        watcher_type: ty,
    })
}

fn check_watches(path: &str, ty: i32) -> Request {
    Request::CheckWatches(CheckWatchesRequest {
        path: path.into(),
        watcher_type: ty,
    })
}

fn acl(perms: i32, scheme: &str, id: &str) -> Acl {
    Acl {
        perms,
        id: Id::new(scheme, id),
    }
}

include!("differential/script.rs");

fn run(addr: SocketAddr, script: fn(&mut Runner)) -> Vec<String> {
    let mut r = Runner::new(addr);
    r.connect(0);
    let ping = r.client(0).call(&Request::Ping).expect("ping");
    r.base = ping.last().map_or(0, |p| p.header.zxid.0);
    script(&mut r);
    r.log
}

#[test]
fn zk_server_answers_like_apache_zookeeper() {
    compare(&[], |_| {}, script);
}

/// kazoo's harness writes `reconfigEnabled=true`: a standalone Apache ZooKeeper then answers
/// reconfig with Unimplemented (it is not a leader) instead of ReconfigDisabled, before any
/// ACL check, and still spends a zxid on the error.
#[test]
fn reconfig_enabled_standalone_answers_like_apache_zookeeper() {
    compare(
        &["reconfigEnabled=true"],
        |cfg| cfg.reconfig_enabled = true,
        reconfig_script,
    );
}

fn reconfig_script(r: &mut Runner) {
    let reconfig = |joining: Option<&str>, leaving: Option<&str>, id: i64| {
        Request::Reconfig(ReconfigRequest {
            joining_servers: joining.map(String::from),
            leaving_servers: leaving.map(String::from),
            new_members: None,
            cur_config_id: id,
        })
    };
    r.call(
        0,
        reconfig(Some("server.999=0.0.0.0:1234:2345:observer;3456"), None, -1),
    );
    r.call(0, reconfig(Some("some thing"), None, -1));
    r.call(0, create("/r", Some(b"x"), 0));
    r.call(0, auth("digest", SUPER));
    r.call(0, reconfig(None, Some("100"), 5));
    r.call(0, get("/zookeeper/config", false));
    r.call(0, delete("/r", -1));
}

/// `sasl` ACLs, with kazoo's harness setting (`authProvider.1=...SASLAuthenticationProvider`):
/// ids must parse as Kerberos names; without the provider every `sasl` ACL is InvalidACL.
#[test]
fn sasl_acls_answer_like_apache_zookeeper() {
    compare(&[], |_| {}, sasl_acl_script);
    compare(
        &["authProvider.1=org.apache.zookeeper.server.auth.SASLAuthenticationProvider"],
        |cfg| cfg.sasl_auth_provider = true,
        sasl_acl_script,
    );
}

fn sasl_acl_script(r: &mut Runner) {
    let sasl = |perms: Perms, id: &str| Acl::new(perms, Id::new("sasl", id));
    for (i, id) in [
        "jaasuser",
        "zk/host@REALM",
        "user@REALM",
        "a/b/c",
        "a@b@c",
        "a/b/c@R",
        "",
    ]
    .into_iter()
    .enumerate()
    {
        r.call(0, create_acl(&format!("/s{i}"), vec![sasl(Perms::ALL, id)]));
        r.call(0, get_acl(&format!("/s{i}")));
        r.call(0, get(&format!("/s{i}"), false));
    }
    r.call(0, create("/t", Some(b"x"), 0));
    r.call(
        0,
        set_acl(
            "/t",
            vec![
                sasl(Perms::READ, "bob"),
                Acl::new(Perms::ALL, Id::new("world", "anyone")),
            ],
            -1,
        ),
    );
    r.call(0, get_acl("/t"));
    r.call(0, auth("digest", "alice:pw"));
    r.call(0, create_acl("/u", Acl::creator_all()));
    r.call(0, get_acl("/u"));
}

/// SASL with a JAAS `Server` section (DigestLoginModule), as kazoo's harness sets it up: the
/// DIGEST-MD5 challenge (nonce masked), a non-empty first token, and failed responses
/// (AuthFailed with a null token, then the connection closed); without a JAAS file every SASL
/// token gets a null token. The successful exchange needs the nonce: kazoo's suite and the Java
/// client test (server_clients.rs) cover it.
#[test]
fn sasl_digest_md5_answers_like_apache_zookeeper() {
    let dir = tempfile::tempdir().unwrap();
    let jaas = dir.path().join("jaas.conf");
    std::fs::write(
        &jaas,
        "Server {\n  org.apache.zookeeper.server.auth.DigestLoginModule required\n  \
         user_super=\"super_secret\"\n  user_jaasuser=\"jaas_password\";\n};\n",
    )
    .unwrap();
    let flag = format!("-Djava.security.auth.login.config={}", jaas.display());
    let provider = "authProvider.1=org.apache.zookeeper.server.auth.SASLAuthenticationProvider";
    compare_with(
        &[provider],
        &[&flag],
        &|cfg| {
            cfg.jaas_config = Some(jaas.clone());
            cfg.sasl_auth_provider = true;
        },
        sasl_script,
    );
    compare(
        &[provider],
        |cfg| cfg.sasl_auth_provider = true,
        sasl_script,
    );
}

fn sasl_script(r: &mut Runner) {
    let sasl = |t: &[u8]| {
        Request::Sasl(GetSaslRequest {
            token: Some(t.to_vec().into()),
        })
    };
    let op = OpCode::Sasl.as_i32();
    let response = |user: &str| {
        format!(
            "username=\"{user}\",realm=\"zk-sasl-md5\",nonce=\"x\",cnonce=\"y\",nc=00000001,\
             qop=auth,digest-uri=\"zookeeper/zk-sasl-md5\",response=0123456789abcdef0123456789abcdef"
        )
        .into_bytes()
    };
    r.call_closing(0, op, sasl(b""));
    r.call_closing(0, op, sasl(&response("jaasuser")));
    r.connect(1);
    r.call_closing(1, op, sasl(b""));
    r.call_closing(1, op, sasl(&response("nobody")));
    r.connect(2);
    r.call_closing(2, op, sasl(b"not empty"));
    if r.clients[2].is_some() {
        r.call_closing(2, op, sasl(b"garbage"));
    }
    r.connect(3);
    r.call_closing(3, op, Request::Sasl(GetSaslRequest { token: None }));
    if r.clients[3].is_some() {
        r.call(3, Request::WhoAmI);
    }
}

/// Runs `script` against Apache ZooKeeper (with the zoo.cfg lines `extra`) and against
/// zk-server (its test config, Apache ZooKeeper's timeouts, changed by `configure`) and
/// asserts that every observed line matches.
fn compare(extra: &[&str], configure: fn(&mut zk_server::ServerConfig), script: fn(&mut Runner)) {
    compare_with(extra, &[], &configure, script);
}

/// Like [`compare`], with JVM flags for Apache ZooKeeper (`configure` gives zk-server the same).
fn compare_with(
    extra: &[&str],
    jvm_flags: &[&str],
    configure: &dyn Fn(&mut zk_server::ServerConfig),
    script: fn(&mut Runner),
) {
    let apache = match ApacheZk::start_with(None, extra, jvm_flags) {
        Ok(z) => z,
        Err(e) => {
            eprintln!("skipping: {e}");
            return;
        }
    };
    let expected = run(apache.addr(), script);
    drop(apache);
    let data = tempfile::tempdir().expect("temp dir");
    let mut cfg = zk_server::ServerConfig::for_tests(data.path().join("data"));
    // Apache ZooKeeper's defaults: tickTime 2000, timeouts 4 s..40 s.
    cfg.tick_time_ms = 2000;
    cfg.min_session_timeout_ms = None;
    cfg.max_session_timeout_ms = None;
    configure(&mut cfg);
    let ours = tests::raw::InProcessServer::start(cfg).expect("start zk-server");
    let actual = run(ours.addr(), script);
    drop(ours);
    if let Ok(dir) = std::env::var("ZK_DIFF_DUMP") {
        let _ = std::fs::write(format!("{dir}/apache.log"), expected.join("\n"));
        let _ = std::fs::write(format!("{dir}/ours.log"), actual.join("\n"));
    }
    let ops = expected.iter().filter(|l| l.starts_with('>')).count();
    let mut mismatches = Vec::new();
    for (i, (e, a)) in expected.iter().zip(actual.iter()).enumerate() {
        if e != a {
            mismatches.push(format!("line {i}:\n  apache: {e}\n  ours:   {a}"));
        }
    }
    if expected.len() != actual.len() {
        mismatches.push(format!(
            "lengths differ: apache {} ours {}",
            expected.len(),
            actual.len()
        ));
    }
    eprintln!(
        "{ops} operations, {} observed lines, {} mismatches",
        expected.len(),
        mismatches.len()
    );
    if !mismatches.is_empty() {
        let context: Vec<String> = expected.iter().take(5).cloned().collect();
        let _ = context;
        panic!(
            "{}",
            mismatches
                .iter()
                .take(25)
                .cloned()
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
}

/// A raw frame for cases the typed client cannot express.
#[allow(dead_code)]
fn raw_frame(body: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
    let mut f = Vec::new();
    write_frame(&mut f, body);
    f
}

#[allow(dead_code)]
fn encode<T: Encode>(t: &T) -> Vec<u8> {
    t.to_bytes()
}

#[allow(dead_code)]
const ALL: i32 = Perms::ALL.0;
