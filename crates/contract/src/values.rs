//! Item values (docs/platform.md §7) and list filters (§6): how the platform stores a cell, how two
//! values are compared, and which `tf` condition finds an item. Pure: no I/O.
//!
//! Three functions serve a look-up of items among an app's (`Client::find_items`):
//! - [`tf_condition`]: the §6 condition of one field that finds **every** item whose value
//!   equals the expected one, and possibly more (a superset: the platform's text match is a
//!   case-insensitive substring, `Deal 7` also finds `Deal 7a` and `deal 70`);
//! - [`same_value`]: the exact comparison the client then makes, tolerant of the
//!   representation (a date-time is an instant whatever its offset, money is cents and
//!   currency, phones are their numbers whatever their `type`, …);
//! - [`item_matches`]: every listed field equal by [`same_value`].
//!
//! Text is compared **exactly, case included**, after trimming (the import stores text as
//! given, so `Deal 7` and `deal 7` are two keys). E-mail addresses are compared
//! case-insensitively (a mailbox does not change with case), phones by their digits.
//!
//! The builders ([`money`], [`phones`], [`emails`], [`choices`], [`status`], [`full_name`],
//! [`ids`], [`datetime`]) write the §7 shapes; validation uses them to turn cells into items.
//!
//! ```
//! use elma_import_contract::schema::{Field, FieldData, FieldType};
//! use elma_import_contract::values::{same_value, tf_condition};
//! use serde_json::json;
//!
//! let key = Field { code: "__name".into(), name: "Name".into(), kind: FieldType::String,
//!     required: true, single: true, data: FieldData::default() };
//! assert_eq!(tf_condition(&key, &json!("Deal 7")), Some(json!("Deal 7")));
//! assert!(same_value(&key, &json!("Deal 7"), &json!(" Deal 7 ")));
//! assert!(!same_value(&key, &json!("Deal 7"), &json!("Deal 7a")));
//! assert!(!same_value(&key, &json!("Deal 7"), &json!("deal 7")));
//! ```

use chrono::{DateTime, Duration, FixedOffset, NaiveDate, SecondsFormat, Utc};
use serde_json::{json, Map, Value};

use crate::schema::{Field, FieldType};

/// `type` of the phone entries an import writes: the platform's main number (*assumed*;
/// comparisons ignore `type`).
pub const PHONE_TYPE: &str = "main";
/// `type` of the e-mail entries an import writes (*assumed*; comparisons ignore `type`).
pub const EMAIL_TYPE: &str = "main";

/// Currencies whose smallest coin is the unit itself (ISO 4217 minor units 0).
pub const NO_MINOR_UNITS: [&str; 17] = [
    "BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "UYI", "VND", "VUV", "XAF",
    "XOF", "XPF",
];

/// Currencies with three decimals (ISO 4217 minor units 3): the dinars and the rial.
pub const THREE_MINOR_UNITS: [&str; 7] = ["BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"];

/// Units of account with four decimals (ISO 4217 minor units 4): Chile's Unidad de
/// Fomento and Uruguay's Unidad Previsional.
pub const FOUR_MINOR_UNITS: [&str; 2] = ["CLF", "UYW"];

/// Digits after the decimal point of a currency's smallest coin (ISO 4217 minor units),
/// by its code in any letter case: 0 for the yen and the like ([`NO_MINOR_UNITS`]), 3
/// for the dinars ([`THREE_MINOR_UNITS`]), 4 for two units of account
/// ([`FOUR_MINOR_UNITS`]), 2 for every other code. The one table of the client and the
/// emulator: a currency's coin is a fact, not a judgement.
pub fn minor_units(currency: &str) -> u32 {
    let code = currency.trim();
    let is = |codes: &[&str]| codes.iter().any(|c| c.eq_ignore_ascii_case(code));
    if is(&NO_MINOR_UNITS) {
        0
    } else if is(&THREE_MINOR_UNITS) {
        3
    } else if is(&FOUR_MINOR_UNITS) {
        4
    } else {
        2
    }
}

/// MONEY: `{"cents": …, "currency": …}`, cents in the smallest coin.
pub fn money(cents: i64, currency: &str) -> Value {
    json!({"cents": cents, "currency": currency})
}

