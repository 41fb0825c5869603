//! Signature rules over SIP messages in Suricata's rule language (its SIP and SDP buffers,
//! payload rules over `udp`/`tcp`/`ip`, content positions, classification.config, vars from a
//! suricata.yaml; what the sensor cannot run is skipped, [`keywords`]), plus the sensor's own
//! keywords. README.md, "Suricata rules", lists what is supported; the older grammar below
//! still holds.
//!
//! [`RuleSet::load`] reads every `*.rules` file of a folder (sorted by name) and, if present,
//! `variables.conf`; [`RuleSet::matches`] lists the rules one SIP message matches. Thresholds are
//! parsed and exposed ([`Rule::threshold`]); applying them is the caller's work.
//!
//! # Files
//!
//! One rule per line. A line ending in `\` continues on the next one (joined as is). Blank lines
//! and lines whose first non-blank character is `#` are ignored.
//!
//! `variables.conf` holds `NAME = value` lines (`#` comments): address or port groups used as
//! `$NAME` in rules, and in other variables:
//!
//! ```text
//! HOME_NET = [10.0.0.0/8, 192.168.0.0/16]
//! EXTERNAL_NET = !$HOME_NET
//! SIP_PORTS = [5060, 5061]
//! ```
//!
//! # Grammar
//!
//! ```text
//! rule      = "alert" WS "sip" WS addr WS port WS dir WS addr WS port WS* "(" options ")"
//! dir       = "->" | "<>"                       ; <> : either direction
//! addr      = "any" | IP | IP "/" BITS | "$" NAME | "!" addr | "[" addr *("," addr) "]"
//! port      = "any" | N | N ":" N | N ":" | ":" N | "$" NAME | "!" port | "[" port *("," port) "]"
//! options   = *(WS* option WS* ";")             ; the last ";" may be left out
//! option    = KEY | KEY ":" VALUE               ; VALUE ends at the first ";" outside quotes
//! ```
//!
//! A list matches when one of its positive items matches (or it has none) and none of its
//! negated items does: `[10.0.0.0/8, !10.1.0.0/16]`. IPv4 and IPv6 CIDRs both work;
//! IPv4-mapped IPv6 addresses are compared as IPv4.
//!
//! Quoted values (`msg`, `content`, `pcre`) may contain `\"`, `\;`, `\\` (and `\:`) escapes.
//!
//! # Options
//!
//! | option | meaning |
//! | --- | --- |
//! | `msg:"text";` | required: the alert's signature name |
//! | `sid:N;` | required, unique across all files, at least 1 |
//! | `rev:N;` | revision (default 0) |
//! | `classtype:WORD;` | the alert category (default `misc-activity`) |
//! | `severity:N;` | 1 (high) ..= 3 (low), default 2 |
//! | `target:dest_ip;` / `target:src_ip;` | which side of the packet the alert's `target` is (Suricata's keyword); the other is its `source`. Default `dest_ip` |
//! | `flow:to_server;` / `flow:to_client;` | requests only / responses only (`from_client`, `from_server` are synonyms; `established` and `stateless` are accepted and ignored) |
//! | `sip.method:INVITE,REGISTER;` | request method, exact and case-sensitive (implies to_server) |
//! | `sip.stat_code:404,5xx;` | response status, codes or classes (implies to_client) |
//! | `threshold:type T, track K, count N, seconds S;` | T = limit, threshold or both; K = by_src, by_dst, by_rule or by_both (the address pair, either direction) (Suricata semantics) |
//!
//! Sticky buffers select the part of the message the following matches look at:
//!
//! | buffer | content |
//! | --- | --- |
//! | `sip.uri` | Request-URI |
//! | `sip.uri_user`, `sip.uri_host` | its user and host parts |
//! | `sip.from_user`, `sip.from_host`, `sip.from_display` | From URI user, host, display name (unquoted) |
//! | `sip.to_user`, `sip.to_host` | To URI user, host |
//! | `sip.user_agent` | every User-Agent and Server header |
//! | `sip.call_id`, `sip.contact`, `sip.via` | every header of that name (raw value) |
//! | `sip.header:NAME` | every header named NAME (case-insensitive, compact forms: `i` is Call-ID) |
//! | `sip.body` | the message body (absent when empty) |
//! | `sip.start_line` | the first line, rebuilt as `METHOD URI VERSION` or `VERSION CODE REASON` |
//!
//! Matches (on the current buffer):
//!
//! | match | meaning |
//! | --- | --- |
//! | `content:"text";` | contains the bytes; `\|41 42\|` writes hex bytes; `content:!"x";` negates |
//! | `nocase;` `startswith;` `endswith;` `equals;` | modify the content before them (ASCII case folding; anchored at start / end / whole buffer) |
//! | `pcre:"/re/flags";` | regular expression (Rust `regex` syntax, flags `i`, `s`, `m`, compiled size-limited); `pcre:!"/re/";` negates |
//! | `len:N;` `len:>N;` `len:<N;` | buffer length in bytes |
//! | `absent;` | the buffer is not in the message at all (alone on its buffer) |
//!
//! A buffer with several instances (repeated headers) matches when one instance satisfies every
//! match that follows it. A buffer that is absent fails every match except `absent`, negated
//! ones included. All buffers and the method, status, flow, address and port tests of a rule
//! must hold for it to match.
//!
//! # Errors
//!
//! Every problem is a [`RuleError`] (`file:line:column: message`, the column pointing at the
//! option or header field at fault); loading reports every error of every file.

