//! The replicated ensemble, on Apache ZooKeeper 3.8's own quorum protocol: configuration and
//! Fast Leader Election, sans-IO (no sockets, clocks, threads or randomness inside).
//!
//! Module map, from the config to the decided leader:
//! - [`server`]: one `server.N` line (`QuorumPeer.QuorumServer`): addresses, type, text form.
//! - [`verifier`]: the members and the majority rule, and the QV text notifications carry
//!   (`QuorumMaj`).
//! - [`config`]: a member's quorum settings from zoo.cfg, myid and the dynamic file, checked as
//!   `QuorumPeerConfig` checks them ([`crate::ServerConfig::quorum`]).
//! - [`vote`]: states, votes, vote order and vote equality (`Vote`, `totalOrderPredicate`).
//! - [`notification`]: election messages as values, independent of the wire.
//! - [`responder`]: what the receiver thread answers, whatever the election is doing.
//! - [`election`]: `lookForLeader` as a state machine ([`Election`]).
//! - [`zab`]: the quorum-port messages, typed (`Leader`'s packet types).
//! - [`disk`]: what a peer asks of its disk, and the committed log (`ZKDatabase.committedLog`).
//! - [`plan`]: DIFF, TRUNC or SNAP for a learner (`LearnerHandler.syncFollower`).
//! - [`leader`]: discovery, sync and broadcast on the leader's side (`Leader`, `LearnerHandler`).
//! - [`learner`]: the same on a follower's or an observer's side (`Learner`, `Follower`, `Observer`).
//! - [`ctx`]: what the roles share with their peer (ensemble, timing, outputs).
//! - [`peer`]: one member (`QuorumPeer`): the election and the role it plays, over the core.
//! - `properties`, `java_order` (private): Java `Properties` parsing and the member order of
//!   Java's hash maps, which the QV text follows.
//!
//! Three voters electing in memory (every message delivered at once):
//!
//! ```
//! use zk_server::quorum::{Delivery, Election, ElectionTiming, Output, QuorumVerifier, ServerState};
//! use zk_core::Zxid;
//!
//! let qv = QuorumVerifier::parse_qv_text(
//!     "server.1=127.0.0.1:2888:3888\nserver.2=127.0.0.1:2889:3889\nserver.3=127.0.0.1:2890:3890",
//!     false,
//! )
//! .unwrap();
//! let mut peers: Vec<Election> =
//!     (1..=3).map(|sid| Election::new(sid, &qv, ElectionTiming::default())).collect();
//! let mut now = 0;
//! for p in &mut peers {
//!     p.start(now, Zxid::ZERO, 0);
//! }
//! let mut decided = Vec::new();
//! loop {
//!     // Deliver every pending message; with none in flight, let the earliest timer fire.
//!     let mut mail = Vec::new();
//!     for p in &mut peers {
//!         while let Some(out) = p.poll_output() {
//!             match out {
//!                 Output::Send(m) => mail.push((p.my_id(), m)),
//!                 Output::Decided(d) => decided.push((p.my_id(), d.leader, d.state)),
//!                 Output::ConnectAll | Output::Restart(_) => {}
//!             }
//!         }
//!     }
//!     if decided.len() == 3 {
//!         break;
//!     }
//!     if mail.is_empty() {
//!         now = peers.iter().filter_map(Election::poll_timeout).min().unwrap();
//!         for p in &mut peers {
//!             if p.poll_timeout() == Some(now) {
//!                 p.handle_timeout(now, Delivery::Delivered);
//!             }
//!         }
//!     }
//!     for (from, m) in mail {
//!         peers[(m.to - 1) as usize].handle_notification(now, m.received_from(from));
//!     }
//! }
//! decided.sort();
//! assert_eq!(
//!     decided,
//!     [(1, 3, ServerState::Following), (2, 3, ServerState::Following), (3, 3, ServerState::Leading)]
//! );
//! ```

pub mod config;
pub mod ctx;
pub mod disk;
pub mod dynamic_file;
pub mod election;
#[cfg(test)]
mod election_capture;
#[cfg(test)]
mod election_sim;
pub(crate) mod java_order;
pub mod leader;
pub mod learner;
pub mod notification;
pub mod peer;
pub mod plan;
pub(crate) mod properties;
pub mod responder;
pub mod server;
pub mod verifier;
pub mod vote;
pub mod wire;
pub mod zab;

pub use config::{QuorumConfig, DEFAULT_ELECTION_PORT_BIND_RETRY};
pub use election::{Decision, Delivery, Election, ElectionTiming, Output};
pub use notification::{Notification, ToSend};
pub use peer::{Boot, Peer, PeerConfig, PeerOutput};
pub use server::{HostPort, LearnerType, QuorumServer, ServerAddr, ServerLineError};
pub use verifier::{QuorumVerifier, QvTextError};
pub use vote::{RecordedVote, ServerState, Vote};
