//! The embedded ensemble's members as the network sees them: only the leader listens on its
//! quorum port (as Apache ZooKeeper's `Leader` binds it only while it leads, so a learner
//! that comes too early is refused and tries again rather than being accepted and dropped),
//! observers observe, and a killed member's ports are all closed when `kill` returns, so it
//! restarts on them at once.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::Duration;

use zk_server::embedded::Ensemble;
use zk_server::quorum::ServerState;

const READY: Duration = Duration::from_secs(30);

fn accepts(addr: SocketAddr) -> bool {
    TcpStream::connect_timeout(&addr, Duration::from_secs(2)).is_ok()
}

/// The leader's quorum port accepts; every other member's refuses.
fn check_quorum_ports(ensemble: &Ensemble, leader: i64) {
    for id in ensemble.ids() {
        let addr = ensemble.quorum_addr(id);
        if id == leader {
            assert!(accepts(addr), "the leader {id} listens on {addr}");
        } else if ensemble.is_running(id) {
            let err = TcpStream::connect_timeout(&addr, Duration::from_secs(2))
                .expect_err(&format!("member {id} does not lead: {addr} refuses"));
            assert_eq!(err.kind(), std::io::ErrorKind::ConnectionRefused, "{id}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_leader_listens_on_its_quorum_port() {
    let mut ensemble = Ensemble::builder()
        .voters(3)
        .observers(1)
        .start()
        .await
        .unwrap();
    let leader = ensemble.ready_all(READY).await.unwrap();
    assert_eq!(ensemble.voters(), vec![1, 2, 3]);
    assert_eq!(ensemble.observers(), vec![4]);
    assert_eq!(ensemble.role(4), Some(ServerState::Observing));
    check_quorum_ports(&ensemble, leader);

    ensemble.kill(leader).await.unwrap();
    let next = ensemble.ready_all(READY).await.unwrap();
    assert_ne!(next, leader);
    check_quorum_ports(&ensemble, next);
    assert_eq!(ensemble.role(4), Some(ServerState::Observing));
    ensemble.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_member_closes_its_ports_and_restarts_on_them() {
    let mut ensemble = Ensemble::builder().voters(3).start().await.unwrap();
    let leader = ensemble.ready_all(READY).await.unwrap();
    let follower = ensemble.ids().into_iter().find(|id| *id != leader).unwrap();
    for id in [follower, leader] {
        ensemble.kill(id).await.unwrap();
        assert_eq!(ensemble.status(id), None);
        assert!(ensemble.kill(id).await.is_err(), "not running");
        for addr in [
            ensemble.client_addr(id),
            ensemble.quorum_addr(id),
            ensemble.election_addr(id),
        ] {
            // Bound and dropped at once: only a check that nothing holds the port.
            TcpListener::bind(addr).unwrap_or_else(|e| panic!("{addr} of {id} still held: {e}"));
        }
    }
    // One voter of three is left: no quorum until another comes back.
    assert!(ensemble.ready(Duration::from_millis(500)).await.is_err());
    ensemble.restart(follower).await.unwrap();
    ensemble.ready(READY).await.unwrap();
    ensemble.restart(leader).await.unwrap();
    assert!(ensemble.restart(leader).await.is_err(), "already running");
    let now = ensemble.ready_all(READY).await.unwrap();
    assert!(ensemble
        .ids()
        .iter()
        .all(|id| ensemble.status(*id).unwrap().serving));
    ensemble.stop(now).await.unwrap();
    ensemble.ready(READY).await.unwrap();
    ensemble.shutdown().await;
}
