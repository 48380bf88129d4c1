//! Running kazoo's own test suite (Debian's python3-kazoo 2.8 ships it with its harness) against
//! zk-server or Apache ZooKeeper 3.8, standalone or as an ensemble, and reading its results.
//!
//! kazoo's harness (`kazoo/testing/common.py`) writes one zoo.cfg per member (with `server.N`
//! lines, `initLimit`/`syncLimit` and a `myid` file when the cluster has more than one member)
//! and starts each with `java ... org.apache.zookeeper.server.quorum.QuorumPeerMain zoo.cfg`,
//! stopping them with SIGTERM (and restarting some mid-test). [`Suite::run`] puts a `java` shim
//! first in `PATH` that runs the zk-server binary on that zoo.cfg instead (the `-Dkey=value`
//! flags reach it through `JVMFLAGS`), or runs the real java for Apache ZooKeeper.
//!
//! Used by `tests/server_kazoo_suite.rs` (standalone) and `tests/server_kazoo_cluster.rs`
//! (three members).

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// Where Debian installs kazoo's tests.
pub const KAZOO_TESTS: &str = "/usr/lib/python3/dist-packages/kazoo/tests";

/// Every module of the suite (the gevent and eventlet modules rerun the client, lock and
/// semaphore tests with those handlers).
pub const MODULES: &[&str] = &[
    "test_barrier.py",
    "test_build.py",
    "test_cache.py",
    "test_client.py",
    "test_connection.py",
    "test_counter.py",
    "test_election.py",
    "test_eventlet_handler.py",
    "test_exceptions.py",
    "test_gevent_handler.py",
    "test_hosts.py",
    "test_interrupt.py",
    "test_lease.py",
    "test_lock.py",
    "test_partitioner.py",
    "test_party.py",
    "test_paths.py",
    "test_queue.py",
    "test_retry.py",
    "test_sasl.py",
    "test_security.py",
    "test_threading_handler.py",
    "test_utils.py",
    "test_watchers.py",
];

/// The skips any run of the suite here has (substrings of pytest's `SKIPPED` lines), whatever
/// the server, with the tests they cover.
pub const ENVIRONMENT_SKIPS: &[&str] = &[
    // test_build.py::TestBuildEnvironment::test_zookeeper_version: checks Travis' setup.
    "Only run build config tests on Travis.",
    // test_sasl.py::TestSASLKerberos (2 tests): needs a Kerberos KDC (KRB5_TEST_ENV).
    "Test Kerberos environ not setup.",
];

/// The `java` shim: QuorumPeerMain runs zk-server on the zoo.cfg (the last argument), with the
/// JVM's `-D` flags in JVMFLAGS and its log in `$KAZOO_SUITE_SERVER_LOG/zk-server-<clientPort>.log`
/// (one per member); anything else runs the real java.
const SHIM: &str = r#"#!/bin/sh
for a in "$@"; do
  if [ "$a" = org.apache.zookeeper.server.quorum.QuorumPeerMain ]; then
    flags=""
    for b in "$@"; do
      case "$b" in -D*) flags="$flags $b" ;; esac
      cfg="$b"
    done
    port=$(sed -n 's/^clientPort=//p' "$cfg")
    JVMFLAGS="$flags" exec "$KAZOO_SUITE_ZK_SERVER" "$cfg" \
      2>>"$KAZOO_SUITE_SERVER_LOG/zk-server-$port.log"
  fi
done
exec /usr/bin/java "$@"
"#;

/// What the suite needs besides the server: kazoo with its tests, pytest and what the tests
/// import, and java (the harness runs it; the shim hands QuorumPeerMain to zk-server).
pub fn suite_tools() -> Result<(), String> {
    if !Path::new(KAZOO_TESTS).join("test_client.py").exists() {
        return Err("python3-kazoo (with its tests) is missing".into());
    }
    for (module, package) in [
        ("pytest", "python3-pytest"),
        ("pytest_timeout", "python3-pytest-timeout"),
        ("mock", "python3-mock"),
        ("objgraph", "python3-objgraph"),
        ("gevent", "python3-gevent"),
        ("eventlet", "python3-eventlet"),
        ("puresasl", "python3-pure-sasl"),
    ] {
        if !python_has(module) {
            return Err(format!("{package} is missing"));
        }
    }
    crate::peer::files_exist(&["/usr/bin/java"])
}

