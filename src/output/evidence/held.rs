//! The packets held in memory until an alert asks for them: the SIP frames of each Call-ID,
//! and the last frames to or from each address (the sample behind a flood, scan or brute-force
//! alert). Bounded three ways: frames per Call-ID and per address, and bytes over all (the
//! least recently active key goes first, counted); keys idle for `IDLE` are dropped.

use std::collections::VecDeque;
use std::net::IpAddr;
use std::sync::Arc;

use crate::base::packet::WireFrame;
use crate::base::time::{secs, Ts};
use crate::detect::table::Lru;

/// A key not seen for this long is dropped (a call's setup and teardown are rarely further
/// apart in SIP than a session refresh).
pub const IDLE: u64 = secs(300);

/// What a key costs beside its frames (map slot, order entry, key).
pub const KEY_OVERHEAD: usize = 160;

/// The frames held for one key, oldest first.
#[derive(Default)]
pub struct Held {
    pub frames: VecDeque<Arc<WireFrame>>,
    bytes: usize,
}

impl Held {
    /// Add `f`; past `cap` frames, drop one from the middle (a call keeps its setup and its
    /// latest messages) or the oldest (`ring`). Returns the bytes added and whether a frame was
    /// dropped.
    fn push(&mut self, f: &Arc<WireFrame>, cap: usize, ring: bool) -> (isize, bool) {
        let mut delta = f.bytes.len() as isize;
        let mut dropped = false;
        // A call keeps at least its first and latest frame; a ring exactly `cap`.
        let cap = if ring { cap.max(1) } else { cap.max(2) };
        if self.frames.len() >= cap {
            let at = if ring { 0 } else { self.frames.len() / 2 };
            if let Some(old) = self.frames.remove(at) {
                delta -= old.bytes.len() as isize;
                dropped = !ring;
            }
        }
        self.frames.push_back(Arc::clone(f));
        self.bytes = (self.bytes as isize + delta) as usize;
        (delta, dropped)
    }
}

/// Limits of what is held.
#[derive(Clone, Copy, Debug)]
pub struct HeldLimits {
    /// Frames kept per Call-ID.
    pub per_call: usize,
    /// Frames kept per address (the sample size of rate alerts).
    pub per_addr: usize,
    /// Bytes held at most, over all keys.
    pub max_bytes: usize,
}

pub struct Store {
    calls: Lru<String, Held>,
    addrs: Lru<IpAddr, Held>,
    limits: HeldLimits,
    bytes: usize,
    /// Frames dropped from the middle of a Call-ID over its cap.
    pub call_frames_dropped: u64,
}

impl Store {
    pub fn new(limits: HeldLimits) -> Store {
        Store {
            calls: Lru::new(usize::MAX),
            addrs: Lru::new(usize::MAX),
            limits,
            bytes: 0,
            call_frames_dropped: 0,
        }
    }

    /// Hold the frames of a SIP message of `call_id` between `src` and `dst`.
    pub fn hold(
        &mut self,
        call_id: Option<&str>,
        (src, dst): (IpAddr, IpAddr),
        frames: &[Arc<WireFrame>],
        now: Ts,
    ) {
        let lim = self.limits;
        for f in frames {
            if let Some(id) = call_id {
                let mut fresh = false;
                let held = self.calls.touch_by(
                    id,
                    now,
                    || id.to_string(),
                    || {
                        fresh = true;
                        Held::default()
                    },
                );
                let (delta, dropped) = held.push(f, lim.per_call, false);
                self.call_frames_dropped += u64::from(dropped);
                self.add(delta, fresh.then_some(id.len()));
            }
            let ends = [src, dst];
            let ends = if src == dst { &ends[..1] } else { &ends[..] };
            for &addr in ends {
                let mut fresh = false;
                let held = self.addrs.touch(addr, now, || {
                    fresh = true;
                    Held::default()
                });
                let (delta, _) = held.push(f, lim.per_addr, true);
                self.add(delta, fresh.then_some(0));
            }
        }
        self.shed();
    }

    fn add(&mut self, delta: isize, new_key: Option<usize>) {
        let extra = new_key.map_or(0, |k| (k + KEY_OVERHEAD) as isize);
        self.bytes = (self.bytes as isize + delta + extra).max(0) as usize;
    }

