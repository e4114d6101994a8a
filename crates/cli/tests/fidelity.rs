//! The client against the emulator as an independent model of the platform (issue 6):
//! `check` step by step, `--trace`, a base URL without `/pub/v1`, exact key look-ups over
//! the platform's substring filter, and items in the §7 shapes the client expects.

#![allow(clippy::useless_vec)]

use crate::util;

use std::path::Path;
use std::time::Duration;

use elma_import_contract::values::item_matches;
use serde_json::{json, Value};
use util::*;

fn tempdir() -> tempfile::TempDir {
    tempfile::Builder::new().prefix("elma-fidelity-").tempdir().expect("tempdir")
}

fn p(path: &Path) -> String {
    path.display().to_string()
}

fn check(emu_url: &str, token: &str, extra: &[String]) -> Output {
    let tmp = tempdir();
    let mut a = args!["--json", "check", "--url", emu_url, "--token", token, "--retries", "0"];
    a.extend(extra.iter().cloned());
    elma(tmp.path(), &a)
}

fn outcomes(out: &Output) -> Vec<(String, String)> {
    out.json()["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .map(|s| (s["step"].as_str().unwrap().to_string(), s["outcome"].as_str().unwrap().to_string()))
        .collect()
}

fn step<'a>(v: &'a Value, name: &str) -> &'a Value {
    v["steps"].as_array().unwrap().iter().find(|s| s["step"] == name).unwrap()
}

#[test]
fn check_reports_each_step_and_exits_by_what_failed() {
    let emu = Emulator::start(&[]);
    let company = format!("http://{}", emu.addr);

    // A company address without /pub/v1 is completed; everything readable is read.
    let out = check(&company, TOKEN, &args!["--app", APP, "--directory", "d-1"]);
    out.expect_code(0);
    let v = out.json();
    assert_eq!(v["url"], format!("{company}/pub/v1/"));
    let ok = |s: &str| (s.to_string(), "ok".to_string());
    assert_eq!(
        outcomes(&out),
        [ok("address"), ok("token"), ok("schema"), ok("listing"), ("directory".into(), "not_checked".into())]
    );
    assert!(step(&v, "schema")["detail"].as_str().unwrap().contains("Email `email` (EMAIL)"), "{v}");
    assert!(step(&v, "listing")["detail"].as_str().unwrap().starts_with("0 item(s)"), "{v}");
    assert_eq!(v["fields"].as_array().map(Vec::len), Some(contacts().fields.len()));

    // A refused token: exit 2, the token step says so, the token is not shown.
    let out = check(&emu.url, "wrong-token-123456", &args!["--app", APP]);
    out.expect_code(2);
    assert_eq!(outcomes(&out)[..2], [ok("address"), ("token".into(), "failed".into())]);
    assert!(!out.stdout.contains("wrong-token-123456") && !out.stderr.contains("wrong-token-123456"));

    // An unknown app and a wrong base URL both get 404, and read differently.
    let unknown = check(&emu.url, TOKEN, &args!["--app", "crm.nope"]);
    unknown.expect_code(2);
    assert_eq!(outcomes(&unknown)[..3], [ok("address"), ok("token"), ("schema".into(), "failed".into())]);
    assert!(step(&unknown.json(), "schema")["detail"].as_str().unwrap().contains("no app `crm.nope`"));
    let wrong = check(&format!("{company}/nope/pub/v1"), TOKEN, &args!["--app", APP]);
    wrong.expect_code(2);
    let v = wrong.json();
    assert_eq!(outcomes(&wrong)[0], ("address".into(), "failed".into()));
    assert!(step(&v, "address")["detail"].as_str().unwrap().contains("not as the ELMA365 Web API"), "{v}");
    assert!(step(&v, "address")["hint"].as_str().unwrap().contains("/pub/v1"), "{v}");
    assert_eq!(step(&v, "schema")["outcome"], "skipped");

    // Without --app the token is still checked.
    let out = check(&emu.url, TOKEN, &[]);
    out.expect_code(0);
    assert_eq!(outcomes(&out)[..3], [ok("address"), ok("token"), ("schema".into(), "skipped".into())]);

    // Nothing answers: exit 3.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let out = check(&format!("http://{closed}"), TOKEN, &args!["--app", APP]);
    out.expect_code(3);
    assert_eq!(outcomes(&out)[0], ("address".into(), "failed".into()));

    // For people: a line per step, hints under failures.
    let tmp = tempdir();
    let out = elma(tmp.path(), &args!["check", "--url", emu.url, "--token", TOKEN, "--app", "crm.nope"]);
    out.expect_code(2);
    assert!(out.stdout.contains("FAILED") && out.stdout.contains("hint:"), "{}", out.describe());
}

