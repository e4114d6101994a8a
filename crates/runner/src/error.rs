//! Why a run stopped.

use std::path::PathBuf;
use std::time::Duration;

/// Why a run stopped before every chunk finished.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// A file of the run could not be read or written.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The journal holds a line that is not an event.
    #[error("the journal `{path}` is damaged at line {line}: {message}")]
    Journal {
        /// The journal file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// A setting is missing or wrong.
    #[error("{0}")]
    Config(String),
    /// The folder is not a run directory.
    #[error("`{0}` is not a run directory (no run.json): start a run with `elma-import run`")]
    NotARun(PathBuf),
    /// The run directory already holds another run.
    #[error(
        "`{0}` already holds a run: continue it with `elma-import resume {0}` or pick another --run-dir"
    )]
    RunExists(PathBuf),
    /// The source file changed since the run was prepared.
    #[error("the source file `{0}` changed since the run was prepared; start a new run")]
    SourceChanged(PathBuf),
    /// The source file could not be read.
    #[error(transparent)]
    Sheet(#[from] elma_import_sheet::SheetError),
    /// The header row does not fit the app.
    #[error("`{file}`: the header row does not fit the app:\n{errors}")]
    Header {
        /// The source file.
        file: PathBuf,
        /// What is wrong.
        errors: elma_import_validate::HeaderErrors,
    },
    /// Validation rejected rows and the run was not told to skip them.
    #[error(
        "{invalid} of {rows} rows are invalid; nothing was sent. The errors are in `{errors}`. \
         Fix the file (see `elma-import fix`) or pass --skip-invalid to import the valid rows only"
    )]
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
    #[error("chunk {chunk}: {source}")]
    Client {
        /// Chunk index (1-based in messages).
        chunk: u32,
        /// What the client saw.
        source: elma_import_client::ClientError,
    },
    /// The app stayed blocked by another import for too long.
    #[error(
        "chunk {chunk}: the app stayed blocked by another import for {} (limit --blocked-timeout {}); \
         the run is saved, continue it later with `elma-import resume RUN_DIR`",
        crate::duration::human(*.waited), crate::duration::human(*.limit)
    )]
    BlockedTooLong {
        /// Chunk index (1-based).
        chunk: u32,
        /// How long it waited.
        waited: Duration,
        /// The limit.
        limit: Duration,
    },
    /// Chunks whose start may or may not have taken effect, which the app's items cannot
    /// settle.
    #[error(
        "chunk(s) {chunks:?} may or may not have been imported (the start request went out but its answer \
         was lost), and the app's items cannot tell (none of the rows is found by its content, or the rows \
         cannot be told apart), so they are not retried blindly. Check the app, then run `elma-import resume {dir} --key-column COLUMN` (a column whose \
         values identify items, e.g. Email) or settle each chunk yourself with \
         `elma-import resume {dir} --assume-imported N` / `--assume-not-imported N`",
        dir = .dir.display()
    )]
    Uncertain {
        /// The run directory.
        dir: PathBuf,
        /// Chunk numbers (1-based).
        chunks: Vec<u32>,
    },
    /// An import's counts stood still for the stall limit.
    #[error(
        "chunk {chunk}: import `{import_id}` has not moved for {} (at {processed} rows processed; \
         limit --stall-timeout {}); the run is saved, continue it with `elma-import resume {dir}`",
        crate::duration::human(*.still), crate::duration::human(*.limit), dir = .dir.display()
    )]
    Stalled {
        /// The run directory.
        dir: PathBuf,
        /// Chunk number (1-based).
        chunk: u32,
        /// The import.
        import_id: String,
        /// Rows processed when it stood still.
        processed: u64,
        /// How long it stood still.
        still: Duration,
        /// The limit.
        limit: Duration,
    },
    /// Another process holds the run directory.
    #[error(
        "the run directory `{}` is in use by another elma-import process{}; wait for it to end \
         (two processes on one run could import rows twice)",
        .dir.display(),
        .pid.map(|p| format!(" (pid {p})")).unwrap_or_default()
    )]
    Locked {
        /// The run directory.
        dir: PathBuf,
        /// The holder's process id, when its lock file says.
        pid: Option<u32>,
    },
    /// The disk is full.
    #[error(
        "{what}: the disk is full; free some space, then continue with `elma-import resume RUN_DIR` \
         (nothing is lost: the journal holds every step up to here)"
    )]
    DiskFull {
        /// What was being done.
        what: String,
    },
    /// Ctrl-C: the run stopped at a safe point.
    #[error("interrupted; continue with `elma-import resume {}`", .0.display())]
    Interrupted(PathBuf),
}

