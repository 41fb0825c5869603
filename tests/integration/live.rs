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
        assert!(t.elapsed() < limit, "process {} did not exit", c.id());
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn sip_and_calls(recs: &[Value]) -> Vec<String> {
    let mut v: Vec<String> = recs
        .iter()
        .filter(|r| matches!(r["event_type"].as_str(), Some("sip" | "call")))
        .map(|r| r.to_string())
        .collect();
    v.sort();
    v
}

fn read_records(p: &Path) -> Vec<Value> {
    std::fs::read_to_string(p)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("cut or bad line {l:?}: {e}")))
        .collect()
}

#[test]
fn live_capture_on_loopback_equals_replay_of_the_same_traffic() {
    let dir = tempfile::tempdir().unwrap();
    let eve = dir.path().join("live.json");
    let pcap = dir.path().join("same.pcap");
    let filter = "host 127.0.0.231 or host 127.0.0.232";
    let mut kids = Killer(Vec::new());

    let mut sensor = Command::new(bin())
        .args(["live", "-i", "lo", "-f", filter, "--workers", "2", "--eve"])
        .arg(&eve)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let tcpdump = Command::new("tcpdump")
        .args(["-i", "lo", "-U", "-s", "0", "-w"])
        .arg(&pcap)
        .arg(filter)
        .stderr(Stdio::null())
        .spawn()
        .expect("tcpdump");
    kids.0.push(tcpdump);
    std::thread::sleep(Duration::from_millis(1500));

    let mut uas = Command::new("timeout")
        .args([
            "30",
            "sipp",
            "-sn",
            "uas",
            "-i",
            "127.0.0.232",
            "-p",
            "5060",
            "-m",
            "3",
            "-nostdin",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("sipp");
    std::thread::sleep(Duration::from_millis(500));
    let uac = Command::new("timeout")
        .args([
            "30",
            "sipp",
            "-sn",
            "uac",
            "127.0.0.232:5060",
            "-i",
            "127.0.0.231",
            "-p",
            "5061",
            "-m",
            "3",
            "-r",
            "5",
            "-d",
            "300",
            "-nostdin",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("sipp");
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

    let live = sip_and_calls(&read_records(&eve));
    let calls = live
        .iter()
        .filter(|l| l.contains("\"event_type\":\"call\""))
        .count();
    assert_eq!(calls, 3, "live records:\n{}", live.join("\n"));
    let replay = sip_and_calls(&sensor_file(&pcap));
    assert_eq!(live, replay);
}

fn sensor_file(p: &Path) -> Vec<Value> {
    sensor(&[p], &["--workers", "3"])
}
