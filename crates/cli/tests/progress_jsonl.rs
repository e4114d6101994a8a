//! `--progress jsonl` as an API (docs/progress-jsonl.md): real runs and a real migration
//! against emulator child processes, every line of their stderr checked against
//! docs/progress.schema.json, and the stream's promises checked on top: exactly one
//! `end`, last, whose `exit_code` is the process's exit status and whose totals are the
//! `--json` outcome's; no line twice in a row; `t` never going back; each run event in
//! its place (`paced` right before its chunk's `chunk_finished`).

#![allow(clippy::useless_vec)]

use crate::util;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::Stdio;
use std::sync::mpsc;
use std::time::Duration;

use serde_json::Value;
use util::*;

fn tempdir() -> tempfile::TempDir {
    tempfile::Builder::new().prefix("elma-progress-").tempdir().expect("tempdir")
}

fn p(path: &Path) -> String {
    path.display().to_string()
}

/// The schema of one line of the stream.
fn schema() -> jsonschema::Validator {
    let text = include_str!("../../../docs/progress.schema.json");
    let schema: Value = serde_json::from_str(text).expect("docs/progress.schema.json is JSON");
    jsonschema::draft202012::new(&schema).expect("docs/progress.schema.json is a valid schema")
}

/// Every line of a command's stderr, each checked against the schema, and the stream's
/// promises checked: one `end`, last, with the process's exit code; no line twice in a
/// row; `t` never going back.
#[track_caller]
fn stream(out: &Output) -> Vec<Value> {
    let schema = schema();
    let mut events = Vec::new();
    let mut previous: Option<&str> = None;
    for line in out.stderr.lines() {
        let v: Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("a line of stderr is not JSON ({e}): {line}\n{}", out.describe()));
        let errors: Vec<String> =
            schema.iter_errors(&v).map(|e| format!("{e} at {}", e.instance_path())).collect();
        assert!(errors.is_empty(), "{line}\ndoes not fit the schema: {errors:#?}\n{}", out.describe());
        assert_ne!(previous, Some(line), "the same line twice in a row\n{}", out.describe());
        previous = Some(line);
        events.push(v);
    }
    let ends: Vec<usize> =
        events.iter().enumerate().filter(|(_, e)| e["event"] == "end").map(|(i, _)| i).collect();
    assert_eq!(ends, vec![events.len() - 1], "exactly one `end`, the last line\n{}", out.describe());
    let end = &events[events.len() - 1];
    assert_eq!(
        end["exit_code"].as_i64(),
        out.code.map(i64::from),
        "`end` tells the exit status\n{}",
        out.describe()
    );
    let times: Vec<f64> = events.iter().map(|e| e["t"].as_f64().unwrap()).collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "`t` goes back: {times:?}");
    events
}

fn named<'a>(events: &'a [Value], event: &str) -> Vec<&'a Value> {
    events.iter().filter(|e| e["event"] == event).collect()
}

/// The `end` line's totals equal these fields of the `--json` outcome.
#[track_caller]
fn assert_totals_match(end: &Value, outcome: &Value, fields: &[&str]) {
    for f in fields {
        assert_eq!(end["totals"][f], outcome[f], "`end` totals.{f} vs --json {f}: {end} / {outcome}");
    }
}

