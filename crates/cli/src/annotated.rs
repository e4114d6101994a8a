//! The annotated workbook of `validate --annotated`: the input with every bad cell marked
//! and explained, laid out to be opened and worked through.
//!
//! Sheet "Data": the header frozen and bold with an autofilter, column widths fitted to
//! the content (capped), numbers and dates of valid cells stored as typed cells, and each
//! bad cell filled pink with a note giving the reason. Sheet "Errors": a summary at the
//! top (each count a number beside its label, the largest groups by column and rule),
//! then one line per error (row, column, header, value, rule, message) whose row number,
//! a number, links to its cell, up to [`ERRORS_LISTED`] lines (`--errors` writes them
//! all). Both sheets print landscape on A4, one page wide, their header row repeated on
//! every page. The data sheet streams in constant memory; only the listed errors are held.

use std::path::{Path, PathBuf};

use anyhow::Context;
use elma_import_contract::schema::{AppSchema, FieldType};
use elma_import_sheet::{column_letters, CellKind, Row};
use elma_import_validate::{CellError, Summary, Validator};
use rust_xlsxwriter::{Color, Format, FormatBorder, FormatPattern, Note, Url, Workbook, XlsxError};

/// Most error lines the "Errors" sheet lists.
pub const ERRORS_LISTED: usize = 10_000;
/// Widest a data column is made, in characters.
const MAX_WIDTH: usize = 60;
/// Most characters an .xlsx cell holds.
const XLSX_CELL_LIMIT: usize = 32_767;
/// Name of the data sheet (hyperlinks point into it).
const DATA: &str = "Data";

/// How a column's valid cells are stored.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Typed {
    Text,
    Number,
    DateTime,
    Date,
}

/// One line of the "Errors" sheet.
struct Listed {
    row: u64,
    column: Option<usize>,
    header: String,
    value: String,
    rule: &'static str,
    message: String,
}

/// The annotated workbook being written.
pub struct Annotated {
    path: PathBuf,
    workbook: Workbook,
    typed: Vec<Typed>,
    widths: Vec<usize>,
    next_row: u32,
    listed: Vec<Listed>,
    locale_en: bool,
    bad: Format,
    number: Format,
    datetime: Format,
    date: Format,
}

fn xl(path: &Path) -> impl Fn(XlsxError) -> anyhow::Error + '_ {
    move |e| anyhow::anyhow!("cannot write the annotated workbook `{}`: {e}", path.display())
}

impl Annotated {
    /// Starts the workbook with the header row; `locale` is `ru` or `en` (date formats).
    pub fn create(
        path: &Path,
        header: &Row,
        validator: &Validator,
        schema: &AppSchema,
        locale: elma_import_contract::Locale,
    ) -> anyhow::Result<Annotated> {
        let err = xl(path);
        let typed: Vec<Typed> = (0..header.len())
            .map(|i| {
                let field = validator.columns().get(i).and_then(|c| c.field).map(|f| &schema.fields[f]);
                match field {
                    Some(f) if f.single => match f.kind {
                        FieldType::Integer | FieldType::Float | FieldType::Money => Typed::Number,
                        FieldType::Datetime => Typed::DateTime,
                        FieldType::Date => Typed::Date,
                        _ => Typed::Text,
                    },
                    _ => Typed::Text,
                }
            })
            .collect();
        let locale_en = locale == elma_import_contract::Locale::En;
        let mut workbook = Workbook::new();
        let head = Format::new()
            .set_bold()
            .set_border(FormatBorder::Thin)
            .set_pattern(FormatPattern::Solid)
            .set_background_color(Color::RGB(0xD9E1F2));
        let sheet = workbook.add_worksheet_with_constant_memory().map_err(&err)?;
        sheet.set_name(DATA).map_err(&err)?;
        for (i, cell) in header.iter().enumerate() {
            sheet.write_string_with_format(0, col(i)?, cell.text, &head).map_err(&err)?;
        }
        sheet.set_freeze_panes(1, 0).map_err(&err)?;
        print_setup(sheet, 0).map_err(&err)?;
        Ok(Annotated {
            path: path.to_path_buf(),
            workbook,
            widths: header.iter().map(|c| c.text.chars().count() + 3).collect(),
            typed,
            next_row: 1,
            listed: Vec::new(),
            locale_en,
            bad: Format::new().set_pattern(FormatPattern::Solid).set_background_color(Color::RGB(0xFFC7CE)),
            number: Format::new(),
            datetime: Format::new().set_num_format(if locale_en {
                "m/d/yyyy h:mm AM/PM"
            } else {
                "dd.mm.yyyy hh:mm"
            }),
            date: Format::new().set_num_format(if locale_en { "m/d/yyyy" } else { "dd.mm.yyyy" }),
        })
    }

