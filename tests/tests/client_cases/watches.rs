//! Every watch kind: one-shot data, exist and child watches, persistent and
//! persistent-recursive watches, reference-counted removal, user removal.

use std::time::Duration;

use tests::client_support::{within, TestServer};
use zk_client::{AddWatchMode, CreateMode, Error, EventType, Version, WatchedEvent, WatcherType};

use super::{connect, CASE_LIMIT};

/// How long to wait for an event that must come.
const EVENT: Duration = Duration::from_secs(10);

fn ev(event_type: EventType, path: &str) -> (EventType, String) {
    (event_type, path.to_owned())
}

fn pair(e: WatchedEvent) -> (EventType, String) {
    (e.event_type, e.path)
}

pub(crate) async fn one_shot_watches_fire_once<S: TestServer>() {
    let server = S::start().await;
    within(CASE_LIMIT, "one-shot watches", async {
        let c = connect(&server, "").await;
        let other = connect(&server, "").await;
        c.create("/w", b"a", CreateMode::Persistent).await.unwrap();
        // Data watch: NodeDataChanged.
        let (data, _, w) = c.get_data_and_watch("/w").await.unwrap();
        assert_eq!(data, &b"a"[..]);
        other.set_data("/w", b"b", Version::Any).await.unwrap();
        let e = within(EVENT, "data watch", w).await.unwrap();
        assert_eq!(pair(e), ev(EventType::NodeDataChanged, "/w"));
        // Exist watch on a missing node: NodeCreated.
        let (stat, w) = c.exists_and_watch("/w/new").await.unwrap();
        assert_eq!(stat, None);
        other
            .create("/w/new", b"", CreateMode::Persistent)
            .await
            .unwrap();
        let e = within(EVENT, "exist watch", w).await.unwrap();
        assert_eq!(pair(e), ev(EventType::NodeCreated, "/w/new"));
        // Exists on an existing node is a data watch: NodeDeleted.
        let (stat, w) = c.exists_and_watch("/w/new").await.unwrap();
        assert!(stat.is_some());
        // Child watch: NodeChildrenChanged on the parent.
        let (kids, _, cw) = c.get_children_and_watch("/w").await.unwrap();
        assert_eq!(kids, ["new"]);
        other.delete("/w/new", Version::Any).await.unwrap();
        assert_eq!(
            pair(within(EVENT, "exists-data watch", w).await.unwrap()),
            ev(EventType::NodeDeleted, "/w/new")
        );
        assert_eq!(
            pair(within(EVENT, "child watch", cw).await.unwrap()),
            ev(EventType::NodeChildrenChanged, "/w")
        );
        // Two watches on one path share the server watch; both fire.
        let (_, _, w1) = c.get_data_and_watch("/w").await.unwrap();
        let (_, _, w2) = c.get_data_and_watch("/w").await.unwrap();
        other.delete("/w", Version::Any).await.unwrap();
        assert_eq!(
            within(EVENT, "w1", w1).await.unwrap().event_type,
            EventType::NodeDeleted
        );
        assert_eq!(
            within(EVENT, "w2", w2).await.unwrap().event_type,
            EventType::NodeDeleted
        );
        // A failed watch call sets nothing.
        assert!(matches!(
            c.get_data_and_watch("/w").await,
            Err(Error::NoNode)
        ));
        assert_eq!(
            c.check_watches("/w", WatcherType::Data).await,
            Err(Error::NoWatcher)
        );
    })
    .await;
}

