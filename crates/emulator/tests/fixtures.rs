//! The contract fixtures of `tests/fixtures/` (docs/platform.md §6 and §7), produced by the
//! emulator: every cell of `values.json` imported into an app made of its fields, and
//! every filter of `filters.json` listed against the items its rows become.

use crate::common;

use std::time::Duration;

use common::{config, start};
use elma_import_contract::schema::{AppSchema, Field};
use elma_import_emulator::{parse_time_zone, EmulatorConfig, Locale};
use reqwest::StatusCode;
use serde_json::{json, Value};

fn fixture(name: &str) -> Value {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn csv(header: &[String], rows: &[Vec<String>]) -> Vec<u8> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(header).unwrap();
    for row in rows {
        w.write_record(row).unwrap();
    }
    w.into_inner().unwrap()
}

fn settings(doc: &Value) -> EmulatorConfig {
    EmulatorConfig {
        locale: doc["locale"].as_str().unwrap().parse::<Locale>().unwrap(),
        time_zone: parse_time_zone(doc["time_zone"].as_str().unwrap()).unwrap(),
        ..config()
    }
}

#[tokio::test]
async fn every_value_case_is_what_the_emulator_stores_or_refuses() {
    let doc = fixture("values.json");
    let cases = doc["cases"].as_array().unwrap();
    let fields: Vec<Field> = cases
        .iter()
        .enumerate()
        .map(|(i, case)| {
            let mut field = json!({"code": format!("c{i}"), "name": format!("C{i}")});
            field.as_object_mut().unwrap().extend(case["field"].as_object().unwrap().clone());
            serde_json::from_value(field).unwrap()
        })
        .collect();
    let app = AppSchema { namespace: "fixture".into(), code: "values".into(), name: "Values".into(), fields };
    let header: Vec<String> = app.fields.iter().map(|f| f.name.clone()).collect();
    let cell = |i: usize| cases[i]["cell"].as_str().unwrap().to_string();
    let valid: Vec<usize> = (0..cases.len()).filter(|&i| cases[i].get("value").is_some()).collect();
    let invalid: Vec<usize> = (0..cases.len()).filter(|&i| cases[i].get("error").is_some()).collect();
    assert_eq!(valid.len() + invalid.len(), cases.len(), "each case has a value or an error");
    let mut rows =
        vec![(0..cases.len()).map(|i| if valid.contains(&i) { cell(i) } else { String::new() }).collect()];
    for &i in &invalid {
        rows.push((0..cases.len()).map(|j| if j == i { cell(i) } else { String::new() }).collect());
    }

    let server = start(EmulatorConfig { apps: vec![app], ..settings(&doc) }).await;
    let id = server.import("fixture/values", csv(&header, &rows), false).await;
    let done = server.wait_final("fixture/values", &id, Duration::from_secs(10)).await;
    assert_eq!(done["imported"], 1, "the row of valid cells imports: {done}");
    let (_, body) = server.list("fixture/values", json!({"active": true, "from": 0, "size": 1})).await;
    let item = &body["result"]["result"][0];
    for &i in &valid {
        assert_eq!(item[format!("c{i}")], cases[i]["value"], "case {i}: {}", cases[i]);
    }
    let errors = done["errors"].as_array().unwrap();
    assert_eq!(errors.len(), invalid.len(), "one error per invalid row: {done}");
    for (k, &i) in invalid.iter().enumerate() {
        let e = &errors[k];
        assert_eq!(e["row"].as_u64(), Some(k as u64 + 3), "case {i}: {e}");
        assert_eq!(e["column"].as_str(), Some(format!("C{i}").as_str()), "case {i}: {e}");
        let says = cases[i]["error"].as_str().unwrap();
        assert!(e["message"].as_str().unwrap().contains(says), "case {i} {}: {e}", cases[i]);
    }
}

#[tokio::test]
async fn every_filter_case_matches_what_the_fixture_says() {
    let doc = fixture("filters.json");
    let server = start(settings(&doc)).await;
    let app = doc["app"].as_str().unwrap().replace('.', "/");
    let rows = doc["rows"].as_array().unwrap();
    let header: Vec<String> = rows[0].as_object().unwrap().keys().cloned().collect();
    let table: Vec<Vec<String>> =
        rows.iter().map(|r| header.iter().map(|h| r[h].as_str().unwrap().to_string()).collect()).collect();
    let id = server.import(&app, csv(&header, &table), false).await;
    let done = server.wait_final(&app, &id, Duration::from_secs(10)).await;
    assert_eq!(done["imported"].as_u64(), Some(rows.len() as u64), "{done}");

    let (_, body) = server.list(&app, json!({"active": true, "from": 0, "size": 100})).await;
    let mut items = body["result"]["result"].as_array().unwrap().clone();
    for item in &mut items {
        item.as_object_mut().unwrap().remove("__id");
    }
    assert_eq!(Value::Array(items), doc["items"]);

    for case in doc["cases"].as_array().unwrap() {
        let (code, body) = server
            .list(&app, json!({"active": true, "from": 0, "size": 100, "filter": case["filter"]}))
            .await;
        if let Some(status) = case["status"].as_u64() {
            assert_eq!(u64::from(code.as_u16()), status, "{case}: {body}");
            assert_eq!(body["success"], false, "{case}: {body}");
            continue;
        }
        assert_eq!(code, StatusCode::OK, "{case}: {body}");
        let names: Vec<Value> =
            body["result"]["result"].as_array().unwrap().iter().map(|i| i["__name"].clone()).collect();
        assert_eq!(Value::Array(names), case["names"], "{case}");
        assert_eq!(
            body["result"]["total"].as_u64(),
            case["names"].as_array().map(|n| n.len() as u64),
            "{case}"
        );
    }
}
