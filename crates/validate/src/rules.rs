//! Rules, errors and fixes: what validation reports.

use serde::{Serialize, Serializer};

/// The rule a cell broke. Serialises as [`Rule::as_str`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Rule {
    /// A required field's cell is empty.
    Required,
    /// A non-blank cell lies beyond the header's last column.
    ExtraCell,
    /// A cell under an empty header cell holds data: the file's layout is wrong.
    DataUnderEmptyHeader,
    /// An .xlsx error cell (`#N/A`, `#DIV/0!`, …).
    ErrorCell,
    /// An .xlsx formula with no cached value.
    FormulaWithoutValue,
    /// A value of a multi-value cell is empty (`a,,b`).
    EmptyValue,
    /// Text over the field's length limit.
    TooLong,
    /// A line break in a one-line (STRING) field.
    LineBreak,
    /// Not a whole number.
    NotAnInteger,
    /// Not a number in the locale's format.
    NotANumber,
    /// A number too big for its field.
    NumberOutOfRange,
    /// `yes`, `no`, `да`, `нет`, `1`, `0` in a BOOLEAN field (fixable).
    BooleanWord,
    /// Not `true` or `false`.
    NotABoolean,
    /// An ISO date (`2001-02-03`) where the locale's format is expected (fixable).
    IsoDate,
    /// Not a date in the locale's format.
    NotADate,
    /// In the format, but no such day or time (`31.02.2001`).
    InvalidDate,
    /// An option's code instead of its name (fixable).
    OptionCode,
    /// An option's name in a different letter case (fixable).
    OptionCase,
    /// Not an option of the category.
    UnknownOption,
    /// Not a status of the app.
    UnknownStatus,
    /// A phone with `+`, spaces, brackets or dashes (fixable).
    PhoneFormat,
    /// Not a phone of 10 to 15 digits.
    NotAPhone,
    /// Not `name@domain`.
    NotAnEmail,
    /// Not an absolute http(s) URL.
    NotALink,
    /// Not `name[uuid]`.
    NotAFileRef,
    /// A UUID without its brackets (fixable).
    BareUuid,
    /// Not `[uuid]`.
    NotAUuidRef,
    /// Not valid JSON.
    NotJson,
    /// JSON, but not the shape of a table.
    TableShape,
}

impl Rule {
    /// The rule's stable snake_case name, as `--json` output shows it.
    pub fn as_str(self) -> &'static str {
        match self {
            Rule::Required => "required",
            Rule::ExtraCell => "extra_cell",
            Rule::DataUnderEmptyHeader => "data_under_empty_header",
            Rule::ErrorCell => "error_cell",
            Rule::FormulaWithoutValue => "formula_without_value",
            Rule::EmptyValue => "empty_value",
            Rule::TooLong => "too_long",
            Rule::LineBreak => "line_break",
            Rule::NotAnInteger => "not_an_integer",
            Rule::NotANumber => "not_a_number",
            Rule::NumberOutOfRange => "number_out_of_range",
            Rule::BooleanWord => "boolean_word",
            Rule::NotABoolean => "not_a_boolean",
            Rule::IsoDate => "iso_date",
            Rule::NotADate => "not_a_date",
            Rule::InvalidDate => "invalid_date",
            Rule::OptionCode => "option_code",
            Rule::OptionCase => "option_case",
            Rule::UnknownOption => "unknown_option",
            Rule::UnknownStatus => "unknown_status",
            Rule::PhoneFormat => "phone_format",
            Rule::NotAPhone => "not_a_phone",
            Rule::NotAnEmail => "not_an_email",
            Rule::NotALink => "not_a_link",
            Rule::NotAFileRef => "not_a_file_ref",
            Rule::BareUuid => "bare_uuid",
            Rule::NotAUuidRef => "not_a_uuid_ref",
            Rule::NotJson => "not_json",
            Rule::TableShape => "table_shape",
        }
    }

    /// Whether the mistake has one unambiguous canonical form that `fix` writes.
    pub fn is_fixable(self) -> bool {
        matches!(
            self,
            Rule::BooleanWord
                | Rule::IsoDate
                | Rule::OptionCode
                | Rule::OptionCase
                | Rule::PhoneFormat
                | Rule::BareUuid
        )
    }

    /// Whether the error means the file's layout is wrong rather than one value.
    pub fn is_file_level(self) -> bool {
        matches!(self, Rule::DataUnderEmptyHeader)
    }
}

impl std::fmt::Display for Rule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Rule {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// One problem with one cell (or, for [`Rule::ExtraCell`], with a row).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CellError {
    /// Spreadsheet row number (header = 1).
    pub row: u64,
    /// 0-based column index (`0` is column A); messages show it 1-based with its letter.
    pub column: Option<usize>,
    /// The column's header as written in the file (trimmed); empty for a column without one.
    pub header: String,
    /// The cell's text as read.
    pub value: String,
    /// The rule broken.
    pub rule: Rule,
    /// What is wrong and what is expected, naming the value in backticks.
    pub message: String,
    /// For a fixable mistake: the cell's text after `fix` (`None` when some other value
    /// in the same cell cannot be fixed).
    pub fix: Option<String>,
}

impl std::fmt::Display for CellError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "row {}", self.row)?;
        if let Some(column) = self.column {
            write!(f, ", column {}", ColumnName(column))?;
            if !self.header.is_empty() {
                write!(f, " `{}`", self.header)?;
            }
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for CellError {}

/// One rewrite `fix` made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Fix {
    /// Spreadsheet row number (header = 1).
    pub row: u64,
    /// 0-based column index.
    pub column: usize,
    /// The column's header.
    pub header: String,
    /// The cell's text before.
    pub before: String,
    /// The cell's text after.
    pub after: String,
    /// The (fixable) rule the cell broke; the first one when several values were fixed.
    pub rule: Rule,
}

/// Shows a 0-based column index as `3 (C)`.
pub(crate) struct ColumnName(pub usize);

impl std::fmt::Display for ColumnName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.0 + 1, elma_import_sheet::column_letters(self.0))
    }
}

/// Shows a value, cut to its first 80 characters and `…` when longer.
pub(crate) struct Shown<'a>(pub &'a str);

/// How many characters of a value messages show.
pub(crate) const SHOWN_CHARS: usize = 80;

impl std::fmt::Display for Shown<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0.char_indices().nth(SHOWN_CHARS) {
            Some((cut, _)) => write!(f, "{}…", &self.0[..cut]),
            None => f.write_str(self.0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn column_names_have_letters() {
        assert_eq!(ColumnName(0).to_string(), "1 (A)");
        assert_eq!(ColumnName(25).to_string(), "26 (Z)");
        assert_eq!(ColumnName(26).to_string(), "27 (AA)");
        assert_eq!(ColumnName(16_383).to_string(), "16384 (XFD)");
    }

    #[test]
    fn long_values_are_cut_in_messages() {
        let long = "я".repeat(200);
        let shown = Shown(&long).to_string();
        assert_eq!(shown.chars().count(), SHOWN_CHARS + 1);
        assert!(shown.ends_with('…'));
        assert_eq!(Shown("short").to_string(), "short");
    }

    #[test]
    fn rules_serialise_as_snake_case() {
        assert_eq!(serde_json::to_string(&Rule::NotANumber).unwrap(), "\"not_a_number\"");
        assert_eq!(Rule::UnknownOption.to_string(), "unknown_option");
        assert!(Rule::BooleanWord.is_fixable());
        assert!(!Rule::NotABoolean.is_fixable());
    }
}
