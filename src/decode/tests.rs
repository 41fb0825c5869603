//! Unit and property tests with crafted frames.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use proptest::prelude::*;

use super::*;

// ---------- frame builders ----------

const A4: [u8; 4] = [10, 0, 0, 1];
const B4: [u8; 4] = [10, 0, 0, 2];
const A6: [u8; 16] = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
const B6: [u8; 16] = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2];

fn ip4(a: [u8; 4]) -> IpAddr {
    IpAddr::V4(Ipv4Addr::from(a))
}

fn ip6(a: [u8; 16]) -> IpAddr {
    IpAddr::V6(Ipv6Addr::from(a))
}

fn eth(et: u16, payload: &[u8]) -> Vec<u8> {
    let mut v = vec![0x02, 0, 0, 0, 0, 1, 0x02, 0, 0, 0, 0, 2];
    v.extend_from_slice(&et.to_be_bytes());
    v.extend_from_slice(payload);
    v
}

fn vlan_tag(tpid: u16, vid: u16, inner_et: u16) -> Vec<u8> {
    let mut v = tpid.to_be_bytes().to_vec();
    v.extend_from_slice(&(vid | 0x2000).to_be_bytes()); // PCP 1
    v.extend_from_slice(&inner_et.to_be_bytes());
    v
}

/// IPv4 header + payload; `frag` = (id, more fragments, offset in 8-byte units).
fn ipv4_opts(
    src: [u8; 4],
    dst: [u8; 4],
    proto: u8,
    payload: &[u8],
    frag: (u16, bool, u16),
    options: &[u8],
) -> Vec<u8> {
    assert_eq!(options.len() % 4, 0);
    let hlen = 20 + options.len();
    let total = (hlen + payload.len()) as u16;
    let mut v = vec![0x40 | (hlen / 4) as u8, 0];
    v.extend_from_slice(&total.to_be_bytes());
    v.extend_from_slice(&frag.0.to_be_bytes());
    let ff = (if frag.1 { 0x2000 } else { 0 }) | frag.2;
    v.extend_from_slice(&ff.to_be_bytes());
    v.extend_from_slice(&[64, proto, 0, 0]);
    v.extend_from_slice(&src);
    v.extend_from_slice(&dst);
    v.extend_from_slice(options);
    v.extend_from_slice(payload);
    v
}

fn ipv4(src: [u8; 4], dst: [u8; 4], proto: u8, payload: &[u8]) -> Vec<u8> {
    ipv4_opts(src, dst, proto, payload, (1, false, 0), &[])
}

fn ipv6(src: [u8; 16], dst: [u8; 16], next: u8, payload: &[u8]) -> Vec<u8> {
    let mut v = vec![0x60, 0, 0, 0];
    v.extend_from_slice(&(payload.len() as u16).to_be_bytes());
    v.extend_from_slice(&[next, 64]);
    v.extend_from_slice(&src);
    v.extend_from_slice(&dst);
    v.extend_from_slice(payload);
    v
}

fn udp(sp: u16, dp: u16, payload: &[u8]) -> Vec<u8> {
    let mut v = sp.to_be_bytes().to_vec();
    v.extend_from_slice(&dp.to_be_bytes());
    v.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
    v.extend_from_slice(&[0, 0]);
    v.extend_from_slice(payload);
    v
}

fn tcp(sp: u16, dp: u16, seq: u32, ack: u32, flags: u8, options: &[u8], payload: &[u8]) -> Vec<u8> {
    assert_eq!(options.len() % 4, 0);
    let mut v = sp.to_be_bytes().to_vec();
    v.extend_from_slice(&dp.to_be_bytes());
    v.extend_from_slice(&seq.to_be_bytes());
    v.extend_from_slice(&ack.to_be_bytes());
    v.push((((20 + options.len()) / 4) as u8) << 4);
    v.push(flags);
    v.extend_from_slice(&4321u16.to_be_bytes());
    v.extend_from_slice(&[0, 0, 0, 0]);
    v.extend_from_slice(options);
    v.extend_from_slice(payload);
    v
}

fn sctp_data_chunk(user: &[u8]) -> Vec<u8> {
    let len = 16 + user.len();
    let mut v = vec![0, 3];
    v.extend_from_slice(&(len as u16).to_be_bytes());
    v.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0]);
    v.extend_from_slice(user);
    while v.len() % 4 != 0 {
        v.push(0);
    }
    v
}

fn sctp(sp: u16, dp: u16, chunks: &[u8]) -> Vec<u8> {
    let mut v = sp.to_be_bytes().to_vec();
    v.extend_from_slice(&dp.to_be_bytes());
    v.extend_from_slice(&[0, 0, 0, 7, 0, 0, 0, 0]);
    v.extend_from_slice(chunks);
    v
}

fn gre(flags: u16, proto: u16, extra: &[u8], payload: &[u8]) -> Vec<u8> {
    let mut v = flags.to_be_bytes().to_vec();
    v.extend_from_slice(&proto.to_be_bytes());
    v.extend_from_slice(extra);
    v.extend_from_slice(payload);
    v
}

const SIP: &[u8] = b"OPTIONS sip:a@b SIP/2.0\r\n\r\n";

fn udp4_frame() -> Vec<u8> {
    eth(0x0800, &ipv4(A4, B4, 17, &udp(5060, 5062, SIP)))
}

fn dec() -> Decoder {
    Decoder::new(DefragConfig::default())
}

fn check_udp4(d: &Decoded<'_>) {
    assert_eq!(d.src, ip4(A4));
    assert_eq!(d.dst, ip4(B4));
    assert_eq!(d.transport, Transport::Udp);
    assert_eq!((d.sport, d.dport), (5060, 5062));
    assert_eq!(d.payload, SIP);
    assert_eq!(d.ip_len, 20 + 8 + SIP.len());
    assert!(d.tcp.is_none());
}

// ---------- link types ----------

