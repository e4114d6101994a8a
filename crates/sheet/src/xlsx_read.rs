//! The streaming .xlsx reader. Two engines feed one row assembler on a background
//! thread, which sends rows in batches:
//!
//! * calamine's cell reader, for small workbooks: calamine reads the whole
//!   shared-strings table (SST) into memory before the first cell;
//! * our own streaming reader ([`crate::xlsx_stream`]) when the SST part is over
//!   [`SST_STREAM_THRESHOLD`] uncompressed: the SST is parsed on a thread of its own
//!   *while* the sheet is parsed with quick-xml (the first strings kept in memory, the
//!   rest in a temporary file, [`crate::xlsx_sst`]), giving the same cells calamine
//!   gives. Reading the table beside the sheet, rather than before it, makes this path
//!   faster than calamine's as soon as the table is a few MiB, and its memory flat.

use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, SyncSender};
use std::sync::Arc;

use calamine::{DataRef, Reader as _, SheetType, Xlsx, XlsxCellFormula, XlsxCellReader, XlsxError};

use crate::error::SheetError;
use crate::inflate_ahead::inflate_ahead;
use crate::number::{push_iso_date, push_number, serial_from_iso, DAYS_1904};
use crate::options::ReadOptions;
use crate::pool::{RowPool, Spares};
use crate::read_ahead::{Message, ReadAhead, AHEAD};
use crate::row::{CellKind, Row};
use crate::xlsx_cells::CellSource;
use crate::xlsx_parts::{xml_reader, Package, SheetKind};
use crate::xlsx_sst::SharedStrings;
use crate::xlsx_stream::SheetCells;

/// Uncompressed size of the shared-strings part above which an .xlsx is read by the
/// streaming engine instead of calamine. Below it the table is read in a blink either
/// way; above it, parsing the table beside the sheet wins (100,000 rows with a 27 MB
/// table: 0.95× calamine's bare cell reader, against 1.12× through calamine), and
/// calamine would hold several times the table's size in memory.
pub(crate) const SST_STREAM_THRESHOLD: u64 = 1 << 20;

/// Which engine reads an .xlsx.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Engine {
    /// By the size of the shared-strings part.
    Auto,
    /// calamine's cell reader.
    Calamine,
    /// The streaming reader.
    Streaming,
}

impl<RS: Read + Seek> CellSource for XlsxCellReader<'_, RS> {
    fn next_cell(&mut self) -> Result<Option<XlsxCellFormula<'_>>, XlsxError> {
        self.next_cell_with_formula()
    }
}

/// Opens an .xlsx with the engine its shared-strings table calls for.
pub(crate) fn open(path: &Path, options: &ReadOptions) -> Result<ReadAhead, SheetError> {
    open_with(path, options, Engine::Auto)
}

/// Opens an .xlsx: a thread reads its worksheet with `engine` and sends the rows.
pub(crate) fn open_with(path: &Path, options: &ReadOptions, engine: Engine) -> Result<ReadAhead, SheetError> {
    let io = |source| SheetError::Io { path: path.to_path_buf(), source };
    let xlsx_err = |source| SheetError::Xlsx { path: path.to_path_buf(), source };
    let read = Arc::new(AtomicU64::new(0));
    let counting = || -> Result<Counting, SheetError> {
        read.store(0, Ordering::Relaxed);
        Ok(Counting { inner: File::open(path).map_err(io)?, pos: 0, max: Arc::clone(&read) })
    };
    let total = std::fs::metadata(path).map_err(io)?.len();
    let package = match engine {
        Engine::Calamine => None,
        Engine::Streaming => Some(Package::open(BufReader::new(counting()?)).map_err(xlsx_err)?),
        // Anything unexpected here is left to calamine to report, as before.
        Engine::Auto => {
            Package::open(BufReader::new(counting()?)).ok().filter(|p| has_large_sst(p, SST_STREAM_THRESHOLD))
        }
    };
    let batch_rows = options.batch();
    let thread_path = path.to_path_buf();

    if let Some(package) = package {
        let worksheets: Vec<String> =
            package.sheets.iter().filter(|s| s.kind == SheetKind::Work).map(|s| s.name.clone()).collect();
        let Some(sheet) = choose_sheet(&worksheets, options, path)? else {
            return Ok(no_sheet(read, total));
        };
        let part = package
            .sheets
            .iter()
            .find(|s| s.kind == SheetKind::Work && s.name == sheet)
            .map(|s| s.part.clone())
            .unwrap_or_default();
        let (again, progress) = (path.to_path_buf(), Arc::clone(&read));
        let open = move || Ok(Counting { inner: File::open(again)?, pos: 0, max: progress });
        return spawn(path, &sheet, batch_rows, read, total, move |out| {
            stream_package(package, &part, &thread_path, open, out)
        });
    }

    let mut workbook: Xlsx<_> = Xlsx::new(BufReader::new(counting()?)).map_err(xlsx_err)?;
    let worksheets: Vec<String> = workbook
        .sheets_metadata()
        .iter()
        .filter(|s| s.typ == SheetType::WorkSheet)
        .map(|s| s.name.clone())
        .collect();
    let Some(sheet) = choose_sheet(&worksheets, options, path)? else {
        return Ok(no_sheet(read, total));
    };
    let thread_sheet = sheet.clone();
    spawn(path, &sheet, batch_rows, read, total, move |out| {
        stream_calamine(&mut workbook, &thread_sheet, &thread_path, out)
    })
}

