//! Typed views of SIP header values.
//!
//! Each parser takes a header value `&str` (as stored in
//! [`Header::value`](super::parser::Header)) and returns slices of it, so
//! nothing is copied. Parsers return `None` on malformed input instead of
//! guessing. Secrets (URI passwords, digest responses, cnonces) are never
//! kept in the returned structs.

use super::method::Method;
use crate::sip::text::{find_any, Find, Trim};

/// RFC 3261 `token` character: one table lookup (every header name and many values are
/// walked byte by byte through this).
#[inline]
pub(crate) fn is_token_char(b: u8) -> bool {
    TOKEN_CHARS[usize::from(b)]
}

/// `TOKEN_CHARS[b]`: alphanumeric or one of `-.!%*_+`'~`.
static TOKEN_CHARS: [bool; 256] = alphanumeric_and(b"-.!%*_+`'~");

/// A byte table: ASCII letters and digits, and the bytes of `extra`.
const fn alphanumeric_and(extra: &[u8]) -> [bool; 256] {
    let mut t = [false; 256];
    let mut b = 0usize;
    while b < 256 {
        t[b] = (b as u8).is_ascii_alphanumeric();
        b += 1;
    }
    let mut i = 0;
    while i < extra.len() {
        t[extra[i] as usize] = true;
        i += 1;
    }
    t
}

#[inline]
fn is_token(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(is_token_char)
}

/// Host name / IPv4 / IPv6 (inside brackets) character.
#[inline]
fn is_host_char(b: u8) -> bool {
    HOST_CHARS[usize::from(b)]
}

/// The bytes of a host (name, IPv4, IPv6 without brackets, `%` zone), as a table.
static HOST_CHARS: [bool; 256] = alphanumeric_and(b"-._:%");

/// Digits only (no sign, no spaces after trimming), as u32.
pub(crate) fn parse_u32_digits(s: &str) -> Option<u32> {
    parse_usize_digits(s).and_then(|n| u32::try_from(n).ok())
}

/// Digits only, as u16.
pub fn parse_u16_digits(s: &str) -> Option<u16> {
    parse_u32_digits(s).and_then(|n| u16::try_from(n).ok())
}

/// Digits only, as usize (overflow -> None).
pub(crate) fn parse_usize_digits(s: &str) -> Option<usize> {
    ascii_digits(s.trim_ws()).and_then(|n| usize::try_from(n).ok())
}

/// ASCII digits only, at least one, no sign or white space: what `str::parse` gives for such
/// text, accumulated by hand (without its sign handling and error building); `None` for any
/// other byte or an overflow.
pub(crate) fn ascii_digits(s: &str) -> Option<u64> {
    if s.is_empty() {
        return None;
    }
    s.bytes().try_fold(0u64, |n, b| {
        let d = b.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        n.checked_mul(10)?.checked_add(u64::from(d))
    })
}

/// Index of the closing quote of a quoted string starting at `s[0] == '"'`,
/// honouring backslash escapes.
fn quoted_end(s: &[u8]) -> Option<usize> {
    let mut i = 1;
    while let Some(&b) = s.get(i) {
        match b {
            b'\\' => i += 2,
            b'"' => return Some(i),
            _ => i += 1,
        }
    }
    None
}

/// Remove surrounding quotes, if any (escapes are left as sent).
fn unquote(s: &str) -> &str {
    s.strip_prefix('"')
        .and_then(|r| r.strip_suffix('"'))
        .unwrap_or(s)
}

/// Splits on `sep` outside quoted strings and `<...>` (a URI may contain
/// `,` or `;` inside angle brackets).
#[derive(Debug, Clone)]
pub(crate) struct SplitTop<'a> {
    rest: Option<&'a str>,
    sep: u8,
}

