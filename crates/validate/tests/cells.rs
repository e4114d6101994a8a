//! Cell rules per field type (docs/formats.md), in both locales, with the messages a user
//! reads, the fixes `fix` makes and the item JSON the platform stores.

use elma_import_contract::schema::AppSchema;
use elma_import_sheet::{CellKind, Row};
use elma_import_validate::{CellError, Locale, Options, Rule, Validator};
use serde_json::json;

const UUID: &str = "29cadb73-8246-4f3d-9992-87a4a1ad20cf";

/// An app with one field of `kind` (plus its `data`), code `f`, name `Field`.
fn one_field(kind: &str, single: bool, data: &str) -> AppSchema {
    AppSchema::from_json(&format!(
        r#"{{"namespace":"t","code":"t","fields":[
            {{"code":"f","name":"Field","type":"{kind}","single":{single},"data":{data}}}]}}"#
    ))
    .unwrap()
}

fn validator(kind: &str, single: bool, data: &str, locale: Locale) -> Validator {
    let app = one_field(kind, single, data);
    Validator::new(
        &app,
        &Row::from_texts(1, ["Field"]),
        &Options { locale, ignore_unknown: false, ..Options::default() },
    )
    .unwrap()
}

fn errors_of(v: &Validator, row: &Row) -> Vec<CellError> {
    let mut out = Vec::new();
    v.check_row(row, &mut out);
    out
}

/// The rules a one-cell text row breaks.
fn rules(kind: &str, locale: Locale, value: &str) -> Vec<Rule> {
    rules_with(kind, true, "{}", locale, value)
}

fn rules_with(kind: &str, single: bool, data: &str, locale: Locale, value: &str) -> Vec<Rule> {
    let v = validator(kind, single, data, locale);
    errors_of(&v, &Row::from_texts(2, [value])).into_iter().map(|e| e.rule).collect()
}

fn accepts(kind: &str, locale: Locale, values: &[&str]) {
    for value in values {
        assert_eq!(rules(kind, locale, value), vec![], "{kind} ({locale}) should accept `{value}`");
    }
}

fn rejects(kind: &str, locale: Locale, cases: &[(&str, Rule)]) {
    for (value, rule) in cases {
        assert_eq!(rules(kind, locale, value), vec![*rule], "{kind} ({locale}) on `{value}`");
    }
}

use Locale::{En, Ru};

