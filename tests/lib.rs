//! Helpers shared by the integration tests: free loopback ports, and a real Apache ZooKeeper 3.8
//! server (Debian's `zookeeper` package) started on one, stopped when dropped; the client and
//! recipe suites' support; history checking against real servers (`history_support`).
//!
//! Tests that need Apache ZooKeeper call [`ApacheZk::start`]; when the package is not installed
//! it returns an error that says so, and the README's test command installs it.
//!
//! [`replay::ReplayTree`] is a test oracle: a model of Apache ZooKeeper's replay of a snapshot
//! and log, with its tree digest, that the persistence tests compare recovery against.

pub mod client_support;
pub mod history_support;
pub mod recipes_support;
pub mod replay;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The classpath of Debian's Apache ZooKeeper package.
pub const ZK_CLASSPATH: &str = "/etc/zookeeper/conf:/usr/share/java/zookeeper.jar";

/// A free TCP port on 127.0.0.1 (bound, read, released).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("bind an ephemeral loopback port")
}

/// Sends a four-letter word and returns the whole answer.
pub fn four_letter_word(addr: SocketAddr, cmd: &str) -> std::io::Result<String> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
    s.set_read_timeout(Some(Duration::from_secs(5)))?;
    s.write_all(cmd.as_bytes())?;
    let mut out = String::new();
    s.read_to_string(&mut out)?;
    Ok(out)
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
    jvm_flags: Vec<String>,
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
        let port = free_port();
        let dir = std::env::temp_dir().join(format!("apache-zk-{}-{}", std::process::id(), port));
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        let data = data_dir
            .map(Path::to_path_buf)
            .unwrap_or_else(|| dir.join("data"));
        std::fs::create_dir_all(&data).map_err(|e| e.to_string())?;
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
        let jvm_flags: Vec<String> = jvm_flags.iter().map(|f| f.to_string()).collect();
        let child = spawn_zk(&cfg_path, &dir.join("zookeeper.log"), &jvm_flags)?;
        let addr: SocketAddr = ([127, 0, 0, 1], port).into();
        let mut zk = ApacheZk {
            child,
            addr,
            dir,
            jvm_flags,
        };
        zk.wait_serving()?;
        Ok(zk)
    }

    fn wait_serving(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if four_letter_word(self.addr, "srvr")
                .map(|s| s.starts_with("Zookeeper version"))
                .unwrap_or(false)
            {
                return Ok(());
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!("Apache ZooKeeper exited early: {status}"));
            }
            if Instant::now() > deadline {
                return Err("Apache ZooKeeper did not serve within 60 s".into());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Starts the server again after [`ApacheZk::stop`], on the same port, config and data
    /// directory, and waits until it serves.
    pub fn restart(&mut self) -> Result<(), String> {
        self.stop();
        self.child = spawn_zk(
            &self.dir.join("zoo.cfg"),
            &self.dir.join("zookeeper.log"),
            &self.jvm_flags,
        )?;
        self.wait_serving()
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