pub mod classify;
mod content;
pub mod folders;
pub mod keywords;
mod matcher;
pub mod net;
mod parse;
mod prefilter;
pub mod tuning;
pub mod windows;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_suricata;

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

pub use crate::sip::View;
pub use content::{Content, LenOp, Match};
pub use keywords::Proto;
pub use matcher::{Buffer, Group, SdpField};
pub use net::Variables;

use crate::base::packet::PacketCtx;
use crate::sip::parser::SipMessage;

/// One problem in a rule or variables file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleError {
    pub file: PathBuf,
    /// 1-based (0 for a problem with the whole file).
    pub line: usize,
    /// 1-based, in characters (0 for a problem with the whole file).
    pub column: usize,
    pub message: String,
}

impl fmt::Display for RuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.file.display(),
            self.line,
            self.column,
            self.message
        )
    }
}

impl std::error::Error for RuleError {}

/// A rule that loaded but does not run: it needs what the sensor does not do (another
/// protocol, H.323, byte_test...). Said once at load, counted, not an error.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Skipped {
    pub file: PathBuf,
    pub line: usize,
    pub sid: Option<u32>,
    pub reason: String,
}

impl fmt::Display for Skipped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: ", self.file.display(), self.line)?;
        if let Some(sid) = self.sid {
            write!(f, "sid {sid} ")?;
        }
        write!(f, "skipped: {}", self.reason)
    }
}

/// How a threshold counts (Suricata's `type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ThresholdKind {
    /// Alert on the first `count` matches in each window.
    Limit,
    /// Alert on every `count`-th match in the window.
    Threshold,
    /// Alert once per window, when the count is reached.
    Both,
}

impl ThresholdKind {
    /// `limit`, `threshold` or `both`.
    pub fn from_word(w: &str) -> Option<ThresholdKind> {
        match w {
            "limit" => Some(ThresholdKind::Limit),
            "threshold" => Some(ThresholdKind::Threshold),
            "both" => Some(ThresholdKind::Both),
            _ => None,
        }
    }
}

/// What a threshold counts per (Suricata's `track`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Track {
    BySrc,
    ByDst,
    ByRule,
    /// The pair of addresses, either direction.
    ByBoth,
}

impl Track {
    /// `by_src`, `by_dst`, `by_rule` or `by_both`.
    pub fn from_word(w: &str) -> Option<Track> {
        match w {
            "by_src" => Some(Track::BySrc),
            "by_dst" => Some(Track::ByDst),
            "by_rule" => Some(Track::ByRule),
            "by_both" => Some(Track::ByBoth),
            _ => None,
        }
    }
}

