//! Reading the .xlsx fixtures written by openpyxl, XlsxWriter and LibreOffice.

use crate::common;

use common::{all_rows, cells, chain, fixture, open_fixture, texts};
use elma_import_sheet::{open, CellKind, Format, ReadOptions, SheetError};

use CellKind::{Bool, Date, Empty, Error, FormulaWithoutValue, Number, Text};

const MGR: &str = "[29cadb73-8246-4f3d-9992-87a4a1ad20cf]";

/// The contacts rows as every producer wrote them (the generator's data), with the
/// comment of row 7 (`=not a formula`) and of row 10 (`tab\there`) per producer.
fn contacts(row7_comment: (CellKind, &str), row10_comment: &str) -> Vec<Vec<(CellKind, String)>> {
    let rows: Vec<Vec<(CellKind, &str)>> = vec![
        vec![
            (Text, "Anna"),
            (Text, "Smirnova Anna Petrovna"),
            (Text, "anna@example.com"),
            (Text, "79125554433"),
            (Date, "1990-05-17"),
            (Number, "1250.5"),
            (Number, "3"),
            (Bool, "true"),
            (Text, "Retail"),
            (Text, "https://example.com"),
            (Text, MGR),
            (Text, "Acme"),
            (Text, "Called twice\nwants a discount"),
        ],
        vec![
            (Text, "Boris"),
            (Text, "Ivanov Boris"),
            (Text, "boris@example.org"),
            (Text, "+7 (912) 555-44-33"),
            (Date, "1985-12-01"),
            (Number, "0.1"),
            (Number, "0"),
            (Bool, "false"),
            (Text, "Wholesale"),
            (Text, "example.org"),
            (Text, MGR),
            (Text, "Рога и копыта"),
        ],
        vec![
            (Text, "Вера"),
            (Text, "Петрова Вера Ивановна"),
            (Text, "vera@пример.рф"),
            (Text, "74951234567"),
            (Date, "2024-01-31T13:27:00"),
            (Number, "27"),
            (Number, "12"),
            (Bool, "true"),
            (Text, "Retail"),
            (Text, "https://пример.рф"),
            (Text, MGR),
            (Text, "ООО \"Ромашка\""),
            (Text, "Постоянный клиент"),
        ],
        vec![
            (Text, "Dmitry"),
            (Text, "Sokolov Dmitry"),
            (Text, "not-an-email"),
            (Text, "8800"),
            (Date, "2000-02-29"),
            (Number, "-15.75"),
            (Number, "1"),
            (Bool, "true"),
            (Text, "VIP"),
            (Text, "http://example.net/a?b=1,2"),
            (Text, MGR),
            (Text, "Acme; Ltd"),
            (Text, "semicolon; and, comma"),
        ],
        vec![
            (Text, "Elena"),
            (Text, "Kuznetsova Elena"),
            (Text, "elena@example.com"),
            (Text, "79001112233"),
            (Date, "1977-07-04T13:27:00"),
            (Number, "1000000"),
            (Number, "250"),
            (Bool, "false"),
            (Text, "Retail"),
            (Text, "https://example.com/e"),
            (Text, MGR),
            (Text, "Globex"),
            (Text, "Line one\nLine two\nLine three"),
        ],
        vec![
            (Text, "Fedor"),
            (Text, "Popov Fedor"),
            (Text, "fedor@example.com"),
            (Text, "79002223344"),
            (Date, "1969-07-20"),
            (Number, "3.14159"),
            (Number, "7"),
            (Bool, "true"),
            (Text, "Wholesale"),
            (Empty, ""),
            (Text, MGR),
            (Text, "Initech"),
            row7_comment,
        ],
        vec![
            (Text, "Galina"),
            (Text, "Vasilyeva Galina"),
            (Text, "galina@example.com"),
            (Text, "79003334455"),
            (Date, "1999-12-31T23:59:00"),
            (Number, "99.99"),
            (Number, "100"),
            (Bool, "false"),
            (Text, "VIP"),
            (Text, "https://galina.example.com"),
            (Empty, ""),
            (Text, "Umbrella"),
            (Text, "  spaces around  "),
        ],
        vec![
            (Text, "Ivan"),
            (Text, "Morozov Ivan"),
            (Text, "ivan@example.com"),
            (Text, "00123"),
            (Date, "2010-10-10"),
            (Number, "12345.678"),
            (Number, "42"),
            (Bool, "true"),
            (Text, "Retail"),
            (Text, "https://example.com/i"),
            (Text, MGR),
            (Text, "Hooli"),
            (Text, "leading zeros kept in 00123"),
        ],
        vec![
            (Text, "Kira"),
            (Text, "Novikova Kira"),
            (Text, "kira@example.com"),
            (Text, "79005556677"),
            (Date, "1995-03-08"),
            (Number, "0.00001"),
            (Number, "5"),
            (Bool, "true"),
            (Text, "Retail"),
            (Text, "https://example.com/k"),
            (Text, MGR),
            (Text, "Vandelay"),
            (Text, row10_comment),
        ],
        vec![
            (Text, "Lev"),
            (Text, "Fedorov Lev"),
            (Text, "lev@example.com"),
            (Text, "79006667788"),
            (Date, "1980-01-01"),
            (Number, "500"),
            (Number, "9"),
            (Bool, "false"),
            (Text, "Wholesale"),
            (Text, "https://example.com/l"),
            (Text, MGR),
            (Text, "Stark"),
            (Text, "last row"),
        ],
    ];
    rows.into_iter().map(|r| r.into_iter().map(|(k, t)| (k, t.to_string())).collect()).collect()
}

