//! §7 item values: what a row of every field type becomes on the platform, read by the
//! emulator's own cell model (locale `ru`, zone `+03:00` unless configured).

use crate::common;

use std::time::Duration;

use common::{config, start};
use elma_import_emulator::{parse_time_zone, EmulatorConfig, Locale};
use serde_json::{json, Value};

const USER: &str = "29cadb73-8246-4f3d-9992-87a4a1ad20cf";
const FILE: &str = "fd2af6d9-3e95-4896-9604-250929347acb";

async fn import_and_list(config: EmulatorConfig, app: &str, csv: String) -> (Value, Vec<Value>) {
    let server = start(config).await;
    let id = server.import(app, csv.into_bytes(), false).await;
    let result = server.wait_final(app, &id, Duration::from_secs(10)).await;
    let (_, body) = server.list(app, json!({"active": true, "from": 0, "size": 100})).await;
    (result, body["result"]["result"].as_array().cloned().unwrap_or_default())
}

#[tokio::test]
async fn every_contacts_field_takes_its_platform_shape() {
    let csv = format!(
        "Name;Full name;Email;Phone;Birth date;Amount;Quantity;Active;Segment;Website;Manager;Company;Comment\n\
         Ann;Rogers Sarah Jane;a@example.com;79125554433;04.07.1977 13:27;125,6;27,37;TRUE;courier delivery;\
         https://example.com;[{USER}];[{FILE}];\"two\nlines\"\n"
    );
    let (result, items) = import_and_list(config(), "crm/contacts", csv).await;
    assert_eq!(result["imported"], 1, "{result}");
    let item = &items[0];
    let id = item["__id"].as_str().unwrap();
    let mut expected = json!({
        "__id": id,
        "__name": "Ann",
        "full_name": {"lastname": "Rogers", "firstname": "Sarah", "middlename": "Jane"},
        "email": [{"type": "home", "email": "a@example.com"}],
        "phone": [{"type": "home", "tel": "+79125554433"}],
        "birth_date": "1977-07-04T13:27:00+03:00",
        "amount": {"cents": 12560, "currency": "RUB"},
        "quantity": 27.37,
        "active": true,
        "segment": [{"code": "courier_delivery", "name": "Courier delivery"}],
        "website": "https://example.com",
        "manager": [USER],
        "company": [FILE],
        "comment": "two\nlines"
    });
    assert_eq!(item, &expected);
    // Empty cells store nothing.
    let (_, items) = import_and_list(config(), "crm/contacts", "Name,Email\nBob,\n".into()).await;
    expected = json!({"__id": items[0]["__id"], "__name": "Bob"});
    assert_eq!(items[0], expected);
}

