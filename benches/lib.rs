//! Fixtures and measured loops shared by the criterion benches (`benches/benches/*.rs`)
//! and the `measure` binary (`benches/src/bin/measure.rs`).
//!
//! Input files are generated, never committed: [`sample_csv`] writes a deterministic
//! sample of the `crm.contacts` app (13 columns, 1 % of rows with one bad cell) with
//! `elma_import_template::sample`, and [`sample_xlsx`] turns it into an .xlsx with the
//! sheet crate's own writer. Both are cached under [`data_dir`] (`benches/out/data`,
//! gitignored) and reused by later runs.
//!
//! The loops measured are the ones the CLI runs: [`read_only`] (open + `next_batch`),
//! [`read_validate`] (batches checked as they are parsed, as `elma-import validate`
//! does), [`calamine_cells`] (the bare calamine cell reader: the ceiling of
//! any .xlsx reader built on it) and [`write_chunks`] (the `ChunkWriter` of `split`).
//!
//! ```
//! use elma_import_benches::{contacts_schema, read_validate, write_sample_csv};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
//! let dir = std::env::temp_dir().join(format!("benches-doc-{}", std::process::id()));
//! std::fs::create_dir_all(&dir)?;
//! let path = dir.join("contacts.csv");
//! let info = write_sample_csv(&path, 200)?;
//! let counts = read_validate(&path, &contacts_schema()?)?;
//! assert_eq!(counts.rows, 200);
//! assert_eq!(counts.cells, 200 * 13);
//! // Every planted bad cell is reported (a cell may break more than one rule).
//! assert!(counts.errors >= info.planted.len() as u64);
//! # std::fs::remove_dir_all(&dir)?;
//! # Ok(())
//! # }
//! ```

pub mod pace;

use std::path::{Path, PathBuf};

use calamine::{open_workbook, DataRef, Reader as _, Xlsx};
use elma_import_chunk::{ChunkWriter, Manifest};
use elma_import_contract::schema::AppSchema;
use elma_import_sheet::{Format, ReadOptions, Row, WriteOptions};
use elma_import_template::sample::{SampleInfo, SampleOptions};
use elma_import_validate::{Options, Validator};

/// What the benches and the `measure` binary return on failure.
pub type BenchError = Box<dyn std::error::Error + Send + Sync>;

/// Result of a bench helper.
pub type BenchResult<T> = Result<T, BenchError>;

/// Seed of every generated sample, so runs compare like with like.
pub const SEED: u64 = 20_240_601;

/// Share of generated rows holding one bad cell.
pub const BAD_SHARE: f64 = 0.01;

/// Rows per chunk file, as `elma-import split` writes by default.
pub const CHUNK_ROWS: u64 = 1000;

/// The schema text of the `crm.contacts` demo app (13 importable columns).
pub const CONTACTS_SCHEMA: &str = include_str!("../templates/crm.contacts.schema.json");

/// The `crm.contacts` demo app.
pub fn contacts_schema() -> BenchResult<AppSchema> {
    Ok(AppSchema::from_json(CONTACTS_SCHEMA)?)
}

/// Where generated inputs are cached: `$ELMA_BENCH_DATA`, else `benches/out/data`.
pub fn data_dir() -> PathBuf {
    match std::env::var_os("ELMA_BENCH_DATA") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("out").join("data"),
    }
}

/// Writes a `rows`-row sample of `crm.contacts` as a UTF-8 .csv (Russian formats).
pub fn write_sample_csv(path: &Path, rows: u64) -> BenchResult<SampleInfo> {
    let options =
        SampleOptions { rows, bad_share: BAD_SHARE, seed: SEED, locale: elma_import_template::Locale::Ru };
    Ok(elma_import_template::sample::write_csv(&contacts_schema()?, path, &options)?)
}

/// Copies a sheet into another file of `format` with the sheet crate's reader and
/// writer; returns the data rows written.
pub fn convert(from: &Path, to: &Path, format: Format) -> BenchResult<u64> {
    let mut reader = elma_import_sheet::open(from, &ReadOptions::default())?;
    let mut writer = elma_import_sheet::create(to, format, &WriteOptions::default())?;
    writer.write_row(reader.header())?;
    let mut rows = 0;
    while let Some(batch) = reader.next_batch()? {
        for row in &batch {
            writer.write_row(row)?;
        }
        rows += batch.len() as u64;
    }
    writer.finish()?;
    Ok(rows)
}

