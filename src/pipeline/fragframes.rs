//! Evidence for datagrams reassembled from IP fragments: the capture thread keeps the frames
//! of the fragments the decoder holds, by the datagram's key, so that a reassembled message
//! goes to its pcap with every frame that carried it (Wireshark reassembles them again).
//! Bounded by keys, frames per key and bytes; the oldest key goes first (counted), and a key
//! whose datagram was dropped or never completed is forgotten with it or in turn.

use std::collections::BTreeMap;

use crate::base::fasthash::FastMap;
use crate::base::time::Ts;
use crate::decode::FragKey;

/// Datagrams whose fragments' frames are kept at most.
const MAX_KEYS: usize = 4096;
/// Frames kept per datagram (more fragments than this are rare and suspicious).
const MAX_PER_KEY: usize = 64;
/// Bytes of frames kept at most.
const MAX_BYTES: usize = 32 << 20;

/// One fragment's frame.
pub struct Held {
    pub ts: Ts,
    pub orig_len: u32,
    pub bytes: Vec<u8>,
}

#[derive(Default)]
pub struct FragFrames {
    map: FastMap<FragKey, (u64, Vec<Held>)>,
    order: BTreeMap<u64, FragKey>,
    next: u64,
    bytes: usize,
    /// Frames not kept (a full datagram, or evicted to make room).
    pub dropped: u64,
}

impl FragFrames {
    /// Keep the frame of a fragment of datagram `key`.
    pub fn hold(&mut self, key: FragKey, ts: Ts, frame: &[u8], orig_len: u32) {
        if !self.map.contains_key(&key) {
            while self.map.len() >= MAX_KEYS || self.bytes + frame.len() > MAX_BYTES {
                let Some((_, old)) = self.order.pop_first() else {
                    break;
                };
                self.forget(&old);
            }
            self.next += 1;
            self.order.insert(self.next, key);
            self.map.insert(key, (self.next, Vec::new()));
        }
        let Some((_, frames)) = self.map.get_mut(&key) else {
            return;
        };
        if frames.len() >= MAX_PER_KEY || self.bytes + frame.len() > MAX_BYTES {
            self.dropped += 1;
            return;
        }
        self.bytes += frame.len();
        frames.push(Held {
            ts,
            orig_len,
            bytes: frame.to_vec(),
        });
    }

    /// The frames kept for `key` (its datagram is complete), removed.
    pub fn take(&mut self, key: &FragKey) -> Vec<Held> {
        match self.map.remove(key) {
            Some((n, frames)) => {
                self.order.remove(&n);
                self.bytes -= frames.iter().map(|h| h.bytes.len()).sum::<usize>();
                frames
            }
            None => Vec::new(),
        }
    }

    /// Forget `key` (its datagram was dropped, or room is needed), counting its frames.
    pub fn forget(&mut self, key: &FragKey) {
        let gone = self.take(key);
        self.dropped += gone.len() as u64;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(id: u32) -> FragKey {
        FragKey {
            src: "10.0.0.1".parse().unwrap(),
            dst: "10.0.0.2".parse().unwrap(),
            id,
            proto: 17,
            vlan: None,
        }
    }

    #[test]
    fn keeps_frames_by_datagram_within_bounds() {
        let mut f = FragFrames::default();
        f.hold(key(1), Ts(1), &[1; 100], 100);
        f.hold(key(1), Ts(2), &[2; 50], 50);
        let got = f.take(&key(1));
        assert_eq!(
            got.iter().map(|h| h.bytes.len()).collect::<Vec<_>>(),
            vec![100, 50]
        );
        assert!(f.take(&key(1)).is_empty());
        for id in 0..(MAX_KEYS as u32 + 10) {
            f.hold(key(id), Ts(3), &[0; 10], 10);
        }
        assert_eq!(f.map.len(), MAX_KEYS);
        assert_eq!(f.dropped, 10);
        assert!(f.take(&key(0)).is_empty(), "the oldest went first");
        for _ in 0..MAX_PER_KEY + 3 {
            f.hold(key(99_999), Ts(4), &[0; 10], 10);
        }
        assert_eq!(f.take(&key(99_999)).len(), MAX_PER_KEY);
        // The full table made room for the new key (one frame), then 3 over its cap.
        assert_eq!(f.dropped, 10 + 1 + 3);
    }
}
