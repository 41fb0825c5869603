//! What RTCP says about each RTP source, gathered in capture order by the correlator and given
//! to the source's `rtp` record when the stream ends: sender reports, the receiver's view (loss,
//! jitter), round-trip time from LSR/DLSR, CNAME, BYE, and RTCP XR VoIP metrics.

use crate::base::fasthash::FastMap;

use serde::{Deserialize, Serialize};

use crate::base::time::Ts;
use crate::media::rtp::rtcp::{RtcpPacket, XrBlock};

/// The `rtcp` object of an `rtp` record.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Default)]
#[serde(deny_unknown_fields)]
pub struct RtcpView {
    pub sender_reports: u32,
    pub receiver_reports: u32,
    /// Packets the sender says it sent (last SR).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub sender_packets: Option<u32>,
    /// Last fraction lost the receiver reported, 0..1.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub fraction_lost: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub cumulative_lost: Option<i32>,
    /// Largest interarrival jitter the receiver reported, ms.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub max_jitter_ms: Option<f64>,
    /// Round trip between the sensor and the receiver, from LSR/DLSR (largest seen), ms.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub rtt_ms: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub cname: Option<String>,
    #[serde(skip_serializing_if = "std::ops::Not::not", default)]
    pub bye: bool,
    /// RTCP XR VoIP metrics (RFC 3611 4.7) of the receiver: MOS-LQ (x10 on the wire), R factor.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub xr_mos_lq: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub xr_r_factor: Option<u8>,
}

#[derive(Default)]
struct Source {
    view: RtcpView,
    /// Largest jitter reported, in RTP timestamp units (converted with the stream's clock).
    max_jitter_units: Option<u32>,
    last_sr: Option<(u32, Ts)>,
    last_seen: Ts,
}

/// RTCP facts by SSRC; bounded.
pub struct RtcpTable {
    map: FastMap<u32, Source>,
    max: usize,
    pub evicted: u64,
    pub packets: u64,
}

impl RtcpTable {
    pub fn new(max: usize) -> RtcpTable {
        RtcpTable {
            map: FastMap::default(),
            max,
            evicted: 0,
            packets: 0,
        }
    }

    /// Sources tracked, and the cap.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    pub fn max(&self) -> usize {
        self.max
    }

    fn source(&mut self, ssrc: u32, now: Ts) -> &mut Source {
        if !self.map.contains_key(&ssrc) && self.map.len() >= self.max {
            let len = self.map.len();
            for old in crate::base::evict::oldest(self.map.iter(), len, |k, s| (s.last_seen, *k)) {
                self.map.remove(&old);
                self.evicted += 1;
            }
        }
        let s = self.map.entry(ssrc).or_default();
        s.last_seen = now;
        s
    }

    /// Take one compound RTCP datagram seen at `now`.
    pub fn on_packets(&mut self, now: Ts, packets: &[RtcpPacket]) {
        self.packets += 1;
        for p in packets {
            match p {
                RtcpPacket::SenderReport {
                    ssrc,
                    sender,
                    reports,
                } => {
                    let s = self.source(*ssrc, now);
                    s.view.sender_reports += 1;
                    s.view.sender_packets = Some(sender.packet_count);
                    s.last_sr = Some((sender.compact_ntp(), now));
                    self.reports(now, reports);
                }
                RtcpPacket::ReceiverReport { reports, .. } => self.reports(now, reports),
                RtcpPacket::SourceDescription { chunks } => {
                    for c in chunks {
                        if let Some(name) = &c.cname {
                            let s = self.source(c.ssrc, now);
                            s.view.cname = Some(crate::dialog::msg::clip(name, 255));
                        }
                    }
                }
                RtcpPacket::Bye { sources, .. } => {
                    for ssrc in sources {
                        self.source(*ssrc, now).view.bye = true;
                    }
                }
                RtcpPacket::ExtendedReport { blocks, .. } => {
                    for b in blocks {
                        if let XrBlock::VoipMetrics(m) = b {
                            let s = self.source(m.ssrc, now);
                            if m.mos_lq != 127 {
                                s.view.xr_mos_lq = Some(f64::from(m.mos_lq) / 10.0);
                            }
                            if m.r_factor != 127 {
                                s.view.xr_r_factor = Some(m.r_factor);
                            }
                        }
                    }
                }
                _ => {}
            }
        }
    }

    fn reports(&mut self, now: Ts, reports: &[crate::media::rtp::rtcp::ReportBlock]) {
        for rb in reports {
            let s = self.source(rb.ssrc, now);
            s.view.receiver_reports += 1;
            s.view.fraction_lost = Some(f64::from(rb.fraction_lost) / 256.0);
            s.view.cumulative_lost = Some(rb.cumulative_lost);
            s.max_jitter_units = Some(s.max_jitter_units.unwrap_or(0).max(rb.jitter));
            if let Some((ntp, at)) = s.last_sr {
                if rb.lsr != 0 && rb.lsr == ntp {
                    // Both times on the capture clock, DLSR in 1/65536 s.
                    let elapsed = now.since(at) as f64 / 1e6;
                    let rtt = elapsed - f64::from(rb.dlsr) * 1000.0 / 65536.0;
                    if rtt >= 0.0 {
                        let r = (rtt * 1e3).round() / 1e3;
                        s.view.rtt_ms = Some(s.view.rtt_ms.map_or(r, |x: f64| x.max(r)));
                    }
                }
            }
        }
    }

    /// What RTCP said about `ssrc`, for its record (jitter converted with `clock_rate`).
    pub fn take(&mut self, ssrc: u32, clock_rate: u32) -> Option<RtcpView> {
        let s = self.map.remove(&ssrc)?;
        let mut v = s.view;
        if let (Some(units), true) = (s.max_jitter_units, clock_rate > 0) {
            v.max_jitter_ms =
                Some((f64::from(units) * 1000.0 / f64::from(clock_rate) * 1e3).round() / 1e3);
        }
        Some(v)
    }

    /// Forget sources silent for longer than `idle_ns`.
    pub fn expire(&mut self, now: Ts, idle_ns: u64) {
        self.map.retain(|_, s| now.since(s.last_seen) < idle_ns);
    }
}
