//! End-to-end tests: the real `elma-import` binary, in a temp dir, against emulator child
//! processes bound to 127.0.0.1:0 (docs/architecture.md, "A run").
//!
//! Each test checks what a user relies on through the app's items: every valid row of the
//! generated file landed exactly once with its values, invalid rows did not, and the exit
//! code is the documented one. Emulators run fast (high rows/s, short pauses) so the
//! suite stays within a few minutes on two cores; independent runs go in parallel threads.

// `args!` builds a Vec so argument lists can be extended; many are used as slices as they are.
#![allow(clippy::useless_vec)]

use crate::util;

use std::path::Path;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use util::*;

fn tempdir() -> tempfile::TempDir {
    tempfile::Builder::new().prefix("elma-e2e-").tempdir().expect("tempdir")
}

fn p(path: &Path) -> String {
    path.display().to_string()
}

/// A run of the sample into the demo app, with `extra` flags.
fn run_args(emu: &Emulator, sample: &Sample, run_dir: &Path, extra: &[String]) -> Vec<String> {
    let mut a = args!["--json", "run", p(&sample.path), "--app", APP, "--run-dir", p(run_dir)];
    a.extend(extra.iter().cloned());
    a.extend(conn(emu));
    a
}

fn resume_args(emu: &Emulator, run_dir: &Path, extra: &[String]) -> Vec<String> {
    let mut a = args!["--json", "resume", p(run_dir)];
    a.extend(extra.iter().cloned());
    a.extend(conn(emu));
    a
}

fn num(v: &Value, key: &str) -> u64 {
    v[key].as_u64().unwrap_or_else(|| panic!("no number `{key}` in {v}"))
}

// ---------------------------------------------------------------------------------------
// 1. Both plans.

#[test]
fn with_event_handlers_imports_1000_row_temporary_chunks_paced() {
    let tmp = tempdir();
    let s = sample(tmp.path(), "contacts.csv", 3_000, 0.01, 11);
    assert!(!s.info.planted.is_empty());
    let emu = Emulator::start(&args!["--rows-per-sec", "20000", "--handler-rate", "100000"]);
    let run_dir = tmp.path().join("run");
    let out = elma(
        tmp.path(),
        &run_args(&emu, &s, &run_dir, &args!["--with-event-handlers", "--pause", "200ms", "--skip-invalid"]),
    );
    // Invalid rows were left out: documented exit 1 ("data rejected"), not 0.
    out.expect_code(1);
    let summary = out.json();
    let plan = &summary["plan"];
    assert_eq!(plan["upload"], "temporary", "{}", out.describe());
    assert_eq!(num(plan, "rows_per_chunk"), 1000, "{}", out.describe());
    assert_eq!(num(&summary, "chunks"), 3, "{}", out.describe());
    assert_eq!(num(&summary, "rows_invalid"), s.info.planted.len() as u64);
    assert_eq!(num(&summary, "imported"), s.expected.len() as u64);
    assert_eq!(num(&summary, "failed"), 0);
    assert!(
        summary["paused_secs"].as_f64().unwrap_or(0.0) >= 0.39,
        "two pauses of 200ms: {}",
        out.describe()
    );
    let errors = std::fs::read_to_string(run_dir.join("errors.csv")).expect("errors.csv");
    for planted in &s.info.planted {
        assert!(
            errors.contains(&format!("\n{},", planted.row)),
            "errors.csv lacks row {}:\n{errors}",
            planted.row
        );
    }

    let counters = emu.counters();
    let imports = counters["imports"].as_array().expect("imports");
    assert_eq!(imports.len(), 3, "{counters}");
    for import in imports {
        assert_eq!(import["with_event_handlers"], true, "{import}");
        assert!(num(import, "total") <= 1000, "{import}");
    }
    assert_eq!(counters["requests"]["POST /disk/file/upload"].as_u64(), Some(3), "{counters}");
    for file in files_under(&run_dir) {
        let text = String::from_utf8_lossy(&std::fs::read(&file).unwrap_or_default()).into_owned();
        assert!(!text.contains(TOKEN), "the token is written in {}", file.display());
    }
    // Item 8: no two status polls of one import closer than 1 s.
    emu.assert_polls_spaced();
    assert_exactly_once(&s, &list_items(&emu.url, APP));
}

#[test]
fn without_handlers_over_50000_rows_go_to_a_directory_in_one_import() {
    let tmp = tempdir();
    let s = sample(tmp.path(), "big.csv", 50_500, 0.0005, 12);
    let emu = Emulator::start(&args!["--rows-per-sec", "0"]);
    let run_dir = tmp.path().join("run");
    let out = elma(
        tmp.path(),
        &run_args(
            &emu,
            &s,
            &run_dir,
            &args!["--directory", "e2e-dir-1", "--skip-invalid", "--chunk-format", "csv"],
        ),
    );
    out.expect_code(if s.info.planted.is_empty() { 0 } else { 1 });
    let summary = out.json();
    assert_eq!(summary["plan"]["upload"], "directory", "{}", out.describe());
    assert_eq!(num(&summary, "chunks"), 1, "{}", out.describe());
    assert_eq!(num(&summary, "imported"), s.expected.len() as u64, "{}", out.describe());
    let counters = emu.counters();
    assert_eq!(counters["imports"].as_array().map(Vec::len), Some(1), "{counters}");
    assert!(counters["requests"].get("POST /disk/file/upload").is_none(), "no temporary upload: {counters}");
    assert!(
        counters["requests"]["POST /disk/directory/{directory_id}/upload"].as_u64().unwrap_or(0) >= 2,
        "a file over 5 MiB goes in parts: {counters}"
    );
    assert_exactly_once(&s, &list_items(&emu.url, APP));
}

