//! `elma-import migrate`: several files into several apps, in dependency order, with
//! reference columns resolved by key; `resume DIR` of a migration directory comes here
//! too (the shared parts are in `crate::migration`).

use std::path::{Path, PathBuf};

use clap::Args;
use elma_import_migrate::{MigrateOptions, Migration, Settings};
use serde_json::json;

use crate::exit::{self, usage};
use crate::migration::{
    execute_dir, finished, preflight, preflight_json, render_saved, show_checks, show_plan,
};
use crate::opts::{ConnArgs, ExecArgs, Global};
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
    /// Format of the chunk files sent: `xlsx` or `csv`.
    #[arg(long, default_value = "xlsx", value_parser = crate::opts::file_format_parser())]
    pub chunk_format: elma_import_contract::wire::FileFormat,
    /// Assumed import speed of the platform, rows per second, for estimates.
    #[arg(long, default_value_t = 200.0, value_name = "R")]
    pub import_rate: f64,
    /// Directory id for directory uploads (big imports without handlers).
    #[arg(long, value_name = "ID")]
    pub directory: Option<String>,
    /// Pause between imports of a step with event handlers.
    #[command(flatten)]
    pub pause: crate::opts::PauseArgs,
    /// Import a step's file although the import ledger says the same file was imported
    /// into its app already, or items matching its rows are in the app (a second time).
    #[arg(long)]
    pub again: bool,
    /// Execution settings.
    #[command(flatten)]
    pub exec: ExecArgs,
    /// Connection.
    #[command(flatten)]
    pub conn: ConnArgs,
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
        chunk_format: args.chunk_format,
        import_rows_per_sec: args.import_rate,
        directory_id: args.directory.clone().or(conn.as_ref().and_then(|c| c.directory.clone())),
        temp_ttl_secs: args.exec.temp_ttl.as_secs().max(1),
        parallel: usize::from(args.parallel),
        pause_secs: args.pause.fixed().map(|d| d.as_secs_f64()),
        pause_mode: args.pause.mode()?.unwrap_or_default(),
        url: conn.as_ref().filter(|c| c.profile.is_none() || args.conn.url.is_some()).map(|c| c.url.clone()),
        profile: conn.as_ref().and_then(|c| c.profile.clone()),
    };
    let parallel = settings.parallel;
    let p = preflight(&rt, &args.file, args.schema_dir.as_deref(), client.as_ref(), &settings, parallel)?;
    let mut options = MigrateOptions {
        parallel,
        exec: args.exec.options(args.pause.fixed(), Vec::new()),
        assume: Vec::new(),
    };
    options.exec.again = args.again;
    // Every setting each step's run checks, checked before anything is sent.
    elma_import_migrate::check_settings(&p.migration, &settings, &p.schemas, &options.exec)
        .map_err(|e| exit::coded(exit::run_code(e.kind()), e))?;
    let clean = p.checked.is_clean();
    if !global.json {
        show_checks(&p);
        show_plan(&p.plan);
    }
    if args.dry_run || (!clean && !args.skip_invalid) {
        if global.json {
            let mut v = preflight_json(&p);
            let code = if clean { exit::OK } else { exit::DATA };
            v["exit_code"] = json!(code);
            if !clean {
                v["error"] = json!(format!(
                    "{} problem(s) found before sending; nothing was sent",
                    p.checked.problems.len().max(1)
                ));
            }
            ui::print_json(&v)?;
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
    if !args.again {
        guard_against_a_second_import(&p.migration, client.base_url())?;
    }
    let id = format!(
        "{}-{}",
        chrono::Utc::now().format("%Y%m%d-%H%M%S"),
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    );
    let dir = args.run_dir.clone().unwrap_or_else(|| PathBuf::from(crate::runs::MIGRATIONS_ROOT).join(id));
    elma_import_migrate::create(&dir, &p.migration, &settings, &p.schemas)
        .map_err(|e| exit::coded(exit::run_code(e.kind()), e))?;
    ui::say(format!("migration directory {}", dir.display()));
    ui::set_run_dir(&dir);
    execute_dir(&rt, &dir, &client, &options, &args.exec, global)
}

/// Refuses a migration a step of which the import ledger says was imported into its app
/// already (each step checks again before its first start).
fn guard_against_a_second_import(migration: &Migration, url: &str) -> anyhow::Result<()> {
    let Some(ledger) = elma_import_runner::ledger::default_path() else { return Ok(()) };
    for step in &migration.steps {
        let sha = crate::runs::sha256_file(&step.file)?;
        let none = Path::new("");
        if let Some(before) = elma_import_runner::ledger::earlier(&ledger, url, &step.app, &sha, none)
            .map_err(|e| exit::coded(exit::run_code(e.kind()), e))?
        {
            let entry = elma_import_runner::ledger::Entry {
                at: 0.0,
                url: url.to_string(),
                app: step.app.clone(),
                sha256: sha,
                source: step.file.clone(),
                run_dir: PathBuf::new(),
                rows: 0,
            };
            let e = elma_import_runner::ledger::already(&entry, &before);
            return Err(exit::coded(exit::run_code(e.kind()), e));
        }
    }
    Ok(())
}

/// `resume DIR` of a migration directory: continues every unfinished step, with the
/// connection the migration kept. A migration that finished says so, offline.
pub fn resume(dir: &Path, args: &crate::commands::resume::ResumeArgs, global: &Global) -> anyhow::Result<u8> {
    ui::set_run_dir(dir);
    let (saved, _) = elma_import_migrate::load(dir).map_err(|e| exit::coded(exit::run_code(e.kind()), e))?;
    if let Some(report) = finished(dir, saved.migration.steps.len()) {
        ui::say(format!("the migration in {} already finished; nothing to do", dir.display()));
        return render_saved(&report, global);
    }
    if args.key_column.is_some() {
        return Err(usage(format!(
            "`{}` is a migration directory: each step looks its rows up by its own `key`",
            dir.display()
        )));
    }
    let whole: Vec<&crate::commands::resume::ChunkRef> =
        args.assume_imported.iter().chain(&args.assume_not_imported).filter(|r| r.step.is_none()).collect();
    if let Some(r) = whole.first() {
        return Err(usage(format!(
            "`{}` is a migration directory: name the step of chunk {}, as `STEP:{}`",
            dir.display(),
            r.chunk,
            r.chunk
        )));
    }
    let (exec, conn) = (&args.exec, &args.conn);
    let mut conn = conn.clone();
    if conn.url.is_none() && conn.profile.is_none() {
        conn.url.clone_from(&saved.settings.url);
        conn.profile.clone_from(&saved.settings.profile);
    }
    let rt = runtime()?;
    let client = Connection::resolve(&conn)?.client()?;
    let mut options = MigrateOptions {
        parallel: saved.settings.parallel,
        exec: exec.options(args.pause.fixed(), Vec::new()),
        assume: Vec::new(),
    };
    for step in 1..=saved.migration.steps.len() {
        options.assume.extend(args.assume(Some(step)).into_iter().map(|(c, yes)| (step - 1, c, yes)));
    }
    options.exec.pause_mode = args.pause.mode_over(saved.settings.pause_mode)?;
    options.exec.directory_id.clone_from(&args.directory);
    options.exec.skip_invalid = args.skip_invalid;
    options.exec.again = args.again;
    execute_dir(&rt, dir, &client, &options, exec, global)
}
