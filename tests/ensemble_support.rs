//! A zk-server ensemble of spawned `zk-server` processes on loopback ports, for tests that kill
//! and restart members: [`SpawnedEnsemble`].
//!
//! Each member is the zk-server binary of this build on its own zoo.cfg (`server.N` lines,
//! `initLimit`/`syncLimit`, `dataDir/myid`, exactly as an Apache ZooKeeper ensemble's), so a
//! kill is a real crash (SIGKILL: the kernel closes its sockets, nothing is flushed that was not
//! already) and a restart recovers from the member's disk. Members are numbered from 0 here
//! (server id = index + 1). Every member is killed when the ensemble is dropped; its files are
//! removed then, unless the test failed (their place is printed).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use zk_client::SessionId;

use crate::client_support::TestServer;

/// tickTime of the members (ms): sessions from 400 ms, timers that run a test in seconds.
pub const TICK_MS: u64 = 200;
/// initLimit and syncLimit in ticks: 5 s and 2 s, generous for debug builds on a loaded
/// machine (a follower that misses syncLimit drops out, an election waits initLimit at most).
const INIT_LIMIT: u32 = 25;
const SYNC_LIMIT: u32 = 10;
/// How long a member may take to serve after it was started, or after the ensemble lost one.
pub const SERVE_LIMIT: Duration = Duration::from_secs(30);
/// Attempts at a free block of ports.
const PORT_ATTEMPTS: usize = 3;

/// One member's files and process.
#[derive(Debug)]
struct Member {
    client: SocketAddr,
    dir: PathBuf,
    child: Option<Child>,
}

impl Member {
    fn cfg(&self) -> PathBuf {
        self.dir.join("zoo.cfg")
    }

    fn log(&self) -> PathBuf {
        self.dir.join("zk-server.log")
    }

    fn data(&self) -> PathBuf {
        self.dir.join("data")
    }
}

/// A running ensemble of zk-server processes.
#[derive(Debug)]
pub struct SpawnedEnsemble {
    members: Vec<Member>,
    root: PathBuf,
    bin: PathBuf,
}

/// A member's role, from `srvr`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Serving as the leader.
    Leader,
    /// Serving as a follower.
    Follower,
    /// Running, not serving (electing, or synchronizing with a leader).
    NotServing,
    /// Not answering.
    Down,
}

impl SpawnedEnsemble {
    /// Starts `n` members and waits until every one serves.
    ///
    /// # Panics
    /// When no block of ports works after a few attempts, or the ensemble does not serve within
    /// [`SERVE_LIMIT`] (the message has the tails of the members' logs).
    pub async fn start(n: usize) -> SpawnedEnsemble {
        let bin = tokio::task::spawn_blocking(crate::zk_server_binary)
            .await
            .expect("the build thread does not panic");
        let mut last = String::new();
        for _ in 0..PORT_ATTEMPTS {
            let mut e = Self::configure(n, bin.clone());
            for i in 0..n {
                e.spawn(i);
            }
            match e.until_serving(&(0..n).collect::<Vec<_>>()).await {
                Ok(()) => return e,
                Err(why) if why.contains("Address already in use") => last = why,
                Err(why) => panic!("the ensemble did not serve: {why}"),
            }
        }
        panic!("no free ports for the ensemble: {last}");
    }

