//! Reading an uploaded import file the emulator's own way: calamine for .xlsx, the csv
//! crate for .csv. Nothing here is shared with the client's reader, so a file the
//! client writes and the platform cannot read shows up in tests.

use std::collections::BTreeMap;
use std::io::BufReader;
use std::path::Path;

use calamine::{Data, Reader, Xlsx};
use chrono::{NaiveDate, NaiveDateTime};
use elma_import_contract::wire::FileFormat;

/// One cell as the file holds it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Raw {
    /// Nothing there.
    Empty,
    /// Text (every .csv cell).
    Text(String),
    /// An .xlsx number cell.
    Number(f64),
    /// An .xlsx boolean cell.
    Bool(bool),
    /// An .xlsx date cell, without a zone (Excel stores none).
    Date(NaiveDateTime),
    /// An .xlsx error cell such as `#N/A`.
    Error(String),
    /// An .xlsx formula without a cached value: the formula text.
    Formula(String),
}

impl Raw {
    /// Whether the cell is empty or white space only.
    pub fn is_blank(&self) -> bool {
        match self {
            Raw::Empty => true,
            Raw::Text(t) => t.trim().is_empty(),
            _ => false,
        }
    }

    /// The cell as header text.
    fn header_text(&self) -> String {
        match self {
            Raw::Empty => String::new(),
            Raw::Text(t) | Raw::Error(t) => t.trim().to_string(),
            Raw::Formula(f) => format!("={f}"),
            Raw::Number(n) => format!("{n}"),
            Raw::Bool(b) => b.to_string(),
            Raw::Date(d) => d.format("%Y-%m-%dT%H:%M:%S").to_string(),
        }
    }
}

/// One data row with its spreadsheet row number (header = 1).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SheetRow {
    pub number: u64,
    pub cells: Vec<Raw>,
}

/// A whole import file: its header cells and its data rows.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Sheet {
    pub header: Vec<String>,
    pub rows: Vec<SheetRow>,
}

/// Why a file could not be read at all (the import fails at row 0).
#[derive(Debug, thiserror::Error)]
pub(crate) enum ReadError {
    /// The file could not be opened.
    #[error("cannot open the uploaded file: {0}")]
    Io(#[from] std::io::Error),
    /// The .xlsx is not a workbook calamine can read.
    #[error("the file is not a readable .xlsx workbook: {0}")]
    Xlsx(String),
    /// The workbook has no sheet.
    #[error("the workbook has no worksheet")]
    NoSheet,
    /// A .csv record could not be parsed.
    #[error("the .csv cannot be read at record {record}: {message}")]
    Csv {
        /// 1-based record (header = 1).
        record: u64,
        /// What the csv parser said.
        message: String,
    },
    /// The import said `csv` but the bytes are a zip archive (an .xlsx).
    #[error("the import says `csv` but the file is an .xlsx workbook (a zip archive)")]
    ZipAsCsv,
    /// The file is empty: no header row.
    #[error("the file is empty: row 1 must hold the headers")]
    Empty,
}

/// Reads `path` as `format`.
pub(crate) fn read(path: &Path, format: FileFormat) -> Result<Sheet, ReadError> {
    match format {
        FileFormat::Xlsx => read_xlsx(path),
        FileFormat::Csv => read_csv(&std::fs::read(path)?),
    }
}

/// Streams the first worksheet's cells (calamine's cell reader), keeping only the cells
/// that hold something: a stray cell far away costs one cell, not a dense range.
fn read_xlsx(path: &Path) -> Result<Sheet, ReadError> {
    let file = BufReader::new(std::fs::File::open(path)?);
    let mut workbook: Xlsx<_> = Xlsx::new(file).map_err(|e| ReadError::Xlsx(e.to_string()))?;
    let name = workbook.sheet_names().first().cloned().ok_or(ReadError::NoSheet)?;
    let mut reader = workbook.worksheet_cells_reader(&name).map_err(|e| ReadError::Xlsx(e.to_string()))?;
    // Row index → its non-empty cells (column, value); rows come in order in practice,
    // but a map does not rely on it.
    let mut sparse: BTreeMap<u32, Vec<(u32, Raw)>> = BTreeMap::new();
    while let Some(cell) = reader.next_cell_with_formula().map_err(|e| ReadError::Xlsx(e.to_string()))? {
        let raw = match (raw_of(&Data::from(cell.value)), cell.formula) {
            (Raw::Empty, Some(formula)) => Raw::Formula(formula),
            (raw, _) => raw,
        };
        if raw != Raw::Empty {
            let (row, col) = cell.pos;
            sparse.entry(row).or_default().push((col, raw));
        }
    }
    let dense = |cells: Vec<(u32, Raw)>, width: usize| {
        let len = cells.iter().map(|(c, _)| *c as usize + 1).max().unwrap_or(0).max(width);
        let mut out = vec![Raw::Empty; len];
        for (c, raw) in cells {
            out[c as usize] = raw;
        }
        out
    };
    let header: Vec<String> =
        dense(sparse.remove(&0).unwrap_or_default(), 0).iter().map(Raw::header_text).collect();
    if header.iter().all(String::is_empty) {
        return Err(ReadError::Empty);
    }
    let width = header.len();
    let rows = sparse
        .into_iter()
        .map(|(r, cells)| SheetRow { number: u64::from(r) + 1, cells: dense(cells, width) })
        .collect();
    Ok(Sheet { header, rows })
}

fn raw_of(data: &Data) -> Raw {
    match data {
        Data::Empty => Raw::Empty,
        Data::String(s) => {
            if s.is_empty() {
                Raw::Empty
            } else {
                Raw::Text(s.clone())
            }
        }
        Data::Int(i) => Raw::Number(*i as f64),
        Data::Float(f) => Raw::Number(*f),
        Data::Bool(b) => Raw::Bool(*b),
        Data::DateTime(dt) if dt.is_datetime() => {
            let (y, mo, d, h, mi, s, ms) = dt.to_ymd_hms_milli();
            NaiveDate::from_ymd_opt(i32::from(y), u32::from(mo), u32::from(d))
                .and_then(|date| {
                    date.and_hms_milli_opt(u32::from(h), u32::from(mi), u32::from(s), u32::from(ms))
                })
                .map_or_else(|| Raw::Error(format!("date serial {}", dt.as_f64())), Raw::Date)
        }
        // A duration (`[h]:mm`) is a number of days.
        Data::DateTime(dt) => Raw::Number(dt.as_f64()),
        Data::DateTimeIso(s) => NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f")
            .or_else(|_| NaiveDate::parse_from_str(s, "%Y-%m-%d").map(|d| d.and_time(chrono::NaiveTime::MIN)))
            .map_or_else(|_| Raw::Text(s.clone()), Raw::Date),
        Data::DurationIso(s) => Raw::Text(s.clone()),
        Data::Error(e) => Raw::Error(e.to_string()),
    }
}

/// UTF-8 (a BOM is dropped); bytes that are not UTF-8 are read as Windows-1251, the
/// encoding Russian Excel saves .csv in.
fn decode(bytes: &[u8]) -> String {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_string(),
        Err(_) => encoding_rs::WINDOWS_1251.decode_without_bom_handling(bytes).0.into_owned(),
    }
}

