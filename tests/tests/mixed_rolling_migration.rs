//! The rolling migration: a live 3-member Apache ZooKeeper 3.8 ensemble is replaced by
//! zk-server one member at a time, on the same data directories and ports, while clients
//! use it; then it goes back to Apache ZooKeeper the same way. Each step is what an
//! operator does (zk-server/README.md, "Migrating a live Apache ZooKeeper ensemble"):
//! followers first and the leader last, SIGTERM, start the other kind on the member's own
//! zoo.cfg, wait until every member serves again and writes go on.
//!
//! Throughout, these run against a connect string of every member:
//!
//! * the register workload (`tests::history_support`): sessions doing gets, sets and
//!   compare-and-sets, every operation recorded; at the end the history is checked against
//!   the committed history merged from every member's log (`zk_history::check`: no
//!   acknowledged write lost, every read saw a state the committed order allows);
//! * kazoo (`tests/clients/kazoo_migration.py`): a Lock and an Election contended by three
//!   sessions each, holders and leaders proving exclusivity with an ephemeral token node,
//!   ephemeral member nodes that must survive, and a DataWatch that must see the last value
//!   written;
//! * zk-recipes (Curator's znode layout): an InterProcessMutex guarding a fenced counter
//!   between two sessions, and two LeaderLatches that must never both lead.
//!
//! No session may expire (every member is down for seconds only; sessions time out after
//! 30 s). The longest write unavailability of each step is printed (liveness is asserted:
//! writes resume within [`RESUME`]; the figures are reported, not asserted). After the last
//! step every member converges to the same zxid and the same tree.
//!
//! `ZK_MIGRATION_LONG=1` runs three round trips instead of one, with the load held longer
//! between steps.

mod mixed;

use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use mixed::{voter, Ensemble, Kind};
use tests::history_support::{BackgroundLoad, RegisterWorkload};
use zk_client::{Client, CreateMode, Version};
use zk_history::{check, History, Options, Outcome, Reply};
use zk_recipes::{Framework, InterProcessMutex, LeaderLatch};

/// How long writes may stay unavailable at a step before the test fails.
const RESUME: Duration = Duration::from_secs(30);
/// The session timeout of every client.
const SESSION: Duration = Duration::from_secs(30);

fn long() -> bool {
    std::env::var_os("ZK_MIGRATION_LONG").is_some()
}

/// Completion ticks of the acknowledged writes of `history`, in order.
fn write_completions(history: &History) -> Vec<u64> {
    let mut t: Vec<u64> = history
        .ops()
        .iter()
        .filter_map(|op| match op.outcome {
            Outcome::Ok {
                reply: Reply::Set { .. } | Reply::Created,
                ..
            } => op.completed,
            _ => None,
        })
        .collect();
    t.sort_unstable();
    t
}

/// The longest time in `[from, to]` with no write acknowledged.
fn longest_gap(history: &History, from: u64, to: u64) -> Duration {
    let mut last = from;
    let mut gap = 0;
    for c in write_completions(history) {
        if c < from {
            continue;
        }
        if c > to {
            break;
        }
        gap = gap.max(c - last);
        last = c;
    }
    Duration::from_nanos(gap.max(to.saturating_sub(last)))
}

/// The kazoo process.
struct Kazoo {
    child: Child,
    stop_file: std::path::PathBuf,
    out: std::path::PathBuf,
}

impl Kazoo {
    fn start(connect: &str, dir: &std::path::Path) -> Kazoo {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/clients/kazoo_migration.py");
        let stop_file = dir.join("kazoo.stop");
        let out = dir.join("kazoo.out");
        let child = Command::new("/usr/bin/python3")
            .arg(script)
            .arg(connect)
            .arg("/kazoo")
            .arg(&stop_file)
            .arg("3600")
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&out).expect("kazoo.out"))
            .stderr(std::fs::File::create(dir.join("kazoo.err")).expect("kazoo.err"))
            .spawn()
            .expect("python3");
        Kazoo {
            child,
            stop_file,
            out,
        }
    }

    /// Asks it to stop and returns what it printed once it printed DONE.
    fn finish(mut self) -> String {
        std::fs::write(&self.stop_file, b"").expect("stop file");
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            assert!(Instant::now() < deadline, "kazoo did not finish");
            std::thread::sleep(Duration::from_millis(100));
        }
        let out = std::fs::read_to_string(&self.out).unwrap_or_default();
        assert!(
            out.contains("DONE"),
            "kazoo failed:\n{out}\n{}",
            std::fs::read_to_string(self.out.with_file_name("kazoo.err")).unwrap_or_default()
        );
        out
    }
}

