//! End-to-end tests of `verify`: the real binary against emulator child processes on
//! 127.0.0.1:0. After an import, a source edited by hand (rows removed, rows added,
//! cells changed) must be named exactly — those rows, those fields, nothing else; a clean
//! migration must verify with every link checked, and a link changed in the source must
//! show as a difference of the parent's key.

#![allow(clippy::useless_vec)]

use crate::util;

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::Value;
use util::*;

fn tempdir() -> tempfile::TempDir {
    tempfile::Builder::new().prefix("elma-verify-").tempdir().expect("tempdir")
}

fn p(path: &Path) -> String {
    path.display().to_string()
}

fn num(v: &Value, key: &str) -> u64 {
    v[key].as_u64().unwrap_or_else(|| panic!("no number `{key}` in {v}"))
}

/// A diff line as (row, key, column, verdict).
type Line = (String, String, String, String);

/// The diff file's lines as (row, key, column, verdict), and its records.
fn read_diff(path: &Path) -> (BTreeSet<Line>, Vec<csv::StringRecord>) {
    let mut r = csv::Reader::from_path(path).expect("diff file");
    assert_eq!(
        r.headers().unwrap().iter().take(6).collect::<Vec<_>>(),
        ["row", "key", "column", "source", "platform", "verdict"]
    );
    let records: Vec<csv::StringRecord> = r.records().map(|x| x.unwrap()).collect();
    let set = records
        .iter()
        .map(|x| (x[0].to_string(), x[1].to_string(), x[2].to_string(), x[5].to_string()))
        .collect();
    (set, records)
}

