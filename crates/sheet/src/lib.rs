//! Streaming readers and writers of import files (.csv and .xlsx).
//!
//! Readers yield [`Row`]s in batches, each carrying its spreadsheet row number, with
//! memory flat in the file's size. Writers keep text exact and numbers and dates typed, and
//! make files that are whole or absent ([`AtomicFile`]): renamed into place when finished.
//!
//! * **.csv**: UTF-8 with or without BOM, or Windows-1251 (detected when the start of
//!   the file is not valid UTF-8 and holds fewer well-formed multi-byte UTF-8 characters
//!   than bad bytes, or chosen with [`ReadOptions::encoding`]); delimiter
//!   `,` `;` or tab detected from the header line; RFC 4180 quoting. Every cell is
//!   [`CellKind::Text`] (or [`CellKind::Empty`]). Undecodable bytes are an error naming
//!   the byte offset and row, never replaced. A file over 4 MiB is parsed on every core
//!   in byte ranges cut at verified record boundaries (quoted line breaks are safe); the
//!   rows and their numbers are exactly those one parser gives.
//! * **.xlsx**: cells are streamed on a background thread, so a stray cell at
//!   `XFD1048576` costs one wide row, not a 17-billion-cell range. Small workbooks are
//!   read with calamine's cell reader; one whose shared-strings table is over 1 MiB of
//!   XML with our own streaming reader, which parses that table on another thread while
//!   the sheet is read, keeps most of it in a temporary file instead of memory, and
//!   gives the same cells.
//!   Numbers, booleans, dates (1900 and 1904 systems), error cells and formulas (their
//!   cached value, or [`CellKind::FormulaWithoutValue`]) keep their kind.
//!
//! Row 1 is the header ([`Reader::header`]); [`Reader::next_batch`] yields the data
//! rows. Row numbers are never renumbered: a .csv counts records (a blank line counts,
//! a quoted line break does not), an .xlsx uses its real row numbers. Rows that are
//! entirely empty may be skipped.
//!
//! ```
//! use elma_import_sheet::{create, open, Format, ReadOptions, Row, WriteOptions};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let dir = std::env::temp_dir().join(format!("sheet-doc-{}", std::process::id()));
//! std::fs::create_dir_all(&dir)?;
//! let path = dir.join("contacts.csv");
//!
//! let mut writer = create(&path, Format::Csv, &WriteOptions { delimiter: b';', ..Default::default() })?;
//! writer.write_row(&Row::from_texts(1, ["Name", "Comment"]))?;
//! writer.write_row(&Row::from_texts(2, ["Anna", "line 1\nline 2; \"quoted\""]))?;
//! writer.finish()?;
//!
//! let mut reader = open(&path, &ReadOptions::default())?;
//! assert_eq!(reader.describe(), "CSV, utf-8, delimiter ';'");
//! assert_eq!(reader.header().get(1).text, "Comment");
//! let rows = reader.next_batch()?.unwrap_or_default();
//! assert_eq!(rows[0].number, 2);
//! assert_eq!(rows[0].get(1).text, "line 1\nline 2; \"quoted\"");
//! assert!(reader.next_batch()?.is_none());
//! # std::fs::remove_dir_all(&dir)?;
//! # Ok(())
//! # }
//! ```

mod atomic;
mod csv_par;
mod csv_read;
mod error;
mod inflate_ahead;
mod number;
mod options;
mod pool;
mod read_ahead;
pub mod row;
mod write;
mod xlsx_cells;
mod xlsx_parts;
mod xlsx_read;
mod xlsx_sst;
mod xlsx_stream;

use std::fmt;
use std::path::Path;

pub use atomic::{write_atomically, write_by_name, AtomicFile};
pub use error::SheetError;
pub use options::{BatchWork, Format, ReadOptions, Worked, WorkedBatch, WriteOptions, DEFAULT_BATCH_ROWS};
pub use row::{column_letters, Cell, CellKind, Row};
pub use write::{create, Writer};

/// A streaming reader of one sheet; see [`open`].
pub struct Reader {
    inner: Inner,
}

enum Inner {
    Csv(read_ahead::ReadAhead),
    CsvParallel(Box<csv_par::ParCsv>),
    Xlsx(read_ahead::ReadAhead),
}

/// Opens `path` for reading, choosing the format by extension, and reads its header.
///
/// # Errors
/// An unknown extension, an unreadable file, an unknown encoding or worksheet, a
/// damaged workbook, or an undecodable header.
pub fn open(path: &Path, options: &ReadOptions) -> Result<Reader, SheetError> {
    let format =
        Format::from_path(path).ok_or_else(|| SheetError::UnknownFormat { path: path.to_path_buf() })?;
    let inner = match format {
        Format::Csv => {
            let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
            open_csv(path, options, csv_par::RANGE_BYTES, csv_par::PARALLEL_ABOVE, workers)?
        }
        Format::Xlsx => Inner::Xlsx(xlsx_read::open(path, options)?),
    };
    Ok(Reader { inner })
}