#[test]
fn from_dlt_maps_all() {
    assert_eq!(LinkType::from_dlt(1), Some(LinkType::Ethernet));
    assert_eq!(LinkType::from_dlt(113), Some(LinkType::LinuxSll));
    assert_eq!(LinkType::from_dlt(276), Some(LinkType::LinuxSll2));
    assert_eq!(LinkType::from_dlt(0), Some(LinkType::Null));
    assert_eq!(LinkType::from_dlt(108), Some(LinkType::Loop));
    for raw in [12, 14, 101] {
        assert_eq!(LinkType::from_dlt(raw), Some(LinkType::Raw));
    }
    assert_eq!(LinkType::from_dlt(228), Some(LinkType::Ipv4));
    assert_eq!(LinkType::from_dlt(229), Some(LinkType::Ipv6));
    assert_eq!(LinkType::from_dlt(105), None);
    assert_eq!(LinkType::from_dlt(-1), None);
}

#[test]
fn each_link_type_decodes() {
    let ip = ipv4(A4, B4, 17, &udp(5060, 5062, SIP));
    let mut sll = vec![0, 0, 0, 1, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0, 0x08, 0x00];
    sll.extend_from_slice(&ip);
    let mut sll2 = vec![
        0x08, 0x00, 0, 0, 0, 0, 0, 2, 0, 1, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0,
    ];
    sll2.extend_from_slice(&ip);
    let mut null_le = vec![2, 0, 0, 0];
    null_le.extend_from_slice(&ip);
    let mut null_be = vec![0, 0, 0, 2];
    null_be.extend_from_slice(&ip);
    let mut lo = vec![0, 0, 0, 2];
    lo.extend_from_slice(&ip);
    let cases: Vec<(LinkType, Vec<u8>)> = vec![
        (LinkType::Ethernet, udp4_frame()),
        (LinkType::LinuxSll, sll),
        (LinkType::LinuxSll2, sll2),
        (LinkType::Null, null_le),
        (LinkType::Null, null_be),
        (LinkType::Loop, lo),
        (LinkType::Raw, ip.clone()),
        (LinkType::Ipv4, ip),
    ];
    let mut d = dec();
    for (lt, f) in &cases {
        let r = d
            .decode(*lt, f, Ts(1))
            .unwrap_or_else(|e| panic!("{lt:?}: {e}"));
        check_udp4(&r);
        assert!(!r.tunneled && !r.reassembled);
        assert_eq!(r.vlan, None);
    }
    // IPv6 over raw, Ipv6, NULL (each BSD AF_INET6 value), LOOP
    let ip6f = ipv6(A6, B6, 17, &udp(1, 2, SIP));
    let mut frames = vec![
        (LinkType::Raw, ip6f.clone()),
        (LinkType::Ipv6, ip6f.clone()),
    ];
    for fam in [24u32, 28, 30] {
        let mut f = fam.to_le_bytes().to_vec();
        f.extend_from_slice(&ip6f);
        frames.push((LinkType::Null, f));
        let mut f = fam.to_be_bytes().to_vec();
        f.extend_from_slice(&ip6f);
        frames.push((LinkType::Loop, f));
    }
    for (lt, f) in &frames {
        let r = d.decode(*lt, f, Ts(1)).unwrap();
        assert_eq!((r.src, r.dst), (ip6(A6), ip6(B6)));
        assert_eq!(r.payload, SIP);
        assert_eq!(r.ip_len, 40 + 8 + SIP.len());
    }
    // raw with a bad version, NULL with an unknown family
    assert_eq!(
        d.decode(LinkType::Raw, &[0x50; 40], Ts(1))
            .unwrap_err()
            .kind(),
        "malformed_raw"
    );
    assert_eq!(
        d.decode(LinkType::Null, &[7, 0, 0, 0, 0x45], Ts(1)),
        Err(DecodeError::NotIp { ethertype: 7 })
    );
}

#[test]
fn not_ip_and_unsupported_proto() {
    let mut d = dec();
    let arp = eth(0x0806, &[0u8; 28]);
    let e = d.decode(LinkType::Ethernet, &arp, Ts(0)).unwrap_err();
    assert_eq!(e, DecodeError::NotIp { ethertype: 0x0806 });
    assert_eq!(e.kind(), "not_ip");
    let icmp = eth(0x0800, &ipv4(A4, B4, 1, &[8, 0, 0, 0, 0, 0, 0, 0]));
    let e = d.decode(LinkType::Ethernet, &icmp, Ts(0)).unwrap_err();
    assert_eq!(e, DecodeError::UnsupportedIpProto(1));
    assert_eq!(e.kind(), "unsupported_ip_proto");
    // 802.3 length field
    let llc = eth(0x0030, &[0u8; 48]);
    assert_eq!(
        d.decode(LinkType::Ethernet, &llc, Ts(0))
            .unwrap_err()
            .kind(),
        "not_ip"
    );
}

#[test]
fn vlan_and_qinq_ids() {
    let ip = ipv4(A4, B4, 17, &udp(5060, 5062, SIP));
    let mut d = dec();
    // single 802.1Q
    let mut p = vlan_tag(0x8100, 42, 0x0800)[2..].to_vec();
    p.extend_from_slice(&ip);
    let f = eth(0x8100, &p);
    let r = d.decode(LinkType::Ethernet, &f, Ts(0)).unwrap();
    assert_eq!((r.vlan, r.vlan_inner), (Some(42), None));
    check_udp4(&r);
    // QinQ: 802.1ad outer 100, 802.1Q inner 200; and the old 0x9100 outer
    for tpid in [0x88a8u16, 0x9100] {
        let mut p = vlan_tag(tpid, 100, 0x8100)[2..].to_vec();
        p.extend_from_slice(&vlan_tag(0x8100, 200, 0x0800)[2..]);
        p.extend_from_slice(&ip);
        let f = eth(tpid, &p);
        let r = d.decode(LinkType::Ethernet, &f, Ts(0)).unwrap();
        assert_eq!((r.vlan, r.vlan_inner), (Some(100), Some(200)));
        check_udp4(&r);
    }
    // VLAN over SLL (untagged by the kernel it would not be, but the protocol may say so)
    let mut sll = vec![0, 0, 0, 1, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0, 0x81, 0x00];
    sll.extend_from_slice(&vlan_tag(0x8100, 7, 0x0800)[2..]);
    sll.extend_from_slice(&ip);
    let r = d.decode(LinkType::LinuxSll, &sll, Ts(0)).unwrap();
    assert_eq!(r.vlan, Some(7));
}

