//! Authentication posture on real Kamailio registrars and sipp phones (pcaps/posture/,
//! scripts/make-posture-pcaps.sh): each finding exactly, the `posture` record of each server,
//! nothing where a server challenges and an account is used once (no nonce or digest response
//! in any output: tests/integration/secrets.rs, over every capture).

use serde_json::Value;
use std::collections::BTreeMap;

use crate::util::*;

fn run(name: &str, extra: &[&str]) -> Vec<Value> {
    sensor(&[&root().join("pcaps/posture").join(name)], extra)
}

fn posture_alerts(recs: &[Value]) -> BTreeMap<u64, usize> {
    let mut m = BTreeMap::new();
    for r in recs {
        if r["event_type"] == "alert" && r["alert"]["category"] == "posture" {
            *m.entry(r["alert"]["signature_id"].as_u64().unwrap())
                .or_insert(0) += 1;
        }
    }
    m
}

fn map(pairs: &[(u64, usize)]) -> BTreeMap<u64, usize> {
    pairs.iter().copied().collect()
}

/// The `posture` record of `server`.
fn record<'a>(recs: &'a [Value], server: &str) -> &'a Value {
    let of: Vec<&Value> = recs
        .iter()
        .filter(|r| r["event_type"] == "posture" && r["src_ip"] == server)
        .collect();
    assert_eq!(of.len(), 1, "posture records of {server}");
    &of[0]["posture"]
}

/// A copy of rules/ whose variables.conf says the voice network is 127.0.0.0/29 (the phones
/// of open-registrar.pcap; its caller 127.0.0.12 is outside).
fn with_voice_net() -> tempfile::TempDir {
    let dir = rules_copy();
    let vars = dir.path().join("variables.conf");
    let mut text = std::fs::read_to_string(&vars).unwrap_or_default();
    text.push_str("\nVOICE_NET = [127.0.0.0/29]\n");
    std::fs::write(&vars, text).unwrap();
    dir
}

#[test]
fn an_open_registrar_and_an_open_relay() {
    // Without VOICE_NET, no address is called outside: only the open registration.
    let recs = run("open-registrar.pcap", &[]);
    assert_eq!(posture_alerts(&recs), map(&[(2600001, 1)]));
    let p = record(&recs, "127.0.0.3");
    assert_eq!(p["registrations_unauthenticated"], 2);
    assert_eq!(p["invites_unauthenticated_outside"], 0);
    assert_eq!(p["findings"], serde_json::json!(["open_registration"]));

    let rules = with_voice_net();
    let recs = run(
        "open-registrar.pcap",
        &["--rules", rules.path().to_str().unwrap()],
    );
    assert_eq!(posture_alerts(&recs), map(&[(2600001, 1), (2600002, 1)]));
    let relay = recs
        .iter()
        .find(|r| r["alert"]["signature_id"] == 2600002)
        .unwrap();
    // The outside caller acted; the proxy answered without asking who it was.
    assert_eq!(relay["alert"]["source"]["ip"], "127.0.0.12");
    assert_eq!(relay["alert"]["target"]["ip"], "127.0.0.3");
    assert_eq!(relay["evidence"]["to"], "1001");
    let p = record(&recs, "127.0.0.3");
    assert_eq!(p["invites_unauthenticated_outside"], 1);
    assert_eq!(
        p["findings"],
        serde_json::json!(["open_registration", "open_relay"])
    );
}

