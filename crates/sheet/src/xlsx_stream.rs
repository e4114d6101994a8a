//! The worksheet cell reader of the streaming .xlsx path: the sheet's XML parsed with
//! quick-xml, cells yielded as calamine yields them (the same values, positions and
//! formulas), shared strings looked up in a [`SharedStrings`] that is not in memory.

use std::io::BufRead;

use calamine::{CellErrorType, DataRef, ExcelDateTime, ExcelDateTimeType, XlsxCellFormula, XlsxError};
use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader as XmlReader;

use crate::xlsx_cells::CellSource;
use crate::xlsx_parts::{parse_ref, push_entity, NumFmt, RawAttrs};
use crate::xlsx_sst::{read_text, unescaped, SharedStrings, TextBufs};

/// A worksheet's cells in file order.
pub(crate) struct SheetCells<B: BufRead> {
    xml: XmlReader<B>,
    strings: SharedStrings,
    formats: Vec<NumFmt>,
    is_1904: bool,
    row: u32,
    col: u32,
    buf: Vec<u8>,
    cell_buf: Vec<u8>,
    value_buf: Vec<u8>,
    text: String,
    text_bufs: TextBufs,
    /// Shared formulas by index: their text and anchor cell.
    shared: Vec<Option<(String, (u32, u32))>>,
}

/// A cell's `t` attribute.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Typ {
    /// No `t`: a number, or text when it does not parse.
    Absent,
    Number,
    Shared,
    Bool,
    Error,
    Str,
    Date,
    Inline,
    Other(String),
}

impl Typ {
    fn of(t: &str) -> Typ {
        match t {
            "n" => Typ::Number,
            "s" => Typ::Shared,
            "b" => Typ::Bool,
            "e" => Typ::Error,
            "str" => Typ::Str,
            "d" => Typ::Date,
            "inlineStr" | "is" => Typ::Inline,
            other => Typ::Other(other.to_string()),
        }
    }
}

/// A cell's value before the shared string it may name is looked up.
enum Value {
    Plain(DataRef<'static>),
    Shared(usize),
}

impl<B: BufRead> SheetCells<B> {
    /// Reads up to the sheet's `<sheetData>`.
    pub(crate) fn new(
        mut xml: XmlReader<B>,
        strings: SharedStrings,
        formats: Vec<NumFmt>,
        is_1904: bool,
    ) -> Result<SheetCells<B>, XlsxError> {
        let mut buf = Vec::with_capacity(1024);
        let mut first = None;
        loop {
            buf.clear();
            match xml.read_event_into(&mut buf)? {
                Event::Start(e) => match e.local_name().as_ref() {
                    "sheetData" => break,
                    "dimension" => {}
                    other => {
                        first.get_or_insert_with(|| other.to_string());
                    }
                },
                Event::Eof => {
                    return Err(match first {
                        Some(typ) => XlsxError::NotAWorksheet(typ),
                        None => XlsxError::XmlEof("worksheet"),
                    })
                }
                _ => {}
            }
        }
        Ok(SheetCells {
            xml,
            strings,
            formats,
            is_1904,
            row: 0,
            col: 0,
            buf,
            cell_buf: Vec::with_capacity(1024),
            value_buf: Vec::with_capacity(256),
            text: String::new(),
            text_bufs: TextBufs::default(),
            shared: Vec::new(),
        })
    }

    /// Reads one `<c>` element's content: its value and formula.
    fn read_cell(
        &mut self,
        pos: (u32, u32),
        style: Option<usize>,
        typ: &Typ,
    ) -> Result<(Value, Option<String>), XlsxError> {
        let mut value = Value::Plain(DataRef::Empty);
        let mut formula = None;
        // The buffer is moved out so that the element can be read while `self` is used.
        let mut cell_buf = std::mem::take(&mut self.cell_buf);
        loop {
            cell_buf.clear();
            let e = match self.xml.read_event_into(&mut cell_buf)? {
                Event::Start(e) => e,
                Event::End(e) if e.local_name().as_ref() == "c" => {
                    self.cell_buf = cell_buf;
                    return Ok((value, formula));
                }
                Event::Eof => return Err(XlsxError::XmlEof("c")),
                _ => continue,
            };
            match e.local_name().as_ref() {
                "f" => formula = self.read_formula(&e, pos)?,
                "is" => {
                    self.text.clear();
                    read_text(&mut self.xml, e.name(), &mut self.text_bufs, &mut self.text)?;
                    value = Value::Plain(DataRef::String(std::mem::take(&mut self.text)));
                }
                "v" if *typ == Typ::Inline => {
                    self.skip(&e)?;
                    value = Value::Plain(DataRef::Empty);
                }
                "v" => value = self.read_v(&e, style, typ)?,
                _ => return Err(XlsxError::UnexpectedNode("v, f, or is")),
            }
        }
    }

