//! The recipes against a 3-member zk-server ensemble (spawned `zk-server` processes,
//! `tests::ensemble_support`) while members are killed (SIGKILL) mid-test: the member a
//! holder's or a leader's session is connected to, and the ensemble's leader.
//!
//! What each test checks:
//! - Never two holders (or leaders, or more leases than the maximum) at once: every holder
//!   enters a [`Holders`] register with its `Validity`, and entering while another valid holder
//!   is registered is a violation. Lock and lease holders also create an EPHEMERAL marker node
//!   on their own session: a NodeExists there would be two holders in ZooKeeper's own view.
//! - A holder whose member dies keeps what it holds: its client reconnects to another member,
//!   the session moves, its nodes stay, and nobody else gets in meanwhile.
//! - A holder whose session cannot move (its client knows only the dead member) loses it once
//!   the ensemble expires the session, and only then: a waiter gets in after the expiry, the
//!   stale holder's validity was already lost, its fenced write is refused once it is back.
//! - Nothing is left behind, and a restarted member catches up (its reads, after a sync, see
//!   the final state).
//!
//! Every test is bounded ([`LIMIT`]); sessions are 4 s (2 s where one must expire), the members'
//! tickTime 200 ms.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tests::client_support::within;
use tests::ensemble_support::{Mode, SpawnedEnsemble, TICK_MS};
use tests::recipes_support::{children_left, framework, until_children};
use zk_client::{Client, CreateMode, SessionId, Version};
use zk_recipes::{
    ConnectionState, Framework, InterProcessMutex, InterProcessSemaphoreV2, LeaderLatch,
    LeaderSelector, Validity,
};

/// Each test's limit.
const LIMIT: Duration = Duration::from_secs(120);
/// A session that survives a member's death (its client reconnects within it).
const SESSION: Duration = Duration::from_secs(4);
/// A session that must expire when its only member dies.
const SHORT_SESSION: Duration = Duration::from_secs(2);
/// The earliest a [`SHORT_SESSION`] can expire after its member died: its client pings every
/// third of the session when idle, so the ensemble last heard of it up to that long before the
/// kill (and a tick more: the follower reports its sessions to the leader on the leader's
/// pings, and expiry is tick-aligned).
const EARLIEST_EXPIRY: Duration = SHORT_SESSION
    .saturating_sub(Duration::from_millis(SHORT_SESSION.as_millis() as u64 / 3))
    .saturating_sub(Duration::from_millis(TICK_MS));
/// How long one wait may take (reconnects, elections, expiries).
const WAIT: Duration = Duration::from_secs(30);

/// Whether a holder still holds in its own view (its validity, a latch's leadership flag).
type StillValid = Box<dyn Fn() -> bool + Send>;

/// Who holds now, and the violations seen.
#[derive(Default)]
struct Register {
    holding: Vec<(String, StillValid)>,
    violations: Vec<String>,
}

/// The register every holder of one recipe enters, allowing `max` holders at once.
#[derive(Clone, Default)]
struct Holders {
    max: usize,
    inner: Arc<Mutex<Register>>,
}

impl Holders {
    fn new(max: usize) -> Holders {
        Holders {
            max,
            inner: Arc::default(),
        }
    }

    /// `who` starts holding: a violation if `max` others still hold in their own view.
    fn enter(&self, who: &str, still_valid: impl Fn() -> bool + Send + 'static) {
        let mut g = self.inner.lock().unwrap();
        let valid: Vec<String> = g
            .holding
            .iter()
            .filter(|(_, v)| v())
            .map(|(n, _)| n.clone())
            .collect();
        if valid.len() >= self.max {
            g.violations
                .push(format!("{who} got in while {valid:?} held"));
        }
        g.holding.push((who.to_string(), Box::new(still_valid)));
    }

    /// `who` starts holding with `validity`.
    fn enter_valid(&self, who: &str, validity: Validity) {
        self.enter(who, move || validity.is_valid());
    }

    /// `who` stopped holding.
    fn leave(&self, who: &str) {
        let mut g = self.inner.lock().unwrap();
        let i = g
            .holding
            .iter()
            .position(|(n, _)| n == who)
            .expect("a holder");
        drop(g.holding.remove(i));
    }

