//! Preparation: validate the source, plan, and write the valid rows as chunk files.
//!
//! Two passes over the source keep memory flat: the first validates and counts (keeping
//! only the numbers of rows not to send, and a short hash of each key), the plan is made
//! from the counts, the second writes the chunks the plan asks for.
//!
//! A key column must identify rows: a row without a key, and every row of a key that
//! repeats, is rejected like an invalid row (rules `key_missing` and `key_repeated`).

use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};
use std::path::Path;

use elma_import_chunk::{ChunkWriter, Plan, PlanInput};
use elma_import_contract::keys::cell_key;
use elma_import_contract::schema::AppSchema;
use elma_import_sheet::{ReadOptions, Row, WriteOptions};
use elma_import_validate::Validator;

use crate::chunkfile::{chunks_dir, ChunkFiles};
use crate::error::RunError;
use crate::progress::{Observer, Progress};
use crate::settings::RunSettings;
use crate::spec::{write_json, RunSpec};

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
    pub files: ChunkFiles,
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

/// The source's header as the run's column map (`--map`) renames it.
pub fn mapped_header(spec: &RunSpec, header: &Row) -> Result<Row, RunError> {
    elma_import_validate::ColumnMap::new(spec.column_map.clone()).apply(header).map_err(|e| {
        RunError::Setting {
            name: "column map".into(),
            value: spec.column_map.iter().map(|(a, b)| format!("{a}={b}")).collect::<Vec<_>>().join(", "),
            why: e.to_string(),
        }
    })
}

/// Most characters an .xlsx cell holds.
const XLSX_CELL_LIMIT: usize = 32_767;

/// One line of `errors.csv` from preparation.
type Problem = (u64, usize, String, String, &'static str, String, String);

/// Cells an .xlsx chunk could not hold, as errors. A row's total text is looked at first,
/// so ordinary rows cost one comparison.
fn too_long_for_xlsx(batch: &[Row], validator: &Validator) -> Vec<Problem> {
    let mut out = Vec::new();
    for row in batch.iter().filter(|r| r.text_len() > XLSX_CELL_LIMIT) {
        for (i, cell) in row.iter().enumerate() {
            let chars = cell.text.chars().count();
            if chars > XLSX_CELL_LIMIT {
                let header = validator.columns().get(i).map(|c| c.header.clone()).unwrap_or_default();
                let value: String = cell.text.chars().take(80).collect();
                let message = format!(
                    "the cell holds {chars} characters; an .xlsx chunk holds at most {XLSX_CELL_LIMIT} per cell: \
                     send .csv chunks to send it whole"
                );
                out.push((
                    row.number,
                    i,
                    header,
                    format!("{value}…"),
                    "too_long_for_xlsx",
                    message,
                    String::new(),
                ));
            }
        }
    }
    out
}

/// Validates, plans and chunks. Writes `errors.csv` (the validation part, in the layout
/// of [`crate::report::ERROR_COLUMNS`]), `rejects.csv` (the rows not sent, in full),
/// `plan.json` and the chunk files with `chunks/manifest.json` into the run directory `dir`.
pub fn prepare(
    dir: &Path,
    spec: &RunSpec,
    settings: &RunSettings,
    schema: &AppSchema,
    observer: &dyn Observer,
) -> Result<Preparation, RunError> {
    let errors_path = dir.join("errors.csv");
    let checked = check_pass(spec, settings, schema, &errors_path, observer)?;
    let (rows, invalid) = (checked.rows, checked.invalid);
    let valid = rows - invalid - checked.examples;
    let refused = invalid - checked.left_out;
    if refused > 0 && !settings.skip_invalid {
        return Err(RunError::InvalidRows { invalid: refused, rows, errors: errors_path });
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
        with_event_handlers: settings.with_event_handlers,
        rows_per_chunk: spec.rows_per_chunk,
        allow_over_limit: spec.allow_over_limit,
        import_rows_per_sec: spec.import_rows_per_sec,
        pause: spec.pause_secs.map(std::time::Duration::from_secs_f64),
        temp_ttl: settings.temp_ttl,
    })?;
    write_json(&dir.join("plan.json"), &plan)?;
    let files = chunk_pass(dir, spec, settings, &checked, plan.rows_per_chunk, observer)?;
    Ok(Preparation { rows, valid, invalid, plan, files })
}

