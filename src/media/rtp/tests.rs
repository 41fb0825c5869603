use proptest::prelude::*;

use super::codec::{is_telephone_event, wireshark_dynamic_clock, wireshark_static_clock};
use super::mos::{self, CodecImpairment};
use super::rtcp::{self, parse_rtcp, RtcpPacket, RttTracker, XrBlock};
use super::*;
use crate::base::time::Ts;

fn rtp(pt: u8, marker: bool, seq: u16, ts: u32, ssrc: u32, payload: &[u8]) -> Vec<u8> {
    let mut v = vec![0x80, pt | if marker { 0x80 } else { 0 }];
    v.extend_from_slice(&seq.to_be_bytes());
    v.extend_from_slice(&ts.to_be_bytes());
    v.extend_from_slice(&ssrc.to_be_bytes());
    v.extend_from_slice(payload);
    v
}

fn info(pt: u8, marker: bool, seq: u16, ts: u32) -> RtpInfo {
    RtpInfo {
        ssrc: 1,
        seq,
        timestamp: ts,
        payload_type: pt,
        marker,
        payload_len: 160,
        header_len: 12,
        ..RtpInfo::default()
    }
}

fn ms(x: f64) -> Ts {
    Ts(1_700_000_000_000_000_000 + (x * 1e6) as u64)
}

/// Feed (arrival ms, seq, ts) triples of PCMA (PT 8).
fn feed(pkts: &[(f64, u16, u32)]) -> StreamStats {
    let mut s = StreamStats::new();
    for &(t, seq, ts) in pkts {
        s.on_packet(ms(t), &info(8, false, seq, ts), None);
    }
    s
}

fn regular(n: usize, seq0: u16, ts0: u32) -> Vec<(f64, u16, u32)> {
    (0..n)
        .map(|i| {
            (
                i as f64 * 20.0,
                seq0.wrapping_add(i as u16),
                ts0.wrapping_add(160 * i as u32),
            )
        })
        .collect()
}

// ---------------------------------------------------------------- header / classify

#[test]
fn parses_basic_header() {
    let p = rtp(8, true, 1234, 5678, 0xdead_beef, &[0u8; 160]);
    let i = parse_rtp(&p).unwrap();
    assert_eq!(i.ssrc, 0xdead_beef);
    assert_eq!(i.seq, 1234);
    assert_eq!(i.timestamp, 5678);
    assert_eq!(i.payload_type, 8);
    assert!(i.marker);
    assert_eq!(i.header_len, 12);
    assert_eq!(i.payload_len, 160);
    assert_eq!(i.padding, 0);
}

#[test]
fn skips_csrcs_and_extension_and_padding() {
    let mut p = vec![0x80 | 0x20 | 0x10 | 2, 96];
    p.extend_from_slice(&[0, 1, 0, 0, 0, 2, 0, 0, 0, 3]);
    p.extend_from_slice(&[0, 0, 0, 4, 0, 0, 0, 5]); // 2 CSRCs
    p.extend_from_slice(&[0xbe, 0xde, 0, 1, 1, 2, 3, 4]); // extension, 1 word
    p.extend_from_slice(&[9; 10]); // payload
    p.extend_from_slice(&[0, 0, 3]); // 3 bytes padding
    let i = parse_rtp(&p).unwrap();
    assert_eq!(i.csrc_count, 2);
    assert_eq!(i.extension, Some(0xbede));
    assert_eq!(i.header_len, 12 + 8 + 8);
    assert_eq!(i.padding, 3);
    assert_eq!(i.payload_len, 10);
    assert_eq!(i.ssrc, 3);
}

