//! LeaderLatch against a real server: one leader among several, failover after the leader
//! closes and after its session dies (times printed), and a connection cut that suspends the
//! leader without handing leadership to anyone else.

use std::time::{Duration, Instant};

use futures::StreamExt;

use tests::client_support::{within, ApacheServer, TcpProxy, TestServer, ZkServer};
use tests::ensemble_support::Ensemble3;
use tests::recipes_support::framework;
use zk_recipes::{CloseMode, LeaderLatch};

const SESSION: Duration = Duration::from_secs(4);

async fn wait_leader(latches: &[&LeaderLatch], limit: Duration) -> usize {
    let start = Instant::now();
    loop {
        let leaders: Vec<usize> = (0..latches.len())
            .filter(|&i| latches[i].has_leadership())
            .collect();
        assert!(leaders.len() <= 1, "two leaders: {leaders:?}");
        if let [i] = leaders[..] {
            return i;
        }
        assert!(start.elapsed() < limit, "no leader within {limit:?}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

async fn single_leader_and_failover_on_close<S: TestServer>() {
    let server = S::start().await;
    let mut fws = Vec::new();
    let mut latches = Vec::new();
    for i in 0..3 {
        let fw = framework(&server.connect_string(), SESSION).await;
        latches.push(
            LeaderLatch::builder(&fw, "/election/master")
                .id(format!("rust-{i}"))
                .start()
                .await
                .unwrap(),
        );
        fws.push(fw);
    }
    let refs: Vec<&LeaderLatch> = latches.iter().collect();
    let leader = wait_leader(&refs, Duration::from_secs(10)).await;
    assert_eq!(leader, 0, "the first node created leads");
    let parts = latches[1].participants().await.unwrap();
    let ids: Vec<_> = parts.iter().map(|p| p.id.as_str()).collect();
    assert_eq!(ids, ["rust-0", "rust-1", "rust-2"]);
    assert!(parts[0].is_leader && !parts[1].is_leader);
    assert_eq!(latches[2].leader().await.unwrap().unwrap().id, "rust-0");
    let node = latches[0].our_path().unwrap();
    assert!(
        node.starts_with("/election/master/_c_") && node.contains("-latch-"),
        "{node}"
    );
    assert!(latches[0].fence().is_some() && latches[1].fence().is_none());

    // Failover after a close: the next in line leads.
    let changes = latches[0].leadership();
    let mut stream = Box::pin(latches[1].leadership_stream());
    assert_eq!(stream.next().await, Some(false));
    let t = Instant::now();
    latches[0].close_with(CloseMode::NotifyLeader).await;
    assert!(changes.has_changed().unwrap_or(true));
    assert!(!latches[0].has_leadership());
    let rest: Vec<&LeaderLatch> = latches[1..].iter().collect();
    assert!(latches[1]
        .await_leadership(Duration::from_secs(10))
        .await
        .unwrap());
    let failover = t.elapsed();
    assert_eq!(wait_leader(&rest, Duration::from_secs(1)).await, 0);
    assert_eq!(stream.next().await, Some(true));
    println!(
        "leader latch on {}: failover after close {failover:?}",
        S::NAME
    );
    assert!(latches[0]
        .await_leadership(Duration::from_millis(10))
        .await
        .is_err());

    for l in &latches[1..] {
        l.close().await;
    }
    let left = tests::recipes_support::children_left(&fws[2].client(), "/election/master").await;
    assert!(left.is_empty(), "{left:?}");
    for fw in fws {
        fw.close().await;
    }
}

async fn failover_when_the_leader_session_dies<S: TestServer>() {
    let server = S::start().await;
    let proxy = TcpProxy::start(server.addr()).await;
    let dying = framework(&proxy.addr().to_string(), SESSION).await;
    let other = framework(&server.connect_string(), SESSION).await;
    let a = LeaderLatch::new(&dying, "/election2").await.unwrap();
    assert!(a.await_leadership(Duration::from_secs(10)).await.unwrap());
    let b = LeaderLatch::new(&other, "/election2").await.unwrap();
    assert!(!b
        .await_leadership(Duration::from_millis(200))
        .await
        .unwrap());

    // A connection cut: the leader is suspended (not leader), reconnects to the same session,
    // and leads again; nobody else led meanwhile.
    let mut a_changes = a.leadership();
    proxy.cut();
    // Against a fast server the latch may already lead again when this task looks: wait for
    // the change (false, maybe then true again), not for the value false.
    within(
        Duration::from_secs(10),
        "leader suspended",
        a_changes.changed(),
    )
    .await
    .unwrap();
    assert!(a.await_leadership(Duration::from_secs(10)).await.unwrap());
    assert!(!b.has_leadership());

    // The leader's session dies: its connection is cut and new ones are refused until the
    // server expires it.
    let t = Instant::now();
    let mut ev = dying.state_events();
    let log = tokio::spawn(async move {
        while let Ok(s) = ev.recv().await {
            println!("dying framework: {s:?} at {:?}", t.elapsed());
        }
    });
    proxy.reject(true);
    proxy.cut();
    within(
        Duration::from_secs(10),
        "old leader steps down",
        a_changes.wait_for(|v| !*v),
    )
    .await
    .unwrap();
    let stepped_down = t.elapsed();
    assert!(!b.has_leadership(), "the old leader stepped down first");
    assert!(b.await_leadership(Duration::from_secs(20)).await.unwrap());
    let failover = t.elapsed();
    assert!(!a.has_leadership());
    println!(
        "leader latch on {}: session {SESSION:?}; old leader stepped down after \
         {stepped_down:?}, new leader after {failover:?}",
        S::NAME
    );
    log.abort();
    b.close().await;
    a.close().await;
    other.close().await;
    dying.close().await;
}

// Every scenario above is generic over `TestServer`: each runs against Apache ZooKeeper,
// against zk-server (durable, in process) and against a 3-member zk-server ensemble (spawned
// processes, `tests::ensemble_support`; the proxied server is a member).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn latch_single_leader_and_failover_on_close_apache() {
    within(
        Duration::from_secs(120),
        "test",
        single_leader_and_failover_on_close::<ApacheServer>(),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn latch_failover_when_the_leader_session_dies_apache() {
    within(
        Duration::from_secs(120),
        "test",
        failover_when_the_leader_session_dies::<ApacheServer>(),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn latch_single_leader_and_failover_on_close_zk_server() {
    within(
        Duration::from_secs(120),
        "test",
        single_leader_and_failover_on_close::<ZkServer>(),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn latch_failover_when_the_leader_session_dies_zk_server() {
    within(
        Duration::from_secs(120),
        "test",
        failover_when_the_leader_session_dies::<ZkServer>(),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn latch_single_leader_and_failover_on_close_ensemble() {
    within(
        Duration::from_secs(120),
        "test",
        single_leader_and_failover_on_close::<Ensemble3>(),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn latch_failover_when_the_leader_session_dies_ensemble() {
    within(
        Duration::from_secs(120),
        "test",
        failover_when_the_leader_session_dies::<Ensemble3>(),
    )
    .await;
}
