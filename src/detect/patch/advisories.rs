//! `rules/advisories.conf`: the vendors' published security advisories and end-of-life dates,
//! by product and version range, each line with the page it comes from.
//!
//! ```text
//! advisory | PRODUCT[/MODEL] | RANGE | FIXED | IDS | SEVERITY | SOURCE
//! eol      | PRODUCT[/MODEL] | RANGE | DATE  | SOURCE
//! ```
//! RANGE is one or two of `>=V >V <V <=V =V` (all hold); FIXED the first fixed version on that
//! branch or `none`; IDS the vendor's id and CVEs; SEVERITY `critical`, `high`, `medium` or
//! `low`; DATE (`YYYY-MM-DD`) the day the branch stopped getting security fixes; SOURCE an
//! `https://` address. MODEL, for phones, is a case-insensitive prefix of the model.

use crate::detect::rules::folders::RuleFolders;

use super::product::Software;
use super::version::{whole_version, Range, Version};

/// Product ids the file may name (those [`super::product::identify`] gives).
pub const PRODUCTS: &[&str] = &[
    "asterisk",
    "asterisk-certified",
    "freepbx",
    "freeswitch",
    "kamailio",
    "opensips",
    "3cx",
    "3cx-phone",
    "cisco",
    "poly",
    "yealink",
    "grandstream",
    "snom",
    "avaya",
    "mitel",
    "fanvil",
];

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }

    /// Suricata's alert severity: 1 (high) to 3 (low).
    pub fn alert_severity(self) -> u8 {
        match self {
            Severity::Critical | Severity::High => 1,
            Severity::Medium => 2,
            Severity::Low => 3,
        }
    }
}

/// What a line applies to: a product, maybe a model prefix, and a version range.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Applies {
    pub product: &'static str,
    /// Lower-case model prefix.
    pub model: Option<String>,
    pub range: Range,
}

impl Applies {
    fn matches(&self, sw: &Software<'_>, v: &Version) -> bool {
        sw.product == self.product
            && self.model.as_ref().is_none_or(|m| {
                sw.model.is_some_and(|have| {
                    have.get(..m.len())
                        .is_some_and(|h| h.eq_ignore_ascii_case(m))
                })
            })
            && self.range.contains(v)
    }
}

/// One advisory line (one affected branch of one advisory).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Advisory {
    pub applies: Applies,
    /// First fixed version on the branch, as written; `None`: no fix on this branch.
    pub fixed: Option<(String, Version)>,
    /// The vendor's id first, then CVEs.
    pub ids: Vec<String>,
    pub severity: Severity,
    pub source: String,
}

/// One end-of-life line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EndOfLife {
    pub applies: Applies,
    /// `YYYY-MM-DD`: compared as text with the packet's date.
    pub date: String,
    pub source: String,
}

/// The whole file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Advisories {
    pub advisories: Vec<Advisory>,
    pub eol: Vec<EndOfLife>,
}

/// What the file says about one product version.
#[derive(Debug, Default)]
pub struct Judgement<'a> {
    pub advisories: Vec<&'a Advisory>,
    pub eol: Option<&'a EndOfLife>,
}

impl Advisories {
    /// Parse the file: every problem as (line, column, message).
    pub fn parse(text: &str) -> Result<Advisories, Vec<(usize, usize, String)>> {
        let mut out = Advisories::default();
        let mut errors = Vec::new();
        for (n, line) in text.lines().enumerate() {
            let t = line.trim();
            if t.is_empty() || t.starts_with('#') {
                continue;
            }
            let col = line.len() - line.trim_start().len() + 1;
            match parse_line(t) {
                Ok(Line::Advisory(a)) => out.advisories.push(a),
                Ok(Line::Eol(e)) => out.eol.push(e),
                Err(m) => errors.push((n + 1, col, m)),
            }
        }
        if errors.is_empty() {
            Ok(out)
        } else {
            Err(errors)
        }
    }

    /// The folders' `advisories.conf` (the last folder that has one), or none.
    pub fn load(dirs: &RuleFolders) -> Result<Advisories, Vec<String>> {
        let path = dirs.file("advisories.conf");
        if !path.exists() {
            return Ok(Advisories::default());
        }
        let text =
            std::fs::read_to_string(&path).map_err(|e| vec![format!("{}: {e}", path.display())])?;
        Advisories::parse(&text).map_err(|es| {
            es.into_iter()
                .map(|(l, c, m)| format!("{}:{l}:{c}: {m}", path.display()))
                .collect()
        })
    }

