//! Which server to try next, and when: the host list of a connect string, shuffled once, tried
//! one at a time, with a growing pause after each full pass that found no server.

use std::time::{Duration, Instant};

/// The pause after the first full pass over the hosts without a connection.
pub(crate) const FIRST_PASS_BACKOFF: Duration = Duration::from_millis(100);
/// The longest pause between passes (Apache ZooKeeper's client sleeps 1 s after every pass).
pub(crate) const MAX_PASS_BACKOFF: Duration = Duration::from_secs(1);

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
}

impl HostList {
    /// A host list in the order given; `shuffle` is a permutation seed (the driver passes a
    /// random one; tests pass a fixed one).
    pub(crate) fn new(mut hosts: Vec<(String, u16)>, shuffle: u64) -> HostList {
        assert!(!hosts.is_empty(), "a connect string has at least one host");
        // A Fisher-Yates shuffle driven by a small xorshift generator seeded by the caller.
        let mut x = shuffle | 1;
        for i in (1..hosts.len()).rev() {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let j = (x % (i as u64 + 1)) as usize;
            hosts.swap(i, j);
        }
        HostList {
            hosts,
            next: 0,
            failures: 0,
            backoff: Duration::ZERO,
            preferred: false,
        }
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
        }
    }

    /// How many hosts there are.
    pub(crate) fn len(&self) -> usize {
        self.hosts.len()
    }

    /// The next host to try and the earliest time to try it. `jitter` in `[0, 1)` spreads the
    /// pause after a full pass.
    pub(crate) fn next_attempt(&mut self, now: Instant, jitter: f64) -> ((String, u16), Instant) {
        let host = self.hosts[self.next].clone();
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
        self.failures += 1;
        self.next = (self.next + 1) % self.hosts.len();
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
    }

    /// The connection to the current host was lost: the next attempt goes to the next host,
    /// at once.
    pub(crate) fn lost(&mut self) {
        if std::mem::take(&mut self.preferred) {
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
}
