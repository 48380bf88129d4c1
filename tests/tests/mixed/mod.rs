//! Mixed ensembles on loopback: Apache ZooKeeper 3.8 members (`QuorumPeerMain`, Debian's
//! package) and zk-server members (the `zk-server` binary of this build) in one ensemble, each
//! a real process with its own zoo.cfg, data directory and log, killed with SIGKILL on demand
//! and on drop. When a test fails the directory is kept and the tail of every member's log is
//! printed.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tests::ports::unassigned_port_block;
use tests::{four_letter_word, ZK_CLASSPATH};
use zk_client::Client;

/// What runs a member.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Apache ZooKeeper 3.8.
    Apache,
    /// zk-server.
    Zk,
}

/// One member of the configuration.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Spec {
    /// Its myid.
    pub(crate) sid: i64,
    /// What runs it.
    pub(crate) kind: Kind,
    /// An observer (else a participant).
    pub(crate) observer: bool,
}

/// A participant.
pub(crate) fn voter(sid: i64, kind: Kind) -> Spec {
    Spec {
        sid,
        kind,
        observer: false,
    }
}

/// An observer.
pub(crate) fn observer(sid: i64, kind: Kind) -> Spec {
    Spec {
        sid,
        kind,
        observer: true,
    }
}

/// Ok when Apache ZooKeeper 3.8 and a JVM are installed.
pub(crate) fn apache_available() -> Result<(), String> {
    tests::peer::files_exist(&["/usr/share/java/zookeeper.jar", "/usr/bin/java"])
}

/// The mode a member's `srvr` reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// LEADING.
    Leader,
    /// FOLLOWING.
    Follower,
    /// OBSERVING.
    Observer,
}

struct Member {
    spec: Spec,
    dir: PathBuf,
    client_port: u16,
    child: Option<Child>,
    /// zoo.cfg, without the lines of the member's kind.
    cfg: String,
}

impl Member {
    /// Writes zoo.cfg for the member's kind.
    fn write_cfg(&self) {
        let mut cfg = self.cfg.clone();
        if self.spec.kind == Kind::Zk {
            // What Apache members get as system properties (`-D`): TTL nodes, and the
            // container reaper every second.
            cfg.push_str(
                "zookeeper.extendedTypesEnabled=true\nznode.container.checkIntervalMs=1000\n",
            );
        }
        std::fs::write(self.dir.join("zoo.cfg"), cfg).expect("zoo.cfg");
    }
}

/// A running mixed ensemble.
pub(crate) struct Ensemble {
    dir: PathBuf,
    members: BTreeMap<i64, Member>,
    zk_bin: PathBuf,
}

/// How long a member may take to reach a mode.
pub(crate) const MODE_TIMEOUT: Duration = Duration::from_secs(45);

impl Ensemble {
    /// Writes the configuration of `specs` (nothing started yet). Ports: a block of three
    /// per member below the ephemeral range (client, quorum, election).
    pub(crate) fn new(tag: &str, specs: &[Spec]) -> Ensemble {
        Ensemble::with_limits(tag, specs, 2000, 5)
    }

    /// [`Ensemble::new`] with extra zoo.cfg lines for every member.
    pub(crate) fn with_lines(tag: &str, specs: &[Spec], lines: &[&str]) -> Ensemble {
        Ensemble::configured(tag, specs, 2000, 5, lines)
    }

    /// [`Ensemble::new`] with a tickTime (ms) and a syncLimit (ticks): a learner whose
    /// leader is silent for `tick_ms * sync_limit` looks for another.
    pub(crate) fn with_limits(
        tag: &str,
        specs: &[Spec],
        tick_ms: u32,
        sync_limit: u32,
    ) -> Ensemble {
        Ensemble::configured(tag, specs, tick_ms, sync_limit, &[])
    }

