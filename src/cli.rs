//! Command-line interface: each subcommand has its own options (and examples), and `--config`
//! reads a TOML file whose keys are those options' long names (flags given on the command line
//! win over the file).

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use clap::{Args, CommandFactory, Parser, Subcommand, ValueEnum};

const EXAMPLES: &str = "\
Examples:
  Replay every capture in a folder, records to eve.json:
    voip-sentinel replay pcaps/
  Capture from a SPAN/mirror port with the installed configuration:
    voip-sentinel live --config /etc/voip-sentinel/voip-sentinel.toml
  Check the rules after an edit:
    voip-sentinel rules check /etc/voip-sentinel/rules
Each command has its own options: voip-sentinel help replay, voip-sentinel help live.";

const REPLAY_EXAMPLES: &str = "\
Examples:
  Replay every capture in a folder, records to eve.json:
    voip-sentinel replay pcaps/
  Records to stdout, one worker (any worker count gives the same records):
    voip-sentinel replay --workers 1 --eve - call.pcap
  With the site's rules over the shipped ones, and a stats record every 10 s:
    voip-sentinel replay --rules /usr/share/voip-sentinel/rules --rules site-rules/ \\
      --stats-interval 10 archive/";

const LIVE_EXAMPLES: &str = "\
Examples:
  Capture from a SPAN/mirror port, SIP and media only:
    voip-sentinel live -i eth0 -f 'udp or tcp' --eve /var/log/voip-sentinel/eve.json
  Capture on every interface, metrics for Prometheus on 127.0.0.1:9917:
    voip-sentinel live -i any --metrics-listen
  As the service runs it (systemd unit shipped in dist/):
    voip-sentinel live --config /etc/voip-sentinel/voip-sentinel.toml";

const HEP_EXAMPLES: &str = "\
Examples:
  Receive HEP from a Kamailio on this host (siptrace duplicate_uri \"sip:127.0.0.1:9060\"):
    voip-sentinel hep --eve /var/log/voip-sentinel/eve.json
  Agents on other hosts, with a shared key they send in HEPv3's auth-key chunk:
    voip-sentinel hep --listen 0.0.0.0:9060 --config /etc/voip-sentinel/voip-sentinel.toml
  Capture a SPAN port and receive HEP at once:
    voip-sentinel live -i eth0 --hep-listen";

/// Passive VoIP security sensor: follows SIP dialogs and RTP media on a SPAN port or in
/// capture files, and writes EVE-style JSON records.
#[derive(Parser, Debug)]
#[command(name = "voip-sentinel", version, about, after_help = EXAMPLES)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Read pcap/pcapng files (or folders of them) as fast as the machine allows.
    #[command(after_help = REPLAY_EXAMPLES)]
    Replay(ReplayArgs),
    /// Capture live from an interface (promiscuous, full snaplen), never touching the traffic.
    #[command(after_help = LIVE_EXAMPLES)]
    Live(LiveArgs),
    /// Collect HEP copies of SIP from proxies, SBCs and PBXs (Kamailio siptrace, OpenSIPS,
    /// FreeSWITCH, Asterisk res_hep, heplify) on UDP and TCP, without a capture interface (no
    /// root needed): signalling they carry over TLS is analysed as if captured.
    #[command(after_help = HEP_EXAMPLES)]
    Hep(HepArgs),
    /// Write a forensic report of EVE records: one self-contained HTML file (summary, alert
    /// timeline, top addresses, toll-fraud destinations, encryption posture, call quality, and
    /// a SIP ladder diagram per alert and call, linked to its pcap with --pcap-dir).
    #[command(after_help = REPORT_EXAMPLES)]
    Report(ReportArgs),
    /// Work with rule files.
    Rules {
        #[command(subcommand)]
        action: RulesAction,
    },
    /// Write the manual pages or a shell's completions (used by scripts/install.sh).
    Generate {
        #[command(subcommand)]
        what: GenerateWhat,
    },
}

