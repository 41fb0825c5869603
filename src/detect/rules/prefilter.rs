//! Fast patterns, as Suricata's multi-pattern matcher uses them: a rule whose buffer must
//! contain some bytes (a `content` that is not negated) cannot match a message whose buffer does
//! not, so one Aho-Corasick pass over a buffer rules out every rule whose pattern it lacks, and
//! the rule's own test (which decides) runs only on the few left. Each rule's longest such
//! content is its fast pattern; a buffer gets a pass when at least two rules have their pattern
//! in it (for one rule its own search is as cheap). Patterns are found ignoring ASCII case, a
//! superset of what `nocase` and exact contents match.
//!
//! A rule without a fast pattern usually tests a buffer's size (`bsize`/`len`, `absent`: the
//! shipped anomaly rules). Its size test is decided from a summary of the buffer (how many
//! instances, shortest and longest) made once per message, one pass over the headers for all
//! such rules, so a normal message rules them out without each reading the headers again.

use std::cell::RefCell;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};

use super::content::{LenOp, Match};
use super::matcher::Buffer;
use super::Rule;
use crate::sip::parser::HeaderName;
use crate::sip::View;

/// The fast patterns of one buffer.
struct BufferPatterns {
    buffer: Buffer,
    ac: AhoCorasick,
    /// The rule of each pattern (by pattern id).
    rule_of: Vec<u32>,
}

/// Every buffer's fast patterns, and which rules have one.
pub struct Prefilter {
    buffers: Vec<BufferPatterns>,
    /// For each rule: the index in `buffers` of its fast pattern's buffer, if it has one.
    slot: Vec<Option<u16>>,
    /// The buffers whose size some rule without a fast pattern tests (at most [`MAX_SIZED`]).
    sized: Vec<Buffer>,
    /// For each rule without a fast pattern: the index in `sized` of the buffer it tests and the
    /// test, if it makes one.
    size_test: Vec<Option<(u8, SizeTest)>>,
    /// The index in `sized` of each known header name ([`HeaderName::ordinal`]) that is one.
    sized_known: [Option<u8>; HeaderName::KNOWN],
    /// Sized headers without a known name, with their index in `sized`.
    sized_other: Vec<(String, u8)>,
}

/// A test on a buffer's size that a rule's group makes, necessary for the rule to match.
#[derive(Clone, Copy, Debug, PartialEq)]
enum SizeTest {
    /// The buffer is not in the message.
    Absent,
    /// Some instance has a length the operator accepts.
    Len(LenOp),
}

/// Sized buffers at most this many (the shipped rules test 11).
const MAX_SIZED: usize = 32;

/// A rule's first group that tests its buffer's size, and the test. (`absent` decides a group
/// whatever else it holds, as [`super::matcher::Group`] tests it.)
fn size_test(rule: &Rule) -> Option<(&Buffer, SizeTest)> {
    rule.groups().iter().find_map(|g| {
        if g.matches.iter().any(|m| matches!(m, Match::Absent)) {
            return Some((&g.buffer, SizeTest::Absent));
        }
        g.matches.iter().find_map(|m| match m {
            Match::Len(op) => Some((&g.buffer, SizeTest::Len(*op))),
            _ => None,
        })
    })
}

/// How many instances a buffer has in one message, and the shortest and longest.
#[derive(Clone, Copy, Debug)]
struct Sizes {
    count: u32,
    min: usize,
    max: usize,
}

impl Sizes {
    const NONE: Sizes = Sizes {
        count: 0,
        min: usize::MAX,
        max: 0,
    };

    fn add(&mut self, len: usize) {
        self.count += 1;
        self.min = self.min.min(len);
        self.max = self.max.max(len);
    }

    /// Whether the test can hold: exact for a buffer with one instance; with several, whether
    /// a length between the shortest and the longest would pass (never false when one does).
    fn may_pass(&self, test: SizeTest) -> bool {
        let (lo, hi) = (self.min, self.max);
        match test {
            SizeTest::Absent => self.count == 0,
            _ if self.count == 0 => false,
            SizeTest::Len(op) => match op {
                LenOp::Eq(n) => lo <= n && n <= hi,
                LenOp::Lt(n) => lo < n,
                LenOp::Le(n) => lo <= n,
                LenOp::Gt(n) => hi > n,
                LenOp::Ge(n) => hi >= n,
                LenOp::Between(a, b) => lo.max(a.saturating_add(1)) < b.min(hi.saturating_add(1)),
            },
        }
    }
}

impl Default for Prefilter {
    fn default() -> Prefilter {
        Prefilter::build(&[])
    }
}

impl std::fmt::Debug for Prefilter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Prefilter")
            .field("buffers", &self.buffers.len())
            .finish()
    }
}