#[test]
fn rows_the_platform_rejects_are_listed_by_source_row_and_exit_1() {
    let tmp = tempdir();
    let s = sample(tmp.path(), "contacts.csv", 600, 0.05, 81);
    // The platform's app lost the option `VIP`: rows valid here fail there.
    let schema_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../templates/crm.contacts.schema.json");
    let mut server: Value =
        serde_json::from_str(&std::fs::read_to_string(&schema_path).expect("schema")).expect("json");
    for field in server["fields"].as_array_mut().expect("fields") {
        if field["code"] == "segment" {
            field["data"]["options"].as_array_mut().expect("options").retain(|o| o["code"] != "vip");
        }
    }
    let server_path = tmp.path().join("server.schema.json");
    std::fs::write(&server_path, server.to_string()).expect("write");
    let emu = Emulator::start(&args!["--rows-per-sec", "5000", "--app-schema", p(&server_path)]);

    let mut vip_rows = std::collections::BTreeSet::new();
    let mut reader = csv::Reader::from_path(&s.path).expect("csv");
    let headers = reader.headers().expect("header").clone();
    let (seg, email) = (
        headers.iter().position(|h| h == "Segment").expect("Segment"),
        headers.iter().position(|h| h == "Email").expect("Email"),
    );
    let mut expected = s.expected.clone();
    for (i, r) in reader.records().enumerate() {
        let r = r.expect("record");
        if r[seg] == *"VIP" && expected.remove(&r[email]).is_some() {
            vip_rows.insert(i as u64 + 2);
        }
    }
    assert!(!vip_rows.is_empty());

    let run_dir = tmp.path().join("run");
    let mut a = args!["--json", "run", p(&s.path), "--schema", p(&schema_path), "--run-dir", p(&run_dir)];
    a.extend(args!["--skip-invalid", "--rows-per-chunk", "200"]);
    a.extend(conn(&emu));
    let out = elma(tmp.path(), &a);
    out.expect_code(1);
    assert_eq!(num(&out.json(), "failed"), vip_rows.len() as u64, "{}", out.describe());
    let mut server_rows = std::collections::BTreeSet::new();
    let mut errors = csv::Reader::from_path(run_dir.join("errors.csv")).expect("errors.csv");
    for r in errors.records() {
        let r = r.expect("record");
        if &r[4] == "platform" && &r[7] == "platform" {
            server_rows.insert(r[0].parse::<u64>().expect("row"));
        }
    }
    assert_eq!(server_rows, vip_rows, "server rejections are listed by their source rows");
    let landed =
        Sample { path: s.path.clone(), info: s.info.clone(), expected, rejected: s.rejected.clone() };
    assert_exactly_once(&landed, &emu.items(APP));
}

// ---------------------------------------------------------------------------------------
// 2. Blocked by a foreign import.

#[test]
fn blocked_app_is_waited_out_and_the_run_succeeds() {
    let tmp = tempdir();
    let s = sample(tmp.path(), "contacts.csv", 300, 0.0, 21);
    let emu = Emulator::start(&args!["--rows-per-sec", "5000"]);
    emu.faults(json!({"block_app": APP, "block_secs": 3}));
    let out = elma(tmp.path(), &run_args(&emu, &s, &tmp.path().join("run"), &args!["--key-column", "Email"]));
    out.expect_code(0).expect_stderr("blocked by another import");
    let summary = out.json();
    assert!(num(&summary, "blocked_answers") >= 1, "{}", out.describe());
    assert!(summary["blocked_secs"].as_f64().unwrap_or(0.0) >= 2.0, "{}", out.describe());
    emu.assert_polls_spaced();
    assert_exactly_once(&s, &emu.items(APP));
}

#[test]
fn blocked_longer_than_the_timeout_exits_4_and_resume_finishes_exactly_once() {
    let tmp = tempdir();
    let s = sample(tmp.path(), "contacts.csv", 400, 0.0, 22);
    let emu = Emulator::start(&args!["--rows-per-sec", "5000"]);
    let run_dir = tmp.path().join("run");
    emu.faults(json!({"block_app": APP, "block_secs": 5}));
    let out = elma(
        tmp.path(),
        &run_args(&emu, &s, &run_dir, &args!["--rows-per-chunk", "200", "--blocked-timeout", "1500ms"]),
    );
    out.expect_code(4).expect_stderr("resume");
    assert_eq!(out.json()["exit_code"], 4, "--json names the exit code: {}", out.describe());
    assert!(emu.items(APP).is_empty(), "nothing may land while blocked");
    // Still blocked for a few seconds: resume waits it out (default --blocked-timeout).
    let out = elma(tmp.path(), &resume_args(&emu, &run_dir, &[]));
    out.expect_code(0);
    assert_eq!(num(&out.json(), "imported"), 400, "{}", out.describe());
    assert_exactly_once(&s, &emu.items(APP));
}

