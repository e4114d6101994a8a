//! Rows as they come out of a reader: cells with their text and type, and the row's
//! spreadsheet row number (header = 1).
//!
//! A row keeps all its text in one buffer, so reading a row allocates a couple of times,
//! not once per cell.

/// Spreadsheet column letters of a 0-based column index: 0 → `A`, 27 → `AB`,
/// 16383 → `XFD`.
pub fn column_letters(index: usize) -> String {
    let mut n = index + 1;
    let mut out = Vec::with_capacity(3);
    while n > 0 {
        out.push(char::from(b'A' + ((n - 1) % 26) as u8));
        n = (n - 1) / 26;
    }
    out.iter().rev().collect()
}

/// What a cell held in the source file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CellKind {
    /// Nothing: an empty cell (a .csv cell of spaces is `Text`; see [`Cell::is_blank`]).
    Empty,
    /// Text; every .csv cell is text.
    Text,
    /// A number cell of an .xlsx; the text is its shortest decimal form.
    Number,
    /// A boolean cell of an .xlsx; the text is `true` or `false`.
    Bool,
    /// A date cell of an .xlsx; the number is its serial in the 1900 date system and
    /// the text is ISO 8601 (`2024-01-31T13:27:00`, or `2024-01-31` at midnight).
    Date,
    /// An error cell (`#N/A`, `#DIV/0!`, …); the text is the error.
    Error,
    /// A formula with no cached value; the text is the formula.
    FormulaWithoutValue,
}

#[derive(Debug, Clone, Copy, PartialEq)]
struct Slot {
    end: u32,
    kind: CellKind,
    number: f64,
}

/// One cell of a [`Row`], borrowed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Cell<'a> {
    /// What the cell held.
    pub kind: CellKind,
    /// Its text (see [`CellKind`] for non-text cells).
    pub text: &'a str,
    /// Its value for `Number` and `Date` cells (`1.0`/`0.0` for `Bool`), else `0.0`.
    pub number: f64,
}

impl Cell<'_> {
    /// Whether the cell is empty or holds only white space.
    #[inline]
    pub fn is_blank(&self) -> bool {
        self.kind == CellKind::Empty || (self.kind == CellKind::Text && self.text.trim().is_empty())
    }
}

/// One row of a sheet.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Row {
    /// Spreadsheet row number: the header is row 1. For a .csv it counts records, not
    /// lines, so a quoted line break does not shift later rows.
    pub number: u64,
    buf: String,
    slots: Vec<Slot>,
}

impl Row {
    /// An empty row numbered `number`.
    pub fn new(number: u64) -> Row {
        Row { number, buf: String::new(), slots: Vec::new() }
    }

    /// An empty row with room for `cells` cells and `bytes` bytes of text.
    pub fn with_capacity(number: u64, cells: usize, bytes: usize) -> Row {
        Row { number, buf: String::with_capacity(bytes), slots: Vec::with_capacity(cells) }
    }

    /// A row of text cells (handy in tests).
    pub fn from_texts<S: AsRef<str>>(number: u64, texts: impl IntoIterator<Item = S>) -> Row {
        let mut row = Row::new(number);
        for t in texts {
            row.push_text(t.as_ref());
        }
        row
    }

    /// Empties the row, keeping its buffers, and renumbers it.
    pub fn clear(&mut self, number: u64) {
        self.number = number;
        self.buf.clear();
        self.slots.clear();
    }

    /// Appends a text cell; an empty text becomes an `Empty` cell.
    pub fn push_text(&mut self, text: &str) {
        let kind = if text.is_empty() { CellKind::Empty } else { CellKind::Text };
        self.push(kind, text, 0.0);
    }

    /// Appends a cell of any kind.
    pub fn push(&mut self, kind: CellKind, text: &str, number: f64) {
        self.buf.push_str(text);
        self.slots.push(Slot { end: self.buf.len() as u32, kind, number });
    }

