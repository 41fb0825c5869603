//! HEP inside captures: Kamailio's siptrace copies of the SIP it handled (HEPv3 and HEPv2,
//! `pcaps/hep/`, scripts/make-hep-pcaps.sh) replay to the records the same calls give on the
//! wire, captured at the same time.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::util::*;

/// What does not depend on when the copy reached the collector: each SIP record's message and
/// endpoints, each call's outcome, parties, messages and legs, each alert's signature and
/// endpoints.
fn essence(recs: &[Value]) -> BTreeSet<String> {
    recs.iter()
        .filter_map(|r| {
            let ends = format!(
                "{}:{} > {}:{}",
                r["src_ip"], r["src_port"], r["dest_ip"], r["dest_port"]
            );
            match r["event_type"].as_str()? {
                "sip" => Some(format!(
                    "sip {ends} {} {} {} {}",
                    r["sip"]["call_id"], r["sip"]["method"], r["sip"]["status"], r["sip"]["cseq"]
                )),
                "call" => {
                    let c = &r["call"];
                    Some(format!(
                        "call {ends} {} {} {} {} {} {} {}",
                        c["call_id"],
                        c["outcome"],
                        c["final_status"],
                        c["messages"],
                        c["legs"],
                        c["caller"],
                        c["callee"]
                    ))
                }
                "alert" => Some(format!("alert {ends} {}", r["alert"]["signature_id"])),
                _ => None,
            }
        })
        .collect()
}

#[test]
fn hep_copies_replay_to_the_records_of_the_wire() {
    let dir = root().join("pcaps/hep");
    let wire = essence(&sensor(&[&dir.join("kamailio-wire.pcap")], &[]));
    assert!(
        wire.iter().filter(|l| l.starts_with("call ")).count() == 4,
        "{wire:#?}"
    );
    for f in ["kamailio-hep3.pcap", "kamailio-hep2.pcap"] {
        let recs = sensor(&[&dir.join(f)], &[]);
        assert_eq!(essence(&recs), wire, "{f}");
        let st = stats_of(&recs);
        assert_eq!(
            st["stats"]["capture"]["decode_errors"],
            serde_json::json!({}),
            "{f}"
        );
    }
}

/// Microseconds since midnight of an EVE time ("2026-12-06T12:51:36.370707+0000").
fn day_us(t: &Value) -> i64 {
    let t = t.as_str().unwrap();
    let (h, m, s) = (&t[11..13], &t[14..16], &t[17..26]);
    let s: f64 = s.parse().unwrap();
    (h.parse::<i64>().unwrap() * 3600 + m.parse::<i64>().unwrap() * 60) * 1_000_000
        + (s * 1e6).round() as i64
}

/// The HEPv3 copies carry when Kamailio saw each message: the calls start and end within a
/// few milliseconds of the wire capture made at the same time (not when the copy reached the
/// collector).
#[test]
fn hep_copies_keep_the_agents_time() {
    let dir = root().join("pcaps/hep");
    let calls = |f: &str| -> Vec<(String, i64, i64)> {
        let mut v: Vec<_> = sensor(&[&dir.join(f)], &[])
            .into_iter()
            .filter(|r| r["event_type"] == "call")
            .map(|r| {
                let c = &r["call"];
                (
                    c["call_id"].as_str().unwrap().to_string(),
                    day_us(&c["start"]),
                    day_us(&c["end"]),
                )
            })
            .collect();
        v.sort();
        v
    };
    let (wire, hep) = (calls("kamailio-wire.pcap"), calls("kamailio-hep3.pcap"));
    assert_eq!(wire.len(), 4);
    // the first call starts at its INVITE's HEP time, not when the copy was captured
    let mut f =
        voip_sentinel::capture::savefile::Savefile::open(&dir.join("kamailio-hep3.pcap")).unwrap();
    let first = f.next().unwrap().unwrap();
    let udp = &first.data[14 + 20 + 8..];
    let (s, us) = voip_sentinel::decode::hep::parse(udp).unwrap().ts.unwrap();
    let day = |secs: u64, us: u64| ((secs % 86_400) * 1_000_000 + us) as i64;
    let agent = day(u64::from(s), u64::from(us));
    let arrival = day(
        first.ts.0 / 1_000_000_000,
        first.ts.0 % 1_000_000_000 / 1_000,
    );
    assert_ne!(agent, arrival, "the capture should show the copy's delay");
    assert_eq!(hep.iter().map(|c| c.1).min(), Some(agent));
    for (w, h) in wire.iter().zip(&hep) {
        assert_eq!(w.0, h.0);
        assert!(
            (w.1 - h.1).abs() < 5_000 && (w.2 - h.2).abs() < 5_000,
            "{w:?} vs {h:?}"
        );
    }
}

