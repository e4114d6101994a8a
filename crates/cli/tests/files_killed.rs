//! Every file `fix` and `validate` write is whole or as it was, however the command is
//! cut short. A seeded simulation draws the input, the command, which outputs already
//! exist, and when the process is killed (SIGKILL); each output is then absent (as it
//! was), its older content untouched, or exactly what an uncut run writes. What a kill
//! may leave besides is a hidden temporary file named after its target
//! (`.NAME.XXXXXX.tmp`), never a partial file under the target's name.
//! `FILES_SIM_SEEDS=N` runs more seeds (default 8).

#![allow(clippy::useless_vec)]

use crate::util;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use util::*;

fn tempdir() -> tempfile::TempDir {
    tempfile::Builder::new().prefix("elma-killed-").tempdir().expect("tempdir")
}

fn schema() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../templates/crm.contacts.schema.json")
        .display()
        .to_string()
}

/// What an output holds: a .csv's bytes, an .xlsx's cells (its bytes carry the time it
/// was written).
fn content(path: &Path) -> Option<String> {
    if !path.exists() {
        return None;
    }
    if path.extension().is_some_and(|e| e == "xlsx") {
        use calamine::Reader;
        let mut book = calamine::open_workbook_auto(path)
            .unwrap_or_else(|e| panic!("{} does not open: {e}", path.display()));
        let mut text = String::new();
        for name in book.sheet_names() {
            let range = book.worksheet_range(&name).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            text.push_str(&format!("[{name}]\n"));
            for row in range.rows() {
                text.push_str(&row.iter().map(|c| c.to_string()).collect::<Vec<_>>().join("\t"));
                text.push('\n');
            }
        }
        return Some(text);
    }
    Some(String::from_utf8_lossy(&std::fs::read(path).unwrap()).into_owned())
}

/// Names in `dir` that are none of `outputs` and not the input.
fn others(dir: &Path, outputs: &[&str]) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| {
            !outputs.contains(&n.as_str())
                && !["contacts.csv", ".config", ".ledger.jsonl"].contains(&n.as_str())
        })
        .collect();
    names.sort();
    names
}

#[test]
fn outputs_of_fix_and_validate_killed_at_random_are_whole_or_as_they_were() {
    let seeds: u64 = std::env::var("FILES_SIM_SEEDS").ok().and_then(|s| s.parse().ok()).unwrap_or(8);
    let (mut kills, mut changed_by_a_kill) = (0, 0);
    for seed in 0..seeds {
        let mut rng = StdRng::seed_from_u64(seed);
        let rows = rng.random_range(200..3_000u64);
        let bad = [0.0, 0.02, 0.1][rng.random_range(0..3)];
        let (args, outputs): (Vec<String>, Vec<&str>) = if rng.random_bool(0.5) {
            let out = if rng.random_bool(0.5) { "fixed.csv" } else { "fixed.xlsx" };
            (
                args!["fix", "contacts.csv", "--schema", schema(), "-o", out, "--changes", "changes.csv"],
                vec![out, "changes.csv"],
            )
        } else {
            let mut a = args!["validate", "contacts.csv", "--schema", schema(), "--errors", "errors.csv"];
            a.extend(args!["--valid-out", "valid.csv", "--rejects-out", "rejects.csv"]);
            let mut o = vec!["errors.csv", "valid.csv", "rejects.csv"];
            if rng.random_bool(0.5) {
                a.extend(args!["--annotated", "checked.xlsx"]);
                o.push("checked.xlsx");
            }
            (a, o)
        };
        let history = format!("seed {seed}: {rows} rows, {bad} bad: elma-import {}", args.join(" "));

        // What an uncut run writes.
        let reference = tempdir();
        sample(reference.path(), "contacts.csv", rows, bad, seed);
        let uncut = elma(reference.path(), &args);
        assert!(matches!(uncut.code, Some(0 | 1)), "{}\n{history}", uncut.describe());
        let whole: BTreeMap<&str, Option<String>> =
            outputs.iter().map(|o| (*o, content(&reference.path().join(o)))).collect();

        let tmp = tempdir();
        let d = tmp.path();
        sample(d, "contacts.csv", rows, bad, seed);
        // Older outputs, of another input, where the draw says so.
        let older = tempdir();
        sample(older.path(), "contacts.csv", 50, 0.2, seed + 1_000);
        elma(older.path(), &args);
        let mut before = BTreeMap::new();
        for o in &outputs {
            if rng.random_bool(0.5) {
                if let Ok(bytes) = std::fs::read(older.path().join(o)) {
                    std::fs::write(d.join(o), bytes).unwrap();
                }
            }
            before.insert(*o, content(&d.join(o)));
        }
        let kill_after = Duration::from_millis(rng.random_range(0..600));
        let (out, killed) = spawn(d, &args).wait_or_kill(kill_after);
        let history = format!(
            "{history}\n  {}",
            if killed { format!("killed after {kill_after:?}") } else { format!("ended {:?}", out.code) }
        );
        for o in &outputs {
            let now = content(&d.join(o));
            if killed {
                assert!(now == before[o] || now == whole[o], "{o} is neither as it was nor whole\n{history}");
                changed_by_a_kill += usize::from(now != before[o]);
            } else {
                assert_eq!(out.code, uncut.code, "{}\n{history}", out.describe());
                assert!(now == whole[o], "{o} is not what an uncut run writes\n{history}");
            }
        }
        for name in others(d, &outputs) {
            assert!(killed, "{name} left by a command that ended\n{history}");
            let temporary =
                outputs.iter().any(|o| name.starts_with(&format!(".{o}.")) && name.ends_with(".tmp"));
            assert!(temporary, "{name} left beside the outputs\n{history}");
        }
        kills += usize::from(killed);
    }
    eprintln!("{seeds} seeds: {kills} killed, {changed_by_a_kill} output(s) replaced whole before a kill");
}
