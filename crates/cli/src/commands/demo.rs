//! `elma-import demo`: the whole pipeline on generated data against an in-process emulator.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use elma_import_client::{AppRef, ClientConfig, RetryPolicy};
use elma_import_contract::wire::ListRequest;
use elma_import_emulator::{demo_apps, EmulatorConfig};
use elma_import_runner::RunSpec;
use elma_import_template::sample::{write_csv, SampleOptions};
use elma_import_template::{write_template, Locale, TemplateOptions};
use elma_import_validate::{Summary, Validator};
use serde_json::json;

use crate::execute::{report, CliObserver};
use crate::exit::{self, usage};
use crate::opts::Global;
use crate::settings::runtime;
use crate::ui;

const TOKEN: &str = "demo-token";

/// Arguments of `demo`.
#[derive(Debug, Args)]
#[command(after_help = "Generates a contacts file with some bad cells, starts the emulator on a free \
loopback port, and runs the whole job with event handlers on: validate, plan, 1,000-row chunks \
uploaded as temporary files, imports paced with pauses, status polled at most once a second, \
and a final report checked against the app's items.

With --migration: a three-app migration instead. Companies, contacts whose Company column holds a company's INN (not its id), and logistics orders alongside; the emulator enforces links (a link must be an existing item's id). The contacts wait for the companies and have their INNs resolved to ids; the orders import alongside. At the end every contact's Company is checked against the company its source row named, and the orders' step is checked to have run side by side with the companies' step.

Examples:
  elma-import demo
  elma-import demo --rows 10000 --dir /tmp/demo --json
  elma-import demo --rows 20000 --pause auto --min-pause 0.5
  elma-import demo --migration --rows 2000
  elma-import demo --files-only --dir .   # contacts.csv to try validate, fix, plan, run on
  elma-import demo --migration --files-only --dir move   # a migration's files")]
pub struct DemoArgs {
    /// Rows of the generated contacts file.
    #[arg(long, default_value_t = 3000)]
    pub rows: u64,
    /// Share of rows given one bad cell.
    #[arg(long, default_value_t = 0.02)]
    pub bad_share: f64,
    /// Seed of the generated data.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Folder for the generated file, template and run (default: a new temporary folder).
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// Rows the emulator imports per second.
    #[arg(long, default_value_t = 2500.0)]
    pub rows_per_sec: f64,
    /// Pause between imports: a duration (default 1 s), or `auto` (learned from the
    /// imports' throughput, within --min-pause and --max-pause).
    #[command(flatten)]
    pub pause: crate::opts::PauseArgs,
    /// Run a three-app migration (companies → contacts, orders alongside) instead.
    #[arg(long)]
    pub migration: bool,
    /// Write the demo's input files into --dir (default: the current folder) and stop:
    /// contacts.csv (a few bad cells) and its template, or with --migration
    /// companies.csv, contacts.csv, orders.xlsx, orders.schema.json and migration.toml,
    /// to try the other commands on (the README's examples use them).
    #[arg(long)]
    pub files_only: bool,
}

