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

    /// The connection, for raw frames.
    pub(crate) fn into_stream(self) -> TcpStream {
        self.s
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

/// The `zk-server` binary running on a zoo.cfg, its stderr captured. With `clientPort=0` it
/// binds an ephemeral port and reports it in its `zk-server serving` log line, which is how
/// [`ServerProcess::spawn`] learns [`ServerProcess::addr`]: no port is picked, released and
/// reused, so tests running in parallel cannot take each other's ports.
pub(crate) struct ServerProcess {
    pub(crate) child: std::process::Child,
    pub(crate) addr: SocketAddr,
    log: std::sync::Arc<std::sync::Mutex<String>>,
}

/// The address of a `zk-server serving` log line, text (`addr=H:P`) or JSON (`"addr":"H:P"`).
pub(crate) fn serving_addr(line: &str) -> Option<SocketAddr> {
    if !line.contains("zk-server serving") {
        return None;
    }
    let text = line
        .split_once("addr=")
        .map(|(_, r)| r.split_whitespace().next().unwrap_or(""));
    let json = line
        .split_once("\"addr\":\"")
        .and_then(|(_, r)| r.split_once('"').map(|(a, _)| a));
    json.or(text)?.parse().ok()
}

impl ServerProcess {
    /// Starts `CARGO_BIN_EXE_zk-server` with `args` and `env`, and waits (30 s at most) for
    /// the line that says where it serves.
    pub(crate) fn spawn(args: &[&std::ffi::OsStr], env: &[(&str, &str)]) -> ServerProcess {
        use std::io::BufRead;
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_zk-server"));
        cmd.args(args)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("spawn zk-server");
        let stderr = child.stderr.take().expect("piped stderr");
        let log = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let sink = log.clone();
        // Drains stderr to the end, so the server never blocks on a full pipe.
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stderr)
                .lines()
                .map_while(Result::ok)
            {
                if let Some(addr) = serving_addr(&line) {
                    let _ = tx.send(addr);
                }
                let mut l = sink.lock().unwrap_or_else(|e| e.into_inner());
                l.push_str(&line);
                l.push('\n');
            }
        });
        match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(addr) => ServerProcess { child, addr, log },
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                let log = log.lock().unwrap_or_else(|e| e.into_inner()).clone();
                panic!("zk-server did not report where it serves:\n{log}");
            }
        }
    }

    /// Everything the server wrote to stderr so far.
    pub(crate) fn log(&self) -> String {
        self.log.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}
