//! Raw records (`open_raw_csv`) are the records the row reader reads: parsed again,
//! they give the same cells and numbers, blank rows left out, whatever quotes, line
//! breaks and encodings do.

use std::path::Path;

use elma_import_sheet::{open, open_raw_csv, ReadOptions, Row};
use proptest::prelude::*;

/// `(number, cells)` of a row.
type Numbered = (u64, Vec<String>);

fn cells(row: &Row) -> Vec<String> {
    row.iter().map(|c| c.text.to_string()).collect()
}

/// The rows the row reader gives, blank ones left out, or its error.
fn rows(path: &Path) -> Result<Vec<Numbered>, String> {
    let mut reader = open(path, &ReadOptions::default()).map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    while let Some(batch) = reader.next_batch().map_err(|e| e.to_string())? {
        out.extend(batch.iter().filter(|r| !r.is_blank()).map(|r| (r.number, cells(r))));
    }
    Ok(out)
}

/// The raw records, each parsed again on its own (as UTF-8 with `,`), or the error.
fn raw(path: &Path) -> Result<Vec<Numbered>, String> {
    let mut reader = open_raw_csv(path, &ReadOptions::default()).map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    let mut bytes = Vec::new();
    while let Some(number) = reader.next_record(&mut bytes).map_err(|e| e.to_string())? {
        assert_eq!(bytes.last(), Some(&b'\n'), "a record ends with its line end");
        let mut parser = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(&bytes[..]);
        let records: Vec<csv::StringRecord> =
            parser.records().collect::<Result<_, _>>().map_err(|e| e.to_string())?;
        assert_eq!(records.len(), 1, "one record in {:?}", String::from_utf8_lossy(&bytes));
        out.push((number, records[0].iter().map(str::to_string).collect()));
        bytes.clear();
    }
    Ok(out)
}

fn field() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => "[a-zа-я0-9 ]{0,8}",
        3 => "[a-z,;\n\"]{0,10}".prop_map(|t| format!("\"{}\"", t.replace('"', "\"\""))),
        2 => "[a-z\r\n]{1,6}".prop_map(|t| format!("\"{t}\"")),
        1 => Just("\"\"".to_string()),
        1 => Just(" ".to_string()),
    ]
}

fn file() -> impl Strategy<Value = (Vec<String>, bool, bool)> {
    let line = prop_oneof![
        8 => prop::collection::vec(field(), 1..5).prop_map(|f| f.join(",")),
        1 => Just(String::new()),
    ];
    (prop::collection::vec(line, 0..80), any::<bool>(), any::<bool>())
}

fn text((lines, crlf, last_end): &(Vec<String>, bool, bool)) -> String {
    let end = if *crlf { "\r\n" } else { "\n" };
    let mut text = String::from("Name,Comment,Amount");
    for l in lines {
        text.push_str(end);
        text.push_str(l);
    }
    if *last_end {
        text.push_str(end);
    }
    text
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn raw_records_are_the_rows_the_reader_reads(f in file(), cp1251 in any::<bool>()) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.csv");
        let text = text(&f);
        let bytes = if cp1251 { encoding_rs::WINDOWS_1251.encode(&text).0.into_owned() } else { text.into_bytes() };
        std::fs::write(&path, &bytes).unwrap();
        let (rows, raw) = (rows(&path), raw(&path));
        prop_assert_eq!(rows, raw);
    }
}

#[test]
fn utf8_records_are_copied_byte_for_byte_and_a_bad_byte_names_its_row() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.csv");
    std::fs::write(&path, "\u{feff}Имя,Note\r\n\"Анна\" ,\"a \"\"b\"\"\"\r\n\r\nБорис,x\r\n").unwrap();
    let mut reader = open_raw_csv(&path, &ReadOptions::default()).unwrap();
    assert!(reader.is_utf8());
    assert_eq!(reader.header().get(0).text, "Имя");
    let mut out = Vec::new();
    assert_eq!(reader.next_record(&mut out).unwrap(), Some(2));
    assert_eq!(reader.next_record(&mut out).unwrap(), Some(4));
    assert_eq!(reader.next_record(&mut out).unwrap(), None);
    assert_eq!(String::from_utf8(out).unwrap(), "\"Анна\" ,\"a \"\"b\"\"\"\nБорис,x\n");

    let mut bad = "Имя,Note\nАнна,1\n".as_bytes().to_vec();
    bad.extend_from_slice(b"Bob,\xff\n");
    std::fs::write(&path, &bad).unwrap();
    let mut reader = open_raw_csv(&path, &ReadOptions::default()).unwrap();
    let mut out = Vec::new();
    assert_eq!(reader.next_record(&mut out).unwrap(), Some(2));
    let e = reader.next_record(&mut out).unwrap_err().to_string();
    assert!(e.contains("row 3") && e.contains("a.csv"), "{e}");
    assert_eq!(reader.next_record(&mut out).unwrap(), None, "the reader stops after its error");
}

#[test]
fn windows_1251_records_are_converted_to_utf8() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.csv");
    let text = "Имя;Город\n\"Анна; Мария\";Москва\n";
    std::fs::write(&path, encoding_rs::WINDOWS_1251.encode(text).0).unwrap();
    let mut reader = open_raw_csv(&path, &ReadOptions::default()).unwrap();
    assert!(!reader.is_utf8());
    assert_eq!(reader.delimiter(), b';');
    let mut out = Vec::new();
    assert_eq!(reader.next_record(&mut out).unwrap(), Some(2));
    assert_eq!(String::from_utf8(out).unwrap(), "\"Анна; Мария\";Москва\n");
}

#[test]
fn records_far_apart_in_a_large_file_are_whole() {
    // More than the window's 1 MiB, so the window is cut many times on the way.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.csv");
    let mut text = String::from("a,b\n");
    for i in 0..60_000 {
        text.push_str(&format!("{i},\"line {i}\nnext, \"\"q\"\"\"\n"));
    }
    std::fs::write(&path, &text).unwrap();
    let mut reader = open_raw_csv(&path, &ReadOptions::default()).unwrap();
    let mut out = Vec::new();
    let mut n = 0;
    while let Some(number) = reader.next_record(&mut out).unwrap() {
        assert_eq!(number, n + 2);
        n += 1;
    }
    assert_eq!(n, 60_000);
    assert_eq!(out, text.as_bytes()[4..]);
}