#[derive(Args, Debug)]
pub struct ReplayArgs {
    /// Capture files or folders (searched recursively for .pcap, .pcapng, .cap, each also as
    /// .gz).
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// BPF filter, as `tcpdump -r FILE EXPR` takes it: only the packets it passes are analysed.
    #[arg(short = 'f', long = "filter", value_name = "BPF")]
    pub filter: Option<String>,
    /// Keep serving /metrics after the replay has ended, until SIGINT or SIGTERM.
    #[arg(long, requires = "metrics_listen")]
    pub linger: bool,
    /// After the replay, write its forensic report (as `voip-sentinel report`) to FILE (needs
    /// the records in a file: not `--eve -`).
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
    /// Analyse up to N parts of the input at once, each in a pipeline of its own (its
    /// --workers), where that cannot change a record: captures further apart in time than
    /// everything the sensor remembers (a week by default) share no state. The records are
    /// those of one pipeline (checked at the end; when a part was left holding state, the
    /// replay runs again in one). Not with --pcap-dir, --metrics-listen or --stats-interval.
    #[arg(long, default_value_t = 1, value_name = "N",
          value_parser = clap::value_parser!(u16).range(1..=256))]
    pub parallel_files: u16,
    #[command(flatten)]
    pub run: RunOptions,
}

#[derive(Args, Debug)]
pub struct ReportArgs {
    /// EVE files written by the sensor.
    #[arg(required = true, value_name = "EVE")]
    pub eve: Vec<PathBuf>,
    /// The evidence folder the run wrote (--pcap-dir): ladders from the packets, and links.
    #[arg(long, value_name = "DIR")]
    pub pcap_dir: Option<PathBuf>,
    /// Where to write the report.
    #[arg(
        short = 'o',
        long = "output",
        default_value = "report.html",
        value_name = "FILE"
    )]
    pub output: PathBuf,
}

const REPORT_EXAMPLES: &str = "Examples:
    voip-sentinel replay --pcap-dir evidence --eve eve.json pcaps/
    voip-sentinel report eve.json --pcap-dir evidence -o report.html
    voip-sentinel replay --pcap-dir evidence --report report.html pcaps/attack/";

#[derive(Args, Debug)]
pub struct LiveArgs {
    /// Interface to capture on (`any` and `lo` work too).
    #[arg(short = 'i', long = "interface", value_name = "IFACE")]
    pub iface: String,
    /// BPF capture filter, as for tcpdump.
    #[arg(short = 'f', long = "filter", value_name = "BPF")]
    pub filter: Option<String>,
    /// Bytes captured of each packet.
    #[arg(long, default_value_t = 262_144, value_name = "BYTES")]
    pub snaplen: i32,
    /// Do not put the interface in promiscuous mode.
    #[arg(long)]
    pub no_promisc: bool,
    /// Kernel capture buffer, in MiB.
    #[arg(long, default_value_t = 64, value_name = "MIB")]
    pub buffer_mib: i32,
    /// Join this Linux AF_PACKET fanout group: several sensors started with the same ID on one
    /// interface each receive a share of the flows (kernel flow hash, both directions and all
    /// fragments of a flow to one sensor). See README "Scaling out".
    #[arg(long, value_name = "ID")]
    pub fanout_group: Option<u16>,
    #[command(flatten)]
    pub service: ServiceOptions,
    /// Also receive HEP copies of SIP (UDP and TCP) at ADDR (default 127.0.0.1:9060, HOMER's
    /// port), beside the capture: signalling that the wire carries over TLS stays visible.
    #[arg(
        long,
        value_name = "ADDR",
        num_args = 0..=1,
        default_missing_value = crate::capture::hep_listen::DEFAULT_LISTEN
    )]
    pub hep_listen: Option<std::net::SocketAddr>,
    #[command(flatten)]
    pub hep: HepOptions,
    #[command(flatten)]
    pub run: RunOptions,
}

