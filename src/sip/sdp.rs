//! SDP (RFC 4566 / 8866) parser for the bodies of SIP messages.
//!
//! Borrowed slices only. Lenient per line: a malformed line is recorded in
//! [`Sdp::issues`] and skipped; only input that is not SDP at all is an
//! error. Key material (`a=crypto` inline keys, `a=key-mgmt` payloads,
//! `a=ice-pwd`) is never kept in the parsed structs.

use crate::sip::text::{find_any, Find, Trim};

/// Most `m=` sections kept.
pub const MAX_MEDIA: usize = 64;
/// Most `a=` lines processed (session and media together).
pub const MAX_ATTRIBUTES: usize = 256;
/// Most formats kept per `m=` line.
const MAX_FORMATS: usize = 256;

/// Input is not SDP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SdpError {
    /// No lines at all.
    #[error("empty SDP")]
    Empty,
    /// First line is not `v=`.
    #[error("not SDP: first line is not v=")]
    NotSdp,
}

/// Kind of a per-line problem.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SdpIssueKind {
    BadOrigin,
    BadConnection,
    BadMedia,
    BadAttribute,
    BadLine,
    InvalidUtf8,
    TooManyMedia,
    TooManyAttributes,
}

impl SdpIssueKind {
    /// Stable snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::BadOrigin => "bad_origin",
            Self::BadConnection => "bad_connection",
            Self::BadMedia => "bad_media",
            Self::BadAttribute => "bad_attribute",
            Self::BadLine => "bad_line",
            Self::InvalidUtf8 => "invalid_utf8",
            Self::TooManyMedia => "too_many_media",
            Self::TooManyAttributes => "too_many_attributes",
        }
    }
}

/// A skipped or partly understood line (1-based line number).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SdpIssue {
    pub line: usize,
    pub kind: SdpIssueKind,
}

/// `o=` line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Origin<'a> {
    pub username: &'a str,
    pub sess_id: &'a str,
    pub sess_version: &'a str,
    pub nettype: &'a str,
    pub addrtype: &'a str,
    pub addr: &'a str,
}

/// `c=` line; `addr` without `/ttl` or `/count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Connection<'a> {
    pub nettype: &'a str,
    /// `IP4` or `IP6`.
    pub addrtype: &'a str,
    pub addr: &'a str,
}

/// Media direction attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    SendRecv,
    SendOnly,
    RecvOnly,
    Inactive,
}

impl Direction {
    fn parse(name: &str) -> Option<Self> {
        match name {
            "sendrecv" => Some(Self::SendRecv),
            "sendonly" => Some(Self::SendOnly),
            "recvonly" => Some(Self::RecvOnly),
            "inactive" => Some(Self::Inactive),
            _ => None,
        }
    }

    /// Attribute name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SendRecv => "sendrecv",
            Self::SendOnly => "sendonly",
            Self::RecvOnly => "recvonly",
            Self::Inactive => "inactive",
        }
    }
}

/// `a=fingerprint:<hash-func> <value>` (DTLS certificate hash: public).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fingerprint<'a> {
    pub hash_func: &'a str,
    pub value: &'a str,
}

/// `a=rtpmap:<pt> <encoding>/<clock>[/<channels>]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RtpMap<'a> {
    pub pt: u8,
    pub encoding: &'a str,
    pub clock_rate: u32,
    pub channels: Option<u16>,
}

/// `a=crypto` (RFC 4568 SDES) without the key: only whether one was there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Crypto<'a> {
    pub tag: u32,
    /// e.g. `AES_CM_128_HMAC_SHA1_80`.
    pub suite: &'a str,
    /// e.g. `inline`.
    pub key_method: &'a str,
    pub has_key: bool,
}

/// One `m=` section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Media<'a> {
    /// audio, video, image, application, ...
    pub kind: &'a str,
    pub port: u16,
    pub num_ports: Option<u16>,
    /// RTP/AVP, RTP/SAVP, RTP/SAVPF, UDP/TLS/RTP/SAVPF, udptl, ...
    pub proto: &'a str,
    pub formats: Vec<&'a str>,
    pub connection: Option<Connection<'a>>,
    pub rtpmap: Vec<RtpMap<'a>>,
    pub crypto: Vec<Crypto<'a>>,
    pub fingerprint: Option<Fingerprint<'a>>,
    pub setup: Option<&'a str>,
    /// `a=rtcp:<port> [nettype addrtype addr]`.
    pub rtcp: Option<(u16, Option<Connection<'a>>)>,
    pub rtcp_mux: bool,
    pub direction: Option<Direction>,
    pub zrtp_hash: bool,
    pub ice_ufrag: bool,
    pub ptime: Option<u32>,
    /// All media-level `a=` lines in order; values of secret-bearing
    /// attributes are cut before the secret (see [`attribute_value`]).
    pub attributes: Vec<(&'a str, Option<&'a str>)>,
}

impl<'a> Media<'a> {
    fn new(kind: &'a str, port: u16, num_ports: Option<u16>, proto: &'a str) -> Self {
        Self {
            kind,
            port,
            num_ports,
            proto,
            formats: Vec::new(),
            connection: None,
            rtpmap: Vec::new(),
            crypto: Vec::new(),
            fingerprint: None,
            setup: None,
            rtcp: None,
            rtcp_mux: false,
            direction: None,
            zrtp_hash: false,
            ice_ufrag: false,
            ptime: None,
            attributes: Vec::new(),
        }
    }

    /// Media-level c= if present, else the session-level one.
    pub fn effective_connection<'s>(&'s self, sdp: &'s Sdp<'a>) -> Option<&'s Connection<'a>> {
        self.connection.as_ref().or(sdp.connection.as_ref())
    }

    /// Media-level direction, else session-level, else sendrecv (RFC 4566 6).
    pub fn effective_direction(&self, sdp: &Sdp<'_>) -> Direction {
        self.direction
            .or(sdp.direction)
            .unwrap_or(Direction::SendRecv)
    }

    /// Secure RTP profile (SAVP/SAVPF, SDES or DTLS keyed).
    pub fn is_srtp(&self) -> bool {
        self.proto
            .split('/')
            .any(|p| p.eq_ignore_ascii_case("SAVP") || p.eq_ignore_ascii_case("SAVPF"))
    }

    /// DTLS-SRTP profile (`UDP/TLS/RTP/SAVP[F]`, `TCP/TLS/...`).
    pub fn is_dtls(&self) -> bool {
        let mut parts = self.proto.split('/');
        parts.next();
        parts.next().is_some_and(|p| p.eq_ignore_ascii_case("TLS"))
    }

    /// Any RTP profile.
    pub fn is_rtp(&self) -> bool {
        self.proto.split('/').any(|p| p.eq_ignore_ascii_case("RTP"))
    }

    /// Port 0 means the stream is rejected/disabled.
    pub fn is_disabled(&self) -> bool {
        self.port == 0
    }

    /// Fingerprint at media level, else session level.
    pub fn effective_fingerprint<'s>(&'s self, sdp: &'s Sdp<'a>) -> Option<&'s Fingerprint<'a>> {
        self.fingerprint.as_ref().or(sdp.fingerprint.as_ref())
    }
}

