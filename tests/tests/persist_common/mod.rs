//! Shared by the persist interop tests: a minimal blocking ZooKeeper client speaking raw frames
//! (built on zk-core's records) with pipelining, and a tree walker.

#![allow(dead_code)]

pub(crate) mod apache_load;
pub(crate) mod txn_gen;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use bytes::Bytes;
use zk_core::data::{Acl, Stat};
use zk_core::frame::write_frame;
use zk_core::jute::{Decode, Encode, Reader};
use zk_core::proto::*;
use zk_core::{ErrorCode, OpCode, Request, Response, SessionId, Zxid};

/// A blocking session on one connection.
pub(crate) struct RawClient {
    stream: TcpStream,
    xid: i32,
    /// The session id the server assigned.
    pub(crate) session_id: SessionId,
}

impl RawClient {
    /// Connects and creates a session with `timeout_ms`.
    pub(crate) fn connect(addr: SocketAddr, timeout_ms: i32) -> RawClient {
        let mut stream = TcpStream::connect(addr).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        stream.set_nodelay(true).unwrap();
        let mut out = Vec::new();
        write_frame(&mut out, |w| {
            ConnectRequest {
                protocol_version: 0,
                last_zxid_seen: Zxid::ZERO,
                timeout_ms,
                session_id: SessionId::NONE,
                passwd: Bytes::from(vec![0u8; 16]),
                read_only: Some(false),
            }
            .encode(w)
        });
        stream.write_all(&out).unwrap();
        let payload = read_frame(&mut stream);
        let resp = ConnectResponse::decode(&mut Reader::new(&payload)).unwrap();
        assert!(resp.timeout_ms > 0, "session refused");
        RawClient {
            stream,
            xid: 0,
            session_id: resp.session_id,
        }
    }

    fn send(&mut self, req: &Request, out: &mut Vec<u8>) -> (i32, OpCode) {
        self.xid += 1;
        let op = req.op_code();
        let xid = if op == OpCode::Auth { -4 } else { self.xid };
        write_frame(out, |w| {
            RequestHeader {
                xid,
                op_type: op.as_i32(),
            }
            .encode(w);
            req.encode(w);
        });
        (xid, op)
    }

    /// Sends every request, then reads every reply (in order).
    pub(crate) fn pipeline(&mut self, reqs: &[Request]) -> Vec<Result<Response, ErrorCode>> {
        let mut results = Vec::with_capacity(reqs.len());
        for chunk in reqs.chunks(400) {
            let mut out = Vec::new();
            let sent: Vec<(i32, OpCode)> = chunk.iter().map(|r| self.send(r, &mut out)).collect();
            self.stream.write_all(&out).unwrap();
            for (xid, op) in sent {
                let payload = loop {
                    let p = read_frame(&mut self.stream);
                    let x = i32::from_be_bytes([p[0], p[1], p[2], p[3]]);
                    if x != -1 && x != -2 {
                        break p;
                    }
                };
                let mut r = Reader::new(&payload);
                let h = ReplyHeader::decode(&mut r).unwrap();
                assert_eq!(h.xid, xid, "replies in order");
                let err = ErrorCode::from_i32(h.err);
                results.push(if !err.is_ok() {
                    Err(err)
                } else {
                    Ok(Response::decode(op, &mut r).unwrap_or_else(|e| panic!("{op:?}: {e}")))
                });
            }
        }
        results
    }

    /// One request.
    pub(crate) fn call(&mut self, req: Request) -> Result<Response, ErrorCode> {
        self.pipeline(&[req]).pop().unwrap()
    }

    /// Closes the session (a closeSession transaction).
    pub(crate) fn close(mut self) {
        let _ = self.call(Request::CloseSession);
    }
}

fn read_frame(s: &mut TcpStream) -> Vec<u8> {
    let mut len = [0u8; 4];
    s.read_exact(&mut len).expect("frame length");
    let mut buf = vec![0u8; i32::from_be_bytes(len) as usize];
    s.read_exact(&mut buf).expect("frame body");
    buf
}

/// A node as a client sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NodeView {
    /// The data (`None` when null).
    pub(crate) data: Option<Bytes>,
    /// The stat.
    pub(crate) stat: Stat,
    /// The ACL.
    pub(crate) acl: Vec<Acl>,
}

/// Every node under "/" with its data, stat and ACL, level by level, pipelined.
pub(crate) fn walk(c: &mut RawClient) -> BTreeMap<String, NodeView> {
    let mut out = BTreeMap::new();
    let mut level = vec!["/".to_string()];
    while !level.is_empty() {
        let mut reqs = Vec::new();
        for p in &level {
            reqs.push(Request::GetData(GetDataRequest {
                path: p.clone(),
                watch: false,
            }));
            reqs.push(Request::GetAcl(GetAclRequest { path: p.clone() }));
            reqs.push(Request::GetChildren(GetChildrenRequest {
                path: p.clone(),
                watch: false,
            }));
        }
        let replies = c.pipeline(&reqs);
        let mut next = Vec::new();
        for (p, r) in level.iter().zip(replies.chunks(3)) {
            let (Ok(Response::GetData(d)), Ok(Response::GetAcl(a)), Ok(Response::GetChildren(ch))) =
                (&r[0], &r[1], &r[2])
            else {
                panic!("{p}: {r:?}");
            };
            out.insert(
                p.clone(),
                NodeView {
                    data: d.data.clone(),
                    stat: d.stat.clone(),
                    acl: a.acl.clone(),
                },
            );
            let base = if p == "/" { "" } else { p.as_str() };
            next.extend(ch.children.iter().map(|c| format!("{base}/{c}")));
        }
        level = next;
    }
    out
}