impl<'a> Iterator for SplitTop<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        let s = self.rest?;
        let b = s.as_bytes();
        let mut i = 0;
        let mut in_angle = false;
        // Jump between the bytes that matter (memchr): outside `<...>` the separator, a quote
        // or `<`; inside, a quote or `>`. A fifth of the time of copying a message's fields
        // was this loop going byte by byte.
        loop {
            let rest = b.get(i..).unwrap_or_default();
            let found = if in_angle {
                find_any(rest, [b'"', b'>'])
            } else {
                find_any(rest, [self.sep, b'"', b'<'])
            };
            let Some(off) = found else { break };
            i += off;
            match b[i] {
                b'"' => match quoted_end(&b[i..]) {
                    Some(e) => i += e,
                    None => break,
                },
                b'<' => in_angle = true,
                b'>' => in_angle = false,
                _ => {
                    self.rest = Some(&s[i + 1..]);
                    return Some(&s[..i]);
                }
            }
            i += 1;
        }
        self.rest = None;
        Some(s)
    }
}

/// Split a header value on top-level `sep` (`,` between values, `;` between
/// params). Empty pieces (e.g. `a,,b`) are yielded trimmed-empty; callers skip them.
pub(crate) fn split_top(s: &str, sep: u8) -> SplitTop<'_> {
    debug_assert!(!matches!(sep, b'"' | b'<' | b'>'), "separator {sep}");
    SplitTop { rest: Some(s), sep }
}

/// Look up `name` in a raw `;a=b;c` parameter list (case-insensitive name).
/// Flag params (no `=`) give `Some("")`; quoted values are unquoted.
pub fn find_param<'a>(params: &'a str, name: &str) -> Option<&'a str> {
    params_of(params).find_map(|(n, v)| n.eq_ignore_ascii_case(name).then_some(v))
}

/// Each `;name[=value]` parameter as (name, value): trimmed, the value unquoted, `""` for a
/// flag.
fn params_of(params: &str) -> impl Iterator<Item = (&str, &str)> {
    split_top(params, b';').map(|p| {
        let p = p.trim_ws();
        let (n, v) = p.split_once_byte(b'=').unwrap_or((p, ""));
        (n.trim_ws(), unquote(v.trim_ws()))
    })
}

/// `host[:port]` or `[v6]:port`; host returned without brackets.
fn parse_hostport(s: &str) -> Option<(&str, Option<u16>)> {
    let s = s.trim_ws();
    let (host, port) = if let Some(r) = s.strip_prefix('[') {
        let end = r.find_byte(b']')?;
        let host = &r[..end];
        let after = &r[end + 1..];
        let port = match after {
            "" => None,
            p => Some(parse_u16_digits(p.strip_prefix(':')?)?),
        };
        (host, port)
    } else {
        // One walk: the host's bytes up to the first colon, each checked as it is passed.
        let b = s.as_bytes();
        let end = b
            .iter()
            .position(|&c| c == b':' || !is_host_char(c))
            .unwrap_or(b.len());
        let port = match b.get(end) {
            None => None,
            Some(b':') => Some(parse_u16_digits(&s[end + 1..])?),
            Some(_) => return None,
        };
        if end == 0 {
            return None;
        }
        return Some((&s[..end], port));
    };
    if host.is_empty() || !host.bytes().all(is_host_char) {
        return None;
    }
    Some((host, port))
}

/// A `sip:`, `sips:` or `tel:` URI.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SipUri<'a> {
    /// Scheme as sent (`sip`, `sips`, `tel`, any case).
    pub scheme: &'a str,
    /// User part without password; for `tel:` the number.
    pub user: Option<&'a str>,
    /// Host without IPv6 brackets; empty for `tel:`.
    pub host: &'a str,
    pub port: Option<u16>,
    /// Raw URI parameters including the leading `;` (empty if none).
    pub params: &'a str,
}

impl<'a> SipUri<'a> {
    /// URI parameter by name (case-insensitive); flags give `Some("")`.
    pub fn param(&self, name: &str) -> Option<&'a str> {
        find_param(self.params, name)
    }

    /// True for `sips:`.
    pub fn is_secure(&self) -> bool {
        self.scheme.eq_ignore_ascii_case("sips")
    }
}