#[test]
fn rejects_bad_headers() {
    assert!(parse_rtp(&[]).is_none());
    assert!(parse_rtp(&[0x80; 11]).is_none());
    let mut v1 = rtp(0, false, 1, 1, 1, &[1, 2]);
    v1[0] = 0x40;
    assert!(parse_rtp(&v1).is_none());
    // 3 CSRCs announced, none present
    let mut c = rtp(0, false, 1, 1, 1, &[]);
    c[0] = 0x83;
    assert!(parse_rtp(&c).is_none());
    // padding count 0, and padding longer than the payload
    let mut p0 = rtp(0, false, 1, 1, 1, &[1, 0]);
    p0[0] |= 0x20;
    assert!(parse_rtp(&p0).is_none());
    let mut p9 = rtp(0, false, 1, 1, 1, &[1, 9]);
    p9[0] |= 0x20;
    assert!(parse_rtp(&p9).is_none());
    // extension header announcing more words than present
    let mut e = rtp(0, false, 1, 1, 1, &[0xbe, 0xde, 0, 9]);
    e[0] |= 0x10;
    assert!(parse_rtp(&e).is_none());
}

#[test]
fn classifies_rfc7983() {
    let mut stun = vec![0u8, 1, 0, 0, 0x21, 0x12, 0xa4, 0x42];
    stun.extend_from_slice(&[0; 12]);
    assert_eq!(classify(&stun), Kind::Stun);
    assert_eq!(classify(&[0x10, 0, 0, 0]), Kind::Zrtp);
    assert_eq!(classify(&[22, 0xfe, 0xfd]), Kind::Dtls);
    assert_eq!(classify(&rtp(0, false, 1, 1, 1, &[0; 4])), Kind::Rtp);
    // PT 72 with marker = 200: RTCP SR per RFC 5761
    assert_eq!(classify(&[0x80, 200, 0, 6, 0, 0, 0, 1]), Kind::Rtcp);
    assert_eq!(classify(&[0x81, 201, 0, 1, 0, 0, 0, 1]), Kind::Rtcp);
    assert_eq!(classify(&[0x80, 207, 0, 1, 0, 0, 0, 1]), Kind::Rtcp);
    // PT 72 without marker is RTP
    assert_eq!(classify(&rtp(72, false, 1, 1, 1, &[])), Kind::Rtp);
    assert_eq!(classify(&[70, 0, 0, 0]), Kind::Other); // TURN channel
    assert_eq!(classify(&[]), Kind::Other);
    assert_eq!(classify(&[0x80, 0]), Kind::Other);
    assert_eq!(classify(b"INVITE sip:a@b SIP/2.0"), Kind::Other);
}

// ---------------------------------------------------------------- codec

#[test]
fn codec_tables() {
    let pcmu = Codec::from_static_pt(0).unwrap();
    assert_eq!((pcmu.name.as_ref(), pcmu.clock_rate), ("PCMU", 8000));
    assert_eq!(Codec::from_static_pt(9).unwrap().clock_rate, 8000); // G722 quirk
    assert_eq!(Codec::from_static_pt(10).unwrap().channels, 2);
    assert!(Codec::from_static_pt(13).unwrap().comfort_noise);
    assert!(Codec::from_static_pt(96).is_none());
    assert!(Codec::from_static_pt(20).is_none());
    let te = Codec::from_rtpmap("telephone-event", 8000);
    assert!(te.telephone_event);
    assert!(is_telephone_event("TELEPHONE-EVENT"));
    let opus = Codec::parse_rtpmap("opus/48000/2").unwrap();
    assert_eq!(
        (opus.name.as_ref(), opus.clock_rate, opus.channels),
        ("opus", 48000, 2)
    );
    assert_eq!(Codec::from_rtpmap("AMR-WB", 0).clock_rate, 16000);
    assert_eq!(Codec::from_rtpmap("weird", 0).clock_rate, 8000);
    assert!(Codec::parse_rtpmap("PCMU").is_none());
    assert!(Codec::parse_rtpmap("/8000").is_none());
    assert_eq!(wireshark_static_clock(34), 90000);
    assert_eq!(wireshark_static_clock(35), 0);
    assert_eq!(wireshark_dynamic_clock("AMR-WB"), 16000);
    assert_eq!(wireshark_dynamic_clock("AMR"), 8000);
    assert_eq!(wireshark_dynamic_clock("EVRCWB0"), 16000);
    assert_eq!(wireshark_dynamic_clock("unknown"), 0);
    assert_eq!(
        Codec::from_rtpmap("G729", 8000).impairment(),
        CodecImpairment::G729A
    );
}