impl Drop for Kazoo {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A `STAT <name> <n>` line of kazoo's output.
fn stat(out: &str, name: &str) -> u64 {
    out.lines()
        .find_map(|l| l.strip_prefix(&format!("STAT {name} ")))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("kazoo printed no {name}:\n{out}"))
}

/// What the zk-recipes sessions did.
#[derive(Default)]
struct RecipeStats {
    /// Increments committed under the mutex.
    increments: AtomicU64,
    /// Increments whose commit had an unknown outcome (connection lost).
    unknown: AtomicU64,
    /// Failed acquires, reads, releases (retried).
    errors: AtomicU64,
    holders: AtomicUsize,
    max_holders: AtomicUsize,
    /// Samples in which both latches led.
    both_led: AtomicU64,
    /// Samples in which one latch led.
    led: AtomicU64,
}

async fn recipe_session(connect: &str) -> Framework {
    let client = Client::builder()
        .session_timeout(SESSION)
        .connect(connect)
        .await
        .expect("connect");
    Framework::new(client)
}

/// Two sessions take turns under an InterProcessMutex, each turn a fenced increment of
/// `/recipes/counter`; two LeaderLatches are sampled every 20 ms. Until `stop`.
async fn recipes(
    connect: String,
    stop: Arc<AtomicBool>,
    stats: Arc<RecipeStats>,
) -> Vec<Framework> {
    let setup = recipe_session(&connect).await;
    setup
        .client()
        .create("/recipes", b"", CreateMode::Persistent)
        .await
        .unwrap();
    setup
        .client()
        .create("/recipes/counter", b"0", CreateMode::Persistent)
        .await
        .unwrap();
    let mut tasks = Vec::new();
    for _ in 0..2 {
        let (connect, stop, stats) = (connect.clone(), stop.clone(), stats.clone());
        tasks.push(tokio::spawn(async move {
            let fw = recipe_session(&connect).await;
            let mutex = InterProcessMutex::new(&fw, "/recipes/lock").unwrap();
            let client = fw.client();
            while !stop.load(Ordering::Relaxed) {
                match mutex.try_acquire(Duration::from_secs(20)).await {
                    Ok(true) => {}
                    Ok(false) => continue,
                    Err(_) => {
                        stats.errors.fetch_add(1, Ordering::Relaxed);
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                }
                let now = stats.holders.fetch_add(1, Ordering::SeqCst) + 1;
                stats.max_holders.fetch_max(now, Ordering::SeqCst);
                match client.get_data("/recipes/counter").await {
                    Ok((data, _)) => {
                        let n: u64 = std::str::from_utf8(&data).unwrap().parse().unwrap();
                        let fence = mutex.fence().expect("held");
                        let write = fence
                            .check(client.multi())
                            .set_data(
                                "/recipes/counter",
                                (n + 1).to_string().as_bytes(),
                                Version::Any,
                            )
                            .commit()
                            .await;
                        match write {
                            Ok(_) => stats.increments.fetch_add(1, Ordering::Relaxed),
                            Err(e) if e.is_retryable() => {
                                stats.unknown.fetch_add(1, Ordering::Relaxed)
                            }
                            Err(_) => stats.errors.fetch_add(1, Ordering::Relaxed),
                        };
                    }
                    Err(_) => {
                        stats.errors.fetch_add(1, Ordering::Relaxed);
                    }
                }
                stats.holders.fetch_sub(1, Ordering::SeqCst);
                for _ in 0..100 {
                    if mutex.release().await.is_ok() || !mutex.is_acquired_in_this_process() {
                        break;
                    }
                    stats.errors.fetch_add(1, Ordering::Relaxed);
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
            fw
        }));
    }
    let a = recipe_session(&connect).await;
    let b = recipe_session(&connect).await;
    let la = LeaderLatch::new(a.clone(), "/recipes/leader")
        .await
        .unwrap();
    let lb = LeaderLatch::new(b.clone(), "/recipes/leader")
        .await
        .unwrap();
    while !stop.load(Ordering::Relaxed) {
        match (la.has_leadership(), lb.has_leadership()) {
            (true, true) => stats.both_led.fetch_add(1, Ordering::Relaxed),
            (true, false) | (false, true) => stats.led.fetch_add(1, Ordering::Relaxed),
            _ => 0,
        };
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    la.close().await;
    lb.close().await;
    let mut fws = vec![setup, a, b];
    for t in tasks {
        fws.push(t.await.expect("a mutex task panicked"));
    }
    fws
}

struct Run {
    ens: Ensemble,
    rt: tokio::runtime::Runtime,
    load: BackgroundLoad,
    /// (step, leader before it, longest write gap, time until every member served again).
    steps: Vec<(String, i64, Duration, Duration)>,
}

impl Run {
    fn now(&self) -> u64 {
        self.load.now()
    }

    /// Waits until `n` more writes than now were acknowledged.
    fn more_writes(&self, n: usize) {
        self.load.more_writes(n, RESUME);
    }

    fn leader(&mut self) -> i64 {
        let sids = self.ens.sids();
        self.rt.block_on(self.ens.wait_serving(&sids))
    }

    /// Replaces member `sid` by a member of `kind`, as an operator does.
    fn replace(&mut self, sid: i64, kind: Kind) {
        let leader = self.leader();
        let was = self.ens.kind(sid);
        let what = format!(
            "member {sid} ({}) {was:?} -> {kind:?}",
            if sid == leader { "leader" } else { "follower" }
        );
        let from = self.now();
        let started = Instant::now();
        assert!(self.ens.terminate(sid), "{what}: exits on SIGTERM");
        self.ens.set_kind(sid, kind);
        self.ens.start(sid);
        let sids = self.ens.sids();
        let next = self.rt.block_on(self.ens.wait_serving(&sids));
        let rejoined = started.elapsed();
        // A leader that comes back with the highest sid may win the next election again.
        let what = format!("{what}, then {next} leads");
        self.more_writes(if long() { 1000 } else { 100 });
        let gap = longest_gap(&self.load.recorder.history(), from, self.now());
        assert!(gap < RESUME, "{what}: writes stopped for {gap:?}");
        eprintln!(
            "{what}: every member serves again after {rejoined:?}, longest write gap {gap:?}"
        );
        self.steps.push((what, leader, gap, rejoined));
    }

    /// Replaces every member by `kind`: followers first, the leader last.
    fn migrate(&mut self, kind: Kind) {
        let leader = self.leader();
        let mut order: Vec<i64> = self
            .ens
            .sids()
            .into_iter()
            .filter(|s| *s != leader)
            .collect();
        order.push(leader);
        for sid in order {
            self.replace(sid, kind);
        }
        for sid in self.ens.sids() {
            assert_eq!(self.ens.kind(sid), kind);
        }
    }
}

#[test]
fn a_live_apache_ensemble_is_migrated_to_zk_server_and_back_member_by_member() {
    if tests::require_peer(mixed::apache_available(), "Apache ZooKeeper 3.8").is_none()
        || tests::require_peer(tests::peer::kazoo(), "kazoo (python3-kazoo)").is_none()
    {
        return;
    }
    let started = Instant::now();
    let specs = [
        voter(1, Kind::Apache),
        voter(2, Kind::Apache),
        voter(3, Kind::Apache),
    ];
    let mut ens = Ensemble::new("rolling", &specs);
    let rt = ens.start_serving();
    let connect = ens.connect_string();
    let dir = ens.dir().to_path_buf();

    let mut w = RegisterWorkload::new(connect.clone());
    w.keys = 4;
    w.clients = 4;
    w.session_timeout = SESSION;
    let load = BackgroundLoad::start(&rt, w);
    let kazoo = Kazoo::start(&connect, &dir);
    let recipe_stats = Arc::new(RecipeStats::default());
    let recipes_stop = Arc::new(AtomicBool::new(false));
    let recipes_task = rt.spawn(recipes(
        connect.clone(),
        recipes_stop.clone(),
        recipe_stats.clone(),
    ));

    let mut run = Run {
        ens,
        rt,
        load,
        steps: Vec::new(),
    };
    run.more_writes(200);
    for _ in 0..if long() { 3 } else { 1 } {
        run.migrate(Kind::Zk);
        run.migrate(Kind::Apache);
    }
    run.more_writes(100);

    // The clients stop.
    let kazoo_out = kazoo.finish();
    recipes_stop.store(true, Ordering::Relaxed);
    let fws = run
        .rt
        .block_on(async { tokio::time::timeout(Duration::from_secs(60), recipes_task).await })
        .expect("the recipe sessions stop")
        .expect("the recipe task");
    let Run {
        mut ens,
        rt,
        load,
        steps,
    } = run;
    let (stats, history) = load.finish(&rt);
    let counter = rt.block_on(async {
        let c = fws[0].client();
        c.sync("/recipes/counter").await.unwrap();
        let (d, _) = c.get_data("/recipes/counter").await.unwrap();
        for fw in &fws {
            fw.close().await;
        }
        std::str::from_utf8(&d).unwrap().parse::<u64>().unwrap()
    });

    // Every member ends with the same zxid and the same tree; the merged logs.
    let (committed, merge) = ens.finish(&rt);
    let report = check(&history, &committed, &Options::default()).unwrap_or_else(|v| panic!("{v}"));

    let r = &recipe_stats;
    let (increments, unknown) = (
        r.increments.load(Ordering::Relaxed),
        r.unknown.load(Ordering::Relaxed),
    );
    eprintln!(
        "register workload: {stats:?}\n{merge:?}\n{report}\nkazoo:\n{kazoo_out}\nzk-recipes: \
         {increments} increments ({unknown} unknown), counter {counter}, {} errors retried, \
         latch led in {} samples, both in {}\nsteps (member, leader before, longest write \
         gap, all serving after):",
        r.errors.load(Ordering::Relaxed),
        r.led.load(Ordering::Relaxed),
        r.both_led.load(Ordering::Relaxed),
    );
    for (what, leader, gap, rejoined) in &steps {
        eprintln!("  {what} (leader was {leader}): gap {gap:?}, all serving after {rejoined:?}");
    }
    eprintln!("took {:?}", started.elapsed());

    // The history: nothing acknowledged was lost, no read saw an impossible state.
    assert!(report.writes_checked > 200, "{report}");
    assert!(report.reads_checked > 200, "{report}");
    assert_eq!(stats.expired, 0, "no register session expired: {stats:?}");
    // kazoo: exclusive lock and leadership, no session lost, ephemerals and watches intact.
    assert_eq!(stat(&kazoo_out, "double_holders"), 0, "{kazoo_out}");
    assert_eq!(stat(&kazoo_out, "double_leaders"), 0, "{kazoo_out}");
    assert_eq!(stat(&kazoo_out, "lost"), 0, "{kazoo_out}");
    assert_eq!(stat(&kazoo_out, "ephemerals_missing"), 0, "{kazoo_out}");
    assert_eq!(stat(&kazoo_out, "threads_stuck"), 0, "{kazoo_out}");
    assert!(stat(&kazoo_out, "lock_acquisitions") > 20, "{kazoo_out}");
    assert!(stat(&kazoo_out, "leaderships") > 5, "{kazoo_out}");
    assert_eq!(
        stat(&kazoo_out, "watch_last_seen"),
        stat(&kazoo_out, "watch_written"),
        "the watcher saw the last value: {kazoo_out}"
    );
    // zk-recipes: one holder at a time, no increment lost, never two leaders.
    assert_eq!(r.max_holders.load(Ordering::SeqCst), 1);
    assert!(increments > 20, "{increments} increments");
    assert!(
        (increments..=increments + unknown).contains(&counter),
        "counter {counter}, {increments} increments and {unknown} unknown"
    );
    assert_eq!(
        r.both_led.load(Ordering::Relaxed),
        0,
        "two latches led at once"
    );
    assert!(r.led.load(Ordering::Relaxed) > 0, "a latch led");
    drop(ens);
}
