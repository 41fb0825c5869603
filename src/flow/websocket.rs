//! WebSocket (RFC 6455) as a SIP transport (RFC 7118): the HTTP upgrade that starts it and the
//! frames that carry one SIP message each. Only what a passive reader needs: no extensions.

use memchr::memmem;

/// What is at the start of a buffer of WebSocket stream bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WsFrame {
    /// A whole frame: `header_len` bytes of header, then `payload_len` bytes of payload.
    Complete {
        header_len: usize,
        payload_len: usize,
        opcode: u8,
        fin: bool,
        /// RSV1: the payload is compressed (permessage-deflate), which is not decoded.
        compressed: bool,
        mask: Option<[u8; 4]>,
    },
    Incomplete,
    /// A length no SIP message comes near, or reserved bits set.
    Invalid(&'static str),
}

pub const OP_CONTINUATION: u8 = 0;
pub const OP_TEXT: u8 = 1;
pub const OP_BINARY: u8 = 2;

/// Frames longer than this are not SIP: the stream is given up.
pub const MAX_FRAME: usize = 64 * 1024;

/// Parse the frame header at the start of `buf`.
pub fn parse_frame(buf: &[u8]) -> WsFrame {
    if buf.len() < 2 {
        return WsFrame::Incomplete;
    }
    let (b0, b1) = (buf[0], buf[1]);
    if b0 & 0x30 != 0 {
        return WsFrame::Invalid("reserved bits set");
    }
    let opcode = b0 & 0x0f;
    if matches!(opcode, 3..=7 | 11..=15) {
        return WsFrame::Invalid("reserved opcode");
    }
    let masked = b1 & 0x80 != 0;
    let (len, mut hl) = match b1 & 0x7f {
        126 => {
            if buf.len() < 4 {
                return WsFrame::Incomplete;
            }
            (u16::from_be_bytes([buf[2], buf[3]]) as u64, 4)
        }
        127 => {
            if buf.len() < 10 {
                return WsFrame::Incomplete;
            }
            let mut b = [0u8; 8];
            b.copy_from_slice(&buf[2..10]);
            (u64::from_be_bytes(b), 10)
        }
        n => (n as u64, 2),
    };
    if len > MAX_FRAME as u64 {
        return WsFrame::Invalid("frame too long");
    }
    let mask = if masked {
        if buf.len() < hl + 4 {
            return WsFrame::Incomplete;
        }
        let m = [buf[hl], buf[hl + 1], buf[hl + 2], buf[hl + 3]];
        hl += 4;
        Some(m)
    } else {
        None
    };
    WsFrame::Complete {
        header_len: hl,
        payload_len: len as usize,
        opcode,
        fin: b0 & 0x80 != 0,
        compressed: b0 & 0x40 != 0,
        mask,
    }
}

/// Append `payload`, unmasked, to `out`.
pub fn unmask_into(payload: &[u8], mask: Option<[u8; 4]>, out: &mut Vec<u8>) {
    match mask {
        None => out.extend_from_slice(payload),
        Some(m) => out.extend(payload.iter().enumerate().map(|(i, b)| b ^ m[i & 3])),
    }
}

/// The HTTP header that opens a WebSocket, if `buf` starts with a complete one: a `GET` with
/// `Upgrade: websocket`, or the `101 Switching Protocols` answer. Returns its length.
pub fn upgrade_len(buf: &[u8]) -> Option<usize> {
    let end = memmem::find(buf, b"\r\n\r\n")? + 4;
    let head = &buf[..end];
    let is_req = head.starts_with(b"GET ");
    let is_resp = head.len() > 12 && head.starts_with(b"HTTP/1.1 101");
    if !(is_req || is_resp) {
        return None;
    }
    let lower: Vec<u8> = head.to_ascii_lowercase();
    memmem::find(&lower, b"upgrade: websocket").map(|_| end)
}

/// Whether `buf` could be the start of an HTTP upgrade whose header is not complete yet.
pub fn may_be_upgrade(buf: &[u8]) -> bool {
    let n = buf.len().min(12);
    b"GET "[..n.min(4)] == buf[..n.min(4)] || b"HTTP/1.1 101"[..n] == buf[..n]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(payload: &[u8], mask: Option<[u8; 4]>, fin: bool) -> Vec<u8> {
        let mut v = vec![if fin { 0x81 } else { 0x01 }];
        let m = if mask.is_some() { 0x80 } else { 0 };
        if payload.len() < 126 {
            v.push(m | payload.len() as u8);
        } else {
            v.push(m | 126);
            v.extend_from_slice(&(payload.len() as u16).to_be_bytes());
        }
        if let Some(k) = mask {
            v.extend_from_slice(&k);
            v.extend(payload.iter().enumerate().map(|(i, b)| b ^ k[i & 3]));
        } else {
            v.extend_from_slice(payload);
        }
        v
    }

    #[test]
    fn masked_and_unmasked_frames() {
        let msg = b"OPTIONS sip:a@b SIP/2.0\r\n\r\n";
        for mask in [None, Some([1, 2, 3, 4])] {
            let f = frame(msg, mask, true);
            let WsFrame::Complete {
                header_len,
                payload_len,
                opcode,
                fin,
                mask: m,
                ..
            } = parse_frame(&f)
            else {
                panic!("not complete")
            };
            assert_eq!((opcode, fin, payload_len), (OP_TEXT, true, msg.len()));
            let mut out = Vec::new();
            unmask_into(&f[header_len..header_len + payload_len], m, &mut out);
            assert_eq!(out, msg);
            for cut in 0..header_len {
                assert_eq!(parse_frame(&f[..cut]), WsFrame::Incomplete);
            }
        }
        let long = vec![b'a'; 300];
        let f = frame(&long, Some([9, 9, 9, 9]), false);
        assert!(matches!(
            parse_frame(&f),
            WsFrame::Complete {
                header_len: 8,
                payload_len: 300,
                fin: false,
                ..
            }
        ));
    }

    #[test]
    fn rejects_what_is_not_websocket() {
        assert!(matches!(parse_frame(&[0xF1, 0x00]), WsFrame::Invalid(_)));
        assert!(matches!(parse_frame(&[0x83, 0x00]), WsFrame::Invalid(_)));
        let mut huge = vec![0x81, 127];
        huge.extend_from_slice(&u64::MAX.to_be_bytes());
        assert!(matches!(parse_frame(&huge), WsFrame::Invalid(_)));
    }

    #[test]
    fn upgrade_headers() {
        let req = b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Protocol: sip\r\n\r\n\x81\x00";
        assert_eq!(upgrade_len(req), Some(req.len() - 2));
        let resp = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: WebSocket\r\n\r\n";
        assert_eq!(upgrade_len(resp), Some(resp.len()));
        assert_eq!(upgrade_len(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"), None);
        assert!(may_be_upgrade(b"GE"));
        assert!(may_be_upgrade(b"HTTP/1.1 1"));
        assert!(!may_be_upgrade(b"INVITE sip:"));
    }

    #[test]
    fn any_bytes_never_panic() {
        let mut x: u32 = 12345;
        for _ in 0..20_000 {
            let n = (x % 20) as usize;
            let bytes: Vec<u8> = (0..n)
                .map(|_| {
                    x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
                    (x >> 16) as u8
                })
                .collect();
            let _ = parse_frame(&bytes);
            let _ = upgrade_len(&bytes);
            let _ = may_be_upgrade(&bytes);
        }
    }
}
