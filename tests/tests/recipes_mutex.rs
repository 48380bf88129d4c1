//! InterProcessMutex against a real server: mutual exclusion under contention (a counter
//! znode incremented by several clients, guarded by the mutex and its fence), re-entrancy,
//! timeouts, and no node left behind after release, timeout or a dropped acquire.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tests::client_support::{within, ApacheServer, TestServer, ZkServer};
use tests::ensemble_support::Ensemble3;
use tests::recipes_support::framework;
use zk_client::{CreateMode, Version};
use zk_recipes::InterProcessMutex;

const CLIENTS: usize = 5;
const ROUNDS: usize = 20;

async fn contention<S: TestServer>() {
    let server = S::start().await;
    let connect = server.connect_string();
    let setup = framework(&connect, Duration::from_secs(10)).await;
    setup
        .client()
        .create("/counter", b"0", CreateMode::Persistent)
        .await
        .unwrap();
    let holders = Arc::new(AtomicUsize::new(0));
    let max_holders = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..CLIENTS {
        let connect = connect.clone();
        let holders = holders.clone();
        let max_holders = max_holders.clone();
        tasks.push(tokio::spawn(async move {
            let fw = framework(&connect, Duration::from_secs(10)).await;
            let mutex = InterProcessMutex::new(&fw, "/locks/counter").unwrap();
            let client = fw.client();
            for _ in 0..ROUNDS {
                mutex.acquire().await.unwrap();
                let now = holders.fetch_add(1, Ordering::SeqCst) + 1;
                max_holders.fetch_max(now, Ordering::SeqCst);
                // Unversioned read-modify-write: only the mutex prevents lost updates.
                let (data, _) = client.get_data("/counter").await.unwrap();
                let n: u64 = String::from_utf8(data.to_vec()).unwrap().parse().unwrap();
                tokio::task::yield_now().await;
                let fence = mutex.fence().unwrap();
                fence
                    .check(client.multi())
                    .set_data("/counter", (n + 1).to_string().as_bytes(), Version::Any)
                    .commit()
                    .await
                    .unwrap();
                holders.fetch_sub(1, Ordering::SeqCst);
                mutex.release().await.unwrap();
            }
            fw.close().await;
        }));
    }
    within(Duration::from_secs(120), "contention", async {
        for t in tasks {
            t.await.unwrap();
        }
    })
    .await;
    let elapsed = started.elapsed();
    let (data, _) = setup.client().get_data("/counter").await.unwrap();
    let total = String::from_utf8(data.to_vec()).unwrap();
    println!(
        "mutex contention on {}: {CLIENTS} clients x {ROUNDS} rounds -> counter {total}, \
         max simultaneous holders {}, {:?} ({:?} per acquire/release)",
        S::NAME,
        max_holders.load(Ordering::SeqCst),
        elapsed,
        elapsed / (CLIENTS * ROUNDS) as u32
    );
    assert_eq!(total, (CLIENTS * ROUNDS).to_string());
    assert_eq!(max_holders.load(Ordering::SeqCst), 1);
    let left = tests::recipes_support::children_left(&setup.client(), "/locks/counter").await;
    assert!(left.is_empty(), "{left:?}");
    setup.close().await;
}

