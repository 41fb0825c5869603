//! State exhaustion: a generated flood of unique sources, Call-IDs, users and SSRCs keeps every
//! table within its cap (evictions counted in the `stats` record), memory within a bound
//! computed from the caps, and the flood is still reported.

use std::path::Path;

use serde_json::Value;

use crate::synth::{gen, write};
use crate::util::*;

/// Lowered caps, so that a flood a debug build replays in seconds overflows every one of them
/// many times over.
const MAX_TRANSACTIONS: u64 = 2_000;
const MAX_CALLS: u64 = 1_000;
const MAX_STREAMS_PER_WORKER: u64 = 500;
const WORKERS: u64 = 2;
const DETECTOR_CAP: u64 = 1_000;

/// A copy of rules/ with every detector table capped at `DETECTOR_CAP`.
fn small_caps_rules(dir: &Path) -> std::path::PathBuf {
    let rules = dir.join("rules");
    std::fs::create_dir(&rules).unwrap();
    for e in std::fs::read_dir(root().join("rules")).unwrap() {
        let p = e.unwrap().path();
        if p.is_file() {
            std::fs::copy(&p, rules.join(p.file_name().unwrap())).unwrap();
        }
    }
    let c = DETECTOR_CAP;
    let extra = format!(
        "\n[scanner]\nmax_sources = {c}\n[flood]\nmax_sources = {c}\nmax_destinations = {c}\n\
         [bruteforce]\nmax_sources = {c}\nmax_users = {c}\n[pairing]\nmax_pending = {c}\n\
         [threshold]\nmax_keys = {c}\n[fraud]\nmax_accounts = {c}\nmax_sources = {c}\nmax_calls = {c}\n"
    );
    let conf = rules.join("detectors.conf");
    let mut text = std::fs::read_to_string(&conf).unwrap();
    text.push_str(&extra);
    std::fs::write(&conf, text).unwrap();
    rules
}

fn alerts(recs: &[Value], sid: u64) -> usize {
    recs.iter()
        .filter(|r| r["event_type"] == "alert" && r["alert"]["signature_id"] == sid)
        .count()
}

/// Tables every flood below overflows (the streams' evictions are in `stats.rtp`).
const OVERFLOWING: &[&str] = &[
    "transactions",
    "calls",
    "pairing",
    "scanner_sources",
    "flood_sources",
    "brute_sources",
    "brute_users",
];

/// Every table of the `state` section within its cap; those named overflowed (evictions > 0).
fn assert_capped(state: &Value, overflowed: &[&str]) {
    for (name, t) in state.as_object().expect("stats.state") {
        let (entries, cap) = (
            t["entries"].as_u64().unwrap(),
            t["max_keys"].as_u64().unwrap(),
        );
        assert!(cap > 0, "{name}: no cap reported");
        assert!(
            entries <= cap,
            "{name}: {entries} entries over its cap {cap}"
        );
    }
    for name in overflowed {
        assert!(
            state[name]["evictions"].as_u64().unwrap_or(0) > 0,
            "{name} did not overflow: {}",
            state[name]
        );
    }
}

