//! The `--json` contract (docs/json.md), over every command: stdout holds exactly one
//! JSON object; its `exit_code` is the process's exit status; a non-zero outcome carries
//! an `error` sentence, a zero one none. Each command is run to success and to at least
//! one failure; the list of commands is read from `--help`, so a new command without a
//! case here fails the test.

#![allow(clippy::useless_vec)]

use crate::util;

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::Stdio;

use serde_json::Value;
use util::*;

fn tempdir() -> tempfile::TempDir {
    tempfile::Builder::new().prefix("elma-json-").tempdir().expect("tempdir")
}

fn p(path: &Path) -> String {
    path.display().to_string()
}

fn repo(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").join(rel)
}

fn schema() -> String {
    p(&repo("templates/crm.contacts.schema.json"))
}

/// Asserts the contract on one command's output; returns the object.
#[track_caller]
fn contract(out: &Output, expected: i32) -> Value {
    out.expect_code(expected);
    let lines: Vec<&str> = out.stdout.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "exactly one line on stdout\n{}", out.describe());
    let v: Value = serde_json::from_str(lines[0])
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e})\n{}", out.describe()));
    assert!(v.is_object(), "an object\n{}", out.describe());
    assert_eq!(v["exit_code"].as_i64(), Some(i64::from(expected)), "exit_code\n{}", out.describe());
    if expected == 0 {
        assert!(v.get("error").is_none_or(Value::is_null), "no error on success\n{}", out.describe());
    } else {
        let e = v["error"].as_str().unwrap_or("");
        assert!(e.len() > 10 && !e.contains('\n'), "an error sentence\n{}", out.describe());
    }
    v
}

/// The subcommands `--help` lists (without `help`, which prints text by design).
fn commands() -> BTreeSet<String> {
    let out = elma(Path::new("."), &args!["--help"]);
    out.stdout
        .lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|c| *c != "help")
        .map(str::to_string)
        .collect()
}

#[test]
fn every_command_keeps_the_json_contract_on_success_and_failure() {
    let tmp = tempdir();
    let d = tmp.path();
    let emu = Emulator::start(&args!["--rows-per-sec", "20000", "--handler-rate", "100000"]);
    let mut covered = BTreeSet::new();
    let mut run = |cmd: &str, a: Vec<String>, code: i32| -> Value {
        covered.insert(cmd.to_string());
        let mut all = args!["--json", cmd];
        all.extend(a);
        contract(&elma(d, &all), code)
    };
    let with_conn = |mut a: Vec<String>| {
        a.extend(conn(&emu));
        a
    };
    let good = sample(d, "good.csv", 20, 0.0, 1);
    let bad = sample(d, "bad.csv", 40, 0.3, 2);

    // template
    run("template", args!["--schema", schema(), "-o", "t.xlsx"], 0);
    let v = run("template", args!["--schema", "missing.schema.json", "-o", "t.xlsx"], 2);
    assert!(v["error"].as_str().unwrap().contains("missing.schema.json"), "{v}");

    // schema: to a file, to stdout (inside the object), an unknown app
    run("schema", with_conn(args!["--app", APP, "-o", "s.json"]), 0);
    let v = run("schema", with_conn(args!["--app", APP]), 0);
    assert_eq!(v["schema"]["code"], "contacts", "the schema is a field of the object: {v}");
    run("schema", with_conn(args!["--app", "crm.nope"]), 2);

    // validate: valid, rejected rows (the sentence says what), a header that does not fit,
    // a missing file
    run("validate", args![p(&good.path), "--schema", schema()], 0);
    let v = run("validate", args![p(&bad.path), "--schema", schema()], 1);
    let e = v["error"].as_str().unwrap();
    assert!(e.contains("rows are invalid") && e.contains("bad.csv"), "{v}");
    std::fs::write(d.join("odd.csv"), "Nom,Mail\nAnna,a@example.com\n").unwrap();
    run("validate", args![p(&d.join("odd.csv")), "--schema", schema()], 1);
    run("validate", args!["nope.csv", "--schema", schema()], 2);

    // fix
    run("fix", args![p(&good.path), "--schema", schema(), "-o", "g.fixed.csv"], 0);
    let v = run("fix", args![p(&bad.path), "--schema", schema(), "-o", "b.fixed.csv"], 1);
    assert!(v["error"].as_str().unwrap().contains("still invalid"), "{v}");

    // plan
    run("plan", args![p(&good.path), "--schema", schema(), "--with-event-handlers"], 0);
    run("plan", args![p(&good.path), "--schema", schema(), "--pause", "soon"], 2);

    // split
    run("split", args![p(&good.path), "-o", "chunks", "--rows-per-chunk", "7"], 0);
    run("split", args![p(&good.path), "-o", "chunks", "--rows-per-chunk", "0"], 2);

    // upload, start, status
    let v = run("upload", with_conn(args![p(&good.path)]), 0);
    let hash = v["hash"].as_str().unwrap().to_string();
    run("upload", with_conn(args!["nope.csv"]), 2);
    let v = run("start", with_conn(args!["--app", APP, "--hash", hash, "--format", "csv", "--wait"]), 0);
    let id = v["id"].as_str().unwrap().to_string();
    run("start", with_conn(args!["--app", "crm.nope", "--hash", hash, "--format", "csv"]), 2);
    run("status", with_conn(args!["--app", APP, "--id", id]), 0);
    run("status", args!["--app", APP, "--id", id, "--url", emu.url.clone(), "--token", "wrong"], 2);

    // run, resume, runs
    let v = run("run", with_conn(args![p(&good.path), "--app", APP, "--run-dir", "runs/good", "--again"]), 0);
    assert_eq!(v["imported"].as_u64(), Some(20), "{v}");
    let v = run("run", with_conn(args![p(&bad.path), "--app", APP, "--run-dir", "runs/bad"]), 1);
    assert!(v["error"].as_str().unwrap().contains("invalid"), "{v}");
    assert!(v["run_dir"].as_str().is_some(), "a failed run names its directory: {v}");
    run("resume", with_conn(args!["runs/good"]), 0);
    run("resume", with_conn(args!["runs/nowhere"]), 2);
    run("runs", args!["--root", "runs"], 0);

    // verify: the good file, imported twice above (by `start`, then by `run --again`, which
    // found the first 20 items before it); the file alone, whose every key two items hold;
    // a file with rows the app lacks; report
    let v = run("verify", with_conn(args!["runs/good", "--key-column", "Email"]), 0);
    assert_eq!((v["matched"].as_u64(), v["before"].as_u64()), (Some(20), Some(20)), "{v}");
    let v = run("verify", with_conn(args![p(&good.path), "--app", APP, "--key-column", "Email"]), 1);
    assert_eq!(v["ambiguous"].as_u64(), Some(20), "{v}");
    let v = run("verify", with_conn(args![p(&bad.path), "--app", APP, "--key-column", "Email"]), 1);
    assert!(v["error"].as_str().is_some(), "{v}");
    let v = run("report", args!["runs/good"], 0);
    assert!(v["report"].as_str().unwrap().ends_with("report.html"), "{v}");
    run("report", args!["nowhere"], 2);

    // migrate: a dry run, a real one, a missing schema file
    std::fs::write(d.join("companies.csv"), "Name,INN,City\nAcme,7701000001,Tver\nBeta,7701000002,Omsk\n")
        .unwrap();
    let toml = "[[step]]\nfile = \"companies.csv\"\napp = \"crm.companies\"\nkey = \"INN\"\n";
    std::fs::write(d.join("m.toml"), toml).unwrap();
    std::fs::write(d.join("broken.toml"), format!("{toml}schema = \"nope.schema.json\"\n")).unwrap();
    run("migrate", args!["m.toml", "--dry-run", "--schema-dir", p(&repo("templates"))], 0);
    run("migrate", with_conn(args!["m.toml", "--run-dir", "mig"]), 0);
    let v = run("migrate", args!["broken.toml", "--dry-run"], 2);
    assert!(v["error"].as_str().unwrap().contains("nope.schema.json"), "{v}");

    // check
    run("check", with_conn(args!["--app", APP]), 0);
    let v = run("check", args!["--url", emu.url.clone(), "--token", "wrong", "--app", APP], 2);
    assert!(v["error"].as_str().unwrap().starts_with("token"), "the failed step: {v}");

    // demo
    run(
        "demo",
        args!["--rows", "30", "--dir", p(&d.join("demo")), "--rows-per-sec", "20000", "--pause", "0"],
        0,
    );
    run("demo", args!["--rows", "30", "--pause", "auto", "--migration"], 2);

    // completions: no JSON, and it says so
    let v = run("completions", args!["bash"], 2);
    assert!(v["error"].as_str().unwrap().contains("not JSON"), "{v}");

    // emulator: its object as soon as it listens, then nothing more; a port in use
    covered.insert("emulator".into());
    emulator_contract(d);

    assert_eq!(covered, commands(), "every command has a case here");
}

