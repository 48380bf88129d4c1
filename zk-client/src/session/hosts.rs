//! Which server to try next, and when: the host list of a connect string, shuffled once, tried
//! one at a time, with a growing pause after each full pass that found no server. A new list
//! ([`HostList::update`], `updateServerList`) may move the session: see [`super::rebalance`].

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use super::rebalance::{same_host, Rebalance, Rng};

/// The pause after the first full pass over the hosts without a connection. Short, because
/// the common reason a whole ensemble refuses is an election (tens of ms on a LAN): the next
/// pass then finds the new leader's members serving. It doubles with every pass after.
pub(crate) const FIRST_PASS_BACKOFF: Duration = Duration::from_millis(20);
/// The longest pause between passes (Apache ZooKeeper's client sleeps 1 s after every pass).
pub(crate) const MAX_PASS_BACKOFF: Duration = Duration::from_secs(1);

/// What [`HostList::update`] decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct HostUpdate {
    /// The session moves to another server (the Java client's reconfig mode).
    pub(crate) moving: bool,
    /// The connection (or the attempt) under way must be dropped: the session moves, or the
    /// attempt goes to a host no longer listed.
    pub(crate) leave_connection: bool,
}

/// The hosts of a connect string and the reconnect decisions over them.
#[derive(Debug, Clone)]
pub(crate) struct HostList {
    hosts: Vec<(String, u16)>,
    /// The host the next attempt goes to.
    next: usize,
    /// Failed attempts since the last successful connection.
    failures: usize,
    /// The pause after the last failed pass.
    backoff: Duration,
    /// `next` was chosen ([`HostList::prefer`]): the connection loss that follows keeps it.
    preferred: bool,
    /// The host of the last session established, if any.
    current: Option<(String, u16)>,
    /// The host of the attempt under way (from [`HostList::next_attempt`] until it failed or
    /// its session was established).
    attempt: Option<(String, u16)>,
    /// After a list change that moves the session: where the next attempts go, until one
    /// succeeds or every host was tried.
    rebalance: Option<Rebalance>,
    /// `next` was picked by `rebalance` for the attempt under way.
    picked: bool,
    /// Draws for [`HostList::update`] and its rebalancing.
    rng: Rng,
}

impl HostList {
    /// A host list in the order given; `shuffle` is a permutation seed (the driver passes a
    /// random one; tests pass a fixed one).
    pub(crate) fn new(mut hosts: Vec<(String, u16)>, shuffle: u64) -> HostList {
        assert!(!hosts.is_empty(), "a connect string has at least one host");
        let mut rng = Rng::raw(shuffle);
        rng.shuffle(&mut hosts);
        HostList {
            hosts,
            next: 0,
            failures: 0,
            backoff: Duration::ZERO,
            preferred: false,
            current: None,
            attempt: None,
            rebalance: None,
            picked: false,
            rng,
        }
    }

    /// Replaces the hosts with `hosts` (shuffled with `seed`) and decides, as the Java
    /// client's `StaticHostProvider.updateServerList`, whether the session moves (see
    /// [`super::rebalance`]).
    ///
    /// "Its server" is the host of the connection when `connection_up` (a TCP connection to
    /// the host of the last attempt is up), else the host of the last session, else the first
    /// host. It is in the new list when an entry has its name and port, or when
    /// `connected_addr` (the address the connection reached) equals an entry written as an IP
    /// address.
    pub(crate) fn update(
        &mut self,
        mut hosts: Vec<(String, u16)>,
        connection_up: bool,
        connected_addr: Option<SocketAddr>,
        seed: u64,
    ) -> HostUpdate {
        assert!(!hosts.is_empty(), "a connect string has at least one host");
        self.rng = Rng::new(seed);
        self.rng.shuffle(&mut hosts);
        let last = if connection_up {
            self.attempt.clone().or_else(|| self.current.clone())
        } else {
            self.current.clone()
        };
        let mine = last.unwrap_or_else(|| self.hosts[0].clone());
        let matches_mine = |h: &(String, u16)| {
            same_host(h, &mine)
                || connected_addr.is_some_and(|a| {
                    h.1 == a.port() && h.0.parse::<std::net::IpAddr>().is_ok_and(|ip| ip == a.ip())
                })
        };
        let mine_at = hosts.iter().position(matches_mine);
        let plan = Rebalance::decide(&self.hosts, &hosts, mine_at.is_some(), &mut self.rng);
        let attempt_dropped = self
            .attempt
            .as_ref()
            .is_some_and(|a| !hosts.iter().any(|h| same_host(h, a)));
        self.hosts = hosts;
        self.failures = 0;
        self.backoff = Duration::ZERO;
        self.preferred = false;
        self.picked = false;
        let moving = plan.is_some();
        self.rebalance = plan;
        // Staying: later failovers go round the new list from our server's place in it.
        self.next = if moving { 0 } else { mine_at.unwrap_or(0) };
        HostUpdate {
            moving,
            leave_connection: moving || attempt_dropped,
        }
    }

