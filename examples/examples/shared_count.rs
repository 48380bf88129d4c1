//! SharedCount: four clients add to one counter on /examples/count with compare-and-set
//! (`try_set_count` on the version they read), retrying on conflict. The final count is exact.
//!
//! `cargo run --release --example shared_count [-- --connect HOSTS]`

#![forbid(unsafe_code)]

use clap::Parser;
use examples::embedded::{ConnectArg, Ensemble};

/// SharedCount: four clients add to one counter on /examples/count with compare-and-set
/// (`try_set_count` on the version they read), retrying on conflict. The final count is exact.
#[derive(Debug, Parser)]
#[command(name = "shared_count")]
struct Args {
    #[command(flatten)]
    ensemble: ConnectArg,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let ensemble = Ensemble::start_or_connect(args.ensemble.connect.as_deref()).await?;
    let result = examples::recipes::shared_count::run(ensemble.connect_string()).await;
    ensemble.shutdown().await;
    result
}
