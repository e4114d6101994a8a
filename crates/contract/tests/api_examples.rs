//! docs/platform.md's own examples of §6 (Filter) and §7 (Item values), read by `contract::values`:
//! the client writes what the reference shows, compares it tolerantly, and filters as §6
//! documents (fixtures/api_examples.json).

use elma_import_contract::schema::{Choice, Field, FieldData, FieldType};
use elma_import_contract::values::{same_value, tf_condition};
use elma_import_contract::wire::{ListFilter, ListRequest};
use serde_json::{Map, Value};

const FIXTURE: &str = include_str!("fixtures/api_examples.json");

fn fixture() -> Value {
    serde_json::from_str(FIXTURE).expect("the fixture is JSON")
}

fn field(case: &Value) -> Field {
    let kind: FieldType = serde_json::from_value(case["type"].clone()).expect("a type");
    let options: Vec<Choice> =
        serde_json::from_value(case.get("options").cloned().unwrap_or(Value::Array(vec![]))).unwrap();
    Field {
        code: "f".into(),
        name: "F".into(),
        kind,
        required: false,
        single: true,
        data: FieldData { options, ..FieldData::default() },
    }
}

#[test]
fn section_7_examples_equal_what_the_client_writes_and_their_other_representations() {
    let cases = fixture()["section7"].as_array().unwrap().clone();
    assert!(cases.len() >= 12);
    for case in cases {
        let f = field(&case);
        let example = &case["example"];
        assert!(same_value(&f, example, example), "{case}");
        assert!(same_value(&f, &case["client"], example), "the client's value of {case}");
        assert!(same_value(&f, example, &case["client"]), "symmetric: {case}");
        for same in case["same"].as_array().unwrap() {
            assert!(same_value(&f, example, same), "{} should equal {same}", case["type"]);
        }
        for different in case["different"].as_array().unwrap() {
            assert!(!same_value(&f, example, different), "{} should differ from {different}", case["type"]);
        }
    }
}

#[test]
fn section_6_bodies_and_conditions_are_what_the_client_sends() {
    let six = &fixture()["section6"];
    let mut tf = Map::new();
    tf.insert("__name".into(), Value::from("Deal 1"));
    let body = ListRequest { active: true, from: 0, size: 100, filter: ListFilter::from_tf(tf) };
    assert_eq!(serde_json::to_value(&body).unwrap(), six["list_body"]);

    for key in ["text", "number", "datetime"] {
        let case = &six[key];
        assert_eq!(tf_condition(&field(case), &case["value"]).as_ref(), Some(&case["condition"]), "{key}");
    }
    // The platform's text match finds more than the key; the exact comparison keeps it.
    let text = &six["text"];
    let f = field(text);
    let kept: Vec<&Value> = text["platform_finds"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| same_value(&f, &text["value"], v))
        .collect();
    assert_eq!(Value::from(kept.into_iter().cloned().collect::<Vec<_>>()), text["exact"]);
}
