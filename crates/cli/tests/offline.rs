//! Offline integration tests: the real `elma-import` binary in a temp dir, no
//! network. `template`, `validate`, `fix`, `split` and `plan` run on generated samples whose
//! bad cells are known (`elma_import_template::sample`), on .xlsx files written by other
//! producers (tests/fixtures) and on ugly files. Each assertion prints the command, its
//! exit code, stdout and stderr when it fails; exit codes are the constants of
//! `src/exit.rs`, compiled in here so a changed code fails the test.

#[allow(dead_code)]
#[path = "../src/exit.rs"]
mod exit;

use std::collections::BTreeSet;
use std::ffi::OsStr;
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use calamine::{Data, Reader};
use elma_import_contract::schema::AppSchema;
use elma_import_template::sample::{write_csv, PlantedError, SampleOptions};
use elma_import_template::Locale;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

// ---------------------------------------------------------------- helpers

/// One finished run of the binary.
struct Run {
    command: String,
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl fmt::Display for Run {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fn cut(s: &str) -> &str {
            match s.char_indices().nth(6000) {
                Some((i, _)) => &s[..i],
                None => s,
            }
        }
        write!(
            f,
            "\n--- command: {}\n--- exit: {:?}\n--- stdout:\n{}\n--- stderr:\n{}\n---",
            self.command,
            self.code,
            cut(&self.stdout),
            cut(&self.stderr)
        )
    }
}

impl Run {
    /// Asserts the exit code and that nothing panicked; returns the run for more checks.
    #[track_caller]
    fn expect(self, code: u8) -> Run {
        assert!(!self.stderr.contains("panicked"), "the binary panicked:{self}");
        assert_eq!(self.code, Some(i32::from(code)), "unexpected exit code:{self}");
        self
    }

    /// stdout as one JSON object.
    #[track_caller]
    fn json(&self) -> Value {
        match serde_json::from_str(self.stdout.trim()) {
            Ok(v) => v,
            Err(e) => panic!("stdout is not one JSON object ({e}):{self}"),
        }
    }

    /// Asserts that stderr holds every one of `parts`.
    #[track_caller]
    fn stderr_has(&self, parts: &[&str]) -> &Run {
        for p in parts {
            assert!(self.stderr.contains(p), "stderr lacks `{p}`:{self}");
        }
        self
    }
}