/// PHONE: `[{"type": "main", "tel": …}]`, one entry per number.
pub fn phones<'a>(tels: impl IntoIterator<Item = &'a str>) -> Value {
    Value::Array(tels.into_iter().map(|tel| json!({"type": PHONE_TYPE, "tel": tel})).collect())
}

/// EMAIL: `[{"type": "main", "email": …}]`, one entry per address.
pub fn emails<'a>(addresses: impl IntoIterator<Item = &'a str>) -> Value {
    Value::Array(addresses.into_iter().map(|email| json!({"type": EMAIL_TYPE, "email": email})).collect())
}

/// ENUM (category): `[{"code": …, "name": …}]`, an array even for one option.
pub fn choices<'a>(options: impl IntoIterator<Item = (&'a str, &'a str)>) -> Value {
    Value::Array(options.into_iter().map(|(code, name)| json!({"code": code, "name": name})).collect())
}

/// STATUS: `{"code": …, "name": …}`, one object (*assumed*: §7 does not show a status; an
/// item has one, so it is not an array. [`same_value`] reads an array of one just as well).
pub fn status(code: &str, name: &str) -> Value {
    json!({"code": code, "name": name})
}

/// FULL_NAME: `{"lastname": …, "firstname": …, "middlename": …}`.
pub fn full_name(last: &str, first: &str, middle: &str) -> Value {
    json!({"lastname": last, "firstname": first, "middlename": middle})
}

/// SYS_USER, SYS_COLLECTION, FILE, IMAGE: an array of ids (lowercase UUIDs).
pub fn ids<'a>(ids: impl IntoIterator<Item = &'a str>) -> Value {
    Value::Array(ids.into_iter().map(|id| Value::String(id.trim().to_ascii_lowercase())).collect())
}

/// DATETIME and DATE: RFC 3339 with the offset, to the second (`2006-01-02T15:04:05+03:00`).
pub fn datetime(at: &DateTime<FixedOffset>) -> Value {
    Value::String(at.to_rfc3339_opts(SecondsFormat::Secs, false))
}

/// Whether a value counts as no value: absent, `null`, blank text, an empty array or object,
/// or a full name without any part.
pub fn is_empty(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::String(s) => s.trim().is_empty(),
        Value::Array(a) => a.iter().all(is_empty),
        Value::Object(o) => {
            o.is_empty()
                || (["lastname", "firstname", "middlename"].iter().any(|k| o.contains_key(*k))
                    && o.values().all(is_empty))
        }
        Value::Bool(_) | Value::Number(_) => false,
    }
}

/// Whether the platform's `actual` value of `field` equals the `expected` one (both in §7
/// shapes, read tolerantly):
///
/// | type | compared as |
/// |---|---|
/// | STRING, TEXT, LINK | text, exactly and case-sensitively, after trimming (line ends `\r\n` = `\n`); with several values, the parts between commas as a multiset, whether stored one a value or as one text |
/// | INTEGER, FLOAT | numbers (a numeric string is read as its number) |
/// | BOOLEAN | booleans (`"true"`/`"false"` too) |
/// | DATETIME | instants, whatever the offsets |
/// | DATE | the same instant, or the same calendar day as written |
/// | MONEY | cents and currency (a missing currency is the field's) |
/// | ENUM, STATUS | sets of option codes (an entry with only a name is mapped to its code) |
/// | PHONE | sets of phone digits, `type` ignored |
/// | EMAIL | sets of addresses, case-insensitively, `type` ignored |
/// | FULL_NAME | its three parts, each trimmed (several values: the names between commas, as text) |
/// | SYS_USER, SYS_COLLECTION, FILE, IMAGE | sets of ids (strings or `{"__id"}`), case-insensitively |
/// | TABLE, JSON, ACCOUNT | JSON, numbers by value |
///
/// An empty value ([`is_empty`]) equals only an empty one. A field with several values
/// (`single: false`) compares its values as a multiset.
pub fn same_value(field: &Field, expected: &Value, actual: &Value) -> bool {
    match (is_empty(expected), is_empty(actual)) {
        (true, true) => return true,
        (true, false) | (false, true) => return false,
        (false, false) => {}
    }
    match field.kind {
        FieldType::String | FieldType::Text | FieldType::Link if !field.single => {
            same_parts(expected, actual, text_of)
        }
        FieldType::FullName if !field.single => same_parts(expected, actual, name_text),
        FieldType::String | FieldType::Text | FieldType::Link => same_each(expected, actual, same_text),
        FieldType::Integer | FieldType::Float => same_each(expected, actual, same_number),
        FieldType::Boolean => {
            same_each(expected, actual, |e, a| boolean(e).is_some() && boolean(e) == boolean(a))
        }
        FieldType::Datetime => same_each(expected, actual, same_instant),
        FieldType::Date => same_each(expected, actual, same_day),
        FieldType::Money => same_each(expected, actual, |e, a| same_money(field, e, a)),
        FieldType::Enum | FieldType::Status => same_set(expected, actual, |v| choice_code(field, v)),
        FieldType::Phone => same_set(expected, actual, |v| {
            let tel = entry(v, "tel")?;
            let digits: String = tel.chars().filter(char::is_ascii_digit).collect();
            (!digits.is_empty()).then_some(digits)
        }),
        FieldType::Email => same_set(expected, actual, |v| {
            let email = entry(v, "email")?.trim().to_lowercase();
            (!email.is_empty()).then_some(email)
        }),
        FieldType::FullName => match (name_parts(expected), name_parts(actual)) {
            (Some(e), Some(a)) => e == a,
            _ => false,
        },
        FieldType::SysUser | FieldType::SysCollection | FieldType::File | FieldType::Image => {
            same_set(expected, actual, id_of)
        }
        FieldType::Table | FieldType::Json | FieldType::Account => same_json(expected, actual),
    }
}

