//! `elma-import migrate`: several files into several apps, in dependency order, with
//! reference columns resolved by key; `plan MIGRATION.toml` and `resume DIR` for a
//! migration directory come here too.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use clap::Args;
use elma_import_client::Client;
use elma_import_migrate::check::{bind, check_files, Checked};
use elma_import_migrate::{
    existing_keys, load_schemas, Graph, MigrateOptions, Migration, MigrationObserver, MigrationPlan, Report,
    Settings, StepEvent,
};
use elma_import_runner::{Cancel, Progress};
use serde_json::json;

use crate::args::{ConnArgs, Global};
use crate::commands::run::ExecArgs;
use crate::exit::{self, usage};
use crate::settings::{runtime, Connection};
use crate::ui;

/// Arguments of `migrate`.
#[derive(Debug, Args)]
#[command(after_help = "The migration file lists steps; paths are relative to it:

  [[step]]
  file = \"companies.csv\"
  app = \"crm.companies\"
  key = \"INN\"                 # unique column: resolves references, settles uncertain chunks

  [[step]]
  file = \"contacts.csv\"
  app = \"crm.contacts\"
  key = \"Email\"
  with_event_handlers = true
  references = { Company = { app = \"crm.companies\", by = \"INN\" } }   # the cell holds a company's INN

A step that references another step's app runs after it; the others run side by side (at most \
--parallel). Every file is checked before anything is sent, including that each reference value \
is a key of the referenced file or of an item already in the app. The migration directory \
(--run-dir, default .elma-import/migrations/<id>) holds migration.jsonl and a run directory per \
step (steps/NN-<app>/, with errors.csv by source row); `elma-import resume DIR` continues it.

Examples:
  elma-import migrate migration.toml --url URL --token TOKEN
  elma-import migrate migration.toml --dry-run --schema-dir templates
  elma-import migrate migration.toml --parallel 2 --skip-invalid --json --run-dir runs/move")]
pub struct MigrateArgs {
    /// The migration file (TOML).
    pub file: PathBuf,
    /// Migration directory (default .elma-import/migrations/<id>).
    #[arg(long, value_name = "DIR")]
    pub run_dir: Option<PathBuf>,
    /// Check every step and print the plan; send nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Steps running at once, at most.
    #[arg(long, default_value_t = 4, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub parallel: u16,
    /// Import the valid rows and list the invalid ones (and those naming unknown keys) in
    /// each step's errors.csv (default: nothing is sent when any step has a problem).
    #[arg(long)]
    pub skip_invalid: bool,
    /// Folder of `<namespace.code>.schema.json` files for apps whose step names no `schema`
    /// (else the fields are fetched from the platform).
    #[arg(long, value_name = "DIR")]
    pub schema_dir: Option<PathBuf>,
    /// Format of the chunk files sent.
    #[arg(long, default_value = "xlsx", value_parser = ["xlsx", "csv"])]
    pub chunk_format: String,
    /// Assumed import speed of the platform, rows per second, for estimates.
    #[arg(long, default_value_t = 200.0, value_name = "R")]
    pub import_rate: f64,
    /// Directory id for directory uploads (big imports without handlers).
    #[arg(long, value_name = "ID")]
    pub directory: Option<String>,
    /// Pause between imports of a step with event handlers (default: the plan's, sized
    /// for the handler queue to drain).
    #[arg(long, value_parser = crate::args::parse_duration, value_name = "DUR")]
    pub pause: Option<Duration>,
    /// Execution settings.
    #[command(flatten)]
    pub exec: ExecArgs,
    /// Connection.
    #[command(flatten)]
    pub conn: ConnArgs,
}

/// What the checks before sending found, with the migration's plan.
pub struct Preflight {
    /// The migration.
    pub migration: Migration,
    /// The schemas.
    pub schemas: std::collections::BTreeMap<String, elma_import_contract::schema::AppSchema>,
    /// The checks.
    pub checked: Checked,
    /// The plan.
    pub plan: MigrationPlan,
    /// Whether the referenced apps' items were looked at.
    pub online: bool,
}

/// Loads, checks and plans a migration; nothing is sent.
pub fn preflight(
    rt: &tokio::runtime::Runtime,
    file: &Path,
    schema_dir: Option<&Path>,
    client: Option<&Client>,
    settings: &Settings,
    parallel: usize,
) -> anyhow::Result<Preflight> {
    let coded = |e: elma_import_migrate::MigrateError| exit::coded(exit::run_code(e.kind()), e);
    let migration = Migration::load(file).map_err(coded)?;
    let graph = Graph::of(&migration).map_err(coded)?;
    let schemas = rt.block_on(load_schemas(&migration, schema_dir, client)).map_err(coded)?;
    let bound = bind(&migration, &schemas).map_err(coded)?;
    ui::say(format!("checking {} file(s) before anything is sent", migration.steps.len()));
    let mut checked = check_files(&migration, &bound).map_err(coded)?;
    let lookups = checked.lookups(&bound);
    let existing = match client {
        Some(c) if !lookups.is_empty() => {
            for (app, field) in &lookups {
                ui::say(format!("looking for reference values among the items of {app} (by {})", field.name));
            }
            Some(rt.block_on(existing_keys(c, &checked, &bound)).map_err(coded)?)
        }
        _ => None,
    };
    checked.settle(&migration, &bound, existing.as_ref());
    let plan = elma_import_migrate::plan(&migration, &graph, &checked, settings, parallel);
    Ok(Preflight { migration, schemas, checked, plan, online: client.is_some() })
}

/// Prints the checks (problems first) for people.
fn show_checks(p: &Preflight) {
    for (j, step) in p.migration.steps.iter().enumerate() {
        let s = &p.checked.files[j].summary;
        ui::say(format!(
            "  step {} {}: {} rows, {} valid, {} invalid",
            j + 1,
            step.app,
            ui::count(s.rows),
            ui::count(s.valid),
            ui::count(s.invalid)
        ));
        for t in s.top(3) {
            ui::say(format!(
                "      {:>5} × {} / {}: {} (first: row {})",
                t.count,
                t.header,
                t.rule.as_str(),
                t.example,
                t.first_row
            ));
        }
    }
    const SHOWN: usize = 50;
    for problem in p.checked.problems.iter().take(SHOWN) {
        ui::warn(problem.to_string());
    }
    if p.checked.problems.len() > SHOWN {
        ui::warn(format!("… and {} more problems", p.checked.problems.len() - SHOWN));
    }
}

/// The plan for people, as lines: the waves, each step, the estimate.
pub fn plan_lines(plan: &MigrationPlan) -> Vec<String> {
    let mut lines = Vec::new();
    lines.push(format!("order ({} at most at once):", plan.parallel));
    for (w, wave) in plan.waves.iter().enumerate() {
        let names: Vec<String> =
            wave.iter().map(|&s| format!("step {s} {}", plan.steps[s - 1].app)).collect();
        let together = if wave.len() > 1 { " side by side" } else { "" };
        lines.push(format!("  wave {}: {}{together}", w + 1, names.join(", ")));
    }
    for s in &plan.steps {
        let waits = if s.waits_for.is_empty() {
            "waits for nothing".to_string()
        } else {
            format!(
                "waits for {}",
                s.waits_for.iter().map(|i| format!("step {i}")).collect::<Vec<_>>().join(", ")
            )
        };
        let how = s.plan.as_ref().map_or_else(
            || "nothing to import".to_string(),
            |p| {
                format!(
                    "{} chunk(s) of up to {} rows, handlers {}, estimate {}",
                    p.chunks,
                    ui::count(p.rows_per_chunk),
                    if p.with_event_handlers { "on" } else { "off" },
                    ui::duration(p.estimate)
                )
            },
        );
        lines.push(format!(
            "  step {} {} ({} rows): {waits}; {how}; from {} to {}",
            s.step,
            s.app,
            ui::count(s.valid_rows),
            ui::duration(Duration::from_secs_f64(s.start_secs)),
            ui::duration(Duration::from_secs_f64(s.end_secs))
        ));
    }
    lines.push(format!(
        "estimate: {} (one after another: {})",
        ui::duration(Duration::from_secs_f64(plan.estimate_secs)),
        ui::duration(Duration::from_secs_f64(plan.sequential_secs))
    ));
    lines
}

/// Prints the plan for people on stderr (as talk, before a migration).
pub fn show_plan(plan: &MigrationPlan) {
    for line in plan_lines(plan) {
        ui::say(line);
    }
}

fn preflight_json(p: &Preflight) -> serde_json::Value {
    let steps: Vec<serde_json::Value> = p
        .migration
        .steps
        .iter()
        .enumerate()
        .map(|(j, s)| {
            let f = &p.checked.files[j].summary;
            json!({"step": j + 1, "app": s.app, "file": s.file, "rows": f.rows, "valid_rows": f.valid,
                   "invalid_rows": f.invalid, "top": f.top(5)})
        })
        .collect();
    json!({"file": p.migration.path, "valid": p.checked.is_clean(),
        "items_checked": p.online, "steps": steps, "problems": p.checked.problems, "plan": p.plan})
}

/// `plan MIGRATION.toml`: the order, what runs side by side, the estimate.
pub fn plan(
    file: &Path,
    schema: Option<&Path>,
    conn: &ConnArgs,
    import_rate: f64,
    global: &Global,
) -> anyhow::Result<u8> {
    let rt = runtime()?;
    let schema_dir = schema.filter(|p| p.is_dir());
    let client = Connection::resolve(conn).ok().map(|c| c.client()).transpose()?;
    let settings = Settings { import_rows_per_sec: import_rate, ..Settings::default() };
    let p = preflight(&rt, file, schema_dir, client.as_ref(), &settings, 4)?;
    let clean = p.checked.problems.is_empty();
    if global.json {
        ui::print_json(&preflight_json(&p))?;
    } else {
        show_checks(&p);
        for line in plan_lines(&p.plan) {
            ui::out(line)?;
        }
    }
    Ok(if clean { exit::OK } else { exit::DATA })
}

/// Runs `migrate`.
pub fn run(args: MigrateArgs, global: &Global) -> anyhow::Result<u8> {
    let rt = runtime()?;
    let conn = match Connection::resolve(&args.conn) {
        Ok(c) => Some(c),
        Err(e) if args.dry_run => {
            ui::say(format!("offline check ({})", exit::message(&e)));
            None
        }
        Err(e) => return Err(e),
    };
    let client = conn.as_ref().map(Connection::client).transpose()?;
    let settings = Settings {
        skip_invalid: args.skip_invalid,
        chunk_format: args.chunk_format.clone(),
        import_rows_per_sec: args.import_rate,
        directory_id: args.directory.clone().or(conn.as_ref().and_then(|c| c.directory.clone())),
        temp_ttl_secs: args.exec.temp_ttl.as_secs().max(1),
        parallel: usize::from(args.parallel),
        pause_secs: args.pause.map(|d| d.as_secs_f64()),
    };
    let parallel = settings.parallel;
    let p = preflight(&rt, &args.file, args.schema_dir.as_deref(), client.as_ref(), &settings, parallel)?;
    let clean = p.checked.is_clean();
    if !global.json {
        show_checks(&p);
        show_plan(&p.plan);
    }
    if args.dry_run || (!clean && !args.skip_invalid) {
        if global.json {
            ui::print_json(&preflight_json(&p))?;
        }
        if !clean {
            if !args.dry_run {
                ui::warn("nothing was sent: fix the files, or pass --skip-invalid to import the rows without problems");
            }
            return Ok(exit::DATA);
        }
        return Ok(exit::OK);
    }
    let Some(client) = client else { return Err(usage("no connection settings")) };
    let id = format!(
        "{}-{}",
        chrono::Utc::now().format("%Y%m%d-%H%M%S"),
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    );
    let dir =
        args.run_dir.clone().unwrap_or_else(|| PathBuf::from(".elma-import").join("migrations").join(id));
    elma_import_migrate::create(&dir, &p.migration, &settings, &p.schemas)
        .map_err(|e| exit::coded(exit::run_code(e.kind()), e))?;
    ui::say(format!("migration directory {}", dir.display()));
    let options = MigrateOptions { parallel, exec: args.exec.options(args.pause, Vec::new()) };
    execute_dir(&rt, &dir, &client, &options, args.exec.verbose, global)
}

/// `resume DIR` of a migration directory: continues every unfinished step. Settings of
/// one run (`--assume-…`, `--key-column`, `--directory`, `--pause`) belong to a step's run
/// directory, not to the migration.
pub fn resume(dir: &Path, args: &crate::commands::resume::ResumeArgs, global: &Global) -> anyhow::Result<u8> {
    let (exec, conn) = (&args.exec, &args.conn);
    let per_run = [
        (!args.assume_imported.is_empty(), "--assume-imported"),
        (!args.assume_not_imported.is_empty(), "--assume-not-imported"),
        (args.key_column.is_some(), "--key-column"),
        (args.directory.is_some(), "--directory"),
        (
            args.pause.pause.is_some() || args.pause.min_pause.is_some() || args.pause.max_pause.is_some(),
            "--pause",
        ),
    ];
    if let Some((_, flag)) = per_run.iter().find(|(given, _)| *given) {
        return Err(usage(format!(
            "`{}` is a migration directory: {flag} is for one step's run; resume that step with `elma-import resume {} {flag} …`, then the migration with `elma-import resume {}`",
            dir.display(),
            dir.join("steps").join("NN-<app>").display(),
            dir.display()
        )));
    }
    let rt = runtime()?;
    let client = Connection::resolve(conn)?.client()?;
    let (saved, _) = elma_import_migrate::load(dir).map_err(|e| exit::coded(exit::run_code(e.kind()), e))?;
    let options = MigrateOptions { parallel: saved.settings.parallel, exec: exec.options(None, Vec::new()) };
    execute_dir(&rt, dir, &client, &options, exec.verbose, global)
}

/// Executes a migration directory with Ctrl-C handling; renders the outcome.
pub fn execute_dir(
    rt: &tokio::runtime::Runtime,
    dir: &Path,
    client: &Client,
    options: &MigrateOptions,
    verbose: bool,
    global: &Global,
) -> anyhow::Result<u8> {
    let observer = Arc::new(Lines::new(dir, verbose));
    let cancel = Cancel::new();
    let outcome = rt.block_on(async {
        let c = cancel.clone();
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                eprintln!("\nstopping every step at its next safe point (Ctrl-C again to quit at once)…");
                c.cancel();
                if tokio::signal::ctrl_c().await.is_ok() {
                    std::process::exit(exit::INTERRUPTED.into());
                }
            }
        });
        elma_import_migrate::execute(dir, client, options, observer.clone(), &cancel).await
    });
    crate::commands::report::after(dir, false);
    match outcome {
        Ok(report) => render(&report, global),
        Err(e) => {
            let code = exit::run_code(e.kind());
            if global.json {
                ui::print_json(&json!({"dir": dir, "error": e.to_string(), "exit_code": code}))?;
            }
            Err(exit::coded(code, e))
        }
    }
}

