//! The differential runner shared by server_differential.rs and server_random_differential.rs:
//! raw clients on several sessions, every frame logged in a normalized form (zxids as offsets
//! from a base, times left out, session ids as the index of the session that owns them) so two
//! servers' logs can be compared line by line.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::time::Duration;

use tests::raw::{RawClient, Reply};
use zk_core::data::Stat;
use zk_core::frame::write_frame;
use zk_core::jute::Encode;
use zk_core::proto::*;
use zk_core::{Acl, Id, MultiResult, OpCode, Perms, Request, Response, SessionId, Zxid};

pub(crate) struct Runner {
    pub(crate) addr: SocketAddr,
    pub(crate) clients: Vec<Option<RawClient>>,
    pub(crate) sessions: Vec<SessionId>,
    pub(crate) log: Vec<String>,
    pub(crate) base: i64,
    /// The last frame that answered a request (none after a close).
    pub(crate) last: Option<Reply>,
    /// The highest zxid each client slot has seen in a reply header.
    pub(crate) seen: Vec<i64>,
}

pub(crate) fn zx(base: i64, z: Zxid) -> String {
    if z.0 <= 0 {
        format!("{}", z.0)
    } else {
        format!("+{}", z.0 - base)
    }
}

impl Runner {
    pub(crate) fn new(addr: SocketAddr) -> Runner {
        Runner {
            addr,
            clients: Vec::new(),
            sessions: Vec::new(),
            log: Vec::new(),
            base: 0,
            last: None,
            seen: Vec::new(),
        }
    }

    pub(crate) fn owner(&self, s: SessionId) -> String {
        if s.0 == 0 {
            return "0".into();
        }
        match self.sessions.iter().position(|x| *x == s) {
            Some(i) => format!("S{i}"),
            None => "S?".into(),
        }
    }

