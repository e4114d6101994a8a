//! The §6 list filter as docs/platform.md documents it: `{"tf": {"<field code>": <condition>}}`.
//!
//! - text fields (STRING, TEXT, LINK, and the text inside EMAIL, PHONE, FULL_NAME): a
//!   string the value must contain, case-insensitively;
//! - numbers (INTEGER, FLOAT, MONEY in currency units, not coins): `{"min":…, "max":…}`, inclusive,
//!   `null` or absent for an open end;
//! - date-times (DATETIME, DATE): `{"min":…, "max":…}` of RFC 3339 instants with an
//!   offset, inclusive, compared as instants;
//! - BOOLEAN: `true`/`false`, equal (assumed);
//! - categories (ENUM, STATUS): a code, or an array of codes (or of `{code}`): any
//!   match (assumed);
//! - links (SYS_USER, SYS_COLLECTION, FILE, IMAGE): an id or an array of ids: any
//!   shared id (assumed);
//! - TABLE and JSON cannot be filtered.
//!
//! Several fields must all match. Anything else is an undocumented shape and answers 400.

use chrono::{DateTime, FixedOffset};
use elma_import_contract::schema::{AppSchema, FieldType};
use serde_json::{Map, Value};

use crate::state::Item;
use crate::values::minor_units;

/// The documented key of field conditions.
pub(crate) const TF: &str = "tf";

/// One field's condition.
#[derive(Debug, Clone, PartialEq)]
enum Condition {
    /// Lowercased substring.
    Text(String),
    Range {
        min: Option<f64>,
        max: Option<f64>,
    },
    Interval {
        min: Option<DateTime<FixedOffset>>,
        max: Option<DateTime<FixedOffset>>,
    },
    Bool(bool),
    Codes(Vec<String>),
    Ids(Vec<String>),
}

/// A parsed filter: every condition must match.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Filter {
    conditions: Vec<(String, FieldType, Condition)>,
}

fn lower(s: &str) -> String {
    s.chars().flat_map(char::to_lowercase).collect()
}

impl Filter {
    /// Parses the `filter` of a list body; `Err` is the 400 message.
    pub fn parse(app: &AppSchema, filter: Option<&Value>) -> Result<Filter, String> {
        let object = match filter {
            None | Some(Value::Null) => return Ok(Filter::default()),
            Some(Value::Object(o)) => o,
            Some(other) => {
                return Err(format!("`filter` must be an object `{{\"tf\":{{…}}}}`, not `{other}`"))
            }
        };
        if let Some(key) = object.keys().find(|k| k.as_str() != TF) {
            return Err(format!(
                "`filter.{key}` is not a documented filter: field conditions go under `filter.tf`, \
                 e.g. {{\"tf\":{{\"__name\":\"text\"}}}}"
            ));
        }
        let tf = match object.get(TF) {
            None => return Ok(Filter::default()),
            Some(Value::Object(tf)) => tf,
            Some(other) => {
                return Err(format!("`filter.tf` must be an object of field conditions, not `{other}`"))
            }
        };
        let mut conditions = Vec::with_capacity(tf.len());
        for (code, condition) in tf {
            let field =
                app.fields.iter().find(|f| f.code == *code).ok_or_else(|| {
                    format!("`filter.tf.{code}`: the app `{}` has no field `{code}`", app.id())
                })?;
            let parsed = condition_of(field.kind, condition).map_err(|expected| {
                format!("`filter.tf.{code}` = `{condition}`: a {} field takes {expected}", field.kind)
            })?;
            conditions.push((code.clone(), field.kind, parsed));
        }
        Ok(Filter { conditions })
    }

    /// Whether `item` matches every condition.
    pub fn matches(&self, item: &Item) -> bool {
        self.conditions.iter().all(|(code, kind, c)| item.get(code).is_some_and(|v| matches(*kind, c, v)))
    }
}

