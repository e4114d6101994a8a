//! Validation of import files against an ELMA365 app schema (docs/formats.md).
//!
//! A [`Validator`] is compiled once from the app's schema and the file's header row:
//! header problems (a required field without a column, an unknown column, two columns
//! for one field, an ACCOUNT column) are all reported at once as [`HeaderErrors`]. Then
//! every data row is checked cell by cell against its column's compiled rule, with
//! hand-written parsers and no allocation for a valid row, so a batch checks at well
//! over a million rows a second; [`Validator::check_rows`] spreads a batch over the
//! cores with rayon and returns exactly what checking row by row would.
//!
//! Mistakes with one unambiguous canonical form (`yes` in a BOOLEAN, an ISO date, an
//! option's code instead of its name, a decorated phone, a bare UUID) are reported with
//! the proposed rewrite, and [`Validator::fix_row`] applies them. Nothing is guessed:
//! `01.02.2003` under locale `en` stays an error.
//!
//! Fields with `single: false` take several values separated by commas, each checked on
//! its own (TABLE and JSON cells are never split); in such number fields write decimals
//! with `.`, since `,` separates values.
//!
//! [`Validator::to_item`] turns a valid row into the item JSON the platform stores, and
//! [`Summary`] counts errors by column and rule for reports.
//!
//! ```
//! use elma_import_contract::schema::AppSchema;
//! use elma_import_sheet::Row;
//! use elma_import_validate::{Options, Rule, Validator};
//!
//! let app = AppSchema::from_json(r#"{"namespace":"crm","code":"contacts","fields":[
//!     {"code":"__name","name":"Name","type":"STRING","required":true},
//!     {"code":"active","name":"Active","type":"BOOLEAN"}]}"#).unwrap();
//! let header = Row::from_texts(1, ["Name", "active"]);
//! let validator = Validator::new(&app, &header, &Options::default()).unwrap();
//!
//! let mut errors = Vec::new();
//! validator.check_row(&Row::from_texts(2, ["Anna", "true"]), &mut errors);
//! assert!(errors.is_empty());
//!
//! validator.check_row(&Row::from_texts(3, ["", "да"]), &mut errors);
//! assert_eq!(errors[0].rule, Rule::Required);
//! assert_eq!(errors[1].rule, Rule::BooleanWord);
//! assert_eq!(errors[1].fix.as_deref(), Some("true"));
//!
//! let (fixed, fixes) = validator.fix_row(&Row::from_texts(4, ["Bob", "no"])).unwrap();
//! assert_eq!(fixed.get(1).text, "false");
//! assert_eq!(fixes.len(), 1);
//! let item = validator.to_item(&fixed).unwrap();
//! assert_eq!(item["active"], serde_json::json!(false));
//! ```

mod check;
mod choices;
mod header;
mod item;
mod problem;
mod rules;
mod summary;
mod values;

pub use header::{expected_headers, ColumnMap, HeaderError, HeaderErrors, MapUnused};
pub use rules::{CellError, Fix, Rule};
pub use summary::{RuleCount, Summary};

use elma_import_contract::schema::{AppSchema, Field, FieldType};
pub use elma_import_contract::zone::{TimeZone, UnknownTimeZone};
use elma_import_sheet::{Cell, CellKind, Reader, Row, SheetError, Worked};
use rayon::prelude::*;

pub use elma_import_contract::{Locale, UnknownLocale};

/// How to validate.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Options {
    /// The locale of dates and numbers.
    pub locale: Locale,
    /// Skip columns that name no field instead of rejecting the file.
    pub ignore_unknown: bool,
    /// The zone date-time cells are read in ([`Validator::to_item`] writes them with its
    /// offset); the machine's zone by default.
    pub time_zone: TimeZone,
}

/// One column of the file, as the header row names it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Column {
    /// 0-based column index.
    pub index: usize,
    /// The header cell's text, trimmed.
    pub header: String,
    /// The field it names (index into the schema's fields); `None` for an ignored
    /// unknown column or a column without a header.
    pub field: Option<usize>,
}

