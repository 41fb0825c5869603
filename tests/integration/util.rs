//! Shared helpers: run the sensor and tshark on a capture, list the captures.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_voip-sentinel"))
}

/// Every capture under pcaps/, sorted.
pub fn captures() -> Vec<PathBuf> {
    let v = captures_under(&root().join("pcaps"));
    assert!(!v.is_empty(), "no captures in pcaps/");
    v
}

/// Every capture (.pcap, .pcapng, .cap) under `dir`, sorted; none when `dir` is not there.
pub fn captures_under(dir: &Path) -> Vec<PathBuf> {
    fn walk(d: &Path, out: &mut Vec<PathBuf>) {
        let Ok(rd) = std::fs::read_dir(d) else {
            return;
        };
        let mut entries: Vec<PathBuf> = rd.map(|e| e.unwrap().path()).collect();
        entries.sort();
        for p in entries {
            if p.is_dir() {
                walk(&p, out);
            } else if matches!(
                p.extension().and_then(|e| e.to_str()),
                Some("pcap" | "pcapng" | "cap")
            ) {
                out.push(p);
            }
        }
    }
    let mut v = Vec::new();
    walk(dir, &mut v);
    v
}

/// The site profile of a capture, as `--rules` arguments: `NAME.rules/` beside `NAME.pcap` holds
/// what that site sets over the shipped rules (pcaps/benign/call-centre.rules: a UK dialling
/// context); none: no arguments (the shipped rules).
pub fn site_args(cap: &Path) -> Vec<String> {
    let site = cap.with_extension("rules");
    if !site.is_dir() {
        return Vec::new();
    }
    vec![
        "--rules".to_string(),
        root().join("rules").display().to_string(),
        "--rules".to_string(),
        site.display().to_string(),
    ]
}

/// [`sensor`] on one capture with its site profile ([`site_args`]).
pub fn sensor_at_site(cap: &Path) -> Vec<Value> {
    let args = site_args(cap);
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    sensor(&[cap], &refs)
}

pub fn rel(p: &Path) -> String {
    p.strip_prefix(root().join("pcaps"))
        .unwrap_or(p)
        .display()
        .to_string()
}

/// Run the sensor on captures with extra arguments; returns the parsed JSON lines.
pub fn sensor(paths: &[&Path], extra: &[&str]) -> Vec<Value> {
    let mut cmd = Command::new(bin());
    cmd.arg("replay").arg("--quiet").arg("--eve").arg("-");
    cmd.args(extra);
    cmd.args(paths);
    let out = cmd.output().expect("run voip-sentinel");
    assert!(
        out.status.success(),
        "voip-sentinel failed on {:?}: {}",
        paths,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .expect("utf-8 output")
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad JSON line {l:?}: {e}")))
        .collect()
}

pub fn stats_of(records: &[Value]) -> &Value {
    records
        .iter()
        .find(|r| r["event_type"] == "stats")
        .expect("a stats record")
}

/// What `tshark -q -z sip,stat` reports: requests by method and responses by status code.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct SipStat {
    pub requests: BTreeMap<String, u64>,
    pub responses: BTreeMap<u16, u64>,
}

/// Where tshark must be told that a port carries SIP (the sensor finds SIP by its first line,
/// on any port; tshark by port or by heuristics that some captures defeat).
pub fn tshark_decode_as(pcap: &Path) -> Vec<String> {
    let r = rel(pcap);
    match r.as_str() {
        // SIP over TCP on port 6060, which tshark takes for X11.
        "public/heplify/sip_ipv4_tcp_fragmented.pcap" => {
            vec!["-d".into(), "tcp.port==6060,sip".into()]
        }
        // HEP copies: TShark 4.0 has no HEP dissector; scripts/make-hep-pcaps.sh carries one in
        // Lua, which hands the SIP inside to TShark's own SIP dissector.
        _ if r.starts_with("hep/") && r.contains("-hep") => vec![
            "-X".into(),
            format!("lua_script:{}", hep_lua().display()),
            "-d".into(),
            "udp.port==9060,hep".into(),
        ],
        _ => vec![],
    }
}

/// The HEP dissector of scripts/make-hep-pcaps.sh, written once to a file of this test run.
fn hep_lua() -> PathBuf {
    static PATH: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    PATH.get_or_init(|| {
        let out = Command::new(root().join("scripts/make-hep-pcaps.sh"))
            .arg("--lua")
            .output()
            .expect("scripts/make-hep-pcaps.sh --lua");
        assert!(out.status.success() && !out.stdout.is_empty(), "{out:?}");
        let p = std::env::temp_dir().join(format!("voip-sentinel-hep-{}.lua", std::process::id()));
        std::fs::write(&p, &out.stdout).unwrap();
        p
    })
    .clone()
}

