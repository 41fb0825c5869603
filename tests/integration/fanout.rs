//! AF_PACKET fanout: two sensors in one fanout group on `lo` share the flows of real sipp calls
//! (scripts/make-bench-pcap.sh, 20 calls): together they report exactly the RTP streams and SIP
//! messages a third sensor outside the group reports, and no stream twice. Needs root.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::util::*;

struct Sensors(Vec<Child>);

impl Drop for Sensors {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn records(p: &Path) -> Vec<Value> {
    std::fs::read_to_string(p)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).expect("EVE line is JSON"))
        .collect()
}

/// RTP streams by 5-tuple and SSRC.
fn streams(recs: &[Value]) -> BTreeSet<String> {
    recs.iter()
        .filter(|r| r["event_type"] == "rtp")
        .map(|r| {
            format!(
                "{}:{} > {}:{} {}",
                r["src_ip"], r["src_port"], r["dest_ip"], r["dest_port"], r["rtp"]["ssrc"]
            )
        })
        .collect()
}

fn count(recs: &[Value], event_type: &str) -> usize {
    recs.iter()
        .filter(|r| r["event_type"] == event_type)
        .count()
}

#[test]
fn sensors_in_one_fanout_group_share_the_flows_without_overlap() {
    let dir = tempfile::tempdir().unwrap();
    let filter = "host 127.0.77.1 or host 127.0.77.2";
    let mut sensors = Sensors(Vec::new());
    let eve = |name: &str| dir.path().join(format!("{name}.json"));
    for (name, group) in [("a", Some("4217")), ("b", Some("4217")), ("all", None)] {
        let mut cmd = Command::new(bin());
        cmd.args(["live", "-i", "lo", "-f", filter, "--workers", "2", "-q"])
            .arg("--eve")
            .arg(eve(name))
            .stderr(Stdio::null());
        if let Some(g) = group {
            cmd.args(["--fanout-group", g]);
        }
        sensors.0.push(cmd.spawn().unwrap());
    }
    std::thread::sleep(Duration::from_millis(1500));
    let made = Command::new(root().join("scripts/make-bench-pcap.sh"))
        .arg(dir.path().join("calls.pcap"))
        .env("CALLS", "20")
        .env("RATE", "10")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(made.success(), "make-bench-pcap.sh: {made:?}");
    std::thread::sleep(Duration::from_millis(1000));
    for s in &sensors.0 {
        Command::new("kill")
            .args(["-INT", &s.id().to_string()])
            .status()
            .unwrap();
    }
    let t = Instant::now();
    for s in &mut sensors.0 {
        while s.try_wait().unwrap().is_none() {
            assert!(
                t.elapsed() < Duration::from_secs(20),
                "a sensor did not exit"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    let (a, b, all) = (records(&eve("a")), records(&eve("b")), records(&eve("all")));
    let (sa, sb, sall) = (streams(&a), streams(&b), streams(&all));
    assert_eq!(sall.len(), 40, "20 calls, two streams each: {sall:?}");
    assert!(
        !sa.is_empty() && !sb.is_empty(),
        "one sensor got every stream"
    );
    assert!(sa.is_disjoint(&sb), "a stream reached both sensors");
    assert_eq!(&sa | &sb, sall);
    // The calls' SIP is one flow (5060 to 5060): all of it in one sensor of the group.
    assert_eq!(count(&a, "sip") + count(&b, "sip"), count(&all, "sip"));
    assert!(count(&a, "sip") == 0 || count(&b, "sip") == 0);
    assert_eq!(count(&all, "call"), 20);
}