    /// [`Ensemble::with_limits`] with extra zoo.cfg lines for every member.
    pub(crate) fn configured(
        tag: &str,
        specs: &[Spec],
        tick_ms: u32,
        sync_limit: u32,
        lines: &[&str],
    ) -> Ensemble {
        let dir = tests::fresh_data_dir(&format!("mixed-{tag}"));
        std::fs::create_dir_all(&dir).expect("ensemble dir");
        let base_port = unassigned_port_block(3 * specs.len() as u16);
        let mut ens = Ensemble {
            dir,
            members: BTreeMap::new(),
            zk_bin: zk_server_binary(),
        };
        let index: BTreeMap<i64, usize> =
            specs.iter().enumerate().map(|(i, s)| (s.sid, i)).collect();
        let port = |sid: i64, k: u16| base_port + 3 * index[&sid] as u16 + k;
        let mut servers = String::new();
        for s in specs {
            servers.push_str(&format!(
                "server.{}=127.0.0.1:{}:{}{}\n",
                s.sid,
                port(s.sid, 1),
                port(s.sid, 2),
                if s.observer { ":observer" } else { "" }
            ));
        }
        for s in specs {
            let mdir = ens.dir.join(format!("m{}", s.sid));
            let data = mdir.join("data");
            std::fs::create_dir_all(&data).expect("member dir");
            std::fs::write(data.join("myid"), format!("{}\n", s.sid)).expect("myid");
            let mut cfg = String::new();
            if s.observer {
                cfg.push_str("peerType=observer\n");
            }
            cfg.push_str(&format!(
                "tickTime={tick_ms}\ninitLimit=10\nsyncLimit={sync_limit}\ndataDir={}\nclientPort={}\n\
                 clientPortAddress=127.0.0.1\nadmin.enableServer=false\n\
                 4lw.commands.whitelist=*\nmaxClientCnxns=0\n{servers}",
                data.display(),
                port(s.sid, 0),
            ));
            for l in lines {
                cfg.push_str(l);
                cfg.push('\n');
            }
            let m = Member {
                spec: *s,
                dir: mdir,
                client_port: port(s.sid, 0),
                child: None,
                cfg,
            };
            m.write_cfg();
            ens.members.insert(s.sid, m);
        }
        ens
    }

    /// Starts every member and waits until they all serve, on a new 2-thread runtime for
    /// the test's clients, returned.
    pub(crate) fn start_serving(&mut self) -> tokio::runtime::Runtime {
        for s in self.sids() {
            self.start(s);
        }
        let rt = tests::two_worker_runtime();
        let sids = self.sids();
        rt.block_on(self.wait_serving(&sids));
        rt
    }

    /// The ensemble's directory (one subdirectory per member); removed on drop unless the
    /// test failed.
    pub(crate) fn dir(&self) -> &std::path::Path {
        &self.dir
    }

    /// The members' ids.
    pub(crate) fn sids(&self) -> Vec<i64> {
        self.members.keys().copied().collect()
    }

    /// A connect string of every member.
    pub(crate) fn connect_string(&self) -> String {
        self.sids()
            .iter()
            .map(|s| self.addr(*s).to_string())
            .collect::<Vec<_>>()
            .join(",")
    }

    /// The member's dataDir (its myid, `version-2/` logs and snapshots).
    pub(crate) fn data_dir(&self, sid: i64) -> PathBuf {
        self.member(sid).dir.join("data")
    }

    /// Stops a member as an operator does, with SIGTERM, and waits for it to exit (SIGKILL
    /// after 30 s). True when it exited on SIGTERM in time.
    pub(crate) fn terminate(&mut self, sid: i64) -> bool {
        let Some(mut child) = self.members.get_mut(&sid).and_then(|m| m.child.take()) else {
            return true;
        };
        let status = Command::new("kill")
            .arg("-TERM")
            .arg(child.id().to_string())
            .status()
            .expect("kill");
        assert!(status.success(), "kill -TERM {}", child.id());
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        let _ = child.wait();
        false
    }

