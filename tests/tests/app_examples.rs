//! Each recipe example runs to completion within a minute on an embedded zk-server, and its
//! guarantee holds (each example fails otherwise).

use std::future::Future;
use std::time::Duration;

use examples::embedded::Ensemble;
use examples::recipes;

async fn within_a_minute<F, Fut>(name: &str, example: F)
where
    F: FnOnce(String) -> Fut,
    Fut: Future<Output = anyhow::Result<()>>,
{
    let ensemble = Ensemble::start_or_connect(None)
        .await
        .expect("embedded zk-server");
    let hosts = ensemble.connect_string().to_owned();
    let result = tokio::time::timeout(Duration::from_secs(60), example(hosts)).await;
    ensemble.shutdown().await;
    match result {
        Ok(Ok(())) => {}
        Ok(Err(e)) => panic!("{name}: {e:#}"),
        Err(_) => panic!("{name} took more than a minute"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leader_latch_example() {
    within_a_minute("leader_latch", |h| async move {
        recipes::leader_latch::run(&h).await
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lock_example() {
    within_a_minute("lock", |h| async move { recipes::lock::run(&h).await }).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn semaphore_example() {
    within_a_minute(
        "semaphore",
        |h| async move { recipes::semaphore::run(&h).await },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shared_count_example() {
    within_a_minute("shared_count", |h| async move {
        recipes::shared_count::run(&h).await
    })
    .await;
}
