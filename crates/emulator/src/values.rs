//! The emulator's own model of how the platform turns an import cell into the JSON value
//! it stores (docs/platform.md §7), written from docs/formats.md and docs/platform.md alone: nothing here comes
//! from the client's validation, so the two can disagree and tests show it.
//!
//! Assumptions (README.md, "Value model"): the company has one locale (`ru` by default)
//! and one time zone (`+03:00` by default, see `zone`); a cell without an offset is read
//! in that zone; a date is midnight in that zone.

use chrono::{NaiveDate, NaiveDateTime, SecondsFormat};
use elma_import_contract::schema::{AppSchema, Field, FieldType};
/// The client's currency table (ISO 4217 minor units): the coin is a fact, not the
/// emulator's model.
pub(crate) use elma_import_contract::values::minor_units;
use elma_import_contract::wire::RowError;
use elma_import_contract::Locale;
use serde_json::{json, Map, Value};

use crate::cells::{
    bad_money, bad_phone, cents_of_number, check_table, choice, cut, decimal, finite, fold, four_digit_year,
    integer_of, is_array_type, is_email, is_url, max_length, money, not_integer, splits, too_fine, uuid_of,
    MAX_EXACT,
};
use crate::read::{Raw, SheetRow};
use crate::state::Item;
#[cfg(test)]
use crate::zone::parse_time_zone;
use crate::zone::Zone;

/// Type of a phone or e-mail entry written by an import (docs/platform.md §7's example).
pub(crate) const CONTACT_TYPE: &str = "home";

/// A reference to another record that `--strict-links` checks when the row is applied.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct LinkRef {
    /// The header of the column.
    pub column: String,
    /// `None`: users (SYS_USER); `Some(app)`: items of `app` (SYS_COLLECTION).
    pub app: Option<String>,
    /// Whether the field is SYS_COLLECTION (even when its schema names no app).
    pub collection: bool,
    /// The ids in the cell.
    pub ids: Vec<String>,
}

/// A data row turned into an item, with the links to check.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RowItem {
    pub row: u64,
    pub item: Item,
    pub links: Vec<LinkRef>,
}

/// How cells are read: the company's locale and time zone.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CellModel {
    pub locale: Locale,
    pub zone: Zone,
}

/// The columns of a file matched to an app's fields.
#[derive(Debug)]
pub(crate) struct Columns {
    headers: Vec<String>,
    /// Column → field index.
    fields: Vec<Option<usize>>,
}

fn column_letter(index: usize) -> String {
    let mut n = index + 1;
    let mut out = Vec::new();
    while n > 0 {
        out.push(char::from(b'A' + ((n - 1) % 26) as u8));
        n = (n - 1) / 26;
    }
    out.iter().rev().collect()
}

fn header_error(column: &str, message: String) -> RowError {
    RowError { row: 1, column: column.to_string(), message }
}

impl Columns {
    /// Matches header cells to fields: by display name, then by code, any case, trimmed.
    /// Unknown, doubled, ACCOUNT and missing required columns fail the whole file, as
    /// does an empty header over data.
    pub fn match_header(
        app: &AppSchema,
        headers: &[String],
        rows: &[SheetRow],
    ) -> Result<Columns, Vec<RowError>> {
        let mut errors = Vec::new();
        let mut fields = Vec::with_capacity(headers.len());
        let mut seen: Vec<Option<usize>> = vec![None; app.fields.len()];
        for (col, header) in headers.iter().enumerate() {
            if header.trim().is_empty() {
                if let Some(row) = rows.iter().find(|r| r.cells.get(col).is_some_and(|c| !c.is_blank())) {
                    errors.push(header_error(
                        "",
                        format!(
                            "column {} has no header but row {} holds data in it",
                            column_letter(col),
                            row.number
                        ),
                    ));
                }
                fields.push(None);
                continue;
            }
            let key = fold(header);
            let found = app
                .fields
                .iter()
                .position(|f| fold(&f.name) == key)
                .or_else(|| app.fields.iter().position(|f| fold(&f.code) == key));
            let Some(index) = found else {
                errors.push(header_error(
                    header,
                    format!("the column `{header}` names no field of the app `{}`", app.id()),
                ));
                fields.push(None);
                continue;
            };
            let field = &app.fields[index];
            if field.kind == FieldType::Account {
                errors.push(header_error(
                    header,
                    format!("the field `{}` is an ACCOUNT field and cannot be imported", field.name),
                ));
            }
            if let Some(first) = seen[index] {
                errors.push(header_error(
                    header,
                    format!(
                        "the columns `{}` and `{header}` both name the field `{}` (`{}`)",
                        headers[first], field.name, field.code
                    ),
                ));
            } else {
                seen[index] = Some(col);
            }
            fields.push(Some(index));
        }
        for (index, field) in app.fields.iter().enumerate() {
            if field.required && seen[index].is_none() {
                errors.push(header_error(
                    &field.name,
                    format!("the required field `{}` (`{}`) has no column", field.name, field.code),
                ));
            }
        }
        if errors.is_empty() {
            Ok(Columns { headers: headers.to_vec(), fields })
        } else {
            Err(errors)
        }
    }
}

