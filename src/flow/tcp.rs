//! TCP stream reassembly for a passive sensor.
//!
//! One [`TcpStream`] reassembles one direction of a connection from the copies of segments the
//! sensor sees: it may start mid-stream, and segments may be retransmitted, reordered, overlap
//! one another (with the same or different bytes) or be lost for good. Every segment is treated
//! as hostile: nothing panics, memory per stream is capped by [`TcpConfig`] (and exposed
//! through [`TcpStream::buffered_bytes`] / [`TcpStream::allocated_bytes`] for global accounting),
//! and the work per segment is bounded by its length plus `max_segments_ooo`.
//!
//! Sequence numbers are mapped to 64-bit offsets relative to the first data byte
//! (ISN + 1 after a SYN, or the first data segment seen on a mid-stream pickup), so wrap-around
//! at 2^32 is handled once, in [`TcpStream::on_segment`], and nowhere else.
//!
//! Policy, briefly:
//! * overlaps keep the bytes seen first; differing content is counted in
//!   [`StreamStats::overlap_mismatch`];
//! * in-order data that would push [`TcpStream::data`] past `max_buffered` is refused
//!   ([`SegmentOutcome::OverCap`]): the consumer is not keeping up, and the caller decides;
//! * out-of-order data is held ahead of a hole up to `max_out_of_order` bytes and
//!   `max_segments_ooo` segments; beyond that the hole is given up on automatically
//!   ([`TcpStream::skip_gap`]), and the consumer sees [`StreamStats::gaps`] grow;
//! * skipping a hole discards the unconsumed bytes before it too (they end in the hole, so the
//!   consumer could never complete them): after a skip, [`TcpStream::data`] starts right after
//!   the hole and the consumer must resynchronise;
//! * segments starting more than 1 GiB (the largest TCP window) ahead of the expected sequence
//!   number are ignored, as are bytes past a FIN and everything after a RST.

use std::collections::BTreeMap;

/// TCP flag bits as they appear in the header's flags byte.
pub const FIN: u8 = 0x01;
pub const SYN: u8 = 0x02;
pub const RST: u8 = 0x04;
pub const ACK: u8 = 0x10;

/// Segments that start further than this ahead of the next expected byte are ignored: no
/// legitimate sender has more than the largest scaled TCP window (2^30) in flight.
const MAX_WINDOW: i64 = 1 << 30;

/// Compaction threshold for the in-order buffer: consumed bytes at its front are only moved
/// away once there are at least this many (and at least as many as the live bytes).
const COMPACT_MIN: usize = 4096;

/// `a` is strictly after `b` in sequence space (RFC 1982 serial arithmetic on 32 bits).
pub fn seq_after(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) > 0
}

/// Per-stream memory caps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TcpConfig {
    /// In-order bytes waiting for the consumer (the length of [`TcpStream::data`]).
    pub max_buffered: usize,
    /// Bytes held ahead of a hole.
    pub max_out_of_order: usize,
    /// Segments held ahead of a hole.
    pub max_segments_ooo: usize,
}

impl Default for TcpConfig {
    fn default() -> Self {
        TcpConfig {
            max_buffered: 256 * 1024,
            max_out_of_order: 256 * 1024,
            max_segments_ooo: 256,
        }
    }
}

/// Counters for one direction. Counts are of segments unless the name says bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StreamStats {
    /// Segments fed to [`TcpStream::on_segment`].
    pub segments: u64,
    /// Payload bytes fed.
    pub bytes: u64,
    /// Bytes delivered to the in-order stream (what [`TcpStream::data`] has shown in total).
    pub delivered: u64,
    /// Segments that carried no new byte (retransmissions, fully old data).
    pub retransmitted: u64,
    /// Segments that carried new bytes and also overlapped bytes seen before (trimmed).
    pub overlaps: u64,
    /// Segments whose overlapping bytes differ from the bytes seen first (the first are kept).
    pub overlap_mismatch: u64,
    /// Holes given up on ([`TcpStream::skip_gap`], manual or automatic).
    pub gaps: u64,
    /// Sequence bytes never seen, skipped over by those holes.
    pub gap_bytes: u64,
    /// Unconsumed in-order bytes discarded when a hole after them was skipped.
    pub discarded_bytes: u64,
    /// Segments refused, or held segments dropped, because a buffer was full.
    pub dropped_over_cap: u64,
    /// Bytes refused or dropped because a buffer was full.
    pub dropped_bytes: u64,
    /// Segments ignored as too far ahead of the expected sequence number.
    pub out_of_window: u64,
}

/// What [`TcpStream::on_segment`] did with a segment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SegmentOutcome {
    /// This many new bytes were added to [`TcpStream::data`] (including held bytes that the
    /// segment made contiguous, or that an automatic skip released). When that skip discarded
    /// unconsumed bytes, `data()` may hold fewer than this; [`StreamStats::gaps`] then grew.
    Appended(usize),
    /// New bytes held out of order, waiting for a hole to fill.
    Held,
    /// Nothing new: a retransmission or fully old data.
    Duplicate,
    /// Dropped because the buffers are full (counted in [`StreamStats::dropped_over_cap`]).
    OverCap,
    /// No payload to reassemble (pure ACK, SYN, FIN, RST), payload past a FIN or after a RST,
    /// or out of window.
    Ignored,
}

/// The in-order bytes: `buf[head..]` is live, the front is compacted away amortised.
#[derive(Debug, Default)]
struct InOrder {
    buf: Vec<u8>,
    head: usize,
}