// ---------------------------------------------------------------------------------------
// 3. Temporary files expiring.

#[test]
fn a_temporary_file_older_than_its_safe_window_is_uploaded_again() {
    let tmp = tempdir();
    let s = sample(tmp.path(), "contacts.csv", 300, 0.0, 31);
    // Files live 2 s; the runner's safe window is then 1 s. A 3.5 s block makes the first
    // upload too old before the app frees up.
    let emu = Emulator::start(&args!["--rows-per-sec", "5000", "--temp-ttl", "2s"]);
    emu.faults(json!({"block_app": APP, "block_secs": 3.5}));
    let out = elma(
        tmp.path(),
        &run_args(
            &emu,
            &s,
            &tmp.path().join("run"),
            &args![
                "--rows-per-chunk",
                "150",
                "--with-event-handlers",
                "--pause",
                "200ms",
                "--temp-ttl",
                "2s"
            ],
        ),
    );
    out.expect_code(0).expect_stderr("older than the safe window");
    let counters = emu.counters();
    assert!(num(&counters["requests"], "POST /disk/file/upload") > 2, "re-uploads expected: {counters}");
    assert_eq!(counters["imports"].as_array().map(Vec::len), Some(2), "{counters}");
    assert_exactly_once(&s, &emu.items(APP));
}

#[test]
fn temporary_files_expiring_mid_import_lose_and_duplicate_nothing() {
    let tmp = tempdir();
    let s = sample(tmp.path(), "contacts.csv", 800, 0.0, 32);
    let emu = Emulator::start(&args!["--rows-per-sec", "400"]);
    let run_dir = tmp.path().join("run");
    let run = spawn(
        tmp.path(),
        &run_args(&emu, &s, &run_dir, &args!["--rows-per-chunk", "400", "--key-column", "Email"]),
    );
    // Expire every temporary file while the first import is half-way.
    let halfway = wait_until(Duration::from_secs(20), || {
        emu.counters()["imports"]
            .as_array()
            .and_then(|a| a.first().cloned())
            .is_some_and(|i| num(&i, "processed") >= 100)
    });
    assert!(halfway, "the first import never got going: {}", emu.counters());
    emu.faults(json!({"expire_temp_files": true}));
    // The run notices the failed import and sends the rows that did not land again.
    let out = run.wait();
    out.expect_code(0);
    assert!(num(&out.json(), "uploads") > 2, "expired files are uploaded again: {}", out.describe());
    assert_exactly_once(&s, &emu.items(APP));
}

// ---------------------------------------------------------------------------------------
// 4. Fault profiles over several seeds.

/// One run of 600 rows in 3 chunks against an emulator with `profile` and `seed`; resumes
/// while it stops on a network failure. Returns the faults injected.
fn faulty_run(profile: Value, seed: u64, extra: &[String], check_polls: bool) -> Faulty {
    let tmp = tempdir();
    let s = sample(tmp.path(), "contacts.csv", 600, 0.0, 400 + seed);
    let emu = Emulator::start(&args!["--rows-per-sec", "5000", "--seed", seed, "--faults", profile]);
    let run_dir = tmp.path().join("run");
    let mut a = args!["--rows-per-chunk", "200", "--key-column", "Email"];
    a.extend(extra.iter().cloned());
    let mut out = elma(tmp.path(), &run_args(&emu, &s, &run_dir, &a));
    let mut history = out.describe();
    let mut resumes = 0;
    // A failure that outlasts the retries stops the run (exit 3); resume continues it.
    while out.code == Some(3) && resumes < 5 {
        resumes += 1;
        out = elma(tmp.path(), &resume_args(&emu, &run_dir, extra));
        history.push_str(&out.describe());
    }
    assert_eq!(out.code, Some(0), "profile {profile} seed {seed}:\n{history}");
    let items = emu.items(APP);
    let counters = emu.counters();
    std::panic::catch_unwind(|| assert_exactly_once(&s, &items)).unwrap_or_else(|_| {
        panic!("profile {profile} seed {seed}: not exactly once\n{history}\ncounters: {counters}")
    });
    // Only within one process: a resume knows nothing of the polls of the run it continues;
    // and only when there were polls (every chunk may have been settled by look-ups).
    if check_polls && resumes == 0 && counters["polls"].as_object().is_some_and(|p| !p.is_empty()) {
        emu.assert_polls_spaced();
    }
    let faults = counters["faults"].as_object().map_or(0, |f| f.values().filter_map(Value::as_u64).sum());
    let summary = out.json();
    let settled = summary["settled_chunks"].as_u64().unwrap_or(0);
    eprintln!("profile {profile} seed {seed}: {faults} faults, {resumes} resumes, {settled} settled chunks");
    // Regression (settled_chunks_counted_zero): chunks settled through the key column
    // counted 0 imported rows and were listed in errors.csv as rejected at row 0.
    assert_eq!(num(&summary, "imported"), 600, "profile {profile} seed {seed}:\n{history}");
    let errors = std::fs::read_to_string(run_dir.join("errors.csv")).unwrap_or_default();
    assert_eq!(errors.lines().count(), 1, "profile {profile} seed {seed}: errors.csv lists rows:\n{errors}");
    Faulty { faults, settled }
}

