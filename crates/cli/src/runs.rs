//! The runs folder: listing runs, finding the newest unfinished one (`resume --last`),
//! and telling whether a file was already imported into an app (the duplicate-run guard).
//!
//! Only what every run directory holds is read: `run.json` (the spec), `summary.json`
//! (written when the run completes) and the number of journal lines; the journal's
//! event format stays the runner's business.

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
    /// `completed` (summary written) or `unfinished` (resumable).
    pub status: &'static str,
    /// Data rows read (known once prepared).
    pub rows: Option<u64>,
    /// Rows imported (completed runs).
    pub imported: Option<u64>,
    /// Rows rejected by validation or the platform (completed runs).
    pub rejected: Option<u64>,
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
}

/// Reads one run directory; `None` when it holds no readable `run.json`.
pub fn read_run(dir: &Path) -> Option<RunInfo> {
    let spec = RunSpec::load(dir).ok()?;
    let started_secs = std::fs::metadata(dir.join("run.json"))
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0.0, |d| d.as_secs_f64());
    let summary: Option<serde_json::Value> =
        std::fs::read_to_string(dir.join("summary.json")).ok().and_then(|t| serde_json::from_str(&t).ok());
    let number = |v: &serde_json::Value, k: &str| v.get(k).and_then(serde_json::Value::as_u64);
    let (status, rows, imported, rejected) = match &summary {
        Some(s) => (
            "completed",
            number(s, "rows_read"),
            number(s, "imported"),
            Some(number(s, "rows_invalid").unwrap_or(0) + number(s, "failed").unwrap_or(0)),
        ),
        None => ("unfinished", prepared_rows(dir), None, None),
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
        started,
        source_sha256: spec.source_sha256.clone(),
        started_secs,
    })
}

/// Rows read, from the journal's first line that states them (the preparation's).
fn prepared_rows(dir: &Path) -> Option<u64> {
    let text = std::fs::read_to_string(dir.join("journal.jsonl")).ok()?;
    text.lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find_map(|v| v.get("rows").and_then(serde_json::Value::as_u64))
}

/// Every run directly under `root`, oldest first.
pub fn list(root: &Path) -> Vec<RunInfo> {
    let Ok(entries) = std::fs::read_dir(root) else { return Vec::new() };
    let mut runs: Vec<RunInfo> = entries.filter_map(Result::ok).filter_map(|e| read_run(&e.path())).collect();
    runs.sort_by(|a, b| a.started_secs.total_cmp(&b.started_secs).then_with(|| a.id.cmp(&b.id)));
    runs
}

/// The run directory `resume` works on: the one named, or with `--last` the newest
/// unfinished run under the default runs folder.
pub fn resume_dir(named: Option<&Path>, last: bool) -> anyhow::Result<PathBuf> {
    match (named, last) {
        (Some(dir), _) => Ok(dir.to_path_buf()),
        (None, true) => newest_unfinished(Path::new(DEFAULT_ROOT)),
        (None, false) => Err(usage("say which run: `elma-import resume RUN_DIR`, or `--last` for the newest unfinished one (`elma-import runs` lists them)")),
    }
}

/// The newest unfinished run under `root`.
pub fn newest_unfinished(root: &Path) -> anyhow::Result<PathBuf> {
    list(root).into_iter().rev().find(|r| !r.completed()).map(|r| r.dir).ok_or_else(|| {
        usage(format!(
            "no unfinished run in `{}`: every run there completed (`elma-import runs` lists them)",
            root.display()
        ))
    })
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

/// A completed run under `root` that imported a file with this sha256 into `app`.
pub fn completed_import_of(root: &Path, app: &str, sha256: &str) -> Option<RunInfo> {
    list(root).into_iter().rev().find(|r| {
        r.completed()
            && r.app == app
            && r.source_sha256.as_deref() == Some(sha256)
            && r.imported.unwrap_or(0) > 0
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn make_run(root: &Path, id: &str, app: &str, sha: &str, summary: Option<&str>) -> PathBuf {
        let dir = root.join(id);
        std::fs::create_dir_all(&dir).unwrap();
        let source = root.join("f.csv");
        std::fs::write(&source, "Name\nA\n").unwrap();
        let mut spec = RunSpec::new(id, &source, app).unwrap();
        spec.source_sha256 = Some(sha.into());
        std::fs::write(dir.join("run.json"), serde_json::to_string(&spec).unwrap()).unwrap();
        if let Some(s) = summary {
            std::fs::write(dir.join("summary.json"), s).unwrap();
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
        dir
    }

    #[test]
    fn runs_are_listed_oldest_first_with_status_and_the_newest_unfinished_is_found() {
        let root = tempfile::tempdir().unwrap();
        make_run(
            root.path(),
            "r1",
            "crm.contacts",
            "aa",
            Some(r#"{"rows_read":5,"imported":5,"failed":0,"rows_invalid":0}"#),
        );
        let r2 = make_run(root.path(), "r2", "crm.contacts", "bb", None);
        make_run(
            root.path(),
            "r3",
            "crm.contacts",
            "cc",
            Some(r#"{"rows_read":2,"imported":1,"failed":1,"rows_invalid":0}"#),
        );
        let runs = list(root.path());
        let ids: Vec<&str> = runs.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids, ["r1", "r2", "r3"]);
        assert_eq!(runs[0].status, "completed");
        assert_eq!((runs[2].imported, runs[2].rejected), (Some(1), Some(1)));
        assert_eq!(newest_unfinished(root.path()).unwrap(), r2);
    }

    #[test]
    fn only_a_completed_run_of_the_same_file_and_app_counts_as_an_earlier_import() {
        let root = tempfile::tempdir().unwrap();
        make_run(root.path(), "r1", "crm.contacts", "aa", Some(r#"{"rows_read":5,"imported":5}"#));
        make_run(root.path(), "r2", "crm.contacts", "bb", None);
        assert_eq!(completed_import_of(root.path(), "crm.contacts", "aa").unwrap().id, "r1");
        assert!(completed_import_of(root.path(), "crm.deals", "aa").is_none());
        assert!(completed_import_of(root.path(), "crm.contacts", "bb").is_none());
        assert!(newest_unfinished(Path::new("/nonexistent-runs")).is_err());
    }
}
