//! Executing a migration: steps in dependency order, independent ones side by side,
//! each a run of the runner over its own run directory, all journaled in
//! `migration.jsonl` so a resume continues the whole migration.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use elma_import_client::{AppRef, Client, Clock};
use elma_import_contract::schema::AppSchema;
use elma_import_runner::{
    blocking, Cancel, ExecOptions, Observer, Progress, RunSettings, RunSpec, StopKind, Summary,
};
use serde::{Deserialize, Serialize};

use crate::check::{bind, Bound};
use crate::error::MigrateError;
use crate::graph::Graph;
use crate::journal::{Event, Journal, State, Totals};
use crate::resolve::{
    choose_lookup, count_items, lookup_items, needed_keys, scan_items, write_resolved, IdIndex, IdMap,
};
use crate::spec::Migration;

/// Settings fixed for the life of a migration, saved in `migration.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Settings {
    /// Import the valid rows of each step and leave the rest out (else a step with an
    /// invalid row stops before sending).
    pub skip_invalid: bool,
    /// The format of the chunk files: `xlsx` or `csv`.
    pub chunk_format: elma_import_contract::wire::FileFormat,
    /// Assumed import speed, rows per second, for the plans' estimates.
    pub import_rows_per_sec: f64,
    /// Directory id for directory uploads.
    #[serde(default)]
    pub directory_id: Option<String>,
    /// The platform's temporary-file lifetime, seconds.
    pub temp_ttl_secs: u64,
    /// Steps at once, at most (a resume keeps it).
    #[serde(default = "four")]
    pub parallel: usize,
    /// Pause between imports of a step, seconds (else the plan's); kept in each step's
    /// `run.json`, so resumes keep it.
    #[serde(default)]
    pub pause_secs: Option<f64>,
    /// Fixed pause, or `--pause auto` within bounds.
    #[serde(default)]
    pub pause_mode: elma_import_runner::pace::PauseMode,
    /// The platform's Web API address the migration talks to (never the token), so
    /// `resume DIR` finds it again.
    #[serde(default)]
    pub url: Option<String>,
    /// The profile of the config file the connection came from.
    #[serde(default)]
    pub profile: Option<String>,
}

fn four() -> usize {
    4
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            skip_invalid: false,
            chunk_format: elma_import_contract::wire::FileFormat::Xlsx,
            import_rows_per_sec: 200.0,
            directory_id: None,
            temp_ttl_secs: elma_import_contract::wire::TEMP_FILE_TTL_SECS,
            parallel: 4,
            pause_secs: None,
            pause_mode: elma_import_runner::pace::PauseMode::Fixed,
            url: None,
            profile: None,
        }
    }
}

/// What `migration.json` holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Saved {
    /// The migration, paths absolute.
    pub migration: Migration,
    /// Its fixed settings.
    pub settings: Settings,
}

/// Creates a migration directory: `migration.json` and `schemas/<app>.schema.json`.
/// Refuses a directory that already holds a migration.
///
/// # Errors
/// [`MigrateError::Directory`] for a directory in use; I/O errors.
pub fn create(
    dir: &Path,
    migration: &Migration,
    settings: &Settings,
    schemas: &BTreeMap<String, AppSchema>,
) -> Result<(), MigrateError> {
    if dir.join("migration.json").exists() {
        return Err(MigrateError::Directory(format!(
            "`{}` already holds a migration: continue it with `elma-import resume {}`",
            dir.display(),
            dir.display()
        )));
    }
    let sdir = dir.join("schemas");
    std::fs::create_dir_all(&sdir)
        .map_err(|e| MigrateError::io(format!("cannot create `{}`", sdir.display()), e))?;
    for (app, schema) in schemas {
        write_json(&sdir.join(format!("{app}.schema.json")), schema)?;
    }
    write_json(
        &dir.join("migration.json"),
        &Saved { migration: migration.clone(), settings: settings.clone() },
    )
}

/// Whether `dir` holds a migration (its `migration.json`).
pub fn is_migration_dir(dir: &Path) -> bool {
    dir.join("migration.json").is_file()
}