fn condition_of(kind: FieldType, c: &Value) -> Result<Condition, &'static str> {
    match kind {
        FieldType::String
        | FieldType::Text
        | FieldType::Link
        | FieldType::Email
        | FieldType::Phone
        | FieldType::FullName => match c {
            Value::String(s) => Ok(Condition::Text(lower(s))),
            _ => Err("a string to find in the value (case-insensitively)"),
        },
        FieldType::Integer | FieldType::Float | FieldType::Money => {
            let expected = "`{\"min\": number|null, \"max\": number|null}`";
            let (min, max) = bounds(c, |v| v.as_f64()).ok_or(expected)?;
            Ok(Condition::Range { min, max })
        }
        FieldType::Datetime | FieldType::Date => {
            let expected = "`{\"min\": \"RFC 3339\"|null, \"max\": \"RFC 3339\"|null}` with offsets";
            let (min, max) = bounds(c, |v| v.as_str().and_then(|s| DateTime::parse_from_rfc3339(s).ok()))
                .ok_or(expected)?;
            Ok(Condition::Interval { min, max })
        }
        FieldType::Boolean => c.as_bool().map(Condition::Bool).ok_or("`true` or `false`"),
        FieldType::Enum | FieldType::Status => {
            let code = |v: &Value| match v {
                Value::String(s) => Some(s.clone()),
                Value::Object(o) => o.get("code").and_then(Value::as_str).map(str::to_string),
                _ => None,
            };
            strings(c, code).map(Condition::Codes).ok_or("a code or an array of codes")
        }
        FieldType::SysUser | FieldType::SysCollection | FieldType::File | FieldType::Image => {
            strings(c, |v| v.as_str().map(lower)).map(Condition::Ids).ok_or("an id or an array of ids")
        }
        FieldType::Table | FieldType::Json | FieldType::Account => Err("no condition: it cannot be filtered"),
    }
}

/// `{"min":…,"max":…}` (each optional or null; no other key).
fn bounds<T>(c: &Value, read: impl Fn(&Value) -> Option<T>) -> Option<(Option<T>, Option<T>)> {
    let o: &Map<String, Value> = c.as_object()?;
    if o.keys().any(|k| k != "min" && k != "max") {
        return None;
    }
    let end = |key: &str| match o.get(key) {
        None | Some(Value::Null) => Some(None),
        Some(v) => read(v).map(Some),
    };
    Some((end("min")?, end("max")?))
}

/// One string or a non-empty array of them.
fn strings(c: &Value, read: impl Fn(&Value) -> Option<String>) -> Option<Vec<String>> {
    match c {
        Value::Array(a) if !a.is_empty() => a.iter().map(&read).collect(),
        Value::Array(_) => None,
        one => read(one).map(|s| vec![s]),
    }
}

/// The values of a stored field: a multi-value field's elements, or the one value.
fn each(v: &Value) -> Vec<&Value> {
    match v {
        Value::Array(a) => a.iter().collect(),
        one => vec![one],
    }
}

