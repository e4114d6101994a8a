//! Migrations across ELMA365 apps: several files into several apps, in dependency order,
//! with reference columns resolved by key.
//!
//! A migration file lists steps (`[[step]]`: a file, its app, a unique key column, and
//! `references`: columns whose cells hold another app's keys instead of ids). Before
//! anything is sent every file is checked against its app ([`check`]), every key is
//! unique and every reference value is found among the referenced file's keys or the
//! referenced app's items. Then [`execute`] runs the steps: a step starts when the steps
//! it waits for are done ([`graph`]), independent steps side by side; a step with
//! references first maps keys to ids from the referenced app's items and writes a
//! resolved copy of its file ([`resolve`]), then runs it through the runner. The
//! migration directory holds a run directory per step and `migration.jsonl`
//! ([`journal`]), so a resume continues the whole migration.
//!
//! ```no_run
//! # async fn demo(client: elma_import_client::Client) -> Result<(), elma_import_migrate::MigrateError> {
//! use std::sync::Arc;
//! use elma_import_migrate::{check, create, execute, load_schemas, Migration, MigrateOptions, QuietMigration, Settings};
//! let migration = Migration::load("migration.toml".as_ref())?;
//! let schemas = load_schemas(&migration, None, Some(&client)).await?;
//! let bound = check::bind(&migration, &schemas)?;
//! let checked = check::check_files(&migration, &bound)?;
//! assert!(checked.problems.is_empty());
//! let dir = std::path::Path::new("migrations/m1");
//! create(dir, &migration, &Settings::default(), &schemas)?;
//! let options = MigrateOptions { parallel: 4, exec: Default::default(), assume: Vec::new() };
//! let report = execute(dir, &client, &options, Arc::new(QuietMigration), &Default::default()).await?;
//! println!("{} rows imported", report.imported);
//! # Ok(()) }
//! ```

pub mod check;
pub mod error;
pub mod exec;
pub mod graph;
pub mod journal;
/// Key values in one comparable form.
pub use elma_import_contract::keys;
pub mod resolve;
pub mod spec;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use elma_import_client::{AppRef, Client};
use elma_import_contract::schema::AppSchema;
use serde::Serialize;

pub use check::{Checked, ItemKeys, Problem};
pub use error::MigrateError;
pub use exec::{
    check_settings, create, execute, execute_with_clock, is_migration_dir, load, step_dir, step_spec,
    MigrateOptions, MigrationObserver, QuietMigration, Report, Settings, StepEvent, StepReport,
};
pub use graph::Graph;
pub use spec::{Migration, Reference, Step};

/// The schema of every app the migration touches: a step's `schema` file, else
/// `schema_dir/<namespace.code>.schema.json`, else the platform (with a client).
///
/// # Errors
/// A schema that cannot be read, or an app with no source of its schema.
pub async fn load_schemas(
    migration: &Migration,
    schema_dir: Option<&Path>,
    client: Option<&Client>,
) -> Result<BTreeMap<String, AppSchema>, MigrateError> {
    let mut out = BTreeMap::new();
    for app in migration.apps() {
        let file = migration
            .steps
            .iter()
            .find(|s| s.app == app && s.schema.is_some())
            .and_then(|s| s.schema.clone())
            .or_else(|| schema_dir.map(|d| d.join(format!("{app}.schema.json"))).filter(|p| p.is_file()));
        let schema = match (file, client) {
            (Some(path), _) => {
                // A schema file that is not there is a setting to fix (exit 2), not a failure
                // to retry.
                let text = std::fs::read_to_string(&path).map_err(|e| MigrateError::Spec {
                    path: migration.path.clone(),
                    message: format!("cannot read the schema file `{}`: {e}", path.display()),
                })?;
                AppSchema::from_json(&text)
                    .map_err(|e| MigrateError::Spec { path: path.clone(), message: e.to_string() })?
            }
            (None, Some(client)) => {
                let app_ref: AppRef = app.parse().map_err(|e| MigrateError::Spec {
                    path: migration.path.clone(),
                    message: format!("{e}"),
                })?;
                client
                    .app_schema(&app_ref)
                    .await
                    .map_err(|source| MigrateError::client(format!("fetching the fields of {app}"), source))?
            }
            (None, None) => {
                return Err(MigrateError::Spec {
                    path: migration.path.clone(),
                    message: format!(
                        "no schema of {app}: give its step `schema = \"…\"`, a --schema-dir holding \
                         `{app}.schema.json`, or connection settings to fetch it"
                    ),
                })
            }
        };
        if schema.id() != app {
            return Err(MigrateError::Spec {
                path: migration.path.clone(),
                message: format!("the schema given for {app} is the schema of {}", schema.id()),
            });
        }
        out.insert(app, schema);
    }
    Ok(out)
}

