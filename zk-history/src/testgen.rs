//! Random valid executions from a sequential model, for the property tests: clients issue one
//! operation at a time in random interleavings, writes take effect at a leader in zxid order
//! (sometimes with an unknown outcome: applied at once, later, or never), reads are answered
//! from a random member that may lag (at any committed zxid not below what the session saw),
//! and foreign sessions commit transactions nobody in the history asked for. Then single
//! mutations that a checker must catch.

use zk_core::{ErrorCode, SessionId, Zxid};

use crate::committed::{Change, CommittedHistory, Txn};
use crate::op::{ClientId, History, Op, OpId, Operation, Outcome, Reply};
use crate::violation::Violation;

/// SplitMix64: small, seeded, good enough for test generation.
#[derive(Debug, Clone)]
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0).
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    pub(crate) fn per_mille(&mut self, p: u64) -> bool {
        self.below(1000) < p
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Params {
    pub(crate) clients: usize,
    pub(crate) keys: usize,
    pub(crate) ops: usize,
    /// Per-mille of operations with an unknown outcome.
    pub(crate) unknown_per_mille: u64,
}

/// A key's states: (zxid of the change, data and version or absent), from (0, absent).
type States = Vec<(Zxid, Option<(Vec<u8>, i32)>)>;

#[derive(Debug, Clone)]
pub(crate) struct Execution {
    pub(crate) history: History,
    pub(crate) committed: CommittedHistory,
    /// Per key ("/k{i}"), every state it went through.
    pub(crate) states: Vec<States>,
}

fn path(key: usize) -> String {
    format!("/k{key}")
}

fn key_of(path: &str) -> usize {
    path[2..].parse().unwrap()
}

fn state_at(states: &States, z: Zxid) -> usize {
    states.partition_point(|(at, _)| *at <= z) - 1
}

struct Client {
    id: ClientId,
    session: SessionId,
    last: Zxid,
    inflight: Option<usize>,
    versions: Vec<Option<i32>>,
}

struct Sim {
    rng: Rng,
    zxid: Zxid,
    txns: Vec<Txn>,
    states: Vec<States>,
    ops: Vec<Op>,
    clients: Vec<Client>,
    /// Unknown-outcome writes still to be applied (op index).
    limbo: Vec<usize>,
    foreign: u64,
}

impl Sim {
    fn commit(&mut self, session: Option<SessionId>, change: Change) -> Zxid {
        self.zxid = if self.rng.per_mille(2) {
            Zxid::new(self.zxid.epoch() + 1, 1)
        } else {
            self.zxid.next()
        };
        self.txns.push(Txn {
            zxid: self.zxid,
            session_id: session,
            change,
        });
        self.zxid
    }

    fn current(&self, key: usize) -> Option<(Vec<u8>, i32)> {
        self.states[key].last().and_then(|s| s.1.clone())
    }

    /// Applies write `op` at the leader: its transaction, and its result.
    fn apply(&mut self, op: &Operation, session: SessionId) -> (Zxid, Result<Reply, ErrorCode>) {
        let key = key_of(op.path());
        let cur = self.current(key);
        let bad = |expected: Option<i32>, v: i32| expected.is_some_and(|e| e != v);
        let (result, next) = match (op, &cur) {
            (Operation::Set { .. } | Operation::Delete { .. }, None) => {
                (Err(ErrorCode::NoNode), None)
            }
            (Operation::Set { version, .. } | Operation::Delete { version, .. }, Some((_, v)))
                if bad(*version, *v) =>
            {
                (Err(ErrorCode::BadVersion), None)
            }
            (Operation::Set { data, .. }, Some((_, v))) => (
                Ok(Reply::Set { version: v + 1 }),
                Some(Some((data.clone(), v + 1))),
            ),
            (Operation::Delete { .. }, Some(_)) => (Ok(Reply::Deleted), Some(None)),
            (Operation::Create { .. }, Some(_)) => (Err(ErrorCode::NodeExists), None),
            (Operation::Create { data, .. }, None) => {
                (Ok(Reply::Created), Some(Some((data.clone(), 0))))
            }
            (Operation::Read { .. }, _) => unreachable!("reads are not applied"),
        };
        let p = op.path().to_owned();
        let change = match (&result, &next) {
            (Err(code), _) => Change::Error { code: *code },
            (Ok(Reply::Deleted), _) => Change::Delete { path: p },
            (Ok(Reply::Created), Some(Some((data, _)))) => Change::Create {
                path: p,
                data: data.clone(),
            },
            (Ok(_), Some(Some((data, version)))) => Change::SetData {
                path: p,
                data: data.clone(),
                version: *version,
            },
            _ => unreachable!(),
        };
        let zxid = self.commit(Some(session), change);
        if let Some(state) = next {
            self.states[key].push((zxid, state));
        }
        (zxid, result)
    }

    /// A transaction from a session outside the history: a createSession, or a multi of
    /// sets on existing keys.
    fn foreign(&mut self) {
        let session = Some(SessionId(1 << 40));
        let key = self.rng.below(self.states.len() as u64) as usize;
        let Some((_, v)) = self.current(key).filter(|_| self.rng.per_mille(500)) else {
            self.commit(session, Change::Other);
            return;
        };
        self.foreign += 1;
        let data = format!("foreign-{}", self.foreign).into_bytes();
        let change = Change::Multi(vec![
            Change::SetData {
                path: path(key),
                data: data.clone(),
                version: v + 1,
            },
            Change::Other,
        ]);
        let zxid = self.commit(session, change);
        self.states[key].push((zxid, Some((data, v + 1))));
    }

    fn invoke(&mut self, c: usize, now: u64) {
        let key = self.rng.below(self.states.len() as u64) as usize;
        let data = format!("v{}", self.ops.len()).into_bytes();
        let known = self.clients[c].versions[key];
        let version = known.unwrap_or(self.rng.below(3) as i32);
        let roll = self.rng.below(100);
        let operation = match roll {
            0..45 => Operation::Read { path: path(key) },
            45..65 => Operation::Set {
                path: path(key),
                data,
                version: None,
            },
            65..80 => Operation::Set {
                path: path(key),
                data,
                version: Some(version),
            },
            80..90 => Operation::Create {
                path: path(key),
                data,
            },
            _ => Operation::Delete {
                path: path(key),
                version: (roll % 2 == 0).then_some(version),
            },
        };
        let client = &mut self.clients[c];
        client.inflight = Some(self.ops.len());
        self.ops.push(Op {
            client: client.id,
            session_id: Some(client.session),
            invoked: now,
            completed: None,
            operation,
            outcome: Outcome::Unknown,
        });
    }

    fn complete(&mut self, c: usize, i: usize, now: u64, unknown_per_mille: u64) {
        self.clients[c].inflight = None;
        let op = self.ops[i].operation.clone();
        let key = key_of(op.path());
        let session = self.clients[c].session;
        if self.rng.per_mille(unknown_per_mille) {
            // Connection loss: reported now, or never; a write applied now, later or never.
            self.ops[i].completed = self.rng.per_mille(800).then_some(now);
            if op.is_write() {
                match self.rng.below(10) {
                    // Nobody learns an unknown-outcome write's result.
                    0..4 => drop(self.apply(&op, session)),
                    4..7 => self.limbo.push(i),
                    _ => {}
                }
            }
            return;
        }
        let (zxid, result) = if op.is_write() {
            self.apply(&op, session)
        } else {
            // Served by a member at any committed zxid the session has not seen past.
            let last = self.clients[c].last;
            let from = self.txns.partition_point(|t| t.zxid <= last);
            let z = if from == self.txns.len() || self.rng.per_mille(400) {
                self.zxid.max(last)
            } else {
                let j = from + self.rng.below((self.txns.len() - from) as u64) as usize;
                self.txns[j].zxid
            };
            let states = &self.states[key];
            match &states[state_at(states, z)].1 {
                Some((data, version)) => (
                    z,
                    Ok(Reply::Read {
                        data: data.clone(),
                        version: *version,
                    }),
                ),
                None => (z, Err(ErrorCode::NoNode)),
            }
        };
        let client = &mut self.clients[c];
        client.last = zxid;
        client.versions[key] = match &result {
            Ok(Reply::Read { version, .. } | Reply::Set { version }) => Some(*version),
            Ok(Reply::Created) => Some(0),
            _ => None,
        };
        let op = &mut self.ops[i];
        op.completed = Some(now);
        op.outcome = match result {
            Ok(reply) => Outcome::Ok { zxid, reply },
            Err(code) => Outcome::Error { zxid, code },
        };
    }
}

/// A random valid execution of about `params.ops` operations.
pub(crate) fn generate(seed: u64, params: &Params) -> Execution {
    let mut sim = Sim {
        rng: Rng::new(seed),
        zxid: Zxid::ZERO,
        txns: Vec::new(),
        states: vec![vec![(Zxid::ZERO, None)]; params.keys],
        ops: Vec::with_capacity(params.ops),
        clients: (0..params.clients)
            .map(|c| Client {
                id: ClientId(c as u32),
                session: SessionId(1000 + c as i64),
                last: Zxid::ZERO,
                inflight: None,
                versions: vec![None; params.keys],
            })
            .collect(),
        limbo: Vec::new(),
        foreign: 0,
    };
    let mut now = 0;
    while sim.ops.len() < params.ops {
        now += 1;
        if sim.rng.per_mille(10) {
            sim.foreign();
        }
        if !sim.limbo.is_empty() && sim.rng.per_mille(50) {
            let at = sim.rng.below(sim.limbo.len() as u64) as usize;
            let i = sim.limbo.swap_remove(at);
            let (op, session) = (sim.ops[i].operation.clone(), sim.ops[i].session_id);
            drop(sim.apply(&op, session.unwrap()));
        }
        let c = sim.rng.below(params.clients as u64) as usize;
        match sim.clients[c].inflight {
            None => sim.invoke(c, now),
            Some(i) => sim.complete(c, i, now, params.unknown_per_mille),
        }
    }
    Execution {
        history: History::from(sim.ops),
        committed: CommittedHistory::from_start(sim.txns),
        states: sim.states,
    }
}

/// The mutations a checker must catch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mutation {
    /// A read returns data nobody wrote.
    ReadValue,
    /// A read's zxid moves to one where its key had another state.
    ReadZxid,
    /// The transaction of an acknowledged write disappears from the committed history.
    DropAckedTxn,
    /// A set returns a version one too high.
    WriteVersion,
}