    /// Appends a cell whose text `write` appends to the row's buffer (no allocation
    /// for numbers and dates).
    pub(crate) fn push_with(&mut self, kind: CellKind, number: f64, write: impl FnOnce(&mut String)) {
        write(&mut self.buf);
        self.slots.push(Slot { end: self.buf.len() as u32, kind, number });
    }

    /// Replaces the cells with text cells from a record's concatenated field bytes
    /// (`bytes`) and the fields' end offsets in it, checking UTF-8 once for the whole
    /// record. On invalid UTF-8 returns the offset in `bytes` of the first bad byte.
    pub(crate) fn fill_utf8(&mut self, bytes: &[u8], ends: impl Iterator<Item = usize>) -> Result<(), usize> {
        let text = std::str::from_utf8(bytes).map_err(|e| e.valid_up_to())?;
        self.buf.clear();
        self.slots.clear();
        self.buf.push_str(text);
        let mut start = 0;
        for end in ends {
            // Two fields could split one character between them (`\xD0,\x90`): the
            // record is then not valid UTF-8 even though the concatenation is.
            if !text.is_char_boundary(end) {
                return Err(end.saturating_sub(1));
            }
            let kind = if end == start { CellKind::Empty } else { CellKind::Text };
            self.slots.push(Slot { end: end as u32, kind, number: 0.0 });
            start = end;
        }
        Ok(())
    }

    /// Number of cells, counting empty ones up to the last pushed.
    #[inline]
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// Whether the row has no cells.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// Cell `i`; past the end, an empty cell (fewer cells means empty: docs/formats.md).
    #[inline]
    pub fn get(&self, i: usize) -> Cell<'_> {
        match self.slots.get(i) {
            Some(slot) => {
                let start = if i == 0 { 0 } else { self.slots[i - 1].end as usize };
                Cell { kind: slot.kind, text: &self.buf[start..slot.end as usize], number: slot.number }
            }
            None => Cell { kind: CellKind::Empty, text: "", number: 0.0 },
        }
    }

    /// The cells in order.
    #[inline]
    pub fn iter(&self) -> impl ExactSizeIterator<Item = Cell<'_>> + '_ {
        (0..self.slots.len()).map(move |i| self.get(i))
    }

    /// Whether every cell is blank (such rows are skipped by validation and chunking).
    #[inline]
    pub fn is_blank(&self) -> bool {
        self.iter().all(|c| c.is_blank())
    }

    /// Number of cells up to the last non-blank one.
    pub fn width(&self) -> usize {
        (0..self.slots.len()).rev().find(|&i| !self.get(i).is_blank()).map_or(0, |i| i + 1)
    }

    /// Total bytes of text in the row.
    pub fn text_len(&self) -> usize {
        self.buf.len()
    }

    /// Bytes of text the row holds room for.
    #[cfg(test)]
    pub(crate) fn text_capacity(&self) -> usize {
        self.buf.capacity()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_keep_text_kind_and_number() {
        let mut row = Row::new(7);
        row.push_text("Anna");
        row.push_text("");
        row.push(CellKind::Number, "27.5", 27.5);
        assert_eq!(row.len(), 3);
        assert_eq!(row.get(0).text, "Anna");
        assert_eq!(row.get(1).kind, CellKind::Empty);
        assert_eq!(row.get(2).number, 27.5);
        assert_eq!(row.get(9).kind, CellKind::Empty, "missing cells read as empty");
        assert_eq!(row.width(), 3);
        row.clear(8);
        assert!(row.is_empty());
        assert_eq!(row.number, 8);
    }

    #[test]
    fn column_letters_follow_spreadsheets() {
        let cases = [(0, "A"), (25, "Z"), (26, "AA"), (27, "AB"), (701, "ZZ"), (702, "AAA"), (16383, "XFD")];
        for (index, letters) in cases {
            assert_eq!(column_letters(index), letters);
        }
    }

    #[test]
    fn width_ignores_trailing_blanks() {
        let row = Row::from_texts(2, ["a", "", "  ", ""]);
        assert_eq!(row.width(), 1);
        assert!(!row.is_blank());
        assert!(Row::from_texts(3, ["", " "]).is_blank());
    }
}