    fn violations(&self) -> Vec<String> {
        self.inner.lock().unwrap().violations.clone()
    }
}

/// Creates the EPHEMERAL marker `path` on `client`'s session: NodeExists means someone else's
/// marker is there, i.e. two holders at once in ZooKeeper's view.
async fn mark(client: &Client, path: &str, who: &str) -> Result<(), String> {
    match client
        .create(path, who.as_bytes(), CreateMode::Ephemeral)
        .await
    {
        Ok(_) => Ok(()),
        Err(zk_client::Error::NodeExists) => {
            let owner = client.get_data(path).await.map(|(d, _)| d.to_vec());
            Err(format!("{who}: {path} exists already ({owner:?})"))
        }
        Err(e) => panic!("{who}: create {path}: {e}"),
    }
}

/// A framework on `connect` whose session is on a member `want` accepts (new sessions land
/// on a random member of the connect string: it tries again until one fits).
async fn framework_on(
    e: &SpawnedEnsemble,
    connect: &str,
    session: Duration,
    want: impl Fn(usize) -> bool,
) -> (Framework, usize) {
    for _ in 0..30 {
        let fw = framework(connect, session).await;
        match e.member_of(fw.session_id()).await {
            Some(m) if want(m) => return (fw, m),
            _ => fw.close().await,
        }
    }
    panic!("no session landed on a wanted member in 30 tries");
}

/// Waits for `state` on `events` (subscribed before the fault).
async fn until_state(
    events: &mut tokio::sync::broadcast::Receiver<ConnectionState>,
    state: ConnectionState,
    what: &str,
) {
    within(WAIT, what, async {
        loop {
            match events.recv().await {
                Ok(s) if s == state => return,
                Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(e) => panic!("{what}: {e}"),
            }
        }
    })
    .await
}

/// A client on member `i` only sees what the others wrote once it syncs: after a restart, the
/// member caught up when its synced read of `path` has no children.
async fn caught_up(e: &SpawnedEnsemble, i: usize, path: &str) {
    let c = framework(&e.connect_string_of(&[i]), SESSION).await;
    c.client()
        .sync("/")
        .await
        .expect("sync on the restarted member");
    let left = children_left(&c.client(), path).await;
    assert!(left.is_empty(), "member {} still sees {left:?}", i + 1);
    c.close().await;
}

