//! `classification.config`, as Suricata reads it: what a rule's `classtype` means. Each
//! `config classification: NAME,Description,PRIORITY` line gives the alert's `category` (the
//! description, which Suricata's consumers show) and its default severity (the priority).

use std::collections::HashMap;
use std::path::Path;

use super::RuleError;

/// One classtype.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Class {
    pub description: String,
    pub priority: u8,
}

/// The classtypes of a `classification.config`, by name.
#[derive(Clone, Debug, Default)]
pub struct Classifications {
    by_name: HashMap<String, Class>,
}

impl Classifications {
    pub fn get(&self, name: &str) -> Option<&Class> {
        self.by_name.get(name)
    }

    pub fn len(&self) -> usize {
        self.by_name.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_name.is_empty()
    }

    /// Parse the file's text: `config classification: name,description,priority` lines,
    /// `#` comments, blank lines. A later line of the same name replaces the earlier one.
    pub fn parse(file: &Path, text: &str) -> Result<Classifications, Vec<RuleError>> {
        let mut by_name = HashMap::new();
        let mut errors = Vec::new();
        for (i, raw) in text.lines().enumerate() {
            let line = raw.trim_end_matches('\r').trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let err = |message: String| RuleError {
                file: file.to_path_buf(),
                line: i + 1,
                column: 1,
                message,
            };
            let Some(rest) = line
                .strip_prefix("config")
                .map(str::trim_start)
                .and_then(|r| r.strip_prefix("classification"))
                .map(str::trim_start)
                .and_then(|r| r.strip_prefix(':'))
            else {
                errors.push(err(
                    "expected 'config classification: name,description,priority'".to_string(),
                ));
                continue;
            };
            let parts: Vec<&str> = rest.split(',').map(str::trim).collect();
            let [name, description, priority] = parts.as_slice() else {
                errors.push(err(format!(
                    "expected name,description,priority, found {} fields",
                    parts.len()
                )));
                continue;
            };
            if name.is_empty()
                || !name
                    .bytes()
                    .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
            {
                errors.push(err(format!("bad classtype name '{name}'")));
                continue;
            }
            match priority.parse::<u8>() {
                Ok(p @ 1..=255) => {
                    by_name.insert(
                        name.to_string(),
                        Class {
                            description: description.to_string(),
                            priority: p,
                        },
                    );
                }
                _ => errors.push(err(format!("bad priority '{priority}': 1..=255"))),
            }
        }
        if errors.is_empty() {
            Ok(Classifications { by_name })
        } else {
            Err(errors)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_suricata_lines_and_reports_bad_ones() {
        let c = Classifications::parse(
            Path::new("c"),
            "# x\nconfig classification: attempted-dos,Attempted Denial of Service,2\n\
             config classification:misc-activity,Misc activity,3\n",
        )
        .unwrap();
        assert_eq!(c.get("attempted-dos").unwrap().priority, 2);
        assert_eq!(c.get("misc-activity").unwrap().description, "Misc activity");
        let e = Classifications::parse(
            Path::new("c"),
            "config classification: a,b\nclassification: x,y,1\nconfig classification: z,y,0\n",
        )
        .unwrap_err();
        assert_eq!(e.len(), 3);
        assert_eq!(e[0].line, 1);
    }
}
