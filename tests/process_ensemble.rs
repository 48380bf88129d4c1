//! Ensembles of real processes on loopback: the `zk-server` binary or Apache ZooKeeper 3.8
//! (`QuorumPeerMain`), one process per member, each with its zoo.cfg, its `dataDir/myid` and
//! its log file, driven by signals: SIGKILL, SIGSTOP / SIGCONT, SIGTERM, restart on the same
//! config and data directory, wipe of a data directory. Every process is started and stopped
//! by its own `Child` handle (PID), never by name.
//!
//! Ports: every config names every member's ports, so they are chosen before any member
//! starts, outside the kernel's ephemeral range ([`crate::ports::unassigned_port_block`]);
//! a member that cannot bind one (another server took it meanwhile) makes the whole start
//! try again on new ports, and once the ensemble serves, each member's `conf` must name its
//! own data directory (the server answering is ours).

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::ports::unassigned_port_block;

/// How many port blocks a start tries.
const ATTEMPTS: usize = 5;

/// Which server the members run.
#[derive(Debug, Clone)]
pub enum Flavor {
    /// The zk-server binary at this path.
    ZkServer(PathBuf),
    /// Apache ZooKeeper 3.8 from Debian's package (`java ... QuorumPeerMain`).
    Apache,
}

/// One member process.
#[derive(Debug)]
struct Member {
    dir: PathBuf,
    data: PathBuf,
    client: SocketAddr,
    observer: bool,
    child: Option<Child>,
    paused: bool,
}

/// A running ensemble of processes, killed (by PID) when dropped.
#[derive(Debug)]
pub struct ProcessEnsemble {
    flavor: Flavor,
    dir: PathBuf,
    members: BTreeMap<i64, Member>,
    /// `-Dkey=value` flags: on Apache's JVM command line, in zk-server's `JVMFLAGS`.
    jvm_flags: Vec<String>,
}

/// Sends a four-letter word to `addr` and returns the answer (None when nothing answers).
pub fn four_letter(addr: SocketAddr, cmd: &str) -> Option<String> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_millis(500)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(3))).ok()?;
    s.write_all(cmd.as_bytes()).ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    Some(out)
}

/// The `Mode:` of a `srvr` answer (`leader`, `follower`, `observer`, `standalone`).
pub fn srvr_mode(srvr: &str) -> Option<&str> {
    srvr.lines().find_map(|l| l.strip_prefix("Mode: "))
}

/// The `Zxid:` of a `srvr` answer.
pub fn srvr_zxid(srvr: &str) -> Option<i64> {
    let hex = srvr.lines().find_map(|l| l.strip_prefix("Zxid: 0x"))?;
    i64::from_str_radix(hex.trim(), 16).ok()
}

/// The one member whose mode is `leader`, if there is exactly one.
fn sole_leader(modes: &BTreeMap<i64, Option<String>>) -> Option<i64> {
    let mut leaders = modes
        .iter()
        .filter(|(_, m)| m.as_deref() == Some("leader"))
        .map(|(id, _)| *id);
    match (leaders.next(), leaders.next()) {
        (Some(one), None) => Some(one),
        _ => None,
    }
}

/// Sends `signal` (`-STOP`, `-CONT`, `-TERM`) to `pid`.
fn signal(pid: u32, signal: &str) {
    let ok = Command::new("kill")
        .args([signal, &pid.to_string()])
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "kill {signal} {pid}");
}

impl ProcessEnsemble {
    /// Starts `voters` participants and `observers` observers, with `extra` zoo.cfg lines, and
    /// waits until every member serves.
    ///
    /// # Errors
    /// A member that does not start or serve, or ports that clashed in every attempt.
    pub fn start(
        flavor: Flavor,
        voters: usize,
        observers: usize,
        extra: &[&str],
    ) -> Result<ProcessEnsemble, String> {
        Self::start_with_jvm_flags(flavor, voters, observers, extra, &[])
    }

