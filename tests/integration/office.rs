//! Ordinary office traffic: what a PBX that authenticates its phones looks like on the wire, and
//! what the sensor must make of it.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::util::*;

/// Call-IDs of the SIP messages tshark finds with `filter`.
fn tshark_call_ids_where(pcap: &Path, filter: &str) -> BTreeSet<String> {
    let out = Command::new("tshark")
        .args(["-n", "-r"])
        .arg(pcap)
        .args(["-Y", filter, "-T", "fields", "-e", "sip.Call-ID"])
        .output()
        .expect("tshark");
    assert!(out.status.success(), "tshark: {out:?}");
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

/// kamailio challenges every INVITE with 407; the phone ACKs and sends it again with
/// credentials, and the call is answered, talked and hung up (five calls), or refused with 403
/// for a wrong password (one). Each is one call record with the outcome of its authenticated
/// attempt, and the plaintext G.711 of every answered call is reported.
#[test]
fn calls_challenged_with_407_are_one_call_each_with_their_voice_reported() {
    let pcap = root().join("pcaps/kamailio-auth-calls.pcap");
    let recs = sensor(&[&pcap], &[]);
    let calls: Vec<&Value> = recs.iter().filter(|r| r["event_type"] == "call").collect();

    let challenged = tshark_call_ids_where(&pcap, "sip.Status-Code == 407");
    let hung_up = tshark_call_ids_where(
        &pcap,
        "sip.CSeq.method == \"BYE\" && sip.Status-Code == 200",
    );
    let refused = tshark_call_ids_where(&pcap, "sip.Status-Code == 403");
    assert_eq!((challenged.len(), hung_up.len(), refused.len()), (6, 5, 1));

    let ids: BTreeSet<String> = calls
        .iter()
        .map(|c| c["call"]["call_id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(calls.len(), 6, "one record per call: {calls:?}");
    assert_eq!(ids, challenged);
    for c in &calls {
        let call = &c["call"];
        let id = call["call_id"].as_str().unwrap();
        assert_eq!(call["auth"]["challenged"], 407, "{c}");
        assert_eq!(call["auth"]["challenges"], 1, "{c}");
        assert_eq!(call["auth"]["realm"], "office.example", "{c}");
        if hung_up.contains(id) {
            assert_eq!(call["outcome"], "answered", "{c}");
            assert_eq!(call["final_status"], 200, "{c}");
            assert_eq!(call["end_reason"], "bye", "{c}");
            assert_eq!(call["auth"]["username"], "alice", "{c}");
            assert!(
                (call["duration"].as_f64().unwrap() - 7.5).abs() < 0.05,
                "{c}"
            );
            assert_eq!(call["media"].as_array().map(Vec::len), Some(2), "{c}");
            assert_eq!(call["encryption"]["media_wire"], "plaintext", "{c}");
        } else {
            assert!(refused.contains(id));
            assert_eq!(call["outcome"], "failed", "{c}");
            assert_eq!(call["final_status"], 403, "{c}");
            assert_eq!(call["auth"]["username"], "bob", "{c}");
        }
    }
    let stats = stats_of(&recs);
    assert_eq!(stats["stats"]["calls"]["answered"], 5, "{stats}");
    assert_eq!(stats["stats"]["calls"]["failed"], 1, "{stats}");

    // Every stream belongs to its call; the voice of each answered call is one alert.
    let rtp: Vec<&Value> = recs.iter().filter(|r| r["event_type"] == "rtp").collect();
    assert_eq!(rtp.len(), 10);
    assert!(rtp
        .iter()
        .all(|r| hung_up.contains(r["rtp"]["call_id"].as_str().unwrap_or(""))));
    let mut alerts: Vec<(u64, String)> = recs
        .iter()
        .filter(|r| is_attack_alert(r))
        .map(|r| {
            (
                r["alert"]["signature_id"].as_u64().unwrap(),
                r["call"]["call_id"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    alerts.sort();
    let mut want: Vec<(u64, String)> = vec![(2100003, "auth-call-1@127.0.0.41".into())];
    want.extend(hung_up.iter().map(|id| (2100001, id.clone())));
    want.sort();
    assert_eq!(
        alerts, want,
        "plaintext signalling once, plaintext voice per answered call"
    );
}
