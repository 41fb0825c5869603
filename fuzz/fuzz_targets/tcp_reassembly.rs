//! TCP reassembly: fuzzed segments (sequence numbers, flags, payloads) into one direction's
//! stream, checking its caps, then the stream framing the worker does on the in-order bytes:
//! SIP over TCP (keep-alives, Content-Length framing, resync), WebSocket frames and the
//! TLS hello probe.
#![no_main]

use fuzz_common::{header, records, timed, within};
use libfuzzer_sys::fuzz_target;
use voip_sentinel::flow::tcp::{SegmentOutcome, TcpConfig, TcpStream};
use voip_sentinel::flow::{tls, websocket};
use voip_sentinel::sip::{frame_len, parse_message, resync, skip_keepalive, Frame};

// Input: records (see `fuzz_common::records`). The first: option bits (1: small caps, to
// reach the over-cap and gap paths; 2: consume what the framing finds after each segment, as
// the worker does, instead of letting it pile up) and the initial sequence number (`u32`
// BE). The others are segments: sequence number relative to it (`u32` BE), TCP flags, payload.
fuzz_target!(|data: &[u8]| {
    let mut recs = records(data);
    let ([opts, i0, i1, i2, i3], _) = header::<5>(recs.next().unwrap_or_default());
    let isn = u32::from_be_bytes([i0, i1, i2, i3]);
    let drain = opts & 2 != 0;
    let cfg = if opts & 1 != 0 {
        TcpConfig {
            max_buffered: 512,
            max_out_of_order: 256,
            max_segments_ooo: 4,
        }
    } else {
        TcpConfig::default()
    };
    let mut s = TcpStream::with_config(cfg);
    let mut fed: u64 = 0;
    let mut last_offset = s.offset();
    for rec in recs {
        let ([s0, s1, s2, s3, flags], payload) = header::<5>(rec);
        let seq = isn.wrapping_add(u32::from_be_bytes([s0, s1, s2, s3]));
        let before = s.data().len();
        let outcome = s.on_segment(seq, flags, payload);
        fed += payload.len() as u64;
        if let SegmentOutcome::Appended(n) = outcome {
            assert!(
                s.data().len() <= before + n,
                "appended {n} but data grew more"
            );
        } else {
            assert!(s.data().len() <= before, "{outcome:?} but data grew");
        }
        // In-order bytes and held bytes have caps of their own.
        assert!(
            s.data().len() <= cfg.max_buffered,
            "in order {}",
            s.data().len()
        );
        assert!(s.buffered_bytes() <= cfg.max_buffered + cfg.max_out_of_order);
        assert!(
            s.out_of_order_bytes() <= cfg.max_out_of_order,
            "ooo {}",
            s.out_of_order_bytes()
        );
        assert!(s.out_of_order_segments() <= cfg.max_segments_ooo);
        assert!(s.offset() >= last_offset, "stream offset went back");
        last_offset = s.offset();
        // Nothing comes out that was not fed in (the offset also counts skipped holes).
        let delivered = s.stats().delivered;
        assert!(delivered <= fed, "delivered {delivered} of {fed} bytes fed");
        assert!(s.data().len() as u64 <= delivered);
        let _ = (
            s.has_gap(),
            s.is_closed(),
            s.is_reset(),
            s.is_finished(),
            s.next_seq(),
        );
        let _ = (s.allocated_bytes(), s.stats());
        let n = frame(s.data());
        if drain && n > 0 {
            s.consume(n);
        }
        if flags & 0x05 != 0 && s.data().is_empty() && s.has_gap() {
            let _ = s.skip_gap();
        }
    }
    s.shrink();
    let rest = s.data().len();
    s.consume(rest);
    assert!(s.data().is_empty());
});

/// What the worker would take off the front of `data`: keep-alives, a whole SIP message, a
/// WebSocket frame, or a resync skip. Returns the bytes to consume.
fn frame(data: &[u8]) -> usize {
    if data.is_empty() {
        return 0;
    }
    let _ = timed("tls::probe", data.len(), || tls::probe(data));
    let _ = tls::probe_records(data);
    let _ = tls::probe_dtls(data);
    if websocket::may_be_upgrade(data) {
        if let Some(n) = websocket::upgrade_len(data) {
            assert!(n <= data.len(), "upgrade_len {n}");
        }
    }
    let ws_len = match websocket::parse_frame(data) {
        websocket::WsFrame::Complete {
            header_len,
            payload_len,
            mask,
            ..
        } => {
            let total = header_len
                .checked_add(payload_len)
                .expect("frame length overflows");
            if total <= data.len() {
                let mut out = Vec::new();
                websocket::unmask_into(&data[header_len..total], mask, &mut out);
                assert_eq!(out.len(), payload_len);
            }
            total
        }
        websocket::WsFrame::Incomplete | websocket::WsFrame::Invalid(_) => 0,
    };
    let ka = skip_keepalive(data);
    assert!(ka <= data.len());
    if ka > 0 {
        return ka;
    }
    match timed("frame_len", data.len(), || frame_len(data)) {
        Frame::Complete(n) => {
            assert!(n <= data.len(), "frame_len {n} past {} bytes", data.len());
            if let Ok((msg, used)) = parse_message(&data[..n]) {
                assert!(used <= n && within(data, msg.body));
            }
            n
        }
        Frame::Incomplete => {
            if ws_len > 0 && ws_len <= data.len() {
                ws_len
            } else {
                0
            }
        }
        Frame::Invalid(_) => resync(&data[1..]).map_or(data.len(), |o| o + 1),
    }
}