    /// Skips to the end of element `e`.
    fn skip(&mut self, e: &BytesStart<'_>) -> Result<(), XlsxError> {
        self.value_buf.clear();
        self.xml.read_to_end_into(e.name(), &mut self.value_buf)?;
        Ok(())
    }

    /// A `<v>` element's value, by the cell's type and style.
    fn read_v(&mut self, e: &BytesStart<'_>, style: Option<usize>, typ: &Typ) -> Result<Value, XlsxError> {
        self.text.clear();
        if matches!(typ, Typ::Absent | Typ::Number | Typ::Shared | Typ::Bool | Typ::Error) {
            // Plain ASCII in practice: the first text event is the value.
            self.value_buf.clear();
            match self.xml.read_event_into(&mut self.value_buf)? {
                Event::Text(t) => self.text.push_str(&t),
                Event::End(_) => return Ok(Value::Plain(DataRef::Empty)),
                Event::Eof => return Err(XlsxError::XmlEof("v")),
                _ => {}
            }
            self.skip(e)?;
        } else {
            let name = e.name().as_ref().to_string();
            loop {
                self.value_buf.clear();
                match self.xml.read_event_into(&mut self.value_buf)? {
                    Event::Text(t) => self.text.push_str(&t.xml10_content()),
                    Event::GeneralRef(r) => push_entity(&r, &mut self.text)?,
                    Event::End(end) if end.name().as_ref() == name => break,
                    Event::Eof => return Err(XlsxError::XmlEof("v")),
                    _ => {}
                }
            }
        }
        let v = self.text.as_str();
        Ok(Value::Plain(match typ {
            Typ::Shared => {
                if v.is_empty() {
                    return Ok(Value::Plain(DataRef::Empty));
                }
                return Ok(Value::Shared(v.parse().unwrap_or(0)));
            }
            Typ::Bool => match v.trim() {
                "" => DataRef::Empty,
                t if t == "0" || t.eq_ignore_ascii_case("false") => DataRef::Bool(false),
                t if t == "1" || t.eq_ignore_ascii_case("true") => DataRef::Bool(true),
                _ => return Err(XlsxError::Unrecognized { typ: "boolean cell value", val: v.to_string() }),
            },
            Typ::Date => DataRef::DateTimeIso(v.to_string()),
            Typ::Error => DataRef::Error(v.parse::<CellErrorType>()?),
            Typ::Str => DataRef::String(unescaped(v).into_owned()),
            Typ::Absent | Typ::Number => {
                if v.is_empty() {
                    return Ok(Value::Plain(DataRef::Empty));
                }
                match v.parse::<f64>() {
                    Ok(n) => {
                        // No style: a plain number; a style past the table: also.
                        let format = match style {
                            Some(i) => self.formats.get(i).copied().unwrap_or(NumFmt::Other),
                            None => NumFmt::Other,
                        };
                        match format {
                            NumFmt::Date => DataRef::DateTime(ExcelDateTime::new(
                                n,
                                ExcelDateTimeType::DateTime,
                                self.is_1904,
                            )),
                            NumFmt::Duration => DataRef::DateTime(ExcelDateTime::new(
                                n,
                                ExcelDateTimeType::TimeDelta,
                                self.is_1904,
                            )),
                            NumFmt::Other => DataRef::Float(n),
                        }
                    }
                    Err(_) if *typ == Typ::Absent => DataRef::String(v.to_string()),
                    Err(e) => return Err(XlsxError::ParseFloat(e)),
                }
            }
            // `<v>` of an inline string cell is skipped above.
            Typ::Inline => DataRef::Empty,
            Typ::Other(t) => return Err(XlsxError::CellTAttribute(t.clone())),
        }))
    }

