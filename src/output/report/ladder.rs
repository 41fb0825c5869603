//! SIP ladder diagrams (as sngrep and HOMER draw them), in SVG: one column per address, one
//! arrow per message with its method or status and its time, retransmissions dashed, the
//! message that fired an alert in red. The messages come from an evidence pcap (exact: every
//! copy on the wire) or, without one, from the `sip` records (a transaction's request, its
//! provisional and final responses; their times as the records give them).

use std::collections::HashSet;
use std::fmt::Write;
use std::path::Path;

use serde_json::Value;

use super::html::{esc, esc_short};
use crate::base::packet::{LinkType, Transport};
use crate::base::time::Ts;
use crate::capture::savefile::Savefile;
use crate::decode::{Decoder, DefragConfig};
use crate::sip::parser::{looks_like_sip, parse_datagram, parse_message};

/// Arrows drawn at most in one diagram (the rest are counted under it).
pub const MAX_ARROWS: usize = 120;

/// One message of a ladder.
#[derive(Clone, Debug, PartialEq)]
pub struct Arrow {
    /// Microseconds since the epoch.
    pub at_us: u64,
    pub from: String,
    pub to: String,
    /// `INVITE`, `200 OK`...
    pub label: String,
    /// Shown on hover: CSeq and Call-ID.
    pub detail: String,
    pub retransmission: bool,
    pub highlight: bool,
}

/// The SIP messages of a pcap file, in file order; frames that hold no whole SIP message
/// (TCP segments of a larger message, other traffic) are counted, not drawn.
pub fn from_pcap(path: &Path) -> Result<(Vec<Arrow>, usize), String> {
    let mut file = Savefile::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut decoder = Decoder::new(DefragConfig::default());
    let mut seen = HashSet::new();
    let (mut out, mut skipped) = (Vec::new(), 0usize);
    while let Some(f) = file
        .next()
        .map_err(|e| format!("{}: {e}", path.display()))?
    {
        let Some(link) = LinkType::from_dlt(f.linktype as i32) else {
            skipped += 1;
            continue;
        };
        let Ok(d) = decoder.decode(link, f.data, f.ts) else {
            skipped += 1;
            continue;
        };
        if !looks_like_sip(d.payload) {
            skipped += 1;
            continue;
        }
        let parsed = if d.transport == Transport::Tcp {
            parse_message(d.payload)
        } else {
            parse_datagram(d.payload)
        };
        let (from, to) = (
            endpoint(&d.src.to_string(), d.sport),
            endpoint(&d.dst.to_string(), d.dport),
        );
        let at_us = f.ts.as_nanos() / 1_000;
        let Ok((m, _)) = parsed else {
            // A datagram that does not parse is drawn (it may be what an anomaly alert is
            // about); a TCP segment that does not is a piece of a longer message.
            if d.transport == Transport::Tcp {
                skipped += 1;
                continue;
            }
            let line = d.payload.split(|b| *b == b'\n').next().unwrap_or(&[]);
            let line = String::from_utf8_lossy(&line[..line.len().min(60)]);
            out.push(Arrow {
                at_us,
                from,
                to,
                label: "malformed SIP".to_string(),
                detail: format!("does not parse: {}", line.trim_end()),
                retransmission: false,
                highlight: false,
            });
            continue;
        };
        let label = match (m.method(), m.status()) {
            (Some(method), _) => method.as_str().to_string(),
            (None, Some(code)) => format!("{code} {}", m.reason().unwrap_or("")),
            _ => continue,
        };
        let cseq = m
            .cseq()
            .map(|c| format!("{} {}", c.seq, c.method.as_str()))
            .unwrap_or_default();
        let branch = m.top_via().and_then(|v| v.branch).unwrap_or("").to_string();
        let call_id = m.call_id().unwrap_or("").to_string();
        // The same message again on the same hop: a retransmission.
        let key = (
            label.clone(),
            cseq.clone(),
            branch,
            call_id.clone(),
            from.clone(),
            to.clone(),
        );
        let retransmission = !seen.insert(key);
        out.push(Arrow {
            at_us,
            from,
            to,
            label: label.trim_end().to_string(),
            detail: format!("CSeq {cseq} · Call-ID {call_id}"),
            retransmission,
            highlight: false,
        });
    }
    Ok((out, skipped))
}

fn endpoint(ip: &str, port: u16) -> String {
    if ip.contains(':') {
        format!("[{ip}]:{port}")
    } else {
        format!("{ip}:{port}")
    }
}

