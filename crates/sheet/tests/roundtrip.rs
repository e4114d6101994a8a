//! Writing .csv and .xlsx files and reading them back.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{all_rows, cells, chain};
use elma_import_sheet::{create, open, CellKind, Format, ReadOptions, Row, SheetError, WriteOptions};
use proptest::prelude::*;

fn write(path: &Path, format: Format, options: &WriteOptions, rows: &[Row]) -> u64 {
    let mut w = create(path, format, options).unwrap_or_else(|e| panic!("{}", chain(&e)));
    for row in rows {
        w.write_row(row).unwrap_or_else(|e| panic!("{}", chain(&e)));
    }
    w.finish().unwrap_or_else(|e| panic!("{}", chain(&e)))
}

fn read_back(path: &Path, options: &ReadOptions) -> Vec<Row> {
    let mut r = open(path, options).unwrap_or_else(|e| panic!("{}", chain(&e)));
    let mut rows = vec![r.header().clone()];
    rows.extend(all_rows(&mut r));
    rows
}

/// A header and rows of every cell kind.
fn typed_rows() -> Vec<Row> {
    let header = Row::from_texts(
        1,
        ["Name", "Amount", "Born", "Active", "Lookup", "Phone", "Formula-like", "Comment"],
    );
    let mut a = Row::new(2);
    a.push_text("Anna");
    a.push(CellKind::Number, "1250.5", 1250.5);
    a.push(CellKind::Date, "2024-01-31T13:27:00", 45322.0 + (13.0 * 60.0 + 27.0) / 1440.0);
    a.push(CellKind::Bool, "true", 1.0);
    a.push(CellKind::Error, "#N/A", 0.0);
    a.push_text("00123");
    a.push_text("=SUM(A1:A2)");
    a.push_text("line 1\nline 2, \"quoted\"; done");
    let mut b = Row::new(3);
    b.push_text("Вера");
    b.push(CellKind::Number, "-0.1", -0.1);
    b.push(CellKind::Date, "1990-05-17", 33_010.0);
    b.push(CellKind::Bool, "false", 0.0);
    b.push_text("");
    b.push_text("27");
    b.push_text("  spaces  ");
    b.push_text("_x0041_ stays literal");
    vec![header, a, b]
}

#[test]
fn csv_round_trip_keeps_text_exactly() {
    let dir = tempfile::tempdir().expect("temp dir");
    for delimiter in [b',', b';', b'\t'] {
        let path = dir.path().join("out.csv");
        let rows = typed_rows();
        let options = WriteOptions { delimiter, ..Default::default() };
        let bytes = write(&path, Format::Csv, &options, &rows);
        assert_eq!(bytes, std::fs::metadata(&path).expect("written").len());
        let back = read_back(&path, &ReadOptions::default());
        assert_eq!(back.len(), rows.len());
        for (got, want) in back.iter().zip(&rows) {
            assert_eq!(got.number, want.number);
            let texts: Vec<&str> = got.iter().map(|c| c.text).collect();
            let expected: Vec<&str> = want.iter().map(|c| c.text).collect();
            assert_eq!(texts, expected, "delimiter {:?}", delimiter as char);
            // Every .csv cell is text.
            assert!(got.iter().all(|c| matches!(c.kind, CellKind::Text | CellKind::Empty)));
        }
    }
}

#[test]
fn xlsx_round_trip_keeps_text_kinds_and_values() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("out.xlsx");
    let rows = typed_rows();
    write(&path, Format::Xlsx, &WriteOptions::default(), &rows);
    let back = read_back(&path, &ReadOptions::default());
    assert_eq!(back.len(), 3);
    assert_eq!(cells(&back[0]), cells(&rows[0]));
    assert_eq!(
        cells(&back[1]),
        [
            (CellKind::Text, "Anna".into()),
            (CellKind::Number, "1250.5".into()),
            (CellKind::Date, "2024-01-31T13:27:00".into()),
            (CellKind::Bool, "true".into()),
            // Error cells are written as their text.
            (CellKind::Text, "#N/A".into()),
            (CellKind::Text, "00123".into()),
            (CellKind::Text, "=SUM(A1:A2)".into()),
            (CellKind::Text, "line 1\nline 2, \"quoted\"; done".into()),
        ]
    );
    assert_eq!(cells(&back[2]), cells(&rows[2]));
    assert_eq!(back[1].get(1).number, 1250.5);
    assert!((back[1].get(2).number - rows[1].get(2).number).abs() < 1e-9);
    assert_eq!(back[2].get(2).number, 33_010.0);
}

