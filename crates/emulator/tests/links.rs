//! Server-side checks the client cannot make: with strict links a SYS_USER id must be a
//! user of the emulator and a SYS_COLLECTION id an item of the linked app; such rows
//! fail with a row error naming the value, the others import. The users endpoints.

use crate::common;

use std::time::Duration;

use common::{config, start, Server};
use elma_import_emulator::{seeded_users, EmulatorConfig, SEEDED_USERS};
use reqwest::StatusCode;
use serde_json::{json, Value};

const STRANGER: &str = "0b7ae1d4-6a45-4c51-9d3e-0a4bd3a8b1c2";

fn strict() -> EmulatorConfig {
    EmulatorConfig { strict_links: true, ..config() }
}

impl Server {
    async fn control(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let mut req = self.http.request(method, format!("{}/_emulator{path}", self.root()));
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("control answers");
        let status = resp.status();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    async fn users(&self) -> Vec<String> {
        let (code, body) = self.control(reqwest::Method::GET, "/users", None).await;
        assert_eq!(code, StatusCode::OK, "{body}");
        body["users"].as_array().unwrap().iter().map(|u| u["__id"].as_str().unwrap().to_string()).collect()
    }

    /// Imports `csv` into `app` and waits for the end.
    async fn import_done(&self, app: &str, csv: String) -> Value {
        let id = self.import(app, csv.into_bytes(), false).await;
        self.wait_final(app, &id, Duration::from_secs(10)).await
    }

    async fn ids(&self, app: &str) -> Vec<(String, String)> {
        let (_, body) = self.list(app, json!({"active": true, "from": 0, "size": 100})).await;
        body["result"]["result"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| (i["__name"].as_str().unwrap().to_string(), i["__id"].as_str().unwrap().to_string()))
            .collect()
    }
}

#[tokio::test]
async fn fifty_users_are_seeded_the_same_way_every_time_and_more_can_be_added() {
    let server = start(config()).await;
    let users = server.users().await;
    assert_eq!(users.len(), SEEDED_USERS);
    assert_eq!(users.len(), 50);
    let again: Vec<String> = seeded_users().into_iter().map(|u| u.id).collect();
    assert_eq!(users, again, "deterministic");
    assert!(users.iter().all(|u| uuid::Uuid::parse_str(u).is_ok()));
    let mut unique = users.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 50);

    let (code, body) = server
        .control(reqwest::Method::POST, "/users", Some(json!({"__id": STRANGER, "__name": "Zed"})))
        .await;
    assert_eq!(code, StatusCode::OK, "{body}");
    assert_eq!(body["user"], json!({"__id": STRANGER, "__name": "Zed", "email": "user51@emulator.invalid"}));
    let (code, body) = server.control(reqwest::Method::POST, "/users", Some(json!({}))).await;
    assert_eq!(code, StatusCode::OK, "{body}");
    assert!(body["user"]["__id"].as_str().is_some_and(|id| id.len() == 36));
    assert_eq!(server.users().await.len(), 52);

    let (code, body) = server.control(reqwest::Method::POST, "/users", Some(json!({"__id": STRANGER}))).await;
    assert_eq!(code, StatusCode::CONFLICT, "{body}");
    let (code, body) = server.control(reqwest::Method::POST, "/users", Some(json!({"__id": "nope"}))).await;
    assert_eq!(code, StatusCode::BAD_REQUEST, "{body}");
    assert!(body["error"].as_str().unwrap().contains("`nope`"));
    let (code, _) = server.control(reqwest::Method::POST, "/users", Some(json!({"id": STRANGER}))).await;
    assert_eq!(code, StatusCode::BAD_REQUEST, "unknown fields are refused");

    server.control(reqwest::Method::POST, "/reset", None).await;
    assert_eq!(server.users().await, again, "a reset returns to the seeded users");
}

#[tokio::test]
async fn strict_links_fail_rows_naming_unknown_users_and_items_and_import_the_rest() {
    let server = start(strict()).await;
    let done = server.import_done("crm/companies", "Name,INN\nAcme,7701\nGlobex,7702\n".into()).await;
    assert_eq!(done["imported"], 2, "{done}");
    let companies = server.ids("crm/companies").await;
    let acme = &companies[0].1;
    let user = server.users().await[7].clone();

    let csv = format!(
        "Name,Manager,Company\n\
         Good,[{user}],[{acme}]\n\
         No such user,[{STRANGER}],[{acme}]\n\
         No such company,[{user}],[{STRANGER}]\n\
         Empty links,,\n"
    );
    let done = server.import_done("crm/contacts", csv).await;
    assert_eq!((done["imported"].as_u64(), done["failed"].as_u64()), (Some(2), Some(2)), "{done}");
    let errors = done["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 2, "{done}");
    assert_eq!((errors[0]["row"].as_u64(), errors[0]["column"].as_str()), (Some(3), Some("Manager")));
    assert!(errors[0]["message"].as_str().unwrap().contains(&format!("`{STRANGER}`")), "{done}");
    assert!(errors[0]["message"].as_str().unwrap().contains("user"), "{done}");
    assert_eq!((errors[1]["row"].as_u64(), errors[1]["column"].as_str()), (Some(4), Some("Company")));
    assert!(errors[1]["message"].as_str().unwrap().contains("`crm.companies`"), "{done}");
    let names: Vec<String> = server.ids("crm/contacts").await.into_iter().map(|(n, _)| n).collect();
    assert_eq!(names, ["Good", "Empty links"]);

    // An item of another app is not a company.
    let contact = server.ids("crm/contacts").await[0].1.clone();
    let done = server.import_done("crm/contacts", format!("Name,Company\nWrong app,[{contact}]\n")).await;
    assert_eq!(done["failed"], 1, "{done}");

    // A user added later is accepted from then on.
    server.control(reqwest::Method::POST, "/users", Some(json!({"__id": STRANGER}))).await;
    let done = server.import_done("crm/contacts", format!("Name,Manager\nLate,[{STRANGER}]\n")).await;
    assert_eq!(done["imported"], 1, "{done}");
}

#[tokio::test]
async fn without_strict_links_any_well_formed_id_is_stored() {
    let server = start(config()).await;
    let done = server
        .import_done("crm/contacts", format!("Name,Manager,Company\nA,[{STRANGER}],[{STRANGER}]\n"))
        .await;
    assert_eq!(done["imported"], 1, "{done}");
}

#[tokio::test]
async fn an_app_linking_to_itself_may_name_its_earlier_items() {
    let tree = r#"{"namespace":"org","code":"units","fields":[
        {"code":"__name","name":"Name","type":"STRING","required":true},
        {"code":"parent","name":"Parent","type":"SYS_COLLECTION","data":{"namespace":"org","code":"units"}}]}"#;
    let app = elma_import_contract::schema::AppSchema::from_json(tree).unwrap();
    let server = start(EmulatorConfig { apps: vec![app], ..strict() }).await;
    let done = server.import_done("org/units", "Name\nRoot\n".into()).await;
    assert_eq!(done["imported"], 1, "{done}");
    let root = server.ids("org/units").await[0].1.clone();
    let done =
        server.import_done("org/units", format!("Name,Parent\nChild,[{root}]\nOrphan,[{STRANGER}]\n")).await;
    assert_eq!((done["imported"].as_u64(), done["failed"].as_u64()), (Some(1), Some(1)), "{done}");
    assert!(done["errors"][0]["message"].as_str().unwrap().contains("`org.units`"), "{done}");
}
