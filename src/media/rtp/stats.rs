//! Per-stream RTP statistics that reproduce Wireshark's RTP stream analysis
//! (`ui/tap-rtp-analysis.c` `rtppacket_analyse`, summarised by `ui/tap-rtp-common.c`
//! `rtpstream_info_calculate`, shown by `tshark -q -z rtp,streams`), plus RFC 3550 counters,
//! percentiles and a MOS estimate.
//!
//! # Wireshark arithmetic reproduced here
//!
//! Times are milliseconds as `f64`; `t` is the packet's arrival, `ts` its RTP timestamp
//! unwrapped to 64 bits (the "extended timestamp").
//!
//! * **First packet** of a stream: only initialises the state (start/stop/last sequence
//!   number, `time = t`, `seq_timestamp = ts`, payload type); no delta, no jitter.
//! * **In time sequence**: `seq_timestamp <= ts` (timestamp did not go back); otherwise the
//!   packet is flagged *wrong timestamp* and does not move `time` / `seq_timestamp`.
//! * **Cycles** (for "expected"): when in time sequence and not already `under`: a sequence
//!   number below the first one, or `0` right after a stop number of `65535`, counts one
//!   cycle and sets `under`; a number above the first one clears `under`.
//! * **Sequence errors**: in time sequence and `seq == last + 1` (or `65535 → 0`) is fine;
//!   in time sequence and a jump forward (`last + 1 < seq`, or back by more than `0xFF00`)
//!   is an error and becomes the new last; otherwise a number not after `last` (late or
//!   duplicate) is an error.
//! * **Clock rate**: static payload types (`< 96`) use Wireshark's table
//!   ([`super::codec::wireshark_static_clock`]) whatever the SDP says; a dynamic type uses
//!   the rate the caller passes (from `a=rtpmap`), `0` when `None`; RFC 4733 telephone-event
//!   types always count as rate `0`. With rate `0` there is no jitter update at all.
//! * **Delta**: `delta = t - time` (time of the last in-time-sequence packet).
//! * **Jitter** (RFC 3550 A.8 in ms): `expected = time + (ts - seq_timestamp) / (rate / 1000)`
//!   (**integer** division of the rate, as in C), `D = |t - expected|`,
//!   `J = J + (D - J) / 16` written as `(15 J + D) / 16`.
//! * **Regular packet**: not the first, no marker bit, not comfort noise (PT 13 or 19), not
//!   following a comfort-noise packet, in time sequence. Only regular packets update max /
//!   min / mean delta and (with a known rate) max / min / mean jitter.
//! * **Mean jitter / mean delta**: `mean = (mean * (n - 1) + x) / n` where `n` is the number of
//!   packets (of any kind) *before* this one — Wireshark divides by the count of all
//!   inter-packet gaps even though only regular packets are added.
//! * **Expected** `= (stop_seq + cycles * 65536) - start_seq + 1` where `stop_seq` is the
//!   sequence number of the *last* packet received (not the highest); **lost** `= expected -
//!   packets`, negative with duplicates.
//!
//! The RFC 3550 A.1 / A.3 counters (extended highest sequence number from the nearest
//! 16-bit candidate, duplicates in a 1024-packet window, out-of-order, longest gap) are kept
//! alongside and reported as `expected_rfc3550` / `lost_rfc3550`.

use hdrhistogram::Histogram;
use serde::{Serialize, Serializer};

use super::codec::wireshark_static_clock;
use super::header::RtpInfo;
use super::mos::{self, CodecImpairment};
use crate::base::time::Ts;

/// Unit of the delta / jitter histograms, in microseconds: percentiles are exact to 10 us or
/// 1 %, whichever is coarser.
const HIST_UNIT_US: f64 = 10.0;
/// Highest value recorded in the histograms, in units (60 s); higher values are clamped.
const HIST_MAX_UNITS: u64 = 6_000_000;
/// Significant figures of the histograms (1 % precision). They start small and grow to the
/// highest value seen: 20 ms voice deltas need 768 counters (3 KiB), jitter of a few ms less;
/// 60 s would need 2176 (8.5 KiB), the bound per histogram.
const HIST_SIGFIG: u8 = 2;
/// Duplicate-detection window in packets.
const DUP_WINDOW: u64 = 1024;

