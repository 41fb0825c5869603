//! The forensic report (`voip-sentinel report EVE.json [--pcap-dir DIR] -o report.html`, or
//! `replay ... --report report.html`): one self-contained HTML file (inline CSS and SVG, no
//! script, font or anything fetched) that answers an analyst's next questions about the
//! alerts: what happened when (summary, timeline), who did it and to whom (top offending and
//! targeted addresses, toll-fraud destinations), how exposed the calls were (encryption
//! posture), how they sounded (MOS distribution, worst streams), and for each alert and call
//! its SIP ladder diagram with a link to its pcap (`--pcap-dir`).
//!
//! EVE files of any size: read twice as streams (figures and the first entries, then the
//! `sip` records of the Call-IDs those entries show); what is drawn is capped and the page
//! says so.

pub mod charts;
pub mod figures;
pub mod html;
pub mod ladder;

use std::collections::{HashMap, HashSet};
use std::fmt::Write;
use std::io::BufRead;
use std::path::{Path, PathBuf};

use serde_json::Value;

use figures::{top, Figures};
use html::{esc, esc_short, link, table};
use ladder::{parse_time_us, Arrow};

/// Alert and call entries (with their ladders) shown at most; the rest are counted.
pub const MAX_ENTRIES: usize = 300;
/// Worst streams listed.
const WORST_STREAMS: usize = 10;
/// Rows of the top-address tables.
const TOP: usize = 10;

/// What the report is made from.
pub struct ReportSource<'a> {
    pub eve: &'a [PathBuf],
    /// The evidence folder the run wrote (`--pcap-dir`), for ladders and links.
    pub pcap_dir: Option<&'a Path>,
    /// Where the report goes: links to pcaps are made relative to its folder.
    pub output: &'a Path,
}

/// What one pass over the inputs kept.
#[derive(Default)]
struct Collected {
    figures: Figures,
    alerts: Vec<Value>,
    calls: Vec<Value>,
    /// (MOS, record), the worst kept.
    worst: Vec<(f64, Value)>,
    /// Alerts' (time, category, severity, anchor) for the timeline (the first
    /// `charts::MAX_MARKS`), and how many more there were.
    marks: Vec<(u64, String, u64, String)>,
    marks_more: u64,
    /// The latest `posture` record of each server (at most `MAX_ENTRIES` servers).
    postures: std::collections::BTreeMap<String, Value>,
    /// `device` records with advisories or past their end of life (at most `MAX_ENTRIES`),
    /// and how many devices there were in all.
    unpatched: Vec<Value>,
    unpatched_total: u64,
    devices: u64,
    bad_lines: usize,
    /// `sip` records of the Call-IDs the entries show (second pass).
    sip: HashMap<String, Vec<Value>>,
}

/// Read the EVE files and write the report; one line of error if an input cannot be read or
/// the report cannot be written.
pub fn write_report(src: &ReportSource<'_>) -> Result<(), String> {
    let page = render(src)?;
    std::fs::write(src.output, page)
        .map_err(|e| format!("cannot write {}: {e}", src.output.display()))
}

/// The report as HTML.
pub fn render(src: &ReportSource<'_>) -> Result<String, String> {
    let mut c = Collected::default();
    for path in src.eve {
        let mut last_stats = None;
        let mut bad = 0;
        each_record(path, &mut bad, |r| {
            let kind = r["event_type"].as_str().unwrap_or("").to_string();
            match kind.as_str() {
                "stats" => last_stats = Some(r),
                "" => {}
                _ => {
                    c.figures.add(&r);
                    keep(&mut c, &kind, r);
                }
            }
            Ok(())
        })?;
        c.bad_lines += bad;
        if let Some(s) = last_stats {
            c.figures.add_stats(&s);
        }
    }
    let wanted: HashSet<String> = c
        .alerts
        .iter()
        .filter_map(alert_call_id)
        .chain(
            c.calls
                .iter()
                .filter_map(|r| r["call"]["call_id"].as_str().map(str::to_string)),
        )
        .collect();
    if !wanted.is_empty() {
        let mut ignored = 0;
        for path in src.eve {
            each_record(path, &mut ignored, |r| {
                if r["event_type"] == "sip" {
                    if let Some(id) = r["sip"]["call_id"].as_str() {
                        if wanted.contains(id) {
                            // A Call-ID a flood reuses is drawn from its first records.
                            let recs = c.sip.entry(id.to_string()).or_default();
                            if recs.len() < 2 * ladder::MAX_ARROWS {
                                recs.push(r);
                            }
                        }
                    }
                }
                Ok(())
            })?;
        }
    }
    Ok(page(&c, src))
}

