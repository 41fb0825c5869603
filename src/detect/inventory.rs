//! Inventory: the SIP devices seen (User-Agent of requests, Server of responses, by address),
//! written as `device` records the first time each is seen, with the product and version they
//! announce judged against the vendors' advisories and end-of-life dates
//! (`rules/advisories.conf`, alerts 2500010 and 2500011) and against `rules/vulnerable.list`,
//! the product versions an operator wants flagged (2500001).

use crate::detect::rules::folders::RuleFolders;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::base::head::Head;
use crate::detect::patch::advisories::{Advisories, Advisory, EndOfLife};
use crate::detect::patch::product::{identify, Software};
use crate::detect::signature::Signature;
use crate::detect::table::Lru;
use crate::detect::Finding;
use crate::dialog::Msg;

/// A device runs a product version that `vulnerable.list` names.
pub const VULNERABLE_DEVICE: Signature = Signature {
    id: 2_500_001,
    name: "VOIP-SENTINEL inventory: device runs a product version listed as vulnerable",
    category: "vulnerable-device",
    severity: 2,
    app_proto: Some("sip"),
};

/// One line of `vulnerable.list`: a case-insensitive substring of the User-Agent or Server,
/// and what to say about it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Vulnerable {
    pub pattern: String,
    pub advisory: String,
}

/// Parse `vulnerable.list`: `pattern | advisory` per line, `#` comments.
pub fn parse_list(text: &str) -> Result<Vec<Vulnerable>, Vec<(usize, usize, String)>> {
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let t = line.trim();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        match t.split_once('|') {
            Some((p, a)) if !p.trim().is_empty() && !a.trim().is_empty() => out.push(Vulnerable {
                pattern: p.trim().to_ascii_lowercase(),
                advisory: a.trim().to_string(),
            }),
            _ => {
                let col = line.len() - line.trim_start().len() + 1;
                errors.push((
                    n + 1,
                    col,
                    "expected `product pattern | advisory`".to_string(),
                ));
            }
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

/// Load the folders' `vulnerable.list` if there is one.
pub fn load_list(dirs: &RuleFolders) -> Result<Vec<Vulnerable>, Vec<String>> {
    let path = dirs.file("vulnerable.list");
    if !path.exists() {
        return Ok(Vec::new());
    }
    let text =
        std::fs::read_to_string(&path).map_err(|e| vec![format!("{}: {e}", path.display())])?;
    parse_list(&text).map_err(|es| {
        es.into_iter()
            .map(|(l, c, m)| format!("{}:{l}:{c}: {m}", path.display()))
            .collect()
    })
}

/// A device runs a version that published security advisories name.
pub const KNOWN_ADVISORY: Signature = Signature {
    id: 2_500_010,
    name: "VOIP-SENTINEL inventory: device runs a version with published security advisories",
    category: "vulnerable-device",
    severity: 2,
    app_proto: Some("sip"),
};

/// A device runs a release past its vendor's end of life (no more security fixes).
pub const END_OF_LIFE: Signature = Signature {
    id: 2_500_011,
    name: "VOIP-SENTINEL inventory: device runs a release past its end of life",
    category: "vulnerable-device",
    severity: 2,
    app_proto: Some("sip"),
};

/// Advisories named in one alert's evidence at most (all ids stay in its metadata).
const MAX_LISTED: usize = 20;

/// What the advisories file says of one product and version (the device's, or a component's).
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Default)]
pub struct PatchLevel {
    /// The product as vendors name it (`Asterisk`, `Yealink`).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub software: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub model: Option<String>,
    /// As announced (`18.9-cert4`, `66.86.0.15`).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub version: Option<String>,
    /// The date its release stopped getting security fixes, once passed.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub end_of_life: Option<String>,
    /// Ids of the advisories that affect it (vendor ids and CVEs).
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub advisories: Vec<String>,
    /// The version that fixes all of them on its branch (absent when one has no fix there).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub fixed_version: Option<String>,
}