fn matches(kind: FieldType, c: &Condition, v: &Value) -> bool {
    match c {
        Condition::Text(needle) => each(v).into_iter().any(|v| {
            let hay = match kind {
                FieldType::Email => v.get("email").and_then(Value::as_str).map(lower),
                FieldType::Phone => v.get("tel").and_then(Value::as_str).map(lower),
                FieldType::FullName => {
                    let part = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_string();
                    let joined = [part("lastname"), part("firstname"), part("middlename")].join(" ");
                    Some(lower(joined.trim()))
                }
                _ => v.as_str().map(lower),
            };
            hay.is_some_and(|h| h.contains(needle.as_str()))
        }),
        Condition::Range { min, max } => each(v).into_iter().any(|v| {
            let n = match kind {
                FieldType::Money => {
                    let digits = minor_units(v.get("currency").and_then(Value::as_str).unwrap_or("RUB"));
                    v.get("cents").and_then(Value::as_f64).map(|c| c / 10f64.powi(digits as i32))
                }
                _ => v.as_f64(),
            };
            n.is_some_and(|n| min.is_none_or(|m| n >= m) && max.is_none_or(|m| n <= m))
        }),
        Condition::Interval { min, max } => each(v).into_iter().any(|v| {
            v.as_str()
                .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
                .is_some_and(|t| min.is_none_or(|m| t >= m) && max.is_none_or(|m| t <= m))
        }),
        Condition::Bool(b) => v.as_bool() == Some(*b),
        Condition::Codes(codes) => each(v).into_iter().any(|v| {
            v.get("code").and_then(Value::as_str).is_some_and(|code| codes.iter().any(|c| c == code))
        }),
        Condition::Ids(ids) => {
            each(v).into_iter().any(|v| v.as_str().is_some_and(|id| ids.iter().any(|i| *i == lower(id))))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn app() -> AppSchema {
        AppSchema::from_json(include_str!("../../../templates/crm.contacts.schema.json")).unwrap()
    }

    fn item(v: Value) -> Item {
        v.as_object().unwrap().clone()
    }

    fn filter(tf: Value) -> Result<Filter, String> {
        Filter::parse(&app(), Some(&json!({ "tf": tf })))
    }

    #[test]
    fn text_is_a_case_insensitive_substring() {
        let f = filter(json!({"__name": "Deal 7"})).unwrap();
        for (name, hit) in
            [("Deal 7", true), ("Deal 7a", true), ("deal 70", true), ("Deal 8", false), ("Deal", false)]
        {
            assert_eq!(f.matches(&item(json!({"__name": name}))), hit, "{name}");
        }
        let f = filter(json!({"email": "EXAMPLE.com"})).unwrap();
        assert!(f.matches(&item(json!({"email": [{"type": "home", "email": "a@example.com"}]}))));
        let f = filter(json!({"full_name": "sarah j"})).unwrap();
        assert!(f.matches(&item(
            json!({"full_name": {"lastname": "Rogers", "firstname": "Sarah", "middlename": "Jane"}})
        )));
        assert!(
            !filter(json!({"__name": "x"})).unwrap().matches(&item(json!({}))),
            "a missing value never matches"
        );
    }

    #[test]
    fn numbers_and_dates_are_intervals() {
        let f = filter(json!({"quantity": {"min": 2, "max": null}})).unwrap();
        assert!(f.matches(&item(json!({"quantity": 2.0}))));
        assert!(!f.matches(&item(json!({"quantity": 1.99}))));
        let f = filter(json!({"amount": {"min": 10, "max": 10}})).unwrap();
        assert!(f.matches(&item(json!({"amount": {"cents": 1000, "currency": "RUB"}}))));
        assert!(!f.matches(&item(json!({"amount": {"cents": 1001, "currency": "RUB"}}))));
        assert!(f.matches(&item(json!({"amount": {"cents": 10, "currency": "JPY"}}))), "yen have no coins");
        let f = filter(
            json!({"birth_date": {"min": "2006-01-02T12:00:00Z", "max": "2006-01-02T12:05:00+00:00"}}),
        )
        .unwrap();
        assert!(f.matches(&item(json!({"birth_date": "2006-01-02T15:04:05+03:00"}))));
        assert!(!f.matches(&item(json!({"birth_date": "2006-01-02T15:06:00+03:00"}))));
    }

    #[test]
    fn categories_links_and_booleans() {
        let f = filter(json!({"segment": ["vip", "partner"], "active": true})).unwrap();
        assert!(f.matches(&item(json!({"segment": [{"code": "vip", "name": "VIP"}], "active": true}))));
        assert!(
            !f.matches(&item(json!({"segment": [{"code": "vip", "name": "VIP"}], "active": false}))),
            "all must match"
        );
        let id = "c44b66f6-216a-457e-a37e-ea8e373a4b77";
        let f = filter(json!({"company": id.to_uppercase()})).unwrap();
        assert!(f.matches(&item(json!({"company": [id]}))));
    }

    #[test]
    fn undocumented_shapes_are_refused() {
        let a = app();
        let bare = Filter::parse(&a, Some(&json!({"email": "a@example.com"}))).unwrap_err();
        assert!(bare.contains("`filter.email`") && bare.contains("tf"), "{bare}");
        assert!(filter(json!({"quantity": 5})).unwrap_err().contains("min"));
        assert!(filter(json!({"quantity": {"min": 1, "eq": 2}})).is_err());
        assert!(filter(json!({"birth_date": {"min": "2006-01-02 12:00"}})).is_err(), "an offset is needed");
        assert!(filter(json!({"__name": {"min": 1}})).is_err());
        assert!(filter(json!({"nope": "x"})).unwrap_err().contains("`nope`"));
        assert!(Filter::parse(&a, Some(&json!("x"))).is_err());
        assert!(Filter::parse(&a, Some(&json!({}))).unwrap().matches(&item(json!({}))));
    }
}
