//! zk-server driven by real clients: the official Java client (compiled against Debian's
//! zookeeper.jar) and kazoo. Each runs a scripted scenario (create, get, set, delete, watches,
//! ephemeral, sequential, multi, ACL) that also passes against Apache ZooKeeper.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use tests::raw::InProcessServer;

fn server() -> InProcessServer {
    let dir = std::env::temp_dir().join(format!("zk-server-clients-{}", std::process::id()));
    InProcessServer::start(zk_server::ServerConfig::for_tests(dir)).expect("start zk-server")
}

/// Runs a command with a deadline, killing it when it overruns; returns (success, output).
fn run_bounded(cmd: &mut Command, limit: Duration) -> (bool, String) {
    let out_path = std::env::temp_dir().join(format!(
        "zk-client-out-{}-{:?}",
        std::process::id(),
        std::thread::current().id()
    ));
    let out = std::fs::File::create(&out_path).unwrap();
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(out.try_clone().unwrap())
        .stderr(out)
        .spawn()
        .expect("spawn client");
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break Some(s);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let text = std::fs::read_to_string(&out_path).unwrap_or_default();
    let _ = std::fs::remove_file(&out_path);
    (status.is_some_and(|s| s.success()), text)
}

#[test]
fn java_client_scenario() {
    if !Path::new("/usr/share/java/zookeeper.jar").exists()
        || Command::new("javac").arg("-version").output().is_err()
    {
        eprintln!(
            "skipping: Java or Debian's zookeeper package is missing (scripts/test installs them)"
        );
        return;
    }
    let srv = server();
    let dir = std::env::temp_dir().join(format!("zk-java-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let src = dir.join("ZkClientCheck.java");
    std::fs::write(&src, include_str!("../clients/ZkClientCheck.java")).unwrap();
    let (ok, out) = run_bounded(
        Command::new("javac")
            .args(["-cp", "/usr/share/java/zookeeper.jar", "-d"])
            .arg(&dir)
            .arg(&src),
        Duration::from_secs(120),
    );
    assert!(ok, "javac failed:\n{out}");
    let cp = format!(
        "/etc/zookeeper/conf:/usr/share/java/zookeeper.jar:{}",
        dir.display()
    );
    let (ok, out) = run_bounded(
        Command::new("java")
            .args(["-Xmx128m", "-cp", &cp, "ZkClientCheck"])
            .arg(srv.connect_string())
            .arg("/java"),
        Duration::from_secs(120),
    );
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        ok && out.contains("ALL OK"),
        "Java client scenario failed:\n{out}"
    );
}

#[test]
fn kazoo_scenario() {
    let has_kazoo = Command::new("/usr/bin/python3")
        .args(["-c", "import kazoo"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !has_kazoo {
        eprintln!("skipping: python3-kazoo is missing (scripts/test installs it)");
        return;
    }
    let srv = server();
    let script = std::env::temp_dir().join(format!("kazoo_check_{}.py", std::process::id()));
    std::fs::write(&script, include_str!("../clients/kazoo_check.py")).unwrap();
    let (ok, out) = run_bounded(
        Command::new("/usr/bin/python3")
            .arg(&script)
            .arg(srv.connect_string())
            .arg("/kazoo"),
        Duration::from_secs(60),
    );
    let _ = std::fs::remove_file(&script);
    assert!(
        ok && out.contains("ALL OK"),
        "kazoo scenario failed:\n{out}"
    );
}
