//! LeaderLatch: three participants, a clean step-down and a dead session, with failover times.

use std::time::{Duration, Instant};

use zk_client::Client;
use zk_recipes::LeaderLatch;

const PATH: &str = "/examples/latch";

/// Waits until exactly one of the open latches leads; returns its index.
async fn leader_of(latches: &[Option<LeaderLatch>]) -> anyhow::Result<usize> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let leaders: Vec<usize> = latches
            .iter()
            .enumerate()
            .filter(|(_, l)| l.as_ref().is_some_and(|l| l.has_leadership()))
            .map(|(i, _)| i)
            .collect();
        match leaders.as_slice() {
            [one] => return Ok(*one),
            [] if Instant::now() < deadline => {}
            [] => anyhow::bail!("no leader within 30 s"),
            many => anyhow::bail!("more than one leader: {many:?}"),
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Runs the example against `hosts`, printing what happens; fails if the recipe's guarantee
/// did not hold.
///
/// # Cancel safety
///
/// Dropping the future drops its clients, which closes their sessions.
pub async fn run(hosts: &str) -> anyhow::Result<()> {
    let mut clients = Vec::new();
    let mut latches = Vec::new();
    for i in 1..=3 {
        let client = Client::connect(hosts).await?;
        let latch = LeaderLatch::builder(client.clone(), PATH)
            .id(format!("node-{i}"))
            .start()
            .await?;
        clients.push(client);
        latches.push(Some(latch));
    }
    let first = leader_of(&latches).await?;
    if let Some(l) = &latches[first] {
        let ids: Vec<String> = l.participants().await?.into_iter().map(|p| p.id).collect();
        println!("participants: {}", ids.join(", "));
    }
    println!("leader: node-{}", first + 1);

    // 1. The leader steps down cleanly: close deletes its latch node.
    let started = Instant::now();
    if let Some(l) = latches[first].take() {
        l.close().await;
    }
    let second = leader_of(&latches).await?;
    println!(
        "node-{} closed its latch; node-{} leads after {:.1} ms",
        first + 1,
        second + 1,
        started.elapsed().as_secs_f64() * 1e3
    );

    // 2. The new leader's process dies: its session closes and the ephemeral node goes.
    let started = Instant::now();
    drop(latches[second].take());
    let _ = clients[second].close().await;
    let third = leader_of(&latches).await?;
    println!(
        "node-{}'s session ended; node-{} leads after {:.1} ms",
        second + 1,
        third + 1,
        started.elapsed().as_secs_f64() * 1e3
    );

    for l in latches.into_iter().flatten() {
        l.close().await;
    }
    for c in clients {
        let _ = c.close().await;
    }
    Ok(())
}
