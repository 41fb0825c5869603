//! The sensor's policy: everything detection decides by, read from the rules folder —
//! signatures (`*.rules`, with `variables.conf`) and the behavioural detectors' thresholds
//! (`detectors.conf`), and the analyst's tuning of alerts (`threshold.config`). Loaded at start,
//! checked by `voip-sentinel rules check`, and reloaded on SIGHUP without losing detector state.

use std::sync::Arc;

use crate::detect::inventory::{load_list, Vulnerable};
use crate::detect::patch::advisories::Advisories;
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
            crate::detect::inventory::KNOWN_ADVISORY,
            crate::detect::inventory::END_OF_LIFE,
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
#[derive(Clone)]
pub struct Policy {
    /// Shared by every worker (which match the signatures) and the correlator (which applies
    /// their thresholds), swapped at one capture position on a reload.
    pub rules: Arc<RuleSet>,
    pub detect: DetectConfig,
    /// Product versions to flag (`vulnerable.list`).
    pub vulnerable: Vec<Vulnerable>,
    /// Vendors' advisories and end-of-life dates (`advisories.conf`).
    pub advisories: Advisories,
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
    /// Load the folders (later ones override earlier ones file by file, except detectors.conf
    /// and numbering.plan, which later ones amend); every problem of every file, as
    /// `file:line:column: message` lines.
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
        // detectors.conf and numbering.plan: each folder's file over the ones before it.
        let mut detect = Some(DetectConfig::default());
        for conf in dirs.layers("detectors.conf") {
            let text = match std::fs::read_to_string(&conf) {
                Ok(text) => text,
                Err(e) => {
                    errors.push(format!("{}: {e}", conf.display()));
                    detect = None;
                    continue;
                }
            };
            match DetectConfig::parse_over(detect.clone().unwrap_or_default(), &text) {
                Ok(c) => detect = detect.map(|_| c),
                Err(es) => {
                    errors.extend(
                        es.iter().map(|(line, col, msg)| {
                            format!("{}:{line}:{col}: {msg}", conf.display())
                        }),
                    );
                    detect = None;
                }
            }
        }
        // The first plan replaces the built-in one (the shipped file); later ones amend it.
        for (layer, plan) in dirs.layers("numbering.plan").into_iter().enumerate() {
            let text = match std::fs::read_to_string(&plan) {
                Ok(text) => text,
                Err(e) => {
                    errors.push(format!("{}: {e}", plan.display()));
                    detect = None;
                    continue;
                }
            };
            let Some(d) = detect.take() else { continue };
            let d = if layer == 0 {
                d.with_plan(&text)
            } else {
                d.with_plan_over(&text)
            };
            match d {
                Ok(d) => detect = Some(d),
                Err(es) => {
                    errors.extend(
                        es.iter().map(|(line, col, msg)| {
                            format!("{}:{line}:{col}: {msg}", plan.display())
                        }),
                    );
                }
            }
        }
        let vulnerable = match load_list(dir) {
            Ok(v) => v,
            Err(es) => {
                errors.extend(es);
                Vec::new()
            }
        };
        let advisories = match Advisories::load(dir) {
            Ok(a) => a,
            Err(es) => {
                errors.extend(es);
                Advisories::default()
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
                advisories,
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
            advisories: Advisories::default(),
            segments: Segments::default(),
            tuning: Tuning::default(),
            folders: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A site folder's detectors.conf and numbering.plan amend the ones under it: what the site
    /// does not name keeps the shipped value; its plan entries win over the same prefixes.
    #[test]
    fn a_site_folder_amends_detectors_conf_and_the_number_plan() {
        let base = tempfile::tempdir().unwrap();
        let site = tempfile::tempdir().unwrap();
        let write = |d: &tempfile::TempDir, name: &str, text: &str| {
            std::fs::write(d.path().join(name), text).unwrap()
        };
        write(
            &base,
            "detectors.conf",
            "[flood]\nwindow = 3\nsrc_all = 20\n",
        );
        write(
            &base,
            "numbering.plan",
            "44 international UK\n449 premium UK 09\n",
        );
        write(
            &site,
            "detectors.conf",
            "[flood]\nsrc_all = 50\n[fraud]\nhome_country = 44\n",
        );
        write(&site, "numbering.plan", "44 national our own country\n");
        let folders = RuleFolders::new(vec![base.path().into(), site.path().into()]);
        let p = Policy::load(&folders).unwrap();
        assert_eq!((p.detect.flood.window, p.detect.flood.src_all), (3, 50));
        assert_eq!(p.detect.fraud.home_country, "44");
        let plan = &p.detect.plan.entries;
        assert_eq!(
            plan.len(),
            2,
            "the base plan replaces the built-in one: {plan:?}"
        );
        use crate::detect::fraud::Class;
        assert_eq!(plan["44"].0, Class::National);
        assert_eq!(plan["449"].0, Class::Premium);
        // the base folder alone
        let p = Policy::load(base.path()).unwrap();
        assert_eq!(p.detect.flood.src_all, 20);
        assert_eq!(p.detect.plan.entries["44"].0, Class::International);
        // an error in the site's file names that file
        write(&site, "detectors.conf", "[flood]\nsrc_all = x\n");
        let errs = Policy::load(&folders).unwrap_err();
        assert_eq!(errs.len(), 1, "{errs:?}");
        assert!(
            errs[0].starts_with(&format!(
                "{}:2:",
                site.path().join("detectors.conf").display()
            )),
            "{errs:?}"
        );
    }

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