/// Payload types of RFC 3389 comfort noise (13) and its old value (19).
fn is_cn(pt: u8) -> bool {
    pt == 13 || pt == 19
}

/// State of Wireshark's `tap_rtp_stat_t` that the `rtp,streams` columns depend on.
#[derive(Clone, Debug, Default)]
struct WsState {
    seq_num: u16,
    start_seq: u16,
    stop_seq: u16,
    seq_cycles: i64,
    under: bool,
    /// Sequence errors ("problems").
    sequence: u64,
    seq_timestamp: u64,
    /// Arrival (ms from the stream's first packet) of the last in-time-sequence packet.
    time: f64,
    delta: f64,
    jitter: f64,
    diff: f64,
    max_delta: f64,
    min_delta: Option<f64>,
    mean_delta: f64,
    max_jitter: f64,
    min_jitter: Option<f64>,
    mean_jitter: f64,
    pt: u8,
    total_nr: u64,
    clock_rate: u32,
}

/// Statistics of one RTP stream (one direction: 5-tuple and SSRC).
///
/// Allocation happens once, in [`StreamStats::new`] (the two histograms);
/// [`StreamStats::on_packet`] never allocates.
#[derive(Clone, Debug)]
pub struct StreamStats {
    telephone_event_pts: u128,
    impairment: CodecImpairment,
    rtt_ms: Option<f64>,

    packets: u64,
    bytes: u64,
    first_ts: Ts,
    last_ts: Ts,
    markers: u64,
    pt_changes: u64,
    telephone_events: u64,
    max_delta_at: Option<Ts>,
    max_delta_packet: u64,

    ws: WsState,
    ext_ts: u64,

    // RFC 3550 A.1 / A.3
    base_ext_seq: u64,
    highest_ext_seq: u64,
    seen: [u64; (DUP_WINDOW / 64) as usize],
    duplicates: u64,
    out_of_order: u64,
    max_loss_burst: u64,

    hist_delta: BatchedHist,
    hist_jitter: BatchedHist,
}

impl Default for StreamStats {
    fn default() -> Self {
        Self::new()
    }
}

/// Serialize a [`Ts`] as integer nanoseconds.
fn ts_nanos<S: Serializer>(ts: &Ts, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(ts.as_nanos())
}

/// What [`StreamStats::summary`] reports. Times in ms, timestamps in ns since the epoch.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct StreamSummary {
    pub packets: u64,
    /// Payload bytes (RTP headers and padding excluded).
    pub bytes: u64,
    /// Wireshark's expected count (`tshark -z rtp,streams`).
    pub expected: i64,
    /// `expected - packets`, Wireshark's "Lost" column (negative with duplicates).
    pub lost: i64,
    /// `lost / expected` (Wireshark's percentage / 100), 0 when nothing was expected.
    pub lost_ratio: f64,
    /// RFC 3550 A.3: extended highest sequence number - first + 1.
    pub expected_rfc3550: i64,
    pub lost_rfc3550: i64,
    pub duplicates: u64,
    pub out_of_order: u64,
    /// Wireshark's sequence errors (jumps, late or duplicate packets).
    pub seq_errors: u64,
    pub max_delta_ms: f64,
    /// 1-based index in the stream of the packet that ended the max delta (0: none).
    pub max_delta_packet: u64,
    #[serde(serialize_with = "opt_ts_nanos")]
    pub max_delta_at: Option<Ts>,
    /// -1 when no regular packet was seen, as Wireshark shows.
    pub min_delta_ms: f64,
    pub mean_delta_ms: f64,
    pub mean_jitter_ms: f64,
    pub max_jitter_ms: f64,
    /// -1 when no jitter was computed, as Wireshark shows.
    pub min_jitter_ms: f64,
    pub delta_p50_ms: f64,
    pub delta_p95_ms: f64,
    pub delta_p99_ms: f64,
    pub jitter_p50_ms: f64,
    pub jitter_p95_ms: f64,
    pub jitter_p99_ms: f64,
    pub markers: u64,
    pub pt_changes: u64,
    pub max_loss_burst: u64,
    pub telephone_events: u64,
    /// Last clock rate used for jitter (0 if none).
    pub clock_rate: u32,
    pub mos: f64,
    pub r_factor: f64,
    #[serde(serialize_with = "ts_nanos")]
    pub first_ts: Ts,
    #[serde(serialize_with = "ts_nanos")]
    pub last_ts: Ts,
}

