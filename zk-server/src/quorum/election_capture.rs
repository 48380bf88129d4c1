//! Replays of the captured cold start of three Apache ZooKeeper 3.8.0 peers
//! (`/work/shared/quorum/apache-3.8-quorum-01-cold-start.txt`, connections 1, 5 and 6): each
//! peer's election is fed the notifications that peer received, at the captured times, and must
//! send what that peer sent and decide what it decided.
//!
//! The values are copied from the decoded `#` comments of the capture (every notification was
//! LOOKING with zxid 0x0, electionEpoch 1, peerEpoch 0; only the leader differs). Times are ms
//! since the capture started. Before a peer's connection to another came up, Apache's send
//! queue of one kept only the newest message for it; the replay models that with the time the
//! captured connection carried its first notification.

use std::collections::BTreeMap;

use zk_core::Zxid;

use super::election::{Decision, Delivery, Election, ElectionTiming, Output};
use super::notification::Notification;
use super::verifier::QuorumVerifier;
use super::vote::{ServerState, Vote};

/// The config all four members had (the observer, sid 4, was not running).
const CAPTURED_QV: &str = "server.1=127.0.0.1:22881:23881:participant\nserver.2=127.0.0.1:22882:23882:participant\nserver.3=127.0.0.1:22883:23883:participant\nserver.4=127.0.0.1:22884:23884:observer\nversion=0";

/// One peer's side of the capture.
struct Capture {
    me: i64,
    /// When its election starts (ms): no later than its first captured notification.
    start_ms: i64,
    /// (time, sender, leader) of each notification it received.
    received: &'static [(i64, i64, i64)],
    /// When its connection to each peer could first carry a notification.
    link_up_ms: &'static [(i64, i64)],
    /// The leaders of the notifications it sent to each peer, in order.
    sent: &'static [(i64, &'static [i64])],
    /// Its first quorum-port packet (FOLLOWERINFO sent or received): the decision came before.
    decided_before_ms: i64,
}

/// The vote every captured notification carried, for `leader`.
fn cold(leader: i64) -> Vote {
    Vote {
        leader,
        zxid: Zxid(0),
        election_epoch: 1,
        peer_epoch: 0,
    }
}

/// Replays `c`; returns what went on each link and the decision with its time.
fn replay(c: &Capture) -> (BTreeMap<i64, Vec<Vote>>, i64, Decision) {
    replay_with(c, ElectionTiming::default())
}

/// [`replay`] with Apache ZooKeeper's timing exactly (no unanimous shortcut).
fn replay_as_apache(c: &Capture) -> (BTreeMap<i64, Vec<Vote>>, i64, Decision) {
    let timing = ElectionTiming {
        decide_when_unanimous: false,
        ..ElectionTiming::default()
    };
    replay_with(c, timing)
}

fn replay_with(c: &Capture, timing: ElectionTiming) -> (BTreeMap<i64, Vec<Vote>>, i64, Decision) {
    let qv = QuorumVerifier::parse_qv_text(CAPTURED_QV, false).unwrap();
    assert_eq!(qv.to_qv_text(), CAPTURED_QV);
    let mut e = Election::new(c.me, &qv, timing);
    let link_up: BTreeMap<i64, i64> = c.link_up_ms.iter().copied().collect();
    let mut wire: BTreeMap<i64, Vec<Vote>> = BTreeMap::new();
    let mut waiting: BTreeMap<i64, Vote> = BTreeMap::new();
    let mut decision = None;
    let mut inputs: Vec<(i64, Option<(i64, i64)>)> = c
        .received
        .iter()
        .map(|&(t, from, leader)| (t, Some((from, leader))))
        .collect();
    inputs.push((c.start_ms, None));
    inputs.sort_by_key(|&(t, _)| t);
    let mut inputs = inputs.into_iter().peekable();
    let mut started = false;
    let mut now;
    loop {
        // The next thing: an input, a timer of the election, or a link coming up.
        let next_input = inputs.peek().map(|&(t, _)| t);
        let timer = e.poll_timeout().filter(|_| started);
        let next_link = link_up
            .iter()
            .filter(|(to, _)| waiting.contains_key(to))
            .map(|(_, &t)| t)
            .min();
        let Some(t) = [next_input, timer, next_link].into_iter().flatten().min() else {
            break;
        };
        now = t;
        if next_link == Some(t) {
            for (&to, &up) in &link_up {
                if up == t {
                    if let Some(v) = waiting.remove(&to) {
                        wire.entry(to).or_default().push(v);
                    }
                }
            }
        } else if next_input == Some(t) {
            match inputs.next().unwrap().1 {
                None => {
                    e.start(now, Zxid(0), 0);
                    started = true;
                }
                Some((from, leader)) => e.handle_notification(
                    now,
                    Notification::looking(from, cold(leader), Some(CAPTURED_QV.into())),
                ),
            }
        } else {
            e.handle_timeout(now, Delivery::Delivered);
        }
        while let Some(out) = e.poll_output() {
            match out {
                Output::Send(m) => {
                    assert_eq!(m.state, ServerState::Looking);
                    assert_eq!(&*m.config, CAPTURED_QV);
                    if link_up.get(&m.to).is_some_and(|&up| up > now) {
                        // Not connected yet: the queue of one keeps the newest.
                        waiting.insert(m.to, m.vote());
                    } else {
                        wire.entry(m.to).or_default().push(m.vote());
                    }
                }
                Output::Decided(d) => decision = Some((now, d)),
                Output::ConnectAll | Output::Restart(_) => panic!("unexpected {out:?}"),
            }
        }
        if decision.is_some() && inputs.peek().is_none() {
            break;
        }
    }
    let (at, d) = decision.expect("decided");
    (wire, at, d)
}