/// What one faulty run went through.
struct Faulty {
    faults: u64,
    settled: u64,
}

fn over_seeds(profile: Value, seeds: &[u64], extra: &[String], check_polls: bool) -> u64 {
    let runs: Vec<Faulty> = std::thread::scope(|scope| {
        let handles: Vec<_> = seeds
            .iter()
            .map(|&seed| {
                let profile = profile.clone();
                scope.spawn(move || faulty_run(profile, seed, extra, check_polls))
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e))).collect()
    });
    let injected: u64 = runs.iter().map(|r| r.faults).sum();
    assert!(injected > 0, "profile {profile}: no fault was injected over seeds {seeds:?}");
    runs.iter().map(|r| r.settled).sum()
}

#[test]
fn faults_http_500_are_retried_exactly_once() {
    over_seeds(json!({"http_500": 0.3}), &[1, 2, 3], &[], true);
}

#[test]
fn faults_http_503_with_retry_after_are_retried_exactly_once() {
    over_seeds(json!({"http_503": 0.3, "retry_after_secs": 1}), &[1, 2], &[], true);
}

#[test]
fn faults_http_429_with_retry_after_are_retried_exactly_once() {
    over_seeds(json!({"http_429": 0.3, "retry_after_secs": 1}), &[1, 2], &[], true);
}

#[test]
fn faults_dropped_before_processing_are_retried_exactly_once() {
    over_seeds(json!({"drop_before": 0.3}), &[1, 2, 3], &[], true);
}

#[test]
fn faults_dropped_after_processing_are_settled_exactly_once() {
    over_seeds(json!({"drop_after": 0.3}), &[1, 2, 3], &[], true);
}

#[test]
fn lost_start_answers_are_settled_through_the_key_column() {
    // Every start answer may be lost: each chunk is uncertain and settled by the items.
    let settled = over_seeds(
        json!({"drop_after": 0.6, "routes": ["POST /app/{namespace}/{code}/import"]}),
        &[1, 2, 3],
        &[],
        true,
    );
    assert!(settled > 0, "no chunk was settled through the key column");
}

#[test]
fn faults_slow_answers_past_the_timeout_are_exactly_once() {
    over_seeds(json!({"slow": 0.25, "slow_ms": 1500}), &[1, 2], &args!["--timeout", "1s"], false);
}

#[test]
fn a_lost_start_answer_without_key_column_is_settled_by_content_exactly_once() {
    // Before: without --key-column it exited 5, and the user's guess either doubled or
    // lost the rows. Now each row is looked up by its whole content.
    let tmp = tempdir();
    let s = sample(tmp.path(), "contacts.csv", 200, 0.0, 45);
    let emu = Emulator::start(&args!["--rows-per-sec", "5000"]);
    emu.faults(json!({"drop_after": 1.0, "routes": ["POST /app/{namespace}/{code}/import"]}));
    let run_dir = tmp.path().join("run");
    // Date-time cells read in the emulator's zone, so whole rows compare equal.
    let out = elma(tmp.path(), &run_args(&emu, &s, &run_dir, &args!["--time-zone", "+03:00"]));
    out.expect_code(0).expect_stderr("by content, 200 row(s) are in the app");
    assert_eq!(num(&out.json(), "settled_chunks"), 1, "{}", out.describe());
    assert_eq!(num(&out.json(), "imported"), 200, "{}", out.describe());
    assert_exactly_once(&s, &emu.items(APP));
    // A finished run resumed says so and sends nothing (no connection settings needed).
    let out = elma(tmp.path(), &args!["resume", p(&run_dir)]);
    out.expect_code(0).expect_stderr("already finished");
}

#[test]
fn a_lost_start_is_settled_by_content_although_the_platform_reads_date_times_in_another_zone() {
    // The machine reads the file's date-times in UTC, the platform in +03:00: the items
    // hold other instants than the run meant, but the same clock readings. Before, no row
    // was found by content and the run stopped (or, after a partial import, sent rows
    // again); a zone difference must not break the matching, and is reported.
    let tmp = tempdir();
    let s = sample(tmp.path(), "contacts.csv", 200, 0.0, 46);
    let emu = Emulator::start(&args!["--rows-per-sec", "5000"]);
    emu.faults(json!({"drop_after": 1.0, "routes": ["POST /app/{namespace}/{code}/import"]}));
    let run_dir = tmp.path().join("run");
    let out = elma(tmp.path(), &run_args(&emu, &s, &run_dir, &args!["--time-zone", "+00:00"]));
    out.expect_code(0).expect_stderr("by content, 200 row(s) are in the app");
    out.expect_stderr("the platform stores date-times at +03:00");
    assert_eq!(num(&out.json(), "imported"), 200, "{}", out.describe());
    assert_exactly_once(&s, &emu.items(APP));
}