/// Makes `path` with `make` unless it exists; writes to a temporary name first so an
/// interrupted run never leaves a half-written cached file.
fn cached(path: PathBuf, make: impl FnOnce(&Path) -> BenchResult<()>) -> BenchResult<PathBuf> {
    if path.is_file() {
        return Ok(path);
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("sample");
    let tmp = path.with_file_name(format!("tmp-{}-{name}", std::process::id()));
    make(&tmp)?;
    std::fs::rename(&tmp, &path)?;
    Ok(path)
}

/// The cached `rows`-row sample .csv (generated on first use).
pub fn sample_csv(rows: u64) -> BenchResult<PathBuf> {
    cached(data_dir().join(format!("contacts-{rows}.csv")), |tmp| write_sample_csv(tmp, rows).map(drop))
}

/// The cached `rows`-row sample .xlsx: [`sample_csv`] written by the sheet crate.
pub fn sample_xlsx(rows: u64) -> BenchResult<PathBuf> {
    let csv = sample_csv(rows)?;
    cached(data_dir().join(format!("contacts-{rows}.xlsx")), |tmp| convert(&csv, tmp, Format::Xlsx).map(drop))
}

/// The cached `rows`-row sample as Excel saves it: text in the shared-strings table,
/// Amount and Quantity as numbers, Birth date as a date cell (`dd.mm.yyyy hh:mm`),
/// Active as a boolean; bad cells (`$125.60`, `31.02.2001 10:00`, `yes`) stay text.
pub fn sample_xlsx_typed(rows: u64) -> BenchResult<PathBuf> {
    let csv = sample_csv(rows)?;
    cached(data_dir().join(format!("contacts-{rows}.typed.xlsx")), |tmp| {
        write_typed_xlsx(&csv, tmp).map(drop)
    })
}

/// Writes `csv` (a `crm.contacts` sample) as a typed, shared-strings .xlsx (see
/// [`sample_xlsx_typed`]); returns the data rows written.
pub fn write_typed_xlsx(csv: &Path, xlsx: &Path) -> BenchResult<u64> {
    let mut reader = elma_import_sheet::open(csv, &ReadOptions::default())?;
    let header = reader.header().clone();
    let column = |name: &str| header.iter().position(|c| c.text == name);
    let (amount, quantity) = (column("Amount"), column("Quantity"));
    let (birth, active) = (column("Birth date"), column("Active"));
    let mut workbook = rust_xlsxwriter::Workbook::new();
    let date_format = rust_xlsxwriter::Format::new().set_num_format("dd.mm.yyyy hh:mm");
    let sheet = workbook.add_worksheet_with_low_memory()?;
    for (c, cell) in header.iter().enumerate() {
        sheet.write_string(0, c as u16, cell.text)?;
    }
    let mut rows = 0u64;
    while let Some(batch) = reader.next_batch()? {
        for row in &batch {
            rows += 1;
            let r = rows as u32;
            for (c, cell) in row.iter().enumerate() {
                let col = c as u16;
                let text = cell.text;
                if text.is_empty() {
                    continue;
                }
                let i = Some(c);
                if i == amount || i == quantity {
                    if let Ok(n) = text.parse::<f64>() {
                        sheet.write_number(r, col, n)?;
                        continue;
                    }
                } else if i == active && (text == "true" || text == "false") {
                    sheet.write_boolean(r, col, text == "true")?;
                    continue;
                } else if i == birth {
                    if let Some(dt) = ru_datetime(text) {
                        sheet.write_datetime_with_format(r, col, &dt, &date_format)?;
                        continue;
                    }
                }
                sheet.write_string(r, col, text)?;
            }
        }
    }
    workbook.save(xlsx)?;
    Ok(rows)
}

/// `dd.mm.yyyy hh:mm` as an Excel date, if it is a real date.
fn ru_datetime(text: &str) -> Option<rust_xlsxwriter::ExcelDateTime> {
    let (date, time) = text.split_once(' ')?;
    let mut d = date.split('.').map(str::parse::<u16>);
    let (day, month, year) = (d.next()?.ok()?, d.next()?.ok()?, d.next()?.ok()?);
    let (hour, minute) = time.split_once(':')?;
    let (hour, minute) = (hour.parse::<u16>().ok()?, minute.parse::<u8>().ok()?);
    let days_in_month = match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        1..=12 => 31,
        _ => return None,
    };
    if day == 0 || day > days_in_month {
        return None;
    }
    rust_xlsxwriter::ExcelDateTime::from_ymd(year, month as u8, day as u8).ok()?.and_hms(hour, minute, 0).ok()
}

/// What a measured loop saw.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Data rows (the header not counted).
    pub rows: u64,
    /// Cells of those rows, empty ones included up to each row's last.
    pub cells: u64,
    /// Cell errors the validator reported (0 when nothing was validated).
    pub errors: u64,
}

