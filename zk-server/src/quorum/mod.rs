//! The replicated ensemble, on Apache ZooKeeper 3.8's own quorum protocol: configuration first.
//!
//! Module map:
//! - [`server`]: one `server.N` line (`QuorumPeer.QuorumServer`): addresses, type, text form.
//! - [`verifier`]: the members and the majority rule, and the QV text notifications carry
//!   (`QuorumMaj`).
//! - [`config`]: a member's quorum settings from zoo.cfg, myid and the dynamic file, checked as
//!   `QuorumPeerConfig` checks them ([`crate::ServerConfig::quorum`]).
//! - `properties`, `java_order` (private): Java `Properties` parsing and the member order of
//!   Java's hash maps, which the QV text follows.

pub mod config;
pub(crate) mod java_order;
pub(crate) mod properties;
pub mod server;
pub mod verifier;

pub use config::{QuorumConfig, DEFAULT_ELECTION_PORT_BIND_RETRY};
pub use server::{HostPort, LearnerType, QuorumServer, ServerAddr, ServerLineError};
pub use verifier::{QuorumVerifier, QvTextError};