    /// True while an attempt is under way (its connection may not be up yet).
    pub(crate) fn attempt_in_flight(&self) -> bool {
        self.attempt.is_some()
    }

    /// Every host but the current one, with its index.
    pub(crate) fn others(&self) -> Vec<(usize, (String, u16))> {
        (1..self.hosts.len())
            .map(|k| (self.next + k) % self.hosts.len())
            .map(|i| (i, self.hosts[i].clone()))
            .collect()
    }

    /// The next connection goes to host `index`, once the current one is dropped.
    pub(crate) fn prefer(&mut self, index: usize) {
        if index < self.hosts.len() {
            self.next = index;
            self.preferred = true;
            self.rebalance = None;
            self.picked = false;
        }
    }

    /// How many hosts there are.
    pub(crate) fn len(&self) -> usize {
        self.hosts.len()
    }

    /// The next host to try and the earliest time to try it. `jitter` in `[0, 1)` spreads the
    /// pause after a full pass.
    pub(crate) fn next_attempt(&mut self, now: Instant, jitter: f64) -> ((String, u16), Instant) {
        if !self.picked {
            if let Some(plan) = &mut self.rebalance {
                match plan.pick(&mut self.rng) {
                    Some(i) => {
                        self.next = i;
                        self.picked = true;
                    }
                    None => {
                        // Every host of the new list failed: plain round robin again, from
                        // the host after the last one tried.
                        self.rebalance = None;
                        self.next = (self.next + 1) % self.hosts.len();
                    }
                }
            }
        }
        let host = self.hosts[self.next].clone();
        self.attempt = Some(host.clone());
        let pause = if self.failures > 0 && self.failures % self.hosts.len() == 0 {
            self.backoff.mul_f64(0.5 + jitter.clamp(0.0, 1.0) / 2.0)
        } else {
            Duration::ZERO
        };
        (host, now + pause)
    }

    /// The attempt at the current host failed: move on, and grow the pause after a full pass.
    pub(crate) fn failed(&mut self) {
        self.preferred = false;
        self.attempt = None;
        self.failures += 1;
        if self.rebalance.is_some() {
            // The plan picks the next host.
            self.picked = false;
        } else {
            self.next = (self.next + 1) % self.hosts.len();
        }
        if self.failures % self.hosts.len() == 0 {
            self.backoff = if self.backoff.is_zero() {
                FIRST_PASS_BACKOFF
            } else {
                (self.backoff * 2).min(MAX_PASS_BACKOFF)
            };
        }
    }

    /// A session was established with the current host.
    pub(crate) fn connected(&mut self) {
        self.failures = 0;
        self.backoff = Duration::ZERO;
        self.rebalance = None;
        self.picked = false;
        self.current = Some(
            self.attempt
                .take()
                .unwrap_or_else(|| self.hosts[self.next].clone()),
        );
    }

