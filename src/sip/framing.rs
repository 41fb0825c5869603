//! Message boundaries for SIP over stream transports (TCP, TLS, WS payloads).
//!
//! On a stream, Content-Length is mandatory (RFC 3261 18.3) and a missing one
//! means an empty body. This module only finds lengths; it does not build a
//! [`SipMessage`](super::parser::SipMessage): call
//! [`parse_message`](super::parser::parse_message) on the framed slice.

use memchr::memchr;

use super::header::parse_usize_digits;
use super::parser::{leading_crlf, looks_like_sip, ParseEventKind, MAX_HEADER_BYTES};

/// Largest Content-Length accepted on a stream (16 MiB).
pub const MAX_STREAM_BODY: usize = 16 * 1024 * 1024;

/// Result of [`frame_len`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Frame {
    /// A whole message of this many bytes is at the start of the buffer.
    Complete(usize),
    /// More bytes are needed.
    Incomplete,
    /// The stream is not (or no longer) valid SIP; resynchronize or give up.
    Invalid(ParseEventKind),
}

/// Number of leading CR/LF bytes: RFC 5626 keep-alives (`\r\n\r\n` ping,
/// `\r\n` pong) and stray line ends between messages. Skip them before
/// [`frame_len`].
pub fn skip_keepalive(buf: &[u8]) -> usize {
    leading_crlf(buf)
}

/// If `line` is a Content-Length header line (`Content-Length` or compact
/// `l`, any case), its raw value.
fn content_length_value(line: &[u8]) -> Option<&[u8]> {
    let colon = memchr(b':', line)?;
    let name = trim(&line[..colon]);
    if name.eq_ignore_ascii_case(b"content-length") || name.eq_ignore_ascii_case(b"l") {
        Some(trim(&line[colon + 1..]))
    } else {
        None
    }
}

fn trim(s: &[u8]) -> &[u8] {
    let start = s
        .iter()
        .position(|b| !matches!(b, b' ' | b'\t' | b'\r'))
        .unwrap_or(s.len());
    let end = s
        .iter()
        .rposition(|b| !matches!(b, b' ' | b'\t' | b'\r'))
        .map_or(start, |e| e + 1);
    s.get(start..end).unwrap_or(&[])
}

/// Length of the SIP message at the start of a reassembled byte stream:
/// header section (ending with an empty line) plus Content-Length (compact
/// `l:` too; missing means 0).
///
/// Leading CRLFs are counted into the frame (call [`skip_keepalive`] first to
/// account for them separately). A first line that is not SIP gives
/// `Invalid(BadStartLine)`; a header section over 64 KiB without end gives
/// `Invalid(HeadersTooLong)`; a non-numeric, conflicting or huge (> 16 MiB)
/// Content-Length gives `Invalid(BadContentLength)`.
pub fn frame_len(buf: &[u8]) -> Frame {
    let skip = leading_crlf(buf);
    let msg = &buf[skip..];
    let limit = msg.len().min(MAX_HEADER_BYTES);
    let mut pos = 0;
    let mut cl: Option<usize> = None;
    let mut first = true;
    loop {
        let Some(n) = memchr(b'\n', &msg[pos..limit]) else {
            return if msg.len() > MAX_HEADER_BYTES {
                Frame::Invalid(ParseEventKind::HeadersTooLong)
            } else {
                Frame::Incomplete
            };
        };
        let line = &msg[pos..pos + n];
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        pos += n + 1;
        if first {
            first = false;
            if !looks_like_sip(msg) {
                return Frame::Invalid(ParseEventKind::BadStartLine);
            }
            continue;
        }
        if line.is_empty() {
            break;
        }
        if matches!(line.first(), Some(b' ' | b'\t')) {
            continue;
        }
        if let Some(v) = content_length_value(line) {
            let n = std::str::from_utf8(v)
                .ok()
                .and_then(parse_usize_digits)
                .filter(|&n| n <= MAX_STREAM_BODY);
            match (n, cl) {
                (None, _) => return Frame::Invalid(ParseEventKind::BadContentLength),
                (Some(n), Some(c)) if n != c => {
                    return Frame::Invalid(ParseEventKind::BadContentLength)
                }
                (Some(n), _) => cl = Some(n),
            }
        }
    }
    let total = skip + pos + cl.unwrap_or(0);
    if buf.len() >= total {
        Frame::Complete(total)
    } else {
        Frame::Incomplete
    }
}