/// `emulator --json` prints its object once it listens (exit_code 0), serves until
/// Ctrl-C and exits 0; a port in use is one failure object.
fn emulator_contract(d: &Path) {
    let mut child = command(d, &args!["--json", "emulator", "--addr", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("emulator");
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
    let mut line = String::new();
    stdout.read_line(&mut line).expect("first line");
    let v: Value = serde_json::from_str(line.trim()).unwrap_or_else(|e| panic!("{e}: {line:?}"));
    assert_eq!(v["exit_code"], 0, "{v}");
    let addr = v["addr"].as_str().expect("addr").to_string();
    let killed = std::process::Command::new("kill").args(["-INT", &child.id().to_string()]).status();
    assert!(killed.is_ok_and(|s| s.success()));
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut rest).expect("rest");
    let status = child.wait().expect("wait");
    assert_eq!(status.code(), Some(0), "Ctrl-C ends the emulator with 0");
    assert!(rest.trim().is_empty(), "one object only, got also {rest:?}");

    let holder = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let busy = holder.local_addr().expect("addr").to_string();
    assert_ne!(busy, addr);
    contract(&elma(d, &args!["--json", "emulator", "--addr", busy]), 2);
}

#[test]
fn a_flag_clap_refuses_and_a_failure_after_work_began_keep_the_contract() {
    let tmp = tempdir();
    let d = tmp.path();
    contract(&elma(d, &args!["validate", "x.csv", "--no-such-flag", "--json"]), 2);
    // A run that fails on the network after its directory exists names it.
    let s = sample(d, "c.csv", 5, 0.0, 3);
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let out = elma(
        d,
        &args![
            "--json",
            "run",
            p(&s.path),
            "--schema",
            schema(),
            "--run-dir",
            "r",
            "--url",
            format!("http://127.0.0.1:{dead}/pub/v1"),
            "--token",
            TOKEN,
            "--retries",
            "0"
        ],
    );
    let v = contract(&out, 3);
    assert_eq!(v["run_dir"], "r", "{v}");
}
