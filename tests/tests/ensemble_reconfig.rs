//! Dynamic reconfiguration (`reconfigEnabled=true`) on 3-member ensembles of zk-server
//! processes, driven through zk-client's `reconfig` as a super user (kazoo's harness digest,
//! `super:test`):
//!
//! * refusals in Apache's terms (NoAuth without the super user, BadArguments for a malformed
//!   server string or too few voters left, BadVersion for a stale `from_config`), and an
//!   observer that does not run added and removed again (kazoo's TestReconfig), every member's
//!   `/zookeeper/config` following;
//! * a follower removed no longer counts: with the leader and the other follower as the
//!   config, pausing that other follower stops writes (under the old config the removed one
//!   would have made the quorum); the removed member, wiped and restarted as a new server
//!   listing the config plus itself, joins as a non-voting follower, is added back, and
//!   counts again: with it, the ensemble writes while another member is paused;
//! * the leader removed hands over to a member of the new config; writes go on, and a
//!   member restarted afterwards starts from the dynamic config file it wrote.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use tests::process_ensemble::{four_letter, srvr_mode, zk_server_binary, Flavor, ProcessEnsemble};
use zk_client::{Client, CreateMode, Error};

const LIMIT: Duration = Duration::from_secs(30);
const SUPER_DIGEST: &str =
    "-Dzookeeper.DigestAuthenticationProvider.superDigest=super:D/InIHSb7yEEbrWz8b9l71RjZJU=";

