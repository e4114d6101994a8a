//! `elma-import validate`: check a file against an app's fields; report every bad cell.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Args;
use elma_import_contract::schema::AppSchema;
use elma_import_sheet::AtomicFile;
use elma_import_sheet::{column_letters, Format, Row, WriteOptions, Writer};
use elma_import_template::ExampleRow;
use elma_import_validate::{expected_headers, CellError, HeaderError, HeaderErrors, Summary, Validator};
use serde_json::json;

use crate::annotated::Annotated;
use crate::exit::{self, usage};
use crate::opts::{CheckArgs, ConnArgs, Global, SchemaSource, SourceArgs};
use crate::settings::{load_schema, runtime};
use crate::ui;

/// Arguments of `validate`.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  elma-import validate contacts.csv \\
      --schema templates/crm.contacts.schema.json
  elma-import validate contacts.xlsx --schema S.json \\
      --errors errors.csv --annotated contacts.checked.xlsx
  elma-import validate contacts.csv --schema S.json --valid-out ok.csv \\
      --rejects-out bad.csv --json
  elma-import validate export.csv --schema S.json --map 'Телефон=Phone' \\
      --map 'Эл. почта=Email'
  elma-import validate old.csv --schema S.json --encoding windows-1251 \\
      --delimiter ';' --locale ru

Exit 0 when every row is valid, 1 when not (or the header does not fit the app).")]
pub struct ValidateArgs {
    /// The input.
    #[command(flatten)]
    pub source: SourceArgs,
    /// The app.
    #[command(flatten)]
    pub schema: SchemaSource,
    /// Validation settings.
    #[command(flatten)]
    pub check: CheckArgs,
    /// Write every error to a .csv (columns row,column,header,value,rule,message,fix,source)
    /// or a .jsonl file (the same keys).
    #[arg(long, value_name = "FILE")]
    pub errors: Option<PathBuf>,
    /// Write the input as an .xlsx workbook to work through: bad cells pink with a note,
    /// header frozen with a filter, numbers and dates typed, and an "Errors" sheet whose
    /// lines link to their cells.
    #[arg(long, value_name = "FILE.xlsx")]
    pub annotated: Option<PathBuf>,
    /// Check a row equal to the template's example row like any other (by default it is
    /// reported and left out, as `run` leaves it out).
    #[arg(long)]
    pub keep_example_row: bool,
    /// Write the valid rows (with the header) to this .csv or .xlsx.
    #[arg(long, value_name = "FILE")]
    pub valid_out: Option<PathBuf>,
    /// Write the invalid rows (with the header and a last column of reasons) to this .csv or .xlsx.
    #[arg(long, value_name = "FILE")]
    pub rejects_out: Option<PathBuf>,
    /// Stop after this many errors.
    #[arg(long, value_name = "N")]
    pub max_errors: Option<u64>,
    /// How many (column, rule) groups the summary lists.
    #[arg(long, default_value_t = 10, value_name = "N")]
    pub top: usize,
    /// Connection, for --app.
    #[command(flatten)]
    pub conn: ConnArgs,
}

/// The columns of every errors.csv (validate's and a run's): `row` is the source row,
/// `column` the column letter(s), `header` the header text, `source` is `validation` or
/// `platform`.
pub const ERRORS_COLUMNS: [&str; 8] =
    ["row", "column", "header", "value", "rule", "message", "fix", "source"];

/// Where the errors go.
/// The errors file (`--errors`): written whole or not at all.
enum ErrorSink {
    Csv(Box<csv::Writer<AtomicFile>>),
    Jsonl(AtomicFile),
}