/// The delimiter the header line uses most: `,`, `;` or tab (`,` on a tie or none).
fn delimiter(text: &str) -> u8 {
    let mut counts = [(b',', 0usize), (b';', 0), (b'\t', 0)];
    let mut quoted = false;
    for b in text.bytes() {
        match b {
            b'"' => quoted = !quoted,
            b'\n' | b'\r' if !quoted => break,
            _ if !quoted => {
                for slot in counts.iter_mut() {
                    if slot.0 == b {
                        slot.1 += 1;
                    }
                }
            }
            _ => {}
        }
    }
    counts.iter().fold((b',', 0), |best, &(d, n)| if n > best.1 { (d, n) } else { best }).0
}

fn read_csv(bytes: &[u8]) -> Result<Sheet, ReadError> {
    if bytes.starts_with(b"PK\x03\x04") {
        return Err(ReadError::ZipAsCsv);
    }
    let text = decode(bytes);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter(&text))
        .from_reader(text.as_bytes());
    let mut records = reader.records();
    let header = match records.next() {
        None => return Err(ReadError::Empty),
        Some(r) => r.map_err(|e| ReadError::Csv { record: 1, message: e.to_string() })?,
    };
    let header: Vec<String> = header.iter().map(|h| h.trim().to_string()).collect();
    if header.iter().all(String::is_empty) {
        return Err(ReadError::Empty);
    }
    let mut rows = Vec::new();
    for (i, record) in records.enumerate() {
        let number = i as u64 + 2;
        let record = record.map_err(|e| ReadError::Csv { record: number, message: e.to_string() })?;
        let cells =
            record.iter().map(|c| if c.is_empty() { Raw::Empty } else { Raw::Text(c.to_string()) }).collect();
        rows.push(SheetRow { number, cells });
    }
    Ok(Sheet { header, rows })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_dialects_bom_and_1251_are_read() {
        let sheet = read_csv("\u{feff}Name;Comment\r\nA;\"x;y\r\nz\"\r\nB;\r\n".as_bytes()).unwrap();
        assert_eq!(sheet.header, ["Name", "Comment"]);
        assert_eq!(sheet.rows.len(), 2);
        assert_eq!(sheet.rows[0].cells[1], Raw::Text("x;y\r\nz".into()));
        assert_eq!(sheet.rows[1].number, 3, "records, not lines, are counted");
        assert_eq!(sheet.rows[1].cells[1], Raw::Empty);

        let (cp1251, _, _) = encoding_rs::WINDOWS_1251.encode("Имя\tКомментарий\nИван\tпривет\n");
        let sheet = read_csv(&cp1251).unwrap();
        assert_eq!(sheet.header, ["Имя", "Комментарий"]);
        assert_eq!(sheet.rows[0].cells[1], Raw::Text("привет".into()));
    }

    #[test]
    fn csv_refuses_a_workbook_and_an_empty_file() {
        assert!(matches!(read_csv(b"PK\x03\x04rest"), Err(ReadError::ZipAsCsv)));
        assert!(matches!(read_csv(b""), Err(ReadError::Empty)));
    }
}