/// Parse a `sip:`/`sips:`/`tel:` URI; other schemes give `None`.
/// A password in the userinfo (`sip:user:pw@host`) is dropped.
pub fn parse_uri(s: &str) -> Option<SipUri<'_>> {
    let s = s.trim_ws();
    let (scheme, rest) = s.split_once_byte(b':')?;
    if scheme.eq_ignore_ascii_case("tel") {
        let end = rest.find_byte(b';').unwrap_or(rest.len());
        let number = rest[..end].trim_ws();
        if number.is_empty() {
            return None;
        }
        return Some(SipUri {
            scheme,
            user: Some(number),
            host: "",
            port: None,
            params: &rest[end..],
        });
    }
    if !(scheme.eq_ignore_ascii_case("sip") || scheme.eq_ignore_ascii_case("sips")) {
        return None;
    }
    let (user, hostpart) = match rest.find_byte(b'@') {
        Some(at) => {
            let userinfo = &rest[..at];
            let user = userinfo.split_once_byte(b':').map_or(userinfo, |(u, _)| u);
            ((!user.is_empty()).then_some(user), &rest[at + 1..])
        }
        None => (None, rest),
    };
    let hp_end = find_any(hostpart.as_bytes(), [b';', b'?']).unwrap_or(hostpart.len());
    let (host, port) = parse_hostport(&hostpart[..hp_end])?;
    let tail = &hostpart[hp_end..];
    let params = if tail.starts_with(';') {
        &tail[..tail.find_byte(b'?').unwrap_or(tail.len())]
    } else {
        ""
    };
    Some(SipUri {
        scheme,
        user,
        host,
        port,
        params,
    })
}

/// `name-addr` or `addr-spec` with header parameters (From, To, Contact,
/// P-Asserted-Identity, Refer-To, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NameAddr<'a> {
    /// Display name without surrounding quotes (escapes left as sent).
    pub display: Option<&'a str>,
    pub uri: SipUri<'a>,
    /// `tag` header parameter.
    pub tag: Option<&'a str>,
    /// Raw header parameters after the URI, leading `;` included.
    pub params: &'a str,
}

impl<'a> NameAddr<'a> {
    /// Header parameter by name (case-insensitive).
    pub fn param(&self, name: &str) -> Option<&'a str> {
        find_param(self.params, name)
    }
}

/// Parse one name-addr / addr-spec value. Both
/// `"Alice" <sip:alice@h;transport=udp>;tag=x` and `sip:alice@h;tag=x`
/// (where `;tag` belongs to the header, RFC 3261 20) are accepted.
pub fn parse_name_addr(s: &str) -> Option<NameAddr<'_>> {
    let (display, uri, params) = parse_addr(s)?;
    Some(NameAddr {
        display,
        uri,
        tag: find_param(params, "tag"),
        params,
    })
}

/// [`parse_name_addr`] without looking for the tag: the display name, the URI and the raw
/// parameters (`None` exactly where `parse_name_addr` gives none).
pub fn parse_addr(s: &str) -> Option<(Option<&str>, SipUri<'_>, &str)> {
    let s = s.trim_ws();
    let (display, r) = if s.starts_with('"') {
        let end = quoted_end(s.as_bytes())?;
        (Some(&s[1..end]), s[end + 1..].trim_ws_start())
    } else if let Some(lt) = s.find_byte(b'<') {
        let d = s[..lt].trim_ws();
        ((!d.is_empty()).then_some(d), &s[lt..])
    } else {
        let end = s.find_byte(b';').unwrap_or(s.len());
        let uri = parse_uri(&s[..end])?;
        return Some((None, uri, &s[end..]));
    };
    let inner = r.strip_prefix('<')?;
    let gt = inner.find_byte(b'>')?;
    let uri = parse_uri(&inner[..gt])?;
    Some((display, uri, inner[gt + 1..].trim_ws_start()))
}

/// One Via value (`SIP/2.0/UDP host:port;branch=...`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Via<'a> {
    /// `SIP/2.0`.
    pub protocol: &'a str,
    /// UDP, TCP, TLS, WS, WSS, SCTP, ...
    pub transport: &'a str,
    /// Sent-by host without IPv6 brackets.
    pub host: &'a str,
    pub port: Option<u16>,
    pub branch: Option<&'a str>,
    pub received: Option<&'a str>,
    /// `None`: absent; `Some(None)`: bare `rport` flag; `Some(Some(p))`: filled in.
    pub rport: Option<Option<u16>>,
    /// Raw parameters, leading `;` included.
    pub params: &'a str,
}

