//! SIP message parser: start line, header section, body.
//!
//! The parser works on borrowed bytes and only allocates for the header
//! vector, for folded (multi-line) header values and for values that are not
//! valid UTF-8. Limits: [`MAX_HEADERS`] header fields and [`MAX_HEADER_BYTES`]
//! of header section, so hostile input cannot make it do unbounded work.

use std::borrow::Cow;
use std::fmt;

use memchr::memchr;
use nom::bytes::complete::{take_while, take_while1};
use nom::character::complete::char;
use nom::IResult;

use super::header::{
    self, is_token_char, parse_addr, parse_challenge, parse_credentials, parse_cseq,
    parse_name_addr, parse_via, split_top, CSeq, Challenge, Credentials, NameAddr, SipUri, Via,
};
pub use super::method::Method;

/// Most header fields accepted in one message; more is an error
/// ([`ParseEventKind::TooManyHeaders`]).
pub const MAX_HEADERS: usize = 512;
/// Largest accepted header section (start line + headers + blank line).
pub const MAX_HEADER_BYTES: usize = 64 * 1024;
/// Longest first line [`looks_like_sip`] is willing to scan.
const MAX_START_LINE: usize = 8 * 1024;

// ---------------------------------------------------------------------------
// Events and errors
// ---------------------------------------------------------------------------

/// What went wrong (fatal, in [`ParseError`]) or looked odd (non-fatal, in
/// [`SipMessage::warnings`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ParseEventKind {
    /// The header section is not complete yet (more bytes needed).
    Incomplete,
    /// First line is neither a request line nor a status line.
    BadStartLine,
    /// SIP version missing or malformed (fatal), or not 2.0 (warning).
    BadVersion,
    /// Request method is not a token.
    BadMethod,
    /// Status code is not three digits in 100..=699.
    BadStatusCode,
    /// Request-URI is empty or has no scheme.
    BadUri,
    /// A header line without `name:` or a continuation line with no header.
    BadHeaderLine,
    /// More than [`MAX_HEADERS`] header fields.
    TooManyHeaders,
    /// Header section longer than [`MAX_HEADER_BYTES`].
    HeadersTooLong,
    /// Content-Length is not a number, or several disagree.
    BadContentLength,
    /// Content-Length is larger than the bytes present.
    ContentLengthMismatch,
    /// A mandatory header (Via, From, To, Call-ID, CSeq) is absent.
    MissingHeader,
    /// CSeq unparsable, or its method differs from the request method.
    BadCSeq,
    /// A single-valued header (Call-ID, CSeq, From, To, ...) appears twice.
    DuplicateHeader,
    /// Bytes that are not UTF-8 were replaced in a header value or start line.
    InvalidUtf8,
    /// A datagram ended after a whole header line but without the blank line.
    UnterminatedHeaders,
}

impl ParseEventKind {
    /// Stable snake_case name, used as a metric label and in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Incomplete => "incomplete",
            Self::BadStartLine => "bad_start_line",
            Self::BadVersion => "bad_version",
            Self::BadMethod => "bad_method",
            Self::BadStatusCode => "bad_status_code",
            Self::BadUri => "bad_uri",
            Self::BadHeaderLine => "bad_header_line",
            Self::TooManyHeaders => "too_many_headers",
            Self::HeadersTooLong => "headers_too_long",
            Self::BadContentLength => "bad_content_length",
            Self::ContentLengthMismatch => "content_length_mismatch",
            Self::MissingHeader => "missing_header",
            Self::BadCSeq => "bad_cseq",
            Self::DuplicateHeader => "duplicate_header",
            Self::InvalidUtf8 => "invalid_utf8",
            Self::UnterminatedHeaders => "unterminated_headers",
        }
    }
}

impl fmt::Display for ParseEventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A non-fatal oddity found while parsing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseEvent {
    pub kind: ParseEventKind,
    /// Short static explanation (e.g. the header concerned).
    pub detail: &'static str,
}

impl ParseEvent {
    fn new(kind: ParseEventKind, detail: &'static str) -> Self {
        Self { kind, detail }
    }
}

/// Fatal parse failure: what and where (byte offset into the input).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("SIP parse error: {kind} at offset {offset}")]
pub struct ParseError {
    pub kind: ParseEventKind,
    pub offset: usize,
}

impl ParseError {
    fn new(kind: ParseEventKind, offset: usize) -> Self {
        Self { kind, offset }
    }
}

// ---------------------------------------------------------------------------
// Header names
// ---------------------------------------------------------------------------

/// Header field name, matched case-insensitively with compact forms expanded.
///
/// Equality is case-insensitive for `Other`, so `HeaderName::Other("X-Foo")`
/// finds a header sent as `x-foo`.
#[derive(Debug, Clone, Copy)]
pub enum HeaderName<'a> {
    Via,
    From,
    To,
    CallId,
    CSeq,
    Contact,
    MaxForwards,
    UserAgent,
    Server,
    ContentLength,
    ContentType,
    Expires,
    Authorization,
    ProxyAuthorization,
    WwwAuthenticate,
    ProxyAuthenticate,
    PAssertedIdentity,
    PPreferredIdentity,
    Identity,
    Reason,
    Allow,
    Supported,
    Require,
    RecordRoute,
    Route,
    Subject,
    Event,
    ReferTo,
    ReferredBy,
    Accept,
    ContentEncoding,
    SessionExpires,
    AllowEvents,
    Other(&'a str),
}

/// [`KNOWN_HEADERS`] by the first letter of the name, lowercased: a name is compared with the
/// few that start as it does, not with all of them (twelve headers a message, each compared
/// with up to 33 names, were a twentieth of a worker's time).
static BY_FIRST_LETTER: std::sync::LazyLock<[Vec<(&str, HeaderName<'static>)>; 26]> =
    std::sync::LazyLock::new(|| {
        let mut t: [Vec<(&str, HeaderName<'static>)>; 26] = Default::default();
        for &(n, h) in KNOWN_HEADERS {
            // Every known name starts with an ASCII letter (`known_names` finds each).
            if let Some(c) = n.as_bytes().first().filter(|c| c.is_ascii_alphabetic()) {
                t[usize::from(c.to_ascii_lowercase() - b'a')].push((n, h));
            }
        }
        t
    });

/// Canonical long names, looked up case-insensitively.
const KNOWN_HEADERS: &[(&str, HeaderName<'static>)] = &[
    ("Via", HeaderName::Via),
    ("From", HeaderName::From),
    ("To", HeaderName::To),
    ("Call-ID", HeaderName::CallId),
    ("CSeq", HeaderName::CSeq),
    ("Contact", HeaderName::Contact),
    ("Max-Forwards", HeaderName::MaxForwards),
    ("User-Agent", HeaderName::UserAgent),
    ("Server", HeaderName::Server),
    ("Content-Length", HeaderName::ContentLength),
    ("Content-Type", HeaderName::ContentType),
    ("Expires", HeaderName::Expires),
    ("Authorization", HeaderName::Authorization),
    ("Proxy-Authorization", HeaderName::ProxyAuthorization),
    ("WWW-Authenticate", HeaderName::WwwAuthenticate),
    ("Proxy-Authenticate", HeaderName::ProxyAuthenticate),
    ("P-Asserted-Identity", HeaderName::PAssertedIdentity),
    ("P-Preferred-Identity", HeaderName::PPreferredIdentity),
    ("Identity", HeaderName::Identity),
    ("Reason", HeaderName::Reason),
    ("Allow", HeaderName::Allow),
    ("Supported", HeaderName::Supported),
    ("Require", HeaderName::Require),
    ("Record-Route", HeaderName::RecordRoute),
    ("Route", HeaderName::Route),
    ("Subject", HeaderName::Subject),
    ("Event", HeaderName::Event),
    ("Refer-To", HeaderName::ReferTo),
    ("Referred-By", HeaderName::ReferredBy),
    ("Accept", HeaderName::Accept),
    ("Content-Encoding", HeaderName::ContentEncoding),
    ("Session-Expires", HeaderName::SessionExpires),
    ("Allow-Events", HeaderName::AllowEvents),
];

impl<'a> HeaderName<'a> {
    /// Classify a raw header name (case-insensitive, compact forms expanded).
    pub fn parse(name: &'a str) -> HeaderName<'a> {
        if let [c] = name.as_bytes() {
            return match c.to_ascii_lowercase() {
                b'i' => Self::CallId,
                b'f' => Self::From,
                b't' => Self::To,
                b'v' => Self::Via,
                b'm' => Self::Contact,
                b'l' => Self::ContentLength,
                b'c' => Self::ContentType,
                b'k' => Self::Supported,
                b's' => Self::Subject,
                b'e' => Self::ContentEncoding,
                b'o' => Self::Event,
                b'u' => Self::AllowEvents,
                b'r' => Self::ReferTo,
                b'b' => Self::ReferredBy,
                b'x' => Self::SessionExpires,
                b'y' => Self::Identity,
                _ => Self::Other(name),
            };
        }
        let Some(first) = name.as_bytes().first().filter(|c| c.is_ascii_alphabetic()) else {
            return Self::Other(name);
        };
        // Stacks send the canonical spelling: compared as bytes first (one memcmp), then
        // without case for the others.
        let known = &BY_FIRST_LETTER[usize::from(first.to_ascii_lowercase() - b'a')];
        known
            .iter()
            .find(|(n, _)| n.len() == name.len() && *n == name)
            .or_else(|| known.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)))
            .map_or(Self::Other(name), |(_, h)| *h)
    }

    /// Canonical long name ("Call-ID", "CSeq", "WWW-Authenticate", ...);
    /// for `Other` the name as given.
    pub fn as_str(&self) -> &'a str {
        match self {
            Self::Via => "Via",
            Self::From => "From",
            Self::To => "To",
            Self::CallId => "Call-ID",
            Self::CSeq => "CSeq",
            Self::Contact => "Contact",
            Self::MaxForwards => "Max-Forwards",
            Self::UserAgent => "User-Agent",
            Self::Server => "Server",
            Self::ContentLength => "Content-Length",
            Self::ContentType => "Content-Type",
            Self::Expires => "Expires",
            Self::Authorization => "Authorization",
            Self::ProxyAuthorization => "Proxy-Authorization",
            Self::WwwAuthenticate => "WWW-Authenticate",
            Self::ProxyAuthenticate => "Proxy-Authenticate",
            Self::PAssertedIdentity => "P-Asserted-Identity",
            Self::PPreferredIdentity => "P-Preferred-Identity",
            Self::Identity => "Identity",
            Self::Reason => "Reason",
            Self::Allow => "Allow",
            Self::Supported => "Supported",
            Self::Require => "Require",
            Self::RecordRoute => "Record-Route",
            Self::Route => "Route",
            Self::Subject => "Subject",
            Self::Event => "Event",
            Self::ReferTo => "Refer-To",
            Self::ReferredBy => "Referred-By",
            Self::Accept => "Accept",
            Self::ContentEncoding => "Content-Encoding",
            Self::SessionExpires => "Session-Expires",
            Self::AllowEvents => "Allow-Events",
            Self::Other(s) => s,
        }
    }

    /// A name with a dedicated variant as a small number below [`HeaderName::KNOWN`], to index
    /// a table by (what a per-message pass over the headers looks up instead of comparing).
    pub fn ordinal(&self) -> Option<usize> {
        Some(match self {
            Self::Via => 0,
            Self::From => 1,
            Self::To => 2,
            Self::CallId => 3,
            Self::CSeq => 4,
            Self::Contact => 5,
            Self::MaxForwards => 6,
            Self::UserAgent => 7,
            Self::Server => 8,
            Self::ContentLength => 9,
            Self::ContentType => 10,
            Self::Expires => 11,
            Self::Authorization => 12,
            Self::ProxyAuthorization => 13,
            Self::WwwAuthenticate => 14,
            Self::ProxyAuthenticate => 15,
            Self::PAssertedIdentity => 16,
            Self::PPreferredIdentity => 17,
            Self::Identity => 18,
            Self::Reason => 19,
            Self::Allow => 20,
            Self::Supported => 21,
            Self::Require => 22,
            Self::RecordRoute => 23,
            Self::Route => 24,
            Self::Subject => 25,
            Self::Event => 26,
            Self::ReferTo => 27,
            Self::ReferredBy => 28,
            Self::Accept => 29,
            Self::ContentEncoding => 30,
            Self::SessionExpires => 31,
            Self::AllowEvents => 32,
            Self::Other(_) => return None,
        })
    }

    /// How many names have a dedicated variant.
    pub const KNOWN: usize = KNOWN_HEADERS.len();

    /// The same name without the borrow, for a name with a dedicated variant.
    pub fn known(&self) -> Option<HeaderName<'static>> {
        KNOWN_HEADERS.iter().map(|(_, h)| *h).find(|h| h == self)
    }

    /// True for names with a dedicated variant.
    pub fn is_known(&self) -> bool {
        !matches!(self, Self::Other(_))
    }
}

impl PartialEq for HeaderName<'_> {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Self::Other(a), Self::Other(b)) => a.eq_ignore_ascii_case(b),
            (Self::Other(_), _) | (_, Self::Other(_)) => false,
            _ => std::mem::discriminant(self) == std::mem::discriminant(other),
        }
    }
}

