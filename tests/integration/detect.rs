//! Detection captures made with real tools (pcaps/detect/, scripts/make-detect-pcaps.sh): the
//! exact alerts of each, including signatures that are off by default or need a long span of
//! packet time (run with a copy of rules/ whose detectors.conf or numbering.plan is changed);
//! and a check that every signature of rules/README.md is asserted by some test.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use crate::util::*;

fn count(records: Vec<serde_json::Value>) -> BTreeMap<u64, usize> {
    let mut m = BTreeMap::new();
    for r in records {
        if is_attack_alert(&r) {
            *m.entry(r["alert"]["signature_id"].as_u64().unwrap())
                .or_insert(0) += 1;
        }
    }
    m
}

/// The alerts of a capture (path under pcaps/) with the shipped rules.
fn alerts(cap: &str) -> BTreeMap<u64, usize> {
    count(sensor(&[&root().join("pcaps").join(cap)], &[]))
}

/// The alerts of a capture with a rules folder.
fn alerts_with(cap: &str, rules: &Path) -> BTreeMap<u64, usize> {
    count(sensor(
        &[&root().join("pcaps").join(cap)],
        &["--rules", rules.to_str().unwrap()],
    ))
}

fn map(pairs: &[(u64, usize)]) -> BTreeMap<u64, usize> {
    pairs.iter().copied().collect()
}

/// A copy of rules/ in a temporary folder, with `key = value` lines of detectors.conf replaced
/// (the key must be there) and lines appended to numbering.plan.
fn rules_with(conf: &[(&str, &str)], plan_extra: &str) -> tempfile::TempDir {
    let dir = rules_copy();
    let text = std::fs::read_to_string(root().join("rules/detectors.conf")).unwrap();
    let mut seen = BTreeSet::new();
    let lines: Vec<String> = text
        .lines()
        .map(|l| {
            for (k, v) in conf {
                if l.split('=').next().map(str::trim) == Some(*k) && !l.starts_with('#') {
                    seen.insert(*k);
                    return format!("{k} = {v}");
                }
            }
            l.to_string()
        })
        .collect();
    for (k, _) in conf {
        assert!(seen.contains(k), "{k} not in detectors.conf");
    }
    std::fs::write(dir.path().join("detectors.conf"), lines.join("\n") + "\n").unwrap();
    let mut plan = std::fs::read_to_string(root().join("rules/numbering.plan")).unwrap();
    plan.push_str(plan_extra);
    std::fs::write(dir.path().join("numbering.plan"), plan).unwrap();
    dir
}

/// Seconds since the epoch of a pcap's first packet (tcpdump's little-endian pcap).
fn first_packet_secs(cap: &str) -> i64 {
    let b = std::fs::read(root().join("pcaps").join(cap)).unwrap();
    assert_eq!(
        &b[..4],
        &[0xd4, 0xc3, 0xb2, 0xa1],
        "{cap}: not a little-endian pcap"
    );
    i64::from(u32::from_le_bytes([b[24], b[25], b[26], b[27]]))
}

#[test]
fn scanner_tools_are_named_by_their_user_agent() {
    // One OPTIONS per tool, each from its own address, so each signature fires once: sipcli,
    // VaxSIPUserAgent, pplsip, iWar, sip-scan, SiVuS, smap, SIPPTS, sundayddr, PortSIP; and the
    // mass-scanner template whose Contact (2200015) and From host (2200016) are 1.1.1.1.
    assert_eq!(
        alerts("detect/scanner-user-agents.pcap"),
        map(&[
            (2200002, 1),
            (2200004, 1),
            (2200005, 1),
            (2200006, 1),
            (2200007, 1),
            (2200008, 1),
            (2200009, 1),
            (2200011, 1),
            (2200012, 1),
            (2200013, 1),
            (2200015, 1),
            (2200016, 1)
        ])
    );
}

/// SIPVicious svwar walking extensions 200 to 230 with INVITE (kamailio answers 404): its
/// User-Agent, its From-tag, extension enumeration, and a source flood of INVITEs; plaintext
/// signalling once. No toll fraud: the extension 225 is not Cote d'Ivoire's country code, and
/// failed calls to extensions are enumeration, not dial-prefix probing (both used to fire).
#[test]
fn an_svwar_extension_walk_is_enumeration_not_toll_fraud() {
    assert_eq!(
        alerts("detect/svwar-invite.pcap"),
        map(&[
            (2100003, 1),
            (2200001, 1),
            (2300002, 1),
            (2300004, 1),
            (2300005, 2)
        ])
    );
}

