//! Evidence (`--pcap-dir`): every alert names a pcap file that tshark reads and that holds
//! exactly the packets the alert stands on, found again in the source capture by tshark; with
//! `--pcap-calls` every call's file holds its SIP and RTP exactly; files are private, and the
//! same whatever the worker count.

use std::collections::{BTreeMap, BTreeSet};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::rtp_oracle::{stream_id, tshark_streams, StreamId};
use crate::util::*;

/// tshark's fields of the frames `filter` selects in `pcap`, one row per frame.
fn tshark_rows(pcap: &Path, filter: &str, fields: &[&str]) -> Vec<Vec<String>> {
    let mut cmd = Command::new("tshark");
    cmd.args(["-n", "-r"]).arg(pcap);
    if !filter.is_empty() {
        cmd.args(["-Y", filter]);
    }
    cmd.args(["-T", "fields", "-E", "occurrence=f"]);
    for f in fields {
        cmd.args(["-e", f]);
    }
    let out = cmd.output().expect("run tshark");
    assert!(
        out.status.success(),
        "tshark -r {}: {}",
        pcap.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.split('\t').map(str::to_string).collect())
        .collect()
}

/// A frame as both files show it: capture time (ns) and length.
fn frames_of(pcap: &Path, filter: &str) -> Vec<(String, String)> {
    tshark_rows(pcap, filter, &["frame.time_epoch", "frame.len"])
        .into_iter()
        .map(|r| (r[0].clone(), r[1].clone()))
        .collect()
}

fn evidence_run(cap: &Path, dir: &Path, extra: &[&str]) -> Vec<Value> {
    let mut args = vec!["--pcap-dir", dir.to_str().unwrap()];
    args.extend_from_slice(extra);
    sensor(&[cap], &args)
}

fn mode_of(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

/// Every alert of the attack and scanner captures names a file of exactly its packets: for an
/// alert on a call, every SIP packet of its Call-ID up to the one that fired; for an alert on
/// a rate, the last `--pcap-sample` SIP packets to or from its source (or target) up to it.
#[test]
fn every_alert_names_a_pcap_of_exactly_its_packets() {
    let sample = 16;
    let mut checked = BTreeMap::new();
    for name in [
        "attack/register-bruteforce.pcap",
        "attack/distributed-bruteforce.pcap",
        "attack/toll-fraud.pcap",
        "attack/callerid-spoofing.pcap",
        "attack/invite-flood.pcap",
        "detect/svwar-invite.pcap",
        "detect/scanner-user-agents.pcap",
    ] {
        let cap = root().join("pcaps").join(name);
        let tmp = tempfile::tempdir().unwrap();
        // Made by the sensor: private.
        let dir = tmp.path().join("evidence");
        let recs = evidence_run(&cap, &dir, &["--pcap-sample", &sample.to_string()]);
        let alerts: Vec<&Value> = recs.iter().filter(|r| r["event_type"] == "alert").collect();
        assert!(!alerts.is_empty(), "{name}: no alerts");
        for a in &alerts {
            let sid = &a["alert"]["signature_id"];
            let ev = &a["evidence"];
            let file = dir.join(
                ev["pcap"]
                    .as_str()
                    .unwrap_or_else(|| panic!("{name}: alert {sid} names no pcap: {a}")),
            );
            assert_eq!(mode_of(&file), 0o600, "{}", file.display());
            let got = frames_of(&file, "");
            assert_eq!(
                got.len() as u64,
                ev["pcap_packets"].as_u64().unwrap(),
                "{name} {sid}"
            );
            // Decided at the end of the capture (a stale password): everything before it.
            let upto = a["pcap_cnt"].as_u64().unwrap_or(u64::from(u32::MAX));
            let scope = ev["pcap_scope"].as_str().unwrap();
            let want = match scope {
                "call" => {
                    let id = ev["call_id"]
                        .as_str()
                        .or(a["call"]["call_id"].as_str())
                        .unwrap();
                    let ids: BTreeSet<String> = tshark_rows(&file, "sip", &["sip.Call-ID"])
                        .into_iter()
                        .map(|r| r[0].clone())
                        .collect();
                    assert_eq!(ids, BTreeSet::from([id.to_string()]), "{name} {sid}");
                    frames_of(
                        &cap,
                        &format!("sip.Call-ID == \"{id}\" && frame.number <= {upto}"),
                    )
                }
                "source" | "target" => {
                    let side = if scope == "source" {
                        "source"
                    } else {
                        "target"
                    };
                    let ip = a["alert"][side]["ip"].as_str().unwrap();
                    let all = frames_of(
                        &cap,
                        &format!("sip && ip.addr == {ip} && frame.number <= {upto}"),
                    );
                    all[all.len().saturating_sub(sample)..].to_vec()
                }
                other => panic!("{name} {sid}: scope {other}"),
            };
            assert_eq!(got, want, "{name}: alert {sid} ({scope}) at packet {upto}");
            *checked.entry(scope.to_string()).or_insert(0) += 1;
        }
        let st = &stats_of(&recs)["stats"]["evidence"];
        assert_eq!(st["alert_files"], alerts.len() as u64, "{name}");
        assert_eq!(st["alerts_without_packets"], 0, "{name}");
        assert_eq!(mode_of(&dir), 0o700);
    }
    // Both kinds were met, many times.
    assert!(
        checked["call"] >= 20 && checked["source"] >= 5,
        "{checked:?}"
    );
}

/// The call records' files with `--pcap-calls`, over UDP, TCP and through a proxy: each holds
/// every SIP packet of its Call-ID in the source capture and exactly the RTP streams the
/// sensor attributed to the call (tshark's rtp,streams on the file equals the rtp records).
#[test]
fn each_call_file_holds_its_sip_and_rtp_exactly() {
    let mut calls = 0;
    let mut with_media = 0;
    for name in [
        "sipp-uac-pcap-g711.pcap",
        "sipp-tcp-calls.pcap",
        "kamailio-proxy-call.pcap",
        "kamailio-auth-calls.pcap",
        "attack/toll-fraud.pcap",
    ] {
        let cap = root().join("pcaps").join(name);
        let dir = tempfile::tempdir().unwrap();
        let recs = evidence_run(&cap, dir.path(), &["--pcap-calls"]);
        for c in recs.iter().filter(|r| r["event_type"] == "call") {
            let id = c["call"]["call_id"].as_str().unwrap();
            let file = dir.path().join(
                c["call"]["pcap"]
                    .as_str()
                    .unwrap_or_else(|| panic!("{name}: call {id} has no pcap")),
            );
            assert_eq!(mode_of(&file), 0o600);
            let sip = |p: &Path| frames_of(p, &format!("sip.Call-ID == \"{id}\""));
            let want_sip = sip(&cap);
            assert!(!want_sip.is_empty());
            assert_eq!(sip(&file), want_sip, "{name}: SIP of {id}");
            // The file holds nothing else than the call's SIP and its streams.
            let rtp: BTreeMap<StreamId, u64> = recs
                .iter()
                .filter(|r| r["event_type"] == "rtp" && r["rtp"]["call_id"] == id)
                .map(|r| (stream_id(r), r["rtp"]["packets"].as_u64().unwrap()))
                .collect();
            let theirs: BTreeMap<_, u64> = tshark_streams(&file)
                .into_iter()
                .map(|s| (s.key, s.packets))
                .collect();
            assert_eq!(theirs, rtp, "{name}: RTP of {id}");
            let total = frames_of(&file, "").len();
            let media: u64 = rtp.values().sum();
            assert_eq!(total as u64, want_sip.len() as u64 + media, "{name}: {id}");
            calls += 1;
            with_media += usize::from(media > 0);
        }
        let st = &stats_of(&recs)["stats"]["evidence"];
        assert_eq!(st["calls_not_recorded"], 0, "{name}");
    }
    assert!(
        calls >= 20 && with_media >= 3,
        "{calls} calls, {with_media} with media"
    );
}

/// The files in a folder, by relative path, with their bytes.
fn folder(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p.strip_prefix(dir).unwrap().to_path_buf();
                out.insert(rel, std::fs::read(&p).unwrap());
            }
        }
    }
    out
}