impl<'a> Via<'a> {
    /// Via parameter by name (case-insensitive).
    pub fn param(&self, name: &str) -> Option<&'a str> {
        find_param(self.params, name)
    }

    /// RFC 3261 branch (magic cookie `z9hG4bK`).
    pub fn has_rfc3261_branch(&self) -> bool {
        self.branch.is_some_and(|b| b.starts_with("z9hG4bK"))
    }
}

/// Parse one Via value (split comma-separated values first). LWS around
/// `/` is allowed.
pub fn parse_via(s: &str) -> Option<Via<'_>> {
    let s = s.trim_ws();
    let (name, r) = s.split_once_byte(b'/')?;
    let (version, r) = r.split_once_byte(b'/')?;
    let (name, version) = (name.trim_ws(), version.trim_ws());
    if !is_token(name) || !is_token(version) {
        return None;
    }
    let r = r.trim_ws_start();
    // A byte search: the first byte that is not a token's (a non-ASCII one included) follows
    // ASCII only, so it starts a character.
    let t_end = r.bytes().position(|b| !is_token_char(b)).unwrap_or(r.len());
    let transport = &r[..t_end];
    if transport.is_empty() {
        return None;
    }
    // "SIP/2.0" as a contiguous slice when sent without LWS.
    let proto_raw = &s[..s.len() - r.len()];
    let proto_raw = proto_raw.trim_ws_end().trim_end_matches('/').trim_ws_end();
    let protocol = if proto_raw.len() == name.len() + 1 + version.len() {
        proto_raw
    } else if name.eq_ignore_ascii_case("SIP") && version == "2.0" {
        "SIP/2.0"
    } else {
        name
    };
    let r = &r[t_end..];
    let sb_end = find_any(r.as_bytes(), [b';', b'(']).unwrap_or(r.len());
    let (host, port) = parse_hostport(&r[..sb_end])?;
    let tail = &r[sb_end..];
    let params = match tail.find_byte(b';') {
        Some(p) => tail[p..].trim_ws_end(),
        None => "",
    };
    // One pass for the three parameters (the first of each, as `find_param` finds it).
    let (mut branch, mut received, mut rport) = (None, None, None);
    for (n, v) in params_of(params) {
        let slot = if n.eq_ignore_ascii_case("branch") {
            &mut branch
        } else if n.eq_ignore_ascii_case("received") {
            &mut received
        } else if n.eq_ignore_ascii_case("rport") {
            &mut rport
        } else {
            continue;
        };
        if slot.is_none() {
            *slot = Some(v);
        }
    }
    Some(Via {
        protocol,
        transport,
        host,
        port,
        branch,
        received,
        rport: rport.map(parse_u16_digits),
        params,
    })
}

/// CSeq value: sequence number and method.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CSeq<'a> {
    pub seq: u32,
    pub method: Method<'a>,
}

/// Parse `1*DIGIT LWS Method`.
pub fn parse_cseq(s: &str) -> Option<CSeq<'_>> {
    let s = s.trim_ws();
    let (num, method) = s.split_once([' ', '\t'])?;
    let method = method.trim_ws();
    if !is_token(method) {
        return None;
    }
    Some(CSeq {
        seq: parse_u32_digits(num)?,
        method: Method::parse(method),
    })
}

/// `name=value` pairs of an auth header, comma-separated; quoted values
/// are returned without quotes. Stops at the first malformed item.
struct AuthParams<'a> {
    rest: &'a str,
}

impl<'a> Iterator for AuthParams<'a> {
    type Item = (&'a str, &'a str);

