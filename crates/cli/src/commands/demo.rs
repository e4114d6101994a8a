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

use crate::args::Global;
use crate::commands::run::{report, CliObserver};
use crate::exit::{self, usage};
use crate::settings::runtime;
use crate::ui;

const TOKEN: &str = "demo-token";

/// Arguments of `demo`.
#[derive(Debug, Args)]
#[command(after_help = "Generates a contacts file with some bad cells, starts the emulator on a free \
loopback port, and runs the whole job with event handlers on: validate, plan, 1,000-row chunks \
uploaded as temporary files, imports paced with pauses, status polled at most once a second, \
and a final report checked against the app's items.

Examples:
  elma-import demo
  elma-import demo --rows 10000 --dir /tmp/demo --json
  elma-import demo --rows 20000 --pause auto --min-pause 0.5")]
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
    pub pause: crate::commands::plan::PauseArgs,
}

/// Runs `demo`.
pub fn run(args: DemoArgs, global: &Global) -> anyhow::Result<u8> {
    let pause = args.pause.fixed().unwrap_or(Duration::from_secs(1));
    let pause_mode = args.pause.mode()?.unwrap_or_default();
    let dir = match &args.dir {
        Some(d) => d.clone(),
        None => std::env::temp_dir()
            .join(format!("elma-import-demo-{}", &uuid::Uuid::new_v4().simple().to_string()[..8])),
    };
    std::fs::create_dir_all(&dir).map_err(|e| usage(format!("cannot create `{}`: {e}", dir.display())))?;
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
        info.planted.len()
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

    step(3, "validating every cell against the app's fields".into());
    let mut reader = elma_import_sheet::open(&source, &Default::default())?;
    let validator = Validator::new(&schema, reader.header(), &Default::default())
        .map_err(|e| exit::coded(exit::DATA, anyhow::anyhow!("{e}")))?;
    let mut summary = Summary::new();
    while let Some(batch) = reader.next_batch()? {
        let errors = validator.check_rows(&batch);
        summary.add(&batch, &errors);
    }
    ui::say(format!(
        "      {} rows: {} valid, {} invalid ({} fixable); the invalid rows are left out and listed",
        ui::count(summary.rows),
        ui::count(summary.valid),
        ui::count(summary.invalid),
        ui::count(summary.fixable)
    ));
    for t in summary.top(5) {
        ui::say(format!("      {:>5} × {} / {}: {}", t.count, t.header, t.rule.as_str(), t.example));
    }

    let rt = runtime()?;
    rt.block_on(async {
        step(4, "starting the emulator on a free loopback port".into());
        let config = EmulatorConfig {
            tokens: vec![TOKEN.to_string()],
            rows_per_sec: args.rows_per_sec,
            handler_rate: 2000.0,
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

        step(5, "running: plan, chunk, upload, import with event handlers, poll, pause".into());
        let run_dir = dir.join("run");
        let spec = RunSpec {
            skip_invalid: true,
            with_event_handlers: true,
            key_column: Some("Email".into()),
            import_rows_per_sec: args.rows_per_sec,
            pause_secs: Some(pause.as_secs_f64()),
            pause_mode,
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
        if global.json {
            ui::print_json(
                &json!({"dir": dir, "summary": summary, "items_in_app": page.total, "verified": verified}),
            )?;
        } else {
            ui::say("");
            report(&summary, global)?;
        }
        anyhow::Ok(if verified && summary.failed == 0 { exit::OK } else { exit::DATA })
    })
}
