//! Async client of the ELMA365 Web API calls elma-import needs (docs/platform.md): parted file
//! uploads, starting an import, its status, an app's schema and its items.
//!
//! - Every path, header and body comes from [`elma_import_contract::wire`].
//! - Transient failures are retried by one classifier with a pinned table
//!   ([`retry::classify`]) and jittered exponential backoff honouring `Retry-After`
//!   ([`RetryPolicy`]). Starting an import is not idempotent: it is retried only when the
//!   request provably did not take effect, and otherwise fails as
//!   [`ClientError::Uncertain`], so the caller never imports rows twice blindly.
//! - The status [`Poller`] is a pure state machine (never two polls less than a second
//!   apart, adaptive, with a deadline) driven by a [`Clock`]; [`Client::wait_for_import`]
//!   runs it on the real clock.
//! - The token is a [`Secret`]: it appears in no error, `Debug` output, log or [`Trace`]
//!   (a JSONL transcript of every exchange, for bug reports).
//! - Requests go over HTTP with reqwest, or through a [`Transport`] of the caller's
//!   ([`ClientConfig::transport`]): a simulation runs the client against an in-process
//!   model of the platform on tokio's paused clock, with a seeded retry backoff
//!   ([`ClientConfig::retry_seed`]).
//!
//! ```
//! use std::time::{Duration, Instant};
//! use elma_import_client::{AppRef, Client, ClientConfig, PollDecision, PollPolicy, Poller, Observation, RetryPolicy};
//! use rand::SeedableRng;
//!
//! let app: AppRef = "crm.contacts".parse()?;
//! let mut config = ClientConfig::new("https://acme.elma365.ru/pub/v1", "my-token");
//! config.retry = RetryPolicy { max_retries: 3, ..RetryPolicy::default() };
//! let client = Client::new(config)?; // sends nothing yet
//! assert_eq!(client.base_url(), "https://acme.elma365.ru/pub/v1/");
//! assert!(!format!("{client:?}").contains("my-token"));
//!
//! // Backoff is data: a seeded RNG gives the same delays, never below a Retry-After.
//! let mut rng = rand::rngs::StdRng::seed_from_u64(1);
//! let delay = RetryPolicy::default().delay(1, Some(Duration::from_secs(2)), &mut rng);
//! assert_eq!(delay, Duration::from_secs(2));
//!
//! // So is polling: at least a second between status requests.
//! let now = Instant::now();
//! let mut poller = Poller::new(PollPolicy { min_interval: Duration::ZERO, ..PollPolicy::default() }, now);
//! assert_eq!(poller.next_delay(now, &Observation::default()), PollDecision::Wait(Duration::from_secs(1)));
//! # let _ = app;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod app;
mod client;
mod config;
mod error;
mod items;
mod mask;
pub mod poll;
mod reader;
pub mod retry;
mod secret;
mod trace;
pub mod transport;

pub use app::{AppRef, AppRefError};
pub use client::{Client, Map, BODY_BYTES};
pub use config::{ClientConfig, ClientStats, Probe, RetryNotice, RetryObserver, DEFAULT_PART_SIZE};
pub use elma_import_contract::wire::{
    FileFormat, ImportResult, ImportStatus, ItemPage, ListFilter, ListRequest, RowError, StartImport,
    StoredFile,
};
pub use error::ClientError;
pub use poll::{Clock, ManualClock, Observation, PollDecision, PollPolicy, Poller, TokioClock};
pub use retry::{Decision, Outcome, RetryPolicy, TransportKind};
pub use secret::Secret;
pub use trace::{Trace, TRACE_BODY_BYTES};
pub use transport::Transport;
