//! Simulated clients: sessions that connect to a member, run a register workload (reads,
//! sets, compare-and-sets, creates, deletes, ephemeral creates), ping, move to another member
//! when their connection drops, and record what they saw for the history checker.

use std::collections::BTreeMap;

use zk_core::jute::{Decode, Encode, Reader};
use zk_core::proto::{
    ConnectRequest, ConnectResponse, CreateRequest, DeleteRequest, GetDataRequest, GetDataResponse,
    ReplyHeader, SetDataRequest, SetDataResponse,
};
use zk_core::{Acl, ErrorCode, OpCode, Request, SessionId, Zxid};
use zk_history::{ClientId, History, Op, OpId, Operation, Outcome, Reply};
use zk_server::core::ConnId;

use super::rng::Rng;

/// Session timeout the clients ask for (ms).
pub const SESSION_TIMEOUT_MS: i32 = 2_000;
/// Keys of the register workload.
pub const KEYS: usize = 4;

/// What a client sends to a member (delivered by the world after a delay).
#[derive(Debug, Clone)]
pub enum ToServer {
    Connect(ConnectRequest),
    Request { xid: i32, op: i32, body: Vec<u8> },
}

#[derive(Debug, Clone)]
struct InFlight {
    op: i32,
    /// The history entry, for workload operations.
    hist: Option<OpId>,
}

/// One simulated client.
#[derive(Debug)]
pub struct SimClient {
    pub index: usize,
    /// The history id of the current session.
    pub hist: ClientId,
    pub session: Option<(SessionId, Vec<u8>)>,
    /// The connection and the member it goes to.
    pub conn: Option<(ConnId, usize)>,
    /// Handshake answered.
    pub connected: bool,
    in_flight: BTreeMap<i32, InFlight>,
    next_xid: i32,
    next_value: u64,
    /// The version this session last saw per key (for compare-and-sets).
    versions: BTreeMap<usize, i32>,
    pub last_zxid: Zxid,
    pub last_sent: i64,
    pub ephemerals: u64,
    /// Workload operations stop being issued after this time.
    pub stop_at: i64,
    pub ok_writes_after: Vec<i64>,
}

fn key(i: usize) -> String {
    format!("/k{i}")
}

/// The handshake of a sim session: a new session, or `session` resumed, having seen
/// `last_zxid`.
pub fn connect_request(session: Option<&(SessionId, Vec<u8>)>, last_zxid: Zxid) -> ConnectRequest {
    let (session_id, passwd) = match session {
        Some((s, p)) => (*s, p.clone()),
        None => (SessionId(0), vec![0; 16]),
    };
    ConnectRequest {
        protocol_version: 0,
        last_zxid_seen: last_zxid,
        timeout_ms: SESSION_TIMEOUT_MS,
        session_id,
        passwd: passwd.into(),
        read_only: Some(false),
    }
}

impl SimClient {
    pub fn new(index: usize, hist: ClientId) -> SimClient {
        SimClient {
            index,
            hist,
            session: None,
            conn: None,
            connected: false,
            in_flight: BTreeMap::new(),
            next_xid: 1,
            next_value: 0,
            versions: BTreeMap::new(),
            last_zxid: Zxid::ZERO,
            last_sent: 0,
            ephemerals: 0,
            stop_at: i64::MAX,
            ok_writes_after: Vec::new(),
        }
    }

    /// The handshake for a new connection.
    pub fn connect_request(&self) -> ConnectRequest {
        connect_request(self.session.as_ref(), self.last_zxid)
    }

    /// The connection went away: every request in flight has an unknown outcome.
    pub fn lost(&mut self, now: i64, history: &mut History) {
        let _ = (now, history);
        self.in_flight.clear();
        self.conn = None;
        self.connected = false;
    }

    /// The first frame of a connection: the ConnectResponse. Returns false when the session
    /// expired (the client starts over with a new one).
    pub fn handshake(&mut self, frame: &[u8], new_hist: impl FnOnce() -> ClientId) -> bool {
        let Ok(r) = ConnectResponse::from_bytes(&frame[4..]) else {
            return false;
        };
        if r.timeout_ms <= 0 || r.session_id.0 == 0 {
            self.session = None;
            self.hist = new_hist();
            self.versions.clear();
            self.connected = false;
            return false;
        }
        self.session = Some((r.session_id, r.passwd.to_vec()));
        self.connected = true;
        true
    }