/// A rule's longest non-negated content and the buffer it is in. (A group that asks for its
/// buffer to be absent holds without its contents, were the rule parser ever to allow both:
/// none of them is a fast pattern.)
fn fast_pattern(rule: &Rule) -> Option<(&Buffer, &[u8])> {
    rule.groups()
        .iter()
        .filter(|g| !g.matches.iter().any(|m| matches!(m, Match::Absent)))
        .flat_map(|g| {
            g.matches.iter().filter_map(move |m| match m {
                Match::Content(c) if !c.negated && !c.pattern.is_empty() => {
                    Some((&g.buffer, c.pattern.as_slice()))
                }
                _ => None,
            })
        })
        .max_by_key(|(_, p)| p.len())
}

/// A buffer's fast patterns as (rule, pattern).
type Patterns<'r> = Vec<(u32, &'r [u8])>;

/// Buffers at most this many: the marks of which were scanned fit one word.
const MAX_BUFFERS: usize = 64;

impl Prefilter {
    pub fn build(rules: &[Rule]) -> Prefilter {
        let mut by_buffer: Vec<(Buffer, Patterns<'_>)> = Vec::new();
        for (i, r) in rules.iter().enumerate() {
            let Some((buffer, pattern)) = fast_pattern(r) else {
                continue;
            };
            match by_buffer.iter_mut().find(|(b, _)| b == buffer) {
                Some((_, list)) => list.push((i as u32, pattern)),
                None => by_buffer.push((buffer.clone(), vec![(i as u32, pattern)])),
            }
        }
        let mut pf = Prefilter {
            buffers: Vec::new(),
            slot: vec![None; rules.len()],
            sized: Vec::new(),
            size_test: vec![None; rules.len()],
            sized_known: [None; HeaderName::KNOWN],
            sized_other: Vec::new(),
        };
        for (buffer, list) in by_buffer {
            if list.len() < 2 || pf.buffers.len() >= MAX_BUFFERS {
                continue;
            }
            let Ok(ac) = AhoCorasickBuilder::new()
                .ascii_case_insensitive(true)
                .match_kind(MatchKind::Standard)
                .build(list.iter().map(|(_, p)| p))
            else {
                continue; // too large to build: these rules are tested without a prefilter
            };
            let at = pf.buffers.len() as u16;
            for (rule, _) in &list {
                pf.slot[*rule as usize] = Some(at);
            }
            pf.buffers.push(BufferPatterns {
                buffer,
                ac,
                rule_of: list.iter().map(|(r, _)| *r).collect(),
            });
        }
        for (i, r) in rules.iter().enumerate() {
            if pf.slot[i].is_some() {
                continue;
            }
            let Some((buffer, test)) = size_test(r) else {
                continue;
            };
            // `sip.via` and `sip.header:Via` are one buffer: one summary, one table entry.
            let same = |b: &Buffer| match (b.header(), buffer.header()) {
                (Some(x), Some(y)) => x == y,
                _ => b == buffer,
            };
            let at = match pf.sized.iter().position(same) {
                Some(at) => at,
                None if pf.sized.len() < MAX_SIZED => {
                    pf.sized.push(buffer.clone());
                    pf.sized.len() - 1
                }
                None => continue, // tested without a prefilter
            };
            pf.size_test[i] = Some((at as u8, test));
        }
        for (at, b) in pf.sized.iter().enumerate() {
            match b.header() {
                Some(HeaderName::Other(name)) => pf.sized_other.push((name.to_string(), at as u8)),
                Some(known) => {
                    if let Some(o) = known.ordinal() {
                        pf.sized_known[o] = Some(at as u8);
                    }
                }
                None => {}
            }
        }
        pf
    }

    /// Buffers that get a pass.
    #[cfg(test)]
    pub(super) fn buffers(&self) -> usize {
        self.buffers.len()
    }
}

/// One message's prefilter state: which buffers were scanned, which rules' patterns were found,
/// and the sized buffers' summaries once made.
pub struct Found<'p> {
    pf: &'p Prefilter,
    scanned: u64,
    /// A bit per rule.
    bits: Vec<u64>,
    /// By index in `pf.sized`; empty until a rule asks.
    sizes: Vec<Sizes>,
}

thread_local! {
    /// The bits and sizes of the last message, reused (no allocation per message).
    static BITS: RefCell<(Vec<u64>, Vec<Sizes>)> = const { RefCell::new((Vec::new(), Vec::new())) };
}