impl InOrder {
    fn live(&self) -> &[u8] {
        self.buf.get(self.head..).unwrap_or(&[])
    }

    fn len(&self) -> usize {
        self.buf.len().saturating_sub(self.head)
    }

    fn compact(&mut self) {
        if self.head > 0 {
            self.buf.copy_within(self.head.., 0);
            self.buf.truncate(self.buf.len() - self.head);
            self.head = 0;
        }
    }

    fn push(&mut self, bytes: &[u8]) {
        if self.head > 0 && self.buf.len() + bytes.len() > self.buf.capacity() {
            // Reuse the consumed front instead of growing.
            self.compact();
        }
        self.buf.extend_from_slice(bytes);
    }

    fn consume(&mut self, n: usize) {
        self.head += n.min(self.len());
        if self.head == self.buf.len() {
            self.buf.clear();
            self.head = 0;
        } else if self.head >= COMPACT_MIN && self.head >= self.len() {
            // Copies at most `head` bytes, paid for by the `head` bytes consumed.
            self.compact();
        }
    }

    fn clear(&mut self) {
        self.buf.clear();
        self.head = 0;
    }
}

/// A held out-of-order segment: `data[off..]` is live (the front may have been released to the
/// in-order buffer already).
#[derive(Debug)]
struct Held {
    data: Vec<u8>,
    off: usize,
}

impl Held {
    fn live(&self) -> &[u8] {
        self.data.get(self.off..).unwrap_or(&[])
    }
}

/// One direction of a TCP connection.
#[derive(Debug)]
pub struct TcpStream {
    cfg: TcpConfig,
    /// Sequence number of relative offset 0, once known.
    base: Option<u32>,
    /// Relative offset of `data()[0]`.
    consumed: u64,
    inorder: InOrder,
    /// Held segments by relative start; non-overlapping, every key >= `next_rel()`.
    ooo: BTreeMap<u64, Held>,
    /// Live bytes in `ooo`.
    ooo_bytes: usize,
    /// Allocated bytes in `ooo` (live plus released fronts).
    ooo_alloc: usize,
    /// Relative offset just past the FIN, once seen.
    fin_rel: Option<u64>,
    fin: bool,
    rst: bool,
    stats: StreamStats,
}

impl Default for TcpStream {
    fn default() -> Self {
        Self::new()
    }
}

impl TcpStream {
    pub fn new() -> Self {
        Self::with_config(TcpConfig::default())
    }

    pub fn with_config(cfg: TcpConfig) -> Self {
        TcpStream {
            cfg,
            base: None,
            consumed: 0,
            inorder: InOrder::default(),
            ooo: BTreeMap::new(),
            ooo_bytes: 0,
            ooo_alloc: 0,
            fin_rel: None,
            fin: false,
            rst: false,
            stats: StreamStats::default(),
        }
    }

    pub fn config(&self) -> &TcpConfig {
        &self.cfg
    }

    /// Feed one segment seen in this direction.
    ///
    /// SYN: ISN + 1 is the first data byte. Without a SYN, the first data segment seen sets
    /// the start (mid-stream pickup; earlier bytes that arrive later are treated as old).
    /// FIN and RST mark the direction closed; bytes past the FIN and segments after a RST are
    /// ignored (a RST's own payload is not stream data).
    pub fn on_segment(&mut self, seq: u32, flags: u8, payload: &[u8]) -> SegmentOutcome {
        self.stats.segments += 1;
        self.stats.bytes += payload.len() as u64;
        if self.rst {
            return SegmentOutcome::Ignored;
        }
        if flags & RST != 0 {
            self.rst = true;
            return SegmentOutcome::Ignored;
        }
        let data_seq = if flags & SYN != 0 {
            seq.wrapping_add(1)
        } else {
            seq
        };
        if self.base.is_none() && (flags & SYN != 0 || !payload.is_empty()) {
            self.base = Some(data_seq);
        }
        let rel = self.base.map(|_| self.rel_of(data_seq));
        let outcome = match rel {
            Some(start) if !payload.is_empty() => self.on_data(start, payload),
            _ => SegmentOutcome::Ignored,
        };
        if flags & FIN != 0 {
            self.fin = true;
            if self.fin_rel.is_none() {
                if let Some(Some(start)) = rel {
                    let end = start.saturating_add(payload.len() as i64);
                    // A FIN before the data we already have is bogus: keep the data.
                    let f = (end.max(0) as u64).max(self.next_rel());
                    self.fin_rel = Some(f);
                    self.trim_held_after(f);
                }
            }
        }
        outcome
    }

    /// Contiguous reassembled bytes not yet consumed.
    pub fn data(&self) -> &[u8] {
        self.inorder.live()
    }

    /// The consumer has used `n` bytes from the front of [`data`](Self::data) (clamped to its
    /// length). Frees room, so held bytes waiting for it may move in.
    pub fn consume(&mut self, n: usize) {
        let n = n.min(self.inorder.len());
        self.inorder.consume(n);
        self.consumed += n as u64;
        self.release();
    }

    /// Give up on the hole before the first held out-of-order segment: skip forward to it and
    /// return the number of sequence bytes skipped, or `None` when there is no hole. The
    /// unconsumed bytes of [`data`](Self::data) are discarded (they end in the hole and can
    /// never be completed), so afterwards `data()` starts with the held bytes and the consumer
    /// must resynchronise.
    pub fn skip_gap(&mut self) -> Option<u64> {
        let (&first, _) = self.ooo.first_key_value()?;
        let next = self.next_rel();
        if first <= next {
            return None;
        }
        let skipped = first - next;
        let discarded = self.inorder.len() as u64;
        self.inorder.clear();
        self.consumed = first;
        self.stats.gaps += 1;
        self.stats.gap_bytes += skipped;
        self.stats.discarded_bytes += discarded;
        self.release();
        Some(skipped)
    }