/// Call `f` with every JSON record of `path`; lines that are not JSON objects are counted.
fn each_record(
    path: &Path,
    bad: &mut usize,
    mut f: impl FnMut(Value) -> Result<(), String>,
) -> Result<(), String> {
    let file = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    for line in std::io::BufReader::new(file).lines() {
        let line = line.map_err(|e| format!("{}: {e}", path.display()))?;
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<Value>(&line) {
            Ok(v) if v.is_object() => f(v)?,
            _ => *bad += 1,
        }
    }
    Ok(())
}

fn keep(c: &mut Collected, kind: &str, r: Value) {
    match kind {
        "alert" => {
            let n = c.alerts.len();
            let anchor = if n < MAX_ENTRIES {
                format!("alert-{n}")
            } else {
                "alerts".to_string()
            };
            if c.marks.len() >= charts::MAX_MARKS {
                c.marks_more += 1;
            } else if let Some(t) = r["timestamp"].as_str().and_then(parse_time_us) {
                c.marks.push((
                    t,
                    r["alert"]["category"].as_str().unwrap_or("").to_string(),
                    r["alert"]["severity"].as_u64().unwrap_or(3),
                    anchor,
                ));
            }
            if c.alerts.len() < MAX_ENTRIES {
                c.alerts.push(r);
            }
        }
        "call" if c.calls.len() < MAX_ENTRIES => c.calls.push(r),
        "device" => {
            c.devices += 1;
            let d = &r["device"];
            let judged = |v: &Value| v["advisories"].is_array() || v["end_of_life"].is_string();
            let unpatched =
                judged(d) || d["components"].as_array().into_iter().flatten().any(judged);
            if unpatched {
                c.unpatched_total += 1;
                if c.unpatched.len() < MAX_ENTRIES {
                    c.unpatched.push(r);
                }
            }
        }
        "posture" => {
            let server = r["src_ip"].as_str().unwrap_or("").to_string();
            if c.postures.len() < MAX_ENTRIES || c.postures.contains_key(&server) {
                c.postures.insert(server, r);
            }
        }
        "rtp" => {
            if let Some(m) = r["rtp"]["mos"].as_f64() {
                c.worst.push((m, r));
                if c.worst.len() > 4 * WORST_STREAMS {
                    trim_worst(&mut c.worst);
                }
            }
        }
        _ => {}
    }
}

fn trim_worst(w: &mut Vec<(f64, Value)>) {
    w.sort_by(|a, b| a.0.total_cmp(&b.0));
    w.truncate(WORST_STREAMS);
}

fn alert_call_id(a: &Value) -> Option<String> {
    a["evidence"]["call_id"]
        .as_str()
        .or(a["call"]["call_id"].as_str())
        .map(str::to_string)
}

