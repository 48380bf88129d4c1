//! The sans-IO server core: data tree, ACLs, sessions, watches, and request processing split
//! into *prepare* (validate, assign a zxid, build a transaction) and *apply* (change the tree,
//! fire watches).
//!
//! Time comes in as an argument (milliseconds since the epoch), output comes out through
//! [`Core::poll_output`] and [`Core::take_txns`]; nothing here does IO.

pub mod acl;
mod apply;
mod dispatch;
pub mod java_hash;
mod lifecycle;
pub mod node;
pub mod node_map;
mod pending;
mod pipeline;
pub mod prepare;
mod quota;
mod read;
pub mod reconfig;
mod replicated;
pub mod reply;
pub mod sasl;
pub mod session;
mod state;
pub mod tree;
pub mod watch;

pub use node::{DataNode, OwnerKind};
pub use pending::PendingChanges;
pub use pipeline::{CoreMode, ForwardedRequest, ToReplicate};
pub use state::{ConnState, Core, Output};
pub use tree::{DataTree, Trigger, TxnResult};
pub use watch::ConnId;

/// The settings the core needs (a subset of [`crate::ServerConfig`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoreConfig {
    /// tickTime: the session expiry bucket width.
    pub tick_time_ms: i64,
    /// Smallest negotiable session timeout.
    pub min_session_timeout_ms: i32,
    /// Largest negotiable session timeout.
    pub max_session_timeout_ms: i32,
    /// `zookeeper.extendedTypesEnabled`: TTL nodes.
    pub extended_types_enabled: bool,
    /// `zookeeper.DigestAuthenticationProvider.superDigest`, e.g. `super:D/InIHSb7yEEbrWz8b9l71RjZJU=`.
    pub super_digest: Option<String>,
    /// The server id in the high byte of session ids (standalone Apache ZooKeeper uses 1).
    pub server_id: i64,
    /// zoo.cfg `reconfigEnabled`: a reconfig request is refused with ReconfigDisabled when
    /// false, and with Unimplemented (standalone) when true, as Apache ZooKeeper does.
    pub reconfig_enabled: bool,
    /// SASL DIGEST-MD5 users (name -> password) from the JAAS configuration's `Server` section
    /// (`java.security.auth.login.config`); None: no SASL server (a SASL token is answered with
    /// a null token, as Apache ZooKeeper without a JAAS `Server` section does).
    pub sasl_digest_users: Option<std::collections::BTreeMap<String, String>>,
    /// `zookeeper.superUser`: a SASL user who also gets the `super` id.
    pub sasl_super_user: Option<String>,
    /// A leader never proposes a zxid whose counter (low 32 bits) reaches this: it starts a new
    /// epoch instead (`XidRolloverException`). Apache ZooKeeper's is `0xffffffff`; the
    /// simulator makes it tiny to force rollovers.
    pub max_zxid_counter: u32,
    /// Secret entropy for SASL nonces. The core draws no randomness itself: the driver fills
    /// this from the operating system at start-up ([`crate::ServerConfig::core_config`]);
    /// tests and the simulator pass fixed bytes.
    pub entropy: [u8; 32],
    /// The `sasl` ACL scheme is registered (`authProvider.N` names Apache ZooKeeper's
    /// `SASLAuthenticationProvider`); without it a `sasl` ACL is InvalidACL.
    pub sasl_scheme: bool,
    /// zoo.cfg `localSessionsEnabled`: learners may keep sessions to themselves. zk-server
    /// still makes every session of its own clients global; as a leader it accepts writes of
    /// another server's local sessions, as Apache's `LeaderSessionTracker.checkSession` does.
    pub local_sessions_enabled: bool,
    /// zoo.cfg `quorumSync` (zk-server's): a leader answers a `sync` only once a quorum of
    /// voters confirmed, after the sync arrived, that it still leads (a ping round), so a
    /// deposed leader cannot answer one. Off: Apache ZooKeeper's sync (ZOOKEEPER-1675).
    pub quorum_sync: bool,
    /// zoo.cfg `linearizableReads` (zk-server's): every read waits behind a quorum sync of its
    /// own, so reads are linearizable on every member (ZOOKEEPER-3600). Every member of the
    /// ensemble needs the same setting (a learner's barrier is a quorum sync only when its
    /// leader makes syncs quorum syncs).
    pub linearizable_reads: bool,
    /// `zookeeper.skipACL=yes`: no ACL is checked, reads, writes and watch events alike
    /// (Apache's `ZooKeeperServer.skipACL`); ACLs are still stored as given.
    pub skip_acl: bool,
}

impl Default for CoreConfig {
    fn default() -> Self {
        CoreConfig {
            tick_time_ms: 2000,
            min_session_timeout_ms: 4000,
            max_session_timeout_ms: 40000,
            extended_types_enabled: false,
            super_digest: None,
            server_id: 1,
            reconfig_enabled: false,
            sasl_digest_users: None,
            sasl_super_user: None,
            sasl_scheme: false,
            max_zxid_counter: u32::MAX,
            entropy: [0; 32],
            local_sessions_enabled: false,
            quorum_sync: false,
            linearizable_reads: false,
            skip_acl: false,
        }
    }
}
#[cfg(test)]
mod model_tests;
#[cfg(test)]
mod replicated_tests;
