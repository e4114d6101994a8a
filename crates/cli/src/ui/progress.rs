//! A run's progress as people and programs see it, drawn from the runner's [`Progress`]
//! events.
//!
//! - On a terminal: one bar over rows whose message says what is happening now
//!   (`chunk 2/6 importing · 412 rows/s · elapsed 1m 02s · eta 1m 10s`, a pause
//!   counting down, or `blocked for 12s (limit 30m 00s)`), redrawn five times a second,
//!   and one line in the scrollback per finished chunk.
//! - Without a terminal (logs, CI): one plain line per event.
//! - `--progress jsonl`: every event as one JSON object per line on stderr, for other
//!   programs.
//!
//! The time left comes from [`Eta`], the plan's own model (import time per row, plus
//! the pauses still to come, plus the rest of a pause under way), its time per row
//! replaced by the measured one once a chunk has finished.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use elma_import_runner::{Observer, Progress};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::json;

use crate::ui;

/// How progress is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Mode {
    /// A bar on a terminal, plain lines otherwise.
    Auto,
    /// The bar (nothing when stderr is not a terminal).
    Bar,
    /// One plain line per event.
    Lines,
    /// One JSON object per event on stderr.
    Jsonl,
    /// Nothing but warnings and errors.
    None,
}

/// The plan's model of the time a run has left.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Eta {
    /// Rows not yet imported (the current chunk's unprocessed rows included).
    pub rows_left: u64,
    /// Import time per row, seconds: the plan's until a chunk finished, then measured.
    pub secs_per_row: f64,
    /// Pauses still to come after any pause under way (one between two chunks).
    pub pauses_left: u32,
    /// The length of a pause.
    pub pause: Duration,
    /// What is left of a pause under way.
    pub pause_left: Duration,
}

impl Eta {
    /// Time left: rows × time per row + pauses to come + the rest of the current pause.
    /// Time blocked by another import is not foreseeable; it shows as it happens.
    pub fn left(&self) -> Duration {
        let import = Duration::try_from_secs_f64(self.rows_left as f64 * self.secs_per_row.max(0.0))
            .unwrap_or(Duration::MAX);
        import.saturating_add(self.pause.saturating_mul(self.pauses_left)).saturating_add(self.pause_left)
    }

    /// Pauses still to come in a run of `chunks` chunks once `taken` pauses have begun
    /// (one between two chunks; a pause under way counts as begun).
    pub fn pauses_to_come(chunks: u32, taken: u32) -> u32 {
        chunks.saturating_sub(1).saturating_sub(taken)
    }
}

/// Import time per row, seconds, from what this execution measured (`work` is the
/// wall time less pauses and blocked time, over `rows` finished rows), else the plan's.
pub fn secs_per_row(planned: f64, work: Duration, rows: u64) -> f64 {
    if rows == 0 || work.is_zero() {
        planned
    } else {
        work.as_secs_f64() / rows as f64
    }
}

/// A rate people read: whole rows per second, with thousands separators (`1,234 rows/s`);
/// below 10 one decimal (`2.5 rows/s`).
pub fn rate(rows: u64, secs: f64) -> String {
    if secs <= 0.0 || rows == 0 {
        return "– rows/s".to_string();
    }
    let r = rows as f64 / secs;
    if r < 10.0 {
        format!("{r:.1} rows/s")
    } else {
        format!("{} rows/s", ui::count(r.round() as u64))
    }
}

/// What the run is doing now.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Phase {
    Preparing,
    Uploading(u32),
    Importing(u32),
    Blocked { chunk: u32, waited: Duration, at: Instant },
    Pausing { until: Instant },
    Done,
}

