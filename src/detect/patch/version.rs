//! Software versions as vendors write them, compared part by part: `18.16.0`, `66.86.0.15`,
//! `1.10.11-release~64bit`, `v2.10.19.4`, `5.6.3 (x86_64/linux)`. Only the leading run of
//! dot-separated numbers counts; what follows (a build tag, a platform) is ignored.

use std::cmp::Ordering;
use std::fmt;

/// Parts kept: more are ignored (no vendor uses more than five).
const MAX_PARTS: usize = 6;

/// A numeric version: up to six parts, missing parts read as zero (`18.16` == `18.16.0`).
#[derive(Clone, Copy, Debug, Default)]
pub struct Version {
    parts: [u32; MAX_PARTS],
    len: u8,
}

impl Version {
    /// The leading version of `s` (after an optional `v`, `V` or `R`): `None` when it does not
    /// start with a digit. Parts too large for a u32 end the version.
    pub fn parse(s: &str) -> Option<Version> {
        let s = s.trim_start();
        let s = s
            .strip_prefix(['v', 'V', 'R', 'r'])
            .filter(|r| r.starts_with(|c: char| c.is_ascii_digit()))
            .unwrap_or(s);
        let mut v = Version::default();
        for part in s.split('.') {
            let digits = part.bytes().take_while(u8::is_ascii_digit).count();
            if digits == 0 || usize::from(v.len) == MAX_PARTS {
                break;
            }
            let Ok(n) = part[..digits].parse::<u32>() else {
                break;
            };
            v.parts[usize::from(v.len)] = n;
            v.len += 1;
            if digits < part.len() {
                break;
            }
        }
        (v.len > 0).then_some(v)
    }

    /// A version made of these parts (at most six kept).
    pub fn from_parts(parts: &[u32]) -> Version {
        let mut v = Version::default();
        for &p in parts.iter().take(MAX_PARTS) {
            v.parts[usize::from(v.len)] = p;
            v.len += 1;
        }
        v
    }

    pub fn parts(&self) -> &[u32] {
        &self.parts[..usize::from(self.len)]
    }

    /// The first part (the release branch of most vendors).
    pub fn major(&self) -> u32 {
        self.parts[0]
    }
}

impl PartialEq for Version {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Version {}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Version {
    /// Part by part; unused parts are zero, so `18.16` == `18.16.0` < `18.16.0.1`.
    fn cmp(&self, other: &Self) -> Ordering {
        self.parts.cmp(&other.parts)
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.parts().iter().enumerate() {
            if i > 0 {
                f.write_str(".")?;
            }
            write!(f, "{p}")?;
        }
        Ok(())
    }
}

/// One comparison of a range: `>=18.0.0`, `<18.20.1`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bound {
    pub op: Op,
    pub version: Version,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
}

impl Bound {
    fn holds(&self, v: &Version) -> bool {
        let o = v.cmp(&self.version);
        match self.op {
            Op::Lt => o == Ordering::Less,
            Op::Le => o != Ordering::Greater,
            Op::Gt => o == Ordering::Greater,
            Op::Ge => o != Ordering::Less,
            Op::Eq => o == Ordering::Equal,
        }
    }
}

/// An affected range: every bound holds (`>=18.0.0 <18.20.1`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Range {
    pub bounds: Vec<Bound>,
}

impl Range {
    /// One or two comparisons separated by spaces; each a whole version (nothing after it).
    pub fn parse(s: &str) -> Result<Range, String> {
        let mut bounds = Vec::new();
        for word in s.split_whitespace() {
            let (op, rest) = if let Some(r) = word.strip_prefix(">=") {
                (Op::Ge, r)
            } else if let Some(r) = word.strip_prefix("<=") {
                (Op::Le, r)
            } else if let Some(r) = word.strip_prefix('>') {
                (Op::Gt, r)
            } else if let Some(r) = word.strip_prefix('<') {
                (Op::Lt, r)
            } else if let Some(r) = word.strip_prefix('=') {
                (Op::Eq, r)
            } else {
                return Err(format!(
                    "`{word}`: a range is one or two of >=V, >V, <V, <=V, =V"
                ));
            };
            bounds.push(Bound {
                op,
                version: whole_version(rest)?,
            });
        }
        match bounds.len() {
            1 | 2 => Ok(Range { bounds }),
            0 => Err("empty range".to_string()),
            _ => Err("a range has at most two comparisons".to_string()),
        }
    }

    pub fn contains(&self, v: &Version) -> bool {
        self.bounds.iter().all(|b| b.holds(v))
    }

