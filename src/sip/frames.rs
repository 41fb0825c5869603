//! A SIP message's frames, as Suricata 7 names them for its `frame:` keyword and the `frame`
//! object of its alerts: the whole message (`pdu`), and of a request or a response its line
//! (with its line end), its headers (every header line, without the blank line that ends them)
//! and its body. Slices of the bytes the message was parsed from.

use super::parser::SipMessage;

/// One kind of frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FrameKind {
    Pdu,
    RequestLine,
    RequestHeaders,
    RequestBody,
    ResponseLine,
    ResponseHeaders,
    ResponseBody,
}

impl FrameKind {
    /// From Suricata's name, with or without the `sip.` prefix (`sip.pdu`, `request.line`).
    pub fn from_name(name: &str) -> Option<FrameKind> {
        let n = name.strip_prefix("sip.").unwrap_or(name);
        Some(match n {
            "pdu" => FrameKind::Pdu,
            "request.line" => FrameKind::RequestLine,
            "request.headers" => FrameKind::RequestHeaders,
            "request.body" => FrameKind::RequestBody,
            "response.line" => FrameKind::ResponseLine,
            "response.headers" => FrameKind::ResponseHeaders,
            "response.body" => FrameKind::ResponseBody,
            _ => return None,
        })
    }

    /// Suricata's name, as alerts write it.
    pub fn name(self) -> &'static str {
        match self {
            FrameKind::Pdu => "pdu",
            FrameKind::RequestLine => "request.line",
            FrameKind::RequestHeaders => "request.headers",
            FrameKind::RequestBody => "request.body",
            FrameKind::ResponseLine => "response.line",
            FrameKind::ResponseHeaders => "response.headers",
            FrameKind::ResponseBody => "response.body",
        }
    }
}

/// The frame of `kind` in `raw`, the bytes `msg` was parsed from; `None` when the message has
/// no such frame (a response has no request line; an empty body is no body frame) or the
/// bytes are not given.
pub fn frame<'r>(raw: &'r [u8], msg: &SipMessage<'_>, kind: FrameKind) -> Option<&'r [u8]> {
    let header_len = msg.header_len.min(raw.len());
    if header_len == 0 {
        return None;
    }
    let request = msg.method().is_some();
    let wanted_request = match kind {
        FrameKind::Pdu => request,
        FrameKind::RequestLine | FrameKind::RequestHeaders | FrameKind::RequestBody => true,
        _ => false,
    };
    if kind != FrameKind::Pdu && wanted_request != request {
        return None;
    }
    // Leading line ends the parser skipped are no part of the message.
    let start = raw[..header_len]
        .iter()
        .position(|b| !matches!(b, b'\r' | b'\n'))
        .unwrap_or(header_len);
    let line_end = raw[start..header_len]
        .iter()
        .position(|&b| b == b'\n')
        .map_or(header_len, |i| start + i + 1);
    let blank =
        if raw[..header_len].ends_with(b"\r\n\r\n") || raw[..header_len].ends_with(b"\n\r\n") {
            2
        } else {
            1
        };
    let headers_end = header_len.saturating_sub(blank).max(line_end);
    let body_end = (header_len + msg.body.len()).min(raw.len());
    let (from, to) = match kind {
        FrameKind::Pdu => (start, body_end),
        FrameKind::RequestLine | FrameKind::ResponseLine => (start, line_end),
        FrameKind::RequestHeaders | FrameKind::ResponseHeaders => (line_end, headers_end),
        FrameKind::RequestBody | FrameKind::ResponseBody => (header_len, body_end),
    };
    raw.get(from..to).filter(|f| !f.is_empty())
}

/// The lengths of the viewed message's frames: pdu, its line, headers and body (0: none).
pub fn lengths(v: &super::View<'_, '_>) -> [u32; 4] {
    let kinds = if v.msg.method().is_some() {
        [
            FrameKind::Pdu,
            FrameKind::RequestLine,
            FrameKind::RequestHeaders,
            FrameKind::RequestBody,
        ]
    } else {
        [
            FrameKind::Pdu,
            FrameKind::ResponseLine,
            FrameKind::ResponseHeaders,
            FrameKind::ResponseBody,
        ]
    };
    kinds.map(|k| v.frame(k).map_or(0, |f| f.len() as u32))
}

/// Where a kind's length is in [`lengths`].
pub fn length_index(kind: FrameKind) -> usize {
    match kind {
        FrameKind::Pdu => 0,
        FrameKind::RequestLine | FrameKind::ResponseLine => 1,
        FrameKind::RequestHeaders | FrameKind::ResponseHeaders => 2,
        FrameKind::RequestBody | FrameKind::ResponseBody => 3,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sip::parser::parse_message;

    #[test]
    fn frames_of_a_request_and_a_response() {
        let raw = b"\r\nINVITE sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nContent-Length: 4\r\n\r\nbody";
        let (m, _) = parse_message(raw).unwrap();
        let f = |k| frame(raw, &m, k).map(|s| String::from_utf8_lossy(s).into_owned());
        assert_eq!(
            f(FrameKind::RequestLine).as_deref(),
            Some("INVITE sip:a@b SIP/2.0\r\n")
        );
        assert_eq!(
            f(FrameKind::RequestHeaders).as_deref(),
            Some("Via: SIP/2.0/UDP h;branch=z9hG4bK1\r\nContent-Length: 4\r\n")
        );
        assert_eq!(f(FrameKind::RequestBody).as_deref(), Some("body"));
        assert!(
            f(FrameKind::Pdu).unwrap().starts_with("INVITE")
                && f(FrameKind::Pdu).unwrap().ends_with("body")
        );
        assert_eq!(f(FrameKind::ResponseLine), None);
        let raw = b"SIP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n";
        let (m, _) = parse_message(raw).unwrap();
        assert_eq!(
            frame(raw, &m, FrameKind::ResponseHeaders),
            Some(&b"Content-Length: 0\r\n"[..])
        );
        assert_eq!(frame(raw, &m, FrameKind::ResponseBody), None);
        assert_eq!(frame(&[], &m, FrameKind::Pdu), None);
        assert_eq!(
            FrameKind::from_name("sip.request.line"),
            Some(FrameKind::RequestLine)
        );
        assert_eq!(FrameKind::from_name("http.request"), None);
    }
}
