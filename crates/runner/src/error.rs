//! Why a run stopped.
//!
//! Messages state what happened and name the file, chunk or value; advice that names the
//! command line's flags is the CLI's (`hints`). A cause is part of the message or the
//! error's `source()`, never both: wrapped library errors are `transparent`, and the
//! I/O causes of this crate's own variants are written into their message.

use std::path::PathBuf;
use std::time::Duration;

use crate::event::Chunk;
use crate::journal::JournalError;

/// Why a run stopped before every chunk finished.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// A file of the run could not be read or written.
    #[error("{what}: {cause}")]
    Io {
        /// What was being done, naming the file.
        what: String,
        /// The cause.
        cause: std::io::Error,
    },
    /// The journal, the ledger or a directory lock.
    #[error(transparent)]
    Journal(JournalError),
    /// A file of the run directory is not what the run wrote.
    #[error("`{}` is damaged: {message}", path.display())]
    Damaged {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },
    /// A setting cannot work.
    #[error("the {name} `{value}` cannot be used: {why}")]
    Setting {
        /// Which setting.
        name: String,
        /// Its value.
        value: String,
        /// Why not.
        why: String,
    },
    /// The plan uploads to a directory and no directory id was given.
    #[error(
        "the plan uploads to a directory ({rows} rows without event handlers is more than a temporary \
         file safely holds), and no directory id was given"
    )]
    NeedsDirectory {
        /// Rows to import.
        rows: u64,
    },
    /// The folder is not a run directory.
    #[error("`{}` is not a run directory (no run.json)", .0.display())]
    NotARun(PathBuf),
    /// The run directory already holds another run.
    #[error("`{}` already holds a run", .0.display())]
    RunExists(PathBuf),
    /// The run directory has chunk files but no journal to say what was sent.
    #[error(
        "`{}` holds chunk files but its journal is missing or empty: what was sent cannot be told, \
         so the run is not continued (starting it over could import rows twice)",
        .0.display()
    )]
    JournalLost(PathBuf),
    /// The source file changed since the run began and before it was prepared.
    #[error("the source file `{}` changed since the run began", .0.display())]
    SourceChanged(PathBuf),
    /// A chunk file changed on disk since it was written.
    #[error(
        "the chunk file `{}` changed since it was written (sha256 {expected}…, now {found}…): sending it \
         could import rows twice or leave some out",
        file.display()
    )]
    ChunkChanged {
        /// The file.
        file: PathBuf,
        /// The first hex digits of the sha256 the manifest or the journal holds.
        expected: String,
        /// The first hex digits of the file's sha256 now (`missing` when it is gone).
        found: String,
    },
    /// The source file could not be read.
    #[error(transparent)]
    Sheet(#[from] elma_import_sheet::SheetError),
    /// The header row does not fit the app.
    #[error("`{}`: the header row does not fit the app:\n{errors}", file.display())]
    Header {
        /// The source file.
        file: PathBuf,
        /// What is wrong.
        errors: elma_import_validate::HeaderErrors,
    },
    /// Validation rejected rows and the run was not told to skip them.
    #[error("{invalid} of {rows} rows are invalid, so nothing was sent; the errors are in `{}`", errors.display())]
    InvalidRows {
        /// Rows rejected.
        invalid: u64,
        /// Rows read.
        rows: u64,
        /// Where the errors were written.
        errors: PathBuf,
    },
    /// No row is left to import.
    #[error("nothing to import: {0}")]
    Nothing(String),
    /// The plan could not be made.
    #[error(transparent)]
    Plan(#[from] elma_import_chunk::PlanError),
    /// A chunk file could not be written or read.
    #[error(transparent)]
    Chunk(#[from] elma_import_chunk::ChunkError),
    /// The platform could not be reached or refused a call, after retries.
    #[error("chunk {chunk}: {error}")]
    Client {
        /// The chunk.
        chunk: Chunk,
        /// What the client saw.
        error: elma_import_client::ClientError,
    },
    /// The app stayed blocked by another import for too long.
    #[error(
        "chunk {chunk}: the app stayed blocked by another import for {} (the limit is {}); the run is saved",
        crate::duration::human(*.waited), crate::duration::human(*.limit)
    )]
    BlockedTooLong {
        /// The chunk.
        chunk: Chunk,
        /// How long it waited.
        waited: Duration,
        /// The limit.
        limit: Duration,
    },
    /// Chunks whose rows the run cannot account for: a start whose answer was lost and
    /// that the app's items cannot settle, or a look-up that contradicts the platform's
    /// own count.
    #[error(
        "chunk(s) {} may or may not have been imported, in part or whole: {reason}; nothing more is \
         sent for them until that is settled",
        chunks.iter().map(Chunk::to_string).collect::<Vec<_>>().join(", ")
    )]
    Uncertain {
        /// The run directory.
        dir: PathBuf,
        /// The chunks.
        chunks: Vec<Chunk>,
        /// Why they cannot be settled.
        reason: String,
    },
    /// An import's counts stood still for the stall limit.
    #[error(
        "chunk {chunk}: import `{import_id}` has not moved for {} (at {processed} rows processed; the \
         limit is {}); the run is saved",
        crate::duration::human(*.still), crate::duration::human(*.limit)
    )]
    Stalled {
        /// The run directory.
        dir: PathBuf,
        /// The chunk.
        chunk: Chunk,
        /// The import.
        import_id: String,
        /// Rows processed when it stood still.
        processed: u64,
        /// How long it stood still.
        still: Duration,
        /// The limit.
        limit: Duration,
    },
    /// The user's import ledger says this file was imported into this app already.
    #[error(
        "`{}` was imported into {app} already: {earlier}",
        source_file.display()
    )]
    AlreadyImported {
        /// The source file.
        source_file: PathBuf,
        /// The app.
        app: String,
        /// The earlier run, in words (its directory, when, how it ended).
        earlier: String,
        /// The earlier run's directory, when it is a run of this machine.
        earlier_dir: Option<PathBuf>,
        /// Whether the earlier run finished.
        finished: bool,
    },
    /// Items matching rows of the run were in the app before anything was sent: importing
    /// those rows would hold them twice (unless `--again` says to).
    #[error(
        "{items} item(s) already in {app} match rows of this run ({by}), found before anything was sent: \
         importing those rows would put them in the app a second time"
    )]
    AlreadyInApp {
        /// The app.
        app: String,
        /// Items found.
        items: u64,
        /// How they were matched: by the key column, or by content.
        by: String,
    },
    /// The disk is full.
    #[error("{what}: the disk is full (nothing is lost: the journal holds every step up to here)")]
    DiskFull {
        /// What was being done.
        what: String,
    },
    /// Ctrl-C: the run stopped at a safe point.
    #[error("interrupted at a safe point; the run is saved in `{}`", .0.display())]
    Interrupted(PathBuf),
}