#[test]
fn nmap_sweeping_twelve_servers_is_a_sweep() {
    // nmap's sip-methods script: its User-Agent (limited to one per source), and one source
    // reaching 12 hosts within 60 s (threshold 10).
    assert_eq!(
        alerts("detect/nmap-sip-sweep.pcap"),
        map(&[(2200010, 1), (2300001, 1)])
    );
}

#[test]
fn a_sipsak_flood_at_a_silent_host_is_unanswered_and_a_flood() {
    // sipsak's User-Agent; 25 OPTIONS never answered (20 needed, decided 5 s later by the
    // last request's packet time); 25 OPTIONS in well under 2 s: source flood of OPTIONS and
    // of all methods.
    assert_eq!(
        alerts("detect/sipsak-flood-unanswered.pcap"),
        map(&[(2200003, 1), (2300003, 1), (2300005, 2)])
    );
    // The global rate (5000 messages in a second by default) with a limit this capture
    // exceeds: its 25 requests fall within one second.
    let rules = rules_with(&[("global_per_second", "20")], "");
    assert_eq!(
        alerts_with("detect/sipsak-flood-unanswered.pcap", rules.path()),
        map(&[(2200003, 1), (2300003, 1), (2300005, 2), (2300008, 1)])
    );
}

#[test]
fn registrations_challenged_in_bulk_are_a_challenge_flood() {
    // 25 REGISTERs without credentials in 5 s, each challenged: 20 401s towards one
    // destination in 10 s; 25 distinct users answered 401 are also an enumeration.
    assert_eq!(
        alerts("detect/challenge-flood.pcap"),
        map(&[(2300002, 1), (2300007, 1)])
    );
}

#[test]
fn a_user_registering_from_another_network_is_reported() {
    // alice registers (with the right password) from 127.0.0.0/24, then from 127.0.1.0/24.
    assert_eq!(
        alerts("detect/register-new-network.pcap"),
        map(&[(2300013, 1)])
    );
}

#[test]
fn failed_calls_to_many_prefixes_are_prefix_probing() {
    // 12 international numbers under 12 distinct 4-digit prefixes, all refused 404: probing
    // (threshold 10 in 300 s); the same 12 calls are an international burst of the account and
    // the source (10 in 60 s) and 12 refused target users an enumeration; plaintext SIP.
    assert_eq!(
        alerts("detect/prefix-probing.pcap"),
        map(&[
            (2100003, 1),
            (2300002, 1),
            (2300023, 1),
            (2300024, 1),
            (2300029, 1)
        ])
    );
}

#[test]
fn twenty_two_calls_up_at_once_exceed_the_concurrency_limit() {
    // 22 answered calls held 6 s, placed at 10/s: an 11th answered call while 10 are up, per
    // account and per source; 22 INVITEs in 2 s are a source flood (INVITE, and all methods;
    // the BYEs 6 s later are in-dialog, not new work); 22 answered calls shorter than 10 s are
    // many short calls.
    let base = [
        (2100003, 1),
        (2300005, 2),
        (2300025, 1),
        (2300026, 1),
        (2300028, 1),
    ];
    assert_eq!(alerts("detect/concurrent-calls.pcap"), map(&base));
    let with = |extra: (u64, usize)| {
        let mut m = map(&base);
        m.insert(extra.0, extra.1);
        m
    };
    // Without a learned baseline (0 hours), 22 calls in 300 s from a new account are above it.
    let rules = rules_with(&[("baseline_learn_hours", "0")], "");
    assert_eq!(
        alerts_with("detect/concurrent-calls.pcap", rules.path()),
        with((2300027, 1))
    );
    // A trunk limit of 10: the 22 calls all go to 127.0.0.196, the 11th answered is one too
    // many (limited per trunk).
    let rules = rules_with(&[("max_concurrent_trunk", "10")], "");
    assert_eq!(
        alerts_with("detect/concurrent-calls.pcap", rules.path()),
        with((2300042, 1))
    );
    // Identity required: no INVITE carries one (limited per source).
    let rules = rules_with(&[("require_identity", "1")], "");
    assert_eq!(
        alerts_with("detect/concurrent-calls.pcap", rules.path()),
        with((2300036, 1))
    );
    // After hours: an offset that puts the capture's first packet at 02:xx local time, outside
    // 08:00-18:00 whatever the day (limited per account).
    let secs = first_packet_secs("detect/concurrent-calls.pcap");
    let utc_hour = secs.rem_euclid(86_400) / 3600;
    let mut offset = (2 - utc_hour).rem_euclid(24);
    if offset > 11 {
        offset -= 24;
    }
    let tz = format!(
        "{}{:02}:00",
        if offset < 0 { '-' } else { '+' },
        offset.abs()
    );
    let rules = rules_with(&[("after_hours", "1"), ("timezone_offset", &tz)], "");
    assert_eq!(
        alerts_with("detect/concurrent-calls.pcap", rules.path()),
        with((2300030, 1)),
        "timezone_offset {tz}"
    );
}

