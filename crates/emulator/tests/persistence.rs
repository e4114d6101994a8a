//! With a data directory, uploads, items and finished imports survive a restart; an
//! import running at the stop ends failed.

use crate::common;

use std::time::Duration;

use common::{config, contacts_csv, start};
use elma_import_emulator::EmulatorConfig;
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn state_survives_a_restart_and_the_running_import_is_marked_interrupted() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = || EmulatorConfig { data_dir: Some(dir.path().to_path_buf()), rows_per_sec: 0.0, ..config() };

    let server = start(cfg()).await;
    let done_id = server.import("crm/contacts", contacts_csv(3, &[]), false).await;
    assert_eq!(server.wait_final("crm/contacts", &done_id, Duration::from_secs(10)).await["status"], "done");
    let kept_hash = common::hash();
    server.upload_temp(&kept_hash, contacts_csv(2, &[]), None).await;
    let (_, dir_file) = server.upload_dir("d", &common::hash(), "a.csv", b"Name\nA\n", None).await;
    server.running.shutdown().await;

    // Restart slow, start a long import, stop in the middle of it.
    let server = start(EmulatorConfig { rows_per_sec: 5.0, ..cfg() }).await;
    let (_, body) = server.start_import("crm/contacts", &kept_hash, false).await;
    let running_id = body["result"]["id"].as_str().expect("the upload survived").to_string();
    tokio::time::sleep(Duration::from_millis(100)).await;
    server.running.shutdown().await;

    let server = start(cfg()).await;
    let done = server.status("crm/contacts", &done_id).await;
    assert_eq!(done["status"], "done");
    assert_eq!(done["imported"], 3);
    let interrupted = server.status("crm/contacts", &running_id).await;
    assert_eq!(interrupted["status"], "failed", "{interrupted}");
    assert!(interrupted["errors"].to_string().contains("interrupted by emulator restart"), "{interrupted}");
    let (code, body) = server.list("crm/contacts", json!({"active": true, "from": 0, "size": 100})).await;
    assert_eq!(code, StatusCode::OK);
    assert!(body["result"]["total"].as_u64().unwrap() >= 3, "{body}");
    assert_eq!(body["result"]["result"][0]["__name"], "Person 1");
    // The app is free, and the directory keeps its names.
    let again = server.import("crm/contacts", contacts_csv(1, &[]), false).await;
    assert!(!again.is_empty());
    let (_, clash) = server.upload_dir("d", &common::hash(), "a.csv", b"Name\nB\n", None).await;
    assert_eq!(dir_file["file"]["__name"], "a.csv");
    assert_eq!(clash["file"]["__name"], "a (1).csv");
}

#[tokio::test]
async fn reset_forgets_everything() {
    let server = start(config()).await;
    let id = server.import("crm/contacts", contacts_csv(2, &[]), false).await;
    server.wait_final("crm/contacts", &id, Duration::from_secs(10)).await;
    let resp = server.http.post(format!("{}/_emulator/reset", server.root())).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let counters = server.counters().await;
    assert!(counters.imports.is_empty() && counters.requests.is_empty());
    assert_eq!(counters.items["crm.contacts"], 0);
    let items: serde_json::Value = server
        .http
        .get(format!("{}/_emulator/items/crm/contacts", server.root()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(items["total"], 0);
}

#[tokio::test]
async fn added_users_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = || EmulatorConfig { data_dir: Some(dir.path().to_path_buf()), ..config() };
    let server = start(cfg()).await;
    let id = "0b7ae1d4-6a45-4c51-9d3e-0a4bd3a8b1c2";
    let resp = server
        .http
        .post(format!("{}/_emulator/users", server.root()))
        .json(&json!({"__id": id, "__name": "Kept"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    server.running.shutdown().await;

    let server = start(cfg()).await;
    let users = server.running.emulator().users();
    assert_eq!(users.len(), 51);
    assert_eq!((users[50].id.as_str(), users[50].name.as_str()), (id, "Kept"));
    assert_eq!(users[..50], elma_import_emulator::seeded_users()[..]);
}