#[test]
fn mpls_and_pppoe() {
    let ip = ipv4(A4, B4, 17, &udp(5060, 5062, SIP));
    let mut d = dec();
    let mut p = vec![0, 0x10, 0x00, 64, 0, 0x20, 0x01, 64]; // two labels, second bottom of stack
    p.extend_from_slice(&ip);
    let f = eth(0x8847, &p);
    let r = d.decode(LinkType::Ethernet, &f, Ts(0)).unwrap();
    check_udp4(&r);
    // PPPoE session
    let mut p = vec![0x11, 0, 0x12, 0x34];
    p.extend_from_slice(&((ip.len() + 2) as u16).to_be_bytes());
    p.extend_from_slice(&[0x00, 0x21]);
    p.extend_from_slice(&ip);
    let f = eth(0x8864, &p);
    let r = d.decode(LinkType::Ethernet, &f, Ts(0)).unwrap();
    check_udp4(&r);
}

#[test]
fn ipv6_extension_headers() {
    // hop-by-hop (8) -> routing (type 0 with 0 segments left; 24 bytes) -> destination options (16) -> UDP
    let u = udp(5060, 5080, SIP);
    let mut ext = vec![43, 0, 1, 4, 0, 0, 0, 0]; // HBH: next routing, PadN
    ext.extend_from_slice(&[60, 2, 0, 0]); // routing: next dst opts, len 2 => 24 bytes
    ext.extend_from_slice(&[0u8; 20]);
    ext.extend_from_slice(&[17, 1, 1, 12]); // dst opts: next UDP, len 1 => 16 bytes, PadN 12
    ext.extend_from_slice(&[0u8; 12]);
    ext.extend_from_slice(&u);
    let f = eth(0x86DD, &ipv6(A6, B6, 0, &ext));
    let mut d = dec();
    let r = d.decode(LinkType::Ethernet, &f, Ts(0)).unwrap();
    assert_eq!((r.src, r.dst), (ip6(A6), ip6(B6)));
    assert_eq!((r.sport, r.dport), (5060, 5080));
    assert_eq!(r.payload, SIP);
    assert_eq!(r.ip_len, 40 + ext.len());
    // atomic fragment (offset 0, M=0) passes straight through
    let mut fh = vec![17, 0, 0, 0, 0, 0, 0, 9];
    fh.extend_from_slice(&u);
    let f = eth(0x86DD, &ipv6(A6, B6, 44, &fh));
    let r = d.decode(LinkType::Ethernet, &f, Ts(0)).unwrap();
    assert_eq!(r.payload, SIP);
    assert!(!r.reassembled);
    // no next header
    let f = eth(0x86DD, &ipv6(A6, B6, 59, &[]));
    assert_eq!(
        d.decode(LinkType::Ethernet, &f, Ts(0)),
        Err(DecodeError::UnsupportedIpProto(59))
    );
    // a loop of extension headers is bounded
    let mut ext = Vec::new();
    for _ in 0..40 {
        ext.extend_from_slice(&[60, 0, 1, 4, 0, 0, 0, 0]);
    }
    let f = eth(0x86DD, &ipv6(A6, B6, 60, &ext));
    assert_eq!(
        d.decode(LinkType::Ethernet, &f, Ts(0)).unwrap_err().kind(),
        "malformed_ipv6"
    );
}

#[test]
fn udp_with_ethernet_padding() {
    let small = b"hi";
    let mut f = eth(0x0800, &ipv4(A4, B4, 17, &udp(1000, 2000, small)));
    assert!(f.len() < 60);
    f.resize(60, 0xEE);
    let mut d = dec();
    let r = d.decode(LinkType::Ethernet, &f, Ts(0)).unwrap();
    assert_eq!(r.payload, small);
    assert_eq!(r.ip_len, 30);
    // UDP length shorter than the IP payload also clips
    let mut u = udp(1000, 2000, small);
    u.extend_from_slice(&[0xAA; 6]);
    let f = eth(0x0800, &ipv4(A4, B4, 17, &u));
    let r = d.decode(LinkType::Ethernet, &f, Ts(0)).unwrap();
    assert_eq!(r.payload, small);
    // UDP length below 8 is malformed
    let mut u = udp(1000, 2000, small);
    u[4..6].copy_from_slice(&4u16.to_be_bytes());
    let f = eth(0x0800, &ipv4(A4, B4, 17, &u));
    assert_eq!(
        d.decode(LinkType::Ethernet, &f, Ts(0)).unwrap_err().kind(),
        "malformed_udp"
    );
}

#[test]
fn tcp_with_options_and_ipv4_options() {
    let opts = [2, 4, 5, 0xb4, 1, 1, 4, 2, 1, 3, 3, 7]; // MSS, NOP, NOP, SACKOK, NOP, WS
    let t = tcp(5060, 40000, 0xDEADBEEF, 7, 0x18, &opts, SIP);
    let ipopts = [0x94, 4, 0, 0]; // router alert
    let f = eth(0x0800, &ipv4_opts(A4, B4, 6, &t, (9, false, 0), &ipopts));
    let mut d = dec();
    let r = d.decode(LinkType::Ethernet, &f, Ts(0)).unwrap();
    assert_eq!(r.transport, Transport::Tcp);
    assert_eq!((r.sport, r.dport), (5060, 40000));
    assert_eq!(r.payload, SIP);
    assert_eq!(
        r.tcp,
        Some(TcpInfo {
            seq: 0xDEADBEEF,
            ack: 7,
            flags: TCP_PSH | TCP_ACK,
            window: 4321
        })
    );
    assert_eq!(r.ip_len, 24 + 32 + SIP.len());
    // data offset < 5
    let mut bad = t.clone();
    bad[12] = 0x40;
    let f = eth(0x0800, &ipv4(A4, B4, 6, &bad));
    assert_eq!(
        d.decode(LinkType::Ethernet, &f, Ts(0)).unwrap_err().kind(),
        "malformed_tcp"
    );
    // data offset past the end
    let mut bad = tcp(1, 2, 0, 0, TCP_SYN, &[], &[]);
    bad[12] = 0xF0;
    let f = eth(0x0800, &ipv4(A4, B4, 6, &bad));
    assert_eq!(
        d.decode(LinkType::Ethernet, &f, Ts(0)).unwrap_err().kind(),
        "truncated"
    );
}

