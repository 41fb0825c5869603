//! A worker's RTP streams: one per direction of a flow and SSRC, with its statistics. A stream an
//! SDP announced is counted from its first packet; any other needs two packets in sequence first
//! (version 2, same SSRC, next sequence number), so random UDP does not make streams. Streams end
//! after a silence (packet time) or at the end of the input; each end is reported with its figures.

use crate::base::fasthash::FastMap;

use crate::base::packet::PacketCtx;
use crate::base::time::Ts;
use crate::flow::FlowKey;
use crate::media::evidence::Evidence;
use crate::media::expect::MediaExpect;
use crate::media::rtp::{RtpInfo, StreamStats, StreamSummary};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StreamKey {
    pub flow: FlowKey,
    pub forward: bool,
    pub ssrc: u32,
}

/// Direction and SSRC in one word after the flow's (see `FlowKey`'s `Hash`).
impl std::hash::Hash for StreamKey {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.flow.hash(state);
        state.write_u64((u64::from(self.forward) << 32) | u64::from(self.ssrc));
    }
}

impl StreamKey {
    /// A stable order key for what streams report at the same tick.
    pub fn order_key(&self) -> u64 {
        let mut h = crate::flow::StableHasher::new();
        h.word(self.flow.stable_hash());
        h.word(((self.forward as u64) << 32) | self.ssrc as u64);
        h.finish()
    }
}

#[derive(Clone, Debug)]
pub struct StreamConfig {
    /// A stream without packets for this long has ended.
    pub timeout_ns: u64,
    /// Streams tracked at most by one worker; beyond, the stalest is ended early (counted).
    pub max_streams: usize,
}

impl Default for StreamConfig {
    fn default() -> Self {
        StreamConfig {
            timeout_ns: crate::base::time::secs(30),
            max_streams: 20_000,
        }
    }
}

#[derive(Clone, Debug, Default)]
pub struct StreamCounters {
    pub rtp_packets: u64,
    pub streams: u64,
    pub announced: u64,
    pub evicted: u64,
    pub candidates_dropped: u64,
}

/// How a stream ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EndReason {
    Timeout,
    CaptureEnd,
    Evicted,
}

impl EndReason {
    pub fn as_str(self) -> &'static str {
        match self {
            EndReason::Timeout => "timeout",
            EndReason::CaptureEnd => "capture_end",
            EndReason::Evicted => "evicted",
        }
    }
}

/// What a stream reports when it ends.
#[derive(Debug)]
pub struct StreamEnd {
    pub ctx: PacketCtx,
    /// What the payloads looked like, for the plaintext/SRTP verdict (which needs the codec).
    pub evidence: Evidence,
    pub ssrc: u32,
    pub payload_type: u8,
    pub announced: bool,
    pub reason: EndReason,
    pub summary: StreamSummary,
    pub order_key: u64,
}

/// Voice never needs more than 100 packets/s (10 ms frames): a stream that sends more than twice
/// that within one second, once it has sent [`FLOOD_MIN_PACKETS`], is a flood. Video (a 90 kHz
/// clock, or a static video payload type) is exempt: its packet rate follows the picture.
pub const FLOOD_PACKETS_PER_SECOND: u32 = 200;
/// Packets a stream must have sent before it can be called a flood.
pub const FLOOD_MIN_PACKETS: u64 = 500;

struct Stream {
    ctx: PacketCtx,
    /// Start of the current one-second window of the flood check, and packets in it.
    window: (Ts, u32),
    /// Reported as a flood already (once per stream).
    flooded: bool,
    stats: Option<Box<StreamStats>>,
    evidence: Evidence,
    /// An unannounced stream's first packet, waiting for the next in sequence.
    pending: Option<(Ts, RtpInfo)>,
    clocks: Vec<(u8, u32)>,
    payload_type: u8,
    announced: bool,
    last_ts: Ts,
}

impl Stream {
    fn clock(&self, pt: u8) -> Option<u32> {
        self.clocks
            .iter()
            .find(|(p, _)| *p == pt & 0x7f)
            .map(|(_, c)| *c)
    }