impl Eq for HeaderName<'_> {}

impl std::hash::Hash for HeaderName<'_> {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        for b in self.as_str().bytes() {
            state.write_u8(b.to_ascii_lowercase());
        }
    }
}

impl fmt::Display for HeaderName<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

// ---------------------------------------------------------------------------
// Message
// ---------------------------------------------------------------------------

/// One header field as it appeared on the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header<'a> {
    /// Classified name.
    pub name: HeaderName<'a>,
    /// Name exactly as sent (e.g. `i` or `cAlL-iD`).
    pub raw_name: Cow<'a, str>,
    /// Trimmed value; folded lines joined with single spaces (owned then);
    /// invalid UTF-8 replaced (owned then). Borrowed otherwise.
    pub value: Cow<'a, str>,
}

/// First line of a SIP message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartLine<'a> {
    Request {
        method: Method<'a>,
        uri: Cow<'a, str>,
        version: Cow<'a, str>,
    },
    Response {
        version: Cow<'a, str>,
        code: u16,
        reason: Cow<'a, str>,
    },
}

/// A parsed SIP message borrowing from the input buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SipMessage<'a> {
    pub start: StartLine<'a>,
    /// All headers in wire order, repeated ones kept.
    pub headers: Vec<Header<'a>>,
    pub body: &'a [u8],
    /// Offset of the body: start line + headers + blank line (and any
    /// leading CRLFs that were skipped).
    pub header_len: usize,
    /// Non-fatal oddities.
    pub warnings: Vec<ParseEvent>,
    /// Where the first header of each known name is in `headers` (plus one; 0: none), by
    /// [`HeaderName::ordinal`]: the summary and the signatures ask for a dozen headers a
    /// message, each a pass over all of them before.
    first: [u16; HeaderName::KNOWN],
}

impl<'a> SipMessage<'a> {
    /// Request method, `None` for responses.
    pub fn method(&self) -> Option<&Method<'a>> {
        match &self.start {
            StartLine::Request { method, .. } => Some(method),
            StartLine::Response { .. } => None,
        }
    }

    /// Request-URI, `None` for responses.
    pub fn request_uri(&self) -> Option<&str> {
        match &self.start {
            StartLine::Request { uri, .. } => Some(uri),
            StartLine::Response { .. } => None,
        }
    }

    /// Status code, `None` for requests.
    pub fn status(&self) -> Option<u16> {
        match &self.start {
            StartLine::Response { code, .. } => Some(*code),
            StartLine::Request { .. } => None,
        }
    }

    /// True for requests.
    pub fn is_request(&self) -> bool {
        matches!(self.start, StartLine::Request { .. })
    }

    /// Value of the first header with this name.
    pub fn header(&self, name: HeaderName<'_>) -> Option<&str> {
        if let Some(o) = name.ordinal() {
            return match self.first[o] {
                0 => None,
                i => self
                    .headers
                    .get(usize::from(i) - 1)
                    .filter(|h| h.name == name)
                    .map(|h| h.value.as_ref())
                    // The headers were changed after the parse: looked for the long way.
                    .or_else(|| self.find_header(name)),
            };
        }
        self.find_header(name)
    }

    fn find_header(&self, name: HeaderName<'_>) -> Option<&str> {
        self.headers
            .iter()
            .find(|h| h.name == name)
            .map(|h| h.value.as_ref())
    }

    /// Values of all headers with this name, in wire order.
    pub fn headers_named<'s>(&'s self, name: HeaderName<'s>) -> impl Iterator<Item = &'s str> + 's {
        self.headers
            .iter()
            .filter(move |h| h.name == name)
            .map(|h| h.value.as_ref())
    }

    /// Call-ID value.
    pub fn call_id(&self) -> Option<&str> {
        self.header(HeaderName::CallId)
    }

    /// Parsed CSeq.
    pub fn cseq(&self) -> Option<CSeq<'_>> {
        self.header(HeaderName::CSeq).and_then(parse_cseq)
    }

    /// Parsed From.
    pub fn from(&self) -> Option<NameAddr<'_>> {
        self.header(HeaderName::From).and_then(parse_name_addr)
    }

    /// Parsed To.
    pub fn to(&self) -> Option<NameAddr<'_>> {
        self.header(HeaderName::To).and_then(parse_name_addr)
    }

    /// First Contact value (`None` for `Contact: *`).
    pub fn contact(&self) -> Option<NameAddr<'_>> {
        // The first that parses, without collecting (or parsing) the others.
        self.headers_named(HeaderName::Contact)
            .flat_map(|v| split_top(v, b','))
            .find_map(parse_name_addr)
    }

    /// The URI of the first Contact value that [`SipMessage::contact`] gives, without reading
    /// its parameters.
    pub fn contact_uri(&self) -> Option<SipUri<'_>> {
        self.headers_named(HeaderName::Contact)
            .flat_map(|v| split_top(v, b','))
            .find_map(|v| parse_addr(v).map(|(_, uri, _)| uri))
    }

    /// All Contact values (several headers and comma-separated values).
    pub fn contacts(&self) -> Vec<NameAddr<'_>> {
        self.headers_named(HeaderName::Contact)
            .flat_map(|v| split_top(v, b','))
            .filter_map(parse_name_addr)
            .take(MAX_HEADERS)
            .collect()
    }

    /// First P-Asserted-Identity value.
    pub fn p_asserted_identity(&self) -> Option<NameAddr<'_>> {
        self.header(HeaderName::PAssertedIdentity)
            .and_then(|v| split_top(v, b',').next())
            .and_then(parse_name_addr)
    }

    /// All Via values, top first: several Via headers and comma-separated
    /// values within one header. Unparsable entries are skipped.
    pub fn vias(&self) -> Vec<Via<'_>> {
        self.headers_named(HeaderName::Via)
            .flat_map(|v| split_top(v, b','))
            .filter_map(parse_via)
            .take(MAX_HEADERS)
            .collect()
    }

    /// Topmost Via (the one added by the last hop).
    pub fn top_via(&self) -> Option<Via<'_>> {
        self.header(HeaderName::Via)
            .and_then(|v| split_top(v, b',').next())
            .and_then(parse_via)
    }

    /// Max-Forwards as a number.
    pub fn max_forwards(&self) -> Option<u32> {
        self.header(HeaderName::MaxForwards)
            .and_then(header::parse_u32_digits)
    }

    /// User-Agent value.
    pub fn user_agent(&self) -> Option<&str> {
        self.header(HeaderName::UserAgent)
    }

    /// Server value.
    pub fn server(&self) -> Option<&str> {
        self.header(HeaderName::Server)
    }

    /// Content-Length as a number (first header).
    pub fn content_length(&self) -> Option<usize> {
        self.header(HeaderName::ContentLength)
            .and_then(header::parse_usize_digits)
    }

    /// Content-Type value.
    pub fn content_type(&self) -> Option<&str> {
        self.header(HeaderName::ContentType)
    }

    /// Expires as a number of seconds.
    pub fn expires(&self) -> Option<u32> {
        self.header(HeaderName::Expires)
            .and_then(header::parse_u32_digits)
    }

    /// Authorization credentials (without any secret).
    pub fn authorization(&self) -> Option<Credentials<'_>> {
        self.header(HeaderName::Authorization)
            .and_then(parse_credentials)
    }

    /// Proxy-Authorization credentials (without any secret).
    pub fn proxy_authorization(&self) -> Option<Credentials<'_>> {
        self.header(HeaderName::ProxyAuthorization)
            .and_then(parse_credentials)
    }

    /// WWW-Authenticate challenge.
    pub fn www_authenticate(&self) -> Option<Challenge<'_>> {
        self.header(HeaderName::WwwAuthenticate)
            .and_then(parse_challenge)
    }

    /// Every challenge of the message (WWW-Authenticate, then Proxy-Authenticate): a server may
    /// offer several algorithms, one header each (RFC 8760).
    pub fn challenges(&self) -> impl Iterator<Item = Challenge<'_>> + '_ {
        self.headers_named(HeaderName::WwwAuthenticate)
            .chain(self.headers_named(HeaderName::ProxyAuthenticate))
            .filter_map(parse_challenge)
    }

    /// Proxy-Authenticate challenge.
    pub fn proxy_authenticate(&self) -> Option<Challenge<'_>> {
        self.header(HeaderName::ProxyAuthenticate)
            .and_then(parse_challenge)
    }

    /// Identity (RFC 8224) value, raw.
    pub fn identity(&self) -> Option<&str> {
        self.header(HeaderName::Identity)
    }

    /// Reason (RFC 3326) value, raw.
    pub fn reason(&self) -> Option<&str> {
        self.header(HeaderName::Reason)
    }

    /// True if a warning of this kind was recorded.
    pub fn has_warning(&self, kind: ParseEventKind) -> bool {
        self.warnings.iter().any(|w| w.kind == kind)
    }
}

// ---------------------------------------------------------------------------
// Byte-level helpers
// ---------------------------------------------------------------------------

#[inline]
fn is_digit(b: u8) -> bool {
    b.is_ascii_digit()
}

#[inline]
fn is_ws(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// Request-URI bytes: anything visible (non-ASCII is kept, replaced later).
#[inline]
fn is_uri_char(b: u8) -> bool {
    b > b' ' && b != 0x7f
}

#[inline]
fn is_scheme_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.')
}

/// Drop one trailing CR (lines are split on LF).
#[inline]
fn strip_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// Trim SP/HT on both sides.
fn trim_ws(mut s: &[u8]) -> &[u8] {
    while let [first, rest @ ..] = s {
        if !is_ws(*first) {
            break;
        }
        s = rest;
    }
    while let [rest @ .., last] = s {
        if !is_ws(*last) {
            break;
        }
        s = rest;
    }
    s
}

/// Bytes to str, replacing invalid UTF-8; borrowed when already valid.
#[inline]
/// `part`, a sub-slice of `whole`, as text when it lies within `valid` (a valid UTF-8 prefix of
/// `whole`, so the same bytes): no second validation.
fn sub_str<'a>(valid: &'a str, whole: &[u8], part: &[u8]) -> Option<&'a str> {
    let off = (part.as_ptr() as usize).checked_sub(whole.as_ptr() as usize)?;
    valid
        .get(off..off.checked_add(part.len())?)
        .filter(|t| std::ptr::eq(t.as_ptr(), part.as_ptr()))
}

fn lossy(b: &[u8]) -> Cow<'_, str> {
    String::from_utf8_lossy(b)
}

/// Number of leading CR/LF bytes (keep-alives or stray line ends before the
/// start line, which RFC 3261 7.5 says to ignore).
pub(crate) fn leading_crlf(buf: &[u8]) -> usize {
    buf.iter()
        .take_while(|&&b| b == b'\r' || b == b'\n')
        .count()
}

fn sp(i: &[u8]) -> IResult<&[u8], char> {
    char(' ')(i)
}

fn token(i: &[u8]) -> IResult<&[u8], &[u8]> {
    take_while1(is_token_char)(i)
}

fn request_uri(i: &[u8]) -> IResult<&[u8], &[u8]> {
    take_while1(is_uri_char)(i)
}

/// `name *WS ":" *WS value` of one header line (without continuations).
fn header_line(i: &[u8]) -> IResult<&[u8], (&[u8], &[u8])> {
    let (i, name) = token(i)?;
    let (i, _) = take_while(is_ws)(i)?;
    let (i, _) = char(':')(i)?;
    let (value, _) = take_while(is_ws)(i)?;
    Ok((&[], (name, value)))
}

/// Request-URI must at least look like `scheme:...`.
fn uri_has_scheme(uri: &[u8]) -> bool {
    match uri.iter().position(|&b| b == b':') {
        Some(colon) => {
            let scheme = &uri[..colon];
            scheme.first().is_some_and(|b| b.is_ascii_alphabetic())
                && scheme.iter().all(|&b| is_scheme_char(b))
        }
        None => false,
    }
}

