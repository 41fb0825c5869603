//! Patch level: the products and versions devices announce on real captures, judged against an
//! advisories file (a site's own, so each expectation follows from the file in the test, and the
//! shipped `rules/advisories.conf`), as `device` records, alerts 2500010/2500011 with their
//! metadata, and `rules check`.

use serde_json::Value;
use std::collections::BTreeMap;

use crate::util::*;

/// The office capture with `rules/` whose advisories.conf is `text`.
fn office_with(text: &str) -> Vec<Value> {
    let dir = rules_copy();
    std::fs::write(dir.path().join("advisories.conf"), text).unwrap();
    sensor(
        &[&root().join("pcaps/benign/office.pcap")],
        &["--rules", dir.path().to_str().unwrap()],
    )
}

/// (signature id, device address, header) of each patch-level alert, sorted.
fn patch_alerts(recs: &[Value]) -> Vec<(u64, String, String)> {
    let mut v: Vec<(u64, String, String)> = recs
        .iter()
        .filter(|r| r["event_type"] == "alert" && r["alert"]["category"] == "vulnerable-device")
        .map(|r| {
            (
                r["alert"]["signature_id"].as_u64().unwrap(),
                r["src_ip"].as_str().unwrap().to_string(),
                r["evidence"]["product"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    v.sort();
    v
}

/// The device record of `address` announcing `product`.
fn device<'a>(recs: &'a [Value], address: &str, product: &str) -> &'a Value {
    let of: Vec<&Value> = recs
        .iter()
        .filter(|r| {
            r["event_type"] == "device"
                && r["device"]["address"] == address
                && r["device"]["product"] == product
        })
        .collect();
    assert_eq!(of.len(), 1, "device records of {address} {product}");
    &of[0]["device"]
}

const SITE: &str = "\
# A site's file: made-up advisories about versions the office capture has.
advisory | kamailio | >=5.6.0 <5.6.4 | 5.6.4 | TEST-2026-001 CVE-2026-10001 | high | https://example.org/kamailio-1
advisory | kamailio | >=5.6.0 <5.6.5 | 5.6.5 | CVE-2026-10002 | low | https://example.org/kamailio-2
advisory | kamailio | >=5.7.0 <5.7.2 | 5.7.2 | CVE-2026-10003 | critical | https://example.org/kamailio-3
advisory | yealink/SIP-T46 | <108.86.0.50 | 108.86.0.50 | TEST-2026-002 | critical | https://example.org/yealink
eol | grandstream/GXP21 | <1.0.11.79 | 2020-01-01 | https://example.org/gxp
eol | asterisk | >=20 <21 | 2099-01-01 | https://example.org/asterisk
";

#[test]
fn versions_are_judged_against_the_advisories_file() {
    let recs = office_with(SITE);
    // Expected from the file: Kamailio 5.6.3 (the proxy) has two advisories, the T46U phones
    // (not the T54W: the model prefix) one, the GXP2170 phones are past their end of life;
    // Asterisk 20's end of life is not reached. The proxy relays its phones' requests, so it is
    // also a device of each phone product (as the inventory has always counted).
    let mut want = vec![(
        2500010,
        "127.0.0.100".to_string(),
        "kamailio (5.6.3 (x86_64/linux))".to_string(),
    )];
    let yealink = "Yealink SIP-T46U 108.86.0.45";
    let gxp = "Grandstream GXP2170 1.0.11.23";
    for a in (110..=115).chain(139..=141).chain([100]) {
        want.push((2500010, format!("127.0.0.{a}"), yealink.to_string()));
    }
    for a in (126..=130).chain(144..=145).chain([100]) {
        want.push((2500011, format!("127.0.0.{a}"), gxp.to_string()));
    }
    want.sort();
    assert_eq!(patch_alerts(&recs), want);

    let kam = recs
        .iter()
        .find(|r| {
            r["alert"]["signature_id"] == 2500010
                && r["src_ip"] == "127.0.0.100"
                && r["evidence"]["product"]
                    .as_str()
                    .unwrap()
                    .starts_with("kamailio")
        })
        .unwrap();
    assert_eq!(kam["alert"]["severity"], 1, "the worst advisory is high");
    let meta: BTreeMap<String, Vec<String>> =
        serde_json::from_value(kam["alert"]["metadata"].clone()).unwrap();
    let want_meta: BTreeMap<String, Vec<String>> = [
        ("advisory", vec!["TEST-2026-001"]),
        ("cve", vec!["CVE-2026-10001", "CVE-2026-10002"]),
        ("fixed_version", vec!["5.6.5"]),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.iter().map(|s| s.to_string()).collect()))
    .collect();
    assert_eq!(meta, want_meta);
    assert_eq!(kam["evidence"]["advisory_count"], 2);
    assert_eq!(
        kam["evidence"]["advisories"][0]["source"],
        "https://example.org/kamailio-1"
    );
    assert_eq!(kam["evidence"]["advisories"][1]["fixed"], "5.6.5");

    let d = device(&recs, "127.0.0.100", "kamailio (5.6.3 (x86_64/linux))");
    assert_eq!(d["role"], "server");
    assert_eq!(d["software"], "Kamailio");
    assert_eq!(d["version"], "5.6.3");
    assert_eq!(
        d["advisories"],
        serde_json::json!(["TEST-2026-001", "CVE-2026-10001", "CVE-2026-10002"])
    );
    assert_eq!(d["fixed_version"], "5.6.5");
    assert!(d.get("end_of_life").is_none());

    let t46 = device(&recs, "127.0.0.110", yealink);
    assert_eq!(
        (&t46["software"], &t46["model"], &t46["version"]),
        (&"Yealink".into(), &"SIP-T46U".into(), &"108.86.0.45".into())
    );
    assert_eq!(t46["fixed_version"], "108.86.0.50");
    let t54 = device(&recs, "127.0.0.116", "Yealink SIP-T54W 96.86.0.70");
    assert!(t54.get("advisories").is_none(), "{t54}");
    let g = device(&recs, "127.0.0.126", gxp);
    assert_eq!(g["end_of_life"], "2020-01-01");
    assert!(g.get("fixed_version").is_none());
    let ast = device(&recs, "127.0.0.174", "Asterisk PBX 20.5.0");
    assert_eq!(
        (&ast["software"], &ast["version"]),
        (&"Asterisk".into(), &"20.5.0".into())
    );
    assert!(ast.get("end_of_life").is_none(), "supported until 2099");
    // Not a product the sensor knows: inventoried, not judged.
    let zoiper = device(&recs, "127.0.0.119", "Zoiper rv2.10.19.4");
    assert!(zoiper.get("software").is_none(), "{zoiper}");

    // Without the file, the same records have no judgement and there is no such alert.
    let recs = office_with("");
    assert_eq!(patch_alerts(&recs), vec![]);
    let d = device(&recs, "127.0.0.100", "kamailio (5.6.3 (x86_64/linux))");
    assert_eq!(d["version"], "5.6.3");
    assert!(d.get("advisories").is_none());
}

#[test]
fn rules_check_validates_the_advisories_file() {
    let dir = rules_copy();
    std::fs::write(dir.path().join("advisories.conf"), SITE).unwrap();
    let out = rules_check(dir.path());
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.trim_end()
            .ends_with("advisories.conf: 4 advisories, 2 end-of-life dates"),
        "{text}"
    );
    std::fs::write(
        dir.path().join("advisories.conf"),
        "advisory | kamailio | >=5.6 <5.6.4 | 5.6.4 | CVE-2026-10001 | high\n\
         advisory | kamailio | >=5.6 <5.6.4 | 5.6.1 | CVE-2026-10001 | high | https://example.org/a\n",
    )
    .unwrap();
    let out = rules_check(dir.path());
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    let path = dir.path().join("advisories.conf");
    assert_eq!(
        err.lines().collect::<Vec<_>>(),
        vec![
            format!("{}:1:1: an advisory line has 7 fields (advisory | product | range | fixed | ids | severity | source), not 6", path.display()),
            format!("{}:2:1: fixed version 5.6.1 is inside the affected range", path.display()),
        ]
    );
}

