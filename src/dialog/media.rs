//! RTP streams as records: the `rtp` record written when a stream ends, and the per-direction
//! summary a call record carries.

use serde::{Deserialize, Serialize};

use super::rtcp::RtcpView;
use crate::base::head::Head;
use crate::media::streams::StreamEnd;

/// The `rtp` object of an `rtp` record. Figures are Wireshark's (`tshark -z rtp,streams`):
/// `lost` is expected minus received and may be negative with duplicates.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RtpStream {
    /// SSRC as tshark prints it (`0x3796CB71`).
    pub ssrc: String,
    pub payload_type: u8,
    pub codec: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub call_id: Option<String>,
    /// An SDP announced this stream's endpoint (otherwise it was recognised by its packets).
    pub announced: bool,
    /// "timeout" (silence), "capture_end", "evicted" (table full).
    pub end_reason: String,
    pub start: crate::base::time::Stamp,
    pub end: crate::base::time::Stamp,
    pub duration: f64,
    pub packets: u64,
    pub bytes: u64,
    pub expected: i64,
    pub lost: i64,
    pub lost_ratio: f64,
    pub duplicates: u64,
    pub out_of_order: u64,
    pub seq_errors: u64,
    pub max_delta_ms: f64,
    pub mean_jitter_ms: f64,
    pub max_jitter_ms: f64,
    pub delta_p50_ms: f64,
    pub delta_p95_ms: f64,
    pub delta_p99_ms: f64,
    pub jitter_p50_ms: f64,
    pub jitter_p95_ms: f64,
    pub jitter_p99_ms: f64,
    pub markers: u64,
    pub pt_changes: u64,
    pub max_loss_burst: u64,
    pub telephone_events: u64,
    pub mos: f64,
    pub r_factor: f64,
    /// What the payload was on the wire, by evidence: "plaintext", "encrypted", "unknown".
    pub wire: String,
    /// What RTCP reported about this source, when any RTCP was seen.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub rtcp: Option<RtcpView>,
}

#[derive(Deserialize, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RtpRecord {
    #[serde(flatten)]
    pub head: Head,
    pub rtp: RtpStream,
}
crate::serialize_with_head!(RtpRecord { rtp });

/// One direction of a call's media, in the `call` record.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct MediaSummary {
    /// "caller_to_callee", "callee_to_caller", or "unknown".
    pub direction: String,
    pub src: String,
    pub dest: String,
    pub ssrc: String,
    pub codec: String,
    pub packets: u64,
    pub lost: i64,
    pub lost_ratio: f64,
    pub max_jitter_ms: f64,
    pub mean_jitter_ms: f64,
    pub mos: f64,
    /// What the packets were on the wire: "plaintext", "encrypted" (SRTP), or "unknown".
    pub wire: String,
    /// Why the stream ended: "timeout" (silence), "capture_end", "evicted".
    pub end_reason: String,
}

fn round3(x: f64) -> f64 {
    (x * 1e3).round() / 1e3
}

/// The record of an ended stream.
pub fn rtp_record(e: &StreamEnd, codec: String, call_id: Option<String>) -> RtpRecord {
    let s = &e.summary;
    RtpRecord {
        head: Head::at(s.first_ts, &e.ctx, "rtp"),
        rtp: RtpStream {
            ssrc: format!("0x{:08X}", e.ssrc),
            payload_type: e.payload_type,
            codec,
            call_id,
            announced: e.announced,
            end_reason: e.reason.as_str().to_string(),
            start: s.first_ts.into(),
            end: s.last_ts.into(),
            duration: (s.last_ts.since(s.first_ts) as f64 / 1e3).round() / 1e6,
            packets: s.packets,
            bytes: s.bytes,
            expected: s.expected,
            lost: s.lost,
            lost_ratio: round3(s.lost_ratio * 1e3) / 1e3,
            duplicates: s.duplicates,
            out_of_order: s.out_of_order,
            seq_errors: s.seq_errors,
            max_delta_ms: round3(s.max_delta_ms),
            mean_jitter_ms: round3(s.mean_jitter_ms),
            max_jitter_ms: round3(s.max_jitter_ms),
            delta_p50_ms: round3(s.delta_p50_ms),
            delta_p95_ms: round3(s.delta_p95_ms),
            delta_p99_ms: round3(s.delta_p99_ms),
            jitter_p50_ms: round3(s.jitter_p50_ms),
            jitter_p95_ms: round3(s.jitter_p95_ms),
            jitter_p99_ms: round3(s.jitter_p99_ms),
            markers: s.markers,
            pt_changes: s.pt_changes,
            max_loss_burst: s.max_loss_burst,
            telephone_events: s.telephone_events,
            mos: (s.mos * 100.0).round() / 100.0,
            r_factor: (s.r_factor * 10.0).round() / 10.0,
            wire: "unknown".to_string(),
            rtcp: None,
        },
    }
}

/// The call-record summary of an ended stream.
pub fn summary_of(r: &RtpRecord, direction: &str) -> MediaSummary {
    MediaSummary {
        direction: direction.to_string(),
        src: format!("{}:{}", r.head.src_ip, r.head.src_port),
        dest: format!("{}:{}", r.head.dest_ip, r.head.dest_port),
        ssrc: r.rtp.ssrc.clone(),
        codec: r.rtp.codec.clone(),
        packets: r.rtp.packets,
        lost: r.rtp.lost,
        lost_ratio: r.rtp.lost_ratio,
        max_jitter_ms: r.rtp.max_jitter_ms,
        mean_jitter_ms: r.rtp.mean_jitter_ms,
        mos: r.rtp.mos,
        wire: r.rtp.wire.clone(),
        end_reason: r.rtp.end_reason.clone(),
    }
}
