//! Chroot applied both ways, ACLs, digest authentication and the super user.

use tests::client_support::{within, TestServer};
use zk_client::{
    Acl, AddWatchMode, Client, CreateMode, CreateOptions, Error, EventType, Id, Perms,
    SessionState, Version,
};
use zk_core::auth::digest_id_for;

use super::{connect, CASE_LIMIT};

pub(crate) async fn chroot_applies_everywhere<S: TestServer>() {
    let server = S::start().await;
    within(CASE_LIMIT, "chroot", async {
        let root = connect(&server, "").await;
        root.create("/app", b"", CreateMode::Persistent)
            .await
            .unwrap();
        root.create("/apple", b"", CreateMode::Persistent)
            .await
            .unwrap();
        let c = connect(&server, "/app").await;
        assert_eq!(c.chroot(), Some("/app"));
        let (p, _) = c.create("/x", b"1", CreateMode::Persistent).await.unwrap();
        assert_eq!(p, "/x");
        assert_eq!(root.get_data("/app/x").await.unwrap().0, &b"1"[..]);
        let (p, _) = c
            .create("/x/s-", b"", CreateMode::EphemeralSequential)
            .await
            .unwrap();
        assert!(p.starts_with("/x/s-"), "{p}");
        assert_eq!(c.get_children("/").await.unwrap(), ["x"]);
        // Ephemerals: the prefix gets the chroot and results lose it; /apple's are left out.
        root.create("/apple/e", b"", CreateMode::Ephemeral)
            .await
            .unwrap();
        c.create("/e", b"", CreateMode::Ephemeral).await.unwrap();
        let mut eph = c.get_ephemerals("/").await.unwrap();
        eph.sort();
        assert_eq!(eph, ["/e".to_owned(), p.clone()]);
        assert_eq!(c.get_ephemerals("/x").await.unwrap(), vec![p.clone()]);
        // Watches report client paths.
        let (_, _, w) = c.get_data_and_watch("/x").await.unwrap();
        let mut rw = c
            .watch("/", AddWatchMode::PersistentRecursive)
            .await
            .unwrap();
        root.set_data("/app/x", b"2", Version::Any).await.unwrap();
        let e = w.await.unwrap();
        assert_eq!(
            (e.event_type, e.path.as_str()),
            (EventType::NodeDataChanged, "/x")
        );
        let e = rw.next_event().await.unwrap();
        assert_eq!(
            (e.event_type, e.path.as_str()),
            (EventType::NodeDataChanged, "/x")
        );
        // Multi results are client paths too.
        let res = c
            .multi()
            .create("/m", b"", CreateMode::Persistent)
            .commit()
            .await
            .unwrap();
        assert!(matches!(&res[0], zk_client::OpResult::Create { path, .. } if path == "/m"));
        assert!(root.exists("/app/m").await.unwrap().is_some());
        // The config node is outside any chroot.
        c.get_config().await.unwrap();
    })
    .await;
}

pub(crate) async fn acls_and_digest_auth<S: TestServer>() {
    let server = S::start().await;
    within(CASE_LIMIT, "acl and auth", async {
        let alice = Client::builder()
            .auth("digest", b"alice:secret".to_vec())
            .connect(&server.connect_string())
            .await
            .unwrap();
        let who = alice.who_am_i().await.unwrap();
        assert!(
            who.iter()
                .any(|i| i.auth_scheme == "digest" && i.user == "alice"),
            "{who:?}"
        );
        let alice_only = vec![Acl::new(
            Perms::ALL,
            Id::new("digest", digest_id_for("alice", "secret")),
        )];
        let opts = CreateOptions::new(CreateMode::Persistent).acl(alice_only.clone());
        alice.create_with("/secret", b"s", &opts).await.unwrap();
        // The "auth" scheme expands to the creator's ids.
        let creator = CreateOptions::new(CreateMode::Persistent).acl(Acl::creator_all());
        alice.create_with("/mine", b"", &creator).await.unwrap();
        let (acl, stat) = alice.get_acl("/mine").await.unwrap();
        assert_eq!(acl, alice_only);
        assert_eq!(stat.aversion, 0);

        let anon = connect(&server, "").await;
        assert_eq!(anon.get_data("/secret").await, Err(Error::NoAuth));
        assert_eq!(
            anon.set_data("/secret", b"x", Version::Any).await,
            Err(Error::NoAuth)
        );
        // An anonymous client without ADMIN sees the ACL only with READ; it has neither.
        assert_eq!(
            anon.get_acl("/secret").await.map(|_| ()),
            Err(Error::NoAuth)
        );
        anon.add_auth("digest", b"alice:secret").await.unwrap();
        assert_eq!(anon.get_data("/secret").await.unwrap().0, &b"s"[..]);

        // The super user bypasses every ACL.
        let root = Client::builder()
            .auth("digest", b"super:test".to_vec())
            .connect(&server.connect_string())
            .await
            .unwrap();
        assert_eq!(root.get_data("/secret").await.unwrap().0, &b"s"[..]);
        // setACL with a version: the ACL version moves, watches do not fire.
        let open = Acl::open_unsafe();
        assert_eq!(
            root.set_acl("/secret", &open, Version::Exact(3)).await,
            Err(Error::BadVersion)
        );
        let stat = root
            .set_acl("/secret", &open, Version::Exact(0))
            .await
            .unwrap();
        assert_eq!(stat.aversion, 1);
        let fresh = connect(&server, "").await;
        assert_eq!(fresh.get_data("/secret").await.unwrap().0, &b"s"[..]);
        // An invalid ACL is refused.
        let bad = CreateOptions::new(CreateMode::Persistent)
            .acl(vec![Acl::new(Perms::ALL, Id::new("digest", "no-colon"))]);
        assert_eq!(
            fresh.create_with("/bad", b"", &bad).await,
            Err(Error::InvalidAcl)
        );
        let none = CreateOptions::new(CreateMode::Persistent).acl(Acl::creator_all());
        assert_eq!(
            fresh.create_with("/bad", b"", &none).await,
            Err(Error::InvalidAcl)
        );
    })
    .await;
}

pub(crate) async fn refused_credentials_end_the_client<S: TestServer>() {
    let server = S::start().await;
    within(CASE_LIMIT, "auth failed", async {
        let c = connect(&server, "").await;
        let mut states = c.state_stream();
        assert_eq!(states.next_state().await, Some(SessionState::Connected));
        assert_eq!(
            c.add_auth("no-such-scheme", b"x").await,
            Err(Error::AuthFailed)
        );
        assert_eq!(states.next_state().await, Some(SessionState::AuthFailed));
        assert_eq!(states.next_state().await, None);
        assert_eq!(c.get_data("/").await, Err(Error::AuthFailed));
        let refused = Client::builder()
            .auth("no-such-scheme", b"x".to_vec())
            .connect(&server.connect_string())
            .await;
        assert_eq!(refused.map(|_| ()), Err(Error::AuthFailed));
    })
    .await;
}
