//! Sticky buffers (the parts of a SIP message a match looks at) and the matches themselves.

use regex::bytes::Regex;

use crate::sip::parser::HeaderName;
use crate::sip::View;

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

    /// Call `f` on every instance of this buffer in the message until it returns true;
    /// returns whether it did. Instances are borrowed from the message (the start line is
    /// rebuilt once per message); nothing is allocated per rule.
    pub(crate) fn any_instance(&self, v: &View<'_, '_>, mut f: impl FnMut(&[u8]) -> bool) -> bool {
        let msg = v.msg;
        let mut named = |name: HeaderName<'_>| {
            msg.headers
                .iter()
                .filter(|h| h.name == name)
                .any(|h| f(h.value.as_bytes()))
        };
        match self {
            Buffer::Uri => msg.request_uri().is_some_and(|u| f(u.as_bytes())),
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
            Buffer::UserAgent => msg
                .headers
                .iter()
                .filter(|h| h.name == HeaderName::UserAgent || h.name == HeaderName::Server)
                .any(|h| f(h.value.as_bytes())),
            Buffer::CallId => named(HeaderName::CallId),
            Buffer::Contact => named(HeaderName::Contact),
            Buffer::Via => named(HeaderName::Via),
            Buffer::Body => !msg.body.is_empty() && f(msg.body),
            Buffer::Header(name) => named(HeaderName::parse(name)),
            Buffer::StartLine => f(v.start_line()),
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
    pub(crate) fn test(&self, v: &View<'_, '_>) -> bool {
        if self.matches.iter().any(|m| matches!(m, Match::Absent)) {
            return !self.buffer.any_instance(v, |_| true);
        }
        self.buffer
            .any_instance(v, |i| self.matches.iter().all(|m| m.test(i)))
    }
}
