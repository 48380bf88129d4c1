//! Interop with Apache Curator 5.4: a Java program (compiled here against Debian's Curator
//! jars) contends with Rust for the same InterProcessMutex path and joins the same
//! LeaderLatch path, alternates leadership with a Curator LeaderSelector, and shares a
//! read-write lock (with a downgrade) and a SemaphoreV2.
//! Exclusion, lease counts and single leadership must hold across both languages.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tests::client_support::{within, ApacheServer, TestServer, ZkServer};
use tests::ensemble_support::Ensemble3;
use tests::recipes_support::{
    compile_java, curator_installed, framework, until_children, JavaProcess, CURATOR_PEER_JAVA,
};
use zk_client::{CreateMode, Version};
use zk_recipes::{
    InterProcessMutex, InterProcessReadWriteLock, InterProcessSemaphoreV2, LeaderLatch,
    LeaderSelector,
};

const JAVA_ROUNDS: usize = 40;
const RUST_TASKS: usize = 3;
const RUST_ROUNDS: usize = 15;

/// A directory of this test's own holding the compiled peer: the tests run in parallel and
/// each removes its directory when done, so they must not share one.
fn peer_dir(server: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "zk-recipes-curator-{server}-{}",
        std::process::id()
    ));
    compile_java(&dir, "CuratorPeer", CURATOR_PEER_JAVA).expect("javac CuratorPeer");
    dir
}

