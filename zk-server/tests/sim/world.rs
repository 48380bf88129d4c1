//! The simulated world: members (peers over model disks), the network between them, clients,
//! a virtual clock, and the faults a seed schedules. Every event is taken from one queue in
//! time order; every random choice comes from the seed.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap};

use zk_core::Zxid;
use zk_history::History;
use zk_server::core::{ConnId, Core, CoreConfig, Output};
use zk_server::quorum::ctx::ZabTiming;
use zk_server::quorum::disk::{DiskDone, DiskOp, Journal};
use zk_server::quorum::leader::LeaderPhase;
use zk_server::quorum::zab::{LinkId, Txn, Zab};
use zk_server::quorum::{
    Boot, ElectionTiming, Notification, Peer, PeerConfig, PeerOutput, QuorumVerifier, ServerState,
    ToSend,
};

use super::admin::{SimAdmin, SUPER_DIGEST};
use super::client::{SimClient, ToServer};
use super::config_check::ConfigCheck;
use super::disk::SimDisk;
use super::rng::Rng;

mod reconfigure;

/// What a run looks like.
#[derive(Debug, Clone)]
pub struct SimConfig {
    pub voters: usize,
    pub observers: usize,
    pub clients: usize,
    /// Faults happen until then (ms).
    pub fault_until: i64,
    /// Clients stop issuing operations then; the run ends at `end`.
    pub quiet_at: i64,
    pub end: i64,
    pub faults: bool,
    pub max_zxid_counter: u32,
    pub commit_log_count: usize,
    pub snap_every: u64,
    pub tick_ms: i64,
    /// Members' clocks jump forward now and then.
    pub clock_jumps: bool,
    /// Members run with `linearizableReads` (and so quorum syncs), and the history check
    /// holds reads to real-time order too.
    pub linearizable_reads: bool,
    /// The leader is asked to hand its leadership over (`ydld`) now and then.
    pub handovers: bool,
    /// Members run with `reconfigEnabled` and a super user reconfigures the ensemble now
    /// and then (see `World::admin_step`).
    pub reconfig: bool,
}

impl SimConfig {
    /// The configuration a seed chooses.
    pub fn from_seed(rng: &mut Rng) -> SimConfig {
        let voters = [3, 3, 3, 5, 1][rng.below(5)];
        SimConfig {
            voters,
            observers: if rng.chance(0.3) { 1 } else { 0 },
            clients: rng.range(1, 4) as usize,
            fault_until: 8_000,
            quiet_at: 20_000,
            end: 26_000,
            faults: true,
            max_zxid_counter: if rng.chance(0.2) {
                rng.range(3, 40) as u32
            } else {
                u32::MAX
            },
            commit_log_count: if rng.chance(0.4) {
                rng.range(1, 8) as usize
            } else {
                500
            },
            snap_every: rng.range(5, 200) as u64,
            tick_ms: 100,
            // From its own stream: the choices above stay what they were for a seed.
            clock_jumps: false,
            linearizable_reads: false,
            handovers: false,
            reconfig: false,
        }
    }
}

#[derive(Debug)]
enum Ev {
    Election {
        to: usize,
        inc: u64,
        n: Notification,
    },
    QConnect {
        from: usize,
        from_inc: u64,
        link: LinkId,
        to: usize,
    },
    QDeliver {
        node: usize,
        inc: u64,
        link: LinkId,
        msg: Box<Zab>,
    },
    QClosed {
        node: usize,
        inc: u64,
        link: LinkId,
    },
    DiskStep {
        node: usize,
        inc: u64,
    },
    Tick {
        node: usize,
        inc: u64,
    },
    Sessions {
        node: usize,
        inc: u64,
    },
    ToServer {
        node: usize,
        inc: u64,
        conn: ConnId,
        msg: ToServer,
    },
    ToClient {
        client: usize,
        conn: ConnId,
        frame: Vec<u8>,
    },
    ClientLost {
        client: usize,
        conn: ConnId,
    },
    ClientStep {
        client: usize,
    },
    Crash {
        node: usize,
    },
    Restart {
        node: usize,
    },
    Partition {
        groups: Vec<usize>,
        sever: bool,
    },
    Heal,
    Pause {
        node: usize,
        until: i64,
    },
    Resume {
        node: usize,
    },
    ClockJump {
        node: usize,
        by: i64,
    },
    /// `ydld` to whoever leads: to this node, or (None) to the most up-to-date follower.
    Handover {
        target: Option<usize>,
    },
    /// The reconfiguring administrator's turn.
    AdminStep,
}

/// The client index of the administrator's connections.
const ADMIN: usize = usize::MAX;

struct Node {
    sid: i64,
    peer: Option<Peer>,
    disk: SimDisk,
    inc: u64,
    tick_at: Option<i64>,
    /// Quorum links: mine -> (other node, its link).
    links: BTreeMap<LinkId, (usize, LinkId)>,
    next_accept: u64,
    /// Client connections on this node.
    conns: BTreeMap<ConnId, usize>,
    paused_until: i64,
    /// Ever started (for restarts of crashed nodes).
    crashed: bool,
    /// The zxids of the history its tree reflects.
    lineage: BTreeSet<Zxid>,
    /// The history of the snapshot a leader sent it (SNAP), until it installs it.
    pending_snap: Option<BTreeSet<Zxid>>,
    /// Events that arrived while it was paused, in order.
    held: Vec<Ev>,
    /// How far its clock is ahead of the world's (clock jumps only go forward).
    skew: i64,
    /// Its dynamic config file: the config it last activated (durable at once), which it
    /// starts from again after a crash.
    config: QuorumVerifier,
}

/// A violation of an invariant, with when and where.
pub type Failure = String;