/// The validator of `crm.contacts` files in Russian formats, for `header`.
pub fn validator(schema: &AppSchema, header: &Row) -> BenchResult<Validator> {
    let options = Options { locale: elma_import_validate::Locale::Ru, ..Options::default() };
    Ok(Validator::new(schema, header, &options)?)
}

/// Reads the whole file into memory: its header and data rows.
pub fn read_all(path: &Path) -> BenchResult<(Row, Vec<Row>)> {
    let mut reader = elma_import_sheet::open(path, &ReadOptions::default())?;
    let header = reader.header().clone();
    let mut rows = Vec::new();
    while let Some(batch) = reader.next_batch()? {
        rows.extend(batch);
    }
    Ok((header, rows))
}

/// The parsing limit: the csv crate alone on one thread, reading raw records
/// (`ByteRecord`) and counting them, no decoding, no rows.
pub fn csv_bare(path: &Path) -> BenchResult<Counts> {
    let file = std::fs::File::open(path)?;
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .buffer_capacity(64 * 1024)
        .from_reader(file);
    let mut record = csv::ByteRecord::new();
    let mut counts = Counts::default();
    while reader.read_byte_record(&mut record)? {
        counts.rows += 1;
        counts.cells += record.len() as u64;
    }
    Ok(counts)
}

/// Reads every row (`open` + `next_batch` loop) and drops it.
pub fn read_only(path: &Path) -> BenchResult<Counts> {
    let mut reader = elma_import_sheet::open(path, &ReadOptions::default())?;
    let mut counts = Counts::default();
    while let Some(batch) = reader.next_batch()? {
        counts.rows += batch.len() as u64;
        counts.cells += batch.iter().map(|r| r.len() as u64).sum::<u64>();
        reader.recycle(batch);
    }
    Ok(counts)
}

/// Reads and validates the file as `elma-import validate` does: a large .csv's batches
/// are checked by the threads that parse them (`Validator::check_while_reading`), any
/// other's on all cores with `Validator::check_rows`; rows are handed back for reuse.
pub fn read_validate(path: &Path, schema: &AppSchema) -> BenchResult<Counts> {
    let mut reader = elma_import_sheet::open(path, &ReadOptions::default())?;
    let validator = validator(schema, reader.header())?;
    validator.check_while_reading(&mut reader);
    let mut counts = Counts::default();
    while let Some((batch, errors)) = validator.next_checked(&mut reader)? {
        counts.errors += errors.len() as u64;
        counts.rows += batch.len() as u64;
        counts.cells += batch.iter().map(|r| r.len() as u64).sum::<u64>();
        reader.recycle(batch);
    }
    Ok(counts)
}

/// Like [`read_validate`], but each batch is checked on the calling thread with a
/// `check_row` loop (no rayon): cheaper when the reader, not validation, is the limit.
pub fn read_validate_sequential(path: &Path, schema: &AppSchema) -> BenchResult<Counts> {
    let mut reader = elma_import_sheet::open(path, &ReadOptions::default())?;
    let validator = validator(schema, reader.header())?;
    let mut counts = Counts::default();
    let mut out = Vec::new();
    while let Some(batch) = reader.next_batch()? {
        for row in &batch {
            validator.check_row(row, &mut out);
        }
        counts.errors += out.len() as u64;
        out.clear();
        counts.rows += batch.len() as u64;
        counts.cells += batch.iter().map(|r| r.len() as u64).sum::<u64>();
        reader.recycle(batch);
    }
    Ok(counts)
}

/// The bare calamine cell reader over the first worksheet, touching every cell's
/// value: the most any reader built on calamine can do. Rows are counted without
/// the header.
pub fn calamine_cells(path: &Path) -> BenchResult<Counts> {
    let mut workbook: Xlsx<_> = open_workbook(path)?;
    let sheet = workbook.sheet_names().first().cloned().ok_or("the workbook has no sheet")?;
    let mut cells = workbook.worksheet_cells_reader(&sheet)?;
    let mut counts = Counts::default();
    let mut last_row = None;
    let mut bytes = 0usize;
    while let Some(cell) = cells.next_cell()? {
        let (r, _) = cell.get_position();
        if last_row != Some(r) {
            last_row = Some(r);
            if r > 0 {
                counts.rows += 1;
            }
        }
        if r > 0 {
            counts.cells += 1;
        }
        bytes += match cell.get_value() {
            DataRef::String(s) => s.len(),
            DataRef::SharedString(s) => s.len(),
            DataRef::DateTimeIso(s) | DataRef::DurationIso(s) => s.len(),
            DataRef::Int(_) | DataRef::Float(_) | DataRef::DateTime(_) => 8,
            DataRef::Bool(_) | DataRef::Error(_) => 1,
            DataRef::Empty => 0,
        };
    }
    std::hint::black_box(bytes);
    Ok(counts)
}