/// Runs `elma-import ARGS` in `dir` with a clean environment for the platform settings.
fn elma<I, S>(dir: &Path, args: I) -> Run
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let args: Vec<String> = args.into_iter().map(|a| a.as_ref().to_string_lossy().into_owned()).collect();
    let output = Command::new(env!("CARGO_BIN_EXE_elma-import"))
        .args(&args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env_remove("ELMA365_URL")
        .env_remove("ELMA365_TOKEN")
        .env_remove("ELMA365_PROFILE")
        .env("ELMA_IMPORT_CONFIG", dir.join("no-config.toml"))
        .env("ELMA_IMPORT_LEDGER", dir.join(".ledger.jsonl"))
        .output()
        .expect("the elma-import binary runs");
    Run {
        command: format!("(cd {} && elma-import {})", dir.display(), shell_words(&args)),
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

fn shell_words(args: &[String]) -> String {
    args.iter()
        .map(|a| {
            if a.contains([' ', '\'', '"', ';', '\t']) {
                format!("'{}'", a.replace('\'', "'\\''"))
            } else {
                a.clone()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn repo(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").join(rel)
}

fn fixture(name: &str) -> String {
    repo("tests/fixtures").join(name).display().to_string()
}

fn contacts_schema() -> String {
    repo("templates/crm.contacts.schema.json").display().to_string()
}

fn orders_schema() -> String {
    repo("templates/logistics.orders.schema.json").display().to_string()
}

fn tempdir() -> tempfile::TempDir {
    tempfile::Builder::new().prefix("elma-offline-").tempdir().expect("tempdir")
}

/// Writes a schema of `(code, display name, type, required)` fields into `dir`.
fn write_schema(dir: &Path, name: &str, fields: &[(&str, &str, &str, bool)]) -> String {
    let fields: Vec<Value> = fields
        .iter()
        .map(|(code, display, kind, required)| {
            json!({"code": code, "name": display, "type": kind, "required": required, "single": true})
        })
        .collect();
    let path = dir.join(name);
    let text = json!({"namespace": "test", "code": "app", "name": "Test", "fields": fields}).to_string();
    std::fs::write(&path, text).expect("write schema");
    path.display().to_string()
}

/// Spreadsheet letters of a 0-based column.
fn letters(mut index: usize) -> String {
    let mut out = Vec::new();
    loop {
        out.push(char::from(b'A' + (index % 26) as u8));
        if index < 26 {
            break;
        }
        index = index / 26 - 1;
    }
    out.iter().rev().collect()
}

/// Every record of a .csv (header included), as text.
fn read_csv(path: &Path) -> Vec<Vec<String>> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_path(path)
        .unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    reader
        .records()
        .map(|r| {
            let r = r.unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
            r.iter().map(|c| c.trim_start_matches('\u{feff}').to_string()).collect()
        })
        .collect()
}

/// Every row of the first sheet of an .xlsx, as text, trailing empty cells dropped.
fn read_xlsx(path: &Path) -> Vec<Vec<String>> {
    let mut book =
        calamine::open_workbook_auto(path).unwrap_or_else(|e| panic!("open {}: {e}", path.display()));
    let range = book
        .worksheet_range_at(0)
        .unwrap_or_else(|| panic!("{} has no sheet", path.display()))
        .unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    range
        .rows()
        .map(|row| {
            let mut cells: Vec<String> = row
                .iter()
                .map(|c| match c {
                    Data::String(s) => s.clone(),
                    Data::Float(f) => f.to_string(),
                    Data::Int(i) => i.to_string(),
                    Data::Bool(b) => b.to_string(),
                    Data::Empty => String::new(),
                    other => other.to_string(),
                })
                .collect();
            while cells.last().is_some_and(|c| c.is_empty()) {
                cells.pop();
            }
            cells
        })
        .collect()
}

/// Drops trailing empty cells (a .csv writes them, an .xlsx does not).
fn trimmed(rows: &[Vec<String>]) -> Vec<Vec<String>> {
    rows.iter()
        .map(|r| {
            let mut r = r.clone();
            while r.last().is_some_and(|c| c.is_empty()) {
                r.pop();
            }
            r
        })
        .collect()
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// A generated contacts .csv and its planted bad cells.
struct Sample {
    path: PathBuf,
    planted: Vec<PlantedError>,
}

impl Sample {
    /// `(row, column letters, value)` of every planted cell.
    fn cells(&self) -> BTreeSet<(u64, String, String)> {
        self.planted.iter().map(|p| (p.row, letters(p.column), p.value.clone())).collect()
    }
}

fn contacts() -> AppSchema {
    let text = std::fs::read_to_string(contacts_schema()).expect("contacts schema");
    AppSchema::from_json(&text).expect("contacts schema parses")
}

fn sample(dir: &Path, name: &str, rows: u64, bad_share: f64, seed: u64) -> Sample {
    let path = dir.join(name);
    let options = SampleOptions { rows, bad_share, seed, locale: Locale::Ru };
    let info = write_csv(&contacts(), &path, &options).expect("write sample");
    assert_eq!(info.rows, rows);
    Sample { path, planted: info.planted }
}

/// Rows of the big sample: above 50,000 valid rows, so `plan` picks a directory upload.
const BIG_ROWS: u64 = 53_000;

/// The big sample (~3% bad rows), written once per test process under cargo's test
/// scratch directory and shared by the tests that need ~50,000 rows.
fn big_sample() -> &'static Sample {
    static BIG: OnceLock<Sample> = OnceLock::new();
    BIG.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("offline");
        std::fs::create_dir_all(&dir).expect("scratch dir");
        let part = sample(&dir, &format!("contacts-big.{}.part.csv", std::process::id()), BIG_ROWS, 0.03, 7);
        let path = dir.join("contacts-big.csv");
        std::fs::rename(&part.path, &path).expect("rename sample");
        Sample { path, ..part }
    })
}

/// The columns the sample can break whose mistakes `fix` rewrites (Phone, Active).
fn fixable_columns() -> BTreeSet<String> {
    ["D", "H"].iter().map(|s| s.to_string()).collect()
}

/// `(row, column, value)` of every line of an errors .csv written by `validate --errors`.
fn errors_csv(path: &Path) -> BTreeSet<(u64, String, String)> {
    let rows = read_csv(path);
    assert_eq!(
        rows[0],
        ["row", "column", "header", "value", "rule", "message", "fix", "source"],
        "errors.csv header"
    );
    assert!(rows[1..].iter().all(|r| r[7] == "validation"), "every error of validate is a validation error");
    rows[1..]
        .iter()
        .map(|r| {
            (r[0].parse().unwrap_or_else(|_| panic!("row number `{}`", r[0])), r[1].clone(), r[3].clone())
        })
        .collect()
}

// ---------------------------------------------------------------- template

#[test]
fn template_xlsx_reads_back_with_display_names_and_an_example_row_that_validates() {
    let dir = tempdir();
    let d = dir.path();
    let run =
        elma(d, ["--json", "template", "--schema", &contacts_schema(), "-o", "T.xlsx"]).expect(exit::OK);
    let names: Vec<String> = contacts().fields.iter().map(|f| f.name.clone()).collect();
    let j = run.json();
    assert_eq!(j["app"], "crm.contacts", "{run}");
    assert_eq!(j["output"], "T.xlsx", "{run}");
    assert_eq!(j["columns"], json!(names), "{run}");
    assert_eq!(j["example_rows"], 1, "{run}");
    assert_eq!(j["skipped"], json!([]), "{run}");
    assert!(j["drop_downs"].as_u64().is_some_and(|n| n >= 1), "Segment gets a drop-down:{run}");

    let rows = read_xlsx(&d.join("T.xlsx"));
    assert_eq!(rows.len(), 2, "header and one example row: {rows:?}");
    assert_eq!(rows[0], names);
    assert!(rows[1].iter().filter(|c| !c.is_empty()).count() >= 10, "example row is filled: {:?}", rows[1]);

    // The example row is valid under the app's own rules, as the template promises.
    let run = elma(d, ["--json", "validate", "T.xlsx", "--schema", &contacts_schema(), "--keep-example-row"])
        .expect(exit::OK);
    assert_eq!((run.json()["rows"].as_u64(), run.json()["valid"].as_bool()), (Some(1), Some(true)), "{run}");
    // Left in place above real rows, it is reported and left out.
    let run = elma(d, ["--json", "validate", "T.xlsx", "--schema", &contacts_schema()]).expect(exit::OK);
    assert_eq!(run.json()["example_rows"], json!([2]), "{run}");
}

#[test]
fn template_csv_en_writes_an_example_only_the_en_locale_accepts() {
    let dir = tempdir();
    let d = dir.path();
    let run = elma(d, ["template", "--schema", &contacts_schema(), "-o", "T.csv", "--locale", "en"])
        .expect(exit::OK);
    assert!(run.stdout.is_empty(), "talk goes to stderr, not stdout:{run}");
    let rows = read_csv(&d.join("T.csv"));
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert_eq!(rows[0], contacts().fields.iter().map(|f| f.name.clone()).collect::<Vec<_>>());
    let birth = &rows[1][4];
    assert!(birth.contains('/') && (birth.ends_with("AM") || birth.ends_with("PM")), "en date `{birth}`");

    elma(d, ["validate", "T.csv", "--schema", &contacts_schema(), "--locale", "en", "--keep-example-row"])
        .expect(exit::OK);
    let run = elma(
        d,
        [
            "validate",
            "T.csv",
            "--schema",
            &contacts_schema(),
            "--locale",
            "ru",
            "--errors",
            "E.csv",
            "--keep-example-row",
        ],
    )
    .expect(exit::DATA);
    let errors = errors_csv(&d.join("E.csv"));
    assert!(
        errors.contains(&(2, "E".to_string(), birth.clone())),
        "the en date is an error under ru: {errors:?}{run}"
    );
}

#[test]
fn template_leaves_out_account_fields_and_no_example_writes_the_header_only() {
    let dir = tempdir();
    let d = dir.path();
    let run = elma(d, ["--json", "template", "--schema", &orders_schema(), "-o", "O.xlsx", "--no-example"])
        .expect(exit::OK);
    let j = run.json();
    assert_eq!(j["example_rows"], 0, "{run}");
    let skipped = j["skipped"].as_array().expect("skipped");
    assert_eq!(skipped.len(), 1, "{run}");
    assert!(skipped[0].as_str().is_some_and(|s| s.contains("ACCOUNT") || s.contains("account")), "{run}");
    let rows = read_xlsx(&d.join("O.xlsx"));
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0].len(), j["columns"].as_array().map_or(0, |c| c.len()));
    assert!(!rows[0].iter().any(|h| h == "Owner account"), "{rows:?}");
}

// ---------------------------------------------------------------- validate, big sample

#[test]
fn validate_big_sample_reports_exactly_the_planted_cells_as_csv_and_jsonl() {
    let big = big_sample();
    let dir = tempdir();
    let d = dir.path();
    let file = big.path.display().to_string();
    let planted = big.cells();
    assert!(planted.len() as u64 > BIG_ROWS / 50, "a few % of rows are bad: {}", planted.len());

    let run = elma(
        d,
        ["--json", "validate", &file, "--schema", &contacts_schema(), "--errors", "E.csv", "--top", "100"],
    )
    .expect(exit::DATA);
    let got = errors_csv(&d.join("E.csv"));
    let missing: Vec<_> = planted.difference(&got).take(5).collect();
    let extra: Vec<_> = got.difference(&planted).take(5).collect();
    assert!(missing.is_empty() && extra.is_empty(), "missing {missing:?}, extra {extra:?}{run}");

    let j = run.json();
    let n = planted.len() as u64;
    assert_eq!(j["rows"], BIG_ROWS, "{run}");
    assert_eq!(j["errors"], n, "{run}");
    assert_eq!(j["invalid_rows"], n, "one bad cell per bad row{run}");
    assert_eq!(j["valid_rows"], BIG_ROWS - n, "{run}");
    assert_eq!(j["valid"], false, "{run}");
    assert_eq!(j["stopped_early"], false, "{run}");
    let fixable = big.planted.iter().filter(|p| fixable_columns().contains(&letters(p.column))).count();
    assert_eq!(j["fixable"], fixable as u64, "phones and yes/да/1 are fixable{run}");
    let top = j["top"].as_array().expect("top");
    assert_eq!(top.iter().map(|t| t["count"].as_u64().unwrap_or(0)).sum::<u64>(), n, "{run}");
    for t in top {
        for key in ["header", "rule", "count", "fixable", "first_row", "example"] {
            assert!(!t[key].is_null(), "top entry lacks `{key}`: {t}");
        }
    }
    assert_eq!(j["outputs"]["errors"], "E.csv", "{run}");

    let run = elma(d, ["-q", "validate", &file, "--schema", &contacts_schema(), "--errors", "E.jsonl"])
        .expect(exit::DATA);
    let text = std::fs::read_to_string(d.join("E.jsonl")).expect("E.jsonl");
    let got: BTreeSet<(u64, String, String)> = text
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap_or_else(|e| panic!("line `{l}`: {e}"));
            for key in ["header", "rule", "message"] {
                assert!(v[key].is_string(), "`{key}` in {l}");
            }
            (
                v["row"].as_u64().unwrap_or(0),
                v["column"].as_str().unwrap_or("").into(),
                v["value"].as_str().unwrap_or("").into(),
            )
        })
        .collect();
    assert_eq!(got, planted, "{run}");
    assert!(run.stderr.is_empty(), "-q keeps stderr quiet:{run}");
    assert!(!run.stdout.is_empty(), "the verdict is data, on stdout:{run}");
}

