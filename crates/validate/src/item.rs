//! Item JSON: a valid row's cells as the platform stores them (docs/platform.md §7), keyed by field
//! code. The shapes come from [`elma_import_contract::values`]:
//!
//! | type | cell | item value |
//! |---|---|---|
//! | STRING, TEXT, LINK | `Invoice` | `"Invoice"` |
//! | INTEGER, FLOAT | `27`, `27,5` | `27`, `27.5` |
//! | MONEY | `125.6` | `{"cents": 12560, "currency": "RUB"}` (the field's `data.currency`) |
//! | BOOLEAN | `true` | `true` |
//! | DATETIME | `04.07.1977 13:27` | `"1977-07-04T13:27:00+03:00"`, in the run's time zone |
//! | DATE | `04.07.1977` | `"1977-07-04T00:00:00+03:00"`, midnight in the run's time zone (*assumed*) |
//! | ENUM | `VIP` | `[{"code": "vip", "name": "VIP"}]` |
//! | STATUS | `New` | `{"code": "new", "name": "New"}` (*assumed*) |
//! | PHONE | `79125554433` | `[{"type": "main", "tel": "79125554433"}]` (`type` *assumed*) |
//! | EMAIL | `a@example.com` | `[{"type": "main", "email": "a@example.com"}]` |
//! | FULL_NAME | `Rogers Sarah Jane` | `{"lastname": "Rogers", "firstname": "Sarah", "middlename": "Jane"}` |
//! | SYS_USER, SYS_COLLECTION | `[uuid]` | `["uuid"]` |
//! | FILE, IMAGE | `scan.pdf[uuid]` | `["uuid"]` |
//! | TABLE, JSON | JSON | the parsed JSON |
//!
//! A cell of a `single: false` field holds several values: where the shape is an array they
//! merge into one array (`[{"code": "a", …}, {"code": "b", …}]`), otherwise the values form
//! an array (`["x", "y"]`, `[1, 2]`).

use chrono::{NaiveDate, NaiveDateTime};
use elma_import_contract::schema::Field;
use elma_import_contract::values as shape;
use elma_import_contract::zone::TimeZone;
use elma_import_sheet::{Cell, CellKind};
use serde_json::{json, Value};

use crate::check::{ColumnRule, Kind};
use crate::rules::Shown;
use crate::values;
use crate::values::{date_cell, split_file_ref, uuid_ref};
use crate::Locale;

/// How a cell is read: the locale of its text and the zone of its date-times.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Reading<'a> {
    pub field: &'a Field,
    pub locale: Locale,
    pub zone: TimeZone,
}

/// The JSON of one checked cell; `None` when it is empty or the column is not imported.
/// An `Err` (its message) only when the cell did not pass the checks.
pub(crate) fn cell_value(
    rule: &ColumnRule,
    cell: Cell<'_>,
    how: Reading<'_>,
) -> Result<Option<Value>, String> {
    if matches!(rule.kind, Kind::Skip | Kind::EmptyHeader(_)) || cell.is_blank() {
        return Ok(None);
    }
    match (cell.kind, &rule.kind) {
        (CellKind::Number, Kind::Integer) if cell.number.fract() == 0.0 => {
            return Ok(Some(json!(cell.number as i64)));
        }
        (CellKind::Number, Kind::Float) => {
            return serde_json::Number::from_f64(cell.number)
                .map(|n| Some(Value::Number(n)))
                .ok_or_else(|| format!("`{}` is not a finite number", cell.text));
        }
        (CellKind::Number, Kind::Money) => {
            let currency = how.field.data.currency();
            let scale = 10f64.powi(shape::minor_units(currency) as i32);
            let cents = (cell.number * scale).round();
            if !cents.is_finite() || cents.abs() >= 9.0e18 {
                return Err(format!("`{}` is too large an amount of money", cell.text));
            }
            // Off by more than the float's own error: finer than a coin.
            if ((cell.number * scale) - cents).abs() > (cents.abs() * f64::EPSILON * 8.0).max(1e-6) {
                return Err(format!("`{}` is finer than the smallest coin of {currency}", cell.text));
            }
            return Ok(Some(shape::money(cents as i64, currency)));
        }
        (CellKind::Bool, Kind::Boolean) => {
            return Ok(Some(Value::Bool(cell.number != 0.0 || cell.text.eq_ignore_ascii_case("true"))));
        }
        (CellKind::Date, Kind::DateTime | Kind::Date) => {
            let dt = date_cell(cell).ok_or_else(|| format!("the date cell `{}` holds no date", cell.text))?;
            return date_value(rule, &dt, how).map(Some).ok_or_else(|| format!("`{}` is no date", cell.text));
        }
        (CellKind::Text | CellKind::Number | CellKind::Bool | CellKind::Date, _) => {}
        (CellKind::Empty | CellKind::Error | CellKind::FormulaWithoutValue, _) => {
            return Err(format!("the cell `{}` holds no value", Shown(cell.text)));
        }
    }
    let text = cell.text.trim();
    if !rule.multi {
        return value(rule, text, how).map(Some);
    }
    let values = text.split(',').map(|part| value(rule, part.trim(), how)).collect::<Result<Vec<_>, _>>()?;
    let merged = if values.iter().all(Value::is_array) {
        values.into_iter().flat_map(|v| if let Value::Array(items) = v { items } else { vec![v] }).collect()
    } else {
        values
    };
    Ok(Some(Value::Array(merged)))
}

