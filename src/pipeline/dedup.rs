//! One message, two inputs: a sensor on a SPAN port that also receives HEP from the proxy on
//! that port sees each SIP datagram twice, once off the wire and once as the proxy's copy. The
//! second to arrive is dropped here (same endpoints and bytes, from the other input, within
//! [`WINDOW_NS`]), so calls, transactions and detector counts see it once. A retransmission
//! (the same bytes again on one input) is not a duplicate: only a wire/HEP pair cancels. Every
//! SIP datagram is remembered for the window, whatever the input (a replay learns that a
//! capture holds HEP only at its first copy, after that message's wire copy): about 500
//! instructions a SIP message on the capture thread (callgrind, `scripts/perf-instructions.sh`
//! on the SIP-heavy bench: 0.6% of the 85,000 of all threads), nothing for other packets.

use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasher, Hash, Hasher};

use crate::base::time::Ts;
use crate::decode::Decoded;

/// How far apart (arrival time) the two copies of one message may be.
pub const WINDOW_NS: u64 = 2_000_000_000;
/// Messages remembered at most; the oldest are forgotten first (counted).
pub const MAX_ENTRIES: usize = 65_536;

#[derive(Default)]
struct Seen {
    wire: u32,
    hep: u32,
    /// Entries of `order` for this key: it is forgotten with the last.
    refs: u32,
}

/// Recent SIP datagrams of each input, by a hash of their endpoints and bytes.
#[derive(Default)]
pub struct Dedup {
    seen: HashMap<u64, Seen, foldhash::fast::FixedState>,
    order: VecDeque<(Ts, u64)>,
    /// HEP copies dropped because the wire had given the message.
    pub hep_dropped: u64,
    /// Wire datagrams dropped because a HEP copy had given the message.
    pub wire_dropped: u64,
    /// Entries forgotten to keep the table within its cap.
    pub evicted: u64,
}

impl Dedup {
    /// Whether `d` (arrived at `ts`) is the second copy of a message the other input gave:
    /// then it is to be dropped. Only SIP datagrams are compared (`sip`).
    pub fn is_duplicate(&mut self, ts: Ts, d: &Decoded<'_>, sip: bool) -> bool {
        if !sip {
            return false;
        }
        let from_hep = d.agent.is_some();
        self.expire(ts);
        let key = key_of(d);
        let e = self.seen.entry(key).or_default();
        let (mine, other) = if from_hep {
            (&mut e.hep, &mut e.wire)
        } else {
            (&mut e.wire, &mut e.hep)
        };
        if *other > 0 {
            *other -= 1;
            if from_hep {
                self.hep_dropped += 1;
            } else {
                self.wire_dropped += 1;
            }
            return true;
        }
        *mine += 1;
        e.refs += 1;
        self.order.push_back((ts, key));
        if self.order.len() > MAX_ENTRIES {
            self.evicted += 1;
            self.forget_oldest();
        }
        false
    }

    /// Messages remembered now.
    pub fn len(&self) -> usize {
        self.order.len()
    }

    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }

    pub(super) fn expire(&mut self, now: Ts) {
        while let Some(&(t, _)) = self.order.front() {
            if now.0.saturating_sub(t.0) <= WINDOW_NS {
                break;
            }
            self.forget_oldest();
        }
    }

    fn forget_oldest(&mut self) {
        let Some((_, key)) = self.order.pop_front() else {
            return;
        };
        if let Some(e) = self.seen.get_mut(&key) {
            e.refs = e.refs.saturating_sub(1);
            if e.refs == 0 {
                self.seen.remove(&key);
            }
        }
    }
}

fn key_of(d: &Decoded<'_>) -> u64 {
    let mut h = foldhash::fast::FixedState::with_seed(0x5eed).build_hasher();
    (d.src, d.sport, d.dst, d.dport).hash(&mut h);
    d.payload.hash(&mut h);
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::base::packet::{HepAgent, HepTransport, Transport};

    fn msg(payload: &[u8], hep: bool) -> Decoded<'_> {
        Decoded {
            vlan: None,
            vlan_inner: None,
            src: "10.0.0.1".parse().unwrap(),
            dst: "10.0.0.2".parse().unwrap(),
            transport: Transport::Udp,
            sport: 5060,
            dport: 5060,
            tcp: None,
            payload,
            reassembled: false,
            frag_key: None,
            tunneled: hep,
            ip_len: 0,
            agent_ts: None,
            agent: hep.then_some(HepAgent {
                id: Some(1),
                transport: HepTransport::Udp,
            }),
            rtcp_json: false,
        }
    }

    #[test]
    fn a_wire_and_hep_pair_counts_once_retransmissions_stay() {
        let mut d = Dedup::default();
        let (wire, hep) = (msg(b"INVITE a", false), msg(b"INVITE a", true));
        let ms = |n: u64| Ts(1_000_000_000 + n * 1_000_000);
        // The wire first, then HEP's copy; HEP's first, then the wire's.
        assert!(!d.is_duplicate(ms(0), &wire, true));
        assert!(
            d.is_duplicate(ms(1), &hep, true),
            "the HEP copy after the wire's"
        );
        assert!(!d.is_duplicate(ms(1), &hep, true));
        assert!(
            d.is_duplicate(ms(2), &wire, true),
            "the wire copy after HEP's"
        );
        // A retransmission 500 ms later: again on both inputs, again once.
        assert!(!d.is_duplicate(ms(500), &wire, true));
        assert!(!d.is_duplicate(ms(501), &wire, true), "a retransmission");
        assert!(d.is_duplicate(ms(502), &hep, true));
        assert!(d.is_duplicate(ms(503), &hep, true));
        assert!(
            !d.is_duplicate(ms(504), &hep, true),
            "a third HEP copy has no pair"
        );
        // Another message, and the same one after the window: not duplicates.
        assert!(!d.is_duplicate(ms(505), &msg(b"BYE a", true), true));
        assert!(!d.is_duplicate(ms(5000), &wire, true));
        assert_eq!((d.hep_dropped, d.wire_dropped), (3, 1));
        // Not SIP: never compared.
        assert!(!d.is_duplicate(ms(5001), &hep, false));
    }
}
