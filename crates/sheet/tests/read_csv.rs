//! Reading the .csv fixtures and generated edge cases.

use crate::common;

use common::{all_rows, cells, chain, fixture, open_fixture, texts};
use elma_import_sheet::{open, Format, ReadOptions, SheetError};

fn numbers(rows: &[elma_import_sheet::Row]) -> Vec<u64> {
    rows.iter().map(|r| r.number).collect()
}

#[test]
fn utf8_with_bom_is_detected_and_the_bom_is_not_part_of_the_first_header() {
    let mut r = open_fixture("bom_utf8.csv", &ReadOptions::default());
    assert_eq!(r.format(), Format::Csv);
    assert_eq!(r.describe(), "CSV, utf-8, delimiter ',', BOM");
    assert_eq!(cells(r.header()), texts(&["Name", "Email", "Comment"]));
    let rows = all_rows(&mut r);
    assert_eq!(numbers(&rows), [2, 3]);
    assert_eq!(cells(&rows[0]), texts(&["Анна", "anna@example.com", "Привет"]));
    assert_eq!(cells(&rows[1]), texts(&["Boris", "boris@example.org", "a, b"]));
}

#[test]
fn windows_1251_with_semicolons_is_detected() {
    let mut r = open_fixture("cp1251_semicolon.csv", &ReadOptions::default());
    assert_eq!(r.describe(), "CSV, windows-1251, delimiter ';'");
    assert_eq!(cells(r.header()), texts(&["Имя", "Почта", "Комментарий"]));
    let rows = all_rows(&mut r);
    assert_eq!(numbers(&rows), [2, 3]);
    assert_eq!(cells(&rows[0]), texts(&["Анна", "anna@example.com", "Привет, мир"]));
    assert_eq!(cells(&rows[1]), texts(&["Борис", "boris@example.org", "цитата \"в кавычках\""]));
}

#[test]
fn windows_1251_can_be_chosen_by_label() {
    let options = ReadOptions { encoding: Some("cp1251".into()), ..Default::default() };
    let r = open_fixture("cp1251_semicolon.csv", &options);
    assert_eq!(r.header().get(0).text, "Имя");
}

#[test]
fn forced_utf8_on_a_cp1251_file_names_the_byte_offset_and_row() {
    let options = ReadOptions { encoding: Some("utf-8".into()), ..Default::default() };
    let err = open(&fixture("cp1251_semicolon.csv"), &options).expect_err("cp1251 is not utf-8");
    match &err {
        SheetError::Undecodable { row, offset, .. } => {
            assert_eq!((*row, *offset), (1, 0), "the very first byte `И` (0xC8) is bad");
        }
        other => panic!("unexpected error {other:?}"),
    }
    let message = chain(&err);
    assert!(message.contains("cp1251_semicolon.csv"), "{message}");
    assert!(message.contains("row 1") && message.contains("byte offset 0"), "{message}");
    assert!(message.contains("--encoding windows-1251"), "{message}");
}

#[test]
fn bad_utf8_after_the_detection_sample_is_an_error_not_a_replacement() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("late.csv");
    let mut data = b"Name,Comment\n".to_vec();
    for i in 0..5000 {
        data.extend_from_slice(format!("Имя {i},\"ok, fine\"\n").as_bytes());
    }
    let bad_row = 5002; // header + 5000 rows + this one
    let offset = data.len() + "Bad,\"x".len();
    data.extend_from_slice(b"Bad,\"x\xff\"\nAfter,1\n");
    assert!(offset > 64 * 1024, "the bad byte must lie past the detection sample");
    std::fs::write(&path, &data).expect("write");

    let mut r = open(&path, &ReadOptions::default()).expect("open");
    assert_eq!(r.describe(), "CSV, utf-8, delimiter ','");
    let mut good = 0;
    let err = loop {
        match r.next_batch() {
            Ok(Some(rows)) => good += rows.len(),
            Ok(None) => panic!("the bad byte went unnoticed"),
            Err(e) => break e,
        }
    };
    assert!(good < 5000 + 1);
    match err {
        SheetError::Undecodable { row, offset: at, ref encoding, .. } => {
            assert_eq!(row, bad_row);
            assert_eq!(at, offset as u64);
            assert_eq!(encoding, "UTF-8");
        }
        other => panic!("unexpected error {other:?}"),
    }
    assert!(r.next_batch().expect("ends after the error").is_none());
}

