//! One real run against an in-process emulator, for `bench-pace` (benches/README.md,
//! "bench-pace"): the sample data, the emulator, the runner, and what the run came to.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use elma_import_contract::schema::AppSchema;
use elma_import_runner::pace::PauseMode;
use elma_import_runner::{execute, Cancel, ExecOptions, Observer, Progress, RunSpec};
use elma_import_template::sample::{write_csv, SampleOptions};
use elma_import_template::Locale;

use crate::BenchResult;

/// One run to make.
#[derive(Debug, Clone)]
pub struct Case {
    /// Rows of the sample (`crm.contacts`, no bad rows).
    pub rows: u64,
    /// Rows per chunk; `None`: the plan's.
    pub rows_per_chunk: Option<u64>,
    /// The emulator's `--rows-per-sec` (and the run's expected import speed).
    pub import_rows_per_sec: f64,
    /// Event handlers on, draining this many jobs per second; `None`: handlers off.
    pub handler_rate: Option<f64>,
    /// The emulator's `--latency`.
    pub latency: Duration,
    /// The emulator's `--latency-jitter`.
    pub jitter: Duration,
    /// The emulator's `--seed` (draws the jitter).
    pub seed: u64,
    /// `--pause auto` (from the plan's default pause, within 1 s..10 min); else the
    /// plan's fixed pause.
    pub auto: bool,
}

/// What one run came to.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Measured {
    /// From the plan (after preparation) to the answer that saw the last import done.
    pub wall_secs: f64,
    /// The first import (as the emulator timed it), then every row at the handler rate
    /// or the import speed, whichever is slower.
    pub ideal_secs: f64,
    /// The handler queue's peak, in chunks.
    pub peak_chunks: f64,
    /// The last pause `--pause auto` decided.
    pub last_pause: Option<f64>,
}

impl Measured {
    /// Wall time over the ideal.
    pub fn ratio(&self) -> f64 {
        self.wall_secs / self.ideal_secs
    }
}

/// Min, median and max of some figures.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stats {
    /// The least.
    pub min: f64,
    /// The middle one (the mean of the two middle ones for an even count).
    pub median: f64,
    /// The most.
    pub max: f64,
}

impl Stats {
    /// Of `values` (NaN for none).
    pub fn of(values: impl IntoIterator<Item = f64>) -> Stats {
        let mut v: Vec<f64> = values.into_iter().collect();
        v.sort_by(f64::total_cmp);
        if v.is_empty() {
            return Stats { min: f64::NAN, median: f64::NAN, max: f64::NAN };
        }
        let n = v.len();
        let median = if n % 2 == 1 { v[n / 2] } else { (v[n / 2 - 1] + v[n / 2]) / 2.0 };
        Stats { min: v[0], median, max: v[n - 1] }
    }
}

/// Notes when the run was planned and when each chunk's import was seen done.
#[derive(Default)]
struct Clock {
    planned: Mutex<Option<Instant>>,
    last_done: Mutex<Option<Instant>>,
    last_pause: Mutex<Option<f64>>,
}

impl Observer for Clock {
    fn on(&self, progress: &Progress<'_>) {
        let now = Instant::now();
        let lock = |m: &Mutex<Option<Instant>>| {
            *m.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(now)
        };
        match progress {
            Progress::Planned { .. } => lock(&self.planned),
            Progress::ChunkFinished { .. } => lock(&self.last_done),
            Progress::Paced { decision, .. } => {
                *self.last_pause.lock().unwrap_or_else(std::sync::PoisonError::into_inner) =
                    Some(decision.pause.as_secs_f64());
            }
            _ => {}
        }
    }
}

/// The directory id the runs upload to when the plan asks for one (the emulator keeps any).
const BENCH_DIRECTORY: &str = "5a1b0000-0000-4000-8000-0000000be4c0";

/// Makes one run of `case` in a temporary directory against its own emulator; with
/// `keep`, copies the run's journal to `KEEP.journal.jsonl` and the emulator's queue
/// samples to `KEEP.queue.csv` (milliseconds, depth).
pub fn run(case: &Case, keep: Option<&std::path::Path>) -> BenchResult<Measured> {
    let dir = tempfile::tempdir()?;
    let schema = AppSchema::from_json(crate::CONTACTS_SCHEMA)?;
    let source = dir.path().join("contacts.csv");
    let sample = SampleOptions { rows: case.rows, bad_share: 0.0, seed: 1, locale: Locale::Ru };
    write_csv(&schema, &source, &sample)?;
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    rt.block_on(async {
        let config = elma_import_emulator::EmulatorConfig {
            latency: case.latency,
            latency_jitter: case.jitter,
            seed: case.seed,
            ..crate::emulator_config(case.import_rows_per_sec, case.handler_rate.unwrap_or(100.0))
        };
        let (emulator, client) = crate::emulator_and_client(config).await?;
        let run_dir = dir.path().join("run");
        let spec = RunSpec {
            with_event_handlers: case.handler_rate.is_some(),
            rows_per_chunk: case.rows_per_chunk,
            import_rows_per_sec: case.import_rows_per_sec,
            pause_mode: if case.auto {
                PauseMode::auto(PauseMode::DEFAULT_MIN, PauseMode::DEFAULT_MAX)
            } else {
                PauseMode::Fixed
            },
            // A run without handlers above 50,000 rows uploads to a directory.
            directory_id: Some(BENCH_DIRECTORY.to_string()),
            ..RunSpec::new("bench-pace", &source, schema.id())?
        };
        spec.create(&run_dir, &schema)?;
        let clock = Clock::default();
        execute(&run_dir, &client, &ExecOptions::default(), &clock, &Cancel::new()).await?;
        let get = |m: &Mutex<Option<Instant>>| *m.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let (Some(planned), Some(done)) = (get(&clock.planned), get(&clock.last_done)) else {
            return Err("the run was never planned or finished no chunk".into());
        };
        let counters = emulator.emulator().counters();
        emulator.shutdown().await;
        let peak = counters.queue.samples.iter().map(|s| s.depth).max().unwrap_or(0);
        let first = counters.imports.iter().min_by_key(|i| i.started_ms);
        let first_secs = first
            .and_then(|i| i.finished_ms.map(|f| f.saturating_sub(i.started_ms) as f64 / 1000.0))
            .unwrap_or(0.0);
        let pace = case.handler_rate.map_or(case.import_rows_per_sec, |h| h.min(case.import_rows_per_sec));
        if let Some(keep) = keep {
            let name = |ext: &str| {
                let mut p = keep.as_os_str().to_owned();
                p.push(ext);
                std::path::PathBuf::from(p)
            };
            std::fs::copy(run_dir.join("journal.jsonl"), name(".journal.jsonl"))?;
            let queue: String =
                counters.queue.samples.iter().map(|s| format!("{},{}\n", s.t_ms, s.depth)).collect();
            std::fs::write(name(".queue.csv"), queue)?;
        }
        let last_pause = *clock.last_pause.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        Ok::<_, crate::BenchError>(Measured {
            wall_secs: done.saturating_duration_since(planned).as_secs_f64(),
            ideal_secs: first_secs + case.rows as f64 / pace,
            peak_chunks: peak as f64 / case.rows_per_chunk.unwrap_or(1000) as f64,
            last_pause,
        })
    })
}