/// The `device` object of a `device` record.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Device {
    pub address: IpAddr,
    /// "user_agent" (sent requests) or "server" (answered them).
    pub role: String,
    /// The header as sent.
    pub product: String,
    /// What it runs, judged by `advisories.conf` (flattened: `software`, `version`, ...).
    #[serde(flatten)]
    pub level: PatchLevel,
    /// Products inside this one (the Asterisk a FreePBX runs), judged the same way.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub components: Vec<PatchLevel>,
    /// What `vulnerable.list` says of it.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub vulnerable: Option<String>,
}

#[derive(Deserialize, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct DeviceRecord {
    #[serde(flatten)]
    pub head: Head,
    pub device: Device,
}
crate::serialize_with_head!(DeviceRecord { device });

/// A device's standing for the metrics: (advisories, end of life), each `yes`, `no` or
/// `unknown` (product or version not recognised, or nothing in the file about the product).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct PatchStatus {
    pub advisories: Known,
    pub end_of_life: Known,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Known {
    Yes,
    No,
    #[default]
    Unknown,
}

impl Known {
    pub const ALL: [Known; 3] = [Known::Yes, Known::No, Known::Unknown];

    pub fn as_str(self) -> &'static str {
        match self {
            Known::Yes => "yes",
            Known::No => "no",
            Known::Unknown => "unknown",
        }
    }
}

pub struct Inventory {
    seen: Lru<(IpAddr, String), PatchStatus>,
    list: Vec<Vulnerable>,
    advisories: Advisories,
}

/// One product judged: what the record says, and the advisory lines behind it.
struct Judged<'a> {
    level: PatchLevel,
    advisories: Vec<&'a Advisory>,
    eol: Option<&'a EndOfLife>,
    status: PatchStatus,
}

impl Inventory {
    pub fn new(list: Vec<Vulnerable>, advisories: Advisories, max_devices: usize) -> Inventory {
        Inventory {
            seen: Lru::new(max_devices),
            list,
            advisories,
        }
    }

    pub fn set_lists(&mut self, list: Vec<Vulnerable>, advisories: Advisories) {
        self.list = list;
        self.advisories = advisories;
    }

    pub fn len(&self) -> usize {
        self.seen.len()
    }

    pub fn is_empty(&self) -> bool {
        self.seen.is_empty()
    }

    pub fn evictions(&self) -> u64 {
        self.seen.evictions
    }

    /// Cap of the devices table.
    pub fn max_devices(&self) -> usize {
        self.seen.max_keys()
    }

    /// Devices in the table by (advisories, end of life) standing.
    pub fn by_status(&self) -> Vec<(PatchStatus, i64)> {
        let mut counts: Vec<(PatchStatus, i64)> = Vec::new();
        self.seen
            .for_each(|_, st| match counts.iter_mut().find(|(s, _)| s == st) {
                Some((_, n)) => *n += 1,
                None => counts.push((*st, 1)),
            });
        counts
    }

    /// Packet time reached `now`: forget the devices silent for a week
    /// ([`crate::base::time::MEMORY_NS`]); one that comes back is reported again (as Zeek's
    /// known hosts expire).
    pub fn expire(&mut self, now: crate::base::time::Ts) {
        self.seen.expire(now, crate::base::time::MEMORY_NS);
    }

