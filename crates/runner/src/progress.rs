//! What a run reports as it goes: the CLI draws progress bars, lines and JSONL from these.

use std::time::Duration;

use elma_import_chunk::Plan;
use elma_import_contract::wire::ImportResult;

use crate::event::Chunk;
use crate::report::Summary;

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
        chunk: Chunk,
        /// Its rows.
        rows: u64,
    },
    /// The next chunk's file is uploaded while the current chunk imports.
    UploadingAhead {
        /// The chunk uploaded.
        chunk: Chunk,
        /// Its rows.
        rows: u64,
        /// The chunk importing meanwhile.
        during: Chunk,
    },
    /// The import of a chunk started.
    Started {
        /// Chunk index.
        chunk: Chunk,
        /// Import id.
        import_id: &'a str,
    },
    /// The app is blocked by another import.
    Blocked {
        /// Chunk index.
        chunk: Chunk,
        /// Waiting so far.
        waited: Duration,
    },
    /// A status answer.
    Importing {
        /// Chunk index.
        chunk: Chunk,
        /// The answer.
        result: &'a ImportResult,
        /// Rows in the chunk.
        rows: u64,
    },
    /// A chunk's import ended.
    ChunkFinished {
        /// Chunk index.
        chunk: Chunk,
        /// The final answer.
        result: &'a ImportResult,
        /// Rows in the chunk.
        rows: u64,
    },
    /// `--pause auto` decided the next pause (journaled). It comes right before the
    /// [`Progress::ChunkFinished`] of the chunk it judged; a [`Progress::Pausing`] follows.
    Paced {
        /// Chunk judged.
        chunk: Chunk,
        /// The decision.
        decision: &'a crate::pace::Decision,
        /// The pause the pacer expects to settle on for the pauses still to come (its
        /// model of the platform), for the time left.
        expected_pause: Duration,
    },
    /// Pausing so the platform's event handlers drain.
    Pausing {
        /// Chunk just finished.
        chunk: Chunk,
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