/// The §6 `tf` condition on `field` that finds every item whose value [`same_value`]
/// `expected` (and possibly others; compare the answers exactly):
/// - STRING, TEXT: the trimmed text (for text with line breaks, its longest line), which
///   the platform matches as a case-insensitive substring;
/// - INTEGER, FLOAT: `{"min": n, "max": n}`;
/// - DATETIME and DATE: `{"min": t − 26 h, "max": t + 26 h}` in UTC (`+00:00`), so that a
///   value the platform read in another zone (or a date stored at midnight of another
///   zone) is found too; [`same_value`] then compares the instant or the clock reading.
///
/// `None` for an empty value, several values, and every type §6 does not filter (LINK,
/// MONEY, BOOLEAN, ENUM, STATUS, PHONE, EMAIL, FULL_NAME, links, files, TABLE, JSON).
pub fn tf_condition(field: &Field, expected: &Value) -> Option<Value> {
    let single = match expected {
        Value::Array(values) if values.len() == 1 => &values[0],
        Value::Array(_) => return None,
        other => other,
    };
    if is_empty(single) {
        return None;
    }
    match field.kind {
        FieldType::String | FieldType::Text => {
            let text = single.as_str()?.trim();
            let longest = text.lines().map(str::trim).max_by_key(|line| line.len()).unwrap_or(text);
            (!longest.is_empty()).then(|| Value::String(longest.to_string()))
        }
        FieldType::Integer | FieldType::Float => {
            if let Some(i) = integer(single) {
                return Some(json!({"min": i, "max": i}));
            }
            let n = serde_json::Number::from_f64(number(single)?)?;
            Some(json!({"min": n, "max": n}))
        }
        // Wide enough for any difference between the run's zone and the platform's (UTC−12
        // to UTC+14): the comparison on this side decides.
        FieldType::Datetime => interval(instant(single)?, Duration::hours(26)),
        FieldType::Date => {
            let at = instant(single).or_else(|| {
                let day = NaiveDate::parse_from_str(single.as_str()?.trim(), "%Y-%m-%d").ok()?;
                Some(day.and_hms_opt(0, 0, 0)?.and_utc())
            })?;
            interval(at, Duration::hours(26))
        }
        _ => None,
    }
}

/// Whether every field of `fields` has the same value in `expected` and `actual` by
/// [`same_value`]; a field missing from either map counts as empty.
pub fn item_matches(fields: &[&Field], expected: &Map<String, Value>, actual: &Map<String, Value>) -> bool {
    fields.iter().all(|field| {
        let e = expected.get(&field.code).unwrap_or(&Value::Null);
        let a = actual.get(&field.code).unwrap_or(&Value::Null);
        same_value(field, e, a)
    })
}