#[test]
fn validate_big_sample_outputs_partition_the_rows_and_annotate_every_row() {
    let big = big_sample();
    let dir = tempdir();
    let d = dir.path();
    let file = big.path.display().to_string();
    let run = elma(
        d,
        [
            "--json",
            "validate",
            &file,
            "--schema",
            &contacts_schema(),
            "--annotated",
            "A.xlsx",
            "--valid-out",
            "V.csv",
            "--rejects-out",
            "R.csv",
        ],
    )
    .expect(exit::DATA);
    assert_eq!(
        run.json()["outputs"],
        json!({"errors": null, "annotated": "A.xlsx", "valid_out": "V.csv", "rejects_out": "R.csv"})
    );
    let input = read_csv(&big.path);
    let bad: BTreeSet<u64> = big.planted.iter().map(|p| p.row).collect();
    let valid = read_csv(&d.join("V.csv"));
    let rejects = read_csv(&d.join("R.csv"));
    assert_eq!(valid[0], input[0]);
    assert_eq!(rejects[0][..13], input[0][..]);
    assert_eq!(rejects[0][13], "Errors");
    assert_eq!(
        valid.len() - 1 + rejects.len() - 1,
        BIG_ROWS as usize,
        "the two files hold every row once{run}"
    );
    let want_valid: Vec<&Vec<String>> = input
        .iter()
        .enumerate()
        .skip(1)
        .filter(|(i, _)| !bad.contains(&(*i as u64 + 1)))
        .map(|(_, r)| r)
        .collect();
    assert!(
        valid[1..].iter().eq(want_valid.iter().copied()),
        "valid rows are the unplanted input rows, in order"
    );
    for (p, r) in big.planted.iter().zip(&rejects[1..]) {
        let original = &input[p.row as usize - 1];
        assert_eq!(r[..13], original[..], "row {} kept as is", p.row);
        let header = &input[0][p.column];
        assert!(r[13].contains(header.as_str()), "reason of row {} names `{header}`: {}", p.row, r[13]);
    }

    let mut book = calamine::open_workbook_auto(d.join("A.xlsx")).expect("open A.xlsx");
    assert_eq!(book.sheet_names(), ["Data", "Errors"]);
    let data = book.worksheet_range("Data").expect("Data");
    assert_eq!(data.height(), input.len(), "annotated keeps every row");
    let mut typed = 0;
    for (r, (got, want)) in data.rows().zip(&input).enumerate() {
        for (c, want) in want.iter().enumerate() {
            let cell = got.get(c).unwrap_or(&Data::Empty);
            let same = match cell {
                Data::String(s) => s == want,
                Data::Empty => want.is_empty(),
                Data::Float(f) => {
                    typed += 1;
                    want.replace(',', ".").parse::<f64>().is_ok_and(|w| w == *f)
                }
                Data::DateTime(_) => {
                    typed += 1;
                    !want.is_empty()
                }
                other => other.to_string() == *want,
            };
            assert!(same, "row {} column {c}: {cell:?} for the input's {want:?}", r + 1);
        }
    }
    assert!(typed > BIG_ROWS as usize, "numbers and dates are typed cells: {typed}");
}

#[test]
fn validate_max_errors_stops_early_with_exit_1() {
    let big = big_sample();
    let dir = tempdir();
    let d = dir.path();
    let file = big.path.display().to_string();
    let run = elma(
        d,
        [
            "--json",
            "validate",
            &file,
            "--schema",
            &contacts_schema(),
            "--max-errors",
            "25",
            "--errors",
            "E.csv",
        ],
    )
    .expect(exit::DATA);
    let j = run.json();
    assert_eq!(j["stopped_early"], true, "{run}");
    assert_eq!(j["valid"], false, "{run}");
    assert!(j["rows"].as_u64().is_some_and(|r| r < BIG_ROWS), "it stopped before the end{run}");
    let first: BTreeSet<_> = big.cells().into_iter().take(25).collect();
    assert_eq!(errors_csv(&d.join("E.csv")), first, "exactly the first 25 errors{run}");
}

#[test]
fn validate_clean_file_exits_0_and_keeps_every_row_valid() {
    let dir = tempdir();
    let d = dir.path();
    let s = sample(d, "clean.csv", 2_000, 0.0, 3);
    assert!(s.planted.is_empty());
    let file = s.path.display().to_string();
    let run = elma(
        d,
        [
            "--json",
            "validate",
            &file,
            "--schema",
            &contacts_schema(),
            "--valid-out",
            "V.xlsx",
            "--rejects-out",
            "R.csv",
        ],
    )
    .expect(exit::OK);
    let j = run.json();
    assert_eq!(
        (j["valid"].clone(), j["rows"].clone(), j["valid_rows"].clone()),
        (json!(true), json!(2_000), json!(2_000)),
        "{run}"
    );
    assert_eq!(
        (j["errors"].clone(), j["invalid_rows"].clone(), j["top"].clone()),
        (json!(0), json!(0), json!([])),
        "{run}"
    );
    assert!(
        read_xlsx(&d.join("V.xlsx")) == trimmed(&read_csv(&s.path)),
        "every row is in the valid .xlsx, unchanged"
    );
    assert_eq!(read_csv(&d.join("R.csv")).len(), 1, "rejects hold the header only");
    let run = elma(d, ["validate", &file, "--schema", &contacts_schema()]).expect(exit::OK);
    assert!(run.stdout.contains("valid") && run.stdout.contains("2,000 rows"), "{run}");
}

// ---------------------------------------------------------------- other producers' .xlsx

/// The contacts schema with `Company` as text: the fixtures hold company names there.
fn fixtures_schema(dir: &Path) -> String {
    let mut schema: Value =
        serde_json::from_str(&std::fs::read_to_string(contacts_schema()).expect("schema")).expect("json");
    for f in schema["fields"].as_array_mut().expect("fields") {
        if f["code"] == "company" {
            f["type"] = json!("STRING");
        }
    }
    let path = dir.join("contacts-fixtures.schema.json");
    std::fs::write(&path, schema.to_string()).expect("write schema");
    path.display().to_string()
}

