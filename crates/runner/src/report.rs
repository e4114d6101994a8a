//! The end of a run: the summary (`summary.json`), `errors.csv` (every row not imported,
//! by source row, validation and platform alike) and `rejects.csv` (those rows in full).
//!
//! `errors.csv` columns: `row,column,header,value,rule,message,fix,source` — `row` the
//! source row, `column` its letter(s), `header` the header text, `source` `validation` or
//! `platform`; a platform error has rule `platform`, a row whose import cannot be
//! confirmed has rule `not_imported`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use elma_import_chunk::Plan;
use elma_import_client::ClientStats;
use serde::{Deserialize, Serialize};

use crate::account::Accounting;
use crate::chunkfile::ChunkFiles;
use crate::error::RunError;
use crate::state::{Phase, RunState};

/// The columns of `errors.csv`.
pub const ERROR_COLUMNS: [&str; 8] = ["row", "column", "header", "value", "rule", "message", "fix", "source"];

/// What a run did, printed at its end and saved as `summary.json`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Summary {
    /// The run directory.
    pub run_dir: PathBuf,
    /// The app.
    pub app: String,
    /// `completed`.
    pub status: String,
    /// Data rows in the source.
    pub rows_read: u64,
    /// Rows that passed validation.
    pub rows_valid: u64,
    /// Rows rejected by validation.
    pub rows_invalid: u64,
    /// Rows sent in chunks.
    pub rows_sent: u64,
    /// Rows in the app: counted by the platform where its counts add up, else found
    /// among the app's items.
    pub imported: u64,
    /// Rows the platform rejected, each named by source row in `errors.csv`.
    pub failed: u64,
    /// Rows sent whose import cannot be confirmed, each named by source row in
    /// `errors.csv` (rule `not_imported`).
    #[serde(default)]
    pub not_imported: u64,
    /// Chunks in the run.
    pub chunks: u32,
    /// Uploads made by this execution.
    pub uploads: u32,
    /// Requests made by this execution.
    pub requests: u64,
    /// Retried requests in this execution.
    pub retries: u64,
    /// `blocked` answers over the whole run (all executions).
    pub blocked_answers: u32,
    /// Seconds spent waiting for a blocked app.
    pub blocked_secs: f64,
    /// Seconds spent in pauses between imports.
    pub paused_secs: f64,
    /// Wall time of this execution, seconds.
    pub wall_secs: f64,
    /// Seconds spent validating and writing chunk files (0 on a resume after that).
    pub prepare_secs: f64,
    /// Of the sending phase (wall time less preparation), the share the runner spent on
    /// its own work rather than waiting on the network, the platform, polls or pauses.
    pub client_busy_share: f64,
    /// Chunks settled by looking their rows up or by the user's word.
    pub settled_chunks: u32,
    /// Every row not imported, by source row.
    pub errors_file: PathBuf,
    /// Those rows in full, with the header.
    #[serde(default)]
    pub rejects_file: PathBuf,
    /// The plan followed.
    pub plan: Plan,
    /// Whether the platform stores date-times at another offset than the run read the
    /// file in (`ZoneMismatch` in the journal says which).
    #[serde(default)]
    pub zone_mismatch: bool,
}

impl Summary {
    /// Whether every row read is accounted for as imported.
    pub fn all_imported(&self) -> bool {
        self.rows_invalid == 0
            && self.failed == 0
            && self.not_imported == 0
            && self.imported == self.rows_sent
            && self.rows_sent == self.rows_valid
    }
}

/// One platform line of `errors.csv`.
struct PlatformRow {
    row: u64,
    header: String,
    rule: &'static str,
    message: String,
}

/// What a summary is made from: the run's files and state, and this execution's time.
pub struct Facts<'a> {
    /// The run directory.
    pub dir: &'a Path,
    /// The app.
    pub app: &'a str,
    /// The plan followed.
    pub plan: &'a Plan,
    /// The chunk files.
    pub files: &'a ChunkFiles,
    /// The state the journal replays to.
    pub state: &'a RunState,
    /// This execution's time.
    pub accounting: Accounting,
    /// This execution's wall time.
    pub wall: Duration,
    /// The client's counters before and after this execution.
    pub stats: (ClientStats, ClientStats),
}

