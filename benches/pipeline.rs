//! The whole pipeline (capture thread, 2 workers, correlator, records serialised) on the
//! benchmark capture of `scripts/make-bench-pcap.sh` (1.15 M packets of 2,400 sipp calls), or
//! on `PIPELINE_BENCH_PCAP`. Falls back to the committed g711 capture when neither exists.
//! `cargo bench --bench pipeline`

use std::path::PathBuf;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};

mod common;

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

fn bench(c: &mut Criterion) {
    let file = capture_file();
    let packets = common::packets_in(&file);
    let mut g = c.benchmark_group("pipeline");
    g.sample_size(10);
    g.throughput(Throughput::Elements(packets));
    for workers in [1, 2] {
        let name = format!(
            "{} workers, {}",
            workers,
            file.file_name().unwrap_or_default().to_string_lossy()
        );
        g.bench_function(name, |b| {
            b.iter(|| common::run_pipeline(&file, workers, |_| {}).capture.packets)
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