#[test]
fn the_trace_has_a_line_per_request_of_a_run_and_never_the_token() {
    let tmp = tempdir();
    let s = sample(tmp.path(), "contacts.csv", 300, 0.0, 61);
    let emu = Emulator::start(&args!["--rows-per-sec", "5000"]);
    let trace = tmp.path().join("trace.jsonl");
    let mut a = args!["--json", "run", p(&s.path), "--app", APP, "--run-dir", p(&tmp.path().join("run"))];
    a.extend(args!["--rows-per-chunk", "100", "--trace", p(&trace), "--time-zone", "+03:00"]);
    a.extend(conn(&emu));
    elma(tmp.path(), &a).expect_code(0);
    let text = std::fs::read_to_string(&trace).expect("the trace file");
    for piece in TOKEN.as_bytes().windows(6) {
        assert!(!text.contains(std::str::from_utf8(piece).unwrap()), "the token is in the trace");
    }
    let lines: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).expect("a JSON line")).collect();
    let counters = emu.counters();
    let requests: u64 = counters["requests"].as_object().unwrap().values().filter_map(Value::as_u64).sum();
    assert_eq!(lines.len() as u64, requests, "one line per request the emulator saw: {counters}");
    for line in &lines {
        assert!(line["time"].is_string() && line["ms"].is_u64() && line["status"].is_u64(), "{line}");
        assert!(line["request_headers"].get("authorization").is_none(), "{line}");
    }
    let uploads: Vec<&Value> =
        lines.iter().filter(|l| l["path"].as_str().unwrap().starts_with("/disk/file/upload")).collect();
    assert_eq!(uploads.len(), 3);
    assert!(uploads.iter().all(|u| u["request_body"]["sha256"].as_str().is_some_and(|h| h.len() == 64)));
}

/// A contacts file of 800 rows whose names are keys that contain one another. The first
/// chunk (400 rows) starts with `Deal 1a`…`Deal 200a` and goes on with `Deal 1`…`Deal 200`:
/// when its import fails part way, the rows that did not land are the short keys, each a
/// substring of a long key that did (the platform's `Deal 5` also finds `Deal 5a`, `deal 5`
/// and `Deal 50a`). The second chunk holds `Deal 201`…`Deal 600`.
fn substring_keys(path: &Path) -> Vec<String> {
    let mut names: Vec<String> = (1..=200).map(|i| format!("Deal {i}a")).collect();
    names.extend((1..=600).map(|i| format!("Deal {i}")));
    let mut out = String::from("Name,Email\n");
    for (i, name) in names.iter().enumerate() {
        out.push_str(&format!("{name},row{i}@example.com\n"));
    }
    std::fs::write(path, out).unwrap();
    names
}

