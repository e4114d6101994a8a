//! The journal's events: every fact a resume needs, one JSON line each.
//!
//! An event is written (and fsynced) before the step it announces or as soon as the
//! platform's answer comes back; [`crate::state::RunState::apply`] is the one function
//! that turns events into state. Fields added since the first journals carry serde
//! defaults, so older journals still replay.

use elma_import_chunk::UploadKind;
use elma_import_contract::wire::{ImportStatus, RowError};
use serde::{Deserialize, Serialize};

/// Seconds since the Unix epoch, with milliseconds.
pub fn now_secs() -> f64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or(0.0)
}

/// One line of the journal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// Validation and chunking finished; chunk files and manifest are on disk.
    Prepared {
        /// When.
        at: f64,
        /// Data rows read.
        rows: u64,
        /// Rows that passed validation (and were chunked).
        valid: u64,
        /// Rows rejected by validation.
        invalid: u64,
        /// Chunks written.
        chunks: u32,
    },
    /// About to upload `chunk` under `hash` (written before any byte is sent).
    UploadBegin {
        /// When.
        at: f64,
        /// Chunk index.
        chunk: u32,
        /// Client-generated upload hash.
        hash: String,
        /// Upload kind.
        target: UploadKind,
    },
    /// The platform acknowledged the whole upload.
    Uploaded {
        /// When.
        at: f64,
        /// Chunk index.
        chunk: u32,
        /// The hash uploaded.
        hash: String,
    },
    /// The chunk's temporary file is older than the safe window: it is uploaded again
    /// under a new hash rather than imported.
    UploadExpired {
        /// When.
        at: f64,
        /// Chunk index.
        chunk: u32,
    },
    /// About to send the start request (written before it is sent).
    StartSent {
        /// When.
        at: f64,
        /// Chunk index.
        chunk: u32,
        /// The hash the import uses.
        hash: String,
    },
    /// The start answered `blocked`: nothing was started; the upload is started again later.
    Blocked {
        /// When.
        at: f64,
        /// Chunk index.
        chunk: u32,
    },
    /// The start was refused (the hash is unknown or expired, say): nothing was started;
    /// the chunk is uploaded again. Counts against the chunk's restart budget.
    StartRefused {
        /// When.
        at: f64,
        /// Chunk index.
        chunk: u32,
        /// The server's words.
        reason: String,
    },
    /// The start provably did not take effect, but retries ran out (a 503 that lasted, no
    /// connection): the upload is started again on the next execution.
    StartFailed {
        /// When.
        at: f64,
        /// Chunk index.
        chunk: u32,
        /// What happened.
        reason: String,
    },
    /// The import was started and has this id.
    Started {
        /// When.
        at: f64,
        /// Chunk index.
        chunk: u32,
        /// Import id.
        import_id: String,
    },
    /// The import ended `failed` before any row landed (its file expired, say): the chunk
    /// is uploaded and started again. Counts against the chunk's restart budget.
    FailedEarly {
        /// When.
        at: f64,
        /// Chunk index.
        chunk: u32,
        /// The platform's reason.
        reason: String,
    },
    /// The platform's final answer for the chunk's import, as it came.
    Finished {
        /// When.
        at: f64,
        /// Chunk index.
        chunk: u32,
        /// `done` or `failed`.
        status: ImportStatus,
        /// Rows imported, as the platform counts them.
        imported: u64,
        /// Rows failed, as the platform counts them.
        failed: u64,
        /// Row errors, rows as in the chunk file.
        #[serde(default)]
        errors: Vec<RowError>,
        /// Whether the counts were yet to be checked against the rows sent (false in
        /// journals written before reconciliation existed: their counts were final).
        #[serde(default)]
        unreconciled: bool,
    },
    /// The import's counts did not move for the stall limit: the wait ended; a resume
    /// polls the same import again.
    Stalled {
        /// When.
        at: f64,
        /// Chunk index.
        chunk: u32,
        /// Rows processed at the last answer.
        processed: u64,
        /// How long the counts stood still, seconds.
        still_secs: f64,
    },
    /// The start went out but its answer was lost: the chunk may or may not be imported.
    Uncertain {
        /// When.
        at: f64,
        /// Chunk index.
        chunk: u32,
        /// What happened.
        reason: String,
    },
    /// An uncertain chunk was settled as a whole, by the user's word (or, in journals
    /// written before row-by-row settling, by the key column).
    Resolved {
        /// When.
        at: f64,
        /// Chunk index.
        chunk: u32,
        /// Whether it counts as imported (true) or is to be imported again (false).
        imported: bool,
        /// How it was settled: `user` (older journals: `key-column`).
        by: String,
    },
    /// The rows of the chunk's current file were accounted for: by the platform's counts
    /// when they add up, else row by row among the app's items.
    Reconciled {
        /// When.
        at: f64,
        /// Chunk index.
        chunk: u32,
        /// Rows of the current file now in the app.
        landed: u64,
        /// Rows the platform rejected, by source row.
        #[serde(default)]
        rejected: Vec<RowError>,
        /// Source rows that did not land and are to be imported once more.
        #[serde(default)]
        retry: Vec<u64>,
        /// Source rows not imported (or whose fate cannot be told), with why.
        #[serde(default)]
        lost: Vec<LostRow>,
        /// How: `counts`, `key`, `content`, or `none` (no look-up possible).
        by: String,
    },
    /// The rows to import again were written to a new file, which replaces the chunk's
    /// file from here on.
    Replaced {
        /// When.
        at: f64,
        /// Chunk index.
        chunk: u32,
        /// The new file, relative to `chunks/`.
        file: String,
        /// Rows in it.
        rows: u64,
        /// Its rows' source rows, as runs.
        source_ranges: Vec<[u64; 2]>,
        /// Journals before reconciliation existed: rows of the chunk already in the app.
        #[serde(default)]
        imported_before: u64,
        /// Journals before reconciliation existed: rows rejected by earlier attempts.
        #[serde(default)]
        source_errors: Vec<RowError>,
    },
    /// `--pause auto` judged chunk `chunk`'s import and chose the pause before the next
    /// import (written before the pause). The pacer's whole state rides along, so a
    /// resume keeps the learned pause.
    Paced {
        /// When.
        at: f64,
        /// Chunk index.
        chunk: u32,
        /// Rows of the import judged.
        rows: u64,
        /// Seconds from the start request to the poll the throughput was taken at (both as
        /// sent).
        measured_secs: f64,
        /// The decision.
        decision: crate::pace::Decision,
        /// The pacer after the decision.
        pacer: crate::pace::Pacer,
    },
    /// The run was interrupted (Ctrl-C); resume continues it.
    Interrupted {
        /// When.
        at: f64,
    },
    /// Every chunk is finished.
    Completed {
        /// When.
        at: f64,
    },
}

/// A source row whose import cannot be confirmed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LostRow {
    /// Source row (header = 1).
    pub row: u64,
    /// Why it is reported.
    pub message: String,
}

impl Event {
    /// The chunk the event is about, if any.
    pub fn chunk(&self) -> Option<u32> {
        match self {
            Event::UploadBegin { chunk, .. }
            | Event::Uploaded { chunk, .. }
            | Event::UploadExpired { chunk, .. }
            | Event::StartSent { chunk, .. }
            | Event::Blocked { chunk, .. }
            | Event::StartRefused { chunk, .. }
            | Event::StartFailed { chunk, .. }
            | Event::Started { chunk, .. }
            | Event::FailedEarly { chunk, .. }
            | Event::Finished { chunk, .. }
            | Event::Stalled { chunk, .. }
            | Event::Uncertain { chunk, .. }
            | Event::Resolved { chunk, .. }
            | Event::Reconciled { chunk, .. }
            | Event::Replaced { chunk, .. }
            | Event::Paced { chunk, .. } => Some(*chunk),
            Event::Prepared { .. } | Event::Interrupted { .. } | Event::Completed { .. } => None,
        }
    }
}
