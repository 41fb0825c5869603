//! HEP, the Homer Encapsulation Protocol: a copy of a SIP message that a proxy, SBC or PBX
//! handled (Kamailio `siptrace`, OpenSIPS `proto_hep`, FreeSWITCH, Asterisk `res_hep`,
//! heplify), sent over UDP to a collector with the addresses, ports and time the agent saw.
//! Decrypted signalling (SIP over TLS) reaches the sensor this way. Versions 3 (chunks after a
//! `HEP3` magic) and 2 (a fixed header); the message is taken in place from the datagram.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::DecodeError;
use crate::base::packet::HepTransport;

/// What a HEP datagram carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hep<'a> {
    pub version: u8,
    pub src: IpAddr,
    pub dst: IpAddr,
    pub sport: u16,
    pub dport: u16,
    /// The transport the agent saw (its IP-protocol chunk; 17 when absent).
    pub transport: HepTransport,
    /// Seconds and microseconds of the agent's capture time.
    pub ts: Option<(u32, u32)>,
    /// HEPv3 protocol type: 1 SIP, 5 RTCP, ... (v2: SIP).
    pub proto_type: u8,
    pub capture_id: Option<u32>,
    /// HEPv3 auth key (chunk 14), checked against `--hep-password`; never written anywhere.
    pub auth_key: Option<&'a [u8]>,
    pub payload: &'a [u8],
}

/// HEPv3 chunk types (vendor 0) read here.
const FAMILY: u16 = 1;
const PROTO: u16 = 2;
const SRC4: u16 = 3;
const DST4: u16 = 4;
const SRC6: u16 = 5;
const DST6: u16 = 6;
const SPORT: u16 = 7;
const DPORT: u16 = 8;
const TS_SEC: u16 = 9;
const TS_USEC: u16 = 10;
const PROTO_TYPE: u16 = 11;
const CAPTURE_ID: u16 = 12;
const AUTH_KEY: u16 = 14;
const PAYLOAD: u16 = 15;
const PAYLOAD_GZ: u16 = 16;

/// The protocol type of SIP.
pub const SIP: u8 = 1;
/// The protocol type of an RTCP report as JSON (rtpengine, captagent, Asterisk res_hep_rtcp).
pub const RTCP_JSON: u8 = 5;

fn malformed(reason: &'static str) -> DecodeError {
    DecodeError::Malformed {
        layer: "hep",
        reason,
    }
}

fn truncated() -> DecodeError {
    DecodeError::Truncated { layer: "hep" }
}

/// Whether a UDP payload is HEP: the v3 magic, or a v2 header whose message starts like SIP.
pub fn is_hep(p: &[u8]) -> bool {
    p.starts_with(b"HEP3") || v2_header_len(p).is_some()
}

/// A HEPv2 header's length, when `p` starts with one: version 2, the header length for its
/// family (16 + 12 of time for IPv4, 40 + 12 for IPv6), UDP, TCP or SCTP, and a message after it
/// that starts with a letter (a SIP request or "SIP/2.0").
fn v2_header_len(p: &[u8]) -> Option<usize> {
    let (&version, &len, &family, &proto) = (p.first()?, p.get(1)?, p.get(2)?, p.get(3)?);
    let addrs = match (family, len) {
        (2, 16) => 16,
        (10, 40) => 40,
        _ => return None,
    };
    if version != 2 || !matches!(proto, 6 | 17 | 132) {
        return None;
    }
    let total = addrs + 12;
    p.get(total)
        .filter(|b| b.is_ascii_uppercase())
        .map(|_| total)
}

/// Decode a HEP datagram (`is_hep` said it is one).
pub fn parse(p: &[u8]) -> Result<Hep<'_>, DecodeError> {
    if p.starts_with(b"HEP3") {
        v3(p)
    } else {
        v2(p)
    }
}

fn v2(p: &[u8]) -> Result<Hep<'_>, DecodeError> {
    let total = v2_header_len(p).ok_or(malformed("v2 header"))?;
    let (src, dst, at) = if p[2] == 2 {
        let a = |i: usize| IpAddr::V4(Ipv4Addr::new(p[i], p[i + 1], p[i + 2], p[i + 3]));
        (a(8), a(12), 16)
    } else {
        let a = |i: usize| {
            let b: [u8; 16] = p[i..i + 16].try_into().expect("16 bytes");
            IpAddr::V6(Ipv6Addr::from(b))
        };
        (a(8), a(24), 40)
    };
    let le32 = |i: usize| u32::from_le_bytes([p[i], p[i + 1], p[i + 2], p[i + 3]]);
    Ok(Hep {
        version: 2,
        src,
        dst,
        sport: u16::from_be_bytes([p[4], p[5]]),
        dport: u16::from_be_bytes([p[6], p[7]]),
        transport: HepTransport::from_ip_proto(p[3]),
        ts: Some((le32(at), le32(at + 4))),
        proto_type: SIP,
        capture_id: Some(u32::from(u16::from_le_bytes([p[at + 8], p[at + 9]]))),
        auth_key: None,
        payload: &p[total..],
    })
}

