//! LeaderSelector against a real server: one leader at a time with auto-requeue, leadership
//! handed on when the leader's future ends, interruption on demand and on connection loss.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tests::client_support::{within, ApacheServer, TcpProxy, TestServer, ZkServer};
use tests::ensemble_support::Ensemble3;
use tests::recipes_support::framework;
use zk_recipes::LeaderSelector;

async fn selectors<S: TestServer>() {
    let server = S::start().await;
    let leaders = Arc::new(AtomicUsize::new(0));
    let max = Arc::new(AtomicUsize::new(0));
    let terms = Arc::new(AtomicUsize::new(0));
    let mut fws = Vec::new();
    let mut sels = Vec::new();
    for i in 0..3 {
        let fw = framework(&server.connect_string(), Duration::from_secs(10)).await;
        let (leaders, max, terms) = (leaders.clone(), max.clone(), terms.clone());
        let sel = LeaderSelector::builder(&fw, "/selector")
            .id(format!("sel-{i}"))
            .auto_requeue(true)
            .start(move |_leadership| {
                let (leaders, max, terms) = (leaders.clone(), max.clone(), terms.clone());
                async move {
                    let now = leaders.fetch_add(1, Ordering::SeqCst) + 1;
                    max.fetch_max(now, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    leaders.fetch_sub(1, Ordering::SeqCst);
                    terms.fetch_add(1, Ordering::SeqCst);
                }
            })
            .unwrap();
        sels.push(sel);
        fws.push(fw);
    }
    within(Duration::from_secs(20), "30 terms", async {
        while terms.load(Ordering::SeqCst) < 30 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    assert_eq!(max.load(Ordering::SeqCst), 1, "two leaders at once");
    let parts = sels[0].participants().await.unwrap();
    assert!(parts.len() <= 3 && parts.iter().all(|p| p.id.starts_with("sel-")));
    println!(
        "leader selector on {}: {} terms among 3 auto-requeueing selectors, max 1 leader",
        S::NAME,
        terms.load(Ordering::SeqCst)
    );
    for s in &sels {
        s.close().await;
    }
    // A selector closed while queued drops its acquire, whose node's delete is queued on its
    // session before close returns: a completed read on each session shows it applied.
    for fw in &fws {
        fw.client().exists("/").await.unwrap();
    }
    let left = tests::recipes_support::children_left(&fws[0].client(), "/selector").await;
    assert!(left.is_empty(), "{left:?}");
    for fw in fws {
        fw.close().await;
    }
}

async fn interruption<S: TestServer>() {
    let server = S::start().await;
    let proxy = TcpProxy::start(server.addr()).await;
    let fw = framework(&proxy.addr().to_string(), Duration::from_secs(10)).await;
    let runs = Arc::new(AtomicUsize::new(0));
    let r = runs.clone();
    let sel = LeaderSelector::builder(&fw, "/selector2")
        .id("forever")
        .start(move |leadership| {
            r.fetch_add(1, Ordering::SeqCst);
            async move {
                assert!(leadership.validity.is_valid());
                std::future::pending::<()>().await
            }
        })
        .unwrap();
    let mut lead = sel.leadership();
    within(Duration::from_secs(10), "leads", lead.wait_for(|v| *v))
        .await
        .unwrap();
    // On demand.
    sel.interrupt_leadership();
    within(
        Duration::from_secs(10),
        "interrupted",
        lead.wait_for(|v| !*v),
    )
    .await
    .unwrap();
    sel.requeue();
    within(
        Duration::from_secs(10),
        "leads again",
        lead.wait_for(|v| *v),
    )
    .await
    .unwrap();
    // On connection loss (SUSPENDED under the standard policy).
    proxy.cut();
    within(
        Duration::from_secs(10),
        "interrupted by SUSPENDED",
        lead.wait_for(|v| !*v),
    )
    .await
    .unwrap();
    assert_eq!(runs.load(Ordering::SeqCst), 2);
    sel.close().await;
    fw.close().await;
}

// Every scenario above is generic over `TestServer`: each runs against Apache ZooKeeper,
// against zk-server (durable, in process) and against a 3-member zk-server ensemble (spawned
// processes, `tests::ensemble_support`; the proxied server is a member).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leader_selector_apache() {
    within(
        Duration::from_secs(60),
        "selector",
        selectors::<ApacheServer>(),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leader_selector_interruption_apache() {
    within(
        Duration::from_secs(60),
        "selector",
        interruption::<ApacheServer>(),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leader_selector_zk_server() {
    within(Duration::from_secs(60), "selector", selectors::<ZkServer>()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leader_selector_interruption_zk_server() {
    within(
        Duration::from_secs(60),
        "selector",
        interruption::<ZkServer>(),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leader_selector_ensemble() {
    within(
        Duration::from_secs(60),
        "selector",
        selectors::<Ensemble3>(),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leader_selector_interruption_ensemble() {
    within(
        Duration::from_secs(60),
        "selector",
        interruption::<Ensemble3>(),
    )
    .await;
}
