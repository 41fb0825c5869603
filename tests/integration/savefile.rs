//! The savefile reader against libpcap, packet by packet: every capture of pcaps/ (and of the
//! shared collection beside the repository, when it is there) gives the same packets, bytes,
//! lengths, nanosecond timestamps and link types through both; where libpcap stops with an
//! error, the reader stops at the same packet with one too. Files libpcap cannot read at all
//! (pcapng with interfaces of different link types) are the reader's own, checked in its unit
//! tests and against tshark below.

use std::path::{Path, PathBuf};

use voip_sentinel::base::packet::LinkType;
use voip_sentinel::capture::savefile::Savefile;

use crate::util::*;

/// (ns, link, bytes, orig_len) of every packet, and the error that ended the file early.
type Packets = (Vec<(u64, Option<LinkType>, Vec<u8>, u32)>, Option<String>);

fn by_libpcap(p: &Path) -> Result<Packets, String> {
    let mut cap = pcap::Capture::from_file_with_precision(p, pcap::Precision::Nano)
        .map_err(|e| e.to_string())?;
    let link = LinkType::from_dlt(cap.get_datalink().0);
    let mut out = Vec::new();
    loop {
        match cap.next_packet() {
            Ok(pkt) => {
                let ts = (pkt.header.ts.tv_sec.max(0) as u64) * 1_000_000_000
                    + pkt.header.ts.tv_usec.max(0) as u64;
                out.push((ts, link, pkt.data.to_vec(), pkt.header.len));
            }
            Err(pcap::Error::NoMorePackets) => return Ok((out, None)),
            Err(e) => return Ok((out, Some(e.to_string()))),
        }
    }
}

fn by_reader(p: &Path) -> Result<Packets, String> {
    let mut f = Savefile::open(p).map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    loop {
        match f.next() {
            Ok(Some(fr)) => out.push((
                fr.ts.0,
                LinkType::from_dlt(fr.linktype as i32),
                fr.data.to_vec(),
                fr.orig_len,
            )),
            Ok(None) => return Ok((out, None)),
            Err(e) => return Ok((out, Some(e.to_string()))),
        }
    }
}

fn shared_captures() -> Vec<PathBuf> {
    captures_under(&root().join("../shared/pcaps"))
}

