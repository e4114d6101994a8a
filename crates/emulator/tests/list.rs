//! §6 list filter as docs/platform.md documents it, on items imported through the API: text is a
//! case-insensitive substring, numbers and date-times are intervals, every field must
//! match, paging counts every match, an undocumented shape is a 400.

use crate::common;

use std::time::Duration;

use common::{config, start, Server};
use reqwest::StatusCode;
use serde_json::{json, Value};

const CONTACTS: &str = "\
Name,Quantity,Birth date,Active
Deal 7,1.5,04.07.1977 13:27,true
Deal 7a,2,05.07.1977 00:00,false
deal 70,2.5,06.07.1977 09:00,true
Deal 8,10,01.01.2000 12:00,true
";

async fn with_deals() -> Server {
    let server = start(config()).await;
    let id = server.import("crm/contacts", CONTACTS.as_bytes().to_vec(), false).await;
    let done = server.wait_final("crm/contacts", &id, Duration::from_secs(10)).await;
    assert_eq!(done["imported"], 4, "{done}");
    server
}

async fn names(server: &Server, filter: Value) -> (u64, Vec<String>) {
    let (code, body) =
        server.list("crm/contacts", json!({"active": true, "from": 0, "size": 100, "filter": filter})).await;
    assert_eq!(code, StatusCode::OK, "{body}");
    let page = &body["result"];
    let names = page["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["__name"].as_str().unwrap().to_string())
        .collect();
    (page["total"].as_u64().unwrap(), names)
}

#[tokio::test]
async fn a_text_condition_is_a_case_insensitive_substring_the_key_lookup_trap() {
    let server = with_deals().await;
    let (total, found) = names(&server, json!({"tf": {"__name": "Deal 7"}})).await;
    assert_eq!(total, 3);
    assert_eq!(found, ["Deal 7", "Deal 7a", "deal 70"], "an exact look-up must compare on the client");
    let (total, _) = names(&server, json!({"tf": {"__name": "DEAL"}})).await;
    assert_eq!(total, 4);
    let (total, _) = names(&server, json!({"tf": {"__name": "Deal 9"}})).await;
    assert_eq!(total, 0);
}

#[tokio::test]
async fn numbers_take_min_and_max_with_open_ends() {
    let server = with_deals().await;
    let (_, found) = names(&server, json!({"tf": {"quantity": {"min": 2, "max": 2}}})).await;
    assert_eq!(found, ["Deal 7a"], "both ends equal: an exact number");
    let (_, found) = names(&server, json!({"tf": {"quantity": {"min": 2, "max": null}}})).await;
    assert_eq!(found, ["Deal 7a", "deal 70", "Deal 8"]);
    let (_, found) = names(&server, json!({"tf": {"quantity": {"max": 2}}})).await;
    assert_eq!(found, ["Deal 7", "Deal 7a"]);
}

#[tokio::test]
async fn date_times_are_an_interval_of_instants_and_every_field_must_match() {
    let server = with_deals().await;
    // Cells are read in the emulator's zone (+03:00): 04.07.1977 13:27 is 10:27 UTC.
    let (_, found) = names(
        &server,
        json!({"tf": {"birth_date": {"min": "1977-07-04T10:27:00+00:00", "max": "1977-07-04T20:59:59Z"}}}),
    )
    .await;
    assert_eq!(found, ["Deal 7"], "the ends are inclusive; 05.07.1977 00:00 +03:00 is 04.07 21:00 UTC");
    let (_, found) = names(
        &server,
        json!({"tf": {"birth_date": {"min": "1977-07-04T10:27:01Z", "max": "1977-07-04T21:00:00Z"}}}),
    )
    .await;
    assert_eq!(found, ["Deal 7a"]);
    let (_, found) = names(&server, json!({"tf": {"__name": "deal 7", "active": true}})).await;
    assert_eq!(found, ["Deal 7", "deal 70"]);
}

#[tokio::test]
async fn paging_returns_every_match_once_and_total_counts_them_all() {
    let server = start(config()).await;
    let mut csv = String::from("Name\n");
    for i in 0..250 {
        csv.push_str(&format!("Key {i}\n"));
    }
    let id = server.import("crm/contacts", csv.into_bytes(), false).await;
    server.wait_final("crm/contacts", &id, Duration::from_secs(10)).await;
    let mut seen = Vec::new();
    for from in (0..).step_by(100) {
        let body = json!({"active": true, "from": from, "size": 100, "filter": {"tf": {"__name": "key 1"}}});
        let (code, page) = server.list("crm/contacts", body).await;
        assert_eq!(code, StatusCode::OK, "{page}");
        assert_eq!(page["result"]["total"], 111, "Key 1, Key 10-19, Key 100-199");
        let items = page["result"]["result"].as_array().unwrap();
        seen.extend(items.iter().map(|i| i["__name"].as_str().unwrap().to_string()));
        if items.len() < 100 {
            break;
        }
    }
    assert_eq!(seen.len(), 111);
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 111, "no item twice");
}

#[tokio::test]
async fn undocumented_filter_shapes_answer_400() {
    let server = with_deals().await;
    for (filter, says) in [
        (json!({"__name": "Deal 7"}), "`filter.__name`"),
        (json!({"tf": {"quantity": 2}}), "min"),
        (json!({"tf": {"quantity": {"eq": 2}}}), "min"),
        (json!({"tf": {"birth_date": {"min": "04.07.1977"}}}), "RFC 3339"),
        (json!({"tf": {"nope": "x"}}), "`nope`"),
        (json!({"tf": ["__name"]}), "`filter.tf`"),
    ] {
        let body = json!({"active": true, "from": 0, "size": 10, "filter": filter});
        let (code, answer) = server.list("crm/contacts", body).await;
        assert_eq!(code, StatusCode::BAD_REQUEST, "{filter}: {answer}");
        assert_eq!(answer["success"], false);
        assert!(answer["error"].as_str().unwrap().contains(says), "{filter}: {answer}");
    }
    let (code, answer) = server.list("crm/contacts", json!({"size": -1})).await;
    assert_eq!(code, StatusCode::BAD_REQUEST, "{answer}");
}
