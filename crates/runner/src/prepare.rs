//! Preparation: validate the source, plan, and write the valid rows as chunk files.
//!
//! Two passes over the source keep memory flat: the first validates and counts (keeping
//! only the numbers of invalid rows), the plan is made from the counts, the second
//! writes the chunks the plan asks for.

use std::path::{Path, PathBuf};

use elma_import_chunk::{ChunkWriter, Manifest, Plan, PlanInput};
use elma_import_contract::schema::AppSchema;
use elma_import_sheet::{Format, ReadOptions, WriteOptions};
use elma_import_validate::{Locale, Options, Validator};

use crate::error::RunError;
use crate::spec::{write_json, RunSpec};
use crate::{Observer, Progress};

/// What preparation produced.
#[derive(Debug, Clone)]
pub struct Preparation {
    /// Data rows read (blank rows not counted).
    pub rows: u64,
    /// Rows that passed validation.
    pub valid: u64,
    /// Rows rejected.
    pub invalid: u64,
    /// The plan.
    pub plan: Plan,
    /// The chunk files.
    pub manifest: Manifest,
}

/// Reading options of a run.
pub fn read_options(spec: &RunSpec) -> ReadOptions {
    ReadOptions {
        encoding: spec.encoding.clone(),
        delimiter: spec.delimiter.map(|c| c as u8),
        sheet: spec.sheet.clone(),
        ..ReadOptions::default()
    }
}

/// Validation options of a run.
pub fn validate_options(spec: &RunSpec) -> Result<Options, RunError> {
    let locale: Locale = spec
        .locale
        .parse()
        .map_err(|e: elma_import_contract::UnknownLocale| RunError::Config(e.to_string()))?;
    let time_zone = match spec.time_zone.as_deref() {
        Some(zone) => zone
            .parse()
            .map_err(|e: elma_import_validate::UnknownTimeZone| RunError::Config(e.to_string()))?,
        None => elma_import_validate::TimeZone::Local,
    };
    Ok(Options { locale, ignore_unknown: spec.ignore_unknown, time_zone })
}

/// The Excel number format for date cells of chunk files in a locale (`ru` unless `en`).
pub fn date_format(locale: &str) -> &'static str {
    locale.parse::<elma_import_contract::Locale>().unwrap_or_default().excel_datetime_format()
}

/// The source's header as the run's column map (`--map`) renames it; the chunks carry it.
pub fn mapped_header(
    spec: &RunSpec,
    header: &elma_import_sheet::Row,
) -> Result<elma_import_sheet::Row, RunError> {
    elma_import_validate::ColumnMap::new(spec.column_map.clone())
        .apply(header)
        .map_err(|e| RunError::Config(e.to_string()))
}

/// Most characters an .xlsx cell holds.
const XLSX_CELL_LIMIT: usize = 32_767;

/// Cells an .xlsx chunk could not hold, as errors (row, column, header, value, rule,
/// message). A row's total text is looked at first, so ordinary rows cost one comparison.
fn too_long_for_xlsx(
    batch: &[elma_import_sheet::Row],
    validator: &Validator,
) -> Vec<(u64, usize, String, String, &'static str, String)> {
    let mut out = Vec::new();
    for row in batch.iter().filter(|r| r.text_len() > XLSX_CELL_LIMIT) {
        for (i, cell) in row.iter().enumerate() {
            let chars = cell.text.chars().count();
            if chars > XLSX_CELL_LIMIT {
                let header = validator.columns().get(i).map(|c| c.header.clone()).unwrap_or_default();
                let value: String = cell.text.chars().take(80).collect();
                let message = format!(
                    "the cell holds {chars} characters; an .xlsx chunk holds at most {XLSX_CELL_LIMIT} per cell: \
                     run with --chunk-format csv to send it whole"
                );
                out.push((row.number, i, header, format!("{value}…"), "too_long_for_xlsx", message));
            }
        }
    }
    out
}

/// Where the chunk files of a run live.
pub fn chunks_dir(dir: &Path) -> PathBuf {
    dir.join("chunks")
}

