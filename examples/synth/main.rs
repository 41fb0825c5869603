//! Write synthetic captures built from the real captures in `pcaps/` (see `gen.rs`):
//!
//! ```sh
//! cargo run --release --example synth -- calls --calls 100000 --rtp 10 --both-directions -o calls.pcap
//! cargo run --release --example synth -- flood --count 1000000 -o flood.pcap
//! ```

mod gen;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// Synthetic SIP/RTP captures (classic pcap, Ethernet/IPv4/UDP) made from the templates of
/// pcaps/sipp-uac-pcap-g711.pcap and pcaps/kamailio-register-digest.pcap.
#[derive(Parser, Debug)]
struct Args {
    #[command(subcommand)]
    mode: Mode,
    /// Output file.
    #[arg(short, long, global = true, default_value = "synth.pcap")]
    output: PathBuf,
    /// Seed of the identifiers (Call-IDs, tags, SSRCs...): same seed, same bytes.
    #[arg(long, global = true, default_value_t = 1)]
    seed: u64,
    /// Repository root (where pcaps/ is).
    #[arg(long, global = true, default_value = env!("CARGO_MANIFEST_DIR"))]
    root: PathBuf,
}

#[derive(Subcommand, Debug)]
enum Mode {
    /// N concurrent calls: every set-up first, then K rounds of RTP 20 ms apart, then every BYE.
    Calls {
        #[arg(long, default_value_t = 1000)]
        calls: u64,
        /// RTP rounds (packets per stream).
        #[arg(long = "rtp", default_value_t = 0)]
        rtp: u64,
        /// RTP in both directions (two streams per call).
        #[arg(long)]
        both_directions: bool,
        /// Seconds of packet time over which set-ups (and hang-ups) are spread.
        #[arg(long, default_value_t = 3)]
        setup_secs: u64,
    },
    /// N requests from N distinct sources, Call-IDs and users (INVITEs and REGISTERs, some
    /// answered 401, one RTP packet per INVITE).
    Flood {
        #[arg(long, default_value_t = 1_000_000)]
        count: u64,
        /// Requests per second of packet time.
        #[arg(long, default_value_t = 10_000)]
        rate: u64,
    },
}

fn main() -> std::io::Result<()> {
    let args = Args::parse();
    let t = gen::Templates::load(&args.root)?;
    let file = std::fs::File::create(&args.output)?;
    let mut w = gen::PcapWriter::new(std::io::BufWriter::with_capacity(1 << 20, file))?;
    let s = match args.mode {
        Mode::Calls {
            calls,
            rtp,
            both_directions,
            setup_secs,
        } => gen::calls(
            &t,
            &gen::CallsSpec {
                calls,
                rtp_rounds: rtp,
                both_directions,
                seed: args.seed,
                setup_us: setup_secs * 1_000_000,
            },
            &mut w,
        )?,
        Mode::Flood { count, rate } => gen::flood(
            &t,
            &gen::FloodSpec {
                count,
                rate,
                seed: args.seed,
            },
            &mut w,
        )?,
    };
    w.finish()?;
    eprintln!(
        "{}: {} packets, {} bytes; {} SIP messages ({} INVITE, {} REGISTER, {} 401), {} RTP packets in {} streams, {:.3} s of packet time",
        args.output.display(),
        s.packets,
        s.bytes,
        s.sip_messages,
        s.invites,
        s.registers,
        s.unauthorized,
        s.rtp_packets,
        s.rtp_streams,
        (s.last_us - s.first_us) as f64 / 1e6
    );
    Ok(())
}
