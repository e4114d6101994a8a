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
    #[error("`{}`: {source}", path.display())]
    Sheet {
        /// The file.
        path: PathBuf,
        /// Why.
        source: elma_import_sheet::SheetError,
    },
    /// Reading or writing a file of the migration failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done, naming the path.
        what: String,
        /// The cause.
        source: std::io::Error,
    },
    /// `migration.jsonl` holds a line that is not an event (other than a torn last line).
    #[error("`{}` line {line}: {message}", path.display())]
    Journal {
        /// The journal.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// The directory holds no migration, or another one.
    #[error("{0}")]
    Directory(String),
    /// A call to the platform failed.
    #[error("{what}: {source}")]
    Client {
        /// What was being asked.
        what: String,
        /// The cause.
        source: Box<ClientError>,
    },
    /// A step's run failed.
    #[error("{step}: {source}")]
    Run {
        /// The step's label.
        step: String,
        /// The runner's error.
        source: Box<RunError>,
    },
}

impl MigrateError {
    /// An I/O error while doing `what`.
    pub fn io(what: impl Into<String>, source: std::io::Error) -> MigrateError {
        MigrateError::Io { what: what.into(), source }
    }

    /// A failed call to the platform while doing `what`.
    pub fn client(what: impl Into<String>, source: ClientError) -> MigrateError {
        MigrateError::Client { what: what.into(), source: Box::new(source) }
    }

    /// A step's run that failed.
    pub fn run(step: impl Into<String>, source: RunError) -> MigrateError {
        MigrateError::Run { step: step.into(), source: Box::new(source) }
    }

    /// The kind of stop; the CLI maps kinds to exit codes in one table.
    pub fn kind(&self) -> StopKind {
        match self {
            MigrateError::Sheet { source, .. } if source.is_setup() => StopKind::Usage,
            MigrateError::Sheet { .. } => StopKind::Data,
            MigrateError::Spec { .. }
            | MigrateError::Cycle { .. }
            | MigrateError::Step { .. }
            | MigrateError::Directory(_) => StopKind::Usage,
            MigrateError::Io { .. } | MigrateError::Journal { .. } => StopKind::Network,
            MigrateError::Client { source, .. } if source.is_setup() => StopKind::Usage,
            MigrateError::Client { .. } => StopKind::Network,
            MigrateError::Run { source, .. } => source.kind(),
        }
    }
}