/// The messages of a Call-ID's `sip` records: each transaction's request, then its
/// provisional responses and its final one (at the request's time plus its response time).
pub fn from_records<'a>(records: impl Iterator<Item = &'a Value>) -> Vec<Arrow> {
    let mut out = Vec::new();
    for r in records {
        let s = &r["sip"];
        let (Some(at), Some(src), Some(dst)) = (
            r["timestamp"].as_str().and_then(parse_time_us),
            addr(r, "src_ip", "src_port"),
            addr(r, "dest_ip", "dest_port"),
        ) else {
            continue;
        };
        let cseq = format!(
            "{} {}",
            s["cseq"].as_u64().unwrap_or(0),
            s["cseq_method"].as_str().unwrap_or("")
        );
        let detail = format!(
            "CSeq {cseq} · Call-ID {}",
            s["call_id"].as_str().unwrap_or("")
        );
        let arrow = |at_us, from: &String, to: &String, label: String| Arrow {
            at_us,
            from: from.clone(),
            to: to.clone(),
            label,
            detail: detail.clone(),
            retransmission: false,
            highlight: false,
        };
        let Some(method) = s["method"].as_str() else {
            continue;
        };
        out.push(arrow(at, &src, &dst, method.to_string()));
        for p in s["provisional"].as_array().into_iter().flatten() {
            if let Some(code) = p.as_u64() {
                out.push(arrow(at, &dst, &src, code.to_string()));
            }
        }
        if let Some(code) = s["status"].as_u64() {
            let after = s["response_time_ms"].as_f64().unwrap_or(0.0);
            let label = format!("{code} {}", s["reason"].as_str().unwrap_or(""));
            let at_final = at + (after * 1e3).max(0.0) as u64;
            out.push(arrow(at_final, &dst, &src, label.trim_end().to_string()));
        }
    }
    out.sort_by_key(|a| a.at_us);
    out
}

fn addr(r: &Value, ip: &str, port: &str) -> Option<String> {
    Some(endpoint(r[ip].as_str()?, r[port].as_u64()? as u16))
}

/// `2026-11-25T14:16:53.891075+0000` (as records write it) in microseconds since the epoch.
pub fn parse_time_us(s: &str) -> Option<u64> {
    let b = s.as_bytes();
    if b.len() < 26 || b[4] != b'-' || b[10] != b'T' || b[19] != b'.' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<u64> { s.get(r)?.parse().ok() };
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, sec, us) = (num(11..13)?, num(14..16)?, num(17..19)?, num(20..26)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || sec > 60 {
        return None;
    }
    let days = days_from_civil(y as i64, mo as u32, d as u32);
    let secs = u64::try_from(days).ok()? * 86_400 + h * 3600 + mi * 60 + sec;
    Some(secs * 1_000_000 + us)
}

/// Days since 1970-01-01 of a date (Howard Hinnant's days-from-civil).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = (y - era * 400) as u64;
    let mp = u64::from((m + 9) % 12);
    let doy = (153 * mp + 2) / 5 + u64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe as i64 - 719_468
}

/// The time of `us` as `HH:MM:SS.mmm` (UTC).
pub fn clock(us: u64) -> String {
    let t = Ts(us * 1_000).to_string();
    t[11..23].to_string()
}