#[test]
fn a_flood_of_unique_everything_stays_within_the_caps_and_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let pcap = dir.path().join("flood.pcap");
    // 12,000 requests (24,000 packets over 1.2 s of packet time): 6,000 INVITE dialogs (6x the
    // calls cap), 15,000 transactions (7.5x), 6,000 RTP streams (6x the streams of two
    // workers), 12,000 sources and users (12x every detector cap). Small enough for a debug
    // build; `flood_of_a_million` below runs the shipped caps.
    let s = write(&pcap, |t, w| {
        gen::flood(
            t,
            &gen::FloodSpec {
                count: 12_000,
                rate: 10_000,
                seed: 11,
            },
            w,
        )
    });
    let rules = small_caps_rules(dir.path());
    let recs = sensor(
        &[&pcap],
        &[
            "--workers",
            &WORKERS.to_string(),
            "--rules",
            rules.to_str().unwrap(),
            "--max-transactions",
            &MAX_TRANSACTIONS.to_string(),
            "--max-calls",
            &MAX_CALLS.to_string(),
            "--max-streams",
            &MAX_STREAMS_PER_WORKER.to_string(),
        ],
    );
    let st = &stats_of(&recs)["stats"];
    assert_eq!(st["capture"]["packets"], s.packets);
    assert_eq!(st["sip"]["messages"], s.sip_messages);

    assert_capped(&st["state"], OVERFLOWING);
    assert_capped(
        &st["state"],
        &["flood_challenges", "fraud_accounts", "fraud_calls"],
    );
    assert!(st["rtp"]["evicted"].as_u64().unwrap() > 0, "{}", st["rtp"]);
    // What was evicted was written, marked so.
    let evicted_calls = recs
        .iter()
        .filter(|r| r["event_type"] == "call" && r["call"]["end_reason"] == "evicted")
        .count() as u64;
    assert_eq!(
        evicted_calls,
        st["state"]["calls"]["evictions"].as_u64().unwrap()
    );
    let evicted_streams = recs
        .iter()
        .filter(|r| r["event_type"] == "rtp" && r["rtp"]["end_reason"] == "evicted")
        .count() as u64;
    assert_eq!(evicted_streams, st["rtp"]["evicted"].as_u64().unwrap());
    assert_eq!(
        recs.iter().filter(|r| r["event_type"] == "call").count() as u64,
        s.invites,
        "every dialog written once"
    );

    // The flood is still reported: the destination rate (every request goes to one server)
    // and the global rate (15,000 messages a second of packet time), and the counts agree.
    for sid in [2_300_006u64, 2_300_008] {
        let n = alerts(&recs, sid);
        assert!(n > 0, "no alert {sid}");
        assert_eq!(st["sip"]["alerts"][sid.to_string()], n as u64);
    }

    // Every INVITE comes from a new source, so the per-source limit of 2100003 (plaintext
    // signalling) lets each through; the per-signature rate holds the flood to the burst
    // (1,000) plus 100 a second over the 1.2 s of packet time, and counts the rest.
    let plaintext = alerts(&recs, 2_100_003) as u64;
    let limited = st["sip"]["alerts_rate_limited"]["2100003"]
        .as_u64()
        .expect("2100003 rate-limited");
    assert!(
        (1_000..=1_000 + 100 * 2).contains(&plaintext),
        "{plaintext} plaintext-signalling alerts"
    );
    assert!(limited > 1_000, "{limited} held back");
    assert_eq!(st["sip"]["alerts"]["2100003"], plaintext);
    let reported: u64 = recs
        .iter()
        .filter(|r| r["event_type"] == "alert" && r["alert"]["signature_id"] == 2_100_003)
        .filter_map(|r| r["evidence"]["rate_limited"].as_u64())
        .sum();
    assert!(
        reported > 0 && reported <= limited,
        "{reported} of {limited}"
    );

    // Memory: a base (the debug binary on a 756-packet capture peaks at about 14 MiB; queues
    // of 64 batches per worker) plus every cap times a generous size per entry:
    //   transactions 2,000 x 4 KiB = 8 MiB      calls 1,000 x 16 KiB = 16 MiB
    //   streams 2 x 500 x 64 KiB (two hdrhistograms of ~10 KiB each) = 63 MiB
    //   12 detector tables x 1,000 x 2 KiB = 24 MiB
    //   anomalies, devices, posture: one entry per source, 12,000 x 3 x 1 KiB = 36 MiB
    // = 147 MiB + 64 MiB base = 211 MiB. Without the caps this flood takes over 280 MiB
    // (in release: 20,000 requests, 470 MiB).
    let bound: u64 = (64 + 8 + 16 + 63 + 24 + 36) << 20;
    let peak = st["memory"]["peak_rss_bytes"].as_u64().expect("peak RSS");
    assert!(peak < bound, "peak RSS {peak} over the bound {bound}");
}