/// More advisories than the evidence lists (20): the evidence says how many, the metadata
/// names every CVE.
#[test]
fn metadata_names_every_advisory_the_evidence_cuts() {
    let text: String = (0..25)
        .map(|i| {
            format!(
                "advisory | kamailio | >=5.6.0 <5.6.{} | 5.6.{} | CVE-2026-{} | medium | https://example.org/k{i}\n",
                4 + i,
                4 + i,
                20000 + i
            )
        })
        .collect();
    let recs = office_with(&text);
    let kam: Vec<&Value> = recs
        .iter()
        .filter(|r| {
            r["alert"]["signature_id"] == 2500010
                && r["evidence"]["product"] == "kamailio (5.6.3 (x86_64/linux))"
        })
        .collect();
    assert_eq!(kam.len(), 1);
    let a = kam[0];
    assert_eq!(a["evidence"]["advisory_count"], 25);
    assert_eq!(a["evidence"]["advisories"].as_array().unwrap().len(), 20);
    let cves: Vec<String> = (0..25).map(|i| format!("CVE-2026-{}", 20000 + i)).collect();
    assert_eq!(a["alert"]["metadata"]["cve"], serde_json::json!(cves));
    assert_eq!(
        a["alert"]["metadata"]["fixed_version"],
        serde_json::json!(["5.6.28"])
    );
    assert!(a["alert"]["metadata"].get("advisory").is_none());
}
