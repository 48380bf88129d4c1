//! Re-arming watches on a new connection: the SetWatches / SetWatches2 requests that carry
//! every registered watch, split so that each carries less than 128 KiB of paths.

use zk_core::message::Request;
use zk_core::proto::{SetWatches, SetWatches2};
use zk_core::Zxid;

/// The most path bytes one SetWatches frame carries (Apache ZooKeeper's
/// `SET_WATCHES_MAX_LENGTH`).
pub(crate) const SET_WATCHES_MAX_PATH_BYTES: usize = 128 * 1024;

/// The watches to re-arm, by kind, as server paths (chroot included).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct WatchLists {
    pub(crate) data: Vec<String>,
    pub(crate) exist: Vec<String>,
    pub(crate) child: Vec<String>,
    pub(crate) persistent: Vec<String>,
    pub(crate) persistent_recursive: Vec<String>,
}

impl WatchLists {
    pub(crate) fn is_empty(&self) -> bool {
        self.data.is_empty()
            && self.exist.is_empty()
            && self.child.is_empty()
            && self.persistent.is_empty()
            && self.persistent_recursive.is_empty()
    }
}

/// The requests that re-arm `lists` relative to `relative_zxid`: in the order data, exist,
/// child, persistent, persistent-recursive; SetWatches (101) for a batch without persistent
/// paths, so that servers before 3.6 understand it, SetWatches2 (105) otherwise.
pub(crate) fn set_watches_requests(relative_zxid: Zxid, lists: WatchLists) -> Vec<Request> {
    let mut out = Vec::new();
    let mut batch = WatchLists::default();
    let mut bytes = 0usize;
    let kinds: [(usize, Vec<String>); 5] = [
        (0, lists.data),
        (1, lists.exist),
        (2, lists.child),
        (3, lists.persistent),
        (4, lists.persistent_recursive),
    ];
    for (kind, paths) in kinds {
        for path in paths {
            if bytes + path.len() > SET_WATCHES_MAX_PATH_BYTES && !batch.is_empty() {
                out.push(to_request(relative_zxid, std::mem::take(&mut batch)));
                bytes = 0;
            }
            bytes += path.len();
            match kind {
                0 => batch.data.push(path),
                1 => batch.exist.push(path),
                2 => batch.child.push(path),
                3 => batch.persistent.push(path),
                _ => batch.persistent_recursive.push(path),
            }
        }
    }
    if !batch.is_empty() {
        out.push(to_request(relative_zxid, batch));
    }
    out
}

fn to_request(relative_zxid: Zxid, b: WatchLists) -> Request {
    if b.persistent.is_empty() && b.persistent_recursive.is_empty() {
        Request::SetWatches(SetWatches {
            relative_zxid,
            data_watches: b.data,
            exist_watches: b.exist,
            child_watches: b.child,
        })
    } else {
        Request::SetWatches2(SetWatches2 {
            relative_zxid,
            data_watches: b.data,
            exist_watches: b.exist,
            child_watches: b.child,
            persistent_watches: b.persistent,
            persistent_recursive_watches: b.persistent_recursive,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use zk_core::jute::Encode;

    #[test]
    fn small_lists_without_persistent_use_set_watches() {
        let lists = WatchLists {
            data: vec!["/a".into()],
            exist: vec!["/b".into()],
            child: vec!["/c".into()],
            ..Default::default()
        };
        let reqs = set_watches_requests(Zxid(7), lists);
        assert_eq!(reqs.len(), 1);
        assert!(matches!(&reqs[0], Request::SetWatches(s) if s.relative_zxid == Zxid(7)));
    }

    #[test]
    fn golden_set_watches_from_the_java_client_tour() {
        // connection 2 of zookeeper-3.8-java-client-tour.txt: the Java client's SetWatches.
        let lists = WatchLists {
            data: vec!["/tour/p2".into()],
            exist: vec!["/tour/later".into()],
            child: vec!["/tour/p2".into(), "/tour".into()],
            ..Default::default()
        };
        let reqs = set_watches_requests(Zxid(0x13), lists);
        let body = hex::encode(reqs[0].to_bytes());
        assert_eq!(
            body,
            "0000000000000013\
             00000001000000082f746f75722f7032\
             000000010000000b2f746f75722f6c61746572\
             00000002000000082f746f75722f7032000000052f746f7572"
        );
    }

    #[test]
    fn persistent_watches_use_set_watches2_and_big_lists_split() {
        let path = format!("/{}", "x".repeat(999)); // 1000 bytes
        let lists = WatchLists {
            data: vec![path.clone(); 200],
            persistent_recursive: vec!["/r".into()],
            ..Default::default()
        };
        let reqs = set_watches_requests(Zxid(1), lists);
        assert_eq!(reqs.len(), 2);
        let Request::SetWatches(first) = &reqs[0] else {
            panic!("first batch has only data watches: {:?}", reqs[0].op_code());
        };
        assert_eq!(first.data_watches.len(), 131);
        let total: usize = first.data_watches.iter().map(String::len).sum();
        assert!(total <= SET_WATCHES_MAX_PATH_BYTES);
        let Request::SetWatches2(second) = &reqs[1] else {
            panic!("second batch carries the persistent-recursive watch");
        };
        assert_eq!(second.data_watches.len(), 69);
        assert_eq!(second.persistent_recursive_watches, ["/r"]);
    }
}