#[test]
fn a_second_process_on_a_run_directory_exits_2_naming_the_holder_and_nothing_is_doubled() {
    // Regression: two resumes of one run at once imported the remaining rows twice, and
    // both exited 0.
    let tmp = tempdir();
    let s = sample(tmp.path(), "contacts.csv", 600, 0.0, 57);
    let emu = Emulator::start(&args!["--rows-per-sec", "600"]);
    let run_dir = tmp.path().join("run");
    let run = spawn(tmp.path(), &run_args(&emu, &s, &run_dir, &args!["--rows-per-chunk", "200"]));
    assert!(
        wait_until(Duration::from_secs(20), || !emu.counters()["imports"]
            .as_array()
            .is_none_or(Vec::is_empty)),
        "no import started"
    );
    let pid = run.child.id().to_string();
    let out = elma(tmp.path(), &resume_args(&emu, &run_dir, &[]));
    out.expect_code(2).expect_stderr(&format!("in use by another elma-import process (pid {pid})"));
    run.wait().expect_code(0);
    assert_exactly_once(&s, &emu.items(APP));
}

// ---------------------------------------------------------------------------------------
// 5. kill -9 of the runner at random points, then resume.

fn killed_and_resumed(seed: u64) {
    let mut rng = StdRng::seed_from_u64(seed);
    let tmp = tempdir();
    let s = sample(tmp.path(), "contacts.csv", 1_000, 0.0, 500 + seed);
    let emu = Emulator::start(&args!["--rows-per-sec", "600"]);
    if seed % 2 == 0 {
        // Slow starts widen the window between "start sent" and its answer, so some kills
        // leave a chunk uncertain, to be settled through the key column on resume.
        emu.faults(json!({"slow": 1.0, "slow_ms": 700, "routes": ["POST /app/{namespace}/{code}/import"]}));
    }
    let run_dir = tmp.path().join("run");
    let mut history = String::new();
    let mut kills = 0;
    let mut started = false;
    loop {
        let a = if started || run_dir.join("run.json").exists() {
            started = true;
            resume_args(&emu, &run_dir, &[])
        } else {
            run_args(&emu, &s, &run_dir, &args!["--rows-per-chunk", "200", "--key-column", "Email"])
        };
        let child = spawn(tmp.path(), &a);
        let out = if kills < 4 {
            let wait = Duration::from_millis(rng.random_range(100..=1500));
            let (out, killed) = child.wait_or_kill(wait);
            if killed {
                kills += 1;
                history.push_str(&format!("\n[killed after {wait:?}]\n"));
            }
            out
        } else {
            child.wait()
        };
        history.push_str(&out.describe());
        if out.code == Some(0) {
            assert_eq!(num(&out.json(), "imported"), 1000, "seed {seed}:\n{history}");
            break;
        }
        assert!(
            out.code.is_none() || kills >= 4,
            "seed {seed}: a run stopped on its own with a failure:\n{history}"
        );
        assert!(history.len() < 2_000_000 && kills <= 4, "seed {seed}: no end in sight:\n{history}");
    }
    let items = emu.items(APP);
    std::panic::catch_unwind(|| assert_exactly_once(&s, &items))
        .unwrap_or_else(|_| panic!("seed {seed}: not exactly once after {kills} kills\n{history}"));
    let journal = std::fs::read_to_string(run_dir.join("journal.jsonl")).unwrap_or_default();
    eprintln!(
        "seed {seed}: {kills} kills; journal: {} lines, {} starts sent, {} chunks settled",
        journal.lines().count(),
        journal.matches("\"start_sent\"").count(),
        journal.matches("\"resolved\"").count()
    );
}

#[test]
fn killed_runs_resume_to_exactly_once() {
    std::thread::scope(|scope| {
        let handles: Vec<_> = (1u64..=6).map(|seed| scope.spawn(move || killed_and_resumed(seed))).collect();
        for h in handles {
            h.join().unwrap_or_else(|e| std::panic::resume_unwind(e));
        }
    });
}

#[test]
fn ctrl_c_stops_at_a_safe_point_with_exit_130_and_resume_finishes() {
    let tmp = tempdir();
    let s = sample(tmp.path(), "contacts.csv", 600, 0.0, 55);
    let emu = Emulator::start(&args!["--rows-per-sec", "600"]);
    let run_dir = tmp.path().join("run");
    let run = spawn(
        tmp.path(),
        &run_args(&emu, &s, &run_dir, &args!["--rows-per-chunk", "200", "--key-column", "Email"]),
    );
    assert!(
        wait_until(Duration::from_secs(20), || !emu.counters()["imports"]
            .as_array()
            .is_none_or(Vec::is_empty)),
        "no import started"
    );
    let pid = run.child.id().to_string();
    let kill = std::process::Command::new("kill").args(["-INT", &pid]).status().expect("kill -INT");
    assert!(kill.success());
    let out = run.wait();
    out.expect_code(130).expect_stderr("resume");
    let out = elma(tmp.path(), &resume_args(&emu, &run_dir, &[]));
    out.expect_code(0);
    assert_exactly_once(&s, &emu.items(APP));
}

