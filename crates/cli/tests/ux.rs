//! What a user meets around the core (issue 8): `--json` on every outcome, runs that can
//! be listed and resumed as printed, guards against importing junk or the same file
//! twice, one errors.csv layout, and workbooks worth opening.

#![allow(clippy::useless_vec)]

mod util;

use std::path::Path;

use serde_json::Value;
use util::*;

fn tempdir() -> tempfile::TempDir {
    tempfile::Builder::new().prefix("elma-ux-").tempdir().expect("tempdir")
}

fn p(path: &Path) -> String {
    path.display().to_string()
}

fn schema_path() -> String {
    p(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../../templates/crm.contacts.schema.json"))
}

/// Asserts stdout is exactly one JSON object describing a failure with `code`.
#[track_caller]
fn failure_json(out: &Output, code: i32) -> Value {
    out.expect_code(code);
    assert_eq!(out.stdout.trim().lines().count(), 1, "one line of JSON\n{}", out.describe());
    let v = out.json();
    assert_eq!(v["exit_code"].as_i64(), Some(i64::from(code)), "{}", out.describe());
    assert!(v["error"].as_str().is_some_and(|e| !e.is_empty()), "{}", out.describe());
    v
}

// ---------------------------------------------------------------------------------------
// --json on failures before any work starts.

#[test]
fn json_failures_before_work_starts_are_one_object_on_stdout() {
    let tmp = tempdir();
    // A missing input file.
    let out = elma(tmp.path(), &args!["validate", "nope.csv", "--schema", schema_path(), "--json"]);
    let v = failure_json(&out, 2);
    assert!(v["error"].as_str().unwrap().contains("nope.csv"), "{}", out.describe());
    assert!(v.get("run_dir").is_none(), "no run directory exists yet: {v}");

    // No token for a run.
    let s = sample(tmp.path(), "contacts.csv", 5, 0.0, 1);
    let out = elma(
        tmp.path(),
        &args!["--json", "run", p(&s.path), "--app", APP, "--url", "http://127.0.0.1:9/pub/v1"],
    );
    let v = failure_json(&out, 2);
    assert!(v["error"].as_str().unwrap().contains("no token"), "{}", out.describe());

    // A flag clap refuses, with --json anywhere on the line.
    let out =
        elma(tmp.path(), &args!["plan", p(&s.path), "--schema", schema_path(), "--pause", "soon", "--json"]);
    let v = failure_json(&out, 2);
    assert!(v["error"].as_str().unwrap().contains("soon"), "{}", out.describe());
}

#[test]
fn json_failure_for_an_unknown_app_names_it() {
    let tmp = tempdir();
    let s = sample(tmp.path(), "contacts.csv", 5, 0.0, 2);
    let emu = Emulator::start(&[]);
    let mut a = args!["--json", "run", p(&s.path), "--app", "crm.nope"];
    a.extend(conn(&emu));
    let out = elma(tmp.path(), &a);
    let v = failure_json(&out, 2);
    assert!(v["error"].as_str().unwrap().contains("crm.nope"), "{}", out.describe());
}

#[test]
fn plan_writes_its_report_to_stdout_and_takes_a_bare_number_of_seconds_as_pause() {
    let tmp = tempdir();
    let s = sample(tmp.path(), "contacts.csv", 2_500, 0.0, 3);
    let out = elma(
        tmp.path(),
        &args!["plan", p(&s.path), "--schema", schema_path(), "--with-event-handlers", "--pause", "5"],
    );
    out.expect_code(0);
    assert!(out.stdout.contains("3 chunk(s)"), "{}", out.describe());
    assert!(out.stdout.contains("pause 5.0s"), "{}", out.describe());
    assert!(out.stdout.contains("because"), "{}", out.describe());
}

#[test]
fn completions_are_printed_for_bash_zsh_and_fish() {
    let tmp = tempdir();
    for (shell, marker) in
        [("bash", "complete -F"), ("zsh", "#compdef elma-import"), ("fish", "complete -c elma-import")]
    {
        let out = elma(tmp.path(), &args!["completions", shell]);
        out.expect_code(0);
        assert!(out.stdout.contains(marker), "{shell}\n{}", out.describe());
        assert!(out.stdout.contains("resume"), "{shell}\n{}", out.describe());
    }
}

// ---------------------------------------------------------------------------------------
// Runs you can come back to.

#[test]
fn a_run_stopped_early_resumes_as_printed_with_the_token_from_the_environment() {
    let tmp = tempdir();
    let s = sample(tmp.path(), "contacts.csv", 40, 0.0, 4);
    let emu = Emulator::start(&args!["--rows-per-sec", "20000", "--handler-rate", "100000"]);
    // The first run stops before anything lands: nothing listens at its URL.
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let dead_url = format!("http://127.0.0.1:{dead}/pub/v1");
    let run_dir = tmp.path().join(".elma-import/runs/first");
    let schema = schema_path();
    let out = elma(
        tmp.path(),
        &args![
            "--json",
            "run",
            p(&s.path),
            "--schema",
            schema,
            "--run-dir",
            p(&run_dir),
            "--url",
            dead_url,
            "--token",
            TOKEN,
            "--retries",
            "0"
        ],
    );
    let v = failure_json(&out, 3);
    assert_eq!(v["run_dir"].as_str(), Some(p(&run_dir).as_str()), "{}", out.describe());
    let spec: Value =
        serde_json::from_str(&std::fs::read_to_string(run_dir.join("run.json")).unwrap()).unwrap();
    assert_eq!(spec["url"].as_str(), Some(dead_url.as_str()));
    assert!(
        !std::fs::read_to_string(run_dir.join("run.json")).unwrap().contains(TOKEN),
        "the token is never saved"
    );

    // `runs` lists it as unfinished.
    let out = elma(tmp.path(), &args!["runs", "--json"]);
    out.expect_code(0);
    let runs = out.json()["runs"].as_array().cloned().unwrap_or_default();
    assert_eq!(runs.len(), 1, "{}", out.describe());
    assert_eq!(runs[0]["status"], "unfinished");
    assert_eq!(runs[0]["app"], APP);

    // The server moved: rewrite the kept URL the way a user would fix a typo, then
    // `resume --last` with the token only in the environment.
    let mut spec = spec;
    spec["url"] = Value::String(emu.url.clone());
    std::fs::write(run_dir.join("run.json"), serde_json::to_string_pretty(&spec).unwrap()).unwrap();
    let mut cmd = command(tmp.path(), &args!["--json", "resume", "--last"]);
    cmd.env("ELMA365_TOKEN", TOKEN);
    let o = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "{stdout}\n{}", String::from_utf8_lossy(&o.stderr));
    let v: Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(v["imported"].as_u64(), Some(40));
    assert_eq!(emu.items(APP).len(), 40);

    let out = elma(tmp.path(), &args!["runs", "--json"]);
    assert_eq!(out.json()["runs"][0]["status"], "completed", "{}", out.describe());
    let out = elma(tmp.path(), &args!["--json", "resume", "--last", "--token", TOKEN]);
    let v = failure_json(&out, 2);
    assert!(v["error"].as_str().unwrap().contains("no unfinished run"), "{}", out.describe());
}

#[test]
fn the_same_file_into_the_same_app_is_refused_naming_the_earlier_run_unless_again() {
    let tmp = tempdir();
    let s = sample(tmp.path(), "contacts.csv", 30, 0.0, 5);
    let emu = Emulator::start(&args!["--rows-per-sec", "20000", "--handler-rate", "100000"]);
    let run = |dir: &str, extra: &[&str]| {
        let mut a = args!["--json", "run", p(&s.path), "--app", APP, "--run-dir", p(&tmp.path().join(dir))];
        a.extend(extra.iter().map(|x| x.to_string()));
        a.extend(conn(&emu));
        elma(tmp.path(), &a)
    };
    run("runs/first", &[]).expect_code(0);
    let out = run("runs/second", &[]);
    let v = failure_json(&out, 2);
    let e = v["error"].as_str().unwrap();
    assert!(e.contains("first") && e.contains("--again"), "{}", out.describe());
    assert_eq!(emu.items(APP).len(), 30, "nothing sent the second time");
    assert!(!tmp.path().join("runs/second").exists(), "no run directory for a refused run");

    run("runs/third", &["--again"]).expect_code(0);
    assert_eq!(emu.items(APP).len(), 60);
}