    /// Writes one data row with its errors (sorted by column, as validation gives them).
    pub fn write(&mut self, row: &Row, errors: &[CellError]) -> anyhow::Result<()> {
        let r = self.next_row;
        self.next_row += 1;
        let path = self.path.clone();
        let err = xl(&path);
        let sheet = self.workbook.worksheet_from_index(0).map_err(&err)?;
        for (i, cell) in row.iter().enumerate() {
            let c = col(i)?;
            let chars = cell.text.chars().count();
            if chars > XLSX_CELL_LIMIT {
                return Err(crate::exit::coded(
                    crate::exit::DATA,
                    anyhow::anyhow!(
                        "cannot write the annotated workbook `{}`: row {}, column {} holds {chars} characters; \
                         an .xlsx cell holds at most {XLSX_CELL_LIMIT} (--errors and --rejects-out .csv keep it whole)",
                        path.display(),
                        row.number,
                        i + 1
                    ),
                ));
            }
            if i >= self.widths.len() {
                self.widths.resize(i + 1, 8);
            }
            self.widths[i] = self.widths[i].max(chars + 1);
            let mine: Vec<&CellError> = errors.iter().filter(|e| e.column == Some(i)).collect();
            if !mine.is_empty() {
                sheet.write_string_with_format(r, c, cell.text, &self.bad).map_err(&err)?;
                let text: Vec<&str> = mine.iter().map(|e| e.message.as_str()).collect();
                let note = Note::new(text.join("\n")).set_width(360).set_height(120).add_author_prefix(false);
                sheet.insert_note(r, c, &note).map_err(&err)?;
                continue;
            }
            if cell.kind == CellKind::Empty {
                continue;
            }
            let typed = self.typed.get(i).copied().unwrap_or(Typed::Text);
            match typed_value(typed, cell.kind, cell.text, cell.number, self.locale_en) {
                Some(n) => {
                    let format = match typed {
                        Typed::DateTime => &self.datetime,
                        Typed::Date => &self.date,
                        _ => &self.number,
                    };
                    sheet.write_number_with_format(r, c, n, format).map_err(&err)?;
                }
                None => {
                    sheet.write_string(r, c, cell.text).map_err(&err)?;
                }
            }
        }
        // Errors of cells past the row's end (a missing required cell) still get a mark.
        for e in errors.iter().filter(|e| e.column.is_some_and(|c| c >= row.len())) {
            let c = col(e.column.unwrap_or(0))?;
            sheet.write_string_with_format(r, c, "", &self.bad).map_err(&err)?;
            sheet.insert_note(r, c, &Note::new(&e.message).add_author_prefix(false)).map_err(&err)?;
        }
        for e in errors {
            if self.listed.len() < ERRORS_LISTED {
                self.listed.push(Listed {
                    row: e.row,
                    column: e.column,
                    header: e.header.clone(),
                    value: cut(&e.value),
                    rule: e.rule.as_str(),
                    message: cut(&e.message),
                });
            }
        }
        Ok(())
    }