fn opt_ts_nanos<S: Serializer>(ts: &Option<Ts>, s: S) -> Result<S::Ok, S::Error> {
    match ts {
        Some(t) => s.serialize_some(&t.as_nanos()),
        None => s.serialize_none(),
    }
}

/// Values a stream buffers before writing them into its histogram.
const HIST_BATCH: usize = 16;

/// An hdrhistogram fed through a small buffer. With hundreds of streams interleaved, a stream's
/// count array is out of the cache at each of its packets (profiled: the count increment was an
/// eighth of a worker's time, almost all of it a cache miss); buffering writes the counts
/// sixteen values at a time.
#[derive(Clone, Debug)]
struct BatchedHist {
    hist: Option<Histogram<u32>>,
    pending: [u32; HIST_BATCH],
    len: u8,
}

impl BatchedHist {
    fn new() -> Self {
        BatchedHist {
            hist: Histogram::new(HIST_SIGFIG).ok(),
            pending: [0; HIST_BATCH],
            len: 0,
        }
    }

    /// Record a value in ms (clamped to the histogram's range). Inlined into the per-packet
    /// path, the histogram's own work kept out of it in [`BatchedHist::flush`] (left to the
    /// compiler, the two swapped places between builds: 70 instructions a packet apart).
    #[inline]
    fn record_ms(&mut self, ms: f64) {
        let units = if ms.is_finite() && ms > 0.0 {
            // Positive: adding a half and truncating rounds without the `round` libcall.
            ((ms * 1000.0 / HIST_UNIT_US + 0.5) as u64).min(HIST_MAX_UNITS) as u32
        } else {
            0
        };
        if let Some(slot) = self.pending.get_mut(usize::from(self.len)) {
            *slot = units;
            self.len += 1;
        }
        if usize::from(self.len) == HIST_BATCH {
            self.flush();
        }
    }

    #[inline(never)]
    fn flush(&mut self) {
        if let Some(h) = &mut self.hist {
            for &v in &self.pending[..usize::from(self.len)] {
                // Values are clamped above, so growth is bounded; counts saturate.
                let _ = h.record(u64::from(v));
            }
        }
        self.len = 0;
    }

    fn quantile_ms(&mut self, q: f64) -> f64 {
        self.flush();
        match &self.hist {
            Some(h) if !h.is_empty() => h.value_at_quantile(q) as f64 * HIST_UNIT_US / 1000.0,
            _ => 0.0,
        }
    }
}

impl StreamStats {
    /// A fresh stream; allocates its two histograms.
    pub fn new() -> Self {
        StreamStats {
            telephone_event_pts: 0,
            impairment: CodecImpairment::default(),
            rtt_ms: None,
            packets: 0,
            bytes: 0,
            first_ts: Ts::ZERO,
            last_ts: Ts::ZERO,
            markers: 0,
            pt_changes: 0,
            telephone_events: 0,
            max_delta_at: None,
            max_delta_packet: 0,
            ws: WsState::default(),
            ext_ts: 0,
            base_ext_seq: 0,
            highest_ext_seq: 0,
            seen: [0; (DUP_WINDOW / 64) as usize],
            duplicates: 0,
            out_of_order: 0,
            max_loss_burst: 0,
            hist_delta: BatchedHist::new(),
            hist_jitter: BatchedHist::new(),
        }
    }

    /// Declare a dynamic payload type (96..=127) as RFC 4733 telephone-event (from the SDP
    /// `a=rtpmap:<pt> telephone-event/8000`): its packets are counted in `telephone_events`
    /// and never update the jitter, as in Wireshark. Other values are ignored.
    pub fn set_telephone_event_pt(&mut self, pt: u8) {
        if (96..128).contains(&pt) {
            self.telephone_event_pts |= 1u128 << pt;
        }
    }

