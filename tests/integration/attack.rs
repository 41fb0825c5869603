//! Attacks made with real tools (pcaps/attack/, scripts/make-attack-pcaps.sh): the exact alerts
//! of each capture.

use std::collections::BTreeMap;

use crate::util::*;

fn alerts(name: &str) -> BTreeMap<u64, usize> {
    let mut m = BTreeMap::new();
    for r in sensor(&[&root().join("pcaps/attack").join(name)], &[]) {
        if is_attack_alert(&r) {
            *m.entry(r["alert"]["signature_id"].as_u64().unwrap())
                .or_insert(0) += 1;
        }
    }
    m
}

fn map(pairs: &[(u64, usize)]) -> BTreeMap<u64, usize> {
    pairs.iter().copied().collect()
}

#[test]
fn a_guessed_password_after_failures_is_critical() {
    // 12 wrong passwords for alice (403 each), then the right one: failures per source and per
    // user, and success after failures; the tool's User-Agent is SIPVicious'.
    assert_eq!(
        alerts("register-bruteforce.pcap"),
        map(&[(2200001, 1), (2300009, 1), (2300010, 1), (2300012, 1)])
    );
}

#[test]
fn one_username_failing_from_many_sources_is_distributed_brute_force() {
    // Six sources, two wrong passwords each for bob: no source reaches 5 failures, the user does,
    // and so does the number of sources.
    assert_eq!(
        alerts("distributed-bruteforce.pcap"),
        map(&[(2200001, 6), (2300010, 1), (2300011, 1)])
    );
}

#[test]
fn floods_are_reported_by_source_and_destination_with_counts() {
    // The 100 answered calls of the INVITE flood are hung up at once: many short calls too.
    assert_eq!(
        alerts("invite-flood.pcap"),
        map(&[
            (2100003, 1),
            (2200001, 1),
            (2300005, 2),
            (2300006, 2),
            (2300028, 1)
        ])
    );
    assert_eq!(
        alerts("register-flood.pcap"),
        map(&[(2200001, 1), (2300005, 2), (2300006, 1)])
    );
}

#[test]
fn calls_to_premium_high_risk_and_many_international_numbers_are_toll_fraud() {
    // 18 calls in 18 s from account 1001: 12 international, satellite (+881/+882), premium
    // (+1 900, +44 90) and an IRSF range (+252): premium and high-risk limited to one per
    // source, and the international burst by account and by source.
    assert_eq!(
        alerts("toll-fraud.pcap"),
        map(&[
            (2100003, 1),
            (2300021, 1),
            (2300022, 1),
            (2300023, 1),
            (2300024, 1)
        ])
    );
}

#[test]
fn spoofed_caller_ids_are_reported() {
    // From differs from P-Asserted-Identity (twice), and a malformed calling number; the control
    // call (From equal to PAI) raises nothing.
    assert_eq!(
        alerts("callerid-spoofing.pcap"),
        map(&[(2100003, 1), (2300032, 2), (2300035, 1)])
    );
    // With the organisation configured, "Acme Corp Support" on an external number is reported too.
    let dir = tempfile::tempdir().unwrap();
    for f in ["sip.rules", "numbering.plan"] {
        std::fs::copy(root().join("rules").join(f), dir.path().join(f)).unwrap();
    }
    let conf = std::fs::read_to_string(root().join("rules/detectors.conf"))
        .unwrap()
        .replace("\norg_names =", "\norg_names = Acme Corp\n#org_names =")
        .replace("\norg_prefixes =", "\norg_prefixes = 4420\n#org_prefixes =");
    std::fs::write(dir.path().join("detectors.conf"), conf).unwrap();
    let ids: Vec<u64> = sensor(
        &[&root().join("pcaps/attack/callerid-spoofing.pcap")],
        &["--rules", dir.path().to_str().unwrap()],
    )
    .iter()
    .filter(|r| is_attack_alert(r))
    .map(|r| r["alert"]["signature_id"].as_u64().unwrap())
    .collect();
    assert_eq!(ids.iter().filter(|i| **i == 2300033).count(), 1, "{ids:?}");
}

#[test]
fn stir_shaken_attestations_and_number_mismatches_are_reported() {
    // Four INVITEs with real ES256 PASSporTs: attestation A (nothing), B, C, and an A whose
    // orig.tn is not the caller's number.
    assert_eq!(
        alerts("stir-shaken.pcap"),
        map(&[(2100003, 1), (2300037, 1), (2300038, 1), (2300039, 1)])
    );
}

#[test]
fn the_attacker_is_the_alerts_source_even_when_the_servers_answer_decides() {
    // The guesser 127.0.0.150 against the registrar 127.0.0.151: the brute-force alerts are
    // decided on the registrar's 403s and 200 (packet 151 -> 150), the User-Agent alert on
    // a REGISTER (150 -> 151); every one names 150 as source and 151 as target.
    let mut decided_on_answers = 0;
    for r in sensor(
        &[&root().join("pcaps/attack/register-bruteforce.pcap")],
        &[],
    ) {
        // (A posture finding about the registrar names the registrar.)
        if !is_attack_alert(&r) {
            continue;
        }
        let a = &r["alert"];
        assert_eq!(a["gid"], 1, "{r}");
        assert_eq!(a["source"]["ip"], "127.0.0.150", "{r}");
        assert_eq!(a["target"]["ip"], "127.0.0.151", "{r}");
        assert_eq!(a["target"]["port"], 5060, "{r}");
        if r["src_ip"] == "127.0.0.151" {
            decided_on_answers += 1;
            assert_eq!(a["source"]["port"], r["dest_port"], "{r}");
        }
    }
    assert_eq!(decided_on_answers, 3);
}
