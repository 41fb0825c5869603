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
    pub src: IpAddr,
    pub dst: IpAddr,
    pub sport: u16,
    pub dport: u16,
    pub transport: Transport,
    pub vlan: Option<u16>,
    pub tcp: Option<TcpInfo>,
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
            src: d.src,
            dst: d.dst,
            sport: d.sport,
            dport: d.dport,
            transport: d.transport,
            vlan: d.vlan,
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
