//! Toll fraud, decided from INVITEs (initial requests, retransmissions excluded), their final
//! responses and BYEs: calls to `blocked`, `premium` and `high-risk` destinations of the number
//! plan (`rules/numbering.plan`), bursts of international calls per account (From user@host) and
//! per source IP, concurrent answered calls per account and per source, a call rate far above
//! the account's own hourly baseline, many short answered calls, dial-prefix probing (failed
//! INVITEs to many distinct prefixes), calls outside business hours, and long calls to premium
//! or high-risk destinations.
//!
//! Baseline (2300027): each account keeps an exponentially weighted hourly call rate
//! `b = a*h + (1-a)*b` updated when a clock hour (packet time) closes (`a` =
//! `baseline_alpha_pct`/100, empty hours count as 0). Once `baseline_learn_hours` hours are
//! learned, the alert fires when the calls of the last `baseline_window` seconds, scaled to an
//! hour, exceed `baseline_factor` x `b`, and are at least `baseline_min_calls` (defaults: 10x,
//! 20 calls in 300 s, a = 20 %, 24 h learned).
//!
//! All state is capped (accounts, sources, calls) and evicted least recently seen, counted.

use std::collections::{BTreeMap, VecDeque};
use std::net::IpAddr;

use serde_json::json;

use super::error::ConfigError;
use super::table::{Distinct, Lru, Rate, VALUE_CLIP};
use super::{secs, usize_of, Emit};
use super::{
    FRAUD_AFTER_HOURS, FRAUD_BASELINE, FRAUD_BLOCKED, FRAUD_CONCURRENT_ACCOUNT,
    FRAUD_CONCURRENT_SOURCE, FRAUD_CONCURRENT_TRUNK, FRAUD_HIGH_RISK, FRAUD_INTL_ACCOUNT,
    FRAUD_INTL_SOURCE, FRAUD_LONG_CALL, FRAUD_PREMIUM, FRAUD_PROBING, FRAUD_SHORT_CALLS,
};
use crate::base::iptext::IpText;
use crate::base::packet::PacketCtx;
use crate::base::time::Ts;
use crate::dialog::msg::{clip_in_place, clipped};
use crate::dialog::Msg;

// ---------------------------------------------------------------------------------------------
// Number plan
// ---------------------------------------------------------------------------------------------

/// The class of a destination range.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Class {
    Blocked,
    Premium,
    HighRisk,
    International,
    National,
    Emergency,
}

impl Class {
    pub fn name(self) -> &'static str {
        match self {
            Class::Blocked => "blocked",
            Class::Premium => "premium",
            Class::HighRisk => "high-risk",
            Class::International => "international",
            Class::National => "national",
            Class::Emergency => "emergency",
        }
    }

    fn parse(s: &str) -> Option<Class> {
        Some(match s.to_ascii_lowercase().as_str() {
            "blocked" => Class::Blocked,
            "premium" => Class::Premium,
            "high-risk" => Class::HighRisk,
            "international" => Class::International,
            "national" => Class::National,
            "emergency" => Class::Emergency,
            _ => return None,
        })
    }
}

/// Prefix -> (class, label). Emergency entries match whole numbers only.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NumberPlan {
    pub entries: BTreeMap<String, (Class, String)>,
}

/// The plan shipped in rules/numbering.plan (the built-in default).
pub const DEFAULT_PLAN: &str = include_str!("../../rules/numbering.plan");

impl Default for NumberPlan {
    fn default() -> Self {
        parse_plan(DEFAULT_PLAN).unwrap_or(NumberPlan {
            entries: BTreeMap::new(),
        })
    }
}

/// Longest E.164 number (ITU-T E.164: 15 digits).
pub const E164_MAX: usize = 15;

/// Read a number plan: `PREFIX CLASS [label]` lines, `#` comments. Errors: (line, column, what).
pub fn parse_plan(text: &str) -> Result<NumberPlan, Vec<ConfigError>> {
    let mut entries = BTreeMap::new();
    let mut errors = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line_no = i + 1;
        let line = raw.split('#').next().unwrap_or("");
        let col = |sub: &str| -> usize {
            let off = (sub.as_ptr() as usize).saturating_sub(raw.as_ptr() as usize);
            raw.get(..off).map_or(1, |p| p.chars().count() + 1)
        };
        let mut words = line.split_whitespace();
        let Some(prefix_w) = words.next() else {
            continue;
        };
        let prefix = prefix_w.strip_prefix('+').unwrap_or(prefix_w);
        if prefix.is_empty() || !prefix.bytes().all(|b| b.is_ascii_digit()) {
            errors.push((
                line_no,
                col(prefix_w),
                format!("prefix `{prefix_w}` is not E.164 digits"),
            ));
            continue;
        }
        if prefix.len() > E164_MAX {
            errors.push((
                line_no,
                col(prefix_w),
                format!("prefix `{prefix_w}` longer than {E164_MAX} digits"),
            ));
            continue;
        }
        let Some(class_w) = words.next() else {
            errors.push((
                line_no,
                col(prefix_w) + prefix_w.chars().count(),
                format!("prefix `{prefix_w}` without a class"),
            ));
            continue;
        };
        let Some(class) = Class::parse(class_w) else {
            errors.push((
                line_no,
                col(class_w),
                format!(
                    "unknown class `{class_w}` (blocked, premium, high-risk, international, national, emergency)"
                ),
            ));
            continue;
        };
        let label = words.collect::<Vec<_>>().join(" ");
        if entries.contains_key(prefix) {
            errors.push((
                line_no,
                col(prefix_w),
                format!("prefix `{prefix}` listed twice"),
            ));
            continue;
        }
        entries.insert(prefix.to_string(), (class, label));
    }
    if errors.is_empty() {
        Ok(NumberPlan { entries })
    } else {
        Err(errors)
    }
}