    /// Writes every member's zoo.cfg and myid on a fresh block of loopback ports.
    fn configure(n: usize, bin: PathBuf) -> SpawnedEnsemble {
        let n16 = u16::try_from(n).expect("a small ensemble");
        let base = crate::ports::unassigned_port_block(3 * n16);
        let root = crate::fresh_data_dir("ensemble");
        let port = |i: usize, k: u16| base + 3 * i as u16 + k;
        let servers: String = (0..n)
            .map(|i| format!("server.{}=127.0.0.1:{}:{}\n", i + 1, port(i, 2), port(i, 1)))
            .collect();
        let members = (0..n)
            .map(|i| {
                let dir = root.join(format!("m{}", i + 1));
                let m = Member {
                    client: SocketAddr::from(([127, 0, 0, 1], port(i, 0))),
                    dir,
                    child: None,
                };
                std::fs::create_dir_all(m.data()).expect("create the data dir");
                std::fs::write(m.data().join("myid"), format!("{}\n", i + 1)).expect("myid");
                let cfg = format!(
                    "tickTime={TICK_MS}\ninitLimit={INIT_LIMIT}\nsyncLimit={SYNC_LIMIT}\n\
                     dataDir={}\nclientPort={}\nclientPortAddress=127.0.0.1\nmaxClientCnxns=0\n\
                     maxSessionTimeout=60000\n4lw.commands.whitelist=*\n\
                     zookeeper.extendedTypesEnabled=true\n\
                     zookeeper.DigestAuthenticationProvider.superDigest=\
                     super:D/InIHSb7yEEbrWz8b9l71RjZJU=\n{servers}",
                    m.data().display(),
                    m.client.port()
                );
                std::fs::write(m.cfg(), cfg).expect("zoo.cfg");
                m
            })
            .collect();
        SpawnedEnsemble { members, root, bin }
    }

    fn spawn(&mut self, i: usize) {
        let m = &mut self.members[i];
        assert!(m.child.is_none(), "member {} runs already", i + 1);
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(m.log())
            .expect("open the member's log");
        let child = Command::new(&self.bin)
            .arg(m.cfg())
            .env_remove("JVMFLAGS")
            .env_remove("SERVER_JVMFLAGS")
            .env("RUST_LOG", "info")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("clone the log handle"))
            .stderr(log)
            .spawn()
            .expect("spawn zk-server");
        m.child = Some(child);
    }

    /// How many members there are.
    pub fn len(&self) -> usize {
        self.members.len()
    }

    /// Always false: an ensemble has members.
    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    /// Member `i`'s client address.
    pub fn addr(&self, i: usize) -> SocketAddr {
        self.members[i].client
    }

    /// A connect string of the members `which`.
    pub fn connect_string_of(&self, which: &[usize]) -> String {
        which
            .iter()
            .map(|&i| self.members[i].client.to_string())
            .collect::<Vec<_>>()
            .join(",")
    }

    /// A connect string of every member.
    pub fn all(&self) -> String {
        self.connect_string_of(&(0..self.len()).collect::<Vec<_>>())
    }

    /// The members that run (not killed).
    pub fn running(&self) -> Vec<usize> {
        (0..self.len())
            .filter(|&i| self.members[i].child.is_some())
            .collect()
    }

    /// Member `i`'s role now.
    pub async fn mode(&self, i: usize) -> Mode {
        let addr = self.members[i].client;
        let srvr = tokio::task::spawn_blocking(move || crate::four_letter_word(addr, "srvr"))
            .await
            .expect("the srvr thread does not panic");
        match srvr {
            Ok(s) if s.contains("Mode: leader") => Mode::Leader,
            Ok(s) if s.contains("Mode: follower") => Mode::Follower,
            Ok(_) => Mode::NotServing,
            Err(_) => Mode::Down,
        }
    }

    /// Waits until each of `which` serves and exactly one of them leads.
    ///
    /// # Errors
    /// A member exited (the message has its log's tail) or [`SERVE_LIMIT`] passed.
    pub async fn until_serving(&mut self, which: &[usize]) -> Result<(), String> {
        let deadline = Instant::now() + SERVE_LIMIT;
        loop {
            for &i in which {
                if let Some(status) = self.members[i]
                    .child
                    .as_mut()
                    .and_then(|c| c.try_wait().ok().flatten())
                {
                    self.members[i].child = None;
                    return Err(format!(
                        "member {} exited ({status})\n{}",
                        i + 1,
                        self.log_tail(i, 30)
                    ));
                }
            }
            let mut leaders = 0;
            let mut serving = 0;
            for &i in which {
                match self.mode(i).await {
                    Mode::Leader => {
                        leaders += 1;
                        serving += 1;
                    }
                    Mode::Follower => serving += 1,
                    Mode::NotServing | Mode::Down => {}
                }
            }
            if serving == which.len() && leaders == 1 {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "members {which:?} not all serving with one leader within {SERVE_LIMIT:?}\n{}",
                    self.logs()
                ));
            }
            // No event says when a member starts serving: ask again shortly.
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The member that leads now, once the running members serve with one leader.
    pub async fn leader(&mut self) -> usize {
        let running = self.running();
        if let Err(e) = self.until_serving(&running).await {
            panic!("{e}");
        }
        for i in running {
            if self.mode(i).await == Mode::Leader {
                return i;
            }
        }
        panic!("no leader among the running members\n{}", self.logs());
    }

    /// The member `session` is connected to, from the members' `cons` (None: connected to
    /// none of them now).
    pub async fn member_of(&self, session: SessionId) -> Option<usize> {
        let needle = format!("sid=0x{:x},", session.0);
        for i in self.running() {
            let addr = self.members[i].client;
            let cons = tokio::task::spawn_blocking(move || crate::four_letter_word(addr, "cons"))
                .await
                .expect("the cons thread does not panic");
            if cons.is_ok_and(|c| c.contains(&needle)) {
                return Some(i);
            }
        }
        None
    }

    /// Kills member `i` (SIGKILL) and waits for it to be gone.
    pub fn kill(&mut self, i: usize) {
        let mut child = self.members[i]
            .child
            .take()
            .unwrap_or_else(|| panic!("member {} is not running", i + 1));
        let _ = child.kill();
        let _ = child.wait();
    }

    /// Starts member `i` again on its ports and data, and waits until the running members serve.
    pub async fn restart(&mut self, i: usize) {
        self.spawn(i);
        let running = self.running();
        if let Err(e) = self.until_serving(&running).await {
            panic!("after restarting member {}: {e}", i + 1);
        }
    }

    /// The last `n` lines of member `i`'s log.
    pub fn log_tail(&self, i: usize, n: usize) -> String {
        let text = std::fs::read_to_string(self.members[i].log()).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(n)..].join("\n")
    }

    /// The tails of every member's log, for a failure message.
    pub fn logs(&self) -> String {
        (0..self.len())
            .map(|i| {
                format!(
                    "--- member {} log (tail)\n{}\n",
                    i + 1,
                    self.log_tail(i, 25)
                )
            })
            .collect()
    }

    /// The directory that holds every member's files.
    pub fn root(&self) -> &Path {
        &self.root
    }
}

