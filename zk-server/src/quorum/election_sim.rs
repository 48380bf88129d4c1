//! A deterministic in-memory network of [`Election`]s: every fault comes from one seed, which a
//! failing assertion prints.
//!
//! The network models what Apache's `QuorumCnxManager` does to notifications: per-link FIFO
//! (TCP), random delays, a send queue of one that drops an older message not yet written when a
//! newer one comes (`SEND_CAPACITY`), and the re-send of a link's last message when it comes back
//! up (`lastMessageSent`), which delivers stale duplicates; a message to a member that is not
//! listening yet waits (the last one per link) until it is. Peers may be down for the whole run
//! or start late. Decided members refresh their vote's peerEpoch after "syncing"
//! (ZOOKEEPER-1732): a leader once a quorum of voters follows it (Apache's leader gives up
//! otherwise, which is not modelled), the others after their leader.
//!
//! `SIM_RUNS=N` runs N seeds per test instead of the default; `SIM_TRACE=1` (with
//! `--nocapture`) prints every delivery and the slowest decision times.

use std::collections::{BTreeMap, VecDeque};

use zk_core::Zxid;

use super::election::{Decision, Delivery, Election, ElectionTiming, Output};
use super::notification::Notification;
use super::verifier::QuorumVerifier;
use super::vote::ServerState;

/// splitmix64: a small, seedable PRNG (no OS randomness).
#[derive(Debug, Clone)]
pub(crate) struct SplitMix64(u64);

impl SplitMix64 {
    pub(crate) fn new(seed: u64) -> SplitMix64 {
        SplitMix64(seed)
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0).
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        assert!(n > 0);
        self.next_u64() % n
    }

    /// True with probability `percent`/100.
    pub(crate) fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

/// What a run looks like.
#[derive(Debug, Clone)]
struct Scenario {
    voters: i64,
    observers: i64,
    /// Members that never start (and drop what is sent to them).
    down: Vec<i64>,
    /// (sid, start time) of each member that runs.
    starts: Vec<(i64, i64)>,
    /// (last zxid, current epoch) per member.
    data: BTreeMap<i64, (Zxid, i64)>,
    max_delay_ms: i64,
    evict_percent: u64,
    duplicate_percent: u64,
}

struct Peer {
    election: Election,
    started: bool,
    decided: Option<(i64, Decision)>,
    /// When this member "finishes syncing" and refreshes its vote's peerEpoch.
    sync_at: Option<i64>,
    synced: bool,
}

struct Message {
    deliver_at: i64,
    n: Notification,
}

struct Net {
    rng: SplitMix64,
    now: i64,
    peers: BTreeMap<i64, Peer>,
    /// Messages in flight per (from, to), in order.
    links: BTreeMap<(i64, i64), VecDeque<Message>>,
    /// The last message put on each link, for stale re-sends.
    last_sent: BTreeMap<(i64, i64), Notification>,
    /// Per link, the last message for a member not listening yet.
    held: BTreeMap<(i64, i64), Notification>,
    scenario: Scenario,
}

impl Net {
    fn new(seed: u64, scenario: Scenario) -> Net {
        let qv = verifier(scenario.voters, scenario.observers);
        let peers = (1..=scenario.voters + scenario.observers)
            .map(|sid| {
                let peer = Peer {
                    election: Election::new(sid, &qv, ElectionTiming::default()),
                    started: false,
                    decided: None,
                    sync_at: None,
                    synced: false,
                };
                (sid, peer)
            })
            .collect();
        Net {
            rng: SplitMix64::new(seed),
            now: 0,
            peers,
            links: BTreeMap::new(),
            last_sent: BTreeMap::new(),
            held: BTreeMap::new(),
            scenario,
        }
    }

    fn is_down(&self, sid: i64) -> bool {
        self.scenario.down.contains(&sid)
    }