/// Runs `demo`.
pub fn run(args: DemoArgs, global: &Global) -> anyhow::Result<u8> {
    let pause = args.pause.fixed().unwrap_or(Duration::from_secs(1));
    let pause_mode = args.pause.mode()?.unwrap_or_default();
    let dir = match &args.dir {
        Some(d) => d.clone(),
        None if args.files_only => PathBuf::from("."),
        None => std::env::temp_dir()
            .join(format!("elma-import-demo-{}", &uuid::Uuid::new_v4().simple().to_string()[..8])),
    };
    std::fs::create_dir_all(&dir).map_err(|e| usage(format!("cannot create `{}`: {e}", dir.display())))?;
    if args.migration && args.files_only {
        write_migration_files(&dir, args.rows, args.seed)?;
        return files_written(&dir, &MIGRATION_FILES, global);
    }
    if args.migration {
        return migration_demo(&args, &dir, global);
    }
    let schema = demo_apps()
        .into_iter()
        .find(|a| a.id() == "crm.contacts")
        .ok_or_else(|| usage("the demo app crm.contacts is missing"))?;
    let step = |n: u32, text: String| ui::say(format!("\n[{n}/6] {text}"));

    step(
        1,
        format!(
            "generating {} contacts with about {:.0}% bad rows",
            ui::count(args.rows),
            args.bad_share * 100.0
        ),
    );
    let source = dir.join("contacts.csv");
    let sample =
        SampleOptions { rows: args.rows, bad_share: args.bad_share, seed: args.seed, locale: Locale::Ru };
    let info = write_csv(&schema, &source, &sample).map_err(|e| exit::coded(exit::USAGE, e))?;
    ui::say(format!(
        "      {} ({} bytes, {} bad cells planted)",
        source.display(),
        ui::count(info.bytes),
        ui::count(info.planted.len() as u64)
    ));

    step(2, "writing the import template the platform expects".into());
    let template = dir.join("crm.contacts.template.xlsx");
    write_template(
        &schema,
        &template,
        &TemplateOptions { locale: Locale::Ru, example_rows: true, language: None },
    )
    .map_err(|e| exit::coded(exit::USAGE, e))?;
    ui::say(format!("      {}", template.display()));
    if args.files_only {
        return files_written(&dir, &["contacts.csv", "crm.contacts.template.xlsx"], global);
    }

    step(3, "validating every cell against the app's fields".into());
    let mut reader = elma_import_sheet::open(&source, &Default::default())?;
    let validator = Validator::new(&schema, reader.header(), &Default::default())
        .map_err(|e| exit::coded(exit::DATA, anyhow::anyhow!("{e}")))?;
    let mut summary = Summary::new();
    validator.check_while_reading(&mut reader);
    while let Some((batch, errors)) = validator.next_checked(&mut reader)? {
        summary.add(&batch, &errors);
        reader.recycle(batch);
    }
    ui::say(format!(
        "      {} rows: {} valid, {} invalid ({} fixable); the invalid rows are left out and listed",
        ui::count(summary.rows),
        ui::count(summary.valid),
        ui::count(summary.invalid),
        ui::count(summary.fixable)
    ));
    for t in summary.top(5) {
        ui::say(format!(
            "      {:>5} × {} / {}: {}",
            ui::count(t.count),
            t.header,
            t.rule.as_str(),
            t.example
        ));
    }

    let rt = runtime()?;
    rt.block_on(async {
        step(4, "starting the emulator on a free loopback port".into());
        let (emulator, client) = start_emulator(args.rows_per_sec, false).await?;

        step(5, "running: plan, chunk, upload, import with event handlers, poll, pause".into());
        let run_dir = dir.join("run");
        let spec = RunSpec {
            skip_invalid: true,
            with_event_handlers: true,
            key_column: Some("Email".into()),
            import_rows_per_sec: args.rows_per_sec,
            pause_secs: Some(pause.as_secs_f64()),
            pause_mode,
            // The emulator reads date-time cells in the demo company's zone (+03:00, its
            // default); the run reads them the same way, whatever this machine's zone.
            time_zone: Some(DEMO_TIME_ZONE.into()),
            ..RunSpec::new("demo", &source, schema.id())?
        };
        if run_dir.join("run.json").exists() {
            std::fs::remove_dir_all(&run_dir)?;
        }
        spec.create(&run_dir, &schema)?;
        let observer = CliObserver::new(true);
        let options = elma_import_runner::ExecOptions { pause: Some(pause), ..Default::default() };
        let outcome = elma_import_runner::execute(
            &run_dir,
            &client,
            &options,
            &observer,
            &elma_import_runner::Cancel::new(),
        )
        .await;
        observer.finish();
        crate::page::after(&run_dir, false);
        let summary = outcome?;

        step(6, "checking the app's items through the list endpoint".into());
        let app: AppRef = schema.id().parse().map_err(|_| usage("bad demo app"))?;
        let page =
            client.list_items(&app, &ListRequest { active: true, from: 0, size: 1, filter: None }).await?;
        let verified = page.total == summary.imported;
        ui::say(format!(
            "      the app holds {} items; the run imported {}: {}",
            ui::count(page.total),
            ui::count(summary.imported),
            if verified { "every imported row landed exactly once" } else { "MISMATCH" }
        ));
        let queue = emulator.emulator().counters().queue;
        let peak = queue.samples.iter().map(|s| s.depth).max().unwrap_or(0);
        ui::say(format!(
            "      event handlers: {} jobs queued by the imports, the queue peaked at {} and is at {} now",
            ui::count(queue.added),
            ui::count(peak),
            ui::count(queue.depth)
        ));
        emulator.shutdown().await;
        let ok = verified && summary.failed == 0;
        if global.json {
            let error = (!ok).then(|| {
                format!(
                    "the app holds {} items, the run imported {} and {} row(s) failed on the server",
                    ui::count(page.total),
                    ui::count(summary.imported),
                    ui::count(summary.failed)
                )
            });
            ui::print_json(&json!({"dir": dir, "summary": summary, "items_in_app": page.total,
                "verified": verified, "error": error}))?;
        } else {
            ui::say("");
            report(&summary, global)?;
        }
        anyhow::Ok(if ok { exit::OK } else { exit::DATA })
    })
}

