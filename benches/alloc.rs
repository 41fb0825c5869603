//! Heap allocations per packet on the RTP path, counted by a global allocator.
//!
//! The whole pipeline runs in-process over a capture (default: the benchmark capture of
//! `scripts/make-bench-pcap.sh`; `ALLOC_BENCH_PCAP=FILE` for another). Allocations are counted
//! on the capture thread and the workers (where every RTP packet is handled), and only while
//! the capture thread is between `ALLOC_BENCH_FROM` and `ALLOC_BENCH_TO` percent of the file:
//! with a capture of calls that are all set up first and hung up last (`cargo run --release
//! --example synth -- calls ...`) that window is pure steady-state RTP. The correlator (SIP,
//! records) is reported apart.
//!
//! On SIP-heavy traffic (`ALLOC_BENCH_PCAP=target/bench/sip-heavy.pcap`, from
//! `scripts/make-sip-bench-pcap.sh`) the figures are also given per SIP message: the packet
//! path parses SIP in the workers, the correlator keeps transactions and dialogs and writes.
//!
//! Run: `cargo bench --bench alloc` (prints the figures; the target is < 0.01 per packet).

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

mod common;

/// Counts allocations by the kind of thread that makes them, while `COUNTING` is set.
struct Counting;

static COUNTING: AtomicBool = AtomicBool::new(false);
static PACKET_PATH: AtomicU64 = AtomicU64::new(0);
static CORRELATOR: AtomicU64 = AtomicU64::new(0);

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Unknown,
    Resolving,
    PacketPath,
    Correlator,
    Other,
}

thread_local! {
    static KIND: Cell<Kind> = const { Cell::new(Kind::Unknown) };
}

fn count() {
    if !COUNTING.load(Ordering::Relaxed) {
        return;
    }
    let kind = KIND.with(|k| {
        if k.get() == Kind::Unknown {
            // Naming the thread may allocate: mark first so that allocation is not classified.
            k.set(Kind::Resolving);
            let kind = match std::thread::current().name() {
                Some(n) if n.starts_with("worker-") || n == "main" => Kind::PacketPath,
                Some("correlator") => Kind::Correlator,
                _ => Kind::Other,
            };
            k.set(kind);
        }
        k.get()
    });
    match kind {
        Kind::PacketPath => PACKET_PATH.fetch_add(1, Ordering::Relaxed),
        Kind::Correlator => CORRELATOR.fetch_add(1, Ordering::Relaxed),
        _ => 0,
    };
}

// SAFETY: every call is forwarded unchanged to the system allocator; counting touches only
// atomics and a const-initialised thread local, and never allocates on the counted path.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: same contract as our caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: same contract as our caller's.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        // SAFETY: same contract as our caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as our caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn env_pct(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
        .min(100)
}

fn main() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let file = std::env::var_os("ALLOC_BENCH_PCAP")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target/bench/sipp-500-calls.pcap"));
    if !file.exists() {
        eprintln!(
            "alloc bench: {} is missing: make it with scripts/make-bench-pcap.sh \
             or set ALLOC_BENCH_PCAP",
            file.display()
        );
        return;
    }
    let total = common::packets_in(&file);
    let (from, to) = (
        total * env_pct("ALLOC_BENCH_FROM", 20) / 100,
        total * env_pct("ALLOC_BENCH_TO", 80) / 100,
    );
    let stats = common::run_pipeline(&file, 2, |seen| {
        if seen == from {
            COUNTING.store(true, Ordering::Relaxed);
        } else if seen == to {
            COUNTING.store(false, Ordering::Relaxed);
        }
    });
    COUNTING.store(false, Ordering::Relaxed);
    let window = to - from;
    let path = PACKET_PATH.load(Ordering::Relaxed);
    let corr = CORRELATOR.load(Ordering::Relaxed);
    println!(
        "alloc bench: {} ({} packets; window {}..{} = {} packets, {} RTP packets in all)",
        file.display(),
        total,
        from,
        to,
        window,
        stats.workers.iter().map(|w| w.rtp_packets).sum::<u64>()
    );
    println!(
        "  capture thread + workers: {path} allocations, {:.5} per packet",
        path as f64 / window.max(1) as f64
    );
    println!(
        "  correlator (SIP, records): {corr} allocations, {:.5} per packet",
        corr as f64 / window.max(1) as f64
    );
    // SIP messages in the window, estimated from the share of SIP messages in the whole file.
    let sip = stats.correlator.messages;
    if sip > 0 {
        let in_window = (sip as f64 * window as f64 / total.max(1) as f64).max(1.0);
        println!(
            "  per SIP message ({sip} in the file, about {in_window:.0} in the window): \
             packet path {:.2}, correlator {:.2}",
            path as f64 / in_window,
            corr as f64 / in_window
        );
    }
}
