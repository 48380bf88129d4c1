//! Transactions and batched reads.

use tests::client_support::{within, TestServer};
use zk_client::{CreateMode, Error, OpResult, ReadResult, Version};

use super::{connect, CASE_LIMIT};

pub(crate) async fn multi_commits_all_or_nothing<S: TestServer>() {
    let server = S::start().await;
    within(CASE_LIMIT, "multi", async {
        let c = connect(&server, "").await;
        c.create("/t", b"0", CreateMode::Persistent).await.unwrap();
        let res = c
            .multi()
            .check("/t", Version::Exact(0))
            .create("/t/a", b"a", CreateMode::Persistent)
            .create("/t/s-", b"", CreateMode::PersistentSequential)
            .set_data("/t", b"1", Version::Exact(0))
            .delete("/t/a", Version::Any)
            .commit()
            .await
            .unwrap();
        assert_eq!(res.len(), 5);
        assert_eq!(res[0], OpResult::Check);
        assert!(matches!(&res[1], OpResult::Create { path, stat } if path == "/t/a" && stat.as_ref().is_none_or(|s| s.data_length == 1)), "{:?}", res[1]);
        assert!(matches!(&res[2], OpResult::Create { path, .. } if path.starts_with("/t/s-")));
        assert!(matches!(&res[3], OpResult::SetData(s) if s.version == 1));
        assert_eq!(res[4], OpResult::Delete);
        // A failing op: typed error with its index, nothing applied.
        let err = c
            .multi()
            .create("/t/b", b"", CreateMode::Persistent)
            .delete("/t/missing", Version::Any)
            .set_data("/t", b"2", Version::Any)
            .commit()
            .await
            .unwrap_err();
        assert_eq!(
            err,
            Error::MultiFailed {
                index: 1,
                source: Box::new(Error::NoNode)
            }
        );
        assert_eq!(err.code(), Some(zk_client::ErrorCode::NoNode));
        assert_eq!(c.exists("/t/b").await, Ok(None));
        // A failed version check is BadVersion at index 0: the fencing pattern.
        let err = c
            .multi()
            .check("/t", Version::Exact(0))
            .set_data("/t", b"3", Version::Any)
            .commit()
            .await
            .unwrap_err();
        assert!(matches!(err, Error::MultiFailed { index: 0, ref source } if **source == Error::BadVersion));
        assert_eq!(c.get_data("/t").await.unwrap().0, &b"1"[..]);
        // Invalid paths are refused before anything is sent; empty transactions succeed.
        assert!(matches!(
            c.multi().delete("bad", Version::Any).commit().await,
            Err(Error::InvalidPath(_))
        ));
        assert_eq!(c.multi().commit().await, Ok(vec![]));
    })
    .await;
}

pub(crate) async fn multi_read_answers_each_read<S: TestServer>() {
    let server = S::start().await;
    within(CASE_LIMIT, "multi_read", async {
        let c = connect(&server, "").await;
        c.create("/r", b"root", CreateMode::Persistent)
            .await
            .unwrap();
        c.create("/r/k", b"", CreateMode::Persistent).await.unwrap();
        let res = c
            .multi_read()
            .get_data("/r")
            .get_children("/r")
            .get_data("/missing")
            .run()
            .await
            .unwrap();
        assert!(
            matches!(&res[0], Ok(ReadResult::Data(d, s)) if d == &b"root"[..] && s.num_children == 1)
        );
        assert_eq!(res[1], Ok(ReadResult::Children(vec!["k".into()])));
        assert_eq!(res[2], Err(Error::NoNode));
    })
    .await;
}