impl ErrorSink {
    fn create(path: &Path) -> anyhow::Result<ErrorSink> {
        let jsonl = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("jsonl") || e.eq_ignore_ascii_case("json"));
        let file =
            AtomicFile::create(path).map_err(|e| usage(format!("cannot write `{}`: {e}", path.display())))?;
        Ok(if jsonl {
            ErrorSink::Jsonl(file)
        } else {
            let mut w = csv::Writer::from_writer(file);
            w.write_record(ERRORS_COLUMNS)?;
            ErrorSink::Csv(Box::new(w))
        })
    }

    fn write(&mut self, e: &CellError) -> anyhow::Result<()> {
        let column = e.column.map(column_letters).unwrap_or_default();
        self.record(e.row, &column, &e.header, &e.value, e.rule.as_str(), &e.message, e.fix.as_deref())
    }

    /// A problem of the header row as a line of the errors file (rule `header`).
    fn header_problem(&mut self, message: &str) -> anyhow::Result<()> {
        self.record(1, "", "", "", "header", message, None)
    }

    #[allow(clippy::too_many_arguments)]
    fn record(
        &mut self,
        row: u64,
        column: &str,
        header: &str,
        value: &str,
        rule: &str,
        message: &str,
        fix: Option<&str>,
    ) -> anyhow::Result<()> {
        match self {
            ErrorSink::Csv(w) => w.write_record([
                row.to_string().as_str(),
                column,
                header,
                value,
                rule,
                message,
                fix.unwrap_or(""),
                "validation",
            ])?,
            ErrorSink::Jsonl(w) => {
                serde_json::to_writer(
                    &mut *w,
                    &json!({"row": row, "column": column, "header": header, "value": value,
                            "rule": rule, "message": message, "fix": fix, "source": "validation"}),
                )?;
                w.write_all(b"\n")?;
            }
        }
        Ok(())
    }

    fn finish(self) -> anyhow::Result<()> {
        let file = match self {
            ErrorSink::Csv(w) => w.into_inner().map_err(|e| e.into_error())?,
            ErrorSink::Jsonl(f) => f,
        };
        file.finish()?;
        Ok(())
    }
}

fn create_writer(path: &Path, locale: elma_import_contract::Locale) -> anyhow::Result<Writer> {
    let format = Format::from_path(path)
        .ok_or_else(|| usage(format!("`{}`: name the output .csv or .xlsx", path.display())))?;
    let options =
        WriteOptions { date_format: locale.excel_datetime_format().to_string(), ..WriteOptions::default() };
    elma_import_sheet::create(path, format, &options)
        .with_context(|| format!("creating `{}`", path.display()))
}

/// Prints header errors, then the headers the app expects, and returns exit 1.
pub fn report_header_errors(
    file: &Path,
    errors: &HeaderErrors,
    schema: &AppSchema,
    global: &Global,
) -> anyhow::Result<u8> {
    let unknown = errors.0.iter().any(|e| matches!(e, HeaderError::UnknownColumn { .. }));
    if global.json {
        ui::print_json(&json!({
            "file": file, "valid": false,
            "error": format!("the header row of `{}` does not fit the app `{}`", file.display(), schema.id()),
            "exit_code": exit::DATA,
            "header_errors": errors.0.iter().map(|e| e.to_string()).collect::<Vec<_>>(),
            "expected_headers": schema.fields.iter()
                .filter(|f| f.kind != elma_import_contract::schema::FieldType::Account)
                .map(|f| json!({"name": f.name, "code": f.code, "required": f.required}))
                .collect::<Vec<_>>(),
        }))?;
    } else {
        eprintln!("`{}`: the header row does not fit the app `{}`:", file.display(), schema.id());
        for e in &errors.0 {
            eprintln!("  - {e}");
        }
        eprintln!(
            "the app expects these headers (field code in brackets, * required): {}",
            expected_headers(schema)
        );
        if unknown {
            eprintln!(
                "map columns with --map 'HEADER=FIELD' (repeatable) or --map-file map.csv; \
                 --ignore-unknown skips every column that names no field"
            );
        }
    }
    Ok(exit::DATA)
}