pub(crate) async fn dropping_the_last_watch_removes_it<S: TestServer>() {
    let server = S::start().await;
    within(CASE_LIMIT, "watch removal", async {
        let c = connect(&server, "").await;
        c.create("/d", b"", CreateMode::Persistent).await.unwrap();
        let (_, _, w1) = c.get_data_and_watch("/d").await.unwrap();
        let (_, w2) = c.exists_and_watch("/d").await.unwrap();
        let (_, _, cw) = c.get_children_and_watch("/d").await.unwrap();
        c.check_watches("/d", WatcherType::Data).await.unwrap();
        c.check_watches("/d", WatcherType::Children).await.unwrap();
        drop(w1);
        // One data watcher is left: the server watch stays.
        c.check_watches("/d", WatcherType::Data).await.unwrap();
        drop(w2);
        assert_eq!(
            c.check_watches("/d", WatcherType::Data).await,
            Err(Error::NoWatcher)
        );
        c.check_watches("/d", WatcherType::Children).await.unwrap();
        drop(cw);
        assert_eq!(
            c.check_watches("/d", WatcherType::Children).await,
            Err(Error::NoWatcher)
        );
        // Persistent watches too (checked with Any: 3.8 knows only types 1-3).
        let p = c
            .watch("/d", AddWatchMode::PersistentRecursive)
            .await
            .unwrap();
        c.check_watches("/d", WatcherType::Any).await.unwrap();
        drop(p);
        assert_eq!(
            c.check_watches("/d", WatcherType::Any).await,
            Err(Error::NoWatcher)
        );
        // A watch future dropped before its reply leaves nothing on the server either.
        // The removal goes out when the reply comes, so wait for a round trip first.
        let fut = c.get_data_and_watch("/d");
        drop(fut);
        c.sync("/").await.unwrap();
        assert_eq!(
            c.check_watches("/d", WatcherType::Data).await,
            Err(Error::NoWatcher)
        );
    })
    .await;
}

pub(crate) async fn remove_watches_tells_the_watchers<S: TestServer>() {
    let server = S::start().await;
    within(CASE_LIMIT, "remove_watches", async {
        let c = connect(&server, "").await;
        c.create("/r", b"", CreateMode::Persistent).await.unwrap();
        let (_, _, w) = c.get_data_and_watch("/r").await.unwrap();
        let (_, _, cw) = c.get_children_and_watch("/r").await.unwrap();
        c.remove_watches("/r", WatcherType::Data).await.unwrap();
        assert_eq!(w.await.unwrap().event_type, EventType::DataWatchRemoved);
        c.remove_watches("/r", WatcherType::Any).await.unwrap();
        assert_eq!(cw.await.unwrap().event_type, EventType::ChildWatchRemoved);
        assert_eq!(
            c.remove_watches("/r", WatcherType::Any).await,
            Err(Error::NoWatcher)
        );
        let mut p = c.watch("/r", AddWatchMode::Persistent).await.unwrap();
        c.remove_watches("/r", WatcherType::Any).await.unwrap();
        assert_eq!(
            p.next_event().await.map(|e| e.event_type),
            Some(EventType::PersistentWatchRemoved)
        );
        assert_eq!(p.next_event().await, None, "the stream ends");
    })
    .await;
}

pub(crate) async fn persistent_watches_stream_events<S: TestServer>() {
    let server = S::start().await;
    within(CASE_LIMIT, "persistent watches", async {
        // Apache ZooKeeper 3.8 keeps one watch mode per connection and path, so the two
        // kinds on the same path use two sessions.
        let c = connect(&server, "").await;
        let c2 = connect(&server, "").await;
        let other = connect(&server, "").await;
        let mut p = c.watch("/p", AddWatchMode::Persistent).await.unwrap();
        let mut r = c2
            .watch("/p", AddWatchMode::PersistentRecursive)
            .await
            .unwrap();
        other
            .create("/p", b"", CreateMode::Persistent)
            .await
            .unwrap();
        other
            .create("/p/a", b"", CreateMode::Persistent)
            .await
            .unwrap();
        other
            .create("/p/a/b", b"", CreateMode::Persistent)
            .await
            .unwrap();
        other.set_data("/p/a/b", b"x", Version::Any).await.unwrap();
        other.set_data("/p", b"x", Version::Any).await.unwrap();
        other.delete("/p/a/b", Version::Any).await.unwrap();
        other.delete("/p/a", Version::Any).await.unwrap();
        other.delete("/p", Version::Any).await.unwrap();
        let mut got_p = Vec::new();
        for _ in 0..5 {
            got_p.push(pair(
                within(EVENT, "persistent", p.next_event()).await.unwrap(),
            ));
        }
        assert_eq!(
            got_p,
            [
                ev(EventType::NodeCreated, "/p"),
                ev(EventType::NodeChildrenChanged, "/p"),
                ev(EventType::NodeDataChanged, "/p"),
                ev(EventType::NodeChildrenChanged, "/p"),
                ev(EventType::NodeDeleted, "/p"),
            ]
        );
        let mut got_r = Vec::new();
        for _ in 0..7 {
            got_r.push(pair(
                within(EVENT, "recursive", r.next_event()).await.unwrap(),
            ));
        }
        assert_eq!(
            got_r,
            [
                ev(EventType::NodeCreated, "/p"),
                ev(EventType::NodeCreated, "/p/a"),
                ev(EventType::NodeCreated, "/p/a/b"),
                ev(EventType::NodeDataChanged, "/p/a/b"),
                ev(EventType::NodeDataChanged, "/p"),
                ev(EventType::NodeDeleted, "/p/a/b"),
                ev(EventType::NodeDeleted, "/p/a"),
            ]
        );
        assert_eq!(
            pair(within(EVENT, "recursive", r.next_event()).await.unwrap()),
            ev(EventType::NodeDeleted, "/p")
        );
        // The watch outlives the node: it fires again on re-creation.
        other
            .create("/p", b"", CreateMode::Persistent)
            .await
            .unwrap();
        assert_eq!(
            pair(
                within(EVENT, "persistent again", p.next_event())
                    .await
                    .unwrap()
            ),
            ev(EventType::NodeCreated, "/p")
        );
    })
    .await;
}

