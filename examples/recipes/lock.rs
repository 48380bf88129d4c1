//! InterProcessMutex: fenced increments of one counter by eight clients; no update lost.

use std::time::Instant;

use zk_client::{Client, CreateMode, Error, Version};
use zk_recipes::InterProcessMutex;

const LOCK: &str = "/examples/lock";
const COUNTER: &str = "/examples/counter";
const CLIENTS: usize = 8;
const ROUNDS: usize = 25;

async fn increment(client: &Client, mutex: &InterProcessMutex) -> anyhow::Result<()> {
    mutex.acquire().await?;
    let (data, stat) = client.get_data(COUNTER).await?;
    let n: u64 = String::from_utf8_lossy(&data).parse().unwrap_or(0);
    let fence = mutex
        .fence()
        .ok_or_else(|| anyhow::anyhow!("held lock without a fence"))?;
    let written = fence
        .check(client.multi())
        .set_data(
            COUNTER,
            (n + 1).to_string().as_bytes(),
            Version::Exact(stat.version),
        )
        .commit()
        .await;
    mutex.release().await?;
    written?;
    Ok(())
}

/// Runs the example against `hosts`, printing what happens; fails if the recipe's guarantee
/// did not hold.
///
/// # Cancel safety
///
/// Dropping the future drops its clients, which closes their sessions.
pub async fn run(hosts: &str) -> anyhow::Result<()> {
    let admin = Client::connect(hosts).await?;
    for p in ["/examples", COUNTER] {
        match admin.create(p, b"0", CreateMode::Persistent).await {
            Ok(_) | Err(Error::NodeExists) => {}
            Err(e) => return Err(e.into()),
        }
    }
    admin.set_data(COUNTER, b"0", Version::Any).await?;

    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..CLIENTS {
        let hosts = hosts.to_owned();
        tasks.push(tokio::spawn(async move {
            let client = Client::connect(&hosts).await?;
            let mutex = InterProcessMutex::new(client.clone(), LOCK)?;
            for _ in 0..ROUNDS {
                increment(&client, &mutex).await?;
            }
            let _ = client.close().await;
            anyhow::Ok(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    let (data, _) = admin.get_data(COUNTER).await?;
    let total: usize = String::from_utf8_lossy(&data).parse()?;
    let left = match admin.get_children(LOCK).await {
        Ok(left) => left,
        // The lock's parent is a container: once empty, the server may have removed it.
        Err(zk_client::Error::NoNode) => Vec::new(),
        Err(e) => return Err(e.into()),
    };
    println!(
        "{CLIENTS} clients x {ROUNDS} increments = {total} (expected {}) in {:.2} s; lock nodes left: {}",
        CLIENTS * ROUNDS,
        started.elapsed().as_secs_f64(),
        left.len()
    );
    anyhow::ensure!(total == CLIENTS * ROUNDS, "lost updates");
    anyhow::ensure!(left.is_empty(), "lock nodes leaked: {left:?}");
    let _ = admin.close().await;
    Ok(())
}