/// Reads `migration.json` and the saved schemas of a migration directory.
///
/// # Errors
/// [`MigrateError::Directory`] when it holds no migration; unreadable files.
pub fn load(dir: &Path) -> Result<(Saved, BTreeMap<String, AppSchema>), MigrateError> {
    let path = dir.join("migration.json");
    if !path.is_file() {
        return Err(MigrateError::Directory(format!(
            "`{}` holds no migration (no migration.json)",
            dir.display()
        )));
    }
    let bad = |message: String| MigrateError::Damaged { path: path.clone(), message };
    let text = std::fs::read_to_string(&path)
        .map_err(|e| MigrateError::io(format!("cannot read `{}`", path.display()), e))?;
    let saved: Saved = serde_json::from_str(&text).map_err(|e| bad(e.to_string()))?;
    let mut schemas = BTreeMap::new();
    for app in saved.migration.apps() {
        let p = dir.join("schemas").join(format!("{app}.schema.json"));
        let text = std::fs::read_to_string(&p)
            .map_err(|e| MigrateError::io(format!("cannot read `{}`", p.display()), e))?;
        let schema = AppSchema::from_json(&text)
            .map_err(|e| MigrateError::Damaged { path: p.clone(), message: e.to_string() })?;
        schemas.insert(app, schema);
    }
    Ok((saved, schemas))
}

/// Writes `value` as pretty JSON, atomically and fsynced: the runner's writer, so a
/// migration's files are as durable as a run's.
fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<(), MigrateError> {
    elma_import_runner::spec::write_json(path, value).map_err(|e| MigrateError::run("migration directory", e))
}

/// The run directory of step `i` (0-based) inside a migration directory.
pub fn step_dir(dir: &Path, migration: &Migration, i: usize) -> PathBuf {
    dir.join("steps").join(format!("{:02}-{}", i + 1, migration.steps[i].app))
}

/// What happens to a step, as a migration goes (beside the runner's own [`Progress`]).
#[derive(Debug)]
pub enum StepEvent<'a> {
    /// Waiting for these steps (0-based) to finish.
    Waiting {
        /// The steps.
        on: &'a [usize],
    },
    /// Finished in an earlier execution.
    AlreadyDone,
    /// Mapping a reference column's keys to ids.
    Resolving {
        /// The column.
        column: &'a str,
        /// The referenced app.
        app: &'a str,
    },
    /// A reference column's keys mapped.
    Resolved {
        /// The map.
        map: &'a IdMap,
    },
    /// The resolved copy is written.
    Written {
        /// Reference cells rewritten.
        cells: u64,
        /// Cells naming no single item (their rows are rejected).
        unresolved: u64,
        /// The copy.
        path: &'a Path,
    },
    /// The step's run starts (or continues).
    Running {
        /// Its run directory.
        run_dir: &'a Path,
    },
    /// The run completed.
    Done {
        /// Its summary.
        summary: &'a Summary,
    },
    /// The step stopped with an error.
    Failed {
        /// The error.
        error: &'a MigrateError,
    },
    /// Not started: a step it waits for did not finish.
    Skipped {
        /// That step (0-based).
        because: usize,
    },
}

