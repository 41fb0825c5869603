//! The watchdog: a thread that notices when a stage of the pipeline stops moving while it has
//! work (not while it waits for input), and says which stage, what it was doing and where in
//! the capture, then says when it moves again. A stalled stage otherwise shows only as queues
//! filling and packets dropped, with nothing to point at the cause.
//!
//! Each stage keeps a [`Heartbeat`]: a progress counter it bumps per unit of work (a packet, a
//! job, an event), what it is doing now, and the capture packet it is at. The stages write
//! these with relaxed stores; only the watchdog reads them, once a second.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What a stage is doing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Doing {
    /// Waiting for input: never a stall.
    Waiting = 0,
    Working = 1,
    /// Blocked handing its output to the next stage.
    Handing = 2,
}

/// One stage's signs of life.
#[derive(Default)]
pub struct Heartbeat {
    progress: AtomicU64,
    doing: AtomicU8,
    at_packet: AtomicU64,
}

impl Heartbeat {
    /// One more unit of work. Each heartbeat has one writer (its stage), so a plain load and
    /// store does it: no locked read-modify-write on the per-packet path.
    #[inline]
    pub fn beat(&self) {
        let n = self.progress.load(Ordering::Relaxed);
        self.progress.store(n.wrapping_add(1), Ordering::Relaxed);
    }

    #[inline]
    pub fn doing(&self, d: Doing) {
        self.doing.store(d as u8, Ordering::Relaxed);
    }

    #[inline]
    pub fn at_packet(&self, seq: u64) {
        self.at_packet.store(seq, Ordering::Relaxed);
    }

    fn read(&self) -> (u64, Doing, u64) {
        let doing = match self.doing.load(Ordering::Relaxed) {
            1 => Doing::Working,
            2 => Doing::Handing,
            _ => Doing::Waiting,
        };
        (
            self.progress.load(Ordering::Relaxed),
            doing,
            self.at_packet.load(Ordering::Relaxed),
        )
    }
}

/// A watched stage: its name, what it hands its output to, and its heartbeat.
pub struct Stage {
    pub name: String,
    pub hands_to: String,
    pub heart: Arc<Heartbeat>,
    last_progress: u64,
    since: Instant,
    stalled: bool,
}

impl Stage {
    pub fn new(
        name: impl Into<String>,
        hands_to: impl Into<String>,
        heart: Arc<Heartbeat>,
    ) -> Stage {
        Stage {
            name: name.into(),
            hands_to: hands_to.into(),
            heart,
            last_progress: 0,
            since: Instant::now(),
            stalled: false,
        }
    }
}

/// Look at every stage at `now`; the lines to log. A stage stalls when it has not progressed
/// for `after` while working or handing on; it recovers when it progresses again.
pub fn check(stages: &mut [Stage], now: Instant, after: Duration) -> Vec<String> {
    let mut lines = Vec::new();
    for s in stages {
        let (progress, doing, at) = s.heart.read();
        if progress != s.last_progress || doing == Doing::Waiting {
            if s.stalled {
                lines.push(format!(
                    "voip-sentinel: watchdog: {} is moving again after {} s",
                    s.name,
                    now.duration_since(s.since).as_secs()
                ));
                s.stalled = false;
            }
            s.last_progress = progress;
            s.since = now;
            continue;
        }
        if !s.stalled && now.duration_since(s.since) >= after {
            s.stalled = true;
            let what = match doing {
                Doing::Handing => format!("blocked handing its work to {}", s.hands_to),
                _ => "busy with one piece of work".to_string(),
            };
            let place = if at > 0 {
                format!(" at capture packet #{at}")
            } else {
                String::new()
            };
            lines.push(format!(
                "voip-sentinel: watchdog: {} has made no progress for {} s, {what}{place}",
                s.name,
                now.duration_since(s.since).as_secs()
            ));
        }
    }
    lines
}

/// Run [`check`] every second in a thread of its own until `stop` is set (then unpark the
/// thread, so that it ends at once), logging on stderr.
pub fn spawn(
    mut stages: Vec<Stage>,
    after: Duration,
    stop: Arc<AtomicBool>,
) -> std::io::Result<std::thread::JoinHandle<()>> {
    std::thread::Builder::new()
        .name("watchdog".into())
        .spawn(move || {
            let mut last = Instant::now();
            loop {
                std::thread::park_timeout(Duration::from_secs(1));
                if stop.load(Ordering::Relaxed) {
                    return;
                }
                if last.elapsed() < Duration::from_secs(1) {
                    continue;
                }
                last = Instant::now();
                for line in check(&mut stages, last, after) {
                    eprintln!("{line}");
                }
            }
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stage_stalled_while_working_is_named_with_where_and_its_recovery_too() {
        let t0 = Instant::now();
        let at = |s: u64| t0 + Duration::from_secs(s);
        let worker = Arc::new(Heartbeat::default());
        let idle = Arc::new(Heartbeat::default());
        let mut stages = vec![
            Stage::new("worker-1", "the correlator", Arc::clone(&worker)),
            Stage::new("correlator", "the output", Arc::clone(&idle)),
        ];
        for s in &mut stages {
            s.since = t0;
        }
        worker.doing(Doing::Working);
        worker.at_packet(4242);
        worker.beat();
        assert!(check(&mut stages, at(1), Duration::from_secs(5)).is_empty());
        // Waiting for input is never a stall, however long.
        assert!(check(&mut stages, at(5), Duration::from_secs(5)).is_empty());
        let lines = check(&mut stages, at(6), Duration::from_secs(5));
        assert_eq!(
            lines,
            ["voip-sentinel: watchdog: worker-1 has made no progress for 5 s, busy with one piece of work at capture packet #4242"]
        );
        // Said once per stall.
        assert!(check(&mut stages, at(9), Duration::from_secs(5)).is_empty());
        worker.doing(Doing::Handing);
        assert!(check(&mut stages, at(10), Duration::from_secs(5)).is_empty());
        worker.beat();
        let lines = check(&mut stages, at(12), Duration::from_secs(5));
        assert_eq!(
            lines,
            ["voip-sentinel: watchdog: worker-1 is moving again after 11 s"]
        );
        // Blocked on the next stage.
        let lines = check(&mut stages, at(18), Duration::from_secs(5));
        assert!(
            lines[0].ends_with("no progress for 6 s, blocked handing its work to the correlator at capture packet #4242"),
            "{lines:?}"
        );
    }
}