pub struct World {
    pub seed: u64,
    pub cfg: SimConfig,
    pub rng: Rng,
    pub now: i64,
    seq: u64,
    queue: BinaryHeap<Reverse<(i64, u64, usize)>>,
    events: BTreeMap<usize, Ev>,
    next_ev: usize,
    nodes: Vec<Node>,
    verifier: QuorumVerifier,
    pub clients: Vec<SimClient>,
    pub history: History,
    next_hist: u32,
    next_conn: u64,
    /// Partition group of each node (equal = connected).
    group: Vec<usize>,
    /// Messages over severed links are dropped and the links closed; otherwise just dropped.
    sever: bool,
    /// FIFO: the last delivery time per (kind, from, to, link).
    fifo: BTreeMap<(u8, usize, usize, u64), i64>,
    /// Every transaction any member applied, by zxid (a zxid names one transaction).
    pub txns: BTreeMap<Zxid, Txn>,
    /// The zxids known committed (applied by a commit).
    pub committed: BTreeSet<Zxid>,
    leaders: BTreeMap<u32, i64>,
    digests: BTreeMap<Zxid, (u64, usize)>,
    pub failures: Vec<Failure>,
    pub stats: BTreeMap<&'static str, u64>,
    /// The reconfiguring administrator (reconfig seeds only), with its own stream.
    pub admin: Option<SimAdmin>,
    admin_rng: Rng,
    next_reconfig: i64,
    /// Each member's line in the initial config (what adding it back joins).
    lines: BTreeMap<i64, String>,
    pub config_check: ConfigCheck,
}

fn short(m: &Zab) -> String {
    match m {
        Zab::Proposal(t) => format!("PROPOSAL {} type {}", t.zxid(), t.header.txn_type),
        Zab::Inform(t) => format!("INFORM {} type {}", t.zxid(), t.header.txn_type),
        Zab::Commit(z) => format!("COMMIT {z}"),
        Zab::Ack(z) => format!("ACK {z}"),
        Zab::Diff(z) => format!("DIFF {z}"),
        Zab::Trunc(z) => format!("TRUNC {z}"),
        Zab::Snap { zxid, .. } => format!("SNAP {zxid}"),
        Zab::AckEpoch {
            last_zxid,
            current_epoch,
        } => format!("ACKEPOCH {last_zxid} {current_epoch}"),
        Zab::LeaderInfo { epoch, .. } => format!("LEADERINFO {epoch}"),
        Zab::NewLeader { zxid, .. } => format!("NEWLEADER {zxid}"),
        Zab::Ping { .. } => "PING".into(),
        other => other.name().into(),
    }
}

fn canonical(tree: &zk_server::core::DataTree) -> Vec<String> {
    let mut v: Vec<String> = tree
        .iter()
        .map(|(p, n)| {
            let mut c = n.children();
            c.sort();
            format!("{p} {:?} {:?} {c:?}", n.data, n.stat)
        })
        .collect();
    v.sort();
    v.push(format!("{:?}", tree.sessions()));
    v
}

fn digest(tree: &zk_server::core::DataTree) -> u64 {
    // `/zookeeper/config` holds each member's start time, as Apache's digest skips it.
    let mut v: Vec<String> = tree
        .iter()
        .filter(|(p, _)| !p.starts_with("/zookeeper/"))
        .map(|(p, n)| {
            let mut c = n.children();
            c.sort();
            format!("{p} {:?} {:?} {:?} {c:?}", n.data, n.stat, n.acl)
        })
        .collect();
    v.sort();
    v.push(format!("{:?}", tree.sessions()));
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for s in v {
        for b in s.bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x100_0000_01b3);
        }
    }
    h
}

impl World {
    pub fn new(seed: u64, cfg: SimConfig) -> World {
        let rng = Rng::new(seed ^ 0x5eed_0000);
        let n = cfg.voters + cfg.observers;
        let mut text = String::new();
        let mut lines = BTreeMap::new();
        for i in 0..n {
            let kind = if i < cfg.voters {
                "participant"
            } else {
                "observer"
            };
            let mut line = format!(
                "server.{}=127.0.0.1:{}:{}:{kind}",
                i + 1,
                2000 + i,
                3000 + i
            );
            if cfg.reconfig {
                // A joining server needs its client address.
                line.push_str(&format!(";127.0.0.1:{}", 4000 + i));
            }
            text.push_str(&line);
            text.push('\n');
            lines.insert(i as i64 + 1, line);
        }
        text.push_str("version=0");
        let verifier = QuorumVerifier::parse_qv_text(&text, false).expect("a valid config");
        let nodes = (0..n)
            .map(|i| Node {
                sid: i as i64 + 1,
                peer: None,
                disk: SimDisk::new(cfg.snap_every),
                inc: 0,
                tick_at: None,
                links: BTreeMap::new(),
                next_accept: 1,
                conns: BTreeMap::new(),
                paused_until: 0,
                crashed: false,
                lineage: BTreeSet::new(),
                pending_snap: None,
                held: Vec::new(),
                skew: 0,
                config: verifier.clone(),
            })
            .collect();
        let mut w = World {
            seed,
            cfg: cfg.clone(),
            rng,
            now: 0,
            seq: 0,
            queue: BinaryHeap::new(),
            events: BTreeMap::new(),
            next_ev: 0,
            nodes,
            verifier,
            clients: Vec::new(),
            history: History::new(),
            next_hist: 0,
            next_conn: 1,
            group: vec![0; n],
            sever: false,
            fifo: BTreeMap::new(),
            txns: BTreeMap::new(),
            committed: BTreeSet::new(),
            leaders: BTreeMap::new(),
            digests: BTreeMap::new(),
            failures: Vec::new(),
            stats: BTreeMap::new(),
            admin: None,
            admin_rng: Rng::new(seed ^ 0x2ec0_f1c0),
            next_reconfig: 0,
            lines,
            config_check: ConfigCheck::default(),
        };
        for i in 0..n {
            w.start(i);
        }
        for c in 0..cfg.clients {
            let hist = w.new_hist();
            let mut cl = SimClient::new(c, hist);
            cl.stop_at = cfg.quiet_at;
            w.clients.push(cl);
            let at = w.rng.range(0, 300);
            w.at(at, Ev::ClientStep { client: c });
        }
        if cfg.faults {
            w.schedule_faults();
        }
        if cfg.reconfig {
            w.admin = Some(SimAdmin::default());
            w.next_reconfig = w.admin_rng.range(500, 2500);
            let at = w.admin_rng.range(0, 300);
            w.at(at, Ev::AdminStep);
        }
        w
    }

