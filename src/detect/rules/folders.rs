//! The rules folders in force: the shipped rules, optionally with site folders over them (as
//! `/etc/voip-sentinel/rules` over `/usr/share/voip-sentinel/rules`). A file of a later folder
//! replaces the file of the same name in an earlier one (`threshold.config`, `sip.rules`), and
//! new names are added (`local.rules`), so a site changes the rules without editing what a
//! package upgrade overwrites. `detectors.conf` and `numbering.plan` are layered instead
//! ([`RuleFolders::layers`]): a site's file holds only what it changes (its dialling context,
//! its trunks' channel counts), and the shipped values under it stay current.

use std::path::{Path, PathBuf};

/// One or more folders, merged file by file; the last folder that has a file wins.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleFolders {
    /// Folders, or single `.rules` files (as `suricata -S FILE`).
    dirs: Vec<PathBuf>,
    /// Whether the base folder's own `*.rules` are read (not when the user gave only files:
    /// the base then supplies the configuration alone, and the signatures are theirs).
    base_rules: bool,
}

impl RuleFolders {
    /// The folders in order of precedence, lowest first. At least one.
    pub fn new(dirs: Vec<PathBuf>) -> RuleFolders {
        assert!(!dirs.is_empty(), "RuleFolders needs a folder");
        RuleFolders {
            dirs,
            base_rules: true,
        }
    }

    /// `files` (single `.rules` files) over the configuration of `base`, whose own signatures
    /// are not read: what `--rules FILE` runs, as `suricata -S FILE` runs that file alone.
    pub fn files_over(base: PathBuf, files: Vec<PathBuf>) -> RuleFolders {
        let mut dirs = vec![base];
        dirs.extend(files);
        RuleFolders {
            dirs,
            base_rules: false,
        }
    }

    /// The base folder (the shipped rules).
    pub fn base(&self) -> &Path {
        &self.dirs[0]
    }

    /// The folders over the base one.
    pub fn overrides(&self) -> &[PathBuf] {
        &self.dirs[1..]
    }

    /// Every folder, lowest precedence first.
    pub fn dirs(&self) -> &[PathBuf] {
        &self.dirs
    }

    /// The first entry that is neither a folder nor a file, if any.
    pub fn missing(&self) -> Option<&Path> {
        self.dirs
            .iter()
            .find(|d| !d.is_dir() && !d.is_file())
            .map(|d| d.as_path())
    }

    /// Where the file `name` is read from: the last folder that has it, else the base folder's
    /// path (which does not exist: callers treat it as absent).
    pub fn file(&self, name: &str) -> PathBuf {
        self.dirs
            .iter()
            .rev()
            .map(|d| d.join(name))
            .find(|p| p.exists())
            .unwrap_or_else(|| self.dirs[0].join(name))
    }

    /// Every folder's file `name` that exists, lowest precedence first: the layers of a file
    /// that later folders amend rather than replace.
    pub fn layers(&self, name: &str) -> Vec<PathBuf> {
        self.dirs
            .iter()
            .map(|d| d.join(name))
            .filter(|p| p.exists())
            .collect()
    }

    /// The files whose names end with `suffix`, each name once (from the last folder that has
    /// it), in name order. A folder that cannot be listed is the error.
    pub fn files_ending(&self, suffix: &str) -> Result<Vec<PathBuf>, (PathBuf, std::io::Error)> {
        let mut by_name = std::collections::BTreeMap::new();
        for (i, d) in self.dirs.iter().enumerate() {
            if d.is_file() {
                if let Some(name) = d.file_name().and_then(|n| n.to_str()) {
                    by_name.insert(name.to_string(), d.clone());
                }
                continue;
            }
            if i == 0 && !self.base_rules {
                continue;
            }
            let entries = std::fs::read_dir(d).map_err(|e| (d.clone(), e))?;
            for p in entries.filter_map(|e| e.ok().map(|e| e.path())) {
                let Some(name) = p.file_name().and_then(|n| n.to_str()) else {
                    continue;
                };
                if name.ends_with(suffix) && p.is_file() {
                    by_name.insert(name.to_string(), p);
                }
            }
        }
        Ok(by_name.into_values().collect())
    }
}

impl std::fmt::Display for RuleFolders {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, d) in self.dirs.iter().enumerate() {
            if i > 0 {
                f.write_str(" + ")?;
            }
            write!(f, "{}", d.display())?;
        }
        Ok(())
    }
}

impl From<&Path> for RuleFolders {
    fn from(d: &Path) -> RuleFolders {
        RuleFolders::new(vec![d.to_path_buf()])
    }
}

impl From<&PathBuf> for RuleFolders {
    fn from(d: &PathBuf) -> RuleFolders {
        RuleFolders::new(vec![d.clone()])
    }
}

impl From<&RuleFolders> for RuleFolders {
    fn from(f: &RuleFolders) -> RuleFolders {
        f.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_later_folder_replaces_files_by_name_and_adds_new_ones() {
        let base = tempfile::tempdir().unwrap();
        let site = tempfile::tempdir().unwrap();
        std::fs::write(base.path().join("sip.rules"), "base").unwrap();
        std::fs::write(base.path().join("threshold.config"), "base").unwrap();
        std::fs::write(site.path().join("threshold.config"), "site").unwrap();
        std::fs::write(site.path().join("local.rules"), "site").unwrap();
        std::fs::write(site.path().join("notes.txt"), "x").unwrap();
        let f = RuleFolders::new(vec![base.path().into(), site.path().into()]);
        assert_eq!(
            f.file("threshold.config"),
            site.path().join("threshold.config")
        );
        assert_eq!(f.file("detectors.conf"), base.path().join("detectors.conf"));
        let rules = f.files_ending(".rules").unwrap();
        assert_eq!(
            rules,
            [
                site.path().join("local.rules"),
                base.path().join("sip.rules")
            ]
        );
        assert_eq!(f.missing(), None);
        let gone = RuleFolders::new(vec![base.path().into(), base.path().join("nope")]);
        assert_eq!(gone.missing(), Some(base.path().join("nope").as_path()));
        assert!(gone.files_ending(".rules").is_err());
    }
}