#[test]
fn sctp_chunks() {
    let mut chunks = sctp_data_chunk(b"INVITE x");
    chunks.extend_from_slice(&[3, 0, 0, 16]); // SACK, 16 bytes
    chunks.extend_from_slice(&[0u8; 12]);
    chunks.extend_from_slice(&sctp_data_chunk(b"BYE"));
    let f = eth(0x0800, &ipv4(A4, B4, 132, &sctp(5060, 5061, &chunks)));
    let mut d = dec();
    let r = d.decode(LinkType::Ethernet, &f, Ts(0)).unwrap();
    assert_eq!(r.transport, Transport::Sctp);
    assert_eq!((r.sport, r.dport), (5060, 5061));
    assert_eq!(r.payload, &chunks[..]);
    let datas: Vec<&[u8]> = sctp_data_chunks(r.payload).collect();
    assert_eq!(datas, vec![&b"INVITE x"[..], &b"BYE"[..]]);
    // truncated last chunk is not yielded; zero-length chunk stops the walk
    let mut c = sctp_data_chunk(b"one");
    c.extend_from_slice(&sctp_data_chunk(b"two")[..10]);
    assert_eq!(sctp_data_chunks(&c).count(), 1);
    let mut c = vec![0, 0, 0, 0];
    c.extend_from_slice(&sctp_data_chunk(b"x"));
    assert_eq!(sctp_data_chunks(&c).count(), 0);
    // bounded: thousands of tiny chunks
    let c: Vec<u8> = sctp_data_chunk(b"").repeat(5000);
    assert_eq!(sctp_data_chunks(&c).count(), MAX_SCTP_CHUNKS);
}

// ---------- tunnels ----------

#[test]
fn ip_in_ip_and_6in4() {
    let inner = ipv4(
        [192, 168, 0, 1],
        [192, 168, 0, 2],
        17,
        &udp(5060, 5060, SIP),
    );
    let f = eth(0x0800, &ipv4(A4, B4, 4, &inner));
    let mut d = dec();
    let r = d.decode(LinkType::Ethernet, &f, Ts(0)).unwrap();
    assert!(r.tunneled);
    assert_eq!(r.src, ip4([192, 168, 0, 1]));
    assert_eq!(r.ip_len, inner.len());
    assert_eq!(r.payload, SIP);
    let inner6 = ipv6(A6, B6, 17, &udp(5060, 5060, SIP));
    let f = eth(0x0800, &ipv4(A4, B4, 41, &inner6));
    let r = d.decode(LinkType::Ethernet, &f, Ts(0)).unwrap();
    assert!(r.tunneled);
    assert_eq!(r.dst, ip6(B6));
    // IPv4 in IPv6
    let f = eth(0x86DD, &ipv6(A6, B6, 4, &inner));
    let r = d.decode(LinkType::Ethernet, &f, Ts(0)).unwrap();
    assert_eq!(r.src, ip4([192, 168, 0, 1]));
    // nesting depth: 4 tunnels fine, 5 refused
    let mut p = inner.clone();
    for _ in 0..4 {
        p = ipv4(A4, B4, 4, &p);
    }
    let f = eth(0x0800, &p);
    assert!(d.decode(LinkType::Ethernet, &f, Ts(0)).is_ok());
    let f = eth(0x0800, &ipv4(A4, B4, 4, &p));
    assert_eq!(
        d.decode(LinkType::Ethernet, &f, Ts(0)).unwrap_err().kind(),
        "malformed_tunnel"
    );
}