/// The shipped caps under a million unique requests (2,000,000 packets, 100 s of packet
/// time). Minutes in a debug build: `cargo test --release --test integration -- --ignored
/// flood_of_a_million`.
#[test]
#[ignore]
fn flood_of_a_million() {
    let dir = tempfile::tempdir().unwrap();
    let pcap = dir.path().join("flood.pcap");
    write(&pcap, |t, w| {
        gen::flood(
            t,
            &gen::FloodSpec {
                count: 1_000_000,
                rate: 10_000,
                seed: 1,
            },
            w,
        )
    });
    let (recs, evidence) = with_evidence(&pcap, dir.path(), 4);
    let st = &stats_of(&recs)["stats"];
    let on_disk: u64 = walk(&evidence).iter().sum();
    assert!(on_disk <= 4 << 20, "{on_disk} bytes of evidence");
    assert!(st["evidence"]["files_removed"].as_u64().unwrap() > 0);
    assert_capped(&st["state"], OVERFLOWING);
    assert_capped(&st["state"], &["anomalies", "devices", "posture_limiter"]);
    assert!(st["rtp"]["evicted"].as_u64().unwrap() > 0);
    for sid in [2_300_006u64, 2_300_008] {
        assert!(alerts(&recs, sid) > 0, "no alert {sid}");
    }
    // A million sources, each new: the plaintext-signalling alerts are held to the rate
    // (burst 1,000, then 100 a second of the 100 s).
    let plaintext = alerts(&recs, 2_100_003) as u64;
    assert!(plaintext <= 1_000 + 100 * 101, "{plaintext}");
    // Base 64 MiB; transactions 100,000 x 4 KiB = 400 MiB; calls 100,000 x 16 KiB = 1.6 GiB;
    // streams 2 x 20,000 x 64 KiB = 2.5 GiB; detectors and the 50,000-entry tables 1 GiB;
    // evidence: 64 MiB held, 32 MiB of fragments, 4,096 call buffers of 32 KiB = 128 MiB.
    let bound: u64 = (64 + 400 + 1600 + 2500 + 1024 + 64 + 32 + 128) << 20;
    let peak = st["memory"]["peak_rss_bytes"].as_u64().expect("peak RSS");
    assert!(peak < bound, "peak RSS {peak} over the bound {bound}");
}

/// The evidence folder under a flood of unique sources: it stays under its limit by removing
/// the oldest files first, counted in the stats record, and what it holds in memory stays
/// within its budget.
#[test]
fn the_evidence_folder_stays_under_its_limit_in_a_flood() {
    let dir = tempfile::tempdir().unwrap();
    let pcap = dir.path().join("flood.pcap");
    write(&pcap, |t, w| {
        gen::flood(
            t,
            &gen::FloodSpec {
                count: 12_000,
                rate: 10_000,
                seed: 5,
            },
            w,
        )
    });
    let (recs, evidence) = with_evidence(&pcap, dir.path(), 1);
    let ev = &stats_of(&recs)["stats"]["evidence"];
    assert_capped(&stats_of(&recs)["stats"]["state"], &[]);
    let on_disk: Vec<u64> = walk(&evidence);
    let total: u64 = on_disk.iter().sum();
    assert!(total <= 1 << 20, "{total} bytes in the folder");
    assert_eq!(ev["folder_bytes"].as_u64().unwrap(), total);
    assert_eq!(ev["folder_files"].as_u64().unwrap(), on_disk.len() as u64);
    let written = ev["alert_files"].as_u64().unwrap() + ev["call_files"].as_u64().unwrap();
    let removed = ev["files_removed"].as_u64().unwrap();
    assert!(removed > 0, "{ev}");
    assert_eq!(written - removed, on_disk.len() as u64, "{ev}");
    assert_eq!(ev["write_errors"], 0);
}

/// The sensor on `pcap` with two workers, keeping evidence of alerts and calls in `dir`'s
/// `evidence` folder of at most `max_mib`: its alert and stats records (a million-request flood
/// has millions of others, more than this process should hold) and the folder.
fn with_evidence(pcap: &Path, dir: &Path, max_mib: u32) -> (Vec<Value>, std::path::PathBuf) {
    let evidence = dir.join("evidence");
    let max = max_mib.to_string();
    let recs = sensor(
        &[pcap],
        &[
            "--workers",
            "2",
            "--pcap-dir",
            evidence.to_str().unwrap(),
            "--pcap-calls",
            "--pcap-max-total-mib",
            &max,
            "--eve-types",
            "alert,stats",
        ],
    );
    (recs, evidence)
}

/// Sizes of the files under `dir`.
fn walk(dir: &Path) -> Vec<u64> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(std::fs::metadata(&p).unwrap().len());
        }
    }
    out
}
