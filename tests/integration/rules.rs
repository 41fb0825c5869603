//! Rules: `rules check`, bad rules refused at start, detection on the SIPVicious captures, and
//! SIGHUP reloading the rules of a live sensor without a restart.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::util::*;

/// The rules of rules/sip.rules (lines starting with `alert`).
fn shipped_rules() -> usize {
    std::fs::read_to_string(root().join("rules/sip.rules"))
        .unwrap()
        .lines()
        .filter(|l| l.starts_with("alert "))
        .count()
}

#[test]
fn shipped_rules_check_clean() {
    let out = rules_check(&root().join("rules"));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(&format!("{} signatures", shipped_rules())),
        "{text}"
    );
}

#[test]
fn bad_rules_are_reported_with_file_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("bad.rules"),
        "alert sip any any -> any any (msg:\"x\"; sid:1; foo;)\nalert sip any any -> any any (msg:\"y\";)\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("detectors.conf"),
        "[flood]\nno_such_key = 3\n",
    )
    .unwrap();
    let (err, lines) = rules_check_errors(dir.path());
    assert_eq!(lines.len(), 3, "{err}");
    assert!(
        lines[0].ends_with("bad.rules:1:47: unknown option 'foo'"),
        "{err}"
    );
    assert!(
        lines[1].contains("bad.rules:2:") && lines[1].contains("missing sid"),
        "{err}"
    );
    assert!(lines[2].contains("detectors.conf:2:1:"), "{err}");
    // The sensor refuses to start on them, with one line.
    let out = Command::new(bin())
        .args(["replay", "--eve", "-", "--rules"])
        .arg(dir.path())
        .arg(root().join("pcaps/sipp-failures.pcap"))
        .output()
        .unwrap();
    assert_ne!(out.status.code(), Some(0));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("invalid rules") && err.contains("unknown option 'foo'"),
        "{err}"
    );
}

fn alert_counts(cap: &str) -> std::collections::BTreeMap<u64, usize> {
    let mut m = std::collections::BTreeMap::new();
    for r in sensor(
        &[&root().join(cap)],
        &["--rules", root().join("rules").to_str().unwrap()],
    ) {
        if is_attack_alert(&r) {
            *m.entry(r["alert"]["signature_id"].as_u64().unwrap())
                .or_insert(0) += 1;
        }
    }
    m
}

#[test]
fn sipvicious_scans_are_detected_by_fingerprint_and_behaviour() {
    let svwar = alert_counts("pcaps/public/sipvicious/svwar-register.pcap");
    // friendly-scanner UA and sipvicious From (limited to one per source), the svwar From-tag,
    // and a REGISTER flood from the scanner (all methods, and REGISTER).
    assert_eq!(svwar.get(&2200001), Some(&1), "{svwar:?}");
    assert_eq!(svwar.get(&2300004), Some(&1), "{svwar:?}");
    assert_eq!(svwar.get(&2300005), Some(&2), "{svwar:?}");
    let svmap = alert_counts("pcaps/public/sipvicious/svmap-invite-svwar-options.pcap");
    // The scanner, and kamailio forwarding the scanner's INVITEs (User-Agent kept) to itself.
    assert_eq!(svmap.get(&2200001), Some(&2), "{svmap:?}");
    assert_eq!(
        svmap.get(&2300002),
        Some(&1),
        "enumeration by OPTIONS: {svmap:?}"
    );
    assert_eq!(
        svmap.get(&2200040),
        Some(&1),
        "the INVITE loop reached Max-Forwards 0: {svmap:?}"
    );
}

#[test]
fn benign_captures_raise_only_encryption_findings() {
    for cap in [
        "pcaps/sipp-uac-pcap-g711.pcap",
        "pcaps/kamailio-register-digest.pcap",
        "pcaps/sipp-tcp-calls.pcap",
    ] {
        let counts = alert_counts(cap);
        assert!(
            counts.keys().all(|id| (2_100_001..=2_100_005).contains(id)),
            "{cap}: {counts:?}"
        );
    }
}

/// Kills the sensor if the test fails before it is stopped.
struct KillOnDrop(u32);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-9", &self.0.to_string()])
            .status();
    }
}

fn metric(text: &str, name: &str) -> f64 {
    text.lines()
        .find(|l| l.starts_with(name))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("{name} not in the exposition"))
}

