//! InterProcessSemaphoreV2: six clients share 2 leases on /examples/semaphore; each holds a lease
//! for a moment. At most two ever hold one at once.
//!
//! `cargo run --release --example semaphore [-- --connect HOSTS]`

#![forbid(unsafe_code)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use examples::embedded::{connect_arg, Ensemble};
use zk_client::Client;
use zk_recipes::InterProcessSemaphoreV2;

const PATH: &str = "/examples/semaphore";
const CLIENTS: usize = 6;
const LEASES: usize = 2;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let ensemble = Ensemble::start_or_connect(connect_arg()?.as_deref()).await?;
    let holding = Arc::new(AtomicUsize::new(0));
    let most = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for i in 1..=CLIENTS {
        let hosts = ensemble.connect_string().to_owned();
        let (holding, most) = (holding.clone(), most.clone());
        tasks.push(tokio::spawn(async move {
            let client = Client::connect(&hosts).await?;
            let semaphore = InterProcessSemaphoreV2::new(client.clone(), PATH, LEASES)?;
            for _ in 0..3 {
                let lease = semaphore.acquire().await?;
                let now = holding.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(now, Ordering::SeqCst);
                println!("client-{i} holds a lease ({now} held)");
                tokio::time::sleep(Duration::from_millis(50)).await;
                holding.fetch_sub(1, Ordering::SeqCst);
                lease.close().await?;
            }
            let _ = client.close().await;
            anyhow::Ok(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    let most = most.load(Ordering::SeqCst);
    println!(
        "{CLIENTS} clients x 3 leases of {LEASES}: at most {most} held at once, {:.2} s",
        started.elapsed().as_secs_f64()
    );
    anyhow::ensure!(most <= LEASES, "more than {LEASES} leases held at once");
    ensemble.shutdown().await;
    Ok(())
}
