//! End-to-end tests of `migrate`: the real binary against emulator child processes on
//! 127.0.0.1:0. A migration of companies → contacts (Company named by INN) with
//! logistics orders alongside must import every row exactly once with every contact
//! linked to the company its source row named, also when the binary is killed at random
//! moments and resumed; an unknown key must stop it before anything is sent.

#![allow(clippy::useless_vec)]

use crate::util;

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use elma_import_template::sample::{write_csv, SampleOptions};
use elma_import_template::Locale;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::Value;
use util::*;

fn tempdir() -> tempfile::TempDir {
    tempfile::Builder::new().prefix("elma-migrate-").tempdir().expect("tempdir")
}

fn p(path: &Path) -> String {
    path.display().to_string()
}

fn inn(n: u64) -> String {
    format!("77{:08}", 1_000 + n * 7)
}

/// The three files and the migration file; what the contacts should link to.
struct Setup {
    toml: std::path::PathBuf,
    contacts: Sample,
    /// Email → INN named by the contact's row.
    named: HashMap<String, String>,
    companies: u64,
    orders: u64,
}

/// Writes `companies` companies, `contacts` contacts (Company = a company's INN; the row
/// of index `bad_row`, if any, names an INN no company has) and `orders` orders.
fn setup(dir: &Path, companies: u64, contacts: u64, orders: u64, seed: u64, bad_row: Option<usize>) -> Setup {
    let mut w = csv::Writer::from_path(dir.join("companies.csv")).unwrap();
    w.write_record(["Name", "INN", "City"]).unwrap();
    for n in 0..companies {
        w.write_record([format!("Company {n}"), inn(n), "Kazan".into()]).unwrap();
    }
    w.flush().unwrap();
    let raw = sample(dir, "contacts.raw.csv", contacts, 0.0, seed);
    let mut r = csv::Reader::from_path(&raw.path).unwrap();
    let header = r.headers().unwrap().clone();
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let (company, email, manager) = (col("Company"), col("Email"), col("Manager"));
    // The emulator checks links: users must be its users.
    let users = elma_import_emulator::seeded_users();
    let path = dir.join("contacts.csv");
    let mut w = csv::Writer::from_path(&path).unwrap();
    w.write_record(&header).unwrap();
    let mut named = HashMap::new();
    for (i, record) in r.records().enumerate() {
        let record = record.unwrap();
        let key = if Some(i) == bad_row {
            "7799999999".to_string()
        } else {
            inn((i as u64 * 7 + seed) % companies)
        };
        named.insert(record[email].to_string(), key.clone());
        let cells: Vec<String> = record
            .iter()
            .enumerate()
            .map(|(c, v)| match c {
                _ if c == company => key.clone(),
                _ if c == manager => format!("[{}]", users[i % users.len()].id),
                _ => v.to_string(),
            })
            .collect();
        w.write_record(&cells).unwrap();
    }
    w.flush().unwrap();
    let contacts = Sample { path, ..raw };
    let orders_schema = elma_import_contract::schema::AppSchema::from_json(include_str!(
        "../../../templates/logistics.orders.schema.json"
    ))
    .unwrap();
    let options = SampleOptions { rows: orders, bad_share: 0.0, seed, locale: Locale::Ru };
    let raw = dir.join("orders.raw.csv");
    write_csv(&orders_schema, &raw, &options).unwrap();
    let mut r = csv::Reader::from_path(&raw).unwrap();
    let header = r.headers().unwrap().clone();
    let couriers = header.iter().position(|h| h == "Couriers").unwrap();
    let mut w = csv::Writer::from_path(dir.join("orders.csv")).unwrap();
    w.write_record(&header).unwrap();
    for (i, record) in r.records().enumerate() {
        let record = record.unwrap();
        let cells: Vec<String> =
            record
                .iter()
                .enumerate()
                .map(|(c, v)| {
                    if c == couriers {
                        format!("[{}]", users[(i + 3) % users.len()].id)
                    } else {
                        v.to_string()
                    }
                })
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
rows_per_chunk = 200
references = { Company = { app = "crm.companies", by = "INN" } }

[[step]]
file = "orders.csv"
app = "logistics.orders"
key = "Number"
rows_per_chunk = 200
"#,
    )
    .unwrap();
    Setup { toml, contacts, named, companies, orders }
}

fn migrate_args(emu: &Emulator, s: &Setup, dir: &Path, extra: &[String]) -> Vec<String> {
    let mut a = args!["--json", "migrate", p(&s.toml), "--run-dir", p(dir)];
    a.extend(extra.iter().cloned());
    a.extend(conn(emu));
    a
}

/// An item's e-mail: §7 `[{type, email}]`, or a bare string.
fn email_of(v: &Value) -> String {
    match v {
        Value::Array(a) => a.first().and_then(|e| e["email"].as_str()).unwrap_or("").to_string(),
        Value::String(s) => s.clone(),
        _ => String::new(),
    }
}

