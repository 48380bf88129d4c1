//! Differential test: one scripted sequence of several hundred operations, sent over raw frames
//! to Apache ZooKeeper 3.8 and to zk-server; every reply (error codes, bodies, stats, data,
//! children in order, notifications on every session, handshake answers, closed connections)
//! must match. zxids are compared as offsets from the first one, times are zeroed and session
//! ids are replaced by the index of the script's session that owns them.

use std::net::SocketAddr;
use std::time::Duration;

use tests::raw::RawClient;
use tests::ApacheZk;
use zk_core::jute::Encode;
use zk_core::proto::*;
use zk_core::{Acl, Id, OpCode, Perms, Request, SessionId, Zxid};

#[path = "differential/runner.rs"]
mod runner;
use runner::*;

include!("differential/script.rs");

fn run(addr: SocketAddr, script: fn(&mut Runner)) -> Vec<String> {
    let mut r = Runner::new(addr);
    r.connect(0);
    let ping = r.client(0).call(&Request::Ping).expect("ping");
    r.base = ping.last().map_or(0, |p| p.header.zxid.0);
    script(&mut r);
    r.log
}

#[test]
fn zk_server_answers_like_apache_zookeeper() {
    compare(&[], |_| {}, script);
}

/// kazoo's harness writes `reconfigEnabled=true`: a standalone Apache ZooKeeper then answers
/// reconfig with Unimplemented (it is not a leader) instead of ReconfigDisabled, before any
/// ACL check, and still spends a zxid on the error.
#[test]
fn reconfig_enabled_standalone_answers_like_apache_zookeeper() {
    compare(
        &["reconfigEnabled=true"],
        |cfg| cfg.reconfig_enabled = true,
        reconfig_script,
    );
}

fn reconfig_script(r: &mut Runner) {
    let reconfig = |joining: Option<&str>, leaving: Option<&str>, id: i64| {
        Request::Reconfig(ReconfigRequest {
            joining_servers: joining.map(String::from),
            leaving_servers: leaving.map(String::from),
            new_members: None,
            cur_config_id: id,
        })
    };
    r.call(
        0,
        reconfig(Some("server.999=0.0.0.0:1234:2345:observer;3456"), None, -1),
    );
    r.call(0, reconfig(Some("some thing"), None, -1));
    r.call(0, create("/r", Some(b"x"), 0));
    r.call(0, auth("digest", SUPER));
    r.call(0, reconfig(None, Some("100"), 5));
    r.call(0, get("/zookeeper/config", false));
    r.call(0, delete("/r", -1));
}

/// `sasl` ACLs, with kazoo's harness setting (`authProvider.1=...SASLAuthenticationProvider`):
/// ids must parse as Kerberos names; without the provider every `sasl` ACL is InvalidACL.
#[test]
fn sasl_acls_answer_like_apache_zookeeper() {
    compare(&[], |_| {}, sasl_acl_script);
    compare(
        &["authProvider.1=org.apache.zookeeper.server.auth.SASLAuthenticationProvider"],
        |cfg| cfg.sasl_auth_provider = true,
        sasl_acl_script,
    );
}

fn sasl_acl_script(r: &mut Runner) {
    let sasl = |perms: Perms, id: &str| Acl::new(perms, Id::new("sasl", id));
    for (i, id) in [
        "jaasuser",
        "zk/host@REALM",
        "user@REALM",
        "a/b/c",
        "a@b@c",
        "a/b/c@R",
        "",
    ]
    .into_iter()
    .enumerate()
    {
        r.call(0, create_acl(&format!("/s{i}"), vec![sasl(Perms::ALL, id)]));
        r.call(0, get_acl(&format!("/s{i}")));
        r.call(0, get(&format!("/s{i}"), false));
    }
    r.call(0, create("/t", Some(b"x"), 0));
    r.call(
        0,
        set_acl(
            "/t",
            vec![
                sasl(Perms::READ, "bob"),
                Acl::new(Perms::ALL, Id::new("world", "anyone")),
            ],
            -1,
        ),
    );
    r.call(0, get_acl("/t"));
    r.call(0, auth("digest", "alice:pw"));
    r.call(0, create_acl("/u", Acl::creator_all()));
    r.call(0, get_acl("/u"));
}