#[test]
fn verify_names_exactly_the_rows_removed_added_and_changed() {
    let tmp = tempdir();
    let s = sample(tmp.path(), "contacts.csv", 260, 0.0, 5);
    let emu = Emulator::start(&args!["--rows-per-sec", "20000", "--time-zone", "+03:00"]);
    let run_dir = tmp.path().join("run");
    let mut a =
        args!["--json", "run", p(&s.path), "--app", APP, "--run-dir", p(&run_dir), "--key-column", "Email"];
    a.extend(args!["--time-zone", "+03:00", "--rows-per-chunk", "100"]);
    a.extend(conn(&emu));
    elma(tmp.path(), &a).expect_code(0);
    assert!(run_dir.join("report.html").is_file(), "a run leaves its report page");

    // Right after the import every row matches, across three pages of items.
    let out = elma(tmp.path(), &[args!["--json", "verify", p(&run_dir)], conn(&emu)].concat());
    out.expect_code(0);
    let v = out.json();
    assert_eq!(
        (num(&v, "matched"), num(&v, "rows"), num(&v, "items")),
        (260, 260, 260),
        "{}",
        out.describe()
    );
    for k in ["missing", "differs", "extra", "ambiguous", "invalid"] {
        assert_eq!(num(&v, k), 0, "{k}: {}", out.describe());
    }
    assert_eq!(num(&v, "exit_code"), 0);
    assert!(num(&v, "fields_compared") >= 260 * 12, "{}", out.describe());
    assert!(v.get("error").is_none(), "no error on success: {v}");

    // Edit the source the run read: remove two rows, add one, change three cells.
    let mut r = csv::Reader::from_path(&s.path).unwrap();
    let header = r.headers().unwrap().clone();
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let (name, email, amount, phone, segment) =
        (col("Name"), col("Email"), col("Amount"), col("Phone"), col("Segment"));
    let mut rows: Vec<Vec<String>> =
        r.records().map(|x| x.unwrap().iter().map(str::to_string).collect()).collect();
    let removed: Vec<String> = rows.drain(3..5).map(|row| row[email].to_lowercase()).collect();
    rows[10][name] = format!("{} (renamed)", rows[10][name]);
    rows[20][amount] = "4321,05".into();
    rows[30][phone] = "79990001122".into();
    rows[40][segment] = if rows[40][segment] == "VIP" { "Retail".into() } else { "VIP".into() };
    let mut added = rows[50].clone();
    added[email] = "someone.new@example.com".into();
    rows.push(added);
    let mut w = csv::Writer::from_path(&s.path).unwrap();
    w.write_record(&header).unwrap();
    for row in &rows {
        w.write_record(row).unwrap();
    }
    w.flush().unwrap();
    let key = |i: usize| rows[i][email].to_lowercase();
    let row_of = |i: usize| (i + 2).to_string();

    let diff = tmp.path().join("diff.csv");
    let out =
        elma(tmp.path(), &[args!["--json", "verify", p(&run_dir), "--diff", p(&diff)], conn(&emu)].concat());
    out.expect_code(1);
    let v = out.json();
    assert_eq!(num(&v, "exit_code"), 1);
    assert!(v["error"].as_str().is_some_and(|e| e.contains("differ")), "{}", out.describe());
    assert_eq!(
        (num(&v, "matched"), num(&v, "missing"), num(&v, "differs"), num(&v, "extra"), num(&v, "ambiguous")),
        (254, 1, 4, 2, 0),
        "{}",
        out.describe()
    );
    let (lines, records) = read_diff(&diff);
    let mut expected = BTreeSet::new();
    for (i, column) in [(10, "Name"), (20, "Amount"), (30, "Phone"), (40, "Segment")] {
        expected.insert((row_of(i), key(i), column.to_string(), "differs".to_string()));
    }
    let last = rows.len() - 1;
    expected.insert((row_of(last), "someone.new@example.com".into(), String::new(), "missing".into()));
    for k in &removed {
        expected.insert((String::new(), k.clone(), String::new(), "extra".into()));
    }
    assert_eq!(lines, expected, "the diff names exactly the edits\n{}", out.describe());
    // Both values, as people read them: money with its currency, the name as written.
    let amount_line = records.iter().find(|x| &x[2] == "Amount").unwrap();
    assert_eq!(&amount_line[3], "4321.05 RUB");
    assert!(amount_line[4].ends_with(" RUB") && amount_line[4] != amount_line[3], "{amount_line:?}");
    let name_line = records.iter().find(|x| &x[2] == "Name").unwrap();
    assert!(name_line[3].ends_with(" (renamed)") && !name_line[4].contains("renamed"), "{name_line:?}");
    // The run directory keeps the result, and its page shows it.
    let saved: Value =
        serde_json::from_str(&std::fs::read_to_string(run_dir.join("verify.json")).unwrap()).unwrap();
    assert_eq!(num(&saved, "differs"), 4);
    let page = std::fs::read_to_string(run_dir.join("report.html")).unwrap();
    assert!(
        page.contains("id=\"verify-diff\"") && page.contains("someone.new@example.com"),
        "the page shows the diff"
    );

    // The same file verified on its own, with the flags a run takes.
    let out = elma(
        tmp.path(),
        &[
            args![
                "--json",
                "verify",
                p(&s.path),
                "--app",
                APP,
                "--key-column",
                "Email",
                "--time-zone",
                "+03:00"
            ],
            args!["--dir", p(&tmp.path().join("v"))],
            conn(&emu),
        ]
        .concat(),
    );
    out.expect_code(1);
    let (again, _) = read_diff(&tmp.path().join("v/verify.csv"));
    assert_eq!(again, expected, "{}", out.describe());
    assert!(tmp.path().join("v/report.html").is_file());

    // A data file without its app or key is a usage error, with one JSON object.
    let out = elma(tmp.path(), &[args!["--json", "verify", p(&s.path)], conn(&emu)].concat());
    out.expect_code(2);
    assert_eq!(num(&out.json(), "exit_code"), 2);
}

