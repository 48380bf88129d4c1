//! Helpers shared by the integration tests: a real Apache ZooKeeper 3.8 server (Debian's
//! `zookeeper` package) on a loopback port, stopped when dropped; the policy for tests that
//! need such an external peer; loopback ports; the client and recipe suites' support;
//! history checking against real servers (`history_support`); ensembles of real processes
//! (`process_ensemble`) and what is read back from an ensemble after a run
//! (`ensemble_history`); an ensemble of spawned zk-server processes for the recipe tests
//! (`ensemble_support`); kazoo's own test suite run against zk-server or Apache ZooKeeper,
//! standalone or as an ensemble (`kazoo_support`).
//!
//! [`replay::ReplayTree`] is a test oracle: a model of Apache ZooKeeper's replay of a snapshot
//! and log, with its tree digest, that the persistence tests compare recovery against.
//!
//! # External peers and CI
//!
//! Some tests compare with, or are driven by, programs this workspace does not build: Apache
//! ZooKeeper, the Java client (a JDK), kazoo and its test suite, the C client, Curator.
//! `scripts/deps` installs them. Every such test goes through one helper, [`require_peer`]:
//!
//! * **Under CI** a missing peer, or one that does not start, **fails** the test with the
//!   reason. A test knows it runs under CI from the `CI` environment variable: set to anything
//!   but empty, `0` or `false` ([`under_ci`]). CI systems set `CI=true`; `scripts/test`, the
//!   command `.ci/run` runs, exports `CI=1` when it is unset, so the whole test run always
//!   counts a missing peer as a failure.
//! * **Outside CI** (a plain `cargo test`) the test is skipped, loudly: a banner on stderr names
//!   the test, the peer and the reason.
//!
//! Tests written once against [`client_support::TestServer`] and run against Apache
//! ZooKeeper (the client suite, the recipe tests) cannot stop half-way: there
//! [`client_support::ApacheServer`] fails the test when Apache ZooKeeper does not start, in
//! and outside CI.
//!
//! # Ports
//!
//! A server that can bind port 0 does, and reports the port it got (zk-server in process, and
//! the `zk-server` binary in its log). Apache ZooKeeper cannot report one, so [`ApacheZk`]
//! picks a port outside the kernel's ephemeral range ([`ports::unassigned_port`]), where no
//! port-0 bind or outgoing connection can take it, checks that the server answering there is
//! its own, and tries another port on a clash.

pub mod client_support;
pub mod ensemble_history;
pub mod ensemble_support;
pub mod history_support;
pub mod kazoo_support;
pub mod peer;
pub mod ports;
pub mod process_ensemble;
pub mod recipes_support;
pub mod replay;
pub mod zkcli_support;

pub use peer::{require_peer, under_ci};

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The classpath of Debian's Apache ZooKeeper package.
pub const ZK_CLASSPATH: &str = "/etc/zookeeper/conf:/usr/share/java/zookeeper.jar";

/// Sends a four-letter word and returns the whole answer.
pub fn four_letter_word(addr: SocketAddr, cmd: &str) -> std::io::Result<String> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
    s.set_read_timeout(Some(Duration::from_secs(5)))?;
    s.write_all(cmd.as_bytes())?;
    let mut out = String::new();
    s.read_to_string(&mut out)?;
    Ok(out)
}

/// The zk-server binary of this build, built first if needed (the tests package depends on the
/// zk-server library only, so `cargo test -p tests` alone does not build its binaries); built
/// once per test process.
pub fn zk_server_binary() -> PathBuf {
    static BIN: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BIN.get_or_init(build_zk_server).clone()
}

fn build_zk_server() -> PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    // target/<profile>/deps/<test>-<hash>
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("test binary in target/<profile>/deps");
    let release = profile_dir.file_name().is_some_and(|n| n == "release");
    let mut build = Command::new(env!("CARGO"));
    build
        .args(["build", "--quiet", "-p", "zk-server", "--bin", "zk-server"])
        .current_dir(env!("CARGO_MANIFEST_DIR"));
    if release {
        build.arg("--release");
    }
    if let Some(target) = profile_dir.parent() {
        build.env("CARGO_TARGET_DIR", target);
    }
    let status = build.status().expect("run cargo build");
    assert!(status.success(), "cargo build -p zk-server failed");
    let bin = profile_dir.join("zk-server");
    assert!(bin.exists(), "{} missing after the build", bin.display());
    bin
}

/// Sends `tracing` output to the test harness's captured output, filtered by `RUST_LOG`
/// (nothing when it is unset). Idempotent.
pub fn init_tracing() {
    if std::env::var_os("RUST_LOG").is_some() {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_test_writer()
            .try_init();
    }
}