#[test]
fn gre_variants() {
    let inner = ipv4(
        [192, 168, 0, 1],
        [192, 168, 0, 2],
        17,
        &udp(5060, 5060, SIP),
    );
    let inner_eth = {
        let mut p = vlan_tag(0x8100, 300, 0x0800)[2..].to_vec();
        p.extend_from_slice(&inner);
        eth(0x8100, &p)
    };
    let mut d = dec();
    let check = |r: &Decoded<'_>| {
        assert!(r.tunneled);
        assert_eq!(r.src, ip4([192, 168, 0, 1]));
        assert_eq!(r.payload, SIP);
    };
    // plain GRE, IPv4
    let f = eth(0x0800, &ipv4(A4, B4, 47, &gre(0, 0x0800, &[], &inner)));
    check(&d.decode(LinkType::Ethernet, &f, Ts(0)).unwrap());
    // checksum + key + sequence
    let f = eth(
        0x0800,
        &ipv4(A4, B4, 47, &gre(0xB000, 0x0800, &[0; 12], &inner)),
    );
    check(&d.decode(LinkType::Ethernet, &f, Ts(0)).unwrap());
    // IPv6 payload over GRE over IPv6
    let inner6 = ipv6(A6, B6, 17, &udp(5060, 5060, SIP));
    let f = eth(
        0x86DD,
        &ipv6(B6, A6, 47, &gre(0x2000, 0x86DD, &[0; 4], &inner6)),
    );
    let r = d.decode(LinkType::Ethernet, &f, Ts(0)).unwrap();
    assert_eq!(r.src, ip6(A6));
    // transparent Ethernet bridging with an inner VLAN
    let f = eth(
        0x0800,
        &ipv4(A4, B4, 47, &gre(0x2000, 0x6558, &[0; 4], &inner_eth)),
    );
    let r = d.decode(LinkType::Ethernet, &f, Ts(0)).unwrap();
    check(&r);
    assert_eq!(r.vlan, Some(300));
    // ERSPAN type I (no sequence, no header)
    let f = eth(0x0800, &ipv4(A4, B4, 47, &gre(0, 0x88BE, &[], &inner_eth)));
    check(&d.decode(LinkType::Ethernet, &f, Ts(0)).unwrap());
    // ERSPAN type II
    let mut e2 = vec![0, 0, 0, 1]; // sequence
    e2.extend_from_slice(&[0x10, 0x01, 0x00, 0x05, 0, 0, 0, 0]);
    let f = eth(
        0x0800,
        &ipv4(A4, B4, 47, &gre(0x1000, 0x88BE, &e2, &inner_eth)),
    );
    check(&d.decode(LinkType::Ethernet, &f, Ts(0)).unwrap());
    // ERSPAN type III without and with the platform subheader
    for o in [false, true] {
        let mut e3 = vec![0, 0, 0, 1];
        e3.extend_from_slice(&[0x20, 0, 0, 5, 1, 2, 3, 4, 0, 0, 0, u8::from(o)]);
        if o {
            e3.extend_from_slice(&[0xAA; 8]);
        }
        let f = eth(
            0x0800,
            &ipv4(A4, B4, 47, &gre(0x1000, 0x22EB, &e3, &inner_eth)),
        );
        check(&d.decode(LinkType::Ethernet, &f, Ts(0)).unwrap());
    }
    // PPTP enhanced GRE v1 with PPP (address/control present, then compressed)
    // (key + sequence, with and without the acknowledgment number)
    let key_seq = [0, 0, 0, 1, 0, 0, 0, 2];
    let key_seq_ack = [0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3];
    for (flags, extra, ppp_hdr) in [
        (0x3001, &key_seq[..], &[0xFF, 0x03, 0x00, 0x21][..]),
        (0x3081, &key_seq_ack[..], &[0xFF, 0x03, 0x00, 0x21][..]),
        (0x3001, &key_seq[..], &[0x21][..]),
    ] {
        let mut p = ppp_hdr.to_vec();
        p.extend_from_slice(&inner);
        let f = eth(0x0800, &ipv4(A4, B4, 47, &gre(flags, 0x880B, extra, &p)));
        check(&d.decode(LinkType::Ethernet, &f, Ts(0)).unwrap());
    }
    // bad version and routing
    let f = eth(0x0800, &ipv4(A4, B4, 47, &gre(0x0002, 0x0800, &[], &inner)));
    assert_eq!(
        d.decode(LinkType::Ethernet, &f, Ts(0)).unwrap_err().kind(),
        "malformed_gre"
    );
    let f = eth(0x0800, &ipv4(A4, B4, 47, &gre(0x4000, 0x0800, &[], &inner)));
    assert_eq!(
        d.decode(LinkType::Ethernet, &f, Ts(0)).unwrap_err().kind(),
        "malformed_gre"
    );
    // GRE in GRE in GRE ... bounded
    let mut p = inner.clone();
    for _ in 0..6 {
        p = ipv4(A4, B4, 47, &gre(0, 0x0800, &[], &p));
    }
    assert_eq!(
        d.decode(LinkType::Ipv4, &p, Ts(0)).unwrap_err().kind(),
        "malformed_tunnel"
    );
}

// ---------- truncation ----------

fn sample_frames() -> Vec<(LinkType, Vec<u8>)> {
    let inner = ipv4(
        [192, 168, 0, 1],
        [192, 168, 0, 2],
        17,
        &udp(5060, 5060, SIP),
    );
    let inner_eth = eth(0x0800, &inner);
    let mut e2 = vec![0, 0, 0, 1];
    e2.extend_from_slice(&[0x10, 0x01, 0x00, 0x05, 0, 0, 0, 0]);
    let mut ext = vec![60, 0, 1, 4, 0, 0, 0, 0];
    ext.extend_from_slice(&[6, 0, 1, 4, 0, 0, 0, 0]);
    ext.extend_from_slice(&tcp(1, 2, 3, 4, 0x12, &[2, 4, 5, 0xb4], SIP));
    let mut qinq = vlan_tag(0x88a8, 100, 0x8100)[2..].to_vec();
    qinq.extend_from_slice(&vlan_tag(0x8100, 200, 0x86DD)[2..]);
    qinq.extend_from_slice(&ipv6(A6, B6, 0, &ext));
    let mut sll2 = vec![
        0x08, 0x00, 0, 0, 0, 0, 0, 2, 0, 1, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0,
    ];
    sll2.extend_from_slice(&ipv4(A4, B4, 132, &sctp(1, 2, &sctp_data_chunk(SIP))));
    let mut pppoe = vec![0x11, 0, 0x12, 0x34];
    pppoe.extend_from_slice(&((inner.len() + 2) as u16).to_be_bytes());
    pppoe.extend_from_slice(&[0x00, 0x21]);
    pppoe.extend_from_slice(&inner);
    vec![
        (LinkType::Ethernet, udp4_frame()),
        (LinkType::Ethernet, eth(0x88a8, &qinq)),
        (
            LinkType::Ethernet,
            eth(
                0x0800,
                &ipv4(A4, B4, 47, &gre(0x1000, 0x88BE, &e2, &inner_eth)),
            ),
        ),
        (LinkType::Ethernet, eth(0x8864, &pppoe)),
        (LinkType::LinuxSll2, sll2),
        (LinkType::Raw, ipv4(A4, B4, 4, &inner)),
    ]
}

#[test]
fn truncated_at_every_length() {
    let mut d = dec();
    for (lt, f) in sample_frames() {
        assert!(d.decode(lt, &f, Ts(0)).is_ok(), "{lt:?} full frame");
        for n in 0..f.len() {
            match d.decode(lt, &f[..n], Ts(0)) {
                Err(DecodeError::Truncated { .. }) | Err(DecodeError::Malformed { .. }) => {}
                other => panic!("{lt:?} cut at {n}: {other:?}"),
            }
        }
    }
}

