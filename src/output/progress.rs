//! The progress line of a replay on a terminal: how much of the input is read (by bytes, so
//! also across several files), packets per second, and the time left at that pace.

use std::time::{Duration, Instant};

/// Bytes a savefile record takes beside its packet (the pcap record header; pcapng blocks take
/// a little more, so the percentage is an estimate, capped below 100 until the end).
const RECORD_OVERHEAD: u64 = 16;

pub struct Progress {
    total_bytes: u64,
    read_bytes: u64,
    packets: u64,
    started: Instant,
    last: Instant,
    shown: bool,
}

impl Progress {
    /// For input files of `total_bytes` in all.
    pub fn new(total_bytes: u64, now: Instant) -> Progress {
        Progress {
            total_bytes: total_bytes.max(1),
            read_bytes: 0,
            packets: 0,
            started: now,
            last: now,
            shown: false,
        }
    }

    /// One packet of `caplen` bytes read; the line to show (every second at most).
    #[inline]
    pub fn packet(&mut self, caplen: usize, now: impl FnOnce() -> Instant) -> Option<String> {
        self.packets += 1;
        self.read_bytes += caplen as u64 + RECORD_OVERHEAD;
        if !self.packets.is_multiple_of(16_384) {
            return None;
        }
        let now = now();
        if now.duration_since(self.last) < Duration::from_secs(1) {
            return None;
        }
        self.last = now;
        self.shown = true;
        Some(self.line(now))
    }

    /// Whether a line was shown (and must be cleared at the end).
    pub fn shown(&self) -> bool {
        self.shown
    }

    fn line(&self, now: Instant) -> String {
        let secs = now.duration_since(self.started).as_secs_f64().max(1e-3);
        let done = (self.read_bytes as f64 / self.total_bytes as f64).min(0.999);
        let rate = self.packets as f64 / secs;
        let left = secs * (1.0 - done) / done.max(1e-6);
        format!(
            "\r  {:4.1}%  {} packets  {:.0} packets/s  {} left   ",
            done * 100.0,
            self.packets,
            rate,
            clock(left)
        )
    }
}

/// `m:ss` or `h:mm:ss`.
fn clock(secs: f64) -> String {
    let s = secs.round() as u64;
    if s >= 3600 {
        format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
    } else {
        format!("{}:{:02}", s / 60, s % 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_shows_percent_rate_and_time_left() {
        let t0 = Instant::now();
        // 100 packets of 984 bytes (1000 with the record header) in a 1,000,000-byte file.
        let mut p = Progress::new(1_000_000, t0);
        let mut line = None;
        for i in 1..=16_384u64 {
            let at = t0 + Duration::from_millis(2000);
            line = p.packet(984, || at).or(line);
            if i == 16_383 {
                assert!(line.is_none());
            }
        }
        // 16,384,000 bytes of a 1,000,000-byte total: capped below 100 %.
        let line = line.unwrap();
        assert!(
            line.contains("99.9%") && line.contains("16384 packets"),
            "{line}"
        );
        assert!(
            line.contains("8192 packets/s") && line.contains("0:00 left"),
            "{line}"
        );
        let mut p = Progress::new(100_000_000, t0);
        let mut line = None;
        for _ in 0..16_384 {
            line = p.packet(984, || t0 + Duration::from_secs(10)).or(line);
        }
        let line = line.unwrap();
        assert!(
            line.contains("16.4%") && line.contains("0:51 left"),
            "{line}"
        );
        assert_eq!(clock(3725.0), "1:02:05");
        assert!(p.shown());
    }
}