    /// Whether the file has advisory lines, and end-of-life lines, about this product: without
    /// them a version is not known to be clean or supported, only not judged.
    pub fn names(&self, product: &str) -> (bool, bool) {
        (
            self.advisories.iter().any(|a| a.applies.product == product),
            self.eol.iter().any(|e| e.applies.product == product),
        )
    }

    pub fn is_empty(&self) -> bool {
        self.advisories.is_empty() && self.eol.is_empty()
    }

    /// The advisories that affect this software and, if its release had reached its end of
    /// life by `today` (`YYYY-MM-DD`), that line.
    pub fn judge(&self, sw: &Software<'_>, today: &str) -> Judgement<'_> {
        let Some((_, v)) = &sw.version else {
            return Judgement::default();
        };
        Judgement {
            advisories: self
                .advisories
                .iter()
                .filter(|a| a.applies.matches(sw, v))
                .collect(),
            eol: self
                .eol
                .iter()
                .find(|e| e.applies.matches(sw, v) && e.date.as_str() <= today),
        }
    }
}

enum Line {
    Advisory(Advisory),
    Eol(EndOfLife),
}

fn parse_line(t: &str) -> Result<Line, String> {
    let f: Vec<&str> = t.split('|').map(str::trim).collect();
    match f[0] {
        "advisory" if f.len() == 7 => {
            let applies = applies(f[1], f[2])?;
            let fixed = match f[3] {
                "none" => None,
                text => {
                    let v = whole_version(text).map_err(|e| format!("fixed version {e}"))?;
                    if applies.range.contains(&v) {
                        return Err(format!("fixed version {text} is inside the affected range"));
                    }
                    Some((text.to_string(), v))
                }
            };
            let ids: Vec<String> = f[4].split_whitespace().map(str::to_string).collect();
            if ids.is_empty() {
                return Err("an advisory needs an id (vendor id or CVE)".to_string());
            }
            if let Some(bad) = ids.iter().find(|id| !valid_id(id)) {
                return Err(format!(
                    "`{bad}`: an id is CVE-YYYY-NNNN or a vendor id such as AST-2023-009"
                ));
            }
            let severity = match f[5] {
                "critical" => Severity::Critical,
                "high" => Severity::High,
                "medium" => Severity::Medium,
                "low" => Severity::Low,
                other => {
                    return Err(format!(
                        "`{other}`: severity is critical, high, medium or low"
                    ))
                }
            };
            Ok(Line::Advisory(Advisory {
                applies,
                fixed,
                ids,
                severity,
                source: source(f[6])?,
            }))
        }
        "eol" if f.len() == 5 => {
            let applies = applies(f[1], f[2])?;
            if !valid_date(f[3]) {
                return Err(format!("`{}`: an end-of-life date is YYYY-MM-DD", f[3]));
            }
            Ok(Line::Eol(EndOfLife {
                applies,
                date: f[3].to_string(),
                source: source(f[4])?,
            }))
        }
        "advisory" => Err(format!(
            "an advisory line has 7 fields (advisory | product | range | fixed | ids | severity | source), not {}",
            f.len()
        )),
        "eol" => Err(format!(
            "an eol line has 5 fields (eol | product | range | date | source), not {}",
            f.len()
        )),
        other => Err(format!("`{other}`: a line starts with `advisory` or `eol`")),
    }
}

fn applies(product: &str, range: &str) -> Result<Applies, String> {
    let (name, model) = match product.split_once('/') {
        Some((p, m)) if !m.trim().is_empty() => (p.trim(), Some(m.trim().to_ascii_lowercase())),
        Some(_) => return Err(format!("`{product}`: empty model after /")),
        None => (product, None),
    };
    let product = PRODUCTS
        .iter()
        .find(|p| **p == name)
        .ok_or_else(|| format!("`{name}`: unknown product (one of {})", PRODUCTS.join(", ")))?;
    let text = range;
    let range = Range::parse(text)?;
    if !range.is_satisfiable() {
        return Err(format!("`{text}`: no version is in this range"));
    }
    Ok(Applies {
        product,
        model,
        range,
    })
}

fn source(s: &str) -> Result<String, String> {
    let ok = s.starts_with("https://")
        && s.len() > "https://".len() + 3
        && !s.contains(char::is_whitespace);
    if ok {
        Ok(s.to_string())
    } else {
        Err(format!(
            "`{s}`: the source is the https:// address of the advisory"
        ))
    }
}

/// `CVE-2023-49786`, `AST-2023-009`, `GHSA-hxj9-xwr8-w8pq`.
fn valid_id(id: &str) -> bool {
    if let Some(rest) = id.strip_prefix("CVE-") {
        let mut p = rest.split('-');
        let (Some(y), Some(n), None) = (p.next(), p.next(), p.next()) else {
            return false;
        };
        return y.len() == 4
            && y.bytes().all(|b| b.is_ascii_digit())
            && n.len() >= 4
            && n.len() <= 8
            && n.bytes().all(|b| b.is_ascii_digit());
    }
    let mut parts = id.split('-');
    let head = parts.next().unwrap_or("");
    !head.is_empty()
        && head.len() <= 12
        && head.bytes().all(|b| b.is_ascii_alphanumeric())
        && head.as_bytes()[0].is_ascii_alphabetic()
        && id.len() <= 40
        && id.contains('-')
        && parts.all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_alphanumeric()))
}

