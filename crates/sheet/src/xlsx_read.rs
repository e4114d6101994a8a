//! The streaming .xlsx reader: calamine's cell reader on a background thread, which
//! assembles rows and sends them in batches.

use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, SyncSender};
use std::sync::Arc;

use calamine::{DataRef, Reader as _, SheetType, Xlsx, XlsxError};

use crate::number::{push_iso_date, push_number, serial_from_iso, DAYS_1904};
use crate::read_ahead::{Batches, Message};
use crate::{CellKind, ReadOptions, Row, SheetError};

pub(crate) struct XlsxReader {
    sheet: String,
    header: Row,
    batches: Batches,
    read: Arc<AtomicU64>,
    total: u64,
}

impl XlsxReader {
    pub(crate) fn open(path: &Path, options: &ReadOptions) -> Result<XlsxReader, SheetError> {
        let io = |source| SheetError::Io { path: path.to_path_buf(), source };
        let file = File::open(path).map_err(io)?;
        let total = file.metadata().map_err(io)?.len();
        let read = Arc::new(AtomicU64::new(0));
        let counting = Counting { inner: file, pos: 0, max: Arc::clone(&read) };
        let xlsx_err = |source| SheetError::Xlsx { path: path.to_path_buf(), source };
        let mut workbook: Xlsx<_> = Xlsx::new(BufReader::new(counting)).map_err(xlsx_err)?;

        let worksheets: Vec<String> = workbook
            .sheets_metadata()
            .iter()
            .filter(|s| s.typ == SheetType::WorkSheet)
            .map(|s| s.name.clone())
            .collect();
        let sheet = match &options.sheet {
            Some(wanted) => worksheets
                .iter()
                .find(|n| *n == wanted)
                .or_else(|| worksheets.iter().find(|n| n.to_lowercase() == wanted.to_lowercase()))
                .cloned()
                .ok_or_else(|| SheetError::SheetNotFound {
                    path: path.to_path_buf(),
                    sheet: wanted.clone(),
                    available: worksheets.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", "),
                })?,
            None => match worksheets.first() {
                Some(name) => name.clone(),
                None => {
                    // No worksheet: a channel whose sender is gone reads as the end.
                    let (_, rx) = sync_channel(0);
                    return Ok(XlsxReader {
                        sheet: String::new(),
                        header: Row::new(1),
                        batches: Batches::new(rx),
                        read,
                        total,
                    });
                }
            },
        };

        let (tx, rx) = sync_channel(2);
        let (header_tx, header_rx) = sync_channel(1);
        let batch_rows = options.batch();
        let thread_path = path.to_path_buf();
        let thread_sheet = sheet.clone();
        std::thread::Builder::new()
            .name("xlsx-reader".to_string())
            .spawn(move || {
                let mut out = Sender { tx, header_tx: Some(header_tx), batch_rows, batch: Vec::new() };
                if let Err(e) = stream(&mut workbook, &thread_sheet, &thread_path, &mut out) {
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
        Ok(XlsxReader { sheet, header, batches: Batches::new(rx), read, total })
    }

    pub(crate) fn header(&self) -> &Row {
        &self.header
    }

    pub(crate) fn next_batch(&mut self) -> Result<Option<Vec<Row>>, SheetError> {
        self.batches.next()
    }

    pub(crate) fn progress(&self) -> (u64, u64) {
        let read = if self.batches.is_done() { self.total } else { self.read.load(Ordering::Relaxed) };
        (read.min(self.total), self.total)
    }

    pub(crate) fn describe(&self) -> String {
        if self.sheet.is_empty() {
            "XLSX, no worksheet".to_string()
        } else {
            format!("XLSX, sheet `{}`", self.sheet)
        }
    }
}

/// The thread's end of the channels: the header goes first, then data batches.
struct Sender {
    tx: SyncSender<Message>,
    header_tx: Option<SyncSender<Result<Row, SheetError>>>,
    batch_rows: usize,
    batch: Vec<Row>,
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

fn stream<RS: Read + Seek>(
    workbook: &mut Xlsx<RS>,
    sheet: &str,
    path: &Path,
    out: &mut Sender,
) -> Result<(), SheetError> {
    let xlsx_err = |source: XlsxError| SheetError::Xlsx { path: path.to_path_buf(), source };
    let is_1904 = workbook.has_1904_epoch();
    let mut cells = workbook.worksheet_cells_reader(sheet).map_err(xlsx_err)?;
    let mut row = Row::new(1);
    let mut row_index: Option<u32> = None;
    loop {
        let cell = match cells.next_cell_with_formula() {
            Ok(Some(cell)) => cell,
            Ok(None) => break,
            // The rows complete so far are handed over before the error.
            Err(source) => return Err(xlsx_err(source)),
        };
        let (r, c) = cell.pos;
        if row_index != Some(r) {
            if row_index.is_some() {
                let done = std::mem::replace(&mut row, Row::with_capacity(0, 16, 256));
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
