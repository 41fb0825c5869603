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

/// Each subcommand's help shows its own options only, with examples.
#[test]
fn each_command_has_its_own_help() {
    let (code, out, _) = run(&["rules", "check", "--help"]);
    assert_eq!(code, 0);
    for other in ["--workers", "--linger", "--user", "--eve", "--interface"] {
        assert!(
            !out.contains(other),
            "rules check --help shows {other}:\n{out}"
        );
    }
    let (_, out, _) = run(&["replay", "--help"]);
    assert!(out.contains("--linger") && out.contains("--config") && out.contains("Examples:"));
    assert!(
        !out.contains("--interface") && !out.contains("--snaplen"),
        "{out}"
    );
    let (_, out, _) = run(&["live", "--help"]);
    assert!(out.contains("--interface") && out.contains("--output-fail-secs"));
    assert!(!out.contains("--linger"), "{out}");
    assert!(out.contains("Examples:"), "{out}");
}

/// A config file sets options by their long names; the command line wins over it; a site
/// rules folder named after the shipped one adds its rules and replaces same-named files.
#[test]
fn a_config_file_sets_options_and_site_rules_merge_over_the_shipped_ones() {
    let dir = tempfile::tempdir().unwrap();
    let site = dir.path().join("site-rules");
    std::fs::create_dir(&site).unwrap();
    std::fs::write(
        site.join("local.rules"),
        "alert sip any any -> any any (msg:\"site: every INVITE\"; sip.method:INVITE; \
         classtype:policy; severity:3; sid:9000001; rev:1; \
         threshold:type limit, track by_src, count 1, seconds 3600;)\n",
    )
    .unwrap();
    let eve = dir.path().join("from-config.json");
    let cfg = dir.path().join("voip-sentinel.toml");
    std::fs::write(
        &cfg,
        format!(
            "# a site's settings\nworkers = 1\nquiet = true\neve = \"{}\"\nrules = [\"{}\", \"{}\"]\n\
             [live]\ninterface = \"eth9\"\n",
            eve.display(),
            root().join("rules").display(),
            site.display()
        ),
    )
    .unwrap();
    let pcap = root().join("pcaps/kamailio-auth-calls.pcap");
    let (code, out, err) = run(&[
        "replay",
        "--config",
        cfg.to_str().unwrap(),
        pcap.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.is_empty() && err.is_empty(),
        "quiet, records to the file: {out}{err}"
    );
    let text = std::fs::read_to_string(&eve).unwrap();
    let recs: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let site_alerts = recs
        .iter()
        .filter(|r| r["alert"]["signature_id"] == 9000001)
        .count();
    assert!(site_alerts >= 1, "the site rule fired");
    let stats = recs.iter().find(|r| r["event_type"] == "stats").unwrap();
    let rules = &stats["stats"]["rules"];
    assert!(
        rules["dir"].as_str().unwrap().ends_with("/rules"),
        "{rules}"
    );
    assert_eq!(rules["overrides"][0], site.to_str().unwrap(), "{rules}");
    // The command line wins: records to stdout, not to the config's file.
    std::fs::remove_file(&eve).unwrap();
    let (code, out, err) = run(&[
        "replay",
        "--config",
        cfg.to_str().unwrap(),
        "--eve",
        "-",
        pcap.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(!eve.exists());
    assert!(out.contains("9000001"));
    // A mistake in the file is one line naming the file and the key.
    std::fs::write(&cfg, "wrokers = 2\n").unwrap();
    let (code, _, err) = run(&[
        "replay",
        "--config",
        cfg.to_str().unwrap(),
        pcap.to_str().unwrap(),
    ]);
    assert_eq!(code, 2);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("voip-sentinel.toml") && err.contains("wrokers"),
        "{err}"
    );
}

/// Man pages and completions come from the CLI definition.
#[test]
fn man_pages_and_completions_are_generated() {
    let dir = tempfile::tempdir().unwrap();
    let (code, _, err) = run(&["generate", "man", dir.path().to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let live = std::fs::read_to_string(dir.path().join("voip-sentinel-live.1")).unwrap();
    assert!(live.contains(".TH") && live.contains("interface"), "{live}");
    assert!(dir.path().join("voip-sentinel.1").exists());
    for (shell, word) in [
        ("bash", "complete"),
        ("zsh", "#compdef"),
        ("fish", "complete -c"),
    ] {
        let (code, out, _) = run(&["generate", "completions", shell]);
        assert_eq!(code, 0);
        assert!(out.contains(word) && out.contains("replay"), "{shell}");
    }
}

/// Records that cannot be written are said when it happens (once, not once a record) and the
/// replay ends with the count lost and a non-zero status.
#[test]
fn an_output_that_cannot_be_written_is_loud() {
    let pcap = root().join("pcaps/kamailio-auth-calls.pcap");
    let (code, _, err) = run(&["replay", "-q", "--eve", "/dev/full", pcap.to_str().unwrap()]);
    assert_eq!(code, 2, "{err}");
    assert_eq!(err.lines().count(), 2, "{err}");
    assert!(
        err.lines()
            .next()
            .unwrap()
            .contains("cannot write records to /dev/full: No space left"),
        "{err}"
    );
    let last = err.lines().last().unwrap();
    assert!(last.contains("records could not be written"), "{err}");
}

/// `--stats-interval`: a `stats` record every N seconds of capture time, as Suricata's
/// stats.log, with counters that only grow, ending with the full one; the same records for any
/// worker count.
#[test]
fn periodic_stats_records_grow_and_do_not_depend_on_workers() {
    let pcap = root().join("pcaps/kamailio-auth-calls.pcap");
    let stats_of = |workers: &str| -> Vec<serde_json::Value> {
        let (code, out, err) = run(&[
            "replay",
            "-q",
            "--workers",
            workers,
            "--stats-interval",
            "5",
            "--eve",
            "-",
            pcap.to_str().unwrap(),
        ]);
        assert_eq!(code, 0, "{err}");
        out.lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
            .filter(|r| r["event_type"] == "stats")
            .map(|mut r| {
                r["stats"]["memory"] = serde_json::Value::Null;
                r
            })
            .collect()
    };
    let one = stats_of("1");
    // The capture spans about 21 s: records at 5, 10, 15, 20 and 25 s, then the final one.
    assert_eq!(one.len(), 6, "{one:?}");
    let packets: Vec<u64> = one
        .iter()
        .map(|r| r["stats"]["capture"]["packets"].as_u64().unwrap())
        .collect();
    assert!(packets.windows(2).all(|w| w[0] < w[1]), "{packets:?}");
    let sip: Vec<u64> = one
        .iter()
        .map(|r| r["stats"]["sip"]["messages"].as_u64().unwrap())
        .collect();
    assert!(
        sip.windows(2).all(|w| w[0] <= w[1]) && sip[0] > 0,
        "{sip:?}"
    );
    assert_eq!(one, stats_of("3"));
}

/// The watchdog names a stage that stops moving while it has work. Here the records go to a
/// pipe whose reader never reads (as to a stuck log shipper): the output stage blocks writing,
/// then the correlator handing it records, then the workers handing the correlator their
/// events, then the capture thread. Once the reader
/// goes away, writing fails loudly and the replay ends non-zero.
#[test]
fn the_watchdog_names_a_stage_that_stopped_moving() {
    use std::io::BufRead;
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("eve.pipe");
    assert!(Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    // Holds the pipe open for reading (with a small buffer) and never reads.
    let mut reader = Command::new("python3")
        .args([
            "-c",
            "import fcntl,os,sys,time; fd=os.open(sys.argv[1], os.O_RDONLY); \
             fcntl.fcntl(fd, 1031, 4096); time.sleep(60)",
        ])
        .arg(&fifo)
        .spawn()
        .unwrap();
    let pcap = root().join("pcaps/attack/invite-flood.pcap");
    let mut sensor = Command::new(bin())
        .args(["replay", "-q", "--workers", "2", "--watchdog-secs", "1"])
        // Small queues, so that the stages behind the correlator fill theirs at once.
        .args(["--queue-batches", "1", "--output-thread", "on", "--eve"])
        .arg(&fifo)
        .arg(&pcap)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let stderr = sensor.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            let _ = tx.send(line);
        }
    });
    let mut lines = Vec::new();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let seen = |lines: &[String], what: &str| lines.iter().any(|l| l.contains(what));
    while !(seen(&lines, "the output has made no progress")
        && seen(&lines, "the correlator has made no progress")
        && seen(&lines, "blocked handing its work to the correlator")
        && seen(&lines, "the capture thread has made no progress"))
    {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match rx.recv_timeout(left) {
            Ok(l) => lines.push(l),
            Err(_) => panic!("no watchdog line in 20 s: {lines:?}"),
        }
    }
    let _ = reader.kill();
    let _ = reader.wait();
    let status = sensor.wait().unwrap();
    lines.extend(rx.iter());
    let text = lines.join("\n");
    assert_ne!(status.code(), Some(0), "{text}");
    // The output stage is stuck in a write; the correlator waits on it, the workers on the
    // correlator, the capture thread on the workers.
    let stalled = lines
        .iter()
        .find(|l| l.contains("the output has made no progress"))
        .unwrap();
    assert!(
        stalled.ends_with("busy with one piece of work"),
        "{stalled}"
    );
    let waiting = lines
        .iter()
        .find(|l| l.contains("the correlator has made no progress"))
        .unwrap();
    assert!(
        waiting.contains("blocked handing its work to the output at capture packet #"),
        "{waiting}"
    );
    assert!(
        text.contains("blocked handing its work to the correlator"),
        "the workers wait on it: {text}"
    );
    assert!(
        text.contains("blocked handing its work to a worker"),
        "the capture thread waits on the workers: {text}"
    );
    assert!(text.contains("cannot write records to"), "{text}");
}
