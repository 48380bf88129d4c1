//! Transactions generated the way a server would build them, with the expected tree kept up
//! to date (and the digest after each), for the tests that hand zk-server's files to Apache
//! ZooKeeper.

use bytes::Bytes;
use tests::replay::ReplayTree;
use zk_core::data::{Acl, Id};
use zk_core::jute::Encode;
use zk_core::txn::*;
use zk_core::{OpCode, Perms, SessionId, Zxid};
use zk_server::persist::DIGEST_VERSION;

/// Generates transactions the way a server would, keeping the expected tree up to date.
pub(crate) struct Gen {
    pub(crate) tree: ReplayTree,
    pub(crate) entries: Vec<TxnEntry>,
    time: i64,
}

impl Gen {
    fn push(&mut self, session: SessionId, t: OpCode, body: Vec<u8>) {
        self.time += 3;
        let header = TxnHeader {
            client_id: session,
            cxid: self.entries.len() as i32,
            zxid: Zxid(self.entries.len() as i64 + 1),
            time: self.time,
            txn_type: t.as_i32(),
        };
        let mut e = TxnEntry {
            header,
            record: body.into(),
            digest: None,
        };
        self.tree.apply(&e).unwrap();
        if t != OpCode::Error {
            e.digest = Some(TxnDigest {
                version: DIGEST_VERSION,
                tree_digest: self.tree.digest(),
            });
        }
        self.entries.push(e);
    }

    fn parent_cversion(&self, path: &str) -> i32 {
        let i = path.rfind('/').unwrap();
        let parent = if i == 0 { "/" } else { &path[..i] };
        self.tree.get(parent).unwrap().stat.cversion + 1
    }

    fn create_txn(
        &self,
        path: &str,
        data: Option<&str>,
        acl: Vec<Acl>,
        ephemeral: bool,
    ) -> CreateTxn {
        CreateTxn {
            path: path.into(),
            data: data.map(|d| Bytes::from(d.to_string())),
            acl,
            ephemeral,
            parent_cversion: self.parent_cversion(path),
        }
    }

    fn create(
        &mut self,
        s: SessionId,
        path: &str,
        data: Option<&str>,
        acl: Vec<Acl>,
        ephemeral: bool,
    ) {
        let body = self.create_txn(path, data, acl, ephemeral).to_bytes();
        self.push(s, OpCode::Create2, body);
    }
}

pub(crate) fn build(s1: SessionId, s2: SessionId) -> Gen {
    let mut g = Gen {
        tree: ReplayTree::new(),
        entries: Vec::new(),
        time: 1_790_000_000_000,
    };
    let open = Acl::open_unsafe;
    g.push(
        s1,
        OpCode::CreateSession,
        CreateSessionTxn { timeout_ms: 60_000 }.to_bytes(),
    );
    g.push(
        s2,
        OpCode::CreateSession,
        CreateSessionTxn { timeout_ms: 60_000 }.to_bytes(),
    );
    g.create(s1, "/app", Some("root of the app"), open(), false);
    for i in 0..300 {
        let data = (i % 10 != 0).then(|| format!("node {i} {}", "d".repeat(i % 50)));
        g.create(s1, &format!("/app/n{i:03}"), data.as_deref(), open(), false);
    }
    for _ in 0..5 {
        let seq = g.tree.get("/app").unwrap().stat.cversion;
        let body = g
            .create_txn(&format!("/app/seq-{seq:010}"), Some("s"), open(), false)
            .to_bytes();
        g.push(s1, OpCode::Create, body);
    }
    // A `create` (op 1) of a node that exists, as the replay of a fuzzy snapshot meets it:
    // Apache ZooKeeper still raises the parent's cversion and pzxid ("Adjusting parent
    // cversion"); the model must do the same or the digests and stats diverge.
    let body = g
        .create_txn("/app/seq-0000000300", Some("again"), open(), false)
        .to_bytes();
    g.push(s1, OpCode::Create, body);
    for k in 0..5 {
        g.create(s1, &format!("/app/e{k}"), Some("eph"), open(), true);
        g.create(s2, &format!("/app/f{k}"), Some("eph2"), open(), true);
    }
    let body = CreateContainerTxn {
        path: "/box".into(),
        data: Some(Bytes::new()),
        acl: open(),
        parent_cversion: g.parent_cversion("/box"),
    }
    .to_bytes();
    g.push(s1, OpCode::CreateContainer, body);
    g.create(s1, "/box/item", Some("i"), open(), false);
    let body = CreateTtlTxn {
        path: "/app/ttl".into(),
        data: Some(Bytes::from_static(b"t")),
        acl: open(),
        parent_cversion: g.parent_cversion("/app/ttl"),
        ttl: 3_600_000,
    }
    .to_bytes();
    g.push(s1, OpCode::CreateTtl, body);
    let secure = vec![
        Acl::new(
            Perms::ALL,
            Id::new("digest", "admin:D/InIHSb7yEEbrWz8b9l71RjZJU="),
        ),
        Acl::new(Perms::READ, Id::anyone()),
    ];
    g.create(s1, "/secure", Some("s3cr3t"), secure, false);
    for i in (0..300).step_by(4) {
        let body = SetDataTxn {
            path: format!("/app/n{i:03}"),
            data: Some(Bytes::from(format!("v2-{i}"))),
            version: 1,
        }
        .to_bytes();
        g.push(s1, OpCode::SetData, body);
    }
    let body = SetAclTxn {
        path: "/app/n001".into(),
        acl: Acl::read_unsafe(),
        version: 1,
    }
    .to_bytes();
    g.push(s1, OpCode::SetAcl, body);
    for i in (1..300).step_by(7) {
        g.push(
            s1,
            OpCode::Delete,
            DeleteTxn {
                path: format!("/app/n{i:03}"),
            }
            .to_bytes(),
        );
    }
    g.push(s1, OpCode::Error, ErrorTxn { err: -110 }.to_bytes());
    let sub = |t: OpCode, b: Vec<u8>| Txn {
        txn_type: t.as_i32(),
        data: b.into(),
    };
    let multi = MultiTxn {
        txns: vec![
            sub(
                OpCode::Create,
                g.create_txn("/app/multi", Some("m"), open(), false)
                    .to_bytes(),
            ),
            sub(
                OpCode::SetData,
                SetDataTxn {
                    path: "/app/n002".into(),
                    data: None,
                    version: 2,
                }
                .to_bytes(),
            ),
            sub(
                OpCode::Delete,
                DeleteTxn {
                    path: "/app/n003".into(),
                }
                .to_bytes(),
            ),
            sub(
                OpCode::Check,
                CheckVersionTxn {
                    path: "/app".into(),
                    version: 0,
                }
                .to_bytes(),
            ),
        ],
    };
    g.push(s1, OpCode::Multi, multi.to_bytes());
    let failed = MultiTxn {
        txns: vec![
            sub(OpCode::Error, ErrorTxn { err: 0 }.to_bytes()),
            sub(OpCode::Error, ErrorTxn { err: -103 }.to_bytes()),
        ],
    };
    g.push(s1, OpCode::Multi, failed.to_bytes());
    let paths: Vec<String> = (0..5).map(|k| format!("/app/f{k}")).collect();
    g.push(
        s2,
        OpCode::CloseSession,
        CloseSessionTxn {
            paths_to_delete: paths,
        }
        .to_bytes(),
    );
    g
}
