//! The two .xlsx engines (calamine's cell reader, and the streaming reader used for
//! workbooks with a large shared-strings table) read every workbook identically.

use crate::common;

use std::path::Path;

use common::{chain, fixture};
use elma_import_sheet::testing::{open_xlsx_with, XlsxEngine};
use elma_import_sheet::{CellKind, ReadOptions, Row, SheetError};
use rust_xlsxwriter::{ExcelDateTime, Format, Formula, Workbook};

/// Everything a reader gives: description, header, rows (number, kind, text, value),
/// or the error's text.
fn read_all(path: &Path, options: &ReadOptions, engine: XlsxEngine) -> Result<(String, Vec<Row>), String> {
    let mut reader = open_xlsx_with(path, options, engine).map_err(|e| chain(&e))?;
    let mut rows = vec![reader.header().clone()];
    while let Some(batch) = reader.next_batch().map_err(|e| chain(&e))? {
        rows.extend(batch);
    }
    assert_eq!(reader.progress().0, reader.progress().1, "progress ends at the total");
    Ok((reader.describe(), rows))
}

fn assert_same(path: &Path, options: &ReadOptions) -> (String, Vec<Row>) {
    let calamine = read_all(path, options, XlsxEngine::Calamine);
    let streaming = read_all(path, options, XlsxEngine::Streaming);
    let name = path.display();
    match (&calamine, &streaming) {
        (Ok((d1, r1)), Ok((d2, r2))) => {
            assert_eq!(d1, d2, "{name}: describe");
            assert_eq!(r1.len(), r2.len(), "{name}: row count");
            for (a, b) in r1.iter().zip(r2) {
                assert_eq!(a, b, "{name}: row {}", a.number);
            }
        }
        _ => panic!("{name}: calamine {calamine:?}\nstreaming {streaming:?}"),
    }
    calamine.unwrap_or_default()
}

#[test]
fn every_fixture_reads_the_same_through_both_engines() {
    let dir = fixture("");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).expect("fixtures") {
        let path = entry.expect("entry").path();
        if path.extension().and_then(|e| e.to_str()) != Some("xlsx") {
            continue;
        }
        let (_, rows) = assert_same(&path, &ReadOptions::default());
        if path.file_name().and_then(|n| n.to_str()) == Some("contacts_xlsxwriter.xlsx") {
            assert_eq!(rows.len(), 11, "header and ten contacts");
        }
        seen += 1;
    }
    assert!(seen >= 10, "only {seen} .xlsx fixtures");
    // Another sheet by name, case-insensitively, and with one-row batches.
    let two = fixture("two_sheets.xlsx");
    let (describe, rows) = assert_same(
        &two,
        &ReadOptions { sheet: Some("contacts".into()), batch_rows: 1, ..Default::default() },
    );
    assert_eq!(describe, "XLSX, sheet `Contacts`");
    assert_eq!(rows.iter().map(|r| r.number).collect::<Vec<_>>(), [1, 2, 4]);
}

#[test]
fn a_missing_sheet_is_the_same_error_in_both_engines() {
    let options = ReadOptions { sheet: Some("Orders".into()), ..Default::default() };
    for engine in [XlsxEngine::Calamine, XlsxEngine::Streaming] {
        let err = open_xlsx_with(&fixture("two_sheets.xlsx"), &options, engine).expect_err("no such sheet");
        assert!(matches!(err, SheetError::SheetNotFound { .. }), "{engine:?}: {err:?}");
        assert!(err.to_string().contains("`Readme`, `Contacts`"), "{engine:?}: {err}");
    }
}

#[test]
fn a_file_that_is_not_a_workbook_is_an_error_in_both_engines() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("fake.xlsx");
    std::fs::write(&path, "Name,Email\n").expect("write");
    for engine in [XlsxEngine::Calamine, XlsxEngine::Streaming] {
        let err = open_xlsx_with(&path, &ReadOptions::default(), engine).expect_err("not a zip");
        assert!(matches!(err, SheetError::Xlsx { .. }), "{engine:?}: {err:?}");
        assert!(chain(&err).contains("fake.xlsx"), "{}", chain(&err));
    }
}

/// Text that exercises the shared-strings decoding: escapes, white space, entities,
/// Excel's `_xHHHH_` escapes (rust_xlsxwriter writes `\r` and control characters that
/// way, and a literal `_x000D_` as `_x005F_x000D_`), every script.
const TRICKY: &[&str] = &[
    "plain",
    "  leading and trailing spaces  ",
    "line 1\nline 2",
    "carriage\r\nreturn",
    "literal _x000D_ text",
    "bell \u{7} and tab\t",
    "<tag> & \"quotes\" 'apostrophes'",
    "Кириллица, 中文, العربية, emoji 🦀📷",
    "=not a formula",
    "#N/A",
    "0012345",
    "trailing newline\n",
];

