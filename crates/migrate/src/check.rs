//! The checks made before anything is sent: every file against its app, every key
//! unique, and every reference value found among the referenced file's keys (or, in a
//! second pass with the platform, among the referenced app's items).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;

use elma_import_contract::schema::{AppSchema, Field, FieldType};
use elma_import_contract::Locale;
use elma_import_validate::{Options, Summary, Validator};
use serde::Serialize;

use crate::error::MigrateError;
use crate::keys::{cell_key, is_key_type, reference_values};
use crate::spec::Migration;

/// A reference column of a step, tied to the fields it concerns.
#[derive(Debug, Clone, PartialEq)]
pub struct BoundRef {
    /// The column as the migration file names it.
    pub column: String,
    /// The step app's link field.
    pub field: Field,
    /// The referenced app.
    pub app: String,
    /// The referenced app's field whose values the cells hold.
    pub by: Field,
}

/// A step tied to its app's schema.
#[derive(Debug, Clone, PartialEq)]
pub struct Bound {
    /// The app's schema.
    pub schema: AppSchema,
    /// The key field.
    pub key: Field,
    /// The reference columns.
    pub refs: Vec<BoundRef>,
}

/// Ties every step to the schemas (`namespace.code` → schema): the key column names a
/// field that can be a key, each reference column names a link field (SYS_COLLECTION)
/// of the step's app that links to the referenced app, and `by` names a key-able field
/// of the referenced app.
///
/// # Errors
/// [`MigrateError::Step`] naming the step and what does not fit.
pub fn bind(
    migration: &Migration,
    schemas: &BTreeMap<String, AppSchema>,
) -> Result<Vec<Bound>, MigrateError> {
    let mut out = Vec::with_capacity(migration.steps.len());
    for (j, step) in migration.steps.iter().enumerate() {
        let fail = |message: String| MigrateError::Step { step: step.label(j), message };
        let schema =
            schemas.get(&step.app).ok_or_else(|| fail(format!("no schema of the app `{}`", step.app)))?;
        let key = field(schema, &step.key).ok_or_else(|| {
            fail(format!("key `{}` names no field of {} (fields: {})", step.key, step.app, names(schema)))
        })?;
        if !is_key_type(&key) {
            return Err(fail(format!(
                "key `{}` is a {} field; a key must be STRING, TEXT, EMAIL, PHONE, INTEGER or LINK",
                step.key,
                key.kind.as_str()
            )));
        }
        let mut refs = Vec::new();
        for (column, r) in &step.references {
            let f = field(schema, column).ok_or_else(|| {
                fail(format!(
                    "reference column `{column}` names no field of {} (fields: {})",
                    step.app,
                    names(schema)
                ))
            })?;
            if f.kind != FieldType::SysCollection {
                return Err(fail(format!(
                    "reference column `{column}` is a {} field, not a link to another app (SYS_COLLECTION)",
                    f.kind.as_str()
                )));
            }
            if let Some(linked) = f.data.linked_app() {
                if linked != r.app {
                    return Err(fail(format!(
                        "reference column `{column}` links to {linked}, not to {} as the migration says",
                        r.app
                    )));
                }
            }
            let target = schemas
                .get(&r.app)
                .ok_or_else(|| fail(format!("no schema of the referenced app `{}`", r.app)))?;
            let by = field(target, &r.by).ok_or_else(|| {
                fail(format!(
                    "reference `{column}`: `by = \"{}\"` names no field of {} (fields: {})",
                    r.by,
                    r.app,
                    names(target)
                ))
            })?;
            if !is_key_type(&by) {
                return Err(fail(format!(
                    "reference `{column}`: `{}` of {} is a {} field, which cannot serve as a key",
                    r.by,
                    r.app,
                    by.kind.as_str()
                )));
            }
            refs.push(BoundRef { column: column.clone(), field: f, app: r.app.clone(), by });
        }
        out.push(Bound { schema: schema.clone(), key, refs });
    }
    Ok(out)
}