    /// Fits the columns, adds the autofilter and the "Errors" sheet, and saves.
    pub fn finish(mut self, summary: &Summary, top: usize) -> anyhow::Result<()> {
        let path = self.path.clone();
        let err = xl(&path);
        let last_row = self.next_row.saturating_sub(1);
        let columns = self.widths.len();
        {
            let sheet = self.workbook.worksheet_from_index(0).map_err(&err)?;
            for (i, w) in self.widths.iter().enumerate() {
                let width = (*w).clamp(6, MAX_WIDTH);
                sheet.set_column_width(col(i)?, width as f64).map_err(&err)?;
            }
            if columns > 0 {
                sheet.autofilter(0, 0, last_row, col(columns - 1)?).map_err(&err)?;
            }
        }
        let bold = Format::new().set_bold();
        let head = Format::new()
            .set_bold()
            .set_border(FormatBorder::Thin)
            .set_pattern(FormatPattern::Solid)
            .set_background_color(Color::RGB(0xD9E1F2));
        let errors = self.workbook.add_worksheet();
        errors.set_name("Errors").map_err(&err)?;
        errors.write_string_with_format(0, 0, "Summary", &bold).map_err(&err)?;
        let verdict = if summary.is_valid() { "valid" } else { "NOT valid" };
        errors.write_string_with_format(0, 3, verdict, &bold).map_err(&err)?;
        // Counts are numbers, in the listing's widest column (its labels run over the
        // empty cells before it).
        let counts = [
            ("rows checked", summary.rows),
            ("valid rows", summary.valid),
            ("invalid rows", summary.invalid),
            ("errors", summary.errors),
            ("fixable with `elma-import fix`", summary.fixable),
        ];
        for (i, (label, n)) in counts.iter().enumerate() {
            let r = 1 + i as u32;
            errors.write_string(r, 0, *label).map_err(&err)?;
            errors.write_number(r, 3, *n as f64).map_err(&err)?;
        }
        let groups = summary.top(top);
        let mut r = 1 + counts.len() as u32;
        if !groups.is_empty() {
            r += 1;
            // The largest groups, in the listing's columns: first row, header, count, rule,
            // first message.
            for (c, h) in [(0, "first row"), (2, "header"), (3, "count"), (4, "rule"), (5, "first message")] {
                errors.write_string_with_format(r, c, h, &bold).map_err(&err)?;
            }
            r += 1;
            for g in groups {
                errors.write_number(r, 0, g.first_row as f64).map_err(&err)?;
                errors.write_string(r, 2, &g.header).map_err(&err)?;
                errors.write_number(r, 3, g.count as f64).map_err(&err)?;
                errors.write_string(r, 4, g.rule.as_str()).map_err(&err)?;
                errors.write_string(r, 5, &g.example).map_err(&err)?;
                r += 1;
            }
        }
        if summary.errors > self.listed.len() as u64 {
            errors
                .write_string(
                    r,
                    0,
                    format!(
                        "The first {} errors are listed below; `elma-import validate --errors FILE` writes all {}.",
                        self.listed.len(),
                        summary.errors
                    ),
                )
                .map_err(&err)?;
            r += 1;
        }
        let table = r + 1;
        for (c, h) in LISTING.iter().enumerate() {
            errors.write_string_with_format(table, col(c)?, *h, &head).map_err(&err)?;
        }
        let link = Format::new().set_hyperlink();
        let mut r = table + 1;
        for e in &self.listed {
            let letters = e.column.map(column_letters).unwrap_or_default();
            let target =
                format!("internal:'{DATA}'!{}{}", if letters.is_empty() { "A" } else { &letters }, e.row);
            // The row number is a number (it sorts as one) that links to its cell: the
            // link is written first, then the cell's value replaced by the number.
            errors.write_url_with_text(r, 0, Url::new(target), e.row.to_string()).map_err(&err)?;
            errors.write_number_with_format(r, 0, e.row as f64, &link).map_err(&err)?;
            errors.write_string(r, 1, &letters).map_err(&err)?;
            errors.write_string(r, 2, &e.header).map_err(&err)?;
            errors.write_string(r, 3, &e.value).map_err(&err)?;
            errors.write_string(r, 4, e.rule).map_err(&err)?;
            errors.write_string(r, 5, &e.message).map_err(&err)?;
            r += 1;
        }
        errors.set_freeze_panes(table + 1, 0).map_err(&err)?;
        if !self.listed.is_empty() {
            errors.autofilter(table, 0, r - 1, col(LISTING.len() - 1)?).map_err(&err)?;
        }
        for (c, w) in [9.0, 8.0, 22.0, 28.0, 18.0, 90.0].iter().enumerate() {
            errors.set_column_width(col(c)?, *w).map_err(&err)?;
        }
        print_setup(errors, table).map_err(&err)?;
        let path = self.path.clone();
        let io = |e: std::io::Error| anyhow::anyhow!("cannot write `{}`: {e}", path.display());
        elma_import_sheet::write_by_name(&path, io, |tmp| self.workbook.save(tmp).map_err(&err))
            .with_context(|| "saving".to_string())?;
        Ok(())
    }
}

