//! Core operations: create (every mode), get/set data, children, exists, delete, pipelining.

use std::time::Duration;

use tests::client_support::{within, TestServer};
use zk_client::{Bytes, CreateMode, CreateOptions, Error, Version};

use super::{connect, CASE_LIMIT};

pub(crate) async fn crud_and_stat<S: TestServer>() {
    let server = S::start().await;
    within(CASE_LIMIT, "crud", async {
        let c = connect(&server, "").await;
        assert!(c.session_id().0 != 0);
        let (path, stat) = c
            .create("/a", b"one", CreateMode::Persistent)
            .await
            .unwrap();
        assert_eq!(path, "/a");
        assert_eq!(stat.version, 0);
        assert_eq!(stat.data_length, 3);
        assert_eq!(
            c.create("/a", b"", CreateMode::Persistent).await,
            Err(Error::NodeExists)
        );
        assert_eq!(
            c.create("/x/y", b"", CreateMode::Persistent).await,
            Err(Error::NoNode)
        );
        let (data, st) = c.get_data("/a").await.unwrap();
        assert_eq!((&data[..], st.czxid), (&b"one"[..], stat.czxid));
        assert_eq!(
            c.set_data("/a", b"two", Version::Exact(5)).await,
            Err(Error::BadVersion)
        );
        let st2 = c.set_data("/a", b"two", Version::Exact(0)).await.unwrap();
        assert_eq!(st2.version, 1);
        assert!(c.last_zxid() >= st2.mzxid);
        assert_eq!(c.exists("/a").await.unwrap().map(|s| s.version), Some(1));
        assert_eq!(c.exists("/nope").await, Ok(None));
        assert_eq!(c.get_data("/nope").await, Err(Error::NoNode));
        c.create("/a/k1", b"", CreateMode::Persistent)
            .await
            .unwrap();
        c.create("/a/k2", b"", CreateMode::Persistent)
            .await
            .unwrap();
        let mut kids = c.get_children("/a").await.unwrap();
        kids.sort();
        assert_eq!(kids, ["k1", "k2"]);
        let (kids, st) = c.get_children_with_stat("/a").await.unwrap();
        assert_eq!((kids.len(), st.num_children), (2, 2));
        assert_eq!(c.get_all_children_number("/a").await, Ok(2));
        assert_eq!(c.delete("/a", Version::Any).await, Err(Error::NotEmpty));
        assert_eq!(
            c.delete("/a/k1", Version::Exact(3)).await,
            Err(Error::BadVersion)
        );
        c.delete("/a/k1", Version::Exact(0)).await.unwrap();
        c.delete("/a/k2", Version::Any).await.unwrap();
        c.delete("/a", Version::Any).await.unwrap();
        assert_eq!(c.delete("/a", Version::Any).await, Err(Error::NoNode));
        c.sync("/").await.unwrap();
        assert!(matches!(
            c.get_data("bad").await,
            Err(Error::InvalidPath(_))
        ));
        c.close().await.unwrap();
        assert_eq!(c.get_data("/").await, Err(Error::Closed));
    })
    .await;
}

pub(crate) async fn null_data_is_not_empty_data<S: TestServer>() {
    let server = S::start().await;
    within(CASE_LIMIT, "null data", async {
        let c = connect(&server, "").await;
        let null = CreateOptions::new(CreateMode::Persistent).null_data();
        c.create_with("/null", b"", &null).await.unwrap();
        c.create("/empty", b"", CreateMode::Persistent)
            .await
            .unwrap();
        assert!(matches!(
            c.create_with("/bad", b"x", &null).await,
            Err(Error::InvalidArgument(_))
        ));
        let (d, st) = c.get_data_nullable("/null").await.unwrap();
        assert_eq!((d, st.data_length), (None, 0));
        let (d, _) = c.get_data_nullable("/empty").await.unwrap();
        assert_eq!(d, Some(Bytes::new()));
        // The plain reads see both as empty.
        assert_eq!(c.get_data("/null").await.unwrap().0, &b""[..]);
        let (d, _, w) = c.get_data_nullable_and_watch("/null").await.unwrap();
        assert_eq!(d, None);
        c.set_data("/null", b"now", Version::Any).await.unwrap();
        within(Duration::from_secs(10), "the watch fires", w)
            .await
            .unwrap();
        let (d, _) = c.get_data_nullable("/null").await.unwrap();
        assert_eq!(d.as_deref(), Some(&b"now"[..]));
        // The system nodes hold empty data, not null.
        let (d, _) = c.get_data_nullable("/zookeeper").await.unwrap();
        assert_eq!(d, Some(Bytes::new()));
        c.close().await.unwrap();
    })
    .await;
}

