//! Retry policies, as Curator computes them (`org.apache.curator.retry`).
//!
//! A policy is pure: it is given the retry count, the time elapsed since the first attempt and
//! a source of randomness, and answers how long to sleep before the next attempt, or `None` to
//! give up. [`Framework`](crate::Framework) applies it to retryable failures only (see
//! [`is_retryable`]).

use std::fmt;
use std::time::Duration;

use rand::RngCore;

/// Curator's cap on [`ExponentialBackoffRetry`]'s retries: beyond 29, `1 << (n + 1)` overflows.
pub const MAX_EXPONENTIAL_RETRIES: u32 = 29;

/// Decides whether, and after how long, a failed operation is tried again.
pub trait RetryPolicy: Send + Sync + fmt::Debug {
    /// The pause before retry number `retry_count` (0 for the first retry), given the time
    /// since the first attempt; `None` gives up.
    fn next_sleep(
        &self,
        retry_count: u32,
        elapsed: Duration,
        rng: &mut dyn RngCore,
    ) -> Option<Duration>;
}

/// True for the client failures Curator retries (`RetryPolicy.allowRetry(Throwable)`): the
/// client's own retryable failures ([`zk_client::Error::is_retryable`]: connection loss, a
/// moved session, operation timeout). Session expiry is retryable only when the framework can
/// open a new session (`session_recreated`).
pub fn is_retryable(e: &zk_client::Error, session_recreated: bool) -> bool {
    match e {
        zk_client::Error::SessionExpired => session_recreated,
        other => other.is_retryable(),
    }
}

/// `random.nextInt(bound)` for a positive bound: uniform in `0..bound`.
fn next_int(rng: &mut dyn RngCore, bound: u64) -> u64 {
    debug_assert!(bound > 0);
    rng.next_u64() % bound
}

/// `ExponentialBackoffRetry(base, maxRetries[, maxSleep])`: sleep `base * max(1, rand(0..2^(n+1)))`,
/// capped at `max_sleep`, for at most `max_retries` retries (capped at 29).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExponentialBackoffRetry {
    base: Duration,
    max_retries: u32,
    max_sleep: Duration,
}

impl ExponentialBackoffRetry {
    /// A policy with no sleep cap (Curator's `Integer.MAX_VALUE` ms).
    pub fn new(base: Duration, max_retries: u32) -> Self {
        Self::with_max_sleep(base, max_retries, Duration::from_millis(i32::MAX as u64))
    }

    /// A policy whose sleeps never exceed `max_sleep`.
    pub fn with_max_sleep(base: Duration, max_retries: u32, max_sleep: Duration) -> Self {
        ExponentialBackoffRetry {
            base,
            max_retries: max_retries.min(MAX_EXPONENTIAL_RETRIES),
            max_sleep,
        }
    }

    fn sleep(&self, retry_count: u32, rng: &mut dyn RngCore) -> Duration {
        let n = retry_count.min(MAX_EXPONENTIAL_RETRIES);
        let factor = next_int(rng, 1u64 << (n + 1)).max(1);
        let sleep = self
            .base
            .saturating_mul(u32::try_from(factor).unwrap_or(u32::MAX));
        sleep.min(self.max_sleep)
    }
}

impl RetryPolicy for ExponentialBackoffRetry {
    fn next_sleep(&self, n: u32, _: Duration, rng: &mut dyn RngCore) -> Option<Duration> {
        (n < self.max_retries).then(|| self.sleep(n, rng))
    }
}

/// `BoundedExponentialBackoffRetry(base, maxSleep, maxRetries)`: the exponential backoff with
/// every sleep bounded by `max_sleep`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BoundedExponentialBackoffRetry(ExponentialBackoffRetry);

impl BoundedExponentialBackoffRetry {
    /// A bounded policy.
    pub fn new(base: Duration, max_sleep: Duration, max_retries: u32) -> Self {
        BoundedExponentialBackoffRetry(ExponentialBackoffRetry::with_max_sleep(
            base,
            max_retries,
            max_sleep,
        ))
    }
}

impl RetryPolicy for BoundedExponentialBackoffRetry {
    fn next_sleep(&self, n: u32, e: Duration, rng: &mut dyn RngCore) -> Option<Duration> {
        self.0.next_sleep(n, e, rng)
    }
}

