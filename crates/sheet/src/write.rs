//! Writers of .csv and .xlsx files, whole or absent (see [`AtomicFile`]).

use std::io::Write;
use std::path::{Path, PathBuf};

use rust_xlsxwriter::{Color, Format as XlsxFormat, FormatPattern, Note, Workbook};

use crate::atomic::AtomicFile;
use crate::error::SheetError;
use crate::options::{Format, WriteOptions};
use crate::row::{CellKind, Row};

/// Most characters (UTF-16 code units) an .xlsx cell holds.
const MAX_XLSX_TEXT: usize = 32_767;
/// Rows and columns of an .xlsx sheet.
const MAX_XLSX_ROWS: u64 = 1_048_576;
const MAX_XLSX_COLUMNS: usize = 16_384;
/// Fill of cells that carry a note: light red.
const NOTE_FILL: u32 = 0xFFC7CE;

/// A streaming writer of one sheet; see [`create`].
///
/// The first row written is the header: in an .xlsx it is bold. Rows are written in
/// order, numbered 1, 2, … in the output whatever their [`Row::number`].
///
/// The file is whole or absent: rows go to a hidden temporary file beside the target,
/// renamed into place by [`Writer::finish`]. A writer dropped without `finish` (an
/// error, a closed pipe) removes its temporary file, and a file of the target's name
/// stays as it was.
pub struct Writer {
    path: PathBuf,
    rows: u64,
    inner: Inner,
    durable: bool,
}

enum Inner {
    Csv(Box<csv::Writer<AtomicFile>>),
    Xlsx(Box<XlsxOut>),
}

struct XlsxOut {
    /// Where the workbook is saved by `finish` (rust_xlsxwriter keeps the rows until then).
    file: AtomicFile,
    workbook: Workbook,
    /// Cell formats indexed by `bold | fill << 1 | date << 2`.
    formats: Vec<XlsxFormat>,
}

/// Returns a writer of `format` that makes `path` when finished ([`Writer::finish`]);
/// until then a file of that name stays as it was.
///
/// # Errors
/// The file cannot be created in its directory, or the sheet name is not valid in an
/// .xlsx (empty, over 31 characters, or holding `[]:*?/\`).
pub fn create(path: &Path, format: Format, options: &WriteOptions) -> Result<Writer, SheetError> {
    let io = |source| SheetError::Io { path: path.to_path_buf(), source };
    let file = AtomicFile::create(path).map_err(io)?;
    let inner = match format {
        Format::Csv => Inner::Csv(Box::new(
            csv::WriterBuilder::new()
                .delimiter(options.delimiter)
                .quote_style(csv::QuoteStyle::Necessary)
                .flexible(true)
                .from_writer(file),
        )),
        Format::Xlsx => {
            let write_err = |source| SheetError::XlsxWrite { path: path.to_path_buf(), source };
            let mut workbook = Workbook::new();
            workbook
                .add_worksheet_with_constant_memory()
                .map_err(write_err)?
                .set_name(&options.sheet_name)
                .map_err(write_err)?;
            let formats = (0..8)
                .map(|bits| {
                    let mut f = XlsxFormat::new();
                    if bits & 1 != 0 {
                        f = f.set_bold();
                    }
                    if bits & 2 != 0 {
                        f = f.set_pattern(FormatPattern::Solid).set_background_color(Color::RGB(NOTE_FILL));
                    }
                    if bits & 4 != 0 {
                        f = f.set_num_format(&options.date_format);
                    }
                    f
                })
                .collect();
            Inner::Xlsx(Box::new(XlsxOut { file, workbook, formats }))
        }
    };
    Ok(Writer { path: path.to_path_buf(), rows: 0, inner, durable: true })
}

impl Writer {
    /// Writes one row.
    ///
    /// # Errors
    /// An I/O error; for an .xlsx, text over 32,767 characters or a row or column
    /// beyond the sheet's limits.
    pub fn write_row(&mut self, row: &Row) -> Result<(), SheetError> {
        self.write_row_with_notes(row, &[])
    }

    /// Writes one row; in an .xlsx each cell listed by index (0-based) is filled light
    /// red and carries a note with the message (several notes on one cell are joined
    /// by line breaks). A .csv gets the row alone.
    ///
    /// # Errors
    /// As [`Writer::write_row`].
    pub fn write_row_with_notes(&mut self, row: &Row, notes: &[(usize, String)]) -> Result<(), SheetError> {
        let number = self.rows + 1;
        match &mut self.inner {
            Inner::Csv(w) => {
                let io = |e: csv::Error| SheetError::Io { path: self.path.clone(), source: io_error(e) };
                if row.is_empty() {
                    // An empty record is written as `""` so the row is not lost.
                    w.write_record([""]).map_err(io)?;
                } else {
                    w.write_record(row.iter().map(|c| c.text)).map_err(io)?;
                }
            }
            Inner::Xlsx(out) => write_xlsx_row(&self.path, out, number, row, notes)?,
        }
        self.rows = number;
        Ok(())
    }

    /// Whether [`Writer::finish`] syncs the file and its directory, so the file survives
    /// a crash once `finish` returns (the default; see [`AtomicFile::set_durable`]).
    pub fn set_durable(&mut self, durable: bool) {
        self.durable = durable;
    }

