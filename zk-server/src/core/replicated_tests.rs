//! The replicated pipeline without the network: a leader core and learner cores wired
//! together by hand (forwards to the leader, proposals committed on every member in order).

use std::collections::{HashMap, VecDeque};

use proptest::prelude::*;
use zk_core::jute::{Decode, Encode, Reader};
use zk_core::proto::{
    ConnectRequest, ConnectResponse, CreateRequest, GetDataRequest, GetDataResponse, ReplyHeader,
    SetDataRequest, SyncRequest,
};
use zk_core::txn::TxnHeader;
use zk_core::{Acl, ErrorCode, OpCode, Request, SessionId, Zxid};

use super::pipeline::{CoreMode, ToReplicate};
use super::state::{Core, Output};
use super::watch::ConnId;
use super::CoreConfig;
use zk_core::txn::TxnBody;

const ADDR: &str = "127.0.0.1:5000";

/// A reply header and the body after it.
type Reply = (ReplyHeader, Vec<u8>);

/// One leader (index 0, server id 1) and learners (server ids 2, 3, ...).
struct Mini {
    members: Vec<Core>,
    /// Proposed, not yet committed.
    proposed: VecDeque<(TxnHeader, TxnBody)>,
    /// Committed, in order.
    committed: Vec<(TxnHeader, TxnBody)>,
    /// Frames per (member, conn): (reply header, body).
    frames: HashMap<(usize, ConnId), Vec<Reply>>,
    connects: HashMap<(usize, ConnId), ConnectResponse>,
    closed: Vec<(usize, ConnId)>,
    silent: usize,
    now: i64,
    /// Confirmation rounds the leader asked for (`ConfirmLeadership`).
    asks: usize,
    /// Hold the leader's answers to learners' syncs (SYNC packets) in `held_syncs`.
    hold_syncs: bool,
    held_syncs: VecDeque<i64>,
}

impl Mini {
    fn new(learners: usize) -> Mini {
        Mini::with(learners, &CoreConfig::default())
    }

    /// Members with `base` (its server id replaced).
    fn with(learners: usize, base: &CoreConfig) -> Mini {
        let mut members = Vec::new();
        for i in 0..=learners {
            let cfg = CoreConfig {
                server_id: i as i64 + 1,
                ..base.clone()
            };
            let mut c = Core::new(cfg, 0);
            let mode = if i == 0 {
                CoreMode::Leader
            } else {
                CoreMode::Learner
            };
            c.set_mode(0, mode, 1);
            members.push(c);
        }
        Mini {
            members,
            proposed: VecDeque::new(),
            committed: Vec::new(),
            frames: HashMap::new(),
            connects: HashMap::new(),
            closed: Vec::new(),
            silent: 0,
            now: 0,
            asks: 0,
            hold_syncs: false,
            held_syncs: VecDeque::new(),
        }
    }

    /// The leader runs a confirmation round that a quorum answers.
    fn confirm(&mut self) {
        let round = self.members[0].leadership_round_started();
        self.members[0].leadership_confirmed(self.now, round);
        self.pump();
    }

    /// Delivers the held SYNC packets.
    fn deliver_syncs(&mut self) {
        while let Some(learner) = self.held_syncs.pop_front() {
            self.members[learner as usize - 1].sync_answered(self.now);
        }
        self.pump();
    }

    /// Moves forwards to the leader and proposals into `proposed`; answers revalidations and
    /// syncs. Commits nothing.
    fn pump(&mut self) {
        loop {
            let mut progress = false;
            for i in 0..self.members.len() {
                while let Some(r) = self.members[i].poll_replicate() {
                    progress = true;
                    match r {
                        ToReplicate::Propose { header, body } => {
                            assert_eq!(i, 0);
                            self.proposed.push_back((header, body));
                        }
                        ToReplicate::Forward(f) => {
                            let sid = i as i64 + 1;
                            let now = self.now;
                            self.members[0].forwarded(now, sid, f);
                        }
                        ToReplicate::Revalidate { session, .. } => {
                            let now = self.now;
                            let valid = self.members[0].revalidate(now, session, i as i64 + 1);
                            self.members[i].revalidated(now, session, valid);
                        }
                        ToReplicate::SyncDone { learner } if self.hold_syncs => {
                            self.held_syncs.push_back(learner);
                        }
                        ToReplicate::SyncDone { learner } => {
                            let now = self.now;
                            self.members[learner as usize - 1].sync_answered(now);
                        }
                        ToReplicate::ConfirmLeadership => {
                            assert_eq!(i, 0);
                            self.asks += 1;
                        }
                        ToReplicate::Rollover => panic!("rollover"),
                    }
                }
            }
            self.collect();
            if !progress {
                return;
            }
        }
    }

