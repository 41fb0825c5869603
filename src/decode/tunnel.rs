//! GRE (RFC 2784/2890, PPTP enhanced GRE v1) and ERSPAN type I/II/III.

use super::link::{self, Vlans, L3};
use super::DecodeError;

const GRE_C: u16 = 0x8000;
const GRE_R: u16 = 0x4000;
const GRE_K: u16 = 0x2000;
const GRE_S: u16 = 0x1000;
const GRE_A: u16 = 0x0080;

pub(crate) const GRE_ERSPAN_II: u16 = 0x88BE;
pub(crate) const GRE_ERSPAN_III: u16 = 0x22EB;
pub(crate) const GRE_PPP: u16 = 0x880B;

fn truncated(layer: &'static str) -> DecodeError {
    DecodeError::Truncated { layer }
}

fn malformed(layer: &'static str, reason: &'static str) -> DecodeError {
    DecodeError::Malformed { layer, reason }
}

/// Decode a GRE header (the payload of IP protocol 47) down to the next IP header.
pub(crate) fn gre<'a>(d: &'a [u8], vlans: &mut Vlans) -> Result<(L3, &'a [u8]), DecodeError> {
    let h = d.get(..4).ok_or(truncated("gre"))?;
    let flags = u16::from_be_bytes([h[0], h[1]]);
    let proto = u16::from_be_bytes([h[2], h[3]]);
    let version = flags & 0x7;
    let mut len = 4usize;
    match version {
        0 => {
            if flags & GRE_R != 0 {
                return Err(malformed("gre", "source routing"));
            }
            if flags & GRE_C != 0 {
                len += 4;
            }
            if flags & GRE_K != 0 {
                len += 4;
            }
            if flags & GRE_S != 0 {
                len += 4;
            }
        }
        1 => {
            // PPTP: key (payload length + call id) mandatory, sequence and ack optional
            if flags & (GRE_C | GRE_R) != 0 || flags & GRE_K == 0 || proto != GRE_PPP {
                return Err(malformed("gre", "bad v1 header"));
            }
            len += 4;
            if flags & GRE_S != 0 {
                len += 4;
            }
            if flags & GRE_A != 0 {
                len += 4;
            }
        }
        _ => return Err(malformed("gre", "version")),
    }
    let rest = d.get(len..).ok_or(truncated("gre"))?;
    match proto {
        GRE_ERSPAN_II => {
            if flags & GRE_S == 0 {
                // ERSPAN type I: no ERSPAN header, the mirrored Ethernet frame follows
                link::ethernet(rest, vlans)
            } else {
                let e = rest.get(..8).ok_or(truncated("erspan"))?;
                if e[0] >> 4 != 1 {
                    return Err(malformed("erspan", "version"));
                }
                link::ethernet(&rest[8..], vlans)
            }
        }
        GRE_ERSPAN_III => {
            let e = rest.get(..12).ok_or(truncated("erspan"))?;
            if e[0] >> 4 != 2 {
                return Err(malformed("erspan", "version"));
            }
            // O flag: an 8-byte platform specific subheader follows
            let hlen = if e[11] & 1 == 1 { 20 } else { 12 };
            let frame = rest.get(hlen..).ok_or(truncated("erspan"))?;
            link::ethernet(frame, vlans)
        }
        GRE_PPP => link::ppp(rest),
        et => link::ethertype(et, rest, vlans),
    }
}