#[derive(Args, Debug)]
pub struct HepArgs {
    /// Where to receive HEP (UDP and TCP on the same port). Give 0.0.0.0:9060 for agents on
    /// other hosts.
    #[arg(long, default_value = crate::capture::hep_listen::DEFAULT_LISTEN, value_name = "ADDR")]
    pub listen: std::net::SocketAddr,
    #[command(flatten)]
    pub service: ServiceOptions,
    #[command(flatten)]
    pub hep: HepOptions,
    #[command(flatten)]
    pub run: RunOptions,
}

/// Options of a sensor that runs until stopped (live, hep).
#[derive(Args, Debug)]
pub struct ServiceOptions {
    /// Exit with status 1 when records have failed to be written for this long (a full disk,
    /// a vanished log folder), so the service manager restarts the sensor. 0: never.
    #[arg(long, default_value_t = 60, value_name = "SECS")]
    pub output_fail_secs: u64,
}

/// Options of the HEP listener.
#[derive(Args, Debug)]
pub struct HepOptions {
    /// Take only HEP packets whose auth key (HEPv3 chunk 14) is this; others are dropped and
    /// counted (`bad_auth`). Put it in the --config file rather than on the command line,
    /// where `ps` shows it.
    #[arg(long, value_name = "KEY")]
    pub hep_password: Option<String>,
    /// TCP connections from agents open at once at most.
    #[arg(long, default_value_t = 64, value_name = "N")]
    pub hep_max_connections: u64,
}

#[derive(Subcommand, Debug)]
pub enum RulesAction {
    /// Check a rules folder (signatures, variables.conf, detectors.conf): every error as
    /// `file:line:column: message`, exit status 1 when there is any.
    Check {
        /// The folder, or several merged file by file as --rules merges them (default: the
        /// shipped rules the sensor would run with).
        #[arg(value_name = "DIR")]
        dirs: Vec<PathBuf>,
    },
}

#[derive(Subcommand, Debug)]
pub enum GenerateWhat {
    /// Manual pages: voip-sentinel.1 and one per command, written into DIR.
    Man {
        #[arg(value_name = "DIR")]
        dir: PathBuf,
    },
    /// A shell's completion script, on stdout.
    Completions {
        #[arg(value_enum)]
        shell: Shell,
    },
}

/// Where records are serialised and written (`--output-thread`).
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutputThread {
    /// A thread of its own when there is a core for it.
    Auto,
    /// Always a thread of its own.
    On,
    /// On the correlator's thread.
    Off,
}

/// Shells completions are generated for.
#[derive(ValueEnum, Clone, Copy, Debug)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
}