#[test]
fn a_key_look_up_is_exact_although_the_platform_matches_substrings() {
    let tmp = tempdir();
    let file = tmp.path().join("deals.csv");
    let names = substring_keys(&file);
    let emu = Emulator::start(&args!["--rows-per-sec", "400"]);
    let mut a = args!["--json", "run", p(&file), "--app", APP, "--run-dir", p(&tmp.path().join("run"))];
    a.extend(args!["--rows-per-chunk", "400", "--key-column", "Name"]);
    a.extend(conn(&emu));
    let run = spawn(tmp.path(), &a);
    // Expire every temporary file while the first import is half-way: the runner looks up
    // each row of the chunk by its Name to send again exactly those that did not land.
    let halfway = wait_until(Duration::from_secs(20), || {
        emu.counters()["imports"]
            .as_array()
            .and_then(|a| a.first().cloned())
            .is_some_and(|i| i["processed"].as_u64().unwrap_or(0) >= 100)
    });
    assert!(halfway, "the first import never got going: {}", emu.counters());
    emu.faults(json!({"expire_temp_files": true}));
    let out = run.wait();
    out.expect_code(0);
    let items = emu.items(APP);
    let mut seen = std::collections::HashMap::new();
    for item in &items {
        *seen.entry(item["__name"].as_str().unwrap().to_string()).or_insert(0) += 1;
    }
    let wrong: Vec<_> = names.iter().filter(|n| seen.get(*n) != Some(&1)).take(10).collect();
    assert!(
        wrong.is_empty() && items.len() == names.len(),
        "not exactly once: {wrong:?}\n{}",
        out.describe()
    );
    let counters = emu.counters();
    assert!(
        counters["requests"]["POST /app/{namespace}/{code}/list"].as_u64().unwrap_or(0) > 0,
        "{counters}"
    );
}

#[test]
fn items_after_a_run_have_the_shapes_the_client_writes() {
    let tmp = tempdir();
    let s = sample(tmp.path(), "contacts.csv", 200, 0.0, 77);
    let emu = Emulator::start(&args!["--rows-per-sec", "5000", "--time-zone", "+03:00"]);
    let mut a = args!["--json", "run", p(&s.path), "--app", APP, "--run-dir", p(&tmp.path().join("run"))];
    a.extend(args!["--time-zone", "+03:00"]);
    a.extend(conn(&emu));
    elma(tmp.path(), &a).expect_code(0);
    let items = list_items(&emu.url, APP);
    assert_eq!(items.len(), 200);

    // Every row of the file, turned into an item by the client (validate's §7 model), is
    // equal field by field to exactly one item the platform model stored.
    let schema = contacts();
    let mut reader = elma_import_sheet::open(&s.path, &Default::default()).unwrap();
    let options = elma_import_validate::Options {
        time_zone: "+03:00".parse().unwrap(),
        ..elma_import_validate::Options::default()
    };
    let validator = elma_import_validate::Validator::new(&schema, reader.header(), &options).unwrap();
    let fields: Vec<_> = schema.fields.iter().collect();
    let stored: Vec<serde_json::Map<String, Value>> =
        items.iter().map(|i| i.as_object().unwrap().clone()).collect();
    let mut rows = 0;
    while let Some(batch) = reader.next_batch().unwrap() {
        for row in batch.iter().filter(|r| !r.is_blank()) {
            rows += 1;
            let expected = validator.to_item(row).unwrap();
            let matching = stored.iter().filter(|item| item_matches(&fields, &expected, item)).count();
            assert_eq!(matching, 1, "row {}: {expected:?}", row.number);
        }
    }
    assert_eq!(rows, 200);
    // And the shapes are §7's, field by field.
    let item =
        items.iter().find(|i| i["amount"].is_object() && i["birth_date"].is_string()).expect("a full item");
    assert!(item["email"][0]["email"].is_string() && item["email"][0]["type"].is_string(), "{item}");
    assert!(item["amount"]["cents"].is_i64() && item["amount"]["currency"] == "RUB", "{item}");
    let at = item["birth_date"].as_str().unwrap();
    assert!(chrono::DateTime::parse_from_rfc3339(at).is_ok() && at.ends_with("+03:00"), "{item}");
}

