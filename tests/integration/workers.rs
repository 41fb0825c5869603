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
