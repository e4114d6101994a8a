//! The streaming .csv reader.

use std::fs::File;
use std::io::{Cursor, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use encoding_rs::{DecoderResult, Encoding, UTF_8, WINDOWS_1251};

use crate::error::SheetError;
use crate::options::ReadOptions;
use crate::pool::{RowPool, Spares};
use crate::row::Row;

/// Bytes looked at to detect the encoding, delimiter and line ends.
const PREFIX: usize = 64 * 1024;
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// What the parser reads: the detection sample then the rest of the file, or a byte
/// range of the file held in memory (see `csv_par`).
pub(crate) enum Source {
    File(std::io::Chain<Cursor<Vec<u8>>, File>),
    Memory(Cursor<Vec<u8>>),
    /// The file, every byte handed to the parser also kept in a window, so a record's
    /// raw bytes can be copied out (see [`CsvReader::read_raw`]).
    Tee(Box<Tee>),
}

/// The bytes the parser has read and not yet given away.
pub(crate) struct Tee {
    inner: std::io::Chain<Cursor<Vec<u8>>, File>,
    /// Bytes from parser offset `base` on.
    window: Vec<u8>,
    base: u64,
}

/// The window is cut from its front once this many bytes before the current record
/// are no longer needed (cutting after every record would move the rest each time).
const TEE_KEEP: usize = 1 << 20;

impl Read for Source {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Source::File(r) => r.read(buf),
            Source::Memory(r) => r.read(buf),
            Source::Tee(t) => {
                let n = t.inner.read(buf)?;
                t.window.extend_from_slice(&buf[..n]);
                Ok(n)
            }
        }
    }
}

/// How a file was found to be written, for parsing byte ranges of it.
#[derive(Debug, Clone)]
pub(crate) struct Layout {
    pub(crate) path: PathBuf,
    pub(crate) encoding: &'static Encoding,
    pub(crate) delimiter: u8,
    pub(crate) crlf: bool,
    /// Where the header starts (after a BOM).
    pub(crate) start: u64,
    pub(crate) total: u64,
    pub(crate) ends_with_newline: bool,
    pub(crate) batch_rows: usize,
    /// Rows the caller gave back, shared by every parser of the file.
    pub(crate) rows: RowPool,
}

pub(crate) struct CsvReader {
    path: PathBuf,
    rdr: csv::Reader<Source>,
    record: csv::ByteRecord,
    header: Row,
    encoding: &'static Encoding,
    delimiter: u8,
    bom_len: u64,
    batch_rows: usize,
    /// Number the next record gets if no blank line precedes it.
    next_row: u64,
    /// Line ends are `\r\n` (the `\n` of a record's end is consumed with the next one).
    crlf: bool,
    /// The file ends with `\n` (else the last record has no line end).
    ends_with_newline: bool,
    total: u64,
    first_record: bool,
    done: bool,
    /// An error met after some rows of a batch, returned by the next call.
    failed: Option<SheetError>,
    /// Rows to fill.
    spares: Spares,
}

impl CsvReader {
    pub(crate) fn open(path: &Path, options: &ReadOptions) -> Result<CsvReader, SheetError> {
        CsvReader::open_with(path, options, false)
    }

    /// As [`CsvReader::open`], keeping the bytes read for [`CsvReader::read_raw`].
    pub(crate) fn open_raw(path: &Path, options: &ReadOptions) -> Result<CsvReader, SheetError> {
        CsvReader::open_with(path, options, true)
    }