/// ASCII-only bytes (start-line tokens) to str; never fails for token input.
fn ascii_str(b: &[u8]) -> &str {
    std::str::from_utf8(b).unwrap_or("")
}

type LineErr = (ParseEventKind, usize);

/// Parse the first line (without line end). Errors carry an offset into `line`.
///
/// By hand, byte by byte, as nom's combinators read it before (a property test holds the two
/// to the same result and the same error at the same offset): on every message the
/// combinators were a few hundred instructions of the worker's parse.
fn parse_start_line(line: &[u8]) -> Result<StartLine<'_>, LineErr> {
    use ParseEventKind as K;
    if line.len() >= 4 && line[..4].eq_ignore_ascii_case(b"SIP/") {
        let vlen = version_len(line).ok_or((K::BadVersion, 0))?;
        let (version, i) = line.split_at(vlen);
        let Some((b' ', i)) = i.split_first() else {
            return Err((K::BadStartLine, vlen));
        };
        let code = match i {
            [a, b, c, ..] if a.is_ascii_digit() && b.is_ascii_digit() && c.is_ascii_digit() => {
                u16::from(a - b'0') * 100 + u16::from(b - b'0') * 10 + u16::from(c - b'0')
            }
            _ => return Err((K::BadStatusCode, vlen + 1)),
        };
        let at = vlen + 4;
        if !(100..=699).contains(&code) {
            return Err((K::BadStatusCode, at));
        }
        return status_line(version, code, &i[3..], at);
    }

    if line.is_empty() || !is_token_char(line[0]) {
        return Err((K::BadStartLine, 0));
    }
    let tlen = line
        .iter()
        .position(|&b| !is_token_char(b))
        .unwrap_or(line.len());
    if line.get(tlen) != Some(&b' ') {
        return Err((K::BadMethod, tlen));
    }
    let ustart = tlen + 1;
    let ulen = line[ustart..]
        .iter()
        .position(|&b| !is_uri_char(b))
        .unwrap_or(line.len() - ustart);
    let uri = &line[ustart..ustart + ulen];
    if ulen == 0 || !uri_has_scheme(uri) {
        return Err((K::BadUri, ustart));
    }
    let after = ustart + ulen;
    if line.get(after) != Some(&b' ') {
        return Err((K::BadStartLine, after));
    }
    let vstart = after + 1;
    let vlen = version_len(&line[vstart..]).ok_or((K::BadVersion, vstart))?;
    let vend = vstart + vlen;
    if !trim_ws(&line[vend..]).is_empty() {
        return Err((K::BadVersion, vend));
    }
    Ok(StartLine::Request {
        method: Method::parse(ascii_str(&line[..tlen])),
        uri: lossy(uri),
        version: Cow::Borrowed(ascii_str(&line[vstart..vend])),
    })
}

/// A status line's end, after its code (at offset `at` of the line): nothing, or a space and
/// the reason phrase.
fn status_line<'a>(
    version: &'a [u8],
    code: u16,
    rest: &'a [u8],
    at: usize,
) -> Result<StartLine<'a>, LineErr> {
    let reason: &[u8] = match rest.split_first() {
        None => &[],
        Some((b' ', r)) => trim_ws(r),
        Some(_) => return Err((ParseEventKind::BadStatusCode, at)),
    };
    Ok(StartLine::Response {
        version: Cow::Borrowed(ascii_str(version)),
        code,
        reason: lossy(reason),
    })
}

/// The length of `SIP/1*DIGIT.1*DIGIT` ("SIP" in any case) at the start of `i`, if it is there.
fn version_len(i: &[u8]) -> Option<usize> {
    let digits = |from: usize| i[from..].iter().take_while(|b| b.is_ascii_digit()).count();
    if i.len() < 4 || !i[..4].eq_ignore_ascii_case(b"SIP/") {
        return None;
    }
    let major = digits(4);
    let dot = 4 + major;
    if major == 0 || i.get(dot) != Some(&b'.') {
        return None;
    }
    let minor = digits(dot + 1);
    (minor > 0).then_some(dot + 1 + minor)
}

/// Next line of `buf` starting at `pos`, searching only below `limit`.
/// Returns the line (CR stripped) and the position after its LF.
/// `Err` when no LF is found: HeadersTooLong if more data lies past the
/// limit, Incomplete otherwise.
fn next_line(
    buf: &[u8],
    pos: usize,
    limit: usize,
    base: usize,
) -> Result<(&[u8], usize), ParseError> {
    let window = buf.get(pos..limit.min(buf.len())).unwrap_or(&[]);
    match memchr(b'\n', window) {
        Some(n) => Ok((strip_cr(&window[..n]), pos + n + 1)),
        None if buf.len() > limit => Err(ParseError::new(
            ParseEventKind::HeadersTooLong,
            base + limit,
        )),
        None => Err(ParseError::new(
            ParseEventKind::Incomplete,
            base + buf.len(),
        )),
    }
}

/// Headers that must appear at most once; a second copy is suspicious
/// (smuggling, fingerprint evasion).
/// The headers [`check_headers`] looks for, each as a bit: the five every message must have,
/// and (`SINGLE`) those that may appear only once. 0 for any other.
fn checked_bit(name: &HeaderName<'_>) -> u8 {
    match name {
        HeaderName::Via => 1,
        HeaderName::From => 1 << 1,
        HeaderName::To => 1 << 2,
        HeaderName::CallId => 1 << 3,
        HeaderName::CSeq => 1 << 4,
        HeaderName::ContentLength => 1 << 5,
        HeaderName::MaxForwards => 1 << 6,
        _ => 0,
    }
}

/// The single-valued ones among [`checked_bit`]'s: Call-ID, CSeq, From, To, Content-Length,
/// Max-Forwards.
const SINGLE: u8 = (1 << 1) | (1 << 2) | (1 << 3) | (1 << 4) | (1 << 5) | (1 << 6);

/// Parse one SIP message at the start of `input`. For a datagram pass the
/// whole UDP payload.
///
/// Returns the message and the bytes it used: `header_len` + Content-Length
/// (when Content-Length is absent, the rest of input, as RFC 3261 18.3 says
/// for UDP). When Content-Length exceeds what is there, `body` is what is
/// there and a `ContentLengthMismatch` warning is recorded; `Incomplete` is
/// returned only when the header section itself is not complete.
pub fn parse_message(input: &[u8]) -> Result<(SipMessage<'_>, usize), ParseError> {
    parse(input, false)
}

/// Parse a whole datagram (UDP, SCTP chunk) as one SIP message. A datagram is delimited by
/// itself, so when it ends right after a complete header line without the blank line, the
/// header section ends there (with an `UnterminatedHeaders` warning), as Wireshark reads it.
pub fn parse_datagram(input: &[u8]) -> Result<(SipMessage<'_>, usize), ParseError> {
    parse(input, true)
}

/// The body of the first message of a datagram, exactly as [`parse_datagram`] would find it
/// (`None` where it fails), without keeping the headers: the capture thread's look at a
/// message's SDP, at a fraction of a whole parse (no header table, no UTF-8 pass over the
/// message; only Content-Length's values are read).
pub fn datagram_body(input: &[u8]) -> Option<&[u8]> {
    if let Some(body) = plain_datagram_body(input) {
        return Some(body);
    }
    match scan(input, true, true, Vec::new()) {
        Ok(Scanned::Body(b)) => Some(b),
        _ => None,
    }
}

/// [`datagram_body`] for the datagram every SIP stack sends (a valid start line, unfolded
/// header lines ended by a blank line, far fewer than [`MAX_HEADERS`], within
/// [`MAX_HEADER_BYTES`]): each line is found with one search, and only a line whose name may
/// be Content-Length is parsed. `None` for anything else, which the whole scan decides: where
/// this gives a body, it is the one the scan gives (a test compares them).
fn plain_datagram_body(input: &[u8]) -> Option<&[u8]> {
    let skip = leading_crlf(input);
    let msg = &input[skip..];
    if msg.len() > MAX_HEADER_BYTES {
        return None;
    }
    let n = memchr(b'\n', msg)?;
    parse_start_line(strip_cr(&msg[..n])).ok()?;
    let mut pos = n + 1;
    let mut lines = 0usize;
    let mut lengths = ContentLength::default();
    loop {
        let rest = &msg[pos..];
        let n = memchr(b'\n', rest)?;
        let line = strip_cr(&rest[..n]);
        pos += n + 1;
        if line.is_empty() {
            break;
        }
        // A folded line (it continues the header before it), or a header past the cap: the
        // whole scan's rules apply.
        if matches!(line.first(), Some(b' ' | b'\t')) {
            return None;
        }
        lines += 1;
        if lines >= MAX_HEADERS {
            return None;
        }
        // Only a line that starts as `l` or `Content-Length` does (then a colon or white space)
        // can be one: the others are not parsed.
        let compact = matches!(line, [b'l' | b'L', b':' | b' ' | b'\t', ..]);
        let long = line
            .get(..14)
            .is_some_and(|p| p.eq_ignore_ascii_case(b"content-length"));
        if compact || long {
            if let Ok((_, (name, value))) = header_line(line) {
                if is_content_length(name) {
                    lengths.add(&lossy(trim_ws(value)));
                }
            }
        }
    }
    let avail = input.get(skip + pos..).unwrap_or(&[]);
    let (n, _) = lengths.body(avail.len());
    Some(&avail[..n])
}

/// [`parse_message`] into the header list of an earlier message (see [`HeaderRoom`]).
pub fn parse_message_in(
    input: &[u8],
    room: HeaderRoom,
) -> Result<(SipMessage<'_>, usize), ParseError> {
    parse_in(input, false, room.0)
}

/// [`parse_datagram`] into the header list of an earlier message (see [`HeaderRoom`]).
pub fn parse_datagram_in(
    input: &[u8],
    room: HeaderRoom,
) -> Result<(SipMessage<'_>, usize), ParseError> {
    parse_in(input, true, room.0)
}

/// The header list of a message that is done with, emptied, its room kept for the next parse:
/// a reader that parses message after message allocates the list once, not per message.
#[derive(Debug, Default)]
pub struct HeaderRoom(Vec<Header<'static>>);

impl SipMessage<'_> {
    /// This message's header list, emptied, for the next parse.
    pub fn into_room(self) -> HeaderRoom {
        HeaderRoom(emptied(self.headers))
    }
}

/// An emptied list with another lifetime, its allocation kept: the element types have one
/// layout, so the standard library collects in place.
// `filter` would keep the element type; this changes its lifetime.
#[allow(clippy::unnecessary_filter_map)]
fn emptied<'b>(v: Vec<Header<'_>>) -> Vec<Header<'b>> {
    v.into_iter().filter_map(|_| None).collect()
}

fn parse(input: &[u8], datagram: bool) -> Result<(SipMessage<'_>, usize), ParseError> {
    parse_in(input, datagram, Vec::new())
}

fn parse_in<'a>(
    input: &'a [u8],
    datagram: bool,
    room: Vec<Header<'static>>,
) -> Result<(SipMessage<'a>, usize), ParseError> {
    match scan(input, datagram, false, emptied(room))? {
        Scanned::Message(m, used) => Ok((m, used)),
        Scanned::Body(_) => unreachable!("a whole scan gives the message"),
    }
}

