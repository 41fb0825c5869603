//! Link layers (Ethernet, VLAN/QinQ, MPLS, PPPoE, Linux cooked v1/v2, BSD NULL/LOOP, raw IP)
//! down to the first IP header.

use etherparse::{Ethernet2HeaderSlice, SingleVlanHeaderSlice};

use super::{DecodeError, LinkType};

/// Which IP version the link layer handed on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum L3 {
    V4,
    V6,
}

/// The VLAN ids met so far, outermost first (only the first two are kept).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Vlans {
    pub outer: Option<u16>,
    pub inner: Option<u16>,
}

impl Vlans {
    fn push(&mut self, id: u16) {
        if self.outer.is_none() {
            self.outer = Some(id);
        } else if self.inner.is_none() {
            self.inner = Some(id);
        }
    }
}

pub(crate) const ETH_IPV4: u16 = 0x0800;
pub(crate) const ETH_IPV6: u16 = 0x86DD;
pub(crate) const ETH_VLAN: u16 = 0x8100;
pub(crate) const ETH_QINQ: u16 = 0x88A8;
pub(crate) const ETH_QINQ_OLD: u16 = 0x9100;
pub(crate) const ETH_QINQ_OLD2: u16 = 0x9200;
pub(crate) const ETH_MPLS: u16 = 0x8847;
pub(crate) const ETH_MPLS_MC: u16 = 0x8848;
pub(crate) const ETH_PPPOE_SESSION: u16 = 0x8864;
pub(crate) const ETH_TEB: u16 = 0x6558;

/// Bounds the number of VLAN tags / MPLS labels / nested Ethernet headers walked per frame.
const MAX_LINK_STEPS: usize = 16;

/// PPP protocol numbers for IP.
pub(crate) const PPP_IPV4: u16 = 0x0021;
pub(crate) const PPP_IPV6: u16 = 0x0057;

fn be16(d: &[u8], at: usize) -> Option<u16> {
    let b = d.get(at..at.checked_add(2)?)?;
    Some(u16::from_be_bytes([b[0], b[1]]))
}

fn truncated(layer: &'static str) -> DecodeError {
    DecodeError::Truncated { layer }
}

/// Decode the link header of a captured frame.
pub(crate) fn link<'a>(
    link: LinkType,
    frame: &'a [u8],
    vlans: &mut Vlans,
) -> Result<(L3, &'a [u8]), DecodeError> {
    match link {
        LinkType::Ethernet => ethernet(frame, vlans),
        LinkType::LinuxSll => {
            // packet type(2) arphrd(2) addr len(2) addr(8) protocol(2)
            let proto = be16(frame, 14).ok_or(truncated("sll"))?;
            let arphrd = be16(frame, 2).ok_or(truncated("sll"))?;
            sll_payload(arphrd, proto, &frame[16..], vlans)
        }
        LinkType::LinuxSll2 => {
            // protocol(2) reserved(2) ifindex(4) arphrd(2) pkttype(1) addr len(1) addr(8)
            if frame.len() < 20 {
                return Err(truncated("sll2"));
            }
            let proto = be16(frame, 0).ok_or(truncated("sll2"))?;
            let arphrd = be16(frame, 8).ok_or(truncated("sll2"))?;
            sll_payload(arphrd, proto, &frame[20..], vlans)
        }
        LinkType::Null => {
            let b = frame.get(..4).ok_or(truncated("null"))?;
            let le = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
            let be = u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
            // The family is in the writer's byte order: a valid family is a small number,
            // so whichever reading is small is the right one.
            let fam = if le <= 0xFFFF { le } else { be };
            family(fam, &frame[4..])
        }
        LinkType::Loop => {
            let b = frame.get(..4).ok_or(truncated("loop"))?;
            family(u32::from_be_bytes([b[0], b[1], b[2], b[3]]), &frame[4..])
        }
        LinkType::Raw => raw_ip(frame, "raw"),
        LinkType::Ipv4 => Ok((L3::V4, frame)),
        LinkType::Ipv6 => Ok((L3::V6, frame)),
    }
}

fn sll_payload<'a>(
    arphrd: u16,
    proto: u16,
    rest: &'a [u8],
    vlans: &mut Vlans,
) -> Result<(L3, &'a [u8]), DecodeError> {
    // ARPHRD_NETLINK (824) carries netlink, not Ethernet protocols.
    if arphrd == 824 {
        return Err(DecodeError::NotIp { ethertype: proto });
    }
    ethertype(proto, rest, vlans)
}

/// BSD address families for IPv4 and the various IPv6 values (Linux 10, NetBSD/OpenBSD 24,
/// FreeBSD 28, Darwin 30).
fn family(fam: u32, rest: &[u8]) -> Result<(L3, &[u8]), DecodeError> {
    match fam {
        2 => Ok((L3::V4, rest)),
        10 | 24 | 28 | 30 => Ok((L3::V6, rest)),
        other => Err(DecodeError::NotIp {
            ethertype: u16::try_from(other).unwrap_or(u16::MAX),
        }),
    }
}