    fn open_with(path: &Path, options: &ReadOptions, raw: bool) -> Result<CsvReader, SheetError> {
        let io = |source| SheetError::Io { path: path.to_path_buf(), source };
        let mut file = File::open(path).map_err(io)?;
        let total = file.metadata().map_err(io)?.len();
        let mut prefix = Vec::with_capacity(PREFIX.min(total as usize));
        (&mut file).take(PREFIX as u64).read_to_end(&mut prefix).map_err(io)?;
        let ends_with_newline = if total == 0 {
            false
        } else if (prefix.len() as u64) == total {
            prefix.last() == Some(&b'\n')
        } else {
            let mut last = [0u8; 1];
            file.seek(SeekFrom::End(-1)).map_err(io)?;
            file.read_exact(&mut last).map_err(io)?;
            file.seek(SeekFrom::Start(prefix.len() as u64)).map_err(io)?;
            last[0] == b'\n'
        };

        let has_bom = prefix.starts_with(BOM);
        if prefix.starts_with(b"\xFF\xFE") || prefix.starts_with(b"\xFE\xFF") {
            return Err(SheetError::UnsupportedEncoding {
                path: path.to_path_buf(),
                encoding: "UTF-16".to_string(),
            });
        }
        let encoding = match &options.encoding {
            Some(label) => Encoding::for_label(label.trim().as_bytes())
                .ok_or_else(|| SheetError::UnknownEncoding { label: label.clone() })?,
            None if has_bom => UTF_8,
            None => detect(&prefix, (prefix.len() as u64) < total),
        };
        if !encoding.is_ascii_compatible() {
            return Err(SheetError::UnsupportedEncoding {
                path: path.to_path_buf(),
                encoding: encoding.name().to_string(),
            });
        }
        let bom_len = if has_bom && encoding == UTF_8 { BOM.len() } else { 0 };
        prefix.drain(..bom_len);
        let delimiter = options.delimiter.unwrap_or_else(|| detect_delimiter(&prefix));
        let crlf = first_line_ends_with_crlf(&prefix);

        let chain = Cursor::new(prefix).chain(file);
        let source = if raw {
            Source::Tee(Box::new(Tee { inner: chain, window: Vec::with_capacity(2 * TEE_KEEP), base: 0 }))
        } else {
            Source::File(chain)
        };
        let rdr = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .delimiter(delimiter)
            .buffer_capacity(PREFIX)
            .from_reader(source);
        let mut reader = CsvReader {
            path: path.to_path_buf(),
            rdr,
            record: csv::ByteRecord::new(),
            header: Row::new(1),
            encoding,
            delimiter,
            bom_len: bom_len as u64,
            batch_rows: options.batch(),
            next_row: 1,
            crlf,
            ends_with_newline,
            total,
            first_record: true,
            done: false,
            failed: None,
            spares: Spares::default(),
        };
        let mut header = Row::new(1);
        if reader.read_row(&mut header)? {
            reader.header = header;
        }
        Ok(reader)
    }

    /// A parser of `bytes`, the file's bytes from offset `start`: the whole of a range
    /// that starts at a record boundary. Its first record gets number `first_number`
    /// (blank lines before it counting), so numbers are relative unless `start` is where
    /// the header starts and `first_number` is 1.
    pub(crate) fn range(layout: &Layout, bytes: Vec<u8>, start: u64, first_number: u64) -> CsvReader {
        let end = start + bytes.len() as u64;
        let ends_with_newline = bytes.last() == Some(&b'\n');
        let rdr = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .delimiter(layout.delimiter)
            .buffer_capacity(PREFIX)
            .from_reader(Source::Memory(Cursor::new(bytes)));
        CsvReader {
            path: layout.path.clone(),
            rdr,
            record: csv::ByteRecord::new(),
            header: Row::new(1),
            encoding: layout.encoding,
            delimiter: layout.delimiter,
            bom_len: start,
            batch_rows: layout.batch_rows,
            next_row: first_number,
            crlf: layout.crlf,
            ends_with_newline,
            total: end,
            first_record: true,
            done: false,
            failed: None,
            spares: Spares::new(layout.rows.clone()),
        }
    }

    /// How the file is written, for [`CsvReader::range`].
    pub(crate) fn layout(&self) -> Layout {
        Layout {
            path: self.path.clone(),
            encoding: self.encoding,
            delimiter: self.delimiter,
            crlf: self.crlf,
            start: self.bom_len,
            total: self.total,
            ends_with_newline: self.ends_with_newline,
            batch_rows: self.batch_rows,
            rows: self.spares.pool().clone(),
        }
    }

