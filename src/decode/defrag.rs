//! IPv4 / IPv6 fragment reassembly, bounded in datagrams, bytes, fragments per datagram and
//! packet time.
//!
//! Overlapping data: the first copy received wins; every fragment that overlaps data already
//! held is counted in [`DefragStats::overlaps`].

use std::collections::VecDeque;

use crate::base::fasthash::FastMap;
use std::net::IpAddr;

use crate::base::time::Ts;

/// Limits of the reassembly table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DefragConfig {
    /// Datagrams under reassembly at once; the oldest is evicted beyond this.
    pub max_datagrams: usize,
    /// Bytes of reassembly buffers held at once; the oldest datagrams are evicted beyond this.
    pub max_bytes: usize,
    /// A datagram not complete this long (packet time, from its first fragment) is dropped.
    pub timeout_ns: u64,
    /// Largest reassembled IP datagram (header plus payload) accepted.
    pub max_datagram_len: usize,
}

impl Default for DefragConfig {
    fn default() -> Self {
        DefragConfig {
            max_datagrams: 4096,
            max_bytes: 16 << 20,
            timeout_ns: 30_000_000_000,
            max_datagram_len: 65_535 + 40,
        }
    }
}

/// Counters of the reassembly table.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DefragStats {
    /// Datagrams under reassembly now.
    pub held: usize,
    /// Bytes of reassembly buffers allocated now.
    pub bytes_held: usize,
    /// Fragments offered.
    pub fragments: u64,
    /// Datagrams reassembled.
    pub completed: u64,
    /// Datagrams dropped incomplete at timeout.
    pub timed_out: u64,
    /// Datagrams dropped incomplete because a cap (datagrams or bytes) was reached.
    pub evicted: u64,
    /// Fragments overlapping data already held (duplicates included); first copy wins.
    pub overlaps: u64,
    /// Fragments rejected as inconsistent (empty, unaligned, past the end, conflicting ends,
    /// too many pieces).
    pub bad: u64,
    /// Fragments rejected because the datagram would exceed `max_datagram_len`.
    pub too_long: u64,
}

/// Identity of a datagram under reassembly. `proto` is 0 for IPv6 (RFC 8200: only the
/// offset-zero fragment's next header counts).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FragKey {
    pub src: IpAddr,
    pub dst: IpAddr,
    pub id: u32,
    pub proto: u8,
    pub vlan: Option<u16>,
}

/// One fragment, borrowed from the captured frame.
#[derive(Clone, Copy, Debug)]
pub struct Fragment<'p> {
    pub key: FragKey,
    /// Byte offset of `data` in the reassembled payload.
    pub offset: usize,
    /// More fragments follow.
    pub more: bool,
    /// The fragment's payload (after the IP header / fragment header).
    pub data: &'p [u8],
    /// Protocol of the reassembled payload (IPv4 protocol / IPv6 fragment header next header).
    pub proto: u8,
    /// Length of the IP header (IPv4) or unfragmentable part (IPv6) in front of the payload.
    pub hdr_len: usize,
}

/// A datagram that is complete: its payload was written into the caller's buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reassembled {
    pub proto: u8,
    pub hdr_len: usize,
    pub len: usize,
}

/// What became of a fragment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Insert {
    Held,
    Complete(Reassembled),
    Dropped(&'static str),
}

/// Most distinct received ranges (holes + 1) kept per datagram.
const MAX_RANGES: usize = 1024;

#[derive(Debug)]
struct Entry {
    buf: Vec<u8>,
    /// Sorted, disjoint, non-adjacent received ranges [start, end).
    ranges: Vec<(usize, usize)>,
    total: Option<usize>,
    proto: Option<u8>,
    hdr_len: Option<usize>,
    seq: u64,
    charged: usize,
}

/// The reassembly table.
#[derive(Debug)]
pub struct Defrag {
    cfg: DefragConfig,
    table: FastMap<FragKey, Entry>,
    /// Creation order: (first seen, key, generation). Items whose generation no longer
    /// matches the table are stale and skipped.
    order: VecDeque<(Ts, FragKey, u64)>,
    next_seq: u64,
    stats: DefragStats,
}

impl Defrag {
    pub fn new(cfg: DefragConfig) -> Self {
        Defrag {
            cfg,
            table: FastMap::default(),
            order: VecDeque::new(),
            next_seq: 0,
            stats: DefragStats::default(),
        }
    }

    pub fn config(&self) -> &DefragConfig {
        &self.cfg
    }

    pub fn stats(&self) -> DefragStats {
        let mut s = self.stats;
        s.held = self.table.len();
        s
    }

    /// Datagrams under reassembly.
    pub fn len(&self) -> usize {
        self.table.len()
    }

    pub fn is_empty(&self) -> bool {
        self.table.is_empty()
    }

    fn is_live(&self, key: &FragKey, seq: u64) -> bool {
        self.table.get(key).is_some_and(|e| e.seq == seq)
    }

