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
    assert!(out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("a-junk.pcap"), "{err}");
    let calls = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.contains("\"event_type\":\"call\""))
        .count();
    assert!(calls >= 3, "{calls} calls");
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