/// After a gap or garbage, offset of the next plausible SIP start line in
/// `buf`: a line start (offset 0 or just after a LF) where
/// [`looks_like_sip`] holds.
pub fn resync(buf: &[u8]) -> Option<usize> {
    if looks_like_sip(buf) {
        return Some(0);
    }
    memchr::memchr_iter(b'\n', buf)
        .map(|i| i + 1)
        .find(|&start| buf.get(start..).is_some_and(looks_like_sip))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sip::parser::parse_message;
    use proptest::prelude::*;

    const MSG1: &[u8] = b"MESSAGE sip:bob@example.com SIP/2.0\r\nVia: SIP/2.0/TCP h;branch=z9hG4bK1\r\nl: 5\r\n\r\nhello";
    const MSG2: &[u8] =
        b"SIP/2.0 200 OK\r\nVia: SIP/2.0/TCP h;branch=z9hG4bK1\r\nContent-Length: 0\r\n\r\n";
    const MSG3: &[u8] = b"OPTIONS sip:x@y SIP/2.0\r\nCall-ID: no-cl\r\n\r\n";

    #[test]
    fn two_messages_in_one_buffer() {
        let mut buf = MSG1.to_vec();
        buf.extend_from_slice(MSG2);
        assert_eq!(frame_len(&buf), Frame::Complete(MSG1.len()));
        assert_eq!(frame_len(&buf[MSG1.len()..]), Frame::Complete(MSG2.len()));
        let (m, used) = parse_message(&buf).unwrap();
        assert_eq!(used, MSG1.len());
        assert_eq!(m.body, b"hello");
        // Missing Content-Length on a stream means 0.
        let mut buf = MSG3.to_vec();
        buf.extend_from_slice(MSG2);
        assert_eq!(frame_len(&buf), Frame::Complete(MSG3.len()));
    }

    #[test]
    fn split_at_every_position() {
        let mut stream = MSG1.to_vec();
        stream.extend_from_slice(b"\r\n\r\n");
        stream.extend_from_slice(MSG2);
        stream.extend_from_slice(MSG3);
        for split in 0..=stream.len() {
            // Feed the stream in two segments, frame as much as possible.
            let mut acc: Vec<u8> = Vec::new();
            let mut msgs = Vec::new();
            for seg in [&stream[..split], &stream[split..]] {
                acc.extend_from_slice(seg);
                loop {
                    let k = skip_keepalive(&acc);
                    acc.drain(..k);
                    match frame_len(&acc) {
                        Frame::Complete(n) => {
                            msgs.push(acc[..n].to_vec());
                            acc.drain(..n);
                        }
                        Frame::Incomplete => break,
                        Frame::Invalid(k) => panic!("invalid {k:?} at split {split}"),
                    }
                }
            }
            assert!(acc.is_empty(), "split {split}");
            assert_eq!(
                msgs,
                vec![MSG1.to_vec(), MSG2.to_vec(), MSG3.to_vec()],
                "split {split}"
            );
        }
    }

    #[test]
    fn keepalives() {
        assert_eq!(skip_keepalive(b"\r\n\r\nSIP/2.0"), 4);
        assert_eq!(skip_keepalive(b"\r\n"), 2);
        assert_eq!(skip_keepalive(b"INVITE"), 0);
        assert_eq!(skip_keepalive(b""), 0);
        assert_eq!(frame_len(b"\r\n\r\n"), Frame::Incomplete);
        let mut buf = b"\r\n\r\n".to_vec();
        buf.extend_from_slice(MSG2);
        assert_eq!(frame_len(&buf), Frame::Complete(buf.len()));
    }

    #[test]
    fn invalid_streams() {
        assert_eq!(
            frame_len(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
            Frame::Invalid(ParseEventKind::BadStartLine)
        );
        assert_eq!(
            frame_len(b"SIP/2.0 200 OK\r\nContent-Length: abc\r\n\r\n"),
            Frame::Invalid(ParseEventKind::BadContentLength)
        );
        assert_eq!(
            frame_len(b"SIP/2.0 200 OK\r\nContent-Length: 99999999999\r\n\r\n"),
            Frame::Invalid(ParseEventKind::BadContentLength)
        );
        assert_eq!(
            frame_len(b"SIP/2.0 200 OK\r\nContent-Length: 1\r\nl: 2\r\n\r\nxx"),
            Frame::Invalid(ParseEventKind::BadContentLength)
        );
        assert_eq!(
            frame_len(b"SIP/2.0 200 OK\r\nContent-Length: 16777216\r\n\r\n"),
            Frame::Incomplete
        );
        let mut long = b"SIP/2.0 200 OK\r\nX: ".to_vec();
        long.resize(MAX_HEADER_BYTES + 100, b'a');
        assert_eq!(
            frame_len(&long),
            Frame::Invalid(ParseEventKind::HeadersTooLong)
        );
        long.truncate(MAX_HEADER_BYTES - 100);
        assert_eq!(frame_len(&long), Frame::Incomplete);
        assert_eq!(frame_len(b""), Frame::Incomplete);
        assert_eq!(frame_len(b"SIP/2.0 200 OK"), Frame::Incomplete);
    }

    #[test]
    fn resync_finds_next_start_line() {
        let mut buf = b"\x00\x17garbage\r\nmore body text\nSIP in text\r\n".to_vec();
        let at = buf.len();
        buf.extend_from_slice(MSG2);
        assert_eq!(resync(&buf), Some(at));
        assert_eq!(resync(MSG1), Some(0));
        assert_eq!(resync(b"no sip here\r\nGET / HTTP/1.1\r\n"), None);
        assert_eq!(resync(b""), None);
    }

    proptest! {
        #[test]
        fn any_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..2048)) {
            match frame_len(&data) {
                Frame::Complete(n) => prop_assert!(n <= data.len()),
                Frame::Incomplete | Frame::Invalid(_) => {}
            }
            if let Some(off) = resync(&data) {
                prop_assert!(off < data.len());
            }
            prop_assert!(skip_keepalive(&data) <= data.len());
        }

        #[test]
        fn sip_prefixed_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..512)) {
            let mut buf = b"INVITE sip:a@b SIP/2.0\r\n".to_vec();
            buf.extend_from_slice(&data);
            if let Frame::Complete(n) = frame_len(&buf) {
                prop_assert!(n <= buf.len());
            }
        }
    }
}
