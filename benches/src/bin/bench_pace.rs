//! The pacing benchmark: the fixed default pause against `--pause auto` at several
//! handler rates, with imports at 2,000 rows/s and 1,000-row chunks.
//!
//! ```text
//! cargo run --release -p elma-import-benches --bin bench-pace -- [--rows N] [--emulator]
//!     [--auto-rows 25=6000,100=20000,400=60000] [--fixed-rows 10000]
//!     [--rates 25,100] [--no-fixed] [--keep DIR]
//! ```
//!
//! `--rates` runs only the handler rates named (of 25, 100, 400); `--no-fixed` skips the
//! fixed-pause runs against the emulator; `--keep DIR` keeps each emulator run's journal
//! (`DIR/{fixed,auto}-RATE.journal.jsonl`) and the emulator's queue samples
//! (`DIR/{fixed,auto}-RATE.queue.csv`: milliseconds, depth) to see what the pacer saw.
//!
//! Without `--emulator` it runs the pacing simulation
//! (`elma_import_runner::pace::simulate_noisy`, the emulator's queue model: imports at
//! `rows_per_sec / (1 + queue/1000)`, handlers draining at their rate) for the fixed
//! default and for the auto pacer: one Markdown table row per rate with the wall time,
//! the ideal (`rows / handler rate`), their ratio and the queue's peak in chunks; once
//! per way of measuring, the last two with seeded noise on the runner's view.
//!
//! With `--emulator` it also runs the real runner against the in-process emulator
//! (`--handler-rate R --rows-per-sec 2000`), once with the plan's fixed pause and once with
//! `--pause auto` (starting at that fixed pause, within 1 s..10 min), reading the queue's
//! peak from the emulator's counters. All six runs go at once, each against its own
//! emulator, so the benchmark takes as long as the longest run; each waits, prepared,
//! until all are (so one run's chunking does not slow another's first import), then
//! 0.8 s more per run before it (so they do not import in lock-step while their pauses
//! are still the same 20 s), and its wall time counts from there. The auto runs get enough
//! rows per rate (`--auto-rows`) to pay off the starting pause; the fixed runs, whose
//! ratio does not depend on the row count, get `--fixed-rows` (about `rows / 1000 × 21 s`).

