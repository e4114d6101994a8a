//! How a run or migration ended, from its directory: the `end` line of the JSON-lines
//! stream, and the rows still in an import on the platform when it stopped (`in_flight`).
//!
//! The totals come from what is on disk when the command ends: a finished run's summary
//! (`summary.json`, the very object `--json` prints), else what its journal says so far
//! (`elma_import_runner::run::so_far_in`); a migration sums its steps' runs so.

use std::path::{Path, PathBuf};

use serde::Serialize;

/// A run's or migration's rows, when the command ended.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct EndTotals {
    /// Data rows read.
    pub rows_read: u64,
    /// Rows that passed validation.
    pub rows_valid: u64,
    /// Rows rejected before sending.
    pub rows_invalid: u64,
    /// Rows in the app.
    pub imported: u64,
    /// Rows the platform rejected.
    pub failed: u64,
    /// Rows sent whose import could not be confirmed.
    pub not_imported: u64,
    /// Rows in an import that was still running on the platform (or answered but not yet
    /// checked) when the run stopped: a resume confirms them.
    pub in_flight: u64,
}

impl std::ops::AddAssign for EndTotals {
    fn add_assign(&mut self, o: EndTotals) {
        self.rows_read += o.rows_read;
        self.rows_valid += o.rows_valid;
        self.rows_invalid += o.rows_invalid;
        self.imported += o.imported;
        self.failed += o.failed;
        self.not_imported += o.not_imported;
        self.in_flight += o.in_flight;
    }
}

/// The `end` line.
#[derive(Debug, Clone, Serialize)]
pub struct End {
    /// `run` or `migration`.
    pub kind: &'static str,
    /// The run or migration directory (`null` when the command stopped before making it).
    pub dir: Option<PathBuf>,
    /// `completed` (it came to its end: every chunk accounted for, rows may still have
    /// been rejected), else why it stopped: `interrupted`, `blocked`, `uncertain`,
    /// `network`, `usage`, `data`.
    pub status: &'static str,
    /// Its rows.
    pub totals: EndTotals,
    /// The process's exit status.
    pub exit_code: u8,
    /// What went wrong, for a non-zero exit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// What to do next.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub hints: Vec<String>,
}

/// A run directory's totals and whether it completed.
fn run_totals(dir: &Path) -> (EndTotals, bool) {
    if let Ok(Some(s)) = elma_import_runner::finished(dir) {
        let t = EndTotals {
            rows_read: s.rows_read,
            rows_valid: s.rows_valid,
            rows_invalid: s.rows_invalid,
            imported: s.imported,
            failed: s.failed,
            not_imported: s.not_imported,
            in_flight: 0,
        };
        return (t, true);
    }
    let mut t = EndTotals::default();
    if let Ok(s) = elma_import_runner::run::so_far_in(dir) {
        t = EndTotals {
            rows_read: s.rows,
            rows_valid: s.rows.saturating_sub(s.invalid),
            rows_invalid: s.invalid,
            imported: s.imported,
            failed: s.failed,
            not_imported: s.not_imported,
            in_flight: s.in_flight,
        };
    }
    if t.rows_read == 0 {
        // Refused by validation: nothing was sent, the counts are the refusal's.
        if let Some((rows, invalid)) = elma_import_runner::run::state_of(dir).ok().and_then(|s| s.refused()) {
            t.rows_read = rows;
            t.rows_invalid = invalid;
            t.rows_valid = rows.saturating_sub(invalid);
        }
    }
    (t, false)
}

/// The run directories of a migration's steps that exist.
fn step_dirs(dir: &Path) -> Vec<PathBuf> {
    let Ok((saved, _)) = elma_import_migrate::load(dir) else { return Vec::new() };
    (0..saved.migration.steps.len())
        .map(|i| elma_import_migrate::step_dir(dir, &saved.migration, i))
        .filter(|d| d.join("run.json").is_file())
        .collect()
}

/// The totals of a run or migration directory, and whether it completed.
pub fn totals(dir: &Path) -> (EndTotals, bool) {
    if !elma_import_migrate::is_migration_dir(dir) {
        return run_totals(dir);
    }
    let steps = elma_import_migrate::load(dir).map_or(0, |(s, _)| s.migration.steps.len());
    let dirs = step_dirs(dir);
    let mut all = EndTotals::default();
    let mut completed = dirs.len() == steps;
    for d in dirs {
        let (t, done) = run_totals(&d);
        all += t;
        completed &= done;
    }
    (all, completed)
}

/// Rows of `dir` (a run or migration) in imports still running on the platform.
pub fn in_flight(dir: &Path) -> u64 {
    totals(dir).0.in_flight
}

/// Why a command that did not complete stopped, by its exit code.
fn stopped(code: u8) -> &'static str {
    match code {
        crate::exit::INTERRUPTED => "interrupted",
        crate::exit::BLOCKED => "blocked",
        crate::exit::UNCERTAIN => "uncertain",
        crate::exit::NETWORK => "network",
        crate::exit::USAGE => "usage",
        crate::exit::DATA => "data",
        _ => "stopped",
    }
}

/// The `end` line of a command that ended with `code`; `kind` is `run` or `migration`
/// when no directory tells.
pub fn end(kind: &'static str, dir: Option<&Path>, code: u8, error: Option<&str>, hints: &[String]) -> End {
    let (totals, completed) = dir.map(totals).unwrap_or_default();
    let kind = match dir {
        Some(d) if elma_import_migrate::is_migration_dir(d) => "migration",
        Some(d) if d.join("run.json").is_file() => "run",
        _ => kind,
    };
    End {
        kind,
        dir: dir.map(Path::to_path_buf),
        status: if completed && matches!(code, crate::exit::OK | crate::exit::DATA) {
            "completed"
        } else {
            stopped(code)
        },
        totals,
        exit_code: code,
        error: error.map(str::to_string),
        hints: hints.to_vec(),
    }
}