/// A parsed session description.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Sdp<'a> {
    pub origin: Option<Origin<'a>>,
    pub session_name: Option<&'a str>,
    pub connection: Option<Connection<'a>>,
    pub media: Vec<Media<'a>>,
    pub direction: Option<Direction>,
    pub fingerprint: Option<Fingerprint<'a>>,
    pub setup: Option<&'a str>,
    /// `a=ice-ufrag` present at session or media level.
    pub ice_ufrag: bool,
    /// All session-level `a=` lines in order (secret values cut, see
    /// [`attribute_value`]).
    pub attributes: Vec<(&'a str, Option<&'a str>)>,
    /// Lines that were skipped or only partly understood.
    pub issues: Vec<SdpIssue>,
}

/// Value of an attribute as kept in `attributes`: secret-bearing attributes
/// are cut before the secret. `crypto` keeps `tag suite method:` (borrowed
/// prefix up to the first key), `key-mgmt` keeps the protocol id, `ice-pwd`
/// keeps nothing.
pub fn attribute_value<'a>(name: &str, value: Option<&'a str>) -> Option<&'a str> {
    let v = value?;
    if name.eq_ignore_ascii_case("crypto") {
        Some(match v.find_byte(b':') {
            Some(c) => &v[..=c],
            None => v,
        })
    } else if name.eq_ignore_ascii_case("key-mgmt") {
        Some(v.split_whitespace().next().unwrap_or(""))
    } else if name.eq_ignore_ascii_case("ice-pwd") {
        None
    } else {
        Some(v)
    }
}

/// `<nettype> <addrtype> <addr>[/ttl[/n]]`.
fn parse_connection(v: &str) -> Option<Connection<'_>> {
    let mut it = words(v);
    let nettype = it.next()?;
    let addrtype = it.next()?;
    let addr = it.next()?;
    let addr = addr.find_byte(b'/').map_or(addr, |i| &addr[..i]);
    if addr.is_empty() {
        return None;
    }
    Some(Connection {
        nettype,
        addrtype,
        addr,
    })
}

fn parse_origin(v: &str) -> Option<Origin<'_>> {
    let mut it = words(v);
    Some(Origin {
        username: it.next()?,
        sess_id: it.next()?,
        sess_version: it.next()?,
        nettype: it.next()?,
        addrtype: it.next()?,
        addr: it.next()?,
    })
}

/// A number of ASCII digits only (no sign, no white space) that fits `T`
/// ([`crate::sip::header::ascii_digits`]).
fn digits<T: TryFrom<u64>>(s: &str) -> Option<T> {
    crate::sip::header::ascii_digits(s).and_then(|n| T::try_from(n).ok())
}

/// `str::split_ascii_whitespace`, as a plain byte loop (the standard one's set-up cost more
/// than splitting the few words of an SDP line).
fn words(s: &str) -> Words<'_> {
    Words(s)
}

struct Words<'a>(&'a str);

/// ASCII white space as `u8::is_ascii_whitespace` has it (space, tab, LF, FF, CR): one
/// compare for a visible byte.
#[inline(always)]
fn is_space(b: u8) -> bool {
    const SET: u64 = 1 << b' ' | 1 << b'\t' | 1 << b'\n' | 1 << 0x0c | 1 << b'\r';
    b <= b' ' && SET >> b & 1 != 0
}

impl<'a> Iterator for Words<'a> {
    type Item = &'a str;

    #[inline(always)]
    fn next(&mut self) -> Option<&'a str> {
        let b = self.0.as_bytes();
        let mut start = 0;
        while start < b.len() && is_space(b[start]) {
            start += 1;
        }
        if start == b.len() {
            return None;
        }
        let mut end = start + 1;
        while end < b.len() && !is_space(b[end]) {
            end += 1;
        }
        // Both ends are at ASCII bytes (or the end): character boundaries.
        let w = &self.0[start..end];
        self.0 = &self.0[end..];
        Some(w)
    }
}

/// The head of a media line: kind, port, number of ports, protocol.
type MediaHead<'a> = (&'a str, u16, Option<u16>, &'a str);

/// `<media> <port>[/<n>] <proto> <fmt> ...`: the head, and the words of the formats.
fn parse_media(v: &str) -> Option<(MediaHead<'_>, Words<'_>)> {
    let mut it = words(v);
    let kind = it.next()?;
    let port_s = it.next()?;
    let proto = it.next()?;
    let (port, num_ports) = match port_s.split_once_byte(b'/') {
        Some((p, n)) => (digits(p)?, Some(digits(n)?)),
        None => (digits(port_s)?, None),
    };
    Some(((kind, port, num_ports, proto), it))
}

fn parse_rtpmap(v: &str) -> Option<RtpMap<'_>> {
    let v = v.trim_ws();
    let sp = v.bytes().position(|b| b == b' ' || b == b'\t')?;
    let (pt, rest) = (&v[..sp], v[sp + 1..].trim_ws());
    // `encoding/clock[/channels[/...]]`: what follows a third part is not read.
    let (encoding, rest) = rest.split_once_byte(b'/')?;
    if encoding.is_empty() {
        return None;
    }
    let (clock, channels) = match rest.split_once_byte(b'/') {
        Some((c, ch)) => (c, Some(ch.split_once_byte(b'/').map_or(ch, |(ch, _)| ch))),
        None => (rest, None),
    };
    let clock_rate = digits(clock)?;
    let channels = match channels {
        Some(c) => Some(digits(c)?),
        None => None,
    };
    Some(RtpMap {
        pt: digits(pt)?,
        encoding,
        clock_rate,
        channels,
    })
}

/// `<tag> <suite> <method>:<key-info>[;...] [session-params]`; key-info is
/// only tested for presence.
fn parse_crypto(v: &str) -> Option<Crypto<'_>> {
    let mut it = words(v);
    let tag = digits(it.next()?)?;
    let suite = it.next()?;
    let key_params = it.next()?;
    let (key_method, key) = key_params.split_once_byte(b':')?;
    Some(Crypto {
        tag,
        suite,
        key_method,
        has_key: !key.is_empty(),
    })
}