    /// Codec constants for the MOS estimate (G.711 by default).
    pub fn set_impairment(&mut self, imp: CodecImpairment) {
        self.impairment = imp;
    }

    /// Round-trip time from RTCP (ms), used for the MOS delay estimate.
    pub fn set_rtt_ms(&mut self, rtt_ms: f64) {
        if rtt_ms.is_finite() && rtt_ms >= 0.0 {
            self.rtt_ms = Some(rtt_ms);
        }
    }

    fn is_telephone_event(&self, pt: u8) -> bool {
        (96..128).contains(&pt) && (self.telephone_event_pts >> pt) & 1 == 1
    }

    /// Milliseconds from the stream's first packet (negative if the capture went back).
    fn rel_ms(&self, t: Ts) -> f64 {
        // i64 nanoseconds reach the year 2262; i128 to f64 was a libcall per packet.
        (t.as_nanos() as i64).wrapping_sub(self.first_ts.as_nanos() as i64) as f64 / 1e6
    }

    pub fn packets(&self) -> u64 {
        self.packets
    }

    /// Wireshark's expected packet count.
    pub fn expected(&self) -> i64 {
        if self.packets == 0 {
            return 0;
        }
        i64::from(self.ws.stop_seq) + self.ws.seq_cycles * 0x10000 - i64::from(self.ws.start_seq)
            + 1
    }

    /// Wireshark's lost count (`expected - packets`).
    pub fn lost(&self) -> i64 {
        self.expected() - self.packets as i64
    }

    pub fn max_delta_ms(&self) -> f64 {
        self.ws.max_delta
    }

    pub fn max_jitter_ms(&self) -> f64 {
        self.ws.max_jitter
    }

    pub fn mean_jitter_ms(&self) -> f64 {
        self.ws.mean_jitter
    }

    /// Current RFC 3550 interarrival jitter estimate, ms.
    pub fn jitter_ms(&self) -> f64 {
        self.ws.jitter
    }

