//! The other locks against a real server: read-write lock (shared readers, exclusive writer,
//! downgrade), SemaphoreV2 (fixed and SharedCount maximum, leases, timeouts), the semaphore
//! mutex and the multi lock. Each ends with nothing left under its path.

use std::time::Duration;

use tests::client_support::{within, ApacheServer, TestServer, ZkServer};
use tests::ensemble_support::Ensemble3;
use tests::recipes_support::{self, framework};
use zk_recipes::{
    Framework, InterProcessMultiLock, InterProcessMutex, InterProcessReadWriteLock,
    InterProcessSemaphoreMutex, InterProcessSemaphoreV2, MaxLeases, SharedCount,
};

const SHORT: Duration = Duration::from_millis(300);

async fn children(fw: &Framework, p: &str) -> Vec<String> {
    recipes_support::children_left(&fw.client(), p).await
}

async fn read_write<S: TestServer>() {
    let server = S::start().await;
    let a = framework(&server.connect_string(), Duration::from_secs(10)).await;
    let b = framework(&server.connect_string(), Duration::from_secs(10)).await;
    let la = InterProcessReadWriteLock::new(&a, "/rw").unwrap();
    let lb = InterProcessReadWriteLock::new(&b, "/rw").unwrap();
    // Readers share.
    la.read_lock().acquire().await.unwrap();
    assert!(lb.read_lock().try_acquire(SHORT).await.unwrap());
    // A writer waits for both readers.
    assert!(!lb.write_lock().try_acquire(SHORT).await.unwrap());
    lb.read_lock().release().await.unwrap();
    assert!(!lb.write_lock().try_acquire(SHORT).await.unwrap());
    la.read_lock().release().await.unwrap();
    assert!(lb
        .write_lock()
        .try_acquire(Duration::from_secs(5))
        .await
        .unwrap());
    let node = lb.write_lock().lock_node().unwrap();
    assert!(node.contains("-__WRIT__"), "{node}");
    // A writer excludes readers.
    assert!(!la.read_lock().try_acquire(SHORT).await.unwrap());
    // Downgrade: the writer takes the read lock, then releases the write lock.
    lb.read_lock().acquire().await.unwrap();
    let read_node = lb.read_lock().lock_node().unwrap();
    let seq = &node[node.len() - 10..];
    assert!(
        read_node.ends_with(&format!("-__READ__{seq}")),
        "{read_node} vs {node}"
    );
    lb.write_lock().release().await.unwrap();
    assert!(lb.read_lock().is_acquired_in_this_process());
    assert!(la
        .read_lock()
        .try_acquire(Duration::from_secs(5))
        .await
        .unwrap());
    assert!(!la.write_lock().try_acquire(SHORT).await.unwrap());
    lb.read_lock().release().await.unwrap();
    la.read_lock().release().await.unwrap();
    assert!(children(&a, "/rw").await.is_empty());
    a.close().await;
    b.close().await;
}