    /// There is a hole: bytes are held out of order beyond missing ones.
    pub fn has_gap(&self) -> bool {
        self.ooo
            .first_key_value()
            .is_some_and(|(&k, _)| k > self.next_rel())
    }

    /// A FIN or RST was seen in this direction.
    pub fn is_closed(&self) -> bool {
        self.fin || self.rst
    }

    /// A RST was seen in this direction.
    pub fn is_reset(&self) -> bool {
        self.rst
    }

    /// Closed by FIN, every byte up to the FIN delivered to [`data`](Self::data) (possibly
    /// after skipping holes): nothing more will come.
    pub fn is_finished(&self) -> bool {
        self.rst || self.fin_rel.is_some_and(|f| self.next_rel() >= f)
    }

    /// In-order plus out-of-order live bytes, for global accounting.
    pub fn buffered_bytes(&self) -> usize {
        self.inorder.len() + self.ooo_bytes
    }

    /// Bytes held out of order.
    pub fn out_of_order_bytes(&self) -> usize {
        self.ooo_bytes
    }

    /// Segments held out of order.
    pub fn out_of_order_segments(&self) -> usize {
        self.ooo.len()
    }

    /// Heap bytes allocated for payload (buffer capacities), an upper bound on
    /// [`buffered_bytes`](Self::buffered_bytes).
    pub fn allocated_bytes(&self) -> usize {
        self.inorder.buf.capacity() + self.ooo_alloc
    }

    /// Free every buffer (the caller's global memory pressure); counters and position stay.
    /// The dropped bytes are counted as discarded, and a hole follows if anything was held.
    pub fn shrink(&mut self) {
        self.stats.discarded_bytes += self.buffered_bytes() as u64;
        self.consumed = self.next_rel();
        self.inorder = InOrder::default();
        self.ooo.clear();
        self.ooo_bytes = 0;
        self.ooo_alloc = 0;
    }

    pub fn stats(&self) -> &StreamStats {
        &self.stats
    }

    /// Stream offset of `data()[0]`: bytes since the first data byte (skipped holes included).
    pub fn offset(&self) -> u64 {
        self.consumed
    }

    /// Sequence number of the next expected byte, once the start is known.
    pub fn next_seq(&self) -> Option<u32> {
        self.base.map(|b| b.wrapping_add(self.next_rel() as u32))
    }

    fn next_rel(&self) -> u64 {
        self.consumed + self.inorder.len() as u64
    }

    /// Relative offset of `seq`, taken as the nearest to the next expected byte; `None` when it
    /// is more than [`MAX_WINDOW`] ahead. May be negative (before the first byte).
    fn rel_of(&self, seq: u32) -> Option<i64> {
        let next_seq = self.next_seq()?;
        let diff = i64::from(seq.wrapping_sub(next_seq) as i32);
        if diff > MAX_WINDOW {
            return None;
        }
        let next = i64::try_from(self.next_rel()).unwrap_or(i64::MAX);
        Some(next.saturating_add(diff))
    }

    fn on_data(&mut self, start: Option<i64>, payload: &[u8]) -> SegmentOutcome {
        let Some(s) = start else {
            self.stats.out_of_window += 1;
            return SegmentOutcome::Ignored;
        };
        let mut e = s.saturating_add(payload.len() as i64);
        if let Some(f) = self.fin_rel {
            e = e.min(i64::try_from(f).unwrap_or(i64::MAX));
        }
        if e <= s {
            return SegmentOutcome::Ignored; // entirely past the FIN
        }
        let next = i64::try_from(self.next_rel()).unwrap_or(i64::MAX);
        let mut mismatch = false;
        if s < next {
            // Compare with the unconsumed bytes we still have; consumed ones are gone.
            let consumed = i64::try_from(self.consumed).unwrap_or(i64::MAX);
            let lo = s.max(consumed);
            let hi = e.min(next);
            if lo < hi {
                let a = &payload[(lo - s) as usize..(hi - s) as usize];
                let b = &self.inorder.live()[(lo - consumed) as usize..(hi - consumed) as usize];
                mismatch = a != b;
            }
        }
        if e <= next {
            self.stats.retransmitted += 1;
            if mismatch {
                self.stats.overlap_mismatch += 1;
            }
            return SegmentOutcome::Duplicate;
        }
        let overlapped = s < next;
        let ns = s.max(next);
        let new = &payload[(ns - s) as usize..(e - s) as usize];
        let ns = ns as u64;
        let next = next as u64;

        // Fast path: in order, nothing held.
        if self.ooo.is_empty() && ns == next {
            if overlapped {
                self.stats.overlaps += 1;
                if mismatch {
                    self.stats.overlap_mismatch += 1;
                }
            }
            return self.append_in_order(new);
        }

        // Split the new bytes around what is already held.
        let mut pieces: Vec<(u64, usize, usize)> = Vec::new(); // (rel, from, to) into `new`
        let mut cursor = ns;
        let end = ns + new.len() as u64;
        let mut overlapped = overlapped;
        let before = self
            .ooo
            .range(..=ns)
            .next_back()
            .map(|(&k, h)| (k, h))
            .into_iter();
        let after = self.ooo.range(ns + 1..end).map(|(&k, h)| (k, h));
        for (k, held) in before.chain(after) {
            let live = held.live();
            let hend = k + live.len() as u64;
            if hend <= cursor {
                continue;
            }
            if k > cursor {
                pieces.push((cursor, (cursor - ns) as usize, (k - ns) as usize));
            }
            let lo = k.max(cursor);
            let hi = hend.min(end);
            overlapped = true;
            if new[(lo - ns) as usize..(hi - ns) as usize]
                != live[(lo - k) as usize..(hi - k) as usize]
            {
                mismatch = true;
            }
            cursor = cursor.max(hend);
            if cursor >= end {
                break;
            }
        }
        if cursor < end {
            pieces.push((cursor, (cursor - ns) as usize, new.len()));
        }
        if mismatch {
            self.stats.overlap_mismatch += 1;
        }
        if pieces.is_empty() {
            self.stats.retransmitted += 1;
            return SegmentOutcome::Duplicate;
        }
        if overlapped {
            self.stats.overlaps += 1;
        }

        // In-order piece first: refused whole when the consumer has no room for it.
        let mut held_pieces = &pieces[..];
        let mut appended = 0usize;
        if let Some(&(rel, from, to)) = pieces.first() {
            if rel == next {
                if self.inorder.len() + (to - from) > self.cfg.max_buffered {
                    self.refuse(new.len());
                    return SegmentOutcome::OverCap;
                }
                self.inorder.push(&new[from..to]);
                self.stats.delivered += (to - from) as u64;
                appended += to - from;
                held_pieces = &pieces[1..];
            }
        }
        for &(rel, from, to) in held_pieces {
            let data = new[from..to].to_vec();
            self.ooo_bytes += data.len();
            self.ooo_alloc += data.len();
            self.ooo.insert(rel, Held { data, off: 0 });
        }
        let delivered_before = self.stats.delivered - appended as u64;
        self.release();
        let dropped = self.enforce_ooo_caps();
        let delivered = (self.stats.delivered - delivered_before) as usize;
        if delivered > 0 {
            SegmentOutcome::Appended(delivered)
        } else if dropped {
            SegmentOutcome::OverCap
        } else {
            SegmentOutcome::Held
        }
    }

