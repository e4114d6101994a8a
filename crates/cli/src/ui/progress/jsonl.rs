//! `--progress jsonl`: the progress of a command as one JSON object per line on stderr,
//! for other programs. docs/progress-jsonl.md is the contract; docs/progress.schema.json
//! its schema, checked against real runs by crates/cli/tests/progress_jsonl.rs.
//!
//! Every line has `event` and `t` (seconds since the command started). A run's events
//! carry the chunk they concern, `chunks`, `eta_secs` and the running `totals` once the
//! run is planned; a migration step's events carry `step` and `app`. The stream is one
//! per process ([`begin`]): lines are written whole, in order, none twice in a row, and
//! byte progress (`preparing`, `chunking`) at most twice a second. The CLI writes the
//! last line, `end`, when the command ends ([`super::end`]).

use std::collections::HashMap;
use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use elma_import_chunk::Plan;
use elma_import_contract::wire::ImportStatus;
use elma_import_runner::pace::Decision;
use elma_import_runner::Progress;
use serde::Serialize;

use super::live::{Live, Totals};

/// One line of the stream.
#[derive(Debug, Serialize)]
pub struct Line<'a> {
    /// The event and its own fields.
    #[serde(flatten)]
    pub event: Event<'a>,
    /// Seconds since the command started.
    pub t: f64,
    /// The migration step (1-based) a line concerns.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub step: Option<usize>,
    /// That step's app.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub app: Option<&'a str>,
    /// Chunks of the run, once planned.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chunks: Option<u32>,
    /// Seconds the run has left, once planned.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub eta_secs: Option<f64>,
    /// The run's running totals, once planned.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub totals: Option<Totals>,
}