    /// Moves `sid`'s outputs onto the network.
    fn drain(&mut self, sid: i64) {
        while let Some(out) = self.peers.get_mut(&sid).unwrap().election.poll_output() {
            match out {
                Output::Send(m) => {
                    if self.is_down(m.to) {
                        continue;
                    }
                    let key = (sid, m.to);
                    let n = m.received_from(sid);
                    let link = self.links.entry(key).or_default();
                    // The send queue holds one message: an older one not yet written is lost.
                    if link.back().is_some_and(|last| last.deliver_at > self.now)
                        && self.rng.chance(self.scenario.evict_percent)
                    {
                        link.pop_back();
                    }
                    let earliest = link.back().map_or(self.now, |m| m.deliver_at);
                    let delay = 1 + self.rng.below(self.scenario.max_delay_ms as u64) as i64;
                    link.push_back(Message {
                        deliver_at: earliest.max(self.now + delay),
                        n: n.clone(),
                    });
                    self.last_sent.insert(key, n);
                }
                Output::Decided(d) => {
                    let peer = self.peers.get_mut(&sid).unwrap();
                    assert!(peer.decided.is_none(), "{sid} decided twice");
                    peer.decided = Some((self.now, d));
                }
                Output::ConnectAll => {}
                Output::Restart(_) => panic!("no config change in these runs"),
            }
        }
    }

    /// Apache's haveDelivered(): some send queue of `sid` is empty.
    fn delivery(&self, sid: i64) -> Delivery {
        let any_empty = self
            .peers
            .keys()
            .filter(|&&to| to != sid && !self.is_down(to))
            .any(|&to| self.links.get(&(sid, to)).is_none_or(VecDeque::is_empty));
        if any_empty {
            Delivery::Delivered
        } else {
            Delivery::Undelivered
        }
    }

    /// The next time anything happens.
    fn next_event(&self) -> Option<i64> {
        let starts = self
            .scenario
            .starts
            .iter()
            .filter(|(sid, _)| !self.peers[sid].started)
            .map(|&(_, t)| t);
        let deliveries = self
            .links
            .values()
            .filter_map(|l| l.front().map(|m| m.deliver_at));
        let timers = self
            .peers
            .values()
            .filter(|p| p.started)
            .filter_map(|p| p.election.poll_timeout());
        let syncs = self.peers.values().filter_map(|p| p.sync_at);
        starts.chain(deliveries).chain(timers).chain(syncs).min()
    }

    /// Runs until every running member decided or `limit_ms` passes.
    fn run(&mut self, limit_ms: i64) {
        while let Some(t) = self.next_event() {
            if t > limit_ms || self.all_decided() {
                return;
            }
            self.now = t;
            self.step();
        }
    }

    fn all_decided(&self) -> bool {
        self.scenario
            .starts
            .iter()
            .all(|(sid, _)| self.peers[sid].decided.is_some())
    }

