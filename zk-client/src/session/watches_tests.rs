//! Unit tests of the watch registry.

use super::*;
use tokio::sync::{mpsc, oneshot};

fn oneshot_sink() -> (Sink, oneshot::Receiver<Result<WatchedEvent, Error>>) {
    let (tx, rx) = oneshot::channel();
    (Sink::Oneshot(tx), rx)
}

fn stream_sink() -> (Sink, mpsc::UnboundedReceiver<WatchedEvent>) {
    let (tx, rx) = mpsc::unbounded_channel();
    (Sink::Stream(tx), rx)
}

fn armed(reg: &mut WatchRegistry, path: &str, kind: WatchKind, sink: Sink) -> WatcherId {
    let id = reg.add_pending(path.into(), kind, sink);
    assert_eq!(reg.registered(id, ErrorCode::Ok, false, path, kind), None);
    id
}

#[test]
fn data_event_fires_data_and_exist_once_and_strips_chroot() {
    let mut reg = WatchRegistry::new(Chroot::new("/app").unwrap());
    let (s1, mut r1) = oneshot_sink();
    let (s2, mut r2) = oneshot_sink();
    armed(&mut reg, "/app/a", WatchKind::Data, s1);
    let id2 = reg.add_pending("/app/a".into(), WatchKind::Exist, s2);
    reg.registered(id2, ErrorCode::NoNode, true, "/app/a", WatchKind::Exist);
    reg.dispatch(EventType::NodeDataChanged, "/app/a");
    let e1 = r1.try_recv().unwrap().unwrap();
    assert_eq!(e1.path, "/a");
    assert_eq!(e1.event_type, EventType::NodeDataChanged);
    assert!(r2.try_recv().unwrap().is_ok());
    assert_eq!(reg.len(), 0);
    // Fired one-shots leave nothing to remove on the server.
    assert!(reg.paths.is_empty());
}

#[test]
fn pending_watchers_do_not_fire() {
    let mut reg = WatchRegistry::default();
    let (s, mut r) = oneshot_sink();
    let id = reg.add_pending("/a".into(), WatchKind::Data, s);
    reg.dispatch(EventType::NodeDataChanged, "/a");
    assert!(r.try_recv().is_err());
    reg.registered(id, ErrorCode::Ok, false, "/a", WatchKind::Data);
    reg.dispatch(EventType::NodeDeleted, "/a");
    assert_eq!(
        r.try_recv().unwrap().unwrap().event_type,
        EventType::NodeDeleted
    );
}

#[test]
fn recursive_watch_sees_descendants_but_not_child_events() {
    let mut reg = WatchRegistry::default();
    let (s, mut r) = stream_sink();
    armed(&mut reg, "/a", WatchKind::PersistentRecursive, s);
    reg.dispatch(EventType::NodeCreated, "/a/b/c");
    reg.dispatch(EventType::NodeChildrenChanged, "/a");
    reg.dispatch(EventType::NodeDeleted, "/a");
    reg.dispatch(EventType::NodeCreated, "/ab");
    let got: Vec<(EventType, String)> = std::iter::from_fn(|| r.try_recv().ok())
        .map(|e| (e.event_type, e.path))
        .collect();
    assert_eq!(
        got,
        [
            (EventType::NodeCreated, "/a/b/c".to_owned()),
            (EventType::NodeDeleted, "/a".to_owned())
        ]
    );
}

#[test]
fn persistent_watch_sees_every_event_of_its_node() {
    let mut reg = WatchRegistry::default();
    let (s, mut r) = stream_sink();
    armed(&mut reg, "/a", WatchKind::Persistent, s);
    for t in [
        EventType::NodeCreated,
        EventType::NodeChildrenChanged,
        EventType::NodeDataChanged,
        EventType::NodeDeleted,
    ] {
        reg.dispatch(t, "/a");
        assert_eq!(r.try_recv().unwrap().event_type, t);
    }
    reg.dispatch(EventType::NodeCreated, "/a/b");
    assert!(r.try_recv().is_err());
}

#[test]
fn removal_only_for_the_last_watcher_of_a_server_table() {
    let mut reg = WatchRegistry::default();
    let (s1, _r1) = oneshot_sink();
    let (s2, _r2) = oneshot_sink();
    let (s3, _r3) = oneshot_sink();
    let a = armed(&mut reg, "/a", WatchKind::Data, s1);
    let b = reg.add_pending("/a".into(), WatchKind::Exist, s2);
    reg.registered(b, ErrorCode::NoNode, true, "/a", WatchKind::Exist);
    let c = armed(&mut reg, "/a", WatchKind::Child, s3);
    assert_eq!(
        reg.dropped(a),
        None,
        "the exist watch shares the data table"
    );
    assert_eq!(reg.dropped(b), Some(("/a".into(), WatcherType::Data)));
    assert_eq!(reg.dropped(c), Some(("/a".into(), WatcherType::Children)));
    assert_eq!(reg.dropped(c), None);
    assert!(reg.paths.is_empty());
}

#[test]
fn a_pending_registration_keeps_the_server_watch() {
    let mut reg = WatchRegistry::default();
    let (s1, _r1) = oneshot_sink();
    let (s2, _r2) = oneshot_sink();
    let a = armed(&mut reg, "/a", WatchKind::Data, s1);
    let b = reg.add_pending("/a".into(), WatchKind::Data, s2);
    assert_eq!(reg.dropped(a), None);
    // The new registration fails (the node is gone): the old server watch must go.
    assert_eq!(
        reg.registered(b, ErrorCode::NoNode, false, "/a", WatchKind::Data),
        None
    );
    assert_eq!(reg.len(), 0);
    // Dropped before its reply: the reply arms a watch nobody wants.
    let (s3, _r3) = oneshot_sink();
    let c = reg.add_pending("/b".into(), WatchKind::Child, s3);
    assert_eq!(reg.dropped(c), None);
    assert_eq!(
        reg.registered(c, ErrorCode::Ok, false, "/b", WatchKind::Child),
        Some(("/b".into(), WatcherType::Children))
    );
}