const STYLE: &str = "
body{font:14px/1.45 'DejaVu Sans',system-ui,sans-serif;margin:0;color:#1d2430;background:#f6f7f9}
header{background:#1d2430;color:#fff;padding:18px 28px}header h1{margin:0 0 4px;font-size:22px}
header p{margin:0;color:#c8d0dc}nav{padding:8px 28px;background:#e8ebf0}nav a{margin-right:14px}
section{background:#fff;margin:16px 28px;padding:14px 20px;border-radius:6px;box-shadow:0 1px 2px #0002}
h2{font-size:17px;margin:4px 0 10px}.cards{display:flex;flex-wrap:wrap;gap:12px}
.card{background:#f0f3f7;border-radius:6px;padding:8px 14px;min-width:110px}
.card b{display:block;font-size:20px}table{border-collapse:collapse;margin:6px 0 10px}
th,td{border-bottom:1px solid #dde2e8;padding:3px 10px;text-align:left;vertical-align:top}
th{background:#f0f3f7}.note{color:#5a6372;font-style:italic}
details{border-top:1px solid #e3e7ec;padding:6px 0}summary{cursor:pointer}
.sev-1{color:#b3261e;font-weight:bold}.sev-2{color:#b36b00;font-weight:bold}.sev-3{color:#35618f}
svg text{font:12px 'DejaVu Sans',sans-serif}.ladder .addr{font-weight:bold}
.lifeline{stroke:#9aa5b4;stroke-dasharray:4 3}.msg .line{stroke:#35618f;stroke-width:1.5;fill:none}
.msg.retransmission .line{stroke-dasharray:6 4;stroke:#8a94a3}.msg.fired .line{stroke:#b3261e;stroke-width:3}
.msg.fired .label{fill:#b3261e;font-weight:bold}.time{fill:#5a6372}.grid{stroke:#e3e7ec}
.sev1{fill:#b3261e}.sev2{fill:#e08a00}.sev3{fill:#35618f}.bad{fill:#c94f4f}.fair{fill:#e0b040}.good{fill:#4f9a63}
.axis{fill:#5a6372}pre{background:#f0f3f7;padding:8px;overflow-x:auto;max-width:1100px}
";

fn page(c: &Collected, src: &ReportSource<'_>) -> String {
    let f = &c.figures;
    let mut o = String::with_capacity(64 * 1024);
    o.push_str("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">");
    o.push_str("<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">");
    // Nothing is fetched, nothing runs: the report opens offline and a record cannot smuggle
    // in active content.
    o.push_str("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">");
    let _ = write!(
        o,
        "<title>voip-sentinel report</title><style>{STYLE}</style></head><body>"
    );
    let inputs: Vec<String> = src.eve.iter().map(|p| p.display().to_string()).collect();
    let _ = write!(
        o,
        "<header><h1>voip-sentinel forensic report</h1><p>{} · voip-sentinel {}</p></header>",
        esc(&inputs.join(", ")),
        env!("CARGO_PKG_VERSION")
    );
    o.push_str("<nav><a href=\"#summary\">Summary</a><a href=\"#timeline\">Timeline</a><a href=\"#addresses\">Addresses</a><a href=\"#toll-fraud\">Toll fraud</a><a href=\"#encryption\">Encryption</a><a href=\"#posture\">Authentication</a><a href=\"#patch\">Patch level</a><a href=\"#quality\">Call quality</a><a href=\"#alerts\">Alerts</a><a href=\"#calls\">Calls</a></nav>");
    summary(&mut o, c);
    let span = (f.first_us.unwrap_or(0), f.last_us.unwrap_or(0));
    let _ = write!(
        o,
        "<section id=\"timeline\"><h2>Timeline of alerts</h2>{}</section>",
        if c.marks.is_empty() {
            "<p class=\"note\">No alerts.</p>".to_string()
        } else {
            charts::timeline(&c.marks, span, c.marks_more)
        }
    );
    addresses(&mut o, f);
    toll(&mut o, f);
    encryption(&mut o, f);
    posture(&mut o, c);
    patch(&mut o, c);
    quality(&mut o, c);
    alerts(&mut o, c, src);
    calls(&mut o, c, src);
    if c.bad_lines > 0 {
        let _ = write!(
            o,
            "<p class=\"note\">{} input lines were not JSON records and were left out.</p>",
            c.bad_lines
        );
    }
    o.push_str("</body></html>\n");
    o
}

fn summary(o: &mut String, c: &Collected) {
    let f = &c.figures;
    let span = match (f.first_us, f.last_us) {
        (Some(a), Some(b)) => format!(
            "{} – {} ({:.1} s)",
            esc(&crate::base::time::Ts(a * 1000).to_string()),
            esc(&crate::base::time::Ts(b * 1000).to_string()),
            b.saturating_sub(a) as f64 / 1e6
        ),
        _ => "no records".to_string(),
    };
    let _ = write!(
        o,
        "<section id=\"summary\"><h2>Summary</h2><p>Capture span: {span}</p><div class=\"cards\">"
    );
    for (name, n) in [
        ("packets", f.packets as usize),
        ("SIP messages", f.sip_messages as usize),
        ("calls", f.calls),
        ("RTP streams", f.streams),
        ("alerts", f.alerts),
    ] {
        let _ = write!(
            o,
            "<div class=\"card\" data-figure=\"{name}\"><b>{n}</b>{name}</div>"
        );
    }
    o.push_str("</div>");
    let rows: Vec<Vec<String>> = f
        .by_category
        .iter()
        .map(|((cat, sev), n)| {
            vec![
                esc(cat),
                format!("<span class=\"sev-{s}\">{s}</span>", s = sev.clamp(&1, &3)),
                n.to_string(),
            ]
        })
        .collect();
    if rows.is_empty() {
        o.push_str("<p class=\"note\">No alerts.</p>");
    } else {
        table(o, "by-category", &["category", "severity", "alerts"], &rows);
    }
    o.push_str("</section>");
}

fn addresses(o: &mut String, f: &Figures) {
    o.push_str("<section id=\"addresses\"><h2>Top offending and targeted addresses</h2>");
    for (title, m, class) in [
        ("Sources (the side that acted)", &f.sources, "top-sources"),
        ("Targets", &f.targets, "top-targets"),
    ] {
        let rows: Vec<Vec<String>> = top(m, TOP)
            .into_iter()
            .map(|(ip, n)| vec![esc(ip), n.to_string()])
            .collect();
        let _ = write!(o, "<h3>{title}</h3>");
        if rows.is_empty() {
            o.push_str("<p class=\"note\">None.</p>");
        } else {
            table(o, class, &["address", "alerts"], &rows);
        }
    }
    o.push_str("</section>");
}

fn toll(o: &mut String, f: &Figures) {
    o.push_str("<section id=\"toll-fraud\"><h2>Toll-fraud destinations</h2>");
    let mut v: Vec<(&(String, String), &usize)> = f.toll_destinations.iter().collect();
    v.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    let rows: Vec<Vec<String>> = v
        .into_iter()
        .take(50)
        .map(|((n, class), c)| vec![esc(n), esc(class), c.to_string()])
        .collect();
    if rows.is_empty() {
        o.push_str("<p class=\"note\">No toll-fraud alerts.</p>");
    } else {
        table(
            o,
            "toll",
            &["number dialled", "destination", "alerts"],
            &rows,
        );
    }
    o.push_str("</section>");
}

fn encryption(o: &mut String, f: &Figures) {
    o.push_str("<section id=\"encryption\"><h2>Encryption posture of calls</h2>");
    let rows: Vec<Vec<String>> = f
        .encryption
        .iter()
        .map(|((sig, media), n)| vec![esc(sig), esc(media), n.to_string()])
        .collect();
    if rows.is_empty() {
        o.push_str("<p class=\"note\">No calls.</p>");
    } else {
        table(
            o,
            "encryption",
            &["signalling", "media (answered)", "calls"],
            &rows,
        );
    }
    o.push_str("</section>");
}

/// How each server authenticates (its latest `posture` record).
fn posture(o: &mut String, c: &Collected) {
    o.push_str("<section id=\"posture\"><h2>Authentication posture of servers</h2>");
    let list = |v: &Value| -> String {
        v.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(esc)
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .unwrap_or_default()
    };
    let rows: Vec<Vec<String>> = c
        .postures
        .iter()
        .map(|(server, r)| {
            let p = &r["posture"];
            let findings = list(&p["findings"]);
            vec![
                esc(server),
                list(&p["realms"]),
                list(&p["algorithms"]),
                p["registrations_unauthenticated"].to_string(),
                p["registrations_authenticated"].to_string(),
                p["challenges"].to_string(),
                p["plaintext_credentials"].to_string(),
                if findings.is_empty() {
                    "none".to_string()
                } else {
                    format!("<b>{findings}</b>")
                },
            ]
        })
        .collect();
    if rows.is_empty() {
        o.push_str("<p class=\"note\">No registrar or proxy was seen challenging, registering without a challenge, or answering an outside call without one.</p>");
    } else {
        table(
            o,
            "posture",
            &[
                "server",
                "realms",
                "digest",
                "registered without auth",
                "registered with auth",
                "challenges",
                "credentials in plaintext",
                "findings",
            ],
            &rows,
        );
    }
    o.push_str("</section>");
}

/// Devices that run a version with published advisories or past its end of life (their
/// `device` records; sources stay in the records: the page links to nothing outside).
fn patch(o: &mut String, c: &Collected) {
    o.push_str("<section id=\"patch\"><h2>Patch level of devices</h2>");
    let ids = |v: &Value| -> (usize, String) {
        let cves: Vec<&str> = v["advisories"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .filter(|i| i.starts_with("CVE-"))
            .collect();
        let shown: Vec<String> = cves.iter().take(6).map(|c| esc(c)).collect();
        let more = cves.len().saturating_sub(6);
        let mut text = shown.join(", ");
        if more > 0 {
            let _ = write!(text, " and {more} more");
        }
        (cves.len(), text)
    };
    let mut rows: Vec<(usize, Vec<String>)> = Vec::new();
    for r in &c.unpatched {
        let d = &r["device"];
        let parts = std::iter::once(d).chain(d["components"].as_array().into_iter().flatten());
        for (i, p) in parts.enumerate() {
            let (n, cves) = ids(p);
            if n == 0 && !p["end_of_life"].is_string() {
                continue;
            }
            let s = |v: &Value| esc(v.as_str().unwrap_or(""));
            rows.push((
                n,
                vec![
                    s(&d["address"]),
                    s(&d["role"]),
                    s(&d["product"]),
                    if i == 0 {
                        s(&p["software"])
                    } else {
                        format!("{} (inside)", s(&p["software"]))
                    },
                    s(&p["version"]),
                    n.to_string(),
                    cves,
                    s(&p["fixed_version"]),
                    s(&p["end_of_life"]),
                ],
            ));
        }
    }
    // Most advisories first, then by address.
    rows.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    let _ = write!(
        o,
        "<p>{} devices seen; {} with published advisories or past their end of life{}.</p>",
        c.devices,
        c.unpatched_total,
        if c.unpatched_total > c.unpatched.len() as u64 {
            format!(" (the first {} listed)", c.unpatched.len())
        } else {
            String::new()
        }
    );
    if !rows.is_empty() {
        table(
            o,
            "patch",
            &[
                "address",
                "role",
                "announced",
                "software",
                "version",
                "advisories",
                "CVEs",
                "fixed in",
                "end of life",
            ],
            &rows.into_iter().map(|r| r.1).collect::<Vec<_>>(),
        );
    }
    o.push_str("</section>");
}

fn quality(o: &mut String, c: &Collected) {
    o.push_str("<section id=\"quality\"><h2>Call quality</h2>");
    if c.figures.mos_streams == 0 {
        o.push_str("<p class=\"note\">No RTP streams.</p></section>");
        return;
    }
    let _ = write!(
        o,
        "<h3>MOS of {} streams</h3>{}",
        c.figures.mos_streams,
        charts::mos_histogram(&c.figures.mos_bins)
    );
    let mut worst = c.worst.clone();
    trim_worst(&mut worst);
    let rows: Vec<Vec<String>> = worst
        .iter()
        .map(|(mos, r)| {
            let t = &r["rtp"];
            vec![
                format!("{mos:.2}"),
                esc(&format!(
                    "{}:{} → {}:{}",
                    r["src_ip"].as_str().unwrap_or(""),
                    r["src_port"],
                    r["dest_ip"].as_str().unwrap_or(""),
                    r["dest_port"]
                )),
                esc(t["codec"].as_str().unwrap_or("")),
                t["packets"].to_string(),
                t["lost"].to_string(),
                t["max_jitter_ms"].to_string(),
                esc(t["call_id"].as_str().unwrap_or("")),
            ]
        })
        .collect();
    o.push_str("<h3>Worst streams</h3>");
    table(
        o,
        "worst",
        &[
            "MOS",
            "stream",
            "codec",
            "packets",
            "lost",
            "max jitter ms",
            "call",
        ],
        &rows,
    );
    o.push_str("</section>");
}

/// Where a pcap of the evidence folder is, as seen from the report.
fn pcap_href(src: &ReportSource<'_>, rel: &str) -> Option<String> {
    let dir = src.pcap_dir?;
    let file = dir.join(rel);
    let report_dir = src
        .output
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let (abs_file, abs_dir) = (absolute(&file), absolute(report_dir));
    match abs_file.strip_prefix(&abs_dir) {
        Ok(r) => Some(r.to_string_lossy().into_owned()),
        Err(_) => Some(format!("file://{}", abs_file.display())),
    }
}

fn absolute(p: &Path) -> PathBuf {
    std::fs::canonicalize(p).unwrap_or_else(|_| {
        std::env::current_dir()
            .map(|d| d.join(p))
            .unwrap_or_else(|_| p.to_path_buf())
    })
}

/// The ladder of an entry: from its pcap when there is one, else from the `sip` records of its
/// Call-ID; the message at `fired_us` highlighted.
fn ladder_for(
    c: &Collected,
    src: &ReportSource<'_>,
    pcap: Option<&str>,
    call_id: Option<&str>,
    fired_us: Option<u64>,
) -> String {
    let mut from_pcap_note = String::new();
    let mut arrows: Vec<Arrow> = Vec::new();
    if let (Some(dir), Some(rel)) = (src.pcap_dir, pcap) {
        match ladder::from_pcap(&dir.join(rel)) {
            Ok((a, _)) => arrows = a,
            Err(e) => from_pcap_note = format!("<p class=\"note\">{}</p>", esc(&e)),
        }
    }
    let mut note = "";
    if arrows.is_empty() {
        if let Some(recs) = call_id.and_then(|id| c.sip.get(id)) {
            arrows = ladder::from_records(recs.iter());
            note = "<p class=\"note\">Drawn from the sip records (one request and its responses per transaction); the pcap shows every copy.</p>";
        }
    }
    if arrows.is_empty() {
        return format!(
            "{from_pcap_note}<p class=\"note\">No SIP messages to draw{}.</p>",
            if src.pcap_dir.is_none() {
                " (give --pcap-dir for the packets)"
            } else {
                ""
            }
        );
    }
    if let Some(t) = fired_us {
        if let Some(a) = arrows.iter_mut().rev().find(|a| a.at_us == t) {
            a.highlight = true;
        }
    }
    format!("{from_pcap_note}{note}{}", ladder::svg(&arrows))
}

fn alerts(o: &mut String, c: &Collected, src: &ReportSource<'_>) {
    o.push_str("<section id=\"alerts\"><h2>Alerts</h2>");
    if c.alerts.is_empty() {
        o.push_str("<p class=\"note\">No alerts.</p>");
    }
    for (n, a) in c.alerts.iter().enumerate() {
        let al = &a["alert"];
        let sev = al["severity"].as_u64().unwrap_or(3).clamp(1, 3);
        let ts = a["timestamp"].as_str().unwrap_or("");
        let _ = write!(
            o,
            "<details id=\"alert-{n}\" class=\"alert\" data-sid=\"{sid}\"{open}><summary><span class=\"sev-{sev}\">{ts}</span> [{sid}] {sig} — {srcip} → {dstip}</summary>",
            sid = al["signature_id"],
            open = if n == 0 { " open" } else { "" },
            ts = esc(ts),
            sig = esc_short(al["signature"].as_str().unwrap_or(""), 120),
            srcip = esc(al["source"]["ip"].as_str().unwrap_or("")),
            dstip = esc(al["target"]["ip"].as_str().unwrap_or("")),
        );
        let ev = &a["evidence"];
        let pcap = ev["pcap"].as_str();
        if let Some(href) = pcap.and_then(|rel| pcap_href(src, rel)) {
            let _ = write!(
                o,
                "<p>Packets: {} ({} packets, {})</p>",
                link(&href, &esc(pcap.unwrap_or(""))),
                ev["pcap_packets"],
                esc(ev["pcap_scope"].as_str().unwrap_or(""))
            );
        }
        let pretty = serde_json::to_string_pretty(ev).unwrap_or_default();
        let _ = write!(o, "<pre class=\"evidence\">{}</pre>", esc(&pretty));
        let fired = parse_time_us(ts);
        let id = alert_call_id(a);
        o.push_str(&ladder_for(c, src, pcap, id.as_deref(), fired));
        o.push_str("</details>");
    }
    if c.figures.alerts > c.alerts.len() {
        let _ = write!(
            o,
            "<p class=\"note\">{} more alerts not shown (the report shows the first {MAX_ENTRIES}; all are in the timeline and the figures).</p>",
            c.figures.alerts - c.alerts.len()
        );
    }
    o.push_str("</section>");
}

fn calls(o: &mut String, c: &Collected, src: &ReportSource<'_>) {
    o.push_str("<section id=\"calls\"><h2>Calls</h2>");
    if c.calls.is_empty() {
        o.push_str("<p class=\"note\">No calls.</p>");
    }
    for (n, r) in c.calls.iter().enumerate() {
        let call = &r["call"];
        let party = |p: &Value| {
            p["user"]
                .as_str()
                .or(p["host"].as_str())
                .unwrap_or("")
                .to_string()
        };
        let id = call["call_id"].as_str().unwrap_or("");
        let _ = write!(
            o,
            "<details id=\"call-{n}\" class=\"call\" data-call-id=\"{idv}\"{open}><summary>{ts} {from} → {to}: {outcome}, {dur:.1} s, signalling {sig}, media {media}</summary>",
            idv = esc(id),
            open = if n == 0 { " open" } else { "" },
            ts = esc(r["timestamp"].as_str().unwrap_or("")),
            from = esc_short(&party(&call["caller"]), 60),
            to = esc_short(&party(&call["callee"]), 60),
            outcome = esc(call["outcome"].as_str().unwrap_or("")),
            dur = call["duration"].as_f64().unwrap_or(0.0),
            sig = esc(call["encryption"]["signalling"].as_str().unwrap_or("")),
            media = esc(call["encryption"]["media_answered"].as_str().unwrap_or("")),
        );
        let _ = write!(o, "<p>Call-ID {}</p>", esc(id));
        let pcap = call["pcap"].as_str();
        if let Some(href) = pcap.and_then(|rel| pcap_href(src, rel)) {
            let _ = write!(
                o,
                "<p>Packets (SIP and RTP): {}</p>",
                link(&href, &esc(pcap.unwrap_or("")))
            );
        }
        o.push_str(&ladder_for(c, src, pcap, Some(id), None));
        o.push_str("</details>");
    }
    if c.figures.calls > c.calls.len() {
        let _ = write!(
            o,
            "<p class=\"note\">{} more calls not shown (the report shows the first {MAX_ENTRIES}).</p>",
            c.figures.calls - c.calls.len()
        );
    }
    o.push_str("</section>");
}