    /// A message: a record (and maybe alerts) when its sender's product is new.
    pub fn on_message(&mut self, m: &Msg, records: &mut Vec<DeviceRecord>, out: &mut Vec<Finding>) {
        let (role, product) = match (&m.user_agent, &m.server, m.is_request()) {
            (Some(ua), _, true) => ("user_agent", ua),
            (_, Some(server), false) => ("server", server),
            _ => return,
        };
        let key = (m.ctx.src, product.clone());
        if self.seen.get_mut(&key).is_some() {
            self.seen.touch(key, m.ctx.ts, PatchStatus::default);
            return;
        }
        let lower = product.to_ascii_lowercase();
        let hit = self.list.iter().find(|v| lower.contains(&v.pattern));
        let today = m.ctx.ts.to_string();
        let today = today.get(..10).unwrap_or("");
        let sw = identify(product);
        let main = sw.as_ref().map(|sw| self.judge(sw, today));
        let parts: Vec<Judged<'_>> = sw
            .iter()
            .filter_map(|sw| sw.component.as_deref())
            .map(|c| self.judge(c, today))
            .collect();
        let status = main.as_ref().map_or(PatchStatus::default(), |j| {
            parts.iter().fold(j.status, |st, c| worst(st, c.status))
        });
        let level = main.as_ref().map(|j| j.level.clone()).unwrap_or_default();
        records.push(DeviceRecord {
            head: Head::new(&m.ctx, "device"),
            device: Device {
                address: m.ctx.src,
                role: role.to_string(),
                product: product.clone(),
                level,
                components: parts.iter().map(|c| c.level.clone()).collect(),
                vulnerable: hit.map(|v| v.advisory.clone()),
            },
        });
        if let Some(v) = hit {
            out.push(Finding {
                metadata: None,
                reversed: false,
                sig: VULNERABLE_DEVICE,
                ctx: m.ctx,
                evidence: json!({ "product": product, "role": role, "advisory": v.advisory }),
            });
        }
        let all: Vec<&Judged<'_>> = main.iter().chain(parts.iter()).collect();
        let listed: Vec<(&Judged<'_>, &Advisory)> = all
            .iter()
            .flat_map(|j| j.advisories.iter().map(move |a| (*j, *a)))
            .collect();
        if let Some(severity) = listed.iter().map(|(_, a)| a.severity).max() {
            let mut sig = KNOWN_ADVISORY;
            sig.severity = severity.alert_severity();
            let advisories: Vec<_> = listed
                .iter()
                .take(MAX_LISTED)
                .map(|(j, a)| {
                    json!({
                        "ids": a.ids,
                        "software": j.level.software,
                        "severity": a.severity.as_str(),
                        "fixed": a.fixed.as_ref().map(|f| &f.0),
                        "source": a.source,
                    })
                })
                .collect();
            out.push(Finding {
                metadata: Some(advisory_metadata(
                    listed.iter().map(|(_, a)| *a),
                    all.iter().filter_map(|j| j.level.fixed_version.as_deref()),
                )),
                reversed: false,
                sig,
                ctx: m.ctx,
                evidence: json!({
                    "product": product,
                    "role": role,
                    "versions": all.iter().map(|j| json!({
                        "software": j.level.software,
                        "version": j.level.version,
                        "fixed_version": j.level.fixed_version,
                    })).collect::<Vec<_>>(),
                    "advisory_count": listed.len(),
                    "advisories": advisories,
                }),
            });
        }
        for j in all.iter().filter(|j| j.eol.is_some()) {
            let e = j.eol.expect("filtered");
            out.push(Finding {
                metadata: None,
                reversed: false,
                sig: END_OF_LIFE,
                ctx: m.ctx,
                evidence: json!({
                    "product": product,
                    "role": role,
                    "software": j.level.software,
                    "version": j.level.version,
                    "end_of_life": e.date,
                    "source": e.source,
                }),
            });
        }
        self.seen.touch(key, m.ctx.ts, || status);
    }

    fn judge<'a>(&'a self, sw: &Software<'_>, today: &str) -> Judged<'a> {
        let j = self.advisories.judge(sw, today);
        let known = self.advisories.names(sw.product);
        let fixed = if j.advisories.is_empty() {
            None
        } else {
            j.advisories
                .iter()
                .map(|a| a.fixed.as_ref())
                .collect::<Option<Vec<_>>>()
                .and_then(|f| f.into_iter().max_by_key(|f| f.1))
                .map(|f| f.0.clone())
        };
        let mut ids: Vec<String> = Vec::new();
        for id in j.advisories.iter().flat_map(|a| &a.ids) {
            if !ids.contains(id) {
                ids.push(id.clone());
            }
        }
        let versioned = sw.version.is_some();
        let status = PatchStatus {
            advisories: match (versioned && known.0, j.advisories.is_empty()) {
                (_, false) => Known::Yes,
                (true, true) => Known::No,
                (false, true) => Known::Unknown,
            },
            end_of_life: match (versioned, j.eol.is_some(), known.1) {
                (true, true, _) => Known::Yes,
                (true, false, true) => Known::No,
                _ => Known::Unknown,
            },
        };
        Judged {
            level: PatchLevel {
                software: Some(sw.name.to_string()),
                model: sw.model.map(str::to_string),
                version: sw.version.as_ref().map(|v| v.0.to_string()),
                end_of_life: j.eol.map(|e| e.date.clone()),
                advisories: ids,
                fixed_version: fixed,
            },
            advisories: j.advisories,
            eol: j.eol,
            status,
        }
    }
}

/// The worse standing of two (a FreePBX is affected when the Asterisk it runs is).
fn worst(a: PatchStatus, b: PatchStatus) -> PatchStatus {
    let w = |x: Known, y: Known| match (x, y) {
        (Known::Yes, _) | (_, Known::Yes) => Known::Yes,
        (Known::No, Known::No) => Known::No,
        (Known::Unknown, o) | (o, Known::Unknown) => o,
    };
    PatchStatus {
        advisories: w(a.advisories, b.advisories),
        end_of_life: w(a.end_of_life, b.end_of_life),
    }
}

/// The alert metadata of an advisory alert, as Suricata writes a rule's `metadata`: every
/// CVE and vendor id of the advisories (all of them, where the evidence lists 20), and the
/// fixed version of the device and of what it contains.
fn advisory_metadata<'a>(
    advisories: impl Iterator<Item = &'a Advisory>,
    fixed: impl Iterator<Item = &'a str>,
) -> std::collections::BTreeMap<String, Vec<String>> {
    let mut meta = std::collections::BTreeMap::<String, Vec<String>>::new();
    let mut add = |k: &str, v: &str| {
        let e = meta.entry(k.to_string()).or_default();
        if !e.iter().any(|x| x == v) {
            e.push(v.to_string());
        }
    };
    for id in advisories.flat_map(|a| &a.ids) {
        add(
            if id.starts_with("CVE-") {
                "cve"
            } else {
                "advisory"
            },
            id,
        );
    }
    for f in fixed {
        add("fixed_version", f);
    }
    meta
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A device is reported once while it is heard from, and again when it comes back after
    /// a week's silence.
    #[test]
    fn a_device_is_forgotten_after_a_week_idle() {
        use crate::base::packet::PacketCtx;
        use crate::base::time::Ts;
        let mut inv = Inventory::new(Vec::new(), Advisories::default(), 16);
        let day = 86_400 * 1_000_000_000;
        let mut reported = Vec::new();
        for at in [0, day, 2 * day, 9 * day - 1, 16 * day] {
            let ctx = PacketCtx::test_at(Ts(day + at));
            let mut m = Msg::empty(ctx);
            m.method = Some("OPTIONS".into());
            m.user_agent = Some("Asterisk PBX 20.5.0".into());
            inv.expire(ctx.ts);
            let (mut records, mut findings) = (Vec::new(), Vec::new());
            inv.on_message(&m, &mut records, &mut findings);
            reported.push(records.len());
        }
        assert_eq!(reported, [1, 0, 0, 0, 1]);
        assert_eq!(inv.len(), 1);
    }

    /// A `device` object with a field it does not define is refused (the record schema is
    /// closed, its judgement flattened into it included).
    #[test]
    fn device_objects_are_closed() {
        let ok = r#"{"address":"10.0.0.1","role":"server","product":"Asterisk PBX 20.5.0","software":"Asterisk","version":"20.5.0","advisories":["CVE-2023-49786"]}"#;
        let d: Device = serde_json::from_str(ok).unwrap();
        assert_eq!(d.level.version.as_deref(), Some("20.5.0"));
        assert_eq!(
            serde_json::to_value(&d).unwrap(),
            serde_json::from_str::<serde_json::Value>(ok).unwrap()
        );
        let extra = ok.replace("\"software\"", "\"sofware\"");
        assert!(serde_json::from_str::<Device>(&extra).is_err());
    }

    #[test]
    fn list_lines_and_errors() {
        let l = parse_list("# c\nAsterisk PBX 13. | end of life\n\n  broken line\n").unwrap_err();
        assert_eq!(
            l,
            vec![(4, 3, "expected `product pattern | advisory`".to_string())]
        );
        let l = parse_list("Asterisk PBX 13. | end of life, CVE-2019-15297\n").unwrap();
        assert_eq!(l[0].pattern, "asterisk pbx 13.");
        assert_eq!(l[0].advisory, "end of life, CVE-2019-15297");
    }
}
