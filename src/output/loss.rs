//! Loss is loud: a record that cannot be written (full disk, vanished folder, closed pipe) is
//! counted and said on stderr when it happens (the first at once, then at most one line every
//! 10 s while it goes on, and a line when writing works again), and how long the output has
//! been failing is known, so a live sensor can exit for its service manager to restart it.

use std::time::{Duration, Instant};

/// While writes keep failing, a reminder at most this often.
const REMIND_EVERY: Duration = Duration::from_secs(10);

/// The state of one output (the EVE file or stdout).
pub struct WriteHealth {
    /// What the lines call the output (`eve.json`, `stdout`).
    name: String,
    failing: Option<Failing>,
}

struct Failing {
    since: Instant,
    said: Instant,
    lost: u64,
    lost_since_said: u64,
}

impl WriteHealth {
    pub fn new(name: impl Into<String>) -> WriteHealth {
        WriteHealth {
            name: name.into(),
            failing: None,
        }
    }

    /// A record was lost at `now` because of `error`; the line to log, if it is time to say.
    pub fn failed(&mut self, now: Instant, error: &str) -> Option<String> {
        match &mut self.failing {
            None => {
                self.failing = Some(Failing {
                    since: now,
                    said: now,
                    lost: 1,
                    lost_since_said: 0,
                });
                Some(format!(
                    "voip-sentinel: cannot write records to {}: {error}; records are being lost",
                    self.name
                ))
            }
            Some(f) => {
                f.lost += 1;
                f.lost_since_said += 1;
                if now.duration_since(f.said) < REMIND_EVERY {
                    return None;
                }
                let line = format!(
                    "voip-sentinel: still cannot write records to {}: {error}; {} lost in the last {} s, {} since {} s ago",
                    self.name,
                    f.lost_since_said,
                    now.duration_since(f.said).as_secs(),
                    f.lost,
                    now.duration_since(f.since).as_secs()
                );
                f.said = now;
                f.lost_since_said = 0;
                Some(line)
            }
        }
    }

    /// A record was written: the line to log if writing had been failing.
    #[inline]
    pub fn succeeded(&mut self, now: Instant) -> Option<String> {
        let f = self.failing.take()?;
        Some(format!(
            "voip-sentinel: records are written to {} again ({} lost over {} s)",
            self.name,
            f.lost,
            now.duration_since(f.since).as_secs()
        ))
    }

    /// Whether writes have been failing since longer than `limit` at `now`.
    pub fn failing_longer_than(&self, now: Instant, limit: Duration) -> bool {
        self.failing
            .as_ref()
            .is_some_and(|f| now.duration_since(f.since) >= limit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_are_said_at_once_then_every_ten_seconds_and_recovery_too() {
        let t0 = Instant::now();
        let at = |ms: u64| t0 + Duration::from_millis(ms);
        let mut h = WriteHealth::new("eve.json");
        assert_eq!(h.succeeded(at(0)), None);
        let first = h.failed(at(1000), "No space left on device").unwrap();
        assert!(
            first.contains("cannot write records to eve.json: No space left"),
            "{first}"
        );
        for i in 1..100 {
            assert_eq!(h.failed(at(1000 + i * 90), "No space left on device"), None);
        }
        assert!(!h.failing_longer_than(at(10_999), Duration::from_secs(10)));
        let again = h.failed(at(11_000), "No space left on device").unwrap();
        assert!(
            again.contains("100 lost in the last 10 s, 101 since 10 s ago"),
            "{again}"
        );
        assert!(h.failing_longer_than(at(11_000), Duration::from_secs(10)));
        let back = h.succeeded(at(12_000)).unwrap();
        assert!(back.contains("again (101 lost over 11 s)"), "{back}");
        assert!(!h.failing_longer_than(at(99_000), Duration::from_secs(1)));
    }
}