// ---------------------------------------------------------------- stream statistics

#[test]
fn perfect_stream() {
    let s = feed(&regular(100, 1000, 0)).summary();
    assert_eq!(s.packets, 100);
    assert_eq!(s.expected, 100);
    assert_eq!(s.lost, 0);
    assert_eq!(s.lost_rfc3550, 0);
    assert_eq!(s.seq_errors, 0);
    assert!((s.max_delta_ms - 20.0).abs() < 1e-9);
    assert!((s.min_delta_ms - 20.0).abs() < 1e-9);
    assert_eq!(s.max_jitter_ms, 0.0);
    assert_eq!(s.mean_jitter_ms, 0.0);
    assert_eq!(s.clock_rate, 8000);
    assert_eq!(s.bytes, 16000);
    assert!((s.delta_p50_ms - 20.0).abs() < 0.2);
    assert!((s.r_factor - 93.2).abs() < 1e-9);
    assert!(s.mos > 4.3 && s.mos < 4.5);
}

#[test]
fn sequence_wrap_at_65535() {
    let s = feed(&regular(20, 65530, 4_294_967_000)).summary();
    assert_eq!(s.expected, 20);
    assert_eq!(s.lost, 0);
    assert_eq!(s.seq_errors, 0);
    assert_eq!(s.lost_rfc3550, 0);
    assert_eq!(s.max_jitter_ms, 0.0, "timestamp wrap is unwrapped too");
    // several cycles
    let s = feed(&regular(200_000, 0, 0)).summary();
    assert_eq!(s.expected, 200_000);
    assert_eq!(s.lost, 0);
}

#[test]
fn wrap_with_loss_across_zero() {
    let mut p = regular(10, 65530, 0);
    p.retain(|&(_, seq, _)| seq != 65535 && seq != 0);
    let s = feed(&p).summary();
    assert_eq!(s.expected, 10);
    assert_eq!(s.lost, 2);
    assert_eq!(s.lost_rfc3550, 2);
    assert_eq!(s.max_loss_burst, 2);
}

#[test]
fn loss_burst() {
    let mut p = regular(30, 100, 0);
    p.retain(|&(_, seq, _)| !(110..115).contains(&seq));
    p.retain(|&(_, seq, _)| seq != 120);
    let s = feed(&p).summary();
    assert_eq!(s.packets, 24);
    assert_eq!(s.lost, 6);
    assert_eq!(s.max_loss_burst, 5);
    assert_eq!(s.seq_errors, 2);
    assert!((s.lost_ratio - 0.2).abs() < 1e-9);
    assert!((s.max_delta_ms - 120.0).abs() < 1e-9);
    assert_eq!(s.max_delta_packet, 11);
}

#[test]
fn duplicates_make_lost_negative() {
    let mut p = regular(10, 1, 0);
    p.insert(5, (p[4].0 + 1.0, p[4].1, p[4].2));
    let s = feed(&p).summary();
    assert_eq!(s.packets, 11);
    assert_eq!(s.duplicates, 1);
    assert_eq!(s.lost, -1);
    assert_eq!(s.lost_rfc3550, -1);
    assert_eq!(s.seq_errors, 1);
}