#[test]
fn links_the_platform_refuses_are_reported_by_source_row_and_the_other_rows_import_once() {
    // Issue 6: checks only the platform can make. Under --strict-links a Manager must be
    // one of the platform's users and a Company an existing item of crm.companies; such
    // rows fail on the server with a row error, the others import. A row rejected before
    // sending shifts the chunk's rows against the source's, so the mapping back is real.
    let tmp = tempdir();
    let emu = Emulator::start(&args!["--strict-links", "--rows-per-sec", "2000"]);
    let users = emu.control("GET", "users", None);
    let user = users["users"][0]["__id"].as_str().expect("a seeded user").to_string();
    let stranger = "0b9d3f4e-1c2a-4b5d-8e6f-7a8b9c0d1e2f";
    let no_company = "5c6d7e8f-9a0b-4c1d-8e2f-3a4b5c6d7e8f";
    let file = tmp.path().join("contacts.csv");
    let mut text = String::from("Name,Email,Manager,Company\n");
    let mut expected_errors = Vec::new();
    for i in 0..30u64 {
        let row = i + 2;
        let (email, manager, company) = match i {
            3 => ("not-an-email".to_string(), String::new(), String::new()),
            8 | 21 => (format!("c{i}@example.com"), format!("[{stranger}]"), String::new()),
            14 => (format!("c{i}@example.com"), format!("[{user}]"), format!("[{no_company}]")),
            _ => (format!("c{i}@example.com"), format!("[{user}]"), String::new()),
        };
        if matches!(i, 8 | 14 | 21) {
            expected_errors.push(row);
        }
        text.push_str(&format!("Contact {i},{email},{manager},{company}\n"));
    }
    std::fs::write(&file, text).unwrap();
    let run_dir = tmp.path().join("run");
    let mut a = args!["--json", "run", p(&file), "--app", APP, "--run-dir", p(&run_dir)];
    a.extend(args!["--rows-per-chunk", "10", "--skip-invalid", "--key-column", "Email"]);
    a.extend(conn(&emu));
    let out = elma(tmp.path(), &a);
    out.expect_code(1);

    let mut reader = csv::Reader::from_path(run_dir.join("errors.csv")).expect("errors.csv");
    let head = reader.headers().unwrap().clone();
    let col = |name: &str| head.iter().position(|h| h == name).unwrap_or_else(|| panic!("no column {name}"));
    let mut platform = Vec::new();
    let mut validation = Vec::new();
    for record in reader.records() {
        let r = record.unwrap();
        let row: u64 = r[col("row")].parse().unwrap();
        match &r[col("source")] {
            "platform" => {
                // The platform's own words, naming the value it refused.
                let message = &r[col("message")];
                let named = [stranger, no_company].iter().any(|id| message.contains(id));
                assert!(named, "row {row}: the message names no refused id: {message}");
                platform.push(row);
            }
            "validation" => validation.push(row),
            other => panic!("unknown source {other}"),
        }
    }
    platform.sort_unstable();
    platform.dedup();
    assert_eq!(platform, expected_errors, "{}", out.describe());
    assert_eq!(validation, vec![5], "{}", out.describe());

    // Every other row imported exactly once.
    let items = emu.items(APP);
    let mut names: Vec<String> = items.iter().map(|i| i["__name"].as_str().unwrap().to_string()).collect();
    names.sort();
    let mut want: Vec<String> =
        (0..30u64).filter(|i| !matches!(i, 3 | 8 | 14 | 21)).map(|i| format!("Contact {i}")).collect();
    want.sort();
    assert_eq!(names, want, "{}", out.describe());
    assert_eq!(num(&out.json(), "imported"), 26, "{}", out.describe());
}

fn num(v: &Value, key: &str) -> u64 {
    v[key].as_u64().unwrap_or_else(|| panic!("no number `{key}` in {v}"))
}