pub(crate) async fn many_watches_rearm_in_batches<S: TestServer>() {
    let server = S::start().await;
    within(CASE_LIMIT, "re-arm in batches", async {
        let proxy = tests::client_support::TcpProxy::start(server.addr()).await;
        let c = super::via_proxy(&proxy, Duration::from_secs(20)).await;
        let other = connect(&server, "").await;
        other
            .create("/big", b"", CreateMode::Persistent)
            .await
            .unwrap();
        // 1500 exist watches of ~100-byte paths: about 150 KB of paths, more than one
        // SetWatches frame.
        let name = |i: usize| format!("/big/{}-{i:05}", "n".repeat(90));
        let futs: Vec<_> = (0..1500).map(|i| c.exists_and_watch(&name(i))).collect();
        let mut watches = Vec::new();
        for f in futs {
            let (stat, w) = f.await.unwrap();
            assert!(stat.is_none());
            watches.push(w);
        }
        let mut states = c.state_stream();
        super::expect_state(&mut states, zk_client::SessionState::Connected).await;
        proxy.reject(true);
        proxy.cut();
        super::expect_state(&mut states, zk_client::SessionState::Disconnected).await;
        // One node appears while the client is away; the re-arm reports it.
        other
            .create(&name(7), b"", CreateMode::Persistent)
            .await
            .unwrap();
        proxy.reject(false);
        super::expect_state(&mut states, zk_client::SessionState::Connected).await;
        c.sync("/").await.unwrap();
        // One in the second half (second batch) appears after the reconnect.
        other
            .create(&name(1400), b"", CreateMode::Persistent)
            .await
            .unwrap();
        let w1400 = watches.remove(1400);
        let w7 = watches.remove(7);
        for (w, i) in [(w7, 7), (w1400, 1400)] {
            let e = within(EVENT, "re-armed exist watch", w).await.unwrap();
            assert_eq!(pair(e), ev(EventType::NodeCreated, &name(i)));
        }
        // Every other watch is still armed on the server.
        c.check_watches(&name(1499), WatcherType::Data)
            .await
            .unwrap();
        c.check_watches(&name(0), WatcherType::Data).await.unwrap();
    })
    .await;
}

pub(crate) async fn dropping_a_persistent_watch_beside_a_standard_one<S: TestServer>() {
    let server = S::start().await;
    within(CASE_LIMIT, "mixed removal", async {
        let c = connect(&server, "").await;
        let other = connect(&server, "").await;
        c.create("/x", b"", CreateMode::Persistent).await.unwrap();
        let p = c.watch("/x", AddWatchMode::Persistent).await.unwrap();
        let (_, _, cw) = c.get_children_and_watch("/x").await.unwrap();
        let mut states = c.state_stream();
        // Removing only the persistent watch needs type 4 (3.9+); an older server refuses it,
        // which must not hurt the connection or the standard watch.
        drop(p);
        c.sync("/").await.unwrap();
        assert_eq!(
            states.next_state().await,
            Some(zk_client::SessionState::Connected)
        );
        other
            .create("/x/k", b"", CreateMode::Persistent)
            .await
            .unwrap();
        let e = within(EVENT, "child watch", cw).await.unwrap();
        assert_eq!(pair(e), ev(EventType::NodeChildrenChanged, "/x"));
        assert_eq!(c.state(), zk_client::SessionState::Connected);
    })
    .await;
}
