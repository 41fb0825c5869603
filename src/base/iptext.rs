//! Addresses as text without the formatting machinery. Every record names two addresses and
//! the detectors key their state by address text: through `Display`, an IPv4 address took about
//! 1,700 instructions (a padded integer write per octet); by hand it takes a few dozen. IPv6
//! goes through `Display` (its compression rules are not worth repeating).

use std::fmt;
use std::io::Write;
use std::net::IpAddr;

/// The longest IPv6 text (`ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255`) is 45 bytes.
const CAP: usize = 45;

/// Each octet's decimal text: its length, then its digits (zero-padded after them).
const OCTETS: [[u8; 4]; 256] = {
    let mut t = [[0u8; 4]; 256];
    let mut o = 0;
    while o < 256 {
        let (h, d, u) = ((o / 100) as u8, ((o / 10) % 10) as u8, (o % 10) as u8);
        t[o] = if o >= 100 {
            [3, b'0' + h, b'0' + d, b'0' + u]
        } else if o >= 10 {
            [2, b'0' + d, b'0' + u, 0]
        } else {
            [1, b'0' + u, 0, 0]
        };
        o += 1;
    }
    t
};

/// An address written as text on the stack; derefs to `&str`.
#[derive(Clone, Copy)]
pub struct IpText {
    buf: [u8; CAP],
    len: u8,
}

impl IpText {
    pub fn new(ip: &IpAddr) -> IpText {
        let mut t = IpText {
            buf: [0; CAP],
            len: 0,
        };
        match ip {
            IpAddr::V4(a) => {
                let mut n = 0;
                for (i, o) in a.octets().into_iter().enumerate() {
                    if i > 0 {
                        t.buf[n] = b'.';
                        n += 1;
                    }
                    // Three bytes copied whatever the octet's length (at most 15 of the 45).
                    let [len, digits @ ..] = OCTETS[usize::from(o)];
                    t.buf[n..n + 3].copy_from_slice(&digits);
                    n += usize::from(len);
                }
                t.len = n as u8;
            }
            IpAddr::V6(a) => {
                let mut w = &mut t.buf[..];
                // Fits: at most CAP bytes.
                let _ = write!(w, "{a}");
                let left = w.len();
                t.len = (CAP - left) as u8;
            }
        }
        t
    }

    pub fn as_str(&self) -> &str {
        let b = &self.buf[..usize::from(self.len)];
        debug_assert!(b.is_ascii());
        // SAFETY: `new` writes only ASCII (digits, dots, colons, hex letters: the octet table
        // and `Ipv6Addr`'s `Display`), so the bytes are valid UTF-8.
        unsafe { std::str::from_utf8_unchecked(b) }
    }
}

impl std::ops::Deref for IpText {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl fmt::Display for IpText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for IpText {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// `serialize_with` for an `IpAddr` field: the same text as `Display`, written by [`IpText`].
pub fn serialize<S: serde::Serializer>(ip: &IpAddr, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&IpText::new(ip))
}

/// An address read from text: what `str::parse::<IpAddr>` gives, with dotted IPv4 (four octets
/// of one to three digits, no leading zero) read by hand, the standard parser's set-up costing
/// more than the read of a short address; anything else goes to the standard parser.
pub fn parse_ip(s: &str) -> Option<IpAddr> {
    let b = s.as_bytes();
    let mut octets = [0u8; 4];
    let mut i = 0;
    for (n, o) in octets.iter_mut().enumerate() {
        let start = i;
        let mut v = 0u32;
        while i < b.len() && b[i].is_ascii_digit() && i - start < 3 {
            v = v * 10 + u32::from(b[i] - b'0');
            i += 1;
        }
        let len = i - start;
        let dot = n < 3;
        let ends_right = if dot {
            b.get(i) == Some(&b'.')
        } else {
            i == b.len()
        };
        if len == 0 || (len > 1 && b[start] == b'0') || v > 255 || !ends_right {
            return s.parse().ok();
        }
        *o = v as u8;
        i += usize::from(dot);
    }
    Some(IpAddr::from(octets))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// The hand read gives the standard parser's answer on address-like text.
        #[test]
        fn parse_ip_is_the_standard_parse(s in prop_oneof![
            "[0-9]{1,4}\\.[0-9]{1,4}\\.[0-9]{1,4}\\.[0-9]{1,4}",
            "[0-9.:a-f]{0,20}",
            "(25[0-9]|2[0-4][0-9]|1?[0-9]{1,2})(\\.(25[0-9]|2[0-4][0-9]|1?[0-9]{1,2})){3}[ x.]?",
        ]) {
            prop_assert_eq!(parse_ip(&s), s.parse::<IpAddr>().ok());
        }
    }

    #[test]
    fn parse_ip_reads_dotted_and_colon_text() {
        assert_eq!(parse_ip("127.0.0.1"), Some(IpAddr::from([127, 0, 0, 1])));
        assert_eq!(parse_ip("255.255.255.255"), Some(IpAddr::from([255; 4])));
        assert_eq!(parse_ip("2001:db8::1"), "2001:db8::1".parse().ok());
        for bad in [
            "256.0.0.1",
            "01.2.3.4",
            "1.2.3",
            "1.2.3.4.",
            "1..2.3",
            "",
            "1.2.3.4 ",
        ] {
            assert_eq!(parse_ip(bad), None, "{bad}");
        }
    }

    #[test]
    fn same_text_as_display() {
        let mut addrs: Vec<IpAddr> = [
            "0.0.0.0",
            "255.255.255.255",
            "10.0.0.1",
            "127.0.0.21",
            "192.168.100.9",
            "::",
            "::1",
            "2001:db8::1",
            "fe80::1:2:3:4",
            "::ffff:192.0.2.1",
            "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
            "1:2:3:4:5:6:7:8",
        ]
        .iter()
        .map(|s| s.parse().unwrap())
        .collect();
        // every octet value in every position
        for v in 0..=255u8 {
            addrs.push(IpAddr::from([v, 255 - v, v / 3, v.wrapping_mul(7)]));
        }
        for a in addrs {
            assert_eq!(IpText::new(&a).as_str(), a.to_string());
            assert_eq!(
                serde_json::to_string(&IpText::new(&a)).unwrap(),
                serde_json::to_string(&a).unwrap()
            );
        }
    }
}
