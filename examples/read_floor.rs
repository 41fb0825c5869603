//! The floor of the capture design: read every packet of a capture with the `pcap` crate and
//! touch one byte of each, nothing else. `scripts/perf-compare.sh` times the sensor against it.
//!
//! Usage: `cargo run --release --example read_floor -- FILE`

use std::process::ExitCode;

fn main() -> ExitCode {
    let Some(path) = std::env::args_os().nth(1) else {
        eprintln!("usage: read_floor FILE");
        return ExitCode::from(2);
    };
    let mut cap = match pcap::Capture::from_file(&path) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("read_floor: {}: {e}", path.to_string_lossy());
            return ExitCode::FAILURE;
        }
    };
    let start = std::time::Instant::now();
    let (mut packets, mut sum) = (0u64, 0u64);
    while let Ok(p) = cap.next_packet() {
        packets += 1;
        sum = sum.wrapping_add(u64::from(p.data.first().copied().unwrap_or(0)));
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "read_floor: {packets} packets in {secs:.3} s ({:.0} packets/s, checksum {sum})",
        packets as f64 / secs
    );
    ExitCode::SUCCESS
}
