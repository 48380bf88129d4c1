//! SharedCount: compare-and-set adds by four clients; the total is exact.

use zk_client::Client;
use zk_recipes::SharedCount;

const PATH: &str = "/examples/count";
const CLIENTS: i32 = 4;
const ADDS: i32 = 50;

/// Runs the example against `hosts`, printing what happens; fails if the recipe's guarantee
/// did not hold.
///
/// # Cancel safety
///
/// Dropping the future drops its clients, which closes their sessions.
pub async fn run(hosts: &str) -> anyhow::Result<()> {
    let admin = Client::connect(hosts).await?;
    let count = SharedCount::new(admin.clone(), PATH, 0).await?;
    count.set_count(0).await?;
    let mut tasks = Vec::new();
    for _ in 0..CLIENTS {
        let hosts = hosts.to_owned();
        tasks.push(tokio::spawn(async move {
            let client = Client::connect(&hosts).await?;
            let count = SharedCount::new(client.clone(), PATH, 0).await?;
            let mut conflicts = 0;
            for _ in 0..ADDS {
                loop {
                    let (value, version) = count.versioned().await?;
                    if count.try_set_count(version, value + 1).await? {
                        break;
                    }
                    conflicts += 1;
                }
            }
            let _ = client.close().await;
            anyhow::Ok(conflicts)
        }));
    }
    let mut conflicts = 0;
    for t in tasks {
        conflicts += t.await??;
    }
    let total = count.count().await?;
    println!(
        "{CLIENTS} clients x {ADDS} adds = {total} (expected {}), {conflicts} compare-and-set conflicts retried",
        CLIENTS * ADDS
    );
    anyhow::ensure!(total == CLIENTS * ADDS, "lost updates");
    let _ = admin.close().await;
    Ok(())
}
