//! Prometheus metrics and Grafana dashboards, end to end: the sensor replays every capture and
//! keeps `/metrics` up (`--linger`); a real Prometheus (Debian package `prometheus`) scrapes it;
//! every panel expression of every dashboard in grafana/dashboards/ is evaluated by that
//! Prometheus, and the counters are compared with the run's `stats`, `alert`, `call` and `rtp`
//! records.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::util::{bin, captures, root};
use voip_sentinel::output::metrics::{method_label, status_class, Metrics};

/// A child process killed (and reaped) when dropped.
struct Killed {
    child: Child,
    what: &'static str,
    log: PathBuf,
}

impl Killed {
    fn spawn(mut cmd: Command, what: &'static str, log: PathBuf) -> Killed {
        let out = File::create(&log).expect("log file");
        let err = out.try_clone().expect("log file");
        let child = cmd
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .unwrap_or_else(|e| panic!("start {what}: {e}"));
        Killed { child, what, log }
    }

    /// Panic with the log if the process has exited.
    fn assert_running(&mut self) {
        if let Ok(Some(status)) = self.child.try_wait() {
            panic!(
                "{} exited early ({status}):\n{}",
                self.what,
                std::fs::read_to_string(&self.log).unwrap_or_default()
            );
        }
    }
}

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// A minimal HTTP/1.0 GET (no chunked encoding, no keep-alive): (status, body).
fn http_get(addr: SocketAddr, target: &str) -> std::io::Result<(u16, String)> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    s.set_write_timeout(Some(Duration::from_secs(10)))?;
    write!(
        s,
        "GET {target} HTTP/1.0\r\nHost: {addr}\r\nAccept: */*\r\n\r\n"
    )?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw)?;
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    Ok((status, body.to_string()))
}

fn url_encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// One sample of a query result: labels and value.
type Sample = (BTreeMap<String, String>, f64);

/// Evaluate an instant query; Err with Prometheus's answer if it is not a success.
fn query(prom: SocketAddr, expr: &str) -> Result<Vec<Sample>, String> {
    let (status, body) = http_get(prom, &format!("/api/v1/query?query={}", url_encode(expr)))
        .map_err(|e| format!("request failed: {e}"))?;
    let v: Value = serde_json::from_str(&body)
        .map_err(|e| format!("HTTP {status}, bad JSON ({e}): {body}"))?;
    if status != 200 || v["status"] != "success" {
        return Err(format!("HTTP {status}: {body}"));
    }
    let value = |pair: &Value| -> f64 {
        pair[1]
            .as_str()
            .and_then(|s| s.parse::<f64>().ok())
            .unwrap_or(f64::NAN)
    };
    let data = &v["data"];
    match data["resultType"].as_str() {
        Some("vector") => Ok(data["result"]
            .as_array()
            .map(|a| a.as_slice())
            .unwrap_or_default()
            .iter()
            .map(|r| {
                let labels = r["metric"]
                    .as_object()
                    .map(|m| {
                        m.iter()
                            .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                            .collect()
                    })
                    .unwrap_or_default();
                (labels, value(&r["value"]))
            })
            .collect()),
        Some("scalar") => Ok(vec![(BTreeMap::new(), value(&data["result"]))]),
        other => Err(format!("unexpected result type {other:?}: {body}")),
    }
}

/// A query that must give exactly one series: its value.
fn scalar(prom: SocketAddr, expr: &str) -> f64 {
    let r = query(prom, expr).unwrap_or_else(|e| panic!("{expr}: {e}"));
    assert_eq!(r.len(), 1, "{expr}: expected one series, got {r:?}");
    r[0].1
}

/// `sum by (label) (...)` as a map from label value to value.
fn by_label(prom: SocketAddr, metric: &str, label: &str) -> BTreeMap<String, f64> {
    let expr = format!("sum by ({label}) ({metric})");
    query(prom, &expr)
        .unwrap_or_else(|e| panic!("{expr}: {e}"))
        .into_iter()
        .map(|(l, v)| (l.get(label).cloned().unwrap_or_default(), v))
        .collect()
}