async fn semaphores<S: TestServer>() {
    let server = S::start().await;
    let a = framework(&server.connect_string(), Duration::from_secs(10)).await;
    let b = framework(&server.connect_string(), Duration::from_secs(10)).await;
    let sa = InterProcessSemaphoreV2::new(&a, "/sem", 2).unwrap();
    let sb = InterProcessSemaphoreV2::new(&b, "/sem", 2).unwrap();
    let l1 = sa.acquire().await.unwrap();
    let l2 = sb.acquire().await.unwrap();
    assert!(l1.node_path().starts_with("/sem/leases/_c_") && l1.node_path().contains("-lease-"));
    assert!(sb.try_acquire(SHORT).await.unwrap().is_none());
    // On b's session, which saw a's lease before its own (a's session may be on a member
    // that has not applied b's create yet).
    assert_eq!(sb.participant_nodes().await.unwrap().len(), 2);
    // A waiter gets the lease returned by another participant.
    let waiter = {
        let sb = sb.clone();
        tokio::spawn(async move { sb.acquire().await.unwrap() })
    };
    // Its lease node is the third: it waits (still holding the semaphore's lock).
    let limit = Duration::from_secs(5);
    recipes_support::until_children(&a.client(), "/sem/leases", 3, limit, "waiter queued").await;
    assert!(!waiter.is_finished());
    l1.close().await.unwrap();
    let l3 = within(Duration::from_secs(5), "waiter gets a lease", waiter)
        .await
        .unwrap();
    // Several at once, all or nothing.
    assert!(sa.acquire_many(2, Some(SHORT)).await.unwrap().is_none());
    drop(l2);
    drop(l3);
    let many = sa
        .acquire_many(2, Some(Duration::from_secs(5)))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(many.len(), 2);
    drop(many);

    // The maximum from a SharedCount (4-byte big-endian).
    let count = SharedCount::new(&a, "/sem-max", 1).await.unwrap();
    let (raw, _) = a.client().get_data("/sem-max").await.unwrap();
    assert_eq!(raw, &[0u8, 0, 0, 1][..]);
    let sc =
        InterProcessSemaphoreV2::with_max(&a, "/sem2", MaxLeases::Shared(count.clone())).unwrap();
    let sc_b =
        InterProcessSemaphoreV2::with_max(&b, "/sem2", MaxLeases::Shared(count.clone())).unwrap();
    let x = sc.acquire().await.unwrap();
    let waiter = tokio::spawn(async move { sc_b.acquire().await.unwrap() });
    recipes_support::until_children(&a.client(), "/sem2/leases", 2, limit, "waiter queued").await;
    assert!(!waiter.is_finished());
    let (_, version) = count.versioned().await.unwrap();
    assert!(count.try_set_count(version, 2).await.unwrap());
    assert!(!count.try_set_count(version, 3).await.unwrap());
    let y = within(Duration::from_secs(5), "count raised", waiter)
        .await
        .unwrap();
    assert_eq!(count.count().await.unwrap(), 2);
    x.close().await.unwrap();
    y.close().await.unwrap();

    // The semaphore mutex is not re-entrant.
    let ma = InterProcessSemaphoreMutex::new(&a, "/smutex").unwrap();
    let mb = InterProcessSemaphoreMutex::new(&b, "/smutex").unwrap();
    ma.acquire().await.unwrap();
    assert!(ma.fence().is_some());
    assert!(!mb.try_acquire(SHORT).await.unwrap());
    ma.release().await.unwrap();
    assert!(mb.try_acquire(Duration::from_secs(5)).await.unwrap());
    mb.release().await.unwrap();

    // Leases dropped above are deleted in the background on b's and a's sessions. One
    // session's requests are applied in order, so once a read on b completes, b's deletes
    // are applied; a read on a then sees them and a's own.
    b.client().exists("/").await.unwrap();
    for p in [
        "/sem/leases",
        "/sem/locks",
        "/sem2/leases",
        "/smutex/leases",
    ] {
        let left = children(&a, p).await;
        assert!(left.is_empty(), "{p}: {left:?}");
    }
    a.close().await;
    b.close().await;
}

async fn multi_lock<S: TestServer>() {
    let server = S::start().await;
    let a = framework(&server.connect_string(), Duration::from_secs(10)).await;
    let b = framework(&server.connect_string(), Duration::from_secs(10)).await;
    let ma = InterProcessMultiLock::new(&a, &["/m/1", "/m/2"]).unwrap();
    let mb = InterProcessMultiLock::new(&b, &["/m/1", "/m/2"]).unwrap();
    let single = InterProcessMutex::new(&b, "/m/2").unwrap();
    ma.acquire().await.unwrap();
    assert_eq!(ma.fences().unwrap().len(), 2);
    assert!(!mb.try_acquire(SHORT).await.unwrap());
    assert!(!mb.locks()[0].is_acquired_in_this_process());
    ma.release().await.unwrap();
    // The second path taken elsewhere: the multi lock gives back the first.
    single.acquire().await.unwrap();
    assert!(!ma.try_acquire(SHORT).await.unwrap());
    assert!(!ma.locks()[0].is_acquired_in_this_process());
    single.release().await.unwrap();
    assert!(mb.try_acquire(Duration::from_secs(5)).await.unwrap());
    mb.release().await.unwrap();
    let mut left = children(&a, "/m/1").await;
    left.extend(children(&a, "/m/2").await);
    assert!(left.is_empty(), "{left:?}");
    a.close().await;
    b.close().await;
}

// Every scenario above is generic over `TestServer`: each runs against Apache ZooKeeper,
// against zk-server (durable, in process) and against a 3-member zk-server ensemble (spawned
// processes, `tests::ensemble_support`; the proxied server is a member).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_write_lock_apache() {
    within(Duration::from_secs(60), "rw", read_write::<ApacheServer>()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn semaphores_apache() {
    within(
        Duration::from_secs(60),
        "semaphores",
        semaphores::<ApacheServer>(),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multi_lock_apache() {
    within(
        Duration::from_secs(60),
        "multi lock",
        multi_lock::<ApacheServer>(),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_write_lock_zk_server() {
    within(Duration::from_secs(60), "rw", read_write::<ZkServer>()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn semaphores_zk_server() {
    within(
        Duration::from_secs(60),
        "semaphores",
        semaphores::<ZkServer>(),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multi_lock_zk_server() {
    within(
        Duration::from_secs(60),
        "multi lock",
        multi_lock::<ZkServer>(),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_write_lock_ensemble() {
    within(Duration::from_secs(60), "rw", read_write::<Ensemble3>()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn semaphores_ensemble() {
    within(
        Duration::from_secs(60),
        "semaphores",
        semaphores::<Ensemble3>(),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multi_lock_ensemble() {
    within(
        Duration::from_secs(60),
        "multi lock",
        multi_lock::<Ensemble3>(),
    )
    .await;
}
