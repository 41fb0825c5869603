//! Text to [`Rule`]s: logical lines (continuations, comments), the rule header and options.

use std::path::Path;

use regex::bytes::RegexBuilder;

use super::content::{Content, LenOp, Match};
use super::keywords::{self, Proto, Skip};
use super::matcher::{Buffer, Group};
use super::net::{parse_addr, parse_port, Variables};
use super::{Flow, Rule, RuleError, Skipped, StatCode, Threshold, ThresholdKind, Track};

/// Largest compiled program of one `pcre` (bytes), and of its lazy DFA cache.
const REGEX_SIZE_LIMIT: usize = 256 * 1024;
const REGEX_DFA_LIMIT: usize = 1024 * 1024;

/// A logical line: physical lines joined at trailing `\`, with a map back to positions.
pub(super) struct Logical<'a> {
    pub(super) text: String,
    /// (offset in `text`, 1-based line, byte offset in that physical line, physical line).
    segs: Vec<(usize, usize, usize, &'a str)>,
}

impl Logical<'_> {
    /// A [`RuleError`] at byte `off` of `text`.
    pub(super) fn error(&self, file: &Path, off: usize, message: impl Into<String>) -> RuleError {
        let (line, column) = self.pos(off);
        RuleError {
            file: file.to_path_buf(),
            line,
            column,
            message: message.into(),
        }
    }

    /// 1-based (line, column in characters) of byte `off` of `text`.
    pub(super) fn pos(&self, off: usize) -> (usize, usize) {
        let seg = self
            .segs
            .iter()
            .rev()
            .find(|s| s.0 <= off)
            .or(self.segs.first());
        match seg {
            Some(&(start, line, col0, phys)) => {
                let b = col0 + off.saturating_sub(start);
                let col = phys.get(..b).map_or(b, |s| s.chars().count());
                (line, col + 1)
            }
            None => (1, 1),
        }
    }
}

pub(super) fn logical_lines(text: &str) -> Vec<Logical<'_>> {
    let mut out = Vec::new();
    let mut cur: Option<Logical<'_>> = None;
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim_end_matches('\r');
        let lineno = i + 1;
        if cur.is_none() {
            let t = line.trim_start();
            if t.is_empty() || t.starts_with('#') {
                continue;
            }
        }
        let body = line.trim_end();
        let (part, cont) = match body.strip_suffix('\\') {
            Some(p) => (p, true),
            None => (line, false),
        };
        let l = cur.get_or_insert_with(|| Logical {
            text: String::new(),
            segs: Vec::new(),
        });
        l.segs.push((l.text.len(), lineno, 0, line));
        l.text.push_str(part);
        if !cont {
            out.extend(cur.take());
        }
    }
    out.extend(cur.take());
    out
}

/// Parse every rule of one file's text: the rules that parsed, the errors of the others, and
/// the rules skipped because they need what the sensor does not run.
pub(crate) fn parse_text(
    file: &Path,
    text: &str,
    vars: &Variables,
) -> (Vec<Rule>, Vec<RuleError>, Vec<Skipped>) {
    let mut rules = Vec::new();
    let mut errors = Vec::new();
    let mut skipped = Vec::new();
    for l in logical_lines(text) {
        let mut p = RuleParser {
            file,
            l: &l,
            errors: Vec::new(),
            skip: None,
        };
        let r = p.rule(vars);
        if let Some(reason) = p.skip {
            let (line, _) = l.pos(0);
            skipped.push(Skipped {
                file: file.to_path_buf(),
                line,
                sid: sid_of(&l.text),
                reason,
            });
            continue;
        }
        match r {
            Some(r) if p.errors.is_empty() => rules.push(r),
            _ => errors.append(&mut p.errors),
        }
    }
    (rules, errors, skipped)
}

