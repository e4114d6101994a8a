//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::PathBuf;

use elma_import_sheet::{open, CellKind, ReadOptions, Reader, Row};

/// The workspace's `tests/fixtures/NAME`.
pub fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures").join(name)
}

/// Opens a fixture with default options, panicking with the error's chain.
pub fn open_fixture(name: &str, options: &ReadOptions) -> Reader {
    open(&fixture(name), options).unwrap_or_else(|e| panic!("{name}: {}", chain(&e)))
}

/// All data rows of a reader.
pub fn all_rows(reader: &mut Reader) -> Vec<Row> {
    let mut rows = Vec::new();
    while let Some(batch) = reader.next_batch().unwrap_or_else(|e| panic!("{}", chain(&e))) {
        rows.extend(batch);
    }
    rows
}

/// A row as `(kind, text)` pairs.
pub fn cells(row: &Row) -> Vec<(CellKind, String)> {
    row.iter().map(|c| (c.kind, c.text.to_string())).collect()
}

/// Text cells (`""` → Empty), for expected rows.
pub fn texts(texts: &[&str]) -> Vec<(CellKind, String)> {
    texts
        .iter()
        .map(|t| (if t.is_empty() { CellKind::Empty } else { CellKind::Text }, t.to_string()))
        .collect()
}

/// An error and its sources, joined by `: `.
pub fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        s.push_str(": ");
        s.push_str(&cause.to_string());
        source = cause.source();
    }
    s
}