fn parse_fingerprint(v: &str) -> Option<Fingerprint<'_>> {
    let mut it = words(v);
    Some(Fingerprint {
        hash_func: it.next()?,
        value: it.next()?,
    })
}

fn parse_rtcp(v: &str) -> Option<(u16, Option<Connection<'_>>)> {
    let v = v.trim_ws();
    let (port, rest) = match v.split_once([' ', '\t']) {
        Some((p, r)) => (p, r.trim_ws()),
        None => (v, ""),
    };
    let conn = if rest.is_empty() {
        None
    } else {
        Some(parse_connection(rest)?)
    };
    Some((digits(port)?, conn))
}

/// Lines ending in LF or CRLF (the last may lack one; nothing after a final LF is a line),
/// numbered from 1.
struct Lines<'a> {
    rest: &'a [u8],
    done: bool,
    number: usize,
}

impl<'a> Lines<'a> {
    fn new(body: &'a [u8]) -> Self {
        Lines {
            rest: body,
            done: false,
            number: 0,
        }
    }
}

impl<'a> Iterator for Lines<'a> {
    type Item = &'a [u8];

    #[inline(always)]
    fn next(&mut self) -> Option<&'a [u8]> {
        if self.done {
            return None;
        }
        let r = self.rest;
        let line = match find_any(r, [b'\n']) {
            Some(n) => {
                self.rest = &r[n + 1..];
                &r[..n]
            }
            None => {
                self.rest = &[];
                r
            }
        };
        self.done = self.rest.is_empty();
        self.number += 1;
        Some(line.strip_suffix(b"\r").unwrap_or(line))
    }
}

/// Nothing but ASCII white space (or nothing).
#[inline]
fn is_blank(raw: &[u8]) -> bool {
    // A line that starts with a visible byte is not blank: only the others are looked at.
    raw.first().is_none_or(|b| b.is_ascii_whitespace())
        && raw.iter().all(|b| b.is_ascii_whitespace())
}

/// A line as text, `None` when it is not UTF-8. Most lines are ASCII, tested a word at a
/// time (the UTF-8 check goes a byte at a time up to an aligned word, which on lines this
/// short is most of them).
#[inline]
fn line_text(raw: &[u8]) -> Option<&str> {
    if raw.is_ascii() {
        // SAFETY: ASCII bytes are UTF-8.
        Some(unsafe { std::str::from_utf8_unchecked(raw) })
    } else {
        std::str::from_utf8(raw).ok()
    }
}

/// `part` (a slice of `bytes`) as a slice of `text`, the same bytes already known to be UTF-8:
/// no second check. `None` when `part` does not start and end on character boundaries (a line
/// is cut at ASCII bytes, so it always does).
pub(crate) fn within<'a>(text: &'a str, bytes: &[u8], part: &[u8]) -> Option<&'a str> {
    let start = (part.as_ptr() as usize).checked_sub(bytes.as_ptr() as usize)?;
    text.get(start..start.checked_add(part.len())?)
}

/// Where `a=` lines go while parsing.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Scope {
    Session,
    Media,
    /// After a malformed or excess `m=` line: its attributes are dropped.
    Skipped,
}

/// Parse an SDP body. Fails only if the input is not SDP (first non-empty
/// line is not `v=`); malformed lines are recorded in `issues` and skipped.
pub fn parse_sdp(body: &[u8]) -> Result<Sdp<'_>, SdpError> {
    parse(body, Mode::Full)
}

/// What a record's media lines hold: each `m=` line (kind, port, protocol, formats), its
/// connection, `a=rtpmap`, `a=crypto`, `a=fingerprint`, the direction, `a=rtcp-mux` and
/// `a=zrtp-hash`, and the session's connection, direction and fingerprint, exactly as
/// [`parse_sdp`] reads them (same failures, caps and scopes); no origin, session name, other
/// attribute or list of attributes. For the worker's summary of a message.
pub fn parse_sdp_lines(body: &[u8]) -> Result<Sdp<'_>, SdpError> {
    parse(body, Mode::Lines)
}

/// Only what announces media: each `m=` line's port, its connection (and the session's),
/// and its `a=rtpmap` lines, exactly as [`parse_sdp`] reads them (same failures, caps and
/// scopes); nothing else is kept (no origin, other attributes or issues). For the capture
/// thread, which announces the media of every SDP it sees.
pub fn parse_sdp_media(body: &[u8]) -> Result<Sdp<'_>, SdpError> {
    parse(body, Mode::Light)
}

/// How much of a body [`parse`] keeps.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Everything.
    Full,
    /// What media lines hold ([`parse_sdp_lines`]).
    Lines,
    /// What announces media ([`parse_sdp_media`]).
    Light,
}

fn parse(body: &[u8], mode: Mode) -> Result<Sdp<'_>, SdpError> {
    let mut sdp = Sdp::default();
    let mut reader = Reader {
        sdp: &mut sdp,
        scope: Scope::Session,
        attr_count: 0,
        mode,
    };
    let mut lines = Lines::new(body);
    let mut seen_version = false;
    // One loop (one call of `next`, inlined).
    while let Some(raw) = lines.next() {
        if seen_version {
            reader.line(raw, lines.number);
        } else if !is_blank(raw) {
            // The first line that is not blank is `v=`.
            if !raw.starts_with(b"v=") {
                return Err(SdpError::NotSdp);
            }
            seen_version = true;
        }
    }
    if !seen_version {
        return Err(SdpError::Empty);
    }
    Ok(sdp)
}

/// The state of [`parse`] after the `v=` line.
struct Reader<'a, 's> {
    sdp: &'s mut Sdp<'a>,
    scope: Scope,
    /// `a=` lines counted against [`MAX_ATTRIBUTES`].
    attr_count: usize,
    mode: Mode,
}