/// The `tf` object of a look-up: the [`tf_condition`] of each of `fields` that has one.
pub fn tf_for(fields: &[&Field], expected: &Map<String, Value>) -> Map<String, Value> {
    let mut tf = Map::new();
    for field in fields {
        if let Some(condition) = expected.get(&field.code).and_then(|v| tf_condition(field, v)) {
            tf.insert(field.code.clone(), condition);
        }
    }
    tf
}

// ------------------------------------------------------------------- comparisons

fn as_list(value: &Value) -> Vec<&Value> {
    match value {
        Value::Array(values) => values.iter().filter(|v| !is_empty(v)).collect(),
        other => vec![other],
    }
}

/// Every value of `expected` pairs with a distinct equal value of `actual`, and no value of
/// `actual` is left over.
fn same_each(expected: &Value, actual: &Value, eq: impl Fn(&Value, &Value) -> bool) -> bool {
    let (expected, mut actual) = (as_list(expected), as_list(actual));
    if expected.len() != actual.len() {
        return false;
    }
    for e in expected {
        match actual.iter().position(|a| eq(e, a)) {
            Some(i) => {
                actual.swap_remove(i);
            }
            None => return false,
        }
    }
    true
}

/// The keys of both values, as sets; an entry without a key makes the values unequal.
fn same_set(expected: &Value, actual: &Value, key: impl Fn(&Value) -> Option<String>) -> bool {
    let keys = |v: &Value| -> Option<std::collections::BTreeSet<String>> {
        as_list(v).into_iter().map(&key).collect()
    };
    match (keys(expected), keys(actual)) {
        (Some(e), Some(a)) => e == a,
        _ => false,
    }
}

fn text_of(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.trim().replace("\r\n", "\n")),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Several values, read as the parts between commas of each value's text (`text`):
/// `["a", "b"]`, `"a, b"` and `["a, b"]` are the same values. A cell of several values
/// may be stored one value a part or as one value of the whole text (the emulator does
/// the one for STRING, the other for TEXT and FULL_NAME; the platform's reference does
/// not say).
fn same_parts(expected: &Value, actual: &Value, text: fn(&Value) -> Option<String>) -> bool {
    let parts = |v: &Value| -> Option<Vec<String>> {
        let mut out = Vec::new();
        for value in as_list(v) {
            let text = text(value)?;
            out.extend(text.split(',').map(|p| p.trim().to_string()).filter(|p| !p.is_empty()));
        }
        out.sort_unstable();
        Some(out)
    };
    matches!((parts(expected), parts(actual)), (Some(e), Some(a)) if e == a)
}

fn same_text(expected: &Value, actual: &Value) -> bool {
    matches!((text_of(expected), text_of(actual)), (Some(e), Some(a)) if e == a)
}

fn number(value: &Value) -> Option<f64> {
    match value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok().filter(|n| n.is_finite()),
        _ => None,
    }
}

fn same_number(expected: &Value, actual: &Value) -> bool {
    if let (Some(e), Some(a)) = (integer(expected), integer(actual)) {
        return e == a;
    }
    matches!((number(expected), number(actual)), (Some(e), Some(a)) if e == a)
}

