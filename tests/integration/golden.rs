//! Golden tests: for each capture, the sorted `sip`, `call`, `rtp`, `alert`, `tls` and `device` records are committed under
//! tests/golden/ and compared field by field. `UPDATE_GOLDEN=1 cargo test golden` rewrites
//! them; a diff of a baseline is reviewed like code.

use std::path::PathBuf;

use serde_json::Value;

use crate::util::*;

fn golden_path(cap: &std::path::Path) -> PathBuf {
    root()
        .join("tests/golden")
        .join(format!("{}.jsonl", rel(cap)))
}

fn records_of_interest(recs: &[Value]) -> Vec<String> {
    let mut lines: Vec<String> = recs
        .iter()
        .filter(|r| {
            matches!(
                r["event_type"].as_str(),
                Some("sip" | "call" | "rtp" | "alert" | "tls" | "device" | "flow" | "posture")
            )
        })
        .map(|r| {
            // The capture's path as the test gave it: where the repository is, not a result.
            let mut r = r.clone();
            if let Some(o) = r.as_object_mut() {
                o.remove("pcap_filename");
            }
            serde_json::to_string(&r).unwrap()
        })
        .collect();
    lines.sort();
    lines
}

#[test]
fn records_equal_the_golden_files() {
    let update = std::env::var_os("UPDATE_GOLDEN").is_some();
    let mut failures = Vec::new();
    for cap in captures() {
        let got = records_of_interest(&sensor_at_site(&cap));
        let path = golden_path(&cap);
        if update {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            let mut text = got.join("\n");
            if !text.is_empty() {
                text.push('\n');
            }
            std::fs::write(&path, text).unwrap();
            continue;
        }
        let want: Vec<String> = match std::fs::read_to_string(&path) {
            Ok(t) => t.lines().map(str::to_string).collect(),
            Err(e) => {
                failures.push(format!(
                    "{}: {e} (run with UPDATE_GOLDEN=1 to create it)",
                    path.display()
                ));
                continue;
            }
        };
        if got.len() != want.len() {
            failures.push(format!(
                "{}: {} records, golden has {}",
                rel(&cap),
                got.len(),
                want.len()
            ));
            continue;
        }
        for (g, w) in got.iter().zip(&want) {
            let gv: Value = serde_json::from_str(g).unwrap();
            let wv: Value = serde_json::from_str(w).unwrap();
            if gv != wv {
                failures.push(format!(
                    "{}: record differs\n  got:  {g}\n  want: {w}",
                    rel(&cap)
                ));
                break;
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The records decode into the documented types, with no unknown field.
#[test]
fn records_match_the_schema() {
    use voip_sentinel::dialog::media::RtpRecord;
    use voip_sentinel::dialog::{CallRecord, SipRecord};
    for cap in captures() {
        for r in sensor(&[&cap], &[]) {
            match r["event_type"].as_str() {
                Some("sip") => {
                    serde_json::from_value::<SipRecord>(r.clone())
                        .unwrap_or_else(|e| panic!("{}: sip record {r}: {e}", rel(&cap)));
                }
                Some("call") => {
                    serde_json::from_value::<CallRecord>(r.clone())
                        .unwrap_or_else(|e| panic!("{}: call record {r}: {e}", rel(&cap)));
                }
                Some("rtp") => {
                    serde_json::from_value::<RtpRecord>(r.clone())
                        .unwrap_or_else(|e| panic!("{}: rtp record {r}: {e}", rel(&cap)));
                }
                Some("alert") => {
                    serde_json::from_value::<voip_sentinel::detect::alert::AlertRecord>(r.clone())
                        .unwrap_or_else(|e| panic!("{}: alert record {r}: {e}", rel(&cap)));
                }
                Some("tls") => {
                    let t = &r["tls"];
                    assert!(
                        t["version"].is_string() && t["kind"].is_string(),
                        "{}: tls record {r}",
                        rel(&cap)
                    );
                }
                Some("device") => {
                    serde_json::from_value::<voip_sentinel::detect::inventory::DeviceRecord>(
                        r.clone(),
                    )
                    .unwrap_or_else(|e| panic!("{}: device record {r}: {e}", rel(&cap)));
                }
                Some("stats") => {}
                Some("posture") => {
                    let p = &r["posture"];
                    let counts = [
                        "registrations_unauthenticated",
                        "registrations_authenticated",
                        "invites_unauthenticated_outside",
                        "challenges",
                        "challenges_without_qop",
                        "challenges_stale",
                        "nonces_reused",
                        "plaintext_credentials",
                    ];
                    assert!(
                        counts.iter().all(|k| p[k].is_u64())
                            && ["realms", "algorithms", "findings"]
                                .iter()
                                .all(|k| p[k].is_array())
                            && p.as_object().is_some_and(|o| o.len() == counts.len() + 3)
                            && r["src_ip"].is_string(),
                        "{}: posture record {r}",
                        rel(&cap)
                    );
                }
                Some("flow") => {
                    let f = &r["flow"];
                    assert!(
                        f["pkts_toserver"].as_u64().unwrap_or(0) > 0
                            && ["new", "established", "closed"]
                                .contains(&f["state"].as_str().unwrap_or(""))
                            && ["timeout", "forced", "shutdown"]
                                .contains(&f["reason"].as_str().unwrap_or("")),
                        "{}: flow record {r}",
                        rel(&cap)
                    );
                }
                other => panic!("{}: unexpected event_type {other:?}", rel(&cap)),
            }
        }
    }
}
