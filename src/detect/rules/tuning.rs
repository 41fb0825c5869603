//! `threshold.config`: tuning alerts on the sensor without editing signatures, in Suricata's
//! (and Snort's) format, so an analyst's existing habits and files carry over.
//!
//! ```text
//! suppress gen_id 1, sig_id 2200013                                  # never alert
//! suppress gen_id 1, sig_id 2300005, track by_src, ip 10.1.2.3       # not for this source
//! suppress gen_id 0, sig_id 0, track by_either, ip [$MONITORS, 10.9.0.0/16]   # no alert at all
//! threshold gen_id 1, sig_id 2300032, type limit, track by_src, count 1, seconds 3600
//! event_filter gen_id 1, sig_id 2200003, type both, track by_dst, count 5, seconds 60
//! ```
//!
//! * `suppress`: alerts of the signature are not written; with `track by_src|by_dst|by_either,
//!   ip LIST` only those whose source / destination / either address is in the list (an address
//!   expression as in rules: CIDRs, `[..]` lists, `!`, `$VARIABLES` of `variables.conf`).
//! * `threshold` (`event_filter` is a synonym): replaces the signature's own `threshold:` (for a
//!   rule), or adds one after the built-in limits (for a built-in signature). `track` is
//!   `by_src`, `by_dst`, `by_rule` or `by_both` (the address pair, either direction).
//! * `gen_id` is 1 for every voip-sentinel signature; `gen_id 0, sig_id 0` (or `sig_id 0`)
//!   applies to every signature, and a signature's own `threshold` line wins over it.
//! * `rate_filter` (Suricata changes the rule's action) has no meaning for a passive sensor and
//!   is refused; the per-signature ceiling is `[threshold]` in `detectors.conf`.
//!
//! Addresses are the alert's `src_ip` and `dest_ip`: the packet that decided it, as Suricata does.
//! An unknown `sig_id` is an error: a typo would otherwise silently tune nothing.

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::Path;

use super::net::{comma_spans, parse_addr, AddrExpr, Variables};
use super::parse::{logical_lines, parse_u32, Logical};
use super::{RuleError, Threshold, ThresholdKind, Track};

/// The file's name inside a rules folder.
pub const FILE: &str = "threshold.config";

/// Which address a `suppress` entry looks at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum SuppressTrack {
    Src,
    Dst,
    Either,
}

#[derive(Clone, Debug)]
struct Suppress {
    /// 0: every signature.
    sid: u32,
    /// `None`: every alert of the signature.
    only: Option<(SuppressTrack, AddrExpr)>,
}

/// A loaded `threshold.config` (empty when the folder has none).
#[derive(Clone, Debug, Default)]
pub struct Tuning {
    suppress: Vec<Suppress>,
    /// Thresholds by sid (not 0).
    thresholds: HashMap<u32, Threshold>,
    /// `sig_id 0`: for every signature without its own line.
    global: Option<Threshold>,
}

impl Tuning {
    /// Read `threshold.config` of the folders if there is one. `known` says whether a sid is a signature
    /// (a rule or a built-in one). Errors in `variables.conf` itself are the rules loader's to
    /// report; here its variables are only used.
    pub fn load(
        dirs: &super::folders::RuleFolders,
        known: impl Fn(u32) -> bool,
    ) -> Result<Tuning, Vec<RuleError>> {
        let path = dirs.file(FILE);
        if !path.exists() {
            return Ok(Tuning::default());
        }
        let text = std::fs::read_to_string(&path).map_err(|e| {
            vec![RuleError {
                file: path.clone(),
                line: 0,
                column: 0,
                message: format!("cannot read: {e}"),
            }]
        })?;
        let var_path = dirs.file("variables.conf");
        let vars = std::fs::read_to_string(&var_path)
            .ok()
            .and_then(|t| Variables::parse(&var_path, &t).ok())
            .unwrap_or_default();
        Tuning::parse(&path, &text, &vars, known)
    }

