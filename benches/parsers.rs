//! Parser and decoder throughput on real messages taken from the bundled captures.
//! `cargo bench --bench parsers`

use std::hint::black_box;
use std::path::Path;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use voip_sentinel::base::packet::LinkType;
use voip_sentinel::base::time::Ts;
use voip_sentinel::decode::{Decoder, DefragConfig};
use voip_sentinel::media::rtp::{parse_rtp, StreamStats};
use voip_sentinel::sip::parser::{looks_like_sip, parse_datagram};
use voip_sentinel::sip::sdp::parse_sdp;

/// Every frame of a capture, with its link type.
fn frames(path: &str) -> (LinkType, Vec<Vec<u8>>) {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
    let mut cap = pcap::Capture::from_file(&p).expect("capture");
    let link = LinkType::from_dlt(cap.get_datalink().0).expect("link");
    let mut v = Vec::new();
    while let Ok(pkt) = cap.next_packet() {
        v.push(pkt.data.to_vec());
    }
    (link, v)
}

/// The SIP payloads of a capture.
fn sip_payloads(path: &str) -> Vec<Vec<u8>> {
    let (link, frames) = frames(path);
    let mut dec = Decoder::new(DefragConfig::default());
    frames
        .iter()
        .filter_map(|f| {
            dec.decode(link, f, Ts(0))
                .ok()
                .filter(|d| looks_like_sip(d.payload))
                .map(|d| d.payload.to_vec())
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let msgs = sip_payloads("pcaps/public/wireshark-samples/aaa.pcap");
    let bytes: usize = msgs.iter().map(|m| m.len()).sum();
    let mut g = c.benchmark_group("sip");
    g.throughput(Throughput::Bytes(bytes as u64));
    g.bench_function("parse_datagram (aaa.pcap, 81 messages)", |b| {
        b.iter(|| {
            for m in &msgs {
                let _ = black_box(parse_datagram(black_box(m)));
            }
        })
    });
    g.finish();

    let bodies: Vec<Vec<u8>> = msgs
        .iter()
        .filter_map(|m| parse_datagram(m).ok().map(|(p, _)| p.body.to_vec()))
        .filter(|b| b.starts_with(b"v=0"))
        .collect();
    c.bench_function("sdp parse (aaa.pcap bodies)", |b| {
        b.iter(|| {
            for body in &bodies {
                let _ = black_box(parse_sdp(black_box(body)));
            }
        })
    });

    let (link, frames) = frames("pcaps/sipp-uac-pcap-g711.pcap");
    let mut g = c.benchmark_group("decode");
    g.throughput(Throughput::Elements(frames.len() as u64));
    g.bench_function("ethernet/ipv4/udp frames (g711 call)", |b| {
        let mut dec = Decoder::new(DefragConfig::default());
        b.iter(|| {
            for f in &frames {
                let _ = black_box(
                    dec.decode(link, black_box(f), Ts(0))
                        .map(|d| d.payload.len()),
                );
            }
        })
    });
    g.finish();

    // RTP statistics (tshark-equal figures, histograms) over the call's RTP packets, each
    // with its capture time, as the worker feeds them.
    let mut dec = Decoder::new(DefragConfig::default());
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("pcaps/sipp-uac-pcap-g711.pcap");
    let mut cap = pcap::Capture::from_file(&p).expect("capture");
    let mut rtp = Vec::new();
    while let Ok(pkt) = cap.next_packet() {
        let ts = Ts::from_micros(pkt.header.ts.tv_sec, pkt.header.ts.tv_usec);
        if let Ok(d) = dec.decode(link, pkt.data, ts) {
            if !looks_like_sip(d.payload) {
                if let Some(info) = parse_rtp(d.payload) {
                    rtp.push((ts, info));
                }
            }
        }
    }
    let mut g = c.benchmark_group("rtp");
    g.throughput(Throughput::Elements(rtp.len() as u64));
    g.bench_function("stream statistics (g711 call)", |b| {
        b.iter(|| {
            let mut st = StreamStats::new();
            for (ts, info) in &rtp {
                st.on_packet(*ts, black_box(info), None);
            }
            black_box(st.summary())
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