    fn new_hist(&mut self) -> zk_history::ClientId {
        self.next_hist += 1;
        zk_history::ClientId(self.next_hist)
    }

    fn stat(&mut self, k: &'static str) {
        *self.stats.entry(k).or_default() += 1;
    }

    fn at(&mut self, t: i64, ev: Ev) {
        self.seq += 1;
        let id = self.next_ev;
        self.next_ev += 1;
        self.events.insert(id, ev);
        self.queue.push(Reverse((t.max(self.now), self.seq, id)));
    }

    fn delay(&mut self) -> i64 {
        if self.rng.chance(0.02) {
            self.rng.range(20, 200)
        } else {
            self.rng.range(0, 3)
        }
    }

    fn connected(&self, a: usize, b: usize) -> bool {
        self.group[a] == self.group[b]
    }

    fn schedule_faults(&mut self) {
        let n = self.nodes.len();
        let mut t = self.rng.range(200, 1500);
        while t < self.cfg.fault_until {
            let node = self.rng.below(n);
            match self.rng.below(5) {
                0 | 1 => {
                    self.at(t, Ev::Crash { node });
                    let back = t + self.rng.range(50, 3000);
                    self.at(back, Ev::Restart { node });
                }
                2 => {
                    let groups = (0..n).map(|_| self.rng.below(2)).collect();
                    let sever = self.rng.chance(0.5);
                    self.at(t, Ev::Partition { groups, sever });
                    let heal = t + self.rng.range(100, 4000);
                    self.at(heal, Ev::Heal);
                }
                3 => {
                    let until = t + self.rng.range(50, 3000);
                    self.at(t, Ev::Pause { node, until });
                }
                _ => {
                    // A client's connection drops.
                    if !self.clients.is_empty() {
                        let client = self.rng.below(self.clients.len());
                        if let Some((conn, _)) = self.clients[client].conn {
                            self.at(t, Ev::ClientLost { client, conn });
                        }
                    }
                }
            }
            t += self.rng.range(100, 2500);
        }
        // Clock jumps come from their own stream, so that adding them left the runs of the
        // named regression seeds as they were.
        let mut jumps = Rng::new(self.seed ^ 0xc10c_c10c);
        let mut t = jumps.range(500, 3000);
        while self.cfg.clock_jumps && t < self.cfg.fault_until {
            let node = jumps.below(n);
            let by = jumps.range(50, 2500);
            self.at(t, Ev::ClockJump { node, by });
            t += jumps.range(1000, 6000);
        }
        // Handovers too, until the clients stop (faults or not).
        let mut h = Rng::new(self.seed ^ 0x4a4d_0ff5);
        let mut t = h.range(300, 2000);
        while self.cfg.handovers && t < self.cfg.quiet_at - 2000 {
            let target = h.chance(0.5).then(|| h.below(n));
            self.at(t, Ev::Handover { target });
            t += h.range(300, 3000);
        }
        self.at(self.cfg.fault_until, Ev::Heal);
        for node in 0..n {
            self.at(self.cfg.fault_until + 1, Ev::Restart { node });
        }
    }

    fn start(&mut self, i: usize) {
        let node = &mut self.nodes[i];
        let (tree, recent, lineage) = match node.disk.durable.load() {
            Ok(x) => x,
            Err(e) => {
                self.failures
                    .push(format!("t={} node {} cannot recover: {e}", self.now, i + 1));
                return;
            }
        };
        let (accepted, current) = match node.disk.durable.epochs(tree.last_zxid()) {
            Ok(x) => x,
            Err(e) => {
                self.failures
                    .push(format!("t={} node {} epochs: {e}", self.now, i + 1));
                return;
            }
        };
        let core_cfg = CoreConfig {
            tick_time_ms: self.cfg.tick_ms,
            min_session_timeout_ms: 2 * self.cfg.tick_ms as i32,
            max_session_timeout_ms: 20 * self.cfg.tick_ms as i32,
            server_id: node.sid,
            max_zxid_counter: self.cfg.max_zxid_counter,
            quorum_sync: self.cfg.linearizable_reads,
            linearizable_reads: self.cfg.linearizable_reads,
            reconfig_enabled: self.cfg.reconfig,
            super_digest: self.cfg.reconfig.then(|| SUPER_DIGEST.to_owned()),
            ..CoreConfig::default()
        };
        let core = Core::new(core_cfg, self.now + node.skew);
        let mut timing = ZabTiming::new(self.cfg.tick_ms, 10, 5);
        timing.commit_log_count = self.cfg.commit_log_count;
        let cfg = PeerConfig {
            my_id: node.sid,
            verifier: node.config.clone(),
            timing,
            election: ElectionTiming::default(),
            standalone_enabled: true,
            multi_address: false,
        };
        let recent_from = recent.len().saturating_sub(self.cfg.commit_log_count);
        let boot = Boot {
            tree,
            accepted_epoch: accepted,
            current_epoch: current,
            recent: recent[recent_from..].to_vec(),
        };
        node.inc += 1;
        node.crashed = false;
        node.lineage = lineage;
        node.pending_snap = None;
        node.tick_at = None;
        let mut peer = Peer::new(cfg, core, boot, self.now + node.skew);
        peer.set_journal(true);
        node.peer = Some(peer);
        let inc = node.inc;
        let first_tick = (self.now / self.cfg.tick_ms + 1) * self.cfg.tick_ms;
        self.at(first_tick, Ev::Sessions { node: i, inc });
        self.drain(i);
    }

    fn crash(&mut self, i: usize) {
        if self.nodes[i].peer.is_none() {
            return;
        }
        self.stat("crash");
        self.config_check.forget(i, self.nodes[i].inc);
        let node = &mut self.nodes[i];
        node.peer = None;
        node.crashed = true;
        node.inc += 1;
        let mut rng = self.rng.fork();
        node.disk.crash(&mut rng);
        let links: Vec<(usize, LinkId)> = std::mem::take(&mut node.links).into_values().collect();
        let conns: Vec<(ConnId, usize)> = std::mem::take(&mut node.conns).into_iter().collect();
        for (other, link) in links {
            self.nodes[other].links.remove(&link);
            let inc = self.nodes[other].inc;
            let d = self.delay();
            self.at(
                self.now + d,
                Ev::QClosed {
                    node: other,
                    inc,
                    link,
                },
            );
        }
        for (conn, client) in conns {
            let d = self.delay();
            self.at(self.now + d, Ev::ClientLost { client, conn });
        }
    }

