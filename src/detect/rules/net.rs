//! Addresses, ports and the variables that name them (`rules/variables.conf`).

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::Path;

use super::RuleError;

/// Deepest nesting of `[...]` lists and `$VAR` references; more is an error (no unbounded recursion).
const MAX_DEPTH: usize = 16;

/// Named address and port groups (`HOME_NET = [10.0.0.0/8, 192.168.0.0/16]`), as read from
/// `variables.conf`. Values are kept as text and resolved where a rule uses them, so one
/// variable can hold addresses or ports.
#[derive(Clone, Debug, Default)]
pub struct Variables {
    vars: HashMap<String, String>,
}

impl Variables {
    /// No variables.
    pub fn new() -> Variables {
        Variables::default()
    }

    /// Define (or redefine) `name` (without the `$`).
    pub fn set(&mut self, name: &str, value: &str) {
        self.vars.insert(name.to_string(), value.trim().to_string());
    }

    /// Add `other`'s variables over these.
    pub fn extend(&mut self, other: Variables) {
        self.vars.extend(other.vars);
    }

    /// The text of a variable.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.vars.get(name).map(String::as_str)
    }

    /// Parse a `variables.conf` text: `NAME = value` lines, `#` comments, blank lines.
    /// Every value must be a valid address or port group (checked here, so a typo is reported
    /// against this file).
    pub fn parse(file: &Path, text: &str) -> Result<Variables, Vec<RuleError>> {
        let mut v = Variables::new();
        let mut errors = Vec::new();
        let mut lines = Vec::new();
        for (i, raw) in text.lines().enumerate() {
            let line = raw.trim_end_matches('\r');
            let trimmed = line.trim_start();
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            let indent = line.len() - trimmed.len();
            let col = |byte: usize| line.get(..byte).map_or(byte, |s| s.chars().count()) + 1;
            let err = |c: usize, message: String| RuleError {
                file: file.to_path_buf(),
                line: i + 1,
                column: c,
                message,
            };
            let Some((name, value)) = trimmed.split_once('=') else {
                errors.push(err(col(indent), "expected NAME = value".to_string()));
                continue;
            };
            let name = name.trim().trim_start_matches('$');
            if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
                errors.push(err(
                    col(indent),
                    format!("bad variable name '{name}': letters, digits and '_' only"),
                ));
                continue;
            }
            if value.trim().is_empty() {
                errors.push(err(col(indent), format!("variable ${name} has no value")));
                continue;
            }
            v.set(name, value);
            lines.push((name.to_string(), i + 1, col(indent)));
        }
        v.check(file, lines, errors)
    }

    /// Every defined value must be a valid address or port group (checked where it is
    /// defined, so a typo is reported against its file and line).
    fn check(
        self,
        file: &Path,
        lines: Vec<(String, usize, usize)>,
        mut errors: Vec<RuleError>,
    ) -> Result<Variables, Vec<RuleError>> {
        for (name, line, column) in lines {
            let value = self.get(&name).unwrap_or("");
            let as_addr = parse_addr(value, &self);
            let as_port = parse_port(value, &self);
            if let (Err(a), Err(_)) = (as_addr, as_port) {
                errors.push(RuleError {
                    file: file.to_path_buf(),
                    line,
                    column,
                    message: format!("variable ${name}: {a}"),
                });
            }
        }
        if errors.is_empty() {
            Ok(self)
        } else {
            Err(errors)
        }
    }

    /// Read the variables of a `suricata.yaml` (the whole file or only its `vars:` section):
    /// the `NAME: value` entries under `vars:` -> `address-groups:` and `port-groups:`, values
    /// quoted or not. Everything else in the file is ignored.
    pub fn parse_yaml(file: &Path, text: &str) -> Result<Variables, Vec<RuleError>> {
        let mut v = Variables::new();
        let mut lines = Vec::new();
        let mut errors = Vec::new();
        // The indentation of `vars:` and of the group key we are in.
        let mut in_vars: Option<usize> = None;
        let mut in_group: Option<usize> = None;
        for (i, raw) in text.lines().enumerate() {
            let line = raw.trim_end_matches('\r');
            let body = line.split(" #").next().unwrap_or("").trim_end();
            let trimmed = body.trim_start();
            if trimmed.is_empty()
                || trimmed.starts_with('#')
                || trimmed == "---"
                || trimmed == "%YAML 1.1"
            {
                continue;
            }
            let indent = body.len() - trimmed.len();
            if in_group.is_some_and(|g| indent <= g) {
                in_group = None;
            }
            if in_vars.is_some_and(|g| indent <= g) {
                in_vars = None;
            }
            let Some((key, value)) = trimmed.split_once(':') else {
                continue;
            };
            let value = value.trim();
            match (in_vars, in_group) {
                (None, _) if key == "vars" && value.is_empty() => in_vars = Some(indent),
                (Some(_), None)
                    if value.is_empty() && (key == "address-groups" || key == "port-groups") =>
                {
                    in_group = Some(indent);
                }
                (Some(_), Some(_)) => {
                    let name = key.trim();
                    let unquoted = value
                        .strip_prefix('"')
                        .and_then(|r| r.strip_suffix('"'))
                        .or_else(|| value.strip_prefix('\'').and_then(|r| r.strip_suffix('\'')))
                        .unwrap_or(value);
                    let column = indent + 1;
                    if name.is_empty()
                        || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
                        || unquoted.trim().is_empty()
                    {
                        errors.push(RuleError {
                            file: file.to_path_buf(),
                            line: i + 1,
                            column,
                            message: format!("expected NAME: \"value\", got '{trimmed}'"),
                        });
                        continue;
                    }
                    v.set(name, unquoted);
                    lines.push((name.to_string(), i + 1, column));
                }
                _ => {}
            }
        }
        v.check(file, lines, errors)
    }

    /// Suricata's default groups (its suricata.yaml) for names the files did not define, so
    /// that a rule file written for Suricata loads: `HOME_NET` the private ranges,
    /// `EXTERNAL_NET` the rest, the `*_PORTS` groups its rules use, and `SIP_PORTS`.
    pub fn with_defaults(mut self) -> Variables {
        const DEFAULTS: &[(&str, &str)] = &[
            ("HOME_NET", "[192.168.0.0/16,10.0.0.0/8,172.16.0.0/12]"),
            ("EXTERNAL_NET", "!$HOME_NET"),
            ("HTTP_SERVERS", "$HOME_NET"),
            ("SMTP_SERVERS", "$HOME_NET"),
            ("SQL_SERVERS", "$HOME_NET"),
            ("DNS_SERVERS", "$HOME_NET"),
            ("TELNET_SERVERS", "$HOME_NET"),
            ("AIM_SERVERS", "$EXTERNAL_NET"),
            ("DC_SERVERS", "$HOME_NET"),
            ("DNP3_SERVER", "$HOME_NET"),
            ("DNP3_CLIENT", "$HOME_NET"),
            ("MODBUS_CLIENT", "$HOME_NET"),
            ("MODBUS_SERVER", "$HOME_NET"),
            ("ENIP_CLIENT", "$HOME_NET"),
            ("ENIP_SERVER", "$HOME_NET"),
            ("HTTP_PORTS", "80"),
            ("SHELLCODE_PORTS", "!80"),
            ("ORACLE_PORTS", "1521"),
            ("SSH_PORTS", "22"),
            ("DNP3_PORTS", "20000"),
            ("MODBUS_PORTS", "502"),
            ("FILE_DATA_PORTS", "[$HTTP_PORTS,110,143]"),
            ("FTP_PORTS", "21"),
            ("GENEVE_PORTS", "6081"),
            ("VXLAN_PORTS", "4789"),
            ("TEREDO_PORTS", "3544"),
            ("SIP_PORTS", "[5060,5061]"),
        ];
        for (name, value) in DEFAULTS {
            if self.get(name).is_none() {
                self.set(name, value);
            }
        }
        self
    }
}