/// `threshold:type limit, track by_src, count 1, seconds 300;`
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Threshold {
    pub kind: ThresholdKind,
    pub track: Track,
    pub count: u32,
    pub seconds: u32,
}

/// Which messages a rule looks at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flow {
    /// Requests.
    ToServer,
    /// Responses.
    ToClient,
}

/// A `sip.stat_code` item.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StatCode {
    Code(u16),
    /// `4xx`: the hundreds digit.
    Class(u16),
}

impl StatCode {
    fn matches(self, code: u16) -> bool {
        match self {
            StatCode::Code(c) => c == code,
            StatCode::Class(k) => code / 100 == k,
        }
    }
}

/// One signature.
#[derive(Clone, Debug)]
pub struct Rule {
    pub sid: u32,
    pub rev: u32,
    /// Generator id (`gid`, 1 unless given).
    pub gid: u32,
    /// `msg` (Suricata allows a rule without one: empty).
    pub msg: String,
    /// The `classtype` word, if any.
    pub classtype: Option<String>,
    /// What alerts say as `category`: the classtype's description from classification.config
    /// (as Suricata writes it), else the classtype word, else `misc-activity`.
    pub category: String,
    /// The alert's severity: `severity` (the sensor's word) or `priority` (Suricata's), else
    /// the classtype's priority, else 3 as in Suricata.
    pub severity: u8,
    /// `reference:type,value` items, as given.
    pub references: Vec<String>,
    /// `metadata` key/value pairs, in order (Suricata writes them as `alert.metadata`).
    pub metadata: Vec<(String, String)>,
    pub threshold: Option<Threshold>,
    /// `target:src_ip`: the packet's source is the target of the alert (`alert.target`), its
    /// destination the actor (`alert.source`); otherwise the other way round.
    pub target_is_src: bool,
    /// Where it was defined (first line of a continued rule).
    pub file: PathBuf,
    pub line: usize,
    proto: Proto,
    src: net::AddrExpr,
    sport: net::PortExpr,
    dst: net::AddrExpr,
    dport: net::PortExpr,
    bidirectional: bool,
    flow: Option<Flow>,
    /// `dsize`: the message's size on the wire.
    dsize: Option<LenOp>,
    methods: Vec<String>,
    stat_codes: Vec<StatCode>,
    groups: Vec<Group>,
}

impl Rule {
    /// Requests only, responses only, or `None` for both.
    pub fn flow(&self) -> Option<Flow> {
        self.flow
    }

    /// The `sip.method` list (empty: any).
    pub fn methods(&self) -> &[String] {
        &self.methods
    }

    /// The sticky buffers and their matches.
    pub fn groups(&self) -> &[Group] {
        &self.groups
    }

    /// The first `frame:` the rule inspects: its alerts say which frame (Suricata's `frame`).
    pub fn frame(&self) -> Option<crate::sip::frames::FrameKind> {
        self.groups.iter().find_map(|g| match g.buffer {
            Buffer::Frame(k) => Some(k),
            _ => None,
        })
    }

    /// The header's protocol.
    pub fn proto(&self) -> Proto {
        self.proto
    }

    /// Give the rule its category and severity from the classifications (once loaded).
    fn classify(&mut self, classes: &classify::Classifications) {
        let class = self.classtype.as_deref().and_then(|c| classes.get(c));
        self.category = match (class, &self.classtype) {
            (Some(c), _) => c.description.clone(),
            (None, Some(word)) => word.clone(),
            (None, None) => "misc-activity".to_string(),
        };
        if self.severity == 0 {
            self.severity = class.map_or(3, |c| c.priority);
        }
    }

