//! InterProcessMutex: eight clients each add 1 to a counter znode 25 times under one lock on
//! /examples/lock. Every write is fenced: the multi that writes the counter also checks the lock
//! node, so it commits only while the lock is really held. No update is lost.
//!
//! `cargo run --release --example lock [-- --connect HOSTS]`

#![forbid(unsafe_code)]

use clap::Parser;
use examples::embedded::{ConnectArg, Ensemble};

/// InterProcessMutex: eight clients each add 1 to a counter znode 25 times under one lock on
/// /examples/lock. Every write is fenced: the multi that writes the counter also checks the lock
/// node, so it commits only while the lock is really held. No update is lost.
#[derive(Debug, Parser)]
#[command(name = "lock")]
struct Args {
    #[command(flatten)]
    ensemble: ConnectArg,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let ensemble = Ensemble::start_or_connect(args.ensemble.connect.as_deref()).await?;
    let result = examples::recipes::lock::run(ensemble.connect_string()).await;
    ensemble.shutdown().await;
    result
}