    /// Makes a stopped member run as `kind` from its next start: same myid, data directory,
    /// ports and configuration (plus the kind's own lines).
    pub(crate) fn set_kind(&mut self, sid: i64, kind: Kind) {
        let m = self
            .members
            .get_mut(&sid)
            .unwrap_or_else(|| panic!("no member {sid}"));
        assert!(m.child.is_none(), "member {sid} still runs");
        m.spec.kind = kind;
        m.write_cfg();
    }

    fn member(&self, sid: i64) -> &Member {
        self.members
            .get(&sid)
            .unwrap_or_else(|| panic!("no member {sid}"))
    }

    /// The member's kind.
    pub(crate) fn kind(&self, sid: i64) -> Kind {
        self.member(sid).spec.kind
    }

    /// The member's client address.
    pub(crate) fn addr(&self, sid: i64) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.member(sid).client_port))
    }

    /// The member's log so far.
    pub(crate) fn log(&self, sid: i64) -> String {
        let bytes = std::fs::read(self.member(sid).dir.join("log.txt")).unwrap_or_default();
        String::from_utf8_lossy(&bytes).into_owned()
    }

    /// Starts (or restarts) a member.
    pub(crate) fn start(&mut self, sid: i64) {
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
        let mut cmd = match m.spec.kind {
            Kind::Apache => {
                let mut c = Command::new("java");
                c.args([
                    "-Xmx256m",
                    "-XX:+UseSerialGC",
                    "-XX:TieredStopAtLevel=1",
                    "-Dzookeeper.extendedTypesEnabled=true",
                    "-Dznode.container.checkIntervalMs=1000",
                    "-Dorg.slf4j.simpleLogger.showDateTime=true",
                    "-Dorg.slf4j.simpleLogger.dateTimeFormat=HH:mm:ss.SSS",
                    "-cp",
                    &format!("{ZK_CLASSPATH}:/usr/share/java/slf4j-simple.jar"),
                    "org.apache.zookeeper.server.quorum.QuorumPeerMain",
                ]);
                c
            }
            Kind::Zk => {
                let mut c = Command::new(&zk_bin);
                c.env(
                    "RUST_LOG",
                    std::env::var("MIXED_RUST_LOG").unwrap_or_else(|_| {
                        "info,zk_server::quorum=debug,zk_server::server=debug".into()
                    }),
                );
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

    /// SIGKILLs a member and waits for it.
    pub(crate) fn kill(&mut self, sid: i64) {
        if let Some(mut c) = self.members.get_mut(&sid).and_then(|m| m.child.take()) {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Stops (SIGSTOP) or continues (SIGCONT) a member's process.
    pub(crate) fn signal(&mut self, sid: i64, stop: bool) {
        let pid = self
            .members
            .get(&sid)
            .and_then(|m| m.child.as_ref())
            .map(|c| c.id())
            .unwrap_or_else(|| panic!("member {sid} is not running"));
        let status = Command::new("kill")
            .arg(if stop { "-STOP" } else { "-CONT" })
            .arg(pid.to_string())
            .status()
            .expect("kill");
        assert!(status.success(), "kill {pid}");
    }

    /// True while the member's process runs.
    pub(crate) fn running(&mut self, sid: i64) -> bool {
        let Some(m) = self.members.get_mut(&sid) else {
            return false;
        };
        matches!(m.child.as_mut().map(|c| c.try_wait()), Some(Ok(None)))
    }

    /// The member's mode now (None while it does not serve).
    pub(crate) fn mode(&self, sid: i64) -> Option<Mode> {
        let text = four_letter_word(self.addr(sid), "srvr").ok()?;
        let mode = text.lines().find_map(|l| l.strip_prefix("Mode: "))?;
        match mode.trim() {
            "leader" => Some(Mode::Leader),
            "follower" => Some(Mode::Follower),
            "observer" => Some(Mode::Observer),
            _ => None,
        }
    }

    /// Waits until every member of `sids` serves, exactly one of them as leader; returns the
    /// leader. Observers must observe, the others follow.
    pub(crate) async fn wait_serving(&mut self, sids: &[i64]) -> i64 {
        let deadline = Instant::now() + MODE_TIMEOUT;
        loop {
            let last = sids.iter().map(|s| (*s, self.mode(*s))).collect::<Vec<_>>();
            let leaders: Vec<i64> = last
                .iter()
                .filter(|(_, m)| *m == Some(Mode::Leader))
                .map(|(s, _)| *s)
                .collect();
            let ok = last.iter().all(|(s, m)| match m {
                Some(Mode::Observer) => self.member(*s).spec.observer,
                Some(_) => !self.member(*s).spec.observer,
                None => false,
            });
            if ok && leaders.len() == 1 {
                return leaders[0];
            }
            for s in sids {
                assert!(self.running(*s), "member {s} exited");
            }
            assert!(
                Instant::now() < deadline,
                "members {sids:?} did not serve within {MODE_TIMEOUT:?}: {last:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits until `sid` serves in `mode`.
    pub(crate) async fn wait_mode(&mut self, sid: i64, mode: Mode) {
        let deadline = Instant::now() + MODE_TIMEOUT;
        loop {
            let m = self.mode(sid);
            if m == Some(mode) {
                return;
            }
            assert!(self.running(sid), "member {sid} exited");
            assert!(
                Instant::now() < deadline,
                "member {sid} is not {mode:?} within {MODE_TIMEOUT:?} (now {m:?})"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits until the member's log contains `text`.
    pub(crate) async fn wait_log(&self, sid: i64, text: &str) {
        let deadline = Instant::now() + MODE_TIMEOUT;
        while !self.log(sid).contains(text) {
            assert!(
                Instant::now() < deadline,
                "member {sid} never logged {text:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// A client session on member `sid`.
    pub(crate) async fn client(&self, sid: i64) -> Client {
        client_on(&self.addr(sid).to_string()).await
    }
}

impl Ensemble {
    /// Waits (30 s at most) until every member's `srvr` reports the same zxid; returns it.
    pub(crate) fn converged_zxid(&self) -> zk_core::Zxid {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let zxids: Vec<Option<i64>> = self
                .sids()
                .iter()
                .map(|s| {
                    four_letter_word(self.addr(*s), "srvr")
                        .ok()
                        .as_deref()
                        .and_then(tests::process_ensemble::srvr_zxid)
                })
                .collect();
            if let Some(z) = zxids[0] {
                if zxids.iter().all(|x| *x == Some(z)) {
                    return zk_core::Zxid(z);
                }
            }
            assert!(
                Instant::now() < deadline,
                "the members do not converge: {zxids:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The end of a run: every member converges to one zxid and holds the same tree (every
    /// node's data and Stat, read from each), then stops on SIGTERM; the committed history
    /// merged from every member's log is returned with the merge's report.
    pub(crate) fn finish(
        &mut self,
        rt: &tokio::runtime::Runtime,
    ) -> (
        zk_history::CommittedHistory,
        tests::ensemble_history::MergeReport,
    ) {
        let first = self.converged_zxid();
        let trees: Vec<_> = self
            .sids()
            .iter()
            .map(|s| {
                let addr = self.addr(*s).to_string();
                let tree = rt.block_on(async {
                    let c = client_on(&addr).await;
                    let t = tests::ensemble_history::read_tree(&c).await.unwrap();
                    c.close().await.unwrap();
                    t
                });
                (*s, tree)
            })
            .collect();
        for (s, tree) in &trees[1..] {
            assert_eq!(tree, &trees[0].1, "member {s} and member {}", trees[0].0);
        }
        // The readers' sessions were logged too.
        let last = self.converged_zxid().max(first);
        let mut dirs = Vec::new();
        for s in self.sids() {
            assert!(self.terminate(s), "member {s} exits on SIGTERM");
            dirs.push((s, self.data_dir(s)));
        }
        let (committed, merge) =
            tests::ensemble_history::merge_committed(&dirs, last).expect("merge the members' logs");
        assert_eq!(committed.last_zxid(), last, "{merge:?}");
        assert!(merge.overlapping > 0, "{merge:?}");
        (committed, merge)
    }
}

/// A client session on `connect_string`, failing the test after 30 s.
pub(crate) async fn client_on(connect_string: &str) -> Client {
    let c = Client::builder()
        .session_timeout(Duration::from_secs(20))
        .connection_timeout(Duration::from_secs(5));
    tokio::time::timeout(Duration::from_secs(30), c.connect(connect_string))
        .await
        .unwrap_or_else(|_| panic!("no session on {connect_string} within 30 s"))
        .unwrap_or_else(|e| panic!("no session on {connect_string}: {e}"))
}

impl Drop for Ensemble {
    fn drop(&mut self) {
        let sids: Vec<i64> = self.members.keys().copied().collect();
        for sid in &sids {
            self.kill(*sid);
        }
        if std::thread::panicking() {
            for sid in &sids {
                let log = self.log(*sid);
                let tail: Vec<&str> = log.lines().rev().take(60).collect();
                eprintln!(
                    "---- member {sid} ({:?}), last {} log lines ----",
                    self.kind(*sid),
                    tail.len()
                );
                for l in tail.iter().rev() {
                    eprintln!("{l}");
                }
            }
            eprintln!("mixed ensemble files kept in {}", self.dir.display());
        } else if std::env::var_os("MIXED_KEEP").is_some() {
            eprintln!(
                "mixed ensemble files kept in {} (MIXED_KEEP)",
                self.dir.display()
            );
        } else {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// The zk-server binary of this build (built first if needed).
pub(crate) fn zk_server_binary() -> PathBuf {
    tests::zk_server_binary()
}

/// Runs the Java client's scenario (`tests/clients/ZkClientCheck.java`: every op kind,
/// watches, ACLs, multis, TTL and container nodes) against `connect_string` under `root`.
/// Skipped (loudly, outside CI) without a JDK.
pub(crate) fn java_client_check(connect_string: &str, root: &str) {
    if tests::require_peer(tests::peer::java_client(), "the Java client (a JDK)").is_none() {
        return;
    }
    static COMPILED: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    let dir = COMPILED.get_or_init(|| {
        // Compiled once per version of the source, kept between runs (one directory, not one
        // per run): compiled aside, then renamed into place.
        let source = include_str!("../../clients/ZkClientCheck.java");
        let hash = source.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
        });
        let dir = std::env::temp_dir().join(format!("zk-mixed-java-classes-{hash:016x}"));
        if dir.join("ZkClientCheck.class").exists() {
            return dir;
        }
        let aside = tests::fresh_data_dir("mixed-java");
        std::fs::create_dir_all(&aside).unwrap();
        let src = aside.join("ZkClientCheck.java");
        std::fs::write(&src, source).unwrap();
        let out = Command::new("javac")
            .args(["-cp", "/usr/share/java/zookeeper.jar", "-d"])
            .arg(&aside)
            .arg(&src)
            .output()
            .expect("javac");
        assert!(
            out.status.success(),
            "javac: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        if std::fs::rename(&aside, &dir).is_err() {
            // Another run put it there first.
            let _ = std::fs::remove_dir_all(&aside);
        }
        dir
    });
    let cp = format!("{ZK_CLASSPATH}:{}", dir.display());
    let mut child = Command::new("java")
        .args([
            "-Xmx128m",
            "-XX:TieredStopAtLevel=1",
            "-cp",
            &cp,
            "ZkClientCheck",
        ])
        .arg(connect_string)
        .arg(root)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("java");
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait().ok().flatten().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = child.wait_with_output().expect("java output");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && text.contains("ALL OK"),
        "the Java client's scenario on {connect_string} failed:\n{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