/// A mutex holder on a follower, two waiters; the follower dies. The holder's session moves
/// to another member and it keeps the lock; the waiters get it in turn once it releases.
async fn mutex_holder_moves_when_its_member_dies() {
    let mut e = SpawnedEnsemble::start(3).await;
    let leader = e.leader().await;
    let (h, hm) = framework_on(&e, &e.all(), SESSION, |m| m != leader).await;
    let mh = InterProcessMutex::new(&h, "/lock").unwrap();
    let holders = Holders::new(1);
    mh.acquire().await.unwrap();
    holders.enter_valid("h", mh.validity().unwrap());
    mark(&h.client(), "/holder", "h").await.unwrap();
    let mut waiters = Vec::new();
    for name in ["w1", "w2"] {
        let fw = framework(&e.all(), SESSION).await;
        let holders = holders.clone();
        waiters.push(tokio::spawn(async move {
            let m = InterProcessMutex::new(&fw, "/lock").unwrap();
            m.acquire().await.unwrap();
            holders.enter_valid(name, m.validity().unwrap());
            let marked = mark(&fw.client(), "/holder", name).await;
            tokio::time::sleep(Duration::from_millis(50)).await;
            if marked.is_ok() {
                fw.client().delete("/holder", Version::Any).await.unwrap();
            }
            holders.leave(name);
            m.release().await.unwrap();
            fw.close().await;
            marked
        }));
    }
    until_children(&h.client(), "/lock", 3, WAIT, "both waiters queued").await;

    let session = h.session_id();
    let mut events = h.state_events();
    let t = Instant::now();
    e.kill(hm);
    until_state(&mut events, ConnectionState::Suspended, "holder suspended").await;
    until_state(
        &mut events,
        ConnectionState::Reconnected,
        "holder reconnected",
    )
    .await;
    let moved = t.elapsed();
    assert_eq!(
        h.session_id(),
        session,
        "the holder's session moved, not renewed"
    );
    let now_on = e.member_of(session).await;
    assert!(
        now_on.is_some_and(|m| m != hm),
        "on member {now_on:?} after member {} died",
        hm + 1
    );
    let node = mh.lock_node().unwrap();
    let (_, stat) = h.client().get_data(&node).await.unwrap();
    assert_eq!(stat.ephemeral_owner, session, "the lock node survived");
    let (_, marker) = h.client().get_data("/holder").await.unwrap();
    assert_eq!(marker.ephemeral_owner, session);
    assert!(
        waiters.iter().all(|w| !w.is_finished()),
        "a waiter got the lock while its holder moved"
    );
    // The holder's fenced write commits: its lock node exists, on the same session.
    mh.fence()
        .unwrap()
        .check(h.client().multi())
        .create("/written-by-h", b"", CreateMode::Persistent)
        .commit()
        .await
        .unwrap();

    h.client().delete("/holder", Version::Any).await.unwrap();
    holders.leave("h");
    mh.release().await.unwrap();
    for w in waiters {
        let marked = within(WAIT, "a waiter acquires", w).await.unwrap();
        assert_eq!(marked, Ok(()));
    }
    assert_eq!(holders.violations(), Vec::<String>::new());
    assert!(children_left(&h.client(), "/lock").await.is_empty());
    assert!(h.client().exists("/holder").await.unwrap().is_none());
    e.restart(hm).await;
    caught_up(&e, hm, "/lock").await;
    println!(
        "mutex on a 3-member ensemble: the holder's member {} (a follower) killed; the session \
         moved in {moved:?} and kept the lock; 2 waiters got it in turn after the release",
        hm + 1
    );
    h.close().await;
}

/// A mutex holder whose client knows only its member (a follower); the member dies. The
/// session cannot move, the ensemble expires it, and only then the waiter gets the lock; the
/// stale holder was told (validity) before, and its fenced write is refused once it is back.
async fn mutex_holder_expires_when_its_only_member_dies() {
    let mut e = SpawnedEnsemble::start(3).await;
    let leader = e.leader().await;
    let hm = (0..3).find(|&m| m != leader).unwrap();
    let others: Vec<usize> = (0..3).filter(|&m| m != hm).collect();
    let h = framework(&e.connect_string_of(&[hm]), SHORT_SESSION).await;
    let w = framework(&e.connect_string_of(&others), SESSION).await;
    let mh = InterProcessMutex::new(&h, "/lock").unwrap();
    let mw = InterProcessMutex::new(&w, "/lock").unwrap();
    let holders = Holders::new(1);
    mh.acquire().await.unwrap();
    let validity = mh.validity().unwrap();
    let fence = mh.fence().unwrap();
    holders.enter_valid("h", validity.clone());
    mark(&h.client(), "/holder", "h").await.unwrap();
    let waiter = {
        let holders = holders.clone();
        let w = w.clone();
        tokio::spawn(async move {
            mw.acquire().await.unwrap();
            let at = Instant::now();
            holders.enter_valid("w", mw.validity().unwrap());
            let marked = mark(&w.client(), "/holder", "w").await;
            (mw, at, marked)
        })
    };
    until_children(&w.client(), "/lock", 2, WAIT, "the waiter queued").await;

    let mut events = h.state_events();
    let t = Instant::now();
    e.kill(hm);
    within(WAIT, "the holder is told", validity.lost()).await;
    let told = t.elapsed();
    let (mw, at, marked) = within(WAIT, "the waiter acquires", waiter).await.unwrap();
    let failover = at - t;
    assert_eq!(
        marked,
        Ok(()),
        "the expired holder's marker went with its session"
    );
    assert!(
        told < failover,
        "the holder was told ({told:?}) before the waiter acquired ({failover:?})"
    );
    // The lock moved only once the session could have expired.
    assert!(
        failover >= EARLIEST_EXPIRY,
        "the waiter acquired {failover:?} after the kill, before the {SHORT_SESSION:?} session \
         could expire"
    );
    assert_eq!(holders.violations(), Vec::<String>::new());

    // The stale holder's session is lost (raised locally after the session timeout, or told by
    // the member once it is back); its fenced write is refused.
    e.restart(hm).await;
    until_state(
        &mut events,
        ConnectionState::Lost,
        "the stale holder's session is lost",
    )
    .await;
    assert!(
        mh.is_acquired_in_this_process(),
        "Curator's semantics: only validity tells"
    );
    drop(h);
    let h2 = framework(&e.connect_string_of(&[hm]), SESSION).await;
    let stale = fence
        .check(h2.client().multi())
        .create("/stale", b"", CreateMode::Persistent)
        .commit()
        .await;
    assert!(
        matches!(&stale, Err(zk_client::Error::MultiFailed { index: 0, .. })),
        "{stale:?}"
    );
    w.client().delete("/holder", Version::Any).await.unwrap();
    holders.leave("w");
    mw.release().await.unwrap();
    assert!(children_left(&w.client(), "/lock").await.is_empty());
    caught_up(&e, hm, "/lock").await;
    println!(
        "mutex on a 3-member ensemble: the holder's only member killed; holder told after \
         {told:?}, the waiter acquired after {failover:?} (session {SHORT_SESSION:?})"
    );
    h2.close().await;
    w.close().await;
}