    /// Runs until the end; returns the failures.
    pub fn run(&mut self) {
        let mut events: u64 = 0;
        while let Some(Reverse((t, _, id))) = self.queue.pop() {
            if t > self.cfg.end {
                break;
            }
            events += 1;
            if events > 3_000_000 {
                self.failures.push(format!(
                    "t={} over {events} events (a livelock?): {:?}",
                    self.now, self.stats
                ));
                return;
            }
            if std::env::var_os("ZK_SIM_TRACE").is_some() && events % 100_000 == 0 {
                eprintln!("t={t} events={events} stats={:?}", self.stats);
            }
            self.now = t;
            let Some(ev) = self.events.remove(&id) else {
                continue;
            };
            self.step(ev);
            if self.failures.len() > 5 {
                return;
            }
        }
        self.now = self.cfg.end;
    }

    fn alive(&self, node: usize, inc: u64) -> bool {
        self.nodes[node].peer.is_some() && self.nodes[node].inc == inc
    }

    /// Holds an event for a paused node (a stopped process: what reaches it waits, in
    /// order, until it runs again); true when held.
    fn deferred(&mut self, node: usize, ev: &mut Option<Ev>) -> bool {
        if self.nodes[node].paused_until > self.now {
            if let Some(e) = ev.take() {
                self.nodes[node].held.push(e);
            }
            return true;
        }
        false
    }

    /// A paused node runs again: what it was sent is handled in order.
    fn resume(&mut self, node: usize) {
        if self.nodes[node].paused_until > self.now {
            return;
        }
        self.nodes[node].paused_until = 0;
        for e in std::mem::take(&mut self.nodes[node].held) {
            self.step(e);
        }
    }