    /// A parser of the file from offset `start` (a record boundary) to its end, read as
    /// it goes; its first record gets number `first_number`.
    /// `after_record`: a record ends right before `start` (with `\r\n` line ends the
    /// parser then stands on that record's `\n`).
    pub(crate) fn rest(
        layout: &Layout,
        start: u64,
        first_number: u64,
        after_record: bool,
    ) -> Result<CsvReader, SheetError> {
        let io = |source| SheetError::Io { path: layout.path.clone(), source };
        let mut file = File::open(&layout.path).map_err(io)?;
        file.seek(SeekFrom::Start(start)).map_err(io)?;
        let mut reader = CsvReader::range(layout, Vec::new(), start, first_number);
        reader.total = layout.total;
        reader.ends_with_newline = layout.ends_with_newline;
        reader.first_record = !after_record;
        reader.rdr = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .delimiter(layout.delimiter)
            .buffer_capacity(PREFIX)
            .from_reader(Source::File(Cursor::new(Vec::new()).chain(file)));
        Ok(reader)
    }

    /// Reads the next record into `row`, returning the offset in the parser's input
    /// where it started; `None` at the end.
    pub(crate) fn read_row_at(&mut self, row: &mut Row) -> Result<Option<u64>, SheetError> {
        let start = self.rdr.position().byte();
        Ok(self.read_row(row)?.then_some(start))
    }

    /// The input of a parser made by [`CsvReader::range`].
    pub(crate) fn into_bytes(self) -> Vec<u8> {
        match self.rdr.into_inner() {
            Source::Memory(bytes) => bytes.into_inner(),
            Source::File(_) | Source::Tee(_) => Vec::new(),
        }
    }

    /// A row to read into: one given back to the file's pool, else a new one with room
    /// for `cells` cells and `bytes` bytes.
    pub(crate) fn spare_row(&mut self, cells: usize, bytes: usize) -> Row {
        self.spares.row(cells, bytes)
    }

    /// The pool rows given back go to.
    pub(crate) fn pool(&self) -> &RowPool {
        self.spares.pool()
    }

    /// The number the next record gets if no blank line precedes it.
    pub(crate) fn next_number(&self) -> u64 {
        self.next_row
    }

    pub(crate) fn header(&self) -> &Row {
        &self.header
    }

    pub(crate) fn next_batch(&mut self) -> Result<Option<Vec<Row>>, SheetError> {
        if let Some(e) = self.failed.take() {
            return Err(e);
        }
        if self.done {
            return Ok(None);
        }
        let mut rows = Vec::with_capacity(self.batch_rows.min(1 << 16));
        let width = self.header.len().max(1);
        while rows.len() < self.batch_rows {
            let len = self.record.as_slice().len();
            let mut row = self.spares.row(width, (len + len / 4).max(64));
            match self.read_row(&mut row) {
                Ok(true) => rows.push(row),
                Ok(false) => break,
                Err(e) => {
                    self.done = true;
                    if rows.is_empty() {
                        return Err(e);
                    }
                    // The rows before the bad one first; the error comes next.
                    self.failed = Some(e);
                    break;
                }
            }
        }
        Ok(if rows.is_empty() { None } else { Some(rows) })
    }

    pub(crate) fn progress(&self) -> (u64, u64) {
        let consumed = if self.done { self.total } else { self.rdr.position().byte() + self.bom_len };
        (consumed.min(self.total), self.total)
    }

    pub(crate) fn describe(&self) -> String {
        let delimiter = match self.delimiter {
            b'\t' => "\\t".to_string(),
            d => (d as char).to_string(),
        };
        let name = if self.encoding == UTF_8 { "utf-8" } else { self.encoding.name() };
        let bom = if self.bom_len > 0 { ", BOM" } else { "" };
        format!("CSV, {name}, delimiter '{delimiter}'{bom}")
    }