impl NumberPlan {
    /// The entry of the longest prefix of `digits` (emergency entries: whole number only).
    pub fn classify(&self, digits: &str) -> Option<(&str, Class, &str)> {
        let max = digits.len().min(E164_MAX);
        for n in (1..=max).rev() {
            let Some(p) = digits.get(..n) else { continue };
            if let Some((k, (class, label))) = self.entries.get_key_value(p) {
                if *class == Class::Emergency && n != digits.len() {
                    continue;
                }
                return Some((k.as_str(), *class, label.as_str()));
            }
        }
        None
    }
}

/// A dialled number after normalisation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dialled {
    /// Digits only (E.164 without `+` when `international`).
    pub digits: String,
    /// Written in international format (`+`, or an international prefix).
    pub international: bool,
}

/// How a number was dialled, in the site's dialling context.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DialledAs {
    /// `+` or an international prefix: the digits are E.164.
    International,
    /// The national prefix with a known home country: E.164 is the home country and the rest.
    National,
    /// An extension or short code (at most `extension_digits`, no international prefix).
    Extension,
    /// Anything else without an international prefix: no country can be told.
    Local,
}

impl DialledAs {
    pub fn name(self) -> &'static str {
        match self {
            DialledAs::International => "international",
            DialledAs::National => "national",
            DialledAs::Extension => "extension",
            DialledAs::Local => "local",
        }
    }
}

/// Place a normalised number in the dialling context: how it was dialled, and its E.164 digits
/// when that can be told (international format, or the national prefix with a home country).
/// Only E.164 digits are classified against the plan's country, premium and high-risk ranges;
/// an extension such as 225 is never Cote d'Ivoire.
pub fn in_context(d: &Dialled, cfg: &FraudConfig) -> (DialledAs, Option<String>) {
    if d.international {
        return (DialledAs::International, Some(d.digits.clone()));
    }
    if d.digits.len() as u64 <= cfg.extension_digits {
        return (DialledAs::Extension, None);
    }
    let np = cfg.national_prefix.as_str();
    match d.digits.strip_prefix(np) {
        Some(rest) if !np.is_empty() && !cfg.home_country.is_empty() && !rest.is_empty() => {
            let e164 = format!("{}{rest}", cfg.home_country);
            (
                DialledAs::National,
                (e164.len() <= E164_MAX).then_some(e164),
            )
        }
        _ => (DialledAs::Local, None),
    }
}

/// Normalise a user part or URI into digits: drop `<>`, a `sip:`/`sips:`/`tel:` scheme, `@host`,
/// `;params`, `?headers`, visual separators (space - . ( ) /), then a leading `+` or one of
/// `intl_prefixes` (longest first). `None` unless 1..=20 digits remain.
pub fn normalise(raw: &str, intl_prefixes: &[String]) -> Option<Dialled> {
    let mut s = raw
        .trim()
        .trim_start_matches('<')
        .trim_end_matches('>')
        .trim();
    for scheme in ["sips:", "sip:", "tel:"] {
        if s.len() >= scheme.len()
            && s.get(..scheme.len())
                .is_some_and(|p| p.eq_ignore_ascii_case(scheme))
        {
            s = s.get(scheme.len()..).unwrap_or("");
            break;
        }
    }
    let s = s.split(['@', ';', '?']).next().unwrap_or("");
    let mut s: String = s
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '.' | '(' | ')' | '/'))
        .collect();
    // The prefix is taken off in place (the digits are the one string a number costs).
    let (rest, international) = if s.starts_with('+') {
        s.remove(0);
        (s, true)
    } else {
        let best = intl_prefixes
            .iter()
            .filter(|p| !p.is_empty() && s.starts_with(p.as_str()) && s.len() > p.len())
            .fold(None::<&String>, |best, p| match best {
                Some(b) if p.len() <= b.len() => Some(b),
                _ => Some(p),
            })
            .map(String::len);
        match best {
            Some(n) => {
                s.drain(..n);
                (s, true)
            }
            None => (s, false),
        }
    };
    if rest.is_empty() || rest.len() > 20 || !rest.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(Dialled {
        digits: rest,
        international,
    })
}

// ---------------------------------------------------------------------------------------------
// Configuration ([fraud] of detectors.conf)
// ---------------------------------------------------------------------------------------------

/// Business hours for the after-hours alert, in local time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BusinessHours {
    /// Minutes since local midnight, start inclusive, end exclusive (end < start: overnight).
    pub start: u32,
    pub end: u32,
    /// Local time minus UTC, minutes.
    pub offset_min: i64,
    /// Monday = bit 0 .. Sunday = bit 6.
    pub days: u8,
}

const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

fn parse_hhmm(s: &str) -> Option<u32> {
    let (h, m) = s.trim().split_once(':')?;
    let (h, m) = (h.parse::<u32>().ok()?, m.parse::<u32>().ok()?);
    (h <= 24 && m < 60 && h * 60 + m <= 1440).then(|| h * 60 + m)
}

fn parse_hours(s: &str) -> Option<(u32, u32)> {
    let (a, b) = s.split_once('-')?;
    Some((parse_hhmm(a)?, parse_hhmm(b)?))
}

fn parse_offset(s: &str) -> Option<i64> {
    let s = s.trim();
    let (sign, rest) = match s.as_bytes().first()? {
        b'+' => (1, s.get(1..)?),
        b'-' => (-1, s.get(1..)?),
        _ => (1, s),
    };
    let (h, m) = rest.split_once(':')?;
    let (h, m) = (h.parse::<i64>().ok()?, m.parse::<i64>().ok()?);
    (h <= 14 && m < 60).then(|| sign * (h * 60 + m))
}