    fn step(&mut self, ev: Ev) {
        let target = match &ev {
            Ev::Election { to, .. } => Some(*to),
            Ev::QDeliver { node, .. }
            | Ev::QClosed { node, .. }
            | Ev::DiskStep { node, .. }
            | Ev::Tick { node, .. }
            | Ev::Sessions { node, .. }
            | Ev::ToServer { node, .. } => Some(*node),
            Ev::QConnect { to, .. } => Some(*to),
            _ => None,
        };
        let mut ev = Some(ev);
        if let Some(n) = target {
            if self.deferred(n, &mut ev) {
                return;
            }
        }
        let Some(ev) = ev else { return };
        // The target's own clock.
        let now = self.now + target.map_or(0, |n| self.nodes[n].skew);
        let _span = tracing::info_span!("", t = now, n = target.map_or(0, |n| n + 1)).entered();
        match &ev {
            Ev::QDeliver { link, msg, .. } => {
                tracing::debug!(link = link.0, "recv {}", short(msg))
            }
            Ev::Election { n, .. } => tracing::trace!(from = n.from, "notification {:?}", n.state),
            Ev::QClosed { link, .. } => tracing::debug!(link = link.0, "link closed"),
            Ev::Crash { node } => tracing::info!("CRASH node {}", node + 1),
            Ev::Restart { node } => tracing::info!("RESTART node {}", node + 1),
            Ev::Partition { groups, sever } => tracing::info!(?groups, sever, "PARTITION"),
            Ev::Pause { node, until } => tracing::info!(until, "PAUSE node {}", node + 1),
            _ => {}
        }
        match ev {
            Ev::Election { to, inc, n } => {
                if self.alive(to, inc) {
                    self.stat("election_msgs");
                    self.peer(to).election_message(now, n);
                    self.drain(to);
                }
            }
            Ev::QConnect {
                from,
                from_inc,
                link,
                to,
            } => {
                let ok = self.alive(from, from_inc)
                    && self.nodes[to].peer.is_some()
                    && self.connected(from, to);
                if !ok {
                    if self.alive(from, from_inc) {
                        let t = self.now + self.nodes[from].skew;
                        self.peer(from).quorum_closed(t, link);
                        self.drain(from);
                    }
                    return;
                }
                let theirs = LinkId(self.nodes[to].next_accept);
                self.nodes[to].next_accept += 1;
                self.nodes[from].links.insert(link, (to, theirs));
                self.nodes[to].links.insert(theirs, (from, link));
                self.peer(to).quorum_accepted(now, theirs);
                self.drain(to);
                if self.nodes[from].links.contains_key(&link) {
                    let t = self.now + self.nodes[from].skew;
                    self.peer(from).quorum_connected(t, link);
                    self.drain(from);
                }
            }
            Ev::QDeliver {
                node,
                inc,
                link,
                msg,
            } => {
                if self.alive(node, inc) && self.nodes[node].links.contains_key(&link) {
                    self.stat("quorum_msgs");
                    if let Zab::Ack(z) = &*msg {
                        let from = self.nodes[node].links[&link].0;
                        let sid = self.nodes[from].sid;
                        self.config_check.ack((node, inc), sid, *z);
                    }
                    self.peer(node).quorum_message(now, link, *msg);
                    self.drain(node);
                }
            }
            Ev::QClosed { node, inc, link } => {
                if self.alive(node, inc) {
                    self.nodes[node].links.remove(&link);
                    self.peer(node).quorum_closed(now, link);
                    self.drain(node);
                }
            }
            Ev::DiskStep { node, inc } => {
                if !self.alive(node, inc) {
                    return;
                }
                let mut rng = self.rng.fork();
                let (done, cost) = self.nodes[node].disk.step(&mut rng);
                for d in done {
                    if let DiskDone::Failed(why) = &d {
                        self.failures
                            .push(format!("t={now} node {} disk misuse: {why}", node + 1));
                    }
                    self.peer(node).disk_done(now, d);
                    self.drain(node);
                    if !self.alive(node, inc) {
                        return;
                    }
                }
                if self.nodes[node].disk.has_work() {
                    self.at(self.now + cost, Ev::DiskStep { node, inc });
                } else {
                    self.nodes[node].disk.busy = false;
                }
            }
            Ev::Tick { node, inc } => {
                if self.alive(node, inc) && self.nodes[node].tick_at == Some(self.now) {
                    self.nodes[node].tick_at = None;
                    self.peer(node).tick(now);
                    self.drain(node);
                }
            }
            Ev::Sessions { node, inc } => {
                if self.alive(node, inc) {
                    self.peer(node).expire_sessions(now);
                    self.drain(node);
                    let next = self.now + self.cfg.tick_ms;
                    self.at(next, Ev::Sessions { node, inc });
                }
            }
            Ev::ToServer {
                node,
                inc,
                conn,
                msg,
            } => {
                if !self.alive(node, inc) || !self.nodes[node].conns.contains_key(&conn) {
                    return;
                }
                match msg {
                    ToServer::Connect(req) => {
                        let p = self.peer(node);
                        p.client_accept(now, conn, "127.0.0.1:9999".parse().unwrap());
                        p.client_connect(now, conn, &req);
                    }
                    ToServer::Request { xid, op, body } => {
                        self.peer(node).client_request(now, conn, xid, op, &body)
                    }
                }
                self.drain(node);
            }
            Ev::ToClient {
                client,
                conn,
                frame,
            } => {
                if client == ADMIN {
                    return self.admin_frame(conn, &frame);
                }
                let c = &mut self.clients[client];
                if c.conn.map(|(cc, _)| cc) != Some(conn) {
                    return;
                }
                if !c.connected {
                    let mut nh = None;
                    let ok = {
                        let next = &mut self.next_hist;
                        c.handshake(&frame, || {
                            *next += 1;
                            let id = zk_history::ClientId(*next);
                            nh = Some(id);
                            id
                        })
                    };
                    if !ok {
                        self.stat("client_expired");
                        self.drop_client_conn(client);
                    }
                } else {
                    c.reply(now, &frame, &mut self.history);
                }
            }
            Ev::ClientLost { client, conn } => {
                if client == ADMIN {
                    if self.admin.as_ref().and_then(|a| a.conn).map(|(cc, _)| cc) == Some(conn) {
                        self.drop_client_conn(client);
                    }
                    return;
                }
                if self.clients[client].conn.map(|(cc, _)| cc) == Some(conn) {
                    self.drop_client_conn(client);
                }
            }
            Ev::ClientStep { client } => {
                self.client_step(client);
                let d = self.rng.range(5, 60);
                self.at(now + d, Ev::ClientStep { client });
            }
            Ev::AdminStep => {
                self.admin_step();
                let d = self.admin_rng.range(10, 60);
                self.at(self.now + d, Ev::AdminStep);
            }
            Ev::Crash { node } => self.crash(node),
            Ev::Restart { node } => {
                if self.nodes[node].peer.is_none() {
                    self.stat("restart");
                    self.start(node);
                }
            }
            Ev::Partition { groups, sever } => {
                self.stat("partition");
                self.group = groups;
                self.sever = sever;
                if sever {
                    self.sever_links();
                }
            }
            Ev::Heal => {
                self.group = vec![0; self.nodes.len()];
                for n in 0..self.nodes.len() {
                    self.nodes[n].paused_until = 0;
                    self.resume(n);
                }
            }
            Ev::Pause { node, until } => {
                self.stat("pause");
                self.nodes[node].paused_until = self.nodes[node].paused_until.max(until);
                self.at(until, Ev::Resume { node });
            }
            Ev::Resume { node } => self.resume(node),
            Ev::ClockJump { node, by } => {
                self.stat("clock_jump");
                self.nodes[node].skew += by;
            }
            Ev::Handover { target } => {
                let leader = (0..self.nodes.len()).find(|i| {
                    self.nodes[*i].paused_until <= self.now
                        && self.nodes[*i]
                            .peer
                            .as_ref()
                            .is_some_and(|p| p.state() == ServerState::Leading)
                });
                if let Some(i) = leader {
                    self.stat("handover");
                    let sid = target.map(|t| self.nodes[t].sid);
                    let now = self.now + self.nodes[i].skew;
                    let answer = self.peer(i).yield_leadership(now, sid);
                    tracing::info!(answer = answer.trim_end(), "HANDOVER at node {}", i + 1);
                    self.drain(i);
                }
            }
        }
    }

    fn sever_links(&mut self) {
        for a in 0..self.nodes.len() {
            let cut: Vec<(LinkId, usize, LinkId)> = self.nodes[a]
                .links
                .iter()
                .filter(|(_, (b, _))| self.group[a] != self.group[*b])
                .map(|(l, (b, lb))| (*l, *b, *lb))
                .collect();
            for (l, b, lb) in cut {
                self.nodes[a].links.remove(&l);
                self.nodes[b].links.remove(&lb);
                let (ia, ib) = (self.nodes[a].inc, self.nodes[b].inc);
                let d = self.delay();
                self.at(
                    self.now + d,
                    Ev::QClosed {
                        node: a,
                        inc: ia,
                        link: l,
                    },
                );
                self.at(
                    self.now + d,
                    Ev::QClosed {
                        node: b,
                        inc: ib,
                        link: lb,
                    },
                );
            }
        }
    }

    fn drop_client_conn(&mut self, client: usize) {
        let now = self.now;
        if client == ADMIN {
            let Some(a) = self.admin.as_mut() else { return };
            let conn = a.conn;
            a.lost();
            if let Some((conn, node)) = conn {
                self.nodes[node].conns.remove(&conn);
                if let Some(p) = self.nodes[node].peer.as_mut() {
                    p.client_closed(now, conn);
                }
                self.drain(node);
            }
            return;
        }
        if let Some((conn, node)) = self.clients[client].conn {
            self.nodes[node].conns.remove(&conn);
            if let Some(p) = self.nodes[node].peer.as_mut() {
                p.client_closed(now, conn);
            }
            self.drain(node);
        }
        self.clients[client].lost(now, &mut self.history);
    }

