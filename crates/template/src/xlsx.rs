//! The .xlsx template.

use std::path::Path;

use elma_import_contract::schema::AppSchema;
use rust_xlsxwriter::{
    Color, DataValidation, DataValidationErrorStyle, DocProperties, ExcelDateTime, Format, FormatBorder,
    FormatPattern, Formula, Note, Workbook, Worksheet, XlsxError,
};

use crate::spec::{skipped_fields, ColumnSpec, Locale, TemplateOptions};
use crate::{importable_specs, TemplateError, TemplateInfo};

/// Excel's limit on an inline drop-down list, in UTF-16 units including the commas.
const INLINE_LIST_LIMIT: usize = 255;
/// Last row index (0-based) of a worksheet: validations cover the whole column.
const LAST_ROW: u32 = 1_048_575;
/// Excel's longest sheet name.
const SHEET_NAME_MAX: usize = 31;
/// Name of the hidden sheet holding long drop-down lists.
const LISTS_SHEET: &str = "Lists";
const MIN_WIDTH: f64 = 10.0;
const MAX_WIDTH: f64 = 50.0;

/// Writes an .xlsx template: header row of display names (bold; required ones filled
/// and marked in the note), a note on every header cell, the example row when asked,
/// drop-down lists for ENUM options and STATUS names (on a hidden `Lists` sheet when
/// longer than Excel's 255-character inline limit or when a name holds a comma),
/// column widths fitting header and example, a frozen header row, text-formatted
/// columns for everything but numbers and dates, and print setup (landscape, one page
/// wide, the header row repeated on every page).
///
/// The file's creation time is fixed, so the same schema and options give the same
/// bytes.
pub fn write_xlsx(
    schema: &AppSchema,
    path: &Path,
    options: &TemplateOptions,
) -> Result<TemplateInfo, TemplateError> {
    let specs = importable_specs(schema, options)?;
    let language = options.language_for(schema);
    let xl = |source: XlsxError| TemplateError::Xlsx { path: path.to_path_buf(), source };
    let mut workbook = Workbook::new();
    let created = ExcelDateTime::from_ymd(2024, 1, 1).map_err(xl)?;
    let title =
        format!("{} import template", if schema.name.is_empty() { schema.id() } else { schema.name.clone() });
    workbook.set_properties(&DocProperties::new().set_title(title).set_creation_datetime(&created));

    let data_name = sheet_name(&schema.name);
    let lists_name = if data_name.eq_ignore_ascii_case(LISTS_SHEET) { "Lists_" } else { LISTS_SHEET };
    let mut sheet = Worksheet::new();
    sheet.set_name(&data_name).map_err(xl)?;
    let mut lists = Worksheet::new();
    lists.set_name(lists_name).map_err(xl)?;
    let mut lists_used = 0u16;

    let header = Format::new()
        .set_bold()
        .set_border(FormatBorder::Thin)
        .set_pattern(FormatPattern::Solid)
        .set_background_color(Color::RGB(0xD9E1F2));
    let header_required = Format::new()
        .set_bold()
        .set_border(FormatBorder::Thin)
        .set_pattern(FormatPattern::Solid)
        .set_background_color(Color::RGB(0xFFD966));
    // Built-in number format 49 is Text ("@").
    let text = Format::new().set_num_format_index(49);
    let general = Format::new();

    let mut drop_downs = 0;
    for (c, spec) in specs.iter().enumerate() {
        let col = u16::try_from(c).map_err(|_| xl(XlsxError::RowColumnLimitError))?;
        let cell_format = if spec.text_format { &text } else { &general };
        if spec.text_format {
            sheet.set_column_format(col, &text).map_err(xl)?;
        }
        let head_format = if spec.required { &header_required } else { &header };
        sheet.write_string_with_format(0, col, &spec.header, head_format).map_err(xl)?;
        sheet.insert_note(0, col, &note(spec)).map_err(xl)?;
        if options.example_rows {
            if let Some(n) = spec.example_number {
                sheet.write_number_with_format(1, col, n, cell_format).map_err(xl)?;
            } else if !spec.example.is_empty() {
                sheet.write_string_with_format(1, col, &spec.example, cell_format).map_err(xl)?;
            }
        }
        sheet.set_column_width(col, width(spec)).map_err(xl)?;

        if !spec.allowed.is_empty() {
            let inline = spec.allowed.iter().all(|v| !v.contains(',') && !v.contains('"'))
                && spec.allowed.iter().map(|v| v.encode_utf16().count()).sum::<usize>() + spec.allowed.len()
                    - 1
                    <= INLINE_LIST_LIMIT;
            let mut validation = if inline {
                DataValidation::new().allow_list_strings(&spec.allowed).map_err(xl)?
            } else {
                let list_col = lists_used;
                lists_used += 1;
                for (r, value) in spec.allowed.iter().enumerate() {
                    let row = u32::try_from(r).map_err(|_| xl(XlsxError::RowColumnLimitError))?;
                    lists.write_string(row, list_col, value).map_err(xl)?;
                }
                let letter = rust_xlsxwriter::utility::column_number_to_name(list_col);
                let formula = format!("='{lists_name}'!${letter}$1:${letter}${}", spec.allowed.len());
                DataValidation::new().allow_list_formula(Formula::new(formula))
            };
            validation = error_message(validation, spec, language).map_err(xl)?;
            sheet.add_data_validation(1, col, LAST_ROW, col, &validation).map_err(xl)?;
            drop_downs += 1;
        }
    }
    sheet.set_freeze_panes(1, 0).map_err(xl)?;
    // Printed: landscape A4, every column on one page's width, the header row on every page.
    sheet.set_landscape().set_paper_size(9).set_print_fit_to_pages(1, 0).set_print_gridlines(true);
    sheet.set_repeat_rows(0, 0).map_err(xl)?;
    workbook.push_worksheet(sheet);
    if lists_used > 0 {
        lists.set_hidden(true);
        workbook.push_worksheet(lists);
    }
    let io = |source| TemplateError::Io { path: path.to_path_buf(), source };
    elma_import_sheet::write_by_name(path, io, |tmp| workbook.save(tmp).map_err(xl))?;

    Ok(TemplateInfo {
        path: path.to_path_buf(),
        headers: specs.iter().map(|s| s.header.clone()).collect(),
        example_rows: usize::from(options.example_rows),
        skipped: skipped_fields(schema),
        drop_downs,
    })
}