#[test]
fn xlsx_header_is_bold_dates_use_the_date_format_and_notes_are_written() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("notes.xlsx");
    let rows = typed_rows();
    let options =
        WriteOptions { date_format: "yyyy-mm-dd".into(), sheet_name: "Errors".into(), ..Default::default() };
    let mut w = create(&path, Format::Xlsx, &options).expect("create");
    w.write_row(&rows[0]).expect("header");
    w.write_row_with_notes(
        &rows[1],
        &[(1, "not a number".into()), (1, "second note".into()), (9, "past the end".into())],
    )
    .expect("row with notes");
    w.write_row(&rows[2]).expect("row");
    w.finish().expect("finish");

    let options = ReadOptions { sheet: Some("Errors".into()), ..Default::default() };
    let back = read_back(&path, &options);
    assert_eq!(back[1].get(1).text, "1250.5", "a noted cell keeps its value");
    assert_eq!(back[1].len(), 8, "a note past the row's end adds no text");

    let unzip = |member: &str| {
        let out = Command::new("unzip").arg("-p").arg(&path).arg(member).output().ok()?;
        Some(String::from_utf8_lossy(&out.stdout).into_owned())
    };
    let (Some(styles), Some(comments)) = (unzip("xl/styles.xml"), unzip("xl/comments1.xml")) else {
        eprintln!("skipped the look inside: `unzip` is not installed");
        return;
    };
    assert!(styles.contains("<b/>"), "a bold font: {styles}");
    assert!(styles.contains("yyyy-mm-dd"), "the date format: {styles}");
    assert!(styles.contains("FFFFC7CE"), "the note fill: {styles}");
    assert!(
        comments.contains("not a number\nsecond note") || comments.contains("not a number&#10;second note"),
        "{comments}"
    );
    assert!(comments.contains("ref=\"B2\"") && comments.contains("ref=\"J2\""), "{comments}");
}

#[test]
fn csv_ignores_notes() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("notes.csv");
    let mut w = create(&path, Format::Csv, &WriteOptions::default()).expect("create");
    w.write_row_with_notes(&Row::from_texts(1, ["a", "b"]), &[(0, "note".into())]).expect("write");
    w.finish().expect("finish");
    assert_eq!(std::fs::read_to_string(&path).expect("read"), "a,b\n");
}

#[test]
fn xlsx_refuses_text_over_32767_characters_but_csv_keeps_100000() {
    let dir = tempfile::tempdir().expect("temp dir");
    let long: String = "Ж\"\n,".chars().cycle().take(100_000).collect();
    let rows = vec![Row::from_texts(1, ["Comment"]), Row::from_texts(2, [long.as_str()])];

    let csv = dir.path().join("long.csv");
    write(&csv, Format::Csv, &WriteOptions::default(), &rows);
    let back = read_back(&csv, &ReadOptions::default());
    assert_eq!(back[1].get(0).text, long);

    let xlsx = dir.path().join("long.xlsx");
    let mut w = create(&xlsx, Format::Xlsx, &WriteOptions::default()).expect("create");
    w.write_row(&rows[0]).expect("header");
    match w.write_row(&rows[1]) {
        Err(SheetError::CellTooLong { row: 2, column: 1, length: 100_000, limit: 32_767, .. }) => {}
        other => panic!("expected CellTooLong, got {other:?}"),
    }
}

#[test]
fn empty_rows_and_empty_sheets_survive() {
    let dir = tempfile::tempdir().expect("temp dir");
    for format in [Format::Csv, Format::Xlsx] {
        let path = dir.path().join(format!("empty.{format}"));
        write(&path, format, &WriteOptions::default(), &[]);
        let mut r = open(&path, &ReadOptions::default()).expect("open");
        assert!(r.header().is_empty(), "{format}");
        assert!(r.next_batch().expect("read").is_none(), "{format}");

        let rows = vec![Row::from_texts(1, ["a"]), Row::new(2), Row::from_texts(3, ["c"])];
        write(&path, format, &WriteOptions::default(), &rows);
        let back = read_back(&path, &ReadOptions::default());
        // The empty row keeps its place: `c` is still row 3.
        assert_eq!(
            back.last().map(|r| (r.number, r.get(0).text.to_string())),
            Some((3, "c".into())),
            "{format}"
        );
    }
}

/// The path of `soffice` when LibreOffice is installed.
fn soffice() -> Option<PathBuf> {
    let out = Command::new("sh").arg("-c").arg("command -v soffice").output().ok()?;
    let path = String::from_utf8(out.stdout).ok()?;
    let path = path.trim();
    (!path.is_empty()).then(|| PathBuf::from(path))
}