    /// Opens connection `conn` of `owner` (a client, or the administrator) to member `node`
    /// with the handshake `req`; a member that is down refuses it (`ClientLost`).
    fn open_connection(
        &mut self,
        owner: usize,
        node: usize,
        conn: ConnId,
        req: zk_core::proto::ConnectRequest,
    ) {
        let now = self.now;
        let d = self.delay();
        if self.nodes[node].peer.is_none() {
            self.at(
                now + d,
                Ev::ClientLost {
                    client: owner,
                    conn,
                },
            );
            return;
        }
        self.nodes[node].conns.insert(conn, owner);
        let inc = self.nodes[node].inc;
        self.at(
            now + d,
            Ev::ToServer {
                node,
                inc,
                conn,
                msg: ToServer::Connect(req),
            },
        );
    }

    fn client_step(&mut self, client: usize) {
        let now = self.now;
        if self.clients[client].conn.is_none() {
            // Connect to a random member (it may be down: then the connection is refused).
            let node = self.rng.below(self.nodes.len());
            let conn = ConnId(self.next_conn);
            self.next_conn += 1;
            self.clients[client].conn = Some((conn, node));
            let req = self.clients[client].connect_request();
            self.open_connection(client, node, conn, req);
            return;
        }
        let mut rng = self.rng.fork();
        let Some(msg) = self.clients[client].next(now, &mut rng, &mut self.history) else {
            return;
        };
        let Some((conn, node)) = self.clients[client].conn else {
            return;
        };
        let inc = self.nodes[node].inc;
        let t = self.fifo_time(3, client, node, conn.0);
        self.at(
            t,
            Ev::ToServer {
                node,
                inc,
                conn,
                msg,
            },
        );
    }

    /// A delivery time after `now` that keeps the channel first-in first-out.
    fn fifo_time(&mut self, kind: u8, from: usize, to: usize, chan: u64) -> i64 {
        let d = self.delay();
        let t = self.now + d;
        let e = self.fifo.entry((kind, from, to, chan)).or_insert(0);
        let t = t.max(*e);
        *e = t;
        t
    }

    fn peer(&mut self, i: usize) -> &mut Peer {
        self.nodes[i].peer.as_mut().expect("a live peer")
    }

    fn idx(&self, sid: i64) -> usize {
        (sid - 1) as usize
    }

    /// Carries out everything a member asked for, then checks the invariants it may touch.
    fn drain(&mut self, i: usize) {
        loop {
            let Some(o) = self.nodes[i].peer.as_mut().and_then(Peer::poll_output) else {
                break;
            };
            self.output(i, o);
        }
        let Some(p) = self.nodes[i].peer.as_mut() else {
            return;
        };
        let journal = p.take_journal();
        let timeout = p.poll_timeout().map(|t| t - self.nodes[i].skew);
        let inc = self.nodes[i].inc;
        if let Some(t) = timeout {
            // A deadline that has passed is handled at the next millisecond (a role that
            // keeps one in the past must not stall virtual time).
            let t = t.max(self.now + 1);
            if self.nodes[i].tick_at.is_none_or(|a| a > t || a < self.now) {
                self.nodes[i].tick_at = Some(t);
                self.at(t, Ev::Tick { node: i, inc });
            }
        }
        for j in journal {
            self.journal(i, j);
        }
        self.check_node(i);
    }

    fn learn(&mut self, i: usize, t: Txn) {
        let z = t.zxid();
        match self.txns.get(&z) {
            Some(c) if *c != t => self.failures.push(format!(
                "t={} node {} applied {:?} at {z} where another member applied {:?}",
                self.now,
                i + 1,
                t.header,
                c.header
            )),
            Some(_) => {}
            None => {
                self.config_check.learned(&t);
                self.txns.insert(z, t);
            }
        }
        self.nodes[i].lineage.insert(z);
    }

    fn journal(&mut self, i: usize, j: Journal) {
        match j {
            Journal::Committed(t) => {
                // Committed for Zab once a serving member applies it. A learner applies the
                // committed part of its sync before the new epoch is established (as
                // Apache's does); those transactions count once their leader serves (see
                // `check_node`), since a leader that never got a quorum may have handed out
                // what only it had logged (a proposal of a leader that died, the no-op of a
                // leadership handover).
                if self.nodes[i].peer.as_ref().is_some_and(|p| p.serving()) {
                    self.committed.insert(t.zxid());
                }
                if self.nodes[i]
                    .peer
                    .as_ref()
                    .is_some_and(|p| p.leader_state().is_some())
                {
                    let key = (i, self.nodes[i].inc);
                    let sid = self.nodes[i].sid;
                    if let Some(f) = self.config_check.committed(key, sid, t.zxid()) {
                        self.failures.push(format!("t={} {f}", self.now));
                    }
                }
                self.learn(i, t);
            }
            Journal::Replayed(t) => self.learn(i, t),
            Journal::Installed(z) => match self.nodes[i].pending_snap.take() {
                Some(l) if l.last().is_none_or(|m| *m <= z) => self.nodes[i].lineage = l,
                other => self.failures.push(format!(
                    "t={} node {} installed a snapshot at {z} it was not sent ({other:?})",
                    self.now,
                    i + 1
                )),
            },
            Journal::Reloaded(z) => match self.nodes[i].disk.durable.load() {
                Ok((_, _, l)) => {
                    self.nodes[i].lineage = l.into_iter().filter(|x| *x <= z).collect()
                }
                Err(e) => self
                    .failures
                    .push(format!("t={} node {} reload: {e}", self.now, i + 1)),
            },
        }
    }