fn integer(value: &Value) -> Option<i64> {
    match value {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn boolean(value: &Value) -> Option<bool> {
    match value {
        Value::Bool(b) => Some(*b),
        Value::String(s) if s.trim().eq_ignore_ascii_case("true") => Some(true),
        Value::String(s) if s.trim().eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    }
}

/// An RFC 3339 date-time, as written (with its offset).
fn written(value: &Value) -> Option<DateTime<FixedOffset>> {
    DateTime::parse_from_rfc3339(value.as_str()?.trim()).ok()
}

fn instant(value: &Value) -> Option<DateTime<Utc>> {
    written(value).map(|at| at.with_timezone(&Utc))
}

/// The same instant, or the same reading of the clock: a cell has no offset, so when the
/// platform reads it in another zone than the run did, the instants differ by the zones'
/// difference while the local date and time stay what the cell said.
fn same_instant(expected: &Value, actual: &Value) -> bool {
    match (written(expected), written(actual)) {
        (Some(e), Some(a)) => e == a || e.naive_local() == a.naive_local(),
        _ => same_text(expected, actual),
    }
}

/// The calendar day a DATE value names: a bare `YYYY-MM-DD`, or the day of a date-time as
/// written in its own offset.
fn day_of(value: &Value) -> Option<NaiveDate> {
    written(value)
        .map(|at| at.date_naive())
        .or_else(|| NaiveDate::parse_from_str(value.as_str()?.trim(), "%Y-%m-%d").ok())
}

fn same_day(expected: &Value, actual: &Value) -> bool {
    if let (Some(e), Some(a)) = (instant(expected), instant(actual)) {
        if e == a {
            return true;
        }
    }
    match (day_of(expected), day_of(actual)) {
        (Some(e), Some(a)) => e == a,
        _ => same_text(expected, actual),
    }
}

fn interval(at: DateTime<Utc>, margin: Duration) -> Option<Value> {
    let utc = |t: DateTime<Utc>| t.format("%Y-%m-%dT%H:%M:%S+00:00").to_string();
    Some(json!({"min": utc(at.checked_sub_signed(margin)?), "max": utc(at.checked_add_signed(margin)?)}))
}

fn cents_of(value: &Value) -> Option<i64> {
    match value.get("cents")? {
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64)),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn same_money(field: &Field, expected: &Value, actual: &Value) -> bool {
    let currency = |v: &Value| {
        v.get("currency")
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .unwrap_or(field.data.currency())
            .to_ascii_uppercase()
    };
    match (cents_of(expected), cents_of(actual)) {
        (Some(e), Some(a)) => e == a && currency(expected) == currency(actual),
        _ => same_json(expected, actual),
    }
}

/// A category's or status's code: `{"code"}`, or a name or code of the field's choices.
fn choice_code(field: &Field, value: &Value) -> Option<String> {
    let choices = if field.kind == FieldType::Status { &field.data.statuses } else { &field.data.options };
    let by_name = |name: &str| choices.iter().find(|c| c.name == name).map(|c| c.code.clone());
    match value {
        Value::Object(o) => match o.get("code").and_then(Value::as_str) {
            Some(code) if !code.is_empty() => Some(code.to_string()),
            _ => by_name(o.get("name")?.as_str()?),
        },
        Value::String(s) if choices.iter().any(|c| c.code == *s) => Some(s.clone()),
        Value::String(s) => by_name(s).or_else(|| Some(s.clone())),
        _ => None,
    }
}

/// `entry[key]` of an object entry, or the entry itself when it is a string.
fn entry<'v>(value: &'v Value, key: &str) -> Option<&'v str> {
    match value {
        Value::String(s) => Some(s),
        Value::Object(o) => o.get(key)?.as_str(),
        _ => None,
    }
}

fn id_of(value: &Value) -> Option<String> {
    let id = match value {
        Value::String(s) => s.as_str(),
        Value::Object(o) => o.get("__id").or_else(|| o.get("id"))?.as_str()?,
        _ => return None,
    };
    Some(id.trim().to_ascii_lowercase())
}

/// The three parts of a full name: an object, or a string `Last First Middle…`.
fn name_parts(value: &Value) -> Option<[String; 3]> {
    match value {
        Value::Object(o) => {
            let part = |k: &str| o.get(k).and_then(Value::as_str).unwrap_or("").trim().to_string();
            Some([part("lastname"), part("firstname"), part("middlename")])
        }
        Value::String(s) => {
            let mut words = s.split_whitespace();
            let last = words.next().unwrap_or("").to_string();
            let first = words.next().unwrap_or("").to_string();
            Some([last, first, words.collect::<Vec<_>>().join(" ")])
        }
        _ => None,
    }
}

/// A full name as one text, its parts in the order written (`Rogers Sarah Jane`), single
/// spaces between words.
fn name_text(value: &Value) -> Option<String> {
    let parts = name_parts(value)?;
    Some(parts.iter().flat_map(|p| p.split_whitespace()).collect::<Vec<_>>().join(" "))
}

