//! The source side: every row of a file read the run's way (its reading options, column
//! map, locale and time zone), checked, and kept by key in a compact form.
//!
//! A valid row is kept as its cells' bytes (kind, number, text: about the size of the row
//! in the file), not as an item: the item is made again only when the platform's item
//! with its key comes, so memory holds the source once and one page of items, whatever
//! the number of fields.

use std::collections::HashMap;

use elma_import_contract::schema::{AppSchema, Field, FieldType};
use elma_import_migrate::keys::cell_key;
use elma_import_sheet::{CellKind, Row};
use elma_import_template::ExampleRow;
use elma_import_validate::{ColumnMap, Validator};

use crate::error::VerifyError;
use crate::target::Target;

/// A column the verification compares: its header in the file and its field.
#[derive(Debug, Clone)]
pub(crate) struct Compared {
    /// The header as written (after the column map).
    pub header: String,
    /// The app's field (a link field keeps its type even though its cells hold keys).
    pub field: Field,
    /// The target's link this column is, if its cells hold another app's keys.
    pub link: Option<usize>,
}

/// A valid row: its number, its key and its cells.
#[derive(Debug)]
pub(crate) struct Stored {
    pub row: u64,
    pub key: Box<str>,
    cells: Box<[u8]>,
}

/// A row that will not be in the app as it is: it does not pass the checks, or it has no key.
#[derive(Debug, Clone)]
pub(crate) struct Invalid {
    pub row: u64,
    pub key: String,
    pub header: String,
    pub value: String,
}

/// One file, read.
pub(crate) struct Part {
    /// The validator of the file (reference columns checked as text).
    pub validator: Validator,
    /// The columns compared, in file order.
    pub columns: Vec<Compared>,
    /// Valid rows with a key, in file order.
    pub rows: Vec<Stored>,
    /// Rows that do not pass the checks, in file order.
    pub invalid: Vec<Invalid>,
    /// Data rows read (blank rows not counted, the example row counted).
    pub rows_read: u64,
    /// The template's example rows left out.
    pub examples: Vec<u64>,
}

/// The schema a file is checked against: link columns whose cells hold keys are text.
fn check_schema(target: &Target) -> AppSchema {
    let mut schema = target.schema.clone();
    for f in &mut schema.fields {
        if target.links.iter().any(|l| l.field.code == f.code) {
            f.kind = FieldType::String;
            f.data = Default::default();
        }
    }
    schema
}

impl Part {
    /// Reads and checks every row of the target's file; `progress(done, total)` in bytes.
    pub fn read(target: &Target, progress: &mut dyn FnMut(u64, u64)) -> Result<Part, VerifyError> {
        let sheet = |source| VerifyError::Sheet { path: target.source.clone(), source };
        let mut reader = elma_import_sheet::open(&target.source, &target.read).map_err(sheet)?;
        let header = ColumnMap::new(target.column_map.clone())
            .apply(reader.header())
            .map_err(|e| VerifyError::Config(format!("`{}`: {e}", target.source.display())))?;
        let schema = check_schema(target);
        let validator = Validator::new(&schema, &header, &target.options)
            .map_err(|errors| VerifyError::Header { path: target.source.clone(), errors })?;
        let key_field = target.key_field()?.clone();
        let key_column = validator
            .columns()
            .iter()
            .find(|c| c.field.is_some_and(|f| schema.fields[f].code == key_field.code))
            .map(|c| c.index)
            .ok_or_else(|| {
                VerifyError::Config(format!(
                    "`{}` has no column for the key `{}`",
                    target.source.display(),
                    target.key_column
                ))
            })?;
        let columns: Vec<Compared> = validator
            .columns()
            .iter()
            .filter_map(|c| {
                let field = target.schema.fields[c.field?].clone();
                let link = target.links.iter().position(|l| l.field.code == field.code);
                Some(Compared { header: c.header.clone(), field, link })
            })
            .collect();
        let example = if target.keep_example_row { None } else { ExampleRow::new(&target.schema, &header) };
        let width = header.len();
        let mut part = Part {
            validator: validator.clone(),
            columns,
            rows: Vec::new(),
            invalid: Vec::new(),
            rows_read: 0,
            examples: Vec::new(),
        };
        let mut buf = Vec::new();
        validator.check_while_reading(&mut reader);
        while let Some((batch, errors)) = validator.next_checked(&mut reader).map_err(sheet)? {
            let mut errors = errors.into_iter().peekable();
            for row in batch.iter().filter(|r| !r.is_blank()) {
                part.rows_read += 1;
                let mut first = None;
                while errors.peek().is_some_and(|e| e.row <= row.number) {
                    let e = errors.next();
                    if first.is_none() && e.as_ref().is_some_and(|e| e.row == row.number) {
                        first = e;
                    }
                }
                if example.as_ref().is_some_and(|x| x.matches(row)) {
                    part.examples.push(row.number);
                    continue;
                }
                let key = cell_key(&key_field, row.get(key_column).text);
                match (first, key) {
                    (Some(e), key) => part.invalid.push(Invalid {
                        row: row.number,
                        key: key.unwrap_or_default(),
                        header: e.header,
                        value: e.value,
                    }),
                    (None, None) => part.invalid.push(Invalid {
                        row: row.number,
                        key: String::new(),
                        header: validator.columns()[key_column].header.clone(),
                        value: String::new(),
                    }),
                    (None, Some(key)) => {
                        buf.clear();
                        encode(row, width, &mut buf);
                        part.rows.push(Stored {
                            row: row.number,
                            key: key.into(),
                            cells: buf.as_slice().into(),
                        });
                    }
                }
            }
            let (done, total) = reader.progress();
            progress(done, total);
            reader.recycle(batch);
        }
        Ok(part)
    }

