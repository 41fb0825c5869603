//! Sticky buffers (the parts of a SIP message a match looks at) and the matches themselves.

pub use super::content::Match;
use crate::sip::frames::FrameKind;
use crate::sip::parser::{HeaderName, StartLine};
use crate::sip::View;

/// A part of an SDP body (Suricata's `sdp.*` buffers): the value after `x=` of the lines of one
/// letter, at session level (before the first `m=`) or media level (after it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SdpField {
    pub letter: u8,
    pub media: bool,
}

/// Suricata's `sdp.*` keywords and the lines they read.
const SDP_KEYWORDS: &[(&str, u8, bool)] = &[
    ("sdp.origin", b'o', false),
    ("sdp.session_name", b's', false),
    ("sdp.session_info", b'i', false),
    ("sdp.uri", b'u', false),
    ("sdp.email", b'e', false),
    ("sdp.phone_number", b'p', false),
    ("sdp.connection_data", b'c', false),
    ("sdp.bandwidth", b'b', false),
    ("sdp.time", b't', false),
    ("sdp.repeat_time", b'r', false),
    ("sdp.timezone", b'z', false),
    ("sdp.encryption_key", b'k', false),
    ("sdp.attribute", b'a', false),
    ("sdp.media.media", b'm', true),
    ("sdp.media.media_info", b'i', true),
    ("sdp.media.connection_data", b'c', true),
    ("sdp.media.encryption_key", b'k', true),
    ("sdp.media.bandwidth", b'b', true),
    ("sdp.media.attribute", b'a', true),
];

/// A header a rule names (`sip.header:NAME`): classified once, when the rule loads, not for
/// every message it is tested on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NamedHeader {
    pub name: String,
    known: Option<HeaderName<'static>>,
}

impl NamedHeader {
    pub fn new(name: &str) -> NamedHeader {
        NamedHeader {
            name: name.to_string(),
            known: HeaderName::parse(name).known(),
        }
    }
}

/// A part of a SIP message. Some have several instances (every Via header, every
/// occurrence of a named header); a group matches when one instance satisfies all its matches.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Buffer {
    /// `sip.method;` (Suricata's sticky buffer; `sip.method:LIST` is the sensor's filter).
    Method,
    Uri,
    /// `sip.protocol`: the version of the start line (`SIP/2.0`).
    Protocol,
    RequestLine,
    /// `sip.stat_code;`: the status code as three digits.
    StatCode,
    StatMsg,
    ResponseLine,
    /// `sip.from`, `sip.to`: every From / To header's whole value.
    From,
    To,
    Via,
    /// Every User-Agent header (Suricata's `sip.user_agent`).
    UserAgent,
    ContentType,
    ContentLength,
    Sdp(SdpField),
    /// The message's bytes as they came (`pkt_data`, or a payload match with no buffer).
    Payload,
    /// `frame:request.headers` and the others: a part of the message's bytes.
    Frame(FrameKind),
    UriUser,
    UriHost,
    FromUser,
    FromHost,
    FromDisplay,
    ToUser,
    ToHost,
    CallId,
    Contact,
    Body,
    /// Any header by name (compact forms and case folded by [`HeaderName::parse`]).
    Header(NamedHeader),
    StartLine,
}

impl Buffer {
    /// The keyword for a buffer without argument (`sip.header` takes one and is handled apart,
    /// `sip.method` and `sip.stat_code` are buffers only without a value).
    pub(crate) fn from_keyword(k: &str) -> Option<Buffer> {
        if let Some(&(_, letter, media)) = SDP_KEYWORDS.iter().find(|s| s.0 == k) {
            return Some(Buffer::Sdp(SdpField { letter, media }));
        }
        Some(match k {
            "sip.method" => Buffer::Method,
            "sip.uri" => Buffer::Uri,
            "sip.protocol" => Buffer::Protocol,
            "sip.request_line" => Buffer::RequestLine,
            "sip.stat_code" => Buffer::StatCode,
            "sip.stat_msg" => Buffer::StatMsg,
            "sip.response_line" => Buffer::ResponseLine,
            "sip.from" => Buffer::From,
            "sip.to" => Buffer::To,
            "sip.via" => Buffer::Via,
            "sip.user_agent" => Buffer::UserAgent,
            "sip.content_type" => Buffer::ContentType,
            "sip.content_length" => Buffer::ContentLength,
            "pkt_data" => Buffer::Payload,
            "sip.uri_user" => Buffer::UriUser,
            "sip.uri_host" => Buffer::UriHost,
            "sip.from_user" => Buffer::FromUser,
            "sip.from_host" => Buffer::FromHost,
            "sip.from_display" => Buffer::FromDisplay,
            "sip.to_user" => Buffer::ToUser,
            "sip.to_host" => Buffer::ToHost,
            "sip.call_id" => Buffer::CallId,
            "sip.contact" => Buffer::Contact,
            "sip.body" => Buffer::Body,
            "sip.start_line" => Buffer::StartLine,
            _ => return None,
        })
    }

