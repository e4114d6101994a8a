//! `elma-import plan`: how a file would be imported, and why.

use clap::Args;
use elma_import_chunk::PlanInput;
use elma_import_validate::{Summary, Validator};
use serde_json::json;

use crate::commands::validate::report_header_errors;
use crate::exit::{self, usage};
use crate::opts::{CheckArgs, ConnArgs, Global, ImportArgs, SchemaSource, SourceArgs};
use crate::settings::{load_schema, runtime};
use crate::ui;
use crate::ui::plan::{pause_json, pause_line, plan_lines};

/// Arguments of `plan`.
#[derive(Debug, Args)]
#[command(after_help = "The plan is written to stdout (`plan … > plan.txt` keeps it); warnings go to stderr.

Examples:
  elma-import plan contacts.csv \\
      --schema templates/crm.contacts.schema.json --with-event-handlers
  elma-import plan big.xlsx --schema S.json --pause 5 --json
  elma-import plan contacts.csv --schema S.json --with-event-handlers \\
      --pause auto --min-pause 2 --max-pause 5m
  elma-import plan orders.csv --schema S.json \\
      --time-zone Europe/Moscow   # date-times at +03:00
  elma-import plan migration.toml --schema-dir templates   # a migration: order, side by side, estimate")]
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
    /// For a migration file: the folder of `<namespace.code>.schema.json` files, as
    /// `migrate --schema-dir` (`--schema DIR` is its old name here).
    #[arg(long, value_name = "DIR")]
    pub schema_dir: Option<std::path::PathBuf>,
    /// Connection, for --app.
    #[command(flatten)]
    pub conn: ConnArgs,
}

/// Runs `plan`.
pub fn run(args: PlanArgs, global: &Global) -> anyhow::Result<u8> {
    if args.source.file.extension().is_some_and(|e| e.eq_ignore_ascii_case("toml")) {
        let schema_dir = args.schema_dir.as_deref().or(args.schema.schema.as_deref());
        return crate::migration::plan(
            &args.source.file,
            schema_dir,
            &args.conn,
            args.import.import_rate,
            global,
        );
    }
    let pause_mode = args.import.pause.mode()?.unwrap_or_default();
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
    validator.check_while_reading(&mut reader);
    while let Some((batch, errors)) = validator.next_checked(&mut reader)? {
        summary.add(&batch, &errors);
        bar.set_position(reader.progress().0);
        reader.recycle(batch);
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
        pause: args.import.pause.fixed(),
        ..PlanInput::new(valid)
    })
    .map_err(|e| if valid == 0 { exit::coded(exit::DATA, e) } else { usage(e) })?;
    let zone = args.check.time_zone.describe();
    if global.json {
        for w in &plan.warnings {
            ui::warn(w);
        }
        ui::print_json(
            &json!({"file": args.source.file, "rows": rows, "valid_rows": valid, "invalid_rows": invalid,
                "time_zone": zone, "plan": plan, "pause": pause_json(&plan, pause_mode)}),
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
        ui::out(pause_line(&plan, pause_mode))?;
        ui::out(format!("date-times (no offset in a cell) are read in time zone {zone}"))?;
        for w in &plan.warnings {
            ui::warn(w);
        }
    }
    Ok(exit::OK)
}