fn field(schema: &AppSchema, name: &str) -> Option<Field> {
    schema.field_for_header(name).map(|i| schema.fields[i].clone())
}

fn names(schema: &AppSchema) -> String {
    schema.fields.iter().map(|f| format!("`{}`", f.name)).collect::<Vec<_>>().join(", ")
}

/// The schema a step's file is checked against: its reference columns hold keys, not
/// ids, so they are checked as text here (the resolved copy is checked as links by the run).
pub fn schema_for_check(bound: &Bound) -> AppSchema {
    let mut schema = bound.schema.clone();
    for f in &mut schema.fields {
        if bound.refs.iter().any(|r| r.field.code == f.code) {
            f.kind = FieldType::String;
            f.data = Default::default();
        }
    }
    schema
}

/// A problem found before sending: a cell naming an unknown key, a repeated key, a
/// missing column.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// The file.
    pub file: PathBuf,
    /// Spreadsheet row (header = 1).
    pub row: u64,
    /// The column's header.
    pub column: String,
    /// The cell's value.
    pub value: String,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "`{}` row {}", self.file.display(), self.row)?;
        if !self.column.is_empty() {
            write!(f, ", column `{}`", self.column)?;
        }
        if !self.value.is_empty() {
            write!(f, ", value `{}`", self.value)?;
        }
        write!(f, ": {}", self.message)
    }
}

/// A reference value found in no file of the migration: it must already be an item of
/// the referenced app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Miss {
    /// The referencing step.
    pub step: usize,
    /// Index into its [`Bound::refs`].
    pub reference: usize,
    /// Spreadsheet row.
    pub row: u64,
    /// The value as written.
    pub value: String,
    /// Its comparable form.
    pub key: String,
}

/// What the check of one file found.
#[derive(Debug, Clone)]
pub struct FileCheck {
    /// Rows and cell errors (the reference columns checked as text).
    pub summary: Summary,
    /// Bytes of the file.
    pub bytes: u64,
}

/// What the checks of all files found.
#[derive(Debug, Clone)]
pub struct Checked {
    /// Per step.
    pub files: Vec<FileCheck>,
    /// Problems, in step then row order.
    pub problems: Vec<Problem>,
    /// Reference values in no file, to look for among the apps' items.
    pub misses: Vec<Miss>,
}

impl Checked {
    /// The `(app, field code)` pairs whose items must be listed to settle the misses.
    pub fn lookups(&self, bound: &[Bound]) -> Vec<(String, Field)> {
        let mut seen = HashSet::new();
        let mut out = Vec::new();
        for m in &self.misses {
            let r = &bound[m.step].refs[m.reference];
            if seen.insert((r.app.clone(), r.by.code.clone())) {
                out.push((r.app.clone(), r.by.clone()));
            }
        }
        out
    }

    /// Whether any step has an invalid row or any problem was found.
    pub fn is_clean(&self) -> bool {
        self.problems.is_empty()
            && self.misses.is_empty()
            && self.files.iter().all(|f| f.summary.invalid == 0)
    }

    /// Turns the misses not found in `existing` (`(app, field code)` → keys of the
    /// app's items) into problems. Without `existing` every miss is a problem.
    pub fn settle(&mut self, migration: &Migration, bound: &[Bound], existing: Option<&ItemKeys>) {
        let misses = std::mem::take(&mut self.misses);
        for m in misses {
            let r = &bound[m.step].refs[m.reference];
            let found = existing
                .and_then(|e| e.get(&(r.app.clone(), r.by.code.clone())))
                .is_some_and(|keys| keys.contains(&m.key));
            if found {
                continue;
            }
            let files: Vec<String> = migration
                .steps_of(&r.app)
                .into_iter()
                .map(|i| format!("`{}`", migration.steps[i].file.display()))
                .collect();
            let files = files.join(", ");
            let message = match (files.is_empty(), existing.is_some()) {
                (true, true) => format!("no item of {} has {} `{}`", r.app, r.by.name, m.value),
                (true, false) => format!(
                    "{} `{}` of {} cannot be checked offline (no step imports that app)",
                    r.by.name, m.value, r.app
                ),
                (false, true) => {
                    format!("`{}` is no {} of {files} nor of any item of {}", m.value, r.by.name, r.app)
                }
                (false, false) => format!(
                    "`{}` is no {} of {files} (the items of {} were not looked at: offline check)",
                    m.value, r.by.name, r.app
                ),
            };
            self.problems.push(Problem {
                file: migration.steps[m.step].file.clone(),
                row: m.row,
                column: r.column.clone(),
                value: m.value,
                message,
            });
        }
        self.problems.sort_by(|a, b| (&a.file, a.row).cmp(&(&b.file, b.row)));
    }
}

