//! Faults against a real server: a connection loss while the lock node's create is in flight
//! (the create applied, its reply lost), the same with a session change before the retry
//! (CURATOR-498), a dropped acquire while disconnected, a session expiry while holding
//! (validity, fencing, failover time), and a server restart.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tests::client_support::{within, ApacheServer, TcpProxy, TestServer, ZkServer};
use tests::ensemble_support::Ensemble3;
use tests::recipes_support::{self, framework};
use zk_client::{Client, SessionId, SessionState, Version};
use zk_recipes::{ConnectionState, Framework, InterProcessMutex, LeaderLatch};

/// Waits until `p` has `n` children (seen from `fw`'s session), by watch.
async fn until_children(fw: &Framework, p: &str, n: usize, what: &str) {
    recipes_support::until_children(&fw.client(), p, n, Duration::from_secs(20), what).await;
}

/// The sessions that watch `path`, from the server's `wchp`.
async fn watches_on(server: SocketAddr, path: &str) -> Vec<SessionId> {
    let wchp = tokio::task::spawn_blocking(move || tests::four_letter_word(server, "wchp"))
        .await
        .expect("the wchp thread does not panic")
        .expect("wchp answers");
    let mut lines = wchp.lines();
    let mut out = Vec::new();
    while let Some(l) = lines.next() {
        if l == path {
            for s in lines.by_ref() {
                let Some(id) = s.strip_prefix("\t0x") else {
                    break;
                };
                let id = u64::from_str_radix(id, 16).expect("a hex session id");
                out.push(SessionId(id as i64));
            }
        }
    }
    out
}

