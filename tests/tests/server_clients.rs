//! zk-server driven by real clients: the official Java client (compiled against Debian's
//! zookeeper.jar) and kazoo. Each runs a scripted scenario (create, get, set, delete, watches,
//! ephemeral, sequential, multi, ACL) that also passes against Apache ZooKeeper.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use tests::raw::InProcessServer;

/// What the Java client tests need.
const JAVA_CLIENT: &str = "a JDK and Debian's zookeeper package (the Java client)";

fn server() -> InProcessServer {
    let dir = tests::fresh_data_dir("server-clients");
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
    if tests::require_peer(tests::peer::java_client(), JAVA_CLIENT).is_none() {
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
    if tests::require_peer(tests::peer::kazoo(), "kazoo (python3-kazoo)").is_none() {
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

/// A loopback TCP proxy whose connections can all be dropped at once (forces client
/// reconnects).
struct Proxy {
    addr: std::net::SocketAddr,
    conns: std::sync::Arc<std::sync::Mutex<Vec<std::net::TcpStream>>>,
}

impl Proxy {
    fn start(upstream: std::net::SocketAddr) -> Proxy {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        let conns = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let c2 = conns.clone();
        std::thread::spawn(move || {
            for s in l.incoming() {
                let Ok(client) = s else { break };
                let Ok(server) = std::net::TcpStream::connect(upstream) else {
                    continue;
                };
                let mut g = c2.lock().unwrap();
                g.push(client.try_clone().unwrap());
                g.push(server.try_clone().unwrap());
                for (mut from, mut to) in [
                    (client.try_clone().unwrap(), server.try_clone().unwrap()),
                    (server, client),
                ] {
                    std::thread::spawn(move || {
                        let _ = std::io::copy(&mut from, &mut to);
                        let _ = to.shutdown(std::net::Shutdown::Both);
                    });
                }
            }
        });
        Proxy { addr, conns }
    }

    fn drop_all(&self) {
        for s in self.conns.lock().unwrap().drain(..) {
            let _ = s.shutdown(std::net::Shutdown::Both);
        }
    }
}

#[test]
fn java_client_reconnects_resumes_and_rearms_watches() {
    use std::io::BufRead;
    if tests::require_peer(tests::peer::java_client(), JAVA_CLIENT).is_none() {
        return;
    }
    let srv = server();
    let proxy = Proxy::start(srv.addr());
    let dir = std::env::temp_dir().join(format!("zk-java-rc-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let src = dir.join("ZkReconnectCheck.java");
    std::fs::write(&src, include_str!("../clients/ZkReconnectCheck.java")).unwrap();
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
    let mut child = Command::new("java")
        .args(["-Xmx128m", "-cp", &cp, "ZkReconnectCheck"])
        .arg(proxy.addr.to_string())
        .arg("/rc")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            let _ = tx.send(line);
        }
    });
    let mut lines = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut ready = false;
    while Instant::now() < deadline {
        match rx.recv_timeout(Duration::from_millis(200)) {
            Ok(l) => {
                if l == "READY" && !ready {
                    ready = true;
                    proxy.drop_all();
                    // Change things while the client is away; it must learn of them anyway.
                    let mut c = tests::raw::RawClient::connect(srv.addr(), 4000).unwrap();
                    let set = zk_core::Request::SetData(zk_core::proto::SetDataRequest {
                        path: "/rc".into(),
                        data: Some(b"1".to_vec().into()),
                        version: -1,
                    });
                    assert_eq!(c.call(&set).unwrap().last().unwrap().header.err, 0);
                    for p in ["/rc/new", "/rc/p"] {
                        let create = zk_core::Request::Create(zk_core::proto::CreateRequest {
                            path: p.into(),
                            data: None,
                            acl: zk_core::Acl::open_unsafe(),
                            flags: 0,
                        });
                        assert_eq!(c.call(&create).unwrap().last().unwrap().header.err, 0);
                    }
                }
                let done = l == "ALL OK";
                lines.push(l);
                if done {
                    break;
                }
            }
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
            Err(_) => break,
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        lines.iter().any(|l| l == "ALL OK"),
        "reconnect scenario failed:\n{}",
        lines.join("\n")
    );
}

#[test]
fn c_client_cli_mt() {
    let cli = "/usr/lib/zookeeper/bin/cli_mt";
    let c_client = tests::peer::files_exist(&[cli]);
    if tests::require_peer(c_client, "the C client (zookeeper-bin's cli_mt)").is_none() {
        return;
    }
    let srv = server();
    let script = "sleep 1; for c in 'create /cmt hello' 'get /cmt hello' 'ls /' 'delete /cmt hello' 'ls /'; \
                  do echo \"$c\"; sleep 0.3; done; echo quit; sleep 1";
    let (_, out) = run_bounded(
        Command::new("bash").args([
            "-c",
            &format!("({script}) | {cli} {}", srv.connect_string()),
        ]),
        Duration::from_secs(30),
    );
    assert!(out.contains("state = CONNECTED_STATE"), "{out}");
    assert!(out.contains("[/cmt hello]: rc = 0"), "create:\n{out}");
    assert!(out.contains("\tcmt hello\n"), "ls:\n{out}");
    assert!(!out.contains("rc = -"), "an operation failed:\n{out}");
}

#[test]
fn curator_recipes() {
    let jars = [
        "/usr/share/java/zookeeper.jar",
        "/usr/share/java/curator-client.jar",
        "/usr/share/java/curator-framework.jar",
        "/usr/share/java/curator-recipes.jar",
        "/usr/share/java/guava.jar",
        "/usr/share/java/slf4j-api.jar",
    ];
    let curator = tests::peer::files_exist(&jars)
        .and_then(|()| tests::peer::command_runs("javac", &["-version"]));
    if tests::require_peer(curator, "a JDK and the Curator jars").is_none() {
        return;
    }
    let srv = server();
    let dir = std::env::temp_dir().join(format!("zk-curator-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let src = dir.join("CuratorCheck.java");
    std::fs::write(&src, include_str!("../clients/CuratorCheck.java")).unwrap();
    let cp = format!("/etc/zookeeper/conf:{}", jars.join(":"));
    let (ok, out) = run_bounded(
        Command::new("javac")
            .args(["-cp", &cp, "-d"])
            .arg(&dir)
            .arg(&src),
        Duration::from_secs(120),
    );
    assert!(ok, "javac failed:\n{out}");
    let (ok, out) = run_bounded(
        Command::new("java")
            .args([
                "-Xmx128m",
                "-cp",
                &format!("{cp}:{}", dir.display()),
                "CuratorCheck",
            ])
            .arg(srv.connect_string())
            .arg("/curator"),
        Duration::from_secs(120),
    );
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        ok && out.contains("ALL OK"),
        "Curator scenario failed:\n{out}"
    );
}

/// SASL DIGEST-MD5 with the Java client's own SASL client (Java's DigestMD5Client, not kazoo's
/// pure-sasl): a JAAS `Server` section on zk-server and a `Client` section for the client, the
/// setup kazoo's harness and Apache ZooKeeper's docs use. A good password authenticates
/// (SaslAuthenticated, whoAmI lists `sasl:jaasuser`, `sasl` ACLs admit it); a bad one gets
/// AuthFailed.
#[test]
fn java_client_sasl_digest_md5() {
    if tests::require_peer(tests::peer::java_client(), JAVA_CLIENT).is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let server_jaas = tests::write_server_jaas(dir.path());
    let mut cfg = zk_server::ServerConfig::for_tests(dir.path().join("data"));
    cfg.jaas_config = Some(server_jaas);
    cfg.sasl_auth_provider = true;
    let srv = InProcessServer::start(cfg).expect("start zk-server");
    let src = dir.path().join("ZkSaslCheck.java");
    std::fs::write(&src, include_str!("../clients/ZkSaslCheck.java")).unwrap();
    let (ok, out) = run_bounded(
        Command::new("javac")
            .args(["-cp", "/usr/share/java/zookeeper.jar", "-d"])
            .arg(dir.path())
            .arg(&src),
        Duration::from_secs(120),
    );
    assert!(ok, "javac failed:\n{out}");
    let cp = format!(
        "/etc/zookeeper/conf:/usr/share/java/zookeeper.jar:{}",
        dir.path().display()
    );
    for (mode, password) in [("good", "jaas_password"), ("bad", "wrong")] {
        let client_jaas = dir.path().join(format!("client-{mode}.jaas"));
        std::fs::write(
            &client_jaas,
            format!(
                "Client {{\n  org.apache.zookeeper.server.auth.DigestLoginModule required\n  \
                 username=\"jaasuser\"\n  password=\"{password}\";\n}};\n"
            ),
        )
        .unwrap();
        let (ok, out) = run_bounded(
            Command::new("java")
                .arg("-Xmx128m")
                .arg(format!(
                    "-Djava.security.auth.login.config={}",
                    client_jaas.display()
                ))
                .args(["-cp", &cp, "ZkSaslCheck"])
                .arg(srv.connect_string())
                .arg("/sasl")
                .arg(mode),
            Duration::from_secs(120),
        );
        assert!(
            ok && out.contains("ALL OK"),
            "Java client SASL ({mode} password) failed:\n{out}"
        );
    }
}
