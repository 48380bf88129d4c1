//! SharedCount: four clients add to one counter on /examples/count with compare-and-set
//! (`try_set_count` on the version they read), retrying on conflict. The final count is exact.
//!
//! `cargo run --release --example shared_count [-- --connect HOSTS]`

#![forbid(unsafe_code)]

use examples::embedded::{connect_arg, Ensemble};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let ensemble = Ensemble::start_or_connect(connect_arg()?.as_deref()).await?;
    let result = examples::recipes::shared_count::run(ensemble.connect_string()).await;
    ensemble.shutdown().await;
    result
}