    fn remove(&mut self, key: &FragKey) -> Option<Entry> {
        let e = self.table.remove(key)?;
        self.stats.bytes_held = self.stats.bytes_held.saturating_sub(e.charged);
        Some(e)
    }

    /// Drop datagrams older than the timeout. Cheap: looks only at the oldest entries.
    pub fn expire(&mut self, now: Ts) {
        while let Some(&(first, key, seq)) = self.order.front() {
            if !self.is_live(&key, seq) {
                self.order.pop_front();
            } else if now.since(first) > self.cfg.timeout_ns {
                self.order.pop_front();
                self.remove(&key);
                self.stats.timed_out += 1;
            } else {
                break;
            }
        }
        // Stale items pile up behind a long-lived oldest entry; compact now and then.
        if self.order.len() > self.cfg.max_datagrams.saturating_mul(2).saturating_add(64) {
            let table = &self.table;
            self.order
                .retain(|(_, k, s)| table.get(k).is_some_and(|e| e.seq == *s));
        }
    }

    /// Evict the oldest datagram other than `except`. Returns false when there is none.
    fn evict_oldest(&mut self, except: &FragKey) -> bool {
        let mut i = 0;
        while i < self.order.len() {
            let (_, key, seq) = self.order[i];
            if !self.is_live(&key, seq) {
                self.order.remove(i);
                continue;
            }
            if key == *except {
                i += 1;
                continue;
            }
            self.order.remove(i);
            self.remove(&key);
            self.stats.evicted += 1;
            return true;
        }
        false
    }

    fn reject(&mut self, key: &FragKey, reason: &'static str, drop_datagram: bool) -> Insert {
        if drop_datagram {
            self.remove(key);
        }
        Insert::Dropped(reason)
    }

