//! Caller-ID spoofing, decided on initial INVITEs (no To tag, retransmissions excluded): From vs
//! P-Asserted-Identity mismatch, a display name claiming the organisation on an external number,
//! the organisation's own numbers arriving from outside the trusted trunks, malformed calling
//! numbers, and STIR/SHAKEN (RFC 8224/8225/8588): a missing Identity header (optional), and the
//! PASSporT's attestation (B, C), `orig.tn` and `dest.tn` compared with the SIP headers.
//!
//! The PASSporT is only base64url-decoded and read: its ES256 signature is NEVER verified (the
//! sensor has no certificates and fetches nothing from `info=`). A forged PASSporT with a
//! consistent attestation passes; the checks here find inconsistencies, not forgeries.
//!
//! Stateless apart from the limiter: nothing to cap.

use std::net::IpAddr;

use serde_json::{json, Value};

use super::fraud::{list, normalise, Dialled};
use super::Emit;
use super::{
    CID_ATTEST_B, CID_ATTEST_C, CID_DEST_MISMATCH, CID_DISPLAY_ORG, CID_IDENTITY_MISSING,
    CID_MALFORMED, CID_ORG_UNTRUSTED, CID_ORIG_MISMATCH, CID_PAI_MISMATCH, CID_UNDECODABLE,
};
use crate::dialog::msg::{clip, clipped};
use crate::dialog::Msg;

/// An address block: `10.0.0.0/8`, `192.0.2.10` (a /32), `2001:db8::/32`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cidr {
    pub addr: IpAddr,
    pub bits: u8,
}

impl Cidr {
    pub fn parse(s: &str) -> Option<Cidr> {
        let (a, bits) = match s.trim().split_once('/') {
            Some((a, b)) => (a, Some(b.trim().parse::<u8>().ok()?)),
            None => (s.trim(), None),
        };
        let addr: IpAddr = a.trim().parse().ok()?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let bits = bits.unwrap_or(max);
        (bits <= max).then_some(Cidr { addr, bits })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        match (self.addr, ip) {
            (IpAddr::V4(n), IpAddr::V4(a)) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(self.bits)).unwrap_or(0);
                u32::from(n) & mask == u32::from(a) & mask
            }
            (IpAddr::V6(n), IpAddr::V6(a)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.bits))
                    .unwrap_or(0);
                u128::from(n) & mask == u128::from(a) & mask
            }
            _ => false,
        }
    }

    fn text(&self) -> String {
        let max = if self.addr.is_ipv4() { 32 } else { 128 };
        if self.bits == max {
            self.addr.to_string()
        } else {
            format!("{}/{}", self.addr, self.bits)
        }
    }
}

/// `[callerid]` of detectors.conf.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallerIdConfig {
    /// From vs P-Asserted-Identity number mismatch (1 on).
    pub pai_mismatch: u64,
    /// Names the organisation goes by (case-insensitive substrings of a display name).
    pub org_names: Vec<String>,
    /// E.164 prefixes of the organisation's own numbers (digits).
    pub org_prefixes: Vec<String>,
    /// Sources allowed to present the organisation's numbers (addresses, CIDR blocks).
    pub trusted_trunks: Vec<Cidr>,
    /// Malformed calling numbers (1 on).
    pub malformed: u64,
    /// Alert on an INVITE without Identity from outside the trusted trunks (0 off).
    pub require_identity: u64,
    /// Decode and check the PASSporT of an Identity header (1 on).
    pub check_passport: u64,
}

impl Default for CallerIdConfig {
    fn default() -> Self {
        CallerIdConfig {
            pai_mismatch: 1,
            org_names: Vec::new(),
            org_prefixes: Vec::new(),
            trusted_trunks: Vec::new(),
            malformed: 1,
            require_identity: 0,
            check_passport: 1,
        }
    }
}

