//! `--pause auto` driven in-process on a manual clock against a platform bound on
//! 127.0.0.1:0 that imports and drains its handler queue on that clock: imports run at
//! `base / (1 + queue / 1000)` rows per second, every imported row queues a handler job,
//! and the queue drains at a handler rate the test sets per import. No real sleeps.

use crate::common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Query, State};
use axum::routing::post;
use axum::{Json, Router};
use elma_import_client::{Client, ManualClock};
use elma_import_runner::event::Event;
use elma_import_runner::journal::Journal;
use elma_import_runner::pace::{PauseMode, Verdict};
use elma_import_runner::state::RunState;
use elma_import_runner::{execute_with_clock, Cancel, ExecOptions, Observer, Progress, RunError, RunSpec};
use serde_json::{json, Value};

/// One import on the platform.
struct Import {
    total: u64,
    done: f64,
}

/// The platform's model, advanced lazily to the manual clock at every request.
struct Platform {
    clock: ManualClock,
    /// Time the model stands at.
    at: Duration,
    /// Rows per second with an empty queue.
    base: f64,
    /// Handler jobs per second, by import (0-based start count; the last repeats).
    handler_rates: Vec<f64>,
    queue: f64,
    peak: f64,
    uploads: HashMap<String, u64>,
    imports: HashMap<String, Import>,
    running: Option<String>,
    starts: usize,
}

type Shared = Arc<Mutex<Platform>>;

impl Platform {
    fn handler_rate(&self) -> f64 {
        let i = self.starts.saturating_sub(1).min(self.handler_rates.len() - 1);
        self.handler_rates[i]
    }

    /// Runs the model up to the clock, in 5 ms steps.
    fn advance(&mut self) {
        const DT: f64 = 0.005;
        let now = self.clock.elapsed();
        let drain = self.handler_rate();
        while self.at < now {
            let dt = (now - self.at).as_secs_f64().min(DT);
            if let Some(id) = self.running.clone() {
                let import = self.imports.get_mut(&id).expect("running import");
                let rate = self.base / (1.0 + self.queue / 1000.0);
                let step = (rate * dt).min(import.total as f64 - import.done);
                import.done += step;
                self.queue += step;
                if import.done >= import.total as f64 - 1e-9 {
                    import.done = import.total as f64;
                    self.running = None;
                }
            }
            self.queue = (self.queue - drain * dt).max(0.0);
            self.peak = self.peak.max(self.queue);
            self.at += Duration::from_secs_f64(dt);
        }
    }
}

async fn upload(
    State(p): State<Shared>,
    Query(q): Query<HashMap<String, String>>,
    body: axum::body::Bytes,
) -> Json<Value> {
    let rows = body.iter().filter(|b| **b == b'\n').count().saturating_sub(1) as u64;
    p.lock().unwrap().uploads.insert(q["hash"].clone(), rows);
    Json(json!({"success": true, "error": ""}))
}

async fn start(State(p): State<Shared>, Json(body): Json<Value>) -> Json<Value> {
    let mut p = p.lock().unwrap();
    p.advance();
    assert!(p.running.is_none(), "a start while an import runs");
    let total = p.uploads[body["fileHash"].as_str().unwrap()];
    p.starts += 1;
    let id = format!("imp-{}", p.starts);
    p.imports.insert(id.clone(), Import { total, done: 0.0 });
    p.running = Some(id.clone());
    Json(json!({"success": true, "error": "", "result": {"id": id, "status": "new"}}))
}

async fn status(State(p): State<Shared>, Json(body): Json<Value>) -> Json<Value> {
    let mut p = p.lock().unwrap();
    p.advance();
    let id = body["id"].as_str().unwrap().to_string();
    let import = &p.imports[&id];
    let processed = import.done.floor() as u64;
    let status = if processed == import.total { "done" } else { "in_progress" };
    Json(json!({"success": true, "error": "", "result": {
        "id": id, "status": status, "total": import.total, "processed": processed,
        "imported": processed, "failed": 0, "errors": []}}))
}

async fn list() -> Json<Value> {
    Json(json!({"success": true, "error": "", "result": {"result": [], "total": 0}}))
}

struct Harness {
    dir: tempfile::TempDir,
    platform: Shared,
    client: Client,
    clock: ManualClock,
}

impl Harness {
    fn run_dir(&self) -> std::path::PathBuf {
        self.dir.path().join("run")
    }