/// Keys of apps' items: `(app, field code)` → comparable keys.
pub type ItemKeys = HashMap<(String, String), HashSet<String>>;

/// Reads every file once: checks its header and cells, collects its key column (and
/// the columns other steps reference it by) and its reference values.
///
/// # Errors
/// A file that cannot be opened or read.
pub fn check_files(migration: &Migration, bound: &[Bound]) -> Result<Checked, MigrateError> {
    let locale: Locale = migration.locale;
    // For each step: field code → (comparable key → first row).
    let mut keys: Vec<HashMap<String, HashMap<String, u64>>> = vec![HashMap::new(); migration.steps.len()];
    let mut refs: Vec<Vec<Vec<(u64, String)>>> = Vec::new();
    let mut files = Vec::new();
    let mut problems = Vec::new();
    for (j, step) in migration.steps.iter().enumerate() {
        let b = &bound[j];
        let sheet_err = |error| MigrateError::Sheet { path: step.file.clone(), error };
        let mut reader = elma_import_sheet::open(&step.file, &step.read_options()).map_err(sheet_err)?;
        let bytes = reader.progress().1;
        let header = reader.header().clone();
        let column_of = |f: &Field| {
            header.iter().position(|c| {
                b.schema.field_for_header(c.text).is_some_and(|i| b.schema.fields[i].code == f.code)
            })
        };
        let problem = |row: u64, column: &str, value: &str, message: String| Problem {
            file: step.file.clone(),
            row,
            column: column.to_string(),
            value: value.to_string(),
            message,
        };
        let check_schema = schema_for_check(b);
        let options = Options { locale, ..Options::default() };
        let validator = match Validator::new(&check_schema, &header, &options) {
            Ok(v) => v,
            Err(errors) => {
                for e in errors.0 {
                    problems.push(problem(1, "", "", e.to_string()));
                }
                files.push(FileCheck { summary: Summary::new(), bytes });
                refs.push(vec![Vec::new(); b.refs.len()]);
                continue;
            }
        };
        // Key-like columns: this step's key, and every field other steps reference it by.
        let mut key_fields: Vec<Field> = vec![b.key.clone()];
        for (i, other) in bound.iter().enumerate() {
            for r in &other.refs {
                if r.app == step.app && !key_fields.iter().any(|f| f.code == r.by.code) {
                    if column_of(&r.by).is_none() {
                        problems.push(problem(
                            1,
                            &r.by.name,
                            "",
                            format!(
                                "there is no column `{}`, by which {} references this app in column `{}`",
                                r.by.name,
                                migration.steps[i].label(i),
                                r.column
                            ),
                        ));
                        continue;
                    }
                    key_fields.push(r.by.clone());
                }
            }
        }
        let key_cols: Vec<(usize, Field)> =
            key_fields.into_iter().filter_map(|f| column_of(&f).map(|c| (c, f))).collect();
        if column_of(&b.key).is_none() {
            problems.push(problem(1, &step.key, "", format!("there is no key column `{}`", step.key)));
        }
        let ref_cols: Vec<Option<usize>> = b.refs.iter().map(|r| column_of(&r.field)).collect();
        for (r, c) in b.refs.iter().zip(&ref_cols) {
            if c.is_none() {
                problems.push(problem(
                    1,
                    &r.column,
                    "",
                    format!("there is no reference column `{}`", r.column),
                ));
            }
        }
        let mut values: Vec<Vec<(u64, String)>> = vec![Vec::new(); b.refs.len()];
        let mut summary = Summary::new();
        validator.check_while_reading(&mut reader);
        while let Some((batch, errors)) = validator.next_checked(&mut reader).map_err(sheet_err)? {
            summary.add(&batch, &errors);
            for row in &batch {
                if row.is_blank() {
                    continue;
                }
                for (c, f) in &key_cols {
                    let text = row.get(*c).text;
                    let Some(k) = cell_key(f, text) else {
                        if f.code == b.key.code {
                            problems.push(problem(
                                row.number,
                                &f.name,
                                "",
                                "the key cell is empty: every row needs a unique key".into(),
                            ));
                        }
                        continue;
                    };
                    let seen = keys[j].entry(f.code.clone()).or_default();
                    if let Some(first) = seen.get(&k) {
                        problems.push(problem(
                            row.number,
                            &f.name,
                            text.trim(),
                            format!("the key repeats row {first}: keys must be unique"),
                        ));
                    } else {
                        seen.insert(k, row.number);
                    }
                }
                for (k, c) in ref_cols.iter().enumerate() {
                    let Some(c) = c else { continue };
                    let text = row.get(*c).text;
                    for v in reference_values(text, !b.refs[k].field.single) {
                        values[k].push((row.number, v.to_string()));
                    }
                }
            }
        }
        files.push(FileCheck { summary, bytes });
        refs.push(values);
    }
    let mut misses = Vec::new();
    for (j, b) in bound.iter().enumerate() {
        for (k, r) in b.refs.iter().enumerate() {
            let targets = migration.steps_of(&r.app);
            for (row, value) in &refs[j][k] {
                let Some(key) = cell_key(&r.by, value) else { continue };
                let known =
                    targets.iter().any(|&t| keys[t].get(&r.by.code).is_some_and(|s| s.contains_key(&key)));
                if !known {
                    misses.push(Miss { step: j, reference: k, row: *row, value: value.clone(), key });
                }
            }
        }
    }
    Ok(Checked { files, problems, misses })
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    const COMPANIES: &str = r#"{"namespace":"crm","code":"companies","fields":[
        {"code":"__name","name":"Name","type":"STRING","required":true},
        {"code":"inn","name":"INN","type":"STRING","required":true}]}"#;
    const CONTACTS: &str = r#"{"namespace":"crm","code":"contacts","fields":[
        {"code":"__name","name":"Name","type":"STRING","required":true},
        {"code":"email","name":"Email","type":"EMAIL"},
        {"code":"company","name":"Company","type":"SYS_COLLECTION","data":{"namespace":"crm","code":"companies"}},
        {"code":"partners","name":"Partners","type":"SYS_COLLECTION","single":false}]}"#;

    fn schemas() -> BTreeMap<String, AppSchema> {
        [COMPANIES, CONTACTS]
            .iter()
            .map(|s| {
                let a = AppSchema::from_json(s).unwrap();
                (a.id(), a)
            })
            .collect()
    }

    fn setup(dir: &Path, companies: &str, contacts: &str, refs: &str) -> Migration {
        std::fs::write(dir.join("companies.csv"), companies).unwrap();
        std::fs::write(dir.join("contacts.csv"), contacts).unwrap();
        let text = format!(
            "[[step]]\nfile = \"companies.csv\"\napp = \"crm.companies\"\nkey = \"INN\"\n\n\
             [[step]]\nfile = \"contacts.csv\"\napp = \"crm.contacts\"\nkey = \"Email\"\nreferences = {{ {refs} }}\n"
        );
        Migration::parse(&dir.join("m.toml"), &text).unwrap()
    }

    const REFS: &str = r#"Company = { app = "crm.companies", by = "INN" }, Partners = { app = "crm.companies", by = "INN" }"#;

    #[test]
    fn an_unknown_key_is_named_with_file_row_column_and_value() {
        let tmp = tempfile::tempdir().unwrap();
        let m = setup(
            tmp.path(),
            "Name,INN\nAcme,7701\nBeta,7702\n",
            "Name,Email,Company,Partners\nAnn,ann@x.org,7701,\"7702, 7701\"\nBob,bob@x.org,7799,\nCid,cid@x.org,,\"7701,7798\"\n",
            REFS,
        );
        let bound = bind(&m, &schemas()).unwrap();
        let mut checked = check_files(&m, &bound).unwrap();
        assert!(checked.problems.is_empty(), "{:?}", checked.problems);
        assert_eq!(checked.files[1].summary.invalid, 0, "reference columns are checked as text");
        assert_eq!(checked.misses.len(), 2);
        assert_eq!(checked.lookups(&bound).len(), 1);
        // An item of the app already has 7798.
        let existing: ItemKeys =
            [(("crm.companies".to_string(), "inn".to_string()), ["7798".to_string()].into_iter().collect())]
                .into();
        checked.settle(&m, &bound, Some(&existing));
        assert_eq!(checked.problems.len(), 1, "{:?}", checked.problems);
        let p = &checked.problems[0];
        assert_eq!((p.row, p.column.as_str(), p.value.as_str()), (3, "Company", "7799"));
        let text = p.to_string();
        assert!(text.contains("contacts.csv` row 3, column `Company`, value `7799`"), "{text}");
        assert!(text.contains("companies.csv"), "{text}");
    }

    #[test]
    fn repeated_and_empty_keys_and_a_missing_by_column_are_problems() {
        let tmp = tempfile::tempdir().unwrap();
        let m = setup(
            tmp.path(),
            "Name,INN\nAcme,7701\nBeta,7701\nGamma,\n",
            "Name,Email,Company\nAnn,ann@x.org,7701\nBob,ANN@x.org,7701\n",
            r#"Company = { app = "crm.companies", by = "INN" }"#,
        );
        let bound = bind(&m, &schemas()).unwrap();
        let checked = check_files(&m, &bound).unwrap();
        let texts: Vec<String> = checked.problems.iter().map(|p| p.to_string()).collect();
        assert!(
            texts.iter().any(|t| t.contains("row 3, column `INN`, value `7701`: the key repeats row 2")),
            "{texts:?}"
        );
        assert!(texts.iter().any(|t| t.contains("row 4, column `INN`: the key cell is empty")), "{texts:?}");
        // E-mail keys ignore case.
        assert!(texts.iter().any(|t| t.contains("row 3, column `Email`, value `ANN@x.org`")), "{texts:?}");
        assert!(!checked.is_clean());
    }

    #[test]
    fn binding_names_what_does_not_fit() {
        let tmp = tempfile::tempdir().unwrap();
        let bad = |refs: &str| {
            let m = setup(tmp.path(), "Name,INN\n", "Name,Email\n", refs);
            bind(&m, &schemas()).unwrap_err().to_string()
        };
        let e = bad(r#"Email = { app = "crm.companies", by = "INN" }"#);
        assert!(e.contains("`Email` is a EMAIL field, not a link"), "{e}");
        let e = bad(r#"Company = { app = "crm.companies", by = "Town" }"#);
        assert!(e.contains("`by = \"Town\"` names no field of crm.companies"), "{e}");
        let e = bad(r#"Company = { app = "crm.contacts", by = "Email" }"#);
        assert!(e.contains("links to crm.companies, not to crm.contacts"), "{e}");
        let e = bad(r#"Nope = { app = "crm.companies", by = "INN" }"#);
        assert!(e.contains("reference column `Nope` names no field"), "{e}");
    }
}
