//! Sticky buffers (the parts of a SIP message a match looks at) and the matches themselves.

use std::borrow::Cow;

use regex::bytes::Regex;

use crate::sip::parser::{HeaderName, SipMessage, StartLine};
use crate::sip::{parse_name_addr, parse_uri};

/// A part of a SIP message. Some have several instances (every Via header, every
/// occurrence of a named header); a group matches when one instance satisfies all its matches.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Buffer {
    Uri,
    UriUser,
    UriHost,
    FromUser,
    FromHost,
    FromDisplay,
    ToUser,
    ToHost,
    UserAgent,
    CallId,
    Contact,
    Via,
    Body,
    /// Any header by name (compact forms and case folded by [`HeaderName::parse`]).
    Header(String),
    StartLine,
}

impl Buffer {
    /// The keyword for a buffer without argument (`sip.header` takes one and is handled apart).
    pub(crate) fn from_keyword(k: &str) -> Option<Buffer> {
        Some(match k {
            "sip.uri" => Buffer::Uri,
            "sip.uri_user" => Buffer::UriUser,
            "sip.uri_host" => Buffer::UriHost,
            "sip.from_user" => Buffer::FromUser,
            "sip.from_host" => Buffer::FromHost,
            "sip.from_display" => Buffer::FromDisplay,
            "sip.to_user" => Buffer::ToUser,
            "sip.to_host" => Buffer::ToHost,
            "sip.user_agent" => Buffer::UserAgent,
            "sip.call_id" => Buffer::CallId,
            "sip.contact" => Buffer::Contact,
            "sip.via" => Buffer::Via,
            "sip.body" => Buffer::Body,
            "sip.start_line" => Buffer::StartLine,
            _ => return None,
        })
    }

    /// Every instance of this buffer in `msg` (empty when absent).
    pub(crate) fn instances<'m>(&self, msg: &'m SipMessage<'_>) -> Vec<Cow<'m, [u8]>> {
        let b = |s: &'m str| Cow::Borrowed(s.as_bytes());
        let named = |name: HeaderName<'_>| -> Vec<Cow<'m, [u8]>> {
            msg.headers
                .iter()
                .filter(|h| h.name == name)
                .map(|h| Cow::Borrowed(h.value.as_bytes()))
                .collect()
        };
        let ruri = || msg.request_uri().and_then(parse_uri);
        let from = || msg.header(HeaderName::From).and_then(parse_name_addr);
        let to = || msg.header(HeaderName::To).and_then(parse_name_addr);
        match self {
            Buffer::Uri => msg.request_uri().map(b).into_iter().collect(),
            Buffer::UriUser => ruri().and_then(|u| u.user).map(b).into_iter().collect(),
            Buffer::UriHost => ruri()
                .map(|u| u.host)
                .filter(|h| !h.is_empty())
                .map(b)
                .into_iter()
                .collect(),
            Buffer::FromUser => from().and_then(|n| n.uri.user).map(b).into_iter().collect(),
            Buffer::FromHost => from()
                .map(|n| n.uri.host)
                .filter(|h| !h.is_empty())
                .map(b)
                .into_iter()
                .collect(),
            Buffer::FromDisplay => from().and_then(|n| n.display).map(b).into_iter().collect(),
            Buffer::ToUser => to().and_then(|n| n.uri.user).map(b).into_iter().collect(),
            Buffer::ToHost => to()
                .map(|n| n.uri.host)
                .filter(|h| !h.is_empty())
                .map(b)
                .into_iter()
                .collect(),
            Buffer::UserAgent => msg
                .headers
                .iter()
                .filter(|h| h.name == HeaderName::UserAgent || h.name == HeaderName::Server)
                .map(|h| Cow::Borrowed(h.value.as_bytes()))
                .collect(),
            Buffer::CallId => named(HeaderName::CallId),
            Buffer::Contact => named(HeaderName::Contact),
            Buffer::Via => named(HeaderName::Via),
            Buffer::Body => {
                if msg.body.is_empty() {
                    Vec::new()
                } else {
                    vec![Cow::Borrowed(msg.body)]
                }
            }
            Buffer::Header(name) => named(HeaderName::parse(name)),
            Buffer::StartLine => {
                let line = match &msg.start {
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
                };
                vec![Cow::Owned(line.into_bytes())]
            }
        }
    }
}

/// Comparison of `len`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LenOp {
    Eq,
    Lt,
    Gt,
}

/// One test on a buffer instance.
#[derive(Clone, Debug)]
pub enum Match {
    Content {
        /// The bytes to find (lowercased when `nocase`).
        pattern: Vec<u8>,
        negated: bool,
        nocase: bool,
        startswith: bool,
        endswith: bool,
        equals: bool,
    },
    Pcre {
        re: Regex,
        negated: bool,
    },
    Len {
        op: LenOp,
        n: usize,
    },
    /// The buffer is not present in the message at all.
    Absent,
}

fn eq_bytes(a: &[u8], b: &[u8], nocase: bool) -> bool {
    if nocase {
        a.eq_ignore_ascii_case(b)
    } else {
        a == b
    }
}

fn contains(hay: &[u8], pat: &[u8], nocase: bool) -> bool {
    if pat.is_empty() {
        return true;
    }
    if nocase {
        hay.windows(pat.len()).any(|w| w.eq_ignore_ascii_case(pat))
    } else {
        memchr::memmem::find(hay, pat).is_some()
    }
}

impl Match {
    /// Does this match hold for one present instance of its buffer?
    pub(crate) fn test(&self, buf: &[u8]) -> bool {
        match self {
            Match::Content {
                pattern,
                negated,
                nocase,
                startswith,
                endswith,
                equals,
            } => {
                let hit = if *equals || (*startswith && *endswith) {
                    eq_bytes(buf, pattern, *nocase)
                } else if *startswith {
                    buf.get(..pattern.len())
                        .is_some_and(|p| eq_bytes(p, pattern, *nocase))
                } else if *endswith {
                    buf.len()
                        .checked_sub(pattern.len())
                        .and_then(|s| buf.get(s..))
                        .is_some_and(|p| eq_bytes(p, pattern, *nocase))
                } else {
                    contains(buf, pattern, *nocase)
                };
                hit != *negated
            }
            Match::Pcre { re, negated } => re.is_match(buf) != *negated,
            Match::Len { op, n } => match op {
                LenOp::Eq => buf.len() == *n,
                LenOp::Lt => buf.len() < *n,
                LenOp::Gt => buf.len() > *n,
            },
            Match::Absent => false,
        }
    }
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
    pub(crate) fn test(&self, msg: &SipMessage<'_>) -> bool {
        let inst = self.buffer.instances(msg);
        if self.matches.iter().any(|m| matches!(m, Match::Absent)) {
            return inst.is_empty();
        }
        inst.iter()
            .any(|i| self.matches.iter().all(|m| m.test(i.as_ref())))
    }
}