/// What the observer knows, shared with the thread that redraws the bar.
#[derive(Debug)]
struct Live {
    started: Instant,
    phase: Phase,
    rows: u64,
    chunks: u32,
    planned_secs_per_row: f64,
    pause: Duration,
    blocked_limit: Duration,
    done_rows: u64,
    pauses_taken: u32,
    current_processed: u64,
    work_from: Option<Instant>,
    rows_measured: u64,
    paused: Duration,
    blocked: Duration,
    /// Why the pause is what it is, with `--pause auto` (`auto: imports at full speed`).
    pause_reason: Option<String>,
}

impl Live {
    fn eta(&self, now: Instant) -> Eta {
        let pause_left = match self.phase {
            Phase::Pausing { until } => until.saturating_duration_since(now),
            _ => Duration::ZERO,
        };
        Eta {
            rows_left: self.rows.saturating_sub(self.done_rows + self.current_processed),
            secs_per_row: secs_per_row(self.planned_secs_per_row, self.work(now), self.rows_measured),
            pauses_left: Eta::pauses_to_come(self.chunks, self.pauses_taken),
            pause: self.pause,
            pause_left,
        }
    }

    /// Time spent importing in this execution: since the first upload, less the pauses
    /// and blocked time so far (a pause under way counts up to now).
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

    fn message(&self, now: Instant) -> String {
        let chunk = |i: u32| format!("chunk {}/{}", i + 1, self.chunks.max(1));
        let elapsed = format!("elapsed {}", ui::duration(now.saturating_duration_since(self.started)));
        let eta = format!("eta {}", ui::duration(self.eta(now).left()));
        let speed = if self.rows_measured > 0 {
            rate(self.rows_measured, self.work(now).as_secs_f64())
        } else if self.planned_secs_per_row > 0.0 {
            format!("~{} planned", rate((1.0 / self.planned_secs_per_row).round() as u64, 1.0))
        } else {
            rate(0, 0.0)
        };
        match self.phase {
            Phase::Preparing => format!("preparing · {elapsed}"),
            // Most telling first: a narrow terminal cuts the end of the line.
            Phase::Uploading(i) => format!("{} uploading · {eta} · {speed} · {elapsed}", chunk(i)),
            Phase::Importing(i) => format!("{} importing · {eta} · {speed} · {elapsed}", chunk(i)),
            Phase::Blocked { chunk: i, waited, at } => format!(
                "{} blocked for {} (limit {}) · {eta} once it clears · {elapsed}",
                chunk(i),
                ui::duration(waited + now.saturating_duration_since(at)),
                ui::duration(self.blocked_limit)
            ),
            Phase::Pausing { until } => format!(
                "pause {} left{} · {eta} · {elapsed} · letting the event handlers drain",
                ui::duration(until.saturating_duration_since(now)),
                self.pause_reason.as_deref().map(|r| format!(" ({r})")).unwrap_or_default()
            ),
            Phase::Done => format!("done · {elapsed}"),
        }
    }
}

/// `auto: imports at full speed`: why `--pause auto` chose its pause.
pub fn pause_reason(decision: &elma_import_runner::pace::Decision) -> String {
    format!("auto: {}", decision.reason())
}

/// Draws a run: a bar, plain lines, or JSON lines, by [`Mode`].
pub struct RunObserver {
    mode: Mode,
    verbose: bool,
    live: Arc<Mutex<Live>>,
    bar: Mutex<Option<ProgressBar>>,
    stop: Arc<AtomicBool>,
}

impl RunObserver {
    /// An observer choosing bar or lines by the terminal, with the default blocked limit
    /// (30 minutes); `verbose` adds a line per step above the bar.
    pub fn new(verbose: bool) -> RunObserver {
        RunObserver::with_mode(Mode::Auto, verbose, Duration::from_secs(30 * 60))
    }

