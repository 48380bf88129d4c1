//! The `zk-bench` load generator: N sessions x K requests in flight against any
//! ZooKeeper-protocol server, with latencies in an HdrHistogram.
//!
//! Module map:
//! - [`config`]: the workload ([`BenchConfig`], [`Mix`], [`OpKind`]) and its command line.
//! - [`run`](mod@run): setup, the per-session pipelined loop, warm-up and the measured window.
//! - [`report`]: the result ([`Report`]) as text or JSON.
//!
//! ```no_run
//! # async fn demo() -> Result<(), zk_server::bench::BenchError> {
//! let mut cfg = zk_server::bench::BenchConfig::default();
//! cfg.servers = "127.0.0.1:2181".into();
//! cfg.mix = "get=90,set=10".parse()?;
//! let report = zk_server::bench::run(&cfg).await?;
//! println!("{}", report.to_text());
//! # Ok(()) }
//! ```
//!
//! The generator keeps exactly K requests queued per session (one tokio task per session,
//! the futures in a `FuturesUnordered`), so the offered load is closed-loop: throughput is
//! what the server sustains at that concurrency.

pub mod config;
pub mod report;
pub mod run;

pub use config::{BenchConfig, Mix, OpKind};
pub use report::{OpStats, Report};
pub use run::run;

/// What can stop a benchmark before it reports.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BenchError {
    /// A bad option or option value.
    #[error("bad option: {0}")]
    Config(String),
    /// Connecting or setting up the key space failed.
    #[error("setup failed: {0}")]
    Setup(#[from] zk_client::Error),
}
