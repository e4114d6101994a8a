//! The verdicts and the diff file: `row,key,column,source,platform,verdict`, one line per
//! differing field and one per missing, extra, ambiguous or invalid row (`row` is the
//! source row, empty for an extra item). A migration's diff adds a last column, `app`.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::VerifyError;

/// The columns of the diff file.
pub const DIFF_COLUMNS: [&str; 6] = ["row", "key", "column", "source", "platform", "verdict"];

/// What the verification says of a source row or an item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// The row's item holds every value of the row.
    Matched,
    /// No item holds the row's key.
    Missing,
    /// The row's item holds other values (one diff line per field).
    Differs,
    /// An item whose key is in no source row.
    Extra,
    /// A key held by several items, or by several source rows.
    Ambiguous,
    /// A row that does not pass the checks (or has no key): the run did not import it.
    Invalid,
}

impl Verdict {
    /// Its name, as in the diff file.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Matched => "matched",
            Verdict::Missing => "missing",
            Verdict::Differs => "differs",
            Verdict::Extra => "extra",
            Verdict::Ambiguous => "ambiguous",
            Verdict::Invalid => "invalid",
        }
    }
}

/// One line of the diff.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiffLine {
    /// The source row (header = 1); `None` for an extra item.
    pub row: Option<u64>,
    /// The key, in its comparable form (e-mails in lower case, phones as digits).
    pub key: String,
    /// The column's header; empty for a line about a whole row or item.
    pub column: String,
    /// The source's value, as text.
    pub source: String,
    /// The platform's value, as text (for an extra or ambiguous key: the items' ids).
    pub platform: String,
    /// The verdict.
    pub verdict: Verdict,
}

/// Where diff lines go: a CSV file, or nowhere.
#[derive(Debug)]
pub struct DiffSink {
    writer: Option<csv::Writer<elma_import_sheet::AtomicFile>>,
    path: Option<PathBuf>,
    with_app: bool,
    lines: u64,
}

impl DiffSink {
    /// A sink that keeps nothing.
    pub fn none() -> DiffSink {
        DiffSink { writer: None, path: None, with_app: false, lines: 0 }
    }

    /// A diff file at `path`, its header written; `with_app` adds the `app` column.
    ///
    /// # Errors
    /// The file cannot be created.
    pub fn create(path: &Path, with_app: bool) -> Result<DiffSink, VerifyError> {
        let file = elma_import_sheet::AtomicFile::create(path)
            .map_err(|e| VerifyError::io(format!("cannot write `{}`", path.display()), e))?;
        let mut writer = csv::Writer::from_writer(file);
        let mut header: Vec<&str> = DIFF_COLUMNS.to_vec();
        if with_app {
            header.push("app");
        }
        writer.write_record(&header).map_err(|e| csv_err(path, e))?;
        Ok(DiffSink { writer: Some(writer), path: Some(path.to_path_buf()), with_app, lines: 0 })
    }

    /// The file, if any.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// Lines written.
    pub fn lines(&self) -> u64 {
        self.lines
    }

    /// Writes one line about `app`.
    ///
    /// # Errors
    /// The file cannot be written.
    pub fn write(&mut self, line: &DiffLine, app: &str) -> Result<(), VerifyError> {
        self.lines += 1;
        let Some(w) = self.writer.as_mut() else { return Ok(()) };
        let row = line.row.map(|r| r.to_string()).unwrap_or_default();
        let mut record =
            vec![row.as_str(), &line.key, &line.column, &line.source, &line.platform, line.verdict.as_str()];
        if self.with_app {
            record.push(app);
        }
        let path = self.path.clone().unwrap_or_default();
        w.write_record(&record).map_err(|e| csv_err(&path, e))
    }

    /// Flushes the file to disk.
    ///
    /// # Errors
    /// The file cannot be written.
    pub fn finish(&mut self) -> Result<(), VerifyError> {
        if let (Some(w), Some(path)) = (self.writer.take(), self.path.as_ref()) {
            let io = |e| VerifyError::io(format!("cannot write `{}`", path.display()), e);
            w.into_inner().map_err(|e| io(e.into_error()))?.finish().map_err(io)?;
        }
        Ok(())
    }
}

fn csv_err(path: &Path, e: csv::Error) -> VerifyError {
    VerifyError::io(format!("cannot write `{}`", path.display()), e.into())
}