fn value(rule: &ColumnRule, v: &str, how: Reading<'_>) -> Result<Value, String> {
    let fail = || {
        format!("`{}` does not convert to a {} value", Shown(v), rule.field_type.map_or("?", |t| t.as_str()))
    };
    Ok(match &rule.kind {
        Kind::Skip | Kind::EmptyHeader(_) => Value::Null,
        Kind::Text { .. } | Kind::Link => Value::String(v.to_string()),
        Kind::Phone => shape::phones([v]),
        Kind::Email => shape::emails([v]),
        Kind::Integer => json!(values::parse_integer(v).map_err(|_| fail())?),
        Kind::Float => {
            let n = values::decimal_value(v).ok_or_else(fail)?;
            Value::Number(serde_json::Number::from_f64(n).ok_or_else(fail)?)
        }
        Kind::Money => {
            let currency = how.field.data.currency();
            shape::money(cents(v, shape::minor_units(currency)).ok_or_else(fail)?, currency)
        }
        Kind::Boolean => Value::Bool(v.eq_ignore_ascii_case("true")),
        Kind::DateTime | Kind::Date => {
            let dt = values::parse_locale_date(v, how.locale).map_err(|_| fail())?;
            date_value(rule, &dt, how).ok_or_else(fail)?
        }
        Kind::Enum(choices) => {
            let (name, code) = &choices.items[choices.find(v).ok_or_else(fail)?];
            shape::choices([(code.as_str(), name.as_str())])
        }
        Kind::Status(choices) => {
            let (name, code) = &choices.items[choices.find(v).ok_or_else(fail)?];
            shape::status(code, name)
        }
        Kind::FullName => {
            let mut words = v.split_whitespace();
            let last = words.next().unwrap_or("");
            let first = words.next().unwrap_or("");
            let middle = words.collect::<Vec<_>>().join(" ");
            shape::full_name(last, first, &middle)
        }
        Kind::FileRef => {
            let (_, id) = split_file_ref(v).map_err(|_| fail())?;
            shape::ids([id])
        }
        Kind::UuidRef => shape::ids([uuid_ref(v).ok_or_else(fail)?]),
        Kind::Table | Kind::Json => serde_json::from_str(v).map_err(|_| fail())?,
    })
}

/// A DATETIME at its wall time, a DATE at midnight, in the run's zone, as RFC 3339.
fn date_value(rule: &ColumnRule, dt: &values::DateTime, how: Reading<'_>) -> Option<Value> {
    let day = NaiveDate::from_ymd_opt(i32::from(dt.year), u32::from(dt.month), u32::from(dt.day))?;
    let local: NaiveDateTime = if matches!(rule.kind, Kind::Date) {
        day.and_hms_opt(0, 0, 0)?
    } else {
        day.and_hms_opt(u32::from(dt.hour), u32::from(dt.minute), u32::from(dt.second))?
    };
    Some(shape::datetime(&how.zone.resolve(local)))
}

/// The amount of a decimal text (`125.6`, `-3,05`) in the smallest coin, `minor` digits after
/// the point; exact, without floating point. `None` when it is no decimal, too large, or
/// finer than the coin (`1.005` roubles): an amount is never rounded silently.
pub(crate) fn cents(text: &str, minor: u32) -> Option<i64> {
    let t = text.trim();
    let (negative, body) = match t.as_bytes().first()? {
        b'-' => (true, &t[1..]),
        b'+' => (false, &t[1..]),
        _ => (false, t),
    };
    let (whole, fraction) = match body.find(['.', ',']) {
        Some(i) => (&body[..i], &body[i + 1..]),
        None => (body, ""),
    };
    if whole.is_empty()
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || !fraction.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    if fraction.bytes().skip(minor as usize).any(|b| b != b'0') {
        return None;
    }
    let mut amount: i64 = 0;
    for b in whole.bytes().chain(fraction.bytes().chain(std::iter::repeat(b'0')).take(minor as usize)) {
        amount = amount.checked_mul(10)?.checked_add(i64::from(b - b'0'))?;
    }
    Some(if negative { -amount } else { amount })
}

#[cfg(test)]
mod tests {
    use super::cents;

    #[test]
    fn cents_are_exact_and_never_rounded() {
        assert_eq!(cents("125.6", 2), Some(12560));
        assert_eq!(cents("125,60", 2), Some(12560));
        assert_eq!(cents("-3.05", 2), Some(-305));
        assert_eq!(cents("1.000", 2), Some(100));
        assert_eq!(cents("0.005", 2), None, "finer than a kopeck");
        assert_eq!(cents("1.5", 0), None, "finer than a yen");
        assert_eq!(cents("1234567.891", 3), Some(1_234_567_891));
        assert_eq!(cents("12", 0), Some(12));
        assert_eq!(cents("0.1", 2), Some(10), "no binary rounding: 0.1 × 100 is 10");
        assert_eq!(cents("92233720368547758.08", 2), None);
        for bad in ["", "-", "1.2.3", "1e5", "$5", ".5"] {
            assert_eq!(cents(bad, 2), None, "{bad}");
        }
    }
}