    /// [`ProcessEnsemble::start`] with JVM system properties (`-Dreadonlymode.enabled=true`):
    /// on Apache ZooKeeper's command line, in zk-server's `JVMFLAGS` (as `zkServer.sh` passes
    /// them).
    ///
    /// # Errors
    /// As [`ProcessEnsemble::start`].
    pub fn start_with_jvm_flags(
        flavor: Flavor,
        voters: usize,
        observers: usize,
        extra: &[&str],
        jvm_flags: &[&str],
    ) -> Result<ProcessEnsemble, String> {
        let dir = crate::fresh_data_dir("process-ensemble");
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        let mut ensemble = ProcessEnsemble {
            flavor,
            dir,
            members: BTreeMap::new(),
            jvm_flags: jvm_flags.iter().map(|f| f.to_string()).collect(),
        };
        let n = voters + observers;
        let mut why = Vec::new();
        for _ in 0..ATTEMPTS {
            let first = unassigned_port_block(3 * n as u16);
            ensemble.configure(voters, observers, first, extra)?;
            for id in ensemble.ids() {
                ensemble.restart(id);
            }
            match ensemble.wait_all_serving(Duration::from_secs(60)) {
                Ok(()) if ensemble.ours() => return Ok(ensemble),
                Ok(()) => why.push("another server answered on our ports".to_string()),
                Err(e) if ensemble.clashed() => why.push(e),
                Err(e) => return Err(e),
            }
            for id in ensemble.ids() {
                ensemble.kill(id);
            }
        }
        Err(format!(
            "no free ports in {ATTEMPTS} attempts: {}",
            why.join("; ")
        ))
    }

    /// Writes every member's zoo.cfg and myid for the port block from `first`: member i
    /// (from 0) has client port `first + 3i`, quorum `+1`, election `+2`.
    fn configure(
        &mut self,
        voters: usize,
        observers: usize,
        first: u16,
        extra: &[&str],
    ) -> Result<(), String> {
        let n = voters + observers;
        let port = |i: usize, k: usize| first + (3 * i + k) as u16;
        let mut servers = String::new();
        for i in 0..n {
            let kind = if i < voters {
                "participant"
            } else {
                "observer"
            };
            servers.push_str(&format!(
                "server.{}=127.0.0.1:{}:{}:{kind};127.0.0.1:{}\n",
                i + 1,
                port(i, 1),
                port(i, 2),
                port(i, 0)
            ));
        }
        self.members.clear();
        for i in 0..n {
            let id = (i + 1) as i64;
            let dir = self.dir.join(format!("member-{id}"));
            let data = dir.join("data");
            std::fs::create_dir_all(&data).map_err(|e| e.to_string())?;
            std::fs::write(data.join("myid"), format!("{id}\n")).map_err(|e| e.to_string())?;
            let mut cfg = format!(
                "tickTime=200\ninitLimit=10\nsyncLimit=5\ndataDir={}\nclientPort={}\n\
                 clientPortAddress=127.0.0.1\nmaxClientCnxns=0\nmaxSessionTimeout=60000\n\
                 4lw.commands.whitelist=*\nadmin.enableServer=false\n",
                data.display(),
                port(i, 0)
            );
            cfg.push_str(&servers);
            for line in extra {
                cfg.push_str(line);
                cfg.push('\n');
            }
            std::fs::write(dir.join("zoo.cfg"), cfg).map_err(|e| e.to_string())?;
            self.members.insert(
                id,
                Member {
                    dir,
                    data,
                    client: SocketAddr::from(([127, 0, 0, 1], port(i, 0))),
                    observer: i >= voters,
                    child: None,
                    paused: false,
                },
            );
        }
        Ok(())
    }

    fn member(&self, id: i64) -> &Member {
        &self.members[&id]
    }

    fn member_mut(&mut self, id: i64) -> &mut Member {
        self.members
            .get_mut(&id)
            .unwrap_or_else(|| panic!("no member {id}"))
    }

    /// Every member's id (voters first).
    pub fn ids(&self) -> Vec<i64> {
        self.members.keys().copied().collect()
    }

    /// The voters' ids.
    pub fn voters(&self) -> Vec<i64> {
        self.members
            .iter()
            .filter(|(_, m)| !m.observer)
            .map(|(id, _)| *id)
            .collect()
    }

    /// Every member's client address, comma-separated.
    pub fn connect_string(&self) -> String {
        self.members
            .values()
            .map(|m| m.client.to_string())
            .collect::<Vec<_>>()
            .join(",")
    }

    /// A member's client address.
    pub fn client_addr(&self, id: i64) -> SocketAddr {
        self.member(id).client
    }

    /// A member's data directory (with its myid).
    pub fn data_dir(&self, id: i64) -> &Path {
        &self.member(id).data
    }

    /// A member's log file (stdout and stderr of every run, appended).
    pub fn log_path(&self, id: i64) -> PathBuf {
        self.member(id).dir.join("server.log")
    }