    fn next(&mut self) -> Option<(&'a str, &'a str)> {
        let s = self.rest.trim_start_matches([',', ' ', '\t', '\r', '\n']);
        let n_end = s
            .find(|c: char| !(c.is_ascii() && is_token_char(c as u8)))
            .unwrap_or(s.len());
        if n_end == 0 {
            self.rest = "";
            return None;
        }
        let name = &s[..n_end];
        let r = s[n_end..].trim_ws_start();
        let Some(r) = r.strip_prefix('=') else {
            // Bare token (e.g. Basic credentials): value-less item.
            self.rest = r;
            return Some((name, ""));
        };
        let r = r.trim_ws_start();
        if r.starts_with('"') {
            let Some(end) = quoted_end(r.as_bytes()) else {
                self.rest = "";
                return None;
            };
            self.rest = &r[end + 1..];
            Some((name, &r[1..end]))
        } else {
            let v_end = r.find([',', ' ', '\t']).unwrap_or(r.len());
            self.rest = &r[v_end..];
            Some((name, &r[..v_end]))
        }
    }
}

/// Split `Scheme params...` into scheme and the param iterator.
fn auth_scheme(s: &str) -> Option<(&str, AuthParams<'_>)> {
    let s = s.trim_ws();
    let end = s.find([' ', '\t']).unwrap_or(s.len());
    let scheme = &s[..end];
    if !is_token(scheme) {
        return None;
    }
    Some((scheme, AuthParams { rest: &s[end..] }))
}

/// Authorization / Proxy-Authorization credentials, with secrets removed:
/// only whether a nonce and a response were present is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Credentials<'a> {
    pub scheme: &'a str,
    pub username: Option<&'a str>,
    pub realm: Option<&'a str>,
    pub uri: Option<&'a str>,
    pub algorithm: Option<&'a str>,
    pub has_nonce: bool,
    pub has_response: bool,
}

/// Parse credentials (`Digest username="..", ...`). The response, cnonce
/// and any Basic token are never stored.
pub fn parse_credentials(s: &str) -> Option<Credentials<'_>> {
    let (scheme, params) = auth_scheme(s)?;
    let mut c = Credentials {
        scheme,
        username: None,
        realm: None,
        uri: None,
        algorithm: None,
        has_nonce: false,
        has_response: false,
    };
    for (n, v) in params.take(64) {
        if n.eq_ignore_ascii_case("username") {
            c.username = Some(v);
        } else if n.eq_ignore_ascii_case("realm") {
            c.realm = Some(v);
        } else if n.eq_ignore_ascii_case("uri") {
            c.uri = Some(v);
        } else if n.eq_ignore_ascii_case("algorithm") {
            c.algorithm = Some(v);
        } else if n.eq_ignore_ascii_case("nonce") {
            c.has_nonce = true;
        } else if n.eq_ignore_ascii_case("response") {
            c.has_response = true;
        }
    }
    Some(c)
}

/// WWW-Authenticate / Proxy-Authenticate challenge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Challenge<'a> {
    pub scheme: &'a str,
    pub realm: Option<&'a str>,
    pub has_nonce: bool,
    pub algorithm: Option<&'a str>,
    /// Raw qop list, e.g. `auth,auth-int`.
    pub qop: Option<&'a str>,
    pub stale: bool,
    /// A stable hash of the nonce (FNV-1a): enough to see a nonce offered again, without
    /// keeping it.
    pub nonce_hash: Option<u64>,
}

/// Parse a challenge (`Digest realm="..", nonce="..", ...`).
pub fn parse_challenge(s: &str) -> Option<Challenge<'_>> {
    let (scheme, params) = auth_scheme(s)?;
    let mut c = Challenge {
        scheme,
        realm: None,
        has_nonce: false,
        algorithm: None,
        qop: None,
        stale: false,
        nonce_hash: None,
    };
    for (n, v) in params.take(64) {
        if n.eq_ignore_ascii_case("realm") {
            c.realm = Some(v);
        } else if n.eq_ignore_ascii_case("nonce") {
            c.has_nonce = true;
            c.nonce_hash = Some(crate::base::fasthash::fnv1a(v.as_bytes()));
        } else if n.eq_ignore_ascii_case("algorithm") {
            c.algorithm = Some(v);
        } else if n.eq_ignore_ascii_case("qop") {
            c.qop = Some(v);
        } else if n.eq_ignore_ascii_case("stale") {
            c.stale = v.eq_ignore_ascii_case("true");
        }
    }
    Some(c)
}