/// Compare two maps of counts, a missing key counting as 0.
fn assert_counts(what: &str, prom: &BTreeMap<String, f64>, eve: &BTreeMap<String, u64>) {
    let keys: BTreeSet<&String> = prom.keys().chain(eve.keys()).collect();
    let diff: Vec<String> = keys
        .into_iter()
        .filter_map(|k| {
            let p = prom.get(k).copied().unwrap_or(0.0);
            let e = eve.get(k).copied().unwrap_or(0) as f64;
            (p != e).then(|| format!("{k}: prometheus {p}, eve {e}"))
        })
        .collect();
    assert!(diff.is_empty(), "{what} differ:\n{}", diff.join("\n"));
}

/// Every panel target expression of a dashboard (rows' nested panels included).
fn dashboard_exprs(path: &Path) -> Vec<(String, String)> {
    fn walk(panels: &Value, out: &mut Vec<(String, String)>) {
        for p in panels.as_array().map(|a| a.as_slice()).unwrap_or_default() {
            let title = p["title"].as_str().unwrap_or("?").to_string();
            for t in p["targets"]
                .as_array()
                .map(|a| a.as_slice())
                .unwrap_or_default()
            {
                if let Some(e) = t["expr"].as_str() {
                    out.push((title.clone(), e.to_string()));
                }
            }
            walk(&p["panels"], out);
        }
    }
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let d: Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: bad JSON: {e}", path.display()));
    let mut out = Vec::new();
    walk(&d["panels"], &mut out);
    assert!(!out.is_empty(), "{}: no panel targets", path.display());
    out
}

/// Grafana's variables, as the test evaluates them.
fn expand(expr: &str) -> String {
    expr.replace("$__rate_interval", "1m")
        .replace("$__interval", "1m")
        .replace("$__range", "1m")
        .replace("$instance", ".*")
}

/// `voipsentinel_*` names in an expression.
fn metric_names(expr: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut rest = expr;
    while let Some(i) = rest.find("voipsentinel_") {
        let tail = &rest[i..];
        let end = tail
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(tail.len());
        out.insert(tail[..end].to_string());
        rest = &tail[end..];
    }
    out
}

/// The family names in a text exposition (its `# TYPE` lines), with their types.
fn exposed_families(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.split_once(' '))
        .map(|(n, t)| (n.to_string(), t.trim().to_string()))
        .collect()
}