// ---------- fragments ----------

/// Split an IP payload into IPv4 fragment packets (raw IP) at the given piece sizes
/// (multiples of 8 except the last).
fn frag4(id: u16, proto: u8, payload: &[u8], sizes: &[usize]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut off = 0;
    let mut i = 0;
    while off < payload.len() {
        let sz = sizes.get(i).copied().unwrap_or(payload.len()).max(8) / 8 * 8;
        let end = (off + sz).min(payload.len());
        let more = end < payload.len();
        out.push(ipv4_opts(
            A4,
            B4,
            proto,
            &payload[off..end],
            (id, more, (off / 8) as u16),
            &[],
        ));
        off = end;
        i += 1;
    }
    out
}

fn frag6(id: u32, next: u8, payload: &[u8], sizes: &[usize]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut off = 0;
    let mut i = 0;
    while off < payload.len() {
        let sz = sizes.get(i).copied().unwrap_or(payload.len()).max(8) / 8 * 8;
        let end = (off + sz).min(payload.len());
        let more = end < payload.len();
        let mut fh = vec![next, 0];
        fh.extend_from_slice(&((off as u16) | u16::from(more)).to_be_bytes());
        fh.extend_from_slice(&id.to_be_bytes());
        fh.extend_from_slice(&payload[off..end]);
        out.push(ipv6(A6, B6, 44, &fh));
        off = end;
        i += 1;
    }
    out
}

fn big_payload(n: usize) -> Vec<u8> {
    let mut p = b"INVITE sip:bob@example.com SIP/2.0\r\n".to_vec();
    while p.len() < n {
        p.push(b'a' + (p.len() % 26) as u8);
    }
    p.truncate(n);
    p
}

/// Feed raw-IP frames; return the reassembled result (payload copy, ports, ip_len) if any.
fn feed(d: &mut Decoder, frames: &[Vec<u8>], ts: Ts) -> Vec<(Vec<u8>, u16, u16, usize)> {
    let mut out = Vec::new();
    for f in frames {
        match d.decode(LinkType::Raw, f, ts) {
            Ok(r) => {
                assert!(r.reassembled);
                out.push((r.payload.to_vec(), r.sport, r.dport, r.ip_len));
            }
            Err(DecodeError::FragmentHeld) => {}
            Err(e) => panic!("unexpected {e}"),
        }
    }
    out
}

#[test]
fn ipv4_fragments_in_order_and_reversed() {
    let body = big_payload(3000);
    let u = udp(5060, 5070, &body);
    let frags = frag4(77, 17, &u, &[1480, 1480]);
    assert_eq!(frags.len(), 3);
    let mut d = dec();
    let got = feed(&mut d, &frags, Ts(1));
    assert_eq!(got, vec![(body.clone(), 5060, 5070, 20 + u.len())]);
    let mut rev = frags.clone();
    rev.reverse();
    let got = feed(&mut d, &rev, Ts(2));
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].0, body);
    let s = d.defrag_stats();
    assert_eq!(
        (s.completed, s.held, s.bytes_held, s.fragments),
        (2, 0, 0, 6)
    );
    assert_eq!(s.overlaps, 0);
}

#[test]
fn ipv4_fragments_duplicated_and_overlapping() {
    let body = big_payload(2000);
    let u = udp(5060, 5070, &body);
    let frags = frag4(5, 17, &u, &[800, 800]);
    let mut d = dec();
    // duplicate of the first fragment
    let seq = vec![
        frags[0].clone(),
        frags[0].clone(),
        frags[1].clone(),
        frags[2].clone(),
    ];
    let got = feed(&mut d, &seq, Ts(1));
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].0, body);
    assert_eq!(d.defrag_stats().overlaps, 1);

    // overlapping fragment with different bytes: the first copy wins
    let mut evil = u[400..1200].to_vec();
    evil.iter_mut().for_each(|b| *b = b'X');
    let evil_f = ipv4_opts(A4, B4, 17, &evil, (6, true, 50), &[]);
    let frags = frag4(6, 17, &u, &[800, 800]);
    let seq = vec![frags[0].clone(), evil_f, frags[1].clone(), frags[2].clone()];
    let got = feed(&mut d, &seq, Ts(2));
    assert_eq!(got.len(), 1);
    let mut expect = u[8..].to_vec();
    // bytes 800..1200 of the UDP datagram came from the evil fragment (arrived before frag 2)
    for b in &mut expect[800 - 8..1200 - 8] {
        *b = b'X';
    }
    assert_eq!(got[0].0, expect);
    let s = d.defrag_stats();
    assert_eq!(s.overlaps, 3);
    assert_eq!(s.completed, 2);
    assert_eq!(s.held, 0);
}

#[test]
fn missing_fragment_times_out() {
    let u = udp(5060, 5070, &big_payload(2000));
    let frags = frag4(9, 17, &u, &[800, 800]);
    let cfg = DefragConfig {
        timeout_ns: 5_000_000_000,
        ..DefragConfig::default()
    };
    let mut d = Decoder::new(cfg);
    feed(
        &mut d,
        &[frags[0].clone(), frags[2].clone()],
        Ts::ZERO.add_secs(100),
    );
    let s = d.defrag_stats();
    assert_eq!(s.held, 1);
    assert!(s.bytes_held >= 2008);
    // not yet expired
    let other = udp4_frame();
    d.decode(LinkType::Ethernet, &other, Ts::ZERO.add_secs(104))
        .unwrap();
    assert_eq!(d.defrag_stats().held, 1);
    d.decode(LinkType::Ethernet, &other, Ts::ZERO.add_secs(106))
        .unwrap();
    let s = d.defrag_stats();
    assert_eq!(
        (s.held, s.bytes_held, s.timed_out, s.completed),
        (0, 0, 1, 0)
    );
    // the late middle fragment starts a new datagram that is never completed
    assert_eq!(
        d.decode(LinkType::Raw, &frags[1], Ts::ZERO.add_secs(107)),
        Err(DecodeError::FragmentHeld)
    );
}

