//! The reconfiguring administrator: one session that authenticates as the super user
//! (`super:test`, the sim's `superDigest`) and sends `reconfig` requests the world chooses
//! (see `World::admin_step`), one at a time. It keeps what each request was answered; its
//! operations are not part of the clients' history (a reconfig is a write of
//! `/zookeeper/config`, which the history check leaves out).

use zk_core::jute::{Decode, Encode, Reader};
use zk_core::proto::{
    AuthPacket, ConnectRequest, ConnectResponse, GetDataResponse, ReconfigRequest, ReplyHeader,
};
use zk_core::{ErrorCode, OpCode, Request, SessionId, Zxid};
use zk_server::core::ConnId;

use super::client::{ToServer, SESSION_TIMEOUT_MS};

/// The super user's digest (`super:test`, as kazoo's harness and `ensemble_reconfig`).
pub const SUPER_DIGEST: &str = "super:D/InIHSb7yEEbrWz8b9l71RjZJU=";

/// The `xid` Apache's clients send AUTH with.
const AUTH_XID: i32 = -4;

/// A reconfig the administrator sent, and how it ended.
#[derive(Debug, Clone)]
pub struct Attempt {
    pub sent: i64,
    pub req: ReconfigRequest,
    /// What it asked for, for the trace: "remove 2", "add 3", "members [1, 2]", ...
    pub what: String,
    /// None while unanswered or when the connection went away first.
    pub answer: Option<Result<i64, ErrorCode>>,
}

/// The administrator's session.
#[derive(Debug, Default)]
pub struct SimAdmin {
    pub session: Option<(SessionId, Vec<u8>)>,
    pub conn: Option<(ConnId, usize)>,
    pub connected: bool,
    authed: bool,
    /// The xid of the reconfig in flight, and its attempt.
    in_flight: Option<(i32, usize)>,
    next_xid: i32,
    last_zxid: Zxid,
    pub last_sent: i64,
    pub attempts: Vec<Attempt>,
}

impl SimAdmin {
    /// The handshake for a new connection.
    pub fn connect_request(&self) -> ConnectRequest {
        super::client::connect_request(self.session.as_ref(), self.last_zxid)
    }

    /// The connection went away: a reconfig in flight has an unknown outcome.
    pub fn lost(&mut self) {
        self.in_flight = None;
        self.conn = None;
        self.connected = false;
        self.authed = false;
    }

    /// The ConnectResponse; false when the session expired (the next one is new).
    pub fn handshake(&mut self, frame: &[u8]) -> bool {
        let Ok(r) = ConnectResponse::from_bytes(&frame[4..]) else {
            return false;
        };
        if r.timeout_ms <= 0 || r.session_id.0 == 0 {
            self.session = None;
            return false;
        }
        self.session = Some((r.session_id, r.passwd.to_vec()));
        self.connected = true;
        true
    }

    /// A reply frame after the handshake; the attempt it answered, if any.
    pub fn reply(&mut self, frame: &[u8]) -> Option<usize> {
        let mut r = Reader::new(&frame[4..]);
        let h = ReplyHeader::decode(&mut r).ok()?;
        if h.zxid.0 > 0 && h.zxid > self.last_zxid {
            self.last_zxid = h.zxid;
        }
        let (xid, i) = self.in_flight?;
        if h.xid != xid {
            return None;
        }
        self.in_flight = None;
        let err = ErrorCode::from_i32(h.err);
        self.attempts[i].answer = Some(if err == ErrorCode::Ok {
            match GetDataResponse::decode(&mut r) {
                Ok(g) => Ok(g.stat.mzxid.0),
                Err(_) => Err(ErrorCode::MarshallingError),
            }
        } else {
            Err(err)
        });
        Some(i)
    }

    /// Whether a reconfig may be sent now (connected, authenticated, none in flight).
    pub fn ready(&self) -> bool {
        self.connected && self.authed && self.in_flight.is_none()
    }

    /// The AUTH packet, first thing on every connection; then pings when idle.
    pub fn housekeeping(&mut self, now: i64) -> Option<ToServer> {
        if !self.connected {
            return None;
        }
        if !self.authed {
            self.authed = true;
            self.last_sent = now;
            let req = Request::Auth(AuthPacket {
                auth_type: 0,
                scheme: "digest".into(),
                auth: b"super:test".to_vec().into(),
            });
            return Some(ToServer::Request {
                xid: AUTH_XID,
                op: OpCode::Auth.as_i32(),
                body: encode(&req),
            });
        }
        if now - self.last_sent > i64::from(SESSION_TIMEOUT_MS) / 3 {
            self.last_sent = now;
            return Some(ToServer::Request {
                xid: -2,
                op: OpCode::Ping.as_i32(),
                body: Vec::new(),
            });
        }
        None
    }

    /// Sends `req` (only when [`SimAdmin::ready`]).
    pub fn reconfig(&mut self, now: i64, req: ReconfigRequest, what: String) -> ToServer {
        self.next_xid += 1;
        let xid = self.next_xid;
        self.attempts.push(Attempt {
            sent: now,
            req: req.clone(),
            what,
            answer: None,
        });
        self.in_flight = Some((xid, self.attempts.len() - 1));
        self.last_sent = now;
        ToServer::Request {
            xid,
            op: OpCode::Reconfig.as_i32(),
            body: encode(&Request::Reconfig(req)),
        }
    }
}

fn encode(req: &Request) -> Vec<u8> {
    let mut b = Vec::new();
    req.encode(&mut b);
    b
}