/// Sums the chunks up and writes `errors.csv` and `rejects.csv`; says what it noticed.
pub fn summarize(facts: &Facts<'_>, say: &dyn Fn(String)) -> Result<Summary, RunError> {
    let state = facts.state;
    let (mut imported, mut failed, mut lost) = (0, 0, 0);
    let mut platform: Vec<PlatformRow> = Vec::new();
    for (i, c) in facts.files.all().zip(state.chunks()) {
        if c.phase != Phase::Done {
            continue;
        }
        let entry = facts.files.current(i, c);
        imported += c.landed + if c.settled_by_user { entry.rows } else { 0 };
        failed += c.rejected.len() as u64 + c.legacy_failed;
        lost += c.lost.len() as u64;
        let legacy = c
            .legacy_errors
            .iter()
            .filter(|e| e.row >= 2)
            .filter_map(|e| entry.source_row(e.row).map(|row| (row, e)));
        for (row, e) in c.rejected.iter().map(|e| (e.row, e)).chain(legacy) {
            let message = format!("rejected by the platform: {}", e.message);
            platform.push(PlatformRow { row, header: e.column.clone(), rule: "platform", message });
        }
        for l in &c.lost {
            platform.push(PlatformRow {
                row: l.row,
                header: String::new(),
                rule: "not_imported",
                message: l.message.clone(),
            });
        }
    }
    let sent = facts.files.rows();
    let unaccounted = sent.saturating_sub(imported + failed + lost);
    if unaccounted > 0 {
        // Cannot happen when every chunk was reconciled; said rather than hidden.
        say(format!(
            "{unaccounted} row(s) sent are not accounted for by any chunk; they count as not imported"
        ));
        lost += unaccounted;
    }
    platform.sort_by_key(|p| p.row);
    let (errors_file, rejects_file) = write_reports(facts.dir, facts.files, &platform)?;
    let prepared = state.prepared().unwrap_or(crate::state::Prepared { rows: 0, valid: 0, invalid: 0 });
    let a = facts.accounting;
    let sending = facts.wall.saturating_sub(a.prepare);
    let busy = sending.saturating_sub(a.waiting);
    let (before, after) = &facts.stats;
    Ok(Summary {
        run_dir: facts.dir.to_path_buf(),
        app: facts.app.to_string(),
        status: "completed".into(),
        rows_read: prepared.rows,
        rows_valid: prepared.valid,
        rows_invalid: prepared.invalid,
        rows_sent: sent,
        imported,
        failed,
        not_imported: lost,
        chunks: facts.files.count(),
        uploads: a.uploads,
        requests: after.requests.saturating_sub(before.requests),
        retries: after.retries.saturating_sub(before.retries),
        blocked_answers: state.blocked_answers(),
        blocked_secs: a.blocked.as_secs_f64(),
        paused_secs: a.paused.as_secs_f64(),
        wall_secs: facts.wall.as_secs_f64(),
        prepare_secs: a.prepare.as_secs_f64(),
        client_busy_share: if sending.is_zero() { 0.0 } else { busy.as_secs_f64() / sending.as_secs_f64() },
        settled_chunks: a.settled,
        errors_file,
        rejects_file,
        plan: facts.plan.clone(),
        zone_mismatch: state.zone_mismatch(),
    })
}

/// Rewrites `errors.csv` and `rejects.csv`: the validation part preparation wrote, then the
/// platform's rows.
fn write_reports(
    dir: &Path,
    files: &ChunkFiles,
    platform: &[PlatformRow],
) -> Result<(PathBuf, PathBuf), RunError> {
    let errors = dir.join("errors.csv");
    let rejects = dir.join("rejects.csv");
    let validation = read_records(&errors, |r| r.get(7) == Some("validation"))?;
    let rows: BTreeSet<u64> = platform.iter().map(|p| p.row).collect();
    let (header, full) = crate::blocking::blocking(|| files.rows_of(&rows))?;
    let letters: BTreeMap<&str, String> =
        header.iter().enumerate().map(|(k, h)| (h.as_str(), elma_import_sheet::column_letters(k))).collect();
    let mut w = csv::Writer::from_writer(Vec::new());
    let io =
        |path: &Path, e: csv::Error| RunError::io(format!("cannot write `{}`", path.display()), e.into());
    w.write_record(ERROR_COLUMNS).map_err(|e| io(&errors, e))?;
    for r in &validation {
        w.write_record(r).map_err(|e| io(&errors, e))?;
    }
    for p in platform {
        let column = letters.get(p.header.as_str()).cloned().unwrap_or_default();
        let record = [&p.row.to_string(), &column, &p.header, "", p.rule, &p.message, "", "platform"];
        w.write_record(record).map_err(|e| io(&errors, e))?;
    }
    let bytes = w
        .into_inner()
        .map_err(|e| RunError::io("cannot write errors.csv", std::io::Error::other(e.to_string())))?;
    write_atomic(&errors, &bytes)?;

    // The rows preparation left out (invalid and example rows) stay; the platform's are
    // written anew from the chunk files, so writing the reports twice changes nothing.
    let previous = read_records(&rejects, |r| {
        r.get(0).and_then(|n| n.parse().ok()).is_some_and(|n| !rows.contains(&n))
    })?;
    let mut lines: Vec<(u64, Vec<String>)> =
        previous.into_iter().map(|r| (r.first().and_then(|n| n.parse().ok()).unwrap_or(0), r)).collect();
    let mut head = vec!["row".to_string()];
    head.extend(header.iter().cloned());
    let width = head.len();
    for (row, cells) in &full {
        lines.push((*row, reject_record(*row, cells.iter().cloned(), header.len())));
    }
    lines.sort_by_key(|l| l.0);
    let mut w = csv::Writer::from_writer(Vec::new());
    if header.is_empty() {
        if let Ok(mut r) = csv::ReaderBuilder::new().flexible(true).from_path(&rejects) {
            if let Ok(h) = r.headers() {
                head = h.iter().map(str::to_string).collect();
            }
        }
    }
    w.write_record(&head).map_err(|e| io(&rejects, e))?;
    for (_, r) in lines {
        w.write_record(fit(r.into_iter(), width.max(head.len()))).map_err(|e| io(&rejects, e))?;
    }
    let bytes = w
        .into_inner()
        .map_err(|e| RunError::io("cannot write rejects.csv", std::io::Error::other(e.to_string())))?;
    write_atomic(&rejects, &bytes)?;
    Ok((errors, rejects))
}