/// Regression (issue 7): valid Cyrillic UTF-8 and one bad byte in the detection sample
/// was read as Windows-1251, every letter turned to mojibake and `validate` said "valid".
#[test]
fn utf8_with_a_bad_byte_in_the_sample_is_utf8_and_the_byte_is_an_error() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("mixed.csv");
    let mut data = "Имя;Комментарий\nАнна;Привет\nБорис;Пока\n".as_bytes().to_vec();
    let offset = data.len() + "Вера;x".len();
    data.extend_from_slice("Вера;x".as_bytes());
    data.push(0xFF);
    data.extend_from_slice("\nГлеб;ok\n".as_bytes());
    std::fs::write(&path, &data).expect("write");

    let mut r = open(&path, &ReadOptions::default()).expect("open");
    assert_eq!(r.describe(), "CSV, utf-8, delimiter ';'");
    assert_eq!(cells(r.header()), texts(&["Имя", "Комментарий"]));
    let err = loop {
        match r.next_batch() {
            Ok(Some(rows)) => assert!(rows.iter().all(|row| row.number < 4), "row 4 is bad"),
            Ok(None) => panic!("the bad byte went unnoticed"),
            Err(e) => break e,
        }
    };
    match &err {
        SheetError::Undecodable { row, offset: at, .. } => assert_eq!((*row, *at), (4, offset as u64)),
        other => panic!("unexpected error {other:?}"),
    }
    let message = chain(&err);
    assert!(message.contains("row 4") && message.contains(&format!("byte offset {offset}")), "{message}");
    assert!(message.contains("--encoding windows-1251"), "{message}");
}

#[test]
fn characters_split_by_a_delimiter_are_not_glued_back_together() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("split.csv");
    // `А` is D0 90 in UTF-8; here a comma sits between its two bytes.
    std::fs::write(&path, b"a,b\n\xD0,\x90\n").expect("write");
    let options = ReadOptions { encoding: Some("utf-8".into()), ..Default::default() };
    let mut r = open(&path, &options).expect("open");
    match r.next_batch() {
        Err(SheetError::Undecodable { row: 2, offset: 4, .. }) => {}
        other => panic!("expected an error at row 2, byte 4, got {other:?}"),
    }
}

#[test]
fn tab_delimiter_is_detected() {
    let mut r = open_fixture("tab_delimited.csv", &ReadOptions::default());
    assert_eq!(r.describe(), "CSV, utf-8, delimiter '\\t'");
    let rows = all_rows(&mut r);
    assert_eq!(cells(&rows[0]), texts(&["Anna", "anna@example.com", "1,5"]));
    assert_eq!(cells(&rows[1]), texts(&["Boris", "boris@example.org", "2;5"]));
}

#[test]
fn a_given_delimiter_wins_over_detection() {
    let options = ReadOptions { delimiter: Some(b','), ..Default::default() };
    let mut r = open_fixture("tab_delimited.csv", &options);
    assert_eq!(cells(r.header()), texts(&["Name\tEmail\tAmount"]));
    let rows = all_rows(&mut r);
    assert_eq!(cells(&rows[0]), texts(&["Anna\tanna@example.com\t1", "5"]));
}

#[test]
fn quoted_line_breaks_and_quotes_do_not_shift_rows() {
    let mut r = open_fixture("quoted_newlines.csv", &ReadOptions::default());
    let rows = all_rows(&mut r);
    assert_eq!(numbers(&rows), [2, 3, 4]);
    assert_eq!(cells(&rows[0]), texts(&["Anna", "line 1\nline 2", "1"]));
    assert_eq!(cells(&rows[1]), texts(&["Boris", "say \"hi\", then\r\nleave", "2"]));
    assert_eq!(cells(&rows[2]), texts(&["Vera", "", "3"]));
}

#[test]
fn blank_lines_count_as_rows_with_lf_and_no_final_line_end() {
    let mut r = open_fixture("blank_lines_lf.csv", &ReadOptions::default());
    assert_eq!(r.header().number, 1);
    let rows = all_rows(&mut r);
    assert_eq!(numbers(&rows), [3, 6, 8]);
    assert_eq!(rows[2].get(0).text, "Vera");
}

