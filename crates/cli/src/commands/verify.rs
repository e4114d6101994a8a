//! `elma-import verify`: every source row against the item holding its key, field by
//! field; of a data file, a run directory, a migration directory or a migration file.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Instant;

use clap::Args;
use elma_import_migrate::Migration;
use elma_import_verify::{migration_targets, DiffSink, Target, Verification, Verifier, Watch, Watching};
use indicatif::ProgressBar;
use serde_json::json;

use crate::exit::{self, usage};
use crate::opts::{ConnArgs, Global, MapArgs, SchemaSource};
use crate::settings::{load_schema, runtime, Connection};
use crate::ui;

/// Arguments of `verify`.
#[derive(Debug, Args)]
#[command(after_help = "Reads the source the way the run read it (reading options, column map, \
locale, time zone; the template's example row left out), lists the app's items through the list \
endpoint (pages of 100, with the client's retries) and compares every row with the item holding \
its key, field by field, in the platform's value shapes: money with its currency, phones by \
digits, e-mails without case, date-times as instants, categories by code; in a migration each \
link is mapped back to the parent item's key and compared with the key the cell names.

Verdicts: matched, missing (no item holds the row's key), differs (one diff line per field), \
extra (an item whose key is in no row), ambiguous (a key held by several items or rows), \
invalid (a row that does not pass the checks, so no run imported it). Items a run found holding \
its rows' keys before it imported (its baseline) are the app's own: counted as there before and \
left out. Exit 0 when every row matched its one item, 1 otherwise; extra items are listed and \
fail only with --exact.

Written: verify.json and verify.csv (the diff: row,key,column,source,platform,verdict; a \
migration's adds app) and report.html, into the run or migration directory, or for a data file \
or migration file into --dir (default .elma-import/verify/<id>). Verifying only reads: run it again \
at any time.

Examples:
  elma-import verify .elma-import/runs/20261201-101500-1a2b3c4d
  elma-import verify contacts.csv --app crm.contacts --key-column Email \\
      --time-zone Europe/Moscow --diff diff.csv
  elma-import verify .elma-import/migrations/20261201-110000-5e6f7a8b --json
  elma-import verify migration.toml --schema-dir templates")]
pub struct VerifyArgs {
    /// A data file (.csv, .xlsx), a run directory, a migration directory, or a migration
    /// file (.toml).
    pub target: PathBuf,
    /// Where the app's fields come from (a data file only).
    #[command(flatten)]
    pub schema: SchemaSource,
    /// Column (name or code) whose values identify items; a run's own by default.
    #[arg(long, value_name = "COLUMN")]
    pub key_column: Option<String>,
    /// Date and number formats of a data file: `ru` or `en` (default ru).
    #[arg(long, value_parser = ["ru", "en"])]
    pub locale: Option<String>,
    /// Time zone of a data file's date-time cells (default: this machine's), as for `run`.
    #[arg(long, value_name = "ZONE")]
    pub time_zone: Option<String>,
    /// Column mapping of a data file, as for `run`.
    #[command(flatten)]
    pub map: MapArgs,
    /// Encoding of a .csv data file (detected when left out).
    #[arg(long, value_name = "E")]
    pub encoding: Option<String>,
    /// Delimiter of a .csv data file: `,` `;` `|` or `tab` (detected when left out).
    #[arg(long, value_name = "D")]
    pub delimiter: Option<String>,
    /// Worksheet of an .xlsx data file (default: the first).
    #[arg(long, value_name = "NAME")]
    pub sheet: Option<String>,
    /// Compare the template's example row too (a run imported it with --keep-example-row).
    #[arg(long)]
    pub keep_example_row: bool,
    /// Folder of `<namespace.code>.schema.json` files for a migration file's apps (else the
    /// fields are fetched from the platform).
    #[arg(long, value_name = "DIR")]
    pub schema_dir: Option<PathBuf>,
    /// Also write the diff to FILE (.csv: row,key,column,source,platform,verdict).
    #[arg(long, value_name = "FILE")]
    pub diff: Option<PathBuf>,
    /// The app must hold nothing but the rows: extra items (keys in no row) fail too.
    #[arg(long)]
    pub exact: bool,
    /// Where verify.json, verify.csv and report.html go for a data file or a migration
    /// file (default .elma-import/verify/<id>).
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// Connection.
    #[command(flatten)]
    pub conn: ConnArgs,
}

/// What is verified.
enum Kind {
    Run,
    MigrationDir,
    MigrationFile,
    File,
}

impl Kind {
    fn of(target: &Path) -> Kind {
        if target.join("run.json").is_file() {
            Kind::Run
        } else if elma_import_migrate::is_migration_dir(target) {
            Kind::MigrationDir
        } else if target.extension().is_some_and(|e| e.eq_ignore_ascii_case("toml")) {
            Kind::MigrationFile
        } else {
            Kind::File
        }
    }

    fn name(&self) -> &'static str {
        match self {
            Kind::Run => "run",
            Kind::MigrationDir | Kind::MigrationFile => "migration",
            Kind::File => "file",
        }
    }
}

fn delimiter(text: &str) -> anyhow::Result<u8> {
    match text {
        "tab" | "\\t" | "\t" => Ok(b'\t'),
        "," | ";" | "|" => Ok(text.as_bytes()[0]),
        other => Err(usage(format!("`{other}` is not a delimiter: use `,` `;` `|` or `tab`"))),
    }
}

fn verify_err(e: elma_import_verify::VerifyError) -> anyhow::Error {
    let code = if e.is_setup() {
        exit::USAGE
    } else if e.is_network() || matches!(e, elma_import_verify::VerifyError::Io { .. }) {
        exit::NETWORK
    } else {
        exit::DATA
    };
    exit::coded(code, e)
}

/// Refuses the flags of a data file for a run or a migration, which bring their own.
fn refuse_file_flags(args: &VerifyArgs, what: &str, key_allowed: bool) -> anyhow::Result<()> {
    let given = [
        (args.schema.app.is_some(), "--app"),
        (args.schema.schema.is_some(), "--schema"),
        (args.locale.is_some(), "--locale"),
        (args.time_zone.is_some(), "--time-zone"),
        (!args.map.entries.is_empty() || args.map.map_file.is_some(), "--map"),
        (args.encoding.is_some(), "--encoding"),
        (args.delimiter.is_some(), "--delimiter"),
        (args.sheet.is_some(), "--sheet"),
        (args.keep_example_row, "--keep-example-row"),
        (args.key_column.is_some() && !key_allowed, "--key-column"),
    ];
    match given.iter().find(|(g, _)| *g) {
        Some((_, flag)) => Err(usage(format!(
            "{flag} is for a data file: `{}` is {what}, verified with the settings it was imported with",
            args.target.display()
        ))),
        None => Ok(()),
    }
}

/// A new verify directory under `.elma-import/verify`.
fn default_dir() -> PathBuf {
    let id = format!(
        "{}-{}",
        chrono::Utc::now().format("%Y%m%d-%H%M%S"),
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    );
    PathBuf::from(".elma-import").join("verify").join(id)
}

/// The targets and where the results go.
fn targets(
    args: &VerifyArgs,
    kind: &Kind,
    rt: &tokio::runtime::Runtime,
    client: &elma_import_client::Client,
) -> anyhow::Result<(Vec<Target>, PathBuf)> {
    let target = &args.target;
    Ok(match kind {
        Kind::Run => {
            refuse_file_flags(args, "a run directory", true)?;
            (
                vec![Target::from_run_dir(target, args.key_column.as_deref()).map_err(verify_err)?],
                target.clone(),
            )
        }
        Kind::MigrationDir => {
            refuse_file_flags(args, "a migration directory", false)?;
            let (saved, schemas) =
                elma_import_migrate::load(target).map_err(|e| exit::coded(exit::run_code(e.kind()), e))?;
            (migration_targets(&saved.migration, &schemas, Some(target)).map_err(verify_err)?, target.clone())
        }
        Kind::MigrationFile => {
            refuse_file_flags(args, "a migration file", false)?;
            let coded = |e: elma_import_migrate::MigrateError| exit::coded(exit::run_code(e.kind()), e);
            let migration = Migration::load(target).map_err(coded)?;
            let schemas = rt
                .block_on(elma_import_migrate::load_schemas(
                    &migration,
                    args.schema_dir.as_deref(),
                    Some(client),
                ))
                .map_err(coded)?;
            let dir = args.dir.clone().unwrap_or_else(default_dir);
            (migration_targets(&migration, &schemas, None).map_err(verify_err)?, dir)
        }
        Kind::File => {
            if args.schema.app.is_none() && args.schema.schema.is_none() {
                return Err(usage(format!(
                    "`{}` is a data file: give its app (--app NS.CODE or --schema FILE) and --key-column, or verify the run directory that imported it",
                    target.display()
                )));
            }
            let Some(key) = &args.key_column else {
                return Err(usage("a data file is verified by its key: give --key-column COLUMN"));
            };
            let schema = rt.block_on(load_schema(&args.schema, &args.conn))?;
            let time_zone: elma_import_validate::TimeZone = match &args.time_zone {
                Some(z) => z.parse().map_err(usage)?,
                None => elma_import_validate::TimeZone::Local,
            };
            let options = elma_import_validate::Options {
                locale: args.locale.as_deref().unwrap_or("ru").parse().unwrap_or_default(),
                ignore_unknown: false,
                time_zone: time_zone.pinned(),
            };
            let mut t = Target::new(target, schema, key, options);
            if let Some(app) = &args.schema.app {
                crate::settings::app_ref(app)?;
                t.app.clone_from(app);
            }
            t.read = elma_import_sheet::ReadOptions {
                encoding: args.encoding.clone(),
                delimiter: args.delimiter.as_deref().map(delimiter).transpose()?,
                sheet: args.sheet.clone(),
                ..Default::default()
            };
            t.column_map = args.map.column_map()?.pairs().to_vec();
            t.keep_example_row = args.keep_example_row;
            t.key_field().map_err(verify_err)?;
            (vec![t], args.dir.clone().unwrap_or_else(default_dir))
        }
    })
}

/// Runs `verify`.
pub fn run(args: VerifyArgs, global: &Global) -> anyhow::Result<u8> {
    let kind = Kind::of(&args.target);
    if matches!(kind, Kind::File | Kind::MigrationFile) && !args.target.is_file() {
        return Err(usage(format!(
            "`{}` is no file, run directory or migration directory",
            args.target.display()
        )));
    }
    if let (Kind::File | Kind::MigrationFile, Some(diff)) = (&kind, &args.diff) {
        crate::opts::refuse_input_as_output(&args.target, diff, "--diff")?;
    }
    let conn = match kind {
        Kind::Run => {
            let spec = elma_import_runner::RunSpec::load(&args.target)
                .map_err(|e| exit::coded(exit::run_code(e.kind()), e))?;
            Connection::resolve_for_run(&args.conn, &spec)?
        }
        _ => Connection::resolve(&args.conn)?,
    };
    let client = conn.client()?;
    let rt = runtime()?;
    let (targets, dir) = targets(&args, &kind, &rt, &client)?;
    std::fs::create_dir_all(&dir).map_err(|e| usage(format!("cannot create `{}`: {e}", dir.display())))?;
    let diff_path = dir.join(elma_import_verify::DIFF_FILE);
    let mut sink = DiffSink::create(&diff_path, targets.len() > 1).map_err(verify_err)?;
    let watch = Bars::default();
    let started = Instant::now();
    let before = client.stats().requests;
    let outcomes = rt.block_on(async {
        let mut verifier = Verifier::new(&client, &watch);
        verifier.verify(&targets, &mut sink).await
    });
    watch.finish();
    let outcomes = outcomes.map_err(verify_err)?;
    sink.finish().map_err(verify_err)?;
    if let Some(extra) = &args.diff {
        std::fs::copy(&diff_path, extra).map_err(|e| {
            exit::coded(exit::NETWORK, anyhow::anyhow!("cannot write `{}`: {e}", extra.display()))
        })?;
    }
    let target_path = std::path::absolute(&args.target).unwrap_or_else(|_| args.target.clone());
    let mut v = Verification::new(
        kind.name(),
        &target_path,
        outcomes,
        Some(&diff_path),
        started.elapsed().as_secs_f64(),
        client.stats().requests - before,
    );
    v.exact = args.exact;
    v.save(&dir.join(elma_import_verify::VERIFY_FILE)).map_err(verify_err)?;
    let page = crate::page::refresh(&dir);
    let code = if v.all_matched() { exit::OK } else { exit::DATA };
    if global.json {
        let mut value = serde_json::to_value(&v)?;
        if let Some(steps) = value["steps"].as_array_mut() {
            // The lines are in the diff file; the page shows the first ones.
            steps.iter_mut().for_each(|s| {
                s.as_object_mut().map(|o| o.remove("lines"));
            });
        }
        value["dir"] = json!(dir);
        value["diff"] = json!(args.diff.as_ref().unwrap_or(&diff_path));
        value["report"] = json!(page);
        value["exit_code"] = json!(code);
        if code != exit::OK {
            value["error"] = json!(format!(
                "{}; see {}",
                v.sentence(),
                args.diff.as_ref().unwrap_or(&diff_path).display()
            ));
        }
        ui::print_json(&value)?;
    } else {
        show(&v, args.diff.as_deref().unwrap_or(&diff_path), page.as_deref());
    }
    Ok(code)
}

/// The summary for people, on stderr.
fn show(v: &Verification, diff: &Path, page: Option<&Path>) {
    for s in &v.steps {
        let c = &s.counts;
        let mut line = format!(
            "{}: {} rows, {} matched, {} missing, {} differ, {} extra, {} ambiguous, {} invalid",
            s.label,
            ui::count(s.rows),
            ui::count(c.matched),
            ui::count(c.missing),
            ui::count(c.differs),
            ui::count(c.extra),
            ui::count(c.ambiguous),
            ui::count(c.invalid)
        );
        if s.links_checked > 0 {
            line.push_str(&format!(", {} links checked", ui::count(s.links_checked)));
        }
        if c.before > 0 {
            line.push_str(&format!(", {} there before the run (left out)", ui::count(c.before)));
        }
        eprintln!("{line}");
        for col in s.columns.iter().take(5) {
            eprintln!("  {:>7} × {}", ui::count(col.differs), col.column);
        }
        let (invalid, others): (Vec<_>, Vec<_>) =
            s.lines.iter().partition(|l| l.verdict == elma_import_verify::Verdict::Invalid);
        for l in others.iter().chain(invalid.iter()).take(6) {
            let row = l.row.map_or_else(|| "item".to_string(), |r| format!("row {r}"));
            let what = match l.verdict {
                elma_import_verify::Verdict::Differs => {
                    format!("`{}`: `{}` in the file, `{}` in the app", l.column, l.source, l.platform)
                }
                elma_import_verify::Verdict::Extra => format!("in the app, in no row: {}", l.platform),
                elma_import_verify::Verdict::Invalid => {
                    format!(
                        "does not pass the checks (`{}`: `{}`), so no run imported it",
                        l.column, l.source
                    )
                }
                elma_import_verify::Verdict::Missing => "no item holds this key".to_string(),
                other => format!("{} {}", other.as_str(), l.platform),
            };
            eprintln!("  {row} (key {}): {what}", l.key);
        }
    }
    eprintln!("{}", v.sentence());
    if !v.all_matched() {
        eprintln!("every difference: {}", diff.display());
    }
    if let Some(p) = page {
        eprintln!("report page: {}", p.display());
    }
}

/// Progress bars on stderr: bytes while reading a file, items while listing an app.
#[derive(Default)]
struct Bars {
    bar: Mutex<Option<(ProgressBar, String)>>,
}

impl Bars {
    fn set(&self, what: String, total: u64, bytes: bool, done: u64) {
        let Ok(mut slot) = self.bar.lock() else { return };
        if slot.as_ref().is_none_or(|(_, w)| *w != what) {
            if let Some((old, _)) = slot.take() {
                old.finish_and_clear();
            }
            let bar = ui::bar(total, &what, bytes);
            *slot = Some((bar, what));
        }
        if let Some((bar, _)) = slot.as_ref() {
            if total > 0 {
                bar.set_length(total);
            }
            bar.set_position(done);
        }
    }

    fn finish(&self) {
        if let Ok(mut slot) = self.bar.lock() {
            if let Some((bar, _)) = slot.take() {
                bar.finish_and_clear();
            }
        }
    }
}

impl Watch for Bars {
    fn on(&self, event: &Watching<'_>) {
        match event {
            Watching::Reading { file, done, total } => {
                let name = file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
                self.set(format!("reading {name}"), *total, true, *done);
            }
            Watching::Read { file, rows, invalid } => {
                self.finish();
                ui::say(format!(
                    "{}: {} rows read, {} do not pass the checks",
                    file.display(),
                    ui::count(*rows),
                    ui::count(*invalid)
                ));
            }
            Watching::Listing { app, done, total, purpose } => {
                let what = if *purpose == "links" { format!("{app} (ids)") } else { app.to_string() };
                self.set(what, *total, false, *done);
            }
        }
    }
}