    fn append_in_order(&mut self, new: &[u8]) -> SegmentOutcome {
        if self.inorder.len() + new.len() > self.cfg.max_buffered {
            self.refuse(new.len());
            return SegmentOutcome::OverCap;
        }
        self.inorder.push(new);
        self.stats.delivered += new.len() as u64;
        SegmentOutcome::Appended(new.len())
    }

    fn refuse(&mut self, bytes: usize) {
        self.stats.dropped_over_cap += 1;
        self.stats.dropped_bytes += bytes as u64;
    }

    fn ooo_over_caps(&self) -> bool {
        self.ooo_bytes > self.cfg.max_out_of_order || self.ooo.len() > self.cfg.max_segments_ooo
    }

    /// Skip holes until the held data is within its caps; when no hole is left (the held data
    /// waits for room in the in-order buffer), drop held segments from the far end. Returns
    /// whether anything was dropped.
    fn enforce_ooo_caps(&mut self) -> bool {
        while self.ooo_over_caps() && self.skip_gap().is_some() {}
        let mut dropped = false;
        while self.ooo_over_caps() {
            let Some((_, held)) = self.ooo.pop_last() else {
                break;
            };
            self.ooo_bytes -= held.live().len();
            self.ooo_alloc -= held.data.len();
            self.refuse(held.live().len());
            dropped = true;
        }
        dropped
    }

    /// Drop held bytes at or past relative offset `f` (the FIN).
    fn trim_held_after(&mut self, f: u64) {
        for (_, held) in self.ooo.split_off(&f) {
            self.ooo_bytes -= held.live().len();
            self.ooo_alloc -= held.data.len();
        }
        if let Some((&k, held)) = self.ooo.last_key_value() {
            let keep = f.saturating_sub(k);
            let live = held.live().len() as u64;
            if keep < live {
                if let Some(mut e) = self.ooo.last_entry() {
                    let held = e.get_mut();
                    let cut = (live - keep) as usize;
                    held.data.truncate(held.data.len() - cut);
                    self.ooo_bytes -= cut;
                    self.ooo_alloc -= cut;
                }
            }
        }
    }

    /// Move held bytes that are now contiguous into the in-order buffer, as far as it has room.
    fn release(&mut self) {
        loop {
            let next = self.next_rel();
            let room = self.cfg.max_buffered.saturating_sub(self.inorder.len());
            if room == 0 {
                return;
            }
            let Some(entry) = self.ooo.first_entry() else {
                return;
            };
            if *entry.key() != next {
                return;
            }
            let (key, mut held) = entry.remove_entry();
            let live = held.live();
            let take = live.len().min(room);
            self.inorder.push(&live[..take]);
            self.stats.delivered += take as u64;
            self.ooo_bytes -= take;
            if take == live.len() {
                self.ooo_alloc -= held.data.len();
            } else {
                held.off += take;
                self.ooo.insert(key + take as u64, held);
                return;
            }
        }
    }

