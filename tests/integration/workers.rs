//! The output must not depend on the number of workers, nor on whether the records are written
//! on a thread of their own.

use serde_json::Value;

use crate::util::*;

/// The records of a run without what is not a function of the input: the stats record's
/// peak memory, the capture's path.
fn sensor_records(paths: &[&std::path::Path], workers: &str) -> Vec<Value> {
    sensor_records_with(paths, &["--workers", workers])
}

fn sensor_records_with(paths: &[&std::path::Path], args: &[&str]) -> Vec<Value> {
    let mut recs = sensor(paths, args);
    for r in &mut recs {
        if let Some(st) = r.get_mut("stats").and_then(Value::as_object_mut) {
            st.remove("memory");
        }
        // The path the capture was given as (a copy in a temporary folder here).
        if let Some(o) = r.as_object_mut() {
            o.remove("pcap_filename");
        }
    }
    recs
}

#[test]
fn one_and_four_workers_write_identical_records() {
    for cap in captures() {
        // The records written on the correlator's thread, and on a thread of their own.
        let one = sensor_records_with(&[&cap], &["--workers", "1", "--output-thread", "off"]);
        // Queues of one batch: the capture thread waits on full queues all the time, the hand-off
        // path where a watermark once overtook a held batch (records then depended on load).
        let four = sensor_records_with(
            &[&cap],
            &[
                "--workers",
                "4",
                "--queue-batches",
                "1",
                "--output-thread",
                "on",
            ],
        );
        assert_eq!(one.len(), four.len(), "{}: record counts differ", rel(&cap));
        for (a, b) in one.iter().zip(&four) {
            assert_eq!(
                a,
                b,
                "{}: records differ between 1 and 4 workers",
                rel(&cap)
            );
        }
    }
}

#[test]
fn a_folder_replays_like_its_files_one_after_the_other() {
    let caps = captures();
    let refs: Vec<&std::path::Path> = caps.iter().map(|p| p.as_path()).collect();
    let all = sensor_records(&refs, "1");
    let folder = sensor_records(&[&root().join("pcaps")], "1");
    assert_eq!(all, folder);
    // with several workers
    let dir = tempfile::tempdir().unwrap();
    for c in &caps {
        let to = dir.path().join(rel(c));
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(c, &to).unwrap();
    }
    assert_eq!(
        sensor_records(&refs, "3"),
        sensor_records(&[dir.path()], "2")
    );
}

/// The bundled captures in a folder of links named in the order of their first packet (most
/// are months or years apart), for `replay --parallel-files`.
fn captures_by_time() -> tempfile::TempDir {
    let mut caps: Vec<(voip_sentinel::capture::plan::Span, std::path::PathBuf)> = captures()
        .into_iter()
        .map(|c| (voip_sentinel::capture::plan::scan(&c, None), c))
        .collect();
    caps.sort_by_key(|(s, c)| (s.first, s.newest, c.clone()));
    let dir = tempfile::tempdir().unwrap();
    for (i, (_, c)) in caps.iter().enumerate() {
        let name = format!("{i:03}-{}", rel(c).replace('/', "-"));
        std::os::unix::fs::symlink(c, dir.path().join(name)).unwrap();
    }
    dir
}

/// A copy of the shipped rules whose detectors.conf has these lines changed (each must be there).
fn detectors_with(lines: &[(&str, &str)]) -> tempfile::TempDir {
    let rules = rules_copy();
    let conf = rules.path().join("detectors.conf");
    let mut text = std::fs::read_to_string(&conf).unwrap();
    for (from, to) in lines {
        let (from, to) = (format!("\n{from}\n"), format!("\n{to}\n"));
        assert!(text.contains(&from), "detectors.conf has no {from:?}");
        text = text.replace(&from, &to);
    }
    std::fs::write(&conf, text).unwrap();
    rules
}

/// A replay's records (as `sensor_records_with`) and what it said on stderr.
fn replay_saying(dir: &std::path::Path, args: &[&str]) -> (Vec<Value>, String) {
    let out = std::process::Command::new(bin())
        .args(["replay", "--eve", "-"])
        .args(args)
        .arg(dir)
        .output()
        .expect("run voip-sentinel");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{stderr}");
    let mut recs: Vec<Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    for r in &mut recs {
        if let Some(st) = r.get_mut("stats").and_then(Value::as_object_mut) {
            st.remove("memory");
        }
    }
    (recs, stderr)
}

/// Captures further apart than everything the sensor remembers go to pipelines of their own,
/// several at once, and the records (the stats record's counters and tables included) are
/// those of one pipeline reading the files one after another.
/// Also with the alert rate at one a second (every signature holds alerts back, and says how
/// many in its next alert: state that a part must not carry).
#[test]
fn captures_weeks_apart_analysed_at_once_write_the_records_of_one_pipeline() {
    let dir = captures_by_time();
    let rules = detectors_with(&[
        ("rate_per_second = 100", "rate_per_second = 1"),
        ("rate_burst = 1000", "rate_burst = 1"),
    ]);
    let tight = ["--rules", rules.path().to_str().unwrap()];
    for rules in [&[][..], &tight[..]] {
        let one = [rules, &["--workers", "1"]].concat();
        let (one, _) = replay_saying(dir.path(), &one);
        let parts = [rules, &["--workers", "1", "--parallel-files", "3"]].concat();
        let (parts, said) = replay_saying(dir.path(), &parts);
        let n: usize = said
            .split(" files analysed in ")
            .nth(1)
            .and_then(|t| t.split(' ').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no parts said: {said}"));
        assert!(n >= 4, "{n} parts: {said}");
        assert_eq!(one.len(), parts.len());
        for (a, b) in one.iter().zip(&parts) {
            assert_eq!(a, b, "records differ when analysed in parts ({rules:?})");
        }
    }
}

/// A detector configured to remember longer than the parts are apart leaves state at a part's
/// end: the replay says so and runs in one pipeline, with the same records.
#[test]
fn a_part_left_holding_state_runs_the_replay_whole() {
    let dir = captures_by_time();
    let rules = detectors_with(&[("sweep_window = 60", "sweep_window = 2592000")]);
    let r = rules.path().to_str().unwrap();
    let (one, _) = replay_saying(dir.path(), &["--rules", r]);
    let (again, said) = replay_saying(dir.path(), &["--rules", r, "--parallel-files", "2"]);
    assert!(
        said.contains("still held state (") && said.contains("scanner_sources"),
        "{said}"
    );
    assert!(!said.contains(" files analysed in "), "{said}");
    assert_eq!(one, again);
}
