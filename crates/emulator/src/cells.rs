//! The small judgements the emulator's value model is made of: which types split on
//! commas or store arrays, money and decimals, e-mail, URL and UUID shapes, and the
//! messages a refused cell gets. A leaf of `values`.

use chrono::{Datelike, NaiveDate};
use elma_import_contract::schema::{Field, FieldType};
use elma_import_contract::Locale;
use serde_json::{json, Value};

/// A name or code as compared: trimmed, lower case.
pub(crate) fn fold(s: &str) -> String {
    s.trim().chars().flat_map(char::to_lowercase).collect()
}

/// Largest integer a JSON number holds exactly (2^53).
pub(crate) const MAX_EXACT: f64 = 9_007_199_254_740_992.0;

/// Types whose multi-value cells (`single: false`) are split on commas.
pub(crate) fn splits(kind: FieldType) -> bool {
    !matches!(
        kind,
        FieldType::Text | FieldType::FullName | FieldType::Table | FieldType::Json | FieldType::Account
    )
}

/// Types whose stored value is an array already (§7).
pub(crate) fn is_array_type(kind: FieldType) -> bool {
    matches!(
        kind,
        FieldType::Enum
            | FieldType::Phone
            | FieldType::Email
            | FieldType::File
            | FieldType::Image
            | FieldType::SysUser
            | FieldType::SysCollection
    )
}

/// Years of four digits only: `%Y` would take `77` as the year 77.
pub(crate) fn four_digit_year(date: NaiveDate) -> bool {
    (1000..=9999).contains(&date.year())
}

pub(crate) fn cut(t: &str) -> String {
    if t.chars().count() > 60 {
        format!("{}…", t.chars().take(60).collect::<String>())
    } else {
        t.to_string()
    }
}

pub(crate) fn max_length(field: &Field, t: &str) -> Result<(), String> {
    match field.data.max_length {
        Some(max) if t.chars().count() > max => {
            Err(format!("`{}` is {} characters long, over the limit of {max}", cut(t), t.chars().count()))
        }
        _ => Ok(()),
    }
}

pub(crate) fn not_integer(t: &str) -> String {
    format!("`{t}` is not a whole number: write digits with an optional sign, no separators")
}

pub(crate) fn bad_money(t: &str) -> String {
    format!("`{t}` is not an amount: write a number without a currency sign, e.g. `125.60`")
}

pub(crate) fn bad_phone(t: &str) -> String {
    format!("`{t}` is not a phone number: write 10 to 15 digits, nothing else")
}

pub(crate) fn integer_of(n: f64) -> Option<Value> {
    (n.is_finite() && n.fract() == 0.0 && n.abs() <= MAX_EXACT).then(|| Value::from(n as i64))
}

pub(crate) fn finite(n: f64, shown: &str) -> Result<Value, String> {
    if n.is_finite() {
        Ok(Value::from(n))
    } else {
        Err(format!("`{shown}` is out of the range of a number"))
    }
}

pub(crate) fn too_fine(t: &str, field: &Field, digits: u32) -> String {
    format!(
        "`{t}` is finer than the smallest coin of `{}` ({digits} decimals): money is kept in whole coins",
        field.data.currency()
    )
}

pub(crate) fn cents_of_number(n: f64, digits: u32) -> Option<i64> {
    let scaled = n * 10f64.powi(digits as i32);
    let cents = scaled.round();
    (n.is_finite() && (scaled - cents).abs() < 1e-6 && cents.abs() <= MAX_EXACT).then_some(cents as i64)
}

pub(crate) fn money(field: &Field, cents: i64) -> Value {
    json!({"cents": cents, "currency": field.data.currency()})
}

/// Sign, integer digits, fraction digits of a plain decimal: `[+-]digits[(.|,)digits]`
/// (the comma only under `ru`); no spaces, exponents or signs of currency.
pub(crate) fn decimal(t: &str, locale: Locale) -> Option<(bool, &str, &str)> {
    let negative = t.starts_with('-');
    let body = t.strip_prefix(['+', '-']).unwrap_or(t);
    let seps: &[char] = match locale {
        Locale::Ru => &['.', ','],
        Locale::En => &['.'],
    };
    let (int, frac) = match body.find(seps) {
        Some(i) => (&body[..i], &body[i + 1..]),
        None => (body, ""),
    };
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    let has_sep = body.len() != int.len();
    let ok = all_digits(int)
        && all_digits(frac)
        && !(int.is_empty() && frac.is_empty())
        && !(has_sep && frac.is_empty());
    ok.then_some((negative, if int.is_empty() { "0" } else { int }, frac))
}

pub(crate) fn choice<'a>(
    choices: &'a [elma_import_contract::schema::Choice],
    t: &str,
    what: &str,
    field: &str,
) -> Result<&'a elma_import_contract::schema::Choice, String> {
    let key = fold(t);
    if let Some(c) = choices.iter().find(|c| fold(&c.name) == key) {
        return Ok(c);
    }
    if let Some(c) = choices.iter().find(|c| fold(&c.code) == key) {
        return Err(format!(
            "`{t}` is the code of {what} of `{field}`: the cell takes its name, `{}`",
            c.name
        ));
    }
    let names: Vec<String> = choices.iter().take(10).map(|c| format!("`{}`", c.name)).collect();
    let more = if choices.len() > 10 { ", …" } else { "" };
    Err(format!("`{t}` is not {what} of `{field}`: expected one of {}{more}", names.join(", ")))
}

pub(crate) fn is_url(t: &str) -> bool {
    let lower = t.to_ascii_lowercase();
    let rest = lower.strip_prefix("https://").or_else(|| lower.strip_prefix("http://"));
    match rest {
        Some(rest) => {
            let host = rest.split(['/', '?', '#']).next().unwrap_or("");
            !host.is_empty() && !t.chars().any(char::is_whitespace)
        }
        None => false,
    }
}

pub(crate) fn is_email(t: &str) -> bool {
    let Some((local, domain)) = t.split_once('@') else { return false };
    let clean = |s: &str| {
        !s.is_empty() && !s.chars().any(|c| c.is_whitespace() || matches!(c, '@' | ',' | ';' | '<' | '>'))
    };
    clean(local)
        && clean(domain)
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains("..")
}

/// A UUID in its hyphenated form, lowercased.
pub(crate) fn uuid_of(t: &str) -> Option<String> {
    let ok = t.len() == 36
        && t.bytes().enumerate().all(|(i, b)| {
            if matches!(i, 8 | 13 | 18 | 23) {
                b == b'-'
            } else {
                b.is_ascii_hexdigit()
            }
        });
    ok.then(|| t.to_ascii_lowercase())
}

/// A TABLE value: `[{"rows":[…],"result":{"__count":N},"view":…}]` with `N` = rows.
pub(crate) fn check_table(value: &Value) -> Result<(), String> {
    let tables = value.as_array().ok_or("expected an array of tables")?;
    for table in tables {
        let rows = table.get("rows").and_then(Value::as_array).ok_or("a table has no `rows` array")?;
        let count = table
            .get("result")
            .and_then(|r| r.get("__count"))
            .and_then(Value::as_u64)
            .ok_or("a table has no `result.__count`")?;
        if count != rows.len() as u64 {
            return Err(format!("`result.__count` is {count} but `rows` holds {}", rows.len()));
        }
    }
    Ok(())
}