#[test]
fn validate_xlsx_written_by_openpyxl_xlsxwriter_and_libreoffice() {
    let dir = tempdir();
    let d = dir.path();
    let schema = fixtures_schema(d);
    // The data set's real mistakes, the same in every producer's file.
    let common = [
        (3, "D", "+7 (912) 555-44-33", "phone_format"),
        (3, "J", "example.org", "not_a_link"),
        (5, "C", "not-an-email", "not_an_email"),
        (5, "D", "8800", "not_a_phone"),
        (9, "D", "00123", "not_a_phone"),
    ];
    type Cell<'a> = (u64, &'a str, &'a str, &'a str);
    let cases: [(&str, Option<Cell>); 3] = [
        // openpyxl stores the text `=not a formula` as a formula with no cached value.
        ("contacts_openpyxl.xlsx", Some((7, "M", "=not a formula", "formula_without_value"))),
        ("contacts_xlsxwriter.xlsx", None),
        // LibreOffice evaluated it to `#VALUE!`.
        ("contacts_libreoffice.xlsx", Some((7, "M", "#VALUE!", "error_cell"))),
    ];
    for (name, own) in cases {
        let run = elma(
            d,
            [
                "--json",
                "validate",
                &fixture(name),
                "--schema",
                &schema,
                "--errors",
                "E.csv",
                "--annotated",
                "A.xlsx",
                "--valid-out",
                "V.xlsx",
                "--rejects-out",
                "R.csv",
            ],
        )
        .expect(exit::DATA);
        let mut want: BTreeSet<(String, String, String, String)> = common
            .iter()
            .map(|(r, c, v, rule)| (r.to_string(), c.to_string(), v.to_string(), rule.to_string()))
            .collect();
        if let Some((r, c, v, rule)) = own {
            want.insert((r.to_string(), c.to_string(), v.to_string(), rule.to_string()));
        }
        let got: BTreeSet<(String, String, String, String)> = read_csv(&d.join("E.csv"))[1..]
            .iter()
            .map(|r| (r[0].clone(), r[1].clone(), r[3].clone(), r[4].clone()))
            .collect();
        assert_eq!(got, want, "{name}{run}");
        let j = run.json();
        assert_eq!(j["rows"], 10, "{name}{run}");
        assert_eq!(j["errors"], want.len(), "{name}{run}");
        assert_eq!(j["invalid_rows"], 4 - u64::from(own.is_none()), "{name}: rows 3, 5, 9 (and 7){run}");
        assert_eq!(j["fixable"], 1, "{name}: the phone with + ( ) -{run}");
        assert!(j["reader"].as_str().is_some_and(|r| r.starts_with("XLSX")), "{name}{run}");
        let annotated = read_xlsx(&d.join("A.xlsx"));
        assert_eq!(annotated.len(), 11, "{name}: header and every row");
        assert_eq!(annotated[0][0], "Name");
        assert_eq!(annotated[1][0], "Anna");
        let invalid = j["invalid_rows"].as_u64().unwrap_or(0) as usize;
        assert_eq!(read_xlsx(&d.join("V.xlsx")).len(), 11 - invalid, "{name}");
        let rejects = read_csv(&d.join("R.csv"));
        assert_eq!(rejects.len(), 1 + invalid, "{name}");
        assert_eq!(rejects[1][0], "Boris", "{name}: row 3 is the first bad row");
    }
}

// ---------------------------------------------------------------- ugly files

/// Name, Email, Comment in Russian, as the cp1251 fixture has them.
fn ru_schema(dir: &Path) -> String {
    write_schema(
        dir,
        "ru.schema.json",
        &[
            ("__name", "Имя", "STRING", true),
            ("email", "Почта", "EMAIL", false),
            ("comment", "Комментарий", "TEXT", false),
        ],
    )
}

#[test]
fn bom_utf8_csv_reads_its_first_header_without_the_bom() {
    let dir = tempdir();
    let d = dir.path();
    let run = elma(d, ["--json", "validate", &fixture("bom_utf8.csv"), "--schema", &contacts_schema()])
        .expect(exit::OK);
    let j = run.json();
    assert_eq!(j["rows"], 2, "{run}");
    assert!(j["reader"].as_str().is_some_and(|r| r.contains("BOM")), "{run}");
}

#[test]
fn cp1251_semicolon_csv_is_detected_and_can_be_named() {
    let dir = tempdir();
    let d = dir.path();
    let schema = ru_schema(d);
    let file = fixture("cp1251_semicolon.csv");
    let run =
        elma(d, ["--json", "validate", &file, "--schema", &schema, "--valid-out", "V.csv"]).expect(exit::OK);
    assert_eq!(run.json()["reader"], "CSV, windows-1251, delimiter ';'", "{run}");
    assert_eq!(run.json()["rows"], 2, "{run}");
    let rows = read_csv(&d.join("V.csv"));
    assert_eq!(rows[0], ["Имя", "Почта", "Комментарий"]);
    assert_eq!(rows[2][2], "цитата \"в кавычках\"", "`\"\"` inside quotes, decoded from Windows-1251");

    let run = elma(
        d,
        ["--json", "validate", &file, "--schema", &schema, "--encoding", "windows-1251", "--delimiter", ";"],
    )
    .expect(exit::OK);
    assert_eq!(run.json()["rows"], 2, "{run}");
}

#[test]
fn forced_utf8_on_a_cp1251_file_names_the_byte_offset_and_row() {
    let dir = tempdir();
    let d = dir.path();
    let file = fixture("cp1251_semicolon.csv");
    let run =
        elma(d, ["validate", &file, "--schema", &ru_schema(d), "--encoding", "utf-8"]).expect(exit::DATA);
    run.stderr_has(&["cp1251_semicolon.csv", "row 1", "byte offset 0", "UTF-8", "--encoding windows-1251"]);
    // A bad byte further down names its own row and offset.
    let mut bytes = "Имя,Почта\nАнна,a@example.com\n".as_bytes().to_vec();
    let offset = bytes.len() + 5;
    bytes.extend_from_slice(b"Boris\xff,b@example.com\n");
    std::fs::write(d.join("bad-byte.csv"), &bytes).expect("write");
    let run = elma(d, ["validate", "bad-byte.csv", "--schema", &ru_schema(d), "--encoding", "utf-8"])
        .expect(exit::DATA);
    run.stderr_has(&["bad-byte.csv", "row 3", &format!("byte offset {offset}")]);
}

#[test]
fn unknown_encoding_or_delimiter_is_a_usage_error() {
    let dir = tempdir();
    let d = dir.path();
    let file = fixture("bom_utf8.csv");
    elma(d, ["validate", &file, "--schema", &contacts_schema(), "--encoding", "klingon"])
        .expect(exit::USAGE)
        .stderr_has(&["`klingon`", "windows-1251"]);
    elma(d, ["validate", &file, "--schema", &contacts_schema(), "--delimiter", "x"])
        .expect(exit::USAGE)
        .stderr_has(&["`x`"]);
}

#[test]
fn tab_delimited_csv_is_detected() {
    let dir = tempdir();
    let d = dir.path();
    let schema = write_schema(
        d,
        "s.json",
        &[
            ("__name", "Name", "STRING", true),
            ("email", "Email", "EMAIL", false),
            ("amount", "Amount", "MONEY", false),
        ],
    );
    let run = elma(
        d,
        ["--json", "validate", &fixture("tab_delimited.csv"), "--schema", &schema, "--errors", "E.csv"],
    )
    .expect(exit::DATA);
    assert_eq!(run.json()["reader"], "CSV, utf-8, delimiter '\\t'", "{run}");
    // `1,5` is a ru amount; `2;5` is not a number. Both prove `,` and `;` stayed inside cells.
    assert_eq!(
        errors_csv(&d.join("E.csv")),
        BTreeSet::from([(3, "C".to_string(), "2;5".to_string())]),
        "{run}"
    );
}