/// The `sid:N` of a rule's text, found without parsing it (for a skipped rule).
fn sid_of(text: &str) -> Option<u32> {
    let at = text.find("sid:").or_else(|| text.find("sid :"))?;
    let rest = text[at..].split_once(':')?.1.trim_start();
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

struct RuleParser<'p, 'a> {
    file: &'p Path,
    l: &'p Logical<'a>,
    errors: Vec<RuleError>,
    /// Why the rule is skipped (a Suricata feature the sensor does not run), if it is.
    skip: Option<String>,
}

/// Split the header on whitespace outside `[...]`, with byte offsets; `Err(offset)` of an
/// unbalanced bracket.
fn header_tokens(s: &str, base: usize) -> Result<Vec<(usize, &str)>, usize> {
    let mut out = Vec::new();
    let mut open = Vec::new();
    let mut start: Option<usize> = None;
    for (i, c) in s.char_indices() {
        match c {
            '[' => open.push(i),
            ']' if open.pop().is_none() => return Err(base + i),
            _ => {}
        }
        let depth = open.len();
        if c.is_whitespace() && depth == 0 {
            if let Some(st) = start.take() {
                out.push((base + st, &s[st..i]));
            }
        } else if start.is_none() {
            start = Some(i);
        }
    }
    if let Some(&o) = open.first() {
        return Err(base + o);
    }
    if let Some(st) = start {
        out.push((base + st, &s[st..]));
    }
    Ok(out)
}

/// Undo `\"`, `\;`, `\\` and `\:` escapes (other backslashes are kept).
fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut it = s.chars().peekable();
    while let Some(c) = it.next() {
        if c == '\\' {
            if let Some(&n) = it.peek() {
                if matches!(n, '"' | ';' | '\\' | ':') {
                    out.push(n);
                    it.next();
                    continue;
                }
            }
        }
        out.push(c);
    }
    out
}

/// A quoted value (`"..."`, optionally preceded by `!`): (negated, raw inside of the quotes).
fn quoted(v: &str) -> Result<(bool, &str), String> {
    let v = v.trim();
    let (neg, v) = match v.strip_prefix('!') {
        Some(r) => (true, r.trim_start()),
        None => (false, v),
    };
    let inner = v
        .strip_prefix('"')
        .and_then(|r| r.strip_suffix('"'))
        .filter(|_| v.len() >= 2)
        .ok_or_else(|| "value must be a quoted string".to_string())?;
    Ok((neg, inner))
}

/// Content bytes: text with `|41 42|` hex runs.
fn content_bytes(s: &str) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    let mut parts = s.split('|');
    let mut hex = false;
    let mut n = 0usize;
    for part in parts.by_ref() {
        n += 1;
        if hex {
            let digits: Vec<u8> = part.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
            if !digits.len().is_multiple_of(2) || !digits.iter().all(u8::is_ascii_hexdigit) {
                return Err(format!("bad hex bytes '|{part}|' in content"));
            }
            for pair in digits.chunks(2) {
                let hexstr = std::str::from_utf8(pair).map_err(|e| e.to_string())?;
                out.push(u8::from_str_radix(hexstr, 16).map_err(|e| e.to_string())?);
            }
        } else {
            out.extend_from_slice(part.as_bytes());
        }
        hex = !hex;
    }
    if n.is_multiple_of(2) {
        return Err("unterminated '|' hex run in content".to_string());
    }
    Ok(out)
}

pub(super) fn parse_u32(v: &str, what: &str) -> Result<u32, String> {
    let v = v.trim();
    if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("{what} must be a number, got '{v}'"));
    }
    v.parse().map_err(|_| format!("{what} '{v}' is too large"))
}

pub(super) fn parse_threshold(v: &str) -> Result<Threshold, String> {
    let (mut kind, mut track, mut count, mut seconds) = (None, None, None, None);
    for part in v.split(',') {
        let mut kv = part.split_whitespace();
        let (Some(k), Some(val), None) = (kv.next(), kv.next(), kv.next()) else {
            return Err(format!(
                "threshold: expected 'key value', got '{}'",
                part.trim()
            ));
        };
        match k {
            "type" => {
                kind = Some(
                    ThresholdKind::from_word(val)
                        .ok_or_else(|| format!("threshold: unknown type '{val}'"))?,
                )
            }
            "track" => {
                track = Some(
                    Track::from_word(val)
                        .ok_or_else(|| format!("threshold: unknown track '{val}'"))?,
                )
            }
            "count" => count = Some(parse_u32(val, "threshold count")?),
            "seconds" => seconds = Some(parse_u32(val, "threshold seconds")?),
            _ => return Err(format!("threshold: unknown key '{k}'")),
        }
    }
    let missing = |w: &str| format!("threshold: missing '{w}'");
    let t = Threshold {
        kind: kind.ok_or_else(|| missing("type"))?,
        track: track.ok_or_else(|| missing("track"))?,
        count: count.ok_or_else(|| missing("count"))?,
        seconds: seconds.ok_or_else(|| missing("seconds"))?,
    };
    if t.count == 0 || t.seconds == 0 {
        return Err("threshold: count and seconds must be at least 1".to_string());
    }
    Ok(t)
}

