//! What a cell check reports: one [`Problem`] per bad value, with its message (built
//! only when a problem is found, so a valid cell allocates nothing) and, for a fixable
//! mistake, its rewrite.

use std::ops::Range;

use crate::choices::{unicase_eq, Choices};
use crate::rules::{Rule, Shown};
use crate::values::{self, DateError, NumberError, PhoneShape};
use crate::Locale;

/// One problem with one value of a cell.
#[derive(Debug, Clone)]
pub(crate) struct Problem {
    pub rule: Rule,
    pub message: String,
    /// Byte range of the value in the cell's text.
    pub span: Range<usize>,
    /// The value's canonical form, for a fixable mistake.
    pub rewrite: Option<String>,
}

impl Problem {
    pub(crate) fn bad(rule: Rule, span: Range<usize>, message: String) -> Problem {
        Problem { rule, message, span, rewrite: None }
    }

    pub(crate) fn fixable(rule: Rule, span: Range<usize>, message: String, rewrite: String) -> Problem {
        Problem { rule, message, span, rewrite: Some(rewrite) }
    }
}

/// The cell's text with every fixable value rewritten, when every problem is fixable.
pub(crate) fn cell_fix(text: &str, problems: &[Problem]) -> Option<String> {
    if problems.is_empty() || problems.iter().any(|p| p.rewrite.is_none()) {
        return None;
    }
    let mut out = String::with_capacity(text.len() + 16);
    let mut last = 0;
    for p in problems {
        let rewrite = p.rewrite.as_deref()?;
        out.push_str(text.get(last..p.span.start)?);
        out.push_str(rewrite);
        last = p.span.end;
    }
    out.push_str(text.get(last..)?);
    let out = out.trim();
    (out != text).then(|| out.to_string())
}

/// The shape of a TABLE cell, for messages.
pub(crate) const TABLE_SHAPE: &str = "`[{\"rows\":[...],\"result\":{\"__count\":N},\"view\":\"\"}]`";

pub(crate) fn date_format(locale: Locale, with_time: bool) -> &'static str {
    match (locale, with_time) {
        (Locale::Ru, true) => "`dd.MM.yyyy HH:mm` (or `dd.MM.yyyy`), e.g. `04.07.1977 13:27`",
        (Locale::Ru, false) => "`dd.MM.yyyy`, e.g. `04.07.1977`",
        (Locale::En, true) => "`M/d/yyyy h:mm AM/PM` (or `M/d/yyyy`), e.g. `4/17/2022 3:27 PM`",
        (Locale::En, false) => "`M/d/yyyy`, e.g. `4/17/2022`",
    }
}

#[cold]
pub(crate) fn integer_problem(v: &str, span: Range<usize>, e: NumberError, locale: Locale) -> Problem {
    let shown = Shown(v);
    let message = match e {
        NumberError::Range => format!(
            "`{shown}` is out of range: a whole number lies between -9223372036854775808 and \
             9223372036854775807"
        ),
        NumberError::Syntax if values::check_decimal(v, locale == Locale::Ru).is_ok() => {
            format!("`{shown}` is not a whole number: expected digits with an optional sign and no fractional part, e.g. `27`")
        }
        NumberError::Syntax if v.chars().any(char::is_whitespace) => format!(
            "`{shown}` is not a whole number: expected digits with an optional sign, without spaces \
             or thousands separators, e.g. `1000`"
        ),
        NumberError::Syntax => {
            format!("`{shown}` is not a whole number: expected digits with an optional sign, e.g. `27`")
        }
    };
    let rule = if e == NumberError::Range { Rule::NumberOutOfRange } else { Rule::NotAnInteger };
    Problem::bad(rule, span, message)
}

