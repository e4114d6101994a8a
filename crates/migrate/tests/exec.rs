//! Executing migrations against the in-process emulator on 127.0.0.1:0: a step that
//! fails stops the steps waiting for it and not the others, and executing the directory
//! again finishes it without importing a finished step twice.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use elma_import_client::{Client, ClientConfig, RetryPolicy};
use elma_import_contract::schema::AppSchema;
use elma_import_emulator::{demo_apps, EmulatorConfig, RunningEmulator};
use elma_import_migrate::{create, execute, MigrateOptions, Migration, QuietMigration, Settings};
use elma_import_runner::{Cancel, ExecOptions, StopKind};
use serde_json::Value;

const TOKEN: &str = "exec-test";

async fn emulator(apps: &[&str]) -> (RunningEmulator, Client) {
    let config = EmulatorConfig {
        tokens: vec![TOKEN.into()],
        apps: demo_apps().into_iter().filter(|a| apps.contains(&a.id().as_str())).collect(),
        rows_per_sec: 0.0,
        strict_links: true,
        ..EmulatorConfig::default()
    };
    let emu = elma_import_emulator::serve(config, "127.0.0.1:0".parse().unwrap()).await.unwrap();
    let client = Client::new(ClientConfig {
        retry: RetryPolicy { max_retries: 1, ..RetryPolicy::default() },
        ..ClientConfig::new(emu.base_url(), TOKEN)
    })
    .unwrap();
    (emu, client)
}

fn files(dir: &Path) -> Migration {
    std::fs::write(dir.join("companies.csv"), "Name,INN\nAcme,7701\nBeta,7702\nGamma,7703\n").unwrap();
    std::fs::write(
        dir.join("contacts.csv"),
        "Name,Email,Company\nAnn,ann@x.org,7702\nBob,bob@x.org,7701\nCid,cid@x.org,7702\nDan,dan@x.org,\n",
    )
    .unwrap();
    std::fs::write(dir.join("orders.csv"), "Order,Number\nA-1,1\nA-2,2\n").unwrap();
    let toml = "[[step]]\nfile = \"companies.csv\"\napp = \"crm.companies\"\nkey = \"INN\"\n\n\
                [[step]]\nfile = \"contacts.csv\"\napp = \"crm.contacts\"\nkey = \"Email\"\n\
                references = { Company = { app = \"crm.companies\", by = \"INN\" } }\n\n\
                [[step]]\nfile = \"orders.csv\"\napp = \"logistics.orders\"\nkey = \"Number\"\n";
    std::fs::write(dir.join("m.toml"), toml).unwrap();
    Migration::load(&dir.join("m.toml")).unwrap()
}

fn schemas() -> BTreeMap<String, AppSchema> {
    demo_apps().into_iter().map(|a| (a.id(), a)).collect()
}

fn options() -> MigrateOptions {
    MigrateOptions {
        parallel: 4,
        exec: ExecOptions { pause: Some(Duration::from_millis(10)), ..Default::default() },
        assume: Vec::new(),
    }
}