    async fn execute(
        &self,
        options: &ExecOptions,
        observer: &dyn Observer,
        cancel: &Cancel,
    ) -> Result<(), RunError> {
        execute_with_clock(&self.run_dir(), &self.client, &self.clock, options, observer, cancel)
            .await
            .map(|_| ())
    }

    fn events(&self) -> Vec<Event> {
        Journal::read(&self.run_dir().join("journal.jsonl")).unwrap()
    }

    fn peak_queue(&self) -> f64 {
        self.platform.lock().unwrap().peak
    }
}

/// A run of `chunks` chunks of 1,000 rows with handlers on, paced as `mode` says, against
/// a platform importing 2,000 rows/s that drains handler jobs at `handler_rates`.
async fn setup(chunks: usize, mode: PauseMode, handler_rates: Vec<f64>) -> Harness {
    let clock = ManualClock::new();
    let platform: Shared = Arc::new(Mutex::new(Platform {
        clock: clock.clone(),
        at: Duration::ZERO,
        base: 2000.0,
        handler_rates,
        queue: 0.0,
        peak: 0.0,
        uploads: HashMap::new(),
        imports: HashMap::new(),
        running: None,
        starts: 0,
    }));
    let app = Router::new()
        .route("/pub/v1/disk/file/upload", post(upload))
        .route("/pub/v1/app/crm/notes/import", post(start))
        .route("/pub/v1/app/crm/notes/import/status", post(status))
        .route("/pub/v1/app/crm/notes/list", post(list))
        .with_state(platform.clone());
    let client = common::serve_client(app).await;

    let dir = tempfile::tempdir().unwrap();
    let (source, schema) = common::notes(dir.path(), chunks * 1000);
    let spec = RunSpec {
        chunk_format: elma_import_contract::wire::FileFormat::Csv,
        rows_per_chunk: Some(1000),
        with_event_handlers: true,
        pause_mode: mode,
        ..RunSpec::new("r1", &source, "crm.notes").unwrap()
    };
    spec.create(&dir.path().join("run"), &schema).unwrap();
    Harness { dir, platform, client, clock }
}

fn auto(min: f64, max: f64) -> PauseMode {
    PauseMode::auto(Duration::from_secs_f64(min), Duration::from_secs_f64(max))
}

/// The journaled decisions: (chunk, pause seconds, verdict).
fn decisions(events: &[Event]) -> Vec<(u32, f64, Verdict)> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Paced { chunk, decision, .. } => {
                Some((chunk.0, decision.pause.as_secs_f64(), decision.verdict))
            }
            _ => None,
        })
        .collect()
}

/// Records the pauses taken; cancels the run at the `cancel_at`-th decision.
#[derive(Default)]
struct Watch {
    pauses: Mutex<Vec<f64>>,
    decided: Mutex<u32>,
    cancel_at: Option<(u32, Cancel)>,
}

impl Observer for Watch {
    fn on(&self, p: &Progress<'_>) {
        match p {
            Progress::Pausing { pause, .. } => self.pauses.lock().unwrap().push(pause.as_secs_f64()),
            Progress::Paced { .. } => {
                let mut n = self.decided.lock().unwrap();
                *n += 1;
                if let Some((at, cancel)) = &self.cancel_at {
                    if *n == *at {
                        cancel.cancel();
                    }
                }
            }
            _ => {}
        }
    }
}

#[tokio::test]
async fn on_a_fast_platform_the_pause_shrinks_and_the_run_beats_the_fixed_default() {
    let fixed = setup(12, PauseMode::Fixed, vec![400.0]).await;
    fixed.execute(&ExecOptions::default(), &Watch::default(), &Cancel::new()).await.unwrap();
    assert!(decisions(&fixed.events()).is_empty(), "a fixed pause decides nothing");
    let fixed_wall = fixed.clock.elapsed().as_secs_f64();

    let h = setup(12, auto(1.0, 600.0), vec![400.0]).await;
    let watch = Watch::default();
    h.execute(&ExecOptions::default(), &watch, &Cancel::new()).await.unwrap();
    let d = decisions(&h.events());
    assert_eq!(d.len(), 11, "one decision per chunk with a pause after it: {d:?}");
    assert_eq!(d[0].2, Verdict::First);
    // The plan's default pause (1,000 rows at 50 jobs/s = 20 s) is unlearned.
    let last = d.last().unwrap().1;
    assert!(last < 5.0, "the pause stays long on a platform that drains 400 jobs/s: {d:?}");
    // The pauses taken are the decisions, in order.
    let taken = watch.pauses.lock().unwrap().clone();
    assert_eq!(taken, d.iter().map(|d| d.1).collect::<Vec<_>>());
    let wall = h.clock.elapsed().as_secs_f64();
    assert!(wall < fixed_wall / 2.0, "auto {wall:.0} s against fixed {fixed_wall:.0} s");
}