/// An address group: `any`, an IP, a CIDR, a list, a negation or a variable (resolved).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AddrExpr {
    Any,
    Net(IpAddr, u8),
    Not(Box<AddrExpr>),
    List(Vec<AddrExpr>),
}

/// A port group: `any`, a number, a range `lo:hi` (either end may be left out), lists, negation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PortExpr {
    Any,
    Range(u16, u16),
    Not(Box<PortExpr>),
    List(Vec<PortExpr>),
}

fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

impl AddrExpr {
    /// Whether `ip` is in the expression (`any`, what most rules say, decided inline).
    #[inline]
    pub fn matches(&self, ip: IpAddr) -> bool {
        matches!(self, AddrExpr::Any) || self.matches_slow(ip)
    }

    fn matches_slow(&self, ip: IpAddr) -> bool {
        match self {
            AddrExpr::Any => true,
            AddrExpr::Net(net, bits) => match (canonical(ip), net) {
                (IpAddr::V4(a), IpAddr::V4(n)) => {
                    let mask = u32::MAX.checked_shl(32 - u32::from(*bits)).unwrap_or(0);
                    u32::from(a) & mask == u32::from(*n) & mask
                }
                (IpAddr::V6(a), IpAddr::V6(n)) => {
                    let mask = u128::MAX.checked_shl(128 - u32::from(*bits)).unwrap_or(0);
                    u128::from(a) & mask == u128::from(*n) & mask
                }
                _ => false,
            },
            AddrExpr::Not(inner) => !inner.matches(ip),
            AddrExpr::List(items) => {
                list_matches(items, |e| matches!(e, AddrExpr::Not(_)), |e| e.matches(ip))
            }
        }
    }
}

