//! InterProcessMutex: eight clients each add 1 to a counter znode 25 times under one lock on
//! /examples/lock. Every write is fenced: the multi that writes the counter also checks the lock
//! node, so it commits only while the lock is really held. No update is lost.
//!
//! `cargo run --release --example lock [-- --connect HOSTS]`

#![forbid(unsafe_code)]

use examples::embedded::{connect_arg, Ensemble};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let ensemble = Ensemble::start_or_connect(connect_arg()?.as_deref()).await?;
    let result = examples::recipes::lock::run(ensemble.connect_string()).await;
    ensemble.shutdown().await;
    result
}