/// Prints a migration's report; returns its exit code.
pub fn render(report: &Report, global: &Global) -> anyhow::Result<u8> {
    let code = code_of(report);
    if global.json {
        let mut value = serde_json::to_value(report)?;
        value["exit_code"] = json!(code);
        if let Some(steps) = value["steps"].as_array_mut() {
            for (v, s) in steps.iter_mut().zip(&report.steps) {
                v["exit_code"] = json!(s.stop.map_or(exit::OK, exit::run_code));
            }
        }
        ui::print_json(&value)?;
        return Ok(code);
    }
    for s in &report.steps {
        let t = &s.totals;
        let mut line = format!(
            "step {} {}: {} — {} rows, {} invalid, {} imported, {} failed",
            s.step,
            s.app,
            s.status,
            ui::count(t.rows_read),
            ui::count(t.rows_invalid),
            ui::count(t.imported),
            ui::count(t.failed)
        );
        if s.unresolved > 0 {
            line.push_str(&format!(", {} reference cells naming no item", ui::count(s.unresolved)));
        }
        ui::out(line)?;
        if let Some(e) = &s.error {
            ui::out(format!("  {e}"))?;
        }
        if let Some(dir) = &s.run_dir {
            if t.rows_invalid > 0 || t.failed > 0 {
                ui::out(format!("  rejected rows, by source row: {}", dir.join("errors.csv").display()))?;
            }
        }
    }
    ui::out(format!(
        "total: {} rows, {} invalid, {} imported, {} failed; {} in {}",
        ui::count(report.rows_read),
        ui::count(report.rows_invalid),
        ui::count(report.imported),
        ui::count(report.failed),
        report.status,
        ui::duration(Duration::from_secs_f64(report.wall_secs))
    ))?;
    ui::out(format!("migration directory: {}", report.dir.display()))?;
    if report.status != "completed" {
        ui::out(format!("continue it with: elma-import resume {}", report.dir.display()))?;
    }
    Ok(code)
}