/// What [`scan`] gives: the message, or (`light`) only its body.
// Returned once a scan and taken apart at once: boxing the message would cost an allocation
// a message to save a move.
#[allow(clippy::large_enum_variant)]
enum Scanned<'a> {
    Message(SipMessage<'a>, usize),
    Body(&'a [u8]),
}

/// One pass over a message. `light`: the same walk and the same failures, but headers are not
/// kept (only the values of Content-Length, which place the body) and nothing is checked that
/// cannot fail the parse.
fn scan<'a>(
    input: &'a [u8],
    datagram: bool,
    light: bool,
    mut headers: Vec<Header<'a>>,
) -> Result<Scanned<'a>, ParseError> {
    use ParseEventKind as K;
    let skip = leading_crlf(input);
    let msg = &input[skip..];
    let limit = MAX_HEADER_BYTES;
    let mut warnings = Vec::new();

    let (line, mut pos) = next_line(msg, 0, limit, skip)?;
    let start = parse_start_line(line).map_err(|(k, o)| ParseError::new(k, skip + o))?;
    let start_line_bytes = &msg[..pos];
    if !light && std::str::from_utf8(start_line_bytes).is_err() {
        warnings.push(ParseEvent::new(K::InvalidUtf8, "start line"));
    }
    match &start {
        StartLine::Request { version, .. } | StartLine::Response { version, .. }
            if !version.eq_ignore_ascii_case("SIP/2.0") =>
        {
            warnings.push(ParseEvent::new(K::BadVersion, "version is not SIP/2.0"));
        }
        _ => {}
    }

    // The longest valid UTF-8 prefix of the message, validated once: header values inside it
    // are borrowed as text without a second pass each (which was 3 % of the correlator).
    let valid = if light {
        ""
    } else {
        match std::str::from_utf8(msg) {
            Ok(t) => t,
            Err(e) => std::str::from_utf8(&msg[..e.valid_up_to()]).unwrap_or_default(),
        }
    };
    // Room for a typical message's headers at once, unless an earlier message's list gave it
    // (growing from empty cost three reallocations a message); a light scan keeps none.
    if !light {
        headers.reserve(16);
    }
    // Light: how many headers there are (the cap applies as to kept ones), and the values of
    // Content-Length.
    let (mut counted, mut lengths) = (0usize, ContentLength::default());
    let mut bad_utf8 = false;
    loop {
        let line_start = pos;
        if datagram && pos == msg.len() && pos > 0 {
            warnings.push(ParseEvent::new(K::UnterminatedHeaders, "no blank line"));
            break;
        }
        let (line, after, partial) = match next_line(msg, pos, limit, skip) {
            Ok((line, after)) => (line, after, false),
            // A datagram cut inside its last header line: that line is taken as it is.
            Err(e) if datagram && e.kind == K::Incomplete => (&msg[pos..], msg.len(), true),
            Err(e) => return Err(e),
        };
        if line.is_empty() {
            pos = after;
            break;
        }
        let (name, first) = match header_line(line) {
            Ok((_, nv)) => nv,
            // A cut-off last line that is not even a header: the datagram is truncated.
            Err(_) if partial => return Err(ParseError::new(K::Incomplete, skip + line_start)),
            // A line that is not a header is an anomaly, not the end of the message (as
            // Wireshark reads it): noted, skipped.
            Err(_) => {
                if !warnings
                    .iter()
                    .any(|w: &ParseEvent| w.kind == K::BadHeaderLine)
                {
                    warnings.push(ParseEvent::new(
                        K::BadHeaderLine,
                        "line without a header name and colon",
                    ));
                }
                pos = after;
                continue;
            }
        };
        // Gather continuation lines (RFC 3261 7.3.1 LWS folding).
        let mut end = after;
        let mut folded: Option<String> = None;
        loop {
            match msg.get(end) {
                None if datagram => break,
                None => return Err(ParseError::new(K::Incomplete, skip + msg.len())),
                Some(b' ' | b'\t') => {
                    let (cont, next) = next_line(msg, end, limit, skip)?;
                    let cont = trim_ws(cont);
                    let s = folded.get_or_insert_with(|| lossy(trim_ws(first)).into_owned());
                    if !cont.is_empty() {
                        if !s.is_empty() {
                            s.push(' ');
                        }
                        s.push_str(&lossy(cont));
                    }
                    bad_utf8 |= std::str::from_utf8(cont).is_err();
                    end = next;
                }
                Some(_) => break,
            }
        }
        if headers.len().max(counted) >= MAX_HEADERS {
            // Kept as an anomaly, not fatal: the message is still counted and followed, its
            // further headers are not stored (the header section is capped in bytes anyway).
            if !warnings
                .iter()
                .any(|w: &ParseEvent| w.kind == K::TooManyHeaders)
            {
                warnings.push(ParseEvent::new(
                    K::TooManyHeaders,
                    "headers past the cap dropped",
                ));
            }
            pos = end;
            let _ = line_start;
            continue;
        }
        let first = trim_ws(first);
        if light {
            counted += 1;
            if is_content_length(name) {
                match folded {
                    Some(s) => lengths.add(&s),
                    None => lengths.add(&lossy(first)),
                }
            }
            pos = end;
            continue;
        }
        let value = match folded {
            Some(s) => {
                bad_utf8 |= std::str::from_utf8(first).is_err();
                Cow::Owned(s)
            }
            None => match sub_str(valid, msg, first) {
                Some(t) => Cow::Borrowed(t),
                None => {
                    let v = lossy(first);
                    // Unfolded values only allocate when bytes were replaced.
                    bad_utf8 |= matches!(v, Cow::Owned(_));
                    v
                }
            },
        };
        // A token: ASCII, inside the valid prefix but for a message with bad bytes before it.
        let raw_name = sub_str(valid, msg, name).unwrap_or_else(|| ascii_str(name));
        headers.push(Header {
            name: HeaderName::parse(raw_name),
            raw_name: Cow::Borrowed(raw_name),
            value,
        });
        pos = end;
    }
    if bad_utf8 {
        warnings.push(ParseEvent::new(K::InvalidUtf8, "header value"));
    }

    let header_len = skip + pos;
    let avail = input.get(header_len..).unwrap_or(&[]);
    if light {
        let (n, _) = lengths.body(avail.len());
        return Ok(Scanned::Body(&avail[..n]));
    }
    let mut first = [0u16; HeaderName::KNOWN];
    for (i, h) in headers.iter().enumerate() {
        if let Some(slot) = h.name.ordinal().map(|o| &mut first[o]) {
            if *slot == 0 {
                // At most MAX_HEADERS (512) headers are kept.
                *slot = u16::try_from(i + 1).unwrap_or(u16::MAX);
            }
        }
    }
    let mut msg = SipMessage {
        start,
        headers,
        body: &[],
        header_len,
        warnings,
        first,
    };

    // Content-Length: decides where the body ends.
    let mut lengths = ContentLength::default();
    for v in msg.headers_named(HeaderName::ContentLength) {
        lengths.add(v);
    }
    let (body_len, problem) = lengths.body(avail.len());
    match problem {
        Some(K::BadContentLength) => msg
            .warnings
            .push(ParseEvent::new(K::BadContentLength, "Content-Length")),
        Some(k) => msg.warnings.push(ParseEvent::new(
            k,
            "Content-Length larger than available data",
        )),
        None => {}
    }
    msg.body = &avail[..body_len];

    check_headers(&mut msg);
    let used = header_len + body_len;
    Ok(Scanned::Message(msg, used))
}

/// `Content-Length` or its compact form `l`, in any case: what [`HeaderName::parse`] calls
/// [`HeaderName::ContentLength`], without its table search.
fn is_content_length(name: &[u8]) -> bool {
    name.eq_ignore_ascii_case(b"l") || name.eq_ignore_ascii_case(b"content-length")
}

/// The Content-Length values of a message, read one by one: the first number, and whether
/// any value disagreed with it or was not a number.
#[derive(Default)]
struct ContentLength {
    value: Option<usize>,
    bad: bool,
}

impl ContentLength {
    fn add(&mut self, v: &str) {
        match header::parse_usize_digits(v) {
            Some(n) if self.value.is_none_or(|c| c == n) => self.value = Some(n),
            _ => self.bad = true,
        }
    }

    /// Where the body ends (`avail`: bytes after the headers), and what was wrong: values that
    /// disagree or are not numbers (`BadContentLength`: the first good one if it fits, else
    /// all that is there), or a length past the end (`ContentLengthMismatch`: all that is
    /// there). No Content-Length: all of it.
    fn body(&self, avail: usize) -> (usize, Option<ParseEventKind>) {
        use ParseEventKind as K;
        match self.value {
            _ if self.bad => (
                self.value.filter(|&n| n <= avail).unwrap_or(avail),
                Some(K::BadContentLength),
            ),
            Some(n) if n <= avail => (n, None),
            Some(_) => (avail, Some(K::ContentLengthMismatch)),
            None => (avail, None),
        }
    }
}

/// Non-fatal semantic checks: mandatory headers, duplicates, CSeq.
fn check_headers(msg: &mut SipMessage<'_>) {
    use ParseEventKind as K;
    // One pass over the headers: which of the checked ones are there, and the repeats of a
    // single-valued one (each repeat said, in header order).
    let mut seen = 0u8;
    let mut repeats = Vec::new();
    for h in &msg.headers {
        let bit = checked_bit(&h.name);
        if bit & SINGLE & seen != 0 {
            repeats.push(ParseEvent::new(K::DuplicateHeader, static_name(&h.name)));
        }
        seen |= bit;
    }
    let mut warnings = Vec::new();
    for (name, detail) in [
        (HeaderName::Via, "Via"),
        (HeaderName::From, "From"),
        (HeaderName::To, "To"),
        (HeaderName::CallId, "Call-ID"),
        (HeaderName::CSeq, "CSeq"),
    ] {
        if seen & checked_bit(&name) == 0 {
            warnings.push(ParseEvent::new(K::MissingHeader, detail));
        }
    }
    warnings.append(&mut repeats);
    if seen & checked_bit(&HeaderName::CSeq) != 0 {
        match (msg.cseq(), msg.method()) {
            (None, _) => warnings.push(ParseEvent::new(K::BadCSeq, "unparsable CSeq")),
            (Some(c), Some(m)) if c.method.as_str() != m.as_str() => {
                warnings.push(ParseEvent::new(
                    K::BadCSeq,
                    "CSeq method differs from request method",
                ));
            }
            _ => {}
        }
    }
    msg.warnings.extend(warnings);
}