/// A workbook without worksheets: an empty header and no rows.
fn no_sheet(read: Arc<AtomicU64>, total: u64) -> ReadAhead {
    // A channel whose sender is gone reads as the end.
    let (_, rx) = sync_channel(0);
    ReadAhead::new(Row::new(1), "XLSX, no worksheet".to_string(), total, read, rx, RowPool::default())
}

/// Runs `work` on a reader thread and waits for the header it sends first.
fn spawn(
    path: &Path,
    sheet: &str,
    batch_rows: usize,
    read: Arc<AtomicU64>,
    total: u64,
    work: impl FnOnce(&mut Sender) -> Result<(), SheetError> + Send + 'static,
) -> Result<ReadAhead, SheetError> {
    let io = |source| SheetError::Io { path: path.to_path_buf(), source };
    let (tx, rx) = sync_channel(AHEAD);
    let (header_tx, header_rx) = sync_channel(1);
    let rows = RowPool::default();
    let spares = Spares::new(rows.clone());
    std::thread::Builder::new()
        .name("xlsx-reader".to_string())
        .spawn(move || {
            let mut out = Sender { tx, header_tx: Some(header_tx), batch_rows, batch: Vec::new(), spares };
            if let Err(e) = work(&mut out) {
                out.fail(e);
            }
        })
        .map_err(io)?;
    let header = match header_rx.recv() {
        Ok(Ok(header)) => header,
        Ok(Err(e)) => return Err(e),
        // The thread ended without a word: it panicked.
        Err(_) => {
            return Err(io(std::io::Error::other("the .xlsx reader thread stopped")));
        }
    };
    Ok(ReadAhead::new(header, format!("XLSX, sheet `{sheet}`"), total, read, rx, rows))
}

/// Whether the package's shared-strings part is over `threshold` bytes uncompressed
/// (the size the zip's directory records).
fn has_large_sst<R: Read + Seek>(package: &Package<R>, threshold: u64) -> bool {
    package
        .shared_strings
        .as_deref()
        .and_then(|part| package.part_size(part))
        .is_some_and(|size| size > threshold)
}

/// The worksheet to read: the one named in `options` (exactly, else ignoring case),
/// or the first; `None` when the workbook has no worksheet.
fn choose_sheet(
    worksheets: &[String],
    options: &ReadOptions,
    path: &Path,
) -> Result<Option<String>, SheetError> {
    match &options.sheet {
        Some(wanted) => worksheets
            .iter()
            .find(|n| *n == wanted)
            .or_else(|| worksheets.iter().find(|n| n.to_lowercase() == wanted.to_lowercase()))
            .cloned()
            .map(Some)
            .ok_or_else(|| SheetError::SheetNotFound {
                path: path.to_path_buf(),
                sheet: wanted.clone(),
                available: worksheets.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", "),
            }),
        None => Ok(worksheets.first().cloned()),
    }
}

/// The thread's end of the channels: the header goes first, then data batches.
struct Sender {
    tx: SyncSender<Message>,
    header_tx: Option<SyncSender<Result<Row, SheetError>>>,
    batch_rows: usize,
    batch: Vec<Row>,
    /// Rows to fill: the ones the caller handed back, else new.
    spares: Spares,
}