/// Options of every command that runs the sensor (replay and live).
#[derive(Args, Debug)]
pub struct RunOptions {
    /// TOML file of options: keys are the long option names (`workers = 2`, `eve = "..."`,
    /// live-only ones in a `[live]` table, which may also set shared ones for live alone).
    /// Options given here win over the file.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Worker threads (default: the number of cores).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=256))]
    pub workers: Option<u16>,
    /// Folder of rule files; given again, later folders override earlier ones file by file
    /// (a site folder over the shipped rules), but amend detectors.conf and numbering.plan.
    /// Default: the rules installed with the binary (../share/voip-sentinel/rules beside it,
    /// or /usr/share/voip-sentinel/rules), else those of the source tree it was built from.
    /// SIGHUP reloads them.
    #[arg(long, value_name = "DIR")]
    pub rules: Vec<PathBuf>,
    /// Where to write the JSON-lines records (`-` for stdout).
    #[arg(long, default_value = "eve.json", value_name = "PATH")]
    pub eve: PathBuf,
    /// Write only records of these types (comma-separated: alert, sip, call, rtp, device, tls,
    /// flow, posture, stats), as Suricata's eve-log `types`. Default: all. What is not written is still
    /// counted in the metrics; without `flow`, flows are not tracked at all.
    #[arg(long, value_name = "TYPES", value_delimiter = ',', value_parser = clap::builder::PossibleValuesParser::new(crate::output::eve::EVENT_TYPES))]
    pub eve_types: Option<Vec<String>>,
    /// No summary on stderr at the end, no progress line.
    #[arg(short, long)]
    pub quiet: bool,
    /// Serve Prometheus metrics at http://ADDR/metrics (ADDR defaults to 127.0.0.1:9917;
    /// give 0.0.0.0:9917 to let other hosts scrape).
    #[arg(
        long,
        value_name = "ADDR",
        num_args = 0..=1,
        default_missing_value = crate::output::metrics::DEFAULT_LISTEN
    )]
    pub metrics_listen: Option<std::net::SocketAddr>,
    /// Write a `stats` record every SECS seconds of capture time (counters so far, as
    /// Suricata's stats.log), besides the one at the end. 0: only at the end.
    #[arg(long, default_value_t = 0, value_name = "SECS")]
    pub stats_interval: u64,
    /// Say on stderr which stage (capture, a worker, the correlator) has made no progress for
    /// this long while it had work, what it was doing and at which capture packet; and when it
    /// moves again. 0: no watchdog.
    #[arg(long, default_value_t = 10, value_name = "SECS")]
    pub watchdog_secs: u64,
    /// SIP transactions tracked at most; when full, the least recently active are written as
    /// `evicted` (counted in the stats record's `state`).
    #[arg(long, default_value_t = 100_000, value_name = "N",
          value_parser = clap::value_parser!(u64).range(16..=100_000_000))]
    pub max_transactions: u64,
    /// Calls (INVITE dialogs) tracked at most; when full, finished then least recently active
    /// calls are written as `evicted`.
    #[arg(long, default_value_t = 100_000, value_name = "N",
          value_parser = clap::value_parser!(u64).range(16..=100_000_000))]
    pub max_calls: u64,
    /// RTP streams tracked at most by each worker; when full, the stalest end as `evicted`.
    #[arg(long, default_value_t = 20_000, value_name = "N",
          value_parser = clap::value_parser!(u64).range(16..=100_000_000))]
    pub max_streams: u64,
    /// Keep the packets behind every alert as pcap files in DIR (made mode 0700; files mode
    /// 0600: they hold what the capture holds, keys and credentials included). An alert names
    /// its file in `evidence.pcap`. Off by default.
    #[arg(long, value_name = "DIR")]
    pub pcap_dir: Option<PathBuf>,
    /// With --pcap-dir: also one file per call with its SIP and RTP, named in the call
    /// record's `call.pcap` (as VoIPmonitor keeps calls).
    #[arg(long, requires = "pcap_dir")]
    pub pcap_calls: bool,
    /// Packets kept per address for alerts on rates (floods, scans, brute force): the last N
    /// to or from the offender before the alert.
    #[arg(long, default_value_t = 64, value_name = "N",
          value_parser = clap::value_parser!(u64).range(1..=100_000))]
    pub pcap_sample: u64,
    /// Size of one evidence file at most, in MiB (later packets are left out, counted).
    #[arg(long, default_value_t = 64, value_name = "MIB",
          value_parser = clap::value_parser!(u64).range(1..=1_048_576))]
    pub pcap_max_file_mib: u64,
    /// Size of the evidence folder at most, in MiB: the oldest files are removed first
    /// (counted). SIGHUP makes the sensor account for the folder again.
    #[arg(long, default_value_t = 1024, value_name = "MIB",
          value_parser = clap::value_parser!(u64).range(1..=1_073_741_824))]
    pub pcap_max_total_mib: u64,
    /// Become this user once the capture, the EVE file and the metrics socket are open (as
    /// root: drops root; the EVE file's folder must be writable by the user for SIGHUP reopens).
    #[arg(long, value_name = "NAME")]
    pub user: Option<String>,
    /// With --user: this group instead of the user's primary group.
    #[arg(long, value_name = "NAME", requires = "user")]
    pub group: Option<String>,
    /// Period of the ticks that run timeouts, in packet-time milliseconds (tests shorten it to
    /// pass many ticks quickly).
    #[arg(long, default_value_t = 1000, value_name = "MS", hide = true,
          value_parser = clap::value_parser!(u64).range(1..=60_000))]
    pub tick_ms: u64,
    /// Batches each worker queue holds (tests shrink it to fill queues quickly).
    #[arg(long, default_value_t = 64, value_name = "N", hide = true,
          value_parser = clap::value_parser!(u64).range(1..=65_536))]
    pub queue_batches: u64,
    /// Serialise and write the records on a thread of their own, beside the correlator:
    /// `auto` does when every stage can have a core (the capture thread, each worker, the
    /// correlator and the output); with fewer cores, sharing them costs more than it brings.
    #[arg(long, value_enum, default_value_t = OutputThread::Auto, value_name = "WHEN")]
    pub output_thread: OutputThread,
}

