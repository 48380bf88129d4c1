//! InterProcessSemaphoreV2: six clients share 2 leases on /examples/semaphore; each holds a lease
//! for a moment. At most two ever hold one at once.
//!
//! `cargo run --release --example semaphore [-- --connect HOSTS]`

#![forbid(unsafe_code)]

use examples::embedded::{connect_arg, Ensemble};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let ensemble = Ensemble::start_or_connect(connect_arg()?.as_deref()).await?;
    let result = examples::recipes::semaphore::run(ensemble.connect_string()).await;
    ensemble.shutdown().await;
    result
}
