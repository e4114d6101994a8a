//! Paced, resumable import runs.
//!
//! A run lives in a directory: `run.json` (what was asked), `schema.json` (what it was
//! validated against), `journal.jsonl` (every transition, fsynced), `lock` (the pid of the
//! one process that holds the directory), `chunks/` (the chunk files and `manifest.json`),
//! `errors.csv` (every row not imported, by source row), `rejects.csv` (those rows in
//! full) and at the end `summary.json`.
//!
//! A run is one state machine: [`event::Event`]s are journaled and fsynced by the run's
//! context, then applied by [`state::RunState::apply`], the only code that changes state;
//! a resume replays the journal through the same function. [`execute`] drives each chunk
//! through small steps ([`step`]): upload, start (wait out `blocked`), wait (poll, stall
//! limit), settle (reconcile the counts, or look the rows up among the app's items by the
//! key column or by their whole content) and mend (import the rows that did not land once
//! more). Timings and budgets live in [`RunPolicy`], on an injectable clock.
//!
//! ```no_run
//! # async fn demo(client: elma_import_client::Client) -> Result<(), elma_import_runner::RunError> {
//! use elma_import_runner::{execute, Cancel, ExecOptions, Quiet};
//! let summary = execute("runs/r1".as_ref(), &client, &ExecOptions::default(), &Quiet, &Cancel::new()).await?;
//! println!("{} rows imported", summary.imported);
//! # Ok(()) }
//! ```

pub mod duration;
pub mod error;
pub mod event;
pub mod journal;
pub mod lookup;
pub mod pace;
pub mod policy;
pub mod prepare;
pub mod report;
pub mod run;
pub mod spec;
pub mod state;
mod step;

pub use error::{RunError, StopKind};
pub use policy::RunPolicy;
pub use report::Summary;
pub use run::{execute, execute_with_clock, finished, Cancel, ExecOptions};
pub use spec::RunSpec;

use std::time::Duration;

use elma_import_chunk::Plan;
use elma_import_contract::wire::ImportResult;

/// What a run reports as it goes (the CLI draws progress from these).
#[derive(Debug)]
pub enum Progress<'a> {
    /// Validating the source: bytes done of total.
    Preparing {
        /// Bytes read.
        done: u64,
        /// Bytes in all.
        total: u64,
    },
    /// Writing chunk files: bytes done of total.
    Chunking {
        /// Bytes read.
        done: u64,
        /// Bytes in all.
        total: u64,
    },
    /// Prepared (or found prepared); the plan.
    Planned {
        /// Data rows.
        rows: u64,
        /// Valid rows.
        valid: u64,
        /// Rejected rows.
        invalid: u64,
        /// The plan.
        plan: &'a Plan,
        /// Rows of chunks finished by earlier executions.
        already_imported: u64,
    },
    /// Uploading chunk `chunk` (0-based).
    Uploading {
        /// Chunk index.
        chunk: u32,
        /// Its rows.
        rows: u64,
    },
    /// The import of a chunk started.
    Started {
        /// Chunk index.
        chunk: u32,
        /// Import id.
        import_id: &'a str,
    },
    /// The app is blocked by another import.
    Blocked {
        /// Chunk index.
        chunk: u32,
        /// Waiting so far.
        waited: Duration,
    },
    /// A status answer.
    Importing {
        /// Chunk index.
        chunk: u32,
        /// The answer.
        result: &'a ImportResult,
        /// Rows in the chunk.
        rows: u64,
    },
    /// A chunk's import ended.
    ChunkFinished {
        /// Chunk index.
        chunk: u32,
        /// The final answer.
        result: &'a ImportResult,
        /// Rows in the chunk.
        rows: u64,
    },
    /// `--pause auto` decided the next pause (journaled; a [`Progress::Pausing`] follows
    /// unless the chunk was the last).
    Paced {
        /// Chunk judged.
        chunk: u32,
        /// The decision.
        decision: &'a pace::Decision,
    },
    /// Pausing so the platform's event handlers drain.
    Pausing {
        /// Chunk just finished.
        chunk: u32,
        /// How long.
        pause: Duration,
    },
    /// A line worth telling the user.
    Message(String),
    /// The run completed.
    Completed {
        /// Its summary.
        summary: &'a Summary,
    },
}

/// Receives [`Progress`].
pub trait Observer: Send + Sync {
    /// Called at each step.
    fn on(&self, progress: &Progress<'_>);
}

/// An observer that ignores everything.
#[derive(Debug, Clone, Copy, Default)]
pub struct Quiet;

impl Observer for Quiet {
    fn on(&self, _: &Progress<'_>) {}
}
