//! The API of docs/platform.md §3–§6 against a served emulator: auth, import to done, list, blocked.

use crate::common;

use std::time::Duration;

use axum::body::Body;
use axum::http::Request;
use common::{config, contacts_csv, start, TOKEN};
use elma_import_emulator::{Emulator, EmulatorConfig};
use reqwest::StatusCode;
use serde_json::{json, Value};
use tower::ServiceExt;

#[tokio::test]
async fn auth_accepts_bearer_and_x_token_and_refuses_others_with_403() {
    let server = start(config()).await;
    let url = format!("{}/scheme/namespaces/crm/apps/contacts", server.base());
    let ok = server.http.get(&url).bearer_auth(TOKEN).send().await.unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
    let body: Value = ok.json().await.unwrap();
    assert_eq!(body["success"], true);
    assert_eq!(body["application"]["code"], "contacts");
    assert_eq!(body["application"]["fields"][0]["type"], "STRING");

    let ok = server.http.get(&url).header("X-Token", TOKEN).send().await.unwrap();
    assert_eq!(ok.status(), StatusCode::OK);

    for resp in [
        server.http.get(&url).send().await.unwrap(),
        server.http.get(&url).bearer_auth("wrong").send().await.unwrap(),
        server.http.get(&url).header("X-Token", "").send().await.unwrap(),
    ] {
        assert_eq!(resp.status(), StatusCode::FORBIDDEN);
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["success"], false);
        assert!(!body["error"].as_str().unwrap().is_empty());
    }

    let missing = server.http.get(format!("{}/scheme/namespaces/crm/apps/nope", server.base()));
    let resp = missing.bearer_auth(TOKEN).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    let body: Value = resp.json().await.unwrap();
    assert!(body["error"].as_str().unwrap().contains("crm.nope"), "{body}");
}

#[tokio::test]
async fn without_configured_tokens_any_non_empty_token_passes_in_process() {
    let emulator = Emulator::new(EmulatorConfig::default()).unwrap();
    let get = |auth: Option<&'static str>| {
        let mut req = Request::get("/pub/v1/scheme/namespaces/logistics/apps/orders");
        if let Some(a) = auth {
            req = req.header("Authorization", a);
        }
        emulator.router().oneshot(req.body(Body::empty()).unwrap())
    };
    assert_eq!(get(Some("Bearer anything")).await.unwrap().status(), 200);
    assert_eq!(get(Some("Bearer ")).await.unwrap().status(), 403);
    assert_eq!(get(None).await.unwrap().status(), 403);
    // The control endpoints need no token.
    let counters = emulator
        .router()
        .oneshot(Request::get("/_emulator/counters").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(counters.status(), 200);
    assert_eq!(emulator.counters().requests["GET /scheme/namespaces/{namespace}/apps/{code}"], 3);
}