/// The reader was dropped: stop reading.
struct Hangup;

impl Sender {
    fn row(&mut self, row: Row) -> Result<(), Hangup> {
        if let Some(header_tx) = self.header_tx.take() {
            if row.number == 1 {
                return header_tx.send(Ok(row)).map_err(|_| Hangup);
            }
            header_tx.send(Ok(Row::new(1))).map_err(|_| Hangup)?;
        }
        if row.is_empty() {
            return Ok(());
        }
        self.batch.push(row);
        if self.batch.len() >= self.batch_rows {
            let batch = std::mem::replace(&mut self.batch, Vec::with_capacity(self.batch_rows.min(1 << 16)));
            self.tx.send(Ok(batch)).map_err(|_| Hangup)?;
        }
        Ok(())
    }

    fn finish(&mut self) -> Result<(), Hangup> {
        if let Some(header_tx) = self.header_tx.take() {
            header_tx.send(Ok(Row::new(1))).map_err(|_| Hangup)?;
        }
        if !self.batch.is_empty() {
            let batch = std::mem::take(&mut self.batch);
            self.tx.send(Ok(batch)).map_err(|_| Hangup)?;
        }
        Ok(())
    }

    fn fail(&mut self, e: SheetError) {
        match self.header_tx.take() {
            Some(header_tx) => {
                let _ = header_tx.send(Err(e));
            }
            None => {
                // Rows read before the error are still worth having.
                if !self.batch.is_empty() {
                    let batch = std::mem::take(&mut self.batch);
                    if self.tx.send(Ok(batch)).is_err() {
                        return;
                    }
                }
                let _ = self.tx.send(Err(e));
            }
        }
    }
}

/// The calamine engine: its cell reader over the sheet.
fn stream_calamine<RS: Read + Seek>(
    workbook: &mut Xlsx<RS>,
    sheet: &str,
    path: &Path,
    out: &mut Sender,
) -> Result<(), SheetError> {
    let xlsx_err = |source: XlsxError| SheetError::Xlsx { path: path.to_path_buf(), source };
    let is_1904 = workbook.has_1904_epoch();
    let mut cells = workbook.worksheet_cells_reader(sheet).map_err(xlsx_err)?;
    assemble(&mut cells, is_1904, path, out)
}

/// The streaming engine: the shared strings spooled to a temporary file, and the sheet
/// part inflated, each on a thread of its own while the sheet is parsed on this one.
/// `open` opens the file again for the inflating thread.
fn stream_package<R: Read + Seek>(
    mut package: Package<R>,
    part: &str,
    path: &Path,
    open: impl FnOnce() -> std::io::Result<Counting> + Send + 'static,
    out: &mut Sender,
) -> Result<(), SheetError> {
    let xlsx_err = |source: XlsxError| SheetError::Xlsx { path: path.to_path_buf(), source };
    if !package.has_part(part) {
        return Err(xlsx_err(XlsxError::FileNotFound(part.to_string())));
    }
    // The strings are spooled on another thread while the sheet is read.
    let strings = match &package.shared_strings {
        Some(sst) => SharedStrings::spool_in_background(path.to_path_buf(), package.entry_name(sst))
            .map_err(xlsx_err)?,
        None => SharedStrings::default(),
    };
    let formats = package.number_formats().map_err(xlsx_err)?;
    let is_1904 = package.is_1904;
    let xml = xml_reader(inflate_ahead(open, package.entry_name(part)).map_err(xlsx_err)?);
    let mut cells = SheetCells::new(xml, strings, formats, is_1904).map_err(xlsx_err)?;
    assemble(&mut cells, is_1904, path, out)
}