    /// Flushes and syncs the file and renames it into place, returning its size in
    /// bytes.
    ///
    /// # Errors
    /// An I/O error, or rust_xlsxwriter failing to assemble the workbook: the target
    /// then stays as it was.
    pub fn finish(self) -> Result<u64, SheetError> {
        let io = |source| SheetError::Io { path: self.path.clone(), source };
        let mut file = match self.inner {
            Inner::Csv(w) => w.into_inner().map_err(|e| io(e.into_error()))?,
            Inner::Xlsx(out) => {
                let XlsxOut { file, mut workbook, .. } = *out;
                let mut sink = Latch { inner: file, error: None };
                let saved = workbook.save_to_writer(&mut sink);
                // The first I/O error is the cause (a full disk, say), whatever rust_xlsxwriter
                // made of it; by then the zip writer inside has been dropped quietly.
                if let Some(source) = sink.error.take() {
                    return Err(io(source));
                }
                saved.map_err(|source| SheetError::XlsxWrite { path: self.path.clone(), source })?;
                sink.inner
            }
        };
        file.set_durable(self.durable);
        file.finish().map_err(io)
    }
}

/// The I/O error inside a csv writer's error (the system's own, so its code stays
/// readable: `ENOSPC`, `EFBIG`).
fn io_error(e: csv::Error) -> std::io::Error {
    match e.into_kind() {
        csv::ErrorKind::Io(e) => e,
        other => std::io::Error::other(format!("{other:?}")),
    }
}

/// A sink that, after its first error, keeps that error and takes every later write
/// without doing it. rust_xlsxwriter's zip writer, dropped after a failed write, tries
/// to finish the archive and prints `ZipWriter::drop: failed to finalize archive` to
/// stderr when that fails too; through this sink it does not fail, so nothing is printed
/// in front of the real error.
struct Latch<W: Write> {
    inner: W,
    error: Option<std::io::Error>,
}

impl<W: Write> Write for Latch<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.error.is_some() {
            return Ok(buf.len());
        }
        self.inner.write(buf).map_err(|e| self.keep(e))
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if self.error.is_some() {
            return Ok(());
        }
        self.inner.flush().map_err(|e| self.keep(e))
    }
}

impl<W: Write> Latch<W> {
    /// Keeps `e` and returns an error of the same kind for the caller.
    fn keep(&mut self, e: std::io::Error) -> std::io::Error {
        let kind = e.kind();
        let message = e.to_string();
        if e.kind() != std::io::ErrorKind::Interrupted {
            self.error = Some(e);
        }
        std::io::Error::new(kind, message)
    }
}

fn write_xlsx_row(
    path: &Path,
    out: &mut XlsxOut,
    number: u64,
    row: &Row,
    notes: &[(usize, String)],
) -> Result<(), SheetError> {
    let too_large = |column| SheetError::TooLarge {
        path: path.to_path_buf(),
        row: number,
        column,
        max_rows: MAX_XLSX_ROWS,
        max_columns: MAX_XLSX_COLUMNS,
    };
    if number > MAX_XLSX_ROWS {
        return Err(too_large(1));
    }
    let last_column = row.len().max(notes.iter().map(|(c, _)| c + 1).max().unwrap_or(0));
    if last_column > MAX_XLSX_COLUMNS {
        return Err(too_large(last_column));
    }
    let write_err = |source| SheetError::XlsxWrite { path: path.to_path_buf(), source };
    let r = (number - 1) as u32;
    let bold = number == 1;
    let XlsxOut { workbook, formats, .. } = out;
    let sheet = workbook.worksheet_from_index(0).map_err(write_err)?;
    for (i, cell) in row.iter().enumerate() {
        let col = i as u16;
        let noted = notes.iter().any(|(c, _)| *c == i);
        let date = cell.kind == CellKind::Date && cell.number.is_finite() && cell.number >= 0.0;
        let bits = usize::from(bold) | usize::from(noted) << 1 | usize::from(date) << 2;
        let format = (bits != 0).then(|| &formats[bits]);
        let number_cell = matches!(cell.kind, CellKind::Number | CellKind::Date) && cell.number.is_finite();
        let result = match cell.kind {
            CellKind::Number | CellKind::Date if number_cell => match format {
                Some(f) => sheet.write_number_with_format(r, col, cell.number, f),
                None => sheet.write_number(r, col, cell.number),
            },
            CellKind::Bool => {
                let value = cell.number != 0.0 || cell.text.eq_ignore_ascii_case("true");
                match format {
                    Some(f) => sheet.write_boolean_with_format(r, col, value, f),
                    None => sheet.write_boolean(r, col, value),
                }
            }
            _ if cell.text.is_empty() => match format {
                Some(f) => sheet.write_blank(r, col, f),
                None => continue,
            },
            _ => {
                let length = cell.text.encode_utf16().count();
                if length > MAX_XLSX_TEXT {
                    return Err(SheetError::CellTooLong {
                        path: path.to_path_buf(),
                        row: number,
                        column: i + 1,
                        length,
                        limit: MAX_XLSX_TEXT,
                    });
                }
                match format {
                    Some(f) => sheet.write_string_with_format(r, col, cell.text, f),
                    None => sheet.write_string(r, col, cell.text),
                }
            }
        };
        result.map_err(write_err)?;
    }
    // Notes on cells past the row's end highlight an empty cell.
    for (i, _) in notes {
        if *i >= row.len() {
            sheet.write_blank(r, *i as u16, &formats[usize::from(bold) | 2]).map_err(write_err)?;
        }
    }
    let mut seen: Vec<usize> = Vec::new();
    for (i, _) in notes {
        if seen.contains(i) {
            continue;
        }
        seen.push(*i);
        let text: Vec<&str> = notes.iter().filter(|(c, _)| c == i).map(|(_, m)| m.as_str()).collect();
        let mut text = text.join("\n");
        let limit = MAX_XLSX_TEXT - 54;
        if text.encode_utf16().count() > limit {
            text = text.chars().take(limit / 2).collect();
        }
        let note = Note::new(text).add_author_prefix(false).set_width(300).set_height(100);
        sheet.insert_note(r, *i as u16, &note).map_err(write_err)?;
    }
    Ok(())
}