    /// The encoding the file is read in.
    pub(crate) fn encoding(&self) -> &'static Encoding {
        self.encoding
    }

    /// The field delimiter.
    pub(crate) fn delimiter(&self) -> u8 {
        self.delimiter
    }

    /// Appends the next record that is not blank to `out` as the file holds it (quotes
    /// and all), without the blank lines and line end around it and followed by `\n`,
    /// converted to UTF-8 when the file is in another encoding; returns its row number
    /// (the number [`CsvReader::next_batch`] gives it), or `None` at the end. Only for a
    /// reader made by [`CsvReader::open_raw`] (any other has no bytes to copy: `None`).
    pub(crate) fn read_raw(&mut self, out: &mut Vec<u8>) -> Result<Option<u64>, SheetError> {
        loop {
            let Some((start, number)) = self.next_record()? else { return Ok(None) };
            let end = self.rdr.position().byte();
            let encoding = self.encoding;
            let blank = self.record.iter().all(|field| {
                // An ASCII byte other than white space settles it without decoding.
                !field.iter().any(|b| b.is_ascii() && !b.is_ascii_whitespace())
                    && encoding
                        .decode_without_bom_handling_and_without_replacement(field)
                        .is_some_and(|text| text.trim().is_empty())
            });
            let Source::Tee(tee) = self.rdr.get_mut() else {
                self.done = true;
                return Ok(None);
            };
            let from = usize::try_from(start.byte().saturating_sub(tee.base)).unwrap_or(usize::MAX);
            let to = usize::try_from(end.saturating_sub(tee.base)).unwrap_or(usize::MAX);
            let Some(bytes) = tee.window.get(from..to) else {
                self.done = true;
                return Err(SheetError::Io {
                    path: self.path.clone(),
                    source: std::io::Error::other(format!(
                        "row {number}: bytes {}..{end} of the record are no longer held",
                        start.byte()
                    )),
                });
            };
            let first = bytes.iter().position(|&b| b != b'\r' && b != b'\n').unwrap_or(bytes.len());
            let last = bytes.iter().rposition(|&b| b != b'\r' && b != b'\n').map_or(first, |i| i + 1);
            let record = &bytes[first..last.max(first)];
            let copied = if blank {
                true
            } else if encoding == UTF_8 {
                let ok = std::str::from_utf8(record).is_ok();
                if ok {
                    out.extend_from_slice(record);
                    out.push(b'\n');
                }
                ok
            } else {
                match encoding.decode_without_bom_handling_and_without_replacement(record) {
                    Some(text) => {
                        out.extend_from_slice(text.as_bytes());
                        out.push(b'\n');
                        true
                    }
                    None => false,
                }
            };
            if to > TEE_KEEP {
                tee.window.drain(..to);
                tee.base += to as u64;
            }
            if !copied {
                self.done = true;
                return Err(self.undecodable(number, start.byte()));
            }
            if !blank {
                return Ok(Some(number));
            }
        }
    }

    /// Parses the next record into `self.record`: where it starts and its row number, or
    /// `None` at the end.
    fn next_record(&mut self) -> Result<Option<(csv::Position, u64)>, SheetError> {
        if self.done {
            return Ok(None);
        }
        let start = self.rdr.position().clone();
        let more = self.rdr.read_byte_record(&mut self.record).map_err(|source| {
            self.done = true;
            SheetError::Csv { path: self.path.clone(), row: self.next_row, source }
        })?;
        if !more {
            self.done = true;
            return Ok(None);
        }
        let number = self.number_record(start.line());
        Ok(Some((start, number)))
    }

    /// Reads the next record into `row`; `false` at the end.
    fn read_row(&mut self, row: &mut Row) -> Result<bool, SheetError> {
        let Some((start, number)) = self.next_record()? else { return Ok(false) };
        row.clear(number);
        let decoded = if self.encoding == UTF_8 {
            let mut end = 0;
            let ends = self.record.iter().map(|f| {
                end += f.len();
                end
            });
            row.fill_utf8(self.record.as_slice(), ends).is_ok()
        } else {
            let mut ok = true;
            for field in self.record.iter() {
                match self.encoding.decode_without_bom_handling_and_without_replacement(field) {
                    Some(text) => row.push_text(&text),
                    None => {
                        ok = false;
                        break;
                    }
                }
            }
            ok
        };
        if !decoded {
            self.done = true;
            return Err(self.undecodable(number, start.byte()));
        }
        Ok(true)
    }

    /// The row number of the record just read, given the line the reader was on
    /// before reading it: blank lines skipped by the parser still count as rows.
    fn number_record(&mut self, line_before: u64) -> u64 {
        let delta = self.rdr.position().line().saturating_sub(line_before);
        // Line ends counted in `delta` besides blank lines: with `\r\n` the previous
        // record's `\n` (not for the first record); with `\n` this record's own end
        // (unless it is the last record of a file without a final line end).
        let at_end = self.rdr.position().byte() + self.bom_len >= self.total;
        let own_ends = if self.crlf {
            u64::from(!self.first_record)
        } else {
            u64::from(!at_end || self.ends_with_newline)
        };
        self.first_record = false;
        // Line breaks inside quoted fields; counted only when there are lines to
        // explain (most records have none, and counting costs a pass over the record).
        let blank = if delta > own_ends {
            let inside = self.record.as_slice().iter().filter(|&&b| b == b'\n').count() as u64;
            delta.saturating_sub(inside + own_ends)
        } else {
            0
        };
        let number = self.next_row + blank;
        self.next_row = number + 1;
        number
    }

    /// The error for an undecodable record starting at `record_start` (offset after
    /// the BOM): re-reads the record's raw bytes to find the exact bad byte.
    fn undecodable(&self, row: u64, record_start: u64) -> SheetError {
        let start = record_start + self.bom_len;
        let end = self.rdr.position().byte() + self.bom_len;
        let offset = self.first_bad_byte(start, end).unwrap_or(start);
        let hint = if self.encoding == UTF_8 {
            "; if the file was saved as Windows-1251, pass `--encoding windows-1251`".to_string()
        } else {
            String::new()
        };
        SheetError::Undecodable {
            path: self.path.clone(),
            row,
            offset,
            encoding: self.encoding.name().to_string(),
            hint,
        }
    }

    fn first_bad_byte(&self, start: u64, end: u64) -> Option<u64> {
        let mut file = File::open(&self.path).ok()?;
        file.seek(SeekFrom::Start(start)).ok()?;
        let mut raw = Vec::new();
        file.take(end.saturating_sub(start)).read_to_end(&mut raw).ok()?;
        let mut decoder = self.encoding.new_decoder_without_bom_handling();
        let mut out = String::with_capacity(decoder.max_utf8_buffer_length(raw.len())?);
        let (result, read) = decoder.decode_to_string_without_replacement(&raw, &mut out, true);
        match result {
            DecoderResult::Malformed(bad, after) => {
                Some(start + (read as u64).saturating_sub(u64::from(bad) + u64::from(after)))
            }
            _ => None,
        }
    }
}

