//! A parsed SIP message with the parts several readers parse further, parsed once.

use crate::sip::text::Trim;
use std::borrow::Cow;
use std::cell::OnceCell;

use super::header::{parse_name_addr, parse_uri, NameAddr, SipUri};
use super::parser::{HeaderName, SipMessage, StartLine};

/// One parsed message and the parts its readers (the signatures, the message summary) parse
/// further: the Request-URI, From and To are parsed (and the start line rebuilt) at most once
/// however many read them.
pub struct View<'m, 'a> {
    pub msg: &'m SipMessage<'a>,
    /// The message's bytes as they came (a datagram's whole payload): what Suricata's payload
    /// keywords (`content` without a sticky buffer, `dsize`) read. Empty when not given.
    pub raw: &'m [u8],
    ruri: OnceCell<Option<SipUri<'m>>>,
    from: OnceCell<Option<NameAddr<'m>>>,
    to: OnceCell<Option<NameAddr<'m>>>,
    start_line: OnceCell<Cow<'m, [u8]>>,
}

impl<'m, 'a> View<'m, 'a> {
    pub fn new(msg: &'m SipMessage<'a>) -> Self {
        Self::with_raw(msg, &[])
    }

    /// A view that also holds the bytes the message was parsed from.
    pub fn with_raw(msg: &'m SipMessage<'a>, raw: &'m [u8]) -> Self {
        View {
            msg,
            raw,
            ruri: OnceCell::new(),
            from: OnceCell::new(),
            to: OnceCell::new(),
            start_line: OnceCell::new(),
        }
    }

    /// The body as Suricata reads it: on a datagram, everything after the headers however
    /// short its Content-Length says it is (what an endpoint's lenient parser reads too);
    /// otherwise the parsed body.
    pub fn lenient_body(&self) -> &'m [u8] {
        match self.raw.get(self.msg.header_len..) {
            Some(rest) if rest.len() > self.msg.body.len() => rest,
            _ => self.msg.body,
        }
    }

    /// One of the message's frames (see [`super::frames`]), from its bytes.
    pub fn frame(&self, kind: super::frames::FrameKind) -> Option<&'m [u8]> {
        super::frames::frame(self.raw, self.msg, kind)
    }

    /// Whether the message says its body is SDP (`Content-Type: application/sdp`, parameters
    /// allowed): for the media summary, the `sdp` record and the `sdp.*` rule buffers alike.
    pub fn is_sdp(&self) -> bool {
        self.msg.content_type().is_some_and(|c| {
            c.trim_ws_start()
                .as_bytes()
                .get(..15)
                .is_some_and(|p| p.eq_ignore_ascii_case(b"application/sdp"))
        })
    }

    /// The Request-URI, parsed (once).
    pub fn ruri(&self) -> Option<&SipUri<'m>> {
        self.ruri
            .get_or_init(|| self.msg.request_uri().and_then(parse_uri))
            .as_ref()
    }

    /// The From header, parsed (once).
    pub fn from(&self) -> Option<&NameAddr<'m>> {
        self.from
            .get_or_init(|| self.msg.header(HeaderName::From).and_then(parse_name_addr))
            .as_ref()
    }

    /// The To header, parsed (once).
    pub fn to(&self) -> Option<&NameAddr<'m>> {
        self.to
            .get_or_init(|| self.msg.header(HeaderName::To).and_then(parse_name_addr))
            .as_ref()
    }

    /// The start line as sent: its bytes when they are the parts joined by single spaces (as
    /// nearly every sender writes it), else rebuilt so (once).
    pub fn start_line(&self) -> &[u8] {
        self.start_line
            .get_or_init(|| match self.sent_start_line() {
                Some(line) => Cow::Borrowed(line),
                None => Cow::Owned(
                    match &self.msg.start {
                        StartLine::Request {
                            method,
                            uri,
                            version,
                        } => format!("{method} {uri} {version}"),
                        StartLine::Response {
                            version,
                            code,
                            reason,
                        } => format!("{version} {code} {reason}"),
                    }
                    .into_bytes(),
                ),
            })
    }

    /// The first line of the message's bytes, when it is exactly its parts joined by single
    /// spaces.
    fn sent_start_line(&self) -> Option<&'m [u8]> {
        let end = memchr::memchr(b'\n', self.raw)?;
        let line = &self.raw[..end];
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let mut code = itoa::Buffer::new();
        let parts: [&[u8]; 3] = match &self.msg.start {
            StartLine::Request {
                method,
                uri,
                version,
            } => [
                method.as_str().as_bytes(),
                uri.as_bytes(),
                version.as_bytes(),
            ],
            StartLine::Response {
                version,
                code: c,
                reason,
            } => [
                version.as_bytes(),
                code.format(*c).as_bytes(),
                reason.as_bytes(),
            ],
        };
        let mut rest = line;
        for (i, part) in parts.iter().enumerate() {
            rest = rest.strip_prefix(*part)?;
            if i < 2 {
                rest = rest.strip_prefix(b" ")?;
            }
        }
        rest.is_empty().then_some(line)
    }
}

#[cfg(test)]
mod tests {
    use super::View;
    use crate::sip::parser::parse_datagram;

    /// The start line a rule reads: the sent bytes when they are the parts joined by single
    /// spaces, the parts so joined when they are not.
    #[test]
    fn the_start_line_is_the_sent_line_or_its_parts_joined_by_one_space() {
        // (bytes, start line, read from the bytes as they are)
        let cases: [(&[u8], &[u8], bool); 4] = [
            (
                b"INVITE sip:a@b SIP/2.0\r\nCall-ID: x\r\n\r\n",
                b"INVITE sip:a@b SIP/2.0",
                true,
            ),
            (b"SIP/2.0 200 OK\nCall-ID: x\n\n", b"SIP/2.0 200 OK", true),
            (
                b"SIP/2.0 180 Ringing now\r\n\r\n",
                b"SIP/2.0 180 Ringing now",
                true,
            ),
            (b"SIP/2.0 200\r\n\r\n", b"SIP/2.0 200 ", false),
        ];
        for (raw, want, borrowed) in cases {
            let (msg, _) = parse_datagram(raw).unwrap();
            let view = View::with_raw(&msg, raw);
            assert_eq!(
                String::from_utf8_lossy(view.start_line()),
                String::from_utf8_lossy(want),
                "{}",
                String::from_utf8_lossy(raw)
            );
            assert_eq!(
                matches!(view.start_line.get(), Some(std::borrow::Cow::Borrowed(_))),
                borrowed,
                "{}",
                String::from_utf8_lossy(raw)
            );
            // Without the bytes: rebuilt.
            let (msg, _) = parse_datagram(raw).unwrap();
            assert_eq!(
                String::from_utf8_lossy(View::new(&msg).start_line()),
                String::from_utf8_lossy(want)
            );
        }
    }
}
