//! Support for the zk-recipes integration tests: framework helpers over any
//! [`TestServer`](crate::client_support::TestServer), and the Curator 5.4 Java harness.
//!
//! The recipe tests are written against `TestServer`, so they run against Apache ZooKeeper 3.8
//! now. HOOK(zk-server): once `client_support` has a zk-server `TestServer`, instantiate the
//! `recipes_*` tests for it too (each test body is a generic `async fn <S: TestServer>`).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

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

/// A Java program started by a test, killed on drop.
pub struct JavaProcess(pub Child);

impl JavaProcess {
    /// Runs `class` from `dir` with `args`; stdout is piped for the test to read.
    pub fn spawn(dir: &Path, class: &str, args: &[String]) -> Result<JavaProcess, String> {
        let cp = format!("{}:{CURATOR_CLASSPATH}", dir.display());
        let child = Command::new("java")
            .args(["-Xmx128m", "-cp", &cp, class])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("java: {e}"))?;
        Ok(JavaProcess(child))
    }
}

impl Drop for JavaProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