/// SASL with a JAAS `Server` section (DigestLoginModule), as kazoo's harness sets it up: the
/// DIGEST-MD5 challenge (nonce masked), a non-empty first token, and failed responses
/// (AuthFailed with a null token, then the connection closed); without a JAAS file every SASL
/// token gets a null token. The successful exchange needs the nonce: kazoo's suite and the Java
/// client test (server_clients.rs) cover it.
#[test]
fn sasl_digest_md5_answers_like_apache_zookeeper() {
    let dir = tempfile::tempdir().unwrap();
    let jaas = tests::write_server_jaas(dir.path());
    let flag = format!("-Djava.security.auth.login.config={}", jaas.display());
    let provider = "authProvider.1=org.apache.zookeeper.server.auth.SASLAuthenticationProvider";
    compare_with(
        &[provider],
        &[&flag],
        &|cfg| {
            cfg.jaas_config = Some(jaas.clone());
            cfg.sasl_auth_provider = true;
        },
        sasl_script,
    );
    compare(
        &[provider],
        |cfg| cfg.sasl_auth_provider = true,
        sasl_script,
    );
}

fn sasl_script(r: &mut Runner) {
    let sasl = |t: &[u8]| {
        Request::Sasl(GetSaslRequest {
            token: Some(t.to_vec().into()),
        })
    };
    let op = OpCode::Sasl.as_i32();
    let response = |user: &str| {
        format!(
            "username=\"{user}\",realm=\"zk-sasl-md5\",nonce=\"x\",cnonce=\"y\",nc=00000001,\
             qop=auth,digest-uri=\"zookeeper/zk-sasl-md5\",response=0123456789abcdef0123456789abcdef"
        )
        .into_bytes()
    };
    r.call_closing(0, op, sasl(b""));
    r.call_closing(0, op, sasl(&response("jaasuser")));
    r.connect(1);
    r.call_closing(1, op, sasl(b""));
    r.call_closing(1, op, sasl(&response("nobody")));
    r.connect(2);
    r.call_closing(2, op, sasl(b"not empty"));
    if r.clients[2].is_some() {
        r.call_closing(2, op, sasl(b"garbage"));
    }
    r.connect(3);
    r.call_closing(3, op, Request::Sasl(GetSaslRequest { token: None }));
    if r.clients[3].is_some() {
        r.call(3, Request::WhoAmI);
    }
}

/// Runs `script` against Apache ZooKeeper (with the zoo.cfg lines `extra`) and against
/// zk-server (its test config, Apache ZooKeeper's timeouts, changed by `configure`) and
/// asserts that every observed line matches.
fn compare(extra: &[&str], configure: fn(&mut zk_server::ServerConfig), script: fn(&mut Runner)) {
    compare_with(extra, &[], &configure, script);
}

/// Like [`compare`], with JVM flags for Apache ZooKeeper (`configure` gives zk-server the same).
fn compare_with(
    extra: &[&str],
    jvm_flags: &[&str],
    configure: &dyn Fn(&mut zk_server::ServerConfig),
    script: fn(&mut Runner),
) {
    let Some(apache) = tests::require_peer(
        ApacheZk::start_with(None, extra, jvm_flags),
        "Apache ZooKeeper 3.8",
    ) else {
        return;
    };
    let expected = run(apache.addr(), script);
    drop(apache);
    let data = tempfile::tempdir().expect("temp dir");
    let mut cfg = zk_server::ServerConfig::for_tests(data.path().join("data"));
    // Apache ZooKeeper's defaults: tickTime 2000, timeouts 4 s..40 s.
    cfg.tick_time_ms = 2000;
    cfg.min_session_timeout_ms = None;
    cfg.max_session_timeout_ms = None;
    configure(&mut cfg);
    let ours = tests::raw::InProcessServer::start(cfg).expect("start zk-server");
    let actual = run(ours.addr(), script);
    drop(ours);
    if let Ok(dir) = std::env::var("ZK_DIFF_DUMP") {
        let _ = std::fs::write(format!("{dir}/apache.log"), expected.join("\n"));
        let _ = std::fs::write(format!("{dir}/ours.log"), actual.join("\n"));
    }
    let ops = expected.iter().filter(|l| l.starts_with('>')).count();
    let mut mismatches = Vec::new();
    for (i, (e, a)) in expected.iter().zip(actual.iter()).enumerate() {
        if e != a {
            mismatches.push(format!("line {i}:\n  apache: {e}\n  ours:   {a}"));
        }
    }
    if expected.len() != actual.len() {
        mismatches.push(format!(
            "lengths differ: apache {} ours {}",
            expected.len(),
            actual.len()
        ));
    }
    eprintln!(
        "{ops} operations, {} observed lines, {} mismatches",
        expected.len(),
        mismatches.len()
    );
    if !mismatches.is_empty() {
        let context: Vec<String> = expected.iter().take(5).cloned().collect();
        let _ = context;
        panic!(
            "{}",
            mismatches
                .iter()
                .take(25)
                .cloned()
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
}
