//! Small SVG charts: the alert timeline (one row per category, a mark per alert) and the MOS
//! distribution of the streams.

use std::fmt::Write;

use super::html::esc;
use super::ladder::clock;

/// Alerts drawn at most on the timeline (the rest are counted under it).
pub const MAX_MARKS: usize = 5_000;

/// `alerts`: (time in µs, category, severity, anchor of its entry in the report); `more`:
/// alerts not kept for drawing.
pub fn timeline(alerts: &[(u64, String, u64, String)], span: (u64, u64), more: u64) -> String {
    let drawn = &alerts[..alerts.len().min(MAX_MARKS)];
    let mut cats: Vec<&str> = drawn.iter().map(|a| a.1.as_str()).collect();
    cats.sort_unstable();
    cats.dedup();
    let (left, width, row) = (170.0, 760.0, 24.0);
    let height = 30.0 + row * cats.len().max(1) as f64 + 24.0;
    let (t0, t1) = span;
    let dur = (t1.saturating_sub(t0)).max(1) as f64;
    let mut o = String::new();
    let _ = write!(
        o,
        "<svg class=\"timeline\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{height}\" viewBox=\"0 0 {w} {height}\" role=\"img\">",
        w = left + width + 20.0
    );
    for (i, c) in cats.iter().enumerate() {
        let y = 30.0 + row * i as f64;
        let _ = write!(
            o,
            "<text x=\"{x}\" y=\"{ty}\" text-anchor=\"end\" class=\"cat\">{c}</text><line x1=\"{left}\" y1=\"{y}\" x2=\"{x2}\" y2=\"{y}\" class=\"grid\"/>",
            x = left - 8.0,
            ty = y + 4.0,
            x2 = left + width,
            c = esc(c),
        );
    }
    for (at, cat, sev, anchor) in drawn {
        let i = cats.iter().position(|c| c == cat).unwrap_or(0);
        let x = left + width * (at.saturating_sub(t0)) as f64 / dur;
        let y = 30.0 + row * i as f64;
        let _ = write!(
            o,
            "<a href=\"#{a}\"><circle cx=\"{x:.1}\" cy=\"{y}\" r=\"5\" class=\"sev{s}\"><title>{t} {c}</title></circle></a>",
            a = esc(anchor),
            s = (*sev).clamp(1, 3),
            t = clock(*at),
            c = esc(cat),
        );
    }
    let axis_y = height - 8.0;
    let _ = write!(
        o,
        "<text x=\"{left}\" y=\"{axis_y}\" class=\"axis\">{a}</text><text x=\"{r}\" y=\"{axis_y}\" text-anchor=\"end\" class=\"axis\">{b}</text></svg>",
        a = clock(t0),
        r = left + width,
        b = clock(t1),
    );
    let more = more + (alerts.len() - drawn.len()) as u64;
    if more > 0 {
        let _ = write!(o, "<p class=\"note\">{more} more alerts not drawn.</p>");
    }
    o
}

/// Streams by MOS, in half-point bins from 1 to 5 (`figures::mos_bin`).
pub fn mos_histogram(bins: &[u64; 8]) -> String {
    let max = bins.iter().copied().max().unwrap_or(0).max(1);
    let (bw, h) = (70.0, 140.0);
    let mut o = String::new();
    let _ = write!(
        o,
        "<svg class=\"mos\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{hh}\" viewBox=\"0 0 {w} {hh}\" role=\"img\">",
        w = bw * 8.0 + 20.0,
        hh = h + 40.0
    );
    for (i, n) in bins.iter().enumerate() {
        let bh = h * *n as f64 / max as f64;
        let x = 10.0 + bw * i as f64;
        let lo = 1.0 + 0.5 * i as f64;
        let class = if lo < 3.0 {
            "bad"
        } else if lo < 4.0 {
            "fair"
        } else {
            "good"
        };
        let _ = write!(
            o,
            "<g class=\"bin\" data-streams=\"{n}\"><rect x=\"{x}\" y=\"{y:.1}\" width=\"{w}\" height=\"{bh:.1}\" class=\"{class}\"/><text x=\"{cx}\" y=\"{ny:.1}\" text-anchor=\"middle\">{n}</text><text x=\"{cx}\" y=\"{ly}\" text-anchor=\"middle\" class=\"axis\">{lo:.1}–{hi:.1}</text></g>",
            y = 20.0 + h - bh,
            w = bw - 8.0,
            cx = x + (bw - 8.0) / 2.0,
            ny = 16.0 + h - bh,
            ly = h + 36.0,
            hi = lo + 0.5,
        );
    }
    o.push_str("</svg>");
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bins_mos_and_marks_alerts() {
        // 4.0-4.5: two; 1.0-1.5, 3.0-3.5 and (9.0 clamped) 4.5-5.0: one each.
        let mut bins = [0u64; 8];
        for m in [4.41, 4.41, 1.0, 3.2, 9.0] {
            bins[super::super::figures::mos_bin(m)] += 1;
        }
        let s = mos_histogram(&bins);
        assert_eq!(s.matches("data-streams=\"2\"").count(), 1, "{s}");
        assert_eq!(s.matches("data-streams=\"1\"").count(), 3);
        let t = timeline(&[(5, "scanner".into(), 2, "alert-1".into())], (0, 10), 0);
        assert!(t.contains("href=\"#alert-1\""));
        assert!(t.contains("class=\"sev2\""));
        assert!(!t.contains("more alerts"));
        let t = timeline(&[(5, "scanner".into(), 2, "alert-1".into())], (0, 10), 7);
        assert!(t.contains("7 more alerts not drawn"));
    }
}