/// The diagram, as an inline SVG (at most `MAX_ARROWS` arrows; how many more there were is
/// said under it).
pub fn svg(arrows: &[Arrow]) -> String {
    let drawn = &arrows[..arrows.len().min(MAX_ARROWS)];
    let mut cols: Vec<&str> = Vec::new();
    for a in drawn {
        for e in [&a.from, &a.to] {
            if !cols.contains(&e.as_str()) {
                cols.push(e);
            }
        }
    }
    let col = |e: &str| cols.iter().position(|c| *c == e).unwrap_or(0);
    let (left, gap, top, row) = (110usize, 190usize, 46usize, 30usize);
    let width = left + gap * cols.len().max(1) + 20;
    let height = top + row * drawn.len() + 20;
    let x = |i: usize| left + gap * i + gap / 2;
    let mut o = String::new();
    let _ = write!(
        o,
        "<svg class=\"ladder\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" role=\"img\">"
    );
    o.push_str(
        "<defs><marker id=\"arrowhead\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"7\" markerHeight=\"7\" orient=\"auto-start-reverse\"><path d=\"M0,0 L10,5 L0,10 z\" fill=\"context-stroke\"/></marker></defs>",
    );
    for (i, c) in cols.iter().enumerate() {
        let _ = write!(
            o,
            "<g class=\"column\" data-address=\"{a}\"><text x=\"{cx}\" y=\"20\" text-anchor=\"middle\" class=\"addr\">{a}</text><line x1=\"{cx}\" y1=\"28\" x2=\"{cx}\" y2=\"{bottom}\" class=\"lifeline\"/></g>",
            a = esc(c),
            cx = x(i),
            bottom = height - 10,
        );
    }
    let t0 = drawn.first().map_or(0, |a| a.at_us);
    for (n, a) in drawn.iter().enumerate() {
        let y = top + row * n + row / 2;
        let (x1, x2) = (x(col(&a.from)), x(col(&a.to)));
        let mut class = String::from("msg");
        if a.retransmission {
            class.push_str(" retransmission");
        }
        if a.highlight {
            class.push_str(" fired");
        }
        let label = if a.retransmission {
            format!("{} (retransmission)", a.label)
        } else {
            a.label.clone()
        };
        let _ = write!(
            o,
            "<g class=\"{class}\" data-label=\"{l}\" data-from=\"{f}\" data-to=\"{t}\"><title>{d}</title><text x=\"6\" y=\"{ty}\" class=\"time\">{clock} +{rel:.3}s</text>",
            l = esc(&a.label),
            f = esc(&a.from),
            t = esc(&a.to),
            d = esc(&a.detail),
            ty = y + 4,
            clock = clock(a.at_us),
            rel = a.at_us.saturating_sub(t0) as f64 / 1e6,
        );
        if x1 == x2 {
            // To itself (a proxy looping back): a small loop.
            let _ = write!(
                o,
                "<path d=\"M{x1},{y0} h40 v12 h-40\" class=\"line\" marker-end=\"url(#arrowhead)\"/>",
                y0 = y - 6
            );
        } else {
            let _ = write!(
                o,
                "<line x1=\"{x1}\" y1=\"{y}\" x2=\"{x2}\" y2=\"{y}\" class=\"line\" marker-end=\"url(#arrowhead)\"/>"
            );
        }
        let _ = write!(
            o,
            "<text x=\"{mx}\" y=\"{ly}\" text-anchor=\"middle\" class=\"label\">{lab}</text></g>",
            mx = (x1 + x2) / 2 + if x1 == x2 { 60 } else { 0 },
            ly = y - 5,
            lab = esc_short(&label, 40),
        );
    }
    o.push_str("</svg>");
    if arrows.len() > drawn.len() {
        let _ = write!(
            o,
            "<p class=\"note\">{} more messages not drawn (a diagram shows the first {MAX_ARROWS}).</p>",
            arrows.len() - drawn.len()
        );
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_record_times() {
        assert_eq!(
            parse_time_us("2025-11-25T14:36:05.074222+0000"),
            Some(1_764_081_365_074_222)
        );
        assert_eq!(
            parse_time_us("2000-02-29T00:00:00.000000+0000"),
            Some(951_782_400_000_000)
        );
        assert_eq!(parse_time_us("garbage"), None);
        assert_eq!(parse_time_us("2025-13-25T14:36:05.074222+0000"), None);
        assert_eq!(clock(1_764_081_365_074_222), "14:36:05.074");
    }

    #[test]
    fn draws_columns_arrows_and_escapes() {
        let a = |from: &str, to: &str, label: &str| Arrow {
            at_us: 1_000_000,
            from: from.into(),
            to: to.into(),
            label: label.into(),
            detail: "<x>".into(),
            retransmission: false,
            highlight: false,
        };
        let mut arrows = vec![
            a("1.1.1.1:5060", "2.2.2.2:5060", "INVITE"),
            a("2.2.2.2:5060", "1.1.1.1:5060", "200 <OK>"),
        ];
        arrows[1].highlight = true;
        let s = svg(&arrows);
        assert_eq!(s.matches("class=\"column\"").count(), 2);
        assert_eq!(s.matches("<g class=\"msg").count(), 2);
        assert!(s.contains("class=\"msg fired\" data-label=\"200 &lt;OK&gt;\""));
        assert!(!s.contains("<x>"));
        let many: Vec<Arrow> = (0..MAX_ARROWS + 5).map(|_| arrows[0].clone()).collect();
        assert!(svg(&many).contains("5 more messages not drawn"));
    }
}
