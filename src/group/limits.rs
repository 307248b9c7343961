//! Replay protection (nonces seen within the clock-skew window) and the
//! per-member rate limit (a token bucket). Both are in memory; the nonces
//! are also in the audit log, from which a restarted server reloads them.
//! With several replicas on PostgreSQL, the nonce cache only spares the
//! database a round trip for this process's own replays: the store's
//! `consume_nonce` is the record all replicas share. The rate limit stays
//! per process (per replica): see [`crate::group::store`]'s PostgreSQL
//! backend for the rule.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use crate::group::release::protocol::{MAX_CLOCK_SKEW, NONCE_LEN};

/// Nonces and the time (Unix seconds) until which each must be refused.
#[derive(Default)]
pub struct NonceCache {
    inner: Mutex<NonceInner>,
}

#[derive(Default)]
struct NonceInner {
    seen: HashMap<[u8; NONCE_LEN], u64>,
    next_prune: u64,
}

impl NonceCache {
    /// Records `nonce` of a request stamped `timestamp` unless it is already
    /// known; false means a replay. A request is only accepted while its
    /// timestamp is within [`MAX_CLOCK_SKEW`] of the clock, so the nonce
    /// needs remembering until `timestamp + MAX_CLOCK_SKEW`.
    pub fn insert(&self, nonce: [u8; NONCE_LEN], timestamp: u64, now: u64) -> bool {
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        if now >= inner.next_prune {
            inner.seen.retain(|_, until| *until >= now);
            inner.next_prune = now + 10;
        }
        match inner.seen.get(&nonce) {
            Some(until) if *until >= now => false,
            _ => {
                inner.seen.insert(nonce, timestamp + MAX_CLOCK_SKEW);
                true
            }
        }
    }

    /// Forgets a nonce whose request was not processed (rate limited), so
    /// that the same signed request may be retried.
    pub fn forget(&self, nonce: &[u8; NONCE_LEN]) {
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        inner.seen.remove(nonce);
    }

    /// Loads a nonce consumed by a request the server received at `received`
    /// (from the audit log after a restart). Its timestamp was within the
    /// skew of `received`, so it stays refused until `received + 2 × skew`.
    pub fn load(&self, nonce: [u8; NONCE_LEN], received: u64) {
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        inner.seen.insert(nonce, received + 2 * MAX_CLOCK_SKEW);
    }

    pub fn len(&self) -> usize {
        self.inner
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .seen
            .len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Token buckets per key (group and member fingerprint).
pub struct RateLimiter {
    rate: f64,
    burst: f64,
    buckets: Mutex<HashMap<String, (f64, Instant)>>,
}

impl RateLimiter {
    /// `rate` requests per second on average, `burst` at once.
    pub fn new(rate: f64, burst: u32) -> RateLimiter {
        RateLimiter {
            rate: rate.max(f64::MIN_POSITIVE),
            burst: f64::from(burst.max(1)),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes a token for `key`, or answers how many whole seconds to wait.
    pub fn check(&self, key: &str, now: Instant) -> Result<(), u64> {
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if buckets.len() > 100_000 {
            // Full buckets carry no state worth keeping.
            let (rate, burst) = (self.rate, self.burst);
            buckets.retain(|_, (tokens, at)| {
                *tokens + now.saturating_duration_since(*at).as_secs_f64() * rate < burst
            });
        }
        let (tokens, at) = buckets.entry(key.to_string()).or_insert((self.burst, now));
        *tokens = (*tokens + now.saturating_duration_since(*at).as_secs_f64() * self.rate)
            .min(self.burst);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else {
            Err(((1.0 - *tokens) / self.rate).ceil().max(1.0) as u64)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn nonces_are_refused_within_the_window_only() {
        let cache = NonceCache::default();
        assert!(cache.insert([1; NONCE_LEN], 1000, 1000));
        assert!(!cache.insert([1; NONCE_LEN], 1000, 1200));
        assert!(cache.insert([2; NONCE_LEN], 1000, 1000));
        cache.forget(&[2; NONCE_LEN]);
        assert!(cache.insert([2; NONCE_LEN], 1000, 1001));
        // After the window the old entry is pruned (and the request would be stale anyway).
        assert!(cache.insert([1; NONCE_LEN], 2000, 2000));
        cache.load([3; NONCE_LEN], 1000);
        assert!(!cache.insert([3; NONCE_LEN], 1500, 1500));
    }

    #[test]
    fn token_bucket_allows_burst_then_rate() {
        let limiter = RateLimiter::new(2.0, 3);
        let t0 = Instant::now();
        for _ in 0..3 {
            assert!(limiter.check("m", t0).is_ok());
        }
        assert_eq!(limiter.check("m", t0), Err(1));
        assert!(limiter.check("other", t0).is_ok());
        assert!(limiter.check("m", t0 + Duration::from_millis(500)).is_ok());
        assert!(limiter.check("m", t0 + Duration::from_millis(500)).is_err());
    }
}
