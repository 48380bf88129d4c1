//! Dynamic reconfiguration (`reconfigEnabled=true`, the reconfig op) in mixed ensembles:
//! Apache ZooKeeper 3.8 members (Debian's package) and zk-server members in one ensemble, on
//! Apache's quorum wire, every member a real process. Reconfigs are issued through zk-client
//! as the super user (`super:test`, the digest given to every member as a `-D` flag).
//!
//! * a follower removed and added back, under a leader of either kind with followers of the
//!   other: every member's `/zookeeper/config` equal after a sync, writes go on, the removed
//!   member serves as a non-voting follower and does not count for the quorum, and counts
//!   again once added back;
//! * the leader removed, either kind with members of the other kind remaining: a member of
//!   the new config leads, writes resume, the session survives;
//! * a 3-member Apache ensemble migrated to zk-server member by member through reconfig: a
//!   zk-server joiner syncs as a non-voting follower, is added, then an Apache member is
//!   removed and stopped, until only zk-server members remain; everything written on the way
//!   is on every remaining member, and the session never expires;
//! * an observer of the other kind added and removed: started with the current members plus
//!   itself as an observer, it first follows without a vote (not in the ensemble's newer
//!   config), observes once added (COMMITANDACTIVATE), is told of the next reconfig and of its
//!   own removal with INFORMANDACTIVATE, and then follows again without a vote.
//!
//! Every member's config line has its client address (`;127.0.0.1:port`), as Apache's docs
//! write them for dynamic reconfiguration. A member that does not start fails the test.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tests::ports::unassigned_port_block;
use tests::{four_letter_word, ZK_CLASSPATH};
use zk_client::{Client, CreateMode};

/// The super user's digest (`super:test`), as kazoo's harness gives it.
const SUPER_DIGEST: &str =
    "-Dzookeeper.DigestAuthenticationProvider.superDigest=super:D/InIHSb7yEEbrWz8b9l71RjZJU=";
/// The most member ids a test uses (ids 1..=MAX_SID, three ports each).
const MAX_SID: i64 = 8;
/// How long a member may take to serve in a mode, a leader to take over, writes to resume.
const LIMIT: Duration = Duration::from_secs(30);
/// Every client's session timeout.
const SESSION: Duration = Duration::from_secs(30);

/// One test at a time: at most a few JVMs run together.
static ONE_ENSEMBLE: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// What runs a member.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Apache,
    Zk,
}

struct Member {
    kind: Kind,
    dir: PathBuf,
    child: Option<Child>,
}

/// Members by id, each with fixed ports (`base + 3 * (id - 1)`: client, quorum, election),
/// a zoo.cfg written when it is configured, and a log; killed by PID on drop.
struct Mixed {
    dir: PathBuf,
    base: u16,
    members: BTreeMap<i64, Member>,
    zk_bin: PathBuf,
}

impl Mixed {
    fn new(tag: &str) -> Mixed {
        tests::peer::files_exist(&["/usr/share/java/zookeeper.jar", "/usr/bin/java"])
            .unwrap_or_else(|e| panic!("Apache ZooKeeper 3.8 is needed: {e}"));
        let dir = tests::fresh_data_dir(&format!("mixed-reconfig-{tag}"));
        std::fs::create_dir_all(&dir).expect("ensemble dir");
        Mixed {
            dir,
            base: unassigned_port_block(3 * MAX_SID as u16),
            members: BTreeMap::new(),
            zk_bin: tests::zk_server_binary(),
        }
    }

    fn port(&self, sid: i64, k: u16) -> u16 {
        assert!((1..=MAX_SID).contains(&sid), "member id {sid}");
        self.base + 3 * (sid as u16 - 1) + k
    }