#[tokio::test]
async fn when_the_handlers_slow_down_the_pause_grows_and_the_queue_stays_short() {
    // Handlers drain 400 jobs/s for four imports, then 40.
    let h = setup(14, auto(1.0, 600.0), vec![400.0, 400.0, 400.0, 400.0, 40.0]).await;
    h.execute(&ExecOptions::default(), &Watch::default(), &Cancel::new()).await.unwrap();
    let d = decisions(&h.events());
    let shortest_early = d[..4].iter().map(|d| d.1).fold(f64::INFINITY, f64::min);
    assert!(d[4..].iter().any(|d| d.2 == Verdict::Slow), "the slowdown is seen: {d:?}");
    // At 40 jobs/s a chunk takes 25 s to drain: the pause grows to that at least.
    let longest = d.iter().map(|d| d.1).fold(0.0, f64::max);
    assert!(longest >= 25.0 && longest > 5.0 * shortest_early, "the pause grew: {d:?}");
    // Once the backlog is drained, the pause settles about that long (a chunk's 25 s
    // less the import's busy time), and no longer grows.
    let last = d.last().unwrap();
    assert!((18.0..32.0).contains(&last.1), "{d:?}");
    assert_ne!(last.2, Verdict::Slow, "{d:?}");
    // A tenfold slowdown at once is caught within a few chunks (the pause at most triples
    // per chunk): the queue never holds much more than three chunks.
    assert!(h.peak_queue() <= 3500.0, "the queue peaked at {:.0}: {d:?}", h.peak_queue());
}

#[tokio::test]
async fn the_pause_stays_within_its_bounds() {
    let watch = Watch::default();
    let h = setup(8, auto(5.0, 8.0), vec![400.0]).await;
    h.execute(&ExecOptions::default(), &watch, &Cancel::new()).await.unwrap();
    let taken = watch.pauses.lock().unwrap().clone();
    assert_eq!(taken.len(), 7);
    assert!(taken.iter().all(|p| (5.0..=8.0).contains(p)), "{taken:?}");
    assert_eq!(*taken.last().unwrap(), 5.0, "a fast platform drives it to the floor: {taken:?}");

    let watch = Watch::default();
    let h = setup(6, auto(1.0, 12.0), vec![25.0]).await;
    h.execute(&ExecOptions::default(), &watch, &Cancel::new()).await.unwrap();
    let taken = watch.pauses.lock().unwrap().clone();
    assert!(taken.iter().all(|p| (1.0..=12.0).contains(p)), "{taken:?}");
    assert_eq!(*taken.last().unwrap(), 12.0, "a slow platform drives it to the ceiling: {taken:?}");
}

#[tokio::test]
async fn a_resumed_run_keeps_the_learned_pause() {
    let h = setup(10, auto(1.0, 600.0), vec![400.0]).await;
    let cancel = Cancel::new();
    let watch = Watch { cancel_at: Some((4, cancel.clone())), ..Watch::default() };
    let err = h.execute(&ExecOptions::default(), &watch, &cancel).await.unwrap_err();
    assert!(matches!(err, RunError::Interrupted(_)), "{err}");
    let events = h.events();
    let d = decisions(&events);
    assert_eq!(d.len(), 4);
    // The journal alone gives back the pacer: the replayed pause is the last decision's.
    let polls = RunState::replay(&events).polls().to_vec();
    let (min, max) = (Duration::from_secs(1), Duration::from_secs(600));
    let replayed = elma_import_runner::pace::Pacer::replay(Duration::from_secs(20), min, max, polls);
    assert_eq!(replayed.pause().as_secs_f64(), d[3].1);
    assert!(d[3].1 < 20.0, "the pause was already learned down: {d:?}");

    let watch = Watch::default();
    h.execute(&ExecOptions::default(), &watch, &Cancel::new()).await.unwrap();
    let taken = watch.pauses.lock().unwrap().clone();
    // The pause owed after the interrupted one is the learned pause, not the plan's 20 s.
    assert!(taken[0] <= d[3].1 + 1e-9, "resumed with {taken:?} after {d:?}");
    let after = decisions(&h.events());
    assert!(after.len() > 4);
    assert!(after[4..].iter().all(|d| d.2 != Verdict::First), "the best throughput was kept: {after:?}");
}

