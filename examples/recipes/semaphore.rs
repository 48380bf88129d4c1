//! InterProcessSemaphoreV2: six clients share two leases; never more than two held.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use zk_client::Client;
use zk_recipes::InterProcessSemaphoreV2;

const PATH: &str = "/examples/semaphore";
const CLIENTS: usize = 6;
const LEASES: usize = 2;

/// Runs the example against `hosts`, printing what happens; fails if the recipe's guarantee
/// did not hold.
///
/// # Cancel safety
///
/// Dropping the future drops its clients, which closes their sessions.
pub async fn run(hosts: &str) -> anyhow::Result<()> {
    let holding = Arc::new(AtomicUsize::new(0));
    let most = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for i in 1..=CLIENTS {
        let hosts = hosts.to_owned();
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
    Ok(())
}