    /// The row `i` of [`Part::rows`] as the reader gave it.
    pub fn row(&self, i: usize) -> Row {
        let s = &self.rows[i];
        decode(s.row, &s.cells)
    }
}

/// Where a stored row is: its part and index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RowRef {
    pub part: u16,
    pub index: u32,
}

/// Keys → rows, over every part of one app.
#[derive(Debug, Default)]
pub(crate) struct Index {
    map: HashMap<Box<str>, Slot>,
}

#[derive(Debug)]
enum Slot {
    One(RowRef),
    Many(Vec<RowRef>),
}

impl Index {
    /// Indexes the rows of `parts` by key.
    pub fn new(parts: &[Part]) -> Index {
        let mut map: HashMap<Box<str>, Slot> =
            HashMap::with_capacity(parts.iter().map(|p| p.rows.len()).sum());
        for (p, part) in parts.iter().enumerate() {
            for (i, s) in part.rows.iter().enumerate() {
                let r = RowRef { part: p as u16, index: i as u32 };
                match map.get_mut(&s.key) {
                    None => {
                        map.insert(s.key.clone(), Slot::One(r));
                    }
                    Some(slot) => {
                        let many = match slot {
                            Slot::One(first) => vec![*first, r],
                            Slot::Many(v) => {
                                v.push(r);
                                continue;
                            }
                        };
                        *slot = Slot::Many(many);
                    }
                }
            }
        }
        Index { map }
    }

    /// The rows holding `key`.
    pub fn get(&self, key: &str) -> &[RowRef] {
        match self.map.get(key) {
            Some(Slot::One(r)) => std::slice::from_ref(r),
            Some(Slot::Many(v)) => v,
            None => &[],
        }
    }
}

// ------------------------------------------------------------------ compact rows

fn kind_byte(kind: CellKind) -> u8 {
    match kind {
        CellKind::Empty => 0,
        CellKind::Text => 1,
        CellKind::Number => 2,
        CellKind::Bool => 3,
        CellKind::Date => 4,
        CellKind::Error => 5,
        CellKind::FormulaWithoutValue => 6,
    }
}

fn byte_kind(b: u8) -> CellKind {
    match b {
        1 => CellKind::Text,
        2 => CellKind::Number,
        3 => CellKind::Bool,
        4 => CellKind::Date,
        5 => CellKind::Error,
        6 => CellKind::FormulaWithoutValue,
        _ => CellKind::Empty,
    }
}

fn has_number(kind: CellKind) -> bool {
    matches!(kind, CellKind::Number | CellKind::Bool | CellKind::Date)
}

/// Appends the first `width` cells of `row`: per cell its kind, its number when it has
/// one, and its text (a LEB128 length, then the bytes).
fn encode(row: &Row, width: usize, out: &mut Vec<u8>) {
    for i in 0..width {
        let cell = row.get(i);
        out.push(kind_byte(cell.kind));
        if has_number(cell.kind) {
            out.extend_from_slice(&cell.number.to_le_bytes());
        }
        if cell.kind != CellKind::Empty {
            let mut n = cell.text.len();
            loop {
                let b = (n & 0x7f) as u8;
                n >>= 7;
                if n == 0 {
                    out.push(b);
                    break;
                }
                out.push(b | 0x80);
            }
            out.extend_from_slice(cell.text.as_bytes());
        }
    }
}

/// The row [`encode`] wrote.
fn decode(number: u64, mut bytes: &[u8]) -> Row {
    let mut row = Row::with_capacity(number, 16, bytes.len());
    while let Some((&k, rest)) = bytes.split_first() {
        bytes = rest;
        let kind = byte_kind(k);
        let mut value = 0.0;
        if has_number(kind) && bytes.len() >= 8 {
            let (n, rest) = bytes.split_at(8);
            value = f64::from_le_bytes(n.try_into().unwrap_or_default());
            bytes = rest;
        }
        let mut text = "";
        if kind != CellKind::Empty {
            let (mut len, mut shift) = (0usize, 0);
            while let Some((&b, rest)) = bytes.split_first() {
                bytes = rest;
                len |= usize::from(b & 0x7f) << shift;
                shift += 7;
                if b & 0x80 == 0 {
                    break;
                }
            }
            let (t, rest) = bytes.split_at(len.min(bytes.len()));
            // Written from a `&str` by `encode`.
            text = std::str::from_utf8(t).unwrap_or("");
            bytes = rest;
        }
        row.push(kind, text, value);
    }
    row
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_come_back_as_they_were_stored() {
        let mut row = Row::new(7);
        row.push_text("Anna");
        row.push_text("");
        row.push(CellKind::Number, "27.5", 27.5);
        row.push(CellKind::Date, "2024-01-31T13:27:00", 45322.56);
        row.push(CellKind::Bool, "true", 1.0);
        row.push_text(&"д".repeat(300));
        let mut buf = Vec::new();
        encode(&row, row.len() + 2, &mut buf);
        let back = decode(7, &buf);
        assert_eq!(back.number, 7);
        for i in 0..row.len() {
            assert_eq!(back.get(i), row.get(i), "cell {i}");
        }
        assert!(back.get(row.len()).is_blank() && back.get(row.len() + 1).is_blank());
    }
}