    /// Offer one fragment. On completion the reassembled payload is written to `out`
    /// (cleared first) and the datagram leaves the table.
    pub fn insert(&mut self, frag: Fragment<'_>, ts: Ts, out: &mut Vec<u8>) -> Insert {
        self.stats.fragments += 1;
        let key = frag.key;
        let start = frag.offset;
        let end = start.saturating_add(frag.data.len());
        if frag.data.is_empty() {
            self.stats.bad += 1;
            return self.reject(&key, "empty fragment", false);
        }
        if end.saturating_add(frag.hdr_len) > self.cfg.max_datagram_len {
            self.stats.too_long += 1;
            return self.reject(&key, "datagram too long", true);
        }
        if frag.more && !frag.data.len().is_multiple_of(8) {
            self.stats.bad += 1;
            return self.reject(&key, "unaligned fragment", false);
        }
        // consistency with what is already held
        if let Some(e) = self.table.get(&key) {
            let held_end = e.ranges.last().map_or(0, |r| r.1);
            let bad = match (e.total, frag.more) {
                (Some(t), false) => t != end,
                (Some(t), true) => end > t,
                (None, false) => held_end > end,
                (None, true) => false,
            };
            if bad {
                self.stats.bad += 1;
                return self.reject(&key, "inconsistent fragment end", false);
            }
        }
        // room: datagram cap
        if !self.table.contains_key(&key) {
            while self.table.len() >= self.cfg.max_datagrams.max(1) {
                if !self.evict_oldest(&key) {
                    break;
                }
            }
            let seq = self.next_seq;
            self.next_seq += 1;
            self.table.insert(
                key,
                Entry {
                    buf: Vec::new(),
                    ranges: Vec::new(),
                    total: None,
                    proto: None,
                    hdr_len: None,
                    seq,
                    charged: 0,
                },
            );
            self.order.push_back((ts, key, seq));
        }
        // room: byte cap. The buffer grows to exactly `end` (no amortised doubling), so the
        // growth charged against the cap is what will be allocated.
        let charged = self.table.get(&key).map_or(0, |e| e.charged);
        let growth = end.saturating_sub(charged);
        while self.stats.bytes_held.saturating_add(growth) > self.cfg.max_bytes {
            if !self.evict_oldest(&key) {
                self.stats.evicted += 1;
                return self.reject(&key, "memory cap", true);
            }
        }
        let Some(e) = self.table.get_mut(&key) else {
            return Insert::Dropped("internal");
        };
        if e.buf.len() < end {
            e.buf.reserve_exact(end - e.buf.len());
            e.buf.resize(end, 0);
            let cap = e.buf.capacity();
            self.stats.bytes_held = self
                .stats
                .bytes_held
                .saturating_add(cap.saturating_sub(e.charged));
            e.charged = cap;
        }
        // first wins: copy only the gaps of [start, end)
        let i = e.ranges.partition_point(|r| r.1 < start);
        let mut j = i;
        let mut cursor = start;
        let mut overlapped = false;
        while j < e.ranges.len() && e.ranges[j].0 <= end {
            let (rs, re) = e.ranges[j];
            if rs > cursor {
                e.buf[cursor..rs].copy_from_slice(&frag.data[cursor - start..rs - start]);
            }
            if rs < end && re > start {
                overlapped = true;
            }
            cursor = cursor.max(re);
            j += 1;
        }
        if cursor < end {
            e.buf[cursor..end].copy_from_slice(&frag.data[cursor - start..]);
        }
        let merged_start = if j > i {
            start.min(e.ranges[i].0)
        } else {
            start
        };
        let merged_end = if j > i {
            end.max(e.ranges[j - 1].1)
        } else {
            end
        };
        e.ranges.splice(i..j, [(merged_start, merged_end)]);
        if overlapped {
            self.stats.overlaps += 1;
        }
        if start == 0 && e.proto.is_none() {
            e.proto = Some(frag.proto);
            e.hdr_len = Some(frag.hdr_len);
        }
        if !frag.more {
            e.total = Some(end);
        }
        if e.ranges.len() > MAX_RANGES {
            self.stats.bad += 1;
            return self.reject(&key, "too many fragments", true);
        }
        let complete = matches!((e.total, e.ranges.as_slice()), (Some(t), [(0, re)]) if *re == t);
        if !complete {
            return Insert::Held;
        }
        let Some(e) = self.remove(&key) else {
            return Insert::Dropped("internal");
        };
        let total = e.total.unwrap_or(0);
        out.clear();
        out.extend_from_slice(&e.buf[..total]);
        self.stats.completed += 1;
        Insert::Complete(Reassembled {
            proto: e.proto.unwrap_or(frag.proto),
            hdr_len: e.hdr_len.unwrap_or(frag.hdr_len),
            len: total,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn frag(id: u32, offset: usize, more: bool, data: &[u8]) -> Fragment<'_> {
        Fragment {
            key: FragKey {
                src: IpAddr::V4(Ipv4Addr::new(1, 2, 3, 4)),
                dst: IpAddr::V4(Ipv4Addr::new(5, 6, 7, 8)),
                id,
                proto: 17,
                vlan: None,
            },
            offset,
            more,
            data,
            proto: 17,
            hdr_len: 20,
        }
    }

    #[test]
    fn order_queue_stays_bounded_behind_an_old_entry() {
        let cfg = DefragConfig {
            max_datagrams: 8,
            ..DefragConfig::default()
        };
        let mut d = Defrag::new(cfg);
        let mut out = Vec::new();
        // an old incomplete datagram stays at the front of the queue
        assert_eq!(
            d.insert(frag(0, 0, true, &[0; 8]), Ts(0), &mut out),
            Insert::Held
        );
        for id in 1..10_000u32 {
            d.expire(Ts(u64::from(id)));
            assert_eq!(
                d.insert(frag(id, 8, false, &[2; 4]), Ts(0), &mut out),
                Insert::Held
            );
            let r = d.insert(frag(id, 0, true, &[1; 8]), Ts(0), &mut out);
            assert!(matches!(r, Insert::Complete(Reassembled { len: 12, .. })));
            assert_eq!(out, [1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2]);
            assert!(d.order.len() <= 2 * 8 + 64 + 1);
        }
        assert_eq!(d.len(), 1);
        assert_eq!(d.stats().completed, 9_999);
    }

    /// Found by the decode_dispatch fuzz target: a buffer growing a little past its length
    /// used to double its capacity and hold more than `max_bytes`.
    #[test]
    fn growing_buffers_stay_within_the_byte_cap() {
        let cfg = DefragConfig {
            max_datagrams: 4,
            max_bytes: 4096,
            ..DefragConfig::default()
        };
        let mut d = Defrag::new(cfg);
        let mut out = Vec::new();
        let data = [7u8; 2504];
        assert_eq!(
            d.insert(frag(1, 0, true, &data), Ts(0), &mut out),
            Insert::Held
        );
        for k in 0..12 {
            let off = 2504 + 8 * k;
            d.insert(frag(1, off, true, &[1; 8]), Ts(0), &mut out);
            assert!(d.stats().bytes_held <= 4096, "{}", d.stats().bytes_held);
        }
        // a second datagram that does not fit evicts the first, and is held alone
        assert_eq!(
            d.insert(frag(2, 0, true, &[3; 2000]), Ts(0), &mut out),
            Insert::Held
        );
        assert!(d.stats().bytes_held <= 4096);
        assert_eq!(d.stats().evicted, 1);
        assert_eq!(d.len(), 1);
    }

    #[test]
    fn time_going_backwards_is_harmless() {
        let mut d = Defrag::new(DefragConfig::default());
        let mut out = Vec::new();
        d.insert(frag(1, 0, true, &[0; 8]), Ts(1_000_000_000_000), &mut out);
        d.expire(Ts(0));
        assert_eq!(d.len(), 1);
        d.expire(Ts(1_000_000_000_000 + 31_000_000_000));
        assert_eq!(d.len(), 0);
        assert_eq!(d.stats().timed_out, 1);
        assert_eq!(d.stats().bytes_held, 0);
    }
}
