//! Alert thresholding with Suricata `threshold.config` semantics, `type limit`: at most `limit`
//! alerts per (signature, key) per `seconds` (the period starts with the first alert of the
//! key). What is held back is counted and reported on the next alert of the same key, so a flood
//! of a million packets gives a few alerts that carry its size.

use super::secs;
use super::table::Lru;
use crate::base::iptext::IpText;
use crate::base::time::Ts;
use std::net::IpAddr;

/// What a limiter keys its periods by, written into the lookup text without the formatting
/// machinery (a flood checks its limit on every message past the threshold).
pub trait LimitKey {
    fn put(&self, out: &mut String);
}

impl LimitKey for str {
    fn put(&self, out: &mut String) {
        out.push_str(self);
    }
}

impl LimitKey for String {
    fn put(&self, out: &mut String) {
        out.push_str(self);
    }
}

impl LimitKey for IpText {
    fn put(&self, out: &mut String) {
        out.push_str(self);
    }
}

impl LimitKey for IpAddr {
    fn put(&self, out: &mut String) {
        out.push_str(&IpText::new(self));
    }
}

impl LimitKey for std::fmt::Arguments<'_> {
    fn put(&self, out: &mut String) {
        // Writing to a String cannot fail.
        let _ = std::fmt::Write::write_fmt(out, *self);
    }
}

impl<T: LimitKey + ?Sized> LimitKey for &T {
    fn put(&self, out: &mut String) {
        (**self).put(out);
    }
}

/// Two parts, written `A|B`.
impl<A: LimitKey, B: LimitKey> LimitKey for (A, B) {
    fn put(&self, out: &mut String) {
        self.0.put(out);
        out.push('|');
        self.1.put(out);
    }
}

struct Period {
    start: Ts,
    alerts: u64,
    suppressed: u64,
}

pub struct Limiter {
    /// By `SID|KEY`.
    table: Lru<String, Period>,
    /// The key being looked up, built here so a key seen before costs no allocation.
    scratch: String,
    limit: u64,
    seconds: u64,
    /// Alerts held back, all keys.
    pub suppressed: u64,
}

impl Limiter {
    pub fn new(limit: u64, seconds: u64, max_keys: usize) -> Limiter {
        Limiter {
            table: Lru::new(max_keys),
            scratch: String::new(),
            limit: limit.max(1),
            seconds: seconds.max(1),
            suppressed: 0,
        }
    }

    pub fn configure(&mut self, limit: u64, seconds: u64, max_keys: usize) {
        self.limit = limit.max(1);
        self.seconds = seconds.max(1);
        self.table.set_max_keys(max_keys);
    }

    /// May `sig` alert for `key` at `now`? `Some(n)`: yes, and `n` alerts of this key were held
    /// back since its last one; `None`: held back (and counted).
    pub fn check(&mut self, sig: u32, key: impl LimitKey, now: Ts) -> Option<u64> {
        let seconds = self.seconds;
        let limit = self.limit;
        let scratch = &mut self.scratch;
        scratch.clear();
        scratch.push_str(itoa::Buffer::new().format(sig));
        scratch.push('|');
        key.put(scratch);
        let p = self.table.touch_by(
            scratch.as_str(),
            now,
            || scratch.clone(),
            || Period {
                start: now,
                alerts: 0,
                suppressed: 0,
            },
        );
        if now.since(p.start) >= secs(seconds) {
            p.start = now;
            p.alerts = 0;
        }
        if p.alerts < limit {
            p.alerts += 1;
            Some(std::mem::take(&mut p.suppressed))
        } else {
            p.suppressed = p.suppressed.saturating_add(1);
            self.suppressed = self.suppressed.saturating_add(1);
            None
        }
    }

    pub fn expire(&mut self, now: Ts) {
        self.table.expire(now, secs(self.seconds));
    }

    /// Forget the keys silent for `idle_ns`, their held-back counts with them (a limiter whose
    /// counts are reported with the key's next alert keeps them that long).
    pub fn forget_idle(&mut self, now: Ts, idle_ns: u64) {
        self.table.expire(now, idle_ns);
    }

    pub fn len(&self) -> usize {
        self.table.len()
    }

    pub fn is_empty(&self) -> bool {
        self.table.is_empty()
    }

    pub fn evictions(&self) -> u64 {
        self.table.evictions
    }

    /// Cap of the table of keys.
    pub fn max_keys(&self) -> usize {
        self.table.max_keys()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limit_per_key_per_period_and_counts_what_it_held() {
        let mut l = Limiter::new(2, 60, 10);
        let t = Ts(secs(100));
        assert_eq!(l.check(1, "a", t), Some(0));
        assert_eq!(l.check(1, "a", t), Some(0));
        assert_eq!(l.check(1, "a", t), None);
        assert_eq!(l.check(1, "a", t), None);
        assert_eq!(l.check(1, "b", t), Some(0));
        assert_eq!(l.check(2, "a", t), Some(0));
        assert_eq!(l.check(1, "a", t.add_secs(59)), None);
        assert_eq!(l.check(1, "a", t.add_secs(60)), Some(3));
        assert_eq!(l.suppressed, 3);
    }
}