#[test]
fn reordering() {
    // 1 2 4 3 5: the late packet has an older timestamp (wrong timestamp)
    let p = [
        (0.0, 1, 0),
        (20.0, 2, 160),
        (40.0, 4, 480),
        (41.0, 3, 320),
        (60.0, 5, 640),
    ];
    let s = feed(&p).summary();
    assert_eq!(s.out_of_order, 1);
    assert_eq!(s.duplicates, 0);
    assert_eq!(s.expected, 5);
    assert_eq!(s.lost, 0);
    assert_eq!(s.lost_rfc3550, 0);
    // 2->4 jump and 3 late both count as sequence errors in Wireshark
    assert_eq!(s.seq_errors, 2);
    assert_eq!(s.max_loss_burst, 1);
    // a reordered last packet: Wireshark's stop_seq is the last received
    let s = feed(&[(0.0, 1, 0), (20.0, 3, 320), (21.0, 2, 160)]).summary();
    assert_eq!(s.expected, 2);
    assert_eq!(s.lost, -1);
    assert_eq!(s.lost_rfc3550, 0);
}

#[test]
fn jitter_arithmetic_matches_rfc3550_a8() {
    // packet 2 is 5 ms late, packet 3 on time again
    let mut s = feed(&[(0.0, 1, 0), (25.0, 2, 160), (40.0, 3, 320)]);
    // D2 = 5 -> J = 5/16; D3 = |40 - (25 + 20)| = 5 -> J = (15*5/16 + 5)/16
    let j2 = 5.0 / 16.0;
    let j3 = (15.0 * j2 + 5.0) / 16.0;
    let sum = s.summary();
    assert!((sum.max_jitter_ms - j3).abs() < 1e-12);
    // mean over n-1 gaps weighted by all packets before: (j2*1 + j3)/2
    assert!((sum.mean_jitter_ms - (j2 + j3) / 2.0).abs() < 1e-12);
    assert!((sum.max_delta_ms - 25.0).abs() < 1e-9);
    assert!((sum.min_delta_ms - 15.0).abs() < 1e-9);
}

#[test]
fn clock_rates() {
    // dynamic PT at 16 kHz: 320 ticks = 20 ms
    let mut s = StreamStats::new();
    for i in 0..10u16 {
        s.on_packet(
            ms(f64::from(i) * 20.0),
            &info(96, false, i, u32::from(i) * 320),
            Some(16000),
        );
    }
    assert_eq!(s.summary().max_jitter_ms, 0.0);
    assert_eq!(s.summary().clock_rate, 16000);
    // the same stream read at 8 kHz looks jittery
    let mut s = StreamStats::new();
    for i in 0..10u16 {
        s.on_packet(
            ms(f64::from(i) * 20.0),
            &info(96, false, i, u32::from(i) * 320),
            Some(8000),
        );
    }
    assert!(s.summary().max_jitter_ms > 1.0);
    // unknown dynamic rate: deltas but no jitter
    let mut s = StreamStats::new();
    for i in 0..10u16 {
        s.on_packet(ms(f64::from(i) * 30.0), &info(111, false, i, 0), None);
    }
    let sum = s.summary();
    assert!((sum.max_delta_ms - 30.0).abs() < 1e-9);
    assert_eq!(sum.max_jitter_ms, 0.0);
    assert_eq!(sum.min_jitter_ms, -1.0);
    // static PT ignores the caller's rate (Wireshark uses its table): PT 34 H263 90 kHz
    let mut s = StreamStats::new();
    for i in 0..10u16 {
        s.on_packet(
            ms(f64::from(i) * 40.0),
            &info(34, false, i, u32::from(i) * 3600),
            Some(8000),
        );
    }
    assert_eq!(s.summary().max_jitter_ms, 0.0);
    // clock below 1 kHz: integer division gives 0, treated as unknown
    let mut s = StreamStats::new();
    for i in 0..5u16 {
        s.on_packet(ms(f64::from(i) * 20.0), &info(100, false, i, 0), Some(500));
    }
    assert_eq!(s.summary().max_jitter_ms, 0.0);
}

