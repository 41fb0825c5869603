//! Inventory: the SIP devices seen (User-Agent of requests, Server of responses, by address),
//! written as `device` records the first time each is seen, and checked against
//! `rules/vulnerable.list`, the product versions an operator wants flagged.

use crate::detect::rules::folders::RuleFolders;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::base::head::Head;
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

/// The `device` object of a `device` record.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Device {
    pub address: IpAddr,
    /// "user_agent" (sent requests) or "server" (answered them).
    pub role: String,
    pub product: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub vulnerable: Option<String>,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct DeviceRecord {
    #[serde(flatten)]
    pub head: Head,
    pub device: Device,
}

pub struct Inventory {
    seen: Lru<(IpAddr, String), ()>,
    list: Vec<Vulnerable>,
}

impl Inventory {
    pub fn new(list: Vec<Vulnerable>, max_devices: usize) -> Inventory {
        Inventory {
            seen: Lru::new(max_devices),
            list,
        }
    }

    pub fn set_list(&mut self, list: Vec<Vulnerable>) {
        self.list = list;
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

    /// A message: a record (and maybe an alert) when its sender's product is new.
    pub fn on_message(&mut self, m: &Msg, records: &mut Vec<DeviceRecord>, out: &mut Vec<Finding>) {
        let (role, product) = match (&m.user_agent, &m.server, m.is_request()) {
            (Some(ua), _, true) => ("user_agent", ua),
            (_, Some(server), false) => ("server", server),
            _ => return,
        };
        let key = (m.ctx.src, product.clone());
        if self.seen.get_mut(&key).is_some() {
            self.seen.touch(key, m.ctx.ts, || ());
            return;
        }
        self.seen.touch(key, m.ctx.ts, || ());
        let lower = product.to_ascii_lowercase();
        let hit = self.list.iter().find(|v| lower.contains(&v.pattern));
        records.push(DeviceRecord {
            head: Head::new(&m.ctx, "device"),
            device: Device {
                address: m.ctx.src,
                role: role.to_string(),
                product: product.clone(),
                vulnerable: hit.map(|v| v.advisory.clone()),
            },
        });
        if let Some(v) = hit {
            out.push(Finding {
                reversed: false,
                sig: VULNERABLE_DEVICE,
                ctx: m.ctx,
                evidence: json!({ "product": product, "role": role, "advisory": v.advisory }),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