    /// Requests only, responses only, or both: from `flow` and `sip.method`/`sip.stat_code`,
    /// else from buffers that only one kind has (a Request-URI, a status code).
    fn kind(&self) -> Option<Flow> {
        self.flow.or_else(|| {
            let present = self
                .groups
                .iter()
                .filter(|g| !g.matches.iter().any(|m| matches!(m, Match::Absent)));
            let mut kind = None;
            for g in present {
                let k = match g.buffer {
                    Buffer::Frame(f) => match f {
                        crate::sip::frames::FrameKind::Pdu => continue,
                        crate::sip::frames::FrameKind::RequestLine
                        | crate::sip::frames::FrameKind::RequestHeaders
                        | crate::sip::frames::FrameKind::RequestBody => Flow::ToServer,
                        _ => Flow::ToClient,
                    },
                    Buffer::Method
                    | Buffer::Uri
                    | Buffer::RequestLine
                    | Buffer::UriUser
                    | Buffer::UriHost => Flow::ToServer,
                    Buffer::StatCode | Buffer::StatMsg | Buffer::ResponseLine => Flow::ToClient,
                    _ => continue,
                };
                kind = Some(k);
            }
            kind
        })
    }

    /// The `alert` object of an EVE alert raised by this rule on the packet of `head`.
    pub fn alert_info(&self, head: &crate::base::head::Head) -> crate::detect::alert::AlertInfo {
        let side = crate::detect::alert::Endpoint {
            ip: head.src_ip,
            port: head.src_port,
        };
        let mut info = crate::detect::alert::AlertInfo {
            action: "allowed".to_string(),
            gid: self.gid,
            signature_id: self.sid,
            rev: self.rev,
            signature: self.msg.clone(),
            category: self.category.clone(),
            severity: self.severity,
            source: side,
            target: side,
            metadata: (!self.metadata.is_empty()).then(|| {
                let mut m = std::collections::BTreeMap::<String, Vec<String>>::new();
                for (k, v) in &self.metadata {
                    m.entry(k.clone()).or_default().push(v.clone());
                }
                m
            }),
        };
        info.sides(head, self.target_is_src);
        info
    }

    fn addresses_match(&self, ctx: &PacketCtx) -> bool {
        let fwd = self.src.matches(ctx.src)
            && self.sport.matches(ctx.sport)
            && self.dst.matches(ctx.dst)
            && self.dport.matches(ctx.dport);
        fwd || (self.bidirectional
            && self.src.matches(ctx.dst)
            && self.sport.matches(ctx.dport)
            && self.dst.matches(ctx.src)
            && self.dport.matches(ctx.sport))
    }

    /// Full test (method, status, flow, addresses, buffers) against one message.
    pub fn is_match(&self, msg: &SipMessage<'_>, ctx: &PacketCtx) -> bool {
        self.is_match_view(&View::new(msg), ctx)
    }

    /// [`Rule::is_match`] on a message view shared by the rules tested on one message.
    pub fn is_match_view(&self, v: &View<'_, '_>, ctx: &PacketCtx) -> bool {
        let msg = v.msg;
        match (msg.method(), msg.status()) {
            (Some(m), _) => {
                if self.flow == Some(Flow::ToClient)
                    || (!self.methods.is_empty() && !self.methods.iter().any(|x| x == m.as_str()))
                {
                    return false;
                }
            }
            (None, Some(code)) => {
                if self.flow == Some(Flow::ToServer)
                    || (!self.stat_codes.is_empty()
                        && !self.stat_codes.iter().any(|s| s.matches(code)))
                {
                    return false;
                }
            }
            (None, None) => return false,
        }
        let transport_ok = match self.proto {
            Proto::Sip | Proto::Ip => true,
            Proto::Udp => ctx.transport == crate::base::packet::Transport::Udp,
            Proto::Tcp => ctx.transport == crate::base::packet::Transport::Tcp,
        };
        transport_ok
            && self.dsize.is_none_or(|op| op.holds(v.raw.len()))
            && self.addresses_match(ctx)
            && self.groups.iter().all(|g| g.test(v))
    }
}

