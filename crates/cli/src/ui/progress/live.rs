//! What is known of one run as it goes, from the runner's [`Progress`] events: what it
//! is doing now, the time it has left ([`Eta`]), its one speed, its running totals, the
//! line each event tells people, and the fields of its status line.
//!
//! **One speed per chunk**: rows of the chunks finished in this execution over their
//! import time (wall time since the first upload less pauses and blocked time), taken
//! when a chunk finishes. The finished chunk's line, the bar and the time per row of the
//! ETA all use it, until the next chunk finishes.

use std::time::{Duration, Instant};

use elma_import_runner::{Chunk, Progress};
use serde::Serialize;

use super::eta::{secs_per_row, Eta};
use super::fit::Field;
use crate::ui;

/// What the run is doing now.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Phase {
    /// Validating the source: bytes read of all.
    Preparing { done: u64, total: u64 },
    /// Writing the chunk files: bytes read of all.
    Chunking { done: u64, total: u64 },
    /// Planned; the first chunk still to send is next.
    Starting,
    /// Uploading a chunk.
    Uploading(Chunk),
    /// A chunk imports.
    Importing(Chunk),
    /// Another import blocks the app: waited so far as of `at`.
    Blocked { chunk: Chunk, waited: Duration, at: Instant },
    /// Pausing until `until` so the event handlers drain.
    Pausing { until: Instant },
    /// The run completed.
    Done,
}

/// A line for people, and whether it is shown in every mode (else only in line mode or
/// with `--verbose`: steps the bar shows by itself).
#[derive(Debug, Clone, PartialEq)]
pub struct Said {
    /// The line.
    pub text: String,
    /// Shown above the bar too.
    pub always: bool,
}

fn said(text: String, always: bool) -> Option<Said> {
    Some(Said { text, always })
}

/// A run's running totals: rows of finished chunks, and the platform's counts of them
/// (earlier executions' included).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Totals {
    /// Rows of finished chunks.
    pub rows_done: u64,
    /// Rows the platform counted as imported.
    pub imported: u64,
    /// Rows the platform rejected.
    pub failed: u64,
}

/// What the observer knows of one run.
#[derive(Debug)]
pub struct Live {
    started: Instant,
    /// What the run is doing now.
    pub phase: Phase,
    /// Valid rows of the run.
    pub rows: u64,
    /// Chunks of the run (0 before the plan).
    pub chunks: u32,
    rows_per_chunk: u64,
    planned_secs_per_row: f64,
    /// The pause after the current chunk: decided by `--pause auto`, else the plan's.
    pub next_pause: Duration,
    /// The pause expected for each pause after that one.
    pub expected_pause: Duration,
    /// `--blocked-timeout`.
    pub blocked_limit: Duration,
    done_rows: u64,
    pauses_taken: u32,
    current_processed: u64,
    work_from: Option<Instant>,
    /// Rows of the chunks finished in this execution, and their import time.
    measured: Option<(u64, Duration)>,
    paused: Duration,
    blocked: Duration,
    /// Why the pause is what it is, with `--pause auto` (`auto: imports at full speed`).
    pub pause_reason: Option<String>,
    /// Running totals.
    pub totals: Totals,
}

impl Live {
    /// A run not yet planned, its view made at `now`.
    pub fn new(now: Instant, blocked_limit: Duration) -> Live {
        Live {
            started: now,
            phase: Phase::Preparing { done: 0, total: 0 },
            rows: 0,
            chunks: 0,
            rows_per_chunk: 0,
            planned_secs_per_row: 0.0,
            next_pause: Duration::ZERO,
            expected_pause: Duration::ZERO,
            blocked_limit,
            done_rows: 0,
            pauses_taken: 0,
            current_processed: 0,
            work_from: None,
            measured: None,
            paused: Duration::ZERO,
            blocked: Duration::ZERO,
            pause_reason: None,
            totals: Totals::default(),
        }
    }

    /// Whether the plan is known.
    pub fn planned(&self) -> bool {
        self.chunks > 0
    }

