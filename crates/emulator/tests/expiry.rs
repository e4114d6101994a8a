//! Temporary files expire `temp_ttl` after upload (docs/platform.md §2).

use crate::common;

use std::time::Duration;

use common::{config, contacts_csv, start};
use elma_import_emulator::EmulatorConfig;
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn an_expired_temporary_file_cannot_be_imported() {
    let server = start(EmulatorConfig { temp_ttl: Duration::from_secs(1), ..config() }).await;
    let hash = common::hash();
    let (code, _) = server.upload_temp(&hash, contacts_csv(2, &[]), None).await;
    assert_eq!(code, StatusCode::OK);
    tokio::time::sleep(Duration::from_millis(1300)).await;
    let (code, body) = server.start_import("crm/contacts", &hash, false).await;
    assert_eq!(code, StatusCode::BAD_REQUEST, "{body}");
    let error = body["error"].as_str().unwrap();
    assert!(error.contains("expired") && error.contains(&hash), "{error}");

    // A directory file never expires.
    let dir_hash = common::hash();
    server.upload_dir("d", &dir_hash, "a.csv", &contacts_csv(1, &[]), None).await;
    tokio::time::sleep(Duration::from_millis(1300)).await;
    let (_, body) = server.start_import("crm/contacts", &dir_hash, false).await;
    assert!(body["result"]["id"].is_string(), "{body}");
}

#[tokio::test]
async fn an_import_still_running_when_its_file_expires_fails() {
    let server =
        start(EmulatorConfig { temp_ttl: Duration::from_secs(1), rows_per_sec: 10.0, ..config() }).await;
    let id = server.import("crm/contacts", contacts_csv(30, &[]), false).await;
    let result = server.wait_final("crm/contacts", &id, Duration::from_secs(10)).await;
    assert_eq!(result["status"], "failed", "{result}");
    let imported = result["imported"].as_u64().unwrap();
    assert!(imported > 0 && imported < 30, "{result}");
    let errors = result["errors"].as_array().unwrap();
    assert!(errors
        .iter()
        .any(|e| e["message"].as_str().unwrap().contains("expired before the import finished")));
    // The app is free again.
    let again = server.import("crm/contacts", contacts_csv(1, &[]), false).await;
    assert!(!again.is_empty());
}

#[tokio::test]
async fn the_expire_fault_expires_every_temporary_file_now() {
    let server = start(EmulatorConfig { rows_per_sec: 10.0, ..config() }).await;
    let id = server.import("crm/contacts", contacts_csv(50, &[]), false).await;
    let waiting = common::hash();
    server.upload_temp(&waiting, contacts_csv(1, &[]), None).await;
    let resp = server
        .http
        .post(format!("{}/_emulator/faults", server.root()))
        .json(&json!({"expire_temp_files": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let result = server.wait_final("crm/contacts", &id, Duration::from_secs(10)).await;
    assert_eq!(result["status"], "failed", "{result}");
    let (code, _) = server.start_import("crm/contacts", &waiting, false).await;
    assert_eq!(code, StatusCode::BAD_REQUEST);
}