    /// The connection to the current host was lost: the next attempt goes to the next host,
    /// at once.
    pub(crate) fn lost(&mut self) {
        if std::mem::take(&mut self.preferred) {
            return;
        }
        if self.rebalance.is_some() {
            // Leaving for a host the plan picks (`update` asked for this disconnection).
            self.picked = false;
            return;
        }
        self.next = (self.next + 1) % self.hosts.len();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hosts(n: u16) -> Vec<(String, u16)> {
        (0..n).map(|i| ("h".to_owned(), i)).collect()
    }

    #[test]
    fn shuffles_and_visits_every_host_per_pass() {
        let mut h = HostList::new(hosts(5), 42);
        let now = Instant::now();
        let mut seen = Vec::new();
        for _ in 0..5 {
            let ((_, port), at) = h.next_attempt(now, 0.0);
            assert_eq!(at, now);
            seen.push(port);
            h.failed();
        }
        let mut sorted = seen.clone();
        sorted.sort();
        assert_eq!(sorted, [0, 1, 2, 3, 4]);
        assert_ne!(seen, [0, 1, 2, 3, 4], "seed 42 permutes the hosts");
    }

    #[test]
    fn backoff_grows_after_full_passes_and_resets() {
        let mut h = HostList::new(hosts(2), 1);
        let now = Instant::now();
        h.failed();
        assert_eq!(h.next_attempt(now, 0.999).1, now);
        h.failed();
        let (_, at) = h.next_attempt(now, 0.999);
        assert!(at > now && at <= now + FIRST_PASS_BACKOFF);
        for _ in 0..20 {
            h.failed();
        }
        let (_, at) = h.next_attempt(now, 0.999);
        assert!(at <= now + MAX_PASS_BACKOFF && at > now + MAX_PASS_BACKOFF / 2);
        h.connected();
        h.lost();
        assert_eq!(h.next_attempt(now, 0.5).1, now);
    }

    fn ports(list: &HostList) -> Vec<u16> {
        list.hosts.iter().map(|h| h.1).collect()
    }

    /// A list of `n` hosts connected to the one at `next`.
    fn connected_list(n: u16) -> HostList {
        let mut h = HostList::new(hosts(n), 9);
        let _ = h.next_attempt(Instant::now(), 0.0);
        h.connected();
        h
    }

    #[test]
    fn a_list_without_our_server_moves_to_a_listed_one() {
        let now = Instant::now();
        let mut h = connected_list(3);
        let mine = h.current.clone().unwrap();
        let others: Vec<(String, u16)> = hosts(3).into_iter().filter(|x| *x != mine).collect();
        let update = h.update(others.clone(), true, None, 1);
        assert!(update.moving && update.leave_connection);
        h.lost();
        // Each host of the new list is tried once, never ours.
        let mut tried = Vec::new();
        for _ in 0..2 {
            let ((host, port), at) = h.next_attempt(now, 0.0);
            assert_eq!(at, now);
            tried.push((host, port));
            h.failed();
        }
        tried.sort();
        assert_eq!(tried, others);
        // Then round robin over the new list.
        let (next, _) = h.next_attempt(now, 0.0);
        assert!(others.contains(&next));
        h.connected();
        assert_eq!(h.current.as_ref(), Some(&next));
    }

    #[test]
    fn a_list_that_keeps_our_server_and_does_not_grow_keeps_the_connection() {
        let now = Instant::now();
        let mut h = connected_list(5);
        let mine = h.current.clone().unwrap();
        let mut kept = vec![mine.clone()];
        kept.extend(hosts(5).into_iter().filter(|x| *x != mine).take(2));
        let update = h.update(kept.clone(), true, None, 4);
        assert_eq!(
            update,
            HostUpdate {
                moving: false,
                leave_connection: false
            }
        );
        assert_eq!(h.len(), 3);
        // A later failover goes round the new list from our place in it.
        assert_eq!(h.hosts[h.next], mine);
        h.lost();
        let (next, _) = h.next_attempt(now, 0.0);
        assert_ne!(next, mine);
        assert!(kept.contains(&next));
    }

    #[test]
    fn our_server_is_recognised_by_its_address() {
        // Connected through "localhost"; the new list names it by IP address.
        let mut h = HostList::new(vec![("localhost".into(), 2181), ("b".into(), 2182)], 1);
        while h.next_attempt(Instant::now(), 0.0).0 .0 != "localhost" {
            h.failed();
        }
        h.connected();
        let addr: SocketAddr = "127.0.0.1:2181".parse().unwrap();
        let new = vec![("127.0.0.1".into(), 2181), ("c".into(), 2183)];
        assert!(!h.update(new.clone(), true, Some(addr), 2).moving);
        // Without the address the name differs: the session moves.
        let mut h2 = HostList::new(vec![("localhost".into(), 2181)], 1);
        let _ = h2.next_attempt(Instant::now(), 0.0);
        h2.connected();
        assert!(h2.update(new, true, None, 2).moving);
    }

    #[test]
    fn a_growing_list_moves_some_sessions_to_the_new_servers() {
        let now = Instant::now();
        let mut moved = 0;
        for seed in 0..400 {
            let mut h = connected_list(3);
            let old: Vec<u16> = ports(&h);
            if h.update(hosts(6), true, None, seed).moving {
                moved += 1;
                h.lost();
                let ((_, port), _) = h.next_attempt(now, 0.0);
                assert!(!old.contains(&port), "moves to a new server");
            }
        }
        // 1 - 3/6: half of them.
        assert!((160..240).contains(&moved), "{moved} of 400 moved");
    }

    #[test]
    fn an_attempt_to_a_host_no_longer_listed_is_left() {
        let mut h = HostList::new(hosts(3), 5);
        let (attempt, _) = h.next_attempt(Instant::now(), 0.0);
        assert!(h.attempt_in_flight());
        // Never connected: "our server" is the first host; keep it, drop the attempted one.
        let first = h.hosts[0].clone();
        let new: Vec<(String, u16)> = hosts(3).into_iter().filter(|x| *x != attempt).collect();
        let update = h.update(new, false, None, 3);
        assert_eq!(update.leave_connection, attempt != first || update.moving);
        h.failed();
        assert!(!h.attempt_in_flight());
    }
}
