//! Which files of a replay may be analysed apart, in parallel, without changing a record.
//!
//! A replay reads its files in order with one clock over all of them. A file whose first packet
//! comes more than the state horizon after every packet before it meets none of their state:
//! every table of the pipeline forgets what is idle for that long (a week at most, by default),
//! at the tick that packet brings. So the files before it and those from it on can go to
//! pipelines of their own: the first ends with that tick (its state expiring as it would have),
//! the second begins with it (its schedules set as they would have been), and their records,
//! put together in order, are those of one pipeline. Whether a pipeline really had nothing left
//! at its end is checked when it ends (`RunStats::left`); the plan only says where to look.

use std::ops::Range;
use std::path::Path;
use std::sync::atomic::AtomicBool;

use crate::base::time::Ts;

use super::{replay, OfflineFilter, SourceEvent};

/// What a file gives the pipeline: the packets it hands on (a known link type, passing the
/// replay's filter), the first one's time and the newest time among them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Span {
    pub packets: u64,
    pub first: Option<Ts>,
    pub newest: Option<Ts>,
}

/// Read a file as the replay would and note its span (a file that cannot be read, or only in
/// part, spans the packets before the damage, as the replay analyses them).
pub fn scan(path: &Path, filter: Option<&str>) -> Span {
    let mut filter = filter.and_then(|f| OfflineFilter::new(f).ok());
    let mut span = Span::default();
    let stop = AtomicBool::new(false);
    replay(&[path.to_path_buf()], filter.as_mut(), &stop, |ev| {
        if let SourceEvent::Packet { ts, .. } = ev {
            span.packets += 1;
            span.first.get_or_insert(ts);
            span.newest = span.newest.max(Some(ts));
        }
    });
    span
}

/// [`scan`] every file, `at_once` at a time.
pub fn scan_all(files: &[std::path::PathBuf], filter: Option<&str>, at_once: usize) -> Vec<Span> {
    crate::base::at_once::map_at_once(files, at_once, |f| scan(f, filter))
}

/// Where a pipeline's input sits in a replay cut into parts; the default is the whole input.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Part {
    /// Packets of the replay before this part's first.
    pub seq_base: u64,
    /// The tick the replay's clock gave at this part's first packet (a later part).
    pub start: Option<Ts>,
    /// The tick the next part's first packet gives (not the last part): run before the end.
    pub end: Option<Ts>,
}

/// Files analysed by one pipeline, and where they sit in the replay.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Group {
    pub files: Range<usize>,
    pub part: Part,
}

/// Split the files (in replay order) where a file's first packet comes `horizon_ns` or more
/// after the newest packet of every file before it. Files without packets stay with the group
/// before them, as their errors come before the next packet in a replay.
pub fn plan(spans: &[Span], horizon_ns: u64) -> Vec<Group> {
    let mut groups = Vec::new();
    let (mut from, mut seq, mut base) = (0, 0u64, 0u64);
    let mut start: Option<Ts> = None;
    let mut newest: Option<Ts> = None;
    for (i, s) in spans.iter().enumerate() {
        if let (Some(first), Some(n)) = (s.first, newest) {
            if first.0 >= n.0.saturating_add(horizon_ns) {
                groups.push(Group {
                    files: from..i,
                    part: Part {
                        seq_base: base,
                        start,
                        end: Some(first),
                    },
                });
                (from, base, start) = (i, seq, Some(first));
            }
        }
        seq += s.packets;
        newest = newest.max(s.newest);
    }
    groups.push(Group {
        files: from..spans.len(),
        part: Part {
            seq_base: base,
            start,
            end: None,
        },
    });
    groups
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(packets: u64, first: u64, newest: u64) -> Span {
        Span {
            packets,
            first: Some(Ts(first)),
            newest: Some(Ts(newest)),
        }
    }

    /// Splits only where a file starts a horizon after everything before it (not merely after
    /// the file before it), and an empty file stays behind.
    #[test]
    fn splits_where_every_earlier_packet_is_a_horizon_old() {
        let spans = [
            span(3, 100, 200),
            span(2, 2_000, 5_000),
            // After the file before, but within the horizon of the one before that.
            span(4, 300, 400),
            Span::default(),
            span(1, 5_100, 5_100),
            span(5, 9_000, 9_500),
        ];
        let g = plan(&spans, 1_000);
        assert_eq!(
            g,
            vec![
                Group {
                    files: 0..1,
                    part: Part {
                        seq_base: 0,
                        start: None,
                        end: Some(Ts(2_000))
                    }
                },
                Group {
                    files: 1..5,
                    part: Part {
                        seq_base: 3,
                        start: Some(Ts(2_000)),
                        end: Some(Ts(9_000))
                    }
                },
                Group {
                    files: 5..6,
                    part: Part {
                        seq_base: 10,
                        start: Some(Ts(9_000)),
                        end: None
                    }
                },
            ]
        );
        assert_eq!(plan(&spans, 100_000).len(), 1);
        assert_eq!(plan(&[], 1).len(), 1);
    }
}
