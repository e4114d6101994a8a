//! Compiled per-column rules and the cell checks.
//!
//! A valid cell costs a trim and one hand-written parse; nothing is allocated until a
//! problem is reported.

use std::collections::HashMap;
use std::ops::Range;

use elma_import_contract::schema::{Choice, Field, FieldType};
use elma_import_sheet::{Cell, CellKind};

use crate::rules::{ColumnName, Rule, Shown};
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
    fn bad(rule: Rule, span: Range<usize>, message: String) -> Problem {
        Problem { rule, message, span, rewrite: None }
    }

    fn fixable(rule: Rule, span: Range<usize>, message: String, rewrite: String) -> Problem {
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

/// Options of a category or statuses of an app.
#[derive(Debug, Clone)]
pub(crate) struct Choices {
    /// (trimmed name, code) in schema order.
    pub items: Vec<(String, String)>,
    /// name → index, for long lists; short lists are scanned.
    by_name: Option<HashMap<String, usize>>,
}

const SCAN_LIMIT: usize = 12;

impl Choices {
    fn new(choices: &[Choice]) -> Choices {
        let items: Vec<(String, String)> =
            choices.iter().map(|c| (c.name.trim().to_string(), c.code.trim().to_string())).collect();
        let by_name = (items.len() > SCAN_LIMIT).then(|| {
            let mut map = HashMap::with_capacity(items.len());
            for (i, (name, _)) in items.iter().enumerate() {
                map.entry(name.clone()).or_insert(i);
            }
            map
        });
        Choices { items, by_name }
    }

    /// The choice named exactly `name`.
    pub fn find(&self, name: &str) -> Option<usize> {
        match &self.by_name {
            Some(map) => map.get(name).copied(),
            None => self.items.iter().position(|(n, _)| n == name),
        }
    }

    /// The one choice `value` means when it is a code or a name in another letter case:
    /// `Ok((index, rule))`, or every candidate when there are several.
    fn resolve(&self, value: &str) -> Result<(usize, Rule), Vec<usize>> {
        let mut found: Vec<(usize, Rule)> = Vec::new();
        for (i, (name, code)) in self.items.iter().enumerate() {
            let rule = if code == value || unicase_eq(code, value) {
                Rule::OptionCode
            } else if unicase_eq(name, value) {
                Rule::OptionCase
            } else {
                continue;
            };
            found.push((i, rule));
        }
        match found.as_slice() {
            [one] => Ok(*one),
            _ => Err(found.into_iter().map(|(i, _)| i).collect()),
        }
    }

    fn listing(&self) -> String {
        let mut s = String::new();
        for (i, (name, _)) in self.items.iter().enumerate().take(10) {
            if i > 0 {
                s.push_str(", ");
            }
            s.push('`');
            s.push_str(name);
            s.push('`');
        }
        if self.items.len() > 10 {
            s.push_str(&format!(" and {} more", self.items.len() - 10));
        }
        if s.is_empty() {
            s.push_str("(none are configured)");
        }
        s
    }
}

fn unicase_eq(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
        || a.chars().flat_map(char::to_lowercase).eq(b.chars().flat_map(char::to_lowercase))
}

/// What a column's values must be.
#[derive(Debug, Clone)]
pub(crate) enum Kind {
    /// An ignored unknown column.
    Skip,
    /// A column without a header: any data under it is an error.
    EmptyHeader(usize),
    Text {
        max: Option<usize>,
        one_line: bool,
    },
    Integer,
    Float,
    Money,
    Boolean,
    DateTime,
    Date,
    Enum(Choices),
    Status(Choices),
    Phone,
    Email,
    FullName,
    Link,
    FileRef,
    UuidRef,
    Table,
    Json,
}

/// The compiled rule of one column.
#[derive(Debug, Clone)]
pub(crate) struct ColumnRule {
    pub kind: Kind,
    pub field_type: Option<FieldType>,
    pub required: bool,
    /// Several comma-separated values (never for TABLE and JSON).
    pub multi: bool,
}

impl ColumnRule {
    pub fn skip() -> ColumnRule {
        ColumnRule { kind: Kind::Skip, field_type: None, required: false, multi: false }
    }

    pub fn empty_header(column: usize) -> ColumnRule {
        ColumnRule { kind: Kind::EmptyHeader(column), ..ColumnRule::skip() }
    }

    pub fn compile(field: &Field) -> ColumnRule {
        let kind = match field.kind {
            FieldType::String => Kind::Text { max: field.data.max_length, one_line: true },
            FieldType::Text => Kind::Text { max: field.data.max_length, one_line: false },
            FieldType::Integer => Kind::Integer,
            FieldType::Float => Kind::Float,
            FieldType::Money => Kind::Money,
            FieldType::Boolean => Kind::Boolean,
            FieldType::Datetime => Kind::DateTime,
            FieldType::Date => Kind::Date,
            FieldType::Enum => Kind::Enum(Choices::new(&field.data.options)),
            FieldType::Status => Kind::Status(Choices::new(&field.data.statuses)),
            FieldType::Phone => Kind::Phone,
            FieldType::Email => Kind::Email,
            FieldType::FullName => Kind::FullName,
            FieldType::Link => Kind::Link,
            FieldType::File | FieldType::Image => Kind::FileRef,
            FieldType::SysUser | FieldType::SysCollection => Kind::UuidRef,
            FieldType::Table => Kind::Table,
            FieldType::Json => Kind::Json,
            // Rejected by the header check; never reached with a compiled validator.
            FieldType::Account => Kind::Skip,
        };
        let multi = !field.single && !matches!(kind, Kind::Table | Kind::Json);
        ColumnRule { kind, field_type: Some(field.kind), required: field.required, multi }
    }

    /// The rule reported when a checked value unexpectedly fails to convert.
    pub fn main_rule(&self) -> Rule {
        match self.kind {
            Kind::Skip | Kind::EmptyHeader(_) | Kind::Text { .. } | Kind::FullName => Rule::Required,
            Kind::Integer => Rule::NotAnInteger,
            Kind::Float | Kind::Money => Rule::NotANumber,
            Kind::Boolean => Rule::NotABoolean,
            Kind::DateTime | Kind::Date => Rule::NotADate,
            Kind::Enum(_) => Rule::UnknownOption,
            Kind::Status(_) => Rule::UnknownStatus,
            Kind::Phone => Rule::NotAPhone,
            Kind::Email => Rule::NotAnEmail,
            Kind::Link => Rule::NotALink,
            Kind::FileRef => Rule::NotAFileRef,
            Kind::UuidRef => Rule::NotAUuidRef,
            Kind::Table => Rule::TableShape,
            Kind::Json => Rule::NotJson,
        }
    }

    fn type_name(&self) -> &'static str {
        self.field_type.map_or("?", FieldType::as_str)
    }

    /// Checks one cell, calling `report` for each problem (never for a valid cell).
    #[inline]
    pub fn check_cell(&self, cell: Cell<'_>, locale: Locale, report: &mut impl FnMut(Problem)) {
        let whole = 0..cell.text.len();
        match self.kind {
            Kind::Skip => return,
            Kind::EmptyHeader(column) => {
                if !cell.is_blank() {
                    report(Problem::bad(
                        Rule::DataUnderEmptyHeader,
                        whole,
                        format!(
                            "column {} has no header but holds `{}`: give the column a header naming \
                             a field, or remove the data",
                            ColumnName(column),
                            Shown(cell.text.trim())
                        ),
                    ));
                }
                return;
            }
            _ => {}
        }
        match cell.kind {
            CellKind::Text => {}
            CellKind::Empty => return self.check_required(report),
            CellKind::Error => {
                return report(Problem::bad(
                    Rule::ErrorCell,
                    whole,
                    format!(
                        "the cell holds the spreadsheet error `{}`: expected a {} value",
                        Shown(cell.text),
                        self.type_name()
                    ),
                ))
            }
            CellKind::FormulaWithoutValue => {
                return report(Problem::bad(
                    Rule::FormulaWithoutValue,
                    whole,
                    format!(
                        "the formula `{}` has no saved value: open the file in Excel or LibreOffice \
                         and save it so that formulas are calculated",
                        Shown(cell.text)
                    ),
                ))
            }
            CellKind::Number => match self.kind {
                Kind::Integer | Kind::Float | Kind::Money | Kind::Boolean | Kind::DateTime | Kind::Date => {
                    return self.check_number_cell(cell, locale, report)
                }
                _ => {}
            },
            CellKind::Bool => {
                if matches!(self.kind, Kind::Boolean) {
                    return;
                }
            }
            CellKind::Date => {
                if matches!(self.kind, Kind::DateTime | Kind::Date) {
                    if date_cell(cell).is_none() {
                        report(Problem::bad(
                            Rule::NotADate,
                            whole,
                            format!("the date cell `{}` holds no readable date", Shown(cell.text)),
                        ));
                    }
                    return;
                }
            }
        }
        let text = cell.text;
        let (offset, trimmed) = trim(text);
        if trimmed.is_empty() {
            return self.check_required(report);
        }
        if self.multi {
            let mut start = offset;
            for part in trimmed.split(',') {
                let (lead, value) = trim(part);
                let from = start + lead;
                if value.is_empty() {
                    report(Problem::bad(
                        Rule::EmptyValue,
                        from..from,
                        format!(
                            "`{}` has an empty value between commas: this field takes several values \
                             separated by commas, each of them filled",
                            Shown(trimmed)
                        ),
                    ));
                } else {
                    self.check_value(value, from..from + value.len(), locale, report);
                }
                start += part.len() + 1;
            }
        } else {
            self.check_value(trimmed, offset..offset + trimmed.len(), locale, report);
        }
    }

    fn check_required(&self, report: &mut impl FnMut(Problem)) {
        if self.required {
            report(Problem::bad(
                Rule::Required,
                0..0,
                format!(
                    "the cell is empty, but the field is required: expected a {} value",
                    self.type_name()
                ),
            ));
        }
    }

    #[cold]
    fn check_number_cell(&self, cell: Cell<'_>, locale: Locale, report: &mut impl FnMut(Problem)) {
        let n = cell.number;
        let span = 0..cell.text.len();
        let shown = Shown(cell.text);
        match self.kind {
            Kind::Integer if !n.is_finite() || n.fract() != 0.0 => report(Problem::bad(
                Rule::NotAnInteger,
                span,
                format!("`{shown}` is not a whole number: expected digits with an optional sign, e.g. `27`"),
            )),
            Kind::Integer if n.abs() >= 9.223_372_036_854_775e18 => report(Problem::bad(
                Rule::NumberOutOfRange,
                span,
                format!("`{shown}` is out of range: a whole number lies between -2^63 and 2^63-1"),
            )),
            Kind::Float | Kind::Money if !n.is_finite() => report(Problem::bad(
                Rule::NumberOutOfRange,
                span,
                format!("`{shown}` is not a finite number"),
            )),
            Kind::Boolean if n == 1.0 || n == 0.0 => {
                let to = if n == 1.0 { "true" } else { "false" };
                report(Problem::fixable(
                    Rule::BooleanWord,
                    span,
                    format!("`{shown}` is not `true` or `false`; fixable: it means `{to}`"),
                    to.to_string(),
                ))
            }
            Kind::Boolean => report(Problem::bad(
                Rule::NotABoolean,
                span,
                format!("`{shown}` is not a boolean: expected `true` or `false`"),
            )),
            Kind::DateTime | Kind::Date => report(Problem::bad(
                Rule::NotADate,
                span,
                format!(
                    "`{shown}` is a number cell, not a date: format the cell as a date, or write the \
                     date as text {} (locale {locale})",
                    date_format(locale, matches!(self.kind, Kind::DateTime))
                ),
            )),
            _ => {}
        }
    }

    /// Checks one trimmed, non-empty value.
    #[inline]
    fn check_value(&self, v: &str, span: Range<usize>, locale: Locale, report: &mut impl FnMut(Problem)) {
        match &self.kind {
            Kind::Skip | Kind::EmptyHeader(_) | Kind::FullName => {}
            Kind::Text { max, one_line } => {
                if let Some(max) = *max {
                    if v.len() > max && v.chars().count() > max {
                        report(Problem::bad(
                            Rule::TooLong,
                            span.clone(),
                            format!(
                                "`{}` is {} characters long: at most {max} fit in this field",
                                Shown(v),
                                v.chars().count()
                            ),
                        ));
                    }
                }
                if *one_line && v.as_bytes().iter().any(|&c| c == b'\n' || c == b'\r') {
                    report(Problem::bad(
                        Rule::LineBreak,
                        span,
                        format!(
                            "`{}` holds a line break: a STRING field is one line of text (only TEXT \
                             fields may hold line breaks)",
                            Shown(v)
                        ),
                    ));
                }
            }
            Kind::Integer => {
                if let Err(e) = values::parse_integer(v) {
                    report(integer_problem(v, span, e, locale));
                }
            }
            Kind::Float | Kind::Money => {
                if let Err(e) = values::check_decimal(v, locale == Locale::Ru) {
                    report(decimal_problem(v, span, e, locale, matches!(self.kind, Kind::Money)));
                }
            }
            Kind::Boolean => {
                if !(v.eq_ignore_ascii_case("true") || v.eq_ignore_ascii_case("false")) {
                    report(boolean_problem(v, span));
                }
            }
            Kind::DateTime | Kind::Date => {
                let with_time = matches!(self.kind, Kind::DateTime);
                match values::parse_locale_date(v, locale) {
                    Ok(dt) if with_time || !dt.has_time => {}
                    result => report(date_problem(v, span, result.err(), locale, with_time)),
                }
            }
            Kind::Enum(choices) => {
                if choices.find(v).is_none() {
                    report(option_problem(v, span, choices));
                }
            }
            Kind::Status(choices) => {
                if choices.find(v).is_none() {
                    report(status_problem(v, span, choices));
                }
            }
            Kind::Phone => match values::phone_shape(v) {
                PhoneShape::Valid => {}
                shape => report(phone_problem(v, span, shape)),
            },
            Kind::Email => {
                if let Some(why) = values::email_problem(v) {
                    report(Problem::bad(
                        Rule::NotAnEmail,
                        span,
                        format!(
                            "`{}` is not an e-mail address: {why}; expected `name@domain`, e.g. \
                             `name@example.com`",
                            Shown(v)
                        ),
                    ));
                }
            }
            Kind::Link => {
                if let Some(why) = values::link_problem(v) {
                    report(Problem::bad(
                        Rule::NotALink,
                        span,
                        format!(
                            "`{}` is not a link: {why}; expected an absolute http(s) URL, e.g. \
                             `https://example.com`",
                            Shown(v)
                        ),
                    ));
                }
            }
            Kind::FileRef => {
                if let Err(why) = split_file_ref(v) {
                    report(Problem::bad(
                        Rule::NotAFileRef,
                        span,
                        format!(
                            "`{}` is not a file reference: {why}; expected `name[uuid]` of a file already \
                             in the platform, e.g. `scan.pdf[fd2af6d9-3e95-4896-9604-250929347acb]`",
                            Shown(v)
                        ),
                    ));
                }
            }
            Kind::UuidRef => {
                if uuid_ref(v).is_none() {
                    report(uuid_ref_problem(v, span));
                }
            }
            Kind::Json => {
                if let Err(e) = serde_json::from_str::<serde::de::IgnoredAny>(v) {
                    report(Problem::bad(Rule::NotJson, span, format!("`{}` is not JSON: {e}", Shown(v))));
                }
            }
            Kind::Table => match serde_json::from_str::<serde_json::Value>(v) {
                Err(e) => report(Problem::bad(
                    Rule::NotJson,
                    span,
                    format!("`{}` is not JSON: {e}; expected a table as JSON, {TABLE_SHAPE}", Shown(v)),
                )),
                Ok(json) => {
                    if let Some(why) = table_problem(&json) {
                        report(Problem::bad(
                            Rule::TableShape,
                            span,
                            format!("`{}` is not a table: {why}; expected {TABLE_SHAPE}", Shown(v)),
                        ));
                    }
                }
            },
        }
    }
}