impl Cli {
    /// Parse the process's arguments with the `--config` file's options put in front of those
    /// given on the command line. Errors of the file are one line, `Err`; clap's own errors
    /// (and `--help`) exit as clap does.
    pub fn parse_with_config() -> Result<Cli, String> {
        let args: Vec<OsString> = std::env::args_os().collect();
        let args = with_config(args)?;
        Ok(Cli::parse_from(args))
    }
}

/// The commands that take a `--config` file, each with its own table in it.
const CONFIG_TABLES: [&str; 3] = ["replay", "live", "hep"];

/// `args` with the options of the `--config` file (if one is named) inserted after the
/// subcommand, skipping every option the command line gives itself.
pub fn with_config(args: Vec<OsString>) -> Result<Vec<OsString>, String> {
    let Some(sub_at) = args
        .iter()
        .skip(1)
        .position(|a| !a.to_string_lossy().starts_with('-'))
    else {
        return Ok(args);
    };
    let sub_at = sub_at + 1;
    let sub = args[sub_at].to_string_lossy().into_owned();
    if !CONFIG_TABLES.contains(&sub.as_str()) {
        return Ok(args);
    }
    let mut config = None;
    for (i, a) in args.iter().enumerate().skip(sub_at + 1) {
        let a = a.to_string_lossy();
        if a == "--" {
            break;
        }
        if a == "--config" {
            config = args.get(i + 1).map(PathBuf::from);
        } else if let Some(v) = a.strip_prefix("--config=") {
            config = Some(PathBuf::from(v));
        }
    }
    let Some(path) = config else {
        return Ok(args);
    };
    let text = std::fs::read_to_string(&path)
        .map_err(|e| format!("cannot read config {}: {e}", path.display()))?;
    let given: Vec<String> = args[sub_at + 1..]
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let injected = config_args(&path, &text, &sub, &given)?;
    let mut out = args[..=sub_at].to_vec();
    out.extend(injected.into_iter().map(OsString::from));
    out.extend(args[sub_at + 1..].iter().cloned());
    Ok(out)
}

/// The command-line options a config text stands for, for subcommand `sub`, leaving out
/// those the command line (`given`) sets itself.
fn config_args(
    path: &Path,
    text: &str,
    sub: &str,
    given: &[String],
) -> Result<Vec<String>, String> {
    let table: toml::Table = text.parse().map_err(|e: toml::de::Error| {
        let at = e
            .span()
            .map(|s| {
                let line = text[..s.start].matches('\n').count() + 1;
                format!(":{line}")
            })
            .unwrap_or_default();
        format!("config {}{at}: {}", path.display(), e.message())
    })?;
    let root = Cli::command();
    // Option id -> its arguments; a key of the command's table replaces a top-level one.
    let mut chosen: Vec<(String, Vec<String>)> = Vec::new();
    let mut put = |id: &str, args: Vec<String>| match chosen.iter_mut().find(|(i, _)| i == id) {
        Some(slot) => slot.1 = args,
        None => chosen.push((id.to_string(), args)),
    };
    let shared = RunOptions::augment_args(clap::Command::new("x"));
    // Top-level keys first: the options replay and live share.
    for (key, value) in table.iter().filter(|(_, v)| !v.is_table()) {
        let cmd = root.find_subcommand(sub).expect("subcommand exists");
        let arg = find_arg(cmd, key)
            .filter(|a| shared.get_arguments().any(|r| r.get_id() == a.get_id()))
            .ok_or_else(|| {
                format!(
                    "config {}: {key}: no such option (options of one command go in its table, e.g. [live])",
                    path.display()
                )
            })?;
        if key == "config" {
            return Err(format!(
                "config {}: config: a config file cannot name another",
                path.display()
            ));
        }
        put(
            arg.get_id().as_str(),
            option_args(path, arg, key, value, given)?,
        );
    }
    // Then the tables: every one is checked, the running command's is applied.
    for (key, value) in table.iter().filter(|(_, v)| v.is_table()) {
        let (Some(cmd), Some(t)) = (
            root.find_subcommand(key.as_str())
                .filter(|_| CONFIG_TABLES.contains(&key.as_str())),
            value.as_table(),
        ) else {
            return Err(format!(
                "config {}: [{key}]: unknown table (only [live], [hep] and [replay])",
                path.display()
            ));
        };
        for (k, v) in t {
            let arg = find_arg(cmd, k).filter(|_| k != "config").ok_or_else(|| {
                format!(
                    "config {}: [{key}] {k}: no such option of `{key}`",
                    path.display()
                )
            })?;
            let args = option_args(path, arg, k, v, given)?;
            if key == sub {
                put(arg.get_id().as_str(), args);
            }
        }
    }
    Ok(chosen.into_iter().flat_map(|(_, a)| a).collect())
}

