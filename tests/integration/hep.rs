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
