//! RTCP (RFC 3550 §6) compound packet parsing: SR, RR, SDES (CNAME), BYE, APP, and RTCP XR
//! (RFC 3611) with its VoIP Metrics block (BT = 7); plus round-trip time from LSR / DLSR.
//!
//! Parsing walks at most [`MAX_PACKETS`] packets, [`MAX_ITEMS`] report blocks / SDES chunks /
//! items / XR blocks per packet; every read is bounds-checked; a packet whose length field
//! overruns the datagram ends the walk.

use serde::Serialize;

use crate::base::time::Ts;

/// Most RTCP packets read from one compound datagram.
pub const MAX_PACKETS: usize = 32;
/// Most report blocks, SDES chunks / items, BYE sources or XR blocks read from one packet.
pub const MAX_ITEMS: usize = 32;

/// One reception report block (RFC 3550 §6.4.1).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ReportBlock {
    pub ssrc: u32,
    /// Fraction lost since the previous report, in 1/256.
    pub fraction_lost: u8,
    /// Cumulative number of packets lost (signed 24 bits).
    pub cumulative_lost: i32,
    pub ext_highest_seq: u32,
    /// Interarrival jitter in RTP timestamp units.
    pub jitter: u32,
    /// Middle 32 bits of the NTP timestamp of the last SR received (0: none).
    pub lsr: u32,
    /// Delay since that SR, in 1/65536 s.
    pub dlsr: u32,
}

/// Sender information of an SR.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct SenderInfo {
    pub ntp_msw: u32,
    pub ntp_lsw: u32,
    pub rtp_timestamp: u32,
    pub packet_count: u32,
    pub octet_count: u32,
}

impl SenderInfo {
    /// Middle 32 bits of the NTP timestamp: the value receivers echo as LSR.
    pub fn compact_ntp(&self) -> u32 {
        (self.ntp_msw << 16) | (self.ntp_lsw >> 16)
    }
}

/// RTCP XR VoIP Metrics report block (RFC 3611 §4.7).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct VoipMetrics {
    pub ssrc: u32,
    /// Fraction of packets lost, in 1/256.
    pub loss_rate: u8,
    /// Fraction discarded (late / early), in 1/256.
    pub discard_rate: u8,
    pub burst_density: u8,
    pub gap_density: u8,
    /// ms.
    pub burst_duration: u16,
    /// ms.
    pub gap_duration: u16,
    /// ms.
    pub round_trip_delay: u16,
    /// ms.
    pub end_system_delay: u16,
    pub signal_level: i8,
    pub noise_level: i8,
    pub rerl: u8,
    pub gmin: u8,
    /// 127 = unavailable.
    pub r_factor: u8,
    pub ext_r_factor: u8,
    /// MOS x 10, 127 = unavailable.
    pub mos_lq: u8,
    /// MOS x 10, 127 = unavailable.
    pub mos_cq: u8,
    pub rx_config: u8,
    pub jb_nominal: u16,
    pub jb_maximum: u16,
    pub jb_abs_max: u16,
}

/// One XR report block.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub enum XrBlock {
    VoipMetrics(VoipMetrics),
    Other { block_type: u8, len: usize },
}

/// One SDES chunk: the source and its CNAME if present.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct SdesChunk {
    pub ssrc: u32,
    pub cname: Option<String>,
}

/// One packet of a compound RTCP datagram.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub enum RtcpPacket {
    SenderReport {
        ssrc: u32,
        sender: SenderInfo,
        reports: Vec<ReportBlock>,
    },
    ReceiverReport {
        ssrc: u32,
        reports: Vec<ReportBlock>,
    },
    SourceDescription {
        chunks: Vec<SdesChunk>,
    },
    Bye {
        sources: Vec<u32>,
        reason: Option<String>,
    },
    App {
        subtype: u8,
        ssrc: u32,
        name: [u8; 4],
        data_len: usize,
    },
    ExtendedReport {
        ssrc: u32,
        blocks: Vec<XrBlock>,
    },
    /// RTPFB, PSFB and unknown types.
    Other {
        packet_type: u8,
        len: usize,
    },
}