#[test]
fn a_challenging_server_with_accounts_used_once_has_no_finding_but_its_digest() {
    let recs = run("auth-registrar.pcap", &[]);
    // MD5 only (kamailio offers no SHA-256), and the credentials of 2001 (UDP) and 2002 (TCP)
    // crossed the wire in plaintext; nothing else.
    assert_eq!(posture_alerts(&recs), map(&[(2600004, 1), (2600006, 2)]));
    let creds: Vec<(String, String)> = recs
        .iter()
        .filter(|r| r["alert"]["signature_id"] == 2600006)
        .map(|r| {
            (
                r["evidence"]["account"].as_str().unwrap().to_string(),
                r["evidence"]["transport"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        creds,
        [
            ("2001@voip-sentinel.test".to_string(), "UDP".to_string()),
            ("2002@voip-sentinel.test".to_string(), "TCP".to_string())
        ]
    );
    let p = record(&recs, "127.0.0.23");
    assert_eq!(p["challenges"], 3);
    assert_eq!(p["challenges_without_qop"], 0);
    assert_eq!(p["registrations_authenticated"], 2);
    assert_eq!(p["registrations_unauthenticated"], 0);
    assert_eq!(p["algorithms"], serde_json::json!(["MD5"]));
    assert_eq!(p["realms"], serde_json::json!(["voip-sentinel.test"]));
    assert_eq!(p["findings"], serde_json::json!(["md5_only"]));
}

#[test]
fn a_challenge_without_qop() {
    let recs = run("auth-registrar-noqop.pcap", &[]);
    assert_eq!(
        posture_alerts(&recs),
        map(&[(2600003, 1), (2600004, 1), (2600006, 1)])
    );
    let p = record(&recs, "127.0.0.26");
    assert_eq!(p["challenges_without_qop"], 1);
    assert_eq!(p["findings"], serde_json::json!(["no_qop", "md5_only"]));
}

#[test]
fn a_shared_account_and_a_stale_password() {
    let recs = run("shared-and-stale-accounts.pcap", &[]);
    assert_eq!(
        posture_alerts(&recs),
        map(&[(2600004, 1), (2600006, 2), (2600007, 1), (2600008, 1)])
    );
    let shared = recs
        .iter()
        .find(|r| r["alert"]["signature_id"] == 2600007)
        .unwrap();
    assert_eq!(shared["evidence"]["account"], "4001@voip-sentinel.test");
    assert_eq!(
        shared["evidence"]["user_agents"],
        serde_json::json!([
            "Grandstream GXP2170 1.0.11.23",
            "Yealink SIP-T46S 66.86.0.15"
        ])
    );
    let stale = recs
        .iter()
        .find(|r| r["alert"]["signature_id"] == 2600008)
        .unwrap();
    assert_eq!(stale["evidence"]["account"], "4002@voip-sentinel.test");
    assert_eq!(stale["evidence"]["failures"], 8);
    assert_eq!(stale["evidence"]["client"], "127.0.0.18");
    assert_eq!(stale["alert"]["source"]["ip"], "127.0.0.18");
}

/// One account registered from two networks at once with the same phone model: shared (or
/// stolen) credentials, said once; the other account, registered once, is not.
#[test]
fn one_account_from_two_networks() {
    let recs = run("shared-account-two-networks.pcap", &[]);
    // MD5 only (Kamailio's auth module offers nothing else) and digests over UDP per account:
    // the facts of any server of this kind; the shared account once.
    assert_eq!(
        posture_alerts(&recs),
        map(&[(2600004, 1), (2600006, 2), (2600007, 1)])
    );
    let shared = recs
        .iter()
        .find(|r| r["alert"]["signature_id"] == 2600007)
        .unwrap();
    assert_eq!(shared["evidence"]["account"], "4003@voip-sentinel.test");
    assert_eq!(
        shared["evidence"]["networks"],
        serde_json::json!(["127.0.7.0", "127.0.8.0"])
    );
    assert_eq!(
        shared["evidence"]["user_agents"],
        serde_json::json!(["Yealink SIP-T46S 66.86.0.15"])
    );
    assert_eq!(shared["alert"]["source"]["ip"], "127.0.8.17");
    // The account anomaly detector says the same from its side: a new network for 4003.
    let anomalies: Vec<&Value> = recs.iter().filter(|r| is_attack_alert(r)).collect();
    assert_eq!(anomalies.len(), 1);
    assert_eq!(anomalies[0]["alert"]["signature_id"], 2300013);
    assert_eq!(anomalies[0]["evidence"]["network"], "127.0.8.0/24");
    let plaintext: Vec<&Value> = recs
        .iter()
        .filter(|r| r["alert"]["signature_id"] == 2600006)
        .map(|r| &r["evidence"]["account"])
        .collect();
    assert_eq!(
        plaintext,
        ["4003@voip-sentinel.test", "4004@voip-sentinel.test"]
    );
}
