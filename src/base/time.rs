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

/// A timestamp's text as EVE writes it, on the stack: what records keep and serialise without
/// the formatting machinery (every record has a timestamp).
#[derive(Clone, Copy)]
pub struct TsText([u8; 31]);

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
        let days = (secs / 86_400) as i64;
        let sod = secs % 86_400;
        let (y, m, d) = civil_from_days(days);
        let y4 = u64::try_from(y).unwrap_or(0).min(9999);
        // Digits placed by hand: `write!` with padding was a twentieth of the correlator's time.
        let mut b = *b"0000-00-00T00:00:00.000000+0000";
        let mut put = |at: usize, width: usize, mut v: u64| {
            for i in (at..at + width).rev() {
                b[i] = b'0' + (v % 10) as u8;
                v /= 10;
            }
        };
        put(0, 4, y4);
        put(5, 2, u64::from(m));
        put(8, 2, u64::from(d));
        put(11, 2, sod / 3600);
        put(14, 2, (sod / 60) % 60);
        put(17, 2, sod % 60);
        put(20, 6, us);
        TsText(b)
    }

    /// [`Ts::text`] as an owned string (one allocation, no formatter).
    pub fn stamp(self) -> String {
        self.text().as_str().to_owned()
    }
}

impl fmt::Display for Ts {
    /// [`Ts::text`].
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.text().as_str())
    }
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
        assert_eq!(t.stamp(), t.to_string());
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
}
