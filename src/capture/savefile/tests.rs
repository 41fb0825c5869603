//! Small savefiles built here, one property each; every capture of pcaps/ is compared with
//! libpcap packet by packet in tests/integration/savefile.rs.

use super::*;

fn legacy_file(magic: u32, be: bool, snaplen: u32, records: &[(u32, u32, &[u8], u32)]) -> Vec<u8> {
    let w32 = |v: &mut Vec<u8>, x: u32| {
        v.extend_from_slice(&if be { x.to_be_bytes() } else { x.to_le_bytes() })
    };
    let mut v = Vec::new();
    w32(&mut v, magic);
    let (maj, min) = if be {
        (2u16.to_be_bytes(), 4u16.to_be_bytes())
    } else {
        (2u16.to_le_bytes(), 4u16.to_le_bytes())
    };
    v.extend_from_slice(&maj);
    v.extend_from_slice(&min);
    w32(&mut v, 0);
    w32(&mut v, 0);
    w32(&mut v, snaplen);
    w32(&mut v, 1);
    for (s, f, data, len) in records {
        w32(&mut v, *s);
        w32(&mut v, *f);
        w32(&mut v, data.len() as u32);
        w32(&mut v, *len);
        v.extend_from_slice(data);
    }
    v
}

/// (ns, link type, bytes, original length) of each packet.
type Got = Vec<(u64, u32, Vec<u8>, u32)>;

fn all(sf: &mut Savefile) -> (Got, Option<String>) {
    let mut out = Vec::new();
    loop {
        match sf.next() {
            Ok(Some(f)) => out.push((f.ts.0, f.linktype, f.data.to_vec(), f.orig_len)),
            Ok(None) => return (out, None),
            Err(e) => return (out, Some(e.to_string())),
        }
    }
}

#[test]
fn classic_pcap_in_both_byte_orders_and_precisions() {
    let recs: &[(u32, u32, &[u8], u32)] = &[(10, 5, b"abcd", 60), (11, 999_999, b"ef", 2)];
    for (magic, be, nanos) in [
        (0xa1b2_c3d4, false, false),
        (0xa1b2_c3d4, true, false),
        (0xa1b2_3c4d, false, true),
        (0xa1b2_3c4d, true, true),
    ] {
        let mut sf = Savefile::from_vec(legacy_file(magic, be, 65535, recs)).unwrap();
        assert_eq!(sf.linktype(), Some(1));
        let (got, err) = all(&mut sf);
        assert_eq!(err, None);
        let scale = if nanos { 1 } else { 1000 };
        assert_eq!(
            got,
            vec![
                (10_000_000_000 + 5 * scale, 1, b"abcd".to_vec(), 60),
                (11_000_000_000 + 999_999 * scale, 1, b"ef".to_vec(), 2),
            ],
            "{magic:x} be={be}"
        );
    }
}

