//! `split`'s output folder ends with one split's chunks and manifest, whatever came
//! before: earlier splits of other sizes, stems and formats, and splits killed (SIGKILL)
//! at random points. A seeded simulation draws the history; after the last split the
//! folder holds exactly the files its manifest lists, each whole, and their rows are the
//! input's once each. `SPLIT_SIM_SEEDS=N` runs more seeds (default 6).

#![allow(clippy::useless_vec)]

use crate::util;

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::Value;
use sha2::{Digest, Sha256};
use util::*;

fn tempdir() -> tempfile::TempDir {
    tempfile::Builder::new().prefix("elma-split-").tempdir().expect("tempdir")
}

/// The names in `dir`, sorted.
fn listing(dir: &Path) -> BTreeSet<String> {
    std::fs::read_dir(dir)
        .map(|entries| entries.map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect())
        .unwrap_or_default()
}

/// Each file in `dir` with its bytes, by name.
fn contents(dir: &Path) -> Vec<(String, Vec<u8>)> {
    listing(dir)
        .into_iter()
        .map(|n| {
            let bytes = std::fs::read(dir.join(&n)).unwrap();
            (n, bytes)
        })
        .collect()
}

/// Data rows of a chunk file (its header left out).
fn data_rows(path: &Path) -> u64 {
    if path.extension().is_some_and(|e| e == "xlsx") {
        use calamine::{DataType, Reader};
        let mut book =
            calamine::open_workbook_auto(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let range = book.worksheet_range_at(0).expect("a sheet").expect("readable");
        return range.rows().filter(|r| r.iter().any(|c| !c.is_empty())).count() as u64 - 1;
    }
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_path(path).expect("a chunk");
    reader.records().map(|r| r.expect("a record")).filter(|r| r.iter().any(|f| !f.is_empty())).count() as u64
}

/// Asserts `dir` holds the manifest and exactly the files it lists, each of the bytes and
/// hash it names, holding the input's `rows` data rows once each, in order.
#[track_caller]
fn assert_one_whole_split(dir: &Path, rows: u64, history: &str) {
    let manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("manifest.json")).expect("manifest"))
            .expect("manifest JSON");
    let chunks = manifest["chunks"].as_array().expect("chunks");
    let mut expected: BTreeSet<String> =
        chunks.iter().map(|c| c["file"].as_str().unwrap().to_string()).collect();
    expected.insert("manifest.json".into());
    assert_eq!(listing(dir), expected, "the folder holds one split\n{history}");
    let (mut next, mut total) = (2, 0);
    for c in chunks {
        let path = dir.join(c["file"].as_str().unwrap());
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(c["bytes"], bytes.len(), "{}\n{history}", path.display());
        assert_eq!(c["sha256"], hex::encode(Sha256::digest(&bytes)), "{}\n{history}", path.display());
        let n = data_rows(&path);
        assert_eq!(c["rows"], n, "{}\n{history}", path.display());
        assert_eq!(c["first_row"], next, "{c}\n{history}");
        next += n;
        total += n;
    }
    assert_eq!(total, rows, "every input row once\n{history}");
    assert_eq!(manifest["rows"], rows, "{history}");
}

#[test]
fn a_folder_split_again_after_splits_killed_at_random_holds_one_whole_split() {
    let seeds: u64 = std::env::var("SPLIT_SIM_SEEDS").ok().and_then(|s| s.parse().ok()).unwrap_or(6);
    for seed in 0..seeds {
        let mut rng = StdRng::seed_from_u64(seed);
        let tmp = tempdir();
        let d = tmp.path();
        let inputs = [
            ("orders.csv", rng.random_range(300..4_000u64)),
            ("contacts.csv", rng.random_range(300..4_000u64)),
        ];
        for (i, (name, rows)) in inputs.iter().enumerate() {
            sample(d, name, *rows, 0.0, seed * 2 + i as u64);
        }
        let mut history = format!("seed {seed}:");
        let attempts = rng.random_range(1..=4);
        for attempt in 0..=attempts {
            let (name, rows) = inputs[rng.random_range(0..inputs.len())];
            let per_chunk = [150u64, 400, 1_000, 2_500][rng.random_range(0..4)];
            let format = if rng.random_bool(0.25) { "xlsx" } else { "csv" };
            let args =
                args!["split", name, "-o", "out", "--rows-per-chunk", per_chunk, "--chunk-format", format];
            let last = attempt == attempts;
            if last {
                let out = elma(d, &args);
                history.push_str(&format!("\n  {} → {:?}", args.join(" "), out.code));
                assert_eq!(out.code, Some(0), "{}\n{history}", out.describe());
                assert_one_whole_split(&d.join("out"), rows, &history);
            } else {
                let kill_after = Duration::from_millis(rng.random_range(0..400));
                let (out, killed) = spawn(d, &args).wait_or_kill(kill_after);
                history.push_str(&format!(
                    "\n  {} → {}",
                    args.join(" "),
                    if killed { format!("killed after {kill_after:?}") } else { format!("{:?}", out.code) }
                ));
                if !killed {
                    assert_eq!(out.code, Some(0), "{}\n{history}", out.describe());
                    assert_one_whole_split(&d.join("out"), rows, &history);
                }
            }
        }
    }
}

