//! A replay cut into parts where that cannot change a record (`capture::plan`), each part
//! analysed by a pipeline of its own, several at once: a folder of captures from different
//! days, weeks apart, takes as long as its longest part on a machine with the cores.
//!
//! Each part writes its records to a file of its own (unlinked, in the folder given); the
//! caller puts them together in order once every part has ended and none was left holding
//! state (`RunStats::left`), and adds the parts' counters up (`RunStats::add_part`).

use std::io::{BufWriter, Seek, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use crate::capture::plan::Group;
use crate::capture::{replay, OfflineFilter};
use crate::detect::policy::Policy;
use crate::pipeline::report::RunStats;
use crate::pipeline::{run, PipelineConfig};

/// One part analysed: its counters and its records (the file read from the start).
pub struct PartDone {
    pub stats: RunStats,
    pub records: std::fs::File,
}

/// A replay cut into parts.
pub struct Parts<'a> {
    /// The replay's files, in order.
    pub files: &'a [PathBuf],
    pub groups: &'a [Group],
    /// Parts analysed at once at most.
    pub at_once: usize,
    /// The replay's BPF filter (checked before).
    pub filter: Option<&'a str>,
    /// Where the parts' records wait (unlinked files).
    pub tmp: &'a Path,
}

/// Analyse the parts, `at_once` at a time, each with `policy()`. The parts in order, or the
/// first error making a part's file.
pub fn run_parts(
    cfg: &PipelineConfig,
    policy: &(dyn Fn() -> Policy + Sync),
    p: &Parts<'_>,
    stop: &AtomicBool,
) -> std::io::Result<Vec<PartDone>> {
    let Parts {
        files,
        groups,
        at_once,
        filter,
        tmp,
    } = *p;
    crate::base::at_once::map_at_once(groups, at_once, |g| {
        run_part(cfg, policy(), &files[g.files.clone()], g, filter, tmp, stop)
    })
    .into_iter()
    .collect()
}

fn run_part(
    cfg: &PipelineConfig,
    policy: Policy,
    files: &[PathBuf],
    g: &Group,
    filter: Option<&str>,
    tmp: &Path,
    stop: &AtomicBool,
) -> std::io::Result<PartDone> {
    let mut records = tempfile::tempfile_in(tmp)?;
    let out: Box<dyn Write + Send> =
        Box::new(BufWriter::with_capacity(1 << 16, records.try_clone()?));
    let mut cfg = cfg.clone();
    cfg.part = g.part;
    // Checked by the caller before the parts ran.
    let mut filter = filter.and_then(|f| OfflineFilter::new(f).ok());
    let (stats, mut out) = run(&cfg, policy, None, out, stop, |d, stop| {
        replay(files, filter.as_mut(), stop, |ev| d.on_event(ev));
    });
    out.flush()?;
    drop(out);
    records.rewind()?;
    Ok(PartDone { stats, records })
}
