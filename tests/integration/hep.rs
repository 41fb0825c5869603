//! HEP inside captures: Kamailio's siptrace copies of the SIP it handled (HEPv3 and HEPv2,
//! `pcaps/hep/`, scripts/make-hep-pcaps.sh) replay to the records the same calls give on the
//! wire, captured at the same time.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::util::*;

/// What does not depend on when the copy reached the collector: each SIP record's message and
/// endpoints, each call's outcome, parties, messages and legs, each alert's signature and
/// endpoints.
fn essence(recs: &[Value]) -> BTreeSet<String> {
    recs.iter()
        .filter_map(|r| {
            let ends = format!(
                "{}:{} > {}:{}",
                r["src_ip"], r["src_port"], r["dest_ip"], r["dest_port"]
            );
            match r["event_type"].as_str()? {
                "sip" => Some(format!(
                    "sip {ends} {} {} {} {}",
                    r["sip"]["call_id"], r["sip"]["method"], r["sip"]["status"], r["sip"]["cseq"]
                )),
                "call" => {
                    let c = &r["call"];
                    Some(format!(
                        "call {ends} {} {} {} {} {} {} {}",
                        c["call_id"],
                        c["outcome"],
                        c["final_status"],
                        c["messages"],
                        c["legs"],
                        c["caller"],
                        c["callee"]
                    ))
                }
                "alert" => Some(format!("alert {ends} {}", r["alert"]["signature_id"])),
                _ => None,
            }
        })
        .collect()
}

#[test]
fn hep_copies_replay_to_the_records_of_the_wire() {
    let dir = root().join("pcaps/hep");
    let wire = essence(&sensor(&[&dir.join("kamailio-wire.pcap")], &[]));
    assert!(
        wire.iter().filter(|l| l.starts_with("call ")).count() == 4,
        "{wire:#?}"
    );
    for f in ["kamailio-hep3.pcap", "kamailio-hep2.pcap"] {
        let recs = sensor(&[&dir.join(f)], &[]);
        assert_eq!(essence(&recs), wire, "{f}");
        let st = stats_of(&recs);
        assert_eq!(
            st["stats"]["capture"]["decode_errors"],
            serde_json::json!({}),
            "{f}"
        );
    }
}

/// Microseconds since midnight of an EVE time ("2026-12-06T12:51:36.370707+0000").
fn day_us(t: &Value) -> i64 {
    let t = t.as_str().unwrap();
    let (h, m, s) = (&t[11..13], &t[14..16], &t[17..26]);
    let s: f64 = s.parse().unwrap();
    (h.parse::<i64>().unwrap() * 3600 + m.parse::<i64>().unwrap() * 60) * 1_000_000
        + (s * 1e6).round() as i64
}

/// The HEPv3 copies carry when Kamailio saw each message: the calls start and end within a
/// few milliseconds of the wire capture made at the same time (not when the copy reached the
/// collector).
#[test]
fn hep_copies_keep_the_agents_time() {
    let dir = root().join("pcaps/hep");
    let calls = |f: &str| -> Vec<(String, i64, i64)> {
        let mut v: Vec<_> = sensor(&[&dir.join(f)], &[])
            .into_iter()
            .filter(|r| r["event_type"] == "call")
            .map(|r| {
                let c = &r["call"];
                (
                    c["call_id"].as_str().unwrap().to_string(),
                    day_us(&c["start"]),
                    day_us(&c["end"]),
                )
            })
            .collect();
        v.sort();
        v
    };
    let (wire, hep) = (calls("kamailio-wire.pcap"), calls("kamailio-hep3.pcap"));
    assert_eq!(wire.len(), 4);
    // the first call starts at its INVITE's HEP time, not when the copy was captured
    let mut f =
        voip_sentinel::capture::savefile::Savefile::open(&dir.join("kamailio-hep3.pcap")).unwrap();
    let first = f.next().unwrap().unwrap();
    let udp = &first.data[14 + 20 + 8..];
    let (s, us) = voip_sentinel::decode::hep::parse(udp).unwrap().ts.unwrap();
    let day = |secs: u64, us: u64| ((secs % 86_400) * 1_000_000 + us) as i64;
    let agent = day(u64::from(s), u64::from(us));
    let arrival = day(
        first.ts.0 / 1_000_000_000,
        first.ts.0 % 1_000_000_000 / 1_000,
    );
    assert_ne!(agent, arrival, "the capture should show the copy's delay");
    assert_eq!(hep.iter().map(|c| c.1).min(), Some(agent));
    for (w, h) in wire.iter().zip(&hep) {
        assert_eq!(w.0, h.0);
        assert!(
            (w.1 - h.1).abs() < 5_000 && (w.2 - h.2).abs() < 5_000,
            "{w:?} vs {h:?}"
        );
    }
}
