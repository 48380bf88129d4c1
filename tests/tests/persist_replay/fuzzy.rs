//! A randomized simulation of Apache ZooKeeper's fuzzy snapshots: the tree is serialized node by
//! node (each parent's child list taken when the parent is written, as `DataTree.serializeNode`
//! does) while transactions keep being applied between nodes. Recovery (that snapshot, then the
//! log after its zxid) must reach exactly the live tree: paths, data, stats, ACLs and digest.
//!
//! The snapshot is written with [`SnapshotWriter::node_with_acl`]: with an ACL map copied when
//! the snapshot starts (what Apache ZooKeeper does), a node whose ACL changes to a new list
//! during the snapshot references an id the map lacks, and replay cannot repair it (seed 4
//! showed it); a map derived from the nodes written always resolves.

use zk_core::data::Id;
use zk_core::Perms;
use zk_server::persist::{node_digest, SnapshotWriter};

use super::*;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// The next valid transaction for `live`, as a server's prepare step would build it.
fn next_txn(live: &ReplayTree, rng: &mut Rng, zxid: i64) -> TxnEntry {
    let names = [
        "/a", "/b", "/c", "/a/x", "/a/y", "/b/x", "/b/y", "/c/x", "/a/x/p", "/a/x/q",
    ];
    let acls = [
        Acl::open_unsafe(),
        Acl::read_unsafe(),
        vec![Acl::new(
            Perms::ALL,
            Id::new("ip", format!("10.0.0.{}", rng.below(3))),
        )],
    ];
    let session = SessionId(1 + rng.below(3) as i64);
    let path = names[rng.below(names.len() as u64) as usize];
    let parent = match path.rfind('/') {
        Some(0) => "/",
        Some(i) => &path[..i],
        None => "/",
    };
    let (t, body): (OpCode, Vec<u8>) = match (live.get(path), live.get(parent)) {
        (None, Some(p)) => {
            let create = CreateTxn {
                path: path.into(),
                data: (rng.below(4) > 0).then(|| Bytes::from(format!("d{zxid}"))),
                acl: acls[rng.below(3) as usize].clone(),
                ephemeral: rng.below(4) == 0
                    && path.matches('/').count() == 2
                    && path.ends_with('y'),
                parent_cversion: p.stat.cversion + 1,
            };
            let op = if rng.below(2) == 0 {
                OpCode::Create
            } else {
                OpCode::Create2
            };
            (op, create.to_bytes())
        }
        (Some(n), _) if n.children.is_empty() && rng.below(3) == 0 => {
            (OpCode::Delete, DeleteTxn { path: path.into() }.to_bytes())
        }
        (Some(n), _) if rng.below(2) == 0 => {
            let acl = SetAclTxn {
                path: path.into(),
                acl: acls[rng.below(3) as usize].clone(),
                version: n.stat.aversion + 1,
            };
            (OpCode::SetAcl, acl.to_bytes())
        }
        (Some(n), _) => {
            let set = SetDataTxn {
                path: path.into(),
                data: Some(Bytes::from(format!("v{zxid}"))),
                version: n.stat.version + 1,
            };
            (OpCode::SetData, set.to_bytes())
        }
        (None, None) => (OpCode::Error, ErrorTxn { err: -101 }.to_bytes()),
    };
    let (client, t, body) = if rng.below(25) == 0 {
        (
            session,
            OpCode::CloseSession,
            CloseSessionTxn::default().to_bytes(),
        )
    } else {
        (session, t, body)
    };
    let header = TxnHeader {
        client_id: client,
        cxid: 0,
        zxid: Zxid(zxid),
        time: zxid * 10,
        txn_type: t.as_i32(),
    };
    TxnEntry {
        header,
        record: body.into(),
        digest: None,
    }
}

#[test]
fn recovery_over_simulated_fuzzy_snapshots_reaches_the_live_tree() {
    for seed in 1..=80u64 {
        let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
        let dir = tempfile::tempdir().unwrap();
        let dirs = DataDirs::new(dir.path(), None);
        let mut live = ReplayTree::new();
        let mut log: Vec<TxnEntry> = Vec::new();
        let step = |live: &mut ReplayTree, log: &mut Vec<TxnEntry>, rng: &mut Rng| {
            let e = next_txn(live, rng, log.len() as i64 + 1);
            live.apply(&e).unwrap();
            log.push(e);
        };
        for _ in 0..(20 + rng.below(60)) {
            step(&mut live, &mut log, &mut rng);
        }
        // The fuzzy snapshot: named after the last zxid applied when it starts.
        let name = live.last_zxid;
        let mut w = SnapshotWriter::create(&dirs.snap_dir, name).unwrap();
        w.sessions(
            live.sessions
                .iter()
                .map(|(s, t)| (*s, *t))
                .collect::<Vec<_>>(),
        )
        .unwrap();
        let mut stack = vec!["/".to_string()];
        while let Some(path) = stack.pop() {
            if let Some(n) = live.get(&path) {
                let acl = live.acls.get(n.acl).unwrap();
                w.node_with_acl(&path, n.data.as_deref(), &acl, &n.stat)
                    .unwrap();
                let base = if path == "/" { "" } else { path.as_str() };
                stack.extend(n.children.iter().map(|c| format!("{base}/{c}")));
            }
            for _ in 0..rng.below(3) {
                step(&mut live, &mut log, &mut rng);
            }
        }
        w.finish(None).unwrap();
        for _ in 0..rng.below(30) {
            step(&mut live, &mut log, &mut rng);
        }
        write_log(&dirs.log_dir, &log);

        let rec = recover(&dirs).unwrap();
        let mut back = ReplayTree::from_snapshot(rec.snapshot.as_ref().unwrap()).unwrap();
        for t in &rec.txns {
            back.apply(t).unwrap();
        }
        assert_eq!(back.paths(), live.paths(), "seed {seed}");
        for p in live.paths() {
            assert_eq!(back.stat(&p), live.stat(&p), "seed {seed}: {p}");
            assert_eq!(
                back.get(&p).unwrap().data,
                live.get(&p).unwrap().data,
                "seed {seed}: {p}"
            );
            let acl = |t: &ReplayTree| t.acls.get(t.get(&p).unwrap().acl);
            assert_eq!(acl(&back), acl(&live), "seed {seed}: {p} acl");
        }
        assert_eq!(back.sessions, live.sessions, "seed {seed}");
        let full = |t: &ReplayTree| {
            t.paths().iter().fold(0i64, |acc, p| {
                let n = t.get(p).unwrap();
                acc.wrapping_add(node_digest(p, n.data.as_deref(), &n.stat))
            })
        };
        assert_eq!(
            full(&live),
            live.digest(),
            "seed {seed}: live digest kept up to date"
        );
        assert_eq!(
            full(&back),
            back.digest(),
            "seed {seed}: recovered digest kept up to date"
        );
        assert_eq!(back.digest(), live.digest(), "seed {seed}");
    }
}