#[test]
fn a_paced_run_streams_valid_lines_and_ends_with_its_totals() {
    let tmp = tempdir();
    let s = sample(tmp.path(), "contacts.csv", 600, 0.02, 5);
    let emu = Emulator::start(&args!["--rows-per-sec", "2000", "--handler-rate", "400"]);
    let run_dir = tmp.path().join("run");
    let mut a = args!["run", p(&s.path), "--app", APP, "--run-dir", p(&run_dir), "--skip-invalid"];
    a.extend(args![
        "--with-event-handlers",
        "--rows-per-chunk",
        "200",
        "--pause",
        "auto",
        "--min-pause",
        "0.3"
    ]);
    a.extend(args!["--progress", "jsonl", "--json"]);
    a.extend(conn(&emu));
    let out = elma(tmp.path(), &a);
    out.expect_code(1); // The planted bad rows were left out.
    let events = stream(&out);
    let summary = out.json();

    for event in ["preparing", "chunking", "planned", "started", "importing", "paced", "pausing", "completed"]
    {
        assert!(!named(&events, event).is_empty(), "no `{event}`\n{}", out.describe());
    }
    // Every upload is an event, those made while the chunk before imports included.
    let uploads = named(&events, "uploading");
    let chunks = summary["chunks"].as_u64().unwrap();
    assert!(chunks >= 3, "{summary}");
    let mut uploaded: Vec<u64> = uploads.iter().map(|u| u["chunk"].as_u64().unwrap()).collect();
    uploaded.sort_unstable();
    uploaded.dedup();
    assert_eq!(uploaded, (1..=chunks).collect::<Vec<_>>(), "{}", out.describe());
    assert!(uploads.iter().any(|u| u["ahead_of"].is_number()), "no upload ahead\n{}", out.describe());
    // Byte progress is not repeated.
    for kind in ["preparing", "chunking"] {
        let done: Vec<&Value> = named(&events, kind).iter().map(|e| &e["bytes_done"]).collect();
        assert!(done.windows(2).all(|w| w[0] != w[1]), "`{kind}` repeats: {done:?}");
    }
    // Each decision comes right before the finished chunk it judged, whose ETA counts it.
    for (i, e) in events.iter().enumerate().filter(|(_, e)| e["event"] == "paced") {
        let next = &events[i + 1];
        assert_eq!((&next["event"], &next["chunk"]), (&Value::from("chunk_finished"), &e["chunk"]), "{e}");
    }
    let finished = named(&events, "chunk_finished");
    assert_eq!(finished.len() as u64, chunks);
    assert!(finished.iter().all(|f| f["eta_secs"].is_number() && f["rows_per_sec"].is_number()));
    // The running totals add up the finished chunks.
    let last = finished.last().unwrap();
    assert_eq!(last["totals"]["rows_done"], summary["rows_sent"], "{last}");
    assert_eq!(last["totals"]["imported"], summary["imported"], "{last}");

    let end = events.last().unwrap();
    assert_eq!(end["kind"], "run");
    assert_eq!(end["status"], "completed");
    assert_eq!(end["dir"].as_str(), Some(p(&run_dir).as_str()));
    assert_eq!(end["error"], summary["error"], "the same sentence as --json's");
    assert_totals_match(
        end,
        &summary,
        &["rows_read", "rows_valid", "rows_invalid", "imported", "failed", "not_imported"],
    );
    assert_eq!(end["totals"]["in_flight"], 0);
}

#[test]
fn a_run_that_stays_blocked_ends_with_blocked_and_its_code() {
    let tmp = tempdir();
    let s = sample(tmp.path(), "contacts.csv", 150, 0.0, 6);
    let emu = Emulator::start(&args!["--block-app", APP, "--block-secs", "600"]);
    let run_dir = tmp.path().join("run");
    let mut a = args!["run", p(&s.path), "--app", APP, "--run-dir", p(&run_dir), "--blocked-timeout", "3s"];
    a.extend(args!["--progress", "jsonl", "--json"]);
    a.extend(conn(&emu));
    let out = elma(tmp.path(), &a);
    out.expect_code(4);
    let events = stream(&out);
    let blocked = named(&events, "blocked");
    assert!(!blocked.is_empty(), "{}", out.describe());
    assert!(blocked.iter().all(|b| b["limit_secs"] == 3.0 && b["chunk"] == 1), "{blocked:?}");
    let end = events.last().unwrap();
    assert_eq!((end["status"].as_str(), end["kind"].as_str()), (Some("blocked"), Some("run")), "{end}");
    assert_eq!(end["dir"].as_str(), Some(p(&run_dir).as_str()));
    assert_eq!(end["totals"]["rows_read"], 150);
    assert_eq!(end["totals"]["imported"], 0);
    let outcome = out.json();
    assert_eq!(outcome["exit_code"], 4);
    assert_eq!(end["error"], outcome["error"], "the same sentence as --json's");
    assert_eq!(end["hints"], outcome["hints"]);
    assert_eq!(outcome["in_flight"], 0);
}

