//! Key values: how a cell's text and an item's value (docs/platform.md §7) compare.
//!
//! A key is compared exactly, after trimming; e-mail addresses ignore case (as mail
//! systems do), phone numbers compare by their digits and whole numbers as numbers
//! (`007` is `7`): the comparison of `elma_import_contract::values::same_value`.

use crate::schema::{Field, FieldType};
use serde_json::Value;

/// Field types that can serve as a key: one textual or whole-number value per item.
pub const KEY_TYPES: [FieldType; 6] = [
    FieldType::String,
    FieldType::Text,
    FieldType::Email,
    FieldType::Phone,
    FieldType::Integer,
    FieldType::Link,
];

/// Whether `field` can be a key.
pub fn is_key_type(field: &Field) -> bool {
    KEY_TYPES.contains(&field.kind)
}

/// The comparable form of a key cell's text; `None` for a blank cell.
pub fn cell_key(field: &Field, text: &str) -> Option<String> {
    let t = text.trim();
    if t.is_empty() {
        return None;
    }
    Some(match field.kind {
        FieldType::Email => t.to_lowercase(),
        FieldType::Phone => t.chars().filter(char::is_ascii_digit).collect(),
        FieldType::Integer => match t.parse::<i64>() {
            Ok(n) => n.to_string(),
            Err(_) => t.to_string(),
        },
        _ => t.to_string(),
    })
}

/// The comparable forms of an item's value of `field` (several for an e-mail or phone
/// list); empty when the item has none.
pub fn item_keys(field: &Field, value: Option<&Value>) -> Vec<String> {
    let mut out = Vec::new();
    let mut push = |text: &str| {
        if let Some(k) = cell_key(field, text) {
            out.push(k);
        }
    };
    match value {
        None | Some(Value::Null) => {}
        Some(Value::String(s)) => push(s),
        Some(Value::Number(n)) => match n.as_i64() {
            Some(i) => push(&i.to_string()),
            None => push(&n.to_string()),
        },
        Some(Value::Array(entries)) => {
            for e in entries {
                match e {
                    Value::String(s) => push(s),
                    Value::Object(o) => {
                        for k in ["email", "tel"] {
                            if let Some(Value::String(s)) = o.get(k) {
                                push(s);
                            }
                        }
                    }
                    _ => {}
                }
            }
        }
        Some(other) => push(&other.to_string()),
    }
    out
}

/// The values of a reference cell: one, or for a `single: false` field each of its
/// comma-separated values (blank ones dropped).
pub fn reference_values(text: &str, multi: bool) -> Vec<&str> {
    if multi {
        text.split(',').map(str::trim).filter(|v| !v.is_empty()).collect()
    } else {
        let t = text.trim();
        if t.is_empty() {
            Vec::new()
        } else {
            vec![t]
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn field(kind: FieldType) -> Field {
        Field::new("k", "K", kind)
    }

    #[test]
    fn cells_and_items_compare_in_one_form() {
        let email = field(FieldType::Email);
        assert_eq!(cell_key(&email, " Ann@Example.COM "), Some("ann@example.com".into()));
        assert_eq!(
            item_keys(&email, Some(&json!([{"type": "home", "email": "ann@example.com"}]))),
            ["ann@example.com"]
        );
        let int = field(FieldType::Integer);
        assert_eq!(cell_key(&int, "007"), Some("7".into()));
        assert_eq!(item_keys(&int, Some(&json!(7))), ["7"]);
        let phone = field(FieldType::Phone);
        assert_eq!(cell_key(&phone, "+7 (912) 555-44-33"), Some("79125554433".into()));
        assert_eq!(
            item_keys(&phone, Some(&json!([{"type": "main", "tel": "79125554433"}]))),
            ["79125554433"]
        );
        let text = field(FieldType::String);
        assert_eq!(cell_key(&text, "  "), None);
        assert_eq!(item_keys(&text, Some(&json!("7701234567"))), ["7701234567"]);
        // Exact: no substring or case folding for text.
        assert_ne!(cell_key(&text, "Deal 1"), item_keys(&text, Some(&json!("Deal 10"))).pop());
        assert_ne!(cell_key(&text, "abc"), cell_key(&text, "ABC"));
        assert!(item_keys(&text, None).is_empty());
    }

    #[test]
    fn multi_value_cells_give_each_value() {
        assert_eq!(reference_values(" a, b ,,c ", true), ["a", "b", "c"]);
        assert_eq!(reference_values(" a, b ", false), ["a, b"]);
        assert!(reference_values("  ", false).is_empty());
    }
}
