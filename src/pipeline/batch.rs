//! Batches of decoded packets travelling from the capture thread to a worker. A batch owns one
//! byte slab for the payloads and one vector of packet descriptions; both keep their capacity
//! when the worker hands the batch back, so the packet path allocates nothing in steady state.

use std::net::IpAddr;

use crate::base::packet::{HepAgent, LinkType, Transport, WireFrame};
use crate::base::time::Ts;
use crate::decode::{Decoded, TcpInfo};
use crate::flow::FlowKey;

/// Packets a batch holds at most.
pub const BATCH_PACKETS: usize = 128;
/// Payload bytes a batch holds at most (a batch is sent when either limit is reached).
pub const BATCH_BYTES: usize = 256 * 1024;

/// One decoded packet, minus its payload bytes (which are in the batch's slab).
#[derive(Clone, Copy, Debug)]
pub struct PacketMeta {
    /// Position of the packet in the capture (1-based, over all files of a replay).
    pub seq: u64,
    pub ts: Ts,
    pub tcp: Option<TcpInfo>,
    /// The flow, which also holds the packet's addresses, ports, transport and VLAN (read
    /// through the methods below rather than copied beside it).
    pub key: FlowKey,
    /// True when the packet goes from `key.lo` to `key.hi`.
    pub forward: bool,
    pub flow_hash: u64,
    /// A UDP payload that starts like a SIP message (decided once, on the capture thread).
    pub sip: bool,
    pub ip_len: u32,
    /// The HEP agent that sent a copy of this message (not off the wire).
    pub agent: Option<HepAgent>,
    /// Only to be counted on its flow: a SIP datagram is parsed by whichever worker's turn it
    /// is, and counted by its flow's worker through this payload-less copy.
    pub count_only: bool,
    /// The frames that carried the packet were copied too (after the payload in the slab:
    /// several for a datagram reassembled from fragments), as evidence for `--pcap-dir`: the
    /// bytes they take there and their link type.
    frame: Option<(u32, LinkType)>,
    off: u32,
    len: u32,
}

// Every packet's description is copied into a batch and out again: 168 bytes while it also
// carried the addresses, ports, transport and VLAN its flow key holds.
const _: () = assert!(std::mem::size_of::<PacketMeta>() <= 120);

impl PacketMeta {
    /// Source address and port.
    pub fn src(&self) -> (IpAddr, u16) {
        if self.forward {
            (self.key.lo_ip, self.key.lo_port)
        } else {
            (self.key.hi_ip, self.key.hi_port)
        }
    }

    /// Destination address and port.
    pub fn dst(&self) -> (IpAddr, u16) {
        if self.forward {
            (self.key.hi_ip, self.key.hi_port)
        } else {
            (self.key.lo_ip, self.key.lo_port)
        }
    }

    pub fn transport(&self) -> Transport {
        self.key.transport
    }

    pub fn vlan(&self) -> Option<u16> {
        self.key.vlan
    }
}

/// One captured frame handed to the batch as evidence.
#[derive(Clone, Copy, Debug)]
pub struct FramePart<'a> {
    pub ts: Ts,
    pub bytes: &'a [u8],
    /// Length on the wire.
    pub orig_len: u32,
}