#[tokio::test]
async fn the_zone_and_locale_are_the_emulators_own() {
    let config =
        EmulatorConfig { locale: Locale::En, time_zone: parse_time_zone("-05:00").unwrap(), ..config() };
    let csv = "Name,Birth date,Quantity\nA,4/17/2022 3:27 PM,1.5\nB,17.04.2022 15:27,1\nC,4/17/2022 3:27 PM,\"1,5\"\n";
    let (result, items) = import_and_list(config, "crm/contacts", csv.into()).await;
    assert_eq!(result["imported"], 1, "{result}");
    assert_eq!(items[0]["birth_date"], "2022-04-17T15:27:00-05:00");
    let errors = result["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 2, "{result}");
    assert_eq!((errors[0]["row"].as_u64(), errors[0]["column"].as_str()), (Some(3), Some("Birth date")));
    assert!(errors[0]["message"].as_str().unwrap().contains("`17.04.2022 15:27`"), "{result}");
    assert_eq!((errors[1]["row"].as_u64(), errors[1]["column"].as_str()), (Some(4), Some("Quantity")));
}

#[tokio::test]
async fn multi_value_and_structured_fields_of_orders() {
    let table = r#"[{"rows":[{"sku":"A"}],"result":{"__count":1},"view":""}]"#.replace('"', "\"\"");
    let csv = format!(
        "Order,Number,Ship date,Status,Tags,Contact phones,Waybill,Photo,Couriers,Lines,Weight,Extra\n\
         A-1,7,31.01.2024,In progress,\"Fragile, Express\",\"79125554433,79125554434\",scan.pdf[{FILE}],\
         p.png[{FILE}],\"[{USER}],[{FILE}]\",\"{table}\",2.5,\"{{\"\"a\"\":1}}\"\n"
    );
    let (result, items) = import_and_list(config(), "logistics/orders", csv).await;
    assert_eq!(result["imported"], 1, "{result}");
    let item = &items[0];
    assert_eq!(item["number"], 7);
    assert_eq!(item["ship_date"], "2024-01-31T00:00:00+03:00");
    assert_eq!(item["__status"], json!({"code": "in_progress", "name": "In progress"}));
    assert_eq!(
        item["tags"],
        json!([{"code": "fragile", "name": "Fragile"}, {"code": "express", "name": "Express"}])
    );
    assert_eq!(
        item["contact_phones"],
        json!([{"type": "home", "tel": "+79125554433"}, {"type": "home", "tel": "+79125554434"}])
    );
    assert_eq!(item["waybill"], json!([FILE]));
    assert_eq!(item["photo"], json!([FILE]));
    assert_eq!(item["couriers"], json!([USER, FILE]));
    assert_eq!(item["lines"], json!([{"rows": [{"sku": "A"}], "result": {"__count": 1}, "view": ""}]));
    assert_eq!(item["weight"], 2.5);
    assert_eq!(item["extra"], json!({"a": 1}));
}

#[tokio::test]
async fn a_bad_cell_fails_its_row_with_the_column_and_value_and_others_import() {
    let csv = format!(
        "Order,Number,Tags,Couriers\nA-1,1,,\nA-2,2.5,Fragile,{USER}\nA-3,3,Heavy,\n{},4,,\n",
        "x".repeat(65)
    );
    let (result, items) = import_and_list(config(), "logistics/orders", csv).await;
    assert_eq!((result["imported"].as_u64(), result["failed"].as_u64()), (Some(1), Some(3)), "{result}");
    assert_eq!(items.len(), 1);
    let errors: Vec<(u64, String, String)> = result["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["row"].as_u64().unwrap(),
                e["column"].as_str().unwrap().into(),
                e["message"].as_str().unwrap().into(),
            )
        })
        .collect();
    let at =
        |row: u64, column: &str| errors.iter().find(|e| e.0 == row && e.1 == column).map(|e| e.2.clone());
    assert!(at(3, "Number").unwrap().contains("`2.5`"), "{errors:?}");
    assert!(at(3, "Couriers").unwrap().contains("bare id"), "{errors:?}");
    assert!(at(4, "Tags").unwrap().contains("`Heavy`"), "{errors:?}");
    assert!(at(5, "Order").unwrap().contains("limit of 64"), "{errors:?}");
    assert_eq!(errors.len(), 4, "{errors:?}");
}

#[tokio::test]
async fn a_named_zone_applies_its_clock_changes_and_a_skipped_local_time_fails_its_row() {
    let config = EmulatorConfig { time_zone: parse_time_zone("Europe/Berlin").unwrap(), ..config() };
    let csv = "Name,Birth date\nWinter,15.01.2024 12:00\nSummer,15.07.2024 12:00\nGap,31.03.2024 02:30\n";
    let (result, items) = import_and_list(config, "crm/contacts", csv.into()).await;
    assert_eq!(result["imported"], 2, "{result}");
    assert_eq!(items[0]["birth_date"], "2024-01-15T12:00:00+01:00");
    assert_eq!(items[1]["birth_date"], "2024-07-15T12:00:00+02:00");
    let error = &result["errors"][0];
    assert_eq!((error["row"].as_u64(), error["column"].as_str()), (Some(4), Some("Birth date")), "{result}");
    assert!(
        error["message"].as_str().unwrap().contains("does not exist in the time zone `Europe/Berlin`"),
        "{result}"
    );
}
