//! Suricata's consumers read the records: every record of an event type Suricata also writes
//! (`alert`, `sip`, `flow`, `stats`, `tls`), over the output of every capture in `pcaps/`,
//! validates against Suricata's own EVE schema (`tests/fixtures/suricata/eve-schema.json`,
//! its `etc/schema.json`) with additional properties allowed: the sensor writes more than
//! Suricata does, but what Suricata defines has Suricata's name and type.

use serde_json::Value;

use crate::util::*;

/// The schema with every `additionalProperties: false` made `true`.
fn relaxed(mut v: Value) -> Value {
    fn walk(v: &mut Value) {
        match v {
            Value::Object(m) => {
                if m.get("additionalProperties") == Some(&Value::Bool(false)) {
                    m.insert("additionalProperties".into(), Value::Bool(true));
                }
                m.values_mut().for_each(walk);
            }
            Value::Array(a) => a.iter_mut().for_each(walk),
            _ => {}
        }
    }
    walk(&mut v);
    v
}

#[test]
fn records_validate_against_suricatas_eve_schema() {
    let text = std::fs::read_to_string(root().join("tests/fixtures/suricata/eve-schema.json"))
        .expect("the schema");
    let schema = relaxed(serde_json::from_str(&text).unwrap());
    let validator = jsonschema::validator_for(&schema).expect("a valid schema");
    let mut failures = Vec::new();
    let mut checked = std::collections::BTreeMap::new();
    // The app_proto of each kind of record and of each signature's alerts.
    let mut protos: std::collections::BTreeMap<String, std::collections::BTreeSet<String>> =
        Default::default();
    for cap in captures() {
        for r in sensor_at_site(&cap) {
            let kind = r["event_type"].as_str().unwrap_or("").to_string();
            let of = match kind.as_str() {
                "alert" => format!("alert {}", r["alert"]["signature_id"]),
                _ => kind.clone(),
            };
            protos
                .entry(of)
                .or_default()
                .insert(r["app_proto"].to_string());
            if !["alert", "sip", "flow", "stats", "tls"].contains(&kind.as_str()) {
                continue;
            }
            *checked.entry(kind.clone()).or_insert(0) += 1;
            for e in validator.iter_errors(&r) {
                if failures.len() < 20 {
                    failures.push(format!(
                        "{}: {kind}: {} at {}",
                        rel(&cap),
                        e,
                        e.instance_path
                    ));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // Media alerts have none (Suricata has no RTP parser); the rest are about SIP.
    let media = ["2100001", "2100005", "2100006", "2100007"];
    // Flows say what they carried: each app_proto the sensor knows is seen on some capture.
    let flows = protos.remove("flow").unwrap_or_default();
    assert_eq!(
        flows.iter().map(String::as_str).collect::<Vec<_>>(),
        [
            "\"dtls\"",
            "\"failed\"",
            "\"rtcp\"",
            "\"rtp\"",
            "\"sip\"",
            "\"tls\""
        ]
    );
    for (of, p) in &protos {
        let want = match of.as_str() {
            "sip" | "call" | "device" | "posture" => "\"sip\"",
            "tls" => "\"tls\"",
            o if o.starts_with("alert ") && media.contains(&&o[6..]) => "null",
            o if o.starts_with("alert ") => "\"sip\"",
            _ => "null",
        };
        assert_eq!(
            p.iter().collect::<Vec<_>>(),
            vec![want],
            "app_proto of {of}"
        );
    }
    for kind in ["alert", "sip", "stats", "tls"] {
        assert!(
            checked.get(kind).copied().unwrap_or(0) > 0,
            "no {kind} record checked: {checked:?}"
        );
    }
}