#[test]
fn telephone_events_are_counted_and_excluded_from_jitter() {
    let mut s = StreamStats::new();
    s.set_telephone_event_pt(101);
    s.set_telephone_event_pt(5); // ignored: not dynamic
    let mut t = 0.0;
    for i in 0..10u16 {
        s.on_packet(ms(t), &info(101, i == 0, i, 8000), Some(8000));
        t += 20.0;
    }
    let sum = s.summary();
    assert_eq!(sum.telephone_events, 10);
    assert_eq!(sum.max_jitter_ms, 0.0);
    assert_eq!(sum.mean_jitter_ms, 0.0);
    assert!((sum.max_delta_ms - 20.0).abs() < 1e-9);
    assert_eq!(sum.markers, 1);
}

#[test]
fn markers_and_comfort_noise_are_not_regular() {
    let mut s = StreamStats::new();
    s.on_packet(ms(0.0), &info(8, false, 1, 0), None);
    s.on_packet(ms(20.0), &info(8, false, 2, 160), None);
    // silence: 500 ms gap, then a marker packet
    s.on_packet(ms(520.0), &info(8, true, 3, 4160), None);
    s.on_packet(ms(540.0), &info(13, false, 4, 4320), None); // CN
    s.on_packet(ms(900.0), &info(8, false, 5, 4480), None); // follows CN
    s.on_packet(ms(920.0), &info(8, false, 6, 4640), None);
    let sum = s.summary();
    assert!((sum.max_delta_ms - 20.0).abs() < 1e-9, "{sum:?}");
    assert_eq!(sum.markers, 1);
    assert_eq!(sum.pt_changes, 2);
    assert_eq!(sum.lost, 0);
}

#[test]
fn summary_serializes_snake_case() {
    let s = feed(&regular(5, 1, 0)).summary();
    let v = serde_json::to_value(&s).unwrap();
    for k in [
        "packets",
        "bytes",
        "expected",
        "lost",
        "lost_ratio",
        "duplicates",
        "out_of_order",
        "seq_errors",
        "max_delta_ms",
        "mean_jitter_ms",
        "max_jitter_ms",
        "delta_p50_ms",
        "delta_p95_ms",
        "delta_p99_ms",
        "jitter_p50_ms",
        "jitter_p95_ms",
        "jitter_p99_ms",
        "markers",
        "pt_changes",
        "max_loss_burst",
        "telephone_events",
        "mos",
        "r_factor",
        "first_ts",
        "last_ts",
    ] {
        assert!(v.get(k).is_some(), "missing {k}");
    }
    assert_eq!(v["first_ts"].as_u64(), Some(ms(0.0).as_nanos()));
    assert_eq!(v["last_ts"].as_u64(), Some(ms(80.0).as_nanos()));
}

#[test]
fn empty_stream_summary() {
    let s = StreamStats::new().summary();
    assert_eq!(s.packets, 0);
    assert_eq!(s.expected, 0);
    assert_eq!(s.lost, 0);
    assert_eq!(s.lost_ratio, 0.0);
}

// ---------------------------------------------------------------- MOS

