//! `threshold.config`: suppress and threshold lines (Suricata's format) change what a real
//! capture raises, exactly, and what they hold back is counted in the stats record; bad lines
//! are refused with file, line and column.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::util::*;

/// svwar (SIPVicious) registering 42 extensions at kamailio: 127.0.0.1 -> 127.0.0.10.
const SVWAR: &str = "pcaps/public/sipvicious/svwar-register.pcap";

/// A copy of rules/ with this threshold.config.
fn rules_with_tuning(text: &str) -> tempfile::TempDir {
    let dir = rules_copy();
    std::fs::write(dir.path().join("threshold.config"), text).unwrap();
    dir
}

struct Run {
    /// Alerts by signature id.
    alerts: BTreeMap<u64, usize>,
    /// `evidence.matches_in_window` of each alert of 2200001, in order.
    ua_matches: Vec<u64>,
    suppressed: Value,
    thresholded: Value,
}

fn run(tuning: &str) -> Run {
    let rules = rules_with_tuning(tuning);
    let recs = sensor(
        &[&root().join(SVWAR)],
        &["--rules", rules.path().to_str().unwrap()],
    );
    let mut alerts = BTreeMap::new();
    let mut ua_matches = Vec::new();
    for r in &recs {
        if is_attack_alert(r) {
            let id = r["alert"]["signature_id"].as_u64().unwrap();
            *alerts.entry(id).or_insert(0) += 1;
            if id == 2_200_001 {
                ua_matches.push(r["evidence"]["matches_in_window"].as_u64().unwrap());
            }
        }
    }
    let stats = recs
        .iter()
        .find(|r| r["event_type"] == "stats")
        .expect("a stats record");
    Run {
        alerts,
        ua_matches,
        suppressed: stats["stats"]["sip"]["alerts_suppressed"].clone(),
        thresholded: stats["stats"]["sip"]["alerts_thresholded"].clone(),
    }
}

fn map(pairs: &[(u64, usize)]) -> BTreeMap<u64, usize> {
    pairs.iter().copied().collect()
}

#[test]
fn suppress_lines_silence_a_signature_an_address_or_everything() {
    // Untuned: the friendly-scanner User-Agent (its rule limits it to one per source), the
    // svwar From-tag, and the scanner's REGISTER flood (all methods, and REGISTER).
    let all = map(&[(2200001, 1), (2300004, 1), (2300005, 2)]);
    let r = run("# nothing tuned\n");
    assert_eq!(r.alerts, all);
    assert_eq!(r.suppressed, serde_json::json!({}));

    let r = run("suppress gen_id 1, sig_id 2200001\n");
    assert_eq!(r.alerts, map(&[(2300004, 1), (2300005, 2)]));
    assert_eq!(r.suppressed, serde_json::json!({"2200001": 1}));

    // By source: the scanner is 127.0.0.1.
    let r = run("suppress gen_id 1, sig_id 2300005, track by_src, ip 127.0.0.0/30\n");
    assert_eq!(r.alerts, map(&[(2200001, 1), (2300004, 1)]));
    assert_eq!(r.suppressed, serde_json::json!({"2300005": 2}));

    // By destination with the scanner's address: nothing matches.
    let r = run("suppress gen_id 1, sig_id 2300005, track by_dst, ip 127.0.0.1\n");
    assert_eq!(r.alerts, all);

    // Everything that involves the registrar, through a list with a negation.
    let r = run("suppress gen_id 0, sig_id 0, track by_either, ip [127.0.0.0/24, !127.0.0.1]\n");
    assert_eq!(r.alerts, map(&[]));
    // (The registrar's open registration, a posture finding, too.)
    assert_eq!(
        r.suppressed,
        serde_json::json!({"2200001": 1, "2300004": 1, "2300005": 2, "2600001": 1})
    );
}

#[test]
fn threshold_lines_replace_a_rules_threshold_and_filter_built_in_ones() {
    // 42 REGISTERs carry "User-Agent: friendly-scanner"; the rule's own threshold is limit 1.
    let r =
        run("threshold gen_id 1, sig_id 2200001, type limit, track by_src, count 3, seconds 300\n");
    assert_eq!(r.alerts[&2200001], 3);
    assert_eq!(r.ua_matches, [1, 2, 3]);

    // Every 10th match: 10, 20, 30, 40.
    let r = run(
        "event_filter gen_id 1, sig_id 2200001, type threshold, track by_both, count 10, seconds 3600\n",
    );
    assert_eq!(r.ua_matches, [10, 20, 30, 40]);

    // Once, when the 42nd match is reached... never reached 43: no alert.
    let r = run(
        "threshold gen_id 1, sig_id 2200001, type both, track by_dst, count 43, seconds 3600\n",
    );
    assert_eq!(r.alerts.get(&2200001), None);

    // A built-in signature: its two flood alerts, limited to one per rule.
    let r =
        run("threshold gen_id 1, sig_id 2300005, type limit, track by_rule, count 1, seconds 60\n");
    assert_eq!(r.alerts, map(&[(2200001, 1), (2300004, 1), (2300005, 1)]));
    assert_eq!(r.thresholded, serde_json::json!({"2300005": 1}));

    // The global line applies to every signature without a line of its own.
    let r = run(
        "threshold gen_id 0, sig_id 0, type limit, track by_src, count 1, seconds 60\n\
         threshold gen_id 1, sig_id 2200001, type limit, track by_src, count 2, seconds 300\n",
    );
    assert_eq!(r.alerts, map(&[(2200001, 2), (2300004, 1), (2300005, 1)]));
}

#[test]
fn bad_tuning_and_rules_that_take_a_built_in_id_are_refused() {
    let dir = rules_with_tuning(
        "suppress gen_id 1, sig_id 2200001\n\
         suppress gen_id 1, sig_id 2299999\n\
         threshold gen_id 1, sig_id 2300005, type limit, track by_src, count 1\n",
    );
    std::fs::write(
        dir.path().join("local.rules"),
        "alert sip any any -> any any (msg:\"mine\"; sid:2300001;)\n",
    )
    .unwrap();
    let (err, lines) = rules_check_errors(dir.path());
    assert_eq!(lines.len(), 3, "{err}");
    assert!(
        lines[0].ends_with(
            "local.rules:1:1: sid 2300001 is the built-in signature \"VOIP-SENTINEL scanner: one source sweeping many SIP hosts\""
        ),
        "{err}"
    );
    assert!(
        lines[1].ends_with(
            "threshold.config:2:20: unknown sig_id 2299999: neither a rule nor a built-in signature"
        ),
        "{err}"
    );
    assert!(
        lines[2].ends_with("threshold.config:3:1: threshold: missing 'seconds'"),
        "{err}"
    );
    // A good file is counted by rules check.
    let dir = rules_with_tuning(
        "suppress gen_id 1, sig_id 2200013\nsuppress gen_id 1, sig_id 2100003, track by_src, ip 10.0.0.0/8\n\
         threshold gen_id 0, sig_id 0, type limit, track by_src, count 5, seconds 60\n",
    );
    let out = rules_check(dir.path());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("threshold.config: 2 suppress, 1 threshold, "),
        "{text}"
    );
}