use std::sync::{Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

use elma_import_contract::schema::AppSchema;
use elma_import_runner::event::Event;
use elma_import_runner::journal::Journal;
use elma_import_runner::pace::{simulate_noisy, Noise, Pacer, Pacing, PauseMode, Platform, Seen};
use elma_import_runner::{execute, Cancel, ExecOptions, Observer, Progress, RunSpec};
use elma_import_template::sample::{write_csv, SampleOptions};
use elma_import_template::Locale;

const RATES: [f64; 3] = [25.0, 100.0, 400.0];
const IMPORT_ROWS_PER_SEC: f64 = 2000.0;
const CHUNK: u64 = 1000;
/// Between the first imports of the emulator runs (about one import's length), so six
/// emulators sharing the machine's cores do not import in lock-step while their pauses
/// are still alike.
const STAGGER: Duration = Duration::from_millis(800);
/// The plan's default pause for 1,000-row chunks (1,000 rows at 50 handler jobs/s).
const FIXED: Duration = Duration::from_secs(20);

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut rows = 100_000u64;
    let mut emulator = false;
    let mut auto_rows: Vec<u64> = vec![6_000, 20_000, 60_000];
    let mut fixed_rows = 10_000u64;
    let mut rates: Vec<f64> = RATES.to_vec();
    let mut with_fixed = true;
    let mut keep: Option<std::path::PathBuf> = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--rows" => rows = args.next().ok_or("--rows needs a number")?.parse()?,
            "--emulator" => emulator = true,
            "--fixed-rows" => fixed_rows = args.next().ok_or("--fixed-rows needs a number")?.parse()?,
            "--auto-rows" => {
                let list = args.next().ok_or("--auto-rows needs RATE=ROWS,…")?;
                auto_rows = RATES
                    .iter()
                    .map(|rate| {
                        list.split(',')
                            .find_map(|p| {
                                p.split_once('=').filter(|(r, _)| r.parse::<f64>().ok() == Some(*rate))
                            })
                            .ok_or_else(|| format!("--auto-rows names no `{rate}=ROWS`").into())
                            .and_then(|(_, n)| n.parse::<u64>().map_err(Into::into))
                    })
                    .collect::<Result<_, Box<dyn std::error::Error>>>()?;
            }
            "--rates" => {
                let list = args.next().ok_or("--rates needs RATE,…")?;
                rates = list.split(',').map(str::parse::<f64>).collect::<Result<_, _>>()?;
                if let Some(r) = rates.iter().find(|r| !RATES.contains(r)) {
                    return Err(format!("--rates: `{r}` is not one of 25, 100, 400").into());
                }
            }
            "--no-fixed" => with_fixed = false,
            "--keep" => keep = Some(args.next().ok_or("--keep needs a directory")?.into()),
            other => return Err(format!("unknown argument `{other}`").into()),
        }
    }
    let quiet = Noise::NONE;
    let noisy = |ms: f64| Noise { jitter_secs: ms / 1000.0, tick_secs: 0.05, seed: 1 };
    let first_poll = Seen::FirstPoll { first: 0.6, every: 1.0 };
    let cases = [
        (Seen::Exactly, quiet, "throughput measured exactly".to_string()),
        (
            first_poll,
            quiet,
            "throughput from the first poll, every import polled where the first was (0.6 s)".to_string(),
        ),
        (
            Seen::Polled { first: 0.6, every: 1.0 },
            quiet,
            "throughput from the poll that saw the end (0.6 s, then every 1 s): too coarse".to_string(),
        ),
        (
            first_poll,
            noisy(25.0),
            "first poll as above, each timing off by up to ±25 ms, rows counted in 50 ms steps (seed 1)"
                .to_string(),
        ),
        (
            first_poll,
            noisy(50.0),
            "first poll as above, each timing off by up to ±50 ms, rows counted in 50 ms steps (seed 1)"
                .to_string(),
        ),
    ];
    for (seen, noise, how) in cases {
        println!("simulation, {rows} rows in {CHUNK}-row chunks, imports at {IMPORT_ROWS_PER_SEC} rows/s, {how}:\n");
        println!("| handler rate | ideal | fixed 20 s: wall | ratio | queue peak | auto: wall | ratio | queue peak | last pause |");
        println!("|---|---|---|---|---|---|---|---|---|");
        for &rate in &rates {
            let platform = Platform::emulator(IMPORT_ROWS_PER_SEC, rate);
            let fixed = simulate_noisy(&platform, rows, CHUNK, seen, Pacing::Fixed(FIXED), noise);
            let pacer = Pacer::new(FIXED, Duration::from_secs(1), Duration::from_secs(600));
            let auto = simulate_noisy(&platform, rows, CHUNK, seen, Pacing::Auto(pacer), noise);
            println!(
                "| {rate} jobs/s | {:.0} s | {:.0} s | {:.2}× | {:.2} chunks | {:.0} s | {:.2}× | {:.2} chunks | {:.1} s |",
                fixed.ideal_secs,
                fixed.wall_secs,
                fixed.wall_secs / fixed.ideal_secs,
                fixed.peak_queue / CHUNK as f64,
                auto.wall_secs,
                auto.wall_secs / auto.ideal_secs,
                auto.peak_queue / CHUNK as f64,
                auto.last_pause_secs,
            );
        }
        println!();
    }
    if emulator {
        println!(
            "emulator, the real runner, imports at {IMPORT_ROWS_PER_SEC} rows/s, {CHUNK}-row chunks, \
             all runs at once:\n"
        );
        println!(
            "| handler rate | fixed 20 s: rows | ideal | wall | ratio | queue peak \
             | auto: rows | ideal | wall | ratio | queue peak | last pause |"
        );
        println!("|---|---|---|---|---|---|---|---|---|---|---|---|");
        if let Some(dir) = &keep {
            std::fs::create_dir_all(dir)?;
        }
        let keep = keep.as_deref();
        let runs = rates.len() * if with_fixed { 2 } else { 1 };
        let gate = &Gate::new(runs);
        let results = std::thread::scope(|scope| {
            let runs: Vec<_> = RATES
                .iter()
                .zip(&auto_rows)
                .filter(|(rate, _)| rates.contains(rate))
                .enumerate()
                .map(|(i, (&rate, &auto))| {
                    // Each run starts its first import at its own moment after the gate.
                    let at = move |k: u32| STAGGER * (2 * i as u32 + k);
                    let fixed = with_fixed.then(|| {
                        scope.spawn(move || run_emulator(fixed_rows, rate, false, keep, (gate, at(1))))
                    });
                    let auto = scope.spawn(move || run_emulator(auto, rate, true, keep, (gate, at(0))));
                    (rate, fixed, auto)
                })
                .collect();
            runs.into_iter()
                .map(|(rate, fixed, auto)| (rate, fixed.map(|f| f.join()), auto.join()))
                .collect::<Vec<_>>()
        });
        for (rate, fixed, auto) in results {
            let Ok(auto) = auto else { return Err("a run panicked".into()) };
            let auto = auto.map_err(|e| e.to_string())?;
            let fixed = match fixed {
                None => None,
                Some(Ok(f)) => Some(f.map_err(|e| e.to_string())?),
                Some(Err(_)) => return Err("a run panicked".into()),
            };
            let cell = |r: &Measured| {
                let ideal = r.rows as f64 / rate;
                format!(
                    "{} | {ideal:.0} s | {:.0} s | {:.2}× | {:.2} chunks",
                    r.rows,
                    r.wall_secs,
                    r.wall_secs / ideal,
                    r.peak as f64 / CHUNK as f64
                )
            };
            println!(
                "| {rate} jobs/s | {} | {} | {} |",
                fixed.as_ref().map_or("– | – | – | – | –".to_string(), cell),
                cell(&auto),
                auto.last_pause.map_or("–".to_string(), |p| format!("{p:.1} s"))
            );
        }
    }
    Ok(())
}