    /// The time left, once the plan is known.
    pub fn eta(&self, now: Instant) -> Option<Eta> {
        if !self.planned() {
            return None;
        }
        let pause_left = match self.phase {
            Phase::Pausing { until } => until.saturating_duration_since(now),
            _ => Duration::ZERO,
        };
        let (rows, work) = self.measured.unwrap_or((0, Duration::ZERO));
        Some(Eta {
            rows_left: self.rows.saturating_sub(self.done_rows + self.current_processed),
            secs_per_row: secs_per_row(self.planned_secs_per_row, work, rows),
            pauses_left: Eta::pauses_to_come(self.chunks, self.pauses_taken),
            next_pause: self.next_pause,
            expected_pause: self.expected_pause,
            pause_left,
        })
    }

    /// The time left in seconds, rounded to tenths, once the plan is known.
    pub fn eta_secs(&self, now: Instant) -> Option<f64> {
        self.eta(now).map(|e| (e.left().as_secs_f64() * 10.0).round() / 10.0)
    }

    /// The run's one speed, rows per second: rows of the chunks finished in this
    /// execution over their import time, as of the last finished chunk.
    pub fn speed(&self) -> Option<f64> {
        self.measured
            .filter(|(rows, work)| *rows > 0 && !work.is_zero())
            .map(|(r, w)| r as f64 / w.as_secs_f64())
    }

    /// Import time in this execution: since the first upload, less the pauses and
    /// blocked time so far (a pause under way counts up to now).
    fn work(&self, now: Instant) -> Duration {
        let Some(from) = self.work_from else { return Duration::ZERO };
        let (pause_ahead, blocking) = match self.phase {
            Phase::Pausing { until } => (until.saturating_duration_since(now), Duration::ZERO),
            Phase::Blocked { waited, at, .. } => (Duration::ZERO, waited + now.saturating_duration_since(at)),
            _ => (Duration::ZERO, Duration::ZERO),
        };
        let idle = self.paused.saturating_sub(pause_ahead) + self.blocked + blocking;
        now.saturating_duration_since(from).saturating_sub(idle)
    }

    /// `chunk 2/6`.
    fn chunk(&self, i: Chunk) -> String {
        format!("chunk {i}/{}", self.chunks.max(1))
    }

    /// The next chunk to send once planned: the first after those finished earlier.
    fn first_to_send(&self) -> u64 {
        self.done_rows.checked_div(self.rows_per_chunk).unwrap_or(0) + 1
    }

    fn speed_text(&self) -> Option<String> {
        self.speed().map(ui::speed_of)
    }