#[tokio::test]
async fn temporary_upload_import_poll_and_list_typed_items() {
    let server = start(config()).await;
    let id = server.import("crm/contacts", contacts_csv(5, &[3]), false).await;
    let result = server.wait_final("crm/contacts", &id, Duration::from_secs(20)).await;
    assert_eq!(result["status"], "done", "{result}");
    assert_eq!(result["id"], id.as_str());
    assert_eq!((result["total"].as_u64(), result["processed"].as_u64()), (Some(5), Some(5)));
    assert_eq!((result["imported"].as_u64(), result["failed"].as_u64()), (Some(4), Some(1)));
    let errors = result["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "{result}");
    assert_eq!(errors[0]["row"], 4, "data row 3 is sheet row 4");
    assert_eq!(errors[0]["column"], "Email");
    assert!(errors[0]["message"].as_str().unwrap().contains("not-an-email"), "{result}");

    let (code, body) = server.list("crm/contacts", json!({"active": true, "from": 0, "size": 100})).await;
    assert_eq!(code, StatusCode::OK, "{body}");
    assert_eq!(body["success"], true);
    assert_eq!(body["result"]["total"], 4);
    let items = body["result"]["result"].as_array().unwrap();
    let first = &items[0];
    assert_eq!(first["__name"], "Person 1");
    assert_eq!(first["email"], json!([{"type": "home", "email": "user1@example.com"}]));
    assert_eq!(first["amount"], json!({"cents": 1000, "currency": "RUB"}));
    assert_eq!(first["active"], true);
    assert_eq!(first["segment"], json!([{"code": "vip", "name": "VIP"}]));
    assert!(first["__id"].as_str().is_some_and(|s| s.len() == 36));

    let (_, body) = server
        .list(
            "crm/contacts",
            json!({"active": true, "from": 0, "size": 10, "filter": {"tf": {"email": "USER5@example.com"}}}),
        )
        .await;
    assert_eq!(body["result"]["total"], 1);
    assert_eq!(body["result"]["result"][0]["__name"], "Person 5");

    let (_, body) = server.list("crm/contacts", json!({"active": true, "from": 3, "size": 10})).await;
    assert_eq!(body["result"]["result"].as_array().unwrap().len(), 1);
    assert_eq!(body["result"]["total"], 4);

    let (code, body) = server.list("crm/contacts", json!({"active": true, "from": 0, "size": 101})).await;
    assert_eq!(code, StatusCode::BAD_REQUEST);
    assert!(body["error"].as_str().unwrap().contains("101"), "{body}");

    let counters = server.counters().await;
    assert_eq!(counters.items["crm.contacts"], 4);
    assert_eq!(counters.imports[0].status, "done");
}

#[tokio::test]
async fn a_second_import_into_a_busy_app_is_blocked_without_an_id() {
    let server = start(EmulatorConfig { rows_per_sec: 20.0, ..config() }).await;
    let first = server.import("crm/contacts", contacts_csv(10, &[]), false).await;
    let hash = common::hash();
    server.upload_temp(&hash, contacts_csv(2, &[]), None).await;
    let (code, body) = server.start_import("crm/contacts", &hash, false).await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(body["success"], true);
    assert_eq!(body["result"]["status"], "blocked", "{body}");
    assert!(body["result"].get("id").is_none(), "{body}");

    // Another app is not blocked.
    let orders = "Order,Number\nA-1,1\n".as_bytes().to_vec();
    let other = server.import("logistics/orders", orders, false).await;
    assert_eq!(
        server.wait_final("logistics/orders", &other, Duration::from_secs(10)).await["status"],
        "done"
    );

    let mid = server.status("crm/contacts", &first).await;
    assert_eq!(mid["status"], "in_progress", "{mid}");
    assert!(mid["processed"].as_u64().unwrap() < 10);
    let done = server.wait_final("crm/contacts", &first, Duration::from_secs(20)).await;
    assert_eq!(done["imported"], 10);
    let (_, body) = server.start_import("crm/contacts", &hash, false).await;
    assert!(body["result"]["id"].is_string(), "free again: {body}");
}

#[tokio::test]
async fn header_errors_fail_the_whole_import_at_row_1() {
    let server = start(config()).await;
    let csv = "Email,Bogus\nx@example.com,1\n".as_bytes().to_vec();
    let id = server.import("crm/contacts", csv, false).await;
    let result = server.wait_final("crm/contacts", &id, Duration::from_secs(10)).await;
    assert_eq!(result["status"], "failed", "{result}");
    let errors = result["errors"].as_array().unwrap();
    assert!(errors.len() >= 2, "missing Name and unknown Bogus: {result}");
    assert!(errors.iter().all(|e| e["row"] == 1));
    assert!(errors.iter().any(|e| e["column"] == "Bogus"));
    assert_eq!(result["imported"], 0);
}

#[tokio::test]
async fn start_and_status_reject_bad_requests() {
    let server = start(config()).await;
    let (code, body) =
        server.start_import("crm/contacts", "00000000-0000-0000-0000-000000000000", false).await;
    assert_eq!(code, StatusCode::BAD_REQUEST);
    assert!(body["error"].as_str().unwrap().contains("no uploaded file"), "{body}");
    let (code, _) = server.post("/app/crm/contacts/import", json!({"hash": "x"})).await;
    assert_eq!(code, StatusCode::BAD_REQUEST);
    let (code, body) = server.post("/app/crm/contacts/import/status", json!({"id": "nope"})).await;
    assert_eq!(code, StatusCode::BAD_REQUEST);
    assert!(body["error"].as_str().unwrap().contains("`nope`"), "{body}");
    let (code, _) = server.start_import("crm/missing", "x", false).await;
    assert_eq!(code, StatusCode::NOT_FOUND);
}