impl CellModel {
    /// Turns a data row into an item, or lists every cell the platform cannot read.
    pub fn row_item(
        &self,
        app: &AppSchema,
        columns: &Columns,
        row: &SheetRow,
    ) -> Result<RowItem, Vec<RowError>> {
        let mut errors = Vec::new();
        let mut item = Map::new();
        let mut links = Vec::new();
        let width = columns.headers.len();
        if let Some(extra) = row.cells.iter().skip(width).position(|c| !c.is_blank()) {
            errors.push(RowError {
                row: row.number,
                column: String::new(),
                message: format!(
                    "the row has a value in column {}, beyond the {width} columns of the header",
                    column_letter(width + extra)
                ),
            });
        }
        let mut filled = vec![false; app.fields.len()];
        for (col, field_index) in columns.fields.iter().enumerate() {
            let Some(index) = *field_index else { continue };
            let field = &app.fields[index];
            let header = &columns.headers[col];
            let raw = row.cells.get(col).unwrap_or(&Raw::Empty);
            match self.value(field, raw) {
                Ok(None) => {}
                Ok(Some(value)) => {
                    filled[index] = true;
                    if matches!(field.kind, FieldType::SysUser | FieldType::SysCollection) {
                        let ids = value
                            .as_array()
                            .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect())
                            .unwrap_or_default();
                        let collection = field.kind == FieldType::SysCollection;
                        let app = if collection { field.data.linked_app() } else { None };
                        links.push(LinkRef { column: header.clone(), app, collection, ids });
                    }
                    item.insert(field.code.clone(), value);
                }
                Err(message) => errors.push(RowError { row: row.number, column: header.clone(), message }),
            }
        }
        for (col, field_index) in columns.fields.iter().enumerate() {
            let Some(index) = *field_index else { continue };
            let field = &app.fields[index];
            let raw = row.cells.get(col).unwrap_or(&Raw::Empty);
            if field.required && !filled[index] && raw.is_blank() {
                errors.push(RowError {
                    row: row.number,
                    column: columns.headers[col].clone(),
                    message: format!("`{}` is required: the cell is empty", field.name),
                });
            }
        }
        if errors.is_empty() {
            Ok(RowItem { row: row.number, item, links })
        } else {
            errors.sort_by_key(|e| columns.headers.iter().position(|h| *h == e.column));
            Err(errors)
        }
    }

    /// The stored value of one cell; `None` for an empty one.
    pub fn value(&self, field: &Field, raw: &Raw) -> Result<Option<Value>, String> {
        let text = match raw {
            Raw::Empty => return Ok(None),
            Raw::Error(e) => return Err(format!("the cell holds the spreadsheet error `{e}`")),
            Raw::Formula(f) => {
                return Err(format!(
                    "the formula `={f}` has no saved value: save the file in a program that computes formulas"
                ))
            }
            Raw::Text(t) => {
                let t = t.trim();
                if t.is_empty() {
                    return Ok(None);
                }
                t
            }
            Raw::Number(_) | Raw::Bool(_) | Raw::Date(_) => return self.typed_cell(field, raw).map(Some),
        };
        if !field.single && splits(field.kind) {
            let mut values = Vec::new();
            for piece in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                match self.text_value(field, piece)? {
                    Value::Array(a) if is_array_type(field.kind) => values.extend(a),
                    v => values.push(v),
                }
            }
            return Ok((!values.is_empty()).then_some(Value::Array(values)));
        }
        self.text_value(field, text).map(Some)
    }

    /// A typed .xlsx cell (number, boolean, date).
    fn typed_cell(&self, field: &Field, raw: &Raw) -> Result<Value, String> {
        let shown = match raw {
            Raw::Number(n) => format!("{n}"),
            Raw::Bool(b) => b.to_string(),
            Raw::Date(d) => d.format("%Y-%m-%dT%H:%M:%S").to_string(),
            _ => String::new(),
        };
        let value = match (field.kind, raw) {
            (FieldType::Integer, Raw::Number(n)) => integer_of(*n).ok_or_else(|| not_integer(&shown))?,
            (FieldType::Float, Raw::Number(n)) => finite(*n, &shown)?,
            (FieldType::Money, Raw::Number(n)) => {
                let digits = minor_units(field.data.currency());
                let cents = cents_of_number(*n, digits).ok_or_else(|| too_fine(&shown, field, digits))?;
                money(field, cents)
            }
            (FieldType::Boolean, Raw::Bool(b)) => Value::Bool(*b),
            (FieldType::Datetime, Raw::Date(d)) => self.instant(*d)?,
            (FieldType::Date, Raw::Date(d)) => self.instant(d.date().and_time(chrono::NaiveTime::MIN))?,
            (FieldType::Phone, Raw::Number(n)) => match integer_of(*n) {
                Some(_) if *n >= 0.0 => return self.text_value(field, &format!("{}", *n as u64)),
                _ => return Err(bad_phone(&shown)),
            },
            (FieldType::String | FieldType::Text, _) => return self.text_value(field, &shown),
            _ => {
                let what = match raw {
                    Raw::Number(_) => "a number",
                    Raw::Bool(_) => "a boolean",
                    _ => "a date",
                };
                return Err(format!(
                    "the cell holds {what} `{shown}`, which a {} field does not take",
                    field.kind
                ));
            }
        };
        Ok(if field.single || !splits(field.kind) || is_array_type(field.kind) {
            value
        } else {
            Value::Array(vec![value])
        })
    }

    /// A text cell (one value of a multi-value cell), trimmed and not empty.
    fn text_value(&self, field: &Field, t: &str) -> Result<Value, String> {
        match field.kind {
            FieldType::String => {
                if t.contains(['\n', '\r']) {
                    return Err(format!(
                        "`{}` holds a line break, which a one-line STRING field does not take",
                        t.escape_debug()
                    ));
                }
                max_length(field, t)?;
                Ok(Value::String(t.to_string()))
            }
            FieldType::Text => {
                max_length(field, t)?;
                Ok(Value::String(t.to_string()))
            }
            FieldType::Link => {
                if is_url(t) {
                    Ok(Value::String(t.to_string()))
                } else {
                    Err(format!("`{t}` is not an absolute http(s) URL such as `https://example.com`"))
                }
            }
            FieldType::Integer => {
                let digits = t.strip_prefix(['+', '-']).unwrap_or(t);
                if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(not_integer(t));
                }
                t.parse::<i64>()
                    .ok()
                    .filter(|n| n.unsigned_abs() <= MAX_EXACT as u64)
                    .map(Value::from)
                    .ok_or_else(|| format!("`{t}` is too large: an integer holds at most 2^53"))
            }
            FieldType::Float => {
                let (negative, int, frac) = decimal(t, self.locale).ok_or_else(|| {
                    format!("`{t}` is not a number; write digits with {}", self.separators())
                })?;
                let text = format!(
                    "{}{int}.{}",
                    if negative { "-" } else { "" },
                    if frac.is_empty() { "0" } else { frac }
                );
                finite(text.parse::<f64>().unwrap_or(f64::INFINITY), t)
            }
            FieldType::Money => {
                let (negative, int, frac) = decimal(t, self.locale).ok_or_else(|| bad_money(t))?;
                let frac = frac.trim_end_matches('0');
                let digits = minor_units(field.data.currency());
                if frac.len() > digits as usize {
                    return Err(too_fine(t, field, digits));
                }
                let coins = format!("{frac:0<width$}", width = digits as usize);
                let cents = int
                    .parse::<i64>()
                    .ok()
                    .and_then(|units| units.checked_mul(10i64.pow(digits)))
                    .and_then(|c| {
                        c.checked_add(if coins.is_empty() { 0 } else { coins.parse::<i64>().ok()? })
                    })
                    .filter(|c| c.unsigned_abs() <= MAX_EXACT as u64)
                    .ok_or_else(|| format!("`{t}` is too large an amount"))?;
                Ok(money(field, if negative { -cents } else { cents }))
            }
            FieldType::Boolean => match t.to_ascii_lowercase().as_str() {
                "true" => Ok(Value::Bool(true)),
                "false" => Ok(Value::Bool(false)),
                _ => Err(format!("`{t}` is not a boolean: write `true` or `false`")),
            },
            FieldType::Datetime => self.instant(self.datetime(t)?),
            FieldType::Date => self.instant(self.date(t)?.and_time(chrono::NaiveTime::MIN)),
            FieldType::Enum => {
                let option = choice(&field.data.options, t, "an option", &field.name)?;
                Ok(json!([{"code": option.code, "name": option.name}]))
            }
            FieldType::Status => {
                let status = choice(&field.data.statuses, t, "a status", &field.name)?;
                Ok(json!({"code": status.code, "name": status.name}))
            }
            FieldType::Phone => {
                if (10..=15).contains(&t.len()) && t.bytes().all(|b| b.is_ascii_digit()) {
                    Ok(json!([{"type": CONTACT_TYPE, "tel": format!("+{t}")}]))
                } else {
                    Err(bad_phone(t))
                }
            }
            FieldType::Email => {
                if is_email(t) {
                    Ok(json!([{"type": CONTACT_TYPE, "email": t}]))
                } else {
                    Err(format!("`{t}` is not an e-mail address `name@domain.tld`"))
                }
            }
            FieldType::FullName => {
                let mut words = t.split_whitespace();
                let last = words.next().unwrap_or_default();
                let first = words.next().unwrap_or_default();
                let middle = words.collect::<Vec<_>>().join(" ");
                Ok(json!({"lastname": last, "firstname": first, "middlename": middle}))
            }
            FieldType::File | FieldType::Image => {
                let id = t
                    .strip_suffix(']')
                    .and_then(|rest| rest.rsplit_once('['))
                    .filter(|(name, _)| !name.trim().is_empty())
                    .and_then(|(_, id)| uuid_of(id))
                    .ok_or_else(|| format!("`{t}` is not a file reference `name[uuid]`"))?;
                Ok(json!([id]))
            }
            FieldType::SysUser | FieldType::SysCollection => {
                let what = if field.kind == FieldType::SysUser { "a user" } else { "an item" };
                match t.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
                    Some(inner) => uuid_of(inner.trim())
                        .map(|id| json!([id]))
                        .ok_or_else(|| format!("`{t}`: `{inner}` is not the id of {what} (a UUID)")),
                    None if uuid_of(t).is_some() => {
                        Err(format!("`{t}` is a bare id: write it in brackets, `[{t}]`"))
                    }
                    None => Err(format!("`{t}` is not a reference to {what} `[uuid]`")),
                }
            }
            FieldType::Table => {
                let value: Value =
                    serde_json::from_str(t).map_err(|e| format!("`{}` is not JSON: {e}", cut(t)))?;
                check_table(&value).map_err(|why| format!("`{}` is not a table: {why}", cut(t)))?;
                Ok(value)
            }
            FieldType::Json => serde_json::from_str(t).map_err(|e| format!("`{}` is not JSON: {e}", cut(t))),
            FieldType::Account => Err("an ACCOUNT field cannot be imported".to_string()),
        }
    }

    fn separators(&self) -> &'static str {
        match self.locale {
            Locale::Ru => "`.` or `,` before the decimals, no spaces, signs or letters",
            Locale::En => "`.` before the decimals, no spaces, signs or letters",
        }
    }

    /// The company's local time `local` as RFC 3339 with the zone's offset there.
    fn instant(&self, local: NaiveDateTime) -> Result<Value, String> {
        let at = self.zone.resolve(local)?;
        Ok(Value::String(at.to_rfc3339_opts(SecondsFormat::Secs, false)))
    }

    fn datetime(&self, t: &str) -> Result<NaiveDateTime, String> {
        let formats: &[&str] = match self.locale {
            Locale::Ru => &["%d.%m.%Y %H:%M", "%d.%m.%Y %H:%M:%S"],
            Locale::En => &["%m/%d/%Y %I:%M %p", "%m/%d/%Y %I:%M:%S %p"],
        };
        let t = t.split_whitespace().collect::<Vec<_>>().join(" ");
        formats
            .iter()
            .find_map(|f| NaiveDateTime::parse_from_str(&t, f).ok())
            .filter(|d| four_digit_year(d.date()))
            .or_else(|| self.date(&t).ok().map(|d| d.and_time(chrono::NaiveTime::MIN)))
            .ok_or_else(|| match self.locale {
                Locale::Ru => {
                    format!("`{t}` is not a date and time `dd.MM.yyyy HH:mm` (e.g. `04.07.1977 13:27`)")
                }
                Locale::En => {
                    format!("`{t}` is not a date and time `M/d/yyyy h:mm AM/PM` (e.g. `4/17/2022 3:27 PM`)")
                }
            })
    }

    fn date(&self, t: &str) -> Result<NaiveDate, String> {
        let format = match self.locale {
            Locale::Ru => "%d.%m.%Y",
            Locale::En => "%m/%d/%Y",
        };
        NaiveDate::parse_from_str(t, format).ok().filter(|d| four_digit_year(*d)).ok_or_else(|| {
            match self.locale {
                Locale::Ru => format!("`{t}` is not a date `dd.MM.yyyy` (e.g. `04.07.1977`)"),
                Locale::En => format!("`{t}` is not a date `M/d/yyyy` (e.g. `4/17/2022`)"),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn app() -> AppSchema {
        AppSchema::from_json(include_str!("../../../templates/crm.contacts.schema.json")).unwrap()
    }

    fn field(kind: FieldType, single: bool) -> Field {
        Field { code: "f".into(), name: "F".into(), kind, required: false, single, data: Default::default() }
    }

    fn ru() -> CellModel {
        CellModel { locale: Locale::Ru, zone: parse_time_zone("+03:00").unwrap() }
    }

    fn text(model: &CellModel, f: &Field, t: &str) -> Result<Option<Value>, String> {
        model.value(f, &Raw::Text(t.to_string()))
    }

    #[test]
    fn numbers_follow_the_locale() {
        let m = ru();
        let float = field(FieldType::Float, true);
        assert_eq!(text(&m, &float, "27,37").unwrap(), Some(json!(27.37)));
        assert_eq!(text(&m, &float, "-0.5").unwrap(), Some(json!(-0.5)));
        for bad in ["12,5 RUB", "1e999", "1 000", "1.", ".", "1,000.5"] {
            assert!(text(&m, &float, bad).is_err(), "{bad}");
        }
        let en = CellModel { locale: Locale::En, ..m };
        assert!(text(&en, &float, "27,37").is_err());
        let int = field(FieldType::Integer, true);
        assert_eq!(text(&m, &int, "-27").unwrap(), Some(json!(-27)));
        assert!(text(&m, &int, "27.5").unwrap_err().contains("`27.5`"));
        assert_eq!(m.value(&int, &Raw::Number(27.0)).unwrap(), Some(json!(27)));
        assert!(m.value(&int, &Raw::Number(27.5)).is_err());
    }

    #[test]
    fn money_is_cents_in_the_fields_currency() {
        let m = ru();
        let mut f = field(FieldType::Money, true);
        assert_eq!(text(&m, &f, "125.6").unwrap(), Some(json!({"cents": 12560, "currency": "RUB"})));
        assert_eq!(text(&m, &f, "125,60").unwrap(), Some(json!({"cents": 12560, "currency": "RUB"})));
        assert_eq!(
            m.value(&f, &Raw::Number(125.6)).unwrap(),
            Some(json!({"cents": 12560, "currency": "RUB"}))
        );
        f.data.currency = Some("USD".into());
        assert_eq!(text(&m, &f, "-0.05").unwrap(), Some(json!({"cents": -5, "currency": "USD"})));
        for bad in ["$125.60", "125,6 руб.", "1.005"] {
            assert!(text(&m, &f, bad).is_err(), "{bad}");
        }
        f.data.currency = Some("JPY".into());
        assert_eq!(text(&m, &f, "1500").unwrap(), Some(json!({"cents": 1500, "currency": "JPY"})));
        assert!(text(&m, &f, "1500.5").unwrap_err().contains("`JPY` (0 decimals)"));
        assert_eq!(
            m.value(&f, &Raw::Number(1500.0)).unwrap(),
            Some(json!({"cents": 1500, "currency": "JPY"}))
        );
        f.data.currency = Some("kwd".into());
        assert_eq!(text(&m, &f, "1.005").unwrap(), Some(json!({"cents": 1005, "currency": "kwd"})));
    }

    #[test]
    fn dates_are_read_in_the_companys_zone() {
        let m = ru();
        let dt = field(FieldType::Datetime, true);
        assert_eq!(text(&m, &dt, "04.07.1977 13:27").unwrap(), Some(json!("1977-07-04T13:27:00+03:00")));
        assert_eq!(text(&m, &dt, "04.07.1977").unwrap(), Some(json!("1977-07-04T00:00:00+03:00")));
        let d = NaiveDate::from_ymd_opt(2024, 1, 31).unwrap().and_hms_opt(13, 27, 0).unwrap();
        assert_eq!(m.value(&dt, &Raw::Date(d)).unwrap(), Some(json!("2024-01-31T13:27:00+03:00")));
        for bad in ["31.02.2001 10:00", "2001-02-03", "4/17/2022 3:27 PM", "04.07.77 13:27"] {
            assert!(text(&m, &dt, bad).is_err(), "{bad}");
        }
        let en = CellModel { locale: Locale::En, zone: parse_time_zone("UTC").unwrap() };
        assert_eq!(text(&en, &dt, "4/17/2022 3:27 PM").unwrap(), Some(json!("2022-04-17T15:27:00+00:00")));
        let date = field(FieldType::Date, true);
        assert_eq!(text(&en, &date, "4/17/2022").unwrap(), Some(json!("2022-04-17T00:00:00+00:00")));
        assert_eq!(m.value(&date, &Raw::Date(d)).unwrap(), Some(json!("2024-01-31T00:00:00+03:00")));
    }

    #[test]
    fn contacts_and_references_take_the_platform_shapes() {
        let m = ru();
        assert_eq!(
            text(&m, &field(FieldType::Phone, true), "79125554433").unwrap(),
            Some(json!([{"type": "home", "tel": "+79125554433"}]))
        );
        assert!(text(&m, &field(FieldType::Phone, true), "+7 (912) 555-44-33").is_err());
        assert_eq!(
            text(&m, &field(FieldType::Email, true), "a@example.com").unwrap(),
            Some(json!([{"type": "home", "email": "a@example.com"}]))
        );
        for bad in ["a.example.com", "a b@example.com", "a@example"] {
            assert!(text(&m, &field(FieldType::Email, true), bad).is_err(), "{bad}");
        }
        assert_eq!(
            text(&m, &field(FieldType::FullName, true), " Rogers  Sarah Jane ").unwrap(),
            Some(json!({"lastname": "Rogers", "firstname": "Sarah", "middlename": "Jane"}))
        );
        let id = "29CADB73-8246-4f3d-9992-87a4a1ad20cf";
        let user = field(FieldType::SysUser, true);
        assert_eq!(text(&m, &user, &format!("[{id}]")).unwrap(), Some(json!([id.to_lowercase()])));
        assert!(text(&m, &user, id).unwrap_err().contains("bare id"));
        let users = field(FieldType::SysUser, false);
        let two = format!("[{id}], [fd2af6d9-3e95-4896-9604-250929347acb]");
        assert_eq!(text(&m, &users, &two).unwrap().unwrap().as_array().unwrap().len(), 2);
        let file = field(FieldType::File, true);
        assert_eq!(
            text(&m, &file, "scan.pdf[fd2af6d9-3e95-4896-9604-250929347acb]").unwrap(),
            Some(json!(["fd2af6d9-3e95-4896-9604-250929347acb"]))
        );
        assert!(text(&m, &file, "[fd2af6d9-3e95-4896-9604-250929347acb]").is_err());
    }

    #[test]
    fn categories_booleans_and_json() {
        let m = ru();
        let app = app();
        let segment = app.fields.iter().find(|f| f.code == "segment").unwrap();
        assert_eq!(
            text(&m, segment, "courier DELIVERY").unwrap(),
            Some(json!([{"code": "courier_delivery", "name": "Courier delivery"}]))
        );
        assert!(text(&m, segment, "vip").is_ok(), "`vip` is also the name `VIP`, any case");
        assert!(text(&m, segment, "courier_delivery").unwrap_err().contains("`Courier delivery`"));
        let b = field(FieldType::Boolean, true);
        assert_eq!(text(&m, &b, "TRUE").unwrap(), Some(json!(true)));
        assert!(text(&m, &b, "да").is_err());
        assert_eq!(m.value(&b, &Raw::Bool(false)).unwrap(), Some(json!(false)));
        let table = field(FieldType::Table, true);
        let ok = r#"[{"rows":[{"a":1}],"result":{"__count":1},"view":""}]"#;
        assert_eq!(text(&m, &table, ok).unwrap(), Some(serde_json::from_str(ok).unwrap()));
        assert!(text(&m, &table, r#"[{"rows":[],"result":{"__count":2}}]"#).is_err());
        assert_eq!(text(&m, &field(FieldType::Json, true), r#"{"a":1}"#).unwrap(), Some(json!({"a": 1})));
        assert!(text(&m, &field(FieldType::String, true), "a\nb").is_err());
        assert!(text(&m, &field(FieldType::Text, true), "a\nb").is_ok());
        assert!(m
            .value(&field(FieldType::Date, true), &Raw::Error("#N/A".into()))
            .unwrap_err()
            .contains("#N/A"));
    }

    #[test]
    fn a_row_fails_with_every_bad_cell_and_required_ones() {
        let app = app();
        let header: Vec<String> = ["Name", "Email", "Amount"].map(String::from).to_vec();
        let rows = vec![SheetRow {
            number: 2,
            cells: vec![Raw::Empty, Raw::Text("nope".into()), Raw::Text("$1".into())],
        }];
        let columns = Columns::match_header(&app, &header, &rows).unwrap();
        let errors = ru().row_item(&app, &columns, &rows[0]).unwrap_err();
        let cols: Vec<&str> = errors.iter().map(|e| e.column.as_str()).collect();
        assert_eq!(cols, ["Name", "Email", "Amount"]);
        assert!(errors.iter().all(|e| e.row == 2));
        let good = SheetRow { number: 3, cells: vec![Raw::Text("Ann".into()), Raw::Empty, Raw::Number(5.0)] };
        let item = ru().row_item(&app, &columns, &good).unwrap().item;
        assert_eq!(
            Value::Object(item),
            json!({"__name": "Ann", "amount": {"cents": 500, "currency": "RUB"}})
        );
    }

    #[test]
    fn header_problems_fail_the_file() {
        let app = app();
        let header: Vec<String> = ["Email", "email", "Bogus", ""].map(String::from).to_vec();
        let rows = vec![SheetRow {
            number: 2,
            cells: vec![Raw::Empty, Raw::Empty, Raw::Empty, Raw::Text("x".into())],
        }];
        let errors = Columns::match_header(&app, &header, &rows).unwrap_err();
        let text: Vec<String> = errors.iter().map(|e| e.message.clone()).collect();
        assert!(text.iter().any(|m| m.contains("both name")), "{text:?}");
        assert!(text.iter().any(|m| m.contains("`Bogus`")), "{text:?}");
        assert!(text.iter().any(|m| m.contains("column D")), "{text:?}");
        assert!(text.iter().any(|m| m.contains("`Name`")), "{text:?}");
        assert!(errors.iter().all(|e| e.row == 1));
    }
}