fn raw_ip<'a>(d: &'a [u8], layer: &'static str) -> Result<(L3, &'a [u8]), DecodeError> {
    match d.first().map(|b| b >> 4) {
        None => Err(truncated(layer)),
        Some(4) => Ok((L3::V4, d)),
        Some(6) => Ok((L3::V6, d)),
        Some(_) => Err(DecodeError::Malformed {
            layer,
            reason: "ip version",
        }),
    }
}

/// An Ethernet II header, then whatever it carries.
pub(crate) fn ethernet<'a>(d: &'a [u8], vlans: &mut Vlans) -> Result<(L3, &'a [u8]), DecodeError> {
    let eth = Ethernet2HeaderSlice::from_slice(d).map_err(|_| truncated("ethernet"))?;
    ethertype(eth.ether_type().0, &d[eth.slice().len()..], vlans)
}

/// Follow an ethertype chain (VLAN tags, MPLS, PPPoE, bridged Ethernet) to an IP header.
pub(crate) fn ethertype<'a>(
    mut et: u16,
    mut d: &'a [u8],
    vlans: &mut Vlans,
) -> Result<(L3, &'a [u8]), DecodeError> {
    for _ in 0..MAX_LINK_STEPS {
        match et {
            ETH_IPV4 => return Ok((L3::V4, d)),
            ETH_IPV6 => return Ok((L3::V6, d)),
            ETH_VLAN | ETH_QINQ | ETH_QINQ_OLD | ETH_QINQ_OLD2 => {
                let tag = SingleVlanHeaderSlice::from_slice(d).map_err(|_| truncated("vlan"))?;
                vlans.push(tag.vlan_identifier().value());
                et = tag.ether_type().0;
                d = &d[tag.slice().len()..];
            }
            ETH_MPLS | ETH_MPLS_MC => {
                // label stack: 4 bytes each, bottom of stack bit in byte 2
                let mut bottom = false;
                for _ in 0..MAX_LINK_STEPS {
                    let lse = d.get(..4).ok_or(truncated("mpls"))?;
                    bottom = lse[2] & 1 == 1;
                    d = &d[4..];
                    if bottom {
                        break;
                    }
                }
                if !bottom {
                    return Err(DecodeError::Malformed {
                        layer: "mpls",
                        reason: "label stack too deep",
                    });
                }
                match d.first().map(|b| b >> 4) {
                    None => return Err(truncated("mpls")),
                    Some(4) => return Ok((L3::V4, d)),
                    Some(6) => return Ok((L3::V6, d)),
                    Some(0) => {
                        // pseudowire control word, then Ethernet
                        d = d.get(4..).ok_or(truncated("mpls"))?;
                        et = ETH_TEB;
                    }
                    Some(_) => {
                        return Err(DecodeError::Malformed {
                            layer: "mpls",
                            reason: "unknown payload",
                        })
                    }
                }
            }
            ETH_PPPOE_SESSION => {
                // ver/type(1) code(1) session(2) length(2), then PPP protocol(2)
                let h = d.get(..8).ok_or(truncated("pppoe"))?;
                if h[0] != 0x11 || h[1] != 0 {
                    return Err(DecodeError::Malformed {
                        layer: "pppoe",
                        reason: "version/code",
                    });
                }
                let len = usize::from(u16::from_be_bytes([h[4], h[5]]));
                if len < 2 {
                    return Err(DecodeError::Malformed {
                        layer: "pppoe",
                        reason: "length",
                    });
                }
                let body = d.get(6..6 + len).ok_or(truncated("pppoe"))?;
                let proto = u16::from_be_bytes([h[6], h[7]]);
                let rest = &body[2..];
                return match proto {
                    PPP_IPV4 => Ok((L3::V4, rest)),
                    PPP_IPV6 => Ok((L3::V6, rest)),
                    other => Err(DecodeError::NotIp { ethertype: other }),
                };
            }
            ETH_TEB => {
                let eth = Ethernet2HeaderSlice::from_slice(d).map_err(|_| truncated("ethernet"))?;
                et = eth.ether_type().0;
                d = &d[eth.slice().len()..];
            }
            other => return Err(DecodeError::NotIp { ethertype: other }),
        }
    }
    Err(DecodeError::Malformed {
        layer: "ethernet",
        reason: "too many nested headers",
    })
}

/// A PPP frame (as carried by PPTP's enhanced GRE): optional address/control, a 1- or
/// 2-byte protocol field.
pub(crate) fn ppp(d: &[u8]) -> Result<(L3, &[u8]), DecodeError> {
    let mut d = d;
    if d.starts_with(&[0xFF, 0x03]) {
        d = &d[2..];
    }
    let first = *d.first().ok_or(truncated("ppp"))?;
    let (proto, rest) = if first & 1 == 1 {
        // protocol field compression
        (u16::from(first), &d[1..])
    } else {
        (be16(d, 0).ok_or(truncated("ppp"))?, &d[2..])
    };
    match proto {
        PPP_IPV4 => Ok((L3::V4, rest)),
        PPP_IPV6 => Ok((L3::V6, rest)),
        other => Err(DecodeError::NotIp { ethertype: other }),
    }
}
