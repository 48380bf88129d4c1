//! A ZooKeeper-compatible server: Apache ZooKeeper 3.8's client protocol and behaviour.
//!
//! Module map:
//! - [`core`]: the sans-IO server (data tree, ACLs, sessions, watches, prepare/apply).
//! - [`config`]: zoo.cfg and Java-system-property settings.
//! - [`sink`]: the durability hook ([`TxnSink`]) between prepare and reply.
//! - [`durable`]: recovery at start-up and the file-backed [`TxnSink`] ([`durable::FileSink`]).
//! - [`persist`]: Apache ZooKeeper 3.8's on-disk format (txn logs, snapshots, recovery).
//! - [`fourlw`]: four-letter words.
//! - [`logging`]: the binaries' log output (text, coloured on a terminal only, or JSON).
//! - [`time_fmt`]: times as Apache ZooKeeper's tools print them.
//! - `cli` (feature `cli`, on by default): the `zkcli` shell, zkCli.sh-compatible.
//! - `bench` (feature `bench`, on by default): the `zk-bench` load generator (uses zk-client).
//! - [`server`]: the tokio driver and the embedding API ([`Server`]).
//! - [`embedded`]: an ensemble of members in one process, for tests and examples
//!   ([`embedded::Ensemble`]).
//!
//! ```no_run
//! # async fn run() -> std::io::Result<()> {
//! let cfg = zk_server::ServerConfig::for_tests(std::env::temp_dir().join("zk-doc"));
//! let server = zk_server::Server::start(cfg).await?;
//! println!("serving on {}", server.addr());
//! server.shutdown().await;
//! # Ok(()) }
//! ```

#![forbid(unsafe_code)]

#[cfg(feature = "bench")]
pub mod bench;
#[cfg(feature = "cli")]
pub mod cli;
pub mod config;
pub mod core;
pub mod durable;
pub mod embedded;
pub mod error;
pub mod fourlw;
pub mod logging;
pub mod persist;
pub mod quorum;
pub mod server;
pub mod sink;
pub mod time_fmt;

pub use config::ServerConfig;
pub use error::ServerError;
pub use server::Server;
pub use sink::{MemorySink, NullSink, TxnSink};
