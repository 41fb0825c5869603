//! Log stores type a field by the first value they see: Elasticsearch maps `evidence.message`
//! as an object and then rejects every record where it is a string, and makes a field of every
//! distinct JSON key. Over the output of every capture in `pcaps/`, each field path (from the
//! record's root, arrays as `[]`) has one JSON type, and no key is sender-chosen text: keys
//! are snake_case names, or the numbers of bounded sets (status codes, signature ids, HEP
//! agents, at most 64 of them and `other`).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::util::*;

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Maps whose keys are numbers of a bounded set, by path.
const NUMBERED: &[&str] = &[
    "stats.sip.responses",
    "stats.sip.alerts",
    "stats.hep.agents",
];

fn a_name(key: &str) -> bool {
    let mut b = key.bytes();
    b.next().is_some_and(|c| c.is_ascii_lowercase())
        && key.len() <= 40
        && b.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'_')
}

fn walk(
    v: &Value,
    path: &str,
    cap: &str,
    types: &mut BTreeMap<String, BTreeMap<&'static str, String>>,
    bad_keys: &mut BTreeSet<String>,
) {
    if !v.is_null() {
        types
            .entry(path.to_string())
            .or_default()
            .entry(kind(v))
            .or_insert_with(|| cap.to_string());
    }
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                let numbered = NUMBERED.contains(&path)
                    && (k.len() <= 10 && k.bytes().all(|c| c.is_ascii_digit()) || k == "other");
                if !a_name(k) && !numbered {
                    bad_keys.insert(format!("{path}: {:?} ({cap})", &k[..k.len().min(60)]));
                }
                let sub = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                walk(x, &sub, cap, types, bad_keys);
            }
        }
        Value::Array(items) => {
            for x in items {
                walk(x, &format!("{path}[]"), cap, types, bad_keys);
            }
        }
        _ => {}
    }
}

#[test]
fn every_field_path_has_one_type_and_no_key_is_sender_text() {
    let mut types = BTreeMap::new();
    let mut bad_keys = BTreeSet::new();
    let mut records = 0;
    for cap in captures() {
        let name = rel(&cap);
        for r in sensor_at_site(&cap) {
            records += 1;
            walk(&r, "", &name, &mut types, &mut bad_keys);
        }
    }
    assert!(records > 5_000, "{records} records");
    let mixed: Vec<String> = types
        .iter()
        .filter(|(_, t)| t.len() > 1)
        .map(|(p, t)| format!("{p}: {t:?}"))
        .collect();
    assert!(
        mixed.is_empty(),
        "paths with two types:\n{}",
        mixed.join("\n")
    );
    assert!(
        bad_keys.is_empty(),
        "keys that are not names:\n{}",
        bad_keys.into_iter().collect::<Vec<_>>().join("\n")
    );
}

/// `--eve-types` chooses what is written, as Suricata's eve-log `types`: the records of the
/// chosen types are exactly those of a full run; an unknown type is refused with one line.
#[test]
fn eve_types_choose_what_is_written() {
    let cap = root().join("pcaps/attack");
    let lines = |recs: &[Value], kinds: &[&str]| -> Vec<String> {
        let mut v: Vec<String> = recs
            .iter()
            .filter(|r| kinds.contains(&r["event_type"].as_str().unwrap_or("")))
            .map(Value::to_string)
            .collect();
        v.sort();
        v
    };
    let all = sensor(&[&cap], &[]);
    let some = sensor(&[&cap], &["--eve-types", "alert,call"]);
    let kinds: BTreeSet<&str> = some
        .iter()
        .filter_map(|r| r["event_type"].as_str())
        .collect();
    assert_eq!(kinds, BTreeSet::from(["alert", "call"]));
    assert_eq!(
        lines(&some, &["alert", "call"]),
        lines(&all, &["alert", "call"])
    );
    let out = std::process::Command::new(bin())
        .args(["replay", "--eve", "-", "--eve-types", "alert,flows"])
        .arg(&cap)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("invalid value 'flows' for '--eve-types"),
        "{err}"
    );
    assert!(out.stdout.is_empty());
}
