//! A ceiling on the alerts of each signature over all keys (Suricata's `rate_filter` with
//! `track by_rule`): a token bucket in packet time, `burst` alerts at once and `per_second` after
//! that. Per-key limits (threshold.rs) keep one source from repeating itself; this keeps a flood
//! of a million distinct sources from writing a million alerts. What is held back is counted per
//! signature and reported in the evidence of the signature's next alert (`rate_limited`).
//!
//! The table is keyed by signature id: its size is bounded by the rules loaded, not by traffic.

use std::collections::BTreeMap;

use crate::base::time::Ts;

struct Bucket {
    tokens: f64,
    last: Ts,
    /// Held back since this signature's last alert.
    held: u64,
}

pub struct AlertRate {
    per_second: f64,
    burst: f64,
    buckets: BTreeMap<u32, Bucket>,
    /// Alerts held back, by signature id (for the `stats` record and the metrics).
    pub limited: BTreeMap<u32, u64>,
}

impl AlertRate {
    pub fn new(per_second: u64, burst: u64) -> AlertRate {
        AlertRate {
            per_second: per_second.max(1) as f64,
            burst: burst.max(1) as f64,
            buckets: BTreeMap::new(),
            limited: BTreeMap::new(),
        }
    }

    /// New limits (a rules reload); buckets keep their tokens, capped at the new burst.
    pub fn configure(&mut self, per_second: u64, burst: u64) {
        self.per_second = per_second.max(1) as f64;
        self.burst = burst.max(1) as f64;
        for b in self.buckets.values_mut() {
            b.tokens = b.tokens.min(self.burst);
        }
    }

    /// Forget the signatures silent for a week, with what they held back since their last
    /// alert (a bucket that long idle is full again: as good as new).
    pub fn expire(&mut self, now: Ts) {
        self.buckets
            .retain(|_, b| now.since(b.last) < crate::base::time::MEMORY_NS);
    }

    /// Signatures with a bucket.
    pub fn len(&self) -> usize {
        self.buckets.len()
    }

    pub fn is_empty(&self) -> bool {
        self.buckets.is_empty()
    }

    /// May `sig` alert at `now`? `Some(n)`: yes, and `n` of its alerts were held back since its
    /// last one; `None`: held back (and counted).
    pub fn check(&mut self, sig: u32, now: Ts) -> Option<u64> {
        let (per_second, burst) = (self.per_second, self.burst);
        let b = self.buckets.entry(sig).or_insert(Bucket {
            tokens: burst,
            last: now,
            held: 0,
        });
        // Packet time may step back a little (several files, reordering): no refill then.
        let elapsed = now.since(b.last) as f64 / 1e9;
        if now > b.last {
            b.last = now;
        }
        b.tokens = (b.tokens + elapsed * per_second).min(burst);
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            Some(std::mem::take(&mut b.held))
        } else {
            b.held = b.held.saturating_add(1);
            *self.limited.entry(sig).or_insert(0) += 1;
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: u64 = 1_000_000_000;

    #[test]
    fn a_burst_then_the_rate_and_the_count_of_what_was_held() {
        let mut r = AlertRate::new(2, 3);
        // three at once pass, the fourth and fifth are held
        for _ in 0..3 {
            assert_eq!(r.check(7, Ts(10 * S)), Some(0));
        }
        assert_eq!(r.check(7, Ts(10 * S)), None);
        assert_eq!(r.check(7, Ts(10 * S)), None);
        // another signature has its own bucket
        assert_eq!(r.check(8, Ts(10 * S)), Some(0));
        // half a second later one token is back: the alert carries the two held back
        assert_eq!(r.check(7, Ts(10 * S + S / 2)), Some(2));
        assert_eq!(r.check(7, Ts(10 * S + S / 2)), None);
        assert_eq!(r.limited.get(&7), Some(&3));
        assert_eq!(r.limited.get(&8), None);
        // a long quiet spell refills to the burst, not beyond
        for _ in 0..3 {
            assert!(r.check(7, Ts(1000 * S)).is_some());
        }
        assert_eq!(r.check(7, Ts(1000 * S)), None);
    }

    #[test]
    fn time_going_back_refills_nothing() {
        let mut r = AlertRate::new(1, 1);
        assert_eq!(r.check(1, Ts(100 * S)), Some(0));
        assert_eq!(r.check(1, Ts(50 * S)), None);
        assert_eq!(r.check(1, Ts(100 * S)), None);
        assert_eq!(r.check(1, Ts(101 * S)), Some(2));
    }

    #[test]
    fn a_million_distinct_floods_write_burst_plus_rate_alerts() {
        let mut r = AlertRate::new(100, 1000);
        // a million alerts over 100 s of packet time
        let passed = (0..1_000_000u64)
            .filter(|i| r.check(2_100_003, Ts(i * 100_000)).is_some())
            .count();
        assert!((10_900..=11_001).contains(&passed), "{passed}");
        assert_eq!(r.limited[&2_100_003], 1_000_000 - passed as u64);
    }
}