impl Drop for SpawnedEnsemble {
    fn drop(&mut self) {
        for m in &mut self.members {
            if let Some(mut c) = m.child.take() {
                let _ = c.kill();
                let _ = c.wait();
            }
        }
        if std::thread::panicking() {
            eprintln!(
                "the failed test's ensemble files (logs, data) are kept in {}",
                self.root.display()
            );
        } else {
            let _ = std::fs::remove_dir_all(&self.root);
        }
    }
}

/// Three members as a [`TestServer`]: the generic recipe tests run against an ensemble.
/// Clients get every member in their connect string; [`TestServer::addr`] is member 1's (a
/// follower, unless the election made it the leader); a restart kills all three (SIGKILL) and
/// starts them again on their data.
#[derive(Debug)]
pub struct Ensemble3(pub SpawnedEnsemble);

impl TestServer for Ensemble3 {
    const NAME: &'static str = "a 3-member zk-server ensemble";

    async fn start() -> Self {
        Ensemble3(SpawnedEnsemble::start(3).await)
    }

    fn addr(&self) -> SocketAddr {
        self.0.addr(0)
    }

    fn connect_string(&self) -> String {
        self.0.all()
    }

    async fn restart(&mut self) {
        for i in 0..self.0.len() {
            self.0.kill(i);
        }
        for i in 0..self.0.len() {
            self.0.spawn(i);
        }
        if let Err(e) = self.0.until_serving(&[0, 1, 2]).await {
            panic!("after restarting every member: {e}");
        }
    }
}