/// Why a run stopped, by kind: the CLI maps kinds to exit codes in one table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopKind {
    /// Data rejected: validation, a header that does not fit, an unreadable file, a full disk.
    Data,
    /// Usage or configuration: settings, a run directory in use or damaged, a changed file.
    Usage,
    /// The platform could not be reached or refused, after retries; a stalled import.
    Network,
    /// The app stayed blocked too long.
    Blocked,
    /// Rows may or may not have been imported and need a decision.
    Uncertain,
    /// Interrupted at a safe point.
    Interrupted,
}

impl From<JournalError> for RunError {
    fn from(e: JournalError) -> RunError {
        match e {
            JournalError::Io { what, path, cause } if crate::journal::is_disk_full(&cause) => {
                RunError::DiskFull { what: format!("{what} `{}`", path.display()) }
            }
            other => RunError::Journal(other),
        }
    }
}

impl RunError {
    /// An I/O error with what was being done; a full disk is [`RunError::DiskFull`].
    pub fn io(what: impl Into<String>, cause: std::io::Error) -> RunError {
        if crate::journal::is_disk_full(&cause) {
            return RunError::DiskFull { what: what.into() };
        }
        RunError::Io { what: what.into(), cause }
    }

    /// A file of the run directory that cannot be read as what the run wrote.
    pub fn damaged(path: impl Into<PathBuf>, message: impl ToString) -> RunError {
        RunError::Damaged { path: path.into(), message: message.to_string() }
    }