fn linked_ids(v: &Value) -> Vec<String> {
    match v {
        Value::Array(a) => a.iter().filter_map(|x| x.as_str().map(str::to_string)).collect(),
        Value::String(s) => vec![s.clone()],
        _ => Vec::new(),
    }
}

/// Every company once, every contact once and linked to the company its row named,
/// every order once.
#[track_caller]
fn assert_migrated(emu: &Emulator, s: &Setup) {
    let companies = emu.items("crm.companies");
    let mut id_of = HashMap::new();
    for c in &companies {
        let previous = id_of.insert(
            c["inn"].as_str().unwrap_or("").to_string(),
            c["__id"].as_str().unwrap_or("").to_string(),
        );
        assert!(previous.is_none(), "company {} landed twice", c["inn"]);
    }
    assert_eq!(companies.len() as u64, s.companies, "companies");
    let contacts = emu.items("crm.contacts");
    let mut seen = std::collections::HashSet::new();
    for item in &contacts {
        let email = email_of(&item["email"]);
        let Some(named) = s.named.get(&email) else {
            panic!("{email:?}: an item that is no row of the file")
        };
        assert!(seen.insert(email.clone()), "{email}: landed twice");
        assert_eq!(
            item["__name"].as_str(),
            s.contacts.expected.get(&email).map(String::as_str),
            "{email}: name"
        );
        assert_eq!(linked_ids(&item["company"]), [id_of[named].clone()], "{email}: wrong Company");
    }
    assert_eq!(seen.len(), s.contacts.expected.len(), "contacts missing");
    let orders = emu.items("logistics.orders");
    assert_eq!(orders.len() as u64, s.orders, "orders");
    let mut numbers: Vec<String> = orders.iter().map(|o| o["number"].to_string()).collect();
    numbers.sort();
    numbers.dedup();
    assert_eq!(numbers.len() as u64, s.orders, "an order landed twice");
}

#[test]
fn a_migration_resolves_references_and_imports_every_row_once() {
    let tmp = tempdir();
    let s = setup(tmp.path(), 30, 400, 300, 3, None);
    let emu = Emulator::start(&args!["--rows-per-sec", "400", "--strict-links"]);
    let dir = tmp.path().join("mig");
    let out = elma(tmp.path(), &migrate_args(&emu, &s, &dir, &[]));
    out.expect_code(0);
    let report = out.json();
    assert_eq!(report["status"], "completed", "{}", out.describe());
    assert_eq!(report["imported"], 30 + 400 + 300);
    assert_eq!(report["steps"][1]["waited_for"], serde_json::json!([1]));
    assert_migrated(&emu, &s);
    // The id map is journaled, and the contacts ran on a resolved copy.
    let journal = std::fs::read_to_string(dir.join("migration.jsonl")).unwrap();
    assert!(journal.contains("\"event\":\"ids\""), "{journal}");
    assert!(dir.join("steps/02-crm.contacts/resolved.csv").exists());
    assert!(dir.join("steps/01-crm.companies/journal.jsonl").exists());
    // The emulator's import intervals: the orders imported while the companies did (they
    // wait for nothing), and the contacts only after the companies were done.
    let counters = emu.counters();
    let interval = |app: &str| {
        let imports: Vec<&Value> =
            counters["imports"].as_array().unwrap().iter().filter(|i| i["app"] == app).collect();
        let start = imports.iter().map(|i| i["started_ms"].as_u64().unwrap()).min().unwrap();
        let end = imports.iter().map(|i| i["finished_ms"].as_u64().unwrap()).max().unwrap();
        (start, end)
    };
    let (companies, contacts) = (interval("crm.companies"), interval("crm.contacts"));
    // The orders' step (it waits for nothing) ran side by side with the companies' step;
    // their imports are too short on a busy machine to be sure to overlap.
    let step = |k: usize| {
        let s = &report["steps"][k];
        (s["started_at"].as_f64().unwrap(), s["finished_at"].as_f64().unwrap())
    };
    let (companies_step, orders_step) = (step(0), step(2));
    assert!(
        orders_step.0 < companies_step.1 && companies_step.0 < orders_step.1,
        "the steps did not run side by side: {companies_step:?} {orders_step:?}"
    );
    assert!(
        contacts.0 >= companies.1,
        "contacts began before the companies ended: {companies:?} {contacts:?}"
    );
}

