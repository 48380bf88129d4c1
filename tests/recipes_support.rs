//! Support for the zk-recipes integration tests: framework helpers over any
//! [`TestServer`](crate::client_support::TestServer), and the Curator 5.4 Java harness.
//!
//! The recipe tests are written against `TestServer`, so they run against Apache ZooKeeper 3.8
//! now. HOOK(zk-server): once `client_support` has a zk-server `TestServer`, instantiate the
//! `recipes_*` tests for it too (each test body is a generic `async fn <S: TestServer>`).

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

/// True when the Curator jars and a JDK are installed.
pub fn curator_installed() -> bool {
    Path::new("/usr/share/java/curator-recipes.jar").exists()
        && Command::new("javac").arg("-version").output().is_ok()
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

/// A TCP proxy whose server-to-client direction can be muted: requests still reach the
/// server and are applied, but their replies are lost. With [`MuteProxy::cut`] this is the
/// "create applied, reply lost to a connection loss" case protected creation exists for.
pub struct MuteProxy {
    addr: std::net::SocketAddr,
    state: std::sync::Arc<MuteState>,
    accept: tokio::task::JoinHandle<()>,
}

struct MuteState {
    upstream: std::net::SocketAddr,
    mute: std::sync::atomic::AtomicBool,
    reject: std::sync::atomic::AtomicBool,
    conns: std::sync::Mutex<Vec<tokio::task::JoinHandle<()>>>,
}

impl MuteProxy {
    /// Starts a proxy on a free loopback port forwarding to `upstream`.
    pub async fn start(upstream: std::net::SocketAddr) -> MuteProxy {
        use std::sync::atomic::Ordering;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind proxy");
        let addr = listener.local_addr().expect("proxy address");
        let state = std::sync::Arc::new(MuteState {
            upstream,
            mute: false.into(),
            reject: false.into(),
            conns: std::sync::Mutex::new(Vec::new()),
        });
        let st = state.clone();
        let accept = tokio::spawn(async move {
            while let Ok((down, _)) = listener.accept().await {
                if st.reject.load(Ordering::SeqCst) {
                    drop(down);
                    continue;
                }
                let st2 = st.clone();
                let task = tokio::spawn(async move { mute_pipe(st2, down).await });
                st.conns.lock().expect("not poisoned").push(task);
            }
        });
        MuteProxy {
            addr,
            state,
            accept,
        }
    }

    /// The proxy's address.
    pub fn addr(&self) -> std::net::SocketAddr {
        self.addr
    }

    /// Drops (or stops dropping) every byte from the server to the client.
    pub fn mute_replies(&self, on: bool) {
        self.state
            .mute
            .store(on, std::sync::atomic::Ordering::SeqCst);
    }

    /// Closes new connections at once while on.
    pub fn reject(&self, on: bool) {
        self.state
            .reject
            .store(on, std::sync::atomic::Ordering::SeqCst);
    }

    /// Closes every current connection.
    pub fn cut(&self) {
        for t in self.state.conns.lock().expect("not poisoned").drain(..) {
            t.abort();
        }
    }
}

impl Drop for MuteProxy {
    fn drop(&mut self) {
        self.accept.abort();
        self.cut();
    }
}

async fn mute_pipe(st: std::sync::Arc<MuteState>, mut down: tokio::net::TcpStream) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let Ok(mut up) = tokio::net::TcpStream::connect(st.upstream).await else {
        return;
    };
    let (mut dr, mut dw) = down.split();
    let (mut ur, mut uw) = up.split();
    let to_server = tokio::io::copy(&mut dr, &mut uw);
    let to_client = async {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = match ur.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            };
            if st.mute.load(std::sync::atomic::Ordering::SeqCst) {
                continue;
            }
            if dw.write_all(&buf[..n]).await.is_err() {
                return;
            }
        }
    };
    tokio::select! {
        _ = to_server => {}
        _ = to_client => {}
    }
}