#[cold]
pub(crate) fn decimal_problem(
    v: &str,
    span: Range<usize>,
    e: NumberError,
    locale: Locale,
    money: bool,
) -> Problem {
    let shown = Shown(v);
    if e == NumberError::Range {
        return Problem::bad(
            Rule::NumberOutOfRange,
            span,
            format!("`{shown}` is out of range: it is too big for a number"),
        );
    }
    let separators = match locale {
        Locale::Ru => "`.` or `,` as the decimal separator (locale ru)",
        Locale::En => "`.` as the decimal separator (locale en)",
    };
    let mut message = if money {
        format!("`{shown}` is not an amount: expected a number without a currency sign, with {separators}, e.g. `125.6`")
    } else {
        format!("`{shown}` is not a number: expected digits with {separators}")
    };
    let lower = v.to_lowercase();
    let exponent = lower.contains('e')
        && lower.bytes().any(|c| c.is_ascii_digit())
        && lower.bytes().all(|c| c.is_ascii_digit() || b".,+-e".contains(&c));
    if exponent || matches!(lower.trim_start_matches(['+', '-']), "inf" | "infinity" | "nan") {
        message.push_str("; exponents, infinity and NaN are not accepted");
    } else if locale == Locale::En && values::check_decimal(v, true).is_ok() {
        message.push_str("; `,` is a decimal separator only under locale ru");
    } else if v.chars().any(char::is_whitespace)
        && values::check_decimal(&v.replace(char::is_whitespace, ""), locale == Locale::Ru).is_ok()
    {
        message.push_str("; no spaces or thousands separators");
    }
    Problem::bad(Rule::NotANumber, span, message)
}

#[cold]
pub(crate) fn boolean_problem(v: &str, span: Range<usize>) -> Problem {
    let to = if ["yes", "1", "да"].iter().any(|w| unicase_eq(w, v)) {
        Some("true")
    } else if ["no", "0", "нет"].iter().any(|w| unicase_eq(w, v)) {
        Some("false")
    } else {
        None
    };
    match to {
        Some(to) => Problem::fixable(
            Rule::BooleanWord,
            span,
            format!("`{}` is not `true` or `false`; fixable: it means `{to}`", Shown(v)),
            to.to_string(),
        ),
        None => Problem::bad(
            Rule::NotABoolean,
            span,
            format!("`{}` is not a boolean: expected `true` or `false` (any case)", Shown(v)),
        ),
    }
}

#[cold]
pub(crate) fn date_problem(
    v: &str,
    span: Range<usize>,
    error: Option<DateError>,
    locale: Locale,
    with_time: bool,
) -> Problem {
    let shown = Shown(v);
    let format = date_format(locale, with_time);
    match error {
        None => Problem::bad(
            Rule::NotADate,
            span,
            format!("`{shown}` has a time of day, but a DATE field holds only a date: expected {format}"),
        ),
        Some(DateError::Calendar) => Problem::bad(
            Rule::InvalidDate,
            span,
            format!("`{shown}` is not a real date or time of day: expected {format} (locale {locale})"),
        ),
        Some(DateError::Format) => match values::parse_iso(v) {
            Some(Ok(dt)) if dt.second != 0 => Problem::bad(
                Rule::NotADate,
                span,
                format!("`{shown}` has seconds, which {format} cannot hold (locale {locale})"),
            ),
            Some(Ok(dt)) if !with_time && (dt.hour, dt.minute) != (0, 0) => Problem::bad(
                Rule::NotADate,
                span,
                format!("`{shown}` has a time of day, but a DATE field holds only a date: expected {format}"),
            ),
            Some(Ok(dt)) => {
                let rewrite = dt.format(locale, with_time && dt.has_time);
                Problem::fixable(
                    Rule::IsoDate,
                    span,
                    format!(
                        "`{shown}` is an ISO date; fixable: under locale {locale} it is written `{rewrite}`"
                    ),
                    rewrite,
                )
            }
            Some(Err(_)) => Problem::bad(
                Rule::InvalidDate,
                span,
                format!("`{shown}` is not a real date or time of day: expected {format} (locale {locale})"),
            ),
            None => {
                let other = match locale {
                    Locale::Ru => Locale::En,
                    Locale::En => Locale::Ru,
                };
                let hint = if values::parse_locale_date(v, other).is_ok() {
                    format!(
                        "; it reads as a date of locale {other}, which is not rewritten because day and \
                         month could be read either way (pass the file's locale)"
                    )
                } else {
                    String::new()
                };
                Problem::bad(
                    Rule::NotADate,
                    span,
                    format!("`{shown}` is not a date: expected {format} (locale {locale}){hint}"),
                )
            }
        },
    }
}