    /// Feed one packet. `clock_rate` is the rtpmap clock rate of a dynamic payload type
    /// (ignored for static types, see the module docs).
    pub fn on_packet(&mut self, arrival: Ts, info: &RtpInfo, clock_rate: Option<u32>) {
        let pt = info.payload_type & 0x7f;
        let first = self.packets == 0;
        self.packets = self.packets.saturating_add(1);
        self.bytes = self.bytes.saturating_add(info.payload_len as u64);
        if first {
            self.first_ts = arrival;
        }
        self.last_ts = arrival;
        if info.marker {
            self.markers = self.markers.saturating_add(1);
        }
        let event = self.is_telephone_event(pt);
        if event {
            self.telephone_events = self.telephone_events.saturating_add(1);
        }

        // 64-bit timestamp: nearest candidate to the previous one.
        let ext_ts = if first {
            u64::from(info.timestamp) + (1u64 << 32)
        } else {
            let d = info.timestamp.wrapping_sub(self.ext_ts as u32) as i32;
            self.ext_ts.saturating_add_signed(i64::from(d))
        };
        self.ext_ts = ext_ts;

        self.rfc3550_seq(info.seq, first);

        let now = self.rel_ms(arrival);
        let ws = &mut self.ws;
        if first {
            ws.start_seq = info.seq;
            ws.stop_seq = info.seq;
            ws.seq_num = info.seq;
            ws.seq_timestamp = ext_ts;
            ws.time = now;
            ws.pt = pt;
            ws.total_nr = 1;
            return;
        }

        let in_time = ws.seq_timestamp <= ext_ts;

        // Cycles of the 16-bit sequence number, for "expected".
        if in_time && !ws.under {
            if info.seq < ws.start_seq || (info.seq == 0 && ws.stop_seq == 65535) {
                ws.seq_cycles += 1;
                ws.under = true;
            }
        } else if in_time && ws.under && info.seq > ws.start_seq {
            ws.under = false;
        }

        // Sequence errors.
        let last = i32::from(ws.seq_num);
        let cur = i32::from(info.seq);
        if in_time && (last + 1 == cur || (last == 65535 && cur == 0)) {
            ws.seq_num = info.seq;
        } else if in_time && (last + 1 < cur || last - cur > 0xFF00) {
            ws.seq_num = info.seq;
            ws.sequence += 1;
        } else if last + 1 > cur {
            ws.sequence += 1;
        }

        let cn = is_cn(pt);
        let follow_cn = is_cn(ws.pt);
        if pt != ws.pt {
            self.pt_changes = self.pt_changes.saturating_add(1);
        }
        ws.pt = pt;

        let clock = if pt < 96 {
            wireshark_static_clock(pt)
        } else if event {
            0
        } else {
            clock_rate.unwrap_or(0)
        };
        // C divides by the integer `clock_rate / 1000`; below 1000 Hz that is a division by
        // zero there, treated here as an unknown rate.
        let per_ms = clock / 1000;

        let mut current_jitter = 0.0;
        ws.delta = now - ws.time;
        if per_ms != 0 {
            ws.clock_rate = clock;
            // Both are below 2^33 plus the wraps of a stream: the i64 difference is exact (an
            // i128 one cost a libcall per packet to convert).
            let nominal =
                (ext_ts as i64).wrapping_sub(ws.seq_timestamp as i64) as f64 / f64::from(per_ms);
            let expected = ws.time + nominal;
            let diff = (now - expected).abs();
            current_jitter = (15.0 * ws.jitter + diff) / 16.0;
            ws.jitter = current_jitter;
            ws.diff = diff;
        }

        let regular = !info.marker && !cn && in_time && !follow_cn;
        if regular {
            let n = ws.total_nr as f64;
            if ws.delta > ws.max_delta {
                ws.max_delta = ws.delta;
                self.max_delta_at = Some(arrival);
                self.max_delta_packet = self.packets;
            }
            ws.min_delta = Some(match ws.min_delta {
                Some(m) if m <= ws.delta => m,
                _ => ws.delta,
            });
            ws.mean_delta = (ws.mean_delta * (n - 1.0) + ws.delta) / n;
            self.hist_delta.record_ms(ws.delta);
            if per_ms != 0 {
                if ws.jitter > ws.max_jitter {
                    ws.max_jitter = ws.jitter;
                }
                ws.mean_jitter = (ws.mean_jitter * (n - 1.0) + current_jitter) / n;
                ws.min_jitter = Some(match ws.min_jitter {
                    Some(m) if m <= ws.jitter => m,
                    _ => ws.jitter,
                });
                self.hist_jitter.record_ms(ws.jitter);
            }
        }

        if in_time {
            ws.time = now;
            ws.seq_timestamp = ext_ts;
        }
        ws.stop_seq = info.seq;
        ws.total_nr += 1;
    }

    /// RFC 3550 A.1-style bookkeeping on extended sequence numbers: duplicates (1024-packet
    /// window), out-of-order (went back), longest gap.
    fn rfc3550_seq(&mut self, seq: u16, first: bool) {
        if first {
            let ext = u64::from(seq) + 0x10000;
            self.base_ext_seq = ext;
            self.highest_ext_seq = ext;
            self.mark_seen(ext);
            return;
        }
        let d = seq.wrapping_sub(self.highest_ext_seq as u16) as i16;
        let ext = self.highest_ext_seq.saturating_add_signed(i64::from(d));
        if d > 0 {
            let gap = (d as u64) - 1;
            if gap > self.max_loss_burst {
                self.max_loss_burst = gap;
            }
            // Forget the window slots the highest number moves over.
            let steps = (d as u64).min(DUP_WINDOW);
            for i in 1..=steps {
                self.clear_seen(self.highest_ext_seq + i);
            }
            self.highest_ext_seq = ext;
            self.mark_seen(ext);
        } else if d == 0 || (self.highest_ext_seq - ext < DUP_WINDOW && self.is_seen(ext)) {
            self.duplicates += 1;
        } else {
            self.out_of_order += 1;
            if self.highest_ext_seq - ext < DUP_WINDOW {
                self.mark_seen(ext);
            }
            if ext < self.base_ext_seq {
                self.base_ext_seq = ext;
            }
        }
    }