pub(crate) async fn every_create_mode<S: TestServer>() {
    let server = S::start().await;
    within(CASE_LIMIT, "create modes", async {
        let c = connect(&server, "").await;
        c.create("/m", b"", CreateMode::Persistent).await.unwrap();
        let (p, st) = c.create("/m/e", b"", CreateMode::Ephemeral).await.unwrap();
        assert_eq!((p.as_str(), st.ephemeral_owner), ("/m/e", c.session_id()));
        let (p, _) = c
            .create("/m/s-", b"", CreateMode::PersistentSequential)
            .await
            .unwrap();
        assert!(
            p.starts_with("/m/s-") && p.len() == "/m/s-".len() + 10,
            "{p}"
        );
        let (p2, st) = c
            .create("/m/es-", b"", CreateMode::EphemeralSequential)
            .await
            .unwrap();
        assert!(p2.starts_with("/m/es-"), "{p2}");
        assert_eq!(st.ephemeral_owner, c.session_id());
        let (_, st) = c.create("/m/c", b"", CreateMode::Container).await.unwrap();
        assert_eq!(st.ephemeral_owner.0, 0);
        let ttl = CreateOptions::new(CreateMode::PersistentWithTtl).ttl(Duration::from_secs(60));
        let (p, _) = c.create_with("/m/t", b"", &ttl).await.unwrap();
        assert_eq!(p, "/m/t");
        let ttl_seq = CreateOptions::new(CreateMode::PersistentSequentialWithTtl)
            .ttl(Duration::from_secs(60));
        let (p, _) = c.create_with("/m/ts-", b"", &ttl_seq).await.unwrap();
        assert!(p.starts_with("/m/ts-"));
        assert!(matches!(
            c.create("/m/t2", b"", CreateMode::PersistentWithTtl).await,
            Err(Error::InvalidArgument(_))
        ));
        let mut eph = c.get_ephemerals("/").await.unwrap();
        eph.sort();
        assert_eq!(eph, ["/m/e".to_owned(), p2.clone()]);
        // A container is really a container: it goes once its last child is gone (the server
        // reaps every 60 s by default, so only check that it accepted the mode).
        c.create("/m/c/child", b"", CreateMode::Persistent)
            .await
            .unwrap();
    })
    .await;
}

pub(crate) async fn pipelined_requests_keep_call_order<S: TestServer>() {
    let server = S::start().await;
    within(CASE_LIMIT, "pipelining", async {
        let c = connect(&server, "").await;
        c.create("/p", b"0", CreateMode::Persistent).await.unwrap();
        // Futures are created in order and awaited in reverse: the order is fixed at call time.
        let mut futs = Vec::new();
        for i in 1..=200u32 {
            futs.push(c.set_data("/p", i.to_string().as_bytes(), Version::Exact(i as i32 - 1)));
        }
        let read = c.get_data("/p");
        for (i, f) in futs.into_iter().enumerate().rev() {
            assert_eq!(f.await.unwrap().version, i as i32 + 1);
        }
        assert_eq!(read.await.unwrap().0, &b"200"[..]);
    })
    .await;
}

pub(crate) async fn many_tasks_share_one_client<S: TestServer>() {
    let server = S::start().await;
    within(CASE_LIMIT, "concurrency", async {
        let c = connect(&server, "").await;
        c.create("/conc", b"", CreateMode::Persistent)
            .await
            .unwrap();
        c.create("/counter", b"0", CreateMode::Persistent)
            .await
            .unwrap();
        let mut tasks = Vec::new();
        for t in 0..32 {
            let c = c.clone();
            tasks.push(tokio::spawn(async move {
                for i in 0..25 {
                    let p = format!("/conc/t{t}-{i}");
                    c.create(&p, p.as_bytes(), CreateMode::Persistent)
                        .await
                        .unwrap();
                    assert_eq!(c.get_data(&p).await.unwrap().0, p.as_bytes());
                    c.delete(&p, Version::Exact(0)).await.unwrap();
                }
                // Optimistic increments: BadVersion means someone else won; read and retry.
                for _ in 0..5 {
                    loop {
                        let (data, stat) = c.get_data("/counter").await.unwrap();
                        let n: u32 = String::from_utf8(data.to_vec()).unwrap().parse().unwrap();
                        match c
                            .set_data(
                                "/counter",
                                (n + 1).to_string().as_bytes(),
                                Version::Exact(stat.version),
                            )
                            .await
                        {
                            Ok(_) => break,
                            Err(Error::BadVersion) => continue,
                            Err(e) => panic!("{e:?}"),
                        }
                    }
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(c.get_data("/counter").await.unwrap().0, &b"160"[..]);
        assert_eq!(c.get_all_children_number("/conc").await, Ok(0));
        assert_eq!(c.pending_requests(), 0);
    })
    .await;
}