impl<'a> Line<'a> {
    /// A line with nothing but its event.
    pub fn of(event: Event<'a>) -> Line<'a> {
        Line { event, t: 0.0, step: None, app: None, chunks: None, eta_secs: None, totals: None }
    }
}

/// The events of the stream (docs/progress-jsonl.md).
#[derive(Debug, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event<'a> {
    /// Validating the source.
    Preparing { bytes_done: u64, bytes_total: u64 },
    /// Writing the chunk files.
    Chunking { bytes_done: u64, bytes_total: u64 },
    /// The plan.
    Planned { rows: u64, valid: u64, invalid: u64, already_imported: u64, plan: &'a Plan },
    /// A chunk's file is uploaded (`ahead_of`: while that chunk imports).
    Uploading {
        chunk: u32,
        rows: u64,
        #[serde(skip_serializing_if = "Option::is_none")]
        ahead_of: Option<u32>,
    },
    /// A chunk's import started.
    Started { chunk: u32, import_id: &'a str },
    /// The app is blocked by another import.
    Blocked { chunk: u32, waited_secs: f64, limit_secs: f64 },
    /// A status answer.
    Importing { chunk: u32, rows: u64, processed: u64, imported: u64, failed: u64, status: &'a ImportStatus },
    /// `--pause auto` decided the next pause.
    Paced { chunk: u32, pause_secs: f64, expected_pause_secs: f64, reason: String, decision: &'a Decision },
    /// A chunk's import ended.
    ChunkFinished {
        chunk: u32,
        rows: u64,
        imported: u64,
        failed: u64,
        status: &'a ImportStatus,
        #[serde(skip_serializing_if = "Option::is_none")]
        rows_per_sec: Option<f64>,
    },
    /// A pause between imports begins.
    Pausing {
        after_chunk: u32,
        pause_secs: f64,
        #[serde(skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    /// A sentence for people.
    Message { message: &'a str },
    /// A warning for people.
    Warning { message: &'a str },
    /// The run completed (its summary follows on stdout with `--json`).
    Completed { imported: u64, failed: u64, not_imported: u64 },
    /// A migration step waits for others (1-based).
    StepWaiting { on: Vec<usize> },
    /// A migration step finished in an earlier execution.
    StepAlreadyDone,
    /// A reference column's keys are being mapped to ids.
    StepResolving { column: &'a str, referenced_app: &'a str },
    /// A reference column's keys are mapped.
    StepResolved { column: &'a str, ids: u64, missing: u64, ambiguous: u64, how: &'a str },
    /// The step's copy with ids in place of keys is written.
    StepWritten { path: &'a Path, cells: u64, unresolved: u64 },
    /// The step's run starts (or continues) in its run directory.
    StepRunning { run_dir: &'a Path },
    /// The step's run completed.
    StepDone { imported: u64, failed: u64, invalid: u64, not_imported: u64 },
    /// The step stopped.
    StepFailed { error: String },
    /// The step was not started: a step it waits for did not finish.
    StepSkipped { because: usize },
    /// The last line: the command ended (docs/progress-jsonl.md, "The `end` contract").
    End(super::end::End),
}

/// Seconds with millisecond precision.
fn secs(d: Duration) -> f64 {
    (d.as_secs_f64() * 1000.0).round() / 1000.0
}

/// The event of a runner's [`Progress`], `live` already updated with it.
pub fn run_event<'a>(p: &'a Progress<'a>, live: &Live) -> Event<'a> {
    match p {
        Progress::Preparing { done, total } => Event::Preparing { bytes_done: *done, bytes_total: *total },
        Progress::Chunking { done, total } => Event::Chunking { bytes_done: *done, bytes_total: *total },
        Progress::Planned { rows, valid, invalid, plan, already_imported } => Event::Planned {
            rows: *rows,
            valid: *valid,
            invalid: *invalid,
            already_imported: *already_imported,
            plan,
        },
        Progress::Uploading { chunk, rows } => {
            Event::Uploading { chunk: chunk.number(), rows: *rows, ahead_of: None }
        }
        Progress::UploadingAhead { chunk, rows, during } => {
            Event::Uploading { chunk: chunk.number(), rows: *rows, ahead_of: Some(during.number()) }
        }
        Progress::Started { chunk, import_id } => Event::Started { chunk: chunk.number(), import_id },
        Progress::Blocked { chunk, waited } => Event::Blocked {
            chunk: chunk.number(),
            waited_secs: secs(*waited),
            limit_secs: secs(live.blocked_limit),
        },
        Progress::Importing { chunk, result, rows } => Event::Importing {
            chunk: chunk.number(),
            rows: *rows,
            processed: result.processed,
            imported: result.imported,
            failed: result.failed,
            status: &result.status,
        },
        Progress::Paced { chunk, decision, expected_pause } => Event::Paced {
            chunk: chunk.number(),
            pause_secs: secs(decision.pause),
            expected_pause_secs: secs(*expected_pause),
            reason: decision.reason(),
            decision,
        },
        Progress::ChunkFinished { chunk, result, rows } => Event::ChunkFinished {
            chunk: chunk.number(),
            rows: *rows,
            imported: result.imported,
            failed: result.failed,
            status: &result.status,
            rows_per_sec: live.speed().map(|s| (s * 10.0).round() / 10.0),
        },
        Progress::Pausing { chunk, pause } => Event::Pausing {
            after_chunk: chunk.number(),
            pause_secs: secs(*pause),
            reason: live.pause_reason.clone(),
        },
        Progress::Message(m) => Event::Message { message: m },
        Progress::Completed { summary } => Event::Completed {
            imported: summary.imported,
            failed: summary.failed,
            not_imported: summary.not_imported,
        },
    }
}

/// The line of a run's event: the event, with the run's context once it is planned.
pub fn run_line<'a>(p: &'a Progress<'a>, live: &Live, now: Instant) -> Line<'a> {
    let mut line = Line::of(run_event(p, live));
    if live.planned() {
        line.chunks = Some(live.chunks);
        line.eta_secs = live.eta_secs(now);
        line.totals = Some(live.totals);
    }
    line
}

/// The one stream of the process.
struct Stream {
    origin: Instant,
    /// `run` or `migration`: what the command streams, for an `end` without a directory.
    kind: &'static str,
    /// The last line written, without its time.
    last: Option<String>,
    /// Per step and kind of throttled event: its last line without time, and when.
    throttled: HashMap<(Option<usize>, &'static str), (String, Instant)>,
    ended: bool,
}

static STREAM: Mutex<Option<Stream>> = Mutex::new(None);

fn stream() -> std::sync::MutexGuard<'static, Option<Stream>> {
    STREAM.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn new_stream(kind: &'static str) -> Stream {
    Stream { origin: Instant::now(), kind, last: None, throttled: HashMap::new(), ended: false }
}

/// Starts the stream of a command that streams a `kind` (`run` or `migration`): `t`
/// counts from here, and its `end` is written whatever happens next.
pub fn begin(kind: &'static str) {
    let mut s = stream();
    if s.is_none() {
        *s = Some(new_stream(kind));
    }
}

/// What the stream is of: `run` or `migration`.
pub fn kind() -> &'static str {
    stream().as_ref().map_or("run", |s| s.kind)
}

/// Whether a stream was begun (and so whether the CLI's talk goes into it).
pub fn active() -> bool {
    stream().as_ref().is_some_and(|s| !s.ended)
}

/// Events whose lines are throttled: byte progress, at most one every half second
/// (the last, at 100 %, always), and status answers that repeat the one before.
fn throttle_kind(event: &Event<'_>) -> Option<(&'static str, bool)> {
    match event {
        Event::Preparing { bytes_done, bytes_total } => Some(("preparing", bytes_done >= bytes_total)),
        Event::Chunking { bytes_done, bytes_total } => Some(("chunking", bytes_done >= bytes_total)),
        Event::Importing { .. } => Some(("importing", true)),
        _ => None,
    }
}

const THROTTLE: Duration = Duration::from_millis(500);

/// Writes a line (its `t` set now), unless it repeats the line before it, or is byte
/// progress within half a second of the last, or the stream has ended. Begins the
/// stream if needed.
pub fn emit(mut line: Line<'_>) {
    let mut guard = stream();
    let s = guard.get_or_insert_with(|| new_stream("run"));
    if s.ended {
        return;
    }
    let is_end = matches!(line.event, Event::End(_));
    line.t = 0.0;
    let Ok(bare) = serde_json::to_string(&line) else { return };
    if s.last.as_deref() == Some(bare.as_str()) {
        return;
    }
    let now = Instant::now();
    if let Some((kind, always)) = throttle_kind(&line.event) {
        let key = (line.step, kind);
        if let Some((previous, at)) = s.throttled.get(&key) {
            // The same news again, or too soon (unless it is the last of its kind).
            if *previous == bare || (!always && now.saturating_duration_since(*at) < THROTTLE) {
                return;
            }
        }
        s.throttled.insert(key, (bare.clone(), now));
    }
    line.t = (now.saturating_duration_since(s.origin).as_secs_f64() * 1000.0).round() / 1000.0;
    let Ok(text) = serde_json::to_string(&line) else { return };
    s.last = Some(bare);
    s.ended = is_end;
    eprintln!("{text}");
}