#[test]
fn a_premium_call_longer_than_the_limit_is_reported() {
    // A call to +1 900 held 4 s: premium destination; long premium call once the limit (600 s
    // by default) is 2 s.
    assert_eq!(
        alerts("detect/long-premium-call.pcap"),
        map(&[(2100003, 1), (2300021, 1)])
    );
    let rules = rules_with(&[("long_call_secs", "2")], "");
    assert_eq!(
        alerts_with("detect/long-premium-call.pcap", rules.path()),
        map(&[(2100003, 1), (2300021, 1), (2300031, 1)])
    );
}

#[test]
fn blocked_destinations_and_the_organisations_numbers_from_outside() {
    // toll-fraud.pcap calls +881 631234567 (Iridium): with `8816 blocked` in the plan, that
    // INVITE is a call to a blocked destination.
    let rules = rules_with(&[], "8816 blocked nobody here calls Iridium\n");
    assert_eq!(
        alerts_with("attack/toll-fraud.pcap", rules.path()),
        map(&[
            (2100003, 1),
            (2300020, 1),
            (2300021, 1),
            (2300022, 1),
            (2300023, 1),
            (2300024, 1)
        ])
    );
    // callerid-spoofing.pcap presents +44 20 numbers (PAI of two calls) from 127.0.0.170: with
    // 4420 as the organisation's prefix and only 10.0.0.0/8 trusted, both are reported.
    let rules = rules_with(
        &[("org_prefixes", "4420"), ("trusted_trunks", "10.0.0.0/8")],
        "",
    );
    assert_eq!(
        alerts_with("attack/callerid-spoofing.pcap", rules.path()),
        map(&[(2100003, 1), (2300032, 2), (2300034, 2), (2300035, 1)])
    );
}

#[test]
fn broken_passports_are_reported() {
    // A valid ES256 PASSporT whose dest.tn is not the called number, and an Identity header that
    // is no JWS.
    assert_eq!(
        alerts("detect/stir-shaken-invalid.pcap"),
        map(&[(2100003, 1), (2300040, 1), (2300041, 1)])
    );
}

#[test]
fn over_long_fields_other_versions_and_too_many_headers() {
    // A 340-byte Request-URI; a 330-byte To (in the request and again in its 200, which echoes
    // it); a SIP/3.0 request; a SIP/1.0 response; 520 extra header lines.
    assert_eq!(
        alerts("detect/sip-anomalies.pcap"),
        map(&[
            (2200020, 1),
            (2200023, 2),
            (2200041, 1),
            (2200042, 1),
            (2400005, 1)
        ])
    );
}

#[test]
fn empty_fields_big_cseq_two_messages_in_a_datagram_and_no_request_uri() {
    // sipp sends, one per datagram: empty Call-ID, From, To, Via (the UAS answers the last
    // three with 200s that echo the empty header), an INVITE with an empty Contact (refused
    // 486: plaintext SIP), CSeq 3000000000 (and its 200), a MESSAGE body without Content-Type,
    // one datagram holding two OPTIONS, and `INVITE  SIP/2.0` (no Request-URI: malformed).
    assert_eq!(
        alerts("detect/sip-empty-fields.pcap"),
        map(&[
            (2100003, 1),
            (2200035, 1),
            (2200036, 2),
            (2200037, 2),
            (2200038, 2),
            (2200039, 1),
            (2200043, 1),
            (2400001, 1),
            (2400011, 2),
            (2400012, 1)
        ])
    );
}

