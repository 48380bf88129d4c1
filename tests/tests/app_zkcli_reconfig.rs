//! zkcli's `config` and `reconfig` against zkCli.sh's: the same scripted session, run by
//! Apache ZooKeeper 3.8's zkCli.sh and then by zkcli's shell against one Apache ZooKeeper
//! ensemble (three voters, `reconfigEnabled=true`, super digest `super:test`), prints the same
//! stdout and stderr once config versions, zxids and times are normalized.
//!
//! The script reads the config (`-s`, `-c`, `-w`), makes every mistake zkCli.sh checks for
//! before sending, is refused for want of authentication, a bad server line and a stale
//! version, then removes a follower and adds it back, replaces the membership with
//! `-members`, and restores it with `-file`, so the second run starts from the same
//! membership as the first.
//!
//! Apache ZooKeeper and zkCli.sh are required: the test fails, not skips, without them.

use std::time::Duration;

use tests::process_ensemble::{Flavor, ProcessEnsemble};
use tests::zkcli_support::{
    assert_same, normalized_stat_line, run_zkcli, run_zkcli_sh, split_events, ZKCLI_SH,
};

const SUPER_DIGEST: &str =
    "-Dzookeeper.DigestAuthenticationProvider.superDigest=super:D/InIHSb7yEEbrWz8b9l71RjZJU=";

/// The session; `{victim}`, `{victim_line}`, `{others}` (the other servers' lines,
/// comma-separated), `{all}` and `{file}` are filled in.
const SCRIPT: &[&str] = &[
    "config",
    "config -s",
    "config -c",
    "config -w",
    "reconfig -remove {victim}",
    "reconfig",
    "reconfig -s -v 1",
    "reconfig -v zz -remove {victim}",
    "reconfig -members {others} -add {victim_line}",
    "reconfig -members {others} -file {file}",
    "reconfig -remove",
    "reconfig -x",
    "reconfig --members {others}",
    "addauth digest super:test",
    "reconfig -add server.9=bogus",
    "reconfig -add nonsense",
    "reconfig -remove {victim} -v 1",
    "reconfig -s -remove {victim}",
    "config -c",
    "reconfig -add {victim_line}",
    "reconfig -members {others}",
    "reconfig -file /nonexistent/zkcli-reconfig.cfg",
    "reconfig -file {file}",
    "config",
];