fn find_arg<'a>(cmd: &'a clap::Command, long: &str) -> Option<&'a clap::Arg> {
    cmd.get_arguments()
        .find(|a| a.get_long() == Some(long) && !a.is_hide_set())
}

/// `--key value` for one config entry; nothing if the command line gives the option itself.
fn option_args(
    path: &Path,
    arg: &clap::Arg,
    key: &str,
    value: &toml::Value,
    given: &[String],
) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let long = format!("--{key}");
    let short = arg.get_short().map(|c| format!("-{c}"));
    let on_line = given.iter().any(|g| {
        g == &long
            || g.starts_with(&format!("{long}="))
            || short
                .as_deref()
                .is_some_and(|s| g.starts_with(s) && !g.starts_with("--"))
    });
    if on_line {
        return Ok(out);
    }
    let bad = |what: &str| format!("config {}: {key}: {what}", path.display());
    let is_flag = matches!(arg.get_action(), clap::ArgAction::SetTrue);
    let scalar = |v: &toml::Value| -> Result<String, String> {
        match v {
            toml::Value::String(s) => Ok(s.clone()),
            toml::Value::Integer(i) => Ok(i.to_string()),
            toml::Value::Float(f) => Ok(f.to_string()),
            _ => Err(bad("expected a string or a number")),
        }
    };
    match value {
        toml::Value::Boolean(b) if is_flag => {
            if *b {
                out.push(long);
            }
        }
        _ if is_flag => return Err(bad("expected true or false")),
        toml::Value::Array(items) => {
            if !matches!(arg.get_action(), clap::ArgAction::Append) {
                return Err(bad("takes one value, not a list"));
            }
            for v in items {
                out.push(long.clone());
                out.push(scalar(v)?);
            }
        }
        v => {
            out.push(long);
            out.push(scalar(v)?);
        }
    }
    Ok(out)
}

/// Write `voip-sentinel.1` and a page per command (`voip-sentinel-live.1`, ...) into `dir`.
pub fn write_man_pages(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    clap_mangen::generate_to(Cli::command(), dir)
}

