//! Loopback ports for an embedded ensemble, chosen before its members start.
//!
//! Every member's config names every member's election and quorum ports, so they cannot come
//! from binding port 0. A port found free by binding and releasing it could be taken again at
//! once by anyone binding port 0 or connecting out, if it were in the kernel's ephemeral range:
//! so the ports come from outside that range, where only a program that picks ports the same
//! way can take one meanwhile. The caller starts the members and, when a bind still fails
//! (another ensemble picked the same ports), starts again on a new block.

use std::net::{Ipv4Addr, TcpListener};
use std::sync::atomic::{AtomicU64, Ordering};

/// The lowest port handed out (above most registered services' ports).
const LOWEST: u16 = 10_000;
/// Candidate blocks probed before giving up.
const PROBES: usize = 2_000;

/// The kernel's ephemeral port range (`/proc/sys/net/ipv4/ip_local_port_range`; Linux's
/// default 32768..=60999 when it cannot be read).
fn ephemeral_range() -> (u16, u16) {
    let text =
        std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range").unwrap_or_default();
    let mut it = text.split_whitespace().map(str::parse::<u16>);
    match (it.next(), it.next()) {
        (Some(Ok(lo)), Some(Ok(hi))) if lo <= hi => (lo, hi),
        _ => (32_768, 60_999),
    }
}

/// A number that differs per call, per process and per moment (xorshift over the clock, the
/// pid and a call counter): only spreads the choices of concurrent callers.
fn next_random() -> u64 {
    static CALLS: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    let calls = CALLS.fetch_add(1, Ordering::Relaxed);
    let mut x =
        (nanos ^ (u64::from(std::process::id()) << 40) ^ calls.wrapping_mul(0x9e37_79b9)) | 1;
    for _ in 0..3 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
    }
    x
}

/// The first of `n` consecutive loopback ports, each free now and outside the ephemeral
/// range.
///
/// # Errors
/// No room outside the ephemeral range, or no free block found.
pub(crate) fn free_block(n: u16) -> std::io::Result<u16> {
    let (lo, hi) = ephemeral_range();
    let (first, last) = if lo > LOWEST.saturating_add(n).saturating_add(100) {
        (LOWEST, lo - 1)
    } else {
        (hi.saturating_add(1), u16::MAX)
    };
    if n == 0 || last <= first || last - first < n {
        return Err(std::io::Error::other(format!(
            "no room for {n} ports outside the ephemeral range {lo}..={hi}"
        )));
    }
    let span = u64::from(last - first - n + 1);
    for _ in 0..PROBES {
        let base = first + (next_random() % span) as u16;
        if (base..base + n).all(|p| TcpListener::bind((Ipv4Addr::LOCALHOST, p)).is_ok()) {
            return Ok(base);
        }
    }
    Err(std::io::Error::new(
        std::io::ErrorKind::AddrInUse,
        format!("no {n} free loopback ports outside the ephemeral range after {PROBES} probes"),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_are_free_and_outside_the_ephemeral_range() {
        let (lo, hi) = ephemeral_range();
        for _ in 0..20 {
            let p = free_block(9).unwrap();
            assert!(p + 8 < lo || p > hi, "{p} in {lo}..={hi}");
            for q in p..p + 9 {
                TcpListener::bind((Ipv4Addr::LOCALHOST, q)).expect("free");
            }
        }
    }
}
