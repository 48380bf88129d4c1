//! Requests between the call that made them and their reply: the frame, the xid, where the
//! reply goes, and what the reply must do to the watch registry.

use std::time::Instant;

use tokio::sync::oneshot;
use zk_core::frame::write_frame;
use zk_core::jute::Encode;
use zk_core::message::{Request, Response};
use zk_core::proto::RequestHeader;
use zk_core::{OpCode, WatcherType, Zxid};

use super::watches::{WatchKind, WatcherId};
use crate::error::Error;

/// A successful reply: the zxid of its header and its body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Reply {
    /// `ReplyHeader.zxid`.
    pub(crate) zxid: Zxid,
    /// The decoded body.
    pub(crate) body: Response,
}

/// Where the outcome of a request goes.
pub(crate) type ReplyTx = oneshot::Sender<Result<Reply, Error>>;

/// What a reply does besides answering the caller.
#[derive(Debug)]
pub(crate) enum Hook {
    /// Nothing.
    None,
    /// The request registers watcher `id` on success (exists: also on NoNode).
    Register {
        id: WatcherId,
        path: String,
        kind: WatchKind,
        exists: bool,
    },
    /// A removeWatches asked by the user: on success the local watchers are told.
    UserRemove { path: String, wtype: WatcherType },
    /// The closeSession request: its reply ends the session.
    Close,
    /// Send the reply header's zxid here, whatever its error code
    /// ([`Client::request_with_zxid`](crate::Client::request_with_zxid)).
    ReplyZxid(oneshot::Sender<Zxid>),
}

/// One request, unsent or in flight.
#[derive(Debug)]
pub(crate) struct Pending {
    pub(crate) xid: i32,
    pub(crate) op: OpCode,
    /// The whole frame, until it is written.
    pub(crate) frame: Vec<u8>,
    /// `None` for the client's own requests (SetWatches, removals) and after a timeout.
    pub(crate) reply: Option<ReplyTx>,
    pub(crate) hook: Hook,
    pub(crate) deadline: Option<Instant>,
}

impl Pending {
    /// Answers the caller, if one still waits.
    pub(crate) fn answer(&mut self, outcome: Result<Reply, Error>) {
        if let Some(tx) = self.reply.take() {
            // The caller may have dropped its future; the outcome is then unwanted.
            let _ = tx.send(outcome);
        }
    }
}

/// Encodes one request frame: length, `RequestHeader`, body.
pub(crate) fn encode_frame(xid: i32, req: &Request) -> Vec<u8> {
    let mut out = Vec::new();
    write_frame(&mut out, |w| {
        RequestHeader {
            xid,
            op_type: req.op_code().as_i32(),
        }
        .encode(w);
        req.encode(w);
    });
    out
}

/// Hands out xids: 1 upwards, wrapping from `i32::MAX` back to 1 (never 0 or a special xid).
#[derive(Debug, Clone)]
pub(crate) struct XidCounter {
    next: i32,
}

impl Default for XidCounter {
    fn default() -> Self {
        XidCounter { next: 1 }
    }
}

impl XidCounter {
    pub(crate) fn next_xid(&mut self) -> i32 {
        let xid = self.next;
        self.next = if xid == i32::MAX { 1 } else { xid + 1 };
        xid
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use zk_core::proto::GetDataRequest;

    #[test]
    fn xids_wrap_to_one() {
        let mut x = XidCounter { next: i32::MAX };
        assert_eq!(x.next_xid(), i32::MAX);
        assert_eq!(x.next_xid(), 1);
    }

    #[test]
    fn frame_matches_the_java_client() {
        // "getdata_watch" step of zookeeper-3.8-java-client-tour.txt.
        let req = Request::GetData(GetDataRequest {
            path: "/tour".into(),
            watch: true,
        });
        let frame = encode_frame(0x1a, &req);
        assert_eq!(
            hex::encode(&frame[4..]),
            "0000001a00000004000000052f746f757201"
        );
        assert_eq!(frame[..4], [0, 0, 0, 18]);
    }
}
