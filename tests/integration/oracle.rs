//! tshark is the oracle: SIP message counts by method and status code, and Call-IDs.

use std::collections::{BTreeMap, BTreeSet};

use crate::util::*;

#[test]
fn sip_counts_and_call_ids_equal_tshark_on_every_capture() {
    let mut failures = Vec::new();
    let caps = captures();
    for cap in &caps {
        if oracle_exempt(cap).is_some() {
            continue;
        }
        let recs = sensor(&[cap], &[]);
        let st = &stats_of(&recs)["stats"]["sip"];
        let ours = SipStat {
            requests: st["requests"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| {
                    (
                        r["method"].as_str().unwrap().to_string(),
                        r["count"].as_u64().unwrap(),
                    )
                })
                .collect(),
            responses: serde_json::from_value::<BTreeMap<String, u64>>(st["responses"].clone())
                .unwrap()
                .into_iter()
                .map(|(k, v)| (k.parse().unwrap(), v))
                .collect(),
        };
        let theirs = tshark_sip_stat(cap);
        if ours != theirs {
            failures.push(format!(
                "{}: sip,stat differs\n  ours:   {:?}\n  tshark: {:?}",
                rel(cap),
                ours,
                theirs
            ));
        }
        let our_ids: BTreeSet<String> = recs
            .iter()
            .filter(|r| r["event_type"] == "sip")
            .filter_map(|r| r["sip"]["call_id"].as_str().map(str::to_string))
            // An empty Call-ID header (detect/sip-empty-fields.pcap) is recorded as "";
            // tshark prints no value for it.
            .filter(|id| !id.is_empty())
            .collect();
        // Every Call-ID tshark reads in a well-formed message is ours, and every one of ours
        // is one tshark reads (in a message it may call malformed: truncated or mangled).
        let whole = tshark_call_ids(cap, true);
        let all = tshark_call_ids(cap, false);
        let missing: Vec<_> = whole.difference(&our_ids).take(5).collect();
        let extra: Vec<_> = our_ids.difference(&all).take(5).collect();
        if !missing.is_empty() || !extra.is_empty() {
            failures.push(format!(
                "{}: Call-IDs differ ({} ours, tshark {} in whole messages, {} in all); missing {:?}, extra {:?}",
                rel(cap),
                our_ids.len(),
                whole.len(),
                all.len(),
                missing,
                extra
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} captures disagree with tshark:\n{}",
        failures.len(),
        caps.len(),
        failures.join("\n")
    );
}