fn be16(b: &[u8], at: usize) -> Option<u16> {
    let s = b.get(at..at.checked_add(2)?)?;
    Some(u16::from_be_bytes([s[0], s[1]]))
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    let s = b.get(at..at.checked_add(4)?)?;
    Some(u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
}

fn u8_at(b: &[u8], at: usize) -> Option<u8> {
    b.get(at).copied()
}

fn report_block(b: &[u8], at: usize) -> Option<ReportBlock> {
    let lost_word = be32(b, at + 4)?;
    let raw = lost_word & 0x00ff_ffff;
    // sign-extend 24 bits
    let cumulative_lost = ((raw << 8) as i32) >> 8;
    Some(ReportBlock {
        ssrc: be32(b, at)?,
        fraction_lost: (lost_word >> 24) as u8,
        cumulative_lost,
        ext_highest_seq: be32(b, at + 8)?,
        jitter: be32(b, at + 12)?,
        lsr: be32(b, at + 16)?,
        dlsr: be32(b, at + 20)?,
    })
}

fn report_blocks(body: &[u8], start: usize, count: u8) -> Vec<ReportBlock> {
    (0..usize::from(count).min(MAX_ITEMS))
        .map_while(|i| report_block(body, start + i * 24))
        .collect()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn sdes(body: &[u8], count: u8) -> Vec<SdesChunk> {
    let mut chunks = Vec::new();
    let mut at = 4; // after the common header
    for _ in 0..usize::from(count).min(MAX_ITEMS) {
        let Some(ssrc) = be32(body, at) else { break };
        at += 4;
        let mut chunk = SdesChunk { ssrc, cname: None };
        let mut items = 0;
        while let Some(t) = u8_at(body, at) {
            if t == 0 {
                at += 1;
                break;
            }
            let Some(len) = u8_at(body, at + 1) else {
                break;
            };
            let start = at + 2;
            let end = start + usize::from(len);
            let Some(value) = body.get(start..end) else {
                break;
            };
            if t == 1 && chunk.cname.is_none() {
                chunk.cname = Some(text(value));
            }
            at = end;
            items += 1;
            if items >= MAX_ITEMS {
                break;
            }
        }
        // chunks are 32-bit aligned
        at = at.div_ceil(4) * 4;
        chunks.push(chunk);
    }
    chunks
}

fn voip_metrics(b: &[u8], at: usize) -> Option<VoipMetrics> {
    Some(VoipMetrics {
        ssrc: be32(b, at)?,
        loss_rate: u8_at(b, at + 4)?,
        discard_rate: u8_at(b, at + 5)?,
        burst_density: u8_at(b, at + 6)?,
        gap_density: u8_at(b, at + 7)?,
        burst_duration: be16(b, at + 8)?,
        gap_duration: be16(b, at + 10)?,
        round_trip_delay: be16(b, at + 12)?,
        end_system_delay: be16(b, at + 14)?,
        signal_level: u8_at(b, at + 16)? as i8,
        noise_level: u8_at(b, at + 17)? as i8,
        rerl: u8_at(b, at + 18)?,
        gmin: u8_at(b, at + 19)?,
        r_factor: u8_at(b, at + 20)?,
        ext_r_factor: u8_at(b, at + 21)?,
        mos_lq: u8_at(b, at + 22)?,
        mos_cq: u8_at(b, at + 23)?,
        rx_config: u8_at(b, at + 24)?,
        jb_nominal: be16(b, at + 26)?,
        jb_maximum: be16(b, at + 28)?,
        jb_abs_max: be16(b, at + 30)?,
    })
}

fn xr_blocks(body: &[u8]) -> Vec<XrBlock> {
    let mut blocks = Vec::new();
    let mut at = 8;
    for _ in 0..MAX_ITEMS {
        let (Some(bt), Some(words)) = (u8_at(body, at), be16(body, at + 2)) else {
            break;
        };
        let len = 4 + usize::from(words) * 4;
        let Some(block) = body.get(at..at + len) else {
            break;
        };
        blocks.push(match bt {
            7 => match voip_metrics(block, 4) {
                Some(m) => XrBlock::VoipMetrics(m),
                None => XrBlock::Other {
                    block_type: bt,
                    len,
                },
            },
            _ => XrBlock::Other {
                block_type: bt,
                len,
            },
        });
        at += len;
    }
    blocks
}

/// Parse a compound RTCP datagram. Returns the packets read before the first malformed one
/// (empty when the first header is not RTCP version 2).
pub fn parse_rtcp(datagram: &[u8]) -> Vec<RtcpPacket> {
    let mut out = Vec::new();
    let mut at = 0usize;
    for _ in 0..MAX_PACKETS {
        let Some(b0) = u8_at(datagram, at) else { break };
        let (Some(pt), Some(words)) = (u8_at(datagram, at + 1), be16(datagram, at + 2)) else {
            break;
        };
        if b0 >> 6 != 2 {
            break;
        }
        let len = (usize::from(words) + 1) * 4;
        let Some(mut body) = datagram.get(at..at + len) else {
            break;
        };
        if b0 & 0x20 != 0 {
            // padding: last octet counts the padding bytes
            let pad = usize::from(*body.last().unwrap_or(&0));
            body = body.get(..len.saturating_sub(pad).max(4)).unwrap_or(body);
        }
        let count = b0 & 0x1f;
        let pkt = match pt {
            200 => {
                let sender = (|| {
                    Some(SenderInfo {
                        ntp_msw: be32(body, 8)?,
                        ntp_lsw: be32(body, 12)?,
                        rtp_timestamp: be32(body, 16)?,
                        packet_count: be32(body, 20)?,
                        octet_count: be32(body, 24)?,
                    })
                })();
                match (be32(body, 4), sender) {
                    (Some(ssrc), Some(sender)) => RtcpPacket::SenderReport {
                        ssrc,
                        sender,
                        reports: report_blocks(body, 28, count),
                    },
                    _ => break,
                }
            }
            201 => match be32(body, 4) {
                Some(ssrc) => RtcpPacket::ReceiverReport {
                    ssrc,
                    reports: report_blocks(body, 8, count),
                },
                None => break,
            },
            202 => RtcpPacket::SourceDescription {
                chunks: sdes(body, count),
            },
            203 => {
                let n = usize::from(count).min(MAX_ITEMS);
                let sources: Vec<u32> = (0..n).map_while(|i| be32(body, 4 + 4 * i)).collect();
                let r_at = 4 + 4 * sources.len();
                let reason = u8_at(body, r_at)
                    .and_then(|l| body.get(r_at + 1..r_at + 1 + usize::from(l)).map(text));
                RtcpPacket::Bye { sources, reason }
            }
            204 => match (be32(body, 4), body.get(8..12)) {
                (Some(ssrc), Some(n)) => RtcpPacket::App {
                    subtype: count,
                    ssrc,
                    name: [n[0], n[1], n[2], n[3]],
                    data_len: body.len().saturating_sub(12),
                },
                _ => break,
            },
            207 => match be32(body, 4) {
                Some(ssrc) => RtcpPacket::ExtendedReport {
                    ssrc,
                    blocks: xr_blocks(body),
                },
                None => break,
            },
            _ => RtcpPacket::Other {
                packet_type: pt,
                len,
            },
        };
        out.push(pkt);
        at += len;
    }
    out
}

/// Round trip from one report block as RFC 3550 §6.4.1 defines it:
/// `RTT = A - LSR - DLSR` in 1/65536 s, `A` the arrival time of the report in the same
/// compact NTP format (middle 32 bits). `None` when LSR is 0 (no SR received yet).
/// Returns milliseconds.
pub fn rtt_ms(arrival_compact_ntp: u32, lsr: u32, dlsr: u32) -> Option<f64> {
    if lsr == 0 {
        return None;
    }
    let units = arrival_compact_ntp.wrapping_sub(lsr).wrapping_sub(dlsr);
    // A value in the upper half is a negative round trip (clock skew): reject it.
    if units > 0x8000_0000 {
        return None;
    }
    Some(f64::from(units) * 1000.0 / 65536.0)
}

/// Capture time to 1/65536 s units (wrapping, only differences matter).
fn ts_units(t: Ts) -> u64 {
    ((u128::from(t.as_nanos()) << 16) / 1_000_000_000) as u64
}

/// Passive round-trip measurement: remembers when each SR was seen (a small fixed ring,
/// keyed by sender SSRC and the SR's compact NTP timestamp), and when a report block
/// echoes that SR as LSR, computes `RTT = arrival(RR) - arrival(SR) - DLSR`, all in
/// 1/65536 s and measured on the capture clock (so the sender's NTP clock need not be
/// synchronised with the sensor). This is the round trip between the sensor and the
/// reporting side.
#[derive(Clone, Debug, Default)]
pub struct RttTracker {
    ring: [(u32, u32, Ts); 16],
    next: usize,
}

impl RttTracker {
    pub fn new() -> Self {
        Self::default()
    }

    /// Feed every packet of a parsed compound datagram seen at `arrival`; returns the last
    /// round trip computed from its report blocks (ms).
    pub fn on_rtcp(&mut self, arrival: Ts, packets: &[RtcpPacket]) -> Option<f64> {
        let mut rtt = None;
        for p in packets {
            let reports = match p {
                RtcpPacket::SenderReport {
                    ssrc,
                    sender,
                    reports,
                } => {
                    let slot = self.next % self.ring.len();
                    self.ring[slot] = (*ssrc, sender.compact_ntp(), arrival);
                    self.next = self.next.wrapping_add(1);
                    reports
                }
                RtcpPacket::ReceiverReport { reports, .. } => reports,
                _ => continue,
            };
            for rb in reports {
                if let Some(r) = self.rtt_for(arrival, rb) {
                    rtt = Some(r);
                }
            }
        }
        rtt
    }

    /// Round trip (ms) for one report block if the SR it echoes was seen.
    pub fn rtt_for(&self, arrival: Ts, rb: &ReportBlock) -> Option<f64> {
        if rb.lsr == 0 {
            return None;
        }
        let &(_, _, sr_at) = self
            .ring
            .iter()
            .find(|(ssrc, lsr, t)| *ssrc == rb.ssrc && *lsr == rb.lsr && *t != Ts::ZERO)?;
        let elapsed = ts_units(arrival).checked_sub(ts_units(sr_at))?;
        let units = elapsed.checked_sub(u64::from(rb.dlsr))?;
        Some(units as f64 * 1000.0 / 65536.0)
    }
}
