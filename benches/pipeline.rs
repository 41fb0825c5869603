//! The whole pipeline (capture thread, 2 workers, correlator, records serialised) on the
//! benchmark capture of `scripts/make-bench-pcap.sh` (1.15 M packets of 2,400 sipp calls), or
//! on `PIPELINE_BENCH_PCAP`. Falls back to the committed g711 capture when neither exists.
//! `cargo bench --bench pipeline`

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use voip_sentinel::capture::{self, SourceEvent};
use voip_sentinel::pipeline::{self, PipelineConfig};
use voip_sentinel::policy::Policy;

fn capture_file() -> PathBuf {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    if let Some(p) = std::env::var_os("PIPELINE_BENCH_PCAP") {
        return PathBuf::from(p);
    }
    let big = root.join("target/bench/sipp-500-calls.pcap");
    if big.exists() {
        big
    } else {
        eprintln!(
            "pipeline bench: no {} (scripts/make-bench-pcap.sh)",
            big.display()
        );
        root.join("pcaps/sipp-uac-pcap-g711.pcap")
    }
}

fn run(file: &PathBuf, workers: usize) -> u64 {
    let cfg = PipelineConfig {
        workers,
        ..PipelineConfig::default()
    };
    let stop = AtomicBool::new(false);
    let (stats, _) = pipeline::run(
        &cfg,
        Policy::builtin(),
        None,
        Box::new(std::io::sink()),
        &stop,
        |d, stop| capture::replay_files(std::slice::from_ref(file), stop, |ev| d.on_event(ev)),
    );
    stats.capture.packets
}

fn bench(c: &mut Criterion) {
    let file = capture_file();
    let mut packets = 0u64;
    let stop = AtomicBool::new(false);
    capture::replay_files(std::slice::from_ref(&file), &stop, |ev| {
        if matches!(ev, SourceEvent::Packet { .. }) {
            packets += 1;
        }
    });
    let mut g = c.benchmark_group("pipeline");
    g.sample_size(10);
    g.throughput(Throughput::Elements(packets));
    for workers in [1, 2] {
        let name = format!(
            "{} workers, {}",
            workers,
            file.file_name().unwrap_or_default().to_string_lossy()
        );
        g.bench_function(name, |b| b.iter(|| run(&file, workers)));
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