#[test]
fn an_interrupted_run_ends_with_the_rows_still_importing() {
    let tmp = tempdir();
    let s = sample(tmp.path(), "contacts.csv", 400, 0.0, 7);
    // 200-row imports at 50 rows/s: four seconds each.
    let emu = Emulator::start(&args!["--rows-per-sec", "50"]);
    let run_dir = tmp.path().join("run");
    let mut a = args!["run", p(&s.path), "--app", APP, "--run-dir", p(&run_dir), "--rows-per-chunk", "200"];
    a.extend(args!["--progress", "jsonl", "--json"]);
    a.extend(conn(&emu));
    let mut child =
        command(tmp.path(), &a).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("spawn");
    let stdout = child.stdout.take().unwrap();
    let stdout = std::thread::spawn(move || std::io::read_to_string(stdout).unwrap_or_default());
    let (tx, rx) = mpsc::channel();
    let stderr = BufReader::new(child.stderr.take().unwrap());
    let reader = std::thread::spawn(move || {
        let mut all = String::new();
        for line in stderr.lines().map_while(Result::ok) {
            let _ = tx.send(line.clone());
            all.push_str(&line);
            all.push('\n');
        }
        all
    });
    // Ctrl-C once the second import has started (the first one finished).
    let started = rx.iter().filter(|l| l.contains(r#""event":"started""#)).nth(1).is_some();
    assert!(started, "no second import started");
    std::thread::sleep(Duration::from_millis(500));
    let kill = std::process::Command::new("kill").args(["-INT", &child.id().to_string()]).status();
    assert!(kill.is_ok_and(|s| s.success()));
    let status = child.wait().expect("wait");
    let out = Output {
        cmdline: format!("elma-import {}", a.join(" ")),
        code: status.code(),
        stdout: stdout.join().unwrap(),
        stderr: reader.join().unwrap(),
    };
    out.expect_code(130);
    let events = stream(&out);
    let end = events.last().unwrap();
    assert_eq!(end["status"], "interrupted", "{end}");
    assert_eq!(end["totals"]["in_flight"], 200, "the chunk importing when Ctrl-C came: {end}");
    assert_eq!(end["totals"]["imported"], 200, "the first chunk: {end}");
    let outcome = out.json();
    assert_eq!(outcome["exit_code"], 130);
    assert_eq!(outcome["in_flight"], 200, "{outcome}");
    assert_eq!(outcome["run_dir"], end["dir"]);

    // The resume polls the import still running; its running totals count the chunk
    // finished before, and its stream ends with the whole run.
    let mut a = args!["resume", p(&run_dir), "--progress", "jsonl", "--json"];
    a.extend(conn(&emu));
    let out = elma(tmp.path(), &a);
    out.expect_code(0);
    let events = stream(&out);
    let summary = out.json();
    let end = events.last().unwrap();
    assert_eq!(
        (end["status"].as_str(), end["totals"]["in_flight"].as_u64()),
        (Some("completed"), Some(0)),
        "{end}"
    );
    assert_totals_match(
        end,
        &summary,
        &["rows_read", "rows_valid", "rows_invalid", "imported", "failed", "not_imported"],
    );
    assert_eq!(named(&events, "planned")[0]["already_imported"], 200);
    let last = named(&events, "chunk_finished").last().copied().cloned().unwrap();
    assert_eq!(last["totals"], serde_json::json!({"rows_done": 400, "imported": 400, "failed": 0}), "{last}");
}

/// A two-step migration: 20 companies, then `contacts` contacts naming them by INN, with
/// event handlers, in chunks of 150.
fn migration(dir: &Path, contacts: u64) -> std::path::PathBuf {
    let inn = |n: u64| format!("77{:08}", 1_000 + n * 7);
    let mut w = csv::Writer::from_path(dir.join("companies.csv")).unwrap();
    w.write_record(["Name", "INN", "City"]).unwrap();
    for n in 0..20 {
        w.write_record([format!("Company {n}"), inn(n), "Kazan".into()]).unwrap();
    }
    w.flush().unwrap();
    let raw = sample(dir, "contacts.raw.csv", contacts, 0.0, 8);
    let mut r = csv::Reader::from_path(&raw.path).unwrap();
    let header = r.headers().unwrap().clone();
    let company = header.iter().position(|h| h == "Company").unwrap();
    let mut w = csv::Writer::from_path(dir.join("contacts.csv")).unwrap();
    w.write_record(&header).unwrap();
    for (i, record) in r.records().enumerate() {
        let record = record.unwrap();
        let cells: Vec<String> = record
            .iter()
            .enumerate()
            .map(|(c, v)| if c == company { inn(i as u64 % 20) } else { v.into() })
            .collect();
        w.write_record(&cells).unwrap();
    }
    w.flush().unwrap();
    let toml = dir.join("migration.toml");
    std::fs::write(
        &toml,
        r#"[[step]]
file = "companies.csv"
app = "crm.companies"
key = "INN"

[[step]]
file = "contacts.csv"
app = "crm.contacts"
key = "Email"
with_event_handlers = true
rows_per_chunk = 150
references = { Company = { app = "crm.companies", by = "INN" } }
"#,
    )
    .unwrap();
    toml
}

#[test]
fn a_migration_streams_its_steps_and_their_runs() {
    let tmp = tempdir();
    let toml = migration(tmp.path(), 300);
    let emu = Emulator::start(&args!["--rows-per-sec", "2000", "--handler-rate", "400"]);
    let dir = tmp.path().join("mig");
    let mut a =
        args!["migrate", p(&toml), "--run-dir", p(&dir), "--pause", "0.5", "--progress", "jsonl", "--json"];
    a.extend(conn(&emu));
    let out = elma(tmp.path(), &a);
    out.expect_code(0);
    let events = stream(&out);
    let report = out.json();

    let of_step =
        |step: u64, event: &str| events.iter().filter(|e| e["step"] == step && e["event"] == event).count();
    assert_eq!(of_step(2, "step_waiting"), 1, "contacts wait for the companies\n{}", out.describe());
    for event in ["step_resolving", "step_resolved", "step_written"] {
        assert_eq!(of_step(2, event), 1, "{event}\n{}", out.describe());
    }
    for step in [1, 2] {
        assert_eq!(of_step(step, "step_running"), 1, "step {step}");
        assert_eq!(of_step(step, "planned"), 1, "step {step}");
        assert_eq!(of_step(step, "step_done"), 1, "step {step}");
    }
    assert_eq!(of_step(2, "chunk_finished"), 2);
    assert!(of_step(2, "pausing") >= 1);
    // Every run event names its step and app.
    let apps = [(1, "crm.companies"), (2, "crm.contacts")];
    for e in events.iter().filter(|e| e["chunk"].is_number() || e["event"] == "planned") {
        let step = e["step"].as_u64().unwrap_or_else(|| panic!("a run event without its step: {e}"));
        assert_eq!(e["app"], apps[step as usize - 1].1, "{e}");
    }
    // The companies were done before the contacts' references were resolved.
    let at = |step: u64, event: &str| {
        events.iter().position(|e| e["step"] == step && e["event"] == event).unwrap()
    };
    assert!(at(1, "step_done") < at(2, "step_resolving"));

    let end = events.last().unwrap();
    assert_eq!(
        (end["kind"].as_str(), end["status"].as_str()),
        (Some("migration"), Some("completed")),
        "{end}"
    );
    assert_eq!(end["dir"], report["dir"]);
    assert!(end.get("error").is_none(), "{end}");
    assert_totals_match(end, &report, &["rows_read", "rows_invalid", "imported", "failed", "not_imported"]);
    assert_eq!(end["totals"]["rows_valid"], 320);
    assert_eq!(report["imported"], 320);
}

#[test]
fn a_failure_before_the_run_directory_still_ends_the_stream() {
    let tmp = tempdir();
    let emu = Emulator::start(&[]);
    let mut a =
        args!["run", p(&tmp.path().join("missing.csv")), "--app", APP, "--progress", "jsonl", "--json"];
    a.extend(conn(&emu));
    let out = elma(tmp.path(), &a);
    assert_ne!(out.code, Some(0), "{}", out.describe());
    let events = stream(&out);
    let end = events.last().unwrap();
    assert_eq!((end["kind"].as_str(), end["dir"].is_null()), (Some("run"), true), "{end}");
    assert_eq!(end["error"], out.json()["error"], "{end}");
}

#[test]
fn the_schema_refuses_lines_the_stream_must_not_hold() {
    let schema = schema();
    let totals = serde_json::json!({"rows_done": 0, "imported": 0, "failed": 0});
    let good = serde_json::json!({"event": "started", "chunk": 1, "import_id": "x", "t": 1.0,
        "chunks": 3, "eta_secs": 4.5, "totals": totals});
    assert!(schema.is_valid(&good));
    let end = serde_json::json!({"event": "end", "t": 2.0, "kind": "run", "dir": null, "status": "data",
        "exit_code": 1, "error": "2 rows rejected", "totals": {"rows_read": 3, "rows_valid": 1,
        "rows_invalid": 2, "imported": 1, "failed": 0, "not_imported": 0, "in_flight": 0}});
    assert!(schema.is_valid(&end));
    let with = |base: &Value, key: &str, value: Value| {
        let mut v = base.clone();
        v[key] = value;
        v
    };
    let without = |base: &Value, key: &str| {
        let mut v = base.clone();
        v.as_object_mut().unwrap().remove(key);
        v
    };
    for (bad, why) in [
        (with(&good, "event", "starting".into()), "an unknown event"),
        (with(&good, "extra", 1.into()), "a field the schema does not name"),
        (without(&good, "eta_secs"), "a planned run's event without its time left"),
        (without(&good, "t"), "no time"),
        (with(&good, "chunk", 0.into()), "chunks count from 1"),
        (with(&good, "step", 2.into()), "a step without its app"),
        (without(&end, "error"), "a non-zero end without its sentence"),
        (with(&end, "exit_code", 7.into()), "an exit code the tool never uses"),
        (with(&end, "chunks", 3.into()), "run context on the end line"),
    ] {
        assert!(!schema.is_valid(&bad), "the schema takes {why}: {bad}");
    }
}

#[test]
fn a_refused_run_ends_with_the_rows_it_read_and_refused() {
    let tmp = tempdir();
    let s = sample(tmp.path(), "contacts.csv", 200, 0.05, 9);
    let emu = Emulator::start(&[]);
    let run_dir = tmp.path().join("run");
    let mut a =
        args!["run", p(&s.path), "--app", APP, "--run-dir", p(&run_dir), "--progress", "jsonl", "--json"];
    a.extend(conn(&emu));
    let out = elma(tmp.path(), &a);
    out.expect_code(1);
    let events = stream(&out);
    let end = events.last().unwrap();
    let invalid = s.rejected.len() as u64;
    assert!(invalid > 0);
    assert_eq!(
        (end["status"].as_str(), end["dir"].as_str()),
        (Some("data"), Some(p(&run_dir).as_str())),
        "{end}"
    );
    let t = &end["totals"];
    assert_eq!((t["rows_read"].as_u64(), t["rows_invalid"].as_u64()), (Some(200), Some(invalid)), "{end}");
    assert_eq!(t["imported"], 0);
    assert_eq!(end["error"], out.json()["error"]);
    assert!(named(&events, "uploading").is_empty(), "nothing is sent");
}