#[cfg(test)]
mod tests {
    /// One pass over a Via's parameters finds the first branch, received and rport, as a
    /// lookup of each does: repeated, mixed case, quoted, flags, empty.
    #[test]
    fn via_parameters_in_one_pass() {
        for v in [
            "SIP/2.0/UDP h;branch=z9hG4bK1;received=1.2.3.4;rport=5060",
            "SIP/2.0/UDP h;BRANCH=a;branch=b;Received=\"x\";rport;rport=7",
            "SIP/2.0/UDP h ; rport ; branch = z ; received",
            "SIP/2.0/UDP h;rport=99999;x=\"a;branch=q\";branch=r",
            "SIP/2.0/UDP h",
            "SIP/2.0/UDP h;;;",
        ] {
            let via = super::parse_via(v).unwrap();
            assert_eq!(via.branch, via.param("branch"), "{v}");
            assert_eq!(via.received, via.param("received"), "{v}");
            assert_eq!(
                via.rport,
                via.param("rport").map(super::parse_u16_digits),
                "{v}"
            );
        }
    }

    /// RFC 3261's token: the 62 alphanumerics and `-.!%*_+`'~`, nothing else.
    #[test]
    fn token_chars() {
        let all: String = (0..=255u8)
            .filter(|&b| super::is_token_char(b))
            .map(char::from)
            .collect();
        assert_eq!(
            all,
            "!%'*+-.0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_`abcdefghijklmnopqrstuvwxyz~"
        );
    }

    /// The byte-by-byte splitter [`super::SplitTop`] replaced, as the reference.
    fn split_top_reference(s: &str, sep: u8) -> Vec<&str> {
        let mut out = Vec::new();
        let mut rest = Some(s);
        while let Some(s) = rest {
            let b = s.as_bytes();
            let (mut i, mut in_angle) = (0, false);
            let mut piece = None;
            while let Some(&c) = b.get(i) {
                match c {
                    b'"' => match super::quoted_end(&b[i..]) {
                        Some(e) => i += e,
                        None => break,
                    },
                    b'<' => in_angle = true,
                    b'>' => in_angle = false,
                    _ if c == sep && !in_angle => {
                        piece = Some(i);
                        break;
                    }
                    _ => {}
                }
                i += 1;
            }
            match piece {
                Some(i) => {
                    out.push(&s[..i]);
                    rest = Some(&s[i + 1..]);
                }
                None => {
                    out.push(s);
                    rest = None;
                }
            }
        }
        out
    }

    #[test]
    fn split_top_agrees_with_the_byte_by_byte_reference() {
        // Every string of up to 6 bytes over the characters that matter, both separators.
        let alphabet = [b'a', b',', b';', b'"', b'<', b'>', b'\\'];
        let mut buf = Vec::new();
        let mut n = 0;
        for len in 0..=6u32 {
            for code in 0..alphabet.len().pow(len) {
                buf.clear();
                let mut c = code;
                for _ in 0..len {
                    buf.push(alphabet[c % alphabet.len()]);
                    c /= alphabet.len();
                }
                let s = std::str::from_utf8(&buf).unwrap();
                for sep in [b',', b';'] {
                    let got: Vec<&str> = super::split_top(s, sep).collect();
                    assert_eq!(got, split_top_reference(s, sep), "{s:?} on {}", sep as char);
                    n += 1;
                }
            }
        }
        assert!(n > 200_000);
    }

    use super::*;
    use proptest::prelude::*;