    /// Everything due now, in a random order across links and members.
    fn step(&mut self) {
        let now = self.now;
        for (sid, t) in self.scenario.starts.clone() {
            let peer = self.peers.get_mut(&sid).unwrap();
            if t <= now && !peer.started {
                peer.started = true;
                let (zxid, epoch) = self.scenario.data[&sid];
                peer.election.start(now, zxid, epoch);
                self.drain(sid);
                // The connections come up: what waited for this member is sent.
                let waiting: Vec<((i64, i64), Notification)> = self
                    .held
                    .iter()
                    .filter(|((_, to), _)| *to == sid)
                    .map(|(k, n)| (*k, n.clone()))
                    .collect();
                for (key, n) in waiting {
                    self.held.remove(&key);
                    let delay = 1 + self.rng.below(self.scenario.max_delay_ms as u64) as i64;
                    let link = self.links.entry(key).or_default();
                    let earliest = link.back().map_or(now, |m| m.deliver_at);
                    link.push_back(Message {
                        deliver_at: earliest.max(now + delay),
                        n,
                    });
                }
            }
        }
        loop {
            let due: Vec<(i64, i64)> = self
                .links
                .iter()
                .filter(|(_, l)| l.front().is_some_and(|m| m.deliver_at <= now))
                .map(|(&k, _)| k)
                .collect();
            if due.is_empty() {
                break;
            }
            let (from, to) = due[self.rng.below(due.len() as u64) as usize];
            let m = self
                .links
                .get_mut(&(from, to))
                .unwrap()
                .pop_front()
                .unwrap();
            self.deliver(to, m.n);
            // The link "reconnects" now and then: the last message comes again, stale.
            if self.rng.chance(self.scenario.duplicate_percent) {
                if let Some(last) = self.last_sent.get(&(from, to)).cloned() {
                    let delay = 1 + self.rng.below(self.scenario.max_delay_ms as u64) as i64;
                    let link = self.links.entry((from, to)).or_default();
                    let earliest = link.back().map_or(now, |m| m.deliver_at);
                    link.push_back(Message {
                        deliver_at: earliest.max(now + delay),
                        n: last,
                    });
                }
            }
        }
        let sids: Vec<i64> = self.peers.keys().copied().collect();
        for sid in sids {
            let delivery = self.delivery(sid);
            let peer = self.peers.get_mut(&sid).unwrap();
            if !peer.started {
                continue;
            }
            if peer.election.poll_timeout().is_some_and(|t| t <= now) {
                peer.election.handle_timeout(now, delivery);
            }
            if peer.sync_at.is_some_and(|t| t <= now) {
                peer.sync_at = None;
                peer.synced = true;
                let (_, d) = peer.decided.expect("synced after deciding");
                peer.election.update_election_vote(d.vote.peer_epoch + 1);
            }
            self.drain(sid);
        }
        self.schedule_syncs();
    }

    /// A leader syncs once a quorum of voters follows it; the others after their leader.
    fn schedule_syncs(&mut self) {
        let qv = verifier(self.scenario.voters, self.scenario.observers);
        let sids: Vec<i64> = self.peers.keys().copied().collect();
        for sid in sids {
            let p = &self.peers[&sid];
            let Some((_, d)) = p.decided else { continue };
            if p.synced || p.sync_at.is_some() {
                continue;
            }
            let ready = if d.leader == sid {
                qv.has_quorum(
                    self.peers
                        .iter()
                        .filter(|(_, q)| q.decided.is_some_and(|(_, e)| e.leader == sid))
                        .map(|(&s, _)| s),
                )
            } else {
                self.peers.get(&d.leader).is_some_and(|l| {
                    l.synced && l.decided.is_some_and(|(_, e)| e.leader == d.leader)
                })
            };
            if ready {
                let at = self.now + 10 + self.rng.below(200) as i64;
                self.peers.get_mut(&sid).unwrap().sync_at = Some(at);
            }
        }
    }

    fn deliver(&mut self, to: i64, n: Notification) {
        let now = self.now;
        if std::env::var("SIM_TRACE").is_ok() {
            eprintln!(
                "{now} {} -> {to}: {:?} {} {:?} ee={} pe={}",
                n.from, n.state, n.leader, n.zxid, n.election_epoch, n.peer_epoch
            );
        }
        let peer = self.peers.get_mut(&to).unwrap();
        if !peer.started {
            // Not listening yet: the connection fails and the send queue keeps the message.
            self.held.insert((n.from, to), n);
            return;
        }
        peer.election.handle_notification(now, n);
        self.drain(to);
    }
}

fn verifier(voters: i64, observers: i64) -> QuorumVerifier {
    let mut text = String::new();
    for sid in 1..=voters + observers {
        let kind = if sid > voters { ":observer" } else { "" };
        text.push_str(&format!(
            "server.{sid}=127.0.0.1:{}:{}{kind}\n",
            2000 + sid,
            3000 + sid
        ));
    }
    QuorumVerifier::parse_qv_text(&text, false).unwrap()
}