/// A .csv reader: in ranges on `workers` threads when the file is over `parallel_above`
/// bytes and can be cut, else one parser on a thread of its own.
fn open_csv(
    path: &Path,
    options: &ReadOptions,
    range_bytes: u64,
    parallel_above: u64,
    workers: usize,
) -> Result<Inner, SheetError> {
    let reader = csv_read::CsvReader::open(path, options)?;
    if workers > 1 && reader.progress().1 > parallel_above {
        if let Some(starts) = csv_par::ParCsv::plan(&reader, range_bytes)? {
            return Ok(Inner::CsvParallel(Box::new(csv_par::ParCsv::new(reader, starts, workers))));
        }
    }
    Ok(Inner::Csv(read_ahead::ReadAhead::csv(reader, path)?))
}

/// Hooks for tests and benchmarks; not part of the API.
#[doc(hidden)]
pub mod testing {
    use std::path::Path;

    use crate::{xlsx_read, ReadOptions, Reader, SheetError};

    /// Opens a .csv read in ranges of about `range_bytes` on `workers` threads (when it
    /// can be cut; `workers` 1 reads it with one parser), whatever its size.
    ///
    /// # Errors
    /// As [`crate::open`].
    pub fn open_csv_in_ranges(
        path: &Path,
        options: &ReadOptions,
        range_bytes: u64,
        workers: usize,
    ) -> Result<Reader, SheetError> {
        Ok(Reader { inner: crate::open_csv(path, options, range_bytes.max(1), 0, workers)? })
    }

    /// Which .xlsx engine [`open_xlsx_with`] uses.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum XlsxEngine {
        /// calamine's cell reader (the shared strings in memory).
        Calamine,
        /// The streaming reader (the shared strings in a temporary file).
        Streaming,
    }

    /// Opens an .xlsx file with the given engine, whatever its shared strings' size.
    ///
    /// # Errors
    /// As [`crate::open`].
    pub fn open_xlsx_with(
        path: &Path,
        options: &ReadOptions,
        engine: XlsxEngine,
    ) -> Result<Reader, SheetError> {
        let engine = match engine {
            XlsxEngine::Calamine => xlsx_read::Engine::Calamine,
            XlsxEngine::Streaming => xlsx_read::Engine::Streaming,
        };
        Ok(Reader { inner: crate::Inner::Xlsx(xlsx_read::open_with(path, options, engine)?) })
    }
}

impl Reader {
    /// The file's format.
    pub fn format(&self) -> Format {
        match self.inner {
            Inner::Csv(_) | Inner::CsvParallel(_) => Format::Csv,
            Inner::Xlsx(_) => Format::Xlsx,
        }
    }

    /// Row 1: the header (an empty row for an empty file).
    pub fn header(&self) -> &Row {
        match &self.inner {
            Inner::Csv(r) | Inner::Xlsx(r) => r.header(),
            Inner::CsvParallel(r) => r.header(),
        }
    }

    /// The next data rows in order, at most [`ReadOptions::batch_rows`] of them;
    /// `None` at the end of the sheet.
    ///
    /// # Errors
    /// Undecodable bytes, a damaged workbook, or an I/O error. After an error the
    /// reader is at its end.
    pub fn next_batch(&mut self) -> Result<Option<Vec<Row>>, SheetError> {
        match &mut self.inner {
            Inner::Csv(r) | Inner::Xlsx(r) => r.next_batch(),
            Inner::CsvParallel(r) => Ok(r.next_batch()?.map(|(rows, _)| rows)),
        }
    }

    /// Has `work` run on every batch on the thread that parsed it, before the batch is
    /// handed out by [`Reader::next_worked`]: for a large .csv read on every core, the
    /// work (checking the rows, say) then runs beside parsing, on rows still in that
    /// core's cache. Call it before the first batch; other readers (and batches read
    /// before) come without the work done, and the caller does it.
    pub fn set_work(&mut self, work: BatchWork) {
        if let Inner::CsvParallel(r) = &mut self.inner {
            r.set_work(work);
        }
    }

    /// As [`Reader::next_batch`], with what the [`Reader::set_work`] work found in the
    /// batch, or `None` when it was not run on it. The rows' numbers are final; the work
    /// saw the batch before the rows of earlier ranges were counted, so numbers it kept
    /// are off by `rows[0].number − (rows[0].number it saw)`.
    ///
    /// # Errors
    /// As [`Reader::next_batch`].
    pub fn next_worked(&mut self) -> Result<Option<WorkedBatch>, SheetError> {
        match &mut self.inner {
            Inner::CsvParallel(r) => r.next_batch(),
            _ => Ok(self.next_batch()?.map(|rows| (rows, None))),
        }
    }

