//! `str`'s trims, `find` and `split_once`, quick on the short ASCII pieces of a SIP message (a
//! header value, a URI part, a parameter): the hot parsers call them a few dozen times a message.
//!
//! The trims skip ASCII whitespace byte by byte (the set the standard trim removes: space, tab,
//! LF, VT, FF, CR) and hand a non-ASCII edge to the standard trim, which decodes each edge
//! character to ask whether it is Unicode whitespace: the result is exactly the standard one.
//! The searches look for one ASCII byte with a plain loop on a short piece (the standard
//! searcher's set-up cost more than the search on pieces this short) and `memchr` on a longer
//! one; an ASCII byte never falls inside a multi-byte character, so the index is a character
//! boundary.

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
        // pays for itself past a few dozen bytes (callgrind on the SIP bench: 40 fewest).
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
