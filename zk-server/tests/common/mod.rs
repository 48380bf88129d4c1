//! A minimal blocking ZooKeeper client over raw frames, for the binary-level tests.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use bytes::Bytes;
use zk_core::frame::write_frame;
use zk_core::jute::{Decode, Encode, Reader};
use zk_core::proto::*;
use zk_core::{Acl, CreateMode, ErrorCode, Request, Response, SessionId, Zxid};

/// A blocking client; any I/O error means the server is gone.
pub(crate) struct Client {
    s: TcpStream,
    xid: i32,
}

impl Client {
    pub(crate) fn connect(addr: SocketAddr) -> std::io::Result<Client> {
        let mut s = TcpStream::connect_timeout(&addr, Duration::from_millis(500))?;
        s.set_read_timeout(Some(Duration::from_secs(20)))?;
        s.set_nodelay(true)?;
        let mut out = Vec::new();
        write_frame(&mut out, |w| {
            ConnectRequest {
                protocol_version: 0,
                last_zxid_seen: Zxid::ZERO,
                timeout_ms: 30_000,
                session_id: SessionId::NONE,
                passwd: Bytes::from(vec![0u8; 16]),
                read_only: Some(false),
            }
            .encode(w)
        });
        s.write_all(&out)?;
        let p = read_frame(&mut s)?;
        ConnectResponse::decode(&mut Reader::new(&p)).map_err(std::io::Error::other)?;
        Ok(Client { s, xid: 0 })
    }

    pub(crate) fn call(&mut self, req: Request) -> std::io::Result<Result<Response, ErrorCode>> {
        self.xid += 1;
        let op = req.op_code();
        let mut out = Vec::new();
        write_frame(&mut out, |w| {
            RequestHeader {
                xid: self.xid,
                op_type: op.as_i32(),
            }
            .encode(w);
            req.encode(w);
        });
        self.s.write_all(&out)?;
        loop {
            let p = read_frame(&mut self.s)?;
            let mut r = Reader::new(&p);
            let h = ReplyHeader::decode(&mut r).map_err(std::io::Error::other)?;
            if h.xid != self.xid {
                continue; // a notification
            }
            let err = ErrorCode::from_i32(h.err);
            if !err.is_ok() {
                return Ok(Err(err));
            }
            return Ok(Ok(
                Response::decode(op, &mut r).map_err(std::io::Error::other)?
            ));
        }
    }
}

pub(crate) fn read_frame(s: &mut TcpStream) -> std::io::Result<Vec<u8>> {
    let mut len = [0u8; 4];
    s.read_exact(&mut len)?;
    let mut buf = vec![0u8; i32::from_be_bytes(len).max(0) as usize];
    s.read_exact(&mut buf)?;
    Ok(buf)
}

pub(crate) fn create(path: &str, data: &str) -> Request {
    Request::Create(CreateRequest {
        path: path.into(),
        data: Some(Bytes::copy_from_slice(data.as_bytes())),
        acl: Acl::open_unsafe(),
        flags: CreateMode::Persistent.flag(),
    })
}