fn note(spec: &ColumnSpec) -> Note {
    // Rough size: ~45 characters per line at the note's width.
    let lines: usize = spec.note.lines().map(|l| l.chars().count().div_ceil(45).max(1)).sum();
    let height = u32::try_from(20 + 16 * lines).unwrap_or(400).min(400);
    Note::new(&spec.note).set_author("elma-import").add_author_prefix(false).set_width(320).set_height(height)
}

fn width(spec: &ColumnSpec) -> f64 {
    let longest = |s: &str| s.lines().map(|l| l.chars().count()).max().unwrap_or(0);
    // Bold header text is a little wider.
    let chars = (longest(&spec.header) as f64 * 1.1).max(longest(&spec.example) as f64) + 2.0;
    chars.clamp(MIN_WIDTH, MAX_WIDTH)
}

fn error_message(v: DataValidation, spec: &ColumnSpec, l: Locale) -> Result<DataValidation, XlsxError> {
    let (title, message) = if spec.single {
        match l {
            Locale::En => ("Not in the list", format!("Pick a value of `{}` from the list.", spec.header)),
            Locale::Ru => ("Нет в списке", format!("Выберите значение поля «{}» из списка.", spec.header)),
        }
    } else {
        match l {
            Locale::En => (
                "Not in the list",
                format!("`{}` takes values from the list; several are separated by commas.", spec.header),
            ),
            Locale::Ru => (
                "Нет в списке",
                format!("Поле «{}» берёт значения из списка; несколько — через запятую.", spec.header),
            ),
        }
    };
    // Excel limits the message to 255 characters: drop the field name when too long.
    let message = if message.encode_utf16().count() > 255 {
        match l {
            Locale::En => "Pick a value from the list.".to_string(),
            Locale::Ru => "Выберите значение из списка.".to_string(),
        }
    } else {
        message
    };
    // A multi-value cell ("A, B") is not one list entry: only inform, never block.
    let style =
        if spec.single { DataValidationErrorStyle::Stop } else { DataValidationErrorStyle::Information };
    Ok(v.set_error_title(title)?.set_error_message(message)?.set_error_style(style))
}

/// A valid sheet name from the app's display name.
fn sheet_name(name: &str) -> String {
    let cleaned: String = name
        .chars()
        .map(|c| if matches!(c, '[' | ']' | ':' | '*' | '?' | '/' | '\\') { '_' } else { c })
        .collect();
    let cleaned = cleaned.trim().trim_matches('\'').trim();
    let short: String = cleaned.chars().take(SHEET_NAME_MAX).collect();
    let short = short.trim_end().to_string();
    if short.is_empty() || short.eq_ignore_ascii_case("History") {
        "Sheet1".to_string()
    } else {
        short
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sheet_names_are_valid() {
        assert_eq!(sheet_name("Contacts"), "Contacts");
        assert_eq!(sheet_name(""), "Sheet1");
        assert_eq!(sheet_name("a/b:c"), "a_b_c");
        assert_eq!(sheet_name("'quoted'"), "quoted");
        assert_eq!(sheet_name(&"x".repeat(40)).len(), 31);
        assert_eq!(sheet_name("history"), "Sheet1");
    }
}
