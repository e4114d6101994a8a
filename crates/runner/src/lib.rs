//! Paced, resumable import runs.
//!
//! A run lives in a directory: `run.json` (what was asked), `schema.json` (what it was
//! validated against), `journal.jsonl` (every transition, fsynced), `chunks/` (the chunk
//! files and `manifest.json`), `validation-errors.csv`, and at the end `errors.csv` (every
//! rejected row, by source row) and `summary.json`.
//!
//! [`execute`] runs the loop of ARCHITECTURE.md: validate → plan → chunk, then per chunk
//! persist the hash, upload, start, wait out `blocked`, poll, record, pause. Called again
//! on the same directory it continues where the journal ends and never imports a chunk
//! twice: a chunk whose start went out unanswered is *uncertain* and is settled only by
//! the app's items (`key_column`) or the user's word.
//!
//! ```no_run
//! # async fn demo(client: elma_import_client::Client) -> Result<(), elma_import_runner::RunError> {
//! use elma_import_runner::{execute, Cancel, ExecOptions, Quiet};
//! let summary = execute("runs/r1".as_ref(), &client, &ExecOptions::default(), &Quiet, &Cancel::new()).await?;
//! println!("{} rows imported", summary.imported);
//! # Ok(()) }
//! ```

pub mod error;
pub mod journal;
pub mod pace;
pub mod prepare;
pub mod run;
pub mod spec;
pub mod state;

pub use error::RunError;
pub use run::{execute, Cancel, ExecOptions, Summary};
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