/// A loaded set of rules, indexed by request method and response so a message tests few rules.
#[derive(Debug, Default)]
pub struct RuleSet {
    rules: Vec<Rule>,
    /// Rules that loaded but do not run, and why.
    skipped: Vec<Skipped>,
    /// Request rules with a method list, by method (indices ascending).
    by_method: crate::base::fasthash::FastMap<String, Vec<usize>>,
    /// Rules for every request (no method list, flow not to_client).
    any_request: Vec<usize>,
    /// Rules for responses (flow not to_server).
    responses: Vec<usize>,
    /// The rules' fast patterns, one pass a buffer.
    prefilter: prefilter::Prefilter,
}

impl RuleSet {
    /// Build from parsed rules (sids must be unique: checked by [`RuleSet::load`]).
    pub fn from_rules(rules: Vec<Rule>) -> RuleSet {
        let mut set = RuleSet {
            rules,
            ..RuleSet::default()
        };
        for (i, r) in set.rules.iter().enumerate() {
            let kind = r.kind();
            if kind != Some(Flow::ToClient) {
                if r.methods.is_empty() {
                    set.any_request.push(i);
                } else {
                    for m in &r.methods {
                        let v = set.by_method.entry(m.clone()).or_default();
                        if v.last() != Some(&i) {
                            v.push(i);
                        }
                    }
                }
            }
            if kind != Some(Flow::ToServer) {
                set.responses.push(i);
            }
        }
        set.prefilter = prefilter::Prefilter::build(&set.rules);
        set
    }

    /// Read every `*.rules` file of the folders (sorted by name; a later folder's file replaces
    /// the same name of an earlier one) with `variables.conf` if present. A folder without rule
    /// files gives an empty set. Every error of every file is returned.
    pub fn load(dirs: impl Into<folders::RuleFolders>) -> Result<RuleSet, Vec<RuleError>> {
        let dirs: folders::RuleFolders = dirs.into();
        let whole = |file: &Path, message: String| RuleError {
            file: file.to_path_buf(),
            line: 0,
            column: 0,
            message,
        };
        let mut errors = Vec::new();
        let files = match dirs.files_ending(".rules") {
            Ok(f) => f,
            Err((dir, e)) => {
                return Err(vec![whole(&dir, format!("cannot read rules folder: {e}"))])
            }
        };

        // Variables: a suricata.yaml's (vars.yaml), then variables.conf over them, then
        // Suricata's defaults for what neither defines.
        let mut vars = Variables::new();
        for (name, yaml) in [("vars.yaml", true), ("variables.conf", false)] {
            let path = dirs.file(name);
            if !path.is_file() {
                continue;
            }
            match std::fs::read_to_string(&path) {
                Ok(t) => {
                    let parsed = if yaml {
                        Variables::parse_yaml(&path, &t)
                    } else {
                        Variables::parse(&path, &t)
                    };
                    match parsed {
                        Ok(v) => vars.extend(v),
                        Err(mut e) => errors.append(&mut e),
                    }
                }
                Err(e) => errors.push(whole(&path, format!("cannot read: {e}"))),
            }
        }
        let vars = vars.with_defaults();

        let class_path = dirs.file("classification.config");
        let classes = if class_path.is_file() {
            match std::fs::read_to_string(&class_path) {
                Ok(t) => {
                    classify::Classifications::parse(&class_path, &t).unwrap_or_else(|mut e| {
                        errors.append(&mut e);
                        classify::Classifications::default()
                    })
                }
                Err(e) => {
                    errors.push(whole(&class_path, format!("cannot read: {e}")));
                    classify::Classifications::default()
                }
            }
        } else {
            classify::Classifications::default()
        };

        let mut rules = Vec::new();
        let mut skipped = Vec::new();
        for f in &files {
            let text = match std::fs::read_to_string(f) {
                Ok(t) => t,
                Err(e) => {
                    errors.push(whole(f, format!("cannot read: {e}")));
                    continue;
                }
            };
            let (mut r, mut e, mut s) = parse::parse_text(f, &text, &vars);
            rules.append(&mut r);
            errors.append(&mut e);
            skipped.append(&mut s);
        }
        for r in &mut rules {
            r.classify(&classes);
        }
        errors.extend(duplicate_sids(&rules));
        if errors.is_empty() {
            let mut set = RuleSet::from_rules(rules);
            set.skipped = skipped;
            Ok(set)
        } else {
            Err(errors)
        }
    }

