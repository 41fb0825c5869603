//! Suricata's own SIP tests, run on the sensor: every `sip-*` test of suricata-verify
//! (`tests/fixtures/suricata-verify/<test>/`: its `test.yaml` and `test.rules` unmodified, the
//! captures in `pcaps/public/suricata-verify/`), read and checked as suricata-verify's runner
//! does: each `filter` counts the records whose fields equal every `match` value and must find
//! exactly `count`.
//!
//! The sensor runs the test's rules alone (`--rules test.rules`, as `suricata -S`); its
//! behavioural detectors still run, so alert records are those of the test's sids. Checks on
//! what the sensor does not write yet are listed in [`GAPS`], each with its reason: the test
//! fails when one of them starts to pass (so the list shrinks as the work lands) as when any
//! other check fails.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::util::{root, sensor};

/// Why a check cannot pass yet (issue 15, the slices after the rule language).
const NO_RULES: &str =
    "suricata-verify ships this test's rules inside its own tree, not as test.rules";
const SIP_RECORDS: &str =
    "sip records are one per transaction (the request with its final response); Suricata writes one per message";

/// (test, index of the check in its `checks` list, why it cannot pass yet).
const GAPS: &[(&str, usize, &str)] = &[
    ("sip-body-frames", 0, SIP_RECORDS),
    ("sip-body-frames", 1, NO_RULES),
    ("sip-body-frames", 2, NO_RULES),
    ("sip-body-frames", 3, NO_RULES),
    ("sip-body-frames", 4, NO_RULES),
    ("sip-body-frames", 5, NO_RULES),
    ("sip-body-frames", 6, NO_RULES),
    ("sip-body-frames", 7, NO_RULES),
    ("sip-body-frames", 8, NO_RULES),
    ("sip-options-method", 1, SIP_RECORDS),
    ("sip-tcp-body-frames", 0, SIP_RECORDS),
    ("sip-tcp-method", 1, SIP_RECORDS),
    ("sip-tcp-protocol", 3, SIP_RECORDS),
    ("sip-tcp-request-line", 1, SIP_RECORDS),
    ("sip-tcp-response-line", 1, SIP_RECORDS),
    ("sip-tcp-stat-code", 1, SIP_RECORDS),
    ("sip-tcp-stat-msg", 1, SIP_RECORDS),
    ("sip-tcp-uri", 1, SIP_RECORDS),
];

fn fixtures() -> PathBuf {
    root().join("tests/fixtures/suricata-verify")
}

/// The capture a test reads: its `pcap:` (relative to its own folder), else the one capture of
/// its folder.
fn capture_of(test: &str, yaml: &serde_yaml::Value) -> PathBuf {
    let caps = root().join("pcaps/public/suricata-verify");
    match yaml.get("pcap").and_then(|p| p.as_str()) {
        Some(p) => match p.strip_prefix("../") {
            Some(other) => caps.join(other),
            None => caps.join(test).join(p),
        },
        None => {
            let dir = caps.join(test);
            let mut found: Vec<PathBuf> = std::fs::read_dir(&dir)
                .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
                .map(|e| e.unwrap().path())
                .filter(|p| p.extension().is_some_and(|e| e == "pcap" || e == "pcapng"))
                .collect();
            assert_eq!(found.len(), 1, "{test}: one capture in {}", dir.display());
            found.remove(0)
        }
    }
}

/// The value at a suricata-verify path: dotted keys, `[N]` indexes.
fn at<'v>(v: &'v Value, path: &str) -> Option<&'v Value> {
    let mut cur = v;
    for part in path.split('.') {
        let (key, idx) = match part.find('[') {
            Some(i) => (&part[..i], Some(&part[i..])),
            None => (part, None),
        };
        cur = cur.get(key)?;
        if let Some(mut idx) = idx {
            while let Some(rest) = idx.strip_prefix('[') {
                let (n, after) = rest.split_once(']')?;
                cur = cur.get(n.parse::<usize>().ok()?)?;
                idx = after;
            }
        }
    }
    Some(cur)
}

/// YAML scalar equals JSON value as suricata-verify compares them (numbers and strings by text).
fn equal(want: &serde_yaml::Value, got: &Value) -> bool {
    let w = match want {
        serde_yaml::Value::String(s) => s.clone(),
        serde_yaml::Value::Number(n) => n.to_string(),
        serde_yaml::Value::Bool(b) => b.to_string(),
        _ => return false,
    };
    match got {
        Value::String(s) => *s == w,
        Value::Number(n) => n.to_string() == w,
        Value::Bool(b) => b.to_string() == w,
        _ => false,
    }
}

/// The sids of a rules file.
fn sids(rules: &Path) -> BTreeSet<u64> {
    let text = std::fs::read_to_string(rules).unwrap();
    text.split("sid:")
        .skip(1)
        .filter_map(|s| {
            s.chars()
                .take_while(char::is_ascii_digit)
                .collect::<String>()
                .parse()
                .ok()
        })
        .collect()
}