#[test]
fn a_clean_migration_verifies_with_every_link_checked() {
    let tmp = tempdir();
    let files = tmp.path().join("files");
    // The demo writes the migration's files (and runs it on its own emulator).
    let out = elma(
        tmp.path(),
        &args!["--json", "demo", "--migration", "--rows", "300", "--dir", p(&files), "--pause", "0.1"],
    );
    assert!(files.join("migration.toml").is_file(), "{}", out.describe());
    let emu = Emulator::start(&args!["--rows-per-sec", "20000", "--strict-links"]);
    let mig = tmp.path().join("mig");
    let out = elma(
        tmp.path(),
        &[
            args![
                "--json",
                "migrate",
                p(&files.join("migration.toml")),
                "--run-dir",
                p(&mig),
                "--pause",
                "0.1"
            ],
            conn(&emu),
        ]
        .concat(),
    );
    out.expect_code(0);
    assert!(mig.join("report.html").is_file(), "a migration leaves its report page");
    let contacts = csv::Reader::from_path(files.join("contacts.csv")).unwrap().records().count() as u64;

    let out = elma(tmp.path(), &[args!["--json", "verify", p(&mig)], conn(&emu)].concat());
    out.expect_code(0);
    let v = out.json();
    let rows = num(&v, "rows");
    assert_eq!(num(&v, "matched"), rows, "{}", out.describe());
    assert_eq!(num(&v, "links_checked"), contacts, "every contact's Company checked: {}", out.describe());
    assert_eq!(v["steps"].as_array().map(Vec::len), Some(3));
    assert_eq!(num(&v["steps"][1], "links_checked"), contacts);

    // The migration file itself, verified with the platform's schemas: the same result.
    let out = elma(
        tmp.path(),
        &[
            args!["--json", "verify", p(&files.join("migration.toml")), "--dir", p(&tmp.path().join("v"))],
            conn(&emu),
        ]
        .concat(),
    );
    out.expect_code(0);
    assert_eq!(num(&out.json(), "links_checked"), contacts);

    // One contact now names another company in the source: a difference of the
    // parent's key, both keys shown.
    let path = files.join("contacts.csv");
    let mut r = csv::Reader::from_path(&path).unwrap();
    let header = r.headers().unwrap().clone();
    let company = header.iter().position(|h| h == "Company").unwrap();
    let mut rows: Vec<Vec<String>> =
        r.records().map(|x| x.unwrap().iter().map(str::to_string).collect()).collect();
    let before = rows[7][company].clone();
    let other = rows.iter().map(|x| x[company].clone()).find(|c| *c != before).unwrap();
    rows[7][company].clone_from(&other);
    let mut w = csv::Writer::from_path(&path).unwrap();
    w.write_record(&header).unwrap();
    rows.iter().for_each(|x| w.write_record(x).unwrap());
    w.flush().unwrap();
    let out = elma(tmp.path(), &[args!["--json", "verify", p(&mig)], conn(&emu)].concat());
    out.expect_code(1);
    let v = out.json();
    assert_eq!((num(&v, "differs"), num(&v, "matched")), (1, rows_total(&v) - 1), "{}", out.describe());
    let (lines, records) = read_diff(&mig.join("verify.csv"));
    assert_eq!(lines.len(), 1, "{lines:?}");
    let line = &records[0];
    assert_eq!(
        (&line[0], &line[2], &line[3], &line[4], &line[6]),
        ("9", "Company", other.as_str(), before.as_str(), "crm.contacts")
    );
}

fn rows_total(v: &Value) -> u64 {
    num(v, "rows")
}

