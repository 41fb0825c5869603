//! `str`'s trims, `find` and `split_once`, quick on the short ASCII pieces of a SIP message (a
//! header value, a URI part, a parameter): the hot parsers call them a few dozen times a message.
//!
//! The trims skip ASCII whitespace byte by byte (the set the standard trim removes: space, tab,
//! LF, VT, FF, CR) and hand a non-ASCII edge to the standard trim, which decodes each edge
//! character to ask whether it is Unicode whitespace: the result is exactly the standard one.
//! The searches look for one ASCII byte (or any of two or three) eight bytes at a time on a
//! short piece (the standard searcher's and memchr's set-up cost more than the search on pieces
//! this short) and with `memchr` on a longer one; an ASCII byte never falls inside a multi-byte
//! character, so the index is a character boundary.

/// Whitespace `char::is_whitespace` gives for ASCII bytes.
#[inline(always)]
fn is_ws(b: u8) -> bool {
    b == b' ' || (b'\t'..=b'\r').contains(&b)
}

/// The standard trims, ASCII first.
pub trait Trim {
    fn trim_ws(&self) -> &str;
    fn trim_ws_start(&self) -> &str;
    fn trim_ws_end(&self) -> &str;
}

impl Trim for str {
    #[inline]
    fn trim_ws(&self) -> &str {
        self.trim_ws_start().trim_ws_end()
    }

    #[inline]
    fn trim_ws_start(&self) -> &str {
        let b = self.as_bytes();
        let i = b.iter().position(|&c| !is_ws(c)).unwrap_or(b.len());
        // Only ASCII skipped: `i` is a character boundary.
        let rest = &self[i..];
        if rest.as_bytes().first().is_some_and(|&c| c >= 0x80) {
            rest.trim_start()
        } else {
            rest
        }
    }

    #[inline]
    fn trim_ws_end(&self) -> &str {
        let b = self.as_bytes();
        let j = b.iter().rposition(|&c| !is_ws(c)).map_or(0, |j| j + 1);
        let rest = &self[..j];
        if rest.as_bytes().last().is_some_and(|&c| c >= 0x80) {
            rest.trim_end()
        } else {
            rest
        }
    }
}

/// Bytes of a word equal to `b`: the lowest flagged byte is the first equal one (the flags of
/// higher bytes may be wrong, a borrow from below; only the lowest is read).
#[inline(always)]
fn eq_flags(w: u64, b: u8) -> u64 {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    let x = w ^ (LO * u64::from(b));
    x.wrapping_sub(LO) & !x & HI
}

/// Where the first of `needles` is in `h`: eight bytes at a time over the first `SHORT` bytes
/// (the lowest flag of the flags of all needles is the first of any), then `memchr`,
/// `memchr2` or `memchr3` over the rest; a piece shorter than that ends one byte at a time.
/// On the short pieces of a header, and on the lines of an SDP body, the search ends within a
/// few words, for a fraction of the set-up memchr's searchers cost.
#[inline]
pub fn find_any<const N: usize>(h: &[u8], needles: [u8; N]) -> Option<usize> {
    const SHORT: usize = 64;
    let head = &h[..h.len().min(SHORT)];
    let mut chunks = head.chunks_exact(8);
    let mut at = 0;
    for c in &mut chunks {
        let w = u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
        let flags = needles.iter().fold(0, |acc, &n| acc | eq_flags(w, n));
        if flags != 0 {
            return Some(at + (flags.trailing_zeros() / 8) as usize);
        }
        at += 8;
    }
    if h.len() > SHORT {
        // SHORT is whole words: the head had no remainder.
        let rest = &h[SHORT..];
        let found = match N {
            1 => memchr::memchr(needles[0], rest),
            2 => memchr::memchr2(needles[0], needles[1], rest),
            3 => memchr::memchr3(needles[0], needles[1], needles[2], rest),
            _ => rest.iter().position(|&c| is_any(c, needles)),
        };
        return found.map(|i| SHORT + i);
    }
    chunks
        .remainder()
        .iter()
        .position(|&c| is_any(c, needles))
        .map(|i| at + i)
}

/// Whether `c` is one of `needles`, compared in registers (a slice's `contains` calls memchr).
#[inline(always)]
fn is_any<const N: usize>(c: u8, needles: [u8; N]) -> bool {
    needles.iter().fold(false, |acc, &n| acc | (n == c))
}

/// `find` and `split_once` for one ASCII byte.
pub trait Find {
    fn find_byte(&self, b: u8) -> Option<usize>;
    fn split_once_byte(&self, b: u8) -> Option<(&str, &str)>;
}

impl Find for str {
    #[inline]
    fn find_byte(&self, b: u8) -> Option<usize> {
        debug_assert!(b.is_ascii());
        let h = self.as_bytes();
        // memchr's set-up (a call through the implementation it chose, vector registers)
        // pays for itself past a few dozen bytes (callgrind on the SIP bench: 40 fewest); a
        // word at a time ([`find_any`]) was no better on pieces this short.
        if h.len() <= 40 {
            h.iter().position(|&c| c == b)
        } else {
            memchr::memchr(b, h)
        }
    }

    #[inline]
    fn split_once_byte(&self, b: u8) -> Option<(&str, &str)> {
        let i = self.find_byte(b)?;
        Some((&self[..i], &self[i + 1..]))
    }
}

#[cfg(test)]
mod tests {
    use super::{Find, Trim};
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn the_trims_are_the_standard_ones(s in "[ \t\n\u{b}\u{c}\r\u{85}\u{a0}\u{2003}a-c;=]{0,12}") {
            prop_assert_eq!(s.trim_ws(), s.trim());
            prop_assert_eq!(s.trim_ws_start(), s.trim_start());
            prop_assert_eq!(s.trim_ws_end(), s.trim_end());
        }
    }

    proptest! {
        #[test]
        fn a_word_at_a_time_finds_what_a_loop_finds(
            h in prop::collection::vec(prop::sample::select(vec![b'a', b';', b'?', b'"', 0x80, 0xff, 0]), 0..150),
            n in prop::sample::select(vec![b';', b'?', b'"', 0x80, 0xff, 0, b'x']),
        ) {
            let one = |c: &u8| *c == n;
            prop_assert_eq!(super::find_any(&h, [n]), h.iter().position(one));
            let two = |c: &u8| *c == n || *c == b'?';
            prop_assert_eq!(super::find_any(&h, [n, b'?']), h.iter().position(two));
            let three = |c: &u8| *c == n || *c == b'?' || *c == 0xff;
            prop_assert_eq!(super::find_any(&h, [n, b'?', 0xff]), h.iter().position(three));
        }
    }

    proptest! {
        #[test]
        fn the_searches_are_the_standard_ones(
            s in "[a-c;:=@\u{e9}\u{2003}]{0,60}",
            b in prop::sample::select(vec![b';', b':', b'=', b'@', b'x']),
        ) {
            prop_assert_eq!(s.find_byte(b), s.find(b as char));
            prop_assert_eq!(s.split_once_byte(b), s.split_once(b as char));
        }
    }

    #[test]
    fn unicode_whitespace_after_ascii_whitespace_goes_too() {
        let s = " \u{b}\u{a0} x \u{2003}\t";
        assert_eq!(s.trim_ws(), "x");
    }
}
