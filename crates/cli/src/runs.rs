//! The runs folder: listing runs and finding the newest one that can go on
//! (`resume --last`). A run is read through the runner: its `run.json`, its summary when
//! it completed, else the state its journal replays to.

use std::io::Read;
use std::path::{Path, PathBuf};

use elma_import_runner::RunSpec;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::exit::usage;

/// Where `run` puts its run directories unless `--run-dir` says otherwise.
pub const DEFAULT_ROOT: &str = ".elma-import/runs";

/// One run, as `elma-import runs` lists it.
#[derive(Debug, Clone, Serialize)]
pub struct RunInfo {
    /// Run id.
    pub id: String,
    /// Its directory.
    pub dir: PathBuf,
    /// The app, `namespace.code`.
    pub app: String,
    /// The source file.
    pub file: PathBuf,
    /// `completed` (summary written), `refused` (validation refused it: nothing was sent;
    /// `resume --skip-invalid` imports the valid rows) or `unfinished` (resumable).
    pub status: &'static str,
    /// Data rows read (known once validated).
    pub rows: Option<u64>,
    /// Rows in the app so far.
    pub imported: Option<u64>,
    /// Rows rejected by validation or the platform.
    pub rejected: Option<u64>,
    /// Rows sent whose import could not be confirmed.
    pub not_imported: Option<u64>,
    /// When the run began, RFC 3339 UTC.
    pub started: String,
    /// sha256 of the source file when the run began.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_sha256: Option<String>,
    #[serde(skip)]
    started_secs: f64,
}

impl RunInfo {
    /// Whether the run completed (its summary is written).
    pub fn completed(&self) -> bool {
        self.status == "completed"
    }

    /// Whether the run stopped because validation refused it.
    pub fn refused(&self) -> bool {
        self.status == "refused"
    }
}

/// Reads one run directory; `None` when it holds no readable `run.json`.
pub fn read_run(dir: &Path) -> Option<RunInfo> {
    let spec = RunSpec::load(dir).ok()?;
    let started_secs = std::fs::metadata(dir.join("run.json"))
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0.0, |d| d.as_secs_f64());
    let state = elma_import_runner::run::state_of(dir).ok();
    let summary: Option<serde_json::Value> = state
        .as_ref()
        .filter(|s| s.completed())
        .and_then(|_| std::fs::read_to_string(dir.join("summary.json")).ok())
        .and_then(|t| serde_json::from_str(&t).ok());
    let number = |v: &serde_json::Value, k: &str| v.get(k).and_then(serde_json::Value::as_u64);
    let (status, rows, imported, rejected, not_imported) = match (&summary, &state) {
        (Some(s), _) => (
            "completed",
            number(s, "rows_read"),
            number(s, "imported"),
            Some(number(s, "rows_invalid").unwrap_or(0) + number(s, "failed").unwrap_or(0)),
            Some(number(s, "not_imported").unwrap_or(0)),
        ),
        (None, Some(state)) => {
            let so_far = elma_import_runner::report::so_far(state);
            match state.refused() {
                Some((rows, invalid)) => ("refused", Some(rows), Some(0), Some(invalid), Some(0)),
                None if state.prepared().is_some() => (
                    "unfinished",
                    Some(so_far.rows),
                    Some(so_far.imported),
                    Some(so_far.invalid + so_far.failed),
                    Some(so_far.not_imported),
                ),
                None => ("unfinished", None, None, None, None),
            }
        }
        (None, None) => ("unfinished", None, None, None, None),
    };
    let started = chrono::DateTime::<chrono::Utc>::from_timestamp(started_secs as i64, 0)
        .map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_default();
    Some(RunInfo {
        id: spec.run_id.clone(),
        dir: dir.to_path_buf(),
        app: spec.app.clone(),
        file: spec.source.clone(),
        status,
        rows,
        imported,
        rejected,
        not_imported,
        started,
        source_sha256: spec.source_sha256.clone(),
        started_secs,
    })
}

/// Every run directly under `root`, oldest first.
pub fn list(root: &Path) -> Vec<RunInfo> {
    let Ok(entries) = std::fs::read_dir(root) else { return Vec::new() };
    let mut runs: Vec<RunInfo> = entries.filter_map(Result::ok).filter_map(|e| read_run(&e.path())).collect();
    runs.sort_by(|a, b| a.started_secs.total_cmp(&b.started_secs).then_with(|| a.id.cmp(&b.id)));
    runs
}

/// Where `migrate` keeps its migrations when not told otherwise.
pub const MIGRATIONS_ROOT: &str = ".elma-import/migrations";

/// The run directory `resume` works on: the one named, or with `--last` the newest
/// unfinished run under the default runs folder that can go on (a refused run only with
/// `--skip-invalid`), else the newest unfinished migration under the default migrations
/// folder.
pub fn resume_dir(named: Option<&Path>, last: bool, skip_invalid: bool) -> anyhow::Result<PathBuf> {
    match (named, last) {
        (Some(dir), _) => Ok(dir.to_path_buf()),
        (None, true) => newest_unfinished(Path::new(DEFAULT_ROOT), skip_invalid).or_else(|no_run| {
            let migration = newest_unfinished_migration(Path::new(MIGRATIONS_ROOT)).ok_or(no_run)?;
            crate::ui::say(format!("no run can go on; the newest unfinished migration is `{}`", migration.display()));
            Ok(migration)
        }),
        (None, false) => Err(usage("say which run: `elma-import resume RUN_DIR`, or `--last` for the newest unfinished one (`elma-import runs` lists them)")),
    }
}