/// The exit code of a migration's report (README "Exit codes").
pub fn code_of(report: &Report) -> u8 {
    report.stop.map_or(exit::OK, exit::run_code)
}

/// Draws a migration as lines on stderr: every step's waits, resolutions, chunks and end.
pub struct Lines {
    names: Vec<String>,
    chunks: Mutex<HashMap<usize, u64>>,
    verbose: bool,
    started: Instant,
}

impl Lines {
    /// Lines for the migration in `dir`; `verbose` adds a line per finished chunk.
    pub fn new(dir: &Path, verbose: bool) -> Lines {
        let names = elma_import_migrate::load(dir)
            .map(|(saved, _)| {
                saved
                    .migration
                    .steps
                    .iter()
                    .enumerate()
                    .map(|(i, s)| format!("step {} {}", i + 1, s.app))
                    .collect()
            })
            .unwrap_or_default();
        Lines { names, chunks: Mutex::new(HashMap::new()), verbose, started: Instant::now() }
    }

    fn line(&self, step: usize, text: String) {
        let name = self.names.get(step).cloned().unwrap_or_else(|| format!("step {}", step + 1));
        ui::say(format!("[{:>7}] {name}: {text}", ui::duration(self.started.elapsed())));
    }

    fn of(&self, step: usize) -> u64 {
        self.chunks.lock().map(|c| c.get(&step).copied().unwrap_or(0)).unwrap_or(0)
    }
}