/// Why a run stopped, by kind: the CLI maps kinds to exit codes in one table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopKind {
    /// Data rejected: validation, a header that does not fit, an unreadable file, a full disk.
    Data,
    /// Usage or configuration: settings, a run directory in use, a changed source.
    Usage,
    /// The platform could not be reached or refused, after retries; a stalled import.
    Network,
    /// The app stayed blocked too long.
    Blocked,
    /// A chunk may or may not have been imported and needs a decision.
    Uncertain,
    /// Interrupted at a safe point.
    Interrupted,
}

impl RunError {
    /// An I/O error with what was being done; a full disk is [`RunError::DiskFull`].
    pub fn io(what: impl Into<String>, source: std::io::Error) -> RunError {
        if source.kind() == std::io::ErrorKind::StorageFull || source.raw_os_error() == Some(28) {
            return RunError::DiskFull { what: what.into() };
        }
        RunError::Io { what: what.into(), source }
    }

    /// The kind of stop (ARCHITECTURE.md "Exit codes").
    pub fn kind(&self) -> StopKind {
        match self {
            RunError::Header { .. } | RunError::InvalidRows { .. } | RunError::Nothing(_) => StopKind::Data,
            RunError::DiskFull { .. } => StopKind::Data,
            RunError::Sheet(e) if e.is_setup() => StopKind::Usage,
            RunError::Sheet(_) => StopKind::Data,
            RunError::Chunk(elma_import_chunk::ChunkError::Sheet(e)) if is_full(e) => StopKind::Data,
            RunError::Config(_)
            | RunError::NotARun(_)
            | RunError::RunExists(_)
            | RunError::SourceChanged(_)
            | RunError::Locked { .. }
            | RunError::Plan(_) => StopKind::Usage,
            RunError::Client { source, .. } if source.is_setup() => StopKind::Usage,
            RunError::Client { .. } | RunError::Stalled { .. } => StopKind::Network,
            RunError::Io { .. } | RunError::Journal { .. } | RunError::Chunk(_) => StopKind::Network,
            RunError::BlockedTooLong { .. } => StopKind::Blocked,
            RunError::Uncertain { .. } => StopKind::Uncertain,
            RunError::Interrupted(_) => StopKind::Interrupted,
        }
    }
}

/// Whether a sheet error is a full disk.
fn is_full(e: &elma_import_sheet::SheetError) -> bool {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(c) = cause {
        if let Some(io) = c.downcast_ref::<std::io::Error>() {
            if io.kind() == std::io::ErrorKind::StorageFull || io.raw_os_error() == Some(28) {
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
        assert!(
            full.to_string().contains("the disk is full") && full.to_string().contains("resume"),
            "{full}"
        );
        let other =
            RunError::io("cannot write `x`", std::io::Error::from(std::io::ErrorKind::PermissionDenied));
        assert!(matches!(other, RunError::Io { .. }));
    }

    #[test]
    fn the_uncertain_advice_is_a_command_resume_accepts() {
        let e = RunError::Uncertain { dir: PathBuf::from("runs/r1"), chunks: vec![3] };
        let text = e.to_string();
        assert!(text.contains("elma-import resume runs/r1 --key-column COLUMN"), "{text}");
        assert!(text.contains("elma-import resume runs/r1 --assume-imported N"), "{text}");
    }
}
