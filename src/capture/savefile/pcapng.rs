//! pcapng (the format of Wireshark and dumpcap): blocks of a type and a length; a Section Header
//! Block sets the byte order and starts over the list of interfaces; each Interface Description
//! Block gives an interface its link type, snaplen and timestamp resolution and offset; packets
//! come in Enhanced, Simple or (obsolete) Packet Blocks. Other blocks are skipped.

use super::legacy::{read16, read32};
use super::{ReadError, MAX_CAPLEN};

/// Block types.
pub const SHB: u32 = 0x0a0d_0d0a;
pub const IDB: u32 = 1;
const OPB: u32 = 2;
const SPB: u32 = 3;
const EPB: u32 = 6;

/// Whether blocks of type `kind` hold a packet (Enhanced, Simple, obsolete Packet Block).
pub fn is_packet_block(kind: u32) -> bool {
    matches!(kind, EPB | SPB | OPB)
}

/// The byte-order magic of a section header.
const BOM: u32 = 0x1a2b_3c4d;

/// Largest block read (libpcap's limit): a bigger length is a damaged file.
pub const MAX_BLOCK: u32 = 16 * 1024 * 1024;

/// One interface of the current section.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Interface {
    pub linktype: u32,
    pub snaplen: u32,
    /// Timestamp units per second (if_tsresol; 1,000,000 by default).
    pub units: u64,
    /// Seconds added to every timestamp (if_tsoffset).
    pub offset: i64,
}

/// A packet found in a block: its interface, timestamp in the interface's units, lengths, and
/// where its bytes are in the block body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PacketAt {
    pub iface: u32,
    pub ts: u64,
    pub caplen: u32,
    pub len: u32,
    pub start: usize,
}

/// Whether the section is big-endian, from the byte-order magic that follows a section
/// header's type and length.
pub fn section_order(bom: &[u8]) -> Result<bool, ReadError> {
    match u32::from_le_bytes([bom[0], bom[1], bom[2], bom[3]]) {
        BOM => Ok(false),
        x if x == BOM.swap_bytes() => Ok(true),
        x => Err(ReadError::new(format!(
            "pcapng section header with byte-order magic {x:#010x}: not a pcapng file"
        ))),
    }
}

/// Check a block's total length: at least its own 12 bytes of framing, a multiple of 4, at
/// most [`MAX_BLOCK`].
pub fn check_len(len: u32, min: u32) -> Result<(), ReadError> {
    if len < min {
        return Err(ReadError::new(format!(
            "block in pcapng dump file has a length of {len} < {min}"
        )));
    }
    if !len.is_multiple_of(4) {
        return Err(ReadError::new(format!(
            "block in pcapng dump file has a length of {len} that is not a multiple of 4"
        )));
    }
    if len > MAX_BLOCK {
        return Err(ReadError::new(format!(
            "pcapng block size {len} > maximum {MAX_BLOCK}"
        )));
    }
    Ok(())
}

/// Read an Interface Description Block's body.
pub fn interface(body: &[u8], be: bool) -> Result<Interface, ReadError> {
    if body.len() < 8 {
        return Err(ReadError::new(
            "interface description block too short".to_string(),
        ));
    }
    let rd16 = |b: &[u8]| read16(b, be);
    let mut ifc = Interface {
        linktype: u32::from(rd16(&body[0..2])),
        snaplen: read32(&body[4..8], be),
        units: 1_000_000,
        offset: 0,
    };
    let mut opts = &body[8..];
    while opts.len() >= 4 {
        let (code, len) = (rd16(&opts[0..2]), usize::from(rd16(&opts[2..4])));
        let padded = (len + 3) & !3;
        let Some(value) = opts.get(4..4 + len) else {
            break;
        };
        match (code, len) {
            (0, _) => break, // opt_endofopt
            (9, 1) => {
                let v = value[0];
                ifc.units = if v & 0x80 != 0 {
                    let p = u32::from(v & 0x7f);
                    if p > 63 {
                        return Err(ReadError::new(format!(
                            "interface timestamp resolution 2^-{p} is too fine"
                        )));
                    }
                    1u64 << p
                } else {
                    10u64.checked_pow(u32::from(v)).ok_or_else(|| {
                        ReadError::new(format!(
                            "interface timestamp resolution 10^-{v} is too fine"
                        ))
                    })?
                };
            }
            (14, 8) => {
                let b: [u8; 8] = value.try_into().expect("8 bytes");
                ifc.offset = if be {
                    i64::from_be_bytes(b)
                } else {
                    i64::from_le_bytes(b)
                };
            }
            _ => {}
        }
        opts = opts.get(4 + padded..).unwrap_or(&[]);
    }
    Ok(ifc)
}

/// Where the packet of a packet block is (`None`: not a packet block).
pub fn packet(
    kind: u32,
    body: &[u8],
    be: bool,
    ifaces: &[Interface],
) -> Result<Option<PacketAt>, ReadError> {
    let too_short = || ReadError::new(format!("pcapng block of type {kind} too short"));
    let at = match kind {
        EPB | OPB => {
            if body.len() < 20 {
                return Err(too_short());
            }
            let iface = if kind == EPB {
                read32(&body[0..4], be)
            } else {
                u32::from(read16(&body[0..2], be))
            };
            let ts =
                (u64::from(read32(&body[4..8], be)) << 32) | u64::from(read32(&body[8..12], be));
            PacketAt {
                iface,
                ts,
                caplen: read32(&body[12..16], be),
                len: read32(&body[16..20], be),
                start: 20,
            }
        }
        SPB => {
            if body.len() < 4 {
                return Err(too_short());
            }
            let len = read32(&body[0..4], be);
            // The captured length is not stored: the original length, cut by the block's room
            // and the first interface's snaplen.
            let snap = ifaces.first().map_or(0, |i| i.snaplen);
            let mut caplen = len.min((body.len() - 4) as u32);
            if snap != 0 {
                caplen = caplen.min(snap);
            }
            PacketAt {
                iface: 0,
                ts: 0,
                caplen,
                len,
                start: 4,
            }
        }
        _ => return Ok(None),
    };
    if at.iface as usize >= ifaces.len() {
        return Err(ReadError::new(format!(
            "a packet arrived on interface {}, but there's no Interface Description Block for that interface",
            at.iface
        )));
    }
    if at.caplen > MAX_CAPLEN {
        return Err(ReadError::new(format!(
            "invalid packet capture length {}, bigger than maximum of {MAX_CAPLEN}",
            at.caplen
        )));
    }
    if at.start + at.caplen as usize > body.len() {
        return Err(ReadError::new(format!(
            "pcapng block of type {kind}: captured length {} larger than the block",
            at.caplen
        )));
    }
    Ok(Some(at))
}

/// Nanoseconds since the epoch of a timestamp in `ifc`'s units (fractions rounded down, as
/// libpcap scales them).
pub fn nanos(ts: u64, ifc: &Interface) -> u64 {
    let units = ifc.units.max(1);
    let secs = (ts / units) as i128 + i128::from(ifc.offset);
    let frac = (u128::from(ts % units) * 1_000_000_000 / u128::from(units)) as i128;
    (secs * 1_000_000_000 + frac).clamp(0, i128::from(u64::MAX)) as u64
}

/// The types of blocks that mean the section header: the only one that may start a file.
pub fn is_section_header(kind: [u8; 4]) -> bool {
    u32::from_le_bytes(kind) == SHB
}
