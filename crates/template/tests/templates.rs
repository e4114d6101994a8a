//! Templates read back: headers, examples, notes, drop-downs, frozen header, text columns,
//! and the committed demo templates under `templates/`.

use std::io::Read;
use std::path::{Path, PathBuf};

use calamine::{open_workbook, Data, Reader, SheetVisible, Xlsx};
use elma_import_contract::schema::AppSchema;
use elma_import_template::{
    column_specs, write_csv, write_template, write_xlsx, Locale, TemplateError, TemplateOptions,
};

fn templates_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../templates")
}

fn schema(id: &str) -> AppSchema {
    let path = templates_dir().join(format!("{id}.schema.json"));
    AppSchema::from_json(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

fn en() -> TemplateOptions {
    TemplateOptions { locale: Locale::En, example_rows: true, language: None }
}

/// Every cell of every sheet, as (sheet name, visible, rows).
fn read_cells(path: &Path) -> Vec<(String, SheetVisible, Vec<Vec<Data>>)> {
    let mut wb: Xlsx<_> = open_workbook(path).unwrap();
    let meta: Vec<_> = wb.sheets_metadata().to_vec();
    meta.into_iter()
        .map(|m| {
            let range = wb.worksheet_range(&m.name).unwrap();
            let rows = range.rows().map(|r| r.to_vec()).collect();
            (m.name, m.visible, rows)
        })
        .collect()
}

fn zip_entry(path: &Path, name: &str) -> String {
    let mut archive = zip::ZipArchive::new(std::fs::File::open(path).unwrap()).unwrap();
    let mut entry = archive.by_name(name).unwrap_or_else(|_| panic!("{name} missing in {}", path.display()));
    let mut text = String::new();
    entry.read_to_string(&mut text).unwrap();
    text
}

fn text(d: &Data) -> String {
    match d {
        Data::String(s) => s.clone(),
        other => panic!("expected a text cell, got {other:?}"),
    }
}

#[test]
fn contacts_xlsx_has_headers_examples_and_typed_cells() {
    let app = schema("crm.contacts");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.xlsx");
    let info = write_xlsx(&app, &path, &TemplateOptions::default()).unwrap();
    let names: Vec<&str> = app.fields.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(info.headers, names);
    assert_eq!(info.drop_downs, 1, "Segment");

    let sheets = read_cells(&path);
    assert_eq!(sheets.len(), 1, "no lists sheet needed for short lists");
    let (name, _, rows) = &sheets[0];
    assert_eq!(name, "Contacts");
    assert_eq!(rows.len(), 2, "header + one example row");
    let header: Vec<String> = rows[0].iter().map(text).collect();
    assert_eq!(header, names);
    let col = |h: &str| names.iter().position(|n| *n == h).unwrap();
    let ex = &rows[1];
    assert_eq!(text(&ex[col("Birth date")]), "04.07.1977 13:27", "ru date format");
    assert_eq!(text(&ex[col("Phone")]), "79125554433", "phone stays text");
    assert_eq!(ex[col("Amount")], Data::Float(125.6), "money is a number cell");
    assert_eq!(text(&ex[col("Segment")]), "Retail", "first option's name");
    assert_eq!(text(&ex[col("Manager")]), "[29cadb73-8246-4f3d-9992-87a4a1ad20cf]");
    assert_eq!(text(&ex[col("Active")]), "true");
    assert_eq!(text(&ex[col("Email")]), "name@example.com");
    assert_eq!(text(&ex[col("Website")]), "https://example.com");
    assert_eq!(text(&ex[col("Full name")]).split(' ').count(), 3);
}

#[test]
fn orders_xlsx_leaves_account_out_and_uses_en_formats() {
    let app = schema("logistics.orders");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.xlsx");
    let info = write_xlsx(&app, &path, &en()).unwrap();
    assert!(!info.headers.iter().any(|h| h == "Owner account"), "{:?}", info.headers);
    assert_eq!(info.skipped.len(), 1);
    assert_eq!(info.skipped[0].code, "owner_account");
    assert_eq!(info.headers.len(), app.fields.len() - 1);

    let sheets = read_cells(&path);
    let rows = &sheets[0].2;
    let header: Vec<String> = rows[0].iter().map(text).collect();
    assert_eq!(header, info.headers);
    assert!(!header.iter().any(|h| h.contains("account")));
    let col = |h: &str| header.iter().position(|n| n == h).unwrap();
    let ex = &rows[1];
    assert_eq!(text(&ex[col("Ship date")]), "7/4/1977");
    assert_eq!(ex[col("Number")], Data::Float(27.0));
    assert_eq!(text(&ex[col("Status")]), "New");
    assert_eq!(text(&ex[col("Tags")]), "Fragile, Express", "multi-value ENUM shows the separator");
    assert_eq!(text(&ex[col("Contact phones")]), "79125554433, 79125554434");
    assert_eq!(text(&ex[col("Waybill")]), "scan.pdf[fd2af6d9-3e95-4896-9604-250929347acb]");
    let table: serde_json_like::Value = serde_json_like::parse(&text(&ex[col("Lines")]));
    assert_eq!(table.rows, table.count, "TABLE sample: __count equals the number of rows");
    assert!(text(&ex[col("Order")]).chars().count() <= 64, "within maxLength");
}

/// A tiny check of the TABLE sample without a JSON dependency: counts `rows` entries.
mod serde_json_like {
    pub struct Value {
        pub rows: usize,
        pub count: usize,
    }
    pub fn parse(s: &str) -> Value {
        assert!(s.starts_with("[{") && s.ends_with("}]"), "{s}");
        let rows_part = s.split(r#""rows":["#).nth(1).unwrap().split("],").next().unwrap();
        let rows = if rows_part.is_empty() { 0 } else { rows_part.matches('{').count() };
        let count = s.split(r#""__count":"#).nth(1).unwrap().split('}').next().unwrap().parse().unwrap();
        Value { rows, count }
    }
}

#[test]
fn xlsx_has_notes_drop_downs_frozen_header_and_text_columns() {
    let app = schema("logistics.orders");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.xlsx");
    write_xlsx(&app, &path, &en()).unwrap();
    let sheet = zip_entry(&path, "xl/worksheets/sheet1.xml");

    // Frozen first row.
    assert!(
        sheet.contains(r#"<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>"#),
        "{sheet}"
    );
    // Status (D) and Tags (E) have list validations from row 2 down.
    assert!(sheet.contains(r#"<dataValidations count="2">"#), "{sheet}");
    assert!(sheet.contains(r#"sqref="D2:D1048576""#), "{sheet}");
    assert!(sheet.contains(r#"<formula1>"New,In progress,Shipped,Closed"</formula1>"#), "{sheet}");
    assert!(sheet.contains(r#"<formula1>"Fragile,Express,Oversize"</formula1>"#), "{sheet}");
    // The multi-value Tags column only informs, so "Fragile, Express" can be typed.
    assert!(sheet.contains(r#"errorStyle="information""#), "{sheet}");

    // A note on every header cell, with code, type, required and format.
    let comments = zip_entry(&path, "xl/comments1.xml");
    assert_eq!(comments.matches("<comment ").count(), app.fields.len() - 1);
    assert!(comments.contains("Code: ship_date"), "{comments}");
    assert!(comments.contains("Type: DATE"), "{comments}");
    assert!(comments.contains("M/d/yyyy"), "{comments}");
    assert!(comments.contains("several values allowed"), "Tags is multi-value");
    assert!(comments.contains("required"), "{comments}");

    // Required headers (Order, Number) look different from optional ones (Ship date).
    let style = |cell: &str| {
        let at = sheet.find(&format!(r#"<c r="{cell}""#)).unwrap();
        let rest = &sheet[at..];
        let s = rest.split(r#" s=""#).nth(1).unwrap();
        s.split('"').next().unwrap().to_string()
    };
    assert_eq!(style("A1"), style("B1"));
    assert_ne!(style("A1"), style("C1"));

    // PHONE column (F) is formatted as text ("@" is built-in number format 49).
    let styles = zip_entry(&path, "xl/styles.xml");
    let xfs: Vec<&str> = styles
        .split("<cellXfs")
        .nth(1)
        .unwrap()
        .split("</cellXfs>")
        .next()
        .unwrap()
        .split("<xf ")
        .skip(1)
        .collect();
    let col_style = |col: usize| -> usize {
        let tag = format!(r#"<col min="{col}" max="{col}""#);
        let at = sheet.find(&tag).unwrap_or_else(|| panic!("no {tag} in {sheet}"));
        sheet[at..].split(r#"style=""#).nth(1).unwrap().split('"').next().unwrap().parse().unwrap()
    };
    assert!(xfs[col_style(6)].contains(r#"numFmtId="49""#), "Contact phones: {}", xfs[col_style(6)]);
    assert!(xfs[col_style(1)].contains(r#"numFmtId="49""#), "Order (STRING)");
}

#[test]
fn long_or_comma_lists_go_to_a_hidden_sheet() {
    let options: Vec<String> =
        (1..=40).map(|i| format!(r#"{{"code":"o{i}","name":"Option number {i:02}"}}"#)).collect();
    let json = format!(
        r#"{{"namespace":"a","code":"b","name":"Big","fields":[
        {{"code":"kind","name":"Kind","type":"ENUM","data":{{"options":[{}]}}}},
        {{"code":"city","name":"City","type":"ENUM","data":{{"options":[
            {{"code":"msk","name":"Moscow, RU"}},{{"code":"spb","name":"Saint Petersburg"}}]}}}},
        {{"code":"short","name":"Short","type":"ENUM","data":{{"options":[{{"code":"a","name":"A"}}]}}}}]}}"#,
        options.join(",")
    );
    let app = AppSchema::from_json(&json).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.xlsx");
    let info = write_xlsx(&app, &path, &en()).unwrap();
    assert_eq!(info.drop_downs, 3);

    let sheets = read_cells(&path);
    assert_eq!(sheets.len(), 2);
    assert_eq!(sheets[0].0, "Big", "the data sheet stays first");
    assert_eq!(sheets[1].0, "Lists");
    assert_eq!(sheets[1].1, SheetVisible::Hidden);
    let lists = &sheets[1].2;
    assert_eq!(lists.len(), 40);
    assert_eq!(text(&lists[0][0]), "Option number 01");
    assert_eq!(text(&lists[39][0]), "Option number 40");
    assert_eq!(text(&lists[0][1]), "Moscow, RU");
    assert_eq!(text(&lists[1][1]), "Saint Petersburg");

    let sheet = zip_entry(&path, "xl/worksheets/sheet1.xml");
    assert!(sheet.contains("<formula1>'Lists'!$A$1:$A$40</formula1>"), "{sheet}");
    assert!(sheet.contains("<formula1>'Lists'!$B$1:$B$2</formula1>"), "{sheet}");
    assert!(sheet.contains(r#"<formula1>"A"</formula1>"#), "{sheet}");
}

#[test]
fn csv_template_is_utf8_with_bom_header_and_example() {
    let app = schema("logistics.orders");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.csv");
    let info = write_csv(&app, &path, &TemplateOptions::default()).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    assert!(bytes.starts_with(b"\xEF\xBB\xBF"), "BOM");
    let body = std::str::from_utf8(&bytes[3..]).unwrap();
    let records: Vec<Vec<String>> = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(body.as_bytes())
        .records()
        .map(|r| r.unwrap().iter().map(str::to_string).collect())
        .collect();
    assert_eq!(records.len(), 2);
    assert_eq!(records[0], info.headers);
    assert!(!records[0].iter().any(|h| h == "Owner account"));
    let specs = column_specs(&app, &TemplateOptions::default());
    let examples: Vec<String> = specs.iter().map(|s| s.example.clone()).collect();
    assert_eq!(records[1], examples);
    let col = |h: &str| records[0].iter().position(|n| n == h).unwrap();
    assert_eq!(records[1][col("Ship date")], "04.07.1977");
    assert_eq!(records[1][col("Tags")], "Fragile, Express", "quoted, not split at the comma");
    assert_eq!(records[1][col("Number")], "27");
    assert!(body.contains(r#""[{""rows"""#), "JSON quotes are doubled: {body}");
}

#[test]
fn example_rows_can_be_left_out() {
    let app = schema("crm.contacts");
    let dir = tempfile::tempdir().unwrap();
    let options = TemplateOptions { locale: Locale::En, example_rows: false, language: None };
    let info = write_xlsx(&app, &dir.path().join("t.xlsx"), &options).unwrap();
    assert_eq!(info.example_rows, 0);
    assert_eq!(read_cells(&dir.path().join("t.xlsx"))[0].2.len(), 1);
    write_csv(&app, &dir.path().join("t.csv"), &options).unwrap();
    let csv = std::fs::read_to_string(dir.path().join("t.csv")).unwrap();
    assert_eq!(csv.lines().count(), 1);
}

#[test]
fn same_schema_gives_the_same_bytes() {
    let app = schema("crm.contacts");
    let dir = tempfile::tempdir().unwrap();
    write_xlsx(&app, &dir.path().join("a.xlsx"), &en()).unwrap();
    write_xlsx(&app, &dir.path().join("b.xlsx"), &en()).unwrap();
    assert_eq!(
        std::fs::read(dir.path().join("a.xlsx")).unwrap(),
        std::fs::read(dir.path().join("b.xlsx")).unwrap()
    );
}

/// The files under `templates/` are what the current code generates (default options).
/// Regenerate them with `cargo run -p elma-import-template --example regenerate`.
#[test]
fn committed_templates_are_current() {
    let dir = tempfile::tempdir().unwrap();
    let options = TemplateOptions::default();
    for (id, ext) in [("crm.contacts", "xlsx"), ("crm.contacts", "csv"), ("logistics.orders", "xlsx")] {
        let name = format!("{id}.template.{ext}");
        let committed = templates_dir().join(&name);
        let fresh = dir.path().join(&name);
        write_template(&schema(id), &fresh, &options).unwrap();
        let hint = "run `cargo run -p elma-import-template --example regenerate`";
        assert!(committed.exists(), "{} is missing: {hint}", committed.display());
        if ext == "csv" {
            assert_eq!(std::fs::read(&committed).unwrap(), std::fs::read(&fresh).unwrap(), "{name}: {hint}");
        } else {
            assert_eq!(read_cells(&committed), read_cells(&fresh), "{name}: {hint}");
            for part in ["xl/worksheets/sheet1.xml", "xl/comments1.xml"] {
                assert_eq!(zip_entry(&committed, part), zip_entry(&fresh, part), "{name} {part}: {hint}");
            }
        }
    }
}

#[test]
fn errors_name_the_problem() {
    let app = AppSchema::from_json(
        r#"{"namespace":"hr","code":"staff","fields":[{"code":"acc","name":"Account","type":"ACCOUNT"}]}"#,
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let err = write_xlsx(&app, &dir.path().join("t.xlsx"), &en()).unwrap_err();
    assert!(matches!(err, TemplateError::NoImportableFields { .. }));
    assert!(err.to_string().contains("`hr.staff`"), "{err}");

    let err = write_template(&schema("crm.contacts"), &dir.path().join("t.ods"), &en()).unwrap_err();
    assert!(err.to_string().contains("t.ods"), "{err}");

    let err = write_csv(&schema("crm.contacts"), &dir.path().join("no/such/dir/t.csv"), &en()).unwrap_err();
    assert!(err.to_string().contains("t.csv"), "{err}");
}

#[test]
fn locales_parse() {
    assert_eq!("ru".parse::<Locale>().unwrap(), Locale::Ru);
    assert_eq!(" EN ".parse::<Locale>().unwrap(), Locale::En);
    let err = "de".parse::<Locale>().unwrap_err();
    assert_eq!(err.to_string(), "unknown locale `de`: expected `ru` or `en`");
    assert_eq!(Locale::default(), Locale::Ru);
    assert_eq!(Locale::En.to_string(), "en");
}

#[test]
fn notes_follow_the_language_of_the_field_names_and_formats_follow_the_locale() {
    let en_names = schema("crm.contacts");
    let specs = column_specs(&en_names, &TemplateOptions::default());
    let birth = specs.iter().find(|s| s.header == "Birth date").unwrap();
    assert_eq!(birth.example, "04.07.1977 13:27", "ru formats by default");
    assert!(birth.note.contains("Code: "), "{}", birth.note);
    assert!(
        birth.format.starts_with("Date and time as dd.MM.yyyy HH:mm"),
        "English words, ru formats: {}",
        birth.format
    );
    assert!(
        specs.iter().all(|s| !s.note.chars().any(|c| ('\u{0400}'..='\u{04FF}').contains(&c))),
        "no Russian in notes"
    );

    let ru_names = AppSchema::from_json(
        r#"{"namespace":"crm","code":"c","fields":[
            {"code":"__name","name":"Название","type":"STRING","required":true},
            {"code":"born","name":"Дата рождения","type":"DATETIME"}]}"#,
    )
    .unwrap();
    let en_formats = TemplateOptions { locale: Locale::En, example_rows: true, language: None };
    let specs = column_specs(&ru_names, &en_formats);
    assert_eq!(specs[0].example, "Пример текста");
    assert!(specs[0].note.contains("Код: __name"), "{}", specs[0].note);
    assert_eq!(specs[1].example, "7/4/1977 1:27 PM", "en formats as asked");
    assert!(specs[1].format.starts_with("Дата и время в виде M/d/yyyy"), "{}", specs[1].format);

    let forced = TemplateOptions { language: Some(Locale::En), ..en_formats };
    assert!(column_specs(&ru_names, &forced)[0].note.contains("Code: __name"));
}
