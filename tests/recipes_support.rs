//! Support for the zk-recipes integration tests: framework helpers over any
//! [`TestServer`](crate::client_support::TestServer), and the Curator 5.4 Java harness.
//!
//! The recipe tests are written against `TestServer` (each test body is a generic
//! `async fn <S: TestServer>`), so they run against Apache ZooKeeper 3.8, zk-server standalone
//! and a 3-member zk-server ensemble ([`crate::ensemble_support::Ensemble3`]);
//! `recipes_ensemble_faults.rs` kills ensemble members under the recipes.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use tokio::sync::mpsc;
use zk_client::Client;
use zk_recipes::Framework;

/// The Curator 5.4 + ZooKeeper 3.8 classpath of Debian's packages (the jars' manifests pull
/// guava, zookeeper-jute and the rest); slf4j-nop silences logging.
pub const CURATOR_CLASSPATH: &str = "/usr/share/java/curator-recipes.jar:\
/usr/share/java/curator-framework.jar:/usr/share/java/curator-client.jar:\
/usr/share/java/zookeeper.jar:/usr/share/java/zookeeper-jute.jar:/usr/share/java/guava.jar:\
/usr/share/java/slf4j-api.jar:/usr/share/java/slf4j-nop.jar";

/// Ok when the Curator jars and a JDK are installed (for [`crate::require_peer`]).
pub fn curator_installed() -> Result<(), String> {
    crate::peer::files_exist(&["/usr/share/java/curator-recipes.jar"])?;
    crate::peer::command_runs("javac", &["-version"])
}

/// The children of `path`, for a "nothing left behind" check: empty when `path` does not
/// exist (a container parent may have been reaped), and a panic on any other failure, so a
/// read that failed cannot pass for an empty list.
///
/// The read follows a `sync`: on an ensemble, `client`'s member may not have applied yet what
/// other sessions, on other members, were told is done (ZooKeeper orders each session's view,
/// not reads across sessions); after the sync it has applied everything the leader committed
/// before.
pub async fn children_left(client: &Client, path: &str) -> Vec<String> {
    client
        .sync(path)
        .await
        .unwrap_or_else(|e| panic!("sync {path} failed: {e}"));
    match client.get_children(path).await {
        Ok(children) => children,
        Err(zk_client::Error::NoNode) => Vec::new(),
        Err(e) => panic!("listing the children of {path} failed: {e}"),
    }
}

/// Waits, within `limit`, until `path` has exactly `n` children and returns them. Each check
/// sets a child watch and waits for it to fire: no polling, no sleeps. A missing `path` counts
/// as no children (and its creation is watched).
pub async fn until_children(
    client: &Client,
    path: &str,
    n: usize,
    limit: Duration,
    what: &str,
) -> Vec<String> {
    crate::client_support::within(limit, what, async {
        loop {
            match client.get_children_and_watch(path).await {
                Ok((children, _, watch)) => {
                    if children.len() == n {
                        return children;
                    }
                    watch.await.expect("the child watch fires");
                }
                Err(zk_client::Error::NoNode) => {
                    if n == 0 {
                        return Vec::new();
                    }
                    let (stat, watch) = client
                        .exists_and_watch(path)
                        .await
                        .unwrap_or_else(|e| panic!("exists {path}: {e}"));
                    if stat.is_none() {
                        watch.await.expect("the exists watch fires");
                    }
                }
                Err(e) => panic!("listing the children of {path} failed: {e}"),
            }
        }
    })
    .await
}

/// A client with a short session timeout, wrapped in a framework that does not re-create
/// sessions.
pub async fn framework(connect: &str, session_timeout: Duration) -> Framework {
    let client = Client::builder()
        .session_timeout(session_timeout)
        .connect(connect)
        .await
        .expect("connect");
    Framework::new(client)
}

/// Writes `source` as `<dir>/<class>.java` and compiles it against [`CURATOR_CLASSPATH`].
pub fn compile_java(dir: &Path, class: &str, source: &str) -> Result<PathBuf, String> {
    std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    let file = dir.join(format!("{class}.java"));
    std::fs::write(&file, source).map_err(|e| e.to_string())?;
    let out = Command::new("javac")
        .args(["-nowarn", "-cp", CURATOR_CLASSPATH, "-d"])
        .arg(dir)
        .arg(&file)
        .output()
        .map_err(|e| format!("javac: {e}"))?;
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    Ok(dir.to_path_buf())
}

/// A Java program started by a test, killed on drop. Its stdout lines arrive on
/// [`JavaProcess::lines`]; [`JavaProcess::send`] writes a line to its stdin.
pub struct JavaProcess {
    child: Child,
    stdin: Option<std::process::ChildStdin>,
    /// Every line the program prints.
    pub lines: mpsc::UnboundedReceiver<String>,
}

