//! `elma-import run`: validate → plan → chunk → upload → import → poll → report.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use clap::Args;
use elma_import_client::{Client, PollPolicy};
use elma_import_runner::{
    execute, Cancel, ExecOptions, Observer, Progress, RunError, RunPolicy, RunSpec, Summary,
};
use indicatif::ProgressBar;
use serde_json::json;

use crate::args::{CheckArgs, ConnArgs, Global, SchemaSource, SourceArgs};
use crate::commands::plan::{show_plan, ImportArgs};
use crate::exit::{self, usage};
use crate::settings::{load_schema, runtime, Connection};
use crate::ui;

/// Arguments of `run`.
#[derive(Debug, Args)]
#[command(after_help = "The run lives in --run-dir (default .elma-import/runs/<id>): run.json, \
schema.json, journal.jsonl (every step, fsynced), lock (one process at a time), chunks/, \
errors.csv (every row not imported, by source row: row,column,header,value,rule,message,fix,source), \
rejects.csv (those rows in full), summary.json. Counts that do not add up are checked row by row \
among the app's items (by --key-column, else by each row's whole content); rows that did not land \
are imported once more. After a crash, Ctrl-C, a network failure, a stall or a long block, \
`elma-import resume RUN_DIR` continues without importing any row twice.

Examples:
  elma-import run contacts.csv --app crm.contacts --with-event-handlers --url URL --token TOKEN
  elma-import run big.xlsx --schema S.json --directory 5a1b… --skip-invalid --json
  elma-import run contacts.csv --app crm.contacts --key-column Email --run-dir runs/nightly
  elma-import run orders.csv --app logistics.orders --time-zone Europe/Moscow --trace trace.jsonl")]
pub struct RunArgs {
    /// The input.
    #[command(flatten)]
    pub source: SourceArgs,
    /// The app (`--app` names the app to import into; with --schema the schema's app).
    #[command(flatten)]
    pub schema: SchemaSource,
    /// Validation settings.
    #[command(flatten)]
    pub check: CheckArgs,
    /// Import settings.
    #[command(flatten)]
    pub import: ImportArgs,
    /// Import the valid rows and list the invalid ones in errors.csv (default: stop before sending anything).
    #[arg(long)]
    pub skip_invalid: bool,
    /// Format of the chunk files sent.
    #[arg(long, default_value = "xlsx", value_parser = ["xlsx", "csv"])]
    pub chunk_format: String,
    /// Run directory (default .elma-import/runs/<id>).
    #[arg(long, value_name = "DIR")]
    pub run_dir: Option<PathBuf>,
    /// Directory id for directory uploads (big imports without handlers).
    #[arg(long, value_name = "ID")]
    pub directory: Option<String>,
    /// Column (name or code) whose values identify items: lets a chunk whose start answer was
    /// lost be settled by looking at the app's items.
    #[arg(long, value_name = "COLUMN")]
    pub key_column: Option<String>,
    /// Execution settings.
    #[command(flatten)]
    pub exec: ExecArgs,
    /// Connection.
    #[command(flatten)]
    pub conn: ConnArgs,
}

/// Settings that may change between `run` and `resume`.
#[derive(Debug, Clone, Args)]
pub struct ExecArgs {
    /// Give up (exit 4, resumable) when the app stays blocked by another import this long.
    #[arg(long, default_value = "30m", value_parser = humantime::parse_duration, value_name = "DUR")]
    pub blocked_timeout: Duration,
    /// Lifetime of the platform's temporary files.
    #[arg(long, default_value = "60m", value_parser = humantime::parse_duration, value_name = "DUR")]
    pub temp_ttl: Duration,
    /// Longest wait between two status polls (the shortest is always 1 s).
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration, value_name = "DUR")]
    pub max_poll_interval: Duration,
    /// End the wait for an import whose counts have not moved this long (exit 3, resumable).
    #[arg(long, default_value = "30m", value_parser = humantime::parse_duration, value_name = "DUR")]
    pub stall_timeout: Duration,
    /// Print a line per step even on a terminal.
    #[arg(long, short)]
    pub verbose: bool,
}

impl ExecArgs {
    /// Execution options.
    pub fn options(&self, pause: Option<Duration>, assume: Vec<(u32, bool)>) -> ExecOptions {
        ExecOptions {
            pause,
            policy: RunPolicy {
                blocked_timeout: self.blocked_timeout,
                stall_timeout: self.stall_timeout,
                ..RunPolicy::default()
            },
            poll: PollPolicy { max_interval: self.max_poll_interval, ..PollPolicy::default() },
            assume,
            temp_ttl: Some(self.temp_ttl),
            ..ExecOptions::default()
        }
    }
}