    /// Commits the oldest proposal on every member.
    fn commit_one(&mut self) -> bool {
        let Some((h, b)) = self.proposed.pop_front() else {
            return false;
        };
        for m in &mut self.members {
            m.commit(self.now, &h, &b);
        }
        self.committed.push((h, b));
        self.pump();
        true
    }

    fn commit_all(&mut self) {
        self.pump();
        while self.commit_one() {}
    }

    fn collect(&mut self) {
        for (i, m) in self.members.iter_mut().enumerate() {
            while let Some(o) = m.poll_output() {
                match o {
                    Output::Send { conn, frame, .. } => {
                        let body = &frame[4..];
                        if let std::collections::hash_map::Entry::Vacant(e) =
                            self.connects.entry((i, conn))
                        {
                            if let Ok(r) = ConnectResponse::from_bytes(body) {
                                e.insert(r);
                                continue;
                            }
                        }
                        let mut r = Reader::new(body);
                        let h = ReplyHeader::decode(&mut r).unwrap();
                        self.frames
                            .entry((i, conn))
                            .or_default()
                            .push((h, r.rest().to_vec()));
                    }
                    Output::Close { conn } => self.closed.push((i, conn)),
                    Output::Silent { .. } => self.silent += 1,
                }
            }
        }
    }

    fn connect(&mut self, member: usize, conn: u64, session: SessionId, passwd: &[u8]) {
        let c = ConnId(conn);
        self.members[member].accept(self.now, c, ADDR.parse().unwrap());
        self.members[member].connect(
            self.now,
            c,
            &ConnectRequest {
                timeout_ms: 10_000,
                session_id: session,
                passwd: passwd.to_vec().into(),
                ..Default::default()
            },
        );
        self.pump();
    }

    /// A new session on `member` through `conn`, committed.
    fn session(&mut self, member: usize, conn: u64) -> ConnectResponse {
        self.connect(member, conn, SessionId(0), &[0; 16]);
        self.commit_all();
        self.connects
            .get(&(member, ConnId(conn)))
            .cloned()
            .expect("connected")
    }

    fn send(&mut self, member: usize, conn: u64, xid: i32, req: &Request) {
        let now = self.now;
        self.members[member].request(
            now,
            ConnId(conn),
            xid,
            req.op_code().as_i32(),
            &req.to_bytes(),
        );
        self.pump();
    }

    fn replies(&mut self, member: usize, conn: u64) -> Vec<(ReplyHeader, Vec<u8>)> {
        self.collect();
        self.frames
            .remove(&(member, ConnId(conn)))
            .unwrap_or_default()
    }
}

fn create(path: &str, flags: i32) -> Request {
    Request::Create(CreateRequest {
        path: path.into(),
        data: Some("d".into()),
        acl: Acl::open_unsafe(),
        flags,
    })
}

fn get(path: &str) -> Request {
    Request::GetData(GetDataRequest {
        path: path.into(),
        watch: false,
    })
}

fn set(path: &str, data: &str) -> Request {
    Request::SetData(SetDataRequest {
        path: path.into(),
        data: Some(data.to_owned().into()),
        version: -1,
    })
}

fn created_path(body: &[u8]) -> String {
    zk_core::proto::CreateResponse::from_bytes(body)
        .unwrap()
        .path
}