    /// A packet of a stream already in the table.
    fn on_packet(
        &mut self,
        ctx: &PacketCtx,
        info: &RtpInfo,
        payload: &[u8],
        counters: &mut StreamCounters,
    ) -> Seen {
        self.last_ts = self.last_ts.max(ctx.ts);
        let pt = info.payload_type & 0x7f;
        let clock = self.clock(pt);
        if let Some(st) = self.stats.as_mut() {
            st.on_packet(ctx.ts, info, clock);
            // Past its sample the evidence is not even looked at (its memory stays cold).
            if st.packets() <= u64::from(crate::media::evidence::SAMPLE_PACKETS) + 1 {
                self.evidence.on_payload(pt, payload);
            }
            if ctx.ts.since(self.window.0) >= crate::base::time::secs(1) {
                self.window = (ctx.ts, 0);
            }
            self.window.1 += 1;
            if self.window.1 > FLOOD_PACKETS_PER_SECOND
                && !self.flooded
                && st.packets() >= FLOOD_MIN_PACKETS
                && !is_video(pt, clock)
            {
                self.flooded = true;
                return Seen::Flood {
                    ssrc: info.ssrc,
                    packets: st.packets(),
                    in_last_second: self.window.1,
                    since: self.ctx.ts,
                };
            }
            return Seen::Counted;
        }
        match self.pending {
            Some((t0, first))
                if info.seq == first.seq.wrapping_add(1)
                    && info.timestamp.wrapping_sub(first.timestamp) < 1 << 24 =>
            {
                let mut st = Box::new(StreamStats::new());
                st.on_packet(t0, &first, None);
                st.on_packet(ctx.ts, info, None);
                self.evidence.on_payload(info.payload_type & 0x7f, payload);
                self.stats = Some(st);
                self.pending = None;
                self.ctx.ts = t0;
                counters.streams += 1;
                Seen::Started {
                    ssrc: info.ssrc,
                    payload_type: first.payload_type & 0x7f,
                    announced: false,
                }
            }
            _ => {
                self.pending = Some((ctx.ts, *info));
                self.ctx = PacketCtx {
                    ts: ctx.ts,
                    ..self.ctx
                };
                Seen::Candidate
            }
        }
    }
}

/// A video payload: a 90 kHz clock, or a static video payload type (RFC 3551).
fn is_video(pt: u8, clock: Option<u32>) -> bool {
    clock == Some(90_000) || matches!(pt, 25 | 26 | 28 | 31 | 32 | 33 | 34)
}

/// What a packet did to the table.
pub enum Seen {
    /// This packet made the stream a flood: more than [`FLOOD_PACKETS_PER_SECOND`] in the last
    /// second, [`FLOOD_MIN_PACKETS`] or more in all (reported once per stream, as it happens).
    Flood {
        ssrc: u32,
        packets: u64,
        in_last_second: u32,
        /// The stream's first packet.
        since: Ts,
    },
    /// A stream began (announced, or confirmed by its second packet).
    Started {
        ssrc: u32,
        payload_type: u8,
        announced: bool,
    },
    Counted,
    Candidate,
}

pub struct Streams {
    cfg: StreamConfig,
    map: FastMap<StreamKey, Stream>,
    pub counters: StreamCounters,
}

impl Streams {
    pub fn new(cfg: StreamConfig) -> Streams {
        Streams {
            cfg,
            map: FastMap::default(),
            counters: StreamCounters::default(),
        }
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Take one RTP packet (`payload`: the RTP payload, headers and padding removed).
    /// `expect` looks up the SDP expectation; it is called only for a stream's first packet,
    /// so a known stream costs one hash lookup.
    #[allow(clippy::too_many_arguments)]
    pub fn on_packet<'e>(
        &mut self,
        key: StreamKey,
        ctx: &PacketCtx,
        info: &RtpInfo,
        payload: &[u8],
        expect: impl FnOnce() -> Option<&'e MediaExpect>,
        ended: &mut Vec<StreamEnd>,
    ) -> Seen {
        self.counters.rtp_packets += 1;
        if let Some(s) = self.map.get_mut(&key) {
            return s.on_packet(ctx, info, payload, &mut self.counters);
        }
        let expect = expect();
        if self.map.len() >= self.cfg.max_streams {
            self.evict_stalest(ended);
        }
        let announced = expect.is_some();
        let mut s = Stream {
            ctx: *ctx,
            window: (ctx.ts, 0),
            flooded: false,
            stats: None,
            evidence: Evidence::new(),
            pending: None,
            clocks: expect.map(|e| e.clocks.clone()).unwrap_or_default(),
            payload_type: info.payload_type & 0x7f,
            announced,
            last_ts: ctx.ts,
        };
        if announced {
            let mut st = Box::new(StreamStats::new());
            for pt in expect.map(|e| e.telephone_event.as_slice()).unwrap_or(&[]) {
                st.set_telephone_event_pt(*pt);
            }
            st.on_packet(ctx.ts, info, s.clock(info.payload_type));
            s.evidence.on_payload(info.payload_type & 0x7f, payload);
            s.stats = Some(st);
            self.map.insert(key, s);
            self.counters.streams += 1;
            self.counters.announced += 1;
            return Seen::Started {
                ssrc: info.ssrc,
                payload_type: info.payload_type & 0x7f,
                announced: true,
            };
        }
        s.pending = Some((ctx.ts, *info));
        s.evidence.on_payload(info.payload_type & 0x7f, payload);
        self.map.insert(key, s);
        Seen::Candidate
    }
    fn evict_stalest(&mut self, ended: &mut Vec<StreamEnd>) {
        // A sixty-fourth of the table at once (crate::base::evict): candidates first, then the stalest.
        let len = self.map.len();
        let stalest = crate::base::evict::oldest(self.map.iter(), len, |k, s| {
            (s.stats.is_some(), s.last_ts, k.order_key())
        });
        for k in stalest {
            if let Some(s) = self.map.remove(&k) {
                if s.stats.is_some() {
                    self.counters.evicted += 1;
                } else {
                    self.counters.candidates_dropped += 1;
                }
                if let Some(e) = end_of(k, s, EndReason::Evicted) {
                    ended.push(e);
                }
            }
        }
    }