impl<'a> Reader<'a, '_> {
    fn issue(&mut self, line: usize, kind: SdpIssueKind) {
        self.sdp.issues.push(SdpIssue { line, kind });
    }

    /// One line (`line_no` from 1): `<type>=<value>`, the type one character.
    #[inline]
    fn line(&mut self, raw: &'a [u8], line_no: usize) {
        let Some(&ty) = raw.first() else {
            return;
        };
        if self.mode == Mode::Full {
            if ty.is_ascii_whitespace() && is_blank(raw) {
                return;
            }
        } else if !matches!(ty, b'c' | b'm' | b'a') {
            // Lines and light: only c=, m= and a= lines matter.
            return;
        }
        let Some(line) = line_text(raw) else {
            return self.issue(line_no, SdpIssueKind::InvalidUtf8);
        };
        // The type is the one byte before the first `=`.
        if ty == b'=' || raw.get(1) != Some(&b'=') {
            return self.issue(line_no, SdpIssueKind::BadLine);
        }
        // Both bytes are ASCII: 2 is a character boundary.
        let value = &line[2..];
        match ty {
            b'o' if self.scope == Scope::Session => match parse_origin(value) {
                Some(o) => self.sdp.origin = Some(o),
                None => self.issue(line_no, SdpIssueKind::BadOrigin),
            },
            b's' if self.scope == Scope::Session => self.sdp.session_name = Some(value),
            b'c' => self.connection(value, line_no),
            b'm' => self.media(value, line_no),
            b'a' => self.attribute(value, line_no),
            _ => {}
        }
    }

    /// `c=`: the session's connection, or the current media's.
    fn connection(&mut self, value: &'a str, line_no: usize) {
        let Some(c) = parse_connection(value) else {
            return self.issue(line_no, SdpIssueKind::BadConnection);
        };
        match self.scope {
            Scope::Session => self.sdp.connection = Some(c),
            Scope::Media => {
                if let Some(m) = self.sdp.media.last_mut() {
                    m.connection = Some(c);
                }
            }
            Scope::Skipped => {}
        }
    }

    /// `m=`: a new media section, unless there are too many or the line is malformed (its
    /// attributes are then skipped).
    fn media(&mut self, value: &'a str, line_no: usize) {
        if self.sdp.media.len() >= MAX_MEDIA {
            if !self
                .sdp
                .issues
                .iter()
                .any(|i| i.kind == SdpIssueKind::TooManyMedia)
            {
                self.issue(line_no, SdpIssueKind::TooManyMedia);
            }
            self.scope = Scope::Skipped;
            return;
        }
        let Some(((kind, port, num_ports, proto), formats)) = parse_media(value) else {
            self.issue(line_no, SdpIssueKind::BadMedia);
            self.scope = Scope::Skipped;
            return;
        };
        let list = &mut self.sdp.media;
        if list.len() == list.capacity() {
            // Two to start with: four sections (the standard first growth) are a block over
            // 1 KiB, which mimalloc serves on its slow path.
            list.reserve_exact(list.len().max(2));
        }
        list.push(Media::new(kind, port, num_ports, proto));
        if self.mode != Mode::Light {
            if let Some(m) = self.sdp.media.last_mut() {
                m.formats = formats.take(MAX_FORMATS).collect();
            }
        }
        self.scope = Scope::Media;
    }

    /// `a=<name>[:<value>]`, in the scope of the line before; counted against
    /// [`MAX_ATTRIBUTES`].
    fn attribute(&mut self, value: &'a str, line_no: usize) {
        if self.scope == Scope::Skipped {
            return;
        }
        self.attr_count += 1;
        if self.attr_count > MAX_ATTRIBUTES {
            if self.attr_count == MAX_ATTRIBUTES + 1 {
                self.issue(line_no, SdpIssueKind::TooManyAttributes);
            }
            return;
        }
        let (name, val) = match value.split_once_byte(b':') {
            Some((n, v)) => (n, Some(v)),
            None => (value, None),
        };
        if name.is_empty() {
            return self.issue(line_no, SdpIssueKind::BadAttribute);
        }
        let ok = match (self.mode, self.scope, self.sdp.media.last_mut()) {
            // Light: only the media's rtpmaps, and a malformed one is no issue.
            (Mode::Light, Scope::Media, Some(m)) => {
                if let Some(r) = val.filter(|_| name == "rtpmap").and_then(parse_rtpmap) {
                    m.rtpmap.push(r);
                }
                true
            }
            (Mode::Light, _, _) => true,
            (mode, Scope::Media, Some(m)) => {
                media_attribute(m, &mut self.sdp.ice_ufrag, name, val, mode == Mode::Full)
            }
            (_, Scope::Media, None) => true,
            (mode, _, _) => session_attribute(self.sdp, name, val, mode == Mode::Full),
        };
        if !ok {
            self.issue(line_no, SdpIssueKind::BadAttribute);
        }
    }
}

/// Session-level attribute; false if a known attribute is malformed. `all`: every attribute
/// ([`Mode::Full`]); else only what media lines hold (direction and fingerprint).
fn session_attribute<'a>(
    sdp: &mut Sdp<'a>,
    name: &'a str,
    val: Option<&'a str>,
    all: bool,
) -> bool {
    if all {
        sdp.attributes.push((name, attribute_value(name, val)));
    }
    if let Some(d) = Direction::parse(name) {
        sdp.direction = Some(d);
        return true;
    }
    match (name, val) {
        ("fingerprint", Some(v)) => match parse_fingerprint(v) {
            Some(f) => sdp.fingerprint = Some(f),
            None => return false,
        },
        _ if !all => {}
        ("setup", Some(v)) => sdp.setup = Some(v.trim_ws()),
        ("ice-ufrag", _) => sdp.ice_ufrag = true,
        _ => {}
    }
    true
}

/// Media-level attribute; false if a known attribute is malformed. `all`: every attribute
/// ([`Mode::Full`]); else only what media lines hold (direction, rtpmap, crypto, fingerprint,
/// rtcp-mux, zrtp-hash).
fn media_attribute<'a>(
    m: &mut Media<'a>,
    ice_ufrag: &mut bool,
    name: &'a str,
    val: Option<&'a str>,
    all: bool,
) -> bool {
    if all {
        m.attributes.push((name, attribute_value(name, val)));
    }
    if let Some(d) = Direction::parse(name) {
        m.direction = Some(d);
        return true;
    }
    match (name, val) {
        ("rtpmap", Some(v)) => match parse_rtpmap(v) {
            Some(r) => m.rtpmap.push(r),
            None => return false,
        },
        ("crypto", Some(v)) => match parse_crypto(v) {
            Some(c) => m.crypto.push(c),
            None => return false,
        },
        ("fingerprint", Some(v)) => match parse_fingerprint(v) {
            Some(f) => m.fingerprint = Some(f),
            None => return false,
        },
        ("rtcp-mux", _) => m.rtcp_mux = true,
        ("zrtp-hash", _) => m.zrtp_hash = true,
        _ if !all => {}
        ("setup", Some(v)) => m.setup = Some(v.trim_ws()),
        ("rtcp", Some(v)) => match parse_rtcp(v) {
            Some(r) => m.rtcp = Some(r),
            None => return false,
        },
        ("ice-ufrag", _) => {
            m.ice_ufrag = true;
            *ice_ufrag = true;
        }
        ("ptime", Some(v)) => {
            let int = v.trim_ws().split('.').next().unwrap_or("");
            match digits(int) {
                Some(p) => m.ptime = Some(p),
                None => return false,
            }
        }
        _ => {}
    }
    true
}