/// Receives a migration's progress.
pub trait MigrationObserver: Send + Sync {
    /// A step's own event.
    fn step(&self, step: usize, event: &StepEvent<'_>);
    /// The runner's progress within a step.
    fn run(&self, step: usize, progress: &Progress<'_>);
}

/// An observer that ignores everything.
#[derive(Debug, Clone, Copy, Default)]
pub struct QuietMigration;

impl MigrationObserver for QuietMigration {
    fn step(&self, _: usize, _: &StepEvent<'_>) {}
    fn run(&self, _: usize, _: &Progress<'_>) {}
}

struct StepObserver {
    step: usize,
    inner: Arc<dyn MigrationObserver>,
}

impl Observer for StepObserver {
    fn on(&self, progress: &Progress<'_>) {
        self.inner.run(self.step, progress);
    }
}

/// One step in the report.
#[derive(Debug, Clone, Serialize)]
pub struct StepReport {
    /// 1-based.
    pub step: usize,
    /// The app.
    pub app: String,
    /// The source file.
    pub file: PathBuf,
    /// `done`, `failed`, `skipped` (a step it waits for did not finish) or `not_started`.
    pub status: String,
    /// Steps (1-based) it waited for.
    pub waited_for: Vec<usize>,
    /// Its run directory (its `errors.csv` lists rejected rows by source row).
    pub run_dir: Option<PathBuf>,
    /// Rows, rejected and imported rows over all executions.
    pub totals: Totals,
    /// Reference cells that named no single item.
    pub unresolved: u64,
    /// The run's summary, when it ran in this execution.
    pub summary: Option<Summary>,
    /// Why it stopped.
    pub error: Option<String>,
    /// The error itself, for advice on how to go on.
    #[serde(skip)]
    pub failure: Option<Arc<MigrateError>>,
    /// The kind of its stop: `None` when done with every row imported, `Data` when rows
    /// were rejected, else its failure's kind.
    #[serde(skip)]
    pub stop: Option<StopKind>,
    /// When it started and finished (seconds since the epoch).
    pub started_at: Option<f64>,
    /// When it finished.
    pub finished_at: Option<f64>,
}

/// A migration's report, printed at its end and saved as `summary.json`.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The migration directory.
    pub dir: PathBuf,
    /// `completed` (every step done) or `incomplete`.
    pub status: String,
    /// Per step, in file order.
    pub steps: Vec<StepReport>,
    /// Data rows over all files.
    pub rows_read: u64,
    /// Rows rejected before sending.
    pub rows_invalid: u64,
    /// Rows imported.
    pub imported: u64,
    /// Rows the platform rejected.
    pub failed: u64,
    /// Rows sent whose import could not be confirmed.
    pub not_imported: u64,
    /// Reference cells that named no single item.
    pub unresolved: u64,
    /// Wall time of this execution.
    pub wall_secs: f64,
    /// How the migration stopped: `None` when every step is done with every row imported;
    /// else the first failed step's kind (an interruption first of all), else `Data` for
    /// rejected rows.
    #[serde(skip)]
    pub stop: Option<StopKind>,
}

/// How an execution goes.
#[derive(Clone)]
pub struct MigrateOptions {
    /// Steps at once, at most.
    pub parallel: usize,
    /// The runner's options for every step.
    pub exec: ExecOptions,
    /// The user's word on chunks of steps: (step, 0-based; chunk; imported?).
    pub assume: Vec<(usize, elma_import_runner::Chunk, bool)>,
}

struct Shared<C> {
    clock: C,
    dir: PathBuf,
    migration: Migration,
    settings: Settings,
    schemas: BTreeMap<String, AppSchema>,
    bound: Vec<Bound>,
    journal: Mutex<Journal>,
    client: Client,
    exec: ExecOptions,
    assume: Vec<(usize, elma_import_runner::Chunk, bool)>,
    observer: Arc<dyn MigrationObserver>,
    cancel: Cancel,
}

impl<C: Clock> Shared<C> {
    fn log(&self, event: &Event) -> Result<(), MigrateError> {
        self.journal.lock().unwrap_or_else(std::sync::PoisonError::into_inner).append(event)?;
        Ok(())
    }

    fn now(&self) -> f64 {
        self.clock.wall()
    }
}

enum Outcome {
    Done { totals: Totals, unresolved: u64, summary: Option<Box<Summary>> },
    Failed(MigrateError),
}

/// The `run.json` of step `j`, importing `source` (its file, or the resolved copy);
/// `left_out` lists the rows whose references name no single item.
pub fn step_spec(
    migration: &Migration,
    settings: &Settings,
    j: usize,
    source: &Path,
    left_out: Vec<elma_import_runner::spec::LeftOut>,
) -> Result<RunSpec, MigrateError> {
    let step = &migration.steps[j];
    let label = step.label(j);
    let resolved = source != step.file;
    let sha = if step.file.is_file() {
        Some(
            elma_import_runner::chunkfile::sha256_file(&step.file)
                .map_err(|e| MigrateError::io(format!("cannot read `{}`", step.file.display()), e))?,
        )
    } else {
        None
    };
    let s = settings;
    Ok(RunSpec {
        encoding: if resolved { None } else { step.encoding.clone() },
        delimiter: if resolved { Some(',') } else { step.delimiter },
        sheet: if resolved { None } else { step.sheet.clone() },
        locale: migration.locale,
        time_zone: migration.time_zone.clone(),
        skip_invalid: s.skip_invalid,
        with_event_handlers: step.with_event_handlers,
        rows_per_chunk: step.rows_per_chunk,
        chunk_format: s.chunk_format,
        directory_id: s.directory_id.clone(),
        key_column: Some(step.key.clone()),
        import_rows_per_sec: s.import_rows_per_sec,
        temp_ttl_secs: s.temp_ttl_secs,
        pause_secs: s.pause_secs,
        pause_mode: s.pause_mode,
        url: s.url.clone(),
        profile: s.profile.clone(),
        source_sha256: sha,
        left_out,
        ..RunSpec::new(format!("{:02}-{}", j + 1, step.app), source, step.app.clone())
            .map_err(|e| MigrateError::run(label, e))?
    })
}

/// Checks every setting each step's run will check, before anything is sent, so that a
/// migration never stops half-way on a setting: `--dry-run`, `plan` and [`execute`] call it.
///
/// # Errors
/// The first setting a step's run would refuse, naming the step.
pub fn check_settings(
    migration: &Migration,
    settings: &Settings,
    schemas: &BTreeMap<String, AppSchema>,
    exec: &ExecOptions,
) -> Result<(), MigrateError> {
    for (j, step) in migration.steps.iter().enumerate() {
        let label = step.label(j);
        let schema = schemas.get(&step.app).ok_or_else(|| MigrateError::Step {
            step: label.clone(),
            message: format!("no schema of {}", step.app),
        })?;
        let spec = step_spec(migration, settings, j, &step.file, Vec::new())?;
        let run =
            RunSettings::resolve(&spec, exec, schema).map_err(|e| MigrateError::run(label.clone(), e))?;
        elma_import_chunk::plan(&elma_import_chunk::PlanInput {
            rows: 1,
            bytes: 0,
            with_event_handlers: run.with_event_handlers,
            rows_per_chunk: spec.rows_per_chunk,
            allow_over_limit: spec.allow_over_limit,
            import_rows_per_sec: spec.import_rows_per_sec,
            pause: spec.pause_secs.map(std::time::Duration::from_secs_f64),
            temp_ttl: run.temp_ttl,
        })
        .map_err(|e| MigrateError::run(label, e.into()))?;
    }
    Ok(())
}

/// Executes (or continues) the migration in `dir`, created by [`create`]: each step
/// starts when the steps it waits for are done, at most `options.parallel` at once.
/// A step whose run fails stops the steps that wait for it; the others go on.
///
/// # Errors
/// The directory or its journal cannot be read; a cycle; a setting a step would refuse.
pub async fn execute(
    dir: &Path,
    client: &Client,
    options: &MigrateOptions,
    observer: Arc<dyn MigrationObserver>,
    cancel: &Cancel,
) -> Result<Report, MigrateError> {
    execute_with_clock(dir, client, elma_import_client::TokioClock, options, observer, cancel).await
}

/// [`execute`] on a given clock (the simulation's); every step's run uses it too.
///
/// # Errors
/// As [`execute`].
pub async fn execute_with_clock<C: Clock + Clone + 'static>(
    dir: &Path,
    client: &Client,
    clock: C,
    options: &MigrateOptions,
    observer: Arc<dyn MigrationObserver>,
    cancel: &Cancel,
) -> Result<Report, MigrateError> {
    let t0 = clock.now();
    let (saved, schemas) = load(dir)?;
    // One process holds a migration directory at a time (each step's run directory has
    // its own lock too).
    let _lock = elma_import_runner::journal::DirLock::acquire(dir)?;
    let migration = saved.migration;
    let graph = Graph::of(&migration)?;
    let bound = bind(&migration, &schemas)?;
    check_settings(&migration, &saved.settings, &schemas, &options.exec)?;
    let opened = Journal::open(&dir.join("migration.jsonl"))?;
    let state = State::replay(migration.steps.len(), &opened.events);
    let n = migration.steps.len();
    let shared = Arc::new(Shared {
        clock: clock.clone(),
        dir: dir.to_path_buf(),
        migration,
        settings: saved.settings,
        schemas,
        bound,
        journal: Mutex::new(opened.journal),
        client: client.clone(),
        exec: options.exec.clone(),
        assume: options.assume.clone(),
        observer: observer.clone(),
        cancel: cancel.clone(),
    });
    let mut outcomes: Vec<Option<Outcome>> = (0..n).map(|_| None).collect();
    let mut skipped: Vec<Option<usize>> = vec![None; n];
    for (i, s) in state.steps.iter().enumerate() {
        if let Some((totals, unresolved, _)) = s.finished {
            observer.step(i, &StepEvent::AlreadyDone);
            outcomes[i] = Some(Outcome::Done { totals, unresolved, summary: None });
        }
    }
    // Each step runs as a task of its own, so one step's CPU-bound preparation (reading
    // and checking its file) runs on another core than the others' polls. The tasks
    // belong to this execution: when it ends (or is dropped), they end with it.
    let mut running: tokio::task::JoinSet<(usize, Outcome)> = tokio::task::JoinSet::new();
    let mut launched = vec![false; n];
    let mut told_waiting = vec![false; n];
    let parallel = options.parallel.max(1);
    loop {
        for &j in &graph.order {
            if launched[j] || outcomes[j].is_some() || skipped[j].is_some() {
                continue;
            }
            let deps = &graph.deps[j];
            if let Some(&bad) = deps
                .iter()
                .find(|&&i| skipped[i].is_some() || matches!(outcomes[i], Some(Outcome::Failed(_))))
            {
                skipped[j] = Some(bad);
                observer.step(j, &StepEvent::Skipped { because: bad });
                continue;
            }
            let waiting: Vec<usize> = deps
                .iter()
                .copied()
                .filter(|&i| !matches!(outcomes[i], Some(Outcome::Done { .. })))
                .collect();
            if !waiting.is_empty() {
                if !told_waiting[j] {
                    told_waiting[j] = true;
                    observer.step(j, &StepEvent::Waiting { on: &waiting });
                }
                continue;
            }
            if running.len() >= parallel || cancel.is_cancelled() {
                continue;
            }
            launched[j] = true;
            running.spawn(step_outcome(shared.clone(), j, state.steps[j].clone()));
        }
        match running.join_next().await {
            Some(Ok((j, outcome))) => outcomes[j] = Some(outcome),
            Some(Err(e)) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Some(Err(e)) => {
                return Err(MigrateError::Directory(format!("a step's task ended abnormally: {e}")))
            }
            None => break,
        }
    }
    let wall = clock.now().saturating_duration_since(t0).as_secs_f64();
    let report = build_report(&shared, &graph, outcomes, &skipped, wall);
    write_json(&dir.join("summary.json"), &report)?;
    Ok(report)
}

async fn step_outcome<C: Clock>(
    shared: Arc<Shared<C>>,
    j: usize,
    state: crate::journal::StepState,
) -> (usize, Outcome) {
    let outcome = match run_step(&shared, j, state).await {
        Ok((summary, unresolved)) => {
            let totals = Totals::of(&summary);
            match shared.log(&Event::StepFinished { step: j, totals, unresolved, at: shared.now() }) {
                Ok(()) => {
                    shared.observer.step(j, &StepEvent::Done { summary: &summary });
                    Outcome::Done { totals, unresolved, summary: Some(Box::new(summary)) }
                }
                Err(e) => Outcome::Failed(e),
            }
        }
        Err(e) => {
            // Best effort: the failure is reported either way, and a resume runs the step again.
            let _ = shared.log(&Event::StepFailed { step: j, error: e.to_string(), at: shared.now() });
            shared.observer.step(j, &StepEvent::Failed { error: &e });
            Outcome::Failed(e)
        }
    };
    (j, outcome)
}

async fn run_step<C: Clock>(
    shared: &Shared<C>,
    j: usize,
    state: crate::journal::StepState,
) -> Result<(Summary, u64), MigrateError> {
    let m = &shared.migration;
    let step = &m.steps[j];
    let label = step.label(j);
    if state.started.is_none() {
        shared.log(&Event::StepStarted { step: j, at: shared.now() })?;
    }
    let run_dir = step_dir(&shared.dir, m, j);
    let bound = &shared.bound[j];
    let mut unresolved = 0;
    if !run_dir.join("run.json").exists() {
        std::fs::create_dir_all(&run_dir)
            .map_err(|e| MigrateError::io(format!("cannot create `{}`", run_dir.display()), e))?;
        let (source, left_out) = if bound.refs.is_empty() {
            (step.file.clone(), Vec::new())
        } else {
            let needed = blocking(|| needed_keys(step, bound))?;
            let mut maps = Vec::new();
            let mut indexes: BTreeMap<(String, String), IdIndex> = BTreeMap::new();
            for (r, keys) in bound.refs.iter().zip(&needed) {
                if let Some(map) = state.ids.get(&r.column) {
                    maps.push(map.clone());
                    continue;
                }
                shared.observer.step(j, &StepEvent::Resolving { column: &r.column, app: &r.app });
                let slot = (r.app.clone(), r.by.code.clone());
                let (index, how) = match indexes.get(&slot) {
                    Some(index) => (index.clone(), "the scan made for another column".to_string()),
                    None => {
                        let app: AppRef = r.app.parse().map_err(|e| MigrateError::Step {
                            step: label.clone(),
                            message: format!("{e}"),
                        })?;
                        let listing = |error| {
                            MigrateError::client(format!("{label}: listing the items of {}", r.app), error)
                        };
                        let count = count_items(&shared.client, &app).await.map_err(listing)?;
                        let (lookup, why) = choose_lookup(&r.by, keys.len(), count);
                        if lookup {
                            let items =
                                lookup_items(&shared.client, &app, &r.by, keys).await.map_err(listing)?;
                            (IdIndex::new(&r.by, &items), why)
                        } else {
                            let (items, _) = scan_items(&shared.client, &app).await.map_err(listing)?;
                            let index = IdIndex::new(&r.by, &items);
                            indexes.insert(slot, index.clone());
                            (index, why)
                        }
                    }
                };
                let map = IdMap::build(&r.column, &r.app, &r.by, keys, &index, how);
                shared.log(&Event::Ids { step: j, map: map.clone(), at: shared.now() })?;
                shared.observer.step(j, &StepEvent::Resolved { map: &map });
                maps.push(map);
            }
            let resolved = blocking(|| write_resolved(step, bound, &maps, &run_dir))?;
            unresolved = resolved.unresolved.len() as u64;
            shared
                .observer
                .step(j, &StepEvent::Written { cells: resolved.cells, unresolved, path: &resolved.path });
            let left_out = resolved
                .unresolved
                .iter()
                .map(|u| elma_import_runner::spec::LeftOut {
                    row: u.row,
                    column: u.column.clone(),
                    value: u.value.clone(),
                    reason: u.reason.clone(),
                })
                .collect();
            (resolved.path, left_out)
        };
        let spec = step_spec(m, &shared.settings, j, &source, left_out)?;
        let schema = shared.schemas.get(&step.app).cloned().unwrap_or_else(|| bound.schema.clone());
        spec.create(&run_dir, &schema).map_err(|e| MigrateError::run(label.clone(), e))?;
        shared.log(&Event::RunCreated { step: j, run_dir: run_dir.clone(), at: shared.now() })?;
    } else {
        unresolved = count_unresolved(&run_dir);
        if state.run_dir.is_none() {
            shared.log(&Event::RunCreated { step: j, run_dir: run_dir.clone(), at: shared.now() })?;
        }
    }
    shared.observer.step(j, &StepEvent::Running { run_dir: &run_dir });
    if let Some(summary) =
        elma_import_runner::finished(&run_dir).map_err(|e| MigrateError::run(label.clone(), e))?
    {
        return Ok((summary, unresolved));
    }
    let observer = StepObserver { step: j, inner: shared.observer.clone() };
    let mut exec = shared.exec.clone();
    exec.assume = shared.assume.iter().filter(|a| a.0 == j).map(|a| (a.1, a.2)).collect();
    let summary = elma_import_runner::execute_with_clock(
        &run_dir,
        &shared.client,
        &shared.clock,
        &exec,
        &observer,
        &shared.cancel,
    )
    .await
    .map_err(|e| MigrateError::run(label, e))?;
    Ok((summary, unresolved))
}

fn count_unresolved(run_dir: &Path) -> u64 {
    std::fs::read_to_string(run_dir.join("unresolved.csv"))
        .map_or(0, |t| csv::Reader::from_reader(t.as_bytes()).records().count() as u64)
}

/// What step `j`'s run holds so far, from its journal (a step that did not finish).
fn so_far(dir: &Path) -> Totals {
    match elma_import_runner::run::state_of(dir) {
        Ok(state) => {
            let s = elma_import_runner::report::so_far(&state);
            Totals {
                rows_read: s.rows,
                rows_invalid: s.invalid,
                imported: s.imported,
                failed: s.failed,
                not_imported: s.not_imported,
            }
        }
        Err(_) => Totals::default(),
    }
}

fn build_report<C: Clock>(
    shared: &Shared<C>,
    graph: &Graph,
    outcomes: Vec<Option<Outcome>>,
    skipped: &[Option<usize>],
    wall_secs: f64,
) -> Report {
    let m = &shared.migration;
    let mut steps = Vec::new();
    let mut stop: Option<StopKind> = None;
    let mut all_done = true;
    // Start and end times of this execution's steps are in the journal: read it again.
    let now = match Journal::read(&shared.dir.join("migration.jsonl")) {
        Ok(events) => State::replay(m.steps.len(), &events),
        Err(_) => State::replay(m.steps.len(), &[]),
    };
    for (j, outcome) in outcomes.into_iter().enumerate() {
        let step = &m.steps[j];
        let mut r = StepReport {
            step: j + 1,
            app: step.app.clone(),
            file: step.file.clone(),
            status: "not_started".into(),
            waited_for: graph.deps[j].iter().map(|i| i + 1).collect(),
            run_dir: None,
            totals: Totals::default(),
            unresolved: 0,
            summary: None,
            error: None,
            failure: None,
            stop: None,
            started_at: now.steps[j].started,
            finished_at: now.steps[j].finished.map(|f| f.2),
        };
        let dir = step_dir(&shared.dir, m, j);
        if dir.join("run.json").exists() {
            r.totals = so_far(&dir);
            r.run_dir = Some(dir);
        }
        match outcome {
            Some(Outcome::Done { totals, unresolved, summary }) => {
                r.status = "done".into();
                r.totals = totals;
                r.unresolved = unresolved;
                r.summary = summary.map(|s| *s);
                if !totals.all_imported() {
                    r.stop = Some(StopKind::Data);
                    stop = stop.or(Some(StopKind::Data));
                }
            }
            Some(Outcome::Failed(e)) => {
                all_done = false;
                r.status = "failed".into();
                let kind = e.kind();
                r.stop = Some(kind);
                r.error = Some(e.to_string());
                r.failure = Some(Arc::new(e));
                // The first failure's kind wins over rejected rows; an interruption over all.
                if matches!(stop, None | Some(StopKind::Data)) || kind == StopKind::Interrupted {
                    stop = Some(kind);
                }
            }
            None => {
                all_done = false;
                if let Some(b) = skipped[j] {
                    r.status = "skipped".into();
                    r.error = Some(format!("waits for step {}, which did not finish", b + 1));
                    stop = stop.or(Some(StopKind::Data));
                } else if shared.cancel.is_cancelled() {
                    stop = Some(StopKind::Interrupted);
                }
            }
        }
        steps.push(r);
    }
    let sum = |f: fn(&Totals) -> u64| steps.iter().map(|s| f(&s.totals)).sum::<u64>();
    Report {
        dir: shared.dir.clone(),
        status: if all_done { "completed".into() } else { "incomplete".into() },
        rows_read: sum(|t| t.rows_read),
        rows_invalid: sum(|t| t.rows_invalid),
        imported: sum(|t| t.imported),
        failed: sum(|t| t.failed),
        not_imported: sum(|t| t.not_imported),
        unresolved: steps.iter().map(|s| s.unresolved).sum(),
        steps,
        wall_secs,
        stop,
    }
}
