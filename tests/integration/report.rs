//! The forensic report as a person opens it: rendered by headless Chromium (Debian's
//! `chromium`), which must load nothing from elsewhere and log no error; the DOM holds the
//! figures of the records, every alert and call with its pcap link, and the ladder of a known
//! call has tshark's messages of that call, in order.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::util::*;

/// Chromium's DOM of `page` after loading it, and what it logged.
fn chromium_dom(page: &Path) -> (String, String) {
    let profile = tempfile::tempdir().unwrap();
    let out = Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg("--dump-dom")
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("run chromium (apt-get install chromium)");
    assert!(out.status.success(), "chromium: {out:?}");
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// What the page logged that is about the page (console messages, blocked loads, script
/// errors), not Chromium's own complaints about the machine (no D-Bus, no GPU).
fn page_errors(log: &str) -> Vec<&str> {
    log.lines()
        .filter(|l| {
            l.contains("CONSOLE")
                || l.contains("Uncaught")
                || l.contains("Refused to")
                || l.contains("Content Security Policy")
                || l.contains("ERR_")
        })
        .collect()
}

/// Replay `paths` with the options `extra`, the records and the report written into `dir`:
/// the records, and the report's path.
fn replay_with_report(dir: &Path, paths: &[&Path], extra: &[&str]) -> (Vec<Value>, PathBuf) {
    let (eve, page) = (dir.join("eve.json"), dir.join("report.html"));
    let out = Command::new(bin())
        .args(["replay", "--quiet", "--eve"])
        .arg(&eve)
        .arg("--report")
        .arg(&page)
        .args(extra)
        .args(paths)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let recs = std::fs::read_to_string(&eve)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    (recs, page)
}

/// The `data-label`, `data-from`, `data-to` of the arrows of the entry `id`, in order.
fn arrows_of(dom: &str, id: &str) -> Vec<(String, String, String)> {
    let start = dom
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no entry {id}"));
    let end = dom[start..]
        .find("</details>")
        .map_or(dom.len(), |e| start + e);
    let part = &dom[start..end];
    let attr = |s: &str, name: &str| -> String {
        let k = format!("{name}=\"");
        let i = s.find(&k).unwrap() + k.len();
        s[i..i + s[i..].find('"').unwrap()].to_string()
    };
    part.split("<g class=\"msg")
        .skip(1)
        .map(|g| {
            (
                attr(g, "data-label"),
                attr(g, "data-from"),
                attr(g, "data-to"),
            )
        })
        .collect()
}

#[test]
fn the_report_renders_in_chromium_with_the_ladders_of_the_capture() {
    let tmp = tempfile::tempdir().unwrap();
    let evidence = tmp.path().join("evidence");
    let proxy = root().join("pcaps/kamailio-proxy-call.pcap");
    let brute = root().join("pcaps/attack/register-bruteforce.pcap");
    let (recs, page) = replay_with_report(
        tmp.path(),
        &[&proxy, &brute],
        &["--pcap-calls", "--pcap-dir", evidence.to_str().unwrap()],
    );
    let html = std::fs::read_to_string(&page).unwrap();
    // Self-contained: nothing to fetch, nothing to run.
    for banned in [
        "<script", "http://", "https://", "src=", "@import", "url(http",
    ] {
        let inline_svg_ns = banned == "http://"
            && html.matches("http://").count()
                == html.matches("http://www.w3.org/2000/svg").count();
        assert!(
            !html.contains(banned) || inline_svg_ns,
            "{banned} in the report"
        );
    }

    let (dom, log) = chromium_dom(&page);
    assert!(page_errors(&log).is_empty(), "{:?}", page_errors(&log));
    for section in [
        "summary",
        "timeline",
        "addresses",
        "toll-fraud",
        "encryption",
        "posture",
        "quality",
        "alerts",
        "calls",
    ] {
        assert!(dom.contains(&format!("id=\"{section}\"")), "{section}");
    }
    let count = |t: &str| recs.iter().filter(|r| r["event_type"] == t).count();
    let card = |name: &str| -> usize {
        let k = format!("data-figure=\"{name}\"><b>");
        let i = dom.find(&k).unwrap_or_else(|| panic!("{name}")) + k.len();
        dom[i..i + dom[i..].find('<').unwrap()].parse().unwrap()
    };
    assert_eq!(card("alerts"), count("alert"));
    assert_eq!(card("calls"), count("call"));
    assert_eq!(card("RTP streams"), count("rtp"));
    let stats = stats_of(&recs);
    assert_eq!(
        card("packets") as u64,
        stats["stats"]["capture"]["packets"].as_u64().unwrap()
    );

    // Each server's authentication posture, as its record says.
    let servers: Vec<&Value> = recs
        .iter()
        .filter(|r| r["event_type"] == "posture")
        .collect();
    assert!(!servers.is_empty());
    assert_eq!(
        dom.matches("<table class=\"posture\">").count(),
        1,
        "one posture table"
    );
    for r in servers {
        let server = r["src_ip"].as_str().unwrap();
        let findings: Vec<&str> = r["posture"]["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f.as_str().unwrap())
            .collect();
        let row = format!("<td>{server}</td>");
        let table = dom.find("<table class=\"posture\">").unwrap();
        let at = table
            + dom[table..]
                .find(&row)
                .unwrap_or_else(|| panic!("no posture row for {server}"));
        let end = at + dom[at..].find("</tr>").unwrap();
        let want = if findings.is_empty() {
            "<td>none</td>".to_string()
        } else {
            format!("<td><b>{}</b></td>", findings.join(", "))
        };
        assert!(dom[at..end].contains(&want), "{server}: {}", &dom[at..end]);
    }

    // Every alert and call has its entry and its pcap link.
    let links = dom.matches("<a href=\"evidence/").count();
    assert_eq!(links, count("alert") + count("call"));
    assert_eq!(dom.matches("class=\"alert\"").count(), count("alert"));
    assert_eq!(dom.matches("class=\"call\"").count(), count("call"));

    // The first proxied call's ladder: tshark's SIP messages of that Call-ID, in order.
    let id = "proxy-call-1@127.0.0.71";
    let n = recs
        .iter()
        .filter(|r| r["event_type"] == "call")
        .position(|r| r["call"]["call_id"] == id)
        .unwrap();
    let rows = Command::new("tshark")
        .args(["-n", "-r"])
        .arg(&proxy)
        .args(["-Y", &format!("sip.Call-ID == \"{id}\"")])
        .args(["-T", "fields", "-E", "separator=|"])
        .args(["-e", "sip.Method", "-e", "sip.Status-Code", "-e", "ip.src"])
        .args(["-e", "udp.srcport", "-e", "ip.dst", "-e", "udp.dstport"])
        .output()
        .unwrap();
    let want: Vec<(String, String, String)> = String::from_utf8_lossy(&rows.stdout)
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split('|').collect();
            let label = if f[0].is_empty() {
                f[1].to_string()
            } else {
                f[0].to_string()
            };
            (
                label,
                format!("{}:{}", f[2], f[3]),
                format!("{}:{}", f[4], f[5]),
            )
        })
        .collect();
    assert!(want.len() >= 10, "{want:?}");
    let got: Vec<(String, String, String)> = arrows_of(&dom, &format!("call-{n}"))
        .into_iter()
        .map(|(l, f, t)| (l.split(' ').next().unwrap().to_string(), f, t))
        .collect();
    assert_eq!(got, want);

    // Each alert's ladder marks the message that fired it: one, the last of its packets.
    for (n, a) in recs
        .iter()
        .filter(|r| r["event_type"] == "alert")
        .enumerate()
    {
        let start = dom.find(&format!("id=\"alert-{n}\"")).unwrap();
        let part = &dom[start..start + dom[start..].find("</details>").unwrap()];
        assert_eq!(
            part.matches("class=\"msg fired\"").count(),
            1,
            "alert {n}: {}",
            a["alert"]["signature_id"]
        );
    }
}