/// Validates, plans and chunks. Writes `errors.csv` (the validation part, in the layout
/// of [`crate::report::ERROR_COLUMNS`]), `rejects.csv` (the invalid rows in full),
/// `plan.json` and the chunk files with `chunks/manifest.json` into the run directory `dir`.
pub fn prepare(
    dir: &Path,
    spec: &RunSpec,
    schema: &AppSchema,
    observer: &dyn Observer,
) -> Result<Preparation, RunError> {
    let errors_path = dir.join("errors.csv");
    let checked = check_pass(spec, schema, &errors_path, observer)?;
    let (rows, invalid) = (checked.rows, checked.invalid);
    let valid = rows - invalid - checked.examples;
    if invalid > 0 && !spec.skip_invalid {
        return Err(RunError::InvalidRows { invalid, rows, errors: errors_path });
    }
    if valid == 0 {
        return Err(RunError::Nothing(if rows == 0 {
            format!("`{}` has no data rows", spec.source.display())
        } else {
            format!(
                "all {rows} rows of `{}` are invalid (see `{}`)",
                spec.source.display(),
                errors_path.display()
            )
        }));
    }
    let plan = elma_import_chunk::plan(&PlanInput {
        rows: valid,
        bytes: spec.source_bytes.saturating_mul(valid) / rows.max(1),
        with_event_handlers: spec.with_event_handlers,
        rows_per_chunk: spec.rows_per_chunk,
        allow_over_limit: spec.allow_over_limit,
        import_rows_per_sec: spec.import_rows_per_sec,
        pause: spec.pause_secs.map(std::time::Duration::from_secs_f64),
    })?;
    write_json(&dir.join("plan.json"), &plan)?;
    let manifest = chunk_pass(dir, spec, &checked, plan.rows_per_chunk, observer)?;
    Ok(Preparation { rows, valid, invalid, plan, manifest })
}

/// What the first pass over the source found.
struct Checked {
    /// The header as the chunks carry it.
    header: elma_import_sheet::Row,
    /// Non-blank data rows.
    rows: u64,
    /// Rows with errors.
    invalid: u64,
    /// The template's example rows left out.
    examples: u64,
    /// Rows not to send (invalid and example rows), in order.
    skipped: Vec<u64>,
}

/// Pass 1: reads and checks every row, writing `errors.csv`.
fn check_pass(
    spec: &RunSpec,
    schema: &AppSchema,
    errors_path: &Path,
    observer: &dyn Observer,
) -> Result<Checked, RunError> {
    let format = spec.chunk_format();
    let mut reader = elma_import_sheet::open(&spec.source, &read_options(spec))?;
    let header = mapped_header(spec, reader.header())?;
    let validator = Validator::new(schema, &header, &validate_options(spec)?)
        .map_err(|errors| RunError::Header { file: spec.source.clone(), errors })?;
    let mut errors_out = csv::Writer::from_path(errors_path)
        .map_err(|e| RunError::io(format!("cannot write `{}`", errors_path.display()), e.into()))?;
    let csv_err = |e: csv::Error| RunError::io(format!("cannot write `{}`", errors_path.display()), e.into());
    errors_out.write_record(crate::report::ERROR_COLUMNS).map_err(csv_err)?;
    let mut invalid_rows: Vec<u64> = Vec::new();
    let mut rows = 0u64;
    let example =
        if spec.keep_example_row { None } else { elma_import_template::ExampleRow::new(schema, &header) };
    let mut example_rows: Vec<u64> = Vec::new();
    validator.check_while_reading(&mut reader);
    while let Some((batch, checked)) = validator.next_checked(&mut reader)? {
        rows += batch.iter().filter(|r| !r.is_blank()).count() as u64;
        let before = example_rows.len();
        if let Some(example) = &example {
            example_rows.extend(batch.iter().filter(|r| example.matches(r)).map(|r| r.number));
        }
        let skipped = &example_rows[before..];
        let mut errors: Vec<(u64, usize, String, String, &str, String, String)> = checked
            .into_iter()
            .filter(|e| !skipped.contains(&e.row))
            .map(|e| {
                let fix = e.fix.unwrap_or_default();
                (e.row, e.column.unwrap_or(0), e.header, e.value, e.rule.as_str(), e.message, fix)
            })
            .collect();
        if format == Format::Xlsx {
            errors.extend(
                too_long_for_xlsx(&batch, &validator)
                    .into_iter()
                    .map(|(r, c, h, v, rule, m)| (r, c, h, v, rule, m, String::new())),
            );
            errors.sort_by_key(|e| (e.0, e.1));
        }
        for (row, column, header, value, rule, message, fix) in &errors {
            if invalid_rows.last() != Some(row) {
                invalid_rows.push(*row);
            }
            let letters = elma_import_sheet::column_letters(*column);
            let record = [&row.to_string(), &letters, header, value, *rule, message, fix, "validation"];
            errors_out.write_record(record).map_err(csv_err)?;
        }
        let (done, total) = reader.progress();
        observer.on(&Progress::Preparing { done, total });
        reader.recycle(batch);
    }
    errors_out.flush().map_err(|e| RunError::io(format!("cannot write `{}`", errors_path.display()), e))?;
    for row in &example_rows {
        observer.on(&Progress::Message(format!(
            "row {row} is the template's example row: skipped (pass --keep-example-row to import it)"
        )));
    }
    let (invalid, examples) = (invalid_rows.len() as u64, example_rows.len() as u64);
    invalid_rows.extend(&example_rows);
    invalid_rows.sort_unstable();
    Ok(Checked { header, rows, invalid, examples, skipped: invalid_rows })
}