/// Starts the in-process emulator on a free loopback port (handlers drain at 2,000 jobs/s;
/// `strict_links`: a link must name an existing item) and a client for it.
async fn start_emulator(
    rows_per_sec: f64,
    strict_links: bool,
) -> anyhow::Result<(elma_import_emulator::RunningEmulator, elma_import_client::Client)> {
    let config = EmulatorConfig {
        tokens: vec![TOKEN.to_string()],
        rows_per_sec,
        handler_rate: 2000.0,
        strict_links,
        ..EmulatorConfig::default()
    };
    let emulator = elma_import_emulator::serve(config, "127.0.0.1:0".parse()?)
        .await
        .map_err(|e| exit::coded(exit::USAGE, e))?;
    ui::say(format!("      {}", emulator.base_url()));
    let client = elma_import_client::Client::new(ClientConfig {
        retry: RetryPolicy { max_retries: 3, ..RetryPolicy::default() },
        ..ClientConfig::new(emulator.base_url(), TOKEN)
    })?;
    Ok((emulator, client))
}

/// The demo company's time zone: the emulator's default (ELMA365's cloud, Moscow).
const DEMO_TIME_ZONE: &str = "+03:00";

/// The migration file of the demo: the README's example ("Migrations"), word for word
/// (the README's test compares them). Date-times without an offset are read in the demo
/// company's zone, as the emulator reads them.
const MIGRATION_TOML: &str = r#"locale = "ru"                 # optional: date and number formats of every file (ru | en)
time_zone = "+03:00"          # optional: the zone of date-time cells (default: the machine's)

[[step]]
file = "companies.csv"
app = "crm.companies"
key = "INN"                   # unique column: resolves references, settles uncertain chunks

[[step]]
file = "contacts.csv"
app = "crm.contacts"
key = "Email"
with_event_handlers = true
rows_per_chunk = 500          # optional, as `run --rows-per-chunk`
references = { Company = { app = "crm.companies", by = "INN" } }   # the cell holds a company's INN

[[step]]
file = "orders.xlsx"
app = "logistics.orders"
key = "Number"
sheet = "Orders"              # optional: sheet, encoding, delimiter as for `run`
schema = "orders.schema.json" # optional: fields for offline checks (else --schema-dir or the platform)
"#;

/// The files `demo --migration` writes.
const MIGRATION_FILES: [&str; 5] =
    ["companies.csv", "contacts.csv", "orders.xlsx", "orders.schema.json", "migration.toml"];

/// `demo --files-only`: says which files were written, and stops.
fn files_written(dir: &std::path::Path, files: &[&str], global: &Global) -> anyhow::Result<u8> {
    let paths: Vec<PathBuf> = files.iter().map(|f| dir.join(f)).collect();
    if global.json {
        ui::print_json(&json!({"dir": dir, "files": paths}))?;
    } else {
        for p in &paths {
            ui::out(p.display().to_string())?;
        }
    }
    Ok(exit::OK)
}