#[test]
fn five_dialogs_in_one_call_id_and_a_replayed_invite() {
    // Five INVITEs with one Call-ID and five From tags: the fifth is reported.
    assert_eq!(
        alerts("detect/callid-dialogs.pcap"),
        map(&[(2100003, 1), (2400009, 1)])
    );
    // The same INVITE (Call-ID, CSeq, branch) 65 s after the first, its transaction long over.
    assert_eq!(
        alerts("detect/invite-replay.pcap"),
        map(&[(2100003, 1), (2400010, 1)])
    );
}

#[test]
fn srtp_negotiated_but_plaintext_on_the_wire() {
    // Both SDPs negotiate SDES-SRTP (keys in plaintext SIP: 2100002) and both sides send plain
    // G.711: once per call.
    assert_eq!(
        alerts("detect/srtp-plaintext.pcap"),
        map(&[(2100002, 1), (2100003, 1), (2100005, 1)])
    );
}

#[test]
fn rtp_injected_into_a_call_and_an_rtp_flood() {
    // A plain call (2100001, 2100003) and a stream into its callee's media port from an address
    // neither SDP announced.
    assert_eq!(
        alerts("detect/rtp-injection.pcap"),
        map(&[(2100001, 1), (2100003, 1), (2100006, 1)])
    );
    // An injected stream of 708 packets at 1000 packets/s: also a flood.
    assert_eq!(
        alerts("detect/rtp-flood.pcap"),
        map(&[(2100001, 1), (2100003, 1), (2100006, 1), (2100007, 1)])
    );
}

/// A copy of a little-endian microsecond pcap (tcpdump's) with every packet's time since the
/// first multiplied by `k`: the same packets, slower.
fn slowed(cap: &str, k: u64, out: &Path) {
    let b = std::fs::read(root().join("pcaps").join(cap)).unwrap();
    assert_eq!(
        &b[..4],
        &[0xd4, 0xc3, 0xb2, 0xa1],
        "{cap}: not a little-endian pcap"
    );
    let mut o = b[..24].to_vec();
    let (mut i, mut t0) = (24, None);
    let word = |at: usize| u64::from(u32::from_le_bytes(b[at..at + 4].try_into().unwrap()));
    while i + 16 <= b.len() {
        let t = word(i) * 1_000_000 + word(i + 4);
        let first = *t0.get_or_insert(t);
        let t = first + (t - first) * k;
        o.extend_from_slice(&u32::try_from(t / 1_000_000).unwrap().to_le_bytes());
        o.extend_from_slice(&u32::try_from(t % 1_000_000).unwrap().to_le_bytes());
        let len = usize::try_from(word(i + 8)).unwrap();
        o.extend_from_slice(&b[i + 8..i + 16 + len]);
        i += 16 + len;
    }
    assert_eq!(i, b.len());
    std::fs::write(out, o).unwrap();
}