/// Print the completion script of `shell`.
pub fn write_completions(shell: Shell, out: &mut dyn std::io::Write) {
    let shell = match shell {
        Shell::Bash => clap_complete::Shell::Bash,
        Shell::Zsh => clap_complete::Shell::Zsh,
        Shell::Fish => clap_complete::Shell::Fish,
    };
    clap_complete::generate(shell, &mut Cli::command(), "voip-sentinel", out);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(a: &[&str]) -> Vec<OsString> {
        a.iter().map(OsString::from).collect()
    }

    fn with(text: &str, a: &[&str]) -> Result<Vec<String>, String> {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c.toml");
        std::fs::write(&p, text).unwrap();
        let mut v = vec!["voip-sentinel", a[0], "--config", p.to_str().unwrap()];
        v.extend_from_slice(&a[1..]);
        with_config(args(&v)).map(|o| {
            o.into_iter()
                .skip(2)
                .map(|s| s.into_string().unwrap())
                .filter(|s| !s.ends_with("c.toml") && s != "--config")
                .collect()
        })
    }

    #[test]
    fn config_keys_become_options_and_the_command_line_wins() {
        let text =
            "workers = 3\neve = \"/var/log/e.json\"\nquiet = true\nrules = [\"/a\", \"/b\"]\n\
                    [live]\ninterface = \"eth1\"\nfilter = \"udp\"\nno-promisc = false\n";
        let got = with(text, &["live", "-i", "lo", "--eve", "-"]).unwrap();
        // (top-level keys first, in name order, then the command's table; the command line last)
        assert_eq!(
            got.join(" "),
            "--quiet --rules /a --rules /b --workers 3 --filter udp -i lo --eve -"
        );
        // The live table is not for replay.
        let got = with(text, &["replay", "x.pcap"]).unwrap();
        assert_eq!(
            got.join(" "),
            "--eve /var/log/e.json --quiet --rules /a --rules /b --workers 3 x.pcap"
        );
        let cli =
            Cli::try_parse_from(with_config(args(&["voip-sentinel", "replay", "x.pcap"])).unwrap())
                .unwrap();
        assert!(matches!(cli.command, Command::Replay(_)));
    }

    #[test]
    fn config_mistakes_are_one_line_each() {
        let e = with("wrokers = 2\n", &["replay", "x"]).unwrap_err();
        assert!(e.contains("wrokers: no such option"), "{e}");
        let e = with("interface = \"eth0\"\n", &["live"]).unwrap_err();
        assert!(
            e.contains("interface: no such option") && e.contains("[live]"),
            "{e}"
        );
        let e = with("[live]\nstats = 2\n", &["live"]).unwrap_err();
        assert!(e.contains("[live] stats: no such option"), "{e}");
        let e = with("[replay]\ninterface = \"eth0\"\n", &["live"]).unwrap_err();
        assert!(e.contains("[replay] interface"), "{e}");
        // A table may also set a shared option for its command only.
        let got = with("eve = \"a\"\n[live]\neve = \"b\"\n", &["live"]).unwrap();
        assert_eq!(got, ["--eve", "b"]);
        let e = with("quiet = \"yes\"\n", &["replay", "x"]).unwrap_err();
        assert!(e.contains("expected true or false"), "{e}");
        let e = with("eve = [\"a\", \"b\"]\n", &["replay", "x"]).unwrap_err();
        assert!(e.contains("one value"), "{e}");
        let e = with("workers = \n", &["replay", "x"]).unwrap_err();
        assert!(e.contains("c.toml:1"), "{e}");
        assert_eq!(e.lines().count(), 1, "{e}");
        let e = with("[sip]\nx = 1\n", &["replay", "x"]).unwrap_err();
        assert!(e.contains("unknown table"), "{e}");
    }

    #[test]
    fn every_run_option_has_a_config_key() {
        let root = Cli::command();
        for sub in ["replay", "live"] {
            let cmd = root.find_subcommand(sub).unwrap();
            for a in cmd.get_arguments().filter(|a| !a.is_hide_set()) {
                let Some(long) = a.get_long() else { continue };
                if ["help", "config"].contains(&long) {
                    continue;
                }
                let value = if matches!(a.get_action(), clap::ArgAction::SetTrue) {
                    "true"
                } else {
                    "\"1\""
                };
                let table = if RunOptions::augment_args(clap::Command::new("x"))
                    .get_arguments()
                    .any(|r| r.get_long() == Some(long))
                {
                    String::new()
                } else {
                    format!("[{sub}]\n")
                };
                let r = with(&format!("{table}{long} = {value}\n"), &[sub]);
                assert!(r.is_ok(), "{sub} {long}: {r:?}");
            }
        }
    }
}