impl RuleParser<'_, '_> {
    fn err(&mut self, off: usize, message: impl Into<String>) {
        self.errors.push(self.l.error(self.file, off, message));
    }

    /// Mark the rule skipped (the first reason is kept).
    fn skip(&mut self, why: Skip) {
        self.skip.get_or_insert(why.0);
    }

    fn rule(&mut self, vars: &Variables) -> Option<Rule> {
        let text = self.l.text.as_str();
        let lead = text.len() - text.trim_start().len();
        let Some(open) = text.find('(') else {
            self.err(lead, "expected '(' starting the rule options");
            return None;
        };
        let trimmed_end = text.trim_end();
        let Some(close_rel) = trimmed_end.strip_suffix(')') else {
            self.err(trimmed_end.len(), "expected ')' ending the rule options");
            return None;
        };
        let close = close_rel.len();
        if close < open {
            self.err(open, "expected ')' ending the rule options");
            return None;
        }

        // Header.
        let mut header_ok = true;
        let toks = match header_tokens(&text[..open], 0) {
            Ok(t) => t,
            Err(at) => {
                self.err(at, "unbalanced '[' or ']' in the rule header");
                header_ok = false;
                Vec::new()
            }
        };
        if header_ok && toks.len() != 7 {
            self.err(
                toks.first().map_or(lead, |t| t.0),
                format!(
                    "rule header must be 'action proto src_addr src_port -> dst_addr dst_port', found {} fields",
                    toks.len()
                ),
            );
            header_ok = false;
        }
        let mut src = super::net::AddrExpr::Any;
        let mut dst = super::net::AddrExpr::Any;
        let mut sport = super::net::PortExpr::Any;
        let mut dport = super::net::PortExpr::Any;
        let mut bidir = false;
        let mut proto = Proto::Sip;
        if header_ok {
            let (o, action) = toks[0];
            match keywords::action(action) {
                Ok(()) => {}
                Err(Skip(why)) if !why.is_empty() => self.skip(Skip(why)),
                Err(_) => self.err(
                    o,
                    format!("unknown action '{action}': expected alert, drop or reject"),
                ),
            }
            let (o, word) = toks[1];
            match keywords::protocol(word) {
                Ok(p) => proto = p,
                Err(Some(why)) => self.skip(why),
                Err(None) => self.err(
                    o,
                    format!("unknown protocol '{word}': expected sip, udp, tcp or ip"),
                ),
            }
            let (o, dir) = toks[4];
            match dir {
                "->" => {}
                "<>" => bidir = true,
                _ => self.err(o, format!("bad direction '{dir}': expected '->' or '<>'")),
            }
            for (i, slot) in [(2, &mut src), (5, &mut dst)] {
                let (o, t) = toks[i];
                match parse_addr(t, vars) {
                    Ok(a) => *slot = a,
                    Err(e) => self.err(o, e),
                }
            }
            for (i, slot) in [(3, &mut sport), (6, &mut dport)] {
                let (o, t) = toks[i];
                match parse_port(t, vars) {
                    Ok(p) => *slot = p,
                    Err(e) => self.err(o, e),
                }
            }
        }
        // A rule only for H.323's ports can never see a SIP message.
        let only_h323 = |p: &super::net::PortExpr| {
            keywords::H323_PORTS.iter().any(|&h| p.matches(h))
                && ![5060, 5061, 5080].iter().any(|&s| p.matches(s))
        };
        if header_ok && proto != Proto::Sip && (only_h323(&dport) || only_h323(&sport)) {
            self.skip(Skip(
                "rule is for H.323 (ports 1719/1720), which the sensor does not decode".into(),
            ));
        }
        if self.skip.is_some() {
            // Options of a protocol the sensor does not read are not its to judge.
            return None;
        }

        let mut b = Builder::default();
        self.options(open + 1, close, &mut b);
        if self.skip.is_some() {
            return None;
        }

        let first_line = self.l.segs.first().map_or(1, |s| s.1);
        if b.sid.is_none() {
            self.err(open, "missing sid");
        }
        if !b.methods.is_empty() && !b.stat_codes.is_empty() {
            self.err(
                open,
                "sip.method and sip.stat_code together never match (requests have no status)",
            );
        }
        if !b.methods.is_empty() && b.flow == Some(Flow::ToClient) {
            self.err(
                open,
                "sip.method only matches requests, but flow is to_client",
            );
        }
        if !b.stat_codes.is_empty() && b.flow == Some(Flow::ToServer) {
            self.err(
                open,
                "sip.stat_code only matches responses, but flow is to_server",
            );
        }
        if let Some(off) = b.last_buffer_off.filter(|_| !b.match_seen) {
            self.err(off, "sticky buffer is not followed by a match");
        }
        let flow = b.flow.or({
            if !b.methods.is_empty() {
                Some(Flow::ToServer)
            } else if !b.stat_codes.is_empty() {
                Some(Flow::ToClient)
            } else {
                None
            }
        });
        Some(Rule {
            sid: b.sid?,
            rev: b.rev.unwrap_or(0),
            gid: b.gid.unwrap_or(1),
            msg: b.msg.unwrap_or_default(),
            classtype: b.classtype,
            category: String::new(),
            severity: b.severity.or(b.priority).unwrap_or(0),
            references: b.references,
            metadata: b.metadata,
            threshold: b.threshold,
            target_is_src: b.target_is_src,
            file: self.file.to_path_buf(),
            line: first_line,
            proto,
            src,
            sport,
            dst,
            dport,
            bidirectional: bidir,
            flow,
            dsize: b.dsize,
            methods: b.methods,
            stat_codes: b.stat_codes,
            groups: b.groups,
        })
    }