#[test]
fn e_model() {
    let g711 = mos::estimate(CodecImpairment::G711, 0.0, 0.0, None);
    assert!((g711.r_factor - 93.2).abs() < 1e-9);
    assert!((g711.mos - 4.409).abs() < 0.01);
    let lossy = mos::estimate(CodecImpairment::G711, 5.0, 0.0, None);
    // Ie,eff = 95 * 5 / (5 + 25.1) = 15.78
    assert!((lossy.r_factor - (93.2 - 95.0 * 5.0 / 30.1)).abs() < 1e-9);
    let g729 = mos::estimate(CodecImpairment::G729A, 0.0, 0.0, None);
    assert!((g729.r_factor - 82.2).abs() < 1e-9);
    let far = mos::estimate(CodecImpairment::G711, 0.0, 0.0, Some(600.0));
    assert!(far.r_factor < g711.r_factor);
    assert_eq!(mos::delay_impairment(100.0), 0.0);
    // G.107 eq. 7-27 at 400 ms (X = 2): 25 * (65^(1/6) - 3 * (1 + (2/3)^6)^(1/6) + 2) = 24.07
    assert!((mos::delay_impairment(400.0) - 24.07).abs() < 0.01);
    assert_eq!(mos::mos_from_r(-5.0), 1.0);
    assert_eq!(mos::mos_from_r(120.0), 4.5);
    assert_eq!(mos::mos_from_r(f64::NAN), 1.0);
    let worst = mos::estimate(CodecImpairment::GSM_FR, 100.0, 1e9, Some(1e9));
    assert!(worst.r_factor >= 0.0 && worst.mos >= 1.0);
    assert_eq!(CodecImpairment::for_encoding("opus"), CodecImpairment::OPUS);
    assert_eq!(CodecImpairment::for_encoding("iLBC"), CodecImpairment::ILBC);
}

// ---------------------------------------------------------------- RTCP

fn rtcp_hdr(count: u8, pt: u8, body_words: u16) -> Vec<u8> {
    let mut v = vec![0x80 | count, pt];
    v.extend_from_slice(&body_words.to_be_bytes());
    v
}

fn report_block(ssrc: u32, lost: i32, lsr: u32, dlsr: u32) -> Vec<u8> {
    let mut v = ssrc.to_be_bytes().to_vec();
    let w = (13u32 << 24) | (lost as u32 & 0x00ff_ffff);
    v.extend_from_slice(&w.to_be_bytes());
    v.extend_from_slice(&70_000u32.to_be_bytes());
    v.extend_from_slice(&42u32.to_be_bytes());
    v.extend_from_slice(&lsr.to_be_bytes());
    v.extend_from_slice(&dlsr.to_be_bytes());
    v
}

fn sr(ssrc: u32, msw: u32, lsw: u32) -> Vec<u8> {
    let mut v = rtcp_hdr(1, 200, 12);
    v.extend_from_slice(&ssrc.to_be_bytes());
    for x in [msw, lsw, 1234, 100, 16000] {
        v.extend_from_slice(&x.to_be_bytes());
    }
    v.extend(report_block(0x22, -3, 0, 0));
    v
}