impl CallerIdConfig {
    /// Set `key` from `value`: `None` for an unknown key, `Some(Err)` for a bad value.
    pub fn set(&mut self, key: &str, value: &str) -> Option<Result<(), String>> {
        let flag = |v: &str| super::fraud::num(key, v, 0, 1);
        let r = match key {
            "pai_mismatch" => flag(value).map(|v| self.pai_mismatch = v),
            "malformed" => flag(value).map(|v| self.malformed = v),
            "require_identity" => flag(value).map(|v| self.require_identity = v),
            "check_passport" => flag(value).map(|v| self.check_passport = v),
            "org_names" => {
                self.org_names = list(value);
                Ok(())
            }
            "org_prefixes" => {
                let l: Vec<String> = list(value)
                    .into_iter()
                    .map(|p| p.trim_start_matches('+').to_string())
                    .collect();
                if l.iter()
                    .any(|p| p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()))
                {
                    Err(format!("{key}: E.164 digit prefixes expected"))
                } else {
                    self.org_prefixes = l;
                    Ok(())
                }
            }
            "trusted_trunks" => {
                let mut out = Vec::new();
                for item in list(value) {
                    match Cidr::parse(&item) {
                        Some(c) => out.push(c),
                        None => {
                            return Some(Err(format!("{key}: `{item}` is not an address or CIDR")))
                        }
                    }
                }
                self.trusted_trunks = out;
                Ok(())
            }
            _ => return None,
        };
        Some(r)
    }

    pub fn to_text(&self) -> String {
        let trunks: Vec<String> = self.trusted_trunks.iter().map(Cidr::text).collect();
        format!(
            "[callerid]\npai_mismatch = {}\norg_names = {}\norg_prefixes = {}\ntrusted_trunks = {}\nmalformed = {}\nrequire_identity = {}\ncheck_passport = {}\n",
            self.pai_mismatch,
            self.org_names.join(", "),
            self.org_prefixes.join(", "),
            trunks.join(", "),
            self.malformed,
            self.require_identity,
            self.check_passport
        )
    }

    fn trusted(&self, ip: IpAddr) -> bool {
        self.trusted_trunks.iter().any(|c| c.contains(ip))
    }

    fn is_org_number(&self, digits: &str) -> bool {
        self.org_prefixes
            .iter()
            .any(|p| digits.starts_with(p.as_str()))
    }
}

// ---------------------------------------------------------------------------------------------
// PASSporT
// ---------------------------------------------------------------------------------------------

