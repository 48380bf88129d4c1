//! Faults: a server restart with watches set, changes made while disconnected, a connection
//! cut in the middle of requests, failover between hosts, request timeouts.

use std::time::{Duration, Instant};

use tests::client_support::{within, TcpProxy, TestServer};
use zk_client::{AddWatchMode, Client, CreateMode, Error, EventType, SessionState, Version};

use super::{connect, expect_state, via_proxy, CASE_LIMIT};

const EVENT: Duration = Duration::from_secs(10);

pub(crate) async fn server_restart_rearms_every_watch<S: TestServer>() {
    let mut server = S::start().await;
    within(Duration::from_secs(120), "restart", async {
        let c = connect(&server, "").await;
        let id = c.session_id();
        for p in ["/w", "/w/d", "/w/p", "/w/r"] {
            c.create(p, b"", CreateMode::Persistent).await.unwrap();
        }
        let (_, _, dw) = c.get_data_and_watch("/w/d").await.unwrap();
        let (_, ew) = c.exists_and_watch("/w/missing").await.unwrap();
        let (_, _, cw) = c.get_children_and_watch("/w").await.unwrap();
        let mut pw = c.watch("/w/p", AddWatchMode::Persistent).await.unwrap();
        let mut rw = c
            .watch("/w/r", AddWatchMode::PersistentRecursive)
            .await
            .unwrap();
        let mut states = c.state_stream();
        expect_state(&mut states, SessionState::Connected).await;

        server.restart().await;
        expect_state(&mut states, SessionState::Disconnected).await;
        expect_state(&mut states, SessionState::Connected).await;
        assert_eq!(c.session_id(), id, "the session survived the restart");
        // SetWatches goes before any later request: after this round trip every watch is
        // armed again on the new connection.
        c.sync("/").await.unwrap();

        let other = connect(&server, "").await;
        other.set_data("/w/d", b"x", Version::Any).await.unwrap();
        other
            .create("/w/missing", b"", CreateMode::Persistent)
            .await
            .unwrap();
        other.set_data("/w/p", b"x", Version::Any).await.unwrap();
        other
            .create("/w/r/x", b"", CreateMode::Persistent)
            .await
            .unwrap();
        let e = within(EVENT, "data watch", dw).await.unwrap();
        assert_eq!(
            (e.event_type, e.path.as_str()),
            (EventType::NodeDataChanged, "/w/d")
        );
        let e = within(EVENT, "exist watch", ew).await.unwrap();
        assert_eq!(
            (e.event_type, e.path.as_str()),
            (EventType::NodeCreated, "/w/missing")
        );
        let e = within(EVENT, "child watch", cw).await.unwrap();
        assert_eq!(
            (e.event_type, e.path.as_str()),
            (EventType::NodeChildrenChanged, "/w")
        );
        let e = within(EVENT, "persistent", pw.next_event()).await.unwrap();
        assert_eq!(
            (e.event_type, e.path.as_str()),
            (EventType::NodeDataChanged, "/w/p")
        );
        let e = within(EVENT, "recursive", rw.next_event()).await.unwrap();
        assert_eq!(
            (e.event_type, e.path.as_str()),
            (EventType::NodeCreated, "/w/r/x")
        );
    })
    .await;
}

pub(crate) async fn changes_while_disconnected_still_fire<S: TestServer>() {
    let server = S::start().await;
    within(CASE_LIMIT, "catch-up on reconnect", async {
        let proxy = TcpProxy::start(server.addr()).await;
        let c = via_proxy(&proxy, Duration::from_secs(20)).await;
        let other = connect(&server, "").await;
        other
            .create("/n", b"", CreateMode::Persistent)
            .await
            .unwrap();
        other
            .create("/n/d", b"", CreateMode::Persistent)
            .await
            .unwrap();
        other
            .create("/n/gone", b"", CreateMode::Persistent)
            .await
            .unwrap();
        let (_, _, dw) = c.get_data_and_watch("/n/d").await.unwrap();
        let (_, _, gw) = c.get_data_and_watch("/n/gone").await.unwrap();
        let (_, ew) = c.exists_and_watch("/n/missing").await.unwrap();
        let (_, _, cw) = c.get_children_and_watch("/n").await.unwrap();
        let mut states = c.state_stream();
        expect_state(&mut states, SessionState::Connected).await;

        proxy.reject(true);
        proxy.cut();
        expect_state(&mut states, SessionState::Disconnected).await;
        // Made while the client cannot reach the server: a request queued now waits.
        let queued = c.get_data("/n/d");
        other.set_data("/n/d", b"x", Version::Any).await.unwrap();
        other.delete("/n/gone", Version::Any).await.unwrap();
        other
            .create("/n/missing", b"", CreateMode::Persistent)
            .await
            .unwrap();
        proxy.reject(false);
        expect_state(&mut states, SessionState::Connected).await;
        assert_eq!(queued.await.unwrap().0, &b"x"[..]);
        let pairs = [
            (
                within(EVENT, "data", dw).await.unwrap(),
                EventType::NodeDataChanged,
                "/n/d",
            ),
            (
                within(EVENT, "deleted", gw).await.unwrap(),
                EventType::NodeDeleted,
                "/n/gone",
            ),
            (
                within(EVENT, "exist", ew).await.unwrap(),
                EventType::NodeCreated,
                "/n/missing",
            ),
            (
                within(EVENT, "child", cw).await.unwrap(),
                EventType::NodeChildrenChanged,
                "/n",
            ),
        ];
        for (e, t, p) in pairs {
            assert_eq!((e.event_type, e.path.as_str()), (t, p));
        }
    })
    .await;
}

