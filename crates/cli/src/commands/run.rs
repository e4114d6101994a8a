//! `elma-import run`: validate → plan → chunk → upload → import → poll → report.

use std::path::{Path, PathBuf};

use clap::Args;
use elma_import_runner::{RunError, RunSpec};

use crate::execute::execute_dir;
use crate::exit;
use crate::opts::ImportArgs;
use crate::opts::{CheckArgs, ConnArgs, ExecArgs, Global, SchemaSource, SourceArgs};
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
    /// Format of the chunk files sent: `xlsx` or `csv`.
    #[arg(long, default_value = "xlsx", value_parser = crate::opts::file_format_parser())]
    pub chunk_format: elma_import_contract::wire::FileFormat,
    /// Run directory (default .elma-import/runs/<id>): new, or an empty folder.
    #[arg(long, value_name = "DIR")]
    pub run_dir: Option<PathBuf>,
    /// Directory id for directory uploads (big imports without handlers).
    #[arg(long, value_name = "ID")]
    pub directory: Option<String>,
    /// Column (name or code) whose values identify items (each row's must be unique and
    /// not empty): rows whose import the platform's answer leaves unclear are looked up by it.
    #[arg(long, value_name = "COLUMN")]
    pub key_column: Option<String>,
    /// Import the file even though the import ledger says the same file (same sha256) was
    /// imported into the same app of the same platform already, or items matching its
    /// rows are in the app (those rows are imported a second time).
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

/// Refuses, before any work, a file the import ledger says was imported into the same app
/// of the same platform by another run, unless `again`; returns the file's sha256. The run
/// checks again when it claims the ledger, before its first start.
fn guard_against_a_second_import(
    source: &Path,
    app: &str,
    url: &str,
    dir: &Path,
    again: bool,
) -> anyhow::Result<String> {
    let sha = crate::runs::sha256_file(source)?;
    let Some(ledger) = elma_import_runner::ledger::default_path().filter(|_| !again) else {
        return Ok(sha);
    };
    if let Some(before) = elma_import_runner::ledger::earlier(&ledger, url, app, &sha, dir)
        .map_err(|e| exit::coded(exit::run_code(e.kind()), e))?
    {
        let entry = elma_import_runner::ledger::Entry {
            at: 0.0,
            url: url.to_string(),
            app: app.to_string(),
            sha256: sha,
            source: source.to_path_buf(),
            run_dir: dir.to_path_buf(),
            rows: 0,
        };
        let e = elma_import_runner::ledger::already(&entry, &before);
        return Err(exit::coded(exit::run_code(e.kind()), e));
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
    let sha = guard_against_a_second_import(&args.source.file, &app, client.base_url(), &dir, args.again)?;
    let spec = RunSpec {
        encoding: args.source.encoding.clone(),
        delimiter: args.source.delimiter.map(char::from),
        sheet: args.source.sheet.clone(),
        locale: args.check.locale,
        ignore_unknown: args.check.ignore_unknown,
        skip_invalid: args.skip_invalid,
        with_event_handlers: args.import.with_event_handlers,
        rows_per_chunk: args.import.rows_per_chunk,
        allow_over_limit: args.import.allow_over_limit,
        chunk_format: args.chunk_format,
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
    let mut options = args.exec.options(args.import.pause.fixed(), Vec::new());
    options.again = args.again;
    // Every setting is checked once, before the run directory is made.
    elma_import_runner::RunSettings::resolve(&spec, &options, &schema)
        .map_err(|e| exit::coded(exit::run_code(e.kind()), e))?;
    refuse_a_folder_of_other_files(&dir)?;
    spec.create(&dir, &schema).map_err(|e: RunError| exit::coded(exit::run_code(e.kind()), e))?;
    if args.exec.progress != crate::ui::progress::Mode::Jsonl {
        ui::say(format!("run directory {}", dir.display()));
        ui::say(format!("date-times are read in time zone {}", args.check.time_zone.describe()));
    }
    ui::set_run_dir(&dir);
    execute_dir(&rt, &dir, &client, &options, &args.exec, global)
}

/// Refuses a run directory that exists and holds files but no run: the run writes
/// `errors.csv`, `rejects.csv`, `report.html`, `chunks/` and more there, over anything of
/// the same name. (A folder holding a run is refused by `RunSpec::create`.)
fn refuse_a_folder_of_other_files(dir: &std::path::Path) -> anyhow::Result<()> {
    if dir.join("run.json").exists() {
        return Ok(());
    }
    let Ok(entries) = std::fs::read_dir(dir) else { return Ok(()) };
    let mut names: Vec<String> =
        entries.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect();
    if names.is_empty() {
        return Ok(());
    }
    names.sort();
    Err(exit::usage(format!(
        "--run-dir `{}` holds files and no run ({}): a run writes errors.csv, rejects.csv, \
         report.html, chunks/ and more into its folder; name a new or empty one",
        dir.display(),
        ui::some_names(&names, 3)
    )))
}
