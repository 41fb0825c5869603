//! Bad arguments and unreadable files: one clear error line and a non-zero exit.

use std::process::Command;

use crate::util::*;

fn run(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(bin()).args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn missing_file_is_one_error_line() {
    let (code, _, err) = run(&["replay", "--eve", "-", "/nonexistent/x.pcap"]);
    assert_ne!(code, 0);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("/nonexistent/x.pcap") && err.contains("no such file"),
        "{err}"
    );
}

#[test]
fn not_a_capture_is_reported_and_exits_non_zero() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("junk.pcap");
    std::fs::write(&p, b"this is not a capture file at all").unwrap();
    let (code, _, err) = run(&["replay", "--eve", "-", p.to_str().unwrap()]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("junk.pcap"), "{err}");
}

#[test]
fn a_corrupt_file_does_not_stop_the_others() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a-junk.pcap"), b"garbage").unwrap();
    let good = root().join("pcaps/sipp-failures.pcap");
    std::fs::copy(&good, dir.path().join("b-good.pcap")).unwrap();
    let out = Command::new(bin())
        .args(["replay", "--eve", "-"])
        .arg(dir.path())
        .output()
        .unwrap();
    // The rest is processed, the bad file named at the end, and the exit status says so.
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    let last = err.lines().last().unwrap_or_default();
    assert!(
        last.contains("a-junk.pcap") && last.contains("error"),
        "{err}"
    );
    assert_eq!(err.matches("a-junk.pcap").count(), 1, "{err}");
    let calls = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.contains("\"event_type\":\"call\""))
        .count();
    let alone = sensor(&[&good], &[])
        .iter()
        .filter(|r| r["event_type"] == "call")
        .count();
    assert!(alone >= 3);
    assert_eq!(calls, alone, "the good file's calls");
}

/// The sensor on one file, quietly, records to stdout: exit code, records, stderr.
fn replay_one(p: &std::path::Path) -> (i32, Vec<serde_json::Value>, String) {
    let (code, out, err) = run(&["replay", "-q", "--eve", "-", p.to_str().unwrap()]);
    let recs = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad line {l:?}: {e}")))
        .collect();
    (code, recs, err)
}

#[test]
fn a_file_cut_mid_record_gives_its_packets_and_one_error_line() {
    let dir = tempfile::tempdir().unwrap();
    let whole = std::fs::read(root().join("pcaps/sipp-uac-pcap-g711.pcap")).unwrap();
    let p = dir.path().join("cut.pcap");
    std::fs::write(&p, &whole[..100_000]).unwrap();
    let (code, recs, err) = replay_one(&p);
    assert_eq!(code, 1, "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("cut.pcap") && err.contains("truncated"),
        "{err}"
    );
    // The packets before the cut were processed: the first call's set-up is in them.
    let st = stats_of(&recs);
    let packets = st["stats"]["capture"]["packets"].as_u64().unwrap();
    assert!(packets > 300 && packets < 756, "{packets}");
    assert!(recs.iter().any(|r| r["event_type"] == "call"));
}

#[test]
fn pcapng_with_an_unknown_block_type_is_read_past_it() {
    let dir = tempfile::tempdir().unwrap();
    let ng = dir.path().join("g711.pcapng");
    let st = Command::new("editcap")
        .args(["-F", "pcapng"])
        .arg(root().join("pcaps/sipp-uac-pcap-g711.pcap"))
        .arg(&ng)
        .status()
        .expect("editcap (wireshark-common)");
    assert!(st.success());
    // pcapng: a block is type (u32), total length (u32), body padded to 32 bits, total length
    // again. Insert one of a type no spec defines after the Section Header and Interface
    // Description blocks; readers must skip blocks they do not know.
    let d = std::fs::read(&ng).unwrap();
    let len_at = |off: usize| u32::from_le_bytes(d[off + 4..off + 8].try_into().unwrap()) as usize;
    let shb = len_at(0);
    let at = shb + len_at(shb);
    let body = b"voip-sentinel: a block of unknown type\0\0";
    assert_eq!(body.len() % 4, 0);
    let total = (12 + body.len()) as u32;
    let mut out = d[..at].to_vec();
    out.extend_from_slice(&0x0BAD_BEEFu32.to_le_bytes());
    out.extend_from_slice(&total.to_le_bytes());
    out.extend_from_slice(body);
    out.extend_from_slice(&total.to_le_bytes());
    out.extend_from_slice(&d[at..]);
    let p = dir.path().join("unknown-block.pcapng");
    std::fs::write(&p, out).unwrap();
    let (code, recs, err) = replay_one(&p);
    assert_eq!(code, 0, "{err}");
    assert_eq!(stats_of(&recs)["stats"]["capture"]["packets"], 756);
    assert_eq!(recs.iter().filter(|r| r["event_type"] == "call").count(), 3);
}

#[test]
fn snaplen_cut_packets_are_counted_not_parsed() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("snap60.pcap");
    let st = Command::new("editcap")
        .args(["-s", "60"])
        .arg(root().join("pcaps/sipp-uac-pcap-g711.pcap"))
        .arg(&p)
        .status()
        .expect("editcap");
    assert!(st.success());
    let (code, recs, err) = replay_one(&p);
    assert_eq!(code, 0, "{err}");
    let st = &stats_of(&recs)["stats"];
    assert_eq!(st["capture"]["packets"], 756);
    // Every frame longer than 60 bytes lost its end: none of them is a SIP message.
    let truncated = st["capture"]["decode_errors"]["truncated"]
        .as_u64()
        .unwrap_or(0);
    assert!(truncated > 700, "{st}");
    assert_eq!(st["sip"]["messages"], 0);
}

#[test]
fn a_fifo_or_device_is_refused_not_waited_on() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("nobody-writes.pcap");
    let st = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(st.success());
    for p in [fifo.to_str().unwrap(), "/dev/zero"] {
        let (code, _, err) = run(&["replay", "--eve", "-", p]);
        assert_eq!(code, 2, "{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(
            err.contains(p) && err.contains("not a regular file"),
            "{err}"
        );
    }
}

#[test]
fn bad_worker_count_is_refused() {
    let (code, _, err) = run(&["replay", "--workers", "0", "x.pcap"]);
    assert_ne!(code, 0);
    assert!(err.contains("--workers"), "{err}");
}

#[test]
fn missing_interface_is_one_error_line() {
    let (code, _, err) = run(&["live", "-i", "nosuchif0", "--eve", "-"]);
    assert_ne!(code, 0);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("nosuchif0"), "{err}");
}

#[test]
fn invalid_bpf_filter_is_one_error_line() {
    let (code, _, err) = run(&["live", "-i", "lo", "-f", "udp and and", "--eve", "-"]);
    assert_ne!(code, 0);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("filter"), "{err}");
}

#[test]
fn help_has_examples() {
    let (code, out, _) = run(&["--help"]);
    assert_eq!(code, 0);
    assert!(out.contains("Examples:") && out.contains("replay") && out.contains("live"));
}
