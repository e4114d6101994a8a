//! Fault injection: deterministic by seed, only on /pub/v1, counted.

use crate::common;

use std::time::Duration;

use common::{config, contacts_csv, start, Server, TOKEN};
use elma_import_emulator::{EmulatorConfig, Fault, FaultProfile};
use reqwest::StatusCode;
use serde_json::json;

async fn statuses(server: &Server, n: usize) -> Vec<Option<u16>> {
    let url = format!("{}/scheme/namespaces/crm/apps/contacts", server.base());
    let mut out = Vec::new();
    for _ in 0..n {
        out.push(server.http.get(&url).bearer_auth(TOKEN).send().await.ok().map(|r| r.status().as_u16()));
    }
    out
}

fn noisy(seed: u64) -> EmulatorConfig {
    EmulatorConfig {
        seed,
        faults: FaultProfile {
            http_500: 0.15,
            http_503: 0.15,
            http_429: 0.15,
            drop_before: 0.15,
            retry_after_secs: 7,
            ..FaultProfile::default()
        },
        ..config()
    }
}

#[tokio::test]
async fn the_same_seed_gives_the_same_faults() {
    let a = start(noisy(11)).await;
    let b = start(noisy(11)).await;
    let c = start(noisy(12)).await;
    let (sa, sb, sc) = (statuses(&a, 40).await, statuses(&b, 40).await, statuses(&c, 40).await);
    assert_eq!(sa, sb);
    assert_ne!(sa, sc);
    for code in [Some(200), Some(500), Some(503), Some(429), None] {
        assert!(sa.contains(&code), "{code:?} in {sa:?}");
    }
    let (ca, cb) = (a.counters().await, b.counters().await);
    assert_eq!(ca.fault_log, cb.fault_log);
    assert_eq!(ca.requests["GET /scheme/namespaces/{namespace}/apps/{code}"], 40);
    let injected: u64 = ca.faults.values().sum();
    assert_eq!(injected as usize, sa.iter().filter(|s| **s != Some(200)).count());
    assert_eq!(ca.faults["drop_before"] as usize, sa.iter().filter(|s| s.is_none()).count());
}

#[tokio::test]
async fn retry_after_is_sent_and_control_endpoints_are_never_faulted() {
    let server = start(EmulatorConfig {
        faults: FaultProfile { http_429: 1.0, retry_after_secs: 7, ..FaultProfile::default() },
        ..config()
    })
    .await;
    let resp = server
        .http
        .get(format!("{}/scheme/namespaces/crm/apps/contacts", server.base()))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(resp.headers()["Retry-After"], "7");
    let counters = server.counters().await;
    assert_eq!(counters.faults["http_429"], 1);
    assert_eq!(counters.fault_log[0].fault, Fault::Http429);
}

#[tokio::test]
async fn drop_after_runs_the_import_but_the_client_gets_no_answer() {
    let server = start(EmulatorConfig { rows_per_sec: 5.0, ..config() }).await;
    let hash = common::hash();
    server.upload_temp(&hash, contacts_csv(20, &[]), None).await;
    let set = server
        .http
        .post(format!("{}/_emulator/faults", server.root()))
        .json(&json!({"drop_after": 1.0, "routes": ["POST /app/{namespace}/{code}/import"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(set.status(), StatusCode::OK);
    let lost = server
        .http
        .post(format!("{}/app/crm/contacts/import", server.base()))
        .bearer_auth(TOKEN)
        .json(&json!({"fileHash": hash, "format": "csv", "withEventHandlers": false}))
        .send()
        .await;
    assert!(lost.is_err(), "no answer expected: {lost:?}");
    let counters = server.counters().await;
    assert_eq!(counters.imports.len(), 1, "the import started anyway");
    assert_eq!(counters.faults["drop_after"], 1);

    // Other routes are untouched by the route filter; clearing the faults lets the
    // client see that the app is busy.
    server.http.post(format!("{}/_emulator/faults", server.root())).json(&json!({})).send().await.unwrap();
    let (_, body) = server.start_import("crm/contacts", &hash, false).await;
    assert_eq!(body["result"]["status"], "blocked");
}

#[tokio::test]
async fn a_foreign_import_blocks_an_app_for_a_while() {
    let server = start(config()).await;
    let resp = server
        .http
        .post(format!("{}/_emulator/faults", server.root()))
        .json(&json!({"block_app": "crm.contacts", "block_secs": 1.0}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let hash = common::hash();
    server.upload_temp(&hash, contacts_csv(1, &[]), None).await;
    let (_, body) = server.start_import("crm/contacts", &hash, false).await;
    assert_eq!(body["result"]["status"], "blocked");
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let (_, body) = server.start_import("crm/contacts", &hash, false).await;
    assert!(body["result"]["id"].is_string(), "{body}");

    let bad = server
        .http
        .post(format!("{}/_emulator/faults", server.root()))
        .json(&json!({"http_500": 0.8, "http_503": 0.8}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn slow_answers_are_delayed() {
    let server = start(EmulatorConfig {
        faults: FaultProfile { slow: 1.0, slow_ms: 300, ..FaultProfile::default() },
        ..config()
    })
    .await;
    let t0 = std::time::Instant::now();
    let (code, _) = server.list("crm/contacts", json!({"active": true, "from": 0, "size": 1})).await;
    assert_eq!(code, StatusCode::OK);
    assert!(t0.elapsed() >= Duration::from_millis(300));
    assert_eq!(server.counters().await.faults["slow"], 1);
}