#[test]
fn quoted_line_breaks_keep_spreadsheet_row_numbers() {
    let dir = tempdir();
    let d = dir.path();
    let text = "Name,Comment,Email\r\n\
                Anna,\"line 1\nline 2\nline 3\",a@example.com\r\n\
                Boris,\"say \"\"hi\"\",\r\nthen leave\",not-an-email\r\n\
                Vera,\"\",v@example.com\r\n\
                Gleb,\"x\ny\",also-bad\r\n";
    std::fs::write(d.join("q.csv"), text).expect("write");
    let run = elma(d, ["validate", "q.csv", "--schema", &contacts_schema(), "--errors", "E.csv"])
        .expect(exit::DATA);
    let want = BTreeSet::from([
        (3, "C".to_string(), "not-an-email".to_string()),
        (5, "C".to_string(), "also-bad".to_string()),
    ]);
    assert_eq!(errors_csv(&d.join("E.csv")), want, "rows count records, not lines{run}");
    // The fixture too: three records over six lines, all valid.
    let schema = write_schema(
        d,
        "s.json",
        &[
            ("__name", "Name", "STRING", true),
            ("comment", "Comment", "TEXT", false),
            ("amount", "Amount", "MONEY", false),
        ],
    );
    let run = elma(d, ["--json", "validate", &fixture("quoted_newlines.csv"), "--schema", &schema])
        .expect(exit::OK);
    assert_eq!(run.json()["rows"], 3, "{run}");
}

#[test]
fn ragged_rows_extra_cells_are_an_error_naming_the_column_and_missing_cells_are_empty() {
    let dir = tempdir();
    let d = dir.path();
    let run = elma(
        d,
        ["--json", "validate", &fixture("ragged.csv"), "--schema", &contacts_schema(), "--errors", "E.csv"],
    )
    .expect(exit::DATA);
    let rows = read_csv(&d.join("E.csv"));
    assert_eq!(rows.len(), 2, "one error, for row 2: {rows:?}{run}");
    assert_eq!(
        (rows[1][0].as_str(), rows[1][1].as_str(), rows[1][3].as_str(), rows[1][4].as_str()),
        ("2", "D", "extra", "extra_cell")
    );
    assert!(rows[1][5].contains("column 4 (D)"), "{:?}", rows[1]);
    let j = run.json();
    assert_eq!(
        (j["rows"].clone(), j["valid_rows"].clone(), j["invalid_rows"].clone()),
        (json!(3), json!(2), json!(1)),
        "short rows are valid{run}"
    );
}

#[test]
fn empty_files_say_so_and_exit_1() {
    let dir = tempdir();
    let d = dir.path();
    for name in ["empty.csv", "empty.xlsx"] {
        let file = fixture(name);
        for cmd in ["validate", "plan"] {
            elma(d, [cmd, &file, "--schema", &contacts_schema()]).expect(exit::DATA).stderr_has(&[
                name,
                "empty",
                "no header row",
            ]);
        }
        elma(d, ["fix", &file, "--schema", &contacts_schema(), "-o", "F.csv"])
            .expect(exit::DATA)
            .stderr_has(&[name, "no header row"]);
        elma(d, ["split", &file, "-o", "chunks"]).expect(exit::DATA).stderr_has(&[name, "no header row"]);
    }
}

#[test]
fn header_only_files_are_valid_with_zero_rows_but_nothing_to_plan() {
    let dir = tempdir();
    let d = dir.path();
    let schema = write_schema(
        d,
        "s.json",
        &[
            ("__name", "Name", "STRING", true),
            ("email", "Email", "EMAIL", false),
            ("phone", "Phone", "PHONE", false),
        ],
    );
    for name in ["header_only.csv", "header_only.xlsx"] {
        let file = fixture(name);
        let run = elma(d, ["--json", "validate", &file, "--schema", &schema]).expect(exit::OK);
        assert_eq!(
            (run.json()["rows"].clone(), run.json()["valid"].clone()),
            (json!(0), json!(true)),
            "{run}"
        );
        elma(d, ["plan", &file, "--schema", &schema]).expect(exit::DATA).stderr_has(&["no data rows"]);
    }
}

#[test]
fn header_errors_are_all_listed_and_ignore_unknown_skips_unknown_columns() {
    let dir = tempdir();
    let d = dir.path();
    std::fs::write(d.join("h.csv"), "Email,email,Bogus,Phone\na@example.com,b@example.com,1,79125554433\n")
        .expect("write");
    let run = elma(d, ["validate", "h.csv", "--schema", &contacts_schema(), "--errors", "E.csv"])
        .expect(exit::DATA);
    run.stderr_has(&[
        "h.csv",
        "`Name`",
        "has no column",
        "2 (B) `email`",
        "both name the field `Email`",
        "3 (C) `Bogus`",
        "--ignore-unknown",
    ]);
    // The errors file lists them too (rule `header`, row 1), never left stale.
    let lines = read_csv(&d.join("E.csv"));
    assert_eq!(lines.len(), 4, "header + 3 problems: {lines:?}");
    assert!(lines[1..].iter().all(|l| l[0] == "1" && l[4] == "header"), "{lines:?}");
    let run = elma(d, ["--json", "validate", "h.csv", "--schema", &contacts_schema()]).expect(exit::DATA);
    let j = run.json();
    assert_eq!(j["valid"], false, "{run}");
    assert_eq!(j["header_errors"].as_array().map(Vec::len), Some(3), "{run}");

    std::fs::write(d.join("u.csv"), "Name,Bogus\nAnna,1\n").expect("write");
    elma(d, ["validate", "u.csv", "--schema", &contacts_schema()])
        .expect(exit::DATA)
        .stderr_has(&["`Bogus`"]);
    elma(d, ["validate", "u.csv", "--schema", &contacts_schema(), "--ignore-unknown"]).expect(exit::OK);
}

#[test]
fn stray_cell_at_xfd1048576_is_streamed_and_reported_at_its_cell() {
    let dir = tempdir();
    let d = dir.path();
    let schema =
        write_schema(d, "s.json", &[("__name", "Name", "STRING", true), ("email", "Email", "EMAIL", false)]);
    let started = Instant::now();
    let run = elma(
        d,
        ["validate", &fixture("stray_cell_xfd1048576.xlsx"), "--schema", &schema, "--errors", "E.csv"],
    )
    .expect(exit::DATA);
    assert!(started.elapsed() < Duration::from_secs(20), "a stray far cell must not make reading slow{run}");
    let got = errors_csv(&d.join("E.csv"));
    assert!(got.contains(&(1_048_576, "XFD".to_string(), "stray".to_string())), "{got:?}{run}");
    assert!(got.iter().all(|(row, _, _)| *row == 1_048_576), "only the stray row is bad: {got:?}{run}");
}

#[test]
fn formula_without_cached_value_is_an_error_for_that_cell() {
    let dir = tempdir();
    let d = dir.path();
    let schema = write_schema(
        d,
        "s.json",
        &[
            ("__name", "Item", "STRING", true),
            ("price", "Price", "FLOAT", false),
            ("quantity", "Quantity", "FLOAT", false),
            ("total", "Total", "FLOAT", false),
        ],
    );
    let run =
        elma(d, ["validate", &fixture("formula_no_value.xlsx"), "--schema", &schema, "--errors", "E.csv"])
            .expect(exit::DATA);
    let rows = read_csv(&d.join("E.csv"));
    let got: Vec<(&str, &str, &str, &str)> =
        rows[1..].iter().map(|r| (r[0].as_str(), r[1].as_str(), r[3].as_str(), r[4].as_str())).collect();
    assert_eq!(
        got,
        [
            ("2", "D", "=B2*C2", "formula_without_value"),
            ("3", "D", "=B3*C3", "formula_without_value"),
            ("4", "D", "=SUM(D2:D3)", "formula_without_value")
        ],
        "{run}"
    );
    assert!(rows[1][5].contains("saved value") || rows[1][5].contains("cached"), "{:?}", rows[1]);
}

