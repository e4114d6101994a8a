//! The JSON of `GET /_emulator/counters` (README.md), as types tests can deserialize.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::faults::Fault;

/// Everything the emulator counted since it started or was reset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CountersReport {
    /// Requests per `"METHOD /route/{pattern}"` of the `/pub/v1` API (faulted ones too).
    pub requests: BTreeMap<String, u64>,
    /// Injected faults per kind (`http_500`, `http_503`, `http_429`, `drop_before`,
    /// `drop_after`, `slow`, `fail_import`).
    pub faults: BTreeMap<String, u64>,
    /// Injected faults in order (the first 10,000).
    pub fault_log: Vec<FaultEvent>,
    /// Status requests per import id.
    pub polls: BTreeMap<String, PollStats>,
    /// The event-handler queue.
    pub queue: QueueReport,
    /// Items per app (`namespace.code`).
    pub items: BTreeMap<String, u64>,
    /// Every import, in start order.
    pub imports: Vec<ImportSummary>,
}

/// One injected fault.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaultEvent {
    /// Sequence number of the request among all `/pub/v1` requests (1-based); for
    /// [`Fault::FailImport`], the number of requests counted when the import stopped.
    pub seq: u64,
    /// `"METHOD /route/{pattern}"`.
    pub route: String,
    /// What was injected.
    pub fault: Fault,
}

/// Status requests of one import.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PollStats {
    /// Status requests answered for the import.
    pub count: u64,
    /// Shortest time between two consecutive ones, in ms (none with fewer than two).
    pub min_gap_ms: Option<u64>,
    /// Every gap between consecutive ones, in ms.
    pub gaps_ms: Vec<u64>,
}

/// The event-handler queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueReport {
    /// Jobs waiting now.
    pub depth: u64,
    /// Jobs ever added (one per row imported with event handlers).
    pub added: u64,
    /// Jobs drained.
    pub drained: u64,
    /// Depth over time: one sample per change and every 100 ms while draining.
    pub samples: Vec<QueueSample>,
}

/// The queue's depth at a moment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueSample {
    /// Milliseconds since the emulator started.
    pub t_ms: u64,
    /// Jobs waiting.
    pub depth: u64,
}

/// One import, without its errors.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportSummary {
    /// Import id.
    pub id: String,
    /// `namespace.code`.
    pub app: String,
    /// Wire status.
    pub status: String,
    /// Whether it ran event handlers.
    pub with_event_handlers: bool,
    /// When the start request was accepted: milliseconds since the Unix epoch, so
    /// imports of different apps can be compared for overlap (and survive a restart).
    pub started_ms: u64,
    /// When it ended (`done` or `failed`), in the same clock; `null` while it runs.
    pub finished_ms: Option<u64>,
    /// Rows in the file.
    pub total: u64,
    /// Rows processed.
    pub processed: u64,
    /// Rows imported.
    pub imported: u64,
    /// Rows failed.
    pub failed: u64,
}
