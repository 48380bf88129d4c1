//! LeaderLatch: three participants elect a leader on /examples/latch; the leader closes its
//! latch, then another one's session dies, and each time a backup takes over. Prints the
//! failover times.
//!
//! `cargo run --release --example leader_latch [-- --connect HOSTS]`

#![forbid(unsafe_code)]

use clap::Parser;
use examples::embedded::{ConnectArg, Ensemble};

/// LeaderLatch: three participants elect a leader on /examples/latch; the leader closes its
/// latch, then another one's session dies, and each time a backup takes over. Prints the
/// failover times.
#[derive(Debug, Parser)]
#[command(name = "leader_latch")]
struct Args {
    #[command(flatten)]
    ensemble: ConnectArg,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let ensemble = Ensemble::start_or_connect(args.ensemble.connect.as_deref()).await?;
    let result = examples::recipes::leader_latch::run(ensemble.connect_string()).await;
    ensemble.shutdown().await;
    result
}