/// JSON equality with numbers compared by value (`1` = `1.0`).
fn same_json(expected: &Value, actual: &Value) -> bool {
    match (expected, actual) {
        (Value::Number(_), Value::Number(_)) => same_number(expected, actual),
        (Value::Array(e), Value::Array(a)) => {
            e.len() == a.len() && e.iter().zip(a).all(|(e, a)| same_json(e, a))
        }
        (Value::Object(e), Value::Object(a)) => {
            e.len() == a.len() && e.iter().all(|(k, v)| a.get(k).is_some_and(|w| same_json(v, w)))
        }
        _ => expected == actual,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::Choice;

    fn field(kind: FieldType) -> Field {
        Field::new("f", "F", kind)
    }

    #[test]
    fn text_is_exact_and_case_sensitive_after_trimming() {
        let f = field(FieldType::String);
        assert!(same_value(&f, &json!("Deal 7"), &json!("Deal 7")));
        assert!(same_value(&f, &json!("Deal 7"), &json!("  Deal 7\t")));
        for other in ["Deal 7a", "deal 7", "Deal 70", "Deal", "DEAL 7"] {
            assert!(!same_value(&f, &json!("Deal 7"), &json!(other)), "{other}");
        }
        let t = field(FieldType::Text);
        assert!(same_value(&t, &json!("a\nb"), &json!("a\r\nb")));
        assert!(!same_value(&t, &json!("a\nb"), &json!("a b")));
    }

    #[test]
    fn several_text_values_compare_as_their_parts_stored_either_way() {
        let mut f = field(FieldType::Text);
        f.single = false;
        let parts = json!(["VIP", "Wholesale"]);
        for stored in [json!("VIP, Wholesale"), json!(["Wholesale", "VIP"]), json!(["VIP,Wholesale"])] {
            assert!(same_value(&f, &parts, &stored), "{stored}");
        }
        for other in [json!("VIP"), json!("VIP, Wholesale, Retail"), json!(["vip", "Wholesale"])] {
            assert!(!same_value(&f, &parts, &other), "{other}");
        }
        // One value keeps its commas and its spacing.
        let one = field(FieldType::Text);
        assert!(!same_value(&one, &json!("VIP, Wholesale"), &json!("VIP,Wholesale")));
    }

    #[test]
    fn the_substring_trap_is_closed_by_the_exact_compare() {
        // The platform's `Deal 7` condition finds all three; only one is the key.
        let key = field(FieldType::String);
        assert_eq!(tf_condition(&key, &json!(" Deal 7 ")), Some(json!("Deal 7")));
        let expected: Map<String, Value> = json!({"f": "Deal 7"}).as_object().unwrap().clone();
        let found: Vec<Map<String, Value>> = ["Deal 7a", "deal 7", "Deal 70", "Deal 7"]
            .iter()
            .map(|v| json!({"__id": v, "f": v}).as_object().unwrap().clone())
            .collect();
        let kept: Vec<_> = found.iter().filter(|item| item_matches(&[&key], &expected, item)).collect();
        assert_eq!(kept.len(), 1);
        assert_eq!(kept[0]["__id"], "Deal 7");
    }

    #[test]
    fn numbers_compare_by_value_and_filter_by_an_exact_range() {
        let f = field(FieldType::Float);
        assert!(same_value(&f, &json!(10), &json!(10.0)));
        assert!(same_value(&f, &json!(27.37), &json!("27.37")));
        assert!(!same_value(&f, &json!(27.37), &json!(27.38)));
        assert_eq!(tf_condition(&f, &json!(27.5)), Some(json!({"min": 27.5, "max": 27.5})));
        let i = field(FieldType::Integer);
        assert!(same_value(&i, &json!(9007199254740993_i64), &json!(9007199254740993_i64)));
        assert!(!same_value(&i, &json!(9007199254740993_i64), &json!(9007199254740992_i64)));
        assert_eq!(tf_condition(&i, &json!(10)), Some(json!({"min": 10, "max": 10})));
    }

    #[test]
    fn date_times_are_the_same_instant_or_the_same_clock_reading() {
        let f = field(FieldType::Datetime);
        assert!(same_value(&f, &json!("2006-01-02T15:04:05+03:00"), &json!("2006-01-02T12:04:05Z")));
        assert!(same_value(&f, &json!("2006-01-02T15:04:05+03:00"), &json!("2006-01-02T12:04:05.000+00:00")));
        // A cell read in another zone: another instant, the same reading of the clock.
        assert!(same_value(&f, &json!("2006-01-02T15:04:05+03:00"), &json!("2006-01-02T15:04:05Z")));
        assert!(!same_value(&f, &json!("2006-01-02T15:04:05+03:00"), &json!("2006-01-02T16:04:05+01:00")));
        assert!(!same_value(&f, &json!("2006-01-02T15:04:05+03:00"), &json!("2006-01-02T15:04:06+03:00")));
        assert_eq!(
            tf_condition(&f, &json!("2006-01-02T15:04:05+03:00")),
            Some(json!({"min": "2006-01-01T10:04:05+00:00", "max": "2006-01-03T14:04:05+00:00"}))
        );
        assert_eq!(tf_condition(&f, &json!("yesterday")), None);
    }

    #[test]
    fn dates_match_by_instant_or_calendar_day() {
        let f = field(FieldType::Date);
        assert!(same_value(&f, &json!("2024-03-01T00:00:00+03:00"), &json!("2024-02-29T21:00:00Z")));
        assert!(same_value(&f, &json!("2024-03-01T00:00:00+03:00"), &json!("2024-03-01T00:00:00Z")));
        assert!(same_value(&f, &json!("2024-03-01T00:00:00+03:00"), &json!("2024-03-01")));
        assert!(!same_value(&f, &json!("2024-03-01T00:00:00+03:00"), &json!("2024-03-02T00:00:00+03:00")));
        let tf = tf_condition(&f, &json!("2024-03-01T00:00:00+03:00")).unwrap();
        assert_eq!(tf, json!({"min": "2024-02-28T19:00:00+00:00", "max": "2024-03-01T23:00:00+00:00"}));
    }

    #[test]
    fn money_is_cents_and_currency() {
        let mut f = field(FieldType::Money);
        assert!(same_value(&f, &money(1000, "RUB"), &json!({"cents": 1000, "currency": "rub"})));
        assert!(same_value(&f, &money(1000, "RUB"), &json!({"cents": 1000})), "the field's currency");
        assert!(!same_value(&f, &money(1000, "RUB"), &json!({"cents": 100, "currency": "RUB"})));
        assert!(!same_value(&f, &money(1000, "RUB"), &json!({"cents": 1000, "currency": "USD"})));
        f.data.currency = Some("USD".into());
        assert!(same_value(&f, &money(1000, "USD"), &json!({"cents": 1000})));
        assert_eq!(tf_condition(&f, &money(1000, "USD")), None);
        assert_eq!((minor_units("rub"), minor_units("JPY"), minor_units("KWD")), (2, 0, 3));
    }

    #[test]
    fn the_currency_table_is_iso_4217() {
        // Pinned: the client writes cents with these digits and the emulator reads them
        // with the same table, so a change here changes every MONEY value.
        let zero = "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF";
        assert_eq!(NO_MINOR_UNITS.join(" "), zero);
        assert_eq!(THREE_MINOR_UNITS.join(" "), "BHD IQD JOD KWD LYD OMR TND");
        assert_eq!(FOUR_MINOR_UNITS.join(" "), "CLF UYW");
        for code in zero.split(' ') {
            assert_eq!(minor_units(code), 0, "{code}");
            assert_eq!(minor_units(&code.to_lowercase()), 0, "{code}, lower case");
        }
        assert_eq!((minor_units(" kwd "), minor_units("TND"), minor_units("clf")), (3, 3, 4));
        for code in ["RUB", "USD", "EUR", "KZT", "CNY", "UYU", "CLP "] {
            let expected = if code == "CLP " { 0 } else { 2 };
            assert_eq!(minor_units(code), expected, "{code}");
        }
    }

    #[test]
    fn phones_and_emails_compare_their_lists_ignoring_type() {
        let p = field(FieldType::Phone);
        assert!(same_value(&p, &phones(["79125554433"]), &json!([{"type": "home", "tel": "+79125554433"}])));
        assert!(same_value(
            &p,
            &phones(["79125554433", "74951234567"]),
            &json!([{"type": "work", "tel": "74951234567"}, {"type": "home", "tel": "79125554433"}])
        ));
        assert!(!same_value(&p, &phones(["79125554433"]), &json!([{"type": "main", "tel": "79125554434"}])));
        assert!(!same_value(&p, &phones(["79125554433"]), &phones(["79125554433", "70000000000"])));
        let e = field(FieldType::Email);
        assert!(same_value(
            &e,
            &emails(["Anna@Example.com"]),
            &json!([{"type": "home", "email": "anna@example.com"}])
        ));
        assert!(!same_value(&e, &emails(["anna@example.com"]), &emails(["ann@example.com"])));
        assert_eq!(tf_condition(&e, &emails(["a@b.c"])), None);
    }

    #[test]
    fn categories_compare_by_code() {
        let mut f = field(FieldType::Enum);
        f.data.options = vec![Choice { code: "vip".into(), name: "VIP".into() }];
        assert!(same_value(
            &f,
            &choices([("vip", "VIP")]),
            &json!([{"code": "vip", "name": "Very important"}])
        ));
        assert!(same_value(&f, &choices([("vip", "VIP")]), &json!([{"name": "VIP"}])));
        assert!(same_value(&f, &choices([("vip", "VIP")]), &json!({"code": "vip"})));
        assert!(!same_value(&f, &choices([("vip", "VIP")]), &json!([{"code": "VIP", "name": "VIP"}])));
        let s = field(FieldType::Status);
        assert!(same_value(&s, &status("new", "New"), &json!([{"code": "new", "name": "New"}])));
    }

    #[test]
    fn ids_compare_as_sets_and_full_names_by_part() {
        let f = field(FieldType::SysUser);
        let a = "c44b66f6-216a-457e-a37e-ea8e373a4b77";
        let b = "29cadb73-8246-4f3d-9992-87a4a1ad20cf";
        assert!(same_value(&f, &ids([a, b]), &json!([b.to_uppercase(), {"__id": a}])));
        assert!(!same_value(&f, &ids([a, b]), &ids([a])));
        let n = field(FieldType::FullName);
        assert!(same_value(
            &n,
            &full_name("Rogers", "Sarah", "Jane"),
            &json!({"lastname": "Rogers", "firstname": "Sarah", "middlename": "Jane "})
        ));
        assert!(same_value(
            &n,
            &full_name("Rogers", "Sarah", ""),
            &json!({"lastname": "Rogers", "firstname": "Sarah"})
        ));
        assert!(!same_value(&n, &full_name("Rogers", "Sarah", ""), &full_name("Sarah", "Rogers", "")));
    }

    /// A cell `Rogers Sarah, Smith John` of a FULL_NAME field with several values: the
    /// client sends two names, the emulator keeps one name of the whole text.
    #[test]
    fn full_names_of_several_values_compare_as_the_names_between_commas() {
        let mut n = field(FieldType::FullName);
        n.single = false;
        let two = json!([full_name("Rogers", "Sarah", ""), full_name("Smith", "John", "")]);
        let whole = json!({"lastname": "Rogers", "firstname": "Sarah,", "middlename": "Smith  John"});
        assert!(same_value(&n, &two, &whole));
        assert!(same_value(&n, &whole, &two));
        assert!(same_value(
            &n,
            &two,
            &json!([full_name("Smith", "John", ""), full_name("Rogers", "Sarah", "")])
        ));
        assert!(!same_value(&n, &two, &json!([full_name("Rogers", "Sarah", "")])));
        assert!(!same_value(
            &n,
            &two,
            &json!({"lastname": "Rogers", "firstname": "Sarah", "middlename": "Smith John"})
        ));
        assert!(!same_value(&n, &two, &json!("Rogers Sarah, Smith John, Doe Jane")));
    }

    #[test]
    fn empty_equals_only_empty() {
        let f = field(FieldType::String);
        for empty in [Value::Null, json!(""), json!([]), json!("  ")] {
            assert!(same_value(&f, &Value::Null, &empty), "{empty}");
            assert!(!same_value(&f, &json!("x"), &empty), "{empty}");
            assert_eq!(tf_condition(&f, &empty), None);
        }
        let expected: Map<String, Value> = Map::new();
        let actual: Map<String, Value> = json!({"f": [], "__id": "1"}).as_object().unwrap().clone();
        assert!(item_matches(&[&f], &expected, &actual));
        assert!(is_empty(&full_name("", "", "")));
    }

    #[test]
    fn tf_for_keeps_only_filterable_fields() {
        let mut name = field(FieldType::String);
        name.code = "__name".into();
        let mut email = field(FieldType::Email);
        email.code = "email".into();
        let mut age = field(FieldType::Integer);
        age.code = "age".into();
        let expected =
            json!({"__name": "Anna", "email": emails(["a@b.c"]), "age": 30}).as_object().unwrap().clone();
        let tf = tf_for(&[&name, &email, &age], &expected);
        assert_eq!(Value::Object(tf), json!({"__name": "Anna", "age": {"min": 30, "max": 30}}));
    }
}