/// Our .xlsx (with notes, dates and formula-like text) opens in LibreOffice, which
/// reads back the same text (a repair prompt would fail the headless conversion).
#[test]
fn libreoffice_reads_our_xlsx_exactly() {
    let Some(soffice) = soffice() else {
        eprintln!("skipped: LibreOffice (soffice) is not installed");
        return;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("ours.xlsx");
    let header = Row::from_texts(1, ["Name", "Amount", "Comment", "Code", "Active", "Born"]);
    let mut row = Row::new(2);
    row.push_text("Анна \"A\", Smith");
    row.push(CellKind::Number, "1250.5", 1250.5);
    row.push_text("line 1\nline 2; =not a formula");
    row.push_text("=1+1");
    row.push(CellKind::Bool, "true", 1.0);
    row.push(CellKind::Date, "2024-01-31T13:27:00", 45322.0 + (13.0 * 60.0 + 27.0) / 1440.0);
    let mut w = create(&path, Format::Xlsx, &WriteOptions::default()).expect("create");
    w.write_row(&header).expect("header");
    w.write_row_with_notes(&row, &[(1, "check the amount".into())]).expect("row");
    w.write_row(&Row::from_texts(3, ["00123", "27", "_x0041_", "  x  ", "TRUE"])).expect("row");
    w.finish().expect("finish");

    let profile = dir.path().join("profile");
    let status = Command::new(soffice)
        .arg(format!("-env:UserInstallation=file://{}", profile.display()))
        .args([
            "--headless",
            "--convert-to",
            "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,true,false",
            "--outdir",
        ])
        .arg(dir.path())
        .arg(&path)
        .output()
        .expect("soffice runs");
    let csv = dir.path().join("ours.csv");
    assert!(csv.exists(), "LibreOffice did not convert: {}", String::from_utf8_lossy(&status.stderr));
    let back = read_back(&csv, &ReadOptions::default());
    let texts: Vec<Vec<String>> =
        back.iter().map(|r| r.iter().map(|c| c.text.to_string()).collect()).collect();
    assert_eq!(
        texts,
        [
            vec!["Name", "Amount", "Comment", "Code", "Active", "Born"],
            // Cells as shown: the date in the default `dd.mm.yyyy hh:mm` format.
            vec![
                "Анна \"A\", Smith",
                "1250.5",
                "line 1\nline 2; =not a formula",
                "=1+1",
                "TRUE",
                "31.01.2024 13:27"
            ],
            // LibreOffice pads rows to the sheet's width.
            vec!["00123", "27", "_x0041_", "  x  ", "TRUE", ""],
        ]
    );
}

fn cell_text() -> impl Strategy<Value = String> {
    // Quotes, delimiters, line breaks, spaces, Cyrillic, emoji, text that looks like a
    // number or a formula.
    prop_oneof![
        "[a-zA-Z0-9 ,;\t\n\"'=+\\-.]{0,12}",
        "[а-яА-ЯёЁ€😀 ,\n\"]{1,8}",
        Just("=A1+1".to_string()),
        Just("0027".to_string()),
        Just("1e5".to_string()),
        Just("\r\n".to_string()),
    ]
}

fn text_row(number: u64, texts: &[String]) -> Row {
    Row::from_texts(number, texts)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// Arbitrary text survives a .csv round trip with any delimiter, with every row
    /// keeping its number.
    #[test]
    fn arbitrary_text_survives_csv(
        rows in prop::collection::vec(prop::collection::vec(cell_text(), 1..6), 1..8),
        delimiter in prop::sample::select(vec![b',', b';', b'\t']),
    ) {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("p.csv");
        let rows: Vec<Row> = rows.iter().enumerate().map(|(i, t)| text_row(i as u64 + 1, t)).collect();
        write(&path, Format::Csv, &WriteOptions { delimiter, ..Default::default() }, &rows);
        let options = ReadOptions { delimiter: Some(delimiter), ..Default::default() };
        let back = read_back(&path, &options);
        // Rows that are entirely blank may be skipped, never renumbered.
        let kept: Vec<&Row> = rows.iter().filter(|r| r.number == 1 || !is_csv_blank_line(r)).collect();
        prop_assert_eq!(back.len(), kept.len());
        for (got, want) in back.iter().zip(kept) {
            prop_assert_eq!(got.number, want.number);
            prop_assert_eq!(cells(got), cells(want));
        }
    }

    /// Arbitrary text survives an .xlsx round trip (trailing empty cells aside).
    #[test]
    fn arbitrary_text_survives_xlsx(
        rows in prop::collection::vec(prop::collection::vec(cell_text(), 1..6), 1..8),
    ) {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("p.xlsx");
        let rows: Vec<Row> = rows.iter().enumerate().map(|(i, t)| text_row(i as u64 + 1, t)).collect();
        write(&path, Format::Xlsx, &WriteOptions::default(), &rows);
        let back = read_back(&path, &ReadOptions::default());
        let kept: Vec<&Row> = rows.iter().filter(|r| r.number == 1 || r.width() > 0 || r.iter().any(|c| !c.text.is_empty())).collect();
        prop_assert_eq!(back.len(), kept.len());
        for (got, want) in back.iter().zip(kept) {
            prop_assert_eq!(got.number, want.number);
            let mut want = cells(want);
            while want.last().is_some_and(|(k, _)| *k == CellKind::Empty) {
                want.pop();
            }
            prop_assert_eq!(cells(got), want);
        }
    }
}

/// A row the csv writer writes as an empty line: one empty cell is written as `""`,
/// so only a row with no cells at all.
fn is_csv_blank_line(row: &Row) -> bool {
    row.is_empty()
}