/// Runs `validate`.
pub fn run(args: ValidateArgs, global: &Global) -> anyhow::Result<u8> {
    args.source.refuse_as_output([
        ("--errors", args.errors.as_deref()),
        ("--annotated", args.annotated.as_deref()),
        ("--valid-out", args.valid_out.as_deref()),
        ("--rejects-out", args.rejects_out.as_deref()),
    ])?;
    if let Some(path) = &args.annotated {
        if Format::from_path(path) != Some(Format::Xlsx) {
            return Err(usage(format!(
                "--annotated `{}`: the annotated file is a workbook; name it .xlsx",
                path.display()
            )));
        }
    }
    let map = args.check.column_map()?;
    let schema = runtime()?.block_on(load_schema(&args.schema, &args.conn))?;
    let started = std::time::Instant::now();
    let mut reader = args.source.open()?;
    let header = args.check.mapped_header(&map, reader.header())?;
    let validator = match Validator::new(&schema, &header, &args.check.options()) {
        Ok(v) => v,
        Err(errors) => {
            // The errors file says it too, so a script never reads a stale one.
            if let Some(path) = args.errors.as_deref() {
                let mut sink = ErrorSink::create(path)?;
                for e in &errors.0 {
                    sink.header_problem(&e.to_string())?;
                }
                sink.finish()?;
            }
            return report_header_errors(&args.source.file, &errors, &schema, global);
        }
    };
    let mut errors_out = args.errors.as_deref().map(ErrorSink::create).transpose()?;
    let mut annotated = args
        .annotated
        .as_deref()
        .map(|p| Annotated::create(p, &header, &validator, &schema, args.check.locale))
        .transpose()?;
    let mut valid_out = args.valid_out.as_deref().map(|p| create_writer(p, args.check.locale)).transpose()?;
    let mut rejects_out =
        args.rejects_out.as_deref().map(|p| create_writer(p, args.check.locale)).transpose()?;
    if let Some(w) = valid_out.as_mut() {
        w.write_row(&header)?;
    }
    if let Some(w) = rejects_out.as_mut() {
        let mut h = header.clone();
        while h.len() < validator.columns().len() {
            h.push_text("");
        }
        h.push_text("Errors");
        w.write_row(&h)?;
    }
    let wants_rows = annotated.is_some() || valid_out.is_some() || rejects_out.is_some();

    let (_, total) = reader.progress();
    let bar = ui::bar(total, "validating", true);
    let mut summary = Summary::new();
    let mut reported = 0u64;
    let mut stopped_early = false;
    let width = validator.columns().len();
    let example = if args.keep_example_row { None } else { ExampleRow::new(&schema, &header) };
    let mut example_rows: Vec<u64> = Vec::new();
    validator.check_while_reading(&mut reader);
    'batches: while let Some((mut batch, mut errors)) = validator.next_checked(&mut reader)? {
        if let Some(example) = &example {
            let before = example_rows.len();
            example_rows.extend(batch.iter().filter(|r| example.matches(r)).map(|r| r.number));
            if example_rows.len() > before {
                let skipped = &example_rows[before..];
                batch.retain(|r| !skipped.contains(&r.number));
                errors.retain(|e| !skipped.contains(&e.row));
            }
        }
        summary.add(&batch, &errors);
        if let Some(sink) = errors_out.as_mut() {
            for e in &errors {
                if args.max_errors.is_some_and(|m| reported >= m) {
                    stopped_early = true;
                    break;
                }
                sink.write(e)?;
                reported += 1;
            }
        } else {
            reported += errors.len() as u64;
        }
        if wants_rows {
            let mut at = 0;
            for row in batch.iter().filter(|r| !r.is_blank()) {
                let start = at;
                while at < errors.len() && errors[at].row == row.number {
                    at += 1;
                }
                let mine = &errors[start..at];
                write_row(row, mine, width, &mut annotated, &mut valid_out, &mut rejects_out)?;
            }
        }
        bar.set_position(reader.progress().0);
        reader.recycle(batch);
        if stopped_early || args.max_errors.is_some_and(|m| reported >= m) {
            stopped_early = true;
            break 'batches;
        }
    }
    bar.finish_and_clear();
    if let Some(sink) = errors_out {
        sink.finish()?;
    }
    if let Some(w) = annotated {
        w.finish(&summary, args.top)?;
    }
    for w in [valid_out, rejects_out].into_iter().flatten() {
        w.finish()?;
    }
    for row in &example_rows {
        ui::warn(format!(
            "row {row} is the template's example row: left out, as `run` leaves it out (--keep-example-row checks it)"
        ));
    }
    let outcome =
        Outcome { stopped_early, took: started.elapsed(), describe: reader.describe(), example_rows };
    render(&args, &summary, &outcome, global)?;
    Ok(if summary.is_valid() && !stopped_early { exit::OK } else { exit::DATA })
}