impl PortExpr {
    /// Whether `port` is in the expression (`any` decided inline).
    #[inline]
    pub fn matches(&self, port: u16) -> bool {
        matches!(self, PortExpr::Any) || self.matches_slow(port)
    }

    fn matches_slow(&self, port: u16) -> bool {
        match self {
            PortExpr::Any => true,
            PortExpr::Range(lo, hi) => (*lo..=*hi).contains(&port),
            PortExpr::Not(inner) => !inner.matches(port),
            PortExpr::List(items) => list_matches(
                items,
                |e| matches!(e, PortExpr::Not(_)),
                |e| e.matches(port),
            ),
        }
    }
}

/// Suricata list semantics: some positive item matches (or there is none), and no negated
/// item excludes the value.
fn list_matches<T>(items: &[T], is_neg: impl Fn(&T) -> bool, m: impl Fn(&T) -> bool) -> bool {
    let mut any_pos = false;
    let mut pos_hit = false;
    for item in items {
        if is_neg(item) {
            if !m(item) {
                return false;
            }
        } else {
            any_pos = true;
            pos_hit = pos_hit || m(item);
        }
    }
    !any_pos || pos_hit
}

/// The byte ranges between top-level commas (outside `[...]`) of `s`.
pub(super) fn comma_spans(s: &str) -> Result<Vec<std::ops::Range<usize>>, String> {
    let mut out = Vec::new();
    let mut depth = 0usize;
    let mut start = 0;
    for (i, c) in s.char_indices() {
        match c {
            '[' => depth += 1,
            ']' => depth = depth.checked_sub(1).ok_or("unbalanced ']'")?,
            ',' if depth == 0 => {
                out.push(start..i);
                start = i + 1;
            }
            _ => {}
        }
    }
    if depth != 0 {
        return Err("unbalanced '['".to_string());
    }
    out.push(start..s.len());
    Ok(out)
}

/// Split the inside of a `[...]` list on top-level commas.
fn split_list(s: &str) -> Result<Vec<&str>, String> {
    let out: Vec<&str> = comma_spans(s)?.into_iter().map(|r| s[r].trim()).collect();
    if out.iter().any(|p| p.is_empty()) {
        return Err("empty item in list".to_string());
    }
    Ok(out)
}

/// Parse an address group, resolving `$VAR`s.
pub fn parse_addr(s: &str, vars: &Variables) -> Result<AddrExpr, String> {
    addr_at(s.trim(), vars, 0)
}