#[test]
fn every_capture_reads_as_libpcap_reads_it() {
    let mut compared = 0;
    let mut own = Vec::new();
    let mut refused = Vec::new();
    for cap in captures().into_iter().chain(shared_captures()) {
        let ours = by_reader(&cap);
        match by_libpcap(&cap) {
            // libpcap stops at once on a pcapng whose interfaces differ in link type (one link
            // type a file); ours reads it whole: checked against tshark below.
            Ok((want, Some(e))) if want.is_empty() && e.contains("different from the type") => {
                let (got, got_err) = ours.unwrap_or_else(|o| panic!("{}: {o}", cap.display()));
                assert_eq!(got_err, None, "{}", cap.display());
                own.push((cap, got));
            }
            Ok((want, want_err)) => {
                let (got, got_err) = ours.unwrap_or_else(|e| panic!("{}: {e}", cap.display()));
                assert_eq!(got.len(), want.len(), "{}: packets", cap.display());
                for (i, (g, w)) in got.iter().zip(&want).enumerate() {
                    assert_eq!(g, w, "{}: packet {}", cap.display(), i + 1);
                }
                assert_eq!(
                    got_err.is_some(),
                    want_err.is_some(),
                    "{}: {got_err:?} vs libpcap's {want_err:?}",
                    cap.display()
                );
                compared += 1;
            }
            // libpcap refuses the file whole: not a pcap or pcapng file (a NetMon capture of the
            // shared collection), which ours refuses as well; or one only ours reads, whole.
            Err(e) => match ours {
                Err(o) => {
                    assert_eq!(o, "unknown file format", "{} (libpcap: {e})", cap.display());
                    refused.push(cap);
                }
                Ok((got, got_err)) => {
                    assert_eq!(got_err, None, "{}", cap.display());
                    own.push((cap, got));
                }
            },
        }
    }
    // every capture of the project is one both read (or only ours, whole)
    let repo = root().join("pcaps");
    assert!(!refused.iter().any(|c| c.starts_with(&repo)), "{refused:?}");
    let repo_own = own.iter().filter(|(c, _)| c.starts_with(&repo)).count();
    assert!(compared >= captures().len() - repo_own, "{compared}");
    assert!(
        own.iter()
            .any(|(c, _)| c.ends_with("pcaps/mixed-interfaces.pcapng")),
        "the mixed-interface capture is read by the reader alone"
    );
    // what libpcap cannot read: each packet's time (ns), lengths, as tshark gives them
    for (cap, got) in own {
        let out = std::process::Command::new("tshark")
            .args(["-n", "-r"])
            .arg(&cap)
            .args(["-T", "fields", "-E", "separator=,"])
            .args([
                "-e",
                "frame.time_epoch",
                "-e",
                "frame.len",
                "-e",
                "frame.cap_len",
            ])
            .output()
            .expect("tshark");
        let want: Vec<(u64, u32, usize)> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| {
                let f: Vec<&str> = l.split(',').collect();
                let (s, ns) = f[0].split_once('.').unwrap_or((f[0], "0"));
                let ns = format!("{ns:0<9}");
                let t = s.parse::<u64>().unwrap() * 1_000_000_000 + ns[..9].parse::<u64>().unwrap();
                (t, f[1].parse().unwrap(), f[2].parse().unwrap())
            })
            .collect();
        let have: Vec<(u64, u32, usize)> = got.iter().map(|p| (p.0, p.3, p.2.len())).collect();
        assert_eq!(have, want, "{}: packets vs tshark", cap.display());
    }
}

/// A gzip-compressed capture replays as the capture it holds, and `-f` filters as tcpdump -r.
#[test]
fn gzip_captures_and_a_replay_filter() {
    use std::io::Write;
    let plain = root().join("pcaps/kamailio-auth-calls.pcap");
    let dir = tempfile::tempdir().unwrap();
    let gz = dir.path().join("calls.pcap.gz");
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(&std::fs::read(&plain).unwrap()).unwrap();
    std::fs::write(&gz, enc.finish().unwrap()).unwrap();
    let strip = |mut recs: Vec<serde_json::Value>| {
        for r in &mut recs {
            // The file's own name (.gz or not) is the one difference.
            if let Some(o) = r.as_object_mut() {
                o.remove("pcap_filename");
            }
            if let Some(st) = r.get_mut("stats").and_then(|s| s.as_object_mut()) {
                st.remove("memory");
                st.remove("rules");
            }
        }
        recs
    };
    // a folder holding only the .gz is a folder of captures
    assert_eq!(
        strip(sensor(&[dir.path()], &[])),
        strip(sensor(&[&plain], &[])),
    );
    // the SIP of one address only: what tcpdump -r keeps with the same filter
    let filter = "udp and host 127.0.0.43";
    let recs = sensor(&[&plain], &["-f", filter]);
    let st = stats_of(&recs);
    let out = std::process::Command::new("tcpdump")
        .args(["-n", "-r"])
        .arg(&plain)
        .arg(filter)
        .output()
        .expect("tcpdump");
    let want = String::from_utf8_lossy(&out.stdout).lines().count() as u64;
    assert!(want > 0);
    assert_eq!(
        st["stats"]["capture"]["packets"].as_u64(),
        Some(want),
        "{st}"
    );
    // a bad filter: one line, non-zero exit
    let o = std::process::Command::new(bin())
        .args(["replay", "-q", "--eve", "-", "-f", "udp and nonsense"])
        .arg(&plain)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("nonsense"), "{err}");
}
