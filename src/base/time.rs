//! Packet time. Every timeout, window and duration in the sensor is measured in packet time
//! (the capture timestamps), never the wall clock, so a replay gives the results the live run gave.

use std::fmt;

/// A capture timestamp in nanoseconds since the Unix epoch.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Ts(pub u64);

impl Ts {
    pub const ZERO: Ts = Ts(0);

    pub fn from_micros(sec: i64, usec: i64) -> Ts {
        Ts((sec.max(0) as u64)
            .saturating_mul(1_000_000_000)
            .saturating_add((usec.max(0) as u64).saturating_mul(1_000)))
    }

    pub fn from_secs_f64(s: f64) -> Ts {
        Ts((s * 1e9) as u64)
    }

    pub fn as_nanos(self) -> u64 {
        self.0
    }

    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / 1e9
    }

    /// Nanoseconds elapsed from `earlier` to `self`, zero when `earlier` is later.
    pub fn since(self, earlier: Ts) -> u64 {
        self.0.saturating_sub(earlier.0)
    }

    pub fn add_secs(self, secs: u64) -> Ts {
        Ts(self.0.saturating_add(secs.saturating_mul(1_000_000_000)))
    }
}

/// Seconds as nanoseconds, for configuring timeouts.
pub const fn secs(s: u64) -> u64 {
    s * 1_000_000_000
}

/// The longest the sensor remembers what has gone quiet, unless configured longer: devices,
/// a flow's transaction numbering, the alert limiters' held-back counts. A week: a phone that
/// registers hourly, a weekly batch of calls, are still known; and a replay can analyse
/// captures further apart than that in parallel (`capture::plan`).
pub const MEMORY_NS: u64 = secs(7 * 86_400);

/// A timestamp's text as EVE writes it, on the stack: what records keep and serialise without
/// the formatting machinery (every record has a timestamp).
#[derive(Clone, Copy)]
pub struct TsText([u8; 31]);

impl fmt::Debug for TsText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

/// A record's time as text: written from a packet's time (kept as its 31 bytes, no
/// allocation), or as read back from a record, this sensor's or another tool's.
#[derive(Clone, Debug)]
pub enum Stamp {
    At(TsText),
    Read(String),
}

impl Stamp {
    pub fn as_str(&self) -> &str {
        match self {
            Stamp::At(t) => t.as_str(),
            Stamp::Read(s) => s,
        }
    }
}

impl Default for Stamp {
    fn default() -> Stamp {
        Stamp::Read(String::new())
    }
}

impl From<Ts> for Stamp {
    fn from(t: Ts) -> Stamp {
        Stamp::At(t.text())
    }
}

impl From<&str> for Stamp {
    fn from(s: &str) -> Stamp {
        Stamp::Read(s.to_string())
    }
}

/// The same text is the same time, however it was made.
impl PartialEq for Stamp {
    fn eq(&self, other: &Stamp) -> bool {
        self.as_str() == other.as_str()
    }
}

impl fmt::Display for Stamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for Stamp {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for Stamp {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Stamp, D::Error> {
        String::deserialize(d).map(Stamp::Read)
    }
}

impl TsText {
    pub fn as_str(&self) -> &str {
        // ASCII digits and punctuation only.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

impl Ts {
    /// RFC 3339 in UTC with microseconds, as Suricata's EVE writes it:
    /// `2024-01-02T03:04:05.123456+0000`. (A `u64` of nanoseconds ends in 2554: four digits
    /// of year always do.)
    pub fn text(self) -> TsText {
        let total_us = self.0 / 1_000;
        let us = total_us % 1_000_000;
        let secs = total_us / 1_000_000;
        let mut b = *b"0000-00-00T00:00:00.000000+0000";
        // Records come in time order, most in the second of the one before: the date and time
        // of day are worked out once a second (per thread), the microseconds every time.
        let head = LAST_SECOND.with(|last| match last.get() {
            (s, head) if s == secs => head,
            _ => {
                let head = second_text(secs);
                last.set((secs, head));
                head
            }
        });
        b[..19].copy_from_slice(&head);
        put_digits(&mut b, 20, 6, us);
        TsText(b)
    }
}

impl fmt::Display for Ts {
    /// [`Ts::text`].
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.text().as_str())
    }
}

thread_local! {
    /// The second last written by [`Ts::text`] on this thread, and its text.
    static LAST_SECOND: std::cell::Cell<(u64, [u8; 19])> =
        const { std::cell::Cell::new((u64::MAX, [0; 19])) };
}

/// `v`'s last `width` decimal digits into `b` at `at`, zero-padded. Digits placed by hand:
/// `write!` with padding was a twentieth of the correlator's time.
fn put_digits(b: &mut [u8], at: usize, width: usize, mut v: u64) {
    for i in (at..at + width).rev() {
        b[i] = b'0' + (v % 10) as u8;
        v /= 10;
    }
}

/// `YYYY-MM-DDTHH:MM:SS` of a second since 1970.
fn second_text(secs: u64) -> [u8; 19] {
    let days = (secs / 86_400) as i64;
    let sod = secs % 86_400;
    let (y, m, d) = civil_from_days(days);
    let y4 = u64::try_from(y).unwrap_or(0).min(9999);
    let mut b = *b"0000-00-00T00:00:00";
    put_digits(&mut b, 0, 4, y4);
    put_digits(&mut b, 5, 2, u64::from(m));
    put_digits(&mut b, 8, 2, u64::from(d));
    put_digits(&mut b, 11, 2, sod / 3600);
    put_digits(&mut b, 14, 2, (sod / 60) % 60);
    put_digits(&mut b, 17, 2, sod % 60);
    b
}

/// Days since 1970-01-01 to (year, month, day), Howard Hinnant's civil-from-days algorithm.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = (z - era * 146_097) as u64;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe as i64 + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_rfc3339_micros() {
        // 2009-02-13T23:31:30.123456 UTC
        let t = Ts::from_micros(1_234_567_890, 123_456);
        assert_eq!(t.to_string(), "2009-02-13T23:31:30.123456+0000");
        assert_eq!(Stamp::from(t).as_str(), t.to_string());
        assert_eq!(Ts(0).to_string(), "1970-01-01T00:00:00.000000+0000");
        // leap day
        assert_eq!(
            Ts::from_micros(951_782_400, 0).to_string(),
            "2000-02-29T00:00:00.000000+0000"
        );
        assert_eq!(Ts(u64::MAX).to_string(), "2554-07-21T23:34:33.709551+0000");
        assert_eq!(
            Ts::from_micros(1_764_081_365, 74_222).to_string(),
            "2025-11-25T14:36:05.074222+0000"
        );
    }

    /// The second's text is kept from one call to the next: the same second again, another,
    /// and back, each written whole and right.
    #[test]
    fn a_second_written_again_and_another_after_it() {
        let texts: Vec<String> = [
            (1_764_081_365, 1),
            (1_764_081_365, 999_999),
            (1_764_081_366, 0),
            (1_764_081_365, 500_000),
            (0, 7),
        ]
        .iter()
        .map(|&(s, us)| Ts::from_micros(s, us).to_string())
        .collect();
        assert_eq!(
            texts,
            [
                "2025-11-25T14:36:05.000001+0000",
                "2025-11-25T14:36:05.999999+0000",
                "2025-11-25T14:36:06.000000+0000",
                "2025-11-25T14:36:05.500000+0000",
                "1970-01-01T00:00:00.000007+0000",
            ]
        );
    }
}
