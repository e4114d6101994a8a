//! The migration file: `[[step]]` tables in TOML, paths relative to the file.
//!
//! ```toml
//! [[step]]
//! file = "companies.csv"
//! app = "crm.companies"
//! key = "INN"
//!
//! [[step]]
//! file = "contacts.csv"
//! app = "crm.contacts"
//! key = "Email"
//! with_event_handlers = true
//! references = { Company = { app = "crm.companies", by = "INN" } }
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::MigrateError;

/// A reference column: its cells hold keys of another app's items, not ids.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reference {
    /// The app the column links to, `namespace.code`.
    pub app: String,
    /// The field of that app (display name or code) whose value the cells hold.
    pub by: String,
}

/// One file into one app.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// The input file; relative paths are taken from the migration file's folder.
    pub file: PathBuf,
    /// The app to import into, `namespace.code`.
    pub app: String,
    /// A column (display name or code) whose values are unique: resolves references to
    /// this app and settles uncertain chunks.
    pub key: String,
    /// Run the app's event handlers.
    #[serde(default)]
    pub with_event_handlers: bool,
    /// Reference columns by header: column → the app and field its cells name.
    #[serde(default)]
    pub references: BTreeMap<String, Reference>,
    /// An app schema file for offline checks (else `--schema-dir` or the platform).
    #[serde(default)]
    pub schema: Option<PathBuf>,
    /// .xlsx worksheet (default: the first).
    #[serde(default)]
    pub sheet: Option<String>,
    /// .csv encoding (default: detected).
    #[serde(default)]
    pub encoding: Option<String>,
    /// .csv delimiter, one character (default: detected).
    #[serde(default)]
    pub delimiter: Option<char>,
    /// Rows per chunk (default: the plan's).
    #[serde(default)]
    pub rows_per_chunk: Option<u64>,
}

impl Step {
    /// A short name for messages: `step N (app, file)`, N 1-based.
    pub fn label(&self, index: usize) -> String {
        format!("step {} ({} from `{}`)", index + 1, self.app, self.file.display())
    }

    /// The reader options of the step's file.
    pub fn read_options(&self) -> elma_import_sheet::ReadOptions {
        elma_import_sheet::ReadOptions {
            encoding: self.encoding.clone(),
            delimiter: self.delimiter.map(|c| c as u8),
            sheet: self.sheet.clone(),
            ..Default::default()
        }
    }
}

/// Settings for every step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileShape {
    #[serde(default = "ru")]
    locale: String,
    #[serde(default)]
    time_zone: Option<String>,
    #[serde(default)]
    step: Vec<Step>,
}

fn ru() -> String {
    "ru".into()
}

/// A migration: its steps in file order, with absolute paths.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Migration {
    /// The migration file, absolute.
    pub path: PathBuf,
    /// Date and number formats of every file: `ru` or `en`.
    pub locale: elma_import_contract::Locale,
    /// Time zone date-time cells are read in (IANA name or offset); the machine's when
    /// left out.
    #[serde(default)]
    pub time_zone: Option<String>,
    /// The steps, in the order the file lists them.
    pub steps: Vec<Step>,
}