impl<'p> Found<'p> {
    /// Run `f` with the prefilter state of one message (buffers scanned as rules ask).
    pub fn with<R>(pf: &'p Prefilter, f: impl FnOnce(&mut Found<'p>) -> R) -> R {
        let (mut bits, mut sizes) = BITS.with(|b| std::mem::take(&mut *b.borrow_mut()));
        bits.clear();
        bits.resize(pf.slot.len().div_ceil(64), 0);
        sizes.clear();
        let mut found = Found {
            pf,
            scanned: 0,
            bits,
            sizes,
        };
        let r = f(&mut found);
        BITS.with(|b| {
            *b.borrow_mut() = (
                std::mem::take(&mut found.bits),
                std::mem::take(&mut found.sizes),
            )
        });
        r
    }

    /// Summarise every sized buffer: the header ones in one pass over the headers, each header
    /// looked up by its name's ordinal.
    fn measure(&mut self, v: &View<'_, '_>) {
        let pf = self.pf;
        let sizes = &mut self.sizes;
        sizes.resize(pf.sized.len(), Sizes::NONE);
        let mut headers = false;
        for (at, b) in pf.sized.iter().enumerate() {
            if b.header().is_some() {
                headers = true;
            } else {
                let s = &mut sizes[at];
                b.any_instance(v, |inst| {
                    s.add(inst.len());
                    false
                });
            }
        }
        if !headers {
            return;
        }
        for h in &v.msg.headers {
            let at = match h.name {
                HeaderName::Other(name) => pf
                    .sized_other
                    .iter()
                    .find(|(n, _)| n.eq_ignore_ascii_case(name))
                    .map(|&(_, at)| at),
                known => known.ordinal().and_then(|o| pf.sized_known[o]),
            };
            if let Some(s) = at.and_then(|at| sizes.get_mut(usize::from(at))) {
                s.add(h.value.len());
            }
        }
    }

    /// Whether rule `i` may match: its fast pattern is in the message, or the size its buffer
    /// must have could be, or it has neither.
    pub fn may_match(&mut self, i: usize, v: &View<'_, '_>) -> bool {
        let Some(Some(slot)) = self.pf.slot.get(i).copied() else {
            let Some(Some((at, test))) = self.pf.size_test.get(i).copied() else {
                return true;
            };
            if self.sizes.is_empty() {
                self.measure(v);
            }
            return self
                .sizes
                .get(usize::from(at))
                .is_none_or(|s| s.may_pass(test));
        };
        let slot = usize::from(slot);
        if self.scanned & (1 << slot) == 0 {
            self.scanned |= 1 << slot;
            let bp = &self.pf.buffers[slot];
            let bits = &mut self.bits;
            bp.buffer.any_instance(v, |inst| {
                for m in bp.ac.find_overlapping_iter(inst) {
                    if let Some(&r) = bp.rule_of.get(m.pattern().as_usize()) {
                        if let Some(w) = bits.get_mut(r as usize / 64) {
                            *w |= 1 << (r % 64);
                        }
                    }
                }
                false
            });
        }
        self.bits
            .get(i / 64)
            .is_some_and(|w| w & (1 << (i % 64)) != 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::rules::RuleSet;

    fn set(text: &str) -> RuleSet {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("t.rules"), text).unwrap();
        RuleSet::load(dir.path()).unwrap()
    }

    #[test]
    fn the_longest_plain_content_is_the_fast_pattern_and_a_buffer_needs_two() {
        let rs = set(concat!(
            "alert sip any any -> any any (msg:\"a\"; sip.user_agent; content:\"ab\"; content:\"friendly\"; nocase; sid:1;)\n",
            "alert sip any any -> any any (msg:\"b\"; sip.user_agent; content:!\"zzzzzzzz\"; content:\"Sipsak\"; sid:2;)\n",
            "alert sip any any -> any any (msg:\"c\"; sip.call_id; content:\"only\"; sid:3;)\n",
            "alert sip any any -> any any (msg:\"d\"; sip.user_agent; content:!\"x\"; sid:4;)\n",
        ));
        let pf = Prefilter::build(rs.rules());
        assert_eq!(pf.buffers.len(), 1, "only the User-Agent has two patterns");
        assert_eq!(pf.slot, vec![Some(0), Some(0), None, None]);
        assert_eq!(fast_pattern(&rs.rules()[0]).unwrap().1, b"friendly");
        assert_eq!(fast_pattern(&rs.rules()[1]).unwrap().1, b"Sipsak");
    }

    /// On a normal message every shipped rule that tests only sizes is ruled out by the
    /// summary, not by its own test (what makes the prefilter worth having).
    #[test]
    fn a_normal_message_rules_out_every_size_rule() {
        let text = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("rules/sip.rules"),
        )
        .unwrap();
        let rs = set(&text);
        let pf = Prefilter::build(rs.rules());
        let sized: Vec<usize> = (0..rs.len())
            .filter(|&i| pf.size_test[i].is_some())
            .collect();
        assert!(
            sized.len() >= 15,
            "the anomaly rules have size tests ({sized:?})"
        );
        let wire =
            "INVITE sip:bob@example.com SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.9;branch=z9hG4bK-3\r\n\
                    To: <sip:bob@example.com>\r\nFrom: <sip:a@example.com>;tag=1\r\n\
                    Call-ID: a8\r\nCSeq: 1 INVITE\r\nContact: <sip:a@10.0.0.9>\r\n\
                    Content-Length: 0\r\n\r\n";
        let (msg, _) = crate::sip::parser::parse_message(wire.as_bytes()).unwrap();
        let view = View::with_raw(&msg, wire.as_bytes());
        Found::with(&pf, |found| {
            for &i in &sized {
                assert!(!found.may_match(i, &view), "rule {i} is not ruled out");
            }
        });
    }
}
