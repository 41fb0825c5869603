//! No secret in any output: digest responses, cnonces and nonces of SIP authentication (the
//! posture detector hashes nonces, never keeps them), and SRTP master
//! keys (a=crypto inline, and the keys of the SRTP captures' KEYS.txt), must not appear in the
//! records of any capture.

use std::path::Path;
use std::process::Command;

use crate::util::*;

/// The secrets tshark finds in a capture.
fn secrets_in(pcap: &Path) -> Vec<String> {
    let out = Command::new("tshark")
        .arg("-n")
        .args(tshark_decode_as(pcap))
        .arg("-r")
        .arg(pcap)
        .args([
            "-Y",
            "sip.auth.digest.response || sip.auth.cnonce || sip.auth.nonce || sdp.media_attr contains \"inline:\"",
            "-T",
            "fields",
            "-E",
            "occurrence=a",
            "-E",
            "aggregator=|",
            "-e",
            "sip.auth.digest.response",
            "-e",
            "sip.auth.cnonce",
            "-e",
            "sip.auth.nonce",
            "-e",
            "sdp.media_attr",
        ])
        .output()
        .expect("run tshark");
    let mut v = Vec::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let cols: Vec<&str> = line.split('\t').collect();
        // Digest responses, cnonces and nonces: every value.
        for col in cols.iter().take(3) {
            for f in col.split('|') {
                let f = f.trim().trim_matches('"');
                if f.len() >= 8 {
                    v.push(f.to_string());
                }
            }
        }
        // SDP attributes: the key material of a=crypto inline keys.
        for f in cols.get(3).copied().unwrap_or("").split('|') {
            if let Some(rest) = f.split("inline:").nth(1) {
                let key: String = rest
                    .chars()
                    .take_while(|c| {
                        c.is_ascii_alphanumeric() || *c == '+' || *c == '/' || *c == '='
                    })
                    .collect();
                if key.len() >= 16 {
                    v.push(key);
                }
            }
        }
    }
    v.sort();
    v.dedup();
    v
}

#[test]
fn no_digest_response_or_srtp_key_in_any_output() {
    let keys_file = root().join("pcaps/public/veondigital-srtp_decoder/KEYS.txt");
    let listed: Vec<String> = std::fs::read_to_string(&keys_file)
        .unwrap_or_default()
        .split(|c: char| c.is_whitespace() || c == ',' || c == ';' || c == '"' || c == '\'')
        .filter(|w| {
            w.len() >= 24
                && w.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '+' || c == '/' || c == '=')
        })
        .map(str::to_string)
        .collect();
    let mut checked = 0;
    for cap in captures() {
        let mut secrets = secrets_in(&cap);
        secrets.extend(listed.iter().cloned());
        let out = Command::new(bin())
            .args(["replay", "--quiet", "--eve", "-"])
            .arg(&cap)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        for s in &secrets {
            assert!(
                !text.contains(s.as_str()),
                "{}: output contains the secret {s}",
                rel(&cap)
            );
        }
        checked += secrets.len();
    }
    assert!(
        checked > 50,
        "only {checked} secrets checked: the test would prove nothing"
    );
}

/// DTMF digits are not kept: the digits of SIP INFO bodies (application/dtmf-relay, as tshark
/// decodes them) and RFC 4733 telephone-events (counted per stream, never decoded) appear in
/// no record.
#[test]
fn no_dtmf_digits_in_any_record() {
    let info = root().join("pcaps/public/wireshark-samples/DTMFsipinfo.pcap");
    let out = Command::new("tshark")
        .args(["-n", "-r"])
        .arg(&info)
        .args(["-Y", "sip.Method == \"INFO\"", "-T", "fields", "-e", "text"])
        .output()
        .expect("run tshark");
    let bodies = String::from_utf8_lossy(&out.stdout).into_owned();
    let signals: Vec<&str> = bodies
        .split([',', '\t', '\n'])
        .filter(|f| f.starts_with("Signal="))
        .collect();
    assert_eq!(signals.len(), 4, "tshark's INFO bodies: {bodies}");
    let recs = sensor(&[&info], &[]);
    let text: String = recs.iter().map(|r| r.to_string() + "\n").collect();
    assert!(
        recs.iter().any(|r| r["sip"]["method"] == "INFO"),
        "INFO transactions recorded"
    );
    // The content type (application/dtmf-relay) is kept; the body, with the digit, is not.
    for needle in ["Signal", "Duration="] {
        assert!(!text.contains(needle), "{needle} in the records");
    }
    let g711 = root().join("pcaps/sipp-uac-pcap-g711.pcap");
    let recs = sensor(&[&g711], &[]);
    let events: Vec<&serde_json::Value> = recs
        .iter()
        .filter(|r| r["event_type"] == "rtp" && r["rtp"]["payload_type"] == 101)
        .collect();
    assert_eq!(events.len(), 3, "the telephone-event streams");
    for r in events {
        let keys: Vec<&String> = r["rtp"].as_object().unwrap().keys().collect();
        assert!(
            !keys
                .iter()
                .any(|k| k.contains("digit") || k.contains("dtmf")),
            "{keys:?}"
        );
        assert!(r["rtp"]["telephone_events"].as_u64().unwrap() > 0, "{r}");
    }
}