/// Draws a run: a bar over rows, a line per step in logs (or with --verbose).
pub struct CliObserver {
    bar: Mutex<Option<ProgressBar>>,
    lines: bool,
    done_rows: Mutex<u64>,
    started: Instant,
}

impl CliObserver {
    /// An observer; `lines` prints a line per step.
    pub fn new(verbose: bool) -> CliObserver {
        use std::io::IsTerminal;
        CliObserver {
            bar: Mutex::new(None),
            lines: !ui::quiet() && (verbose || !std::io::stderr().is_terminal()),
            done_rows: Mutex::new(0),
            started: Instant::now(),
        }
    }

    fn line(&self, text: String) {
        if ui::quiet() {
            return;
        }
        let stamp = format!("[{:>7}]", ui::duration(self.started.elapsed()));
        match self.bar.lock().ok().and_then(|b| b.clone()) {
            Some(bar) if !bar.is_hidden() => bar.println(format!("{stamp} {text}")),
            _ => eprintln!("{stamp} {text}"),
        }
    }

    fn step(&self, text: String) {
        if self.lines {
            self.line(text);
        }
    }

    fn set_bar(&self, f: impl FnOnce(&ProgressBar)) {
        if let Some(bar) = self.bar.lock().ok().and_then(|b| b.clone()) {
            f(&bar);
        }
    }

    /// Clears the bar.
    pub fn finish(&self) {
        self.set_bar(|b| b.finish_and_clear());
    }
}

impl Observer for CliObserver {
    fn on(&self, p: &Progress<'_>) {
        match p {
            Progress::Preparing { .. } | Progress::Chunking { .. } => {}
            Progress::Planned { rows, valid, invalid, plan, already_imported } => {
                self.line(format!(
                    "validated: {} rows, {} valid, {} invalid{}",
                    ui::count(*rows),
                    ui::count(*valid),
                    ui::count(*invalid),
                    if *invalid > 0 { " (left out; listed in errors.csv)" } else { "" }
                ));
                show_plan(plan, *valid);
                let bar = ui::bar(*valid, "importing", false);
                bar.set_position(*already_imported);
                if let Ok(mut d) = self.done_rows.lock() {
                    *d = *already_imported;
                }
                if let Ok(mut b) = self.bar.lock() {
                    *b = Some(bar);
                }
            }
            Progress::Uploading { chunk, rows } => {
                self.step(format!("chunk {}: uploading {} rows", chunk + 1, ui::count(*rows)));
                self.set_bar(|b| b.set_message(format!("chunk {} upload", chunk + 1)));
            }
            Progress::Started { chunk, import_id } => {
                self.step(format!("chunk {}: import {import_id} started", chunk + 1));
                self.set_bar(|b| b.set_message(format!("chunk {} import", chunk + 1)));
            }
            Progress::Blocked { chunk, waited } => {
                self.line(format!(
                    "chunk {}: the app is blocked by another import (waiting {}); trying again",
                    chunk + 1,
                    ui::duration(*waited)
                ));
                self.set_bar(|b| b.set_message(format!("blocked {}", ui::duration(*waited))));
            }
            Progress::Importing { result, .. } => {
                let done = self.done_rows.lock().map(|d| *d).unwrap_or(0);
                self.set_bar(|b| b.set_position(done + result.processed));
            }
            Progress::ChunkFinished { chunk, result, rows } => {
                let done = {
                    let mut d = match self.done_rows.lock() {
                        Ok(d) => d,
                        Err(p) => p.into_inner(),
                    };
                    *d += rows;
                    *d
                };
                self.set_bar(|b| b.set_position(done));
                self.step(format!(
                    "chunk {}: the platform answered {}: {} imported, {} failed of {} sent",
                    chunk + 1,
                    result.status,
                    ui::count(result.imported),
                    ui::count(result.failed),
                    ui::count(*rows)
                ));
            }
            Progress::Pausing { pause, .. } => {
                self.step(format!("pausing {} so the event handlers drain", ui::duration(*pause)));
                self.set_bar(|b| b.set_message("pause"));
            }
            Progress::Message(m) => self.line(m.clone()),
            Progress::Completed { .. } => self.finish(),
        }
    }
}

