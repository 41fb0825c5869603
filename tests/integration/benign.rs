//! Ordinary office traffic (`pcaps/benign/`, made by `scripts/make-benign-pcaps.sh` with real
//! SIP stacks): the call records agree with tshark, and nothing outside the eavesdropping
//! category is raised, each capture run with its site profile (`NAME.rules/` beside it, as its
//! operator would set it: the call centre's UK dialling context and channel count).

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use crate::util::*;

fn benign() -> Vec<std::path::PathBuf> {
    captures()
        .into_iter()
        .filter(|p| rel(p).starts_with("benign/"))
        .collect()
}

#[test]
fn benign_captures_raise_no_attack_alert() {
    let files = benign();
    assert_eq!(files.len(), 2, "{files:?}");
    let mut got: BTreeMap<(String, u32), usize> = BTreeMap::new();
    for f in &files {
        for r in sensor_at_site(f) {
            if is_attack_alert(&r) && r["alert"]["category"] != "eavesdropping" {
                let sid = r["alert"]["signature_id"].as_u64().unwrap() as u32;
                *got.entry((rel(f), sid)).or_default() += 1;
            }
        }
    }
    assert_eq!(got, BTreeMap::new(), "false alarms on benign captures");
}

/// The call centre's site profile is what keeps it quiet, and each of its settings is needed:
/// under the shipped rules its UK national numbers 0113-0118 read as 011 (the NANP's
/// international prefix) + a country, and each dialler's 50 calls up at once exceed the 10 of
/// an office phone.
#[test]
fn the_call_centre_needs_its_dialling_context_and_channel_count() {
    let cap = root().join("pcaps/benign/call-centre.pcap");
    let mut by_sig: BTreeMap<u64, Vec<String>> = BTreeMap::new();
    for r in sensor(&[&cap], &[]) {
        if is_attack_alert(&r) && r["alert"]["category"] != "eavesdropping" {
            let sid = r["alert"]["signature_id"].as_u64().unwrap();
            by_sig
                .entry(sid)
                .or_default()
                .push(r["alert"]["source"]["ip"].as_str().unwrap().to_string());
        }
    }
    let diallers = ["127.0.0.103", "127.0.0.104", "127.0.0.105"];
    // premium (UK 09 read from 0114 9...), international calls per account and per source,
    // concurrent calls per account and per source: each dialler, twice (first and onward).
    assert_eq!(
        by_sig.keys().copied().collect::<Vec<_>>(),
        [2_300_021, 2_300_023, 2_300_024, 2_300_025, 2_300_026]
    );
    for (sid, sources) in &by_sig {
        for d in diallers {
            assert!(sources.iter().any(|s| s == d), "{sid}: {sources:?}");
        }
        assert!(
            sources.iter().all(|s| diallers.contains(&s.as_str())),
            "{sid}: {sources:?}"
        );
    }
}

/// Outcome of each call as tshark sees it: the final responses to the INVITEs of each Call-ID
/// (a 200 answered it; else a 487 cancelled it; else it failed; 401/407 challenges followed by
/// another final response do not decide it).
fn tshark_outcomes(pcap: &Path) -> BTreeMap<String, usize> {
    let out = Command::new("tshark")
        .arg("-n")
        .arg("-r")
        .arg(pcap)
        .args([
            "-Y",
            "sip.CSeq.method == \"INVITE\" && sip.Status-Code >= 200",
            "-T",
            "fields",
            "-e",
            "sip.Call-ID",
            "-e",
            "sip.Status-Code",
        ])
        .output()
        .expect("run tshark");
    let mut finals: BTreeMap<String, Vec<u16>> = BTreeMap::new();
    for l in String::from_utf8_lossy(&out.stdout).lines() {
        let mut f = l.split('\t');
        let (Some(id), Some(code)) = (f.next(), f.next()) else {
            continue;
        };
        finals
            .entry(id.to_string())
            .or_default()
            .push(code.parse().unwrap());
    }
    let mut outcomes = BTreeMap::new();
    for codes in finals.values() {
        let outcome = if codes.contains(&200) {
            "answered"
        } else if codes.contains(&487) {
            "cancelled"
        } else {
            "failed"
        };
        *outcomes.entry(outcome.to_string()).or_default() += 1;
    }
    outcomes
}

#[test]
fn benign_calls_and_outcomes_agree_with_tshark() {
    for f in benign() {
        let mut got: BTreeMap<String, usize> = BTreeMap::new();
        let mut challenged = 0;
        for r in sensor_at_site(&f) {
            if r["event_type"] == "call" {
                *got.entry(r["call"]["outcome"].as_str().unwrap().to_string())
                    .or_default() += 1;
                if r["call"]["auth"]["challenged"].is_u64() {
                    challenged += 1;
                }
            }
        }
        let want = tshark_outcomes(&f);
        assert_eq!(got, want, "{}", rel(&f));
        assert!(want.values().sum::<usize>() >= 50, "{}: {want:?}", rel(&f));
        // Every call through the authenticating PBX was challenged (office: all but the 3
        // incoming from the trusted carrier; call centre: all).
        let expected = if rel(&f).contains("office") { 47 } else { 600 };
        assert_eq!(challenged, expected, "{}", rel(&f));
    }
}