/// A line of `rejects.csv`: the source row, then its cells fitted to the header's
/// `columns` (a row read back may lack its trailing empty cells, or hold stray ones).
pub(crate) fn reject_record(row: u64, cells: impl Iterator<Item = String>, columns: usize) -> Vec<String> {
    fit(std::iter::once(row.to_string()).chain(cells), columns + 1)
}

/// `cells` cut or padded with empty cells to `width`, so every line of a report has the
/// header's width.
fn fit(cells: impl Iterator<Item = String>, width: usize) -> Vec<String> {
    let mut record: Vec<String> = cells.take(width).collect();
    record.resize(width, String::new());
    record
}

/// The records of a CSV report (header left out) that `keep` selects; none if absent.
fn read_records(
    path: &Path,
    keep: impl Fn(&csv::StringRecord) -> bool,
) -> Result<Vec<Vec<String>>, RunError> {
    let mut reader = match csv::ReaderBuilder::new().flexible(true).from_path(path) {
        Ok(r) => r,
        Err(_) => return Ok(Vec::new()),
    };
    let mut out = Vec::new();
    for record in reader.records() {
        let record =
            record.map_err(|e| RunError::io(format!("cannot read `{}`", path.display()), e.into()))?;
        if keep(&record) {
            out.push(record.iter().map(str::to_string).collect());
        }
    }
    Ok(out)
}

/// Where a file of the run is written before it replaces `path` (beside it, hidden).
pub(crate) fn temporary(path: &Path) -> PathBuf {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    path.with_file_name(format!(".{name}.tmp"))
}

/// Replaces `path` with the file written at `tmp` (fsynced first): whole or absent.
pub(crate) fn commit(tmp: &Path, path: &Path) -> Result<(), RunError> {
    let sync = std::fs::File::open(tmp).and_then(|f| f.sync_all());
    sync.and_then(|_| std::fs::rename(tmp, path))
        .map_err(|e| RunError::io(format!("cannot write `{}`", path.display()), e))
}

/// Writes `bytes` to `path` whole or not at all.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), RunError> {
    let tmp = temporary(path);
    std::fs::write(&tmp, bytes).map_err(|e| RunError::io(format!("cannot write `{}`", path.display()), e))?;
    commit(&tmp, path)
}

/// What a run holds so far, from its state alone (a run that did not finish).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SoFar {
    /// Data rows read.
    pub rows: u64,
    /// Rows rejected before sending.
    pub invalid: u64,
    /// Rows known to be in the app.
    pub imported: u64,
    /// Rows the platform rejected.
    pub failed: u64,
    /// Rows whose import could not be confirmed.
    pub not_imported: u64,
    /// Rows of chunks whose import started (or may have started) and is not accounted
    /// for yet: an import still running on the platform, or answered but not yet checked,
    /// when the run stopped; a resume confirms them. Counted by [`crate::run::so_far_in`] (it needs
    /// the chunk files' manifest); [`so_far`] leaves it 0.
    pub in_flight: u64,
}

/// Sums what the state says of a run's rows so far.
pub fn so_far(state: &RunState) -> SoFar {
    let prepared = state.prepared().unwrap_or(crate::state::Prepared { rows: 0, valid: 0, invalid: 0 });
    let mut out = SoFar { rows: prepared.rows, invalid: prepared.invalid, ..SoFar::default() };
    for c in state.chunks() {
        out.imported += c.landed;
        out.failed += c.rejected.len() as u64 + c.legacy_failed;
        out.not_imported += c.lost.len() as u64;
    }
    out
}
