//! The output must not depend on the number of workers.

use crate::util::*;

#[test]
fn one_and_four_workers_write_identical_records() {
    for cap in captures() {
        let one = sensor(&[&cap], &["--workers", "1"]);
        let four = sensor(&[&cap], &["--workers", "4"]);
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
    let all = sensor(&refs, &["--workers", "3"]);
    let folder = sensor(&[&root().join("pcaps")], &["--workers", "2"]);
    assert_eq!(all, folder);
}