/// Copy of an SDP text with secrets replaced so it can be shown safely:
/// `inline:<key-info>` in `a=crypto` lines becomes `inline:REDACTED`, the
/// payload of `a=key-mgmt` and the value of `a=ice-pwd` become `REDACTED`.
/// Line endings are preserved.
pub fn redact_crypto_keys(body: &str) -> String {
    let mut out = String::with_capacity(body.len());
    for line in body.split_inclusive('\n') {
        let content_end = line.trim_end_matches(['\r', '\n']).len();
        let (content, eol) = line.split_at(content_end);
        if let Some(v) = strip_prefix_ci(content, "a=crypto:") {
            out.push_str(&content[..content.len() - v.len()]);
            redact_crypto_value(v, &mut out);
        } else if let Some(v) = strip_prefix_ci(content, "a=key-mgmt:") {
            out.push_str(&content[..content.len() - v.len()]);
            let proto = v.split_whitespace().next().unwrap_or("");
            out.push_str(proto);
            out.push_str(" REDACTED");
        } else if strip_prefix_ci(content, "a=ice-pwd:").is_some() {
            out.push_str("a=ice-pwd:REDACTED");
        } else {
            out.push_str(content);
        }
        out.push_str(eol);
    }
    out
}

fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &s[prefix.len()..])
}

/// Replace every `<method>:<key-info>` key parameter (third field, `;`
/// separated) with `<method>:REDACTED`; other fields are copied.
fn redact_crypto_value(v: &str, out: &mut String) {
    let mut field = 0;
    let mut rest = v;
    while !rest.is_empty() {
        let ws_end = rest
            .find(|c: char| c != ' ' && c != '\t')
            .unwrap_or(rest.len());
        out.push_str(&rest[..ws_end]);
        rest = &rest[ws_end..];
        if rest.is_empty() {
            break;
        }
        let tok_end = rest.find([' ', '\t']).unwrap_or(rest.len());
        let tok = &rest[..tok_end];
        if field == 2 || tok.to_ascii_lowercase().contains("inline:") {
            for (i, kp) in tok.split(';').enumerate() {
                if i > 0 {
                    out.push(';');
                }
                match kp.split_once_byte(b':') {
                    Some((method, _)) => {
                        out.push_str(method);
                        out.push_str(":REDACTED");
                    }
                    None => out.push_str(kp),
                }
            }
        } else {
            out.push_str(tok);
        }
        field += 1;
        rest = &rest[tok_end..];
    }
}

#[cfg(test)]
mod light_tests {
    use super::*;

    fn media(s: &Sdp<'_>) -> (String, Vec<String>) {
        let per = s
            .media
            .iter()
            .map(|m| format!("{} {:?} {:?}", m.port, m.connection, m.rtpmap))
            .collect();
        (format!("{:?}", s.connection), per)
    }

    /// The light read finds the ports, connections and rtpmaps of the whole parse, through
    /// session and media connections, a bad and an excess m= line, bad rtpmaps, the attribute
    /// cap and bad UTF-8; and fails where it fails.
    /// What media lines hold of a parse: the session's connection, direction and fingerprint,
    /// and each media section's kind, port, protocol, formats, connection, rtpmaps, cryptos,
    /// fingerprint, direction, rtcp-mux and zrtp-hash.
    fn lines_of(s: &Sdp<'_>) -> String {
        let per: Vec<String> = s
            .media
            .iter()
            .map(|m| {
                format!(
                    "{} {} {} {:?} {:?} {:?} {:?} {:?} {:?} {} {}",
                    m.kind,
                    m.port,
                    m.proto,
                    m.formats,
                    m.connection,
                    m.rtpmap,
                    m.crypto,
                    m.fingerprint,
                    m.direction,
                    m.rtcp_mux,
                    m.zrtp_hash
                )
            })
            .collect();
        format!(
            "{:?} {:?} {:?} {per:?}",
            s.connection, s.direction, s.fingerprint
        )
    }

    /// The read for media lines keeps what the whole parse gives them, on the light read's
    /// bodies and on bodies of every attribute media lines hold, at session and media level,
    /// well-formed and malformed; and fails where it fails.
    #[test]
    fn the_lines_read_keeps_what_media_lines_hold_of_the_whole_parse() {
        let mut all = bodies();
        all.push(
            b"v=0\r\nc=IN IP4 10.0.0.1\r\na=sendonly\r\na=fingerprint:sha-256 AB:CD\r\n\
a=setup:actpass\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111 0\r\na=rtpmap:111 opus/48000/2\r\n\
a=rtcp-mux\r\na=zrtp-hash:1.10 fe30\r\na=recvonly\r\na=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:KEY\r\n\
a=crypto:bad\r\na=fingerprint:x\r\na=fingerprint:sha-1 00:11\r\na=ptime:abc\r\na=rtcp:x\r\n\
m=video 5000/2 RTP/SAVP 31\r\nc=IN IP6 ::1/3\r\na=inactive\r\na=ice-ufrag:x\r\n\
a=crypto:2 AES_CM_128_HMAC_SHA1_32 inline:\r\nm=image 6000 udptl t38\r\n"
                .to_vec(),
        );
        all.push(b"v=0\na=fingerprint:bad\nm=audio 4000 RTP/AVP 0 8\nz=x\n\xff=1\n".to_vec());
        for b in &all {
            agree(b, parse_sdp_lines, lines_of);
        }
        // The bodies exercise what is compared (a test that cannot fail is no test).
        let rich = parse_sdp_lines(&all[all.len() - 2]).expect("sdp");
        assert_eq!(rich.direction, Some(Direction::SendOnly));
        assert_eq!(rich.media.len(), 3);
        assert_eq!(rich.media[0].direction, Some(Direction::RecvOnly));
        assert!(rich.media[0].rtcp_mux && rich.media[0].zrtp_hash);
        assert_eq!(rich.media[0].crypto.len(), 1);
        assert_eq!(
            rich.media[0].fingerprint.map(|f| f.hash_func),
            Some("sha-1")
        );
        assert_eq!(rich.media[1].formats, ["31"]);
        assert!(rich.attributes.is_empty() && rich.media[0].attributes.is_empty());
    }