#[test]
fn a_file_imported_twice_is_ambiguous_row_by_row_naming_both_items() {
    let tmp = tempdir();
    let s = sample(tmp.path(), "contacts.csv", 30, 0.0, 6);
    let emu = Emulator::start(&args!["--rows-per-sec", "20000", "--time-zone", "+03:00"]);
    for (i, again) in [(1, false), (2, true)] {
        let mut a = args![
            "--json",
            "run",
            p(&s.path),
            "--app",
            APP,
            "--run-dir",
            p(&tmp.path().join(format!("run{i}")))
        ];
        a.extend(args!["--time-zone", "+03:00", "--key-column", "Email"]);
        if again {
            a.push("--again".into());
        }
        a.extend(conn(&emu));
        elma(tmp.path(), &a).expect_code(0);
    }
    // The first run found the app empty: each of its keys is held twice now.
    let out =
        elma(tmp.path(), &[args!["--json", "verify", p(&tmp.path().join("run1"))], conn(&emu)].concat());
    out.expect_code(1);
    let v = out.json();
    assert_eq!(
        (num(&v, "ambiguous"), num(&v, "matched"), num(&v, "items")),
        (30, 0, 60),
        "{}",
        out.describe()
    );
    // The second, imported on the user's word, found the first run's 30 items before it.
    let again =
        elma(tmp.path(), &[args!["--json", "verify", p(&tmp.path().join("run2"))], conn(&emu)].concat());
    again.expect_code(0);
    let w = again.json();
    assert_eq!((num(&w, "matched"), num(&w, "before")), (30, 30), "{}", again.describe());
    let (_, records) = read_diff(&tmp.path().join("run1/verify.csv"));
    assert_eq!(records.len(), 30);
    for r in &records {
        assert_eq!(&r[5], "ambiguous");
        assert!(
            r[4].starts_with("2 item(s): [") && r[4].matches('[').count() == 2,
            "both items named: {r:?}"
        );
    }
}

#[test]
fn items_there_before_the_run_are_left_out_and_other_items_fail_only_an_exact_verification() {
    // Before: a migration into an app that held earlier imports of the same keys verified
    // as hundreds of `ambiguous` and `extra` rows, exit 1, though every row had landed.
    let tmp = tempdir();
    let emu = Emulator::start(&args!["--rows-per-sec", "5000"]);
    let run = |file: &Path, dir: &Path| {
        // `--again`: the later file's keys are in the app already, and imported once more.
        let mut a =
            args!["run", p(file), "--app", APP, "--run-dir", p(dir), "--key-column", "Email", "--again"];
        a.extend(args!["--time-zone", "+03:00"]);
        a.extend(conn(&emu));
        elma(tmp.path(), &a).expect_code(0);
    };
    // contact1..60 first, then contact1..30 again with other values.
    let earlier = sample(tmp.path(), "earlier.csv", 60, 0.0, 90);
    run(&earlier.path, &tmp.path().join("first"));
    let later = sample(tmp.path(), "later.csv", 30, 0.0, 91);
    let second = tmp.path().join("second");
    run(&later.path, &second);
    assert_eq!(emu.items(APP).len(), 90);

    let verify = |dir: &Path, extra: &[String]| {
        let mut a = args!["--json", "verify", p(dir)];
        a.extend(extra.iter().cloned());
        a.extend(conn(&emu));
        elma(tmp.path(), &a)
    };
    let out = verify(&second, &[]);
    out.expect_code(0);
    let v = out.json();
    assert_eq!(
        (num(&v, "matched"), num(&v, "before"), num(&v, "extra"), num(&v, "ambiguous")),
        (30, 30, 30, 0),
        "the 30 items the run found holding its keys are the app's own: {}",
        out.describe()
    );
    // The app must hold nothing but the rows: the 30 others fail it.
    let out = verify(&second, &args!["--exact"]);
    out.expect_code(1);
    assert!(out.json()["error"].as_str().is_some_and(|e| e.contains("30 extra")), "{}", out.describe());
    // The first run found nothing before it: its keys 1..30 are held twice now, and say so.
    let out = verify(&tmp.path().join("first"), &[]);
    out.expect_code(1);
    let v = out.json();
    assert_eq!(
        (num(&v, "matched"), num(&v, "ambiguous"), num(&v, "before")),
        (30, 30, 0),
        "{}",
        out.describe()
    );
}