#[test]
fn damage_gives_the_packets_before_it_and_libpcaps_words() {
    let recs: &[(u32, u32, &[u8], u32)] = &[(1, 0, b"0123456789", 10), (2, 0, b"abcdef", 6)];
    let whole = legacy_file(0xa1b2_c3d4, false, 0, recs);
    // cut in the second record's data, and in its header
    for (cut, msg) in [
        (
            whole.len() - 2,
            "truncated dump file; tried to read 6 captured bytes, only got 4",
        ),
        (
            24 + 16 + 10 + 7,
            "truncated dump file; tried to read 16 header bytes, only got 7",
        ),
    ] {
        let mut sf = Savefile::from_vec(whole[..cut].to_vec()).unwrap();
        let (got, err) = all(&mut sf);
        assert_eq!(got.len(), 1);
        assert_eq!(err.as_deref(), Some(msg));
    }
    // an absurd captured length
    let mut bad = whole.clone();
    bad[24 + 8..24 + 12].copy_from_slice(&3_000_000u32.to_le_bytes());
    let (got, err) = all(&mut Savefile::from_vec(bad).unwrap());
    assert!(got.is_empty());
    assert_eq!(
        err.as_deref(),
        Some("invalid packet capture length 3000000, bigger than maximum of 262144")
    );
    // no file header, or not a capture at all
    let e = |v: Vec<u8>| Savefile::from_vec(v).err().unwrap().to_string();
    assert_eq!(
        e(whole[..10].to_vec()),
        "truncated dump file; tried to read 24 file header bytes, only got 10"
    );
    assert_eq!(
        e(Vec::new()),
        "truncated dump file; tried to read 24 file header bytes, only got 0"
    );
    assert_eq!(
        e(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n".to_vec()),
        "unknown file format"
    );
}

#[test]
fn a_record_longer_than_the_snaplen_is_cut_to_it() {
    let recs: &[(u32, u32, &[u8], u32)] = &[(1, 0, b"0123456789", 10), (2, 0, b"ab", 2)];
    let (got, err) =
        all(&mut Savefile::from_vec(legacy_file(0xa1b2_c3d4, false, 4, recs)).unwrap());
    assert_eq!(err, None);
    assert_eq!(got[0].2, b"0123");
    assert_eq!(got[1].2, b"ab");
}

/// A pcapng block: type, length, body padded to 4, length again.
fn block(be: bool, kind: u32, body: &[u8]) -> Vec<u8> {
    let w = |x: u32| if be { x.to_be_bytes() } else { x.to_le_bytes() };
    let pad = (4 - body.len() % 4) % 4;
    let len = (12 + body.len() + pad) as u32;
    let mut v = Vec::new();
    v.extend_from_slice(&w(kind));
    v.extend_from_slice(&w(len));
    v.extend_from_slice(body);
    v.extend(std::iter::repeat_n(0, pad));
    v.extend_from_slice(&w(len));
    v
}

fn shb(be: bool) -> Vec<u8> {
    let mut body = Vec::new();
    body.extend_from_slice(&if be {
        0x1a2b_3c4du32.to_be_bytes()
    } else {
        0x1a2b_3c4du32.to_le_bytes()
    });
    body.extend_from_slice(&[0, 1, 0, 0].map(|b| b));
    if !be {
        body[4..8].copy_from_slice(&[1, 0, 0, 0]);
    }
    body.extend_from_slice(&(-1i64).to_le_bytes());
    block(be, 0x0a0d_0d0a, &body)
}

/// An interface: link type, snaplen, and options (code, value).
fn idb(be: bool, linktype: u16, snaplen: u32, opts: &[(u16, Vec<u8>)]) -> Vec<u8> {
    let w16 = |x: u16| if be { x.to_be_bytes() } else { x.to_le_bytes() };
    let mut body = Vec::new();
    body.extend_from_slice(&w16(linktype));
    body.extend_from_slice(&[0, 0]);
    body.extend_from_slice(&if be {
        snaplen.to_be_bytes()
    } else {
        snaplen.to_le_bytes()
    });
    for (code, val) in opts {
        body.extend_from_slice(&w16(*code));
        body.extend_from_slice(&w16(val.len() as u16));
        body.extend_from_slice(val);
        body.extend(std::iter::repeat_n(0, (4 - val.len() % 4) % 4));
    }
    body.extend_from_slice(&[0, 0, 0, 0]);
    block(be, 1, &body)
}

fn epb(be: bool, iface: u32, ts: u64, data: &[u8], len: u32) -> Vec<u8> {
    let w = |x: u32| if be { x.to_be_bytes() } else { x.to_le_bytes() };
    let mut body = Vec::new();
    for x in [iface, (ts >> 32) as u32, ts as u32, data.len() as u32, len] {
        body.extend_from_slice(&w(x));
    }
    body.extend_from_slice(data);
    block(be, 6, &body)
}

#[test]
fn pcapng_interfaces_of_their_own_link_type_resolution_and_offset() {
    let mut f = shb(false);
    // 0: Ethernet, ns; 1: raw IP, 2^-10 s units and 100 s offset; 2: default µs
    f.extend(idb(false, 1, 0, &[(9, vec![9])]));
    f.extend(idb(
        false,
        101,
        0,
        &[(9, vec![0x80 | 10]), (14, 100i64.to_le_bytes().to_vec())],
    ));
    f.extend(idb(false, 113, 0, &[]));
    f.extend(block(false, 0x0bad, b"a block of an unknown type"));
    f.extend(epb(false, 0, 1_500_000_000_123_456_789, b"eth!", 60));
    f.extend(epb(false, 1, 1024 * 7 + 512, b"ip", 2));
    f.extend(epb(false, 2, 1_000_001, b"sll", 3));
    // a simple packet block: interface 0, no timestamp, cut by the block's room
    let mut spb = 9u32.to_le_bytes().to_vec();
    spb.extend_from_slice(b"simple");
    f.extend(block(false, 3, &spb));
    let (got, err) = all(&mut Savefile::from_vec(f).unwrap());
    assert_eq!(err, None);
    assert_eq!(
        got,
        vec![
            (1_500_000_000_123_456_789, 1, b"eth!".to_vec(), 60),
            (107_500_000_000, 101, b"ip".to_vec(), 2),
            (1_000_001_000, 113, b"sll".to_vec(), 3),
            (0, 1, b"simple\0\0".to_vec(), 9),
        ]
    );
}

#[test]
fn pcapng_sections_of_either_byte_order_start_over() {
    let mut f = shb(false);
    f.extend(idb(false, 1, 0, &[]));
    f.extend(epb(false, 0, 5, b"le", 2));
    f.extend(shb(true));
    f.extend(idb(true, 228, 0, &[]));
    f.extend(epb(true, 0, 7, b"be", 2));
    let (got, err) = all(&mut Savefile::from_vec(f.clone()).unwrap());
    assert_eq!(err, None);
    assert_eq!(
        got,
        vec![
            (5_000, 1, b"le".to_vec(), 2),
            (7_000, 228, b"be".to_vec(), 2)
        ]
    );
    // a packet on an interface of the first section only
    f.extend(epb(true, 1, 9, b"??", 2));
    let (got, err) = all(&mut Savefile::from_vec(f).unwrap());
    assert_eq!(got.len(), 2);
    assert_eq!(
        err.as_deref(),
        Some("a packet arrived on interface 1, but there's no Interface Description Block for that interface")
    );
}

#[test]
fn damaged_pcapng_blocks_are_errors_after_the_packets_before_them() {
    let mut f = shb(false);
    f.extend(idb(false, 1, 0, &[]));
    f.extend(epb(false, 0, 5, b"good", 4));
    let good = f.len();
    f.extend(epb(false, 0, 6, b"cut in the middle", 17));
    let cut = f[..f.len() - 5].to_vec();
    let (got, err) = all(&mut Savefile::from_vec(cut).unwrap());
    assert_eq!(got.len(), 1);
    assert!(err
        .unwrap()
        .starts_with("truncated pcapng dump file; tried to read"));
    // a length below the framing, one not a multiple of 4, one absurd
    for (len, msg) in [
        (8u32, "block in pcapng dump file has a length of 8 < 12"),
        (
            30,
            "block in pcapng dump file has a length of 30 that is not a multiple of 4",
        ),
        (
            0x4000_0000,
            "pcapng block size 1073741824 > maximum 16777216",
        ),
    ] {
        let mut bad = f[..good].to_vec();
        bad.extend_from_slice(&6u32.to_le_bytes());
        bad.extend_from_slice(&len.to_le_bytes());
        bad.extend_from_slice(&[0; 32]);
        let (got, err) = all(&mut Savefile::from_vec(bad).unwrap());
        assert_eq!(got.len(), 1);
        assert_eq!(err.as_deref(), Some(msg));
    }
    // a captured length larger than its block
    let mut bad = f[..good].to_vec();
    let mut body = Vec::new();
    for x in [0u32, 0, 0, 500, 500] {
        body.extend_from_slice(&x.to_le_bytes());
    }
    bad.extend(block(false, 6, &body));
    let (_, err) = all(&mut Savefile::from_vec(bad).unwrap());
    assert_eq!(
        err.as_deref(),
        Some("pcapng block of type 6: captured length 500 larger than the block")
    );
}

#[test]
fn gzip_is_read_as_the_file_it_holds() {
    use std::io::Write;
    let recs: &[(u32, u32, &[u8], u32)] = &[(1, 2, b"zipped", 6)];
    let plain = legacy_file(0xa1b2_c3d4, false, 0, recs);
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("x.pcap.gz");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&plain).unwrap();
    std::fs::write(&p, gz.finish().unwrap()).unwrap();
    let (got, err) = all(&mut Savefile::open(&p).unwrap());
    assert_eq!(err, None);
    assert_eq!(got, vec![(1_000_002_000, 1, b"zipped".to_vec(), 6)]);
    // mapped, the same
    let q = dir.path().join("x.pcap");
    std::fs::write(&q, &plain).unwrap();
    assert_eq!(all(&mut Savefile::open(&q).unwrap()).0, got);
    // an empty file
    let e = dir.path().join("empty.pcap");
    std::fs::write(&e, b"").unwrap();
    assert_eq!(
        Savefile::open(&e).err().unwrap().to_string(),
        "truncated dump file; tried to read 24 file header bytes, only got 0"
    );
}