    /// Parse a file's text (`file` names it in errors). Every error of every line is returned.
    pub fn parse(
        file: &Path,
        text: &str,
        vars: &Variables,
        known: impl Fn(u32) -> bool,
    ) -> Result<Tuning, Vec<RuleError>> {
        let mut t = Tuning::default();
        let mut errors = Vec::new();
        // Where each sid's threshold was set, for duplicate errors.
        let mut set_at: HashMap<u32, usize> = HashMap::new();
        for l in logical_lines(text) {
            let mut p = LineParser {
                file,
                l: &l,
                errors: &mut errors,
            };
            match p.entry(vars, &known) {
                Some(Entry::Suppress(s)) => t.suppress.push(s),
                Some(Entry::Threshold(sid, th, off)) => {
                    let line = l.pos(off).0;
                    if let Some(first) = set_at.insert(sid, line) {
                        p.err(
                            off,
                            format!("a threshold for sig_id {sid} is already set at line {first}"),
                        );
                    } else if sid == 0 {
                        t.global = Some(th);
                    } else {
                        t.thresholds.insert(sid, th);
                    }
                }
                None => {}
            }
        }
        if errors.is_empty() {
            Ok(t)
        } else {
            Err(errors)
        }
    }

    pub fn is_empty(&self) -> bool {
        self.suppress.is_empty() && self.thresholds.is_empty() && self.global.is_none()
    }

    /// How many `suppress` and `threshold`/`event_filter` lines are in force.
    pub fn counts(&self) -> (usize, usize) {
        (
            self.suppress.len(),
            self.thresholds.len() + usize::from(self.global.is_some()),
        )
    }

    /// Is an alert of `sid` between these addresses suppressed?
    pub fn is_suppressed(&self, sid: u32, src: IpAddr, dst: IpAddr) -> bool {
        self.suppress.iter().any(|s| {
            (s.sid == 0 || s.sid == sid)
                && match &s.only {
                    None => true,
                    Some((SuppressTrack::Src, ips)) => ips.matches(src),
                    Some((SuppressTrack::Dst, ips)) => ips.matches(dst),
                    Some((SuppressTrack::Either, ips)) => ips.matches(src) || ips.matches(dst),
                }
        })
    }

    /// The threshold this file sets for `sid`: its own line, else the `sig_id 0` one.
    pub fn threshold(&self, sid: u32) -> Option<&Threshold> {
        self.thresholds.get(&sid).or(self.global.as_ref())
    }
}

enum Entry {
    Suppress(Suppress),
    /// sid, threshold, offset of the line (for duplicate errors).
    Threshold(u32, Threshold, usize),
}

struct LineParser<'p, 'a> {
    file: &'p Path,
    l: &'p Logical<'a>,
    errors: &'p mut Vec<RuleError>,
}

/// Split `key value, key value` on commas outside `[...]`: (offset of the key, key, value).
fn pairs(s: &str, base: usize) -> Result<Vec<(usize, &str, &str)>, String> {
    Ok(comma_spans(s)?
        .into_iter()
        .map(|r| {
            let part = &s[r.clone()];
            let lead = part.len() - part.trim_start().len();
            let part = part.trim();
            let (k, v) = part.split_once(char::is_whitespace).unwrap_or((part, ""));
            (base + r.start + lead, k, v.trim())
        })
        .collect())
}

impl LineParser<'_, '_> {
    fn err(&mut self, off: usize, message: impl Into<String>) {
        self.errors.push(self.l.error(self.file, off, message));
    }