#[test]
fn a_learner_forwards_session_creation_and_answers_at_commit() {
    let mut m = Mini::new(2);
    m.connect(1, 1, SessionId(0), &[0; 16]);
    assert!(m.connects.is_empty(), "no answer before the commit");
    assert_eq!(m.proposed.len(), 1);
    m.commit_all();
    let r = m.connects[&(1, ConnId(1))].clone();
    assert_eq!(
        r.session_id.0 >> 56,
        2,
        "the learner's id in the session id"
    );
    assert_eq!(r.timeout_ms, 10_000);
    for c in &m.members {
        assert!(c.tree().sessions().contains_key(&r.session_id));
    }
}

#[test]
fn pipelined_writes_are_prepared_against_outstanding_changes() {
    let mut m = Mini::new(2);
    m.session(0, 1);
    m.send(0, 1, 1, &create("/a", 0));
    m.send(0, 1, 2, &create("/a/b", 0));
    m.send(0, 1, 3, &create("/a/s-", 2));
    m.send(0, 1, 4, &create("/a/s-", 2));
    m.send(0, 1, 5, &create("/a", 0));
    assert_eq!(m.proposed.len(), 5, "all proposed before any commit");
    assert!(m.replies(0, 1).is_empty());
    m.commit_all();
    let r = m.replies(0, 1);
    let errs: Vec<i32> = r.iter().map(|(h, _)| h.err).collect();
    assert_eq!(errs, [0, 0, 0, 0, ErrorCode::NodeExists.as_i32()]);
    assert_eq!(created_path(&r[2].1), "/a/s-0000000001");
    assert_eq!(created_path(&r[3].1), "/a/s-0000000002");
    let zxids: Vec<Zxid> = r.iter().map(|(h, _)| h.zxid).collect();
    assert!(zxids.windows(2).all(|w| w[0] < w[1]), "{zxids:?}");
    assert_eq!(zxids[0], Zxid::new(1, 2), "createSession took (1, 1)");
}

#[test]
fn a_read_waits_behind_its_sessions_write_and_others_do_not() {
    let mut m = Mini::new(2);
    m.session(1, 1);
    m.session(2, 2);
    m.send(1, 1, 1, &create("/x", 0));
    m.commit_all();
    m.replies(1, 1);
    m.send(1, 1, 2, &set("/x", "new"));
    m.send(1, 1, 3, &get("/x"));
    m.send(2, 2, 1, &get("/x"));
    assert!(m.replies(1, 1).is_empty(), "the read waits for the set");
    let other = m.replies(2, 2);
    let old = GetDataResponse::from_bytes(&other[0].1).unwrap();
    assert_eq!(
        old.data.as_deref(),
        Some(&b"d"[..]),
        "another session reads at once"
    );
    m.commit_all();
    let r = m.replies(1, 1);
    assert_eq!(r.len(), 2);
    assert_eq!((r[0].0.xid, r[1].0.xid), (2, 3));
    let new = GetDataResponse::from_bytes(&r[1].1).unwrap();
    assert_eq!(new.data.as_deref(), Some(&b"new"[..]));
    assert_eq!(
        r[0].0.zxid, r[1].0.zxid,
        "the read answers at the set's zxid"
    );
}

#[test]
fn a_write_through_a_member_that_lost_the_session_is_session_moved() {
    let mut m = Mini::new(2);
    let s = m.session(1, 1);
    m.send(1, 1, 1, &create("/m", 0));
    m.commit_all();
    m.replies(1, 1);
    // The client reconnects through learner 2 (index 2); learner 1's old connection stays open.
    m.connect(2, 2, s.session_id, &s.passwd);
    assert_eq!(m.connects[&(2, ConnId(2))].session_id, s.session_id);
    m.send(2, 2, 2, &set("/m", "via-2"));
    m.commit_all();
    assert_eq!(m.replies(2, 2)[0].0.err, 0);
    let before = m.committed.len();
    // Learner 1 still forwards for the session (its connection was never told).
    let fwd = super::pipeline::ForwardedRequest {
        session: s.session_id,
        cxid: 3,
        op: OpCode::SetData.as_i32(),
        body: set("/m", "via-1").to_bytes(),
        authinfo: Some(vec![]),
    };
    m.members[0].forwarded(0, 2, fwd);
    m.commit_all();
    let (h, b) = &m.committed[before];
    assert_eq!(h.txn_type, OpCode::Error.as_i32());
    assert_eq!(
        b,
        &TxnBody::Error(zk_core::txn::ErrorTxn {
            err: ErrorCode::SessionMoved.as_i32()
        })
    );
}