/// `RetryNTimes(n, sleep)`: `n` retries with a fixed pause. `RetryOneTime` is `n = 1`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryNTimes {
    /// How many retries.
    pub n: u32,
    /// The pause before each.
    pub sleep: Duration,
}

impl RetryPolicy for RetryNTimes {
    fn next_sleep(&self, n: u32, _: Duration, _: &mut dyn RngCore) -> Option<Duration> {
        (n < self.n).then_some(self.sleep)
    }
}

/// `RetryUntilElapsed(maxElapsed, sleep)`: retries with a fixed pause while less than
/// `max_elapsed` has passed since the first attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryUntilElapsed {
    /// The time after which it gives up.
    pub max_elapsed: Duration,
    /// The pause before each retry.
    pub sleep: Duration,
}

impl RetryPolicy for RetryUntilElapsed {
    fn next_sleep(&self, _: u32, elapsed: Duration, _: &mut dyn RngCore) -> Option<Duration> {
        (elapsed < self.max_elapsed).then_some(self.sleep)
    }
}

/// `RetryForever(interval)`: never gives up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryForever {
    /// The pause before each retry.
    pub interval: Duration,
}

impl RetryPolicy for RetryForever {
    fn next_sleep(&self, _: u32, _: Duration, _: &mut dyn RngCore) -> Option<Duration> {
        Some(self.interval)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn exponential_sleeps_stay_in_curators_range() {
        let p = ExponentialBackoffRetry::new(10 * MS, 5);
        let mut rng = StdRng::seed_from_u64(7);
        for n in 0..5 {
            for _ in 0..200 {
                let s = p.next_sleep(n, Duration::ZERO, &mut rng).unwrap();
                // base * max(1, rand(0 .. 2^(n+1))): between base and base * (2^(n+1) - 1).
                assert!(
                    s >= 10 * MS && s <= 10 * MS * ((1 << (n + 1)) - 1),
                    "{n}: {s:?}"
                );
            }
        }
        assert_eq!(p.next_sleep(5, Duration::ZERO, &mut rng), None);
    }

    #[test]
    fn exponential_retries_are_capped_at_29_and_sleep_bounded() {
        let p = ExponentialBackoffRetry::new(MS, 1000);
        let mut rng = StdRng::seed_from_u64(1);
        assert!(p.next_sleep(28, Duration::ZERO, &mut rng).is_some());
        assert_eq!(p.next_sleep(29, Duration::ZERO, &mut rng), None);
        let b = BoundedExponentialBackoffRetry::new(100 * MS, 300 * MS, 10);
        for n in 0..10 {
            let s = b.next_sleep(n, Duration::ZERO, &mut rng).unwrap();
            assert!(s >= 100 * MS && s <= 300 * MS);
        }
    }

    #[test]
    fn fixed_policies() {
        let mut rng = StdRng::seed_from_u64(1);
        let n = RetryNTimes {
            n: 2,
            sleep: 5 * MS,
        };
        assert_eq!(n.next_sleep(1, Duration::ZERO, &mut rng), Some(5 * MS));
        assert_eq!(n.next_sleep(2, Duration::ZERO, &mut rng), None);
        let e = RetryUntilElapsed {
            max_elapsed: 50 * MS,
            sleep: MS,
        };
        assert_eq!(e.next_sleep(100, 49 * MS, &mut rng), Some(MS));
        assert_eq!(e.next_sleep(0, 50 * MS, &mut rng), None);
        let f = RetryForever { interval: MS };
        assert_eq!(f.next_sleep(u32::MAX, Duration::MAX, &mut rng), Some(MS));
    }

    #[test]
    fn retryable_failures() {
        assert!(is_retryable(&zk_client::Error::ConnectionLoss, false));
        assert!(is_retryable(&zk_client::Error::Timeout, false));
        assert!(!is_retryable(&zk_client::Error::SessionExpired, false));
        assert!(is_retryable(&zk_client::Error::SessionExpired, true));
        assert!(!is_retryable(&zk_client::Error::NoNode, true));
        assert!(is_retryable(&zk_client::Error::SessionMoved, false));
        assert!(is_retryable(
            &zk_client::Error::from_code(zk_core::ErrorCode::SessionMoved),
            false
        ));
    }
}