    /// Takes in an event at `now`; the line it tells people, if any.
    pub fn update(&mut self, p: &Progress<'_>, now: Instant) -> Option<Said> {
        match p {
            Progress::Preparing { done, total } => {
                self.phase = Phase::Preparing { done: *done, total: *total };
                None
            }
            Progress::Chunking { done, total } => {
                self.phase = Phase::Chunking { done: *done, total: *total };
                None
            }
            Progress::Planned { rows, valid, invalid, plan, already_imported } => {
                self.rows = *valid;
                self.chunks = plan.chunks.try_into().unwrap_or(u32::MAX);
                self.rows_per_chunk = plan.rows_per_chunk;
                self.next_pause = plan.pause;
                self.expected_pause = plan.pause;
                let pauses = plan.pause.saturating_mul(self.chunks.saturating_sub(1));
                self.planned_secs_per_row =
                    plan.estimate.saturating_sub(pauses).as_secs_f64() / (*valid).max(1) as f64;
                self.done_rows = *already_imported;
                self.totals.rows_done = *already_imported;
                // The pauses after the chunks earlier executions finished.
                self.pauses_taken = u32::try_from(self.first_to_send() - 1).unwrap_or(u32::MAX);
                self.phase = Phase::Starting;
                said(
                    format!(
                        "validated: {} rows, {} valid, {} invalid{}",
                        ui::count(*rows),
                        ui::count(*valid),
                        ui::count(*invalid),
                        if *invalid > 0 { " (left out; listed in errors.csv)" } else { "" }
                    ),
                    true,
                )
            }
            Progress::Uploading { chunk, rows } => {
                self.work_from.get_or_insert(now);
                if !matches!(self.phase, Phase::Importing(_) | Phase::Blocked { .. }) {
                    if let Phase::Pausing { until } = self.phase {
                        // A pause cut short counts as long as it lasted.
                        self.paused = self.paused.saturating_sub(until.saturating_duration_since(now));
                    }
                    self.phase = Phase::Uploading(*chunk);
                }
                said(format!("{}: uploading {} rows", self.chunk(*chunk), ui::count(*rows)), false)
            }
            Progress::UploadingAhead { chunk, rows, during } => said(
                format!(
                    "{}: uploading {} rows ahead, while chunk {during} imports",
                    self.chunk(*chunk),
                    ui::count(*rows)
                ),
                false,
            ),
            Progress::Started { chunk, import_id } => {
                self.work_from.get_or_insert(now);
                if let Phase::Blocked { waited, at, .. } = self.phase {
                    self.blocked += waited + now.saturating_duration_since(at);
                }
                self.phase = Phase::Importing(*chunk);
                self.current_processed = 0;
                said(format!("{}: import {import_id} started", self.chunk(*chunk)), false)
            }
            Progress::Blocked { chunk, waited } => {
                // The first block of a chunk is told above the bar; the bar counts on.
                let first = !matches!(self.phase, Phase::Blocked { chunk: c, .. } if c == *chunk);
                self.phase = Phase::Blocked { chunk: *chunk, waited: *waited, at: now };
                said(
                    format!(
                        "{}: the app is blocked by another import (blocked for {}, limit {}); trying again",
                        self.chunk(*chunk),
                        ui::duration(*waited),
                        ui::duration(self.blocked_limit)
                    ),
                    first,
                )
            }
            Progress::Importing { chunk, result, rows } => {
                self.current_processed = result.processed.min(*rows);
                // A resumed import polled without a start of its own.
                if !matches!(self.phase, Phase::Importing(_)) {
                    self.work_from.get_or_insert(now);
                    self.phase = Phase::Importing(*chunk);
                }
                said(
                    format!(
                        "{}: {} of {} rows processed",
                        self.chunk(*chunk),
                        ui::count(result.processed),
                        ui::count(*rows)
                    ),
                    false,
                )
            }
            Progress::Paced { decision, expected_pause, .. } => {
                // Told before the chunk it judged finishes: that chunk's line tells the
                // time left with this pause next and the expected one after.
                self.next_pause = decision.pause;
                self.expected_pause = *expected_pause;
                self.pause_reason = Some(pause_reason(decision));
                None
            }
            Progress::ChunkFinished { chunk, result, rows } => {
                self.done_rows += rows;
                self.current_processed = 0;
                self.totals.rows_done += rows;
                self.totals.imported += result.imported;
                self.totals.failed += result.failed;
                let measured = self.measured.map_or(0, |m| m.0) + rows;
                self.measured = Some((measured, self.work(now)));
                let speed = self.speed_text().map(|s| format!(" · {s}")).unwrap_or_default();
                // The last chunk's line needs no time left.
                let eta = self
                    .eta(now)
                    .filter(|_| self.done_rows < self.rows)
                    .map(|e| format!(" · eta {}", ui::duration(e.left())))
                    .unwrap_or_default();
                said(
                    format!(
                        "{} {}: {} imported, {} failed{speed}{eta}",
                        self.chunk(*chunk),
                        result.status,
                        ui::count(result.imported),
                        ui::count(result.failed)
                    ),
                    true,
                )
            }
            Progress::Pausing { pause, .. } => {
                self.paused += *pause;
                self.pauses_taken += 1;
                self.phase = Phase::Pausing { until: now + *pause };
                // The pauses after this one are not decided yet.
                self.next_pause = self.expected_pause;
                let why = self.pause_reason.as_deref().map(|r| format!(" ({r})")).unwrap_or_default();
                said(format!("pausing {}{why} so the event handlers drain", ui::duration(*pause)), true)
            }
            Progress::Message(m) => said(m.clone(), true),
            Progress::Completed { .. } => {
                self.phase = Phase::Done;
                self.current_processed = 0;
                None
            }
        }
    }