#[cold]
pub(crate) fn option_problem(v: &str, span: Range<usize>, choices: &Choices) -> Problem {
    let shown = Shown(v);
    match choices.resolve(v) {
        Ok((i, rule)) => {
            let name = choices.items[i].0.clone();
            let what = if rule == Rule::OptionCode { "the code of the option" } else { "the option" };
            Problem::fixable(
                rule,
                span,
                format!(
                    "`{shown}` is {what} `{name}`; fixable: a category is written by its exact name `{name}`"
                ),
                name,
            )
        }
        Err(several) if several.len() > 1 => {
            let names: Vec<String> = several.iter().map(|&i| format!("`{}`", choices.items[i].0)).collect();
            Problem::bad(
                Rule::UnknownOption,
                span,
                format!(
                    "`{shown}` is not an option's name and could mean any of {}: write the exact name",
                    names.join(", ")
                ),
            )
        }
        Err(_) => Problem::bad(
            Rule::UnknownOption,
            span,
            format!(
                "`{shown}` is not an option of this category: expected the name of one of {}",
                choices.listing()
            ),
        ),
    }
}

#[cold]
pub(crate) fn status_problem(v: &str, span: Range<usize>, choices: &Choices) -> Problem {
    let hint = match choices.resolve(v) {
        Ok((i, _)) => {
            format!(" (`{}` means the status `{}`: write its exact name)", Shown(v), choices.items[i].0)
        }
        Err(_) => String::new(),
    };
    Problem::bad(
        Rule::UnknownStatus,
        span,
        format!("`{}` is not a status of this app: expected one of {}{hint}", Shown(v), choices.listing()),
    )
}

#[cold]
pub(crate) fn phone_problem(v: &str, span: Range<usize>, shape: PhoneShape) -> Problem {
    let shown = Shown(v);
    match shape {
        PhoneShape::Decorated => {
            let digits = values::phone_digits(v);
            Problem::fixable(
                Rule::PhoneFormat,
                span,
                format!("`{shown}` is not digits only; fixable: it is written `{digits}`"),
                digits,
            )
        }
        PhoneShape::Count(n) => Problem::bad(
            Rule::NotAPhone,
            span,
            format!("`{shown}` has {n} digits: expected digits only, 10 to 15 of them, e.g. `79125554433`"),
        ),
        PhoneShape::Valid | PhoneShape::Other => Problem::bad(
            Rule::NotAPhone,
            span,
            format!(
                "`{shown}` is not a phone number: expected digits only, 10 to 15 of them, e.g. `79125554433`"
            ),
        ),
    }
}

#[cold]
pub(crate) fn uuid_ref_problem(v: &str, span: Range<usize>) -> Problem {
    let shown = Shown(v);
    if values::is_uuid(v) {
        let rewrite = format!("[{v}]");
        return Problem::fixable(
            Rule::BareUuid,
            span,
            format!("`{shown}` is a UUID without brackets; fixable: it is written `{rewrite}`"),
            rewrite,
        );
    }
    let why = if v.starts_with('[') && v.ends_with(']') {
        "the text between the brackets is not a UUID (8-4-4-4-12 hex digits)"
    } else {
        "it is not a UUID in brackets"
    };
    Problem::bad(
        Rule::NotAUuidRef,
        span,
        format!("`{shown}` is not a reference: {why}; expected `[uuid]`, e.g. `[29cadb73-8246-4f3d-9992-87a4a1ad20cf]`"),
    )
}

pub(crate) fn table_problem(json: &serde_json::Value) -> Option<String> {
    let Some(tables) = json.as_array() else {
        return Some("it is not a JSON array".into());
    };
    for (i, table) in tables.iter().enumerate() {
        let n = i + 1;
        let Some(object) = table.as_object() else {
            return Some(format!("element {n} is not an object"));
        };
        let Some(rows) = object.get("rows").and_then(|r| r.as_array()) else {
            return Some(format!("element {n} has no `rows` array"));
        };
        let Some(count) = object.get("result").and_then(|r| r.get("__count")).and_then(|c| c.as_u64()) else {
            return Some(format!("element {n} has no whole number `result.__count`"));
        };
        if count != rows.len() as u64 {
            return Some(format!("`__count` is {count} but `rows` holds {} row(s)", rows.len()));
        }
        if object.get("view").is_some_and(|v| !v.is_string()) {
            return Some(format!("`view` of element {n} is not a string"));
        }
    }
    None
}
