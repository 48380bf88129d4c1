//! Read-only mode (`readonlymode.enabled=true`) on 3-member ensembles of zk-server processes,
//! with zk-client sessions that allow it (`read_only(true)`, Apache's `canBeReadOnly`):
//!
//! * the two other members are killed: the one left, without a quorum, serves the session
//!   read-only (ConnectedReadOnly, `isro` says `ro`, `srvr` says `Mode: read-only`): reads are
//!   answered, writes get NotReadOnly, a client that does not allow read-only mode is refused;
//!   when the others come back it rejoins, and the session (an ensemble session, with its
//!   ephemeral) carries on read-write;
//! * a member cut off from the two others (its config and theirs name ports nobody listens
//!   on) serves a session read-only that the client started there while the others were down;
//!   once they form a quorum, the client's background search (`isro` on the other hosts)
//!   finds one and moves there, with a new session (the read-only member's was its own).

use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use tests::ports::unassigned_port_block;
use tests::process_ensemble::{four_letter, srvr_mode, zk_server_binary, Flavor, ProcessEnsemble};
use zk_client::{Client, CreateMode, Error, SessionState, Version};

const LIMIT: Duration = Duration::from_secs(30);

fn until(what: &str, limit: Duration, mut ok: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !ok() {
        assert!(Instant::now() < deadline, "{what}: not within {limit:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn isro(addr: SocketAddr) -> Option<String> {
    four_letter(addr, "isro")
}

fn start() -> (ProcessEnsemble, tokio::runtime::Runtime) {
    let flavor = Flavor::ZkServer(zk_server_binary());
    let ensemble =
        ProcessEnsemble::start(flavor, 3, 0, &["readonlymode.enabled=true"]).expect("serve");
    let rt = tests::two_worker_runtime();
    (ensemble, rt)
}

async fn read_only_client(connect: &str) -> Client {
    Client::builder()
        .read_only(true)
        .session_timeout(Duration::from_secs(10))
        .connect(connect)
        .await
        .expect("connect")
}

#[test]
fn a_member_without_a_quorum_serves_read_only_sessions_until_it_rejoins() {
    let (mut ens, rt) = start();
    let addr1 = ens.client_addr(1);
    let client = rt.block_on(read_only_client(&ens.connect_string()));
    assert_eq!(client.state(), SessionState::Connected);
    let session = client.session_id();
    rt.block_on(async {
        client
            .create("/ro", b"before", CreateMode::Persistent)
            .await
            .unwrap();
        client
            .create("/ro/eph", b"", CreateMode::Ephemeral)
            .await
            .unwrap();
    });
    assert_eq!(isro(addr1).as_deref(), Some("rw"));

    ens.kill(2);
    ens.kill(3);
    let became_ro = Instant::now();
    until("member 1 serves read-only", LIMIT, || {
        isro(addr1).as_deref() == Some("ro")
    });
    let srvr = four_letter(addr1, "srvr").expect("srvr answers");
    assert_eq!(srvr_mode(&srvr), Some("read-only"), "{srvr}");
    until("the session is connected read-only", LIMIT, || {
        client.state() == SessionState::ConnectedReadOnly
    });
    eprintln!(
        "read-only {:?} after the other members were killed",
        became_ro.elapsed()
    );
    assert_eq!(client.session_id(), session, "the ensemble session resumed");
    assert_eq!(client.connected_server(), Some(addr1));
    rt.block_on(async {
        let (data, _) = client.get_data("/ro").await.unwrap();
        assert_eq!(&data[..], b"before");
        assert!(client.exists("/ro/eph").await.unwrap().is_some());
        let refused = client.create("/ro/new", b"", CreateMode::Persistent).await;
        assert_eq!(refused.unwrap_err(), Error::NotReadOnly);
        let refused = client.set_data("/ro", b"after", Version::Any).await;
        assert_eq!(refused.unwrap_err(), Error::NotReadOnly);
        // A client that does not allow read-only mode gets no session here.
        let only1 = addr1.to_string();
        let plain = Client::builder()
            .session_timeout(Duration::from_secs(4))
            .connect(&only1);
        let plain = tokio::time::timeout(Duration::from_secs(3), plain).await;
        assert!(
            !matches!(plain, Ok(Ok(_))),
            "a plain client was served read-only"
        );
    });

    ens.restart(2);
    ens.restart(3);
    ens.wait_all_serving(LIMIT)
        .expect("the ensemble serves again");
    until("the session is read-write again", LIMIT, || {
        client.state() == SessionState::Connected
    });
    assert_eq!(client.session_id(), session);
    rt.block_on(async {
        assert!(
            client.exists("/ro/eph").await.unwrap().is_some(),
            "ephemeral kept"
        );
        client
            .set_data("/ro", b"after", Version::Any)
            .await
            .unwrap();
        client.close().await.unwrap();
    });
    assert_eq!(isro(addr1).as_deref(), Some("rw"));
}

/// Points the `server.N` lines of `cfg` for the ids in `cut` at ports nobody listens on.
fn cut_off(cfg: &Path, cut: &[i64], dead: &mut impl Iterator<Item = u16>) {
    let text = std::fs::read_to_string(cfg).unwrap();
    let lines: Vec<String> = text
        .lines()
        .map(|l| {
            let Some((key, value)) = l.split_once('=') else {
                return l.to_owned();
            };
            let id: Option<i64> = key.strip_prefix("server.").and_then(|n| n.parse().ok());
            match id {
                Some(id) if cut.contains(&id) => {
                    let (_, client) = value.split_once(';').expect("a client port");
                    let (q, e) = (dead.next().unwrap(), dead.next().unwrap());
                    format!("{key}=127.0.0.1:{q}:{e}:participant;{client}")
                }
                _ => l.to_owned(),
            }
        })
        .collect();
    std::fs::write(cfg, lines.join("\n") + "\n").unwrap();
}

#[test]
fn a_read_only_session_moves_to_a_read_write_member_once_one_answers() {
    let (mut ens, rt) = start();
    for id in [1, 2, 3] {
        ens.kill(id);
    }
    let mut dead = unassigned_port_block(8)..;
    let cfg = |ens: &ProcessEnsemble, id: i64| ens.data_dir(id).parent().unwrap().join("zoo.cfg");
    cut_off(&cfg(&ens, 1), &[2, 3], &mut dead);
    cut_off(&cfg(&ens, 2), &[1], &mut dead);
    cut_off(&cfg(&ens, 3), &[1], &mut dead);
    let addr1 = ens.client_addr(1);
    ens.restart(1);
    until("member 1 serves read-only", LIMIT, || {
        isro(addr1).as_deref() == Some("ro")
    });
    // Members 2 and 3 are down: the session starts on member 1, read-only.
    let client = rt.block_on(read_only_client(&ens.connect_string()));
    assert_eq!(client.state(), SessionState::ConnectedReadOnly);
    assert_eq!(client.connected_server(), Some(addr1));
    let local = client.session_id();

    ens.restart(2);
    ens.restart(3);
    ens.wait_ready(LIMIT)
        .expect("members 2 and 3 form a quorum");
    let quorum = Instant::now();
    until("the session moved to a read-write member", LIMIT, || {
        client.state() == SessionState::Connected
    });
    eprintln!(
        "moved to a read-write member {:?} after the quorum formed",
        quorum.elapsed()
    );
    let server = client.connected_server().expect("connected");
    assert_ne!(server, addr1);
    assert_ne!(client.session_id(), local, "a new, ensemble session");
    rt.block_on(async {
        client
            .create("/moved", b"", CreateMode::Persistent)
            .await
            .unwrap();
        client.close().await.unwrap();
    });
    assert_eq!(
        isro(addr1).as_deref(),
        Some("ro"),
        "member 1 is still cut off"
    );
}
