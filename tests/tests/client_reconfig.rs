//! zk-client's dynamic reconfiguration against real Apache ZooKeeper 3.8 ensembles (Debian's
//! package, three `QuorumPeerMain` processes on loopback with `reconfigEnabled=true` and the
//! super digest `super:test`):
//!
//! * `get_config` and `get_config_and_watch` read `/zookeeper/config` outside any chroot, and
//!   the watch's event names `/zookeeper/config` under the chroots `/app` and `/zookeeper`;
//! * `reconfig` removes a member and adds it back (incremental), replaces the membership
//!   (non-incremental), and is refused with BadVersion (a stale `from_config`), NoAuth
//!   (a session that is not the super user), BadArguments (malformed server lines, too few
//!   voters) and, on a standalone server, ReconfigDisabled;
//! * `update_server_list` moves a session off a member that the ensemble removed, keeping the
//!   session and its ephemeral node.
//!
//! Apache ZooKeeper is required: these tests fail, not skip, when it is missing or does not
//! start. One ensemble runs at a time in this binary (each is three JVMs on a two-core
//! machine), and every test stays well under a minute.

use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tests::process_ensemble::{Flavor, ProcessEnsemble};
use zk_client::{Client, CreateMode, Error, EventType, OneshotWatch, Reconfig, WatchedEvent};

/// The super user `super` with password `test` (kazoo's test digest).
const SUPER_DIGEST: &str =
    "-Dzookeeper.DigestAuthenticationProvider.superDigest=super:D/InIHSb7yEEbrWz8b9l71RjZJU=";

/// How long one step (a watch event, a member rejoining, a session moving) may take.
const STEP: Duration = Duration::from_secs(20);

/// One ensemble at a time in this binary.
fn serial() -> MutexGuard<'static, ()> {
    static SERIAL: Mutex<()> = Mutex::new(());
    SERIAL.lock().unwrap_or_else(|p| p.into_inner())
}

/// Three voters with reconfiguration enabled, every one serving: Apache ZooKeeper 3.8's, or
/// zk-server's.
fn start(flavor: &Flavor) -> ProcessEnsemble {
    assert!(
        tests::apache_zk_installed(),
        "Apache ZooKeeper 3.8 is needed: run scripts/deps (Debian's zookeeper package)"
    );
    ProcessEnsemble::start_with_jvm_flags(
        flavor.clone(),
        3,
        0,
        &["reconfigEnabled=true"],
        &[SUPER_DIGEST],
    )
    .expect("the Apache ZooKeeper ensemble serves")
}

/// A session authenticated as the super user, who may write `/zookeeper/config`.
async fn super_client(connect: &str) -> Client {
    Client::builder()
        .auth("digest", b"super:test".to_vec())
        .connect(connect)
        .await
        .expect("connect as super")
}

fn text(data: &[u8]) -> String {
    String::from_utf8(data.to_vec()).expect("the config is UTF-8")
}

/// The `version=` of a config, hexadecimal there.
fn config_version(config: &str) -> i64 {
    let hex = config
        .lines()
        .find_map(|l| l.strip_prefix("version="))
        .unwrap_or_else(|| panic!("no version in {config:?}"));
    i64::from_str_radix(hex.trim(), 16).expect("a hex version")
}

/// The `server.<id>=...` line of a config.
fn server_line(config: &str, id: i64) -> Option<String> {
    let prefix = format!("server.{id}=");
    config
        .lines()
        .find(|l| l.starts_with(&prefix))
        .map(str::to_owned)
}

/// The ids of the servers a config lists.
fn server_ids(config: &str) -> Vec<i64> {
    config
        .lines()
        .filter_map(|l| l.strip_prefix("server."))
        .filter_map(|l| l.split_once('=')?.0.parse().ok())
        .collect()
}

/// A voter that does not lead: removing it leaves the leader, and so the sessions on the
/// other members, undisturbed.
fn a_follower(ens: &ProcessEnsemble) -> i64 {
    let leader = ens.wait_ready(STEP).expect("a leader");
    *ens.ids().iter().rev().find(|id| **id != leader).unwrap()
}

/// The client addresses of every member but `except`.
fn connect_string_without(ens: &ProcessEnsemble, except: i64) -> String {
    ens.ids()
        .into_iter()
        .filter(|id| *id != except)
        .map(|id| ens.client_addr(id).to_string())
        .collect::<Vec<_>>()
        .join(",")
}

async fn fired(watch: OneshotWatch) -> WatchedEvent {
    tokio::time::timeout(STEP, watch)
        .await
        .expect("the watch fires in time")
        .expect("a watch event")
}

