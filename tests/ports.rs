//! Loopback ports without the bind-release-reuse race.
//!
//! A port learned by binding port 0 and releasing it can be handed to anyone else who binds
//! port 0 (or connects out) before it is used again: tests running in parallel, and other
//! processes on the machine, then steal each other's ports. So:
//!
//! * servers that can bind port 0 do, and report the port they got;
//! * [`unassigned_port`] is for a server that cannot (Apache ZooKeeper, kazoo's harness): a port
//!   below the kernel's ephemeral range, which port-0 binds and outgoing connections never
//!   take, so only another server picking the same port by chance can clash, and the caller
//!   checks for that and tries another;
//! * [`RefusedAddr`] is an address where nothing listens, held so nobody can start listening
//!   there while a test counts on connections being refused.

use std::net::{SocketAddr, TcpListener};
use std::sync::atomic::{AtomicU64, Ordering};

/// The lowest port [`unassigned_port`] hands out (above most registered services' ports).
const LOWEST: u16 = 10_000;
/// How many candidates [`unassigned_port_block`] probes before giving up.
const PROBES: usize = 2_000;

/// The kernel's ephemeral port range, `/proc/sys/net/ipv4/ip_local_port_range` (Linux's
/// default 32768..=60999 when it cannot be read).
pub fn ephemeral_range() -> (u16, u16) {
    let text =
        std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range").unwrap_or_default();
    let mut it = text.split_whitespace().map(str::parse::<u16>);
    match (it.next(), it.next()) {
        (Some(Ok(lo)), Some(Ok(hi))) if lo <= hi => (lo, hi),
        _ => (32_768, 60_999),
    }
}

/// A pseudo-random number, different per call and per process.
fn next_random() -> u64 {
    static CALLS: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    let mut x = nanos
        ^ (u64::from(std::process::id()) << 32)
        ^ CALLS
            .fetch_add(1, Ordering::Relaxed)
            .wrapping_mul(0x9e37_79b9_7f4a_7c15);
    x |= 1;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    x
}

/// The first of `n` consecutive loopback ports, all free now and all outside the kernel's
/// ephemeral range (so no port-0 bind or outgoing connection can take them meanwhile). A
/// server started on them may still clash with another one that picked the same ports: check
/// that the server answering is yours, and pick again if not.
pub fn unassigned_port_block(n: u16) -> u16 {
    assert!((1..=100).contains(&n), "a block of 1..=100 ports");
    let (lo, hi) = ephemeral_range();
    // Below the ephemeral range if it leaves room, else above it.
    let (first, last) = if lo > LOWEST + 1_000 {
        (LOWEST, lo - 1)
    } else {
        (hi.saturating_add(1), u16::MAX)
    };
    assert!(
        last - first > n,
        "no room outside the ephemeral range {lo}..={hi}"
    );
    let span = u64::from(last - first - n + 1);
    for _ in 0..PROBES {
        let base = first + (next_random() % span) as u16;
        let free = (base..base + n).all(|p| TcpListener::bind(("127.0.0.1", p)).is_ok());
        if free {
            return base;
        }
    }
    panic!("no {n} free loopback ports outside the ephemeral range after {PROBES} probes");
}

/// A loopback port free now and outside the ephemeral range: see [`unassigned_port_block`].
pub fn unassigned_port() -> u16 {
    unassigned_port_block(1)
}

/// A loopback address where nothing listens, for as long as this value lives: a socket is
/// bound there but never listens, so connections are refused and no other server can take
/// the port meanwhile.
#[derive(Debug)]
pub struct RefusedAddr {
    _socket: tokio::net::TcpSocket,
    addr: SocketAddr,
}

impl RefusedAddr {
    /// Binds a socket to 127.0.0.1 and a port the kernel picks, without listening.
    pub fn new() -> RefusedAddr {
        let socket = tokio::net::TcpSocket::new_v4().expect("a TCP socket");
        socket
            .bind(([127, 0, 0, 1], 0).into())
            .expect("bind a loopback port");
        let addr = socket.local_addr().expect("the bound address");
        RefusedAddr {
            _socket: socket,
            addr,
        }
    }

    /// The address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Default for RefusedAddr {
    fn default() -> Self {
        RefusedAddr::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unassigned_ports_are_outside_the_ephemeral_range_and_free() {
        let (lo, hi) = ephemeral_range();
        for _ in 0..20 {
            let p = unassigned_port_block(4);
            assert!(p + 3 < lo || p > hi, "{p} in {lo}..={hi}");
            for q in p..p + 4 {
                TcpListener::bind(("127.0.0.1", q)).expect("free");
            }
        }
    }

    #[test]
    fn a_refused_addr_refuses_and_keeps_its_port() {
        let dead = RefusedAddr::new();
        let err = std::net::TcpStream::connect(dead.addr()).expect_err("nothing listens");
        assert_eq!(err.kind(), std::io::ErrorKind::ConnectionRefused);
        assert!(
            TcpListener::bind(dead.addr()).is_err(),
            "nobody else can listen there meanwhile"
        );
    }
}