/// Rows checked per rayon task: big enough to amortise scheduling, small enough to
/// balance a batch of a few thousand rows over two cores.
const PAR_CHUNK_ROWS: usize = 512;

/// The compiled rules of one file: schema + header row. `Send + Sync`; share it.
#[derive(Debug, Clone)]
pub struct Validator {
    columns: Vec<Column>,
    rules: Vec<check::ColumnRule>,
    locale: Locale,
    time_zone: TimeZone,
    fields: Vec<Field>,
}

impl Validator {
    /// Compiles the rules of every column, or reports every header problem at once.
    pub fn new(schema: &AppSchema, header: &Row, options: &Options) -> Result<Validator, HeaderErrors> {
        let (columns, rules) = header::compile(schema, header, options)?;
        Ok(Validator {
            columns,
            rules,
            locale: options.locale,
            time_zone: options.time_zone,
            fields: schema.fields.clone(),
        })
    }

    /// The file's columns, in order.
    pub fn columns(&self) -> &[Column] {
        &self.columns
    }

    /// The locale validation uses.
    pub fn locale(&self) -> Locale {
        self.locale
    }

    /// The zone date-time cells are read in.
    pub fn time_zone(&self) -> TimeZone {
        self.time_zone
    }

    /// Checks one row, appending its errors (by column) to `out`. A row whose cells are
    /// all blank is skipped. Allocates nothing when the row is valid.
    pub fn check_row(&self, row: &Row, out: &mut Vec<CellError>) {
        if row.is_blank() {
            return;
        }
        for (ci, rule) in self.rules.iter().enumerate() {
            let cell = row.get(ci);
            let mut problems: Vec<problem::Problem> = Vec::new();
            rule.check_cell(cell, self.locale, &mut |p| problems.push(p));
            if !problems.is_empty() {
                self.emit(row.number, ci, cell.text, problems, out);
            }
        }
        if row.len() > self.rules.len() {
            self.check_extra_cells(row, out);
        }
    }

    /// Checks a batch of rows on all cores; the result equals calling
    /// [`Validator::check_row`] on each row in order.
    pub fn check_rows(&self, rows: &[Row]) -> Vec<CellError> {
        if rows.len() <= PAR_CHUNK_ROWS {
            let mut out = Vec::new();
            rows.iter().for_each(|r| self.check_row(r, &mut out));
            return out;
        }
        let parts: Vec<Vec<CellError>> = rows
            .par_chunks(PAR_CHUNK_ROWS)
            .map(|chunk| {
                let mut out = Vec::new();
                chunk.iter().for_each(|r| self.check_row(r, &mut out));
                out
            })
            .collect();
        let mut out = Vec::with_capacity(parts.iter().map(Vec::len).sum());
        parts.into_iter().for_each(|p| out.extend(p));
        out
    }

    /// Has `reader` check each batch on the thread that parses it (see
    /// [`Reader::set_work`]): for a large .csv, checking then runs beside parsing on every
    /// core. Read the batches with [`Validator::next_checked`] of this validator.
    pub fn check_while_reading(&self, reader: &mut Reader) {
        let me = std::sync::Arc::new(self.clone());
        reader.set_work(std::sync::Arc::new(move |rows: &[Row]| {
            let mut errors = Vec::new();
            rows.iter().for_each(|r| me.check_row(r, &mut errors));
            Box::new(Checked { first: rows.first().map_or(0, |r| r.number), errors }) as Worked
        }));
    }

    /// The next batch of `reader` and its errors, exactly as [`Validator::check_rows`]
    /// finds them: checked already by the reader's threads when
    /// [`Validator::check_while_reading`] set them to, else now.
    ///
    /// # Errors
    /// As [`Reader::next_batch`].
    pub fn next_checked(&self, reader: &mut Reader) -> Result<Option<CheckedBatch>, SheetError> {
        let Some((rows, worked)) = reader.next_worked()? else { return Ok(None) };
        let errors = match worked.and_then(|w| w.downcast::<Checked>().ok()) {
            Some(checked) => {
                // Checked before the rows of earlier ranges were counted.
                let shift = rows.first().map_or(0, |r| r.number).saturating_sub(checked.first);
                let mut errors = checked.errors;
                if shift > 0 {
                    errors.iter_mut().for_each(|e| e.row += shift);
                }
                errors
            }
            None => self.check_rows(&rows),
        };
        Ok(Some((rows, errors)))
    }

