//! LeaderLatch: three participants elect a leader on /examples/latch; the leader closes its
//! latch, then another one's session dies, and each time a backup takes over. Prints the
//! failover times.
//!
//! `cargo run --release --example leader_latch [-- --connect HOSTS]`

#![forbid(unsafe_code)]

use examples::embedded::{connect_arg, Ensemble};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let ensemble = Ensemble::start_or_connect(connect_arg()?.as_deref()).await?;
    let result = examples::recipes::leader_latch::run(ensemble.connect_string()).await;
    ensemble.shutdown().await;
    result
}