    fn slot(ext: u64) -> (usize, u64) {
        let i = ext % DUP_WINDOW;
        ((i / 64) as usize, 1u64 << (i % 64))
    }

    fn mark_seen(&mut self, ext: u64) {
        let (w, b) = Self::slot(ext);
        if let Some(x) = self.seen.get_mut(w) {
            *x |= b;
        }
    }

    fn clear_seen(&mut self, ext: u64) {
        let (w, b) = Self::slot(ext);
        if let Some(x) = self.seen.get_mut(w) {
            *x &= !b;
        }
    }

    fn is_seen(&self, ext: u64) -> bool {
        let (w, b) = Self::slot(ext);
        self.seen.get(w).is_some_and(|x| x & b != 0)
    }

    /// All figures of the stream.
    pub fn summary(&mut self) -> StreamSummary {
        let expected = self.expected();
        let lost = self.lost();
        let lost_ratio = if expected != 0 {
            lost as f64 / expected as f64
        } else {
            0.0
        };
        let expected_rfc3550 = if self.packets == 0 {
            0
        } else {
            (self.highest_ext_seq - self.base_ext_seq) as i64 + 1
        };
        let lost_rfc3550 = expected_rfc3550 - self.packets as i64;
        let loss_pct = if expected_rfc3550 > 0 {
            (lost_rfc3550.max(0) as f64 * 100.0 / expected_rfc3550 as f64).min(100.0)
        } else {
            0.0
        };
        let m = mos::estimate(self.impairment, loss_pct, self.ws.mean_jitter, self.rtt_ms);
        StreamSummary {
            packets: self.packets,
            bytes: self.bytes,
            expected,
            lost,
            lost_ratio,
            expected_rfc3550,
            lost_rfc3550,
            duplicates: self.duplicates,
            out_of_order: self.out_of_order,
            seq_errors: self.ws.sequence,
            max_delta_ms: self.ws.max_delta,
            max_delta_packet: self.max_delta_packet,
            max_delta_at: self.max_delta_at,
            min_delta_ms: self.ws.min_delta.unwrap_or(-1.0),
            mean_delta_ms: self.ws.mean_delta,
            mean_jitter_ms: self.ws.mean_jitter,
            max_jitter_ms: self.ws.max_jitter,
            min_jitter_ms: self.ws.min_jitter.unwrap_or(-1.0),
            delta_p50_ms: self.hist_delta.quantile_ms(0.50),
            delta_p95_ms: self.hist_delta.quantile_ms(0.95),
            delta_p99_ms: self.hist_delta.quantile_ms(0.99),
            jitter_p50_ms: self.hist_jitter.quantile_ms(0.50),
            jitter_p95_ms: self.hist_jitter.quantile_ms(0.95),
            jitter_p99_ms: self.hist_jitter.quantile_ms(0.99),
            markers: self.markers,
            pt_changes: self.pt_changes,
            max_loss_burst: self.max_loss_burst,
            telephone_events: self.telephone_events,
            clock_rate: self.ws.clock_rate,
            mos: m.mos,
            r_factor: m.r_factor,
            first_ts: self.first_ts,
            last_ts: self.last_ts,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Buffered, the histogram holds what recording each value as it comes holds: the
        /// same count at every quantile.
        #[test]
        fn the_batched_histogram_is_the_plain_one(
            ms in proptest::collection::vec(prop_oneof![Just(20.0f64), Just(0.0), 0.0f64..200.0], 0..100),
        ) {
            let mut batched = BatchedHist::new();
            let mut plain = Histogram::<u32>::new(HIST_SIGFIG).unwrap();
            for &m in &ms {
                batched.record_ms(m);
                let units = if m > 0.0 {
                    ((m * 1000.0 / HIST_UNIT_US + 0.5) as u64).min(HIST_MAX_UNITS)
                } else {
                    0
                };
                plain.record(units).unwrap();
            }
            batched.flush();
            let h = batched.hist.as_ref().unwrap();
            prop_assert_eq!(h.len(), plain.len());
            for q in [0.0, 0.25, 0.5, 0.9, 0.95, 0.99, 1.0] {
                prop_assert_eq!(h.value_at_quantile(q), plain.value_at_quantile(q));
            }
        }
    }
}
