//! Suricata's content inspection of one buffer: `content` with its position modifiers
//! (`offset`, `depth`, `distance`, `within`, `startswith`, `endswith`), `pcre` (with `R`,
//! relative to the previous match), `isdataat` and `bsize`, in rule order, each relative match
//! anchored at the end of the one before it, backtracking over earlier matches as Suricata does
//! and, as it does, within a bounded number of steps so that no buffer can make a rule costly.

use regex::bytes::Regex;

/// Most match attempts one buffer instance may take for one rule (Suricata's
/// `inspection-recursion-limit` is 3000): past it the rule does not match.
pub const INSPECTION_BUDGET: u32 = 3000;

/// A `content` and its modifiers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Content {
    /// The bytes to find (lowercased when `nocase`).
    pub pattern: Vec<u8>,
    pub negated: bool,
    pub nocase: bool,
    /// `offset:N`: the match starts at or after byte N.
    pub offset: Option<u32>,
    /// `depth:N`: the match ends within N bytes of `offset`.
    pub depth: Option<u32>,
    /// `distance:N`: the match starts N bytes (may be negative) after the previous match's end.
    pub distance: Option<i32>,
    /// `within:N`: the match ends within N bytes of the previous match's end (plus distance).
    pub within: Option<u32>,
    /// Anchored at the buffer's start (`offset:0; depth:len`).
    pub startswith: bool,
    /// Anchored at the buffer's end.
    pub endswith: bool,
    /// The searcher of `pattern`, built at its first use (after the modifiers that change the
    /// pattern): building one per search cost more than the search on header-sized buffers.
    finder: Searcher,
}

/// A lazily built substring searcher; equal to any other (the pattern is what compares).
#[derive(Clone, Debug, Default)]
struct Searcher(std::sync::OnceLock<Box<memchr::memmem::Finder<'static>>>);

impl PartialEq for Searcher {
    fn eq(&self, _: &Searcher) -> bool {
        true
    }
}

impl Eq for Searcher {}

impl Content {
    pub fn new(pattern: Vec<u8>, negated: bool) -> Content {
        Content {
            pattern,
            negated,
            nocase: false,
            offset: None,
            depth: None,
            distance: None,
            within: None,
            startswith: false,
            endswith: false,
            finder: Searcher::default(),
        }
    }

    /// Placed after the previous match (`distance`, `within`).
    pub fn is_relative(&self) -> bool {
        self.distance.is_some() || self.within.is_some()
    }

    /// The bytes `[start, end)` of a buffer of `len` bytes the match must lie in, after a
    /// previous match that ended at `prev`; `None` when the window is empty.
    fn window(&self, len: usize, prev: usize) -> Option<(usize, usize)> {
        let (start, end) = if self.is_relative() {
            let d = i64::from(self.distance.unwrap_or(0));
            let start = (prev as i64 + d).max(0);
            let end = match self.within {
                Some(w) => (prev as i64 + d + i64::from(w)).min(len as i64),
                None => len as i64,
            };
            (start as usize, end.max(0) as usize)
        } else {
            let start = self.offset.unwrap_or(0) as usize;
            let end = match self.depth {
                Some(d) => (start + d as usize).min(len),
                None => len,
            };
            (start, end)
        };
        let end = if self.startswith {
            end.min(start + self.pattern.len())
        } else {
            end
        };
        (start <= end && end <= len && end - start >= self.pattern.len()).then_some((start, end))
    }

    /// The end of every place the pattern occurs in `buf[start..end]`, first first.
    fn ends<'b>(
        &'b self,
        buf: &'b [u8],
        start: usize,
        end: usize,
    ) -> impl Iterator<Item = usize> + 'b {
        let hay = buf.get(start..end).unwrap_or(&[]);
        let n = self.pattern.len();
        // Anchored (`endswith`, or a window as long as the pattern, as `startswith` makes it):
        // one place to compare, no search (the start line's version checks ran a search each).
        let anchored = if self.endswith {
            Some((end == buf.len() && hay.len() >= n).then(|| end - n))
        } else {
            (hay.len() == n).then_some(Some(start))
        };
        let mut at = 0usize;
        let finder = (!self.nocase && anchored.is_none()).then(|| {
            self.finder
                .0
                .get_or_init(|| Box::new(memchr::memmem::Finder::new(&self.pattern).into_owned()))
        });
        std::iter::from_fn(move || {
            if let Some(place) = anchored {
                // Once: `at` past the buffer after the first call.
                let p = place.filter(|_| at == 0)?;
                at = usize::MAX;
                let here = &buf[p..p + n];
                let equal = if self.nocase {
                    here.eq_ignore_ascii_case(&self.pattern)
                } else {
                    here == self.pattern.as_slice()
                };
                return equal.then_some(p + n);
            }
            let rest = hay.get(at..)?;
            let found = match finder {
                Some(f) => f.find(rest),
                None => find_nocase(rest, &self.pattern),
            }?;
            let e = at + found + n;
            at += found + 1;
            Some(start + e)
        })
        .filter(move |&e| !self.endswith || e == buf.len())
    }
}