#[test]
fn injection_into_a_call_that_goes_on_is_reported_while_it_goes_on() {
    // The injected stream of rtp-injection.pcap (236 packets, 4.7 s) ends before the check
    // that is due 10 s after a stream's first packet: decided at its end, with its packets.
    let alert = |recs: Vec<serde_json::Value>| {
        let a: Vec<_> = recs
            .into_iter()
            .filter(|r| r["alert"]["signature_id"] == 2_100_006)
            .collect();
        assert_eq!(a.len(), 1, "{a:?}");
        a[0].clone()
    };
    let a = alert(sensor(
        &[&root().join("pcaps/detect/rtp-injection.pcap")],
        &[],
    ));
    assert_eq!(a["evidence"]["decided"], "at its end");
    assert_eq!(a["evidence"]["packets"], 236);
    // Three times slower (14 s): decided 10 s after its first packet, while it still flows,
    // once; the alert's time is that moment.
    let dir = tempfile::tempdir().unwrap();
    let slow = dir.path().join("slow.pcap");
    slowed("detect/rtp-injection.pcap", 3, &slow);
    let recs = sensor(&[&slow], &[]);
    let start = recs
        .iter()
        .find(|r| r["event_type"] == "rtp" && r["src_port"] == 16500)
        .expect("the injected stream's record")["rtp"]["start"]
        .as_str()
        .unwrap()
        .to_string();
    let a = alert(recs);
    assert_eq!(a["evidence"]["decided"], "10 s after its first packet");
    assert!(a["evidence"].get("packets").is_none(), "{a}");
    let secs = |t: &str| -> f64 {
        // "2026-11-25T15:22:34.085908+0000": seconds within the day are enough here
        let hms = &t[11..26];
        let p: Vec<f64> = hms.split(':').map(|x| x.parse().unwrap()).collect();
        p[0] * 3600.0 + p[1] * 60.0 + p[2]
    };
    let after = secs(a["timestamp"].as_str().unwrap()) - secs(&start);
    assert!((after - 10.0).abs() < 1e-6, "{after} s after {start}");
}

/// Signature ids in the tables of rules/README.md (first cell of a row, 7 digits).
fn documented_ids() -> BTreeSet<u64> {
    let text = std::fs::read_to_string(root().join("rules/README.md")).unwrap();
    text.lines()
        .filter_map(|l| l.strip_prefix("| "))
        .filter_map(|l| l.split(" |").next())
        .filter(|c| c.len() == 7 && c.bytes().all(|b| b.is_ascii_digit()))
        .map(|c| c.parse().unwrap())
        .collect()
}

/// Signature ids asserted somewhere: alerts of the golden files, and 7-digit numbers starting
/// with 2 in the integration tests' sources.
fn asserted_ids() -> BTreeSet<u64> {
    let mut ids = BTreeSet::new();
    fn walk(d: &Path, ids: &mut BTreeSet<u64>) {
        for e in std::fs::read_dir(d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(&p, ids);
            } else if p.extension().is_some_and(|e| e == "jsonl") {
                for l in std::fs::read_to_string(&p).unwrap().lines() {
                    let v: serde_json::Value = serde_json::from_str(l).unwrap();
                    if let Some(id) = v["alert"]["signature_id"].as_u64() {
                        ids.insert(id);
                    }
                }
            }
        }
    }
    walk(&root().join("tests/golden"), &mut ids);
    for e in std::fs::read_dir(root().join("tests/integration")).unwrap() {
        let p = e.unwrap().path();
        if p.file_name().is_some_and(|n| n == "detect.rs") {
            // this file's allow-list below must not count as coverage
            let text = std::fs::read_to_string(&p).unwrap();
            let tests = text.split("fn every_documented_signature").next().unwrap();
            scan_numbers(tests, &mut ids);
        } else {
            scan_numbers(&std::fs::read_to_string(&p).unwrap(), &mut ids);
        }
    }
    ids
}

fn scan_numbers(text: &str, ids: &mut BTreeSet<u64>) {
    for w in text.split(|c: char| !c.is_ascii_digit() && c != '_') {
        let digits: String = w.chars().filter(|c| *c != '_').collect();
        if digits.len() == 7 && digits.starts_with('2') {
            ids.insert(digits.parse().unwrap());
        }
    }
}

#[test]
fn every_documented_signature_is_asserted_by_a_test() {
    // Signatures with no capture and no test yet; this list only shrinks.
    let allowed: BTreeSet<u64> = [].into_iter().collect();
    let documented = documented_ids();
    assert!(documented.len() > 80, "{documented:?}");
    let asserted = asserted_ids();
    let missing: BTreeSet<u64> = documented
        .difference(&asserted)
        .copied()
        .filter(|id| !allowed.contains(id))
        .collect();
    assert!(
        missing.is_empty(),
        "signatures in rules/README.md that no test asserts: {missing:?}"
    );
    let stale: Vec<&u64> = allowed.iter().filter(|id| asserted.contains(id)).collect();
    assert!(
        stale.is_empty(),
        "now asserted, remove from the allow-list: {stale:?}"
    );
}