    /// The kind of stop (the exit-code table of the CLI).
    pub fn kind(&self) -> StopKind {
        match self {
            RunError::Header { .. } | RunError::InvalidRows { .. } | RunError::Nothing(_) => StopKind::Data,
            RunError::DiskFull { .. } => StopKind::Data,
            RunError::Sheet(e) if e.is_setup() => StopKind::Usage,
            RunError::Sheet(_) => StopKind::Data,
            RunError::Chunk(elma_import_chunk::ChunkError::Sheet(e)) if is_full(e) => StopKind::Data,
            RunError::Setting { .. }
            | RunError::NeedsDirectory { .. }
            | RunError::NotARun(_)
            | RunError::RunExists(_)
            | RunError::JournalLost(_)
            | RunError::SourceChanged(_)
            | RunError::ChunkChanged { .. }
            | RunError::Damaged { .. }
            | RunError::AlreadyImported { .. }
            | RunError::AlreadyInApp { .. }
            | RunError::Plan(_) => StopKind::Usage,
            RunError::Journal(e) => journal_kind(e),
            RunError::Client { error, .. } if error.is_setup() => StopKind::Usage,
            RunError::Client { .. } | RunError::Stalled { .. } => StopKind::Network,
            RunError::Io { .. } | RunError::Chunk(_) => StopKind::Network,
            RunError::BlockedTooLong { .. } => StopKind::Blocked,
            RunError::Uncertain { .. } => StopKind::Uncertain,
            RunError::Interrupted(_) => StopKind::Interrupted,
        }
    }
}

/// The kind of stop of a journal's or lock's error: a directory in use or damaged is usage,
/// a full disk is data, other I/O is the network's code (resumable).
pub fn journal_kind(e: &JournalError) -> StopKind {
    match e {
        JournalError::Locked { .. } | JournalError::Damaged { .. } => StopKind::Usage,
        _ if e.is_disk_full() => StopKind::Data,
        JournalError::Io { .. } => StopKind::Network,
    }
}

/// Whether a sheet error is a full disk.
fn is_full(e: &elma_import_sheet::SheetError) -> bool {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(c) = cause {
        if let Some(io) = c.downcast_ref::<std::io::Error>() {
            if crate::journal::is_disk_full(io) {
                return true;
            }
        }
        cause = c.source();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_disk_is_its_own_error_not_a_network_failure() {
        // Regression: a full disk exited 3 ("network").
        let full = RunError::io("cannot write the journal `j`", std::io::Error::from_raw_os_error(28));
        assert!(matches!(full, RunError::DiskFull { .. }), "{full:?}");
        assert_eq!(full.kind(), StopKind::Data);
        assert!(full.to_string().contains("the disk is full"), "{full}");
        let other =
            RunError::io("cannot write `x`", std::io::Error::from(std::io::ErrorKind::PermissionDenied));
        assert!(matches!(other, RunError::Io { .. }));
        let journal: RunError = JournalError::Io {
            what: "cannot write the journal",
            path: "j".into(),
            cause: std::io::Error::from_raw_os_error(28),
        }
        .into();
        assert!(matches!(journal, RunError::DiskFull { .. }), "{journal:?}");
    }

    #[test]
    fn a_damaged_file_of_the_run_is_named_and_is_not_a_network_failure() {
        // Regression: a damaged run.json read "the journal `run.json` is damaged at line 0", exit 3.
        let e = RunError::damaged("runs/r1/run.json", "expected value at line 1 column 1");
        assert_eq!(e.to_string(), "`runs/r1/run.json` is damaged: expected value at line 1 column 1");
        assert_eq!(e.kind(), StopKind::Usage);
        let journal =
            RunError::from(JournalError::Damaged { path: "j".into(), line: 3, message: "x".into() });
        assert_eq!(journal.kind(), StopKind::Usage);
    }

    #[test]
    fn causes_are_shown_once() {
        let e = RunError::io("cannot write `x`", std::io::Error::other("boom"));
        assert_eq!(e.to_string(), "cannot write `x`: boom");
        assert!(std::error::Error::source(&e).is_none(), "the cause is in the message, not also the source");
    }
}