/// Writes the JAAS file kazoo's harness gives a server (a `Server` section with Apache
/// ZooKeeper's DigestLoginModule and users `super` and `jaasuser`, password
/// `jaas_password`) into `dir` and returns its path.
pub fn write_server_jaas(dir: &Path) -> PathBuf {
    let path = dir.join("server.jaas");
    std::fs::write(
        &path,
        "Server {\n  org.apache.zookeeper.server.auth.DigestLoginModule required\n  \
         user_super=\"super_secret\"\n  user_jaasuser=\"jaas_password\";\n};\n",
    )
    .expect("write the JAAS file");
    path
}

/// True when Debian's zookeeper package is installed.
pub fn apache_zk_installed() -> bool {
    Path::new("/usr/share/java/zookeeper.jar").exists()
}

/// A running Apache ZooKeeper 3.8 standalone server on a loopback port, killed on drop.
pub struct ApacheZk {
    child: Child,
    addr: SocketAddr,
    dir: PathBuf,
    data: PathBuf,
    jvm_flags: Vec<String>,
}

/// How many ports [`ApacheZk::start`] tries before it gives up.
const PORT_ATTEMPTS: usize = 5;

/// Why a started server is not serving.
enum Serving {
    /// Its port was taken by another server: try another port.
    Clash(String),
    /// It failed.
    Failed(String),
}

/// Spawns `QuorumPeerMain` on a zoo.cfg, logging to `log`, with extra JVM flags.
fn spawn_zk(cfg_path: &Path, log: &Path, jvm_flags: &[String]) -> Result<Child, String> {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .map_err(|e| e.to_string())?;
    // Debian's package ships no slf4j binding on this classpath; slf4j-simple (installed with
    // it) makes the server's log readable when a test fails.
    let simple = "/usr/share/java/slf4j-simple.jar";
    let classpath = if Path::new(simple).exists() {
        format!("{ZK_CLASSPATH}:{simple}")
    } else {
        ZK_CLASSPATH.to_string()
    };
    Command::new("java")
        .args([
            "-Xmx512m",
            "-Dorg.slf4j.simpleLogger.showDateTime=true",
            "-Dorg.slf4j.simpleLogger.dateTimeFormat=HH:mm:ss.SSS",
            "-Dzookeeper.extendedTypesEnabled=true",
            "-Dzookeeper.DigestAuthenticationProvider.superDigest=super:D/InIHSb7yEEbrWz8b9l71RjZJU=",
            "-Dzookeeper.admin.enableServer=false",
        ])
        .args(jvm_flags)
        .args([
            "-cp",
            &classpath,
            "org.apache.zookeeper.server.quorum.QuorumPeerMain",
        ])
        .arg(cfg_path)
        .stdin(Stdio::null())
        .stdout(log.try_clone().map_err(|e| e.to_string())?)
        .stderr(log)
        .spawn()
        .map_err(|e| format!("cannot start java: {e}"))
}

fn log_len(log: &Path) -> u64 {
    std::fs::metadata(log).map(|m| m.len()).unwrap_or(0)
}