// ---------------------------------------------------------------------------------------
// 6. The emulator restarting mid-run.

fn restart_setup(tmp: &Path) -> (Sample, Vec<String>) {
    let s = sample(tmp, "contacts.csv", 900, 0.0, 61);
    let data = tmp.join("emulator-data");
    (s, args!["--rows-per-sec", "300", "--data-dir", p(&data)])
}

fn wait_for_second_import(emu: &Emulator) {
    let ok = wait_until(Duration::from_secs(30), || {
        emu.counters()["imports"]
            .as_array()
            .and_then(|a| a.get(1).cloned())
            .is_some_and(|i| i["status"] == "in_progress" && num(&i, "processed") > 0)
    });
    assert!(ok, "the second import never ran: {}", emu.counters());
}

#[test]
fn emulator_restart_mid_import_then_resume_is_exactly_once() {
    let tmp = tempdir();
    let (s, emu_args) = restart_setup(tmp.path());
    let mut emu = Emulator::start(&emu_args);
    let run_dir = tmp.path().join("run");
    let run = spawn(
        tmp.path(),
        &run_args(
            &emu,
            &s,
            &run_dir,
            &args!["--rows-per-chunk", "300", "--key-column", "Email", "--retries", "1"],
        ),
    );
    wait_for_second_import(&emu);
    emu.kill();
    let out = run.wait();
    out.expect_code(3);
    let emu = Emulator::start_at(&emu.addr.to_string(), &emu_args);
    let out = elma(tmp.path(), &resume_args(&emu, &run_dir, &[]));
    out.expect_code(0);
    assert_eq!(num(&out.json(), "imported"), 900, "{}", out.describe());
    assert_exactly_once(&s, &emu.items(APP));
}

#[test]
fn emulator_restart_while_the_run_retries_is_exactly_once() {
    let tmp = tempdir();
    let (s, emu_args) = restart_setup(tmp.path());
    let mut emu = Emulator::start(&emu_args);
    let run_dir = tmp.path().join("run");
    let run = spawn(
        tmp.path(),
        &run_args(&emu, &s, &run_dir, &args!["--rows-per-chunk", "300", "--key-column", "Email"]),
    );
    wait_for_second_import(&emu);
    emu.kill();
    std::thread::sleep(Duration::from_millis(300));
    let emu = Emulator::start_at(&emu.addr.to_string(), &emu_args);
    let out = run.wait();
    out.expect_code(0);
    assert_eq!(num(&out.json(), "imported"), 900, "{}", out.describe());
    assert_exactly_once(&s, &emu.items(APP));
}

// ---------------------------------------------------------------------------------------
// 7. Configuration and connection failures.

const WRONG_TOKEN: &str = "wrong-token-8d3e1f";

#[test]
fn a_refused_token_exits_2_and_is_never_shown_or_saved() {
    let tmp = tempdir();
    let s = sample(tmp.path(), "contacts.csv", 50, 0.0, 71);
    let emu = Emulator::start(&[]);
    let schema = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../templates/crm.contacts.schema.json");
    for (how, run_dir) in [("--app", tmp.path().join("run-app")), ("--schema", tmp.path().join("run-schema"))]
    {
        let mut a =
            args!["run", p(&s.path), "--run-dir", p(&run_dir), "--url", emu.url, "--token", WRONG_TOKEN];
        if how == "--app" {
            a.extend(args!["--app", APP]);
        } else {
            a.extend(args!["--schema", p(&schema)]);
        }
        let out = elma(tmp.path(), &a);
        out.expect_code(2).expect_stderr("403").expect_stderr("token");
        assert!(!out.stdout.contains(WRONG_TOKEN) && !out.stderr.contains(WRONG_TOKEN), "{}", out.describe());
        for file in files_under(&run_dir) {
            let bytes = std::fs::read(&file).unwrap_or_default();
            assert!(
                !String::from_utf8_lossy(&bytes).contains(WRONG_TOKEN),
                "the token is written in {}",
                file.display()
            );
        }
    }
    assert!(
        tmp.path().join("run-schema/run.json").exists(),
        "the --schema run got as far as its run directory"
    );
    assert!(emu.items(APP).is_empty());
}

#[test]
fn an_unknown_app_exits_2_naming_it() {
    let tmp = tempdir();
    let s = sample(tmp.path(), "contacts.csv", 20, 0.0, 72);
    let emu = Emulator::start(&[]);
    let mut a = args!["run", p(&s.path), "--app", "crm.nope"];
    a.extend(conn(&emu));
    let out = elma(tmp.path(), &a);
    out.expect_code(2).expect_stderr("crm.nope").expect_stderr("404");
}