pub(crate) async fn connection_loss_mid_request<S: TestServer>() {
    let server = S::start().await;
    within(CASE_LIMIT, "connection loss", async {
        let proxy = TcpProxy::start(server.addr()).await;
        let c = via_proxy(&proxy, Duration::from_secs(20)).await;
        let id = c.session_id();
        c.create("/eph", b"", CreateMode::Ephemeral).await.unwrap();
        c.create("/loss", b"0", CreateMode::Persistent)
            .await
            .unwrap();
        let mut states = c.state_stream();
        expect_state(&mut states, SessionState::Connected).await;
        // The request leaves the client but no reply comes back before the cut: outcome unknown.
        proxy.partition(true);
        let lost = c.set_data("/loss", b"1", Version::Any);
        proxy.cut();
        proxy.partition(false);
        assert_eq!(lost.await, Err(Error::ConnectionLoss));
        expect_state(&mut states, SessionState::Disconnected).await;
        expect_state(&mut states, SessionState::Connected).await;
        assert_eq!(c.session_id(), id, "same session after the reconnect");
        assert!(
            c.exists("/eph").await.unwrap().is_some(),
            "ephemerals survive"
        );
        // Many requests in flight when the connection is cut: each either succeeded or failed
        // with ConnectionLoss, and the successes are exactly the versions that moved.
        let futs: Vec<_> = (0..200)
            .map(|_| c.set_data("/loss", b"x", Version::Any))
            .collect();
        proxy.cut();
        let mut ok = 0;
        for f in futs {
            match f.await {
                Ok(_) => ok += 1,
                Err(Error::ConnectionLoss) => {}
                Err(e) => panic!("unexpected {e:?}"),
            }
        }
        expect_state(&mut states, SessionState::Disconnected).await;
        expect_state(&mut states, SessionState::Connected).await;
        let version = c.get_data("/loss").await.unwrap().1.version;
        assert!(version >= ok, "{version} >= {ok}");
    })
    .await;
}

pub(crate) async fn failover_between_hosts_keeps_the_session<S: TestServer>() {
    let server = S::start().await;
    within(CASE_LIMIT, "multi-host failover", async {
        let p1 = TcpProxy::start(server.addr()).await;
        let p2 = TcpProxy::start(server.addr()).await;
        // A host with nothing listening is skipped.
        let dead = tests::ports::RefusedAddr::new();
        let cs = format!("{},{},{}", dead.addr(), p1.addr(), p2.addr());
        let c = Client::builder()
            .session_timeout(Duration::from_secs(20))
            .connect(&cs)
            .await
            .unwrap();
        let id = c.session_id();
        c.create("/f", b"", CreateMode::Ephemeral).await.unwrap();
        let mut states = c.state_stream();
        expect_state(&mut states, SessionState::Connected).await;
        for (down, up) in [(&p1, &p2), (&p2, &p1)] {
            down.reject(true);
            up.reject(false);
            p1.cut();
            p2.cut();
            expect_state(&mut states, SessionState::Disconnected).await;
            expect_state(&mut states, SessionState::Connected).await;
            assert_eq!(c.session_id(), id);
            assert!(c.exists("/f").await.unwrap().is_some());
        }
    })
    .await;
}

pub(crate) async fn request_timeout_fails_only_the_late_request<S: TestServer>() {
    let server = S::start().await;
    within(CASE_LIMIT, "request timeout", async {
        let proxy = TcpProxy::start(server.addr()).await;
        let c = Client::builder()
            .session_timeout(Duration::from_secs(20))
            .request_timeout(Duration::from_millis(300))
            .connect(&proxy.addr().to_string())
            .await
            .unwrap();
        c.create("/rt", b"0", CreateMode::Persistent).await.unwrap();
        proxy.partition(true);
        let start = Instant::now();
        assert_eq!(
            c.set_data("/rt", b"1", Version::Any).await,
            Err(Error::Timeout)
        );
        assert!(start.elapsed() < Duration::from_secs(2));
        proxy.partition(false);
        // The late reply is matched and dropped; the connection is still good.
        assert_eq!(c.get_data("/rt").await.unwrap().0, &b"1"[..]);
        assert_eq!(c.state(), SessionState::Connected);
    })
    .await;
}

pub(crate) async fn credentials_are_replayed_after_a_reconnect<S: TestServer>() {
    let server = S::start().await;
    within(CASE_LIMIT, "auth replay", async {
        let proxy = TcpProxy::start(server.addr()).await;
        let c = via_proxy(&proxy, Duration::from_secs(20)).await;
        c.add_auth("digest", b"bob:pw").await.unwrap();
        let bob_only = zk_client::CreateOptions::new(CreateMode::Persistent)
            .acl(zk_client::Acl::creator_all());
        c.create_with("/bob", b"b", &bob_only).await.unwrap();
        let mut states = c.state_stream();
        expect_state(&mut states, SessionState::Connected).await;
        proxy.cut();
        expect_state(&mut states, SessionState::Disconnected).await;
        expect_state(&mut states, SessionState::Connected).await;
        // The new connection carries bob's identity again.
        assert_eq!(c.get_data("/bob").await.unwrap().0, &b"b"[..]);
        let who = c.who_am_i().await.unwrap();
        assert!(
            who.iter()
                .any(|i| i.auth_scheme == "digest" && i.user == "bob"),
            "{who:?}"
        );
        let anon = connect(&server, "").await;
        assert_eq!(anon.get_data("/bob").await, Err(Error::NoAuth));
    })
    .await;
}
