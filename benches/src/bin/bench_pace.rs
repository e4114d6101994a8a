//! The pacing and latency benchmarks (benches/README.md, "bench-pace").
//!
//! ```text
//! bench-pace sim      [--runs N] [--busy] [--rates 25,100,400] [--latencies 0,100] [--rows 25=6000,…]
//! bench-pace emulator [--runs N] [--rates 25,100,400] [--latencies 0,100] [--rows 25=6000,…] [--keep DIR]
//! bench-pace latency  [--runs N] [--latencies 0,50,150] [--only handlers|plain] [--keep DIR]
//! bench-pace trace    [--rates R] [--latencies MS] [--runs SEED] [--busy] [--rows R=N]
//! ```
//!
//! `sim` runs the pacing cases in the simulation of the emulator (`pace::sim`), one
//! seed per run; `emulator` runs them against an in-process emulator, one run at a
//! time (nothing else of the benchmark runs beside it), the real runner with
//! `--pause auto` from the plan's default pause; `latency` runs a 10,000-row handler
//! run (auto pacing, 100 jobs/s) and a 200,000-row run without handlers at each
//! latency, and compares each wall time with the one without latency. Each prints one
//! Markdown table: per case the min / median / max over the runs. `trace` prints one
//! simulated run chunk by chunk (the first rate and latency given, seed `--runs`): what
//! the queue held, what the runner read, what the pacer decided.

use std::time::Duration;

use elma_import_benches::pace::{self, Case as EmuCase, Measured, Stats};
use elma_import_runner::pace::sim::{self, Case, Network, Noise, Platform};
use elma_import_runner::pace::{Pacer, PauseMode};

/// Imports into an empty queue, rows per second (the emulator's `--rows-per-sec`).
const IMPORT_ROWS_PER_SEC: f64 = 2000.0;
/// Rows per chunk.
const CHUNK: u64 = 1000;
/// The plan's default pause for 1,000-row chunks (1,000 rows at 50 handler jobs/s).
const START: Duration = Duration::from_secs(20);

struct Args {
    mode: String,
    runs: usize,
    busy: bool,
    rates: Vec<f64>,
    latencies: Vec<f64>,
    rows: Vec<(f64, u64)>,
    keep: Option<std::path::PathBuf>,
    /// `latency`: only the handler runs (`handlers`) or the ones without (`plain`).
    only: Option<String>,
}

fn parse_args() -> elma_import_benches::BenchResult<Args> {
    let mut args = std::env::args().skip(1);
    let mode = args.next().ok_or("say `sim`, `emulator`, `latency` or `trace`")?;
    let mut parsed = Args {
        latencies: if mode == "latency" { vec![0.0, 50.0, 150.0] } else { vec![0.0, 100.0] },
        mode,
        runs: 5,
        busy: false,
        rates: vec![25.0, 100.0, 400.0],
        rows: vec![(25.0, 6_000), (100.0, 10_000), (400.0, 100_000)],
        keep: None,
        only: None,
    };
    let list = |s: Option<String>, flag: &str| -> elma_import_benches::BenchResult<Vec<f64>> {
        let s = s.ok_or(format!("{flag} needs a list"))?;
        Ok(s.split(',').map(str::parse::<f64>).collect::<Result<_, _>>()?)
    };
    while let Some(a) = args.next() {
        match a.as_str() {
            "--runs" => parsed.runs = args.next().ok_or("--runs needs a number")?.parse()?,
            "--busy" => parsed.busy = true,
            "--rates" => parsed.rates = list(args.next(), "--rates")?,
            "--latencies" => parsed.latencies = list(args.next(), "--latencies")?,
            "--rows" => {
                let s = args.next().ok_or("--rows needs RATE=ROWS,…")?;
                for pair in s.split(',') {
                    let (rate, rows) = pair.split_once('=').ok_or(format!("`{pair}` is not RATE=ROWS"))?;
                    let (rate, rows) = (rate.parse::<f64>()?, rows.parse::<u64>()?);
                    parsed.rows.retain(|(r, _)| *r != rate);
                    parsed.rows.push((rate, rows));
                }
            }
            "--keep" => parsed.keep = Some(args.next().ok_or("--keep needs a directory")?.into()),
            "--only" => {
                let kind = args.next().filter(|k| k == "handlers" || k == "plain");
                parsed.only = Some(kind.ok_or("--only needs `handlers` or `plain`")?);
            }
            other => return Err(format!("unknown argument `{other}`").into()),
        }
    }
    Ok(parsed)
}