fn v3(p: &[u8]) -> Result<Hep<'_>, DecodeError> {
    let total = usize::from(u16::from_be_bytes([
        *p.get(4).ok_or(truncated())?,
        *p.get(5).ok_or(truncated())?,
    ]));
    if total < 6 {
        return Err(malformed("length"));
    }
    let mut rest = p.get(6..total).ok_or(truncated())?;
    let (mut family, mut proto, mut proto_type) = (None, None, None);
    let (mut src, mut dst) = (None, None);
    let (mut sport, mut dport) = (None, None);
    let (mut secs, mut usecs, mut capture_id, mut payload) = (None, None, None, None);
    let mut auth_key = None;
    while !rest.is_empty() {
        let h = rest.get(..6).ok_or(truncated())?;
        let vendor = u16::from_be_bytes([h[0], h[1]]);
        let kind = u16::from_be_bytes([h[2], h[3]]);
        let len = usize::from(u16::from_be_bytes([h[4], h[5]]));
        if len < 6 {
            return Err(malformed("chunk length"));
        }
        let v = rest.get(6..len).ok_or(truncated())?;
        rest = &rest[len..];
        if vendor != 0 {
            continue;
        }
        let be16 = || v.get(..2).map(|b| u16::from_be_bytes([b[0], b[1]]));
        let be32 = || {
            v.get(..4)
                .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
        };
        let v4 = || {
            v.get(..4)
                .map(|b| IpAddr::V4(Ipv4Addr::new(b[0], b[1], b[2], b[3])))
        };
        let v6 = || {
            v.get(..16).map(|b| {
                let a: [u8; 16] = b.try_into().expect("16 bytes");
                IpAddr::V6(Ipv6Addr::from(a))
            })
        };
        let bad = || malformed("chunk value");
        match kind {
            FAMILY => family = Some(*v.first().ok_or_else(bad)?),
            PROTO => proto = Some(*v.first().ok_or_else(bad)?),
            SRC4 => src = Some(v4().ok_or_else(bad)?),
            DST4 => dst = Some(v4().ok_or_else(bad)?),
            SRC6 => src = Some(v6().ok_or_else(bad)?),
            DST6 => dst = Some(v6().ok_or_else(bad)?),
            SPORT => sport = Some(be16().ok_or_else(bad)?),
            DPORT => dport = Some(be16().ok_or_else(bad)?),
            TS_SEC => secs = Some(be32().ok_or_else(bad)?),
            TS_USEC => usecs = Some(be32().ok_or_else(bad)?),
            PROTO_TYPE => proto_type = Some(*v.first().ok_or_else(bad)?),
            CAPTURE_ID => capture_id = Some(be32().ok_or_else(bad)?),
            AUTH_KEY => auth_key = Some(v),
            PAYLOAD => payload = Some(v),
            PAYLOAD_GZ => return Err(malformed("compressed payload")),
            _ => {}
        }
    }
    let (Some(src), Some(dst)) = (src, dst) else {
        return Err(malformed("no addresses"));
    };
    match (family, src) {
        (Some(2), IpAddr::V4(_)) | (Some(10), IpAddr::V6(_)) | (None, _) => {}
        _ => return Err(malformed("family")),
    }
    Ok(Hep {
        version: 3,
        src,
        dst,
        sport: sport.unwrap_or(0),
        dport: dport.unwrap_or(0),
        transport: HepTransport::from_ip_proto(proto.unwrap_or(17)),
        ts: secs.map(|s| (s, usecs.unwrap_or(0))),
        proto_type: proto_type.unwrap_or(SIP),
        capture_id,
        auth_key,
        payload: payload.ok_or(malformed("no payload"))?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunk(kind: u16, v: &[u8]) -> Vec<u8> {
        let mut c = vec![0, 0];
        c.extend_from_slice(&kind.to_be_bytes());
        c.extend_from_slice(&((6 + v.len()) as u16).to_be_bytes());
        c.extend_from_slice(v);
        c
    }

    fn hep3(chunks: &[Vec<u8>]) -> Vec<u8> {
        let body: Vec<u8> = chunks.concat();
        let mut p = b"HEP3".to_vec();
        p.extend_from_slice(&((6 + body.len()) as u16).to_be_bytes());
        p.extend(body);
        p
    }

    fn sip_chunks(msg: &[u8]) -> Vec<Vec<u8>> {
        vec![
            chunk(FAMILY, &[2]),
            chunk(PROTO, &[17]),
            chunk(SRC4, &[10, 0, 0, 1]),
            chunk(DST4, &[10, 0, 0, 2]),
            chunk(SPORT, &5061u16.to_be_bytes()),
            chunk(DPORT, &5060u16.to_be_bytes()),
            chunk(TS_SEC, &1_700_000_000u32.to_be_bytes()),
            chunk(TS_USEC, &123_456u32.to_be_bytes()),
            chunk(PROTO_TYPE, &[1]),
            chunk(CAPTURE_ID, &2001u32.to_be_bytes()),
            chunk(PAYLOAD, msg),
        ]
    }

    #[test]
    fn hep3_gives_the_message_with_the_agents_addresses() {
        let msg = b"OPTIONS sip:a@b SIP/2.0\r\n\r\n";
        let mut chunks = sip_chunks(msg);
        chunks.insert(3, {
            let mut c = chunk(99, b"vendor");
            c[1] = 7; // another vendor's chunk: skipped
            c
        });
        let p = hep3(&chunks);
        assert!(is_hep(&p));
        let h = parse(&p).unwrap();
        assert_eq!(h.src, "10.0.0.1".parse::<IpAddr>().unwrap());
        assert_eq!(
            (h.sport, h.dport, h.transport),
            (5061, 5060, HepTransport::Udp)
        );
        assert_eq!(h.ts, Some((1_700_000_000, 123_456)));
        assert_eq!((h.proto_type, h.capture_id, h.version), (1, Some(2001), 3));
        assert_eq!(h.payload, msg);
    }

    #[test]
    fn damaged_hep3_is_an_error_of_its_kind() {
        let msg = b"OPTIONS sip:a@b SIP/2.0\r\n\r\n";
        let p = hep3(&sip_chunks(msg));
        // cut anywhere: an error, never a panic
        for cut in 0..p.len() {
            let _ = parse(&p[..cut]);
        }
        assert_eq!(parse(&p[..p.len() - 3]), Err(truncated()));
        let mut short_chunk = p.clone();
        short_chunk[6 + 4..6 + 6].copy_from_slice(&3u16.to_be_bytes());
        assert_eq!(parse(&short_chunk), Err(malformed("chunk length")));
        let no_payload = hep3(&sip_chunks(msg)[..10]);
        assert_eq!(parse(&no_payload), Err(malformed("no payload")));
        let mut chunks = sip_chunks(msg);
        chunks.remove(2);
        assert_eq!(parse(&hep3(&chunks)), Err(malformed("no addresses")));
    }

    #[test]
    fn hep2_header_then_the_message() {
        let msg = b"SIP/2.0 200 OK\r\n\r\n";
        let mut p = vec![2, 16, 2, 17];
        p.extend_from_slice(&5060u16.to_be_bytes());
        p.extend_from_slice(&5062u16.to_be_bytes());
        p.extend_from_slice(&[192, 0, 2, 1, 192, 0, 2, 2]);
        p.extend_from_slice(&1_700_000_000u32.to_le_bytes());
        p.extend_from_slice(&5u32.to_le_bytes());
        p.extend_from_slice(&7u16.to_le_bytes());
        p.extend_from_slice(&[0, 0]);
        p.extend_from_slice(msg);
        assert!(is_hep(&p));
        let h = parse(&p).unwrap();
        assert_eq!((h.version, h.sport, h.dport), (2, 5060, 5062));
        assert_eq!(h.dst, "192.0.2.2".parse::<IpAddr>().unwrap());
        assert_eq!((h.ts, h.capture_id), (Some((1_700_000_000, 5)), Some(7)));
        assert_eq!(h.payload, msg);
        // RTP (0x80 first) and SIP are not HEP
        assert!(!is_hep(&[0x80, 0, 0, 1, 2, 3, 4, 5]));
        assert!(!is_hep(b"INVITE sip:x SIP/2.0\r\n"));
    }
}
