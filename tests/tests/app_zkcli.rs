//! zkcli against zkCli.sh: the same scripted session, run by Apache ZooKeeper 3.8's zkCli.sh and
//! by zkcli's shell against one Apache ZooKeeper server, prints the same stdout and stderr once
//! times, zxids and session ids are normalized.

use std::process::{Command, Stdio};
use std::time::Duration;

use tests::zkcli_support::{
    assert_same, normalized_stat_line, run_zkcli, run_zkcli_sh, split_events, ZKCLI_SH,
};
use tests::ApacheZk;
use zk_client::Version;
use zk_server::cli::{Console, Shell};

/// Ok when zkCli.sh and a Java runtime are there.
fn zkcli_sh() -> Result<(), String> {
    tests::peer::files_exist(&[ZKCLI_SH, "/usr/bin/java"])
}

/// The session. Everything lives under /t and the script removes /t at its end, so the second
/// run starts from the same tree. Commands whose output depends on timing (a watch firing
/// right after the next command) are fine: watch events are compared as a set.
const SCRIPT: &[&str] = &[
    "create /t",
    "create /t/a",
    "create /t/a/b hello",
    "create /t/a/b again",
    "create -e /t/a/e eph",
    "create -s /t/a/s- seq",
    "create -c /t/cont",
    "create -t 50000 /t/ttl t",
    "create /t/d v digest:u:BvFaefuhWURhnvpD7ipe45CKTpk=:cdrwa",
    "create /t/w1 v world:anyone:r,ip:127.0.0.1:cdrwa",
    "create /t/bad v world:anyone:zz",
    "create /t/x/y/z",
    "create -c -s /t/q",
    "create -e -t 100 /t/q",
    "create -t abc /t/q",
    "create t/q",
    "create /t/q/",
    "ls /t/a",
    "ls -s /t/a",
    "ls -R /t",
    "ls /nope",
    "get /t/a/b",
    "get -s /t/a/b",
    "get /t/a",
    "create /t/empty ''",
    "get /t/empty",
    "set /t/a ''",
    "get -s /t/a",
    "get /zookeeper",
    "get /nope",
    "set /t/a/b world",
    "set -s /t/a/b 'two words'",
    "set -v 7 /t/a/b bad",
    "set -v 2 /t/a/b good",
    "set /nope v",
    "stat /t/a/b",
    "stat /t/a/e",
    "stat /nope",
    "getAcl /t/a",
    "getAcl -s /t/w1",
    "getAcl /t/d",
    "get /t/d",
    "setAcl /t/a world:anyone:cdrwa",
    "setAcl -s /t/a world:anyone:crwa",
    "delete /t/a/b",
    "setAcl /t/a world:anyone:cdrwa",
    "addauth digest u:pw",
    "get -s /t/d",
    "whoami",
    "sync /t",
    "getEphemerals /t",
    "getEphemerals /nope",
    "getAllChildrenNumber /t",
    "getAllChildrenNumber /nope",
    "delete /t/a",
    "delete -v 9 /t/a/b",
    "delete /nope",
    "deleteall /nope",
    "get -w /t/cont",
    "set /t/cont z",
    "stat -w /t/cont",
    "ls -w /t",
    "create /t/w",
    "addWatch -m PERSISTENT_RECURSIVE /t/w",
    "create /t/w/1",
    "set /t/w/1 q",
    "delete /t/w/1",
    "removewatches /t/w",
    "removewatches /t/w",
    "removewatches /t -x",
    "addWatch -m BOGUS /t",
    "bogus",
    "create",
    "ls",
    "history",
    "config",
    "config -s",
    "setAcl -R /t/a world:anyone:cdrwa",
    "getAcl /t/a/s-0000000002",
    "setAcl -v 5 /t/w1 world:anyone:cdrwa",
    "setAcl -v 0 -s /t/cont world:anyone:cdrwa",
    "getAllChildrenNumber /zookeeper",
    "deleteall /t",
    "ls /t",
    "close",
    "ls /",
    "connect {server}",
    "ls /zookeeper",
    "connect {server}",
    "ls /zookeeper",
    "printwatches off",
    "printwatches",
    "get /zookeeper/quota",
    "get /",
    "printwatches on",
    "redo 91",
    "history",
];

