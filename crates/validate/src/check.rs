//! Compiled per-column rules and the cell checks.
//!
//! A valid cell costs a trim and one hand-written parse; nothing is allocated until a
//! problem is reported.

use std::ops::Range;

use elma_import_contract::schema::{Field, FieldType};
use elma_import_sheet::{Cell, CellKind};

use crate::choices::Choices;
use crate::problem::{
    boolean_problem, date_format, date_problem, decimal_problem, integer_problem, option_problem,
    phone_problem, status_problem, table_problem, uuid_ref_problem, Problem, TABLE_SHAPE,
};
use crate::rules::{ColumnName, Rule, Shown};
use crate::values::{self, date_cell, split_file_ref, uuid_ref, PhoneShape};
use crate::Locale;

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