/// UTF-8 when `prefix` is valid UTF-8 (allowing a character cut at its end when the
/// file goes on), or when it holds more well-formed multi-byte UTF-8 characters than
/// bytes that are not UTF-8: such a file is UTF-8 with a few bad bytes, which reading then
/// reports by row and offset, rather than Windows-1251 read as mojibake. Else
/// Windows-1251, where only the odd pair (an upper-case letter before `»` or `ё`) looks
/// like UTF-8 while almost every letter does not.
fn detect(prefix: &[u8], truncated: bool) -> &'static Encoding {
    let (mut valid, mut invalid) = (0usize, 0usize);
    let mut rest = prefix;
    loop {
        match std::str::from_utf8(rest) {
            Ok(text) => {
                valid += multi_byte_chars(text);
                break;
            }
            Err(e) => {
                let (good, after) = rest.split_at(e.valid_up_to());
                valid += std::str::from_utf8(good).map_or(0, multi_byte_chars);
                match e.error_len() {
                    Some(bad) => {
                        invalid += 1;
                        rest = &after[bad..];
                    }
                    // A character cut at the end of the sample is not a bad byte when
                    // the file goes on.
                    None => {
                        invalid += usize::from(!truncated);
                        break;
                    }
                }
            }
        }
    }
    if invalid == 0 || valid > invalid {
        UTF_8
    } else {
        WINDOWS_1251
    }
}