impl JavaProcess {
    /// Runs `class` from `dir` with `args`.
    pub fn spawn(dir: &Path, class: &str, args: &[String]) -> Result<JavaProcess, String> {
        let cp = format!("{}:{CURATOR_CLASSPATH}", dir.display());
        let mut child = Command::new("java")
            .args(["-Xmx128m", "-XX:TieredStopAtLevel=1", "-cp", &cp, class])
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("java: {e}"))?;
        let stdout = child.stdout.take().expect("piped stdout");
        let stdin = child.stdin.take();
        let (tx, lines) = mpsc::unbounded_channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { return };
                if tx.send(line).is_err() {
                    return;
                }
            }
        });
        Ok(JavaProcess {
            child,
            stdin,
            lines,
        })
    }

    /// Writes `line` and a newline to the program's stdin.
    pub fn send(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("stdin open");
        writeln!(stdin, "{line}").expect("write to java");
        stdin.flush().expect("flush to java");
    }

    /// The next line that starts with `prefix` (others are skipped), within `limit`.
    pub async fn expect(&mut self, prefix: &str, limit: Duration) -> String {
        let wait = async {
            loop {
                match self.lines.recv().await {
                    Some(l) if l.starts_with(prefix) => return l,
                    Some(_) => continue,
                    None => panic!("java exited before printing {prefix}"),
                }
            }
        };
        match tokio::time::timeout(limit, wait).await {
            Ok(l) => l,
            Err(_) => panic!("java did not print {prefix} within {limit:?}"),
        }
    }
}

impl Drop for JavaProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The Curator 5.4 peer the interop tests compile and run (class `CuratorPeer`); its usage is
/// in its header comment.
pub const CURATOR_PEER_JAVA: &str = r#"// A Curator 5.4 peer for the zk-recipes interop tests. Usage:
//   CuratorPeer <connect> mutex <lockPath> <rounds>
//       Increments /interop/counter ("<n>:<last writer>") `rounds` times under an InterProcessMutex; while
//       holding, it creates the EPHEMERAL /interop/holder (NodeExists = two holders at once).
//       Prints READY, then DONE <violations> <rounds that followed a Rust writer>.
//   CuratorPeer <connect> latch <path> <id>
//       Joins a LeaderLatch; prints STARTED, ISLEADER, NOTLEADER; reads commands on stdin:
//       "leader" -> LEADERID <id> <hasLeadership>, "participants" -> PARTICIPANTS <id,...>,
//       "close" -> CLOSED and exit.
//   CuratorPeer <connect> selector <path> <terms>
//       A LeaderSelector (auto-requeue, id "java") whose takeLeadership creates the EPHEMERAL
//       /interop/leader (NodeExists = two leaders at once), sleeps 10 ms and deletes it.
//       Prints READY, then DONE <violations> after `terms` leaderships.
//   CuratorPeer <connect> cmd
//       Prints READY, then runs one command per stdin line and answers one line:
//       "rw <path>" -> OK; "wtry <ms>" -> WTRY <acquired>; "wrel" -> WREL; "rtry <ms>" ->
//       RTRY <acquired>; "rrel" -> RREL (InterProcessReadWriteLock);
//       "sem <path> <max>" -> OK; "stry <ms>" -> STRY <acquired>; "srel" -> SREL
//       (InterProcessSemaphoreV2 leases); "quit" exits.
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.framework.recipes.leader.LeaderLatch;
import org.apache.curator.framework.recipes.leader.LeaderLatchListener;
import org.apache.curator.framework.recipes.leader.LeaderSelector;
import org.apache.curator.framework.recipes.leader.LeaderSelectorListenerAdapter;
import org.apache.curator.framework.recipes.leader.Participant;
import org.apache.curator.framework.recipes.locks.InterProcessMutex;
import org.apache.curator.framework.recipes.locks.InterProcessReadWriteLock;
import org.apache.curator.framework.recipes.locks.InterProcessSemaphoreV2;
import org.apache.curator.framework.recipes.locks.Lease;
import org.apache.curator.retry.ExponentialBackoffRetry;
import org.apache.zookeeper.CreateMode;
import org.apache.zookeeper.KeeperException;

public class CuratorPeer {
    static synchronized void say(String s) {
        System.out.println(s);
        System.out.flush();
    }

