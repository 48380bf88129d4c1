//! Session expiry: decided by the client when no server is heard from for the session timeout
//! plus the grace, or reported by a server; either way once, and the client stays closed.

use std::time::{Duration, Instant};

use tests::client_support::{within, TcpProxy, TestServer};
use zk_client::{AddWatchMode, Client, CreateMode, Error, EventType, SessionState};

use super::{connect, expect_state, via_proxy, CASE_LIMIT};

pub(crate) async fn client_side_expiry_is_reported_once<S: TestServer>() {
    let server = S::start().await;
    within(CASE_LIMIT, "client-side expiry", async {
        let proxy = TcpProxy::start(server.addr()).await;
        // The smallest timeout a default server grants (2 ticks of 2 s), and a grace of 2 s
        // for an election that this standalone server never holds.
        let grace = Duration::from_secs(2);
        let c = Client::builder()
            .session_timeout(Duration::from_secs(4))
            .expiry_grace(grace)
            .connect(&proxy.addr().to_string())
            .await
            .unwrap();
        assert_eq!(c.session_timeout(), Duration::from_secs(4));
        c.create("/gone", b"", CreateMode::Ephemeral).await.unwrap();
        let (_, _, w) = c.get_data_and_watch("/gone").await.unwrap();
        let mut p = c
            .watch("/", AddWatchMode::PersistentRecursive)
            .await
            .unwrap();
        let other = connect(&server, "").await;
        let (_, deleted) = other.exists_and_watch("/gone").await.unwrap();
        let mut states = c.state_stream();
        expect_state(&mut states, SessionState::Connected).await;
        let start = Instant::now();
        proxy.partition(true);
        expect_state(&mut states, SessionState::Disconnected).await;
        expect_state(&mut states, SessionState::Expired).await;
        // Not before the session timeout plus the grace since the last frame heard (a ping
        // reply at most a third of the timeout before the partition).
        let elapsed = start.elapsed();
        let earliest = Duration::from_secs(4) * 2 / 3 + grace;
        assert!(
            elapsed >= earliest && elapsed < Duration::from_secs(10),
            "{elapsed:?}"
        );
        assert_eq!(
            states.next_state().await,
            None,
            "reported once, then the stream ends"
        );
        assert_eq!(c.state(), SessionState::Expired);
        assert_eq!(w.await, Err(Error::SessionExpired));
        assert_eq!(p.next_event().await, None);
        assert_eq!(c.get_data("/").await, Err(Error::SessionExpired));
        // The server expires it too: the ephemeral goes.
        let e = within(Duration::from_secs(20), "server-side expiry", deleted)
            .await
            .unwrap();
        assert_eq!(e.event_type, EventType::NodeDeleted);
        proxy.partition(false);
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(c.state(), SessionState::Expired, "the client stays closed");
    })
    .await;
}

pub(crate) async fn server_reported_expiry<S: TestServer>() {
    let server = S::start().await;
    within(CASE_LIMIT, "server-reported expiry", async {
        let proxy = TcpProxy::start(server.addr()).await;
        let c = via_proxy(&proxy, Duration::from_secs(20)).await;
        let (id, passwd) = (c.session_id(), c.session_password());
        let mut states = c.state_stream();
        expect_state(&mut states, SessionState::Connected).await;
        proxy.reject(true);
        proxy.cut();
        expect_state(&mut states, SessionState::Disconnected).await;
        // Another client resumes the live session, then closes it...
        let twin = Client::builder()
            .session(id, passwd.clone())
            .connect(&server.connect_string())
            .await
            .unwrap();
        assert_eq!(twin.session_id(), id);
        twin.create("/twin", b"", CreateMode::Ephemeral)
            .await
            .unwrap();
        twin.close().await.unwrap();
        // ...so resuming it again is refused with an "expired" answer,
        let late = Client::builder()
            .session(id, passwd)
            .connect(&server.connect_string())
            .await;
        assert_eq!(late.map(|_| ()), Err(Error::SessionExpired));
        // and the first client learns it from the server on its next connection, long
        // before its own 20 s expiry timer.
        proxy.reject(false);
        expect_state(&mut states, SessionState::Expired).await;
        assert_eq!(c.get_data("/").await, Err(Error::SessionExpired));
        let other = connect(&server, "").await;
        assert_eq!(other.exists("/twin").await, Ok(None));
    })
    .await;
}