fn multi_byte_chars(text: &str) -> usize {
    text.bytes().filter(|&b| b >= 0xC0).count()
}

/// The most frequent of `,` `;` tab outside quotes on the first line (`,` wins ties,
/// then `;`); `,` when there is none.
fn detect_delimiter(prefix: &[u8]) -> u8 {
    let mut counts = [0usize; 3];
    let mut quoted = false;
    for &b in prefix {
        match b {
            b'"' => quoted = !quoted,
            b'\n' | b'\r' if !quoted => break,
            b',' if !quoted => counts[0] += 1,
            b';' if !quoted => counts[1] += 1,
            b'\t' if !quoted => counts[2] += 1,
            _ => {}
        }
    }
    let candidates = [b',', b';', b'\t'];
    let mut best = 0;
    for i in 1..3 {
        if counts[i] > counts[best] {
            best = i;
        }
    }
    candidates[best]
}

/// Whether the first line end outside quotes is `\r\n`.
fn first_line_ends_with_crlf(prefix: &[u8]) -> bool {
    let mut quoted = false;
    for (i, &b) in prefix.iter().enumerate() {
        match b {
            b'"' => quoted = !quoted,
            b'\r' if !quoted => return prefix.get(i + 1) == Some(&b'\n'),
            b'\n' if !quoted => return false,
            _ => {}
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delimiter_counts_outside_quotes_on_the_first_line() {
        assert_eq!(detect_delimiter(b"a;b;c\n1,2,3,4,5"), b';');
        assert_eq!(detect_delimiter(b"\"a,b,c\";d;e\n"), b';');
        assert_eq!(detect_delimiter(b"a\tb\tc"), b'\t');
        assert_eq!(detect_delimiter(b"single"), b',');
        assert_eq!(detect_delimiter(b"a,b;c"), b',');
    }

    #[test]
    fn line_ends_are_found_outside_quotes() {
        assert!(first_line_ends_with_crlf(b"a,b\r\n1,2\n"));
        assert!(!first_line_ends_with_crlf(b"\"x\r\ny\"\n1\r\n"));
        assert!(!first_line_ends_with_crlf(b"a,b"));
    }

    #[test]
    fn cp1251_decodes_every_byte_we_detect_it_for() {
        assert_eq!(detect(b"\xcf\xf0\xe8\xe2\xe5\xf2", false), WINDOWS_1251);
        assert_eq!(detect("Привет".as_bytes(), false), UTF_8);
        // A character cut at the end of the sample is not a reason to switch.
        assert_eq!(detect(&"Привет".as_bytes()[..3], true), UTF_8);
        // A cut at the very end of a whole file is a bad byte, and nothing else is UTF-8.
        assert_eq!(detect(b"abc\xd0", false), WINDOWS_1251);
        // Regression (issue 7): UTF-8 Cyrillic with one bad byte stays UTF-8, so the bad
        // byte is reported instead of every letter turning to mojibake.
        let mut text = "Имя;Почта\nАнна;a@example.com\n".as_bytes().to_vec();
        text.extend_from_slice(b"\xff;x\n");
        assert_eq!(detect(&text, false), UTF_8);
        // Windows-1251 with an accidental UTF-8 pair (`О»` is CE BB, a valid `λ`) stays
        // Windows-1251: its other letters are not UTF-8.
        let cp1251 = WINDOWS_1251.encode("Заказчик «ООО», Москва\n").0;
        assert!(std::str::from_utf8(&cp1251).is_err());
        assert_eq!(detect(&cp1251, false), WINDOWS_1251);
        // Every byte decodes in Windows-1251 (0x98 is mapped by the WHATWG table), so
        // a file detected as Windows-1251 never fails to decode.
        let all: Vec<u8> = (0x00..=0xFF).collect();
        let decoded = WINDOWS_1251.decode_without_bom_handling_and_without_replacement(&all);
        assert_eq!(decoded.map(|t| t.chars().count()), Some(256));
    }
}