    /// Rewrites the row's fixable cells (see [`Rule::is_fixable`]); `None` when there is
    /// nothing to fix. A cell is rewritten only when every value in it becomes valid;
    /// ambiguous values are never guessed and stay as they are.
    pub fn fix_row(&self, row: &Row) -> Option<(Row, Vec<Fix>)> {
        if row.is_blank() {
            return None;
        }
        let mut fixes = Vec::new();
        for (ci, rule) in self.rules.iter().enumerate() {
            let cell = row.get(ci);
            let mut problems: Vec<problem::Problem> = Vec::new();
            rule.check_cell(cell, self.locale, &mut |p| problems.push(p));
            if let Some(after) = problem::cell_fix(cell.text, &problems) {
                // `cell_fix` answers only when every problem is fixable, so there is one.
                let first = problems.first().map_or(Rule::Required, |p| p.rule);
                fixes.push(Fix {
                    row: row.number,
                    column: ci,
                    header: self.columns[ci].header.clone(),
                    before: cell.text.to_string(),
                    after,
                    rule: first,
                });
            }
        }
        if fixes.is_empty() {
            return None;
        }
        let mut fixed = Row::with_capacity(row.number, row.len(), row.text_len() + 16);
        let mut next = fixes.iter().peekable();
        for (i, cell) in row.iter().enumerate() {
            match next.peek() {
                Some(fix) if fix.column == i => {
                    fixed.push_text(&fix.after);
                    next.next();
                }
                _ => fixed.push(cell.kind, cell.text, cell.number),
            }
        }
        Some((fixed, fixes))
    }

    /// The row as a .csv chunk carries it: a date cell of an .xlsx holds ISO text
    /// (`2024-01-31T13:27:00`), which the platform does not read in a .csv, so every date
    /// cell of a date or date-time column is written the locale's way (`31.01.2024 13:27`;
    /// a date column's, and a date-time at midnight, without the time). `None` when the
    /// row has no such cell (a .csv source never has). A date-time with seconds is written
    /// without them: [`Validator::check_csv_dates`] reports it before anything is sent.
    pub fn csv_row(&self, row: &Row) -> Option<Row> {
        if !row.iter().enumerate().any(|(ci, cell)| self.date_column(ci, cell).is_some()) {
            return None;
        }
        let mut out = Row::with_capacity(row.number, row.len(), row.text_len() + 16);
        for (ci, cell) in row.iter().enumerate() {
            let text = self.date_column(ci, cell).and_then(|with_time| {
                let dt = values::date_cell(cell)?;
                let at_midnight = (dt.hour, dt.minute, dt.second) == (0, 0, 0);
                Some(dt.format(self.locale, with_time && !at_midnight))
            });
            match text {
                Some(t) => out.push_text(&t),
                None => out.push(cell.kind, cell.text, cell.number),
            }
        }
        Some(out)
    }

    /// For a date cell of a date-time (`true`) or date (`false`) column: which; `None` for
    /// any other cell.
    fn date_column(&self, ci: usize, cell: Cell<'_>) -> Option<bool> {
        match self.rules.get(ci).filter(|_| cell.kind == CellKind::Date)?.kind {
            check::Kind::DateTime => Some(true),
            check::Kind::Date => Some(false),
            _ => None,
        }
    }

