//! RTP and RTCP: header parsing, a stream's statistics fed with fuzzed packets and arrival
//! times (loss, jitter, MOS), the plaintext/encrypted evidence, and compound RTCP with the
//! round-trip tracker.
#![no_main]

use fuzz_common::{header, records, timed};
use libfuzzer_sys::fuzz_target;
use voip_sentinel::base::time::Ts;
use voip_sentinel::media::evidence::Evidence;
use voip_sentinel::media::rtp::{
    classify, parse_rtcp, parse_rtp, Codec, CodecImpairment, RtcpPacket, RtpInfo, RttTracker,
    StreamStats,
};

// Input: records (see `fuzz_common::records`). The first is the stream's setup: option bits
// (1: a clock rate, 2: a telephone-event payload type, 4: a frame size hint), the clock rate
// (`u32` BE), the telephone-event type, the hint (`u16` BE), the RTT in ms (`u16` BE), then
// the SDP encoding name (`PCMU/8000`). The others are packets: kind (even: RTP, odd: RTCP;
// bit 1: arrival goes backwards), gap to the previous arrival in microseconds (`u16` BE), bytes.
fuzz_target!(|data: &[u8]| {
    let mut recs = records(data);
    let ([opts, c0, c1, c2, c3, te, h0, h1, r0, r1], enc) =
        header::<10>(recs.next().unwrap_or_default());
    let clock_rate = (opts & 1 != 0).then_some(u32::from_be_bytes([c0, c1, c2, c3]));
    let hint = (opts & 4 != 0).then_some(usize::from(u16::from_be_bytes([h0, h1])));
    let encoding = String::from_utf8_lossy(enc);
    let mut stats = StreamStats::new();
    let mut evidence = Evidence::new();
    let mut rtt = RttTracker::new();
    if opts & 2 != 0 {
        stats.set_telephone_event_pt(te);
    }
    stats.set_impairment(CodecImpairment::for_encoding(&encoding));
    stats.set_rtt_ms(f64::from(u16::from_be_bytes([r0, r1])));
    let mut now: u64 = 1_700_000_000_000_000_000;
    for rec in recs {
        let ([kind, g0, g1], bytes) = header::<3>(rec);
        let step = u64::from(u16::from_be_bytes([g0, g1])) * 1_000;
        now = if kind & 2 != 0 {
            now.saturating_sub(step)
        } else {
            now.saturating_add(step)
        };
        if kind & 1 == 1 {
            rtcp(&mut rtt, Ts(now), bytes);
            continue;
        }
        let _ = classify(bytes);
        let Some(info) = parse_rtp(bytes) else {
            continue;
        };
        check_header(&info, bytes);
        let payload = &bytes[info.header_len..info.header_len + info.payload_len];
        stats.on_packet(Ts(now), &info, clock_rate);
        evidence.on_payload(info.payload_type & 0x7f, payload);
        let _ = (
            stats.packets(),
            stats.expected(),
            stats.lost(),
            stats.jitter_ms(),
        );
    }
    let s = stats.summary();
    let _ = (
        stats.max_delta_ms(),
        stats.max_jitter_ms(),
        stats.mean_jitter_ms(),
        s,
    );
    let _ = (
        evidence.packets(),
        evidence.entropy_bits(),
        evidence.chi_z(),
    );
    let codec = (!encoding.is_empty()).then_some(&*encoding);
    let _ = evidence.verdict_detail(codec, hint);
    if let Some(c) = Codec::parse_rtpmap(&encoding) {
        let _ = c.impairment();
    }
});

/// One compound RTCP datagram: parsed twice (deterministic), then the RTT tracker.
fn rtcp(rtt: &mut RttTracker, at: Ts, d: &[u8]) {
    {
        let packets = timed("parse_rtcp", d.len(), || parse_rtcp(d));
        assert_eq!(packets, parse_rtcp(d), "parse_rtcp is not deterministic");
        // Every packet takes at least a 4-byte header.
        assert!(
            packets.len() <= d.len() / 4,
            "{} packets from {} bytes",
            packets.len(),
            d.len()
        );
        if let Some(ms) = rtt.on_rtcp(at, &packets) {
            assert!(ms.is_finite() && ms >= 0.0, "rtt {ms}");
        }
        for p in &packets {
            if let RtcpPacket::SenderReport {
                reports, sender, ..
            } = p
            {
                let _ = sender.compact_ntp();
                for rb in reports {
                    let _ = rtt.rtt_for(at, rb);
                }
            }
        }
    }
}

/// The header's lengths stay inside the packet.
fn check_header(info: &RtpInfo, bytes: &[u8]) {
    assert!(info.header_len >= 12, "header_len {}", info.header_len);
    // The P bit announces at least one byte of padding (RFC 3550 §5.1).
    assert!(
        bytes[0] & 0x20 == 0 || info.padding >= 1,
        "P bit with a zero padding count"
    );
    let end = info.header_len + info.payload_len + usize::from(info.padding);
    assert_eq!(
        end,
        bytes.len(),
        "header {} + payload {} + padding {} != {}",
        info.header_len,
        info.payload_len,
        info.padding,
        bytes.len()
    );
}
