//! The reconfiguration invariants the world checks as members activate configs, leaders
//! propose and commit, and members serve:
//!
//! * every member that activated a config version activated the same members for it, and no
//!   activated config has fewer than two voters (`standaloneEnabled`);
//! * a leader commits a proposal only with a majority of every config it needs: the one it
//!   runs, and the one a reconfig in flight proposed (`Proposal.hasAllQuorums`); the ACKs of
//!   a member that no config counts (a removed voter, now a non-voting follower) never make
//!   that majority;
//! * a serving member runs a config at least as new as every committed reconfig its tree
//!   holds (a config is never lost to a leader change or a restart).

use std::collections::{BTreeMap, BTreeSet};

use zk_core::Zxid;
use zk_server::quorum::zab::Txn;
use zk_server::quorum::QuorumVerifier;

/// A reconfig transaction's config (its `SetDataTxn`'s data), if it is one.
pub fn reconfig_config(t: &Txn) -> Option<QuorumVerifier> {
    if t.header.txn_type != zk_core::OpCode::Reconfig.as_i32() {
        return None;
    }
    let zk_core::txn::TxnBody::SetData(s) = &t.body else {
        return None;
    };
    let text = String::from_utf8_lossy(s.data.as_deref().unwrap_or_default());
    QuorumVerifier::parse_qv_text(&text, true).ok()
}

/// A config's content as agreement compares it: its members and their lines, by sid.
pub fn content(qv: &QuorumVerifier) -> String {
    let mut text: Vec<String> = qv
        .to_qv_text()
        .lines()
        .filter(|l| l.starts_with("server."))
        .map(str::to_owned)
        .collect();
    text.sort();
    text.join(",")
}

/// What one leader incarnation proposed, and the ACKs it was sent.
#[derive(Debug, Default)]
struct LeaderWatch {
    /// The voters of every config a proposal needs a majority of.
    quorums: BTreeMap<Zxid, Vec<BTreeSet<i64>>>,
    acks: BTreeMap<Zxid, BTreeSet<i64>>,
    /// A reconfig proposed and not committed: its zxid and its voters.
    pending: Option<(Zxid, BTreeSet<i64>)>,
}

/// The reconfiguration checks' state.
#[derive(Debug, Default)]
pub struct ConfigCheck {
    /// Version -> (content, the first member that activated it).
    activated: BTreeMap<i64, (String, i64)>,
    /// (node, incarnation) -> what it proposed while leading.
    leaders: BTreeMap<(usize, u64), LeaderWatch>,
    /// Reconfig zxid -> its config's version (committed or not).
    pub reconfigs: BTreeMap<Zxid, i64>,
    /// Proposals whose commit the check verified, and reconfigs activated.
    pub commits_checked: u64,
    pub activations: u64,
    /// (node, reconfig) lags already reported.
    lags: BTreeSet<(usize, Zxid)>,
}

impl ConfigCheck {
    /// A member activated `qv`.
    pub fn activated(&mut self, sid: i64, qv: &QuorumVerifier) -> Option<String> {
        self.activations += 1;
        let c = content(qv);
        if qv.voters().len() < 2 {
            return Some(format!(
                "member {sid} activated config {:#x} with fewer than 2 voters: {c}",
                qv.version()
            ));
        }
        match self.activated.get(&qv.version()) {
            Some((other, first)) if *other != c => Some(format!(
                "member {sid} activated config {:#x} as {c}, member {first} as {other}",
                qv.version()
            )),
            Some(_) => None,
            None => {
                self.activated.insert(qv.version(), (c, sid));
                None
            }
        }
    }

    /// A leader incarnation logs a proposal; `voters` are those of the config it runs.
    pub fn proposed(&mut self, leader: (usize, u64), t: &Txn, voters: BTreeSet<i64>) {
        let w = self.leaders.entry(leader).or_default();
        // A reconfig left pending by an earlier term of this incarnation's is not this one's.
        if w.pending
            .as_ref()
            .is_some_and(|(p, _)| p.0 >> 32 != t.zxid().0 >> 32)
        {
            w.pending = None;
        }
        if let Some(qv) = reconfig_config(t) {
            w.pending = Some((t.zxid(), qv.voters()));
            self.reconfigs.insert(t.zxid(), qv.version());
        }
        let mut q = vec![voters];
        if let Some((_, p)) = &w.pending {
            q.push(p.clone());
        }
        w.quorums.insert(t.zxid(), q);
    }

    /// Any member learned the transaction `t`.
    pub fn learned(&mut self, t: &Txn) {
        if let Some(qv) = reconfig_config(t) {
            self.reconfigs.insert(t.zxid(), qv.version());
        }
    }

    /// A leader incarnation was sent an ACK.
    pub fn ack(&mut self, leader: (usize, u64), sid: i64, z: Zxid) {
        if let Some(w) = self.leaders.get_mut(&leader) {
            if w.quorums.contains_key(&z) {
                w.acks.entry(z).or_default().insert(sid);
            }
        }
    }

    /// A leader incarnation committed `z`; its own ACK is assumed (the sim cannot see when
    /// its log write lands), so this is the weakest form of the check.
    pub fn committed(&mut self, leader: (usize, u64), sid: i64, z: Zxid) -> Option<String> {
        let w = self.leaders.get_mut(&leader)?;
        let quorums = w.quorums.remove(&z)?;
        if w.pending.as_ref().is_some_and(|(p, _)| *p == z) {
            w.pending = None;
        }
        let mut acks = w.acks.remove(&z).unwrap_or_default();
        acks.insert(sid);
        self.commits_checked += 1;
        let short: Vec<&BTreeSet<i64>> = quorums
            .iter()
            .filter(|q| q.iter().filter(|s| acks.contains(s)).count() <= q.len() / 2)
            .collect();
        (!short.is_empty()).then(|| {
            format!(
                "leader {sid} committed {z} with the ACKs of {acks:?}, not a majority of \
                 {short:?} (it needs one of each of {quorums:?})"
            )
        })
    }

    /// A leader incarnation ended (crash, restart or a new role).
    pub fn forget(&mut self, node: usize, inc: u64) {
        self.leaders.remove(&(node, inc));
    }

    /// True the first time node `i` is found serving without reconfig `z`'s config.
    pub fn first_lag(&mut self, i: usize, z: Zxid) -> bool {
        self.lags.insert((i, z))
    }

    /// The newest committed reconfig among `lineage`, and its version.
    pub fn newest_in(
        &self,
        lineage: &BTreeSet<Zxid>,
        committed: &BTreeSet<Zxid>,
    ) -> Option<(Zxid, i64)> {
        self.reconfigs
            .iter()
            .rev()
            .find(|(z, _)| lineage.contains(z) && committed.contains(z))
            .map(|(z, v)| (*z, *v))
    }
}