async fn until(what: &str, mut ok: impl FnMut() -> bool) {
    let deadline = Instant::now() + STEP;
    while !ok() {
        assert!(Instant::now() < deadline, "{what}: not within {STEP:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn get_config_reads_and_watches_the_config_under_a_chroot(flavor: &Flavor) {
    let _serial = serial();
    let ens = start(flavor);
    let victim = a_follower(&ens);
    let others = connect_string_without(&ens, victim);
    let rt = tests::two_worker_runtime();
    rt.block_on(async {
        let admin = super_client(&others).await;
        let (data, stat) = admin.get_config().await.expect("get_config");
        let config = text(&data);
        assert_eq!(server_ids(&config), [1, 2, 3], "{config}");
        for id in ens.ids() {
            let line = server_line(&config, id).unwrap();
            let client = ens.client_addr(id).to_string();
            assert!(line.ends_with(&format!(";{client}")), "{line}");
            assert!(line.contains(":participant;"), "{line}");
        }
        let version = config_version(&config);
        assert!(version > 0, "{config}");

        // Under a chroot the config is read, and watched, at /zookeeper/config all the same.
        admin
            .create("/app", b"", CreateMode::Persistent)
            .await
            .expect("create /app");
        let app = Client::connect(&format!("{others}/app"))
            .await
            .expect("connect under /app");
        let (app_data, app_stat, app_watch) =
            app.get_config_and_watch().await.expect("config under /app");
        // (Not the whole Stat: each member stamps the initial config with its own mtime.)
        assert_eq!((&app_data, app_stat.mzxid), (&data, stat.mzxid));
        // The config node is not the chroot's /zookeeper/config.
        assert_eq!(app.exists("/zookeeper/config").await, Ok(None));
        // Under the chroot /zookeeper the same server node is also the client path /config.
        let zk = Client::connect(&format!("{others}/zookeeper"))
            .await
            .expect("connect under /zookeeper");
        let (_, _, zk_config_watch) = zk.get_config_and_watch().await.expect("config");
        let (zk_data, _, zk_data_watch) = zk.get_data_and_watch("/config").await.expect("/config");
        assert_eq!(zk_data, data);
        let (_, _, plain_watch) = admin.get_config_and_watch().await.expect("config");
        let (_, _, dropped) = admin.get_config_and_watch().await.expect("config");
        drop(dropped);

        let (new, new_stat) = admin
            .reconfig_with(&Reconfig::incremental().remove_server(victim as u64))
            .await
            .expect("remove a follower");
        let new_config = text(&new);
        assert_eq!(server_line(&new_config, victim), None, "{new_config}");
        assert!(config_version(&new_config) > version, "{new_config}");
        assert!(new_stat.mzxid > stat.mzxid);

        for watch in [app_watch, zk_config_watch, plain_watch] {
            let event = fired(watch).await;
            assert_eq!(event.event_type, EventType::NodeDataChanged);
            assert_eq!(event.path, "/zookeeper/config");
        }
        let event = fired(zk_data_watch).await;
        assert_eq!(
            (event.event_type, event.path.as_str()),
            (EventType::NodeDataChanged, "/config")
        );
        // The watch fired on the member the session is on: it has the new config.
        let (app_now, _) = app.get_config().await.expect("config under /app");
        assert_eq!(app_now, new);
        for c in [app, zk, admin] {
            c.close().await.expect("close");
        }
    });
}

fn incremental_reconfig_removes_a_member_and_adds_it_back(flavor: &Flavor) {
    let _serial = serial();
    let mut ens = start(flavor);
    let victim = a_follower(&ens);
    let others = connect_string_without(&ens, victim);
    let rt = tests::two_worker_runtime();
    rt.block_on(async {
        let admin = super_client(&others).await;
        let (data, _) = admin.get_config().await.expect("get_config");
        let config = text(&data);
        let line = server_line(&config, victim).unwrap();
        let v0 = config_version(&config);

        // A stale version is refused before anything changes.
        let stale = Reconfig::incremental()
            .remove_server(victim as u64)
            .from_config(v0 + 1);
        assert_eq!(admin.reconfig_with(&stale).await, Err(Error::BadVersion));
        assert_eq!(admin.get_config().await.expect("config").0, data);

        let remove = Reconfig::incremental()
            .remove_server(victim as u64)
            .from_config(v0);
        let (removed, stat) = admin.reconfig_with(&remove).await.expect("remove");
        let removed = text(&removed);
        assert_eq!(server_ids(&removed).len(), 2, "{removed}");
        assert_eq!(server_line(&removed, victim), None);
        let v1 = config_version(&removed);
        assert!(v1 > v0);
        // The config version is the zxid of the reconfig transaction.
        assert_eq!(v1, stat.mzxid.0, "{removed}");
        // The old version no longer applies.
        let again = Reconfig::incremental()
            .add_server(line.clone())
            .from_config(v0);
        assert_eq!(admin.reconfig_with(&again).await, Err(Error::BadVersion));

        // Back in, through the comma-separated form of the Java API.
        let (added, _) = admin
            .reconfig(Some(&line), None, None, v1)
            .await
            .expect("add back");
        let added = text(&added);
        assert_eq!(server_line(&added, victim).as_deref(), Some(line.as_str()));
        assert!(config_version(&added) > v1);
        admin.sync("/").await.expect("sync");
        assert_eq!(text(&admin.get_config().await.expect("config").0), added);
        admin.close().await.expect("close");
    });
    // The member rejoins the ensemble it was added back to.
    let deadline = Instant::now() + STEP;
    while !matches!(ens.modes().get(&victim), Some(Some(m)) if m == "follower") {
        assert!(
            Instant::now() < deadline,
            "member {victim} does not rejoin: {:?}",
            ens.modes()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    ens.wait_all_serving(STEP).expect("every member serves");
}

fn non_incremental_reconfig_and_the_refusals(flavor: &Flavor) {
    let _serial = serial();
    let ens = start(flavor);
    let victim = a_follower(&ens);
    let others = connect_string_without(&ens, victim);
    let rt = tests::two_worker_runtime();
    rt.block_on(async {
        let admin = super_client(&others).await;
        let (data, _) = admin.get_config().await.expect("get_config");
        let config = text(&data);
        let lines: Vec<String> = ens
            .ids()
            .iter()
            .map(|id| server_line(&config, *id).unwrap())
            .collect();

        // Only the super user may write /zookeeper/config (its ACL is world:anyone:r).
        let plain = Client::connect(&others).await.expect("connect");
        let remove = Reconfig::incremental().remove_server(victim as u64);
        assert_eq!(plain.reconfig_with(&remove).await, Err(Error::NoAuth));
        // Malformed server lines.
        for bad in ["server.4=bogus", "nonsense", "server.4=127.0.0.1:1:2"] {
            let r = Reconfig::incremental().add_server(bad);
            assert_eq!(
                admin.reconfig_with(&r).await,
                Err(Error::BadArguments),
                "{bad}"
            );
        }
        // One voter left is too few (Apache needs two while standaloneEnabled is true).
        let leader = ens.leader().expect("a leader");
        let to_one = Reconfig::members([server_line(&config, leader).unwrap()]);
        assert_eq!(admin.reconfig_with(&to_one).await, Err(Error::BadArguments));
        assert_eq!(admin.get_config().await.expect("config").0, data);

        // The membership without the victim, then all three again.
        let keep: Vec<String> = ens
            .ids()
            .iter()
            .filter(|id| **id != victim)
            .map(|id| server_line(&config, *id).unwrap())
            .collect();
        let (two, _) = admin
            .reconfig_with(&Reconfig::members(keep.clone()))
            .await
            .expect("non-incremental to two members");
        let two = text(&two);
        assert_eq!(server_ids(&two).len(), 2, "{two}");
        for l in &keep {
            assert!(two.contains(l.as_str()), "{two}");
        }
        let v = config_version(&two);
        let (three, _) = admin
            .reconfig(None, None, Some(&lines.join(",")), v)
            .await
            .expect("non-incremental back to three");
        let three = text(&three);
        for l in &lines {
            assert!(three.contains(l.as_str()), "{three}");
        }
        assert!(config_version(&three) > v);
        plain.close().await.expect("close");
        admin.close().await.expect("close");
    });
}

#[test]
fn a_standalone_server_has_reconfig_disabled() {
    let _serial = serial();
    let zk = tests::ApacheZk::start(&[]).expect("Apache ZooKeeper standalone serves");
    let rt = tests::two_worker_runtime();
    rt.block_on(async {
        let admin = super_client(&zk.connect_string()).await;
        let r = Reconfig::incremental().remove_server(1);
        assert_eq!(admin.reconfig_with(&r).await, Err(Error::ReconfigDisabled));
        // Its config node exists, empty.
        let (data, _) = admin.get_config().await.expect("get_config");
        assert!(data.is_empty(), "{data:?}");
        admin.close().await.expect("close");
    });
}

fn update_server_list_moves_a_session_off_a_removed_member(flavor: &Flavor) {
    let _serial = serial();
    let ens = start(flavor);
    let victim = a_follower(&ens);
    let others = connect_string_without(&ens, victim);
    let rt = tests::two_worker_runtime();
    rt.block_on(async {
        // A session on the victim alone, with an ephemeral node.
        let client = Client::builder()
            .session_timeout(Duration::from_secs(20))
            .connect(&ens.client_addr(victim).to_string())
            .await
            .expect("connect to the victim");
        assert_eq!(client.connected_server(), Some(ens.client_addr(victim)));
        let session = client.session_id();
        client
            .create("/mine", b"", CreateMode::Ephemeral)
            .await
            .expect("an ephemeral");

        // Moving to the same list keeps the connection.
        let same = ens.client_addr(victim).to_string();
        assert_eq!(client.update_server_list(&same), Ok(false));
        // A malformed list changes nothing.
        assert!(matches!(
            client.update_server_list("host:notaport"),
            Err(Error::ConnectString(_))
        ));

        let admin = super_client(&others).await;
        let (new, _) = admin
            .reconfig_with(&Reconfig::incremental().remove_server(victim as u64))
            .await
            .expect("remove the victim");
        assert_eq!(server_line(&text(&new), victim), None);

        // The client is told of the new servers: its own is not among them, so it moves,
        // whether the removed member still holds its connection or not.
        // (The new string's chroot is ignored, as by the Java client.)
        let moved = client.update_server_list(&format!("{others}/ignored"));
        assert_eq!(moved, Ok(true));
        assert_eq!(client.chroot(), None);
        let allowed: Vec<_> = ens
            .ids()
            .into_iter()
            .filter(|id| *id != victim)
            .map(|id| ens.client_addr(id))
            .collect();
        until("the session moves to a remaining member", || {
            client
                .connected_server()
                .is_some_and(|a| allowed.contains(&a))
        })
        .await;
        // The same session: its ephemeral node is still there, seen from another session.
        assert_eq!(client.session_id(), session);
        admin.sync("/mine").await.expect("sync");
        let stat = admin
            .exists("/mine")
            .await
            .expect("exists")
            .expect("the ephemeral survived the move");
        assert_eq!(stat.ephemeral_owner, session);
        client
            .set_data("/mine", b"moved", zk_client::Version::Any)
            .await
            .expect("the session works on its new server");
        client.close().await.expect("close");
        // The admin's member may not have applied the close yet: sync first.
        admin.sync("/mine").await.expect("sync");
        assert_eq!(admin.exists("/mine").await, Ok(None));
        admin.close().await.expect("close");
    });
}

/// The scenarios against Apache ZooKeeper 3.8's ensemble.
mod apache {
    use super::*;

    #[test]
    fn get_config_reads_and_watches_the_config_under_a_chroot() {
        super::get_config_reads_and_watches_the_config_under_a_chroot(&Flavor::Apache);
    }

    #[test]
    fn incremental_reconfig_removes_a_member_and_adds_it_back() {
        super::incremental_reconfig_removes_a_member_and_adds_it_back(&Flavor::Apache);
    }

    #[test]
    fn non_incremental_reconfig_and_the_refusals() {
        super::non_incremental_reconfig_and_the_refusals(&Flavor::Apache);
    }

    #[test]
    fn update_server_list_moves_a_session_off_a_removed_member() {
        super::update_server_list_moves_a_session_off_a_removed_member(&Flavor::Apache);
    }
}

/// The same scenarios against zk-server's ensemble.
mod zk_server {
    use super::*;

    #[test]
    fn get_config_reads_and_watches_the_config_under_a_chroot() {
        super::get_config_reads_and_watches_the_config_under_a_chroot(&Flavor::ZkServer(
            tests::zk_server_binary(),
        ));
    }

    #[test]
    fn incremental_reconfig_removes_a_member_and_adds_it_back() {
        super::incremental_reconfig_removes_a_member_and_adds_it_back(&Flavor::ZkServer(
            tests::zk_server_binary(),
        ));
    }

    #[test]
    fn non_incremental_reconfig_and_the_refusals() {
        super::non_incremental_reconfig_and_the_refusals(&Flavor::ZkServer(
            tests::zk_server_binary(),
        ));
    }

    #[test]
    fn update_server_list_moves_a_session_off_a_removed_member() {
        super::update_server_list_moves_a_session_off_a_removed_member(&Flavor::ZkServer(
            tests::zk_server_binary(),
        ));
    }
}