impl Mutation {
    pub(crate) const ALL: [Mutation; 4] = [
        Mutation::ReadValue,
        Mutation::ReadZxid,
        Mutation::DropAckedTxn,
        Mutation::WriteVersion,
    ];
}

/// Applies `m` to the operation chosen by `pick` among those it fits and returns it; `None`
/// when none fits.
pub(crate) fn mutate(e: &mut Execution, m: Mutation, pick: u64) -> Option<OpId> {
    let fits = |op: &Op| match (m, &op.operation, &op.outcome) {
        (Mutation::ReadValue, _, Outcome::Ok { reply, .. }) => {
            matches!(reply, Reply::Read { .. })
        }
        (Mutation::ReadZxid, Operation::Read { .. }, o) => o.zxid().is_some(),
        (Mutation::DropAckedTxn, o, Outcome::Ok { .. } | Outcome::Error { .. }) => o.is_write(),
        (Mutation::WriteVersion, _, Outcome::Ok { reply, .. }) => {
            matches!(reply, Reply::Set { .. })
        }
        _ => false,
    };
    let candidates: Vec<usize> = (0..e.history.len())
        .filter(|&i| fits(&e.history.ops()[i]))
        .collect();
    if candidates.is_empty() {
        return None;
    }
    let i = candidates[(pick % candidates.len() as u64) as usize];
    let last = e.committed.last_zxid();
    let op = &mut e.history.ops_mut()[i];
    match (&mut op.outcome, m) {
        (Outcome::Ok { reply, .. }, Mutation::ReadValue) => {
            if let Reply::Read { data, .. } = reply {
                *data = b"never written".to_vec();
            }
        }
        (Outcome::Ok { zxid, .. } | Outcome::Error { zxid, .. }, Mutation::ReadZxid) => {
            let states = &e.states[key_of(op.operation.path())];
            let s = state_at(states, *zxid);
            *zxid = if s > 0 {
                Zxid(states[s].0 .0 - 1)
            } else if let Some(next) = states.get(1) {
                next.0
            } else {
                last.next()
            };
        }
        (Outcome::Ok { zxid, .. } | Outcome::Error { zxid, .. }, Mutation::DropAckedTxn) => {
            let z = *zxid;
            e.committed.txns_mut().retain(|t| t.zxid != z);
        }
        (Outcome::Ok { reply, .. }, Mutation::WriteVersion) => {
            if let Reply::Set { version } = reply {
                *version += 1;
            }
        }
        _ => unreachable!("only fitting operations are picked"),
    }
    Some(OpId(i))
}