    proptest::proptest! {
        /// Bodies of the lines media lines and announcements read, well-formed or not, in any
        /// order: the reads for media lines and for announcements agree with the whole parse.
        #[test]
        fn the_partial_reads_agree_with_the_whole_parse(lines in proptest::collection::vec(
            proptest::prop_oneof![
                "c=IN IP[46] [0-9.:]{1,12}(/[0-9]{1,3})?",
                "m=(audio|video|image) [0-9]{1,6}(/[0-9])? (RTP/AVP|RTP/SAVP|udptl)( [0-9a-z]{1,3}){0,3}",
                "a=rtpmap:[0-9]{1,4} [a-zA-Z]{0,5}/[0-9]{0,6}(/[0-9]{1,2})?",
                "a=(sendrecv|sendonly|recvonly|inactive|rtcp-mux|zrtp-hash|ice-ufrag:x|setup:active)",
                "a=crypto:[0-9]{1,2} [A-Z_0-9]{1,8} (inline|uri):[a-z]{0,4}",
                "a=fingerprint:[a-z0-9-]{1,7}( [A-F0-9:]{1,8})?",
                "[a-z]=[ -~]{0,20}",
                // Odd lines: blank or white-space led, no `=` or one in the wrong place.
                "[ \t\u{0b}\u{0c}]{0,2}[acm=]{0,2}[ -~]{0,12}",
                "c=[ \t]{0,2}IN[ \t\u{0c}]{1,2}IP4[ \t]{1,2}/?[0-9.]{0,8}[ \t]{0,2}",
            ],
            0..24)) {
            let mut text = String::from("v=0\r\n");
            for l in &lines {
                text += l;
                text += "\r\n";
            }
            let full = parse_sdp(text.as_bytes()).expect("v=0 first");
            let part = parse_sdp_lines(text.as_bytes()).expect("v=0 first");
            proptest::prop_assert_eq!(lines_of(&full), lines_of(&part));
            let light = parse_sdp_media(text.as_bytes()).expect("v=0 first");
            proptest::prop_assert_eq!(media(&full), media(&light));
        }
    }

    fn bodies() -> Vec<Vec<u8>> {
        let mut bodies: Vec<Vec<u8>> = vec![
            b"v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0 8 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\na=sendrecv\r\n".to_vec(),
            b"v=0\nm=audio 4000 RTP/AVP 0\nc=IN IP4 10.0.0.2\na=rtpmap:0 PCMU/8000\nm=video 0 RTP/AVP 96\nm=audio x RTP/AVP 0\na=rtpmap:0 PCMU/8000\nm=audio 5000 RTP/AVP 8\na=rtpmap:8 bad\na=rtpmap:8 PCMA/8000\n".to_vec(),
            b"x=0\nm=audio 4000 RTP/AVP 0\n".to_vec(),
            b"\r\n \r\n".to_vec(),
            b"v=0\nc=IN IP6 ::1\nm=audio 4000 RTP/AVP 0\nrtpmap=1\nam=1\na=:x\na=rtpmap\n".to_vec(),
        ];
        let mut many = b"v=0\n".to_vec();
        for i in 0..(MAX_MEDIA + 3) {
            many.extend_from_slice(
                format!("m=audio {} RTP/AVP 0\na=rtpmap:0 PCMU/8000\n", 4000 + 2 * i).as_bytes(),
            );
        }
        bodies.push(many);
        let mut attrs = b"v=0\nm=audio 4000 RTP/AVP 0\n".to_vec();
        for _ in 0..(MAX_ATTRIBUTES + 2) {
            attrs.extend_from_slice(b"a=sendrecv\n");
        }
        attrs.extend_from_slice(b"a=rtpmap:0 PCMU/8000\n");
        bodies.push(attrs);
        let mut utf =
            b"v=0\nm=audio 4000 RTP/AVP 0\na=rtpmap:0 PCMU/8000 \xff\nc=IN IP4 10.0.0.9\n".to_vec();
        utf.push(b'\n');
        bodies.push(utf);
        bodies
    }

