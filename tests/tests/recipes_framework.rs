//! The framework against a real server: namespaces, ensure-path, guaranteed delete, the
//! connection states a cut and an expiry produce (LOST simulated locally), a new session after
//! LOST with a latch that re-joins, and the session error policy keeping leadership through a
//! short suspension.

use std::time::{Duration, Instant};

use tests::client_support::{within, ApacheServer, TcpProxy, TestServer, ZkServer};
use tests::ensemble_support::Ensemble3;
use zk_client::Client;
use zk_recipes::{ConnectionState, ErrorPolicy, Framework, LeaderLatch};

async fn next(events: &mut tokio::sync::broadcast::Receiver<ConnectionState>) -> ConnectionState {
    within(Duration::from_secs(20), "state", events.recv())
        .await
        .unwrap()
}

async fn namespace_and_paths<S: TestServer>() {
    let server = S::start().await;
    let client = Client::connect(&server.connect_string()).await.unwrap();
    let fw = Framework::builder().namespace("app").build(client.clone());
    let latch = LeaderLatch::new(&fw, "/master").await.unwrap();
    assert!(latch
        .await_leadership(Duration::from_secs(10))
        .await
        .unwrap());
    let ours = latch.our_path().unwrap();
    assert!(ours.starts_with("/master/_c_"), "{ours}");
    // The client sees it under the namespace.
    let under = client.get_children("/app/master").await.unwrap();
    assert_eq!(under.len(), 1);
    assert!(ours.ends_with(&under[0]));
    assert_eq!(latch.fence().unwrap().path(), format!("/app{ours}"));
    fw.ensure_path("/a/b/c").await.unwrap();
    assert!(client.exists("/app/a/b/c").await.unwrap().is_some());
    client
        .create("/app/x", b"", zk_client::CreateMode::Persistent)
        .await
        .unwrap();
    fw.guaranteed_delete("/x").await.unwrap();
    fw.guaranteed_delete("/x").await.unwrap();
    assert!(client.exists("/app/x").await.unwrap().is_none());
    latch.close().await;
    let left = tests::recipes_support::children_left(&client, "/app/master").await;
    assert!(left.is_empty(), "{left:?}");
    fw.close().await;
}

async fn states_expiry_and_new_session<S: TestServer>() {
    let server = S::start().await;
    let proxy = TcpProxy::start(server.addr()).await;
    let fw = Framework::builder()
        .client_builder(Client::builder().session_timeout(Duration::from_secs(4)))
        .connect(&proxy.addr().to_string())
        .await
        .unwrap();
    assert!(fw.block_until_connected(Duration::from_secs(5)).await);
    assert_eq!(fw.connection_state(), Some(ConnectionState::Connected));
    let mut events = fw.state_events();
    let latch = LeaderLatch::new(&fw, "/rejoin").await.unwrap();
    assert!(latch
        .await_leadership(Duration::from_secs(10))
        .await
        .unwrap());
    let first_node = latch.our_path().unwrap();

    proxy.cut();
    // The state is published before the event is broadcast, so a receiver made right after
    // CONNECTED became the state may still get the CONNECTED event.
    let mut first = next(&mut events).await;
    if first == ConnectionState::Connected {
        first = next(&mut events).await;
    }
    assert_eq!(first, ConnectionState::Suspended);
    assert_eq!(next(&mut events).await, ConnectionState::Reconnected);

    let old_session = fw.session_id();
    let t = Instant::now();
    proxy.reject(true);
    proxy.cut();
    assert_eq!(next(&mut events).await, ConnectionState::Suspended);
    assert_eq!(next(&mut events).await, ConnectionState::Lost);
    let lost_after = t.elapsed();
    assert!(!latch.has_leadership());
    proxy.reject(false);
    assert_eq!(next(&mut events).await, ConnectionState::Reconnected);
    assert_ne!(fw.session_id(), old_session);
    // The latch notices its node is gone and joins again with a new one.
    assert!(latch
        .await_leadership(Duration::from_secs(20))
        .await
        .unwrap());
    let rejoined = t.elapsed();
    let second_node = latch.our_path().unwrap();
    assert_ne!(first_node, second_node);
    println!(
        "framework on {}: LOST {lost_after:?} after the partition began (session 4 s; the \
         client or the local timer, whichever first); new session and leadership again after {rejoined:?}",
        S::NAME
    );
    latch.close().await;
    fw.close().await;
}

async fn session_error_policy<S: TestServer>() {
    let server = S::start().await;
    let proxy = TcpProxy::start(server.addr()).await;
    let client = Client::builder()
        .session_timeout(Duration::from_secs(10))
        .connect(&proxy.addr().to_string())
        .await
        .unwrap();
    let fw = Framework::builder()
        .error_policy(ErrorPolicy::Session)
        .build(client);
    let latch = LeaderLatch::new(&fw, "/tolerant").await.unwrap();
    assert!(latch
        .await_leadership(Duration::from_secs(10))
        .await
        .unwrap());
    let mut changes = latch.leadership();
    changes.borrow_and_update();
    let mut events = fw.state_events();
    proxy.cut();
    within(Duration::from_secs(10), "reconnected", async {
        while events.recv().await.unwrap() != ConnectionState::Reconnected {}
    })
    .await;
    assert!(latch
        .await_leadership(Duration::from_secs(10))
        .await
        .unwrap());
    assert!(
        !changes.has_changed().unwrap(),
        "leadership flapped under the session policy"
    );
    latch.close().await;
    fw.close().await;
}

// Every scenario above is generic over `TestServer`: each runs against Apache ZooKeeper,
// against zk-server (durable, in process) and against a 3-member zk-server ensemble (spawned
// processes, `tests::ensemble_support`; the proxied server is a member).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn framework_namespace_and_paths_apache() {
    within(
        Duration::from_secs(60),
        "test",
        namespace_and_paths::<ApacheServer>(),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn framework_states_expiry_and_new_session_apache() {
    within(
        Duration::from_secs(90),
        "test",
        states_expiry_and_new_session::<ApacheServer>(),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn framework_session_error_policy_apache() {
    within(
        Duration::from_secs(60),
        "test",
        session_error_policy::<ApacheServer>(),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn framework_namespace_and_paths_zk_server() {
    within(
        Duration::from_secs(60),
        "test",
        namespace_and_paths::<ZkServer>(),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn framework_states_expiry_and_new_session_zk_server() {
    within(
        Duration::from_secs(90),
        "test",
        states_expiry_and_new_session::<ZkServer>(),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn framework_session_error_policy_zk_server() {
    within(
        Duration::from_secs(60),
        "test",
        session_error_policy::<ZkServer>(),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn framework_namespace_and_paths_ensemble() {
    within(
        Duration::from_secs(60),
        "test",
        namespace_and_paths::<Ensemble3>(),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn framework_states_expiry_and_new_session_ensemble() {
    within(
        Duration::from_secs(90),
        "test",
        states_expiry_and_new_session::<Ensemble3>(),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn framework_session_error_policy_ensemble() {
    within(
        Duration::from_secs(60),
        "test",
        session_error_policy::<Ensemble3>(),
    )
    .await;
}