    /// An `<f>` element: its text, or for a shared formula's other cells the
    /// anchor's formula moved to this cell.
    fn read_formula(&mut self, e: &BytesStart<'_>, pos: (u32, u32)) -> Result<Option<String>, XlsxError> {
        let (mut shared, mut index, mut range) = (false, None, None);
        for attr in RawAttrs::of(e) {
            match attr? {
                ("t", t) => shared = t == "shared",
                ("si", si) => index = Some(si.to_string()),
                ("ref", r) => range = Some(r.to_string()),
                _ => {}
            }
        }
        let name = e.name().as_ref().to_string();
        let mut text = String::new();
        loop {
            self.value_buf.clear();
            match self.xml.read_event_into(&mut self.value_buf)? {
                Event::Text(t) => text.push_str(&t.xml10_content()),
                Event::GeneralRef(r) => push_entity(&r, &mut text)?,
                Event::End(end) if end.name().as_ref() == name => break,
                Event::Eof => return Err(XlsxError::XmlEof("f")),
                _ => {}
            }
        }
        if !shared {
            return Ok(Some(text));
        }
        let index: usize = index
            .ok_or(XlsxError::Unexpected("si attribute is mandatory if it is shared"))?
            .parse()
            .map_err(|_| XlsxError::Unexpected("si attribute must be a number"))?;
        match range {
            Some(range) => {
                let first = range.split(':').next().unwrap_or_default();
                let (row, col) = parse_ref(first)?;
                let anchor = (row, col.ok_or(XlsxError::RangeWithoutColumnComponent)?);
                if self.shared.len() <= index {
                    self.shared.resize(index + 1, None);
                }
                self.shared[index] = Some((text.clone(), anchor));
                Ok(Some(text))
            }
            None => match self.shared.get(index).and_then(Option::as_ref) {
                Some((template, anchor)) => calamine::expand_shared_formula(template, *anchor, pos).map(Some),
                None => Ok(None),
            },
        }
    }
}

impl<B: BufRead> CellSource for SheetCells<B> {
    fn next_cell(&mut self) -> Result<Option<XlsxCellFormula<'_>>, XlsxError> {
        loop {
            self.buf.clear();
            let start = match self.xml.read_event_into(&mut self.buf)? {
                Event::Start(e) => e,
                Event::End(e) => {
                    match e.local_name().as_ref() {
                        "row" => {
                            self.row += 1;
                            self.col = 0;
                        }
                        "sheetData" => return Ok(None),
                        _ => {}
                    }
                    continue;
                }
                Event::Eof => return Err(XlsxError::XmlEof("sheetData")),
                _ => continue,
            };
            match start.local_name().as_ref() {
                "row" => {
                    for attr in RawAttrs::of(&start) {
                        if let ("r", r) = attr? {
                            self.row = parse_ref(r)?.0;
                        }
                    }
                }
                "c" => {
                    let (mut reference, mut style, mut typ) = (None, None, Typ::Absent);
                    for attr in RawAttrs::of(&start) {
                        match attr? {
                            ("r", r) => reference = Some(parse_ref(r)?),
                            ("s", s) => style = Some(s.parse::<usize>().unwrap_or(0)),
                            ("t", t) => typ = Typ::of(t),
                            _ => {}
                        }
                    }
                    let pos = match reference {
                        Some((row, col)) => {
                            let col = col.ok_or(XlsxError::RangeWithoutColumnComponent)?;
                            self.col = col;
                            (row, col)
                        }
                        None => (self.row, self.col),
                    };
                    let (value, formula) = self.read_cell(pos, style, &typ)?;
                    self.col += 1;
                    let value = match value {
                        Value::Plain(v) => v,
                        Value::Shared(i) => match self.strings.get(i)? {
                            Some(s) => DataRef::SharedString(s),
                            None => {
                                return Err(XlsxError::Unexpected(
                                    "Cell string index not found in shared strings table",
                                ))
                            }
                        },
                    };
                    return Ok(Some(XlsxCellFormula { pos, value, formula }));
                }
                _ => {}
            }
        }
    }
}
