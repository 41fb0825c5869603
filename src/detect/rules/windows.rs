//! Suricata's threshold semantics (`threshold:` in a rule, `threshold`/`event_filter` in
//! threshold.config): per signature and tracked addresses, a window of `seconds` in packet time
//! and the matches counted in it, which decide whether a match alerts (`limit`: the first
//! `count`; `threshold`: every `count`-th; `both`: the `count`-th once). Rules and
//! threshold.config entries share these windows. The table is capped; when full it drops its
//! oldest 1/64, counted.

use std::net::IpAddr;

use super::{Threshold, ThresholdKind, Track};
use crate::base::fasthash::FastMap;
use crate::base::time::Ts;

/// Windows kept at most ((sid, tracked addresses) pairs).
pub const MAX_WINDOWS: usize = 100_000;

/// The addresses a threshold counts per: none (by rule), one (by source or destination), or the
/// pair (lower first, so both directions count together).
type TrackKey = (Option<IpAddr>, Option<IpAddr>);

#[derive(Default)]
pub struct ThresholdWindows {
    /// (sid, tracked addresses) -> (window start, matches in the window, window end).
    windows: FastMap<(u32, TrackKey), (Ts, u32, Ts)>,
    evictions: u64,
    /// Packet time of the last sweep of windows that are over.
    swept: u64,
}

/// Windows that are over are dropped when packet time passes a minute's boundary (the same
/// sweeps whatever packet a replay started with); one that is over counts as absent anyway.
const SWEEP_NS: u64 = crate::base::time::secs(60);

impl ThresholdWindows {
    /// One match of `sid` between `src` and `dst` at `ts`: `Some(matches in the window)` when
    /// it raises an alert. Without a threshold every match alerts.
    pub fn pass(
        &mut self,
        sid: u32,
        t: Option<&Threshold>,
        src: IpAddr,
        dst: IpAddr,
        ts: Ts,
    ) -> Option<u32> {
        let Some(t) = t else { return Some(1) };
        let key = match t.track {
            Track::BySrc => (Some(src), None),
            Track::ByDst => (Some(dst), None),
            Track::ByRule => (None, None),
            Track::ByBoth => (Some(src.min(dst)), Some(src.max(dst))),
        };
        if self.windows.len() >= MAX_WINDOWS && !self.windows.contains_key(&(sid, key)) {
            let len = self.windows.len();
            for old in crate::base::evict::oldest(self.windows.iter(), len, |k, v| (v.0, *k)) {
                self.windows.remove(&old);
                self.evictions += 1;
            }
        }
        let window = crate::base::time::secs(u64::from(t.seconds));
        let ends = Ts(ts.0.saturating_add(window));
        let e = self.windows.entry((sid, key)).or_insert((ts, 0, ends));
        if ts.since(e.0) >= window {
            *e = (ts, 0, ends);
        }
        e.1 = e.1.saturating_add(1);
        let n = e.1;
        let count = t.count.max(1);
        let fire = match t.kind {
            ThresholdKind::Limit => n <= count,
            ThresholdKind::Threshold => n.is_multiple_of(count),
            ThresholdKind::Both => n == count,
        };
        fire.then_some(n)
    }

    /// Packet time reached `now`: drop the windows that are over (once a minute).
    pub fn expire(&mut self, now: Ts) {
        if now.0 / SWEEP_NS == self.swept / SWEEP_NS {
            return;
        }
        self.swept = now.0;
        self.windows.retain(|_, (_, _, ends)| now < *ends);
    }

    /// Forget every window (new thresholds after a reload).
    pub fn clear(&mut self) {
        self.windows.clear();
    }

    pub fn len(&self) -> usize {
        self.windows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.windows.is_empty()
    }

    pub fn evictions(&self) -> u64 {
        self.evictions
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(kind: ThresholdKind, track: Track, count: u32) -> Threshold {
        Threshold {
            kind,
            track,
            count,
            seconds: 60,
        }
    }

    #[test]
    fn limit_threshold_and_both_count_per_window_and_track() {
        let (a, b, c) = (
            "10.0.0.1".parse().unwrap(),
            "10.0.0.2".parse().unwrap(),
            "10.0.0.3".parse().unwrap(),
        );
        let mut w = ThresholdWindows::default();
        let at = |s: u64| Ts(crate::base::time::secs(s));
        let limit = t(ThresholdKind::Limit, Track::BySrc, 2);
        let fired: Vec<_> = (0..4)
            .map(|i| w.pass(1, Some(&limit), a, b, at(i)))
            .collect();
        assert_eq!(fired, [Some(1), Some(2), None, None]);
        // another source has its own window; the window restarts after 60 s
        assert_eq!(w.pass(1, Some(&limit), c, b, at(5)), Some(1));
        assert_eq!(w.pass(1, Some(&limit), a, b, at(61)), Some(1));
        let every = t(ThresholdKind::Threshold, Track::ByBoth, 3);
        let fired: Vec<_> = (0..6)
            .map(|i| {
                let (s, d) = if i % 2 == 0 { (a, b) } else { (b, a) };
                w.pass(2, Some(&every), s, d, at(i))
            })
            .collect();
        assert_eq!(fired, [None, None, Some(3), None, None, Some(6)]);
        let both = t(ThresholdKind::Both, Track::ByRule, 2);
        let fired: Vec<_> = (0..3)
            .map(|i| w.pass(3, Some(&both), a, b, at(i)))
            .collect();
        assert_eq!(fired, [None, Some(2), None]);
        assert_eq!(w.pass(4, None, a, b, at(0)), Some(1));
        assert_eq!(w.len(), 4);
        w.clear();
        assert!(w.is_empty());
    }
}
