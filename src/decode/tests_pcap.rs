//! Tests against real captures in pcaps/public/ (expected values from tshark).

use std::net::IpAddr;
use std::path::Path;

use super::*;

const PCAPS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/pcaps/public");

/// Decode every packet of a capture; calls `f(frame number (1-based), result)`.
/// Returns false when the file is missing.
fn each_packet(rel: &str, mut f: impl FnMut(usize, Result<Decoded<'_>, DecodeError>)) -> bool {
    let path = Path::new(PCAPS).join(rel);
    assert!(path.exists(), "{} is missing", path.display());
    let mut cap = pcap::Capture::from_file(&path).expect("open capture");
    let link = LinkType::from_dlt(cap.get_datalink().0).expect("known link type");
    let mut dec = Decoder::new(DefragConfig::default());
    let mut n = 0;
    while let Ok(p) = cap.next_packet() {
        n += 1;
        let ts = Ts::from_micros(p.header.ts.tv_sec, p.header.ts.tv_usec);
        f(n, dec.decode(link, p.data, ts));
    }
    assert!(n > 0);
    true
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn is_sip_start(p: &[u8]) -> bool {
    const METHODS: [&[u8]; 11] = [
        b"INVITE ",
        b"ACK ",
        b"BYE ",
        b"CANCEL ",
        b"OPTIONS ",
        b"REGISTER ",
        b"PRACK ",
        b"UPDATE ",
        b"SUBSCRIBE ",
        b"NOTIFY ",
        b"REFER ",
    ];
    p.starts_with(b"SIP/2.0 ") || METHODS.iter().any(|m| p.starts_with(m))
}

#[test]
fn pcap_ipv6_fragmented_sip() {
    // (frame, sport, dport, udp length) from tshark; frames 1 and 4 are first fragments
    let expect: [(usize, u16, u16, usize); 32] = [
        (2, 15060, 5062, 1699),
        (3, 5062, 15060, 430),
        (5, 5062, 25060, 1879),
        (6, 25060, 5062, 1215),
        (7, 5062, 15060, 1101),
        (8, 15060, 5062, 677),
        (9, 5062, 25060, 758),
        (10, 25060, 5062, 542),
        (11, 5062, 15060, 451),
        (12, 15060, 5062, 1094),
        (13, 5062, 25060, 1171),
        (14, 25060, 5062, 999),
        (15, 5062, 15060, 885),
        (16, 25060, 5062, 1313),
        (17, 5062, 15060, 1199),
        (18, 15060, 5062, 740),
        (19, 5062, 25060, 823),
        (20, 25060, 5062, 542),
        (21, 5062, 15060, 451),
        (22, 15060, 5062, 1118),
        (23, 5062, 25060, 1195),
        (24, 25060, 5062, 1031),
        (25, 5062, 15060, 886),
        (26, 25060, 5062, 854),
        (27, 25060, 5062, 854),
        (28, 5062, 15060, 718),
        (29, 15060, 5062, 719),
        (30, 5062, 25060, 802),
        (31, 15060, 5062, 719),
        (32, 5062, 25060, 802),
        (33, 25060, 5062, 634),
        (34, 5062, 15060, 524),
    ];
    let mut seen = 0;
    let present = each_packet("sngrep/ipv6frag.pcap", |n, r| {
        if n == 1 || n == 4 {
            assert_eq!(r, Err(DecodeError::FragmentHeld), "frame {n}");
            return;
        }
        let d = r.unwrap_or_else(|e| panic!("frame {n}: {e}"));
        let (_, sp, dp, ulen) = expect.iter().find(|e| e.0 == n).copied().unwrap();
        assert_eq!(
            (d.sport, d.dport, d.payload.len()),
            (sp, dp, ulen - 8),
            "frame {n}"
        );
        assert_eq!(d.transport, Transport::Udp);
        assert!(is_sip_start(d.payload), "frame {n}");
        assert_eq!(d.reassembled, n == 2 || n == 5, "frame {n}");
        if n == 2 {
            assert_eq!(d.src, ip("fd17:625c:f037:2:a00:27ff:feb9:1521"));
            assert_eq!(d.dst, ip("fd17:625c:f037:2:a00:27ff:feb9:3519"));
            assert!(d.payload.starts_with(b"INVITE sip:"));
            assert_eq!(d.ip_len, 40 + 1699);
        }
        if n == 5 {
            assert_eq!(d.dst, ip("fd17:625c:f037:2:a00:27ff:feb9:4222"));
            assert!(d.payload.starts_with(b"INVITE sip:"));
        }
        seen += 1;
    });
    if present {
        assert_eq!(seen, 32);
    }
}

#[test]
fn pcap_ip_in_ip() {
    each_packet("sngrep/ipip.pcap", |n, r| {
        let d = r.unwrap_or_else(|e| panic!("frame {n}: {e}"));
        assert_eq!(d.transport, Transport::Tcp);
        let tcp = d.tcp.unwrap();
        match n {
            1 | 4 => {
                assert!(!d.tunneled);
                assert_eq!((d.src, d.dst), (ip("10.15.197.103"), ip("10.15.193.31")));
                assert_eq!((d.sport, d.dport), (5090, 33093));
            }
            _ => {
                assert!(d.tunneled);
                assert_eq!((d.src, d.dst), (ip("10.15.193.31"), ip("10.15.197.103")));
                assert_eq!((d.sport, d.dport), (33093, 5090));
            }
        }
        let (len, seq, ack, ip_len) = match n {
            1 => (1103, 2107541088, 658869884, 1155),
            2 => (621, 658869884, 2107542191, 673),
            3 => (616, 658870505, 2107542191, 668),
            _ => (409, 2107542191, 658871121, 461),
        };
        assert_eq!(d.payload.len(), len, "frame {n}");
        assert_eq!((tcp.seq, tcp.ack, tcp.flags), (seq, ack, TCP_PSH | TCP_ACK));
        assert_eq!(d.ip_len, ip_len);
        assert!(is_sip_start(d.payload));
    });
}

#[test]
fn pcap_gre_pptp_ppp() {
    each_packet("nDPI/gre.pcapng", |n, r| {
        let d = r.unwrap_or_else(|e| panic!("frame {n}: {e}"));
        assert_eq!(d.vlan, Some(142));
        assert!(d.tunneled);
        assert_eq!((d.src, d.dst), (ip("192.168.10.210"), ip("192.168.103.40")));
        assert_eq!(
            (d.sport, d.dport, d.transport),
            (5060, 5060, Transport::Udp)
        );
        assert_eq!(d.payload.len(), 306 - 8);
        assert_eq!(d.ip_len, 326);
    });
}

#[test]
fn pcap_erspan_transparent_ethernet() {
    let first: [(&str, &str, u16, u16, usize); 5] = [
        ("180.173.83.248", "101.231.48.19", 53221, 5260, 683),
        ("192.168.1.222", "192.168.1.191", 5260, 5060, 764),
        ("192.168.1.191", "192.168.1.222", 5060, 5260, 662),
        ("101.231.48.19", "180.173.83.248", 5260, 53221, 634),
        ("192.168.1.191", "192.168.1.222", 5060, 5260, 986),
    ];
    let (mut count, mut payload_sum, mut ip_sum) = (0, 0, 0);
    each_packet("heplify/erspan_sip_ipv4_udp.pcapng", |n, r| {
        let d = r.unwrap_or_else(|e| panic!("frame {n}: {e}"));
        assert!(d.tunneled);
        assert_eq!(d.transport, Transport::Udp);
        assert!(is_sip_start(d.payload), "frame {n}");
        if let Some(&(s, t, sp, dp, ulen)) = first.get(n - 1) {
            assert_eq!((d.src, d.dst), (ip(s), ip(t)), "frame {n}");
            assert_eq!((d.sport, d.dport, d.payload.len()), (sp, dp, ulen - 8));
        }
        count += 1;
        payload_sum += d.payload.len();
        ip_sum += d.ip_len;
    });
    if count > 0 {
        // tshark: sum(udp.length) = 97560, sum(inner ip.len) = 100360 over 140 frames
        assert_eq!((count, payload_sum, ip_sum), (140, 97560 - 8 * 140, 100360));
    }
}

#[test]
fn pcap_sctp_data_chunks() {
    each_packet("heplify/sip_sctp.pcap", |n, r| {
        let d = r.unwrap_or_else(|e| panic!("frame {n}: {e}"));
        assert_eq!(d.transport, Transport::Sctp);
        let (src, dst, sp, dp, chunk_len, ip_len) = match n {
            1 => ("10.249.30.11", "10.108.207.113", 57098, 5060, 1468, 1500),
            2 => ("10.249.30.11", "10.108.207.113", 57098, 5060, 328, 360),
            3 => ("10.108.207.113", "10.249.30.11", 5060, 5060, 381, 416),
            4 => ("10.108.207.113", "10.249.30.11", 5060, 5060, 473, 508),
            _ => ("10.249.30.11", "10.108.207.113", 57098, 5060, 456, 488),
        };
        assert_eq!((d.src, d.dst), (ip(src), ip(dst)));
        assert_eq!((d.sport, d.dport, d.ip_len), (sp, dp, ip_len));
        let datas: Vec<&[u8]> = sctp_data_chunks(d.payload).collect();
        assert_eq!(datas.len(), 1, "frame {n}");
        assert_eq!(datas[0].len(), chunk_len - 16, "frame {n}");
        let start: &[u8] = match n {
            1 => b"INVITE sip:",
            3 => b"SIP/2.0 100",
            4 => b"SIP/2.0 403",
            5 => b"ACK sip:",
            _ => b"",
        };
        assert!(datas[0].starts_with(start), "frame {n}");
    });
}

#[test]
fn pcap_sip_ipv6_udp() {
    each_packet("heplify/sip_ipv6_udp.pcap", |n, r| {
        let d = r.unwrap_or_else(|e| panic!("frame {n}: {e}"));
        let (a, b) = (
            ip("fe80::21a:a0ff:fe07:32e0"),
            ip("fec0::216:d3ff:fe0d:22c"),
        );
        let (first, ulen): (&[u8], usize) = match n {
            1 => (b"INVITE ", 718),
            2 => (b"SIP/2.0 100", 456),
            3 => (b"SIP/2.0 200", 633),
            4 => (b"ACK ", 503),
            5 => (b"BYE ", 503),
            _ => (b"SIP/2.0 200", 449),
        };
        let fwd = matches!(n, 1 | 4 | 5);
        assert_eq!((d.src, d.dst), if fwd { (a, b) } else { (b, a) });
        assert_eq!((d.sport, d.dport), (5060, 5060));
        assert_eq!(d.payload.len(), ulen - 8);
        assert_eq!(d.ip_len, 40 + ulen);
        assert!(d.payload.starts_with(first), "frame {n}");
    });
}

#[test]
fn pcap_null_loopback_tcp() {
    // (flags, seq, ack, window, payload len) per frame, from tshark
    let expect: [(u8, u32, u32, u16, usize); 16] = [
        (0x02, 2403313361, 0, 65535, 0),
        (0x12, 572270405, 2403313362, 65535, 0),
        (0x10, 2403313362, 572270406, 6380, 0),
        (0x10, 572270406, 2403313362, 6380, 0),
        (0x10, 2403313362, 572270406, 6380, 16332),
        (0x10, 2403329694, 572270406, 6380, 16332),
        (0x10, 2403346026, 572270406, 6380, 16332),
        (0x10, 2403362358, 572270406, 6380, 16332),
        (0x18, 2403378690, 572270406, 6380, 465),
        (0x10, 572270406, 2403379155, 5353, 0),
        (0x18, 572270406, 2403379155, 5353, 207),
        (0x10, 2403379155, 572270613, 6377, 0),
        (0x11, 572270613, 2403379155, 5353, 0),
        (0x10, 2403379155, 572270614, 6377, 0),
        (0x11, 2403379155, 572270614, 6377, 0),
        (0x10, 572270614, 2403379156, 5353, 0),
    ];
    each_packet(
        "suricata-verify/sip-body-large/sip-body-large.pcap",
        |n, r| {
            let d = r.unwrap_or_else(|e| panic!("frame {n}: {e}"));
            let (flags, seq, ack, window, len) = expect[n - 1];
            let t = d.tcp.unwrap();
            assert_eq!(
                (t.flags, t.seq, t.ack, t.window),
                (flags, seq, ack, window),
                "frame {n}"
            );
            assert_eq!(d.payload.len(), len, "frame {n}");
            assert_eq!((d.src, d.dst), (ip("127.0.0.1"), ip("127.0.0.1")));
            let client = seq >= 2_403_313_361;
            let ports = if client { (59809, 5060) } else { (5060, 59809) };
            assert_eq!((d.sport, d.dport), ports);
        },
    );
}

/// Every packet of the public captures and of the project's own: where the fast path takes a
/// frame, the general path gives the same answer.
#[test]
fn fast_path_agrees_with_the_general_path() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("pcaps");
    let mut files = Vec::new();
    let mut dirs = vec![root];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).expect("pcaps/") {
            let p = e.expect("entry").path();
            if p.is_dir() {
                dirs.push(p);
            } else if p.extension().is_some_and(|x| x == "pcap" || x == "pcapng") {
                files.push(p);
            }
        }
    }
    assert!(files.len() > 20, "{} captures", files.len());
    let (mut fast, mut total) = (0usize, 0usize);
    for path in files {
        let Ok(mut cap) = pcap::Capture::from_file(&path) else {
            continue;
        };
        let Some(link) = LinkType::from_dlt(cap.get_datalink().0) else {
            continue;
        };
        let mut dec = Decoder::without_fast_path(DefragConfig::default());
        while let Ok(p) = cap.next_packet() {
            total += 1;
            if link != LinkType::Ethernet {
                continue;
            }
            if let Some(d) = fast_udp4(p.data) {
                fast += 1;
                let ts = Ts::from_micros(p.header.ts.tv_sec, p.header.ts.tv_usec);
                // both paths hand a HEP datagram's message on the same way
                assert_eq!(
                    dec.decode(link, p.data, ts).as_ref(),
                    unwrap_hep(d).as_ref(),
                    "{}",
                    path.display()
                );
            }
        }
    }
    // Most packets of the captures are Ethernet IPv4 UDP (RTP and SIP).
    assert!(fast * 2 > total, "{fast} of {total} on the fast path");
}