/// What the first pass over the source found.
struct Checked {
    /// The header as the source has it, mapped.
    header: Row,
    /// The columns the chunks keep (every column but unknown ones left out).
    keep: Option<Vec<usize>>,
    /// Non-blank data rows.
    rows: u64,
    /// Rows with errors (the rows left out included).
    invalid: u64,
    /// Rows the spec leaves out.
    left_out: u64,
    /// The template's example rows left out.
    examples: u64,
    /// Rows not to send (invalid and example rows), in order.
    skipped: Vec<u64>,
    /// The rules the rows were checked by (a .csv chunk writes date cells by them).
    validator: Validator,
}

/// The key column's check: each key once, every row with one.
struct Keys {
    column: usize,
    header: String,
    field: elma_import_contract::schema::Field,
    seen: HashMap<u128, (u64, bool)>,
    hasher: (std::hash::RandomState, std::hash::RandomState),
    found: Vec<Problem>,
}

impl Keys {
    fn new(settings: &RunSettings, validator: &Validator, schema: &AppSchema) -> Option<Keys> {
        let key = settings.key.as_ref()?;
        let field_index = schema.fields.iter().position(|f| f.code == key.field.code)?;
        let column = validator.columns().iter().find(|c| c.field == Some(field_index))?;
        Some(Keys {
            column: column.index,
            header: column.header.clone(),
            field: key.field.clone(),
            seen: HashMap::new(),
            hasher: (std::hash::RandomState::new(), std::hash::RandomState::new()),
            found: Vec::new(),
        })
    }

    fn hash(&self, key: &str) -> u128 {
        let half = |s: &std::hash::RandomState| {
            let mut h = s.build_hasher();
            h.write(key.as_bytes());
            h.finish()
        };
        (u128::from(half(&self.hasher.0)) << 64) | u128::from(half(&self.hasher.1))
    }

    /// Checks the key of a row that is otherwise valid.
    fn check(&mut self, row: &Row) {
        let text = row.get(self.column).text;
        let problem = |message: String, rule| {
            (row.number, self.column, self.header.clone(), text.to_string(), rule, message, String::new())
        };
        let Some(key) = cell_key(&self.field, text) else {
            let message =
                format!("the key column `{}` is empty: each row needs a key that identifies it", self.header);
            self.found.push(problem(message, "key_missing"));
            return;
        };
        let hash = self.hash(&key);
        match self.seen.get_mut(&hash) {
            None => {
                self.seen.insert(hash, (row.number, false));
            }
            Some((first, told)) => {
                let first_row = *first;
                let first_told = std::mem::replace(told, true);
                let message = format!(
                    "the key `{key}` of the column `{}` is also in row {first_row}: a key must identify one row",
                    self.header
                );
                self.found.push(problem(message, "key_repeated"));
                if !first_told {
                    let message = format!(
                        "the key `{key}` of the column `{}` repeats in row {}: a key must identify one row",
                        self.header, row.number
                    );
                    self.found.push((
                        first_row,
                        self.column,
                        self.header.clone(),
                        String::new(),
                        "key_repeated",
                        message,
                        String::new(),
                    ));
                }
            }
        }
    }
}

/// A cell error as an `errors.csv` line's fields.
fn problem(e: elma_import_validate::CellError) -> Problem {
    let fix = e.fix.unwrap_or_default();
    (e.row, e.column.unwrap_or(0), e.header, e.value, e.rule.as_str(), e.message, fix)
}