    #[cfg(test)]
    fn check_invariants(&self) {
        assert!(self.inorder.len() <= self.cfg.max_buffered);
        assert!(self.ooo_bytes <= self.cfg.max_out_of_order);
        assert!(self.ooo.len() <= self.cfg.max_segments_ooo);
        let live: usize = self.ooo.values().map(|h| h.live().len()).sum();
        assert_eq!(live, self.ooo_bytes);
        let alloc: usize = self.ooo.values().map(|h| h.data.len()).sum();
        assert_eq!(alloc, self.ooo_alloc);
        let mut prev_end = self.next_rel();
        for (&k, h) in &self.ooo {
            assert!(k >= prev_end, "held segments overlap or precede next");
            assert!(!h.live().is_empty());
            prev_end = k + h.live().len() as u64;
        }
        if let Some(f) = self.fin_rel {
            assert!(prev_end <= f.max(self.next_rel()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn small() -> TcpConfig {
        TcpConfig {
            max_buffered: 64,
            max_out_of_order: 32,
            max_segments_ooo: 4,
        }
    }

    #[test]
    fn seq_after_wraps() {
        assert!(seq_after(1, 0));
        assert!(!seq_after(0, 1));
        assert!(!seq_after(5, 5));
        assert!(seq_after(2, 0xFFFF_FFF0));
        assert!(!seq_after(0xFFFF_FFF0, 2));
    }

    #[test]
    fn in_order() {
        let mut s = TcpStream::new();
        assert_eq!(
            s.on_segment(100, ACK, b"INVITE "),
            SegmentOutcome::Appended(7)
        );
        assert_eq!(
            s.on_segment(107, ACK, b"sip:a"),
            SegmentOutcome::Appended(5)
        );
        assert_eq!(s.data(), b"INVITE sip:a");
        assert_eq!(s.next_seq(), Some(112));
        assert!(!s.has_gap());
        assert_eq!(s.stats().segments, 2);
        assert_eq!(s.stats().delivered, 12);
        s.check_invariants();
    }

    #[test]
    fn syn_then_data() {
        let mut s = TcpStream::new();
        assert_eq!(s.on_segment(1000, SYN, b""), SegmentOutcome::Ignored);
        assert_eq!(s.next_seq(), Some(1001));
        assert_eq!(s.on_segment(1001, ACK, b"abc"), SegmentOutcome::Appended(3));
        // Retransmitted SYN changes nothing.
        assert_eq!(s.on_segment(1000, SYN, b""), SegmentOutcome::Ignored);
        assert_eq!(s.on_segment(1004, ACK, b"de"), SegmentOutcome::Appended(2));
        assert_eq!(s.data(), b"abcde");
    }

    #[test]
    fn syn_with_data() {
        let mut s = TcpStream::new();
        assert_eq!(s.on_segment(7, SYN, b"xy"), SegmentOutcome::Appended(2));
        assert_eq!(s.on_segment(10, ACK, b"z"), SegmentOutcome::Appended(1));
        assert_eq!(s.data(), b"xyz");
    }

    #[test]
    fn mid_stream_pickup() {
        let mut s = TcpStream::new();
        assert_eq!(s.on_segment(5, ACK, b""), SegmentOutcome::Ignored);
        assert_eq!(s.next_seq(), None);
        assert_eq!(
            s.on_segment(123_456, ACK, b"hello"),
            SegmentOutcome::Appended(5)
        );
        assert_eq!(
            s.on_segment(123_461, ACK, b" world"),
            SegmentOutcome::Appended(6)
        );
        // Bytes from before the pickup point are old.
        assert_eq!(
            s.on_segment(123_450, ACK, b"abcdef"),
            SegmentOutcome::Duplicate
        );
        assert_eq!(s.data(), b"hello world");
        assert_eq!(s.offset(), 0);
    }

    #[test]
    fn out_of_order_reversed() {
        let mut s = TcpStream::new();
        s.on_segment(0, SYN, b"");
        assert_eq!(s.on_segment(7, ACK, b"ghi"), SegmentOutcome::Held);
        assert!(s.has_gap());
        assert_eq!(s.on_segment(4, ACK, b"def"), SegmentOutcome::Held);
        assert_eq!(s.data(), b"");
        assert_eq!(s.buffered_bytes(), 6);
        s.check_invariants();
        assert_eq!(s.on_segment(1, ACK, b"abc"), SegmentOutcome::Appended(9));
        assert_eq!(s.data(), b"abcdefghi");
        assert!(!s.has_gap());
        assert_eq!(s.out_of_order_segments(), 0);
        assert_eq!(s.buffered_bytes(), 9);
        s.check_invariants();
    }

    #[test]
    fn retransmission_of_consumed_data() {
        let mut s = TcpStream::new();
        s.on_segment(0, SYN, b"");
        s.on_segment(1, ACK, b"abcdef");
        s.consume(6);
        assert_eq!(s.data(), b"");
        assert_eq!(s.on_segment(1, ACK, b"abcdef"), SegmentOutcome::Duplicate);
        assert_eq!(s.on_segment(4, ACK, b"XYZ"), SegmentOutcome::Duplicate);
        assert_eq!(s.stats().retransmitted, 2);
        // Consumed bytes cannot be compared.
        assert_eq!(s.stats().overlap_mismatch, 0);
        assert_eq!(s.data(), b"");
        assert_eq!(s.on_segment(7, ACK, b"g"), SegmentOutcome::Appended(1));
        assert_eq!(s.data(), b"g");
        assert_eq!(s.offset(), 6);
    }

    #[test]
    fn retransmission_of_buffered_data_compared() {
        let mut s = TcpStream::new();
        s.on_segment(0, SYN, b"");
        s.on_segment(1, ACK, b"abcdef");
        assert_eq!(s.on_segment(2, ACK, b"bcd"), SegmentOutcome::Duplicate);
        assert_eq!(s.stats().overlap_mismatch, 0);
        assert_eq!(s.on_segment(2, ACK, b"bXd"), SegmentOutcome::Duplicate);
        assert_eq!(s.stats().overlap_mismatch, 1);
        assert_eq!(s.data(), b"abcdef");
    }

    #[test]
    fn partial_overlap_trimmed() {
        let mut s = TcpStream::new();
        s.on_segment(0, SYN, b"");
        s.on_segment(1, ACK, b"abcd");
        assert_eq!(s.on_segment(3, ACK, b"cdef"), SegmentOutcome::Appended(2));
        assert_eq!(s.data(), b"abcdef");
        assert_eq!(s.stats().overlaps, 1);
        assert_eq!(s.stats().overlap_mismatch, 0);
        // Overlap with held data on both sides.
        s.on_segment(11, ACK, b"klm"); // rel 10..13
        assert_eq!(s.on_segment(9, ACK, b"ijklmno"), SegmentOutcome::Held); // rel 8..15
        assert_eq!(s.out_of_order_segments(), 3);
        s.check_invariants();
        assert_eq!(s.on_segment(7, ACK, b"gh"), SegmentOutcome::Appended(9));
        assert_eq!(s.data(), b"abcdefghijklmno");
        assert_eq!(s.stats().overlap_mismatch, 0);
        s.check_invariants();
    }

    #[test]
    fn overlap_with_different_bytes_keeps_first() {
        let mut s = TcpStream::new();
        s.on_segment(0, SYN, b"");
        s.on_segment(1, ACK, b"abcd");
        assert_eq!(s.on_segment(3, ACK, b"XYef"), SegmentOutcome::Appended(2));
        assert_eq!(s.data(), b"abcdef");
        assert_eq!(s.stats().overlaps, 1);
        assert_eq!(s.stats().overlap_mismatch, 1);
        // Held first, then a conflicting copy that also fills the hole.
        s.on_segment(10, ACK, b"jkl"); // rel 9..12
        assert_eq!(
            s.on_segment(7, ACK, b"ghiJKLm"),
            SegmentOutcome::Appended(7)
        );
        assert_eq!(s.data(), b"abcdefghijklm");
        assert_eq!(s.stats().overlap_mismatch, 2);
        s.check_invariants();
    }

    #[test]
    fn wrap_around() {
        let isn = 0xFFFF_FFF0u32;
        let mut s = TcpStream::new();
        s.on_segment(isn, SYN, b"");
        let msg: Vec<u8> = (0u8..40).collect();
        // 0xFFFFFFF1 .. wraps after 15 bytes.
        assert_eq!(
            s.on_segment(isn.wrapping_add(1), ACK, &msg[..10]),
            SegmentOutcome::Appended(10)
        );
        // Segment past the wrap first, then the one across it.
        assert_eq!(
            s.on_segment(isn.wrapping_add(21), ACK, &msg[20..]),
            SegmentOutcome::Held
        );
        assert_eq!(
            s.on_segment(isn.wrapping_add(11), ACK, &msg[10..20]),
            SegmentOutcome::Appended(30)
        );
        assert_eq!(s.data(), &msg[..]);
        assert_eq!(s.next_seq(), Some(isn.wrapping_add(41)));
        assert_eq!(s.next_seq(), Some(0x19));
        // Old data from before the wrap is still old.
        assert_eq!(
            s.on_segment(isn.wrapping_add(1), ACK, &msg[..5]),
            SegmentOutcome::Duplicate
        );
        assert_eq!(s.stats().overlap_mismatch, 0);
    }

    #[test]
    fn gap_skipped_after_cap() {
        let mut s = TcpStream::with_config(small()); // 32 bytes / 4 segments out of order
        s.on_segment(0, SYN, b"");
        s.on_segment(1, ACK, b"start");
        // Hole at rel 5..10, then held segments.
        for i in 0..4u32 {
            assert_eq!(
                s.on_segment(11 + i * 5, ACK, b"12345"),
                SegmentOutcome::Held
            );
        }
        assert_eq!(s.out_of_order_segments(), 4);
        assert!(s.has_gap());
        // A fifth held segment breaks the segment cap: the hole is given up on.
        let out = s.on_segment(35, ACK, b"xx"); // rel 34..36, another hole at 30..34
        assert_eq!(out, SegmentOutcome::Appended(20));
        assert_eq!(s.stats().gaps, 1);
        assert_eq!(s.stats().gap_bytes, 5);
        assert_eq!(s.stats().discarded_bytes, 5); // "start" was never consumed
        assert_eq!(s.data(), b"12345123451234512345");
        assert_eq!(s.offset(), 10);
        assert!(s.has_gap());
        s.check_invariants();
        // Byte cap: 32 bytes out of order at most.
        let mut s = TcpStream::with_config(small());
        s.on_segment(0, SYN, b"");
        assert_eq!(s.on_segment(11, ACK, &[7u8; 30]), SegmentOutcome::Held);
        assert_eq!(
            s.on_segment(51, ACK, &[8u8; 10]),
            SegmentOutcome::Appended(30)
        );
        assert_eq!(s.stats().gaps, 1);
        assert_eq!(s.stats().gap_bytes, 10);
        assert_eq!(s.out_of_order_bytes(), 10);
        s.check_invariants();
    }

    #[test]
    fn skip_gap_at_end() {
        let mut s = TcpStream::new();
        s.on_segment(0, SYN, b"");
        s.on_segment(1, ACK, b"ab");
        s.on_segment(5, ACK, b"ef");
        s.on_segment(10, ACK | FIN, b"jk");
        assert!(s.is_closed());
        assert!(!s.is_finished());
        assert_eq!(s.data(), b"ab");
        s.consume(2);
        assert_eq!(s.skip_gap(), Some(2));
        assert_eq!(s.data(), b"ef");
        s.consume(2);
        assert_eq!(s.skip_gap(), Some(3));
        assert_eq!(s.data(), b"jk");
        assert_eq!(s.skip_gap(), None);
        assert!(!s.has_gap());
        assert!(s.is_finished());
        assert_eq!(s.stats().gaps, 2);
        assert_eq!(s.stats().gap_bytes, 5);
        assert_eq!(s.stats().discarded_bytes, 0);
        // No hole: nothing to skip.
        let mut t = TcpStream::new();
        assert_eq!(t.skip_gap(), None);
        t.on_segment(1, ACK, b"x");
        assert_eq!(t.skip_gap(), None);
    }

    #[test]
    fn fin_and_rst_close() {
        let mut s = TcpStream::new();
        s.on_segment(0, SYN, b"");
        assert_eq!(
            s.on_segment(1, ACK | FIN, b"bye"),
            SegmentOutcome::Appended(3)
        );
        assert!(s.is_closed());
        assert!(s.is_finished());
        // Bytes past the FIN are ignored; retransmissions are still duplicates.
        assert_eq!(s.on_segment(4, ACK, b"more"), SegmentOutcome::Ignored);
        assert_eq!(
            s.on_segment(1, ACK | FIN, b"bye"),
            SegmentOutcome::Duplicate
        );
        assert_eq!(s.data(), b"bye");

        // FIN overtaking data: data before it still reassembles.
        let mut s = TcpStream::new();
        s.on_segment(0, SYN, b"");
        assert_eq!(s.on_segment(4, ACK | FIN, b""), SegmentOutcome::Ignored);
        assert!(s.is_closed() && !s.is_finished());
        assert_eq!(s.on_segment(1, ACK, b"abcXX"), SegmentOutcome::Appended(3));
        assert_eq!(s.data(), b"abc");
        assert!(s.is_finished());

        let mut s = TcpStream::new();
        s.on_segment(1, ACK, b"abc");
        assert_eq!(
            s.on_segment(4, RST, b"reset reason"),
            SegmentOutcome::Ignored
        );
        assert!(s.is_closed() && s.is_reset() && s.is_finished());
        assert_eq!(s.on_segment(4, ACK, b"def"), SegmentOutcome::Ignored);
        assert_eq!(s.data(), b"abc");
    }

    #[test]
    fn consume_in_small_steps() {
        let mut s = TcpStream::new();
        let msg: Vec<u8> = (0..20_000u32).map(|i| (i % 251) as u8).collect();
        let mut out = Vec::new();
        let mut seq = 77u32;
        for chunk in msg.chunks(1000) {
            s.on_segment(seq, ACK, chunk);
            seq = seq.wrapping_add(chunk.len() as u32);
            while s.data().len() > 7 {
                out.extend_from_slice(&s.data()[..7]);
                s.consume(7);
            }
        }
        out.extend_from_slice(s.data());
        s.consume(usize::MAX);
        assert_eq!(out, msg);
        assert_eq!(s.data(), b"");
        assert_eq!(s.offset(), 20_000);
        // The buffer capacity stays small: consumed bytes are reused, not accumulated.
        assert!(
            s.allocated_bytes() <= 3 * COMPACT_MIN,
            "{}",
            s.allocated_bytes()
        );
    }

    #[test]
    fn in_order_over_cap_refused() {
        let mut s = TcpStream::with_config(small());
        s.on_segment(0, SYN, b"");
        assert_eq!(s.on_segment(1, ACK, &[1; 60]), SegmentOutcome::Appended(60));
        assert_eq!(s.on_segment(61, ACK, &[2; 5]), SegmentOutcome::OverCap);
        assert_eq!(s.stats().dropped_over_cap, 1);
        assert_eq!(s.data().len(), 60);
        // Held data waiting for room moves in as the consumer makes room.
        assert_eq!(s.on_segment(65, ACK, &[3; 5]), SegmentOutcome::Held);
        assert_eq!(s.on_segment(61, ACK, &[2; 4]), SegmentOutcome::Appended(4));
        assert_eq!(s.data().len(), 64);
        assert_eq!(s.out_of_order_bytes(), 5);
        assert!(!s.has_gap());
        s.consume(3);
        assert_eq!(s.data().len(), 64);
        assert_eq!(s.out_of_order_bytes(), 2);
        s.check_invariants();
        s.consume(64);
        assert_eq!(s.data(), &[3, 3]);
        s.check_invariants();
    }

    #[test]
    fn out_of_window_ignored() {
        let mut s = TcpStream::new();
        s.on_segment(0, SYN, b"");
        assert_eq!(
            s.on_segment(0x5000_0000, ACK, b"far"),
            SegmentOutcome::Ignored
        );
        assert_eq!(s.stats().out_of_window, 1);
        assert_eq!(s.buffered_bytes(), 0);
    }

    #[test]
    fn shrink_frees_everything() {
        let mut s = TcpStream::new();
        s.on_segment(1, ACK, b"abc");
        s.on_segment(10, ACK, b"xyz");
        s.shrink();
        assert_eq!(s.buffered_bytes(), 0);
        assert_eq!(s.allocated_bytes(), 0);
        assert_eq!(s.on_segment(4, ACK, b"def"), SegmentOutcome::Appended(3));
        assert_eq!(s.data(), b"def");
        assert_eq!(s.offset(), 3);
    }

    /// Deterministic xorshift for the flood test.
    fn rng(state: &mut u64) -> u64 {
        *state ^= *state << 13;
        *state ^= *state >> 7;
        *state ^= *state << 17;
        *state
    }

    #[test]
    fn caps_never_exceeded_under_flood() {
        let cfg = TcpConfig {
            max_buffered: 4096,
            max_out_of_order: 2048,
            max_segments_ooo: 16,
        };
        let mut s = TcpStream::with_config(cfg);
        let payload = vec![0xAAu8; 1500];
        let mut st = 0x1234_5678_9abc_def1u64;
        let base = 0xFFFF_0000u32;
        s.on_segment(base, SYN, b"");
        for i in 0..200_000u32 {
            let r = rng(&mut st);
            let seq = base.wrapping_add((r % 200_000) as u32 + i / 4);
            let len = ((r >> 20) % 1500) as usize;
            let flags = if (r >> 40).is_multiple_of(1000) {
                FIN
            } else {
                ACK
            };
            s.on_segment(seq, flags, &payload[..len]);
            assert!(s.data().len() <= cfg.max_buffered);
            assert!(s.out_of_order_bytes() <= cfg.max_out_of_order);
            assert!(s.out_of_order_segments() <= cfg.max_segments_ooo);
            assert!(s.buffered_bytes() <= cfg.max_buffered + cfg.max_out_of_order);
            if (r >> 50).is_multiple_of(3) {
                s.consume((r >> 30) as usize % 3000);
            }
            if i.is_multiple_of(1024) {
                s.check_invariants();
            }
        }
        s.check_invariants();
        assert!(s.stats().delivered > 0);
    }

    /// (message, segment lengths, reorder swaps, ISN).
    type Case = (Vec<u8>, Vec<usize>, Vec<(usize, usize)>, u32);

    fn reassembly_case() -> impl Strategy<Value = Case> {
        (
            proptest::collection::vec(any::<u8>(), 1..3000),
            proptest::collection::vec(1usize..300, 1..60),
            proptest::collection::vec((0usize..64, 0usize..64), 0..40),
            prop_oneof![
                any::<u32>(),
                (0u32..5000).prop_map(|d| 0u32.wrapping_sub(d))
            ],
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        /// Cut a byte string into segments, reorder and duplicate them (bounded), feed them all
        /// after a SYN: the stream is the original bytes.
        #[test]
        fn reassembles_any_order((msg, cuts, swaps, isn) in reassembly_case(), consume_step in 0usize..500) {
            let mut segs: Vec<(usize, usize)> = Vec::new();
            let mut at = 0;
            let mut i = 0;
            while at < msg.len() {
                let len = cuts[i % cuts.len()].min(msg.len() - at);
                segs.push((at, at + len));
                at += len;
                i += 1;
            }
            // Duplicates, including overlapping retransmissions spanning two segments.
            let n = segs.len();
            for &(a, b) in &swaps {
                if b % 3 == 0 {
                    let (s0, _) = segs[a % n];
                    let (_, e1) = segs[(a % n + 1).min(n - 1)];
                    segs.push((s0, e1));
                }
            }
            let m = segs.len();
            for &(a, b) in &swaps {
                segs.swap(a % m, b % m);
            }
            let mut s = TcpStream::new();
            s.on_segment(isn, SYN, b"");
            let mut out = Vec::new();
            for (a, b) in segs {
                let seq = isn.wrapping_add(1).wrapping_add(a as u32);
                let o = s.on_segment(seq, ACK, &msg[a..b]);
                prop_assert!(o != SegmentOutcome::OverCap);
                if consume_step > 0 {
                    let k = consume_step.min(s.data().len());
                    out.extend_from_slice(&s.data()[..k]);
                    s.consume(k);
                }
                s.check_invariants();
            }
            out.extend_from_slice(s.data());
            prop_assert_eq!(out, msg);
            prop_assert!(!s.has_gap());
            prop_assert_eq!(s.out_of_order_bytes(), 0);
            prop_assert_eq!(s.stats().overlap_mismatch, 0);
        }

        /// Arbitrary segments never panic and never exceed the caps.
        #[test]
        fn random_segments_stay_in_caps(
            segs in proptest::collection::vec(
                (any::<u32>(), 0u32..400, any::<u8>(), 0usize..120, any::<bool>(), 0usize..100),
                1..200,
            ),
            base in any::<u32>(),
            max_buffered in 0usize..200,
            max_out_of_order in 0usize..200,
            max_segments_ooo in 0usize..8,
        ) {
            let cfg = TcpConfig { max_buffered, max_out_of_order, max_segments_ooo };
            let mut s = TcpStream::with_config(cfg);
            let bytes: Vec<u8> = (0..120u8).collect();
            for (raw, near, flags, len, use_near, consume) in segs {
                // Mostly near the stream, sometimes anywhere.
                let seq = if use_near { base.wrapping_add(near) } else { raw };
                let before = s.stats().delivered;
                match s.on_segment(seq, flags, &bytes[..len]) {
                    SegmentOutcome::Appended(n) => {
                        prop_assert!(n > 0);
                        prop_assert_eq!(s.stats().delivered - before, n as u64);
                    }
                    _ => prop_assert_eq!(s.stats().delivered, before),
                }
                s.check_invariants();
                prop_assert!(s.buffered_bytes() <= max_buffered + max_out_of_order);
                s.consume(consume);
                s.check_invariants();
                if consume.is_multiple_of(7) {
                    let _ = s.skip_gap();
                    s.check_invariants();
                }
            }
        }
    }
}