    /// Over the byte budget: drop the least recently active keys, Call-IDs first (an
    /// address's sample is the evidence of the attacks that matter most under load).
    fn shed(&mut self) {
        while self.bytes > self.limits.max_bytes {
            let gone = match self.calls.pop_oldest() {
                Some((k, h)) => h.bytes + k.len() + KEY_OVERHEAD,
                None => match self.addrs.pop_oldest() {
                    Some((_, h)) => h.bytes + KEY_OVERHEAD,
                    None => break,
                },
            };
            self.bytes = self.bytes.saturating_sub(gone);
        }
    }

    /// The frames held for a Call-ID.
    pub fn call(&mut self, call_id: &str) -> Option<&Held> {
        self.calls.get_mut(&call_id.to_string()).map(|h| &*h)
    }

    /// The frames held for an address.
    pub fn addr(&mut self, addr: IpAddr) -> Option<&Held> {
        self.addrs.get_mut(&addr).map(|h| &*h)
    }

    /// Drop the keys idle for `IDLE`.
    pub fn expire(&mut self, now: Ts) {
        let mut freed = 0usize;
        self.calls.expire_with(now, IDLE, |k, h| {
            freed += h.bytes + k.len() + KEY_OVERHEAD;
        });
        self.addrs.expire_with(now, IDLE, |_, h| {
            freed += h.bytes + KEY_OVERHEAD;
        });
        self.bytes = self.bytes.saturating_sub(freed);
    }

    /// Bytes held now.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Keys (Call-IDs and addresses) held now.
    pub fn keys(&self) -> usize {
        self.calls.len() + self.addrs.len()
    }

    /// Keys dropped to stay within the byte budget.
    pub fn evictions(&self) -> u64 {
        self.calls.evictions + self.addrs.evictions
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::base::packet::LinkType;

    fn frame(n: u8, len: usize) -> Arc<WireFrame> {
        Arc::new(WireFrame {
            ts: Ts(u64::from(n)),
            link: LinkType::Raw,
            orig_len: len as u32,
            bytes: vec![n; len],
        })
    }

    #[test]
    fn keeps_setup_and_latest_of_a_call_and_a_ring_per_address() {
        let mut s = Store::new(HeldLimits {
            per_call: 4,
            per_addr: 3,
            max_bytes: 1 << 20,
        });
        let (a, b) = ("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap());
        for n in 0..6 {
            s.hold(Some("c1"), (a, b), &[frame(n, 100)], Ts(u64::from(n)));
        }
        let ids: Vec<u8> = s
            .call("c1")
            .unwrap()
            .frames
            .iter()
            .map(|f| f.bytes[0])
            .collect();
        assert_eq!(ids, vec![0, 1, 4, 5]);
        assert_eq!(s.call_frames_dropped, 2);
        let ring: Vec<u8> = s
            .addr(b)
            .unwrap()
            .frames
            .iter()
            .map(|f| f.bytes[0])
            .collect();
        assert_eq!(ring, vec![3, 4, 5]);
        s.expire(Ts(IDLE + 10));
        assert_eq!((s.keys(), s.bytes()), (0, 0));
        // `--pcap-sample 1`: the ring holds the latest frame alone.
        let mut one = Store::new(HeldLimits {
            per_call: 4,
            per_addr: 1,
            max_bytes: 1 << 20,
        });
        for n in 0..3 {
            one.hold(None, (a, b), &[frame(n, 10)], Ts(u64::from(n)));
        }
        let ring: Vec<u8> = one
            .addr(a)
            .unwrap()
            .frames
            .iter()
            .map(|f| f.bytes[0])
            .collect();
        assert_eq!(ring, vec![2]);
    }

    #[test]
    fn sheds_the_least_recent_call_over_the_byte_budget() {
        let mut s = Store::new(HeldLimits {
            per_call: 64,
            per_addr: 1,
            max_bytes: 5_000,
        });
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        for n in 0..40u8 {
            let id = format!("call-{n}");
            s.hold(Some(&id), (a, a), &[frame(n, 500)], Ts(u64::from(n)));
            assert!(s.bytes() <= 5_000, "{}", s.bytes());
        }
        assert!(s.call("call-0").is_none());
        assert!(s.call("call-39").is_some());
        assert!(s.evictions() > 30);
    }
}