#[test]
fn persistent_removal_uses_any_when_alone() {
    let mut reg = WatchRegistry::default();
    let (s1, _r1) = stream_sink();
    let (s2, _r2) = stream_sink();
    let (s3, _r3) = oneshot_sink();
    let p = armed(&mut reg, "/a", WatchKind::Persistent, s1);
    let r = armed(&mut reg, "/a", WatchKind::PersistentRecursive, s2);
    let d = armed(&mut reg, "/a", WatchKind::Data, s3);
    assert_eq!(reg.dropped(p), Some(("/a".into(), WatcherType::Persistent)));
    // A standard watch sharing the path with a persistent one stays on the server.
    assert_eq!(reg.dropped(d), None);
    assert_eq!(reg.dropped(r), Some(("/a".into(), WatcherType::Any)));
}

#[test]
fn rearm_lists_every_armed_kind_and_terminate_ends_all() {
    let mut reg = WatchRegistry::default();
    let (s1, mut r1) = oneshot_sink();
    let (s2, mut r2) = stream_sink();
    let (s3, _r3) = oneshot_sink();
    armed(&mut reg, "/a", WatchKind::Data, s1);
    armed(&mut reg, "/b", WatchKind::PersistentRecursive, s2);
    reg.add_pending("/c".into(), WatchKind::Child, s3);
    reg.connection_lost();
    let lists = reg.rearm_lists();
    assert_eq!(lists.data, ["/a"]);
    assert_eq!(lists.persistent_recursive, ["/b"]);
    assert!(lists.child.is_empty(), "pending watches are not re-armed");
    reg.terminate(&Error::SessionExpired);
    assert_eq!(r1.try_recv().unwrap(), Err(Error::SessionExpired));
    assert!(matches!(
        r2.try_recv(),
        Err(mpsc::error::TryRecvError::Disconnected)
    ));
}

#[test]
fn user_removal_tells_the_watchers() {
    let mut reg = WatchRegistry::default();
    let (s1, mut r1) = oneshot_sink();
    let (s2, mut r2) = stream_sink();
    armed(&mut reg, "/a", WatchKind::Child, s1);
    armed(&mut reg, "/a", WatchKind::Persistent, s2);
    reg.removed_by_user("/a", WatcherType::Children);
    assert_eq!(
        r1.try_recv().unwrap().unwrap().event_type,
        EventType::ChildWatchRemoved
    );
    assert!(r2.try_recv().is_err());
    reg.removed_by_user("/a", WatcherType::Any);
    assert_eq!(
        r2.try_recv().unwrap().event_type,
        EventType::PersistentWatchRemoved
    );
    assert!(reg.paths.is_empty());
}

#[test]
fn config_watch_keeps_its_path_under_a_chroot() {
    // Under the chroot /app the config node is outside the chroot: its path is unchanged
    // either way.
    let mut reg = WatchRegistry::new(Chroot::new("/app").unwrap());
    let (s, mut r) = oneshot_sink();
    let id = reg.add_pending_unchrooted("/zookeeper/config".into(), WatchKind::Data, s);
    reg.registered(
        id,
        ErrorCode::Ok,
        false,
        "/zookeeper/config",
        WatchKind::Data,
    );
    assert_eq!(reg.rearm_lists().data, ["/zookeeper/config"]);
    reg.dispatch(EventType::NodeDataChanged, "/zookeeper/config");
    let e = r.try_recv().unwrap().unwrap();
    assert_eq!(e.path, "/zookeeper/config");
    assert_eq!(e.event_type, EventType::NodeDataChanged);
}

#[test]
fn config_watch_under_the_zookeeper_chroot_is_not_stripped() {
    // Under the chroot /zookeeper, `get_data("/config")` and `get_config` watch the same
    // server node; each hears of the path it asked for.
    let mut reg = WatchRegistry::new(Chroot::new("/zookeeper").unwrap());
    let (s1, mut config) = oneshot_sink();
    let (s2, mut data) = oneshot_sink();
    let id = reg.add_pending_unchrooted("/zookeeper/config".into(), WatchKind::Data, s1);
    reg.registered(
        id,
        ErrorCode::Ok,
        false,
        "/zookeeper/config",
        WatchKind::Data,
    );
    armed(&mut reg, "/zookeeper/config", WatchKind::Data, s2);
    reg.dispatch(EventType::NodeDataChanged, "/zookeeper/config");
    assert_eq!(
        config.try_recv().unwrap().unwrap().path,
        "/zookeeper/config"
    );
    assert_eq!(data.try_recv().unwrap().unwrap().path, "/config");
    assert!(reg.paths.is_empty());
}

#[test]
fn removed_config_watch_reports_its_own_path() {
    let mut reg = WatchRegistry::new(Chroot::new("/zookeeper").unwrap());
    let (s, mut r) = oneshot_sink();
    let id = reg.add_pending_unchrooted("/zookeeper/config".into(), WatchKind::Data, s);
    reg.registered(
        id,
        ErrorCode::Ok,
        false,
        "/zookeeper/config",
        WatchKind::Data,
    );
    reg.removed_by_user("/zookeeper/config", WatcherType::Data);
    let e = r.try_recv().unwrap().unwrap();
    assert_eq!(e.event_type, EventType::DataWatchRemoved);
    assert_eq!(e.path, "/zookeeper/config");
}
