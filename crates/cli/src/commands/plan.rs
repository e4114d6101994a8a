//! `elma-import plan`: how a file would be imported, and why.

use std::time::Duration;

use clap::Args;
use elma_import_chunk::{Plan, PlanInput};
use elma_import_runner::pace::PauseMode;
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
    /// Pause between imports.
    #[command(flatten)]
    pub pause: PauseArgs,
}

/// `--pause DUR|auto`: a fixed pause, or one learned from the imports.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum PauseArg {
    /// The same pause after every chunk.
    Fixed(Duration),
    /// `auto`: learned from each import's throughput.
    Auto,
}

/// Parses `--pause`: `auto`, or a duration (bare numbers are seconds).
pub fn parse_pause(s: &str) -> Result<PauseArg, String> {
    if s.trim().eq_ignore_ascii_case("auto") {
        return Ok(PauseArg::Auto);
    }
    crate::args::parse_duration(s).map(PauseArg::Fixed).map_err(|e| format!("{e}, or `auto`"))
}

/// The pause flags of `plan`, `run`, `resume` and `demo`.
#[derive(Debug, Clone, Default, Args)]
pub struct PauseArgs {
    /// Pause between imports with event handlers: a duration (`5`, `90s`; default: the
    /// plan's, the chunk's rows at 50 handler jobs/s, at least 2 s), or `auto`: start
    /// there, shrink while imports run at full speed, grow as soon as a handler backlog
    /// slows them.
    #[arg(long, value_parser = parse_pause, value_name = "DUR|auto")]
    pub pause: Option<PauseArg>,
    /// Shortest pause `--pause auto` may choose [default: 1s].
    #[arg(long, value_parser = crate::args::parse_duration, value_name = "DUR")]
    pub min_pause: Option<Duration>,
    /// Longest pause `--pause auto` may choose [default: 10m].
    #[arg(long, value_parser = crate::args::parse_duration, value_name = "DUR")]
    pub max_pause: Option<Duration>,
}

impl PauseArgs {
    /// The fixed pause asked for, if any.
    pub fn fixed(&self) -> Option<Duration> {
        match self.pause {
            Some(PauseArg::Fixed(d)) => Some(d),
            _ => None,
        }
    }

    /// The pause mode asked for (`None`: none was; the run's or the default stays).
    /// Bounds without `--pause auto` are a usage error.
    pub fn mode(&self) -> anyhow::Result<Option<PauseMode>> {
        self.mode_over(PauseMode::Fixed)
    }

    /// [`PauseArgs::mode`] for a run whose mode was `base`: `--pause auto` keeps the
    /// bounds of an auto run that it does not name anew.
    pub fn mode_over(&self, base: PauseMode) -> anyhow::Result<Option<PauseMode>> {
        match self.pause {
            Some(PauseArg::Auto) => {
                let (min, max) = base.bounds().unwrap_or((PauseMode::DEFAULT_MIN, PauseMode::DEFAULT_MAX));
                let min = self.min_pause.unwrap_or(min);
                let max = self.max_pause.unwrap_or(max);
                if max < min {
                    return Err(usage(format!(
                        "--max-pause `{}` is shorter than --min-pause `{}`",
                        ui::duration(max),
                        ui::duration(min)
                    )));
                }
                Ok(Some(PauseMode::auto(min, max)))
            }
            _ if self.min_pause.is_some() || self.max_pause.is_some() => {
                Err(usage("--min-pause and --max-pause bound `--pause auto`: pass it too"))
            }
            Some(PauseArg::Fixed(_)) => Ok(Some(PauseMode::Fixed)),
            None => Ok(None),
        }
    }
}

/// Which pause is in force, for `--json`: `{"mode": "fixed", "secs": …}` or
/// `{"mode": "auto", "start_secs": …, "min_secs": …, "max_secs": …}` (`none` without handlers).
pub fn pause_json(plan: &Plan, mode: PauseMode) -> serde_json::Value {
    if !plan.with_event_handlers {
        return json!({"mode": "none"});
    }
    match mode.bounds() {
        None => json!({"mode": "fixed", "secs": plan.pause.as_secs_f64()}),
        Some((min, max)) => json!({"mode": "auto", "start_secs": plan.pause.clamp(min, max).as_secs_f64(),
            "min_secs": min.as_secs_f64(), "max_secs": max.as_secs_f64()}),
    }
}

/// Which pause is in force, and why, as one line for people.
pub fn pause_line(plan: &Plan, mode: PauseMode) -> String {
    if !plan.with_event_handlers {
        return "pause: none (event handlers off: nothing to drain between imports)".to_string();
    }
    match mode.bounds() {
        None => format!(
            "pause: fixed, {} after each chunk (`--pause auto` learns it from how fast the platform imports)",
            ui::duration(plan.pause)
        ),
        Some((min, max)) => format!(
            "pause: auto, starting at {} and kept within {}..{}: it shrinks while imports run at full \
             speed and grows as soon as a handler backlog slows them",
            ui::duration(plan.pause.clamp(min, max)),
            ui::duration(min),
            ui::duration(max)
        ),
    }
}

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
        ui::count(plan.chunks),
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
        let schema_dir = args.schema_dir.as_deref().or(args.schema.schema.as_deref());
        return crate::commands::migrate::plan(
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

#[cfg(test)]
mod pause_tests {
    use super::*;

    #[test]
    fn pause_takes_a_duration_or_auto() {
        assert_eq!(parse_pause("5"), Ok(PauseArg::Fixed(Duration::from_secs(5))));
        assert_eq!(parse_pause("90s"), Ok(PauseArg::Fixed(Duration::from_secs(90))));
        assert_eq!(parse_pause("AUTO"), Ok(PauseArg::Auto));
        let e = parse_pause("soon").unwrap_err();
        assert!(e.contains("`soon`") && e.contains("`auto`"), "{e}");
    }

    #[test]
    fn bounds_belong_to_auto_and_default_sensibly() {
        let args = |pause, min, max| PauseArgs { pause, min_pause: min, max_pause: max };
        let s = Duration::from_secs;
        assert_eq!(args(None, None, None).mode().unwrap(), None);
        assert_eq!(args(Some(PauseArg::Fixed(s(5))), None, None).mode().unwrap(), Some(PauseMode::Fixed));
        assert_eq!(
            args(Some(PauseArg::Auto), None, None).mode().unwrap(),
            Some(PauseMode::auto(PauseMode::DEFAULT_MIN, PauseMode::DEFAULT_MAX))
        );
        assert_eq!(
            args(Some(PauseArg::Auto), Some(s(2)), Some(s(9))).mode().unwrap(),
            Some(PauseMode::auto(s(2), s(9)))
        );
        assert!(args(None, Some(s(2)), None).mode().unwrap_err().to_string().contains("--pause auto"));
        assert!(args(Some(PauseArg::Auto), Some(s(9)), Some(s(2))).mode().is_err());
        // A resume of an auto run keeps the bounds it does not name anew.
        let run = PauseMode::auto(s(3), s(60));
        assert_eq!(args(Some(PauseArg::Auto), None, None).mode_over(run).unwrap(), Some(run));
        assert_eq!(
            args(Some(PauseArg::Auto), None, Some(s(30))).mode_over(run).unwrap(),
            Some(PauseMode::auto(s(3), s(30)))
        );
    }
}