#[test]
fn sighup_reloads_rules_and_keeps_the_old_ones_on_error() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(root().join("rules/sip.rules"), dir.path().join("sip.rules")).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = Command::new(bin())
        .args([
            "live",
            "-i",
            "lo",
            "-f",
            "host 127.0.0.249",
            "--quiet",
            "--eve",
        ])
        .arg(dir.path().join("eve.json"))
        .arg("--rules")
        .arg(dir.path())
        .arg("--metrics-listen")
        .arg(format!("127.0.0.1:{port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let _guard = KillOnDrop(child.id());
    // Poll the exposition until `name` has `want` (reloads are applied on the next tick).
    let wait_for = |name: &str, want: f64| {
        let mut last = f64::NAN;
        for _ in 0..100 {
            if let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) {
                let _ =
                    s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
                let mut text = String::new();
                let _ = s.read_to_string(&mut text);
                if text.contains(name) {
                    last = metric(&text, name);
                    if last == want {
                        return;
                    }
                }
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("{name} is {last}, want {want}");
    };
    let shipped = shipped_rules() as f64;
    wait_for("voipsentinel_rules_loaded", shipped);
    let pid = child.id();
    // Write `text` to `file` of the rules folder, send SIGHUP, and wait until the reloads with
    // `result` number `n` and `loaded` rules are in force.
    let reload = |file: &str, text: &str, result: &str, n: f64, loaded: f64| {
        std::fs::write(dir.path().join(file), text).unwrap();
        Command::new("kill")
            .args(["-HUP", &pid.to_string()])
            .status()
            .unwrap();
        wait_for(
            &format!("voipsentinel_rules_reloads_total{{result=\"{result}\"}}"),
            n,
        );
        wait_for("voipsentinel_rules_loaded", loaded);
    };
    // logrotate moves the EVE file away; SIGHUP makes the sensor open a new one.
    let eve = dir.path().join("eve.json");
    for _ in 0..50 {
        if eve.exists() {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(eve.exists());
    std::fs::rename(&eve, dir.path().join("eve.json.1")).unwrap();
    // A new rule: reloaded.
    reload(
        "extra.rules",
        "alert sip any any -> any any (msg:\"test\"; sip.method:INVITE; sid:9000001; rev:1;)\n",
        "success",
        1.0,
        shipped + 1.0,
    );
    assert!(eve.exists(), "the EVE file was not reopened after SIGHUP");
    // A broken rule: refused, the rules of the last load stay in force.
    reload(
        "extra.rules",
        "alert sip any any -> any any (msg:\"test\"; sid:9000001; sip.uri;)\n",
        "failure",
        1.0,
        shipped + 1.0,
    );
    // threshold.config is part of the reload: a bad line refuses it, a good one is taken.
    std::fs::remove_file(dir.path().join("extra.rules")).unwrap();
    reload(
        "threshold.config",
        "suppress gen_id 1, sig_id 9000001\n",
        "failure",
        2.0,
        shipped + 1.0,
    );
    reload(
        "threshold.config",
        "suppress gen_id 1, sig_id 2200001, track by_src, ip 127.0.0.249\n",
        "success",
        2.0,
        shipped,
    );
    Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    let status = child.wait().unwrap();
    assert!(status.success(), "{status:?}");
}

#[test]
fn devices_are_inventoried_and_listed_versions_flagged() {
    let recs = sensor(
        &[&root().join("pcaps/public/wireshark-samples/aaa.pcap")],
        &[],
    );
    let mut devices: Vec<String> = recs
        .iter()
        .filter(|r| r["event_type"] == "device")
        .map(|r| {
            format!(
                "{} {} {}",
                r["device"]["address"], r["device"]["role"], r["device"]["product"]
            )
        })
        .collect();
    devices.sort();
    assert_eq!(
        devices,
        vec![
            "\"192.168.1.2\" \"user_agent\" \"Nero SIPPS IP Phone Version 2.0.51.16\"",
            "\"200.68.120.81\" \"server\" \"Sip EXpress router (0.8.12 (i386/linux))\"",
            "\"212.242.33.35\" \"server\" \"Cirpack/v4.38e (gw_sip)\"",
        ]
    );
    let flagged = recs
        .iter()
        .filter(|r| r["event_type"] == "alert" && r["alert"]["signature_id"] == 2500001)
        .count();
    assert_eq!(flagged, 3);
}

#[test]
fn voice_traffic_outside_its_networks_and_vlans_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(root().join("rules/sip.rules"), dir.path().join("sip.rules")).unwrap();
    let count = |vars: &str| {
        std::fs::write(dir.path().join("variables.conf"), vars).unwrap();
        let mut m = std::collections::BTreeMap::new();
        let recs = sensor(
            &[&root().join("pcaps/sipp-uac-pcap-g711.pcap")],
            &["--rules", dir.path().to_str().unwrap()],
        );
        for r in recs {
            if r["event_type"] == "alert" && r["alert"]["category"] == "policy" {
                *m.entry(r["alert"]["signature_id"].as_u64().unwrap())
                    .or_insert(0) += 1;
            }
        }
        m
    };
    // The call's addresses (127.0.0.21, .22) are in the voice network: only the VLAN is wrong
    // (the capture has no VLAN tag), once.
    let inside = count("VOICE_NET = [127.0.0.20/30]\nVOICE_VLANS = [100]\n");
    assert_eq!(inside, [(2500004, 1)].into_iter().collect());
    // Outside: SIP from each of the two addresses, RTP from the caller's.
    let outside = count("VOICE_NET = [10.0.0.0/8]\n");
    assert_eq!(outside, [(2500002, 2), (2500003, 1)].into_iter().collect());
}

/// The rules do not depend on the working directory: replaying the attack captures from an
/// empty folder gives the alerts a replay from the repository gives (it used to lose the
/// scanner and toll-fraud alerts, with exit status 0), and the stats record names the folder.
#[test]
fn the_same_alerts_from_any_working_directory() {
    let alerts = |cwd: &std::path::Path| {
        let out = std::process::Command::new(bin())
            .current_dir(cwd)
            .args(["replay", "--quiet", "--eve", "-"])
            .arg(root().join("pcaps/attack"))
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        let recs: Vec<serde_json::Value> = String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let mut ids: Vec<u64> = recs
            .iter()
            .filter(|r| is_attack_alert(r))
            .map(|r| r["alert"]["signature_id"].as_u64().unwrap())
            .collect();
        ids.sort_unstable();
        (ids, stats_of(&recs)["stats"]["rules"].clone())
    };
    let elsewhere = tempfile::tempdir().unwrap();
    let (here, rules_here) = alerts(&root());
    let (there, rules_there) = alerts(elsewhere.path());
    assert!(
        here.contains(&2300022) && here.contains(&2300012),
        "{here:?}"
    );
    assert_eq!(here, there);
    assert_eq!(rules_here, rules_there);
    let want = std::fs::read_to_string(root().join("rules/sip.rules"))
        .unwrap()
        .lines()
        .filter(|l| l.starts_with("alert "))
        .count();
    assert_eq!(rules_there["signatures"], want as u64, "{rules_there}");
    assert!(rules_there["dir"].as_str().unwrap().ends_with("rules"));
}