#[tokio::test]
async fn a_resume_may_switch_a_fixed_run_to_auto() {
    let h = setup(4, PauseMode::Fixed, vec![400.0]).await;
    let cancel = Cancel::new();
    let options = ExecOptions { pause_mode: Some(auto(1.0, 600.0)), ..ExecOptions::default() };
    h.execute(&options, &Watch::default(), &cancel).await.unwrap();
    assert_eq!(decisions(&h.events()).len(), 3);
}

// The controller in closed loop against the simulation of the emulator (`pace::sim`):
// 50 ms import steps, 100 ms drain steps, start-up times, a poller that wakes late, and
// the network's latency, each drawn from a seed.

use elma_import_runner::pace::sim::{self, Case, Network, Noise, Platform as Emulator, Report};
use elma_import_runner::pace::Pacer;

fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s)
}

/// The benchmark's cases: (handler rate, rows).
const CASES: [(f64, u64); 3] = [(25.0, 6_000), (100.0, 10_000), (400.0, 100_000)];

fn simulate(rate: f64, rows: u64, latency_ms: f64, noise: Noise) -> Report {
    let case = Case::new(Emulator::emulator(2000.0, rate), rows, noise.seed)
        .over(Network::millis(latency_ms, latency_ms / 5.0))
        .with_noise(noise);
    sim::run(&case, sim::Pacing::Auto(Pacer::new(secs(20.0), secs(1.0), secs(600.0))))
}

/// Issue 18's bar: wall ≤ 1.25 × the ideal and the queue ≤ 1.5 chunks, in every run, at
/// 25, 100 and 400 jobs/s, with no latency and with 100 ms (plus up to 20 ms) a
/// request, from the plan's default pause of 20 s.
#[test]
fn the_bar_holds_in_every_simulated_run() {
    for (rate, rows) in CASES {
        for ms in [0.0, 100.0] {
            for seed in 1..=8 {
                let r = simulate(rate, rows, ms, Noise::quiet(seed));
                let label = format!("{rate}/s, {ms} ms, seed {seed}");
                assert!(r.ratio() <= 1.25, "{label}: wall {:.2} × ideal", r.ratio());
                assert!(r.peak_queue <= 1500.0, "{label}: queue peaked at {:.0}", r.peak_queue);
            }
        }
    }
}

/// On a loaded machine (start-ups of 5–60 ms, a poller up to 30 ms late, the platform's
/// steps up to 15 ms late: one reading off by about 8 %), where the bar is not promised
/// (docs/pacing.md, "Known limits"), the pace still never runs away at 100 and 400
/// jobs/s.
#[test]
fn on_a_loaded_machine_the_pace_does_not_run_away() {
    for (rate, rows) in &CASES[1..] {
        for seed in 1..=8 {
            let r = simulate(*rate, *rows, 0.0, Noise::busy(seed));
            let label = format!("{rate}/s, seed {seed}");
            assert!(r.ratio() <= 1.6, "{label}: wall {:.2} × ideal", r.ratio());
            assert!(r.peak_queue <= 1700.0, "{label}: queue peaked at {:.0}", r.peak_queue);
        }
    }
}

/// 100 ms a request lengthens every import's busy time (start, polls) but not the pace
/// the handlers need: the cycle from one start request to the next stays at a chunk's
/// drain time, the pause shortening by what the latency adds.
#[test]
fn latency_does_not_fool_the_pacer() {
    let cycle = |r: &Report| {
        let tail = &r.steps[r.steps.len() - 30..];
        (tail.last().unwrap().sent - tail[0].sent) / (tail.len() - 1) as f64
    };
    let pause = |r: &Report| {
        let tail = &r.steps[r.steps.len() - 30..r.steps.len() - 1];
        tail.iter().map(|s| s.pause_secs).sum::<f64>() / tail.len() as f64
    };
    let local = simulate(100.0, 60_000, 0.0, Noise::quiet(3));
    let remote = simulate(100.0, 60_000, 100.0, Noise::quiet(3));
    for r in [&local, &remote] {
        assert!((cycle(r) - 10.0).abs() < 0.6, "a chunk every {:.2} s", cycle(r));
    }
    assert!(
        pause(&remote) < pause(&local),
        "{:.2} s with latency, {:.2} s without",
        pause(&remote),
        pause(&local)
    );
}

