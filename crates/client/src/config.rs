//! How a [`crate::Client`] is set up ([`ClientConfig`]), what it tells as it goes
//! ([`RetryNotice`] through a [`RetryObserver`]) and what it counts ([`ClientStats`]);
//! [`Probe`], a schema answer as it came back.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::retry::RetryPolicy;
use crate::trace::Trace;
use crate::transport::Transport;
use crate::Secret;

/// Default part size of parted uploads: 8 MiB.
pub const DEFAULT_PART_SIZE: u64 = 8 * 1024 * 1024;

/// Settings of a [`Client`].
#[derive(Clone)]
pub struct ClientConfig {
    /// Base URL, e.g. `https://acme.elma365.ru/pub/v1` (a trailing slash is added).
    pub base_url: String,
    /// The API token, sent as `Authorization: Bearer <token>`.
    pub token: Secret,
    /// Limit of one HTTP exchange, from connecting to the last byte of the answer.
    pub timeout: Duration,
    /// Retries of transient failures.
    pub retry: RetryPolicy,
    /// Size of every part but the last of a parted upload; between
    /// [`wire::MIN_PART`] (5 MiB) and [`wire::MAX_PART`]. Files no larger go in one request.
    pub part_size: u64,
    /// Told of every retry just before its wait, so a user sees retries as they happen.
    pub on_retry: Option<RetryObserver>,
    /// Where to write a line per HTTP exchange ([`Trace`]), if anywhere.
    pub trace: Option<Arc<Trace>>,
    /// What carries the requests instead of reqwest over TCP, if anything (see
    /// [`Transport`]). The client still applies [`ClientConfig::timeout`] around each call.
    pub transport: Option<Arc<dyn Transport>>,
    /// Seed of the RNG that jitters retry waits; `None`: a fresh random one per wait.
    /// With a seed, the waits are the same in every run that retries in the same order
    /// (the clones of a client share the RNG).
    pub retry_seed: Option<u64>,
    /// Read upload parts with blocking reads on the calling task rather than on tokio's
    /// blocking pool. A simulation on a current-thread runtime with a paused clock sets it,
    /// so the order of its tasks never depends on how fast a disk answers.
    pub read_files_inline: bool,
}

impl fmt::Debug for ClientConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientConfig")
            .field("base_url", &self.base_url)
            .field("token", &self.token)
            .field("timeout", &self.timeout)
            .field("retry", &self.retry)
            .field("part_size", &self.part_size)
            .field("on_retry", &self.on_retry)
            .field("trace", &self.trace)
            .field("transport", &self.transport.as_ref().map(|_| "custom"))
            .field("retry_seed", &self.retry_seed)
            .field("read_files_inline", &self.read_files_inline)
            .finish()
    }
}

/// What [`Client::probe_schema`] saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Probe {
    /// `METHOD /path`.
    pub request: String,
    /// The HTTP status.
    pub status: u16,
    /// Whether the body is the API's JSON wrapper (an object with `success`).
    pub wrapper: bool,
    /// The wrapper's `error` text, token masked; empty when none.
    pub error: String,
    /// The start of the body, token masked.
    pub excerpt: String,
    /// Attempts made.
    pub tries: u32,
}

/// A retry about to happen: what failed, which retry this is, and how long until it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryNotice {
    /// `METHOD /path` of the request.
    pub request: String,
    /// This retry's number, from 1.
    pub attempt: u32,
    /// Retries allowed in all.
    pub max: u32,
    /// The wait before it.
    pub delay: Duration,
    /// What went wrong: `HTTP 503`, `could not connect`, …
    pub reason: String,
}

impl fmt::Display for RetryNotice {
    /// `retrying in 2 s (3/6): could not connect (POST /app/crm/contacts/list)`; under a
    /// second in milliseconds.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = self.delay.as_secs_f64();
        let wait = if secs < 1.0 {
            format!("{} ms", self.delay.as_millis())
        } else if secs >= 10.0 || secs.fract() < 0.05 {
            format!("{secs:.0} s")
        } else {
            format!("{secs:.1} s")
        };
        write!(f, "retrying in {wait} ({}/{}): {} ({})", self.attempt, self.max, self.reason, self.request)
    }
}

/// A callback told of each retry ([`ClientConfig::on_retry`]).
#[derive(Clone)]
pub struct RetryObserver(Arc<dyn Fn(&RetryNotice) + Send + Sync>);

impl RetryObserver {
    /// Wraps a callback.
    pub fn new(f: impl Fn(&RetryNotice) + Send + Sync + 'static) -> RetryObserver {
        RetryObserver(Arc::new(f))
    }

    /// Tells the callback of a retry.
    pub(crate) fn notify(&self, notice: &RetryNotice) {
        (self.0)(notice);
    }
}

impl fmt::Debug for RetryObserver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RetryObserver")
    }
}

impl ClientConfig {
    /// Settings with the defaults: 120 s timeout, [`RetryPolicy::default`], 8 MiB parts.
    pub fn new(base_url: impl Into<String>, token: impl Into<Secret>) -> ClientConfig {
        ClientConfig {
            base_url: base_url.into(),
            token: token.into(),
            timeout: Duration::from_secs(120),
            retry: RetryPolicy::default(),
            part_size: DEFAULT_PART_SIZE,
            on_retry: None,
            trace: None,
            transport: None,
            retry_seed: None,
            read_files_inline: false,
        }
    }
}

/// Counters of a [`Client`] (shared by its clones), for reports.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct ClientStats {
    /// HTTP requests sent, retries included.
    pub requests: u64,
    /// Requests that were retries of a failed attempt.
    pub retries: u64,
    /// Status requests sent while waiting for imports.
    pub status_polls: u64,
    /// File bytes whose upload the server accepted.
    pub bytes_uploaded: u64,
    /// Requests that ended [`crate::ClientError::Uncertain`].
    pub uncertain: u64,
}
