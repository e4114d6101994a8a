//! Item JSON: a valid row's cells as the platform stores them, keyed by field code.

use elma_import_sheet::{Cell, CellKind};
use serde_json::{json, Value};

use crate::check::{date_cell, split_file_ref, uuid_ref, ColumnRule, Kind};
use crate::rules::Shown;
use crate::values;
use crate::Locale;

/// The JSON of one checked cell; `None` when it is empty or the column is not imported.
/// An `Err` (its message) only when the cell did not pass the checks.
pub(crate) fn cell_value(rule: &ColumnRule, cell: Cell<'_>, locale: Locale) -> Result<Option<Value>, String> {
    if matches!(rule.kind, Kind::Skip | Kind::EmptyHeader(_)) || cell.is_blank() {
        return Ok(None);
    }
    match (cell.kind, &rule.kind) {
        (CellKind::Number, Kind::Integer) if cell.number.fract() == 0.0 => {
            return Ok(Some(json!(cell.number as i64)));
        }
        (CellKind::Number, Kind::Float | Kind::Money) => {
            return serde_json::Number::from_f64(cell.number)
                .map(|n| Some(Value::Number(n)))
                .ok_or_else(|| format!("`{}` is not a finite number", cell.text));
        }
        (CellKind::Bool, Kind::Boolean) => {
            return Ok(Some(Value::Bool(cell.number != 0.0 || cell.text.eq_ignore_ascii_case("true"))));
        }
        (CellKind::Date, Kind::DateTime | Kind::Date) => {
            let dt = date_cell(cell).ok_or_else(|| format!("the date cell `{}` holds no date", cell.text))?;
            let text = if matches!(rule.kind, Kind::Date) { dt.iso_date() } else { dt.iso_datetime() };
            return Ok(Some(Value::String(text)));
        }
        (CellKind::Text | CellKind::Number | CellKind::Bool | CellKind::Date, _) => {}
        (CellKind::Empty | CellKind::Error | CellKind::FormulaWithoutValue, _) => {
            return Err(format!("the cell `{}` holds no value", Shown(cell.text)));
        }
    }
    let text = cell.text.trim();
    if rule.multi {
        let values =
            text.split(',').map(|part| value(rule, part.trim(), locale)).collect::<Result<Vec<_>, _>>()?;
        Ok(Some(Value::Array(values)))
    } else {
        value(rule, text, locale).map(Some)
    }
}

fn value(rule: &ColumnRule, v: &str, locale: Locale) -> Result<Value, String> {
    let fail = || {
        format!("`{}` does not convert to a {} value", Shown(v), rule.field_type.map_or("?", |t| t.as_str()))
    };
    Ok(match &rule.kind {
        Kind::Skip | Kind::EmptyHeader(_) => Value::Null,
        Kind::Text { .. } | Kind::Email | Kind::Link | Kind::Phone => Value::String(v.to_string()),
        Kind::Integer => json!(values::parse_integer(v).map_err(|_| fail())?),
        Kind::Float | Kind::Money => {
            let n = values::decimal_value(v).ok_or_else(fail)?;
            Value::Number(serde_json::Number::from_f64(n).ok_or_else(fail)?)
        }
        Kind::Boolean => Value::Bool(v.eq_ignore_ascii_case("true")),
        Kind::DateTime | Kind::Date => {
            let dt = values::parse_locale_date(v, locale).map_err(|_| fail())?;
            Value::String(if matches!(rule.kind, Kind::Date) { dt.iso_date() } else { dt.iso_datetime() })
        }
        Kind::Enum(choices) | Kind::Status(choices) => {
            let (name, code) = &choices.items[choices.find(v).ok_or_else(fail)?];
            json!({"code": code, "name": name})
        }
        Kind::FullName => {
            let mut words = v.split_whitespace();
            let last = words.next().unwrap_or("");
            let first = words.next().unwrap_or("");
            let middle = words.collect::<Vec<_>>().join(" ");
            json!({"lastname": last, "firstname": first, "middlename": middle})
        }
        Kind::FileRef => {
            let (name, id) = split_file_ref(v).map_err(|_| fail())?;
            json!({"name": name, "id": id.to_ascii_lowercase()})
        }
        Kind::UuidRef => Value::String(uuid_ref(v).ok_or_else(fail)?.to_ascii_lowercase()),
        Kind::Table | Kind::Json => serde_json::from_str(v).map_err(|_| fail())?,
    })
}
