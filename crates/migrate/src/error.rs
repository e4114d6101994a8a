//! What can go wrong in a migration.

use std::path::PathBuf;

use elma_import_client::ClientError;
use elma_import_runner::{RunError, StopKind};

/// A migration's failure.
#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    /// The migration file breaks the format.
    #[error("`{}`: {message}", path.display())]
    Spec {
        /// The migration file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// Steps wait for each other in a circle.
    #[error("the steps wait for each other in a cycle: {cycle}")]
    Cycle {
        /// The steps of the cycle and why each waits for the next.
        cycle: String,
    },
    /// A step does not fit its app (unknown key column, reference column that is no link…).
    #[error("{step}: {message}")]
    Step {
        /// The step's label.
        step: String,
        /// What is wrong.
        message: String,
    },
    /// A file could not be read.
    #[error("`{}`: {error}", path.display())]
    Sheet {
        /// The file.
        path: PathBuf,
        /// Why.
        error: elma_import_sheet::SheetError,
    },
    /// Reading or writing a file of the migration failed.
    #[error("{what}: {cause}")]
    Io {
        /// What was being done, naming the path.
        what: String,
        /// The cause.
        cause: std::io::Error,
    },
    /// `migration.jsonl`, or the migration directory's lock.
    #[error(transparent)]
    Journal(#[from] elma_import_runner::journal::JournalError),
    /// A file of the migration directory is not what the migration wrote.
    #[error("`{}` is damaged: {message}", path.display())]
    Damaged {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },
    /// The directory holds no migration, or another one.
    #[error("{0}")]
    Directory(String),
    /// A call to the platform failed.
    #[error("{what}: {error}")]
    Client {
        /// What was being asked.
        what: String,
        /// The cause.
        error: Box<ClientError>,
    },
    /// A step's run failed.
    #[error("{step}: {error}")]
    Run {
        /// The step's label.
        step: String,
        /// The runner's error.
        error: Box<RunError>,
    },
}

impl MigrateError {
    /// An I/O error while doing `what`.
    pub fn io(what: impl Into<String>, cause: std::io::Error) -> MigrateError {
        MigrateError::Io { what: what.into(), cause }
    }

    /// A failed call to the platform while doing `what`.
    pub fn client(what: impl Into<String>, error: ClientError) -> MigrateError {
        MigrateError::Client { what: what.into(), error: Box::new(error) }
    }

    /// A step's run that failed.
    pub fn run(step: impl Into<String>, error: RunError) -> MigrateError {
        MigrateError::Run { step: step.into(), error: Box::new(error) }
    }

    /// The runner's error of a step's run, if that is what this is.
    pub fn run_error(&self) -> Option<&RunError> {
        match self {
            MigrateError::Run { error, .. } => Some(error),
            _ => None,
        }
    }

    /// The kind of stop; the CLI maps kinds to exit codes in one table.
    pub fn kind(&self) -> StopKind {
        match self {
            MigrateError::Sheet { error, .. } if error.is_setup() => StopKind::Usage,
            MigrateError::Sheet { .. } => StopKind::Data,
            MigrateError::Spec { .. }
            | MigrateError::Cycle { .. }
            | MigrateError::Step { .. }
            | MigrateError::Damaged { .. }
            | MigrateError::Directory(_) => StopKind::Usage,
            MigrateError::Journal(e) => elma_import_runner::error::journal_kind(e),
            MigrateError::Io { cause, .. } if elma_import_runner::journal::is_disk_full(cause) => {
                StopKind::Data
            }
            MigrateError::Io { .. } => StopKind::Network,
            MigrateError::Client { error, .. } if error.is_setup() => StopKind::Usage,
            MigrateError::Client { .. } => StopKind::Network,
            MigrateError::Run { error, .. } => error.kind(),
        }
    }
}