    #[test]
    fn uris() {
        let u = parse_uri("sip:alice:secret@atlanta.com:5061;transport=tcp;lr?subject=x").unwrap();
        assert_eq!(u.scheme, "sip");
        assert_eq!(u.user, Some("alice"));
        assert_eq!(u.host, "atlanta.com");
        assert_eq!(u.port, Some(5061));
        assert_eq!(u.params, ";transport=tcp;lr");
        assert_eq!(u.param("TRANSPORT"), Some("tcp"));
        assert_eq!(u.param("lr"), Some(""));
        assert_eq!(u.param("subject"), None);
        assert!(!format!("{u:?}").contains("secret"));

        let u = parse_uri("sips:[2001:db8::1]:5061").unwrap();
        assert!(u.is_secure());
        assert_eq!((u.host, u.port, u.user), ("2001:db8::1", Some(5061), None));

        let u = parse_uri("tel:+1-201-555-0123;phone-context=example.com").unwrap();
        assert_eq!(u.user, Some("+1-201-555-0123"));
        assert_eq!(u.host, "");
        assert_eq!(u.param("phone-context"), Some("example.com"));

        let u = parse_uri("sip:+15551234;phone-context=x@gw.example.com;user=phone").unwrap();
        assert_eq!(u.user, Some("+15551234;phone-context=x"));
        assert_eq!(u.host, "gw.example.com");
        assert_eq!(u.param("user"), Some("phone"));

        for bad in [
            "http://x",
            "sip:",
            "sip:a@",
            "sip:h:99999",
            "sip:h:+1",
            "sip:[::1",
            "sip:[::1]x",
            "sip:bad host",
            "nocolon",
            "tel:",
        ] {
            assert!(parse_uri(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn name_addrs() {
        let n =
            parse_name_addr("\"Alice \\\"Q\\\"\" <sip:alice@h;transport=udp>;tag=x;foo").unwrap();
        assert_eq!(n.display, Some("Alice \\\"Q\\\""));
        assert_eq!(n.uri.param("transport"), Some("udp"));
        assert_eq!(n.tag, Some("x"));
        assert_eq!(n.param("foo"), Some(""));

        let n = parse_name_addr("sip:alice@h;tag=x").unwrap();
        assert_eq!(n.display, None);
        assert_eq!(n.uri.host, "h");
        assert_eq!(n.uri.params, "");
        assert_eq!(n.tag, Some("x"));

        let n = parse_name_addr("<sip:alice@h>").unwrap();
        assert_eq!((n.display, n.tag), (None, None));

        let n = parse_name_addr("Bob Smith <tel:+123>;tag=9").unwrap();
        assert_eq!(n.display, Some("Bob Smith"));
        assert_eq!(n.uri.user, Some("+123"));

        assert!(parse_name_addr("*").is_none());
        assert!(parse_name_addr("\"unterminated <sip:a@b>").is_none());
        assert!(parse_name_addr("<sip:a@b").is_none());
        assert!(parse_name_addr("").is_none());
    }

    #[test]
    fn vias() {
        let v = parse_via(
            "SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK74bf9;received=198.51.100.1;rport=1234",
        )
        .unwrap();
        assert_eq!(v.protocol, "SIP/2.0");
        assert_eq!(v.transport, "UDP");
        assert_eq!((v.host, v.port), ("192.0.2.1", Some(5060)));
        assert!(v.has_rfc3261_branch());
        assert_eq!(v.received, Some("198.51.100.1"));
        assert_eq!(v.rport, Some(Some(1234)));
        let v = parse_via("SIP/2.0/WSS df7jal23ls0d.invalid;branch=z9hG4bKx;rport").unwrap();
        assert_eq!(v.transport, "WSS");
        assert_eq!(v.rport, Some(None));
        let v = parse_via("SIP/2.0/UDP [2001:db8::1]").unwrap();
        assert_eq!((v.host, v.port), ("2001:db8::1", None));
        assert!(parse_via("SIP/2.0/UDP").is_none());
        assert!(parse_via("SIP/2.0 host").is_none());
        assert!(parse_via("garbage").is_none());
    }

    #[test]
    fn cseqs() {
        let c = parse_cseq("  101   REGISTER ").unwrap();
        assert_eq!((c.seq, c.method), (101, Method::Register));
        assert!(parse_cseq("x INVITE").is_none());
        assert!(parse_cseq("1").is_none());
        assert!(parse_cseq("99999999999 INVITE").is_none());
        assert_eq!(parse_cseq("1 FOO").unwrap().method.as_str(), "FOO");
    }

    #[test]
    fn auth() {
        let c = parse_credentials("Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==").unwrap();
        assert_eq!(c.scheme, "Basic");
        assert!(!format!("{c:?}").contains("QWxh"));
        let c = parse_credentials("Digest username=\"a,b\" , realm=r,response=\"x\\\"y\"").unwrap();
        assert_eq!(c.username, Some("a,b"));
        assert_eq!(c.realm, Some("r"));
        assert!(c.has_response);
        assert!(parse_credentials("").is_none());
        let ch =
            parse_challenge("Digest realm=\"r\", nonce=\"n\", stale=TRUE, qop=\"auth\"").unwrap();
        assert!(ch.stale && ch.has_nonce);
        assert_eq!(ch.qop, Some("auth"));
        // Unterminated quote: stops, no panic.
        let ch = parse_challenge("Digest realm=\"r").unwrap();
        assert_eq!(ch.realm, None);
    }

    proptest! {
        #[test]
        fn typed_parsers_never_panic(s in "\\PC{0,80}") {
            let _ = (parse_uri(&s), parse_name_addr(&s), parse_via(&s), parse_cseq(&s),
                     parse_credentials(&s), parse_challenge(&s), find_param(&s, "tag"));
            let _: Vec<_> = split_top(&s, b',').collect();
        }

        /// The hand-rolled digit parsers give exactly what validating the digits and calling
        /// `str::parse` gave: the number, or `None` (empty, a sign, any other byte, overflow).
        #[test]
        fn digit_parsers_agree_with_str_parse(s in "[ \t]?[+0-9a]{0,25}[ \t]?") {
            let t = s.trim();
            let digits = !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
            prop_assert_eq!(parse_usize_digits(&s), t.parse::<usize>().ok().filter(|_| digits));
            prop_assert_eq!(parse_u32_digits(&s), t.parse::<u32>().ok().filter(|_| digits));
            prop_assert_eq!(parse_u16_digits(&s), t.parse::<u16>().ok().filter(|_| digits));
        }

        #[test]
        fn sip_like_strings_never_panic(s in "[\"<>;:@,=\\[\\] a-z0-9\\\\/]{0,60}") {
            let _ = (parse_uri(&s), parse_name_addr(&s), parse_via(&s),
                     parse_credentials(&s), parse_challenge(&s));
            let with_scheme = format!("sip:{s}");
            let _ = parse_uri(&with_scheme);
        }

        /// The host and port as splitting at the first colon and checking the host's bytes
        /// gave them.
        #[test]
        fn hostport_is_the_split_at_the_first_colon(s in "[ a-z0-9.:%\\[\\]_@;-]{0,24}") {
            let t = s.trim_ws();
            let want = if t.starts_with('[') {
                parse_hostport(&s)
            } else {
                let (host, port) = match t.split_once(':') {
                    Some((h, p)) => (h, parse_u16_digits(p).map(Some)),
                    None => (t, Some(None)),
                };
                port.filter(|_| !host.is_empty() && host.bytes().all(is_host_char))
                    .map(|p| (host, p))
            };
            prop_assert_eq!(parse_hostport(&s), want);
        }

        /// Without the tag, the same address: display name, URI and parameters.
        #[test]
        fn the_address_is_the_name_addr_without_its_tag(
            s in "[\"<>; :@=a-z0-9]{0,20}(sip:)?[\"<>;:@=a-z0-9]{0,30}",
        ) {
            prop_assert_eq!(
                parse_addr(&s),
                parse_name_addr(&s).map(|n| (n.display, n.uri, n.params))
            );
        }

        /// The same on name-addrs as stacks send them, each of which reads.
        #[test]
        fn well_formed_addresses_read_as_the_name_addr_does(
            s in "(\"[a-z ]{0,8}\" )?<sip:[a-z]{1,8}@[a-z]{1,8}(:[0-9]{1,4})?(;[a-z]{1,5}=[a-z0-9]{1,5}){0,2}>(;[a-z]{1,5}=[a-z0-9]{1,5}){0,3}",
        ) {
            let whole = parse_name_addr(&s);
            prop_assert!(whole.is_some(), "{}", s);
            prop_assert_eq!(parse_addr(&s), whole.map(|n| (n.display, n.uri, n.params)));
        }
    }
}
