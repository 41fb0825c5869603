//! Live capture: the sensor on `lo` while sipp places calls reports the same records as a
//! replay of tcpdump's capture of the same traffic. Needs root (or CAP_NET_RAW), sipp and tcpdump.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::util::*;

struct Killer(Vec<Child>);

impl Drop for Killer {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn interrupt(c: &Child) {
    let _ = Command::new("kill")
        .arg("-INT")
        .arg(c.id().to_string())
        .status();
}

fn wait_exit(c: &mut Child, limit: Duration) -> std::process::ExitStatus {
    let t = Instant::now();
    loop {
        if let Some(s) = c.try_wait().unwrap() {
            return s;
        }
        if t.elapsed() >= limit {
            // Not left running after the test: it would hold its addresses and ports.
            let _ = c.kill();
            let _ = c.wait();
            panic!("process {} did not exit", c.id());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Fields that hold a time or a duration: the live sensor and tcpdump read the same packets
/// through two sockets, whose kernel timestamps may differ by microseconds.
const TIME_FIELDS: &[&str] = &[
    "timestamp",
    "start",
    "ringing",
    "answer",
    "end",
    "duration",
    "setup_time",
    "post_dial_delay",
    "response_time_ms",
];

/// Records sorted by their content without times, and their time fields apart.
fn sip_and_calls(recs: &[Value]) -> Vec<(String, Vec<f64>)> {
    fn split(v: &Value, times: &mut Vec<f64>) -> Value {
        match v {
            Value::Object(m) => {
                let mut out = serde_json::Map::new();
                for (k, x) in m {
                    // Where the packets came from: the interface live, the file replayed. An
                    // evidence file's name holds its time (compared by content instead).
                    if k == "in_iface" || k == "pcap_filename" || k == "pcap" {
                        continue;
                    }
                    if TIME_FIELDS.contains(&k.as_str()) {
                        times.push(match x {
                            Value::String(s) => seconds_of(s),
                            other if k.ends_with("_ms") => other.as_f64().unwrap() / 1e3,
                            other => other.as_f64().unwrap(),
                        });
                    } else {
                        out.insert(k.clone(), split(x, times));
                    }
                }
                Value::Object(out)
            }
            other => other.clone(),
        }
    }
    let mut v: Vec<(String, Vec<f64>)> = recs
        .iter()
        .filter(|r| matches!(r["event_type"].as_str(), Some("sip" | "call")))
        .map(|r| {
            let mut t = Vec::new();
            let rest = split(r, &mut t);
            (rest.to_string(), t)
        })
        .collect();
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v
}

/// Seconds within the day of an RFC 3339 timestamp (enough to compare nearby times).
fn seconds_of(ts: &str) -> f64 {
    let t = &ts[11..26];
    let h: f64 = t[0..2].parse().unwrap();
    let m: f64 = t[3..5].parse().unwrap();
    let s: f64 = t[6..].parse().unwrap();
    h * 3600.0 + m * 60.0 + s
}

fn read_records(p: &Path) -> Vec<Value> {
    std::fs::read_to_string(p)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("cut or bad line {l:?}: {e}")))
        .collect()
}

/// A sipp UAS on `ip`:5060 for `calls` calls (sipp itself, so that killing the child ends it).
fn sipp_uas(ip: &str, calls: u32) -> Child {
    Command::new("sipp")
        .args([
            "-sn",
            "uas",
            "-i",
            ip,
            "-p",
            "5060",
            "-m",
            &calls.to_string(),
            "-nostdin",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("sipp")
}

/// A sipp UAC on `ip`:5061 placing `calls` calls to `target`:5060, waited for (30 s at most).
fn sipp_uac(target: &str, ip: &str, calls: u32, extra: &[&str]) -> std::process::ExitStatus {
    Command::new("timeout")
        .args([
            "30",
            "sipp",
            "-sn",
            "uac",
            &format!("{target}:5060"),
            "-i",
            ip,
            "-p",
            "5061",
        ])
        .args(["-m", &calls.to_string(), "-nostdin"])
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("sipp")
}

/// The sensor capturing on `lo` with a filter, two workers, records to `eve`.
fn live_sensor(filter: &str, eve: &Path) -> Child {
    live_sensor_with(filter, eve, &[])
}

fn live_sensor_with(filter: &str, eve: &Path, extra: &[&str]) -> Child {
    Command::new(bin())
        .args(["live", "-i", "lo", "-f", filter, "--workers", "2", "--eve"])
        .arg(eve)
        .args(extra)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// The frame lengths of a pcap file, as tshark reads it; the file must read to its end
/// (tshark says "cut short" and fails on a torn last record).
fn frame_lengths(p: &Path) -> Vec<u64> {
    let out = Command::new("tshark")
        .args(["-n", "-r"])
        .arg(p)
        .args(["-T", "fields", "-e", "frame.len"])
        .output()
        .expect("tshark");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && !err.contains("cut short"),
        "{}: {err}",
        p.display()
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.trim().parse().unwrap())
        .collect()
}

/// Call-ID -> the frame lengths of its call's file.
fn call_files(recs: &[Value], dir: &Path) -> std::collections::BTreeMap<String, Vec<u64>> {
    recs.iter()
        .filter(|r| r["event_type"] == "call")
        .map(|r| {
            let rel = r["call"]["pcap"].as_str().expect("call.pcap");
            (
                r["call"]["call_id"].as_str().unwrap().to_string(),
                frame_lengths(&dir.join(rel)),
            )
        })
        .collect()
}

#[test]
fn live_capture_on_loopback_equals_replay_of_the_same_traffic() {
    let dir = tempfile::tempdir().unwrap();
    let eve = dir.path().join("live.json");
    let pcap = dir.path().join("same.pcap");
    let filter = "host 127.0.0.231 or host 127.0.0.232";
    let mut kids = Killer(Vec::new());
    let (live_ev, replay_ev) = (dir.path().join("live-ev"), dir.path().join("replay-ev"));

    let mut sensor = live_sensor_with(
        filter,
        &eve,
        &["--pcap-dir", live_ev.to_str().unwrap(), "--pcap-calls"],
    );
    let tcpdump = Command::new("tcpdump")
        .args(["-i", "lo", "-U", "-s", "0", "-w"])
        .arg(&pcap)
        .arg(filter)
        .stderr(Stdio::null())
        .spawn()
        .expect("tcpdump");
    kids.0.push(tcpdump);
    std::thread::sleep(Duration::from_millis(1500));

    let mut uas = sipp_uas("127.0.0.232", 3);
    std::thread::sleep(Duration::from_millis(500));
    let uac = sipp_uac("127.0.0.232", "127.0.0.231", 3, &["-r", "5", "-d", "300"]);
    assert!(uac.success(), "sipp uac failed: {uac:?}");
    let _ = wait_exit(&mut uas, Duration::from_secs(30));
    std::thread::sleep(Duration::from_millis(1000));

    interrupt(&sensor);
    let status = wait_exit(&mut sensor, Duration::from_secs(20));
    assert!(status.success(), "sensor exit: {status:?}");
    for c in &kids.0 {
        interrupt(c);
    }
    std::thread::sleep(Duration::from_millis(500));

    let live_recs = read_records(&eve);
    let live = sip_and_calls(&live_recs);
    let calls = live
        .iter()
        .filter(|l| l.0.contains("\"event_type\":\"call\""))
        .count();
    assert_eq!(calls, 3, "live records: {live:?}");
    let replay_recs = crate::util::sensor(
        &[&pcap],
        &[
            "--workers",
            "3",
            "--pcap-dir",
            replay_ev.to_str().unwrap(),
            "--pcap-calls",
        ],
    );
    // The same evidence: each call's file and each alert's packets.
    let live_files = call_files(&live_recs, &live_ev);
    assert_eq!(live_files.len(), 3);
    // sipp's default call: INVITE, 180, 200, ACK, BYE, 200.
    assert!(live_files.values().all(|f| f.len() == 6), "{live_files:?}");
    assert_eq!(live_files, call_files(&replay_recs, &replay_ev));
    let alert_packets = |recs: &[Value], dir: &Path| -> Vec<Vec<u64>> {
        recs.iter()
            .filter(|r| r["event_type"] == "alert")
            .map(|r| frame_lengths(&dir.join(r["evidence"]["pcap"].as_str().unwrap())))
            .collect()
    };
    let live_alerts = alert_packets(&live_recs, &live_ev);
    assert!(!live_alerts.is_empty());
    assert_eq!(live_alerts, alert_packets(&replay_recs, &replay_ev));
    let replay = sip_and_calls(&replay_recs);
    assert_eq!(live.len(), replay.len());
    for (a, b) in live.iter().zip(&replay) {
        assert_eq!(a.0, b.0, "live and replay records differ");
        assert_eq!(a.1.len(), b.1.len());
        for (x, y) in a.1.iter().zip(&b.1) {
            assert!((x - y).abs() < 0.002, "times differ: {x} vs {y} in {}", a.0);
        }
    }
}

/// SIGTERM while calls are up: exit 0, every line whole JSON, and every call seen written as
/// still open at the end of the capture.
#[test]
fn sigterm_mid_call_writes_the_open_calls_and_exits_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let eve = dir.path().join("live.json");
    let filter = "host 127.0.0.233 or host 127.0.0.234";
    let mut kids = Killer(Vec::new());
    let evidence = dir.path().join("evidence");
    let mut sensor = live_sensor_with(
        filter,
        &eve,
        &["--pcap-dir", evidence.to_str().unwrap(), "--pcap-calls"],
    );
    std::thread::sleep(Duration::from_millis(1500));
    for (args, who) in [
        (
            vec!["-sn", "uas", "-i", "127.0.0.234", "-p", "5060", "-m", "2"],
            "uas",
        ),
        (
            vec![
                "-sn",
                "uac",
                "127.0.0.234:5060",
                "-i",
                "127.0.0.233",
                "-p",
                "5061",
                "-m",
                "2",
                "-r",
                "10",
                "-d",
                "60000",
            ],
            "uac",
        ),
    ] {
        // sipp itself (not under `timeout`), so that dropping `kids` ends it.
        let c = Command::new("sipp")
            .args(args)
            .arg("-nostdin")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("sipp {who}: {e}"));
        kids.0.push(c);
        std::thread::sleep(Duration::from_millis(500));
    }
    // Both calls are answered within milliseconds and last 30 s: they are up now.
    std::thread::sleep(Duration::from_millis(2000));
    let _ = Command::new("kill")
        .arg("-TERM")
        .arg(sensor.id().to_string())
        .status();
    let status = wait_exit(&mut sensor, Duration::from_secs(20));
    assert!(status.success(), "sensor exit: {status:?}");
    drop(kids);

    let text = std::fs::read_to_string(&eve).unwrap();
    assert!(text.ends_with('\n'), "last line cut");
    let recs = read_records(&eve);
    let calls: Vec<&Value> = recs.iter().filter(|r| r["event_type"] == "call").collect();
    assert_eq!(calls.len(), 2, "{text}");
    for c in &calls {
        assert_eq!(c["call"]["outcome"], "open", "{c}");
        assert_eq!(c["call"]["end_reason"], "capture_end", "{c}");
        assert_eq!(c["call"]["state"], "confirmed", "{c}");
    }
    // The open calls' files, finished at the stop: whole, with the setup so far (INVITE,
    // 180, 200, ACK).
    let files = call_files(&recs, &evidence);
    assert_eq!(files.len(), 2);
    for (id, frames) in &files {
        assert_eq!(frames.len(), 4, "{id}: {frames:?}");
    }
    assert_eq!(
        recs.last().map(|r| r["event_type"].clone()),
        Some(Value::from("stats"))
    );
}

/// One call, then a quiet wire for `quiet`, then SIGTERM: the sensor must be gone within 2 s,
/// exit 0, and have written the call and the stats record. `extra` shortens the tick period and
/// the queues, so that a few seconds of quiet pass more ticks than every queue holds.
fn quiet_then_stop(ips: (&str, &str), quiet: Duration, extra: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let eve = dir.path().join("live.json");
    let filter = format!("host {} or host {}", ips.0, ips.1);
    let mut sensor = Command::new(bin())
        .args(["live", "-i", "lo", "-f", &filter, "--workers", "2", "--eve"])
        .arg(&eve)
        .args(extra)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    let mut uas = sipp_uas(ips.1, 1);
    std::thread::sleep(Duration::from_millis(500));
    let uac = sipp_uac(ips.1, ips.0, 1, &["-d", "200"]);
    assert!(uac.success(), "sipp uac failed: {uac:?}");
    let _ = wait_exit(&mut uas, Duration::from_secs(30));

    std::thread::sleep(quiet);
    let _ = Command::new("kill")
        .arg("-TERM")
        .arg(sensor.id().to_string())
        .status();
    let asked = Instant::now();
    let status = wait_exit(&mut sensor, Duration::from_secs(30));
    let took = asked.elapsed();
    assert!(status.success(), "sensor exit: {status:?}");
    assert!(
        took < Duration::from_secs(2),
        "stop took {took:?} after {quiet:?} of quiet"
    );
    let recs = read_records(&eve);
    let calls: Vec<&Value> = recs.iter().filter(|r| r["event_type"] == "call").collect();
    assert_eq!(calls.len(), 1, "{recs:?}");
    assert_eq!(calls[0]["call"]["outcome"], "answered");
    assert_eq!(
        recs.iter().filter(|r| r["event_type"] == "sip").count(),
        3,
        "INVITE, ACK (no response: its own record) and BYE transactions"
    );
    // Live records name their interface, as Suricata's in_iface; no file.
    for r in recs.iter().filter(|r| r["event_type"] == "sip") {
        assert_eq!(r["in_iface"], "lo", "{r}");
        assert!(r["pcap_filename"].is_null(), "{r}");
    }
    assert_eq!(
        recs.last().map(|r| r["event_type"].clone()),
        Some(Value::from("stats"))
    );
}

/// A quiet wire after traffic: with 10 ms ticks and queues of two batches, 4 s of quiet pass
/// about 40 ticks, many times what the queues hold. The sensor used to hang on stop once the
/// queues had filled (live, about 5.5 minutes of quiet at the default tick of 1 s).
#[test]
fn stop_after_a_quiet_period_is_prompt_and_loses_nothing() {
    quiet_then_stop(
        ("127.0.0.237", "127.0.0.238"),
        Duration::from_secs(4),
        &["--tick-ms", "10", "--queue-batches", "2"],
    );
}

/// The same at the defaults, quiet for 6 minutes (longer than the hang took to appear):
/// `cargo test --release --test integration -- --ignored quiet_for_six_minutes`.
#[test]
#[ignore = "six minutes long; run in release by hand"]
fn stop_after_quiet_for_six_minutes_at_the_defaults() {
    quiet_then_stop(
        ("127.0.0.239", "127.0.0.240"),
        Duration::from_secs(360),
        &[],
    );
}

/// `--user nobody`: the capture is opened as root, then the process runs as nobody (uid and
/// gid 65534 on Debian) and records still flow; a user that does not exist is one error line.
#[test]
fn live_capture_drops_root_with_user() {
    let dir = tempfile::tempdir().unwrap();
    let eve = dir.path().join("live.json");
    let filter = "host 127.0.0.235 or host 127.0.0.236";
    let mut sensor = Command::new(bin())
        .args([
            "live", "-i", "lo", "-f", filter, "--user", "nobody", "--eve",
        ])
        .arg(&eve)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    let status = std::fs::read_to_string(format!("/proc/{}/status", sensor.id())).unwrap();
    let uid_line = status.lines().find(|l| l.starts_with("Uid:")).unwrap();
    let gid_line = status.lines().find(|l| l.starts_with("Gid:")).unwrap();
    let groups = status.lines().find(|l| l.starts_with("Groups:")).unwrap();
    // Real, effective, saved and filesystem ids: all the unprivileged user's.
    assert_eq!(
        uid_line.split_whitespace().collect::<Vec<_>>()[1..],
        ["65534"; 4],
        "{uid_line}"
    );
    assert_eq!(
        gid_line.split_whitespace().collect::<Vec<_>>()[1..],
        ["65534"; 4],
        "{gid_line}"
    );
    assert_eq!(
        groups.split_whitespace().collect::<Vec<_>>()[1..],
        ["65534"],
        "{groups}"
    );

    let mut kids = Killer(Vec::new());
    kids.0.push(sipp_uas("127.0.0.236", 1));
    std::thread::sleep(Duration::from_millis(500));
    let uac = sipp_uac("127.0.0.236", "127.0.0.235", 1, &["-d", "200"]);
    assert!(uac.success(), "sipp uac: {uac:?}");
    std::thread::sleep(Duration::from_millis(1000));
    interrupt(&sensor);
    let status = wait_exit(&mut sensor, Duration::from_secs(20));
    assert!(status.success(), "sensor exit: {status:?}");
    drop(kids);
    let recs = read_records(&eve);
    let calls: Vec<&Value> = recs.iter().filter(|r| r["event_type"] == "call").collect();
    assert_eq!(calls.len(), 1, "{recs:?}");
    assert_eq!(calls[0]["call"]["outcome"], "answered");

    let out = Command::new(bin())
        .args(["live", "-i", "lo", "--user", "no-such-user-x", "--eve", "-"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("no-such-user-x") && err.contains("does not exist"),
        "{err}"
    );
}

/// An RTP flood replayed onto `lo` at its real pace (tcpreplay): the live sensor writes the
/// flood alert while the call is still up, seconds after the flood, not when the stream times
/// out (30 s of silence) or at exit.
#[test]
fn a_live_rtp_flood_is_reported_as_it_happens() {
    let dir = tempfile::tempdir().unwrap();
    let eve = dir.path().join("live.json");
    let mut sensor = live_sensor(
        "host 127.0.0.233 or host 127.0.0.234 or host 127.0.0.235",
        &eve,
    );
    std::thread::sleep(Duration::from_millis(1500));
    // 8 s of capture; the flood (708 packets at 1,000/s) runs from 2.5 s to 3.2 s.
    let replay = Command::new("tcpreplay")
        .args(["-q", "-i", "lo"])
        .arg(root().join("pcaps/detect/rtp-flood.pcap"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("tcpreplay");
    assert!(replay.success(), "tcpreplay: {replay:?}");
    let flood_alerts = || {
        std::fs::read_to_string(&eve)
            .unwrap_or_default()
            .lines()
            .filter(|l| l.contains("\"signature_id\":2100007"))
            .count()
    };
    // Written within two seconds of the replay's end (ticks flush the EVE file every second).
    let t = Instant::now();
    while flood_alerts() == 0 && t.elapsed() < Duration::from_secs(2) {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(flood_alerts(), 1, "no flood alert while the sensor runs");
    interrupt(&sensor);
    let status = wait_exit(&mut sensor, Duration::from_secs(20));
    assert!(status.success(), "sensor exit: {status:?}");
    assert_eq!(flood_alerts(), 1);
}

/// A live sensor whose records cannot be written (here `/dev/full`, as a full disk) says so
/// when it happens, and with `--output-fail-secs` gives up with exit status 1 so that its
/// service manager restarts it, instead of capturing on with its records lost in silence.
#[test]
fn a_live_sensor_whose_output_fails_says_so_and_exits_non_zero() {
    let (a, b) = ("127.0.0.243", "127.0.0.244");
    let filter = format!("host {a} or host {b}");
    let mut sensor = Command::new(bin())
        .args(["live", "-i", "lo", "-f", &filter, "--workers", "2", "-q"])
        .args([
            "--eve",
            "/dev/full",
            "--output-fail-secs",
            "1",
            "--tick-ms",
            "100",
        ])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    let mut uas = sipp_uas(b, 400);
    let _kill = Killer(vec![]);
    std::thread::sleep(Duration::from_millis(300));
    // Calls until the sensor gives up (a call every 20 ms for at most 8 s).
    // sipp itself, not under `timeout`: killing a `timeout` leaves its sipp running, holding the
    // port that the next run of this test needs.
    let mut uac = Command::new("sipp")
        .args([
            "-timeout",
            "10s",
            "-sn",
            "uac",
            &format!("{b}:5060"),
            "-i",
            a,
            "-p",
            "5061",
        ])
        .args(["-m", "400", "-r", "50", "-d", "100", "-nostdin"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let status = wait_exit(&mut sensor, Duration::from_secs(15));
    let _ = uac.kill();
    let _ = uac.wait();
    let _ = uas.kill();
    let _ = uas.wait();
    let mut err = String::new();
    std::io::Read::read_to_string(&mut sensor.stderr.take().unwrap(), &mut err).unwrap();
    assert_eq!(status.code(), Some(1), "{err}");
    assert_eq!(
        err.matches("cannot write records to /dev/full: No space left on device")
            .count(),
        1,
        "said once when it started: {err}"
    );
    assert!(
        err.contains("could not be written for 1 s: stopping"),
        "{err}"
    );
    assert!(
        err.lines()
            .last()
            .unwrap()
            .contains("records could not be written"),
        "{err}"
    );
}

/// A burst faster than the sensor reads is held in the kernel ring, not dropped: 34,509 packets
/// (`office.pcap` three times, moved to 127.0.99.0/24 so that no other test sees them) replayed
/// onto `lo` as fast as tcpreplay goes. Immediate mode's ring (TPACKET_V2) had one slot per
/// packet sized by lo's 65,536-byte MTU, about a thousand in the default 64 MiB, and dropped
/// most of such a burst; a ring of blocks holds it whole.
#[test]
fn a_burst_on_lo_is_held_in_the_ring_not_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let moved = dir.path().join("office-99.pcap");
    let rewrite = Command::new("tcprewrite")
        .args(["--pnat=127.0.0.0/24:127.0.99.0/24", "--fixcsum", "--infile"])
        .arg(root().join("pcaps/benign/office.pcap"))
        .arg("--outfile")
        .arg(&moved)
        .status()
        .expect("tcprewrite");
    assert!(rewrite.success(), "tcprewrite: {rewrite:?}");
    let sent = frame_lengths(&moved).len() * 3;
    assert_eq!(sent, 34_509);
    let eve = dir.path().join("live.json");
    let mut sensor = Killer(vec![live_sensor("net 127.0.99.0/24", &eve)]);
    std::thread::sleep(Duration::from_millis(1500));
    let replay = Command::new("tcpreplay")
        .args(["-q", "-i", "lo", "--topspeed", "--loop=3"])
        .arg(&moved)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("tcpreplay");
    assert!(replay.success(), "tcpreplay: {replay:?}");
    // A debug build reads slower than tcpreplay sends: stop the sensor once it is idle.
    let c = &mut sensor.0[0];
    wait_idle(c.id(), Duration::from_secs(90));
    interrupt(c);
    let status = wait_exit(c, Duration::from_secs(60));
    assert!(status.success(), "sensor exit: {status:?}");
    let recs = read_records(&eve);
    // The last stats record: the run's totals.
    let stats = recs.iter().rev().find(|r| r["event_type"] == "stats");
    let cap = &stats.expect("a stats record")["stats"]["capture"];
    assert_eq!(cap["kernel_dropped"].as_u64(), Some(0), "{cap}");
    assert_eq!(cap["packets"].as_u64(), Some(sent as u64), "{cap}");
}

/// Wait until process `pid` has used less than 30 ms of CPU in half a second, or `limit`.
fn wait_idle(pid: u32, limit: Duration) {
    let ticks = || {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        // After the command name (which may hold spaces), from the state on: utime and
        // stime are the 12th and 13th fields.
        let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
        let f: Vec<&str> = rest.split_whitespace().collect();
        let n = |i: usize| f.get(i).and_then(|x| x.parse::<u64>().ok()).unwrap_or(0);
        n(11) + n(12)
    };
    let t = Instant::now();
    while t.elapsed() < limit {
        let before = ticks();
        std::thread::sleep(Duration::from_millis(500));
        // A process that has gone reads as 0 ticks: idle, not an overflow.
        if ticks().saturating_sub(before) < 3 {
            return;
        }
    }
}