#[test]
fn close_session_deletes_ephemerals_created_in_the_same_pipeline() {
    let mut m = Mini::new(1);
    m.session(0, 1);
    m.send(0, 1, 1, &create("/e", 1));
    m.send(0, 1, 2, &Request::CloseSession);
    assert_eq!(m.proposed.len(), 2);
    let (_, close) = &m.proposed[1];
    match close {
        TxnBody::CloseSession(t) => assert_eq!(t.paths_to_delete, ["/e"]),
        other => panic!("{other:?}"),
    }
    m.commit_all();
    for c in &m.members {
        assert!(c.tree().node("/e").is_none());
        assert!(c.tree().sessions().is_empty());
    }
    assert!(m.closed.contains(&(0, ConnId(1))));
}

#[test]
fn syncs_wait_for_what_was_proposed_before_them() {
    let mut m = Mini::new(1);
    m.session(0, 1);
    m.session(1, 2);
    m.send(0, 1, 1, &create("/s", 0));
    let sync = Request::Sync(SyncRequest { path: "/s".into() });
    m.send(1, 2, 1, &sync);
    m.send(0, 1, 2, &sync);
    assert!(m.replies(1, 2).is_empty() && m.replies(0, 1).is_empty());
    m.commit_all();
    let r = m.replies(1, 2);
    assert_eq!((r[0].0.xid, r[0].0.err), (1, 0));
    let l = m.replies(0, 1);
    assert_eq!(l.iter().map(|(h, _)| h.xid).collect::<Vec<_>>(), [1, 2]);
    // With nothing outstanding a sync is answered at once.
    m.send(1, 2, 2, &sync);
    assert_eq!(m.replies(1, 2)[0].0.xid, 2);
}

#[test]
fn the_leader_expires_a_session_and_every_member_closes_its_connection() {
    let mut m = Mini::new(1);
    let s = m.session(1, 1);
    m.send(1, 1, 1, &create("/eph", 1));
    m.commit_all();
    m.now = 60_000;
    m.members[0].tick(60_000);
    m.members[1].tick(60_000);
    m.pump();
    assert_eq!(m.proposed.len(), 1);
    m.commit_all();
    assert!(m.closed.contains(&(1, ConnId(1))));
    for c in &m.members {
        assert!(c.tree().node("/eph").is_none());
        assert!(!c.tree().sessions().contains_key(&s.session_id));
    }
}

#[test]
fn a_passing_top_level_check_is_answered_silently() {
    let mut m = Mini::new(1);
    m.session(1, 1);
    m.send(1, 1, 1, &create("/c", 0));
    let check = Request::Check(zk_core::proto::CheckVersionRequest {
        path: "/c".into(),
        version: 0,
    });
    m.send(1, 1, 2, &check);
    m.send(1, 1, 3, &get("/c"));
    m.commit_all();
    let r = m.replies(1, 1);
    assert_eq!(r.iter().map(|(h, _)| h.xid).collect::<Vec<_>>(), [1, 3]);
    assert_eq!(m.silent, 1);
}

#[derive(Debug, Clone)]
enum Step {
    Op { session: usize, req: usize },
    Commit(usize),
}

const REQS: usize = 8;

fn req(i: usize, n: usize) -> Request {
    let p = ["/r", "/r/a", "/r/b"][n % 3];
    match i {
        0 => create(p, 0),
        1 => create(p, 2),
        2 => create(p, 1),
        3 => set(p, &format!("v{n}")),
        4 => Request::Delete(zk_core::proto::DeleteRequest {
            path: p.into(),
            version: -1,
        }),
        5 => get(p),
        6 => Request::Sync(SyncRequest { path: p.into() }),
        _ => Request::Multi(vec![create("/m", 0), set(p, "multi")]),
    }
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        3 => (0..3usize, 0..REQS * 3).prop_map(|(session, req)| Step::Op { session, req }),
        1 => (1..4usize).prop_map(Step::Commit),
    ]
}