/// Pass 1: reads and checks every row, writing `errors.csv`.
fn check_pass(
    spec: &RunSpec,
    settings: &RunSettings,
    schema: &AppSchema,
    errors_path: &Path,
    observer: &dyn Observer,
) -> Result<Checked, RunError> {
    let format = settings.sheet_format();
    let mut reader = elma_import_sheet::open(&spec.source, &read_options(spec))?;
    let header = mapped_header(spec, reader.header())?;
    let validator = Validator::new(schema, &header, &settings.validate_options(spec))
        .map_err(|errors| RunError::Header { file: spec.source.clone(), errors })?;
    let keep = {
        let known: Vec<usize> =
            validator.columns().iter().filter(|c| c.field.is_some()).map(|c| c.index).collect();
        (known.len() < header.len()).then_some(known)
    };
    let csv_err = |e: csv::Error| RunError::io(format!("cannot write `{}`", errors_path.display()), e.into());
    let errors_tmp = crate::report::temporary(errors_path);
    let mut errors_out = csv::Writer::from_path(&errors_tmp).map_err(csv_err)?;
    errors_out.write_record(crate::report::ERROR_COLUMNS).map_err(csv_err)?;
    let mut invalid_rows: Vec<u64> = Vec::new();
    let mut rows = 0u64;
    let example =
        if spec.keep_example_row { None } else { elma_import_template::ExampleRow::new(schema, &header) };
    let mut example_rows: Vec<u64> = Vec::new();
    let mut keys = Keys::new(settings, &validator, schema);
    let left_out: HashMap<u64, &crate::spec::LeftOut> = spec.left_out.iter().map(|l| (l.row, l)).collect();
    validator.check_while_reading(&mut reader);
    while let Some((batch, checked)) = validator.next_checked(&mut reader)? {
        rows += batch.iter().filter(|r| !r.is_blank()).count() as u64;
        let before = example_rows.len();
        if let Some(example) = &example {
            example_rows.extend(batch.iter().filter(|r| example.matches(r)).map(|r| r.number));
        }
        let skipped = &example_rows[before..];
        let mut errors: Vec<Problem> =
            checked.into_iter().filter(|e| !skipped.contains(&e.row)).map(problem).collect();
        if format == elma_import_sheet::Format::Xlsx {
            errors.extend(too_long_for_xlsx(&batch, &validator));
            errors.sort_by_key(|e| (e.0, e.1));
        } else if reader.format() == elma_import_sheet::Format::Xlsx {
            // An .xlsx's date cells go into .csv chunks as text without seconds.
            let before = errors.len();
            for row in batch.iter().filter(|r| !skipped.contains(&r.number)) {
                errors.extend(validator.check_csv_dates(row).into_iter().map(problem));
            }
            if errors.len() > before {
                errors.sort_by_key(|e| (e.0, e.1));
            }
        }
        if !left_out.is_empty() {
            errors.retain(|e| !left_out.contains_key(&e.0));
            for row in batch.iter().filter(|r| left_out.contains_key(&r.number)) {
                let l = left_out[&row.number];
                let column = validator.columns().iter().find(|c| c.header == l.column).map_or(0, |c| c.index);
                errors.push((
                    row.number,
                    column,
                    l.column.clone(),
                    l.value.clone(),
                    "unresolved_reference",
                    l.reason.clone(),
                    String::new(),
                ));
            }
            errors.sort_by_key(|e| (e.0, e.1));
        }
        if let Some(keys) = &mut keys {
            let bad: std::collections::HashSet<u64> = errors.iter().map(|e| e.0).collect();
            for row in batch
                .iter()
                .filter(|r| !r.is_blank() && !bad.contains(&r.number) && !skipped.contains(&r.number))
            {
                keys.check(row);
            }
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
    drop(errors_out);
    if let Some(keys) = keys.filter(|k| !k.found.is_empty()) {
        // Key problems are known only once a key repeats: merged in source-row order.
        invalid_rows.extend(keys.found.iter().map(|p| p.0));
        invalid_rows.sort_unstable();
        invalid_rows.dedup();
        let written = std::fs::read(&errors_tmp)
            .map_err(|e| RunError::io(format!("cannot read `{}`", errors_tmp.display()), e))?;
        let merged = merge_problems(&written, keys.found).map_err(csv_err)?;
        std::fs::write(&errors_tmp, merged)
            .map_err(|e| RunError::io(format!("cannot write `{}`", errors_tmp.display()), e))?;
    }
    crate::report::commit(&errors_tmp, errors_path)?;
    for row in &example_rows {
        observer.on(&Progress::Message(format!(
            "row {row} is the template's example row: skipped (it is imported when the run is told to keep it)"
        )));
    }
    let (invalid, examples) = (invalid_rows.len() as u64, example_rows.len() as u64);
    invalid_rows.extend(&example_rows);
    invalid_rows.sort_unstable();
    let left_out = spec.left_out.iter().filter(|l| invalid_rows.binary_search(&l.row).is_ok()).count() as u64;
    Ok(Checked { header, keep, rows, invalid, left_out, examples, skipped: invalid_rows, validator })
}

/// `errors.csv`'s bytes with `more` problems merged in by source row.
fn merge_problems(csv_bytes: &[u8], more: Vec<Problem>) -> Result<Vec<u8>, csv::Error> {
    let mut records: Vec<(u64, Vec<String>)> = Vec::new();
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(csv_bytes);
    for record in reader.records() {
        let record = record?;
        let row = record.get(0).and_then(|r| r.parse().ok()).unwrap_or(0);
        records.push((row, record.iter().map(str::to_string).collect()));
    }
    for (row, column, header, value, rule, message, fix) in more {
        let letters = elma_import_sheet::column_letters(column);
        let record = vec![
            row.to_string(),
            letters,
            header,
            value,
            rule.to_string(),
            message,
            fix,
            "validation".into(),
        ];
        records.push((row, record));
    }
    records.sort_by_key(|r| r.0);
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(crate::report::ERROR_COLUMNS)?;
    for (_, r) in &records {
        w.write_record(r)?;
    }
    w.into_inner().map_err(|e| e.into_error().into())
}

/// `row` without the columns the chunks leave out.
fn kept(row: &Row, keep: &[usize]) -> Row {
    let mut out = Row::with_capacity(row.number, keep.len(), row.text_len());
    for &i in keep {
        let cell = row.get(i);
        out.push(cell.kind, cell.text, cell.number);
    }
    out
}

/// Pass 2: writes the rows to send into chunks of `rows_per_chunk` and the others into
/// `rejects.csv`; returns the chunk files.
fn chunk_pass(
    dir: &Path,
    spec: &RunSpec,
    settings: &RunSettings,
    checked: &Checked,
    rows_per_chunk: u64,
    observer: &dyn Observer,
) -> Result<ChunkFiles, RunError> {
    let out = chunks_dir(dir);
    if out.exists() {
        std::fs::remove_dir_all(&out)
            .map_err(|e| RunError::io(format!("cannot clear `{}`", out.display()), e))?;
    }
    std::fs::create_dir_all(&out)
        .map_err(|e| RunError::io(format!("cannot create `{}`", out.display()), e))?;
    let header = &checked.header;
    let chunk_header = match &checked.keep {
        Some(keep) => kept(header, keep),
        None => header.clone(),
    };
    let mut reader = elma_import_sheet::open(&spec.source, &read_options(spec))?;
    let write_options = WriteOptions {
        date_format: settings.locale.excel_datetime_format().to_string(),
        ..WriteOptions::default()
    };
    let dates_as_text = settings.sheet_format() == elma_import_sheet::Format::Csv
        && reader.format() == elma_import_sheet::Format::Xlsx;
    let mut writer = ChunkWriter::new(
        &out,
        "chunk",
        &chunk_header,
        rows_per_chunk,
        settings.sheet_format(),
        write_options,
    )?;
    let rejects_path = dir.join("rejects.csv");
    let rejects_err =
        |e: csv::Error| RunError::io(format!("cannot write `{}`", rejects_path.display()), e.into());
    let rejects_tmp = crate::report::temporary(&rejects_path);
    let mut rejects = csv::Writer::from_path(&rejects_tmp).map_err(rejects_err)?;
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
            // A .csv chunk writes an .xlsx's date cells the locale's way.
            let text = if dates_as_text { checked.validator.csv_row(row) } else { None };
            let row = text.as_ref().unwrap_or(row);
            match &checked.keep {
                Some(keep) => writer.push(&kept(row, keep))?,
                None => writer.push(row)?,
            }
        }
        let (done, total) = reader.progress();
        observer.on(&Progress::Chunking { done, total });
        reader.recycle(batch);
    }
    rejects.flush().map_err(|e| RunError::io(format!("cannot write `{}`", rejects_path.display()), e))?;
    drop(rejects);
    crate::report::commit(&rejects_tmp, &rejects_path)?;
    let manifest = writer.finish()?;
    manifest.save(&out)?;
    Ok(ChunkFiles::new(dir, manifest, settings.locale))
}
