//! The floor of the replay design: walk every packet of a capture and touch one byte of each,
//! nothing else. By default with the sensor's own savefile reader (the file mapped and walked in
//! place); with `--libpcap`, through libpcap (the `pcap` crate), the floor before it.
//! `scripts/perf-compare.sh` times the sensor against both.
//!
//! Usage: `cargo run --release --example read_floor -- [--libpcap] FILE`

use std::process::ExitCode;

use voip_sentinel::capture::savefile::Savefile;

fn main() -> ExitCode {
    let mut args: Vec<std::ffi::OsString> = std::env::args_os().skip(1).collect();
    let libpcap = args.first().is_some_and(|a| a == "--libpcap");
    if libpcap {
        args.remove(0);
    }
    let [path] = &args[..] else {
        eprintln!("usage: read_floor [--libpcap] FILE");
        return ExitCode::from(2);
    };
    let start = std::time::Instant::now();
    let (mut packets, mut sum) = (0u64, 0u64);
    if libpcap {
        let mut cap = match pcap::Capture::from_file(path) {
            Ok(c) => c,
            Err(e) => {
                eprintln!("read_floor: {}: {e}", path.to_string_lossy());
                return ExitCode::FAILURE;
            }
        };
        while let Ok(p) = cap.next_packet() {
            packets += 1;
            sum = sum.wrapping_add(u64::from(p.data.first().copied().unwrap_or(0)));
        }
    } else {
        let mut file = match Savefile::open(std::path::Path::new(path)) {
            Ok(f) => f,
            Err(e) => {
                eprintln!("read_floor: {}: {e}", path.to_string_lossy());
                return ExitCode::FAILURE;
            }
        };
        while let Ok(Some(p)) = file.next() {
            packets += 1;
            sum = sum.wrapping_add(u64::from(p.data.first().copied().unwrap_or(0)));
        }
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "read_floor{}: {packets} packets in {secs:.3} s ({:.0} packets/s, checksum {sum})",
        if libpcap { " (libpcap)" } else { "" },
        packets as f64 / secs
    );
    ExitCode::SUCCESS
}