fn check(c: &Capture, state: ServerState) {
    let (wire, at, d) = replay(c);
    let want: BTreeMap<i64, Vec<Vote>> = c
        .sent
        .iter()
        .map(|&(to, leaders)| (to, leaders.iter().map(|&l| cold(l)).collect()))
        .collect();
    assert_eq!(wire, want, "sid {}: what went on the wire", c.me);
    assert_eq!(d.leader, 3);
    assert_eq!(d.state, state);
    assert_eq!(
        d.vote,
        cold(3),
        "the final vote (3, 0x0, round 1, peerEpoch 0)"
    );
    assert!(
        at < c.decided_before_ms,
        "sid {} decided at {at} ms, its first quorum packet was at {} ms",
        c.me,
        c.decided_before_ms
    );
}

/// Sid 3 received the LOOKING votes of 1 and 2 (for 2, then for 3), sent its own vote once to
/// each, and led after 200 ms without a better vote. zk-server sends the same and decides the
/// same, but as soon as the last voter's vote for 3 arrives: with every voter's vote in, there
/// is nothing for `finalizeWait` to wait for.
#[test]
fn sid_3_leads_as_apache_did() {
    let c = Capture {
        me: 3,
        start_ms: 963,
        received: &[(964, 1, 2), (965, 2, 2), (988, 1, 3), (993, 2, 3)],
        // Conns 5 and 6 (3 dialled 2 and 1 at 0.961): 3's first notifications at 0.992, 0.982.
        link_up_ms: &[(1, 982), (2, 992)],
        sent: &[(1, &[3]), (2, &[3])],
        decided_before_ms: 1237,
    };
    check(&c, ServerState::Leading);
    // Apache decided 200 ms after the last notification (from 2 at 0.993), as the capture's
    // gap shows; so does zk-server with Apache's timing, and with its own it decides on it.
    assert_eq!(replay_as_apache(&c).1, 1193);
    assert_eq!(replay_as_apache(&c).0, replay(&c).0, "the same on the wire");
    assert_eq!(replay(&c).1, 993);
}

/// Sid 1 voted for itself, adopted 2, then 3; its vote for itself and for 2 reached 2, while
/// 3 (connected later) only got the newest of them.
#[test]
fn sid_1_follows_as_apache_did() {
    let c = Capture {
        me: 1,
        start_ms: 942,
        received: &[(952, 2, 2), (982, 3, 3), (990, 2, 3)],
        // Conn 1 (from 2) was up since 0.833; conn 6 (from 3) carried 1's first at 0.964.
        link_up_ms: &[(2, 942), (3, 964)],
        sent: &[(2, &[1, 2, 3]), (3, &[2, 3])],
        decided_before_ms: 1237,
    };
    check(&c, ServerState::Following);
}

/// Sid 2 got 1's vote for 1 before its own election ran, then 1's votes for 2 and 3.
#[test]
fn sid_2_follows_as_apache_did() {
    let c = Capture {
        me: 2,
        start_ms: 950,
        received: &[(942, 1, 1), (956, 1, 2), (987, 1, 3), (992, 3, 3)],
        // Conn 1 (to 1) was up; conn 5 (from 3) carried 2's first at 0.965.
        link_up_ms: &[(1, 950), (3, 965)],
        sent: &[(1, &[2, 3]), (3, &[2, 3])],
        decided_before_ms: 1246,
    };
    check(&c, ServerState::Following);
}