/// Where every emulator run waits, its data generated and chunked, until all are there:
/// one run's preparation (60,000 rows are chunked for seconds on both cores) must not slow
/// another's first import, the one the pacer's reference comes from. Gives up waiting
/// after two minutes (a run that failed before its plan never arrives).
struct Gate {
    waiting: Mutex<usize>,
    all_there: Condvar,
}

impl Gate {
    fn new(runs: usize) -> Gate {
        Gate { waiting: Mutex::new(runs), all_there: Condvar::new() }
    }

    fn pass(&self) {
        let mut left = self.waiting.lock().unwrap_or_else(PoisonError::into_inner);
        *left = left.saturating_sub(1);
        if *left == 0 {
            self.all_there.notify_all();
            return;
        }
        let _ = self
            .all_there
            .wait_timeout_while(left, Duration::from_secs(120), |left| *left > 0)
            .unwrap_or_else(PoisonError::into_inner);
    }
}

/// The runner's observer for one run: waits at the gate once the run is planned (after
/// preparation, before the first upload), then its offset, and notes when it went on.
struct Held<'g> {
    gate: &'g Gate,
    offset: Duration,
    released: Mutex<Option<Instant>>,
}

impl Observer for Held<'_> {
    fn on(&self, progress: &Progress<'_>) {
        if let Progress::Planned { .. } = progress {
            self.gate.pass();
            std::thread::sleep(self.offset);
            *self.released.lock().unwrap_or_else(PoisonError::into_inner) = Some(Instant::now());
        }
    }
}

/// What one real run came to.
struct Measured {
    rows: u64,
    wall_secs: f64,
    /// The queue's peak, jobs.
    peak: u64,
    /// The last pause `--pause auto` chose.
    last_pause: Option<f64>,
}

/// One real run against its own in-process emulator, with the fixed default pause or auto.
fn run_emulator(
    rows: u64,
    handler_rate: f64,
    auto: bool,
    keep: Option<&std::path::Path>,
    (gate, offset): (&Gate, Duration),
) -> Result<Measured, Box<dyn std::error::Error + Send + Sync>> {
    let dir = tempfile::tempdir()?;
    let schema = AppSchema::from_json(include_str!("../../../templates/crm.contacts.schema.json"))?;
    let source = dir.path().join("contacts.csv");
    let sample = SampleOptions { rows, bad_share: 0.0, seed: 1, locale: Locale::Ru };
    write_csv(&schema, &source, &sample)?;
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    rt.block_on(async {
        let (emulator, client) =
            elma_import_benches::emulator_and_client(IMPORT_ROWS_PER_SEC, handler_rate).await?;
        let run_dir = dir.path().join("run");
        let spec = RunSpec {
            with_event_handlers: true,
            rows_per_chunk: Some(CHUNK),
            import_rows_per_sec: IMPORT_ROWS_PER_SEC,
            pause_mode: if auto {
                PauseMode::auto(PauseMode::DEFAULT_MIN, PauseMode::DEFAULT_MAX)
            } else {
                PauseMode::Fixed
            },
            ..RunSpec::new("bench-pace", &source, schema.id())?
        };
        spec.create(&run_dir, &schema)?;
        let began = Instant::now();
        let held = Held { gate, offset, released: Mutex::new(None) };
        let summary = execute(&run_dir, &client, &ExecOptions::default(), &held, &Cancel::new()).await?;
        // The wall from the gate on: preparation and the wait for the other runs do not count.
        let released = held.released.lock().unwrap_or_else(PoisonError::into_inner).unwrap_or(began);
        let wall_secs = summary.wall_secs - released.saturating_duration_since(began).as_secs_f64();
        let counters = emulator.emulator().counters();
        let peak = counters.queue.samples.iter().map(|s| s.depth).max().unwrap_or(0);
        emulator.shutdown().await;
        if let Some(keep) = keep {
            let name = format!("{}-{handler_rate}", if auto { "auto" } else { "fixed" });
            std::fs::copy(run_dir.join("journal.jsonl"), keep.join(format!("{name}.journal.jsonl")))?;
            let queue: String =
                counters.queue.samples.iter().map(|s| format!("{},{}\n", s.t_ms, s.depth)).collect();
            std::fs::write(keep.join(format!("{name}.queue.csv")), queue)?;
        }
        let last_pause = Journal::read(&run_dir.join("journal.jsonl"))?.iter().rev().find_map(|e| match e {
            Event::Paced { decision, .. } => Some(decision.pause.as_secs_f64()),
            _ => None,
        });
        Ok::<_, Box<dyn std::error::Error + Send + Sync>>(Measured { rows, wall_secs, peak, last_pause })
    })
}
