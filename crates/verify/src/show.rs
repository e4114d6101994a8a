//! A value in the platform's shapes (docs/platform.md §7) as text a person reads: `125.60 RUB`,
//! `anna@example.com, ann@example.org`, `2024-03-01 12:00 +03:00`, `VIP`.
//!
//! Date-times are shown in the run's time zone, whatever offset the platform wrote them
//! with, so two values differ on screen only when they differ as instants.

use chrono::{DateTime, FixedOffset, NaiveDate, Offset};
use elma_import_contract::schema::{Field, FieldType};
use elma_import_contract::values::{is_empty, minor_units};
use elma_import_validate::TimeZone;
use serde_json::Value;

/// `value` of `field` for people; empty for no value.
pub fn show(field: &Field, value: Option<&Value>, zone: TimeZone) -> String {
    let Some(value) = value.filter(|v| !is_empty(v)) else { return String::new() };
    let parts: Vec<String> = match (field.kind, value) {
        (FieldType::FullName, _)
        | (FieldType::Money, Value::Object(_))
        | (FieldType::Status, Value::Object(_)) => {
            vec![one(field, value, zone)]
        }
        (FieldType::Table | FieldType::Json, v) => vec![compact(v)],
        (_, Value::Array(items)) => {
            items.iter().filter(|v| !is_empty(v)).map(|v| one(field, v, zone)).collect()
        }
        (_, v) => vec![one(field, v, zone)],
    };
    parts.join(", ")
}

fn compact(v: &Value) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.trim().to_string(),
        Value::Null => String::new(),
        other => compact(other),
    }
}

fn one(field: &Field, v: &Value, zone: TimeZone) -> String {
    match field.kind {
        FieldType::Money => money(field, v),
        FieldType::Datetime => {
            instant(v, zone).map_or_else(|| text(v), |at| at.format("%Y-%m-%d %H:%M:%S %:z").to_string())
        }
        FieldType::Date => day(v).map_or_else(|| text(v), |d| d.format("%Y-%m-%d").to_string()),
        FieldType::Phone => entry(v, "tel"),
        FieldType::Email => entry(v, "email"),
        FieldType::Enum | FieldType::Status => match v {
            Value::Object(o) => {
                let name = o.get("name").and_then(Value::as_str).unwrap_or("").trim();
                let code = o.get("code").and_then(Value::as_str).unwrap_or("").trim();
                match (name.is_empty(), code.is_empty()) {
                    (false, false) if name != code => format!("{name} ({code})"),
                    (false, _) => name.to_string(),
                    _ => code.to_string(),
                }
            }
            other => text(other),
        },
        FieldType::FullName => match v {
            Value::Object(o) => ["lastname", "firstname", "middlename"]
                .iter()
                .filter_map(|k| o.get(*k).and_then(Value::as_str).map(str::trim).filter(|s| !s.is_empty()))
                .collect::<Vec<_>>()
                .join(" "),
            other => text(other),
        },
        FieldType::SysUser | FieldType::SysCollection | FieldType::File | FieldType::Image => match v {
            Value::Object(o) => o.get("__id").or_else(|| o.get("id")).map(text).unwrap_or_else(|| compact(v)),
            other => text(other),
        },
        _ => text(v),
    }
}

/// `125.60 RUB`: cents in the currency's coin, the field's currency when none is given.
fn money(field: &Field, v: &Value) -> String {
    let currency = v
        .get("currency")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .unwrap_or(field.data.currency())
        .to_ascii_uppercase();
    let cents = match v.get("cents") {
        Some(Value::Number(n)) => {
            n.as_i64().or_else(|| n.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64))
        }
        Some(Value::String(s)) => s.trim().parse().ok(),
        _ => None,
    };
    let Some(cents) = cents else { return compact(v) };
    let minor = minor_units(&currency);
    if minor == 0 {
        return format!("{cents} {currency}");
    }
    let scale = 10i64.pow(minor);
    let sign = if cents < 0 { "-" } else { "" };
    let (whole, frac) = (cents.unsigned_abs() / scale as u64, cents.unsigned_abs() % scale as u64);
    format!("{sign}{whole}.{frac:0width$} {currency}", width = minor as usize)
}

fn entry(v: &Value, key: &str) -> String {
    match v {
        Value::Object(o) => o.get(key).map(text).unwrap_or_default(),
        other => text(other),
    }
}

fn written(v: &Value) -> Option<DateTime<FixedOffset>> {
    DateTime::parse_from_rfc3339(v.as_str()?.trim()).ok()
}

/// A date-time in the zone the run read its cells in.
fn instant(v: &Value, zone: TimeZone) -> Option<DateTime<FixedOffset>> {
    let at = written(v)?;
    Some(match zone {
        TimeZone::Local => at.with_timezone(&chrono::Local).fixed_offset(),
        TimeZone::Named(tz) => {
            let local = at.with_timezone(&tz);
            local.with_timezone(&local.offset().fix())
        }
        TimeZone::Fixed(offset) => at.with_timezone(&offset),
    })
}

/// The calendar day a DATE value names, as written.
fn day(v: &Value) -> Option<NaiveDate> {
    written(v)
        .map(|at| at.date_naive())
        .or_else(|| NaiveDate::parse_from_str(v.as_str()?.trim(), "%Y-%m-%d").ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn field(kind: FieldType) -> Field {
        Field::new("f", "F", kind)
    }

    #[test]
    fn values_read_as_people_write_them() {
        let zone: TimeZone = "+03:00".parse().unwrap();
        let s = |kind, v: Value| show(&field(kind), Some(&v), zone);
        assert_eq!(s(FieldType::Money, json!({"cents": 12560, "currency": "rub"})), "125.60 RUB");
        assert_eq!(s(FieldType::Money, json!({"cents": -5})), "-0.05 RUB");
        assert_eq!(s(FieldType::Money, json!({"cents": 7, "currency": "JPY"})), "7 JPY");
        assert_eq!(s(FieldType::Datetime, json!("2024-03-01T09:00:00Z")), "2024-03-01 12:00:00 +03:00");
        assert_eq!(s(FieldType::Date, json!("2024-03-01T00:00:00+03:00")), "2024-03-01");
        assert_eq!(
            s(
                FieldType::Email,
                json!([{"type": "home", "email": "a@b.c"}, {"type": "main", "email": "d@e.f"}])
            ),
            "a@b.c, d@e.f"
        );
        assert_eq!(s(FieldType::Phone, json!([{"type": "home", "tel": "+79125554433"}])), "+79125554433");
        assert_eq!(s(FieldType::Enum, json!([{"code": "vip", "name": "VIP"}])), "VIP (vip)");
        assert_eq!(s(FieldType::Status, json!({"code": "new", "name": "new"})), "new");
        assert_eq!(
            s(FieldType::FullName, json!({"lastname": "Rogers", "firstname": "Sarah", "middlename": ""})),
            "Rogers Sarah"
        );
        assert_eq!(s(FieldType::Json, json!({"a": [1, 2]})), r#"{"a":[1,2]}"#);
        assert_eq!(s(FieldType::Float, json!(27.5)), "27.5");
        assert_eq!(show(&field(FieldType::String), Some(&json!("  ")), zone), "");
        assert_eq!(show(&field(FieldType::String), None, zone), "");
    }
}