fn rows_for(args: &Args, rate: f64) -> u64 {
    args.rows.iter().find(|(r, _)| *r == rate).map_or(10_000, |(_, n)| *n)
}

fn main() -> elma_import_benches::BenchResult<()> {
    let args = parse_args()?;
    match args.mode.as_str() {
        "sim" => simulate(&args),
        "emulator" => emulate(&args),
        "latency" => latency(&args),
        "trace" => trace(&args),
        other => Err(format!("unknown mode `{other}`: say `sim`, `emulator`, `latency` or `trace`").into()),
    }
}

fn pacer() -> Pacer {
    Pacer::new(START, PauseMode::DEFAULT_MIN, PauseMode::DEFAULT_MAX)
}

fn simulate(args: &Args) -> elma_import_benches::BenchResult<()> {
    println!(
        "simulation (pace::sim), {} machine, {} runs a case (seeds 1–{}), imports at {IMPORT_ROWS_PER_SEC} rows/s, \
         {CHUNK}-row chunks, auto from {} s:\n",
        if args.busy { "a busy" } else { "a quiet" },
        args.runs,
        args.runs,
        START.as_secs()
    );
    print_header();
    for &rate in &args.rates {
        for &ms in &args.latencies {
            let rows = rows_for(args, rate);
            let runs: Vec<Measured> = (1..=args.runs as u64)
                .map(|seed| {
                    let noise = if args.busy { Noise::busy(seed) } else { Noise::quiet(seed) };
                    let case = Case::new(Platform::emulator(IMPORT_ROWS_PER_SEC, rate), rows, seed)
                        .over(Network::millis(ms, ms / 5.0))
                        .with_noise(noise);
                    let r = sim::run(&case, sim::Pacing::Auto(pacer()));
                    Measured {
                        wall_secs: r.wall_secs,
                        ideal_secs: r.ideal_secs,
                        peak_chunks: r.peak_queue / CHUNK as f64,
                        last_pause: Some(r.last_pause_secs()),
                    }
                })
                .collect();
            print_row(rate, ms, rows, &runs);
        }
    }
    Ok(())
}

fn trace(args: &Args) -> elma_import_benches::BenchResult<()> {
    let (rate, ms, seed) = (args.rates[0], args.latencies[0], args.runs as u64);
    let rows = rows_for(args, rate);
    let noise = if args.busy { Noise::busy(seed) } else { Noise::quiet(seed) };
    let case = Case::new(Platform::emulator(IMPORT_ROWS_PER_SEC, rate), rows, seed)
        .over(Network::millis(ms, ms / 5.0))
        .with_noise(noise);
    let r = sim::run(&case, sim::Pacing::Auto(pacer()));
    println!("| start | queue | busy | poll: rows, secs, done | verdict | backlog read | rate | pause | expected |");
    println!("|---|---|---|---|---|---|---|---|---|");
    for s in &r.steps {
        let (verdict, read, h) =
            s.decision.map_or(("–", 0.0, 0.0), |d| (d.verdict.as_str(), d.backlog, d.handler_rate));
        println!(
            "| {:.1} s | {:.0} | {:.2} s | {}, {:.3}, {} | {verdict} | {read:.0} | {h:.1}/s | {:.2} s | {:.2} s |",
            s.sent, s.backlog, s.busy_secs, s.poll.processed, s.poll.secs, s.poll.finished, s.pause_secs, s.expected_pause_secs
        );
    }
    println!(
        "\nwall {:.1} s = {:.3} × ideal {:.1} s, queue peak {:.2} chunks",
        r.wall_secs,
        r.ratio(),
        r.ideal_secs,
        r.peak_queue / CHUNK as f64
    );
    Ok(())
}

fn print_header() {
    println!("| handler rate | latency | rows | ideal | wall / ideal: min | median | max | queue peak (chunks): min | median | max | met |");
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
}

fn print_row(rate: f64, ms: f64, rows: u64, runs: &[Measured]) {
    let ratio = Stats::of(runs.iter().map(Measured::ratio));
    let peak = Stats::of(runs.iter().map(|m| m.peak_chunks));
    let ideal = Stats::of(runs.iter().map(|m| m.ideal_secs));
    let met = runs.iter().filter(|m| m.ratio() <= 1.25 && m.peak_chunks <= 1.5).count();
    println!(
        "| {rate} jobs/s | {ms} ms | {rows} | {:.0} s | {:.2}× | {:.2}× | {:.2}× | {:.2} | {:.2} | {:.2} | {met} of {} |",
        ideal.median,
        ratio.min,
        ratio.median,
        ratio.max,
        peak.min,
        peak.median,
        peak.max,
        runs.len()
    );
}

