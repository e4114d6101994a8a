//! [`ClientError`]: what went wrong talking to the platform.

use std::path::PathBuf;
use std::time::Duration;

use crate::retry::TransportKind;

/// `1 try`, `3 tries`.
fn not_found(request: &str, base_url: &str, tries: u32, platform: Option<&str>) -> String {
    let tries = count_tries(&tries);
    match platform {
        Some(said) => {
            let said = if said.is_empty() { String::new() } else { format!(" (it said: {said})") };
            format!(
                "`{request}` answered HTTP 404 after {tries}: the Web API at `{base_url}` has no such \
                 app or directory{said}; check the app's `namespace.code` or the directory id"
            )
        }
        None => format!(
            "`{request}` answered HTTP 404 after {tries}, and not in the Web API's answer format: \
             `{base_url}` is probably not the Web API; check the base URL (a company address such \
             as https://acme.elma365.ru, with or without /pub/v1)"
        ),
    }
}

fn count_tries(n: &u32) -> String {
    if *n == 1 {
        "1 try".to_string()
    } else {
        format!("{n} tries")
    }
}

/// Why a call failed. Every message names the request (`METHOD /path`, relative to the base
/// URL), what came back and after how many tries. No message, `Debug` included, ever holds
/// the token: the client never stores it in an error, and text the server sends back is
/// redacted before it is kept.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The client's settings are unusable.
    #[error("invalid client settings: {0}")]
    Config(String),

    /// The client refused to send a request that breaks a rule of the API.
    #[error("refusing to send `{request}`: {reason}")]
    InvalidRequest {
        /// `METHOD /path`.
        request: String,
        /// The rule broken.
        reason: String,
    },

    /// HTTP 403: the token is missing, wrong or may not do this.
    #[error(
        "`{request}` was refused with HTTP 403 after {}: the token is missing, wrong or lacks \
         access; check the token (ELMA365_TOKEN)",
        count_tries(.tries)
    )]
    Unauthorized {
        /// `METHOD /path`.
        request: String,
        /// Attempts made.
        tries: u32,
    },

    /// HTTP 404: nothing at that address. With the API's `{"success": false, …}` wrapper
    /// the Web API itself answered (an unknown app or directory); without it the address
    /// is not the Web API (a wrong base URL).
    #[error("{}", not_found(.request, .base_url, *.tries, .platform.as_deref()))]
    NotFound {
        /// `METHOD /path`.
        request: String,
        /// The base URL the path was joined to.
        base_url: String,
        /// Attempts made.
        tries: u32,
        /// The platform's own words when the 404 came in the API's wrapper (token-free);
        /// `None` when the answer was not the Web API's.
        platform: Option<String>,
    },

    /// The server answered with an error: a non-2xx status (after any retries) or
    /// `success: false`; `message` is the server's `error` text or the start of its body.
    #[error("`{request}` failed with HTTP {status} after {}: {message}", count_tries(.tries))]
    Api {
        /// `METHOD /path`.
        request: String,
        /// The HTTP status.
        status: u16,
        /// The server's error text.
        message: String,
        /// Attempts made.
        tries: u32,
    },

    /// No (complete) answer, after all retries.
    #[error("`{request}` to `{base_url}` failed after {}: {kind} ({detail})", count_tries(.tries))]
    Transport {
        /// `METHOD /path`.
        request: String,
        /// The base URL.
        base_url: String,
        /// What went wrong.
        kind: TransportKind,
        /// The underlying error's text.
        detail: String,
        /// Attempts made.
        tries: u32,
    },

    /// A request that is not safe to repeat (starting an import) may or may not have taken
    /// effect: it timed out, the connection dropped, the server answered 408/500/502/504, or
    /// the answer could not be read. It was not retried; the caller must find out (for
    /// example by listing the app's items) before sending it again.
    #[error(
        "`{request}` may or may not have taken effect: {reason} (after {}); it was not repeated \
         because that could import the rows twice",
        count_tries(.tries)
    )]
    Uncertain {
        /// `METHOD /path`.
        request: String,
        /// What happened.
        reason: String,
        /// Attempts made.
        tries: u32,
    },

    /// A 2xx answer whose body is not what docs/platform.md describes.
    #[error(
        "`{request}` answered HTTP {status} with an unexpected body: {detail}; the body starts `{excerpt}`"
    )]
    Decode {
        /// `METHOD /path`.
        request: String,
        /// The HTTP status.
        status: u16,
        /// What is wrong with it.
        detail: String,
        /// The start of the body, flattened to one line.
        excerpt: String,
        /// The body as received, token masked, cut to [`BODY_BYTES`](crate::BODY_BYTES)
        /// (4 KiB): for the run's journal and bug reports.
        body: String,
    },

    /// The file to upload could not be read.
    #[error("cannot read `{}`: {error}", .path.display())]
    File {
        /// The file.
        path: PathBuf,
        /// The error.
        error: std::io::Error,
    },

    /// Waiting for an import ran past its deadline. The import may still finish.
    #[error(
        "import `{id}` of `{app}` is still `{status}` after {} s, past the deadline of {} s; it \
         may still finish on the server",
        .waited.as_secs(), .deadline.as_secs()
    )]
    PollDeadline {
        /// The app, `namespace.code`.
        app: String,
        /// The import id.
        id: String,
        /// The last status seen.
        status: String,
        /// Time spent waiting.
        waited: Duration,
        /// The deadline.
        deadline: Duration,
    },
}

impl ClientError {
    /// Whether this is [`ClientError::Uncertain`]: the request may have taken effect.
    pub fn is_uncertain(&self) -> bool {
        matches!(self, ClientError::Uncertain { .. })
    }

    /// Whether the settings are at fault rather than the network: the token was refused
    /// or the address names nothing (a wrong URL or app). Retrying cannot help.
    pub fn is_setup(&self) -> bool {
        matches!(
            self,
            ClientError::Unauthorized { .. } | ClientError::NotFound { .. } | ClientError::Config(_)
        )
    }

    /// The same error, saying it came after `tries` tries (for a request retried by a
    /// caller, such as the status poller, one try at a time).
    pub fn with_tries(mut self, tries: u32) -> ClientError {
        match &mut self {
            ClientError::Unauthorized { tries: t, .. }
            | ClientError::NotFound { tries: t, .. }
            | ClientError::Api { tries: t, .. }
            | ClientError::Transport { tries: t, .. }
            | ClientError::Uncertain { tries: t, .. } => *t = tries,
            _ => {}
        }
        self
    }

    /// The raw body of an answer that could not be read (token masked, cut to 4 KiB).
    pub fn server_body(&self) -> Option<&str> {
        match self {
            ClientError::Decode { body, .. } => Some(body),
            _ => None,
        }
    }

    /// The HTTP status the server answered with, when the failure carries one.
    pub fn status(&self) -> Option<u16> {
        match self {
            ClientError::Unauthorized { .. } => Some(403),
            ClientError::NotFound { .. } => Some(404),
            ClientError::Api { status, .. } | ClientError::Decode { status, .. } => Some(*status),
            _ => None,
        }
    }
}