/// Waits until `child` serves on `addr` with `data` as its data directory; stops it when it
/// does not. `log_from` is where its log starts in `log`.
fn wait_serving(
    child: &mut Child,
    addr: SocketAddr,
    data: &Path,
    log: &Path,
    log_from: u64,
) -> Result<(), Serving> {
    let deadline = Instant::now() + Duration::from_secs(60);
    // `conf` names the data directory (`dataDir=<dir>/version-2`): the server answering on
    // this port is ours only if it is this one.
    let ours = format!("dataDir={}", data.display());
    let stop = |child: &mut Child| {
        let _ = child.kill();
        let _ = child.wait();
    };
    loop {
        if let Ok(conf) = four_letter_word(addr, "conf") {
            if conf.contains(&ours) {
                // `ruok` and some others answer before the server is ready; `srvr` not.
                if four_letter_word(addr, "srvr").is_ok_and(|s| s.starts_with("Zookeeper version"))
                {
                    return Ok(());
                }
            } else if conf.contains("dataDir=") {
                stop(child);
                return Err(Serving::Clash(format!("another server answers on {addr}")));
            }
        }
        if let Ok(Some(status)) = child.try_wait() {
            let text = std::fs::read(log).unwrap_or_default();
            let ours = text.get(log_from as usize..).unwrap_or_default();
            if String::from_utf8_lossy(ours).contains("Address already in use") {
                return Err(Serving::Clash(format!("{addr} was taken")));
            }
            return Err(Serving::Failed(format!(
                "Apache ZooKeeper exited early: {status}"
            )));
        }
        if Instant::now() > deadline {
            stop(child);
            return Err(Serving::Failed(
                "Apache ZooKeeper did not serve within 60 s".into(),
            ));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

impl ApacheZk {
    /// Starts a server with extendedTypesEnabled (TTL nodes), every four-letter word, the
    /// super digest `super:test`, and `extra` zoo.cfg lines; waits until it serves (`srvr` answers; `ruok` answers
    /// before the server is ready).
    pub fn start(extra: &[&str]) -> Result<ApacheZk, String> {
        Self::start_in(None, extra)
    }

    /// Like [`ApacheZk::start`], on an existing data directory (kept after the server stops).
    pub fn start_in(data_dir: Option<&Path>, extra: &[&str]) -> Result<ApacheZk, String> {
        Self::start_with(data_dir, extra, &[])
    }

    /// Like [`ApacheZk::start_in`], with extra JVM flags (`-Dkey=value` system properties).
    pub fn start_with(
        data_dir: Option<&Path>,
        extra: &[&str],
        jvm_flags: &[&str],
    ) -> Result<ApacheZk, String> {
        if !apache_zk_installed() {
            return Err(
                "Apache ZooKeeper is not installed: run scripts/test, which installs \
                        Debian's zookeeper package"
                    .into(),
            );
        }
        static STARTED: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = STARTED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("apache-zk-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        let data = data_dir
            .map(Path::to_path_buf)
            .unwrap_or_else(|| dir.join("data"));
        std::fs::create_dir_all(&data).map_err(|e| e.to_string())?;
        let jvm_flags: Vec<String> = jvm_flags.iter().map(|f| f.to_string()).collect();
        let mut clashes = Vec::new();
        for _ in 0..PORT_ATTEMPTS {
            // Apache ZooKeeper cannot report a port it bound itself: give it one no port-0
            // bind can take, and try another if a server picked the same one meanwhile.
            let port = ports::unassigned_port();
            let mut cfg = format!(
                "tickTime=2000\ndataDir={}\nclientPort={port}\nclientPortAddress=127.0.0.1\n\
                 admin.enableServer=false\n4lw.commands.whitelist=*\nmaxClientCnxns=0\n",
                data.display()
            );
            for line in extra {
                cfg.push_str(line);
                cfg.push('\n');
            }
            let cfg_path = dir.join("zoo.cfg");
            std::fs::write(&cfg_path, cfg).map_err(|e| e.to_string())?;
            let log = dir.join("zookeeper.log");
            let log_from = log_len(&log);
            let mut child = spawn_zk(&cfg_path, &log, &jvm_flags)?;
            let addr: SocketAddr = ([127, 0, 0, 1], port).into();
            match wait_serving(&mut child, addr, &data, &log, log_from) {
                Ok(()) => {
                    return Ok(ApacheZk {
                        child,
                        addr,
                        dir,
                        data,
                        jvm_flags,
                    })
                }
                Err(Serving::Clash(why)) => clashes.push(why),
                Err(Serving::Failed(why)) => return Err(why),
            }
        }
        Err(format!(
            "Apache ZooKeeper found no free port in {PORT_ATTEMPTS} attempts: {}",
            clashes.join("; ")
        ))
    }

    /// Starts the server again after [`ApacheZk::stop`], on the same port, config and data
    /// directory, and waits until it serves.
    pub fn restart(&mut self) -> Result<(), String> {
        self.stop();
        let log = self.dir.join("zookeeper.log");
        let log_from = log_len(&log);
        self.child = spawn_zk(&self.dir.join("zoo.cfg"), &log, &self.jvm_flags)?;
        // The port must stay the same (clients resume their sessions on it); it is outside
        // the ephemeral range, so only another server picking it meanwhile can take it.
        wait_serving(&mut self.child, self.addr, &self.data, &log, log_from).map_err(|e| match e {
            Serving::Clash(why) | Serving::Failed(why) => why,
        })
    }

    /// The client address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The connect string, `127.0.0.1:PORT`.
    pub fn connect_string(&self) -> String {
        self.addr.to_string()
    }

    /// The server's scratch directory (config, log, default data directory).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Stops the server (SIGKILL) and waits for it.
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for ApacheZk {
    fn drop(&mut self) {
        self.stop();
        if std::thread::panicking() {
            // A failing test keeps the server's config, log and data for the post-mortem.
            eprintln!("Apache ZooKeeper's files kept in {}", self.dir.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

pub mod raw;

/// A new, empty data directory under the temp dir, unique per call (`zk-<tag>-<pid>-<n>`), for
/// servers that must start from an empty tree (zk-server recovers whatever its dir holds).
pub fn fresh_data_dir(tag: &str) -> std::path::PathBuf {
    static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("zk-{tag}-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// The README's code blocks compile (`cargo test --doc -p tests`).
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

/// The tokio runtime the blocking fault tests drive their clients on: two workers, IO and
/// timers.
///
/// # Panics
/// When the runtime cannot be built.
pub fn two_worker_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime")
}