/// Trims white space: (bytes cut at the start, the trimmed text). Most cells start and
/// end with a printable ASCII character and are returned as they are.
#[inline]
fn trim(text: &str) -> (usize, &str) {
    let b = text.as_bytes();
    match (b.first(), b.last()) {
        (Some(f), Some(l)) if f.is_ascii_graphic() && l.is_ascii_graphic() => (0, text),
        _ => {
            let start = text.trim_start();
            (text.len() - start.len(), start.trim_end())
        }
    }
}

const TABLE_SHAPE: &str = "`[{\"rows\":[...],\"result\":{\"__count\":N},\"view\":\"\"}]`";

/// The date of an .xlsx date cell: its ISO text, else its serial number.
pub(crate) fn date_cell(cell: Cell<'_>) -> Option<values::DateTime> {
    match values::parse_iso(cell.text.trim()) {
        Some(Ok(dt)) => Some(dt),
        _ => values::from_serial(cell.number),
    }
}

/// `name[uuid]` → (name, uuid).
pub(crate) fn split_file_ref(v: &str) -> Result<(&str, &str), &'static str> {
    let Some(inner) = v.strip_suffix(']') else {
        return Err("it does not end with `]`");
    };
    let Some(open) = inner.rfind('[') else {
        return Err("it has no `[` before the UUID");
    };
    let name = inner[..open].trim();
    let uuid = &inner[open + 1..];
    if name.is_empty() {
        return Err("it has no file name before `[`");
    }
    if !values::is_uuid(uuid) {
        return Err("the text between the brackets is not a UUID (8-4-4-4-12 hex digits)");
    }
    Ok((name, uuid))
}