#[test]
fn blank_lines_count_as_rows_with_crlf() {
    let mut r = open_fixture("blank_lines_crlf.csv", &ReadOptions::default());
    let rows = all_rows(&mut r);
    assert_eq!(numbers(&rows), [3, 6, 8]);
    assert_eq!(cells(&rows[1]), texts(&["Boris", "b@example.org"]));
}

#[test]
fn ragged_rows_keep_their_own_width() {
    let mut r = open_fixture("ragged.csv", &ReadOptions::default());
    let rows = all_rows(&mut r);
    assert_eq!(numbers(&rows), [2, 3, 4]);
    assert_eq!(rows[0].len(), 5, "extra cells are kept for validation to report");
    assert_eq!(rows[0].get(4).text, "more");
    assert_eq!(cells(&rows[1]), texts(&["Boris"]));
    assert_eq!(rows[1].get(2).text, "", "missing cells read as empty");
    assert_eq!(cells(&rows[2]), texts(&["Vera", "v@example.org"]));
}

#[test]
fn empty_file_has_an_empty_header_and_no_rows() {
    let mut r = open_fixture("empty.csv", &ReadOptions::default());
    assert!(r.header().is_empty());
    assert_eq!(r.header().number, 1);
    assert!(r.next_batch().expect("no error").is_none());
    assert_eq!(r.progress(), (0, 0));
}

#[test]
fn header_only_file_has_no_rows() {
    let mut r = open_fixture("header_only.csv", &ReadOptions::default());
    assert_eq!(cells(r.header()), texts(&["Name", "Email", "Phone"]));
    assert!(r.next_batch().expect("no error").is_none());
}

#[test]
fn batches_hold_at_most_batch_rows_and_progress_reaches_the_end() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("many.csv");
    let mut data = String::from("n,text\n");
    for i in 0..1000 {
        data.push_str(&format!("{i},\"row {i}\"\n"));
    }
    std::fs::write(&path, &data).expect("write");
    let options = ReadOptions { batch_rows: 300, ..Default::default() };
    let mut r = open(&path, &options).expect("open");
    let mut sizes = Vec::new();
    let mut expected = 2;
    while let Some(batch) = r.next_batch().expect("read") {
        sizes.push(batch.len());
        for row in &batch {
            assert_eq!(row.number, expected);
            assert_eq!(row.get(1).text, format!("row {}", expected - 2));
            expected += 1;
        }
        let (done, total) = r.progress();
        assert!(done <= total);
    }
    assert_eq!(sizes, [300, 300, 300, 100]);
    assert_eq!(r.progress(), (data.len() as u64, data.len() as u64));
}

#[test]
fn a_100000_character_cell_reads_back_whole() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("long.csv");
    let long: String = "абв,\"\n".chars().cycle().take(100_000).collect();
    let quoted = long.replace('"', "\"\"");
    std::fs::write(&path, format!("Name,Comment\nAnna,\"{quoted}\"\nBoris,short\n")).expect("write");
    let mut r = open(&path, &ReadOptions::default()).expect("open");
    let rows = all_rows(&mut r);
    assert_eq!(rows[0].get(1).text.chars().count(), 100_000);
    assert_eq!(rows[0].get(1).text, long);
    let newlines = long.matches('\n').count() as u64;
    assert!(newlines > 10_000);
    assert_eq!(rows[1].number, 3, "quoted line breaks do not count as rows");
}

#[test]
fn unknown_encoding_and_extension_are_errors() {
    let options = ReadOptions { encoding: Some("klingon".into()), ..Default::default() };
    let err = open(&fixture("bom_utf8.csv"), &options).expect_err("unknown label");
    assert!(err.to_string().contains("`klingon`"), "{err}");
    let err = open(&fixture("README.md"), &ReadOptions::default()).expect_err("not a sheet");
    assert!(matches!(err, SheetError::UnknownFormat { .. }), "{err:?}");
    let err = open(&fixture("missing.csv"), &ReadOptions::default()).expect_err("no file");
    assert!(err.to_string().contains("missing.csv"), "{err}");
}