async fn reentrancy_timeout_and_cancellation<S: TestServer>() {
    let server = S::start().await;
    let a = framework(&server.connect_string(), Duration::from_secs(10)).await;
    let b = framework(&server.connect_string(), Duration::from_secs(10)).await;
    let ma = InterProcessMutex::new(&a, "/re").unwrap();
    let mb = InterProcessMutex::new(&b, "/re").unwrap();
    ma.acquire().await.unwrap();
    ma.acquire().await.unwrap();
    let node = ma.lock_node().unwrap();
    assert!(
        node.starts_with("/re/_c_") && node.contains("-lock-"),
        "{node}"
    );
    assert!(!mb.try_acquire(Duration::from_millis(300)).await.unwrap());
    // A dropped acquire future leaves no node.
    let dropped = tokio::time::timeout(Duration::from_millis(200), mb.acquire()).await;
    assert!(dropped.is_err());
    ma.release().await.unwrap();
    assert!(ma.is_acquired_in_this_process());
    // Asked on b's session, after b's background deletes (one session's requests are FIFO).
    let parts = mb.participant_nodes().await.unwrap();
    assert_eq!(parts, vec![node.clone()], "only the holder's node is left");
    ma.release().await.unwrap();
    assert!(!ma.is_acquired_in_this_process());
    assert!(mb.try_acquire(Duration::from_secs(5)).await.unwrap());
    // Cooperative revocation (Curator's Revoker): a waiter asks the holder to release.
    let revoked = {
        // b's create was acknowledged, but a's session may be on another member of an
        // ensemble: a sync brings a's member up to date first (ZooKeeper's reads are
        // sequentially consistent per session, not across sessions).
        a.client().sync("/re").await.unwrap();
        let parts = ma.participant_nodes().await.unwrap();
        assert_eq!(parts.len(), 1);
        let a = a.clone();
        tokio::spawn(async move {
            let ma = InterProcessMutex::new(&a, "/re").unwrap();
            let got = ma.try_acquire(Duration::from_secs(10)).await.unwrap();
            ma.release().await.unwrap();
            got
        })
    };
    let holder = mb.participant_nodes().await.unwrap()[0].clone();
    zk_recipes::attempt_revoke(&a, &holder).await.unwrap();
    within(
        Duration::from_secs(5),
        "revocation seen",
        mb.revocation_requested(),
    )
    .await
    .unwrap();
    mb.release().await.unwrap();
    assert!(within(Duration::from_secs(10), "revoker acquires", revoked)
        .await
        .unwrap());
    assert!(ma.release().await.is_err());
    let left = tests::recipes_support::children_left(&b.client(), "/re").await;
    assert!(left.is_empty(), "{left:?}");
    a.close().await;
    b.close().await;
}

/// Acquires dropped at arbitrary points (before, during and after the create) leave nothing.
async fn cancellation_storm<S: TestServer>() {
    let server = S::start().await;
    let a = framework(&server.connect_string(), Duration::from_secs(10)).await;
    let b = framework(&server.connect_string(), Duration::from_secs(10)).await;
    let ma = InterProcessMutex::new(&a, "/storm").unwrap();
    ma.acquire().await.unwrap();
    let mb = InterProcessMutex::new(&b, "/storm").unwrap();
    for i in 0..60u64 {
        // 0, 100 us, 200 us, ... 5.9 ms: spread over the create and the first listing.
        let d = Duration::from_micros(i * 100);
        let r = tokio::time::timeout(d, mb.acquire()).await;
        assert!(r.is_err(), "acquired while A holds");
    }
    // A node whose create was in flight at the drop is found by its protection prefix and
    // deleted in the background once the create's outcome is known; the others' deletes were
    // queued at the drop. Wait (bounded) until only A's node is left.
    let t = std::time::Instant::now();
    let limit = Duration::from_secs(10);
    tests::recipes_support::until_children(&a.client(), "/storm", 1, limit, "B's nodes deleted")
        .await;
    println!(
        "mutex cancellation storm on {}: 60 dropped acquires, nothing left {:?} after the last",
        S::NAME,
        t.elapsed()
    );
    ma.release().await.unwrap();
    assert!(a.client().get_children("/storm").await.unwrap().is_empty());
    a.close().await;
    b.close().await;
}

// Every scenario above is generic over `TestServer`: each runs against Apache ZooKeeper,
// against zk-server (durable, in process) and against a 3-member zk-server ensemble (spawned
// processes, `tests::ensemble_support`; the proxied server is a member).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mutex_contention_apache() {
    within(
        Duration::from_secs(180),
        "test",
        contention::<ApacheServer>(),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mutex_reentrancy_timeout_cancellation_apache() {
    within(
        Duration::from_secs(120),
        "test",
        reentrancy_timeout_and_cancellation::<ApacheServer>(),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mutex_cancellation_storm_apache() {
    within(
        Duration::from_secs(60),
        "test",
        cancellation_storm::<ApacheServer>(),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mutex_contention_zk_server() {
    within(Duration::from_secs(180), "test", contention::<ZkServer>()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mutex_reentrancy_timeout_cancellation_zk_server() {
    within(
        Duration::from_secs(120),
        "test",
        reentrancy_timeout_and_cancellation::<ZkServer>(),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mutex_cancellation_storm_zk_server() {
    within(
        Duration::from_secs(60),
        "test",
        cancellation_storm::<ZkServer>(),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mutex_contention_ensemble() {
    within(Duration::from_secs(180), "test", contention::<Ensemble3>()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mutex_reentrancy_timeout_cancellation_ensemble() {
    within(
        Duration::from_secs(120),
        "test",
        reentrancy_timeout_and_cancellation::<Ensemble3>(),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mutex_cancellation_storm_ensemble() {
    within(
        Duration::from_secs(60),
        "test",
        cancellation_storm::<Ensemble3>(),
    )
    .await;
}