    /// The fields of the status line at `now`, in their order on the line, ranked for
    /// [`super::fit::fit`]: the ETA is dropped last, then what is happening, the rows, the
    /// bar; the speed, elapsed time and explanations first.
    pub fn fields(&self, now: Instant) -> Vec<Field> {
        let mut f = Vec::new();
        let fraction = match self.phase {
            Phase::Preparing { done, total } | Phase::Chunking { done, total } => ratio(done, total),
            _ => ratio(self.done_rows + self.current_processed, self.rows),
        };
        f.push(Field::lead(rank::BAR, bar(fraction, 16)));
        if self.planned() {
            f.push(Field::space(
                rank::ROWS,
                format!(
                    "{}/{} rows",
                    ui::count(self.done_rows + self.current_processed),
                    ui::count(self.rows)
                ),
            ));
        }
        let eta = self.eta(now).map(|e| format!("eta {}", ui::duration(e.left())));
        match self.phase {
            Phase::Preparing { done, total } => {
                f.push(Field::dot(rank::WHAT, format!("validating {}", percent(done, total))))
            }
            Phase::Chunking { done, total } => {
                f.push(Field::dot(rank::WHAT, format!("writing chunk files {}", percent(done, total))))
            }
            Phase::Starting => f.push(Field::dot(
                rank::WHAT,
                format!("starting: chunk {}/{} uploading", self.first_to_send(), self.chunks.max(1)),
            )),
            Phase::Uploading(i) => f.push(Field::dot(rank::WHAT, format!("{} uploading", self.chunk(i)))),
            Phase::Importing(i) => f.push(Field::dot(rank::WHAT, format!("{} importing", self.chunk(i)))),
            Phase::Blocked { chunk, waited, at } => {
                f.push(Field::dot(
                    rank::WHAT,
                    format!(
                        "{} blocked for {}",
                        self.chunk(chunk),
                        ui::duration(waited + now.saturating_duration_since(at))
                    ),
                ));
                f.push(Field::space(rank::DETAIL, format!("(limit {})", ui::duration(self.blocked_limit))));
            }
            Phase::Pausing { until } => {
                f.push(Field::dot(
                    rank::WHAT,
                    format!("pause {} left", ui::duration(until.saturating_duration_since(now))),
                ));
                if let Some(r) = &self.pause_reason {
                    f.push(Field::space(rank::REASON, format!("({r})")));
                }
            }
            Phase::Done => f.push(Field::dot(rank::WHAT, "done")),
        }
        if let Some(eta) = eta {
            let once = if matches!(self.phase, Phase::Blocked { .. }) { " once it clears" } else { "" };
            f.push(Field::dot(rank::ETA, format!("{eta}{once}")));
        }
        if let Some(s) = self.speed_text() {
            f.push(Field::dot(rank::SPEED, s));
        }
        f.push(Field::dot(
            rank::ELAPSED,
            format!("elapsed {}", ui::duration(now.saturating_duration_since(self.started))),
        ));
        if matches!(self.phase, Phase::Pausing { .. }) {
            f.push(Field::dot(rank::REASON, "letting the event handlers drain"));
        }
        f
    }
}

/// The ranks of the status line's fields (higher: kept longer).
pub mod rank {
    /// The time left: dropped last.
    pub const ETA: u8 = 9;
    /// A migration step's name.
    pub const LABEL: u8 = 8;
    /// What is happening (`chunk 2/6 importing`, `pause 3.0s left`).
    pub const WHAT: u8 = 7;
    /// Rows done of all.
    pub const ROWS: u8 = 5;
    /// The bar itself.
    pub const BAR: u8 = 4;
    /// A detail of what is happening (`(limit 30m 00s)`).
    pub const DETAIL: u8 = 3;
    /// The speed.
    pub const SPEED: u8 = 2;
    /// The elapsed time.
    pub const ELAPSED: u8 = 1;
    /// Why a pause is what it is.
    pub const REASON: u8 = 0;
}

fn ratio(done: u64, total: u64) -> f64 {
    if total == 0 {
        0.0
    } else {
        (done as f64 / total as f64).clamp(0.0, 1.0)
    }
}

fn percent(done: u64, total: u64) -> String {
    format!("{} %", (ratio(done, total) * 100.0).floor() as u64)
}

/// `[=======>        ]`, `width` cells inside the brackets.
pub fn bar(fraction: f64, width: usize) -> String {
    let full = ((fraction.clamp(0.0, 1.0) * width as f64).floor() as usize).min(width);
    let mut s = String::with_capacity(width + 2);
    s.push('[');
    s.push_str(&"=".repeat(full));
    if full < width {
        s.push('>');
        s.push_str(&" ".repeat(width - full - 1));
    }
    s.push(']');
    s
}

/// `auto: imports at full speed`: why `--pause auto` chose its pause.
pub fn pause_reason(decision: &elma_import_runner::pace::Decision) -> String {
    format!("auto: {}", decision.reason())
}