    pub(crate) fn stat(&self, s: &Stat) -> String {
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

    pub(crate) fn describe(&self, op: OpCode, r: &Reply) -> String {
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

    pub(crate) fn body(&self, resp: Response) -> String {
        match resp {
            Response::Create2(c) => format!("create2 {} {}", c.path, self.stat(&c.stat)),
            Response::Exists(e) => format!("exists {}", self.stat(&e.stat)),
            Response::GetData(d) => format!(
                "data {} {}",
                data_str(d.data.as_deref()),
                self.stat(&d.stat)
            ),
            Response::SetData(d) => format!("setData {}", self.stat(&d.stat)),
            Response::SetAcl(d) => format!("setAcl {}", self.stat(&d.stat)),
            Response::GetAcl(a) => format!("acl {:?} {}", a.acl, self.stat(&a.stat)),
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
            Response::GetChildren2(c) => {
                format!("children2 {:?} {}", c.children, self.stat(&c.stat))
            }
            Response::GetEphemerals(e) => format!("ephemerals {:?}", e.ephemerals),
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
                            format!(
                                "data {} {}",
                                data_str(d.data.as_deref()),
                                self.stat(&d.stat)
                            )
                        }
                        other => format!("{other:?}"),
                    })
                    .collect();
                format!("multi {v:?}")
            }
            other => format!("{other:?}"),
        }
    }

    pub(crate) fn client(&mut self, i: usize) -> &mut RawClient {
        self.clients[i].as_mut().expect("client slot is connected")
    }

    /// Connects slot `i` with a new session.
    pub(crate) fn connect(&mut self, i: usize) {
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
    pub(crate) fn call_op(&mut self, i: usize, op: i32, req: Request) {
        self.call_inner(i, op, req, false);
    }

    /// Like [`Runner::call_op`], then checks whether the server closed the connection.
    pub(crate) fn call_closing(&mut self, i: usize, op: i32, req: Request) {
        self.call_inner(i, op, req, true);
    }

    /// Sends a request without waiting for an answer (Apache ZooKeeper never answers a
    /// passing top-level check).
    pub(crate) fn send_only(&mut self, i: usize, op: i32, req: Request) {
        self.log
            .push(format!("> S{i} op {op} {req:?} (no answer expected)"));
        let xid = self.client(i).next_xid();
        self.client(i).send(xid, op, &req).expect("send");
    }

    /// Sends a hand-made body under op code `op` and logs what comes back, including a close.
    pub(crate) fn call_raw(&mut self, i: usize, op: i32, body: &[u8]) {
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

    pub(crate) fn call_inner(&mut self, i: usize, op: i32, req: Request, probe: bool) {
        let xid = match req {
            Request::Ping => -2,
            Request::Auth(_) => -4,
            _ => self.client(i).next_xid(),
        };
        let label = format!("S{i} {:?}", req)
            .chars()
            .take(600)
            .collect::<String>();
        self.exchange(i, xid, op, &req, label, probe);
    }

    /// Sends `req` from client `i` with `xid` and op code `op` (logged as `label`), logs every
    /// frame up to its reply (kept in `last`), probes for a close when `probe`, then logs the
    /// notifications every other client got meanwhile. A connection that fails is logged as
    /// closed and its slot emptied.
    pub(crate) fn exchange(
        &mut self,
        i: usize,
        xid: i32,
        op: i32,
        req: &Request,
        label: String,
        probe: bool,
    ) {
        self.log.push(format!("> {label}"));
        self.last = None;
        if self.client(i).send(xid, op, req).is_err() {
            self.log.push(format!("  S{i} closed"));
            self.clients[i] = None;
            return;
        }
        let opc = OpCode::from_i32(op).unwrap_or(OpCode::Error);
        loop {
            match self.client(i).recv() {
                Ok(r) => {
                    let d = self.describe(opc, &r);
                    self.log.push(format!("  S{i} {d}"));
                    if self.seen.len() <= i {
                        self.seen.resize(i + 1, 0);
                    }
                    self.seen[i] = self.seen[i].max(r.header.zxid.0);
                    if r.header.xid == xid {
                        self.last = Some(r);
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

    pub(crate) fn check_closed(&mut self, i: usize) {
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

    pub(crate) fn drain_others(&mut self, i: usize) {
        for j in 0..self.clients.len() {
            if j == i || self.clients[j].is_none() {
                continue;
            }
            match self.client(j).drain_notifications() {
                Ok(frames) => {
                    for r in frames {
                        let d = self.describe(OpCode::Notification, &r);
                        self.log.push(format!("  S{j} {d}"));
                    }
                }
                Err(_) => {
                    self.log.push(format!("  S{j} closed"));
                    self.clients[j] = None;
                }
            }
        }
    }

    pub(crate) fn call(&mut self, i: usize, req: Request) {
        let op = req.op_code().as_i32();
        self.call_op(i, op, req);
    }
}

/// Data as Debug text, or its length and a hash when it is long (large random payloads).
pub(crate) fn data_str(d: Option<&[u8]>) -> String {
    match d {
        Some(b) if b.len() > 64 => {
            let h = b.iter().fold(0xcbf29ce484222325u64, |h, x| {
                (h ^ u64::from(*x)).wrapping_mul(0x100000001b3)
            });
            format!("Some(<{} bytes, fnv {h:016x}>)", b.len())
        }
        _ => format!("{d:?}"),
    }
}

pub(crate) fn create_req(
    path: &str,
    data: Option<&[u8]>,
    acl: Vec<Acl>,
    flags: i32,
) -> CreateRequest {
    CreateRequest {
        path: path.into(),
        data: data.map(|d| d.to_vec().into()),
        acl,
        flags,
    }
}

pub(crate) fn create(path: &str, data: Option<&[u8]>, flags: i32) -> Request {
    Request::Create(create_req(path, data, Acl::open_unsafe(), flags))
}

pub(crate) fn create2(path: &str, data: Option<&[u8]>, flags: i32) -> Request {
    Request::Create2(create_req(path, data, Acl::open_unsafe(), flags))
}

pub(crate) fn create_acl(path: &str, acl: Vec<Acl>) -> Request {
    Request::Create2(create_req(path, Some(b"s"), acl, 0))
}

pub(crate) fn ttl(path: &str, flags: i32, ttl: i64) -> Request {
    Request::CreateTtl(CreateTtlRequest {
        path: path.into(),
        data: Some(b"t".to_vec().into()),
        acl: Acl::open_unsafe(),
        flags,
        ttl,
    })
}

pub(crate) fn get(path: &str, watch: bool) -> Request {
    Request::GetData(GetDataRequest {
        path: path.into(),
        watch,
    })
}

pub(crate) fn exists(path: &str, watch: bool) -> Request {
    Request::Exists(ExistsRequest {
        path: path.into(),
        watch,
    })
}

pub(crate) fn children(path: &str, watch: bool) -> Request {
    Request::GetChildren(GetChildrenRequest {
        path: path.into(),
        watch,
    })
}

pub(crate) fn children2(path: &str, watch: bool) -> Request {
    Request::GetChildren2(GetChildren2Request {
        path: path.into(),
        watch,
    })
}

pub(crate) fn set(path: &str, data: &[u8], version: i32) -> Request {
    Request::SetData(SetDataRequest {
        path: path.into(),
        data: Some(data.to_vec().into()),
        version,
    })
}

pub(crate) fn delete(path: &str, version: i32) -> Request {
    Request::Delete(DeleteRequest {
        path: path.into(),
        version,
    })
}

pub(crate) fn check(path: &str, version: i32) -> Request {
    Request::Check(CheckVersionRequest {
        path: path.into(),
        version,
    })
}

pub(crate) fn set_acl(path: &str, acl: Vec<Acl>, version: i32) -> Request {
    Request::SetAcl(SetAclRequest {
        path: path.into(),
        acl,
        version,
    })
}

pub(crate) fn get_acl(path: &str) -> Request {
    Request::GetAcl(GetAclRequest { path: path.into() })
}

pub(crate) fn auth(scheme: &str, cred: &str) -> Request {
    Request::Auth(AuthPacket {
        auth_type: 0,
        scheme: scheme.into(),
        auth: cred.as_bytes().to_vec().into(),
    })
}

pub(crate) fn add_watch(path: &str, mode: i32) -> Request {
    Request::AddWatch(AddWatchRequest {
        path: path.into(),
        mode,
    })
}

pub(crate) fn remove_watches(path: &str, ty: i32) -> Request {
    Request::RemoveWatches(RemoveWatchesRequest {
        path: path.into(),
        watcher_type: ty,
    })
}

pub(crate) fn check_watches(path: &str, ty: i32) -> Request {
    Request::CheckWatches(CheckWatchesRequest {
        path: path.into(),
        watcher_type: ty,
    })
}

pub(crate) fn acl(perms: i32, scheme: &str, id: &str) -> Acl {
    Acl {
        perms,
        id: Id::new(scheme, id),
    }
}

/// A raw frame for cases the typed client cannot express.
pub(crate) fn raw_frame(body: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
    let mut f = Vec::new();
    write_frame(&mut f, body);
    f
}

pub(crate) fn encode<T: Encode>(t: &T) -> Vec<u8> {
    t.to_bytes()
}

pub(crate) const ALL: i32 = Perms::ALL.0;
