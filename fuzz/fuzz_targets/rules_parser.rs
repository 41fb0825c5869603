//! The policy files: rules (with a variables file), detectors.conf, the numbering plan,
//! vulnerable.list, advisories.conf and threshold.config (its lookups checked too); parsed rules are then matched against a fuzzed SIP message, which runs
//! the compiled content and pcre matchers.
#![no_main]

use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;

use fuzz_common::{records, timed};
use libfuzzer_sys::fuzz_target;
use voip_sentinel::base::packet::PacketCtx;
use voip_sentinel::base::packet::Transport;
use voip_sentinel::base::time::Ts;
use voip_sentinel::detect::config::DetectConfig;
use voip_sentinel::detect::fraud::{normalise, parse_plan};
use voip_sentinel::detect::inventory::parse_list;
use voip_sentinel::detect::patch::advisories::Advisories;
use voip_sentinel::detect::patch::product::identify;
use voip_sentinel::detect::rules::tuning::Tuning;
use voip_sentinel::detect::rules::classify::Classifications;
use voip_sentinel::detect::rules::{RuleSet, Variables};
use voip_sentinel::sip::View;
use voip_sentinel::sip::parse_message;

// Input: records (see `fuzz_common::records`): variables.conf text, rules text, a
// detectors.conf / numbering plan / vulnerable.list text, a SIP message.
struct Input<'a> {
    variables: &'a str,
    rules: &'a str,
    config: &'a str,
    message: &'a [u8],
}

fuzz_target!(|data: &[u8]| {
    let mut recs = records(data);
    let mut text = || String::from_utf8_lossy(recs.next().unwrap_or_default()).into_owned();
    let (variables, rules, config) = (text(), text(), text());
    let message = recs.next().unwrap_or_default();
    let input = Input {
        variables: &variables,
        rules: &rules,
        config: &config,
        message,
    };
    let vars = Variables::parse(Path::new("variables.conf"), input.variables).unwrap_or_default();
    // The same text as a suricata.yaml and as a classification.config: neither may panic.
    let _ = Variables::parse_yaml(Path::new("vars.yaml"), input.variables);
    let _ = Classifications::parse(Path::new("classification.config"), input.variables);
    let parsed = timed("RuleSet::parse_str", input.rules.len(), || {
        RuleSet::parse_str("fuzz.rules", input.rules, &vars)
    });
    if let Err(errors) = &parsed {
        assert!(!errors.is_empty());
        for e in errors {
            let _ = e.to_string();
        }
    }
    let _ = DetectConfig::parse(input.config).map(|c| c.to_text());
    let _ = DetectConfig::default().with_plan(input.config);
    if let Ok(plan) = parse_plan(input.config) {
        let _ = plan.classify(input.variables);
    }
    let _ = normalise(input.variables, &["00".to_string(), "011".to_string()]);
    let _ = parse_list(input.config);
    // advisories.conf, and the User-Agent parser judged by it (each line of the rules text a
    // header, as a device would announce).
    if let Ok(adv) = Advisories::parse(input.config) {
        for header in input.rules.lines() {
            if let Some(sw) = identify(header) {
                let _ = adv.judge(&sw, "2026-01-01");
            }
        }
    } else {
        for header in input.rules.lines().take(64) {
            let _ = identify(header);
        }
    }
    let tuning = timed("Tuning::parse", input.config.len(), || {
        Tuning::parse(Path::new("threshold.config"), input.config, &vars, |sid| {
            sid % 2 == 1
        })
    });
    match tuning {
        Ok(t) => {
            let (a, b) = (
                IpAddr::V4(Ipv4Addr::LOCALHOST),
                IpAddr::V4(Ipv4Addr::BROADCAST),
            );
            for sid in [0, 1, 3, 2_200_001] {
                let _ = t.is_suppressed(sid, a, b);
                let _ = t.threshold(sid);
            }
        }
        Err(errors) => assert!(!errors.is_empty()),
    }

    let Ok(rules) = parsed else { return };
    let set = RuleSet::from_rules(rules);
    let Ok((msg, _)) = parse_message(input.message) else {
        return;
    };
    let ctx = PacketCtx {
        ts: Ts(1),
        src: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)),
        dst: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)),
        sport: 5060,
        dport: 5060,
        transport: Transport::Udp,
        vlan: None,
        flow_id: 1,
        agent: None,
    };
    let mut out = Vec::new();
    // With the message's bytes, as the workers match: payload keywords and the SDP buffers
    // read them.
    let view = View::with_raw(&msg, input.message);
    timed("RuleSet::matches", input.message.len(), || {
        out.clear();
        set.matches_view(&view, &ctx, &mut out)
    });
    let head = voip_sentinel::base::head::Head::new(&ctx, "alert");
    for r in &out {
        assert!(
            r.is_match_view(&view, &ctx),
            "matches() and is_match() disagree"
        );
        let _ = r.alert_info(&head);
    }
});