/// Where `pattern` (lower case) first occurs in `hay` in any case: candidates found by their
/// first byte in either case (memchr), then compared.
fn find_nocase(hay: &[u8], pattern: &[u8]) -> Option<usize> {
    let Some(&first) = pattern.first() else {
        return Some(0);
    };
    let last_start = hay.len().checked_sub(pattern.len())?;
    let (lo, up) = (first.to_ascii_lowercase(), first.to_ascii_uppercase());
    let mut from = 0;
    while from <= last_start {
        let off = memchr::memchr2(lo, up, &hay[from..=last_start])?;
        let at = from + off;
        if hay[at..at + pattern.len()].eq_ignore_ascii_case(pattern) {
            return Some(at);
        }
        from = at + 1;
    }
    None
}

/// How a length compares (`bsize`, `dsize`, `len`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LenOp {
    Eq(usize),
    Lt(usize),
    Gt(usize),
    Le(usize),
    Ge(usize),
    /// `A<>B`: strictly between.
    Between(usize, usize),
}

impl LenOp {
    /// `N`, `<N`, `>N`, `<=N`, `>=N`, `=N`, `!N` is not Suricata's, `A<>B`.
    pub fn parse(v: &str) -> Result<LenOp, String> {
        let v = v.trim();
        let num = |s: &str| -> Result<usize, String> {
            let s = s.trim();
            if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
                return Err(format!("expected a number, got '{s}'"));
            }
            s.parse().map_err(|_| format!("'{s}' is too large"))
        };
        if let Some((a, b)) = v.split_once("<>") {
            let (a, b) = (num(a)?, num(b)?);
            if a >= b {
                return Err(format!("range {a}<>{b} is empty"));
            }
            return Ok(LenOp::Between(a, b));
        }
        Ok(if let Some(n) = v.strip_prefix("<=") {
            LenOp::Le(num(n)?)
        } else if let Some(n) = v.strip_prefix(">=") {
            LenOp::Ge(num(n)?)
        } else if let Some(n) = v.strip_prefix('<') {
            LenOp::Lt(num(n)?)
        } else if let Some(n) = v.strip_prefix('>') {
            LenOp::Gt(num(n)?)
        } else if let Some(n) = v.strip_prefix('=') {
            LenOp::Eq(num(n)?)
        } else {
            LenOp::Eq(num(v)?)
        })
    }

    pub fn holds(self, len: usize) -> bool {
        match self {
            LenOp::Eq(n) => len == n,
            LenOp::Lt(n) => len < n,
            LenOp::Gt(n) => len > n,
            LenOp::Le(n) => len <= n,
            LenOp::Ge(n) => len >= n,
            LenOp::Between(a, b) => len > a && len < b,
        }
    }
}

/// One test on a buffer instance.
#[derive(Clone, Debug)]
pub enum Match {
    Content(Content),
    Pcre {
        re: Regex,
        negated: bool,
        /// `R`: searched from the end of the previous match.
        relative: bool,
    },
    /// `bsize` (and the sensor's older `len`): the buffer's length.
    Len(LenOp),
    /// `isdataat:N[,relative]`: the buffer has a byte at N (after the previous match).
    IsDataAt {
        n: usize,
        relative: bool,
        negated: bool,
    },
    /// The buffer is not present in the message at all.
    Absent,
}