impl MigrationObserver for Lines {
    fn step(&self, step: usize, event: &StepEvent<'_>) {
        let text = match event {
            StepEvent::Waiting { on } => format!(
                "waiting on {}",
                on.iter()
                    .map(|&i| self.names.get(i).cloned().unwrap_or_default())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            StepEvent::AlreadyDone => "done (in an earlier execution)".into(),
            StepEvent::Resolving { column, app } => {
                format!("resolving `{column}` against the items of {app}")
            }
            StepEvent::Resolved { map } => format!(
                "`{}`: {} key(s) → ids, {} naming no item, {} naming several ({})",
                map.column,
                ui::count(map.ids.len() as u64),
                ui::count(map.missing.len() as u64),
                ui::count(map.ambiguous.len() as u64),
                map.how
            ),
            StepEvent::Written { cells, unresolved, path } => format!(
                "resolved copy {} ({} cells → ids{})",
                path.display(),
                ui::count(*cells),
                if *unresolved > 0 {
                    format!(
                        ", {} cells naming no single item: their rows are rejected",
                        ui::count(*unresolved)
                    )
                } else {
                    String::new()
                }
            ),
            StepEvent::Running { run_dir } => format!("running in {}", run_dir.display()),
            StepEvent::Done { summary } => format!(
                "done: {} imported, {} failed, {} invalid",
                ui::count(summary.imported),
                ui::count(summary.failed),
                ui::count(summary.rows_invalid)
            ),
            StepEvent::Failed { error } => format!("stopped: {error}"),
            StepEvent::Skipped { because } => {
                format!(
                    "not started: it waits for {}, which did not finish",
                    self.names.get(*because).cloned().unwrap_or_default()
                )
            }
        };
        self.line(step, text);
    }

    fn run(&self, step: usize, progress: &Progress<'_>) {
        match progress {
            Progress::Planned { valid, invalid, plan, .. } => {
                if let Ok(mut c) = self.chunks.lock() {
                    c.insert(step, plan.chunks);
                }
                self.line(
                    step,
                    format!(
                        "{} valid rows ({} invalid) in {} chunk(s)",
                        ui::count(*valid),
                        ui::count(*invalid),
                        plan.chunks
                    ),
                );
            }
            Progress::Started { chunk, .. } => {
                self.line(step, format!("running chunk {}/{}", chunk + 1, self.of(step)));
            }
            Progress::ChunkFinished { chunk, result, .. } if self.verbose => self.line(
                step,
                format!(
                    "chunk {}/{} {}: {} imported, {} failed",
                    chunk + 1,
                    self.of(step),
                    result.status,
                    ui::count(result.imported),
                    ui::count(result.failed)
                ),
            ),
            Progress::Blocked { chunk, waited } => self.line(
                step,
                format!(
                    "chunk {}: the app is blocked by another import (waiting {})",
                    chunk + 1,
                    ui::duration(*waited)
                ),
            ),
            Progress::Message(m) => self.line(step, m.clone()),
            _ => {}
        }
    }
}