    /// An observer; `blocked_limit` is the run's `--blocked-timeout`, `verbose` adds a
    /// line per step above the bar.
    pub fn with_mode(mode: Mode, verbose: bool, blocked_limit: Duration) -> RunObserver {
        let tty = std::io::stderr().is_terminal();
        let mode = match mode {
            _ if ui::quiet() => Mode::None,
            Mode::Auto if tty => Mode::Bar,
            Mode::Auto => Mode::Lines,
            m => m,
        };
        let now = Instant::now();
        RunObserver {
            mode,
            verbose,
            live: Arc::new(Mutex::new(Live {
                started: now,
                phase: Phase::Preparing,
                rows: 0,
                chunks: 0,
                planned_secs_per_row: 0.0,
                pause: Duration::ZERO,
                blocked_limit,
                done_rows: 0,
                pauses_taken: 0,
                current_processed: 0,
                work_from: None,
                rows_measured: 0,
                paused: Duration::ZERO,
                blocked: Duration::ZERO,
                pause_reason: None,
            })),
            bar: Mutex::new(None),
            stop: Arc::new(AtomicBool::new(false)),
        }
    }

    fn live(&self) -> std::sync::MutexGuard<'_, Live> {
        self.live.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A line for people: above the bar, or on stderr.
    fn line(&self, text: &str) {
        if matches!(self.mode, Mode::None | Mode::Jsonl) {
            return;
        }
        let stamp = format!("[{:>7}]", ui::duration(self.live().started.elapsed()));
        match self.bar.lock().ok().and_then(|b| b.clone()) {
            Some(bar) if !bar.is_hidden() => bar.println(format!("{stamp} {text}")),
            _ => eprintln!("{stamp} {text}"),
        }
    }

    /// A line only in line mode (or with --verbose): steps the bar shows by itself.
    fn step(&self, text: &str) {
        if self.mode == Mode::Lines || self.verbose {
            self.line(text);
        }
    }