#[test]
fn an_unreachable_server_exits_3_after_retries() {
    let tmp = tempdir();
    let s = sample(tmp.path(), "contacts.csv", 20, 0.0, 73);
    let port = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
    let url = format!("http://127.0.0.1:{port}/pub/v1");
    let schema = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../templates/crm.contacts.schema.json");
    for source in
        [args!["--app", APP], args!["--schema", p(&schema), "--run-dir", p(&tmp.path().join("run"))]]
    {
        let mut a = args!["run", p(&s.path), "--url", url, "--token", TOKEN, "--retries", "1"];
        a.extend(source);
        let out = elma(tmp.path(), &a);
        out.expect_code(3).expect_stderr(&format!("127.0.0.1:{port}")).expect_stderr("2 tries");
    }
}

// ---------------------------------------------------------------------------------------
// 9. The manual steps and the fields fetched from the platform.

#[test]
fn upload_start_and_status_by_hand_import_a_chunk_once() {
    let tmp = tempdir();
    let s = sample(tmp.path(), "contacts.csv", 300, 0.0, 21);
    let emu = Emulator::start(&args!["--rows-per-sec", "20000"]);
    // A chunk file as `split` writes it.
    elma(tmp.path(), &args!["split", p(&s.path), "-o", "chunks", "--rows", "1000", "--format", "xlsx"])
        .expect_code(0);
    let chunk = tmp.path().join("chunks").join("contacts-00001.xlsx");
    assert!(chunk.is_file(), "no chunk at {}", chunk.display());

    let mut a = args!["--json", "upload", p(&chunk)];
    a.extend(conn(&emu));
    let up = elma(tmp.path(), &a);
    up.expect_code(0);
    let up = up.json();
    let hash = up["hash"].as_str().expect("hash").to_string();
    assert_eq!(up["target"], "temporary");

    let mut a = args!["--json", "start", "--app", APP, "--hash", hash.clone(), "--format", "xlsx", "--wait"];
    a.extend(conn(&emu));
    let started = elma(tmp.path(), &a);
    started.expect_code(0);
    let result = started.json();
    assert_eq!(result["status"], "done", "{}", started.describe());
    assert_eq!(num(&result, "imported"), 300);
    let id = result["id"].as_str().expect("import id").to_string();

    // A separate `status` right after `start --wait` still keeps a second from its last
    // poll: the spacing check below would catch it otherwise.
    let mut a = args!["--json", "status", "--app", APP, "--id", id];
    a.extend(conn(&emu));
    let status = elma(tmp.path(), &a);
    status.expect_code(0);
    assert_eq!(status.json()["imported"], 300);
    assert_exactly_once(&s, &emu.items(APP));
    emu.assert_polls_spaced();

    // Starting the same hash again is the user's own choice; a second, concurrent start
    // of another file while one runs answers `blocked` with exit 4.
    let slow = Emulator::start(&args!["--rows-per-sec", "50"]);
    let mut a = args!["--json", "upload", p(&chunk)];
    a.extend(conn(&slow));
    let h1 = elma(tmp.path(), &a).json()["hash"].as_str().expect("hash").to_string();
    let h2 = elma(tmp.path(), &a).json()["hash"].as_str().expect("hash").to_string();
    let mut first = args!["start", "--app", APP, "--hash", h1];
    first.extend(conn(&slow));
    elma(tmp.path(), &first).expect_code(0);
    let mut second = args!["--json", "start", "--app", APP, "--hash", h2];
    second.extend(conn(&slow));
    let blocked = elma(tmp.path(), &second);
    blocked.expect_code(4);
    assert_eq!(blocked.json()["status"], "blocked", "{}", blocked.describe());
}

#[test]
fn schema_and_template_from_the_platform_match_the_offline_ones() {
    let tmp = tempdir();
    let emu = Emulator::start(&[]);
    let mut a = args!["schema", "--app", APP, "-o", "fetched.schema.json"];
    a.extend(conn(&emu));
    elma(tmp.path(), &a).expect_code(0);
    let fetched: Value = serde_json::from_str(
        &std::fs::read_to_string(tmp.path().join("fetched.schema.json")).expect("schema"),
    )
    .expect("json");
    let offline = serde_json::to_value(contacts()).expect("json");
    assert_eq!(fetched, offline, "the fetched schema is the app's");

    // The template built from the platform's fields is the offline one, cell for cell.
    let mut a = args!["template", "--app", APP, "-o", "from-app.csv"];
    a.extend(conn(&emu));
    elma(tmp.path(), &a).expect_code(0);
    let schema_file = tmp.path().join("fetched.schema.json");
    elma(tmp.path(), &args!["template", "--schema", p(&schema_file), "-o", "from-file.csv"]).expect_code(0);
    assert_eq!(
        std::fs::read(tmp.path().join("from-app.csv")).expect("read"),
        std::fs::read(tmp.path().join("from-file.csv")).expect("read")
    );

    // validate --app reads the fields from the platform too.
    let s = sample(tmp.path(), "c.csv", 200, 0.05, 3);
    let mut a = args!["--json", "validate", p(&s.path), "--app", APP];
    a.extend(conn(&emu));
    let out = elma(tmp.path(), &a);
    out.expect_code(if s.info.planted.is_empty() { 0 } else { 1 });
    assert_eq!(num(&out.json(), "errors"), s.info.planted.len() as u64, "{}", out.describe());
}