/// The HEP packets of a capture of HEP datagrams (Ethernet, IPv4 without options, UDP).
fn hep_packets(f: &str) -> Vec<Vec<u8>> {
    let path = root().join("pcaps/hep").join(f);
    let mut r = voip_sentinel::capture::savefile::Savefile::open(&path).unwrap();
    let mut v = Vec::new();
    while let Some(p) = r.next().unwrap() {
        v.push(p.data[14 + 20 + 8..].to_vec());
    }
    v
}

/// A sensor receiving HEP (`voip-sentinel hep`) at `addr`, records to a temporary file.
struct HepSensor {
    child: std::process::Child,
    eve: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

impl HepSensor {
    fn start(addr: &str, extra: &[&str]) -> HepSensor {
        let mut args = vec!["hep", "--listen", addr];
        args.extend_from_slice(extra);
        HepSensor::run(&args)
    }

    /// The sensor with these arguments (`hep ...`, or `live ... --hep-listen ...`).
    fn run(args: &[&str]) -> HepSensor {
        use std::io::BufRead;
        let dir = tempfile::tempdir().unwrap();
        let eve = dir.path().join("eve.json");
        let mut child = std::process::Command::new(bin())
            .args(args)
            .args(["--workers", "2", "--eve"])
            .arg(&eve)
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        // It says where it listens once bound.
        let mut err = std::io::BufReader::new(child.stderr.take().unwrap());
        let mut line = String::new();
        while !line.contains("receiving HEP on") {
            line.clear();
            if err.read_line(&mut line).unwrap() == 0 {
                let _ = child.kill();
                panic!("the HEP sensor ended before it listened");
            }
        }
        // The rest of stderr (the summary) is drained so the sensor never blocks on it.
        std::thread::spawn(move || std::io::copy(&mut err, &mut std::io::sink()));
        HepSensor {
            child,
            eve,
            _dir: dir,
        }
    }