    fn check_node(&mut self, i: usize) {
        let Some(p) = self.nodes[i].peer.as_ref() else {
            return;
        };
        if let Some(l) = p.leader_state() {
            if l.phase() == LeaderPhase::Broadcast {
                if let Some(e) = l.epoch() {
                    let sid = p.my_id();
                    match self.leaders.get(&e) {
                        Some(other) if *other != sid => self.failures.push(format!(
                            "t={} two leaders in epoch {e}: {other} and {sid}",
                            self.now
                        )),
                        Some(_) => {}
                        None => {
                            self.leaders.insert(e, sid);
                            // A new leader holds every transaction ever committed.
                            let lineage = &self.nodes[i].lineage;
                            let lost: Vec<Zxid> = self
                                .committed
                                .iter()
                                .filter(|z| !lineage.contains(z))
                                .copied()
                                .collect();
                            // Established: its whole history is committed now.
                            let history: Vec<Zxid> = lineage.iter().copied().collect();
                            self.committed.extend(history);
                            if !lost.is_empty() {
                                self.failures.push(format!(
                                    "t={} leader {sid} of epoch {e} lacks committed {lost:?}",
                                    self.now
                                ));
                            }
                        }
                    }
                }
            }
        }
        if self.cfg.reconfig && p.serving() {
            let newest = self
                .config_check
                .newest_in(&self.nodes[i].lineage, &self.committed);
            let have = self.nodes[i].config.version();
            if let Some((z, v)) = newest.filter(|(_, v)| have < *v) {
                if self.config_check.first_lag(i, z) {
                    self.failures.push(format!(
                        "t={} node {} serves ({:?}) under config {have:#x}, but its tree holds \
                         the committed reconfig {z} (config {v:#x})",
                        self.now,
                        i + 1,
                        p.state()
                    ));
                }
            }
        }
        if p.serving() && self.rng.chance(0.05) {
            let z = p.last_zxid();
            let d = digest(p.core().tree());
            match self.digests.get(&z) {
                Some((other, n)) if *other != d => {
                    let msg = format!(
                        "t={} node {} tree at {z} differs from node {}'s",
                        self.now,
                        i + 1,
                        n + 1
                    );
                    if std::env::var_os("ZK_SIM_TRACE").is_some() {
                        eprintln!(
                            "{msg}\n  node {} tree: {}",
                            i + 1,
                            canonical(p.core().tree()).join("\n    ")
                        );
                    }
                    self.failures.push(msg);
                }
                Some(_) => {}
                None => {
                    self.digests.insert(z, (d, i));
                }
            }
        }
    }

    fn output(&mut self, i: usize, o: PeerOutput) {
        let now = self.now;
        match o {
            PeerOutput::Client(Output::Send { conn, frame, .. }) => {
                if let Some(&client) = self.nodes[i].conns.get(&conn) {
                    let t = self.fifo_time(4, i, client, conn.0);
                    self.at(
                        t,
                        Ev::ToClient {
                            client,
                            conn,
                            frame,
                        },
                    );
                }
            }
            PeerOutput::Client(Output::Close { conn }) => {
                if let Some(client) = self.nodes[i].conns.remove(&conn) {
                    let t = self.fifo_time(4, i, client, conn.0);
                    self.at(t, Ev::ClientLost { client, conn });
                }
            }
            PeerOutput::Client(_) => {}
            PeerOutput::Election(m) => self.election_send(i, m),
            PeerOutput::ElectionConnectAll => {}
            PeerOutput::QuorumConnect { link, sid } => {
                let to = self.idx(sid);
                let d = self.delay();
                let from_inc = self.nodes[i].inc;
                self.at(
                    now + d + 1,
                    Ev::QConnect {
                        from: i,
                        from_inc,
                        link,
                        to,
                    },
                );
            }
            PeerOutput::QuorumSend { link, msg } => {
                let Some(&(other, theirs)) = self.nodes[i].links.get(&link) else {
                    return;
                };
                if !self.connected(i, other) {
                    // A connection cannot lose a message and deliver the next ones: across
                    // the partition it is dead from now on, and both ends find out only by
                    // their timeouts.
                    self.nodes[i].links.remove(&link);
                    self.nodes[other].links.remove(&theirs);
                    return;
                }
                if let Zab::Snap { zxid, .. } = &msg {
                    let l: BTreeSet<Zxid> = self.nodes[i]
                        .lineage
                        .iter()
                        .filter(|x| **x <= *zxid)
                        .copied()
                        .collect();
                    self.nodes[other].pending_snap = Some(l);
                }
                let inc = self.nodes[other].inc;
                let t = self.fifo_time(2, i, other, link.0);
                self.at(
                    t,
                    Ev::QDeliver {
                        node: other,
                        inc,
                        link: theirs,
                        msg: Box::new(msg),
                    },
                );
            }
            PeerOutput::QuorumClose { link } => {
                if let Some((other, theirs)) = self.nodes[i].links.remove(&link) {
                    self.nodes[other].links.remove(&theirs);
                    let inc = self.nodes[other].inc;
                    let t = self.fifo_time(2, i, other, link.0);
                    self.at(
                        t,
                        Ev::QClosed {
                            node: other,
                            inc,
                            link: theirs,
                        },
                    );
                }
            }
            PeerOutput::Disk(op) => {
                if let DiskOp::Append(t) = &op {
                    let leading = self.nodes[i]
                        .peer
                        .as_ref()
                        .and_then(|p| p.leader_state())
                        .is_some_and(|l| l.phase() == LeaderPhase::Broadcast);
                    if leading {
                        let voters = self.nodes[i].config.voters();
                        self.config_check
                            .proposed((i, self.nodes[i].inc), t, voters);
                    }
                }
                let node = &mut self.nodes[i];
                let lineage = match &op {
                    DiskOp::Snapshot { wait: true, .. } => {
                        node.pending_snap.clone().unwrap_or_default()
                    }
                    DiskOp::Snapshot { tree, .. } => {
                        let z = tree.last_zxid();
                        node.lineage.iter().filter(|x| **x <= z).copied().collect()
                    }
                    _ => BTreeSet::new(),
                };
                node.disk.submit(op, lineage);
                if !node.disk.busy {
                    node.disk.busy = true;
                    let inc = node.inc;
                    self.at(now, Ev::DiskStep { node: i, inc });
                }
            }
            PeerOutput::State(_) => {}
            PeerOutput::Config(qv) => {
                // Addresses are sids here: the network needs nothing; the member's dynamic
                // config file is now this config.
                self.stat("config_activated");
                let sid = self.nodes[i].sid;
                tracing::info!(
                    version = format!("{:#x}", qv.version()),
                    voters = ?qv.voters(),
                    observers = ?qv.observers(),
                    "CONFIG at node {}",
                    i + 1
                );
                if let Some(f) = self.config_check.activated(sid, &qv) {
                    self.failures.push(format!("t={now} {f}"));
                }
                self.nodes[i].config = qv;
            }
            PeerOutput::Fatal(why) => {
                self.failures
                    .push(format!("t={now} node {} fatal: {why}", i + 1));
            }
            _ => {}
        }
    }