    /// A reply frame (after the handshake).
    pub fn reply(&mut self, now: i64, frame: &[u8], history: &mut History) {
        let mut r = Reader::new(&frame[4..]);
        let Ok(h) = ReplyHeader::decode(&mut r) else {
            return;
        };
        if h.xid == -1 {
            return; // a notification
        }
        if h.zxid.0 > 0 && h.zxid > self.last_zxid {
            self.last_zxid = h.zxid;
        }
        let Some(f) = self.in_flight.remove(&h.xid) else {
            return;
        };
        let Some(id) = f.hist else { return };
        let err = ErrorCode::from_i32(h.err);
        let op = history.ops()[id.0].operation.clone();
        let outcome = if err == ErrorCode::Ok {
            let reply = match (&op, f.op) {
                (Operation::Read { .. }, _) => match GetDataResponse::decode(&mut r) {
                    Ok(g) => Reply::Read {
                        data: g.data.map(|d| d.to_vec()).unwrap_or_default(),
                        version: g.stat.version,
                    },
                    Err(_) => return,
                },
                (Operation::Set { path, .. }, _) => match SetDataResponse::decode(&mut r) {
                    Ok(s) => {
                        if let Some(k) = key_index(path) {
                            self.versions.insert(k, s.stat.version);
                        }
                        Reply::Set {
                            version: s.stat.version,
                        }
                    }
                    Err(_) => return,
                },
                (Operation::Create { .. }, _) => Reply::Created,
                (Operation::Delete { .. }, _) => Reply::Deleted,
            };
            if op.is_write() {
                self.ok_writes_after.push(now);
            }
            Outcome::Ok {
                zxid: h.zxid,
                reply,
            }
        } else if matches!(
            err,
            ErrorCode::NoNode
                | ErrorCode::NodeExists
                | ErrorCode::BadVersion
                | ErrorCode::NotEmpty
                | ErrorCode::NoChildrenForEphemerals
        ) {
            Outcome::Error {
                zxid: h.zxid,
                code: err,
            }
        } else {
            Outcome::Unknown
        };
        if let Outcome::Ok {
            reply: Reply::Read { version, .. },
            ..
        } = &outcome
        {
            if let Some(k) = key_index(op.path()) {
                self.versions.insert(k, *version);
            }
        }
        let o = &mut history.ops_mut()[id.0];
        o.completed = Some(now as u64);
        o.outcome = outcome;
    }

    /// Pings or picks the next workload operation; None when nothing is due.
    pub fn next(&mut self, now: i64, rng: &mut Rng, history: &mut History) -> Option<ToServer> {
        if !self.connected || self.in_flight.len() >= 2 {
            return None;
        }
        if now >= self.stop_at {
            if now - self.last_sent > i64::from(SESSION_TIMEOUT_MS) / 3 {
                return Some(self.send(now, OpCode::Ping.as_i32(), Vec::new(), None));
            }
            return None;
        }
        let k = rng.below(KEYS);
        self.next_value += 1;
        let value = format!("c{}-{}", self.index, self.next_value).into_bytes();
        let choice = rng.below(10);
        let (operation, req) = match choice {
            0..=3 => (
                Operation::Read { path: key(k) },
                Request::GetData(GetDataRequest {
                    path: key(k),
                    watch: false,
                }),
            ),
            4 | 5 => (
                Operation::Set {
                    path: key(k),
                    data: value.clone(),
                    version: None,
                },
                Request::SetData(SetDataRequest {
                    path: key(k),
                    data: Some(value.into()),
                    version: -1,
                }),
            ),
            6 => {
                let v = self.versions.get(&k).copied().unwrap_or(0);
                (
                    Operation::Set {
                        path: key(k),
                        data: value.clone(),
                        version: Some(v),
                    },
                    Request::SetData(SetDataRequest {
                        path: key(k),
                        data: Some(value.into()),
                        version: v,
                    }),
                )
            }
            7 => (
                Operation::Create {
                    path: key(k),
                    data: value.clone(),
                },
                Request::Create(CreateRequest {
                    path: key(k),
                    data: Some(value.into()),
                    acl: Acl::open_unsafe(),
                    flags: 0,
                }),
            ),
            8 => (
                Operation::Delete {
                    path: key(k),
                    version: None,
                },
                Request::Delete(DeleteRequest {
                    path: key(k),
                    version: -1,
                }),
            ),
            _ => {
                self.ephemerals += 1;
                let path = format!("/e{}-{}-{}", self.index, self.hist.0, self.ephemerals);
                (
                    Operation::Create {
                        path: path.clone(),
                        data: value.clone(),
                    },
                    Request::Create(CreateRequest {
                        path,
                        data: Some(value.into()),
                        acl: Acl::open_unsafe(),
                        flags: 1,
                    }),
                )
            }
        };
        let id = history.push(Op {
            client: self.hist,
            session_id: self.session.as_ref().map(|s| s.0),
            invoked: now as u64,
            completed: None,
            operation,
            outcome: Outcome::Unknown,
        });
        let body = {
            let mut b = Vec::new();
            req.encode(&mut b);
            b
        };
        Some(self.send(now, req.op_code().as_i32(), body, Some(id)))
    }

    fn send(&mut self, now: i64, op: i32, body: Vec<u8>, hist: Option<OpId>) -> ToServer {
        let xid = if op == OpCode::Ping.as_i32() {
            -2
        } else {
            let x = self.next_xid;
            self.next_xid += 1;
            x
        };
        if xid != -2 {
            self.in_flight.insert(xid, InFlight { op, hist });
        }
        self.last_sent = now;
        ToServer::Request { xid, op, body }
    }
}

fn key_index(path: &str) -> Option<usize> {
    path.strip_prefix("/k")?.parse().ok()
}
