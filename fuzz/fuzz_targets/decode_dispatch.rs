//! Packet decoding: several fuzzed frames, each with any supported link type, through one
//! decoder (so IP fragments of different frames reassemble), then the flow key and hash the
//! dispatcher computes for each decoded packet.
#![no_main]

use fuzz_common::{frames, option_bit, records, within};
use libfuzzer_sys::fuzz_target;
use voip_sentinel::base::packet::{LinkType, Transport};
use voip_sentinel::decode::{
    fast_udp4, sctp_data_chunks, unwrap_hep, Decoded, Decoder, DefragConfig,
};
use voip_sentinel::flow::FlowKey;

// Input: records (see `fuzz_common::records`); the first one's first byte, when odd, asks
// for tight reassembly limits (to reach the eviction paths); the others are frames.
fuzz_target!(|data: &[u8]| {
    let mut recs = records(data);
    let tight = option_bit(recs.next());
    let cfg = if tight {
        DefragConfig {
            max_datagrams: 4,
            max_bytes: 4096,
            timeout_ns: 1_000_000_000,
            max_datagram_len: 2048,
        }
    } else {
        DefragConfig::default()
    };
    let mut decoder = Decoder::new(cfg);
    let mut general = Decoder::without_fast_path(cfg);
    for (link, ts, frame) in frames(recs) {
        // The fast path agrees with the general one wherever it takes a frame (both hand a
        // HEP datagram's message on).
        if link == LinkType::Ethernet {
            if let Some(fast) = fast_udp4(frame) {
                assert_eq!(
                    general.decode(link, frame, ts).as_ref(),
                    unwrap_hep(fast).as_ref()
                );
            }
        }
        if let Ok(d) = decoder.decode(link, frame, ts) {
            check(&d, frame, &cfg);
        }
        // The reassembly table stays inside its caps.
        let s = decoder.defrag_stats();
        assert!(s.held <= cfg.max_datagrams, "{} datagrams held", s.held);
        assert!(s.bytes_held <= cfg.max_bytes, "{} bytes held", s.bytes_held);
    }
});

fn check(d: &Decoded<'_>, frame: &[u8], cfg: &DefragConfig) {
    {
        if d.reassembled {
            assert!(
                d.payload.len() <= cfg.max_datagram_len,
                "reassembled past the limit"
            );
        } else {
            assert!(within(frame, d.payload), "payload outside the frame");
        }
        assert!(
            d.payload.len() <= d.ip_len,
            "payload {} > ip_len {}",
            d.payload.len(),
            d.ip_len
        );
        if d.transport == Transport::Sctp {
            for user in sctp_data_chunks(d.payload) {
                assert!(within(d.payload, user), "SCTP data outside the chunks");
            }
        }
        // The key and hash are symmetric: both directions of a flow go to one worker.
        let (k1, fwd1) = FlowKey::new(d.src, d.sport, d.dst, d.dport, d.transport, d.vlan);
        let (k2, fwd2) = FlowKey::new(d.dst, d.dport, d.src, d.sport, d.transport, d.vlan);
        assert_eq!(k1, k2, "flow key depends on direction");
        assert_eq!(k1.stable_hash(), k2.stable_hash());
        assert_eq!(k1.flow_id(), k2.flow_id());
        if (d.src, d.sport) != (d.dst, d.dport) {
            assert_ne!(fwd1, fwd2, "both directions forward");
        }
    }
}