/// Rewrites the generated .csv `from` into `to`, cell by cell: `edit(row index, column
/// header, cell)` returns the new text of a cell or `None` to keep it.
fn rewrite_csv(
    from: &std::path::Path,
    to: &std::path::Path,
    mut edit: impl FnMut(usize, &str, &str) -> Option<String>,
) -> anyhow::Result<()> {
    let mut r = csv::Reader::from_path(from)?;
    let header = r.headers()?.clone();
    let mut w = csv::Writer::from_writer(elma_import_sheet::AtomicFile::create(to)?);
    w.write_record(&header)?;
    for (i, record) in r.records().enumerate() {
        let record = record?;
        let cells: Vec<String> = record
            .iter()
            .zip(header.iter())
            .map(|(v, h)| edit(i, h, v).unwrap_or_else(|| v.to_string()))
            .collect();
        w.write_record(&cells)?;
    }
    w.into_inner().map_err(|e| e.into_error())?.finish()?;
    std::fs::remove_file(from)?;
    Ok(())
}

/// Writes the three files of the migration demo; returns Email → INN of every contact.
/// User columns name the emulator's users (its links are checked).
fn write_migration_files(
    dir: &std::path::Path,
    rows: u64,
    seed: u64,
) -> anyhow::Result<std::collections::HashMap<String, String>> {
    let apps = demo_apps();
    let app = |id: &str| {
        apps.iter()
            .find(|a| a.id() == id)
            .cloned()
            .ok_or_else(|| usage(format!("the demo app {id} is missing")))
    };
    let users = elma_import_emulator::seeded_users();
    let user = |i: usize| format!("[{}]", users[i % users.len()].id);
    let companies = (rows / 10).max(5);
    let inn = |n: u64| format!("77{:08}", 1_000 + n * 7);
    let cities = ["Moscow", "Kazan", "Tver", "Omsk", "Perm"];
    let mut w = csv::Writer::from_writer(elma_import_sheet::AtomicFile::create(&dir.join("companies.csv"))?);
    w.write_record(["Name", "INN", "City"])?;
    for n in 0..companies {
        w.write_record([format!("Company {}", n + 1), inn(n), cities[(n % 5) as usize].to_string()])?;
    }
    w.into_inner().map_err(|e| e.into_error())?.finish()?;

    let raw = dir.join("contacts.generated.csv");
    let sample = SampleOptions { rows, bad_share: 0.0, seed, locale: Locale::Ru };
    write_csv(&app("crm.contacts")?, &raw, &sample).map_err(|e| exit::coded(exit::USAGE, e))?;
    let mut named = std::collections::HashMap::new();
    let mut company_of = Vec::new();
    rewrite_csv(&raw, &dir.join("contacts.csv"), |i, header, cell| match header {
        "Company" => {
            // A spread that is not a simple round robin.
            let n = (i as u64).wrapping_mul(2_654_435_761).wrapping_add(seed) % companies;
            company_of.push(inn(n));
            Some(inn(n))
        }
        "Manager" => Some(user(i)),
        "Email" => {
            // Other addresses than the single-file demo's contacts: the two demos into one
            // app never share a key (a shared key stops a run: the row is in the app already).
            let email = format!("m.{cell}");
            named.insert(email.clone(), i);
            Some(email)
        }
        _ => None,
    })?;
    let named = named.into_iter().map(|(email, i)| (email, company_of[i].clone())).collect();

    let raw = dir.join("orders.generated.csv");
    let orders_app = app("logistics.orders")?;
    let orders =
        SampleOptions { rows: (rows / 2).max(1), bad_share: 0.0, seed: seed + 1, locale: Locale::Ru };
    write_csv(&orders_app, &raw, &orders).map_err(|e| exit::coded(exit::USAGE, e))?;
    let rewritten = dir.join("orders.rewritten.csv");
    rewrite_csv(&raw, &rewritten, |i, header, _| (header == "Couriers").then(|| user(i + 7)))?;
    // The orders as a workbook whose sheet is named, as the migration file says.
    let mut reader = elma_import_sheet::open(&rewritten, &Default::default())?;
    let options = elma_import_sheet::WriteOptions { sheet_name: "Orders".into(), ..Default::default() };
    let mut writer =
        elma_import_sheet::create(&dir.join("orders.xlsx"), elma_import_sheet::Format::Xlsx, &options)?;
    writer.write_row(reader.header())?;
    while let Some(batch) = reader.next_batch()? {
        for row in batch.iter() {
            writer.write_row(row)?;
        }
        reader.recycle(batch);
    }
    writer.finish()?;
    drop(reader);
    std::fs::remove_file(&rewritten)?;
    let schema = format!("{}\n", serde_json::to_string_pretty(&orders_app)?);
    let write = |name: &str, text: &str| {
        elma_import_sheet::write_atomically(&dir.join(name), |f| {
            std::io::Write::write_all(f, text.as_bytes())
        })
    };
    write("orders.schema.json", &schema)?;
    write("migration.toml", MIGRATION_TOML)?;
    Ok(named)
}