    /// Stop it (SIGINT) once it has written what it got; its records.
    fn stop(mut self) -> Vec<Value> {
        std::thread::sleep(std::time::Duration::from_millis(700));
        let _ = std::process::Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status();
        let t = std::time::Instant::now();
        let status = loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                break s;
            }
            if t.elapsed() > std::time::Duration::from_secs(20) {
                let _ = self.child.kill();
                panic!("the HEP sensor did not stop");
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        };
        assert!(status.success(), "{status:?}");
        std::fs::read_to_string(&self.eve)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
}

impl Drop for HepSensor {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn udp_send(to: &str, packets: &[Vec<u8>]) {
    let s = std::net::UdpSocket::bind("127.0.0.59:0").unwrap();
    for p in packets {
        s.send_to(p, to).unwrap();
        // Kamailio sent them one by one, too; a burst could outrun the socket buffer.
        std::thread::sleep(std::time::Duration::from_micros(200));
    }
}

/// Kamailio's HEP copies sent to the listener, over UDP and over TCP (one connection, the
/// stream cut at odd places), give the records that a replay of the wire gives, each marked as
/// a HEP copy from agent 2001.
#[test]
fn the_hep_listener_reports_the_calls_of_the_wire() {
    let dir = root().join("pcaps/hep");
    let wire = essence(&sensor(&[&dir.join("kamailio-wire.pcap")], &[]));
    for (v, over) in [(3, "udp"), (2, "udp"), (3, "tcp")] {
        let addr = "127.0.0.58:19060";
        let packets = hep_packets(&format!("kamailio-hep{v}.pcap"));
        assert_eq!(packets.len(), 47);
        let s = HepSensor::start(addr, &[]);
        if over == "udp" {
            udp_send(addr, &packets);
        } else {
            use std::io::Write;
            let mut c = std::net::TcpStream::connect(addr).unwrap();
            let stream = packets.concat();
            for piece in stream.chunks(1000) {
                c.write_all(piece).unwrap();
                c.flush().unwrap();
                std::thread::sleep(std::time::Duration::from_millis(2));
            }
        }
        let recs = s.stop();
        let what = format!("HEPv{v} over {over}");
        assert_eq!(essence(&recs), wire, "{what}");
        for r in recs.iter().filter(|r| r["event_type"] != "stats") {
            assert_eq!(
                r["capture"],
                serde_json::json!({"source": "hep", "agent_id": 2001, "transport": "UDP"}),
                "{what}: {r}"
            );
        }
        let hep = &stats_of(&recs)["stats"]["hep"];
        assert_eq!(hep["accepted"], 47, "{what}: {hep}");
        assert_eq!(hep["agents"], serde_json::json!({"2001": 47}), "{what}");
        let l = &hep["listener"];
        let (udp, tcp) = if over == "udp" { (47, 0) } else { (0, 47) };
        assert_eq!(
            (l["udp_packets"].as_u64(), l["tcp_packets"].as_u64()),
            (Some(udp), Some(tcp)),
            "{what}: {l}"
        );
        assert_eq!(l["queue_drops"], 0, "{what}");
    }
}

/// Insert HEPv3 chunk `kind` (vendor 0) with `value` before the payload chunk of a packet,
/// fixing the packet's length.
fn with_chunk(p: &[u8], kind: u16, value: &[u8]) -> Vec<u8> {
    let mut c = vec![0, 0];
    c.extend_from_slice(&kind.to_be_bytes());
    c.extend_from_slice(&((6 + value.len()) as u16).to_be_bytes());
    c.extend_from_slice(value);
    let mut out = p[..6].to_vec();
    out.extend_from_slice(&c);
    out.extend_from_slice(&p[6..]);
    let len = out.len() as u16;
    out[4..6].copy_from_slice(&len.to_be_bytes());
    out
}

/// With --hep-password, copies without the key or with another are dropped and counted; those
/// with it are taken. Damaged packets (cut short, lengths that lie, a payload longer than the
/// datagram, chunks the sensor does not know in place of the addresses, not HEP at all) are
/// counted by kind, never a record, and the sensor goes on.
#[test]
fn the_hep_listener_drops_wrong_keys_and_damaged_packets() {
    let addr = "127.0.0.58:19061";
    let real = hep_packets("kamailio-hep3.pcap");
    let invite = &real[0];
    assert!(String::from_utf8_lossy(invite).contains("INVITE sip:"));
    let key = b"s3cret-hep-key";
    let mut bad = vec![
        invite.clone(),                           // no key
        with_chunk(invite, 14, b"wrong-key"),     // another key
        with_chunk(invite, 14, b"s3cret-hep-ke"), // a prefix of it
    ];
    let n_bad_auth = bad.len();
    let mut damaged = vec![
        with_chunk(invite, 14, key)[..40].to_vec(), // cut short
        b"GET / HTTP/1.1\r\n\r\n".to_vec(),         // not HEP
    ];
    let mut lying = with_chunk(invite, 14, key);
    lying[4..6].copy_from_slice(&60000u16.to_be_bytes()); // longer than the datagram
    damaged.push(lying);
    let mut chunk_len = with_chunk(invite, 14, key);
    chunk_len[6 + 4..6 + 6].copy_from_slice(&2u16.to_be_bytes()); // a chunk shorter than its head
    damaged.push(chunk_len);
    let mut payload_len = with_chunk(invite, 14, key);
    let at = payload_len.len()
        - (invite.len() - invite.windows(4).position(|w| w == b"INVI").unwrap())
        - 6;
    payload_len[at + 4..at + 6].copy_from_slice(&65000u16.to_be_bytes()); // payload past the end
    damaged.push(payload_len);
    // the address chunks (types 3 and 4) renamed to types no one defined
    let mut unknown = with_chunk(invite, 14, key);
    let mut i = 6;
    while i + 6 <= unknown.len() {
        let kind = u16::from_be_bytes([unknown[i + 2], unknown[i + 3]]);
        let len = usize::from(u16::from_be_bytes([unknown[i + 4], unknown[i + 5]]));
        if kind == 3 || kind == 4 {
            unknown[i + 2..i + 4].copy_from_slice(&(900 + kind).to_be_bytes());
        }
        i += len.max(6);
    }
    damaged.push(unknown);
    let n_damaged = damaged.len();
    let good: Vec<Vec<u8>> = real.iter().map(|p| with_chunk(p, 14, key)).collect();
    let s = HepSensor::start(addr, &["--hep-password", "s3cret-hep-key"]);
    bad.append(&mut damaged);
    udp_send(addr, &bad);
    udp_send(addr, &good);
    let recs = s.stop();
    let hep = &stats_of(&recs)["stats"]["hep"];
    assert_eq!(hep["bad_auth"], n_bad_auth, "{hep}");
    assert_eq!(hep["malformed"], n_damaged, "{hep}");
    assert_eq!(hep["accepted"], 47, "{hep}");
    let calls = recs.iter().filter(|r| r["event_type"] == "call").count();
    assert_eq!(calls, 4);
    // The key is never written anywhere.
    for r in &recs {
        assert!(!r.to_string().contains("s3cret"), "{r}");
    }
    // Each INVITE was counted once: the rejected ones left no trace.
    let invites = recs
        .iter()
        .filter(|r| r["event_type"] == "sip" && r["sip"]["method"] == "INVITE")
        .count();
    let wire_invites = sensor(&[&root().join("pcaps/hep/kamailio-wire.pcap")], &[])
        .iter()
        .filter(|r| r["event_type"] == "sip" && r["sip"]["method"] == "INVITE")
        .count();
    assert_eq!(invites, wire_invites);
}

/// A capture that holds both the wire and Kamailio's HEP copies of the same messages (merged
/// by time with mergecap, as a sensor that sees a proxy's SPAN port and receives its HEP would
/// have them): each message counts once, the copies are counted as duplicates, and the records
/// are the wire's own, message for message and retransmission for retransmission.
#[test]
fn a_message_seen_on_the_wire_and_over_hep_counts_once() {
    let dir = root().join("pcaps/hep");
    let tmp = tempfile::tempdir().unwrap();
    let merged = tmp.path().join("wire-and-hep.pcap");
    let st = std::process::Command::new("mergecap")
        .arg("-w")
        .arg(&merged)
        .arg(dir.join("kamailio-wire.pcap"))
        .arg(dir.join("kamailio-hep3.pcap"))
        .status()
        .expect("mergecap (wireshark-common, installed with tshark)");
    assert!(st.success());
    let wire_recs = sensor(&[&dir.join("kamailio-wire.pcap")], &[]);
    let both = sensor(&[&merged], &[]);
    assert_eq!(essence(&both), essence(&wire_recs));
    let (w, b) = (&stats_of(&wire_recs)["stats"], &stats_of(&both)["stats"]);
    assert_eq!(b["sip"]["messages"], w["sip"]["messages"]);
    assert_eq!(b["sip"]["retransmissions"], w["sip"]["retransmissions"]);
    assert_eq!(b["capture"]["packets"], 2 * 47);
    let hep = &b["hep"];
    assert_eq!(
        (hep["duplicate"].as_u64(), hep["wire_dropped"].as_u64()),
        (Some(47), Some(0)),
        "the wire's copy of each message came first: {hep}"
    );
    // Without the wire, every copy is accepted.
    let alone = sensor(&[&dir.join("kamailio-hep3.pcap")], &[]);
    assert_eq!(stats_of(&alone)["stats"]["hep"]["accepted"], 47);
}

/// What a scenario's records say, independent of the hop's transport and ports: each call's
/// outcome and parties, each SIP transaction, the registrations, and which alerts fired for
/// which call (or, for alerts about no call, which source).
fn scenario(recs: &[Value]) -> BTreeSet<String> {
    recs.iter()
        .filter_map(|r| match r["event_type"].as_str()? {
            "sip" => Some(format!(
                "sip {} > {} {} {} {} {}",
                r["src_ip"],
                r["dest_ip"],
                r["sip"]["call_id"],
                r["sip"]["method"],
                r["sip"]["status"],
                r["sip"]["cseq"]
            )),
            "call" => {
                let c = &r["call"];
                Some(format!(
                    "call {} {} {} {} {}",
                    c["call_id"],
                    c["outcome"],
                    c["final_status"],
                    c["caller"]["user"],
                    c["callee"]["user"]
                ))
            }
            "alert" if !is_attack_alert(r) => None,
            "alert" => Some(match r["call"]["call_id"].as_str() {
                Some(id) => format!("alert {} call {id}", r["alert"]["signature_id"]),
                None => format!("alert {} from {}", r["alert"]["signature_id"], r["src_ip"]),
            }),
            _ => None,
        })
        .collect()
}

/// The scenario's addresses (127.0.0.63-66) serve one test at a time.
static SCENARIO: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// The sip, call and alert records by what they are about (a transaction's endpoints,
/// Call-ID, CSeq and method; a call's Call-ID; an alert's signature and call), each as its
/// flattened fields less those that a TLS client hop, the run's clock or Kamailio's random
/// tags change (see the test below).
fn field_view(recs: &[Value]) -> std::collections::BTreeMap<String, BTreeSet<String>> {
    fn flat(v: &Value, path: &str, out: &mut BTreeSet<String>) {
        match v {
            Value::Object(m) => {
                for (k, x) in m {
                    let p = if path.is_empty() {
                        k.clone()
                    } else {
                        format!("{path}.{k}")
                    };
                    flat(x, &p, out);
                }
            }
            Value::Array(a) => {
                for (i, x) in a.iter().enumerate() {
                    flat(x, &format!("{path}[{i}]"), out);
                }
            }
            _ => {
                let leaf = path.rsplit(['.', ']']).next().unwrap_or(path);
                const CHANGED: &[&str] = &[
                    // the TLS hop's ports and what carries them
                    "src_port",
                    "dest_port",
                    "port",
                    "flow_id",
                    // numbered within the flow, which is the TLS hop's own
                    "tx_id",
                    // its URIs (";transport=tls") and transport
                    "uri",
                    "request_uri",
                    "request_line",
                    "transport",
                    // the run's clock, and the packet's place in its own capture
                    "timestamp",
                    "pcap_cnt",
                    "pcap_filename",
                    "start",
                    "ringing",
                    "answer",
                    "end",
                    "duration",
                    "setup_time",
                    "post_dial_delay",
                    "response_time_ms",
                ];
                let tag = path.ends_with("to.tag");
                if !CHANGED.contains(&leaf) && !tag && !path.starts_with("capture.") {
                    out.insert(format!("{path}={v}"));
                }
            }
        }
    }
    let mut view = std::collections::BTreeMap::new();
    for r in recs {
        let key = match r["event_type"].as_str() {
            Some("sip") => format!(
                "sip {} > {} {} {} {}",
                r["src_ip"],
                r["dest_ip"],
                r["sip"]["call_id"],
                r["sip"]["cseq"],
                r["sip"]["method"]
            ),
            Some("call") => format!("call {}", r["call"]["call_id"]),
            // Posture is compared apart (the credentials' transport differs by design).
            Some("alert") if !is_attack_alert(r) => continue,
            Some("alert") => format!(
                "alert {} {} {}",
                r["alert"]["signature_id"],
                r["call"]["call_id"],
                if r["call"].is_null() {
                    r["src_ip"].to_string()
                } else {
                    String::new()
                }
            ),
            _ => continue,
        };
        let mut fields = BTreeSet::new();
        let mut r = r.clone();
        if r["alert"]["signature_id"] == 2_100_003 {
            // About a different hop in each run: compared apart.
            for f in ["src_ip", "dest_ip", "alert"] {
                r.as_object_mut().unwrap().remove(f);
            }
        }
        flat(&r, "", &mut fields);
        // The same alert raised again later (a flood's second window): in output order.
        let nth = (0..)
            .find(|n| !view.contains_key(&format!("{key} #{n}")))
            .unwrap_or(0);
        view.insert(format!("{key} #{nth}"), fields);
    }
    view
}

fn run_scenario(mode: &str, collector: &str, out: &std::path::Path) {
    // HEP_PCAP=1: tcpdump also keeps the HEP datagrams to the collector (hep.pcap).
    let o = std::process::Command::new("bash")
        .env("HEP_PCAP", "1")
        .arg(root().join("scripts/hep-scenario.sh"))
        .args([mode, collector])
        .arg(out)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "hep-scenario.sh {mode}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// The point of HEP input: calls and a password-guessing attack whose clients speak SIP over
/// TLS to a real Kamailio (kamailio-tls-modules; sipp through a TLS relay), seen only through
/// Kamailio's siptrace HEP copies, give the calls, transactions and alerts that the same
/// scenario over plaintext UDP gives when captured off the wire; the TLS hop raises no
/// plaintext alert, and every record says it is a HEP copy and over which transport.
#[test]
fn sip_over_tls_is_seen_through_kamailios_hep_as_plaintext_udp_is_on_the_wire() {
    let _one = SCENARIO
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let tmp = tempfile::tempdir().unwrap();
    let (udp_dir, tls_dir) = (tmp.path().join("udp"), tmp.path().join("tls"));
    run_scenario("udp", "127.0.0.68:9060", &udp_dir);
    let wire = sensor(&[&udp_dir.join("wire.pcap")], &[]);
    let collector = "127.0.0.69:19062";
    let s = HepSensor::start(collector, &[]);
    run_scenario("tls", collector, &tls_dir);
    let hep = s.stop();
    let (w, h) = (scenario(&wire), scenario(&hep));
    assert_eq!(
        h,
        w,
        "only in HEP: {:#?}\nonly on the wire: {:#?}",
        h.difference(&w),
        w.difference(&h)
    );
    // Field by field: every sip, call and alert record of one run has its twin in the other,
    // equal in every field but what TLS itself changes (the client hop's ports, its URIs with
    // ;transport=tls, the call's transport), the run's clock and Kamailio's random to-tags, and
    // the capture source. The plaintext-signalling alert is about the first plaintext hop:
    // the caller's on the wire, the proxy's to the callee over TLS.
    let (fw, fh) = (field_view(&wire), field_view(&hep));
    // 60 transactions (40 REGISTERs, 20 of the calls' hops), 4 calls, 7 alerts.
    assert_eq!(fw.len(), 60 + 4 + 7, "records compared: {:#?}", fw.keys());
    assert_eq!(fh.keys().collect::<Vec<_>>(), fw.keys().collect::<Vec<_>>());
    for (k, w) in &fw {
        assert_eq!(&fh[k], w, "{k}");
    }
    let plaintext = |recs: &[Value]| -> Vec<String> {
        recs.iter()
            .filter(|r| r["alert"]["signature_id"] == 2_100_003)
            .map(|r| r["src_ip"].to_string())
            .collect()
    };
    assert_eq!(plaintext(&wire), ["\"127.0.0.64\""]);
    assert_eq!(plaintext(&hep), ["\"127.0.0.63\""]);
    // Digest credentials over plaintext UDP are a posture finding on the wire; over TLS (as
    // the HEP copies say) they are not. The server's own findings are the same either way.
    let posture = |recs: &[Value], sid: u64| {
        recs.iter()
            .filter(|r| r["alert"]["signature_id"] == sid)
            .count()
    };
    assert!(posture(&wire, 2_600_006) > 0);
    assert_eq!(posture(&hep, 2_600_006), 0);
    for sid in [2_600_001, 2_600_003, 2_600_004] {
        assert_eq!(posture(&wire, sid), posture(&hep, sid), "{sid}");
    }
    assert_eq!(hep.iter().filter(|r| r["event_type"] == "call").count(), 4);
    assert!(
        h.iter()
            .any(|l| l.starts_with("alert ") && l.ends_with("from \"127.0.0.66\"")),
        "the guessing was detected: {h:#?}"
    );
    let mut transports = BTreeSet::new();
    for r in hep.iter().filter(|r| r["event_type"] != "stats") {
        assert_eq!(r["capture"]["source"], "hep", "{r}");
        assert_eq!(r["capture"]["agent_id"], 2001, "{r}");
        let t = r["capture"]["transport"].as_str().unwrap().to_string();
        if t == "TLS" {
            assert!(
                r["alert"]["signature_id"] != 2_100_003,
                "a plaintext-signalling alert about the TLS hop: {r}"
            );
        }
        transports.insert(t);
    }
    assert_eq!(
        transports,
        BTreeSet::from(["TLS".to_string(), "UDP".to_string()])
    );
    let st = &stats_of(&hep)["stats"]["hep"];
    assert_eq!(st["accepted"], 127, "{st}");
    assert_eq!(st["malformed"], 0, "{st}");
    // tcpdump's capture of the same HEP datagrams replays to the very records the listener
    // wrote (both take the agent's time).
    let lines = |recs: &[Value]| -> Vec<String> {
        let mut v: Vec<String> = recs
            .iter()
            .filter(|r| r["event_type"] != "stats")
            .map(Value::to_string)
            .collect();
        v.sort();
        v
    };
    let replayed = sensor(&[&tls_dir.join("hep.pcap")], &[]);
    assert_eq!(lines(&replayed), lines(&hep));
}

/// A sensor that captures a proxy's traffic off the wire and receives the same proxy's HEP
/// copies at once (`live -i lo --hep-listen`) counts every message once: its calls,
/// transactions and alerts are those of a replay of the wire alone, and each of the 127
/// messages had exactly one of its two copies dropped.
#[test]
fn a_live_sensor_with_hep_listen_counts_each_message_once() {
    let _one = SCENARIO
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let tmp = tempfile::tempdir().unwrap();
    let collector = "127.0.0.67:19063";
    let filter = "(host 127.0.0.63 or host 127.0.0.64 or host 127.0.0.65 or host 127.0.0.66) and not port 19063";
    let s = HepSensor::run(&["live", "-i", "lo", "-f", filter, "--hep-listen", collector]);
    run_scenario("udp", collector, tmp.path());
    let both = s.stop();
    let wire = sensor(&[&tmp.path().join("wire.pcap")], &[]);
    let (w, b) = (scenario(&wire), scenario(&both));
    assert_eq!(
        b,
        w,
        "only live: {:#?}\nonly the wire: {:#?}",
        b.difference(&w),
        w.difference(&b)
    );
    let (ws, bs) = (&stats_of(&wire)["stats"], &stats_of(&both)["stats"]);
    assert_eq!(bs["sip"]["messages"], ws["sip"]["messages"]);
    assert_eq!(ws["sip"]["messages"], 127);
    let hep = &bs["hep"];
    let dropped = hep["duplicate"].as_u64().unwrap() + hep["wire_dropped"].as_u64().unwrap();
    assert_eq!(dropped, 127, "{hep}");
    assert_eq!(hep["listener"]["udp_packets"], 127, "{hep}");
}

/// rtpengine's HEP copies of the RTCP it relays (protocol type 5, JSON; `pcaps/hep/
/// rtpengine-rtcp.pcap`, scripts/make-hep-rtcp-pcap.sh: baresip calls through kamailio and
/// rtpengine) give each stream the RTCP figures the RTCP on the wire gives: with the wire's
/// RTCP filtered out, the same sender packet counts, loss, jitter and CNAMEs, from one copy
/// of each report instead of the wire's two legs.
#[test]
fn rtcp_reports_over_hep_give_the_streams_the_figures_of_the_wires_rtcp() {
    let cap = root().join("pcaps/hep/rtpengine-rtcp.pcap");
    let rtcp_of = |filter: &str| -> std::collections::BTreeMap<String, Value> {
        sensor(&[&cap], &["-f", filter])
            .into_iter()
            .filter(|r| r["event_type"] == "rtp" && !r["rtp"]["rtcp"].is_null())
            .map(|r| {
                let key = format!("{}:{} {}", r["src_ip"], r["src_port"], r["rtp"]["ssrc"]);
                let mut v = r["rtp"]["rtcp"].clone();
                // Round trips depend on when each copy arrived; BYE is not sent over HEP.
                v.as_object_mut().unwrap().remove("rtt_ms");
                v.as_object_mut().unwrap().remove("bye");
                (key, v)
            })
            .collect()
    };
    let over_hep = rtcp_of("not (udp[9] >= 200 and udp[9] <= 204)");
    let mut on_wire = rtcp_of("not port 9060");
    assert_eq!(on_wire.len(), 5, "{on_wire:#?}");
    // The wire shows each report twice (into rtpengine and out of it); HEP once.
    on_wire = on_wire
        .into_iter()
        .map(|(k, mut v)| {
            for f in ["sender_reports", "receiver_reports"] {
                let n = v[f].as_u64().unwrap();
                assert_eq!(n % 2, 0, "{k} {f}");
                v[f] = (n / 2).into();
            }
            (k, v)
        })
        .collect();
    assert_eq!(over_hep, on_wire);
    let all = sensor(&[&cap], &[]);
    let hep = &stats_of(&all)["stats"]["hep"];
    assert_eq!(hep["accepted"], 18, "{hep}");
    assert_eq!(hep["agents"], serde_json::json!({"2005": 18}));
    let datagrams = std::process::Command::new("tshark")
        .args(["-r"])
        .arg(&cap)
        .args(["-Y", "udp.dstport == 9060"])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&datagrams.stdout).lines().count(),
        18
    );
}