/// base64url (RFC 4648 §5), padding optional; standard alphabet tolerated. `None` when invalid.
pub fn b64url_decode(s: &str) -> Option<Vec<u8>> {
    let s = s.trim_end_matches('=');
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let mut acc: u32 = 0;
    let mut nbits = 0u32;
    for b in s.bytes() {
        let v = match b {
            b'A'..=b'Z' => b - b'A',
            b'a'..=b'z' => b - b'a' + 26,
            b'0'..=b'9' => b - b'0' + 52,
            b'-' | b'+' => 62,
            b'_' | b'/' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        nbits += 6;
        if nbits >= 8 {
            nbits -= 8;
            out.push((acc >> nbits) as u8);
            acc &= (1 << nbits) - 1;
        }
    }
    // 6 leftover bits cannot come from a whole byte
    (nbits < 6).then_some(out)
}

/// What a PASSporT says (RFC 8225, SHAKEN extension RFC 8588).
#[derive(Clone, Debug, PartialEq)]
pub struct Passport {
    pub alg: Option<String>,
    pub ppt: Option<String>,
    pub x5u: Option<String>,
    pub attest: Option<String>,
    pub orig_tn: Option<String>,
    pub dest_tn: Vec<String>,
    pub iat: Option<i64>,
    pub origid: Option<String>,
}

const MAX_IDENTITY: usize = 8192;

/// Decode the first PASSporT of an Identity header value
/// (`<b64url header>.<b64url payload>.<b64url signature>;info=<...>;alg=ES256;ppt=shaken`).
/// The signature is not verified.
pub fn decode_passport(identity: &str) -> Result<Passport, String> {
    if identity.len() > MAX_IDENTITY {
        return Err(format!("Identity longer than {MAX_IDENTITY} bytes"));
    }
    let token = identity
        .split(',')
        .next()
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .trim_start_matches('<')
        .trim_end_matches('>')
        .trim_matches('"');
    let parts: Vec<&str> = token.split('.').collect();
    let [h, p, _sig] = parts.as_slice() else {
        return Err(format!("{} JWS parts, 3 expected", parts.len()));
    };
    if h.is_empty() || p.is_empty() {
        return Err("compact form (header or payload omitted): nothing to read".to_string());
    }
    let header = b64url_decode(h).ok_or("header is not base64url")?;
    let payload = b64url_decode(p).ok_or("payload is not base64url")?;
    let header: Value =
        serde_json::from_slice(&header).map_err(|e| format!("header is not JSON: {e}"))?;
    let payload: Value =
        serde_json::from_slice(&payload).map_err(|e| format!("payload is not JSON: {e}"))?;
    if !header.is_object() || !payload.is_object() {
        return Err("header or payload is not a JSON object".to_string());
    }
    let s = |v: &Value| v.as_str().map(|x| clip(x, 256));
    let dest_tn = match payload.pointer("/dest/tn") {
        Some(Value::Array(a)) => a.iter().take(16).filter_map(s).collect(),
        Some(Value::String(t)) => vec![clip(t, 256)],
        _ => Vec::new(),
    };
    let pp = Passport {
        alg: header.get("alg").and_then(s),
        ppt: header.get("ppt").and_then(s),
        x5u: header.get("x5u").and_then(s),
        attest: payload.get("attest").and_then(s),
        orig_tn: payload.pointer("/orig/tn").and_then(s),
        dest_tn,
        iat: payload.get("iat").and_then(Value::as_i64),
        origid: payload.get("origid").and_then(s),
    };
    if let Some(a) = &pp.attest {
        if !matches!(a.as_str(), "A" | "B" | "C") {
            return Err(format!("attest `{}` is not A, B or C", clip(a, 16)));
        }
    } else if pp.ppt.as_deref() == Some("shaken") {
        return Err("ppt shaken without attest".to_string());
    }
    if pp.orig_tn.is_none() {
        return Err("no orig.tn".to_string());
    }
    Ok(pp)
}

impl Passport {
    fn json(&self) -> Value {
        json!({
            "attest": self.attest, "orig_tn": self.orig_tn, "dest_tn": self.dest_tn,
            "iat": self.iat, "origid": self.origid, "alg": self.alg, "ppt": self.ppt,
            "x5u": self.x5u, "signature_verified": false,
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Numbers
// ---------------------------------------------------------------------------------------------

/// Two numbers denote the same line: equal digits, or (national vs international format) one
/// ends with the other with its national trunk `0`s removed, at least 6 digits compared.
pub fn same_number(a: &str, b: &str) -> bool {
    if a == b {
        return true;
    }
    let a = a.trim_start_matches('0');
    let b = b.trim_start_matches('0');
    let (short, long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    short.len() >= 6 && long.ends_with(short)
}

/// Why a numeric-looking user part is not a valid number, if it is not.
pub fn malformed_reason(user: &str) -> Option<&'static str> {
    let u: String = user
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '.' | '(' | ')'))
        .collect();
    let digits = u.bytes().filter(u8::is_ascii_digit).count();
    let looks_numeric = u.starts_with('+') || u.bytes().next().is_some_and(|b| b.is_ascii_digit());
    if !looks_numeric || digits < 3 {
        return None;
    }
    let body = u.strip_prefix('+').unwrap_or(&u);
    if body.bytes().any(|b| b.is_ascii_alphabetic()) {
        return Some("letters mixed with digits");
    }
    if !body.bytes().all(|b| b.is_ascii_digit()) {
        return Some("characters other than digits");
    }
    if digits > super::fraud::E164_MAX {
        return Some("more than 15 digits (E.164 maximum)");
    }
    if u.starts_with('+') && body.starts_with('0') {
        return Some("leading zero after +");
    }
    None
}

fn num_of(user: Option<&str>, prefixes: &[String]) -> Option<Dialled> {
    user.and_then(|u| normalise(u, prefixes))
}

/// Check one request (not a retransmission).
pub(crate) fn on_request(
    cfg: &CallerIdConfig,
    intl_prefixes: &[String],
    m: &Msg,
    emit: &mut Emit<'_>,
    stats: &mut CallerIdStats,
) {
    if !m
        .method
        .as_deref()
        .is_some_and(|x| x.eq_ignore_ascii_case("INVITE"))
    {
        return;
    }
    if m.to.as_ref().is_some_and(|t| t.tag.is_some()) {
        return;
    }
    let ctx = &m.ctx;
    let src = crate::base::iptext::IpText::new(&ctx.src);
    let from_user = m.from.as_ref().and_then(|p| p.user.as_deref());
    let pai_user = m.pai.as_ref().and_then(|p| p.user.as_deref());
    let from = num_of(from_user, intl_prefixes);
    let pai = num_of(pai_user, intl_prefixes);
    let call_id = m.call_id.as_deref().map(|c| clipped(c, 64));
    let from_s = from_user.map(|u| clipped(u, 64));
    // The limiter's key, `SOURCE|FROM`, written only when an alert is considered.
    let key = (src, from_s.unwrap_or(""));
    let base = |extra: Value| {
        let mut e = json!({"source": src, "from_user": from_s,
            "pai_user": pai_user.map(|u| clip(u, 64)), "call_id": call_id});
        if let (Some(o), Value::Object(x)) = (e.as_object_mut(), extra) {
            o.extend(x);
        }
        e
    };
    if cfg.pai_mismatch != 0 {
        if let (Some(f), Some(p)) = (&from, &pai) {
            if !same_number(&f.digits, &p.digits) {
                emit.fire(CID_PAI_MISMATCH, key, ctx, || {
                    base(json!({"from_number": f.digits, "pai_number": p.digits}))
                });
            }
        }
    }
    if !cfg.org_names.is_empty() {
        let display = m
            .from
            .as_ref()
            .and_then(|p| p.display.as_deref())
            .unwrap_or("")
            .to_lowercase();
        let claimed = cfg
            .org_names
            .iter()
            .find(|n| !display.is_empty() && display.contains(&n.to_lowercase()));
        if let (Some(name), Some(f)) = (claimed, &from) {
            if !cfg.is_org_number(&f.digits) {
                emit.fire(CID_DISPLAY_ORG, key, ctx, || {
                    base(json!({"display": clip(&display, 64), "org_name": name,
                        "from_number": f.digits, "org_prefixes": cfg.org_prefixes}))
                });
            }
        }
    }
    let trusted = cfg.trusted(ctx.src);
    if !cfg.org_prefixes.is_empty() && !trusted {
        let org = [&from, &pai]
            .into_iter()
            .flatten()
            .find(|d| cfg.is_org_number(&d.digits));
        if let Some(d) = org {
            emit.fire(CID_ORG_UNTRUSTED, key, ctx, || {
                base(json!({"number": d.digits, "org_prefixes": cfg.org_prefixes}))
            });
        }
    }
    if cfg.malformed != 0 {
        if let Some(why) = from_user.and_then(malformed_reason) {
            emit.fire(CID_MALFORMED, key, ctx, || base(json!({"reason": why})));
        }
    }
    let Some(identity) = m.identity.as_deref() else {
        if cfg.require_identity != 0 && !trusted {
            emit.fire(CID_IDENTITY_MISSING, key, ctx, || base(json!({})));
        }
        return;
    };
    if cfg.check_passport == 0 {
        return;
    }
    let pp = match decode_passport(identity) {
        Ok(pp) => pp,
        Err(why) => {
            stats.undecodable = stats.undecodable.saturating_add(1);
            emit.fire(CID_UNDECODABLE, key, ctx, || {
                base(json!({"reason": why, "identity": clip(identity, 128)}))
            });
            return;
        }
    };
    stats.decoded = stats.decoded.saturating_add(1);
    let age = pp
        .iat
        .map(|iat| ((ctx.ts.as_nanos() / 1_000_000_000) as i64).saturating_sub(iat));
    let ev = |extra: Value| {
        let mut e = base(extra);
        e["passport"] = pp.json();
        e["iat_age_s"] = json!(age);
        e
    };
    match pp.attest.as_deref() {
        Some("C") => {
            emit.fire(CID_ATTEST_C, key, ctx, || ev(json!({})));
        }
        Some("B") => {
            emit.fire(CID_ATTEST_B, key, ctx, || ev(json!({})));
        }
        _ => {}
    }
    let orig = pp.orig_tn.as_deref().and_then(|t| normalise(t, &[]));
    let shown = pai.as_ref().or(from.as_ref());
    if let (Some(o), Some(s)) = (&orig, shown) {
        if !same_number(&o.digits, &s.digits) {
            emit.fire(CID_ORIG_MISMATCH, key, ctx, || {
                ev(json!({"orig_number": o.digits, "presented_number": s.digits}))
            });
        }
    }
    let called = super::fraud::called_raw(m).and_then(|u| normalise(u, intl_prefixes));
    if let Some(c) = called {
        let dests: Vec<String> = pp
            .dest_tn
            .iter()
            .filter_map(|t| normalise(t, &[]))
            .map(|d| d.digits)
            .collect();
        if !pp.dest_tn.is_empty() && !dests.iter().any(|d| same_number(d, &c.digits)) {
            emit.fire(CID_DEST_MISMATCH, key, ctx, || {
                ev(json!({"called_number": c.digits}))
            });
        }
    }
}

/// PASSporT counters, for metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CallerIdStats {
    pub decoded: u64,
    pub undecodable: u64,
}