/// The handlers slow tenfold in mid-run: the pause grows within a few chunks, the queue
/// holds a few chunks at most, and the pace settles on the new rate.
#[test]
fn a_tenfold_slowdown_in_mid_run_is_caught() {
    let mut platform = Emulator::emulator(2000.0, 400.0);
    platform.rate_changes = vec![(120.0, 40.0)];
    let case = Case::new(platform, 60_000, 2);
    let r = sim::run(&case, sim::Pacing::Auto(Pacer::new(secs(20.0), secs(1.0), secs(600.0))));
    assert!(r.peak_queue <= 3500.0, "the queue peaked at {:.0}", r.peak_queue);
    let pauses: Vec<f64> = r.steps.iter().map(|s| s.pause_secs).collect();
    let settled = pauses[pauses.len() - 6..pauses.len() - 1].iter().sum::<f64>() / 5.0;
    assert!((18.0..32.0).contains(&settled), "peak {:.0}, {pauses:?}", r.peak_queue);
}

/// [`Pacer::expected_pause`] makes an honest estimate of the time left: from the first
/// decision with a measured handler rate on within ±25 %, from half-way within ±10 %
/// (each give or take a poll interval: the runner sees an import end no closer than
/// that). Before a backlog has been measured the rate is only bounded from below, and
/// the estimate takes the middle of what the last cycle allows (docs/pacing.md,
/// "Expected pause"; the next test).
///
/// Runs of 20 chunks and more. (The benchmark's 6,000 rows at 25 jobs/s, seeds 1–5: 21–23 %
/// short at the first measured backlog, the second chunk; 5–7 % short from half-way.)
#[test]
fn the_time_left_is_estimated_from_the_model() {
    for (rate, rows) in [(25.0, 20_000), (100.0, 40_000), (400.0, 100_000)] {
        for seed in 1..=3 {
            let r = simulate(rate, rows, 0.0, Noise::quiet(seed));
            let estimates = r.remaining_estimates();
            let measured = r
                .steps
                .iter()
                .position(|s| {
                    s.decision.is_some_and(|d| matches!(d.verdict, Verdict::Slow | Verdict::Steady))
                })
                .expect("a backlog is measured");
            let half = estimates.len() / 2;
            for (k, (left, estimate)) in estimates.iter().enumerate().skip(measured + 1) {
                let bound = if k >= half { 0.10 } else { 0.25 };
                let label = format!("{rate}/s, seed {seed}, chunk {}", k + 1);
                assert!(
                    (estimate - left).abs() <= bound * left + 1.0,
                    "{label}: {estimate:.1} s for {left:.1} s"
                );
            }
        }
    }
}

/// The goal of the time left (docs/progress-jsonl.md, "How right `eta_secs` is") in the
/// simulation of its case: 10,000 rows in 10 chunks at 100 jobs/s, 2,000 rows/s, on a
/// quiet machine. A predicted end's error is a share of the run's duration; from the 2nd
/// finished chunk on at most 25 %, from half-way at most 10 %. While the pause descends
/// (chunks 2 to 4) only the middle of the last cycle is known: 11–14 % long at the 2nd
/// chunk, 18–21 % short at the 4th, over these seeds. (Taking the pause decided as the
/// pause to come, as before, was 26–30 % long at the 2nd.)
#[test]
fn at_100_jobs_a_second_the_time_left_meets_the_goal_from_the_second_chunk() {
    for seed in 1..=10 {
        let r = simulate(100.0, 10_000, 0.0, Noise::quiet(seed));
        let estimates = r.remaining_estimates();
        assert_eq!(estimates.len(), 9);
        for (k, (left, estimate)) in estimates.iter().enumerate().skip(1) {
            // After the (k+1)-th chunk; half-way once half the rows are done.
            let goal = if 2 * (k + 1) >= 10 { 0.10 } else { 0.25 };
            let error = (estimate - left).abs() / r.wall_secs;
            assert!(
                error <= goal,
                "seed {seed}, chunk {}: {estimate:.1} s for {left:.1} s of {:.1} s, {:.1} % off",
                k + 1,
                r.wall_secs,
                100.0 * error
            );
        }
    }
}
