//! Fast patterns, as Suricata's multi-pattern matcher uses them: a rule whose buffer must
//! contain some bytes (a `content` that is not negated) cannot match a message whose buffer does
//! not, so one Aho-Corasick pass over a buffer rules out every rule whose pattern it lacks, and
//! the rule's own test (which decides) runs only on the few left. Each rule's longest such
//! content is its fast pattern; a buffer gets a pass when at least two rules have their pattern
//! in it (for one rule its own search is as cheap). Patterns are found ignoring ASCII case, a
//! superset of what `nocase` and exact contents match.

use std::cell::RefCell;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};

use super::content::Match;
use super::matcher::Buffer;
use super::Rule;
use crate::sip::View;

/// The fast patterns of one buffer.
struct BufferPatterns {
    buffer: Buffer,
    ac: AhoCorasick,
    /// The rule of each pattern (by pattern id).
    rule_of: Vec<u32>,
}

/// Every buffer's fast patterns, and which rules have one.
#[derive(Default)]
pub struct Prefilter {
    buffers: Vec<BufferPatterns>,
    /// For each rule: the index in `buffers` of its fast pattern's buffer, if it has one.
    slot: Vec<Option<u16>>,
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
        pf
    }

    /// Buffers that get a pass.
    #[cfg(test)]
    pub(super) fn buffers(&self) -> usize {
        self.buffers.len()
    }
}

/// One message's prefilter state: which buffers were scanned, which rules' patterns were found.
pub struct Found<'p> {
    pf: &'p Prefilter,
    scanned: u64,
    /// A bit per rule.
    bits: Vec<u64>,
}

thread_local! {
    /// The bits of the last message, reused (no allocation per message).
    static BITS: RefCell<Vec<u64>> = const { RefCell::new(Vec::new()) };
}

impl<'p> Found<'p> {
    /// Run `f` with the prefilter state of one message (buffers scanned as rules ask).
    pub fn with<R>(pf: &'p Prefilter, f: impl FnOnce(&mut Found<'p>) -> R) -> R {
        let mut bits = BITS.with(|b| std::mem::take(&mut *b.borrow_mut()));
        bits.clear();
        bits.resize(pf.slot.len().div_ceil(64), 0);
        let mut found = Found {
            pf,
            scanned: 0,
            bits,
        };
        let r = f(&mut found);
        BITS.with(|b| *b.borrow_mut() = std::mem::take(&mut found.bits));
        r
    }

    /// Whether rule `i` may match: it has no fast pattern, or its pattern is in the message.
    pub fn may_match(&mut self, i: usize, v: &View<'_, '_>) -> bool {
        let Some(Some(slot)) = self.pf.slot.get(i).copied() else {
            return true;
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
}
