//! The pcap savefile format, written: a 24-byte file header and a 16-byte header per record,
//! with nanosecond timestamps (magic `a1b23c4d`), which Wireshark, tshark and tcpdump read.

use crate::base::packet::{LinkType, WireFrame};

/// Bytes a frame may have in a file (the snap length the header declares).
pub const SNAPLEN: u32 = 262_144;

/// The file header for frames of `link`.
pub fn file_header(link: LinkType) -> [u8; 24] {
    let mut h = [0u8; 24];
    h[0..4].copy_from_slice(&0xa1b2_3c4du32.to_le_bytes());
    h[4..6].copy_from_slice(&2u16.to_le_bytes());
    h[6..8].copy_from_slice(&4u16.to_le_bytes());
    // Time zone and accuracy: 0.
    h[16..20].copy_from_slice(&SNAPLEN.to_le_bytes());
    h[20..24].copy_from_slice(&link.dlt().to_le_bytes());
    h
}

/// Append one record (header and bytes) for `f` to `out`.
pub fn put_record(out: &mut Vec<u8>, f: &WireFrame) {
    let caplen = f.bytes.len().min(SNAPLEN as usize);
    let secs = f.ts.as_nanos() / 1_000_000_000;
    let nanos = f.ts.as_nanos() % 1_000_000_000;
    out.extend_from_slice(&(secs as u32).to_le_bytes());
    out.extend_from_slice(&(nanos as u32).to_le_bytes());
    out.extend_from_slice(&(caplen as u32).to_le_bytes());
    out.extend_from_slice(&f.orig_len.max(caplen as u32).to_le_bytes());
    out.extend_from_slice(&f.bytes[..caplen]);
}

/// Bytes a record of `f` takes in a file.
pub fn record_len(f: &WireFrame) -> u64 {
    16 + f.bytes.len().min(SNAPLEN as usize) as u64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::base::time::Ts;

    #[test]
    fn header_and_record_layout() {
        let h = file_header(LinkType::Ethernet);
        assert_eq!(&h[0..4], &[0x4d, 0x3c, 0xb2, 0xa1]);
        assert_eq!(u32::from_le_bytes(h[20..24].try_into().unwrap()), 1);
        let f = WireFrame {
            ts: Ts(1_700_000_000_123_456_789),
            link: LinkType::Ethernet,
            orig_len: 100,
            bytes: vec![7; 60],
        };
        let mut out = Vec::new();
        put_record(&mut out, &f);
        assert_eq!(out.len() as u64, record_len(&f));
        let word = |i: usize| u32::from_le_bytes(out[i..i + 4].try_into().unwrap());
        assert_eq!(word(0), 1_700_000_000);
        assert_eq!(word(4), 123_456_789);
        assert_eq!(word(8), 60);
        assert_eq!(word(12), 100);
    }
}
