//! The four-letter words of ensemble members, on real processes, against Apache ZooKeeper 3.8
//! doing the same: `srvr` says `Mode: leader`, `Mode: follower` or `Mode: observer`; once two
//! of three voters are killed, the voter and the observer left have no quorum, and then every
//! command that needs a running server answers `This ZooKeeper instance is not currently
//! serving requests` (`isro` answers `null`, `ruok` still `imok`), and a client's
//! ConnectRequest gets no ConnectResponse: the connection is closed.

use std::collections::BTreeMap;

use bytes::Bytes;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use tests::process_ensemble::{four_letter, zk_server_binary, Flavor, ProcessEnsemble};
use tests::raw::RawClient;
use zk_core::frame::write_frame;
use zk_core::jute::Encode;
use zk_core::proto::ConnectRequest;
use zk_core::{SessionId, Zxid};

/// Apache ZooKeeper's answer while not serving.
const NOT_SERVING: &str = "This ZooKeeper instance is not currently serving requests\n";

/// The words whose answers are compared (envi, gtmk and stmk describe the process, not its
/// state).
const WORDS: [&str; 15] = [
    "conf", "cons", "crst", "dirs", "dump", "ruok", "srvr", "srst", "stat", "wchc", "wchp", "wchs",
    "mntr", "isro", "hash",
];

/// What one flavor answered.
#[derive(Debug)]
struct Seen {
    /// Each member's `srvr` mode while the whole ensemble serves.
    modes: BTreeMap<i64, Option<String>>,
    /// Without quorum: (member, word) -> answer.
    answers: BTreeMap<(&'static str, &'static str), String>,
}

/// A ConnectRequest for a new session.
fn connect_request() -> ConnectRequest {
    ConnectRequest {
        protocol_version: 0,
        last_zxid_seen: Zxid(0),
        timeout_ms: 30_000,
        session_id: SessionId(0),
        passwd: Bytes::from_static(&[0; 16]),
        read_only: Some(false),
    }
}

fn run(flavor: Flavor) -> Seen {
    let mut ensemble = ProcessEnsemble::start(flavor, 3, 1, &[]).expect("the ensemble serves");
    let modes = ensemble.modes();
    for id in ensemble.ids() {
        let mut c = RawClient::open(ensemble.client_addr(id)).unwrap();
        c.handshake(&connect_request())
            .unwrap_or_else(|e| panic!("member {id} serves: a ConnectResponse ({e})"));
    }
    let leader = ensemble.leader().expect("a leader");
    let follower = ensemble
        .voters()
        .into_iter()
        .find(|id| *id != leader)
        .unwrap();
    let left = ensemble
        .voters()
        .into_iter()
        .find(|id| *id != leader && *id != follower)
        .unwrap();
    let observer = 4;
    ensemble.kill(leader);
    ensemble.kill(follower);
    let deadline = Instant::now() + Duration::from_secs(20);
    for id in [left, observer] {
        let addr = ensemble.client_addr(id);
        while four_letter(addr, "srvr").as_deref() != Some(NOT_SERVING) {
            assert!(
                Instant::now() < deadline,
                "member {id} still serves without a quorum: {:?}",
                four_letter(addr, "srvr")
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    let mut answers = BTreeMap::new();
    for (name, id) in [("voter", left), ("observer", observer)] {
        let addr = ensemble.client_addr(id);
        for word in WORDS {
            let answer = four_letter(addr, word).unwrap_or_else(|| panic!("{word} on {id}"));
            answers.insert((name, word), answer);
        }
        // A client is not served: no ConnectResponse, the connection closes.
        let reply = connect_reply(addr);
        assert!(
            reply.is_empty(),
            "{name} {id}: no byte of a ConnectResponse: {reply:?}"
        );
    }
    Seen { modes, answers }
}

/// Sends a ConnectRequest and returns every byte the server sends before it closes the
/// connection (it must close it within 5 s).
fn connect_reply(addr: std::net::SocketAddr) -> Vec<u8> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut frame = Vec::new();
    write_frame(&mut frame, |w| connect_request().encode(w));
    s.write_all(&frame).unwrap();
    let mut reply = Vec::new();
    match s.read_to_end(&mut reply) {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {}
        Err(e) => panic!("{addr}: the connection stays open: {e}"),
    }
    reply
}

fn check(seen: &Seen, flavor: &str) {
    let modes: Vec<Option<&str>> = seen.modes.values().map(|m| m.as_deref()).collect();
    assert_eq!(
        modes.iter().filter(|m| **m == Some("leader")).count(),
        1,
        "{flavor}: {modes:?}"
    );
    assert_eq!(
        modes.iter().filter(|m| **m == Some("follower")).count(),
        2,
        "{flavor}: {modes:?}"
    );
    assert_eq!(modes[3], Some("observer"), "{flavor}: {modes:?}");
    let mut wrong = Vec::new();
    for ((who, word), answer) in &seen.answers {
        let expected = match *word {
            "ruok" => "imok",
            "isro" => "null",
            // DigestCommand prints without a line end.
            "hash" => NOT_SERVING.trim_end(),
            _ => NOT_SERVING,
        };
        if answer != expected {
            wrong.push(format!("{word} on the {who}: {answer:?}, not {expected:?}"));
        }
    }
    assert!(wrong.is_empty(), "{flavor}:\n{}", wrong.join("\n"));
}

#[test]
fn members_report_their_mode_and_refuse_clients_without_a_quorum() {
    let seen = run(Flavor::ZkServer(zk_server_binary()));
    check(&seen, "zk-server");
}

#[test]
fn apache_zookeeper_3_8_members_answer_the_same() {
    let installed = if tests::apache_zk_installed() {
        Ok(())
    } else {
        Err("Debian's zookeeper package is not installed (scripts/deps installs it)")
    };
    if tests::require_peer(installed, "Apache ZooKeeper 3.8").is_none() {
        return;
    }
    let seen = run(Flavor::Apache);
    check(&seen, "Apache ZooKeeper 3.8");
}