/// Static name for known headers (used in warning details).
fn static_name(name: &HeaderName<'_>) -> &'static str {
    KNOWN_HEADERS
        .iter()
        .find(|(_, h)| h == name)
        .map_or("header", |(n, _)| n)
}

/// `SIP/d.d`: SIP/2.0, or another version that fuzzers and fingerprinting tools send (SIP/1.0,
/// SIP/3.0). The parser reports a version other than 2.0 and rules can match it (2200041/2).
fn is_sip_version(v: &[u8]) -> bool {
    v.len() == 7
        && v[..4].eq_ignore_ascii_case(b"SIP/")
        && is_digit(v[4])
        && v[5] == b'.'
        && is_digit(v[6])
}

/// Cheap check of the first line only (no allocation): a `SIP/d.d ddd `
/// status line, or a `TOKEN SP uri SP SIP/d.d CRLF` request line (SIP/2.0,
/// or another version number: recognised so that it can be reported).
///
/// Used to recognize SIP on any port. Rejects HTTP, SSDP (`NOTIFY *
/// HTTP/1.1`), RTSP and binary data: all of those fail the version check.
pub fn looks_like_sip(payload: &[u8]) -> bool {
    const VLEN: usize = 7;
    if payload.len() >= VLEN + 5 && is_sip_version(&payload[..VLEN]) {
        let rest = &payload[VLEN..];
        return rest[0] == b' '
            && matches!(rest[1], b'1'..=b'6')
            && is_digit(rest[2])
            && is_digit(rest[3])
            && matches!(rest[4], b' ' | b'\r' | b'\n');
    }
    // A request starts with a method token: anything else (RTP's 0x80, TLS's 0x16, ...) is
    // rejected before looking for the end of the line, which would scan the whole payload.
    if !payload.first().is_some_and(|&b| is_token_char(b)) {
        return false;
    }
    let window = &payload[..payload.len().min(MAX_START_LINE)];
    let Some(nl) = memchr(b'\n', window) else {
        return false;
    };
    let line = strip_cr(&window[..nl]);
    let Ok((i, method)) = token(line) else {
        return false;
    };
    // No cap on the method length: the line must still end in SIP/2.0, and over-long methods
    // are an attack worth seeing (the parser reports them).
    let _ = method;
    let Ok((i, _)) = sp(i) else { return false };
    // `METHOD  SIP/2.0`: a request line whose Request-URI is empty is still SIP, malformed
    // (the parser says BadUri): what fuzzers send, and worth an alert rather than silence.
    if let Ok((rest, _)) = sp(i) {
        return is_sip_version(rest);
    }
    let Ok((i, _)) = request_uri(i) else {
        return false;
    };
    let Ok((i, _)) = sp(i) else { return false };
    is_sip_version(i)
}

#[cfg(test)]
mod light_tests {
    use super::*;

    /// `is_content_length` names exactly what `HeaderName::parse` calls Content-Length.
    #[test]
    fn content_length_names() {
        for (n, _) in KNOWN_HEADERS {
            for v in [
                n.to_string(),
                n.to_ascii_lowercase(),
                n.to_ascii_uppercase(),
            ] {
                assert_eq!(
                    is_content_length(v.as_bytes()),
                    HeaderName::parse(&v) == HeaderName::ContentLength,
                    "{v}"
                );
            }
        }
        for c in b'a'..=b'z' {
            let v = (c as char).to_string();
            assert_eq!(
                is_content_length(v.as_bytes()),
                HeaderName::parse(&v) == HeaderName::ContentLength,
                "{v}"
            );
        }
        assert!(!is_content_length(b"Content-Length2"));
    }

    /// Every known name has its own ordinal below `KNOWN`; `Other` has none.
    #[test]
    fn ordinals_are_distinct_and_dense() {
        let mut seen = [false; HeaderName::KNOWN];
        for &(n, h) in KNOWN_HEADERS {
            let o = h.ordinal().expect(n);
            assert!(!seen[o], "{n} shares ordinal {o}");
            seen[o] = true;
        }
        assert!(seen.iter().all(|&s| s), "every ordinal is used");
        assert_eq!(HeaderName::Other("X-Foo").ordinal(), None);
    }

    /// Every known name, in any case, is found; nothing else is.
    #[test]
    fn known_names() {
        for &(n, h) in KNOWN_HEADERS {
            for v in [
                n.to_string(),
                n.to_ascii_lowercase(),
                n.to_ascii_uppercase(),
            ] {
                assert_eq!(HeaderName::parse(&v), h, "{v}");
            }
        }
        for other in [
            "",
            "X-Foo",
            "Via2",
            "Fro",
            "P-Preferred-Identity-",
            "Contact ",
            "Ví",
            "9Via",
            "-Via",
        ] {
            assert_eq!(
                HeaderName::parse(other),
                HeaderName::Other(other),
                "{other}"
            );
        }
    }

    /// The body `datagram_body` finds is the one of `parse_datagram`, on messages whose
    /// Content-Length is missing, repeated, wrong, folded, compact, past the header cap.
    #[test]
    fn the_light_body_is_the_parsed_body() {
        let head = "INVITE sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n";
        let body = "v=0\r\nm=audio 4000 RTP/AVP 0\r\n";
        let mut cases: Vec<String> = vec![
            format!("{head}\r\n{body}"),
            format!("{head}Content-Length: 10\r\n\r\n{body}"),
            format!("{head}l: 10\r\n\r\n{body}"),
            format!("{head}Content-Length: 10\r\nContent-Length: 12\r\n\r\n{body}"),
            format!("{head}Content-Length: 10\r\nl: 10\r\n\r\n{body}"),
            format!("{head}Content-Length: x\r\n\r\n{body}"),
            format!("{head}Content-Length: 9999\r\n\r\n{body}"),
            format!("{head}Content-Length:\r\n 7\r\n\r\n{body}"),
            format!("{head}Content-Length: 1\r\n 2\r\n\r\n{body}"),
            format!("{head}Bad line\r\nContent-Length: 4\r\n\r\n{body}"),
            format!("\r\n\r\n{head}Content-Length: 5\r\n\r\n{body}"),
            format!("{head}Content-Length: 5"),
            format!("{head}Content-Length: 5\r\nBroken"),
            "garbage\r\n\r\n".to_string(),
            String::new(),
        ];
        let many: String = (0..MAX_HEADERS + 3)
            .map(|i| format!("X-{i}: y\r\n"))
            .collect();
        cases.push(format!("{head}{many}Content-Length: 3\r\n\r\n{body}"));
        let mut bytes: Vec<Vec<u8>> = cases.into_iter().map(String::into_bytes).collect();
        let mut bad = format!("{head}Content-Length: 6\r\nX: ").into_bytes();
        bad.extend_from_slice(&[0xff, 0xfe]);
        bad.extend_from_slice(format!("\r\n\r\n{body}").as_bytes());
        bytes.push(bad);
        for b in &bytes {
            let want = parse_datagram(b).ok().map(|(m, _)| m.body);
            assert_eq!(datagram_body(b), want, "{:?}", String::from_utf8_lossy(b));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sip::header::Via;
    use proptest::prelude::*;

    /// A message's header list handed to the next parse keeps its room, and the next message
    /// reads as it does parsed alone.
    #[test]
    fn the_header_list_is_reused() {
        let (m, _) = parse_datagram(INVITE).unwrap();
        assert!(m.headers.len() > 8);
        let room = m.into_room();
        let cap = room.0.capacity();
        assert!(room.0.is_empty() && cap >= 16, "{cap}");
        let bye =
            b"BYE sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nCall-ID: c\r\n\r\n";
        let (again, used) = parse_datagram_in(bye, room).unwrap();
        assert_eq!(again.headers.capacity(), cap);
        let (alone, used_alone) = parse_datagram(bye).unwrap();
        assert_eq!(format!("{again:?}"), format!("{alone:?}"));
        assert_eq!(used, used_alone);
        let (stream, _) = parse_message_in(bye, again.into_room()).unwrap();
        assert_eq!(stream.headers.capacity(), cap);
        assert_eq!(stream.headers.len(), 2);
    }

    const INVITE: &[u8] = b"INVITE sip:bob@biloxi.com SIP/2.0\r\n\
Via: SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bK776asdhds\r\n\
Max-Forwards: 70\r\n\
To: Bob <sip:bob@biloxi.com>\r\n\
From: \"Alice \\\"A\\\" Liddell\" <sip:alice@atlanta.com>;tag=1928301774\r\n\
Call-ID: a84b4c76e66710@pc33.atlanta.com\r\n\
CSeq: 314159 INVITE\r\n\
Contact: <sip:alice@pc33.atlanta.com>\r\n\
User-Agent: Acme SoftPhone 1.0\r\n\
Content-Type: application/sdp\r\n\
Content-Length: 141\r\n\
\r\n\
v=0\r\n\
o=alice 2890844526 2890844526 IN IP4 pc33.atlanta.com\r\n\
s=-\r\n\
c=IN IP4 192.0.2.101\r\n\
t=0 0\r\n\
m=audio 49172 RTP/AVP 0\r\n\
a=rtpmap:0 PCMU/8000\r\n";

    const OK200: &[u8] = b"SIP/2.0 200 OK\r\n\
Via: SIP/2.0/UDP server10.biloxi.com;branch=z9hG4bKnashds8;received=192.0.2.3\r\n\
Via: SIP/2.0/UDP bigbox3.site3.atlanta.com;branch=z9hG4bK77ef4c2312983.1;received=192.0.2.2\r\n\
Via: SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bK776asdhds ;received=192.0.2.1\r\n\
To: Bob <sip:bob@biloxi.com>;tag=a6c85cf\r\n\
From: Alice <sip:alice@atlanta.com>;tag=1928301774\r\n\
Call-ID: a84b4c76e66710@pc33.atlanta.com\r\n\
CSeq: 314159 INVITE\r\n\
Contact: <sip:bob@192.0.2.4>\r\n\
Server: Biloxi PBX 2.1\r\n\
Content-Length: 0\r\n\
\r\n";

    const COMPACT: &[u8] = b"INVITE sip:bob@biloxi.com SIP/2.0\r\nv: SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bK776asdhds\r\nf: Alice <sip:alice@atlanta.com>;tag=1928301774\r\nt: Bob <sip:bob@biloxi.com>\r\ni: a84b4c76e66710@pc33.atlanta.com\r\nCSeq: 314159 INVITE\r\nm: <sip:alice@pc33.atlanta.com>\r\nl: 0\r\n\r\n";

    #[test]
    fn full_invite_with_sdp() {
        let (m, used) = parse_message(INVITE).unwrap();
        assert_eq!(used, INVITE.len());
        assert_eq!(m.method(), Some(&Method::Invite));
        assert_eq!(m.request_uri(), Some("sip:bob@biloxi.com"));
        assert_eq!(m.status(), None);
        assert_eq!(m.call_id(), Some("a84b4c76e66710@pc33.atlanta.com"));
        let cseq = m.cseq().unwrap();
        assert_eq!((cseq.seq, cseq.method), (314159, Method::Invite));
        let from = m.from().unwrap();
        assert_eq!(from.display, Some("Alice \\\"A\\\" Liddell"));
        assert_eq!(from.uri.user, Some("alice"));
        assert_eq!(from.uri.host, "atlanta.com");
        assert_eq!(from.tag, Some("1928301774"));
        let to = m.to().unwrap();
        assert_eq!(to.display, Some("Bob"));
        assert_eq!(to.tag, None);
        assert_eq!(m.contact().unwrap().uri.host, "pc33.atlanta.com");
        assert_eq!(m.contact_uri(), m.contact().map(|c| c.uri));
        assert_eq!(m.max_forwards(), Some(70));
        assert_eq!(m.user_agent(), Some("Acme SoftPhone 1.0"));
        assert_eq!(m.content_type(), Some("application/sdp"));
        assert_eq!(m.content_length(), Some(141));
        assert_eq!(m.body.len(), 141);
        assert!(m.body.starts_with(b"v=0\r\n"));
        assert!(m.warnings.is_empty(), "{:?}", m.warnings);
        let v = m.top_via().unwrap();
        assert_eq!(v.branch, Some("z9hG4bK776asdhds"));
        assert_eq!(v.transport, "UDP");
        // Common case borrows.
        assert!(m
            .headers
            .iter()
            .all(|h| matches!(h.value, Cow::Borrowed(_))));
        let sdp = crate::sip::sdp::parse_sdp(m.body).unwrap();
        assert_eq!(sdp.media.len(), 1);
        assert_eq!(sdp.media[0].port, 49172);
    }

    #[test]
    fn ok_response_with_vias() {
        let (m, used) = parse_message(OK200).unwrap();
        assert_eq!(used, OK200.len());
        assert_eq!(m.status(), Some(200));
        assert!(matches!(&m.start, StartLine::Response { reason, .. } if reason == "OK"));
        assert_eq!(m.server(), Some("Biloxi PBX 2.1"));
        let vias = m.vias();
        assert_eq!(vias.len(), 3);
        assert_eq!(vias[0].host, "server10.biloxi.com");
        assert_eq!(vias[0].received, Some("192.0.2.3"));
        assert_eq!(vias[2].host, "pc33.atlanta.com");
        assert_eq!(vias[2].branch, Some("z9hG4bK776asdhds"));
        assert_eq!(m.to().unwrap().tag, Some("a6c85cf"));
        assert!(m.body.is_empty());
        assert!(m.warnings.is_empty(), "{:?}", m.warnings);
    }

    #[test]
    fn compact_forms() {
        let (m, used) = parse_message(COMPACT).unwrap();
        assert_eq!(used, COMPACT.len());
        assert_eq!(m.call_id(), Some("a84b4c76e66710@pc33.atlanta.com"));
        assert_eq!(m.from().unwrap().tag, Some("1928301774"));
        assert_eq!(m.to().unwrap().uri.user, Some("bob"));
        assert_eq!(m.top_via().unwrap().host, "pc33.atlanta.com");
        assert_eq!(m.contact().unwrap().uri.host, "pc33.atlanta.com");
        assert_eq!(m.content_length(), Some(0));
        assert_eq!(m.headers[0].name, HeaderName::Via);
        assert_eq!(m.headers[0].raw_name, "v");
        assert!(m.warnings.is_empty(), "{:?}", m.warnings);
        for (c, long) in [
            ("i", "Call-ID"),
            ("f", "From"),
            ("t", "To"),
            ("v", "Via"),
            ("m", "Contact"),
            ("l", "Content-Length"),
            ("c", "Content-Type"),
            ("k", "Supported"),
            ("s", "Subject"),
            ("e", "Content-Encoding"),
            ("o", "Event"),
            ("u", "Allow-Events"),
            ("r", "Refer-To"),
            ("b", "Referred-By"),
            ("x", "Session-Expires"),
            ("y", "Identity"),
        ] {
            assert_eq!(HeaderName::parse(c).as_str(), long);
            assert_eq!(HeaderName::parse(&c.to_uppercase()).as_str(), long);
            assert_eq!(HeaderName::parse(long), HeaderName::parse(c));
        }
        assert_eq!(HeaderName::parse("q"), HeaderName::Other("Q"));
    }

    #[test]
    fn case_insensitive_names() {
        let msg = b"OPTIONS sip:x@y SIP/2.0\r\ncAlL-iD: abc\r\nVIA: SIP/2.0/TCP h\r\nwww-authenticate: Digest realm=\"r\"\r\nX-Custom: 1\r\n\r\n";
        let (m, _) = parse_message(msg).unwrap();
        assert_eq!(m.call_id(), Some("abc"));
        assert_eq!(m.headers[0].raw_name, "cAlL-iD");
        assert_eq!(m.headers[0].name.as_str(), "Call-ID");
        assert_eq!(m.top_via().unwrap().transport, "TCP");
        assert_eq!(m.www_authenticate().unwrap().realm, Some("r"));
        assert_eq!(m.header(HeaderName::Other("x-custom")), Some("1"));
        assert_eq!(
            HeaderName::parse("WWW-AUTHENTICATE").as_str(),
            "WWW-Authenticate"
        );
        assert_eq!(HeaderName::parse("cseq").as_str(), "CSeq");
    }

    #[test]
    fn methods_are_case_sensitive() {
        assert_eq!(Method::parse("INVITE"), Method::Invite);
        assert!(!Method::parse("invite").is_known());
        assert_eq!(Method::parse("invite").as_str(), "invite");
        let (m, _) = parse_message(b"FOO sip:a@b SIP/2.0\r\n\r\n").unwrap();
        assert_eq!(m.method().unwrap().as_str(), "FOO");
        assert!(m.has_warning(ParseEventKind::MissingHeader));
    }

    #[test]
    fn folded_headers() {
        let msg = b"INVITE sip:a@b SIP/2.0\r\nSubject: I know you're there,\r\n   pick up the phone\r\n\tand talk to me!\r\nVia: SIP/2.0/UDP h1;branch=z1,\r\n SIP/2.0/UDP h2;branch=z2\r\nCall-ID: x\r\n\r\n";
        let (m, _) = parse_message(msg).unwrap();
        let subj = m
            .headers
            .iter()
            .find(|h| h.name == HeaderName::Subject)
            .unwrap();
        assert_eq!(
            subj.value,
            "I know you're there, pick up the phone and talk to me!"
        );
        assert!(matches!(subj.value, Cow::Owned(_)));
        let vias = m.vias();
        assert_eq!(vias.len(), 2);
        assert_eq!(vias[1].host, "h2");
        assert_eq!(m.call_id(), Some("x"));
    }

    #[test]
    fn comma_separated_and_repeated_vias() {
        let msg = b"BYE sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP first.example.com:5060;branch=z9hG4bKa, SIP / 2.0 / TCP second.example.com;branch=z9hG4bKb;rport=5070\r\nVia: SIP/2.0/TLS third.example.com;branch=z9hG4bKc;rport\r\n\r\n";
        let (m, _) = parse_message(msg).unwrap();
        let v = m.vias();
        assert_eq!(v.len(), 3);
        assert_eq!(v[0].port, Some(5060));
        assert_eq!(v[0].rport, None);
        assert_eq!(v[1].protocol, "SIP/2.0");
        assert_eq!(v[1].transport, "TCP");
        assert_eq!(v[1].rport, Some(Some(5070)));
        assert_eq!(v[2].transport, "TLS");
        assert_eq!(v[2].rport, Some(None));
        assert_eq!(m.top_via().unwrap().host, "first.example.com");
    }

    #[test]
    fn ipv6_via_and_uris() {
        let msg = b"REGISTER sip:[2001:db8::10] SIP/2.0\r\nVia: SIP/2.0/UDP [2001:db8::1]:5060;branch=z9hG4bKx;received=2001:db8::9\r\nFrom: <sip:alice@[2001:db8::1]:5070;transport=udp>;tag=t1\r\nTo: sip:alice@[2001:db8::1]\r\nContact: <sip:alice@[2001:db8::1]:5070>;expires=3600\r\n\r\n";
        let (m, _) = parse_message(msg).unwrap();
        assert_eq!(m.request_uri(), Some("sip:[2001:db8::10]"));
        let v: Via<'_> = m.top_via().unwrap();
        assert_eq!(v.host, "2001:db8::1");
        assert_eq!(v.port, Some(5060));
        assert_eq!(v.received, Some("2001:db8::9"));
        let f = m.from().unwrap();
        assert_eq!(f.uri.host, "2001:db8::1");
        assert_eq!(f.uri.port, Some(5070));
        assert_eq!(f.uri.param("transport"), Some("udp"));
        assert_eq!(f.tag, Some("t1"));
        let t = m.to().unwrap();
        assert_eq!(t.uri.host, "2001:db8::1");
        assert_eq!(t.uri.port, None);
        assert_eq!(m.contact().unwrap().uri.port, Some(5070));
    }

    #[test]
    fn authorization_never_keeps_response() {
        let secret = "6629fae49393a05397450978507c4ef1";
        let msg = format!(
            "INVITE sip:bob@biloxi.com SIP/2.0\r\nAuthorization: Digest username=\"bob\", realm=\"biloxi.com\", nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\", uri=\"sip:bob@biloxi.com\", qop=auth, nc=00000001, cnonce=\"0a4f113b\", response=\"{secret}\", opaque=\"5ccc069c403ebaf9f0171e9517f40e41\", algorithm=MD5\r\nProxy-Authorization: Digest username=\"a\\\"b\", realm=\"x\", response=\"{secret}\"\r\n\r\n"
        );
        let (m, _) = parse_message(msg.as_bytes()).unwrap();
        let c = m.authorization().unwrap();
        assert_eq!(c.scheme, "Digest");
        assert_eq!(c.username, Some("bob"));
        assert_eq!(c.realm, Some("biloxi.com"));
        assert_eq!(c.uri, Some("sip:bob@biloxi.com"));
        assert_eq!(c.algorithm, Some("MD5"));
        assert!(c.has_nonce && c.has_response);
        let dbg = format!("{c:?}");
        assert!(!dbg.contains(secret), "{dbg}");
        assert!(!dbg.contains("0a4f113b"), "{dbg}");
        let p = m.proxy_authorization().unwrap();
        assert_eq!(p.username, Some("a\\\"b"));
        assert!(p.has_response && !p.has_nonce);
        assert!(!format!("{p:?}").contains(secret));
    }

    #[test]
    fn unauthorized_challenge() {
        let msg = b"SIP/2.0 401 Unauthorized\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:a@b>;tag=2\r\nCall-ID: c\r\nCSeq: 1 REGISTER\r\nWWW-Authenticate: Digest realm=\"atlanta.com\", domain=\"sip:ss1.carrier.com\", qop=\"auth,auth-int\", nonce=\"f84f1cec41e6cbe5aea9c8e88d359\", opaque=\"\", stale=FALSE, algorithm=MD5\r\nProxy-Authenticate: Digest realm=\"p\", nonce=\"n\", stale=true\r\nContent-Length: 0\r\n\r\n";
        let (m, _) = parse_message(msg).unwrap();
        assert_eq!(m.status(), Some(401));
        let ch = m.www_authenticate().unwrap();
        assert_eq!(ch.scheme, "Digest");
        assert_eq!(ch.realm, Some("atlanta.com"));
        assert!(ch.has_nonce);
        assert_eq!(ch.algorithm, Some("MD5"));
        assert_eq!(ch.qop, Some("auth,auth-int"));
        assert!(!ch.stale);
        assert!(m.proxy_authenticate().unwrap().stale);
        assert_eq!(m.cseq().unwrap().method, Method::Register);
        assert!(m.warnings.is_empty(), "{:?}", m.warnings);
    }

    /// The header checks, in their order: missing mandatory headers (Via, From, To, Call-ID,
    /// CSeq order), then each repeat of a single-valued header (compact forms are the same
    /// header) in header order, then the CSeq method.
    #[test]
    fn header_checks_say_what_is_missing_repeated_and_inconsistent_in_order() {
        let msg = b"INVITE sip:a@b SIP/2.0\r\nFrom: <sip:x@y>;tag=1\r\nTo: <sip:a@b>\r\n\
f: <sip:z@y>;tag=2\r\nCSeq: 1 BYE\r\nt: <sip:a@b>\r\nMax-Forwards: 70\r\nTo: <sip:a@b>\r\n\
Subject: a\r\nSubject: b\r\n\r\n";
        let (m, _) = parse_message(msg).unwrap();
        let said: Vec<(ParseEventKind, &str)> =
            m.warnings.iter().map(|w| (w.kind, w.detail)).collect();
        use ParseEventKind as K;
        assert_eq!(
            said,
            vec![
                (K::MissingHeader, "Via"),
                (K::MissingHeader, "Call-ID"),
                (K::DuplicateHeader, "From"),
                (K::DuplicateHeader, "To"),
                (K::DuplicateHeader, "To"),
                (K::BadCSeq, "CSeq method differs from request method"),
            ]
        );
        // All there once: nothing said.
        let msg = b"OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n\
Via: SIP/2.0/UDP g;branch=z9hG4bK2\r\nFrom: <sip:x@y>;tag=1\r\nTo: <sip:a@b>\r\n\
Call-ID: c\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n";
        assert!(parse_message(msg).unwrap().0.warnings.is_empty());
    }

    #[test]
    fn bad_content_length() {
        let msg = b"MESSAGE sip:a@b SIP/2.0\r\nContent-Length: abc\r\n\r\nhello";
        let (m, used) = parse_message(msg).unwrap();
        assert!(m.has_warning(ParseEventKind::BadContentLength));
        assert_eq!(m.body, b"hello");
        assert_eq!(used, msg.len());
        assert_eq!(m.content_length(), None);
        // Conflicting values.
        let msg = b"MESSAGE sip:a@b SIP/2.0\r\nl: 2\r\nContent-Length: 3\r\n\r\nhello";
        let (m, used) = parse_message(msg).unwrap();
        assert!(m.has_warning(ParseEventKind::BadContentLength));
        assert!(m.has_warning(ParseEventKind::DuplicateHeader));
        assert_eq!(used, msg.len() - 3);
        // Signs are not digits.
        let msg = b"MESSAGE sip:a@b SIP/2.0\r\nContent-Length: +3\r\n\r\nhello";
        assert!(parse_message(msg)
            .unwrap()
            .0
            .has_warning(ParseEventKind::BadContentLength));
    }

    #[test]
    fn content_length_larger_than_datagram() {
        let msg = b"MESSAGE sip:a@b SIP/2.0\r\nContent-Length: 500\r\n\r\nhello";
        let (m, used) = parse_message(msg).unwrap();
        assert!(m.has_warning(ParseEventKind::ContentLengthMismatch));
        assert_eq!(m.body, b"hello");
        assert_eq!(used, msg.len());
        // Smaller Content-Length: rest belongs to the next message.
        let msg = b"MESSAGE sip:a@b SIP/2.0\r\nContent-Length: 2\r\n\r\nhello";
        let (m, used) = parse_message(msg).unwrap();
        assert_eq!(m.body, b"he");
        assert_eq!(used, msg.len() - 3);
        assert!(!m.has_warning(ParseEventKind::ContentLengthMismatch));
    }

    #[test]
    fn start_line_errors() {
        let cases: &[(&[u8], ParseEventKind)] = &[
            (b"\x00\x01\x02\r\n\r\n", ParseEventKind::BadStartLine),
            (b"SIP/2.0 20 OK\r\n\r\n", ParseEventKind::BadStatusCode),
            (b"SIP/2.0 2000 OK\r\n\r\n", ParseEventKind::BadStatusCode),
            (b"SIP/2.0 099 X\r\n\r\n", ParseEventKind::BadStatusCode),
            (b"SIP/x 200 OK\r\n\r\n", ParseEventKind::BadVersion),
            (
                b"INVITE sip:a@b HTTP/1.1\r\n\r\n",
                ParseEventKind::BadVersion,
            ),
            (b"INVITE nocolon SIP/2.0\r\n\r\n", ParseEventKind::BadUri),
            (b"INVITE  SIP/2.0\r\n\r\n", ParseEventKind::BadUri),
            (b"INV(TE sip:a SIP/2.0\r\n\r\n", ParseEventKind::BadMethod),
            (
                b"INVITE sip:a@b SIP/2.0\r\nVia: x",
                ParseEventKind::Incomplete,
            ),
            (b"", ParseEventKind::Incomplete),
        ];
        for (input, kind) in cases {
            let e = parse_message(input).unwrap_err();
            assert_eq!(e.kind, *kind, "{:?}", String::from_utf8_lossy(input));
            assert!(e.offset <= input.len());
            assert!(!e.to_string().is_empty());
        }
        // Lines that are not headers are anomalies, not fatal.
        for input in [
            &b"INVITE sip:a@b SIP/2.0\r\nno colon here\r\nCall-ID: x\r\n\r\n"[..],
            &b"INVITE sip:a@b SIP/2.0\r\n folded first\r\nCall-ID: x\r\n\r\n"[..],
        ] {
            let (m, _) = parse_message(input).unwrap();
            assert!(m.has_warning(ParseEventKind::BadHeaderLine));
            assert_eq!(m.call_id(), Some("x"));
        }
        assert_eq!(ParseEventKind::BadStatusCode.as_str(), "bad_status_code");
        let e = ParseError::new(ParseEventKind::TooManyHeaders, 7);
        assert_eq!(
            e.to_string(),
            "SIP parse error: too_many_headers at offset 7"
        );
    }

    #[test]
    fn datagram_ends_headers_at_its_end() {
        // Ends after a whole line, without the blank line: a message, with a warning.
        let (m, used) =
            parse_datagram(b"ACK sip:a@b SIP/2.0\r\nCall-ID: x\r\nCSeq: 1 ACK\r\n").unwrap();
        assert_eq!(m.call_id(), Some("x"));
        assert!(m.has_warning(ParseEventKind::UnterminatedHeaders));
        assert_eq!(used, 46);
        // Cut inside a header value: the value is what is there.
        let (m, _) = parse_datagram(b"ACK sip:a@b SIP/2.0\r\nCall-ID: xy").unwrap();
        assert_eq!(m.call_id(), Some("xy"));
        // Cut inside a header name: truncated.
        let e = parse_datagram(b"ACK sip:a@b SIP/2.0\r\nCall-ID: x\r\nContent-Lengt").unwrap_err();
        assert_eq!(e.kind, ParseEventKind::Incomplete);
        // A stream still waits for the blank line.
        assert_eq!(
            parse_message(b"ACK sip:a@b SIP/2.0\r\nCall-ID: x\r\n")
                .unwrap_err()
                .kind,
            ParseEventKind::Incomplete
        );
    }

    #[test]
    fn limits() {
        let mut msg = b"OPTIONS sip:a@b SIP/2.0\r\n".to_vec();
        for i in 0..MAX_HEADERS {
            msg.extend_from_slice(format!("X-H{i}: v\r\n").as_bytes());
        }
        let mut ok = msg.clone();
        ok.extend_from_slice(b"\r\n");
        assert_eq!(parse_message(&ok).unwrap().0.headers.len(), MAX_HEADERS);
        msg.extend_from_slice(b"X-Last: v\r\n\r\n");
        let (m, _) = parse_message(&msg).unwrap();
        assert_eq!(m.headers.len(), MAX_HEADERS);
        assert!(m.has_warning(ParseEventKind::TooManyHeaders));
        let mut long = b"OPTIONS sip:a@b SIP/2.0\r\nX: ".to_vec();
        long.resize(MAX_HEADER_BYTES + 10, b'a');
        assert_eq!(
            parse_message(&long).unwrap_err().kind,
            ParseEventKind::HeadersTooLong
        );
        long.truncate(MAX_HEADER_BYTES - 10);
        assert_eq!(
            parse_message(&long).unwrap_err().kind,
            ParseEventKind::Incomplete
        );
    }

    #[test]
    fn every_prefix_is_safe() {
        for full in [INVITE, OK200, COMPACT] {
            let (_, _) = parse_message(full).unwrap();
            let hdr_end = memchr::memmem::find(full, b"\r\n\r\n").unwrap() + 4;
            for n in 0..full.len() {
                let r = parse_message(&full[..n]);
                if n < hdr_end {
                    assert_eq!(
                        r.unwrap_err().kind,
                        ParseEventKind::Incomplete,
                        "prefix {n}"
                    );
                } else {
                    let (m, used) = r.unwrap();
                    assert_eq!(used, n);
                    assert_eq!(m.header_len, hdr_end);
                }
            }
        }
    }

    #[test]
    fn garbage_and_utf8() {
        let garbage: Vec<u8> = (0..4096u32)
            .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
            .collect();
        let _ = parse_message(&garbage);
        let msg = b"MESSAGE sip:a@b SIP/2.0\r\nSubject: caf\xe9\r\nCall-ID: \xff\xfe\r\n\r\n";
        let (m, _) = parse_message(msg).unwrap();
        assert!(m.has_warning(ParseEventKind::InvalidUtf8));
        assert_eq!(m.call_id(), Some("\u{fffd}\u{fffd}"));
        // Headers before the first bad byte are borrowed as they are; those after it are
        // replaced; a binary body does not make the headers invalid.
        let msg = b"MESSAGE sip:a@b SIP/2.0\r\nTo: <sip:\xc3\xa9@b>\r\nSubject: \xe9t\xe9\r\n\
                    Call-ID: x\r\nContent-Length: 2\r\n\r\n\xff\xfe";
        let (m, _) = parse_message(msg).unwrap();
        assert!(matches!(
            m.headers[0].value,
            Cow::Borrowed("<sip:\u{e9}@b>")
        ));
        assert_eq!(m.headers[1].value, "\u{fffd}t\u{fffd}");
        assert!(matches!(m.headers[2].value, Cow::Borrowed("x")));
        assert!(m.has_warning(ParseEventKind::InvalidUtf8));
        let msg = b"MESSAGE sip:a@b SIP/2.0\r\nCall-ID: x\r\nContent-Length: 2\r\n\r\n\xff\xfe";
        let (m, _) = parse_message(msg).unwrap();
        assert!(!m.has_warning(ParseEventKind::InvalidUtf8));
        assert_eq!(m.body, b"\xff\xfe");
        // Leading keep-alive CRLFs are skipped and counted.
        let msg = b"\r\n\r\nSIP/2.0 180 Ringing\r\n\r\n";
        let (m, used) = parse_message(msg).unwrap();
        assert_eq!(m.status(), Some(180));
        assert_eq!(used, msg.len());
        // Bare LF line ends are tolerated.
        let (m, _) = parse_message(b"SIP/2.0 100 Trying\nCall-ID: z\n\n").unwrap();
        assert_eq!(m.call_id(), Some("z"));
    }

    #[test]
    fn other_accessors() {
        let msg = b"SIP/2.0 603 Decline\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:c@d>;tag=2\r\nCall-ID: c\r\nCSeq: 7 INVITE\r\nP-Asserted-Identity: \"Boss\" <sip:+15551234@pbx.example.com;user=phone>, <tel:+15551234>\r\nIdentity: eyJhbGciOiJFUzI1NiJ9.e30.c2ln;info=<https://cert.example.org/passport.cer>\r\nReason: Q.850;cause=21;text=\"Call rejected\"\r\nExpires: 3600\r\nContact: <sip:a@1.2.3.4>;expires=60, \"B, C\" <sip:b@5.6.7.8>\r\nContact: sip:c@9.9.9.9\r\nAllow: INVITE, ACK\r\nAllow: BYE\r\n\r\n";
        let (m, _) = parse_message(msg).unwrap();
        assert_eq!(m.status(), Some(603));
        let pai = m.p_asserted_identity().unwrap();
        assert_eq!(pai.display, Some("Boss"));
        assert_eq!(pai.uri.user, Some("+15551234"));
        assert!(m.identity().unwrap().ends_with("passport.cer>"));
        assert_eq!(m.reason(), Some("Q.850;cause=21;text=\"Call rejected\""));
        assert_eq!(m.expires(), Some(3600));
        let contacts = m.contacts();
        assert_eq!(contacts.len(), 3);
        assert_eq!(contacts[0].param("expires"), Some("60"));
        assert_eq!(contacts[1].display, Some("B, C"));
        assert_eq!(contacts[2].uri.host, "9.9.9.9");
        let allow: Vec<_> = m.headers_named(HeaderName::Allow).collect();
        assert_eq!(allow, vec!["INVITE, ACK", "BYE"]);
        assert!(m.warnings.is_empty(), "{:?}", m.warnings);
        assert!(m.authorization().is_none() && m.proxy_authenticate().is_none());
    }

    #[test]
    fn cseq_checks() {
        let (m, _) = parse_message(b"BYE sip:a@b SIP/2.0\r\nCSeq: 2 INVITE\r\n\r\n").unwrap();
        assert!(m.has_warning(ParseEventKind::BadCSeq));
        let (m, _) = parse_message(b"BYE sip:a@b SIP/2.0\r\nCSeq: two BYE\r\n\r\n").unwrap();
        assert!(m.has_warning(ParseEventKind::BadCSeq));
        assert!(m.cseq().is_none());
    }

    #[test]
    fn sniffing() {
        assert!(looks_like_sip(INVITE));
        assert!(looks_like_sip(OK200));
        assert!(looks_like_sip(COMPACT));
        assert!(looks_like_sip(b"SIP/2.0 100 Trying\r\n"));
        assert!(looks_like_sip(b"FOO sip:x SIP/2.0\n"));
        assert!(!looks_like_sip(
            b"NOTIFY * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nNT: upnp:rootdevice\r\nNTS: ssdp:alive\r\n\r\n"
        ));
        assert!(!looks_like_sip(
            b"M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nMAN: \"ssdp:discover\"\r\n\r\n"
        ));
        assert!(!looks_like_sip(
            b"GET / HTTP/1.1\r\nHost: example.com\r\n\r\n"
        ));
        assert!(!looks_like_sip(b"HTTP/1.1 200 OK\r\n\r\n"));
        assert!(!looks_like_sip(
            b"OPTIONS rtsp://example.com/media RTSP/1.0\r\nCSeq: 1\r\n\r\n"
        ));
        assert!(!looks_like_sip(b"RTSP/1.0 200 OK\r\n"));
        assert!(!looks_like_sip(
            b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"
        ));
        assert!(!looks_like_sip(b"SIP/2.0 999 Nope\r\n"));
        // Other SIP versions are recognised (rules 2200041/2200042 report them); other
        // protocols' versions are not.
        assert!(looks_like_sip(b"OPTIONS sip:a@b SIP/3.0\r\n"));
        assert!(looks_like_sip(b"SIP/1.0 200 OK\r\n"));
        assert!(!looks_like_sip(b"OPTIONS sip:a@b SIP/2\r\n"));
        assert!(!looks_like_sip(b"SIP/2.x 200 OK\r\n"));
        assert!(!looks_like_sip(b"SIPX2.0 200 OK\r\n"));
        assert!(!looks_like_sip(b"INVITE sip:a@b SIP/2.0"));
        assert!(!looks_like_sip(b""));
        // An empty Request-URI is SIP that does not parse (reported, not ignored).
        let empty_uri = b"INVITE  SIP/2.0\r\nVia: SIP/2.0/UDP a\r\nContent-Length: 0\r\n\r\n";
        assert!(looks_like_sip(empty_uri));
        assert_eq!(
            parse_datagram(empty_uri).unwrap_err().kind,
            ParseEventKind::BadUri
        );
        assert!(!looks_like_sip(b"INVITE   SIP/2.0\r\n"));
        assert!(!looks_like_sip(b"GET  HTTP/1.1\r\n"));
    }

    // --- property tests ---------------------------------------------------

    #[derive(Debug, Clone)]
    struct Gen {
        request: Option<(String, String)>,
        status: (u16, String),
        call_id: String,
        from_user: String,
        from_tag: String,
        host: String,
        port: u16,
        branch: String,
        cseq: u32,
        ua: String,
        compact: bool,
        body: Vec<u8>,
    }

    fn gen() -> impl Strategy<Value = Gen> {
        let method = prop_oneof![
            Just("INVITE".to_string()),
            Just("ACK".to_string()),
            Just("BYE".to_string()),
            Just("REGISTER".to_string()),
            Just("OPTIONS".to_string()),
            "[A-Z][A-Z-]{0,10}",
        ];
        let request = proptest::option::of((method, "[a-z0-9]{1,12}"));
        (
            request,
            (100u16..700, "[A-Za-z]([A-Za-z ]{0,20}[A-Za-z])?"),
            "[A-Za-z0-9.!%*_+`'~-]{1,32}(@[a-z0-9.]{1,20})?",
            ("[a-z0-9_.]{1,16}", "[A-Za-z0-9]{1,16}"),
            ("[a-z][a-z0-9-]{0,15}(\\.[a-z]{2,6})?", 1u16..),
            ("z9hG4bK[A-Za-z0-9]{1,20}", 0u32..=u32::MAX),
            (
                "[A-Za-z0-9./(]([A-Za-z0-9 ./()-]{0,30}[A-Za-z0-9./)])?",
                any::<bool>(),
            ),
            proptest::collection::vec(any::<u8>(), 0..300),
        )
            .prop_map(
                |(
                    request,
                    status,
                    call_id,
                    (from_user, from_tag),
                    (host, port),
                    (branch, cseq),
                    (ua, compact),
                    body,
                )| Gen {
                    request,
                    status,
                    call_id,
                    from_user,
                    from_tag,
                    host,
                    port,
                    branch,
                    cseq,
                    ua,
                    compact,
                    body,
                },
            )
    }

    fn render(g: &Gen) -> Vec<u8> {
        let mut s = String::new();
        let method = match &g.request {
            Some((m, user)) => {
                s += &format!("{m} sip:{user}@{}:{} SIP/2.0\r\n", g.host, g.port);
                m.clone()
            }
            None => {
                s += &format!("SIP/2.0 {} {}\r\n", g.status.0, g.status.1);
                "INVITE".to_string()
            }
        };
        let n = |long: &'static str, short: &'static str| if g.compact { short } else { long };
        s += &format!(
            "{}: SIP/2.0/UDP {}:{};branch={}\r\n",
            n("Via", "v"),
            g.host,
            g.port,
            g.branch
        );
        s += &format!(
            "{}: <sip:{}@{}>;tag={}\r\n",
            n("From", "f"),
            g.from_user,
            g.host,
            g.from_tag
        );
        s += &format!("{}: sip:{}@{}\r\n", n("To", "t"), g.from_user, g.host);
        s += &format!("{}: {}\r\n", n("Call-ID", "i"), g.call_id);
        s += &format!("CSeq: {} {}\r\n", g.cseq, method);
        s += &format!("User-Agent: {}\r\n", g.ua);
        s += &format!("{}: {}\r\n\r\n", n("Content-Length", "l"), g.body.len());
        let mut out = s.into_bytes();
        out.extend_from_slice(&g.body);
        out
    }

    /// Pieces of datagrams, usual and not: the lines a Content-Length may hide in.
    const PIECES: &[&str] = &[
        "Content-Length: 5",
        "l: 3",
        "content-length:  2 ",
        "Content-Length: x",
        "L : 4",
        "Content-Length: 99999999999999999999999",
        "c: application/sdp",
        "Call-ID: a",
        "Via: SIP/2.0/UDP h",
        " folded 7",
        "\tfolded",
        "bad line",
        "",
        "Content-Lengthy: 1",
        "\u{e9}: 1",
    ];

    use nom::bytes::complete::{tag_no_case, take_while_m_n};
    use nom::character::complete::digit1;
    use nom::combinator::recognize;
    use nom::sequence::tuple;

    /// `SIP/1*DIGIT.1*DIGIT` ("SIP" is case-insensitive in the ABNF).
    fn sip_version(i: &[u8]) -> IResult<&[u8], &[u8]> {
        recognize(tuple((tag_no_case("SIP/"), digit1, char('.'), digit1)))(i)
    }

    fn status_code(i: &[u8]) -> IResult<&[u8], &[u8]> {
        take_while_m_n(3, 3, is_digit)(i)
    }

    /// The start line as nom's combinators read it: the oracle [`parse_start_line`] is held to.
    fn parse_start_line_nom(line: &[u8]) -> Result<StartLine<'_>, LineErr> {
        use ParseEventKind as K;
        let off = |rest: &[u8]| line.len() - rest.len();

        if line.len() >= 4 && line[..4].eq_ignore_ascii_case(b"SIP/") {
            let (i, version) = sip_version(line).map_err(|_| (K::BadVersion, 0))?;
            let (i, _) = sp(i).map_err(|_| (K::BadStartLine, off(i)))?;
            let (i, code) = status_code(i).map_err(|_| (K::BadStatusCode, off(i)))?;
            let code: u16 = ascii_str(code).parse().unwrap_or(0);
            if !(100..=699).contains(&code) {
                return Err((K::BadStatusCode, off(i)));
            }
            return status_line(version, code, i, off(i));
        }

        if line.is_empty() || !is_token_char(line[0]) {
            return Err((K::BadStartLine, 0));
        }
        let (i, method) = token(line).map_err(|_| (K::BadMethod, 0))?;
        let (i, _) = sp(i).map_err(|_| (K::BadMethod, off(i)))?;
        let (i, uri) = request_uri(i).map_err(|_| (K::BadUri, off(i)))?;
        if !uri_has_scheme(uri) {
            return Err((K::BadUri, off(i) - uri.len()));
        }
        let (i, _) = sp(i).map_err(|_| (K::BadStartLine, off(i)))?;
        let (i, version) = sip_version(i).map_err(|_| (K::BadVersion, off(i)))?;
        if !trim_ws(i).is_empty() {
            return Err((K::BadVersion, off(i)));
        }
        Ok(StartLine::Request {
            method: Method::parse(ascii_str(method)),
            uri: lossy(uri),
            version: Cow::Borrowed(ascii_str(version)),
        })
    }

    /// Pieces of start lines, good and bad, for the hand parser against nom's.
    const START_PIECES: &[&str] = &[
        "INVITE",
        "ACK",
        "inv-ite.x",
        " ",
        "  ",
        "\t",
        "sip:",
        "sips:",
        "tel:+1",
        "a@b",
        "1x:",
        "+:",
        "SIP/",
        "sip/",
        "SIP/2.0",
        "SIP/2",
        ".",
        "0",
        "200",
        "99",
        "700",
        "6999",
        "OK",
        "Ok \u{e9}",
        ":",
        "/",
        "\u{7f}",
        "\u{0}",
        "<",
        "2.0",
        "Sip/20.10",
        "\u{e9}",
    ];

    proptest! {
        /// The start line read by hand is the start line nom's combinators read: the same
        /// line, or the same error at the same offset.
        #[test]
        fn the_hand_start_line_is_noms(
            pieces in proptest::collection::vec(prop::sample::select(START_PIECES), 0..9),
            tail in proptest::collection::vec(any::<u8>(), 0..3),
        ) {
            let mut line = pieces.concat().into_bytes();
            line.extend_from_slice(&tail);
            prop_assert_eq!(parse_start_line(&line), parse_start_line_nom(&line));
        }
    }

    #[test]
    fn the_hand_start_line_reads_what_stacks_send() {
        let read = |line: &str| match parse_start_line(line.as_bytes()) {
            Ok(StartLine::Request { method, uri, .. }) => format!("{method} {uri}"),
            Ok(StartLine::Response { code, reason, .. }) => format!("{code} {reason}"),
            Err((kind, at)) => format!("{kind:?}@{at}"),
        };
        for (line, want) in [
            (
                "INVITE sip:2000@127.0.88.2:5060 SIP/2.0",
                "INVITE sip:2000@127.0.88.2:5060",
            ),
            ("SIP/2.0 200 OK", "200 OK"),
            ("SIP/2.0 180", "180 "),
            ("SIP/2.0 404  Not Found ", "404 Not Found"),
            (
                "REGISTER sips:example.com SIP/2.0 ",
                "REGISTER sips:example.com",
            ),
            ("OPTIONS sip:100@h SIP/3.10", "OPTIONS sip:100@h"),
            ("INVITE sip:a@b SIP/2.0x", "BadVersion@22"),
            ("INVITE  sip:a@b SIP/2.0", "BadUri@7"),
            ("INVITE sip:a@b\tSIP/2.0", "BadStartLine@14"),
            ("SIP/2.0 2000 OK", "BadStatusCode@11"),
            ("SIP/2.0 099 x", "BadStatusCode@11"),
            ("", "BadStartLine@0"),
        ] {
            assert_eq!(read(line), want, "{line:?}");
            let got = parse_start_line(line.as_bytes());
            assert_eq!(got, parse_start_line_nom(line.as_bytes()), "{line:?}");
        }
    }

    proptest! {
        /// The quick look at a datagram's body gives, whenever it gives one, the body the
        /// whole scan finds (and gives one for plain datagrams).
        #[test]
        fn the_plain_body_is_the_scans_body(
            start in prop::sample::select(vec![
                "INVITE sip:a@b SIP/2.0", "SIP/2.0 200 OK", "INVITE  SIP/2.0", "nonsense",
            ]),
            lines in proptest::collection::vec(prop::sample::select(PIECES), 0..8),
            crlf in any::<bool>(),
            blank in any::<bool>(),
            lead in 0usize..3,
            body in proptest::collection::vec(any::<u8>(), 0..12),
        ) {
            let eol = if crlf { "\r\n" } else { "\n" };
            let mut wire = "\r\n".repeat(lead);
            wire.push_str(start);
            wire.push_str(eol);
            for l in &lines {
                wire.push_str(l);
                wire.push_str(eol);
            }
            if blank {
                wire.push_str(eol);
            }
            let mut wire = wire.into_bytes();
            wire.extend_from_slice(&body);
            let whole = match scan(&wire, true, true, Vec::new()) {
                Ok(Scanned::Body(b)) => Some(b),
                _ => None,
            };
            if let Some(quick) = plain_datagram_body(&wire) {
                prop_assert_eq!(Some(quick), whole);
            }
            prop_assert_eq!(datagram_body(&wire), whole);
            let plain = blank && start.starts_with(['I', 'S']) && !start.contains("  ")
                && lines.iter().all(|l| !l.is_empty() && !l.starts_with([' ', '\t']));
            if plain {
                prop_assert!(plain_datagram_body(&wire).is_some(), "a plain datagram");
            }
        }

        #[test]
        fn roundtrip(g in gen(), trailing in proptest::collection::vec(any::<u8>(), 0..20)) {
            let mut wire = render(&g);
            let len = wire.len();
            wire.extend_from_slice(&trailing);
            let (m, used) = parse_message(&wire).unwrap();
            prop_assert_eq!(used, len);
            prop_assert!(looks_like_sip(&wire));
            prop_assert!(m.warnings.is_empty(), "{:?}", m.warnings);
            match &g.request {
                Some((meth, user)) => {
                    prop_assert_eq!(m.method().unwrap().as_str(), meth.as_str());
                    prop_assert_eq!(m.request_uri().unwrap(), format!("sip:{user}@{}:{}", g.host, g.port));
                }
                None => {
                    prop_assert_eq!(m.status(), Some(g.status.0));
                    let ok = matches!(&m.start, StartLine::Response { reason, .. } if reason == &g.status.1);
                    prop_assert!(ok);
                }
            }
            prop_assert_eq!(m.call_id(), Some(g.call_id.as_str()));
            let cseq = m.cseq().unwrap();
            prop_assert_eq!(cseq.seq, g.cseq);
            let from = m.from().unwrap();
            prop_assert_eq!(from.uri.user, Some(g.from_user.as_str()));
            prop_assert_eq!(from.uri.host, g.host.as_str());
            prop_assert_eq!(from.tag, Some(g.from_tag.as_str()));
            prop_assert_eq!(m.to().unwrap().tag, None);
            let via = m.top_via().unwrap();
            prop_assert_eq!(via.host, g.host.as_str());
            prop_assert_eq!(via.port, Some(g.port));
            prop_assert_eq!(via.branch, Some(g.branch.as_str()));
            prop_assert_eq!(m.user_agent(), Some(g.ua.as_str()));
            prop_assert_eq!(m.content_length(), Some(g.body.len()));
            prop_assert_eq!(m.body, &g.body[..]);
            let _ = m.vias();
            let _ = m.contacts();
            prop_assert_eq!(crate::sip::framing::frame_len(&wire), crate::sip::framing::Frame::Complete(len));
        }

        #[test]
        fn any_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..2048)) {
            if let Ok((m, used)) = parse_message(&data) {
                prop_assert!(used <= data.len());
                prop_assert!(m.header_len <= used);
                let _ = (m.vias(), m.from(), m.to(), m.contacts(), m.cseq(), m.authorization(),
                         m.www_authenticate(), m.p_asserted_identity(), m.max_forwards(), m.expires());
            }
            let _ = looks_like_sip(&data);
        }

        #[test]
        fn sip_shaped_bytes_never_panic(
            head in prop_oneof![Just(&b"INVITE sip:a@b SIP/2.0\r\n"[..]), Just(&b"SIP/2.0 200 OK\r\n"[..])],
            lines in proptest::collection::vec(
                ("(Via|From|To|Call-ID|CSeq|Contact|Authorization|WWW-Authenticate|Content-Length|l|v|m)",
                 "[ -~\t]{0,60}"), 0..12),
            tail in proptest::collection::vec(any::<u8>(), 0..64),
        ) {
            let mut wire = head.to_vec();
            for (n, v) in &lines {
                wire.extend_from_slice(format!("{n}: {v}\r\n").as_bytes());
            }
            wire.extend_from_slice(b"\r\n");
            wire.extend_from_slice(&tail);
            let (m, used) = parse_message(&wire).unwrap();
            prop_assert!(used <= wire.len());
            let _ = (m.vias(), m.from(), m.to(), m.contacts(), m.cseq(), m.authorization(),
                     m.www_authenticate(), m.content_length());
        }
    }
}