    fn start_bar(&self, total: u64, position: u64) {
        if self.mode != Mode::Bar {
            return;
        }
        let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
        if let Ok(style) =
            ProgressStyle::with_template("[{bar:16}] {human_pos}/{human_len} rows · {wide_msg}")
        {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_position(position);
        if let Ok(mut b) = self.bar.lock() {
            *b = Some(bar.clone());
        }
        let live = Arc::clone(&self.live);
        let stop = Arc::clone(&self.stop);
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                let message = live.lock().map(|l| l.message(Instant::now())).unwrap_or_default();
                bar.set_message(message);
                bar.tick();
                std::thread::sleep(Duration::from_millis(200));
            }
        });
    }

    fn position(&self) {
        let (done, processed) = {
            let l = self.live();
            (l.done_rows, l.current_processed)
        };
        if let Some(bar) = self.bar.lock().ok().and_then(|b| b.clone()) {
            bar.set_position(done + processed);
        }
    }

    /// Clears the bar (the summary follows on stdout).
    pub fn finish(&self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(bar) = self.bar.lock().ok().and_then(|mut b| b.take()) {
            bar.finish_and_clear();
        }
    }

    fn jsonl(&self, p: &Progress<'_>) {
        let t = (self.live().started.elapsed().as_secs_f64() * 1000.0).round() / 1000.0;
        let v = match p {
            Progress::Preparing { done, total } => {
                json!({"event": "preparing", "bytes_done": done, "bytes_total": total})
            }
            Progress::Chunking { done, total } => {
                json!({"event": "chunking", "bytes_done": done, "bytes_total": total})
            }
            Progress::Planned { rows, valid, invalid, plan, already_imported } => json!({
                "event": "planned", "rows": rows, "valid": valid, "invalid": invalid,
                "already_imported": already_imported, "plan": plan,
            }),
            Progress::Uploading { chunk, rows } => {
                json!({"event": "uploading", "chunk": chunk + 1, "rows": rows})
            }
            Progress::Started { chunk, import_id } => {
                json!({"event": "started", "chunk": chunk + 1, "import_id": import_id})
            }
            Progress::Blocked { chunk, waited } => json!({
                "event": "blocked", "chunk": chunk + 1, "waited_secs": waited.as_secs_f64(),
                "limit_secs": self.live().blocked_limit.as_secs_f64(),
            }),
            Progress::Importing { chunk, result, rows } => json!({
                "event": "importing", "chunk": chunk + 1, "rows": rows, "processed": result.processed,
                "imported": result.imported, "failed": result.failed, "status": result.status,
            }),
            Progress::ChunkFinished { chunk, result, rows } => json!({
                "event": "chunk_finished", "chunk": chunk + 1, "rows": rows,
                "imported": result.imported, "failed": result.failed, "status": result.status,
            }),
            Progress::Paced { chunk, decision } => {
                json!({"event": "paced", "chunk": chunk + 1, "decision": decision, "reason": decision.reason()})
            }
            Progress::Pausing { chunk, pause } => {
                let mut v =
                    json!({"event": "pausing", "after_chunk": chunk + 1, "pause_secs": pause.as_secs_f64()});
                if let Some(reason) = &self.live().pause_reason {
                    v["reason"] = json!(reason);
                }
                v
            }
            Progress::Message(m) => json!({"event": "message", "message": m}),
            Progress::Completed { summary } => {
                json!({"event": "completed", "imported": summary.imported, "failed": summary.failed})
            }
        };
        let mut v = v;
        v["t"] = json!(t);
        if let Some(chunk_total) = Some(self.live().chunks).filter(|c| *c > 0) {
            v["chunks"] = json!(chunk_total);
        }
        let eta = self.live().eta(Instant::now()).left().as_secs_f64();
        v["eta_secs"] = json!((eta * 10.0).round() / 10.0);
        eprintln!("{v}");
    }

    /// Updates what the observer knows from an event; returns the line for people, if any.
    fn update(&self, p: &Progress<'_>) -> Option<(String, bool)> {
        let now = Instant::now();
        let mut l = self.live();
        let chunks = l.chunks.max(1);
        match p {
            Progress::Preparing { .. } | Progress::Chunking { .. } => None,
            Progress::Planned { rows, valid, invalid, plan, already_imported } => {
                l.rows = *valid;
                l.chunks = plan.chunks.try_into().unwrap_or(u32::MAX);
                l.pause = plan.pause;
                let pauses = plan.pause.saturating_mul(l.chunks.saturating_sub(1));
                l.planned_secs_per_row =
                    plan.estimate.saturating_sub(pauses).as_secs_f64() / (*valid).max(1) as f64;
                l.done_rows = *already_imported;
                // The pauses after the chunks earlier executions finished.
                l.pauses_taken = already_imported
                    .checked_div(plan.rows_per_chunk)
                    .and_then(|n| u32::try_from(n).ok())
                    .unwrap_or(0);
                Some((
                    format!(
                        "validated: {} rows, {} valid, {} invalid{}",
                        ui::count(*rows),
                        ui::count(*valid),
                        ui::count(*invalid),
                        if *invalid > 0 { " (left out; listed in errors.csv)" } else { "" }
                    ),
                    true,
                ))
            }
            Progress::Uploading { chunk, rows } => {
                l.work_from.get_or_insert(now);
                if !matches!(l.phase, Phase::Importing(_) | Phase::Blocked { .. }) {
                    if let Phase::Pausing { until } = l.phase {
                        // A pause cut short counts as long as it lasted.
                        l.paused = l.paused.saturating_sub(until.saturating_duration_since(now));
                    }
                    l.phase = Phase::Uploading(*chunk);
                }
                Some((format!("chunk {}/{chunks}: uploading {} rows", chunk + 1, ui::count(*rows)), false))
            }
            Progress::Started { chunk, import_id } => {
                l.work_from.get_or_insert(now);
                if let Phase::Blocked { waited, at, .. } = l.phase {
                    l.blocked += waited + now.saturating_duration_since(at);
                }
                l.phase = Phase::Importing(*chunk);
                l.current_processed = 0;
                Some((format!("chunk {}/{chunks}: import {import_id} started", chunk + 1), false))
            }
            Progress::Blocked { chunk, waited } => {
                l.phase = Phase::Blocked { chunk: *chunk, waited: *waited, at: now };
                Some((
                    format!(
                        "chunk {}/{chunks}: the app is blocked by another import (blocked for {}, limit {}); trying again",
                        chunk + 1,
                        ui::duration(*waited),
                        ui::duration(l.blocked_limit)
                    ),
                    true,
                ))
            }
            Progress::Importing { chunk, result, rows } => {
                l.current_processed = result.processed.min(*rows);
                Some((
                    format!(
                        "chunk {}/{chunks}: {} of {} rows processed",
                        chunk + 1,
                        ui::count(result.processed),
                        ui::count(*rows)
                    ),
                    false,
                ))
            }
            Progress::ChunkFinished { chunk, result, rows } => {
                l.done_rows += rows;
                l.rows_measured += rows;
                l.current_processed = 0;
                let speed = rate(l.rows_measured, l.work(now).as_secs_f64());
                let eta = ui::duration(l.eta(now).left());
                Some((
                    format!(
                        "chunk {}/{chunks} {}: {} imported, {} failed · {speed} · eta {eta}",
                        chunk + 1,
                        result.status,
                        ui::count(result.imported),
                        ui::count(result.failed)
                    ),
                    true,
                ))
            }
            Progress::Paced { decision, .. } => {
                l.pause_reason = Some(pause_reason(decision));
                None
            }
            Progress::Pausing { pause, .. } => {
                l.pause = *pause;
                l.paused += *pause;
                l.pauses_taken += 1;
                l.phase = Phase::Pausing { until: now + *pause };
                let why = l.pause_reason.as_deref().map(|r| format!(" ({r})")).unwrap_or_default();
                Some((format!("pausing {}{why} so the event handlers drain", ui::duration(*pause)), false))
            }
            Progress::Message(m) => Some((m.clone(), true)),
            Progress::Completed { .. } => {
                l.phase = Phase::Done;
                None
            }
        }
    }
}