impl Migration {
    /// Reads and checks a migration file.
    ///
    /// # Errors
    /// The file cannot be read, is not TOML of the documented shape, or breaks a rule:
    /// no step, an app not `namespace.code`, a step without a key, a reference to an
    /// app no step imports and not named by any field, a delimiter that is not one byte.
    pub fn load(path: &Path) -> Result<Migration, MigrateError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| MigrateError::io(format!("cannot read `{}`", path.display()), e))?;
        Migration::parse(path, &text)
    }

    /// Parses a migration file's text; `path` anchors its relative paths.
    ///
    /// # Errors
    /// As [`Migration::load`].
    pub fn parse(path: &Path, text: &str) -> Result<Migration, MigrateError> {
        let bad = |message: String| MigrateError::Spec { path: path.to_path_buf(), message };
        let shape: FileShape = toml::from_str(text).map_err(|e| bad(e.to_string().trim().to_string()))?;
        let path = std::path::absolute(path)
            .map_err(|e| MigrateError::io(format!("cannot resolve `{}`", path.display()), e))?;
        let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
        if shape.step.is_empty() {
            return Err(bad("no `[[step]]`: a migration needs at least one step".into()));
        }
        let locale: elma_import_contract::Locale = shape.locale.parse().map_err(|e| bad(format!("{e}")))?;
        let mut steps = shape.step;
        for (i, step) in steps.iter_mut().enumerate() {
            let n = i + 1;
            check_app(&step.app).map_err(|m| bad(format!("step {n}: app {m}")))?;
            if step.key.trim().is_empty() {
                return Err(bad(format!("step {n} ({}): `key` is empty", step.app)));
            }
            if let Some(d) = step.delimiter {
                if !matches!(d, ',' | ';' | '|' | '\t') {
                    return Err(bad(format!("step {n}: delimiter `{d}` is not `,` `;` `|` or a tab")));
                }
            }
            for (column, r) in &step.references {
                check_app(&r.app).map_err(|m| bad(format!("step {n}: reference `{column}`: app {m}")))?;
                if r.by.trim().is_empty() {
                    return Err(bad(format!("step {n}: reference `{column}`: `by` is empty")));
                }
            }
            step.file = base.join(&step.file);
            if let Some(s) = &step.schema {
                step.schema = Some(base.join(s));
            }
        }
        Ok(Migration { path, locale, time_zone: shape.time_zone, steps })
    }

    /// Indexes of the steps importing into `app`, in file order.
    pub fn steps_of(&self, app: &str) -> Vec<usize> {
        self.steps.iter().enumerate().filter(|(_, s)| s.app == app).map(|(i, _)| i).collect()
    }

    /// Every app the migration imports into or references, sorted.
    pub fn apps(&self) -> Vec<String> {
        let mut apps: Vec<String> = self
            .steps
            .iter()
            .flat_map(|s| std::iter::once(s.app.clone()).chain(s.references.values().map(|r| r.app.clone())))
            .collect();
        apps.sort();
        apps.dedup();
        apps
    }
}

fn check_app(app: &str) -> Result<(), String> {
    match app.split_once('.') {
        Some((ns, code)) if !ns.is_empty() && !code.is_empty() && !code.contains('.') => Ok(()),
        _ => Err(format!("`{app}` is not `namespace.code`")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TWO: &str = r#"
[[step]]
file = "companies.csv"
app = "crm.companies"
key = "INN"

[[step]]
file = "data/contacts.csv"
app = "crm.contacts"
key = "Email"
with_event_handlers = true
references = { Company = { app = "crm.companies", by = "INN" } }
"#;

    #[test]
    fn reads_the_documented_format_with_paths_from_the_files_folder() {
        let m = Migration::parse(Path::new("/m/migration.toml"), TWO).unwrap();
        assert_eq!(m.steps.len(), 2);
        assert_eq!(m.steps[0].file, Path::new("/m/companies.csv"));
        assert_eq!(m.steps[1].file, Path::new("/m/data/contacts.csv"));
        assert!(!m.steps[0].with_event_handlers && m.steps[1].with_event_handlers);
        assert_eq!(
            m.steps[1].references["Company"],
            Reference { app: "crm.companies".into(), by: "INN".into() }
        );
        assert_eq!(m.apps(), ["crm.companies", "crm.contacts"]);
        assert_eq!(m.locale, elma_import_contract::Locale::Ru);
    }

    #[test]
    fn mistakes_are_named() {
        let err = |text: &str| Migration::parse(Path::new("/m/x.toml"), text).unwrap_err().to_string();
        assert!(err("").contains("no `[[step]]`"));
        let e = err("[[step]]\nfile = \"a.csv\"\napp = \"companies\"\nkey = \"INN\"\n");
        assert!(e.contains("`companies` is not `namespace.code`"), "{e}");
        let e = err("[[step]]\nfile = \"a.csv\"\napp = \"crm.c\"\nkey = \"INN\"\nkye = 1\n");
        assert!(e.contains("kye"), "{e}");
        let e = err("[[step]]\nfile = \"a.csv\"\napp = \"crm.c\"\n");
        assert!(e.contains("key"), "{e}");
        let e = err(
            "[[step]]\nfile = \"a.csv\"\napp = \"crm.c\"\nkey = \"K\"\nreferences = { C = { app = \"x.y\", by = \"\" } }\n",
        );
        assert!(e.contains("reference `C`: `by` is empty"), "{e}");
    }
}