fn write_row(
    row: &Row,
    errors: &[CellError],
    width: usize,
    annotated: &mut Option<Annotated>,
    valid_out: &mut Option<Writer>,
    rejects_out: &mut Option<Writer>,
) -> anyhow::Result<()> {
    if let Some(w) = annotated.as_mut() {
        w.write(row, errors)?;
    }
    if errors.is_empty() {
        if let Some(w) = valid_out.as_mut() {
            w.write_row(row)?;
        }
        return Ok(());
    }
    if let Some(w) = rejects_out.as_mut() {
        let mut r = row.clone();
        while r.len() < width {
            r.push_text("");
        }
        let reasons: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
        r.push_text(&reasons.join("; "));
        w.write_row(&r)?;
    }
    Ok(())
}

/// How a check went, beyond the counts.
struct Outcome {
    stopped_early: bool,
    took: std::time::Duration,
    describe: String,
    example_rows: Vec<u64>,
}

/// What was rejected, in one sentence: the `error` of a `--json` outcome with exit 1.
fn rejected(file: &Path, s: &Summary, stopped_early: bool) -> String {
    let mut text = format!(
        "`{}`: {} of {} rows are invalid ({} errors, {} fixable with `elma-import fix`)",
        file.display(),
        ui::count(s.invalid),
        ui::count(s.rows),
        ui::count(s.errors),
        ui::count(s.fixable)
    );
    if let Some(t) = s.top(1).first() {
        text.push_str(&format!("; most: {} × `{}` {}", ui::count(t.count), t.header, t.rule.as_str()));
    }
    if stopped_early {
        text.push_str("; stopped early at --max-errors");
    }
    text
}

fn render(args: &ValidateArgs, s: &Summary, o: &Outcome, global: &Global) -> anyhow::Result<()> {
    let (stopped_early, took, describe) = (o.stopped_early, o.took, &o.describe);
    let rate = s.rows as f64 / took.as_secs_f64().max(1e-9);
    if global.json {
        let valid = s.is_valid() && !stopped_early;
        return ui::print_json(&json!({
            "file": args.source.file,
            "error": if valid { None } else { Some(rejected(&args.source.file, s, stopped_early)) },
            "reader": describe,
            "valid": valid,
            "rows": s.rows,
            "valid_rows": s.valid,
            "invalid_rows": s.invalid,
            "errors": s.errors,
            "fixable": s.fixable,
            "stopped_early": stopped_early,
            "example_rows": o.example_rows,
            "top": s.top(args.top),
            "seconds": took.as_secs_f64(),
            "outputs": {"errors": args.errors, "annotated": args.annotated,
                        "valid_out": args.valid_out, "rejects_out": args.rejects_out},
        }));
    }
    let verdict = if s.is_valid() { "valid" } else { "NOT valid" };
    ui::out(format!(
        "{}: {verdict} — {} rows, {} valid, {} invalid, {} errors ({} fixable with `elma-import fix`){}",
        args.source.file.display(),
        ui::count(s.rows),
        ui::count(s.valid),
        ui::count(s.invalid),
        ui::count(s.errors),
        ui::count(s.fixable),
        if stopped_early { " — stopped early at --max-errors" } else { "" },
    ))?;
    if !s.by_rule.is_empty() {
        ui::out("top errors:")?;
        for t in s.top(args.top) {
            ui::out(format!(
                "  {:>9}  {:<20} {:<18} first at row {}: {}",
                ui::count(t.count),
                t.header,
                t.rule.as_str(),
                t.first_row,
                t.example
            ))?;
        }
    }
    ui::say(format!("read as {describe}; {} in {}", ui::speed_of(rate), ui::duration(took)));
    Ok(())
}
