//! The journal's events: every fact a resume needs, one JSON line each.
//!
//! An event is written (and fsynced) before the step it announces or as soon as the
//! platform's answer comes back; [`crate::state::RunState::apply`] is the one function
//! that turns events into state. Fields added since the first journals carry serde
//! defaults, so older journals still replay.

use std::fmt;

use elma_import_chunk::UploadKind;
use elma_import_contract::wire::{ImportStatus, RowError};
use serde::{Deserialize, Serialize};

/// A chunk of a run: its 0-based index in the manifest, as the journal stores it. People
/// see it 1-based: `Display` writes the number (`chunk 3` is `Chunk(2)`), and
/// [`Chunk::from_number`] reads one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Chunk(pub u32);

impl Chunk {
    /// The chunk a person numbers `n` (1-based); `None` for 0.
    pub fn from_number(n: u32) -> Option<Chunk> {
        n.checked_sub(1).map(Chunk)
    }

    /// The 1-based number people see.
    pub fn number(self) -> u32 {
        self.0 + 1
    }

    /// The index into the manifest's chunks.
    pub fn index(self) -> usize {
        self.0 as usize
    }

    /// The chunk after this one.
    pub fn next(self) -> Chunk {
        Chunk(self.0 + 1)
    }
}

impl fmt::Display for Chunk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.number())
    }
}

/// How the rows of a chunk were accounted for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SettledBy {
    /// The platform's counts added up.
    Counts,
    /// Each row looked up among the app's items by the key column.
    Key,
    /// Each row looked up by its whole content.
    Content,
    /// No look-up was possible.
    None,
    /// The user's word (`resume --assume-imported N` / `--assume-not-imported N`).
    User,
    /// Journals written before row-by-row settling: the key column, chunk as a whole.
    #[serde(rename = "key-column")]
    KeyColumn,
}

impl SettledBy {
    /// How it is written in messages: `counts`, `key`, `content`, `none`, `user`.
    pub fn as_str(self) -> &'static str {
        match self {
            SettledBy::Counts => "counts",
            SettledBy::Key | SettledBy::KeyColumn => "key",
            SettledBy::Content => "content",
            SettledBy::None => "none",
            SettledBy::User => "user",
        }
    }
}