/// Writes `rows` into chunk files of [`CHUNK_ROWS`] rows under `dir` with the
/// `ChunkWriter` of `elma-import split` (each file hashed for the manifest).
pub fn write_chunks(dir: &Path, header: &Row, rows: &[Row], format: Format) -> BenchResult<Manifest> {
    let mut writer = ChunkWriter::new(dir, "contacts", header, CHUNK_ROWS, format, WriteOptions::default())?;
    for row in rows {
        writer.push(row)?;
    }
    Ok(writer.finish()?)
}

/// Cells of `rows`, empty ones included up to each row's last.
pub fn cells(rows: &[Row]) -> u64 {
    rows.iter().map(|r| r.len() as u64).sum()
}

/// Peak resident set of this process in bytes (`VmHWM` of `/proc/self/status`).
pub fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.trim_start_matches("VmHWM:").trim().trim_end_matches("kB").trim().parse().ok()?;
    Some(kb * 1024)
}

/// CPU time (user + system) this process has used so far, in seconds, from
/// `/proc/self/stat` (clock ticks of 1/100 s).
pub fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name, which is in parentheses and may hold spaces.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the whole line: 12 and 13 after `)`.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) as f64 / 100.0)
}

/// The token the benchmarks' in-process emulators accept.
pub const EMULATOR_TOKEN: &str = "bench";

/// An emulator config with the benches' token, importing `rows_per_sec` rows a second
/// with event handlers draining `handler_rate` jobs a second; the rest as by default.
pub fn emulator_config(rows_per_sec: f64, handler_rate: f64) -> elma_import_emulator::EmulatorConfig {
    elma_import_emulator::EmulatorConfig {
        tokens: vec![EMULATOR_TOKEN.into()],
        rows_per_sec,
        handler_rate,
        ..elma_import_emulator::EmulatorConfig::default()
    }
}

/// An in-process emulator of `config` on 127.0.0.1 ([`emulator_config`]), and a client
/// of it.
///
/// # Errors
/// The emulator cannot start or the client cannot be built.
pub async fn emulator_and_client(
    config: elma_import_emulator::EmulatorConfig,
) -> BenchResult<(elma_import_emulator::RunningEmulator, elma_import_client::Client)> {
    let emulator = elma_import_emulator::serve(config, "127.0.0.1:0".parse()?).await?;
    let client = elma_import_client::Client::new(elma_import_client::ClientConfig::new(
        emulator.base_url(),
        EMULATOR_TOKEN,
    ))?;
    Ok((emulator, client))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xlsx_sample_reads_the_same_rows_as_calamine_and_validates_like_the_csv() {
        let dir = tempfile::tempdir().unwrap();
        let csv = dir.path().join("s.csv");
        let xlsx = dir.path().join("s.xlsx");
        let info = write_sample_csv(&csv, 300).unwrap();
        assert_eq!(convert(&csv, &xlsx, Format::Xlsx).unwrap(), 300);
        let schema = contacts_schema().unwrap();
        let from_csv = read_validate(&csv, &schema).unwrap();
        let from_xlsx = read_validate(&xlsx, &schema).unwrap();
        let bare = calamine_cells(&xlsx).unwrap();
        assert_eq!(from_xlsx.rows, 300);
        assert_eq!(bare.rows, 300);
        assert_eq!(from_csv.errors, from_xlsx.errors);
        assert!(from_csv.errors >= info.planted.len() as u64);
        assert_eq!(read_validate_sequential(&xlsx, &schema).unwrap(), from_xlsx);
        let typed = dir.path().join("t.xlsx");
        assert_eq!(write_typed_xlsx(&csv, &typed).unwrap(), 300);
        let from_typed = read_validate(&typed, &schema).unwrap();
        assert_eq!(from_typed.rows, 300);
        assert_eq!(from_typed.errors, from_csv.errors, "typed cells validate like their text");
        assert_eq!(calamine_cells(&typed).unwrap().rows, 300);
    }

    #[test]
    fn chunks_hold_every_row() {
        let dir = tempfile::tempdir().unwrap();
        let csv = dir.path().join("s.csv");
        write_sample_csv(&csv, 2500).unwrap();
        let (header, rows) = read_all(&csv).unwrap();
        let manifest = write_chunks(&dir.path().join("chunks"), &header, &rows, Format::Xlsx).unwrap();
        assert_eq!(manifest.rows, 2500);
        assert_eq!(manifest.chunks.len(), 3);
        assert!(peak_rss_bytes().unwrap() > 0);
        assert!(cpu_seconds().is_some());
    }
}