/// Looks for the reference values found in no file (`checked.misses`) among the items of
/// the referenced apps, by exact look-ups or a paged scan, whichever takes fewer requests
/// ([`resolve::choose_lookup`]), and collects the keys found.
///
/// # Errors
/// The client's error after retries.
pub async fn existing_keys(
    client: &Client,
    checked: &Checked,
    bound: &[check::Bound],
) -> Result<ItemKeys, MigrateError> {
    let mut out = ItemKeys::new();
    for (app, field) in checked.lookups(bound) {
        let wanted: std::collections::BTreeSet<String> = checked
            .misses
            .iter()
            .filter(|m| {
                let r = &bound[m.step].refs[m.reference];
                r.app == app && r.by.code == field.code
            })
            .map(|m| m.key.clone())
            .collect();
        let app_ref: AppRef =
            app.parse().map_err(|e| MigrateError::Directory(format!("`{app}` is not an app: {e}")))?;
        let listing = |source| MigrateError::client(format!("listing the items of {app}"), source);
        let count = resolve::count_items(client, &app_ref).await.map_err(listing)?;
        let items = if resolve::choose_lookup(&field, wanted.len(), count).0 {
            resolve::lookup_items(client, &app_ref, &field, &wanted).await.map_err(listing)?
        } else {
            resolve::scan_items(client, &app_ref).await.map_err(listing)?.0
        };
        let keys = out.entry((app.clone(), field.code.clone())).or_default();
        for item in &items {
            keys.extend(keys::item_keys(&field, item.get(&field.code)));
        }
    }
    Ok(out)
}

/// One step of a migration plan.
#[derive(Debug, Clone, Serialize)]
pub struct StepPlan {
    /// 1-based.
    pub step: usize,
    /// The app.
    pub app: String,
    /// The file.
    pub file: std::path::PathBuf,
    /// Steps (1-based) it waits for.
    pub waits_for: Vec<usize>,
    /// Its wave (0: waits for nothing).
    pub wave: usize,
    /// Data rows.
    pub rows: u64,
    /// Valid rows.
    pub valid_rows: u64,
    /// The step's import plan (none when it has no valid row).
    pub plan: Option<elma_import_chunk::Plan>,
    /// Expected start and end, seconds from the migration's start.
    pub start_secs: f64,
    /// Expected end.
    pub end_secs: f64,
}

/// A migration's plan: the order, what runs side by side, and the estimate.
#[derive(Debug, Clone, Serialize)]
pub struct MigrationPlan {
    /// Steps in file order.
    pub steps: Vec<StepPlan>,
    /// Steps (1-based) that may run side by side, wave by wave.
    pub waves: Vec<Vec<usize>>,
    /// At most this many steps at once.
    pub parallel: usize,
    /// The whole migration's estimate, seconds (the longest chain, given `parallel`).
    pub estimate_secs: f64,
    /// The same steps one after another, seconds.
    pub sequential_secs: f64,
}

/// Plans every step (the runner's rules) and schedules them over the graph.
pub fn plan(
    migration: &Migration,
    graph: &Graph,
    checked: &Checked,
    settings: &Settings,
    parallel: usize,
) -> MigrationPlan {
    let mut steps = Vec::new();
    for (j, step) in migration.steps.iter().enumerate() {
        let f = &checked.files[j];
        let valid = f.summary.valid;
        let plan = elma_import_chunk::plan(&elma_import_chunk::PlanInput {
            rows: valid,
            bytes: f.bytes.saturating_mul(valid) / f.summary.rows.max(1),
            with_event_handlers: step.with_event_handlers,
            rows_per_chunk: step.rows_per_chunk,
            allow_over_limit: false,
            import_rows_per_sec: settings.import_rows_per_sec,
            pause: settings.pause_secs.map(Duration::from_secs_f64),
            temp_ttl: Duration::from_secs(settings.temp_ttl_secs),
        })
        .ok();
        let wave = graph.waves.iter().position(|w| w.contains(&j)).unwrap_or(0);
        steps.push(StepPlan {
            step: j + 1,
            app: step.app.clone(),
            file: step.file.clone(),
            waits_for: graph.deps[j].iter().map(|i| i + 1).collect(),
            wave,
            rows: f.summary.rows,
            valid_rows: valid,
            plan,
            start_secs: 0.0,
            end_secs: 0.0,
        });
    }
    let durations: Vec<f64> =
        steps.iter().map(|s| s.plan.as_ref().map_or(Duration::ZERO, |p| p.estimate).as_secs_f64()).collect();
    let times = graph.schedule(&durations, parallel);
    for (s, (start, end)) in steps.iter_mut().zip(&times) {
        s.start_secs = *start;
        s.end_secs = *end;
    }
    MigrationPlan {
        waves: graph.waves.iter().map(|w| w.iter().map(|i| i + 1).collect()).collect(),
        parallel: parallel.max(1),
        estimate_secs: times.iter().map(|t| t.1).fold(0.0, f64::max),
        sequential_secs: durations.iter().sum(),
        steps,
    }
}
