//! Regression tests named after the ways an unlucky user lost or doubled rows, or met a
//! dead end: the real binary against emulator child processes, as a user would run it.
//! The seeded simulation (`crates/sim`) checks the same rules over thousands of worlds;
//! these tests pin the cases that were found by hand.

#![allow(clippy::useless_vec)]

use crate::util;

use std::path::Path;
use std::time::Duration;

use serde_json::Value;
use util::{
    assert_exactly_once, conn, elma, elma_sharing_ledger, sample, spawn, wait_until, Emulator, Sample, APP,
    TOKEN,
};

fn tempdir() -> tempfile::TempDir {
    tempfile::Builder::new().prefix("elma-integrity-").tempdir().expect("tempdir")
}

fn p(path: &Path) -> String {
    path.display().to_string()
}

fn run_args(emu: &Emulator, file: &Path, run_dir: &Path, extra: &[String]) -> Vec<String> {
    let mut a = args!["--json", "run", p(file), "--app", APP, "--run-dir", p(run_dir)];
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

fn hints(out: &util::Output) -> String {
    out.json()["hints"].to_string()
}

/// A run of `s` with 100-row chunks, paced, stopped by Ctrl-C once its first import started.
fn interrupted(tmp: &Path, emu: &Emulator, s: &Sample, run_dir: &Path) {
    let extra = args!["--rows-per-chunk", "100", "--key-column", "Email"];
    let run = spawn(tmp, &run_args(emu, &s.path, run_dir, &extra));
    let started = wait_until(Duration::from_secs(30), || {
        emu.counters()["imports"].as_array().is_some_and(|i| !i.is_empty())
    });
    assert!(started, "no import started");
    let pid = run.child.id().to_string();
    assert!(std::process::Command::new("kill").args(["-INT", &pid]).status().expect("kill").success());
    run.wait().expect_code(130);
    // The import under way goes on on the platform; the tests count once it has ended.
    let settled = wait_until(Duration::from_secs(60), || {
        emu.counters()["imports"].as_array().is_some_and(|i| i.iter().all(|i| !i["finished_ms"].is_null()))
    });
    assert!(settled, "the platform's import never ended");
}

#[test]
fn repeated_keys_refuse_the_run_before_anything_is_sent_and_skipping_imports_only_unique_rows() {
    // Before: with e-mails repeating, a look-up by key found twice the rows the platform
    // counted, and the run exited 0 with a third of the rows missing.
    let tmp = tempdir();
    let s = sample(tmp.path(), "contacts.csv", 40, 0.0, 71);
    let text = std::fs::read_to_string(&s.path).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let email = lines[1].split(',').find(|c| c.contains('@')).unwrap().to_string();
    for line in lines.iter_mut().skip(2).take(3) {
        let old = line.split(',').find(|c| c.contains('@')).unwrap().to_string();
        *line = line.replacen(&old, &email, 1);
    }
    std::fs::write(&s.path, lines.join("\n") + "\n").unwrap();
    let emu = Emulator::start(&args!["--rows-per-sec", "2000"]);
    let run_dir = tmp.path().join("run");
    let out = elma(tmp.path(), &run_args(&emu, &s.path, &run_dir, &args!["--key-column", "Email"]));
    out.expect_code(1).expect_stderr("4 of 40 rows are invalid, so nothing was sent");
    assert!(hints(&out).contains("--skip-invalid"), "{}", out.describe());
    assert!(emu.items(APP).is_empty());
    let errors = std::fs::read_to_string(run_dir.join("errors.csv")).unwrap();
    assert_eq!(errors.matches("key_repeated").count(), 4, "{errors}");
    // The refusal leads somewhere: resume imports the 36 rows whose keys identify them.
    let out = elma(tmp.path(), &resume_args(&emu, &run_dir, &args!["--skip-invalid"]));
    out.expect_code(1);
    assert_eq!(out.json()["imported"], 36, "{}", out.describe());
    assert_eq!(emu.items(APP).len(), 36);
}

#[test]
fn the_same_file_from_another_folder_or_run_directory_is_refused_by_the_ledger() {
    // Before: another --run-dir given as a bare relative name, or a copy of the file run
    // from another folder, imported it again.
    let tmp = tempdir();
    let s = sample(tmp.path(), "contacts.csv", 30, 0.0, 72);
    let emu = Emulator::start(&args!["--rows-per-sec", "5000"]);
    elma(tmp.path(), &run_args(&emu, &s.path, &tmp.path().join("runs/first"), &[])).expect_code(0);
    std::fs::create_dir_all(tmp.path().join("elsewhere")).unwrap();
    let copy = tmp.path().join("elsewhere/copy.csv");
    std::fs::copy(&s.path, &copy).unwrap();
    let mut a = args!["--json", "run", "copy.csv", "--app", APP, "--run-dir", "second"];
    a.extend(conn(&emu));
    let elsewhere = tmp.path().join("elsewhere");
    let out = elma_sharing_ledger(&elsewhere, tmp.path(), &a);
    out.expect_code(2).expect_stderr("was imported into crm.contacts already");
    assert!(out.stderr.contains("runs/first"), "{}", out.describe());
    assert_eq!(emu.items(APP).len(), 30, "nothing sent the second time");
    assert!(!tmp.path().join("elsewhere/second").exists());
    // The user's word imports it again.
    a.push("--again".into());
    elma_sharing_ledger(&elsewhere, tmp.path(), &a).expect_code(0);
    assert_eq!(emu.items(APP).len(), 60);
}

#[test]
fn the_same_run_issued_again_after_an_interruption_is_refused_and_points_to_the_resume() {
    // Before: it only warned, then imported the whole file again (4,000 rows doubled).
    let tmp = tempdir();
    let s = sample(tmp.path(), "contacts.csv", 600, 0.0, 73);
    let emu = Emulator::start(&args!["--rows-per-sec", "200"]);
    let first = tmp.path().join("runs/first");
    interrupted(tmp.path(), &emu, &s, &first);
    let out = elma(tmp.path(), &run_args(&emu, &s.path, &tmp.path().join("runs/again"), &[]));
    out.expect_code(2).expect_stderr("it has not finished");
    assert!(hints(&out).contains(&format!("elma-import resume {}", first.display())), "{}", out.describe());
    elma(tmp.path(), &resume_args(&emu, &first, &[])).expect_code(0);
    assert_exactly_once(&s, &emu.items(APP));
}

#[test]
fn a_chunk_file_changed_before_the_resume_is_refused_naming_it() {
    // Before: the changed file was sent as it was: 1,000 rows doubled, 1,000 never sent,
    // exit 0; the manifest's sha256 was never compared.
    let tmp = tempdir();
    let s = sample(tmp.path(), "contacts.csv", 600, 0.0, 74);
    let emu = Emulator::start(&args!["--rows-per-sec", "200"]);
    let run_dir = tmp.path().join("run");
    interrupted(tmp.path(), &emu, &s, &run_dir);
    let last = run_dir.join("chunks/chunk-00006.xlsx");
    let mut bytes = std::fs::read(&last).unwrap();
    bytes.extend_from_slice(b"\n");
    std::fs::write(&last, bytes).unwrap();
    let before = emu.items(APP).len();
    let out = elma(tmp.path(), &resume_args(&emu, &run_dir, &[]));
    out.expect_code(2).expect_stderr("chunk-00006.xlsx` changed since it was written");
    assert_eq!(emu.items(APP).len(), before, "nothing was sent");
}

#[test]
fn a_run_directory_whose_journal_is_gone_is_refused_not_started_over() {
    // Before: an empty or missing journal beside run.json restarted the run silently.
    let tmp = tempdir();
    let s = sample(tmp.path(), "contacts.csv", 600, 0.0, 75);
    let emu = Emulator::start(&args!["--rows-per-sec", "200"]);
    let run_dir = tmp.path().join("run");
    interrupted(tmp.path(), &emu, &s, &run_dir);
    let before = emu.items(APP).len();
    for emptied in [true, false] {
        if emptied {
            std::fs::write(run_dir.join("journal.jsonl"), "").unwrap();
        } else {
            std::fs::remove_file(run_dir.join("journal.jsonl")).unwrap();
        }
        let out = elma(tmp.path(), &resume_args(&emu, &run_dir, &[]));
        out.expect_code(2).expect_stderr("its journal is missing or empty");
        assert!(hints(&out).contains("elma-import verify"), "{}", out.describe());
    }
    assert_eq!(emu.items(APP).len(), before);
}

/// The demo's migration files in `dir`.
fn migration_files(tmp: &Path, dir: &str, rows: u32) {
    let a = args!["demo", "--migration", "--files-only", "--dir", dir, "--rows", rows];
    elma(tmp, &a).expect_code(0);
}

#[test]
fn settings_are_checked_before_a_migration_sends_anything() {
    // Before: --dry-run accepted rows_per_chunk = 0 and time_zone = "Mars/Olympus"; the real
    // migration imported the companies, then failed, and resume failed forever.
    let tmp = tempdir();
    migration_files(tmp.path(), "move", 60);
    let toml = std::fs::read_to_string(tmp.path().join("move/migration.toml")).unwrap();
    let templates = p(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../../templates"));
    for (bad, named) in [
        (toml.replace("rows_per_chunk = 500", "rows_per_chunk = 0"), "rows per chunk"),
        (toml.replace("time_zone = \"+03:00\"", "time_zone = \"Mars/Olympus\""), "Mars/Olympus"),
    ] {
        std::fs::write(tmp.path().join("move/bad.toml"), bad).unwrap();
        let dry = elma(
            tmp.path(),
            &args!["--json", "migrate", "move/bad.toml", "--dry-run", "--schema-dir", templates],
        );
        dry.expect_code(2).expect_stderr(named);
        let emu = Emulator::start(&args!["--rows-per-sec", "5000"]);
        let mut a = args!["--json", "migrate", "move/bad.toml", "--run-dir", "m"];
        a.extend(conn(&emu));
        elma(tmp.path(), &a).expect_code(2).expect_stderr(named);
        assert!(emu.items("crm.companies").is_empty(), "nothing was sent");
        assert!(!tmp.path().join("m").exists());
    }
}

#[test]
fn the_same_migration_into_a_new_directory_is_refused() {
    // Before: migrate had no guard: 50 companies and 250 orders doubled, then every contact
    // was rejected as "ambiguous", with `unresolved: 0`.
    let tmp = tempdir();
    migration_files(tmp.path(), "move", 60);
    let emu = Emulator::start(&args!["--rows-per-sec", "5000", "--strict-links"]);
    let migrate = |dir: &str| {
        let mut a = args!["--json", "migrate", "move/migration.toml", "--run-dir", dir];
        a.extend(conn(&emu));
        elma(tmp.path(), &a)
    };
    migrate("m1").expect_code(0);
    let companies = emu.items("crm.companies").len();
    let out = migrate("m2");
    out.expect_code(2).expect_stderr("was imported into crm.companies already");
    assert!(hints(&out).contains("--again"), "{}", out.describe());
    assert_eq!(emu.items("crm.companies").len(), companies);
}

#[test]
fn a_repeated_parent_key_imports_neither_row_and_its_children_are_named() {
    // Before: `migrate --skip-invalid` imported both rows of a repeated parent key.
    let tmp = tempdir();
    migration_files(tmp.path(), "move", 60);
    let companies = tmp.path().join("move/companies.csv");
    let text = std::fs::read_to_string(&companies).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let inn = lines[1].split(',').nth(1).unwrap().to_string();
    let second_inn = lines[2].split(',').nth(1).unwrap();
    let changed = text.replacen(&format!(",{second_inn},"), &format!(",{inn},"), 1);
    std::fs::write(&companies, changed).unwrap();
    let emu = Emulator::start(&args!["--rows-per-sec", "5000", "--strict-links"]);
    let mut a = args!["--json", "migrate", "move/migration.toml", "--run-dir", "m", "--skip-invalid"];
    a.extend(conn(&emu));
    let out = elma(tmp.path(), &a);
    out.expect_code(1);
    let items = emu.items("crm.companies");
    assert!(
        items.iter().all(|c| c["inn"] != Value::String(inn.clone())),
        "neither row of `{inn}` is imported"
    );
    let errors = std::fs::read_to_string(tmp.path().join("m/steps/01-crm.companies/errors.csv")).unwrap();
    assert_eq!(errors.matches("key_repeated").count(), 2, "{errors}");
    // Contacts naming either company are left out and named, the others imported.
    let report = out.json();
    assert!(report["steps"][1]["totals"]["rows_invalid"].as_u64().unwrap() > 0, "{report}");
}

#[test]
fn a_child_step_goes_on_when_parent_rows_were_rejected_by_the_platform() {
    // Before: rows of a parent step rejected by the platform stopped the child step
    // ("nothing was sent… pass --skip-invalid"), and `resume --skip-invalid` was refused.
    let tmp = tempdir();
    let d = tmp.path();
    let parents = r#"{"namespace":"t","code":"parents","name":"Parents","fields":[
        {"code":"code","name":"Code","type":"STRING","required":true,"single":true},
        {"code":"owner","name":"Owner","type":"SYS_USER","required":false,"single":true}]}"#;
    let children = r#"{"namespace":"t","code":"children","name":"Children","fields":[
        {"code":"email","name":"Email","type":"EMAIL","required":true,"single":true},
        {"code":"parent","name":"Parent","type":"SYS_COLLECTION","required":false,"single":true,
         "data":{"namespace":"t","code":"parents"}}]}"#;
    std::fs::write(d.join("t.parents.schema.json"), parents).unwrap();
    std::fs::write(d.join("t.children.schema.json"), children).unwrap();
    // The platform knows no user 00000000-…-0001: with strict links it rejects P2's row.
    let user = elma_import_emulator::seeded_users()[0].id.clone();
    std::fs::write(
        d.join("parents.csv"),
        format!("Code,Owner\nP1,[{user}]\nP2,[00000000-0000-4000-8000-000000000001]\nP3,\n"),
    )
    .unwrap();
    std::fs::write(d.join("children.csv"), "Email,Parent\na@x.org,P1\nb@x.org,P2\nc@x.org,P3\nd@x.org,P2\n")
        .unwrap();
    std::fs::write(
        d.join("m.toml"),
        "[[step]]\nfile = \"parents.csv\"\napp = \"t.parents\"\nkey = \"Code\"\n\n[[step]]\nfile = \"children.csv\"\n\
         app = \"t.children\"\nkey = \"Email\"\nreferences = { Parent = { app = \"t.parents\", by = \"Code\" } }\n",
    )
    .unwrap();
    let emu = Emulator::start(&args![
        "--rows-per-sec",
        "5000",
        "--strict-links",
        "--app-schema",
        p(&d.join("t.parents.schema.json")),
        "--app-schema",
        p(&d.join("t.children.schema.json"))
    ]);
    let mut a = args!["--json", "migrate", "m.toml", "--run-dir", "m", "--schema-dir", p(d)];
    a.extend(conn(&emu));
    let out = elma(d, &a);
    out.expect_code(1);
    let report = out.json();
    assert_eq!(report["steps"][1]["status"], "done", "{report}");
    let children: Vec<String> = emu
        .items("t.children")
        .iter()
        .map(|c| c["email"][0]["email"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(children.len(), 2, "{children:?}");
    let errors = std::fs::read_to_string(d.join("m/steps/02-t.children/errors.csv")).unwrap();
    assert_eq!(errors.matches("unresolved_reference").count(), 2, "{errors}");
}

/// The demo's migration of 300 contacts, `migrate`d with `extra` and stopped by Ctrl-C
/// once a contact landed (exit 130); the emulator and the stopped command's output.
fn interrupted_migration(tmp: &Path, extra: &[String]) -> (Emulator, util::Output) {
    migration_files(tmp, "move", 300);
    let emu = Emulator::start(&args!["--rows-per-sec", "300", "--strict-links"]);
    let mut a = args!["--json", "migrate", "move/migration.toml", "--pause", "1"];
    a.extend(extra.iter().cloned());
    a.extend(conn(&emu));
    let run = spawn(tmp, &a);
    assert!(
        wait_until(Duration::from_secs(30), || !emu.items("crm.contacts").is_empty()),
        "no contact landed"
    );
    let pid = run.child.id().to_string();
    assert!(std::process::Command::new("kill").args(["-INT", &pid]).status().expect("kill").success());
    let out = run.wait();
    out.expect_code(130);
    (emu, out)
}

#[test]
fn an_interrupted_migration_resumes_as_printed_with_the_token_alone() {
    // Before: Ctrl-C printed `resume …/steps/02-crm.contacts`, which failed with "no server
    // given" (migration.json kept `url: null`), and the summary said 0 imported.
    let tmp = tempdir();
    let (_emu, out) = interrupted_migration(tmp.path(), &args!["--run-dir", "m"]);
    let hint = hints(&out);
    assert!(
        hint.contains("elma-import resume m`") || hint.contains("elma-import resume m "),
        "{}",
        out.describe()
    );
    assert!(!hint.contains("steps/"), "the migration's directory, not a step's: {hint}");
    assert!(out.json()["imported"].as_u64().unwrap() > 0, "what landed is counted: {}", out.describe());
    // As printed: the address is the migration's own, the token comes from the environment.
    let mut cmd = util::command(tmp.path(), &args!["--json", "resume", "m"]);
    cmd.env("ELMA365_TOKEN", TOKEN);
    let done = cmd.output().unwrap();
    assert_eq!(done.status.code(), Some(0), "{}", String::from_utf8_lossy(&done.stderr));
}

#[test]
fn resume_last_finds_an_interrupted_migration_in_its_default_folder() {
    // Before: `resume --last` looked only in .elma-import/runs and answered "no run …
    // (`elma-import run` starts one)" after a migration was interrupted.
    let tmp = tempdir();
    let (emu, _) = interrupted_migration(tmp.path(), &[]);
    let mut again = args!["--json", "resume", "--last"];
    again.extend(conn(&emu));
    let done = elma(tmp.path(), &again);
    done.expect_code(0).expect_stderr("the newest unfinished migration is `.elma-import/migrations/");
    assert_eq!(done.json()["status"], "completed", "{}", done.describe());
}

/// The items of the app whose ids are not in `before`.
fn new_items(emu: &Emulator, before: &std::collections::HashSet<String>) -> Vec<Value> {
    emu.items(APP).into_iter().filter(|i| !before.contains(i["__id"].as_str().unwrap_or(""))).collect()
}

/// Expires every temporary file once an import into `app` has processed `rows`.
fn expire_when_processed(emu: &Emulator, app: &str, rows: u64) {
    let going = wait_until(Duration::from_secs(60), || {
        emu.counters()["imports"].as_array().is_some_and(|a| {
            a.iter().any(|i| i["app"] == app && i["processed"].as_u64().unwrap_or(0) >= rows)
        })
    });
    assert!(going, "the import never got going: {}", emu.counters());
    emu.faults(serde_json::json!({"expire_temp_files": true}));
}

#[test]
fn keys_already_in_the_app_never_count_as_landed_when_an_import_fails_part_way() {
    // Before: some keys existed in the app before the run; a temporary file expired
    // mid-import, the look-up by key found the old items and counted their rows as landed:
    // exit 0 with 500 rows missing.
    let tmp = tempdir();
    let emu = Emulator::start(&args!["--rows-per-sec", "400"]);
    let old = sample(tmp.path(), "old.csv", 300, 0.0, 80);
    elma(tmp.path(), &run_args(&emu, &old.path, &tmp.path().join("old"), &[])).expect_code(0);
    let before: std::collections::HashSet<String> =
        emu.items(APP).iter().map(|i| i["__id"].as_str().unwrap().to_string()).collect();
    // contact1..800: the first 300 keys are in the app already, with other values.
    let s = sample(tmp.path(), "contacts.csv", 800, 0.0, 81);
    let extra = args!["--rows-per-chunk", "400", "--key-column", "Email"];
    // Found before anything is sent, those keys stop the run: their rows would be in the
    // app twice. The user imports them anyway, as the hint says.
    let out = elma(tmp.path(), &run_args(&emu, &s.path, &tmp.path().join("run"), &extra));
    out.expect_code(2);
    let refused = out.json();
    let error = refused["error"].as_str().unwrap_or_default();
    assert!(error.contains("300 item(s) already in crm.contacts match rows of this run"), "{error}");
    assert!(refused.to_string().contains("--again"), "the way on is named: {refused}");
    assert_eq!(emu.items(APP).len(), 300, "nothing sent");
    let run = spawn(tmp.path(), &resume_args(&emu, &tmp.path().join("run"), &args!["--again"]));
    expire_when_processed(&emu, APP, 100);
    let out = run.wait();
    out.expect_code(0).expect_stderr("already in the app match rows of this run");
    assert_exactly_once(&s, &new_items(&emu, &before));
    assert_eq!(emu.items(APP).len(), 300 + 800, "the old items are untouched");
}

#[test]
fn a_migration_step_whose_files_expire_reports_success_only_with_every_row_in_the_app() {
    // Before: a step whose temporary files expired twice exited 0 with 838 of 1,500
    // orders missing; the migration's totals had no "not imported".
    let tmp = tempdir();
    migration_files(tmp.path(), "move", 1_200);
    let emu = Emulator::start(&args!["--rows-per-sec", "400", "--strict-links"]);
    let mut a = args!["--json", "migrate", "move/migration.toml", "--run-dir", "m", "--pause", "1"];
    a.extend(conn(&emu));
    let run = spawn(tmp.path(), &a);
    expire_when_processed(&emu, "crm.contacts", 100);
    let out = run.wait();
    let report = out.json();
    let total = |k: &str| report[k].as_u64().unwrap_or_else(|| panic!("no `{k}`: {}", out.describe()));
    let landed: u64 = ["crm.companies", "crm.contacts", "logistics.orders"]
        .iter()
        .map(|app| emu.items(app).len() as u64)
        .sum();
    // Whatever the faults did: exit 0 exactly when every row is in its app, and the
    // totals say what landed.
    assert_eq!(out.code == Some(0), landed == total("rows_read"), "{}", out.describe());
    assert_eq!(total("imported"), landed, "{}", out.describe());
    if out.code != Some(0) {
        assert!(total("failed") + total("not_imported") + total("rows_invalid") > 0, "{}", out.describe());
        // What was left is imported by the resume, once.
        elma(tmp.path(), &[args!["--json", "resume", "m"], conn(&emu)].concat()).expect_code(0);
    }
    let companies = emu.items("crm.companies").len() as u64;
    let contacts = emu.items("crm.contacts").len() as u64;
    let orders = emu.items("logistics.orders").len() as u64;
    assert_eq!(companies + contacts + orders, total("rows_read"), "every row once: {}", out.describe());
}

#[test]
fn a_lost_start_in_old_moscow_summer_time_is_settled_by_content_and_nothing_is_rejected() {
    // Before: `--time-zone Europe/Moscow` against a `+03:00` platform (Moscow kept +04:00
    // in summers before 2011): 2,735 rows "cannot be told", and rejects.csv held rows
    // that had landed.
    let tmp = tempdir();
    let s = sample(tmp.path(), "contacts.csv", 400, 0.0, 82);
    let emu = Emulator::start(&args!["--rows-per-sec", "5000"]);
    emu.faults(serde_json::json!({"drop_after": 1.0, "routes": ["POST /app/{namespace}/{code}/import"]}));
    let run_dir = tmp.path().join("run");
    let out = elma(tmp.path(), &run_args(&emu, &s.path, &run_dir, &args!["--time-zone", "Europe/Moscow"]));
    out.expect_code(0).expect_stderr("by content, 400 row(s) are in the app");
    assert_exactly_once(&s, &emu.items(APP));
    let rejects = std::fs::read_to_string(run_dir.join("rejects.csv")).unwrap();
    assert_eq!(rejects.lines().count(), 1, "only the header: {rejects}");
}