/// The newest unfinished run under `root` that can go on; says which it passed over.
pub fn newest_unfinished(root: &Path, skip_invalid: bool) -> anyhow::Result<PathBuf> {
    let runs = list(root);
    if runs.is_empty() {
        return Err(usage(format!("no run in `{}` (`elma-import run` starts one)", root.display())));
    }
    for r in runs.iter().rev().filter(|r| !r.completed()) {
        if r.refused() && !skip_invalid {
            crate::ui::say(format!(
                "passing over `{}`: validation refused it ({} invalid rows; `--skip-invalid` imports the valid ones)",
                r.dir.display(),
                r.rejected.map_or_else(|| "some".into(), crate::ui::count)
            ));
            continue;
        }
        return Ok(r.dir.clone());
    }
    Err(usage(format!(
        "no run in `{}` can go on: every one completed{} (`elma-import runs` lists them)",
        root.display(),
        if runs.iter().any(RunInfo::refused) {
            " or was refused by validation (add --skip-invalid)"
        } else {
            ""
        }
    )))
}

/// The newest migration directly under `root` that `resume` would continue (not every
/// step finished, as [`crate::migration::finished`] tells), by the time its journal was
/// last written.
pub fn newest_unfinished_migration(root: &Path) -> Option<PathBuf> {
    std::fs::read_dir(root)
        .ok()?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter_map(|dir| {
            let (saved, _) = elma_import_migrate::load(&dir).ok()?;
            if crate::migration::finished(&dir, saved.migration.steps.len()).is_some() {
                return None;
            }
            let written = std::fs::metadata(dir.join("migration.jsonl")).and_then(|m| m.modified()).ok()?;
            Some((written, dir))
        })
        .max_by_key(|(written, _)| *written)
        .map(|(_, dir)| dir)
}

/// sha256 of a file, lowercase hex.
pub fn sha256_file(path: &Path) -> anyhow::Result<String> {
    let mut file =
        std::fs::File::open(path).map_err(|e| usage(format!("cannot read `{}`: {e}", path.display())))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = file.read(&mut buf).map_err(|e| usage(format!("cannot read `{}`: {e}", path.display())))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex::encode(hasher.finalize()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use elma_import_runner::event::Event;
    use elma_import_runner::journal::Journal;

    fn make_run(root: &Path, id: &str, events: &[Event], summary: Option<&str>) -> PathBuf {
        let dir = root.join(id);
        std::fs::create_dir_all(&dir).unwrap();
        let source = root.join("f.csv");
        std::fs::write(&source, "Name\nA\n").unwrap();
        let spec = RunSpec::new(id, &source, "crm.contacts").unwrap();
        std::fs::write(dir.join("run.json"), serde_json::to_string(&spec).unwrap()).unwrap();
        let mut journal = Journal::<Event>::open(&dir.join("journal.jsonl")).unwrap().journal;
        for e in events {
            journal.append(e).unwrap();
        }
        if let Some(s) = summary {
            std::fs::write(dir.join("summary.json"), s).unwrap();
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
        dir
    }

    fn prepared(rows: u64, invalid: u64) -> Event {
        Event::Prepared { at: 1.0, rows, valid: rows - invalid, invalid, chunks: 0 }
    }

    #[test]
    fn runs_are_listed_oldest_first_with_what_they_hold_and_resume_last_passes_over_refused_ones() {
        let root = tempfile::tempdir().unwrap();
        let done = [prepared(5, 0), Event::Completed { at: 2.0 }];
        make_run(
            root.path(),
            "r1",
            &done,
            Some(r#"{"rows_read":5,"imported":5,"failed":0,"rows_invalid":0}"#),
        );
        let r2 = make_run(root.path(), "r2", &[Event::Preparing { at: 1.0 }], None);
        let left = [prepared(2, 0), Event::Completed { at: 2.0 }];
        make_run(
            root.path(),
            "r3",
            &left,
            Some(r#"{"rows_read":2,"imported":1,"failed":1,"rows_invalid":0,"not_imported":0}"#),
        );
        let refused = [Event::Preparing { at: 1.0 }, Event::Refused { at: 2.0, rows: 9, invalid: 4 }];
        let r4 = make_run(root.path(), "r4", &refused, None);
        let runs = list(root.path());
        let ids: Vec<&str> = runs.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids, ["r1", "r2", "r3", "r4"]);
        assert_eq!(runs[0].status, "completed");
        assert_eq!((runs[2].imported, runs[2].rejected), (Some(1), Some(1)));
        assert_eq!((runs[3].status, runs[3].rejected), ("refused", Some(4)));
        assert_eq!(newest_unfinished(root.path(), false).unwrap(), r2, "a refused run cannot go on as it is");
        assert_eq!(newest_unfinished(root.path(), true).unwrap(), r4);
        let err = newest_unfinished(Path::new("/nonexistent-runs"), false).unwrap_err().to_string();
        assert!(err.contains("no run in"), "{err}");
    }
}