fn parse_days(s: &str) -> Option<u8> {
    let mut mask = 0u8;
    for part in s.split(',') {
        let part = part.trim().to_ascii_lowercase();
        let idx = |d: &str| DAYS.iter().position(|x| *x == d.trim());
        if let Some((a, b)) = part.split_once('-') {
            let (a, b) = (idx(a)?, idx(b)?);
            let mut d = a;
            loop {
                mask |= 1 << d;
                if d == b {
                    break;
                }
                d = (d + 1) % 7;
            }
        } else {
            mask |= 1 << idx(&part)?;
        }
    }
    (mask != 0).then_some(mask)
}

impl BusinessHours {
    /// Is `ts` (UTC packet time) within business hours, local time?
    pub fn contains(&self, ts: Ts) -> bool {
        let local = (ts.as_nanos() / 1_000_000_000) as i64 + self.offset_min * 60;
        let days = local.div_euclid(86_400);
        let minute = (local.rem_euclid(86_400) / 60) as u32;
        // 1970-01-01 was a Thursday (index 3 from Monday).
        let weekday = (days + 3).rem_euclid(7) as u8;
        if self.days & (1 << weekday) == 0 {
            return false;
        }
        if self.start <= self.end {
            (self.start..self.end).contains(&minute)
        } else {
            minute >= self.start || minute < self.end
        }
    }

    fn hours_text(&self) -> String {
        format!(
            "{:02}:{:02}-{:02}:{:02}",
            self.start / 60,
            self.start % 60,
            self.end / 60,
            self.end % 60
        )
    }

    fn offset_text(&self) -> String {
        let sign = if self.offset_min < 0 { '-' } else { '+' };
        let m = self.offset_min.abs();
        format!("{sign}{:02}:{:02}", m / 60, m % 60)
    }

    fn days_text(&self) -> String {
        DAYS.iter()
            .enumerate()
            .filter(|(i, _)| self.days & (1 << i) != 0)
            .map(|(_, d)| *d)
            .collect::<Vec<_>>()
            .join(",")
    }
}

impl Default for BusinessHours {
    fn default() -> Self {
        BusinessHours {
            start: 8 * 60,
            end: 18 * 60,
            offset_min: 60,
            days: 0b001_1111,
        }
    }
}

/// `[fraud]`: toll-fraud thresholds (windows in seconds of packet time).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FraudConfig {
    /// International dialling prefixes stripped on normalisation (00, 011; drop 011 where it is
    /// a national area code, e.g. UK 0114).
    pub international_prefix: Vec<String>,
    /// Our country code: international-format numbers under it are not international ("" none).
    pub home_country: String,
    /// The national (trunk) prefix, `0` in most of Europe, `1` in NANP: with `home_country`, a
    /// number dialled with it is a national number, classified as `home_country` + the rest
    /// ("" none: numbers without an international prefix are not classified).
    pub national_prefix: String,
    /// Numbers of at most this many digits dialled without an international prefix are
    /// extensions or short codes (6): never a country, premium or international destination,
    /// and not dial-prefix probing (a walk over them is extension enumeration).
    pub extension_digits: u64,
    /// International calls of one account / one source that make a burst (10 in 60 s).
    pub intl_calls: u64,
    pub intl_window: u64,
    /// Answered calls up at once per account and per source; the next one alerts (10).
    pub max_concurrent: u64,
    /// Answered calls up at once towards one destination address (a trunk); 0: off.
    pub max_concurrent_trunk: u64,
    /// Baseline alert: factor over the hourly EWMA (10), minimum calls (20) in the window (300).
    pub baseline_factor: u64,
    pub baseline_min_calls: u64,
    pub baseline_window: u64,
    /// EWMA weight of the last hour, percent (20).
    pub baseline_alpha_pct: u64,
    /// Hours learned before the baseline alert may fire (24). 0: no learning, an account's
    /// baseline starts at 0 calls/h (any `baseline_min_calls` calls in the window alert).
    pub baseline_learn_hours: u64,
    /// Answered calls shorter than this many seconds are short (10) ...
    pub short_call_secs: u64,
    /// ... and this many of one source (20) in this window (300) alert.
    pub short_calls: u64,
    pub short_window: u64,
    /// Failed INVITEs (4xx-6xx but 487) of one source to this many distinct prefixes (10) of
    /// `probe_digits` digits (4) within `probe_window` (300).
    pub probe_prefixes: u64,
    pub probe_digits: u64,
    pub probe_window: u64,
    /// After-hours alert on (1) or off (0, default).
    pub after_hours: u64,
    pub business: BusinessHours,
    /// Calls to premium/high-risk up (or ended) after this many seconds alert (600).
    pub long_call_secs: u64,
    /// A call without any signalling for this long is forgotten (14400).
    pub call_timeout: u64,
    /// An account without calls for this long is forgotten, baseline included (604800).
    pub account_idle: u64,
    pub max_accounts: u64,
    pub max_sources: u64,
    pub max_calls: u64,
}

impl Default for FraudConfig {
    fn default() -> Self {
        FraudConfig {
            international_prefix: vec!["00".to_string(), "011".to_string()],
            home_country: String::new(),
            national_prefix: String::new(),
            extension_digits: 6,
            intl_calls: 10,
            intl_window: 60,
            max_concurrent: 10,
            max_concurrent_trunk: 0,
            baseline_factor: 10,
            baseline_min_calls: 20,
            baseline_window: 300,
            baseline_alpha_pct: 20,
            baseline_learn_hours: 24,
            short_call_secs: 10,
            short_calls: 20,
            short_window: 300,
            probe_prefixes: 10,
            probe_digits: 4,
            probe_window: 300,
            after_hours: 0,
            business: BusinessHours::default(),
            long_call_secs: 600,
            call_timeout: 14_400,
            account_idle: 604_800,
            max_accounts: 10_000,
            max_sources: 10_000,
            max_calls: 20_000,
        }
    }
}