    fn election_send(&mut self, i: usize, m: ToSend) {
        let to = self.idx(m.to);
        if to >= self.nodes.len() || !self.connected(i, to) || self.nodes[to].peer.is_none() {
            return;
        }
        let n = m.received_from(self.nodes[i].sid);
        let inc = self.nodes[to].inc;
        let t = self.fifo_time(1, i, to, 0);
        if self.rng.chance(0.05) {
            // Apache's SendWorker re-sends its last message when a connection comes back.
            let later = t + self.rng.range(1, 400);
            self.at(
                later,
                Ev::Election {
                    to,
                    inc,
                    n: n.clone(),
                },
            );
        }
        self.at(t, Ev::Election { to, inc, n });
    }

    /// The end-of-run checks: liveness, convergence, ephemerals, the client history.
    pub fn finish(&mut self) {
        let serving: Vec<(usize, ServerState, Zxid, bool)> = self
            .nodes
            .iter()
            .enumerate()
            .filter_map(|(i, n)| {
                n.peer
                    .as_ref()
                    .map(|p| (i, p.state(), p.last_zxid(), p.serving()))
            })
            .collect();
        let leaders: Vec<usize> = serving
            .iter()
            .filter(|s| s.1 == ServerState::Leading && s.3)
            .map(|s| s.0)
            .collect();
        if leaders.len() != 1 {
            self.failures.push(format!(
                "liveness: {} serving leaders at the end: {serving:?}",
                leaders.len()
            ));
            return;
        }
        let not_serving: Vec<_> = serving.iter().filter(|s| !s.3).collect();
        if !not_serving.is_empty() {
            self.failures.push(format!(
                "liveness: members not serving at the end: {not_serving:?}"
            ));
        }
        // A leader's last processed zxid is `epoch << 32` until its first proposal, so the
        // members' zxids may differ by that marker; their trees may not.
        let ds: BTreeSet<u64> = self
            .nodes
            .iter()
            .filter_map(|n| n.peer.as_ref().map(|p| digest(p.core().tree())))
            .collect();
        if ds.len() != 1 {
            self.failures.push(format!(
                "members hold different trees at the end: {serving:?}"
            ));
        }
        for (i, n) in self.nodes.iter().enumerate() {
            let Some(p) = n.peer.as_ref() else { continue };
            let t = p.core().tree();
            for (s, paths) in t.ephemerals_by_session() {
                if !t.sessions().contains_key(&s) {
                    self.failures.push(format!(
                        "node {}: ephemerals {paths:?} of the closed session {s}",
                        i + 1
                    ));
                }
            }
        }
        let quiet = self.cfg.quiet_at;
        let after_faults = self
            .clients
            .iter()
            .flat_map(|c| c.ok_writes_after.iter())
            .filter(|t| **t > self.cfg.fault_until)
            .count();
        if self.cfg.clients > 0 && after_faults == 0 && quiet > self.cfg.fault_until {
            self.failures
                .push("liveness: no write succeeded after the faults stopped".into());
        }
        // Every member holds the same history, with every committed transaction in it.
        let reference = self.nodes[leaders[0]].lineage.clone();
        for (i, n) in self.nodes.iter().enumerate() {
            if n.peer.is_some() && n.lineage != reference {
                let only: Vec<_> = n.lineage.symmetric_difference(&reference).take(5).collect();
                self.failures.push(format!(
                    "node {}'s history differs from the leader's: {only:?}",
                    i + 1
                ));
            }
        }
        // Every reconfig the administrator was told succeeded is every member's config now
        // (or an older one's successor).
        let told = self
            .admin
            .iter()
            .flat_map(|a| a.attempts.iter())
            .filter_map(|a| a.answer.and_then(Result::ok))
            .max();
        for (i, n) in self.nodes.iter().enumerate() {
            if let (Some(v), Some(_)) = (told, n.peer.as_ref()) {
                if n.config.version() < v {
                    self.failures.push(format!(
                        "node {} runs config {:#x} at the end, older than the reconfig {v:#x} \
                         the administrator was told succeeded",
                        i + 1,
                        n.config.version()
                    ));
                }
            }
        }
        let lost: Vec<_> = self.committed.difference(&reference).take(5).collect();
        if !lost.is_empty() {
            self.failures
                .push(format!("committed transactions lost: {lost:?}"));
        }
        self.check_history(leaders[0]);
    }

    fn check_history(&mut self, leader: usize) {
        let committed = self.committed(leader);
        let opts = zk_history::Options::default()
            .with_contiguous_zxids(false)
            .with_linearizable_reads(self.cfg.linearizable_reads);
        if let Err(v) = zk_history::check(&self.history, &committed, &opts) {
            self.failures.push(format!("history: {v}"));
        }
    }

    /// The reads that break real-time order (stale reads), by the linearizable-reads check
    /// over the committed history of the first node that leads at the end.
    pub fn stale_reads(&self) -> usize {
        let Some(leader) = (0..self.nodes.len()).find(|i| {
            self.nodes[*i]
                .peer
                .as_ref()
                .is_some_and(|p| p.state() == ServerState::Leading)
        }) else {
            return 0;
        };
        let opts = zk_history::Options::default()
            .with_contiguous_zxids(false)
            .with_linearizable_reads(true);
        match zk_history::check(&self.history, &self.committed(leader), &opts) {
            Ok(_) => 0,
            Err(v) => v.violations.len(),
        }
    }

    fn committed(&self, leader: usize) -> zk_history::CommittedHistory {
        let txns: Vec<zk_history::Txn> = self.nodes[leader]
            .lineage
            .iter()
            .filter_map(|z| self.txns.get(z))
            .map(|t| zk_history::Txn {
                zxid: t.zxid(),
                session_id: Some(t.header.client_id),
                change: super::change_of(&t.body),
            })
            .collect();
        zk_history::CommittedHistory::from_start(txns)
    }
}