#[test]
fn error_cells_like_na_are_errors_for_their_cells() {
    let dir = tempdir();
    let d = dir.path();
    let schema = write_schema(
        d,
        "s.json",
        &[
            ("__name", "Name", "STRING", true),
            ("amount", "Amount", "MONEY", false),
            ("note", "Note", "TEXT", false),
        ],
    );
    let run = elma(d, ["validate", &fixture("error_cells.xlsx"), "--schema", &schema, "--errors", "E.csv"])
        .expect(exit::DATA);
    let want = BTreeSet::from([
        (2, "B".to_string(), "#N/A".to_string()),
        (3, "B".to_string(), "#DIV/0!".to_string()),
        (4, "B".to_string(), "#VALUE!".to_string()),
    ]);
    assert_eq!(errors_csv(&d.join("E.csv")), want, "the text `#not an error` is not an error{run}");
}

#[test]
fn a_100000_character_cell_is_kept_in_csv_and_refused_clearly_in_xlsx() {
    let dir = tempdir();
    let d = dir.path();
    let long = "ж".repeat(100_000);
    std::fs::write(
        d.join("long.csv"),
        format!("Name,Comment,Email\nBig,{long},a@example.com\nSmall,ok,bad-email\n"),
    )
    .expect("write");
    let run = elma(
        d,
        ["validate", "long.csv", "--schema", &contacts_schema(), "--errors", "E.csv", "--valid-out", "V.csv"],
    )
    .expect(exit::DATA);
    assert_eq!(
        errors_csv(&d.join("E.csv")),
        BTreeSet::from([(3, "C".to_string(), "bad-email".to_string())]),
        "{run}"
    );
    assert_eq!(read_csv(&d.join("V.csv"))[1][1], long, "the long cell is kept whole in a .csv");

    elma(d, ["split", "long.csv", "-o", "csv-chunks"]).expect(exit::OK);
    assert_eq!(read_csv(&d.join("csv-chunks/long-00001.csv"))[1][1], long);
    // An .xlsx cell holds at most 32,767 characters: a clear error, not a broken file.
    elma(d, ["split", "long.csv", "-o", "xlsx-chunks", "--format", "xlsx"]).expect(exit::DATA).stderr_has(&[
        "long-00001.xlsx",
        "row 2, column 2",
        "100000 characters",
        "32767",
    ]);
    elma(d, ["validate", "long.csv", "--schema", &contacts_schema(), "--annotated", "A.xlsx"])
        .expect(exit::DATA)
        .stderr_has(&["A.xlsx", "row 2, column 2", "32767"]);
}

#[test]
fn a_file_that_is_not_a_workbook_is_named_with_the_reason_once() {
    let dir = tempdir();
    let d = dir.path();
    std::fs::write(d.join("fake.xlsx"), "Name,Email\nAnna,a@example.com\n").expect("write");
    let run = elma(d, ["validate", "fake.xlsx", "--schema", &contacts_schema()]).expect(exit::DATA);
    run.stderr_has(&["`fake.xlsx`", "workbook"]);
    let first_line = run.stderr.lines().next().unwrap_or("");
    let eocd = first_line.matches("EOCD").count();
    assert!(eocd <= 1, "the cause is shown once:{run}");

    // An extension that names no sheet format is a usage error.
    std::fs::write(d.join("old.xls"), "Name\nAnna\n").expect("write");
    elma(d, ["validate", "old.xls", "--schema", &contacts_schema()])
        .expect(exit::USAGE)
        .stderr_has(&["old.xls", ".csv or .xlsx"]);
}

#[test]
fn missing_input_or_schema_files_are_usage_errors_naming_the_file() {
    let dir = tempdir();
    let d = dir.path();
    for cmd in ["validate", "plan"] {
        elma(d, [cmd, "missing.csv", "--schema", &contacts_schema()])
            .expect(exit::USAGE)
            .stderr_has(&["`missing.csv`", "No such file"]);
    }
    elma(d, ["split", "missing.xlsx", "-o", "out"]).expect(exit::USAGE).stderr_has(&["`missing.xlsx`"]);
    elma(d, ["fix", "missing.csv", "--schema", &contacts_schema(), "-o", "F.csv"])
        .expect(exit::USAGE)
        .stderr_has(&["`missing.csv`"]);
    elma(d, ["validate", &fixture("bom_utf8.csv"), "--schema", "missing.schema.json"])
        .expect(exit::USAGE)
        .stderr_has(&["`missing.schema.json`"]);
}

// ---------------------------------------------------------------- fix

const MANAGER: &str = "29cadb73-8246-4f3d-9992-87a4a1ad20cf";

#[test]
fn fix_rewrites_each_fixable_kind_lists_every_change_and_leaves_the_rest() {
    let dir = tempdir();
    let d = dir.path();
    let text = format!(
        "Name,Phone,Active,Birth date,Segment,Manager,Email\n\
         Anna,+7 (912) 555-44-33,yes,2001-02-03,retail,{MANAGER},a@example.com\n\
         Boris,79125554433,да,04.07.1977 13:27,Retail,[{MANAGER}],no-at-sign\n\
         Vera,8 912 555,0,31.02.2001 10:00,Nowhere,[bad],v@example.com\n"
    );
    std::fs::write(d.join("in.csv"), text).expect("write");
    let run = elma(d, ["fix", "in.csv", "--schema", &contacts_schema(), "-o", "out.csv"]).expect(exit::DATA);
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines.len(), 7, "one stdout line per change{run}");
    for (row, col, before, after) in [
        (2, "B", "+7 (912) 555-44-33", "79125554433"),
        (2, "C", "yes", "true"),
        (2, "F", MANAGER, &format!("[{MANAGER}]")),
        (2, "E", "retail", "Retail"),
        (3, "C", "да", "true"),
        (4, "C", "0", "false"),
    ] {
        let prefix = format!("row {row}, column {col} ");
        assert!(
            lines.iter().any(|l| l.starts_with(&prefix) && l.contains(&format!("`{before}` → `{after}`"))),
            "no change `{before}` → `{after}` at {row}{col}{run}"
        );
    }
    assert!(
        lines.iter().any(|l| l.starts_with("row 2, column D ") && l.contains("`2001-02-03` → `03.02.2001")),
        "{run}"
    );

    let out = read_csv(&d.join("out.csv"));
    assert_eq!(out[1][..3], ["Anna", "79125554433", "true"]);
    assert_eq!(out[2][6], "no-at-sign", "non-fixable cells stay as they were");
    assert_eq!(out[3][1], "8 912 555", "a short phone is not guessed");

    // The same with --changes and --json: a file of changes, a summary on stdout.
    let run = elma(
        d,
        ["--json", "fix", "in.csv", "--schema", &contacts_schema(), "-o", "out2.csv", "--changes", "C.csv"],
    )
    .expect(exit::DATA);
    let j = run.json();
    assert_eq!(
        (j["rows"].clone(), j["rows_changed"].clone(), j["changes"].clone(), j["still_invalid_rows"].clone()),
        (json!(3), json!(3), json!(7), json!(2)),
        "{run}"
    );
    let changes = read_csv(&d.join("C.csv"));
    assert_eq!(changes[0], ["row", "column", "header", "before", "after", "rule"]);
    assert_eq!(changes.len(), 8, "{changes:?}");
    assert_eq!(std::fs::read(d.join("out.csv")).ok(), std::fs::read(d.join("out2.csv")).ok());

    let run = elma(d, ["validate", "out.csv", "--schema", &contacts_schema(), "--errors", "E.csv"])
        .expect(exit::DATA);
    let left: BTreeSet<(u64, String)> =
        errors_csv(&d.join("E.csv")).into_iter().map(|(r, c, _)| (r, c)).collect();
    let want: BTreeSet<(u64, String)> =
        [(3, "G"), (4, "B"), (4, "D"), (4, "E"), (4, "F")].iter().map(|(r, c)| (*r, c.to_string())).collect();
    assert_eq!(left, want, "only the non-fixable cells are left{run}");

    elma(d, ["fix", "in.csv", "--schema", &contacts_schema(), "-o", "in.csv"])
        .expect(exit::USAGE)
        .stderr_has(&["-o `in.csv` is the input file", "never written over"]);
}