/// A random cold start: members start within 100 ms, messages take 1..=50 ms.
fn random_scenario(rng: &mut SplitMix64, allow_down: bool) -> Scenario {
    let voters = [3, 4, 5, 7][rng.below(4) as usize];
    let observers = rng.below(3) as i64;
    let max_down = if allow_down { (voters - 1) / 2 } else { 0 };
    let mut down = Vec::new();
    let n_down = rng.below(max_down as u64 + 1);
    while (down.len() as u64) < n_down {
        let sid = 1 + rng.below(voters as u64) as i64;
        if !down.contains(&sid) {
            down.push(sid);
        }
    }
    let mut data = BTreeMap::new();
    let mut starts = Vec::new();
    for sid in 1..=voters + observers {
        // Few distinct values, so that ties on epoch and zxid are common.
        let epoch = rng.below(3) as i64;
        let zxid = Zxid::new(epoch as u32, rng.below(3) as u32);
        data.insert(sid, (zxid, epoch));
        if !down.contains(&sid) {
            starts.push((sid, rng.below(101) as i64));
        }
    }
    Scenario {
        voters,
        observers,
        down,
        starts,
        data,
        max_delay_ms: 50,
        evict_percent: 30,
        duplicate_percent: 10,
    }
}

/// The voter FastLeaderElection must pick among `candidates`: the highest (peerEpoch, zxid, sid).
fn best(scenario: &Scenario, candidates: impl Iterator<Item = i64>) -> i64 {
    candidates
        .filter(|&sid| sid <= scenario.voters)
        .max_by_key(|sid| {
            let (zxid, epoch) = scenario.data[sid];
            (epoch, zxid, *sid)
        })
        .expect("a running voter")
}

/// Checks one run; returns the time the last member decided.
fn check(seed: u64, net: &Net, limit_ms: i64) -> i64 {
    let s = &net.scenario;
    let want = best(s, s.starts.iter().map(|&(sid, _)| sid));
    let mut last = 0;
    for &(sid, _) in &s.starts {
        let Some((at, d)) = net.peers[&sid].decided else {
            panic!("seed {seed}: {sid} did not decide within {limit_ms} ms ({s:?})");
        };
        assert_eq!(
            d.leader, want,
            "seed {seed}: {sid} chose {} ({s:?})",
            d.leader
        );
        let state = if sid == want {
            ServerState::Leading
        } else if sid <= s.voters {
            ServerState::Following
        } else {
            ServerState::Observing
        };
        assert_eq!(d.state, state, "seed {seed}: {sid}");
        // The leader's zxid and epoch; a member that decides from decided members' replies
        // after they synced sees the new epoch (ZOOKEEPER-1732).
        let (zxid, epoch) = s.data[&want];
        assert_eq!(d.vote.zxid, zxid, "seed {seed}: {sid}");
        assert!(
            d.vote.peer_epoch == epoch || d.vote.peer_epoch == epoch + 1,
            "seed {seed}: {sid} decided on peerEpoch {}",
            d.vote.peer_epoch
        );
        last = last.max(at);
    }
    last
}

/// Every member decides within this much virtual time of the first start (a quorum can always
/// talk here; over 5,000 seeds of each test the slowest took under 1 s).
const LIMIT_MS: i64 = 2_000;

/// With a minority down, a bare quorum needs every live voter's vote: one lost to the send
/// queue waits for the re-sends after 200, 400 and 800 ms of silence (over 5,000 seeds the
/// slowest took 1.9 s).
const BARE_QUORUM_LIMIT_MS: i64 = 4_000;

#[test]
fn random_delivery_elects_the_best_voter_everywhere() {
    let mut slowest_voter = 0;
    let mut slowest_member = 0;
    let n: u64 = std::env::var("SIM_RUNS").map_or(200, |s| s.parse().unwrap());
    for seed in 0..n {
        let mut rng = SplitMix64::new(seed);
        let scenario = random_scenario(&mut rng, false);
        let mut net = Net::new(seed, scenario);
        net.run(LIMIT_MS);
        let voters = net.scenario.voters;
        let voter_last = net
            .peers
            .iter()
            .filter(|(&sid, _)| sid <= voters)
            .filter_map(|(_, p)| p.decided.map(|d| d.0))
            .max()
            .unwrap();
        assert!(
            voter_last <= LIMIT_MS,
            "seed {seed}: voters took {voter_last} ms"
        );
        slowest_voter = slowest_voter.max(voter_last);
        slowest_member = slowest_member.max(check(seed, &net, LIMIT_MS));
    }
    // The finalize wait (200 ms) bounds it from below.
    assert!(slowest_voter >= 200);
    if std::env::var("SIM_TRACE").is_ok() {
        eprintln!("slowest voter {slowest_voter} ms, slowest member {slowest_member} ms");
    }
}

