//! Telling the template's example row from data.
//!
//! A template carries one example row under its header (see [`crate::column_specs`]).
//! Users fill rows below it and often leave it in place; imported, it becomes an item
//! named after the example. [`ExampleRow`] recognises that row in a file, whatever the
//! locale the template was written in, so `run` can skip it and `validate` can say so.

use elma_import_contract::schema::AppSchema;
use elma_import_sheet::{CellKind, Row};

use crate::{column_specs, Locale, TemplateOptions};

/// What one column of the example row holds: its texts in every locale.
#[derive(Debug, Clone)]
struct Expected {
    column: usize,
    texts: Vec<String>,
    number: Option<f64>,
}

/// The template's example row, laid out along a file's header.
#[derive(Debug, Clone)]
pub struct ExampleRow {
    columns: Vec<Expected>,
}

impl ExampleRow {
    /// The example row as it would sit under `header` (columns matched to fields by
    /// name or code, as validation matches them); `None` when no column names a field.
    ///
    /// ```
    /// use elma_import_contract::schema::AppSchema;
    /// use elma_import_sheet::Row;
    /// use elma_import_template::ExampleRow;
    /// let app = AppSchema::from_json(r#"{"namespace":"crm","code":"c","fields":[
    ///   {"code":"__name","name":"Name","type":"STRING"},
    ///   {"code":"age","name":"Age","type":"INTEGER"}]}"#).unwrap();
    /// let example = ExampleRow::new(&app, &Row::from_texts(1, ["Age", "Name"])).unwrap();
    /// assert!(example.matches(&Row::from_texts(2, ["27", "Example text"])));
    /// assert!(example.matches(&Row::from_texts(2, ["27", "Пример текста"])));
    /// assert!(!example.matches(&Row::from_texts(3, ["27", "Anna"])));
    /// ```
    pub fn new(schema: &AppSchema, header: &Row) -> Option<ExampleRow> {
        // Every template `template` writes: formats × language.
        let locales = [
            (Locale::Ru, Locale::Ru),
            (Locale::Ru, Locale::En),
            (Locale::En, Locale::Ru),
            (Locale::En, Locale::En),
        ]
        .map(|(locale, language)| {
            column_specs(schema, &TemplateOptions { locale, example_rows: true, language: Some(language) })
        });
        let mut columns = Vec::new();
        for (column, cell) in header.iter().enumerate() {
            let Some(field) = schema.field_for_header(cell.text) else { continue };
            let mut texts = Vec::new();
            let mut number = None;
            for specs in &locales {
                if let Some(spec) = specs.iter().find(|s| s.field == field) {
                    if !texts.contains(&spec.example) {
                        texts.push(spec.example.clone());
                    }
                    number = number.or(spec.example_number);
                }
            }
            if !texts.is_empty() {
                columns.push(Expected { column, texts, number });
            }
        }
        let any_text = columns.iter().any(|c| c.texts.iter().any(|t| !t.is_empty()));
        any_text.then_some(ExampleRow { columns })
    }

    /// Whether `row` is the example row: every column that names a field holds the
    /// example (numbers compared as numbers, text trimmed).
    pub fn matches(&self, row: &Row) -> bool {
        self.columns.iter().all(|c| {
            let cell = row.get(c.column);
            let text = cell.text.trim();
            if c.texts.iter().any(|t| t == text) {
                return true;
            }
            match (c.number, cell.kind) {
                (Some(n), CellKind::Number) => cell.number == n,
                (Some(n), CellKind::Text) => text.replace(',', ".").parse::<f64>().is_ok_and(|v| v == n),
                _ => false,
            }
        }) && !row.is_blank()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contacts() -> AppSchema {
        AppSchema::from_json(include_str!("../../../templates/crm.contacts.schema.json")).unwrap()
    }

    fn example_texts(locale: Locale) -> (Vec<String>, Vec<String>) {
        let specs = column_specs(
            &contacts(),
            &TemplateOptions { locale, example_rows: true, language: Some(locale) },
        );
        (specs.iter().map(|s| s.header.clone()).collect(), specs.iter().map(|s| s.example.clone()).collect())
    }

    #[test]
    fn the_example_row_of_either_locale_is_recognised_and_real_rows_are_not() {
        for locale in [Locale::Ru, Locale::En] {
            let (headers, examples) = example_texts(locale);
            let header = Row::from_texts(1, &headers);
            let example = ExampleRow::new(&contacts(), &header).unwrap();
            assert!(example.matches(&Row::from_texts(2, &examples)), "{locale:?}");
            let mut changed = examples.clone();
            changed[0] = "Anna Petrova".into();
            assert!(!example.matches(&Row::from_texts(3, &changed)), "{locale:?}");
            assert!(
                !example.matches(&Row::from_texts(4, vec![""; headers.len()])),
                "a blank row is no example"
            );
        }
    }

    #[test]
    fn columns_in_another_order_or_by_code_still_match_and_money_compares_as_a_number() {
        let schema = AppSchema::from_json(
            r#"{"namespace":"crm","code":"deals","fields":[
                {"code":"__name","name":"Name","type":"STRING"},
                {"code":"amount","name":"Amount","type":"MONEY"}]}"#,
        )
        .unwrap();
        let example = ExampleRow::new(&schema, &Row::from_texts(1, ["amount", "Name"])).unwrap();
        let mut row = Row::new(2);
        row.push(CellKind::Number, "125.6", 125.6);
        row.push_text("Example text");
        assert!(example.matches(&row));
        assert!(example.matches(&Row::from_texts(2, ["125,60", "Example text"])));
        assert!(!example.matches(&Row::from_texts(2, ["125.61", "Example text"])));
        assert!(ExampleRow::new(&schema, &Row::from_texts(1, ["Other"])).is_none());
    }
}