    fn entry(&mut self, vars: &Variables, known: &impl Fn(u32) -> bool) -> Option<Entry> {
        let text = self.l.text.as_str();
        let lead = text.len() - text.trim_start().len();
        let body = text.trim_start();
        let (kind, rest) = body.split_once(char::is_whitespace).unwrap_or((body, ""));
        let rest_off = text.len() - rest.len();
        let is_threshold = match kind {
            "suppress" => false,
            "threshold" | "event_filter" => true,
            "rate_filter" => {
                self.err(
                    lead,
                    "rate_filter is not supported (a passive sensor has no action to change): \
                     use [threshold] rate_per_second in detectors.conf",
                );
                return None;
            }
            _ => {
                self.err(
                    lead,
                    format!("expected suppress, threshold or event_filter, got '{kind}'"),
                );
                return None;
            }
        };
        let before = self.errors.len();
        let (mut gen_id, mut sid) = (None, None);
        let (mut sup_track, mut track, mut ip) = (None, None, None);
        let (mut ty, mut count, mut seconds) = (None, None, None);
        let mut seen: Vec<&str> = Vec::new();
        let fields = match pairs(rest, rest_off) {
            Ok(f) => f,
            Err(e) => {
                self.err(rest_off, e);
                return None;
            }
        };
        for (off, k, v) in fields {
            if k.is_empty() {
                self.err(off, "empty field (two commas, or a comma at the end)");
                continue;
            }
            if seen.contains(&k) {
                self.err(off, format!("'{k}' given twice"));
                continue;
            }
            seen.push(k);
            let number = |what: &str| parse_u32(v, what);
            let r: Result<(), String> = match (k, is_threshold) {
                ("gen_id", _) => number("gen_id").and_then(|g| {
                    if g > 1 {
                        Err(format!(
                            "gen_id must be 1 (every voip-sentinel signature) or 0 (all), got {g}"
                        ))
                    } else {
                        gen_id = Some(g);
                        Ok(())
                    }
                }),
                ("sig_id", _) => number("sig_id").and_then(|s| {
                    if s != 0 && !known(s) {
                        Err(format!(
                            "unknown sig_id {s}: neither a rule nor a built-in signature"
                        ))
                    } else {
                        sid = Some((s, off));
                        Ok(())
                    }
                }),
                ("track", false) => match v {
                    "by_src" => Ok(SuppressTrack::Src),
                    "by_dst" => Ok(SuppressTrack::Dst),
                    "by_either" => Ok(SuppressTrack::Either),
                    _ => Err(format!(
                        "suppress: track must be by_src, by_dst or by_either, got '{v}'"
                    )),
                }
                .map(|t| sup_track = Some(t)),
                ("track", true) => Track::from_word(v)
                    .ok_or_else(|| {
                        format!(
                            "threshold: track must be by_src, by_dst, by_rule or by_both, got '{v}'"
                        )
                    })
                    .map(|t| track = Some(t)),
                ("ip", false) => parse_addr(v, vars)
                    .map(|e| ip = Some((e, off)))
                    .map_err(|e| format!("ip: {e}")),
                ("type", true) => ThresholdKind::from_word(v)
                    .ok_or_else(|| {
                        format!("threshold: type must be limit, threshold or both, got '{v}'")
                    })
                    .map(|t| ty = Some(t)),
                ("count", true) => number("count").map(|n| count = Some(n)),
                ("seconds", true) => number("seconds").map(|n| seconds = Some(n)),
                _ => Err(format!(
                    "unknown field '{k}' for {}",
                    if is_threshold { kind } else { "suppress" }
                )),
            };
            if let Err(m) = r {
                self.err(off, m);
            }
        }
        if self.errors.len() > before {
            return None;
        }
        let mut missing = |what: &str| {
            self.err(lead, format!("{kind}: missing '{what}'"));
        };
        if gen_id.is_none() {
            missing("gen_id");
        }
        let Some((sid, sid_off)) = sid else {
            missing("sig_id");
            return None;
        };
        if gen_id == Some(0) && sid != 0 {
            self.err(sid_off, "gen_id 0 goes with sig_id 0 (every signature)");
        }
        if is_threshold {
            for (v, what) in [
                (ty.is_none(), "type"),
                (track.is_none(), "track"),
                (count.is_none(), "count"),
                (seconds.is_none(), "seconds"),
            ] {
                if v {
                    self.err(lead, format!("{kind}: missing '{what}'"));
                }
            }
            if count == Some(0) || seconds == Some(0) {
                self.err(
                    lead,
                    format!("{kind}: count and seconds must be at least 1"),
                );
            }
            if self.errors.len() > before {
                return None;
            }
            let th = Threshold {
                kind: ty?,
                track: track?,
                count: count?,
                seconds: seconds?,
            };
            Some(Entry::Threshold(sid, th, lead))
        } else {
            let only = match (sup_track, ip) {
                (None, None) => None,
                (Some(t), Some((e, _))) => Some((t, e)),
                (Some(_), None) => {
                    self.err(lead, "suppress: track needs an ip");
                    None
                }
                (None, Some((_, off))) => {
                    self.err(
                        off,
                        "suppress: ip needs a track (by_src, by_dst or by_either)",
                    );
                    None
                }
            };
            (self.errors.len() == before).then_some(Entry::Suppress(Suppress { sid, only }))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Tuning, Vec<String>> {
        let mut vars = Variables::new();
        vars.set("MONITORS", "[192.0.2.10, 192.0.2.11]");
        Tuning::parse(Path::new("threshold.config"), text, &vars, |sid| {
            (2_200_000..2_600_000).contains(&sid)
        })
        .map_err(|es| es.iter().map(ToString::to_string).collect())
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn suppress_whole_signature_by_address_and_everything() {
        let t = parse(
            "# comment\n\
             suppress gen_id 1, sig_id 2200013\n\
             suppress gen_id 1, sig_id 2300005, track by_src, ip 10.1.2.3\n\
             suppress gen_id 1, sig_id 2300006, track by_dst, ip [10.2.0.0/16, !10.2.9.0/24]\n\
             suppress gen_id 0, sig_id 0, track by_either, \\\n  ip $MONITORS\n",
        )
        .unwrap();
        let (a, b) = (ip("198.51.100.1"), ip("198.51.100.2"));
        assert!(t.is_suppressed(2_200_013, a, b));
        assert!(!t.is_suppressed(2_200_012, a, b));
        assert!(t.is_suppressed(2_300_005, ip("10.1.2.3"), b));
        assert!(!t.is_suppressed(2_300_005, b, ip("10.1.2.3")));
        assert!(t.is_suppressed(2_300_006, a, ip("10.2.1.1")));
        assert!(!t.is_suppressed(2_300_006, a, ip("10.2.9.1")));
        assert!(!t.is_suppressed(2_300_006, ip("10.2.1.1"), a));
        // the global entry: either address in $MONITORS, any signature
        assert!(t.is_suppressed(2_100_003, ip("192.0.2.11"), a));
        assert!(t.is_suppressed(2_400_001, a, ip("192.0.2.10")));
        assert!(!t.is_suppressed(2_400_001, a, ip("192.0.2.12")));
        assert!(t.threshold(2_200_013).is_none());
    }

    #[test]
    fn thresholds_by_signature_win_over_the_global_one() {
        let t = parse(
            "threshold gen_id 1, sig_id 2300032, type limit, track by_src, count 1, seconds 3600\n\
             event_filter gen_id 1, sig_id 2200003, type both, track by_both, count 5, seconds 60\n\
             threshold gen_id 0, sig_id 0, type threshold, track by_rule, count 10, seconds 10\n",
        )
        .unwrap();
        assert_eq!(
            t.threshold(2_300_032),
            Some(&Threshold {
                kind: ThresholdKind::Limit,
                track: Track::BySrc,
                count: 1,
                seconds: 3600
            })
        );
        assert_eq!(t.threshold(2_200_003).unwrap().track, Track::ByBoth);
        assert_eq!(t.threshold(2_200_003).unwrap().kind, ThresholdKind::Both);
        assert_eq!(t.threshold(2_400_001).unwrap().count, 10);
        assert!(!t.is_suppressed(2_300_032, ip("10.0.0.1"), ip("10.0.0.2")));
    }

    #[test]
    fn errors_name_line_and_column() {
        let cases = [
            (
                "suppress gen_id 1, sig_id 42",
                "threshold.config:1:20: unknown sig_id 42: neither a rule nor a built-in signature",
            ),
            (
                "suppress gen_id 3, sig_id 2200001",
                "threshold.config:1:10: gen_id must be 1 (every voip-sentinel signature) or 0 (all), got 3",
            ),
            (
                "suppres gen_id 1, sig_id 2200001",
                "threshold.config:1:1: expected suppress, threshold or event_filter, got 'suppres'",
            ),
            (
                "suppress gen_id 1, sig_id 2200001, track by_src",
                "threshold.config:1:1: suppress: track needs an ip",
            ),
            (
                "suppress gen_id 1, sig_id 2200001, ip 10.0.0.1",
                "threshold.config:1:36: suppress: ip needs a track (by_src, by_dst or by_either)",
            ),
            (
                "suppress gen_id 1, sig_id 2200001, track by_src, ip 10.0.0.300",
                "threshold.config:1:50: ip: ",
            ),
            (
                "suppress gen_id 1, sig_id 2200001, track by_rule, ip 10.0.0.1",
                "threshold.config:1:36: suppress: track must be by_src, by_dst or by_either, got 'by_rule'",
            ),
            (
                "threshold gen_id 1, sig_id 2200001, type limit, track by_src, count 1",
                "threshold.config:1:1: threshold: missing 'seconds'",
            ),
            (
                "threshold gen_id 1, sig_id 2200001, type often, track by_src, count 1, seconds 2",
                "threshold.config:1:37: threshold: type must be limit, threshold or both, got 'often'",
            ),
            (
                "threshold gen_id 1, sig_id 2200001, type limit, track by_src, count 0, seconds 2",
                "threshold.config:1:1: threshold: count and seconds must be at least 1",
            ),
            (
                "rate_filter gen_id 1, sig_id 2200001, track by_rule, count 1, seconds 1, new_action drop, timeout 1",
                "threshold.config:1:1: rate_filter is not supported",
            ),
            (
                "suppress gen_id 1, sig_id 2200001, colour blue",
                "threshold.config:1:36: unknown field 'colour' for suppress",
            ),
            (
                "suppress gen_id 1, sig_id 2200001,",
                "threshold.config:1:35: empty field",
            ),
            (
                "suppress gen_id 0, sig_id 2200001",
                "threshold.config:1:20: gen_id 0 goes with sig_id 0",
            ),
            (
                "suppress sig_id 2200001, sig_id 2200002",
                "threshold.config:1:26: 'sig_id' given twice",
            ),
        ];
        for (text, want) in cases {
            let errs = parse(text).unwrap_err();
            assert!(
                errs.iter().any(|e| e.starts_with(want)),
                "{text}\n  want {want}\n  got {errs:?}"
            );
        }
        // a second threshold for one sid, on a later line
        let errs = parse(
            "threshold gen_id 1, sig_id 2200001, type limit, track by_src, count 1, seconds 2\n\
             \n\
             threshold gen_id 1, sig_id 2200001, type limit, track by_dst, count 1, seconds 2\n",
        )
        .unwrap_err();
        assert_eq!(
            errs,
            ["threshold.config:3:1: a threshold for sig_id 2200001 is already set at line 1"]
        );
        // every bad line is reported, not only the first
        assert_eq!(
            parse("suppress gen_id 1, sig_id 1\nsuppress gen_id 1, sig_id 2\n")
                .unwrap_err()
                .len(),
            2
        );
    }

    #[test]
    fn an_empty_file_tunes_nothing() {
        let t = parse("\n# nothing yet\n").unwrap();
        assert!(t.is_empty());
        assert!(!t.is_suppressed(2_200_001, ip("10.0.0.1"), ip("10.0.0.2")));
    }
}