/// Replaces what legitimately differs between two runs: times, zxids, session ids.
fn normalize(text: &str) -> String {
    text.lines()
        .map(|l| {
            if let Some(n) = normalized_stat_line(l) {
                return n;
            }
            if l.starts_with("ephemeralOwner = ") && l != "ephemeralOwner = 0x0" {
                return "ephemeralOwner = SESSION".into();
            }
            l.to_owned()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Deletes `root` and everything under it as the super user (the session leaves nodes whose
/// ACLs lock a normal user out).
async fn remove_tree(server: &str, root: &str) {
    let client = zk_client::Client::connect(server).await.expect("connect");
    client
        .add_auth("digest", b"super:test")
        .await
        .expect("super auth");
    let mut order = vec![root.to_owned()];
    let mut i = 0;
    while i < order.len() {
        let children = tests::recipes_support::children_left(&client, &order[i]).await;
        let parent = order[i].clone();
        order.extend(children.iter().map(|c| format!("{parent}/{c}")));
        i += 1;
    }
    for p in order.iter().rev() {
        let _ = client.delete(p, Version::Any).await;
    }
    assert_eq!(
        client.exists(root).await.expect("exists"),
        None,
        "{root} removed"
    );
    let _ = client.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scripted_session_matches_zkcli_sh() {
    if tests::require_peer(zkcli_sh(), "zkCli.sh").is_none() {
        return;
    }
    let Some(zk) = tests::require_peer(ApacheZk::start(&[]), "Apache ZooKeeper 3.8") else {
        return;
    };
    session_matches(&zk.connect_string()).await;
}

/// The same comparison with zk-server as the server: both shells must still agree.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scripted_session_matches_zkcli_sh_on_zk_server() {
    if tests::require_peer(zkcli_sh(), "zkCli.sh").is_none() {
        return;
    }
    let dir = std::env::temp_dir().join(format!("app-zkcli-{}", std::process::id()));
    let server = zk_server::Server::start(zk_server::ServerConfig::for_tests(&dir))
        .await
        .expect("zk-server starts");
    session_matches(&server.addr().to_string()).await;
    server.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
}

async fn session_matches(server: &str) {
    let server = server.to_owned();
    let script: Vec<String> = SCRIPT
        .iter()
        .map(|l| l.replace("{server}", &server))
        .collect();
    let text = script.join("\n") + "\n";

    let (java_out, java_err) = tokio::task::spawn_blocking({
        let server = server.clone();
        move || run_zkcli_sh(&server, &text)
    })
    .await
    .expect("zkCli.sh run");
    remove_tree(&server, "/t").await;
    let (rust_out, rust_err) =
        tokio::time::timeout(Duration::from_secs(60), run_zkcli(&server, &script))
            .await
            .expect("zkcli finishes within 60 s");

    let (java_rest, java_events) = split_events(&normalize(&java_out));
    let (rust_rest, rust_events) = split_events(&normalize(&rust_out));
    assert_same("stdout without watch events", &rust_rest, &java_rest);
    // Node events must match one for one. zkCli.sh prints connection-state events from its
    // event thread, so one that lands just after `printwatches off` is not printed: compare
    // those as sets.
    let (rust_nodes, mut rust_states): (Vec<_>, Vec<_>) = rust_events
        .into_iter()
        .partition(|e| !e.contains("type:None"));
    let (java_nodes, mut java_states): (Vec<_>, Vec<_>) = java_events
        .iter()
        .cloned()
        .partition(|e| !e.contains("type:None"));
    assert_eq!(rust_nodes, java_nodes, "node watch events");
    rust_states.dedup();
    java_states.dedup();
    assert_eq!(rust_states, java_states, "session state events");
    assert_same("stderr", &rust_err, &normalize(&java_err));
    // The session printed real results, not only errors.
    assert!(java_rest.contains("[b, e, s-0000000002]"), "{java_rest}");
    assert!(java_nodes.len() >= 6, "{java_nodes:?}");
}

/// One-command mode: `zkCli.sh -server H CMD ARGS` exits 0, 1 or 127; zkcli's outcomes map to
/// the same statuses.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_command_exit_statuses_match() {
    if tests::require_peer(zkcli_sh(), "zkCli.sh").is_none() {
        return;
    }
    let Some(zk) = tests::require_peer(ApacheZk::start(&[]), "Apache ZooKeeper 3.8") else {
        return;
    };
    let server = zk.connect_string();
    // None of these changes the tree, so both tools see the same state.
    let cases: &[&str] = &[
        "ls /",
        "get /nope",
        "create /zookeeper x",
        "bogus",
        "ls",
        "stat /",
    ];
    for case in cases {
        let status = {
            let server = server.clone();
            let args: Vec<String> = case.split(' ').map(str::to_owned).collect();
            tokio::task::spawn_blocking(move || {
                Command::new(ZKCLI_SH)
                    .arg("-server")
                    .arg(&server)
                    .args(&args)
                    .stdin(Stdio::null())
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .status()
                    .expect("run zkCli.sh")
                    .code()
            })
            .await
            .expect("join")
        };
        let (console, _out, _err) = Console::buffers();
        let mut shell = Shell::new(console);
        assert!(shell.connect(&server).await);
        let outcome = shell.run_line(case).await;
        shell.disconnect_quietly().await;
        assert_eq!(Some(outcome.exit_code()), status, "{case}");
    }
}
