//! The whole sensor in-process: fuzzed frames through the capture-side dispatcher (decode,
//! defragmentation, flow hashing, SDP expectations), one or two workers (UDP, TCP reassembly,
//! SIP framing, WebSocket, TLS probe, RTP/RTCP) and the correlator with the repository's
//! rules and detectors, checking that every record written is one line of JSON and, when the
//! input asks, that two workers write the same records as one.
#![no_main]

use std::io::Write;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex, OnceLock};

use fuzz_common::{frames, option_bit, records};
use libfuzzer_sys::fuzz_target;
use voip_sentinel::capture::SourceEvent;
use voip_sentinel::detect::policy::Policy;
use voip_sentinel::detect::rules::RuleSet;
use voip_sentinel::pipeline::{self, PipelineConfig};

/// The EVE output, kept to be checked after the run.
#[derive(Clone, Default)]
struct Sink(Arc<Mutex<Vec<u8>>>);

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The repository's rules/ (signatures, detector thresholds, numbering plan), loaded once
/// and copied for each run, since a run consumes its policy.
fn policy() -> Policy {
    static LOADED: OnceLock<Policy> = OnceLock::new();
    let p = LOADED.get_or_init(|| {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../rules");
        Policy::load(&dir).unwrap_or_else(|e| panic!("rules/ does not load: {e:?}"))
    });
    Policy {
        rules: std::sync::Arc::new(RuleSet::from_rules(p.rules.rules().to_vec())),
        detect: p.detect.clone(),
        vulnerable: p.vulnerable.clone(),
        advisories: p.advisories.clone(),
        segments: p.segments.clone(),
        tuning: p.tuning.clone(),
        folders: p.folders.clone(),
    }
}

/// The records one run writes, with `workers` workers.
fn run(
    input: &[(
        voip_sentinel::base::packet::LinkType,
        voip_sentinel::base::time::Ts,
        &[u8],
    )],
    workers: usize,
) -> Vec<u8> {
    let cfg = PipelineConfig {
        workers,
        queue_batches: 4,
        ..PipelineConfig::default()
    };
    let sink = Sink::default();
    let stop = AtomicBool::new(false);
    let (stats, _) = pipeline::run(
        &cfg,
        policy(),
        None,
        Box::new(sink.clone()),
        &stop,
        |d, _| {
            for &(link, ts, data) in input {
                let orig_len = data.len() as u32;
                d.on_event(SourceEvent::Packet {
                    ts,
                    link,
                    data,
                    orig_len,
                });
            }
        },
    );
    assert_eq!(stats.capture.packets, input.len() as u64);
    let out = sink.0.lock().unwrap().clone();
    out
}

// Input: records (see `fuzz_common::records`); the first one's first byte, when odd, asks
// for a second run with two workers, whose records must equal the one-worker run's byte for
// byte (the merge restores capture order; SIP summaries are recycled between threads); the
// other records are frames.
fuzz_target!(|data: &[u8]| {
    let mut recs = records(data);
    let compare = option_bit(recs.next());
    let input: Vec<_> = frames(recs).collect();
    let one = run(&input, 1);
    for line in one.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        if let Err(e) = serde_json::from_slice::<serde_json::Value>(line) {
            panic!(
                "EVE line is not JSON ({e}): {}",
                String::from_utf8_lossy(line)
            );
        }
    }
    if compare {
        let two = run(&input, 2);
        assert!(
            one == two,
            "1 and 2 workers wrote different records:\n{}\n---\n{}",
            String::from_utf8_lossy(&one),
            String::from_utf8_lossy(&two)
        );
    }
});
