//! Apache ZooKeeper's client wire protocol and data model, with no IO.
//!
//! This crate is what `zk-client` and `zk-server` share: the jute binary codec, every record of
//! the client protocol (3.8/3.9), op codes, error codes, the data model's enumerations, path
//! rules, the transaction records of the log, and the server-to-server records (quorum port and
//! election port). It has no sockets, no clock and no async runtime.
//!
//! # Module map
//!
//! | module | what |
//! |---|---|
//! | [`jute`] | the codec: [`jute::Reader`], [`jute::Encode`], [`jute::Decode`], the `jute_record!` macro |
//! | [`frame`] | length-prefixed frames with a maximum length (jute.maxbuffer) |
//! | [`proto`] | request and response records, ConnectRequest/ConnectResponse, headers |
//! | [`message`] | whole request and reply bodies keyed by op code: [`Request`], [`Response`], multi |
//! | [`data`] | Id, ACL, Stat, StatPersisted, ClientInfo |
//! | [`txn`] | transaction records (TxnHeader, CreateTxn, ...), [`txn::TxnBody`], [`txn::TxnEntry`], the file header |
//! | [`quorum`] | server-to-server: QuorumPacket and its stream reader, the SNAP stream, LearnerInfo, payloads; election initial message, frames, Notification |
//! | [`ephemeral`] | the stored ephemeral owner of containers and TTL nodes, the maximum TTL |
//! | [`opcode`], [`error_code`], [`types`] | op codes, error codes, events, states, create modes, perms |
//! | [`path`] | path validation, parent/name, chroot, sequence suffixes, connect strings |
//! | [`auth`] | the digest scheme's id |
//! | [`ids`] | the [`Zxid`] and [`SessionId`] newtypes |
//!
//! # Example
//!
//! Encode a create2 request frame, then read it back as a server would.
//!
//! ```
//! use zk_core::{frame, jute::{Decode, Encode, Reader}, message::Request, proto::*, data::Acl};
//!
//! let req = Request::Create2(CreateRequest {
//!     path: "/a".into(),
//!     data: Some("x".into()),
//!     acl: Acl::open_unsafe(),
//!     flags: zk_core::CreateMode::Persistent.flag(),
//! });
//! let mut wire = Vec::new();
//! frame::write_frame(&mut wire, |w| {
//!     RequestHeader { xid: 1, op_type: req.op_code().as_i32() }.encode(w);
//!     req.encode(w);
//! });
//! assert_eq!(wire.len(), 4 + 50);
//!
//! let (used, payload) = frame::FrameReader::default().next_frame(&wire).unwrap().unwrap();
//! assert_eq!(used, wire.len());
//! let mut r = Reader::new(payload);
//! let header = RequestHeader::decode(&mut r).unwrap();
//! assert_eq!(Request::decode(header.op_type, &mut r).unwrap(), req);
//! ```

#![forbid(unsafe_code)]

pub mod auth;
pub mod data;
pub mod ephemeral;
pub mod error;
pub mod error_code;
pub mod event;
pub mod frame;
pub mod ids;
pub mod jute;
pub mod message;
pub mod opcode;
pub mod path;
pub mod proto;
pub mod quorum;
pub mod txn;
pub mod types;

pub use data::{Acl, Id, Stat};
pub use error::{DecodeError, FrameError, PathError};
pub use error_code::ErrorCode;
pub use event::WatchedEvent;
pub use ids::{SessionId, Zxid};
pub use message::{MultiResult, Request, Response};
pub use opcode::OpCode;
pub use types::{AddWatchMode, CreateMode, EventType, KeeperState, Perms, WatcherType};