/// One check's outcome: (test, index, what it wanted, the count found, passed).
type Outcome = (String, usize, String, usize, bool);

fn run_test(test: &str) -> Vec<Outcome> {
    let dir = fixtures().join(test);
    let yaml: serde_yaml::Value =
        serde_yaml::from_str(&std::fs::read_to_string(dir.join("test.yaml")).unwrap()).unwrap();
    let cap = capture_of(test, &yaml);
    let rules = dir.join("test.rules");
    let (records, test_sids) = if rules.is_file() {
        let r = rules.display().to_string();
        (sensor(&[&cap], &["--rules", &r]), sids(&rules))
    } else {
        (sensor(&[&cap], &[]), BTreeSet::new())
    };
    // Alerts of the test's own rules: the sensor's detectors are not Suricata's.
    let records: Vec<&Value> = records
        .iter()
        .filter(|r| {
            r["event_type"] != "alert"
                || r["alert"]["signature_id"]
                    .as_u64()
                    .is_some_and(|s| test_sids.contains(&s))
        })
        .collect();
    let checks = yaml
        .get("checks")
        .and_then(|c| c.as_sequence())
        .cloned()
        .unwrap_or_default();
    let mut out = Vec::new();
    for (i, c) in checks.iter().enumerate() {
        let Some(f) = c.get("filter") else {
            continue;
        };
        let want = f.get("count").and_then(|n| n.as_u64()).unwrap_or(0) as usize;
        let matchers: Vec<(String, serde_yaml::Value)> = f
            .get("match")
            .and_then(|m| m.as_mapping())
            .map(|m| {
                m.iter()
                    .map(|(k, v)| (k.as_str().unwrap().to_string(), v.clone()))
                    .collect()
            })
            .unwrap_or_default();
        let found = records
            .iter()
            .filter(|r| {
                matchers
                    .iter()
                    .all(|(k, v)| at(r, k).is_some_and(|g| equal(v, g)))
            })
            .count();
        let desc = format!(
            "count {want} of {}",
            matchers
                .iter()
                .map(|(k, v)| format!("{k}={}", serde_yaml::to_string(v).unwrap().trim()))
                .collect::<Vec<_>>()
                .join(", ")
        );
        out.push((test.to_string(), i, desc, found, found == want));
    }
    out
}

#[test]
fn suricata_verify_sip_tests_pass() {
    let mut tests: Vec<String> = std::fs::read_dir(fixtures())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("sip-"))
        .collect();
    tests.sort();
    assert!(tests.len() >= 25, "{} suricata-verify tests", tests.len());
    let mut problems = Vec::new();
    let mut passed = 0;
    for t in &tests {
        for (test, i, desc, found, ok) in run_test(t) {
            let gap = GAPS.iter().find(|g| g.0 == test && g.1 == i);
            match (ok, gap) {
                (true, None) => passed += 1,
                (false, Some(_)) => {}
                (true, Some(g)) => problems.push(format!(
                    "{test} check {i} ({desc}) passes now: take it off GAPS ({})",
                    g.2
                )),
                (false, None) => problems.push(format!("{test} check {i}: {desc}, found {found}")),
            }
        }
    }
    assert!(passed >= 74, "{passed} checks passed");
    assert!(
        problems.is_empty(),
        "{} checks passed; problems:\n{}",
        passed,
        problems.join("\n")
    );
}