const HEADER: [&str; 13] = [
    "Name",
    "Full name",
    "Email",
    "Phone",
    "Birth date",
    "Amount",
    "Quantity",
    "Active",
    "Segment",
    "Website",
    "Manager",
    "Company",
    "Comment",
];

fn check_contacts(name: &str, row7_comment: (CellKind, &str), row10_comment: &str) {
    let mut r = open_fixture(name, &ReadOptions::default());
    assert_eq!(r.format(), Format::Xlsx);
    assert_eq!(r.describe(), "XLSX, sheet `Contacts`");
    assert_eq!(cells(r.header()), texts(&HEADER), "{name}: header");
    let rows = all_rows(&mut r);
    let expected = contacts(row7_comment, row10_comment);
    assert_eq!(rows.len(), expected.len(), "{name}");
    for (i, (row, want)) in rows.iter().zip(&expected).enumerate() {
        assert_eq!(row.number, i as u64 + 2, "{name}");
        assert_eq!(cells(row), *want, "{name}: row {}", row.number);
    }
    // Numbers and dates carry their values; dates in the 1900 system.
    assert_eq!(rows[0].get(5).number, 1250.5);
    // LibreOffice keeps 15 significant digits.
    assert!((rows[2].get(4).number - (45322.0 + (13.0 * 60.0 + 27.0) / 1440.0)).abs() < 1e-9);
    assert_eq!(rows[0].get(7).number, 1.0);
    let (done, total) = r.progress();
    assert_eq!(done, total);
}

#[test]
fn contacts_written_by_openpyxl() {
    // openpyxl stores any string starting with `=` as a formula, without a value.
    check_contacts("contacts_openpyxl.xlsx", (FormulaWithoutValue, "=not a formula"), "tab\there");
}

#[test]
fn contacts_written_by_python_xlsxwriter() {
    check_contacts("contacts_xlsxwriter.xlsx", (Text, "=not a formula"), "tab\there");
}

#[test]
fn contacts_resaved_by_libreoffice() {
    // LibreOffice computed openpyxl's `=not a formula` (an error) and dropped the tab.
    check_contacts("contacts_libreoffice.xlsx", (Error, "#VALUE!"), "tabhere");
}

#[test]
fn dates_in_the_1904_system_read_as_1900_serials() {
    let mut r = open_fixture("dates_1904.xlsx", &ReadOptions::default());
    let rows = all_rows(&mut r);
    assert_eq!(cells(&rows[0]), [(Text, "midnight".into()), (Date, "2024-01-31".into())]);
    assert_eq!(rows[0].get(1).number, 45322.0);
    assert_eq!(cells(&rows[1]), [(Text, "afternoon".into()), (Date, "2024-01-31T13:27:00".into())]);
    assert_eq!(cells(&rows[2]), [(Text, "epoch".into()), (Date, "1904-01-01".into())]);
    assert_eq!(rows[2].get(1).number, 1462.0);
    assert_eq!(cells(&rows[3]), [(Text, "plain number".into()), (Number, "27".into())]);
    assert_eq!(rows[3].get(1).number, 27.0, "numbers are not shifted");
}

#[test]
fn error_cells_are_errors_and_error_like_text_is_text() {
    let mut r = open_fixture("error_cells.xlsx", &ReadOptions::default());
    let rows = all_rows(&mut r);
    assert_eq!(rows.iter().map(|r| r.number).collect::<Vec<_>>(), [2, 3, 4]);
    assert_eq!(cells(&rows[0]), [(Text, "na".into()), (Error, "#N/A".into()), (Text, "text".into())]);
    assert_eq!(
        cells(&rows[1]),
        [(Text, "div".into()), (Error, "#DIV/0!".into()), (Text, "#not an error".into())]
    );
    assert_eq!(cells(&rows[2]), [(Text, "value".into()), (Error, "#VALUE!".into())]);
}

#[test]
fn formulas_without_cached_values_are_reported_with_their_formula() {
    let mut r = open_fixture("formula_no_value.xlsx", &ReadOptions::default());
    let rows = all_rows(&mut r);
    assert_eq!(
        cells(&rows[0]),
        [
            (Text, "pen".into()),
            (Number, "1.5".into()),
            (Number, "4".into()),
            (FormulaWithoutValue, "=B2*C2".into())
        ]
    );
    assert_eq!(cells(&rows[1])[3], (FormulaWithoutValue, "=B3*C3".into()));
    assert_eq!(
        cells(&rows[2]),
        [
            (Text, "sum".into()),
            (Empty, "".into()),
            (Empty, "".into()),
            (FormulaWithoutValue, "=SUM(D2:D3)".into())
        ]
    );
}

