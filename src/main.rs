//! The `voip-sentinel` command: parse arguments, run, map errors to an exit status.

/// mimalloc in place of glibc's malloc: the SIP path allocates per message (strings of the
/// records and the dialog state), and glibc's malloc and free were a third of the correlator's
/// instructions. The binary's choice only: the library, its tests and benches keep the system
/// allocator.
#[global_allocator]
static ALLOC: Mi = Mi;

/// mimalloc, asked for alignment only when a type needs more than the word alignment every
/// mimalloc block has. `mimalloc::MiMalloc` asks `mi_malloc_aligned` for everything, whose fast
/// path is longer and which takes the generic path (an over-allocation) for every block over
/// 1 KiB: 4.7 % of all the sensor's instructions on SIP-heavy traffic went to the allocator, a
/// third of it to that detour.
struct Mi;

/// The alignment every mimalloc block has: blocks are multiples of the word size in pages that
/// start 16-aligned, large ones page-aligned.
const MI_WORD_ALIGN: usize = 8;

// SAFETY: every block comes from mimalloc and goes back to it (`mi_free` takes any of its
// blocks, aligned or not); a layout whose alignment is at most the word alignment is served by
// the plain calls, whose blocks all have it, any other by the aligned calls with its alignment.
// Sizes are passed as given (a zero size is never asked of a `GlobalAlloc`).
unsafe impl std::alloc::GlobalAlloc for Mi {
    #[inline]
    unsafe fn alloc(&self, layout: std::alloc::Layout) -> *mut u8 {
        use libmimalloc_sys as mi;
        // SAFETY: see the impl; both return null on failure, as `alloc` must.
        unsafe {
            if layout.align() <= MI_WORD_ALIGN {
                mi::mi_malloc(layout.size()) as *mut u8
            } else {
                mi::mi_malloc_aligned(layout.size(), layout.align()) as *mut u8
            }
        }
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: std::alloc::Layout) -> *mut u8 {
        use libmimalloc_sys as mi;
        // SAFETY: as `alloc`; the block is zeroed by mimalloc.
        unsafe {
            if layout.align() <= MI_WORD_ALIGN {
                mi::mi_zalloc(layout.size()) as *mut u8
            } else {
                mi::mi_zalloc_aligned(layout.size(), layout.align()) as *mut u8
            }
        }
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, _layout: std::alloc::Layout) {
        // SAFETY: `ptr` is a block this allocator gave (the caller's contract).
        unsafe { libmimalloc_sys::mi_free(ptr as *mut std::ffi::c_void) }
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: std::alloc::Layout, new_size: usize) -> *mut u8 {
        use libmimalloc_sys as mi;
        let p = ptr as *mut std::ffi::c_void;
        // SAFETY: `ptr` is a block of ours with `layout`; the new block keeps its alignment
        // (word alignment by the plain call, the layout's by the aligned one), and on failure
        // null is returned and the old block left as it was, as `realloc` must.
        unsafe {
            if layout.align() <= MI_WORD_ALIGN {
                mi::mi_realloc(p, new_size) as *mut u8
            } else {
                mi::mi_realloc_aligned(p, new_size, layout.align()) as *mut u8
            }
        }
    }
}

/// mimalloc's options, by their number in its `mi_option_e` (v3, as libmimalloc-sys 0.1.49
/// vendors it; `allocator_options_are_these` checks them by their documented defaults).
const MI_OPTION_ARENA_EAGER_COMMIT: libmimalloc_sys::mi_option_t = 4;
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Give memory back as soon as it is free and commit arenas only as they are used: without,
/// mimalloc kept more than twice glibc's peak RSS on the RTP-heavy bench (180 MB against
/// 78 MB), for no measurable speed. Set here they give 125 MB: the first arena is reserved
/// before `main`, so only the environment (`MIMALLOC_ARENA_EAGER_COMMIT=0`, as the systemd
/// unit sets it) reaches it, for 82 MB.
fn tune_allocator() {
    // SAFETY: mi_option_set stores an option value in mimalloc's option table (atomically);
    // both options are plain numbers read when memory is purged or an arena is reserved.
    unsafe {
        libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, 0);
        libmimalloc_sys::mi_option_set(MI_OPTION_ARENA_EAGER_COMMIT, 0);
    }
}

