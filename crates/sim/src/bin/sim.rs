//! `sim`: runs seeds of the simulation and prints the one command that replays a failing
//! seed.
//!
//! ```text
//! cargo run --release -p elma-import-sim -- --seeds 10000            # seeds 0..10000
//! cargo run --release -p elma-import-sim -- --seeds 500 --start 7000 --jobs 2
//! cargo run --release -p elma-import-sim -- --seed 4711 --verbose    # one seed, step by step
//! ```

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let value = |name: &str| {
        args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).and_then(|v| v.parse::<u64>().ok())
    };
    let verbose = args.iter().any(|a| a == "--verbose");
    if args.iter().any(|a| a == "--help" || a == "-h") {
        eprintln!("usage: sim [--seeds N] [--start S] [--jobs J] | --seed S [--verbose]");
        eprintln!("SIM_KEEP=1 keeps each seed's folder (run directories, journals) under /dev/shm");
        return std::process::ExitCode::SUCCESS;
    }
    if let Some(seed) = value("--seed") {
        let outcome = elma_import_sim::run(&elma_import_sim::World::of(seed), true);
        println!(
            "seed {seed}: {:?}, {} execution(s), {} crash(es), {}",
            outcome.kind, outcome.executions, outcome.crashes, outcome.end
        );
        for violation in &outcome.violations {
            println!("  VIOLATION: {violation}");
        }
        return if outcome.passed() {
            std::process::ExitCode::SUCCESS
        } else {
            std::process::ExitCode::FAILURE
        };
    }
    let count = value("--seeds").unwrap_or(1000);
    let start = value("--start").unwrap_or(0);
    let jobs = value("--jobs").unwrap_or(2).max(1);
    let next = Arc::new(AtomicU64::new(start));
    let failed = Arc::new(Mutex::new(Vec::new()));
    let tally: Arc<Mutex<std::collections::BTreeMap<String, u64>>> = Arc::default();
    let passed = Arc::new(AtomicU64::new(0));
    let began = std::time::Instant::now();
    let workers: Vec<_> = (0..jobs)
        .map(|_| {
            let (next, failed, passed, tally) = (next.clone(), failed.clone(), passed.clone(), tally.clone());
            std::thread::spawn(move || loop {
                let seed = next.fetch_add(1, Ordering::SeqCst);
                if seed >= start + count {
                    return;
                }
                let outcome = elma_import_sim::run(&elma_import_sim::World::of(seed), verbose);
                {
                    let mut t = tally.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                    for (k, n) in &outcome.events {
                        *t.entry(k.clone()).or_default() += u64::from(*n);
                    }
                    *t.entry("(crashes)".into()).or_default() += u64::from(outcome.crashes);
                    *t.entry(format!(
                        "(end) {:?}: {}",
                        outcome.kind,
                        outcome.end.split(':').next().unwrap_or_default()
                    ))
                    .or_default() += 1;
                }
                if outcome.passed() {
                    passed.fetch_add(1, Ordering::SeqCst);
                } else {
                    eprintln!("seed {seed} FAILED: {}", outcome.violations.join("; "));
                    failed.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(seed);
                }
            })
        })
        .collect();
    for w in workers {
        let _ = w.join();
    }
    let mut failed = failed.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone();
    failed.sort_unstable();
    println!(
        "{} of {count} seeds passed ({start}..{}) in {:.0} s",
        passed.load(Ordering::SeqCst),
        start + count,
        began.elapsed().as_secs_f64()
    );
    if verbose || std::env::var_os("SIM_STATS").is_some() {
        for (k, n) in tally.lock().unwrap_or_else(std::sync::PoisonError::into_inner).iter() {
            println!("  {n:>8}  {k}");
        }
    }
    for seed in &failed {
        println!("  replay: cargo run --release -p elma-import-sim -- --seed {seed} --verbose");
    }
    if failed.is_empty() {
        std::process::ExitCode::SUCCESS
    } else {
        std::process::ExitCode::FAILURE
    }
}