fn until(what: &str, limit: Duration, mut ok: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !ok() {
        assert!(Instant::now() < deadline, "{what}: not within {limit:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn start() -> (ProcessEnsemble, tokio::runtime::Runtime) {
    let flavor = Flavor::ZkServer(zk_server_binary());
    let ensemble = ProcessEnsemble::start_with_jvm_flags(
        flavor,
        3,
        0,
        &["reconfigEnabled=true"],
        &[SUPER_DIGEST],
    )
    .expect("serve");
    (ensemble, tests::two_worker_runtime())
}

async fn connect(connect: &str, as_super: bool) -> Client {
    let c = Client::builder()
        .session_timeout(Duration::from_secs(20))
        .connect(connect)
        .await
        .expect("connect");
    if as_super {
        c.add_auth("digest", b"super:test").await.expect("auth");
    }
    c
}

fn zoo_cfg(ens: &ProcessEnsemble, id: i64) -> PathBuf {
    ens.data_dir(id)
        .parent()
        .expect("member dir")
        .join("zoo.cfg")
}

/// Member `id`'s `server.N=...` line in the ensemble's current config.
fn server_line(rt: &tokio::runtime::Runtime, ens: &ProcessEnsemble, id: i64) -> String {
    let text = rt.block_on(async {
        let c = connect(&ens.connect_string(), false).await;
        let (data, _) = c.get_config().await.expect("config");
        c.close().await.ok();
        config_text(&data)
    });
    text.lines()
        .find(|l| l.starts_with(&format!("server.{id}=")))
        .unwrap_or_else(|| panic!("no server.{id} line in {text}"))
        .to_owned()
}

/// A `server.N` line for an observer `sid` at `host`, on ports nobody listens on.
fn idle_observer_line(sid: i64, host: &str) -> String {
    let block = tests::ports::unassigned_port_block(3);
    format!(
        "server.{sid}={host}:{}:{}:observer;{host}:{}",
        block,
        block + 1,
        block + 2
    )
}

fn config_text(data: &[u8]) -> String {
    String::from_utf8(data.to_vec()).expect("utf-8 config")
}

/// Every running member's /zookeeper/config, after a sync.
fn configs(rt: &tokio::runtime::Runtime, ens: &ProcessEnsemble, ids: &[i64]) -> Vec<String> {
    ids.iter()
        .map(|id| {
            rt.block_on(async {
                let c = connect(&ens.client_addr(*id).to_string(), false).await;
                c.sync("/").await.expect("sync");
                let (data, _) = c.get_config().await.expect("config");
                c.close().await.ok();
                config_text(&data)
            })
        })
        .collect()
}

#[test]
fn reconfig_refusals_and_an_observer_added_and_removed() {
    let (ens, rt) = start();
    let cs = ens.connect_string();
    let plain = rt.block_on(connect(&cs, false));
    let admin = rt.block_on(connect(&cs, true));
    rt.block_on(async {
        let joining = "server.100=0.0.0.0:1234:2345:observer;3456";
        assert!(matches!(
            plain.reconfig(Some(joining), None, None, -1).await,
            Err(Error::NoAuth)
        ));
        assert!(matches!(
            admin.reconfig(Some("some thing"), None, None, -1).await,
            Err(Error::BadArguments)
        ));
        assert!(matches!(
            admin.reconfig(None, Some("2,3"), None, -1).await,
            Err(Error::BadArguments)
        ));
        let (before, stat) = admin.get_config().await.expect("config");
        let before = config_text(&before);
        assert!(before.contains("server.1="), "{before}");
        assert_eq!(stat.version, -1, "/zookeeper/config's version is -1");
        assert!(matches!(
            admin.reconfig(Some(joining), None, None, 0x7777).await,
            Err(Error::BadVersion)
        ));
    });
    // kazoo's test_add_remove_observer, with ports nobody listens on.
    let joining = idle_observer_line(100, "0.0.0.0");
    let (added, stat) = rt
        .block_on(admin.reconfig(Some(&joining), None, None, -1))
        .expect("add the observer");
    let added = config_text(&added);
    assert!(added.contains(&joining), "{added}");
    let version = added
        .lines()
        .find_map(|l| l.strip_prefix("version="))
        .map(|v| i64::from_str_radix(v, 16).expect("hex version"))
        .expect("a version line");
    assert_eq!(
        stat.mzxid.0, version,
        "the config's version is its reconfig's zxid"
    );
    for (id, c) in [1, 2, 3].into_iter().zip(configs(&rt, &ens, &[1, 2, 3])) {
        assert_eq!(c, added, "member {id}'s /zookeeper/config");
    }
    // A stale version is refused, the current one accepted.
    assert!(matches!(
        rt.block_on(admin.reconfig(None, Some("100"), None, version - 1)),
        Err(Error::BadVersion)
    ));
    let (removed, _) = rt
        .block_on(admin.reconfig(None, Some("100"), None, version))
        .expect("remove the observer");
    let removed = config_text(&removed);
    assert!(!removed.contains("server.100"), "{removed}");
    for c in configs(&rt, &ens, &[1, 2, 3]) {
        assert_eq!(c, removed);
    }
    // Every member wrote the config it activated as its dynamic file, and points at it.
    let last = removed
        .lines()
        .find_map(|l| l.strip_prefix("version="))
        .expect("a version line")
        .to_owned();
    for id in [1, 2, 3] {
        let cfg = std::fs::read_to_string(zoo_cfg(&ens, id)).expect("zoo.cfg");
        assert!(!cfg.contains("server."), "member {id}: {cfg}");
        let file = cfg
            .lines()
            .find_map(|l| l.strip_prefix("dynamicConfigFile="))
            .unwrap_or_else(|| panic!("member {id}: {cfg}"));
        assert!(
            file.ends_with(&format!(".dynamic.{last}")),
            "member {id}: {file}"
        );
        let members = std::fs::read_to_string(file).expect("the dynamic file");
        let mut expected: Vec<&str> = removed
            .lines()
            .filter(|l| l.starts_with("server."))
            .collect();
        expected.sort_unstable();
        assert_eq!(members, expected.join("\n"), "member {id}'s dynamic file");
    }
}

/// A write through `client` within `limit`.
fn write(rt: &tokio::runtime::Runtime, client: &Client, path: &str, limit: Duration) -> bool {
    rt.block_on(async {
        matches!(
            tokio::time::timeout(limit, client.create(path, b"", CreateMode::Persistent)).await,
            Ok(Ok(_))
        )
    })
}

fn leader(ens: &ProcessEnsemble) -> i64 {
    ens.wait_ready(LIMIT).expect("a leader")
}

#[test]
fn a_removed_voter_stops_counting_and_a_fresh_server_joins_and_counts() {
    let (mut ens, rt) = start();
    let l = leader(&ens);
    let followers: Vec<i64> = [1, 2, 3].into_iter().filter(|i| *i != l).collect();
    let (x, y) = (followers[0], followers[1]);
    let x_line = server_line(&rt, &ens, x);
    let admin = rt.block_on(connect(&ens.client_addr(l).to_string(), true));
    let (cfg, _) = match rt.block_on(admin.reconfig(None, Some(&x.to_string()), None, -1)) {
        Ok(r) => r,
        Err(e) => {
            for id in [1, 2, 3] {
                eprintln!("---- member {id}\n{}", ens.log(id));
            }
            panic!("remove a follower: {e:?}");
        }
    };
    let cfg = config_text(&cfg);
    assert!(!cfg.contains(&format!("server.{x}=")), "{cfg}");
    // The removed member still follows (a non-voting follower) and serves its clients.
    until("the removed member serves", LIMIT, || {
        four_letter(ens.client_addr(x), "srvr")
            .as_deref()
            .and_then(srvr_mode)
            == Some("follower")
    });
    let via_x = rt.block_on(connect(&ens.client_addr(x).to_string(), false));
    assert!(write(&rt, &via_x, "/through-removed", LIMIT));

    // Only the leader and y vote now: without y there is no quorum, though x runs.
    let writer = rt.block_on(connect(&ens.client_addr(l).to_string(), false));
    ens.pause(y);
    assert!(
        !write(&rt, &writer, "/without-y", Duration::from_secs(4)),
        "a write committed without y: the removed member still counts"
    );
    ens.resume(y);
    ens.wait_ready(LIMIT).expect("the ensemble recovers");
    let writer = rt.block_on(connect(&ens.connect_string(), false));
    until("writes resume", LIMIT, || {
        write(
            &rt,
            &writer,
            &format!("/after-{}", rand_suffix()),
            Duration::from_secs(3),
        )
    });

    // x comes back as a new server: empty data, its config the current members plus itself.
    ens.kill(x);
    ens.wipe(x);
    let mut text = std::fs::read_to_string(zoo_cfg(&ens, x)).expect("zoo.cfg");
    text = text
        .lines()
        .filter(|l| !l.starts_with("dynamicConfigFile="))
        .map(|l| format!("{l}\n"))
        .collect();
    for line in cfg.lines().filter(|l| l.starts_with("server.")) {
        text.push_str(line);
        text.push('\n');
    }
    text.push_str(&x_line);
    text.push('\n');
    std::fs::write(zoo_cfg(&ens, x), text).expect("write x's zoo.cfg");
    ens.restart(x);
    until(
        "the new server syncs as a non-voting follower",
        LIMIT,
        || {
            four_letter(ens.client_addr(x), "srvr")
                .as_deref()
                .and_then(srvr_mode)
                == Some("follower")
        },
    );
    let joining = x_line.clone();
    let admin = rt.block_on(connect(&ens.connect_string(), true));
    let (cfg, _) = rt
        .block_on(admin.reconfig(Some(&joining), None, None, -1))
        .expect("add it back");
    assert!(config_text(&cfg).contains(&format!("server.{x}=")));
    // With x voting again, the ensemble writes while y is paused.
    let writer = rt.block_on(connect(
        &format!("{},{}", ens.client_addr(l), ens.client_addr(x)),
        false,
    ));
    ens.pause(y);
    assert!(
        write(&rt, &writer, "/with-x-again", LIMIT),
        "no write with x back and y paused"
    );
    ens.resume(y);
}

fn rand_suffix() -> u64 {
    use std::time::SystemTime;
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

#[test]
fn removing_the_leader_hands_over_and_members_restart_from_the_dynamic_file() {
    let (mut ens, rt) = start();
    let l = leader(&ens);
    let others: Vec<i64> = [1, 2, 3].into_iter().filter(|i| *i != l).collect();
    let cs = others
        .iter()
        .map(|i| ens.client_addr(*i).to_string())
        .collect::<Vec<_>>()
        .join(",");
    let admin = rt.block_on(connect(&cs, true));
    let session = admin.session_id();
    let (cfg, _) = rt
        .block_on(admin.reconfig(None, Some(&l.to_string()), None, -1))
        .expect("remove the leader");
    let cfg = config_text(&cfg);
    assert!(!cfg.contains(&format!("server.{l}=")), "{cfg}");
    let handed_over = Instant::now();
    until("a member of the new config leads", LIMIT, || {
        ens.leader().is_some_and(|n| others.contains(&n))
    });
    until("writes resume", LIMIT, || {
        write(
            &rt,
            &admin,
            &format!("/after-{}", rand_suffix()),
            Duration::from_secs(3),
        )
    });
    eprintln!(
        "writes resumed {:?} after the leader was removed",
        handed_over.elapsed()
    );
    assert_eq!(admin.session_id(), session, "the session survived");

    // A member restarted now starts from the dynamic file it wrote: two voters.
    let f = others[0];
    ens.kill(f);
    ens.restart(f);
    until("the restarted member serves", LIMIT, || {
        matches!(
            four_letter(ens.client_addr(f), "srvr")
                .as_deref()
                .and_then(srvr_mode),
            Some("follower" | "leader")
        )
    });
    let after = configs(&rt, &ens, &[f]);
    assert_eq!(after[0], cfg, "the restarted member's config");
}

/// With `zookeeper.skipACL=yes` (Apache's `ZooKeeperServer.skipACL`) a session without the
/// super user reconfigures: no ACL is checked.
#[test]
fn skip_acl_lets_any_session_reconfigure() {
    let flavor = Flavor::ZkServer(zk_server_binary());
    let ens = ProcessEnsemble::start_with_jvm_flags(
        flavor,
        3,
        0,
        &["reconfigEnabled=true"],
        &["-Dzookeeper.skipACL=yes"],
    )
    .expect("serve");
    let rt = tests::two_worker_runtime();
    let plain = rt.block_on(connect(&ens.connect_string(), false));
    let joining = idle_observer_line(50, "127.0.0.1");
    let (cfg, _) = rt
        .block_on(plain.reconfig(Some(&joining), None, None, -1))
        .expect("reconfig without the super user");
    assert!(config_text(&cfg).contains(&joining));
}