use std::io::{BufWriter, IsTerminal, Write};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use anyhow::{bail, Context, Result};

use std::path::PathBuf;
use voip_sentinel::capture::{self, Live, LiveConfig, SourceEvent};

use voip_sentinel::cli::{Cli, Command, GenerateWhat, OutputThread, RulesAction};
use voip_sentinel::detect::policy::Policy;
use voip_sentinel::detect::rules::folders::RuleFolders;
use voip_sentinel::output::progress::Progress;
use voip_sentinel::pipeline::report;
use voip_sentinel::pipeline::{self, PipelineConfig};

fn main() -> ExitCode {
    tune_allocator();
    // A panic anywhere names the capture position a worker was at, so the packet can be found
    // (and kept as a regression test); the process then ends with a non-zero status.
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let thread = std::thread::current();
        let name = thread.name().unwrap_or("main");
        let seq = voip_sentinel::pipeline::worker::CURRENT_PACKET.with(|c| c.get());
        if seq > 0 {
            eprintln!(
                "voip-sentinel: {name} panicked at capture packet #{seq} (1-based, over all files)"
            );
        }
        default_hook(info);
    }));
    let cli = match Cli::parse_with_config() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("voip-sentinel: error: {e}");
            return ExitCode::from(2);
        }
    };
    match run(cli) {
        Ok(code) => code,
        // A reader that went away (`| head`) is not an error worth a message.
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("voip-sentinel: error: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// On SIGHUP, load the rules folder again (in a thread of its own, so capture never waits) and
/// hand the result to the correlator, which swaps it in without losing detector state.
/// SIGHUP also asks the correlator to reopen the EVE file and to account for the evidence
/// folder again (`reopen`), for logrotate and rotation scripts.
fn watch_sighup(
    dir: Option<RuleFolders>,
    reopen: [Arc<AtomicBool>; 2],
    stop: Arc<AtomicBool>,
) -> Result<crossbeam_channel::Receiver<voip_sentinel::detect::policy::Reload>> {
    let hup = Arc::new(AtomicBool::new(false));
    signal_hook::flag::register(signal_hook::consts::SIGHUP, Arc::clone(&hup))
        .context("installing the SIGHUP handler")?;
    let (tx, rx) = crossbeam_channel::unbounded();
    std::thread::Builder::new()
        .name("rules-reload".into())
        .spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                if hup.swap(false, Ordering::Relaxed) {
                    for flag in &reopen {
                        flag.store(true, Ordering::Relaxed);
                    }
                    if let Some(dir) = &dir {
                        let t = Instant::now();
                        let result = Policy::load(dir);
                        if tx.send((result, t.elapsed())).is_err() {
                            return;
                        }
                    }
                }
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
        })
        .context("starting the rules reload thread")?;
    Ok(rx)
}