/// Three latches; the ensemble's leader dies while the leading latch's session is on it, then
/// (restarted) the member of the leading latch's session dies. One leader at most at any
/// time, the same latch leads again after each move (its node survived), nothing left.
async fn latch_survives_member_deaths() {
    let mut e = SpawnedEnsemble::start(3).await;
    let leader_member = e.leader().await;
    let (a, _) = framework_on(&e, &e.all(), SESSION, |m| m == leader_member).await;
    let holders = Holders::new(1);
    let la = Arc::new(
        LeaderLatch::builder(&a, "/latch")
            .id("a")
            .start()
            .await
            .unwrap(),
    );
    assert!(la.await_leadership(WAIT).await.unwrap());
    let mut fws = vec![a.clone()];
    let mut latches = vec![la.clone()];
    for id in ["b", "c"] {
        let fw = framework(&e.all(), SESSION).await;
        let l = LeaderLatch::builder(&fw, "/latch")
            .id(id)
            .start()
            .await
            .unwrap();
        fws.push(fw);
        latches.push(Arc::new(l));
    }
    until_children(&a.client(), "/latch", 3, WAIT, "three participants").await;
    // Every latch's leadership goes through the register; its validity is its own leadership.
    let mut watchers = Vec::new();
    for (l, id) in latches.iter().zip(["a", "b", "c"]) {
        let (l, holders) = (l.clone(), holders.clone());
        watchers.push(tokio::spawn(async move {
            let mut rx = l.leadership();
            let mut leading = false;
            loop {
                let now = *rx.borrow_and_update();
                if now && !leading {
                    let l = l.clone();
                    holders.enter(id, move || l.has_leadership());
                } else if !now && leading {
                    holders.leave(id);
                }
                leading = now;
                if rx.changed().await.is_err() {
                    return;
                }
            }
        }));
    }

    let mut pauses = Vec::new();
    for round in 0..2 {
        let session = a.session_id();
        let target = if round == 0 {
            leader_member
        } else {
            e.member_of(session)
                .await
                .expect("a's session is connected")
        };
        let was_leader = e.mode(target).await == Mode::Leader;
        let mut changes = la.leadership();
        let t = Instant::now();
        e.kill(target);
        // The latch may lead again before this task looks: wait for the change, not for false.
        within(WAIT, "the leading latch steps down", changes.changed())
            .await
            .unwrap();
        assert!(la.await_leadership(WAIT).await.unwrap(), "a leads again");
        pauses.push((target + 1, was_leader, t.elapsed()));
        assert_eq!(a.session_id(), session, "a's session moved, not renewed");
        assert!(!latches[1].has_leadership() && !latches[2].has_leadership());
        e.restart(target).await;
    }
    assert_eq!(holders.violations(), Vec::<String>::new());
    for l in &latches {
        l.close().await;
    }
    for w in watchers {
        w.abort();
    }
    for fw in &fws {
        fw.client().exists("/").await.unwrap();
    }
    let left = children_left(&a.client(), "/latch").await;
    assert!(left.is_empty(), "{left:?}");
    println!(
        "leader latch on a 3-member ensemble: member deaths (member, was the ensemble leader, \
         time until the latch led again) {pauses:?}; never two leaders"
    );
    for fw in fws {
        fw.close().await;
    }
}