#[test]
fn string_and_text() {
    for l in [Ru, En] {
        accepts("STRING", l, &["Invoice", "  padded  ", "12,5", "ООО «Ромашка»"]);
        accepts("TEXT", l, &["line one\nline two"]);
        rejects("STRING", l, &[("line one\nline two", Rule::LineBreak)]);
    }
    assert_eq!(rules_with("STRING", true, r#"{"maxLength":5}"#, Ru, "Ёжики"), vec![]);
    assert_eq!(rules_with("STRING", true, r#"{"maxLength":5}"#, Ru, "Ёжики!"), vec![Rule::TooLong]);
    assert_eq!(rules_with("TEXT", true, r#"{"maxLength":3}"#, Ru, " abc "), vec![], "trimmed first");
}

#[test]
fn integer() {
    for l in [Ru, En] {
        accepts("INTEGER", l, &["27", "-27", "+27", " 0 ", "9223372036854775807"]);
        rejects(
            "INTEGER",
            l,
            &[
                ("27.5", Rule::NotAnInteger),
                ("1 000", Rule::NotAnInteger),
                ("27,5", Rule::NotAnInteger),
                ("twenty", Rule::NotAnInteger),
                ("9223372036854775808", Rule::NumberOutOfRange),
            ],
        );
    }
}

#[test]
fn float_and_money_follow_the_locale() {
    accepts("FLOAT", Ru, &["27.37", "27,37", "-0.5", "+3", "1000000"]);
    accepts("FLOAT", En, &["27.37", "-0.5", "3"]);
    accepts("MONEY", Ru, &["125.6", "125,6"]);
    accepts("MONEY", En, &["125.6"]);
    for l in [Ru, En] {
        rejects(
            "FLOAT",
            l,
            &[
                ("12,5 RUB", Rule::NotANumber),
                ("1e999", Rule::NotANumber),
                ("inf", Rule::NotANumber),
                ("NaN", Rule::NotANumber),
                ("1 000,5", Rule::NotANumber),
                (&"9".repeat(400), Rule::NumberOutOfRange),
            ],
        );
        rejects("MONEY", l, &[("$125.60", Rule::NotANumber), ("125,6 руб.", Rule::NotANumber)]);
    }
    rejects("FLOAT", En, &[("27,37", Rule::NotANumber), ("1,000.5", Rule::NotANumber)]);
}

#[test]
fn number_messages_say_what_is_expected() {
    let v = validator("FLOAT", true, "{}", Ru);
    let e = &errors_of(&v, &Row::from_texts(7, ["12,5 RUB"]))[0];
    assert_eq!(
        e.message,
        "`12,5 RUB` is not a number: expected digits with `.` or `,` as the decimal separator (locale ru)"
    );
    assert_eq!((e.row, e.column, e.header.as_str(), e.value.as_str()), (7, Some(0), "Field", "12,5 RUB"));
    assert_eq!(e.to_string(), format!("row 7, column 1 (A) `Field`: {}", e.message));
    let v = validator("FLOAT", true, "{}", En);
    let e = &errors_of(&v, &Row::from_texts(2, ["12,5"]))[0];
    assert!(e.message.contains("(locale en)") && e.message.contains("only under locale ru"), "{}", e.message);
    let v = validator("MONEY", true, "{}", En);
    let e = &errors_of(&v, &Row::from_texts(2, ["$125.60"]))[0];
    assert!(e.message.contains("without a currency sign"), "{}", e.message);
}

#[test]
fn huge_values_are_cut_in_messages_but_kept_whole() {
    let v = validator("INTEGER", true, "{}", Ru);
    let huge = "x".repeat(10_000);
    let e = &errors_of(&v, &Row::from_texts(2, [huge.as_str()]))[0];
    assert_eq!(e.value, huge);
    assert!(e.message.len() < 400, "{}", e.message.len());
    assert!(e.message.contains(&format!("`{}…`", "x".repeat(80))), "{}", e.message);
}

#[test]
fn boolean() {
    for l in [Ru, En] {
        accepts("BOOLEAN", l, &["true", "false", "TRUE", "False"]);
        rejects(
            "BOOLEAN",
            l,
            &[
                ("yes", Rule::BooleanWord),
                ("No", Rule::BooleanWord),
                ("да", Rule::BooleanWord),
                ("НЕТ", Rule::BooleanWord),
                ("1", Rule::BooleanWord),
                ("0", Rule::BooleanWord),
                ("maybe", Rule::NotABoolean),
                ("2", Rule::NotABoolean),
            ],
        );
    }
}

#[test]
fn datetime_and_date_in_both_locales() {
    accepts("DATETIME", Ru, &["04.07.1977 13:27", "29.02.2024 00:00", "04.07.1977"]);
    accepts("DATE", Ru, &["04.07.1977", "29.02.2000"]);
    accepts(
        "DATETIME",
        En,
        &["4/17/2022 3:27 PM", "12/31/1999 12:00 am", "04/07/1977 11:59 PM", "4/17/2022"],
    );
    accepts("DATE", En, &["4/17/2022", "12/1/2022"]);
    rejects(
        "DATETIME",
        Ru,
        &[
            ("31.02.2001", Rule::InvalidDate),
            ("29.02.2023 10:00", Rule::InvalidDate),
            ("01.01.2001 24:00", Rule::InvalidDate),
            ("01.13.2001", Rule::InvalidDate),
            ("4/17/2022 3:27 PM", Rule::NotADate),
            ("4.7.1977", Rule::NotADate),
            ("04.07.1977 13:27:45", Rule::NotADate),
            ("yesterday", Rule::NotADate),
            ("2001-02-03", Rule::IsoDate),
            ("2001-02-03 13:27", Rule::IsoDate),
            ("2001-02-03T13:27:00", Rule::IsoDate),
            ("2001-02-30", Rule::InvalidDate),
            ("2001-02-03T13:27:45", Rule::NotADate),
        ],
    );
    rejects(
        "DATE",
        Ru,
        &[
            ("04.07.1977 13:27", Rule::NotADate),
            ("2001-02-03T13:27:00", Rule::NotADate),
            ("2001-02-03", Rule::IsoDate),
        ],
    );
    rejects(
        "DATETIME",
        En,
        &[
            ("01.02.2003", Rule::NotADate),
            ("2/30/2022", Rule::InvalidDate),
            ("4/17/2022 13:27 PM", Rule::InvalidDate),
            ("4/17/2022 15:27", Rule::NotADate),
            ("2001-02-03 13:27", Rule::IsoDate),
        ],
    );
}

#[test]
fn ambiguous_dates_are_errors_not_fixes() {
    let v = validator("DATETIME", true, "{}", En);
    let row = Row::from_texts(2, ["01.02.2003"]);
    let e = &errors_of(&v, &row)[0];
    assert_eq!(e.rule, Rule::NotADate);
    assert_eq!(e.fix, None);
    assert!(e.message.contains("`M/d/yyyy h:mm AM/PM`") && e.message.contains("locale ru"), "{}", e.message);
    assert!(v.fix_row(&row).is_none());
    let v = validator("DATE", true, "{}", Ru);
    assert!(v.fix_row(&Row::from_texts(2, ["2/3/2001"])).is_none());
}

#[test]
fn enum_takes_option_names() {
    let data = r#"{"options":[{"code":"courier","name":"Courier delivery"},{"code":"pickup","name":"Pickup"},
        {"code":"Pickup point","name":"Point"}]}"#;
    for l in [Ru, En] {
        assert_eq!(rules_with("ENUM", true, data, l, "Courier delivery"), vec![]);
        assert_eq!(rules_with("ENUM", true, data, l, " Pickup "), vec![]);
        assert_eq!(rules_with("ENUM", true, data, l, "courier"), vec![Rule::OptionCode]);
        assert_eq!(rules_with("ENUM", true, data, l, "COURIER DELIVERY"), vec![Rule::OptionCase]);
        assert_eq!(rules_with("ENUM", true, data, l, "Curier"), vec![Rule::UnknownOption]);
        // `pickup point` is the code of one option and not a name: fixable; `pickup` is the
        // code of Pickup and the name of nothing else: fixable.
        assert_eq!(rules_with("ENUM", true, data, l, "pickup point"), vec![Rule::OptionCode]);
    }
    let v = validator("ENUM", true, data, Ru);
    let e = &errors_of(&v, &Row::from_texts(2, ["Curier"]))[0];
    assert!(e.message.contains("`Courier delivery`, `Pickup`, `Point`"), "{}", e.message);
    // A value meaning two different options is never guessed.
    let clash = r#"{"options":[{"code":"a","name":"B"},{"code":"b","name":"C"}]}"#;
    assert_eq!(rules_with("ENUM", true, clash, Ru, "b"), vec![Rule::UnknownOption]);
    let v = validator("ENUM", true, clash, Ru);
    assert!(v.fix_row(&Row::from_texts(2, ["b"])).is_none());
}

#[test]
fn enum_with_many_options_uses_its_index() {
    let options: Vec<String> = (0..50).map(|i| format!(r#"{{"code":"c{i}","name":"Option {i}"}}"#)).collect();
    let data = format!(r#"{{"options":[{}]}}"#, options.join(","));
    assert_eq!(rules_with("ENUM", true, &data, Ru, "Option 37"), vec![]);
    assert_eq!(rules_with("ENUM", true, &data, Ru, "c37"), vec![Rule::OptionCode]);
    assert_eq!(rules_with("ENUM", true, &data, Ru, "Option 50"), vec![Rule::UnknownOption]);
}

#[test]
fn status_takes_status_names() {
    let data = r#"{"statuses":[{"code":"in_progress","name":"In progress"},{"code":"new","name":"New"}]}"#;
    assert_eq!(rules_with("STATUS", true, data, Ru, "In progress"), vec![]);
    assert_eq!(rules_with("STATUS", true, data, Ru, "Lost"), vec![Rule::UnknownStatus]);
    let v = validator("STATUS", true, data, Ru);
    let e = &errors_of(&v, &Row::from_texts(2, ["in_progress"]))[0];
    assert_eq!(e.rule, Rule::UnknownStatus);
    assert!(e.message.contains("means the status `In progress`"), "{}", e.message);
}

#[test]
fn phone_email_link() {
    for l in [Ru, En] {
        accepts("PHONE", l, &["79125554433", "1234567890", "123456789012345"]);
        rejects(
            "PHONE",
            l,
            &[
                ("+7 (912) 555-44-33", Rule::PhoneFormat),
                ("8-912-555-44-33", Rule::PhoneFormat),
                ("555-44-33", Rule::NotAPhone),
                ("1234567890123456", Rule::NotAPhone),
                ("7912555443x", Rule::NotAPhone),
                ("79+125554433", Rule::NotAPhone),
            ],
        );
        accepts("EMAIL", l, &["name@example.com", "a.b+c@mail.example.ru", "имя@пример.рф"]);
        rejects(
            "EMAIL",
            l,
            &[
                ("name.example.com", Rule::NotAnEmail),
                ("na me@example.com", Rule::NotAnEmail),
                ("name@example", Rule::NotAnEmail),
                ("a@b@example.com", Rule::NotAnEmail),
                ("@example.com", Rule::NotAnEmail),
                ("name@example..com", Rule::NotAnEmail),
            ],
        );
        accepts("LINK", l, &["https://example.com", "http://example.com/a?b=c#d", "HTTPS://EXAMPLE.COM"]);
        rejects(
            "LINK",
            l,
            &[
                ("example.com", Rule::NotALink),
                ("ftp://example.com", Rule::NotALink),
                ("https://", Rule::NotALink),
                ("https://exa mple.com", Rule::NotALink),
            ],
        );
    }
}

#[test]
fn full_name_file_and_references() {
    for l in [Ru, En] {
        accepts("FULL_NAME", l, &["Rogers Sarah Jane", "Rogers", "Иванов Иван Иванович"]);
        let file = format!("scan.pdf[{UUID}]");
        accepts("FILE", l, &[&file, &format!("my scan [v2].pdf[{}]", UUID.to_uppercase())]);
        accepts("IMAGE", l, &[&file]);
        rejects(
            "FILE",
            l,
            &[
                ("scan.pdf", Rule::NotAFileRef),
                (&format!("scan.pdf{UUID}"), Rule::NotAFileRef),
                ("scan.pdf[not-a-uuid]", Rule::NotAFileRef),
                (&format!("[{UUID}]"), Rule::NotAFileRef),
            ],
        );
        for kind in ["SYS_USER", "SYS_COLLECTION"] {
            accepts(kind, l, &[&format!("[{UUID}]")]);
            rejects(
                kind,
                l,
                &[
                    (UUID, Rule::BareUuid),
                    ("[29cadb73-8246-4f3d-9992]", Rule::NotAUuidRef),
                    ("Ivanov", Rule::NotAUuidRef),
                ],
            );
        }
    }
}

#[test]
fn table_and_json_are_never_split() {
    let table = r#"[{"rows":[{"a":1},{"a":2}],"result":{"__count":2},"view":""}]"#;
    for single in [true, false] {
        assert_eq!(rules_with("TABLE", single, "{}", Ru, table), vec![], "single: {single}");
        assert_eq!(rules_with("JSON", single, "{}", Ru, r#"{"a":1,"b":[1,2]}"#), vec![]);
    }
    assert_eq!(
        rules_with("TABLE", true, "{}", Ru, r#"[{"rows":[{"a":1}],"result":{"__count":2},"view":""}]"#),
        vec![Rule::TableShape]
    );
    assert_eq!(rules_with("TABLE", true, "{}", Ru, r#"{"rows":[]}"#), vec![Rule::TableShape]);
    assert_eq!(rules_with("TABLE", true, "{}", Ru, "[{"), vec![Rule::NotJson]);
    assert_eq!(rules_with("JSON", true, "{}", Ru, "{a:1}"), vec![Rule::NotJson]);
}

#[test]
fn multi_value_fields_check_each_value() {
    let tags = r#"{"options":[{"code":"fragile","name":"Fragile"},{"code":"express","name":"Express"}]}"#;
    assert_eq!(rules_with("ENUM", false, tags, Ru, "Fragile, Express"), vec![]);
    assert_eq!(rules_with("ENUM", false, tags, Ru, "Fragile,Nope"), vec![Rule::UnknownOption]);
    assert_eq!(rules_with("ENUM", false, tags, Ru, "Fragile,,Express"), vec![Rule::EmptyValue]);
    assert_eq!(rules_with("ENUM", false, tags, Ru, "Fragile, Express,"), vec![Rule::EmptyValue]);
    assert_eq!(
        rules_with("PHONE", false, "{}", Ru, "79125554433, 12, abc"),
        vec![Rule::NotAPhone, Rule::NotAPhone]
    );
    // In a single-value field a comma is just text of the value.
    assert_eq!(rules_with("ENUM", true, tags, Ru, "Fragile, Express"), vec![Rule::UnknownOption]);

    let v = validator("ENUM", false, tags, Ru);
    let (fixed, fixes) = v.fix_row(&Row::from_texts(2, ["fragile,  EXPRESS "])).unwrap();
    assert_eq!(fixed.get(0).text, "Fragile,  Express");
    assert_eq!(fixes[0].before, "fragile,  EXPRESS ");
    // Not every value fixable: the cell is reported but not rewritten.
    let row = Row::from_texts(2, ["fragile, Nope"]);
    let errors = errors_of(&v, &row);
    assert_eq!(
        errors.iter().map(|e| e.rule).collect::<Vec<_>>(),
        vec![Rule::OptionCode, Rule::UnknownOption]
    );
    assert!(errors.iter().all(|e| e.fix.is_none()));
    assert!(v.fix_row(&row).is_none());
}

#[test]
fn required_empty_and_trimming() {
    let app = AppSchema::from_json(
        r#"{"namespace":"t","code":"t","fields":[
        {"code":"a","name":"A","type":"STRING","required":true},
        {"code":"b","name":"B","type":"FULL_NAME","required":true},
        {"code":"c","name":"C","type":"INTEGER"}]}"#,
    )
    .unwrap();
    let v = Validator::new(&app, &Row::from_texts(1, ["A", "B", "C"]), &Options::default()).unwrap();
    let errors = errors_of(&v, &Row::from_texts(5, ["x", "   ", ""]));
    assert_eq!(errors.len(), 1);
    assert_eq!((errors[0].rule, errors[0].column), (Rule::Required, Some(1)));
    assert!(errors[0].message.contains("required"), "{}", errors[0].message);
    // Fewer cells than headers: the rest are empty.
    let errors = errors_of(&v, &Row::from_texts(6, ["x"]));
    assert_eq!(
        errors.iter().map(|e| (e.column, e.rule)).collect::<Vec<_>>(),
        vec![(Some(1), Rule::Required)]
    );
    // Entirely blank rows are skipped.
    assert!(errors_of(&v, &Row::from_texts(7, ["", " ", ""])).is_empty());
    assert!(errors_of(&v, &Row::new(8)).is_empty());
}

#[test]
fn cells_beyond_the_header_are_an_error_naming_the_column() {
    let v = validator("STRING", true, "{}", Ru);
    assert!(errors_of(&v, &Row::from_texts(2, ["a", "", "  "])).is_empty(), "blank extra cells are fine");
    let errors = errors_of(&v, &Row::from_texts(3, ["a", "", "stray", "more"]));
    assert_eq!(errors.len(), 1);
    assert_eq!((errors[0].rule, errors[0].column), (Rule::ExtraCell, Some(2)));
    assert!(
        errors[0].message.contains("column 3 (C)") && errors[0].message.contains("2 cells"),
        "{}",
        errors[0].message
    );
}

#[test]
fn xlsx_typed_cells() {
    let app = AppSchema::from_json(include_str!("../../../templates/logistics.orders.schema.json")).unwrap();
    let header = Row::from_texts(1, ["Order", "Number", "Ship date", "Weight", "Tags", "Contact phones"]);
    let options = Options { time_zone: "Europe/Moscow".parse().unwrap(), ..Options::default() };
    let v = Validator::new(&app, &header, &options).unwrap();
    let mut row = Row::new(2);
    row.push(CellKind::Number, "42", 42.0);
    row.push(CellKind::Number, "27", 27.0);
    row.push(CellKind::Date, "2024-01-31", 45322.0);
    row.push(CellKind::Number, "1.5", 1.5);
    row.push_text("");
    row.push(CellKind::Number, "79125554433", 79125554433.0);
    assert_eq!(errors_of(&v, &row), vec![], "a number is fine as STRING text");
    let item = v.to_item(&row).unwrap();
    assert_eq!(item["__name"], json!("42"));
    assert_eq!(item["number"], json!(27));
    assert_eq!(item["ship_date"], json!("2024-01-31T00:00:00+03:00"), "a DATE is midnight in the run's zone");
    assert_eq!(item["weight"], json!(1.5));
    assert_eq!(item["contact_phones"], json!([{"type": "main", "tel": "79125554433"}]));

    let mut row = Row::new(3);
    row.push(CellKind::Error, "#N/A", 0.0);
    row.push(CellKind::Number, "27.5", 27.5);
    row.push(CellKind::Number, "45322", 45322.0);
    row.push(CellKind::FormulaWithoutValue, "=B3*2", 0.0);
    let rules: Vec<Rule> = errors_of(&v, &row).into_iter().map(|e| e.rule).collect();
    assert_eq!(rules, vec![Rule::ErrorCell, Rule::NotAnInteger, Rule::NotADate, Rule::FormulaWithoutValue]);
    let e = &errors_of(&v, &row)[0];
    assert!(e.message.contains("`#N/A`"), "{}", e.message);

    let app = one_field("BOOLEAN", true, "{}");
    let v = Validator::new(&app, &Row::from_texts(1, ["f"]), &Options::default()).unwrap();
    let mut row = Row::new(2);
    row.push(CellKind::Bool, "true", 1.0);
    assert_eq!(errors_of(&v, &row), vec![]);
    assert_eq!(v.to_item(&row).unwrap()["f"], json!(true));
    let mut row = Row::new(3);
    row.push(CellKind::Number, "1", 1.0);
    assert_eq!(errors_of(&v, &row)[0].fix.as_deref(), Some("true"));

    let app = one_field("DATETIME", true, "{}");
    let v = Validator::new(
        &app,
        &Row::from_texts(1, ["f"]),
        &Options { locale: En, time_zone: "Asia/Yekaterinburg".parse().unwrap(), ..Options::default() },
    )
    .unwrap();
    let mut row = Row::new(2);
    row.push(CellKind::Date, "2024-01-31T13:27:00", 45_322.560_416_666_66);
    assert_eq!(errors_of(&v, &row), vec![], "a date cell is accepted as is in any locale");
    assert_eq!(v.to_item(&row).unwrap()["f"], json!("2024-01-31T13:27:00+05:00"), "read in the run's zone");
}

/// A .csv chunk carries an .xlsx's date cells as the locale's text, the time left out
/// for a DATE and at midnight; other cells (and a .csv's rows) as they are. A date-time
/// with seconds is an error for a .csv chunk only.
#[test]
fn date_cells_as_a_csv_chunk_writes_them() {
    let app = AppSchema::from_json(include_str!("../../../templates/logistics.orders.schema.json")).unwrap();
    let header = Row::from_texts(1, ["Order", "Number", "Ship date", "Weight"]);
    let v = Validator::new(&app, &header, &Options::default()).unwrap();
    let mut row = Row::new(2);
    row.push(CellKind::Date, "2024-01-31T13:27:00", 45_322.560_416_666_66);
    row.push(CellKind::Number, "27", 27.0);
    row.push(CellKind::Date, "2024-01-31T13:27:00", 45_322.560_416_666_66);
    row.push(CellKind::Number, "1.5", 1.5);
    let csv = v.csv_row(&row).expect("date cells to rewrite");
    let texts: Vec<&str> = csv.iter().map(|c| c.text).collect();
    assert_eq!(
        texts,
        ["2024-01-31T13:27:00", "27", "31.01.2024", "1.5"],
        "a STRING keeps its text, a DATE its day"
    );
    assert_eq!(csv.number, 2);
    assert_eq!(v.csv_row(&Row::from_texts(3, ["A-1", "27", "31.01.2024", "2"])), None, "text cells stay");

    for (locale, text, serial, written) in [
        (Ru, "2024-01-31T13:27:00", 45_322.560_416_666_66, "31.01.2024 13:27"),
        (En, "2024-01-31T13:27:00", 45_322.560_416_666_66, "1/31/2024 1:27 PM"),
        (Ru, "2024-01-31", 45_322.0, "31.01.2024"),
        (En, "2024-01-31T00:00:00", 45_322.0, "1/31/2024"),
    ] {
        let v = validator("DATETIME", true, "{}", locale);
        let mut row = Row::new(2);
        row.push(CellKind::Date, text, serial);
        let csv = v.csv_row(&row).expect("a date cell");
        assert_eq!(csv.get(0).text, written, "{locale} {text}");
        assert_eq!(v.check_csv_dates(&row), vec![]);
    }

    let v = validator("DATETIME", true, "{}", Ru);
    let mut row = Row::new(7);
    row.push(CellKind::Date, "2024-01-31T13:27:45", 45_322.560_937_5);
    let errors = v.check_csv_dates(&row);
    assert_eq!(errors.len(), 1);
    assert_eq!((errors[0].row, errors[0].column, errors[0].rule), (7, Some(0), Rule::NotADate));
    assert!(errors[0].message.contains("has seconds") && errors[0].message.contains("--chunk-format xlsx"));
    assert_eq!(errors_of(&v, &row), vec![], "an .xlsx chunk holds it: no error otherwise");
}

#[test]
fn fixes_rewrite_to_the_canonical_form() {
    let cases: &[(&str, &str, Locale, &str, &str, Rule)] = &[
        ("BOOLEAN", "{}", Ru, "Да", "true", Rule::BooleanWord),
        ("BOOLEAN", "{}", En, "no", "false", Rule::BooleanWord),
        ("DATETIME", "{}", Ru, "2001-02-03", "03.02.2001", Rule::IsoDate),
        ("DATETIME", "{}", Ru, "2001-02-03 13:27", "03.02.2001 13:27", Rule::IsoDate),
        ("DATETIME", "{}", En, "2001-02-03T13:27:00", "2/3/2001 1:27 PM", Rule::IsoDate),
        ("DATETIME", "{}", En, "2001-02-03T00:05:00", "2/3/2001 12:05 AM", Rule::IsoDate),
        ("DATE", "{}", En, "2001-02-03", "2/3/2001", Rule::IsoDate),
        ("DATE", "{}", Ru, "2001-02-03T00:00:00", "03.02.2001", Rule::IsoDate),
        (
            "ENUM",
            r#"{"options":[{"code":"vip","name":"VIP client"}]}"#,
            Ru,
            "vip",
            "VIP client",
            Rule::OptionCode,
        ),
        (
            "ENUM",
            r#"{"options":[{"code":"vip","name":"VIP client"}]}"#,
            Ru,
            "vip CLIENT",
            "VIP client",
            Rule::OptionCase,
        ),
        ("PHONE", "{}", Ru, "+7 (912) 555-44-33", "79125554433", Rule::PhoneFormat),
        ("SYS_USER", "{}", Ru, UUID, &format!("[{UUID}]"), Rule::BareUuid),
        ("SYS_COLLECTION", "{}", En, &format!(" {UUID} "), &format!("[{UUID}]"), Rule::BareUuid),
    ];
    for (kind, data, locale, before, after, rule) in cases {
        let v = validator(kind, true, data, *locale);
        let row = Row::from_texts(9, [*before]);
        let errors = errors_of(&v, &row);
        assert_eq!(errors.len(), 1, "{kind} `{before}`");
        assert_eq!(errors[0].rule, *rule, "{kind} `{before}`");
        assert!(errors[0].rule.is_fixable());
        assert!(errors[0].message.contains("fixable"), "{}", errors[0].message);
        assert_eq!(errors[0].fix.as_deref(), Some(*after), "{kind} `{before}`");
        let (fixed, fixes) = v.fix_row(&row).unwrap();
        assert_eq!(fixed.get(0).text, *after);
        assert_eq!(fixed.number, 9);
        assert_eq!(fixes.len(), 1);
        assert_eq!(
            (fixes[0].row, fixes[0].column, fixes[0].before.as_str(), fixes[0].after.as_str(), fixes[0].rule),
            (9, 0, *before, *after, *rule)
        );
        assert!(errors_of(&v, &fixed).is_empty(), "{kind}: fixed `{after}` must pass");
    }
}

#[test]
fn unfixable_mistakes_are_left_alone() {
    let cases: &[(&str, Locale, &str)] = &[
        ("BOOLEAN", Ru, "maybe"),
        ("DATETIME", En, "01.02.2003"),
        ("DATETIME", Ru, "2001-02-03T13:27:45"),
        ("DATE", Ru, "2001-02-03 13:27"),
        ("PHONE", Ru, "+7 555-44-33"),
        ("SYS_USER", Ru, "[nope]"),
        ("LINK", Ru, "example.com"),
        ("INTEGER", Ru, "1 000"),
    ];
    for (kind, locale, value) in cases {
        let v = validator(kind, true, "{}", *locale);
        let row = Row::from_texts(2, [*value]);
        let errors = errors_of(&v, &row);
        assert_eq!(errors.len(), 1, "{kind} `{value}`");
        assert_eq!(errors[0].fix, None, "{kind} `{value}`");
        assert!(!errors[0].rule.is_fixable());
        assert!(v.fix_row(&row).is_none(), "{kind} `{value}`");
    }
    // Valid rows have nothing to fix.
    let v = validator("BOOLEAN", true, "{}", Ru);
    assert!(v.fix_row(&Row::from_texts(2, ["true"])).is_none());
}

#[test]
fn fix_row_keeps_other_cells_and_their_kinds() {
    let app = AppSchema::from_json(include_str!("../../../templates/crm.contacts.schema.json")).unwrap();
    let v =
        Validator::new(&app, &Row::from_texts(1, ["Name", "Active", "Amount", "Phone"]), &Options::default())
            .unwrap();
    let mut row = Row::new(4);
    row.push_text(" Anna ");
    row.push_text("yes");
    row.push(CellKind::Number, "125.6", 125.6);
    row.push_text("+7 912 555 44 33");
    let (fixed, fixes) = v.fix_row(&row).unwrap();
    assert_eq!(fixes.iter().map(|f| f.column).collect::<Vec<_>>(), vec![1, 3]);
    assert_eq!(fixed.get(0).text, " Anna ");
    assert_eq!(fixed.get(1).text, "true");
    assert_eq!((fixed.get(2).kind, fixed.get(2).number), (CellKind::Number, 125.6));
    assert_eq!(fixed.get(3).text, "79125554433");
}

#[test]
fn items_follow_the_item_json_table() {
    let app = AppSchema::from_json(include_str!("../../../templates/crm.contacts.schema.json")).unwrap();
    let header: Vec<&str> = app.fields.iter().map(|f| f.name.as_str()).collect();
    let options = Options { time_zone: "+03:00".parse().unwrap(), ..Options::default() };
    let v = Validator::new(&app, &Row::from_texts(1, header), &options).unwrap();
    let row = Row::from_texts(
        2,
        [
            " Anna Petrova ",
            "Rogers Sarah Jane Ann",
            "anna@example.com",
            "79125554433",
            "04.07.1977 13:27",
            "125,6",
            "27",
            "TRUE",
            "Courier delivery",
            "https://example.com",
            &format!("[{}]", UUID.to_uppercase()),
            "",
            "two\nlines",
        ],
    );
    let item = v.to_item(&row).unwrap();
    assert_eq!(
        serde_json::Value::Object(item),
        json!({
            "__name": "Anna Petrova",
            "full_name": {"lastname": "Rogers", "firstname": "Sarah", "middlename": "Jane Ann"},
            "email": [{"type": "main", "email": "anna@example.com"}],
            "phone": [{"type": "main", "tel": "79125554433"}],
            "birth_date": "1977-07-04T13:27:00+03:00",
            "amount": {"cents": 12560, "currency": "RUB"},
            "quantity": 27.0,
            "active": true,
            "segment": [{"code": "courier_delivery", "name": "Courier delivery"}],
            "website": "https://example.com",
            "manager": [UUID],
            "comment": "two\nlines",
        })
    );

    let app = AppSchema::from_json(include_str!("../../../templates/logistics.orders.schema.json")).unwrap();
    let header = [
        "Order",
        "Number",
        "Ship date",
        "Status",
        "Tags",
        "Contact phones",
        "Waybill",
        "Couriers",
        "Lines",
        "Extra",
    ];
    let v = Validator::new(
        &app,
        &Row::from_texts(1, header),
        &Options { locale: En, time_zone: "America/New_York".parse().unwrap(), ..Options::default() },
    )
    .unwrap();
    let table = r#"[{"rows":[{"sku":"A"}],"result":{"__count":1},"view":""}]"#;
    let row = Row::from_texts(
        2,
        [
            "A-1",
            "-12",
            "4/17/2022",
            "In progress",
            "Fragile, Express",
            "79125554433,79125554434",
            &format!("scan.pdf[{UUID}]"),
            &format!("[{UUID}], [{UUID}]"),
            table,
            r#"{"a":[1,2]}"#,
        ],
    );
    let item = v.to_item(&row).unwrap();
    assert_eq!(item["number"], json!(-12));
    assert_eq!(item["ship_date"], json!("2022-04-17T00:00:00-04:00"), "New York in summer");
    assert_eq!(item["__status"], json!({"code": "in_progress", "name": "In progress"}));
    assert_eq!(
        item["tags"],
        json!([{"code": "fragile", "name": "Fragile"}, {"code": "express", "name": "Express"}])
    );
    assert_eq!(
        item["contact_phones"],
        json!([{"type": "main", "tel": "79125554433"}, {"type": "main", "tel": "79125554434"}]),
        "several values merge into one array"
    );
    assert_eq!(item["waybill"], json!([UUID]), "a file is its id");
    assert_eq!(item["couriers"], json!([UUID, UUID]));
    assert_eq!(item["lines"], serde_json::from_str::<serde_json::Value>(table).unwrap());
    assert_eq!(item["extra"], json!({"a": [1, 2]}));

    // Money takes the field's currency and its smallest coin.
    let yen = validator("MONEY", true, r#"{"currency":"JPY"}"#, Ru);
    assert_eq!(
        yen.to_item(&Row::from_texts(2, ["1500"])).unwrap()["f"],
        json!({"cents": 1500, "currency": "JPY"})
    );
    let mut number = Row::new(3);
    number.push(CellKind::Number, "0.1", 0.1);
    let rub = validator("MONEY", true, "{}", Ru);
    assert_eq!(rub.to_item(&number).unwrap()["f"], json!({"cents": 10, "currency": "RUB"}));
    let mut fine = Row::new(4);
    fine.push(CellKind::Number, "1.005", 1.005);
    assert!(rub.to_item(&fine).is_err(), "an amount finer than a kopeck is not rounded");
    assert!(rub.to_item(&Row::from_texts(5, ["1.005"])).is_err());
    // A category is an array even when single.
    let one = validator("ENUM", true, r#"{"options":[{"code":"vip","name":"VIP"}]}"#, Ru);
    assert_eq!(
        one.to_item(&Row::from_texts(2, ["VIP"])).unwrap()["f"],
        json!([{"code": "vip", "name": "VIP"}])
    );

    let bad = Row::from_texts(3, ["A-2", "x"]);
    let errors = v.to_item(&bad).unwrap_err();
    assert_eq!(errors.iter().map(|e| e.rule).collect::<Vec<_>>(), vec![Rule::NotAnInteger]);
}