    /// The date cells a .csv chunk cannot carry (see [`Validator::csv_row`]): a date-time
    /// with seconds, which the locale's text (`dd.MM.yyyy HH:mm`) cannot hold. One error
    /// a cell, by column, for the rows' errors file.
    pub fn check_csv_dates(&self, row: &Row) -> Vec<CellError> {
        let mut out = Vec::new();
        for (ci, cell) in row.iter().enumerate() {
            if self.date_column(ci, cell) != Some(true) {
                continue;
            }
            if values::date_cell(cell).is_some_and(|dt| dt.second != 0) {
                out.push(CellError {
                    row: row.number,
                    column: Some(ci),
                    header: self.columns[ci].header.clone(),
                    value: cell.text.to_string(),
                    rule: Rule::NotADate,
                    message: format!(
                        "the date cell `{}` has seconds, which a .csv chunk cannot hold (locale {} \
                         writes `{}`): send .xlsx chunks (`--chunk-format xlsx`) or round the cell \
                         to the minute",
                        cell.text,
                        self.locale,
                        match self.locale {
                            Locale::Ru => "dd.MM.yyyy HH:mm",
                            Locale::En => "M/d/yyyy h:mm AM/PM",
                        }
                    ),
                    fix: None,
                });
            }
        }
        out
    }

    /// The item JSON of a row, keyed by field code, in the shapes the platform stores
    /// (docs/platform.md §7: money `{cents, currency}`, phones and e-mails arrays of `{type, …}`,
    /// categories arrays of `{code, name}`, date-times RFC 3339 in the options' time zone,
    /// links and files arrays of ids); the row's errors when it does not pass
    /// [`Validator::check_row`]. Empty cells are left out.
    pub fn to_item(&self, row: &Row) -> Result<serde_json::Map<String, serde_json::Value>, Vec<CellError>> {
        let mut errors = Vec::new();
        self.check_row(row, &mut errors);
        if !errors.is_empty() {
            return Err(errors);
        }
        let mut map = serde_json::Map::new();
        for (ci, rule) in self.rules.iter().enumerate() {
            let Some(field) = self.columns[ci].field else { continue };
            let cell = row.get(ci);
            let how = item::Reading { field: &self.fields[field], locale: self.locale, zone: self.time_zone };
            match item::cell_value(rule, cell, how) {
                Ok(Some(value)) => {
                    map.insert(self.fields[field].code.clone(), value);
                }
                Ok(None) => {}
                Err(message) => errors.push(self.error(row.number, ci, cell.text, rule.main_rule(), message)),
            }
        }
        if errors.is_empty() {
            Ok(map)
        } else {
            Err(errors)
        }
    }

    fn error(&self, row: u64, ci: usize, value: &str, rule: Rule, message: String) -> CellError {
        CellError {
            row,
            column: Some(ci),
            header: self.columns[ci].header.clone(),
            value: value.to_string(),
            rule,
            message,
            fix: None,
        }
    }

    #[cold]
    fn emit(
        &self,
        row: u64,
        ci: usize,
        text: &str,
        problems: Vec<problem::Problem>,
        out: &mut Vec<CellError>,
    ) {
        let fix = problem::cell_fix(text, &problems);
        for p in problems {
            let mut e = self.error(row, ci, text, p.rule, p.message);
            if p.rule.is_fixable() {
                e.fix.clone_from(&fix);
            }
            out.push(e);
        }
    }

    #[cold]
    fn check_extra_cells(&self, row: &Row, out: &mut Vec<CellError>) {
        let width = self.rules.len();
        let extra: Vec<usize> = (width..row.len()).filter(|&i| !row.get(i).is_blank()).collect();
        let Some(&first) = extra.first() else { return };
        let value = row.get(first).text;
        let message = format!(
            "`{}` in column {} lies beyond the header's {} column(s){}: give the column a header \
             or remove the data",
            rules::Shown(value.trim()),
            rules::ColumnName(first),
            width,
            if extra.len() > 1 {
                format!(" ({} cells past the header hold values)", extra.len())
            } else {
                String::new()
            }
        );
        out.push(CellError {
            row: row.number,
            column: Some(first),
            header: String::new(),
            value: value.to_string(),
            rule: Rule::ExtraCell,
            message,
            fix: None,
        });
    }
}

/// A batch of rows and the errors found in them, in row order.
pub type CheckedBatch = (Vec<Row>, Vec<CellError>);

/// What a reader's thread found in a batch ([`Validator::check_while_reading`]).
struct Checked {
    /// The number the batch's first row had when it was checked.
    first: u64,
    errors: Vec<CellError>,
}

/// Whether a field of this type may be imported at all.
pub(crate) fn importable(kind: FieldType) -> bool {
    kind != FieldType::Account
}