    /// A partial read of `b` gives what `seen` sees of the whole parse, or its error.
    fn agree<T: PartialEq + std::fmt::Debug>(
        b: &[u8],
        partial: fn(&[u8]) -> Result<Sdp<'_>, SdpError>,
        seen: fn(&Sdp<'_>) -> T,
    ) {
        match (parse_sdp(b), partial(b)) {
            (Ok(full), Ok(part)) => {
                assert_eq!(seen(&full), seen(&part), "{:?}", String::from_utf8_lossy(b))
            }
            (Err(x), Err(y)) => assert_eq!(x, y),
            (x, y) => panic!("{x:?} / {y:?}"),
        }
    }

    #[test]
    fn the_light_read_finds_the_media_of_the_whole_parse() {
        for b in &bodies() {
            agree(b, parse_sdp_media, media);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// RFC 4566 section 5 example.
    const RFC4566: &str = "v=0\r\n\
o=jdoe 2890844526 2890842807 IN IP4 10.47.16.5\r\n\
s=SDP Seminar\r\n\
i=A Seminar on the session description protocol\r\n\
u=http://www.example.com/seminars/sdp.pdf\r\n\
e=j.doe@example.com (Jane Doe)\r\n\
c=IN IP4 224.2.17.12/127\r\n\
t=2873397496 2873404696\r\n\
a=recvonly\r\n\
m=audio 49170 RTP/AVP 0\r\n\
m=video 51372 RTP/AVP 99\r\n\
a=rtpmap:99 h263-1998/90000\r\n";

    const KEY: &str = "WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz";

    fn rich() -> String {
        format!(
            "v=0\n\
o=- 4611731400430051336 2 IN IP6 2001:db8::1\n\
s=-\n\
c=IN IP6 2001:db8::1\n\
t=0 0\n\
a=fingerprint:sha-256 4A:AD:B9:B1:3F:82:18:3B:54:02:12:DF:3E:5D:49:6B:19:E5:7C:AB\n\
a=setup:actpass\n\
a=group:BUNDLE 0 1\n\
m=audio 9 UDP/TLS/RTP/SAVPF 111 0 8\n\
c=IN IP4 203.0.113.5\n\
a=rtcp:9 IN IP4 0.0.0.0\n\
a=ice-ufrag:EsAw\n\
a=ice-pwd:P2uYro0UCOQ4zxjKXaWCBui1\n\
a=rtcp-mux\n\
a=sendrecv\n\
a=rtpmap:111 opus/48000/2\n\
a=rtpmap:0 PCMU/8000\n\
a=ptime:20\n\
a=setup:active\n\
m=audio 49170 RTP/SAVP 0\n\
a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:{KEY}|2^20|1:32\n\
a=crypto:2 AES_CM_128_HMAC_SHA1_32 inline:{KEY};inline:{KEY}|2^20\n\
a=sendonly\n\
a=rtcp:53020\n\
a=zrtp-hash:1.10 fe30efd02423cb054e50efd0248742ac7a52c8f91bc2df881ae642c371ba46df\n\
a=key-mgmt:mikey AQAFgM0XflABAAAAAAAAAAAAAAsAyONQ6gAAAAAJAAAAAAAAAAAAAAAA\n\
m=video 0 RTP/AVP 31\n\
m=bogus notaport RTP/AVP 0\n\
a=rtpmap:0 should-be-ignored/8000\n\
m=image 6000 udptl t38\n\
a=ptime:abc\n"
        )
    }

    /// A part of a checked text is found in it where it starts and ends on character
    /// boundaries, and not otherwise; a slice from elsewhere is not.
    #[test]
    fn a_part_is_found_within_its_checked_text() {
        let text = "v=0\ns=é\n";
        let b = text.as_bytes();
        assert_eq!(within(text, b, &b[4..8]), Some("s=é"));
        assert_eq!(within(text, b, &b[6..7]), None, "inside a character");
        assert_eq!(within(text, b, &b[..0]), Some(""));
        let other = b"v=0".to_vec();
        assert_eq!(within(text, b, &other), None);
        // A body whose other line is not UTF-8 is read line by line, as before.
        let sdp = parse_sdp(b"v=0\nm=audio 4000 RTP/AVP 0\na=x:\xff\nc=IN IP4 10.0.0.1\n").unwrap();
        assert_eq!(sdp.media[0].connection.map(|c| c.addr), Some("10.0.0.1"));
        assert_eq!(sdp.issues.len(), 1);
        assert_eq!(sdp.issues[0].kind, SdpIssueKind::InvalidUtf8);
    }

    #[test]
    fn rfc4566_example() {
        let sdp = parse_sdp(RFC4566.as_bytes()).unwrap();
        let o = sdp.origin.unwrap();
        assert_eq!(o.username, "jdoe");
        assert_eq!(o.sess_id, "2890844526");
        assert_eq!(o.sess_version, "2890842807");
        assert_eq!(o.addr, "10.47.16.5");
        assert_eq!(sdp.session_name, Some("SDP Seminar"));
        let c = sdp.connection.unwrap();
        assert_eq!(
            (c.nettype, c.addrtype, c.addr),
            ("IN", "IP4", "224.2.17.12")
        );
        assert_eq!(sdp.direction, Some(Direction::RecvOnly));
        assert_eq!(sdp.attributes, vec![("recvonly", None)]);
        assert_eq!(sdp.media.len(), 2);
        let a = &sdp.media[0];
        assert_eq!((a.kind, a.port, a.proto), ("audio", 49170, "RTP/AVP"));
        assert_eq!(a.formats, vec!["0"]);
        assert_eq!(a.effective_connection(&sdp).unwrap().addr, "224.2.17.12");
        assert_eq!(a.effective_direction(&sdp), Direction::RecvOnly);
        assert!(!a.is_srtp() && a.is_rtp());
        let v = &sdp.media[1];
        assert_eq!(
            v.rtpmap,
            vec![RtpMap {
                pt: 99,
                encoding: "h263-1998",
                clock_rate: 90000,
                channels: None
            }]
        );
        assert!(sdp.issues.is_empty(), "{:?}", sdp.issues);
    }

    #[test]
    fn rich_sdp() {
        let text = rich();
        let sdp = parse_sdp(text.as_bytes()).unwrap();
        assert_eq!(sdp.connection.unwrap().addrtype, "IP6");
        assert_eq!(sdp.fingerprint.unwrap().hash_func, "sha-256");
        assert!(sdp.fingerprint.unwrap().value.starts_with("4A:AD"));
        assert_eq!(sdp.setup, Some("actpass"));
        assert!(sdp.ice_ufrag);
        assert_eq!(sdp.media.len(), 4, "bogus m= skipped");
        assert_eq!(
            sdp.issues,
            vec![
                SdpIssue {
                    line: 28,
                    kind: SdpIssueKind::BadMedia
                },
                SdpIssue {
                    line: 31,
                    kind: SdpIssueKind::BadAttribute
                },
            ]
        );

        let m0 = &sdp.media[0];
        assert_eq!(m0.formats, vec!["111", "0", "8"]);
        assert_eq!(m0.effective_connection(&sdp).unwrap().addr, "203.0.113.5");
        assert_eq!(m0.rtcp.unwrap().0, 9);
        assert_eq!(m0.rtcp.unwrap().1.unwrap().addr, "0.0.0.0");
        assert!(m0.rtcp_mux && m0.ice_ufrag);
        assert_eq!(m0.direction, Some(Direction::SendRecv));
        assert_eq!(m0.rtpmap[0].channels, Some(2));
        assert_eq!(m0.rtpmap[1].encoding, "PCMU");
        assert_eq!(m0.ptime, Some(20));
        assert_eq!(m0.setup, Some("active"));
        assert!(m0.is_srtp() && m0.is_dtls());
        assert_eq!(m0.effective_fingerprint(&sdp).unwrap().hash_func, "sha-256");
        assert!(m0.attributes.contains(&("ice-pwd", None)));

        let m1 = &sdp.media[1];
        assert!(m1.is_srtp() && !m1.is_dtls());
        assert_eq!(m1.crypto.len(), 2);
        assert_eq!(m1.crypto[0].tag, 1);
        assert_eq!(m1.crypto[0].suite, "AES_CM_128_HMAC_SHA1_80");
        assert_eq!(m1.crypto[0].key_method, "inline");
        assert!(m1.crypto[0].has_key);
        assert_eq!(m1.direction, Some(Direction::SendOnly));
        assert_eq!(m1.rtcp, Some((53020, None)));
        assert!(m1.zrtp_hash);
        assert_eq!(m1.effective_connection(&sdp).unwrap().addr, "2001:db8::1");
        assert_eq!(
            m1.attributes[0],
            ("crypto", Some("1 AES_CM_128_HMAC_SHA1_80 inline:"))
        );
        assert!(m1.attributes.contains(&("key-mgmt", Some("mikey"))));

        assert!(sdp.media[2].is_disabled());
        let img = &sdp.media[3];
        assert_eq!((img.kind, img.proto), ("image", "udptl"));
        assert!(img.rtpmap.is_empty());
        assert_eq!(img.ptime, None);

        // No secret anywhere in the parsed structure.
        let dbg = format!("{sdp:?}");
        assert!(!dbg.contains(KEY));
        assert!(!dbg.contains("P2uYro0UCOQ4zxjKXaWCBui1"));
        assert!(!dbg.contains("AQAFgM0Xfl"));
    }

    #[test]
    fn redaction() {
        let text = rich();
        let red = redact_crypto_keys(&text);
        assert!(!red.contains(KEY));
        assert!(!red.contains("P2uYro0UCOQ4zxjKXaWCBui1"));
        assert!(!red.contains("AQAFgM0Xfl"));
        assert!(red.contains("a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:REDACTED\n"));
        assert!(
            red.contains("a=crypto:2 AES_CM_128_HMAC_SHA1_32 inline:REDACTED;inline:REDACTED\n")
        );
        assert!(red.contains("a=key-mgmt:mikey REDACTED\n"));
        assert_eq!(red.lines().count(), text.lines().count());
        let crlf = "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:abc|2^20|1:32 KDR=1\r\nm=x\r\n";
        assert_eq!(
            redact_crypto_keys(crlf),
            "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:REDACTED KDR=1\r\nm=x\r\n"
        );
        assert_eq!(redact_crypto_keys("no sdp"), "no sdp");
        let parsed = parse_sdp(red.as_bytes()).unwrap();
        assert_eq!(parsed.media[1].crypto.len(), 2);
    }

    #[test]
    fn not_sdp_and_limits() {
        assert_eq!(parse_sdp(b""), Err(SdpError::Empty));
        assert_eq!(parse_sdp(b"\r\n\r\n"), Err(SdpError::Empty));
        assert_eq!(parse_sdp(b"<html>"), Err(SdpError::NotSdp));
        assert_eq!(parse_sdp(b"o=x\r\nv=0\r\n"), Err(SdpError::NotSdp));
        let sdp = parse_sdp(b"v=0\r\nbogus\r\nxx=1\r\no=short\r\nc=IN\r\n\xff\xfe\r\n").unwrap();
        let kinds: Vec<_> = sdp.issues.iter().map(|i| i.kind.as_str()).collect();
        assert_eq!(
            kinds,
            vec![
                "bad_line",
                "bad_line",
                "bad_origin",
                "bad_connection",
                "invalid_utf8"
            ]
        );

        let mut many = String::from("v=0\n");
        for i in 0..100 {
            many += &format!("m=audio {} RTP/AVP 0\na=sendrecv\n", 1000 + i);
        }
        let sdp = parse_sdp(many.as_bytes()).unwrap();
        assert_eq!(sdp.media.len(), MAX_MEDIA);
        assert!(sdp
            .issues
            .iter()
            .any(|i| i.kind == SdpIssueKind::TooManyMedia));
        assert_eq!(sdp.issues.len(), 1);

        let mut many = String::from("v=0\n");
        for i in 0..50 {
            many += &format!("m=audio {} RTP/AVP 0\n", 1000 + i);
            many += "a=sendrecv\na=ptime:20\na=rtcp-mux\na=x\na=y:1\na=z\n";
        }
        let sdp = parse_sdp(many.as_bytes()).unwrap();
        assert_eq!(sdp.media.len(), 50);
        let attrs: usize = sdp.media.iter().map(|m| m.attributes.len()).sum();
        assert_eq!(attrs, MAX_ATTRIBUTES);
        assert_eq!(sdp.issues.len(), 1);
        assert_eq!(sdp.issues[0].kind, SdpIssueKind::TooManyAttributes);
    }

    proptest! {
        #[test]
        fn any_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..2048)) {
            let _ = parse_sdp(&data);
            let mut v = b"v=0\n".to_vec();
            v.extend_from_slice(&data);
            let sdp = parse_sdp(&v).unwrap();
            prop_assert!(sdp.media.len() <= MAX_MEDIA);
            let s = String::from_utf8_lossy(&data);
            let _ = redact_crypto_keys(&s);
        }

        /// The hand-made number, word and rtpmap reads give what the standard library's
        /// `parse`, `split_ascii_whitespace` and `split` gave.
        #[test]
        fn hand_reads_are_the_standard_ones(v in prop_oneof![
            "[ \t0-9/a-zA-Z\u{a0}\u{0b}\u{0c}]{0,24}",
            "[ \t]?[0-9]{1,4}[ \t]{1,2}[a-zA-Z]{0,4}/[0-9 ]{0,7}(/[0-9]{0,3}(/[0-9]{0,2})?)?[ \t]?",
        ]) {
            fn std_digits(s: &str) -> Option<u16> {
                (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
                    .then(|| s.parse::<u16>().ok())
                    .flatten()
            }
            fn reference(v: &str) -> Option<RtpMap<'_>> {
                let (pt, rest) = v.trim_ws().split_once([' ', '\t'])?;
                let mut parts = rest.trim_ws().split('/');
                let encoding = parts.next().filter(|e| !e.is_empty())?;
                let clock_rate = std_digits(parts.next()?).map(u32::from)?;
                let channels = match parts.next() {
                    Some(c) => Some(std_digits(c)?),
                    None => None,
                };
                let pt = std_digits(pt).and_then(|n| u8::try_from(n).ok())?;
                Some(RtpMap { pt, encoding, clock_rate, channels })
            }
            for w in v.split(['/', ' ']) {
                prop_assert_eq!(digits::<u16>(w), std_digits(w));
                prop_assert_eq!(digits::<u8>(w), std_digits(w).and_then(|n| u8::try_from(n).ok()));
            }
            prop_assert_eq!(words(&v).collect::<Vec<_>>(), v.split_ascii_whitespace().collect::<Vec<_>>());
            // Clock rates over 65535 are read by both, but the reference here reads u16.
            let got = parse_rtpmap(&v).filter(|r| r.clock_rate <= 65535);
            prop_assert_eq!(got, reference(&v));
        }

        #[test]
        fn sdp_shaped_never_panic(lines in proptest::collection::vec(
            ("[vosicmat]", "[ -~]{0,40}"), 0..40)) {
            let mut text = String::from("v=0\r\n");
            for (t, v) in &lines {
                text += &format!("{t}={v}\r\n");
            }
            let sdp = parse_sdp(text.as_bytes()).unwrap();
            for m in &sdp.media {
                let _ = (m.effective_connection(&sdp), m.is_srtp(), m.is_dtls());
            }
            let red = redact_crypto_keys(&text);
            prop_assert_eq!(red.lines().count(), text.lines().count());
        }

        #[test]
        fn crypto_keys_never_survive(key in "[A-Za-z0-9+/]{16,40}", tag in 1u32..100) {
            let text = format!("v=0\r\nm=audio 1 RTP/SAVP 0\r\na=crypto:{tag} AES_CM_128_HMAC_SHA1_80 inline:{key}|2^20|1:4\r\n");
            let sdp = parse_sdp(text.as_bytes()).unwrap();
            let dbg = format!("{sdp:?}");
            prop_assert!(!dbg.contains(&key));
            prop_assert!(!redact_crypto_keys(&text).contains(&key));
            prop_assert_eq!(sdp.media[0].crypto[0].tag, tag);
        }
    }
}
