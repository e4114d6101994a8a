//! What to verify: a file, its app, its key column, and how the run read it.
//!
//! A [`Target`] is built from a file and flags, from a run directory (`run.json`: the
//! run's source, app, key column, locale, time zone, column map, reading options, and
//! `schema.json`), or from each step of a migration (its original file, whose reference
//! columns hold the parent's keys: see [`Link`]).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use elma_import_contract::schema::{AppSchema, Field};
use elma_import_migrate::Migration;
use elma_import_runner::RunSpec;
use elma_import_sheet::ReadOptions;
use elma_import_validate::{Locale, Options, TimeZone};

use crate::error::VerifyError;

/// A reference column of a migration step: its cells hold keys (`by`) of another app's
/// items, where the item holds those items' ids.
#[derive(Debug, Clone, PartialEq)]
pub struct Link {
    /// The step app's link field (SYS_COLLECTION).
    pub field: Field,
    /// The referenced app, `namespace.code`.
    pub app: String,
    /// The referenced app's field whose values the cells hold.
    pub by: Field,
}

/// One file to compare with one app's items.
#[derive(Debug, Clone)]
pub struct Target {
    /// For messages: `crm.contacts from contacts.csv`.
    pub label: String,
    /// The app, `namespace.code`.
    pub app: String,
    /// The source file.
    pub source: PathBuf,
    /// How to read it.
    pub read: ReadOptions,
    /// The app's fields.
    pub schema: AppSchema,
    /// Locale and time zone of the cells (the run's).
    pub options: Options,
    /// Columns renamed before the header is matched to fields (the run's `--map`).
    pub column_map: Vec<(String, String)>,
    /// The column (display name or code) whose values identify items.
    pub key_column: String,
    /// Compare the template's example row too (the run imported it).
    pub keep_example_row: bool,
    /// Reference columns whose cells hold another app's keys (migrations).
    pub links: Vec<Link>,
    /// The run directory this target came from, if any.
    pub run_dir: Option<PathBuf>,
    /// Items that held a row's key before the run imported anything (the run's baseline,
    /// from its journal): they are the app's own, left out of the comparison.
    pub before: BTreeSet<String>,
}

impl Target {
    /// A target for `source` into the app of `schema`, keyed by `key_column`, with the
    /// default reading and no column map.
    pub fn new(source: &Path, schema: AppSchema, key_column: &str, options: Options) -> Target {
        let app = schema.id();
        Target {
            label: format!("{app} from `{}`", source.display()),
            app,
            source: source.to_path_buf(),
            read: ReadOptions::default(),
            schema,
            options,
            column_map: Vec::new(),
            key_column: key_column.to_string(),
            keep_example_row: false,
            links: Vec::new(),
            run_dir: None,
            before: BTreeSet::new(),
        }
    }

    /// The key field.
    ///
    /// # Errors
    /// [`VerifyError::Config`] when the key column names no field of the app.
    pub fn key_field(&self) -> Result<&Field, VerifyError> {
        self.schema.field_for_header(&self.key_column).map(|i| &self.schema.fields[i]).ok_or_else(|| {
            VerifyError::Config(format!(
                "key column `{}` names no field of {} (fields: {})",
                self.key_column,
                self.app,
                self.schema.fields.iter().map(|f| format!("`{}`", f.name)).collect::<Vec<_>>().join(", ")
            ))
        })
    }

    /// The target of a run directory: the run's source, app, fields, reading, locale,
    /// time zone and column map; `key_column` overrides the run's (a run without one
    /// needs it).
    ///
    /// # Errors
    /// The directory holds no run, or neither the run nor `key_column` names a key.
    pub fn from_run_dir(dir: &Path, key_column: Option<&str>) -> Result<Target, VerifyError> {
        let run = |source| VerifyError::Run {
            what: format!("reading the run `{}`", dir.display()),
            source: Box::new(source),
        };
        let spec = RunSpec::load(dir).map_err(run)?;
        let schema = RunSpec::load_schema(dir).map_err(run)?;
        let exec = elma_import_runner::ExecOptions {
            key_column: key_column.map(str::to_string),
            ..elma_import_runner::ExecOptions::default()
        };
        let settings = elma_import_runner::RunSettings::resolve(&spec, &exec, &schema).map_err(run)?;
        let options = settings.validate_options(&spec);
        let key = key_column.map(str::to_string).or(spec.key_column.clone()).ok_or_else(|| {
            VerifyError::Config(format!(
                "the run `{}` has no key column: give --key-column COLUMN (a column whose values are unique)",
                dir.display()
            ))
        })?;
        let target = Target {
            label: format!("{} from `{}`", spec.app, spec.source.display()),
            app: spec.app.clone(),
            source: spec.source.clone(),
            read: elma_import_runner::prepare::read_options(&spec),
            schema,
            options,
            column_map: spec.column_map.clone(),
            key_column: key,
            keep_example_row: spec.keep_example_row,
            links: Vec::new(),
            run_dir: Some(dir.to_path_buf()),
            before: baseline(dir),
        };
        target.key_field()?;
        Ok(target)
    }
}

/// The items a run found holding its rows' keys before its first import (none when its
/// journal cannot be read: then every item is compared).
fn baseline(dir: &Path) -> BTreeSet<String> {
    elma_import_runner::run::state_of(dir).ok().and_then(|s| s.baseline().cloned()).unwrap_or_default()
}

/// The validation options of a migration: its locale and time zone.
///
/// # Errors
/// An unknown locale or time zone.
pub fn migration_options(migration: &Migration) -> Result<Options, VerifyError> {
    let locale: Locale = migration.locale;
    let time_zone = match migration.time_zone.as_deref() {
        Some(zone) => zone
            .parse()
            .map_err(|e: elma_import_validate::UnknownTimeZone| VerifyError::Config(e.to_string()))?,
        None => TimeZone::Local,
    };
    Ok(Options { locale, ignore_unknown: false, time_zone })
}

/// The targets of a migration's steps, in file order: each step's original file (its
/// reference columns hold the parent's keys), app, key and references; `dir`, the
/// migration directory if there is one, gives each step's run directory.
///
/// # Errors
/// A step that does not fit its app's schema, an unknown locale or zone.
pub fn migration_targets(
    migration: &Migration,
    schemas: &BTreeMap<String, AppSchema>,
    dir: Option<&Path>,
) -> Result<Vec<Target>, VerifyError> {
    let bound =
        elma_import_migrate::check::bind(migration, schemas).map_err(|source| VerifyError::Migration {
            what: format!("reading the migration `{}`", migration.path.display()),
            source: Box::new(source),
        })?;
    let options = migration_options(migration)?;
    let mut out = Vec::new();
    for (j, (step, b)) in migration.steps.iter().zip(bound).enumerate() {
        let run_dir = dir.map(|d| elma_import_migrate::step_dir(d, migration, j)).filter(|d| d.is_dir());
        out.push(Target {
            label: format!("step {} {} from `{}`", j + 1, step.app, step.file.display()),
            app: step.app.clone(),
            source: step.file.clone(),
            read: step.read_options(),
            schema: b.schema.clone(),
            options: options.clone(),
            column_map: Vec::new(),
            key_column: step.key.clone(),
            keep_example_row: false,
            links: b
                .refs
                .iter()
                .map(|r| Link { field: r.field.clone(), app: r.app.clone(), by: r.by.clone() })
                .collect(),
            before: run_dir.as_deref().map(baseline).unwrap_or_default(),
            run_dir,
        });
    }
    Ok(out)
}