fn emulate(args: &Args) -> elma_import_benches::BenchResult<()> {
    println!(
        "emulator, the real runner with --pause auto from {} s (1 s..10 min), imports at {IMPORT_ROWS_PER_SEC} rows/s, \
         {CHUNK}-row chunks, one run at a time, {} runs a case:\n",
        START.as_secs(),
        args.runs
    );
    if let Some(dir) = &args.keep {
        std::fs::create_dir_all(dir)?;
    }
    print_header();
    for &rate in &args.rates {
        for &ms in &args.latencies {
            let rows = rows_for(args, rate);
            let mut runs = Vec::new();
            for run in 1..=args.runs {
                let case = EmuCase {
                    rows,
                    rows_per_chunk: Some(CHUNK),
                    import_rows_per_sec: IMPORT_ROWS_PER_SEC,
                    handler_rate: Some(rate),
                    latency: Duration::from_secs_f64(ms / 1000.0),
                    jitter: Duration::from_secs_f64(ms / 5000.0),
                    seed: run as u64,
                    auto: true,
                };
                let keep = args.keep.as_ref().map(|d| d.join(format!("auto-{rate}-{ms}ms-{run}")));
                let m = pace::run(&case, keep.as_deref())?;
                eprintln!(
                    "  {rate} jobs/s, {ms} ms, run {run}: wall {:.1} s = {:.3}× ideal {:.1} s, queue peak {:.2} chunks",
                    m.wall_secs,
                    m.ratio(),
                    m.ideal_secs,
                    m.peak_chunks
                );
                runs.push(m);
            }
            print_row(rate, ms, rows, &runs);
        }
    }
    Ok(())
}

fn latency(args: &Args) -> elma_import_benches::BenchResult<()> {
    println!(
        "latency: each API request delayed by the latency plus up to a fifth of it (jitter), {} runs a case, \
         one run at a time:\n",
        args.runs
    );
    println!("| run | latency | wall: min | median | max | over no latency (medians) |");
    println!("|---|---|---|---|---|---|");
    let kinds: [(&str, EmuCase); 2] = [
        (
            "10,000 rows, handlers at 100 jobs/s, --pause auto",
            EmuCase {
                rows: 10_000,
                rows_per_chunk: Some(CHUNK),
                import_rows_per_sec: IMPORT_ROWS_PER_SEC,
                handler_rate: Some(100.0),
                latency: Duration::ZERO,
                jitter: Duration::ZERO,
                seed: 0,
                auto: true,
            },
        ),
        (
            "200,000 rows, no handlers (the plan's chunks)",
            EmuCase {
                rows: 200_000,
                rows_per_chunk: None,
                import_rows_per_sec: IMPORT_ROWS_PER_SEC,
                handler_rate: None,
                latency: Duration::ZERO,
                jitter: Duration::ZERO,
                seed: 0,
                auto: false,
            },
        ),
    ];
    if let Some(dir) = &args.keep {
        std::fs::create_dir_all(dir)?;
    }
    let wanted = |base: &EmuCase| match args.only.as_deref() {
        Some("handlers") => base.auto,
        Some("plain") => !base.auto,
        _ => true,
    };
    for (label, base) in kinds.into_iter().filter(|(_, base)| wanted(base)) {
        let mut local: Option<f64> = None;
        for &ms in &args.latencies {
            let mut walls = Vec::new();
            for run in 1..=args.runs {
                let case = EmuCase {
                    latency: Duration::from_secs_f64(ms / 1000.0),
                    jitter: Duration::from_secs_f64(ms / 5000.0),
                    seed: run as u64,
                    ..base.clone()
                };
                let keep = args.keep.as_ref().map(|d| {
                    d.join(format!("latency-{}-{ms}ms-{run}", if base.auto { "handlers" } else { "plain" }))
                });
                let m = pace::run(&case, keep.as_deref())?;
                eprintln!("  {label}, {ms} ms, run {run}: wall {:.1} s", m.wall_secs);
                walls.push(m.wall_secs);
            }
            let s = Stats::of(walls.iter().copied());
            let base_median = *local.get_or_insert(s.median);
            println!(
                "| {label} | {ms} ms | {:.1} s | {:.1} s | {:.1} s | {:.3}× |",
                s.min,
                s.median,
                s.max,
                s.median / base_median
            );
        }
    }
    Ok(())
}