proptest! {
    /// Random requests from three sessions on three members, with commits at random points:
    /// every member ends with the same tree, replaying the committed transactions rebuilds it,
    /// every request is answered exactly once, and each session's replies come in order with
    /// non-decreasing zxids.
    #[test]
    fn members_agree_and_every_request_is_answered_once(steps in proptest::collection::vec(step(), 1..80)) {
        let mut m = Mini::new(2);
        let mut conns = Vec::new();
        for s in 0..3 {
            m.session(s, 10 + s as u64);
            conns.push((s, 10 + s as u64));
        }
        let mut xids = [0i32; 3];
        let mut sent: Vec<Vec<i32>> = vec![Vec::new(); 3];
        for st in &steps {
            match st {
                Step::Op { session, req: r } => {
                    let (member, conn) = conns[*session];
                    xids[*session] += 1;
                    let xid = xids[*session];
                    m.send(member, conn, xid, &req(r % REQS, r / REQS));
                    sent[*session].push(xid);
                }
                Step::Commit(n) => for _ in 0..*n { m.commit_one(); },
            }
        }
        m.commit_all();
        let canon = super::model_tests::canonical(m.members[0].tree());
        for c in &m.members[1..] {
            prop_assert_eq!(&super::model_tests::canonical(c.tree()), &canon);
        }
        let mut replayed = super::DataTree::new();
        for (h, b) in &m.committed {
            replayed.apply(h, b, &mut Vec::new());
        }
        // The leader's tree also carries `epoch << 32` as its start; compare the nodes.
        let nodes = |v: &[String]| v[..v.len() - 1].to_vec();
        prop_assert_eq!(nodes(&super::model_tests::canonical(&replayed)), nodes(&canon));
        for (s, (member, conn)) in conns.iter().enumerate() {
            let r = m.replies(*member, *conn);
            let got: Vec<i32> = r.iter().map(|(h, _)| h.xid).collect();
            prop_assert_eq!(got, sent[s].clone());
            prop_assert!(r.windows(2).all(|w| w[0].0.zxid <= w[1].0.zxid));
        }
    }
}

#[test]
fn a_leader_with_local_sessions_takes_writes_of_another_servers_local_session() {
    // An Apache learner with localSessionsEnabled forwards the writes of a session it never
    // made global; `LeaderSessionTracker.checkSession` lets them through when the session was
    // made by another server (its id's top byte), and only then.
    let other = SessionId((2 << 56) | 5);
    let mine = SessionId((1 << 56) | 5);
    for (local, session, accepted) in [
        (true, other, true),
        (false, other, false),
        (true, mine, false),
    ] {
        let cfg = CoreConfig {
            server_id: 1,
            local_sessions_enabled: local,
            ..CoreConfig::default()
        };
        let mut leader = Core::new(cfg, 0);
        leader.set_mode(0, CoreMode::Leader, 1);
        let fwd = super::pipeline::ForwardedRequest {
            session,
            cxid: 1,
            op: OpCode::Create.as_i32(),
            body: create("/local", 0).to_bytes(),
            authinfo: Some(vec![zk_core::Id::new("ip", "127.0.0.1")]),
        };
        leader.forwarded(0, 2, fwd);
        let Some(ToReplicate::Propose { header, body }) = leader.poll_replicate() else {
            panic!("nothing proposed");
        };
        assert_eq!(header.client_id, session);
        if accepted {
            assert_eq!(
                header.txn_type,
                OpCode::Create.as_i32(),
                "{local} {session:?}"
            );
        } else {
            assert_eq!(
                body,
                TxnBody::Error(zk_core::txn::ErrorTxn {
                    err: ErrorCode::SessionExpired.as_i32()
                }),
                "{local} {session:?}"
            );
        }
    }
}

fn sync(path: &str) -> Request {
    Request::Sync(SyncRequest { path: path.into() })
}

fn quorum_config(linearizable_reads: bool) -> CoreConfig {
    CoreConfig {
        quorum_sync: true,
        linearizable_reads,
        ..CoreConfig::default()
    }
}