    /// The rules that loaded but do not run, and why.
    pub fn skipped(&self) -> &[Skipped] {
        &self.skipped
    }

    /// Parse one file's text (`name` is used as its file name in errors). Sids are checked for
    /// duplicates within the text.
    pub fn parse_str(
        name: &str,
        text: &str,
        vars: &Variables,
    ) -> Result<Vec<Rule>, Vec<RuleError>> {
        let (mut rules, mut errors, _) = parse::parse_text(Path::new(name), text, vars);
        for r in &mut rules {
            r.classify(&classify::Classifications::default());
        }
        errors.extend(duplicate_sids(&rules));
        if errors.is_empty() {
            Ok(rules)
        } else {
            Err(errors)
        }
    }

    pub fn len(&self) -> usize {
        self.rules.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// The rule with this sid.
    pub fn by_sid(&self, sid: u32) -> Option<&Rule> {
        self.rules.iter().find(|r| r.sid == sid)
    }

    /// Append every rule matching this SIP message to `out`, in file order; `ctx` gives the
    /// addresses and ports. Only rules for the message's kind (request method or response)
    /// are tested.
    pub fn matches<'r>(&'r self, msg: &SipMessage<'_>, ctx: &PacketCtx, out: &mut Vec<&'r Rule>) {
        self.matches_view(&View::new(msg), ctx, out);
    }

    /// [`RuleSet::matches`] on a view of the message that other readers share.
    pub fn matches_view<'r>(
        &'r self,
        view: &View<'_, '_>,
        ctx: &PacketCtx,
        out: &mut Vec<&'r Rule>,
    ) {
        let mut hits = Vec::new();
        self.matching(view, ctx, &mut hits);
        out.extend(hits.into_iter().filter_map(|i| self.get(i)));
    }

    /// The rule at `index` (as [`RuleSet::matching`] gives it).
    pub fn get(&self, index: u32) -> Option<&Rule> {
        self.rules.get(index as usize)
    }

    /// Append the index of every rule matching the viewed message to `out`, in file order:
    /// what a worker hands on, so that the stage that applies thresholds need not match again.
    pub fn matching(&self, view: &View<'_, '_>, ctx: &PacketCtx, out: &mut Vec<u32>) {
        let msg = view.msg;
        let (a, b): (&[usize], &[usize]) = match msg.method() {
            Some(m) => (
                &self.any_request,
                self.by_method
                    .get(m.as_str())
                    .map_or(&[][..], Vec::as_slice),
            ),
            None => (&self.responses, &[]),
        };
        // Merge the two ascending index lists so alerts come in file order.
        prefilter::Found::with(&self.prefilter, |found| {
            let (mut i, mut j) = (0, 0);
            loop {
                let next = match (a.get(i), b.get(j)) {
                    (Some(&x), Some(&y)) if x <= y => {
                        i += 1;
                        x
                    }
                    (_, Some(&y)) => {
                        j += 1;
                        y
                    }
                    (Some(&x), None) => {
                        i += 1;
                        x
                    }
                    (None, None) => break,
                };
                if let Some(r) = self.rules.get(next) {
                    if found.may_match(next, view) && r.is_match_view(view, ctx) {
                        out.push(next as u32);
                    }
                }
            }
        })
    }
}

/// `duplicate sid N (first defined at FILE:LINE)` for every repeated sid.
fn duplicate_sids(rules: &[Rule]) -> Vec<RuleError> {
    let mut seen: HashMap<u32, &Rule> = HashMap::new();
    let mut errors = Vec::new();
    for r in rules {
        match seen.get(&r.sid) {
            Some(first) => errors.push(RuleError {
                file: r.file.clone(),
                line: r.line,
                column: 1,
                message: format!(
                    "duplicate sid {} (first defined at {}:{})",
                    r.sid,
                    first.file.display(),
                    first.line
                ),
            }),
            None => {
                seen.insert(r.sid, r);
            }
        }
    }
    errors
}
