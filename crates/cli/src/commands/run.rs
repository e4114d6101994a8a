//! `elma-import run`: validate → plan → chunk → upload → import → poll → report.

use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Args;
use elma_import_client::{Client, PollPolicy};
use elma_import_runner::{execute, Cancel, ExecOptions, RunError, RunPolicy, RunSpec, Summary};

use crate::args::{CheckArgs, ConnArgs, Global, SchemaSource, SourceArgs};
use crate::commands::plan::ImportArgs;
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
  elma-import run contacts.csv --app crm.contacts --with-event-handlers \\
      --url URL --token TOKEN
  elma-import run big.xlsx --schema S.json --directory 5a1b… \\
      --skip-invalid --json
  elma-import run contacts.csv --app crm.contacts --key-column Email \\
      --run-dir runs/nightly
  elma-import run orders.csv --app logistics.orders \\
      --time-zone Europe/Moscow --trace trace.jsonl
  elma-import run contacts.csv --app crm.contacts --with-event-handlers \\
      --pause auto --max-pause 5m   # the pause learned from the imports")]
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
    /// Import the file even though an earlier completed run imported the same file
    /// (same sha256) into the same app.
    #[arg(long)]
    pub again: bool,
    /// Import a row equal to the template's example row (by default it is skipped with a warning).
    #[arg(long)]
    pub keep_example_row: bool,
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
    #[arg(long, default_value = "30m", value_parser = crate::args::parse_duration, value_name = "DUR")]
    pub blocked_timeout: Duration,
    /// Lifetime of the platform's temporary files.
    #[arg(long, default_value = "60m", value_parser = crate::args::parse_duration, value_name = "DUR")]
    pub temp_ttl: Duration,
    /// Longest wait between two status polls (the shortest is always 1 s).
    #[arg(long, default_value = "10s", value_parser = crate::args::parse_duration, value_name = "DUR")]
    pub max_poll_interval: Duration,
    /// End the wait for an import whose counts have not moved this long (exit 3, resumable).
    #[arg(long, default_value = "30m", value_parser = crate::args::parse_duration, value_name = "DUR")]
    pub stall_timeout: Duration,
    /// Print a line per step even on a terminal.
    #[arg(long, short)]
    pub verbose: bool,
    /// How progress is shown on stderr: `auto` (a bar on a terminal, a line per event
    /// otherwise), `bar`, `lines`, `jsonl` (one JSON object per event, for programs) or `none`.
    #[arg(long, value_enum, default_value = "auto", value_name = "HOW")]
    pub progress: crate::ui::progress::Mode,
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

/// The observer `run`, `resume` and `demo` draw progress with.
pub use crate::ui::progress::RunObserver as CliObserver;

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
    exec: &ExecArgs,
    global: &Global,
) -> anyhow::Result<u8> {
    let observer = CliObserver::with_mode(exec.progress, exec.verbose, options.policy.blocked_timeout);
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
    crate::commands::report::after(dir, exec.progress == crate::ui::progress::Mode::Jsonl);
    match outcome {
        Ok(summary) => report(&summary, global),
        Err(e) => {
            if matches!(e, RunError::Header { .. }) {
                if let Ok(schema) = RunSpec::load_schema(dir) {
                    ui::say(format!(
                        "the app expects these headers (field code in brackets, * required): {}; \
                         map columns with --map 'HEADER=FIELD' or --map-file map.csv",
                        elma_import_validate::expected_headers(&schema)
                    ));
                }
            }
            Err(anyhow::Error::new(e))
        }
    }
}

/// Refuses a second import of the same file (by sha256) into the same app, naming the
/// earlier completed run, unless `again`; returns the file's sha256.
fn guard_against_a_second_import(
    source: &Path,
    app: &str,
    roots: &[&Path],
    again: bool,
) -> anyhow::Result<String> {
    let sha = crate::runs::sha256_file(source)?;
    if again {
        return Ok(sha);
    }
    for root in roots {
        // An unfinished run that got past preparation can be continued rather than restarted.
        let same_file =
            |r: &crate::runs::RunInfo| r.app == app && r.source_sha256.as_deref() == Some(sha.as_str());
        if let Some(open) = crate::runs::list(root)
            .into_iter()
            .rev()
            .find(|r| !r.completed() && r.rows.is_some() && same_file(r))
        {
            ui::warn(format!(
                "the unfinished run `{}` imports the same file into `{app}`: `elma-import resume {}` continues it \
                 instead of starting over",
                open.id,
                open.dir.display()
            ));
        }
        if let Some(earlier) = crate::runs::completed_import_of(root, app, &sha) {
            return Err(usage(format!(
                "`{}` was already imported into `{app}` by the run `{}` ({}, started {}, {} rows imported; \
                 the file's sha256 {} is the same): pass --again to import it a second time",
                source.display(),
                earlier.id,
                earlier.dir.display(),
                earlier.started,
                earlier.imported.map_or_else(|| "?".into(), ui::count),
                &sha[..12],
            )));
        }
    }
    Ok(sha)
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
    let dir = args.run_dir.clone().unwrap_or_else(|| PathBuf::from(crate::runs::DEFAULT_ROOT).join(&run_id));
    let parent = dir.parent().unwrap_or(Path::new("."));
    let default_root = Path::new(crate::runs::DEFAULT_ROOT);
    let roots: Vec<&Path> = if parent == default_root { vec![parent] } else { vec![parent, default_root] };
    let sha = guard_against_a_second_import(&args.source.file, &app, &roots, args.again)?;
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
        pause_secs: args.import.pause.fixed().map(|d| d.as_secs_f64()),
        pause_mode: args.import.pause.mode()?.unwrap_or_default(),
        time_zone: Some(args.check.time_zone.pinned().to_string()),
        url: if conn.profile.is_some() && args.conn.url.is_none() { None } else { Some(conn.url.clone()) },
        profile: conn.profile.clone(),
        source_sha256: Some(sha),
        keep_example_row: args.keep_example_row,
        column_map: args.check.column_map()?.pairs().to_vec(),
        ..RunSpec::new(run_id, &args.source.file, app).map_err(|e| exit::coded(exit::USAGE, e))?
    };
    if let Some(key) = &spec.key_column {
        if schema.field_for_header(key).is_none() {
            return Err(usage(format!("--key-column `{key}` names no field of {}", schema.id())));
        }
    }
    spec.create(&dir, &schema).map_err(|e: RunError| exit::coded(exit::run_code(e.kind()), e))?;
    if args.exec.progress != crate::ui::progress::Mode::Jsonl {
        ui::say(format!("run directory {}", dir.display()));
        ui::say(format!("date-times are read in time zone {}", args.check.time_zone.describe()));
    }
    ui::set_run_dir(&dir);
    execute_dir(
        &rt,
        &dir,
        &client,
        &args.exec.options(args.import.pause.fixed(), Vec::new()),
        &args.exec,
        global,
    )
}
