//! Shared by the benches: the whole pipeline in-process over one capture.

use std::path::Path;
use std::sync::atomic::AtomicBool;

use voip_sentinel::capture::{self, SourceEvent};
use voip_sentinel::detect::policy::Policy;
use voip_sentinel::pipeline::{self, PipelineConfig, RunStats};

/// Packets in a capture.
pub fn packets_in(file: &Path) -> u64 {
    let mut n = 0u64;
    let stop = AtomicBool::new(false);
    capture::replay_files(&[file.to_path_buf()], &stop, |ev| {
        if matches!(ev, SourceEvent::Packet { .. }) {
            n += 1;
        }
    });
    n
}

/// Replay `file` through the pipeline (built-in rules, records to a sink), calling `before`
/// with the 1-based index of each packet just before the pipeline takes it.
pub fn run_pipeline(file: &Path, workers: usize, mut before: impl FnMut(u64)) -> RunStats {
    let cfg = PipelineConfig {
        workers,
        ..PipelineConfig::default()
    };
    let stop = AtomicBool::new(false);
    let mut seen = 0u64;
    let (stats, _) = pipeline::run(
        &cfg,
        Policy::builtin(),
        None,
        Box::new(std::io::sink()),
        &stop,
        |d, stop| {
            capture::replay_files(&[file.to_path_buf()], stop, |ev| {
                if matches!(ev, SourceEvent::Packet { .. }) {
                    seen += 1;
                    before(seen);
                }
                d.on_event(ev)
            })
        },
    );
    stats
}
