//! `elma-import plan`: how a file would be imported, and why.

use std::time::Duration;

use clap::Args;
use elma_import_chunk::{Plan, PlanInput};
use elma_import_validate::{Summary, Validator};
use serde_json::json;

use crate::args::{CheckArgs, ConnArgs, Global, SchemaSource, SourceArgs};
use crate::commands::validate::report_header_errors;
use crate::exit::{self, usage};
use crate::settings::{load_schema, runtime};
use crate::ui;

/// Import settings shared by `plan` and `run`.
#[derive(Debug, Clone, Args)]
pub struct ImportArgs {
    /// Run the app's event handlers for every item (chunks of at most 1,000 rows, paced).
    #[arg(long)]
    pub with_event_handlers: bool,
    /// Rows per chunk (with handlers: at most 1,000 unless --allow-over-limit).
    #[arg(long, value_name = "N")]
    pub rows_per_chunk: Option<u64>,
    /// Allow chunks above 1,000 rows with event handlers (prints a warning).
    #[arg(long)]
    pub allow_over_limit: bool,
    /// Assumed import speed of the platform, rows per second, for estimates.
    #[arg(long, default_value_t = 200.0, value_name = "R")]
    pub import_rate: f64,
    /// Pause between imports (default: the plan's, sized for the handler queue to drain).
    #[arg(long, value_parser = crate::args::parse_duration, value_name = "DUR")]
    pub pause: Option<Duration>,
}

/// Arguments of `plan`.
#[derive(Debug, Args)]
#[command(after_help = "The plan is written to stdout (`plan … > plan.txt` keeps it); warnings go to stderr.

Examples:
  elma-import plan contacts.csv \\
      --schema templates/crm.contacts.schema.json --with-event-handlers
  elma-import plan big.xlsx --schema S.json --pause 5 --json
  elma-import plan orders.csv --schema S.json \\
      --time-zone Europe/Moscow   # date-times at +03:00
  elma-import plan migration.toml --schema templates   # a migration: order, side by side, estimate")]
pub struct PlanArgs {
    /// The input.
    #[command(flatten)]
    pub source: SourceArgs,
    /// The app.
    #[command(flatten)]
    pub schema: SchemaSource,
    /// Validation settings.
    #[command(flatten)]
    pub check: CheckArgs,
    /// Import settings.
    #[command(flatten)]
    pub import: ImportArgs,
    /// Connection, for --app.
    #[command(flatten)]
    pub conn: ConnArgs,
}

/// A plan for people, as lines: the summary, then one `because …` line per reason.
pub fn plan_lines(plan: &Plan, rows: u64) -> Vec<String> {
    let upload = match plan.upload {
        elma_import_chunk::UploadKind::Temporary => "temporary file(s)",
        elma_import_chunk::UploadKind::Directory => "a directory (kept)",
    };
    let mut lines = vec![format!(
        "plan: {} rows in {} chunk(s) of up to {} rows, uploaded as {upload}; event handlers {}; \
         pause {} between imports; estimate {}",
        ui::count(rows),
        plan.chunks,
        ui::count(plan.rows_per_chunk),
        if plan.with_event_handlers { "on" } else { "off" },
        ui::duration(plan.pause),
        ui::duration(plan.estimate),
    )];
    lines.extend(plan.reasons.iter().map(|r| format!("  because {r}")));
    lines
}

/// Prints a plan for people on stderr (as talk, during a run), warnings included.
pub fn show_plan(plan: &Plan, rows: u64) {
    for line in plan_lines(plan, rows) {
        ui::say(line);
    }
    for w in &plan.warnings {
        ui::warn(w);
    }
}

/// Runs `plan`.
pub fn run(args: PlanArgs, global: &Global) -> anyhow::Result<u8> {
    if args.source.file.extension().is_some_and(|e| e.eq_ignore_ascii_case("toml")) {
        let schema_dir = args.schema.schema.as_deref();
        return crate::commands::migrate::plan(
            &args.source.file,
            schema_dir,
            &args.conn,
            args.import.import_rate,
            global,
        );
    }
    let map = args.check.column_map()?;
    let schema = runtime()?.block_on(load_schema(&args.schema, &args.conn))?;
    let mut reader = args.source.open()?;
    let header = args.check.mapped_header(&map, reader.header())?;
    let validator = match Validator::new(&schema, &header, &args.check.options()) {
        Ok(v) => v,
        Err(errors) => return report_header_errors(&args.source.file, &errors, &schema, global),
    };
    let (_, total) = reader.progress();
    let bar = ui::bar(total, "counting", true);
    let mut summary = Summary::new();
    while let Some(batch) = reader.next_batch()? {
        summary.add(&batch, &validator.check_rows(&batch));
        bar.set_position(reader.progress().0);
    }
    bar.finish_and_clear();
    let (rows, valid, invalid) = (summary.rows, summary.valid, summary.invalid);
    let plan = elma_import_chunk::plan(&PlanInput {
        rows: valid,
        bytes: total.saturating_mul(valid) / rows.max(1),
        with_event_handlers: args.import.with_event_handlers,
        rows_per_chunk: args.import.rows_per_chunk,
        allow_over_limit: args.import.allow_over_limit,
        import_rows_per_sec: args.import.import_rate,
        pause: args.import.pause,
    })
    .map_err(|e| if valid == 0 { exit::coded(exit::DATA, e) } else { usage(e) })?;
    let zone = args.check.time_zone.describe();
    if global.json {
        for w in &plan.warnings {
            ui::warn(w);
        }
        ui::print_json(
            &json!({"file": args.source.file, "rows": rows, "valid_rows": valid, "invalid_rows": invalid,
                "time_zone": zone, "plan": plan}),
        )?;
    } else {
        if invalid > 0 {
            ui::warn(format!(
                "{} of {} rows are invalid and would be left out (see `elma-import validate`)",
                ui::count(invalid),
                ui::count(rows)
            ));
        }
        for line in plan_lines(&plan, valid) {
            ui::out(line)?;
        }
        ui::out(format!("date-times (no offset in a cell) are read in time zone {zone}"))?;
        for w in &plan.warnings {
            ui::warn(w);
        }
    }
    Ok(exit::OK)
}
