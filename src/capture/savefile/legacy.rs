//! The classic pcap savefile (libpcap's own format): a 24-byte file header, then per packet a
//! 16-byte record header and the captured bytes. Microsecond or nanosecond timestamps, either
//! byte order, and the "modified" (Kuznetzov) variant with 24-byte record headers.

use super::{ReadError, MAX_CAPLEN};

/// What the file header says about every record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// Fields are big-endian (the file was written on a big-endian machine).
    pub big_endian: bool,
    pub nanos: bool,
    /// Record headers of 24 bytes (ifindex, protocol, packet type after the usual 16).
    pub modified: bool,
    /// LINKTYPE_ value (its low 16 bits; the upper ones hold FCS information).
    pub linktype: u32,
    /// Longest record kept: the file's snaplen, or [`MAX_CAPLEN`] when it is 0 or larger
    /// (as libpcap reads it).
    pub snapshot: u32,
}

/// The magic numbers, as read little-endian from the file's first 4 bytes.
const MICROS: u32 = 0xa1b2_c3d4;
const NANOS: u32 = 0xa1b2_3c4d;
const MODIFIED: u32 = 0xa1b2_cd34;

/// Whether `first4` starts a classic pcap file (either byte order).
pub fn is_magic(first4: [u8; 4]) -> bool {
    let le = u32::from_le_bytes(first4);
    [MICROS, NANOS, MODIFIED]
        .iter()
        .any(|&m| m == le || m.swap_bytes() == le)
}

impl Header {
    /// Parse the 24-byte file header.
    pub fn parse(h: &[u8]) -> Result<Header, ReadError> {
        let magic = u32::from_le_bytes([h[0], h[1], h[2], h[3]]);
        let (big_endian, m) = if [MICROS, NANOS, MODIFIED].contains(&magic) {
            (false, magic)
        } else {
            (true, magic.swap_bytes())
        };
        let rd16 = |i: usize| read16(&h[i..i + 2], big_endian);
        let rd32 = |i: usize| read32(&h[i..i + 4], big_endian);
        let (major, minor) = (rd16(4), rd16(6));
        if major != 2 {
            return Err(ReadError::new(format!(
                "unsupported pcap savefile version {major}.{minor}"
            )));
        }
        let snaplen = rd32(16);
        Ok(Header {
            big_endian,
            nanos: m == NANOS,
            modified: m == MODIFIED,
            linktype: rd32(20) & 0xffff,
            snapshot: if snaplen == 0 || snaplen > MAX_CAPLEN {
                MAX_CAPLEN
            } else {
                snaplen
            },
        })
    }

    /// Bytes of one record header.
    pub fn record_len(&self) -> usize {
        if self.modified {
            24
        } else {
            16
        }
    }
}

/// One record header: seconds, the fraction (µs or ns), captured and original length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Record {
    pub secs: u32,
    pub frac: u32,
    pub caplen: u32,
    pub len: u32,
}

impl Record {
    pub fn parse(r: &[u8], big_endian: bool) -> Record {
        Record {
            secs: read32(&r[0..4], big_endian),
            frac: read32(&r[4..8], big_endian),
            caplen: read32(&r[8..12], big_endian),
            len: read32(&r[12..16], big_endian),
        }
    }

    /// Nanoseconds since the epoch. Both fields are signed 32-bit in libpcap's record header,
    /// and a negative one counts as 0 (as the libpcap reader did before): a damaged timestamp
    /// gives the same time whichever reader reads it.
    pub fn nanos(&self, nanos: bool) -> u64 {
        let secs = i64::from(self.secs as i32).max(0) as u64;
        let scale = if nanos { 1 } else { 1_000 };
        let frac = (i64::from(self.frac as i32) * scale).max(0) as u64;
        secs * 1_000_000_000 + frac
    }
}

pub(super) fn read16(b: &[u8], big_endian: bool) -> u16 {
    let b = [b[0], b[1]];
    if big_endian {
        u16::from_be_bytes(b)
    } else {
        u16::from_le_bytes(b)
    }
}

pub(super) fn read32(b: &[u8], big_endian: bool) -> u32 {
    let b = [b[0], b[1], b[2], b[3]];
    if big_endian {
        u32::from_be_bytes(b)
    } else {
        u32::from_le_bytes(b)
    }
}