/// `[uuid]` → uuid.
pub(crate) fn uuid_ref(v: &str) -> Option<&str> {
    let inner = v.strip_prefix('[')?.strip_suffix(']')?;
    values::is_uuid(inner).then_some(inner)
}

fn date_format(locale: Locale, with_time: bool) -> &'static str {
    match (locale, with_time) {
        (Locale::Ru, true) => "`dd.MM.yyyy HH:mm` (or `dd.MM.yyyy`), e.g. `04.07.1977 13:27`",
        (Locale::Ru, false) => "`dd.MM.yyyy`, e.g. `04.07.1977`",
        (Locale::En, true) => "`M/d/yyyy h:mm AM/PM` (or `M/d/yyyy`), e.g. `4/17/2022 3:27 PM`",
        (Locale::En, false) => "`M/d/yyyy`, e.g. `4/17/2022`",
    }
}

#[cold]
fn integer_problem(v: &str, span: Range<usize>, e: NumberError, locale: Locale) -> Problem {
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
fn decimal_problem(v: &str, span: Range<usize>, e: NumberError, locale: Locale, money: bool) -> Problem {
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
fn boolean_problem(v: &str, span: Range<usize>) -> Problem {
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
fn date_problem(
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
fn option_problem(v: &str, span: Range<usize>, choices: &Choices) -> Problem {
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
fn status_problem(v: &str, span: Range<usize>, choices: &Choices) -> Problem {
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
fn phone_problem(v: &str, span: Range<usize>, shape: PhoneShape) -> Problem {
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
fn uuid_ref_problem(v: &str, span: Range<usize>) -> Problem {
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

fn table_problem(json: &serde_json::Value) -> Option<String> {
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