/// `demo --migration`: companies → contacts with INNs resolved to ids, orders alongside.
fn migration_demo(args: &DemoArgs, dir: &std::path::Path, global: &Global) -> anyhow::Result<u8> {
    // A migration paces each step with a fixed pause (auto pacing is per run).
    if args.pause.mode()?.is_some_and(|m| m.is_auto()) {
        return Err(usage(
            "demo --migration takes a fixed --pause; `auto` is for one run (`demo --pause auto`)",
        ));
    }
    let pause = args.pause.fixed().unwrap_or(Duration::from_secs(1));
    use elma_import_migrate::keys::item_keys;
    let step = |n: u32, text: String| ui::say(format!("\n[{n}/5] {text}"));
    step(
        1,
        format!(
            "generating companies, {} contacts naming their company by INN, and orders",
            ui::count(args.rows)
        ),
    );
    let named = write_migration_files(dir, args.rows, args.seed)?;
    ui::say(format!("      {}", dir.join("migration.toml").display()));
    let mig_dir = dir.join("migration");
    if mig_dir.exists() {
        std::fs::remove_dir_all(&mig_dir)?;
    }
    let rt = runtime()?;
    step(2, "starting the emulator (a link must name an existing item) on a free loopback port".into());
    let (emulator, client) = rt.block_on(start_emulator(args.rows_per_sec, true))?;

    step(3, "checking every file and every reference before anything is sent".into());
    let settings = elma_import_migrate::Settings {
        import_rows_per_sec: args.rows_per_sec,
        pause_secs: Some(pause.as_secs_f64()),
        ..elma_import_migrate::Settings::default()
    };
    let p = crate::migration::preflight(&rt, &dir.join("migration.toml"), None, Some(&client), &settings, 4)?;
    if !p.checked.problems.is_empty() {
        for problem in &p.checked.problems {
            ui::warn(problem.to_string());
        }
        ui::print_json(&json!({"dir": dir, "problems": p.checked.problems,
            "error": format!("the generated files have {} problem(s)", p.checked.problems.len())}))?;
        return Ok(exit::DATA);
    }
    crate::migration::show_plan(&p.plan);

    step(4, "migrating: steps in dependency order, independent ones side by side".into());
    elma_import_migrate::create(&mig_dir, &p.migration, &settings, &p.schemas)?;
    let options = elma_import_migrate::MigrateOptions {
        parallel: 4,
        exec: elma_import_runner::ExecOptions { pause: Some(pause), ..Default::default() },
        assume: Vec::new(),
    };
    let observer = std::sync::Arc::new(crate::ui::migrate::MigrateView::new(
        &mig_dir,
        crate::ui::progress::Mode::Lines,
        true,
        elma_import_runner::RunPolicy::default().blocked_timeout,
    ));
    let report = rt.block_on(elma_import_migrate::execute(
        &mig_dir,
        &client,
        &options,
        observer,
        &elma_import_runner::Cancel::new(),
    ))?;
    crate::page::after(&mig_dir, false);

    step(5, "checking every contact's Company against the company its source row named".into());
    let (companies, contacts) = rt.block_on(async {
        let companies = client.list_all(&"crm.companies".parse()?, None).await?;
        let contacts = client.list_all(&"crm.contacts".parse()?, None).await?;
        anyhow::Ok((companies, contacts))
    })?;
    let schema_field = |app: &str, code: &str| {
        p.schemas.get(app).and_then(|s| s.fields.iter().find(|f| f.code == code).cloned())
    };
    let (inn_field, email_field) = (
        schema_field("crm.companies", "inn").ok_or_else(|| usage("no INN field"))?,
        schema_field("crm.contacts", "email").ok_or_else(|| usage("no Email field"))?,
    );
    let mut id_of_inn = std::collections::HashMap::new();
    for c in &companies {
        for k in item_keys(&inn_field, c.get("inn")) {
            id_of_inn.insert(k, c.get("__id").and_then(|v| v.as_str()).unwrap_or("").to_string());
        }
    }
    let mut wrong = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for item in &contacts {
        let email = item_keys(&email_field, item.get("email")).pop().unwrap_or_default();
        // §7: an array of ids; read a bare id as well.
        let linked: Vec<&str> = match item.get("company") {
            Some(serde_json::Value::Array(a)) => a.iter().filter_map(|v| v.as_str()).collect(),
            Some(serde_json::Value::String(id)) => vec![id.as_str()],
            _ => Vec::new(),
        };
        let expected = named.get(&email).and_then(|inn| id_of_inn.get(inn));
        if !seen.insert(email.clone())
            || expected.is_none()
            || linked != [expected.map_or("", String::as_str)]
        {
            wrong.push(format!("{email}: Company {linked:?}, expected {expected:?}"));
        }
    }
    let links_ok = wrong.is_empty() && contacts.len() == named.len();
    ui::say(format!(
        "      {} contacts, {} with the right company; {} companies; {}",
        ui::count(contacts.len() as u64),
        ui::count((contacts.len() - wrong.len()) as u64),
        ui::count(companies.len() as u64),
        if links_ok { "every link is right" } else { "WRONG LINKS" }
    ));
    for w in wrong.iter().take(10) {
        ui::warn(w);
    }
    // The orders wait for no step: their step runs while the companies' does (each from
    // its start, preparation included, to its last import's end, by the migration's own
    // clock). One after another (`--parallel 1`) the two would not overlap. (Import
    // intervals alone would not tell: the companies import in a fraction of a second,
    // less than the orders' preparation takes on a busy machine.)
    let span = |app: &str| {
        let s = report.steps.iter().find(|s| s.app == app)?;
        Some((s.started_at?, s.finished_at?))
    };
    let overlap = match (span("crm.companies"), span("logistics.orders")) {
        (Some((a0, a1)), Some((b0, b1))) => {
            let ok = a0 < b1 && b0 < a1;
            let t0 = a0.min(b0);
            let s = |t: f64| ui::secs(t - t0);
            ui::say(format!(
                "      step crm.companies ran {}–{}, step logistics.orders {}–{}: {}",
                s(a0),
                s(a1),
                s(b0),
                s(b1),
                if ok { "side by side" } else { "NOT SIDE BY SIDE" }
            ));
            ok
        }
        _ => false,
    };
    rt.block_on(emulator.shutdown());
    let verified = links_ok && overlap && report.stop.is_none();
    if global.json {
        let error = (!verified).then(|| {
            if let Some(stop) = report.steps.iter().find_map(|s| s.error.clone()) {
                format!("the migration stopped: {stop}")
            } else {
                format!(
                    "{} contact(s) link the wrong company; the orders' step {} side by side with the companies'",
                    wrong.len(),
                    if overlap { "ran" } else { "did not run" }
                )
            }
        });
        ui::print_json(&json!({"dir": dir, "migration": report, "contacts_checked": contacts.len(),
            "links_wrong": wrong.len(), "imports_overlapped": overlap, "verified": verified, "error": error}))?;
    } else {
        ui::say("");
        crate::migration::render(&report, global)?;
    }
    Ok(if verified { exit::OK } else { exit::DATA })
}