/// The frames of a packet handed to the batch as evidence, with their link type.
pub type FrameIn<'a> = Option<(LinkType, &'a [FramePart<'a>])>;

/// Bytes in front of each frame in the slab: time, length on the wire, length kept.
const PART_HEAD: usize = 16;

/// A batch of packets for one worker.
pub struct Batch {
    pub metas: Vec<PacketMeta>,
    data: Vec<u8>,
}

impl Batch {
    pub fn new() -> Batch {
        Batch {
            metas: Vec::with_capacity(BATCH_PACKETS),
            data: Vec::with_capacity(BATCH_BYTES),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.metas.is_empty()
    }

    pub fn len(&self) -> usize {
        self.metas.len()
    }

    /// Whether the batch should be sent now.
    pub fn is_full(&self) -> bool {
        self.metas.len() >= BATCH_PACKETS || self.data.len() >= BATCH_BYTES - 1500
    }

    /// Copy one decoded packet in.
    pub fn push(
        &mut self,
        seq: u64,
        ts: Ts,
        d: &Decoded<'_>,
        keys: (FlowKey, bool, u64),
        sip: bool,
        frame: FrameIn<'_>,
    ) {
        self.push_meta(seq, ts, d, keys, sip, false, frame);
    }

    /// A payload-less copy of a packet, for its flow's worker to count (see `count_only`).
    pub fn push_flow_count(
        &mut self,
        seq: u64,
        ts: Ts,
        d: &Decoded<'_>,
        keys: (FlowKey, bool, u64),
    ) {
        self.push_meta(seq, ts, d, keys, false, true, None);
    }

    #[allow(clippy::too_many_arguments)]
    fn push_meta(
        &mut self,
        seq: u64,
        ts: Ts,
        d: &Decoded<'_>,
        (key, forward, flow_hash): (FlowKey, bool, u64),
        sip: bool,
        count_only: bool,
        frame: FrameIn<'_>,
    ) {
        let off = self.data.len() as u32;
        let len = if count_only {
            0
        } else {
            d.payload.len() as u32
        };
        if !count_only {
            self.data.extend_from_slice(d.payload);
        }
        let frame = frame.map(|(link, parts)| {
            let start = self.data.len();
            for p in parts {
                self.data.extend_from_slice(&p.ts.0.to_le_bytes());
                self.data.extend_from_slice(&p.orig_len.to_le_bytes());
                self.data
                    .extend_from_slice(&(p.bytes.len() as u32).to_le_bytes());
                self.data.extend_from_slice(p.bytes);
            }
            ((self.data.len() - start) as u32, link)
        });
        self.metas.push(PacketMeta {
            seq,
            ts,
            tcp: d.tcp,
            key,
            forward,
            flow_hash,
            sip,
            ip_len: d.ip_len as u32,
            agent: d.agent,
            count_only,
            frame,
            off,
            len,
        });
    }

    /// The payload of a packet of this batch.
    pub fn payload(&self, m: &PacketMeta) -> &[u8] {
        &self.data[m.off as usize..(m.off + m.len) as usize]
    }

    /// The captured frames of a packet, when evidence is kept (copies the worker may hold on
    /// to); none otherwise.
    pub fn frames(&self, m: &PacketMeta) -> Vec<WireFrame> {
        let Some((region, link)) = m.frame else {
            return Vec::new();
        };
        let start = (m.off + m.len) as usize;
        let mut rest = &self.data[start..start + region as usize];
        let mut out = Vec::new();
        while rest.len() >= PART_HEAD {
            let word = |i: usize, n: usize| {
                let mut b = [0u8; 8];
                b[..n].copy_from_slice(&rest[i..i + n]);
                u64::from_le_bytes(b)
            };
            let (ts, orig_len, len) = (word(0, 8), word(8, 4) as u32, word(12, 4) as usize);
            let bytes = rest[PART_HEAD..PART_HEAD + len].to_vec();
            rest = &rest[PART_HEAD + len..];
            out.push(WireFrame {
                ts: Ts(ts),
                link,
                orig_len,
                bytes,
            });
        }
        out
    }

    /// Empty the batch, keeping its capacity.
    pub fn clear(&mut self) {
        self.metas.clear();
        self.data.clear();
    }
}

impl Default for Batch {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(src: (IpAddr, u16), dst: (IpAddr, u16), vlan: Option<u16>) -> PacketMeta {
        let (key, forward) = FlowKey::new(src.0, src.1, dst.0, dst.1, Transport::Udp, vlan);
        PacketMeta {
            seq: 1,
            ts: Ts(0),
            tcp: None,
            key,
            forward,
            flow_hash: key.stable_hash(),
            sip: false,
            ip_len: 0,
            agent: None,
            count_only: false,
            frame: None,
            off: 0,
            len: 0,
        }
    }

    #[test]
    fn a_packets_endpoints_are_read_back_from_its_flow_either_way() {
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "2001:db8::2".parse().unwrap();
        for (src, dst) in [
            ((a, 5060), (b, 5062)),
            ((b, 5062), (a, 5060)),
            ((a, 4000), (a, 3000)),
            ((a, 3000), (a, 3000)),
        ] {
            let m = meta(src, dst, Some(7));
            assert_eq!((m.src(), m.dst()), (src, dst));
            assert_eq!((m.transport(), m.vlan()), (Transport::Udp, Some(7)));
        }
    }
}