impl Observer for RunObserver {
    fn on(&self, p: &Progress<'_>) {
        if self.mode == Mode::Jsonl {
            self.update(p);
            self.jsonl(p);
            return;
        }
        let line = self.update(p);
        match p {
            Progress::Planned { valid, already_imported, plan, .. } => {
                if let Some((text, _)) = &line {
                    self.line(text);
                }
                if self.mode != Mode::None {
                    crate::commands::plan::show_plan(plan, *valid);
                }
                self.start_bar(*valid, *already_imported);
                return;
            }
            Progress::Completed { .. } => {
                self.finish();
                return;
            }
            _ => {}
        }
        self.position();
        if let Some((text, always)) = line {
            if always {
                self.line(&text);
            } else {
                self.step(&text);
            }
        }
    }
}

impl Drop for RunObserver {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_eta_at_the_start_is_the_plans_estimate_pauses_included() {
        // 6 chunks of 1,000 rows at 200 rows/s with 20 s pauses: 30 s + 5 × 20 s.
        let eta = Eta {
            rows_left: 6_000,
            secs_per_row: 1.0 / 200.0,
            pauses_left: Eta::pauses_to_come(6, 0),
            pause: Duration::from_secs(20),
            pause_left: Duration::ZERO,
        };
        assert_eq!(eta.left(), Duration::from_secs(130));
    }

