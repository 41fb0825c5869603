//! The sensor's policy: everything detection decides by, read from the rules folder —
//! signatures (`*.rules`, with `variables.conf`) and the behavioural detectors' thresholds
//! (`detectors.conf`), and the analyst's tuning of alerts (`threshold.config`). Loaded at start,
//! checked by `voip-sentinel rules check`, and reloaded on SIGHUP without losing detector state.

use std::sync::Arc;

use crate::detect::inventory::{load_list, Vulnerable};
use crate::detect::rules::folders::RuleFolders;
use crate::detect::rules::tuning::Tuning;
use crate::detect::rules::RuleSet;
use crate::detect::segmentation::Segments;
use crate::detect::signature::Signature;
use crate::detect::DetectConfig;

/// Every signature the sensor raises by itself (not from `*.rules`), in id order.
pub fn builtin_signatures() -> Vec<Signature> {
    let mut all: Vec<Signature> = [
        crate::detect::signature::BUILT_IN,
        crate::detect::SIGNATURES,
        crate::detect::FRAUD_SIGNATURES,
        crate::detect::anomaly::SIGNATURES,
        &[
            crate::detect::inventory::VULNERABLE_DEVICE,
            crate::detect::segmentation::SIP_OUTSIDE,
            crate::detect::segmentation::RTP_OUTSIDE,
            crate::detect::segmentation::WRONG_VLAN,
        ],
    ]
    .concat();
    all.sort_by_key(|s| s.id);
    all
}

/// A policy loaded on SIGHUP (or the errors that kept it from loading), and how long it took.
pub type Reload = (Result<Policy, Vec<String>>, std::time::Duration);

/// A loaded policy.
pub struct Policy {
    /// Shared by every worker (which match the signatures) and the correlator (which applies
    /// their thresholds), swapped at one capture position on a reload.
    pub rules: Arc<RuleSet>,
    pub detect: DetectConfig,
    /// Product versions to flag (`vulnerable.list`).
    pub vulnerable: Vec<Vulnerable>,
    /// Voice networks and VLANs (`VOICE_NET`, `VOICE_VLANS` in `variables.conf`).
    pub segments: Segments,
    /// Suppressions and threshold overrides (`threshold.config`).
    pub tuning: Tuning,
    /// Where it was read from (`None`: the built-in policy, no folder).
    pub folders: Option<RuleFolders>,
}

impl std::fmt::Debug for Policy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Policy")
            .field("folders", &self.folders)
            .field("rules", &self.rules.len())
            .finish_non_exhaustive()
    }
}

impl Policy {
    /// Load the folders (later ones override earlier ones file by file); every problem of
    /// every file, as `file:line:column: message` lines.
    pub fn load(dirs: impl Into<RuleFolders>) -> Result<Policy, Vec<String>> {
        let dirs: RuleFolders = dirs.into();
        let dir = &dirs;
        let mut errors = Vec::new();
        if let Some(missing) = dirs.missing() {
            return Err(vec![format!(
                "{}: rules folder not found (give --rules DIR)",
                missing.display()
            )]);
        }
        let builtin = builtin_signatures();
        let rules = match RuleSet::load(dir) {
            Ok(r) => Some(r),
            Err(es) => {
                errors.extend(es.iter().map(|e| e.to_string()));
                None
            }
        };
        for r in rules.iter().flat_map(|rs| rs.rules()) {
            if let Some(b) = builtin.iter().find(|b| b.id == r.sid) {
                errors.push(format!(
                    "{}:{}:1: sid {} is the built-in signature \"{}\"",
                    r.file.display(),
                    r.line,
                    r.sid,
                    b.name
                ));
            }
        }
        // Without valid rules, any sid may be one of them: only the rules' own errors are said.
        let tuning = match Tuning::load(dir, |sid| {
            builtin.iter().any(|b| b.id == sid)
                || rules.as_ref().is_none_or(|rs| rs.by_sid(sid).is_some())
        }) {
            Ok(t) => t,
            Err(es) => {
                errors.extend(es.iter().map(|e| e.to_string()));
                Tuning::default()
            }
        };
        let conf = dirs.file("detectors.conf");
        let detect = if conf.exists() {
            match std::fs::read_to_string(&conf) {
                Ok(text) => match DetectConfig::parse(&text) {
                    Ok(c) => Some(c),
                    Err(es) => {
                        errors.extend(es.iter().map(|(line, col, msg)| {
                            format!("{}:{line}:{col}: {msg}", conf.display())
                        }));
                        None
                    }
                },
                Err(e) => {
                    errors.push(format!("{}: {e}", conf.display()));
                    None
                }
            }
        } else {
            Some(DetectConfig::default())
        };
        let plan = dirs.file("numbering.plan");
        let detect = match (detect, plan.exists()) {
            (Some(d), true) => match std::fs::read_to_string(&plan) {
                Ok(text) => match d.with_plan(&text) {
                    Ok(d) => Some(d),
                    Err(es) => {
                        errors.extend(es.iter().map(|(line, col, msg)| {
                            format!("{}:{line}:{col}: {msg}", plan.display())
                        }));
                        None
                    }
                },
                Err(e) => {
                    errors.push(format!("{}: {e}", plan.display()));
                    None
                }
            },
            (d, _) => d,
        };
        let vulnerable = match load_list(dir) {
            Ok(v) => v,
            Err(es) => {
                errors.extend(es);
                Vec::new()
            }
        };
        let segments = match Segments::load(dir) {
            Ok(s) => s,
            Err(es) => {
                errors.extend(es);
                Segments::default()
            }
        };
        match (rules, detect) {
            (Some(rules), Some(detect)) if errors.is_empty() => Ok(Policy {
                rules: Arc::new(rules),
                detect,
                vulnerable,
                segments,
                tuning,
                folders: Some(dirs.clone()),
            }),
            _ => Err(errors),
        }
    }

    /// No rules and default thresholds: what runs when there is no rules folder.
    pub fn builtin() -> Policy {
        Policy {
            rules: Arc::default(),
            detect: DetectConfig::default(),
            vulnerable: Vec::new(),
            segments: Segments::default(),
            tuning: Tuning::default(),
            folders: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_built_in_signature_is_unique_and_documented() {
        let all = builtin_signatures();
        assert!(all.len() >= 58, "{}", all.len());
        let readme = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("rules/README.md"),
        )
        .unwrap();
        for w in all.windows(2) {
            assert!(w[0].id < w[1].id, "sid {} twice", w[1].id);
        }
        for s in &all {
            assert!((1..=3).contains(&s.severity), "{}", s.id);
            assert!(
                readme.contains(&format!("\n| {} |", s.id)),
                "{} ({}) has no row in rules/README.md",
                s.id,
                s.name
            );
        }
        // the shipped rules take none of these ids (Policy::load refuses that)
        let p =
            Policy::load(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("rules")).unwrap();
        assert!(p
            .rules
            .rules()
            .iter()
            .all(|r| !all.iter().any(|b| b.id == r.sid)));
    }
}