    /// End the streams silent for longer than the timeout (all of them with `all`), in a stable order.
    pub fn expire(&mut self, now: Ts, all: bool, ended: &mut Vec<StreamEnd>) {
        let timeout = self.cfg.timeout_ns;
        let mut gone: Vec<StreamKey> = self
            .map
            .iter()
            .filter(|(_, s)| all || now.since(s.last_ts) >= timeout)
            .map(|(k, _)| *k)
            .collect();
        gone.sort_by_key(|k| k.order_key());
        let reason = if all {
            EndReason::CaptureEnd
        } else {
            EndReason::Timeout
        };
        for k in gone {
            if let Some(s) = self.map.remove(&k) {
                if s.stats.is_none() {
                    self.counters.candidates_dropped += 1;
                }
                if let Some(e) = end_of(k, s, reason) {
                    ended.push(e);
                }
            }
        }
    }
}

fn end_of(k: StreamKey, s: Stream, reason: EndReason) -> Option<StreamEnd> {
    let mut st = s.stats?;
    Some(StreamEnd {
        ctx: s.ctx,
        evidence: s.evidence,
        ssrc: k.ssrc,
        payload_type: s.payload_type,
        announced: s.announced,
        reason,
        summary: st.summary(),
        order_key: k.order_key(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::base::packet::Transport;
    use crate::flow::FlowKey;
    use crate::media::rtp::RtpInfo;
    use std::net::IpAddr;

    /// `n` packets of payload type `pt`, `gap_us` apart: the packet numbers (1-based) at which
    /// the table reported a flood.
    fn floods(n: u16, gap_us: u64, pt: u8) -> Vec<u16> {
        let (src, dst): (IpAddr, IpAddr) =
            ("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap());
        let (flow, forward) = FlowKey::new(src, 4000, dst, 5000, Transport::Udp, None);
        let key = StreamKey {
            flow,
            forward,
            ssrc: 7,
        };
        let mut t = Streams::new(StreamConfig::default());
        let mut out = Vec::new();
        for i in 0..n {
            let ctx = PacketCtx {
                ts: Ts(1_000_000_000 + u64::from(i) * gap_us * 1000),
                src,
                dst,
                sport: 4000,
                dport: 5000,
                transport: Transport::Udp,
                vlan: None,
                flow_id: 1,
                agent: None,
            };
            let info = RtpInfo {
                ssrc: 7,
                seq: i,
                timestamp: u32::from(i) * 160,
                payload_type: pt,
                marker: false,
                csrc_count: 0,
                extension: None,
                padding: 0,
                header_len: 12,
                payload_len: 160,
            };
            let mut ended = Vec::new();
            if let Seen::Flood { packets, .. } =
                t.on_packet(key, &ctx, &info, &[0x55; 160], || None, &mut ended)
            {
                assert_eq!(packets, u64::from(i) + 1);
                out.push(i + 1);
            }
        }
        out
    }

    #[test]
    fn a_stream_far_above_a_voice_rate_is_a_flood_once() {
        // 1,000 packets/s: a flood once 500 are sent, reported once.
        assert_eq!(floods(2000, 1000, 0), [500]);
        // 250 packets/s: 251 in some second once 500 are sent.
        assert_eq!(floods(1000, 4000, 8), [500]);
        // Voice at 10 ms and 20 ms frames, and 200/s exactly: never.
        assert!(floods(3000, 10_000, 0).is_empty());
        assert!(floods(3000, 20_000, 0).is_empty());
        assert!(floods(3000, 5000, 0).is_empty());
        // 1,000/s but only 499 packets: too short to matter.
        assert!(floods(499, 1000, 0).is_empty());
        // Video (static H.263, payload type 34) at 1,000/s: exempt.
        assert!(floods(2000, 1000, 34).is_empty());
    }
}