#[test]
fn formulas_with_cached_values_read_as_the_value() {
    let mut r = open_fixture("formula_cached.xlsx", &ReadOptions::default());
    let rows = all_rows(&mut r);
    assert_eq!(
        cells(&rows[0]),
        [
            (Text, "pen".into()),
            (Number, "1.5".into()),
            (Number, "4".into()),
            (Number, "6".into()),
            (Text, "pen x4".into()),
            (Bool, "true".into()),
            (Error, "#N/A".into()),
        ]
    );
}

#[test]
fn inline_strings_keep_line_breaks_and_spaces() {
    let mut r = open_fixture("inline_strings.xlsx", &ReadOptions::default());
    assert_eq!(cells(r.header()), texts(&["Name", "Comment"]));
    let rows = all_rows(&mut r);
    assert_eq!(cells(&rows[0]), texts(&["Anna", "inline\nstring"]));
    assert_eq!(cells(&rows[1]), texts(&["Вера", "  keeps spaces  "]));
}

#[test]
fn a_stray_cell_at_xfd1048576_is_one_wide_row_not_a_huge_range() {
    let mut r = open_fixture("stray_cell_xfd1048576.xlsx", &ReadOptions::default());
    assert_eq!(cells(r.header()), texts(&["Name", "Email"]));
    let rows = all_rows(&mut r);
    assert_eq!(rows.len(), 2);
    assert_eq!(cells(&rows[0]), texts(&["Anna", "anna@example.com"]));
    let stray = &rows[1];
    assert_eq!(stray.number, 1_048_576);
    assert_eq!(stray.len(), 16_384);
    assert_eq!(stray.width(), 16_384);
    assert_eq!(stray.get(16_383).text, "stray");
    assert!((0..16_383).all(|i| stray.get(i).kind == Empty));
    // One row's worth of text, not 17 billion cells.
    assert_eq!(stray.text_len(), "stray".len());
}

#[test]
fn empty_workbook_has_an_empty_header_and_no_rows() {
    let mut r = open_fixture("empty.xlsx", &ReadOptions::default());
    assert!(r.header().is_empty());
    assert_eq!(r.header().number, 1);
    assert!(r.next_batch().expect("no error").is_none());
}

#[test]
fn header_only_sheet_has_no_rows() {
    let mut r = open_fixture("header_only.xlsx", &ReadOptions::default());
    assert_eq!(cells(r.header()), texts(&["Name", "Email", "Phone"]));
    assert!(r.next_batch().expect("no error").is_none());
}

#[test]
fn first_worksheet_by_default_and_another_by_name() {
    let r = open_fixture("two_sheets.xlsx", &ReadOptions::default());
    assert_eq!(r.describe(), "XLSX, sheet `Readme`");
    assert_eq!(r.header().len(), 1);

    let options = ReadOptions { sheet: Some("Contacts".into()), ..Default::default() };
    let mut r = open_fixture("two_sheets.xlsx", &options);
    assert_eq!(r.describe(), "XLSX, sheet `Contacts`");
    assert_eq!(cells(r.header()), texts(&["Name", "Email"]));
    let rows = all_rows(&mut r);
    // Row 3 is empty in the sheet; Boris keeps his real row number.
    assert_eq!(rows.iter().map(|r| r.number).collect::<Vec<_>>(), [2, 4]);
    assert_eq!(cells(&rows[1]), texts(&["Boris", "boris@example.org"]));
}

#[test]
fn a_missing_sheet_lists_the_worksheets() {
    let options = ReadOptions { sheet: Some("Orders".into()), ..Default::default() };
    let err = open(&fixture("two_sheets.xlsx"), &options).expect_err("no such sheet");
    assert!(matches!(err, SheetError::SheetNotFound { .. }));
    let message = err.to_string();
    assert!(message.contains("two_sheets.xlsx"), "{message}");
    assert!(message.contains("`Orders`"), "{message}");
    assert!(message.contains("`Readme`, `Contacts`"), "{message}");
}

#[test]
fn a_file_that_is_not_a_workbook_is_an_error_naming_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("fake.xlsx");
    std::fs::write(&path, "Name,Email\n").expect("write");
    let err = open(&path, &ReadOptions::default()).expect_err("not a zip");
    assert!(matches!(err, SheetError::Xlsx { .. }), "{err:?}");
    assert!(chain(&err).contains("fake.xlsx"), "{}", chain(&err));
}

#[test]
fn dropping_a_reader_midway_does_not_hang_or_leak_errors() {
    let options = ReadOptions { batch_rows: 1, ..Default::default() };
    for _ in 0..50 {
        let mut r = open_fixture("contacts_xlsxwriter.xlsx", &options);
        let first = r.next_batch().expect("read").expect("a batch");
        assert_eq!(first[0].number, 2);
        drop(r);
    }
}