async fn items(client: &Client, app: &str) -> Vec<serde_json::Map<String, Value>> {
    client.list_all(&app.parse().unwrap(), None).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_step_stops_its_dependents_only_and_a_second_execution_finishes_once() {
    let tmp = tempfile::tempdir().unwrap();
    let migration = files(tmp.path());
    let dir = tmp.path().join("mig");
    create(&dir, &migration, &Settings::default(), &schemas()).unwrap();

    // The platform does not know crm.companies: that step fails, the contacts wait for it
    // and are not started, the orders go in.
    let (emu, client) = emulator(&["crm.contacts", "logistics.orders"]).await;
    let report = execute(&dir, &client, &options(), Arc::new(QuietMigration), &Cancel::new()).await.unwrap();
    let status: Vec<&str> = report.steps.iter().map(|s| s.status.as_str()).collect();
    assert_eq!(status, ["failed", "skipped", "done"], "{report:#?}");
    assert_eq!(report.status, "incomplete");
    assert_eq!(report.stop, Some(StopKind::Usage), "an unknown app is a configuration error: {report:#?}");
    assert!(report.steps[0].error.as_deref().unwrap_or("").contains("crm.companies"), "{report:#?}");
    assert_eq!(items(&client, "logistics.orders").await.len(), 2);
    assert!(items(&client, "crm.contacts").await.is_empty());
    emu.shutdown().await;

    // Against a platform that knows every app: the companies and then the contacts go in;
    // the orders, done before, are not imported again.
    let (emu, client) = emulator(&["crm.companies", "crm.contacts", "logistics.orders"]).await;
    let report = execute(&dir, &client, &options(), Arc::new(QuietMigration), &Cancel::new()).await.unwrap();
    let status: Vec<&str> = report.steps.iter().map(|s| s.status.as_str()).collect();
    assert_eq!(status, ["done", "done", "done"], "{report:#?}");
    assert_eq!(report.stop, None);
    assert!(report.steps[2].summary.is_none(), "the orders step ran in the first execution");
    assert!(items(&client, "logistics.orders").await.is_empty(), "the orders were imported again");
    let companies = items(&client, "crm.companies").await;
    let id_of = |inn: &str| {
        companies.iter().find(|c| c["inn"] == inn).and_then(|c| c["__id"].as_str()).unwrap().to_string()
    };
    let contacts = items(&client, "crm.contacts").await;
    assert_eq!(contacts.len(), 4);
    for (name, inn) in [("Ann", Some("7702")), ("Bob", Some("7701")), ("Cid", Some("7702")), ("Dan", None)] {
        let c = contacts.iter().find(|c| c["__name"] == name).unwrap();
        let linked: Vec<String> = match &c.get("company") {
            Some(Value::Array(a)) => a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect(),
            Some(Value::String(s)) => vec![s.clone()],
            _ => Vec::new(),
        };
        assert_eq!(linked, inn.map(id_of).into_iter().collect::<Vec<_>>(), "{name}");
    }
    // The map used is in the journal.
    let journal = std::fs::read_to_string(dir.join("migration.jsonl")).unwrap();
    let ids = journal.lines().find(|l| l.contains("\"event\":\"ids\"")).unwrap();
    assert!(ids.contains(&id_of("7702")) && !ids.contains(&id_of("7703")), "{ids}");
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_migration_directory_held_by_another_process_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let migration = files(tmp.path());
    let dir = tmp.path().join("mig");
    create(&dir, &migration, &Settings::default(), &schemas()).unwrap();
    let _held = elma_import_runner::journal::DirLock::acquire(&dir).unwrap();
    let (emu, client) = emulator(&["crm.companies", "crm.contacts", "logistics.orders"]).await;
    let err = execute(&dir, &client, &options(), Arc::new(QuietMigration), &Cancel::new()).await.unwrap_err();
    assert_eq!(err.kind(), StopKind::Usage);
    assert!(err.to_string().contains("is in use by another elma-import process"), "{err}");
    assert!(items(&client, "crm.companies").await.is_empty(), "something was imported");
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_parallel_one_the_steps_run_one_at_a_time_in_wave_order() {
    let tmp = tempfile::tempdir().unwrap();
    let migration = files(tmp.path());
    let dir = tmp.path().join("mig");
    create(&dir, &migration, &Settings::default(), &schemas()).unwrap();
    let (emu, client) = emulator(&["crm.companies", "crm.contacts", "logistics.orders"]).await;
    let one = MigrateOptions { parallel: 1, ..options() };
    let report = execute(&dir, &client, &one, Arc::new(QuietMigration), &Cancel::new()).await.unwrap();
    assert_eq!(report.stop, None, "{report:#?}");
    let span = |i: usize| (report.steps[i].started_at.unwrap(), report.steps[i].finished_at.unwrap());
    // Wave 1 (companies, orders) in file order, then wave 2 (contacts).
    let (companies, contacts, orders) = (span(0), span(1), span(2));
    assert!(companies.1 <= orders.0, "{companies:?} {orders:?}");
    assert!(orders.1 <= contacts.0, "{orders:?} {contacts:?}");
    emu.shutdown().await;
}