/// The same files, byte for byte, for one worker and for four.
#[test]
fn evidence_is_the_same_for_any_worker_count() {
    let cap = root().join("pcaps/attack/register-bruteforce.pcap");
    let calls = root().join("pcaps/sipp-uac-pcap-g711.pcap");
    let run = |workers: &str| {
        let dir = tempfile::tempdir().unwrap();
        let recs = sensor(
            &[&cap, &calls],
            &[
                "--workers",
                workers,
                "--pcap-dir",
                dir.path().to_str().unwrap(),
                "--pcap-calls",
            ],
        );
        let named: Vec<String> = recs
            .iter()
            .filter_map(|r| {
                r["evidence"]["pcap"]
                    .as_str()
                    .or(r["call"]["pcap"].as_str())
                    .map(str::to_string)
            })
            .collect();
        (folder(dir.path()), named)
    };
    let (one, named_one) = run("1");
    let (four, named_four) = run("4");
    assert!(one.len() > 10, "{} files", one.len());
    assert_eq!(one, four);
    assert_eq!(named_one, named_four);
    // Every file is named by a record, and every named file is there.
    let names: BTreeSet<PathBuf> = named_one.iter().map(PathBuf::from).collect();
    assert_eq!(names, one.keys().cloned().collect());
}

/// A folder that cannot be made is one clear error line and a failed exit.
#[test]
fn an_unusable_folder_is_one_error_line() {
    let file = tempfile::NamedTempFile::new().unwrap();
    let out = Command::new(bin())
        .args(["replay", "--quiet", "--eve", "-", "--pcap-dir"])
        .arg(file.path().join("sub"))
        .arg(root().join("pcaps/attack/toll-fraud.pcap"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("cannot use the evidence folder"), "{err}");
    assert!(out.stdout.is_empty());
}

/// An INVITE sent in three IP fragments: its alert's and its call's files hold the fragments'
/// frames too, so that Wireshark reassembles the message again (the capture holds that call
/// alone: its call file is the capture, frame for frame).
#[test]
fn a_reassembled_invite_keeps_its_fragments() {
    let cap = root().join("pcaps/sipp-fragmented-invite.pcap");
    let dir = tempfile::tempdir().unwrap();
    let recs = evidence_run(&cap, dir.path(), &["--pcap-calls"]);
    let all = frames_of(&cap, "");
    assert_eq!(all.len(), 8);
    let call = recs.iter().find(|r| r["event_type"] == "call").unwrap();
    let file = dir.path().join(call["call"]["pcap"].as_str().unwrap());
    assert_eq!(frames_of(&file, ""), all);
    // tshark reassembles the INVITE from the file's fragments.
    assert_eq!(frames_of(&file, "sip.Method == \"INVITE\"").len(), 1);
    let alert = recs.iter().find(|r| r["event_type"] == "alert").unwrap();
    let file = dir.path().join(alert["evidence"]["pcap"].as_str().unwrap());
    assert_eq!(frames_of(&file, ""), all[..3].to_vec());
    let st = &stats_of(&recs)["stats"];
    assert_eq!(st["evidence"]["messages_without_frames"], 0);
    assert!(st["capture"].get("evidence_fragments_dropped").is_none());
}