#[test]
fn ipv6_fragments() {
    let body = big_payload(2500);
    let u = udp(5060, 5090, &body);
    let frags = frag6(0xb0647780, 17, &u, &[1232, 1232]);
    assert_eq!(frags.len(), 3);
    let mut d = dec();
    let mut shuffled = vec![frags[1].clone(), frags[2].clone(), frags[0].clone()];
    let got = feed(&mut d, &shuffled, Ts(5));
    assert_eq!(got, vec![(body.clone(), 5060, 5090, 40 + u.len())]);
    // a fragment of another id with the same addresses does not mix in
    shuffled[0] = frag6(1, 17, &u, &[1232, 1232])[1].clone();
    let got = feed(&mut d, &shuffled, Ts(6));
    assert!(got.is_empty());
    assert_eq!(d.defrag_stats().held, 2);
    // fragments of an IPv6 packet whose unfragmentable part has a hop-by-hop header
    let mut first = frag6(3, 17, &u, &[1232, 1232]);
    for f in &mut first {
        let mut p = vec![44, 0, 1, 4, 0, 0, 0, 0];
        p.extend_from_slice(&f[40..]);
        *f = ipv6(A6, B6, 0, &p);
    }
    let got = feed(&mut d, &first, Ts(7));
    assert_eq!(got, vec![(body.clone(), 5060, 5090, 48 + u.len())]);
}

#[test]
fn bad_fragments_are_counted() {
    let mut d = dec();
    // unaligned non-last fragment
    let f = ipv4_opts(A4, B4, 17, &[0u8; 13], (1, true, 0), &[]);
    assert_eq!(
        d.decode(LinkType::Raw, &f, Ts(0)),
        Err(DecodeError::FragmentDropped {
            reason: "unaligned fragment"
        })
    );
    // past the maximum datagram length
    let f = ipv4_opts(A4, B4, 17, &[0u8; 64], (2, true, 8191), &[]);
    assert_eq!(
        d.decode(LinkType::Raw, &f, Ts(0)).unwrap_err().kind(),
        "fragment_dropped"
    );
    // conflicting ends
    let f1 = ipv4_opts(A4, B4, 17, &[0u8; 16], (3, false, 4), &[]);
    let f2 = ipv4_opts(A4, B4, 17, &[0u8; 24], (3, false, 4), &[]);
    assert_eq!(
        d.decode(LinkType::Raw, &f1, Ts(0)),
        Err(DecodeError::FragmentHeld)
    );
    assert_eq!(
        d.decode(LinkType::Raw, &f2, Ts(0)).unwrap_err().kind(),
        "fragment_dropped"
    );
    let s = d.defrag_stats();
    assert_eq!((s.bad, s.too_long, s.held), (2, 1, 1));
}

#[test]
fn caps_bound_the_table() {
    let cfg = DefragConfig {
        max_datagrams: 16,
        max_bytes: 1 << 20,
        ..DefragConfig::default()
    };
    let mut d = Decoder::new(cfg);
    for id in 0..1000u16 {
        let f = ipv4_opts(A4, B4, 17, &[1u8; 64], (id, true, 0), &[]);
        assert_eq!(
            d.decode(LinkType::Raw, &f, Ts(u64::from(id))),
            Err(DecodeError::FragmentHeld)
        );
        assert!(d.defrag_stats().held <= 16);
    }
    let s = d.defrag_stats();
    assert_eq!((s.held, s.evicted), (16, 1000 - 16));
    // the newest ones are still there and complete
    let last = ipv4_opts(A4, B4, 17, &[1u8; 8], (999, false, 8), &[]);
    assert!(d.decode(LinkType::Raw, &last, Ts(2000)).is_err()); // a UDP header of ones: length 257 > data
    assert_eq!(d.defrag_stats().completed, 1);

    // byte cap: far-offset fragments cost their whole buffer
    let cfg = DefragConfig {
        max_datagrams: 4096,
        max_bytes: 256 * 1024,
        ..DefragConfig::default()
    };
    let mut d = Decoder::new(cfg);
    for id in 0..200u16 {
        let f = ipv4_opts(A4, B4, 17, &[0u8; 8], (id, true, 7000), &[]);
        assert_eq!(
            d.decode(LinkType::Raw, &f, Ts(1)),
            Err(DecodeError::FragmentHeld)
        );
        assert!(d.defrag_stats().bytes_held <= 256 * 1024);
    }
    let s = d.defrag_stats();
    assert!(s.evicted > 150, "{s:?}");
    assert!(s.held < 10);
    // a single datagram larger than the byte cap is refused
    let cfg = DefragConfig {
        max_bytes: 1000,
        ..DefragConfig::default()
    };
    let mut d = Decoder::new(cfg);
    let f = ipv4_opts(A4, B4, 17, &[0u8; 8], (1, true, 200), &[]);
    assert_eq!(
        d.decode(LinkType::Raw, &f, Ts(1)),
        Err(DecodeError::FragmentDropped {
            reason: "memory cap"
        })
    );
    assert_eq!(d.defrag_stats().held, 0);
    assert_eq!(d.defrag_stats().bytes_held, 0);
}

#[test]
fn many_tiny_fragments_are_bounded() {
    let mut d = dec();
    // every other 8-byte block of a 64 KiB datagram: holes everywhere
    let mut last = Ok(());
    for i in 0..4000u16 {
        let f = ipv4_opts(A4, B4, 17, &[0u8; 8], (1, true, i * 2), &[]);
        last = match d.decode(LinkType::Raw, &f, Ts(0)) {
            Err(DecodeError::FragmentHeld) => Ok(()),
            Err(e) => Err(e),
            Ok(_) => panic!("cannot complete"),
        };
        if last.is_err() {
            break;
        }
    }
    assert_eq!(
        last,
        Err(DecodeError::FragmentDropped {
            reason: "too many fragments"
        })
    );
    assert_eq!(d.defrag_stats().held, 0);
}