fn wait_for(what: &str, timeout: Duration, mut ok: impl FnMut() -> bool) {
    let start = Instant::now();
    while !ok() {
        assert!(
            start.elapsed() < timeout,
            "timed out after {timeout:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn count_str(v: &Value) -> u64 {
    v.as_u64().unwrap_or(0)
}

#[test]
fn prometheus_scrapes_sensor_and_dashboards_evaluate() {
    let started = Instant::now();
    match Command::new("prometheus").arg("--version").output() {
        Ok(o) if o.status.success() => {}
        Ok(o) => panic!(
            "`prometheus --version` failed: {}",
            String::from_utf8_lossy(&o.stderr)
        ),
        Err(e) => panic!(
            "this test needs Prometheus ({e}): apt-get install prometheus \
             (scripts/install-deps.sh and CI install it)"
        ),
    }
    let tmp = tempfile::tempdir().expect("temp dir");
    let eve = tmp.path().join("eve.json");

    // 1. The sensor: replay everything, keep /metrics up.
    let sport = free_port();
    let sensor_addr: SocketAddr = format!("127.0.0.1:{sport}").parse().unwrap();
    let mut cmd = Command::new(bin());
    cmd.args(["replay", "--quiet", "--eve"])
        .arg(&eve)
        .arg("--metrics-listen")
        .arg(sensor_addr.to_string())
        .arg("--linger")
        .args(captures());
    let mut sensor = Killed::spawn(cmd, "voip-sentinel", tmp.path().join("sensor.log"));
    wait_for(
        "the replay to end (stats record) and /metrics to answer",
        Duration::from_secs(30),
        || {
            sensor.assert_running();
            let done = std::fs::read_to_string(&eve)
                .map(|t| t.lines().any(|l| l.contains(r#""event_type":"stats""#)))
                .unwrap_or(false);
            done && matches!(http_get(sensor_addr, "/metrics"), Ok((200, _)))
        },
    );
    let records: Vec<Value> = std::fs::read_to_string(&eve)
        .expect("eve file")
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad JSON line {l:?}: {e}")))
        .collect();
    let stats = &records
        .iter()
        .find(|r| r["event_type"] == "stats")
        .expect("stats record")["stats"];
    let of_type = |t: &str| -> Vec<&Value> {
        records
            .iter()
            .filter(|r| r["event_type"] == t)
            .collect::<Vec<_>>()
    };

    let (status, exposition) = http_get(sensor_addr, "/metrics").expect("GET /metrics");
    assert_eq!(status, 200);
    let (status, _) = http_get(sensor_addr, "/nothing").expect("GET /nothing");
    assert_eq!(status, 404, "unknown path");
    let families = exposed_families(&exposition);

    // 2. Prometheus, scraping the sensor every second.
    let pport = free_port();
    let prom: SocketAddr = format!("127.0.0.1:{pport}").parse().unwrap();
    let config = tmp.path().join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n\
             scrape_configs:\n  - job_name: voip-sentinel\n    static_configs:\n      \
             - targets: ['{sensor_addr}']\n"
        ),
    )
    .expect("write prometheus.yml");
    let mut cmd = Command::new("prometheus");
    cmd.arg(format!("--config.file={}", config.display()))
        .arg(format!(
            "--storage.tsdb.path={}",
            tmp.path().join("tsdb").display()
        ))
        .arg(format!("--web.listen-address={prom}"))
        .arg("--log.level=warn");
    let mut prometheus = Killed::spawn(cmd, "prometheus", tmp.path().join("prometheus.log"));
    wait_for(
        "two successful scrapes of the sensor",
        Duration::from_secs(30),
        || {
            prometheus.assert_running();
            sensor.assert_running();
            query(prom, r#"sum_over_time(up{job="voip-sentinel"}[5m])"#)
                .map(|r| r.len() == 1 && r[0].1 >= 2.0)
                .unwrap_or(false)
        },
    );
    assert_eq!(scalar(prom, r#"up{job="voip-sentinel"}"#), 1.0, "target up");

    let mut failures = Vec::new();

    // 3. Every panel of every dashboard gives at least one series, every value finite; every
    // metric it names is exposed.
    let mut dashboards: Vec<PathBuf> = std::fs::read_dir(root().join("grafana/dashboards"))
        .expect("grafana/dashboards")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    dashboards.sort();
    assert!(dashboards.len() >= 3, "dashboards: {dashboards:?}");
    let mut n_exprs = 0;
    for d in &dashboards {
        let name = d.file_name().unwrap_or_default().to_string_lossy();
        for (title, expr) in dashboard_exprs(d) {
            n_exprs += 1;
            let q = expand(&expr);
            if q.contains('$') {
                failures.push(format!("{name} / {title}: unknown variable in {expr}"));
                continue;
            }
            for m in metric_names(&q) {
                let base = ["_bucket", "_sum", "_count"]
                    .iter()
                    .find_map(|s| {
                        m.strip_suffix(s)
                            .filter(|b| families.get(*b).is_some_and(|t| t == "histogram"))
                    })
                    .unwrap_or(&m);
                if !families.contains_key(base) {
                    failures.push(format!("{name} / {title}: {m} is not exposed"));
                }
            }
            match query(prom, &q) {
                Err(e) => failures.push(format!("{name} / {title}: {q}: {e}")),
                Ok(r) if r.is_empty() => failures.push(format!("{name} / {title}: {q}: no series")),
                Ok(r) => {
                    if let Some((l, v)) = r.iter().find(|(_, v)| !v.is_finite()) {
                        failures.push(format!("{name} / {title}: {q}: {v} for {l:?}"));
                    }
                }
            }
        }
    }
    assert!(n_exprs >= 30, "only {n_exprs} panel expressions");

    // 4. No registered family missing from the exposition, none exposed unregistered.
    let registered: BTreeSet<String> = Metrics::new().all_metric_names().into_iter().collect();
    let exposed: BTreeSet<String> = families.keys().cloned().collect();
    for n in registered.difference(&exposed) {
        failures.push(format!("{n} is registered but not exposed"));
    }
    for n in exposed.difference(&registered) {
        failures.push(format!("{n} is exposed but not in all_metric_names()"));
    }
    for n in &registered {
        let sel = if families.get(n).is_some_and(|t| t == "histogram") {
            format!("{n}_count")
        } else {
            n.clone()
        };
        match query(prom, &format!("count({sel})")) {
            Ok(r) if r.len() == 1 && r[0].1 >= 1.0 => {}
            other => failures.push(format!("{n}: no sample in Prometheus ({other:?})")),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));

    // 5. The counters equal the run's records.
    let sip = &stats["sip"];
    let requests: u64 = sip["requests"]
        .as_array()
        .expect("stats.sip.requests")
        .iter()
        .map(|r| count_str(&r["count"]))
        .sum();
    assert!(requests > 0);
    assert_eq!(
        scalar(prom, "sum(voipsentinel_sip_requests_total)"),
        requests as f64,
        "SIP requests"
    );
    let mut by_method = BTreeMap::new();
    for r in sip["requests"].as_array().expect("requests") {
        let m = r["method"].as_str().expect("method");
        *by_method.entry(method_label(m).to_string()).or_insert(0) += count_str(&r["count"]);
    }
    assert_counts(
        "SIP requests by method",
        &by_label(prom, "voipsentinel_sip_requests_total", "method"),
        &by_method,
    );
    let mut by_class = BTreeMap::new();
    for (code, n) in sip["responses"].as_object().expect("responses") {
        let class = status_class(code.parse().expect("status code"));
        *by_class.entry(class.to_string()).or_insert(0) += count_str(n);
    }
    assert_counts(
        "SIP responses by class",
        &by_label(prom, "voipsentinel_sip_responses_total", "class"),
        &by_class,
    );

    let mut alerts = BTreeMap::new();
    for a in of_type("alert") {
        let id = a["alert"]["signature_id"].to_string();
        *alerts.entry(id).or_insert(0) += 1;
    }
    assert!(!alerts.is_empty(), "the captures raise alerts");
    assert_counts(
        "alerts by signature id",
        &by_label(prom, "voipsentinel_alerts_total", "signature_id"),
        &alerts,
    );

    // Devices by patch level: the device records, each judged as its record (or one of its
    // components) says.
    let devices = of_type("device");
    let judged = |field: &str, d: &Value| -> bool {
        let has = |v: &Value| match &v[field] {
            Value::Array(a) => !a.is_empty(),
            Value::Null => false,
            _ => true,
        };
        has(d) || d["components"].as_array().into_iter().flatten().any(has)
    };
    let with = |field: &str| {
        devices
            .iter()
            .filter(|r| judged(field, &r["device"]))
            .count() as u64
    };
    assert!(
        with("advisories") > 0 && with("end_of_life") > 0,
        "the captures have both"
    );

    // The gauge counts the devices known at the end: those silent for a week are forgotten
    // (the folder spans years), so every one the records name at most, and as many as the
    // stats record's table holds.
    for (label, reported) in [
        ("advisories", with("advisories")),
        ("end_of_life", with("end_of_life")),
    ] {
        let known = scalar(
            prom,
            &format!("sum(voipsentinel_devices{{{label}=\"yes\"}})"),
        );
        assert!(
            known >= 1.0 && known <= reported as f64,
            "{label}: {known} known, {reported} reported"
        );
    }
    assert!(count_str(&stats["state"]["devices"]["entries"]) < devices.len() as u64);
    let capture = &stats["capture"];
    let exact: Vec<(&str, u64)> = vec![
        (
            "voipsentinel_devices",
            count_str(&stats["state"]["devices"]["entries"]),
        ),
        (
            "voipsentinel_capture_packets_total",
            count_str(&capture["packets"]),
        ),
        (
            "voipsentinel_capture_bytes_total",
            count_str(&capture["bytes"]),
        ),
        (
            "voipsentinel_capture_queue_drops_total",
            count_str(&capture["queue_drops"]),
        ),
        ("voipsentinel_capture_kernel_drops_total", 0),
        (
            "voipsentinel_sip_retransmissions_total",
            count_str(&sip["retransmissions"]),
        ),
        (
            "voipsentinel_sip_transactions_total",
            count_str(&sip["transactions"]),
        ),
        (
            "voipsentinel_dialogs_started_total",
            count_str(&stats["calls"]["dialogs"]),
        ),
        (
            "voipsentinel_calls_attempted_total",
            count_str(&stats["calls"]["dialogs"]),
        ),
        (
            "voipsentinel_calls_answered_total",
            count_str(&stats["calls"]["answered"]),
        ),
        // Everything was flushed at the end of the replay.
        ("voipsentinel_calls_active", 0),
        ("voipsentinel_rtp_streams_active", 0),
        (
            "voipsentinel_rtp_streams_total",
            of_type("rtp").len() as u64,
        ),
        (
            "voipsentinel_rtp_packets_total",
            count_str(&stats["rtp"]["packets"]),
        ),
        (
            "voipsentinel_rtcp_packets_total",
            count_str(&stats["rtp"]["rtcp_packets"]),
        ),
        ("voipsentinel_build_info", 1),
    ];
    let mut diffs = Vec::new();
    for (metric, want) in &exact {
        let got = scalar(prom, &format!("sum({metric})"));
        if got != *want as f64 {
            diffs.push(format!("{metric}: prometheus {got}, records {want}"));
        }
    }
    assert!(diffs.is_empty(), "{}", diffs.join("\n"));

    let map_of = |v: &Value| -> BTreeMap<String, u64> {
        v.as_object()
            .map(|o| o.iter().map(|(k, n)| (k.clone(), count_str(n))).collect())
            .unwrap_or_default()
    };
    assert_counts(
        "decode errors by kind",
        &by_label(prom, "voipsentinel_decode_errors_total", "kind"),
        &map_of(&capture["decode_errors"]),
    );
    assert_counts(
        "registrations by outcome",
        &by_label(prom, "voipsentinel_registrations_total", "outcome"),
        &map_of(&sip["registrations"]),
    );
    let calls = &stats["calls"];
    let outcomes: BTreeMap<String, u64> = [
        ("answered", "answered"),
        ("failed", "failed"),
        ("cancelled", "cancelled"),
        ("unanswered", "unanswered"),
        ("open", "open_at_end"),
        ("evicted", "evicted"),
    ]
    .iter()
    .map(|(label, field)| (label.to_string(), count_str(&calls[*field])))
    .collect();
    assert_counts(
        "dialogs ended by outcome",
        &by_label(prom, "voipsentinel_dialogs_ended_total", "outcome"),
        &outcomes,
    );
    let mut wires = BTreeMap::new();
    let mut attributed = BTreeMap::new();
    for r in of_type("rtp") {
        let w = r["rtp"]["wire"].as_str().unwrap_or("unknown").to_string();
        *wires.entry(w).or_insert(0) += 1;
        let a = if r["rtp"]["call_id"].is_string() {
            "yes"
        } else {
            "no"
        };
        *attributed.entry(a.to_string()).or_insert(0) += 1;
    }
    assert_counts(
        "RTP streams by wire",
        &by_label(prom, "voipsentinel_rtp_streams_by_wire_total", "wire"),
        &wires,
    );
    assert_counts(
        "RTP streams by attribution",
        &by_label(prom, "voipsentinel_rtp_streams_total", "attributed"),
        &attributed,
    );

    // Families without an exact expectation must have counted something in these captures.
    for expr in [
        "sum(voipsentinel_call_setup_seconds_count)",
        "sum(voipsentinel_call_duration_seconds_count)",
        "sum(voipsentinel_rtp_jitter_seconds_count)",
        "sum(voipsentinel_rtp_mos_count)",
        "sum(voipsentinel_calls_by_encryption_total)",
        "sum(voipsentinel_sip_parse_events_total)",
    ] {
        let v = scalar(prom, expr);
        assert!(v > 0.0, "{expr} is {v} after replaying every capture");
    }

    drop(prometheus);
    drop(sensor);
    assert!(
        started.elapsed() < Duration::from_secs(90),
        "took {:?}",
        started.elapsed()
    );
}
