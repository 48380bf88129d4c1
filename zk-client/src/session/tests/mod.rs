//! The session state machine driven with scripted frames, some taken from
//! `shared/wire/zookeeper-3.8-java-client-tour.txt` (Apache ZooKeeper 3.8 answering the Java
//! client): helpers here, the handshake and reply matching in `wire`, reconnects and timers in
//! `recovery`, the client-side expiry rule in `expiry`.

mod expiry;
mod rebalance;
mod recovery;
mod wire;

use std::time::{Duration, Instant};

use tokio::sync::oneshot;
use zk_core::frame::FrameReader;
use zk_core::jute::Encode;
use zk_core::message::{Request, Response};
use zk_core::proto::*;
use zk_core::Zxid;

use super::*;
use crate::error::Error;
use crate::state::SessionState;

/// The tour's ConnectResponse: session 0x100000e89350000, timeout 6000 ms, readOnly byte.
pub(super) const TOUR_CONNECT_RESPONSE: &str =
    "00000000000017700100000e893500000000001001ef0887fada098547a467d2d304cf4c00";

/// The expiry grace of the scripted sessions: past the 6 s timeout, before local expiry.
pub(super) const GRACE: Duration = Duration::from_secs(3);

pub(super) fn config() -> SessionConfig {
    SessionConfig {
        session_timeout: Duration::from_millis(6000),
        expiry_grace: GRACE,
        read_only: false,
        chroot: None,
        request_timeout: None,
    }
}

pub(super) fn session(now: Instant) -> Session {
    Session::new(
        config(),
        HostList::new(vec![("h1".into(), 1), ("h2".into(), 2)], 7),
        now,
    )
}

/// Splits the output into frame payloads.
pub(super) fn frames(bytes: &[u8]) -> Vec<Vec<u8>> {
    let r = FrameReader::default();
    let mut out = Vec::new();
    let mut at = 0;
    while let Some((used, p)) = r.next_frame(&bytes[at..]).unwrap() {
        out.push(p.to_vec());
        at += used;
    }
    assert_eq!(at, bytes.len(), "output is whole frames");
    out
}

/// (xid, op code) of each request frame in the output.
pub(super) fn requests(bytes: &[u8]) -> Vec<(i32, i32)> {
    frames(bytes)
        .iter()
        .map(|f| {
            let h = RequestHeader::from_bytes(&f[..8]).unwrap();
            (h.xid, h.op_type)
        })
        .collect()
}

pub(super) fn reply(xid: i32, zxid: i64, err: i32, body: &[u8]) -> Vec<u8> {
    let mut f = ReplyHeader {
        xid,
        zxid: Zxid(zxid),
        err,
    }
    .to_bytes();
    f.extend_from_slice(body);
    f
}

pub(super) fn connected(now: Instant) -> Session {
    let mut s = session(now);
    let _ = s.poll_connect(now, 0.0);
    s.handle_connected(now);
    s.take_transmit();
    let resp = hex::decode(TOUR_CONNECT_RESPONSE).unwrap();
    assert_eq!(s.handle_frame(now, &resp), Next::Continue);
    s
}

pub(super) fn get_data(
    s: &mut Session,
    now: Instant,
    path: &str,
) -> oneshot::Receiver<Result<Reply, Error>> {
    let (tx, rx) = oneshot::channel();
    let req = Request::GetData(GetDataRequest {
        path: path.into(),
        watch: false,
    });
    s.submit(now, &req, tx, Hook::None);
    rx
}

pub(super) trait TryAll {
    fn rx_try(&mut self) -> Vec<SessionState>;
}

impl TryAll for crate::state::StateStream {
    fn rx_try(&mut self) -> Vec<SessionState> {
        let mut out = Vec::new();
        while let Some(s) = futures::FutureExt::now_or_never(self.next_state()).flatten() {
            out.push(s);
        }
        out
    }
}