/// The columns of the "Errors" sheet's listing (`--errors`'s, but `fix` and `source`).
const LISTING: [&str; 6] = ["row", "column", "header", "value", "rule", "message"];

/// Print setup: landscape A4, every column on one page's width (as many pages down as
/// it takes), the header row (`header_row`) repeated on every page, gridlines printed.
fn print_setup(sheet: &mut rust_xlsxwriter::Worksheet, header_row: u32) -> Result<(), XlsxError> {
    sheet.set_landscape();
    sheet.set_paper_size(9);
    sheet.set_print_fit_to_pages(1, 0);
    sheet.set_print_gridlines(true);
    sheet.set_footer("&L&A&RPage &P of &N");
    sheet.set_repeat_rows(header_row, header_row)?;
    Ok(())
}

/// Text cut to what a listing cell shows (a workbook cell holds at most 32,767).
fn cut(text: &str) -> String {
    const SHOWN: usize = 1_000;
    match text.char_indices().nth(SHOWN) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_string(),
    }
}

fn col(i: usize) -> anyhow::Result<u16> {
    u16::try_from(i).map_err(|_| anyhow::anyhow!("column {} is beyond the last column of a worksheet", i + 1))
}

/// The number a valid cell is stored as, when its column is typed: a number, or an Excel
/// date serial for dates (from an .xlsx date cell or the locale's text form).
fn typed_value(typed: Typed, kind: CellKind, text: &str, number: f64, en: bool) -> Option<f64> {
    match (typed, kind) {
        (Typed::Text, _) => None,
        (Typed::Number, CellKind::Number) => Some(number),
        (Typed::Number, _) => text.trim().replace(',', ".").parse::<f64>().ok().filter(|n| n.is_finite()),
        (Typed::DateTime | Typed::Date, CellKind::Date | CellKind::Number) => Some(number),
        (Typed::DateTime | Typed::Date, _) => date_serial(text.trim(), en),
    }
}

/// Excel's serial of a date or date-time written in the locale's form (docs/formats.md):
/// `dd.MM.yyyy[ HH:mm[:ss]]` (ru) or `M/d/yyyy[ h:mm[:ss] AM/PM]` (en).
fn date_serial(text: &str, en: bool) -> Option<f64> {
    use chrono::{NaiveDate, NaiveDateTime};
    let (with_time, date_only): (&[&str], &str) = if en {
        (&["%m/%d/%Y %I:%M %p", "%m/%d/%Y %I:%M:%S %p"], "%m/%d/%Y")
    } else {
        (&["%d.%m.%Y %H:%M", "%d.%m.%Y %H:%M:%S"], "%d.%m.%Y")
    };
    let at = with_time
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(text, f).ok())
        .or_else(|| NaiveDate::parse_from_str(text, date_only).ok().and_then(|d| d.and_hms_opt(0, 0, 0)))?;
    let epoch = NaiveDate::from_ymd_opt(1899, 12, 30)?.and_hms_opt(0, 0, 0)?;
    let secs = (at - epoch).num_seconds() as f64;
    Some(secs / 86_400.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_of_either_locale_become_excel_serials_and_numbers_numbers() {
        assert_eq!(date_serial("04.07.1977 13:27", false), Some(28_310.0 + (13.0 * 60.0 + 27.0) / 1440.0));
        assert_eq!(date_serial("7/4/1977 1:27 PM", true), date_serial("04.07.1977 13:27", false));
        assert_eq!(date_serial("04.07.1977", false), Some(28_310.0));
        assert_eq!(date_serial("1977-07-04", false), None);
        assert_eq!(typed_value(Typed::Number, CellKind::Text, "27,5", 0.0, false), Some(27.5));
        assert_eq!(typed_value(Typed::Number, CellKind::Text, "n/a", 0.0, false), None);
        assert_eq!(typed_value(Typed::Text, CellKind::Text, "27", 0.0, false), None);
    }
}