async fn mutex_with_curator<S: TestServer>(dir: &std::path::Path) {
    let server = S::start().await;
    let connect = server.connect_string();
    let setup = framework(&connect, Duration::from_secs(10)).await;
    setup.ensure_path("/interop").await.unwrap();
    setup
        .client()
        .create("/interop/counter", b"0:none", CreateMode::Persistent)
        .await
        .unwrap();
    let mut java = JavaProcess::spawn(
        dir,
        "CuratorPeer",
        &[
            connect.clone(),
            "mutex".into(),
            "/interop/mutex".into(),
            JAVA_ROUNDS.to_string(),
        ],
    )
    .unwrap();
    java.expect("READY", Duration::from_secs(60)).await;
    let violations = Arc::new(AtomicUsize::new(0));
    let handoffs = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    let started = Instant::now();
    for _ in 0..RUST_TASKS {
        let connect = connect.clone();
        let violations = violations.clone();
        let handoffs = handoffs.clone();
        tasks.push(tokio::spawn(async move {
            let fw = framework(&connect, Duration::from_secs(10)).await;
            let mutex = InterProcessMutex::new(&fw, "/interop/mutex").unwrap();
            let c = fw.client();
            for _ in 0..RUST_ROUNDS {
                mutex.acquire().await.unwrap();
                if let Err(e) = c
                    .create("/interop/holder", b"", CreateMode::Ephemeral)
                    .await
                {
                    assert_eq!(e, zk_client::Error::NodeExists);
                    violations.fetch_add(1, Ordering::SeqCst);
                }
                let (d, _) = c.get_data("/interop/counter").await.unwrap();
                let d = String::from_utf8(d.to_vec()).unwrap();
                let (n, last) = d.split_once(':').unwrap();
                let n: u64 = n.parse().unwrap();
                if last == "java" {
                    handoffs.fetch_add(1, Ordering::SeqCst);
                }
                tokio::time::sleep(Duration::from_millis(1)).await;
                mutex
                    .fence()
                    .unwrap()
                    .check(c.multi())
                    .set_data(
                        "/interop/counter",
                        format!("{}:rust", n + 1).as_bytes(),
                        Version::Any,
                    )
                    .delete("/interop/holder", Version::Any)
                    .commit()
                    .await
                    .unwrap();
                mutex.release().await.unwrap();
            }
            fw.close().await;
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let rust_done = started.elapsed();
    let done = java.expect("DONE", Duration::from_secs(120)).await;
    let mut words = done[5..].split_whitespace();
    let java_violations: usize = words.next().unwrap().parse().unwrap();
    let java_after_rust: usize = words.next().unwrap().parse().unwrap();
    let (d, _) = setup.client().get_data("/interop/counter").await.unwrap();
    let d = String::from_utf8(d.to_vec()).unwrap();
    let total: usize = d.split_once(':').unwrap().0.parse().unwrap();
    println!(
        "mutex interop with Curator 5.4 on {}: java {JAVA_ROUNDS} + rust {RUST_TASKS}x{RUST_ROUNDS} \
         rounds -> counter {total}; violations java {java_violations}, rust {}; hand-offs \
         rust->java {java_after_rust}, java->rust {}; rust done in {rust_done:?}",
        S::NAME,
        violations.load(Ordering::SeqCst),
        handoffs.load(Ordering::SeqCst)
    );
    assert!(
        java_after_rust > 0 && handoffs.load(Ordering::SeqCst) > 0,
        "no real contention"
    );
    assert_eq!(total, JAVA_ROUNDS + RUST_TASKS * RUST_ROUNDS);
    assert_eq!(java_violations, 0);
    assert_eq!(violations.load(Ordering::SeqCst), 0);
    drop(java);
    setup.close().await;
}

async fn latch_with_curator<S: TestServer>(dir: &std::path::Path) {
    let server = S::start().await;
    let connect = server.connect_string();
    let fa = framework(&connect, Duration::from_secs(10)).await;
    let fb = framework(&connect, Duration::from_secs(10)).await;
    let a = LeaderLatch::builder(&fa, "/interop/latch")
        .id("rust-a")
        .start()
        .await
        .unwrap();
    assert!(a.await_leadership(Duration::from_secs(10)).await.unwrap());
    let mut java = JavaProcess::spawn(
        dir,
        "CuratorPeer",
        &[
            connect.clone(),
            "latch".into(),
            "/interop/latch".into(),
            "java".into(),
        ],
    )
    .unwrap();
    java.expect("STARTED", Duration::from_secs(60)).await;
    // Curator reads our node as a participant and sees us as leader.
    let limit = Duration::from_secs(5);
    until_children(
        &fa.client(),
        "/interop/latch",
        2,
        limit,
        "Java's latch node",
    )
    .await;
    let parts = a.participants().await.unwrap();
    let ids: Vec<_> = parts.iter().map(|p| p.id.as_str()).collect();
    assert_eq!(ids, ["rust-a", "java"]);
    java.send("leader");
    assert_eq!(
        java.expect("LEADERID", Duration::from_secs(10)).await,
        "LEADERID rust-a false"
    );
    java.send("participants");
    assert_eq!(
        java.expect("PARTICIPANTS", Duration::from_secs(10)).await,
        "PARTICIPANTS rust-a,java"
    );

    // Rust -> Java failover.
    let t = Instant::now();
    a.close().await;
    java.expect("ISLEADER", Duration::from_secs(10)).await;
    let to_java = t.elapsed();

    // A new Rust participant queues behind Java, then takes over when Java closes.
    let b = LeaderLatch::builder(&fb, "/interop/latch")
        .id("rust-b")
        .start()
        .await
        .unwrap();
    assert!(!b
        .await_leadership(Duration::from_millis(300))
        .await
        .unwrap());
    assert_eq!(b.leader().await.unwrap().unwrap().id, "java");
    let t = Instant::now();
    java.send("close");
    assert!(b.await_leadership(Duration::from_secs(10)).await.unwrap());
    let to_rust = t.elapsed();
    java.expect("CLOSED", Duration::from_secs(10)).await;
    println!(
        "leader latch interop with Curator 5.4 on {}: failover rust->java {to_java:?}, \
         java->rust {to_rust:?} (includes the Java side's stdin/stdout round trip)",
        S::NAME
    );
    b.close().await;
    drop(java);

    // A Curator leader that dies (SIGKILL): Rust leads once the server expires the Java
    // session (CuratorPeer asks for 10 s).
    let mut java = JavaProcess::spawn(
        dir,
        "CuratorPeer",
        &[
            connect.clone(),
            "latch".into(),
            "/interop/latch".into(),
            "java-2".into(),
        ],
    )
    .unwrap();
    java.expect("ISLEADER", Duration::from_secs(60)).await;
    let c = LeaderLatch::builder(&fa, "/interop/latch")
        .id("rust-c")
        .start()
        .await
        .unwrap();
    assert!(!c
        .await_leadership(Duration::from_millis(300))
        .await
        .unwrap());
    let t = Instant::now();
    drop(java);
    assert!(c.await_leadership(Duration::from_secs(30)).await.unwrap());
    println!(
        "leader latch interop with Curator 5.4 on {}: the Curator leader was killed; \
         Rust led {:?} later (Java session timeout 10 s)",
        S::NAME,
        t.elapsed()
    );
    c.close().await;
    fa.close().await;
    fb.close().await;
}

async fn selector_with_curator<S: TestServer>(dir: &std::path::Path) {
    const JAVA_TERMS: usize = 15;
    let server = S::start().await;
    let connect = server.connect_string();
    let fw = framework(&connect, Duration::from_secs(10)).await;
    fw.ensure_path("/interop").await.unwrap();
    let mut java = JavaProcess::spawn(
        dir,
        "CuratorPeer",
        &[
            connect.clone(),
            "selector".into(),
            "/interop/selector".into(),
            JAVA_TERMS.to_string(),
        ],
    )
    .unwrap();
    java.expect("READY", Duration::from_secs(60)).await;
    let violations = Arc::new(AtomicUsize::new(0));
    let terms = Arc::new(AtomicUsize::new(0));
    let (v, t) = (violations.clone(), terms.clone());
    let sel = LeaderSelector::builder(&fw, "/interop/selector")
        .id("rust")
        .auto_requeue(true)
        .start(move |leadership| {
            let (v, t) = (v.clone(), t.clone());
            async move {
                let c = leadership.framework.client();
                if c.create("/interop/leader", b"", CreateMode::Ephemeral)
                    .await
                    .is_err()
                {
                    v.fetch_add(1, Ordering::SeqCst);
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
                let _ = c.delete("/interop/leader", Version::Any).await;
                t.fetch_add(1, Ordering::SeqCst);
            }
        })
        .unwrap();
    let done = java.expect("DONE", Duration::from_secs(120)).await;
    sel.close().await;
    let java_violations: usize = done[5..].trim().parse().unwrap();
    println!(
        "leader selector interop with Curator 5.4 on {}: java {JAVA_TERMS} terms, rust {} \
         terms meanwhile; violations java {java_violations}, rust {}",
        S::NAME,
        terms.load(Ordering::SeqCst),
        violations.load(Ordering::SeqCst)
    );
    assert_eq!(java_violations, 0);
    assert_eq!(violations.load(Ordering::SeqCst), 0);
    assert!(terms.load(Ordering::SeqCst) > 0, "rust never led");
    drop(java);
    fw.close().await;
}

/// Sends a command to the Java peer and returns its answer's last word.
async fn ask(java: &mut JavaProcess, cmd: &str, answer: &str) -> String {
    java.send(cmd);
    let line = java.expect(answer, Duration::from_secs(20)).await;
    line.rsplit(' ').next().unwrap_or_default().to_owned()
}

async fn rwlock_and_semaphore_with_curator<S: TestServer>(dir: &std::path::Path) {
    let server = S::start().await;
    let connect = server.connect_string();
    let fw = framework(&connect, Duration::from_secs(10)).await;
    let mut java =
        JavaProcess::spawn(dir, "CuratorPeer", &[connect.clone(), "cmd".into()]).unwrap();
    java.expect("READY", Duration::from_secs(60)).await;
    let short = Duration::from_millis(300);
    let long = Duration::from_secs(5);

    // Read-write lock: Java's writer excludes Rust's readers and writers.
    let rw = InterProcessReadWriteLock::new(&fw, "/interop/rw").unwrap();
    ask(&mut java, "rw /interop/rw", "OK").await;
    assert_eq!(ask(&mut java, "wtry 5000", "WTRY").await, "true");
    assert!(!rw.read_lock().try_acquire(short).await.unwrap());
    assert!(!rw.write_lock().try_acquire(short).await.unwrap());
    ask(&mut java, "wrel", "WREL").await;
    // Readers of both languages share; a Java writer waits for them.
    assert!(rw.read_lock().try_acquire(long).await.unwrap());
    assert_eq!(ask(&mut java, "rtry 5000", "RTRY").await, "true");
    assert_eq!(ask(&mut java, "wtry 300", "WTRY").await, "false");
    ask(&mut java, "rrel", "RREL").await;
    rw.read_lock().release().await.unwrap();
    // Rust's writer excludes Java's readers.
    rw.write_lock().acquire().await.unwrap();
    assert_eq!(ask(&mut java, "rtry 300", "RTRY").await, "false");
    // Downgrade: Curator sees Rust's EPHEMERAL __READ__<writer seq> node as a reader.
    rw.read_lock().acquire().await.unwrap();
    rw.write_lock().release().await.unwrap();
    assert_eq!(ask(&mut java, "rtry 5000", "RTRY").await, "true");
    assert_eq!(ask(&mut java, "wtry 300", "WTRY").await, "false");
    ask(&mut java, "rrel", "RREL").await;
    rw.read_lock().release().await.unwrap();
    assert_eq!(ask(&mut java, "wtry 5000", "WTRY").await, "true");
    ask(&mut java, "wrel", "WREL").await;

    // SemaphoreV2 with 2 leases shared by both languages.
    let sem = InterProcessSemaphoreV2::new(&fw, "/interop/sem", 2).unwrap();
    ask(&mut java, "sem /interop/sem 2", "OK").await;
    assert_eq!(ask(&mut java, "stry 5000", "STRY").await, "true");
    let l1 = sem.try_acquire(long).await.unwrap().expect("second lease");
    assert!(sem.try_acquire(short).await.unwrap().is_none());
    assert_eq!(ask(&mut java, "stry 300", "STRY").await, "false");
    l1.close().await.unwrap();
    assert_eq!(ask(&mut java, "stry 5000", "STRY").await, "true");
    assert!(sem.try_acquire(short).await.unwrap().is_none());
    ask(&mut java, "srel", "SREL").await;
    ask(&mut java, "srel", "SREL").await;
    let a = sem
        .try_acquire(long)
        .await
        .unwrap()
        .expect("lease after Java returned");
    let b = sem.try_acquire(long).await.unwrap().expect("second lease");
    assert_eq!(sem.participant_nodes().await.unwrap().len(), 2);
    a.close().await.unwrap();
    b.close().await.unwrap();
    java.send("quit");
    drop(java);
    for p in ["/interop/rw", "/interop/sem/leases"] {
        let left = tests::recipes_support::children_left(&fw.client(), p).await;
        assert!(left.is_empty(), "{p}: {left:?}");
    }
    println!(
        "read-write lock and SemaphoreV2 interop with Curator 5.4 on {}: ok",
        S::NAME
    );
    fw.close().await;
}

// Every scenario above is generic over `TestServer`: each runs against Apache ZooKeeper,
// against zk-server (durable, in process) and against a 3-member zk-server ensemble (spawned
// processes, `tests::ensemble_support`; the proxied server is a member).
/// Every scenario against server `S`, with the Java peer compiled in a directory of its own.
async fn curator_interop<S: TestServer>(tag: &'static str) {
    if tests::require_peer(curator_installed(), "Curator 5.4 and a JDK").is_none() {
        return;
    }
    within(Duration::from_secs(300), "curator interop", async {
        let dir = tokio::task::spawn_blocking(move || peer_dir(tag))
            .await
            .unwrap();
        mutex_with_curator::<S>(&dir).await;
        latch_with_curator::<S>(&dir).await;
        rwlock_and_semaphore_with_curator::<S>(&dir).await;
        selector_with_curator::<S>(&dir).await;
        let _ = std::fs::remove_dir_all(&dir);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn curator_interop_apache() {
    curator_interop::<ApacheServer>("apache").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn curator_interop_zk_server() {
    curator_interop::<ZkServer>("zk-server").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn curator_interop_ensemble() {
    curator_interop::<Ensemble3>("ensemble").await;
}