    fn addr(&self, sid: i64) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port(sid, 0)))
    }

    /// Member `sid`'s config line, as Apache prints it in `/zookeeper/config`.
    fn line(&self, sid: i64, observer: bool) -> String {
        format!(
            "server.{sid}=127.0.0.1:{}:{}:{};127.0.0.1:{}",
            self.port(sid, 1),
            self.port(sid, 2),
            if observer { "observer" } else { "participant" },
            self.port(sid, 0)
        )
    }

    /// The client addresses of `sids`, comma-separated.
    fn connect_string(&self, sids: &[i64]) -> String {
        let addrs: Vec<String> = sids.iter().map(|s| self.addr(*s).to_string()).collect();
        addrs.join(",")
    }

    /// Writes member `sid`'s myid and zoo.cfg: the static keys and `servers`' lines (ids,
    /// observer or not), itself among them.
    fn configure(&mut self, sid: i64, kind: Kind, servers: &[(i64, bool)]) {
        let dir = self.dir.join(format!("m{sid}"));
        let data = dir.join("data");
        std::fs::create_dir_all(&data).expect("member dir");
        std::fs::write(data.join("myid"), format!("{sid}\n")).expect("myid");
        let mut cfg = format!(
            "tickTime=500\ninitLimit=20\nsyncLimit=10\ndataDir={}\nclientPort={}\n\
             clientPortAddress=127.0.0.1\nmaxClientCnxns=0\nmaxSessionTimeout=60000\n\
             4lw.commands.whitelist=*\nadmin.enableServer=false\nreconfigEnabled=true\n",
            data.display(),
            self.port(sid, 0)
        );
        if servers.iter().any(|(s, observer)| *s == sid && *observer) {
            cfg.push_str("peerType=observer\n");
        }
        for (s, observer) in servers {
            cfg.push_str(&self.line(*s, *observer));
            cfg.push('\n');
        }
        std::fs::write(dir.join("zoo.cfg"), cfg).expect("zoo.cfg");
        self.members.insert(
            sid,
            Member {
                kind,
                dir,
                child: None,
            },
        );
    }

    fn member(&self, sid: i64) -> &Member {
        self.members
            .get(&sid)
            .unwrap_or_else(|| panic!("no member {sid}"))
    }

    fn log(&self, sid: i64) -> String {
        let bytes = std::fs::read(self.member(sid).dir.join("log.txt")).unwrap_or_default();
        String::from_utf8_lossy(&bytes).into_owned()
    }

    fn start(&mut self, sid: i64) {
        let zk_bin = self.zk_bin.clone();
        let m = self
            .members
            .get_mut(&sid)
            .unwrap_or_else(|| panic!("no member {sid}"));
        assert!(m.child.is_none(), "member {sid} runs already");
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(m.dir.join("log.txt"))
            .expect("log");
        let mut cmd = match m.kind {
            Kind::Apache => {
                let mut c = Command::new("java");
                c.args([
                    "-Xmx192m",
                    "-XX:+UseSerialGC",
                    "-XX:TieredStopAtLevel=1",
                    "-Dorg.slf4j.simpleLogger.showDateTime=true",
                    "-Dorg.slf4j.simpleLogger.dateTimeFormat=HH:mm:ss.SSS",
                    SUPER_DIGEST,
                    "-cp",
                    &format!("{ZK_CLASSPATH}:/usr/share/java/slf4j-simple.jar"),
                    "org.apache.zookeeper.server.quorum.QuorumPeerMain",
                ]);
                c
            }
            Kind::Zk => {
                let mut c = Command::new(&zk_bin);
                let filter = std::env::var("ZK_MEMBER_LOG")
                    .unwrap_or_else(|_| "info,zk_server::quorum=debug".into());
                c.env("RUST_LOG", filter)
                    .env("NO_COLOR", "1")
                    .env("JVMFLAGS", SUPER_DIGEST);
                c
            }
        };
        cmd.arg(m.dir.join("zoo.cfg"))
            .current_dir(&m.dir)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log);
        m.child = Some(
            cmd.spawn()
                .unwrap_or_else(|e| panic!("start member {sid}: {e}")),
        );
    }

    /// SIGKILLs a member (by its PID) and waits for it.
    fn kill(&mut self, sid: i64) {
        if let Some(mut c) = self.members.get_mut(&sid).and_then(|m| m.child.take()) {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// SIGSTOPs (`stop`) or SIGCONTs a member by its PID.
    fn pause(&mut self, sid: i64, stop: bool) {
        let pid = self.member(sid).child.as_ref().expect("running").id();
        let ok = Command::new("kill")
            .arg(if stop { "-STOP" } else { "-CONT" })
            .arg(pid.to_string())
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "kill {pid}");
    }

    fn exited(&mut self, sid: i64) -> bool {
        let m = self
            .members
            .get_mut(&sid)
            .unwrap_or_else(|| panic!("no member {sid}"));
        !matches!(m.child.as_mut().map(Child::try_wait), Some(Ok(None)))
    }

    /// The mode member `sid`'s `srvr` reports (`leader`, `follower`, `observer`).
    fn mode(&self, sid: i64) -> Option<String> {
        let text = four_letter_word(self.addr(sid), "srvr").ok()?;
        tests::process_ensemble::srvr_mode(&text).map(|m| m.trim().to_owned())
    }

    /// Waits until member `sid` serves in `mode`.
    async fn wait_mode(&mut self, sid: i64, mode: &str) {
        let deadline = Instant::now() + LIMIT;
        loop {
            let now = self.mode(sid);
            if now.as_deref() == Some(mode) {
                return;
            }
            assert!(!self.exited(sid), "member {sid} exited");
            assert!(
                Instant::now() < deadline,
                "member {sid} is not {mode} within {LIMIT:?} (now {now:?})"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits until one of `among` leads; returns it.
    async fn wait_leader(&mut self, among: &[i64]) -> i64 {
        let deadline = Instant::now() + LIMIT;
        loop {
            if let Some(l) = among
                .iter()
                .find(|s| self.mode(**s).as_deref() == Some("leader"))
            {
                return *l;
            }
            let modes: Vec<_> = among.iter().map(|s| (*s, self.mode(*s))).collect();
            assert!(
                Instant::now() < deadline,
                "none of {among:?} leads within {LIMIT:?}: {modes:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Starts a 3-voter ensemble (ids 1, 2, 3) where member 3, of kind `leader`, leads and
    /// members 1 and 2 are of kind `followers`: 2 and 3 start first (3 wins the election by
    /// its id), then 1.
    async fn three(tag: &str, leader: Kind, followers: Kind) -> Mixed {
        let mut ens = Mixed::new(tag);
        let servers = [(1, false), (2, false), (3, false)];
        ens.configure(1, followers, &servers);
        ens.configure(2, followers, &servers);
        ens.configure(3, leader, &servers);
        ens.start(3);
        ens.start(2);
        assert_eq!(ens.wait_leader(&[2, 3]).await, 3, "member 3 leads");
        ens.wait_mode(2, "follower").await;
        ens.start(1);
        ens.wait_mode(1, "follower").await;
        ens
    }

    /// A session on `sids`, authenticated as the super user when `as_super`.
    async fn client(&self, sids: &[i64], as_super: bool) -> Client {
        let cs = self.connect_string(sids);
        let c = tokio::time::timeout(
            LIMIT,
            Client::builder()
                .session_timeout(SESSION)
                .connection_timeout(Duration::from_secs(5))
                .connect(&cs),
        )
        .await
        .unwrap_or_else(|_| panic!("no session on {cs} within {LIMIT:?}"))
        .unwrap_or_else(|e| panic!("no session on {cs}: {e}"));
        if as_super {
            c.add_auth("digest", b"super:test").await.expect("auth");
        }
        c
    }

    /// Member `sid`'s `/zookeeper/config` after a sync.
    async fn config(&self, sid: i64) -> String {
        let c = self.client(&[sid], false).await;
        c.sync("/").await.expect("sync");
        let (data, _) = c.get_config().await.expect("get /zookeeper/config");
        c.close().await.ok();
        String::from_utf8(data.to_vec()).expect("utf-8 config")
    }

    /// Asserts that every member of `sids` serves the same `/zookeeper/config`, byte for
    /// byte, with the lines and version of `expected` (a reconfig's answer); returns it.
    ///
    /// The answer's lines may come in another order: an Apache member answers a reconfig
    /// with its own `QuorumMaj.toString()` (`FinalRequestProcessor`), a `HashMap` walk, while
    /// the node holds the committed text, the leader's (`new HashMap<>(lastSeenQV
    /// .getAllMembers())`, sized for the old members: `server.8` first in an 8-bucket
    /// table); a follower's map, parsed from that text, has 16 buckets.
    async fn same_config(&self, sids: &[i64], expected: &str) -> String {
        let mut first: Option<(i64, String)> = None;
        for s in sids {
            let got = self.config(*s).await;
            let kind = self.member(*s).kind;
            assert_eq!(
                sorted_lines(&got),
                sorted_lines(expected),
                "member {s}'s ({kind:?}) /zookeeper/config"
            );
            match &first {
                None => first = Some((*s, got)),
                Some((f, text)) => assert_eq!(
                    &got,
                    text,
                    "member {s}'s ({kind:?}) and member {f}'s ({:?}) /zookeeper/config",
                    self.member(*f).kind
                ),
            }
        }
        let (_, text) = first.expect("members");
        if text != expected {
            eprintln!("the members' config lists its lines otherwise than the answer:\n{text}");
        }
        text
    }
}

/// A config text's lines, sorted.
fn sorted_lines(config: &str) -> Vec<&str> {
    let mut lines: Vec<&str> = config.lines().collect();
    lines.sort_unstable();
    lines
}

impl Drop for Mixed {
    fn drop(&mut self) {
        let sids: Vec<i64> = self.members.keys().copied().collect();
        for s in &sids {
            self.kill(*s);
        }
        if std::thread::panicking() {
            for s in &sids {
                let log = self.log(*s);
                let tail: Vec<&str> = log.lines().rev().take(80).collect();
                eprintln!(
                    "---- member {s} ({:?}), last lines ----",
                    self.member(*s).kind
                );
                for l in tail.iter().rev() {
                    eprintln!("{l}");
                }
            }
            eprintln!("mixed reconfig files kept in {}", self.dir.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// The participants' and observers' ids of a config text, sorted (Apache prints the lines
/// in its `HashMap`'s order).
fn members_of(config: &str) -> (Vec<i64>, Vec<i64>) {
    let (mut voters, mut observers) = (Vec::new(), Vec::new());
    for line in config.lines() {
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let Some(id) = key.strip_prefix("server.") else {
            continue;
        };
        let id: i64 = id.parse().expect("a server id");
        if value.contains(":observer") {
            observers.push(id);
        } else {
            voters.push(id);
        }
    }
    voters.sort_unstable();
    observers.sort_unstable();
    (voters, observers)
}

/// Reconfigures through `admin` (a session on `on`); returns the new config text, which
/// must have `voters` and `observers` as its members.
///
/// When the leader changes, every Apache learner closes its client connections
/// (`Learner.shutdown` calls `closeAllConnections`), so the answer may be lost: then, as
/// Apache's own `ReconfigTest.reconfig` does, the outcome is read back, here from the new
/// config's members once they serve it.
async fn reconfig(
    ens: &Mixed,
    admin: &Client,
    joining: Option<&str>,
    leaving: Option<&str>,
    voters: &[i64],
    observers: &[i64],
) -> String {
    let what = format!("reconfig joining {joining:?} leaving {leaving:?}");
    let expected = (voters.to_vec(), observers.to_vec());
    let answer = tokio::time::timeout(LIMIT, admin.reconfig(joining, leaving, None, -1))
        .await
        .unwrap_or_else(|_| panic!("{what}: no answer within {LIMIT:?}"));
    let (data, stat) = match answer {
        Ok(answer) => answer,
        Err(zk_client::Error::ConnectionLoss) => {
            eprintln!("{what}: connection lost, reading the outcome back");
            let deadline = Instant::now() + LIMIT;
            loop {
                let c = ens.client(voters, false).await;
                let read = async {
                    c.sync("/").await?;
                    c.get_config().await
                };
                if let Ok(Ok((data, stat))) =
                    tokio::time::timeout(Duration::from_secs(5), read).await
                {
                    let text = String::from_utf8(data.to_vec()).expect("utf-8 config");
                    if members_of(&text) == expected {
                        c.close().await.ok();
                        break (data, stat);
                    }
                }
                c.close().await.ok();
                assert!(
                    Instant::now() < deadline,
                    "{what}: the connection was lost and no member serves the new config"
                );
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
        Err(e) => panic!("{what}: {e:?}"),
    };
    let text = String::from_utf8(data.to_vec()).expect("utf-8 config");
    assert_eq!(members_of(&text), expected, "{what}: {text}");
    let version = text
        .lines()
        .find_map(|l| l.strip_prefix("version="))
        .map(|v| i64::from_str_radix(v, 16).expect("hex version"))
        .expect("a version line");
    assert_eq!(stat.mzxid.0, version, "{what}: the version is its zxid");
    text
}

/// A create through `c` within `limit`.
async fn write(c: &Client, path: &str, limit: Duration) -> bool {
    matches!(
        tokio::time::timeout(limit, c.create(path, b"w", CreateMode::Persistent)).await,
        Ok(Ok(_))
    )
}

/// Retries a create through `c` until it succeeds (each try 3 s at most); returns how long.
async fn write_resumes(c: &Client, path: &str) -> Duration {
    let t0 = Instant::now();
    loop {
        match tokio::time::timeout(
            Duration::from_secs(3),
            c.create(path, b"w", CreateMode::Persistent),
        )
        .await
        {
            Ok(Ok(_)) | Ok(Err(zk_client::Error::NodeExists)) => return t0.elapsed(),
            other => assert!(
                t0.elapsed() < LIMIT,
                "writes do not resume within {LIMIT:?}: {other:?}"
            ),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Asserts that `path` is on every member of `sids`, after a sync.
async fn readable_on(ens: &Mixed, sids: &[i64], paths: &[String]) {
    for s in sids {
        let c = ens.client(&[*s], false).await;
        c.sync("/").await.expect("sync");
        for p in paths {
            assert!(
                c.exists(p).await.expect("exists").is_some(),
                "{p} on member {s}"
            );
        }
        c.close().await.ok();
    }
}

/// Asserts that `session` lives (the same id, its ephemeral there, a write through it).
async fn session_lives(session: &Client, id: zk_core::SessionId, eph: &str, tag: &str) {
    assert_eq!(session.session_id(), id, "the session survived ({tag})");
    write_resumes(session, &format!("/{tag}-by-session")).await;
    let stat = session
        .exists(eph)
        .await
        .expect("exists")
        .unwrap_or_else(|| panic!("{eph} gone: the session expired ({tag})"));
    assert_eq!(stat.ephemeral_owner, id);
}

async fn remove_a_follower_and_add_it_back(leader: Kind, followers: Kind, tag: &str) {
    let t0 = Instant::now();
    let mut ens = Mixed::three(tag, leader, followers).await;
    let admin = ens.client(&[3], true).await;
    let session = ens.client(&[1, 2, 3], false).await;
    let id = session.session_id();
    let eph = format!("/{tag}-eph");
    session
        .create(&eph, b"", CreateMode::Ephemeral)
        .await
        .expect("ephemeral");

    // Member 1 leaves: it still follows, now without a vote.
    let removed = reconfig(&ens, &admin, None, Some("1"), &[2, 3], &[]).await;
    ens.same_config(&[1, 2, 3], &removed).await;
    assert_eq!(ens.mode(1).as_deref(), Some("follower"), "member 1 follows");
    let via_1 = ens.client(&[1], false).await;
    assert!(
        write(&via_1, &format!("/{tag}-through-removed"), LIMIT).await,
        "a write through the removed member"
    );
    assert!(write(&admin, &format!("/{tag}-after-remove"), LIMIT).await);
    readable_on(
        &ens,
        &[1, 2, 3],
        &[
            format!("/{tag}-through-removed"),
            format!("/{tag}-after-remove"),
        ],
    )
    .await;
    // Only 2 and 3 vote: with 2 paused no write commits, though member 1 acks.
    ens.pause(2, true);
    let committed = write(&admin, &format!("/{tag}-without-2"), Duration::from_secs(3)).await;
    ens.pause(2, false);
    assert!(
        !committed,
        "a write committed without member 2: the removed member still counts"
    );

    // Member 1 joins again (it runs all along) and votes: with 2 paused, writes commit.
    let added = reconfig(
        &ens,
        &admin,
        Some(&ens.line(1, false)),
        None,
        &[1, 2, 3],
        &[],
    )
    .await;
    ens.same_config(&[1, 2, 3], &added).await;
    ens.pause(2, true);
    let committed = write(&admin, &format!("/{tag}-with-1"), Duration::from_secs(10)).await;
    ens.pause(2, false);
    assert!(committed, "no write with member 1 back and member 2 paused");
    for s in [1, 2, 3] {
        assert!(
            matches!(ens.mode(s).as_deref(), Some("leader" | "follower")),
            "member {s} serves"
        );
    }
    assert_eq!(ens.mode(3).as_deref(), Some("leader"));
    session_lives(&session, id, &eph, tag).await;
    readable_on(&ens, &[1, 2, 3], &[format!("/{tag}-with-1")]).await;
    eprintln!("{tag}: {:?}", t0.elapsed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_apache_leader_removes_a_zk_server_follower_and_adds_it_back() {
    let _one = ONE_ENSEMBLE.lock().await;
    remove_a_follower_and_add_it_back(Kind::Apache, Kind::Zk, "apache-leads-follower").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_zk_server_leader_removes_an_apache_follower_and_adds_it_back() {
    let _one = ONE_ENSEMBLE.lock().await;
    remove_a_follower_and_add_it_back(Kind::Zk, Kind::Apache, "zk-leads-follower").await;
}

async fn remove_the_leader(leader: Kind, others: Kind, tag: &str) {
    let t0 = Instant::now();
    let mut ens = Mixed::three(tag, leader, others).await;
    let admin = ens.client(&[1], true).await;
    let session = ens.client(&[1, 2], false).await;
    let id = session.session_id();
    let eph = format!("/{tag}-eph");
    session
        .create(&eph, b"", CreateMode::Ephemeral)
        .await
        .expect("ephemeral");
    let cfg = reconfig(&ens, &admin, None, Some("3"), &[1, 2], &[]).await;
    let removed = Instant::now();
    let new_leader = ens.wait_leader(&[1, 2]).await;
    let resumed = write_resumes(&session, &format!("/{tag}-after")).await;
    eprintln!(
        "{tag}: member {new_leader} ({others:?}) leads {:?} after the reconfig, writes \
         resumed after {:?}",
        removed.elapsed(),
        resumed
    );
    let other = if new_leader == 1 { 2 } else { 1 };
    ens.wait_mode(other, "follower").await;
    ens.same_config(&[1, 2], &cfg).await;
    session_lives(&session, id, &eph, tag).await;
    readable_on(&ens, &[1, 2], &[format!("/{tag}-after")]).await;
    // The old leader is not shut down: it follows the new one without a vote.
    ens.wait_mode(3, "follower").await;
    ens.same_config(&[3], &cfg).await;
    readable_on(&ens, &[3], &[format!("/{tag}-after")]).await;
    eprintln!("{tag}: {:?}", t0.elapsed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_apache_leader_removed_hands_over_to_zk_server() {
    let _one = ONE_ENSEMBLE.lock().await;
    remove_the_leader(Kind::Apache, Kind::Zk, "apache-leader-removed").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_zk_server_leader_removed_hands_over_to_apache() {
    let _one = ONE_ENSEMBLE.lock().await;
    remove_the_leader(Kind::Zk, Kind::Apache, "zk-leader-removed").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_apache_ensemble_migrates_to_zk_server_member_by_member() {
    let _one = ONE_ENSEMBLE.lock().await;
    let t0 = Instant::now();
    let tag = "migration";
    let mut ens = Mixed::new(tag);
    let servers = [(1, false), (2, false), (3, false)];
    for s in [1, 2, 3] {
        ens.configure(s, Kind::Apache, &servers);
        ens.start(s);
    }
    let first = ens.wait_leader(&[1, 2, 3]).await;
    eprintln!("{tag}: Apache member {first} leads");
    // Everything the session writes, and the session itself, must outlive every step.
    let session = ens.client(&[1, 2, 3], false).await;
    let id = session.session_id();
    let eph = "/migration-eph".to_string();
    session
        .create(&eph, b"", CreateMode::Ephemeral)
        .await
        .expect("ephemeral");
    let mut written = vec!["/step-0".to_string()];
    session
        .create("/step-0", b"", CreateMode::Persistent)
        .await
        .expect("write");
    let mut members = vec![1, 2, 3];
    for (step, (joiner, leaver)) in [(4, 1), (5, 2), (6, 3)].into_iter().enumerate() {
        let ts = Instant::now();
        // The joiner's config: the current members plus itself.
        let mut servers: Vec<(i64, bool)> = members.iter().map(|s| (*s, false)).collect();
        servers.push((joiner, false));
        ens.configure(joiner, Kind::Zk, &servers);
        ens.start(joiner);
        ens.wait_mode(joiner, "follower").await;
        let before = ens.config(joiner).await;
        assert_eq!(
            members_of(&before).0,
            members,
            "the joiner follows the current config, without a vote: {before}"
        );
        let admin = ens.client(&members, true).await;
        members.push(joiner);
        let with = members.clone();
        let cfg = reconfig(
            &ens,
            &admin,
            Some(&ens.line(joiner, false)),
            None,
            &with,
            &[],
        )
        .await;
        ens.same_config(&with, &cfg).await;
        let path = format!("/step-{}-added-{joiner}", step + 1);
        assert!(write(&session, &path, LIMIT).await, "write {path}");
        written.push(path);

        members.retain(|s| *s != leaver);
        let cfg = reconfig(&ens, &admin, None, Some(&leaver.to_string()), &members, &[]).await;
        admin.close().await.ok();
        let leader = ens.wait_leader(&members).await;
        ens.same_config(&members, &cfg).await;
        // The clients move to the new config's members, then the leaver stops.
        session
            .update_server_list(&ens.connect_string(&members))
            .expect("update_server_list");
        ens.kill(leaver);
        let path = format!("/step-{}-removed-{leaver}", step + 1);
        write_resumes(&session, &path).await;
        written.push(path);
        readable_on(&ens, &members, &written).await;
        eprintln!(
            "{tag}: step {}: zk-server {joiner} in, Apache {leaver} out, member {leader} \
             ({:?}) leads, {:?}",
            step + 1,
            ens.member(leader).kind,
            ts.elapsed()
        );
    }
    assert_eq!(members, [4, 5, 6]);
    for s in &members {
        assert_eq!(ens.member(*s).kind, Kind::Zk);
        assert!(!ens.exited(*s), "member {s} runs");
    }
    session_lives(&session, id, &eph, tag).await;
    readable_on(&ens, &members, &written).await;
    let cfg = ens.config(4).await;
    ens.same_config(&members, &cfg).await;
    eprintln!("{tag}: {:?}", t0.elapsed());
}

/// An observer of kind `observer` joins a 3-voter ensemble of kind `voters`, is added by
/// reconfig, serves, and is removed again.
async fn an_observer_added_and_removed(voters: Kind, observer: Kind, tag: &str) {
    let t0 = Instant::now();
    let mut ens = Mixed::three(tag, voters, voters).await;
    let mut servers: Vec<(i64, bool)> = [1, 2, 3].iter().map(|s| (*s, false)).collect();
    servers.push((4, true));
    ens.configure(4, observer, &servers);
    ens.start(4);
    // Its config is older than the ensemble's, which does not list it: it adopts the newer
    // one from the election's notifications and, not in that view, joins as a non-voting
    // follower (Apache's `QuorumPeer.updateLearnerType`), observing once it is added.
    ens.wait_mode(4, "follower").await;
    // On a follower: its answer lists the lines in its own order (see `Mixed::same_config`).
    let admin = ens.client(&[1], true).await;
    let cfg = reconfig(
        &ens,
        &admin,
        Some(&ens.line(4, true)),
        None,
        &[1, 2, 3],
        &[4],
    )
    .await;
    ens.wait_mode(4, "observer").await;
    ens.same_config(&[1, 2, 3, 4], &cfg).await;
    let via_4 = ens.client(&[4], false).await;
    assert!(write(&via_4, &format!("/{tag}-through-observer"), LIMIT).await);
    assert!(write(&admin, &format!("/{tag}-through-voters"), LIMIT).await);
    readable_on(
        &ens,
        &[1, 2, 3, 4],
        &[
            format!("/{tag}-through-observer"),
            format!("/{tag}-through-voters"),
        ],
    )
    .await;
    // A second reconfig while it observes (another observer, one that does not run, in):
    // the observer activates it as well.
    let absent = MAX_SID;
    let cfg = reconfig(
        &ens,
        &admin,
        Some(&ens.line(absent, true)),
        None,
        &[1, 2, 3],
        &[4, absent],
    )
    .await;
    let stored = ens.same_config(&[1, 2, 3, 4], &cfg).await;
    // The leader's order, whichever kind leads: its map copied from the 4 old members has
    // 8 buckets, and server.8 falls in the first.
    assert!(stored.starts_with("server.8="), "{stored}");
    // Both removed: the observer is told too.
    let cfg = reconfig(
        &ens,
        &admin,
        None,
        Some(&format!("4,{absent}")),
        &[1, 2, 3],
        &[],
    )
    .await;
    ens.same_config(&[1, 2, 3], &cfg).await;
    // Out of the view it follows again, without a vote (`updateLearnerType`).
    ens.wait_mode(4, "follower").await;
    ens.same_config(&[1, 2, 3, 4], &cfg).await;
    assert!(write(&admin, &format!("/{tag}-after"), LIMIT).await);
    readable_on(&ens, &[1, 2, 3, 4], &[format!("/{tag}-after")]).await;
    eprintln!("{tag}: {:?}", t0.elapsed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_zk_server_observer_of_an_apache_ensemble_added_and_removed() {
    let _one = ONE_ENSEMBLE.lock().await;
    an_observer_added_and_removed(Kind::Apache, Kind::Zk, "zk-observes-apache").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_apache_observer_of_a_zk_server_ensemble_added_and_removed() {
    let _one = ONE_ENSEMBLE.lock().await;
    an_observer_added_and_removed(Kind::Zk, Kind::Apache, "apache-observes-zk").await;
}