/// Captures whose SIP counts are not compared with tshark, and why.
pub fn oracle_exempt(pcap: &Path) -> Option<&'static str> {
    match rel(pcap).as_str() {
        // Randomly mutated bytes: whether tshark's sip,stat tap counts a mangled message
        // depends on where its dissector throws; the sensor counts every message whose start
        // line and headers parse. Kept to prove the sensor survives it.
        "public/nDPI/fuzz-2006-06-26-2594.pcap" => Some("fuzzed capture"),
        // A SIP/3.0 request and a "SIP/1.0 200 OK" response (rules 2200041/2200042): tshark's
        // SIP dissector takes only SIP/2.0 start lines for SIP; the sensor recognises any
        // SIP/d.d to report it.
        "detect/sip-anomalies.pcap" => Some("SIP versions other than 2.0"),
        _ => None,
    }
}

pub fn tshark_sip_stat(pcap: &Path) -> SipStat {
    let out = Command::new("tshark")
        .args(["-n", "-q", "-z", "sip,stat"])
        .args(tshark_decode_as(pcap))
        .arg("-r")
        .arg(pcap)
        .output()
        .expect("run tshark (apt-get install tshark)");
    let text = String::from_utf8_lossy(&out.stdout);
    let mut s = SipStat::default();
    let mut section = 0;
    for line in text.lines() {
        let t = line.trim();
        if t.starts_with("* SIP Status Codes") {
            section = 1;
            continue;
        }
        if t.starts_with("* List of SIP Request methods") {
            section = 2;
            continue;
        }
        if t.starts_with('*') || t.starts_with("===") {
            section = 0;
            continue;
        }
        let Some((name, count)) = t.rsplit_once(':') else {
            continue;
        };
        let Some(n) = count
            .trim()
            .strip_suffix("Packets")
            .and_then(|c| c.trim().parse::<u64>().ok())
        else {
            continue;
        };
        match section {
            1 => {
                // "SIP 200 OK   :  3 Packets"
                let code = name
                    .split_whitespace()
                    .nth(1)
                    .and_then(|c| c.parse::<u16>().ok());
                if let Some(code) = code {
                    *s.responses.entry(code).or_insert(0) += n;
                }
            }
            2 => {
                *s.requests.entry(name.trim().to_string()).or_insert(0) += n;
            }
            _ => {}
        }
    }
    s
}

/// The Call-IDs tshark sees in a capture: with `whole_only`, only in messages it could
/// dissect to the end (not marked malformed).
pub fn tshark_call_ids(pcap: &Path, whole_only: bool) -> std::collections::BTreeSet<String> {
    let out = Command::new("tshark")
        .arg("-n")
        .args(tshark_decode_as(pcap))
        .arg("-r")
        .arg(pcap)
        .args([
            "-Y",
            if whole_only {
                "sip && !_ws.malformed"
            } else {
                "sip"
            },
            "-T",
            "fields",
            "-E",
            "occurrence=a",
            "-E",
            "aggregator=/s",
            "-e",
            "sip.Call-ID",
        ])
        .output()
        .expect("run tshark");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .flat_map(|l| {
            l.split("/s")
                .map(|s| s.trim().to_string())
                .collect::<Vec<_>>()
        })
        .filter(|s| !s.is_empty())
        .collect()
}

/// A copy of rules/ in a temporary folder, for tests that change a file of it.
pub fn rules_copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for e in std::fs::read_dir(root().join("rules")).unwrap() {
        let p = e.unwrap().path();
        std::fs::copy(&p, dir.path().join(p.file_name().unwrap())).unwrap();
    }
    dir
}

/// `voip-sentinel rules check DIR`.
pub fn rules_check(dir: &std::path::Path) -> std::process::Output {
    std::process::Command::new(bin())
        .args(["rules", "check"])
        .arg(dir)
        .output()
        .unwrap()
}

/// `voip-sentinel rules check DIR` on a folder with errors: exit status 1; its stderr, and
/// the stderr's lines.
pub fn rules_check_errors(dir: &std::path::Path) -> (String, Vec<String>) {
    let out = rules_check(dir);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    let lines = err.lines().map(str::to_string).collect();
    (err, lines)
}

/// An alert about an attack or exposure, not an audit finding: authentication posture
/// (`posture`: how a server authenticates, tests/integration/posture.rs) or patch level
/// (`vulnerable-device`: what a device runs, tests/integration/patch.rs).
pub fn is_attack_alert(r: &Value) -> bool {
    r["event_type"] == "alert"
        && r["alert"]["category"] != "posture"
        && r["alert"]["category"] != "vulnerable-device"
}