/// Per Call-ID, as tshark reads the capture: seconds from the first 2xx to an INVITE to the
/// first BYE (answered calls), and the distinct hops of the initial INVITE.
fn tshark_durations_and_legs(pcap: &Path) -> BTreeMap<String, (Option<f64>, usize)> {
    let out = Command::new("tshark")
        .arg("-n")
        .arg("-r")
        .arg(pcap)
        .args(["-Y", "sip", "-T", "fields", "-E", "separator=\t"])
        .args([
            "-e",
            "frame.time_epoch",
            "-e",
            "sip.Call-ID",
            "-e",
            "sip.Method",
        ])
        .args([
            "-e",
            "sip.CSeq.method",
            "-e",
            "sip.Status-Code",
            "-e",
            "sip.to.tag",
        ])
        .args([
            "-e",
            "ip.src",
            "-e",
            "udp.srcport",
            "-e",
            "ip.dst",
            "-e",
            "udp.dstport",
        ])
        .output()
        .expect("run tshark");
    #[derive(Default)]
    struct Call {
        answer: Option<f64>,
        bye: Option<f64>,
        legs: Vec<String>,
    }
    let mut calls: BTreeMap<String, Call> = BTreeMap::new();
    for l in String::from_utf8_lossy(&out.stdout).lines() {
        let f: Vec<&str> = l.split('\t').collect();
        let [t, id, method, cseq_method, status, to_tag, src, sport, dst, dport] = f[..] else {
            continue;
        };
        let t: f64 = t.parse().unwrap();
        let c = calls.entry(id.to_string()).or_default();
        match (method, status) {
            ("INVITE", _) if to_tag.is_empty() => {
                let leg = format!("{src}:{sport}>{dst}:{dport}");
                if !c.legs.contains(&leg) {
                    c.legs.push(leg);
                }
            }
            ("BYE", _) if c.bye.is_none() => c.bye = Some(t),
            ("", s) if cseq_method == "INVITE" && s.starts_with('2') && c.answer.is_none() => {
                c.answer = Some(t)
            }
            _ => {}
        }
    }
    calls
        .into_iter()
        .filter(|(_, c)| !c.legs.is_empty())
        .map(|(id, c)| {
            let dur = match (c.answer, c.bye) {
                (Some(a), Some(b)) => Some(b - a),
                _ => None,
            };
            (id, (dur, c.legs.len()))
        })
        .collect()
}

/// Each call's duration (answer to first BYE) and its legs (the hops of the INVITE through
/// the proxies) as tshark reads them.
#[test]
fn benign_call_durations_and_legs_agree_with_tshark() {
    for f in benign() {
        let want = tshark_durations_and_legs(&f);
        let mut seen = 0;
        for r in sensor_at_site(&f) {
            if r["event_type"] != "call" {
                continue;
            }
            let c = &r["call"];
            let id = c["call_id"].as_str().unwrap();
            let (dur, legs) = want[id];
            seen += 1;
            let got_legs = c["legs"].as_array().map_or(1, Vec::len);
            assert_eq!(got_legs, legs, "{}: {id}: legs {}", rel(&f), c["legs"]);
            let got = c["duration"].as_f64().unwrap();
            match (c["outcome"].as_str().unwrap(), dur) {
                ("answered", Some(d)) => {
                    assert!((got - d).abs() < 2e-6, "{}: {id}: {got} vs {d}", rel(&f))
                }
                (outcome, _) => assert_eq!(got, 0.0, "{}: {id}: {outcome}", rel(&f)),
            }
        }
        assert_eq!(seen, want.len(), "{}", rel(&f));
    }
}

/// A forking proxy (`pcaps/kamailio-forking.pcap`: Kamailio ringing two phones at once, or a
/// phone then voicemail): each call is one record with its three legs, and its outcome and
/// final status are what the caller was told (the last final response to an INVITE sent to the
/// address the first INVITE came from), as tshark reads it; a busy branch, a branch cancelled
/// by the proxy or a branch's 487 before voicemail answers do not decide it.
#[test]
fn a_forking_proxys_calls_are_decided_by_what_the_caller_is_told() {
    let cap = root().join("pcaps/kamailio-forking.pcap");
    let out = Command::new("tshark")
        .args(["-n", "-r"])
        .arg(&cap)
        .args(["-Y", "sip", "-T", "fields", "-E", "separator=\t"])
        .args([
            "-e",
            "sip.Call-ID",
            "-e",
            "sip.Method",
            "-e",
            "sip.Status-Code",
        ])
        .args(["-e", "sip.CSeq.method", "-e", "ip.src", "-e", "ip.dst"])
        .output()
        .expect("run tshark");
    let mut caller: BTreeMap<String, String> = BTreeMap::new();
    let mut told: BTreeMap<String, u16> = BTreeMap::new();
    for l in String::from_utf8_lossy(&out.stdout).lines() {
        let f: Vec<&str> = l.split('\t').collect();
        let [id, method, status, cseq_method, src, dst] = f[..] else {
            continue;
        };
        if method == "INVITE" {
            caller.entry(id.to_string()).or_insert(src.to_string());
        }
        let code: u16 = status.parse().unwrap_or(0);
        if code >= 200 && cseq_method == "INVITE" && caller.get(id).is_some_and(|c| c == dst) {
            told.insert(id.to_string(), code);
        }
    }
    let want: BTreeMap<String, (String, u16)> = told
        .into_iter()
        .map(|(id, code)| {
            let outcome = match code {
                200..=299 => "answered",
                487 => "cancelled",
                _ => "failed",
            };
            (id, (outcome.to_string(), code))
        })
        .collect();
    assert_eq!(want.len(), 5, "{want:?}");
    let legs = tshark_durations_and_legs(&cap);
    let mut got = BTreeMap::new();
    for r in sensor(&[&cap], &[]) {
        if r["event_type"] == "call" {
            let c = &r["call"];
            let id = c["call_id"].as_str().unwrap().to_string();
            assert_eq!(
                c["legs"].as_array().map_or(1, Vec::len),
                legs[&id].1,
                "{id}"
            );
            let outcome = c["outcome"].as_str().unwrap().to_string();
            got.insert(id, (outcome, c["final_status"].as_u64().unwrap() as u16));
        }
    }
    assert_eq!(got, want);
}