#[test]
fn a_folder_holding_the_users_files_is_refused_and_left_as_it_was() {
    let tmp = tempdir();
    let d = tmp.path();
    sample(d, "contacts.csv", 1_200, 0.0, 5);
    elma(d, &args!["split", "contacts.csv", "-o", "out", "--rows-per-chunk", "500"]).expect_code(0);
    std::fs::write(d.join("out/notes.txt"), "mine").unwrap();
    let before = contents(&d.join("out"));
    let out = elma(d, &args!["--json", "split", "contacts.csv", "-o", "out", "--rows-per-chunk", "1000"]);
    out.expect_code(2);
    let error = out.json()["error"].as_str().unwrap_or_default().to_string();
    assert!(error.contains("notes.txt") && error.contains("`out`"), "{error}");
    let after = contents(&d.join("out"));
    assert_eq!(before, after, "nothing written or removed");
}

#[test]
fn a_split_with_fewer_chunks_removes_the_earlier_splits_and_says_so() {
    let tmp = tempdir();
    let d = tmp.path();
    sample(d, "contacts.csv", 2_000, 0.0, 9);
    elma(d, &args!["split", "contacts.csv", "-o", "out", "--rows-per-chunk", "200"]).expect_code(0);
    assert_eq!(listing(&d.join("out")).len(), 11);
    let out = elma(d, &args!["--json", "split", "contacts.csv", "-o", "out", "--rows-per-chunk", "1000"]);
    out.expect_code(0);
    let removed: Vec<String> =
        out.json()["removed"].as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_string()).collect();
    assert_eq!(removed, (3..=10).map(|i| format!("contacts-{i:05}.csv")).collect::<Vec<_>>());
    assert_one_whole_split(&d.join("out"), 2_000, "200 then 1,000 rows a chunk");
}

/// A run's `chunks/` holds a manifest as a split's folder does; a split there would
/// replace the chunks the run's journal counts on, so it is refused and nothing changes.
#[test]
fn a_runs_chunk_folder_is_refused() {
    let tmp = tempdir();
    let d = tmp.path();
    sample(d, "contacts.csv", 300, 0.0, 4);
    let run = d.join("runs/x");
    elma(d, &args!["split", "contacts.csv", "-o", "runs/x/chunks", "--rows-per-chunk", "100"]).expect_code(0);
    std::fs::write(run.join("run.json"), "{}").unwrap();
    let before = contents(&run.join("chunks"));
    for target in ["runs/x/chunks", "runs/x"] {
        let out = elma(d, &args!["split", "contacts.csv", "-o", target, "--rows-per-chunk", "50"]);
        out.expect_code(2).expect_stderr("is a run's folder");
        assert!(contents(&run.join("chunks")) == before, "{target}");
    }
}

/// A split that fails part way (a row that is not UTF-8, past the first chunks) leaves the
/// folder as it was: the earlier split whole, nothing of the failed one.
#[test]
fn a_split_that_fails_part_way_leaves_the_earlier_split_as_it_was() {
    let tmp = tempdir();
    let d = tmp.path();
    sample(d, "contacts.csv", 1_000, 0.0, 12);
    elma(d, &args!["split", "contacts.csv", "-o", "out", "--rows-per-chunk", "200"]).expect_code(0);
    let before = contents(&d.join("out"));
    // The same rows, changed, with a byte that is not UTF-8 near the end.
    let mut changed = std::fs::read(d.join("contacts.csv")).unwrap();
    for b in changed.iter_mut().skip(200) {
        if *b == b'@' {
            *b = b'#';
        }
    }
    let at = changed.len() - 200;
    changed.insert(at, 0xE9);
    std::fs::write(d.join("contacts.csv"), changed).unwrap();
    let out = elma(
        d,
        &args!["split", "contacts.csv", "-o", "out", "--rows-per-chunk", "100", "--encoding", "utf-8"],
    );
    out.expect_code(1);
    let after = contents(&d.join("out"));
    assert!(before == after, "the folder changed: {:?}", after.iter().map(|(n, _)| n).collect::<Vec<_>>());
}
