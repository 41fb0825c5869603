//! Attacks made with real tools (pcaps/attack/, scripts/make-attack-pcaps.sh): the exact alerts
//! of each capture.

use std::collections::BTreeMap;

use crate::util::*;

fn alerts(name: &str) -> BTreeMap<u64, usize> {
    let mut m = BTreeMap::new();
    for r in sensor(&[&root().join("pcaps/attack").join(name)], &[]) {
        if r["event_type"] == "alert" {
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
    assert_eq!(
        alerts("invite-flood.pcap"),
        map(&[(2100003, 1), (2200001, 1), (2300005, 2), (2300006, 2)])
    );
    assert_eq!(
        alerts("register-flood.pcap"),
        map(&[(2200001, 1), (2300005, 2), (2300006, 1)])
    );
}