/// Three auto-requeueing selectors whose terms last 300 ms; the member of the current leader's
/// session dies mid-term, then (restarted) the ensemble's leader dies. Never two leaders,
/// terms go on after each death, nothing left.
async fn selector_survives_member_deaths() {
    let mut e = SpawnedEnsemble::start(3).await;
    let holders = Holders::new(1);
    let terms = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let current = Arc::new(Mutex::new(None::<SessionId>));
    let mut fws = Vec::new();
    let mut sels = Vec::new();
    for id in ["s1", "s2", "s3"] {
        let fw = framework(&e.all(), SESSION).await;
        let (holders, terms, current) = (holders.clone(), terms.clone(), current.clone());
        let session = fw.session_id();
        let sel = LeaderSelector::builder(&fw, "/selector")
            .id(id)
            .auto_requeue(true)
            .start(move |leadership| {
                let (holders, terms, current) = (holders.clone(), terms.clone(), current.clone());
                async move {
                    // Leaves the register even when the term is interrupted (dropped).
                    struct Term(Holders, &'static str);
                    impl Drop for Term {
                        fn drop(&mut self) {
                            self.0.leave(self.1);
                        }
                    }
                    holders.enter_valid(id, leadership.validity.clone());
                    let _term = Term(holders, id);
                    *current.lock().unwrap() = Some(session);
                    tokio::time::sleep(Duration::from_millis(300)).await;
                    terms.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                }
            })
            .unwrap();
        fws.push(fw);
        sels.push(sel);
    }
    let terms_now = || terms.load(std::sync::atomic::Ordering::SeqCst);
    let until_terms = |n: usize, what: &'static str| {
        let terms = terms.clone();
        within(WAIT, what, async move {
            while terms.load(std::sync::atomic::Ordering::SeqCst) < n {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
    };
    until_terms(3, "three terms").await;
    let mut deaths = Vec::new();
    for round in 0..2 {
        let target = if round == 0 {
            let s = current.lock().unwrap().expect("a leader");
            e.member_of(s)
                .await
                .expect("the leader's session is connected")
        } else {
            e.leader().await
        };
        let was_leader = e.mode(target).await == Mode::Leader;
        let before = terms_now();
        e.kill(target);
        until_terms(before + 3, "three more terms after a member died").await;
        deaths.push((target + 1, was_leader));
        e.restart(target).await;
    }
    assert_eq!(holders.violations(), Vec::<String>::new());
    for s in &sels {
        s.close().await;
    }
    for fw in &fws {
        fw.client().exists("/").await.unwrap();
    }
    let left = children_left(&fws[0].client(), "/selector").await;
    assert!(left.is_empty(), "{left:?}");
    println!(
        "leader selector on a 3-member ensemble: {} terms; members killed (member, was the \
         ensemble leader) {deaths:?}; never two leaders",
        terms_now()
    );
    for fw in fws {
        fw.close().await;
    }
}

/// A semaphore of 2 leases: A holds one through its only member, B one through all members, C
/// waits. A's member dies: A's session expires and C gets its lease, B keeps its own. Then the
/// ensemble's leader dies while B and C hold: both keep their leases, D waits until one is
/// returned. Never more than 2 valid holders, nothing left.
async fn semaphore_leases_across_member_deaths() {
    let mut e = SpawnedEnsemble::start(3).await;
    let leader = e.leader().await;
    let am = (0..3).find(|&m| m != leader).unwrap();
    let others: Vec<usize> = (0..3).filter(|&m| m != am).collect();
    let holders = Holders::new(2);
    let a = framework(&e.connect_string_of(&[am]), SHORT_SESSION).await;
    let b = framework(&e.all(), SESSION).await;
    let c = framework(&e.connect_string_of(&others), SESSION).await;
    let d = framework(&e.connect_string_of(&others), SESSION).await;
    let sem = |fw: &Framework| InterProcessSemaphoreV2::new(fw, "/sem", 2).unwrap();
    let la = sem(&a).acquire().await.unwrap();
    holders.enter_valid("a", la.validity());
    let lb = sem(&b).acquire().await.unwrap();
    holders.enter_valid("b", lb.validity());
    let c_waits = {
        let (sc, holders) = (sem(&c), holders.clone());
        tokio::spawn(async move {
            let l = sc.acquire().await.unwrap();
            holders.enter_valid("c", l.validity());
            (l, Instant::now())
        })
    };
    until_children(&b.client(), "/sem/leases", 3, WAIT, "c queued").await;

    let t = Instant::now();
    e.kill(am);
    let (lc, at) = within(WAIT, "c gets a's lease", c_waits).await.unwrap();
    let failover = at - t;
    assert!(!la.validity().is_valid(), "a was told before c got in");
    assert!(
        failover >= EARLIEST_EXPIRY,
        "c got a lease {failover:?} after the kill, before a's session could expire"
    );
    // b kept its lease (its validity turned false if its own connection was on a's member).
    let (_, stat) = b.client().get_data(&lb.node_path()).await.unwrap();
    assert_eq!(stat.ephemeral_owner, b.session_id(), "b kept its lease");
    assert_eq!(holders.violations(), Vec::<String>::new());
    drop(la);
    holders.leave("a");
    e.restart(am).await;

    // The ensemble's leader dies while b and c hold; d waits.
    let leader = e.leader().await;
    let d_waits = {
        let (sd, holders) = (sem(&d), holders.clone());
        tokio::spawn(async move {
            let l = sd.acquire().await.unwrap();
            holders.enter_valid("d", l.validity());
            l
        })
    };
    until_children(&b.client(), "/sem/leases", 3, WAIT, "d queued").await;
    let (sb, sc) = (b.session_id(), c.session_id());
    let mut b_events = b.state_events();
    e.kill(leader);
    let _ = e.leader().await;
    until_state(&mut b_events, ConnectionState::Reconnected, "b reconnected").await;
    assert_eq!(
        (b.session_id(), c.session_id()),
        (sb, sc),
        "sessions moved, not renewed"
    );
    let leases = children_left(&b.client(), "/sem/leases").await;
    assert_eq!(leases.len(), 3, "b's, c's and d's nodes: {leases:?}");
    assert!(!d_waits.is_finished(), "d got in while b and c held");
    holders.leave("b");
    lb.close().await.unwrap();
    let ld = within(WAIT, "d gets b's lease", d_waits).await.unwrap();
    assert_eq!(holders.violations(), Vec::<String>::new());
    holders.leave("c");
    lc.close().await.unwrap();
    holders.leave("d");
    ld.close().await.unwrap();
    e.restart(leader).await;
    assert!(children_left(&b.client(), "/sem/leases").await.is_empty());
    caught_up(&e, leader, "/sem/leases").await;
    println!(
        "semaphore on a 3-member ensemble: a's only member killed, c got a's lease after \
         {failover:?} (session {SHORT_SESSION:?}); then the ensemble leader (member {}) killed \
         while b and c held: both kept their leases",
        leader + 1
    );
    for fw in [a, b, c, d] {
        fw.close().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mutex_holder_moves_when_its_member_dies_ensemble() {
    within(LIMIT, "test", mutex_holder_moves_when_its_member_dies()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mutex_holder_expires_when_its_only_member_dies_ensemble() {
    within(
        LIMIT,
        "test",
        mutex_holder_expires_when_its_only_member_dies(),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn latch_survives_member_deaths_ensemble() {
    within(LIMIT, "test", latch_survives_member_deaths()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn selector_survives_member_deaths_ensemble() {
    within(LIMIT, "test", selector_survives_member_deaths()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn semaphore_leases_across_member_deaths_ensemble() {
    within(LIMIT, "test", semaphore_leases_across_member_deaths()).await;
}