    #[test]
    fn during_a_pause_the_eta_counts_its_rest_and_the_pauses_still_to_come() {
        // 2 of 6 chunks done, the second pause under way with 8 s left, 4 ms per row:
        // 4,000 rows, the rest of this pause, and 3 more pauses.
        let eta = Eta {
            rows_left: 4_000,
            secs_per_row: 0.004,
            pauses_left: Eta::pauses_to_come(6, 2),
            pause: Duration::from_secs(20),
            pause_left: Duration::from_secs(8),
        };
        assert_eq!(eta.left(), Duration::from_secs(16 + 8 + 60));
        assert_eq!(Eta::pauses_to_come(6, 5), 0, "no pause after the last chunk");
        assert_eq!(Eta::pauses_to_come(1, 0), 0);
        assert_eq!(Eta::pauses_to_come(0, 0), 0);
    }

    #[test]
    fn the_measured_time_per_row_replaces_the_plans_once_rows_finished() {
        assert_eq!(secs_per_row(0.005, Duration::ZERO, 0), 0.005);
        assert_eq!(secs_per_row(0.005, Duration::from_secs(10), 1_000), 0.01);
    }

    #[test]
    fn rates_are_rounded_for_people() {
        assert_eq!(rate(4123, 10.0), "412 rows/s");
        assert_eq!(rate(25, 10.0), "2.5 rows/s");
        assert_eq!(rate(2_000_000, 1.0), "2,000,000 rows/s");
        assert_eq!(rate(0, 0.0), "– rows/s");
    }

    #[test]
    fn a_blocked_run_says_for_how_long_and_the_limit_instead_of_eta_zero() {
        let now = Instant::now();
        let l = Live {
            started: now - Duration::from_secs(30),
            phase: Phase::Blocked { chunk: 1, waited: Duration::from_secs(12), at: now },
            rows: 3_000,
            chunks: 3,
            planned_secs_per_row: 0.005,
            pause: Duration::from_secs(5),
            blocked_limit: Duration::from_secs(1800),
            done_rows: 1_000,
            pauses_taken: 1,
            current_processed: 0,
            // 37 s since the first upload, less a 5 s pause and 12 s blocked: 20 s of work.
            work_from: Some(now - Duration::from_secs(37)),
            rows_measured: 1_000,
            paused: Duration::from_secs(5),
            blocked: Duration::ZERO,
            pause_reason: None,
        };
        let m = l.message(now);
        // 2,000 rows at the measured 20 ms per row, and one pause to come.
        assert!(
            m.starts_with("chunk 2/3 blocked for 12.0s (limit 30m 00s) · eta 45.0s once it clears"),
            "{m}"
        );
    }

    #[test]
    fn an_auto_pause_says_why() {
        use elma_import_runner::pace::{Decision, Verdict};
        let fast = Decision {
            pause: Duration::from_secs(3),
            rows_per_sec: 1500.0,
            best_rows_per_sec: 1500.0,
            congestion: 0.0,
            verdict: Verdict::Fast,
            backlog: 0.0,
            handler_rate: 0.0,
        };
        assert_eq!(pause_reason(&fast), "auto: imports at full speed");
        let d = Decision {
            rows_per_sec: 1000.0,
            congestion: 0.5,
            verdict: Verdict::Slow,
            backlog: 410.0,
            handler_rate: 98.0,
            ..fast
        };
        assert_eq!(
            pause_reason(&d),
            "auto: imports 33 % slower: a handler backlog of about 410 jobs, handlers at about 98/s"
        );
        let now = Instant::now();
        let l = Live {
            started: now,
            phase: Phase::Pausing { until: now + Duration::from_secs(3) },
            rows: 3_000,
            chunks: 3,
            planned_secs_per_row: 0.005,
            pause: Duration::from_secs(3),
            blocked_limit: Duration::from_secs(1800),
            done_rows: 1_000,
            pauses_taken: 1,
            current_processed: 0,
            work_from: None,
            rows_measured: 0,
            paused: Duration::ZERO,
            blocked: Duration::ZERO,
            pause_reason: Some(pause_reason(&d)),
        };
        let m = l.message(now);
        assert!(
            m.starts_with("pause 3.0s left (auto: imports 33 % slower: a handler backlog of about 410 jobs"),
            "{m}"
        );
    }
}