/// No output flag writes over the input, however the path is spelled: `./in.csv`, a
/// symbolic link, a hard link. The input is byte for byte as it was.
#[test]
fn no_output_writes_over_the_input_however_it_is_named() {
    let dir = tempdir();
    let d = dir.path();
    let s = sample(d, "in.csv", 200, 0.05, 3);
    let before = std::fs::read(&s.path).unwrap();
    std::os::unix::fs::symlink("in.csv", d.join("link.csv")).unwrap();
    std::fs::hard_link(d.join("in.csv"), d.join("hard.csv")).unwrap();
    let schema = contacts_schema();
    let cases: Vec<Vec<&str>> = vec![
        vec!["fix", "in.csv", "--schema", &schema, "-o", "./in.csv"],
        vec!["fix", "in.csv", "--schema", &schema, "-o", "out.csv", "--changes", "in.csv"],
        vec!["fix", "in.csv", "--schema", &schema, "-o", "link.csv"],
        vec!["validate", "in.csv", "--schema", &schema, "--errors", "in.csv"],
        vec!["validate", "in.csv", "--schema", &schema, "--valid-out", "./in.csv"],
        vec!["validate", "in.csv", "--schema", &schema, "--rejects-out", "hard.csv"],
        vec!["validate", "link.csv", "--schema", &schema, "--errors", "in.csv"],
    ];
    for args in cases {
        let flag = args.iter().rev().nth(1).unwrap().to_string();
        elma(d, &args).expect(exit::USAGE).stderr_has(&[&format!("{flag} `"), "is the input file"]);
        assert_eq!(std::fs::read(&s.path).unwrap(), before, "{args:?} wrote over the input");
    }
    assert!(!d.join("out.csv").exists(), "refused before anything is written");
}

#[test]
fn fix_never_guesses_an_ambiguous_date_under_en() {
    let dir = tempdir();
    let d = dir.path();
    std::fs::write(d.join("in.csv"), "Name,Birth date\nAnna,01.02.2003\nBoris,2003-02-01\n").expect("write");
    let run = elma(d, ["fix", "in.csv", "--schema", &contacts_schema(), "--locale", "en", "-o", "out.csv"])
        .expect(exit::DATA);
    assert!(!run.stdout.contains("01.02.2003"), "the ambiguous date is not changed{run}");
    assert!(run.stdout.contains("`2003-02-01` →"), "the ISO date is{run}");
    let out = read_csv(&d.join("out.csv"));
    assert_eq!(out[1][1], "01.02.2003");
    let run = elma(
        d,
        ["validate", "out.csv", "--schema", &contacts_schema(), "--locale", "en", "--errors", "E.csv"],
    )
    .expect(exit::DATA);
    assert_eq!(
        errors_csv(&d.join("E.csv")),
        BTreeSet::from([(2, "B".to_string(), "01.02.2003".to_string())]),
        "{run}"
    );
}

// ---------------------------------------------------------------- split

/// Checks a split directory: the manifest's bytes and sha256 match each file, first/last
/// rows line up, and returns the chunks' rows (header checked and removed), in order.
fn check_chunks(
    dir: &Path,
    header: &[String],
    rows_per_chunk: u64,
    total: u64,
    read: fn(&Path) -> Vec<Vec<String>>,
) -> Vec<Vec<String>> {
    let manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("manifest.json")).expect("manifest"))
            .expect("json");
    assert_eq!(manifest["rows"], total, "{manifest}");
    assert_eq!(manifest["rows_per_chunk"], rows_per_chunk, "{manifest}");
    let chunks = manifest["chunks"].as_array().expect("chunks");
    assert_eq!(chunks.len() as u64, total.div_ceil(rows_per_chunk), "{manifest}");
    let mut next_row = 2;
    let mut all = Vec::new();
    for c in chunks {
        let file = dir.join(c["file"].as_str().expect("file"));
        let bytes = std::fs::read(&file).expect("chunk file");
        assert_eq!(c["bytes"], bytes.len(), "bytes of {}", file.display());
        assert_eq!(c["sha256"], sha256_hex(&bytes), "sha256 of {}", file.display());
        let rows = read(&file);
        assert_eq!(rows[0], header, "{} repeats the header", file.display());
        let n = c["rows"].as_u64().expect("rows");
        assert_eq!(rows.len() as u64 - 1, n, "{}", file.display());
        assert_eq!(
            (c["first_row"].as_u64(), c["last_row"].as_u64()),
            (Some(next_row), Some(next_row + n - 1)),
            "{c}"
        );
        next_row += n;
        all.extend(rows.into_iter().skip(1));
    }
    all
}

#[test]
fn split_csv_chunks_repeat_the_header_match_the_manifest_and_concatenate_to_the_input() {
    let dir = tempdir();
    let d = dir.path();
    let s = sample(d, "contacts.csv", 4_500, 0.03, 11);
    let input = read_csv(&s.path);
    assert!(input.iter().any(|r| r[12].contains('\n')), "the sample has quoted line breaks");
    let run = elma(d, ["--json", "split", "contacts.csv", "-o", "chunks", "--rows", "1000"]).expect(exit::OK);
    let j = run.json();
    assert_eq!(
        j,
        json!({"file": "contacts.csv", "output": "chunks", "manifest": "chunks/manifest.json", "rows": 4_500, "chunks": 5, "format": "csv", "removed": [], "exit_code": 0}),
        "{run}"
    );
    let rows = check_chunks(&d.join("chunks"), &input[0], 1_000, 4_500, read_csv);
    assert!(rows == input[1..], "concatenated chunks are the input rows exactly");
}

