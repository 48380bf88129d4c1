//! A follower that reaches its leader before the leader itself decided the election.
//!
//! Fast Leader Election lets every member decide after its own finalize wait, so a follower
//! can decide a moment (here 2 ms, on real processes) before its leader does and connect to
//! the leader's quorum port while the leader is still LOOKING. Apache ZooKeeper's leader opens
//! that port only once it leads, so the follower's connect is refused and
//! `Learner.connectToLeader` tries again (5 tries, 100 ms apart, within initLimit). zk-server's
//! members listen from start-up and close a link they accept while not leading: the follower
//! then sees its link close after it sent FOLLOWERINFO. It must try again there too, or it
//! goes back to LOOKING while its leader waits initLimit for followers that never come, and a
//! 3-member ensemble that lost one member stays without a quorum for initLimit x tickTime.
//!
//! The test runs three real [`Peer`]s over an in-memory network and instant disks, on a
//! virtual clock. When timers fall due together, members 1 and 2 (the followers) go first and
//! every message is delivered at once: both followers reach member 3 before it decides.

use std::collections::{BTreeMap, VecDeque};

use zk_server::core::{Core, CoreConfig, DataTree};
use zk_server::quorum::ctx::ZabTiming;
use zk_server::quorum::disk::{DiskDone, DiskOp};
use zk_server::quorum::zab::{LinkId, Zab};
use zk_server::quorum::{
    Boot, ElectionTiming, Notification, Peer, PeerConfig, PeerOutput, QuorumVerifier, ServerState,
};

const TICK_MS: i64 = 2000;

/// Something in flight, delivered in order.
enum Ev {
    Election(usize, Notification),
    Connect {
        from: usize,
        link: LinkId,
        to: usize,
    },
    Message(usize, LinkId, Zab),
    Closed(usize, LinkId),
    Disk(usize, DiskDone),
}

struct Net {
    peers: Vec<Peer>,
    now: i64,
    queue: VecDeque<Ev>,
    /// (member, its link) -> (the other member, the other end's link).
    links: BTreeMap<(usize, LinkId), (usize, LinkId)>,
    next_accepted: u64,
    /// Links a member accepted and closed while it was not leading.
    refused: usize,
}

impl Net {
    fn new() -> Net {
        let qv = QuorumVerifier::parse_qv_text(
            "server.1=127.0.0.1:2888:3888\nserver.2=127.0.0.1:2889:3889\n\
             server.3=127.0.0.1:2890:3890",
            false,
        )
        .expect("qv");
        let peers = (1..=3)
            .map(|sid| {
                let core_cfg = CoreConfig {
                    tick_time_ms: TICK_MS,
                    server_id: sid,
                    ..CoreConfig::default()
                };
                let cfg = PeerConfig {
                    my_id: sid,
                    verifier: qv.clone(),
                    // The harness's initLimit=4, syncLimit=2 (kazoo's zoo.cfg).
                    timing: ZabTiming::new(TICK_MS, 4, 2),
                    // Apache's timing: every member waits its finalize wait, so the
                    // followers decide (and connect) before their leader does.
                    election: ElectionTiming {
                        decide_when_unanimous: false,
                        ..ElectionTiming::default()
                    },
                    standalone_enabled: true,
                    multi_address: false,
                };
                let boot = Boot {
                    tree: DataTree::new(),
                    accepted_epoch: 0,
                    current_epoch: 0,
                    recent: Vec::new(),
                };
                Peer::new(cfg, Core::new(core_cfg, 0), boot, 0)
            })
            .collect();
        let mut net = Net {
            peers,
            now: 0,
            queue: VecDeque::new(),
            links: BTreeMap::new(),
            next_accepted: 1,
            refused: 0,
        };
        for i in 0..3 {
            net.drain(i);
        }
        net
    }