    /// Whether some version is in the range (`>=2 <1` is not).
    pub fn is_satisfiable(&self) -> bool {
        let low = self
            .bounds
            .iter()
            .filter(|b| matches!(b.op, Op::Ge | Op::Gt | Op::Eq))
            .map(|b| b.version)
            .max();
        let high = self
            .bounds
            .iter()
            .filter(|b| matches!(b.op, Op::Le | Op::Lt | Op::Eq))
            .map(|b| b.version)
            .min();
        match (low, high) {
            (Some(l), Some(h)) => {
                l < h || (l == h && self.bounds.iter().all(|b| !matches!(b.op, Op::Lt | Op::Gt)))
            }
            _ => true,
        }
    }
}

/// A version that is all digits and dots (as the advisories file writes them).
pub fn whole_version(s: &str) -> Result<Version, String> {
    let ok = !s.is_empty()
        && s.split('.')
            .all(|p| !p.is_empty() && p.len() <= 9 && p.bytes().all(|b| b.is_ascii_digit()))
        && s.split('.').count() <= MAX_PARTS;
    if !ok {
        return Err(format!(
            "`{s}`: a version is up to {MAX_PARTS} dot-separated numbers"
        ));
    }
    Version::parse(s).ok_or_else(|| format!("`{s}`: not a version"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> Version {
        Version::parse(s).unwrap()
    }

    #[test]
    fn vendor_formats() {
        assert_eq!(v("18.16.0").parts(), &[18, 16, 0]);
        assert_eq!(v("66.86.0.15").parts(), &[66, 86, 0, 15]);
        assert_eq!(v("5.6.3 (x86_64/linux)").parts(), &[5, 6, 3]);
        assert_eq!(v("1.10.11-release~64bit").parts(), &[1, 10, 11]);
        assert_eq!(v("1.6.12-20-b91a0a6~64bit").parts(), &[1, 6, 12]);
        assert_eq!(v("16.0.33(18.16.0)").parts(), &[16, 0, 33]);
        assert!(
            Version::parse("v.7.40A.500.786").is_none(),
            "`v.` is not a version"
        );
        assert_eq!(v("V1.0").parts(), &[1, 0]);
        assert!(Version::parse("rv2.10.19.4").is_none());
        assert_eq!(v("R016x.03.0.124.0").parts(), &[16]);
        assert_eq!(v("18.9-cert4").parts(), &[18, 9]);
        assert_eq!(v("1.2.3.4.5.6.7.8").parts(), &[1, 2, 3, 4, 5, 6]);
    }

    #[test]
    fn hostile_strings() {
        for s in [
            "",
            " ",
            "abc",
            ".",
            "..1",
            "-1.2",
            "v",
            "\u{0}1.2",
            "١٢.٣",
            "99999999999999999999.1",
        ] {
            assert!(Version::parse(s).is_none(), "{s:?}");
        }
        assert_eq!(v("1.99999999999999999999").parts(), &[1]);
        assert_eq!(v("4294967295.1").parts(), &[4294967295, 1]);
        let long = "1.".repeat(10_000);
        assert_eq!(v(&long).parts().len(), 6);
    }

    #[test]
    fn ordering() {
        assert!(v("18.16") == v("18.16.0"));
        assert!(v("18.16.0") < v("18.16.0.1"));
        assert!(v("1.10.7") > v("1.6.12"));
        assert!(v("20.5.0") < v("20.5.1"));
        assert!(v("66.86.0.15") < v("66.86.0.160"));
        assert_eq!(v("18.16.0").to_string(), "18.16.0");
    }

    #[test]
    fn ranges() {
        let r = Range::parse(">=20.0.0 <20.5.1").unwrap();
        assert!(r.contains(&v("20.5.0")));
        assert!(!r.contains(&v("20.5.1")));
        assert!(!r.contains(&v("19.8")));
        assert!(Range::parse("<5.4.0").unwrap().contains(&v("5.2.1")));
        assert!(Range::parse("=1.2").unwrap().contains(&v("1.2.0")));
        assert!(Range::parse("<=1.2").unwrap().contains(&v("1.2")));
        assert!(Range::parse(">1.2").unwrap().contains(&v("1.2.0.1")));
        for bad in [
            "",
            "20",
            ">=20 <21 <22",
            "~20",
            ">=20.x",
            ">=1..2",
            "<1.2-rc1",
        ] {
            assert!(Range::parse(bad).is_err(), "{bad:?}");
        }
        assert!(!Range::parse(">=2 <1").unwrap().is_satisfiable());
        assert!(!Range::parse(">=2 <2").unwrap().is_satisfiable());
        assert!(Range::parse(">=2 <=2").unwrap().is_satisfiable());
        assert!(Range::parse(">=13 <14").unwrap().is_satisfiable());
    }
}
