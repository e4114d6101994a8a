//! The simulation's invariant over 200 seeds (runs and migrations with seeded bad luck),
//! on two threads. A failing seed is named with the command that replays it.

#[test]
fn two_hundred_unlucky_worlds_lose_double_and_claim_nothing() {
    let seeds: Vec<u64> = (0..200).collect();
    let halves: Vec<Vec<u64>> = seeds.chunks(100).map(<[u64]>::to_vec).collect();
    let workers: Vec<_> = halves
        .into_iter()
        .map(|seeds| {
            std::thread::spawn(move || {
                seeds.into_iter().map(elma_import_sim::seed).filter(|o| !o.passed()).collect::<Vec<_>>()
            })
        })
        .collect();
    let failed: Vec<elma_import_sim::Outcome> = workers.into_iter().flat_map(|w| w.join().unwrap()).collect();
    let report: Vec<String> = failed
        .iter()
        .map(|o| {
            format!(
                "seed {} ({:?}, {}): {}\n  replay: cargo run --release -p elma-import-sim -- --seed {} --verbose",
                o.seed,
                o.kind,
                o.end,
                o.violations.join("; "),
                o.seed
            )
        })
        .collect();
    assert!(failed.is_empty(), "{} seed(s) broke the invariant:\n{}", failed.len(), report.join("\n"));
}
