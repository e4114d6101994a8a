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
        "chunk {chunk}: the app stayed blocked by another import for {waited:?} (limit --blocked-timeout {limit:?}); \
         the run is saved, continue it later with `elma-import resume`"
    )]
    BlockedTooLong {
        /// Chunk index (1-based).
        chunk: u32,
        /// How long it waited.
        waited: Duration,
        /// The limit.
        limit: Duration,
    },
    /// Chunks whose start may or may not have taken effect need a decision.
    #[error(
        "chunk(s) {chunks:?} may or may not have been imported (the start request went out but its answer \
         was lost), so they are not retried blindly. Check the app, then run `elma-import resume RUN_DIR \
         --assume-imported N` or `--assume-not-imported N`, or resume with --key-column to check the app's items"
    )]
    Uncertain {
        /// Chunk numbers (1-based).
        chunks: Vec<u32>,
    },
    /// Ctrl-C: the run stopped at a safe point.
    #[error("interrupted; continue with `elma-import resume {0}`")]
    Interrupted(PathBuf),
}

impl RunError {
    /// An I/O error with what was being done.
    pub fn io(what: impl Into<String>, source: std::io::Error) -> RunError {
        RunError::Io { what: what.into(), source }
    }

    /// The process exit code for this stop (ARCHITECTURE.md "Exit codes").
    pub fn exit_code(&self) -> u8 {
        match self {
            RunError::Header { .. } | RunError::InvalidRows { .. } | RunError::Nothing(_) => 1,
            RunError::Sheet(e) => {
                if e.is_setup() {
                    2
                } else {
                    1
                }
            }
            RunError::Config(_)
            | RunError::NotARun(_)
            | RunError::RunExists(_)
            | RunError::SourceChanged(_)
            | RunError::Plan(_) => 2,
            RunError::Client { source, .. } => {
                if source.is_setup() {
                    2
                } else {
                    3
                }
            }
            RunError::Io { .. } | RunError::Journal { .. } | RunError::Chunk(_) => 3,
            RunError::BlockedTooLong { .. } => 4,
            RunError::Uncertain { .. } => 5,
            RunError::Interrupted(_) => 130,
        }
    }
}
