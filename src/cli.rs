//! Command-line interface.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

const EXAMPLES: &str = "\
Examples:
  Replay every capture in a folder, records to eve.json:
    voip-sentinel replay pcaps/
  Records to stdout, one worker (any worker count gives the same records):
    voip-sentinel replay --workers 1 --eve - call.pcap
  Capture from a SPAN/mirror port, SIP and media only:
    voip-sentinel live -i eth0 -f 'udp or tcp' --eve /var/log/voip-sentinel/eve.json
  Capture on every interface:
    voip-sentinel live -i any";

/// Passive VoIP security sensor: follows SIP dialogs and RTP media on a SPAN port or in
/// capture files, and writes EVE-style JSON records.
#[derive(Parser, Debug)]
#[command(name = "voip-sentinel", version, about, after_help = EXAMPLES)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    #[command(flatten)]
    pub common: Common,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Work with rule files.
    Rules {
        #[command(subcommand)]
        action: RulesAction,
    },
    /// Read pcap/pcapng files (or folders of them) as fast as the machine allows.
    Replay {
        /// Capture files or folders (searched recursively for .pcap, .pcapng, .cap).
        #[arg(required = true, value_name = "PATH")]
        paths: Vec<PathBuf>,
    },
    /// Capture live from an interface (promiscuous, full snaplen), never touching the traffic.
    Live {
        /// Interface to capture on (`any` and `lo` work too).
        #[arg(short = 'i', long = "interface", value_name = "IFACE")]
        iface: String,
        /// BPF capture filter, as for tcpdump.
        #[arg(short = 'f', long = "filter", value_name = "BPF")]
        filter: Option<String>,
        /// Bytes captured of each packet.
        #[arg(long, default_value_t = 262_144, value_name = "BYTES")]
        snaplen: i32,
        /// Do not put the interface in promiscuous mode.
        #[arg(long)]
        no_promisc: bool,
        /// Kernel capture buffer, in MiB.
        #[arg(long, default_value_t = 64, value_name = "MIB")]
        buffer_mib: i32,
        /// Join this Linux AF_PACKET fanout group: several sensors started with the same ID on one
        /// interface each receive a share of the flows (kernel flow hash, both directions and all
        /// fragments of a flow to one sensor). See README "Scaling out".
        #[arg(long, value_name = "ID")]
        fanout_group: Option<u16>,
    },
}

#[derive(Subcommand, Debug)]
pub enum RulesAction {
    /// Check a rules folder (signatures, variables.conf, detectors.conf): every error as
    /// `file:line:column: message`, exit status 1 when there is any.
    Check {
        /// The folder (default: the one the sensor would run with, see --rules).
        #[arg(value_name = "DIR")]
        dir: Option<PathBuf>,
    },
}

/// Options shared by every command.
#[derive(Args, Debug)]
pub struct Common {
    /// Worker threads (default: the number of cores).
    #[arg(long, global = true, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=256))]
    pub workers: Option<u16>,
    /// Folder of rule files (default: the rules installed with the binary,
    /// ../share/voip-sentinel/rules beside it or /usr/share/voip-sentinel/rules, else those of
    /// the source tree it was built from). SIGHUP reloads it.
    #[arg(long, global = true, value_name = "DIR")]
    pub rules: Option<PathBuf>,
    /// Where to write the JSON-lines records (`-` for stdout).
    #[arg(long, global = true, default_value = "eve.json", value_name = "PATH")]
    pub eve: PathBuf,
    /// No summary on stderr at the end, no progress line.
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// Serve Prometheus metrics at http://ADDR/metrics (ADDR defaults to 127.0.0.1:9917;
    /// give 0.0.0.0:9917 to let other hosts scrape).
    #[arg(
        long,
        global = true,
        value_name = "ADDR",
        num_args = 0..=1,
        default_missing_value = crate::output::metrics::DEFAULT_LISTEN
    )]
    pub metrics_listen: Option<std::net::SocketAddr>,
    /// SIP transactions tracked at most; when full, the least recently active are written as
    /// `evicted` (counted in the stats record's `state`).
    #[arg(long, global = true, default_value_t = 100_000, value_name = "N",
          value_parser = clap::value_parser!(u64).range(16..=100_000_000))]
    pub max_transactions: u64,
    /// Calls (INVITE dialogs) tracked at most; when full, finished then least recently active
    /// calls are written as `evicted`.
    #[arg(long, global = true, default_value_t = 100_000, value_name = "N",
          value_parser = clap::value_parser!(u64).range(16..=100_000_000))]
    pub max_calls: u64,
    /// RTP streams tracked at most by each worker; when full, the stalest end as `evicted`.
    #[arg(long, global = true, default_value_t = 20_000, value_name = "N",
          value_parser = clap::value_parser!(u64).range(16..=100_000_000))]
    pub max_streams: u64,
    /// Become this user once the capture, the EVE file and the metrics socket are open (as
    /// root: drops root; the EVE file's folder must be writable by the user for SIGHUP reopens).
    #[arg(long, global = true, value_name = "NAME")]
    pub user: Option<String>,
    /// With --user: this group instead of the user's primary group.
    #[arg(long, global = true, value_name = "NAME", requires = "user")]
    pub group: Option<String>,
    /// Replay: keep serving /metrics after the replay has ended, until SIGINT or SIGTERM.
    #[arg(long, global = true, requires = "metrics_listen")]
    pub linger: bool,
    /// Period of the ticks that run timeouts, in packet-time milliseconds (tests shorten it to
    /// pass many ticks quickly).
    #[arg(long, global = true, default_value_t = 1000, value_name = "MS", hide = true,
          value_parser = clap::value_parser!(u64).range(1..=60_000))]
    pub tick_ms: u64,
    /// Batches each worker queue holds (tests shrink it to fill queues quickly).
    #[arg(long, global = true, default_value_t = 64, value_name = "N", hide = true,
          value_parser = clap::value_parser!(u64).range(1..=65_536))]
    pub queue_batches: u64,
}