/// Waits until `session` watches `path` (the sign that a waiting lock holder has found its
/// node and looked at its predecessor). No event tells one session what another watches, so
/// this asks the server (`wchp`) until it does.
async fn until_watching(server: SocketAddr, session: SessionId, path: &str, what: &str) {
    within(Duration::from_secs(20), what, async {
        while !watches_on(server, path).await.contains(&session) {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
}

/// Waits until `fw`'s client is disconnected.
async fn until_disconnected(fw: &Framework, what: &str) {
    let mut states = fw.client().state_stream();
    within(Duration::from_secs(20), what, async {
        while let Some(s) = states.next_state().await {
            if s == SessionState::Disconnected {
                return;
            }
        }
        panic!("the session ended");
    })
    .await
}

async fn connection_loss_during_acquire<S: TestServer>() {
    let server = S::start().await;
    let a = framework(&server.connect_string(), Duration::from_secs(10)).await;
    let proxy = TcpProxy::start(server.addr()).await;
    let b = framework(&proxy.addr().to_string(), Duration::from_secs(10)).await;
    let ma = InterProcessMutex::new(&a, "/f1").unwrap();
    ma.acquire().await.unwrap();
    let a_node = ma.lock_node().unwrap();
    let b_session = b.session_id();

    // B's create reaches the server, but its reply is lost with the connection.
    proxy.mute_replies(true);
    let waiter = tokio::spawn(async move {
        let mb = InterProcessMutex::new(&b, "/f1").unwrap();
        let got = mb.try_acquire(Duration::from_secs(30)).await.unwrap();
        (mb, b, got)
    });
    until_children(&a, "/f1", 2, "B's create applied").await;
    proxy.cut();
    proxy.mute_replies(false);
    // B reconnects to the same session, finds its protected node by its _c_<uuid>- prefix and
    // keeps it: it must not make a second node (which would queue it behind its own orphan).
    // Once it watches A's node it has settled on its node and waits.
    until_watching(server.addr(), b_session, &a_node, "B waits behind A").await;
    assert_eq!(
        a.client().get_children("/f1").await.unwrap().len(),
        2,
        "B made a second node"
    );
    let t = Instant::now();
    ma.release().await.unwrap();
    let (mb, b, got) = within(Duration::from_secs(20), "B acquires", waiter)
        .await
        .unwrap();
    assert!(got, "B timed out behind its own orphan node");
    println!(
        "connection loss during create on {}: B acquired {:?} after A released, 1 node",
        S::NAME,
        t.elapsed()
    );
    assert_eq!(a.client().get_children("/f1").await.unwrap().len(), 1);
    mb.release().await.unwrap();

    // A dropped acquire while disconnected: the node goes once the client reconnects.
    ma.acquire().await.unwrap();
    let mb = InterProcessMutex::new(&b, "/f1").unwrap();
    let pending = tokio::time::timeout(Duration::from_millis(300), mb.acquire()).await;
    assert!(pending.is_err());
    // (The drop above already queued the delete; make a second attempt and drop it while the
    // connection is down.)
    let acquiring = mb.acquire();
    let dropped_while_down = async {
        tokio::pin!(acquiring);
        let _ = tokio::time::timeout(Duration::from_millis(300), &mut acquiring).await;
        proxy.reject(true);
        proxy.cut();
        // Dropped once B knows its connection is gone.
        until_disconnected(&b, "B disconnected").await;
    };
    dropped_while_down.await;
    proxy.reject(false);
    until_children(&a, "/f1", 1, "B's nodes deleted after reconnect").await;
    ma.release().await.unwrap();
    assert!(a.client().get_children("/f1").await.unwrap().is_empty());
    a.close().await;
    b.close().await;
}

async fn session_expiry_while_holding<S: TestServer>() {
    let server = S::start().await;
    let proxy = TcpProxy::start(server.addr()).await;
    // A re-creates its session after expiry, as Curator does.
    let a = Framework::builder()
        .client_builder(Client::builder().session_timeout(Duration::from_secs(4)))
        .connect(&proxy.addr().to_string())
        .await
        .unwrap();
    let b = framework(&server.connect_string(), Duration::from_secs(4)).await;
    b.client()
        .create("/data", b"0", zk_client::CreateMode::Persistent)
        .await
        .unwrap();
    let ma = InterProcessMutex::new(&a, "/f2").unwrap();
    let mb = InterProcessMutex::new(&b, "/f2").unwrap();
    ma.acquire().await.unwrap();
    let validity = ma.validity().unwrap();
    let fence = ma.fence().unwrap();
    let old_session = a.session_id();
    let mut events = a.state_events();

    let t = Instant::now();
    proxy.reject(true);
    proxy.cut();
    within(Duration::from_secs(5), "validity lost", validity.lost()).await;
    let told = t.elapsed();
    assert!(within(Duration::from_secs(20), "B acquires", mb.acquire())
        .await
        .is_ok());
    let failover = t.elapsed();
    // Curator's semantics: A still "holds" locally; only validity and the fence tell the truth.
    assert!(ma.is_acquired_in_this_process());
    proxy.reject(false);
    within(Duration::from_secs(20), "A gets a new session", async {
        loop {
            if let Ok(ConnectionState::Reconnected) = events.recv().await {
                if a.session_id() != old_session {
                    return;
                }
            }
        }
    })
    .await;
    let stale = fence
        .check(a.client().multi())
        .set_data("/data", b"stale", Version::Any)
        .commit()
        .await;
    assert!(
        matches!(&stale, Err(zk_client::Error::MultiFailed { index: 0, .. })),
        "{stale:?}"
    );
    mb.fence()
        .unwrap()
        .check(b.client().multi())
        .set_data("/data", b"fresh", Version::Any)
        .commit()
        .await
        .unwrap();
    assert_eq!(b.client().get_data("/data").await.unwrap().0, &b"fresh"[..]);
    println!(
        "session expiry while holding on {}: holder told after {told:?}, other client \
         acquired after {failover:?} (session 4 s); the stale holder's fenced write was refused",
        S::NAME
    );
    ma.release().await.unwrap();
    mb.release().await.unwrap();
    assert!(b.client().get_children("/f2").await.unwrap().is_empty());
    a.close().await;
    b.close().await;
}

/// CURATOR-498: B's create is applied but its reply is lost, then B's session is declared
/// lost and replaced before B finds the node again. Whether the old node is still there (then
/// it must be discarded) or already expired, B must end with one node of its new session.
/// (Against Apache ZooKeeper 3.8 the old node is typically still there: the local LOST comes
/// before the server's tick-aligned expiry, so the discard path runs.)
async fn session_change_during_protected_create<S: TestServer>() {
    let server = S::start().await;
    let a = framework(&server.connect_string(), Duration::from_secs(10)).await;
    let proxy = TcpProxy::start(server.addr()).await;
    let b = Framework::builder()
        .client_builder(Client::builder().session_timeout(Duration::from_secs(4)))
        .connect(&proxy.addr().to_string())
        .await
        .unwrap();
    let old_session = b.session_id();
    let mut events = b.state_events();
    let ma = InterProcessMutex::new(&a, "/f4").unwrap();
    ma.acquire().await.unwrap();
    proxy.mute_replies(true);
    let waiter = {
        let b = b.clone();
        tokio::spawn(async move {
            let mb = InterProcessMutex::new(&b, "/f4").unwrap();
            let got = mb.try_acquire(Duration::from_secs(40)).await.unwrap();
            (mb, got)
        })
    };
    until_children(&a, "/f4", 2, "B's create applied").await;
    proxy.reject(true);
    proxy.cut();
    proxy.mute_replies(false);
    within(
        Duration::from_secs(20),
        "B's session declared lost",
        async { while events.recv().await.unwrap() != ConnectionState::Lost {} },
    )
    .await;
    proxy.reject(false);
    within(Duration::from_secs(20), "B's new session", async {
        while events.recv().await.unwrap() != ConnectionState::Reconnected {}
    })
    .await;
    assert_ne!(b.session_id(), old_session);
    ma.release().await.unwrap();
    let (mb, got) = within(Duration::from_secs(40), "B acquires", waiter)
        .await
        .unwrap();
    assert!(got);
    let node = mb.lock_node().unwrap();
    let (_, stat) = a.client().get_data(&node).await.unwrap();
    assert_eq!(
        stat.ephemeral_owner,
        b.session_id(),
        "B holds with a node of its new session"
    );
    assert_eq!(
        recipes_support::children_left(&a.client(), "/f4")
            .await
            .len(),
        1
    );
    mb.release().await.unwrap();
    assert!(recipes_support::children_left(&a.client(), "/f4")
        .await
        .is_empty());
    a.close().await;
    b.close().await;
}

async fn server_restart<S: TestServer>() {
    let mut server = S::start().await;
    let a = framework(&server.connect_string(), Duration::from_secs(15)).await;
    let b = framework(&server.connect_string(), Duration::from_secs(15)).await;
    let ma = InterProcessMutex::new(&a, "/f3").unwrap();
    ma.acquire().await.unwrap();
    let la = LeaderLatch::new(&a, "/f3-latch").await.unwrap();
    assert!(la.await_leadership(Duration::from_secs(10)).await.unwrap());
    let lb = LeaderLatch::new(&b, "/f3-latch").await.unwrap();
    let waiter = {
        let b = b.clone();
        tokio::spawn(async move {
            let mb = InterProcessMutex::new(&b, "/f3").unwrap();
            mb.acquire().await.unwrap();
            mb
        })
    };
    // The waiter's node is queued behind A's before the restart.
    until_children(&a, "/f3", 2, "the waiter's node created").await;
    let t = Instant::now();
    server.restart().await;
    assert!(la.await_leadership(Duration::from_secs(20)).await.unwrap());
    println!(
        "server restart on {}: the leader led again {:?} after the restart began",
        S::NAME,
        t.elapsed()
    );
    assert!(!lb.has_leadership());
    assert!(!waiter.is_finished());
    ma.fence()
        .unwrap()
        .check(a.client().multi())
        .create("/f3-written", b"", zk_client::CreateMode::Persistent)
        .commit()
        .await
        .unwrap();
    ma.release().await.unwrap();
    let mb = within(Duration::from_secs(20), "waiter acquires", waiter)
        .await
        .unwrap();
    mb.release().await.unwrap();
    la.close().await;
    assert!(lb.await_leadership(Duration::from_secs(10)).await.unwrap());
    lb.close().await;
    assert!(recipes_support::children_left(&a.client(), "/f3")
        .await
        .is_empty());
    let left = recipes_support::children_left(&a.client(), "/f3-latch").await;
    assert!(left.is_empty(), "{left:?}");
    a.close().await;
    b.close().await;
}

// Every scenario above is generic over `TestServer`: each runs against Apache ZooKeeper,
// against zk-server (durable, in process) and against a 3-member zk-server ensemble (spawned
// processes, `tests::ensemble_support`; the proxied server is a member).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_loss_during_acquire_apache() {
    within(
        Duration::from_secs(90),
        "test",
        connection_loss_during_acquire::<ApacheServer>(),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_expiry_while_holding_apache() {
    within(
        Duration::from_secs(90),
        "test",
        session_expiry_while_holding::<ApacheServer>(),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_change_during_protected_create_apache() {
    within(
        Duration::from_secs(120),
        "test",
        session_change_during_protected_create::<ApacheServer>(),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_restart_apache() {
    within(
        Duration::from_secs(90),
        "test",
        server_restart::<ApacheServer>(),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_loss_during_acquire_zk_server() {
    within(
        Duration::from_secs(90),
        "test",
        connection_loss_during_acquire::<ZkServer>(),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_expiry_while_holding_zk_server() {
    within(
        Duration::from_secs(90),
        "test",
        session_expiry_while_holding::<ZkServer>(),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_change_during_protected_create_zk_server() {
    within(
        Duration::from_secs(120),
        "test",
        session_change_during_protected_create::<ZkServer>(),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_restart_zk_server() {
    within(
        Duration::from_secs(90),
        "test",
        server_restart::<ZkServer>(),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_loss_during_acquire_ensemble() {
    within(
        Duration::from_secs(90),
        "test",
        connection_loss_during_acquire::<Ensemble3>(),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_expiry_while_holding_ensemble() {
    within(
        Duration::from_secs(90),
        "test",
        session_expiry_while_holding::<Ensemble3>(),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_change_during_protected_create_ensemble() {
    within(
        Duration::from_secs(120),
        "test",
        session_change_during_protected_create::<Ensemble3>(),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_restart_ensemble() {
    within(
        Duration::from_secs(90),
        "test",
        server_restart::<Ensemble3>(),
    )
    .await;
}
