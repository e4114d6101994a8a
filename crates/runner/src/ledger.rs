//! The user's import ledger: one file per user, wherever runs are kept, saying which file
//! (by its content's sha256) was imported into which app of which platform, by which run.
//!
//! A run writes its entry before its first start ([`claim`]); `run`, a migration's steps
//! and a run issued again after a crash consult it, so the same file is not imported
//! into the same app twice unless the user says so (`again`). The ledger is a journal
//! (one JSON line per entry, fsynced, torn last line cut away), changed under a lock
//! (`ledger.lock` beside it), and holds no token: the platform's address, the app, the
//! file's sha256 and path, the run directory and when.
//!
//! It lives at `$ELMA_IMPORT_LEDGER`, else `$XDG_DATA_HOME/elma-import/ledger.jsonl`,
//! else `~/.local/share/elma-import/ledger.jsonl` ([`default_path`]).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::RunError;
use crate::journal::{DirLock, Journal};

/// The variable naming the ledger file.
pub const ENV: &str = "ELMA_IMPORT_LEDGER";

/// One import, as the ledger keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// When the run claimed it (seconds since the epoch).
    pub at: f64,
    /// The platform's Web API address (never the token).
    pub url: String,
    /// The app, `namespace.code`.
    pub app: String,
    /// sha256 of the file's content, lowercase hex.
    pub sha256: String,
    /// The file as given.
    pub source: PathBuf,
    /// The run directory, absolute.
    pub run_dir: PathBuf,
    /// Rows the run was to import.
    pub rows: u64,
}

impl Entry {
    /// Whether the entry is the same import: same platform, app and content.
    pub fn same_import(&self, url: &str, app: &str, sha256: &str) -> bool {
        same_url(&self.url, url) && self.app == app && self.sha256 == sha256
    }

    /// Whether the run behind the entry finished (its directory holds `summary.json`).
    pub fn finished(&self) -> bool {
        self.run_dir.join("summary.json").is_file()
    }
}

fn same_url(a: &str, b: &str) -> bool {
    a.trim_end_matches('/').eq_ignore_ascii_case(b.trim_end_matches('/'))
}

/// Where the ledger lives by default.
pub fn default_path() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os(ENV).filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(p));
    }
    let base = std::env::var_os("XDG_DATA_HOME")
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local").join("share")))?;
    Some(base.join("elma-import").join("ledger.jsonl"))
}

/// Every entry of the ledger at `path` (none when it does not exist).
pub fn entries(path: &Path) -> Result<Vec<Entry>, RunError> {
    Ok(Journal::<Entry>::read(path)?)
}

/// The latest entry of another run that imported the same content into the same app of
/// the same platform, if any.
pub fn earlier(
    path: &Path,
    url: &str,
    app: &str,
    sha256: &str,
    run_dir: &Path,
) -> Result<Option<Entry>, RunError> {
    let run_dir = absolute(run_dir);
    Ok(entries(path)?.into_iter().rev().find(|e| e.same_import(url, app, sha256) && e.run_dir != run_dir))
}

/// Writes `entry` into the ledger at `path`, unless another run imported the same
/// content into the same app already and `again` is not set: then the error names it.
/// An entry of the same run is written once.
pub fn claim(path: &Path, mut entry: Entry, again: bool) -> Result<(), RunError> {
    entry.run_dir = absolute(&entry.run_dir);
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .map_err(|e| RunError::io(format!("cannot create `{}`", parent.display()), e))?;
    }
    let _lock = DirLock::wait_for_file(&path.with_extension("lock"))?;
    let mut opened = Journal::<Entry>::open(path)?;
    let same = |e: &&Entry| e.same_import(&entry.url, &entry.app, &entry.sha256);
    if opened.events.iter().filter(same).any(|e| e.run_dir == entry.run_dir) {
        return Ok(());
    }
    if let (false, Some(before)) = (again, opened.events.iter().rev().find(same)) {
        return Err(already(&entry, before));
    }
    opened.journal.append(&entry)?;
    Ok(())
}

/// The error naming an earlier import of the same file.
pub fn already(entry: &Entry, before: &Entry) -> RunError {
    let when = chrono::DateTime::<chrono::Utc>::from_timestamp(before.at as i64, 0)
        .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_default();
    let finished = before.finished();
    let how = if !before.run_dir.join("run.json").is_file() {
        "its run directory is gone"
    } else if finished {
        "it finished"
    } else {
        "it has not finished"
    };
    RunError::AlreadyImported {
        source_file: entry.source.clone(),
        app: entry.app.clone(),
        earlier: format!(
            "the run `{}` began importing the same content (sha256 {}…) on {when}, and {how}",
            before.run_dir.display(),
            before.sha256.chars().take(12).collect::<String>()
        ),
        earlier_dir: Some(before.run_dir.clone()),
        finished,
    }
}

fn absolute(p: &Path) -> PathBuf {
    std::fs::canonicalize(p).or_else(|_| std::path::absolute(p)).unwrap_or_else(|_| p.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(run_dir: &Path, sha: &str) -> Entry {
        Entry {
            at: 1.0,
            url: "http://127.0.0.1:1/pub/v1/".into(),
            app: "crm.contacts".into(),
            sha256: sha.into(),
            source: "contacts.csv".into(),
            run_dir: run_dir.to_path_buf(),
            rows: 3,
        }
    }

    #[test]
    fn the_same_content_into_the_same_app_is_refused_for_another_run_wherever_it_lives() {
        let tmp = tempfile::tempdir().unwrap();
        let ledger = tmp.path().join("share/ledger.jsonl");
        let (a, b) = (tmp.path().join("runs/a"), tmp.path().join("elsewhere/b"));
        std::fs::create_dir_all(&a).unwrap();
        std::fs::create_dir_all(&b).unwrap();
        claim(&ledger, entry(&a, "aa"), false).unwrap();
        claim(&ledger, entry(&a, "aa"), false).unwrap();
        assert_eq!(entries(&ledger).unwrap().len(), 1, "the same run claims once");
        let err = claim(&ledger, entry(&b, "aa"), false).unwrap_err();
        assert!(
            matches!(&err, RunError::AlreadyImported { earlier_dir: Some(d), finished: false, .. } if d.ends_with("runs/a")),
            "{err:?}"
        );
        let mut other_url = entry(&b, "aa");
        other_url.url = "https://acme.elma365.ru/pub/v1".into();
        claim(&ledger, other_url, false).unwrap();
        claim(&ledger, entry(&b, "bb"), false).unwrap();
        claim(&ledger, entry(&b, "aa"), true).unwrap();
        assert_eq!(entries(&ledger).unwrap().len(), 4);
        assert!(earlier(&ledger, "http://127.0.0.1:1/pub/v1", "crm.contacts", "aa", &b).unwrap().is_some());
    }
}
