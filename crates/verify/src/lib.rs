//! `elma-import verify`: is what is in the app what was in the source? Every source row
//! against the item holding its key, field by field, in the platform's value shapes.
//!
//! A [`Target`] says which file, app and key column, and how the run read the file (its
//! reading options, column map, locale, time zone). [`Verifier::verify`] reads each file
//! the run's way (every row checked as `validate` checks it, the template's example row
//! left out as `run` leaves it out), lists the app's items through the list endpoint
//! (docs/platform.md §6, pages of 100, within the client's retry rules, the next pages asked for
//! while one is compared) and compares each item, as it arrives, with the row holding
//! its key, by the contract's rules ([`elma_import_contract::values::same_value`]).
//!
//! Every row gets a [`Verdict`]: `matched`, `missing` (no item holds its key), `differs`
//! (one [`DiffLine`] per differing field, with both values as text), `ambiguous` (its key
//! is held by several items or several rows), `invalid` (it does not pass the checks, so
//! the run did not import it); every item whose key is in no row is `extra`.
//!
//! Memory: a valid row is kept as its cells' bytes by key (about the file's size), the
//! items one page at a time; differing fields are kept only for rows that differ.
//!
//! ```no_run
//! # async fn demo(client: elma_import_client::Client) -> Result<(), elma_import_verify::VerifyError> {
//! use elma_import_verify::{DiffSink, Quiet, Target, Verification, Verifier};
//! let target = Target::from_run_dir("runs/r1".as_ref(), None)?;
//! let mut diff = DiffSink::create("diff.csv".as_ref(), false)?;
//! let outcomes = Verifier::new(&client, &Quiet).verify(&[target], &mut diff).await?;
//! let v = Verification::new("run", "runs/r1".as_ref(), outcomes, diff.path(), 0.0, 0);
//! println!("{} matched, {} differ", v.counts.matched, v.counts.differs);
//! # Ok(()) }
//! ```

mod compare;
pub mod diff;
mod engine;
pub mod error;
mod list;
mod show;
mod source;
pub mod target;

use std::path::{Path, PathBuf};

use elma_import_chunk::plan::thousands;
use serde::{Deserialize, Serialize};

pub use diff::{DiffLine, DiffSink, Verdict, DIFF_COLUMNS};
pub use engine::Verifier;
pub use error::VerifyError;
pub use target::{migration_targets, Link, Target};

/// Diff lines an [`Outcome`] keeps for the report page (the diff file has them all).
pub const SAMPLE_LINES: usize = 1_000;

/// The name of the saved verification in a run, migration or verify directory.
pub const VERIFY_FILE: &str = "verify.json";

/// The name of the diff file written beside `verify.json`.
pub const DIFF_FILE: &str = "verify.csv";

/// Rows and items by verdict.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    /// Rows whose item holds every value.
    pub matched: u64,
    /// Rows no item holds the key of.
    pub missing: u64,
    /// Rows whose item holds other values.
    pub differs: u64,
    /// Items whose key is in no row.
    pub extra: u64,
    /// Rows whose key several items (or several rows) hold.
    pub ambiguous: u64,
    /// Rows that do not pass the checks (not imported by a run).
    pub invalid: u64,
    /// Items that held a row's key before the run imported (its baseline): the app's own,
    /// left out of the comparison.
    #[serde(default)]
    pub before: u64,
}

impl Counts {
    /// Adds `other` to these counts.
    pub fn add(&mut self, other: &Counts) {
        self.matched += other.matched;
        self.missing += other.missing;
        self.differs += other.differs;
        self.extra += other.extra;
        self.ambiguous += other.ambiguous;
        self.invalid += other.invalid;
        self.before += other.before;
    }

    /// Whether every row matched its one item. Extra items (keys in no row) are the
    /// app's other items unless the verification is exact.
    pub fn all_matched(&self) -> bool {
        self.missing + self.differs + self.ambiguous + self.invalid == 0
    }

    /// `3 missing, 2 differ, 1 extra` (the non-zero kinds other than matched).
    pub fn problems(&self) -> String {
        let kinds = [
            (self.missing, "missing"),
            (self.differs, "differ"),
            (self.extra, "extra"),
            (self.ambiguous, "ambiguous"),
            (self.invalid, "invalid"),
        ];
        kinds
            .iter()
            .filter(|(n, _)| *n > 0)
            .map(|(n, what)| format!("{} {what}", thousands(*n)))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// How many rows differ in one column.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ColumnCount {
    /// The column's header.
    pub column: String,
    /// Rows whose item holds another value in it.
    pub differs: u64,
}

/// The verification of one file against its app (one step of a migration).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Outcome {
    /// `crm.contacts from contacts.csv`, or `step 2 crm.contacts from …`.
    pub label: String,
    /// The app.
    pub app: String,
    /// The source file.
    pub source: PathBuf,
    /// The run directory the file was imported by, if known.
    pub run_dir: Option<PathBuf>,
    /// The key column.
    pub key_column: String,
    /// The zone the file's date-times were read in.
    pub time_zone: String,
    /// Data rows read.
    pub rows: u64,
    /// The template's example rows left out.
    pub examples: u64,
    /// Items of the app listed (on the first outcome of an app verified with others).
    pub items: u64,
    /// Rows and items by verdict.
    #[serde(flatten)]
    pub counts: Counts,
    /// Fields compared (columns × rows found once).
    pub fields_compared: u64,
    /// Link values checked against the parent's keys (migrations).
    pub links_checked: u64,
    /// Rows differing, by column, most first.
    pub columns: Vec<ColumnCount>,
    /// The first [`SAMPLE_LINES`] diff lines.
    pub lines: Vec<DiffLine>,
    /// Diff lines in all.
    pub lines_total: u64,
}