#[test]
fn fragmented_tunnel_outer() {
    // the outer IPv4 packet carrying IP-in-IP is fragmented
    let inner = ipv4(
        [192, 168, 0, 1],
        [192, 168, 0, 2],
        17,
        &udp(5060, 5060, &big_payload(1800)),
    );
    let frags = frag4(44, 4, &inner, &[1000]);
    let mut d = dec();
    assert_eq!(
        d.decode(LinkType::Raw, &frags[0], Ts(0)),
        Err(DecodeError::FragmentHeld)
    );
    let r = d.decode(LinkType::Raw, &frags[1], Ts(0)).unwrap();
    assert!(r.reassembled && r.tunneled);
    assert_eq!(r.src, ip4([192, 168, 0, 1]));
    assert_eq!(r.payload, &big_payload(1800)[..]);
    // fragments of the inner packet within an unfragmented tunnel
    let u = udp(5060, 5061, &big_payload(1500));
    let frags = frag4(45, 17, &u, &[800]);
    let mut got = 0;
    for f in &frags {
        let outer = eth(0x0800, &ipv4([1, 1, 1, 1], [2, 2, 2, 2], 4, f));
        if let Ok(r) = d.decode(LinkType::Ethernet, &outer, Ts(0)) {
            assert!(r.reassembled && r.tunneled);
            assert_eq!(r.payload, &big_payload(1500)[..]);
            got += 1;
        }
    }
    assert_eq!(got, 1);
}

#[test]
fn error_kinds_and_display() {
    let e = DecodeError::Malformed {
        layer: "ipv4",
        reason: "total length",
    };
    assert_eq!(e.kind(), "malformed_ipv4");
    assert_eq!(e.to_string(), "ipv4: malformed (total length)");
    assert_eq!(DecodeError::FragmentHeld.kind(), "fragment_held");
    assert_eq!(
        DecodeError::Truncated { layer: "udp" }.to_string(),
        "udp: truncated"
    );
    assert_eq!(DecodeError::UnsupportedLink(147).kind(), "unsupported_link");
}

// ---------- property tests ----------

proptest! {
    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400), ts in any::<u64>()) {
        let mut d = Decoder::new(DefragConfig { max_datagrams: 8, max_bytes: 1 << 16, ..DefragConfig::default() });
        for lt in LinkType::ALL {
            if let Ok(r) = d.decode(lt, &bytes, Ts(ts)) {
                prop_assert!(r.payload.len() <= bytes.len() || r.reassembled);
            }
            let _ = sctp_data_chunks(&bytes).count();
        }
        prop_assert!(d.defrag_stats().held <= 8);
    }

    /// Random bytes behind valid headers reach the deeper layers.
    #[test]
    fn random_payloads_behind_headers_never_panic(
        bytes in proptest::collection::vec(any::<u8>(), 0..200),
        proto in prop::sample::select(vec![0u8, 4, 6, 17, 41, 43, 44, 47, 51, 60, 132]),
    ) {
        let mut d = dec();
        let _ = d.decode(LinkType::Ipv4, &ipv4(A4, B4, proto, &bytes), Ts(0));
        let _ = d.decode(LinkType::Ipv6, &ipv6(A6, B6, proto, &bytes), Ts(0));
        let _ = d.decode(LinkType::Ipv4, &ipv4(A4, B4, 47, &gre(0x1000, 0x88BE, &bytes, &[])), Ts(0));
        let _ = d.decode(LinkType::Ipv4, &ipv4(A4, B4, 47, &gre(0x2000, 0x22EB, &bytes, &[])), Ts(0));
        let _ = d.decode(LinkType::Ethernet, &eth(0x8847, &bytes), Ts(0));
        let _ = d.decode(LinkType::Ethernet, &eth(0x8864, &bytes), Ts(0));
    }

    #[test]
    fn fragment_shuffle_reassemble_v4(
        len in 1usize..6000,
        sizes in proptest::collection::vec(8usize..1500, 1..64),
        seed in any::<u64>(),
        dup in any::<bool>(),
    ) {
        let body = big_payload(len);
        let u = udp(4000, 5060, &body);
        let mut frags = frag4(1234, 17, &u, &sizes);
        if dup {
            let again = frags[(seed as usize) % frags.len()].clone();
            frags.push(again);
        }
        shuffle(&mut frags, seed);
        let mut d = dec();
        let got = feed_until(&mut d, &frags);
        prop_assert_eq!(got, Some(body));
    }

    #[test]
    fn fragment_shuffle_reassemble_v6(
        len in 1usize..6000,
        sizes in proptest::collection::vec(8usize..1500, 1..64),
        seed in any::<u64>(),
    ) {
        let body = big_payload(len);
        let u = udp(4000, 5060, &body);
        let mut frags = frag6(0xABCD, 17, &u, &sizes);
        shuffle(&mut frags, seed);
        let mut d = dec();
        let got = feed_until(&mut d, &frags);
        prop_assert_eq!(got, Some(body));
        prop_assert_eq!(d.defrag_stats().held, 0);
    }
}

/// Feed until the first reassembled packet; the remaining frames (duplicates) start new
/// datagrams and are ignored.
fn feed_until(d: &mut Decoder, frames: &[Vec<u8>]) -> Option<Vec<u8>> {
    for f in frames {
        match d.decode(LinkType::Raw, f, Ts(0)) {
            Ok(r) => return Some(r.payload.to_vec()),
            Err(DecodeError::FragmentHeld) => {}
            Err(e) => panic!("{e}"),
        }
    }
    None
}

fn shuffle<T>(v: &mut [T], mut seed: u64) {
    for i in (1..v.len()).rev() {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let j = ((seed >> 33) as usize) % (i + 1);
        v.swap(i, j);
    }
}