impl Match {
    /// Whether this match reads the end of the previous one.
    fn is_relative(&self) -> bool {
        match self {
            Match::Content(c) => c.is_relative(),
            Match::Pcre { relative, .. } | Match::IsDataAt { relative, .. } => *relative,
            Match::Len(_) | Match::Absent => false,
        }
    }
}

/// Do `matches` all hold, in order, on one buffer instance?
pub fn inspect(matches: &[Match], buf: &[u8]) -> bool {
    let mut budget = INSPECTION_BUDGET;
    step(matches, buf, 0, &mut budget)
}

/// `matches` from the first on, the previous match having ended at `prev`.
fn step(matches: &[Match], buf: &[u8], prev: usize, budget: &mut u32) -> bool {
    let Some((m, rest)) = matches.split_first() else {
        return true;
    };
    if *budget == 0 {
        return false;
    }
    *budget -= 1;
    // Whether a later match depends on where this one ended (else the first place will do).
    let rest_relative = rest.first().is_some_and(Match::is_relative);
    match m {
        Match::Content(c) => {
            let window = c.window(buf.len(), prev);
            if c.negated {
                let found = window.is_some_and(|(s, e)| c.ends(buf, s, e).next().is_some());
                return !found && step(rest, buf, prev, budget);
            }
            let Some((s, e)) = window else {
                return false;
            };
            for end in c.ends(buf, s, e) {
                if step(rest, buf, end, budget) {
                    return true;
                }
                if !rest_relative || *budget == 0 {
                    return false;
                }
                *budget -= 1;
            }
            false
        }
        Match::Pcre {
            re,
            negated,
            relative,
        } => {
            let from = if *relative { prev.min(buf.len()) } else { 0 };
            let hay = &buf[from..];
            if *negated {
                return !re.is_match(hay) && step(rest, buf, prev, budget);
            }
            match re.find(hay) {
                Some(f) => step(rest, buf, from + f.end(), budget),
                None => false,
            }
        }
        Match::Len(op) => op.holds(buf.len()) && step(rest, buf, prev, budget),
        Match::IsDataAt {
            n,
            relative,
            negated,
        } => {
            let at = if *relative {
                prev.saturating_add(*n)
            } else {
                *n
            };
            (at < buf.len()) != *negated && step(rest, buf, prev, budget)
        }
        Match::Absent => false,
    }
}