    public static void main(String[] a) throws Exception {
        CuratorFramework c = CuratorFrameworkFactory.builder()
            .connectString(a[0])
            .retryPolicy(new ExponentialBackoffRetry(100, 10))
            .sessionTimeoutMs(10000)
            .connectionTimeoutMs(10000)
            .ensembleTracker(false)
            .build();
        c.start();
        c.blockUntilConnected();
        if (a[1].equals("mutex")) {
            InterProcessMutex m = new InterProcessMutex(c, a[2]);
            int rounds = Integer.parseInt(a[3]);
            int violations = 0;
            int handoffs = 0;
            say("READY");
            for (int i = 0; i < rounds; i++) {
                m.acquire();
                try {
                    c.create().withMode(CreateMode.EPHEMERAL).forPath("/interop/holder");
                } catch (KeeperException.NodeExistsException e) {
                    violations++;
                }
                byte[] d = c.getData().forPath("/interop/counter");
                String[] v = new String(d, StandardCharsets.UTF_8).split(":");
                int n = Integer.parseInt(v[0]);
                if (!v[1].equals("java")) handoffs++;
                Thread.sleep(1);
                c.setData().forPath("/interop/counter",
                    (Integer.toString(n + 1) + ":java").getBytes(StandardCharsets.UTF_8));
                c.delete().forPath("/interop/holder");
                m.release();
            }
            say("DONE " + violations + " " + handoffs);
        } else if (a[1].equals("selector")) {
            int terms = Integer.parseInt(a[3]);
            AtomicInteger violations = new AtomicInteger();
            CountDownLatch done = new CountDownLatch(terms);
            LeaderSelector sel = new LeaderSelector(c, a[2], new LeaderSelectorListenerAdapter() {
                public void takeLeadership(CuratorFramework cf) throws Exception {
                    try {
                        cf.create().withMode(CreateMode.EPHEMERAL).forPath("/interop/leader");
                    } catch (KeeperException.NodeExistsException e) {
                        violations.incrementAndGet();
                    }
                    Thread.sleep(10);
                    cf.delete().forPath("/interop/leader");
                    done.countDown();
                }
            });
            sel.setId("java");
            sel.autoRequeue();
            say("READY");
            sel.start();
            done.await();
            sel.close();
            say("DONE " + violations.get());
        } else if (a[1].equals("cmd")) {
            InterProcessReadWriteLock rw = null;
            InterProcessSemaphoreV2 sem = null;
            List<Lease> leases = new ArrayList<>();
            BufferedReader in = new BufferedReader(new InputStreamReader(System.in));
            say("READY");
            String line;
            while ((line = in.readLine()) != null) {
                String[] w = line.split(" ");
                if (w[0].equals("rw")) {
                    rw = new InterProcessReadWriteLock(c, w[1]);
                    say("OK");
                } else if (w[0].equals("wtry")) {
                    say("WTRY " + rw.writeLock().acquire(Long.parseLong(w[1]), TimeUnit.MILLISECONDS));
                } else if (w[0].equals("wrel")) {
                    rw.writeLock().release();
                    say("WREL");
                } else if (w[0].equals("rtry")) {
                    say("RTRY " + rw.readLock().acquire(Long.parseLong(w[1]), TimeUnit.MILLISECONDS));
                } else if (w[0].equals("rrel")) {
                    rw.readLock().release();
                    say("RREL");
                } else if (w[0].equals("sem")) {
                    sem = new InterProcessSemaphoreV2(c, w[1], Integer.parseInt(w[2]));
                    say("OK");
                } else if (w[0].equals("stry")) {
                    Lease l = sem.acquire(Long.parseLong(w[1]), TimeUnit.MILLISECONDS);
                    if (l != null) leases.add(l);
                    say("STRY " + (l != null));
                } else if (w[0].equals("srel")) {
                    leases.remove(0).close();
                    say("SREL");
                } else if (w[0].equals("quit")) {
                    break;
                }
            }
        } else {
            LeaderLatch l = new LeaderLatch(c, a[2], a[3]);
            l.addListener(new LeaderLatchListener() {
                public void isLeader() { say("ISLEADER"); }
                public void notLeader() { say("NOTLEADER"); }
            });
            l.start();
            say("STARTED");
            BufferedReader in = new BufferedReader(new InputStreamReader(System.in));
            String line;
            while ((line = in.readLine()) != null) {
                if (line.equals("leader")) {
                    say("LEADERID " + l.getLeader().getId() + " " + l.hasLeadership());
                } else if (line.equals("participants")) {
                    StringBuilder b = new StringBuilder();
                    for (Participant p : l.getParticipants()) {
                        if (b.length() > 0) b.append(',');
                        b.append(p.getId());
                    }
                    say("PARTICIPANTS " + b);
                } else if (line.equals("close")) {
                    l.close();
                    say("CLOSED");
                    break;
                }
            }
        }
        c.close();
    }
}
"#;