#[test]
fn an_unknown_key_is_reported_before_anything_is_sent() {
    let tmp = tempdir();
    let s = setup(tmp.path(), 10, 50, 20, 4, Some(6));
    let emu = Emulator::start(&args!["--strict-links"]);
    let dir = tmp.path().join("mig");
    let mut a = migrate_args(&emu, &s, &dir, &[]);
    a.retain(|x| x != "--json");
    let out = elma(tmp.path(), &a);
    out.expect_code(1);
    // Row 8: the 7th data row; the file, column and value are named.
    out.expect_stderr("contacts.csv` row 8, column `Company`, value `7799999999`");
    out.expect_stderr("is no INN of");
    out.expect_stderr("nothing was sent");
    let counters = emu.counters();
    let requests = counters["requests"].as_object().cloned().unwrap_or_default();
    for route in requests.keys() {
        assert!(!route.contains("upload") && !route.ends_with("/import"), "{route} was called: {counters}");
    }
    assert!(!dir.exists(), "a migration directory was created");
    // With --skip-invalid the other rows go in and the bad one is listed by source row.
    let out = elma(tmp.path(), &migrate_args(&emu, &s, &dir, &args!["--skip-invalid"]));
    out.expect_code(1);
    let contacts = emu.items("crm.contacts");
    assert_eq!(contacts.len(), 49);
    assert!(contacts.iter().all(|c| s.named[&email_of(&c["email"])] != "7799999999"));
    let errors = std::fs::read_to_string(dir.join("steps/02-crm.contacts/errors.csv")).unwrap();
    assert!(errors.lines().any(|l| l.starts_with("8,") && l.contains("7799999999")), "{errors}");
}

#[test]
fn a_cycle_and_the_plan_are_shown_offline() {
    let tmp = tempdir();
    let s = setup(tmp.path(), 10, 50, 20, 5, None);
    let templates = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../templates");
    let out = elma(tmp.path(), &args!["--json", "plan", p(&s.toml), "--schema", p(&templates)]);
    out.expect_code(0);
    let plan = &out.json()["plan"];
    assert_eq!(plan["waves"], serde_json::json!([[1, 3], [2]]), "{plan}");
    assert!(plan["estimate_secs"].as_f64().unwrap() < plan["sequential_secs"].as_f64().unwrap(), "{plan}");
    let cyclic = tmp.path().join("cycle.toml");
    std::fs::write(
        &cyclic,
        "[[step]]\nfile = \"companies.csv\"\napp = \"crm.companies\"\nkey = \"INN\"\nreferences = { City = { app = \"crm.contacts\", by = \"Email\" } }\n\
         [[step]]\nfile = \"contacts.csv\"\napp = \"crm.contacts\"\nkey = \"Email\"\nreferences = { Company = { app = \"crm.companies\", by = \"INN\" } }\n",
    )
    .unwrap();
    let out = elma(tmp.path(), &args!["migrate", p(&cyclic), "--dry-run", "--schema-dir", p(&templates)]);
    out.expect_code(2)
        .expect_stderr("cycle")
        .expect_stderr("step 1 (crm.companies")
        .expect_stderr("step 2 (crm.contacts");
}

fn killed_and_resumed(seed: u64) {
    let mut rng = StdRng::seed_from_u64(seed);
    let tmp = tempdir();
    let s = setup(tmp.path(), 40, 800, 600, seed, None);
    let emu = Emulator::start(&args!["--rows-per-sec", "600", "--strict-links"]);
    let dir = tmp.path().join("mig");
    let mut history = String::new();
    let mut kills = 0;
    loop {
        let a = if dir.join("migration.json").exists() {
            let mut a = args!["--json", "resume", p(&dir)];
            a.extend(conn(&emu));
            a
        } else {
            migrate_args(&emu, &s, &dir, &[])
        };
        let running = spawn(tmp.path(), &a);
        let out = if kills < 5 {
            let wait = Duration::from_millis(rng.random_range(100..=2500));
            let (out, killed) = running.wait_or_kill(wait);
            if killed {
                kills += 1;
                history.push_str(&format!("\n[killed after {wait:?}]\n"));
            }
            out
        } else {
            running.wait()
        };
        history.push_str(&out.describe());
        if out.code == Some(0) {
            assert_eq!(out.json()["imported"], 40 + 800 + 600, "seed {seed}:\n{history}");
            break;
        }
        assert!(out.code.is_none(), "seed {seed}: the migration stopped on its own:\n{history}");
        assert!(kills <= 5, "seed {seed}: no end in sight:\n{history}");
    }
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| assert_migrated(&emu, &s)))
        .unwrap_or_else(|e| panic!("seed {seed}: {kills} kills: {e:?}\n{history}"));
    eprintln!("seed {seed}: {kills} kills, exactly once with every link right");
}

#[test]
fn killed_migrations_resume_to_exactly_once_with_every_link_right() {
    std::thread::scope(|scope| {
        let handles: Vec<_> = (1u64..=3).map(|seed| scope.spawn(move || killed_and_resumed(seed))).collect();
        for h in handles {
            h.join().unwrap_or_else(|e| std::panic::resume_unwind(e));
        }
    });
}
