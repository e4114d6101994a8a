//! What the readers and writers are asked to do: the formats, the options, the work
//! a reader runs on each batch. A leaf: every other module may use it.

use std::fmt;
use std::path::Path;

use crate::row::Row;

/// Rows per batch when [`ReadOptions::batch_rows`] is 0.
pub const DEFAULT_BATCH_ROWS: usize = 8192;

/// Work a reader does on each batch on the thread that parsed it ([`crate::Reader::set_work`]).
pub type BatchWork = std::sync::Arc<dyn Fn(&[Row]) -> Worked + Send + Sync>;

/// What a [`BatchWork`] found in a batch; the caller downcasts it to the type the work
/// returns.
pub type Worked = Box<dyn std::any::Any + Send>;

/// A batch of rows with what the [`BatchWork`] found in it, if it ran on it.
pub type WorkedBatch = (Vec<Row>, Option<Worked>);

/// A sheet file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// Comma (or `;`, tab) separated values.
    Csv,
    /// Office Open XML workbook.
    Xlsx,
}

impl Format {
    /// The format a file name's extension names (`.csv`, `.tsv`, `.txt`; `.xlsx`,
    /// `.xlsm`), case-insensitively.
    pub fn from_path(path: &Path) -> Option<Format> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "csv" | "tsv" | "txt" => Some(Format::Csv),
            "xlsx" | "xlsm" => Some(Format::Xlsx),
            _ => None,
        }
    }

    /// `"csv"` or `"xlsx"`: also the file extension.
    pub fn as_str(&self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Xlsx => "xlsx",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How to read a file; the default detects everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReadOptions {
    /// .csv encoding as an encoding_rs label (`"utf-8"`, `"windows-1251"`, `"cp1251"`);
    /// `None` detects it: a BOM means UTF-8, else the start of the file is tried as
    /// UTF-8 and read as Windows-1251 only when it is not UTF-8 and holds fewer
    /// well-formed multi-byte UTF-8 characters than bad bytes (a UTF-8 file with a stray
    /// bad byte stays UTF-8, and the byte is an error).
    pub encoding: Option<String>,
    /// .csv delimiter; `None` picks the most frequent of `,` `;` tab outside quotes
    /// in the header line (`,` when there is none).
    pub delimiter: Option<u8>,
    /// .xlsx worksheet name; `None` means the first worksheet.
    pub sheet: Option<String>,
    /// Rows per batch; 0 means [`DEFAULT_BATCH_ROWS`].
    pub batch_rows: usize,
}

impl ReadOptions {
    pub(crate) fn batch(&self) -> usize {
        if self.batch_rows == 0 {
            DEFAULT_BATCH_ROWS
        } else {
            self.batch_rows
        }
    }
}

/// How to write a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteOptions {
    /// .csv delimiter.
    pub delimiter: u8,
    /// Excel number format of .xlsx date cells.
    pub date_format: String,
    /// .xlsx worksheet name.
    pub sheet_name: String,
}

impl Default for WriteOptions {
    fn default() -> Self {
        WriteOptions {
            delimiter: b',',
            date_format: "dd.mm.yyyy hh:mm".to_string(),
            sheet_name: "Sheet1".to_string(),
        }
    }
}