    /// A member's log, every run of it.
    pub fn log(&self, id: i64) -> String {
        String::from_utf8_lossy(&std::fs::read(self.log_path(id)).unwrap_or_default()).into_owned()
    }

    /// Whether a member's process runs (paused or not).
    pub fn is_running(&self, id: i64) -> bool {
        self.member(id).child.is_some()
    }

    /// Starts member `id`'s process (again), appending to its log. Panics if it runs.
    pub fn restart(&mut self, id: i64) {
        let flavor = self.flavor.clone();
        let jvm_flags = self.jvm_flags.clone();
        let m = self.member_mut(id);
        assert!(m.child.is_none(), "member {id} already runs");
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(m.dir.join("server.log"))
            .expect("open the member's log");
        let cfg = m.dir.join("zoo.cfg");
        let mut cmd = match &flavor {
            Flavor::ZkServer(bin) => {
                let mut c = Command::new(bin);
                // `ZK_MEMBER_LOG` replaces the members' log filter (e.g.
                // `info,zk_server::quorum::election=trace` for every notification).
                let filter = std::env::var("ZK_MEMBER_LOG").unwrap_or_else(|_| "info".into());
                c.arg(&cfg).env("RUST_LOG", filter).env("NO_COLOR", "1");
                if !jvm_flags.is_empty() {
                    c.env("JVMFLAGS", jvm_flags.join(" "));
                }
                c
            }
            Flavor::Apache => {
                let mut c = Command::new("java");
                c.args([
                    "-Xmx192m",
                    "-XX:+UseSerialGC",
                    "-XX:TieredStopAtLevel=1",
                    "-Dzookeeper.admin.enableServer=false",
                    "-Dorg.slf4j.simpleLogger.showDateTime=true",
                ])
                .args(&jvm_flags)
                .args([
                    "-cp",
                    &format!("{}:/usr/share/java/slf4j-simple.jar", crate::ZK_CLASSPATH),
                    "org.apache.zookeeper.server.quorum.QuorumPeerMain",
                ])
                .arg(&cfg);
                c
            }
        };
        let child = cmd
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("clone the log handle"))
            .stderr(log)
            .spawn()
            .expect("spawn the member");
        m.child = Some(child);
        m.paused = false;
    }

    /// SIGKILLs member `id` and waits for it (no-op when it does not run).
    pub fn kill(&mut self, id: i64) {
        let m = self.member_mut(id);
        if let Some(mut c) = m.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        m.paused = false;
    }

    /// SIGTERMs member `id` and waits (at most 20 s, then SIGKILL) for it to exit; returns
    /// whether it exited on its own, successfully.
    pub fn terminate(&mut self, id: i64) -> bool {
        let m = self.member_mut(id);
        let Some(mut c) = m.child.take() else {
            return false;
        };
        if m.paused {
            signal(c.id(), "-CONT");
            m.paused = false;
        }
        signal(c.id(), "-TERM");
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(Some(status)) = c.try_wait() {
                return status.success();
            }
            if Instant::now() > deadline {
                let _ = c.kill();
                let _ = c.wait();
                return false;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits until every member's `srvr` shows the same zxid, stops each with SIGTERM (each
    /// must exit cleanly), and merges their logs into the committed history up to that zxid
    /// (see [`crate::ensemble_history::merge_committed`]).
    ///
    /// # Panics
    /// The members do not converge within `timeout`, one does not exit cleanly, or the logs
    /// do not merge.
    pub fn converge_and_stop(&mut self, timeout: Duration) -> zk_history::CommittedHistory {
        let ids = self.ids();
        let deadline = Instant::now() + timeout;
        let last = loop {
            let zxids: Vec<Option<i64>> = ids
                .iter()
                .map(|id| self.srvr(*id).as_deref().and_then(srvr_zxid))
                .collect();
            if let Some(Some(z)) = zxids.first() {
                if zxids.iter().all(|x| *x == Some(*z)) {
                    break zk_core::Zxid(*z);
                }
            }
            assert!(
                Instant::now() < deadline,
                "the members do not converge: {zxids:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        };
        for id in &ids {
            assert!(self.terminate(*id), "member {id} exits cleanly on SIGTERM");
        }
        let dirs: Vec<_> = ids
            .iter()
            .map(|id| (*id, self.data_dir(*id).to_path_buf()))
            .collect();
        let (committed, _) =
            crate::ensemble_history::merge_committed(&dirs, last).expect("merge the logs");
        committed
    }

    /// SIGSTOPs member `id`.
    pub fn pause(&mut self, id: i64) {
        let m = self.member_mut(id);
        let pid = m.child.as_ref().expect("running").id();
        signal(pid, "-STOP");
        m.paused = true;
    }

    /// SIGCONTs member `id`.
    pub fn resume(&mut self, id: i64) {
        let m = self.member_mut(id);
        let pid = m.child.as_ref().expect("running").id();
        signal(pid, "-CONT");
        m.paused = false;
    }

    /// Deletes everything in a stopped member's data directory but its myid.
    pub fn wipe(&mut self, id: i64) {
        let m = self.member(id);
        assert!(m.child.is_none(), "member {id} runs");
        for entry in std::fs::read_dir(&m.data).expect("read the data dir") {
            let entry = entry.unwrap();
            if entry.file_name() == "myid" {
                continue;
            }
            let path = entry.path();
            if path.is_dir() {
                std::fs::remove_dir_all(&path).unwrap();
            } else {
                std::fs::remove_file(&path).unwrap();
            }
        }
    }

    /// A running, not paused member's `srvr` answer.
    pub fn srvr(&self, id: i64) -> Option<String> {
        let m = self.member(id);
        if m.child.is_none() || m.paused {
            return None;
        }
        four_letter(m.client, "srvr")
    }

    /// Every running member's mode as `srvr` says it (None: not serving, or no answer).
    pub fn modes(&self) -> BTreeMap<i64, Option<String>> {
        self.members
            .iter()
            .filter(|(_, m)| m.child.is_some() && !m.paused)
            .map(|(id, _)| {
                let mode = self
                    .srvr(*id)
                    .and_then(|s| srvr_mode(&s).map(str::to_owned));
                (*id, mode)
            })
            .collect()
    }

    /// The member whose `srvr` says `Mode: leader`, if exactly one does.
    pub fn leader(&self) -> Option<i64> {
        sole_leader(&self.modes())
    }

    /// Waits until one member leads and a quorum of voters (the leader included) serve, all
    /// seen in one round of `srvr`; returns the leader.
    ///
    /// # Errors
    /// Not within `timeout`: the message has every member's mode.
    pub fn wait_ready(&self, timeout: Duration) -> Result<i64, String> {
        let deadline = Instant::now() + timeout;
        let voters = self.voters();
        loop {
            let modes = self.modes();
            if let Some(leader) = sole_leader(&modes) {
                let serving = voters
                    .iter()
                    .filter(|id| {
                        modes
                            .get(id)
                            .is_some_and(|m| matches!(m.as_deref(), Some("leader" | "follower")))
                    })
                    .count();
                if serving > voters.len() / 2 {
                    return Ok(leader);
                }
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "no leader with a quorum within {timeout:?}: {modes:?}"
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits until one member leads and every running, not paused member serves, all seen
    /// in one round of `srvr`.
    ///
    /// # Errors
    /// Not within `timeout`, or a member exited: the message says which.
    pub fn wait_all_serving(&mut self, timeout: Duration) -> Result<(), String> {
        let deadline = Instant::now() + timeout;
        loop {
            let modes = self.modes();
            if sole_leader(&modes).is_some() && modes.values().all(Option::is_some) {
                return Ok(());
            }
            if let Some(id) = self.exited() {
                return Err(format!("member {id} exited; its log:\n{}", self.log(id)));
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "not every member serves within {timeout:?}: {modes:?}"
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// A member whose process exited on its own.
    fn exited(&mut self) -> Option<i64> {
        self.members.iter_mut().find_map(|(id, m)| {
            let exited = m.child.as_mut()?.try_wait().ok().flatten().is_some();
            exited.then_some(*id)
        })
    }

    /// Whether a member failed because a port was taken.
    fn clashed(&self) -> bool {
        self.members.keys().any(|id| {
            let log = self.log(*id);
            log.contains("Address already in use") || log.contains("AddrInUse")
        })
    }

    /// Whether every member's `conf` names its own data directory.
    fn ours(&self) -> bool {
        self.members.values().all(|m| {
            four_letter(m.client, "conf").is_some_and(|c| c.contains(&m.data.display().to_string()))
        })
    }
}

impl Drop for ProcessEnsemble {
    fn drop(&mut self) {
        for id in self.ids() {
            self.kill(id);
        }
        if std::thread::panicking() {
            eprintln!(
                "process ensemble: files and logs kept in {}",
                self.dir.display()
            );
        } else {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

pub use crate::zk_server_binary;