#[test]
fn parses_compound_rtcp() {
    let mut d = sr(0x11, 0xdd3a_c170, 0x4d61_4df8);
    // SDES: one chunk, CNAME "abc" + NOTE "x", END, padded
    let mut sdes = vec![0, 0, 0, 0x11, 1, 3, b'a', b'b', b'c', 7, 1, b'x', 0];
    while sdes.len() % 4 != 0 {
        sdes.push(0);
    }
    d.extend(rtcp_hdr(1, 202, (sdes.len() / 4) as u16));
    d.extend(sdes);
    // BYE with reason
    d.extend(rtcp_hdr(1, 203, 3));
    d.extend_from_slice(&0x11u32.to_be_bytes());
    d.extend_from_slice(&[3, b'b', b'y', b'e', 0, 0, 0, 0]);
    // APP
    d.extend(rtcp_hdr(5, 204, 3));
    d.extend_from_slice(&0x11u32.to_be_bytes());
    d.extend_from_slice(b"TEST");
    d.extend_from_slice(&[1, 2, 3, 4]);
    // XR with a VoIP metrics block
    let mut xr = 0x11u32.to_be_bytes().to_vec();
    xr.extend_from_slice(&[7, 0, 0, 8]);
    xr.extend_from_slice(&0x22u32.to_be_bytes());
    xr.extend_from_slice(&[
        12, 3, 40, 2, 0, 100, 1, 0, 0, 150, 0, 40, 0xe0, 0xb0, 25, 16, 88, 127, 41, 38, 0, 0, 0,
        60, 0, 120, 0, 200,
    ]);
    d.extend(rtcp_hdr(0, 207, (xr.len() / 4) as u16));
    d.extend(xr);
    // RR
    d.extend(rtcp_hdr(1, 201, 7));
    d.extend_from_slice(&0x22u32.to_be_bytes());
    d.extend(report_block(0x11, 5, 0x1234_5678, 0x0001_0000));

    assert_eq!(classify(&d), Kind::Rtcp);
    let p = parse_rtcp(&d);
    assert_eq!(p.len(), 6, "{p:#?}");
    match &p[0] {
        RtcpPacket::SenderReport {
            ssrc,
            sender,
            reports,
        } => {
            assert_eq!(*ssrc, 0x11);
            assert_eq!(sender.packet_count, 100);
            assert_eq!(sender.octet_count, 16000);
            assert_eq!(sender.compact_ntp(), 0xc170_4d61);
            assert_eq!(reports.len(), 1);
            assert_eq!(reports[0].cumulative_lost, -3);
            assert_eq!(reports[0].fraction_lost, 13);
            assert_eq!(reports[0].ext_highest_seq, 70_000);
            assert_eq!(reports[0].jitter, 42);
        }
        other => panic!("{other:?}"),
    }
    match &p[1] {
        RtcpPacket::SourceDescription { chunks } => {
            assert_eq!(chunks[0].ssrc, 0x11);
            assert_eq!(chunks[0].cname.as_deref(), Some("abc"));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        p[2],
        RtcpPacket::Bye {
            sources: vec![0x11],
            reason: Some("bye".into())
        }
    );
    assert_eq!(
        p[3],
        RtcpPacket::App {
            subtype: 5,
            ssrc: 0x11,
            name: *b"TEST",
            data_len: 4
        }
    );
    match &p[4] {
        RtcpPacket::ExtendedReport { ssrc, blocks } => {
            assert_eq!(*ssrc, 0x11);
            let XrBlock::VoipMetrics(m) = &blocks[0] else {
                panic!("{blocks:?}")
            };
            assert_eq!(m.ssrc, 0x22);
            assert_eq!((m.loss_rate, m.discard_rate), (12, 3));
            assert_eq!((m.burst_density, m.gap_density), (40, 2));
            assert_eq!((m.burst_duration, m.gap_duration), (100, 256));
            assert_eq!(m.round_trip_delay, 150);
            assert_eq!(m.end_system_delay, 40);
            assert_eq!(m.signal_level, -32);
            assert_eq!(m.r_factor, 88);
            assert_eq!((m.mos_lq, m.mos_cq), (41, 38));
            assert_eq!(m.jb_abs_max, 200);
        }
        other => panic!("{other:?}"),
    }
    match &p[5] {
        RtcpPacket::ReceiverReport { ssrc, reports } => {
            assert_eq!(*ssrc, 0x22);
            assert_eq!(reports[0].lsr, 0x1234_5678);
            assert_eq!(reports[0].dlsr, 0x0001_0000);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn rtcp_truncated_and_garbage() {
    let d = sr(1, 2, 3);
    assert_eq!(parse_rtcp(&d[..d.len() - 1]).len(), 0);
    assert!(parse_rtcp(&[]).is_empty());
    assert!(parse_rtcp(&[0x40, 200, 0, 0]).is_empty());
    // a length field of 0xffff
    assert!(parse_rtcp(&[0x80, 201, 0xff, 0xff, 0, 0, 0, 1]).is_empty());
    // valid first packet, truncated second one: the first is kept
    let mut two = d.clone();
    two.extend_from_slice(&[0x80, 201, 0, 7, 0, 0]);
    assert_eq!(parse_rtcp(&two).len(), 1);
}

#[test]
fn round_trip_time() {
    // classic formula: A - LSR - DLSR in 1/65536 s
    let rtt = rtcp::rtt_ms(0x0001_8000, 0x0001_0000, 0x0000_4000).unwrap();
    assert!((rtt - 250.0).abs() < 1e-9);
    assert!(rtcp::rtt_ms(5, 0, 0).is_none());
    assert!(rtcp::rtt_ms(0, 10, 10).is_none());

    // passive: SR seen at t0, RR echoing it 300 ms later with DLSR 200 ms -> 100 ms
    let mut tr = RttTracker::new();
    let t0 = Ts(1_700_000_000_000_000_000);
    let srp = parse_rtcp(&sr(0x11, 0xdd3a_c170, 0x4d61_4df8));
    assert_eq!(tr.on_rtcp(t0, &srp), None);
    let mut rr = rtcp_hdr(1, 201, 7);
    rr.extend_from_slice(&0x22u32.to_be_bytes());
    rr.extend(report_block(0x11, 0, 0xc170_4d61, 13_107)); // 0.2 s
    let rtt = tr
        .on_rtcp(Ts(t0.as_nanos() + 300_000_000), &parse_rtcp(&rr))
        .unwrap();
    assert!((rtt - 100.0).abs() < 0.05, "{rtt}");
    // unknown LSR: nothing
    let mut rr2 = rtcp_hdr(1, 201, 7);
    rr2.extend_from_slice(&0x22u32.to_be_bytes());
    rr2.extend(report_block(0x11, 0, 0xdead, 0));
    assert_eq!(tr.on_rtcp(t0, &parse_rtcp(&rr2)), None);
}

// ---------------------------------------------------------------- proptest

proptest! {
    #[test]
    fn random_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..400)) {
        let _ = parse_rtp(&data);
        let _ = classify(&data);
        let p = parse_rtcp(&data);
        let mut tr = RttTracker::new();
        let _ = tr.on_rtcp(Ts(1), &p);
        let _ = Codec::parse_rtpmap(&String::from_utf8_lossy(&data));
    }

    #[test]
    fn rtcp_shaped_bytes_never_panic(
        pt in 200u8..=207,
        count in 0u8..32,
        words in 0u16..64,
        body in proptest::collection::vec(any::<u8>(), 0..300),
    ) {
        let mut d = vec![0x80 | count, pt];
        d.extend_from_slice(&words.to_be_bytes());
        d.extend(body);
        let _ = parse_rtcp(&d);
    }

    #[test]
    fn random_streams_never_panic(
        pkts in proptest::collection::vec(
            (any::<u32>(), any::<u16>(), any::<u32>(), 0u8..128, any::<bool>(), proptest::option::of(any::<u32>())),
            1..300,
        ),
        back in any::<bool>(),
    ) {
        let mut s = StreamStats::new();
        s.set_telephone_event_pt(101);
        let mut t: u64 = 1_000_000_000;
        for (dt, seq, ts, pt, marker, clock) in pkts {
            // occasionally let the capture clock go back
            t = if back && dt % 7 == 0 { t.saturating_sub(u64::from(dt)) } else { t.saturating_add(u64::from(dt)) };
            let i = RtpInfo { seq, timestamp: ts, payload_type: pt, marker, ..RtpInfo::default() };
            s.on_packet(Ts(t), &i, clock);
        }
        let sum = s.summary();
        prop_assert!(sum.packets > 0);
        prop_assert!(sum.mos >= 1.0 && sum.mos <= 4.5);
        prop_assert!(sum.r_factor.is_finite());
        prop_assert!(sum.max_jitter_ms >= 0.0);
    }

    #[test]
    fn in_order_streams_lose_nothing(start in any::<u16>(), ts0 in any::<u32>(), n in 2usize..3000) {
        let s = feed(&regular(n, start, ts0)).summary();
        prop_assert_eq!(s.lost, 0);
        prop_assert_eq!(s.lost_rfc3550, 0);
        prop_assert_eq!(s.expected, n as i64);
        prop_assert_eq!(s.seq_errors, 0);
        prop_assert!(s.max_jitter_ms < 1e-9);
    }
}