fn valid_date(d: &str) -> bool {
    let b = d.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return false;
    }
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        d.get(r)
            .filter(|s| s.bytes().all(|c| c.is_ascii_digit()))
            .and_then(|s| s.parse().ok())
    };
    matches!(
        (num(0..4), num(5..7), num(8..10)),
        (Some(1970..=2100), Some(1..=12), Some(1..=31))
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::patch::product::identify;

    const FILE: &str = "\
# comment
advisory | asterisk | >=20.0.0 <20.5.1 | 20.5.1 | AST-2023-009 CVE-2023-49786 | medium | https://example.org/AST-2023-009
advisory | asterisk | >=13.0.0 <14 | none | AST-2021-009 CVE-2021-32558 | medium | https://example.org/AST-2021-009
advisory | yealink/SIP-T46 | <66.86.0.160 | 66.86.0.160 | CVE-2021-27561 | critical | https://example.org/yealink
eol | asterisk | >=13 <14 | 2021-10-24 | https://example.org/versions
eol | asterisk | >=20 <21 | 2027-10-19 | https://example.org/versions
";

    #[test]
    fn judges_versions() {
        let a = Advisories::parse(FILE).unwrap();
        assert_eq!((a.advisories.len(), a.eol.len()), (3, 2));
        let sw = identify("Asterisk PBX 20.5.0").unwrap();
        let j = a.judge(&sw, "2026-12-06");
        assert_eq!(j.advisories.len(), 1);
        assert_eq!(j.advisories[0].ids[0], "AST-2023-009");
        assert!(j.eol.is_none(), "20 is supported until 2027");
        assert!(a
            .judge(&identify("Asterisk PBX 20.5.1").unwrap(), "2026-12-06")
            .advisories
            .is_empty());
        let old = identify("Asterisk PBX 13.38.3").unwrap();
        let j = a.judge(&old, "2026-12-06");
        assert_eq!(j.eol.unwrap().date, "2021-10-24");
        assert_eq!(j.advisories[0].fixed, None);
        assert!(a.judge(&old, "2021-10-23").eol.is_none(), "not yet");
        // Model prefixes.
        let t46 = identify("Yealink SIP-T46S 66.86.0.15").unwrap();
        assert_eq!(a.judge(&t46, "2026-01-01").advisories.len(), 1);
        let t54 = identify("Yealink SIP-T54W 66.86.0.15").unwrap();
        assert!(a.judge(&t54, "2026-01-01").advisories.is_empty());
        // No version, no judgement.
        let none = identify("kamailio (voip-sentinel test proxy)").unwrap();
        assert!(a.judge(&none, "2026-01-01").advisories.is_empty());
    }

    #[test]
    fn every_problem_with_its_line() {
        let bad = "\
advisory | asterisk | >=20 <20.5.1 | 20.5.1 | AST-2023-009 | medium
advisory | astrisk | <1 | none | CVE-2020-1234 | low | https://x.org/a
advisory | asterisk | 20 | none | CVE-2020-1234 | low | https://x.org/a
advisory | asterisk | >=2 <1 | none | CVE-2020-1234 | low | https://x.org/a
advisory | asterisk | <2 | 1.5 | CVE-2020-1234 | low | https://x.org/a
advisory | asterisk | <2 | 2.x | CVE-2020-1234 | low | https://x.org/a
advisory | asterisk | <2 | 2 | CVE-20-1 | low | https://x.org/a
advisory | asterisk | <2 | 2 |  | low | https://x.org/a
advisory | asterisk | <2 | 2 | CVE-2020-1234 | severe | https://x.org/a
advisory | asterisk | <2 | 2 | CVE-2020-1234 | low | http://x.org/a
  eol | asterisk | <2 | 2021-13-01 | https://x.org/a
eol | asterisk | <2 | 2021-01-01
patch | asterisk | <2 | 2021-01-01 | https://x.org/a
eol | cisco/ | <2 | 2021-01-01 | https://x.org/a
";
        let e = Advisories::parse(bad).unwrap_err();
        let lines: Vec<usize> = e.iter().map(|x| x.0).collect();
        assert_eq!(lines, (1..=14).collect::<Vec<_>>(), "{e:#?}");
        assert_eq!(e[10].1, 3, "column of an indented line");
        assert!(e[1].2.contains("unknown product"), "{}", e[1].2);
        assert!(e[3].2.contains("no version is in this range"), "{}", e[3].2);
        assert!(e[4].2.contains("inside the affected range"), "{}", e[4].2);
    }

    #[test]
    fn ids() {
        for ok in [
            "CVE-2023-49786",
            "AST-2023-009",
            "GHSA-hxj9-xwr8-w8pq",
            "CVE-2021-1234567",
        ] {
            assert!(valid_id(ok), "{ok}");
        }
        for bad in [
            "CVE-2023",
            "CVE-23-1234",
            "-1",
            "AST",
            "AST-",
            "A B-1",
            "1AST-2",
        ] {
            assert!(!valid_id(bad), "{bad}");
        }
    }

    /// The shipped file is valid, every line has its source, and it judges the versions seen
    /// in the bundled captures as its advisories say.
    #[test]
    fn shipped_file() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("rules/advisories.conf");
        let text = std::fs::read_to_string(path).unwrap();
        let a = Advisories::parse(&text).unwrap();
        assert!(a.advisories.len() >= 100, "{}", a.advisories.len());
        assert!(a.eol.len() >= 15, "{}", a.eol.len());
        // Every line's source is an advisory or CVE page.
        for s in a
            .advisories
            .iter()
            .map(|x| &x.source)
            .chain(a.eol.iter().map(|x| &x.source))
        {
            assert!(s.starts_with("https://"), "{s}");
        }
        let judge = |h: &str, day: &str| {
            let j = a.judge(&identify(h).unwrap(), day);
            let mut ids: Vec<&str> = j
                .advisories
                .iter()
                .flat_map(|x| x.ids.iter())
                .map(String::as_str)
                .filter(|i| i.starts_with("CVE-"))
                .collect();
            ids.sort();
            ids.dedup();
            (ids, j.eol.map(|e| e.date.as_str()))
        };
        // The December 2023 advisories, fixed in 20.5.1; 20 is supported until 2027.
        let (cves, eol) = judge("Asterisk PBX 20.5.0", "2026-12-06");
        for c in ["CVE-2023-37457", "CVE-2023-49294", "CVE-2023-49786"] {
            assert!(cves.contains(&c), "{c} {cves:?}");
        }
        assert_eq!(eol, None);
        assert_eq!(
            judge("Asterisk PBX 18.20.0", "2026-12-06").1,
            Some("2025-10-20")
        );
        assert_eq!(judge("Asterisk PBX 18.20.0", "2025-10-19").1, None);
        // FreeSWITCH: 1.6.12 before every fix since 2021; 1.10.11 after them.
        let (cves, _) = judge("FreeSWITCH-mod_sofia/1.6.12-20-b91a0a6~64bit", "2026-12-06");
        assert!(
            cves.contains(&"CVE-2021-37624") && cves.contains(&"CVE-2023-51443"),
            "{cves:?}"
        );
        assert_eq!(
            judge("FreeSWITCH-mod_sofia/1.10.11-release~64bit", "2026-12-06")
                .0
                .len(),
            0
        );
        // Debian's Kamailio 5.6.3 of the lab captures: nothing known; 5.2.1: CVE-2020-28361.
        assert_eq!(
            judge("kamailio (5.6.3 (x86_64/linux))", "2026-12-06")
                .0
                .len(),
            0
        );
        assert!(judge("kamailio (5.2.1 (x86_64/linux))", "2026-12-06")
            .0
            .contains(&"CVE-2020-28361"));
    }
}
