//! Savefiles read without libpcap: classic pcap (µs or ns, either byte order) and pcapng (any
//! number of sections and interfaces, each with its own link type and timestamp resolution;
//! blocks it does not know are skipped), read in large chunks and walked in place, and
//! decompressed on the fly when gzip-compressed (`.pcap.gz`, as capture archives keep them).
//! A damaged file gives its packets up to the damage, then one error line in libpcap's words.

mod bytes;
pub mod legacy;
pub mod pcapng;

use std::path::Path;

use crate::base::time::Ts;
use bytes::{Bytes, ShortOrIo};

/// Longest captured length accepted (libpcap's MAXIMUM_SNAPLEN): more is a damaged file.
pub const MAX_CAPLEN: u32 = 262_144;

/// Interfaces one pcapng section may describe: more is a damaged or hostile file.
pub const MAX_INTERFACES: usize = 65_536;

/// Why a savefile could not be read on: one line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadError(String);

impl ReadError {
    pub fn new(msg: String) -> ReadError {
        ReadError(msg)
    }
}

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ReadError {}

/// One packet of a savefile, its bytes in place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Frame<'a> {
    pub ts: Ts,
    /// The LINKTYPE_ value of the packet's interface.
    pub linktype: u32,
    pub data: &'a [u8],
    /// Length on the wire (more than `data.len()` when the snaplen cut it).
    pub orig_len: u32,
}

enum Format {
    Legacy(legacy::Header),
    Pcapng {
        big_endian: bool,
        interfaces: Vec<pcapng::Interface>,
    },
}

/// An open savefile, read front to back.
pub struct Savefile {
    bytes: Bytes,
    format: Format,
}

fn io_error(e: std::io::Error) -> ReadError {
    ReadError(e.to_string())
}

impl Savefile {
    /// Open a savefile (plain or gzip) and read its file header.
    pub fn open(path: &Path) -> Result<Savefile, ReadError> {
        let file = std::fs::File::open(path).map_err(io_error)?;
        Savefile::from_bytes(Bytes::open(file).map_err(io_error)?)
    }

    /// A savefile held in memory (tests and fuzzing).
    pub fn from_vec(v: Vec<u8>) -> Result<Savefile, ReadError> {
        Savefile::from_bytes(Bytes::from_reader(Box::new(std::io::Cursor::new(v))))
    }

    fn from_bytes(mut bytes: Bytes) -> Result<Savefile, ReadError> {
        let head: [u8; 24] = match bytes.take(24) {
            Ok(Some(b)) => b.try_into().expect("24 bytes"),
            Ok(None) => return Err(short_header(24, 0)),
            Err(ShortOrIo::Short(s)) => return Err(short_header(s.wanted, s.got)),
            Err(ShortOrIo::Io(e)) => return Err(io_error(e)),
        };
        let magic: [u8; 4] = head[..4].try_into().expect("4 bytes");
        let format = if legacy::is_magic(magic) {
            Format::Legacy(legacy::Header::parse(&head)?)
        } else if pcapng::is_section_header(magic) {
            let big_endian = pcapng::section_order(&head[8..12])?;
            let len = legacy::read32(&head[4..8], big_endian);
            pcapng::check_len(len, 28)?;
            bytes.skip(len as usize - 24).map_err(ng_short)?;
            Format::Pcapng {
                big_endian,
                interfaces: Vec::new(),
            }
        } else {
            return Err(ReadError("unknown file format".to_string()));
        };
        Ok(Savefile { bytes, format })
    }

    /// The link type of every packet, when the format says it up front (classic pcap).
    pub fn linktype(&self) -> Option<u32> {
        match &self.format {
            Format::Legacy(h) => Some(h.linktype),
            Format::Pcapng { .. } => None,
        }
    }

    /// The next packet; `Ok(None)` at the end of the file.
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> Result<Option<Frame<'_>>, ReadError> {
        let Savefile { bytes, format } = self;
        match format {
            Format::Legacy(h) => next_legacy(bytes, h),
            Format::Pcapng {
                big_endian,
                interfaces,
            } => next_pcapng(bytes, big_endian, interfaces),
        }
    }
}

fn short_header(wanted: usize, got: usize) -> ReadError {
    ReadError(format!(
        "truncated dump file; tried to read {wanted} file header bytes, only got {got}"
    ))
}