/// Assembles cells into rows (numbered by their real row) and sends them.
fn assemble(
    cells: &mut impl CellSource,
    is_1904: bool,
    path: &Path,
    out: &mut Sender,
) -> Result<(), SheetError> {
    let xlsx_err = |source: XlsxError| SheetError::Xlsx { path: path.to_path_buf(), source };
    let mut row = Row::new(1);
    let mut row_index: Option<u32> = None;
    loop {
        let cell = match cells.next_cell() {
            Ok(Some(cell)) => cell,
            Ok(None) => break,
            // The rows complete so far are handed over before the error.
            Err(source) => return Err(xlsx_err(source)),
        };
        let (r, c) = cell.pos;
        if row_index != Some(r) {
            if row_index.is_some() {
                let done = std::mem::replace(&mut row, out.spares.row(16, 256));
                if out.row(done).is_err() {
                    return Ok(());
                }
            }
            row_index = Some(r);
            row.clear(u64::from(r) + 1);
        }
        let col = c as usize;
        if col < row.len() {
            // Cells out of order within a row: keep the first (never seen in practice).
            continue;
        }
        if is_nothing(&cell.value, cell.formula.is_some()) {
            continue;
        }
        while row.len() < col {
            row.push(CellKind::Empty, "", 0.0);
        }
        push_value(&mut row, cell.value, cell.formula, is_1904);
    }
    if row_index.is_some() && out.row(row).is_err() {
        return Ok(());
    }
    let _ = out.finish();
    Ok(())
}

/// A cell that adds nothing to its row (styled but empty).
fn is_nothing(value: &DataRef<'_>, has_formula: bool) -> bool {
    match value {
        DataRef::Empty => !has_formula,
        DataRef::String(s) => s.is_empty(),
        DataRef::SharedString(s) => s.is_empty(),
        _ => false,
    }
}

fn push_value(row: &mut Row, value: DataRef<'_>, formula: Option<String>, is_1904: bool) {
    match value {
        DataRef::Int(i) => row.push_with(CellKind::Number, i as f64, |b| push_number(b, i as f64)),
        DataRef::Float(f) => row.push_with(CellKind::Number, f, |b| push_number(b, f)),
        DataRef::String(s) => row.push_text(&s),
        DataRef::SharedString(s) => row.push_text(s),
        DataRef::Bool(b) => {
            row.push(CellKind::Bool, if b { "true" } else { "false" }, if b { 1.0 } else { 0.0 })
        }
        DataRef::DateTime(dt) if dt.is_datetime() => {
            let serial = if is_1904 { dt.as_f64() + DAYS_1904 } else { dt.as_f64() };
            row.push_with(CellKind::Date, serial, |b| push_iso_date(b, serial));
        }
        // A duration (`[h]:mm`): its number of days.
        DataRef::DateTime(dt) => {
            let days = dt.as_f64();
            row.push_with(CellKind::Number, days, |b| push_number(b, days));
        }
        DataRef::DateTimeIso(s) => match serial_from_iso(&s) {
            Some(serial) => row.push_with(CellKind::Date, serial, |b| push_iso_date(b, serial)),
            None => row.push_text(&s),
        },
        DataRef::DurationIso(s) => row.push_text(&s),
        DataRef::Error(e) => row.push_with(CellKind::Error, 0.0, |b| {
            use std::fmt::Write as _;
            let _ = write!(b, "{e}");
        }),
        DataRef::Empty => match formula {
            Some(f) => row.push_with(CellKind::FormulaWithoutValue, 0.0, |b| {
                b.push('=');
                b.push_str(&f);
            }),
            None => row.push(CellKind::Empty, "", 0.0),
        },
    }
}

/// A file that records the furthest byte read, for progress.
struct Counting {
    inner: File,
    pos: u64,
    max: Arc<AtomicU64>,
}

impl Read for Counting {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.pos += n as u64;
        self.max.fetch_max(self.pos, Ordering::Relaxed);
        Ok(n)
    }
}

impl Seek for Counting {
    fn seek(&mut self, to: SeekFrom) -> std::io::Result<u64> {
        self.pos = self.inner.seek(to)?;
        Ok(self.pos)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn package(name: &str) -> Package<File> {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures").join(name);
        Package::open(File::open(path).expect("fixture")).expect("package")
    }

    #[test]
    fn the_engine_follows_the_shared_strings_size() {
        let with_sst = package("contacts_xlsxwriter.xlsx");
        assert_eq!(with_sst.shared_strings.as_deref(), Some("xl/sharedStrings.xml"));
        assert!(!has_large_sst(&with_sst, SST_STREAM_THRESHOLD), "a small table stays with calamine");
        assert!(has_large_sst(&with_sst, 100), "a table over the threshold is streamed");
        assert!(!has_large_sst(&package("inline_strings.xlsx"), 0), "no table, nothing to stream");
    }
}
