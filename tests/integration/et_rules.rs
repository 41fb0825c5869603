//! The Emerging Threats Open VoIP rules (`tests/fixtures/et-voip/emerging-voip.rules`, as
//! distributed) load unmodified with a suricata.yaml's variables beside them (`vars.yaml`:
//! the PBX 127.0.0.45 is HOME_NET), say which rules they cannot run and why, and fire on the
//! real-tool attacks of `scripts/make-et-voip-pcaps.sh` (pcaps/et-voip/) exactly as Suricata's
//! threshold semantics give: one alert per flood (type both, count 100 in 60 s), one per
//! modified scanner (type limit).

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

use crate::util::{bin, root, sensor};

fn et_dir() -> std::path::PathBuf {
    root().join("tests/fixtures/et-voip")
}

fn et_sids() -> BTreeSet<u64> {
    let text = std::fs::read_to_string(et_dir().join("emerging-voip.rules")).unwrap();
    text.lines()
        .filter(|l| l.starts_with("alert"))
        .filter_map(|l| {
            let at = l.find("sid:")? + 4;
            l[at..]
                .chars()
                .take_while(char::is_ascii_digit)
                .collect::<String>()
                .parse()
                .ok()
        })
        .collect()
}

#[test]
fn et_voip_rules_load_and_say_what_they_skip() {
    let out = Command::new(bin())
        .args(["rules", "check"])
        .arg(root().join("rules"))
        .arg(et_dir())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let skipped: Vec<&str> = text.lines().filter(|l| l.contains(" skipped: ")).collect();
    let want = [
        ("2003329", "protocol 'http' is not inspected"),
        ("2021066", "H.323"),
        ("2022022", "H.323"),
        ("2022023", "H.323"),
        ("2022024", "H.323"),
    ];
    assert_eq!(skipped.len(), want.len(), "{text}");
    for ((sid, why), line) in want.iter().zip(&skipped) {
        assert!(
            line.contains(&format!("sid {sid} skipped: ")) && line.contains(why),
            "{line}"
        );
    }
    // 37 shipped + the 16 ET rules that run.
    assert!(text.contains(": 53 signatures (5 skipped)"), "{text}");
}

#[test]
fn et_voip_rules_fire_on_real_attacks() {
    let ours = et_sids();
    assert_eq!(ours.len(), 21);
    let cases: &[(&str, &[(u64, usize)])] = &[
        ("invite-flood-udp.pcap", &[(2009698, 1), (2100158, 1)]),
        ("invite-flood-tcp.pcap", &[(2003192, 1), (2100158, 1)]),
        ("register-flood-udp.pcap", &[(2009699, 1)]),
        ("register-flood-tcp.pcap", &[(2003193, 1)]),
        // Each 401 answers a REGISTER: the REGISTER flood fires too.
        (
            "unauthorized-flood-udp.pcap",
            &[(2009699, 1), (2009700, 1), (2100162, 1)],
        ),
        (
            "unauthorized-flood-tcp.pcap",
            &[(2003193, 1), (2003194, 1), (2100162, 1)],
        ),
        ("sipvicious-modified-ua.pcap", &[(2012296, 1)]),
        ("sipvicious-ccxllrlflgig.pcap", &[(2011422, 1)]),
        ("zoiper-ua.pcap", &[(2012297, 1)]),
    ];
    let shipped = root().join("rules").display().to_string();
    let et = et_dir().display().to_string();
    for (cap, want) in cases {
        let path = root().join("pcaps/et-voip").join(cap);
        let records = sensor(&[&path], &["--rules", &shipped, "--rules", &et]);
        let mut got: BTreeMap<u64, usize> = BTreeMap::new();
        for r in records.iter().filter(|r| r["event_type"] == "alert") {
            let sid = r["alert"]["signature_id"].as_u64().unwrap();
            if ours.contains(&sid) {
                *got.entry(sid).or_default() += 1;
                // As Suricata writes them: the classtype's description and priority.
                if sid == 2009698 {
                    assert_eq!(r["alert"]["category"], "Attempted Denial of Service");
                    assert_eq!(r["alert"]["severity"], 2);
                    assert_eq!(r["alert"]["rev"], 1);
                    assert_eq!(r["alert"]["gid"], 1);
                    assert_eq!(
                        r["alert"]["metadata"],
                        serde_json::json!({"created_at": ["2010_07_30"], "updated_at": ["2010_07_30"]})
                    );
                }
            }
        }
        let want: BTreeMap<u64, usize> = want.iter().copied().collect();
        assert_eq!(got, want, "{cap}");
    }
}
