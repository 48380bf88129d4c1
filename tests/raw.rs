//! A small synchronous raw-frame ZooKeeper client for protocol tests, and an in-process
//! zk-server on its own runtime.
//!
//! The client speaks frames exactly as given: no xid bookkeeping, no retries, no validation,
//! so tests can send anything a real client could (and things no real client would).

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use zk_core::frame::write_frame;
use zk_core::jute::{Decode, Encode, Reader};
use zk_core::proto::{ConnectRequest, ConnectResponse, ReplyHeader, RequestHeader, WatcherEvent};
use zk_core::{OpCode, Request, Response, SessionId, Zxid};

/// One frame from the server after the handshake.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// The reply header.
    pub header: ReplyHeader,
    /// The bytes after the header.
    pub body: Vec<u8>,
}

impl Reply {
    /// True for a watch notification (xid -1).
    pub fn is_notification(&self) -> bool {
        self.header.xid == -1
    }

    /// The notification's event, if this is one.
    pub fn event(&self) -> Option<WatcherEvent> {
        if self.is_notification() {
            WatcherEvent::from_bytes(&self.body).ok()
        } else {
            None
        }
    }

    /// Decodes the body as the response to `op` (only when err is 0).
    pub fn response(&self, op: OpCode) -> Option<Response> {
        if self.header.err != 0 {
            return None;
        }
        Response::decode(op, &mut Reader::new(&self.body)).ok()
    }
}

/// A raw connection to a ZooKeeper server.
#[derive(Debug)]
pub struct RawClient {
    stream: TcpStream,
    /// The session id from the handshake.
    pub session_id: SessionId,
    /// The session password from the handshake.
    pub passwd: Vec<u8>,
    /// The negotiated timeout.
    pub timeout_ms: i32,
    next_xid: i32,
}

impl RawClient {
    /// Opens a TCP connection without a handshake.
    pub fn open(addr: SocketAddr) -> io::Result<RawClient> {
        let stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
        stream.set_read_timeout(Some(Duration::from_secs(10)))?;
        stream.set_nodelay(true)?;
        Ok(RawClient {
            stream,
            session_id: SessionId(0),
            passwd: vec![0; 16],
            timeout_ms: 0,
            next_xid: 1,
        })
    }

    /// Opens a connection and creates a new session with `timeout_ms`.
    pub fn connect(addr: SocketAddr, timeout_ms: i32) -> io::Result<RawClient> {
        let mut c = RawClient::open(addr)?;
        let resp = c.handshake(&ConnectRequest {
            protocol_version: 0,
            last_zxid_seen: Zxid(0),
            timeout_ms,
            session_id: SessionId(0),
            passwd: vec![0u8; 16].into(),
            read_only: Some(false),
        })?;
        if resp.timeout_ms <= 0 {
            return Err(io::Error::other("session refused"));
        }
        Ok(c)
    }

    /// Sends a ConnectRequest and reads the ConnectResponse.
    pub fn handshake(&mut self, req: &ConnectRequest) -> io::Result<ConnectResponse> {
        let mut f = Vec::new();
        write_frame(&mut f, |w| req.encode(w));
        self.stream.write_all(&f)?;
        let body = self.read_frame()?;
        let resp = ConnectResponse::from_bytes(&body)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.to_string()))?;
        self.session_id = resp.session_id;
        self.passwd = resp.passwd.to_vec();
        self.timeout_ms = resp.timeout_ms;
        Ok(resp)
    }

    /// The next xid this client would use (1, 2, ...).
    pub fn next_xid(&mut self) -> i32 {
        let x = self.next_xid;
        self.next_xid += 1;
        x
    }

    /// Sets the read timeout.
    pub fn set_read_timeout(&self, d: Duration) -> io::Result<()> {
        self.stream.set_read_timeout(Some(d))
    }

    /// Writes raw bytes.
    pub fn send_raw(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.stream.write_all(bytes)
    }

    /// Sends a request with an explicit xid and op code; the body is `req`'s encoding.
    pub fn send(&mut self, xid: i32, op: i32, req: &Request) -> io::Result<()> {
        let mut f = Vec::new();
        write_frame(&mut f, |w| {
            RequestHeader { xid, op_type: op }.encode(w);
            req.encode(w);
        });
        self.stream.write_all(&f)
    }

    /// Reads one frame's payload.
    pub fn read_frame(&mut self) -> io::Result<Vec<u8>> {
        let mut len = [0u8; 4];
        self.stream.read_exact(&mut len)?;
        let len = i32::from_be_bytes(len);
        if !(0..=0x10_0000 * 8).contains(&len) {
            return Err(io::Error::new(io::ErrorKind::InvalidData, "bad length"));
        }
        let mut buf = vec![0u8; len as usize];
        self.stream.read_exact(&mut buf)?;
        Ok(buf)
    }

    /// Reads one reply or notification.
    pub fn recv(&mut self) -> io::Result<Reply> {
        let buf = self.read_frame()?;
        let mut r = Reader::new(&buf);
        let header = ReplyHeader::decode(&mut r)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.to_string()))?;
        Ok(Reply {
            header,
            body: r.rest().to_vec(),
        })
    }

    /// Sends `req` with a fresh xid (ping and auth use -2 and -4) and returns every frame up to
    /// and including its reply.
    pub fn call(&mut self, req: &Request) -> io::Result<Vec<Reply>> {
        let xid = match req {
            Request::Ping => -2,
            Request::Auth(_) => -4,
            _ => self.next_xid(),
        };
        self.send(xid, req.op_code().as_i32(), req)?;
        self.until_xid(xid)
    }

    /// Reads frames until the one with `xid`.
    pub fn until_xid(&mut self, xid: i32) -> io::Result<Vec<Reply>> {
        let mut out = Vec::new();
        loop {
            let r = self.recv()?;
            let done = r.header.xid == xid;
            out.push(r);
            if done {
                return Ok(out);
            }
        }
    }

    /// Returns the notifications already sent to this client, by round-tripping a ping.
    pub fn drain_notifications(&mut self) -> io::Result<Vec<Reply>> {
        let mut v = self.call(&Request::Ping)?;
        v.pop();
        Ok(v)
    }

    /// True when the server closed the connection (EOF within the read timeout).
    pub fn is_closed(&mut self) -> bool {
        let mut b = [0u8; 1];
        matches!(self.stream.read(&mut b), Ok(0))
            || matches!(self.stream.read(&mut b), Err(ref e) if e.kind() == io::ErrorKind::ConnectionReset)
    }
}

/// zk-server running in this process on its own tokio runtime; stopped on drop.
pub struct InProcessServer {
    rt: tokio::runtime::Runtime,
    server: Option<zk_server::Server>,
    addr: SocketAddr,
}

impl InProcessServer {
    /// Starts zk-server with `cfg`.
    pub fn start(cfg: zk_server::ServerConfig) -> io::Result<InProcessServer> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()?;
        let server = rt.block_on(zk_server::Server::start(cfg))?;
        let addr = server.addr();
        Ok(InProcessServer {
            rt,
            server: Some(server),
            addr,
        })
    }

    /// The client address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `127.0.0.1:PORT`.
    pub fn connect_string(&self) -> String {
        self.addr.to_string()
    }
}

impl Drop for InProcessServer {
    fn drop(&mut self) {
        if let Some(s) = self.server.take() {
            self.rt.block_on(s.shutdown());
        }
    }
}