/// Replaces what differs between two runs: config versions, times, zxids, sizes that
/// depend on the version's digits.
fn normalize(text: &str) -> String {
    text.lines()
        .map(|l| {
            if l.starts_with("version=") {
                return "version=VERSION".to_owned();
            }
            if let Some(n) = normalized_stat_line(l) {
                return n;
            }
            // `config -c`: "<hex version> host:port,...".
            if let Some((v, hosts)) = l.split_once(' ') {
                if !v.is_empty()
                    && v.chars().all(|c| c.is_ascii_hexdigit())
                    && hosts.starts_with("127.0.0.1:")
                {
                    return format!("VERSION {hosts}");
                }
            }
            l.to_owned()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The `server.<id>=...` line of a config.
fn server_line(config: &str, id: i64) -> String {
    let prefix = format!("server.{id}=");
    config
        .lines()
        .find(|l| l.starts_with(&prefix))
        .unwrap_or_else(|| panic!("no server.{id} in {config}"))
        .to_owned()
}

#[test]
fn config_and_reconfig_match_zkcli_sh_on_apache() {
    config_and_reconfig_match_zkcli_sh(Flavor::Apache);
}

/// zkCli.sh and zkcli against a zk-server ensemble: the same script, the same output.
#[test]
fn config_and_reconfig_match_zkcli_sh_on_zk_server() {
    config_and_reconfig_match_zkcli_sh(Flavor::ZkServer(tests::zk_server_binary()));
}

fn config_and_reconfig_match_zkcli_sh(flavor: Flavor) {
    assert!(
        tests::apache_zk_installed() && std::path::Path::new(ZKCLI_SH).exists(),
        "Apache ZooKeeper 3.8 and zkCli.sh are needed: run scripts/deps"
    );
    let ens = ProcessEnsemble::start_with_jvm_flags(
        flavor,
        3,
        0,
        &["reconfigEnabled=true"],
        &[SUPER_DIGEST],
    )
    .expect("the Apache ZooKeeper ensemble serves");
    let leader = ens.wait_ready(Duration::from_secs(20)).expect("a leader");
    let victim = *ens.ids().iter().rev().find(|id| **id != leader).unwrap();
    let server: String = ens
        .ids()
        .into_iter()
        .filter(|id| *id != victim)
        .map(|id| ens.client_addr(id).to_string())
        .collect::<Vec<_>>()
        .join(",");
    let rt = tests::two_worker_runtime();

    let config = rt.block_on(async {
        let client = zk_client::Client::connect(&server).await.expect("connect");
        let (data, _) = client.get_config().await.expect("get_config");
        let _ = client.close().await;
        String::from_utf8(data.to_vec()).expect("UTF-8")
    });
    let lines: Vec<String> = ens
        .ids()
        .iter()
        .map(|id| server_line(&config, *id))
        .collect();
    let victim_line = server_line(&config, victim);
    let others: Vec<String> = ens
        .ids()
        .iter()
        .filter(|id| **id != victim)
        .map(|id| server_line(&config, *id))
        .collect();
    // One file per ensemble: both flavours' tests run at once in this process.
    let file = std::env::temp_dir().join(format!(
        "zkcli-reconfig-{}-{}.cfg",
        std::process::id(),
        ens.client_addr(leader).port()
    ));
    std::fs::write(&file, lines.join("\n") + "\n").expect("write the membership file");
    let script: Vec<String> = SCRIPT
        .iter()
        .map(|l| {
            l.replace("{victim_line}", &victim_line)
                .replace("{victim}", &victim.to_string())
                .replace("{others}", &others.join(","))
                .replace("{file}", &file.display().to_string())
        })
        .collect();
    let text = script.join("\n") + "\n";

    let (java_out, java_err) = {
        let server = server.clone();
        std::thread::spawn(move || run_zkcli_sh(&server, &text))
            .join()
            .expect("zkCli.sh run")
    };
    let (rust_out, rust_err) = rt.block_on(async {
        tokio::time::timeout(Duration::from_secs(40), run_zkcli(&server, &script))
            .await
            .expect("zkcli finishes within 40 s")
    });
    let _ = std::fs::remove_file(&file);

    let (java_rest, java_events) = split_events(&normalize(&java_out));
    let (rust_rest, rust_events) = split_events(&normalize(&rust_out));
    assert_same("stdout without watch events", &rust_rest, &java_rest);
    assert_eq!(rust_events, java_events, "watch events");
    assert_same("stderr", &normalize(&rust_err), &normalize(&java_err));

    // The session did what it says: refusals, the removal and both restorations.
    assert!(
        java_err.contains("Insufficient permission : "),
        "{java_err}"
    );
    assert!(
        java_err.contains("version No is not valid : "),
        "{java_err}"
    );
    assert!(
        java_err.contains("Arguments are not valid : "),
        "{java_err}"
    );
    assert!(
        java_err.contains("Error processing /nonexistent"),
        "{java_err}"
    );
    assert_eq!(
        java_rest.matches("Committed new configuration:").count(),
        4,
        "{java_rest}"
    );
    assert!(
        java_events
            .iter()
            .any(|e| e.ends_with("type:NodeDataChanged path:/zookeeper/config")),
        "{java_events:?}"
    );
    // Both runs end on the full membership.
    rt.block_on(async {
        let client = zk_client::Client::connect(&server).await.expect("connect");
        client.sync("/").await.expect("sync");
        let (data, _) = client.get_config().await.expect("get_config");
        let now = String::from_utf8(data.to_vec()).expect("UTF-8");
        for l in &lines {
            assert!(now.contains(l.as_str()), "{now}");
        }
        let _ = client.close().await;
    });
}