fn ng_short(e: ShortOrIo) -> ReadError {
    match e {
        ShortOrIo::Short(s) => ReadError(format!(
            "truncated pcapng dump file; tried to read {} bytes, only got {}",
            s.wanted, s.got
        )),
        ShortOrIo::Io(e) => io_error(e),
    }
}

fn next_legacy<'a>(
    bytes: &'a mut Bytes,
    h: &legacy::Header,
) -> Result<Option<Frame<'a>>, ReadError> {
    let short = |what: &str, e: ShortOrIo| match e {
        ShortOrIo::Short(s) => ReadError(format!(
            "truncated dump file; tried to read {} {what} bytes, only got {}",
            s.wanted, s.got
        )),
        ShortOrIo::Io(e) => io_error(e),
    };
    let rec = match bytes.take(h.record_len()) {
        Ok(Some(r)) => legacy::Record::parse(r, h.big_endian),
        Ok(None) => return Ok(None),
        Err(e) => return Err(short("header", e)),
    };
    if rec.caplen > MAX_CAPLEN {
        return Err(ReadError(format!(
            "invalid packet capture length {}, bigger than maximum of {MAX_CAPLEN}",
            rec.caplen
        )));
    }
    let data = match bytes.take(rec.caplen as usize) {
        Ok(Some(d)) => d,
        Ok(None) => &[][..],
        Err(e) => return Err(short("captured", e)),
    };
    // A record longer than the file's snaplen is cut to it, as libpcap does.
    let keep = data.len().min(h.snapshot as usize);
    Ok(Some(Frame {
        ts: Ts(rec.nanos(h.nanos)),
        linktype: h.linktype,
        data: &data[..keep],
        orig_len: rec.len,
    }))
}

fn next_pcapng<'a>(
    bytes: &'a mut Bytes,
    big_endian: &mut bool,
    interfaces: &mut Vec<pcapng::Interface>,
) -> Result<Option<Frame<'a>>, ReadError> {
    loop {
        let head: [u8; 8] = match bytes.take(8) {
            Ok(Some(b)) => b.try_into().expect("8 bytes"),
            Ok(None) => return Ok(None),
            Err(e) => return Err(ng_short(e)),
        };
        let kind: [u8; 4] = head[..4].try_into().expect("4 bytes");
        if pcapng::is_section_header(kind) {
            let bom: [u8; 4] = take_block(bytes, 4)?.try_into().expect("4 bytes");
            *big_endian = pcapng::section_order(&bom)?;
            let len = legacy::read32(&head[4..8], *big_endian);
            pcapng::check_len(len, 28)?;
            bytes.skip(len as usize - 12).map_err(ng_short)?;
            interfaces.clear();
            continue;
        }
        let be = *big_endian;
        let kind = legacy::read32(&kind, be);
        let len = legacy::read32(&head[4..8], be);
        pcapng::check_len(len, 12)?;
        let rest = len as usize - 8;
        if kind == pcapng::IDB {
            let b = take_block(bytes, rest)?;
            if interfaces.len() >= MAX_INTERFACES {
                return Err(ReadError(format!(
                    "more than {MAX_INTERFACES} interfaces in one pcapng section"
                )));
            }
            interfaces.push(pcapng::interface(&b[..rest - 4], be)?);
            continue;
        }
        if !pcapng::is_packet_block(kind) {
            bytes.skip(rest).map_err(ng_short)?;
            continue;
        }
        let b = take_block(bytes, rest)?;
        let body = &b[..rest - 4];
        let at = pcapng::packet(kind, body, be, interfaces)?.expect("a packet block");
        let ifc = &interfaces[at.iface as usize];
        return Ok(Some(Frame {
            ts: Ts(pcapng::nanos(at.ts, ifc)),
            linktype: ifc.linktype,
            data: &body[at.start..at.start + at.caplen as usize],
            orig_len: at.len,
        }));
    }
}

/// The rest of a block, `n` bytes: its end is no place for the file to end.
fn take_block(bytes: &mut Bytes, n: usize) -> Result<&[u8], ReadError> {
    match bytes.take(n) {
        Ok(Some(b)) => Ok(b),
        Ok(None) => Err(ng_short(ShortOrIo::Short(bytes::Short {
            wanted: n,
            got: 0,
        }))),
        Err(e) => Err(ng_short(e)),
    }
}

#[cfg(test)]
mod tests;
