//! Moving clients when the host list changes: the decision of Apache ZooKeeper's
//! `StaticHostProvider.updateServerList` (ZOOKEEPER-1355), without IO and with a seeded random
//! source.
//!
//! After a reconfiguration each client is given the new connect string. For the load to end up
//! even over the new servers without any coordination, each client decides on its own:
//!
//! * its server is **not** in the new list: it moves. When the list grew it moves to a server
//!   new to the list; when it stayed the size or shrank it picks a new server with probability
//!   `1 - p_old` and a server that was already listed with `p_old`, where
//!   `p_old = old_kept * (old_len - new_len) / (new_len * (old_len - old_kept))`;
//! * its server **is** in the new list and the list grew: it moves, to a server new to the
//!   list, with probability `1 - old_len / new_len` (3 servers grown to 5: 40% of each old
//!   server's clients leave it), else it stays;
//! * its server is in the new list and the list did not grow: it stays.
//!
//! A client that moves tries the servers of the chosen group first (in the new list's shuffled
//! order), then the others; once it has tried them all it goes back to plain round robin.

/// A small seeded generator (xorshift64): host shuffles and rebalancing draws. Deterministic
/// for a seed, so tests can replay a decision.
#[derive(Debug, Clone)]
pub(crate) struct Rng(u64);

impl Rng {
    /// A generator for `seed` (any value): the seed is mixed first (splitmix64), so that
    /// nearby seeds give unrelated draws.
    pub(crate) fn new(seed: u64) -> Rng {
        let mut z = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        Rng::raw(z ^ (z >> 31))
    }

    /// A generator whose state is `seed` as it is (made odd: xorshift needs a non-zero
    /// state): the host list's first shuffle, kept as it always was.
    pub(crate) fn raw(seed: u64) -> Rng {
        Rng(seed | 1)
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// A float in `[0, 1)` (as Java's `Random.nextFloat`: 24 random bits).
    pub(crate) fn next_f32(&mut self) -> f32 {
        // xorshift64*: the multiplication spreads the state into the high bits used here.
        let x = self.next_u64().wrapping_mul(0x2545_f491_4f6c_dd1d);
        (x >> 40) as f32 / (1u64 << 24) as f32
    }

    /// Shuffles `items` in place (Fisher-Yates).
    pub(crate) fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = (self.next_u64() % (i as u64 + 1)) as usize;
            items.swap(i, j);
        }
    }
}

/// Two host entries name the same server: the same port and host name, ignoring case (as
/// Java's unresolved `InetSocketAddress.equals`).
pub(crate) fn same_host(a: &(String, u16), b: &(String, u16)) -> bool {
    a.1 == b.1 && a.0.eq_ignore_ascii_case(&b.0)
}

/// Where the connections after a host list change go, until one succeeds (the Java client's
/// "reconfig mode").
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Rebalance {
    /// The probability to try a server new to the list rather than one listed before.
    p_new: f32,
    /// Indices (in the new list) of the servers that were not listed before.
    new_servers: Vec<usize>,
    /// Indices (in the new list) of the servers that were listed before.
    old_servers: Vec<usize>,
    /// How many of each group were tried.
    tried_new: usize,
    tried_old: usize,
}

impl Rebalance {
    /// Decides whether this client moves after its host list changed from `old` to `new` (the
    /// new list as it will be kept, shuffled). `mine_in_new` says whether the server this
    /// client is (or was last) connected to is in the new list. `None`: stay.
    pub(crate) fn decide(
        old: &[(String, u16)],
        new: &[(String, u16)],
        mine_in_new: bool,
        rng: &mut Rng,
    ) -> Option<Rebalance> {
        assert!(!new.is_empty(), "a host list has at least one host");
        let (old_servers, new_servers): (Vec<usize>, Vec<usize>) =
            (0..new.len()).partition(|&i| old.iter().any(|o| same_host(o, &new[i])));
        let (old_len, new_len, kept) = (old.len(), new.len(), old_servers.len());
        let p_new = if new_len > old_len {
            // The list grew: the old servers must shed load.
            let leave = 1.0 - old_len as f32 / new_len as f32;
            if mine_in_new && rng.next_f32() > leave {
                return None;
            }
            1.0
        } else {
            if mine_in_new {
                // The list did not grow: our server keeps its clients.
                return None;
            }
            let denominator = new_len * (old_len - kept);
            let p_old = if denominator == 0 {
                1.0
            } else {
                (kept * (old_len - new_len)) as f32 / denominator as f32
            };
            1.0 - p_old
        };
        Some(Rebalance {
            p_new,
            new_servers,
            old_servers,
            tried_new: 0,
            tried_old: 0,
        })
    }

