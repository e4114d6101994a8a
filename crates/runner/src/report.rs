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
use elma_import_client::{ClientStats, Clock};
use serde::{Deserialize, Serialize};

use crate::error::RunError;
use crate::run::Ctx;
use crate::state::Phase;
use crate::step::settle::read_rows;

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

/// Sums the chunks up and writes `errors.csv` and `rejects.csv`.
pub(crate) fn summarize<C: Clock>(
    ctx: &Ctx<'_, C>,
    wall: Duration,
    before: &ClientStats,
) -> Result<Summary, RunError> {
    let after = ctx.client.stats();
    let (mut imported, mut failed, mut lost) = (0, 0, 0);
    let mut platform: Vec<PlatformRow> = Vec::new();
    let count = ctx.manifest.chunks.len() as u32;
    for i in 0..count {
        let c = ctx.chunk(i);
        if c.phase != Phase::Done {
            continue;
        }
        let entry = ctx.entry(i);
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
    let sent = ctx.manifest.rows;
    let unaccounted = sent.saturating_sub(imported + failed + lost);
    if unaccounted > 0 {
        // Cannot happen when every chunk was reconciled; said rather than hidden.
        ctx.say(format!(
            "{unaccounted} row(s) sent are not accounted for by any chunk; they count as not imported"
        ));
        lost += unaccounted;
    }
    platform.sort_by_key(|p| p.row);
    let (errors_file, rejects_file) = write_reports(ctx, &platform)?;
    let prepared =
        ctx.with_state(|s| s.prepared).unwrap_or(crate::state::Prepared { rows: 0, valid: 0, invalid: 0 });
    let mut a = crate::run::Accounting::default();
    ctx.account(|x| a = *x);
    let sending = wall.saturating_sub(a.prepare);
    let busy = sending.saturating_sub(a.waiting);
    Ok(Summary {
        run_dir: ctx.dir.to_path_buf(),
        app: ctx.spec.app.clone(),
        status: "completed".into(),
        rows_read: prepared.rows,
        rows_valid: prepared.valid,
        rows_invalid: prepared.invalid,
        rows_sent: sent,
        imported,
        failed,
        not_imported: lost,
        chunks: count,
        uploads: a.uploads,
        requests: after.requests.saturating_sub(before.requests),
        retries: after.retries.saturating_sub(before.retries),
        blocked_answers: ctx.with_state(|s| s.blocked_answers),
        blocked_secs: a.blocked.as_secs_f64(),
        paused_secs: a.paused.as_secs_f64(),
        wall_secs: wall.as_secs_f64(),
        prepare_secs: a.prepare.as_secs_f64(),
        client_busy_share: if sending.is_zero() { 0.0 } else { busy.as_secs_f64() / sending.as_secs_f64() },
        settled_chunks: a.settled,
        errors_file,
        rejects_file,
        plan: ctx.plan.clone(),
    })
}

/// Rewrites `errors.csv` and `rejects.csv`: the validation part preparation wrote, then the
/// platform's rows.
fn write_reports<C: Clock>(
    ctx: &Ctx<'_, C>,
    platform: &[PlatformRow],
) -> Result<(PathBuf, PathBuf), RunError> {
    let dir = ctx.dir;
    let errors = dir.join("errors.csv");
    let rejects = dir.join("rejects.csv");
    let validation = read_validation(&errors, |r| r.get(7) == Some("validation"))?;
    let rows: BTreeSet<u64> = platform.iter().map(|p| p.row).collect();
    let (header, full) = rejected_rows(ctx, &rows)?;
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

    let kept = ctx.with_state(|s| s.prepared.map_or(0, |p| p.invalid)) as usize;
    let previous = read_validation(&rejects, |_| true)?;
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut head = vec!["row".to_string()];
    head.extend(header.iter().cloned());
    w.write_record(&head).map_err(|e| io(&rejects, e))?;
    for r in previous.iter().take(kept) {
        w.write_record(r).map_err(|e| io(&rejects, e))?;
    }
    for (row, cells) in &full {
        let mut record = vec![row.to_string()];
        record.extend(cells.iter().cloned());
        w.write_record(&record).map_err(|e| io(&rejects, e))?;
    }
    let bytes = w
        .into_inner()
        .map_err(|e| RunError::io("cannot write rejects.csv", std::io::Error::other(e.to_string())))?;
    write_atomic(&rejects, &bytes)?;
    Ok((errors, rejects))
}

/// The records of a CSV report (header left out) that `keep` selects; none if absent.
fn read_validation(
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

/// A source row number and its cells.
type SourceRow = (u64, Vec<String>);

/// The source header and, by source row, the cells of every sent row in `rows`.
fn rejected_rows<C: Clock>(
    ctx: &Ctx<'_, C>,
    rows: &BTreeSet<u64>,
) -> Result<(Vec<String>, Vec<SourceRow>), RunError> {
    let mut header = Vec::new();
    let mut out = Vec::new();
    for entry in &ctx.manifest.chunks {
        let wanted = rows.range(entry.first_row..=entry.last_row).next().is_some();
        if !wanted && !header.is_empty() {
            continue;
        }
        let (h, all) = crate::run::blocking(|| read_rows(&ctx.chunk_path(entry)))?;
        if header.is_empty() {
            header = h.iter().map(|c| c.text.to_string()).collect();
        }
        for row in &all {
            if let Some(source) = entry.source_row(row.number).filter(|s| rows.contains(s)) {
                out.push((source, row.iter().map(|c| c.text.to_string()).collect()));
            }
        }
    }
    out.sort_by_key(|r| r.0);
    Ok((header, out))
}

fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), RunError> {
    let tmp = path.with_extension("csv.tmp");
    std::fs::write(&tmp, bytes)
        .and_then(|_| std::fs::rename(&tmp, path))
        .map_err(|e| RunError::io(format!("cannot write `{}`", path.display()), e))
}