    /// Parse `key[:value];` options in `text[start..end]`.
    fn options(&mut self, start: usize, end: usize, b: &mut Builder) {
        let text = self.l.text.as_str();
        let bytes = text.as_bytes();
        let mut i = start;
        while i < end {
            // skip whitespace
            while i < end && bytes.get(i).is_some_and(u8::is_ascii_whitespace) {
                i += 1;
            }
            if i >= end {
                break;
            }
            let key_start = i;
            while i < end && !matches!(bytes.get(i), Some(b':' | b';')) {
                i += 1;
            }
            let key = text.get(key_start..i).unwrap_or("").trim();
            let mut value = None;
            if bytes.get(i) == Some(&b':') && i < end {
                i += 1;
                let vstart = i;
                let mut in_q = false;
                while i < end {
                    match bytes.get(i) {
                        Some(b'\\') => i += 1,
                        Some(b'"') => in_q = !in_q,
                        Some(b';') if !in_q => break,
                        _ => {}
                    }
                    i += 1;
                }
                let vend = i.min(end);
                if in_q {
                    self.err(
                        key_start,
                        format!("unterminated quoted string in option '{key}'"),
                    );
                    return;
                }
                value = Some((vstart, text.get(vstart..vend).unwrap_or("")));
            }
            // now at ';' or end
            i += 1;
            if key.is_empty() {
                self.err(key_start, "empty option");
                continue;
            }
            self.option(key_start, key, value, b);
        }
    }

