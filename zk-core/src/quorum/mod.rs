//! The server-to-server records of Apache ZooKeeper 3.8: the quorum port (Zab: leader and
//! learners) and the election port (Fast Leader Election). Encode and decode only, no IO.
//!
//! Both ports are byte streams that arrive in arbitrary pieces, so every stream decoder here is
//! incremental: it is given the bytes that have arrived and answers `Ok(Some((consumed, item)))`,
//! `Ok(None)` (wait for more, nothing consumed) or an error (close the connection). Every
//! length and count is bounded before anything is allocated, and no input makes a decoder
//! panic.
//!
//! # Module map
//!
//! | item | Apache ZooKeeper | what |
//! |---|---|---|
//! | [`QuorumPacket`], [`PacketType`] | `QuorumPacket` (zookeeper.jute), `Leader` constants | the one record of the quorum port |
//! | [`QuorumPacketReader`] | `BinaryInputArchive.readRecord` on the socket | packets off the unframed stream |
//! | [`QuorumStream`], [`QuorumItem`] | `Learner.syncWithLeader` | a learner's stream: packets, the inline snapshot |
//! | [`SnapWriter`], [`SnapReader`], [`SnapItem`] | `SerializeUtils.(de)serializeSnapshot` | the SNAP stream |
//! | [`LearnerInfo`] | `LearnerInfo` (zookeeper.jute), `LearnerHandler.run` | FOLLOWERINFO / OBSERVERINFO data |
//! | [`LeaderInfo`], [`AckEpoch`] | `LearnerHandler.run`, `Learner.registerWithLeader` | LEADERINFO / ACKEPOCH data |
//! | [`ForwardedRequest`] | `Learner.request` | REQUEST data |
//! | [`RevalidateRequest`], [`RevalidateReply`], [`PingTouches`] | `Learner.validateSession`, `Learner.ping` | REVALIDATE / PING data |
//! | [`CommitAndActivate`], [`InformAndActivate`] | `Leader.commitAndActivate`, `informAndActivate` | reconfig commits |
//! | [`crate::txn::TxnEntry`] | `Util.marshallTxnEntry` | PROPOSAL / INFORM data |
//! | [`InitialMessage`], [`split_host_port`] | `QuorumCnxManager.InitialMessage` | first bytes of an election connection |
//! | [`next_election_frame`], [`write_election_frame`] | `QuorumCnxManager.SendWorker` / `RecvWorker` | election framing |
//! | [`Notification`], [`ServerState`] | `FastLeaderElection.buildMsg` / `WorkerReceiver` | a vote |
//!
//! # Example
//!
//! A leader's PROPOSAL, cut into pieces as a socket might deliver it, read back by a learner.
//!
//! ```
//! use bytes::Bytes;
//! use zk_core::jute::Encode;
//! use zk_core::quorum::{PacketType, QuorumItem, QuorumPacket, QuorumStream};
//! use zk_core::txn::{CreateSessionTxn, TxnBody, TxnEntry, TxnHeader};
//! use zk_core::{SessionId, Zxid};
//!
//! let header = TxnHeader {
//!     client_id: SessionId(0x100_0000_0000_0000),
//!     cxid: 0,
//!     zxid: Zxid::new(1, 1),
//!     time: 1_700_000_000_000,
//!     txn_type: -10,
//! };
//! let body = TxnBody::CreateSession(CreateSessionTxn { timeout_ms: 10_000 });
//! let entry = TxnEntry::new(header, &body, None);
//! let proposal = QuorumPacket::new(PacketType::Proposal, Zxid::new(1, 1), Some(entry.to_bytes().into()));
//! let wire = proposal.to_bytes();
//!
//! let mut learner = QuorumStream::default();
//! let mut buf = Vec::new();
//! let mut got = None;
//! for piece in wire.chunks(7) {
//!     buf.extend_from_slice(piece);
//!     if let Some((used, QuorumItem::Packet(p))) = learner.next_item(&buf).unwrap() {
//!         buf.drain(..used);
//!         got = Some(p);
//!     }
//! }
//! let got = got.unwrap();
//! assert_eq!(got.kind(), Some(PacketType::Proposal));
//! assert_eq!(TxnEntry::decode(got.data_bytes()).unwrap().body().unwrap(), body);
//! ```

mod cursor;
mod election_frame;
mod initial_message;
mod learner_info;
mod notification;
mod packet;
mod packet_type;
mod payload;
mod request;
mod session;
mod snap;
mod snap_reader;
mod stream;

pub use election_frame::{next_election_frame, write_election_frame, PACKET_MAX_SIZE};
pub use initial_message::{
    split_host_port, ElectionProtocol, InitialMessage, MAX_ADDRESS_LEN, PROTOCOL_VERSION_V1,
    PROTOCOL_VERSION_V2,
};
pub use learner_info::LearnerInfo;
pub use notification::{Notification, ServerState};
pub use packet::{QuorumPacket, QuorumPacketReader};
pub use packet_type::PacketType;
pub use payload::{AckEpoch, CommitAndActivate, InformAndActivate, LeaderInfo};
pub use request::ForwardedRequest;
pub use session::{PingTouches, RevalidateReply, RevalidateRequest};
pub use snap::{SnapWriter, END_OF_NODES, SNAP_SIGNATURE};
pub use snap_reader::{SnapItem, SnapReader};
pub use stream::{QuorumItem, QuorumStream};

/// The default maximum buffer or string length on the quorum port: Apache's
/// `BinaryInputArchive.checkLength` bound, jute.maxbuffer (`0xfffff`) plus
/// `zookeeper.jute.maxbuffer.extrasize` (by default the same), about 2 MiB.
pub const DEFAULT_MAX_LEN: usize = 2 * crate::jute::DEFAULT_MAX_BUFFER;