#[test]
fn a_quorum_elects_with_a_minority_down() {
    let mut runs_with_down = 0;
    let n: u64 = std::env::var("SIM_RUNS").map_or(200, |s| s.parse().unwrap());
    let mut slowest = 0;
    for seed in 1000..1000 + n {
        let mut rng = SplitMix64::new(seed);
        let scenario = random_scenario(&mut rng, true);
        if !scenario.down.is_empty() {
            runs_with_down += 1;
        }
        let mut net = Net::new(seed, scenario);
        net.run(BARE_QUORUM_LIMIT_MS);
        slowest = slowest.max(check(seed, &net, BARE_QUORUM_LIMIT_MS));
    }
    assert!(runs_with_down > n / 3);
    if std::env::var("SIM_TRACE").is_ok() {
        eprintln!("slowest with a minority down {slowest} ms");
    }
}

#[test]
fn five_voters_with_two_down_elect_among_three() {
    let data = (1..=5).map(|sid| (sid, (Zxid(0), 0))).collect();
    let scenario = Scenario {
        voters: 5,
        observers: 0,
        down: vec![4, 5],
        starts: vec![(1, 0), (2, 30), (3, 60)],
        data,
        max_delay_ms: 20,
        evict_percent: 0,
        duplicate_percent: 0,
    };
    let mut net = Net::new(7, scenario);
    net.run(LIMIT_MS);
    let last = check(7, &net, LIMIT_MS);
    assert!(last < 1_000, "{last}");
    assert_eq!(net.peers[&3].decided.unwrap().1.state, ServerState::Leading);
}

#[test]
fn a_late_joiner_follows_the_established_leader() {
    let mut slowest_join = 0;
    let n: u64 = std::env::var("SIM_RUNS").map_or(100, |s| s.parse().unwrap());
    for seed in 2000..2000 + n {
        let mut rng = SplitMix64::new(seed);
        let mut scenario = random_scenario(&mut rng, false);
        // The joiner starts long after the others decided, whatever its own data.
        let joiner = 1 + rng.below(scenario.voters as u64) as i64;
        let joined_at = 5_000 + rng.below(1000) as i64;
        for s in &mut scenario.starts {
            if s.0 == joiner {
                s.1 = joined_at;
            }
        }
        let established = best(
            &scenario,
            scenario
                .starts
                .iter()
                .map(|&(sid, _)| sid)
                .filter(|&s| s != joiner),
        );
        let mut net = Net::new(seed, scenario);
        net.run(joined_at + LIMIT_MS);
        let (at, d) = net.peers[&joiner]
            .decided
            .unwrap_or_else(|| panic!("seed {seed}: the joiner {joiner} did not decide"));
        assert_eq!(d.leader, established, "seed {seed}");
        assert!(
            at - joined_at < 1_000,
            "seed {seed}: joined after {} ms",
            at - joined_at
        );
        slowest_join = slowest_join.max(at - joined_at);
        for (&sid, p) in &net.peers {
            if sid != joiner && !net.scenario.down.contains(&sid) {
                assert_eq!(
                    p.decided.unwrap().1.leader,
                    established,
                    "seed {seed}: {sid}"
                );
            }
        }
    }
    if std::env::var("SIM_TRACE").is_ok() {
        eprintln!("slowest join {slowest_join} ms");
    }
}

#[test]
fn splitmix64_is_the_reference_sequence() {
    // The first outputs for seed 1234567 (Vigna's splitmix64.c).
    let mut r = SplitMix64::new(1_234_567);
    assert_eq!(r.next_u64(), 6_457_827_717_110_365_317);
    assert_eq!(r.next_u64(), 3_203_168_211_198_807_973);
}