/// Sender's text in the records (a User-Agent, a Call-ID) is shown, never run.
#[test]
fn hostile_text_in_records_is_shown_not_run() {
    let tmp = tempfile::tempdir().unwrap();
    let eve = tmp.path().join("eve.json");
    let page = tmp.path().join("report.html");
    let evil = "<script>document.title='pwned'</script><img src=x onerror=alert(1)>\"'&";
    let alert = serde_json::json!({
        "timestamp": "2026-11-25T14:16:05.251888+0000",
        "event_type": "alert",
        "src_ip": "127.0.0.150", "src_port": 5060, "dest_ip": "127.0.0.151", "dest_port": 5060,
        "alert": {"signature_id": 2200001, "signature": evil, "category": evil, "severity": 2,
                  "source": {"ip": "127.0.0.150", "port": 5060}, "target": {"ip": evil, "port": 5060}},
        "evidence": {"call_id": evil, "user_agent": evil},
    });
    let sip = serde_json::json!({
        "timestamp": "2026-11-25T14:16:05.251888+0000",
        "event_type": "sip",
        "src_ip": "127.0.0.150", "src_port": 5060, "dest_ip": "127.0.0.151", "dest_port": 5060,
        "sip": {"call_id": evil, "method": evil, "cseq": 1, "cseq_method": evil, "status": 200,
                "reason": evil, "response_time_ms": 1.5},
    });
    std::fs::write(&eve, format!("{alert}\nnot json\n{sip}\n")).unwrap();
    let out = Command::new(bin())
        .arg("report")
        .arg(&eve)
        .arg("-o")
        .arg(&page)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let (dom, log) = chromium_dom(&page);
    assert!(page_errors(&log).is_empty(), "{:?}", page_errors(&log));
    assert!(!dom.contains("<script"), "a script element");
    assert!(!dom.contains("<img"), "an img element");
    assert!(dom.contains("<title>voip-sentinel report</title>"));
    // Shown as text, in the summary, the alert and its ladder (drawn from the sip record).
    assert!(dom.contains("&lt;script&gt;document.title="), "{dom}");
    assert!(dom.contains("class=\"msg fired\""));
    assert!(dom.contains("1 input lines were not JSON records"));
}