/// A whole verification, saved as `verify.json`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Verification {
    /// `file`, `run` or `migration`.
    pub kind: String,
    /// What was verified: the file, the run directory, the migration.
    pub target: PathBuf,
    /// When it ended, seconds since the epoch.
    pub at: f64,
    /// How long it took, seconds.
    pub wall_secs: f64,
    /// Requests made, retries included.
    pub requests: u64,
    /// Totals by verdict.
    #[serde(flatten)]
    pub counts: Counts,
    /// Whether extra items fail the verification too (`--exact`: the app holds nothing
    /// but the files' rows).
    #[serde(default)]
    pub exact: bool,
    /// Data rows read, over every file.
    pub rows: u64,
    /// Items listed, over every app.
    pub items: u64,
    /// Fields compared.
    pub fields_compared: u64,
    /// Link values checked.
    pub links_checked: u64,
    /// The diff file.
    pub diff_file: Option<PathBuf>,
    /// Per file, in order.
    pub steps: Vec<Outcome>,
}

impl Verification {
    /// The verification of `outcomes`, with totals.
    pub fn new(
        kind: &str,
        target: &Path,
        outcomes: Vec<Outcome>,
        diff_file: Option<&Path>,
        wall_secs: f64,
        requests: u64,
    ) -> Verification {
        let mut v = Verification {
            kind: kind.to_string(),
            target: target.to_path_buf(),
            at: elma_import_client::poll::system_wall(),
            wall_secs,
            requests,
            diff_file: diff_file.map(Path::to_path_buf),
            ..Verification::default()
        };
        for o in &outcomes {
            v.counts.add(&o.counts);
            v.rows += o.rows;
            v.items += o.items;
            v.fields_compared += o.fields_compared;
            v.links_checked += o.links_checked;
        }
        v.steps = outcomes;
        v
    }

    /// Whether every row matched its one item (and, when exact, no item is extra).
    pub fn all_matched(&self) -> bool {
        self.counts.all_matched() && (!self.exact || self.counts.extra == 0)
    }

    /// The outcome in one sentence: `3,000 rows of contacts.csv all match their items in
    /// crm.contacts` or `… 2,990 match; 5 missing, 3 differ, 2 extra`.
    pub fn sentence(&self) -> String {
        let apps: Vec<&str> = {
            let mut a: Vec<&str> = self.steps.iter().map(|s| s.app.as_str()).collect();
            a.dedup();
            a
        };
        let what = match self.steps.as_slice() {
            [one] => format!(
                "{} row(s) of `{}` against {}",
                thousands(self.rows),
                one.source.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
                one.app
            ),
            many => format!(
                "{} row(s) of {} file(s) against {}",
                thousands(self.rows),
                many.len(),
                apps.join(", ")
            ),
        };
        let links = if self.links_checked > 0 {
            format!(", {} link(s) checked", thousands(self.links_checked))
        } else {
            String::new()
        };
        let mut others = Vec::new();
        if self.counts.before > 0 {
            others.push(format!("{} item(s) there before the run, left out", thousands(self.counts.before)));
        }
        if self.counts.extra > 0 && !self.exact {
            others.push(format!("{} other item(s) in the app", thousands(self.counts.extra)));
        }
        let others = if others.is_empty() { String::new() } else { format!("; {}", others.join(", ")) };
        if self.all_matched() {
            format!(
                "{what}: every row matches its item ({} fields compared{links}){others}",
                thousands(self.fields_compared)
            )
        } else {
            let mut problems = self.counts;
            if !self.exact {
                problems.extra = 0;
            }
            format!(
                "{what}: {} match; {}{links}{others}",
                thousands(self.counts.matched),
                problems.problems()
            )
        }
    }

    /// Writes the verification as pretty JSON to `path` (atomically).
    ///
    /// # Errors
    /// The file cannot be written.
    pub fn save(&self, path: &Path) -> Result<(), VerifyError> {
        elma_import_runner::spec::write_json(path, self).map_err(|source| VerifyError::Run {
            what: format!("writing `{}`", path.display()),
            source: Box::new(source),
        })
    }

    /// Reads a saved verification.
    ///
    /// # Errors
    /// The file cannot be read or is not a verification.
    pub fn load(path: &Path) -> Result<Verification, VerifyError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| VerifyError::io(format!("cannot read `{}`", path.display()), e))?;
        serde_json::from_str(&text)
            .map_err(|e| VerifyError::Config(format!("`{}` is no verification: {e}", path.display())))
    }
}

/// How a verification goes, for progress bars.
#[derive(Debug)]
pub enum Watching<'a> {
    /// Reading a source file: bytes done of total.
    Reading {
        /// The file.
        file: &'a Path,
        /// Bytes read.
        done: u64,
        /// Bytes in all.
        total: u64,
    },
    /// A source file is read.
    Read {
        /// The file.
        file: &'a Path,
        /// Data rows.
        rows: u64,
        /// Rows that do not pass the checks.
        invalid: u64,
    },
    /// Listing an app's items: items done of total (0 when unknown).
    Listing {
        /// The app.
        app: &'a str,
        /// Items so far.
        done: u64,
        /// Items in all, as the platform counts them.
        total: u64,
        /// `compare` (its items against the rows) or `links` (its ids, for links to it).
        purpose: &'a str,
    },
}

/// Receives [`Watching`].
pub trait Watch: Send + Sync {
    /// Called at each step.
    fn on(&self, event: &Watching<'_>);
}

/// A [`Watch`] that ignores everything.
#[derive(Debug, Clone, Copy, Default)]
pub struct Quiet;

impl Watch for Quiet {
    fn on(&self, _: &Watching<'_>) {}
}