/// Flow records agree with tshark's conversations (`-z conv,udp` and `conv,tcp`): the frames
/// of every conversation in each direction, on captures of UDP and TCP SIP and RTP.
#[test]
fn flow_records_agree_with_tsharks_conversations() {
    for rel_path in [
        "sipp-uac-pcap-g711.pcap",
        "sipp-tcp-calls.pcap",
        "kamailio-auth-calls.pcap",
        "public/suricata-verify/sip-method/sip.pcap",
    ] {
        let cap = root().join("pcaps").join(rel_path);
        // (proto, from endpoint, to endpoint) -> frames that way.
        let mut want = std::collections::BTreeMap::new();
        let add = |map: &mut std::collections::BTreeMap<_, u64>, key, n: u64| {
            if n > 0 {
                *map.entry(key).or_insert(0) += n;
            }
        };
        for proto in ["udp", "tcp"] {
            let out = std::process::Command::new("tshark")
                .args(["-n", "-q", "-z", &format!("conv,{proto}"), "-r"])
                .arg(&cap)
                .output()
                .expect("tshark");
            for line in String::from_utf8_lossy(&out.stdout).lines() {
                let f: Vec<&str> = line.split_whitespace().collect();
                if f.len() < 6 || f[1] != "<->" {
                    continue;
                }
                // A <-> B  frames(B to A) bytes unit  frames(A to B) bytes unit ...
                let (a, b) = (f[0].to_string(), f[2].to_string());
                let back: u64 = f[3].parse().unwrap();
                let fwd: u64 = f[6].parse().unwrap();
                // TShark lists the two directions of some RTP flows as two conversations
                // (each set up by its own SDP): one flow for the sensor, as for Suricata.
                let p = proto.to_uppercase();
                add(&mut want, (p.clone(), a.clone(), b.clone()), fwd);
                add(&mut want, (p, b, a), back);
            }
        }
        let mut got = std::collections::BTreeMap::new();
        for r in sensor(&[&cap], &[]) {
            if r["event_type"] != "flow" {
                continue;
            }
            let ep = |ip: &Value, port: &Value| format!("{}:{}", ip.as_str().unwrap(), port);
            let (a, b) = (
                ep(&r["src_ip"], &r["src_port"]),
                ep(&r["dest_ip"], &r["dest_port"]),
            );
            let proto = r["proto"].as_str().unwrap().to_string();
            // A conversation idle past its flow timeout (NetBIOS broadcasts every few minutes
            // in sip.pcap) is several flows: their frames add up to TShark's conversation.
            let n = |k: &str| r["flow"][k].as_u64().unwrap();
            add(
                &mut got,
                (proto.clone(), a.clone(), b.clone()),
                n("pkts_toserver"),
            );
            add(&mut got, (proto, b, a), n("pkts_toclient"));
        }
        assert!(!want.is_empty(), "{rel_path}: tshark found no conversation");
        assert_eq!(got, want, "{rel_path}");
    }
}

/// Records name the savefile their packet was read from, as Suricata's `pcap_filename`: the
/// path as given, each file's own in a replay of several.
#[test]
fn records_name_their_savefile() {
    let a = root().join("pcaps/sipp-tcp-calls.pcap");
    let b = root().join("pcaps/attack/toll-fraud.pcap");
    let recs = sensor(&[&a, &b], &[]);
    let named = |path: &std::path::Path, kind: &str| {
        recs.iter()
            .filter(|r| r["event_type"] == kind)
            .filter(|r| r["pcap_filename"] == path.display().to_string())
            .count()
    };
    // sipp-tcp-calls: 9 transactions over one TCP flow; toll-fraud's are all UDP.
    assert_eq!(named(&a, "sip"), 9);
    assert_eq!(named(&a, "flow"), 1);
    // toll-fraud's records in the two-file run are those of its own run, each named.
    let alone = sensor(&[&b], &[]);
    for kind in ["sip", "alert", "flow"] {
        let want = alone.iter().filter(|r| r["event_type"] == kind).count();
        assert!(want > 0, "{kind}");
        assert_eq!(named(&b, kind), want, "{kind}");
    }
    let unnamed: Vec<&Value> = recs
        .iter()
        .filter(|r| ["sip", "alert", "flow", "tls"].contains(&r["event_type"].as_str().unwrap()))
        .filter(|r| r["pcap_filename"].is_null())
        .collect();
    // Only alerts decided without a packet (at a timeout) have none.
    assert!(
        unnamed
            .iter()
            .all(|r| r["event_type"] == "alert" && r["pcap_cnt"].is_null()),
        "{unnamed:#?}"
    );
}

/// Alerts decided on a SIP message carry its transaction's `tx_id`, numbered from 0 in each
/// flow as Suricata numbers them, so an alert joins its `sip` record on (flow_id, tx_id).
#[test]
fn sip_alerts_join_their_transaction_by_tx_id() {
    let cap = root().join("pcaps/attack/register-bruteforce.pcap");
    let recs = sensor(&[&cap], &[]);
    let key = |r: &Value| (r["flow_id"].as_u64().unwrap(), r["tx_id"].as_u64());
    let sip: std::collections::BTreeSet<(u64, Option<u64>)> = recs
        .iter()
        .filter(|r| r["event_type"] == "sip")
        .map(key)
        .collect();
    // Numbered from 0 in each flow, without a gap.
    let mut per_flow: std::collections::BTreeMap<u64, Vec<u64>> = Default::default();
    for (flow, id) in &sip {
        per_flow
            .entry(*flow)
            .or_default()
            .push(id.expect("every sip record has a tx_id"));
    }
    for ids in per_flow.values() {
        assert_eq!(*ids, (0..ids.len() as u64).collect::<Vec<_>>());
    }
    let alerts: Vec<&Value> = recs
        .iter()
        .filter(|r| r["event_type"] == "alert" && !r["pcap_cnt"].is_null())
        .collect();
    assert!(alerts.len() >= 4, "{} alerts", alerts.len());
    for a in alerts {
        assert!(sip.contains(&key(a)), "alert without its transaction: {a}");
    }
}