#[test]
fn a_cell_too_long_for_an_xlsx_chunk_stops_the_run_before_anything_is_sent() {
    let tmp = tempdir();
    let huge = "x".repeat(40_000);
    std::fs::write(tmp.path().join("c.csv"), format!("Name,Comment\nAnna,short\nBoris,{huge}\n"))
        .expect("write");
    let schema = tmp.path().join("s.json");
    std::fs::write(&schema, serde_json::to_string(&contacts()).expect("json")).expect("write");
    // Nothing listens on the port: preparation must stop the run before any request.
    let base =
        args!["run", "c.csv", "--schema", p(&schema), "--url", "http://127.0.0.1:9/pub/v1", "--token", "t"];
    let mut a = base.clone();
    a.extend(args!["--run-dir", "run-xlsx"]);
    let out = elma(tmp.path(), &a);
    out.expect_code(1).expect_stderr("1 of 2 rows are invalid, so nothing was sent");
    let errors = std::fs::read_to_string(tmp.path().join("run-xlsx").join("errors.csv")).expect("errors");
    assert!(errors.contains("3,B,Comment,") && errors.contains("too_long_for_xlsx"), "{errors}");
    assert!(errors.contains(".csv chunks"), "{errors}");
    // As .csv chunks the cell is fine: the run gets as far as the (absent) server.
    let mut a = base;
    a.extend(args!["--run-dir", "run-csv", "--chunk-format", "csv", "--retries", "0"]);
    elma(tmp.path(), &a).expect_code(3);
}

/// An .xlsx's date cells sent as .csv chunks: the platform reads a .csv's dates only
/// the locale's way, so the chunks carry `06.05.1990 07:08`, not the cell's ISO text; a
/// date-time with seconds, which that text cannot hold, stops the run before anything is
/// sent, naming the cell.
#[test]
fn an_xlsx_s_date_cells_land_when_sent_as_csv_chunks() {
    use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};
    /// Name, e-mail, and a date-time: year, month, day, hour, minute, second.
    type Contact<'a> = (&'a str, &'a str, (u16, u8, u8, u16, u8, u8));
    let tmp = tempdir();
    let write = |name: &str, rows: &[Contact]| {
        let mut book = Workbook::new();
        let sheet = book.add_worksheet();
        let date = Format::new().set_num_format("dd.mm.yyyy hh:mm:ss");
        for (c, h) in ["Name", "Email", "Birth date"].iter().enumerate() {
            sheet.write_string(0, c as u16, *h).expect("header");
        }
        for (r, (name, email, (y, mo, d, h, mi, s))) in rows.iter().enumerate() {
            let r = r as u32 + 1;
            sheet.write_string(r, 0, *name).expect("name");
            sheet.write_string(r, 1, *email).expect("email");
            let at = ExcelDateTime::from_ymd(*y, *mo, *d).and_then(|t| t.and_hms(*h, *mi, *s)).expect("date");
            sheet.write_datetime_with_format(r, 2, &at, &date).expect("date cell");
        }
        book.save(tmp.path().join(name)).expect("save");
    };
    write(
        "ok.xlsx",
        &[
            ("Anna", "anna@example.com", (1990, 5, 6, 7, 8, 0)),
            ("Boris", "boris@example.com", (1991, 5, 6, 0, 0, 0)),
        ],
    );
    let emu = Emulator::start(&[]);
    let mut a =
        args!["run", "ok.xlsx", "--app", APP, "--chunk-format", "csv", "--run-dir", "run-ok", "--json"];
    a.extend(conn(&emu));
    let out = elma(tmp.path(), &a);
    out.expect_code(0);
    let chunk = std::fs::read_to_string(tmp.path().join("run-ok/chunks/chunk-00001.csv")).expect("chunk");
    assert!(chunk.contains("06.05.1990 07:08") && chunk.contains("06.05.1991\n"), "{chunk}");
    let items = emu.items(APP);
    let birth = |email: &str| {
        items.iter().find(|i| i["email"][0]["email"] == email).map(|i| i["birth_date"].to_string())
    };
    assert!(birth("anna@example.com").is_some_and(|b| b.contains("1990-05-06T07:08:00")), "{items:?}");
    assert!(birth("boris@example.com").is_some_and(|b| b.contains("1991-05-06T00:00:00")), "{items:?}");

    write("seconds.xlsx", &[("Vera", "vera@example.com", (1992, 1, 2, 3, 4, 5))]);
    let mut a = args!["run", "seconds.xlsx", "--app", APP, "--chunk-format", "csv", "--run-dir", "run-s"];
    a.extend(conn(&emu));
    elma(tmp.path(), &a).expect_code(1).expect_stderr("nothing was sent");
    let errors = std::fs::read_to_string(tmp.path().join("run-s/errors.csv")).expect("errors");
    assert!(errors.contains("2,C,Birth date,") && errors.contains("has seconds"), "{errors}");
    assert_eq!(emu.items(APP).len(), 2, "nothing more was sent");
}