/// A missing input is one error line and a failed exit; nothing is written.
#[test]
fn an_unreadable_input_is_one_error_line() {
    let tmp = tempfile::tempdir().unwrap();
    let page = tmp.path().join("report.html");
    let out = Command::new(bin())
        .args(["report", "/nonexistent/eve.json", "-o"])
        .arg(&page)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("/nonexistent/eve.json"), "{err}");
    assert!(!page.exists());
    let out = Command::new(bin())
        .args(["replay", "--quiet", "--eve", "-", "--report"])
        .arg(&page)
        .arg(root().join("pcaps/attack/toll-fraud.pcap"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stderr).lines().count(), 1);
}

/// The report of every bundled capture (`pcaps/`, one replay) renders with nothing logged; its
/// figures are the records'; the entries shown are capped and the page says how many more.
#[test]
fn the_report_of_every_bundled_capture_renders() {
    let tmp = tempfile::tempdir().unwrap();
    let (eve, page) = (tmp.path().join("eve.json"), tmp.path().join("report.html"));
    let out = Command::new(bin())
        .args(["replay", "--quiet", "--pcap-calls", "--eve"])
        .arg(&eve)
        .arg("--pcap-dir")
        .arg(tmp.path().join("evidence"))
        .arg("--report")
        .arg(&page)
        .arg(root().join("pcaps"))
        .output()
        .unwrap();
    // A few bundled captures are damaged on purpose (exit status 1, said on stderr).
    assert!(
        out.status.code() == Some(0) || out.status.code() == Some(1),
        "{out:?}"
    );
    assert!(page.exists(), "{}", String::from_utf8_lossy(&out.stderr));
    let recs: Vec<Value> = std::fs::read_to_string(&eve)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let (dom, log) = chromium_dom(&page);
    assert!(page_errors(&log).is_empty(), "{:?}", page_errors(&log));
    let count = |t: &str| recs.iter().filter(|r| r["event_type"] == t).count();
    let (alerts, calls) = (count("alert"), count("call"));
    assert!(
        alerts > 300 && calls > 300,
        "{alerts} alerts, {calls} calls"
    );
    let max = 300;
    assert_eq!(dom.matches("class=\"alert\"").count(), max);
    assert_eq!(dom.matches("class=\"call\"").count(), max);
    assert!(dom.contains(&format!("{} more alerts not shown", alerts - max)));
    assert!(dom.contains(&format!("{} more calls not shown", calls - max)));
    // Every alert of every capture has its packets, in a multi-file replay too.
    assert_eq!(
        stats_of(&recs)["stats"]["evidence"]["alerts_without_packets"],
        0
    );
    let ladders = dom.matches("<svg class=\"ladder\"").count();
    assert_eq!(ladders, 2 * max, "every entry shown has its ladder");
    assert!(dom.contains(&format!("data-figure=\"alerts\"><b>{alerts}</b>")));
}

/// The office capture's report lists, in its patch-level table, exactly the devices whose
/// records name advisories or an end of life, each with its version, CVE count, fixed version
/// and end-of-life date as the record says.
#[test]
fn the_report_lists_the_devices_to_patch() {
    let tmp = tempfile::tempdir().unwrap();
    let office = root().join("pcaps/benign/office.pcap");
    let (recs, page) = replay_with_report(tmp.path(), &[&office], &[]);
    let (dom, log) = chromium_dom(&page);
    assert!(page_errors(&log).is_empty(), "{:?}", page_errors(&log));
    let start = dom.find("<table class=\"patch\">").expect("a patch table");
    let table = &dom[start..start + dom[start..].find("</table>").unwrap()];
    let rows: Vec<&str> = table.split("<tr>").skip(2).collect();
    let mut want = Vec::new();
    for r in recs.iter().filter(|r| r["event_type"] == "device") {
        let d = &r["device"];
        let cves = d["advisories"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|i| i.as_str().unwrap().starts_with("CVE-"))
            .count();
        if cves == 0 && d["end_of_life"].is_null() {
            continue;
        }
        let cell = |v: &Value| format!("<td>{}</td>", v.as_str().unwrap_or(""));
        want.push(format!(
            "{}{}{}{}{}<td>{cves}</td>",
            cell(&d["address"]),
            cell(&d["role"]),
            cell(&d["product"]),
            cell(&d["software"]),
            cell(&d["version"]),
        ));
        let row = rows
            .iter()
            .find(|row| row.starts_with(want.last().unwrap().as_str()))
            .unwrap_or_else(|| panic!("no row for {}", want.last().unwrap()));
        assert!(row.contains(&cell(&d["fixed_version"])), "{row}");
        assert!(row.contains(&cell(&d["end_of_life"])), "{row}");
    }
    assert!(want.len() >= 2, "the office capture has devices to patch");
    assert_eq!(rows.len(), want.len(), "{table}");
    let devices = recs.iter().filter(|r| r["event_type"] == "device").count();
    assert!(
        dom.contains(&format!(
            "<p>{devices} devices seen; {} with published advisories or past their end of life.</p>",
            want.len()
        )),
        "the summary line"
    );
}
