//! InterProcessSemaphoreV2: six clients share 2 leases on /examples/semaphore; each holds a lease
//! for a moment. At most two ever hold one at once.
//!
//! `cargo run --release --example semaphore [-- --connect HOSTS]`

#![forbid(unsafe_code)]

use clap::Parser;
use examples::embedded::{ConnectArg, Ensemble};

/// InterProcessSemaphoreV2: six clients share 2 leases on /examples/semaphore; each holds a lease
/// for a moment. At most two ever hold one at once.
#[derive(Debug, Parser)]
#[command(name = "semaphore")]
struct Args {
    #[command(flatten)]
    ensemble: ConnectArg,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let ensemble = Ensemble::start_or_connect(args.ensemble.connect.as_deref()).await?;
    let result = examples::recipes::semaphore::run(ensemble.connect_string()).await;
    ensemble.shutdown().await;
    result
}