/// The rules folder when none is given, wherever the sensor is run from: the one installed
/// beside the binary (`../share/voip-sentinel/rules`), the system's
/// (`/usr/share/voip-sentinel/rules`), or the source tree the binary was built from. A `rules/`
/// of the working directory no longer decides what runs (from another folder, a replay used
/// to lose the scanner and toll-fraud alerts without a word).
fn default_rules_dir() -> Option<PathBuf> {
    // (the shipped rules; `--rules` folders given after them override them file by file)
    let beside = std::env::current_exe().ok().and_then(|exe| {
        exe.parent()
            .map(|bin| bin.join("../share/voip-sentinel/rules"))
    });
    [
        beside,
        Some(PathBuf::from("/usr/share/voip-sentinel/rules")),
        Some(PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/rules"))),
    ]
    .into_iter()
    .flatten()
    .find(|d| d.is_dir())
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// What `replay --parallel-files` cuts into parts.
struct Parts<'a> {
    files: &'a [PathBuf],
    filter: Option<&'a str>,
    at_once: usize,
    /// The EVE file: the parts' records wait beside it (or in the temporary folder for `-`).
    eve: &'a std::path::Path,
    quiet: bool,
}

/// `replay --parallel-files N`: the input cut where captures are further apart than the
/// sensor remembers (`capture::plan`), the parts analysed at once; their counters added up and
/// their records, in order. None when the input is one part, or when a part ended holding state
/// (then the replay runs whole, and says so).
fn replay_in_parts(
    cfg: &PipelineConfig,
    policy: &Policy,
    p: &Parts<'_>,
    stop: &AtomicBool,
) -> Result<Option<(pipeline::report::RunStats, Vec<std::fs::File>)>> {
    let started = Instant::now();
    let spans = capture::plan::scan_all(p.files, p.filter, p.at_once);
    let horizon = policy
        .detect
        .longest_memory_secs()
        .saturating_mul(1_000_000_000)
        .max(voip_sentinel::base::time::MEMORY_NS);
    let groups = capture::plan::plan(&spans, horizon);
    if groups.len() < 2 {
        return Ok(None);
    }
    let tmp = match p.eve.parent() {
        _ if p.eve.as_os_str() == "-" => std::env::temp_dir(),
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let make_policy = || policy.clone();
    let input = pipeline::parts::Parts {
        files: p.files,
        groups: &groups,
        at_once: p.at_once,
        filter: p.filter,
        tmp: &tmp,
    };
    let parts = pipeline::parts::run_parts(cfg, &make_policy, &input, stop)
        .with_context(|| format!("cannot keep the parts' records in {}", tmp.display()))?;
    let last = parts.len() - 1;
    if let Some((i, left)) = parts[..last]
        .iter()
        .map(|d| d.stats.left())
        .enumerate()
        .find(|(_, l)| !l.is_empty())
    {
        if !stop.load(Ordering::Relaxed) {
            if !p.quiet {
                let file = p.files[groups[i].files.end - 1].display();
                eprintln!(
                    "voip-sentinel: the part ending with {file} still held state ({}): \
                     analysing the files in one pipeline",
                    left.join(", ")
                );
            }
            return Ok(None);
        }
    }
    let mut records = Vec::with_capacity(parts.len());
    let mut stats: Option<pipeline::report::RunStats> = None;
    for d in parts {
        records.push(d.records);
        match &mut stats {
            Some(s) => s.add_part(d.stats),
            None => stats = Some(d.stats),
        }
    }
    let mut stats = stats.expect("two parts or more");
    stats.elapsed = started.elapsed();
    if !p.quiet {
        eprintln!(
            "voip-sentinel: {} files analysed in {} parts, {} at once",
            p.files.len(),
            groups.len(),
            p.at_once.min(groups.len())
        );
    }
    Ok(Some((stats, records)))
}

/// The EVE output: stdout for `-`; a file, truncated for a replay, appended to in live mode (a
/// restarted sensor does not erase what it wrote, as Suricata does).
fn open_output(path: &std::path::Path, append: bool) -> Result<Box<dyn Write + Send>> {
    if path.as_os_str() == "-" {
        return Ok(Box::new(BufWriter::with_capacity(
            1 << 16,
            std::io::stdout(),
        )));
    }
    let f = std::fs::OpenOptions::new()
        .create(true)
        .write(true)
        .append(append)
        .truncate(!append)
        .open(path)
        .with_context(|| format!("cannot write records to {}", path.display()))?;
    Ok(Box::new(BufWriter::with_capacity(1 << 16, f)))
}

/// The rules folders to run with: those given (`--rules`, in order), else the default one.
fn rule_folders(given: &[PathBuf]) -> Option<RuleFolders> {
    if given.is_empty() {
        default_rules_dir().map(|d| RuleFolders::new(vec![d]))
    } else if given.iter().all(|g| g.is_file()) {
        // Rule files alone (as `suricata -S`): their signatures over the shipped configuration.
        match default_rules_dir() {
            Some(base) => Some(RuleFolders::files_over(base, given.to_vec())),
            None => Some(RuleFolders::new(given.to_vec())),
        }
    } else {
        Some(RuleFolders::new(given.to_vec()))
    }
}

fn run(cli: Cli) -> Result<ExitCode> {
    let (run, linger) = match &cli.command {
        Command::Rules {
            action: RulesAction::Check { dirs },
        } => return Ok(check_rules(dirs)),
        Command::Report(a) => {
            voip_sentinel::output::report::write_report(
                &voip_sentinel::output::report::ReportSource {
                    eve: &a.eve,
                    pcap_dir: a.pcap_dir.as_deref(),
                    output: &a.output,
                },
            )
            .map_err(anyhow::Error::msg)?;
            return Ok(ExitCode::SUCCESS);
        }
        Command::Generate { what } => {
            match what {
                GenerateWhat::Man { dir } => voip_sentinel::cli::write_man_pages(dir)
                    .with_context(|| format!("cannot write manual pages to {}", dir.display()))?,
                GenerateWhat::Completions { shell } => {
                    let mut out = std::io::stdout().lock();
                    voip_sentinel::cli::write_completions(*shell, &mut out);
                    out.flush()?;
                }
            }
            return Ok(ExitCode::SUCCESS);
        }
        Command::Replay(a) => {
            if a.report.is_some() && a.run.eve.as_os_str() == "-" {
                bail!("--report reads the records back: give --eve FILE, not --eve -");
            }
            (&a.run, a.linger)
        }
        Command::Live(a) => (&a.run, false),
        Command::Hep(a) => (&a.run, false),
    };
    let mut cfg = PipelineConfig::default();
    if let Some(n) = run.workers {
        cfg.workers = n as usize;
    }
    cfg.correlator.tx.max = run.max_transactions as usize;
    cfg.correlator.calls.max = run.max_calls as usize;
    cfg.worker.streams.max_streams = run.max_streams as usize;
    cfg.tick_ns = run.tick_ms * 1_000_000;
    cfg.queue_batches = run.queue_batches as usize;
    cfg.output_thread = match run.output_thread {
        OutputThread::Auto => None,
        OutputThread::On => Some(true),
        OutputThread::Off => Some(false),
    };
    cfg.stats_every_ns = run.stats_interval.saturating_mul(1_000_000_000);
    cfg.correlator.eve_types.clone_from(&run.eve_types);
    // Flows are tracked only when their records are written.
    if run
        .eve_types
        .as_ref()
        .is_some_and(|t| !t.iter().any(|x| x == "flow"))
    {
        cfg.worker.flows = None;
    }
    cfg.watchdog =
        (run.watchdog_secs > 0).then(|| std::time::Duration::from_secs(run.watchdog_secs));
    // The user to become, looked up before anything is opened: a wrong name fails at once.
    let run_as = match &run.user {
        Some(u) => Some(
            voip_sentinel::capture::privdrop::lookup(u, run.group.as_deref())
                .map_err(anyhow::Error::msg)?,
        ),
        None => None,
    };
    let drop_privileges = || -> Result<()> {
        if let Some(ids) = run_as {
            voip_sentinel::capture::privdrop::drop_to(ids)
                .map_err(|e| anyhow::anyhow!("cannot drop privileges: {e}"))?;
        }
        Ok(())
    };
    // The rules folder: as given (it must load), or the one installed or built with the binary.
    let rules_dir = rule_folders(&run.rules);
    if rules_dir.is_none() && !run.quiet {
        eprintln!(
            "voip-sentinel: no rules folder found (give --rules DIR): only the built-in signatures and detectors run"
        );
    }
    let policy = match &rules_dir {
        Some(d) => Policy::load(d).map_err(|errors| {
            anyhow::anyhow!(
                "invalid rules: {} ({} problems in all; `voip-sentinel rules check {}` lists them)",
                errors[0],
                errors.len(),
                d.dirs()
                    .iter()
                    .map(|d| d.display().to_string())
                    .collect::<Vec<_>>()
                    .join(" ")
            )
        })?,
        None => Policy::builtin(),
    };
    if !run.quiet {
        for s in policy.rules.skipped() {
            eprintln!("voip-sentinel: {s}");
        }
    }
    let metrics = run
        .metrics_listen
        .map(|_| voip_sentinel::output::metrics::Metrics::new());
    let _server = match (run.metrics_listen, &metrics) {
        (Some(addr), Some(m)) => Some(
            voip_sentinel::output::http::serve(Arc::clone(m), addr)
                .with_context(|| format!("cannot serve metrics on {addr} (is the port in use?)"))?,
        ),
        _ => None,
    };
    if let Some(m) = &metrics {
        m.set_workers(cfg.workers);
    }
    cfg.metrics = metrics.clone();
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(sig, Arc::clone(&stop))
            .context("installing signal handlers")?;
    }
    let output_failed = Arc::new(AtomicBool::new(false));
    let reopen = Arc::new(AtomicBool::new(false));
    let rescan = Arc::new(AtomicBool::new(false));
    let reload = Some(watch_sighup(
        rules_dir,
        [Arc::clone(&reopen), Arc::clone(&rescan)],
        Arc::clone(&stop),
    )?);
    if let Some(dir) = &run.pcap_dir {
        let mut e = voip_sentinel::output::evidence::EvidenceConfig::new(dir.clone());
        e.calls = run.pcap_calls;
        e.sample = run.pcap_sample as usize;
        e.max_file = run.pcap_max_file_mib.saturating_mul(1 << 20);
        e.max_total = run.pcap_max_total_mib.saturating_mul(1 << 20);
        e.rescan = Some(Arc::clone(&rescan));
        // Made (mode 0700) and checked now: an unusable folder is one clear error at start.
        voip_sentinel::output::evidence::Evidence::open(e.clone())
            .with_context(|| format!("cannot use the evidence folder {}", dir.display()))?;
        cfg.correlator.evidence = Some(e.clone());
        cfg.evidence = Some(e);
    }
    if run.eve.as_os_str() != "-" {
        cfg.correlator.eve_reopen = Some((Arc::clone(&reopen), run.eve.clone()));
    }
    let quiet = run.quiet;
    let progress = !quiet && std::io::stderr().is_terminal();
    let (stats, mut out, kernel) = match &cli.command {
        Command::Replay(a) => {
            let paths = &a.paths;
            let files = capture::expand_paths(paths)?;
            let mut filter = a
                .filter
                .as_deref()
                .map(capture::OfflineFilter::new)
                .transpose()?;
            let mut out = open_output(&run.eve, false)?;
            drop_privileges()?;
            let whole_output =
                run.pcap_dir.is_some() || run.metrics_listen.is_some() || run.stats_interval > 0;
            if a.parallel_files > 1 && whole_output && !quiet {
                eprintln!(
                    "voip-sentinel: --parallel-files is not taken with --pcap-dir, \
                     --metrics-listen or --stats-interval (their output is not per part): \
                     analysing the files in one pipeline"
                );
            }
            let apart = a.parallel_files > 1 && files.len() > 1 && !whole_output;
            let parted = if apart {
                let parts = Parts {
                    files: &files,
                    filter: a.filter.as_deref(),
                    at_once: a.parallel_files as usize,
                    eve: &run.eve,
                    quiet,
                };
                replay_in_parts(&cfg, &policy, &parts, &stop)?
            } else {
                None
            };
            if let Some((mut stats, records)) = parted {
                for mut r in records {
                    if let Err(e) = std::io::copy(&mut r, &mut out) {
                        if e.kind() == std::io::ErrorKind::BrokenPipe {
                            stats.correlator.output_closed = true;
                            break;
                        }
                        return Err(e).context("writing the records");
                    }
                }
                (stats, out, None)
            } else {
                let total: u64 = files
                    .iter()
                    .filter_map(|f| std::fs::metadata(f).ok())
                    .map(|m| m.len())
                    .sum();
                let (stats, out) = pipeline::run(&cfg, policy, reload, out, &stop, |d, stop| {
                    let mut shown = Progress::new(total, Instant::now());
                    capture::replay(&files, filter.as_mut(), stop, |ev| {
                        if progress {
                            if let SourceEvent::Packet { data, .. } = &ev {
                                if let Some(line) = shown.packet(data.len(), Instant::now) {
                                    eprint!("{line}");
                                }
                            }
                        }
                        d.on_event(ev)
                    });
                    if shown.shown() {
                        eprint!("\r{:70}\r", "");
                    }
                });
                (stats, out, None)
            }
        }
        Command::Rules { .. } | Command::Generate { .. } | Command::Report(_) => {
            unreachable!("handled above")
        }
        Command::Hep(a) => {
            give_up_after(&mut cfg, a.service.output_fail_secs, &stop, &output_failed);
            cfg.live = true;
            cfg.hep_password = a.hep.hep_password.clone().map(String::into_bytes);
            let listener = hep_listener(a.listen, &a.hep)?;
            if !quiet {
                eprintln!(
                    "voip-sentinel: receiving HEP on {} (UDP and TCP)",
                    listener.local
                );
            }
            let out = open_output(&run.eve, true)?;
            drop_privileges()?;
            let (stats, out) = pipeline::run(&cfg, policy, reload, out, &stop, |d, stop| {
                listener.run(stop, |ev: SourceEvent<'_>| d.on_event(ev));
            });
            (stats, out, None)
        }
        Command::Live(a) => {
            give_up_after(&mut cfg, a.service.output_fail_secs, &stop, &output_failed);
            cfg.hep_password = a.hep.hep_password.clone().map(String::into_bytes);
            let listener = a
                .hep_listen
                .map(|addr| hep_listener(addr, &a.hep))
                .transpose()?;
            if let (Some(l), false) = (&listener, quiet) {
                eprintln!("voip-sentinel: receiving HEP on {} (UDP and TCP)", l.local);
            }
            let (iface, filter, snaplen, no_promisc, buffer_mib, fanout_group) = (
                &a.iface,
                &a.filter,
                &a.snaplen,
                &a.no_promisc,
                &a.buffer_mib,
                &a.fanout_group,
            );
            cfg.live = true;
            let mut live = Live::open(&LiveConfig {
                iface: iface.clone(),
                filter: filter.clone(),
                snaplen: *snaplen,
                promisc: !no_promisc,
                buffer_bytes: buffer_mib.saturating_mul(1 << 20),
                fanout_group: *fanout_group,
            })?;
            let out = open_output(&run.eve, true)?;
            drop_privileges()?;
            let mut kernel = None;
            let (stats, out) = pipeline::run(&cfg, policy, reload, out, &stop, |d, stop| {
                live.run(stop, listener.as_ref(), |ev: SourceEvent<'_>| {
                    d.on_event(ev)
                });
                kernel = Some(live.kernel_stats());
            });
            (stats, out, kernel)
        }
    };
    if let (Some(m), Some(k)) = (&metrics, kernel) {
        m.capture_kernel_drops_total
            .inc_by(k.dropped + k.if_dropped);
    }
    let stats_written = match &run.eve_types {
        Some(t) if !t.iter().any(|x| x == "stats") => out.flush(),
        _ => report::write_stats_record(&mut out, &stats, kernel),
    };
    if !quiet {
        eprint!("{}", report::summary(&stats, kernel));
    }
    if linger {
        if let Some(addr) = run.metrics_listen {
            if !quiet {
                eprintln!("voip-sentinel: serving http://{addr}/metrics until interrupted");
            }
        }
        while !stop.load(Ordering::Relaxed) {
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    }
    if output_failed.load(Ordering::Relaxed) {
        // Said when it happened; the status tells the service manager to restart the sensor.
        eprintln!(
            "voip-sentinel: error: {} records could not be written",
            stats.correlator.output_errors
        );
        return Ok(ExitCode::from(1));
    }
    if stats.correlator.output_closed {
        // `| head`: the reader had what it wanted.
        return Ok(ExitCode::SUCCESS);
    }
    if stats.correlator.output_errors > 0 {
        bail!(
            "{} records could not be written (the cause was said when it happened)",
            stats.correlator.output_errors
        );
    }
    stats_written.context("writing the stats record")?;
    drop(out);
    if let Command::Replay(a) = &cli.command {
        if let Some(path) = &a.report {
            voip_sentinel::output::report::write_report(
                &voip_sentinel::output::report::ReportSource {
                    eve: std::slice::from_ref(&run.eve),
                    pcap_dir: run.pcap_dir.as_deref(),
                    output: path,
                },
            )
            .map_err(anyhow::Error::msg)?;
        }
    }
    // A file that could not be read (to its end) is an error even when the others were
    // processed: one line each, after the summary, and exit status 1.
    for e in &stats.capture.file_errors {
        eprintln!("voip-sentinel: error: {e} (skipped from there; the rest was processed)");
    }
    if !stats.capture.file_errors.is_empty() {
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}

/// `rules check [DIR...]`: load the folders as the sensor would; every error on its own line.
fn check_rules(dirs: &[PathBuf]) -> ExitCode {
    let Some(folders) = rule_folders(dirs) else {
        eprintln!("voip-sentinel: no rules folder found: give one (rules check DIR)");
        return ExitCode::from(1);
    };
    match Policy::load(&folders) {
        Ok(p) => {
            let (suppress, thresholds) = p.tuning.counts();
            for s in p.rules.skipped() {
                println!("{s}");
            }
            println!(
                "{folders}: {} signatures ({} skipped), detectors.conf ok, threshold.config: {suppress} suppress, {thresholds} threshold, advisories.conf: {} advisories, {} end-of-life dates",
                p.rules.len(),
                p.rules.skipped().len(),
                p.advisories.advisories.len(),
                p.advisories.eol.len()
            );
            ExitCode::SUCCESS
        }
        Err(errors) => {
            for e in &errors {
                eprintln!("{e}");
            }
            ExitCode::from(1)
        }
    }
}

/// With `secs` > 0, a live sensor whose records cannot be written for that long stops with
/// status 1, for its service manager to restart it.
fn give_up_after(
    cfg: &mut PipelineConfig,
    secs: u64,
    stop: &Arc<AtomicBool>,
    failed: &Arc<AtomicBool>,
) {
    if secs > 0 {
        cfg.correlator.give_up = Some(voip_sentinel::output::writer::GiveUp {
            after: std::time::Duration::from_secs(secs),
            stop: Arc::clone(stop),
            failed: Arc::clone(failed),
        });
    }
}

/// Bind the HEP listener (before privileges are dropped, so a port below 1024 works).
fn hep_listener(
    addr: std::net::SocketAddr,
    o: &voip_sentinel::cli::HepOptions,
) -> Result<capture::hep_listen::HepListener> {
    let mut cfg = capture::hep_listen::HepConfig::new(addr);
    cfg.max_connections = o.hep_max_connections;
    Ok(capture::hep_listen::HepListener::bind(&cfg)?)
}

#[cfg(test)]
mod tests {
    /// The option numbers name the options meant: each reads its documented default
    /// in its options.c (arena_eager_commit 2, purge_delay 1000 ms) before it is set.
    #[test]
    fn allocator_options_are_these() {
        // SAFETY: mi_option_get only reads mimalloc's option table.
        let (eager, delay) = unsafe {
            (
                libmimalloc_sys::mi_option_get(super::MI_OPTION_ARENA_EAGER_COMMIT),
                libmimalloc_sys::mi_option_get(super::MI_OPTION_PURGE_DELAY),
            )
        };
        assert_eq!((eager, delay), (2, 1000));
    }
}