    /// Takes member `i`'s outputs: messages are queued, disk operations complete at once.
    fn drain(&mut self, i: usize) {
        while let Some(o) = self.peers[i].poll_output() {
            match o {
                PeerOutput::Election(m) => {
                    let to = (m.to - 1) as usize;
                    let n = m.received_from(i as i64 + 1);
                    self.queue.push_back(Ev::Election(to, n));
                }
                PeerOutput::QuorumConnect { link, sid } => self.queue.push_back(Ev::Connect {
                    from: i,
                    link,
                    to: (sid - 1) as usize,
                }),
                PeerOutput::QuorumSend { link, msg } => {
                    if let Some(&(other, theirs)) = self.links.get(&(i, link)) {
                        self.queue.push_back(Ev::Message(other, theirs, msg));
                    }
                }
                PeerOutput::QuorumClose { link } => {
                    if let Some((other, theirs)) = self.links.remove(&(i, link)) {
                        self.links.remove(&(other, theirs));
                        if link.0 < LinkId::OUTGOING
                            && self.peers[i].state() != ServerState::Leading
                        {
                            self.refused += 1;
                        }
                        self.queue.push_back(Ev::Closed(other, theirs));
                    }
                }
                PeerOutput::Disk(op) => {
                    let done = match op {
                        DiskOp::Append(t) => DiskDone::Synced(t.zxid()),
                        DiskOp::WriteEpoch { file, epoch } => {
                            DiskDone::EpochWritten { file, epoch }
                        }
                        DiskOp::Snapshot { tree, wait: true } => DiskDone::SnapshotWritten {
                            zxid: tree.last_zxid(),
                        },
                        DiskOp::Barrier { token } => DiskDone::Barrier { token },
                        DiskOp::ReadLog { token, .. } => DiskDone::LogRead { token, txns: None },
                        DiskOp::Truncate { zxid } => panic!("unexpected truncate to {zxid}"),
                        _ => continue,
                    };
                    self.queue.push_back(Ev::Disk(i, done));
                }
                _ => {}
            }
        }
    }

    fn deliver(&mut self, ev: Ev) {
        let now = self.now;
        let i = match ev {
            Ev::Election(to, n) => {
                self.peers[to].election_message(now, n);
                to
            }
            Ev::Connect { from, link, to } => {
                // The listener accepts whatever the member's role: it is bound from start-up.
                let theirs = LinkId(self.next_accepted);
                self.next_accepted += 1;
                self.links.insert((from, link), (to, theirs));
                self.links.insert((to, theirs), (from, link));
                self.peers[to].quorum_accepted(now, theirs);
                self.drain(to);
                self.peers[from].quorum_connected(now, link);
                from
            }
            Ev::Message(to, link, m) => {
                if self.links.contains_key(&(to, link)) {
                    self.peers[to].quorum_message(now, link, m);
                }
                to
            }
            Ev::Closed(to, link) => {
                self.peers[to].quorum_closed(now, link);
                to
            }
            Ev::Disk(i, d) => {
                self.peers[i].disk_done(now, d);
                i
            }
        };
        self.drain(i);
    }

    /// Runs until `until` (virtual ms) or until every member serves.
    fn run(&mut self, until: i64) {
        while self.now <= until {
            if let Some(ev) = self.queue.pop_front() {
                self.deliver(ev);
                continue;
            }
            if self.peers.iter().all(Peer::serving) {
                return;
            }
            let Some(next) = self.peers.iter().filter_map(Peer::poll_timeout).min() else {
                return;
            };
            self.now = self.now.max(next);
            // Members 1 and 2 first: the followers decide before their leader, and everything
            // each one sends is delivered before the next timer fires.
            for i in 0..3 {
                if self.peers[i].poll_timeout().is_some_and(|t| t <= self.now) {
                    self.peers[i].set_delivery(true);
                    self.peers[i].tick(self.now);
                    self.drain(i);
                    while let Some(ev) = self.queue.pop_front() {
                        self.deliver(ev);
                    }
                }
            }
        }
    }
}

#[test]
fn followers_that_reach_their_leader_before_it_leads_connect_again() {
    let mut net = Net::new();
    // An election takes a finalize wait (200 ms); a retried connection 10 ms more. Far less
    // than initLimit x tickTime (8 s), which is how long the leader waits for followers.
    net.run(2_000);
    let states: Vec<ServerState> = net.peers.iter().map(Peer::state).collect();
    assert!(
        net.refused > 0,
        "the scenario did not happen: no follower reached member 3 before it led"
    );
    assert_eq!(
        states,
        [
            ServerState::Following,
            ServerState::Following,
            ServerState::Leading
        ],
        "after {} ms, with {} quorum links refused by a member not yet leading",
        net.now,
        net.refused
    );
    assert!(
        net.peers.iter().all(Peer::serving),
        "every member serves within 2 s (at {} ms)",
        net.now
    );
    assert!(net.peers.iter().all(|p| p.leader() == Some(3)));
}
