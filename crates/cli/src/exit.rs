//! Exit codes (README.md, "Exit codes") and the error type commands return.

/// 0: all rows imported / file valid.
pub const OK: u8 = 0;
/// 1: data rejected (validation, or rows failed on the server).
pub const DATA: u8 = 1;
/// 2: usage or configuration.
pub const USAGE: u8 = 2;
/// 3: network or API failure after retries.
pub const NETWORK: u8 = 3;
/// 4: the app stayed blocked too long.
pub const BLOCKED: u8 = 4;
/// 5: a chunk may or may not have been imported; it needs a decision.
pub const UNCERTAIN: u8 = 5;
/// 130: interrupted; resumable.
pub const INTERRUPTED: u8 = 130;

/// The one table from a run's kind of stop to its exit code (README "Exit codes").
pub fn run_code(kind: elma_import_runner::StopKind) -> u8 {
    use elma_import_runner::StopKind;
    match kind {
        StopKind::Data => DATA,
        StopKind::Usage => USAGE,
        StopKind::Network => NETWORK,
        StopKind::Blocked => BLOCKED,
        StopKind::Uncertain => UNCERTAIN,
        StopKind::Interrupted => INTERRUPTED,
    }
}

/// An error that knows its exit code.
#[derive(Debug)]
pub struct Coded {
    /// The exit code.
    pub code: u8,
    /// What went wrong.
    pub error: anyhow::Error,
}

impl std::fmt::Display for Coded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&message(&self.error))
    }
}

impl std::error::Error for Coded {}

/// Wraps an error with an exit code.
pub fn coded(code: u8, error: impl Into<anyhow::Error>) -> anyhow::Error {
    anyhow::Error::new(Coded { code, error: error.into() })
}

/// A usage/configuration error with a message.
pub fn usage(message: impl std::fmt::Display) -> anyhow::Error {
    coded(USAGE, anyhow::anyhow!("{message}"))
}

/// The exit code of an error: its own when it has one, else by its kind.
pub fn code_of(err: &anyhow::Error) -> u8 {
    for cause in err.chain() {
        if let Some(c) = cause.downcast_ref::<Coded>() {
            return c.code;
        }
        if let Some(r) = cause.downcast_ref::<elma_import_runner::RunError>() {
            return run_code(r.kind());
        }
        if let Some(c) = cause.downcast_ref::<elma_import_client::ClientError>() {
            return client_code(c);
        }
        if let Some(s) = cause.downcast_ref::<elma_import_sheet::SheetError>() {
            return sheet_code(s);
        }
        if let Some(elma_import_chunk::ChunkError::Sheet(s)) =
            cause.downcast_ref::<elma_import_chunk::ChunkError>()
        {
            return sheet_code(s);
        }
    }
    USAGE
}

/// Exit code of a sheet error: a file that cannot be found or opened, an unknown format,
/// encoding or sheet name is usage (2); a file whose content cannot be read is data (1).
pub fn sheet_code(e: &elma_import_sheet::SheetError) -> u8 {
    if e.is_setup() {
        USAGE
    } else {
        DATA
    }
}

/// The error and its causes on one line, `: `-separated, each cause shown once (some
/// libraries repeat their cause in their own message).
pub fn message(err: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in err.chain() {
        let text = cause.to_string();
        if out.contains(&text) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&text);
    }
    out
}

/// Exit code of a client error: settings at fault (token, address) 2, else 3.
pub fn client_code(e: &elma_import_client::ClientError) -> u8 {
    if e.is_setup() {
        USAGE
    } else {
        NETWORK
    }
}

/// What an exit code means, as a sentence: the `error` of a `--json` outcome whose
/// command gave none (README "Exit codes").
pub fn meaning(code: u8) -> &'static str {
    match code {
        OK => "done",
        DATA => "data rejected",
        USAGE => "usage or configuration error",
        NETWORK => "network or API failure (resumable)",
        BLOCKED => "the app stayed blocked by another import (resumable)",
        UNCERTAIN => "a chunk may or may not have been imported and needs a decision",
        INTERRUPTED => "interrupted (resumable)",
        _ => "failed",
    }
}

/// Whether the error is a write to a closed pipe.
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|c| {
        c.downcast_ref::<std::io::Error>().is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