    /// Hands back a batch the caller is done with, so its rows are filled again instead
    /// of new ones allocated (optional: a batch dropped is freed as usual).
    pub fn recycle(&self, batch: Vec<Row>) {
        match &self.inner {
            Inner::Csv(r) | Inner::Xlsx(r) => r.recycle(batch),
            Inner::CsvParallel(r) => r.recycle(batch),
        }
    }

    /// `(bytes consumed, total bytes)` of the file, for progress bars (for an .xlsx,
    /// the compressed bytes read so far).
    pub fn progress(&self) -> (u64, u64) {
        match &self.inner {
            Inner::Csv(r) | Inner::Xlsx(r) => r.progress(),
            Inner::CsvParallel(r) => r.progress(),
        }
    }

    /// What was detected, for the user: `CSV, windows-1251, delimiter ';', BOM` or
    /// ``XLSX, sheet `Sheet1` ``.
    pub fn describe(&self) -> String {
        match &self.inner {
            Inner::Csv(r) | Inner::Xlsx(r) => r.describe(),
            Inner::CsvParallel(r) => r.describe(),
        }
    }
}

/// A .csv read record by record as raw bytes, for copying records into other .csv
/// files without decoding them into [`Row`]s and encoding them again (as `split` does):
/// quotes stay as the file has them. See [`open_raw_csv`].
pub struct RawCsv {
    reader: csv_read::CsvReader,
}

/// Opens a .csv for [`RawCsv::next_record`], detecting its encoding and delimiter as
/// [`open`] does, and reads its header. One parser reads it, on the calling thread.
///
/// # Errors
/// As [`open`] for a .csv.
pub fn open_raw_csv(path: &Path, options: &ReadOptions) -> Result<RawCsv, SheetError> {
    Ok(RawCsv { reader: csv_read::CsvReader::open_raw(path, options)? })
}

impl RawCsv {
    /// The header row (row 1).
    pub fn header(&self) -> &Row {
        self.reader.header()
    }

    /// The field delimiter the records are written with.
    pub fn delimiter(&self) -> u8 {
        self.reader.delimiter()
    }

    /// Whether the file is UTF-8 (records are then copied byte for byte; from another
    /// encoding they are converted to UTF-8).
    pub fn is_utf8(&self) -> bool {
        self.reader.encoding() == encoding_rs::UTF_8
    }

    /// Appends the next record that is not blank to `out`, as the file writes it (its
    /// quoting kept), followed by `\n` (the blank lines and line end around it left
    /// out), in UTF-8; returns its row number, the one [`Reader::next_batch`] gives the
    /// same record, or `None` at the end. Records whose every field is blank are skipped.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let dir = std::env::temp_dir().join(format!("sheet-raw-doc-{}", std::process::id()));
    /// std::fs::create_dir_all(&dir)?;
    /// let path = dir.join("a.csv");
    /// std::fs::write(&path, "Name,Note\r\n\"Anna\",\"two\r\nlines\"\r\n\r\n , \r\nBob,x")?;
    /// let mut raw = elma_import_sheet::open_raw_csv(&path, &Default::default())?;
    /// let mut out = Vec::new();
    /// assert_eq!(raw.next_record(&mut out)?, Some(2));
    /// assert_eq!(raw.next_record(&mut out)?, Some(5));
    /// assert_eq!(raw.next_record(&mut out)?, None);
    /// assert_eq!(out, b"\"Anna\",\"two\r\nlines\"\nBob,x\n");
    /// # std::fs::remove_dir_all(&dir)?;
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// A record the parser rejects or that does not decode, naming its row.
    pub fn next_record(&mut self, out: &mut Vec<u8>) -> Result<Option<u64>, SheetError> {
        self.reader.read_raw(out)
    }

    /// `(bytes consumed, total bytes)` of the file, for progress bars.
    pub fn progress(&self) -> (u64, u64) {
        self.reader.progress()
    }

    /// What was detected, as [`Reader::describe`] says it.
    pub fn describe(&self) -> String {
        self.reader.describe()
    }
}

impl fmt::Debug for RawCsv {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RawCsv").field("describe", &self.describe()).finish()
    }
}

impl fmt::Debug for Reader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reader").field("describe", &self.describe()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_from_extension() {
        assert_eq!(Format::from_path(Path::new("a/b.CSV")), Some(Format::Csv));
        assert_eq!(Format::from_path(Path::new("b.xlsx")), Some(Format::Xlsx));
        assert_eq!(Format::from_path(Path::new("b.xls")), None);
        assert_eq!(Format::from_path(Path::new("noext")), None);
        assert_eq!(Format::Xlsx.as_str(), "xlsx");
    }

    #[test]
    fn reader_and_writer_are_send() {
        fn is_send<T: Send>() {}
        is_send::<Reader>();
        is_send::<Writer>();
    }
}