    fn need<'v>(
        &mut self,
        off: usize,
        key: &str,
        value: Option<(usize, &'v str)>,
    ) -> Option<&'v str> {
        match value {
            Some((_, v)) if !v.trim().is_empty() => Some(v.trim()),
            _ => {
                self.err(off, format!("option '{key}' needs a value"));
                None
            }
        }
    }

    fn no_value(&mut self, off: usize, key: &str, value: Option<(usize, &str)>) -> bool {
        if value.is_some() {
            self.err(off, format!("option '{key}' takes no value"));
            false
        } else {
            true
        }
    }

    /// The current sticky buffer's group; a payload match with no buffer before it reads the
    /// message's bytes (Suricata's packet payload).
    fn current<'b>(&mut self, b: &'b mut Builder) -> &'b mut Group {
        if b.groups.is_empty() {
            b.groups.push(Group {
                buffer: Buffer::Payload,
                matches: Vec::new(),
            });
        }
        let last = b.groups.len() - 1;
        &mut b.groups[last]
    }

    fn add_match(&mut self, off: usize, b: &mut Builder, m: Match) {
        let g = self.current(b);
        let absent_now = matches!(m, Match::Absent);
        let had_absent = g.matches.iter().any(|x| matches!(x, Match::Absent));
        if (absent_now && !g.matches.is_empty()) || had_absent {
            self.err(
                off,
                "absent cannot be combined with other matches on the same buffer",
            );
            return;
        }
        g.matches.push(m);
    }

    /// The content a modifier applies to: the last match of the current buffer.
    fn last_content<'b>(
        &mut self,
        off: usize,
        key: &str,
        b: &'b mut Builder,
    ) -> Option<&'b mut Content> {
        match b.groups.last_mut().and_then(|g| g.matches.last_mut()) {
            Some(Match::Content(c)) => Some(c),
            _ => {
                self.err(off, format!("'{key}' must follow a content match"));
                None
            }
        }
    }

    fn modifier(&mut self, off: usize, key: &str, value: Option<(usize, &str)>, b: &mut Builder) {
        let voff = value.map_or(off, |v| v.0);
        let number = |v: Option<(usize, &str)>| -> Result<i64, String> {
            let v = v.map(|v| v.1.trim()).unwrap_or("");
            v.parse::<i64>()
                .ok()
                .filter(|n| n.unsigned_abs() <= 65_535)
                .ok_or_else(|| format!("'{key}' needs a number of bytes, got '{v}'"))
        };
        let takes_value = matches!(key, "depth" | "offset" | "distance" | "within");
        if takes_value && value.is_none() {
            self.err(off, format!("option '{key}' needs a value"));
            return;
        }
        if !takes_value && !matches!(key, "fast_pattern") && !self.no_value(off, key, value) {
            return;
        }
        let n = if takes_value {
            match number(value) {
                Ok(n) => n,
                Err(e) => {
                    self.err(voff, e);
                    return;
                }
            }
        } else {
            0
        };
        let Some(c) = self.last_content(off, key, b) else {
            return;
        };
        let relative = c.is_relative();
        let absolute = c.offset.is_some() || c.depth.is_some() || c.startswith;
        let mut problem = None;
        match key {
            "nocase" => {
                c.nocase = true;
                c.pattern.make_ascii_lowercase();
            }
            "startswith" if relative => problem = Some("startswith cannot follow distance/within"),
            "startswith" => c.startswith = true,
            "endswith" => c.endswith = true,
            "equals" => {
                c.startswith = true;
                c.endswith = true;
            }
            "depth" | "offset" if relative => {
                problem = Some("depth/offset cannot be combined with distance/within");
            }
            "distance" | "within" if absolute => {
                problem = Some("distance/within cannot be combined with depth/offset");
            }
            "depth" if n < c.pattern.len() as i64 => {
                problem = Some("depth is smaller than the content");
            }
            "within" if n < c.pattern.len() as i64 => {
                problem = Some("within is smaller than the content");
            }
            "depth" => c.depth = Some(n as u32),
            "offset" if n < 0 => problem = Some("offset cannot be negative"),
            "offset" => c.offset = Some(n as u32),
            "distance" => c.distance = Some(n as i32),
            "within" => c.within = Some(n as u32),
            // Prefilter hints: every rule is tested in full here.
            _ => {}
        }
        if let Some(p) = problem {
            self.err(off, p);
        }
    }

    fn option(&mut self, off: usize, key: &str, value: Option<(usize, &str)>, b: &mut Builder) {
        let voff = value.map_or(off, |v| v.0 + (v.1.len() - v.1.trim_start().len()));
        if matches!(
            key,
            "content"
                | "pcre"
                | "len"
                | "bsize"
                | "isdataat"
                | "absent"
                | "nocase"
                | "startswith"
                | "endswith"
                | "equals"
        ) {
            b.match_seen = true;
        }
        match key {
            "msg" => {
                let Some(v) = self.need(off, key, value) else {
                    return;
                };
                match quoted(v) {
                    Ok((false, s)) => b.msg = Some(unescape(s)),
                    Ok((true, _)) => self.err(voff, "msg cannot be negated"),
                    Err(e) => self.err(voff, format!("msg: {e}")),
                }
            }
            "sid" | "rev" | "gid" | "priority" => {
                let Some(v) = self.need(off, key, value) else {
                    return;
                };
                match parse_u32(v, key) {
                    Ok(0) if key == "sid" => self.err(voff, "sid must be at least 1"),
                    Ok(n) if key == "sid" => b.sid = Some(n),
                    Ok(n) if key == "gid" => b.gid = Some(n),
                    Ok(n @ 1..=255) if key == "priority" => b.priority = u8::try_from(n).ok(),
                    Ok(n) if key == "priority" => {
                        self.err(voff, format!("priority {n} out of range 1..=255"))
                    }
                    Ok(n) => b.rev = Some(n),
                    Err(e) => self.err(voff, e),
                }
            }
            "classtype" => {
                let Some(v) = self.need(off, key, value) else {
                    return;
                };
                if v.bytes()
                    .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
                {
                    b.classtype = Some(v.to_string());
                } else {
                    self.err(
                        voff,
                        format!("bad classtype '{v}': one word of letters, digits, '-' and '_'"),
                    );
                }
            }
            "reference" => {
                let Some(v) = self.need(off, key, value) else {
                    return;
                };
                match v.split_once(',') {
                    Some((kind, what)) if !kind.trim().is_empty() && !what.trim().is_empty() => {
                        b.references
                            .push(format!("{},{}", kind.trim(), what.trim()));
                    }
                    _ => self.err(voff, format!("reference must be 'type,value', got '{v}'")),
                }
            }
            "metadata" => {
                let Some(v) = self.need(off, key, value) else {
                    return;
                };
                for item in v.split(',').map(str::trim).filter(|i| !i.is_empty()) {
                    match item.split_once(char::is_whitespace) {
                        Some((k, val)) => b.metadata.push((k.to_string(), val.trim().to_string())),
                        // Suricata accepts a lone word (older rule sets): kept as its own key.
                        None => b.metadata.push((item.to_string(), String::new())),
                    }
                }
            }
            "severity" => {
                let Some(v) = self.need(off, key, value) else {
                    return;
                };
                match parse_u32(v, key) {
                    Ok(n @ 1..=3) => b.severity = u8::try_from(n).ok(),
                    Ok(n) => self.err(voff, format!("severity {n} out of range 1..=3")),
                    Err(e) => self.err(voff, e),
                }
            }
            "flow" => {
                let Some(v) = self.need(off, key, value) else {
                    return;
                };
                for f in v.split(',').map(str::trim) {
                    let flow = match f {
                        "to_server" | "from_client" => Flow::ToServer,
                        "to_client" | "from_server" => Flow::ToClient,
                        // Stream states mean nothing for whole SIP messages: accepted, ignored.
                        "established" | "not_established" | "stateless" | "only_stream"
                        | "no_stream" | "only_frag" | "no_frag" => continue,
                        _ => {
                            self.err(
                                voff,
                                format!("unknown flow '{f}': expected to_server or to_client"),
                            );
                            continue;
                        }
                    };
                    if b.flow.is_some_and(|x| x != flow) {
                        self.err(voff, "flow cannot be both to_server and to_client");
                    }
                    b.flow = Some(flow);
                }
            }
            "target" => {
                let Some(v) = self.need(off, key, value) else {
                    return;
                };
                b.target_is_src = match v.trim() {
                    "src_ip" => true,
                    "dest_ip" => false,
                    other => {
                        self.err(
                            voff,
                            format!("unknown target '{other}': expected src_ip or dest_ip"),
                        );
                        return;
                    }
                };
            }
            "threshold" => {
                let Some(v) = self.need(off, key, value) else {
                    return;
                };
                if b.threshold.is_some() {
                    self.err(off, "threshold given twice");
                }
                match parse_threshold(v) {
                    Ok(t) => b.threshold = Some(t),
                    Err(e) => self.err(voff, e),
                }
            }
            "sip.method" if value.is_some() => {
                let Some(v) = self.need(off, key, value) else {
                    return;
                };
                for m in v.split(',').map(str::trim) {
                    if m.is_empty() || !m.bytes().all(crate::sip::header::is_token_char) {
                        self.err(voff, format!("bad SIP method '{m}'"));
                    } else {
                        b.methods.push(m.to_string());
                    }
                }
            }
            "sip.stat_code" if value.is_some() => {
                let Some(v) = self.need(off, key, value) else {
                    return;
                };
                for c in v.split(',').map(str::trim) {
                    let bad =
                        || format!("bad status code '{c}': expected 100..=699 or a class like 4xx");
                    let s = if let Some(d) = c.strip_suffix("xx").or_else(|| c.strip_suffix("XX")) {
                        match d.parse::<u16>() {
                            Ok(n @ 1..=6) if d.len() == 1 => Some(StatCode::Class(n)),
                            _ => None,
                        }
                    } else {
                        match c.parse::<u16>() {
                            Ok(n @ 100..=699) if c.len() == 3 => Some(StatCode::Code(n)),
                            _ => None,
                        }
                    };
                    match s {
                        Some(s) => b.stat_codes.push(s),
                        None => self.err(voff, bad()),
                    }
                }
            }
            "frame" => {
                let Some(v) = self.need(off, key, value) else {
                    return;
                };
                match crate::sip::frames::FrameKind::from_name(v) {
                    Some(kind) => {
                        self.start_buffer(off, b, Buffer::Frame(kind));
                    }
                    None => self.skip(Skip(format!("frame '{v}' is not a SIP frame"))),
                }
            }
            "sip.header" => {
                let Some(v) = self.need(off, key, value) else {
                    return;
                };
                if !v.bytes().all(crate::sip::header::is_token_char) {
                    self.err(voff, format!("bad header name '{v}'"));
                    return;
                }
                self.start_buffer(off, b, Buffer::Header(super::matcher::NamedHeader::new(v)));
            }
            "content" => {
                let Some(v) = self.need(off, key, value) else {
                    return;
                };
                let parsed = quoted(v)
                    .and_then(|(neg, s)| Ok((neg, content_bytes(&unescape(s))?)))
                    .and_then(|(neg, p)| {
                        if p.is_empty() {
                            Err("empty pattern".to_string())
                        } else {
                            Ok((neg, p))
                        }
                    });
                match parsed {
                    Ok((negated, pattern)) => {
                        self.add_match(off, b, Match::Content(Content::new(pattern, negated)))
                    }
                    Err(e) => self.err(voff, format!("content: {e}")),
                }
            }
            "pcre" => {
                let Some(v) = self.need(off, key, value) else {
                    return;
                };
                match compile_pcre(v) {
                    Ok(m) => self.add_match(off, b, m),
                    Err(PcreError::Skip(why)) => self.skip(why),
                    Err(PcreError::Bad(e)) => self.err(voff, e),
                }
            }
            "len" | "bsize" | "dsize" => {
                let Some(v) = self.need(off, key, value) else {
                    return;
                };
                match LenOp::parse(v) {
                    Ok(op) if key == "dsize" => b.dsize = Some(op),
                    Ok(op) => self.add_match(off, b, Match::Len(op)),
                    Err(e) => self.err(voff, format!("{key}: {e}")),
                }
            }
            "isdataat" => {
                let Some(v) = self.need(off, key, value) else {
                    return;
                };
                let (negated, v) = match v.strip_prefix('!') {
                    Some(r) => (true, r.trim()),
                    None => (false, v),
                };
                let (n, relative) = match v.split_once(',') {
                    Some((n, r)) if r.trim() == "relative" => (n, true),
                    Some((_, r)) => {
                        self.err(voff, format!("isdataat: unknown modifier '{}'", r.trim()));
                        return;
                    }
                    None => (v, false),
                };
                match parse_u32(n, "isdataat") {
                    Ok(n) => self.add_match(
                        off,
                        b,
                        Match::IsDataAt {
                            n: n as usize,
                            relative,
                            negated,
                        },
                    ),
                    Err(e) => self.err(voff, e),
                }
            }
            "absent" => {
                if self.no_value(off, key, value) {
                    self.add_match(off, b, Match::Absent);
                }
            }
            "nocase" | "startswith" | "endswith" | "equals" | "depth" | "offset" | "distance"
            | "within" | "fast_pattern" | "rawbytes" => self.modifier(off, key, value, b),
            _ => {
                if let Some(buf) = Buffer::from_keyword(key) {
                    if self.no_value(off, key, value) {
                        self.start_buffer(off, b, buf);
                    }
                } else if let Some(why) = keywords::unsupported(key) {
                    self.skip(why);
                } else {
                    self.err(off, format!("unknown option '{key}'"));
                }
            }
        }
    }

    fn start_buffer(&mut self, off: usize, b: &mut Builder, buffer: Buffer) {
        if let Some(prev) = b.last_buffer_off.filter(|_| !b.match_seen) {
            self.err(prev, "sticky buffer is not followed by a match");
        }
        b.groups.push(Group {
            buffer,
            matches: Vec::new(),
        });
        b.last_buffer_off = Some(off);
        b.match_seen = false;
    }
}