    /// The index (in the new list) of the next server to try, `None` once every one was
    /// tried.
    pub(crate) fn pick(&mut self, rng: &mut Rng) -> Option<usize> {
        let take_new = rng.next_f32() <= self.p_new;
        let new_left = self.tried_new < self.new_servers.len();
        let old_left = self.tried_old < self.old_servers.len();
        if new_left && (take_new || !old_left) {
            self.tried_new += 1;
            return Some(self.new_servers[self.tried_new - 1]);
        }
        if old_left {
            self.tried_old += 1;
            return Some(self.old_servers[self.tried_old - 1]);
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hosts(ports: std::ops::Range<u16>) -> Vec<(String, u16)> {
        ports.map(|p| ("h".to_owned(), p)).collect()
    }

    /// How many of `trials` seeded clients move, and of those how many pick a new server
    /// first.
    fn trial(old: &[(String, u16)], new: &[(String, u16)], mine_in_new: bool) -> (usize, usize) {
        let (mut moved, mut to_new) = (0, 0);
        for seed in 0..1000 {
            let mut rng = Rng::new(seed * 7919 + 1);
            if let Some(mut plan) = Rebalance::decide(old, new, mine_in_new, &mut rng) {
                moved += 1;
                let first = plan.pick(&mut rng).unwrap();
                if !old.iter().any(|o| same_host(o, &new[first])) {
                    to_new += 1;
                }
            }
        }
        (moved, to_new)
    }

    #[test]
    fn growing_list_moves_the_share_the_new_servers_need() {
        // 3 servers grown to 5: 1 - 3/5 = 40% of an old server's clients move, all to the new
        // servers.
        let (moved, to_new) = trial(&hosts(0..3), &hosts(0..5), true);
        assert!((350..450).contains(&moved), "{moved} of 1000 moved");
        assert_eq!(to_new, moved);
        // 1 server grown to 2: half move.
        let (moved, _) = trial(&hosts(0..1), &hosts(0..2), true);
        assert!((450..550).contains(&moved), "{moved} of 1000 moved");
    }

    #[test]
    fn a_client_whose_server_stays_in_a_list_that_did_not_grow_stays() {
        assert_eq!(trial(&hosts(0..5), &hosts(0..3), true), (0, 0));
        assert_eq!(trial(&hosts(0..3), &hosts(0..3), true), (0, 0));
    }

    #[test]
    fn a_client_whose_server_left_always_moves() {
        // Grown, its server gone (0..3 -> 1..6): always to a new server.
        let (moved, to_new) = trial(&hosts(0..3), &hosts(1..6), false);
        assert_eq!((moved, to_new), (1000, 1000));
        // Shrunk from 5 to 3 (server 4 and 3 left): p_old = 3 * 2 / (3 * 2) = 1, to an old one.
        let (moved, to_new) = trial(&hosts(0..5), &hosts(0..3), false);
        assert_eq!((moved, to_new), (1000, 0));
        // 4 servers, 2 replaced (0..4 -> 2..6): p_old = 2 * 0 / (4 * 2) = 0, to a new one.
        let (moved, to_new) = trial(&hosts(0..4), &hosts(2..6), false);
        assert_eq!((moved, to_new), (1000, 1000));
        // 6 servers to 4, 2 of them new (0..6 -> 2..4 + 6..8): p_old = 2 * 2 / (4 * 4) = 1/4.
        let mut new = hosts(2..4);
        new.extend(hosts(6..8));
        let (moved, to_new) = trial(&hosts(0..6), &new, false);
        assert_eq!(moved, 1000);
        assert!(
            (700..800).contains(&to_new),
            "{to_new} of 1000 to a new server"
        );
    }

    #[test]
    fn a_moving_client_tries_every_server_once_then_gives_up() {
        let old = hosts(0..3);
        let new = hosts(1..6);
        let mut rng = Rng::new(3);
        let mut plan = Rebalance::decide(&old, &new, false, &mut rng).unwrap();
        let mut tried: Vec<usize> = std::iter::from_fn(|| plan.pick(&mut rng)).collect();
        // The new servers (ports 3, 4, 5) first, then the kept ones.
        assert!(tried[..3].iter().all(|&i| new[i].1 >= 3), "{tried:?}");
        tried.sort();
        assert_eq!(tried, [0, 1, 2, 3, 4]);
        assert_eq!(plan.pick(&mut rng), None);
    }

    #[test]
    fn the_same_seed_makes_the_same_decision() {
        let decide = |seed| {
            let mut rng = Rng::new(seed);
            let mut plan = Rebalance::decide(&hosts(0..3), &hosts(0..5), true, &mut rng);
            plan.as_mut().map(|p| p.pick(&mut rng))
        };
        for seed in 0..50 {
            assert_eq!(decide(seed), decide(seed));
        }
    }

    #[test]
    fn host_names_compare_without_case() {
        assert!(same_host(
            &("LocalHost".into(), 1),
            &("localhost".into(), 1)
        ));
        assert!(!same_host(
            &("localhost".into(), 1),
            &("localhost".into(), 2)
        ));
    }

    #[test]
    fn floats_are_in_the_unit_interval() {
        let mut rng = Rng::new(0);
        for _ in 0..10_000 {
            let f = rng.next_f32();
            assert!((0.0..1.0).contains(&f));
        }
    }
}