/// Prints a summary; returns the exit code.
pub fn report(summary: &Summary, global: &Global) -> anyhow::Result<u8> {
    if global.json {
        ui::print_json(summary)?;
    } else {
        let s = summary;
        ui::out(format!(
            "{}: {} rows read, {} invalid, {} sent in {} chunk(s): {} imported, {} failed",
            s.app,
            ui::count(s.rows_read),
            ui::count(s.rows_invalid),
            ui::count(s.rows_sent),
            s.chunks,
            ui::count(s.imported),
            ui::count(s.failed)
        ))?;
        if s.not_imported > 0 {
            ui::out(format!(
                "  {} row(s) sent could not be confirmed in the app (rule not_imported in errors.csv)",
                ui::count(s.not_imported)
            ))?;
        }
        ui::out(format!(
            "  {} requests, {} retries, {} blocked answers, blocked {}, paused {}, wall {}",
            s.requests,
            s.retries,
            s.blocked_answers,
            ui::duration(Duration::from_secs_f64(s.blocked_secs)),
            ui::duration(Duration::from_secs_f64(s.paused_secs)),
            ui::duration(Duration::from_secs_f64(s.wall_secs))
        ))?;
        if !s.all_imported() {
            ui::out(format!("  rows not imported, by source row: {}", s.errors_file.display()))?;
            ui::out(format!("  those rows in full: {}", s.rejects_file.display()))?;
        }
        ui::out(format!("  run directory: {}", s.run_dir.display()))?;
    }
    Ok(if summary.all_imported() { exit::OK } else { exit::DATA })
}

/// Executes a prepared run directory with Ctrl-C handling; renders the outcome.
pub fn execute_dir(
    rt: &tokio::runtime::Runtime,
    dir: &Path,
    client: &Client,
    options: &ExecOptions,
    verbose: bool,
    global: &Global,
) -> anyhow::Result<u8> {
    let observer = CliObserver::new(verbose);
    let cancel = Cancel::new();
    let outcome = rt.block_on(async {
        let c = cancel.clone();
        let journal = dir.join("journal.jsonl");
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                eprintln!("\nstopping (Ctrl-C again to quit at once)…");
                c.cancel();
                if tokio::signal::ctrl_c().await.is_ok() {
                    elma_import_runner::run::journal_interruption(&journal);
                    std::process::exit(exit::INTERRUPTED.into());
                }
            }
        });
        execute(dir, client, options, &observer, &cancel).await
    });
    observer.finish();
    match outcome {
        Ok(summary) => report(&summary, global),
        Err(e) => {
            if global.json {
                let code = exit::run_code(e.kind());
                ui::print_json(&json!({"run_dir": dir, "error": e.to_string(), "exit_code": code}))?;
            }
            Err(anyhow::Error::new(e))
        }
    }
}

/// Runs `run`.
pub fn run(args: RunArgs, global: &Global) -> anyhow::Result<u8> {
    let conn = Connection::resolve(&args.conn)?;
    let client = conn.client()?;
    let rt = runtime()?;
    let schema = rt.block_on(load_schema(&args.schema, &args.conn))?;
    let app = args.schema.app.clone().unwrap_or_else(|| schema.id());
    crate::settings::app_ref(&app)?;
    let run_id = format!(
        "{}-{}",
        chrono::Utc::now().format("%Y%m%d-%H%M%S"),
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    );
    let dir =
        args.run_dir.clone().unwrap_or_else(|| PathBuf::from(".elma-import").join("runs").join(&run_id));
    let spec = RunSpec {
        encoding: args.source.encoding.clone(),
        delimiter: args.source.delimiter.map(char::from),
        sheet: args.source.sheet.clone(),
        locale: args.check.locale.clone(),
        ignore_unknown: args.check.ignore_unknown,
        skip_invalid: args.skip_invalid,
        with_event_handlers: args.import.with_event_handlers,
        rows_per_chunk: args.import.rows_per_chunk,
        allow_over_limit: args.import.allow_over_limit,
        chunk_format: args.chunk_format.clone(),
        directory_id: args.directory.clone().or(conn.directory.clone()),
        key_column: args.key_column.clone(),
        import_rows_per_sec: args.import.import_rate,
        temp_ttl_secs: args.exec.temp_ttl.as_secs().max(1),
        pause_secs: args.import.pause.map(|d| d.as_secs_f64()),
        time_zone: Some(args.check.time_zone.pinned().to_string()),
        ..RunSpec::new(run_id, &args.source.file, app).map_err(|e| exit::coded(exit::USAGE, e))?
    };
    if let Some(key) = &spec.key_column {
        if schema.field_for_header(key).is_none() {
            return Err(usage(format!("--key-column `{key}` names no field of {}", schema.id())));
        }
    }
    spec.create(&dir, &schema).map_err(|e: RunError| exit::coded(exit::run_code(e.kind()), e))?;
    ui::say(format!("run directory {}", dir.display()));
    ui::say(format!("date-times are read in time zone {}", args.check.time_zone.describe()));
    execute_dir(
        &rt,
        &dir,
        &client,
        &args.exec.options(args.import.pause, Vec::new()),
        args.exec.verbose,
        global,
    )
}
