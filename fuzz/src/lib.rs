//! Helpers shared by the fuzz targets: input shapes built with `arbitrary`, the invariant
//! checks, and an opt-in time limit for slow inputs.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use voip_sentinel::base::packet::LinkType;
use voip_sentinel::base::time::Ts;

/// Whether `inner` lies inside `outer` (a parser's borrowed slice must come from its input).
pub fn within(outer: &[u8], inner: &[u8]) -> bool {
    let o = outer.as_ptr_range();
    let i = inner.as_ptr_range();
    inner.is_empty() || (o.start <= i.start && i.end <= o.end)
}

/// The limit set by `FUZZ_SLOW_MS` (off when unset): a sensor parses a 64 KiB packet in well
/// under 10 ms, so anything much slower is a quadratic scan or an unbounded loop. Opt-in
/// because sanitizers and a loaded machine slow every input down.
fn slow_limit() -> Option<Duration> {
    static LIMIT: OnceLock<Option<Duration>> = OnceLock::new();
    *LIMIT.get_or_init(|| {
        std::env::var("FUZZ_SLOW_MS")
            .ok()
            .and_then(|v| v.parse().ok())
            .map(Duration::from_millis)
    })
}

/// Run `f`, panicking when it takes longer than the `FUZZ_SLOW_MS` limit. A slow first run
/// is timed again (`f` must be repeatable), so that being descheduled on a busy machine is not
/// taken for a slow parse: only the fastest of four runs counts.
pub fn timed<R>(what: &str, input_len: usize, mut f: impl FnMut() -> R) -> R {
    let Some(limit) = slow_limit() else {
        return f();
    };
    let start = Instant::now();
    let r = f();
    let mut best = start.elapsed();
    for _ in 0..3 {
        if best <= limit {
            break;
        }
        let again = Instant::now();
        let _ = f();
        best = best.min(again.elapsed());
    }
    assert!(
        best <= limit,
        "{what}: {input_len} bytes took {best:?} (limit {limit:?})"
    );
    r
}

/// Every link type the decoder supports, picked by a fuzzed byte.
pub fn link_type(sel: u8) -> LinkType {
    LinkType::ALL[sel as usize % LinkType::ALL.len()]
}

/// Records at most taken from one input (bounds the work per run).
pub const MAX_RECORDS: usize = 512;

/// Split an input into records, each a big-endian `u16` length and that many bytes (a length
/// past the end takes the rest). A plain format rather than `arbitrary`, so that `seed.sh`
/// writes real packets from the captures as seeds and a crash file reads as packets.
pub fn records(data: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut rest = data;
    std::iter::from_fn(move || {
        let (len, tail) = match rest {
            [a, b, tail @ ..] => (usize::from(u16::from_be_bytes([*a, *b])), tail),
            _ => return None,
        };
        let (rec, next) = tail.split_at(len.min(tail.len()));
        rest = next;
        Some(rec)
    })
    .take(MAX_RECORDS)
}

/// Whether an options record (usually the first) has its lowest bit set.
pub fn option_bit(rec: Option<&[u8]>) -> bool {
    rec.and_then(|r| r.first()).is_some_and(|b| b & 1 == 1)
}

/// The first `N` bytes of a record as a header (zero-filled when short), and the rest.
pub fn header<const N: usize>(rec: &[u8]) -> ([u8; N], &[u8]) {
    let mut h = [0u8; N];
    let n = rec.len().min(N);
    h[..n].copy_from_slice(&rec[..n]);
    (h, &rec[n..])
}

/// Frames in capture order: each record is a link type selector (1 byte), the gap to the
/// previous frame in milliseconds (big-endian `u16`; large gaps drive timeouts), the frame.
pub fn frames<'a>(
    recs: impl Iterator<Item = &'a [u8]>,
) -> impl Iterator<Item = (LinkType, Ts, &'a [u8])> {
    let mut ns: u64 = 1_700_000_000_000_000_000;
    recs.map(move |rec| {
        let ([link, g0, g1], data) = header::<3>(rec);
        ns = ns.saturating_add(u64::from(u16::from_be_bytes([g0, g1])) * 1_000_000);
        (link_type(link), Ts(ns), data)
    })
}