/// Why a `pcre` is not compiled.
enum PcreError {
    /// It needs what the regex engine does not run: the rule is skipped.
    Skip(Skip),
    /// It is wrong: an error.
    Bad(String),
}

/// `"/re/flags"` (optionally `!"/re/flags"`) into a size-limited regex. Suricata's flags:
/// `i s m x` as in PCRE, `R` relative to the previous match, `G` ungreedy, `A` anchored, `E`
/// and `O` without effect here; its buffer flags (`U`, `H`, `P`...) name HTTP buffers, so a
/// rule using one is skipped, as is one needing look-around or back-references.
fn compile_pcre(v: &str) -> Result<Match, PcreError> {
    let bad = |e: String| PcreError::Bad(e);
    let (negated, inner) = quoted(v).map_err(|e| bad(format!("pcre: {e}")))?;
    let body = inner
        .strip_prefix('/')
        .ok_or_else(|| bad("pcre: expected \"/regex/flags\"".to_string()))?;
    let slash = body
        .rfind('/')
        .ok_or_else(|| bad("pcre: expected \"/regex/flags\"".to_string()))?;
    let (pat, flags) = (&body[..slash], &body[slash + 1..]);
    let mut anchored = false;
    let mut relative = false;
    let mut rb_flags = (false, false, false, false, false);
    for f in flags.chars() {
        match f {
            'i' => rb_flags.0 = true,
            's' => rb_flags.1 = true,
            'm' => rb_flags.2 = true,
            'x' => rb_flags.3 = true,
            'G' => rb_flags.4 = true,
            'A' => anchored = true,
            'R' => relative = true,
            'E' | 'O' => {}
            'U' | 'I' | 'P' | 'Q' | 'H' | 'D' | 'M' | 'C' | 'K' | 'S' | 'Y' | 'B' | 'V' | 'W'
            | 'Z' => {
                return Err(PcreError::Skip(Skip(format!(
                    "pcre flag '{f}' selects an HTTP buffer"
                ))))
            }
            _ => return Err(bad(format!("pcre: unknown flag '{f}'"))),
        }
    }
    let full = if anchored {
        format!("^(?:{pat})")
    } else {
        pat.to_string()
    };
    let mut rb = RegexBuilder::new(&full);
    rb.size_limit(REGEX_SIZE_LIMIT)
        .dfa_size_limit(REGEX_DFA_LIMIT)
        .nest_limit(64)
        .case_insensitive(rb_flags.0)
        .dot_matches_new_line(rb_flags.1)
        .multi_line(rb_flags.2)
        .ignore_whitespace(rb_flags.3)
        .swap_greed(rb_flags.4)
        // PCRE without UTF mode, as Suricata runs it: classes and `.` match bytes.
        .unicode(false);
    let re = rb.build().map_err(|e| {
        let detail = e.to_string();
        let last = detail.lines().last().unwrap_or("").trim().to_string();
        if last.contains("not supported") {
            PcreError::Skip(Skip(format!("pcre '{pat}' needs {last}")))
        } else {
            bad(format!("bad regex '{pat}': {last}"))
        }
    })?;
    Ok(Match::Pcre {
        re,
        negated,
        relative,
    })
}

#[derive(Default)]
struct Builder {
    msg: Option<String>,
    sid: Option<u32>,
    rev: Option<u32>,
    gid: Option<u32>,
    classtype: Option<String>,
    severity: Option<u8>,
    priority: Option<u8>,
    references: Vec<String>,
    metadata: Vec<(String, String)>,
    flow: Option<Flow>,
    /// `target:src_ip` (the default, `target:dest_ip`, is false).
    target_is_src: bool,
    threshold: Option<Threshold>,
    dsize: Option<LenOp>,
    methods: Vec<String>,
    stat_codes: Vec<StatCode>,
    groups: Vec<Group>,
    last_buffer_off: Option<usize>,
    /// A match option (valid or not) followed the current buffer.
    match_seen: bool,
}
