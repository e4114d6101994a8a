//! What can stop a verification.

use std::path::PathBuf;

/// Why a verification could not be made (differences are not errors: they are the
/// [`crate::Outcome`]).
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// The source file cannot be opened or read.
    #[error("`{path}`: {source}")]
    Sheet {
        /// The file.
        path: PathBuf,
        /// The reader's error.
        #[source]
        source: elma_import_sheet::SheetError,
    },
    /// The source's header does not fit the app.
    #[error("`{path}`: {errors}")]
    Header {
        /// The file.
        path: PathBuf,
        /// Every header problem.
        errors: elma_import_validate::HeaderErrors,
    },
    /// Settings that do not fit: a key column naming no field, an unknown app, a run
    /// directory without a key column.
    #[error("{0}")]
    Config(String),
    /// The platform could not be asked (after the client's retries).
    #[error("{what}")]
    Client {
        /// What was being done.
        what: String,
        /// The client's error.
        #[source]
        source: Box<elma_import_client::ClientError>,
    },
    /// A run directory that cannot be read.
    #[error("{what}")]
    Run {
        /// What was being read.
        what: String,
        /// The runner's error.
        #[source]
        source: Box<elma_import_runner::RunError>,
    },
    /// A migration that cannot be read.
    #[error("{what}")]
    Migration {
        /// What was being read.
        what: String,
        /// The migration's error.
        #[source]
        source: Box<elma_import_migrate::MigrateError>,
    },
    /// A file of the verification (`verify.json`, the diff) cannot be written.
    #[error("{what}")]
    Io {
        /// What was being done, with the path.
        what: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}

impl VerifyError {
    /// An I/O error while doing `what`.
    pub fn io(what: impl Into<String>, source: std::io::Error) -> VerifyError {
        VerifyError::Io { what: what.into(), source }
    }

    /// Whether the settings are at fault (a usage error), rather than the network or a file.
    pub fn is_setup(&self) -> bool {
        match self {
            VerifyError::Config(_) => true,
            VerifyError::Sheet { source, .. } => source.is_setup(),
            VerifyError::Client { source, .. } => source.is_setup(),
            VerifyError::Run { source, .. } => source.kind() == elma_import_runner::StopKind::Usage,
            VerifyError::Migration { source, .. } => source.kind() == elma_import_runner::StopKind::Usage,
            VerifyError::Header { .. } | VerifyError::Io { .. } => false,
        }
    }

    /// Whether the platform could not be reached or answered badly (after retries).
    pub fn is_network(&self) -> bool {
        matches!(self, VerifyError::Client { source, .. } if !source.is_setup())
    }
}