#[test]
fn a_write_behind_a_sync_is_sent_only_after_that_sync_and_its_reads_were_answered() {
    // A sync is answered out of band of the commits (a SYNC packet may follow the COMMITs of
    // later writes; a quorum sync waits for a confirmation round): a read between the sync
    // and a later write of the session must not see that write, so the write waits.
    let mut m = Mini::new(2);
    m.session(1, 1);
    m.send(1, 1, 1, &create("/w", 0));
    m.commit_all();
    m.replies(1, 1);
    m.hold_syncs = true;
    m.send(1, 1, 2, &sync("/w"));
    m.send(1, 1, 3, &get("/w"));
    m.send(1, 1, 4, &set("/w", "after-sync"));
    m.send(1, 1, 5, &sync("/w"));
    m.send(1, 1, 6, &get("/w"));
    m.commit_all();
    assert_eq!(m.held_syncs.len(), 1, "the second sync waits for the set");
    assert!(m.proposed.is_empty() && m.replies(1, 1).is_empty());
    m.deliver_syncs();
    let r = m.replies(1, 1);
    assert_eq!(r.iter().map(|(h, _)| h.xid).collect::<Vec<_>>(), [2, 3]);
    let got = GetDataResponse::from_bytes(&r[1].1).unwrap();
    assert_eq!(
        got.data.as_deref(),
        Some(&b"d"[..]),
        "the read saw no later write"
    );
    assert_eq!(m.proposed.len(), 1, "then the set goes out");
    m.commit_all();
    m.deliver_syncs();
    let r = m.replies(1, 1);
    assert_eq!(r.iter().map(|(h, _)| h.xid).collect::<Vec<_>>(), [4, 5, 6]);
    assert_eq!(r[0].0.zxid, m.committed.last().unwrap().0.zxid);
    let got = GetDataResponse::from_bytes(&r[2].1).unwrap();
    assert_eq!(got.data.as_deref(), Some(&b"after-sync"[..]));
}

#[test]
fn a_quorum_sync_waits_for_a_round_that_started_after_it_arrived() {
    let mut m = Mini::with(2, &quorum_config(false));
    m.session(0, 1);
    m.send(0, 1, 1, &sync("/"));
    assert_eq!(m.asks, 1, "the leader asks for a round");
    assert!(m.replies(0, 1).is_empty(), "not answered before a round");
    // A round starts; a second sync arrives during it.
    let first = m.members[0].leadership_round_started();
    m.send(0, 1, 2, &sync("/"));
    assert_eq!(m.asks, 2, "the second sync asks for the next round");
    m.members[0].leadership_confirmed(0, first);
    m.pump();
    let r = m.replies(0, 1);
    assert_eq!(r.len(), 1, "the first round answers the first sync only");
    assert_eq!(r[0].0.xid, 1);
    m.confirm();
    let r = m.replies(0, 1);
    assert_eq!((r.len(), r[0].0.xid), (1, 2));
}

#[test]
fn a_learners_quorum_sync_waits_for_the_round_and_plain_syncs_do_not() {
    let mut plain = Mini::new(2);
    plain.session(1, 1);
    plain.send(1, 1, 1, &sync("/"));
    assert_eq!(plain.asks, 0);
    assert_eq!(
        plain.replies(1, 1).len(),
        1,
        "Apache's sync: answered at once"
    );

    let mut m = Mini::with(2, &quorum_config(false));
    m.session(1, 1);
    m.send(1, 1, 1, &sync("/"));
    assert_eq!(m.asks, 1);
    assert!(m.replies(1, 1).is_empty());
    m.confirm();
    let r = m.replies(1, 1);
    assert_eq!((r.len(), r[0].0.xid, r[0].0.err), (1, 1, 0));
}