fn python_has(module: &str) -> bool {
    Command::new("/usr/bin/python3")
        .args(["-c", &format!("import {module}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// The server the harness starts.
#[derive(Debug, Clone)]
pub enum Target {
    /// The zk-server binary, through the `java` shim.
    ZkServer(PathBuf),
    /// Apache ZooKeeper 3.8 (Debian's package), no shim.
    Apache,
}

/// One pytest run of (part of) the suite.
#[derive(Debug, Clone)]
pub struct Suite {
    /// Who serves.
    pub target: Target,
    /// `ZOOKEEPER_CLUSTER_SIZE`: 1 (standalone) or more (an ensemble).
    pub cluster_size: u16,
    /// What pytest collects: modules or node ids, relative to [`KAZOO_TESTS`].
    pub select: Vec<String>,
    /// Node ids deselected, relative to [`KAZOO_TESTS`].
    pub deselect: Vec<String>,
    /// The whole run's limit.
    pub run_limit: Duration,
    /// pytest-timeout's limit per test: a hung test ends the run (with every thread's stack).
    pub per_test_timeout_s: u32,
}

/// What a run gave.
#[derive(Debug)]
pub struct Outcome {
    /// pytest's exit status, None when it overran the run limit (and was killed).
    pub status: Option<ExitStatus>,
    /// pytest's stdout.
    pub out: String,
    /// pytest's stderr.
    pub err: String,
    /// The servers' logs (zk-server's, one section per member; empty for Apache ZooKeeper).
    pub logs: String,
    /// How long pytest ran.
    pub elapsed: Duration,
    /// The run's per-test limit (s).
    pub per_test_timeout_s: u32,
}

impl Suite {
    /// Runs pytest in a fresh temporary directory on a free block of ports (again on other
    /// ports, up to three times, when a server elsewhere took one of them meanwhile), then
    /// stops every server the harness left behind.
    pub fn run(&self) -> Outcome {
        let work = tempfile::tempdir().expect("temp dir");
        let bin = work.path().join("bin");
        std::fs::create_dir_all(&bin).unwrap();
        let mut path = std::env::var("PATH").unwrap_or_default();
        if matches!(self.target, Target::ZkServer(_)) {
            let shim = bin.join("java");
            std::fs::write(&shim, SHIM).unwrap();
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&shim, std::fs::Permissions::from_mode(0o755)).unwrap();
            path = format!("{}:{path}", bin.display());
        }
        // The harness gives member i the ports offset + 10 i .. + 3 (client, election,
        // quorum, admin).
        let block = 10 * (self.cluster_size - 1) + 4;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let port_offset = crate::ports::unassigned_port_block(block);
            let outcome = self.run_once(work.path(), &path, port_offset, attempt);
            if attempt < 3 && outcome.logs.contains("Address already in use") {
                eprintln!("a port from {port_offset} was taken during the run: again on others");
                continue;
            }
            return outcome;
        }
    }

    fn run_once(&self, work: &Path, path: &str, port_offset: u16, attempt: u32) -> Outcome {
        let tmp = work.join(format!("tmp{attempt}"));
        let logs = work.join(format!("logs{attempt}"));
        std::fs::create_dir_all(&tmp).unwrap();
        std::fs::create_dir_all(&logs).unwrap();
        let mut cmd = Command::new("/usr/bin/python3");
        cmd.args(["-m", "pytest", "-p", "no:cacheprovider", "-rA", "-q"])
            // A hung test ends the whole run at once (with every thread's stack on stderr)
            // rather than hanging again in its teardown.
            .arg(format!("--timeout={}", self.per_test_timeout_s))
            .arg("--timeout-method=thread")
            .args(["--rootdir", KAZOO_TESTS]);
        for m in &self.select {
            cmd.arg(Path::new(KAZOO_TESTS).join(m));
        }
        for id in &self.deselect {
            cmd.arg("--deselect").arg(id);
        }
        if let Target::ZkServer(server) = &self.target {
            cmd.env("KAZOO_SUITE_ZK_SERVER", server);
        }
        cmd.current_dir(work)
            .env("PATH", path)
            .env("TMPDIR", &tmp)
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .env("KAZOO_SUITE_SERVER_LOG", &logs)
            .env("ZOOKEEPER_PATH", "/usr/share/java")
            .env("ZOOKEEPER_CLASSPATH", crate::ZK_CLASSPATH)
            .env("ZOOKEEPER_VERSION", "3.8.0")
            .env("ZOOKEEPER_CLUSTER_SIZE", self.cluster_size.to_string())
            .env("ZOOKEEPER_PORT_OFFSET", port_offset.to_string())
            .env_remove("ZOOKEEPER_OBSERVER_START_ID")
            .env_remove("ZOOKEEPER_JAAS_AUTH")
            .env_remove("TRAVIS")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let started = Instant::now();
        let mut child = cmd.spawn().expect("run pytest");
        // Drain both pipes on threads so a chatty run cannot block on a full pipe.
        let mut stdout = child.stdout.take().unwrap();
        let mut stderr = child.stderr.take().unwrap();
        let out_t = std::thread::spawn(move || {
            let mut s = String::new();
            let _ = stdout.read_to_string(&mut s);
            s
        });
        let err_t = std::thread::spawn(move || {
            let mut s = String::new();
            let _ = stderr.read_to_string(&mut s);
            s
        });
        let status = loop {
            if let Some(status) = child.try_wait().expect("wait pytest") {
                break Some(status);
            }
            if started.elapsed() > self.run_limit {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            std::thread::sleep(Duration::from_millis(200));
        };
        let elapsed = started.elapsed();
        // A killed or timed-out pytest (pytest-timeout ends it with os._exit, skipping kazoo's
        // atexit clean-up) leaves its servers behind, holding the pipes: stop them by pid.
        kill_servers_marked(&logs);
        Outcome {
            status,
            out: out_t.join().unwrap(),
            err: err_t.join().unwrap(),
            logs: read_logs(&logs),
            elapsed,
            per_test_timeout_s: self.per_test_timeout_s,
        }
    }
}

/// Every member's log, each under a header naming it.
fn read_logs(dir: &Path) -> String {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    files.sort();
    let mut all = String::new();
    for f in files {
        let name = f
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        all.push_str(&format!("=== {name}\n"));
        all.push_str(&std::fs::read_to_string(&f).unwrap_or_default());
    }
    all
}

/// Kills the servers started for this run: the processes whose environment names this run's
/// log directory (a fresh temp path) as `KAZOO_SUITE_SERVER_LOG`, by pid.
fn kill_servers_marked(logs: &Path) {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return;
    };
    let mark = format!("KAZOO_SUITE_SERVER_LOG={}", logs.display()).into_bytes();
    for e in entries.flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        let Ok(env) = std::fs::read(e.path().join("environ")) else {
            continue;
        };
        if pid != std::process::id() && env.split(|b| *b == 0).any(|v| v == mark.as_slice()) {
            let _ = Command::new("kill").arg(pid.to_string()).status();
        }
    }
}

impl Outcome {
    /// pytest's `-rA` short summary: (outcome, node id or skip text) per line.
    pub fn results(&self) -> Vec<(String, String)> {
        let Some(start) = self.out.find("short test summary info") else {
            return Vec::new();
        };
        self.out[start..]
            .lines()
            .skip(1)
            .filter_map(|l| {
                let (outcome, rest) = l.split_once(' ')?;
                matches!(
                    outcome,
                    "PASSED" | "FAILED" | "ERROR" | "SKIPPED" | "XFAIL" | "XPASS"
                )
                .then(|| (outcome.to_string(), rest.to_string()))
            })
            .collect()
    }

    /// How many tests had `outcome` (a SKIPPED line stands for the `[N]` tests skipped for the
    /// same reason).
    pub fn count(&self, outcome: &str) -> usize {
        self.results()
            .iter()
            .filter(|(k, _)| k == outcome)
            .map(|(_, v)| {
                v.strip_prefix('[')
                    .and_then(|r| r.split_once(']'))
                    .and_then(|(n, _)| n.parse::<usize>().ok())
                    .unwrap_or(1)
            })
            .sum()
    }

    /// One line of counts.
    pub fn counts(&self) -> String {
        format!(
            "{} passed, {} failed, {} errors, {} skipped, in {:.0} s",
            self.count("PASSED"),
            self.count("FAILED"),
            self.count("ERROR"),
            self.count("SKIPPED"),
            self.elapsed.as_secs_f64()
        )
    }

    /// The tails of pytest's output and of the servers' logs, for a failure message.
    pub fn context(&self) -> String {
        let tail = |s: &str, n: usize| {
            let lines: Vec<&str> = s.lines().collect();
            lines[lines.len().saturating_sub(n)..].join("\n")
        };
        format!(
            "--- pytest stdout (tail)\n{}\n--- pytest stderr (tail)\n{}\n--- server logs (tail)\n{}",
            tail(&self.out, 150),
            tail(&self.err, 30),
            tail(&self.logs, 80)
        )
    }

    /// Asserts that the run finished, that no test failed or errored, that every skip has one
    /// of the `allowed_skips` reasons, and that at least `min_passed` tests passed.
    pub fn assert_passed(&self, what: &str, allowed_skips: &[&str], min_passed: usize) {
        let Some(status) = self.status else {
            panic!("kazoo's suite did not finish in time\n{}", self.context());
        };
        let results = self.results();
        assert!(
            !results.is_empty(),
            "pytest ended ({status}) without a summary: a test hung past {} s \
             (pytest-timeout ended the run) or pytest could not start\n{}",
            self.per_test_timeout_s,
            self.context()
        );
        let bad: Vec<String> = results
            .iter()
            .filter(|(k, _)| matches!(k.as_str(), "FAILED" | "ERROR" | "XPASS"))
            .map(|(k, v)| format!("{k} {v}"))
            .collect();
        assert!(
            bad.is_empty(),
            "kazoo tests failed against {what}:\n{}\n{}",
            bad.join("\n"),
            self.context()
        );
        let odd_skips: Vec<&String> = results
            .iter()
            .filter(|(k, v)| k == "SKIPPED" && !allowed_skips.iter().any(|a| v.contains(a)))
            .map(|(_, v)| v)
            .collect();
        assert!(
            odd_skips.is_empty(),
            "unexpected skips: {odd_skips:?}\n{}",
            self.context()
        );
        let passed = self.count("PASSED");
        assert!(
            passed >= min_passed,
            "only {passed} kazoo tests passed, expected at least {min_passed}\n{}",
            self.context()
        );
        assert!(
            status.success(),
            "pytest exited with {status}\n{}",
            self.context()
        );
    }
}