/// Pass 2: writes the rows to send into chunks of `rows_per_chunk` and the others into
/// `rejects.csv`; returns the saved manifest.
fn chunk_pass(
    dir: &Path,
    spec: &RunSpec,
    checked: &Checked,
    rows_per_chunk: u64,
    observer: &dyn Observer,
) -> Result<Manifest, RunError> {
    let out = chunks_dir(dir);
    if out.exists() {
        std::fs::remove_dir_all(&out)
            .map_err(|e| RunError::io(format!("cannot clear `{}`", out.display()), e))?;
    }
    std::fs::create_dir_all(&out)
        .map_err(|e| RunError::io(format!("cannot create `{}`", out.display()), e))?;
    let header = &checked.header;
    let mut reader = elma_import_sheet::open(&spec.source, &read_options(spec))?;
    let write_options =
        WriteOptions { date_format: date_format(&spec.locale).to_string(), ..WriteOptions::default() };
    let mut writer =
        ChunkWriter::new(&out, "chunk", header, rows_per_chunk, spec.chunk_format(), write_options)?;
    let rejects_path = dir.join("rejects.csv");
    let rejects_err =
        |e: csv::Error| RunError::io(format!("cannot write `{}`", rejects_path.display()), e.into());
    let mut rejects = csv::Writer::from_path(&rejects_path).map_err(rejects_err)?;
    let mut head = vec!["row".to_string()];
    head.extend(header.iter().map(|c| c.text.to_string()));
    rejects.write_record(&head).map_err(rejects_err)?;
    let mut skip = checked.skipped.iter().peekable();
    while let Some(batch) = reader.next_batch()? {
        for row in batch.iter().filter(|r| !r.is_blank()) {
            while skip.peek().is_some_and(|&&n| n < row.number) {
                skip.next();
            }
            if skip.peek() == Some(&&row.number) {
                let cells = row.iter().map(|c| c.text.to_string());
                let record = crate::report::reject_record(row.number, cells, header.len());
                rejects.write_record(&record).map_err(rejects_err)?;
                continue;
            }
            writer.push(row)?;
        }
        let (done, total) = reader.progress();
        observer.on(&Progress::Chunking { done, total });
        reader.recycle(batch);
    }
    rejects.flush().map_err(|e| RunError::io(format!("cannot write `{}`", rejects_path.display()), e))?;
    let manifest = writer.finish()?;
    manifest.save(&out)?;
    Ok(manifest)
}