#[test]
fn linearizable_reads_wait_for_a_confirmed_round_on_every_member() {
    let mut m = Mini::with(2, &quorum_config(true));
    m.session(0, 1);
    m.session(2, 2);
    m.send(0, 1, 1, &create("/r", 0));
    m.commit_all();
    m.replies(0, 1);
    let asked = m.asks;
    m.send(0, 1, 2, &get("/r"));
    m.send(2, 2, 1, &get("/r"));
    m.send(2, 2, 2, &get("/r"));
    assert_eq!(m.asks, asked + 1, "one round for all three reads");
    assert!(m.replies(0, 1).is_empty(), "the leader's read waits");
    assert!(m.replies(2, 2).is_empty(), "the learner's reads wait");
    m.confirm();
    let r0 = m.replies(0, 1);
    let r2 = m.replies(2, 2);
    assert_eq!(r0.len(), 1);
    assert_eq!(
        r2.iter().map(|(h, _)| h.xid).collect::<Vec<_>>(),
        [1, 2],
        "no reply for the barriers, one per read"
    );
    for (h, body) in r0.iter().chain(&r2) {
        assert_eq!(h.err, 0);
        let d = GetDataResponse::from_bytes(body).unwrap();
        assert_eq!(d.data.as_deref(), Some(&b"d"[..]));
    }
    assert_eq!(m.silent, 0, "barriers release no request slot");
    // Writes and pings are not held.
    m.send(2, 2, 3, &set("/r", "x"));
    m.commit_all();
    assert_eq!(m.replies(2, 2).len(), 1);
}

fn connect_ro(m: &mut Mini, conn: u64, session: SessionId, passwd: &[u8], read_only: bool) {
    let c = ConnId(conn);
    m.members[0].accept(m.now, c, ADDR.parse().unwrap());
    m.members[0].connect(
        m.now,
        c,
        &ConnectRequest {
            timeout_ms: 4_000,
            session_id: session,
            passwd: passwd.to_vec().into(),
            read_only: Some(read_only),
            ..Default::default()
        },
    );
    m.pump();
}

#[test]
fn a_read_only_member_serves_reads_refuses_writes_and_keeps_ensemble_sessions() {
    let mut m = Mini::new(0);
    let global = m.session(0, 1);
    m.send(0, 1, 1, &create("/ro", 0));
    m.commit_all();
    m.replies(0, 1);
    m.members[0].set_mode(0, CoreMode::ReadOnly, 0);
    m.pump();
    assert!(
        m.closed.contains(&(0, ConnId(1))),
        "read-only mode starts afresh"
    );

    // A client that does not allow read-only mode is closed unanswered.
    connect_ro(&mut m, 2, SessionId(0), &[0; 16], false);
    assert!(!m.connects.contains_key(&(0, ConnId(2))));
    assert!(m.closed.contains(&(0, ConnId(2))));

    // The ensemble session resumes read-only; reads are served, writes and syncs refused.
    connect_ro(&mut m, 3, global.session_id, &global.passwd, true);
    let r = m.connects[&(0, ConnId(3))].clone();
    assert_eq!((r.session_id, r.read_only), (global.session_id, Some(true)));
    m.send(0, 3, 1, &get("/ro"));
    m.send(0, 3, 2, &create("/no", 0));
    m.send(0, 3, 3, &sync("/"));
    let r = m.replies(0, 3);
    let errs: Vec<i32> = r.iter().map(|(h, _)| h.err).collect();
    let nro = ErrorCode::NotReadOnly.as_i32();
    assert_eq!(errs, [0, nro, nro]);
    assert!(m.proposed.is_empty(), "nothing proposed");

    // A new session is local to the member: never logged, expired by it.
    connect_ro(&mut m, 4, SessionId(0), &[0; 16], true);
    let local = m.connects[&(0, ConnId(4))].clone();
    assert_eq!(local.read_only, Some(true));
    assert!(!m.members[0]
        .tree()
        .sessions()
        .contains_key(&local.session_id));
    m.now = 60_000;
    m.members[0].tick(60_000);
    m.pump();
    assert!(
        m.closed.contains(&(0, ConnId(4))),
        "the local session expired"
    );
    assert!(
        !m.closed.contains(&(0, ConnId(3))),
        "the ensemble session is kept: only a leader expires it"
    );
    assert!(m.members[0]
        .tree()
        .sessions()
        .contains_key(&global.session_id));
}