fn addr_at(s: &str, vars: &Variables, depth: usize) -> Result<AddrExpr, String> {
    if depth > MAX_DEPTH {
        return Err(format!(
            "address '{s}' nests too deeply (recursive variable?)"
        ));
    }
    if s.is_empty() {
        return Err("empty address".to_string());
    }
    if let Some(rest) = s.strip_prefix('!') {
        return Ok(AddrExpr::Not(Box::new(addr_at(
            rest.trim(),
            vars,
            depth + 1,
        )?)));
    }
    if let Some(inner) = s.strip_prefix('[') {
        let inner = inner
            .strip_suffix(']')
            .ok_or_else(|| format!("unterminated address list '{s}'"))?;
        let items = split_list(inner)
            .map_err(|e| format!("bad address list '{s}': {e}"))?
            .into_iter()
            .map(|p| addr_at(p, vars, depth + 1))
            .collect::<Result<Vec<_>, _>>()?;
        return Ok(AddrExpr::List(items));
    }
    if let Some(name) = s.strip_prefix('$') {
        let value = vars
            .get(name)
            .ok_or_else(|| format!("unknown variable ${name}"))?;
        return addr_at(value, vars, depth + 1);
    }
    if s.eq_ignore_ascii_case("any") {
        return Ok(AddrExpr::Any);
    }
    let (ip, bits) = match s.split_once('/') {
        Some((ip, bits)) => (ip, Some(bits)),
        None => (s, None),
    };
    let ip: IpAddr = ip
        .parse()
        .map_err(|_| format!("bad address '{s}': not an IP address, CIDR, list or variable"))?;
    let max = if ip.is_ipv4() { 32 } else { 128 };
    let bits = match bits {
        None => max,
        Some(b) => match b.parse::<u8>() {
            Ok(n) if n <= max && b.bytes().all(|c| c.is_ascii_digit()) => n,
            _ => return Err(format!("bad CIDR '{s}': prefix length must be 0..={max}")),
        },
    };
    Ok(AddrExpr::Net(ip, bits))
}

/// Parse a port group, resolving `$VAR`s.
pub fn parse_port(s: &str, vars: &Variables) -> Result<PortExpr, String> {
    port_at(s.trim(), vars, 0)
}

fn port_num(s: &str, whole: &str) -> Result<u16, String> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("bad port '{whole}'"));
    }
    s.parse::<u16>()
        .map_err(|_| format!("bad port '{whole}': out of range 0..=65535"))
}

fn port_at(s: &str, vars: &Variables, depth: usize) -> Result<PortExpr, String> {
    if depth > MAX_DEPTH {
        return Err(format!("port '{s}' nests too deeply (recursive variable?)"));
    }
    if s.is_empty() {
        return Err("empty port".to_string());
    }
    if let Some(rest) = s.strip_prefix('!') {
        return Ok(PortExpr::Not(Box::new(port_at(
            rest.trim(),
            vars,
            depth + 1,
        )?)));
    }
    if let Some(inner) = s.strip_prefix('[') {
        let inner = inner
            .strip_suffix(']')
            .ok_or_else(|| format!("unterminated port list '{s}'"))?;
        let items = split_list(inner)
            .map_err(|e| format!("bad port list '{s}': {e}"))?
            .into_iter()
            .map(|p| port_at(p, vars, depth + 1))
            .collect::<Result<Vec<_>, _>>()?;
        return Ok(PortExpr::List(items));
    }
    if let Some(name) = s.strip_prefix('$') {
        let value = vars
            .get(name)
            .ok_or_else(|| format!("unknown variable ${name}"))?;
        return port_at(value, vars, depth + 1);
    }
    if s.eq_ignore_ascii_case("any") {
        return Ok(PortExpr::Any);
    }
    match s.split_once(':') {
        Some((lo, hi)) => {
            let lo = if lo.is_empty() { 0 } else { port_num(lo, s)? };
            let hi = if hi.is_empty() {
                u16::MAX
            } else {
                port_num(hi, s)?
            };
            if lo > hi {
                return Err(format!("bad port range '{s}': start above end"));
            }
            Ok(PortExpr::Range(lo, hi))
        }
        None => {
            let p = port_num(s, s)?;
            Ok(PortExpr::Range(p, p))
        }
    }
}