/// One line of the journal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// Preparation (validate, plan, chunk) began: a run directory with chunk files but
    /// without this line (or its journal) lost its journal and is not continued.
    Preparing {
        /// When.
        at: f64,
    },
    /// Validation rejected rows and the run was not told to skip them: nothing was sent.
    /// `resume --skip-invalid` prepares again and imports the valid rows.
    Refused {
        /// When.
        at: f64,
        /// Data rows read.
        rows: u64,
        /// Rows rejected.
        invalid: u64,
    },
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
    /// The items already in the app that match rows of the run (by the key column, or by
    /// content), looked up before the first start: they were there before, so no look-up
    /// counts them as landed.
    Baseline {
        /// When.
        at: f64,
        /// Their ids.
        items: Vec<String>,
    },
    /// The run is in the user's import ledger (written before the first start).
    Claimed {
        /// When.
        at: f64,
        /// The ledger file.
        ledger: std::path::PathBuf,
    },
    /// The platform stores date-times at another offset than the run reads the file in:
    /// what a cell means differs from what the platform stores (reported once).
    ZoneMismatch {
        /// When.
        at: f64,
        /// The offset of the platform's stored values, e.g. `+03:00`.
        platform: String,
        /// The run's time zone and its offset at that instant, e.g. `Europe/Berlin (+01:00)`.
        run: String,
        /// The field it was seen in.
        field: String,
    },
    /// About to upload `chunk` under `hash` (written before any byte is sent).
    UploadBegin {
        /// When.
        at: f64,
        /// Chunk index.
        chunk: Chunk,
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
        chunk: Chunk,
        /// The hash uploaded.
        hash: String,
    },
    /// The chunk's temporary file is older than the safe window: it is uploaded again
    /// under a new hash rather than imported.
    UploadExpired {
        /// When.
        at: f64,
        /// Chunk index.
        chunk: Chunk,
    },
    /// About to send the start request (written before it is sent).
    StartSent {
        /// When.
        at: f64,
        /// Chunk index.
        chunk: Chunk,
        /// The hash the import uses.
        hash: String,
    },
    /// The start answered `blocked`: nothing was started; the upload is started again later.
    Blocked {
        /// When.
        at: f64,
        /// Chunk index.
        chunk: Chunk,
    },
    /// The start was refused (the hash is unknown or expired, say): nothing was started;
    /// the chunk is uploaded again. Counts against the chunk's restart budget.
    StartRefused {
        /// When.
        at: f64,
        /// Chunk index.
        chunk: Chunk,
        /// The server's words.
        reason: String,
    },
    /// The start provably did not take effect, but retries ran out (a 503 that lasted, no
    /// connection): the upload is started again on the next execution.
    StartFailed {
        /// When.
        at: f64,
        /// Chunk index.
        chunk: Chunk,
        /// What happened.
        reason: String,
    },
    /// The import was started and has this id.
    Started {
        /// When.
        at: f64,
        /// Chunk index.
        chunk: Chunk,
        /// Import id.
        import_id: String,
    },
    /// The import ended `failed` before any row landed (its file expired, say): the chunk
    /// is uploaded and started again. Counts against the chunk's restart budget.
    FailedEarly {
        /// When.
        at: f64,
        /// Chunk index.
        chunk: Chunk,
        /// The platform's reason.
        reason: String,
    },
    /// The platform's final answer for the chunk's import, as it came.
    Finished {
        /// When.
        at: f64,
        /// Chunk index.
        chunk: Chunk,
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
        chunk: Chunk,
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
        chunk: Chunk,
        /// What happened.
        reason: String,
    },
    /// An uncertain chunk was settled as a whole, by the user's word (or, in journals
    /// written before row-by-row settling, by the key column).
    Resolved {
        /// When.
        at: f64,
        /// Chunk index.
        chunk: Chunk,
        /// Whether it counts as imported (true) or is to be imported again (false).
        imported: bool,
        /// How it was settled: by the user (older journals: by the key column).
        by: SettledBy,
    },
    /// The rows of the chunk's current file were accounted for: by the platform's counts
    /// when they add up, else row by row among the app's items.
    Reconciled {
        /// When.
        at: f64,
        /// Chunk index.
        chunk: Chunk,
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
        /// How: by the counts, the key, the content, or none (no look-up possible).
        by: SettledBy,
    },
    /// The rows to import again were written to a new file, which replaces the chunk's
    /// file from here on.
    Replaced {
        /// When.
        at: f64,
        /// Chunk index.
        chunk: Chunk,
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
        /// SHA-256 of the new file (lowercase hex), checked before it is sent again.
        #[serde(default)]
        sha256: Option<String>,
    },
    /// `--pause auto` judged chunk `chunk`'s import and chose the pause before the next
    /// import (written before the pause). The measurement rides along: a resume rebuilds
    /// the pacer by feeding it the journaled measurements again, so the journal keeps the
    /// controller's inputs and outputs, never its private state.
    Paced {
        /// When.
        at: f64,
        /// Chunk index.
        chunk: Chunk,
        /// Rows of the import judged.
        rows: u64,
        /// Seconds from the start request to the poll the throughput was taken at (both as
        /// sent).
        measured_secs: f64,
        /// What the pacer was told (journals before 2026-12 lack it: their resumes start
        /// the pacer afresh).
        #[serde(default)]
        poll: Option<crate::pace::Poll>,
        /// The decision.
        decision: crate::pace::Decision,
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
    pub fn chunk(&self) -> Option<Chunk> {
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
            Event::Preparing { .. }
            | Event::Refused { .. }
            | Event::Prepared { .. }
            | Event::Baseline { .. }
            | Event::Claimed { .. }
            | Event::ZoneMismatch { .. }
            | Event::Interrupted { .. }
            | Event::Completed { .. } => None,
        }
    }
}