/// A whole number within `min..=max`.
pub(crate) fn num(key: &str, value: &str, min: u64, max: u64) -> Result<u64, String> {
    match value.replace('_', "").parse::<u64>() {
        Ok(n) if (min..=max).contains(&n) => Ok(n),
        Ok(n) => Err(format!("{key} = {n}: out of range {min}..={max}")),
        Err(_) => Err(format!("{key}: `{value}` is not a whole number")),
    }
}

/// A comma-separated list, items trimmed, empty items dropped.
pub(crate) fn list(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

const MAX_COUNT: u64 = 1_000_000;
const MAX_SECS: u64 = 30 * 86_400;
const MAX_KEYS: u64 = 10_000_000;

impl FraudConfig {
    /// Set `key` from `value`: `None` for an unknown key, `Some(Err)` for a bad value.
    pub fn set(&mut self, key: &str, value: &str) -> Option<Result<(), String>> {
        let n = |min: u64, max: u64| num(key, value, min, max);
        let slot = match key {
            "international_prefix" => {
                let l = list(value);
                if l.iter().any(|p| !p.bytes().all(|b| b.is_ascii_digit())) {
                    return Some(Err(format!("{key}: digits expected")));
                }
                self.international_prefix = l;
                return Some(Ok(()));
            }
            "home_country" => {
                if !value.bytes().all(|b| b.is_ascii_digit()) || value.len() > 3 {
                    return Some(Err(format!("{key}: a country code (1-3 digits) expected")));
                }
                self.home_country = value.to_string();
                return Some(Ok(()));
            }
            "national_prefix" => {
                if !value.bytes().all(|b| b.is_ascii_digit()) || value.len() > 2 {
                    return Some(Err(format!("{key}: a trunk prefix (0-2 digits) expected")));
                }
                self.national_prefix = value.to_string();
                return Some(Ok(()));
            }
            "business_hours" => {
                return Some(match parse_hours(value) {
                    Some((s, e)) => {
                        self.business.start = s;
                        self.business.end = e;
                        Ok(())
                    }
                    None => Err(format!("{key}: `HH:MM-HH:MM` expected")),
                })
            }
            "timezone_offset" => {
                return Some(match parse_offset(value) {
                    Some(o) => {
                        self.business.offset_min = o;
                        Ok(())
                    }
                    None => Err(format!("{key}: `+HH:MM` expected")),
                })
            }
            "business_days" => {
                return Some(match parse_days(value) {
                    Some(d) => {
                        self.business.days = d;
                        Ok(())
                    }
                    None => Err(format!("{key}: days like `mon-fri` or `mon,wed` expected")),
                })
            }
            "intl_calls" => (&mut self.intl_calls, 1, MAX_COUNT),
            "intl_window" => (&mut self.intl_window, 1, MAX_SECS),
            "max_concurrent" => (&mut self.max_concurrent, 1, MAX_COUNT),
            "max_concurrent_trunk" => (&mut self.max_concurrent_trunk, 0, MAX_COUNT),
            "baseline_factor" => (&mut self.baseline_factor, 1, MAX_COUNT),
            "baseline_min_calls" => (&mut self.baseline_min_calls, 1, MAX_COUNT),
            "baseline_window" => (&mut self.baseline_window, 10, 3600),
            "baseline_alpha_pct" => (&mut self.baseline_alpha_pct, 1, 100),
            "baseline_learn_hours" => (&mut self.baseline_learn_hours, 0, 24 * 365),
            "short_call_secs" => (&mut self.short_call_secs, 1, 3600),
            "short_calls" => (&mut self.short_calls, 1, MAX_COUNT),
            "short_window" => (&mut self.short_window, 1, MAX_SECS),
            "probe_prefixes" => (&mut self.probe_prefixes, 2, MAX_COUNT),
            "probe_digits" => (&mut self.probe_digits, 1, E164_MAX as u64),
            "probe_window" => (&mut self.probe_window, 1, MAX_SECS),
            "extension_digits" => (&mut self.extension_digits, 0, E164_MAX as u64),
            "after_hours" => (&mut self.after_hours, 0, 1),
            "long_call_secs" => (&mut self.long_call_secs, 1, MAX_SECS),
            "call_timeout" => (&mut self.call_timeout, 60, MAX_SECS),
            "account_idle" => (&mut self.account_idle, 60, 365 * 86_400),
            "max_accounts" => (&mut self.max_accounts, 1, MAX_KEYS),
            "max_sources" => (&mut self.max_sources, 1, MAX_KEYS),
            "max_calls" => (&mut self.max_calls, 1, MAX_KEYS),
            _ => return None,
        };
        let (field, min, max) = slot;
        Some(n(min, max).map(|v| *field = v))
    }

    pub fn to_text(&self) -> String {
        let mut s = String::from("[fraud]\n");
        let mut kv = |k: &str, v: String| s.push_str(&format!("{k} = {v}\n"));
        kv("international_prefix", self.international_prefix.join(", "));
        kv("home_country", self.home_country.clone());
        kv("national_prefix", self.national_prefix.clone());
        for (k, v) in [
            ("intl_calls", self.intl_calls),
            ("intl_window", self.intl_window),
            ("max_concurrent", self.max_concurrent),
            ("max_concurrent_trunk", self.max_concurrent_trunk),
            ("baseline_factor", self.baseline_factor),
            ("baseline_min_calls", self.baseline_min_calls),
            ("baseline_window", self.baseline_window),
            ("baseline_alpha_pct", self.baseline_alpha_pct),
            ("baseline_learn_hours", self.baseline_learn_hours),
            ("short_call_secs", self.short_call_secs),
            ("short_calls", self.short_calls),
            ("short_window", self.short_window),
            ("probe_prefixes", self.probe_prefixes),
            ("probe_digits", self.probe_digits),
            ("probe_window", self.probe_window),
            ("extension_digits", self.extension_digits),
            ("after_hours", self.after_hours),
            ("long_call_secs", self.long_call_secs),
            ("call_timeout", self.call_timeout),
            ("account_idle", self.account_idle),
            ("max_accounts", self.max_accounts),
            ("max_sources", self.max_sources),
            ("max_calls", self.max_calls),
        ] {
            kv(k, v.to_string());
        }
        kv("business_hours", self.business.hours_text());
        kv("timezone_offset", self.business.offset_text());
        kv("business_days", self.business.days_text());
        s
    }
}

// ---------------------------------------------------------------------------------------------
// Detector
// ---------------------------------------------------------------------------------------------

/// Calls counted in fixed sub-windows (a tenth of the window each): bounded memory whatever
/// the rate.
#[derive(Default, Debug)]
struct Buckets {
    last: u64,
    counts: [u32; 10],
}

impl Buckets {
    fn hit(&mut self, now: Ts, window_ns: u64) -> u64 {
        let width = (window_ns / 10).max(1);
        let idx = now.as_nanos() / width;
        if idx > self.last {
            let gap = idx - self.last;
            if gap >= 10 {
                self.counts = [0; 10];
            } else {
                for k in 1..=gap {
                    self.counts[((self.last + k) % 10) as usize] = 0;
                }
            }
            self.last = idx;
        }
        if idx.saturating_add(10) > self.last {
            let c = &mut self.counts[(idx % 10) as usize];
            *c = c.saturating_add(1);
        }
        self.counts.iter().map(|c| u64::from(*c)).sum()
    }
}

#[derive(Default, Debug)]
struct Baseline {
    hour: u64,
    in_hour: u64,
    ewma: f64,
    learned: u64,
    started: bool,
    recent: Buckets,
}

impl Baseline {
    /// Count a call at `now`; (calls in the window, baseline, hours learned).
    fn hit(&mut self, now: Ts, window_ns: u64, alpha: f64) -> (u64, f64, u64) {
        let hour = now.as_nanos() / secs(3600);
        if !self.started {
            self.started = true;
            self.hour = hour;
        } else if hour > self.hour {
            let closed = self.in_hour as f64;
            self.ewma = if self.learned == 0 {
                closed
            } else {
                alpha * closed + (1.0 - alpha) * self.ewma
            };
            let empty = (hour - self.hour - 1).min(10_000);
            self.ewma *= (1.0 - alpha).powi(empty as i32);
            self.learned = self.learned.saturating_add(1 + empty);
            self.hour = hour;
            self.in_hour = 0;
        }
        self.in_hour = self.in_hour.saturating_add(1);
        (self.recent.hit(now, window_ns), self.ewma, self.learned)
    }
}

#[derive(Default)]
pub struct Account {
    intl: Rate,
    active: u64,
    baseline: Baseline,
}

#[derive(Default)]
pub struct Source {
    intl: Rate,
    active: u64,
    short: Rate,
    probes: Distinct,
}

#[derive(Clone)]
pub struct Call {
    ctx: PacketCtx,
    account: String,
    number: Option<String>,
    /// Dialled as an extension: failures to it are enumeration, not dial-prefix probing.
    extension: bool,
    class: Option<Class>,
    label: String,
    answered: Option<Ts>,
    long_alerted: bool,
}

pub struct Fraud {
    pub accounts: Lru<String, Account>,
    pub sources: Lru<IpAddr, Source>,
    /// Answered calls up per destination address (trunk), when `max_concurrent_trunk` is on.
    pub trunks: Lru<IpAddr, u64>,
    pub calls: Lru<String, Call>,
    /// (when due, Call-ID, answer time): answered premium/high-risk calls to check for length.
    long_due: VecDeque<(Ts, String, Ts)>,
    pub long_queue_dropped: u64,
}

fn is_invite(s: &str) -> bool {
    s.eq_ignore_ascii_case("INVITE")
}

/// Account key: From user@host.
fn account_of(m: &Msg) -> Option<String> {
    let f = m.from.as_ref()?;
    let user = f.user.as_deref().unwrap_or("");
    let mut a = [user, "@", &f.host].concat();
    clip_in_place(&mut a, VALUE_CLIP);
    Some(a)
}

/// The called number: Request-URI user, else To user.
/// Raise `sig` about the call whose INVITE was `call` (its caller is the actor), on the message
/// at `at` that decided it.
fn fire_for(
    emit: &mut Emit<'_>,
    call: &PacketCtx,
    sig: super::signature::Signature,
    key: &str,
    at: &PacketCtx,
    ev: impl FnOnce() -> serde_json::Value,
) -> bool {
    emit.fire_by(call.src, sig, key, &acting(call, at), ev)
}

/// A final status that says the call reached the called party (or the caller gave up): not a
/// route refused.
fn reached_callee(status: u16) -> bool {
    matches!(status, 480 | 486 | 487 | 600 | 603)
}

/// Where an alert about a call is raised, given the message that decided it: that message's
/// packet when it travels to or from the caller; else (a proxy's other leg of the call, as the
/// carrier's 486 to the proxy) the caller's INVITE packet at the message's time, so that the
/// alert's source is the caller, not the carrier.
fn acting(call: &PacketCtx, m: &PacketCtx) -> PacketCtx {
    if m.src == call.src || m.dst == call.src {
        *m
    } else {
        PacketCtx { ts: m.ts, ..*call }
    }
}

pub fn called_raw(m: &Msg) -> Option<&str> {
    m.uri
        .as_deref()
        .and_then(super::uri_user)
        .or_else(|| m.to.as_ref().and_then(|p| p.user.as_deref()))
}

impl Fraud {
    pub fn new(cfg: &FraudConfig) -> Fraud {
        Fraud {
            accounts: Lru::new(usize_of(cfg.max_accounts)),
            sources: Lru::new(usize_of(cfg.max_sources)),
            trunks: Lru::new(usize_of(cfg.max_sources)),
            calls: Lru::new(usize_of(cfg.max_calls)),
            long_due: VecDeque::new(),
            long_queue_dropped: 0,
        }
    }

    pub fn configure(&mut self, cfg: &FraudConfig) {
        self.accounts.set_max_keys(usize_of(cfg.max_accounts));
        self.sources.set_max_keys(usize_of(cfg.max_sources));
        self.trunks.set_max_keys(usize_of(cfg.max_sources));
        self.calls.set_max_keys(usize_of(cfg.max_calls));
    }

    /// A request (not a retransmission).
    pub(crate) fn on_request(
        &mut self,
        cfg: &FraudConfig,
        plan: &NumberPlan,
        m: &Msg,
        emit: &mut Emit<'_>,
    ) {
        let Some(method) = m.method.as_deref() else {
            return;
        };
        let Some(call_id) = m.call_id.as_deref() else {
            return;
        };
        let cid = clipped(call_id, VALUE_CLIP);
        if method.eq_ignore_ascii_case("BYE") {
            self.on_bye(cfg, cid, m, emit);
            return;
        }
        if !is_invite(method) {
            return;
        }
        let ts = m.ctx.ts;
        if m.to.as_ref().is_some_and(|t| t.tag.is_some()) {
            // re-INVITE within a dialog: keep the call alive
            let _ = self.calls.get_mut(cid);
            return;
        }
        if self.calls.get_mut(cid).is_some() {
            return; // same call, new CSeq (e.g. after a 401 challenge): counted once
        }
        let ctx = &m.ctx;
        // Borrowed or on the stack where they can be: a new INVITE allocates only what the call
        // keeps (its account and number) and what an alert writes.
        let src = IpText::new(&ctx.src);
        let src = src.as_str();
        let account = account_of(m).unwrap_or_else(|| "?".to_string());
        let raw = called_raw(m);
        let dialled = raw.and_then(|u| normalise(u, &cfg.international_prefix));
        let (dialled_as, e164) = match &dialled {
            Some(d) => in_context(d, cfg),
            None => (DialledAs::Local, None),
        };
        let hit = match &e164 {
            Some(digits) => plan.classify(digits),
            // Not E.164: only an emergency number (a whole-number match) can be told.
            None => dialled
                .as_ref()
                .and_then(|d| plan.classify(&d.digits))
                .filter(|h| h.1 == Class::Emergency),
        }
        .map(|(p, c, l)| (p, c, clipped(l, 120)));
        let class = hit.map(|h| h.1);
        let international = match (class, dialled_as, &e164) {
            (Some(Class::National | Class::Emergency), _, _) => false,
            (Some(Class::International | Class::HighRisk), _, _) => true,
            (_, DialledAs::International, Some(d)) => {
                cfg.home_country.is_empty() || !d.starts_with(&cfg.home_country)
            }
            _ => false,
        };
        let number = e164.or_else(|| dialled.map(|d| d.digits));
        let as_dialled = raw.map(|r| clipped(r, 64));
        let ev_base = || {
            json!({
                "source": src,
                "account": account,
                "number": number,
                "dialled": as_dialled,
                "dialled_as": dialled_as.name(),
                "prefix": hit.map(|h| h.0),
                "class": class.map(Class::name),
                "label": hit.map(|h| h.2),
                "call_id": cid,
            })
        };
        match class {
            Some(Class::Blocked) => {
                emit.fire(FRAUD_BLOCKED, cid, ctx, ev_base);
            }
            Some(Class::Premium) => {
                emit.fire(FRAUD_PREMIUM, src, ctx, ev_base);
            }
            Some(Class::HighRisk) => {
                emit.fire(FRAUD_HIGH_RISK, src, ctx, ev_base);
            }
            _ => {}
        }
        let alpha = cfg.baseline_alpha_pct as f64 / 100.0;
        let a = self
            .accounts
            .touch_by(account.as_str(), ts, || account.clone(), Account::default);
        if international {
            let n = a.intl.hit(ts, secs(cfg.intl_window), cfg.intl_calls);
            if n >= cfg.intl_calls {
                let since = a.intl.since_alert;
                let ev = || {
                    let mut e = ev_base();
                    e["international_calls"] = n.into();
                    e["calls_since_last_alert"] = since.into();
                    e["window_s"] = cfg.intl_window.into();
                    e["threshold"] = cfg.intl_calls.into();
                    e
                };
                if emit.fire(FRAUD_INTL_ACCOUNT, &account, ctx, ev) {
                    a.intl.since_alert = 0;
                }
            }
        }
        let (recent, base, learned) = a.baseline.hit(ts, secs(cfg.baseline_window), alpha);
        let hourly = recent as f64 * 3600.0 / cfg.baseline_window.max(1) as f64;
        if learned >= cfg.baseline_learn_hours
            && recent >= cfg.baseline_min_calls
            && hourly > cfg.baseline_factor as f64 * base
        {
            let ev = || {
                let mut e = ev_base();
                e["calls_in_window"] = recent.into();
                e["window_s"] = cfg.baseline_window.into();
                e["rate_per_hour"] = json!((hourly * 10.0).round() / 10.0);
                e["baseline_per_hour"] = json!((base * 100.0).round() / 100.0);
                e["hours_learned"] = learned.into();
                e["factor"] = cfg.baseline_factor.into();
                e["min_calls"] = cfg.baseline_min_calls.into();
                e
            };
            emit.fire(FRAUD_BASELINE, &account, ctx, ev);
        }
        if international {
            let s = self.sources.touch(ctx.src, ts, Source::default);
            let n = s.intl.hit(ts, secs(cfg.intl_window), cfg.intl_calls);
            if n >= cfg.intl_calls {
                let since = s.intl.since_alert;
                let ev = || {
                    let mut e = ev_base();
                    e["international_calls"] = n.into();
                    e["calls_since_last_alert"] = since.into();
                    e["window_s"] = cfg.intl_window.into();
                    e["threshold"] = cfg.intl_calls.into();
                    e
                };
                if emit.fire(FRAUD_INTL_SOURCE, src, ctx, ev) {
                    s.intl.since_alert = 0;
                }
            }
        }
        if cfg.after_hours != 0
            && !matches!(class, Some(Class::Emergency))
            && !cfg.business.contains(ts)
        {
            let ev = || {
                let mut e = ev_base();
                e["business_hours"] = cfg.business.hours_text().into();
                e["business_days"] = cfg.business.days_text().into();
                e["timezone_offset"] = cfg.business.offset_text().into();
                e
            };
            emit.fire(FRAUD_AFTER_HOURS, &account, ctx, ev);
        }
        let call = Call {
            ctx: *ctx,
            account,
            number,
            extension: dialled_as == DialledAs::Extension,
            class,
            label: hit.map(|h| h.2.to_string()).unwrap_or_default(),
            answered: None,
            long_alerted: false,
        };
        self.calls.touch_by(cid, ts, || cid.to_string(), || call);
    }

    /// Any response; only final responses to INVITEs matter.
    pub(crate) fn on_response(&mut self, cfg: &FraudConfig, m: &Msg, emit: &mut Emit<'_>) {
        let (Some(status), Some(call_id), Some((_, cseq_method))) = (m.status, &m.call_id, &m.cseq)
        else {
            return;
        };
        if status < 200 || !is_invite(cseq_method) {
            return;
        }
        let cid = clipped(call_id, VALUE_CLIP);
        let ts = m.ctx.ts;
        let Some(call) = self.calls.get_mut(cid) else {
            return;
        };
        if call.answered.is_some() {
            return; // a retransmitted 200, or the answer to a re-INVITE
        }
        if status == 401 || status == 407 {
            // A challenge says nothing of the destination: the call goes on when the caller
            // retries with credentials (same Call-ID), and a source that never does is the
            // scanner detectors' (enumeration, sweep), not dial-prefix probing.
            return;
        }
        if (200..300).contains(&status) {
            call.answered = Some(ts);
            let cap = self.calls.max_keys();
            // Read in place (the tables below are other fields), not copied.
            let Some(call) = self.calls.seen(cid, ts) else {
                return;
            };
            let call: &Call = call;
            if matches!(call.class, Some(Class::Premium | Class::HighRisk)) {
                while self.long_due.len() >= cap {
                    self.long_due.pop_front();
                    self.long_queue_dropped += 1;
                }
                self.long_due
                    .push_back((ts.add_secs(cfg.long_call_secs), cid.to_string(), ts));
            }
            let max = cfg.max_concurrent;
            let src = IpText::new(&call.ctx.src);
            let src = src.as_str();
            let a = self.accounts.touch_by(
                call.account.as_str(),
                ts,
                || call.account.clone(),
                Account::default,
            );
            a.active = a.active.saturating_add(1);
            let n = a.active;
            if n > max {
                let ev = || {
                    json!({"account": call.account, "source": src, "concurrent_calls": n,
                        "limit": max, "call_id": cid})
                };
                fire_for(
                    emit,
                    &call.ctx,
                    FRAUD_CONCURRENT_ACCOUNT,
                    &call.account,
                    &m.ctx,
                    ev,
                );
            }
            let s = self.sources.touch(call.ctx.src, ts, Source::default);
            s.active = s.active.saturating_add(1);
            let n = s.active;
            if n > max {
                let ev = || {
                    json!({"source": src, "account": call.account, "concurrent_calls": n,
                        "limit": max, "call_id": cid})
                };
                fire_for(emit, &call.ctx, FRAUD_CONCURRENT_SOURCE, src, &m.ctx, ev);
            }
            let trunk_max = cfg.max_concurrent_trunk;
            if trunk_max > 0 {
                let t = self.trunks.touch(call.ctx.dst, ts, || 0);
                *t = t.saturating_add(1);
                let n = *t;
                if n > trunk_max {
                    let trunk = IpText::new(&call.ctx.dst).to_string();
                    let ev = || {
                        json!({"trunk": trunk, "source": src, "account": call.account,
                            "concurrent_calls": n, "limit": trunk_max, "call_id": cid})
                    };
                    fire_for(emit, &call.ctx, FRAUD_CONCURRENT_TRUNK, &trunk, &m.ctx, ev);
                }
            }
            return;
        }
        if m.ctx.dst != call.ctx.src {
            // A final error on another leg (a forking proxy's busy branch, the carrier's answer
            // to the proxy): the caller's own final follows, or another branch answers.
            return;
        }
        let Some(call) = self.calls.remove(cid) else {
            return;
        };
        // 487: the caller cancelled; 3xx: redirected. Neither is a probe; nor is a failed call
        // to an extension (a walk over extensions is enumeration, reported as such); nor a
        // failure that reached the called party (busy, away, declined: the route works, as a
        // dialler's busy numbers show). A probe learns which destinations route: refusals
        // (403, 404, 484, 488, 5xx, 604) and silence (408) count.
        if status < 400 || call.extension || reached_callee(status) {
            return;
        }
        let Some(number) = call.number.as_deref() else {
            return;
        };
        let digits = usize_of(cfg.probe_digits);
        let prefix = number.get(..digits.min(number.len())).unwrap_or(number);
        let src = IpText::new(&call.ctx.src);
        let src = src.as_str();
        let s = self.sources.touch(call.ctx.src, ts, Source::default);
        let n = s
            .probes
            .hit(prefix, ts, secs(cfg.probe_window), cfg.probe_prefixes);
        if n >= cfg.probe_prefixes {
            let since = s.probes.since_alert;
            let ev = || {
                json!({"source": src, "account": call.account, "distinct_prefixes": n,
                    "prefix_digits": cfg.probe_digits, "window_s": cfg.probe_window,
                    "threshold": cfg.probe_prefixes, "failures_since_last_alert": since,
                    "last_status": status, "prefixes": s.probes.sample(10)})
            };
            if fire_for(emit, &call.ctx, FRAUD_PROBING, src, &m.ctx, ev) {
                s.probes.since_alert = 0;
            }
        }
    }

    /// An answered call ended: it no longer counts as up for its account, source and trunk.
    fn release(
        accounts: &mut Lru<String, Account>,
        sources: &mut Lru<IpAddr, Source>,
        trunks: &mut Lru<IpAddr, u64>,
        c: &Call,
    ) {
        if c.answered.is_none() {
            return;
        }
        if let Some(a) = accounts.get_mut(&c.account) {
            a.active = a.active.saturating_sub(1);
        }
        if let Some(s) = sources.get_mut(&c.ctx.src) {
            s.active = s.active.saturating_sub(1);
        }
        if let Some(t) = trunks.get_mut(&c.ctx.dst) {
            *t = t.saturating_sub(1);
        }
    }

    fn on_bye(&mut self, cfg: &FraudConfig, cid: &str, m: &Msg, emit: &mut Emit<'_>) {
        let Some(call) = self.calls.remove(cid) else {
            return;
        };
        Self::release(
            &mut self.accounts,
            &mut self.sources,
            &mut self.trunks,
            &call,
        );
        let Some(at) = call.answered else {
            return;
        };
        let ts = m.ctx.ts;
        let dur = ts.since(at);
        let src = IpText::new(&call.ctx.src);
        let src = src.as_str();
        if dur < secs(cfg.short_call_secs) {
            let s = self.sources.touch(call.ctx.src, ts, Source::default);
            let n = s.short.hit(ts, secs(cfg.short_window), cfg.short_calls);
            if n >= cfg.short_calls {
                let since = s.short.since_alert;
                let ev = || {
                    json!({"source": src, "account": call.account, "short_calls": n,
                        "shorter_than_s": cfg.short_call_secs, "window_s": cfg.short_window,
                        "threshold": cfg.short_calls, "calls_since_last_alert": since,
                        "last_call_id": cid, "last_duration_ms": dur / 1_000_000})
                };
                if fire_for(emit, &call.ctx, FRAUD_SHORT_CALLS, src, &m.ctx, ev) {
                    s.short.since_alert = 0;
                }
            }
        }
        if matches!(call.class, Some(Class::Premium | Class::HighRisk))
            && !call.long_alerted
            && dur > secs(cfg.long_call_secs)
        {
            Self::fire_long(
                cfg,
                cid,
                &call,
                dur,
                "ended",
                &acting(&call.ctx, &m.ctx),
                emit,
            );
        }
    }

    fn fire_long(
        cfg: &FraudConfig,
        cid: &str,
        call: &Call,
        dur: u64,
        state: &str,
        ctx: &PacketCtx,
        emit: &mut Emit<'_>,
    ) {
        let ev = || {
            json!({"source": IpText::new(&call.ctx.src).to_string(), "account": call.account,
                "number": call.number, "class": call.class.map(Class::name), "label": call.label,
                "duration_s": dur / 1_000_000_000, "limit_s": cfg.long_call_secs,
                "state": state, "call_id": cid})
        };
        emit.fire_by(call.ctx.src, FRAUD_LONG_CALL, cid, ctx, ev);
    }

    /// Answered calls waiting for their long-call check.
    pub fn long_calls_waiting(&self) -> usize {
        self.long_due.len()
    }

    pub(crate) fn expire(&mut self, cfg: &FraudConfig, now: Ts, emit: &mut Emit<'_>) {
        while let Some((due, _, _)) = self.long_due.front() {
            if *due > now {
                break;
            }
            let Some((_, cid, at)) = self.long_due.pop_front() else {
                break;
            };
            let Some(call) = self.calls.get_mut(&cid) else {
                continue;
            };
            if call.answered != Some(at) || call.long_alerted {
                continue;
            }
            call.long_alerted = true;
            let call = call.clone();
            let mut ctx = call.ctx;
            ctx.ts = now;
            Self::fire_long(cfg, &cid, &call, now.since(at), "up", &ctx, emit);
        }
        let (accounts, sources, trunks) = (&mut self.accounts, &mut self.sources, &mut self.trunks);
        self.calls.expire_with(now, secs(cfg.call_timeout), |_, c| {
            Self::release(accounts, sources, trunks, &c)
        });
        self.accounts.expire(now, secs(cfg.account_idle));
        let idle = cfg
            .intl_window
            .max(cfg.short_window)
            .max(cfg.probe_window)
            .max(cfg.call_timeout);
        self.sources.expire(now, secs(idle));
        self.trunks.expire(now, secs(cfg.call_timeout));
    }
}
