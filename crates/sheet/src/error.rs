//! The error type of this crate.

use std::path::PathBuf;

/// Why reading or writing a sheet failed. Every message names the file; row and
/// column numbers are spreadsheet numbers (header = row 1, first column = 1).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SheetError {
    /// The file could not be opened, read or written.
    #[error("cannot access `{path}`")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The extension names no supported format.
    #[error("`{path}`: unknown file format; expected a .csv or .xlsx file")]
    UnknownFormat {
        /// The file.
        path: PathBuf,
    },
    /// `ReadOptions::encoding` is not an encoding label.
    #[error("unknown encoding `{label}`; try `utf-8` or `windows-1251`")]
    UnknownEncoding {
        /// The label given.
        label: String,
    },
    /// The encoding exists but cannot be read here (UTF-16 and other encodings
    /// where `,` is not a single byte).
    #[error("`{path}`: encoding `{encoding}` is not supported; save the file as UTF-8")]
    UnsupportedEncoding {
        /// The file.
        path: PathBuf,
        /// The encoding.
        encoding: String,
    },
    /// Bytes that are not valid in the file's encoding.
    #[error("`{path}`: row {row}: bytes at byte offset {offset} are not valid `{encoding}`{hint}")]
    Undecodable {
        /// The file.
        path: PathBuf,
        /// Spreadsheet row number of the record holding the bytes.
        row: u64,
        /// Byte offset of the first bad byte from the start of the file.
        offset: u64,
        /// The encoding used.
        encoding: String,
        /// A suggestion, starting with `; ` (or empty).
        hint: String,
    },
    /// A CSV record could not be parsed.
    #[error("`{path}`: row {row}: cannot parse CSV")]
    Csv {
        /// The file.
        path: PathBuf,
        /// Spreadsheet row number.
        row: u64,
        /// The parser's error.
        #[source]
        source: csv::Error,
    },
    /// The .xlsx file is damaged or not an .xlsx file.
    #[error("`{path}`: cannot read the workbook")]
    Xlsx {
        /// The file.
        path: PathBuf,
        /// calamine's error.
        #[source]
        source: calamine::XlsxError,
    },
    /// `ReadOptions::sheet` names no worksheet of the workbook.
    #[error("`{path}`: no worksheet `{sheet}`; worksheets: {available}")]
    SheetNotFound {
        /// The file.
        path: PathBuf,
        /// The name asked for.
        sheet: String,
        /// The worksheet names, each in backticks, comma separated.
        available: String,
    },
    /// A cell's text is longer than an .xlsx cell can hold.
    #[error(
        "`{path}`: row {row}, column {column}: text of {length} characters is over the .xlsx limit of {limit}; write a .csv instead"
    )]
    CellTooLong {
        /// The file.
        path: PathBuf,
        /// Spreadsheet row number in the output.
        row: u64,
        /// Column number (first = 1).
        column: usize,
        /// Length of the text in UTF-16 code units, as Excel counts.
        length: usize,
        /// The limit.
        limit: usize,
    },
    /// More rows or columns than an .xlsx sheet can hold.
    #[error(
        "`{path}`: row {row}, column {column} is beyond the .xlsx limit of {max_rows} rows and {max_columns} columns"
    )]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// Spreadsheet row number in the output.
        row: u64,
        /// Column number (first = 1).
        column: usize,
        /// Maximum rows of a sheet.
        max_rows: u64,
        /// Maximum columns of a sheet.
        max_columns: usize,
    },
    /// rust_xlsxwriter refused to write the workbook.
    #[error("`{path}`: cannot write the workbook")]
    XlsxWrite {
        /// The file.
        path: PathBuf,
        /// rust_xlsxwriter's error.
        #[source]
        source: rust_xlsxwriter::XlsxError,
    },
}

impl SheetError {
    /// Whether the file could not be found or opened, or a format, encoding or sheet name
    /// is unknown: a matter of what was asked, not of the file's content.
    pub fn is_setup(&self) -> bool {
        matches!(
            self,
            SheetError::Io { .. }
                | SheetError::UnknownFormat { .. }
                | SheetError::UnknownEncoding { .. }
                | SheetError::SheetNotFound { .. }
        )
    }
}