/// A workbook with many distinct shared strings (enough to spill past the in-memory
/// part of the streaming engine's table and across its read window several times),
/// reused strings, rich text, numbers, dates, booleans and formulas.
fn write_big_sst(path: &Path, rows: u32) {
    let mut workbook = Workbook::new();
    let bold = Format::new().set_bold();
    let italic = Format::new().set_italic();
    let date = Format::new().set_num_format("dd.mm.yyyy hh:mm");
    let duration = Format::new().set_num_format("[h]:mm:ss");
    let money = Format::new().set_num_format("#,##0.00 \"₽\"");
    let sheet = workbook.add_worksheet();
    sheet.set_name("Big").expect("name");
    let header = ["Id", "Name", "Tricky", "Rich", "Amount", "Date", "Flag", "Formula", "Reused", "Duration"];
    for (c, h) in header.iter().enumerate() {
        sheet.write_string(0, c as u16, *h).expect("header");
    }
    for r in 1..=rows {
        let i = r as usize;
        sheet.write_number(r, 0, f64::from(r)).expect("id");
        sheet.write_string(r, 1, format!("Person number {r} with a reasonably long name Ёжик-{} and a longer tail to fill the table", r * 7919)).expect("name");
        if r % 5 != 0 {
            sheet.write_string(r, 2, format!("{} #{r}", TRICKY[i % TRICKY.len()])).expect("tricky");
        }
        if r % 3 == 0 {
            let first = format!("bold {r} ");
            let segments =
                [(&bold, first.as_str()), (&italic, " italic  "), (&Format::new(), "plain _x0041_ 🦀")];
            sheet.write_rich_string(r, 3, &segments).expect("rich");
        }
        sheet.write_number_with_format(r, 4, f64::from(r) * 1.25 - 7.0, &money).expect("amount");
        let day = ExcelDateTime::from_ymd(2000 + (r % 30) as u16, 1 + (r % 12) as u8, 1 + (r % 28) as u8)
            .and_then(|d| d.and_hms((r % 24) as u16, (r % 60) as u8, 0))
            .expect("date");
        sheet.write_datetime_with_format(r, 5, &day, &date).expect("date");
        sheet.write_boolean(r, 6, r % 2 == 0).expect("flag");
        if r % 7 == 0 {
            sheet
                .write_formula(r, 7, Formula::new(format!("=A{}*2", r + 1)).set_result((2 * r).to_string()))
                .expect("f");
        } else if r % 11 == 0 {
            sheet.write_formula(r, 7, format!("=SUM(A2:A{})", r + 1).as_str()).expect("f");
        }
        sheet.write_string(r, 8, TRICKY[i % 3]).expect("reused");
        if r % 13 == 0 {
            sheet.write_number_with_format(r, 9, 1.5 + f64::from(r % 4), &duration).expect("duration");
        }
    }
    // A second sheet so that the sheet is found by name, and the strings are shared.
    let other = workbook.add_worksheet();
    other.set_name("Second").expect("name");
    other.write_string(0, 0, TRICKY[4]).expect("second");
    other.write_string(2, 3, "after a gap").expect("second");
    workbook.save(path).expect("save");
}

#[test]
fn a_workbook_with_many_shared_strings_reads_the_same_through_both_engines() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("big-sst.xlsx");
    let rows = 60_000;
    write_big_sst(&path, rows);
    let (describe, got) = assert_same(&path, &ReadOptions { batch_rows: 1000, ..Default::default() });
    assert_eq!(describe, "XLSX, sheet `Big`");
    assert_eq!(got.len(), rows as usize + 1);
    // Spot checks against what was written, so that "the same" is also "right".
    let r = &got[21];
    assert_eq!(r.number, 22);
    assert_eq!(r.get(0).text, "21");
    assert!(r.get(1).text.starts_with("Person number 21 with"));
    assert_eq!(r.get(2).text, format!("{} #21", TRICKY[21 % TRICKY.len()]));
    assert_eq!(
        r.get(3).text,
        "bold 21  italic  plain A 🦀",
        "rust_xlsxwriter leaves `_x0041_` in rich text as is"
    );
    assert_eq!((r.get(5).kind, r.get(5).text), (CellKind::Date, "2021-10-22T21:21:00"));
    assert_eq!(r.get(6).text, "false");
    assert_eq!((r.get(7).kind, r.get(7).text), (CellKind::Number, "42"));
    let texts: Vec<&str> = got.iter().skip(1).take(TRICKY.len() * 5).map(|r| r.get(2).text).collect();
    for t in TRICKY {
        assert!(texts.iter().any(|x| x.starts_with(t)), "{t:?} read back");
    }
    // rust_xlsxwriter stores 0 as a formula's result unless told otherwise (formulas
    // without a value are in the fixtures).
    assert_eq!((got[22].get(7).kind, got[22].get(7).text), (CellKind::Number, "0"));
    assert_eq!(got[13].get(9).kind, CellKind::Number, "a duration is its number of days");

    let second = ReadOptions { sheet: Some("Second".into()), ..Default::default() };
    let (_, rows) = assert_same(&path, &second);
    assert_eq!(rows[0].get(0).text, TRICKY[4]);
    assert_eq!((rows[1].number, rows[1].get(3).text), (3, "after a gap"));
}
