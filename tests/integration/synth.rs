//! The capture generator (`examples/synth`): what it writes is what tshark and the sensor read.

use std::path::Path;

use crate::util::*;

#[path = "../../examples/synth/gen.rs"]
pub mod gen;

/// Write a capture with `f` into `path`; what the generator says it wrote.
pub fn write(
    path: &Path,
    f: impl FnOnce(
        &gen::Templates,
        &mut gen::PcapWriter<std::io::BufWriter<std::fs::File>>,
    ) -> std::io::Result<gen::Summary>,
) -> gen::Summary {
    let t = gen::Templates::load(&root()).expect("templates from pcaps/");
    let file = std::fs::File::create(path).unwrap();
    let mut w = gen::PcapWriter::new(std::io::BufWriter::new(file)).unwrap();
    let s = f(&t, &mut w).unwrap();
    w.finish().unwrap();
    s
}

fn tshark_count(pcap: &Path, filter: &str) -> u64 {
    let out = std::process::Command::new("tshark")
        .args(["-n", "-r"])
        .arg(pcap)
        .args(["-Y", filter])
        .output()
        .expect("run tshark");
    String::from_utf8_lossy(&out.stdout).lines().count() as u64
}

#[test]
fn calls_parse_as_tshark_and_the_sensor_see_them() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("calls.pcap");
    let spec = gen::CallsSpec {
        calls: 40,
        rtp_rounds: 5,
        both_directions: true,
        seed: 7,
        setup_us: 2_000_000,
    };
    let s = write(&p, |t, w| gen::calls(t, &spec, w));
    assert_eq!(s.sip_messages, 40 * 7);
    assert_eq!(s.rtp_packets, 40 * 2 * 5);

    let stat = tshark_sip_stat(&p);
    assert_eq!(stat.requests.get("INVITE"), Some(&40));
    assert_eq!(stat.requests.get("ACK"), Some(&40));
    assert_eq!(stat.requests.get("BYE"), Some(&40));
    assert_eq!(stat.responses.get(&100), Some(&40));
    assert_eq!(stat.responses.get(&180), Some(&40));
    assert_eq!(stat.responses.get(&200), Some(&80));
    assert_eq!(tshark_call_ids(&p, true).len(), 40);
    assert_eq!(tshark_count(&p, "rtp"), s.rtp_packets);
    assert_eq!(
        tshark_count(&p, "_ws.malformed || _ws.expert.severity >= error"),
        0
    );

    let recs = sensor(&[&p], &[]);
    let calls: Vec<_> = recs.iter().filter(|r| r["event_type"] == "call").collect();
    assert_eq!(calls.len(), 40);
    for c in &calls {
        assert_eq!(c["call"]["outcome"], "answered", "{c}");
        assert_eq!(c["call"]["end_reason"], "bye", "{c}");
    }
    let rtp: Vec<_> = recs.iter().filter(|r| r["event_type"] == "rtp").collect();
    assert_eq!(rtp.len(), 80);
    for r in &rtp {
        assert_eq!(r["rtp"]["packets"], 5, "{r}");
        assert_eq!(r["rtp"]["lost"], 0, "{r}");
        assert!(r["rtp"]["call_id"].is_string(), "unattributed: {r}");
    }

    // Same seed, same bytes; another seed, other identifiers.
    let again = dir.path().join("again.pcap");
    write(&again, |t, w| gen::calls(t, &spec, w));
    assert_eq!(std::fs::read(&p).unwrap(), std::fs::read(&again).unwrap());
}

#[test]
fn flood_is_unique_everything_and_counted_as_tshark_counts_it() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("flood.pcap");
    let spec = gen::FloodSpec {
        count: 400,
        rate: 10_000,
        seed: 3,
    };
    let s = write(&p, |t, w| gen::flood(t, &spec, w));
    assert_eq!((s.invites, s.registers, s.unauthorized), (200, 200, 100));
    let stat = tshark_sip_stat(&p);
    assert_eq!(stat.requests.get("INVITE"), Some(&200));
    assert_eq!(stat.requests.get("REGISTER"), Some(&200));
    assert_eq!(stat.responses.get(&401), Some(&100));
    assert_eq!(stat.responses.get(&100), Some(&100));
    assert_eq!(tshark_call_ids(&p, true).len(), 400);
    let sources = std::process::Command::new("tshark")
        .args(["-n", "-r"])
        .arg(&p)
        .args([
            "-Y",
            "sip.Request-Line",
            "-T",
            "fields",
            "-e",
            "ip.src",
            "-e",
            "sip.from.user",
        ])
        .output()
        .unwrap();
    let lines: std::collections::BTreeSet<String> = String::from_utf8_lossy(&sources.stdout)
        .lines()
        .map(str::to_string)
        .collect();
    assert_eq!(lines.len(), 400, "distinct (source, From user) pairs");

    let recs = sensor(&[&p], &[]);
    let st = stats_of(&recs);
    assert_eq!(st["stats"]["sip"]["messages"], 600);
    assert_eq!(st["stats"]["rtp"]["streams"], 200);
    assert_eq!(st["stats"]["sip"]["registrations"]["challenged"], 100);
}