/// True when `v` names operation `id` with the violation `m` must cause.
pub(crate) fn names(v: &Violation, m: Mutation, id: OpId) -> bool {
    match (m, v) {
        (Mutation::ReadValue | Mutation::ReadZxid, Violation::WrongRead { op, .. })
        | (Mutation::ReadZxid, Violation::ReadBeyondHistory { op, .. })
        | (Mutation::DropAckedTxn, Violation::LostWrite { op, .. })
        | (Mutation::WriteVersion, Violation::WrongResult { op, .. }) => op.id == id,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::check::{check, Options};

    fn params(clients: usize, keys: usize, ops: usize) -> Params {
        Params {
            clients,
            keys,
            ops,
            unknown_per_mille: 80,
        }
    }

    #[test]
    fn generated_executions_have_what_the_checks_need() {
        let e = generate(7, &params(5, 3, 3000));
        let r =
            check(&e.history, &e.committed, &Options::default()).unwrap_or_else(|v| panic!("{v}"));
        assert!(r.reads_checked > 500, "{r}");
        assert!(r.writes_checked > 500, "{r}");
        assert!(r.unknown_committed > 10 && r.unknown_unmatched > 10, "{r}");
        let stale = e.history.ops().iter().filter(|op| {
            matches!(op.outcome, Outcome::Ok { zxid, reply: Reply::Read { .. } } if zxid < e.committed.last_zxid())
        });
        assert!(stale.count() > 100);
        // Some reads are stale, so they are not linearizable.
        let strict = Options::default().with_linearizable_reads(true);
        assert!(check(&e.history, &e.committed, &strict).is_err());
        for m in Mutation::ALL {
            let mut bad = e.clone();
            let id = mutate(&mut bad, m, 12345).unwrap();
            let v = check(&bad.history, &bad.committed, &Options::default()).unwrap_err();
            assert!(v.violations.iter().any(|v| names(v, m, id)), "{m:?}: {v}");
        }
    }

    /// The million-op run: no timing assertion, only that it completes. 200,000 ops in debug
    /// builds to keep the test quick; `cargo test --release -p zk-history million` runs all.
    #[test]
    fn check_finishes_on_a_million_ops() {
        let ops = if cfg!(debug_assertions) {
            200_000
        } else {
            1_000_000
        };
        let e = generate(1, &params(64, 1000, ops));
        let start = std::time::Instant::now();
        let r =
            check(&e.history, &e.committed, &Options::default()).unwrap_or_else(|v| panic!("{v}"));
        eprintln!("checked {ops} ops in {:?}: {r}", start.elapsed());
        assert_eq!(r.ops, ops);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]

        #[test]
        fn random_valid_executions_pass(
            seed in any::<u64>(),
            clients in 1usize..6,
            keys in 1usize..5,
            ops in 1usize..400,
        ) {
            let e = generate(seed, &params(clients, keys, ops));
            let r = check(&e.history, &e.committed, &Options::default());
            prop_assert!(r.is_ok(), "{}", r.unwrap_err());
        }

        #[test]
        fn a_single_mutation_is_caught_and_named(
            seed in any::<u64>(),
            clients in 1usize..6,
            keys in 1usize..5,
            ops in 20usize..400,
            which in 0usize..4,
            pick in any::<u64>(),
        ) {
            let mut e = generate(seed, &params(clients, keys, ops));
            let m = Mutation::ALL[which];
            let id = mutate(&mut e, m, pick);
            prop_assume!(id.is_some());
            let id = id.unwrap();
            match check(&e.history, &e.committed, &Options::default()) {
                Ok(r) => prop_assert!(false, "{:?} of op {} not caught: {}", m, id, r),
                Err(v) => prop_assert!(
                    v.violations.iter().any(|v| names(v, m, id)),
                    "{:?} of op {} not named: {}", m, id, v
                ),
            }
        }
    }
}
