//! What a user meets around the core (issue 8): `--json` on every outcome, runs that can
//! be listed and resumed as printed, guards against importing junk or the same file
//! twice, one errors.csv layout, and workbooks worth opening.

#![allow(clippy::useless_vec)]

use crate::util;

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
    assert!(v["error"].as_str().unwrap().contains("can go on: every one completed"), "{}", out.describe());
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
    assert!(e.contains("runs/first") && e.contains("it finished"), "{}", out.describe());
    assert!(v["hints"].to_string().contains("--again"), "{}", out.describe());
    assert_eq!(emu.items(APP).len(), 30, "nothing sent the second time");
    assert!(!tmp.path().join("runs/second").exists(), "no run directory for a refused run");

    run("runs/third", &["--again"]).expect_code(0);
    assert_eq!(emu.items(APP).len(), 60);
}

// ---------------------------------------------------------------------------------------
// Files people open: one errors.csv layout, the annotated workbook, the example row.

fn template_and_rows(dir: &Path, extra_rows: &[&str]) -> std::path::PathBuf {
    let tpl = dir.join("t.csv");
    elma(dir, &args!["template", "--schema", schema_path(), "-o", p(&tpl)]).expect_code(0);
    let mut text = std::fs::read_to_string(&tpl).unwrap();
    for r in extra_rows {
        text.push_str(r);
        text.push_str("\r\n");
    }
    let path = dir.join("filled.csv");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn the_template_example_row_is_reported_by_validate_and_skipped_by_run() {
    let tmp = tempdir();
    let s = sample(tmp.path(), "rows.csv", 3, 0.0, 6);
    let data: Vec<String> =
        std::fs::read_to_string(&s.path).unwrap().lines().skip(1).map(str::to_string).collect();
    let header = std::fs::read_to_string(&s.path).unwrap().lines().next().unwrap().to_string();
    let tpl = std::fs::read_to_string(template_and_rows(tmp.path(), &[])).unwrap();
    assert_eq!(
        tpl.trim_start_matches('\u{feff}').lines().next().unwrap(),
        header,
        "the sample and the template share the header"
    );
    let refs: Vec<&str> = data.iter().map(String::as_str).collect();
    let file = template_and_rows(tmp.path(), &refs);

    let out = elma(tmp.path(), &args!["--json", "validate", p(&file), "--schema", schema_path()]);
    out.expect_code(0).expect_stderr("row 2 is the template's example row");
    let v = out.json();
    assert_eq!(v["example_rows"], serde_json::json!([2]));
    assert_eq!(v["rows"].as_u64(), Some(3), "the example row is not counted as data");

    let emu = Emulator::start(&args!["--rows-per-sec", "20000", "--handler-rate", "100000"]);
    let mut a = args!["--json", "run", p(&file), "--app", APP, "--run-dir", p(&tmp.path().join("r1"))];
    a.extend(conn(&emu));
    let out = elma(tmp.path(), &a);
    out.expect_code(0).expect_stderr("the template's example row");
    let items = emu.items(APP);
    assert_eq!(items.len(), 3, "{}", out.describe());
    assert!(items.iter().all(|i| i["__name"] != "Example text"), "the example was not imported");

    let mut a = args!["--json", "run", p(&file), "--app", APP, "--run-dir", p(&tmp.path().join("r2"))];
    a.extend(args!["--again", "--keep-example-row"]);
    a.extend(conn(&emu));
    elma(tmp.path(), &a).expect_code(0);
    assert_eq!(emu.items(APP).len(), 3 + 4, "kept when asked");
}

#[test]
fn mapped_columns_validate_and_unknown_ones_name_the_closest_field_and_the_expected_headers() {
    let tmp = tempdir();
    let s = sample(tmp.path(), "rows.csv", 5, 0.0, 7);
    let text = std::fs::read_to_string(&s.path).unwrap();
    let renamed = text.replacen("Phone", "Телефон", 1).replacen("Email", "Emial", 1);
    let file = tmp.path().join("renamed.csv");
    std::fs::write(&file, renamed).unwrap();

    let out = elma(tmp.path(), &args!["validate", p(&file), "--schema", schema_path()]);
    out.expect_code(1)
        .expect_stderr("`Emial`")
        .expect_stderr("closest: `Email`")
        .expect_stderr("--map 'Телефон=FIELD'")
        .expect_stderr("the app expects these headers")
        .expect_stderr("Phone (phone)");

    let out = elma(tmp.path(), &args!["--json", "validate", p(&file), "--schema", schema_path()]);
    let v = failure_json(&out, 1);
    assert_eq!(v["valid"], false);
    let expected = v["expected_headers"].as_array().cloned().unwrap_or_default();
    assert!(expected.iter().any(|f| f["name"] == "Phone" && f["code"] == "phone"), "{v}");

    let map = tmp.path().join("map.csv");
    std::fs::write(&map, "header,field\nТелефон,Phone\n").unwrap();
    let out = elma(
        tmp.path(),
        &args![
            "validate",
            p(&file),
            "--schema",
            schema_path(),
            "--map-file",
            p(&map),
            "--map",
            "Emial=email"
        ],
    );
    out.expect_code(0);
    let out = elma(
        tmp.path(),
        &args!["--json", "validate", p(&file), "--schema", schema_path(), "--map", "Tel=Phone"],
    );
    let v = failure_json(&out, 2);
    assert!(v["error"].as_str().unwrap().contains("no column is headed `Tel`"), "{}", out.describe());
}

#[test]
fn the_annotated_workbook_has_typed_cells_and_an_errors_sheet_that_matches_errors_csv() {
    use calamine::{Data, Reader};
    let tmp = tempdir();
    let s = sample(tmp.path(), "contacts.csv", 400, 0.05, 8);
    assert!(!s.info.planted.is_empty());
    let (a, e) = (tmp.path().join("a.xlsx"), tmp.path().join("e.csv"));
    let out = elma(
        tmp.path(),
        &args!["validate", p(&s.path), "--schema", schema_path(), "--annotated", p(&a), "--errors", p(&e)],
    );
    out.expect_code(1);

    let mut csv = csv::Reader::from_path(&e).unwrap();
    assert_eq!(
        csv.headers().unwrap().iter().collect::<Vec<_>>(),
        ["row", "column", "header", "value", "rule", "message", "fix", "source"]
    );
    let lines: Vec<csv::StringRecord> = csv.records().map(Result::unwrap).collect();
    assert_eq!(lines.len(), s.info.planted.len());

    let mut book = calamine::open_workbook_auto(&a).unwrap();
    assert_eq!(book.sheet_names(), ["Data", "Errors"]);
    let data = book.worksheet_range("Data").unwrap();
    assert_eq!(data.height(), 401);
    let header: Vec<String> = data.rows().next().unwrap().iter().map(ToString::to_string).collect();
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let bad_rows: std::collections::BTreeSet<u64> = s.info.planted.iter().map(|p| p.row).collect();
    let good = (2..=401u64).find(|r| !bad_rows.contains(r)).unwrap() as usize;
    let row = &data.rows().nth(good - 1).unwrap();
    assert!(matches!(row[col("Quantity")], Data::Float(_)), "Quantity typed: {:?}", row[col("Quantity")]);
    assert!(
        matches!(row[col("Birth date")], Data::DateTime(_)),
        "Birth date typed: {:?}",
        row[col("Birth date")]
    );
    assert!(matches!(row[col("Name")], Data::String(_)));

    let errors = book.worksheet_range("Errors").unwrap();
    let rows: Vec<Vec<String>> = errors.rows().map(|r| r.iter().map(ToString::to_string).collect()).collect();
    assert_eq!((rows[0][0].as_str(), rows[0][3].as_str()), ("Summary", "NOT valid"));
    assert_eq!((rows[1][0].as_str(), rows[1][3].as_str()), ("rows checked", "400"));
    assert!(matches!(errors.rows().nth(1).unwrap()[3], Data::Float(_)), "a count is a number");
    let table =
        rows.iter().position(|r| r[..6] == ["row", "column", "header", "value", "rule", "message"]).unwrap();
    let listed: Vec<_> = errors.rows().skip(table + 1).collect();
    assert_eq!(listed.len(), lines.len());
    let mut numbers = Vec::new();
    for (got, want) in listed.iter().zip(&lines) {
        // Row numbers are numbers, so they sort 31 before 113.
        let Data::Float(row) = got[0] else { panic!("row number stored as {:?}", got[0]) };
        numbers.push(row as u64);
        let got: Vec<String> = got.iter().map(ToString::to_string).collect();
        assert_eq!(
            [&got[0], &got[1], &got[2], &got[3], &got[4], &got[5]],
            [&want[0], &want[1], &want[2], &want[3], &want[4], &want[5]].map(|s| s.to_string()).each_ref()
        );
    }
    assert!(numbers.windows(2).all(|w| w[0] <= w[1]) && numbers.iter().any(|&n| n >= 100), "{numbers:?}");

    // Each row number links to its cell of the Data sheet, and both sheets print one page
    // wide with the header row on every page.
    let sheet2 = unzip(&a, "xl/worksheets/sheet2.xml");
    assert!(sheet2.contains("<hyperlink ref=\"A"), "links to the cells");
    let workbook = unzip(&a, "xl/workbook.xml");
    assert!(workbook.contains("_xlnm.Print_Titles"), "repeated header rows: {workbook}");
    for sheet in ["xl/worksheets/sheet1.xml", "xl/worksheets/sheet2.xml"] {
        let xml = unzip(&a, sheet);
        assert!(
            xml.contains("fitToPage=\"1\"") && xml.contains("fitToHeight=\"0\""),
            "{sheet}: fit to width"
        );
        assert!(xml.contains("orientation=\"landscape\""), "{sheet}");
    }
}

#[test]
fn the_template_prints_one_page_wide_with_its_header_on_every_page() {
    let tmp = tempdir();
    let t = tmp.path().join("t.xlsx");
    elma(tmp.path(), &args!["template", "--schema", schema_path(), "-o", p(&t)]).expect_code(0);
    let xml = unzip(&t, "xl/worksheets/sheet1.xml");
    assert!(xml.contains("fitToPage=\"1\"") && xml.contains("fitToHeight=\"0\""), "fit to width: {xml}");
    assert!(xml.contains("orientation=\"landscape\""));
    let workbook = unzip(&t, "xl/workbook.xml");
    assert!(workbook.contains("_xlnm.Print_Titles") && workbook.contains("$1:$1"), "{workbook}");
}

/// One member of an .xlsx (a zip) as text.
fn unzip(xlsx: &Path, member: &str) -> String {
    let out = std::process::Command::new("unzip").arg("-p").arg(xlsx).arg(member).output().expect("unzip");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

// ---------------------------------------------------------------------------------------
// Progress without a terminal: plain lines, or JSON lines for programs.

#[test]
fn progress_is_one_plain_line_per_event_without_a_terminal_and_json_lines_on_request() {
    let tmp = tempdir();
    let s = sample(tmp.path(), "contacts.csv", 250, 0.0, 9);
    let emu = Emulator::start(&args!["--rows-per-sec", "20000", "--handler-rate", "100000"]);
    let run = |dir: &str, extra: &[&str]| {
        let mut a = args!["run", p(&s.path), "--app", APP, "--run-dir", p(&tmp.path().join(dir))];
        a.extend(args!["--with-event-handlers", "--rows-per-chunk", "100", "--pause", "0.2", "--again"]);
        a.extend(extra.iter().map(|x| x.to_string()));
        a.extend(conn(&emu));
        elma(tmp.path(), &a)
    };
    let out = run("lines", &[]);
    out.expect_code(0);
    for text in [
        "chunk 1/3 done: 100 imported, 0 failed",
        "chunk 3/3 done: 50 imported",
        "rows/s",
        "eta",
        "pausing 0.2s",
    ] {
        out.expect_stderr(text);
    }

    let out = run("jsonl", &["--progress", "jsonl", "--json"]);
    out.expect_code(0);
    let events: Vec<Value> = out
        .stderr
        .lines()
        .map(|l| {
            serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}\n{}", out.describe()))
        })
        .collect();
    let names: Vec<&str> = events.iter().filter_map(|e| e["event"].as_str()).collect();
    assert!(names.contains(&"planned") && names.contains(&"pausing"), "{names:?}");
    assert_eq!(names.iter().filter(|n| **n == "chunk_finished").count(), 3, "{names:?}");
    assert!(events.iter().all(|e| e["t"].is_number()), "{}", out.stderr);
    // Every event about a chunk tells the time left (docs/progress-jsonl.md).
    let of_chunks = events.iter().filter(|e| e["chunk"].is_number() || e["after_chunk"].is_number());
    assert!(
        of_chunks.clone().count() > 0 && of_chunks.clone().all(|e| e["eta_secs"].is_number()),
        "{}",
        out.stderr
    );
    assert_eq!(out.json()["imported"].as_u64(), Some(250), "the summary is still the one object on stdout");
}

// ---------------------------------------------------------------------------------------
// Ctrl-C on a real terminal, while the bars are drawn.

/// `arg` quoted for a POSIX shell.
fn sh_quote(arg: &str) -> String {
    format!("'{}'", arg.replace('\'', r"'\''"))
}

/// A run drawing its bars on a terminal (a pseudo-terminal of `script`, util-linux),
/// stopped by Ctrl-C typed at that terminal. While the bars are up, the terminal does not
/// echo `^C` (the echo would wrap under a full-width bar line and leave a stale frame on
/// screen); afterwards the terminal is as it was, and the run stopped at a safe point.
#[test]
fn ctrl_c_typed_at_the_terminal_is_not_echoed_under_the_bars_and_the_terminal_is_restored() {
    if std::process::Command::new("script").arg("--version").output().is_err() {
        eprintln!("skipped: no `script` (util-linux) to make a terminal");
        return;
    }
    let tmp = tempdir();
    let s = sample(tmp.path(), "contacts.csv", 900, 0.0, 71);
    let emu = Emulator::start(&args!["--rows-per-sec", "300"]);
    let run_dir = tmp.path().join("run");
    let mut run = args!["run", p(&s.path), "--app", APP, "--run-dir", p(&run_dir), "--rows-per-chunk", "300"];
    run.extend(conn(&emu));
    let inner = command(tmp.path(), &run);
    let line: Vec<String> = std::iter::once(inner.get_program())
        .chain(inner.get_args())
        .map(|a| sh_quote(&a.to_string_lossy()))
        .collect();
    let wrapper = tmp.path().join("in-terminal.sh");
    std::fs::write(
        &wrapper,
        format!(
            "stty cols 100 rows 30 echoctl\ntty > tty.txt\ntrap 'true' INT\n{}\necho $? > exit.txt\nstty -a > after.txt\n",
            line.join(" ")
        ),
    )
    .unwrap();

    let mut outer = std::process::Command::new("script");
    outer.args(["-qec", &format!("bash {}", sh_quote(&p(&wrapper))), "/dev/null"]).current_dir(tmp.path());
    for (k, v) in inner.get_envs() {
        match v {
            Some(v) => outer.env(k, v),
            None => outer.env_remove(k),
        };
    }
    let screen = std::fs::File::create(tmp.path().join("screen.txt")).unwrap();
    let mut term = outer
        .stdin(std::process::Stdio::piped())
        .stdout(screen)
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("script");
    let screen = || std::fs::read_to_string(tmp.path().join("screen.txt")).unwrap_or_default();

    let started = wait_until(std::time::Duration::from_secs(30), || {
        tmp.path().join("tty.txt").exists() && !emu.counters()["imports"].as_array().is_none_or(Vec::is_empty)
    });
    assert!(started, "no import started\n{}", screen());
    let tty = std::fs::read_to_string(tmp.path().join("tty.txt")).unwrap().trim().to_string();
    let during = std::process::Command::new("stty").args(["-a", "-F", &tty]).output().unwrap();
    let during = String::from_utf8_lossy(&during.stdout).to_string();
    assert!(
        during.split_whitespace().any(|w| w == "-echoctl"),
        "echo of ^C on while the bars are up:\n{during}"
    );
    assert!(during.split_whitespace().any(|w| w == "isig"), "Ctrl-C still interrupts:\n{during}");

    use std::io::Write as _;
    term.stdin.as_mut().unwrap().write_all(b"\x03").unwrap();
    let after = || std::fs::read_to_string(tmp.path().join("after.txt")).unwrap_or_default();
    let ended = wait_until(std::time::Duration::from_secs(60), || after().contains("echo"));
    assert!(ended, "the run did not stop on Ctrl-C\n{}", screen());
    let _ = term.kill();
    let _ = term.wait();
    let exit = std::fs::read_to_string(tmp.path().join("exit.txt")).unwrap();
    assert_eq!(exit.trim(), "130", "stopped by Ctrl-C\n{}", screen());
    let after = after();
    assert!(after.split_whitespace().any(|w| w == "echoctl"), "the terminal is not restored:\n{after}");
    assert!(screen().contains("resume"), "{}", screen());
}

/// A run writes errors.csv, rejects.csv, report.html and chunks/ into its folder: a
/// `--run-dir` that holds other files (`--run-dir .` in the folder of the data) is refused
/// before anything is written or sent.
#[test]
fn a_run_directory_holding_other_files_is_refused_and_left_alone() {
    let tmp = tempdir();
    let s = sample(tmp.path(), "contacts.csv", 50, 0.0, 8);
    let emu = Emulator::start(&[]);
    std::fs::write(tmp.path().join("errors.csv"), "mine").unwrap();
    let mut a = args!["run", p(&s.path), "--app", APP, "--run-dir", "."];
    a.extend(conn(&emu));
    let out = elma(tmp.path(), &a);
    out.expect_code(2).expect_stderr("holds files and no run");
    assert_eq!(std::fs::read_to_string(tmp.path().join("errors.csv")).unwrap(), "mine");
    assert!(!tmp.path().join("run.json").exists());
    assert!(emu.items(APP).is_empty(), "nothing sent");
}
