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

/// Seeds that long runs (`sim --seeds 50000`) once found breaking the invariant, each
/// with what broke: kept as regressions. A seed names a world only while the world's
/// draws stay as they are (`World::of`); after a change there, find such seeds anew.
#[test]
fn the_seeds_that_once_broke_it_hold() {
    let once_broken: [(u64, &str); 16] = [
        (1922, "a row stored reworded, not found by content, sent again"),
        (2655, "the same"),
        (7006, "the same"),
        (7647, "the same"),
        (9986, "the same"),
        (10723, "the same"),
        (11040, "the same, six rows"),
        (12581, "the same"),
        (13922, "the same"),
        (18660, "the same"),
        (16959, "--pause auto: the journal's floats read back a bit off, the replay differed"),
        (18694, "the same"),
        (34526, "a migration stopped on a network failure reading the parents"),
        (44549, "the same file run again needed a directory before the ledger could refuse it"),
        (6419, "text columns only: a row stored reworded, not found by content, sent again"),
        (17410, "the same"),
    ];
    for (seed, what) in once_broken {
        let o = elma_import_sim::seed(seed);
        assert!(o.passed(), "seed {seed} ({what}) breaks it again: {}", o.violations.join("; "));
    }
}