#[cfg(test)]
mod tests {
    /// The case-insensitive search finds what comparing every window finds.
    #[test]
    fn nocase_search_is_the_window_search() {
        let naive =
            |hay: &[u8], p: &[u8]| hay.windows(p.len()).position(|w| w.eq_ignore_ascii_case(p));
        let hays: [&[u8]; 6] = [
            b"INVITE sip:100@Example.COM SIP/2.0",
            b"friendly-scanner",
            b"aAaAaAab",
            b"",
            b"x",
            b"caf\xc3\xa9 CAF\xc3\xa9",
        ];
        let pats: [&[u8]; 7] = [
            b"example.com",
            b"sip:",
            b"aab",
            b"x",
            b"2.0",
            b"caf\xc3\xa9",
            b"scanner!",
        ];
        for h in hays {
            for p in pats {
                assert_eq!(super::find_nocase(h, p), naive(h, p), "{h:?} {p:?}");
            }
        }
    }

    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Every place a content matches, as the searches and the anchored comparisons give
        /// them, is every window of the buffer that equals the pattern and lies where the
        /// modifiers allow (each place's end, first first).
        #[test]
        fn the_places_are_the_windows_that_match(
            buf in prop::collection::vec(prop::sample::select(vec![b'a', b'A', b'b', b' ']), 0..24),
            pattern in prop::collection::vec(prop::sample::select(vec![b'a', b'b', b' ']), 0..4),
            nocase: bool,
            startswith: bool,
            endswith: bool,
            offset in prop::option::of(0u32..6),
            depth in prop::option::of(0u32..8),
        ) {
            let mut c = Content::new(pattern.clone(), false);
            (c.nocase, c.startswith, c.endswith, c.offset, c.depth) =
                (nocase, startswith, endswith, offset, depth);
            let got: Vec<usize> = match c.window(buf.len(), 0) {
                Some((s, e)) => c.ends(&buf, s, e).collect(),
                None => Vec::new(),
            };
            let n = pattern.len();
            let start = offset.unwrap_or(0) as usize;
            let mut end = depth.map_or(buf.len(), |d| (start + d as usize).min(buf.len()));
            if startswith {
                end = end.min(start + n);
            }
            let want: Vec<usize> = (start..=end.saturating_sub(n))
                .filter(|&p| start <= end && p + n <= end)
                .filter(|&p| {
                    let w = &buf[p..p + n];
                    if nocase { w.eq_ignore_ascii_case(&pattern) } else { w == pattern.as_slice() }
                })
                .map(|p| p + n)
                .filter(|&e| !endswith || e == buf.len())
                .collect();
            prop_assert_eq!(got, want);
        }
    }

    fn c(p: &str) -> Content {
        Content::new(p.as_bytes().to_vec(), false)
    }

    #[test]
    fn offset_depth_distance_within() {
        let buf = b"INVITE sip:a SIP/2.0\r\nVia: x\r\n";
        let mut inv = c("INVITE");
        inv.depth = Some(6);
        assert!(inspect(&[Match::Content(inv.clone())], buf));
        let mut sip = c("SIP/");
        sip.distance = Some(0);
        assert!(inspect(
            &[Match::Content(inv.clone()), Match::Content(sip.clone())],
            buf
        ));
        sip.within = Some(5);
        assert!(!inspect(
            &[Match::Content(inv.clone()), Match::Content(sip.clone())],
            buf
        ));
        let mut late = c("INVITE");
        late.offset = Some(1);
        assert!(!inspect(&[Match::Content(late)], buf));
        let mut neg = c("SIP/");
        neg.negated = true;
        neg.distance = Some(0);
        assert!(!inspect(&[Match::Content(inv), Match::Content(neg)], buf));
    }

    #[test]
    fn backtracks_over_earlier_matches() {
        // The first "a=" is not followed by "X" within 1 byte; the second is.
        let buf = b"a=1 a=X";
        let mut x = c("X");
        x.distance = Some(0);
        x.within = Some(1);
        assert!(inspect(&[Match::Content(c("a=")), Match::Content(x)], buf));
    }

    #[test]
    fn isdataat_and_len() {
        let buf = b"INVITE 0123456789";
        let mut inv = c("INVITE");
        inv.nocase = true;
        inv.pattern = b"invite".to_vec();
        let rel = |n, negated| Match::IsDataAt {
            n,
            relative: true,
            negated,
        };
        assert!(inspect(&[Match::Content(inv.clone()), rel(10, false)], buf));
        assert!(!inspect(
            &[Match::Content(inv.clone()), rel(11, false)],
            buf
        ));
        assert!(inspect(&[Match::Content(inv), rel(11, true)], buf));
        assert!(inspect(&[Match::Len(LenOp::parse("10<>20").unwrap())], buf));
        assert!(!inspect(&[Match::Len(LenOp::parse("<17").unwrap())], buf));
    }

    #[test]
    fn relative_pcre_and_anchors() {
        let buf = b"REGISTER sip:x SIP/2.0\r\n\r\nbody";
        let re = Regex::new(r"^\r?\n\r?\n").unwrap();
        let mut sip = c("SIP/2.0");
        sip.endswith = false;
        let pcre = Match::Pcre {
            re,
            negated: false,
            relative: true,
        };
        assert!(inspect(&[Match::Content(sip), pcre], buf));
        let mut start = c("REGISTER");
        start.startswith = true;
        assert!(inspect(&[Match::Content(start)], buf));
        let mut end = c("body");
        end.endswith = true;
        assert!(inspect(&[Match::Content(end)], buf));
    }

    #[test]
    fn budget_bounds_hostile_buffers() {
        // 200 kB of "a" with a relative pattern that never matches: bounded, no match.
        let buf = vec![b'a'; 200_000];
        let mut b = c("b");
        b.distance = Some(0);
        b.within = Some(1);
        let ms = [
            Match::Content(c("a")),
            Match::Content(c("a")),
            Match::Content(b),
        ];
        assert!(!inspect(&ms, &buf));
    }
}