    /// Call `f` on every instance of this buffer in the message until it returns true;
    /// returns whether it did. Instances are borrowed from the message (the start line is
    /// rebuilt once per message); nothing is allocated per rule.
    pub(crate) fn any_instance(&self, v: &View<'_, '_>, mut f: impl FnMut(&[u8]) -> bool) -> bool {
        let msg = v.msg;
        if let Some(name) = self.header() {
            return msg
                .headers
                .iter()
                .filter(|h| h.name == name)
                .any(|h| f(h.value.as_bytes()));
        }
        match self {
            Buffer::Method => msg.method().is_some_and(|m| f(m.as_str().as_bytes())),
            Buffer::Uri => msg.request_uri().is_some_and(|u| f(u.as_bytes())),
            Buffer::Protocol => match &msg.start {
                StartLine::Request { version, .. } | StartLine::Response { version, .. } => {
                    f(version.as_bytes())
                }
            },
            Buffer::RequestLine => msg.method().is_some() && f(v.start_line()),
            Buffer::ResponseLine => msg.status().is_some() && f(v.start_line()),
            Buffer::StatCode => msg.status().is_some_and(|c| {
                let digits = [
                    b'0' + (c / 100 % 10) as u8,
                    b'0' + (c / 10 % 10) as u8,
                    b'0' + (c % 10) as u8,
                ];
                f(&digits)
            }),
            Buffer::StatMsg => match &msg.start {
                StartLine::Response { reason, .. } => f(reason.as_bytes()),
                StartLine::Request { .. } => false,
            },
            Buffer::Sdp(field) => sdp_lines(v)
                .filter(|&(media, letter, _)| media == field.media && letter == field.letter)
                .any(|(_, _, value)| f(value)),
            Buffer::Payload => !v.raw.is_empty() && f(v.raw),
            Buffer::Frame(kind) => v.frame(*kind).is_some_and(f),
            Buffer::UriUser => v
                .ruri()
                .and_then(|u| u.user)
                .is_some_and(|u| f(u.as_bytes())),
            Buffer::UriHost => v
                .ruri()
                .map(|u| u.host)
                .filter(|h| !h.is_empty())
                .is_some_and(|h| f(h.as_bytes())),
            Buffer::FromUser => v
                .from()
                .and_then(|n| n.uri.user)
                .is_some_and(|u| f(u.as_bytes())),
            Buffer::FromHost => v
                .from()
                .map(|n| n.uri.host)
                .filter(|h| !h.is_empty())
                .is_some_and(|h| f(h.as_bytes())),
            Buffer::FromDisplay => v
                .from()
                .and_then(|n| n.display)
                .is_some_and(|d| f(d.as_bytes())),
            Buffer::ToUser => v
                .to()
                .and_then(|n| n.uri.user)
                .is_some_and(|u| f(u.as_bytes())),
            Buffer::ToHost => v
                .to()
                .map(|n| n.uri.host)
                .filter(|h| !h.is_empty())
                .is_some_and(|h| f(h.as_bytes())),
            Buffer::Body => !msg.body.is_empty() && f(msg.body),
            Buffer::StartLine => f(v.start_line()),
            // Read above, by name.
            Buffer::From
            | Buffer::To
            | Buffer::UserAgent
            | Buffer::ContentType
            | Buffer::ContentLength
            | Buffer::CallId
            | Buffer::Contact
            | Buffer::Via
            | Buffer::Header(_) => false,
        }
    }

    /// The header whose every value is this buffer's instance, for a buffer that is one.
    pub(crate) fn header(&self) -> Option<HeaderName<'_>> {
        Some(match self {
            Buffer::From => HeaderName::From,
            Buffer::To => HeaderName::To,
            Buffer::UserAgent => HeaderName::UserAgent,
            Buffer::ContentType => HeaderName::ContentType,
            Buffer::ContentLength => HeaderName::ContentLength,
            Buffer::CallId => HeaderName::CallId,
            Buffer::Contact => HeaderName::Contact,
            Buffer::Via => HeaderName::Via,
            Buffer::Header(h) => h.known.unwrap_or(HeaderName::Other(&h.name)),
            _ => return None,
        })
    }
}

/// The lines of the message's SDP body (Content-Type `application/sdp`) as (media level,
/// letter, value), the value without its `x=` and line end, from the body as Suricata reads
/// it ([`View::lenient_body`]).
fn sdp_lines<'v>(v: &'v View<'_, '_>) -> impl Iterator<Item = (bool, u8, &'v [u8])> {
    let body: &[u8] = if v.is_sdp() { v.lenient_body() } else { &[] };
    let mut media = false;
    body.split(|&b| b == b'\n').filter_map(move |line| {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        match line {
            [letter, b'=', value @ ..] => {
                if *letter == b'm' {
                    media = true;
                }
                Some((media, *letter, value))
            }
            _ => None,
        }
    })
}

/// A sticky buffer and the matches that follow it.
#[derive(Clone, Debug)]
pub struct Group {
    pub buffer: Buffer,
    pub matches: Vec<Match>,
}

impl Group {
    /// True when the group holds for `msg`: `absent` when the buffer has no instance, otherwise
    /// one instance satisfies every match.
    pub(crate) fn test(&self, v: &View<'_, '_>) -> bool {
        if self.matches.iter().any(|m| matches!(m, Match::Absent)) {
            return !self.buffer.any_instance(v, |_| true);
        }
        self.buffer
            .any_instance(v, |i| super::content::inspect(&self.matches, i))
    }
}
