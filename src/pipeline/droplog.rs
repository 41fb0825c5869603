//! Live capture: say on stderr when packets start being dropped (by the kernel, or at full
//! worker queues) and when they stop, with counts, as they happen; not only in the final
//! stats. Fed once a second with the running totals.

use std::time::{Duration, Instant};

/// While dropping goes on, a reminder at most this often.
const REMIND_EVERY: Duration = Duration::from_secs(10);

/// The drop episode in progress, if any.
#[derive(Default)]
pub struct DropLog {
    kernel: u64,
    queue: u64,
    episode: Option<Episode>,
}

struct Episode {
    started: Instant,
    said: Instant,
    /// Totals when the episode began and when last said.
    kernel_at_start: u64,
    queue_at_start: u64,
    kernel_at_said: u64,
    queue_at_said: u64,
}

impl DropLog {
    /// The running totals at `now`; the line to log, if there is one to say.
    pub fn observe(&mut self, now: Instant, kernel: u64, queue: u64) -> Option<String> {
        let (dk, dq) = (
            kernel.saturating_sub(self.kernel),
            queue.saturating_sub(self.queue),
        );
        let (k0, q0) = (self.kernel, self.queue);
        self.kernel = self.kernel.max(kernel);
        self.queue = self.queue.max(queue);
        let dropping = dk + dq > 0;
        match (&mut self.episode, dropping) {
            (None, true) => {
                self.episode = Some(Episode {
                    started: now,
                    said: now,
                    kernel_at_start: k0,
                    queue_at_start: q0,
                    kernel_at_said: self.kernel,
                    queue_at_said: self.queue,
                });
                Some(format!(
                    "voip-sentinel: packets are being dropped: {dk} by the kernel, {dq} at full worker queues in the last second (the sensor cannot keep up; see README \"Scaling out\")"
                ))
            }
            (Some(e), true) if now.duration_since(e.said) >= REMIND_EVERY => {
                let line = format!(
                    "voip-sentinel: still dropping packets: {} by the kernel, {} at full worker queues in the last {} s",
                    self.kernel - e.kernel_at_said,
                    self.queue - e.queue_at_said,
                    now.duration_since(e.said).as_secs()
                );
                e.said = now;
                e.kernel_at_said = self.kernel;
                e.queue_at_said = self.queue;
                Some(line)
            }
            (Some(e), false) => {
                let line = format!(
                    "voip-sentinel: packets are no longer dropped: {} by the kernel, {} at full worker queues over {} s",
                    self.kernel - e.kernel_at_start,
                    self.queue - e.queue_at_start,
                    now.duration_since(e.started).as_secs().max(1)
                );
                self.episode = None;
                Some(line)
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drops_are_said_when_they_start_while_they_last_and_when_they_stop() {
        let t0 = Instant::now();
        let at = |s: u64| t0 + Duration::from_secs(s);
        let mut log = DropLog::default();
        assert_eq!(log.observe(at(1), 0, 0), None);
        let start = log.observe(at(2), 100, 5).unwrap();
        assert!(
            start.contains("100 by the kernel, 5 at full worker queues"),
            "{start}"
        );
        // Reminded every 10 s at most while it goes on.
        for s in 3..12 {
            assert_eq!(log.observe(at(s), 100 + s * 10, 5), None, "{s}");
        }
        let still = log.observe(at(12), 300, 5).unwrap();
        assert!(
            still.contains("200 by the kernel, 0 at full") && still.contains("10 s"),
            "{still}"
        );
        let stop = log.observe(at(13), 300, 5).unwrap();
        assert!(
            stop.contains("no longer") && stop.contains("300 by the kernel, 5 at"),
            "{stop}"
        );
        assert!(stop.contains("over 11 s"), "{stop}");
        assert_eq!(log.observe(at(14), 300, 5), None);
        // A new episode counts from where the last one ended.
        let again = log.observe(at(15), 301, 5).unwrap();
        assert!(again.contains(": 1 by the kernel, 0 at"), "{again}");
    }
}