#[test]
fn split_xlsx_chunks_read_back_and_open_in_libreoffice() {
    let dir = tempdir();
    let d = dir.path();
    let s = sample(d, "contacts.csv", 2_500, 0.0, 12);
    let input = trimmed(&read_csv(&s.path));
    elma(d, ["split", "contacts.csv", "-o", "chunks", "--rows", "1000", "--format", "xlsx"]).expect(exit::OK);
    let rows = check_chunks(&d.join("chunks"), &input[0], 1_000, 2_500, read_xlsx);
    assert!(rows == input[1..], "concatenated .xlsx chunks are the input rows exactly");

    let Some(soffice) = ["soffice", "libreoffice"]
        .into_iter()
        .find(|b| Command::new(b).arg("--version").output().is_ok_and(|o| o.status.success()))
    else {
        println!("note: soffice is not installed; skipped opening the .xlsx chunks in LibreOffice");
        return;
    };
    let profile = format!("-env:UserInstallation=file://{}", d.join("lo-profile").display());
    let out = Command::new(soffice)
        .args([profile.as_str(), "--headless", "--convert-to", "csv", "--outdir"])
        .arg(d.join("lo"))
        .arg(d.join("chunks/contacts-00003.xlsx"))
        .output()
        .expect("soffice runs");
    let converted = d.join("lo/contacts-00003.csv");
    assert!(
        converted.exists(),
        "LibreOffice could not open the chunk:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let lo = trimmed(&read_csv(&converted));
    assert_eq!(lo[0], input[0]);
    assert!(
        lo[1..] == input[2_001..],
        "LibreOffice reads the chunk's 500 rows as the input's rows 2002..2501"
    );
}

#[test]
fn split_refuses_zero_rows_per_chunk() {
    let dir = tempdir();
    elma(dir.path(), ["split", &fixture("bom_utf8.csv"), "-o", "c", "--rows", "0"])
        .expect(exit::USAGE)
        .stderr_has(&["--rows"]);
}

// ---------------------------------------------------------------- plan

#[test]
fn plan_with_event_handlers_uses_1000_row_temporary_chunks_with_a_pause_and_says_why() {
    let dir = tempdir();
    let d = dir.path();
    let s = sample(d, "contacts.csv", 3_500, 0.03, 13);
    let invalid = s.planted.len() as u64;
    let run =
        elma(d, ["--json", "plan", "contacts.csv", "--schema", &contacts_schema(), "--with-event-handlers"])
            .expect(exit::OK);
    let j = run.json();
    let valid = 3_500 - invalid;
    assert_eq!(
        (j["rows"].clone(), j["valid_rows"].clone(), j["invalid_rows"].clone()),
        (json!(3_500), json!(valid), json!(invalid)),
        "{run}"
    );
    let p = &j["plan"];
    assert_eq!(p["upload"], "temporary", "{run}");
    assert_eq!(p["rows_per_chunk"], 1_000, "{run}");
    assert_eq!(p["chunks"], valid.div_ceil(1_000), "{run}");
    assert_eq!(p["with_event_handlers"], true, "{run}");
    assert!(p["pause"].as_f64().is_some_and(|s| s > 0.0), "{run}");
    assert!(p["estimate"].as_f64().is_some_and(|s| s > 0.0), "{run}");
    assert!(p["reasons"].as_array().is_some_and(|r| r.len() >= 2), "{run}");
    assert_eq!(p["warnings"], json!([]), "{run}");

    let run = elma(d, ["plan", "contacts.csv", "--schema", &contacts_schema(), "--with-event-handlers"])
        .expect(exit::OK);
    run.stderr_has(&["invalid"]);
    for text in ["1,000", "temporary", "because event handlers on"] {
        assert!(run.stdout.contains(text), "the plan is on stdout: lacks {text:?}{run}");
    }
}

#[test]
fn plan_without_handlers_over_50000_rows_uploads_to_a_directory() {
    let big = big_sample();
    let dir = tempdir();
    let file = big.path.display().to_string();
    let run = elma(dir.path(), ["--json", "plan", &file, "--schema", &contacts_schema()]).expect(exit::OK);
    let j = run.json();
    let valid = BIG_ROWS - big.planted.len() as u64;
    assert!(valid > 50_000, "the sample has more than 50,000 valid rows");
    assert_eq!(j["valid_rows"], valid, "{run}");
    assert_eq!(j["plan"]["upload"], "directory", "{run}");
    assert_eq!(j["plan"]["chunks"], 1, "{run}");
    assert_eq!(j["plan"]["pause"], 0.0, "{run}");
    assert!(
        j["plan"]["reasons"][0].as_str().is_some_and(|r| r.contains("50,000") && r.contains("directory")),
        "{run}"
    );
}

#[test]
fn plan_over_the_handler_limit_is_refused_unless_allowed_with_a_warning() {
    let dir = tempdir();
    let d = dir.path();
    sample(d, "contacts.csv", 2_500, 0.0, 14);
    let base = [
        "plan",
        "contacts.csv",
        "--schema",
        &contacts_schema(),
        "--with-event-handlers",
        "--rows-per-chunk",
        "2000",
    ];
    elma(d, base).expect(exit::USAGE).stderr_has(&["`2000` rows per chunk", "1000"]);
    let run = elma(d, base.iter().copied().chain(["--allow-over-limit"])).expect(exit::OK);
    run.stderr_has(&["warning:", "above the platform's limit"]);
    let run = elma(d, base.iter().copied().chain(["--allow-over-limit", "--json"])).expect(exit::OK);
    let p = &run.json()["plan"];
    assert_eq!((p["rows_per_chunk"].clone(), p["chunks"].clone()), (json!(2_000), json!(2)), "{run}");
    assert_eq!(p["warnings"].as_array().map(Vec::len), Some(1), "{run}");
    run.stderr_has(&["warning:"]);
}

// ---------------------------------------------------------------- the "Done when" flow

#[test]
fn done_when_template_validate_fix_split_flow() {
    let dir = tempdir();
    let d = dir.path();
    let schema = contacts_schema();
    // 1. The template's header is what the generated file carries.
    elma(d, ["template", "--schema", &schema, "-o", "T.csv", "--no-example"]).expect(exit::OK);
    let s = sample(d, "contacts.csv", 3_000, 0.04, 21);
    assert_eq!(read_csv(&d.join("T.csv"))[0], read_csv(&s.path)[0]);
    assert!(s.planted.len() > 60, "a few % bad cells: {}", s.planted.len());

    // 2. Every bad cell is reported with its row, column and value, and nothing else.
    let run =
        elma(d, ["validate", "contacts.csv", "--schema", &schema, "--errors", "E.csv"]).expect(exit::DATA);
    assert_eq!(errors_csv(&d.join("E.csv")), s.cells(), "{run}");

    // 3. fix rewrites exactly the fixable planted cells; the rest stay errors.
    let run = elma(d, ["fix", "contacts.csv", "--schema", &schema, "-o", "fixed.csv", "--changes", "C.csv"])
        .expect(exit::DATA);
    let fixable = fixable_columns();
    let (fixed_cells, left): (Vec<&PlantedError>, Vec<&PlantedError>) =
        s.planted.iter().partition(|p| fixable.contains(&letters(p.column)));
    assert!(!fixed_cells.is_empty() && !left.is_empty());
    let changes: BTreeSet<(u64, String, String)> = read_csv(&d.join("C.csv"))[1..]
        .iter()
        .map(|r| (r[0].parse().unwrap_or(0), r[1].clone(), r[3].clone()))
        .collect();
    let want: BTreeSet<(u64, String, String)> =
        fixed_cells.iter().map(|p| (p.row, letters(p.column), p.value.clone())).collect();
    assert_eq!(changes, want, "fix changes exactly the fixable planted cells{run}");
    let run =
        elma(d, ["validate", "fixed.csv", "--schema", &schema, "--errors", "E2.csv"]).expect(exit::DATA);
    let want: BTreeSet<(u64, String, String)> =
        left.iter().map(|p| (p.row, letters(p.column), p.value.clone())).collect();
    assert_eq!(
        errors_csv(&d.join("E2.csv")),
        want,
        "after fix only the non-fixable planted errors remain{run}"
    );

    // 4. Split the fixed file into 1,000-row .xlsx chunks.
    let run = elma(d, ["--json", "split", "fixed.csv", "-o", "chunks", "--rows", "1000", "--format", "xlsx"])
        .expect(exit::OK);
    assert_eq!(
        (run.json()["chunks"].clone(), run.json()["format"].clone()),
        (json!(3), json!("xlsx")),
        "{run}"
    );
    let fixed = trimmed(&read_csv(&d.join("fixed.csv")));
    let rows = check_chunks(&d.join("chunks"), &fixed[0], 1_000, 3_000, read_xlsx);
    assert!(rows == fixed[1..], "the chunks hold the fixed rows exactly");
}
